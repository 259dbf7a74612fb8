//! The devnet's control API (HTTP, JSON bodies): chain faults and the faucet.
//!
//! | method and path | body | effect |
//! |---|---|---|
//! | `GET /status` | | chain id, height, paused, RPC stall left, mempool size |
//! | `POST /blocks/pause` | | stop producing blocks |
//! | `POST /blocks/resume` | | produce blocks again |
//! | `POST /rpc/stall` | `{"seconds": N}` | the RPC accepts connections but answers nothing for N s |
//! | `DELETE /rpc/stall` | | end the stall now |
//! | `POST /fund` | `{"address": "akash1…", "coins": "100uakt,5uact"}` | faucet |
//!
//! Other routes (the providers' `/providers/…` faults, `/ingress`) are merged in from an
//! extra [`Router`].

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::node::rpc::Stall;
use super::node::Node;

#[derive(Clone)]
struct ControlState {
    node: Node,
    stall: Stall,
    rpc_url: String,
}

/// The control router; `extra` (the providers' routes) is merged in.
pub fn router(node: Node, stall: Stall, rpc_url: String, extra: Option<Router>) -> Router {
    let state = ControlState {
        node,
        stall,
        rpc_url,
    };
    let base = Router::new()
        .route("/status", get(status))
        .route("/blocks/pause", post(pause))
        .route("/blocks/resume", post(resume))
        .route("/rpc/stall", post(stall_rpc).delete(unstall))
        .route("/fund", post(fund))
        .with_state(state);
    match extra {
        Some(r) => base.merge(r),
        None => base,
    }
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({"error": msg.into()}))).into_response()
}

fn status_json(st: &ControlState) -> serde_json::Value {
    let (height, mempool) = st.node.with_state(|s| (s.height(), s.mempool_len()));
    json!({
        "chain_id": st.node.chain_id(),
        "height": height,
        "paused": st.node.paused(),
        "rpc_url": st.rpc_url,
        "rpc_stall_seconds": st.stall.remaining().map_or(0.0, |d| d.as_secs_f64()),
        "mempool_txs": mempool,
        "block_time_ms": u64::try_from(st.node.block_time().as_millis()).unwrap_or(u64::MAX),
    })
}

async fn status(State(st): State<ControlState>) -> Response {
    Json(status_json(&st)).into_response()
}

async fn pause(State(st): State<ControlState>) -> Response {
    st.node.set_paused(true);
    Json(status_json(&st)).into_response()
}

async fn resume(State(st): State<ControlState>) -> Response {
    st.node.set_paused(false);
    Json(status_json(&st)).into_response()
}

#[derive(Deserialize)]
struct StallBody {
    seconds: f64,
}

async fn stall_rpc(State(st): State<ControlState>, body: axum::body::Bytes) -> Response {
    let b: StallBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"seconds\": N}}: {e}"),
            )
        }
    };
    if !b.seconds.is_finite() || b.seconds <= 0.0 || b.seconds > 86_400.0 {
        return error(
            StatusCode::BAD_REQUEST,
            "seconds must be a number in (0, 86400]",
        );
    }
    st.stall.stall_for(Duration::from_secs_f64(b.seconds));
    Json(status_json(&st)).into_response()
}

async fn unstall(State(st): State<ControlState>) -> Response {
    st.stall.clear();
    Json(status_json(&st)).into_response()
}

#[derive(Deserialize)]
struct FundBody {
    address: String,
    coins: String,
}

async fn fund(State(st): State<ControlState>, body: axum::body::Bytes) -> Response {
    let b: FundBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"address\": \"akash1…\", \"coins\": \"100uakt\"}}: {e}"),
            )
        }
    };
    if af_akash::keys::address_bytes(&b.address).is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{:?} is not an akash1… address", b.address),
        );
    }
    let coins = match super::parse_coins(&b.coins) {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    st.node.fund(&b.address, &coins);
    let balances = st.node.read(|c| {
        c.accounts
            .get(&b.address)
            .map(|a| {
                a.balances
                    .iter()
                    .map(|(d, v)| json!({"denom": d, "amount": v.to_string()}))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    Json(json!({"address": b.address, "balances": balances})).into_response()
}
