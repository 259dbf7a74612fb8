//! DnsZone: a DNS zone whose records the operator manages.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::common::SecretRef;
use crate::spec::validate::{check_hostname, Problems, Validate};
use crate::spec::yaml::FieldPath;

/// A zone the operator keeps records in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DnsZoneSpec {
    /// The zone's apex, e.g. `alternatefutures.ai`.
    pub zone: String,
    /// The DNS provider and its settings; exactly one of `rfc2136`, `powerdns`, `cloudflare`, `desec`.
    pub provider: DnsProvider,
    /// The secret holding the provider's credentials (API token, or TSIG secret for RFC 2136).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretRef>,
    /// Marks the records this operator owns (TXT ownership registry); records of other owners
    /// are never touched. Default `af-operator`.
    #[serde(default = "default_owner")]
    pub owner_id: String,
    /// `sync` deletes owned records that are no longer wanted; `upsert-only` never deletes.
    #[serde(default)]
    pub policy: DnsPolicy,
    /// TTL of the records, in seconds (30 to 86400). Default 300.
    #[serde(default = "default_ttl")]
    pub ttl: u32,
}

fn default_owner() -> String {
    "af-operator".into()
}
fn default_ttl() -> u32 {
    300
}

/// What happens to owned records that are no longer wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DnsPolicy {
    /// Create, update and delete owned records.
    #[default]
    Sync,
    /// Create and update, never delete.
    UpsertOnly,
}

/// A DNS provider with its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum DnsProvider {
    /// Dynamic updates (RFC 2136) to an authoritative server, e.g. BIND or Knot.
    Rfc2136(Rfc2136),
    /// The PowerDNS Authoritative HTTP API.
    Powerdns(PowerDns),
    /// Cloudflare's API.
    Cloudflare(Cloudflare),
    /// deSEC's API.
    Desec(Desec),
}

/// RFC 2136 settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rfc2136 {
    /// The primary server's host or IP.
    pub server: String,
    /// Its port. Default 53.
    #[serde(default = "default_dns_port")]
    pub port: u16,
    /// The TSIG key's name; its secret comes from `credentialsRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsig_key_name: Option<String>,
    /// The TSIG algorithm. Default `hmac-sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tsig_algorithm: Option<TsigAlgorithm>,
}

fn default_dns_port() -> u16 {
    53
}

/// TSIG algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TsigAlgorithm {
    /// HMAC-SHA256.
    HmacSha256,
    /// HMAC-SHA384.
    HmacSha384,
    /// HMAC-SHA512.
    HmacSha512,
}

/// PowerDNS settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PowerDns {
    /// The API's base URL, e.g. `http://127.0.0.1:8081`.
    pub api_url: String,
    /// The server id. Default `localhost`.
    #[serde(default = "default_server_id")]
    pub server_id: String,
}

fn default_server_id() -> String {
    "localhost".into()
}

/// Cloudflare settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Cloudflare {
    /// The zone id; looked up by name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    /// Proxy records through Cloudflare.
    #[serde(default)]
    pub proxied: bool,
}

/// deSEC settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Desec {
    /// The API's base URL. Default `https://desec.io/api/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
}

impl Validate for DnsZoneSpec {
    fn validate(&self, at: &FieldPath, p: &mut Problems) {
        check_hostname(&self.zone, false, &at.key("zone"), p);
        let pp = at.key("provider");
        let needs_credentials = match &self.provider {
            DnsProvider::Rfc2136(r) => {
                let rp = pp.key("rfc2136");
                if r.server.is_empty() || r.server.contains(['/', ' ']) {
                    p.add(
                        &rp.key("server"),
                        format!("`{}` is not a host or IP address", r.server),
                    );
                }
                if r.port == 0 {
                    p.add(&rp.key("port"), "0 is not a port: expected 1 to 65535");
                }
                if let Some(k) = &r.tsig_key_name {
                    check_hostname(k, false, &rp.key("tsigKeyName"), p);
                }
                r.tsig_key_name.is_some()
            }
            DnsProvider::Powerdns(d) => {
                if !url::Url::parse(&d.api_url)
                    .is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
                {
                    p.add(
                        &pp.key("powerdns").key("apiUrl"),
                        format!("`{}` is not an http or https URL", d.api_url),
                    );
                }
                true
            }
            DnsProvider::Cloudflare(_) => true,
            DnsProvider::Desec(d) => {
                if let Some(u) = &d.api_url {
                    if !url::Url::parse(u).is_ok_and(|u| u.scheme() == "https") {
                        p.add(
                            &pp.key("desec").key("apiUrl"),
                            format!("`{u}` is not an https URL"),
                        );
                    }
                }
                true
            }
        };
        match &self.credentials_ref {
            Some(r) => r.validate(&at.key("credentialsRef"), p),
            None if needs_credentials => p.add(
                at,
                "missing `credentialsRef`: this provider needs credentials from a SecretStore (`{store, key}`)",
            ),
            None => {}
        }
        let ok = !self.owner_id.is_empty()
            && self.owner_id.len() <= 63
            && self
                .owner_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            p.add(
                &at.key("ownerId"),
                format!("`{}` is not an owner id: expected lowercase letters, digits and '-', at most 63", self.owner_id),
            );
        }
        if !(30..=86_400).contains(&self.ttl) {
            p.add(
                &at.key("ttl"),
                format!("{}: expected 30 to 86400 seconds", self.ttl),
            );
        }
    }
}
