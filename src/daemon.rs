//! The composition root: one [`DaemonConfig`], built once at start-up, and [`start`], which
//! builds the [`Context`] (store, chain + batcher, gateways, secrets, health probe, metrics)
//! and runs the API and the controllers in one process. `serve`, `demo` and the tests call
//! it; it is the only place that names concrete implementations.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::akash::client::gateway::{GatewayAuth, GatewayOptions};
use crate::akash::client::{AkashChain, GatewayPool, RpcChain, RpcConfig};
use crate::akash::keys::Wallet;
use crate::api::{Api, ApiConfig};
use crate::reconcile::context::{ContextParts, ProgressHook, SecretSource};
use crate::reconcile::health::{IngressMap, Resolve};
use crate::reconcile::metrics::Metrics;
use crate::reconcile::{Context, Controller, ControllerConfig};
use crate::render::{Renderer, TemplateSource};
use crate::store::sql::SqlStore;
use crate::store::LeaderConfig;

/// How to reach Akash and as whom.
pub struct ChainConfig {
    /// RPC endpoints, failing over in order.
    pub endpoints: Vec<String>,
    /// The chain id the endpoints must serve (`None`: whatever they serve).
    pub chain_id: Option<String>,
    /// The tenant's wallet.
    pub wallet: Wallet,
    /// Fee price per gas unit in uakt.
    pub gas_price_uakt: f64,
    /// Simulated gas × this.
    pub gas_adjustment: f64,
    /// How often a broadcast tx is looked for in blocks.
    pub tx_poll: Duration,
    /// With a devnet: its control URL (hostnames of leases resolve through its ingress map).
    pub devnet_control: Option<String>,
}

impl std::fmt::Debug for ChainConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainConfig")
            .field("endpoints", &self.endpoints)
            .field("chain_id", &self.chain_id)
            .field("owner", &self.wallet.address())
            .finish_non_exhaustive()
    }
}

/// Everything the daemon needs, built once.
pub struct DaemonConfig {
    /// The store's URL.
    pub database_url: String,
    /// Serve the API here (`None`: no API).
    pub listen: Option<SocketAddr>,
    /// The API's limits.
    pub api: ApiConfig,
    /// Run the controllers against this chain (`None`: the API only).
    pub chain: Option<ChainConfig>,
    /// The controllers' settings.
    pub controller: ControllerConfig,
    /// SDL templates.
    pub templates: TemplateSource,
    /// Secret values for rendering.
    pub secrets: Arc<dyn SecretSource>,
    /// Called on every phase transition.
    pub progress: Option<ProgressHook>,
    /// The leader election among daemons sharing the store.
    pub leader: LeaderConfig,
}

/// This daemon's name in the leader election: host and process id.
fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!(
        "{host}/{}/{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Waits until leadership is `want`. When the election has ended (SQLite: the lock is held
/// for the process's life) and the value is not `want`, it never will be.
async fn until(rx: &mut watch::Receiver<bool>, want: bool) {
    let reached = rx.wait_for(|l| *l == want).await.is_ok();
    if !reached && *rx.borrow() != want {
        std::future::pending::<()>().await;
    }
}

/// Runs the controllers while this daemon leads; a fresh controller (queue, backoff) per term.
async fn lead(
    ctx: Arc<Context>,
    leader: crate::store::LeaderHandle,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut leading = leader.is_leader();
    loop {
        metrics.set_leader(false);
        tokio::select! {
            _ = until(&mut leading, true) => {},
            _ = shutdown.wait_for(|s| *s) => break,
        }
        tracing::info!("leading: the controllers start");
        metrics.set_leader(true);
        let (stop_tx, stop_rx) = watch::channel(false);
        let controller = Controller::new(ctx.clone());
        // The DNS controller runs in the same term: one writer of the zones per store.
        let dns = crate::dns::zone::ZoneController::new(
            ctx.store.clone(),
            ctx.secrets.clone(),
            Arc::new(crate::dns::zone::RealProviders::default()),
            Arc::new(crate::dns::zone::SystemLookup),
            ctx.config.dns.clone(),
        );
        let dns_run = tokio::spawn(dns.run(stop_rx.clone()));
        // The Function reconciler too: functions live on the runtimes' nodes.
        let functions_run = ctx.runtime_admin().map(|admin| {
            let fc = crate::functions::controller::FunctionController::with_progress(
                ctx.store.clone(),
                ctx.secrets.clone(),
                admin,
                ctx.config.functions.clone(),
                ctx.progress.clone(),
            );
            tokio::spawn(fc.run(stop_rx.clone()))
        });
        let run = tokio::spawn(controller.run(stop_rx));
        let stopping = tokio::select! {
            _ = until(&mut leading, false) => false,
            _ = shutdown.wait_for(|s| *s) => true,
        };
        let _ = stop_tx.send(true);
        let _ = run.await;
        let _ = dns_run.await;
        if let Some(f) = functions_run {
            let _ = f.await;
        }
        metrics.set_leader(false);
        if stopping || *shutdown.borrow() {
            break;
        }
        tracing::warn!("leadership lost: the controllers stopped; standing by");
    }
    if let Err(e) = leader.resign().await {
        tracing::warn!(error = %e, "cannot hand the leadership over");
    }
}

/// A running daemon.
pub struct Daemon {
    /// Where the API listens.
    pub api_addr: Option<SocketAddr>,
    /// The controllers' context, when they run.
    pub context: Option<Arc<Context>>,
    /// The store.
    pub store: Arc<SqlStore>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("api_addr", &self.api_addr)
            .finish_non_exhaustive()
    }
}

impl Daemon {
    /// Waits until every task ended (after `shutdown` turned true).
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
        self.store.close().await;
    }
}

/// Builds the context and starts the API and the controllers; they stop when `shutdown`
/// turns true.
pub async fn start(cfg: DaemonConfig, shutdown: watch::Receiver<bool>) -> anyhow::Result<Daemon> {
    let store = Arc::new(crate::store::open(&cfg.database_url).await?);
    let ipfs_gateway = cfg
        .controller
        .ipfs_gateway
        .clone()
        .or_else(|| cfg.chain.as_ref().and_then(|c| c.devnet_control.clone()));
    let renderer = Arc::new(Renderer::new(cfg.templates.clone()).with_ipfs_gateway(ipfs_gateway));
    let metrics = Arc::new(Metrics::new());
    let mut tasks = Vec::new();

    let context = match cfg.chain {
        None => None,
        Some(chain_cfg) => {
            let rpc = RpcConfig {
                endpoints: chain_cfg.endpoints.clone(),
                chain_id: chain_cfg.chain_id.clone(),
                gas_price_uakt: chain_cfg.gas_price_uakt,
                gas_adjustment: chain_cfg.gas_adjustment,
                poll_interval: chain_cfg.tx_poll,
                // A reconcile fails (transient, `ChainUnavailable`) after a few seconds of a
                // chain that does not answer, instead of holding its worker for half a minute:
                // the work queue retries it with backoff, and the status says why meanwhile.
                retry_for: Duration::from_secs(5),
                ..RpcConfig::default()
            };
            let wallet = chain_cfg.wallet.clone();
            let chain: Arc<dyn AkashChain> = Arc::new(
                RpcChain::connect(rpc, wallet.clone())
                    .await
                    .with_context(|| {
                        format!("cannot reach Akash at {}", chain_cfg.endpoints.join(", "))
                    })?,
            );
            let gateway = Arc::new(GatewayPool::new(
                chain.clone(),
                GatewayAuth::Jwt(wallet),
                GatewayOptions::default(),
            ));
            let resolve = match &chain_cfg.devnet_control {
                Some(url) => Resolve::Devnet(url.clone()),
                None => Resolve::Dns,
            };
            let ingress = Arc::new(IngressMap::new(resolve));
            let ctx = Arc::new(Context::new(ContextParts {
                store: store.clone(),
                intents: store.clone(),
                records: store.clone(),
                chain,
                gateway,
                renderer: renderer.clone(),
                secrets: cfg.secrets.clone(),
                probe: ingress.clone(),
                metrics: metrics.clone(),
                config: cfg.controller.clone(),
                progress: cfg.progress.clone(),
            }));
            // Function bundles can be a few MiB to fetch and hash: a PUT gets time.
            ctx.set_runtime_admin(Arc::new(crate::functions::admin::HttpAdmin::new(
                ingress,
                Duration::from_secs(60),
            )));
            ctx.set_proxy_admin(Arc::new(crate::proxy::HttpPingapAdmin::new(
                Duration::from_secs(10),
            )));
            // One reconciling daemon per store: a lease on PostgreSQL (standbys take over),
            // a lock file on SQLite (a second daemon is refused).
            let leader = crate::store::elect(&store, &holder_name(), cfg.leader.clone())
                .await
                .context("cannot take part in the leader election")?;
            let sd = shutdown.clone();
            let m = metrics.clone();
            let c = ctx.clone();
            tasks.push(tokio::spawn(async move { lead(c, leader, m, sd).await }));
            Some(ctx)
        }
    };

    let mut api_addr = None;
    if let Some(addr) = cfg.listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        api_addr = Some(listener.local_addr()?);
        let api = Api::new(
            store.clone(),
            store.clone(),
            Some(renderer.clone()),
            cfg.api.clone(),
        )
        .with_metrics(metrics.clone());
        let mut sd = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            let stop = async move {
                let _ = sd.wait_for(|s| *s).await;
            };
            if let Err(e) = crate::api::serve(listener, api, stop).await {
                tracing::error!(error = %e, "the API server failed");
            }
        }));
    }
    Ok(Daemon {
        api_addr,
        context,
        store,
        tasks,
    })
}
