//! `serve` (the HTTP API) and `graphql-schema` (writes or checks `schema.graphql`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::Io;
use crate::api::rate::RateLimit;
use crate::api::schema::QueryLimits;
use crate::api::{self, ApiConfig};

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on, e.g. `0.0.0.0:8080`. Default: `0.0.0.0:$PORT` when PORT is
    /// set (as hosting platforms do), else 127.0.0.1:8080.
    #[arg(long, env = "AF_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// The port a hosting platform assigns; used (on 0.0.0.0) when `--listen` is not given.
    #[arg(long, env = "PORT")]
    pub port: Option<u16>,
    /// The largest request body (and WebSocket message) accepted, in bytes.
    #[arg(long, default_value_t = api::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Sustained operations per second per token (each root field of a request counts);
    /// 0 disables rate limiting.
    #[arg(long, default_value_t = 20.0)]
    pub rate_limit: f64,
    /// Requests a token may make at once after a quiet period.
    #[arg(long, default_value_t = 100)]
    pub rate_burst: u32,
    /// The deepest query nesting allowed.
    #[arg(long, default_value_t = QueryLimits::default().max_depth)]
    pub max_depth: usize,
    /// The largest query complexity allowed (each field 1; lists multiply by their limit).
    #[arg(long, default_value_t = QueryLimits::default().max_complexity)]
    pub max_complexity: usize,
    /// The most aliased fields in one request.
    #[arg(long, default_value_t = QueryLimits::default().max_aliases)]
    pub max_aliases: usize,
    /// The most mutations in one request (each also counts against the rate limit).
    #[arg(long, default_value_t = QueryLimits::default().max_mutations)]
    pub max_mutations: usize,
    /// A directory whose SDL templates replace the built-in ones (for `renderedSdl`).
    #[arg(long, env = "AF_SDL_TEMPLATES")]
    pub sdl_templates: Option<std::path::PathBuf>,
    /// Run the controllers (the reconcile loop) beside the API; `--controllers=false` serves
    /// the API only.
    #[arg(long, env = "AF_CONTROLLERS", default_value_t = true, action = clap::ArgAction::Set)]
    pub controllers: bool,
    /// The chain: mainnet, testnet, devnet or RPC URL(s), comma-separated.
    #[arg(long, env = "AF_AKASH_NETWORK", default_value = "mainnet")]
    pub network: String,
    /// A file holding the wallet's BIP39 mnemonic.
    #[arg(long, env = "AF_AKASH_MNEMONIC_FILE")]
    pub mnemonic_file: Option<PathBuf>,
    /// The environment variable holding the mnemonic.
    #[arg(long, default_value = "AF_AKASH_MNEMONIC")]
    pub mnemonic_env: String,
    /// A keyring file (the mnemonic sealed by `akash keyring create`).
    #[arg(long, env = "AF_AKASH_KEYRING")]
    pub keyring: Option<PathBuf>,
    /// The environment variable holding the keyring's passphrase.
    #[arg(long, default_value = "AF_AKASH_KEYRING_PASSPHRASE")]
    pub keyring_passphrase_env: String,
    /// The master key of the secret vault (else `AF_MASTER_KEY`).
    #[arg(long, env = "AF_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Concurrent reconciles.
    #[arg(long, env = "AF_WORKERS", default_value_t = 16)]
    pub workers: usize,
    /// Every resource is looked at again at least this often.
    #[arg(long, env = "AF_RESYNC", default_value = "60s", value_parser = super::parse_timeout)]
    pub resync: std::time::Duration,
    /// The longest retry interval after failures.
    #[arg(long, env = "AF_MAX_BACKOFF", default_value = "5m", value_parser = super::parse_timeout)]
    pub max_backoff: std::time::Duration,
    /// A deployment of ours whose resource is gone is closed after this.
    #[arg(long, env = "AF_ORPHAN_GRACE", default_value = "10m", value_parser = super::parse_timeout)]
    pub orphan_grace: std::time::Duration,
    /// After the first bid on an order, wait this long for others before choosing.
    #[arg(long, env = "AF_BID_WINDOW", default_value = "5s", value_parser = super::parse_timeout)]
    pub bid_window: std::time::Duration,
    /// With a devnet: its control URL, through which lease hostnames are resolved for
    /// health checks (default for `--network devnet`: http://127.0.0.1:26680).
    #[arg(long, env = "AF_DEVNET_CONTROL")]
    pub devnet_control: Option<String>,
}

impl ServeArgs {
    /// The address to listen on: `--listen`, else `0.0.0.0:$PORT`, else the default.
    pub fn address(&self) -> SocketAddr {
        match (self.listen, self.port) {
            (Some(a), _) => a,
            (None, Some(p)) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, p)),
            (None, None) => SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
        }
    }

    /// The API's limits.
    pub fn config(&self) -> ApiConfig {
        ApiConfig {
            max_body_bytes: self.max_body_bytes,
            rate_limit: (self.rate_limit > 0.0).then_some(RateLimit {
                per_second: self.rate_limit,
                burst: self.rate_burst,
            }),
            limits: QueryLimits {
                max_depth: self.max_depth,
                max_complexity: self.max_complexity,
                max_aliases: self.max_aliases,
                max_mutations: self.max_mutations,
            },
            ..ApiConfig::default()
        }
    }
}

/// Installs the ctrl-c and SIGTERM handlers at once (so a signal that arrives while the
/// server starts is not lost) and returns a future that completes on either.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(term) => {},
                _ = wait(int) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The chain side of the daemon's configuration, from the flags (the wallet is loaded here,
/// once; the mnemonic never leaves the `Wallet`).
fn chain_config(args: &ServeArgs) -> anyhow::Result<crate::daemon::ChainConfig> {
    use crate::akash::client::wallet::WalletSource;
    use crate::akash::client::Network;
    let network: Network = args.network.parse()?;
    let source = WalletSource::from_flags(
        args.keyring.as_deref(),
        &args.keyring_passphrase_env,
        args.mnemonic_file.as_deref(),
        &args.mnemonic_env,
    );
    let wallet = source.load().map_err(|e| {
        anyhow::anyhow!("{e} (the controllers sign with this wallet; `--controllers=false` serves the API only)")
    })?;
    let devnet_control = args
        .devnet_control
        .clone()
        .or_else(|| (args.network == "devnet").then(|| "http://127.0.0.1:26680".to_string()));
    Ok(crate::daemon::ChainConfig {
        endpoints: network.endpoints(),
        chain_id: network.chain_id().map(str::to_string),
        wallet,
        gas_price_uakt: 0.025,
        gas_adjustment: 1.3,
        tx_poll: std::time::Duration::from_millis(500),
        devnet_control,
    })
}

async fn secret_source(
    args: &ServeArgs,
    database_url: &str,
) -> anyhow::Result<Arc<dyn crate::reconcile::context::SecretSource>> {
    use crate::secrets::{MasterKey, SecretVault, MASTER_KEY_ENV};
    let key = match (&args.master_key_file, std::env::var(MASTER_KEY_ENV).ok()) {
        (Some(path), _) => Some(MasterKey::from_file(path)?),
        (None, Some(text)) if !text.trim().is_empty() => {
            Some(MasterKey::parse(&text, MASTER_KEY_ENV)?)
        }
        _ => None,
    };
    Ok(match key {
        Some(key) => {
            let store = crate::store::open(database_url).await?;
            Arc::new(SecretVault::new(Arc::new(store), key))
        }
        // Without a master key every secretRef is reported as SecretMissing.
        None => Arc::new(crate::reconcile::context::StaticSecrets(Arc::new(
            crate::render::FileSecrets::default(),
        ))),
    })
}

/// Runs `serve` (the API and, unless `--controllers=false`, the controllers) until ctrl-c or
/// SIGTERM.
pub async fn serve(args: &ServeArgs, database_url: &str, io: &mut Io<'_>) -> i32 {
    match serve_inner(args, database_url, io).await {
        Ok(()) => {
            let _ = writeln!(io.stderr, "af-operator: stopped");
            0
        }
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e:#}");
            1
        }
    }
}

async fn serve_inner(args: &ServeArgs, database_url: &str, io: &mut Io<'_>) -> anyhow::Result<()> {
    let signal = shutdown_signal();
    let chain = if args.controllers {
        Some(chain_config(args)?)
    } else {
        None
    };
    let secrets = secret_source(args, database_url).await?;
    let controller = crate::reconcile::ControllerConfig {
        workers: args.workers,
        resync: args.resync,
        max_backoff: args.max_backoff,
        orphan_grace: args.orphan_grace,
        timing: crate::reconcile::plan::Timing {
            bid_window: args.bid_window,
            ..crate::reconcile::plan::Timing::default()
        },
        crash_at: std::env::var("AF_CRASH_AT")
            .ok()
            .filter(|_| cfg!(debug_assertions)),
        ..crate::reconcile::ControllerConfig::default()
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let daemon = crate::daemon::start(
        crate::daemon::DaemonConfig {
            database_url: database_url.to_string(),
            listen: Some(args.address()),
            api: args.config(),
            chain,
            controller,
            templates: crate::render::source_from(args.sdl_templates.as_deref()),
            secrets,
            progress: None,
            leader: Default::default(),
        },
        stop_rx,
    )
    .await?;
    let local = daemon.api_addr.unwrap_or_else(|| args.address());
    let _ = writeln!(
        io.stderr,
        "af-operator: serving GraphQL on http://{local}/graphql (GraphiQL at /graphiql, health at /healthz and /readyz, metrics at /metrics){}",
        if args.controllers { "; controllers running" } else { "" }
    );
    tracing::info!(address = %local, controllers = args.controllers, "serving");
    signal.await;
    let _ = stop_tx.send(true);
    daemon.wait().await;
    Ok(())
}

/// Arguments of `graphql-schema`.
#[derive(Debug, Args)]
pub struct GraphqlSchemaArgs {
    /// The file to write; `-` prints to standard output.
    #[arg(long, default_value = "schema.graphql")]
    pub out: PathBuf,
    /// Only check that the file is current; exit 1 when it differs.
    #[arg(long)]
    pub check: bool,
}

/// Runs `graphql-schema`.
pub fn graphql_schema(args: &GraphqlSchemaArgs, io: &mut Io<'_>) -> i32 {
    let sdl = api::schema::sdl();
    if args.out.as_os_str() == "-" {
        let _ = write!(io.stdout, "{sdl}");
        return 0;
    }
    let current = std::fs::read_to_string(&args.out).ok();
    if current.as_deref() == Some(sdl.as_str()) {
        return 0;
    }
    if args.check {
        let _ = writeln!(
            io.stderr,
            "{} is stale: run `af-operator graphql-schema --out {}`",
            args.out.display(),
            args.out.display()
        );
        return 1;
    }
    match std::fs::write(&args.out, sdl) {
        Ok(()) => {
            let _ = writeln!(io.stdout, "wrote {}", args.out.display());
            0
        }
        Err(e) => {
            let _ = writeln!(io.stderr, "error: cannot write {}: {e}", args.out.display());
            1
        }
    }
}
