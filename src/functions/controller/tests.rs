//! The Function reconciler against an in-memory runtime (a fake [`RuntimeAdmin`]) over a
//! real SQLite store, under paused time: a first version, a canary to 100%, a canary that
//! fails at 50% and rolls back, a hash mismatch, a routes-only push, a missing secret.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::functions::admin::{AdminError, NodeAddr, PutBody, Running, RuntimeAdmin};
use crate::reconcile::context::StaticSecrets;
use crate::reconcile::tests::{hold_clock, ClockHeld};
use crate::render::FileSecrets;
use crate::spec::akash_status::{AkashStatus, LeaseStatus, ServiceUris};
use crate::spec::load::load_str;
use crate::store::Store;

/// Nodes that run what they are PUT, checked against a bundle table and a fault list.
#[derive(Default)]
struct FakeNodes {
    running: Mutex<BTreeMap<(String, String), Running>>,
    /// cid → the BLAKE3 its bytes really have.
    bundles: Mutex<BTreeMap<String, String>>,
    /// (node, version) whose health path answers 503.
    unhealthy: Mutex<BTreeSet<(String, String)>>,
    puts: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl RuntimeAdmin for FakeNodes {
    async fn put(
        &self,
        node: &NodeAddr,
        token: &str,
        slug: &str,
        body: &PutBody,
    ) -> Result<Running, AdminError> {
        if token != "tok" {
            return Err(AdminError::Unauthorized);
        }
        let real = self.bundles.lock().unwrap().get(&body.cid).cloned();
        match real {
            None => return Err(AdminError::FetchFailed(format!("no {}", body.cid))),
            Some(b) if b != body.blake3 => {
                return Err(AdminError::HashMismatch(format!("has BLAKE3 {b}")))
            }
            Some(_) => {}
        }
        let r = Running {
            slug: slug.into(),
            node: node.node.clone(),
            version: body.version.clone(),
            cid: body.cid.clone(),
            blake3: body.blake3.clone(),
            routes: body.routes.clone(),
            env_names: body.env.keys().cloned().collect(),
            weight: body.weight,
            health_path: body.health_path.clone(),
            healthy: true,
        };
        self.puts
            .lock()
            .unwrap()
            .push((node.node.clone(), body.version.clone()));
        self.running
            .lock()
            .unwrap()
            .insert((node.node.clone(), slug.into()), r.clone());
        Ok(r)
    }
    async fn get(
        &self,
        node: &NodeAddr,
        _token: &str,
        slug: &str,
    ) -> Result<Option<Running>, AdminError> {
        Ok(self
            .running
            .lock()
            .unwrap()
            .get(&(node.node.clone(), slug.to_string()))
            .cloned())
    }
    async fn list(&self, node: &NodeAddr, _token: &str) -> Result<Vec<Running>, AdminError> {
        Ok(self
            .running
            .lock()
            .unwrap()
            .iter()
            .filter(|((n, _), _)| *n == node.node)
            .map(|(_, r)| r.clone())
            .collect())
    }
    async fn delete(&self, node: &NodeAddr, _token: &str, slug: &str) -> Result<bool, AdminError> {
        Ok(self
            .running
            .lock()
            .unwrap()
            .remove(&(node.node.clone(), slug.to_string()))
            .is_some())
    }
    async fn health(
        &self,
        node: &NodeAddr,
        slug: &str,
        _path: &str,
        _timeout: Duration,
    ) -> Result<u16, String> {
        let running = self
            .running
            .lock()
            .unwrap()
            .get(&(node.node.clone(), slug.to_string()))
            .cloned();
        let Some(r) = running else {
            return Ok(404);
        };
        if self
            .unhealthy
            .lock()
            .unwrap()
            .contains(&(node.node.clone(), r.version.clone()))
        {
            Ok(503)
        } else {
            Ok(200)
        }
    }
}

const RUNTIME: &str = r#"
apiVersion: alternatefutures.ai/v1alpha1
kind: FunctionRuntime
metadata: {name: edge, project: demo}
spec:
  image: runtime:1
  nodes: {count: 4}
  resources: {cpu: 0.5, memory: 512Mi}
  wildcardDomain: "*.fn.example"
"#;

fn function(cid: &str, b3: &str, routes: &str) -> String {
    format!(
        r#"
apiVersion: alternatefutures.ai/v1alpha1
kind: Function
metadata: {{name: api, project: demo}}
spec:
  runtime: edge
  code: {{cid: {cid}, blake3: "{b3}"}}
  routes: {routes}
  env: [{{name: KEY, secretRef: {{store: vault, key: K}}}}]
  rollout:
    strategy: canary
    steps: [10, 50, 100]
    healthCheck: {{path: /health, interval: 10s, timeout: 2s}}
    failureThreshold: 3
"#
    )
}

const CID1: &str = "bafkreicfnbohae5bsqz4lcf6tncxvv7f3qbjay5lnnsqa3424cajkoi76e";
const CID2: &str = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
const CID3: &str = "bafkreidgvpkjawlxz6sffxzwgooowe5yt7i6wsyg236mfoks77nywkptdq";
const B1: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
const B2: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
const B3: &str = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";
const BAD: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

struct H {
    _dir: tempfile::TempDir,
    store: Arc<ClockHeld>,
    nodes: Arc<FakeNodes>,
    fc: Arc<FunctionController>,
}

async fn harness(secrets: &str) -> H {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("s.db").display());
    let sql = {
        let _hold = hold_clock();
        crate::store::open(&url).await.unwrap()
    };
    let store = Arc::new(ClockHeld(Arc::new(sql)));
    let nodes = Arc::new(FakeNodes::default());
    for (cid, b3) in [(CID1, B1), (CID2, B2), (CID3, B3)] {
        nodes
            .bundles
            .lock()
            .unwrap()
            .insert(cid.to_string(), b3.to_string());
    }
    let secrets = Arc::new(StaticSecrets(Arc::new(
        FileSecrets::from_yaml("test", secrets).unwrap(),
    )));
    let fc = FunctionController::new(
        store.clone(),
        secrets,
        nodes.clone(),
        FunctionConfig::default(),
    );
    // The runtime, with four nodes leased (as its own reconciler writes them).
    apply(store.as_ref(), RUNTIME).await;
    let rt = store
        .get(&ResourceKey::new(Kind::FunctionRuntime, "demo", "edge"))
        .await
        .unwrap()
        .unwrap();
    let mut st = rt.status.clone();
    let akash = AkashStatus {
        dseq: Some("7".into()),
        leases: vec![LeaseStatus {
            dseq: "7".into(),
            gseq: 1,
            oseq: 1,
            provider: "akash1p".into(),
            state: "active".into(),
            services: (0..4)
                .map(|i| ServiceUris {
                    name: format!("node-{i}"),
                    uris: vec![format!("n{i}.ingress.p.devnet")],
                })
                .collect(),
            ..LeaseStatus::default()
        }],
        ..AkashStatus::default()
    };
    akash.write_into(&mut st);
    store
        .write_status(&rt.key(), rt.metadata.resource_version, &st)
        .await
        .unwrap();
    H {
        _dir: dir,
        store,
        nodes,
        fc,
    }
}

async fn apply(store: &dyn Store, yaml: &str) {
    let docs = load_str("t.yaml", yaml).unwrap();
    let inputs: Vec<_> = docs.into_iter().map(|d| d.input).collect();
    store.apply(&inputs).await.unwrap();
}

fn key() -> ResourceKey {
    ResourceKey::new(Kind::Function, "demo", "api")
}

impl H {
    /// Reconciles until the function waits for the resync (or `max` passes); advances the
    /// paused clock by each wait. Returns the time it took.
    async fn settle(&self, max: usize) -> Duration {
        let start = tokio::time::Instant::now();
        for _ in 0..max {
            let r = self.store.get(&key()).await.unwrap().unwrap();
            let wait = self.fc.reconcile(r).await.unwrap().unwrap();
            if wait >= self.fc.config.resync {
                break;
            }
            tokio::time::sleep(wait).await;
        }
        start.elapsed()
    }

    async fn status(&self) -> (Resource, FunctionStatus) {
        let r = self.store.get(&key()).await.unwrap().unwrap();
        let fs = FunctionStatus::from_status(&r.status);
        (r, fs)
    }

    fn versions(&self) -> Vec<String> {
        let running = self.nodes.running.lock().unwrap();
        (0..4)
            .map(|i| {
                running
                    .get(&(format!("node-{i}"), "api".to_string()))
                    .map_or("-".into(), |r| r.version.clone())
            })
            .collect()
    }
}

fn cond(r: &Resource, t: &str) -> (ConditionStatus, String) {
    r.status
        .condition(t)
        .map(|c| (c.status, c.reason.clone()))
        .unwrap_or((ConditionStatus::Unknown, String::new()))
}

const SECRETS: &str = "demo: {af-operator: {runtime-token.edge: tok}, vault: {K: v}}";

#[tokio::test(start_paused = true)]
async fn a_canary_rolls_out_by_steps_and_a_failing_one_rolls_back() {
    let h = harness(SECRETS).await;
    apply(h.store.as_ref(), &function(CID1, B1, "{}")).await;
    h.settle(20).await;
    let (r, fs) = h.status().await;
    assert_eq!(cond(&r, "Ready"), (ConditionStatus::True, "Ready".into()));
    assert_eq!(fs.phase, "Ready");
    assert_eq!(h.versions(), ["1"; 4]);
    assert_eq!(fs.url.as_deref(), Some("https://api.fn.example"));

    // v2: 10% → 1 node, 50% → 2, 100% → 4; three passes 10 s apart per step.
    apply(h.store.as_ref(), &function(CID2, B2, "{}")).await;
    let took = h.settle(100).await;
    let (r, fs) = h.status().await;
    assert_eq!(h.versions(), ["2"; 4], "{:?}", fs.rollout);
    assert_eq!(cond(&r, "Synced").0, ConditionStatus::True);
    assert_eq!(fs.rollout.previous.as_ref().unwrap().version, "1");
    // Each step's window: 3 checks in a row, 10 s apart (20 s), three steps.
    assert_eq!(took, Duration::from_secs(60), "{took:?}");
    let puts = h.nodes.puts.lock().unwrap().clone();
    let order: Vec<&str> = puts
        .iter()
        .filter(|(_, v)| v == "2")
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(order, ["node-0", "node-1", "node-2", "node-3"]);

    // v3 is unhealthy on node-1: step 1 (node-0) passes, step 2 fails; every node back on 2.
    h.nodes
        .unhealthy
        .lock()
        .unwrap()
        .insert(("node-1".into(), "3".into()));
    apply(h.store.as_ref(), &function(CID3, B3, "{}")).await;
    h.settle(100).await;
    let (r, fs) = h.status().await;
    assert_eq!(
        cond(&r, "Degraded"),
        (ConditionStatus::True, "RolloutFailed".into())
    );
    assert_eq!(cond(&r, "Ready"), (ConditionStatus::True, "Serving".into()));
    assert_eq!(fs.phase, "Degraded");
    assert_eq!(h.versions(), ["2"; 4]);
    let failed = fs.rollout.failed.unwrap();
    assert!(
        failed.message.contains("node-1") && failed.message.contains("step 2/3 (50%)"),
        "{}",
        failed.message
    );
    let reasons: Vec<String> = h
        .store
        .list_events(&key(), 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.reason)
        .collect();
    assert_eq!(
        reasons.iter().filter(|r| *r == "RolloutFailed").count(),
        1,
        "{reasons:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hash_mismatch_keeps_the_old_version_and_routes_change_in_place() {
    let h = harness(SECRETS).await;
    apply(h.store.as_ref(), &function(CID1, B1, "{}")).await;
    h.settle(20).await;
    // A wrong BLAKE3: refused by the first moved node, nothing else moves.
    apply(h.store.as_ref(), &function(CID2, BAD, "{}")).await;
    h.settle(20).await;
    let (r, fs) = h.status().await;
    assert_eq!(
        cond(&r, "Degraded"),
        (ConditionStatus::True, "HashMismatch".into())
    );
    assert_eq!(h.versions(), ["1"; 4]);
    assert!(fs
        .rollout
        .failed
        .unwrap()
        .message
        .contains(&format!("has BLAKE3 {B2}")));

    // Back to the good code with new routes: no rollout, the routes pushed to every node.
    let puts_before = h.nodes.puts.lock().unwrap().len();
    apply(
        h.store.as_ref(),
        &function(CID1, B1, r#"{"/a/*": "https://a.example"}"#),
    )
    .await;
    let took = h.settle(20).await;
    let (r, fs) = h.status().await;
    assert_eq!(cond(&r, "Ready"), (ConditionStatus::True, "Ready".into()));
    assert!(fs.rollout.failed.is_none() && fs.rollout.target.is_none());
    assert_eq!(
        took,
        Duration::ZERO,
        "a routes push waits for no health window"
    );
    assert_eq!(h.nodes.puts.lock().unwrap().len(), puts_before + 4);
    let running = h.nodes.running.lock().unwrap();
    assert!(running
        .values()
        .all(|r| r.version == "1" && r.routes.contains_key("/a/*")));
}

#[tokio::test(start_paused = true)]
async fn a_missing_secret_or_runtime_token_is_named_and_nothing_is_pushed() {
    let h = harness("demo: {af-operator: {runtime-token.edge: tok}}").await;
    apply(h.store.as_ref(), &function(CID1, B1, "{}")).await;
    h.settle(3).await;
    let (r, fs) = h.status().await;
    let c = r.status.condition("Ready").unwrap();
    assert_eq!(c.reason, "SecretMissing");
    assert!(c.message.contains("vault/K"), "{}", c.message);
    assert_eq!(fs.phase, "Pending");
    assert!(h.nodes.puts.lock().unwrap().is_empty());

    let h = harness("demo: {vault: {K: v}}").await;
    apply(h.store.as_ref(), &function(CID1, B1, "{}")).await;
    h.settle(3).await;
    let (r, _) = h.status().await;
    assert_eq!(cond(&r, "Ready").1, "RuntimeNotReady");
    assert!(h.nodes.puts.lock().unwrap().is_empty());
}
