//! Functions for real: every Function's code (by CID, verified with BLAKE3 by the nodes) on
//! its FunctionRuntime's nodes, rolled out in health-gated steps with automatic rollback.
//!
//! - [`admin`]: the runtime contract v1 as the operator speaks it (a trait, over HTTP).
//! - [`rollout`]: the pure planner of a rollout.
//! - [`controller`]: the Function reconciler (its own work queue, fed by the change feed).
//! - [`RuntimeFunctions`]: what a FunctionRuntime's reconciler gives each node before it counts as healthy:
//!   every Function bound to the runtime at the version that node should run.

pub mod admin;
pub mod controller;
pub mod rollout;

use std::collections::BTreeMap;
use std::sync::Arc;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::reconcile::Context;
use crate::render::{runtime_token_key, SecretResolver, OPERATOR_STORE};
use crate::spec::common::SecretRef;
use crate::spec::kinds::function::FunctionSpec;
use crate::spec::{Kind, Resource, Spec};
use crate::store::ListQuery;

use admin::{NodeAddr, PutBody, RuntimeAdmin};
use rollout::{Code, RolloutState};

/// The finalizer of a Function: its slug is removed from every node before it goes.
pub const FINALIZER: &str = "af-operator.io/function";

/// The status facts of a Function, as its schema documents them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct FunctionStatus {
    /// `Pending`, `Progressing`, `Paused`, `Ready`, `Degraded`, `Deleting`.
    #[serde(default)]
    pub phase: String,
    /// The FunctionRuntime that serves it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub runtime: String,
    /// The subdomain under the runtime's wildcard domain.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub slug: String,
    /// Where it is served: `https://<slug>.<domain>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The strategy's steps (percent of nodes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<u8>,
    /// Whether the rollout is paused.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// Versions, step, moved nodes and per-node version and health.
    #[serde(default)]
    pub rollout: RolloutState,
    /// Each node's address (name → hostname).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_uris: BTreeMap<String, String>,
    /// When the rollout reached 100% on every node, the ms it took from its start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rollout_ms: Option<i64>,
    /// When the current rollout started (ms since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_started_ms: Option<i64>,
    /// When this resource was last reconciled (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconcile_time: Option<String>,
}

/// The whole status of a Function, as its schema documents it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "camelCase")]
pub struct FunctionResourceStatus {
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (every node serves a good version), `Synced` (the spec's version runs on every
    /// node) and `Degraded` (the spec's version failed its rollout: `RolloutFailed`,
    /// `HashMismatch`), each with the generation it was observed at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<crate::spec::Condition>,
    /// The rollout and the nodes.
    #[serde(flatten)]
    pub function: FunctionStatus,
}

impl FunctionStatus {
    /// Reads the facts of a status; anything unreadable reads as the default.
    pub fn from_status(status: &crate::spec::Status) -> FunctionStatus {
        serde_json::from_value(serde_json::Value::Object(status.facts.clone())).unwrap_or_default()
    }

    /// Writes the facts into a status, keeping its conditions.
    pub fn write_into(&self, status: &mut crate::spec::Status) {
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(self) {
            status.facts = map;
        }
    }
}

/// A FunctionRuntime's nodes from its status: every service of every lease of its current
/// deployment, with its ingress hostname, in node order.
pub fn runtime_nodes(runtime: &Resource) -> Vec<NodeAddr> {
    let st = crate::spec::akash_status::AkashStatus::from_status(&runtime.status);
    let current = st.dseq.clone();
    let mut nodes: Vec<NodeAddr> = st
        .leases
        .iter()
        .filter(|l| current.as_deref().is_none_or(|d| d == l.dseq) && l.state == "active")
        .flat_map(|l| l.services.iter())
        .filter_map(|s| {
            s.uris.first().map(|u| NodeAddr {
                node: s.name.clone(),
                uri: u.clone(),
            })
        })
        .collect();
    nodes.sort_by(|a, b| rollout::node_order(&a.node, &b.node));
    nodes.dedup_by(|a, b| a.node == b.node);
    nodes
}

/// The runtime's admin token, from the vault.
pub fn runtime_token(
    secrets: &dyn SecretResolver,
    project: &str,
    runtime: &str,
) -> Result<Zeroizing<String>, String> {
    secrets
        .resolve(
            project,
            &SecretRef {
                store: OPERATOR_STORE.into(),
                key: runtime_token_key(runtime),
            },
        )
        .map(Zeroizing::new)
        .map_err(|e| format!("the runtime token of {runtime} is not in the vault yet: {e}"))
}

/// A function's environment with its secrets resolved.
pub fn resolve_env(
    secrets: &dyn SecretResolver,
    project: &str,
    spec: &FunctionSpec,
) -> Result<BTreeMap<String, Zeroizing<String>>, (String, String)> {
    let mut env = BTreeMap::new();
    for e in &spec.env {
        let v = match (&e.value, &e.secret_ref) {
            (Some(v), _) => v.clone(),
            (None, Some(r)) => secrets
                .resolve(project, r)
                .map_err(|_| (r.store.clone(), r.key.clone()))?,
            (None, None) => String::new(),
        };
        env.insert(e.name.clone(), Zeroizing::new(v));
    }
    Ok(env)
}

/// The health path of a function's versions.
pub fn health_path(spec: &FunctionSpec) -> String {
    spec.rollout
        .as_ref()
        .and_then(|r| r.health_check.as_ref())
        .map_or_else(|| "/healthz".to_string(), |h| h.path.clone())
}

/// A keyed digest of what a node gets besides the code (routes, env, health path), so that a
/// change of any is pushed; keyed with the runtime token, so it tells nothing of the values.
pub fn config_digest(
    token: &str,
    routes: &IndexMap<String, String>,
    env: &BTreeMap<String, Zeroizing<String>>,
    health_path: &str,
) -> String {
    let key = blake3::hash(token.as_bytes());
    let mut h = blake3::Hasher::new_keyed(key.as_bytes());
    for (k, v) in routes {
        h.update(&(k.len() as u64).to_le_bytes());
        h.update(k.as_bytes());
        h.update(&(v.len() as u64).to_le_bytes());
        h.update(v.as_bytes());
    }
    h.update(b"\0env");
    for (k, v) in env {
        h.update(&(k.len() as u64).to_le_bytes());
        h.update(k.as_bytes());
        h.update(&(v.len() as u64).to_le_bytes());
        h.update(v.as_bytes());
    }
    h.update(b"\0health");
    h.update(health_path.as_bytes());
    h.finalize().to_hex()[..32].to_string()
}

/// The PUT body of `code` with the spec's routes, env and health path.
pub fn put_body(
    spec: &FunctionSpec,
    code: &Code,
    env: BTreeMap<String, Zeroizing<String>>,
) -> PutBody {
    PutBody {
        version: code.version.clone(),
        cid: code.cid.clone(),
        blake3: code.blake3.clone(),
        routes: spec.routes.clone(),
        env,
        weight: 100,
        health_path: health_path(spec),
    }
}

/// The slug of a function.
pub fn slug_of(r: &Resource, spec: &FunctionSpec) -> String {
    spec.slug.clone().unwrap_or_else(|| r.metadata.name.clone())
}

/// What a runtime's nodes must run: every Function bound to it, with the project's secrets
/// and the runtime's token. Read once per look at the runtime, then given to each node.
pub struct RuntimeFunctions {
    admin: Arc<dyn RuntimeAdmin>,
    project: String,
    functions: Vec<(Resource, FunctionSpec)>,
    secrets: Option<(Arc<dyn SecretResolver>, Zeroizing<String>)>,
}

impl RuntimeFunctions {
    /// The Functions bound to `runtime` (`None` when no admin client is set).
    pub async fn load(ctx: &Context, runtime: &Resource) -> Result<Option<Self>, String> {
        let Some(admin) = ctx.runtime_admin() else {
            return Ok(None);
        };
        let project = runtime.metadata.project.clone();
        let q = ListQuery {
            kind: Some(Kind::Function),
            project: Some(project.clone()),
            ..ListQuery::default()
        };
        let functions: Vec<(Resource, FunctionSpec)> = ctx
            .store
            .list(&q)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|f| f.metadata.deletion_requested_at.is_none())
            .filter_map(|f| match f.typed_spec() {
                Ok(Spec::Function(s)) if s.runtime == runtime.metadata.name => Some((f, s)),
                _ => None,
            })
            .collect();
        // The vault is opened only when some function is to be given.
        let secrets = if functions.is_empty() {
            None
        } else {
            let secrets = ctx.secrets.resolver(&project).await?;
            let token = runtime_token(secrets.as_ref(), &project, &runtime.metadata.name)?;
            Some((secrets, token))
        };
        Ok(Some(RuntimeFunctions {
            admin,
            project,
            functions,
            secrets,
        }))
    }

    /// Gives `node` every Function at the version that node should run (the target when the
    /// rollout moved it, else the stable one), before the node counts as healthy.
    /// `Ok(false)`: some function is not there yet (it is retried).
    pub async fn sync(&self, node: &NodeAddr) -> Result<bool, String> {
        let Some((secrets, token)) = &self.secrets else {
            return Ok(true);
        };
        let running = self
            .admin
            .list(node, token)
            .await
            .map_err(|e| e.to_string())?;
        let mut complete = true;
        for (f, spec) in &self.functions {
            let st = FunctionStatus::from_status(&f.status);
            let want = match (&st.rollout.target, st.rollout.moved.contains(&node.node)) {
                (Some(t), true) => Some(t),
                _ => st.rollout.stable.as_ref(),
            };
            let Some(want) = want else { continue };
            let slug = slug_of(f, spec);
            let has = running.iter().any(|r| {
                r.slug == slug
                    && r.cid == want.cid
                    && r.blake3 == want.blake3
                    && r.version == want.version
            });
            if has {
                continue;
            }
            let Ok(env) = resolve_env(secrets.as_ref(), &self.project, spec) else {
                complete = false;
                continue;
            };
            match self
                .admin
                .put(node, token, &slug, &put_body(spec, want, env))
                .await
            {
                Ok(_) => tracing::info!(
                    node = %node.node,
                    function = %f.metadata.name,
                    version = %want.version,
                    "gave the node the function's current version"
                ),
                Err(e) => {
                    tracing::warn!(node = %node.node, function = %f.metadata.name, error = %e, "cannot give the node its function");
                    complete = false;
                }
            }
        }
        Ok(complete)
    }
}
