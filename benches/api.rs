//! Benchmark of the GraphQL API on SQLite with 10,000 resources in the store:
//! apply mutations per second, and the latency (p50/p99) of a one-resource query and of a
//! label-selected list query.
//!
//! Each request goes through the whole HTTP router in-process (tower `oneshot`): bearer
//! token lookup in the store, body limit, JSON parsing, GraphQL validation and execution,
//! the store, JSON serialisation. Only the TCP socket is left out. Rate limiting is off.
//!
//! `cargo bench --bench api` runs the full measurement; without `--bench` (as
//! `cargo test --all-targets` runs it) a small version checks that it still works.

use std::sync::Arc;
use std::time::{Duration, Instant};

use af_operator::api::{auth, Api, ApiConfig};
use af_operator::spec::load::load_str;
use af_operator::store::Store;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

struct Sizes {
    resources: usize,
    applies: usize,
    gets: usize,
    lists: usize,
}

const FULL: Sizes = Sizes {
    resources: 10_000,
    applies: 1_000,
    gets: 2_000,
    lists: 200,
};

const SMOKE: Sizes = Sizes {
    resources: 200,
    applies: 20,
    gets: 50,
    lists: 10,
};

fn agent(name: &str, team: usize, image: &str) -> String {
    format!(
        "apiVersion: alternatefutures.ai/v1alpha1
kind: Agent
metadata: {{name: {name}, labels: {{team: t{team}}}}}
spec:
  image: {image}
  port: 8080
  resources: {{cpu: 0.5, memory: 512Mi}}
"
    )
}

async fn post(api: &Api, token: &str, query: &str, variables: Value) -> Duration {
    let body = json!({"query": query, "variables": variables}).to_string();
    let req = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body))
        .expect("request");
    let start = Instant::now();
    let resp = api.router().oneshot(req).await.expect("router");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    let took = start.elapsed();
    let v: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v.get("errors").is_none(), "{v}");
    took
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let total: Duration = samples.iter().sum();
    println!(
        "{name}: n={} mean={:.2}ms p50={:.2}ms p99={:.2}ms max={:.2}ms",
        samples.len(),
        total.as_secs_f64() * 1e3 / samples.len() as f64,
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

async fn run(sizes: &Sizes) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = Arc::new(af_operator::store::open(&url).await.expect("store"));
    let (token, _) = auth::create_token(store.as_ref(), "bench", false, "bench")
        .await
        .expect("token");
    let token = token.expose_secret().to_string();

    // Seed the store directly, in batches.
    let seed = Instant::now();
    let mut batch = Vec::new();
    for i in 0..sizes.resources {
        let text = agent(&format!("agent-{i:05}"), i % 10, "app:1")
            .replace("metadata: {", "metadata: {project: bench, ");
        batch.push(load_str("seed", &text).expect("seed doc").remove(0).input);
        if batch.len() == 500 {
            store.apply(&batch).await.expect("seed");
            batch.clear();
        }
    }
    store.apply(&batch).await.expect("seed");
    println!(
        "seeded {} resources in {:.1}s",
        sizes.resources,
        seed.elapsed().as_secs_f64()
    );

    let api = Api::new(
        store.clone(),
        store.clone(),
        None,
        ApiConfig {
            rate_limit: None,
            ..ApiConfig::default()
        },
    );

    // Apply mutations, one new resource each, one after another.
    let apply = "mutation($d: [String!]!) { apply(documents: $d) { result generation } }";
    let mut samples = Vec::with_capacity(sizes.applies);
    let start = Instant::now();
    for i in 0..sizes.applies {
        let doc = agent(&format!("new-{i:05}"), i % 10, "app:1");
        samples.push(post(&api, &token, apply, json!({"d": [doc]})).await);
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "apply (create, sequential): {:.0} mutations/s",
        sizes.applies as f64 / secs
    );
    report("apply latency", samples);

    // The same with 4 clients at once (SQLite serialises writers).
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..4 {
        let (api, token) = (api.clone(), token.clone());
        let n = sizes.applies / 4;
        tasks.push(tokio::spawn(async move {
            for i in 0..n {
                let doc = agent(&format!("par-{c}-{i:05}"), i % 10, "app:1");
                post(&api, &token, apply, json!({"d": [doc]})).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    println!(
        "apply (create, 4 concurrent clients): {:.0} mutations/s",
        (sizes.applies / 4 * 4) as f64 / start.elapsed().as_secs_f64()
    );

    // One resource by name, with status fields.
    let get = "query($n: String!) { resource(kind: AGENT, name: $n) { name generation phase spec conditions { type status } akash { dseq } } }";
    let mut samples = Vec::with_capacity(sizes.gets);
    for i in 0..sizes.gets {
        let name = format!("agent-{:05}", (i * 7919) % sizes.resources);
        samples.push(post(&api, &token, get, json!({"n": name})).await);
    }
    report("resource(kind, name) query", samples);

    // A list by label selector over the whole project (10% of it matches; first 100).
    let list = r#"{ resources(kind: AGENT, labels: "team=t3", limit: 100) { name generation } }"#;
    let mut samples = Vec::with_capacity(sizes.lists);
    for _ in 0..sizes.lists {
        samples.push(post(&api, &token, list, json!({})).await);
    }
    report("resources(kind, labels) list query", samples);
    store.close().await;
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(if full { &FULL } else { &SMOKE }));
}
