//! API tokens: only their BLAKE3 digests are stored, never the tokens themselves.
//!
//! [`TokenStore`] is a trait of its own, beside [`Store`](super::Store), so that fakes of the
//! resource store need not implement it; [`SqlStore`] implements both, in the same database.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::SqlStore;
use super::StoreError;

/// A token to record. `hash` is the hex BLAKE3 digest of the token; the token itself never
/// reaches the store.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    /// The public id, shown by `token list` and used by `token revoke`.
    pub id: String,
    /// Hex BLAKE3 digest of the token.
    pub hash: String,
    /// The project the token may see and change.
    pub project: String,
    /// Whether the token may see and change every project.
    pub admin: bool,
    /// A note for humans, e.g. who holds the token.
    pub description: String,
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("id", &self.id)
            .field("hash", &"<redacted>")
            .field("project", &self.project)
            .field("admin", &self.admin)
            .field("description", &self.description)
            .finish()
    }
}

/// A recorded token, without its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The public id.
    pub id: String,
    /// The project the token may see and change.
    pub project: String,
    /// Whether the token may see and change every project.
    pub admin: bool,
    /// A note for humans.
    pub description: String,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was revoked (RFC 3339); a revoked token authenticates nothing.
    pub revoked_at: Option<String>,
}

/// Where token digests live.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Records a new token.
    async fn create_token(&self, token: &NewToken) -> Result<TokenRecord, StoreError>;

    /// The token whose digest is `hash`, revoked or not.
    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError>;

    /// Every token, oldest first.
    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;

    /// Revokes a token (idempotent: the first revocation time is kept); `None` when no token
    /// has that id.
    async fn revoke_token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError>;
}

fn decode(row: &AnyRow) -> Result<TokenRecord, sqlx::Error> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        project: row.try_get("project")?,
        admin: row.try_get::<i64, _>("admin")? != 0,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn create_token(&self, token: &NewToken) -> Result<TokenRecord, StoreError> {
        let created_at = now();
        sqlx::query("INSERT INTO tokens (id, hash, project, admin, description, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, NULL)")
            .bind(&token.id)
            .bind(&token.hash)
            .bind(&token.project)
            .bind(i64::from(token.admin))
            .bind(&token.description)
            .bind(&created_at)
            .execute(self.pool())
            .await?;
        Ok(TokenRecord {
            id: token.id.clone(),
            project: token.project.clone(),
            admin: token.admin,
            description: token.description.clone(),
            created_at,
            revoked_at: None,
        })
    }

    async fn find_token(&self, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, project, admin, description, created_at, revoked_at FROM tokens WHERE hash = $1",
        )
        .bind(hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(decode).transpose()?)
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, project, admin, description, created_at, revoked_at FROM tokens ORDER BY created_at, id",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(decode).collect::<Result<_, _>>()?)
    }

    async fn revoke_token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now())
            .bind(id)
            .execute(self.pool())
            .await?;
        let row = sqlx::query(
            "SELECT id, project, admin, description, created_at, revoked_at FROM tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(decode).transpose()?)
    }
}
