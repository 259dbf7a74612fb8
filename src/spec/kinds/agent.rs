//! Agent: a container workload on Akash (AI agents, APIs), with optional sidecars.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::common::{
    check_image, validate_env, validate_sidecars, ComputeResources, DnsSettings, EnvVar, Expose,
    HealthCheck, Placement, Sidecar,
};
use crate::spec::validate::{Problems, Validate};
use crate::spec::yaml::FieldPath;

/// A container workload on Akash: one main service, optional sidecars in the same deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AgentSpec {
    /// The container image, e.g. `ghcr.io/alternatefutures/defarm-api:1.4.2`.
    pub image: String,
    /// Overrides the image's entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Arguments to the entrypoint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Environment variables: plain values or secret references.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// The port the main container serves HTTP on (also given to it as `PORT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// How the workload is reached: HTTP hostnames, extra TCP/UDP ports, a leased IP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expose: Option<Expose>,
    /// Compute resources per replica.
    pub resources: ComputeResources,
    /// How many replicas, 1 to 100. Default 1.
    #[serde(default = "one")]
    pub replicas: u32,
    /// The HTTP health check that decides readiness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// More services in the same deployment (a database, a cache).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sidecars: Vec<Sidecar>,
    /// Where and at what price it may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// DNS records kept for the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsSettings>,
}

pub(crate) fn one() -> u32 {
    1
}

/// Checks a replica count.
pub(crate) fn check_replicas(n: u32, at: &FieldPath, p: &mut Problems) {
    if !(1..=100).contains(&n) {
        p.add(at, format!("{n} replicas: expected 1 to 100"));
    }
}

impl AgentSpec {
    /// Whether the main port is served over the provider's HTTP ingress.
    pub fn serves_http(&self) -> bool {
        self.expose.as_ref().and_then(|e| e.http).unwrap_or(true) && self.port.is_some()
    }
}

impl Validate for AgentSpec {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        check_image(&self.image, &at.key("image"), p);
        validate_env(&self.env, &at.key("env"), p);
        match self.port {
            Some(0) => p.add(&at.key("port"), "0 is not a port: expected 1 to 65535"),
            None if self.health_check.is_some() => p.add(
                at,
                "missing `port`: a health check needs the port the container serves HTTP on",
            ),
            None if self
                .expose
                .as_ref()
                .is_some_and(|e| e.http == Some(true) || !e.hostnames.is_empty()) =>
            {
                p.add(
                    at,
                    "missing `port`: HTTP exposure needs the port the container serves on",
                )
            }
            _ => {}
        }
        self.expose.validate(&at.key("expose"), p);
        self.resources.validate(&at.key("resources"), p);
        check_replicas(self.replicas, &at.key("replicas"), p);
        self.health_check.validate(&at.key("healthCheck"), p);
        validate_sidecars(&self.sidecars, "app", &at.key("sidecars"), p);
        self.placement.validate(&at.key("placement"), p);
        self.dns.validate(&at.key("dns"), p);
    }
}
