//! The Proxy's routes: what the platform's SSL proxy (Pingap) must route, computed from what
//! runs, and given to it through Pingap's admin API (README, "The Proxy's routes").
//!
//! Every FunctionRuntime of the Proxy's project gets one Pingap upstream (its healthy nodes'
//! ingress hostnames, port 80) and one location (a `~regex` host for its wildcard domain, path
//! `/`), both named `af-fr-<runtime>`; two servers the operator owns, `af-http` (`0.0.0.0:80`)
//! and `af-https` (`0.0.0.0:443`, the global certificates), list those locations. The DNS
//! controller points the runtimes' wildcard names at the Proxy, so `<slug>.<domain>` reaches
//! the Proxy, which sends it on, `Host` unchanged, to a node.
//!
//! As for every child the operator manages: every desired config is applied, then only the
//! orphans it owns (names starting `af-`) are deleted; a runtime that has no healthy node at
//! the moment (being re-placed) keeps what the Proxy had for it (the route is *held*), so
//! traffic moves only once new nodes are healthy.

pub mod pingap;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::spec::akash_status::{AkashStatus, ProxyRoute};
use crate::spec::{Kind, Resource, Spec};

pub use pingap::{AdminEndpoint, HttpPingapAdmin, ProxyAdmin};

/// The prefix of every Pingap config the operator owns.
pub const OWNED_PREFIX: &str = "af-";
/// The user the operator's admin credential is made for.
pub const ADMIN_USER: &str = "af-operator";
/// The servers the operator owns: name, listen address, whether TLS.
const SERVERS: [(&str, &str, bool); 2] = [
    ("af-http", "0.0.0.0:80", false),
    ("af-https", "0.0.0.0:443", true),
];

/// The vault key of a Proxy's admin password (in the operator's own store).
pub fn admin_password_key(proxy: &str) -> String {
    format!("proxy-admin.{proxy}")
}

/// One FunctionRuntime as the Proxy routes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeRoute {
    /// The runtime's name.
    pub name: String,
    /// Its wildcard domain, e.g. `*.af-functions.dev`.
    pub wildcard_domain: String,
    /// Its healthy nodes' ingress hostnames.
    pub nodes: Vec<String>,
}

/// The routes the project's FunctionRuntimes want (`resources`: every resource of the
/// Proxy's project).
pub fn runtime_routes(resources: &[Resource]) -> Vec<RuntimeRoute> {
    let mut out: Vec<RuntimeRoute> = resources
        .iter()
        .filter(|r| r.kind == Kind::FunctionRuntime && r.metadata.deletion_requested_at.is_none())
        .filter_map(|r| {
            let Ok(Spec::FunctionRuntime(spec)) = r.typed_spec() else {
                return None;
            };
            let st = AkashStatus::from_status(&r.status);
            let current = st.dseq.clone();
            let mut nodes: Vec<String> = st
                .leases
                .iter()
                .filter(|l| current.as_deref().is_none_or(|d| d == l.dseq))
                .filter(|l| l.state == "active" && l.healthy)
                .flat_map(|l| l.services.iter())
                .filter_map(|s| s.uris.first().cloned())
                .collect();
            nodes.sort();
            nodes.dedup();
            Some(RuntimeRoute {
                name: r.metadata.name.clone(),
                wildcard_domain: spec.wildcard_domain.clone(),
                nodes,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The Pingap name of a runtime's upstream and location.
pub fn route_name(runtime: &str) -> String {
    format!("{OWNED_PREFIX}fr-{runtime}")
}

/// A Pingap location `host` matching exactly one label under `domain` (`*.d` or `d`), as a
/// wildcard DNS name covers it.
pub fn host_regex(domain: &str) -> String {
    let d = domain
        .trim()
        .trim_start_matches("*.")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    // A validated DNS name holds letters, digits, `-` and `.`: only the dot is special.
    format!("~^[a-z0-9-]+\\.{}$", d.replace('.', "\\."))
}

/// A category and a name.
pub type ConfigKey = (String, String);

/// Pingap configs, by (category, name).
pub type Configs = BTreeMap<ConfigKey, Value>;

/// What the Proxy should hold: the configs, the routes for the status, and the names of held
/// routes (kept as they are).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredConfig {
    /// Configs to apply.
    pub configs: Configs,
    /// The routes, for the Proxy's status.
    pub routes: Vec<ProxyRoute>,
    /// Upstream/location names of held routes.
    pub held: BTreeSet<String>,
}

/// The configs `runtimes` want. A held runtime (no healthy node) keeps the upstream and
/// location that `current` has for it, and stays listed by the servers.
pub fn desired_config(runtimes: &[RuntimeRoute], current: &Configs) -> DesiredConfig {
    let mut out = DesiredConfig::default();
    let mut locations: Vec<String> = Vec::new();
    for rt in runtimes {
        let name = route_name(&rt.name);
        let host = host_regex(&rt.wildcard_domain);
        let source = format!("functionruntime/{}", rt.name);
        if rt.nodes.is_empty() {
            let had = current.get(&("upstream".into(), name.clone()));
            let has_location = current.contains_key(&("location".into(), name.clone()));
            if let (Some(up), true) = (had, has_location) {
                let addrs = up
                    .get("addrs")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                out.routes.push(ProxyRoute {
                    host: rt.wildcard_domain.clone(),
                    source,
                    upstream: name.clone(),
                    addrs,
                    held: true,
                });
                out.held.insert(name.clone());
                locations.push(name);
            }
            continue;
        }
        let addrs: Vec<String> = rt.nodes.iter().map(|h| format!("{h}:80")).collect();
        out.configs.insert(
            ("upstream".into(), name.clone()),
            json!({"addrs": addrs, "remark": format!("af-operator: {source}")}),
        );
        out.configs.insert(
            ("location".into(), name.clone()),
            json!({"upstream": name, "host": host, "path": "/",
                   "remark": format!("af-operator: {source}")}),
        );
        out.routes.push(ProxyRoute {
            host: rt.wildcard_domain.clone(),
            source,
            upstream: name.clone(),
            addrs,
            held: false,
        });
        locations.push(name);
    }
    locations.sort();
    for (name, addr, tls) in SERVERS {
        let mut s = json!({"addr": addr, "locations": locations,
                           "remark": "af-operator: the platform's routes"});
        if tls {
            s["global_certificates"] = json!(true);
        }
        out.configs.insert(("server".into(), name.to_string()), s);
    }
    out
}

/// One change to a Proxy's configs.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Create or replace.
    Put(String, String, Value),
    /// Delete.
    Delete(String, String),
}

/// Whether `current` already says everything `want` says (Pingap may add defaults).
fn covers(current: &Value, want: &Value) -> bool {
    match (current, want) {
        (Value::Object(c), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| c.get(k).is_some_and(|cv| covers(cv, v))),
        (c, w) => c == w,
    }
}

/// The changes that take `current` to `desired`: puts first (upstreams, then locations, then
/// servers, so nothing names what does not exist yet), then deletes of the orphans we own
/// (servers' lists already updated; locations before the upstreams they name).
pub fn plan(desired: &DesiredConfig, current: &Configs) -> Vec<Change> {
    let order = |c: &str| match c {
        "upstream" => 0,
        "location" => 1,
        "server" => 2,
        _ => 3,
    };
    let mut puts: Vec<(&ConfigKey, &Value)> = desired
        .configs
        .iter()
        .filter(|(k, v)| current.get(*k).is_none_or(|c| !covers(c, v)))
        .collect();
    puts.sort_by_key(|((c, n), _)| (order(c), n.clone()));
    let mut deletes: Vec<&ConfigKey> = current
        .keys()
        .filter(|(c, n)| {
            n.starts_with(OWNED_PREFIX)
                && matches!(c.as_str(), "upstream" | "location" | "server")
                && !desired.configs.contains_key(&(c.clone(), n.clone()))
                && !(desired.held.contains(n) && c != "server")
        })
        .collect();
    deletes.sort_by_key(|(c, n)| (std::cmp::Reverse(order(c)), n.clone()));
    puts.into_iter()
        .map(|((c, n), v)| Change::Put(c.clone(), n.clone(), v.clone()))
        .chain(
            deletes
                .into_iter()
                .map(|(c, n)| Change::Delete(c.clone(), n.clone())),
        )
        .collect()
}

/// Gives the Proxy at `endpoint` the routes of `resources` (its project's). Returns the
/// routes it now holds.
pub async fn sync(
    admin: &dyn ProxyAdmin,
    endpoint: &AdminEndpoint,
    resources: &[Resource],
) -> Result<Vec<ProxyRoute>, String> {
    let mut current = Configs::new();
    for category in ["upstream", "location", "server"] {
        for (name, v) in admin.configs(endpoint, category).await? {
            current.insert((category.to_string(), name), v);
        }
    }
    let desired = desired_config(&runtime_routes(resources), &current);
    for change in plan(&desired, &current) {
        match change {
            Change::Put(c, n, v) => {
                admin.put(endpoint, &c, &n, &v).await?;
                tracing::info!(category = %c, name = %n, "proxy config applied");
            }
            Change::Delete(c, n) => {
                admin.delete(endpoint, &c, &n).await?;
                tracing::info!(category = %c, name = %n, "proxy config deleted (orphan)");
            }
        }
    }
    Ok(desired.routes)
}

#[cfg(test)]
mod tests;
