//! The [`Context`] of every reconcile: the clients (through their traits), the renderer, the
//! secrets, the health probe, metrics and configuration. Built once, by the composition root.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::akash::client::{AkashChain, ProviderGateway};
use crate::akash::proto::Coin;
use crate::render::{Renderer, SecretResolver};
use crate::spec::common::HealthCheck;
use crate::spec::Resource;
use crate::store::{IntentStore, ProviderRecords, Store};

use super::health::HealthProbe;
use super::metrics::Metrics;
use super::plan::{Desired, Timing};
use super::status::{AkashStatus, Phase};

/// Where secret values come from, per project.
#[async_trait]
pub trait SecretSource: Send + Sync {
    /// A resolver holding the project's values (in memory, for one rendering).
    async fn resolver(&self, project: &str) -> Result<Arc<dyn SecretResolver>, String>;

    /// Makes sure `store/key` of `project` holds a value, sealing a new random one (32 bytes,
    /// hex) when it holds none: what the operator generates for itself (a FunctionRuntime's
    /// admin token). `Ok(true)` when it was generated now.
    async fn generate_if_missing(
        &self,
        project: &str,
        store: &str,
        key: &str,
    ) -> Result<bool, String> {
        let r = self.resolver(project).await?;
        let reference = crate::spec::common::SecretRef {
            store: store.to_string(),
            key: key.to_string(),
        };
        match r.resolve(project, &reference) {
            Ok(_) => Ok(false),
            Err(_) => Err(format!(
                "no vault to keep a generated {store}/{key} in: start the daemon with a master key (`--master-key-file` or AF_MASTER_KEY)"
            )),
        }
    }
}

/// A fixed resolver for every project (a `--secrets-file`, or the demo's generated values).
pub struct StaticSecrets(pub Arc<dyn SecretResolver>);

#[async_trait]
impl SecretSource for StaticSecrets {
    async fn resolver(&self, _project: &str) -> Result<Arc<dyn SecretResolver>, String> {
        Ok(self.0.clone())
    }
}

/// The controllers' settings, built once at start-up.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Concurrent reconciles.
    pub workers: usize,
    /// Every resource is looked at again at least this often.
    pub resync: Duration,
    /// The first retry after a failure.
    pub base_backoff: Duration,
    /// The longest retry interval.
    pub max_backoff: Duration,
    /// A deployment of ours whose resource is gone is closed after this.
    pub orphan_grace: Duration,
    /// Bids and waits.
    pub timing: Timing,
    /// A failpoint name to abort the process at (tests of crash safety; debug builds only).
    pub crash_at: Option<String>,
    /// The IPFS gateway FunctionRuntime nodes fetch bundles from (`AF_IPFS_GATEWAY` in their
    /// env); `None`: the devnet's, with a devnet, else none (the runtime image's own).
    pub ipfs_gateway: Option<String>,
    /// The Function reconciler's settings.
    pub functions: crate::functions::controller::FunctionConfig,
    /// The DNS controller's resync, retry and debounce.
    pub dns: crate::dns::zone::ZoneConfig,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            workers: 16,
            resync: Duration::from_secs(60),
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(300),
            orphan_grace: Duration::from_secs(600),
            timing: Timing::default(),
            crash_at: None,
            ipfs_gateway: None,
            functions: crate::functions::controller::FunctionConfig::default(),
            dns: crate::dns::zone::ZoneConfig::default(),
        }
    }
}

/// One generation rendered: what the chain and the providers get.
pub struct Rendered {
    /// The generation.
    pub generation: i64,
    /// The planner's view.
    pub desired: Desired,
    /// The manifest version's bytes (the deployment's `hash`).
    pub hash: Vec<u8>,
    /// The manifest JSON for providers (may hold secret values: never logged).
    pub manifest_json: Vec<u8>,
    /// The escrow deposit.
    pub deposit: Coin,
    /// The health check, if the spec has one.
    pub health: Option<HealthCheck>,
    /// A FunctionRuntime: every service is a node, health-checked on its own and given every
    /// Function's current version before it counts as healthy.
    pub runtime: bool,
    /// A Proxy: its admin port, through which it is given its routes before it counts as
    /// healthy.
    pub proxy_admin_port: Option<u16>,
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("generation", &self.generation)
            .field("version", &self.desired.version)
            .field("manifest_json", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Wall-clock milliseconds that follow tokio's clock, so paused tests move them too.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_ms: i64,
    base: tokio::time::Instant,
}

impl Clock {
    /// A clock starting at the system time now.
    pub fn new() -> Self {
        Clock {
            base_ms: chrono::Utc::now().timestamp_millis(),
            base: tokio::time::Instant::now(),
        }
    }

    /// Milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.base_ms + self.base.elapsed().as_millis() as i64
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// What a [`ProgressHook`] is told.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// The resource moved to a phase.
    Phase(Phase, &'a AkashStatus),
    /// A step happened (the event's reason and message: `DeploymentCreated`, `LeaseCreated`,
    /// `ManifestSent`, …).
    Event(&'a str, &'a str),
}

/// Called on every phase transition and event (the demo prints progress lines from it).
pub type ProgressHook = Arc<dyn Fn(&Resource, Progress<'_>) + Send + Sync>;

/// What every reconcile gets.
pub struct Context {
    /// Specs, status, events.
    pub store: Arc<dyn Store>,
    /// Deployment intents.
    pub intents: Arc<dyn IntentStore>,
    /// Our record of each provider.
    pub records: Arc<dyn ProviderRecords>,
    /// The chain.
    pub chain: Arc<dyn AkashChain>,
    /// The providers' gateways.
    pub gateway: Arc<dyn ProviderGateway>,
    /// Spec → SDL.
    pub renderer: Arc<Renderer>,
    /// Secret values.
    pub secrets: Arc<dyn SecretSource>,
    /// HTTP health checks.
    pub probe: Arc<dyn HealthProbe>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Settings.
    pub config: ControllerConfig,
    /// The clock of the planner.
    pub clock: Clock,
    /// Progress callback.
    pub progress: Option<ProgressHook>,
    rendered: Mutex<HashMap<String, Arc<Rendered>>>,
    heights: Mutex<BlockClock>,
    /// The sweep's shared view of the chain.
    pub snapshots: super::snapshot::Snapshots,
    /// The last dseq this process chose, per owner: concurrent creates never pick the same
    /// one (the store's unique constraint still decides against another process).
    dseqs: Mutex<HashMap<String, u64>>,
    /// Chain writes running detached from the reconcile that started them.
    inflight: Mutex<std::collections::HashSet<InFlight>>,
    /// Schedules a resource again (set by the running controller).
    waker: Mutex<Option<Waker>>,
    /// How detached writes failed, for the next reconcile of their resource to report.
    failures: Mutex<HashMap<InFlight, super::ReconcileError>>,
    /// Deployments with an order waiting for its first bid: dseq → the resource and since
    /// when (ms). The controller's bid watch wakes the resource when a bid lands.
    bid_waiters: Mutex<HashMap<u64, (crate::spec::ResourceKey, i64)>>,
    /// Told when a deployment starts waiting for its first bid, so that an idle bid watch
    /// starts looking at once instead of after its idle poll.
    bid_waiter_added: tokio::sync::Notify,
    /// The providers on chain with their audited attributes, and when they were read (ms).
    directory: tokio::sync::Mutex<Option<(i64, Arc<Vec<ProviderEntry>>)>>,
    /// The admin client of FunctionRuntime nodes (runtime contract v1).
    runtime_admin: std::sync::OnceLock<Arc<dyn crate::functions::admin::RuntimeAdmin>>,
    /// The admin client of Proxies (Pingap's admin API).
    proxy_admin: std::sync::OnceLock<Arc<dyn crate::proxy::ProxyAdmin>>,
}

/// A provider on chain as placement matching sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEntry {
    /// Its address.
    pub owner: String,
    /// The attributes it declares.
    pub attributes: Vec<(String, String)>,
    /// Per auditor, the attributes that auditor signed.
    pub audits: Vec<(String, Vec<(String, String)>)>,
}

impl ProviderEntry {
    /// Whether it meets `group`'s placement requirements (attributes and auditors; not its
    /// free capacity, which only its bid tells).
    pub fn matches(&self, group: &crate::sdl::GroupSpec) -> bool {
        group.requirements.matched_by(
            |auditor| self.audits.iter().any(|(a, _)| a == auditor),
            |key, value| {
                self.attributes
                    .iter()
                    .chain(self.audits.iter().flat_map(|(_, attrs)| attrs.iter()))
                    .any(|(k, v)| k == key && v == value)
            },
        )
    }
}

/// How long the provider directory is reused before it is read again.
const DIRECTORY_TTL_MS: i64 = 60_000;

/// A detached chain write in progress.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InFlight {
    /// `MsgCreateDeployment` of this dseq.
    Create(u64),
    /// `MsgCreateLease` for this group (dseq, gseq).
    Lease(u64, u32),
}

/// Schedules a resource for a reconcile now.
pub type Waker = Arc<dyn Fn(&crate::spec::ResourceKey) + Send + Sync>;

/// The chain's time per block, from heights sampled over time (mainnet's ~6 s until two
/// samples exist).
#[derive(Debug, Default)]
struct BlockClock {
    first: Option<(i64, i64)>,
    last: Option<(i64, i64)>,
}

/// Mainnet's block time, used until the chain has been watched for a while.
pub const DEFAULT_BLOCK_TIME_MS: f64 = 6_000.0;

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("owner", &self.chain.owner())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The parts of a [`Context`].
pub struct ContextParts {
    /// Specs, status, events.
    pub store: Arc<dyn Store>,
    /// Deployment intents.
    pub intents: Arc<dyn IntentStore>,
    /// Our record of each provider.
    pub records: Arc<dyn ProviderRecords>,
    /// The chain.
    pub chain: Arc<dyn AkashChain>,
    /// The providers' gateways.
    pub gateway: Arc<dyn ProviderGateway>,
    /// Spec → SDL.
    pub renderer: Arc<Renderer>,
    /// Secret values.
    pub secrets: Arc<dyn SecretSource>,
    /// HTTP health checks.
    pub probe: Arc<dyn HealthProbe>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Settings.
    pub config: ControllerConfig,
    /// Progress callback.
    pub progress: Option<ProgressHook>,
}

impl Context {
    /// Assembles a context.
    pub fn new(p: ContextParts) -> Context {
        Context {
            store: p.store,
            intents: p.intents,
            records: p.records,
            chain: p.chain,
            gateway: p.gateway,
            renderer: p.renderer,
            secrets: p.secrets,
            probe: p.probe,
            metrics: p.metrics,
            config: p.config,
            clock: Clock::new(),
            progress: p.progress,
            rendered: Mutex::new(HashMap::new()),
            heights: Mutex::new(BlockClock::default()),
            snapshots: super::snapshot::Snapshots::default(),
            dseqs: Mutex::new(HashMap::new()),
            inflight: Mutex::new(std::collections::HashSet::new()),
            waker: Mutex::new(None),
            failures: Mutex::new(HashMap::new()),
            bid_waiters: Mutex::new(HashMap::new()),
            bid_waiter_added: tokio::sync::Notify::new(),
            directory: tokio::sync::Mutex::new(None),
            runtime_admin: std::sync::OnceLock::new(),
            proxy_admin: std::sync::OnceLock::new(),
        }
    }

    /// Sets the admin client of Proxies (once).
    pub fn set_proxy_admin(&self, admin: Arc<dyn crate::proxy::ProxyAdmin>) {
        let _ = self.proxy_admin.set(admin);
    }

    /// The admin client of Proxies, when set.
    pub fn proxy_admin(&self) -> Option<Arc<dyn crate::proxy::ProxyAdmin>> {
        self.proxy_admin.get().cloned()
    }

    /// Sets the admin client of FunctionRuntime nodes (once).
    pub fn set_runtime_admin(&self, admin: Arc<dyn crate::functions::admin::RuntimeAdmin>) {
        let _ = self.runtime_admin.set(admin);
    }

    /// The admin client of FunctionRuntime nodes, when set.
    pub fn runtime_admin(&self) -> Option<Arc<dyn crate::functions::admin::RuntimeAdmin>> {
        self.runtime_admin.get().cloned()
    }

    /// Every provider registered on chain, with its audits, read at most once a minute (one
    /// reader at a time; the others wait for its answer).
    pub async fn provider_directory(
        &self,
    ) -> Result<Arc<Vec<ProviderEntry>>, crate::akash::client::ClientError> {
        let mut cached = self.directory.lock().await;
        let now = self.clock.now_ms();
        if let Some((at, dir)) = cached.as_ref() {
            if now - at < DIRECTORY_TTL_MS {
                return Ok(dir.clone());
            }
        }
        let mut entries = Vec::new();
        let mut key: Option<Vec<u8>> = None;
        loop {
            let page = self
                .chain
                .providers(Some(crate::akash::proto::PageRequest {
                    key: key.take().unwrap_or_default(),
                    limit: 500,
                    ..Default::default()
                }))
                .await?;
            for p in page.items {
                let audits = self
                    .chain
                    .provider_audits(&p.owner)
                    .await?
                    .into_iter()
                    .map(|a| {
                        let attrs = a.attributes.into_iter().map(|x| (x.key, x.value)).collect();
                        (a.auditor, attrs)
                    })
                    .collect();
                entries.push(ProviderEntry {
                    attributes: p.attributes.into_iter().map(|a| (a.key, a.value)).collect(),
                    owner: p.owner,
                    audits,
                });
            }
            match page.next_key {
                Some(k) if !k.is_empty() => key = Some(k),
                _ => break,
            }
        }
        let dir = Arc::new(entries);
        *cached = Some((now, dir.clone()));
        Ok(dir)
    }

    /// `dseq` has an order without bids: wake `key` as soon as one lands.
    pub fn wait_for_bids(&self, dseq: u64, key: &crate::spec::ResourceKey) {
        let now = self.clock.now_ms();
        let added = {
            let mut waiters = self.bid_waiters.lock().unwrap_or_else(|e| e.into_inner());
            match waiters.entry(dseq) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert((key.clone(), now));
                    true
                }
            }
        };
        if added {
            self.bid_waiter_added.notify_one();
        }
    }

    /// Waits until a deployment starts waiting for its first bid (or returns at once when one
    /// did since the last wait).
    pub async fn bid_waiter_added(&self) {
        self.bid_waiter_added.notified().await
    }

    /// `dseq` no longer waits for a first bid.
    pub fn stop_waiting_for_bids(&self, dseq: u64) {
        self.bid_waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&dseq);
    }

    /// The deployments waiting for a first bid, with their resource and since when (ms).
    pub fn bid_waiters(&self) -> Vec<(u64, crate::spec::ResourceKey, i64)> {
        self.bid_waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(d, (k, since))| (*d, k.clone(), *since))
            .collect()
    }

    /// Lets chain writes run detached, waking their resource when they end (the controller
    /// sets this; without it, reconciles wait for their writes).
    pub fn set_waker(&self, waker: Option<Waker>) {
        *self.waker.lock().unwrap_or_else(|e| e.into_inner()) = waker;
    }

    /// The waker, when writes may run detached.
    pub fn waker(&self) -> Option<Waker> {
        self.waker.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Marks a detached write as started; false when one runs already.
    pub fn start_inflight(&self, w: InFlight) -> bool {
        self.inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(w)
    }

    /// Marks a detached write as ended.
    pub fn end_inflight(&self, w: &InFlight) {
        self.inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(w);
    }

    /// Keeps how a detached write failed.
    pub fn record_failure(&self, w: InFlight, e: super::ReconcileError) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(w, e);
    }

    /// How a detached write failed, once.
    pub fn take_failure(&self, w: &InFlight) -> Option<super::ReconcileError> {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(w)
    }

    /// The last dseq chosen for `owner` by this process, if it chose one.
    pub fn last_dseq(&self, owner: &str) -> Option<u64> {
        let d = self.dseqs.lock().unwrap_or_else(|e| e.into_inner());
        d.get(owner).copied()
    }

    /// Chooses a dseq for a new deployment of `owner`: at least `at_least`, and above every
    /// dseq this process chose before, so that creates running at once never collide.
    pub fn claim_dseq(&self, owner: &str, at_least: u64) -> u64 {
        let mut d = self.dseqs.lock().unwrap_or_else(|e| e.into_inner());
        let last = d.entry(owner.to_owned()).or_insert(0);
        let dseq = at_least.max(last.saturating_add(1));
        *last = dseq;
        dseq
    }

    /// Whether a detached write runs.
    pub fn is_inflight(&self, w: &InFlight) -> bool {
        self.inflight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(w)
    }

    /// Records the chain's height now (the controller samples it at every resync).
    pub fn sample_height(&self, height: i64) {
        let now = self.clock.now_ms();
        let mut c = self.heights.lock().unwrap_or_else(|e| e.into_inner());
        if c.first.is_none() {
            c.first = Some((height, now));
        }
        c.last = Some((height, now));
    }

    /// The observed time per block in milliseconds.
    pub fn block_time_ms(&self) -> f64 {
        self.observed_block_time_ms()
            .unwrap_or(DEFAULT_BLOCK_TIME_MS)
    }

    /// When the block at `height` was made, estimated from the last sampled height and the
    /// observed block time (ms since the epoch); `None` before any sample.
    pub fn time_of_height(&self, height: i64) -> Option<i64> {
        let bt = self.observed_block_time_ms()?;
        let last = self
            .heights
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last?;
        Some(last.1 + ((height - last.0) as f64 * bt) as i64)
    }

    /// The time per block in milliseconds, once two heights were sampled.
    pub fn observed_block_time_ms(&self) -> Option<f64> {
        let c = self.heights.lock().unwrap_or_else(|e| e.into_inner());
        match (c.first, c.last) {
            (Some((h0, t0)), Some((h1, t1))) if h1 > h0 && t1 > t0 => {
                Some((t1 - t0) as f64 / (h1 - h0) as f64)
            }
            _ => None,
        }
    }

    /// The rendering of `uid` at `generation`, if made already.
    pub fn rendered_for(&self, uid: &str, generation: i64) -> Option<Arc<Rendered>> {
        let cache = self.rendered.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(uid)
            .filter(|r| r.generation == generation)
            .cloned()
    }

    /// Keeps a rendering (one per resource: the current generation's).
    pub fn remember_rendered(&self, uid: &str, r: Rendered) -> Arc<Rendered> {
        let r = Arc::new(r);
        self.rendered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(uid.to_owned(), r.clone());
        r
    }

    /// Forgets the rendering of a resource that is gone.
    pub fn forget_rendered(&self, uid: &str) {
        self.rendered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uid);
    }

    /// Aborts the process at a named failpoint when configured to (debug builds only): the
    /// crash-safety tests kill the daemon at every step of the lifecycle this way.
    pub fn crash_point(&self, name: &str) {
        #[cfg(debug_assertions)]
        if self.config.crash_at.as_deref() == Some(name) {
            eprintln!("af-operator: crash point {name} reached; aborting");
            std::process::abort();
        }
        #[cfg(not(debug_assertions))]
        let _ = name;
    }

    pub(crate) fn progress(&self, r: &Resource, what: Progress<'_>) {
        if let Some(p) = &self.progress {
            p(r, what);
        }
    }
}

/// The built-in encrypted vault, one project's values decrypted per rendering.
#[async_trait]
impl SecretSource for crate::secrets::SecretVault {
    async fn resolver(&self, project: &str) -> Result<Arc<dyn SecretResolver>, String> {
        crate::secrets::SecretVault::resolver(self, project)
            .await
            .map(|r| Arc::new(r) as Arc<dyn SecretResolver>)
            .map_err(|e| e.to_string())
    }

    async fn generate_if_missing(
        &self,
        project: &str,
        store: &str,
        key: &str,
    ) -> Result<bool, String> {
        let have = self
            .list(project, Some(store))
            .await
            .map_err(|e| e.to_string())?;
        if have.iter().any(|s| s.key == key) {
            return Ok(false);
        }
        let mut raw = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(raw.as_mut()).map_err(|e| format!("random: {e}"))?;
        let hex =
            zeroize::Zeroizing::new(raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
        self.set(project, store, key, hex.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        tracing::info!(
            project,
            store,
            key,
            "generated a value the operator keeps for itself"
        );
        Ok(true)
    }
}
