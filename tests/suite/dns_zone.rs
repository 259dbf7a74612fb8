//! The DnsZone reconciler over a real store and in-memory providers: records follow the
//! healthy lease, a provider that is down is caught up when it returns, foreign records stay.

use std::collections::HashMap;
use std::sync::Arc;

use af_operator::dns::memory::MemoryProvider;
use af_operator::dns::zone::{
    ProviderFactory, StaticLookup, ZoneConfig, ZoneController, DNS_FINALIZER, DNS_SYNCED,
};
use af_operator::dns::{DnsError, DnsProvider, RecordType, Rrset};
use af_operator::reconcile::context::StaticSecrets;
use af_operator::spec::kinds::dns_zone::{DnsZoneSpec, ResolvedProvider};
use af_operator::spec::load::load_str;
use af_operator::spec::{ConditionStatus, Kind, ResourceKey};
use af_operator::store::Store;
use serde_json::json;

use crate::common::TestDb;

struct Fakes(HashMap<String, Arc<MemoryProvider>>);

impl ProviderFactory for Fakes {
    fn build(
        &self,
        _z: &DnsZoneSpec,
        p: &ResolvedProvider,
        _s: Option<&str>,
    ) -> Result<Arc<dyn DnsProvider>, DnsError> {
        Ok(self.0[&p.name].clone())
    }
}

async fn lease(store: &dyn Store, key: &ResourceKey, host: &str) {
    let r = store.get(key).await.unwrap().unwrap();
    let mut st = r.status.clone();
    st.facts =
        json!({"phase": "Ready", "leases": [{"dseq": "1", "gseq": 1, "oseq": 1, "provider": "p",
        "state": "active", "price": "1uact", "healthy": true, "available": true, "uris": [host]}]})
        .as_object()
        .unwrap()
        .clone();
    store
        .write_status(key, r.metadata.resource_version, &st)
        .await
        .unwrap();
}

#[tokio::test]
async fn dns_zone_follows_the_lease_on_two_providers_and_catches_up_one_that_was_down() {
    let db = TestDb::sqlite();
    let store: Arc<dyn Store> = Arc::new(db.open().await);
    let yaml = "apiVersion: alternatefutures.ai/v1alpha1
kind: DnsZone
metadata: {name: z, project: p}
spec:
  zone: example.com
  ownerId: test
  providers:
    - {name: a, rfc2136: {server: 127.0.0.1}}
    - {name: b, rfc2136: {server: 127.0.0.1}}
---
apiVersion: alternatefutures.ai/v1alpha1
kind: Agent
metadata: {name: api, project: p}
spec:
  image: x/api:1
  port: 8080
  resources: {cpu: 0.5, memory: 512Mi}
  dns: {hostnames: [api.example.com]}
";
    let inputs: Vec<_> = load_str("t.yaml", yaml)
        .unwrap()
        .into_iter()
        .map(|d| d.input)
        .collect();
    store.apply(&inputs).await.unwrap();
    let a = Arc::new(MemoryProvider::new("a"));
    let b = Arc::new(MemoryProvider::new("b"));
    for m in [&a, &b] {
        m.add_zone("example.com");
    }
    let foreign = Rrset::new(
        "mail.example.com",
        RecordType::A,
        60,
        ["198.51.100.1".to_string()],
    );
    a.put("example.com", foreign.clone());
    let fakes = Fakes(
        [("a".to_string(), a.clone()), ("b".to_string(), b.clone())]
            .into_iter()
            .collect(),
    );
    let ctl = ZoneController::new(
        store.clone(),
        Arc::new(StaticSecrets(Arc::new(
            af_operator::render::FileSecrets::default(),
        ))),
        Arc::new(fakes),
        Arc::new(StaticLookup::default()),
        ZoneConfig::default(),
    );
    let zone = ResourceKey::new(Kind::DnsZone, "p", "z");
    let agent = ResourceKey::new(Kind::Agent, "p", "api");
    let cname = |m: &MemoryProvider| {
        m.get("example.com", "api.example.com", &RecordType::Cname)
            .map(|r| r.values)
    };
    let synced = |s: &af_operator::spec::Status| {
        s.condition(DNS_SYNCED)
            .map(|c| (c.status, c.reason.clone()))
    };

    // No healthy lease yet: nothing written.
    ctl.reconcile(&zone).await.unwrap();
    assert_eq!(cname(&a), None);
    lease(store.as_ref(), &agent, "one.ingress.p1.devnet").await;
    ctl.reconcile(&zone).await.unwrap();
    for m in [&a, &b] {
        assert_eq!(cname(m), Some(vec!["one.ingress.p1.devnet".to_string()]));
    }
    let r = store.get(&zone).await.unwrap().unwrap();
    assert_eq!(
        synced(&r.status),
        Some((ConditionStatus::True, "Synced".into()))
    );

    // Re-placed while b is down: a moves, b is reported and caught up later.
    b.set_down(true);
    lease(store.as_ref(), &agent, "two.ingress.p2.devnet").await;
    ctl.reconcile(&zone).await.unwrap();
    assert_eq!(cname(&a), Some(vec!["two.ingress.p2.devnet".to_string()]));
    assert_eq!(cname(&b), Some(vec!["one.ingress.p1.devnet".to_string()]));
    let r = store.get(&zone).await.unwrap().unwrap();
    assert_eq!(
        synced(&r.status),
        Some((ConditionStatus::False, "ProviderUnavailable".into()))
    );
    b.set_down(false);
    ctl.reconcile(&zone).await.unwrap();
    assert_eq!(cname(&b), Some(vec!["two.ingress.p2.devnet".to_string()]));
    let r = store.get(&zone).await.unwrap().unwrap();
    assert_eq!(
        synced(&r.status),
        Some((ConditionStatus::True, "Synced".into()))
    );
    // The foreign record was never touched.
    assert_eq!(
        a.get("example.com", "mail.example.com", &RecordType::A),
        Some(foreign)
    );
}

#[tokio::test]
async fn deleting_a_dns_zone_removes_our_records_everywhere_then_lets_it_go() {
    let db = TestDb::sqlite();
    let store: Arc<dyn Store> = Arc::new(db.open().await);
    let yaml = "apiVersion: alternatefutures.ai/v1alpha1
kind: DnsZone
metadata: {name: z, project: p}
spec:
  zone: example.com
  ownerId: test
  providers:
    - {name: a, rfc2136: {server: 127.0.0.1}}
    - {name: b, rfc2136: {server: 127.0.0.1}}
---
apiVersion: alternatefutures.ai/v1alpha1
kind: Agent
metadata: {name: api, project: p}
spec:
  image: x/api:1
  port: 8080
  resources: {cpu: 0.5, memory: 512Mi}
  dns: {hostnames: [api.example.com]}
";
    let inputs: Vec<_> = load_str("t.yaml", yaml)
        .unwrap()
        .into_iter()
        .map(|d| d.input)
        .collect();
    store.apply(&inputs).await.unwrap();
    let a = Arc::new(MemoryProvider::new("a"));
    let b = Arc::new(MemoryProvider::new("b"));
    let foreign = Rrset::new(
        "mail.example.com",
        RecordType::A,
        60,
        ["198.51.100.1".to_string()],
    );
    // Another operator's record, with its own ownership record, in the same zone.
    let theirs = Rrset::new(
        "_af-owner.other.example.com",
        RecordType::Txt,
        300,
        ["heritage=af-operator,af-operator/owner=staging,af-operator/types=A".to_string()],
    );
    for m in [&a, &b] {
        m.add_zone("example.com");
        m.put("example.com", foreign.clone());
        m.put("example.com", theirs.clone());
    }
    let fakes = Fakes(
        [("a".to_string(), a.clone()), ("b".to_string(), b.clone())]
            .into_iter()
            .collect(),
    );
    let ctl = ZoneController::new(
        store.clone(),
        Arc::new(StaticSecrets(Arc::new(
            af_operator::render::FileSecrets::default(),
        ))),
        Arc::new(fakes),
        Arc::new(StaticLookup::default()),
        ZoneConfig::default(),
    );
    let zone = ResourceKey::new(Kind::DnsZone, "p", "z");
    let agent = ResourceKey::new(Kind::Agent, "p", "api");
    lease(store.as_ref(), &agent, "one.ingress.p1.devnet").await;
    ctl.reconcile(&zone).await.unwrap();
    let r = store.get(&zone).await.unwrap().unwrap();
    assert!(
        r.metadata.finalizers.iter().any(|f| f == DNS_FINALIZER),
        "{:?}",
        r.metadata.finalizers
    );
    let ours = |m: &MemoryProvider| {
        (
            m.get("example.com", "api.example.com", &RecordType::Cname)
                .is_some(),
            m.get("example.com", "_af-owner.api.example.com", &RecordType::Txt)
                .is_some(),
        )
    };
    for m in [&a, &b] {
        assert_eq!(ours(m), (true, true));
    }

    // Deleted while b is down: a is emptied of ours, the zone waits for b.
    b.set_down(true);
    assert_eq!(
        store.request_deletion(&zone).await.unwrap(),
        af_operator::store::Deletion::Requested
    );
    ctl.reconcile(&zone).await.unwrap();
    assert_eq!(ours(&a), (false, false));
    assert_eq!(ours(&b), (true, true));
    let r = store.get(&zone).await.unwrap().expect("kept for b");
    let c = r.status.condition(DNS_SYNCED).unwrap();
    assert_eq!(
        (c.status, c.reason.as_str()),
        (ConditionStatus::False, "Deleting")
    );
    assert!(c.message.contains("b:"), "{}", c.message);

    // b returns: emptied, and the zone is gone.
    b.set_down(false);
    ctl.reconcile(&zone).await.unwrap();
    assert_eq!(ours(&b), (false, false));
    assert!(store.get(&zone).await.unwrap().is_none());
    // What was not ours stays on both.
    for m in [&a, &b] {
        assert_eq!(
            m.get("example.com", "mail.example.com", &RecordType::A),
            Some(foreign.clone())
        );
        assert_eq!(
            m.get(
                "example.com",
                "_af-owner.other.example.com",
                &RecordType::Txt
            ),
            Some(theirs.clone())
        );
    }
}

/// Writes a Proxy's pending ACME challenges into its status, as the ACME client does.
async fn challenges(store: &dyn Store, key: &ResourceKey, list: serde_json::Value) {
    let r = store.get(key).await.unwrap().unwrap();
    let mut st = r.status.clone();
    st.facts.insert("acmeChallenges".into(), list);
    store
        .write_status(key, r.metadata.resource_version, &st)
        .await
        .unwrap();
}

#[tokio::test]
async fn dns_zone_publishes_a_proxys_acme_challenges_and_removes_them_once_answered() {
    let db = TestDb::sqlite();
    let store: Arc<dyn Store> = Arc::new(db.open().await);
    let yaml = "apiVersion: alternatefutures.ai/v1alpha1
kind: DnsZone
metadata: {name: z, project: p}
spec:
  zone: example.com
  ownerId: test
  maxDeletePercent: 100
  providers:
    - {name: a, rfc2136: {server: 127.0.0.1}}
---
apiVersion: alternatefutures.ai/v1alpha1
kind: Proxy
metadata: {name: edge, project: p}
spec:
  image: vicanso/pingap:0.10.2
  resources: {cpu: 1, memory: 1Gi}
  acme: {email: ops@example.com, dnsZone: z}
  dns: {hostnames: [edge.example.com]}
";
    let inputs: Vec<_> = load_str("t.yaml", yaml)
        .unwrap()
        .into_iter()
        .map(|d| d.input)
        .collect();
    store.apply(&inputs).await.unwrap();
    let a = Arc::new(MemoryProvider::new("a"));
    a.add_zone("example.com");
    let fakes = Fakes([("a".to_string(), a.clone())].into_iter().collect());
    let ctl = ZoneController::new(
        store.clone(),
        Arc::new(StaticSecrets(Arc::new(
            af_operator::render::FileSecrets::default(),
        ))),
        Arc::new(fakes),
        Arc::new(StaticLookup::default()),
        ZoneConfig::default(),
    );
    let zone = ResourceKey::new(Kind::DnsZone, "p", "z");
    let proxy = ResourceKey::new(Kind::Proxy, "p", "edge");
    let txt = |name: &str| {
        a.get("example.com", name, &RecordType::Txt)
            .map(|r| r.values)
    };

    ctl.reconcile(&zone).await.unwrap();
    assert_eq!(txt("_acme-challenge.edge.example.com"), None);

    // The ACME client asks for edge.example.com and the wildcard of the zone.
    challenges(
        store.as_ref(),
        &proxy,
        json!([{"domain": "edge.example.com", "value": "k1"},
               {"domain": "*.example.com", "value": "k2"},
               {"domain": "example.com", "value": "k3"}]),
    )
    .await;
    // The Proxy's own reconciler keeps them when it rewrites its facts.
    let r = store.get(&proxy).await.unwrap().unwrap();
    let mut rewritten = r.status.clone();
    af_operator::reconcile::status::AkashStatus::from_status(&r.status).write_into(&mut rewritten);
    assert_eq!(
        rewritten.facts.get("acmeChallenges"),
        r.status.facts.get("acmeChallenges")
    );

    ctl.reconcile(&zone).await.unwrap();
    assert_eq!(
        txt("_acme-challenge.edge.example.com"),
        Some(vec!["k1".to_string()])
    );
    assert_eq!(
        txt("_acme-challenge.example.com"),
        Some(vec!["k2".to_string(), "k3".to_string()])
    );
    // Ours, with an ownership record like any other.
    assert!(txt("_af-owner._acme-challenge.example.com").is_some());

    // One answered: its record goes, the other stays.
    challenges(
        store.as_ref(),
        &proxy,
        json!([{"domain": "example.com", "value": "k3"}]),
    )
    .await;
    ctl.reconcile(&zone).await.unwrap();
    assert_eq!(txt("_acme-challenge.edge.example.com"), None);
    assert_eq!(
        txt("_acme-challenge.example.com"),
        Some(vec!["k3".to_string()])
    );
    challenges(store.as_ref(), &proxy, json!([])).await;
    ctl.reconcile(&zone).await.unwrap();
    assert_eq!(txt("_acme-challenge.example.com"), None);
    assert_eq!(txt("_af-owner._acme-challenge.example.com"), None);
}

/// Runs the binary on `db` with `stdin`; (exit code, stdout, stderr).
fn af(db: &str, args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_af-operator"))
        .args(args)
        .env("AF_DATABASE_URL", db)
        .env_remove("AF_MASTER_KEY")
        .env_remove("AF_MASTER_KEY_FILE")
        .env_remove("AF_PROJECT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn af-operator");
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

fn zone_and_agent(port: u16, hostnames: &[String]) -> String {
    format!(
        "apiVersion: alternatefutures.ai/v1alpha1
kind: DnsZone
metadata: {{name: test-zone, project: p}}
spec:
  zone: example.test
  ownerId: cli-test
  providers:
    - name: bind
      rfc2136: {{server: 127.0.0.1, port: {port}, tsigKeyName: akash-key}}
      credentialsRef: {{store: dns, key: TSIG}}
---
apiVersion: alternatefutures.ai/v1alpha1
kind: Agent
metadata: {{name: api, project: p}}
spec:
  image: x/api:1
  port: 8080
  resources: {{cpu: 0.5, memory: 512Mi}}
  dns: {{hostnames: [{}]}}
",
        hostnames.join(", ")
    )
}

/// `dns plan` and `dns apply` against a real BIND: exit codes, the terraform-style and JSON
/// output, the foreign record untouched, and the delete threshold refused unless
/// `--allow-mass-delete`.
#[tokio::test]
async fn dns_cli_plan_and_apply_against_bind() {
    use crate::dns_servers::{self, Flavor};
    use hickory_proto::rr::RecordType as Q;
    if !dns_servers::available(Flavor::Bind) {
        return;
    }
    let server = dns_servers::start(Flavor::Bind).await;
    let db = TestDb::sqlite();
    let store: Arc<dyn Store> = Arc::new(db.open().await);
    let hosts: Vec<String> = (1..=12).map(|i| format!("h{i}.example.test")).collect();
    let inputs: Vec<_> = load_str("t.yaml", &zone_and_agent(server.port, &hosts))
        .unwrap()
        .into_iter()
        .map(|d| d.input)
        .collect();
    store.apply(&inputs).await.unwrap();
    let agent = ResourceKey::new(Kind::Agent, "p", "api");
    lease(store.as_ref(), &agent, "one.ingress.p1.devnet").await;

    // Without the master key, the provider's credentials cannot be read: an error.
    let (code, out, err) = af(&db.url, &["dns", "plan", "test-zone", "--project", "p"], "");
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("no master key: pass --master-key-file"),
        "{out}"
    );
    // An unknown zone is a clear error.
    let (code, _, err) = af(&db.url, &["dns", "plan", "nope", "--project", "p"], "");
    assert_eq!(code, 1);
    assert!(
        err.contains("no DnsZone `nope`") && err.contains("test-zone"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("master.key");
    let key = key.to_str().unwrap();
    let (code, _, err) = af(&db.url, &["secret", "keygen", key], "");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = af(
        &db.url,
        &[
            "secret",
            "set",
            "dns",
            "TSIG",
            "--project",
            "p",
            "--master-key-file",
            key,
        ],
        dns_servers::SECRET,
    );
    assert_eq!(code, 0, "{err}");
    let with_key = |extra: &[&str]| {
        let mut v = vec!["dns"];
        v.extend_from_slice(extra);
        v.extend_from_slice(&["--project", "p", "--master-key-file", key]);
        af(&db.url, &v, "")
    };

    // The plan: 12 CNAMEs and their ownership records to create; exit 2; nothing written.
    let (code, out, err) = with_key(&["plan", "test-zone"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains("+ h1.example.test 300 CNAME one.ingress.p1.devnet"),
        "{out}"
    );
    assert!(out.contains("+ _af-owner.h1.example.test"), "{out}");
    assert!(
        out.contains("Plan: 24 to create, 0 to update, 0 to delete."),
        "{out}"
    );
    assert!(dns_servers::query(server.port, "h1.example.test", Q::CNAME)
        .await
        .is_empty());
    // By domain, as JSON.
    let (code, out, err) = with_key(&["plan", "example.test", "-o", "json"]);
    assert_eq!(code, 2, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["name"], "test-zone");
    assert_eq!(v["changes"], 24);
    assert_eq!(v["providers"][0]["plan"]["create"], 24);
    assert_eq!(v["providers"][0]["plan"]["changes"][0]["action"], "create");

    // Apply; then BIND answers, and the plan is empty (exit 0).
    let (code, out, err) = with_key(&["apply", "test-zone"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Applied: 24 created, 0 updated, 0 deleted."),
        "{out}"
    );
    assert_eq!(
        dns_servers::query(server.port, "h12.example.test", Q::CNAME).await,
        vec!["one.ingress.p1.devnet".to_string()]
    );
    let (code, out, err) = with_key(&["plan", "test-zone"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("No changes"), "{out}");
    // Records written by hand leave with the zone too: `apply` put the finalizer on.
    let z = store
        .get(&ResourceKey::new(Kind::DnsZone, "p", "test-zone"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        z.metadata.finalizers.iter().any(|f| f == DNS_FINALIZER),
        "{:?}",
        z.metadata.finalizers
    );

    // Re-placed: an update (`~`).
    lease(store.as_ref(), &agent, "two.ingress.p2.devnet").await;
    let (code, out, _) = with_key(&["plan", "test-zone"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("~ h1.example.test CNAME [one.ingress.p1.devnet] -> [two.ingress.p2.devnet]"),
        "{out}"
    );

    // Eleven of the twelve names go: over the 30% threshold, so `apply` refuses (exit 1,
    // nothing changed) unless --allow-mass-delete.
    let inputs: Vec<_> = load_str("t.yaml", &zone_and_agent(server.port, &hosts[..1]))
        .unwrap()
        .into_iter()
        .map(|d| d.input)
        .collect();
    store.apply(&inputs).await.unwrap();
    let (code, out, _) = with_key(&["plan", "test-zone"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("- h5.example.test 300 CNAME"), "{out}");
    assert!(out.contains("! refused: the plan deletes 11"), "{out}");
    let (code, out, _) = with_key(&["apply", "test-zone"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Not applied: refused"), "{out}");
    assert_eq!(
        dns_servers::query(server.port, "h5.example.test", Q::CNAME).await,
        vec!["one.ingress.p1.devnet".to_string()]
    );
    let (code, out, err) = with_key(&["apply", "test-zone", "--allow-mass-delete"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(dns_servers::query(server.port, "h5.example.test", Q::CNAME)
        .await
        .is_empty());
    assert_eq!(
        dns_servers::query(server.port, "h1.example.test", Q::CNAME).await,
        vec!["two.ingress.p2.devnet".to_string()]
    );
    // The record made by hand was never touched.
    assert_eq!(
        dns_servers::query(server.port, "foreign.example.test", Q::TXT).await,
        vec!["made by hand".to_string()]
    );
}
