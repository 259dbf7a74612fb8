//! Proxy: the platform's SSL reverse proxy (Pingap) on Akash. Its routes are derived from the
//! other resources' hostnames, so the spec holds none.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::common::{
    check_image, validate_env, ComputeResources, DnsSettings, EnvVar, HealthCheck, Placement,
};
use crate::spec::validate::{check_dns_label, Problems, Validate};
use crate::spec::yaml::FieldPath;

/// The SSL reverse proxy in front of every HTTP workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProxySpec {
    /// The proxy image, e.g. `vicanso/pingap:0.10.2`.
    pub image: String,
    /// Environment variables.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Compute resources.
    pub resources: ComputeResources,
    /// Serve ports 80 and 443 on a dedicated IP leased from the provider (an Akash leased-IP
    /// endpoint), so DNS can point at a stable address. Default true.
    #[serde(default = "yes")]
    pub dedicated_ip: bool,
    /// Where and at what price it may run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// Certificates from an ACME CA by DNS-01.
    pub acme: Acme,
    /// The admin/API port of the proxy (reached only by the operator). Default 3018.
    #[serde(default = "default_admin_port")]
    pub admin_port: u16,
    /// The health check of the proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Hostnames pointed at the proxy (its dedicated IP, else its provider's ingress) in the
    /// DnsZones the operator manages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsSettings>,
}

fn yes() -> bool {
    true
}
fn default_admin_port() -> u16 {
    3018
}

/// ACME settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Acme {
    /// The account email registered with the CA.
    pub email: String,
    /// The DnsZone (by name, same project) that answers DNS-01 challenges.
    pub dns_zone: String,
    /// The ACME directory URL; default: Let's Encrypt production.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
}

impl Validate for ProxySpec {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        check_image(&self.image, &at.key("image"), p);
        validate_env(&self.env, &at.key("env"), p);
        self.resources.validate(&at.key("resources"), p);
        self.placement.validate(&at.key("placement"), p);
        let ap = at.key("acme");
        let email_ok = self
            .acme
            .email
            .split_once('@')
            .is_some_and(|(u, d)| !u.is_empty() && d.contains('.') && !d.starts_with('.'));
        if !email_ok {
            p.add(
                &ap.key("email"),
                format!(
                    "`{}` is not an email address: expected e.g. `ops@example.com`",
                    self.acme.email
                ),
            );
        }
        check_dns_label(&self.acme.dns_zone, &ap.key("dnsZone"), p);
        if let Some(d) = &self.acme.directory {
            if !url::Url::parse(d).is_ok_and(|u| u.scheme() == "https") {
                p.add(&ap.key("directory"), format!("`{d}` is not an https URL"));
            }
        }
        if matches!(self.admin_port, 0 | 80 | 443) {
            p.add(
                &at.key("adminPort"),
                format!(
                    "{} cannot be the admin port: expected 1 to 65535, not 80 or 443",
                    self.admin_port
                ),
            );
        }
        self.health_check.validate(&at.key("healthCheck"), p);
        self.dns.validate(&at.key("dns"), p);
    }
}
