//! One watcher of the store's change feed, shared by every subscription.
//!
//! A single task waits on [`Store::wait_for_change`] (LISTEN on PostgreSQL, a short poll on
//! SQLite) and publishes the latest change id on a `watch` channel. Each subscription keeps
//! its own cursor and reads [`Store::changes_since`] when the id moves, so a slow subscriber
//! never loses changes (it reads them later) and the store is watched once, not once per
//! subscriber. The task starts with the first subscription and stops when the API is dropped
//! or shut down.

use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use tokio::sync::watch;

use crate::store::Store;

/// How long one wait on the store lasts before the watcher checks whether it should stop.
const WAIT: Duration = Duration::from_secs(5);

/// The shared change watcher.
pub struct ChangeFeed {
    store: Arc<dyn Store>,
    latest: OnceLock<Arc<watch::Sender<i64>>>,
    shutdown: watch::Receiver<bool>,
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed")
            .field("started", &self.latest.get().is_some())
            .finish()
    }
}

impl ChangeFeed {
    /// A feed over `store` that stops when `shutdown` turns true.
    pub fn new(store: Arc<dyn Store>, shutdown: watch::Receiver<bool>) -> Self {
        ChangeFeed {
            store,
            latest: OnceLock::new(),
            shutdown,
        }
    }

    /// A receiver of the latest change id, starting the watcher task on first use. Must be
    /// called inside a Tokio runtime.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        let sender = self.latest.get_or_init(|| {
            let (tx, _) = watch::channel(0);
            let tx = Arc::new(tx);
            tokio::spawn(watch_store(
                self.store.clone(),
                Arc::downgrade(&tx),
                self.shutdown.clone(),
            ));
            tx
        });
        sender.subscribe()
    }

    /// A receiver that turns true when the server shuts down.
    pub fn shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.clone()
    }
}

async fn watch_store(
    store: Arc<dyn Store>,
    sender: Weak<watch::Sender<i64>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut seen = -1;
    let mut failing = false;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let Some(tx) = sender.upgrade() else { return };
        let step = async {
            let latest = store.latest_change().await?;
            if latest != seen {
                seen = latest;
                tx.send_replace(latest);
            }
            store.wait_for_change(latest, WAIT).await
        };
        let result = tokio::select! {
            r = step => r,
            _ = shutdown.changed() => return,
        };
        drop(tx);
        match result {
            Ok(()) => failing = false,
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
