//! The Cloudflare provider against a local server that checks the API as Cloudflare documents
//! it (bearer token, paged listing, one batch) and answers as it does, including a 429.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use af_operator::dns::cloudflare::CloudflareProvider;
use af_operator::dns::http::RetryPolicy;
use af_operator::dns::{Change, DnsProvider, RecordType, Rrset};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

#[derive(Default)]
struct Cf {
    hits: AtomicUsize,
    batches: Mutex<Vec<Value>>,
}

fn authorized(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer cf-token")
}

async fn zones(
    State(_): State<Arc<Cf>>,
    h: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> impl IntoResponse {
    if !authorized(&h) {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"success": false, "errors": [{"code": 9109}]})),
        )
            .into_response();
    }
    assert_eq!(q.get("name").map(String::as_str), Some("example.com"));
    Json(json!({"success": true, "errors": [], "result": [{"id": "z1", "name": "example.com"}]}))
        .into_response()
}

async fn records(
    State(cf): State<Arc<Cf>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> impl IntoResponse {
    assert!(authorized(&h));
    assert_eq!(id, "z1");
    // The first call is rate limited.
    if cf.hits.fetch_add(1, Ordering::SeqCst) == 0 {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "0")],
            Json(json!({"success": false})),
        )
            .into_response();
    }
    let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let per: usize = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(20);
    let all: Vec<Value> = (0..150)
        .map(|i| json!({"id": format!("r{i}"), "type": "A", "name": format!("h{i}.example.com"), "content": "192.0.2.1", "ttl": 300, "proxied": false}))
        .collect();
    let chunk: Vec<Value> = all
        .iter()
        .skip((page - 1) * per)
        .take(per)
        .cloned()
        .collect();
    Json(json!({"success": true, "errors": [], "result": chunk,
        "result_info": {"page": page, "per_page": per, "count": chunk.len(), "total_count": 150, "total_pages": 150usize.div_ceil(per)}}))
    .into_response()
}

async fn batch(
    State(cf): State<Arc<Cf>>,
    h: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> impl IntoResponse {
    assert!(authorized(&h));
    assert_eq!(id, "z1");
    cf.batches.lock().unwrap().push(body);
    Json(json!({"success": true, "errors": [], "result": {}}))
}

#[tokio::test]
async fn dns_cloudflare_pages_retries_429_and_writes_one_batch() {
    let cf = Arc::new(Cf::default());
    let app = Router::new()
        .route("/zones", get(zones))
        .route("/zones/{id}/dns_records", get(records))
        .route("/zones/{id}/dns_records/batch", post(batch))
        .with_state(cf.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let policy = RetryPolicy {
        attempts: 3,
        base: Duration::from_millis(10),
        max: Duration::from_millis(100),
        timeout: Duration::from_secs(5),
    };
    let p = CloudflareProvider::new(Some(&base), "cf-token", None, false, policy);
    let rs = p.records("example.com").await.unwrap();
    assert_eq!(rs.len(), 150, "both pages read");
    let from = Rrset::new(
        "h3.example.com",
        RecordType::A,
        300,
        ["192.0.2.1".to_string()],
    );
    let to = Rrset::new(
        "h3.example.com",
        RecordType::A,
        300,
        ["192.0.2.9".to_string()],
    );
    let new = Rrset::new(
        "_dnslink.example.com",
        RecordType::Txt,
        60,
        ["dnslink=/ipfs/x".to_string()],
    );
    p.apply(
        "example.com",
        &[
            Change::Update { from, to },
            Change::Delete(Rrset::new(
                "h4.example.com",
                RecordType::A,
                300,
                ["192.0.2.1".to_string()],
            )),
            Change::Create(new),
        ],
    )
    .await
    .unwrap();
    let b = cf.batches.lock().unwrap().clone();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["deletes"], json!([{"id": "r3"}, {"id": "r4"}]));
    assert_eq!(b[0]["posts"][0]["content"], json!("192.0.2.9"));
    assert_eq!(b[0]["posts"][1]["content"], json!("\"dnslink=/ipfs/x\""));
    // A wrong token is refused as unauthorized.
    let bad = CloudflareProvider::new(Some(&base), "nope", None, false, policy);
    assert!(matches!(
        bad.records("example.com").await.unwrap_err(),
        af_operator::dns::DnsError::Unauthorized { .. }
    ));
}
