//! Sealed secret values: the rows of the secret vault ([`crate::secrets::SecretVault`]).
//!
//! The store only ever sees what the vault has sealed: a nonce, a ciphertext, a keyed digest
//! and the id of the master key that sealed it. Plaintext never reaches this module.
//! [`SecretRecords`] is a trait of its own, beside [`Store`](super::Store), so that fakes of
//! the resource store need not implement it; [`SqlStore`] implements it in the same database.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::SqlStore;
use super::StoreError;

/// One sealed value, as kept in the store.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretRecord {
    /// The project the secret belongs to.
    pub project: String,
    /// The SecretStore's name.
    pub store: String,
    /// The key inside the store, e.g. `DATABASE_URL`.
    pub key: String,
    /// Names the master key that sealed the value (derived from it; reveals nothing of it).
    pub key_id: String,
    /// The AEAD nonce.
    pub nonce: Vec<u8>,
    /// The sealed value with its authentication tag.
    pub ciphertext: Vec<u8>,
    /// Hex keyed digest of the value (the key is derived from the master key).
    pub digest: String,
    /// When the value was last set (RFC 3339); the store sets it on every write.
    pub updated_at: String,
}

impl std::fmt::Debug for SecretRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRecord")
            .field("project", &self.project)
            .field("store", &self.store)
            .field("key", &self.key)
            .field("key_id", &self.key_id)
            .field(
                "ciphertext",
                &format_args!("<{} bytes>", self.ciphertext.len()),
            )
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

/// Where sealed secret values live.
#[async_trait]
pub trait SecretRecords: Send + Sync {
    /// Creates or replaces the value of `(project, store, key)`; `updated_at` is set by the
    /// store and returned.
    async fn put_secret(&self, record: &SecretRecord) -> Result<String, StoreError>;

    /// Deletes one value; `false` when there was none.
    async fn delete_secret(
        &self,
        project: &str,
        store: &str,
        key: &str,
    ) -> Result<bool, StoreError>;

    /// The values of a project (of one store, when given), ordered by store and key
    /// (byte order).
    async fn list_secrets(
        &self,
        project: &str,
        store: Option<&str>,
    ) -> Result<Vec<SecretRecord>, StoreError>;

    /// The distinct ids of the master keys that sealed any value, of any project.
    async fn sealing_key_ids(&self) -> Result<Vec<String>, StoreError>;
}

fn decode(row: &AnyRow) -> Result<SecretRecord, sqlx::Error> {
    Ok(SecretRecord {
        project: row.try_get("project")?,
        store: row.try_get("store")?,
        key: row.try_get("key")?,
        key_id: row.try_get("key_id")?,
        nonce: row.try_get("nonce")?,
        ciphertext: row.try_get("ciphertext")?,
        digest: row.try_get("digest")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[async_trait]
impl SecretRecords for SqlStore {
    async fn put_secret(&self, r: &SecretRecord) -> Result<String, StoreError> {
        let updated_at = now();
        sqlx::query(
            "INSERT INTO secrets (project, store, key, key_id, nonce, ciphertext, digest, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (project, store, key) DO UPDATE SET key_id = excluded.key_id, nonce = excluded.nonce, ciphertext = excluded.ciphertext, digest = excluded.digest, updated_at = excluded.updated_at",
        )
        .bind(&r.project)
        .bind(&r.store)
        .bind(&r.key)
        .bind(&r.key_id)
        .bind(r.nonce.clone())
        .bind(r.ciphertext.clone())
        .bind(&r.digest)
        .bind(&updated_at)
        .execute(self.pool())
        .await?;
        Ok(updated_at)
    }

    async fn delete_secret(
        &self,
        project: &str,
        store: &str,
        key: &str,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("DELETE FROM secrets WHERE project = $1 AND store = $2 AND key = $3")
                .bind(project)
                .bind(store)
                .bind(key)
                .execute(self.pool())
                .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_secrets(
        &self,
        project: &str,
        store: Option<&str>,
    ) -> Result<Vec<SecretRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT project, store, key, key_id, nonce, ciphertext, digest, updated_at FROM secrets WHERE project = $1 AND (CAST($2 AS TEXT) IS NULL OR store = $2) ORDER BY store, key",
        )
        .bind(project)
        .bind(store)
        .fetch_all(self.pool())
        .await?;
        let mut out = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        // Byte order on both dialects (PostgreSQL's collation may differ from SQLite's).
        out.sort_by(|a, b| (&a.store, &a.key).cmp(&(&b.store, &b.key)));
        Ok(out)
    }

    async fn sealing_key_ids(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT key_id FROM secrets ORDER BY key_id")
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?)
    }
}
