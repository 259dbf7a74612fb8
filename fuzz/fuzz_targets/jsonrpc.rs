//! The devnet's CometBFT JSON-RPC: any POST body (or GET path, when the input starts with
//! `/`) gets a bounded JSON answer, never a panic.
#![no_main]
#![forbid(unsafe_code)]

use std::sync::OnceLock;
use std::time::Duration;

use af_devnet::chain::{Chain, Params};
use af_devnet::node::rpc::{self, Stall, MAX_RESPONSE_BYTES};
use af_devnet::node::{Node, NodeConfig};
use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct Env {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let router = rt.block_on(async {
            let node = Node::start(NodeConfig {
                chain_id: "fuzz-1".into(),
                block_time: Duration::from_secs(3600),
                min_gas_price_uakt: 0.0025,
                genesis: Chain::new(Params::default()),
                genesis_time_unix: 1_700_000_000,
            });
            rpc::router(node, Stall::default(), "tcp://127.0.0.1:26657".into())
        });
        Env { rt, router }
    })
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    let req = if data.first() == Some(&b'/') {
        let Ok(path) = std::str::from_utf8(data) else {
            return;
        };
        match Request::get(path).body(Body::empty()) {
            Ok(r) => r,
            Err(_) => return,
        }
    } else {
        Request::post("/")
            .header("content-type", "application/json")
            .body(Body::from(data.to_vec()))
            .expect("request")
    };
    let resp = env.rt.block_on(async {
        let resp = env.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 2 * MAX_RESPONSE_BYTES)
            .await
            .expect("bounded body");
        (status, body)
    });
    let (status, body) = resp;
    assert!(body.len() <= MAX_RESPONSE_BYTES, "{} bytes", body.len());
    if status.is_success() && data.first() != Some(&b'/') {
        serde_json::from_slice::<serde_json::Value>(&body).expect("JSON answer");
    }
});
