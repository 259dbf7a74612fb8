use super::gateway::check_group;
use super::*;
use crate::chain::Params;
use af_akash::sdl;

const SDL: &str = r#"
version: "2.0"
services:
  api:
    image: api:1
    expose:
      - port: 80
        to:
          - global: true
  db:
    image: db:1
    expose:
      - port: 5432
        as: 5432
        to:
          - global: true
profiles:
  compute:
    small:
      resources:
        cpu: {units: 0.25}
        memory: {size: 256Mi}
        storage: {size: 1Gi}
  placement:
    dc:
      pricing:
        small: {denom: uact, amount: 100}
deployment:
  api:
    dc: {profile: small, count: 2}
  db:
    dc: {profile: small, count: 1}
"#;

#[test]
fn genesis_is_deterministic_and_registers_everything() {
    let cfg = ProviderSetConfig {
        count: 3,
        seed: 5,
        ..ProviderSetConfig::default()
    };
    let mut a = Chain::new(Params::default());
    let ga = ProviderSet::genesis(&cfg, &mut a).unwrap();
    let mut b = Chain::new(Params::default());
    let gb = ProviderSet::genesis(&cfg, &mut b).unwrap();
    let ia = ga.infos();
    let ib = gb.infos();
    assert_eq!(ia.len(), 3);
    for (x, y) in ia.iter().zip(&ib) {
        assert_eq!(x.address, y.address);
        assert_eq!(x.attributes, y.attributes);
        assert_ne!(x.host_uri, y.host_uri, "each run binds its own ports");
    }
    assert_eq!(ga.auditor, auditor_wallet(5).address());
    for (i, info) in ia.iter().enumerate() {
        assert_eq!(info.name, format!("provider-{}", i + 1));
        let rec = &a.providers[&info.address];
        assert_eq!(rec.host_uri, info.host_uri);
        assert!(rec.attributes.iter().any(|(k, _)| k == "region"));
        assert!(a.balance(&info.address, "uakt") > 0);
        let cert = &a.certificates[&(info.address.clone(), info.cert_serial.clone())];
        let parsed = af_akash::certs::parse_pem(&cert.cert).unwrap();
        assert_eq!(parsed.subject_cn, info.address);
        assert!(parsed.server_auth);
        assert_eq!(
            a.audits
                .contains_key(&(info.address.clone(), ga.auditor.clone())),
            i % 2 == 0
        );
    }
    // Another seed, other keys.
    let mut c = Chain::new(Params::default());
    let gc = ProviderSet::genesis(
        &ProviderSetConfig {
            seed: 6,
            ..cfg.clone()
        },
        &mut c,
    )
    .unwrap();
    assert_ne!(gc.infos()[0].address, ia[0].address);
}

#[test]
fn manifest_group_checks() {
    let conv = sdl::convert(SDL).unwrap();
    let spec = &conv.groups[0];
    let group = &conv.manifest.0[0];
    check_group(group, spec).unwrap();

    let mut g = group.clone();
    g.services[0].count = 3;
    assert!(check_group(&g, spec)
        .unwrap_err()
        .to_string()
        .contains("replicas"));

    let mut g = group.clone();
    g.services[0].resources.id = 9;
    assert!(check_group(&g, spec).is_err());

    let mut g = group.clone();
    g.services[0].resources.cpu.as_mut().unwrap().units = af_akash::sdl::ResourceValue::new(999);
    assert!(check_group(&g, spec)
        .unwrap_err()
        .to_string()
        .contains("CPU"));

    let mut g = group.clone();
    g.services[0].resources.memory.as_mut().unwrap().quantity =
        af_akash::sdl::ResourceValue::new(1);
    assert!(check_group(&g, spec)
        .unwrap_err()
        .to_string()
        .contains("memory"));

    let mut g = group.clone();
    g.services[0].resources.storage[0].quantity = af_akash::sdl::ResourceValue::new(1);
    assert!(check_group(&g, spec)
        .unwrap_err()
        .to_string()
        .contains("storage"));

    // An extra global port changes the endpoints.
    let mut g = group.clone();
    let mut extra = g.services[1].expose[0].clone();
    extra.port = 6000;
    extra.external_port = 6000;
    g.services[1].expose.push(extra);
    assert!(check_group(&g, spec)
        .unwrap_err()
        .to_string()
        .contains("endpoints"));

    // Unsorted services.
    let mut g = group.clone();
    g.services.swap(0, 1);
    assert!(check_group(&g, spec).is_err());
}

#[test]
fn price_model_and_usage() {
    let conv = sdl::convert(SDL).unwrap();
    let spec = &conv.groups[0];
    let u = Usage::of_group(spec);
    assert_eq!(u.cpu_milli, 750);
    assert_eq!(u.memory, 3 * 256 * (1 << 20));
    let mut rng = model::Rng::new([1; 32]);
    let m = PriceModel::for_provider(&mut rng);
    let p = m.price(spec);
    assert!(p > 0);
    assert_eq!(p % (crate::chain::DEC_SCALE / 1_000_000), 0);
    // Well under the SDL's 100 uact × 3.
    assert!(p < 300 * crate::chain::DEC_SCALE);
    let cap = Capacity {
        cpu_milli: 1000,
        memory: 1 << 30,
        storage: 10 << 30,
        gpu: 0,
        ips: 0,
    };
    assert!(cap.fits(&Usage::default(), &u));
    assert!(!cap.fits(&u, &u));
}

#[test]
fn faults_parse_from_json() {
    let f: ProviderFault =
        serde_json::from_str(r#"{"fault":"bid_price","multiplier":2.5}"#).unwrap();
    assert_eq!(
        f,
        ProviderFault::BidPrice {
            multiplier: Some(2.5),
            amount: None
        }
    );
    let f: ProviderFault =
        serde_json::from_str(r#"{"fault":"close_lease","dseq":5,"reason":10001}"#).unwrap();
    assert_eq!(
        f,
        ProviderFault::CloseLease {
            dseq: 5,
            gseq: None,
            oseq: None,
            reason: 10001
        }
    );
    let f: ProviderFault = serde_json::from_str(r#"{"fault":"close_lease","dseq":5}"#).unwrap();
    assert!(matches!(f, ProviderFault::CloseLease { reason: 10000, .. }));
    let f: ProviderFault = serde_json::from_str(r#"{"fault":"slow","seconds":1.5}"#).unwrap();
    assert_eq!(
        f,
        ProviderFault::Slow {
            delay_ms: None,
            seconds: Some(1.5)
        }
    );
    // The names `af-operator devnet ctl provider` passes through.
    let f: ProviderFault = serde_json::from_str(r#"{"fault":"no-bids"}"#).unwrap();
    assert_eq!(f, ProviderFault::StopBidding);
    let f: ProviderFault = serde_json::from_str(r#"{"fault":"bid-price","price":100}"#).unwrap();
    assert_eq!(
        f,
        ProviderFault::BidPrice {
            multiplier: None,
            amount: Some(100.0)
        }
    );
    assert!(serde_json::from_str::<ProviderFault>(r#"{"fault":"melt"}"#).is_err());
    let faults = Faults {
        unhealthy: vec![(Some(3), None), (None, Some("db".into()))],
        ..Faults::default()
    };
    assert!(faults.is_unhealthy(3, "api"));
    assert!(faults.is_unhealthy(4, "db"));
    assert!(!faults.is_unhealthy(4, "api"));
}

#[test]
fn requirements_match_attributes_and_auditors() {
    let cfg = ProviderSetConfig {
        count: 2,
        seed: 9,
        ..ProviderSetConfig::default()
    };
    let mut chain = Chain::new(Params::default());
    let g = ProviderSet::genesis(&cfg, &mut chain).unwrap();
    let infos = g.infos();
    let mut spec = sdl::convert(SDL).unwrap().groups[0].clone();
    let check = |spec: &af_akash::sdl::GroupSpec, i: usize| {
        model::matches(&chain, &infos[i].address, &infos[i].attributes, spec)
    };
    assert!(check(&spec, 0) && check(&spec, 1));
    spec.requirements.attributes = vec![af_akash::sdl::Attribute::new("tier", "premium")];
    assert!(check(&spec, 0));
    assert!(!check(&spec, 1));
    spec.requirements.attributes.clear();
    spec.requirements.signed_by.all_of = vec![g.auditor.clone()];
    assert!(check(&spec, 0));
    assert!(!check(&spec, 1));
    spec.requirements.signed_by.all_of.clear();
    spec.requirements.signed_by.any_of = vec!["akash1nobody".into()];
    assert!(!check(&spec, 0));
}
