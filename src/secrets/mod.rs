//! The secret vault: the platform's secret values, sealed under the operator's master key.
//!
//! Each value is encrypted with XChaCha20-Poly1305 under a key derived from the
//! [`MasterKey`], with a fresh random 24-byte nonce and the additional data
//! `project/store/key`, so a ciphertext copied to another key (or project) fails to decrypt.
//! The store ([`SecretRecords`]) keeps only the nonce, the ciphertext, the id of the master key
//! and a BLAKE3 digest keyed by another key derived from the master key: without the master
//! key, short values cannot be guessed offline from the digest. Plaintext never reaches the
//! store, errors or logs; types that hold it zeroize it on drop and redact their `Debug`.
//!
//! [`SecretVault`] is what the reconciler and the CLI use; [`SecretVault::resolver`] decrypts
//! a project's values into a [`ProjectSecrets`], the synchronous
//! [`SecretResolver`](crate::render::SecretResolver) rendering needs.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use crate::render::{SecretError, SecretResolver};
use crate::spec::common::SecretRef;
use crate::spec::validate::is_dns_label;
use crate::store::{SecretRecord, SecretRecords, StoreError};

/// The environment variable that may hold the master key itself.
pub const MASTER_KEY_ENV: &str = "AF_MASTER_KEY";

/// Derivation contexts (BLAKE3 `derive_key`): one key per purpose, none of them the master key.
const CIPHER_CONTEXT: &str = "af-operator 2025-01 secret vault: value encryption key";
const DIGEST_CONTEXT: &str = "af-operator 2025-01 secret vault: value digest key";
const KEY_ID_CONTEXT: &str = "af-operator 2025-01 secret vault: master key id";
/// Nonce length of XChaCha20-Poly1305.
const NONCE_LEN: usize = 24;
/// Hex characters of the digest that `list` shows.
pub const SHORT_DIGEST_LEN: usize = 12;

/// Why no master key could be loaded or written. Never holds key material.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// The key file cannot be read.
    #[error("cannot read the master key file {path}: {problem}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        problem: String,
    },
    /// The text is neither 64 hex characters nor the base64 of 32 bytes.
    #[error("the master key in {origin} is not valid: expected 64 hex characters or the base64 of 32 bytes")]
    Malformed {
        /// Where the key came from (a file, or `$AF_MASTER_KEY`).
        origin: String,
    },
    /// The file to write exists already.
    #[error("{path} already exists; refusing to overwrite a master key (move it away first)")]
    Exists {
        /// The file.
        path: String,
    },
    /// Writing the key file failed.
    #[error("cannot write the master key file {path}: {problem}")]
    Write {
        /// The file.
        path: String,
        /// The I/O error.
        problem: String,
    },
    /// The system's random number generator failed.
    #[error("cannot draw random bytes: {0}")]
    Random(String),
}

/// The operator's master key: 32 bytes, zeroized on drop, never shown by `Debug`.
pub struct MasterKey {
    bytes: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey {
            bytes: Zeroizing::new(bytes),
        }
    }

    /// A new random key.
    pub fn generate() -> Result<MasterKey, MasterKeyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut()).map_err(|e| MasterKeyError::Random(e.to_string()))?;
        Ok(MasterKey { bytes })
    }

    /// Parses 64 hex characters or the base64 (padded or not) of 32 bytes, surrounding
    /// whitespace ignored. `origin` names where the text came from; errors never quote it.
    pub fn parse(text: &str, origin: &str) -> Result<MasterKey, MasterKeyError> {
        let text = text.trim();
        let malformed = || MasterKeyError::Malformed {
            origin: origin.to_string(),
        };
        let mut bytes = Zeroizing::new([0u8; 32]);
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode_to_slice(text, bytes.as_mut()).map_err(|_| malformed())?;
            return Ok(MasterKey { bytes });
        }
        let decoded = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
        ]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .map(Zeroizing::new)
        .ok_or_else(malformed)?;
        if decoded.len() != 32 {
            return Err(malformed());
        }
        bytes.copy_from_slice(&decoded);
        Ok(MasterKey { bytes })
    }

    /// Reads a key file (see [`MasterKey::parse`] for the format).
    pub fn from_file(path: &Path) -> Result<MasterKey, MasterKeyError> {
        let text = std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|e| MasterKeyError::Read {
                path: path.display().to_string(),
                problem: e.kind().to_string(),
            })?;
        MasterKey::parse(&text, &path.display().to_string())
    }

    /// Writes the key as 64 hex characters to a new file readable by its owner only; an
    /// existing file is never overwritten (it may be the only copy of another key).
    pub fn write_new(&self, path: &Path) -> Result<(), MasterKeyError> {
        if path.exists() {
            return Err(MasterKeyError::Exists {
                path: path.display().to_string(),
            });
        }
        let mut text = Zeroizing::new(hex::encode(self.bytes.as_ref()));
        text.push('\n');
        crate::akash::client::wallet::write_private(path, text.as_bytes()).map_err(|e| {
            MasterKeyError::Write {
                path: path.display().to_string(),
                problem: e.to_string(),
            }
        })
    }

    /// A public id of the key (16 hex characters, derived one way): tells keys apart without
    /// revealing them.
    pub fn id(&self) -> String {
        let id = Zeroizing::new(blake3::derive_key(KEY_ID_CONTEXT, self.bytes.as_ref()));
        hex::encode(&id[..8])
    }

    fn derive(&self, context: &str) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(blake3::derive_key(context, self.bytes.as_ref()))
    }
}

/// Vault failures. None of them holds a secret value.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A value does not decrypt under this master key.
    #[error("cannot decrypt secret {store}/{key}: wrong master key or corrupted value")]
    Decrypt {
        /// The project.
        project: String,
        /// The SecretStore's name.
        store: String,
        /// The key.
        key: String,
    },
    /// The stored values were sealed with another master key; nothing is written.
    #[error("the master key is not the one that sealed the stored secrets (wrong master key?); nothing was written")]
    KeyMismatch,
    /// A project or store name is not a DNS-1123 label.
    #[error("`{name}` is not a {what} name: expected a DNS-1123 label such as `platform-secrets`")]
    InvalidName {
        /// `project` or `store`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A secret key is empty or too long.
    #[error("the secret key must be 1 to 256 characters")]
    InvalidKey,
    /// Encryption or the random number generator failed.
    #[error("cannot seal secret {store}/{key}: {problem}")]
    Seal {
        /// The SecretStore's name.
        store: String,
        /// The key.
        key: String,
        /// What failed.
        problem: String,
    },
}

impl VaultError {
    /// A short, bounded category for conditions and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            VaultError::Store(e) => e.category(),
            VaultError::Decrypt { .. } | VaultError::KeyMismatch => "secret-key",
            VaultError::InvalidName { .. } | VaultError::InvalidKey => "invalid",
            VaultError::Seal { .. } => "secret-seal",
        }
    }
}

/// What `list` shows of a secret: never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    /// The SecretStore's name.
    pub store: String,
    /// The key.
    pub key: String,
    /// The first 12 hex characters of the value's keyed digest: equal values of one vault
    /// show the same digest, and nothing can be guessed from it without the master key.
    pub digest: String,
    /// When the value was last set (RFC 3339).
    pub updated_at: String,
}

/// The secret vault: seals values into [`SecretRecords`] and opens them with the master key.
pub struct SecretVault {
    records: Arc<dyn SecretRecords>,
    cipher: XChaCha20Poly1305,
    digest_key: Zeroizing<[u8; 32]>,
    key_id: String,
}

impl fmt::Debug for SecretVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretVault")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

fn aad(project: &str, store: &str, key: &str) -> Vec<u8> {
    // Project and store are DNS labels (no `/`), so this names exactly one key.
    format!("{project}/{store}/{key}").into_bytes()
}

fn check_names(project: &str, store: &str, key: &str) -> Result<(), VaultError> {
    if !is_dns_label(project) {
        return Err(VaultError::InvalidName {
            what: "project",
            name: project.to_string(),
        });
    }
    if !is_dns_label(store) {
        return Err(VaultError::InvalidName {
            what: "store",
            name: store.to_string(),
        });
    }
    if key.is_empty() || key.len() > 256 {
        return Err(VaultError::InvalidKey);
    }
    Ok(())
}

impl SecretVault {
    /// A vault over `records`, sealing with keys derived from `key`.
    pub fn new(records: Arc<dyn SecretRecords>, key: MasterKey) -> Self {
        let cipher_key = key.derive(CIPHER_CONTEXT);
        let cipher_key: &[u8; 32] = &cipher_key;
        SecretVault {
            records,
            cipher: XChaCha20Poly1305::new(cipher_key.into()),
            digest_key: key.derive(DIGEST_CONTEXT),
            key_id: key.id(),
        }
    }

    /// Sets (creates or replaces) the value of `store/key` in `project`. Refused with
    /// [`VaultError::KeyMismatch`] when the stored values were sealed with another master key.
    pub async fn set(
        &self,
        project: &str,
        store: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), VaultError> {
        check_names(project, store, key)?;
        if self
            .records
            .sealing_key_ids()
            .await?
            .iter()
            .any(|id| *id != self.key_id)
        {
            return Err(VaultError::KeyMismatch);
        }
        let seal_err = |problem: &str| VaultError::Seal {
            store: store.to_string(),
            key: key.to_string(),
            problem: problem.to_string(),
        };
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| seal_err(&format!("random: {e}")))?;
        let ciphertext = self
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: value,
                    aad: &aad(project, store, key),
                },
            )
            .map_err(|_| seal_err("encryption failed"))?;
        let digest = blake3::keyed_hash(&self.digest_key, value)
            .to_hex()
            .to_string();
        self.records
            .put_secret(&SecretRecord {
                project: project.to_string(),
                store: store.to_string(),
                key: key.to_string(),
                key_id: self.key_id.clone(),
                nonce: nonce.to_vec(),
                ciphertext,
                digest,
                updated_at: String::new(),
            })
            .await?;
        tracing::debug!(project, store, key, "secret sealed");
        Ok(())
    }

    /// Deletes the value of `store/key` in `project`; `false` when there was none.
    pub async fn delete(&self, project: &str, store: &str, key: &str) -> Result<bool, VaultError> {
        let deleted = self.records.delete_secret(project, store, key).await?;
        tracing::debug!(project, store, key, deleted, "secret deleted");
        Ok(deleted)
    }

    /// The secrets of `project` (of one store, when given), ordered by store and key: names,
    /// digests and times, never values.
    pub async fn list(
        &self,
        project: &str,
        store: Option<&str>,
    ) -> Result<Vec<SecretInfo>, VaultError> {
        Ok(self
            .records
            .list_secrets(project, store)
            .await?
            .into_iter()
            .map(|r| SecretInfo {
                digest: r.digest.chars().take(SHORT_DIGEST_LEN).collect(),
                store: r.store,
                key: r.key,
                updated_at: r.updated_at,
            })
            .collect())
    }

    /// Every value of a project, decrypted into memory, as a resolver for render (render's
    /// SecretResolver trait is synchronous). Fails on the first value that does not decrypt.
    pub async fn resolver(&self, project: &str) -> Result<ProjectSecrets, VaultError> {
        let mut values = BTreeMap::new();
        for r in self.records.list_secrets(project, None).await? {
            let decrypt_err = || VaultError::Decrypt {
                project: r.project.clone(),
                store: r.store.clone(),
                key: r.key.clone(),
            };
            let nonce =
                <[u8; NONCE_LEN]>::try_from(r.nonce.as_slice()).map_err(|_| decrypt_err())?;
            let plain = self
                .cipher
                .decrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: &r.ciphertext,
                        aad: &aad(&r.project, &r.store, &r.key),
                    },
                )
                .map(Zeroizing::new)
                .map_err(|_| decrypt_err())?;
            values.insert((r.store, r.key), plain);
        }
        tracing::debug!(project, count = values.len(), "secrets opened");
        Ok(ProjectSecrets {
            project: project.to_string(),
            values,
        })
    }
}

/// The decrypted values of one project, for rendering. Zeroized on drop; `Debug` shows only
/// how many there are.
pub struct ProjectSecrets {
    project: String,
    values: BTreeMap<(String, String), Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for ProjectSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ProjectSecrets({}: {} values, redacted)",
            self.project,
            self.values.len()
        )
    }
}

impl ProjectSecrets {
    /// The project whose values these are.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl SecretResolver for ProjectSecrets {
    fn resolve(&self, project: &str, r: &SecretRef) -> Result<String, SecretError> {
        let not_found = || SecretError::NotFound {
            project: project.to_string(),
            store: r.store.clone(),
            key: r.key.clone(),
        };
        if project != self.project {
            return Err(not_found());
        }
        let value = self
            .values
            .get(&(r.store.clone(), r.key.clone()))
            .ok_or_else(not_found)?;
        std::str::from_utf8(value)
            .map(str::to_string)
            .map_err(|_| SecretError::Source {
                source_name: "the secret vault".into(),
                message: format!(
                    "secret {}/{} is not UTF-8 text, so it cannot be an environment value",
                    r.store, r.key
                ),
            })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;

    /// A stateful fake of the store's secret rows.
    #[derive(Default)]
    struct MemoryRecords {
        rows: Mutex<BTreeMap<(String, String, String), SecretRecord>>,
    }

    #[async_trait]
    impl SecretRecords for MemoryRecords {
        async fn put_secret(&self, r: &SecretRecord) -> Result<String, StoreError> {
            let mut r = r.clone();
            r.updated_at = "2025-01-01T00:00:00.000Z".into();
            let at = r.updated_at.clone();
            self.rows
                .lock()
                .unwrap()
                .insert((r.project.clone(), r.store.clone(), r.key.clone()), r);
            Ok(at)
        }

        async fn delete_secret(&self, p: &str, s: &str, k: &str) -> Result<bool, StoreError> {
            Ok(self
                .rows
                .lock()
                .unwrap()
                .remove(&(p.into(), s.into(), k.into()))
                .is_some())
        }

        async fn list_secrets(
            &self,
            p: &str,
            s: Option<&str>,
        ) -> Result<Vec<SecretRecord>, StoreError> {
            Ok(self
                .rows
                .lock()
                .unwrap()
                .values()
                .filter(|r| r.project == p && s.is_none_or(|s| r.store == s))
                .cloned()
                .collect())
        }

        async fn sealing_key_ids(&self) -> Result<Vec<String>, StoreError> {
            let mut ids: Vec<_> = self
                .rows
                .lock()
                .unwrap()
                .values()
                .map(|r| r.key_id.clone())
                .collect();
            ids.sort();
            ids.dedup();
            Ok(ids)
        }
    }

    fn reference(store: &str, key: &str) -> SecretRef {
        SecretRef {
            store: store.into(),
            key: key.into(),
        }
    }

    #[test]
    fn master_keys_parse_from_hex_or_base64_and_never_show() {
        let hex_text = "00".repeat(31) + "ff";
        let k = MasterKey::parse(&format!("  {hex_text}\n"), "k.txt").unwrap();
        assert_eq!(k.bytes[31], 0xff);
        let mut raw = [7u8; 32];
        raw[0] = 1;
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(*MasterKey::parse(&b64, "env").unwrap().bytes, raw);
        let unpadded = b64.trim_end_matches('=');
        assert_eq!(*MasterKey::parse(unpadded, "env").unwrap().bytes, raw);
        assert_eq!(format!("{k:?}"), "MasterKey(<redacted>)");
        for bad in [
            "hunter2-not-a-key",
            &"ab".repeat(31),
            &base64::engine::general_purpose::STANDARD.encode([1u8; 31]),
            "",
        ] {
            let e = MasterKey::parse(bad, "$AF_MASTER_KEY").unwrap_err();
            let text = format!("{e} {e:?}");
            assert!(text.contains("$AF_MASTER_KEY"), "{text}");
            assert!(text.contains("64 hex characters"), "{text}");
            assert!(bad.is_empty() || !text.contains(bad), "{text}");
        }
        // Different keys, different ids; the id is not the key.
        let other = MasterKey::from_bytes(raw);
        assert_ne!(k.id(), other.id());
        assert_eq!(k.id().len(), 16);
        assert!(!hex_text.contains(&k.id()));
    }

    #[test]
    fn generated_keys_are_written_private_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let k = MasterKey::generate().unwrap();
        k.write_new(&path).unwrap();
        let back = MasterKey::from_file(&path).unwrap();
        assert_eq!(*k.bytes, *back.bytes);
        assert_ne!(*k.bytes, *MasterKey::generate().unwrap().bytes);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = MasterKey::generate().unwrap().write_new(&path).unwrap_err();
        assert!(matches!(e, MasterKeyError::Exists { .. }), "{e}");
        assert_eq!(*MasterKey::from_file(&path).unwrap().bytes, *k.bytes);
        let e = MasterKey::from_file(&dir.path().join("absent")).unwrap_err();
        assert!(e.to_string().contains("absent"), "{e}");
    }

    #[tokio::test]
    async fn values_are_sealed_bound_to_their_key_and_opened_with_the_master_key() {
        let records = Arc::new(MemoryRecords::default());
        let vault = SecretVault::new(records.clone(), MasterKey::from_bytes([3; 32]));
        vault.set("p", "vault", "A", b"hunter2-a").await.unwrap();
        vault.set("p", "vault", "B", b"hunter2-b").await.unwrap();
        vault.set("q", "vault", "A", b"hunter2-a").await.unwrap();

        for r in records.list_secrets("p", None).await.unwrap() {
            assert_eq!(r.nonce.len(), 24);
            assert_eq!(r.ciphertext.len(), b"hunter2-a".len() + 16);
            assert!(!r.ciphertext.windows(7).any(|w| w == b"hunter2"));
            assert!(!format!("{r:?}").contains("hunter2"));
        }
        let list = vault.list("p", None).await.unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].key.as_str(), list[1].key.as_str()), ("A", "B"));
        assert_eq!(list[0].digest.len(), 12);
        assert_ne!(list[0].digest, list[1].digest);
        // Equal values, equal digests; but not the plain BLAKE3 of the value.
        assert_eq!(
            list[0].digest,
            vault.list("q", None).await.unwrap()[0].digest
        );
        assert!(!blake3::hash(b"hunter2-a")
            .to_hex()
            .starts_with(&list[0].digest));
        // Two nonces for equal values.
        let rows = records.list_secrets("q", None).await.unwrap();
        let p_rows = records.list_secrets("p", None).await.unwrap();
        assert_ne!(rows[0].nonce, p_rows[0].nonce);

        let secrets = vault.resolver("p").await.unwrap();
        assert_eq!(secrets.len(), 2);
        assert_eq!(
            secrets.resolve("p", &reference("vault", "B")).unwrap(),
            "hunter2-b"
        );
        assert!(!format!("{secrets:?}").contains("hunter2"));
        let e = secrets.resolve("p", &reference("vault", "C")).unwrap_err();
        assert_eq!(e.to_string(), "secret vault/C not found in project p");
        // Another project's resolution never reads these values.
        assert!(matches!(
            secrets.resolve("q", &reference("vault", "A")),
            Err(SecretError::NotFound { .. })
        ));

        // A ciphertext moved to another key, or another project, does not decrypt.
        let mut moved = p_rows[0].clone();
        moved.key = "B".into();
        records.put_secret(&moved).await.unwrap();
        let e = vault.resolver("p").await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot decrypt secret vault/B: wrong master key or corrupted value"
        );
        let mut moved = p_rows[0].clone();
        moved.project = "q".into();
        records.put_secret(&moved).await.unwrap();
        assert!(matches!(
            vault.resolver("q").await,
            Err(VaultError::Decrypt { .. })
        ));

        // Delete.
        assert!(vault.delete("p", "vault", "B").await.unwrap());
        assert!(!vault.delete("p", "vault", "B").await.unwrap());
        assert_eq!(vault.resolver("p").await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_wrong_master_key_neither_decrypts_nor_writes() {
        let records = Arc::new(MemoryRecords::default());
        let right = SecretVault::new(records.clone(), MasterKey::from_bytes([1; 32]));
        right.set("p", "vault", "A", b"hunter2").await.unwrap();
        let wrong = SecretVault::new(records.clone(), MasterKey::from_bytes([2; 32]));
        let e = wrong.resolver("p").await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot decrypt secret vault/A: wrong master key or corrupted value"
        );
        assert_eq!(e.category(), "secret-key");
        let e = wrong.set("p", "vault", "B", b"x").await.unwrap_err();
        assert!(matches!(e, VaultError::KeyMismatch), "{e}");
        assert_eq!(records.list_secrets("p", None).await.unwrap().len(), 1);
        // Tampering is caught too.
        let mut row = records.list_secrets("p", None).await.unwrap().remove(0);
        row.ciphertext[0] ^= 1;
        records.put_secret(&row).await.unwrap();
        assert!(matches!(
            right.resolver("p").await,
            Err(VaultError::Decrypt { .. })
        ));
    }

    #[tokio::test]
    async fn names_are_checked_and_binary_values_are_refused_only_as_text() {
        let vault = SecretVault::new(
            Arc::new(MemoryRecords::default()),
            MasterKey::from_bytes([5; 32]),
        );
        assert!(matches!(
            vault.set("Bad_Project", "vault", "A", b"x").await,
            Err(VaultError::InvalidName {
                what: "project",
                ..
            })
        ));
        assert!(matches!(
            vault.set("p", "a/b", "A", b"x").await,
            Err(VaultError::InvalidName { what: "store", .. })
        ));
        assert!(matches!(
            vault.set("p", "vault", "", b"x").await,
            Err(VaultError::InvalidKey)
        ));
        vault.set("p", "vault", "BIN", &[0xff, 0xfe]).await.unwrap();
        let secrets = vault.resolver("p").await.unwrap();
        let e = secrets
            .resolve("p", &reference("vault", "BIN"))
            .unwrap_err();
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }
}
