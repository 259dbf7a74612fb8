//! The DnsZone reconciler: for every zone, the records the running resources want, planned
//! and applied on each of the zone's providers on its own (one that is down leaves the
//! others up to date and is caught up at a later pass), with the state of each provider in
//! the zone's status and two conditions: `DnsSynced` (every provider holds what is wanted)
//! and `DnsPlanRefused` (a provider's plan deleted too much and was not applied).
//!
//! A zone carries the [`DNS_FINALIZER`]: deleting it removes our records (and their ownership
//! records) from every provider, never another's, before the resource goes.
//!
//! The loop reconciles every zone at start, whenever the store changes (a lease becoming
//! healthy is a status write of the workload), and at each resync, which also restores hand
//! edits of our records (drift).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::reconcile::context::SecretSource;
use crate::spec::akash_status::set_condition;
use crate::spec::kinds::dns_zone::{DnsPolicy, DnsProviderSpec, DnsZoneSpec, ResolvedProvider};
use crate::spec::{ConditionStatus, Kind, Resource, ResourceKey, Spec, Status};
use crate::store::{EventType, ListQuery, NewEvent, Store};

use super::desired::{desired_for, Desired};
use super::http::RetryPolicy;
use super::plan::{plan, Plan, PlanPolicy};
use super::record::{RecordType, Rrset};
use super::rfc2136::{Rfc2136Provider, TsigAlg, TsigKey};
use super::{DnsError, DnsProvider};

/// The condition that says every provider of the zone holds what is wanted.
pub const DNS_SYNCED: &str = "DnsSynced";
/// The condition that says a plan was refused for deleting too much.
pub const DNS_PLAN_REFUSED: &str = "DnsPlanRefused";
/// The finalizer of a zone: its records are removed from its providers before it goes.
pub const DNS_FINALIZER: &str = "af-operator.io/dns";

/// Builds a provider from a zone's settings and its credentials.
pub trait ProviderFactory: Send + Sync {
    /// The provider `p` of the zone, with `secret` (from its `credentialsRef`) when it has one.
    fn build(
        &self,
        zone: &DnsZoneSpec,
        p: &ResolvedProvider,
        secret: Option<&str>,
    ) -> Result<Arc<dyn DnsProvider>, DnsError>;
}

/// The real providers.
#[derive(Debug, Clone, Default)]
pub struct RealProviders {
    /// Retries of the HTTP providers.
    pub retry: RetryPolicy,
}

impl ProviderFactory for RealProviders {
    fn build(
        &self,
        _zone: &DnsZoneSpec,
        p: &ResolvedProvider,
        secret: Option<&str>,
    ) -> Result<Arc<dyn DnsProvider>, DnsError> {
        let need = |what: &str| {
            secret.ok_or_else(|| DnsError::Config {
                provider: p.name.clone(),
                message: format!("missing credentials ({what})"),
            })
        };
        Ok(match &p.spec {
            DnsProviderSpec::Rfc2136(r) => {
                let key = match &r.tsig_key_name {
                    Some(name) => {
                        let alg = match r.tsig_algorithm {
                            Some(crate::spec::kinds::dns_zone::TsigAlgorithm::HmacSha384) => {
                                TsigAlg::HmacSha384
                            }
                            Some(crate::spec::kinds::dns_zone::TsigAlgorithm::HmacSha512) => {
                                TsigAlg::HmacSha512
                            }
                            _ => TsigAlg::HmacSha256,
                        };
                        Some(
                            TsigKey::from_base64(name, alg, need("the TSIG secret")?).map_err(
                                |message| DnsError::Config {
                                    provider: p.name.clone(),
                                    message,
                                },
                            )?,
                        )
                    }
                    None => None,
                };
                Arc::new(Rfc2136Provider::new(&r.server, r.port, key))
            }
            DnsProviderSpec::Powerdns(d) => Arc::new(super::powerdns::PowerDnsProvider::new(
                &d.api_url,
                &d.server_id,
                need("the API key")?,
                self.retry,
            )),
            DnsProviderSpec::Cloudflare(c) => Arc::new(super::cloudflare::CloudflareProvider::new(
                c.api_url.as_deref(),
                need("the API token")?,
                c.zone_id.clone(),
                c.proxied,
                self.retry,
            )),
            DnsProviderSpec::Google(g) => Arc::new(super::google::GoogleDnsProvider::new(
                g.api_url.as_deref(),
                &g.project,
                &g.managed_zone,
                need("the service account's JSON key")?,
                self.retry,
            )?),
            DnsProviderSpec::Desec(d) => Arc::new(super::desec::DesecProvider::new(
                d.api_url.as_deref(),
                need("the API token")?,
                self.retry,
            )),
        })
    }
}

/// Resolves a host to its addresses (for apex records pointed at an ingress).
#[async_trait]
pub trait AddressLookup: Send + Sync {
    /// The addresses of `host` (empty when it has none).
    async fn addresses(&self, host: &str) -> Vec<IpAddr>;
}

/// The system resolver.
#[derive(Debug, Default)]
pub struct SystemLookup;

#[async_trait]
impl AddressLookup for SystemLookup {
    async fn addresses(&self, host: &str) -> Vec<IpAddr> {
        let mut v: Vec<IpAddr> = tokio::net::lookup_host((host, 80))
            .await
            .map(|a| a.map(|s| s.ip()).collect())
            .unwrap_or_default();
        v.sort();
        v.dedup();
        v
    }
}

/// A fixed map of host → addresses (the devnet's ingress, tests).
#[derive(Debug, Default)]
pub struct StaticLookup(pub HashMap<String, Vec<IpAddr>>);

#[async_trait]
impl AddressLookup for StaticLookup {
    async fn addresses(&self, host: &str) -> Vec<IpAddr> {
        self.0.get(host).cloned().unwrap_or_default()
    }
}

/// The state of one provider of a zone, in the zone's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProviderState {
    /// Its name in the zone.
    pub name: String,
    /// Its label (kind and address; never a credential).
    pub label: String,
    /// `Synced`, `Refused` (plan over the delete threshold), `Unavailable`, `Unauthorized`,
    /// `Error`.
    pub state: String,
    /// What happened last.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Changes applied at the last pass: created, updated, deleted.
    #[serde(default)]
    pub applied: [usize; 3],
    /// Desired rrsets that stand on records we do not own.
    #[serde(default)]
    pub conflicts: usize,
    /// When it was last in sync (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
}

/// The DnsZone facts of a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ZoneStatus {
    /// Rrsets wanted (ownership records aside).
    #[serde(default)]
    pub desired_records: usize,
    /// Each provider.
    #[serde(default)]
    pub providers: Vec<ProviderState>,
}

/// One provider's plan.
pub struct ProviderPlan {
    /// Its name in the zone.
    pub name: String,
    /// Its label.
    pub label: String,
    /// The plan, or why there is none.
    pub plan: Result<Plan, DnsError>,
    /// The provider, to apply the plan with.
    pub provider: Option<Arc<dyn DnsProvider>>,
}

impl std::fmt::Debug for ProviderPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderPlan")
            .field("name", &self.name)
            .field("label", &self.label)
            .field("plan", &self.plan)
            .finish_non_exhaustive()
    }
}

/// Settings of the DNS controller.
#[derive(Debug, Clone)]
pub struct ZoneConfig {
    /// Every zone is reconciled at least this often (drift is restored then).
    pub resync: Duration,
    /// A zone whose provider failed is tried again after this.
    pub retry: Duration,
    /// Changes of the store within this are reconciled together.
    pub debounce: Duration,
}

impl Default for ZoneConfig {
    fn default() -> Self {
        ZoneConfig {
            resync: Duration::from_secs(60),
            retry: Duration::from_secs(10),
            debounce: Duration::from_millis(200),
        }
    }
}

/// Built providers by (zone, provider name): the fingerprint of their settings and the provider.
type ProviderCache = HashMap<(ResourceKey, String), (String, Arc<dyn DnsProvider>)>;

/// The DNS controller.
pub struct ZoneController {
    store: Arc<dyn Store>,
    secrets: Arc<dyn SecretSource>,
    factory: Arc<dyn ProviderFactory>,
    lookup: Arc<dyn AddressLookup>,
    config: ZoneConfig,
    cache: Mutex<ProviderCache>,
}

impl std::fmt::Debug for ZoneController {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneController")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The kinds whose resources want records.
const SOURCES: [Kind; 5] = [
    Kind::Agent,
    Kind::SecretStore,
    Kind::Site,
    Kind::FunctionRuntime,
    Kind::Proxy,
];

impl ZoneController {
    /// A controller over `store`.
    pub fn new(
        store: Arc<dyn Store>,
        secrets: Arc<dyn SecretSource>,
        factory: Arc<dyn ProviderFactory>,
        lookup: Arc<dyn AddressLookup>,
        config: ZoneConfig,
    ) -> Arc<ZoneController> {
        Arc::new(ZoneController {
            store,
            secrets,
            factory,
            lookup,
            config,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The zone's spec.
    fn spec_of(r: &Resource) -> Result<DnsZoneSpec, String> {
        match r.typed_spec() {
            Ok(Spec::DnsZone(z)) => Ok(z),
            Ok(_) => Err("not a DnsZone".into()),
            Err(e) => Err(format!("unreadable spec: {e}")),
        }
    }

    /// What the resources of the zone's project want in it, aliases resolved.
    pub async fn desired_of(&self, r: &Resource, spec: &DnsZoneSpec) -> Result<Desired, String> {
        let mut resources = Vec::new();
        for kind in SOURCES {
            let q = ListQuery {
                kind: Some(kind),
                project: Some(r.metadata.project.clone()),
                ..ListQuery::default()
            };
            resources.extend(self.store.list(&q).await.map_err(|e| e.to_string())?);
        }
        let mut d = desired_for(Some(&r.metadata.name), &spec.zone, spec.ttl, &resources);
        for (name, host) in std::mem::take(&mut d.aliases) {
            let addrs = self.lookup.addresses(&host).await;
            if addrs.is_empty() {
                d.held.insert(name);
                continue;
            }
            let v4: Vec<String> = addrs
                .iter()
                .filter(|a| a.is_ipv4())
                .map(|a| a.to_string())
                .collect();
            let v6: Vec<String> = addrs
                .iter()
                .filter(|a| a.is_ipv6())
                .map(|a| a.to_string())
                .collect();
            if !v4.is_empty() {
                d.rrsets
                    .push(Rrset::new(&name, RecordType::A, spec.ttl, v4));
            }
            if !v6.is_empty() {
                d.rrsets
                    .push(Rrset::new(&name, RecordType::Aaaa, spec.ttl, v6));
            }
        }
        Ok(d)
    }

    async fn provider(
        &self,
        r: &Resource,
        spec: &DnsZoneSpec,
        p: &ResolvedProvider,
    ) -> Result<Arc<dyn DnsProvider>, DnsError> {
        let secret =
            match &p.credentials_ref {
                None => None,
                Some(sref) => {
                    let resolver =
                        self.secrets
                            .resolver(&r.metadata.project)
                            .await
                            .map_err(|e| DnsError::Config {
                                provider: p.name.clone(),
                                message: format!("cannot read the secret vault: {e}"),
                            })?;
                    Some(resolver.resolve(&r.metadata.project, sref).map_err(|e| {
                        DnsError::Config {
                            provider: p.name.clone(),
                            message: format!("credentials {}/{}: {e}", sref.store, sref.key),
                        }
                    })?)
                }
            };
        // Providers are kept between passes (a token, a zone id); rebuilt when the settings
        // or the credentials change. The cache key holds a digest, never the secret.
        let fingerprint = blake3::hash(
            format!(
                "{}\u{0}{}",
                serde_json::to_string(&p.spec).unwrap_or_default(),
                secret.as_deref().unwrap_or("")
            )
            .as_bytes(),
        )
        .to_hex()
        .to_string();
        let key = (r.key(), p.name.clone());
        if let Some((fp, prov)) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            if *fp == fingerprint {
                return Ok(prov.clone());
            }
        }
        let prov = self.factory.build(spec, p, secret.as_deref())?;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (fingerprint, prov.clone()));
        Ok(prov)
    }

    /// Plans every provider of the zone, writing nothing.
    pub async fn plan_zone(&self, r: &Resource) -> Result<(Desired, Vec<ProviderPlan>), String> {
        let spec = Self::spec_of(r)?;
        let d = self.desired_of(r, &spec).await?;
        let policy = PlanPolicy {
            owner_id: spec.owner_id.clone(),
            upsert_only: spec.policy == DnsPolicy::UpsertOnly,
            max_delete_percent: spec.max_delete_percent,
            ttl: spec.ttl,
        };
        let mut out = Vec::new();
        for p in spec.resolved_providers() {
            let prov = match self.provider(r, &spec, &p).await {
                Ok(x) => x,
                Err(e) => {
                    out.push(ProviderPlan {
                        name: p.name.clone(),
                        label: p.spec.kind().to_string(),
                        plan: Err(e),
                        provider: None,
                    });
                    continue;
                }
            };
            let plan = match prov.records(&spec.zone).await {
                Ok(current) => {
                    let mut want = d.rrsets.clone();
                    // Held names keep what we wrote there.
                    let held = plan_held(&spec.zone, &d, &current, &policy);
                    want.extend(held);
                    Ok(plan(&spec.zone, &want, &current, &policy))
                }
                Err(e) => Err(e),
            };
            out.push(ProviderPlan {
                name: p.name.clone(),
                label: prov.label(),
                plan,
                provider: Some(prov),
            });
        }
        Ok((d, out))
    }

    /// Reconciles one zone: plan and apply on every provider, then write the status.
    /// Returns when to look again.
    pub async fn reconcile(&self, key: &ResourceKey) -> Result<Duration, String> {
        let Some(r) = self.store.get(key).await.map_err(|e| e.to_string())? else {
            return Ok(self.config.resync);
        };
        if r.metadata.deletion_requested_at.is_some() {
            return self.finalize(r).await;
        }
        // The finalizer first: a zone we have written to goes only once our records are out.
        let r = if r.metadata.finalizers.iter().any(|f| f == DNS_FINALIZER) {
            r
        } else {
            self.store
                .add_finalizer(key, DNS_FINALIZER)
                .await
                .map_err(|e| e.to_string())?
        };
        let generation = r.metadata.generation;
        let mut status = r.status.clone();
        let old: ZoneStatus =
            serde_json::from_value(serde_json::Value::Object(status.facts.clone()))
                .unwrap_or_default();
        let now = now();
        let (d, plans) = match self.plan_zone(&r).await {
            Ok(x) => x,
            Err(e) => {
                set_condition(
                    &mut status,
                    DNS_SYNCED,
                    ConditionStatus::False,
                    "InvalidSpec",
                    &e,
                    generation,
                    &now,
                );
                self.write(&r, status).await;
                return Ok(self.config.resync);
            }
        };
        let spec = Self::spec_of(&r)?;
        let mut states = Vec::new();
        let mut refused = Vec::new();
        let mut failed = Vec::new();
        for pp in plans {
            let last_sync = old
                .providers
                .iter()
                .find(|s| s.name == pp.name)
                .and_then(|s| s.last_sync_time.clone());
            let mut st = ProviderState {
                name: pp.name.clone(),
                label: pp.label.clone(),
                last_sync_time: last_sync,
                ..ProviderState::default()
            };
            match (pp.plan, pp.provider) {
                (Err(e), _) => {
                    st.state = state_of(&e).to_string();
                    st.message = e.to_string();
                    failed.push(format!("{}: {e}", pp.name));
                }
                (Ok(p), Some(prov)) => {
                    st.conflicts = p.conflicts.len();
                    if let Some(refusal) = &p.refusal {
                        st.state = "Refused".into();
                        st.message = refusal.to_string();
                        refused.push(format!("{}: {refusal}", pp.name));
                    } else if p.is_empty() {
                        st.state = "Synced".into();
                        st.last_sync_time = Some(now.clone());
                    } else {
                        match prov.apply(&spec.zone, &p.changes).await {
                            Ok(()) => {
                                let (c, u, del) = p.counts();
                                st.applied = [c, u, del];
                                st.state = "Synced".into();
                                st.last_sync_time = Some(now.clone());
                                info!(zone = %spec.zone, provider = %pp.name, created = c, updated = u, deleted = del, "dns changes applied");
                                self.event(
                                    &r,
                                    EventType::Normal,
                                    "DnsChangesApplied",
                                    format!("{}: {c} created, {u} updated, {del} deleted", pp.name),
                                )
                                .await;
                            }
                            Err(e) => {
                                warn!(zone = %spec.zone, provider = %pp.name, error = %e, "dns changes failed; retried later");
                                st.state = state_of(&e).to_string();
                                st.message = e.to_string();
                                failed.push(format!("{}: {e}", pp.name));
                            }
                        }
                    }
                }
                (Ok(_), None) => {
                    st.state = "Error".into();
                }
            }
            states.push(st);
        }
        if refused.is_empty() {
            set_condition(
                &mut status,
                DNS_PLAN_REFUSED,
                ConditionStatus::False,
                "WithinThreshold",
                "",
                generation,
                &now,
            );
        } else {
            let msg = format!(
                "{} (raise maxDeletePercent to allow it)",
                refused.join("; ")
            );
            if set_condition(
                &mut status,
                DNS_PLAN_REFUSED,
                ConditionStatus::True,
                "DnsPlanRefused",
                &msg,
                generation,
                &now,
            ) {
                self.event(&r, EventType::Warning, "DnsPlanRefused", msg)
                    .await;
            }
        }
        let (value, reason, message) = if !failed.is_empty() {
            (
                ConditionStatus::False,
                "ProviderUnavailable",
                failed.join("; "),
            )
        } else if !refused.is_empty() {
            (ConditionStatus::False, "DnsPlanRefused", refused.join("; "))
        } else {
            (
                ConditionStatus::True,
                "Synced",
                format!("{} providers in sync", states.len()),
            )
        };
        set_condition(
            &mut status,
            DNS_SYNCED,
            value,
            reason,
            &message,
            generation,
            &now,
        );
        status.observed_generation = Some(generation);
        let zs = ZoneStatus {
            desired_records: d.rrsets.len(),
            providers: states,
        };
        if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(&zs) {
            status.facts = m;
        }
        self.write(&r, status).await;
        Ok(if failed.is_empty() {
            self.config.resync
        } else {
            self.config.retry
        })
    }

    /// A zone being deleted: our records (and their ownership records) out of every provider,
    /// never another's, then the finalizer off and the resource gone. A provider that cannot be
    /// emptied now keeps the zone (`DnsSynced` False, `Deleting`) until a later pass can.
    /// `policy: upsert-only` never deletes: the records stay and the zone goes at once.
    async fn finalize(&self, r: Resource) -> Result<Duration, String> {
        if !r.metadata.finalizers.iter().any(|f| f == DNS_FINALIZER) {
            return Ok(self.config.resync);
        }
        let spec = match Self::spec_of(&r) {
            Ok(s) => s,
            Err(e) => {
                // No providers can be known from an unreadable spec: nothing to empty.
                warn!(zone = %r.metadata.name, error = %e, "deleting a zone whose spec is unreadable; its records stay");
                self.release(&r).await?;
                return Ok(self.config.resync);
            }
        };
        if spec.policy == DnsPolicy::UpsertOnly {
            self.event(
                &r,
                EventType::Normal,
                "DnsRecordsKept",
                "policy upsert-only: the zone's records stay on its providers".into(),
            )
            .await;
            self.release(&r).await?;
            return Ok(self.config.resync);
        }
        let policy = PlanPolicy {
            owner_id: spec.owner_id.clone(),
            upsert_only: false,
            // The zone's own deletion asks for every record of ours to go.
            max_delete_percent: 100,
            ttl: spec.ttl,
        };
        let mut failed = Vec::new();
        for p in spec.resolved_providers() {
            let prov = match self.provider(&r, &spec, &p).await {
                Ok(x) => x,
                Err(e) => {
                    failed.push(format!("{}: {e}", p.name));
                    continue;
                }
            };
            let result = match prov.records(&spec.zone).await {
                Ok(current) => {
                    let pl = plan(&spec.zone, &[], &current, &policy);
                    match prov.apply(&spec.zone, &pl.changes).await {
                        Ok(()) => Ok(pl.counts().2),
                        Err(e) => Err(e),
                    }
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(deleted) => {
                    info!(zone = %spec.zone, provider = %p.name, deleted, "dns records of a deleted zone removed");
                    if deleted > 0 {
                        self.event(
                            &r,
                            EventType::Normal,
                            "DnsRecordsDeleted",
                            format!("{}: {deleted} deleted (the zone is being deleted)", p.name),
                        )
                        .await;
                    }
                }
                Err(e) => {
                    warn!(zone = %spec.zone, provider = %p.name, error = %e, "cannot empty a deleted zone's records; retried later");
                    failed.push(format!("{}: {e}", p.name));
                }
            }
        }
        if failed.is_empty() {
            self.release(&r).await?;
            return Ok(self.config.resync);
        }
        let mut status = r.status.clone();
        set_condition(
            &mut status,
            DNS_SYNCED,
            ConditionStatus::False,
            "Deleting",
            &format!(
                "the zone goes once our records are removed from every provider: {}",
                failed.join("; ")
            ),
            r.metadata.generation,
            &now(),
        );
        self.write(&r, status).await;
        Ok(self.config.retry)
    }

    /// Takes our finalizer off (the store deletes the zone when none remain) and forgets its
    /// providers.
    async fn release(&self, r: &Resource) -> Result<(), String> {
        self.store
            .remove_finalizer(&r.key(), DNS_FINALIZER)
            .await
            .map_err(|e| e.to_string())?;
        self.cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(k, _), _| *k != r.key());
        Ok(())
    }

    async fn write(&self, r: &Resource, status: Status) {
        if status == r.status {
            return;
        }
        if let Err(e) = self
            .store
            .write_status(&r.key(), r.metadata.resource_version, &status)
            .await
        {
            // A concurrent write: the next pass writes again.
            warn!(zone = %r.metadata.name, error = %e, "cannot write the zone's status");
        }
    }

    async fn event(&self, r: &Resource, type_: EventType, reason: &str, message: String) {
        let e = NewEvent {
            type_,
            reason: reason.to_string(),
            message,
        };
        if let Err(err) = self.store.append_event(&r.key(), &e).await {
            warn!(error = %err, "cannot record an event");
        }
    }

    /// Reconciles every zone once; the earliest time any wants to be looked at again.
    pub async fn reconcile_all(&self) -> Duration {
        let q = ListQuery {
            kind: Some(Kind::DnsZone),
            ..ListQuery::default()
        };
        let zones = match self.store.list(&q).await {
            Ok(z) => z,
            Err(e) => {
                warn!(error = %e, "cannot list the zones");
                return self.config.retry;
            }
        };
        let mut next = self.config.resync;
        for z in zones {
            match self.reconcile(&z.key()).await {
                Ok(d) => next = next.min(d),
                Err(e) => {
                    warn!(zone = %z.metadata.name, error = %e, "zone reconcile failed");
                    next = next.min(self.config.retry);
                }
            }
        }
        next
    }

    /// Runs until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut seen = self.store.latest_change().await.unwrap_or(0);
        loop {
            let next = self.reconcile_all().await;
            let deadline = tokio::time::Instant::now() + next;
            // Wait for a change of the store (any status write counts: a lease turning
            // healthy), the deadline, or the end.
            loop {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                tokio::select! {
                    _ = stopped(&mut shutdown) => return,
                    r = self.store.wait_for_change(seen, left) => {
                        if r.is_err() {
                            tokio::time::sleep(left.min(Duration::from_secs(1))).await;
                        }
                    }
                }
                let latest = self.store.latest_change().await.unwrap_or(seen);
                if latest != seen && self.relevant(seen, latest).await {
                    seen = latest;
                    tokio::time::sleep(self.config.debounce).await;
                    break;
                }
                seen = latest;
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    /// Whether changes in `(after, upto]` concern DNS (anything but a zone's own status).
    async fn relevant(&self, after: i64, _upto: i64) -> bool {
        match self.store.changes_since(after, 1000).await {
            Ok(ch) => ch.iter().any(|c| {
                SOURCES.contains(&c.key.kind) || (c.key.kind == Kind::DnsZone && c.spec_changed)
            }),
            Err(_) => true,
        }
    }
}

/// Waits until shutdown is asked (the guard `wait_for` returns is not held across awaits).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let ok = rx.wait_for(|s| *s).await.is_ok();
    if !ok {
        std::future::pending::<()>().await;
    }
}

/// The rrsets we hold at held names, kept as they are.
fn plan_held(zone: &str, d: &Desired, current: &[Rrset], policy: &PlanPolicy) -> Vec<Rrset> {
    if d.held.is_empty() {
        return Vec::new();
    }
    // What the planner counts as ours: plan with nothing wanted, and keep its deletions at
    // held names.
    let p = plan(
        zone,
        &[],
        current,
        &PlanPolicy {
            upsert_only: false,
            max_delete_percent: 100,
            ..policy.clone()
        },
    );
    p.changes
        .iter()
        .filter_map(|c| match c {
            super::record::Change::Delete(r) if d.held.contains(&r.name) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn state_of(e: &DnsError) -> &'static str {
    match e {
        DnsError::Unavailable { .. } => "Unavailable",
        DnsError::Unauthorized { .. } => "Unauthorized",
        DnsError::Refused { .. } => "Error",
        DnsError::Config { .. } => "Error",
    }
}
