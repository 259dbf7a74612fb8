//! The SQL store: one implementation over sqlx's `Any` driver for SQLite and PostgreSQL.
//!
//! The two dialects share every query (plain types, JSON kept as text). They differ in how a
//! write transaction serialises (`BEGIN IMMEDIATE` on SQLite, an advisory lock on PostgreSQL,
//! so change ids commit in order) and in how a watcher wakes (a short poll on SQLite,
//! LISTEN/NOTIFY on PostgreSQL).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Row, Transaction};
use tokio::sync::{oneshot, watch, OnceCell};

use super::{
    Applied, ApplyOutcome, Change, ChangeOp, Deletion, Event, ListQuery, NewEvent, Store,
    StoreError,
};
use crate::spec::{Kind, Metadata, Resource, ResourceInput, ResourceKey, Status, API_VERSION};

/// Which SQL dialect a store speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite, embedded.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Advisory lock key that serialises writers on PostgreSQL.
const WRITE_LOCK: i64 = 0x6166_6f70_0001;
/// Channel that carries change notifications on PostgreSQL.
const CHANNEL: &str = "af_operator_changes";
/// How many of the latest changes a store keeps by default for late watchers; older ones are
/// pruned (see [`SqlStore::with_change_retention`]).
pub const DEFAULT_CHANGE_RETENTION: i64 = 100_000;
/// Events kept per resource.
const EVENTS_KEPT: i64 = 200;

/// A store in SQLite or PostgreSQL.
pub struct SqlStore {
    pool: AnyPool,
    /// SQLite: a second, small pool for the writes that are observations the reconciler makes
    /// again (status without a pending intent, events, provider records): their commits are
    /// not synced one by one (see [`sqlite_pragmas_relaxed`]). Specs, intents, deletions,
    /// secrets and tokens go through `pool`, synced at each commit. PostgreSQL: `pool`.
    relaxed: AnyPool,
    dialect: Dialect,
    url: String,
    change_retention: i64,
    /// PostgreSQL: the one LISTEN connection of this store, started by the first wait.
    notifier: OnceCell<Notifier>,
    /// Events appended at the same time share one transaction (and one fsync).
    events: std::sync::Arc<EventGroup>,
}

/// Group commit of events: an append queues its event and waits for its own outcome; the
/// first appender that finds no commit running starts one (a task, so that a caller that gives
/// up does not stop it), which commits everything queued, in order, until the queue is empty.
/// An event is committed when `append_event` returns, as before; N events appended while a
/// commit runs cost one transaction instead of N.
#[derive(Default)]
struct EventGroup {
    queue: std::sync::Mutex<Vec<EventJob>>,
    committing: std::sync::atomic::AtomicBool,
}

struct EventJob {
    key: ResourceKey,
    event: NewEvent,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// Clears [`EventGroup::committing`] if the committing task ends without doing so (its
/// runtime shut down): the next append starts a new one.
struct CommitGuard(std::sync::Arc<EventGroup>, bool);

impl Drop for CommitGuard {
    fn drop(&mut self) {
        if self.1 {
            self.0
                .committing
                .store(false, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// The one listener of a PostgreSQL store: a task owns the LISTEN connection and bumps a
/// counter on every notification (and after a reconnect, since notifications sent meanwhile
/// are lost); every waiter watches the counter, so any number of watchers share one
/// connection. Dropping the store stops the task.
struct Notifier {
    bumps: watch::Receiver<u64>,
    _stop: oneshot::Sender<()>,
}

/// What one write tells the change feed.
struct ChangeEntry<'a> {
    key: &'a ResourceKey,
    uid: &'a str,
    op: ChangeOp,
    generation: i64,
    spec_changed: bool,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("dialect", &self.dialect)
            .field("url", &super::redact_url(&self.url))
            .finish()
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn json_text<T: serde::Serialize>(v: &T) -> String {
    // Plain data with string keys: serialization cannot fail.
    serde_json::to_string(v).unwrap_or_default()
}

/// SQLITE_BUSY or SQLITE_LOCKED (primary codes 5 and 6, whatever the extended code).
fn sqlite_busy(e: &sqlx::Error) -> bool {
    let sqlx::Error::Database(d) = e else {
        return false;
    };
    let primary = d
        .code()
        .and_then(|c| c.parse::<i64>().ok())
        .map(|c| c & 0xff);
    matches!(primary, Some(5 | 6)) || d.message().contains("database is locked")
}

fn sqlite_pragmas<'c>(
    conn: &'c mut sqlx::AnyConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> BoxFuture<'c, Result<(), sqlx::Error>> {
    sqlite_pragmas_with(conn, meta, "PRAGMA synchronous = FULL")
}

/// The connections of [`SqlStore::relaxed`]: commits are not synced one by one (WAL with
/// `synchronous = NORMAL`: safe when the process dies at any moment; a power loss may roll
/// back the last of them, never a durable commit made after them, which syncs them too).
fn sqlite_pragmas_relaxed<'c>(
    conn: &'c mut sqlx::AnyConnection,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> BoxFuture<'c, Result<(), sqlx::Error>> {
    sqlite_pragmas_with(conn, meta, "PRAGMA synchronous = NORMAL")
}

fn sqlite_pragmas_with<'c>(
    conn: &'c mut sqlx::AnyConnection,
    _: sqlx::pool::PoolConnectionMetadata,
    synchronous_pragma: &'static str,
) -> BoxFuture<'c, Result<(), sqlx::Error>> {
    Box::pin(async move {
        // The busy timeout first: switching a new file to WAL needs its lock, and another
        // process may be doing the same at this moment.
        sqlx::query("PRAGMA busy_timeout = 10000")
            .execute(&mut *conn)
            .await?;
        // SQLite answers "database is locked" at once, without the busy handler, when two
        // connections switch a new file to WAL together (waiting could deadlock them). Wait
        // here for the other one to finish instead of failing the connection, which the pool
        // would log as a warning before trying again.
        let mut pause = Duration::from_millis(5);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&mut *conn)
                .await
            {
                Ok(_) => break,
                Err(e) if sqlite_busy(&e) && tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(200));
                }
                Err(e) => return Err(e),
            }
        }
        sqlx::query(synchronous_pragma).execute(&mut *conn).await?;
        Ok(())
    })
}

/// Applies the embedded migrations, safe when several processes open one new store at once.
///
/// SQLite: sqlx takes no lock there (its `Migrate::lock` is a no-op), so two processes opening
/// a new file both found no migration applied and both ran migration 1 ("table resources
/// already exists"). The whole run happens inside one `BEGIN IMMEDIATE` transaction (each
/// migration becomes a savepoint): the other processes wait for the write lock (busy
/// timeout), then find every migration applied. PostgreSQL: sqlx takes a session advisory
/// lock per database before it even creates `_sqlx_migrations`, and runs everything on that
/// one connection, which already serialises concurrent migrators; the tests start eight
/// processes at once on both.
async fn migrate(pool: &AnyPool, dialect: Dialect) -> Result<(), StoreError> {
    match dialect {
        Dialect::Sqlite => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::migrate!("migrations/sqlite").run(&mut *tx).await?;
            tx.commit().await?;
        }
        Dialect::Postgres => sqlx::migrate!("migrations/postgres").run(pool).await?,
    }
    Ok(())
}

/// A write transaction: SQLite's `BEGIN IMMEDIATE`, or PostgreSQL's with the store's write lock.
async fn begin_write(
    pool: &AnyPool,
    dialect: Dialect,
) -> Result<Transaction<'static, Any>, sqlx::Error> {
    match dialect {
        Dialect::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
        Dialect::Postgres => {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(WRITE_LOCK)
                .execute(&mut *tx)
                .await?;
            Ok(tx)
        }
    }
}

/// Whether `status` records an intent that must be durable before what it guards is sent:
/// a fact named `pending…` with a value.
fn carries_intent(status: &Status) -> bool {
    status
        .facts
        .iter()
        .any(|(k, v)| k.starts_with("pending") && !v.is_null())
}

/// What the task committing a group of events needs (the store itself is not shared).
struct EventWriter {
    pool: AnyPool,
    dialect: Dialect,
    group: std::sync::Arc<EventGroup>,
}

impl EventWriter {
    /// The committing task of [`EventGroup`]: commits what is queued until nothing is.
    async fn commit_events(self) {
        let group = self.group.clone();
        let mut guard = CommitGuard(group.clone(), true);
        loop {
            let jobs: Vec<EventJob> = {
                let mut q = group.queue.lock().unwrap_or_else(|e| e.into_inner());
                std::mem::take(&mut *q)
            };
            let jobs: Vec<EventJob> = jobs.into_iter().filter(|j| !j.reply.is_closed()).collect();
            if jobs.is_empty() {
                group
                    .committing
                    .store(false, std::sync::atomic::Ordering::SeqCst);
                guard.1 = false;
                // An append that queued after the take saw a commit running: take it over.
                let more = !group
                    .queue
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_empty();
                if more
                    && !group
                        .committing
                        .swap(true, std::sync::atomic::Ordering::SeqCst)
                {
                    guard.1 = true;
                    continue;
                }
                return;
            }
            match self.insert_events(&jobs).await {
                Ok(outcomes) => {
                    for (job, outcome) in jobs.into_iter().zip(outcomes) {
                        let _ = job.reply.send(outcome);
                    }
                }
                Err(e) => {
                    let text = super::sqlx_text(&e);
                    for job in jobs {
                        let _ = job
                            .reply
                            .send(Err(StoreError::Database(sqlx::Error::Protocol(
                                text.clone(),
                            ))));
                    }
                }
            }
        }
    }

    /// Inserts `jobs`' events in one transaction; each job's own outcome (its resource may be
    /// gone), or the transaction's error for all.
    async fn insert_events(
        &self,
        jobs: &[EventJob],
    ) -> Result<Vec<Result<(), StoreError>>, sqlx::Error> {
        let mut tx = begin_write(&self.pool, self.dialect).await?;
        let mut outcomes = Vec::with_capacity(jobs.len());
        for EventJob { key, event, .. } in jobs {
            let row = sqlx::query(
                "SELECT uid FROM resources WHERE kind = $1 AND project = $2 AND name = $3",
            )
            .bind(key.kind.as_str())
            .bind(&key.project)
            .bind(&key.name)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                outcomes.push(Err(StoreError::NotFound(key.clone())));
                continue;
            };
            let uid: String = row.try_get(0)?;
            let inserted = sqlx::query("INSERT INTO events (uid, kind, project, name, type, reason, message, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
                .bind(&uid)
                .bind(key.kind.as_str())
                .bind(&key.project)
                .bind(&key.name)
                .bind(event.type_.as_str())
                .bind(&event.reason)
                .bind(&event.message)
                .bind(now())
                .fetch_one(&mut *tx)
                .await?;
            let id: i64 = inserted.try_get(0)?;
            if id % 50 == 0 {
                sqlx::query("DELETE FROM events WHERE uid = $1 AND id <= (SELECT id FROM events WHERE uid = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)")
                    .bind(&uid)
                    .bind(EVENTS_KEPT)
                    .execute(&mut *tx)
                    .await?;
            }
            outcomes.push(Ok(()));
        }
        tx.commit().await?;
        Ok(outcomes)
    }
}

impl SqlStore {
    /// Opens (creating when needed) the store at `url` and applies migrations.
    /// `sqlite://PATH` or `postgres://…` / `postgresql://…`.
    pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let (dialect, connect_url) = if url.starts_with("sqlite:") {
            let rest = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or_default();
            if rest.split('?').next().unwrap_or_default().is_empty() {
                // `sqlite://` alone would open a temporary database that vanishes.
                return Err(StoreError::UnsupportedUrl(url.to_string()));
            }
            let u = if url.contains("mode=") || url.contains(":memory:") {
                url.to_string()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Dialect::Sqlite, u)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Dialect::Postgres, url.to_string())
        } else {
            return Err(StoreError::UnsupportedUrl(super::redact_url(url)));
        };
        // One direct connection first: a wrong URL or a server that is down fails at once,
        // instead of after the pool's acquire timeout.
        let probe = <sqlx::AnyConnection as sqlx::Connection>::connect(&connect_url)
            .await
            .map_err(|source| StoreError::Open {
                url: super::redact_url(url),
                source,
            })?;
        let _ = sqlx::Connection::close(probe).await;
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(15));
        options = match dialect {
            // A SQLite connection is a file handle that cannot be dropped by a server: the
            // ping before each acquire (a round trip to its worker thread) buys nothing.
            Dialect::Sqlite => options
                .max_connections(4)
                .test_before_acquire(false)
                .after_connect(sqlite_pragmas),
            Dialect::Postgres => options.max_connections(8),
        };
        let pool = options
            .connect(&connect_url)
            .await
            .map_err(|source| StoreError::Open {
                url: super::redact_url(url),
                source,
            })?;
        migrate(&pool, dialect).await?;
        let relaxed = match dialect {
            Dialect::Sqlite => AnyPoolOptions::new()
                .acquire_timeout(Duration::from_secs(15))
                .max_connections(2)
                .test_before_acquire(false)
                .after_connect(sqlite_pragmas_relaxed)
                .connect(&connect_url)
                .await
                .map_err(|source| StoreError::Open {
                    url: super::redact_url(url),
                    source,
                })?,
            Dialect::Postgres => pool.clone(),
        };
        Ok(SqlStore {
            pool,
            relaxed,
            dialect,
            url: url.to_string(),
            change_retention: DEFAULT_CHANGE_RETENTION,
            notifier: OnceCell::new(),
            events: Default::default(),
        })
    }

    /// Keeps about the latest `kept` changes (at least 1) instead of
    /// [`DEFAULT_CHANGE_RETENTION`]; older ones are pruned as new ones are written, and
    /// [`Store::changes_since`] with a cursor older than what is kept fails with
    /// [`StoreError::Expired`].
    pub fn with_change_retention(mut self, kept: i64) -> SqlStore {
        self.change_retention = kept.max(1);
        self
    }

    /// The dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The connection pool, for the store's other tables (tokens).
    pub(super) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool of observational writes (see [`SqlStore::relaxed`]).
    pub(super) fn relaxed_pool(&self) -> &AnyPool {
        &self.relaxed
    }

    /// The URL the store was opened with (it may hold a password: never print it).
    pub(super) fn url(&self) -> &str {
        &self.url
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// A receiver of this store's notification counter, starting the one LISTEN connection
    /// on first use. LISTEN is in place before this returns, so a change committed after the
    /// caller's next read is seen.
    async fn notifications(&self) -> Result<watch::Receiver<u64>, StoreError> {
        let notifier = self
            .notifier
            .get_or_try_init(|| async {
                let mut listener = sqlx::postgres::PgListener::connect(&self.url).await?;
                listener.listen(CHANNEL).await?;
                let (bump, bumps) = watch::channel(0u64);
                let (stop, stopped) = oneshot::channel();
                tokio::spawn(listen(listener, bump, stopped));
                Ok::<_, sqlx::Error>(Notifier { bumps, _stop: stop })
            })
            .await?;
        Ok(notifier.bumps.clone())
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        begin_write(&self.pool, self.dialect).await
    }

    async fn commit(
        &self,
        mut tx: Transaction<'static, Any>,
        changed: bool,
    ) -> Result<(), sqlx::Error> {
        if changed && self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_notify($1, '')")
                .bind(CHANNEL)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    async fn record_change(
        &self,
        tx: &mut Transaction<'static, Any>,
        change: ChangeEntry<'_>,
    ) -> Result<i64, sqlx::Error> {
        let op = match change.op {
            ChangeOp::Upsert => "upsert",
            ChangeOp::Delete => "delete",
        };
        let row = sqlx::query(
            "INSERT INTO changes (kind, project, name, uid, op, at, generation, spec_changed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(change.key.kind.as_str())
        .bind(&change.key.project)
        .bind(&change.key.name)
        .bind(change.uid)
        .bind(op)
        .bind(now())
        .bind(change.generation)
        .bind(i64::from(change.spec_changed))
        .fetch_one(&mut **tx)
        .await?;
        let id: i64 = row.try_get(0)?;
        // Prune now and then (every 1% of the retention, at most every 1000 ids), and record
        // how far, so that a cursor from before the cut is told to relist.
        let kept = self.change_retention;
        if id % (kept / 100).clamp(1, 1000) == 0 {
            let cut = id - kept;
            let pruned = sqlx::query("DELETE FROM changes WHERE id <= $1")
                .bind(cut)
                .execute(&mut **tx)
                .await?;
            if pruned.rows_affected() > 0 {
                sqlx::query("UPDATE change_feed SET pruned_through = $1 WHERE id = 1 AND pruned_through < $1")
                    .bind(cut)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(id)
    }

    async fn fetch(
        tx: &mut Transaction<'static, Any>,
        key: &ResourceKey,
    ) -> Result<Option<Resource>, StoreError> {
        let row = sqlx::query(
            "SELECT kind, project, name, uid, labels, spec, status, generation, resource_version, created_at, deletion_requested_at, finalizers FROM resources WHERE kind = $1 AND project = $2 AND name = $3",
        )
        .bind(key.kind.as_str())
        .bind(&key.project)
        .bind(&key.name)
        .fetch_optional(&mut **tx)
        .await?;
        row.as_ref().map(decode).transpose()
    }

    async fn delete_row(
        &self,
        tx: &mut Transaction<'static, Any>,
        r: &Resource,
    ) -> Result<(), StoreError> {
        let key = r.key();
        sqlx::query("DELETE FROM resources WHERE kind = $1 AND project = $2 AND name = $3")
            .bind(key.kind.as_str())
            .bind(&key.project)
            .bind(&key.name)
            .execute(&mut **tx)
            .await?;
        sqlx::query("DELETE FROM events WHERE uid = $1")
            .bind(&r.metadata.uid)
            .execute(&mut **tx)
            .await?;
        self.record_change(
            tx,
            ChangeEntry {
                key: &key,
                uid: &r.metadata.uid,
                op: ChangeOp::Delete,
                generation: r.metadata.generation,
                spec_changed: true,
            },
        )
        .await?;
        Ok(())
    }

    async fn write_finalizers(
        &self,
        tx: &mut Transaction<'static, Any>,
        r: &mut Resource,
    ) -> Result<(), StoreError> {
        let key = r.key();
        let rv = self
            .record_change(
                tx,
                ChangeEntry {
                    key: &key,
                    uid: &r.metadata.uid,
                    op: ChangeOp::Upsert,
                    generation: r.metadata.generation,
                    spec_changed: false,
                },
            )
            .await?;
        sqlx::query("UPDATE resources SET finalizers = $1, resource_version = $2 WHERE kind = $3 AND project = $4 AND name = $5")
            .bind(json_text(&r.metadata.finalizers))
            .bind(rv)
            .bind(key.kind.as_str())
            .bind(&key.project)
            .bind(&key.name)
            .execute(&mut **tx)
            .await?;
        r.metadata.resource_version = rv;
        Ok(())
    }
}

/// The listener task of a PostgreSQL store; ends when the store (and with it `stopped`'s
/// sender) is dropped.
async fn listen(
    mut listener: sqlx::postgres::PgListener,
    bump: watch::Sender<u64>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut failing = false;
    loop {
        let received = tokio::select! {
            r = listener.try_recv() => r,
            _ = &mut stopped => return,
        };
        // A notification, or a lost connection (reconnected on the next call; whatever was
        // sent meanwhile is lost): either way, wake every waiter to read the store again.
        bump.send_modify(|n| *n = n.wrapping_add(1));
        match received {
            Ok(_) => failing = false,
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "change listener: connection failed; retrying");
                }
                failing = true;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = &mut stopped => return,
                }
            }
        }
    }
}

fn corrupt(row: &AnyRow, message: impl Into<String>) -> StoreError {
    let kind: String = row.try_get("kind").unwrap_or_default();
    let name: String = row.try_get("name").unwrap_or_default();
    StoreError::Corrupt {
        key: format!("{kind}/{name}"),
        message: message.into(),
    }
}

fn decode(row: &AnyRow) -> Result<Resource, StoreError> {
    let kind_text: String = row.try_get("kind")?;
    let kind = Kind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind_text)
        .ok_or_else(|| corrupt(row, format!("unknown kind `{kind_text}`")))?;
    let labels: BTreeMap<String, String> =
        serde_json::from_str(&row.try_get::<String, _>("labels")?)
            .map_err(|e| corrupt(row, format!("labels: {e}")))?;
    let spec = serde_json::from_str(&row.try_get::<String, _>("spec")?)
        .map_err(|e| corrupt(row, format!("spec: {e}")))?;
    let status: Status = serde_json::from_str(&row.try_get::<String, _>("status")?)
        .map_err(|e| corrupt(row, format!("status: {e}")))?;
    let finalizers: Vec<String> = serde_json::from_str(&row.try_get::<String, _>("finalizers")?)
        .map_err(|e| corrupt(row, format!("finalizers: {e}")))?;
    Ok(Resource {
        api_version: API_VERSION.to_string(),
        kind,
        metadata: Metadata {
            name: row.try_get("name")?,
            project: row.try_get("project")?,
            labels,
            uid: row.try_get("uid")?,
            generation: row.try_get("generation")?,
            resource_version: row.try_get("resource_version")?,
            created_at: row.try_get("created_at")?,
            deletion_requested_at: row.try_get("deletion_requested_at")?,
            finalizers,
        },
        spec,
        status,
    })
}

#[async_trait]
impl Store for SqlStore {
    async fn apply(&self, inputs: &[ResourceInput]) -> Result<Vec<Applied>, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut results = Vec::with_capacity(inputs.len());
        let mut changed = false;
        for input in inputs {
            let key = &input.key;
            let spec = input.spec.to_value();
            let existing = Self::fetch(&mut tx, key).await?;
            let stored = existing.as_ref().map_or(0, |r| r.metadata.resource_version);
            if let Some(expected) = input.resource_version.filter(|e| *e != stored) {
                return Err(StoreError::Conflict {
                    key: key.clone(),
                    expected,
                    actual: stored,
                });
            }
            let applied = match existing {
                None => {
                    let uid = uuid::Uuid::new_v4().to_string();
                    let rv = self
                        .record_change(
                            &mut tx,
                            ChangeEntry {
                                key,
                                uid: &uid,
                                op: ChangeOp::Upsert,
                                generation: 1,
                                spec_changed: true,
                            },
                        )
                        .await?;
                    sqlx::query(
                        "INSERT INTO resources (kind, project, name, uid, labels, spec, status, generation, resource_version, created_at, deletion_requested_at, finalizers) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, NULL, '[]')",
                    )
                    .bind(key.kind.as_str())
                    .bind(&key.project)
                    .bind(&key.name)
                    .bind(&uid)
                    .bind(json_text(&input.labels))
                    .bind(json_text(&spec))
                    .bind("{}")
                    .bind(rv)
                    .bind(now())
                    .execute(&mut *tx)
                    .await?;
                    changed = true;
                    Applied {
                        key: key.clone(),
                        outcome: ApplyOutcome::Created,
                        generation: 1,
                        resource_version: rv,
                    }
                }
                Some(existing) => {
                    if existing.metadata.deletion_requested_at.is_some() {
                        return Err(StoreError::BeingDeleted(key.clone()));
                    }
                    let spec_changed = existing.spec != spec;
                    let labels_changed = existing.metadata.labels != input.labels;
                    if !spec_changed && !labels_changed {
                        Applied {
                            key: key.clone(),
                            outcome: ApplyOutcome::Unchanged,
                            generation: existing.metadata.generation,
                            resource_version: existing.metadata.resource_version,
                        }
                    } else {
                        let generation = existing.metadata.generation + i64::from(spec_changed);
                        let rv = self
                            .record_change(
                                &mut tx,
                                ChangeEntry {
                                    key,
                                    uid: &existing.metadata.uid,
                                    op: ChangeOp::Upsert,
                                    generation,
                                    spec_changed: true,
                                },
                            )
                            .await?;
                        sqlx::query("UPDATE resources SET labels = $1, spec = $2, generation = $3, resource_version = $4 WHERE kind = $5 AND project = $6 AND name = $7")
                            .bind(json_text(&input.labels))
                            .bind(json_text(&spec))
                            .bind(generation)
                            .bind(rv)
                            .bind(key.kind.as_str())
                            .bind(&key.project)
                            .bind(&key.name)
                            .execute(&mut *tx)
                            .await?;
                        changed = true;
                        Applied {
                            key: key.clone(),
                            outcome: ApplyOutcome::Configured,
                            generation,
                            resource_version: rv,
                        }
                    }
                }
            };
            results.push(applied);
        }
        self.commit(tx, changed).await?;
        Ok(results)
    }

    async fn get(&self, key: &ResourceKey) -> Result<Option<Resource>, StoreError> {
        let row = sqlx::query(
            "SELECT kind, project, name, uid, labels, spec, status, generation, resource_version, created_at, deletion_requested_at, finalizers FROM resources WHERE kind = $1 AND project = $2 AND name = $3",
        )
        .bind(key.kind.as_str())
        .bind(&key.project)
        .bind(&key.name)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(decode).transpose()
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<Resource>, StoreError> {
        use futures::TryStreamExt;
        let mut rows = sqlx::query(
            "SELECT kind, project, name, uid, labels, spec, status, generation, resource_version, created_at, deletion_requested_at, finalizers FROM resources WHERE (CAST($1 AS TEXT) IS NULL OR kind = $1) AND (CAST($2 AS TEXT) IS NULL OR project = $2) ORDER BY kind, project, name",
        )
        .bind(query.kind.map(|k| k.as_str()))
        .bind(query.project.as_deref())
        .fetch(&self.pool);
        let mut out = Vec::new();
        let mut skipped = 0;
        // Streamed: a page stops reading once it is full.
        while let Some(row) = rows.try_next().await? {
            if query.limit.is_some_and(|l| out.len() >= l) {
                break;
            }
            // Labels first: rows the selector rejects are never decoded whole.
            if !query.selector.is_empty() {
                let labels: BTreeMap<String, String> =
                    serde_json::from_str(&row.try_get::<String, _>("labels")?)
                        .map_err(|e| corrupt(&row, format!("labels: {e}")))?;
                if !query.selector.matches(&labels) {
                    continue;
                }
            }
            if skipped < query.offset {
                skipped += 1;
                continue;
            }
            out.push(decode(&row)?);
        }
        Ok(out)
    }

    async fn write_status(
        &self,
        key: &ResourceKey,
        expected_version: i64,
        status: &Status,
    ) -> Result<Resource, StoreError> {
        // A status that records an intent (a deposit, a mint, a pending write about to be
        // broadcast) is synced before the broadcast it guards; any other is an observation.
        let pool = if carries_intent(status) {
            &self.pool
        } else {
            &self.relaxed
        };
        let mut tx = begin_write(pool, self.dialect).await?;
        let mut r = Self::fetch(&mut tx, key)
            .await?
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        if r.metadata.resource_version != expected_version {
            return Err(StoreError::Conflict {
                key: key.clone(),
                expected: expected_version,
                actual: r.metadata.resource_version,
            });
        }
        let rv = self
            .record_change(
                &mut tx,
                ChangeEntry {
                    key,
                    uid: &r.metadata.uid,
                    op: ChangeOp::Upsert,
                    generation: r.metadata.generation,
                    spec_changed: false,
                },
            )
            .await?;
        sqlx::query("UPDATE resources SET status = $1, resource_version = $2 WHERE kind = $3 AND project = $4 AND name = $5")
            .bind(json_text(status))
            .bind(rv)
            .bind(key.kind.as_str())
            .bind(&key.project)
            .bind(&key.name)
            .execute(&mut *tx)
            .await?;
        self.commit(tx, true).await?;
        r.status = status.clone();
        r.metadata.resource_version = rv;
        Ok(r)
    }

    async fn add_finalizer(
        &self,
        key: &ResourceKey,
        finalizer: &str,
    ) -> Result<Resource, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut r = Self::fetch(&mut tx, key)
            .await?
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        if r.metadata.finalizers.iter().any(|f| f == finalizer) {
            return Ok(r);
        }
        if r.metadata.deletion_requested_at.is_some() {
            return Err(StoreError::BeingDeleted(key.clone()));
        }
        r.metadata.finalizers.push(finalizer.to_string());
        self.write_finalizers(&mut tx, &mut r).await?;
        self.commit(tx, true).await?;
        Ok(r)
    }

    async fn remove_finalizer(
        &self,
        key: &ResourceKey,
        finalizer: &str,
    ) -> Result<Option<Resource>, StoreError> {
        let mut tx = self.begin_write().await?;
        let Some(mut r) = Self::fetch(&mut tx, key).await? else {
            return Ok(None);
        };
        let before = r.metadata.finalizers.len();
        r.metadata.finalizers.retain(|f| f != finalizer);
        if r.metadata.finalizers.is_empty() && r.metadata.deletion_requested_at.is_some() {
            self.delete_row(&mut tx, &r).await?;
            self.commit(tx, true).await?;
            return Ok(None);
        }
        if r.metadata.finalizers.len() == before {
            return Ok(Some(r));
        }
        self.write_finalizers(&mut tx, &mut r).await?;
        self.commit(tx, true).await?;
        Ok(Some(r))
    }

    async fn request_deletion(&self, key: &ResourceKey) -> Result<Deletion, StoreError> {
        let mut tx = self.begin_write().await?;
        let r = Self::fetch(&mut tx, key)
            .await?
            .ok_or_else(|| StoreError::NotFound(key.clone()))?;
        if r.metadata.deletion_requested_at.is_some() {
            return Ok(Deletion::AlreadyRequested);
        }
        if r.metadata.finalizers.is_empty() {
            self.delete_row(&mut tx, &r).await?;
            self.commit(tx, true).await?;
            return Ok(Deletion::Deleted);
        }
        let rv = self
            .record_change(
                &mut tx,
                ChangeEntry {
                    key,
                    uid: &r.metadata.uid,
                    op: ChangeOp::Upsert,
                    generation: r.metadata.generation,
                    spec_changed: true,
                },
            )
            .await?;
        sqlx::query("UPDATE resources SET deletion_requested_at = $1, resource_version = $2 WHERE kind = $3 AND project = $4 AND name = $5")
            .bind(now())
            .bind(rv)
            .bind(key.kind.as_str())
            .bind(&key.project)
            .bind(&key.name)
            .execute(&mut *tx)
            .await?;
        self.commit(tx, true).await?;
        Ok(Deletion::Requested)
    }

    async fn append_event(&self, key: &ResourceKey, event: &NewEvent) -> Result<(), StoreError> {
        let (reply, outcome) = oneshot::channel();
        self.events
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(EventJob {
                key: key.clone(),
                event: event.clone(),
                reply,
            });
        if !self
            .events
            .committing
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            let writer = EventWriter {
                pool: self.relaxed.clone(),
                dialect: self.dialect,
                group: self.events.clone(),
            };
            tokio::spawn(writer.commit_events());
        }
        outcome.await.unwrap_or_else(|_| {
            Err(StoreError::Database(sqlx::Error::Protocol(
                "the event's commit was interrupted".into(),
            )))
        })
    }

    async fn list_events(&self, key: &ResourceKey, limit: i64) -> Result<Vec<Event>, StoreError> {
        let rows = sqlx::query("SELECT e.id, e.type, e.reason, e.message, e.at FROM events e JOIN resources r ON r.uid = e.uid WHERE r.kind = $1 AND r.project = $2 AND r.name = $3 ORDER BY e.id DESC LIMIT $4")
            .bind(key.kind.as_str())
            .bind(&key.project)
            .bind(&key.name)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(Event {
                    id: r.try_get(0)?,
                    type_: r.try_get(1)?,
                    reason: r.try_get(2)?,
                    message: r.try_get(3)?,
                    at: r.try_get(4)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        out.reverse();
        Ok(out)
    }

    async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, project, name, uid, op, generation, spec_changed FROM changes WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        // Read after the rows: a prune that ran before the read above shows here, so rows
        // missing from it are never taken for "no changes".
        let through: i64 = sqlx::query("SELECT pruned_through FROM change_feed WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        if after < through {
            let oldest: Option<i64> = sqlx::query("SELECT MIN(id) FROM changes")
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
            return Err(StoreError::Expired {
                after,
                oldest: oldest.unwrap_or(through + 1),
            });
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind_text: String = row.try_get(1)?;
            let Some(kind) = Kind::ALL.into_iter().find(|k| k.as_str() == kind_text) else {
                continue;
            };
            let op: String = row.try_get(5)?;
            out.push(Change {
                id: row.try_get(0)?,
                key: ResourceKey::new(
                    kind,
                    row.try_get::<String, _>(2)?,
                    row.try_get::<String, _>(3)?,
                ),
                op: if op == "delete" {
                    ChangeOp::Delete
                } else {
                    ChangeOp::Upsert
                },
                uid: row.try_get(4)?,
                generation: row.try_get(6)?,
                spec_changed: row.try_get::<i64, _>(7)? != 0,
            });
        }
        Ok(out)
    }

    async fn latest_change(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT id FROM changes ORDER BY id DESC LIMIT 1")
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(r) => r.try_get(0)?,
            None => 0,
        })
    }

    async fn wait_for_change(&self, after: i64, timeout: Duration) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        match self.dialect {
            Dialect::Sqlite => loop {
                if self.latest_change().await? > after || tokio::time::Instant::now() >= deadline {
                    return Ok(());
                }
                tokio::time::sleep_until(
                    deadline.min(tokio::time::Instant::now() + Duration::from_millis(100)),
                )
                .await;
            },
            Dialect::Postgres => {
                let mut bumps = self.notifications().await?;
                bumps.borrow_and_update();
                if self.latest_change().await? > after {
                    return Ok(());
                }
                match tokio::time::timeout_at(deadline, bumps.changed()).await {
                    Ok(Ok(())) | Err(_) => {}
                    // The listener is gone only when the store is being dropped.
                    Ok(Err(_)) => tokio::time::sleep_until(deadline).await,
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod durability_tests {
    use super::carries_intent;
    use crate::spec::Status;

    fn status(v: serde_json::Value) -> Status {
        let mut s = Status::default();
        if let serde_json::Value::Object(m) = v {
            s.facts = m;
        }
        s
    }

    #[test]
    fn a_status_with_a_pending_intent_is_a_durable_write() {
        assert!(carries_intent(&status(
            serde_json::json!({"phase": "Ready", "pendingDeposit": {"amount": "5uact"}})
        )));
        assert!(carries_intent(&status(
            serde_json::json!({"pendingIntent": {"dseq": "7"}})
        )));
        assert!(!carries_intent(&status(
            serde_json::json!({"phase": "Ready", "escrowBalance": "5uact", "pendingDeposit": null})
        )));
        assert!(!carries_intent(&Status::default()));
    }
}
