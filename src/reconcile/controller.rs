//! The controller runtime: the store's change feed and a periodic resync feed the
//! [`WorkQueue`]; a bounded pool of workers reconciles; failures back off per key; a sweep
//! closes deployments of ours whose resource is gone (after a grace period) and reports the
//! wallet's deployments we never recorded.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::akash::proto::deployment::v1::DeploymentID;
use crate::akash::proto::PageRequest;
use crate::spec::{Kind, ResourceKey};
use crate::store::{IntentState, ListQuery};

use super::lifecycle::{self, hosted_on_akash};
use super::queue::{backoff, jittered, Urgency, WorkQueue};
use super::{Action, Context};

/// The kinds this controller reconciles.
pub const KINDS: [Kind; 5] = [
    Kind::Agent,
    Kind::FunctionRuntime,
    Kind::Proxy,
    Kind::SecretStore,
    Kind::Site,
];

/// The running controllers.
pub struct Controller {
    ctx: Arc<Context>,
    queue: Arc<WorkQueue<ResourceKey>>,
    failures: Mutex<HashMap<ResourceKey, u32>>,
}

impl std::fmt::Debug for Controller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller").finish_non_exhaustive()
    }
}

impl Controller {
    /// A controller over `ctx`.
    pub fn new(ctx: Arc<Context>) -> Arc<Controller> {
        Arc::new(Controller {
            ctx,
            queue: Arc::new(WorkQueue::new()),
            failures: Mutex::new(HashMap::new()),
        })
    }

    /// The context.
    pub fn context(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// Runs until `shutdown` turns true: the feed, the resync, the sweep and the workers.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut tasks = JoinSet::new();
        let mut workers = JoinSet::new();
        let cursor = match self.ctx.store.latest_change().await {
            Ok(c) => c,
            Err(e) => {
                warn!(error = %e, "cannot read the change feed; starting from its beginning");
                0
            }
        };
        {
            // Chain writes run detached; their end schedules the resource again.
            let queue = self.queue.clone();
            self.ctx.set_waker(Some(Arc::new(move |key: &ResourceKey| {
                queue.schedule(key.clone(), Duration::ZERO, Urgency::Change)
            })));
        }
        self.sample_height().await;
        self.enqueue_all(Urgency::Change).await;
        {
            let me = self.clone();
            tasks.spawn(async move { me.follow_feed(cursor).await });
        }
        {
            let me = self.clone();
            tasks.spawn(async move { me.resync_loop().await });
        }
        {
            let me = self.clone();
            tasks.spawn(async move { me.bid_watch().await });
        }
        for _ in 0..self.ctx.config.workers.max(1) {
            let me = self.clone();
            workers.spawn(async move { me.worker().await });
        }
        info!(
            workers = self.ctx.config.workers,
            owner = self.ctx.chain.owner(),
            "controllers running"
        );
        let _ = shutdown.wait_for(|s| *s).await;
        self.queue.close();
        self.ctx.set_waker(None);
        // The feed and the resync stop at once; workers finish the reconcile in hand.
        tasks.abort_all();
        let drain = async { while workers.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(30), drain)
            .await
            .is_err()
        {
            warn!("reconciles still running after 30 s; abandoning them");
            workers.abort_all();
        }
        info!("controllers stopped");
    }

    async fn enqueue_all(&self, urgency: Urgency) {
        for kind in KINDS {
            let q = ListQuery {
                kind: Some(kind),
                ..ListQuery::default()
            };
            match self.ctx.store.list(&q).await {
                Ok(items) => {
                    for r in items {
                        if hosted_on_akash(&r) {
                            self.queue.schedule(r.key(), Duration::ZERO, urgency);
                        }
                    }
                }
                Err(e) => warn!(error = %e, %kind, "cannot list resources"),
            }
        }
    }

    /// Looks at `project`'s Proxies soon (their routes follow the runtimes' nodes).
    async fn wake_proxies(&self, project: &str) {
        let q = crate::store::ListQuery {
            kind: Some(Kind::Proxy),
            project: Some(project.to_string()),
            ..crate::store::ListQuery::default()
        };
        match self.ctx.store.list(&q).await {
            Ok(proxies) => {
                for p in proxies {
                    self.queue
                        .schedule(p.key(), Duration::ZERO, Urgency::Change);
                }
            }
            Err(e) => warn!(error = %e, "cannot list the proxies to update their routes"),
        }
    }

    async fn follow_feed(&self, after: i64) {
        let feed = crate::store::ChangeFeed::new(self.ctx.store.clone());
        let mut cursor = feed.cursor(after);
        loop {
            match cursor.next_batch(1000).await {
                Ok(changes) => {
                    let mut runtimes_changed = std::collections::BTreeSet::new();
                    for c in changes {
                        // A FunctionRuntime's nodes changing (any write of it) changes the
                        // routes of its project's Proxy.
                        if c.key.kind == Kind::FunctionRuntime {
                            runtimes_changed.insert(c.key.project.clone());
                        }
                        // Our own status and finalizer writes do not wake us: only a created,
                        // changed or deleted spec (or a deletion request) does.
                        if c.spec_changed && KINDS.contains(&c.key.kind) {
                            self.queue.schedule(c.key, Duration::ZERO, Urgency::Change);
                        }
                    }
                    for project in runtimes_changed {
                        self.wake_proxies(&project).await;
                    }
                }
                Err(crate::store::StoreError::Expired { .. }) => {
                    warn!("the change feed moved past our cursor; relisting");
                    match self.ctx.store.latest_change().await {
                        Ok(latest) => {
                            self.enqueue_all(Urgency::Change).await;
                            cursor.reset(latest);
                        }
                        Err(e) => {
                            warn!(error = %e, "cannot read the change feed; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                    }
                }
                Err(e) => {
                    warn!(error = %e, "change feed unavailable; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            self.ctx.metrics.queue_depth(self.queue.due_now());
        }
    }

    async fn resync_loop(&self) {
        loop {
            tokio::time::sleep(jittered(self.ctx.config.resync)).await;
            self.sample_height().await;
            // One paged read for the whole sweep.
            if let Err(e) = self
                .ctx
                .snapshots
                .take(self.ctx.chain.as_ref(), self.ctx.clock.now_ms())
                .await
            {
                warn!(error = %e, "cannot take the sweep's chain snapshot; reconciles read the chain one by one");
            }
            self.enqueue_all(Urgency::Resync).await;
            if let Err(e) = self.sweep().await {
                warn!(error = %e, "orphan sweep failed; retried at the next resync");
            }
        }
    }

    /// Orders waiting for their first bid are woken when one lands, within a block: while any
    /// waits, the height is looked at twice per block and, at each new height, one paged
    /// query of our open bids (it grows with pages, not with the orders waiting). Idle, it
    /// sleeps until an order starts waiting.
    async fn bid_watch(&self) {
        let poll = self.ctx.config.timing.poll;
        let mut last_height = 0;
        loop {
            let waiting = self.ctx.bid_waiters();
            let wait = if waiting.is_empty() {
                poll
            } else {
                match self.ctx.observed_block_time_ms() {
                    Some(b) => Duration::from_millis((b / 2.0) as u64),
                    // Not calibrated yet: look often until the height moves.
                    None => Duration::from_millis(100),
                }
                .clamp(Duration::from_millis(20), poll)
            };
            if waiting.is_empty() {
                // Idle: until an order starts waiting (or the poll passes, as a backstop).
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = self.ctx.bid_waiter_added() => {}
                }
                continue;
            }
            tokio::time::sleep(wait).await;
            // Entries of deployments that went away without a bid expire.
            let now = self.ctx.clock.now_ms();
            let expiry = 2 * self.ctx.config.timing.bid_timeout.as_millis() as i64;
            for (dseq, _, since) in &waiting {
                if now - since > expiry {
                    self.ctx.stop_waiting_for_bids(*dseq);
                }
            }
            let height = match self.ctx.chain.latest_height().await {
                Ok(h) => h,
                Err(e) => {
                    debug!(error = %e, "bid watch: cannot read the height");
                    continue;
                }
            };
            self.ctx.sample_height(height);
            if height == last_height {
                continue;
            }
            last_height = height;
            match self.deployments_with_bids().await {
                Ok(with_bids) => {
                    for (dseq, key, _) in waiting {
                        if with_bids.contains(&dseq) {
                            self.ctx.stop_waiting_for_bids(dseq);
                            self.queue.schedule(key, Duration::ZERO, Urgency::Change);
                        }
                    }
                }
                Err(e) => debug!(error = %e, "bid watch: cannot read the bids"),
            }
        }
    }

    /// The dseqs of our deployments with open bids.
    async fn deployments_with_bids(
        &self,
    ) -> Result<std::collections::HashSet<u64>, crate::akash::client::ClientError> {
        let mut out = std::collections::HashSet::new();
        let mut key: Option<Vec<u8>> = None;
        loop {
            let page = self
                .ctx
                .chain
                .bids(
                    crate::akash::proto::market::v1beta5::BidFilters {
                        owner: self.ctx.chain.owner().to_owned(),
                        state: "open".into(),
                        ..Default::default()
                    },
                    Some(super::snapshot::page_request(key.take())),
                )
                .await?;
            out.extend(page.items.iter().map(|b| b.bid.id.dseq));
            match page.next_key {
                Some(k) if !k.is_empty() => key = Some(k),
                _ => break,
            }
        }
        Ok(out)
    }

    /// One height sample per resync (not per resource): the block time behind escrow runways.
    async fn sample_height(&self) {
        match self.ctx.chain.latest_height().await {
            Ok(h) => {
                self.ctx.sample_height(h);
                self.ctx.metrics.chain_answered(self.ctx.clock.now_ms());
            }
            Err(e) => warn!(error = %e, "cannot read the chain's height"),
        }
    }

    async fn worker(&self) {
        while let Some(key) = self.queue.next().await {
            self.reconcile_key(&key).await;
            self.queue.done(&key);
            self.ctx.metrics.queue_depth(self.queue.due_now());
        }
    }

    async fn reconcile_key(&self, key: &ResourceKey) {
        let resource = match self.ctx.store.get(key).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                self.queue.forget(key);
                self.failures
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(key);
                return;
            }
            Err(e) => {
                warn!(%key, error = %e, "cannot read resource; retrying");
                self.queue
                    .schedule(key.clone(), Duration::from_secs(1), Urgency::Requeue);
                return;
            }
        };
        if !hosted_on_akash(&resource) {
            return;
        }
        let uid = resource.metadata.uid.clone();
        let kind = resource.kind.to_string();
        let started = tokio::time::Instant::now();
        let result = lifecycle::reconcile(resource, &self.ctx).await;
        let took = started.elapsed();
        match result {
            Ok(Action::Requeue(d)) => {
                self.failures
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(key);
                self.ctx.metrics.reconciled(&kind, "ok", took);
                let d = if d >= self.ctx.config.resync {
                    jittered(d)
                } else {
                    d
                };
                let urgency = if d >= self.ctx.config.resync {
                    Urgency::Resync
                } else {
                    Urgency::Requeue
                };
                self.queue.schedule(key.clone(), d, urgency);
            }
            Ok(Action::Done) => {
                self.failures
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(key);
                self.ctx.metrics.reconciled(&kind, "ok", took);
                self.ctx.forget_rendered(&uid);
                self.queue.forget(key);
            }
            Err(e) => {
                let attempt = {
                    let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
                    let n = f.entry(key.clone()).or_insert(0);
                    *n += 1;
                    *n
                };
                self.ctx.metrics.reconciled(&kind, e.category, took);
                self.ctx.metrics.retry(&kind);
                let delay = backoff(
                    attempt,
                    self.ctx.config.base_backoff,
                    self.ctx.config.max_backoff,
                );
                // A permanent failure waits for a change of the spec, but is still looked at
                // at the resync (a secret may be set meanwhile).
                let delay = if e.transient {
                    delay
                } else {
                    delay.max(self.ctx.config.resync.min(self.ctx.config.max_backoff))
                };
                if e.transient {
                    warn!(%key, attempt, category = e.category, error = %e, retry_in = ?delay, "reconcile failed; retrying");
                } else {
                    tracing::error!(%key, category = e.category, error = %e, "reconcile failed; needs a change");
                }
                self.queue.schedule(key.clone(), delay, Urgency::Requeue);
            }
        }
    }

    /// Closes deployments of ours whose resource is gone (after the grace period) and counts
    /// the wallet's active deployments that no intent names (reported, never closed).
    pub async fn sweep(&self) -> Result<(), super::ReconcileError> {
        let owner = self.ctx.chain.owner().to_owned();
        let mut live_uids = HashSet::new();
        for kind in KINDS {
            let q = ListQuery {
                kind: Some(kind),
                ..ListQuery::default()
            };
            for r in self.ctx.store.list(&q).await? {
                live_uids.insert(r.metadata.uid);
            }
        }
        let intents = self.ctx.intents.intents(&owner, &[]).await?;
        let by_dseq: HashMap<u64, _> = intents.iter().map(|i| (i.dseq, i)).collect();
        let mut active = Vec::new();
        let mut page: Option<PageRequest> = None;
        loop {
            let p = self
                .ctx
                .chain
                .deployments(
                    &owner,
                    crate::akash::client::DeploymentStateFilter::Active,
                    page.clone(),
                )
                .await
                .map_err(|e| super::ReconcileError::from_client("list deployments", 0, e))?;
            active.extend(p.items.into_iter().map(|d| d.deployment.id.dseq));
            match p.next_key {
                Some(k) if !k.is_empty() => {
                    page = Some(PageRequest {
                        key: k,
                        ..PageRequest::default()
                    })
                }
                _ => break,
            }
        }
        let now = chrono::Utc::now();
        let grace = chrono::Duration::from_std(self.ctx.config.orphan_grace).unwrap_or_default();
        let mut unmanaged = 0;
        for dseq in active {
            let Some(intent) = by_dseq.get(&dseq) else {
                unmanaged += 1;
                debug!(
                    dseq,
                    "active deployment not made by af-operator; left alone"
                );
                continue;
            };
            let orphan =
                !live_uids.contains(&intent.resource_uid) || intent.state == IntentState::Closed;
            if !orphan {
                continue;
            }
            let since = chrono::DateTime::parse_from_rfc3339(&intent.updated_at)
                .map(|t| t.with_timezone(&chrono::Utc))
                .unwrap_or(now);
            if now - since < grace {
                continue;
            }
            warn!(dseq, resource = %intent.resource_key, "closing an orphaned deployment of ours");
            self.ctx.snapshots.wrote();
            self.ctx
                .intents
                .set_intent_state(&owner, dseq, IntentState::Closing)
                .await?;
            match self.ctx.chain.close_deployment(dseq).await {
                Ok(r) => self.ctx.metrics.tx("close-deployment", r.gas_used),
                Err(e) => {
                    let still = self
                        .ctx
                        .chain
                        .deployment(&DeploymentID::new(&owner, dseq))
                        .await;
                    if matches!(still, Ok(d) if d.deployment.state == crate::akash::proto::deployment::v1::DeploymentState::Active as i32)
                    {
                        return Err(super::ReconcileError::from_client("close orphan", dseq, e));
                    }
                }
            }
            self.ctx
                .intents
                .set_intent_state(&owner, dseq, IntentState::Closed)
                .await?;
        }
        self.ctx.metrics.set_unmanaged(unmanaged);
        if unmanaged > 0 {
            info!(count = unmanaged, owner = %owner, "active deployments of the wallet that af-operator never made; left alone");
        }
        Ok(())
    }
}
