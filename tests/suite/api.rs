//! The GraphQL API through its HTTP router (tower `oneshot`) and, for subscriptions and
//! shutdown, a real server on 127.0.0.1:0 — on SQLite and on PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use af_operator::api::auth::{self, Token};
use af_operator::api::rate::RateLimit;
use af_operator::api::schema::QueryLimits;
use af_operator::api::{self, Api, ApiConfig, SdlRenderer};
use af_operator::spec::{Condition, ConditionStatus, Kind, Resource, ResourceKey, Status};
use af_operator::store::sql::SqlStore;
use af_operator::store::{EventType, NewEvent, Store, TokenStore};
use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tower::ServiceExt;

use crate::common::TestDb;

/// Renders a stand-in SDL, or fails for a resource named `broken`.
struct FakeRenderer;

impl SdlRenderer for FakeRenderer {
    fn render(&self, resource: &Resource) -> Result<String, String> {
        if resource.metadata.name == "broken" {
            Err("no compute profile fits".into())
        } else {
            Ok(format!("version: \"2.0\"\n# {}\n", resource.metadata.name))
        }
    }
}

struct Harness {
    _db: TestDb,
    store: Arc<SqlStore>,
    api: Api,
    /// A token of project `alpha`.
    alpha: String,
    /// A token of project `beta`.
    beta: String,
    /// An admin token (its own project: `ops`).
    admin: String,
}

fn open_config() -> ApiConfig {
    ApiConfig {
        rate_limit: None,
        ..ApiConfig::default()
    }
}

async fn harness(db: TestDb, config: ApiConfig) -> Harness {
    let store = Arc::new(db.open().await);
    let token = |project: &'static str, admin: bool| {
        let store = store.clone();
        async move {
            let (t, _) = auth::create_token(store.as_ref(), project, admin, "test")
                .await
                .unwrap();
            t.expose_secret().to_string()
        }
    };
    let alpha = token("alpha", false).await;
    let beta = token("beta", false).await;
    let admin = token("ops", true).await;
    let api = Api::new(
        store.clone(),
        store.clone(),
        Some(Arc::new(FakeRenderer)),
        config,
    );
    Harness {
        _db: db,
        store,
        api,
        alpha,
        beta,
        admin,
    }
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Harness {
    async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.api.router().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Reply {
            status,
            headers,
            body,
        }
    }

    async fn post(&self, authorization: Option<&str>, body: impl Into<Body>) -> Reply {
        let mut req = Request::post("/graphql").header(header::CONTENT_TYPE, "application/json");
        if let Some(a) = authorization {
            req = req.header(header::AUTHORIZATION, a);
        }
        self.send(req.body(body.into()).unwrap()).await
    }

    /// Runs an operation; the HTTP status must be 200.
    async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = json!({"query": query, "variables": variables}).to_string();
        let r = self.post(Some(&format!("Bearer {token}")), body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body
    }

    /// Runs an operation that must succeed; returns `data`.
    async fn data(&self, token: &str, query: &str, variables: Value) -> Value {
        let v = self.gql(token, query, variables).await;
        assert!(v.get("errors").is_none(), "unexpected errors: {v}");
        v["data"].clone()
    }
}

fn code(v: &Value) -> &str {
    v["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

fn agent_doc(name: &str, project: Option<&str>, image: &str) -> String {
    let project = project
        .map(|p| format!("  project: {p}\n"))
        .unwrap_or_default();
    format!(
        "apiVersion: alternatefutures.ai/v1alpha1
kind: Agent
metadata:
  name: {name}
{project}  labels: {{team: core}}
spec:
  image: {image}
  port: 8080
  resources:
    cpu: 0.5
    memory: 512Mi
"
    )
}

const FUNCTION_YAML: &str = "apiVersion: alternatefutures.ai/v1alpha1
kind: Function
metadata: {name: users-api}
spec:
  runtime: edge
  code:
    cid: QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG
    blake3: af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262
  routes:
    \"/api/users/*\": https://users-service.com
";

const APPLY: &str = "mutation($d: [String!]!) { apply(documents: $d) { kind name project result generation resource { uid } } }";

fn ready(generation: i64, status: ConditionStatus) -> Status {
    Status {
        observed_generation: Some(generation),
        conditions: vec![Condition {
            type_: "Ready".into(),
            status,
            reason: "LeaseActive".into(),
            message: String::new(),
            last_transition_time: "2026-01-01T00:00:00Z".into(),
            observed_generation: generation,
        }],
        facts: json!({
            "dseq": 1234567,
            "provider": "akash1provider",
            "uris": ["users.provider.example.com"],
            "escrowRunwaySeconds": 86400,
            "leases": [{"provider": "akash1provider", "gseq": 1, "oseq": 1, "state": "active"}]
        })
        .as_object()
        .cloned()
        .unwrap_or_default(),
    }
}

// ---------------------------------------------------------------- authentication

async fn authentication(db: TestDb) {
    let h = harness(db, open_config()).await;
    let q = json!({"query": "{ viewer { project admin } }"}).to_string();

    let r = h.post(None, q.clone()).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&r.body), "UNAUTHENTICATED");
    assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer");

    for bad in [
        "Bearer nope".to_string(),
        "Basic dXNlcjpwYXNz".to_string(),
        format!("Bearer {}", Token::generate().unwrap().expose_secret()),
    ] {
        let r = h.post(Some(&bad), q.clone()).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(code(&r.body), "UNAUTHENTICATED");
        assert_eq!(r.body["errors"][0]["message"], "invalid or revoked token");
    }

    let d = h
        .data(&h.alpha, "{ viewer { project admin } }", json!({}))
        .await;
    assert_eq!(d["viewer"], json!({"project": "alpha", "admin": false}));
    let d = h.data(&h.admin, "{ viewer { admin } }", json!({})).await;
    assert_eq!(d["viewer"]["admin"], true);

    // Revocation takes effect at once, with the same answer as an unknown token.
    let (t, rec) = auth::create_token(h.store.as_ref(), "gamma", false, "soon revoked")
        .await
        .unwrap();
    let bearer = format!("Bearer {}", t.expose_secret());
    assert_eq!(
        h.post(Some(&bearer), q.clone()).await.status,
        StatusCode::OK
    );
    let revoked = h.store.revoke_token(&rec.id).await.unwrap().unwrap();
    assert!(revoked.revoked_at.is_some());
    let r = h.post(Some(&bearer), q).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["errors"][0]["message"], "invalid or revoked token");

    // The store keeps digests only.
    let listed = h.store.list_tokens().await.unwrap();
    assert_eq!(listed.len(), 4);
    assert!(format!("{listed:?}").contains("gamma"));
    assert!(!format!("{listed:?}").contains(&t.expose_secret()[3..]));
    let again = h.store.revoke_token(&rec.id).await.unwrap().unwrap();
    assert_eq!(
        again.revoked_at, revoked.revoked_at,
        "revoking twice keeps the time"
    );
    assert!(h.store.revoke_token("tok_missing").await.unwrap().is_none());
    assert!(h
        .store
        .find_token(&t.digest())
        .await
        .unwrap()
        .is_some_and(|r| r.revoked_at.is_some()));
}

// ---------------------------------------------------------------- apply

async fn apply_mutation(db: TestDb) {
    let h = harness(db, open_config()).await;
    let doc = agent_doc("api", None, "app:1");

    let d = h.data(&h.alpha, APPLY, json!({"d": [doc]})).await;
    let a = &d["apply"][0];
    assert_eq!(
        (
            &a["kind"],
            &a["name"],
            &a["project"],
            &a["result"],
            &a["generation"]
        ),
        (
            &json!("AGENT"),
            &json!("api"),
            &json!("alpha"),
            &json!("CREATED"),
            &json!(1)
        ),
        "a document without a project lands in the token's project"
    );
    assert!(a["resource"]["uid"].as_str().is_some_and(|u| !u.is_empty()));
    let d = h.data(&h.alpha, APPLY, json!({"d": [doc]})).await;
    assert_eq!(d["apply"][0]["result"], "UNCHANGED");
    let d = h
        .data(
            &h.alpha,
            APPLY,
            json!({"d": [agent_doc("api", Some("alpha"), "app:2")]}),
        )
        .await;
    assert_eq!(d["apply"][0]["result"], "CONFIGURED");
    assert_eq!(d["apply"][0]["generation"], 2);

    // JSON documents and several documents in one string.
    let json_doc = r#"{"apiVersion":"alternatefutures.ai/v1alpha1","kind":"Site","metadata":{"name":"docs"},"spec":{"source":{"ipfs":"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"}}}"#;
    let two = format!(
        "{}---\n{}",
        agent_doc("w1", None, "w:1"),
        agent_doc("w2", None, "w:1")
    );
    let d = h.data(&h.alpha, APPLY, json!({"d": [json_doc, two]})).await;
    let names: Vec<&str> = d["apply"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["docs", "w1", "w2"]);

    // Validation errors: code, path, line and column within the document.
    let bad = agent_doc("api", None, "app:3").replace("port: 8080", "port: eighty");
    let v = h.gql(&h.alpha, APPLY, json!({"d": [doc, bad]})).await;
    assert_eq!(code(&v), "INVALID_SPEC", "{v}");
    let p = &v["errors"][0]["extensions"]["problems"][0];
    assert_eq!(p["document"], 1);
    assert_eq!(p["path"], "spec.port");
    assert_eq!(
        (p["line"].as_i64(), p["column"].as_i64()),
        (Some(8), Some(9))
    );
    assert!(p["message"]
        .as_str()
        .unwrap()
        .contains("expected an integer from 0 to 65535"));
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("documents[1]:8:9: spec.port"));
    let still = h
        .data(
            &h.alpha,
            r#"{ resource(kind: AGENT, name: "api") { spec } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        still["resource"]["spec"]["image"], "app:2",
        "nothing applied"
    );

    // Another project's document is FORBIDDEN, and the whole apply is refused.
    let v = h
        .gql(
            &h.alpha,
            APPLY,
            json!({"d": [agent_doc("fresh", None, "f:1"), agent_doc("intruder", Some("beta"), "x:1")]}),
        )
        .await;
    assert_eq!(code(&v), "FORBIDDEN", "{v}");
    let p = &v["errors"][0]["extensions"]["problems"][0];
    assert_eq!(
        (&p["document"], &p["path"]),
        (&json!(1), &json!("metadata.project"))
    );
    assert_eq!(
        (p["line"].as_i64(), p["column"].as_i64()),
        (Some(5), Some(12))
    );
    for (project, name) in [("alpha", "fresh"), ("beta", "intruder")] {
        let key = ResourceKey::new(Kind::Agent, project, name);
        assert!(
            h.store.get(&key).await.unwrap().is_none(),
            "{project}/{name}"
        );
    }
    // So is naming the default project explicitly.
    let v = h
        .gql(
            &h.alpha,
            APPLY,
            json!({"d": [agent_doc("x", Some("default"), "x:1")]}),
        )
        .await;
    assert_eq!(code(&v), "FORBIDDEN", "{v}");

    // A document without a project and one naming the token's project collide.
    let v = h
        .gql(
            &h.alpha,
            APPLY,
            json!({"d": [agent_doc("twin", None, "t:1"), agent_doc("twin", Some("alpha"), "t:2")]}),
        )
        .await;
    assert_eq!(code(&v), "INVALID_SPEC", "{v}");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("duplicate"));

    // An admin applies anywhere; without a project, into its own.
    let d = h
        .data(
            &h.admin,
            APPLY,
            json!({"d": [agent_doc("b-api", Some("beta"), "b:1"), agent_doc("ops-api", None, "o:1")]}),
        )
        .await;
    assert_eq!(d["apply"][0]["project"], "beta");
    assert_eq!(d["apply"][1]["project"], "ops");

    // Empty input is fine and writes nothing.
    let d = h.data(&h.alpha, APPLY, json!({"d": []})).await;
    assert_eq!(d["apply"], json!([]));
}

// ---------------------------------------------------------------- queries

async fn queries(db: TestDb) {
    let h = harness(db, open_config()).await;
    h.data(
        &h.admin,
        APPLY,
        json!({"d": [
            agent_doc("api", Some("alpha"), "a:1"),
            agent_doc("worker", Some("alpha"), "w:1").replace("team: core", "team: edge"),
            agent_doc("broken", Some("alpha"), "b:1"),
            agent_doc("secret-api", Some("beta"), "s:1"),
        ]}),
    )
    .await;
    let key = ResourceKey::new(Kind::Agent, "alpha", "api");
    let r = h.store.get(&key).await.unwrap().unwrap();
    h.store
        .write_status(
            &key,
            r.metadata.resource_version,
            &ready(1, ConditionStatus::True),
        )
        .await
        .unwrap();
    h.store
        .append_event(
            &key,
            &NewEvent {
                type_: EventType::Normal,
                reason: "LeaseCreated".into(),
                message: "lease 1/1 on akash1provider".into(),
            },
        )
        .await
        .unwrap();

    let q = r#"{ resource(kind: AGENT, name: "api") {
        kind name project generation labels spec observedGeneration phase renderedSdl
        conditions { type status reason observedGeneration }
        akash { dseq provider uris escrowRunwaySeconds leases { provider gseq oseq state } }
        events { type reason message }
    } }"#;
    let d = h.data(&h.alpha, q, json!({})).await;
    let r = &d["resource"];
    assert_eq!(r["kind"], "AGENT");
    assert_eq!(r["labels"], json!({"team": "core"}));
    assert_eq!(r["spec"]["image"], "a:1");
    assert_eq!(r["phase"], "READY");
    assert_eq!(r["observedGeneration"], 1);
    assert_eq!(r["conditions"][0]["status"], "TRUE");
    assert_eq!(
        r["akash"],
        json!({
            "dseq": "1234567",
            "provider": "akash1provider",
            "uris": ["users.provider.example.com"],
            "escrowRunwaySeconds": 86400,
            "leases": [{"provider": "akash1provider", "gseq": 1, "oseq": 1, "state": "active"}]
        })
    );
    assert_eq!(r["events"][0]["reason"], "LeaseCreated");
    assert_eq!(r["renderedSdl"], "version: \"2.0\"\n# api\n");

    // A renderer's refusal is the resource's problem, with a code.
    let v = h
        .gql(
            &h.alpha,
            r#"{ resource(kind: AGENT, name: "broken") { name renderedSdl } }"#,
            json!({}),
        )
        .await;
    assert_eq!(code(&v), "INVALID_SPEC", "{v}");
    assert!(v["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("no compute profile fits"));
    assert_eq!(v["data"]["resource"]["name"], "broken");
    assert_eq!(v["data"]["resource"]["renderedSdl"], Value::Null);

    // Without a renderer the field is null.
    let plain = Api::new(h.store.clone(), h.store.clone(), None, open_config());
    let resp = plain
        .schema()
        .execute(
            async_graphql::Request::new(
                r#"{ resource(kind: AGENT, name: "api") { renderedSdl phase } }"#,
            )
            .data(auth::Caller {
                token_id: "t".into(),
                project: "alpha".into(),
                admin: false,
            }),
        )
        .await;
    assert!(resp.errors.is_empty(), "{:?}", resp.errors);
    let v = resp.data.into_json().unwrap();
    assert_eq!(v["resource"]["renderedSdl"], Value::Null);

    // A fresh resource is pending, with null Akash facts.
    let d = h
        .data(&h.alpha, r#"{ resource(kind: AGENT, name: "worker") { phase akash { dseq leases { state } } } }"#, json!({}))
        .await;
    assert_eq!(d["resource"]["phase"], "PENDING");
    assert_eq!(
        d["resource"]["akash"],
        json!({"dseq": null, "leases": null})
    );

    // Listing by kind, labels, paging.
    let names = |d: &Value| -> Vec<String> {
        d["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{}/{}",
                    r["project"].as_str().unwrap(),
                    r["name"].as_str().unwrap()
                )
            })
            .collect()
    };
    let list = |args: &str| format!("{{ resources{args} {{ project name }} }}");
    let d = h.data(&h.alpha, &list("(kind: AGENT)"), json!({})).await;
    assert_eq!(names(&d), ["alpha/api", "alpha/broken", "alpha/worker"]);
    let d = h
        .data(&h.alpha, &list(r#"(labels: "team=edge")"#), json!({}))
        .await;
    assert_eq!(names(&d), ["alpha/worker"]);
    let d = h
        .data(&h.alpha, &list(r#"(kind: AGENT, name: "api")"#), json!({}))
        .await;
    assert_eq!(names(&d), ["alpha/api"]);
    let d = h
        .data(&h.alpha, &list("(limit: 1, offset: 1)"), json!({}))
        .await;
    assert_eq!(names(&d), ["alpha/broken"]);
    let v = h
        .gql(&h.alpha, &list(r#"(labels: "a b")"#), json!({}))
        .await;
    assert_eq!(code(&v), "BAD_REQUEST", "{v}");

    // Another project's resources do not exist for a project token.
    let d = h
        .data(
            &h.alpha,
            r#"{ resource(kind: AGENT, name: "secret-api", project: "beta") { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["resource"], Value::Null);
    let d = h
        .data(&h.alpha, &list(r#"(project: "beta")"#), json!({}))
        .await;
    assert_eq!(names(&d), Vec::<String>::new());
    let d = h.data(&h.beta, &list(""), json!({})).await;
    assert_eq!(names(&d), ["beta/secret-api"]);

    // An admin sees every project.
    let d = h.data(&h.admin, &list("(kind: AGENT)"), json!({})).await;
    assert_eq!(
        names(&d),
        [
            "alpha/api",
            "alpha/broken",
            "alpha/worker",
            "beta/secret-api"
        ]
    );
    let d = h
        .data(
            &h.admin,
            r#"{ resource(kind: AGENT, name: "secret-api", project: "beta") { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["resource"]["name"], "secret-api");
}

// ---------------------------------------------------------------- delete

async fn delete_mutation(db: TestDb) {
    let h = harness(db, open_config()).await;
    h.data(
        &h.admin,
        APPLY,
        json!({"d": [agent_doc("api", Some("alpha"), "a:1"), agent_doc("hidden", Some("beta"), "h:1")]}),
    )
    .await;
    let del = "mutation($n: String!, $p: String) { delete(kind: AGENT, name: $n, project: $p) { kind name project result } }";

    let v = h
        .gql(&h.alpha, del, json!({"n": "hidden", "p": "beta"}))
        .await;
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    let v = h.gql(&h.alpha, del, json!({"n": "hidden"})).await;
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(!msg.contains("beta"), "another project leaked: {msg}");
    assert!(h
        .store
        .get(&ResourceKey::new(Kind::Agent, "beta", "hidden"))
        .await
        .unwrap()
        .is_some());

    // With a finalizer, deletion is requested; then it goes.
    let key = ResourceKey::new(Kind::Agent, "alpha", "api");
    h.store.add_finalizer(&key, "akash").await.unwrap();
    let d = h.data(&h.alpha, del, json!({"n": "api"})).await;
    assert_eq!(d["delete"]["result"], "DELETION_REQUESTED");
    let d = h
        .data(
            &h.alpha,
            r#"{ resource(kind: AGENT, name: "api") { phase deletionRequestedAt } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["resource"]["phase"], "DELETING");
    let d = h.data(&h.alpha, del, json!({"n": "api"})).await;
    assert_eq!(d["delete"]["result"], "ALREADY_REQUESTED");
    // Applying it again while it is being deleted is a conflict.
    let v = h
        .gql(
            &h.alpha,
            APPLY,
            json!({"d": [agent_doc("api", None, "a:2")]}),
        )
        .await;
    assert_eq!(code(&v), "CONFLICT", "{v}");
    h.store.remove_finalizer(&key, "akash").await.unwrap();

    let d = h
        .data(&h.admin, del, json!({"n": "hidden", "p": "beta"}))
        .await;
    assert_eq!(
        d["delete"],
        json!({"kind": "AGENT", "name": "hidden", "project": "beta", "result": "DELETED"})
    );
    let v = h
        .gql(&h.admin, del, json!({"n": "hidden", "p": "beta"}))
        .await;
    assert_eq!(code(&v), "NOT_FOUND");
}

// ---------------------------------------------------------------- AFFunction

const AF_FIELDS: &str = "id name projectId slug runtime code { cid blake3 } routes env { name value secretRef { store key } } status invokeUrl generation";

async fn af_functions(db: TestDb) {
    let h = harness(db, open_config()).await;
    let create = format!("mutation($data: AFFunctionCreateInput!) {{ createAFFunction(data: $data) {{ {AF_FIELDS} }} }}");
    let data = json!({
        "name": "users-api",
        "runtime": "edge",
        "code": {
            "cid": "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
            "blake3": "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        },
        "routes": {"/api/users/*": "https://users-service.com", "/*": "https://default.com"},
        "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "KEY", "secretRef": {"store": "vault", "key": "K"}}]
    });
    let d = h.data(&h.alpha, &create, json!({"data": data})).await;
    let f = &d["createAFFunction"];
    assert_eq!(f["name"], "users-api");
    assert_eq!(f["projectId"], "alpha");
    assert_eq!(f["slug"], "users-api");
    assert_eq!(f["status"], "PENDING");
    assert_eq!(f["invokeUrl"], Value::Null);
    assert_eq!(f["generation"], 1);
    assert_eq!(
        serde_json::to_string(&f["routes"]).unwrap(),
        r#"{"/api/users/*":"https://users-service.com","/*":"https://default.com"}"#,
        "route order is kept"
    );
    assert_eq!(f["env"][1]["secretRef"]["store"], "vault");
    let id = f["id"].as_str().unwrap().to_string();

    // It is a Function resource like any other.
    let stored = h
        .store
        .get(&ResourceKey::new(Kind::Function, "alpha", "users-api"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.spec["runtime"], "edge");

    let v = h.gql(&h.alpha, &create, json!({"data": data})).await;
    assert_eq!(code(&v), "CONFLICT", "{v}");

    // Routes are validated as the Function spec validates them, naming the route.
    let mut bad = data.clone();
    bad["name"] = json!("bad-routes");
    bad["routes"] = json!({"api/users/*": "https://users-service.com", "/*": "ftp://default.com"});
    let v = h.gql(&h.alpha, &create, json!({"data": bad})).await;
    assert_eq!(code(&v), "INVALID_SPEC", "{v}");
    let problems = v["errors"][0]["extensions"]["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 2, "{v}");
    assert_eq!(problems[0]["path"], r#"data.routes["api/users/*"]"#);
    assert!(problems[0]["message"]
        .as_str()
        .unwrap()
        .contains("must start with \"/\""));
    assert_eq!(problems[1]["path"], r#"data.routes["/*"]"#);
    assert!(problems[1]["message"].as_str().unwrap().contains("`/*`"));
    assert!(problems[1]["message"]
        .as_str()
        .unwrap()
        .contains("http or https URL"));
    let mut bad = data.clone();
    bad["name"] = json!("Bad_Name");
    bad["routes"] = json!(["/x"]);
    let v = h.gql(&h.alpha, &create, json!({"data": bad})).await;
    assert_eq!(code(&v), "INVALID_SPEC", "{v}");
    let paths: Vec<&str> = v["errors"][0]["extensions"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["path"].as_str())
        .collect();
    assert!(paths.contains(&"data.name"), "{v}");
    assert!(paths.iter().any(|p| p.starts_with("data.routes")), "{v}");

    // A project token cannot create in another project; an admin can.
    let mut other = data.clone();
    other["project"] = json!("beta");
    let v = h.gql(&h.alpha, &create, json!({"data": other})).await;
    assert_eq!(code(&v), "FORBIDDEN", "{v}");
    let d = h.data(&h.admin, &create, json!({"data": other})).await;
    assert_eq!(d["createAFFunction"]["projectId"], "beta");
    let beta_id = d["createAFFunction"]["id"].as_str().unwrap().to_string();

    // Update by name and by id; unmentioned fields keep their value.
    let update = format!("mutation($w: AFFunctionWhereInput!, $data: AFFunctionUpdateInput!) {{ updateAFFunction(where: $w, data: $data) {{ {AF_FIELDS} }} }}");
    let d = h
        .data(
            &h.alpha,
            &update,
            json!({"w": {"name": "users-api"}, "data": {"slug": "users", "routes": {"/v2/*": "https://v2.example.com"}}}),
        )
        .await;
    let f = &d["updateAFFunction"];
    assert_eq!(f["slug"], "users");
    assert_eq!(f["routes"], json!({"/v2/*": "https://v2.example.com"}));
    assert_eq!(f["runtime"], "edge");
    assert_eq!(f["env"][0]["name"], "LOG_LEVEL");
    assert_eq!(f["generation"], 2);
    let d = h
        .data(
            &h.alpha,
            &update,
            json!({"w": {"id": id}, "data": {"slug": null, "env": null}}),
        )
        .await;
    let f = &d["updateAFFunction"];
    assert_eq!(f["slug"], "users-api");
    assert_eq!(f["env"], json!([]));
    assert_eq!(f["generation"], 3);
    let v = h
        .gql(
            &h.alpha,
            &update,
            json!({"w": {"id": id}, "data": {"routes": {"nope": "https://x.com"}}}),
        )
        .await;
    assert_eq!(code(&v), "INVALID_SPEC", "{v}");
    assert_eq!(
        v["errors"][0]["extensions"]["problems"][0]["path"],
        "data.routes.nope"
    );
    let v = h
        .gql(
            &h.alpha,
            &update,
            json!({"w": {"id": beta_id}, "data": {"slug": "mine"}}),
        )
        .await;
    assert_eq!(
        code(&v),
        "NOT_FOUND",
        "another project's function by id: {v}"
    );
    let v = h
        .gql(
            &h.alpha,
            &update,
            json!({"w": {"id": id, "name": "users-api"}, "data": {}}),
        )
        .await;
    assert_eq!(code(&v), "BAD_REQUEST", "{v}");

    // Status flows through: Ready with a URI makes it ACTIVE with an invokeUrl.
    let key = ResourceKey::new(Kind::Function, "alpha", "users-api");
    let r = h.store.get(&key).await.unwrap().unwrap();
    // As the Function reconciler writes it: the URL the rollout serves it at.
    let mut st = ready(3, ConditionStatus::True);
    st.facts
        .insert("url".into(), json!("https://users.af-functions.dev"));
    h.store
        .write_status(&key, r.metadata.resource_version, &st)
        .await
        .unwrap();
    let d = h
        .data(&h.alpha, r#"{ afFunctionByName(name: "users-api") { status invokeUrl resource { akash { dseq } } } }"#, json!({}))
        .await;
    assert_eq!(d["afFunctionByName"]["status"], "ACTIVE");
    // The URL the rollout serves it at (the runtime's wildcard domain), from its status.
    assert_eq!(
        d["afFunctionByName"]["invokeUrl"],
        "https://users.af-functions.dev"
    );
    assert_eq!(
        d["afFunctionByName"]["resource"]["akash"]["dseq"],
        "1234567"
    );

    let d = h
        .data(&h.alpha, "{ afFunctions { name projectId } }", json!({}))
        .await;
    assert_eq!(
        d["afFunctions"],
        json!([{"name": "users-api", "projectId": "alpha"}])
    );
    let d = h
        .data(&h.admin, "{ afFunctions { name projectId } }", json!({}))
        .await;
    assert_eq!(d["afFunctions"].as_array().unwrap().len(), 2);
    let d = h
        .data(
            &h.beta,
            r#"{ afFunctionByName(name: "users-api", project: "alpha") { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["afFunctionByName"], Value::Null);

    let del = "mutation($w: AFFunctionWhereInput!) { deleteAFFunction(where: $w) }";
    let v = h.gql(&h.beta, del, json!({"w": {"id": id}})).await;
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    let d = h.data(&h.alpha, del, json!({"w": {"id": id}})).await;
    assert_eq!(d["deleteAFFunction"], true);
    assert!(h.store.get(&key).await.unwrap().is_none());
    let v = h
        .gql(&h.alpha, del, json!({"w": {"name": "users-api"}}))
        .await;
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
}

// ---------------------------------------------------------------- limits

async fn limits(db: TestDb) {
    let h = harness(
        db,
        ApiConfig {
            max_body_bytes: 64 * 1024,
            rate_limit: None,
            limits: QueryLimits {
                max_depth: 4,
                max_complexity: 2_000,
                ..QueryLimits::default()
            },
            ..ApiConfig::default()
        },
    )
    .await;
    let bearer = format!("Bearer {}", h.alpha);

    // Depth.
    let four = "{ afFunctions { resource { akash { dseq } } } }";
    assert!(h
        .gql(&h.alpha, four, json!({}))
        .await
        .get("errors")
        .is_none());
    let five = "{ afFunctions { resource { akash { leases { raw } } } } }";
    let v = h.gql(&h.alpha, five, json!({})).await;
    assert_eq!(code(&v), "QUERY_TOO_COMPLEX", "{v}");
    assert_eq!(v["data"], Value::Null);

    // Complexity: lists multiply by their limit.
    let ok = "{ resources(limit: 100) { name kind project } }";
    assert!(h.gql(&h.alpha, ok, json!({})).await.get("errors").is_none());
    let heavy = "{ resources(limit: 1000) { name events(limit: 200) { id reason } } }";
    let v = h.gql(&h.alpha, heavy, json!({})).await;
    assert_eq!(code(&v), "QUERY_TOO_COMPLEX", "{v}");
    assert_eq!(v["data"], Value::Null);

    // Body size: declared, and streamed without a length.
    let big = json!({"query": APPLY, "variables": {"d": ["x".repeat(100 * 1024)]}}).to_string();
    let r = h.post(Some(&bearer), big.clone()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&r.body), "PAYLOAD_TOO_LARGE");
    let chunks: Vec<Result<String, std::io::Error>> = big
        .as_bytes()
        .chunks(8192)
        .map(|c| Ok(String::from_utf8_lossy(c).into_owned()))
        .collect();
    let r = h
        .post(
            Some(&bearer),
            Body::from_stream(futures::stream::iter(chunks)),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);

    // Malformed requests.
    let r = h.post(Some(&bearer), "{not json").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&r.body), "BAD_REQUEST");
    let v = h.gql(&h.alpha, "{ nope }", json!({})).await;
    assert_eq!(code(&v), "BAD_REQUEST", "{v}");
    let v = h
        .gql(
            &h.alpha,
            "{ resources(kind: NOT_A_KIND) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&v), "BAD_REQUEST", "{v}");
}

async fn rate_limits(db: TestDb) {
    let h = harness(
        db,
        ApiConfig {
            rate_limit: Some(RateLimit {
                per_second: 0.01,
                burst: 3,
            }),
            ..ApiConfig::default()
        },
    )
    .await;
    let q = "{ viewer { project } }";
    for _ in 0..3 {
        assert!(h.gql(&h.alpha, q, json!({})).await.get("errors").is_none());
    }
    let body = json!({"query": q}).to_string();
    let r = h.post(Some(&format!("Bearer {}", h.alpha)), body).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(code(&r.body), "RATE_LIMITED");
    let retry: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=100).contains(&retry), "{retry}");
    assert_eq!(
        r.body["errors"][0]["extensions"]["retryAfterSeconds"],
        retry
    );
    // Per token: another token still gets through.
    assert!(h.gql(&h.beta, q, json!({})).await.get("errors").is_none());
}

// ---------------------------------------------------------------- health, GraphiQL

async fn health(db: TestDb) {
    let h = harness(db, open_config()).await;
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    let r = h.send(get("/healthz")).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = h.send(get("/readyz")).await;
    assert_eq!((r.status, r.body), (StatusCode::OK, json!("ready\n")));
    // `/metrics` wants a token like every API call.
    let r = h.send(get("/metrics")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let bad = Request::get("/metrics")
        .header(header::AUTHORIZATION, "Bearer af_nope")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(bad).await.status, StatusCode::UNAUTHORIZED);
    for token in [&h.alpha, &h.admin] {
        let ok = Request::get("/metrics")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(h.send(ok).await.status, StatusCode::OK);
    }
    let r = h.send(get("/graphiql")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.as_str().unwrap().contains("graphiql"), "{}", r.body);
    h.store.close().await;
    let r = h.send(get("/readyz")).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    let r = h.send(get("/healthz")).await;
    assert_eq!(r.status, StatusCode::OK, "alive even when the store is not");
    // Requests now fail as INTERNAL, without the database's words.
    let body = json!({"query": r#"{ resource(kind: AGENT, name: "x") { name } }"#}).to_string();
    let r = h.post(Some(&format!("Bearer {}", h.alpha)), body).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(code(&r.body), "INTERNAL");
    let text = r.body.to_string().to_lowercase();
    for leak in ["pool", "sql", "closed", "select", "token"] {
        assert!(!text.contains(leak), "leaked `{leak}`: {}", r.body);
    }
}

// ---------------------------------------------------------------- subscriptions

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(addr: std::net::SocketAddr) -> Ws {
    let mut req = format!("ws://{addr}/graphql")
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws
}

async fn ws_send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next text message as JSON; `None` when the socket closed or `wait` passed.
async fn ws_next(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        match tokio::time::timeout(wait, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => return serde_json::from_str(&t).ok(),
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) | Err(_) => return None,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// The next change of a Function in project alpha, skipping probes.
async fn next_function(ws: &mut Ws) -> Value {
    while let Some(m) = ws_next(ws, Duration::from_secs(5)).await {
        let c = m["payload"]["data"]["resourceChanged"].clone();
        assert_eq!(
            c["project"], "alpha",
            "another project's change leaked: {m}"
        );
        if c["name"] == "probe" {
            continue;
        }
        assert_eq!(
            (&c["op"], &c["kind"]),
            (&json!("UPSERT"), &json!("FUNCTION"))
        );
        return c;
    }
    panic!("no change delivered");
}

async fn subscriptions(db: TestDb) {
    let h = harness(db, open_config()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(api::serve(listener, h.api.clone(), async move {
        let _ = stopped.await;
    }));

    // Without a token the connection is refused.
    let mut ws = ws_connect(addr).await;
    ws_send(&mut ws, json!({"type": "connection_init", "payload": {}})).await;
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| f.reason.to_string()),
            Ok(Some(Ok(_))) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert!(closed.unwrap_or_default().contains("missing token"));

    // With a token in the init payload (as browsers send it).
    let mut ws = ws_connect(addr).await;
    ws_send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {}", h.alpha)}}),
    )
    .await;
    let ack = ws_next(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_eq!(ack["type"], "connection_ack");
    ws_send(
        &mut ws,
        json!({"id": "1", "type": "subscribe", "payload": {"query":
            "subscription { resourceChanged { op kind name project resource { phase generation } } }"}}),
    )
    .await;

    // The subscription starts asynchronously: write probes until one is seen.
    let probe = |i: usize| {
        af_operator::spec::load::load_str(
            "p.yaml",
            &agent_doc("probe", Some("alpha"), &format!("p:{i}")),
        )
        .unwrap()
        .remove(0)
        .input
    };
    let mut seen_probe = false;
    for i in 0..50 {
        h.store.apply(&[probe(i)]).await.unwrap();
        if let Some(m) = ws_next(&mut ws, Duration::from_millis(300)).await {
            assert_eq!(m["type"], "next", "{m}");
            assert_eq!(m["payload"]["data"]["resourceChanged"]["name"], "probe");
            seen_probe = true;
            break;
        }
    }
    assert!(seen_probe, "the subscription never delivered");

    // A Function applied through the API and another project's change: PENDING arrives.
    let v = h.data(&h.alpha, APPLY, json!({"d": [FUNCTION_YAML]})).await;
    assert_eq!(v["apply"][0]["result"], "CREATED");
    h.data(&h.beta, APPLY, json!({"d": [FUNCTION_YAML]})).await;
    let c = next_function(&mut ws).await;
    assert_eq!(
        (&c["name"], &c["resource"]["phase"]),
        (&json!("users-api"), &json!("PENDING"))
    );

    // The operator reports it Ready: READY arrives, without polling.
    let key = ResourceKey::new(Kind::Function, "alpha", "users-api");
    let r = h.store.get(&key).await.unwrap().unwrap();
    h.store
        .write_status(
            &key,
            r.metadata.resource_version,
            &ready(1, ConditionStatus::True),
        )
        .await
        .unwrap();
    let c = next_function(&mut ws).await;
    assert_eq!(c["resource"]["phase"], "READY");

    // A filtered subscription on the same connection: deletion arrives with a null resource.
    ws_send(
        &mut ws,
        json!({"id": "2", "type": "subscribe", "payload": {"query":
            "subscription { resourceChanged(kind: FUNCTION, name: \"users-api\") { op resource { name } } }"}}),
    )
    .await;
    let mut got_delete = false;
    for _ in 0..50 {
        // Subscription 2 starts asynchronously: (re)create and delete until it sees one.
        h.data(&h.alpha, APPLY, json!({"d": [FUNCTION_YAML]})).await;
        let d = h
            .data(
                &h.alpha,
                r#"mutation { delete(kind: FUNCTION, name: "users-api") { result } }"#,
                json!({}),
            )
            .await;
        assert_eq!(d["delete"]["result"], "DELETED");
        while let Some(m) = ws_next(&mut ws, Duration::from_millis(300)).await {
            let c = &m["payload"]["data"]["resourceChanged"];
            if m["id"] == "2" && c["op"] == "DELETE" {
                assert_eq!(c["resource"], Value::Null, "{m}");
                got_delete = true;
                break;
            }
        }
        if got_delete {
            break;
        }
    }
    assert!(
        got_delete,
        "the filtered subscription never saw the deletion"
    );

    // Shutdown ends subscriptions and closes the socket; serve returns.
    stop.send(()).unwrap();
    let mut closed = false;
    for _ in 0..100 {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(_)))) => continue,
            Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                closed = true;
                break;
            }
            Ok(Some(Ok(_))) => continue,
            Err(_) => break,
        }
    }
    assert!(closed, "the socket stayed open after shutdown");
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve did not return after shutdown")
        .unwrap()
        .unwrap();
}

/// Runs an operation on the API's router from any task.
async fn gql_on(api: &Api, token: &str, query: &str, variables: Value) -> Value {
    let body = json!({"query": query, "variables": variables}).to_string();
    let req = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body))
        .unwrap();
    let resp = api.router().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Concurrent creates of one Function: exactly one succeeds. Concurrent updates of one
/// Function: none is lost (each lands, or answers CONFLICT).
async fn concurrent_function_writes(db: TestDb) {
    let h = harness(db, open_config()).await;
    let create = "mutation($data: AFFunctionCreateInput!) { createAFFunction(data: $data) { name runtime } }";
    let cid = "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG";
    let mut tasks = Vec::new();
    for t in 0..8 {
        let (api, token) = (h.api.clone(), h.alpha.clone());
        tasks.push(tokio::spawn(async move {
            let data = json!({"name": "racy", "runtime": format!("rt-{t}"),
                "code": {"cid": cid, "blake3": format!("{:064x}", t)}});
            gql_on(&api, &token, create, json!({"data": data})).await
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let v = t.await.unwrap();
        if v.get("errors").is_none() {
            winners.push(v["data"]["createAFFunction"]["runtime"].clone());
        } else {
            assert_eq!(code(&v), "CONFLICT", "{v}");
            assert!(
                v["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("already exists"),
                "{v}"
            );
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create wins: {winners:?}");
    let key = ResourceKey::new(Kind::Function, "alpha", "racy");
    let stored = h.store.get(&key).await.unwrap().unwrap();
    assert_eq!(
        stored.spec["runtime"], winners[0],
        "the winner's spec is stored"
    );

    // Four updates at once, each of another field, for a few rounds; the operator writes
    // status meanwhile. Every update that answers without error is in the result.
    let update = "mutation($w: AFFunctionWhereInput!, $data: AFFunctionUpdateInput!) { updateAFFunction(where: $w, data: $data) { name } }";
    for round in 0..5 {
        let fields = [
            json!({"slug": format!("slug-{round}")}),
            json!({"runtime": format!("runtime-{round}")}),
            json!({"code": {"cid": cid, "blake3": format!("{:064x}", 100 + round)}}),
            json!({"env": [{"name": "ROUND", "value": round.to_string()}]}),
        ];
        let before = h.store.get(&key).await.unwrap().unwrap();
        let mut tasks = Vec::new();
        for data in fields {
            let (api, token) = (h.api.clone(), h.alpha.clone());
            tasks.push(tokio::spawn(async move {
                gql_on(
                    &api,
                    &token,
                    update,
                    json!({"w": {"name": "racy"}, "data": data}),
                )
                .await
            }));
        }
        // The operator's status write, as a reconciler does it: read, write, retry if stale.
        loop {
            let cur = h.store.get(&key).await.unwrap().unwrap();
            match h
                .store
                .write_status(&key, cur.metadata.resource_version, &Status::default())
                .await
            {
                Ok(_) => break,
                Err(af_operator::store::StoreError::Conflict { .. }) => continue,
                Err(e) => panic!("status write: {e}"),
            }
        }
        let mut landed = Vec::new();
        for t in tasks {
            let v = t.await.unwrap();
            if v.get("errors").is_none() {
                landed.push(true);
            } else {
                assert_eq!(code(&v), "CONFLICT", "{v}");
                landed.push(false);
            }
        }
        let after = h.store.get(&key).await.unwrap().unwrap();
        let spec = &after.spec;
        let checks = [
            spec["slug"] == json!(format!("slug-{round}")),
            spec["runtime"] == json!(format!("runtime-{round}")),
            spec["code"]["blake3"] == json!(format!("{:064x}", 100 + round)),
            spec["env"][0]["value"] == json!(round.to_string()),
        ];
        for (i, (landed, present)) in landed.iter().zip(checks).enumerate() {
            assert!(
                !landed || present,
                "round {round}: update {i} answered success but was lost: {spec}"
            );
        }
        let n = landed.iter().filter(|l| **l).count() as i64;
        assert_eq!(
            after.metadata.generation,
            before.metadata.generation + n,
            "each update that landed is one generation"
        );
    }
}

/// A subscriber that falls behind what the store keeps (5 changes here) gets one EXPIRED
/// error, and its subscription ends: it must subscribe again and re-read.
async fn lagging_subscription_expires(db: TestDb) {
    let store = Arc::new(db.open().await.with_change_retention(5));
    let api = Api::new(store.clone(), store.clone(), None, open_config());
    let caller = auth::Caller {
        token_id: "t".into(),
        project: "alpha".into(),
        admin: false,
    };
    let request =
        async_graphql::Request::new("subscription { resourceChanged { name } }").data(caller);
    let mut stream = api.schema().execute_stream(request);
    let doc = |name: &str| {
        af_operator::spec::load::load_str("a.yaml", &agent_doc(name, Some("alpha"), "a:1"))
            .unwrap()
            .remove(0)
            .input
    };
    // The subscription starts on the first poll: write until it delivers.
    let mut first = None;
    for i in 0..50 {
        store.apply(&[doc(&format!("first-{i}"))]).await.unwrap();
        if let Ok(r) = tokio::time::timeout(Duration::from_millis(300), stream.next()).await {
            first = r;
            break;
        }
    }
    let first = first.expect("the subscription never delivered");
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    // Drain what was written while it started, then fall behind by 20 writes.
    while let Ok(Some(r)) = tokio::time::timeout(Duration::from_millis(300), stream.next()).await {
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
    for i in 0..20 {
        store.apply(&[doc(&format!("later-{i}"))]).await.unwrap();
    }
    let r = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an answer within 10 s")
        .expect("an error before the end");
    let e = &r.errors[0];
    assert_eq!(
        e.extensions.as_ref().and_then(|x| x.get("code")),
        Some(&async_graphql::Value::from("EXPIRED")),
        "{e:?}"
    );
    assert!(e.message.contains("subscribe again"), "{}", e.message);
    let end = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the stream ends");
    assert!(end.is_none(), "the subscription must end after EXPIRED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_operations_are_rate_limited_too() {
    let h = harness(
        TestDb::sqlite(),
        ApiConfig {
            rate_limit: Some(RateLimit {
                per_second: 0.001,
                burst: 2,
            }),
            ..ApiConfig::default()
        },
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(api::serve(listener, h.api.clone(), std::future::pending()));
    let mut ws = ws_connect(addr).await;
    ws_send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"token": h.alpha}}),
    )
    .await;
    assert_eq!(
        ws_next(&mut ws, Duration::from_secs(5)).await.unwrap()["type"],
        "connection_ack",
        "the connection takes one request"
    );
    let sub = |id: &str| json!({"id": id, "type": "subscribe", "payload": {"query": "subscription { resourceChanged { name } }"}});
    ws_send(&mut ws, sub("1")).await;
    ws_send(&mut ws, sub("2")).await;
    let m = ws_next(&mut ws, Duration::from_secs(5)).await.unwrap();
    assert_eq!(m["id"], "2", "the first subscription runs quietly: {m}");
    assert!(m.to_string().contains("RATE_LIMITED"), "{m}");
    server.abort();
}

// ---------------------------------------------------------------- both stores

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use crate::common::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(TestDb::sqlite()).await;
                }
            )*
        }
        mod postgres {
            use crate::common::TestDb;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = TestDb::postgres().await else { return };
                    super::$name(db).await;
                }
            )*
        }
    };
}

on_both_stores!(
    authentication,
    apply_mutation,
    queries,
    delete_mutation,
    af_functions,
    limits,
    rate_limits,
    health,
    subscriptions,
    lagging_subscription_expires,
    concurrent_function_writes,
);

// ---------------------------------------------------------------- schema file

#[test]
fn schema_graphql_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == api::schema::sdl(),
        "schema.graphql is stale: run `af-operator graphql-schema`"
    );
}

#[tokio::test]
async fn introspection_fits_the_default_limits() {
    let db = TestDb::sqlite();
    let h = harness(db, open_config()).await;
    // The query GraphiQL sends, abridged to its deepest part.
    let q = "query IntrospectionQuery { __schema { queryType { name } types { kind name fields(includeDeprecated: true) { name args { name type { ...TypeRef } } type { ...TypeRef } } } } }
      fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
    let v = h.gql(&h.alpha, q, json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
    assert!(v.to_string().contains("AFFunction"));
}

// ---------------------------------------------------------------- the binary: token, serve

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn af(db: &str, args: &[&str]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_af-operator"))
        .args(args)
        .env("AF_DATABASE_URL", db)
        .env_remove("PORT")
        .env_remove("AF_LISTEN")
        .output()
        .expect("run af-operator");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// One HTTP/1.1 request over a fresh connection: status and body.
fn http(addr: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{auth}\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, body.to_string())
}

/// A running `af-operator serve`, stopped with SIGTERM.
struct Server {
    child: std::process::Child,
    addr: String,
    stderr: std::io::BufReader<std::process::ChildStderr>,
}

impl Server {
    fn start(db: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_af-operator"));
        cmd.arg("serve")
            .arg("--controllers=false")
            .args(args)
            .env("AF_DATABASE_URL", db)
            .env_remove("PORT")
            .env_remove("AF_LISTEN")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn serve");
        let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or_else(|| panic!("serve did not start: {line}"))
            .to_string();
        Server {
            child,
            addr,
            stderr,
        }
    }

    /// Sends SIGTERM; returns the exit code and the rest of standard error.
    fn terminate(mut self) -> (i32, String) {
        use std::io::Read;
        let pid = self.child.id().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let mut rest = String::new();
        self.stderr.read_to_string(&mut rest).unwrap();
        (status.code().unwrap_or(-1), rest)
    }
}

fn binary_end_to_end(db: &str) {
    let r = af(
        db,
        &[
            "token",
            "create",
            "--project",
            "alpha",
            "--description",
            "dashboard",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let token = r.stdout.trim().to_string();
    assert!(Token::parse(&token).is_some(), "{token}");
    assert!(r.stderr.contains("shown only once"), "{}", r.stderr);
    let r = af(db, &["token", "create", "--project", "Not_A_Project"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("DNS-1123"), "{}", r.stderr);
    let r = af(db, &["token", "create", "--project", "ops", "--admin"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("admin"), "{}", r.stderr);

    let r = af(db, &["token", "list"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("ID "), "{}", r.stdout);
    assert!(r.stdout.contains("dashboard"), "{}", r.stdout);
    assert!(!r.stdout.contains(&token[3..]), "a token was printed again");
    let r = af(db, &["token", "list", "-o", "json"]);
    let list: Value = serde_json::from_str(&r.stdout).unwrap();
    let alpha = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["project"] == "alpha")
        .unwrap();
    let id = alpha["id"].as_str().unwrap().to_string();
    assert_eq!(alpha["admin"], false);

    // serve: apply through HTTP, read it back, then the revoked token is refused.
    let server = Server::start(db, &["--listen", "127.0.0.1:0"], &[]);
    let (status, _) = http(&server.addr, "GET", "/readyz", None, "");
    assert_eq!(status, 200);
    let apply = json!({"query": APPLY, "variables": {"d": [FUNCTION_YAML]}}).to_string();
    let (status, body) = http(&server.addr, "POST", "/graphql", Some(&token), &apply);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["apply"][0]["project"], "alpha", "{v}");
    let r = af(
        db,
        &[
            "get",
            "function",
            "users-api",
            "--project",
            "alpha",
            "-o",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "the CLI sees what the API applied: {}", r.stderr);

    let r = af(db, &["token", "revoke", &id]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("revoked"), "{}", r.stdout);
    let q = json!({"query": "{ viewer { project } }"}).to_string();
    let (status, _) = http(&server.addr, "POST", "/graphql", Some(&token), &q);
    assert_eq!(status, 401);
    let r = af(db, &["token", "revoke", "tok_nope"]);
    assert_eq!(r.code, 1);

    let (code, rest) = server.terminate();
    assert_eq!(code, 0, "serve did not stop cleanly on SIGTERM: {rest}");
    assert!(rest.contains("stopped"), "{rest}");
    assert!(!rest.contains(&token[3..]), "a token was logged: {rest}");
}

#[test]
fn binary_end_to_end_on_sqlite() {
    let db = TestDb::sqlite();
    binary_end_to_end(&db.url);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_end_to_end_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || binary_end_to_end(&url))
        .await
        .unwrap();
}

#[test]
fn serve_listens_on_port_when_only_port_is_set() {
    let db = TestDb::sqlite();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = Server::start(&db.url, &[], &[("PORT", &port.to_string())]);
    assert_eq!(server.addr, format!("0.0.0.0:{port}"));
    let (status, body) = http(&format!("127.0.0.1:{port}"), "GET", "/healthz", None, "");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (code, _) = server.terminate();
    assert_eq!(code, 0);

    // --listen wins over PORT.
    let server = Server::start(
        &db.url,
        &["--listen", "127.0.0.1:0"],
        &[("PORT", &port.to_string())],
    );
    assert!(server.addr.starts_with("127.0.0.1:"), "{}", server.addr);
    assert_eq!(server.terminate().0, 0);
}

#[test]
fn graphql_schema_command_writes_and_checks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("schema.graphql");
    let out = out.to_str().unwrap();
    let r = af(
        "sqlite://unused.db",
        &["graphql-schema", "--out", out, "--check"],
    );
    assert_eq!(r.code, 1, "a missing file is stale");
    let r = af("sqlite://unused.db", &["graphql-schema", "--out", out]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(std::fs::read_to_string(out).unwrap(), api::schema::sdl());
    let r = af(
        "sqlite://unused.db",
        &["graphql-schema", "--out", out, "--check"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = af("sqlite://unused.db", &["graphql-schema", "--out", "-"]);
    assert!(r.stdout.contains("type Query"), "{}", r.stdout);
}

#[tokio::test]
async fn rendered_sdl_comes_from_the_real_templates_with_secrets_redacted() {
    let db = TestDb::sqlite();
    let store = Arc::new(db.open().await);
    let (token, _) = auth::create_token(store.as_ref(), "platform", false, "test")
        .await
        .unwrap();
    let renderer =
        af_operator::render::Renderer::new(af_operator::render::TemplateSource::builtin());
    let api = Api::new(
        store.clone(),
        store.clone(),
        Some(Arc::new(renderer)),
        open_config(),
    );
    let text =
        std::fs::read_to_string(crate::common::examples_dir().join("agent-api.yaml")).unwrap();
    let docs = af_operator::spec::load::load_str("agent-api.yaml", &text).unwrap();
    store
        .apply(&docs.into_iter().map(|d| d.input).collect::<Vec<_>>())
        .await
        .unwrap();
    let body = json!({"query": r#"{ resource(kind: AGENT, name: "defarm-api") { renderedSdl } }"#})
        .to_string();
    let req = Request::post("/graphql")
        .header(header::CONTENT_TYPE, "application/json")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", token.expose_secret()),
        )
        .body(Body::from(body))
        .unwrap();
    let resp = api.router().oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    let sdl = v["data"]["resource"]["renderedSdl"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"));
    assert!(sdl.contains("version: \"2.0\""), "{sdl}");
    assert!(sdl.contains("DATABASE_URL=<redacted>"), "{sdl}");
}
