//! SecretStore: the secrets service (Infisical) on Akash, reached directly, not behind the
//! proxy.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::common::{
    check_image, validate_env, validate_sidecars, ComputeResources, DnsSettings, EnvVar,
    HealthCheck, Placement, Sidecar,
};
use crate::spec::validate::{Problems, Validate};
use crate::spec::yaml::FieldPath;

/// The secrets service with its database and cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretStoreSpec {
    /// The service image, e.g. `infisical/infisical:v0.90.1-postgres`.
    pub image: String,
    /// The port the service serves HTTP on. Default 8080.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Environment variables (its own credentials come from secret references).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Compute resources, persistent volumes included.
    pub resources: ComputeResources,
    /// Its database and cache, in the same deployment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sidecars: Vec<Sidecar>,
    /// Where and at what price it may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// Hostnames pointed straight at the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsSettings>,
    /// The health check of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
}

fn default_port() -> u16 {
    8080
}

impl Validate for SecretStoreSpec {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        check_image(&self.image, &at.key("image"), p);
        if self.port == 0 {
            p.add(&at.key("port"), "0 is not a port: expected 1 to 65535");
        }
        validate_env(&self.env, &at.key("env"), p);
        self.resources.validate(&at.key("resources"), p);
        validate_sidecars(&self.sidecars, "secrets", &at.key("sidecars"), p);
        self.placement.validate(&at.key("placement"), p);
        self.dns.validate(&at.key("dns"), p);
        self.health_check.validate(&at.key("healthCheck"), p);
    }
}
