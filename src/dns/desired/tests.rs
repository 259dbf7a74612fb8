use serde_json::{json, Value};

use super::*;

const Z: &str = "example.com";

fn res(kind: &str, name: &str, spec: Value, status: Value) -> Resource {
    serde_json::from_value(json!({
        "apiVersion": "alternatefutures.ai/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "project": "p", "uid": name, "generation": 1,
                     "resourceVersion": 1, "createdAt": "2026-01-01T00:00:00Z"},
        "spec": spec,
        "status": status,
    }))
    .unwrap()
}

fn agent(name: &str, hosts: &[&str], status: Value) -> Resource {
    res(
        "Agent",
        name,
        json!({"image": "x/y:1", "resources": {"cpu": "1", "memory": "1Gi"}, "dns": {"hostnames": hosts}}),
        status,
    )
}

fn lease(provider: &str, healthy: bool, uris: &[&str]) -> Value {
    json!({"dseq": "1", "gseq": 1, "oseq": 1, "provider": provider, "state": "active",
           "price": "1uact", "healthy": healthy, "available": healthy, "uris": uris})
}

#[test]
fn hostnames_point_at_the_ingress_host_of_a_healthy_lease() {
    let st = json!({"leases": [lease("p1", true, &["api.example.com", "abc.ingress.p1.devnet"])]});
    let d = desired(
        Z,
        300,
        &[agent("api", &["api.example.com", "api.other.org"], st)],
    );
    assert_eq!(
        d.rrsets,
        vec![Rrset::new(
            "api.example.com",
            RecordType::Cname,
            300,
            ["abc.ingress.p1.devnet".to_string()]
        )]
    );
    assert_eq!(
        d.sources.get("api.example.com").map(String::as_str),
        Some("agent/api")
    );
    assert!(d.held.is_empty());
}

#[test]
fn leased_ips_give_a_and_aaaa_records() {
    let st = json!({
        "leases": [lease("p1", true, &["abc.ingress.p1.devnet"])],
        "ips": ["web 192.0.2.7:443/TCP", "web 192.0.2.7:80/TCP", "web [2001:db8::7]:443/TCP"],
    });
    let d = desired(Z, 60, &[agent("api", &["api.example.com"], st)]);
    assert_eq!(
        d.rrsets,
        vec![
            Rrset::new(
                "api.example.com",
                RecordType::A,
                60,
                ["192.0.2.7".to_string()]
            ),
            Rrset::new(
                "api.example.com",
                RecordType::Aaaa,
                60,
                ["2001:db8::7".to_string()]
            ),
        ]
    );
}

#[test]
fn the_apex_becomes_an_alias_not_a_cname() {
    let st = json!({"leases": [lease("p1", true, &["abc.ingress.p1.devnet"])]});
    let d = desired(Z, 300, &[agent("api", &["example.com"], st)]);
    assert!(d.rrsets.is_empty());
    assert_eq!(
        d.aliases,
        vec![(
            "example.com".to_string(),
            "abc.ingress.p1.devnet".to_string()
        )]
    );
}

#[test]
fn without_a_healthy_lease_the_names_are_held() {
    for st in [
        json!({}),
        json!({"leases": [lease("p1", false, &["abc.ingress.p1.devnet"])]}),
        json!({"leases": [{"dseq": "1", "gseq": 1, "oseq": 1, "provider": "p1", "state": "closed", "price": "1uact", "healthy": true, "uris": ["abc.ingress.p1.devnet"]}]}),
    ] {
        let d = desired(Z, 300, &[agent("api", &["api.example.com"], st)]);
        assert!(d.rrsets.is_empty());
        assert_eq!(
            d.held,
            ["api.example.com".to_string()].into_iter().collect()
        );
    }
}

#[test]
fn a_replacement_moves_the_record_once_the_new_lease_is_healthy() {
    let old = json!({"leases": [lease("p1", true, &["abc.ingress.p1.devnet"])]});
    let new = json!({"leases": [lease("p1", false, &["abc.ingress.p1.devnet"]), lease("p2", true, &["xyz.ingress.p2.devnet"])]});
    let d0 = desired(Z, 300, &[agent("api", &["api.example.com"], old)]);
    let d1 = desired(Z, 300, &[agent("api", &["api.example.com"], new)]);
    assert_eq!(d0.rrsets[0].values, vec!["abc.ingress.p1.devnet"]);
    assert_eq!(d1.rrsets[0].values, vec!["xyz.ingress.p2.devnet"]);
}

#[test]
fn sites_get_dnslink_and_their_gateway() {
    let shared = res(
        "Site",
        "docs",
        json!({"source": {"ipfs": "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"}, "domains": ["docs.example.com"],
               "gateway": {"mode": "shared", "url": "https://ipfs.example.net/"}}),
        json!({}),
    );
    let d = desired(Z, 300, &[shared]);
    assert_eq!(
        d.rrsets,
        vec![
            Rrset::new(
                "_dnslink.docs.example.com",
                RecordType::Txt,
                300,
                ["dnslink=/ipfs/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG".to_string()]
            ),
            Rrset::new(
                "docs.example.com",
                RecordType::Cname,
                300,
                ["ipfs.example.net".to_string()]
            ),
        ]
    );
    let dedicated = res(
        "Site",
        "docs",
        json!({"source": {"ipfs": "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG"}, "domains": ["docs.example.com"],
               "gateway": {"mode": "dedicated", "image": "ipfs/kubo:v0.32.1"}}),
        json!({}),
    );
    let d = desired(Z, 300, &[dedicated]);
    assert_eq!(
        d.rrsets.len(),
        1,
        "the TXT, and the domain held until the gateway is healthy"
    );
    assert!(d.held.contains("docs.example.com"));
}

#[test]
fn a_runtimes_wildcard_points_at_the_proxy_when_one_serves() {
    let rt = res(
        "FunctionRuntime",
        "rt",
        json!({"image": "x/rt:1", "port": 8080, "nodes": {"count": 1}, "resources": {"cpu": "1", "memory": "1Gi"},
               "wildcardDomain": "*.fn.example.com"}),
        json!({"leases": [lease("p1", true, &["rt.ingress.p1.devnet"])]}),
    );
    let d = desired(Z, 300, std::slice::from_ref(&rt));
    assert_eq!(
        d.rrsets,
        vec![Rrset::new(
            "*.fn.example.com",
            RecordType::Cname,
            300,
            ["rt.ingress.p1.devnet".to_string()]
        )]
    );
    let proxy = res(
        "Proxy",
        "edge",
        json!({"image": "vicanso/pingap:0.10.2", "resources": {"cpu": "1", "memory": "1Gi"}, "acme": {"email": "a@example.com", "dnsZone": "z"}}),
        json!({"leases": [lease("p2", true, &["px.ingress.p2.devnet"])], "ips": ["proxy 192.0.2.80:443/TCP"]}),
    );
    let d = desired(Z, 300, &[rt, proxy]);
    assert_eq!(
        d.rrsets,
        vec![Rrset::new(
            "*.fn.example.com",
            RecordType::A,
            300,
            ["192.0.2.80".to_string()]
        )]
    );
}

#[test]
fn names_outside_the_zone_and_resources_being_deleted_want_nothing() {
    let st = json!({"leases": [lease("p1", true, &["abc.ingress.p1.devnet"])]});
    let mut gone = agent("gone", &["gone.example.com"], st.clone());
    gone.metadata.deletion_requested_at = Some("2026-01-01T00:00:00Z".into());
    let d = desired(Z, 300, &[agent("x", &["x.example.org"], st), gone]);
    assert_eq!(d, Desired::default());
}

#[test]
fn hosts_and_ips_are_read_in_every_form() {
    assert_eq!(
        host_of("https://Host.Example.net:8443/path"),
        "host.example.net"
    );
    assert_eq!(host_of("host.example.net"), "host.example.net");
    assert_eq!(host_of("host.example.net:80"), "host.example.net");
    assert_eq!(
        ip_of("web 192.0.2.1:80/TCP"),
        Some("192.0.2.1".parse().unwrap())
    );
    assert_eq!(ip_of("192.0.2.1"), Some("192.0.2.1".parse().unwrap()));
    assert_eq!(ip_of("web nonsense"), None);
}

fn proxy(spec_extra: Value, status: Value) -> Resource {
    let mut spec = json!({"image": "vicanso/pingap:0.10.2", "resources": {"cpu": "1", "memory": "1Gi"},
                          "acme": {"email": "a@example.com", "dnsZone": "example-com"}});
    if let (Value::Object(s), Value::Object(extra)) = (&mut spec, spec_extra) {
        s.extend(extra);
    }
    res("Proxy", "edge", spec, status)
}

#[test]
fn a_proxys_hostnames_point_at_its_dedicated_ip() {
    let st = json!({"leases": [lease("p2", true, &["px.ingress.p2.devnet"])], "ips": ["proxy 192.0.2.80:443/TCP"]});
    let p = proxy(
        json!({"dns": {"hostnames": ["edge.example.com", "www.other.org"]}}),
        st,
    );
    let d = desired(Z, 300, &[p]);
    assert_eq!(
        d.rrsets,
        vec![Rrset::new(
            "edge.example.com",
            RecordType::A,
            300,
            ["192.0.2.80".to_string()]
        )]
    );
    assert_eq!(
        d.sources.get("edge.example.com").map(String::as_str),
        Some("proxy/edge")
    );
    // Not leased yet: held.
    let d = desired(
        Z,
        300,
        &[proxy(
            json!({"dns": {"hostnames": ["edge.example.com"]}}),
            json!({}),
        )],
    );
    assert!(d.rrsets.is_empty() && d.held.contains("edge.example.com"));
}

#[test]
fn acme_challenges_go_to_the_zone_the_proxy_names_only() {
    // Pending challenges for a name, its wildcard (same record), another name, and a name
    // outside the zone; the proxy itself not leased yet (challenges do not wait for it).
    let st = json!({"acmeChallenges": [
        {"domain": "example.com", "value": "tok-apex"},
        {"domain": "*.example.com", "value": "tok-wild"},
        {"domain": "api.example.com", "value": "tok-api"},
        {"domain": "api.other.org", "value": "tok-other"},
    ]});
    let p = proxy(json!({}), st);
    let d = desired_for(Some("example-com"), Z, 300, std::slice::from_ref(&p));
    assert_eq!(
        d.rrsets,
        vec![
            Rrset::new(
                "_acme-challenge.api.example.com",
                RecordType::Txt,
                ACME_CHALLENGE_TTL,
                ["tok-api".to_string()]
            ),
            Rrset::new(
                "_acme-challenge.example.com",
                RecordType::Txt,
                ACME_CHALLENGE_TTL,
                ["tok-apex".to_string(), "tok-wild".to_string()]
            ),
        ]
    );
    assert_eq!(
        d.sources
            .get("_acme-challenge.example.com")
            .map(String::as_str),
        Some("proxy/edge")
    );
    // Another DnsZone of the same domain, or a zone with no resource name: nothing.
    assert!(
        desired_for(Some("other-zone"), Z, 300, std::slice::from_ref(&p))
            .rrsets
            .is_empty()
    );
    assert!(desired(Z, 300, std::slice::from_ref(&p)).rrsets.is_empty());
    // The challenges answered and cleared: nothing wanted any more.
    let done = proxy(json!({}), json!({}));
    assert!(desired_for(Some("example-com"), Z, 300, &[done])
        .rrsets
        .is_empty());
}
