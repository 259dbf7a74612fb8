//! FunctionRuntime: a pool of functions runtime nodes on Akash.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::common::{
    check_image, validate_env, ComputeResources, EnvVar, HealthCheck, Placement,
};
use crate::spec::validate::{check_dns_label, check_hostname, check_unique, Problems, Validate};
use crate::spec::yaml::FieldPath;

/// A pool of functions runtime nodes that serve every Function bound to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FunctionRuntimeSpec {
    /// The runtime's container image.
    pub image: String,
    /// Environment variables of every node.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// The port a node serves HTTP on. Default 8080.
    #[serde(default = "default_port")]
    pub port: u16,
    /// How many nodes, optionally split over regions.
    pub nodes: Nodes,
    /// Compute resources per node.
    pub resources: ComputeResources,
    /// The wildcard domain functions are served under, e.g. `*.af-functions.dev`.
    pub wildcard_domain: String,
    /// Where and at what price nodes may run (regions add their own attributes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// The health check of a node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
}

fn default_port() -> u16 {
    8080
}

/// The node count, optionally split by region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Nodes {
    /// Total nodes, 1 to 100.
    pub count: u32,
    /// A split over regions; when given, the counts add up to `count`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<RegionNodes>,
}

/// Nodes placed in one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegionNodes {
    /// The region, matched against the provider attribute `region`, e.g. `us-west`.
    pub region: String,
    /// Nodes in this region, at least 1.
    pub count: u32,
    /// Placement for this region, merged over the runtime's placement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
}

impl Validate for FunctionRuntimeSpec {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        check_image(&self.image, &at.key("image"), p);
        validate_env(&self.env, &at.key("env"), p);
        if self.port == 0 {
            p.add(&at.key("port"), "0 is not a port: expected 1 to 65535");
        }
        let np = at.key("nodes");
        super::agent::check_replicas(self.nodes.count, &np.key("count"), p);
        if !self.nodes.regions.is_empty() {
            let rp = np.key("regions");
            let mut sum: u64 = 0;
            for (i, r) in self.nodes.regions.iter().enumerate() {
                check_dns_label(&r.region, &rp.index(i).key("region"), p);
                if r.count == 0 {
                    p.add(&rp.index(i).key("count"), "must be at least 1");
                }
                sum += u64::from(r.count);
                r.placement.validate(&rp.index(i).key("placement"), p);
            }
            check_unique(
                self.nodes
                    .regions
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (rp.index(i).key("region"), r.region.as_str())),
                "region",
                p,
            );
            if sum != u64::from(self.nodes.count) {
                p.add(
                    &np.key("count"),
                    format!(
                        "the regions hold {sum} nodes but `count` is {}: they must add up",
                        self.nodes.count
                    ),
                );
            }
        }
        self.resources.validate(&at.key("resources"), p);
        let wp = at.key("wildcardDomain");
        if !self.wildcard_domain.starts_with("*.") {
            p.add(
                &wp,
                format!(
                    "`{}` is not a wildcard domain: expected e.g. `*.af-functions.dev`",
                    self.wildcard_domain
                ),
            );
        } else {
            check_hostname(&self.wildcard_domain, true, &wp, p);
        }
        self.placement.validate(&at.key("placement"), p);
        self.health_check.validate(&at.key("healthCheck"), p);
    }
}
