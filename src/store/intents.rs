//! Deployment intents: what the reconciler is about to create on chain, recorded before the
//! broadcast that spends money, so that a crash between "sent" and "saved" is adopted on
//! restart and never repeated.
//!
//! Akash lets the client choose the `dseq`, so an intent names the exact deployment it will
//! create: `(owner, dseq)` is unique in the store (two specs can never pick the same dseq),
//! and at most one deployment can exist on chain for it (the chain refuses a duplicate).

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::SqlStore;
use super::StoreError;

/// Where an intent stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IntentState {
    /// Recorded; the create may or may not have reached the chain.
    Pending,
    /// Seen on chain (created by us, or adopted).
    Active,
    /// We decided to close it; the close may or may not have reached the chain.
    Closing,
    /// Closed on chain (or proven never to have been created).
    Closed,
}

impl IntentState {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            IntentState::Pending => "pending",
            IntentState::Active => "active",
            IntentState::Closing => "closing",
            IntentState::Closed => "closed",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<IntentState> {
        Some(match s {
            "pending" => IntentState::Pending,
            "active" => IntentState::Active,
            "closing" => IntentState::Closing,
            "closed" => IntentState::Closed,
            _ => return None,
        })
    }
}

/// One intended (or existing) deployment of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentIntent {
    /// The wallet address that owns the deployment.
    pub owner: String,
    /// The deployment sequence chosen by us.
    pub dseq: u64,
    /// The uid of the resource the deployment serves.
    pub resource_uid: String,
    /// `kind/project/name` of that resource, for people and events.
    pub resource_key: String,
    /// The generation of the spec the deployment was made for.
    pub generation: i64,
    /// The manifest version (hex of the hash sent on chain).
    pub manifest_version: String,
    /// The deposit, e.g. `5000000uact`.
    pub deposit: String,
    /// Where it stands.
    pub state: IntentState,
    /// When it was recorded (RFC 3339).
    pub created_at: String,
    /// When its state last changed (RFC 3339).
    pub updated_at: String,
}

/// Keeps deployment intents. A trait of its own beside [`Store`](super::Store), implemented by
/// [`SqlStore`](super::sql::SqlStore) in the same database.
#[async_trait]
pub trait IntentStore: Send + Sync {
    /// Records a new intent (state as given, timestamps set by the store). Fails with
    /// [`StoreError::DuplicateDseq`] when `(owner, dseq)` is already taken, by any resource.
    async fn record_intent(&self, intent: &DeploymentIntent) -> Result<(), StoreError>;

    /// Moves an intent to `state`; [`StoreError::IntentNotFound`] when it does not exist.
    async fn set_intent_state(
        &self,
        owner: &str,
        dseq: u64,
        state: IntentState,
    ) -> Result<(), StoreError>;

    /// The intents of one resource, oldest first.
    async fn intents_for(&self, resource_uid: &str) -> Result<Vec<DeploymentIntent>, StoreError>;

    /// The intents of `owner` in any of `states` (every state when empty), by dseq.
    async fn intents(
        &self,
        owner: &str,
        states: &[IntentState],
    ) -> Result<Vec<DeploymentIntent>, StoreError>;

    /// The highest dseq recorded for `owner` (0 when none).
    async fn max_dseq(&self, owner: &str) -> Result<u64, StoreError>;
}

/// The stored form of a dseq: 20 zero-padded digits, so that every u64 fits and text order is
/// numeric order (see `migrations/*/0003_intents.sql`).
fn dseq_text(dseq: u64) -> String {
    format!("{dseq:020}")
}

fn parse_dseq(owner: &str, text: &str) -> Result<u64, StoreError> {
    text.parse().map_err(|e| StoreError::Corrupt {
        key: format!("deployment intent {owner}/{text}"),
        message: format!("dseq: {e}"),
    })
}

const COLUMNS: &str = "owner, dseq, resource_uid, resource_key, generation, manifest_version, deposit, state, created_at, updated_at";

fn decode(row: &AnyRow) -> Result<DeploymentIntent, StoreError> {
    let owner: String = row.try_get("owner")?;
    let dseq_text: String = row.try_get("dseq")?;
    let dseq = parse_dseq(&owner, &dseq_text)?;
    let state_text: String = row.try_get("state")?;
    let state = IntentState::parse(&state_text).ok_or_else(|| StoreError::Corrupt {
        key: format!("deployment intent {owner}/{dseq}"),
        message: format!("unknown state `{state_text}`"),
    })?;
    Ok(DeploymentIntent {
        dseq,
        resource_uid: row.try_get("resource_uid")?,
        resource_key: row.try_get("resource_key")?,
        generation: row.try_get("generation")?,
        manifest_version: row.try_get("manifest_version")?,
        deposit: row.try_get("deposit")?,
        state,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        owner,
    })
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

// Queries built with `format!` below only ever splice in `COLUMNS` and numbered placeholders,
// never a value: every value is bound.
#[async_trait]
impl IntentStore for SqlStore {
    async fn record_intent(&self, intent: &DeploymentIntent) -> Result<(), StoreError> {
        let at = now();
        // ON CONFLICT DO NOTHING: a concurrent insert of the same (owner, dseq) waits for the
        // first to commit and then inserts nothing, on both dialects, instead of failing with a
        // driver-specific unique violation.
        let sql = format!(
            "INSERT INTO deployment_intents ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) ON CONFLICT (owner, dseq) DO NOTHING"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&intent.owner)
            .bind(dseq_text(intent.dseq))
            .bind(&intent.resource_uid)
            .bind(&intent.resource_key)
            .bind(intent.generation)
            .bind(&intent.manifest_version)
            .bind(&intent.deposit)
            .bind(intent.state.as_str())
            .bind(&at)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::DuplicateDseq {
                owner: intent.owner.clone(),
                dseq: intent.dseq,
            });
        }
        Ok(())
    }

    async fn set_intent_state(
        &self,
        owner: &str,
        dseq: u64,
        state: IntentState,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE deployment_intents SET state = $1, updated_at = $2 WHERE owner = $3 AND dseq = $4",
        )
        .bind(state.as_str())
        .bind(now())
        .bind(owner)
        .bind(dseq_text(dseq))
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::IntentNotFound {
                owner: owner.to_string(),
                dseq,
            });
        }
        Ok(())
    }

    async fn intents_for(&self, resource_uid: &str) -> Result<Vec<DeploymentIntent>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM deployment_intents WHERE resource_uid = $1 ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(resource_uid)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(decode).collect()
    }

    async fn intents(
        &self,
        owner: &str,
        states: &[IntentState],
    ) -> Result<Vec<DeploymentIntent>, StoreError> {
        // Closed intents pile up over time, so filter in SQL: one placeholder per state (the
        // `Any` driver binds no arrays).
        let filter = if states.is_empty() {
            String::new()
        } else {
            let marks: Vec<String> = (0..states.len()).map(|i| format!("${}", i + 2)).collect();
            format!(" AND state IN ({})", marks.join(", "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM deployment_intents WHERE owner = $1{filter} ORDER BY dseq"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(owner);
        for state in states {
            query = query.bind(state.as_str());
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(decode).collect()
    }

    async fn max_dseq(&self, owner: &str) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "SELECT dseq FROM deployment_intents WHERE owner = $1 ORDER BY dseq DESC LIMIT 1",
        )
        .bind(owner)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => parse_dseq(owner, &row.try_get::<String, _>(0)?),
            None => Ok(0),
        }
    }
}
