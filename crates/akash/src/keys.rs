//! Keys: a BIP39 mnemonic → the secp256k1 key at `m/44'/118'/0'/0/0` → an `akash1…` address,
//! and Cosmos signatures (SHA-256, 64-byte `r‖s`, low-S).
//!
//! A [`Wallet`] never shows its secret: `Debug` prints the address only, and the mnemonic it
//! may hand back at generation is wrapped in [`Zeroizing`].

use bip32::{DerivationPath, XPrv};
use bip39::{Language, Mnemonic};
use k256::ecdsa::signature::{Signer, Verifier};
use k256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;
use zeroize::Zeroizing;

/// Bech32 prefix of account addresses.
pub const ADDRESS_PREFIX: &str = crate::proto::base::ACCOUNT_PREFIX;
/// Cosmos' default HD path (`sdk.FullFundraiserPath`).
pub const HD_PATH: &str = "m/44'/118'/0'/0/0";

/// Why a key could not be made or read. Never carries secret material.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The mnemonic is not a valid English BIP39 phrase (the phrase itself is not echoed).
    #[error("invalid mnemonic: not a valid English BIP39 phrase of 12–24 words ({0})")]
    Mnemonic(String),
    /// Key derivation failed.
    #[error("key derivation failed: {0}")]
    Derivation(String),
    /// A public key that is not a 33-byte compressed secp256k1 point.
    #[error("invalid secp256k1 public key: {0}")]
    PublicKey(String),
}

/// A signing key with its address.
#[derive(Clone)]
pub struct Wallet {
    key: SigningKey,
    public_key: [u8; 33],
    address: String,
}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wallet")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// The key at [`HD_PATH`] of `phrase` (no BIP39 passphrase).
    pub fn from_mnemonic(phrase: &str) -> Result<Wallet, KeyError> {
        Wallet::from_mnemonic_path(phrase, HD_PATH)
    }

    /// The key at `path` of `phrase`.
    pub fn from_mnemonic_path(phrase: &str, path: &str) -> Result<Wallet, KeyError> {
        let normalized = Zeroizing::new(phrase.split_whitespace().collect::<Vec<_>>().join(" "));
        let mnemonic = Mnemonic::parse_in_normalized(Language::English, normalized.as_str())
            .map_err(|e| KeyError::Mnemonic(mnemonic_error(&e)))?;
        let seed = Zeroizing::new(mnemonic.to_seed_normalized(""));
        let path: DerivationPath = path
            .parse()
            .map_err(|e: bip32::Error| KeyError::Derivation(e.to_string()))?;
        let xprv = XPrv::derive_from_path(seed.as_slice(), &path)
            .map_err(|e| KeyError::Derivation(e.to_string()))?;
        Ok(Wallet::from_signing_key(xprv.private_key().clone()))
    }

    /// A new random mnemonic (24 words) and its wallet.
    pub fn generate() -> (Wallet, Zeroizing<String>) {
        let mut entropy = [0u8; 32];
        getrandom::fill(&mut entropy).expect("the OS random source is available");
        Wallet::from_entropy(entropy)
    }

    /// The 24-word mnemonic of `entropy` and its wallet (deterministic: the devnet's `--seed`).
    pub fn from_entropy(entropy: [u8; 32]) -> (Wallet, Zeroizing<String>) {
        let mnemonic = Mnemonic::from_entropy_in(Language::English, &entropy)
            .expect("32 bytes is a valid entropy length");
        let phrase = Zeroizing::new(mnemonic.to_string());
        let wallet = Wallet::from_mnemonic(&phrase).expect("a generated mnemonic is valid");
        (wallet, phrase)
    }

    /// A wallet over a raw 32-byte secret key.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Wallet, KeyError> {
        let key = SigningKey::from_slice(bytes)
            .map_err(|_| KeyError::Derivation("not a valid 32-byte secp256k1 secret key".into()))?;
        Ok(Wallet::from_signing_key(key))
    }

    fn from_signing_key(key: SigningKey) -> Wallet {
        let point = key.verifying_key().to_encoded_point(true);
        let mut public_key = [0u8; 33];
        public_key.copy_from_slice(point.as_bytes());
        let address = address_from_pubkey(&public_key).expect("a derived key is valid");
        Wallet {
            key,
            public_key,
            address,
        }
    }

    /// The `akash1…` address.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The compressed public key (33 bytes).
    pub fn public_key(&self) -> [u8; 33] {
        self.public_key
    }

    /// The Cosmos signature of `msg`: ECDSA over SHA-256(`msg`), 64 bytes `r‖s`, low-S.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        let sig: Signature = self.key.sign(msg);
        let sig = sig.normalize_s().unwrap_or(sig);
        sig.to_bytes().into()
    }

    /// The key as cosmrs wants it, for `SignDoc::sign`.
    pub fn cosmrs_key(&self) -> cosmrs::crypto::secp256k1::SigningKey {
        cosmrs::crypto::secp256k1::SigningKey::from_slice(&self.key.to_bytes())
            .expect("a valid k256 key is a valid cosmrs key")
    }

    /// The secret scalar, for encrypted storage only.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes().into())
    }
}

/// Describes a mnemonic error without echoing any word of the phrase.
fn mnemonic_error(e: &bip39::Error) -> String {
    match e {
        bip39::Error::BadWordCount(n) => format!("{n} words"),
        bip39::Error::UnknownWord(i) => format!("word {} is not in the English word list", i + 1),
        bip39::Error::InvalidChecksum => "the checksum does not match".into(),
        _ => "malformed".into(),
    }
}

/// The bech32 `akash1…` address of a compressed secp256k1 public key:
/// `bech32("akash", ripemd160(sha256(pubkey)))`.
pub fn address_from_pubkey(pubkey: &[u8]) -> Result<String, KeyError> {
    VerifyingKey::from_sec1_bytes(pubkey).map_err(|_| {
        KeyError::PublicKey(format!(
            "{} bytes, expected a 33-byte compressed point",
            pubkey.len()
        ))
    })?;
    if pubkey.len() != 33 {
        return Err(KeyError::PublicKey(format!(
            "{} bytes, expected a 33-byte compressed point",
            pubkey.len()
        )));
    }
    let hash = ripemd::Ripemd160::digest(Sha256::digest(pubkey));
    Ok(address_from_bytes(&hash))
}

/// The bech32 `akash1…` form of 20 (or 32) raw address bytes.
pub fn address_from_bytes(bytes: &[u8]) -> String {
    let hrp = bech32::Hrp::parse(ADDRESS_PREFIX).expect("valid prefix");
    bech32::encode::<bech32::Bech32>(hrp, bytes).expect("address bytes fit bech32")
}

/// The raw bytes of an `akash1…` address; `None` if it is not one.
pub fn address_bytes(address: &str) -> Option<Vec<u8>> {
    crate::proto::base::account_address_bytes(address)
        .filter(|data| data.len() == 20 || data.len() == 32)
}

/// Verifies a Cosmos secp256k1 signature (`r‖s`, 64 bytes, low-S required as the SDK does)
/// of `msg` by the compressed public key `pubkey`.
pub fn verify_signature(pubkey: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(key) = VerifyingKey::from_sec1_bytes(pubkey) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(sig) else {
        return false;
    };
    if sig.normalize_s().is_some() {
        return false; // high-S is malleable; the SDK refuses it
    }
    key.verify(msg, &sig).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The BIP39 test mnemonic; address cross-checked with `akash keys add --recover`
    // derivations published for this phrase (cosmos HD path, akash prefix).
    const ABANDON: &str = "abandon abandon abandon abandon abandon abandon abandon abandon \
                           abandon abandon abandon about";

    #[test]
    fn derives_the_cosmos_address_of_the_test_mnemonic() {
        let w = Wallet::from_mnemonic(ABANDON).unwrap();
        // cosmos1 address of this mnemonic is cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4;
        // the same 20 bytes under the akash prefix:
        let cosmos = "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4";
        let (_, bytes) = bech32::decode(cosmos).unwrap();
        assert_eq!(w.address(), address_from_bytes(&bytes));
        assert!(w.address().starts_with("akash1"));
        assert_eq!(address_bytes(w.address()).unwrap(), bytes);
    }

    #[test]
    fn debug_shows_only_the_address() {
        let w = Wallet::from_mnemonic(ABANDON).unwrap();
        let dbg = format!("{w:?}");
        assert!(dbg.contains(w.address()));
        assert!(!dbg.contains("abandon"));
        let secret = hex::encode(w.secret_bytes().as_slice());
        assert!(!dbg.contains(&secret));
    }

    #[test]
    fn bad_mnemonic_is_refused_without_echo() {
        let err = Wallet::from_mnemonic("abandon secretword abandon").unwrap_err();
        assert!(!err.to_string().contains("secretword"));
    }

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let (w, phrase) = Wallet::from_entropy([7; 32]);
        assert_eq!(phrase.split(' ').count(), 24);
        let sig = w.sign(b"hello");
        assert!(verify_signature(&w.public_key(), b"hello", &sig));
        assert!(!verify_signature(&w.public_key(), b"hellO", &sig));
        let mut bad = sig;
        bad[5] ^= 1;
        assert!(!verify_signature(&w.public_key(), b"hello", &bad));
        // deterministic (RFC 6979) and the same as cosmrs
        let c = w.cosmrs_key().sign(b"hello").unwrap();
        assert_eq!(c.to_bytes().to_vec(), sig.to_vec());
    }
}
