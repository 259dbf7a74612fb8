//! The GraphQL object, enum and input types. Doc comments here become the descriptions in
//! `schema.graphql`.

use async_graphql::{Context, Enum, InputObject, Json, MaybeUndefined, Object, SimpleObject, ID};
use serde_json::Value;

use super::error::{gql, ApiError};
use super::schema::ApiContext;
use crate::spec::kinds::function::FunctionSpec;
use crate::spec::{self, ConditionStatus as SpecConditionStatus, Resource, Spec};
use crate::store::{ApplyOutcome, ChangeOp as StoreChangeOp, Deletion};

/// The resource kinds.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "Kind")]
pub enum GqlKind {
    /// A container workload on Akash.
    Agent,
    /// A pool of functions runtime nodes.
    FunctionRuntime,
    /// A serverless function.
    Function,
    /// A static site.
    Site,
    /// The SSL reverse proxy.
    Proxy,
    /// The secrets service.
    SecretStore,
    /// A managed DNS zone.
    DnsZone,
}

impl From<GqlKind> for spec::Kind {
    fn from(k: GqlKind) -> Self {
        match k {
            GqlKind::Agent => spec::Kind::Agent,
            GqlKind::FunctionRuntime => spec::Kind::FunctionRuntime,
            GqlKind::Function => spec::Kind::Function,
            GqlKind::Site => spec::Kind::Site,
            GqlKind::Proxy => spec::Kind::Proxy,
            GqlKind::SecretStore => spec::Kind::SecretStore,
            GqlKind::DnsZone => spec::Kind::DnsZone,
        }
    }
}

impl From<spec::Kind> for GqlKind {
    fn from(k: spec::Kind) -> Self {
        match k {
            spec::Kind::Agent => GqlKind::Agent,
            spec::Kind::FunctionRuntime => GqlKind::FunctionRuntime,
            spec::Kind::Function => GqlKind::Function,
            spec::Kind::Site => GqlKind::Site,
            spec::Kind::Proxy => GqlKind::Proxy,
            spec::Kind::SecretStore => GqlKind::SecretStore,
            spec::Kind::DnsZone => GqlKind::DnsZone,
        }
    }
}

/// Where a resource stands, derived from its `Ready` condition.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum Phase {
    /// Not observed yet at its current generation, or `Ready` is Unknown.
    Pending,
    /// `Ready` is True at the current generation.
    Ready,
    /// `Ready` is False at the current generation; see the conditions and events.
    NotReady,
    /// Deletion was requested; finalizers are running.
    Deleting,
}

/// The phase of a resource. A `Ready` condition observed at an older generation (its
/// `observedGeneration` set and lower than the resource's) counts as not observed yet.
pub fn phase_of(r: &Resource) -> Phase {
    if r.metadata.deletion_requested_at.is_some() {
        return Phase::Deleting;
    }
    match r.status.condition("Ready") {
        Some(c) if c.observed_generation == 0 || c.observed_generation >= r.metadata.generation => {
            match c.status {
                SpecConditionStatus::True => Phase::Ready,
                SpecConditionStatus::False => Phase::NotReady,
                SpecConditionStatus::Unknown => Phase::Pending,
            }
        }
        _ => Phase::Pending,
    }
}

/// A condition's status.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// It does not.
    False,
    /// Not known yet.
    Unknown,
}

/// One observed condition, e.g. `Ready`.
#[derive(SimpleObject, Debug, Clone)]
pub struct Condition {
    /// The condition's type, e.g. `Ready`, `Deployed`, `Healthy`.
    #[graphql(name = "type")]
    pub type_: String,
    /// True, False or Unknown.
    pub status: ConditionStatus,
    /// One CamelCase word, e.g. `LeaseActive`.
    pub reason: String,
    /// A human-readable explanation.
    pub message: String,
    /// When `status` last changed (RFC 3339).
    pub last_transition_time: String,
    /// The generation this condition was observed at.
    pub observed_generation: i64,
}

impl From<&spec::Condition> for Condition {
    fn from(c: &spec::Condition) -> Self {
        Condition {
            type_: c.type_.clone(),
            status: match c.status {
                SpecConditionStatus::True => ConditionStatus::True,
                SpecConditionStatus::False => ConditionStatus::False,
                SpecConditionStatus::Unknown => ConditionStatus::Unknown,
            },
            reason: c.reason.clone(),
            message: c.message.clone(),
            last_transition_time: c.last_transition_time.clone(),
            observed_generation: c.observed_generation,
        }
    }
}

/// Something that happened to a resource.
#[derive(SimpleObject, Debug, Clone)]
pub struct Event {
    /// Increasing id.
    pub id: i64,
    /// `Normal` or `Warning`.
    #[graphql(name = "type")]
    pub type_: String,
    /// One CamelCase word, e.g. `LeaseCreated`.
    pub reason: String,
    /// What happened.
    pub message: String,
    /// When (RFC 3339).
    pub at: String,
}

/// One Akash lease, read from the `leases` status fact (a list of objects with `provider`,
/// `gseq`, `oseq` and `state`; any other keys are in `raw`).
#[derive(SimpleObject, Debug, Clone)]
pub struct AkashLease {
    /// The provider's address.
    pub provider: Option<String>,
    /// The group sequence.
    pub gseq: Option<i64>,
    /// The order sequence.
    pub oseq: Option<i64>,
    /// The lease state, e.g. `active`, `closed`.
    pub state: Option<String>,
    /// The whole lease object as the operator recorded it.
    pub raw: Json<Value>,
}

/// The Akash facts the operator records in a resource's status. Each field is read from a
/// status key of the same name and is null until the operator has written it:
/// `dseq` (number or string), `provider` (string), `uris` (list of strings),
/// `escrowRunwaySeconds` (integer) and `leases` (list of objects, see `AkashLease`).
#[derive(SimpleObject, Debug, Clone, Default)]
pub struct AkashStatus {
    /// The deployment sequence, as a decimal string (it may exceed 2^53).
    pub dseq: Option<String>,
    /// The provider hosting the lease.
    pub provider: Option<String>,
    /// The URIs the provider serves the deployment at.
    pub uris: Option<Vec<String>>,
    /// Seconds until the deployment's escrow account runs dry at the current price.
    pub escrow_runway_seconds: Option<i64>,
    /// The deployment's leases.
    pub leases: Option<Vec<AkashLease>>,
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl AkashStatus {
    /// Reads the facts leniently: a key of an unexpected type reads as null.
    pub fn from_facts(facts: &serde_json::Map<String, Value>) -> Self {
        let str_of = |k: &str| facts.get(k).and_then(Value::as_str).map(String::from);
        AkashStatus {
            dseq: facts.get("dseq").and_then(|v| match v {
                Value::Number(n) => Some(n.to_string()),
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            }),
            provider: str_of("provider"),
            uris: facts.get("uris").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            }),
            escrow_runway_seconds: facts.get("escrowRunwaySeconds").and_then(as_i64),
            leases: facts.get("leases").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter(|l| l.is_object())
                    .map(|l| AkashLease {
                        provider: l.get("provider").and_then(Value::as_str).map(String::from),
                        gseq: l.get("gseq").and_then(as_i64),
                        oseq: l.get("oseq").and_then(as_i64),
                        state: l.get("state").and_then(Value::as_str).map(String::from),
                        raw: Json(l.clone()),
                    })
                    .collect()
            }),
        }
    }
}

/// A stored resource: desired state, observed state and bookkeeping.
#[derive(Debug, Clone)]
pub struct ResourceObject(pub Resource);

/// Events returned when a query asks for none in particular.
pub const DEFAULT_EVENTS: i32 = 20;
/// The most events one query may ask for.
pub const MAX_EVENTS: i32 = 200;
/// The complexity of a field that renders an SDL (templates, SDL parse and validation):
/// what a hundred plain fields cost.
pub const RENDER_COST: usize = 100;
/// The complexity of a field that reads or decodes more than its parent holds (events from
/// the store, the Akash facts), on top of what it selects.
pub const JOIN_COST: usize = 10;

/// Refuses an argument outside the range the schema documents.
pub fn check_range(name: &str, value: i32, min: i32, max: i32) -> Result<(), ApiError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "`{name}` is {value}: expected {min} to {max}"
        )))
    }
}

/// A stored resource: desired state (spec), observed state (status) and bookkeeping.
#[Object(name = "Resource")]
impl ResourceObject {
    /// The kind.
    async fn kind(&self) -> GqlKind {
        self.0.kind.into()
    }

    /// The name, unique per kind and project.
    async fn name(&self) -> &str {
        &self.0.metadata.name
    }

    /// The project (tenant).
    async fn project(&self) -> &str {
        &self.0.metadata.project
    }

    /// A unique id, assigned at creation.
    async fn uid(&self) -> ID {
        ID(self.0.metadata.uid.clone())
    }

    /// Labels, as a JSON object of strings.
    async fn labels(&self) -> Json<&std::collections::BTreeMap<String, String>> {
        Json(&self.0.metadata.labels)
    }

    /// Bumps when the spec changes.
    async fn generation(&self) -> i64 {
        self.0.metadata.generation
    }

    /// Bumps on every write.
    async fn resource_version(&self) -> i64 {
        self.0.metadata.resource_version
    }

    /// When the resource was created (RFC 3339).
    async fn created_at(&self) -> &str {
        &self.0.metadata.created_at
    }

    /// When deletion was requested (RFC 3339).
    async fn deletion_requested_at(&self) -> Option<&str> {
        self.0.metadata.deletion_requested_at.as_deref()
    }

    /// Cleanups that must finish before the resource goes away.
    async fn finalizers(&self) -> &[String] {
        &self.0.metadata.finalizers
    }

    /// The spec as stored, defaults filled in (JSON).
    async fn spec(&self) -> Json<&Value> {
        Json(&self.0.spec)
    }

    /// The whole status as the operator wrote it (JSON).
    async fn status(&self) -> Json<&spec::Status> {
        Json(&self.0.status)
    }

    /// The generation the status describes.
    async fn observed_generation(&self) -> Option<i64> {
        self.0.status.observed_generation
    }

    /// The observed conditions.
    async fn conditions(&self) -> Vec<Condition> {
        self.0
            .status
            .conditions
            .iter()
            .map(Condition::from)
            .collect()
    }

    /// Where the resource stands, from its `Ready` condition.
    async fn phase(&self) -> Phase {
        phase_of(&self.0)
    }

    /// The Akash facts of the status (deployment, leases, provider, URIs, escrow runway).
    #[graphql(complexity = "JOIN_COST + child_complexity")]
    async fn akash(&self) -> AkashStatus {
        AkashStatus::from_facts(&self.0.status.facts)
    }

    /// The latest events, oldest first (`limit` 1 to 200, default 20).
    #[graphql(complexity = "JOIN_COST + (limit.clamp(1, MAX_EVENTS) as usize) * child_complexity")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] limit: i32,
    ) -> async_graphql::Result<Vec<Event>> {
        gql(async {
            check_range("limit", limit, 1, MAX_EVENTS)?;
            let api = ApiContext::get(ctx)?;
            let events = api
                .store
                .list_events(&self.0.key(), i64::from(limit.clamp(1, MAX_EVENTS)))
                .await
                .map_err(ApiError::from_store)?;
            Ok(events
                .into_iter()
                .map(|e| Event {
                    id: e.id,
                    type_: e.type_,
                    reason: e.reason,
                    message: e.message,
                    at: e.at,
                })
                .collect())
        })
        .await
    }

    /// The Akash SDL the operator deploys for this resource, secrets redacted; null when
    /// this server has no SDL renderer.
    #[graphql(complexity = "RENDER_COST")]
    async fn rendered_sdl(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        gql(async {
            let api = ApiContext::get(ctx)?;
            let Some(renderer) = &api.renderer else {
                return Ok(None);
            };
            renderer.render(&self.0).map(Some).map_err(|message| {
                ApiError::InvalidSpec(vec![super::error::Problem {
                    document: None,
                    line: None,
                    column: None,
                    path: None,
                    message: format!("cannot render the SDL: {message}"),
                }])
            })
        })
        .await
    }
}

/// What an apply did to one resource.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ApplyResult {
    /// It did not exist.
    Created,
    /// Its spec or labels changed.
    Configured,
    /// Nothing changed; nothing was written.
    Unchanged,
}

impl From<ApplyOutcome> for ApplyResult {
    fn from(o: ApplyOutcome) -> Self {
        match o {
            ApplyOutcome::Created => ApplyResult::Created,
            ApplyOutcome::Configured => ApplyResult::Configured,
            ApplyOutcome::Unchanged => ApplyResult::Unchanged,
        }
    }
}

/// One applied resource, with the warnings about it.
#[derive(Debug, Clone)]
pub struct AppliedResource(pub crate::store::Applied, pub Vec<String>);

/// One resource written (or left unchanged) by `apply`.
#[Object(name = "AppliedResource")]
impl AppliedResource {
    /// The kind.
    async fn kind(&self) -> GqlKind {
        self.0.key.kind.into()
    }

    /// The name.
    async fn name(&self) -> &str {
        &self.0.key.name
    }

    /// The project.
    async fn project(&self) -> &str {
        &self.0.key.project
    }

    /// Created, configured or unchanged.
    async fn result(&self) -> ApplyResult {
        self.0.outcome.into()
    }

    /// The generation after the apply.
    async fn generation(&self) -> i64 {
        self.0.generation
    }

    /// The resourceVersion after the apply.
    async fn resource_version(&self) -> i64 {
        self.0.resource_version
    }

    /// What may keep it from running although it was applied, e.g. a `secretRef` to a
    /// SecretStore that does not exist yet (the resource waits for it; apply it too).
    async fn warnings(&self) -> &[String] {
        &self.1
    }

    /// The resource as stored now (null if it was deleted meanwhile).
    async fn resource(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ResourceObject>> {
        gql(async {
            let api = ApiContext::get(ctx)?;
            Ok(api
                .store
                .get(&self.0.key)
                .await
                .map_err(ApiError::from_store)?
                .map(ResourceObject))
        })
        .await
    }
}

/// What a deletion request did.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum DeleteResult {
    /// It had no finalizers and is gone.
    Deleted,
    /// Deletion is recorded; it goes once its finalizers are done.
    DeletionRequested,
    /// Deletion had already been requested.
    AlreadyRequested,
}

impl From<Deletion> for DeleteResult {
    fn from(d: Deletion) -> Self {
        match d {
            Deletion::Deleted => DeleteResult::Deleted,
            Deletion::Requested => DeleteResult::DeletionRequested,
            Deletion::AlreadyRequested => DeleteResult::AlreadyRequested,
        }
    }
}

/// The answer to `delete`.
#[derive(SimpleObject, Debug, Clone)]
pub struct Deleted {
    /// The kind.
    pub kind: GqlKind,
    /// The name.
    pub name: String,
    /// The project.
    pub project: String,
    /// What happened.
    pub result: DeleteResult,
}

/// Change operations.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum ChangeOp {
    /// Created, or its spec, labels, status or finalizers changed.
    Upsert,
    /// Gone from the store.
    Delete,
}

impl From<StoreChangeOp> for ChangeOp {
    fn from(o: StoreChangeOp) -> Self {
        match o {
            StoreChangeOp::Upsert => ChangeOp::Upsert,
            StoreChangeOp::Delete => ChangeOp::Delete,
        }
    }
}

/// One change of a resource, as the subscription delivers it.
#[derive(SimpleObject, Debug, Clone)]
pub struct ResourceChange {
    /// The change id: the resourceVersion it produced. Increasing.
    pub change_id: i64,
    /// What happened.
    pub op: ChangeOp,
    /// The kind.
    pub kind: GqlKind,
    /// The name.
    pub name: String,
    /// The project.
    pub project: String,
    /// The resource as stored when the change was delivered; null once it is gone.
    pub resource: Option<ResourceObject>,
}

/// Who the token belongs to.
#[derive(SimpleObject, Debug, Clone)]
pub struct Viewer {
    /// The token's public id.
    pub token_id: String,
    /// The token's project: the default for documents and lookups that name none.
    pub project: String,
    /// Whether the token sees and changes every project.
    pub admin: bool,
}

/// A function's code bundle.
#[derive(SimpleObject, InputObject, Debug, Clone)]
#[graphql(name = "AFFunctionCode", input_name = "AFFunctionCodeInput")]
pub struct AFFunctionCode {
    /// The bundle's IPFS CID (CIDv0 `Qm…` or base32 CIDv1 `b…`).
    pub cid: String,
    /// The bundle's BLAKE3 digest: 64 lowercase hex digits.
    pub blake3: String,
}

/// A reference to a secret in a SecretStore of the same project.
#[derive(SimpleObject, InputObject, Debug, Clone)]
#[graphql(name = "AFSecretRef", input_name = "AFSecretRefInput")]
pub struct AFSecretRef {
    /// The SecretStore's name.
    pub store: String,
    /// The key inside that store.
    pub key: String,
}

/// An environment variable: a plain `value` or a `secretRef`, exactly one.
#[derive(SimpleObject, InputObject, Debug, Clone)]
#[graphql(name = "AFEnvVar", input_name = "AFEnvVarInput")]
pub struct AFEnvVar {
    /// Letters, digits and `_`, not starting with a digit.
    pub name: String,
    /// A plain value.
    pub value: Option<String>,
    /// A secret reference.
    pub secret_ref: Option<AFSecretRef>,
}

impl AFEnvVar {
    /// The spec's JSON shape.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), Value::String(self.name.clone()));
        if let Some(v) = &self.value {
            m.insert("value".into(), Value::String(v.clone()));
        }
        if let Some(r) = &self.secret_ref {
            m.insert(
                "secretRef".into(),
                serde_json::json!({"store": r.store, "key": r.key}),
            );
        }
        Value::Object(m)
    }
}

/// The data of `createAFFunction`.
#[derive(InputObject, Debug, Clone)]
#[graphql(name = "AFFunctionCreateInput")]
pub struct AFFunctionCreateInput {
    /// The function's name: a DNS-1123 label.
    pub name: String,
    /// The subdomain under the runtime's wildcard domain; default: the name.
    pub slug: Option<String>,
    /// The FunctionRuntime (same project) that serves it.
    pub runtime: String,
    /// The code bundle.
    pub code: AFFunctionCode,
    /// Routes, pattern → target URL, e.g. `{"/api/*": "https://api.example.com"}`. Patterns
    /// start with "/"; targets are http or https URLs.
    pub routes: Option<Json<Value>>,
    /// Environment variables.
    pub env: Option<Vec<AFEnvVar>>,
    /// The project; default: the token's. Only admin tokens may name another.
    pub project: Option<String>,
}

/// The data of `updateAFFunction`: fields left out keep their value; `slug`, `routes` and
/// `env` set to null are cleared.
#[derive(InputObject, Debug, Clone)]
#[graphql(name = "AFFunctionUpdateInput")]
pub struct AFFunctionUpdateInput {
    /// A new slug (null clears it: the name is used).
    pub slug: MaybeUndefined<String>,
    /// A new runtime.
    pub runtime: Option<String>,
    /// A new code bundle.
    pub code: Option<AFFunctionCode>,
    /// New routes (null clears them).
    pub routes: MaybeUndefined<Json<Value>>,
    /// New environment variables (null clears them).
    pub env: MaybeUndefined<Vec<AFEnvVar>>,
}

/// Which function: by `id` (its uid) or by `name`, exactly one.
#[derive(InputObject, Debug, Clone)]
#[graphql(name = "AFFunctionWhereInput")]
pub struct AFFunctionWhereInput {
    /// The function's uid.
    pub id: Option<ID>,
    /// The function's name.
    pub name: Option<String>,
    /// The project; default: the token's. Only admin tokens may name another.
    pub project: Option<String>,
}

/// Function statuses in the platform's vocabulary.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(name = "AFFunctionStatus")]
pub enum AFFunctionStatus {
    /// Not deployed at its current version yet.
    Pending,
    /// Deployed and ready.
    Active,
    /// Not ready; see the resource's conditions and events.
    NotReady,
    /// Being deleted.
    Deleting,
}

/// A serverless function, in the shape the platform's clients use.
#[derive(Debug, Clone)]
pub struct AFFunction {
    resource: Resource,
    spec: FunctionSpec,
}

impl AFFunction {
    /// The view of a Function resource; `None` for another kind or an undecodable spec.
    pub fn from_resource(resource: Resource) -> Option<AFFunction> {
        match resource.typed_spec() {
            Ok(Spec::Function(spec)) => Some(AFFunction { resource, spec }),
            _ => None,
        }
    }
}

/// A Function's rollout.
#[derive(Debug, Clone)]
pub struct AFRollout(crate::functions::FunctionStatus);

/// One runtime node as a Function's rollout sees it.
#[derive(SimpleObject, Debug, Clone)]
#[graphql(name = "AFRolloutNode")]
pub struct AFRolloutNode {
    /// The node (`node-0`, …).
    pub node: String,
    /// The version it runs.
    pub version: Option<String>,
    /// Whether its last health check passed.
    pub healthy: bool,
    /// What its last failed check or call said.
    pub last_error: Option<String>,
}

/// A Function's rollout.
#[Object(name = "AFRollout")]
impl AFRollout {
    /// `Pending`, `Progressing`, `Paused`, `Ready`, `Degraded`, `Deleting`.
    async fn phase(&self) -> &str {
        &self.0.phase
    }
    /// The last good version: what every node runs when no rollout is in progress.
    async fn stable_version(&self) -> Option<&str> {
        self.0.rollout.stable.as_ref().map(|c| c.version.as_str())
    }
    /// The good version before it (`rollout undo` goes back to it).
    async fn previous_version(&self) -> Option<&str> {
        self.0.rollout.previous.as_ref().map(|c| c.version.as_str())
    }
    /// The version being rolled out.
    async fn target_version(&self) -> Option<&str> {
        self.0.rollout.target.as_ref().map(|c| c.version.as_str())
    }
    /// The version whose rollout failed, and why (`RolloutFailed`, `HashMismatch`).
    async fn failed_version(&self) -> Option<&str> {
        self.0
            .rollout
            .failed
            .as_ref()
            .map(|f| f.code.version.as_str())
    }
    /// Why the failed version failed.
    async fn failure(&self) -> Option<&str> {
        self.0.rollout.failed.as_ref().map(|f| f.message.as_str())
    }
    /// The current step (1-based) while a rollout is in progress.
    async fn step(&self) -> Option<i32> {
        self.0
            .rollout
            .target
            .as_ref()
            .map(|_| self.0.rollout.step as i32 + 1)
    }
    /// The strategy's steps, in percent of nodes.
    async fn steps(&self) -> Vec<i32> {
        self.0.steps.iter().map(|s| *s as i32).collect()
    }
    /// Whether it is paused.
    async fn paused(&self) -> bool {
        self.0.paused
    }
    /// Each node.
    async fn nodes(&self) -> Vec<AFRolloutNode> {
        self.0
            .node_uris
            .keys()
            .map(|n| {
                let st = self.0.rollout.nodes.get(n);
                AFRolloutNode {
                    node: n.clone(),
                    version: st.and_then(|s| s.version.clone()),
                    healthy: st.is_some_and(|s| {
                        s.healthy || s.last_check_ms.is_none() && s.version.is_some()
                    }),
                    last_error: st.and_then(|s| s.last_error.clone()),
                }
            })
            .collect()
    }
}

/// A serverless function, in the shape the platform's clients use.
#[Object(name = "AFFunction")]
impl AFFunction {
    /// The function's uid.
    async fn id(&self) -> ID {
        ID(self.resource.metadata.uid.clone())
    }

    /// The name.
    async fn name(&self) -> &str {
        &self.resource.metadata.name
    }

    /// The project.
    async fn project_id(&self) -> &str {
        &self.resource.metadata.project
    }

    /// The subdomain: the slug, or the name when none is set.
    async fn slug(&self) -> &str {
        self.spec
            .slug
            .as_deref()
            .unwrap_or(&self.resource.metadata.name)
    }

    /// The FunctionRuntime that serves it.
    async fn runtime(&self) -> &str {
        &self.spec.runtime
    }

    /// The code bundle.
    async fn code(&self) -> AFFunctionCode {
        AFFunctionCode {
            cid: self.spec.code.cid.clone(),
            blake3: self.spec.code.blake3.clone(),
        }
    }

    /// Routes, pattern → target URL, in order.
    async fn routes(&self) -> Json<&indexmap::IndexMap<String, String>> {
        Json(&self.spec.routes)
    }

    /// Environment variables (secret references, never secret values).
    async fn env(&self) -> Vec<AFEnvVar> {
        self.spec
            .env
            .iter()
            .map(|e| AFEnvVar {
                name: e.name.clone(),
                value: e.value.clone(),
                secret_ref: e.secret_ref.as_ref().map(|r| AFSecretRef {
                    store: r.store.clone(),
                    key: r.key.clone(),
                }),
            })
            .collect()
    }

    /// Where it stands.
    async fn status(&self) -> AFFunctionStatus {
        match phase_of(&self.resource) {
            Phase::Pending => AFFunctionStatus::Pending,
            Phase::Ready => AFFunctionStatus::Active,
            Phase::NotReady => AFFunctionStatus::NotReady,
            Phase::Deleting => AFFunctionStatus::Deleting,
        }
    }

    /// Where it is served (`https://<slug>.<wildcard domain>`), once its runtime is known.
    async fn invoke_url(&self) -> Option<String> {
        crate::functions::FunctionStatus::from_status(&self.resource.status).url
    }

    /// The rollout: versions, step, and each node's version and health (as
    /// `af-operator rollout status` shows it).
    async fn rollout(&self) -> AFRollout {
        AFRollout(crate::functions::FunctionStatus::from_status(
            &self.resource.status,
        ))
    }

    /// Bumps when the function's spec changes.
    async fn generation(&self) -> i64 {
        self.resource.metadata.generation
    }

    /// When it was created (RFC 3339).
    async fn created_at(&self) -> &str {
        &self.resource.metadata.created_at
    }

    /// The underlying Function resource, with status, conditions, events and Akash facts.
    async fn resource(&self) -> ResourceObject {
        ResourceObject(self.resource.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn akash_facts_are_read_leniently() {
        let facts = json!({
            "dseq": 18446744073709551615u64,
            "provider": "akash1xyz",
            "uris": ["a.example.com", 3],
            "escrowRunwaySeconds": "86400",
            "leases": [{"provider": "akash1xyz", "gseq": 1, "oseq": 1, "state": "active"}, "junk"]
        });
        let a = AkashStatus::from_facts(facts.as_object().unwrap());
        assert_eq!(a.dseq.as_deref(), Some("18446744073709551615"));
        assert_eq!(a.uris, Some(vec!["a.example.com".to_string()]));
        assert_eq!(a.escrow_runway_seconds, Some(86400));
        let leases = a.leases.unwrap();
        assert_eq!(leases.len(), 1);
        assert_eq!(leases[0].state.as_deref(), Some("active"));
        let empty = AkashStatus::from_facts(&serde_json::Map::new());
        assert!(empty.dseq.is_none() && empty.leases.is_none());
        let wrong = json!({"dseq": [1], "uris": "x", "escrowRunwaySeconds": {}});
        let a = AkashStatus::from_facts(wrong.as_object().unwrap());
        assert!(a.dseq.is_none() && a.uris.is_none() && a.escrow_runway_seconds.is_none());
    }
}
