//! The reconcilers against the fakes, under paused time: a real [`Context`] over an SQLite
//! store in a tempdir, [`FakeChain`], [`FakeGateway`], a scripted [`HealthProbe`], the builtin
//! templates and file secrets. Each test drives [`lifecycle::reconcile`] (or the
//! [`Controller`]) and asserts on the stored status, the fake chain's state and the fakes'
//! write counters.
//!
//! SQLite and paused time: sqlx runs SQLite on a thread of its own, and every query first
//! acquires a pooled connection (pinging it on that thread) under the pool's acquire timeout
//! (15 s). While SQLite works every tokio task is idle, so a paused clock auto-advances
//! straight to that timeout: opening the store, and the first query after it, fail with
//! `PoolTimedOut`. [`ClockHeld`] wraps the store and holds the clock
//! still during each call (a `spawn_blocking` task inhibits auto-advance on the current-thread
//! runtime while it lives); between calls time advances as usual.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::akash::client::fake::{FakeChain, FakeGateway};
use crate::akash::client::{AkashChain, ClientError};
use crate::akash::proto::deployment::v1::{DeploymentID, DeploymentState};
use crate::akash::proto::market::v1::{LeaseFilters, LeaseID, LeaseState};
use crate::render::{FileSecrets, Renderer, TemplateSource};
use crate::spec::load::load_str;
use crate::spec::{ConditionStatus, Kind, Resource, ResourceInput, ResourceKey, Status};
use crate::store::sql::SqlStore;
use crate::store::{
    Applied, Change, Deletion, DeploymentIntent, Event, IntentState, IntentStore, ListQuery,
    NewEvent, Store, StoreError,
};

use super::context::{ContextParts, StaticSecrets};
use super::health::HealthProbe;
use super::lifecycle;
use super::metrics::Metrics;
use super::plan::Timing;
use super::status::{AkashStatus, Phase, FINALIZER};
use super::{Action, Context, Controller, ControllerConfig, ReconcileError};

const AGENT: &str = r#"
apiVersion: alternatefutures.ai/v1alpha1
kind: Agent
metadata: {name: web, project: demo}
spec:
  image: nginx:IMAGE
  port: 8080
  expose: {hostnames: [web.example.com]}
  resources: {cpu: 0.5, memory: 512Mi, storage: [{size: 1Gi}]}
  healthCheck: {path: /health, failureThreshold: 2}
"#;

const CREATE_DEPLOYMENT: &str = "MsgCreateDeployment";
const CLOSE_DEPLOYMENT: &str = "MsgCloseDeployment";
const CREATE_LEASE: &str = "MsgCreateLease";
const CLOSE_LEASE: &str = "MsgCloseLease";

/// A health probe that answers a configurable status code and counts its calls.
struct ScriptedProbe {
    code: AtomicU16,
    calls: AtomicU64,
    hosts: Mutex<Vec<String>>,
}

impl ScriptedProbe {
    fn new() -> Self {
        ScriptedProbe {
            code: AtomicU16::new(200),
            calls: AtomicU64::new(0),
            hosts: Mutex::new(Vec::new()),
        }
    }

    fn answer(&self, code: u16) {
        self.code.store(code, Ordering::SeqCst);
    }

    fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl HealthProbe for ScriptedProbe {
    async fn get(&self, host: &str, path: &str, _timeout: Duration) -> Result<u16, String> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(format!("{host}{path}"));
        Ok(self.code.load(Ordering::SeqCst))
    }
}

/// Holds tokio's paused clock still until dropped: a blocking task inhibits auto-advance on
/// the current-thread runtime for as long as it runs, and this one runs until the guard goes.
pub(crate) struct HoldClock(#[allow(dead_code)] std::sync::mpsc::Sender<()>);

pub(crate) fn hold_clock() -> HoldClock {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    drop(tokio::task::spawn_blocking(move || {
        let _ = rx.recv();
    }));
    HoldClock(tx)
}

/// The SQLite store with the clock held during every call (see the module docs).
pub(crate) struct ClockHeld(pub(crate) Arc<SqlStore>);

#[async_trait]
impl Store for ClockHeld {
    async fn apply(&self, inputs: &[ResourceInput]) -> Result<Vec<Applied>, StoreError> {
        let _hold = hold_clock();
        self.0.apply(inputs).await
    }
    async fn get(&self, key: &ResourceKey) -> Result<Option<Resource>, StoreError> {
        let _hold = hold_clock();
        self.0.get(key).await
    }
    async fn list(&self, query: &ListQuery) -> Result<Vec<Resource>, StoreError> {
        let _hold = hold_clock();
        self.0.list(query).await
    }
    async fn write_status(
        &self,
        key: &ResourceKey,
        expected_version: i64,
        status: &Status,
    ) -> Result<Resource, StoreError> {
        let _hold = hold_clock();
        self.0.write_status(key, expected_version, status).await
    }
    async fn add_finalizer(
        &self,
        key: &ResourceKey,
        finalizer: &str,
    ) -> Result<Resource, StoreError> {
        let _hold = hold_clock();
        self.0.add_finalizer(key, finalizer).await
    }
    async fn remove_finalizer(
        &self,
        key: &ResourceKey,
        finalizer: &str,
    ) -> Result<Option<Resource>, StoreError> {
        let _hold = hold_clock();
        self.0.remove_finalizer(key, finalizer).await
    }
    async fn request_deletion(&self, key: &ResourceKey) -> Result<Deletion, StoreError> {
        let _hold = hold_clock();
        self.0.request_deletion(key).await
    }
    async fn append_event(&self, key: &ResourceKey, event: &NewEvent) -> Result<(), StoreError> {
        let _hold = hold_clock();
        self.0.append_event(key, event).await
    }
    async fn list_events(&self, key: &ResourceKey, limit: i64) -> Result<Vec<Event>, StoreError> {
        let _hold = hold_clock();
        self.0.list_events(key, limit).await
    }
    async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        let _hold = hold_clock();
        self.0.changes_since(after, limit).await
    }
    async fn latest_change(&self) -> Result<i64, StoreError> {
        let _hold = hold_clock();
        self.0.latest_change().await
    }
    /// SQLite's short poll, with the clock held only while reading (never while sleeping).
    async fn wait_for_change(&self, after: i64, timeout: Duration) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.latest_change().await? > after || tokio::time::Instant::now() >= deadline {
                return Ok(());
            }
            tokio::time::sleep_until(
                deadline.min(tokio::time::Instant::now() + Duration::from_millis(100)),
            )
            .await;
        }
    }
}

#[async_trait]
impl crate::store::ProviderRecords for ClockHeld {
    async fn record_provider(
        &self,
        owner: &str,
        provider: &str,
        event: &crate::store::ProviderEvent,
    ) -> Result<(), StoreError> {
        let _hold = hold_clock();
        self.0.record_provider(owner, provider, event).await
    }
    async fn provider_records(
        &self,
        owner: &str,
    ) -> Result<Vec<crate::store::ProviderRecord>, StoreError> {
        let _hold = hold_clock();
        self.0.provider_records(owner).await
    }
}

#[async_trait]
impl IntentStore for ClockHeld {
    async fn record_intent(&self, intent: &DeploymentIntent) -> Result<(), StoreError> {
        let _hold = hold_clock();
        self.0.record_intent(intent).await
    }
    async fn set_intent_state(
        &self,
        owner: &str,
        dseq: u64,
        state: IntentState,
    ) -> Result<(), StoreError> {
        let _hold = hold_clock();
        self.0.set_intent_state(owner, dseq, state).await
    }
    async fn intents_for(&self, resource_uid: &str) -> Result<Vec<DeploymentIntent>, StoreError> {
        let _hold = hold_clock();
        self.0.intents_for(resource_uid).await
    }
    async fn intents(
        &self,
        owner: &str,
        states: &[IntentState],
    ) -> Result<Vec<DeploymentIntent>, StoreError> {
        let _hold = hold_clock();
        self.0.intents(owner, states).await
    }
    async fn max_dseq(&self, owner: &str) -> Result<u64, StoreError> {
        let _hold = hold_clock();
        self.0.max_dseq(owner).await
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    store: Arc<ClockHeld>,
    chain: Arc<FakeChain>,
    gateway: Arc<FakeGateway>,
    probe: Arc<ScriptedProbe>,
    ctx: Arc<Context>,
}

fn config() -> ControllerConfig {
    ControllerConfig {
        workers: 2,
        resync: Duration::from_secs(60),
        base_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(300),
        timing: Timing {
            bid_window: Duration::from_secs(5),
            bid_timeout: Duration::from_secs(300),
            poll: Duration::from_secs(2),
            ..Timing::default()
        },
        ..ControllerConfig::default()
    }
}

async fn harness_with(config: ControllerConfig) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let sql = {
        let _hold = hold_clock();
        crate::store::open(&url).await.expect("store")
    };
    let store = Arc::new(ClockHeld(Arc::new(sql)));
    let chain = Arc::new(FakeChain::new(3));
    let gateway = Arc::new(FakeGateway::new());
    let probe = Arc::new(ScriptedProbe::new());
    let ctx = Arc::new(Context::new(ContextParts {
        store: store.clone(),
        intents: store.clone(),
        records: store.clone(),
        chain: chain.clone(),
        gateway: gateway.clone(),
        renderer: Arc::new(Renderer::new(TemplateSource::builtin())),
        secrets: Arc::new(StaticSecrets(Arc::new(FileSecrets::default()))),
        probe: probe.clone(),
        metrics: Arc::new(Metrics::new()),
        config,
        progress: None,
    }));
    Harness {
        _dir: dir,
        store,
        chain,
        gateway,
        probe,
        ctx,
    }
}

async fn harness() -> Harness {
    harness_with(config()).await
}

fn key() -> ResourceKey {
    ResourceKey::new(Kind::Agent, "demo", "web")
}

fn agent(image: &str) -> String {
    AGENT.replace("IMAGE", image)
}

impl Harness {
    async fn apply(&self, yaml: &str) {
        let docs = load_str("test.yaml", yaml).expect("valid spec");
        let inputs: Vec<_> = docs.into_iter().map(|d| d.input).collect();
        self.store.apply(&inputs).await.expect("apply");
    }

    async fn resource(&self) -> Resource {
        self.store
            .get(&key())
            .await
            .expect("get")
            .expect("the resource exists")
    }

    async fn status(&self) -> AkashStatus {
        AkashStatus::from_status(&self.resource().await.status)
    }

    async fn reconcile(&self) -> Result<Action, ReconcileError> {
        lifecycle::reconcile(self.resource().await, &self.ctx).await
    }

    /// Reconciles, sleeping what each reconcile asks for (1 s after an error), until the
    /// stored status satisfies `done`; panics after `max` reconciles.
    async fn reconcile_until(&self, max: usize, done: impl Fn(&AkashStatus) -> bool) {
        for _ in 0..max {
            if done(&self.status().await) {
                return;
            }
            match self.reconcile().await {
                Ok(Action::Requeue(d)) => tokio::time::sleep(d).await,
                Ok(Action::Done) => return,
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
        let s = self.status().await;
        assert!(done(&s), "not reached after {max} reconciles: {s:?}");
    }

    /// Writes of one message type through the trait (the type URL ends with `msg`).
    fn writes_of(&self, msg: &str) -> u64 {
        self.chain
            .txs_by_type()
            .iter()
            .filter(|(url, _)| url.ends_with(msg))
            .map(|(_, n)| n)
            .sum()
    }

    fn owner(&self) -> String {
        self.chain.owner().to_owned()
    }

    async fn deployment_state(&self, dseq: u64) -> Option<DeploymentState> {
        match self
            .chain
            .deployment(&DeploymentID::new(self.owner(), dseq))
            .await
        {
            Ok(d) => Some(d.deployment.state()),
            Err(ClientError::NotFound(_)) => None,
            Err(e) => panic!("query deployment {dseq}: {e}"),
        }
    }

    async fn active_deployments(&self) -> Vec<u64> {
        self.chain
            .deployments(
                &self.owner(),
                crate::akash::client::DeploymentStateFilter::Active,
                None,
            )
            .await
            .expect("deployments")
            .items
            .iter()
            .map(|d| d.deployment.id.dseq)
            .collect()
    }

    async fn leases(&self, dseq: u64) -> Vec<(LeaseID, LeaseState)> {
        self.chain
            .leases(
                LeaseFilters {
                    owner: self.owner(),
                    dseq,
                    ..LeaseFilters::default()
                },
                None,
            )
            .await
            .expect("leases")
            .items
            .into_iter()
            .map(|l| {
                let state = l.lease.state();
                (l.lease.id, state)
            })
            .collect()
    }

    async fn intent_states(&self) -> BTreeMap<u64, IntentState> {
        let uid = self.resource().await.metadata.uid;
        self.store
            .intents_for(&uid)
            .await
            .expect("intents")
            .into_iter()
            .map(|i| (i.dseq, i.state))
            .collect()
    }

    async fn events(&self) -> Vec<Event> {
        self.store.list_events(&key(), 500).await.expect("events")
    }

    fn provider(&self, i: usize) -> String {
        self.chain.providers()[i].clone()
    }

    /// Applies the agent and takes it to Ready with provider 0 bidding alone.
    async fn ready(&self) -> u64 {
        self.apply(&agent("1.25")).await;
        self.reconcile().await.expect("create");
        let dseq = current_dseq(&self.status().await);
        self.chain
            .add_bid(dseq, 1, 1, &self.provider(0), 10)
            .expect("bid");
        self.reconcile_until(10, |s| s.phase == Phase::Ready).await;
        dseq
    }
}

fn current_dseq(s: &AkashStatus) -> u64 {
    s.dseq
        .as_deref()
        .expect("a dseq in the status")
        .parse()
        .expect("a number")
}

fn condition(r: &Resource, type_: &str) -> (ConditionStatus, String) {
    let c = r
        .status
        .condition(type_)
        .unwrap_or_else(|| panic!("no {type_} condition: {:?}", r.status));
    (c.status, c.reason.clone())
}

/// The sum of a counter's samples whose labels contain every one of `labels`.
fn counter(metrics: &Metrics, name: &str, labels: &[&str]) -> u64 {
    metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

// 1. create → bids → the cheapest bid (ties by address) → manifest → healthy → Ready.
#[tokio::test(start_paused = true)]
async fn create_to_ready_leases_the_cheapest_bid_ties_by_address() {
    let h = harness().await;
    h.apply(&agent("1.25")).await;

    let first = h.reconcile().await.expect("first reconcile");
    assert_eq!(
        first,
        Action::Requeue(Duration::from_secs(2)),
        "polls for bids"
    );
    let r = h.resource().await;
    assert!(r.metadata.finalizers.iter().any(|f| f == FINALIZER));
    let s = AkashStatus::from_status(&r.status);
    assert_eq!(s.phase, Phase::Bidding);
    let dseq = current_dseq(&s);
    assert_eq!(
        h.deployment_state(dseq).await,
        Some(DeploymentState::Active)
    );
    assert_eq!(
        h.intent_states().await,
        BTreeMap::from([(dseq, IntentState::Active)])
    );
    assert_eq!(h.writes_of(CREATE_DEPLOYMENT), 1);
    assert!(s.pending_intent.is_none());

    // Three bids: one dearer, two at the same lowest price; the lower address wins.
    let (p0, p1, p2) = (h.provider(0), h.provider(1), h.provider(2));
    h.chain.add_bid(dseq, 1, 1, &p0, 25).expect("bid 0");
    h.chain.add_bid(dseq, 1, 1, &p1, 11).expect("bid 1");
    let winner = p1.clone().min(p2.clone());

    // The first look at the bids opens the bid window: no lease yet (a third provider that
    // matches the placement has not bid).
    let action = h.reconcile().await.expect("bids seen");
    assert_eq!(action, Action::Requeue(Duration::from_secs(5)));
    assert_eq!(h.status().await.phase, Phase::Bidding);
    assert_eq!(h.writes_of(CREATE_LEASE), 0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Its bid lands: every matching provider has bid, so the window ends early.
    h.chain.add_bid(dseq, 1, 1, &p2, 11).expect("bid 2");

    let action = h.reconcile().await.expect("lease, manifest, health");
    // Ready: looked at again at the health check's interval (30 s by default) or the resync.
    assert_eq!(
        action,
        Action::Requeue(Duration::from_secs(30).min(h.ctx.config.resync))
    );
    let r = h.resource().await;
    let s = AkashStatus::from_status(&r.status);
    assert_eq!(s.phase, Phase::Ready, "{s:?}");
    assert_eq!(condition(&r, "Ready").0, ConditionStatus::True);
    assert_eq!(condition(&r, "Synced").0, ConditionStatus::True);
    assert_eq!(condition(&r, "Degraded").0, ConditionStatus::False);
    assert_eq!(s.provider.as_deref(), Some(winner.as_str()));
    assert_eq!(s.leases.len(), 1);
    assert_eq!(s.leases[0].price, "11uact");
    assert!(s.leases[0].healthy && s.leases[0].available);
    assert_eq!(s.manifest_version, s.leases[0].manifest_version);
    assert!(
        s.uris.iter().any(|u| u.contains(".ingress."))
            && s.uris.contains(&"web.example.com".into()),
        "{:?}",
        s.uris
    );

    let leases = h.leases(dseq).await;
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].0.provider, winner);
    assert_eq!(leases[0].1, LeaseState::Active);
    let manifest = h
        .gateway
        .manifest(&leases[0].0)
        .expect("manifest at the provider");
    assert!(String::from_utf8_lossy(&manifest).contains("nginx:1.25"));
    assert_eq!(h.gateway.manifests_sent(), 1);
    assert!(h.probe.calls() >= 1);
    assert!(h
        .probe
        .hosts
        .lock()
        .unwrap()
        .iter()
        .all(|u| u.contains(".ingress.") && u.ends_with("/health")));

    assert_eq!(h.writes_of(CREATE_DEPLOYMENT), 1);
    assert_eq!(h.writes_of(CREATE_LEASE), 1);
    assert_eq!(h.chain.writes(), 2);
    let metrics = h.ctx.metrics.encode();
    assert!(
        metrics.contains("af_operator_chain_txs_total{msg=\"create-deployment\"} 1"),
        "{metrics}"
    );
    let events = h.events().await;
    for reason in ["DeploymentCreated", "LeaseCreated", "ManifestSent", "Ready"] {
        assert!(
            events.iter().any(|e| e.reason == reason),
            "no {reason}: {events:?}"
        );
    }

    // Ready and unchanged: another reconcile writes nothing on chain and sends nothing.
    let version = h.resource().await.metadata.resource_version;
    h.reconcile().await.expect("steady");
    assert_eq!(h.chain.writes(), 2);
    assert_eq!(h.gateway.manifests_sent(), 1);
    assert_eq!(
        h.resource().await.metadata.resource_version,
        version,
        "no status write"
    );
}

// 2a. A create held as Pending: the intent stays pending, nothing is sent twice, and the
// deployment that lands later is adopted.
#[tokio::test(start_paused = true)]
async fn a_pending_create_is_adopted_never_sent_twice() {
    let h = harness().await;
    h.apply(&agent("1.25")).await;
    h.chain.set_pending(true);

    let e = h.reconcile().await.expect_err("the create is held");
    assert_eq!(e.category, "pending");
    assert!(e.transient);
    let s = h.status().await;
    let pending = s
        .pending_intent
        .clone()
        .expect("a pending intent in the status");
    assert_eq!(pending.action, "create-deployment");
    assert!(pending.tx_hash.is_some() && pending.timeout_height.is_some());
    let dseq: u64 = pending.dseq.parse().unwrap();
    assert_eq!(
        h.intent_states().await,
        BTreeMap::from([(dseq, IntentState::Pending)])
    );
    assert_eq!(h.deployment_state(dseq).await, None);
    assert_eq!(h.writes_of(CREATE_DEPLOYMENT), 1);

    // Looked at again while the tx may still land: the intent is still pending and the create
    // is not sent a second time.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let again = h.reconcile().await;
    assert_eq!(
        h.intent_states().await,
        BTreeMap::from([(dseq, IntentState::Pending)])
    );
    assert_eq!(
        h.writes_of(CREATE_DEPLOYMENT),
        1,
        "a create that may still land was sent again ({again:?})"
    );
    assert_eq!(again, Ok(Action::Requeue(Duration::from_secs(2))));
    let r = h.resource().await;
    assert_eq!(
        condition(&r, "Ready"),
        (ConditionStatus::False, "CreatePending".into())
    );
    assert_eq!(AkashStatus::from_status(&r.status).phase, Phase::Deploying);

    // It lands: the next reconcile adopts it.
    h.chain.set_pending(false);
    assert_eq!(h.chain.release_pending().len(), 1);
    assert_eq!(
        h.deployment_state(dseq).await,
        Some(DeploymentState::Active)
    );
    h.reconcile().await.expect("adopt");
    assert_eq!(
        h.intent_states().await,
        BTreeMap::from([(dseq, IntentState::Active)])
    );
    let s = h.status().await;
    assert!(s.pending_intent.is_none(), "{s:?}");
    assert_eq!(s.phase, Phase::Bidding);
    assert_eq!(current_dseq(&s), dseq);
    assert!(h
        .events()
        .await
        .iter()
        .any(|e| e.reason == "DeploymentAdopted"));
    assert_eq!(h.writes_of(CREATE_DEPLOYMENT), 1);
    assert_eq!(h.active_deployments().await, vec![dseq]);
}

// 2b. A create that provably never landed (its timeout height passed) is sent again with the
// same dseq.
#[tokio::test(start_paused = true)]
async fn an_expired_create_is_sent_again_with_the_same_dseq() {
    let h = harness().await;
    h.apply(&agent("1.25")).await;
    h.chain.set_pending(true);
    h.reconcile().await.expect_err("held");
    let dseq = current_dseq(&h.status().await);
    assert_eq!(h.writes_of(CREATE_DEPLOYMENT), 1);
    h.chain.set_pending(false);
    assert_eq!(h.chain.expire_pending().len(), 1);

    h.reconcile().await.expect("sent again");
    assert_eq!(h.writes_of(CREATE_DEPLOYMENT), 2);
    assert_eq!(h.active_deployments().await, vec![dseq]);
    assert_eq!(
        h.intent_states().await,
        BTreeMap::from([(dseq, IntentState::Active)])
    );
    assert!(h.status().await.pending_intent.is_none());
}

// 2c. The chain unreachable: a transient `chain-unavailable` failure, then one deployment.
#[tokio::test(start_paused = true)]
async fn a_chain_outage_is_transient_and_the_retry_creates_one_deployment() {
    let h = harness().await;
    h.apply(&agent("1.25")).await;
    h.chain
        .set_failing(1, ClientError::Transport("connection refused".into()));

    let e = h.reconcile().await.expect_err("the chain is down");
    assert_eq!(e.category, "chain-unavailable");
    assert!(e.transient);
    let r = h.resource().await;
    let s = AkashStatus::from_status(&r.status);
    assert_ne!(s.phase, Phase::Failed, "a transient failure is not Failed");
    assert_eq!(s.attempt, 1);
    assert_eq!(
        condition(&r, "Ready"),
        (ConditionStatus::False, "ChainUnavailable".into())
    );
    assert!(h.active_deployments().await.is_empty());

    h.reconcile().await.expect("the chain is back");
    let s = h.status().await;
    assert_eq!(s.attempt, 0);
    assert_eq!(s.phase, Phase::Bidding);
    let dseq = current_dseq(&s);
    assert_eq!(h.active_deployments().await, vec![dseq]);
    assert_eq!(
        h.intent_states().await,
        BTreeMap::from([(dseq, IntentState::Active)])
    );
    // The failed attempt never reached the chain; the retry is the one create that did.
    assert_eq!(h.writes_of(CREATE_DEPLOYMENT), 2);
}

// 3. A deployment closed outside af-operator: DeploymentLost, a new dseq, the old intent closed.
#[tokio::test(start_paused = true)]
async fn a_deployment_closed_out_of_band_is_replaced() {
    let h = harness().await;
    let old = h.ready().await;
    h.chain
        .close_deployment(old)
        .await
        .expect("closed by another tool");
    assert_eq!(h.deployment_state(old).await, Some(DeploymentState::Closed));

    h.reconcile().await.expect("replace");
    let r = h.resource().await;
    let s = AkashStatus::from_status(&r.status);
    let new = current_dseq(&s);
    assert_ne!(new, old);
    assert!(new > old);
    assert_eq!(s.phase, Phase::Bidding);
    assert_eq!(condition(&r, "Ready").0, ConditionStatus::False);
    assert_eq!(
        h.intent_states().await,
        BTreeMap::from([(old, IntentState::Closed), (new, IntentState::Active)])
    );
    assert_eq!(h.active_deployments().await, vec![new]);
    assert_eq!(h.writes_of(CREATE_DEPLOYMENT), 2);
    let events = h.events().await;
    assert!(
        events
            .iter()
            .any(|e| e.reason == "DeploymentLost" && e.type_ == "Warning"),
        "{events:?}"
    );

    // And it comes back: bids on the new deployment → Ready again.
    h.chain.add_bid(new, 1, 1, &h.provider(1), 10).expect("bid");
    h.reconcile_until(10, |s| s.phase == Phase::Ready).await;
    let s = h.status().await;
    assert_eq!(current_dseq(&s), new);
    assert_eq!(s.provider.as_deref(), Some(h.provider(1).as_str()));
}

// 4. The provider refuses the manifest (422): a Warning, the lease closed, a new order, re-bid.
#[tokio::test(start_paused = true)]
async fn a_rejected_manifest_closes_the_lease_and_rebids() {
    let h = harness().await;
    h.apply(&agent("1.25")).await;
    h.reconcile().await.expect("create");
    let dseq = current_dseq(&h.status().await);
    let p0 = h.provider(0);
    h.chain.add_bid(dseq, 1, 1, &p0, 10).expect("bid");
    h.gateway.set_rejecting(Some("insufficient capacity"));
    h.reconcile().await.expect("window opens");
    tokio::time::sleep(Duration::from_secs(5)).await;

    let e = h.reconcile().await.expect_err("the manifest is refused");
    assert_eq!(e.category, "manifest-rejected");
    assert!(e.transient);
    let events = h.events().await;
    let rejected = events
        .iter()
        .find(|e| e.reason == "ManifestRejected")
        .expect("a ManifestRejected event");
    assert_eq!(rejected.type_, "Warning");
    assert!(rejected.message.contains("insufficient capacity"));
    let leases = h.leases(dseq).await;
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].0.oseq, 1);
    assert_eq!(leases[0].1, LeaseState::Closed);
    assert_eq!(h.writes_of(CLOSE_LEASE), 1);
    let r = h.resource().await;
    let s = AkashStatus::from_status(&r.status);
    assert!(s.leases.is_empty(), "{s:?}");
    assert_eq!(
        condition(&r, "Ready"),
        (ConditionStatus::False, "ManifestRejected".into())
    );

    // The provider that refused is kept out for a while.
    assert!(s
        .excluded
        .iter()
        .any(|e| e.provider == p0 && e.reason == "ManifestRejected"));

    // The group is still open: a new order (oseq 2). The refusing provider's bid there is
    // passed over; another's wins.
    h.gateway.set_rejecting(None);
    h.chain
        .add_bid(dseq, 1, 2, &p0, 5)
        .expect("a bid on the new order");
    h.chain
        .add_bid(dseq, 1, 2, &h.provider(1), 10)
        .expect("a bid on the new order");
    h.reconcile_until(10, |s| s.phase == Phase::Ready).await;
    let s = h.status().await;
    assert_eq!(current_dseq(&s), dseq, "the same deployment");
    assert_eq!(s.leases.len(), 1);
    assert_eq!(s.leases[0].oseq, 2);
    let active: Vec<_> = h
        .leases(dseq)
        .await
        .into_iter()
        .filter(|(_, st)| *st == LeaseState::Active)
        .collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].0.oseq, 2);
    assert!(h.gateway.manifest(&active[0].0).is_some());
    assert_eq!(h.writes_of(CREATE_DEPLOYMENT), 1);
    assert_eq!(h.writes_of(CREATE_LEASE), 2);
}

// 5. Health: failures counted per lease, Degraded past the threshold, Ready when healthy again.
#[tokio::test(start_paused = true)]
async fn failing_health_checks_degrade_and_recover() {
    let h = harness().await;
    h.ready().await;
    let threshold = 2; // the spec's failureThreshold
    h.probe.answer(500);

    // Below the threshold the resource keeps serving as Ready; the failures are counted.
    let calls = h.probe.calls();
    h.reconcile().await.expect("first failure");
    assert_eq!(h.probe.calls(), calls + 1);
    let s = h.status().await;
    assert_eq!(s.leases[0].health_failures, 1);
    assert_eq!(
        s.phase,
        Phase::Ready,
        "one failure of {threshold} tolerated: {s:?}"
    );

    // The threshold-th consecutive failure: the lease is given up (closed on chain), its
    // provider excluded, the resource Degraded with the reason.
    let first = h.status().await.provider.expect("a provider");
    tokio::time::sleep(Duration::from_secs(2)).await;
    h.reconcile().await.expect("second failure");
    let r = h.resource().await;
    let s = AkashStatus::from_status(&r.status);
    assert!(s.leases.is_empty(), "{s:?}");
    assert_ne!(s.phase, Phase::Ready, "{s:?}");
    assert_eq!(
        condition(&r, "Degraded"),
        (ConditionStatus::True, "Unhealthy".into())
    );
    assert_eq!(condition(&r, "Ready").0, ConditionStatus::False);
    assert_eq!(h.writes_of(CLOSE_LEASE), 1);
    assert!(s
        .excluded
        .iter()
        .any(|e| e.provider == first && e.reason == "Unhealthy"));
    assert_eq!(
        s.fault.as_ref().map(|f| f.reason.as_str()),
        Some("Unhealthy")
    );
    let events = h.events().await;
    assert!(events
        .iter()
        .any(|e| e.reason == "Unhealthy" && e.type_ == "Warning"));

    // Re-placed on the new order: the excluded provider's bid is passed over.
    h.probe.answer(200);
    let dseq = current_dseq(&s);
    let other = if first == h.provider(0) {
        h.provider(1)
    } else {
        h.provider(0)
    };
    h.chain.add_bid(dseq, 1, 2, &first, 1).expect("bid");
    h.chain.add_bid(dseq, 1, 2, &other, 30).expect("bid");
    h.reconcile_until(20, |s| s.phase == Phase::Ready).await;
    let r = h.resource().await;
    let s = AkashStatus::from_status(&r.status);
    assert_eq!(s.provider.as_deref(), Some(other.as_str()));
    assert_eq!(s.leases[0].health_failures, 0);
    assert!(s.leases[0].healthy);
    assert!(s.fault.is_none());
    assert_eq!(condition(&r, "Degraded").0, ConditionStatus::False);
    assert_eq!(condition(&r, "Ready").0, ConditionStatus::True);
    assert!(h.events().await.iter().any(|e| e.reason == "Healed"));
    assert_eq!(h.writes_of(CREATE_DEPLOYMENT), 1, "the same deployment");
}

// 6. Delete: the deployment closed on chain, then the finalizer goes, then the resource.
#[tokio::test(start_paused = true)]
async fn delete_closes_on_chain_before_the_finalizer_goes() {
    let h = harness().await;
    let dseq = h.ready().await;
    assert_eq!(
        h.store.request_deletion(&key()).await.expect("delete"),
        Deletion::Requested,
        "the finalizer holds it"
    );
    assert!(h.store.get(&key()).await.unwrap().is_some());

    let uid = h.resource().await.metadata.uid;
    let action = h.reconcile().await.expect("delete");
    assert_eq!(action, Action::Done);
    assert_eq!(
        h.deployment_state(dseq).await,
        Some(DeploymentState::Closed)
    );
    assert!(h.active_deployments().await.is_empty());
    assert_eq!(h.writes_of(CLOSE_DEPLOYMENT), 1);
    assert!(
        h.store.get(&key()).await.unwrap().is_none(),
        "the resource is gone"
    );
    let intents = h.store.intents_for(&uid).await.unwrap();
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].state, IntentState::Closed);
}

// 6b. A close that fails leaves the finalizer in place; the retry finishes it.
#[tokio::test(start_paused = true)]
async fn a_failed_close_keeps_the_finalizer_until_it_succeeds() {
    let h = harness().await;
    let dseq = h.ready().await;
    h.store.request_deletion(&key()).await.expect("delete");
    h.chain
        .set_failing(1, ClientError::Transport("connection refused".into()));

    let e = h.reconcile().await.expect_err("the close fails");
    assert_eq!(e.category, "chain-unavailable");
    let r = h.resource().await;
    assert!(r.metadata.finalizers.iter().any(|f| f == FINALIZER));
    assert_eq!(AkashStatus::from_status(&r.status).phase, Phase::Deleting);
    assert_eq!(
        h.deployment_state(dseq).await,
        Some(DeploymentState::Active)
    );
    assert_eq!(
        h.intent_states().await,
        BTreeMap::from([(dseq, IntentState::Closing)])
    );

    assert_eq!(h.reconcile().await.expect("retry"), Action::Done);
    assert_eq!(
        h.deployment_state(dseq).await,
        Some(DeploymentState::Closed)
    );
    assert!(h.store.get(&key()).await.unwrap().is_none());
}

/// Sleeps in steps of `step` (virtual time) until the stored status satisfies `done`, or panics
/// after `within`.
async fn wait_status(
    h: &Harness,
    within: Duration,
    step: Duration,
    done: impl Fn(&AkashStatus) -> bool,
) -> AkashStatus {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(r) = h.store.get(&key()).await.expect("get") {
            let s = AkashStatus::from_status(&r.status);
            if done(&s) {
                return s;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "not reached within {within:?}: {s:?}"
            );
        }
        tokio::time::sleep(step).await;
    }
}

fn reconciles(h: &Harness, result: &str) -> u64 {
    counter(
        &h.ctx.metrics,
        "af_operator_reconciles_total",
        &["kind=\"Agent\"", &format!("result=\"{result}\"")],
    )
}

fn retries(h: &Harness) -> u64 {
    counter(
        &h.ctx.metrics,
        "af_operator_reconcile_retries_total",
        &["kind=\"Agent\""],
    )
}

// 7a. The Controller: apply → Ready through the change feed, and its own status writes do not
// wake it.
#[tokio::test(start_paused = true)]
async fn the_controller_follows_the_feed_and_ignores_its_own_writes() {
    let h = harness().await;
    let (stop, stopped) = watch::channel(false);
    let run = tokio::spawn(Controller::new(h.ctx.clone()).run(stopped));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(reconciles(&h, "ok"), 0, "nothing to reconcile yet");

    // Applied after the start: only the change feed can bring it to the controller.
    h.apply(&agent("1.25")).await;
    let s = wait_status(&h, Duration::from_secs(5), Duration::from_millis(50), |s| {
        s.dseq.is_some()
    })
    .await;
    let dseq = current_dseq(&s);
    h.chain
        .add_bid(dseq, 1, 1, &h.provider(0), 10)
        .expect("bid");
    let ready = tokio::time::Instant::now();
    wait_status(
        &h,
        Duration::from_secs(30),
        Duration::from_millis(100),
        |s| s.phase == Phase::Ready,
    )
    .await;
    let r = h.resource().await;
    assert_eq!(condition(&r, "Ready").0, ConditionStatus::True);
    assert_eq!(h.writes_of(CREATE_DEPLOYMENT), 1);
    assert_eq!(h.writes_of(CREATE_LEASE), 1);

    // Exactly the reconciles the lifecycle asks for: create (detached; its landing wakes the
    // resource), bids seen (then the 5 s bid window), the lease (detached; its landing wakes
    // the resource), manifest + health → Ready. Each wrote the status (and the first the
    // finalizer) several times; had those writes woken the controller there would be more.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(reconciles(&h, "ok"), 5, "{}", h.ctx.metrics.encode());
    assert_eq!(retries(&h), 0);
    tokio::time::sleep(Duration::from_secs(25)).await;
    assert_eq!(
        reconciles(&h, "ok"),
        5,
        "quiet while Ready, before the health check's interval"
    );

    // The Ready requeues (every 30 s, the health check's interval) and the resync (60 s ±
    // 10 % after the start) look again (they merge when the resync finds a requeue still
    // waiting), and change nothing.
    let writes = h.chain.writes();
    tokio::time::sleep_until(ready + Duration::from_secs(80)).await;
    let n = reconciles(&h, "ok");
    assert!((6..=7).contains(&n), "{n} reconciles");
    assert_eq!(h.chain.writes(), writes);
    assert_eq!(h.status().await.phase, Phase::Ready);

    stop.send(true).expect("stop");
    run.await.expect("the controller stops");
}

// 7b. A failing chain backs off exponentially (with jitter), not at every poll, and the first
// success after it creates exactly one deployment.
#[tokio::test(start_paused = true)]
async fn the_controller_backs_off_exponentially_while_the_chain_fails() {
    let h = harness_with(ControllerConfig {
        // Out of the way: only the backoff schedules retries here.
        resync: Duration::from_secs(3600),
        ..config()
    })
    .await;
    h.chain.set_failing(
        u32::MAX,
        ClientError::Transport("connection refused".into()),
    );
    let (stop, stopped) = watch::channel(false);
    let run = tokio::spawn(Controller::new(h.ctx.clone()).run(stopped));
    tokio::time::sleep(Duration::from_millis(10)).await;
    let start = tokio::time::Instant::now();
    h.apply(&agent("1.25")).await;

    // Retry k waits 0.5 s · 2^(k-1) · [0.5, 1]: the k-th failure happens between
    // 0.5·(2^(k-1) - 1)·0.5 s and 0.5·(2^(k-1) - 1) s after the first (plus the feed's poll).
    let mut counts = Vec::new();
    for secs in [1, 4, 16, 60, 120] {
        tokio::time::sleep_until(start + Duration::from_secs(secs)).await;
        counts.push(retries(&h));
    }
    assert_eq!(counts.len(), 5);
    let [at1, at4, at16, at60, at120] = [counts[0], counts[1], counts[2], counts[3], counts[4]];
    assert!((2..=3).contains(&at1), "after 1 s: {counts:?}");
    assert!((4..=5).contains(&at4), "after 4 s: {counts:?}");
    assert!((6..=7).contains(&at16), "after 16 s: {counts:?}");
    assert!((7..=8).contains(&at60), "after 60 s: {counts:?}");
    assert!(at120 - at60 <= 2, "the second minute: {counts:?}");
    // Every attempt reached the (failing) chain once, and nothing else was sent.
    assert_eq!(h.chain.writes(), at120);
    assert_eq!(reconciles(&h, "chain-unavailable"), at120);
    let s = h.status().await;
    assert_eq!(s.attempt as u64, at120);
    assert_ne!(s.phase, Phase::Failed);
    assert!(h.active_deployments().await.is_empty());

    // The chain is back: the next retry (at most 0.5 s · 2^9 later) creates one deployment,
    // and the backoff is reset.
    h.chain
        .set_failing(0, ClientError::Transport(String::new()));
    let s = wait_status(&h, Duration::from_secs(300), Duration::from_secs(1), |s| {
        s.phase == Phase::Bidding
    })
    .await;
    assert_eq!(s.attempt, 0);
    let dseq = current_dseq(&s);
    assert_eq!(h.active_deployments().await, vec![dseq]);
    assert_eq!(
        h.intent_states().await,
        BTreeMap::from([(dseq, IntentState::Active)])
    );
    assert_eq!(h.writes_of(CREATE_DEPLOYMENT), at120 + 1);
    let after = retries(&h);
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(retries(&h), after, "no more retries once it succeeds");
    assert!(reconciles(&h, "ok") >= 2, "polling for bids");

    stop.send(true).expect("stop");
    run.await.expect("the controller stops");
}

#[tokio::test]
async fn dseqs_claimed_at_once_never_collide_and_stay_above_the_floor() {
    let h = harness().await;
    let ctx = &h.ctx;
    assert_eq!(ctx.last_dseq("akash1a"), None, "nothing chosen yet");
    let claimed: Vec<u64> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    (0..100)
                        .map(|_| ctx.claim_dseq("akash1a", 10))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().expect("a claiming thread"))
            .collect()
    });
    let distinct: std::collections::BTreeSet<u64> = claimed.iter().copied().collect();
    assert_eq!(distinct.len(), 800, "every claim got a dseq of its own");
    assert_eq!(distinct.first(), Some(&10), "the floor is the first");
    assert_eq!(ctx.last_dseq("akash1a"), Some(809));
    assert_eq!(ctx.claim_dseq("akash1a", 5), 810, "never below the last");
    assert_eq!(ctx.claim_dseq("akash1a", 2000), 2000, "a higher floor wins");
    assert_eq!(ctx.claim_dseq("akash1b", 7), 7, "owners are apart");
}
