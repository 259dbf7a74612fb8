//! The change feed's one shared watcher, for every consumer: the API's subscriptions and the
//! reconciler.
//!
//! A single task waits on [`Store::wait_for_change`] (LISTEN on PostgreSQL, over the store's
//! one listener connection; a short poll on SQLite) and publishes the latest change id on a
//! `watch` channel. Each consumer keeps its own [`ChangeCursor`] and reads
//! [`Store::changes_since`] when the id moves, so a slow consumer never loses changes (it
//! reads them later, or learns with [`StoreError::Expired`] that it fell behind what the
//! store keeps and must relist), and the store is watched once, not once per consumer.
//!
//! [`ChangeFeed`] is cheap to clone; clones share the task. The task starts with the first
//! subscription and stops (within a few seconds) once every clone and cursor is dropped. Build
//! one feed in the composition root and hand clones to every consumer.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::watch;

use super::{Change, Store, StoreError};

/// How long one wait on the store lasts before the watcher checks whether it should stop.
const WAIT: Duration = Duration::from_secs(5);

struct Shared {
    store: Arc<dyn Store>,
    latest: OnceLock<Arc<watch::Sender<i64>>>,
}

/// The shared change watcher over one store.
#[derive(Clone)]
pub struct ChangeFeed {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed")
            .field("started", &self.shared.latest.get().is_some())
            .finish()
    }
}

impl ChangeFeed {
    /// A feed over `store`; its watcher starts with the first subscription.
    pub fn new(store: Arc<dyn Store>) -> Self {
        ChangeFeed {
            shared: Arc::new(Shared {
                store,
                latest: OnceLock::new(),
            }),
        }
    }

    /// The store the feed watches.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    /// A receiver of the latest change id, starting the watcher task on first use. Must be
    /// called inside a Tokio runtime.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        let sender = self.shared.latest.get_or_init(|| {
            let (tx, _) = watch::channel(0);
            let tx = Arc::new(tx);
            tokio::spawn(watch_store(self.shared.store.clone(), Arc::downgrade(&tx)));
            tx
        });
        sender.subscribe()
    }

    /// A cursor that reads the changes after change `after` (e.g. the
    /// [`Store::latest_change`] read together with a list, for "from then on"). Must be
    /// called inside a Tokio runtime.
    pub fn cursor(&self, after: i64) -> ChangeCursor {
        ChangeCursor {
            latest: self.subscribe(),
            feed: self.clone(),
            after,
        }
    }
}

/// One consumer's position in the change feed.
#[derive(Debug)]
pub struct ChangeCursor {
    feed: ChangeFeed,
    latest: watch::Receiver<i64>,
    after: i64,
}

impl ChangeCursor {
    /// The id of the last change read (or the starting point).
    pub fn position(&self) -> i64 {
        self.after
    }

    /// Moves the cursor to just after change `after`, e.g. after a relist.
    pub fn reset(&mut self, after: i64) {
        self.after = after;
    }

    /// The next changes after the cursor, oldest first and at most `limit`, waiting until
    /// there is at least one; the cursor moves past them. Fails with
    /// [`StoreError::Expired`] when the cursor fell behind the changes the store keeps: list
    /// again, then [`reset`](Self::reset) to the `latest_change` read before the list.
    /// Cancel-safe: the cursor moves only when changes are returned.
    pub async fn next_batch(&mut self, limit: i64) -> Result<Vec<Change>, StoreError> {
        loop {
            // Mark the feed as seen before reading, so a change committed after the read
            // wakes the wait below.
            self.latest.borrow_and_update();
            let changes = self.feed.store().changes_since(self.after, limit).await?;
            if let Some(last) = changes.last() {
                self.after = last.id;
                return Ok(changes);
            }
            if self.latest.changed().await.is_err() {
                // The watcher ended (it cannot while this cursor holds the feed); wait on the
                // store directly rather than spin.
                self.feed.store().wait_for_change(self.after, WAIT).await?;
            }
        }
    }
}

async fn watch_store(store: Arc<dyn Store>, sender: Weak<watch::Sender<i64>>) {
    let mut seen = -1;
    let mut failing = false;
    loop {
        let Some(tx) = sender.upgrade() else { return };
        let result = async {
            let latest = store.latest_change().await?;
            if latest != seen {
                seen = latest;
                tx.send_replace(latest);
            }
            Ok::<_, StoreError>(latest)
        }
        .await;
        // Not holding the sender while waiting, so that dropping the last feed stops us.
        drop(tx);
        let result = match result {
            Ok(latest) => store.wait_for_change(latest, WAIT).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => failing = false,
            // The store was closed (shutdown): nothing more to watch.
            Err(StoreError::Database(sqlx::Error::PoolClosed)) => return,
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "change feed: cannot read the store; retrying");
                }
                failing = true;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
