//! GraphQL documents at the API: parse, then validate (and, for queries, execute against an
//! empty store) through the API's own schema with its depth and complexity limits.
//! Mutations and subscriptions are parsed and checked but not run, so runs stay
//! independent of each other.
#![no_main]
#![forbid(unsafe_code)]

use std::sync::{Arc, OnceLock};

use af_operator::api::{Api, ApiConfig};
use async_graphql::parser::types::OperationType;
use libfuzzer_sys::fuzz_target;

struct Env {
    rt: tokio::runtime::Runtime,
    api: Api,
    _dir: tempfile::TempDir,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("fuzz.db").display());
        let api = rt.block_on(async {
            let store = Arc::new(af_operator::store::open(&url).await.expect("store"));
            let config = ApiConfig {
                rate_limit: None,
                ..ApiConfig::default()
            };
            Api::new(store.clone(), store, None, config)
        });
        Env { rt, api, _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = env();
    let doc = match async_graphql::parser::parse_query(text) {
        Ok(doc) => doc,
        Err(_) => return,
    };
    let queries_only = doc
        .operations
        .iter()
        .all(|(_, op)| op.node.ty == OperationType::Query);
    if !queries_only {
        // Validation alone: an unknown operation name stops before any resolver runs.
        let req = async_graphql::Request::new(text).operation_name("\u{0}fuzz-none");
        let resp = env.rt.block_on(env.api.schema().execute(req));
        assert!(resp.is_err());
        return;
    }
    let resp = env
        .rt
        .block_on(env.api.schema().execute(async_graphql::Request::new(text)));
    serde_json::to_vec(&resp).expect("a response serializes");
});
