//! The HTTP surface: `/graphql` (POST, and WebSocket for subscriptions), `/graphiql`,
//! `/healthz` and `/readyz`, with authentication, per-token rate limits and a body limit
//! applied before GraphQL runs.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::http::{GraphiQLSource, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql::{Data, ErrorExtensionValues, ServerError, ServerResult};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Body;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;

use super::auth::{self, Caller};
use super::error::{retry_seconds, ApiError, ErrorCode};
use super::rate::RateLimiter;
use super::Api;

/// Marks a request that arrived over a WebSocket: its operations are rate-limited one by
/// one, since they do not pass through the HTTP handler.
#[derive(Debug, Clone)]
struct WebSocketSession {
    token_id: String,
}

/// Rate-limits every operation sent over a WebSocket connection.
pub(super) struct WebSocketRateLimit(pub(super) Arc<RateLimiter>);

impl ExtensionFactory for WebSocketRateLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(WebSocketRateLimitExtension(self.0.clone()))
    }
}

struct WebSocketRateLimitExtension(Arc<RateLimiter>);

#[async_trait::async_trait]
impl Extension for WebSocketRateLimitExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: async_graphql::Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<async_graphql::Request> {
        if let Some(session) = ctx.data_opt::<WebSocketSession>() {
            if let Err(retry_after) = self.0.check(&session.token_id) {
                let e = ApiError::RateLimited { retry_after }.to_graphql();
                return Err(ServerError {
                    message: e.message,
                    source: None,
                    locations: Vec::new(),
                    path: Vec::new(),
                    extensions: e.extensions,
                });
            }
        }
        next.run(ctx, request).await
    }
}

/// The routes.
pub(super) fn router(api: Api) -> Router {
    Router::new()
        .route("/graphql", post(graphql_post).get(graphql_ws))
        .route("/graphiql", get(graphiql))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(api)
}

fn error_response(e: &ApiError) -> Response {
    let status =
        StatusCode::from_u16(e.code().http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(e.to_response_json())).into_response();
    if let ApiError::RateLimited { retry_after } = e {
        if let Ok(v) = HeaderValue::from_str(&retry_seconds(*retry_after).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    if matches!(e.code(), ErrorCode::Unauthenticated) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

impl Api {
    async fn authenticate_header(&self, value: Option<&str>) -> Result<Caller, ApiError> {
        let token = auth::bearer(value.ok_or(ApiError::MissingToken)?)?;
        auth::authenticate(self.inner.tokens.as_ref(), &token).await
    }

    fn take_rate(&self, caller: &Caller) -> Result<(), ApiError> {
        match &self.inner.limiter {
            Some(l) => l
                .check(&caller.token_id)
                .map_err(|retry_after| ApiError::RateLimited { retry_after }),
            None => Ok(()),
        }
    }

    async fn handle_post(&self, headers: &HeaderMap, body: Body) -> Result<Response, ApiError> {
        let authorization = match headers.get(header::AUTHORIZATION) {
            Some(v) => Some(v.to_str().map_err(|_| ApiError::InvalidToken)?),
            None => None,
        };
        let caller = self.authenticate_header(authorization).await?;
        self.take_rate(&caller)?;
        let limit = self.inner.config.max_body_bytes;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        // The only failures here are the limit and a client that went away mid-body; the
        // latter never reads the answer.
        let bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| ApiError::PayloadTooLarge { limit })?;
        let request: async_graphql::Request = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::BadRequest(format!(
                "the body is not a GraphQL request (a JSON object with `query`, and optionally `variables` and `operationName`): {e}"
            ))
        })?;
        tracing::debug!(token = %caller.token_id, operation = ?request.operation_name, "graphql request");
        let mut response = self.inner.schema.execute(request.data(caller)).await;
        for e in &mut response.errors {
            classify(e);
        }
        Ok(Json(response).into_response())
    }

    async fn init_websocket(
        &self,
        header_caller: Option<Caller>,
        payload: serde_json::Value,
    ) -> async_graphql::Result<Data> {
        let caller = match header_caller {
            Some(c) => c,
            None => {
                // Browsers cannot set headers on a WebSocket: the token comes in the
                // connection_init payload instead, as `Authorization` or `token`.
                let field = |k: &str| payload.get(k).and_then(|v| v.as_str());
                let value = field("Authorization")
                    .or_else(|| field("authorization"))
                    .map(String::from)
                    .or_else(|| field("token").map(|t| format!("Bearer {t}")));
                self.authenticate_header(value.as_deref())
                    .await
                    .map_err(|e| e.to_graphql())?
            }
        };
        self.take_rate(&caller).map_err(|e| e.to_graphql())?;
        let mut data = Data::default();
        data.insert(WebSocketSession {
            token_id: caller.token_id.clone(),
        });
        data.insert(caller);
        Ok(data)
    }
}

/// Gives an error that async-graphql raised itself (parse, validation, limits) a code.
fn classify(e: &mut ServerError) {
    let has_code = e
        .extensions
        .as_ref()
        .is_some_and(|x| x.get("code").is_some());
    if has_code {
        return;
    }
    let m = e.message.to_ascii_lowercase();
    let code = if m.contains("too complex") || m.contains("too deep") || m.contains("recursion") {
        ErrorCode::QueryTooComplex
    } else {
        ErrorCode::BadRequest
    };
    e.extensions
        .get_or_insert_with(ErrorExtensionValues::default)
        .set("code", code.as_str());
}

async fn graphql_post(State(api): State<Api>, headers: HeaderMap, body: Body) -> Response {
    match api.handle_post(&headers, body).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

async fn graphql_ws(
    State(api): State<Api>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_caller = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let checked = match v.to_str() {
                Ok(v) => api.authenticate_header(Some(v)).await,
                Err(_) => Err(ApiError::InvalidToken),
            };
            match checked {
                Ok(c) => Some(c),
                Err(e) => return error_response(&e),
            }
        }
    };
    let max = api.inner.config.max_body_bytes;
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            let (sink, stream) = socket.split();
            let mut shutdown = api.inner.shutdown.subscribe();
            // At shutdown the input ends, which ends the connection's subscriptions and
            // closes the socket.
            let stream = stream.take_until(async move {
                let _ = shutdown.wait_for(|down| *down).await;
            });
            let schema = api.inner.schema.clone();
            GraphQLWebSocket::new_with_pair(sink, stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    api.init_websocket(header_caller, payload).await
                })
                .serve()
                .await;
        })
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql")
            .title("af-operator")
            .finish(),
    )
}

/// Prometheus text format; empty when the controllers do not run in this process.
async fn metrics(State(api): State<Api>) -> Response {
    let body = api.metrics().map(|m| m.encode()).unwrap_or_default();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// The store answers; now the controllers: off or standing by is ready; leading is ready
/// while the chain has answered within the last two minutes (or not yet been asked).
fn controllers_ready(api: &Api) -> Response {
    use crate::reconcile::metrics::Role;
    let Some(m) = api.metrics() else {
        return (StatusCode::OK, "ready\n").into_response();
    };
    match m.role() {
        Role::Off => (StatusCode::OK, "ready\ncontrollers: off\n").into_response(),
        Role::Standby => (StatusCode::OK, "ready\ncontrollers: standby\n").into_response(),
        Role::Leading => {
            let last = m.chain_last_answer_ms();
            let age_ms = chrono::Utc::now().timestamp_millis() - last;
            if last == 0 || age_ms <= 120_000 {
                (StatusCode::OK, "ready\ncontrollers: leading\n").into_response()
            } else {
                tracing::warn!(
                    seconds = age_ms / 1000,
                    "readyz: the chain has not answered"
                );
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "controllers: leading, but the chain has not answered for {} s\n",
                        age_ms / 1000
                    ),
                )
                    .into_response()
            }
        }
    }
}

async fn readyz(State(api): State<Api>) -> Response {
    let check = tokio::time::timeout(Duration::from_secs(2), api.inner.store.latest_change()).await;
    match check {
        Ok(Ok(_)) => controllers_ready(&api),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readyz: the store is unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
        Err(_) => {
            tracing::warn!("readyz: the store did not answer within 2s");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response()
        }
    }
}
