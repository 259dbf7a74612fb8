//! Functions end to end (issue #12): the daemon against the devnet over real sockets. A
//! Function created through GraphQL runs on a 4-node FunctionRuntime (two regions, two
//! providers), its bundle fetched from the devnet's IPFS gateway and verified with BLAKE3,
//! served as `users.af-functions.dev` through the providers' ingress with its routes proxied
//! to local servers; a routes change lands without any Akash transaction; a canary goes
//! 25% → 50% → 100%; a wrong BLAKE3 is refused while the old version serves; a canary that
//! fails at 50% rolls back by itself; `rollout status|pause|resume|undo` drive it.

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use af_operator::akash::client::AkashChain;
use af_operator::daemon::Daemon;
use af_operator::devnet::{Devnet, DevnetConfig};
use af_operator::functions::controller::FunctionConfig;
use af_operator::functions::FunctionStatus;
use af_operator::reconcile::status::AkashStatus;
use af_operator::secrets::{MasterKey, SecretVault};
use af_operator::spec::{ConditionStatus, Kind, Resource, ResourceKey};
use af_operator::store::Store;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::common::TestDb;
use crate::reconcile::{apply, chain_client, fast_controller, start_full};

const RUNTIME: &str = r#"
apiVersion: alternatefutures.ai/v1alpha1
kind: FunctionRuntime
metadata: {name: edge, project: demo}
spec:
  image: ghcr.io/alternatefutures/af-functions-runtime:2.3.0
  port: 8080
  nodes:
    count: 4
    regions:
      - {region: us-west, count: 2}
      - {region: eu-central, count: 2}
  resources: {cpu: 0.5, memory: 512Mi, storage: [{size: 1Gi}]}
  wildcardDomain: "*.af-functions.dev"
  healthCheck: {path: /healthz, interval: 1s, timeout: 1s}
"#;

/// The Function with its rollout settings, as an operator applies it.
fn function_yaml(cid: &str, blake3: &str, routes: &str) -> String {
    format!(
        r#"
apiVersion: alternatefutures.ai/v1alpha1
kind: Function
metadata: {{name: users-api, project: demo}}
spec:
  runtime: edge
  slug: users
  code: {{cid: {cid}, blake3: "{blake3}"}}
  routes: {routes}
  env:
    - {{name: LOG_LEVEL, value: info}}
    - {{name: API_KEY, secretRef: {{store: vault, key: USERS_API_KEY}}}}
  rollout:
    strategy: canary
    steps: [25, 50, 100]
    healthCheck: {{path: /api/users/health, interval: 300ms, timeout: 300ms}}
    failureThreshold: 2
"#
    )
}

fn key() -> ResourceKey {
    ResourceKey::new(Kind::Function, "demo", "users-api")
}

/// A local HTTP server that answers 200 and records `METHOD path?query` of every request.
async fn target(name: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let s = seen.clone();
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let s = s.clone();
        async move {
            let line = format!(
                "{} {}",
                req.method(),
                req.uri()
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/")
            );
            s.lock().unwrap().push(line);
            axum::Json(json!({ "target": name }))
        }
    });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    (format!("http://{addr}"), seen)
}

async fn start(dn: &Devnet, url: &str, vault: Arc<SecretVault>) -> (Daemon, watch::Sender<bool>) {
    let mut controller = fast_controller();
    controller.functions = FunctionConfig {
        resync: Duration::from_secs(2),
        workers: 4,
        retry: Duration::from_millis(200),
        max_backoff: Duration::from_secs(2),
    };
    let listen = Some("127.0.0.1:0".parse().unwrap());
    start_full(dn, url, controller, 0, vault, listen).await
}

/// A devnet (3 providers, 100 ms blocks), a vault holding the function's secret, the daemon.
struct Setup {
    dn: Devnet,
    vault: Arc<SecretVault>,
    d: Daemon,
    stop: watch::Sender<bool>,
    store: Arc<dyn Store>,
}

async fn setup(db: &TestDb, master: u8) -> Setup {
    let dn = Devnet::start(DevnetConfig {
        providers: 3,
        block_time: Duration::from_millis(100),
        bid_delay: Duration::from_millis(200),
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet");
    let records = Arc::new(af_operator::store::open(&db.url).await.unwrap());
    let vault = Arc::new(SecretVault::new(
        records,
        MasterKey::from_bytes([master; 32]),
    ));
    vault
        .set("demo", "vault", "USERS_API_KEY", b"s3cr3t-users-key")
        .await
        .unwrap();
    let (d, stop) = start(&dn, &db.url, vault.clone()).await;
    let store: Arc<dyn Store> = d.store.clone();
    Setup {
        dn,
        vault,
        d,
        stop,
        store,
    }
}

impl Setup {
    async fn end(self) {
        let _ = self.stop.send(true);
        self.d.wait().await;
        self.dn.shutdown().unwrap();
    }
}

async fn wait_for(
    store: &dyn Store,
    what: &str,
    timeout: Duration,
    ok: impl Fn(&Resource, &FunctionStatus) -> bool,
) -> Resource {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(r) = store.get(&key()).await.unwrap() {
            let fs = FunctionStatus::from_status(&r.status);
            if ok(&r, &fs) {
                return r;
            }
            if Instant::now() > deadline {
                panic!(
                    "{what}: not reached in {timeout:?}: {}",
                    serde_json::to_string_pretty(&r.status).unwrap()
                );
            }
        } else if Instant::now() > deadline {
            panic!("{what}: the function does not exist");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn condition(r: &Resource, t: &str) -> (ConditionStatus, String, i64) {
    r.status
        .condition(t)
        .map(|c| (c.status, c.reason.clone(), c.observed_generation))
        .unwrap_or((ConditionStatus::Unknown, String::new(), 0))
}

/// Ready and Synced at the resource's generation, every node on one version.
fn settled(r: &Resource, fs: &FunctionStatus) -> bool {
    let g = r.metadata.generation;
    condition(r, "Ready") == (ConditionStatus::True, "Ready".into(), g)
        && condition(r, "Synced").0 == ConditionStatus::True
        && fs.rollout.target.is_none()
        && fs.node_uris.len() == 4
}

fn versions(fs: &FunctionStatus) -> Vec<String> {
    fs.node_uris
        .keys()
        .map(|n| {
            fs.rollout
                .nodes
                .get(n)
                .and_then(|s| s.version.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// The ingress listener that serves `node_uri`.
fn ingress_of(dn: &Devnet, node_uri: &str) -> std::net::SocketAddr {
    dn.provider_set()
        .expect("providers")
        .ingress_hosts()
        .into_iter()
        .find(|(h, _)| h == node_uri)
        .map(|(_, a)| a)
        .expect("the node's ingress")
}

/// `GET http://users.af-functions.dev{path}` through the ingress listener of `node_uri`.
async fn via_ingress(dn: &Devnet, node_uri: &str, path: &str) -> (u16, Value) {
    let addr = ingress_of(dn, node_uri);
    let r = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .header("host", "users.af-functions.dev")
        .send()
        .await
        .expect("ingress answers");
    let code = r.status().as_u16();
    (code, r.json().await.unwrap_or(Value::Null))
}

/// What node `node_uri` runs as `users`, read from its admin API with the runtime's token.
async fn running_version(dn: &Devnet, vault: &SecretVault, node_uri: &str) -> Value {
    use af_operator::render::SecretResolver;
    let token = vault
        .resolver("demo")
        .await
        .unwrap()
        .resolve(
            "demo",
            &af_operator::spec::common::SecretRef {
                store: "af-operator".into(),
                key: "runtime-token.edge".into(),
            },
        )
        .expect("the runtime token is in the vault");
    let addr = ingress_of(dn, node_uri);
    let r = reqwest::Client::new()
        .get(format!("http://{addr}/_af/v1/functions/users"))
        .header("host", node_uri)
        .bearer_auth(token)
        .send()
        .await
        .expect("admin API answers");
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(
        !v.to_string().contains("s3cr3t"),
        "env values are never echoed: {v}"
    );
    v["version"].clone()
}

/// Every node's admin API says it runs `version` as `users`.
async fn assert_every_node_runs(dn: &Devnet, vault: &SecretVault, uris: &[String], version: &str) {
    for uri in uris {
        assert_eq!(running_version(dn, vault, uri).await, version, "{uri}");
    }
}

async fn events(store: &dyn Store) -> Vec<(String, String)> {
    store
        .list_events(&key(), 500)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.reason, e.message))
        .collect()
}

async fn gql(api: &str, token: &str, query: &str, variables: Value) -> Value {
    let v: Value = reqwest::Client::new()
        .post(format!("http://{api}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v.get("errors").is_none(), "{v}");
    v
}

/// `af-operator rollout ACTION function/users-api --project demo EXTRA…` against `db`.
fn rollout_cli(db: &str, action: &str, extra: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_af-operator"))
        .args(["rollout", action, "function/users-api", "--project", "demo"])
        .args(extra)
        .env("AF_DATABASE_URL", db)
        .stdin(Stdio::null())
        .output()
        .expect("af-operator");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The wallet's account sequence: it moves with every transaction.
async fn sequence(chain: &impl AkashChain) -> u64 {
    chain
        .account(chain.owner())
        .await
        .expect("account")
        .sequence
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn functions_roll_out_on_a_four_node_runtime_with_canary_and_rollback() {
    rollouts(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn functions_roll_out_on_a_four_node_runtime_on_postgres() {
    if let Some(db) = TestDb::postgres().await {
        rollouts(db).await;
    }
}

async fn rollouts(db: TestDb) {
    let s = setup(&db, 7).await;
    let (dn, vault, d, store) = (&s.dn, &s.vault, &s.d, s.store.clone());
    let chain = chain_client(dn).await;
    let (users_url, users_seen) = target("users").await;
    let (default_url, default_seen) = target("default").await;

    let bundle = |v: u32| format!("export default {{ version: {v} }} // users-api build {v}\n");
    let add = |v: u32| {
        let bytes = bundle(v).into_bytes();
        let cid = dn.ipfs().add(&bytes, 1).to_string();
        (cid, blake3::hash(&bytes).to_hex().to_string())
    };
    let (cid1, b31) = add(1);

    // The runtime: four nodes, one SDL service each, on two providers.
    apply(store.as_ref(), RUNTIME).await;

    // Created through GraphQL, as the platform's backend does.
    let (token, _) = af_operator::api::auth::create_token(d.store.as_ref(), "demo", false, "test")
        .await
        .unwrap();
    let api = d.api_addr.unwrap().to_string();
    let t_create = Instant::now();
    let created = gql(
        &api,
        token.expose_secret(),
        "mutation($data: AFFunctionCreateInput!) { createAFFunction(data: $data) { name slug status } }",
        json!({"data": {
            "name": "users-api", "slug": "users", "runtime": "edge",
            "code": {"cid": cid1, "blake3": b31},
            "routes": {"/api/users/*": users_url, "/*": default_url},
            "env": [{"name": "LOG_LEVEL", "value": "info"},
                    {"name": "API_KEY", "secretRef": {"store": "vault", "key": "USERS_API_KEY"}}]
        }}),
    )
    .await;
    assert_eq!(created["data"]["createAFFunction"]["slug"], "users");
    let r = wait_for(
        store.as_ref(),
        "first version",
        Duration::from_secs(60),
        settled,
    )
    .await;
    let first_ready = t_create.elapsed();
    let fs = FunctionStatus::from_status(&r.status);
    assert_eq!(versions(&fs), ["1", "1", "1", "1"]);
    assert_eq!(fs.url.as_deref(), Some("https://users.af-functions.dev"));
    eprintln!("createAFFunction → Ready on 4 nodes (runtime deployed meanwhile): {first_ready:?}");
    // The runtime is on two providers, one node per SDL service.
    let rt = store
        .get(&ResourceKey::new(Kind::FunctionRuntime, "demo", "edge"))
        .await
        .unwrap()
        .unwrap();
    let rts = AkashStatus::from_status(&rt.status);
    let providers: std::collections::BTreeSet<_> =
        rts.leases.iter().map(|l| l.provider.clone()).collect();
    assert_eq!(providers.len(), 2, "{:?}", rts.leases);
    let node_uris: Vec<String> = fs.node_uris.values().cloned().collect();
    // The secret reached the nodes, never the status.
    let status_text = serde_json::to_string(&r.status).unwrap();
    assert!(!status_text.contains("s3cr3t"), "{status_text}");

    // Served as users.af-functions.dev through every provider's ingress, routes proxied.
    for uri in [&node_uris[0], &node_uris[3]] {
        let (code, body) = via_ingress(dn, uri, "/api/users/42?full=1").await;
        assert_eq!(
            (code, body["target"].as_str()),
            (200, Some("users")),
            "{body}"
        );
        let (code, body) = via_ingress(dn, uri, "/pricing").await;
        assert_eq!(
            (code, body["target"].as_str()),
            (200, Some("default")),
            "{body}"
        );
        // No rollout settings yet: the runtime's default health path.
        let (code, body) = via_ingress(dn, uri, "/healthz").await;
        assert_eq!((code, body["status"].as_str()), (200, Some("ok")), "{body}");
    }
    assert!(users_seen
        .lock()
        .unwrap()
        .contains(&"GET /api/users/42?full=1".to_string()));
    assert!(default_seen
        .lock()
        .unwrap()
        .contains(&"GET /pricing".to_string()));

    // The operator's rollout settings, applied as YAML; the code is unchanged: no rollout.
    let routes = format!(r#"{{"/api/users/*": "{users_url}", "/*": "{default_url}"}}"#);
    apply(store.as_ref(), &function_yaml(&cid1, &b31, &routes)).await;
    let r = wait_for(
        store.as_ref(),
        "rollout settings",
        Duration::from_secs(20),
        |r, fs| settled(r, fs) && fs.steps == [25, 50, 100],
    )
    .await;
    assert_eq!(versions(&FunctionStatus::from_status(&r.status)), ["1"; 4]);
    // The rollout's health path reached the nodes with the settings.
    let t = Instant::now();
    loop {
        let (code, body) = via_ingress(dn, &node_uris[0], "/api/users/health").await;
        if (code, body["status"].as_str()) == (200, Some("ok")) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "health path not pushed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }

    // A routes-only change through updateAFFunction: pushed to every node, no transaction.
    let seq = sequence(&chain).await;
    let manifest_before = rts.manifest_version.clone();
    gql(
        &api,
        token.expose_secret(),
        "mutation($w: AFFunctionWhereInput!, $data: AFFunctionUpdateInput!) { updateAFFunction(where: $w, data: $data) { generation } }",
        json!({"w": {"name": "users-api"}, "data": {"routes": {
            "/api/v2/users/:id": users_url, "/api/users/*": users_url, "/*": default_url
        }}}),
    )
    .await;
    let t = Instant::now();
    loop {
        let (code, body) = via_ingress(dn, &node_uris[2], "/api/v2/users/7").await;
        if code == 200 && body["target"] == "users" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "routes not pushed: {body}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let r = wait_for(
        store.as_ref(),
        "routes pushed",
        Duration::from_secs(20),
        settled,
    )
    .await;
    eprintln!("routes change → served: {:?}", t.elapsed());
    assert_eq!(versions(&FunctionStatus::from_status(&r.status)), ["1"; 4]);
    assert_eq!(
        sequence(&chain).await,
        seq,
        "a routes change made a transaction"
    );
    let rt_after = store
        .get(&ResourceKey::new(Kind::FunctionRuntime, "demo", "edge"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        AkashStatus::from_status(&rt_after.status).manifest_version,
        manifest_before
    );

    // A new version through updateAFFunction: a canary, 25% → 50% → 100%, health-gated.
    let (cid2, b32) = add(2);
    let t = Instant::now();
    let v = gql(
        &api,
        token.expose_secret(),
        "mutation($w: AFFunctionWhereInput!, $data: AFFunctionUpdateInput!) { updateAFFunction(where: $w, data: $data) { generation } }",
        json!({"w": {"name": "users-api"}, "data": {"code": {"cid": cid2, "blake3": b32}}}),
    )
    .await;
    let g2 = v["data"]["updateAFFunction"]["generation"]
        .as_i64()
        .unwrap();
    let r = wait_for(
        store.as_ref(),
        "canary",
        Duration::from_secs(60),
        |r, fs| settled(r, fs) && r.metadata.generation == g2,
    )
    .await;
    let took = t.elapsed();
    let fs = FunctionStatus::from_status(&r.status);
    let v2 = g2.to_string();
    assert_eq!(versions(&fs), [v2.as_str(); 4]);
    assert_eq!(fs.rollout.previous.as_ref().unwrap().version, "1");
    let ev = events(store.as_ref()).await;
    let steps: Vec<&String> = ev
        .iter()
        .filter(|(r, m)| r == "RolloutStep" && m.contains(&format!("version {v2}")))
        .map(|(_, m)| m)
        .collect();
    assert_eq!(steps.len(), 3, "{ev:#?}");
    assert!(
        steps[0].contains("step 1/3 (25%)") && steps[0].contains("(1 of 4 nodes)"),
        "{steps:#?}"
    );
    assert!(steps[1].contains("step 2/3 (50%)") && steps[1].contains("(2 of 4 nodes)"));
    assert!(steps[2].contains("step 3/3 (100%)") && steps[2].contains("(4 of 4 nodes)"));
    assert!(ev.iter().any(|(r, _)| r == "RolloutComplete"));
    // Each step's health window: 2 passes in a row, 300 ms apart.
    let windows = Duration::from_millis(3 * 300);
    eprintln!(
        "canary 25/50/100 on 4 nodes: apply → 100% in {took:?}, the step health windows sum to {windows:?} ({:.2}×); measured by the daemon: {:?} ms",
        took.as_secs_f64() / windows.as_secs_f64(),
        fs.last_rollout_ms
    );
    assert_every_node_runs(dn, vault, &node_uris, &v2).await;
    assert_eq!(sequence(&chain).await, seq, "a rollout made a transaction");

    // `rollout status` prints it.
    let (code, out, err) = rollout_cli(&db.url, "status", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("function/users-api (project demo): Ready"),
        "{out}"
    );
    assert!(
        out.contains(&format!("stable:   version {v2} (cid {cid2})")),
        "{out}"
    );
    assert!(out.contains("previous: version 1"), "{out}");
    assert!(out.contains("steps:    25% → 50% → 100%"), "{out}");

    // A wrong BLAKE3: refused by the nodes, the old version keeps serving.
    let (cid3, _) = add(3);
    let wrong = "0".repeat(64);
    apply(
        store.as_ref(),
        &function_yaml(
            &cid3,
            &wrong,
            &serde_json::to_string(&json!({
                "/api/v2/users/:id": users_url, "/api/users/*": users_url, "/*": default_url
            }))
            .unwrap(),
        ),
    )
    .await;
    let r = wait_for(
        store.as_ref(),
        "hash mismatch",
        Duration::from_secs(30),
        |r, _| {
            condition(r, "Degraded").0 == ConditionStatus::True
                && condition(r, "Degraded").2 == r.metadata.generation
        },
    )
    .await;
    assert_eq!(condition(&r, "Degraded").1, "HashMismatch");
    assert_eq!(
        condition(&r, "Ready").0,
        ConditionStatus::True,
        "the old version serves"
    );
    let fs = FunctionStatus::from_status(&r.status);
    assert_eq!(versions(&fs), [v2.as_str(); 4]);
    assert!(
        fs.rollout
            .failed
            .as_ref()
            .unwrap()
            .message
            .contains("has BLAKE3"),
        "{:?}",
        fs.rollout.failed
    );
    assert_every_node_runs(dn, vault, &node_uris, &v2).await;

    // A canary that fails at 50%: the new version is unhealthy on node-1 only, so the first
    // step (node-0) passes and the second (node-0, node-1) fails: every node goes back.
    let (cid4, b34) = add(4);
    let g4 = r.metadata.generation + 1;
    dn.provider_set()
        .unwrap()
        .function_fault_on("users", &g4.to_string(), Some("node-1"), true);
    let routes = serde_json::to_string(&json!({
        "/api/v2/users/:id": users_url, "/api/users/*": users_url, "/*": default_url
    }))
    .unwrap();
    apply(store.as_ref(), &function_yaml(&cid4, &b34, &routes)).await;
    let r = wait_for(
        store.as_ref(),
        "rollback",
        Duration::from_secs(60),
        |r, fs| {
            r.metadata.generation == g4
                && condition(r, "Degraded") == (ConditionStatus::True, "RolloutFailed".into(), g4)
                && versions(fs) == [v2.as_str(); 4]
        },
    )
    .await;
    let fs = FunctionStatus::from_status(&r.status);
    let failed = fs.rollout.failed.as_ref().unwrap();
    assert!(failed.message.contains("node-1"), "{}", failed.message);
    assert!(
        failed.message.contains("step 2/3 (50%)"),
        "{}",
        failed.message
    );
    assert_eq!(condition(&r, "Ready").0, ConditionStatus::True);
    let ev = events(store.as_ref()).await;
    assert!(
        ev.iter()
            .any(|(r, m)| r == "RolloutFailed" && m.contains("node-1")),
        "{ev:#?}"
    );
    assert_every_node_runs(dn, vault, &node_uris, &v2).await;
    // It stays rolled back: the failed version is not tried again while the spec names it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = store.get(&key()).await.unwrap().unwrap();
    assert_eq!(
        versions(&FunctionStatus::from_status(&again.status)),
        [v2.as_str(); 4]
    );

    // `rollout undo`: back to the version before the current one, rolled out as any.
    let (code, out, err) = rollout_cli(&db.url, "undo", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("rolled back to version 1"), "{out}");
    let r = wait_for(store.as_ref(), "undo", Duration::from_secs(60), |r, fs| {
        settled(r, fs) && versions(fs) == ["1"; 4]
    })
    .await;
    assert_eq!(
        FunctionStatus::from_status(&r.status)
            .rollout
            .stable
            .unwrap()
            .cid,
        cid1
    );

    // Pause mid-rollout holds the step; resume finishes it.
    let (code, _, err) = rollout_cli(&db.url, "pause", &[]);
    assert_eq!(code, 0, "{err}");
    let routes_now = serde_json::to_string(&r.spec["routes"]).unwrap();
    let mut doc = function_yaml(&cid2, &b32, &routes_now);
    doc = doc.replace(
        "failureThreshold: 2",
        "failureThreshold: 2\n    paused: true",
    );
    apply(store.as_ref(), &doc).await;
    let r = wait_for(
        store.as_ref(),
        "paused",
        Duration::from_secs(20),
        |r, fs| fs.phase == "Paused" && r.status.observed_generation == Some(r.metadata.generation),
    )
    .await;
    let fs = FunctionStatus::from_status(&r.status);
    assert!(fs.rollout.moved.len() <= 1, "{:?}", fs.rollout);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let held = FunctionStatus::from_status(&store.get(&key()).await.unwrap().unwrap().status);
    assert_eq!(held.rollout.step, 0, "paused, the step does not advance");
    let (code, out, err) = rollout_cli(&db.url, "resume", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("resumed"), "{out}");
    let (code, out, err) = rollout_cli(&db.url, "status", &["-w", "--timeout", "60s"]);
    assert_eq!(code, 0, "{out}{err}");
    let r = store.get(&key()).await.unwrap().unwrap();
    let fs = FunctionStatus::from_status(&r.status);
    assert_eq!(fs.rollout.stable.as_ref().unwrap().cid, cid2);
    assert_eq!(
        sequence(&chain).await,
        seq,
        "function changes made a transaction"
    );

    // Deleting the function removes it from every node.
    store.request_deletion(&key()).await.unwrap();
    let t = Instant::now();
    while store.get(&key()).await.unwrap().is_some() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the function was not deleted"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let (code, body) = via_ingress(dn, &node_uris[0], "/anything").await;
    assert_eq!(
        (code, body["error"].as_str()),
        (404, Some("NotFound")),
        "{body}"
    );

    s.end().await;
}

/// A runtime whose lease is closed by its provider is re-placed; its new nodes get every
/// Function's current version before the runtime counts as Ready again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replaced_runtime_node_serves_every_function_and_the_proxy_follows() {
    use af_operator::devnet::provider::ProviderFault;
    let db = TestDb::sqlite();
    let s = setup(&db, 9).await;
    let (dn, vault, store) = (&s.dn, &s.vault, s.store.clone());
    let bytes = b"export default { replaced: true }\n".to_vec();
    let cid = dn.ipfs().add(&bytes, 1).to_string();
    let b3 = blake3::hash(&bytes).to_hex().to_string();
    let runtime = RUNTIME
        .replace(
            "    count: 4\n    regions:\n      - {region: us-west, count: 2}\n      - {region: eu-central, count: 2}\n",
            "    count: 2\n",
        );
    apply(store.as_ref(), &runtime).await;
    apply(
        store.as_ref(),
        &function_yaml(&cid, &b3, r#"{"/api/*": "http://127.0.0.1:9"}"#),
    )
    .await;
    apply(store.as_ref(), PROXY).await;
    let rt_key = ResourceKey::new(Kind::FunctionRuntime, "demo", "edge");
    let r = wait_for(
        store.as_ref(),
        "first version",
        Duration::from_secs(60),
        |r, fs| {
            condition(r, "Ready").0 == ConditionStatus::True
                && fs.rollout.target.is_none()
                && fs.node_uris.len() == 2
        },
    )
    .await;
    let version = FunctionStatus::from_status(&r.status)
        .rollout
        .stable
        .unwrap()
        .version;
    let rt = store.get(&rt_key).await.unwrap().unwrap();
    // The Proxy routes the runtime's wildcard domain to its two nodes.
    let hosts: Vec<String> = af_operator::functions::runtime_nodes(&rt)
        .into_iter()
        .map(|n| format!("{}:80", n.uri))
        .collect();
    let routed = proxy_routed_to(store.as_ref(), &hosts).await;
    eprintln!("proxy Ready with its routes in {routed:?}");
    // (Which node of a provider answers is that provider's ingress's choice.)
    let served = via_proxy(dn, 4).await;
    assert!(
        served.iter().all(|n| n == "node-0" || n == "node-1"),
        "{served:?}"
    );
    let before = AkashStatus::from_status(&rt.status);
    let old_provider = before.provider.clone().expect("provider");
    let dseq: u64 = before.dseq.clone().unwrap().parse().unwrap();
    dn.provider_set()
        .unwrap()
        .fault(
            &old_provider,
            ProviderFault::CloseLease {
                dseq,
                gseq: None,
                oseq: None,
                reason: 10001,
            },
        )
        .expect("close lease");
    // The first look at which the runtime is Ready on its new provider.
    let t = Instant::now();
    let healed = loop {
        let rt = store.get(&rt_key).await.unwrap().unwrap();
        let s = AkashStatus::from_status(&rt.status);
        let ready = rt
            .status
            .condition("Ready")
            .is_some_and(|c| c.status == ConditionStatus::True);
        if ready && s.provider.as_deref().is_some_and(|p| p != old_provider) {
            break rt;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "not re-placed: {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    eprintln!("runtime re-placed and Ready in {:?}", t.elapsed());
    let nodes = af_operator::functions::runtime_nodes(&healed);
    assert_eq!(nodes.len(), 2, "{nodes:?}");
    for n in &nodes {
        assert!(!n.uri.is_empty());
        assert_eq!(
            running_version(dn, vault, &n.uri).await,
            version.as_str(),
            "{} was Ready without the function",
            n.node
        );
    }
    // The Proxy follows the new nodes, and serves through them.
    let new_hosts: Vec<String> = nodes.iter().map(|n| format!("{}:80", n.uri)).collect();
    assert_ne!(new_hosts, hosts);
    let t = Instant::now();
    proxy_routed_to(store.as_ref(), &new_hosts).await;
    eprintln!(
        "proxy routes moved to the new nodes {:?} after the runtime",
        t.elapsed()
    );
    // The old nodes' hostnames are gone with their lease: an answer is a new node's.
    assert!(!via_proxy(dn, 4).await.is_empty());
    // The Function follows the new nodes.
    let new_uris: Vec<String> = nodes.iter().map(|n| n.uri.clone()).collect();
    wait_for(
        store.as_ref(),
        "function on the new nodes",
        Duration::from_secs(20),
        |r, fs| {
            settled_on(r, fs, 2) && fs.node_uris.values().cloned().collect::<Vec<_>>() == new_uris
        },
    )
    .await;
    s.end().await;
}

const PROXY: &str = r#"
apiVersion: alternatefutures.ai/v1alpha1
kind: Proxy
metadata: {name: gate, project: demo}
spec:
  image: vicanso/pingap:0.10.2
  resources: {cpu: 1, memory: 1Gi, storage: [{size: 1Gi}]}
  dedicatedIp: true
  acme: {email: ops@example.com, dnsZone: example-zone}
  healthCheck: {path: /ping, interval: 1s, timeout: 1s}
"#;

/// Waits until the Proxy is Ready with one route, `*.af-functions.dev` to `hosts`.
async fn proxy_routed_to(store: &dyn Store, hosts: &[String]) -> Duration {
    let key = ResourceKey::new(Kind::Proxy, "demo", "gate");
    let t = Instant::now();
    loop {
        if let Some(p) = store.get(&key).await.unwrap() {
            let st = AkashStatus::from_status(&p.status);
            let ready = p
                .status
                .condition("Ready")
                .is_some_and(|c| c.status == ConditionStatus::True);
            let mut addrs = st
                .proxy_routes
                .first()
                .map(|r| r.addrs.clone())
                .unwrap_or_default();
            addrs.sort();
            let mut want = hosts.to_vec();
            want.sort();
            if ready && st.proxy_routes.len() == 1 && addrs == want {
                assert_eq!(st.proxy_routes[0].host, "*.af-functions.dev");
                assert_eq!(st.proxy_routes[0].source, "functionruntime/edge");
                return t.elapsed();
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "the proxy is not routed to {hosts:?}: {:?} {:?}",
                st.phase,
                st.proxy_routes
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `GET http://users.af-functions.dev/` `n` times through the Proxy's leased IP (port 80):
/// the nodes that answered, each answer the function's own.
async fn via_proxy(dn: &Devnet, n: usize) -> std::collections::BTreeSet<String> {
    let (ip, addr) = dn
        .provider_set()
        .unwrap()
        .leased_ips()
        .into_iter()
        .find(|(ip, _)| ip.ends_with(":80"))
        .expect("the proxy's leased IP on port 80");
    let http = reqwest::Client::new();
    let mut nodes = std::collections::BTreeSet::new();
    for _ in 0..n {
        let r = http
            .get(format!("http://{addr}/"))
            .header("host", "users.af-functions.dev")
            .send()
            .await
            .unwrap_or_else(|e| panic!("the proxy at {ip} answers: {e}"));
        assert_eq!(r.status().as_u16(), 200, "through the proxy at {ip}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["function"], "users", "{v}");
        nodes.insert(v["node"].as_str().unwrap_or_default().to_string());
    }
    // Nothing but the runtime's domain is routed.
    let r = http
        .get(format!("http://{addr}/"))
        .header("host", "elsewhere.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    nodes
}

/// Ready and Synced at the resource's generation on `n` nodes.
fn settled_on(r: &Resource, fs: &FunctionStatus, n: usize) -> bool {
    let g = r.metadata.generation;
    condition(r, "Ready") == (ConditionStatus::True, "Ready".into(), g)
        && condition(r, "Synced").0 == ConditionStatus::True
        && fs.rollout.target.is_none()
        && fs.node_uris.len() == n
}
