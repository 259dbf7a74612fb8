//! DnsZone: a DNS zone whose records the operator manages.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::common::SecretRef;
use crate::spec::validate::{check_dns_label, check_hostname, check_unique, Problems, Validate};
use crate::spec::yaml::FieldPath;

/// A zone the operator keeps records in, on one provider (`provider`) or several at once
/// (`providers`, e.g. a primary and secondaries that are all written).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DnsZoneSpec {
    /// The zone's apex, e.g. `alternatefutures.ai`.
    pub zone: String,
    /// The DNS provider and its settings (the single-provider form); exactly one of `rfc2136`,
    /// `powerdns`, `cloudflare`, `google`, `desec`. Give this or `providers`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<DnsProviderSpec>,
    /// The secret holding `provider`'s credentials (API token, service-account JSON, or TSIG
    /// secret for RFC 2136).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretRef>,
    /// Every provider the zone is kept on; each is planned and written on its own, so one
    /// that is down leaves the others up to date.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub providers: Vec<ZoneProvider>,
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
    /// A plan that deletes more than this share of the zone's rrsets (in percent) is refused
    /// (`DnsPlanRefused`), as octoDNS does; 100 allows any. Default 30.
    #[serde(default = "default_max_delete")]
    pub max_delete_percent: u32,
}

/// One provider of a zone, in the `providers` list.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ZoneProvider {
    /// A name for status and plans, unique in the zone (a DNS-1123 label). Default: the
    /// provider's kind (`cloudflare`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Dynamic updates (RFC 2136).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfc2136: Option<Rfc2136>,
    /// The PowerDNS HTTP API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub powerdns: Option<PowerDns>,
    /// Cloudflare.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudflare: Option<Cloudflare>,
    /// Google Cloud DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google: Option<GoogleCloudDns>,
    /// deSEC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desec: Option<Desec>,
    /// The secret holding this provider's credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_ref: Option<SecretRef>,
}

impl ZoneProvider {
    /// The provider settings given (every one, so validation can refuse more than one).
    fn given(&self) -> Vec<DnsProviderSpec> {
        let mut v = Vec::new();
        if let Some(x) = &self.rfc2136 {
            v.push(DnsProviderSpec::Rfc2136(x.clone()));
        }
        if let Some(x) = &self.powerdns {
            v.push(DnsProviderSpec::Powerdns(x.clone()));
        }
        if let Some(x) = &self.cloudflare {
            v.push(DnsProviderSpec::Cloudflare(x.clone()));
        }
        if let Some(x) = &self.google {
            v.push(DnsProviderSpec::Google(x.clone()));
        }
        if let Some(x) = &self.desec {
            v.push(DnsProviderSpec::Desec(x.clone()));
        }
        v
    }
}

/// One provider of a zone, resolved from either form of the spec.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedProvider {
    /// Its name in the zone.
    pub name: String,
    /// Its settings.
    pub spec: DnsProviderSpec,
    /// Its credentials.
    pub credentials_ref: Option<SecretRef>,
}

impl DnsZoneSpec {
    /// Every provider of the zone, in order (the single `provider` form gives one).
    pub fn resolved_providers(&self) -> Vec<ResolvedProvider> {
        let mut out = Vec::new();
        if let Some(p) = &self.provider {
            out.push(ResolvedProvider {
                name: p.kind().to_string(),
                spec: p.clone(),
                credentials_ref: self.credentials_ref.clone(),
            });
        }
        for p in &self.providers {
            if let Some(spec) = p.given().into_iter().next() {
                out.push(ResolvedProvider {
                    name: p.name.clone().unwrap_or_else(|| spec.kind().to_string()),
                    spec,
                    credentials_ref: p.credentials_ref.clone(),
                });
            }
        }
        out
    }
}

fn default_max_delete() -> u32 {
    30
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
pub enum DnsProviderSpec {
    /// Dynamic updates (RFC 2136) to an authoritative server, e.g. BIND or Knot.
    Rfc2136(Rfc2136),
    /// The PowerDNS Authoritative HTTP API.
    Powerdns(PowerDns),
    /// Cloudflare's API.
    Cloudflare(Cloudflare),
    /// Google Cloud DNS (the `changes` API, with a service account).
    Google(GoogleCloudDns),
    /// deSEC's API.
    Desec(Desec),
}

impl DnsProviderSpec {
    /// The provider's kind: `rfc2136`, `powerdns`, `cloudflare`, `google`, `desec`.
    pub fn kind(&self) -> &'static str {
        match self {
            DnsProviderSpec::Rfc2136(_) => "rfc2136",
            DnsProviderSpec::Powerdns(_) => "powerdns",
            DnsProviderSpec::Cloudflare(_) => "cloudflare",
            DnsProviderSpec::Google(_) => "google",
            DnsProviderSpec::Desec(_) => "desec",
        }
    }
}

/// Google Cloud DNS settings; the credentials are a service account's JSON key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GoogleCloudDns {
    /// The Google Cloud project.
    pub project: String,
    /// The managed zone's name (not its DNS name), e.g. `alternatefutures-ai`.
    pub managed_zone: String,
    /// The API's base URL. Default `https://dns.googleapis.com/dns/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
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
    /// The API's base URL. Default `https://api.cloudflare.com/client/v4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
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
        match (&self.provider, self.providers.is_empty()) {
            (None, true) => p.add(
                at,
                "missing `provider` (or `providers`): one of `rfc2136`, `powerdns`, `cloudflare`, `google`, `desec`",
            ),
            (Some(_), false) => p.add(
                &at.key("providers"),
                "give `provider` or `providers`, not both",
            ),
            _ => {}
        }
        if let Some(prov) = &self.provider {
            let needs = validate_provider(prov, &at.key("provider").key(prov.kind()), p);
            check_credentials(
                self.credentials_ref.as_ref(),
                needs,
                &at.key("credentialsRef"),
                at,
                p,
            );
        } else if let Some(r) = &self.credentials_ref {
            if !self.providers.is_empty() {
                p.add(
                    &at.key("credentialsRef"),
                    "with `providers`, each provider has its own `credentialsRef`",
                );
            }
            r.validate(&at.key("credentialsRef"), p);
        }
        let lp = at.key("providers");
        let mut names = Vec::new();
        for (i, zp) in self.providers.iter().enumerate() {
            let ip = lp.index(i);
            let given = zp.given();
            match given.as_slice() {
                [] => p.add(
                    &ip,
                    "missing provider settings: one of `rfc2136`, `powerdns`, `cloudflare`, `google`, `desec`",
                ),
                [one] => {
                    let needs = validate_provider(one, &ip.key(one.kind()), p);
                    check_credentials(zp.credentials_ref.as_ref(), needs, &ip.key("credentialsRef"), &ip, p);
                }
                more => p.add(
                    &ip,
                    format!(
                        "{} provider settings given ({}): each entry has exactly one",
                        more.len(),
                        more.iter().map(|g| g.kind()).collect::<Vec<_>>().join(", ")
                    ),
                ),
            }
            if let Some(n) = &zp.name {
                check_dns_label(n, &ip.key("name"), p);
            }
            let name = zp
                .name
                .clone()
                .or_else(|| given.first().map(|g| g.kind().to_string()))
                .unwrap_or_default();
            names.push((ip.key("name"), name));
        }
        check_unique(
            names.iter().map(|(path, n)| (path.clone(), n.as_str())),
            "provider name (two providers of one kind need a `name` each)",
            p,
        );
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
        if self.max_delete_percent > 100 {
            p.add(
                &at.key("maxDeletePercent"),
                format!("{}: expected 0 to 100", self.max_delete_percent),
            );
        }
    }
}

fn check_credentials(
    r: Option<&SecretRef>,
    needs: bool,
    rp: &FieldPath,
    at: &FieldPath,
    p: &mut Problems,
) {
    match r {
        Some(r) => r.validate(rp, p),
        None if needs => p.add(
            at,
            "missing `credentialsRef`: this provider needs credentials from a SecretStore (`{store, key}`)",
        ),
        None => {}
    }
}

fn check_url(u: &str, https_only: bool, at: &FieldPath, p: &mut Problems) {
    // Tokens travel in headers: plain http only to this machine where https is required.
    let ok = url::Url::parse(u).is_ok_and(|u| {
        let local = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        u.scheme() == "https" || (u.scheme() == "http" && (!https_only || local))
    });
    if !ok {
        let what = if https_only {
            "an https URL (or http to 127.0.0.1)"
        } else {
            "an http or https URL"
        };
        p.add(at, format!("`{u}` is not {what}"));
    }
}

/// Validates one provider's settings at `pp` (its kind's key); whether it needs credentials.
fn validate_provider(prov: &DnsProviderSpec, pp: &FieldPath, p: &mut Problems) -> bool {
    match prov {
        DnsProviderSpec::Rfc2136(r) => {
            if r.server.is_empty() || r.server.contains(['/', ' ']) {
                p.add(
                    &pp.key("server"),
                    format!("`{}` is not a host or IP address", r.server),
                );
            }
            if r.port == 0 {
                p.add(&pp.key("port"), "0 is not a port: expected 1 to 65535");
            }
            if let Some(k) = &r.tsig_key_name {
                check_hostname(k, false, &pp.key("tsigKeyName"), p);
            }
            r.tsig_key_name.is_some()
        }
        DnsProviderSpec::Powerdns(d) => {
            check_url(&d.api_url, false, &pp.key("apiUrl"), p);
            true
        }
        DnsProviderSpec::Cloudflare(c) => {
            if let Some(u) = &c.api_url {
                check_url(u, false, &pp.key("apiUrl"), p);
            }
            true
        }
        DnsProviderSpec::Google(g) => {
            if g.project.is_empty() {
                p.add(
                    &pp.key("project"),
                    "empty: expected the Google Cloud project id",
                );
            }
            check_dns_label(&g.managed_zone, &pp.key("managedZone"), p);
            if let Some(u) = &g.api_url {
                check_url(u, false, &pp.key("apiUrl"), p);
            }
            true
        }
        DnsProviderSpec::Desec(d) => {
            if let Some(u) = &d.api_url {
                check_url(u, true, &pp.key("apiUrl"), p);
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> DnsZoneSpec {
        let v: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
        serde_json::from_value(v).unwrap()
    }

    fn problems(yaml: &str) -> Vec<String> {
        let spec = parse(yaml);
        let mut p = Problems::default();
        spec.validate(&FieldPath::root(), &mut p);
        p.0.into_iter().map(|e| e.message).collect()
    }

    #[test]
    fn single_and_list_forms_resolve_to_providers() {
        let one =
            parse("{zone: example.com, provider: {desec: {}}, credentialsRef: {store: s, key: K}}");
        assert_eq!(one.resolved_providers()[0].name, "desec");
        assert!(problems(
            "{zone: example.com, provider: {desec: {}}, credentialsRef: {store: s, key: K}}"
        )
        .is_empty());
        let many = "{zone: example.com, providers: [{cloudflare: {}, credentialsRef: {store: s, key: A}}, {name: sec, rfc2136: {server: 192.0.2.1}}]}";
        assert!(problems(many).is_empty(), "{:?}", problems(many));
        let z = parse(many);
        let names: Vec<String> = z.resolved_providers().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["cloudflare", "sec"]);
    }

    #[test]
    fn provider_lists_are_checked() {
        assert!(problems("{zone: example.com}")[0].contains("missing `provider`"));
        let both = "{zone: example.com, provider: {rfc2136: {server: a}}, providers: [{rfc2136: {server: b}}]}";
        assert!(problems(both).iter().any(|m| m.contains("not both")));
        let two = "{zone: example.com, providers: [{rfc2136: {server: a}, desec: {}}]}";
        assert!(problems(two).iter().any(|m| m.contains("exactly one")));
        let dup =
            "{zone: example.com, providers: [{rfc2136: {server: a}}, {rfc2136: {server: b}}]}";
        assert!(problems(dup)
            .iter()
            .any(|m| m.contains("duplicate provider name")));
        let pct = "{zone: example.com, provider: {rfc2136: {server: a}}, maxDeletePercent: 101}";
        assert!(problems(pct).iter().any(|m| m.contains("0 to 100")));
    }
}
