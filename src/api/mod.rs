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
//! - [`rate`]: per-token token buckets. [`error`]: errors with stable `extensions.code`s.
//! - Subscriptions follow the store's shared [`ChangeFeed`](crate::store::ChangeFeed).
//! - [`render`]: [`SdlRenderer`], the hook through which `renderedSdl` is answered.
//! - `http`: the axum routes (`/graphql`, `/graphiql`, `/healthz`, `/readyz`).
//!
//! [`serve`] is the one entry point that `af-operator serve` and the tests call.

pub mod apply;
pub mod auth;
pub mod error;
mod http;
pub mod rate;
pub mod render;
pub mod schema;
pub mod types;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::store::{ChangeFeed, Store, TokenStore};
pub use render::SdlRenderer;
use schema::{ApiContext, ApiSchema, QueryLimits};

/// Default request body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// How the API limits its callers.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiConfig {
    /// Largest request body (and WebSocket message) accepted, in bytes.
    pub max_body_bytes: usize,
    /// Per-token request rate; `None` disables rate limiting.
    pub rate_limit: Option<rate::RateLimit>,
    /// Query depth and complexity limits.
    pub limits: QueryLimits,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            rate_limit: Some(rate::RateLimit {
                per_second: 20.0,
                burst: 100,
            }),
            limits: QueryLimits::default(),
        }
    }
}

struct Inner {
    schema: ApiSchema,
    store: Arc<dyn Store>,
    tokens: Arc<dyn TokenStore>,
    limiter: Option<Arc<rate::RateLimiter>>,
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
        let schema = schema::build(
            context,
            config.limits,
            limiter
                .as_ref()
                .map(|l| http::WebSocketRateLimit(l.clone())),
        );
        Api {
            inner: Arc::new(Inner {
                schema,
                store,
                tokens,
                limiter,
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
    let app = api.router();
    let signal_api = api.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: finishing in-flight requests");
            signal_api.shut_down();
        })
        .await
}
