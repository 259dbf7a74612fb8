//! Hostile input against the API and the loader: revoked tokens on open sockets, tokens in
//! trace logs, sockets that never initialise, requests packed with operations, impossible
//! numbers and undeployable specs, alias bombs, expensive fields, out-of-range arguments,
//! unauthenticated floods — each reproduced against a real server on 127.0.0.1, on SQLite
//! and on PostgreSQL where a store is involved, within a time bound.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use af_operator::api::auth::{self, Token};
use af_operator::api::rate::RateLimit;
use af_operator::api::{self, Api, ApiConfig, WebSocketLimits};
use af_operator::spec::{Kind, ResourceKey};
use af_operator::store::sql::SqlStore;
use af_operator::store::{Store, TokenStore};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::common::TestDb;

/// A server on 127.0.0.1:0 over a fresh store, with tokens of projects `alpha` and `beta`.
struct Served {
    _db: TestDb,
    store: Arc<SqlStore>,
    addr: SocketAddr,
    alpha: String,
    alpha_id: String,
    beta: String,
    http: reqwest::Client,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn quiet() -> ApiConfig {
    ApiConfig {
        rate_limit: None,
        address_rate_limit: None,
        ..ApiConfig::default()
    }
}

async fn serve(db: TestDb, config: ApiConfig) -> Served {
    let store = Arc::new(db.open().await);
    let (alpha, record) = auth::create_token(store.as_ref(), "alpha", false, "test")
        .await
        .unwrap();
    let (beta, _) = auth::create_token(store.as_ref(), "beta", false, "test")
        .await
        .unwrap();
    let api = Api::new(store.clone(), store.clone(), None, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(api::serve(listener, api, std::future::pending()));
    Served {
        _db: db,
        store,
        addr,
        alpha: alpha.expose_secret().to_string(),
        alpha_id: record.id,
        beta: beta.expose_secret().to_string(),
        http: reqwest::Client::new(),
        server,
    }
}

struct Reply {
    status: u16,
    retry_after: Option<String>,
    body: Value,
}

impl Served {
    async fn post(&self, token: Option<&str>, query: &str, variables: Value) -> Reply {
        let mut req = self
            .http
            .post(format!("http://{}/graphql", self.addr))
            .json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let body = resp.json().await.unwrap_or(Value::Null);
        Reply {
            status,
            retry_after,
            body,
        }
    }

    async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let r = self.post(Some(token), query, variables).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }
}

fn code(v: &Value) -> &str {
    v["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

const APPLY: &str =
    "mutation($d: [String!]!) { apply(documents: $d) { kind name project result warnings } }";

fn site(name: &str) -> String {
    format!(
        "apiVersion: alternatefutures.ai/v1alpha1\nkind: Site\nmetadata: {{name: {name}}}\nspec:\n  source: {{ipfs: QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG}}\n"
    )
}

fn agent(resources: &str, extra: &str) -> String {
    format!(
        "apiVersion: alternatefutures.ai/v1alpha1
kind: Agent
metadata:
  name: api
spec:
  image: ghcr.io/alternatefutures/api:1.0.0
  port: 8080
  resources:
{resources}{extra}"
    )
}

// ---------------------------------------------------------------- WebSockets

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_open(addr: SocketAddr) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = format!("ws://{addr}/graphql")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

async fn ws_send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// What a socket does next within `wait`.
#[derive(Debug)]
enum Next {
    Text(Value),
    Closed(Option<u16>, String),
    Silent,
}

async fn ws_next(ws: &mut Ws, wait: Duration) -> Next {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                return Next::Text(serde_json::from_str(&t).unwrap_or(Value::Null))
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Next::Closed(
                    frame.as_ref().map(|f| u16::from(f.code)),
                    frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                )
            }
            Ok(Some(Ok(_))) => continue,
            Ok(None) | Ok(Some(Err(_))) => return Next::Closed(None, String::new()),
            Err(_) => return Next::Silent,
        }
    }
}

async fn ws_init(addr: SocketAddr, token: &str) -> Ws {
    let mut ws = ws_open(addr).await.expect("connect");
    ws_send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"token": token}}),
    )
    .await;
    match ws_next(&mut ws, Duration::from_secs(5)).await {
        Next::Text(m) if m["type"] == "connection_ack" => ws,
        other => panic!("expected connection_ack, got {other:?}"),
    }
}

/// Reads until the socket closes; fails on any data (errors saying the token is invalid
/// are fine) or when `wait` passes.
async fn expect_close(ws: &mut Ws, wait: Duration) -> (Option<u16>, String) {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ws_next(ws, left).await {
            Next::Closed(code, reason) => return (code, reason),
            Next::Text(m) if m["type"] == "ping" || m["type"] == "pong" => continue,
            Next::Text(m)
                if !m["payload"]["data"].is_object()
                    && m.to_string().contains("UNAUTHENTICATED") =>
            {
                continue
            }
            Next::Text(m) if m["type"] == "complete" => continue,
            other => panic!("expected the socket to close, got {other:?}"),
        }
    }
}

async fn revoked_tokens_lose_their_sockets(db: TestDb) {
    let s = serve(
        db,
        ApiConfig {
            websocket: WebSocketLimits {
                token_recheck: Duration::from_millis(200),
                ..WebSocketLimits::default()
            },
            ..quiet()
        },
    )
    .await;
    let docs = json!({"d": [site("docs")]});
    assert!(s.gql(&s.alpha, APPLY, docs).await.get("errors").is_none());

    // One socket subscribed and delivering.
    let mut watching = ws_init(s.addr, &s.alpha).await;
    ws_send(&mut watching, json!({"id": "w", "type": "subscribe", "payload": {"query": "subscription { resourceChanged { name } }"}})).await;
    // Another that will try to act after the revocation.
    let mut acting = ws_init(s.addr, &s.alpha).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let key = ResourceKey::new(Kind::Site, "alpha", "probe");
    let probe = af_operator::spec::load::load_str("p", &site("probe")).unwrap();
    let mut input = probe[0].input.clone();
    input.key = key.clone();
    s.store.apply(&[input.clone()]).await.unwrap();
    match ws_next(&mut watching, Duration::from_secs(5)).await {
        Next::Text(m) => assert_eq!(m["payload"]["data"]["resourceChanged"]["name"], "probe"),
        other => panic!("no change delivered before the revocation: {other:?}"),
    }

    let started = Instant::now();
    s.store.revoke_token(&s.alpha_id).await.unwrap();
    // HTTP refuses at once.
    let r = s
        .post(Some(&s.alpha), "{ viewer { project } }", json!({}))
        .await;
    assert_eq!(r.status, 401);
    // An operation on an open socket is refused, and the socket closes.
    ws_send(&mut acting, json!({"id": "d", "type": "subscribe", "payload": {"query": "mutation { delete(kind: SITE, name: \"docs\") { result } }"}})).await;
    let mut refused = false;
    let (code, reason) = loop {
        match ws_next(&mut acting, Duration::from_secs(5)).await {
            Next::Text(m) if m["type"] == "complete" => continue,
            Next::Text(m) => {
                assert!(
                    m["payload"].to_string().contains("UNAUTHENTICATED"),
                    "the delete ran on a revoked token: {m}"
                );
                refused = true;
            }
            Next::Closed(code, reason) => break (code, reason),
            Next::Silent => panic!("the socket of a revoked token stayed open"),
        }
    };
    assert!(refused || code == Some(4403), "{code:?} {reason}");
    assert_eq!(code, Some(4403), "{reason}");
    assert!(s
        .store
        .get(&ResourceKey::new(Kind::Site, "alpha", "docs"))
        .await
        .unwrap()
        .is_some());
    // The subscribed socket closes within the recheck interval, delivering nothing more.
    s.store
        .apply(&[{
            let mut i = input.clone();
            i.labels.insert("after".into(), "revoke".into());
            i
        }])
        .await
        .unwrap();
    let (code, reason) = expect_close(&mut watching, Duration::from_secs(3)).await;
    assert_eq!(code, Some(4403), "{reason}");
    assert!(reason.contains("revoked"), "{reason}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

async fn websockets_must_initialise_and_are_capped(db: TestDb) {
    let s = serve(
        db,
        ApiConfig {
            websocket: WebSocketLimits {
                init_timeout: Duration::from_millis(500),
                per_address: 4,
                per_token: 2,
                ..WebSocketLimits::default()
            },
            ..quiet()
        },
    )
    .await;
    // No connection_init: closed with 4408 after the timeout.
    let started = Instant::now();
    let mut idle = ws_open(s.addr).await.unwrap();
    let (code, _) = expect_close(&mut idle, Duration::from_secs(3)).await;
    assert_eq!(code, Some(4408));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_secs(2),
        "{waited:?}"
    );

    // Per token: two; a third init is refused.
    let a1 = ws_init(s.addr, &s.alpha).await;
    let a2 = ws_init(s.addr, &s.alpha).await;
    let mut a3 = ws_open(s.addr).await.unwrap();
    ws_send(
        &mut a3,
        json!({"type": "connection_init", "payload": {"token": s.alpha}}),
    )
    .await;
    // (async-graphql closes a refused graphql-transport-ws init with 1002.)
    let (code, reason) = expect_close(&mut a3, Duration::from_secs(3)).await;
    assert!(code.is_some(), "{reason}");
    assert!(reason.contains("too many"), "{reason}");
    // Per address: four open at once (two of them alpha's); a fifth upgrade is refused.
    let b1 = ws_init(s.addr, &s.beta).await;
    let _b2 = ws_init(s.addr, &s.beta).await;
    match ws_open(s.addr).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 429)
        }
        other => panic!("a fifth socket from one address was accepted: {other:?}"),
    }
    // Closing frees the slots.
    drop((a1, a2, b1));
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        if let Ok(mut ws) = ws_open(s.addr).await {
            ws_send(
                &mut ws,
                json!({"type": "connection_init", "payload": {"token": s.alpha}}),
            )
            .await;
            if let Next::Text(m) = ws_next(&mut ws, Duration::from_secs(2)).await {
                if m["type"] == "connection_ack" {
                    break;
                }
            }
        }
        assert!(Instant::now() < deadline, "closed sockets kept their slots");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------- operations per request

async fn operations_count_against_the_limit(db: TestDb) {
    let s = serve(
        db,
        ApiConfig {
            rate_limit: Some(RateLimit {
                per_second: 0.001,
                burst: 30,
            }),
            address_rate_limit: None,
            ..ApiConfig::default()
        },
    )
    .await;
    let aliased = |n: usize, field: &str| -> String {
        (0..n)
            .map(|i| format!("a{i}: {field} "))
            .collect::<String>()
    };
    // 25 aliased queries take 25 of the 30.
    let q = format!("{{ {} }}", aliased(25, "viewer { project }"));
    assert!(s.gql(&s.alpha, &q, json!({})).await.get("errors").is_none());
    let q = format!("{{ {} }}", aliased(8, "viewer { project }"));
    let v = s.gql(&s.alpha, &q, json!({})).await;
    assert_eq!(code(&v), "RATE_LIMITED", "{v}");
    assert!(
        v["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            >= 1
    );

    // Mutations per request are capped; nothing runs.
    let docs = json!({"d": [site("docs")]});
    assert!(s.gql(&s.beta, APPLY, docs).await.get("errors").is_none());
    let started = Instant::now();
    let deletes: String = (0..3000)
        .map(|i| format!("d{i}: delete(kind: SITE, name: \"docs\") {{ result }} "))
        .collect();
    let v = s
        .gql(&s.beta, &format!("mutation {{ {deletes} }}"), json!({}))
        .await;
    assert_eq!(code(&v), "QUERY_TOO_COMPLEX", "{v}");
    assert!(
        v.to_string().contains("query text"),
        "refused before parsing: {v}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let deletes: String = (0..21)
        .map(|i| format!("d{i}: delete(kind: SITE, name: \"docs\") {{ result }} "))
        .collect();
    let v = s
        .gql(&s.beta, &format!("mutation {{ {deletes} }}"), json!({}))
        .await;
    assert_eq!(code(&v), "QUERY_TOO_COMPLEX", "{v}");
    assert!(v.to_string().contains("21 mutations"), "{v}");
    assert!(s
        .store
        .get(&ResourceKey::new(Kind::Site, "beta", "docs"))
        .await
        .unwrap()
        .is_some());
    // Aliases are capped.
    let q = format!("{{ {} }}", aliased(101, "viewer { project }"));
    let v = s.gql(&s.beta, &q, json!({})).await;
    assert_eq!(code(&v), "QUERY_TOO_COMPLEX", "{v}");
    assert!(v.to_string().contains("aliased"), "{v}");
}

async fn expensive_fields_cost_and_arguments_are_checked(db: TestDb) {
    let s = serve(db, quiet()).await;
    // Before: 9,000 aliases of `resources(limit: 1) { renderedSdl }` passed.
    let q: String = (0..9000)
        .map(|i| format!("r{i}: resources(limit: 1) {{ renderedSdl }} "))
        .collect();
    let started = Instant::now();
    let v = s.gql(&s.alpha, &format!("{{ {q} }}"), json!({})).await;
    assert_eq!(code(&v), "QUERY_TOO_COMPLEX", "{v}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Rendering costs: 300 renders exceed the default complexity.
    let v = s
        .gql(
            &s.alpha,
            "{ resources(limit: 300) { renderedSdl } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&v), "QUERY_TOO_COMPLEX", "{v}");
    let v = s
        .gql(
            &s.alpha,
            "{ resources(limit: 1000) { akash { dseq } events(limit: 1) { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&v), "QUERY_TOO_COMPLEX", "{v}");
    let v = s
        .gql(
            &s.alpha,
            "{ resources(limit: 100) { name renderedSdl } }",
            json!({}),
        )
        .await;
    assert!(v.get("errors").is_none(), "{v}");

    // The documented ranges are enforced.
    for q in [
        "{ resources(limit: -1) { name } }",
        "{ resources(limit: 0) { name } }",
        "{ resources(limit: 100000) { name } }",
        "{ resources(offset: -5) { name } }",
        "{ resources(limit: 1) { events(limit: 0) { id } } }",
        "{ resources(limit: 1) { events(limit: 201) { id } } }",
    ] {
        let docs = json!({"d": [site("docs")]});
        let _ = s.gql(&s.alpha, APPLY, docs).await;
        let v = s.gql(&s.alpha, q, json!({})).await;
        assert_eq!(code(&v), "BAD_REQUEST", "{q}: {v}");
    }
    let v = s
        .gql(&s.alpha, "{ resources(limit: 1000) { name } }", json!({}))
        .await;
    assert!(v.get("errors").is_none(), "{v}");
}

async fn failed_authentications_are_limited_per_address(db: TestDb) {
    let s = serve(
        db,
        ApiConfig {
            address_rate_limit: Some(RateLimit {
                per_second: 0.001,
                burst: 5,
            }),
            ..quiet()
        },
    )
    .await;
    let q = "{ viewer { project } }";
    // Successful requests are not charged.
    for _ in 0..10 {
        assert_eq!(s.post(Some(&s.alpha), q, json!({})).await.status, 200);
    }
    let guess = Token::generate().unwrap();
    for _ in 0..5 {
        let r = s.post(Some(guess.expose_secret()), q, json!({})).await;
        assert_eq!(r.status, 401);
    }
    let r = s.post(None, q, json!({})).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(code(&r.body), "RATE_LIMITED");
    assert!(r
        .retry_after
        .is_some_and(|s| s.parse::<u64>().unwrap() >= 1));
    // Before the lookup: this address's requests wait, whatever token they carry.
    let r = s.post(Some(guess.expose_secret()), q, json!({})).await;
    assert_eq!(r.status, 429);
    let r = s.post(Some(&s.alpha), q, json!({})).await;
    assert_eq!(r.status, 429);
    // WebSocket upgrades too.
    let mut req = format!("ws://{}/graphql", s.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Authorization",
        format!("Bearer {}", guess.expose_secret()).parse().unwrap(),
    );
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 429)
        }
        other => panic!("expected 429, got {other:?}"),
    }
}

// ---------------------------------------------------------------- apply

fn problem<'a>(v: &'a Value, path: &str) -> &'a Value {
    v["errors"][0]["extensions"]["problems"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["path"] == path))
        .unwrap_or_else(|| panic!("no problem at {path}: {v}"))
}

async fn impossible_and_undeployable_specs_are_refused_at_apply(db: TestDb) {
    let s = serve(db, quiet()).await;
    let apply = |doc: String| {
        let s = &s;
        async move { s.gql(&s.alpha, APPLY, json!({"d": [doc]})).await }
    };
    let fine = "    cpu: 0.5\n    memory: 512Mi\n";
    let cases = [
        (
            agent(fine, "  placement:\n    maxPrice: 1e309\n"),
            "spec.placement.maxPrice",
            12,
            "scientific notation",
        ),
        (
            agent(
                fine,
                "  placement:\n    escrow:\n      deposit: 1e309\n",
            ),
            "spec.placement.escrow.deposit",
            13,
            "scientific notation",
        ),
        (
            agent("    cpu: 0.5\n    memory: 9223372036854775808\n", ""),
            "spec.resources.memory",
            10,
            "2Ti",
        ),
        (
            agent("    cpu: 500\n    memory: 512Mi\n", ""),
            "spec.resources.cpu",
            9,
            "384",
        ),
        (
            agent("    cpu: 0.5\n    memory: 9000Gi\n", ""),
            "spec.resources.memory",
            10,
            "2Ti",
        ),
        (
            agent(
                fine,
                "  sidecars:\n    - name: db\n      image: postgres:16\n      resources:\n        cpu: 400\n        memory: 1Gi\n",
            ),
            "spec.sidecars[0].resources.cpu",
            15,
            "384",
        ),
    ];
    for (doc, path, line, words) in cases {
        let v = apply(doc.clone()).await;
        assert_eq!(code(&v), "INVALID_SPEC", "{doc}\n{v}");
        let p = problem(&v, path);
        assert_eq!(p["line"], line, "{doc}\n{v}");
        assert!(p["message"].as_str().unwrap().contains(words), "{v}");
    }
    let none = s.gql(&s.alpha, "{ resources { name } }", json!({})).await;
    assert_eq!(none["data"]["resources"], json!([]), "nothing was stored");

    // A secretRef to a SecretStore that does not exist: applied, with a warning; the order
    // of applies does not matter.
    let with_ref = agent(
        fine,
        "  env:\n    - name: DB\n      secretRef: {store: vault, key: DB_URL}\n",
    );
    let v = apply(with_ref.clone()).await;
    assert!(v.get("errors").is_none(), "{v}");
    let warnings = &v["data"]["apply"][0]["warnings"];
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("SecretStore `vault`"),
        "{v}"
    );
    let vault = "apiVersion: alternatefutures.ai/v1alpha1
kind: SecretStore
metadata: {name: vault}
spec:
  image: ghcr.io/alternatefutures/vault:1.0.0
  port: 8200
  resources: {cpu: 0.5, memory: 512Mi}
";
    let v = s
        .gql(
            &s.alpha,
            APPLY,
            json!({"d": [vault, with_ref.replace("DB_URL", "URL")]}),
        )
        .await;
    assert!(v.get("errors").is_none(), "{v}");
    assert_eq!(v["data"]["apply"][1]["warnings"], json!([]), "{v}");
    let v = apply(with_ref).await;
    assert_eq!(v["data"]["apply"][0]["warnings"], json!([]), "{v}");
}

async fn a_null_project_is_the_tokens(db: TestDb) {
    let s = serve(db, quiet()).await;
    for null in ["null", "~"] {
        let doc = site("docs").replace(
            "metadata: {name: docs}",
            &format!("metadata: {{name: docs, project: {null}}}"),
        );
        let v = s.gql(&s.alpha, APPLY, json!({"d": [doc]})).await;
        assert!(v.get("errors").is_none(), "{v}");
        assert_eq!(v["data"]["apply"][0]["project"], "alpha", "{v}");
    }
    assert!(s
        .store
        .get(&ResourceKey::new(Kind::Site, "default", "docs"))
        .await
        .unwrap()
        .is_none());
}

/// A 1 KiB document of nine alias levels: a billion nodes if expanded.
fn alias_bomb() -> String {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{p}"); 10].join(", ")
        ));
    }
    text
}

async fn alias_bombs_are_cheap(db: TestDb) {
    let s = Arc::new(serve(db, quiet()).await);
    let bombs = json!({"d": vec![alias_bomb(); 20]});
    let started = Instant::now();
    let v = s.gql(&s.alpha, APPLY, bombs.clone()).await;
    assert_eq!(code(&v), "INVALID_SPEC", "{v}");
    assert!(
        v.to_string().contains("more than 10000 nodes"),
        "expansion stops at 10,000 nodes per document, bounding memory: {v}"
    );
    let one = started.elapsed();
    assert!(one < Duration::from_secs(2), "{one:?}");

    // Twenty clients at once, while another project applies a small spec.
    let started = Instant::now();
    let flood: Vec<_> = (0..20)
        .map(|_| {
            let (s, bombs) = (s.clone(), bombs.clone());
            tokio::spawn(async move { code(&s.gql(&s.alpha, APPLY, bombs).await).to_string() })
        })
        .collect();
    let simple = Instant::now();
    let v = s.gql(&s.beta, APPLY, json!({"d": [site("docs")]})).await;
    let simple = simple.elapsed();
    assert!(v.get("errors").is_none(), "{v}");
    for f in flood {
        assert_eq!(f.await.unwrap(), "INVALID_SPEC");
    }
    assert!(simple < Duration::from_secs(2), "{simple:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

// ---------------------------------------------------------------- CLI

fn af(db: &str, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_af-operator"));
    cmd.args(args)
        .env("AF_DATABASE_URL", db)
        .env_remove("AF_LOG")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn af-operator");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn cli_apply_refuses_empty_input_and_undeployable_specs(db: &str) {
    for empty in ["", "---\n~\n", "# nothing\n"] {
        let (code, out, err) = af(db, &["apply", "-f", "-"], empty, &[]);
        assert_ne!(code, 0, "{empty:?}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("no resources in input"), "{err}");
    }
    let doc = agent("    cpu: 500\n    memory: 512Mi\n", "");
    let (code, _, err) = af(db, &["apply", "-f", "-"], &doc, &[]);
    assert_ne!(code, 0);
    assert!(err.contains("<stdin>:9:"), "{err}");
    assert!(err.contains("spec.resources.cpu"), "{err}");
    let doc = agent(
        "    cpu: 0.5\n    memory: 512Mi\n",
        "  env:\n    - name: DB\n      secretRef: {store: vault, key: DB_URL}\n",
    );
    let (code, out, err) = af(db, &["apply", "-f", "-"], &doc, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("agent/api created"), "{out}");
    assert!(
        err.contains("Warning: agent/api") && err.contains("`vault`"),
        "{err}"
    );
}

#[test]
fn cli_apply_on_sqlite() {
    let db = TestDb::sqlite();
    cli_apply_refuses_empty_input_and_undeployable_specs(&db.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_apply_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || cli_apply_refuses_empty_input_and_undeployable_specs(&url))
        .await
        .unwrap();
}

/// Eight processes opening one new SQLite file at once: all succeed, none logs a warning.
#[test]
fn concurrent_opens_of_a_new_sqlite_file_log_nothing() {
    for _ in 0..3 {
        let db = TestDb::sqlite();
        let runs: Vec<_> = (0..8)
            .map(|_| {
                let url = db.url.clone();
                std::thread::spawn(move || af(&url, &["token", "list"], "", &[("AF_LOG", "warn")]))
            })
            .collect();
        for r in runs {
            let (code, _, err) = r.join().unwrap();
            assert_eq!(code, 0, "{err}");
            assert!(!err.contains("WARN") && !err.contains("locked"), "{err}");
        }
    }
}

/// `serve` at trace level: the token sent in `connection_init` and in `Authorization` never
/// reaches the log (tungstenite logs every message it receives at trace).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_reach_a_trace_log() {
    use std::io::{BufRead, Read};
    let db = TestDb::sqlite();
    let store = db.open().await;
    let (token, _) = auth::create_token(&store, "alpha", false, "test")
        .await
        .unwrap();
    store.close().await;
    let token = token.expose_secret().to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_af-operator"))
        .args(["serve", "--controllers=false", "--listen", "127.0.0.1:0"])
        .env("AF_DATABASE_URL", &db.url)
        .env("AF_LOG", "trace")
        .env_remove("PORT")
        .env_remove("AF_LISTEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut log = String::new();
    let addr = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve ended: {log}"
        );
        log.push_str(&line);
        if let Some(rest) = line.split("serving GraphQL on http://").nth(1) {
            break rest.split('/').next().unwrap().to_string();
        }
    };
    let reader = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
        rest
    });
    let addr: SocketAddr = addr.parse().unwrap();
    let mut ws = ws_init(addr, &token).await;
    ws_send(
        &mut ws,
        json!({"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { project } }"}}),
    )
    .await;
    match ws_next(&mut ws, Duration::from_secs(5)).await {
        Next::Text(m) => assert_eq!(m["payload"]["data"]["viewer"]["project"], "alpha", "{m}"),
        other => panic!("{other:?}"),
    }
    drop(ws);
    let r = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .bearer_auth(&token)
        .json(&json!({"query": "{ viewer { project } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    child.wait().unwrap();
    log.push_str(&reader.join().unwrap());
    assert!(log.contains("DEBUG"), "verbose logging was on: {log}");
    assert!(log.contains("graphql request"), "{log}");
    assert!(!log.contains(&token), "the token was logged:\n{log}");
    assert!(!log.contains(&token[3..]), "the token was logged:\n{log}");
    assert!(
        !log.contains("connection_init"),
        "a WebSocket payload was logged:\n{log}"
    );
}

// ---------------------------------------------------------------- load

/// 20 clients sending the worst request of each kind above (each from an address of its
/// own) while one well-behaved client measures its latency, against `af-operator serve` in
/// a process of its own (its peak RSS read from /proc). Run with
/// `cargo test --test suite hostile::load -- --ignored --nocapture`; `AF_LOAD_BINARY` names
/// another binary to serve with (e.g. `target/release/af-operator`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a load test: run it on its own"]
async fn load_worst_requests_against_a_well_behaved_client() {
    use std::io::BufRead;
    let db = TestDb::sqlite();
    let store = Arc::new(db.open().await);
    let (beta, _) = auth::create_token(store.as_ref(), "beta", false, "load")
        .await
        .unwrap();
    let beta = beta.expose_secret().to_string();
    let mut tokens = Vec::new();
    for i in 0..20 {
        let (t, _) = auth::create_token(store.as_ref(), &format!("p{i}"), false, "load")
            .await
            .unwrap();
        tokens.push(t.expose_secret().to_string());
    }
    for i in 0..10 {
        let mut d = af_operator::spec::load::load_str("s", &site(&format!("s{i}")))
            .unwrap()
            .remove(0)
            .input;
        d.key.project = "beta".into();
        store.apply(&[d]).await.unwrap();
    }
    store.close().await;
    let binary = std::env::var("AF_LOAD_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_af-operator").to_string());
    let mut child = std::process::Command::new(&binary)
        .args(["serve", "--controllers=false", "--listen", "127.0.0.1:0"])
        .env("AF_DATABASE_URL", &db.url)
        .env_remove("AF_LOG")
        .env_remove("RUST_LOG")
        .env_remove("PORT")
        .env_remove("AF_LISTEN")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let addr: SocketAddr = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "serve ended");
        if let Some(rest) = line.split("serving GraphQL on http://").nth(1) {
            break rest.split('/').next().unwrap().parse().unwrap();
        }
    };
    let server_log = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
        rest
    });
    let pid = child.id();

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deletes: String = (0..3000)
        .map(|i| format!("d{i}: delete(kind: SITE, name: \"s1\") {{ result }} "))
        .collect();
    let few_deletes: String = (0..20)
        .map(|i| format!("d{i}: delete(kind: SITE, name: \"s1\") {{ result }} "))
        .collect();
    let renders: String = (0..9000)
        .map(|i| format!("r{i}: resources(limit: 1) {{ renderedSdl }} "))
        .collect();
    let most_renders: String = (0..100)
        .map(|i| format!("r{i}: resources(limit: 1) {{ renderedSdl }} "))
        .collect();
    let worst: Vec<Value> = vec![
        json!({"query": APPLY, "variables": {"d": vec![alias_bomb(); 20]}}),
        json!({"query": format!("mutation {{ {deletes} }}")}),
        json!({"query": format!("mutation {{ {few_deletes} }}")}),
        json!({"query": format!("{{ {renders} }}")}),
        json!({"query": format!("{{ {most_renders} }}")}),
        json!({"query": "{ resources(limit: 100000) { name } }"}),
        json!({"query": APPLY, "variables": {"d": [agent("    cpu: 500\n    memory: 9000Gi\n", "")]}}),
    ];
    let worst = Arc::new(worst);
    // Sockets that never send connection_init, held open by their clients.
    let idle = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut attackers = Vec::new();
    for (i, token) in tokens.into_iter().enumerate() {
        let (stop, worst, idle) = (stop.clone(), worst.clone(), idle.clone());
        attackers.push(tokio::spawn(async move {
            // Each client from an address of its own (127.0.0.2…): the per-address limit
            // on failed authentications must not hit the well-behaved client on 127.0.0.1.
            let own: std::net::IpAddr = format!("127.0.0.{}", i + 2).parse().unwrap();
            let http = reqwest::Client::builder()
                .local_address(own)
                .build()
                .unwrap();
            let mut sent = 0u64;
            let mut k = i;
            let guess = Token::generate().unwrap();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let body = &worst[k % worst.len()];
                let _ = http
                    .post(format!("http://{addr}/graphql"))
                    .bearer_auth(&token)
                    .json(body)
                    .send()
                    .await;
                // And an unauthenticated guess, and a socket that never initialises.
                let _ = http
                    .post(format!("http://{addr}/graphql"))
                    .bearer_auth(guess.expose_secret())
                    .json(body)
                    .send()
                    .await;
                if k % 10 == 0 {
                    if let Ok(socket) = tokio::net::TcpSocket::new_v4() {
                        let _ = socket.bind(SocketAddr::new(own, 0));
                        if let Ok(stream) = socket.connect(addr).await {
                            let mut req = format!("ws://{addr}/graphql")
                                .into_client_request()
                                .unwrap();
                            req.headers_mut().insert(
                                "Sec-WebSocket-Protocol",
                                "graphql-transport-ws".parse().unwrap(),
                            );
                            if let Ok((ws, _)) = tokio_tungstenite::client_async(req, stream).await
                            {
                                idle.lock().unwrap().push(ws);
                            }
                        }
                    }
                }
                k += 1;
                sent += 2;
            }
            sent
        }));
    }
    let well_behaved = reqwest::Client::new();
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let t = Instant::now();
        let r = well_behaved
            .post(format!("http://{addr}/graphql"))
            .bearer_auth(&beta)
            .json(&json!({"query": "{ resources(limit: 10) { name project phase } }"}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        latencies.push(t.elapsed());
        assert_eq!(status, 200, "{v}");
        assert!(
            v.get("errors").is_none(),
            "the well-behaved client failed: {v}"
        );
        assert_eq!(v["data"]["resources"].as_array().unwrap().len(), 10);
        // Well-behaved: within its token's 20 requests per second.
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut sent = 0;
    for a in attackers {
        sent += a.await.unwrap();
    }
    let idle_open = idle.lock().unwrap().len();
    let server_hwm = status_kib_of(&format!("/proc/{pid}/status"), "VmHWM:");
    drop(idle);
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let log = server_log.join().unwrap();
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "load ({binary}): {} well-behaved requests, p50 {:?}, p99 {:?}, max {:?}; {sent} hostile requests, {idle_open} idle sockets opened; server peak RSS (VmHWM) {} MiB; pool timeouts in the log: {}",
        latencies.len(),
        p(0.5),
        p(0.99),
        latencies.last().unwrap(),
        server_hwm / 1024,
        log.matches("pool timed out").count(),
    );
    assert!(!log.contains("pool timed out"), "{log}");
    assert!(p(0.99) < Duration::from_millis(100), "p99 {:?}", p(0.99));
    assert!(
        server_hwm < 150 * 1024,
        "peak RSS {} MiB",
        server_hwm / 1024
    );
}

fn status_kib_of(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------- both stores

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use crate::common::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    tokio::time::timeout(std::time::Duration::from_secs(60), super::$name(TestDb::sqlite()))
                        .await
                        .expect("within 60 s");
                }
            )*
        }
        mod postgres {
            use crate::common::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = TestDb::postgres().await else { return };
                    tokio::time::timeout(std::time::Duration::from_secs(60), super::$name(db))
                        .await
                        .expect("within 60 s");
                }
            )*
        }
    };
}

on_both_stores!(
    revoked_tokens_lose_their_sockets,
    websockets_must_initialise_and_are_capped,
    operations_count_against_the_limit,
    expensive_fields_cost_and_arguments_are_checked,
    failed_authentications_are_limited_per_address,
    impossible_and_undeployable_specs_are_refused_at_apply,
    a_null_project_is_the_tokens,
    alias_bombs_are_cheap,
);
