//! The resource kinds: pure data, validation and JSON Schemas. No I/O.
//!
//! Every resource is a YAML document with `apiVersion`, `kind`, `metadata` and `spec`;
//! [`load`] turns text into validated [`ResourceInput`]s with precise errors, and the store
//! keeps them as [`Resource`]s with server-managed metadata and a status.

pub mod akash_status;
pub mod common;
pub mod kinds;
pub mod load;
pub mod quantity;
pub mod schema;
pub mod validate;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use kinds::agent::AgentSpec;
use kinds::dns_zone::DnsZoneSpec;
use kinds::function::FunctionSpec;
use kinds::function_runtime::FunctionRuntimeSpec;
use kinds::proxy::ProxySpec;
use kinds::secret_store::SecretStoreSpec;
use kinds::site::SiteSpec;
use validate::{Problems, Validate};
use yaml::FieldPath;

/// The API version of every kind.
pub const API_VERSION: &str = "alternatefutures.ai/v1alpha1";

/// The project a resource belongs to when its metadata names none.
pub const DEFAULT_PROJECT: &str = "default";

/// The resource kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
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

impl Kind {
    /// Every kind, in the order they are usually applied.
    pub const ALL: [Kind; 7] = [
        Kind::DnsZone,
        Kind::SecretStore,
        Kind::Proxy,
        Kind::FunctionRuntime,
        Kind::Function,
        Kind::Site,
        Kind::Agent,
    ];

    /// The kind's name as written in documents, e.g. `FunctionRuntime`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Agent => "Agent",
            Kind::FunctionRuntime => "FunctionRuntime",
            Kind::Function => "Function",
            Kind::Site => "Site",
            Kind::Proxy => "Proxy",
            Kind::SecretStore => "SecretStore",
            Kind::DnsZone => "DnsZone",
        }
    }

    /// The lowercase singular, used in CLI output such as `agent/defarm-api`.
    pub fn singular(self) -> &'static str {
        match self {
            Kind::Agent => "agent",
            Kind::FunctionRuntime => "functionruntime",
            Kind::Function => "function",
            Kind::Site => "site",
            Kind::Proxy => "proxy",
            Kind::SecretStore => "secretstore",
            Kind::DnsZone => "dnszone",
        }
    }

    /// The lowercase plural.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Agent => "agents",
            Kind::FunctionRuntime => "functionruntimes",
            Kind::Function => "functions",
            Kind::Site => "sites",
            Kind::Proxy => "proxies",
            Kind::SecretStore => "secretstores",
            Kind::DnsZone => "dnszones",
        }
    }

    /// Short names.
    pub fn short_names(self) -> &'static [&'static str] {
        match self {
            Kind::Agent => &["ag"],
            Kind::FunctionRuntime => &["fr", "fnrt"],
            Kind::Function => &["fn"],
            Kind::Site => &["st"],
            Kind::Proxy => &["px"],
            Kind::SecretStore => &["ss"],
            Kind::DnsZone => &["dz", "zone"],
        }
    }

    /// Parses a kind as a user types it: case-insensitive, singular, plural or short.
    pub fn parse(name: &str) -> Result<Kind, String> {
        Kind::parse_among(name, &[])
    }

    /// [`Kind::parse`] where `other` words are valid too (as `get` takes `all`): a typo is
    /// matched against them as well, and they win a tie. Only full names are suggested: a
    /// two-letter short name is "near" every short typo (`al` is as near `ag` as `all`).
    pub fn parse_among(name: &str, other: &[&str]) -> Result<Kind, String> {
        let n = name.to_ascii_lowercase();
        for k in Kind::ALL {
            if n == k.singular() || n == k.plural() || k.short_names().contains(&n.as_str()) {
                return Ok(k);
            }
        }
        let mut msg = format!("unknown kind `{name}`");
        let names = other
            .iter()
            .copied()
            .chain(Kind::ALL.iter().flat_map(|k| [k.singular(), k.plural()]));
        if let Some(s) = validate::nearest(&n, names) {
            msg.push_str(&format!("; did you mean `{s}`?"));
        }
        msg.push_str(&format!(
            " (kinds: {})",
            Kind::ALL.map(|k| k.singular()).join(", ")
        ));
        Err(msg)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed spec of any kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Spec {
    /// An Agent's spec.
    Agent(AgentSpec),
    /// A FunctionRuntime's spec.
    FunctionRuntime(FunctionRuntimeSpec),
    /// A Function's spec.
    Function(FunctionSpec),
    /// A Site's spec.
    Site(SiteSpec),
    /// A Proxy's spec.
    Proxy(ProxySpec),
    /// A SecretStore's spec.
    SecretStore(SecretStoreSpec),
    /// A DnsZone's spec.
    DnsZone(DnsZoneSpec),
}

impl Spec {
    /// Decodes a spec of `kind` from JSON. The error is serde's, with the path inside `spec`.
    pub fn from_value(
        kind: Kind,
        value: &Value,
    ) -> Result<Spec, serde_path_to_error::Error<serde_json::Error>> {
        fn de<T: serde::de::DeserializeOwned>(
            v: &Value,
        ) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
            serde_path_to_error::deserialize(v)
        }
        Ok(match kind {
            Kind::Agent => Spec::Agent(de(value)?),
            Kind::FunctionRuntime => Spec::FunctionRuntime(de(value)?),
            Kind::Function => Spec::Function(de(value)?),
            Kind::Site => Spec::Site(de(value)?),
            Kind::Proxy => Spec::Proxy(de(value)?),
            Kind::SecretStore => Spec::SecretStore(de(value)?),
            Kind::DnsZone => Spec::DnsZone(de(value)?),
        })
    }

    /// The spec's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Spec::Agent(_) => Kind::Agent,
            Spec::FunctionRuntime(_) => Kind::FunctionRuntime,
            Spec::Function(_) => Kind::Function,
            Spec::Site(_) => Kind::Site,
            Spec::Proxy(_) => Kind::Proxy,
            Spec::SecretStore(_) => Kind::SecretStore,
            Spec::DnsZone(_) => Kind::DnsZone,
        }
    }

    /// The spec as JSON, defaults filled in: the form the store keeps.
    pub fn to_value(&self) -> Value {
        // Serializing these plain data types cannot fail: keys are strings, numbers finite.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Validate for Spec {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        match self {
            Spec::Agent(s) => s.validate(at, p),
            Spec::FunctionRuntime(s) => s.validate(at, p),
            Spec::Function(s) => s.validate(at, p),
            Spec::Site(s) => s.validate(at, p),
            Spec::Proxy(s) => s.validate(at, p),
            Spec::SecretStore(s) => s.validate(at, p),
            Spec::DnsZone(s) => s.validate(at, p),
        }
    }
}

/// Identifies a resource: kind, project and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceKey {
    /// The kind.
    pub kind: Kind,
    /// The project (tenant).
    pub project: String,
    /// The name, unique per kind and project.
    pub name: String,
}

impl ResourceKey {
    /// Builds a key.
    pub fn new(kind: Kind, project: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceKey {
            kind,
            project: project.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.singular(), self.name)?;
        if self.project != DEFAULT_PROJECT {
            write!(f, " (project {})", self.project)?;
        }
        Ok(())
    }
}

/// What a user may set: a validated document, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceInput {
    /// Kind, project and name.
    pub key: ResourceKey,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// The typed, validated spec.
    pub spec: Spec,
    /// `metadata.resourceVersion` as the document gave it: when present, the store writes
    /// the resource only if this is still its resourceVersion (0: only if it does not exist
    /// yet), and refuses with a conflict otherwise. `None`: write whatever is stored.
    pub resource_version: Option<i64>,
}

impl ResourceInput {
    /// The resource as it would be stored, before the store assigns its uid, versions and
    /// creation time: what renders and diffs work on without a store.
    pub fn preview(&self) -> Resource {
        Resource {
            api_version: API_VERSION.to_string(),
            kind: self.key.kind,
            metadata: Metadata {
                name: self.key.name.clone(),
                project: self.key.project.clone(),
                labels: self.labels.clone(),
                uid: String::new(),
                generation: 0,
                resource_version: 0,
                created_at: String::new(),
                deletion_requested_at: None,
                finalizers: Vec::new(),
            },
            spec: self.spec.to_value(),
            status: Status::default(),
        }
    }
}

/// Condition statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// It does not.
    False,
    /// Not known yet.
    Unknown,
}

/// One observed condition, e.g. `Ready`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type, e.g. `Ready`, `Deployed`, `Healthy`.
    #[serde(rename = "type")]
    pub type_: String,
    /// True, False or Unknown.
    pub status: ConditionStatus,
    /// One CamelCase word, e.g. `LeaseActive`.
    pub reason: String,
    /// A human-readable explanation.
    #[serde(default)]
    pub message: String,
    /// When `status` last changed (RFC 3339).
    pub last_transition_time: String,
    /// The generation this condition was observed at.
    #[serde(default)]
    pub observed_generation: i64,
}

/// A resource's observed state, written only by the operator.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Kind-specific facts (Akash deployment, leases, URIs, escrow runway …).
    #[serde(flatten)]
    pub facts: serde_json::Map<String, Value>,
}

impl Status {
    /// The condition of a type.
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

/// Metadata of a stored resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// The name.
    pub name: String,
    /// The project.
    pub project: String,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// A unique id, assigned at creation.
    pub uid: String,
    /// Bumps when `spec` changes.
    pub generation: i64,
    /// Bumps on every write; used for optimistic concurrency.
    pub resource_version: i64,
    /// When the resource was created (RFC 3339).
    pub created_at: String,
    /// When deletion was requested (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_requested_at: Option<String>,
    /// Cleanups that must finish before the resource goes away.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

/// A stored resource: what `get -o yaml` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// The kind.
    pub kind: Kind,
    /// Metadata.
    pub metadata: Metadata,
    /// The spec as stored (defaults filled in).
    pub spec: Value,
    /// The observed state.
    #[serde(default)]
    pub status: Status,
}

impl Resource {
    /// The resource's key.
    pub fn key(&self) -> ResourceKey {
        ResourceKey::new(self.kind, &self.metadata.project, &self.metadata.name)
    }

    /// The typed spec.
    pub fn typed_spec(&self) -> Result<Spec, serde_path_to_error::Error<serde_json::Error>> {
        Spec::from_value(self.kind, &self.spec)
    }
}
