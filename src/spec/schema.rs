//! JSON Schemas of the kinds, generated from the types (descriptions come from their doc
//! comments). The committed `crds/*.json` must equal [`generate`]'s output.

use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema};
use serde_json::{json, Value};

use super::kinds::{
    agent::AgentSpec, dns_zone::DnsZoneSpec, function::FunctionSpec,
    function_runtime::FunctionRuntimeSpec, proxy::ProxySpec, secret_store::SecretStoreSpec,
    site::SiteSpec,
};
use super::{Kind, API_VERSION};

/// Metadata as a user writes it.
#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Metadata {
    /// The name: a DNS-1123 label (lowercase letters, digits, '-'), at most 63 characters.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    name: String,
    /// The project (tenant); `default` when absent. A DNS-1123 label.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"))]
    project: Option<String>,
    /// Labels, e.g. `team: core`; `get -l team=core` selects by them.
    labels: Option<BTreeMap<String, String>>,
    /// Optional optimistic concurrency: apply writes only if this is still the stored
    /// resourceVersion (as `get` shows it), or, when 0, only if the resource does not exist
    /// yet; otherwise it refuses with a conflict naming both versions.
    #[schemars(range(min = 0))]
    resource_version: Option<i64>,
}

/// A resource document.
#[allow(dead_code)]
#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Document<S> {
    /// Always `alternatefutures.ai/v1alpha1`.
    api_version: String,
    /// The kind.
    kind: String,
    /// Name, project, labels and optionally the resourceVersion the write expects.
    /// Server-managed fields (uid, generation, createdAt, deletionRequestedAt, finalizers) are
    /// ignored on apply.
    metadata: Metadata,
    /// The desired state.
    spec: S,
}

fn document<S: JsonSchema>(kind: Kind) -> Value {
    let schema: Schema = schemars::schema_for!(Document<S>);
    let mut v = schema.to_value();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("title".into(), json!(kind.as_str()));
        obj.insert(
            "$id".into(),
            json!(format!(
                "https://alternatefutures.ai/schemas/v1alpha1/{}.json",
                kind.singular()
            )),
        );
        let mut status_defs = None;
        if let Some(Value::Object(props)) = obj.get_mut("properties") {
            props.insert("apiVersion".into(), json!({"const": API_VERSION, "description": "Always `alternatefutures.ai/v1alpha1`."}));
            props.insert("kind".into(), json!({"const": kind.as_str()}));
            let hosted = matches!(
                kind,
                Kind::Agent | Kind::FunctionRuntime | Kind::Proxy | Kind::SecretStore | Kind::Site
            );
            let typed = if hosted {
                Some(schemars::schema_for!(
                    super::akash_status::AkashResourceStatus
                ))
            } else if kind == Kind::Function {
                Some(schemars::schema_for!(
                    crate::functions::FunctionResourceStatus
                ))
            } else {
                None
            };
            let status = if let Some(typed) = typed {
                let mut st = serde_json::to_value(typed).unwrap_or_default();
                if let Some(o) = st.as_object_mut() {
                    // Its definitions join the document's, where `#/$defs/…` resolves.
                    status_defs = o.remove("$defs");
                    o.remove("$schema");
                    o.remove("title");
                    o.insert(
                        "description".into(),
                        json!("Observed state, written by the operator; ignored on apply."),
                    );
                }
                st
            } else {
                json!({"type": "object", "description": "Observed state, written by the operator; ignored on apply."})
            };
            props.insert("status".into(), status);
        }
        if let Some(Value::Object(defs)) = status_defs {
            let root = obj
                .entry("$defs")
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("$defs is an object");
            for (name, def) in defs {
                let clash = root.get(&name).is_some_and(|d| *d != def);
                assert!(
                    !clash,
                    "status definition {name} clashes with a spec definition"
                );
                root.insert(name, def);
            }
        }
    }
    v
}

/// The schema of one kind's documents.
pub fn for_kind(kind: Kind) -> Value {
    match kind {
        Kind::Agent => document::<AgentSpec>(kind),
        Kind::FunctionRuntime => document::<FunctionRuntimeSpec>(kind),
        Kind::Function => document::<FunctionSpec>(kind),
        Kind::Site => document::<SiteSpec>(kind),
        Kind::Proxy => document::<ProxySpec>(kind),
        Kind::SecretStore => document::<SecretStoreSpec>(kind),
        Kind::DnsZone => document::<DnsZoneSpec>(kind),
    }
}

/// Every schema file: `(file name, pretty JSON with a final newline)`.
pub fn generate() -> Vec<(String, String)> {
    Kind::ALL
        .iter()
        .map(|k| {
            let text = serde_json::to_string_pretty(&for_kind(*k)).unwrap_or_default() + "\n";
            (format!("{}.json", k.singular()), text)
        })
        .collect()
}
