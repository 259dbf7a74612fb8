//! `serve` (the HTTP API) and `graphql-schema` (writes or checks `schema.graphql`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::Io;
use crate::api::rate::RateLimit;
use crate::api::schema::QueryLimits;
use crate::api::{self, Api, ApiConfig};

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
    /// Sustained requests per second per token; 0 disables rate limiting.
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
    /// A directory whose SDL templates replace the built-in ones (for `renderedSdl`).
    #[arg(long, env = "AF_SDL_TEMPLATES")]
    pub sdl_templates: Option<std::path::PathBuf>,
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
            },
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

/// Runs `serve` until ctrl-c or SIGTERM.
pub async fn serve(args: &ServeArgs, database_url: &str, io: &mut Io<'_>) -> i32 {
    let store = match crate::store::open(database_url).await {
        Ok(s) => Arc::new(s),
        Err(e) => {
            let _ = writeln!(io.stderr, "error: {e}");
            return 1;
        }
    };
    let shutdown = shutdown_signal();
    let addr = args.address();
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            let _ = writeln!(io.stderr, "error: cannot listen on {addr}: {e}");
            store.close().await;
            return 1;
        }
    };
    let local = listener.local_addr().unwrap_or(addr);
    let _ = writeln!(
        io.stderr,
        "af-operator: serving GraphQL on http://{local}/graphql (GraphiQL at /graphiql, health at /healthz and /readyz)"
    );
    tracing::info!(address = %local, "serving");
    let renderer =
        crate::render::Renderer::new(crate::render::source_from(args.sdl_templates.as_deref()));
    let api = Api::new(
        store.clone(),
        store.clone(),
        Some(Arc::new(renderer)),
        args.config(),
    );
    let result = api::serve(listener, api, shutdown).await;
    store.close().await;
    match result {
        Ok(()) => {
            let _ = writeln!(io.stderr, "af-operator: stopped");
            0
        }
        Err(e) => {
            let _ = writeln!(io.stderr, "error: the server failed: {e}");
            1
        }
    }
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
