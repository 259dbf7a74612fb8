//! Function: a serverless function bundle served by a FunctionRuntime, rolled out by steps.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::common::{validate_env, EnvVar, HealthCheck};
use crate::spec::validate::{check_dns_label, Problems, Validate};
use crate::spec::yaml::FieldPath;

/// A function: code by content address, routes, environment, and how new versions roll out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FunctionSpec {
    /// The FunctionRuntime (in the same project) that serves this function.
    pub runtime: String,
    /// The subdomain under the runtime's wildcard domain; default: the function's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// The code bundle, by IPFS CID and BLAKE3 digest.
    pub code: FunctionCode,
    /// Routes in the platform's JSON shape: pattern → target URL, e.g.
    /// `{"/api/users/*": "https://users-service.com", "/*": "https://default.com"}`.
    /// Patterns start with `/`; `:param` segments and a trailing `*` are allowed; targets are
    /// http or https URLs. Order is kept.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub routes: IndexMap<String, String>,
    /// Environment variables: plain values or secret references.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// How a new version reaches the runtime's nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
}

/// A code bundle by content address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FunctionCode {
    /// The bundle's IPFS CID (CIDv0 `Qm…` or CIDv1 base32 `b…`).
    pub cid: String,
    /// The bundle's BLAKE3 digest: 64 lowercase hex digits.
    pub blake3: String,
}

/// Rollout strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RolloutStrategy {
    /// Step by step through `steps`, checking health between steps.
    Canary,
    /// Every node at once, still behind the health gate.
    AllAtOnce,
}

/// How a new version rolls out, with automatic rollback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rollout {
    /// `canary` or `all-at-once`.
    pub strategy: RolloutStrategy,
    /// For canary: percentages of nodes, strictly increasing, ending at 100, e.g. `[10, 50, 100]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<u8>,
    /// The health gate checked after every step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Failed checks in a step that roll the version back, and checks passed in a row that
    /// clear a step. Default 3.
    #[serde(default = "three")]
    pub failure_threshold: u32,
    /// Hold the rollout at its current step (`af-operator rollout pause|resume`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
}

fn three() -> u32 {
    3
}

/// Whether `cid` looks like an IPFS CID: CIDv0 (base58btc, 46 characters, `Qm` prefix) or
/// CIDv1 in base32 (`b` prefix, lowercase).
pub fn is_cid(cid: &str) -> bool {
    const B58: &str = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    if cid.starts_with("Qm") {
        return cid.len() == 46 && cid.chars().all(|c| B58.contains(c));
    }
    cid.strip_prefix('b').is_some_and(|rest| {
        (50..=120).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    })
}

/// Checks one route pattern; returns what is wrong. The parser is the functions runtime's own
/// ([`af_akash::routes`]), so validation accepts exactly what the runtime serves.
pub fn route_pattern_problem(pattern: &str) -> Option<String> {
    af_akash::routes::Pattern::parse(pattern)
        .err()
        .map(|e| e.to_string())
}

/// Checks one route target; returns what is wrong.
pub fn route_target_problem(pattern: &str, target: &str) -> Option<String> {
    match url::Url::parse(target) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host_str().is_some() => {
            None
        }
        Ok(u) => Some(format!(
            "route `{pattern}`: target `{target}` uses scheme `{}`: expected an http or https URL such as `https://users-service.com`",
            u.scheme()
        )),
        Err(e) => Some(format!(
            "route `{pattern}`: target `{target}` is not a URL ({e}): expected an http or https URL such as `https://users-service.com`"
        )),
    }
}

/// Validates a route table: every pattern parses, no two are ambiguous (the same shape, such
/// as `/a/:x` and `/a/:y`), every target is an http(s) URL.
pub fn validate_routes(routes: &IndexMap<String, String>, at: &FieldPath, p: &mut Problems) {
    if let Err(errors) = af_akash::routes::RouteTable::new(routes.keys().map(|k| (k.clone(), ()))) {
        for e in errors {
            p.add(&at.key(e.pattern()), e.to_string());
        }
    }
    for (pattern, target) in routes {
        if let Some(msg) = route_target_problem(pattern, target) {
            p.add(&at.key(pattern), msg);
        }
    }
}

impl Validate for FunctionSpec {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        check_dns_label(&self.runtime, &at.key("runtime"), p);
        if let Some(s) = &self.slug {
            check_dns_label(s, &at.key("slug"), p);
        }
        let cp = at.key("code");
        if !is_cid(&self.code.cid) {
            p.add(
                &cp.key("cid"),
                format!(
                    "`{}` is not an IPFS CID: expected a CIDv0 (`Qm…`, 46 characters) or a base32 CIDv1 (`bafy…`)",
                    self.code.cid
                ),
            );
        }
        let b3 = &self.code.blake3;
        if b3.len() != 64
            || !b3
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            p.add(
                &cp.key("blake3"),
                format!("`{b3}` is not a BLAKE3 digest: expected 64 lowercase hex digits"),
            );
        }
        validate_routes(&self.routes, &at.key("routes"), p);
        validate_env(&self.env, &at.key("env"), p);
        if let Some(r) = &self.rollout {
            let rp = at.key("rollout");
            match r.strategy {
                RolloutStrategy::Canary => {
                    if r.steps.is_empty() {
                        p.add(&rp, "missing `steps`: a canary rollout needs percentages such as [10, 50, 100]");
                    }
                    let mut prev = 0u8;
                    for (i, s) in r.steps.iter().enumerate() {
                        if *s == 0 || *s > 100 || *s <= prev {
                            p.add(
                                &rp.key("steps").index(i),
                                format!(
                                    "{s}: steps are percentages from 1 to 100, strictly increasing"
                                ),
                            );
                        }
                        prev = prev.max(*s);
                    }
                    if r.steps.last().is_some_and(|s| *s != 100) {
                        p.add(&rp.key("steps"), "the last step must be 100");
                    }
                }
                RolloutStrategy::AllAtOnce => {
                    if !r.steps.is_empty() && r.steps != [100] {
                        p.add(&rp.key("steps"), "an all-at-once rollout takes no steps");
                    }
                }
            }
            r.health_check.validate(&rp.key("healthCheck"), p);
            if r.failure_threshold == 0 {
                p.add(&rp.key("failureThreshold"), "must be at least 1");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_patterns() {
        for ok in [
            "/",
            "/*",
            "/api/users/*",
            "/api/:id",
            "/a/b/",
            "/v1/:org_id/items",
        ] {
            assert_eq!(route_pattern_problem(ok), None, "{ok}");
        }
        assert!(route_pattern_problem("api/*")
            .unwrap()
            .contains("must start with \"/\""));
        assert!(route_pattern_problem("/a/*/b")
            .unwrap()
            .contains("last segment"));
        assert!(route_pattern_problem("/a//b")
            .unwrap()
            .contains("empty segment"));
        assert!(route_pattern_problem("/:1x").unwrap().contains("parameter"));
        assert!(route_pattern_problem("/a*b").is_some());
    }

    #[test]
    fn ambiguous_routes_are_refused_with_their_field_path() {
        let mut routes = IndexMap::new();
        routes.insert("/api/:id".to_string(), "https://a.example".to_string());
        routes.insert("/api/:name".to_string(), "https://b.example".to_string());
        routes.insert("/*".to_string(), "https://default.com".to_string());
        let mut p = Problems::default();
        let at = FieldPath::root().key("spec").key("routes");
        validate_routes(&routes, &at, &mut p);
        assert_eq!(p.0.len(), 1, "{:?}", p.0);
        assert_eq!(p.0[0].path, at.key("/api/:name"));
        assert!(
            p.0[0].message.contains("ambiguous with `/api/:id`"),
            "{}",
            p.0[0].message
        );
    }

    #[test]
    fn route_targets() {
        assert_eq!(route_target_problem("/", "https://default.com"), None);
        assert_eq!(route_target_problem("/", "http://10.0.0.1:8080/x"), None);
        assert!(route_target_problem("/", "ftp://x.com")
            .unwrap()
            .contains("scheme `ftp`"));
        assert!(route_target_problem("/", "users-service.com")
            .unwrap()
            .contains("not a URL"));
    }

    #[test]
    fn cids() {
        assert!(is_cid("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"));
        assert!(is_cid(
            "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
        ));
        assert!(!is_cid("Qm123"));
        assert!(!is_cid("hello"));
    }
}
