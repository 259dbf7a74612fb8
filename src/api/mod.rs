//! The GraphQL API over HTTP: the platform's backend and dashboard enqueue desired state
//! here, read resources with their status, and follow changes live.
//!
//! # Layout
//!
//! - [`schema`]: queries, mutations and subscriptions (async-graphql) over the store.
//! - [`types`]: the GraphQL types; their doc comments are the descriptions in
//!   `schema.graphql`, which [`schema::sdl`] generates and a test keeps current.
//! - [`apply`]: the write path: documents through the same loader and `Store::apply` as
//!   `af-operator apply`, plus the project rules of tokens.
//! - [`auth`]: tokens (`af_…`, stored as BLAKE3 digests) and the [`auth::Caller`] they
//!   authenticate, scoped to one project or admin.
//! - [`rate`]: token buckets, per token and (for failed authentications) per client address.
//!   [`shape`]: a request's root fields, mutations and aliases, counted before it runs.
//!   [`error`]: errors with stable `extensions.code`s.
//! - Subscriptions follow the store's shared [`ChangeFeed`](crate::store::ChangeFeed).
//! - [`render`]: [`SdlRenderer`], the hook through which `renderedSdl` is answered.
//! - `http`: the axum routes (`/graphql`, `/graphiql`, `/healthz`, `/readyz`).
//!
//! [`serve`] is the one entry point that `af-operator serve` and the tests call.

pub mod apply;
pub mod auth;
pub mod error;
mod http;
pub use http::Session;
pub mod rate;
pub mod render;
pub mod schema;
pub mod shape;
pub mod types;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::store::{ChangeFeed, Store, TokenStore};
pub use render::SdlRenderer;
use schema::{ApiContext, ApiSchema, QueryLimits};

/// Default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// How WebSocket connections are limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebSocketLimits {
    /// A connection that sends no `connection_init` within this is closed (4408).
    pub init_timeout: Duration,
    /// The most connections open at once from one client address.
    pub per_address: usize,
    /// The most connections open at once with one token.
    pub per_token: usize,
    /// How often an open connection's token is looked up again (besides before every
    /// operation); a revoked token's connections close (4403).
    pub token_recheck: Duration,
}

impl Default for WebSocketLimits {
    fn default() -> Self {
        WebSocketLimits {
            init_timeout: Duration::from_secs(10),
            per_address: 64,
            per_token: 32,
            token_recheck: Duration::from_secs(2),
        }
    }
}

/// How the API limits its callers.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    /// Largest request body (and WebSocket message) accepted, in bytes.
    pub max_body_bytes: usize,
    /// Per-token rate of operations (each root field of a request counts); `None` disables
    /// rate limiting.
    pub rate_limit: Option<rate::RateLimit>,
    /// Per-client-address rate of failed authentications, checked before a token is
    /// looked up; `None` disables it.
    pub address_rate_limit: Option<rate::RateLimit>,
    /// Query depth, complexity, alias and mutation limits.
    pub limits: QueryLimits,
    /// WebSocket connection limits.
    pub websocket: WebSocketLimits,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            rate_limit: Some(rate::RateLimit {
                per_second: 20.0,
                burst: 100,
            }),
            address_rate_limit: Some(rate::RateLimit {
                per_second: 2.0,
                burst: 20,
            }),
            limits: QueryLimits::default(),
            websocket: WebSocketLimits::default(),
        }
    }
}

struct Inner {
    schema: ApiSchema,
    store: Arc<dyn Store>,
    tokens: Arc<dyn TokenStore>,
    limiter: Option<Arc<rate::RateLimiter>>,
    address_limiter: Option<rate::RateLimiter>,
    sockets_by_address: Arc<http::SocketCounts>,
    sockets_by_token: Arc<http::SocketCounts>,
    config: ApiConfig,
    shutdown: watch::Sender<bool>,
    metrics: std::sync::OnceLock<Arc<crate::reconcile::metrics::Metrics>>,
}

/// The API: schema, token store, limits. Cheap to clone.
#[derive(Clone)]
pub struct Api {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Api {
    /// An API over `store`, authenticating with `tokens`. `renderer` answers `renderedSdl`
    /// (null without one). Subscriptions follow a change feed of the API's own; use
    /// [`Api::with_feed`] to share one with other consumers.
    pub fn new(
        store: Arc<dyn Store>,
        tokens: Arc<dyn TokenStore>,
        renderer: Option<Arc<dyn SdlRenderer>>,
        config: ApiConfig,
    ) -> Api {
        let feed = ChangeFeed::new(store.clone());
        Api::with_feed(store, tokens, renderer, config, feed)
    }

    /// As [`Api::new`], with subscriptions following `feed` (a clone of the feed the
    /// reconciler watches, so that the store is watched once).
    pub fn with_feed(
        store: Arc<dyn Store>,
        tokens: Arc<dyn TokenStore>,
        renderer: Option<Arc<dyn SdlRenderer>>,
        config: ApiConfig,
        feed: ChangeFeed,
    ) -> Api {
        let (shutdown, shutdown_rx) = watch::channel(false);
        let limiter = config
            .rate_limit
            .map(|l| Arc::new(rate::RateLimiter::new(l)));
        let context = ApiContext {
            store: store.clone(),
            renderer,
            feed,
            shutdown: shutdown_rx,
        };
        let guard = http::RequestGuardFactory(Arc::new(http::RequestGuard {
            limiter: limiter.clone(),
            limits: config.limits,
        }));
        let schema = schema::build(context, config.limits, Some(guard));
        Api {
            inner: Arc::new(Inner {
                schema,
                store,
                tokens,
                limiter,
                address_limiter: config.address_rate_limit.map(rate::RateLimiter::new),
                sockets_by_address: Arc::default(),
                sockets_by_token: Arc::default(),
                config,
                shutdown,
                metrics: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Serves the controllers' metrics at `/metrics`.
    pub fn with_metrics(self, metrics: Arc<crate::reconcile::metrics::Metrics>) -> Api {
        let _ = self.inner.metrics.set(metrics);
        self
    }

    /// The metrics served at `/metrics`, if any.
    pub fn metrics(&self) -> Option<&Arc<crate::reconcile::metrics::Metrics>> {
        self.inner.metrics.get()
    }

    /// The HTTP routes: `/graphql`, `/graphiql`, `/healthz`, `/readyz`, `/metrics`.
    pub fn router(&self) -> axum::Router {
        http::router(self.clone())
    }

    /// The GraphQL schema, for executing requests directly.
    pub fn schema(&self) -> &ApiSchema {
        &self.inner.schema
    }

    /// Ends every subscription (the change feed's watcher stops once its last user is gone).
    pub fn shut_down(&self) {
        self.inner.shutdown.send_replace(true);
    }
}

/// Serves the API on `listener` until `shutdown` completes; then stops accepting, ends the
/// subscriptions and waits for in-flight requests to finish.
pub async fn serve(
    listener: TcpListener,
    api: Api,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Client addresses reach the handlers for the per-address limits.
    let app = api
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    let signal_api = api.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            signal_api.shut_down();
        })
        .await
}
