//! The DnsZone reconciler over a real store and in-memory providers: records follow the
//! healthy lease, a provider that is down is caught up when it returns, foreign records stay.

use std::collections::HashMap;
use std::sync::Arc;

use af_operator::dns::memory::MemoryProvider;
use af_operator::dns::zone::{
    ProviderFactory, StaticLookup, ZoneConfig, ZoneController, DNS_SYNCED,
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
