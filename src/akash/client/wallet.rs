//! Loading the signing wallet: a BIP39 mnemonic from a file or from an environment variable
//! named in the config, or an encrypted keyring file (scrypt + ChaCha20-Poly1305).
//!
//! Secrets are held in [`Zeroizing`] buffers and never appear in errors or logs: errors name
//! the file or variable, never its content.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::akash::keys::Wallet;

/// The environment variable read when none is named.
pub const DEFAULT_MNEMONIC_ENV: &str = "AF_AKASH_MNEMONIC";

/// Where the wallet comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletSource {
    /// A file holding the mnemonic.
    MnemonicFile(PathBuf),
    /// An environment variable (its name) holding the mnemonic.
    MnemonicEnv(String),
    /// A keyring file; the passphrase is in the environment variable named.
    Keyring {
        /// The keyring file.
        path: PathBuf,
        /// The variable holding the passphrase.
        passphrase_env: String,
    },
}

impl WalletSource {
    /// The source the wallet flags name: a keyring wins over a mnemonic file, which wins over
    /// the mnemonic's environment variable.
    pub fn from_flags(
        keyring: Option<&Path>,
        keyring_passphrase_env: &str,
        mnemonic_file: Option<&Path>,
        mnemonic_env: &str,
    ) -> WalletSource {
        match (keyring, mnemonic_file) {
            (Some(path), _) => WalletSource::Keyring {
                path: path.to_path_buf(),
                passphrase_env: keyring_passphrase_env.to_owned(),
            },
            (None, Some(path)) => WalletSource::MnemonicFile(path.to_path_buf()),
            (None, None) => WalletSource::MnemonicEnv(mnemonic_env.to_owned()),
        }
    }
}

/// Why no wallet could be loaded. Never holds secret material.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The file cannot be read.
    #[error("cannot read {path}: {problem}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        problem: String,
    },
    /// The variable is unset or empty.
    #[error(
        "environment variable {0} is not set (it should hold the wallet's mnemonic or passphrase)"
    )]
    MissingEnv(String),
    /// The mnemonic is not valid.
    #[error("the mnemonic from {origin} is invalid: {problem}")]
    Mnemonic {
        /// File or variable.
        origin: String,
        /// What is wrong (never the words).
        problem: String,
    },
    /// The keyring is malformed or the passphrase is wrong.
    #[error("keyring {path}: {problem}")]
    Keyring {
        /// The file.
        path: String,
        /// What failed.
        problem: String,
    },
}

impl WalletSource {
    /// Loads the wallet.
    pub fn load(&self) -> Result<Wallet, WalletError> {
        match self {
            WalletSource::MnemonicFile(path) => {
                let text = read_secret_file(path)?;
                wallet_from(&text, &path.display().to_string())
            }
            WalletSource::MnemonicEnv(name) => {
                let text = Zeroizing::new(
                    std::env::var(name)
                        .ok()
                        .filter(|v| !v.trim().is_empty())
                        .ok_or_else(|| WalletError::MissingEnv(name.clone()))?,
                );
                wallet_from(&text, &format!("${name}"))
            }
            WalletSource::Keyring {
                path,
                passphrase_env,
            } => {
                let pass = Zeroizing::new(
                    std::env::var(passphrase_env)
                        .ok()
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| WalletError::MissingEnv(passphrase_env.clone()))?,
                );
                let sealed = read_secret_file(path)?;
                let kr_err = |problem: String| WalletError::Keyring {
                    path: path.display().to_string(),
                    problem,
                };
                let file: SealedSecret = serde_json::from_str(&sealed)
                    .map_err(|e| kr_err(format!("not a keyring: {e}")))?;
                let phrase = file.open(pass.as_bytes()).map_err(kr_err)?;
                let phrase = Zeroizing::new(
                    String::from_utf8(phrase.to_vec())
                        .map_err(|_| kr_err("not a mnemonic".into()))?,
                );
                wallet_from(&phrase, &path.display().to_string())
            }
        }
    }
}

fn read_secret_file(path: &Path) -> Result<Zeroizing<String>, WalletError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|e| WalletError::Read {
            path: path.display().to_string(),
            problem: e.kind().to_string(),
        })
}

fn wallet_from(text: &str, origin: &str) -> Result<Wallet, WalletError> {
    Wallet::from_mnemonic(text.trim()).map_err(|e| WalletError::Mnemonic {
        origin: origin.to_string(),
        problem: e.to_string(),
    })
}

/// A secret sealed with a passphrase: scrypt derives a 32-byte key, ChaCha20-Poly1305
/// encrypts. Used for the keyring (the mnemonic) and the client certificate's private key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SealedSecret {
    /// Format version (1).
    pub version: u32,
    /// Key derivation: `scrypt`.
    pub kdf: String,
    /// scrypt log2(N).
    pub log_n: u8,
    /// scrypt r.
    pub r: u32,
    /// scrypt p.
    pub p: u32,
    /// Salt, base64.
    pub salt: String,
    /// 12-byte nonce, base64.
    pub nonce: String,
    /// Ciphertext with tag, base64.
    pub ciphertext: String,
    /// A public label (e.g. the address), not secret.
    #[serde(default)]
    pub label: String,
}

/// Default scrypt cost (N = 2^15, r = 8, p = 1).
pub const DEFAULT_LOG_N: u8 = 15;

fn derive_key(
    pass: &[u8],
    salt: &[u8],
    log_n: u8,
    r: u32,
    p: u32,
) -> Result<Zeroizing<[u8; 32]>, String> {
    let params =
        scrypt::Params::new(log_n, r, p, 32).map_err(|e| format!("scrypt parameters: {e}"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    scrypt::scrypt(pass, salt, &params, key.as_mut()).map_err(|e| format!("scrypt: {e}"))?;
    Ok(key)
}

impl SealedSecret {
    /// Seals `secret` with `passphrase` at scrypt cost 2^`log_n`.
    pub fn seal(
        secret: &[u8],
        passphrase: &[u8],
        log_n: u8,
        label: &str,
    ) -> Result<SealedSecret, String> {
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut salt).map_err(|e| format!("random: {e}"))?;
        getrandom::fill(&mut nonce).map_err(|e| format!("random: {e}"))?;
        let (r, p) = (8, 1);
        let key = derive_key(passphrase, &salt, log_n, r, p)?;
        let cipher = ChaCha20Poly1305::new(&(*key).into());
        let ciphertext = cipher
            .encrypt(&Nonce::from(nonce), secret)
            .map_err(|_| "encryption failed".to_string())?;
        let b64 = base64::engine::general_purpose::STANDARD;
        Ok(SealedSecret {
            version: 1,
            kdf: "scrypt".into(),
            log_n,
            r,
            p,
            salt: b64.encode(salt),
            nonce: b64.encode(nonce),
            ciphertext: b64.encode(ciphertext),
            label: label.to_string(),
        })
    }

    /// Opens the secret; a wrong passphrase or a tampered file fails.
    pub fn open(&self, passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
        if self.version != 1 || self.kdf != "scrypt" {
            return Err(format!(
                "unsupported format {} / {}",
                self.version, self.kdf
            ));
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let salt = b64.decode(&self.salt).map_err(|_| "bad salt".to_string())?;
        let nonce = b64
            .decode(&self.nonce)
            .map_err(|_| "bad nonce".to_string())?;
        let ct = b64
            .decode(&self.ciphertext)
            .map_err(|_| "bad ciphertext".to_string())?;
        let nonce: [u8; 12] = nonce
            .as_slice()
            .try_into()
            .map_err(|_| "bad nonce length".to_string())?;
        let key = derive_key(passphrase, &salt, self.log_n, self.r, self.p)?;
        let cipher = ChaCha20Poly1305::new(&(*key).into());
        cipher
            .decrypt(&Nonce::from(nonce), ct.as_slice())
            .map(Zeroizing::new)
            .map_err(|_| "wrong passphrase or corrupted file".to_string())
    }
}

/// Writes a keyring file holding `mnemonic`, sealed with `passphrase` (mode 0600 on Unix).
pub fn write_keyring(
    path: &Path,
    mnemonic: &str,
    passphrase: &[u8],
    log_n: u8,
) -> Result<(), WalletError> {
    let kr_err = |problem: String| WalletError::Keyring {
        path: path.display().to_string(),
        problem,
    };
    let wallet = wallet_from(mnemonic, "the keyring input")?;
    let sealed = SealedSecret::seal(
        mnemonic.trim().as_bytes(),
        passphrase,
        log_n,
        wallet.address(),
    )
    .map_err(kr_err)?;
    let text = serde_json::to_string_pretty(&sealed).map_err(|e| kr_err(e.to_string()))?;
    write_private(path, text.as_bytes()).map_err(|e| kr_err(e.to_string()))
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHRASE: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    #[test]
    fn mnemonic_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.txt");
        std::fs::write(&path, format!("  {PHRASE}\n")).unwrap();
        let w = WalletSource::MnemonicFile(path).load().unwrap();
        assert!(w.address().starts_with("akash1"));
        let name = "AF_TEST_CLIENT_WALLET_ENV_1";
        std::env::set_var(name, PHRASE);
        let w2 = WalletSource::MnemonicEnv(name.into()).load().unwrap();
        assert_eq!(w.address(), w2.address());
        let e = WalletSource::MnemonicEnv("AF_TEST_CLIENT_UNSET_VAR".into())
            .load()
            .unwrap_err();
        assert!(e.to_string().contains("AF_TEST_CLIENT_UNSET_VAR"));
    }

    #[test]
    fn bad_mnemonic_is_not_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.txt");
        std::fs::write(&path, "secretword1 secretword2 hunter2").unwrap();
        let e = WalletSource::MnemonicFile(path).load().unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("secretword"),
            "{text}"
        );
    }

    #[test]
    fn keyring_round_trip_and_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keyring.json");
        write_keyring(&path, PHRASE, b"correct horse", 4).unwrap();
        let stored = std::fs::read_to_string(&path).unwrap();
        assert!(!stored.contains("abandon"));
        std::env::set_var("AF_TEST_CLIENT_KR_PASS", "correct horse");
        let w = WalletSource::Keyring {
            path: path.clone(),
            passphrase_env: "AF_TEST_CLIENT_KR_PASS".into(),
        }
        .load()
        .unwrap();
        assert_eq!(
            w.address(),
            Wallet::from_mnemonic(PHRASE).unwrap().address()
        );
        std::env::set_var("AF_TEST_CLIENT_KR_BAD", "wrong");
        let e = WalletSource::Keyring {
            path,
            passphrase_env: "AF_TEST_CLIENT_KR_BAD".into(),
        }
        .load()
        .unwrap_err();
        assert!(e.to_string().contains("wrong passphrase"), "{e}");
    }

    #[test]
    fn sealed_secret_detects_tampering() {
        let mut s = SealedSecret::seal(b"key material", b"pw", 4, "x").unwrap();
        assert_eq!(s.open(b"pw").unwrap().as_slice(), b"key material");
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut ct = b64.decode(&s.ciphertext).unwrap();
        ct[0] ^= 1;
        s.ciphertext = b64.encode(ct);
        assert!(s.open(b"pw").is_err());
    }
}
