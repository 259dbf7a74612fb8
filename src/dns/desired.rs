//! The records the running resources want in a zone, from their specs and typed statuses.
//! Pure: the reconciler reads the store and resolves the aliases this asks for.
//!
//! - Agent and SecretStore `dns.hostnames`: A/AAAA to the leased IPs when the workload has
//!   some, else a CNAME to the provider's ingress hostname of a healthy lease, else (at the
//!   zone apex, where a CNAME cannot stand) an alias the reconciler resolves to A/AAAA.
//! - Proxy `dns.hostnames`: the same, at the proxy (its dedicated IP when leased).
//! - A Proxy's pending ACME DNS-01 challenges (its status `acmeChallenges`, written by the
//!   ACME client): `_acme-challenge.<domain>` TXT in the zone its `acme.dnsZone` names.
//! - FunctionRuntime `wildcardDomain`: the same, pointing at the project's Proxy when one
//!   serves, else at the runtime's own nodes.
//! - Site `domains`: `_dnslink.<domain>` TXT `dnslink=/ipfs/<cid>` (or `/arweave/<tx>`), and
//!   the domain pointed at its gateway (its dedicated gateway's lease, or the shared
//!   gateway's host).
//!
//! Only healthy, active leases count. A resource that has none (starting, or replaced and
//! not healthy yet) asks for its names to be *held*: whatever we wrote there stays, so
//! blue/green and re-placement move a record only once the new lease is healthy.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use crate::spec::akash_status::AkashStatus;
use crate::spec::{Kind, Resource, Spec};

use super::record::{canonical_name, in_zone, RecordType, Rrset};

/// What the resources want in one zone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// Rrsets wanted.
    pub rrsets: Vec<Rrset>,
    /// Names whose records stay as they are (the resource has no healthy lease now).
    pub held: BTreeSet<String>,
    /// Names to point at the addresses of a host (apex names: no CNAME there).
    pub aliases: Vec<(String, String)>,
    /// Which resource wants each name (`kind/name`), for plans and events.
    pub sources: BTreeMap<String, String>,
}

/// Where a workload is reached, from its status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// Leased IPs.
    pub ips: Vec<IpAddr>,
    /// The provider's ingress hostname.
    pub host: Option<String>,
}

impl Target {
    fn is_empty(&self) -> bool {
        self.ips.is_empty() && self.host.is_none()
    }
}

/// An IP of an `ips` entry of the status (`service ip:port/proto`).
fn ip_of(entry: &str) -> Option<IpAddr> {
    let addr = entry.split_whitespace().last()?;
    let addr = addr.split('/').next()?;
    addr.parse::<SocketAddr>()
        .map(|s| s.ip())
        .or_else(|_| addr.parse::<IpAddr>())
        .ok()
}

/// A URI's host (`host`, `host:port` or `scheme://host[:port]/…`).
fn host_of(uri: &str) -> String {
    let s = uri.split("://").last().unwrap_or(uri);
    let s = s.split('/').next().unwrap_or(s);
    let s = s.rsplit_once(':').map(|(h, _)| h).unwrap_or(s);
    canonical_name(s)
}

/// Where the healthy leases of `status` serve, ignoring `own` hostnames (an ingress accepts
/// those too, but they are the names being pointed, not targets).
pub fn target_of(status: &AkashStatus, own: &[String]) -> Target {
    let healthy: Vec<_> = status
        .leases
        .iter()
        .filter(|l| l.healthy && l.state == "active")
        .collect();
    if healthy.is_empty() {
        return Target::default();
    }
    let mut ips: Vec<IpAddr> = status.ips.iter().filter_map(|e| ip_of(e)).collect();
    ips.sort();
    ips.dedup();
    let own: BTreeSet<String> = own.iter().map(|h| canonical_name(h)).collect();
    let mut hosts: Vec<String> = healthy
        .iter()
        .flat_map(|l| l.uris.iter().map(|u| host_of(u)))
        .filter(|h| !h.is_empty() && !own.contains(h))
        .collect();
    hosts.sort();
    hosts.dedup();
    let host = hosts
        .iter()
        .find(|h| h.contains(".ingress."))
        .or(hosts.first())
        .cloned();
    Target { ips, host }
}

impl Desired {
    /// A TXT rrset per challenged name, `_acme-challenge.DOMAIN` (a wildcard's too), holding
    /// every pending value for it.
    fn acme_challenges(&mut self, zone: &str, status: &AkashStatus, source: &str) {
        let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for c in &status.acme_challenges {
            let domain = canonical_name(c.domain.trim_start_matches("*."));
            let name = format!("_acme-challenge.{domain}");
            if in_zone(&name, zone) {
                by_name.entry(name).or_default().push(c.value.clone());
            }
        }
        for (name, values) in by_name {
            self.sources.insert(name.clone(), source.to_string());
            self.rrsets.push(Rrset::new(
                &name,
                RecordType::Txt,
                ACME_CHALLENGE_TTL,
                values,
            ));
        }
    }

    fn point(&mut self, zone: &str, name: &str, target: &Target, ttl: u32, source: &str) {
        let name = canonical_name(name);
        if !in_zone(&name, zone) {
            return;
        }
        self.sources.insert(name.clone(), source.to_string());
        if target.is_empty() {
            self.held.insert(name);
            return;
        }
        if !target.ips.is_empty() {
            let v4: Vec<String> = target
                .ips
                .iter()
                .filter(|i| i.is_ipv4())
                .map(|i| i.to_string())
                .collect();
            let v6: Vec<String> = target
                .ips
                .iter()
                .filter(|i| i.is_ipv6())
                .map(|i| i.to_string())
                .collect();
            if !v4.is_empty() {
                self.rrsets.push(Rrset::new(&name, RecordType::A, ttl, v4));
            }
            if !v6.is_empty() {
                self.rrsets
                    .push(Rrset::new(&name, RecordType::Aaaa, ttl, v6));
            }
        } else if let Some(host) = &target.host {
            if name == zone {
                self.aliases.push((name, host.clone()));
            } else {
                self.rrsets
                    .push(Rrset::new(&name, RecordType::Cname, ttl, [host.clone()]));
            }
        }
    }
}

/// TTL of the `_acme-challenge` records: short, as they live minutes.
pub const ACME_CHALLENGE_TTL: u32 = 60;

/// What `resources` (every resource of the zone's project) want in `zone`, for a zone that no
/// Proxy names for ACME (see [`desired_for`]).
pub fn desired(zone: &str, ttl: u32, resources: &[Resource]) -> Desired {
    desired_for(None, zone, ttl, resources)
}

/// What `resources` (every resource of the zone's project) want in `zone`, the domain of the
/// DnsZone resource named `zone_resource`: a Proxy whose `acme.dnsZone` names it gets its
/// pending challenges published there.
pub fn desired_for(
    zone_resource: Option<&str>,
    zone: &str,
    ttl: u32,
    resources: &[Resource],
) -> Desired {
    let zone = canonical_name(zone);
    let mut out = Desired::default();
    let live = |r: &&Resource| r.metadata.deletion_requested_at.is_none();
    // The project's Proxy, when one serves: the runtimes' wildcard points there.
    let proxy_target = resources
        .iter()
        .filter(live)
        .filter(|r| r.kind == Kind::Proxy)
        .map(|r| target_of(&AkashStatus::from_status(&r.status), &[]))
        .find(|t| !t.is_empty());
    for r in resources.iter().filter(live) {
        let Ok(spec) = r.typed_spec() else { continue };
        let status = AkashStatus::from_status(&r.status);
        let source = format!("{}/{}", r.kind.singular(), r.metadata.name);
        match spec {
            Spec::Agent(a) => {
                let hosts = a.dns.map(|d| d.hostnames).unwrap_or_default();
                let t = target_of(&status, &hosts);
                for h in &hosts {
                    out.point(&zone, h, &t, ttl, &source);
                }
            }
            Spec::SecretStore(s) => {
                let hosts = s.dns.map(|d| d.hostnames).unwrap_or_default();
                let t = target_of(&status, &hosts);
                for h in &hosts {
                    out.point(&zone, h, &t, ttl, &source);
                }
            }
            Spec::FunctionRuntime(f) => {
                let t = proxy_target
                    .clone()
                    .unwrap_or_else(|| target_of(&status, &[]));
                out.point(&zone, &f.wildcard_domain, &t, ttl, &source);
            }
            Spec::Site(s) => {
                let link = match (&s.source.ipfs, &s.source.arweave) {
                    (Some(cid), _) => Some(format!("dnslink=/ipfs/{cid}")),
                    (None, Some(tx)) => Some(format!("dnslink=/arweave/{tx}")),
                    _ => None,
                };
                let dedicated = s
                    .gateway
                    .as_ref()
                    .is_some_and(|g| g.mode == crate::spec::kinds::site::GatewayMode::Dedicated);
                let t = if dedicated {
                    target_of(&status, &s.domains)
                } else {
                    Target {
                        ips: Vec::new(),
                        host: s
                            .gateway
                            .as_ref()
                            .and_then(|g| g.url.as_deref())
                            .map(host_of),
                    }
                };
                for d in &s.domains {
                    let name = canonical_name(d);
                    if let Some(link) = &link {
                        let txt = format!("_dnslink.{name}");
                        if in_zone(&txt, &zone) {
                            out.rrsets
                                .push(Rrset::new(&txt, RecordType::Txt, ttl, [link.clone()]));
                            out.sources.insert(txt, source.clone());
                        }
                    }
                    if !t.is_empty() || dedicated {
                        out.point(&zone, &name, &t, ttl, &source);
                    }
                }
            }
            Spec::Proxy(p) => {
                let hosts = p.dns.map(|d| d.hostnames).unwrap_or_default();
                let t = target_of(&status, &hosts);
                for h in &hosts {
                    out.point(&zone, h, &t, ttl, &source);
                }
                if zone_resource.is_some_and(|z| z == p.acme.dns_zone) {
                    out.acme_challenges(&zone, &status, &source);
                }
            }
            Spec::Function(_) | Spec::DnsZone(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests;
