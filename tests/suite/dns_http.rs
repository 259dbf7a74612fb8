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

#[derive(Default)]
struct Gc {
    public: Mutex<Option<rsa::RsaPublicKey>>,
    changes: Mutex<Vec<Value>>,
    fails: AtomicUsize,
}

async fn token(State(gc): State<Arc<Gc>>, body: String) -> impl IntoResponse {
    use base64::Engine as _;
    use rsa::signature::Verifier;
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let jwt = &form["assertion"];
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .unwrap();
    let key = gc.public.lock().unwrap().clone().unwrap();
    let vk = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key);
    let ok = vk
        .verify(
            input.as_bytes(),
            &rsa::pkcs1v15::Signature::try_from(sig.as_slice()).unwrap(),
        )
        .is_ok();
    if !ok {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(input.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], "dns@p.iam.gserviceaccount.com");
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/ndev.clouddns.readwrite"
    );
    Json(json!({"access_token": "ya29.test", "expires_in": 3599, "token_type": "Bearer"}))
        .into_response()
}

async fn rrsets(
    h: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> impl IntoResponse {
    assert_eq!(h.get("authorization").unwrap(), "Bearer ya29.test");
    match q.get("pageToken").map(String::as_str) {
        None => Json(
            json!({"kind": "dns#resourceRecordSetsListResponse", "rrsets": [
            {"name": "example.com.", "type": "SOA", "ttl": 21600, "rrdatas": ["ns1. host. 1 2 3 4 5"]}],
            "nextPageToken": "p2"}),
        ),
        Some("p2") => Json(
            json!({"rrsets": [{"name": "www.example.com.", "type": "TXT", "ttl": 300, "rrdatas": ["\"hello\""]}]}),
        ),
        Some(other) => panic!("page {other}"),
    }
}

async fn changes(
    State(gc): State<Arc<Gc>>,
    h: HeaderMap,
    Json(body): Json<Value>,
) -> impl IntoResponse {
    assert_eq!(h.get("authorization").unwrap(), "Bearer ya29.test");
    if gc.fails.fetch_add(1, Ordering::SeqCst) == 0 {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": {"code": 503}})),
        )
            .into_response();
    }
    gc.changes.lock().unwrap().push(body);
    Json(json!({"kind": "dns#change", "id": "1", "status": "pending"})).into_response()
}

#[tokio::test]
async fn dns_google_signs_its_jwt_pages_and_retries_a_503() {
    use rsa::pkcs8::EncodePrivateKey;
    let mut rng = rand::thread_rng();
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap();
    let pem = key
        .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap()
        .to_string();
    let gc = Arc::new(Gc::default());
    *gc.public.lock().unwrap() = Some(key.to_public_key());
    let app = Router::new()
        .route("/token", post(token))
        .route("/projects/p/managedZones/mz/rrsets", get(rrsets))
        .route("/projects/p/managedZones/mz/changes", post(changes))
        .with_state(gc.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let account =
        json!({"type": "service_account", "client_email": "dns@p.iam.gserviceaccount.com",
        "private_key": pem, "token_uri": format!("{base}/token")})
        .to_string();
    let policy = RetryPolicy {
        attempts: 3,
        base: Duration::from_millis(10),
        max: Duration::from_millis(100),
        timeout: Duration::from_secs(5),
    };
    let p =
        af_operator::dns::google::GoogleDnsProvider::new(Some(&base), "p", "mz", &account, policy)
            .unwrap();
    let rs = p.records("example.com").await.unwrap();
    assert_eq!(rs.len(), 2);
    assert!(rs.contains(&Rrset::new(
        "www.example.com",
        RecordType::Txt,
        300,
        ["hello".to_string()]
    )));
    let old = Rrset::new(
        "www.example.com",
        RecordType::Txt,
        300,
        ["hello".to_string()],
    );
    let new = Rrset::new("www.example.com", RecordType::Txt, 300, ["bye".to_string()]);
    p.apply("example.com", &[Change::Update { from: old, to: new }])
        .await
        .unwrap();
    let c = gc.changes.lock().unwrap().clone();
    assert_eq!(c.len(), 1, "the 503 was retried once");
    assert_eq!(c[0]["deletions"][0]["rrdatas"], json!(["\"hello\""]));
    assert_eq!(c[0]["additions"][0]["rrdatas"], json!(["\"bye\""]));
    assert_eq!(c[0]["additions"][0]["name"], json!("www.example.com."));
}

#[derive(Default)]
struct De {
    hits: AtomicUsize,
    patches: Mutex<Vec<Value>>,
    base: Mutex<String>,
}

async fn de_list(
    State(de): State<Arc<De>>,
    h: HeaderMap,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> impl IntoResponse {
    assert_eq!(h.get("authorization").unwrap(), "Token de-token");
    if de.hits.fetch_add(1, Ordering::SeqCst) == 0 {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "0")],
            Json(json!({"detail": "Request was throttled."})),
        )
            .into_response();
    }
    let base = de.base.lock().unwrap().clone();
    match q.get("cursor").map(String::as_str) {
        Some("") => (
            [("link", format!("<{base}/domains/example.com/rrsets/?cursor=>; rel=\"first\", <{base}/domains/example.com/rrsets/?cursor=c2>; rel=\"next\""))],
            Json(json!([{"domain": "example.com", "subname": "", "name": "example.com.", "type": "NS", "ttl": 3600, "records": ["ns1.desec.io."]}])),
        )
            .into_response(),
        Some("c2") => Json(json!([{"domain": "example.com", "subname": "www", "name": "www.example.com.", "type": "A", "ttl": 3600, "records": ["192.0.2.1"]}])).into_response(),
        other => panic!("cursor {other:?}"),
    }
}

async fn de_patch(
    State(de): State<Arc<De>>,
    h: HeaderMap,
    Json(body): Json<Value>,
) -> impl IntoResponse {
    assert_eq!(h.get("authorization").unwrap(), "Token de-token");
    de.patches.lock().unwrap().push(body.clone());
    Json(body)
}

#[tokio::test]
async fn dns_desec_follows_cursors_retries_429_and_patches_in_bulk() {
    let de = Arc::new(De::default());
    let app = Router::new()
        .route("/domains/example.com/rrsets/", get(de_list).patch(de_patch))
        .with_state(de.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    *de.base.lock().unwrap() = base.clone();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let policy = RetryPolicy {
        attempts: 3,
        base: Duration::from_millis(10),
        max: Duration::from_millis(100),
        timeout: Duration::from_secs(5),
    };
    let p = af_operator::dns::desec::DesecProvider::new(Some(&base), "de-token", policy);
    let rs = p.records("example.com").await.unwrap();
    assert_eq!(rs.len(), 2);
    assert!(rs.contains(&Rrset::new(
        "www.example.com",
        RecordType::A,
        3600,
        ["192.0.2.1".to_string()]
    )));
    let www = Rrset::new(
        "www.example.com",
        RecordType::A,
        3600,
        ["192.0.2.1".to_string()],
    );
    let apex = Rrset::new("example.com", RecordType::Txt, 3600, ["v=1".to_string()]);
    p.apply("example.com", &[Change::Delete(www), Change::Create(apex)])
        .await
        .unwrap();
    let b = de.patches.lock().unwrap().clone();
    assert_eq!(
        b,
        vec![json!([
            {"subname": "www", "type": "A", "ttl": 3600, "records": []},
            {"subname": "", "type": "TXT", "ttl": 3600, "records": ["\"v=1\""]},
        ])]
    );
}
