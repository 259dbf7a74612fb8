//! The Function reconciler: a work queue of its own (deduplicated keys, one reconcile per key
//! at a time, backoff on failure), fed by the store's change feed (a Function's spec, any
//! change of its FunctionRuntime) and a periodic resync, and woken when a health check is due.
//! No Akash transaction is ever made here: functions live on the runtime's nodes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::join_all;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{info, warn, Instrument};

use super::admin::{AdminError, NodeAddr, RuntimeAdmin};
use super::rollout::{self, Call, Code, Desired, Gate, NodeObs, Note};
use super::{
    config_digest, put_body, resolve_env, runtime_nodes, runtime_token, slug_of, FunctionStatus,
    FINALIZER,
};
use crate::reconcile::context::{Clock, Progress, ProgressHook, SecretSource};
use crate::reconcile::queue::{backoff, jittered, Urgency, WorkQueue};
use crate::reconcile::ReconcileError;
use crate::spec::akash_status::set_condition;
use crate::spec::common::HealthCheck;
use crate::spec::kinds::function::{FunctionSpec, RolloutStrategy};
use crate::spec::{ConditionStatus, Kind, Resource, ResourceKey, Spec, Status};
use crate::store::{EventType, ListQuery, NewEvent, Store};

/// Settings of the Function reconciler.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    /// Every Function is looked at least this often (a node may have restarted).
    pub resync: Duration,
    /// Reconciles at once.
    pub workers: usize,
    /// A Function waiting for its runtime, a node or a secret is looked at again after this.
    pub retry: Duration,
    /// The longest backoff after failures.
    pub max_backoff: Duration,
}

impl Default for FunctionConfig {
    fn default() -> Self {
        FunctionConfig {
            resync: Duration::from_secs(60),
            workers: 4,
            retry: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// The Function reconciler.
pub struct FunctionController {
    store: Arc<dyn Store>,
    secrets: Arc<dyn SecretSource>,
    admin: Arc<dyn RuntimeAdmin>,
    config: FunctionConfig,
    queue: Arc<WorkQueue<ResourceKey>>,
    clock: Clock,
    failures: Mutex<HashMap<ResourceKey, u32>>,
    progress: Option<ProgressHook>,
}

impl std::fmt::Debug for FunctionController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionController")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Phases of a Function.
pub mod phase {
    /// Waiting for its runtime, its nodes or a secret.
    pub const PENDING: &str = "Pending";
    /// A version is being rolled out.
    pub const PROGRESSING: &str = "Progressing";
    /// A rollout is held by `rollout pause`.
    pub const PAUSED: &str = "Paused";
    /// Every node runs the spec's version.
    pub const READY: &str = "Ready";
    /// The spec's version failed its rollout; the last good one serves.
    pub const DEGRADED: &str = "Degraded";
    /// Being removed from the nodes.
    pub const DELETING: &str = "Deleting";
}

impl FunctionController {
    /// A controller over `store`, reaching nodes through `admin`.
    pub fn new(
        store: Arc<dyn Store>,
        secrets: Arc<dyn SecretSource>,
        admin: Arc<dyn RuntimeAdmin>,
        config: FunctionConfig,
    ) -> Arc<FunctionController> {
        Self::with_progress(store, secrets, admin, config, None)
    }

    /// A controller that also tells `hook` of every rollout event (the demo's progress lines).
    pub fn with_progress(
        store: Arc<dyn Store>,
        secrets: Arc<dyn SecretSource>,
        admin: Arc<dyn RuntimeAdmin>,
        config: FunctionConfig,
        hook: Option<ProgressHook>,
    ) -> Arc<FunctionController> {
        Arc::new(FunctionController {
            store,
            secrets,
            admin,
            config,
            queue: Arc::new(WorkQueue::new()),
            clock: Clock::new(),
            failures: Mutex::new(HashMap::new()),
            progress: hook,
        })
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let cursor = self.store.latest_change().await.unwrap_or(0);
        self.enqueue_all(Urgency::Change).await;
        let mut tasks = JoinSet::new();
        {
            let me = self.clone();
            tasks.spawn(async move { me.follow_feed(cursor).await });
        }
        {
            let me = self.clone();
            tasks.spawn(async move {
                loop {
                    tokio::time::sleep(jittered(me.config.resync)).await;
                    me.enqueue_all(Urgency::Resync).await;
                }
            });
        }
        let mut workers = JoinSet::new();
        for _ in 0..self.config.workers.max(1) {
            let me = self.clone();
            workers.spawn(async move {
                while let Some(key) = me.queue.next().await {
                    me.reconcile_key(&key).await;
                    me.queue.done(&key);
                }
            });
        }
        let _ = shutdown.wait_for(|s| *s).await;
        self.queue.close();
        tasks.abort_all();
        let drain = async { while workers.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(30), drain)
            .await
            .is_err()
        {
            workers.abort_all();
        }
    }

    async fn enqueue_all(&self, urgency: Urgency) {
        let q = ListQuery {
            kind: Some(Kind::Function),
            ..ListQuery::default()
        };
        match self.store.list(&q).await {
            Ok(items) => {
                for r in items {
                    self.queue.schedule(r.key(), Duration::ZERO, urgency);
                }
            }
            Err(e) => warn!(error = %e, "cannot list the functions"),
        }
    }

    /// The Functions bound to a runtime.
    async fn functions_of(&self, runtime: &ResourceKey) -> Vec<ResourceKey> {
        let q = ListQuery {
            kind: Some(Kind::Function),
            project: Some(runtime.project.clone()),
            ..ListQuery::default()
        };
        self.store
            .list(&q)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(
                |f| matches!(f.typed_spec(), Ok(Spec::Function(s)) if s.runtime == runtime.name),
            )
            .map(|f| f.key())
            .collect()
    }

    async fn follow_feed(&self, after: i64) {
        let feed = crate::store::ChangeFeed::new(self.store.clone());
        let mut cursor = feed.cursor(after);
        loop {
            match cursor.next_batch(1000).await {
                Ok(changes) => {
                    for c in changes {
                        match c.key.kind {
                            Kind::Function if c.spec_changed => {
                                self.queue.schedule(c.key, Duration::ZERO, Urgency::Change)
                            }
                            // A runtime's nodes come, go or are replaced: its functions follow.
                            Kind::FunctionRuntime => {
                                for k in self.functions_of(&c.key).await {
                                    self.queue.schedule(k, Duration::ZERO, Urgency::Change);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                Err(crate::store::StoreError::Expired { .. }) => {
                    let latest = self.store.latest_change().await.unwrap_or(0);
                    self.enqueue_all(Urgency::Change).await;
                    cursor.reset(latest);
                }
                Err(crate::store::StoreError::Database(sqlx::Error::PoolClosed)) => return,
                Err(e) => {
                    warn!(error = %e, "change feed unavailable; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn reconcile_key(&self, key: &ResourceKey) {
        let r = match self.store.get(key).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                self.queue.forget(key);
                return;
            }
            Err(e) => {
                warn!(%key, error = %e, "cannot read the function; retrying");
                self.queue
                    .schedule(key.clone(), Duration::from_secs(1), Urgency::Requeue);
                return;
            }
        };
        let span = tracing::info_span!(
            "reconcile",
            kind = "Function",
            name = %r.metadata.name,
            project = %r.metadata.project,
            generation = r.metadata.generation,
        );
        match self.reconcile(r).instrument(span).await {
            Ok(Some(next)) => {
                self.failures
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(key);
                let urgency = if next >= self.config.resync {
                    Urgency::Resync
                } else {
                    Urgency::Requeue
                };
                self.queue.schedule(key.clone(), next, urgency);
            }
            Ok(None) => {
                self.queue.forget(key);
            }
            Err(e) => {
                let attempt = {
                    let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
                    let n = f.entry(key.clone()).or_insert(0);
                    *n += 1;
                    *n
                };
                let delay = backoff(attempt, Duration::from_millis(500), self.config.max_backoff);
                warn!(%key, attempt, category = e.category, error = %e, retry_in = ?delay, "function reconcile failed; retrying");
                self.queue.schedule(key.clone(), delay, Urgency::Requeue);
            }
        }
    }

    async fn event(&self, key: &ResourceKey, type_: EventType, reason: &str, message: String) {
        info!(reason, %message, "event");
        let e = NewEvent {
            type_,
            reason: reason.to_string(),
            message,
        };
        if let Err(err) = self.store.append_event(key, &e).await {
            warn!(error = %err, "cannot record an event");
        }
    }

    async fn notes(&self, r: &Resource, notes: Vec<Note>, fs: &mut FunctionStatus, now: i64) {
        let key = r.key();
        for n in notes {
            if let Some(p) = &self.progress {
                p(r, Progress::Event(n.reason, &n.message));
            }
            match n.reason {
                "RolloutStarted" => fs.rollout_started_ms = Some(now),
                "RolloutComplete" => {
                    fs.last_rollout_ms = fs.rollout_started_ms.map(|s| now - s);
                    fs.rollout_started_ms = None;
                }
                _ => {}
            }
            let t = if n.warning {
                EventType::Warning
            } else {
                EventType::Normal
            };
            self.event(&key, t, n.reason, n.message).await;
        }
    }

    /// Writes the status (not when only the reconcile time would change).
    async fn write(&self, r: &Resource, mut status: Status, fs: &mut FunctionStatus) {
        let old = FunctionStatus::from_status(&r.status);
        let mut cmp = fs.clone();
        cmp.last_reconcile_time = old.last_reconcile_time.clone();
        let mut probe = status.clone();
        cmp.write_into(&mut probe);
        if probe == r.status {
            return;
        }
        fs.last_reconcile_time = Some(now_text());
        fs.write_into(&mut status);
        if let Err(e) = self
            .store
            .write_status(&r.key(), r.metadata.resource_version, &status)
            .await
        {
            // The spec changed meanwhile: the next reconcile writes again.
            warn!(error = %e, "cannot write the function's status");
        }
    }

    /// Reconciles one Function; `Ok(None)` when it is gone, else when to look again.
    pub async fn reconcile(&self, r: Resource) -> Result<Option<Duration>, ReconcileError> {
        let key = r.key();
        let project = r.metadata.project.clone();
        let generation = r.metadata.generation;
        let spec: FunctionSpec = match r.typed_spec() {
            Ok(Spec::Function(s)) => s,
            Ok(_) => return Ok(None),
            Err(e) => {
                return Err(ReconcileError::permanent(
                    "invalid-spec",
                    format!("the stored spec does not decode: {e}"),
                ))
            }
        };
        let slug = slug_of(&r, &spec);
        let mut status = r.status.clone();
        let mut fs = FunctionStatus::from_status(&status);
        fs.slug = slug.clone();
        fs.runtime = spec.runtime.clone();
        let now = now_text();
        let runtime_key = ResourceKey::new(Kind::FunctionRuntime, &project, &spec.runtime);
        let runtime = self.store.get(&runtime_key).await?;

        if r.metadata.deletion_requested_at.is_some() {
            return self.delete(&r, &slug, runtime.as_ref()).await;
        }
        if !r.metadata.finalizers.iter().any(|f| f == FINALIZER) {
            self.store.add_finalizer(&key, FINALIZER).await?;
            return Ok(Some(Duration::ZERO));
        }

        let pending = |status: &mut Status, reason: &str, message: &str| {
            for (t, v) in [
                ("Ready", ConditionStatus::False),
                ("Synced", ConditionStatus::False),
            ] {
                set_condition(status, t, v, reason, message, generation, &now);
            }
            status.observed_generation = Some(generation);
        };
        let Some(runtime) = runtime else {
            fs.phase = phase::PENDING.into();
            let msg = format!(
                "no FunctionRuntime {} in project {project}; apply it first",
                spec.runtime
            );
            pending(&mut status, "RuntimeMissing", &msg);
            self.write(&r, status, &mut fs).await;
            return Ok(Some(self.config.retry.max(Duration::from_secs(5))));
        };
        if let Ok(Spec::FunctionRuntime(rs)) = runtime.typed_spec() {
            fs.url = Some(format!(
                "https://{slug}.{}",
                rs.wildcard_domain.trim_start_matches("*.")
            ));
        }
        let nodes = runtime_nodes(&runtime);
        fs.node_uris = nodes
            .iter()
            .map(|n| (n.node.clone(), n.uri.clone()))
            .collect();
        if nodes.is_empty() {
            fs.phase = phase::PENDING.into();
            let msg = format!("FunctionRuntime {} has no running nodes yet", spec.runtime);
            pending(&mut status, "RuntimeNotReady", &msg);
            self.write(&r, status, &mut fs).await;
            return Ok(Some(self.config.retry));
        }
        let secrets = self
            .secrets
            .resolver(&project)
            .await
            .map_err(|e| ReconcileError::transient("secrets", e))?;
        let token = match runtime_token(secrets.as_ref(), &project, &spec.runtime) {
            Ok(t) => t,
            Err(msg) => {
                fs.phase = phase::PENDING.into();
                pending(&mut status, "RuntimeNotReady", &msg);
                self.write(&r, status, &mut fs).await;
                return Ok(Some(self.config.retry));
            }
        };
        let env = match resolve_env(secrets.as_ref(), &project, &spec) {
            Ok(e) => e,
            Err((store, k)) => {
                fs.phase = phase::PENDING.into();
                let msg = format!(
                    "secret {store}/{k} is missing; set it with `af-operator secret set {store} {k}`"
                );
                pending(&mut status, "SecretMissing", &msg);
                self.write(&r, status, &mut fs).await;
                return Ok(Some(self.config.resync));
            }
        };
        let health_path = super::health_path(&spec);
        let config = config_digest(&token, &spec.routes, &env, &health_path);
        let ro = spec.rollout.as_ref();
        let hc = ro
            .and_then(|r| r.health_check.clone())
            .unwrap_or_else(|| HealthCheck {
                path: health_path.clone(),
                expected_status: 200,
                interval: None,
                timeout: None,
                failure_threshold: 3,
            });
        let steps: Vec<u8> = match ro {
            Some(r) if r.strategy == RolloutStrategy::Canary && !r.steps.is_empty() => {
                r.steps.clone()
            }
            _ => vec![100],
        };
        let d = Desired {
            code: Code {
                version: rollout::version_for(
                    &fs.rollout,
                    &spec.code.cid,
                    &spec.code.blake3,
                    generation,
                ),
                cid: spec.code.cid.clone(),
                blake3: spec.code.blake3.clone(),
            },
            config: config.clone(),
            steps: steps.clone(),
            gate: Gate {
                interval_ms: hc.interval().as_millis() as i64,
                threshold: ro.map_or(3, |r| r.failure_threshold.max(1)),
            },
            paused: ro.is_some_and(|r| r.paused),
        };
        fs.steps = steps;
        fs.paused = d.paused;

        let mut next_check = None;
        for _round in 0..8 {
            let now_ms = self.clock.now_ms();
            let obs = self.observe(&nodes, &token, &slug).await;
            let p = rollout::plan(&fs.rollout, &d, &obs, now_ms);
            fs.rollout = p.state;
            self.notes(&r, p.notes, &mut fs, now_ms).await;
            next_check = p.next_check_ms;
            if p.calls.is_empty() {
                break;
            }
            let by_name = |n: &str| nodes.iter().find(|x| x.node == n).cloned();
            let puts = p.calls.iter().filter_map(|c| match c {
                Call::Put { node, code } => by_name(node).map(|n| (n, code.clone())),
                Call::Check { .. } => None,
            });
            let put_results = join_all(puts.map(|(n, code)| {
                let body = put_body(&spec, &code, env.clone());
                let token = &token;
                let slug = &slug;
                async move {
                    let res = self.admin.put(&n, token, slug, &body).await;
                    (n, code, res)
                }
            }))
            .await;
            let mut notes = Vec::new();
            for (n, code, res) in put_results {
                let res = res.map(|_| ()).map_err(|e| {
                    warn!(node = %n.node, version = %code.version, error = %e, "the node refused the function");
                    (matches!(e, AdminError::HashMismatch(_)), e.to_string())
                });
                rollout::record_put(
                    &mut fs.rollout,
                    &n.node,
                    &code,
                    &config,
                    res,
                    now_ms,
                    &mut notes,
                );
            }
            let checks = p.calls.iter().filter_map(|c| match c {
                Call::Check { node } => by_name(node),
                Call::Put { .. } => None,
            });
            let timeout = hc.timeout();
            let check_results = join_all(checks.map(|n| {
                let slug = &slug;
                let path = &hc.path;
                async move {
                    let res = self.admin.health(&n, slug, path, timeout).await;
                    (n, res)
                }
            }))
            .await;
            let now_ms = self.clock.now_ms();
            for (n, res) in check_results {
                let res = match res {
                    Ok(code) if code == hc.expected_status => Ok(()),
                    Ok(code) => Err(format!(
                        "GET {} answered {code}, expected {}",
                        hc.path, hc.expected_status
                    )),
                    Err(e) => Err(e),
                };
                rollout::record_check(&mut fs.rollout, &n.node, res, now_ms);
            }
            self.notes(&r, notes, &mut fs, now_ms).await;
        }

        // Conditions.
        let ro_state = &fs.rollout;
        let on = |v: &Code| {
            nodes
                .iter()
                .filter(|n| {
                    ro_state
                        .nodes
                        .get(&n.node)
                        .and_then(|s| s.version.as_deref())
                        == Some(v.version.as_str())
                })
                .count()
        };
        let total = nodes.len();
        let serving = ro_state.stable.as_ref().map_or(0, on)
            + ro_state.target.as_ref().map_or(0, |t| {
                if ro_state
                    .stable
                    .as_ref()
                    .is_some_and(|s| s.version == t.version)
                {
                    0
                } else {
                    on(t)
                }
            });
        let mut wait = self.config.resync;
        let set = |status: &mut Status, t: &str, v: ConditionStatus, reason: &str, msg: &str| {
            set_condition(status, t, v, reason, msg, generation, &now);
        };
        use ConditionStatus::{False, True};
        if let Some(t) = &ro_state.target {
            let step = ro_state.step.min(fs.steps.len().saturating_sub(1));
            let pct = fs.steps.get(step).copied().unwrap_or(100);
            let msg = format!(
                "step {}/{} ({pct}%): {} of {total} nodes on version {}{}",
                step + 1,
                fs.steps.len().max(1),
                on(t),
                t.version,
                if d.paused { ", paused" } else { "" }
            );
            fs.phase = if d.paused {
                phase::PAUSED
            } else {
                phase::PROGRESSING
            }
            .into();
            if ro_state.stable.is_some() && serving == total {
                set(&mut status, "Ready", True, "RollingOut", &msg);
            } else {
                set(&mut status, "Ready", False, "RollingOut", &msg);
            }
            set(&mut status, "Synced", False, "RollingOut", &msg);
            set(&mut status, "Degraded", False, "RollingOut", &msg);
            if let Some(at) = next_check {
                wait = Duration::from_millis((at - self.clock.now_ms()).max(50) as u64);
            }
        } else if let Some(f) = ro_state.failed.clone() {
            fs.phase = phase::DEGRADED.into();
            set(&mut status, "Degraded", True, &f.reason, &f.message);
            set(&mut status, "Synced", False, &f.reason, &f.message);
            match &ro_state.stable {
                Some(s) if on(s) == total => set(
                    &mut status,
                    "Ready",
                    True,
                    "Serving",
                    &format!(
                        "version {} serves on {total} nodes; version {} failed",
                        s.version, f.code.version
                    ),
                ),
                _ => {
                    set(&mut status, "Ready", False, &f.reason, &f.message);
                    wait = self.config.retry;
                }
            }
        } else if let Some(s) = ro_state.stable.clone() {
            let n = on(&s);
            if n == total {
                fs.phase = phase::READY.into();
                let msg = format!("version {} on {total} nodes", s.version);
                set(&mut status, "Ready", True, "Ready", &msg);
                set(&mut status, "Synced", True, "Synced", &msg);
                set(&mut status, "Degraded", False, "Ready", &msg);
            } else {
                let missing: Vec<&str> = nodes
                    .iter()
                    .filter(|x| {
                        ro_state
                            .nodes
                            .get(&x.node)
                            .and_then(|s| s.version.as_deref())
                            != Some(s.version.as_str())
                    })
                    .map(|x| x.node.as_str())
                    .collect();
                let msg = format!(
                    "version {} on {n} of {total} nodes; not yet on {}",
                    s.version,
                    missing.join(", ")
                );
                fs.phase = phase::PROGRESSING.into();
                set(&mut status, "Ready", False, "NodesUnavailable", &msg);
                set(&mut status, "Synced", False, "NodesUnavailable", &msg);
                wait = self.config.retry;
            }
        } else {
            fs.phase = phase::PENDING.into();
            pending(&mut status, "Pending", "no version has run yet");
            wait = self.config.retry;
        }
        status.observed_generation = Some(generation);
        self.write(&r, status, &mut fs).await;
        Ok(Some(wait))
    }

    /// What every node runs as `slug`.
    async fn observe(&self, nodes: &[NodeAddr], token: &str, slug: &str) -> Vec<NodeObs> {
        join_all(nodes.iter().map(|n| async move {
            let running = match self.admin.get(n, token, slug).await {
                Ok(Some(run)) => Ok(Some(Code {
                    version: run.version,
                    cid: run.cid,
                    blake3: run.blake3,
                })),
                Ok(None) => Ok(None),
                Err(e) => Err(e.to_string()),
            };
            NodeObs {
                node: n.node.clone(),
                running,
            }
        }))
        .await
    }

    /// Removes the function from every node, then lets the resource go.
    async fn delete(
        &self,
        r: &Resource,
        slug: &str,
        runtime: Option<&Resource>,
    ) -> Result<Option<Duration>, ReconcileError> {
        let key = r.key();
        if let Some(rt) = runtime {
            let nodes = runtime_nodes(rt);
            if !nodes.is_empty() {
                let secrets = self
                    .secrets
                    .resolver(&key.project)
                    .await
                    .map_err(|e| ReconcileError::transient("secrets", e))?;
                if let Ok(token) = runtime_token(secrets.as_ref(), &key.project, &rt.metadata.name)
                {
                    let results =
                        join_all(nodes.iter().map(|n| self.admin.delete(n, &token, slug))).await;
                    let failed: Vec<String> = nodes
                        .iter()
                        .zip(results)
                        .filter_map(|(n, res)| match res {
                            Err(e) if e.is_transient() => Some(format!("{}: {e}", n.node)),
                            _ => None,
                        })
                        .collect();
                    if !failed.is_empty() {
                        return Err(ReconcileError::transient(
                            "runtime",
                            format!(
                                "cannot remove {slug} from every node yet: {}",
                                failed.join("; ")
                            ),
                        ));
                    }
                }
            }
        }
        self.event(
            &key,
            EventType::Normal,
            "Deleted",
            format!("{slug} removed from every node"),
        )
        .await;
        self.store.remove_finalizer(&key, FINALIZER).await?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests;
