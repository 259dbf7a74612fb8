//! Leader election: of several reconciling daemons over one store, exactly one acts.
//!
//! [`elect`] is the one entry point. It returns a [`LeaderHandle`] whose
//! [`is_leader`](LeaderHandle::is_leader) receiver a background task keeps current; the
//! reconciler runs while it reads true and stops at once when it turns false.
//!
//! - **PostgreSQL** (several replicas): a row in `leader_leases` per lease name, with its
//!   holder and an expiry computed by the database's clock (`now()`), so replicas with skewed
//!   clocks agree. The leader renews every [`LeaderConfig::renew_every`] (5 s); standbys try
//!   every [`LeaderConfig::retry_every`] (2 s) and take an expired lease over, so a standby
//!   leads within the lease (12 s) plus one retry (1 s) after the leader is killed. A leader that
//!   cannot renew steps down when its lease, measured on its own monotonic clock from before
//!   its last successful renewal, runs out, before any standby can take over. [`LeaderLease`]
//!   is the row-level facility underneath.
//! - **SQLite** (one machine): an exclusive lock on the file `<database>.lock`, held for the
//!   life of the handle. There are no standbys: a second daemon's [`elect`] fails with
//!   [`StoreError::LeaderLocked`], naming the file and the holder's pid.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;

use super::sql::{Dialect, SqlStore};
use super::StoreError;

/// How leadership is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderConfig {
    /// The lease's name: one leader per name and store.
    pub name: String,
    /// How long a lease lasts without renewal.
    pub lease: Duration,
    /// How often the leader renews (well below `lease`).
    pub renew_every: Duration,
    /// How often a standby tries to take the lease.
    pub retry_every: Duration,
}

impl Default for LeaderConfig {
    fn default() -> Self {
        LeaderConfig {
            name: "reconciler".into(),
            lease: Duration::from_secs(12),
            renew_every: Duration::from_secs(4),
            retry_every: Duration::from_secs(1),
        }
    }
}

/// Leases in PostgreSQL's `leader_leases` table, timed by the database's clock.
#[derive(Debug, Clone)]
pub struct LeaderLease {
    pool: AnyPool,
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl LeaderLease {
    /// The leases of a PostgreSQL store; `None` on SQLite, which elects by file lock.
    pub fn new(store: &SqlStore) -> Option<LeaderLease> {
        (store.dialect() == Dialect::Postgres).then(|| LeaderLease {
            pool: store.pool().clone(),
        })
    }

    /// Takes lease `name` for `holder` for `ttl` if it is free, expired or already
    /// `holder`'s; true when `holder` holds it now.
    pub async fn try_acquire(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        // One statement: concurrent takers serialise on the row, and the loser sees the
        // winner's unexpired lease in the WHERE.
        let done = sqlx::query(
            "INSERT INTO leader_leases (name, holder, expires_at) VALUES ($1, $2, now() + $3::float8 * interval '1 millisecond') \
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at \
             WHERE leader_leases.holder = EXCLUDED.holder OR leader_leases.expires_at <= now()",
        )
        .bind(name)
        .bind(holder)
        .bind(millis(ttl))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Extends `holder`'s lease by `ttl` from now; false when `holder` no longer holds it.
    pub async fn renew(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE leader_leases SET expires_at = now() + $3::float8 * interval '1 millisecond' WHERE name = $1 AND holder = $2",
        )
        .bind(name)
        .bind(holder)
        .bind(millis(ttl))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives the lease up if `holder` holds it, so a standby can take it at once.
    pub async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leader_leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Who holds lease `name` and has not let it expire, if anyone.
    pub async fn holder(&self, name: &str) -> Result<Option<String>, StoreError> {
        use sqlx::Row;
        let row =
            sqlx::query("SELECT holder FROM leader_leases WHERE name = $1 AND expires_at > now()")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }
}

/// Leadership won by [`elect`]. Dropping it stops renewing (PostgreSQL: a standby takes over
/// when the lease expires; SQLite: the file lock is released at once).
#[derive(Debug)]
pub struct LeaderHandle {
    is_leader: watch::Receiver<bool>,
    held: Held,
}

#[derive(Debug)]
enum Held {
    /// The renewal task; dropping the sender stops it.
    Lease {
        stop: Option<oneshot::Sender<()>>,
        task: Option<tokio::task::JoinHandle<()>>,
        lease: LeaderLease,
        name: String,
        holder: String,
    },
    /// The locked file (or nothing, for an in-memory database only this process sees),
    /// kept open for as long as the handle lives.
    File { _lock: Option<File> },
}

impl LeaderHandle {
    /// Whether this process leads now; kept current by the background task. Always true on
    /// SQLite (the handle exists only while the lock is held).
    pub fn is_leader(&self) -> watch::Receiver<bool> {
        self.is_leader.clone()
    }

    /// Stops renewing and gives the lease up, so a standby leads without waiting for the
    /// lease to expire.
    pub async fn resign(mut self) -> Result<(), StoreError> {
        if let Held::Lease {
            stop,
            task,
            lease,
            name,
            holder,
        } = &mut self.held
        {
            drop(stop.take());
            if let Some(task) = task.take() {
                let _ = task.await;
            }
            lease.release(name, holder).await?;
        }
        Ok(())
    }
}

impl Drop for LeaderHandle {
    fn drop(&mut self) {
        if let Held::Lease { task, .. } = &mut self.held {
            if let Some(task) = task.take() {
                task.abort();
            }
        }
    }
}

/// Elects a leader among the daemons sharing `store`; `holder` names this one (e.g.
/// `host/pid`), unique among them. PostgreSQL: returns at once, leading or standing by, and
/// the handle's receiver follows; SQLite: leads, or fails with [`StoreError::LeaderLocked`]
/// when another process holds the lock.
pub async fn elect(
    store: &SqlStore,
    holder: &str,
    cfg: LeaderConfig,
) -> Result<LeaderHandle, StoreError> {
    let Some(lease) = LeaderLease::new(store) else {
        let file = lock_file(store.url())?;
        let (_, is_leader) = watch::channel(true);
        return Ok(LeaderHandle {
            is_leader,
            held: Held::File { _lock: file },
        });
    };
    let started = Instant::now();
    let leading = lease.try_acquire(&cfg.name, holder, cfg.lease).await?;
    let (tx, is_leader) = watch::channel(leading);
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(keep_lease(
        lease.clone(),
        holder.to_string(),
        cfg.clone(),
        tx,
        leading.then_some(started + cfg.lease),
        stopped,
    ));
    Ok(LeaderHandle {
        is_leader,
        held: Held::Lease {
            stop: Some(stop),
            task: Some(task),
            lease,
            name: cfg.name,
            holder: holder.to_string(),
        },
    })
}

/// Renews while leading, tries while standing by. `valid_until`: when our lease runs out by
/// our own clock (from before the request that won it), `None` when not leading.
async fn keep_lease(
    lease: LeaderLease,
    holder: String,
    cfg: LeaderConfig,
    is_leader: watch::Sender<bool>,
    mut valid_until: Option<Instant>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut failing = false;
    loop {
        let pause = if valid_until.is_some() {
            cfg.renew_every
        } else {
            cfg.retry_every
        };
        let wake = match valid_until {
            // Wake in time to step down if renewals keep failing.
            Some(until) => (Instant::now() + pause).min(until),
            None => Instant::now() + pause,
        };
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = &mut stopped => return,
        }
        let sent = Instant::now();
        let result = if valid_until.is_some() {
            lease.renew(&cfg.name, &holder, cfg.lease).await
        } else {
            lease.try_acquire(&cfg.name, &holder, cfg.lease).await
        };
        match result {
            Ok(true) => {
                failing = false;
                if valid_until.is_none() {
                    tracing::info!(lease = %cfg.name, holder = %holder, "leader: acquired the lease");
                }
                valid_until = Some(sent + cfg.lease);
            }
            Ok(false) => {
                failing = false;
                if valid_until.take().is_some() {
                    tracing::warn!(lease = %cfg.name, holder = %holder, "leader: lost the lease");
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(lease = %cfg.name, error = %e, "leader: cannot reach the store; retrying");
                }
                failing = true;
            }
        }
        if valid_until.is_some_and(|until| Instant::now() >= until) {
            tracing::warn!(lease = %cfg.name, holder = %holder, "leader: lease ran out without renewal; stepping down");
            valid_until = None;
        }
        is_leader.send_if_modified(|v| {
            let now = valid_until.is_some();
            std::mem::replace(v, now) != now
        });
    }
}

/// The file an SQLite store's leader locks, beside the database; `None` for an in-memory
/// database.
fn lock_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(format!("{path}.lock")))
}

fn lock_file(url: &str) -> Result<Option<File>, StoreError> {
    let Some(path) = lock_path(url) else {
        return Ok(None);
    };
    let io = |source| StoreError::LeaderLockFile {
        path: path.display().to_string(),
        source,
    };
    // Not truncated on open: the holder's pid stays readable to the process that fails.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(StoreError::LeaderLocked {
                path: path.display().to_string(),
                holder: read_holder(&mut file),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    write_holder(&mut file).map_err(io)?;
    Ok(Some(file))
}

fn read_holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    match text.trim() {
        "" => "a process that has not written its pid yet".into(),
        t => t.to_string(),
    }
}

fn write_holder(file: &mut File) -> std::io::Result<()> {
    file.set_len(0)?;
    file.rewind()?;
    writeln!(file, "pid {}", std::process::id())?;
    file.sync_all()
}
