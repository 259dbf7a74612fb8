//! The store: desired state (specs), observed state (status), events and a change feed.
//!
//! [`Store`] is the one trait the rest of the crate sees. [`sql::SqlStore`] implements it for
//! SQLite (the embedded default, zero set-up) and PostgreSQL (production, several replicas),
//! with migrations per dialect embedded and applied at start. One test suite runs against both.
//! [`TokenStore`] keeps the digests of API tokens in the same database, [`SecretRecords`] the
//! sealed values of the secret vault (never plaintext), and [`IntentStore`] the deployment
//! intents and [`ProviderRecords`] our record of each provider. [`feed`] is the one shared watcher of the change feed, and [`leader`] elects one
//! reconciling daemon among several over the same store.

pub mod feed;
pub mod intents;
pub mod leader;
pub mod providers;
pub mod secrets;
pub mod selector;
pub mod sql;
pub mod tokens;

use std::time::Duration;

use async_trait::async_trait;

use crate::spec::{Kind, Resource, ResourceInput, ResourceKey, Status};
pub use feed::{ChangeCursor, ChangeFeed};
pub use intents::{DeploymentIntent, IntentState, IntentStore};
pub use leader::{elect, LeaderConfig, LeaderHandle, LeaderLease};
pub use providers::{ProviderEvent, ProviderRecord, ProviderRecords};
pub use secrets::{SecretRecord, SecretRecords};
pub use selector::LabelSelector;
pub use tokens::{NewToken, TokenRecord, TokenStore};

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no supported backend.
    #[error("unsupported database url `{0}`: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// Connecting or migrating failed.
    #[error("cannot open the store at {url}: {}", sqlx_text(.source))]
    Open {
        /// The URL, without its password.
        url: String,
        /// The cause.
        source: sqlx::Error,
    },
    /// Applying migrations failed.
    #[error("cannot migrate the store: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {}", sqlx_text(.0))]
    Database(#[from] sqlx::Error),
    /// The resource does not exist.
    #[error("{0} not found")]
    NotFound(ResourceKey),
    /// The write was based on a stale resourceVersion.
    #[error("{}", conflict_text(.key, *.expected, *.actual))]
    Conflict {
        /// The resource.
        key: ResourceKey,
        /// The version the writer saw (0: it expected no resource).
        expected: i64,
        /// The version stored now (0: there is no resource).
        actual: i64,
    },
    /// The resource is being deleted and cannot be changed.
    #[error("{0} is being deleted; wait until it is gone, then apply it again")]
    BeingDeleted(ResourceKey),
    /// The `(owner, dseq)` of a new deployment intent is already taken.
    #[error("dseq {dseq} of {owner} is already taken by another intent")]
    DuplicateDseq {
        /// The wallet address.
        owner: String,
        /// The dseq.
        dseq: u64,
    },
    /// No intent has that `(owner, dseq)`.
    #[error("no deployment intent for dseq {dseq} of {owner}")]
    IntentNotFound {
        /// The wallet address.
        owner: String,
        /// The dseq.
        dseq: u64,
    },
    /// A change feed cursor is older than the oldest change kept: changes after it may have
    /// been pruned, so the reader must list the resources again and continue from
    /// [`Store::latest_change`].
    #[error("change feed cursor {after} expired (the oldest change kept is {oldest}); relist")]
    Expired {
        /// The cursor.
        after: i64,
        /// The oldest change id still kept.
        oldest: i64,
    },
    /// Another process holds the SQLite store's leader lock.
    #[error("another af-operator already reconciles this store: {path} is locked by {holder}; stop it first (use PostgreSQL for standby replicas)")]
    LeaderLocked {
        /// The lock file.
        path: String,
        /// Who holds it, as written in the file (`pid N`).
        holder: String,
    },
    /// The SQLite store's leader lock file cannot be opened or written.
    #[error("cannot use the leader lock file {path}: {source}")]
    LeaderLockFile {
        /// The lock file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A stored row could not be decoded.
    #[error("corrupt row for {key}: {message}")]
    Corrupt {
        /// The resource.
        key: String,
        /// What was wrong.
        message: String,
    },
}

/// A database error as a sentence: the server's message without sqlx's suffix naming the
/// line of the server's own source (" at line 948").
fn sqlx_text(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(d) => d.message().to_string(),
        other => other.to_string(),
    }
}

fn conflict_text(key: &ResourceKey, expected: i64, actual: i64) -> String {
    if actual == 0 {
        format!("conflict on {key}: the write expected resourceVersion {expected}, but it does not exist")
    } else if expected == 0 {
        format!("conflict on {key}: the write expected it not to exist (resourceVersion 0), but it exists at resourceVersion {actual}")
    } else {
        format!("conflict on {key}: resourceVersion {expected} is stale (now {actual}); read it again and retry")
    }
}

impl StoreError {
    /// A short, bounded category for conditions and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            StoreError::UnsupportedUrl(_) => "config",
            StoreError::Open { .. } | StoreError::Database(_) | StoreError::Migrate(_) => {
                "database"
            }
            StoreError::NotFound(_) => "not-found",
            StoreError::Conflict { .. } => "conflict",
            StoreError::BeingDeleted(_) => "being-deleted",
            StoreError::Corrupt { .. } => "corrupt",
            StoreError::DuplicateDseq { .. } => "conflict",
            StoreError::IntentNotFound { .. } => "not-found",
            StoreError::Expired { .. } => "expired",
            StoreError::LeaderLocked { .. } => "conflict",
            StoreError::LeaderLockFile { .. } => "config",
        }
    }

    /// Whether the same call may succeed later: the database cannot be reached, is busy or
    /// aborted the transaction (connection, I/O, pool timeout, a serialization failure or
    /// deadlock, SQLite busy/locked), or the write lost a race on `resourceVersion`
    /// ([`StoreError::Conflict`]: read again and retry). Everything else (bad URL, a failed
    /// migration, a constraint violation, not found, being deleted, a taken dseq, a corrupt
    /// row) fails the same way until something else changes.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Open { source, .. } => sqlx_is_transient(source),
            StoreError::Database(e) => sqlx_is_transient(e),
            StoreError::Conflict { .. } => true,
            StoreError::UnsupportedUrl(_)
            | StoreError::Migrate(_)
            | StoreError::NotFound(_)
            | StoreError::BeingDeleted(_)
            | StoreError::DuplicateDseq { .. }
            | StoreError::IntentNotFound { .. }
            | StoreError::Corrupt { .. }
            | StoreError::LeaderLockFile { .. } => false,
            // Another daemon holds the lock; it may go away.
            StoreError::LeaderLocked { .. } => true,
            StoreError::Expired { .. } => false,
        }
    }
}

/// Whether a sqlx error is about reaching the database or a transaction the database
/// aborted for concurrency, rather than about the statement or the data.
fn sqlx_is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            if code.len() == 5 {
                // A PostgreSQL SQLSTATE: connection exceptions (class 08), serialization
                // failure, deadlock, lock not available, shutdown/restart, too many
                // connections.
                code.starts_with("08")
                    || matches!(
                        code.as_ref(),
                        "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03" | "53300"
                    )
            } else {
                // A SQLite (extended) result code (at most 4 digits) whose primary code is
                // BUSY (5) or LOCKED (6).
                code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
            }
        }),
        _ => false,
    }
}

/// What an apply did to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// It did not exist.
    Created,
    /// Its spec or labels changed.
    Configured,
    /// Nothing changed; nothing was written.
    Unchanged,
}

impl ApplyOutcome {
    /// The word kubectl prints.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyOutcome::Created => "created",
            ApplyOutcome::Configured => "configured",
            ApplyOutcome::Unchanged => "unchanged",
        }
    }
}

/// The result of applying one resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The resource.
    pub key: ResourceKey,
    /// What happened.
    pub outcome: ApplyOutcome,
    /// Its generation after the apply.
    pub generation: i64,
    /// Its resourceVersion after the apply.
    pub resource_version: i64,
}

/// What a deletion request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// It had no finalizers and is gone.
    Deleted,
    /// Deletion is recorded; it goes once its finalizers are removed.
    Requested,
    /// Deletion had already been requested.
    AlreadyRequested,
}

/// Which resources to list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only this project; `None` lists every project.
    pub project: Option<String>,
    /// Only resources whose labels match.
    pub selector: LabelSelector,
    /// Skip this many matches (after the order and the selector).
    pub offset: usize,
    /// Return at most this many; `None`: all.
    pub limit: Option<usize>,
}

/// Event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Something went as planned.
    Normal,
    /// Something needs attention.
    Warning,
}

impl EventType {
    /// `Normal` or `Warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// An event to record about a resource.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Normal or Warning.
    pub type_: EventType,
    /// One CamelCase word, e.g. `LeaseCreated`.
    pub reason: String,
    /// What happened.
    pub message: String,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its id (increasing).
    pub id: i64,
    /// `Normal` or `Warning`.
    pub type_: String,
    /// One CamelCase word.
    pub reason: String,
    /// What happened.
    pub message: String,
    /// When (RFC 3339).
    pub at: String,
}

/// Change operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    /// Created, or its spec, labels, deletion request, status or finalizers changed.
    Upsert,
    /// Gone from the store.
    Delete,
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Its id, which is also the resourceVersion the change produced.
    pub id: i64,
    /// The resource.
    pub key: ResourceKey,
    /// What happened.
    pub op: ChangeOp,
    /// The uid of the resource (a resource deleted and created again has a new one).
    pub uid: String,
    /// The resource's generation after the change (its last one, for a deletion; 0 for
    /// changes recorded before the store kept it).
    pub generation: i64,
    /// True when the resource was created or deleted, or its spec, labels or deletion
    /// request changed; false when only its status or finalizers did (a reconciler's own
    /// writes), so a reconciler can skip waking for those.
    pub spec_changed: bool,
}

/// Where desired and observed state live.
#[async_trait]
pub trait Store: Send + Sync {
    /// Creates or updates every input in one transaction: all or nothing. The generation bumps
    /// only when a spec changes; a resource whose spec and labels are unchanged is not written.
    /// An input with a `resource_version` is a precondition: [`StoreError::Conflict`] (and
    /// nothing written) unless it is the stored resourceVersion, or 0 for a resource that does
    /// not exist.
    async fn apply(&self, inputs: &[ResourceInput]) -> Result<Vec<Applied>, StoreError>;

    /// One resource.
    async fn get(&self, key: &ResourceKey) -> Result<Option<Resource>, StoreError>;

    /// Resources matching a query, ordered by kind, project and name.
    async fn list(&self, query: &ListQuery) -> Result<Vec<Resource>, StoreError>;

    /// Replaces the status, if `expected_version` is still the resourceVersion.
    async fn write_status(
        &self,
        key: &ResourceKey,
        expected_version: i64,
        status: &Status,
    ) -> Result<Resource, StoreError>;

    /// Adds a finalizer (idempotent).
    async fn add_finalizer(
        &self,
        key: &ResourceKey,
        finalizer: &str,
    ) -> Result<Resource, StoreError>;

    /// Removes a finalizer; when deletion was requested and none remain, the resource is
    /// deleted and `None` is returned.
    async fn remove_finalizer(
        &self,
        key: &ResourceKey,
        finalizer: &str,
    ) -> Result<Option<Resource>, StoreError>;

    /// Requests deletion: immediate when there are no finalizers.
    async fn request_deletion(&self, key: &ResourceKey) -> Result<Deletion, StoreError>;

    /// Records an event about a resource.
    async fn append_event(&self, key: &ResourceKey, event: &NewEvent) -> Result<(), StoreError>;

    /// The latest `limit` events of a resource, oldest first.
    async fn list_events(&self, key: &ResourceKey, limit: i64) -> Result<Vec<Event>, StoreError>;

    /// Changes with an id greater than `after`, oldest first, at most `limit`. Fails with
    /// [`StoreError::Expired`] when changes after `after` may have been pruned.
    async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError>;

    /// The id of the latest change (0 when none).
    async fn latest_change(&self) -> Result<i64, StoreError>;

    /// Waits until a change newer than `after` may exist, or `timeout` passes. Cheap: LISTEN
    /// on PostgreSQL, a short poll on SQLite.
    async fn wait_for_change(&self, after: i64, timeout: Duration) -> Result<(), StoreError>;
}

/// Opens the store a database URL names, applying migrations.
pub async fn open(url: &str) -> Result<sql::SqlStore, StoreError> {
    sql::SqlStore::open(url).await
}

/// A URL with its password, if any, masked: safe to print.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// A database error with a given code, as a driver reports it.
    #[derive(Debug)]
    struct DbError(&'static str);

    impl std::fmt::Display for DbError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "code {}", self.0)
        }
    }

    impl std::error::Error for DbError {}

    impl sqlx::error::DatabaseError for DbError {
        fn message(&self) -> &str {
            "db error"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn db(code: &'static str) -> StoreError {
        StoreError::Database(sqlx::Error::Database(Box::new(DbError(code))))
    }

    #[test]
    fn every_variant_is_classified() {
        let key = || ResourceKey::new(Kind::Agent, "p", "n");
        let cases = [
            (StoreError::UnsupportedUrl("x".into()), false, "config"),
            (
                StoreError::Open {
                    url: "postgres://h/db".into(),
                    source: sqlx::Error::PoolTimedOut,
                },
                true,
                "database",
            ),
            (
                StoreError::Open {
                    url: "sqlite://x".into(),
                    source: sqlx::Error::Configuration("bad".into()),
                },
                false,
                "database",
            ),
            (
                StoreError::Migrate(sqlx::migrate::MigrateError::VersionMissing(3)),
                false,
                "database",
            ),
            (
                StoreError::Database(sqlx::Error::Io(std::io::Error::from(
                    std::io::ErrorKind::ConnectionReset,
                ))),
                true,
                "database",
            ),
            (
                StoreError::Database(sqlx::Error::PoolTimedOut),
                true,
                "database",
            ),
            (
                StoreError::Database(sqlx::Error::RowNotFound),
                false,
                "database",
            ),
            (db("40001"), true, "database"),
            (db("40P01"), true, "database"),
            (db("08006"), true, "database"),
            (db("5"), true, "database"),
            (db("517"), true, "database"),
            (db("6"), true, "database"),
            (db("23505"), false, "database"),
            // 42501 & 0xff is 5, but it is a SQLSTATE (insufficient privilege), not BUSY.
            (db("42501"), false, "database"),
            (db("2067"), false, "database"),
            (StoreError::NotFound(key()), false, "not-found"),
            (
                StoreError::Conflict {
                    key: key(),
                    expected: 1,
                    actual: 2,
                },
                true,
                "conflict",
            ),
            (StoreError::BeingDeleted(key()), false, "being-deleted"),
            (
                StoreError::DuplicateDseq {
                    owner: "akash1x".into(),
                    dseq: 1,
                },
                false,
                "conflict",
            ),
            (
                StoreError::IntentNotFound {
                    owner: "akash1x".into(),
                    dseq: 1,
                },
                false,
                "not-found",
            ),
            (
                StoreError::Corrupt {
                    key: "k".into(),
                    message: "m".into(),
                },
                false,
                "corrupt",
            ),
        ];
        for (err, transient, category) in cases {
            assert_eq!(err.is_transient(), transient, "{err:?}");
            assert_eq!(err.category(), category, "{err:?}");
        }
    }
}
