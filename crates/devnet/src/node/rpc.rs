//! CometBFT 0.38's JSON-RPC over HTTP: `POST /` with JSON-RPC 2.0 (single or batch, named or
//! positional params) and the URI form (`GET /status`, `GET /abci_query?path="…"&data=0x…`).
//! Response shapes are CometBFT 0.38's: int64 as strings, hashes as upper-case hex, bytes as
//! base64, event attributes as plain strings.
//!
//! Param encodings follow CometBFT: in JSON, `[]byte` params (`tx`, the `tx` method's `hash`)
//! are base64 and `HexBytes` (`abci_query`'s `data`) hex; in the URI form, strings are quoted
//! (`"…"`) and bytes are `0x…` hex or a quoted string.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, SecondsFormat};
use prost::Message;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::{tx_msg_data, Node, StoredBlock, TxOutcome};
use af_akash::proto::events::Event;

/// The CometBFT version the devnet reports.
pub const COMETBFT_VERSION: &str = "0.38.21";
/// The Simulate query path.
pub const SIMULATE_PATH: &str = "/cosmos.tx.v1beta1.Service/Simulate";
/// How long `broadcast_tx_commit` waits for the block (CometBFT's default).
pub const BROADCAST_COMMIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request body read (CometBFT's `rpc.max_body_bytes` default).
pub const MAX_BODY_BYTES: usize = 1_000_000;
/// Most calls in one JSON-RPC batch (CometBFT's `rpc.max_request_batch_size` default).
pub const MAX_BATCH_SIZE: usize = 10;
/// Largest response body written. CometBFT bounds its responses through the batch size and
/// each method's own limits (20 block metas, 100 txs a page); the devnet does the same and
/// also refuses, without building the rest, a response that would grow beyond this.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// The RPC's stall fault: while stalled, requests are accepted and left unanswered until the
/// stall ends or is cleared.
#[derive(Clone)]
pub struct Stall {
    tx: Arc<watch::Sender<Option<tokio::time::Instant>>>,
}

impl Default for Stall {
    fn default() -> Stall {
        Stall {
            tx: Arc::new(watch::channel(None).0),
        }
    }
}

impl Stall {
    /// Stalls every request for `d` from now.
    pub fn stall_for(&self, d: Duration) {
        self.tx.send_replace(Some(tokio::time::Instant::now() + d));
    }

    /// Ends the stall now.
    pub fn clear(&self) {
        self.tx.send_replace(None);
    }

    /// Time left in the stall.
    pub fn remaining(&self) -> Option<Duration> {
        let until = (*self.tx.borrow())?;
        let now = tokio::time::Instant::now();
        (until > now).then(|| until - now)
    }

    /// Waits while stalled.
    pub async fn wait(&self) {
        let mut rx = self.tx.subscribe();
        loop {
            let until = *rx.borrow_and_update();
            match until {
                Some(t) if t > tokio::time::Instant::now() => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(t) => {}
                        changed = rx.changed() => {
                            if changed.is_err() {
                                return;
                            }
                        }
                    }
                }
                _ => return,
            }
        }
    }
}

#[derive(Clone)]
struct RpcState {
    node: Node,
    stall: Stall,
    rpc_address: String,
}

/// The RPC router for `node`; `rpc_address` is what `status` reports as `rpc_address`.
pub fn router(node: Node, stall: Stall, rpc_address: String) -> Router {
    let state = RpcState {
        node,
        stall,
        rpc_address,
    };
    Router::new()
        .route("/", post(json_rpc).get(index))
        .route("/{method}", get(uri_call))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// A JSON-RPC error.
#[derive(Debug)]
struct RpcError {
    code: i64,
    message: &'static str,
    data: String,
}

impl RpcError {
    fn invalid_params(data: impl Into<String>) -> RpcError {
        RpcError {
            code: -32602,
            message: "Invalid params",
            data: data.into(),
        }
    }

    fn invalid_request(data: impl Into<String>) -> RpcError {
        RpcError {
            code: -32600,
            message: "Invalid Request",
            data: data.into(),
        }
    }

    fn internal(data: impl Into<String>) -> RpcError {
        RpcError {
            code: -32603,
            message: "Internal error",
            data: data.into(),
        }
    }

    fn to_json(&self) -> Value {
        json!({"code": self.code, "message": self.message, "data": self.data})
    }
}

/// How a bytes param is encoded in JSON.
#[derive(Clone, Copy)]
enum BytesJson {
    Base64,
    Hex,
}

/// Params of a call, named (JSON object or URI query) after positional ones are named.
enum Params {
    Json(Map<String, Value>),
    Uri(HashMap<String, String>),
}

fn unquote(s: &str) -> Option<&str> {
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"'))
}

impl Params {
    fn string(&self, name: &str) -> Result<Option<String>, RpcError> {
        match self {
            Params::Json(m) => match m.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(RpcError::invalid_params(format!(
                    "error converting json params to arguments: {name}: expected a string, got {other}"
                ))),
            },
            Params::Uri(m) => match m.get(name) {
                None => Ok(None),
                Some(v) => match unquote(v) {
                    Some(s) => Ok(Some(s.to_owned())),
                    None => Err(RpcError::invalid_params(format!(
                        "error converting http params to arguments: invalid string arg \"{name}\" (must be quoted): {v}"
                    ))),
                },
            },
        }
    }

    fn int(&self, name: &str) -> Result<Option<i64>, RpcError> {
        let bad = |v: &str| {
            RpcError::invalid_params(format!(
                "error converting params to arguments: {name}: invalid integer {v:?}"
            ))
        };
        let text = match self {
            Params::Json(m) => match m.get(name) {
                None | Some(Value::Null) => return Ok(None),
                Some(Value::Number(n)) => {
                    return n.as_i64().map(Some).ok_or_else(|| bad(&n.to_string()))
                }
                Some(Value::String(s)) => s.clone(),
                Some(other) => return Err(bad(&other.to_string())),
            },
            Params::Uri(m) => match m.get(name) {
                None => return Ok(None),
                Some(v) => unquote(v).unwrap_or(v).to_owned(),
            },
        };
        if text.is_empty() {
            return Ok(None);
        }
        text.parse().map(Some).map_err(|_| bad(&text))
    }

    fn boolean(&self, name: &str) -> Result<bool, RpcError> {
        let bad = || RpcError::invalid_params(format!("{name}: expected a boolean"));
        match self {
            Params::Json(m) => match m.get(name) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(Value::String(s)) => s.parse().map_err(|_| bad()),
                Some(_) => Err(bad()),
            },
            Params::Uri(m) => match m.get(name) {
                None => Ok(false),
                Some(v) => unquote(v).unwrap_or(v).parse().map_err(|_| bad()),
            },
        }
    }

    fn bytes(&self, name: &str, enc: BytesJson) -> Result<Option<Vec<u8>>, RpcError> {
        match self {
            Params::Json(m) => match m.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => {
                    let r = match enc {
                        BytesJson::Base64 => B64.decode(s).map_err(|e| e.to_string()),
                        BytesJson::Hex => hex::decode(s).map_err(|e| e.to_string()),
                    };
                    r.map(Some).map_err(|e| {
                        RpcError::invalid_params(format!(
                            "error converting json params to arguments: {name}: {e}"
                        ))
                    })
                }
                Some(other) => Err(RpcError::invalid_params(format!(
                    "{name}: expected a string, got {other}"
                ))),
            },
            Params::Uri(m) => match m.get(name) {
                None => Ok(None),
                Some(v) => {
                    if let Some(h) = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                        hex::decode(h).map(Some).map_err(|e| {
                            RpcError::invalid_params(format!("{name}: invalid hex: {e}"))
                        })
                    } else if let Some(s) = unquote(v) {
                        Ok(Some(s.as_bytes().to_vec()))
                    } else {
                        Err(RpcError::invalid_params(format!(
                            "error converting http params to arguments: {name}: expected 0x-prefixed hex or a quoted string"
                        )))
                    }
                }
            },
        }
    }
}

/// Positional parameter names per method.
fn arg_names(method: &str) -> &'static [&'static str] {
    match method {
        "abci_query" => &["path", "data", "height", "prove"],
        "broadcast_tx_sync" | "broadcast_tx_async" | "broadcast_tx_commit" => &["tx"],
        "tx" => &["hash", "prove"],
        "tx_search" => &["query", "prove", "page", "per_page", "order_by"],
        "block" | "block_results" | "commit" | "header" | "consensus_params" => &["height"],
        "block_by_hash" | "header_by_hash" => &["hash"],
        "blockchain" => &["minHeight", "maxHeight"],
        "validators" => &["height", "page", "per_page"],
        "unconfirmed_txs" => &["limit"],
        _ => &[],
    }
}

async fn index() -> impl IntoResponse {
    let methods = [
        "abci_info",
        "abci_query",
        "block",
        "block_results",
        "blockchain",
        "broadcast_tx_async",
        "broadcast_tx_commit",
        "broadcast_tx_sync",
        "genesis",
        "health",
        "net_info",
        "num_unconfirmed_txs",
        "status",
        "tx",
        "tx_search",
        "unconfirmed_txs",
        "validators",
    ];
    let mut text = String::from("Available endpoints (af-operator devnet, CometBFT 0.38 RPC):\n");
    for m in methods {
        text.push_str(&format!("/{m}\n"));
    }
    text
}

fn reply(id: Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": e.to_json()}),
    }
}

fn json_response(status: StatusCode, v: &Value) -> Response {
    let body = serde_json::to_vec_pretty(v).unwrap_or_default();
    if body.len() > MAX_RESPONSE_BYTES {
        return too_large(body.len());
    }
    json_body(status, body)
}

fn json_body(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The refusal of a response beyond [`MAX_RESPONSE_BYTES`] (`at_least` bytes so far).
fn too_large(at_least: usize) -> Response {
    let err = RpcError::internal(format!(
        "response of at least {at_least} bytes exceeds the maximum of {MAX_RESPONSE_BYTES} bytes"
    ));
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &reply(json!(-1), Err(err)),
    )
}

/// A refused request as CometBFT's HTTP server answers it: HTTP 400 with an Invalid Request
/// error.
fn bad_request(data: String) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        &reply(json!(-1), Err(RpcError::invalid_request(data))),
    )
}

async fn json_rpc(State(st): State<RpcState>, body: Result<Bytes, BytesRejection>) -> Response {
    st.stall.wait().await;
    let body = match body {
        Ok(b) => b,
        // Go's MaxBytesReader error, as CometBFT reports it.
        Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
            return bad_request("error reading request body: http: request body too large".into());
        }
        Err(e) => return bad_request(format!("error reading request body: {}", e.body_text())),
    };
    let parsed: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            let err = RpcError {
                code: -32700,
                message: "Parse error",
                data: format!("error unmarshaling request: {e}"),
            };
            return json_response(StatusCode::OK, &reply(json!(-1), Err(err)));
        }
    };
    drop(body);
    match parsed {
        Value::Array(calls) => {
            if calls.is_empty() {
                let err = RpcError::invalid_request("empty batch");
                return json_response(StatusCode::OK, &reply(json!(-1), Err(err)));
            }
            if calls.len() > MAX_BATCH_SIZE {
                return bad_request(format!(
                    "maximum JSON-RPC batch size exceeded, got: {}, max: {MAX_BATCH_SIZE}",
                    calls.len()
                ));
            }
            // Each reply is serialized as it is made, so an oversized batch stops early.
            let mut out = b"[".to_vec();
            for (i, c) in calls.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let r = one_call(&st, c).await;
                out.extend(serde_json::to_vec_pretty(&r).unwrap_or_default());
                if out.len() > MAX_RESPONSE_BYTES {
                    return too_large(out.len());
                }
            }
            out.push(b']');
            json_body(StatusCode::OK, out)
        }
        v => json_response(StatusCode::OK, &one_call(&st, v).await),
    }
}

async fn one_call(st: &RpcState, call: Value) -> Value {
    let Value::Object(mut obj) = call else {
        let err = RpcError {
            code: -32600,
            message: "Invalid Request",
            data: "a JSON-RPC request must be an object".into(),
        };
        return reply(json!(-1), Err(err));
    };
    let id = obj.remove("id").unwrap_or(Value::Null);
    let Some(Value::String(method)) = obj.remove("method") else {
        let err = RpcError {
            code: -32600,
            message: "Invalid Request",
            data: "missing method".into(),
        };
        return reply(id, Err(err));
    };
    let params = match obj.remove("params") {
        None | Some(Value::Null) => Params::Json(Map::new()),
        Some(Value::Object(m)) => Params::Json(m),
        Some(Value::Array(a)) => {
            let names = arg_names(&method);
            if a.len() > names.len() {
                return reply(
                    id,
                    Err(RpcError::invalid_params(format!(
                        "expected at most {} positional params, got {}",
                        names.len(),
                        a.len()
                    ))),
                );
            }
            Params::Json(
                names
                    .iter()
                    .zip(a)
                    .map(|(n, v)| ((*n).to_owned(), v))
                    .collect(),
            )
        }
        Some(_) => {
            return reply(
                id,
                Err(RpcError::invalid_params(
                    "params must be an object or an array",
                )),
            )
        }
    };
    let result = dispatch(st, &method, &params).await;
    reply(id, result)
}

async fn uri_call(
    State(st): State<RpcState>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    st.stall.wait().await;
    let mut params = HashMap::new();
    if let Some(q) = query {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            params.insert(k.into_owned(), v.into_owned());
        }
    }
    let result = dispatch(&st, &method, &Params::Uri(params)).await;
    // CometBFT answers URI-form errors with HTTP 500 (`WriteRPCResponseHTTPError`); an
    // unknown route is a 404.
    let status = match &result {
        Err(e) if e.code == -32601 => StatusCode::NOT_FOUND,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
        Ok(_) => StatusCode::OK,
    };
    json_response(status, &reply(json!(-1), result))
}

async fn dispatch(st: &RpcState, method: &str, p: &Params) -> Result<Value, RpcError> {
    let node = &st.node;
    match method {
        "health" => Ok(json!({})),
        "status" => Ok(status(st)),
        "abci_info" => Ok(abci_info(node)),
        "abci_query" => abci_query(node, p),
        "broadcast_tx_sync" | "broadcast_tx_async" => {
            let tx = required_tx(p)?;
            let r = node.submit(tx);
            mempool_refusal(&r, method)?;
            if method == "broadcast_tx_async" {
                return Ok(json!({
                    "code": 0, "data": "", "log": "", "codespace": "",
                    "hash": hex::encode_upper(r.hash),
                }));
            }
            Ok(json!({
                "code": r.code, "data": "", "log": r.log, "codespace": r.codespace,
                "hash": hex::encode_upper(r.hash),
            }))
        }
        "broadcast_tx_commit" => broadcast_commit(node, p).await,
        "tx" => {
            let hash = p
                .bytes("hash", BytesJson::Base64)?
                .ok_or_else(|| RpcError::invalid_params("missing hash"))?;
            p.boolean("prove")?;
            let h: [u8; 32] = hash.as_slice().try_into().map_err(|_| {
                RpcError::internal(format!("tx ({}) not found", hex::encode_upper(&hash)))
            })?;
            node.with_state(|s| s.tx(&h).map(tx_json)).ok_or_else(|| {
                RpcError::internal(format!("tx ({}) not found", hex::encode_upper(h)))
            })
        }
        "tx_search" => tx_search(node, p),
        "block" => {
            let h = p.int("height")?;
            node.with_state(|s| {
                let height = resolve_height(s.height(), h)?;
                let b = s.block(height).ok_or_else(|| no_block(height))?;
                Ok(json!({
                    "block_id": block_id(b),
                    "block": block_json(node, s, b),
                }))
            })
        }
        "block_by_hash" => {
            let hash = p.bytes("hash", BytesJson::Base64)?.unwrap_or_default();
            node.with_state(|s| {
                let found = s
                    .blocks
                    .iter()
                    .find(|b| b.hash.as_slice() == hash.as_slice());
                Ok(match found {
                    Some(b) => json!({"block_id": block_id(b), "block": block_json(node, s, b)}),
                    None => json!({"block_id": empty_block_id(), "block": null}),
                })
            })
        }
        "header" => {
            let h = p.int("height")?;
            node.with_state(|s| {
                let height = resolve_height(s.height(), h)?;
                let b = s.block(height).ok_or_else(|| no_block(height))?;
                Ok(json!({"header": header_json(node, b)}))
            })
        }
        "block_results" => {
            let h = p.int("height")?;
            node.with_state(|s| {
                let height = resolve_height(s.height(), h)?;
                let b = s.block(height).ok_or_else(|| no_block(height))?;
                let txs: Vec<Value> = b.info.txs.iter().map(exec_result).collect();
                let next_app = s.block(height + 1).map_or(s.app_hash, |n| n.app_hash);
                Ok(json!({
                    "height": height.to_string(),
                    "txs_results": if txs.is_empty() { Value::Null } else { Value::Array(txs) },
                    "finalize_block_events": events_json(&b.info.end_block_events),
                    "validator_updates": null,
                    "consensus_param_updates": null,
                    "app_hash": B64.encode(next_app),
                }))
            })
        }
        "blockchain" => {
            let min = p.int("minHeight")?.unwrap_or(0);
            let max = p.int("maxHeight")?.unwrap_or(0);
            node.with_state(|s| {
                let last = s.height();
                let base = s.blocks.first().map_or(0, |b| b.info.height);
                let max = if max <= 0 { last } else { max.min(last) };
                let min = min.max(base.max(1)).max(max - 19);
                if min > max && last > 0 {
                    return Err(RpcError::internal(format!(
                        "min height {min} can't be greater than max height {max}"
                    )));
                }
                let metas: Vec<Value> = (min..=max)
                    .rev()
                    .filter_map(|h| s.block(h))
                    .map(|b| {
                        json!({
                            "block_id": block_id(b),
                            "block_size": b.info.txs.iter().map(|t| t.tx.len()).sum::<usize>().to_string(),
                            "header": header_json(node, b),
                            "num_txs": b.info.txs.len().to_string(),
                        })
                    })
                    .collect();
                Ok(json!({"last_height": last.to_string(), "block_metas": metas}))
            })
        }
        "genesis" => Ok(genesis(node)),
        "validators" => {
            let h = p.int("height")?;
            let height = node.with_state(|s| resolve_height(s.height(), h))?;
            let v = validator();
            Ok(json!({
                "block_height": height.to_string(),
                "validators": [{
                    "address": v.0, "pub_key": v.1, "voting_power": "10", "proposer_priority": "0",
                }],
                "count": "1",
                "total": "1",
            }))
        }
        "net_info" => Ok(json!({
            "listening": true, "listeners": ["Listener(@)"], "n_peers": "0", "peers": [],
        })),
        "num_unconfirmed_txs" | "unconfirmed_txs" => {
            let limit = p.int("limit")?.unwrap_or(30).clamp(1, 100) as usize;
            Ok(node.with_state(|s| {
                let txs = if method == "unconfirmed_txs" {
                    Value::Array(
                        s.mempool
                            .iter()
                            .take(limit)
                            .map(|t| Value::String(B64.encode(&t.raw)))
                            .collect(),
                    )
                } else {
                    Value::Null
                };
                json!({
                    "n_txs": s.mempool_len().to_string(),
                    "total": s.mempool_len().to_string(),
                    "total_bytes": s.mempool_bytes().to_string(),
                    "txs": txs,
                })
            }))
        }
        _ => Err(RpcError {
            code: -32601,
            message: "Method not found",
            data: String::new(),
        }),
    }
}

/// CometBFT's mempool refuses a cached duplicate, a full mempool and an oversized tx before
/// the app's CheckTx: the broadcast call fails with an RPC error, not a CheckTx code.
fn mempool_refusal(r: &super::CheckTxResult, method: &str) -> Result<(), RpcError> {
    if r.codespace != "sdk" || !(19..=21).contains(&r.code) {
        return Ok(());
    }
    let what = match method {
        "broadcast_tx_sync" => "error on broadcastTxSync: ",
        "broadcast_tx_commit" => "error on broadcastTxCommit: ",
        _ => "",
    };
    Err(RpcError::internal(format!("{what}{}", r.log)))
}

fn required_tx(p: &Params) -> Result<Vec<u8>, RpcError> {
    p.bytes("tx", BytesJson::Base64)?
        .ok_or_else(|| RpcError::invalid_params("missing tx"))
}

fn resolve_height(latest: i64, h: Option<i64>) -> Result<i64, RpcError> {
    match h {
        None | Some(0) if latest == 0 => Err(RpcError::internal(
            "height must be greater than 0, but got 0",
        )),
        None | Some(0) => Ok(latest),
        Some(h) if h < 0 => Err(RpcError::internal(format!(
            "height must be greater than 0, but got {h}"
        ))),
        Some(h) if h > latest => Err(RpcError::internal(format!(
            "height {h} must be less than or equal to the current blockchain height {latest}"
        ))),
        Some(h) => Ok(h),
    }
}

fn no_block(height: i64) -> RpcError {
    RpcError::internal(format!("height {height} is not available"))
}

fn time_string(unix_nanos: i64) -> String {
    DateTime::from_timestamp_nanos(unix_nanos).to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// The single validator: the ed25519 base point as its (consensus-free) key.
fn validator() -> (String, Value) {
    let mut pk = [0x66u8; 32];
    pk[0] = 0x58;
    let addr = hex::encode_upper(&Sha256::digest(pk)[..20]);
    (
        addr,
        json!({"type": "tendermint/PubKeyEd25519", "value": B64.encode(pk)}),
    )
}

fn node_id(node: &Node) -> String {
    hex::encode(&Sha256::digest(format!("af-devnet node {}", node.chain_id()))[..20])
}

fn part_hash(block_hash: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(b"parts");
    h.update(block_hash);
    hex::encode_upper(h.finalize())
}

fn block_id(b: &StoredBlock) -> Value {
    json!({"hash": hex::encode_upper(b.hash), "parts": {"total": 1, "hash": part_hash(&b.hash)}})
}

fn empty_block_id() -> Value {
    json!({"hash": "", "parts": {"total": 0, "hash": ""}})
}

fn last_block_id(b: &StoredBlock) -> Value {
    if b.info.height <= 1 {
        empty_block_id()
    } else {
        json!({
            "hash": hex::encode_upper(b.last_block_hash),
            "parts": {"total": 1, "hash": part_hash(&b.last_block_hash)},
        })
    }
}

fn merkle_like(items: impl IntoIterator<Item = Vec<u8>>) -> String {
    let mut h = Sha256::new();
    for i in items {
        h.update(Sha256::digest(i));
    }
    hex::encode_upper(h.finalize())
}

fn header_json(node: &Node, b: &StoredBlock) -> Value {
    let (val_addr, _) = validator();
    let vals_hash = hex::encode_upper(Sha256::digest(val_addr.as_bytes()));
    json!({
        "version": {"block": "11", "app": "0"},
        "chain_id": node.chain_id(),
        "height": b.info.height.to_string(),
        "time": time_string(b.info.time_unix_nanos),
        "last_block_id": last_block_id(b),
        "last_commit_hash": if b.info.height <= 1 { String::new() } else { merkle_like([b.last_block_hash.to_vec()]) },
        "data_hash": merkle_like(b.info.txs.iter().map(|t| t.tx.clone())),
        "validators_hash": vals_hash,
        "next_validators_hash": vals_hash,
        "consensus_hash": hex::encode_upper(Sha256::digest(b"af-devnet consensus params")),
        "app_hash": hex::encode_upper(b.app_hash),
        "last_results_hash": merkle_like([b.app_hash.to_vec()]),
        "evidence_hash": merkle_like([]),
        "proposer_address": val_addr,
    })
}

fn block_json(node: &Node, _s: &super::State, b: &StoredBlock) -> Value {
    let signatures = if b.info.height <= 1 {
        Vec::new()
    } else {
        // No consensus runs: the single validator's vote is reported absent.
        vec![json!({
            "block_id_flag": 1,
            "validator_address": "",
            "timestamp": "0001-01-01T00:00:00Z",
            "signature": null,
        })]
    };
    json!({
        "header": header_json(node, b),
        "data": {"txs": b.info.txs.iter().map(|t| B64.encode(&t.tx)).collect::<Vec<_>>()},
        "evidence": {"evidence": []},
        "last_commit": {
            "height": (b.info.height - 1).max(0).to_string(),
            "round": 0,
            "block_id": last_block_id(b),
            "signatures": signatures,
        },
    })
}

fn events_json(events: &[Event]) -> Value {
    serde_json::to_value(events).unwrap_or(Value::Array(Vec::new()))
}

fn exec_result(t: &TxOutcome) -> Value {
    let data = if t.code == 0 {
        Value::String(B64.encode(tx_msg_data(&t.tx)))
    } else {
        Value::Null
    };
    json!({
        "code": t.code,
        "data": data,
        "log": t.log,
        "info": "",
        "gas_wanted": t.gas_wanted.to_string(),
        "gas_used": t.gas_used.to_string(),
        "events": events_json(&t.events),
        "codespace": t.codespace,
    })
}

fn tx_json(t: &TxOutcome) -> Value {
    json!({
        "hash": hex::encode_upper(t.hash),
        "height": t.height.to_string(),
        "index": t.index,
        "tx_result": exec_result(t),
        "tx": B64.encode(&t.tx),
    })
}

fn status(st: &RpcState) -> Value {
    let node = &st.node;
    let (val_addr, val_pk) = validator();
    let sync = node.with_state(|s| {
        let genesis_nanos = node.genesis_time_unix().saturating_mul(1_000_000_000);
        let (eh, eah, eheight, etime) = match s.blocks.first() {
            Some(b) => (
                hex::encode_upper(b.hash),
                hex::encode_upper(b.app_hash),
                b.info.height,
                b.info.time_unix_nanos,
            ),
            None => (String::new(), String::new(), 0, genesis_nanos),
        };
        let (lh, ltime) = match s.blocks.last() {
            Some(b) => (hex::encode_upper(b.hash), b.info.time_unix_nanos),
            None => (String::new(), genesis_nanos),
        };
        json!({
            "latest_block_hash": lh,
            "latest_app_hash": hex::encode_upper(s.app_hash),
            "latest_block_height": s.height().to_string(),
            "latest_block_time": time_string(ltime),
            "earliest_block_hash": eh,
            "earliest_app_hash": eah,
            "earliest_block_height": eheight.to_string(),
            "earliest_block_time": time_string(etime),
            "catching_up": false,
        })
    });
    json!({
        "node_info": {
            "protocol_version": {"p2p": "8", "block": "11", "app": "0"},
            "id": node_id(node),
            "listen_addr": "tcp://127.0.0.1:26656",
            "network": node.chain_id(),
            "version": COMETBFT_VERSION,
            "channels": "40202122233038606100",
            "moniker": "af-devnet",
            "other": {"tx_index": "on", "rpc_address": format!("tcp://{}", st.rpc_address)},
        },
        "sync_info": sync,
        "validator_info": {"address": val_addr, "pub_key": val_pk, "voting_power": "10"},
    })
}

fn abci_info(node: &Node) -> Value {
    node.with_state(|s| {
        json!({"response": {
            "data": "akash",
            "version": "v2.0.1-af-devnet",
            "app_version": "0",
            "last_block_height": s.height().to_string(),
            "last_block_app_hash": B64.encode(s.app_hash),
        }})
    })
}

fn abci_query(node: &Node, p: &Params) -> Result<Value, RpcError> {
    let path = p.string("path")?.unwrap_or_default();
    let data = p.bytes("data", BytesJson::Hex)?.unwrap_or_default();
    let height = p.int("height")?.unwrap_or(0);
    // No proofs on the devnet: `prove` is validated and ignored.
    p.boolean("prove")?;
    let latest = node.height();
    let response = |code: u32, log: String, codespace: String, value: Option<Vec<u8>>| {
        json!({"response": {
            "code": code,
            "log": log,
            "info": "",
            "index": "0",
            "key": null,
            "value": value.map(|v| B64.encode(v)),
            "proofOps": null,
            "height": latest.to_string(),
            "codespace": codespace,
        }})
    };
    if height > latest {
        return Ok(response(
            26,
            "cannot query with height in the future; please provide a valid height: invalid height"
                .to_owned(),
            "sdk".into(),
            None,
        ));
    }
    if path == SIMULATE_PATH {
        let req =
            match cosmos_sdk_proto::cosmos::tx::v1beta1::SimulateRequest::decode(data.as_slice()) {
                Ok(r) => r,
                Err(e) => {
                    return Ok(response(
                        2,
                        format!("{e}: tx parse error"),
                        "sdk".into(),
                        None,
                    ))
                }
            };
        return Ok(match node.simulate(&req.tx_bytes) {
            Ok((wanted, used, events)) => {
                #[allow(deprecated)]
                let resp = cosmos_sdk_proto::cosmos::tx::v1beta1::SimulateResponse {
                    gas_info: Some(cosmos_sdk_proto::cosmos::base::abci::v1beta1::GasInfo {
                        gas_wanted: wanted,
                        gas_used: used,
                    }),
                    result: Some(cosmos_sdk_proto::cosmos::base::abci::v1beta1::Result {
                        data: Vec::new(),
                        log: String::new(),
                        events: events.iter().map(proto_event).collect(),
                        msg_responses: Vec::new(),
                    }),
                };
                response(0, String::new(), String::new(), Some(resp.encode_to_vec()))
            }
            Err(e) => response(e.code, e.log, e.codespace, None),
        });
    }
    Ok(match node.read(|c| c.query(&path, &data)) {
        Ok(v) => response(0, String::new(), String::new(), Some(v)),
        Err(e) => response(e.code, e.log, e.codespace, None),
    })
}

fn proto_event(e: &Event) -> cosmos_sdk_proto::tendermint::abci::Event {
    cosmos_sdk_proto::tendermint::abci::Event {
        r#type: e.kind.clone(),
        attributes: e
            .attributes
            .iter()
            .map(|a| cosmos_sdk_proto::tendermint::abci::EventAttribute {
                key: a.key.clone(),
                value: a.value.clone(),
                index: a.index,
            })
            .collect(),
    }
}

async fn broadcast_commit(node: &Node, p: &Params) -> Result<Value, RpcError> {
    let tx = required_tx(p)?;
    let gas_wanted = af_akash::tx::decode_tx(&tx).map_or(0, |d| d.gas_limit());
    let r = node.submit(tx);
    mempool_refusal(&r, "broadcast_tx_commit")?;
    let check = json!({
        "code": r.code, "data": null, "log": r.log, "info": "",
        "gas_wanted": gas_wanted.to_string(), "gas_used": "0", "events": [],
        "codespace": r.codespace,
    });
    if r.code != 0 {
        return Ok(json!({
            "check_tx": check,
            "tx_result": {
                "code": 0, "data": null, "log": "", "info": "", "gas_wanted": "0",
                "gas_used": "0", "events": [], "codespace": "",
            },
            "hash": hex::encode_upper(r.hash),
            "height": "0",
        }));
    }
    match node.wait_tx(r.hash, BROADCAST_COMMIT_TIMEOUT).await {
        Some(t) => Ok(json!({
            "check_tx": check,
            "tx_result": exec_result(&t),
            "hash": hex::encode_upper(r.hash),
            "height": t.height.to_string(),
        })),
        None => Err(RpcError::internal(
            "timed out waiting for tx to be included in a block",
        )),
    }
}

fn genesis(node: &Node) -> Value {
    let (addr, pk) = validator();
    json!({"genesis": {
        "genesis_time": time_string(node.genesis_time_unix().saturating_mul(1_000_000_000)),
        "chain_id": node.chain_id(),
        "initial_height": "1",
        "consensus_params": {
            "block": {"max_bytes": "22020096", "max_gas": "-1"},
            "evidence": {"max_age_num_blocks": "100000", "max_age_duration": "172800000000000", "max_bytes": "1048576"},
            "validator": {"pub_key_types": ["ed25519"]},
            "version": {"app": "0"},
            "abci": {"vote_extensions_enable_height": "0"},
        },
        "validators": [{"address": addr, "pub_key": pk, "power": "10", "name": "af-devnet"}],
        "app_hash": "",
        "app_state": {},
    }})
}

/// One condition of a `tx_search` query.
enum Cond {
    Hash(Vec<u8>),
    Height(&'static str, i64),
    Attr(String, String, String),
}

fn parse_query(q: &str) -> Result<Vec<Cond>, RpcError> {
    let mut out = Vec::new();
    for part in split_and(q) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let ops = [">=", "<=", "=", ">", "<"];
        let (key, op, value) = ops
            .iter()
            .find_map(|op| {
                part.find(op)
                    .map(|i| (part[..i].trim(), *op, part[i + op.len()..].trim()))
            })
            .ok_or_else(|| RpcError::internal(format!("failed to parse query: {part:?}")))?;
        let unq = value
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .unwrap_or(value);
        match key {
            "tx.hash" => {
                let h = hex::decode(unq)
                    .map_err(|e| RpcError::internal(format!("invalid tx.hash: {e}")))?;
                out.push(Cond::Hash(h));
            }
            "tx.height" => {
                let h: i64 = unq
                    .parse()
                    .map_err(|_| RpcError::internal(format!("invalid tx.height {unq:?}")))?;
                out.push(Cond::Height(op, h));
            }
            _ => {
                if op != "=" {
                    return Err(RpcError::internal(format!(
                        "unsupported operator {op} on {key} (devnet)"
                    )));
                }
                let (kind, attr) = key.rsplit_once('.').ok_or_else(|| {
                    RpcError::internal(format!("failed to parse query: key {key:?}"))
                })?;
                out.push(Cond::Attr(kind.to_owned(), attr.to_owned(), unq.to_owned()));
            }
        }
    }
    if out.is_empty() {
        return Err(RpcError::internal("failed to parse query: empty"));
    }
    Ok(out)
}

/// Splits on `AND` outside quotes.
fn split_and(q: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut in_quote = false;
    let tokens: Vec<&str> = q.split(' ').collect();
    for t in tokens {
        if !in_quote && t.eq_ignore_ascii_case("AND") {
            parts.push(std::mem::take(&mut cur));
            continue;
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(t);
        in_quote ^= t.matches('\'').count() % 2 == 1;
    }
    parts.push(cur);
    parts
}

fn matches(t: &TxOutcome, conds: &[Cond]) -> bool {
    conds.iter().all(|c| match c {
        Cond::Hash(h) => t.hash.as_slice() == h.as_slice(),
        Cond::Height(op, h) => match *op {
            "=" => t.height == *h,
            ">" => t.height > *h,
            "<" => t.height < *h,
            ">=" => t.height >= *h,
            "<=" => t.height <= *h,
            _ => false,
        },
        Cond::Attr(kind, key, value) => t.events.iter().any(|e| {
            &e.kind == kind
                && e.attributes
                    .iter()
                    .any(|a| &a.key == key && &a.value == value)
        }),
    })
}

fn tx_search(node: &Node, p: &Params) -> Result<Value, RpcError> {
    let query = p
        .string("query")?
        .ok_or_else(|| RpcError::invalid_params("missing query"))?;
    let conds = parse_query(&query)?;
    let page = p.int("page")?.unwrap_or(1);
    let per_page = p.int("per_page")?.unwrap_or(30).clamp(1, 100);
    let desc = match p.string("order_by")?.as_deref() {
        None | Some("") | Some("asc") => false,
        Some("desc") => true,
        Some(o) => {
            return Err(RpcError::internal(format!(
                "expected order_by to be either `asc` or `desc` or empty, got {o}"
            )))
        }
    };
    node.with_state(|s| {
        let mut found: Vec<&TxOutcome> = s
            .blocks
            .iter()
            .flat_map(|b| b.info.txs.iter())
            .filter(|t| matches(t, &conds))
            .collect();
        if desc {
            found.reverse();
        }
        let total = found.len() as i64;
        let pages = ((total + per_page - 1) / per_page).max(1);
        if page < 1 || page > pages {
            return Err(RpcError::internal(format!(
                "page should be within [1, {pages}] range, given {page}"
            )));
        }
        let start = ((page - 1) * per_page) as usize;
        let txs: Vec<Value> = found
            .into_iter()
            .skip(start)
            .take(per_page as usize)
            .map(tx_json)
            .collect();
        Ok(json!({"txs": txs, "total_count": total.to_string()}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        let c = parse_query("tx.hash='ABCD'").unwrap();
        assert!(matches!(&c[0], Cond::Hash(h) if h == &[0xab, 0xcd]));
        let c = parse_query("tx.height=5 AND message.sender='akash1 x'").unwrap();
        assert_eq!(c.len(), 2);
        assert!(
            matches!(&c[1], Cond::Attr(k, a, v) if k == "message" && a == "sender" && v == "akash1 x")
        );
        assert!(parse_query("").is_err());
        assert!(parse_query("nonsense").is_err());
    }

    #[test]
    fn uri_params() {
        let mut m = HashMap::new();
        m.insert("path".to_owned(), "\"/a/b\"".to_owned());
        m.insert("data".to_owned(), "0x0a0b".to_owned());
        m.insert("height".to_owned(), "7".to_owned());
        m.insert("bad".to_owned(), "noquote".to_owned());
        let p = Params::Uri(m);
        assert_eq!(p.string("path").unwrap().unwrap(), "/a/b");
        assert_eq!(
            p.bytes("data", BytesJson::Hex).unwrap().unwrap(),
            vec![10, 11]
        );
        assert_eq!(p.int("height").unwrap(), Some(7));
        assert!(p.string("bad").is_err());
        assert_eq!(p.string("missing").unwrap(), None);
    }

    #[test]
    fn heights() {
        assert!(resolve_height(0, None).is_err());
        assert_eq!(resolve_height(5, None).unwrap(), 5);
        assert_eq!(resolve_height(5, Some(3)).unwrap(), 3);
        assert!(resolve_height(5, Some(6)).is_err());
        assert!(resolve_height(5, Some(-1)).is_err());
    }
}
