//! The HTTP surface: `/graphql` (POST, and WebSocket for subscriptions), `/graphiql`,
//! `/healthz` and `/readyz`, with authentication, per-token rate limits and a body limit
//! applied before GraphQL runs, a per-address limit on failed authentications before that,
//! and caps on WebSocket connections.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextPrepareRequest,
};
use async_graphql::http::{GraphiQLSource, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Data, ErrorExtensionValues, ServerError, ServerResult, Variables};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, Extensions, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::{SinkExt, StreamExt};
use tokio::sync::{oneshot, Notify};

use super::auth::{self, Caller};
use super::error::{retry_seconds, ApiError, ErrorCode};
use super::rate::RateLimiter;
use super::schema::QueryLimits;
use super::{shape, Api};
use crate::store::TokenStore;

/// The read and write buffers of a WebSocket connection, in bytes.
const WEBSOCKET_BUFFER: usize = 8 * 1024;

/// Refused when a client (address) or a token holds more WebSocket connections.
fn too_many(limit: usize) -> ApiError {
    ApiError::TooManyConnections { limit }
}

fn server_error(e: &ApiError) -> ServerError {
    let e = e.to_graphql();
    ServerError {
        message: e.message,
        source: None,
        locations: Vec::new(),
        path: Vec::new(),
        extensions: e.extensions,
    }
}

/// Open WebSocket connections per key (client address or token id).
#[derive(Debug, Default)]
pub(super) struct SocketCounts(Mutex<HashMap<String, usize>>);

/// One open connection counted under a key; uncounted when dropped.
#[derive(Debug)]
pub(super) struct SocketSlot {
    counts: Arc<SocketCounts>,
    key: String,
}

impl SocketCounts {
    /// A slot for one more connection under `key`, unless `max` are open.
    fn acquire(self: &Arc<Self>, key: &str, max: usize) -> Option<SocketSlot> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key.to_string()).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(SocketSlot {
            counts: self.clone(),
            key: key.to_string(),
        })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut map = self.counts.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// A WebSocket connection's authentication. Its token is looked up again before every
/// operation, before every change a subscription delivers, and every
/// [`WebSocketLimits::token_recheck`](super::WebSocketLimits); once it is unknown or
/// revoked, the connection closes.
pub struct Session {
    caller: Caller,
    /// The token's digest, to look it up again (never logged).
    digest: String,
    tokens: Arc<dyn TokenStore>,
    revoked: Notify,
    _slot: Option<SocketSlot>,
}

impl Session {
    /// Looks the token up again: true while it is valid. When it is not, the connection
    /// is told to close. A failed look-up counts as valid (it is logged; the next decides).
    pub(super) async fn verify(&self) -> Result<bool, ApiError> {
        let valid = still_valid(self.tokens.as_ref(), &self.digest).await?;
        if !valid {
            self.revoked.notify_one();
        }
        Ok(valid)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("token_id", &self.caller.token_id)
            .finish_non_exhaustive()
    }
}

/// Whether the token of `digest` is still known and not revoked.
async fn still_valid(tokens: &dyn TokenStore, digest: &str) -> Result<bool, ApiError> {
    let record = tokens
        .find_token(digest)
        .await
        .map_err(|e| ApiError::internal("token lookup failed", &e))?;
    Ok(record.is_some_and(|r| r.revoked_at.is_none()))
}

/// What every operation passes through, whether it came over HTTP or a WebSocket: on a
/// WebSocket, the token is checked afresh and the operation rate-limited (it does not pass
/// through the HTTP handler); everywhere, the document's root fields are counted against
/// the rate limit and its mutations and aliases against their caps.
pub(super) struct RequestGuard {
    pub(super) limiter: Option<Arc<RateLimiter>>,
    pub(super) limits: QueryLimits,
}

/// The schema's extension over a shared [`RequestGuard`].
pub(super) struct RequestGuardFactory(pub(super) Arc<RequestGuard>);

impl ExtensionFactory for RequestGuardFactory {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(RequestGuardExtension(self.0.clone()))
    }
}

struct RequestGuardExtension(Arc<RequestGuard>);

#[async_trait::async_trait]
impl Extension for RequestGuardExtension {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: async_graphql::Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<async_graphql::Request> {
        if let Some(session) = ctx.data_opt::<Arc<Session>>() {
            match session.verify().await {
                Ok(true) => {}
                Ok(false) => return Err(server_error(&ApiError::InvalidToken)),
                Err(e) => return Err(server_error(&e)),
            }
            if let Some(l) = &self.0.limiter {
                if let Err(retry_after) = l.check(&session.caller.token_id) {
                    return Err(server_error(&ApiError::RateLimited { retry_after }));
                }
            }
        }
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // Before parsing, which is the costly part of a huge query: real queries are a few
        // KiB (documents to apply travel as variables).
        if query.len() > shape::MAX_QUERY_BYTES {
            return Err(server_error(&ApiError::TooComplex(format!(
                "the query text is {} bytes; at most {} (send large inputs as variables)",
                query.len(),
                shape::MAX_QUERY_BYTES
            ))));
        }
        let doc = next.run(ctx, query, variables).await?;
        let shape = shape::measure(&doc);
        let limits = &self.0.limits;
        if shape.truncated {
            return Err(server_error(&ApiError::TooComplex(format!(
                "the query expands to more than {} selections",
                shape::MAX_SELECTIONS
            ))));
        }
        if shape.mutations > limits.max_mutations {
            return Err(server_error(&ApiError::TooComplex(format!(
                "{} mutations in one request; at most {} (send the rest in further requests)",
                shape.mutations, limits.max_mutations
            ))));
        }
        if shape.aliases > limits.max_aliases {
            return Err(server_error(&ApiError::TooComplex(format!(
                "{} aliased fields in one request; at most {}",
                shape.aliases, limits.max_aliases
            ))));
        }
        // The request itself was counted once already (by the HTTP handler, or above for a
        // WebSocket); each further root field is an operation of its own.
        let extra = shape.root_fields.saturating_sub(1);
        if let (Some(l), Some(caller), true) =
            (&self.0.limiter, ctx.data_opt::<Caller>(), extra > 0)
        {
            let n = u32::try_from(extra).unwrap_or(u32::MAX);
            if let Err(retry_after) = l.check_n(&caller.token_id, n) {
                return Err(server_error(&ApiError::RateLimited { retry_after }));
            }
        }
        Ok(doc)
    }
}

/// The client's address, when the server knows it (under [`super::serve`]).
fn client_address(extensions: &Extensions) -> Option<String> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
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
    /// Authenticates an `Authorization` value: the caller and the token's digest. A client
    /// address whose recent requests failed authentication too often is refused before the
    /// token is looked up; every failure is charged to it.
    async fn authenticate_header(
        &self,
        address: Option<&str>,
        value: Option<&str>,
    ) -> Result<(Caller, String), ApiError> {
        let limiter = self.inner.address_limiter.as_ref().zip(address);
        if let Some((l, a)) = limiter {
            l.peek(a)
                .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
        }
        let result: Result<(Caller, String), ApiError> = async {
            let token = auth::bearer(value.ok_or(ApiError::MissingToken)?)?;
            let caller = auth::authenticate(self.inner.tokens.as_ref(), &token).await?;
            Ok((caller, token.digest()))
        }
        .await;
        if let (Err(e), Some((l, a))) = (&result, limiter) {
            if e.code() == ErrorCode::Unauthenticated {
                l.charge(a);
            }
        }
        result
    }

    fn take_rate(&self, caller: &Caller) -> Result<(), ApiError> {
        match &self.inner.limiter {
            Some(l) => l
                .check(&caller.token_id)
                .map_err(|retry_after| ApiError::RateLimited { retry_after }),
            None => Ok(()),
        }
    }

    async fn handle_post(
        &self,
        headers: &HeaderMap,
        address: Option<&str>,
        body: Body,
    ) -> Result<Response, ApiError> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or(""));
        let (caller, _) = self.authenticate_header(address, authorization).await?;
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
        header_auth: Option<(Caller, String)>,
        address: Option<&str>,
        payload: serde_json::Value,
    ) -> Result<(Data, Arc<Session>), ApiError> {
        let (caller, digest) = match header_auth {
            Some(c) => c,
            None => {
                // Browsers cannot set headers on a WebSocket: the token comes in the
                // connection_init payload instead, as `Authorization` or `token`.
                let field = |k: &str| payload.get(k).and_then(|v| v.as_str());
                let value = field("Authorization")
                    .or_else(|| field("authorization"))
                    .map(String::from)
                    .or_else(|| field("token").map(|t| format!("Bearer {t}")));
                self.authenticate_header(address, value.as_deref()).await?
            }
        };
        self.take_rate(&caller)?;
        let max = self.inner.config.websocket.per_token;
        let slot = self
            .inner
            .sockets_by_token
            .acquire(&caller.token_id, max)
            .ok_or_else(|| too_many(max))?;
        let session = Arc::new(Session {
            caller: caller.clone(),
            digest,
            tokens: self.inner.tokens.clone(),
            revoked: Notify::new(),
            _slot: Some(slot),
        });
        let mut data = Data::default();
        data.insert(session.clone());
        data.insert(caller);
        Ok((data, session))
    }
}

/// Runs one WebSocket connection: forwards what the GraphQL protocol sends, and closes the
/// socket itself when `connection_init` does not come in time (4408, as graphql-transport-ws
/// says) or the token turns out revoked (4403).
async fn drive_websocket(
    api: Api,
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut outgoing: futures::channel::mpsc::Receiver<Message>,
    protocol_run: impl std::future::Future<Output = ()>,
    mut initialised: oneshot::Receiver<Arc<Session>>,
) {
    let limits = api.inner.config.websocket;
    tokio::pin!(protocol_run);
    let init_deadline = tokio::time::sleep(limits.init_timeout);
    tokio::pin!(init_deadline);
    let mut recheck = tokio::time::interval(limits.token_recheck.max(Duration::from_millis(10)));
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut session: Option<Arc<Session>> = None;
    let mut waiting_for_init = true;
    let mut protocol_done = false;
    let revoked = |s: Option<Arc<Session>>| async move {
        match s {
            Some(s) => s.revoked.notified().await,
            None => std::future::pending().await,
        }
    };
    let close = loop {
        tokio::select! {
            () = &mut protocol_run, if !protocol_done => protocol_done = true,
            m = outgoing.next() => match m {
                Some(m) => {
                    if sink.send(m).await.is_err() {
                        break None;
                    }
                }
                // The protocol ended (and sent its own close frame, if any).
                None => break None,
            },
            s = &mut initialised, if waiting_for_init => {
                waiting_for_init = false;
                session = s.ok();
            }
            () = &mut init_deadline, if waiting_for_init => {
                break Some((4408, "Connection initialisation timeout"));
            }
            () = revoked(session.clone()) => break Some((4403, "token revoked")),
            _ = recheck.tick(), if session.is_some() => {
                if let Some(s) = &session {
                    match s.verify().await {
                        Ok(false) => break Some((4403, "token revoked")),
                        Ok(true) => {}
                        // Already logged; the next look-up decides.
                        Err(_) => {}
                    }
                }
            }
        }
    };
    if let Some((code, reason)) = close {
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }
    let _ = sink.close().await;
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

async fn graphql_post(
    State(api): State<Api>,
    extensions: Extensions,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let address = client_address(&extensions);
    match api.handle_post(&headers, address.as_deref(), body).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

async fn graphql_ws(
    State(api): State<Api>,
    extensions: Extensions,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let address = client_address(&extensions);
    let header_auth = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let value = v.to_str().unwrap_or("");
            match api
                .authenticate_header(address.as_deref(), Some(value))
                .await
            {
                Ok(c) => Some(c),
                Err(e) => return error_response(&e),
            }
        }
    };
    let max = api.inner.config.websocket.per_address;
    let address_slot = match &address {
        Some(a) => match api.inner.sockets_by_address.acquire(a, max) {
            Some(slot) => Some(slot),
            None => return error_response(&too_many(max)),
        },
        None => None,
    };
    let max = api.inner.config.max_body_bytes;
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(max)
        .max_frame_size(max)
        // Small buffers (the defaults are 128 KiB each way): a socket mostly waits, and
        // thousands may be open; GraphQL messages are small, and larger ones still pass.
        .read_buffer_size(WEBSOCKET_BUFFER)
        .write_buffer_size(WEBSOCKET_BUFFER)
        .on_upgrade(move |socket| async move {
            let _address_slot = address_slot;
            let (sink, stream) = socket.split();
            let mut shutdown = api.inner.shutdown.subscribe();
            // At shutdown the input ends, which ends the connection's subscriptions and
            // closes the socket.
            let stream = stream.take_until(async move {
                let _ = shutdown.wait_for(|down| *down).await;
            });
            let (to_client, outgoing) = futures::channel::mpsc::channel::<Message>(16);
            let (initialised, on_init) = oneshot::channel();
            let schema = api.inner.schema.clone();
            let init_api = api.clone();
            let protocol_run = GraphQLWebSocket::new_with_pair(to_client, stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let (data, session) = init_api
                        .init_websocket(header_auth, address.as_deref(), payload)
                        .await
                        .map_err(|e| e.to_graphql())?;
                    let _ = initialised.send(session);
                    Ok(data)
                })
                .serve();
            drive_websocket(api, sink, outgoing, protocol_run, on_init).await;
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
/// `/metrics`, for a bearer token like every API call: an admin token sees every series, a
/// project token only the series labelled with its project.
async fn metrics(State(api): State<Api>, extensions: Extensions, headers: HeaderMap) -> Response {
    let address = client_address(&extensions);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let caller = match api
        .authenticate_header(address.as_deref(), authorization)
        .await
    {
        Ok((caller, _)) => caller,
        Err(e) => return error_response(&e),
    };
    if let Err(e) = api.take_rate(&caller) {
        return error_response(&e);
    }
    let body = api.metrics().map(|m| m.encode()).unwrap_or_default();
    let body = if caller.admin {
        body
    } else {
        scope_metrics(&body, &caller.project)
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// The samples of Prometheus text labelled `project="<project>"`, with the `# HELP` and
/// `# TYPE` lines of their families (families without such a sample are left out).
fn scope_metrics(text: &str, project: &str) -> String {
    let label = format!("project=\"{project}\"");
    let mut out = String::new();
    let mut header = String::new();
    for line in text.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") || line.starts_with("# UNIT ")
        {
            if !header.is_empty() && line.starts_with("# HELP ") {
                header.clear();
            }
            header.push_str(line);
            header.push('\n');
            continue;
        }
        if line.starts_with('#') {
            // `# EOF`.
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let labels = line.find('{').and_then(|start| {
            line[start..]
                .find('}')
                .map(|end| &line[start + 1..start + end])
        });
        let ours = labels.is_some_and(|l| l.split(',').any(|pair| pair == label));
        if ours {
            out.push_str(&header);
            header.clear();
            out.push_str(line);
            out.push('\n');
        }
    }
    out
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

#[cfg(test)]
mod scope_tests {
    use super::scope_metrics;

    #[test]
    fn a_project_token_sees_only_its_projects_series() {
        let text = "# HELP af_runway Seconds.\n# TYPE af_runway gauge\naf_runway{kind=\"Agent\",project=\"a\",name=\"x\"} 5\naf_runway{kind=\"Agent\",project=\"b\",name=\"y\"} 7\naf_runway{kind=\"Agent\",project=\"aa\",name=\"z\"} 9\n# HELP af_leader Leader.\n# TYPE af_leader gauge\naf_leader 1\n# EOF\n";
        let a = scope_metrics(text, "a");
        assert_eq!(
            a,
            "# HELP af_runway Seconds.\n# TYPE af_runway gauge\naf_runway{kind=\"Agent\",project=\"a\",name=\"x\"} 5\n# EOF\n"
        );
        let c = scope_metrics(text, "c");
        assert_eq!(c, "# EOF\n");
    }
}
