//! Tests of SDL conversion: the chain-sdk Go fixtures, refused SDLs, units, encodings.

use std::path::PathBuf;

use prost::Message;
use serde_json::{json, Value};

use super::canonical::{canonical_json, write_go_float, write_str};
use super::*;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/akash/fixtures"
);

/// The shared fixtures folder; in CI its absence fails the test, elsewhere it is announced.
fn fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(FIXTURES);
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "SDL fixtures folder {FIXTURES} is missing (CI=true)"
    );
    eprintln!("NOTICE: SDL fixtures folder {FIXTURES} is missing; fixture test skipped");
    None
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

/// Sorts every `endpoints` array inside group specs, so they compare as multisets.
fn normalize_endpoints(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "endpoints" {
                    if let Value::Array(items) = child {
                        items.sort_by_key(|e| e.to_string());
                    }
                }
                normalize_endpoints(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_endpoints),
        _ => {}
    }
}

fn go_fixture_names(dir: &std::path::Path) -> Vec<String> {
    let mut names = Vec::new();
    for version in ["v2.0", "v2.1"] {
        let base = dir.join("chain-sdk/output-fixtures").join(version);
        let mut entries: Vec<String> = std::fs::read_dir(&base)
            .unwrap_or_else(|e| panic!("list {}: {e}", base.display()))
            .filter_map(|e| e.ok())
            .map(|e| format!("{version}/{}", e.file_name().to_string_lossy()))
            .collect();
        entries.sort();
        names.extend(entries);
    }
    names
}

#[test]
fn go_fixtures_give_go_manifest_groups_and_version() {
    let Some(dir) = fixtures() else { return };
    let versions = read_json(&dir.join("chain-sdk/expected-versions.json"));
    let names = go_fixture_names(&dir);
    assert_eq!(names.len(), 15, "expected 15 Go fixtures, found {names:?}");
    for name in &names {
        let input = read(&dir.join("chain-sdk/input").join(name).join("input.yaml"));
        let out = dir.join("chain-sdk/output-fixtures").join(name);
        let conv = convert(&input).unwrap_or_else(|e| panic!("{name}: {e}"));

        let manifest = serde_json::to_value(&conv.manifest).expect("manifest json");
        assert_eq!(
            manifest,
            read_json(&out.join("manifest.json")),
            "{name}: manifest"
        );

        let mut groups = serde_json::to_value(&conv.groups).expect("groups json");
        let mut expected = read_json(&out.join("group-specs.json"));
        normalize_endpoints(&mut groups);
        normalize_endpoints(&mut expected);
        assert_eq!(groups, expected, "{name}: group specs");

        assert_eq!(
            Some(conv.version.to_hex().as_str()),
            versions[name.as_str()].as_str(),
            "{name}: version"
        );

        // The typed canonical writer agrees with the generic encoder.
        assert_eq!(
            conv.manifest.canonical_json(),
            canonical_json(&manifest),
            "{name}: canonical json"
        );
        // Both forms read back into the same values.
        let back: Manifest = serde_json::from_value(manifest).expect("manifest back");
        assert_eq!(back, conv.manifest, "{name}: manifest round trip");
        for g in &conv.groups {
            let decoded = GroupSpec::decode(g.encode_to_vec().as_slice()).expect("decode");
            assert_eq!(&decoded, g, "{name}: protobuf round trip");
            let json = serde_json::to_value(g).expect("group json");
            let back: GroupSpec = serde_json::from_value(json).expect("group back");
            assert_eq!(&back, g, "{name}: group json round trip");
        }
    }
}

#[test]
fn ts_golden_basic_version() {
    let Some(dir) = fixtures() else { return };
    let input = read(&dir.join("ts-golden/basic.yaml"));
    let expected = read(&dir.join("ts-golden/basic.version"));
    let conv = convert(&input).unwrap_or_else(|e| panic!("basic.yaml: {e}"));
    assert_eq!(conv.version.to_hex(), expected.trim());
}

/// Each refused fixture and a piece of the message that names its problem.
const REFUSED: [(&str, &str); 27] = [
    (
        "invalid/count-zero.yaml",
        "deployment.web.akash.count: must be at least 1",
    ),
    (
        "invalid/credentials-missing-host.yaml",
        "services.web.credentials.host: is required",
    ),
    (
        "invalid/empty-image.yaml",
        "services.web.image: must not be empty",
    ),
    (
        "invalid/endpoint-not-used.yaml",
        "endpoints.myendpoint: is declared but never used",
    ),
    (
        "invalid/invalid-endpoint-name.yaml",
        "endpoint name \"Invalid-Name\" is not valid",
    ),
    (
        "invalid/invalid-port.yaml",
        "services.web.expose[0].port: must be between 1 and 65535, got 99999",
    ),
    (
        "invalid/invalid-protocol.yaml",
        "services.web.expose[0].proto: unsupported protocol \"HTTP\"",
    ),
    (
        "invalid/ip-without-global.yaml",
        "services.web.expose[0].to[0].global: must be true when `ip` is set",
    ),
    ("invalid/missing-deployment.yaml", "deployment: is required"),
    (
        "invalid/missing-image.yaml",
        "services.web.image: is required",
    ),
    (
        "invalid/missing-memory-size.yaml",
        "profiles.compute.web.resources.memory.size: is required",
    ),
    (
        "invalid/missing-pricing.yaml",
        "profiles.placement.akash.pricing: is required",
    ),
    ("invalid/missing-version.yaml", "version: is required"),
    (
        "invalid/negative-cpu.yaml",
        "profiles.compute.web.resources.cpu.units: must not be negative",
    ),
    (
        "invalid/persistent-without-mount.yaml",
        "volume \"data\" of compute profile \"web\" is persistent, so it needs a mount",
    ),
    (
        "invalid/port-too-high.yaml",
        "services.web.expose[0].port: must be between 1 and 65535, got 99999",
    ),
    (
        "invalid/port-zero.yaml",
        "services.web.expose[0].port: must be between 1 and 65535, got 0",
    ),
    (
        "invalid/ram-persistent-true.yaml",
        "storage of class ram cannot be persistent",
    ),
    (
        "invalid/unknown-field.yaml",
        "unknown_field: unknown key \"unknown_field\"",
    ),
    (
        "invalid/v2.1-reclamation-bad-window.yaml",
        "reclamation.min_window: must be greater than zero",
    ),
    (
        "invalid/v2.1-tee-cpu-gpu-no-gpu.yaml",
        "services.web.params.tee: tee type \"cpu-gpu\" needs gpu resources",
    ),
    (
        "schema-only-invalid/email-too-short.yaml",
        "services.web.credentials.email: must be at least 5 characters",
    ),
    (
        "schema-only-invalid/invalid-denom.yaml",
        "pricing.web.denom: unsupported denomination \"invalidtoken\"",
    ),
    (
        "schema-only-invalid/invalid-gpu-vendor.yaml",
        "gpu.attributes.vendor.amd: unknown key \"amd\"",
    ),
    (
        "schema-only-invalid/invalid-version.yaml",
        "version: unsupported version \"3.0\"",
    ),
    (
        "schema-only-invalid/password-too-short.yaml",
        "services.web.credentials.password: must be at least 6 characters",
    ),
    (
        "schema-only-invalid/reclamation-compound-window.yaml",
        "reclamation.min_window: \"1h30m\" is not a duration",
    ),
];

#[test]
fn refused_fixtures_name_their_problem() {
    let Some(dir) = fixtures() else { return };
    let base = dir.join("chain-sdk/input");
    let mut on_disk = Vec::new();
    for sub in ["invalid", "schema-only-invalid"] {
        for entry in std::fs::read_dir(base.join(sub)).expect("list refused fixtures") {
            let name = entry.expect("dir entry").file_name();
            on_disk.push(format!("{sub}/{}", name.to_string_lossy()));
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = REFUSED.iter().map(|(f, _)| (*f).to_owned()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "every refused fixture needs an entry in REFUSED"
    );
    for (file, expected) in REFUSED {
        let text = read(&base.join(file));
        match parse(&text) {
            Ok(_) => panic!("{file}: accepted"),
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(expected),
                    "{file}: {msg:?} does not contain {expected:?}"
                );
            }
        }
    }
}

/// A valid 2.0 SDL with one service; `{svc}`, `{res}` and `{extra}` are replaced.
const TEMPLATE: &str = r#"
version: "{version}"
services:
  web:
    image: nginx:1.27
{svc}
profiles:
  compute:
    web:
      resources:
{res}
  placement:
    dc:
      pricing:
        web:
          denom: uact
          amount: 1000
deployment:
  web:
    dc:
      profile: web
      count: 1
{extra}
"#;

const EXPOSE_GLOBAL: &str = "    expose:\n      - port: 80\n        to:\n          - global: true";
const RES_BASIC: &str =
    "        cpu:\n          units: 0.5\n        memory:\n          size: 512Mi\n        storage:\n          size: 1Gi";

fn sdl_text(version: &str, svc: &str, res: &str, extra: &str) -> String {
    TEMPLATE
        .replace("{version}", version)
        .replace("{svc}", svc)
        .replace("{res}", res)
        .replace("{extra}", extra)
}

fn convert_ok(text: &str) -> Conversion {
    convert(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn refused(text: &str) -> String {
    match convert(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn resources_of(c: &Conversion) -> &Resources {
    &c.groups[0].resources[0].resource
}

#[test]
fn cpu_units_follow_go() {
    let cases = [
        ("0.5", "500"),
        ("\"500m\"", "500"),
        ("2", "2000"),
        ("1.001", "1000"),
        ("\"0.25\"", "250"),
        ("10m", "10"),
        ("384", "384000"),
    ];
    for (units, millis) in cases {
        let res = RES_BASIC.replace("units: 0.5", &format!("units: {units}"));
        let c = convert_ok(&sdl_text("2.0", EXPOSE_GLOBAL, &res, ""));
        let cpu = resources_of(&c).cpu.as_ref().expect("cpu");
        assert_eq!(cpu.units.val, millis.as_bytes(), "units {units}");
    }
    for (units, problem) in [
        ("-1", "must not be negative"),
        ("\"-100m\"", "must not be negative"),
        ("0", "at least 10 millicores"),
        ("\"5m\"", "must be between 10m and 384 cores"),
        ("385", "must be between 10m and 384 cores"),
        ("abc", "is not a cpu quantity"),
        ("\"1.5m\"", "not a number of millicores"),
        ("99999999999999999999", "too large"),
    ] {
        let res = RES_BASIC.replace("units: 0.5", &format!("units: {units}"));
        let msg = refused(&sdl_text("2.0", EXPOSE_GLOBAL, &res, ""));
        assert!(msg.contains("resources.cpu.units"), "{units}: {msg}");
        assert!(msg.contains(problem), "{units}: {msg}");
    }
    assert_eq!(units::parse_cpu_millis("1.001"), Ok(1000));
    assert_eq!(units::parse_cpu_millis("0.001"), Ok(1));
    assert_eq!(units::parse_cpu_millis("4294967295m"), Ok(4_294_967_295));
    assert!(units::parse_cpu_millis("4294967296m").is_err());
    assert!(units::parse_cpu_millis("nan").is_err());
    assert!(units::parse_cpu_millis("inf").is_err());
}

#[test]
fn sizes_take_every_suffix() {
    let cases: [(&str, u64); 15] = [
        ("1k", 1_000),
        ("1Ki", 1 << 10),
        ("1M", 1_000_000),
        ("1Mi", 1 << 20),
        ("1G", 1_000_000_000),
        ("1Gi", 1 << 30),
        ("1T", 1_000_000_000_000),
        ("1Ti", 1 << 40),
        ("1P", 1_000_000_000_000_000),
        ("1Pi", 1 << 50),
        ("1E", 1_000_000_000_000_000_000),
        ("1Ei", 1 << 60),
        ("1048576", 1_048_576),
        ("1.5Gi", 1_610_612_736),
        // Go truncates the float64 product: 0.01 × 2^30 = 10737418.24.
        ("0.01Gi", 10_737_418),
    ];
    for (text, bytes) in cases {
        assert_eq!(units::parse_size(text, false), Ok(bytes), "{text}");
    }
    assert!(
        units::parse_size("1gi", false).is_err(),
        "suffixes are case-sensitive"
    );
    assert!(units::parse_size("1 Gi", false).is_err());
    assert!(units::parse_size("-1Gi", false)
        .unwrap_err()
        .contains("negative"));
    assert!(units::parse_size("16Ei", false)
        .unwrap_err()
        .contains("too large"));
    assert!(units::parse_size("", false).is_err());
    assert!(
        units::parse_size("80G", true).is_err(),
        "gpu ram takes binary suffixes only"
    );
    assert_eq!(units::parse_size("80Gi", true), Ok(80 << 30));

    // Through a whole SDL: memory size and storage sizes end up in the resources.
    let res = "        cpu:\n          units: 1\n        memory:\n          size: 0.01Gi\n        storage:\n          size: 5G";
    let c = convert_ok(&sdl_text("2.0", EXPOSE_GLOBAL, res, ""));
    let r = resources_of(&c);
    assert_eq!(
        r.memory.as_ref().map(|m| m.quantity.value()),
        Some(Some(10_737_418))
    );
    assert_eq!(r.storage[0].quantity.value(), Some(5_000_000_000));
    let res = res.replace("5G", "4Mi");
    let msg = refused(&sdl_text("2.0", EXPOSE_GLOBAL, &res, ""));
    assert!(
        msg.contains("volume \"default\" must be between 5Mi and 32Ti"),
        "{msg}"
    );
}

fn storage_of(list: &str, params: &str) -> Result<Vec<Storage>, String> {
    let res = format!(
        "        cpu:\n          units: 1\n        memory:\n          size: 1Gi\n        storage:\n{list}"
    );
    let svc = format!("{EXPOSE_GLOBAL}\n{params}");
    convert(&sdl_text("2.0", &svc, &res, ""))
        .map(|c| resources_of(&c).storage.clone())
        .map_err(|e| e.to_string())
}

fn attrs(s: &Storage) -> Vec<(String, String)> {
    s.attributes
        .iter()
        .map(|a| (a.key.clone(), a.value.clone()))
        .collect()
}

#[test]
fn storage_attributes_get_go_defaults() {
    let params = "    params:\n      storage:\n        data:\n          mount: /data";
    // persistent: true without class gets class "default".
    let list = "          - name: data\n            size: 10Gi\n            attributes:\n              persistent: true";
    let st = storage_of(list, params).expect("valid");
    let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    assert_eq!(
        attrs(&st[0]),
        vec![pair("class", "default"), pair("persistent", "true")]
    );

    // Empty attributes get persistent: false; no attributes stay without any.
    let list = "          - size: 1Gi\n            attributes: {}\n          - name: b\n            size: 2Gi";
    let st = storage_of(list, "").expect("valid");
    assert_eq!(st[0].name, "default");
    assert_eq!(attrs(&st[0]), vec![pair("persistent", "false")]);
    assert!(st[1].attributes.is_empty());

    // yes/no are normalised; a non-ram class must be persistent; ram must not be.
    let list = "          - name: data\n            size: 1Gi\n            attributes:\n              persistent: \"yes\"\n              class: beta2";
    let st = storage_of(list, params).expect("valid");
    assert_eq!(
        attrs(&st[0]),
        vec![pair("class", "beta2"), pair("persistent", "true")]
    );
    let bad = [
        (
            "persistent: false\n              class: beta1",
            "storage of class \"beta1\" must be persistent",
        ),
        (
            "class: beta3",
            "storage of class \"beta3\" must be persistent",
        ),
        (
            "persistent: true\n              class: ram",
            "class ram cannot be persistent",
        ),
        (
            "persistent: true\n              class: ssd",
            "unknown storage class \"ssd\"",
        ),
        ("persistent: maybe", "\"maybe\" is not a boolean"),
        ("mode: fast", "unknown key \"mode\""),
    ];
    for (a, problem) in bad {
        let list = format!("          - name: data\n            size: 1Gi\n            attributes:\n              {a}");
        let msg = storage_of(&list, params).expect_err(a);
        assert!(msg.contains(problem), "{a}: {msg}");
    }
    let msg =
        storage_of("          - size: 1Gi\n          - size: 2Gi", "").expect_err("duplicate");
    assert!(
        msg.contains("volume name \"default\" is used more than once"),
        "{msg}"
    );
    let msg = storage_of("          []", "").expect_err("empty");
    assert!(msg.contains("needs at least one volume"), "{msg}");
}

#[test]
fn storage_is_ordered_as_go_orders_it() {
    let params = "    params:\n      storage:\n        p1:\n          mount: /p1\n        p2:\n          mount: /p2";
    let list = "
          - name: big
            size: 20Gi
          - name: p2
            size: 5Gi
            attributes: {persistent: true, class: beta2}
          - name: e1
            size: 5Gi
            attributes: {persistent: false}
          - name: p1
            size: 5Gi
            attributes: {persistent: true, class: beta1}
          - name: bare
            size: 5Gi
          - name: small
            size: 1Gi";
    let st = storage_of(list, params).expect("valid");
    let names: Vec<&str> = st.iter().map(|s| s.name.as_str()).collect();
    // Size first; at equal size a volume without a persistent attribute, then "false"
    // before "true"; persistent ones by name.
    assert_eq!(names, ["small", "bare", "e1", "p1", "p2", "big"]);

    // Go's comparison calls two ephemeral volumes of equal size each "less" than the other,
    // so its insertion sort reverses them; this order is what Go produces.
    let list = "
          - name: a
            size: 1Gi
            attributes: {persistent: false}
          - name: b
            size: 1Gi
            attributes: {persistent: false}
          - name: c
            size: 1Gi
            attributes: {persistent: false}";
    let st = storage_of(list, "").expect("valid");
    let names: Vec<&str> = st.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["c", "b", "a"]);
}

#[test]
fn go_stable_sort_matches_a_stable_sort_for_strict_orders() {
    use super::order::sort_volumes;
    use super::parse::test_support::Volume;
    // With more than 20 items the merge phase runs; for a strict order it must be a stable
    // sort. Sizes repeat so that stability shows.
    let names: Vec<String> = (0..57u64).map(|i| format!("v{i:02}")).collect();
    let mut volumes: Vec<Volume> = (0..57u64)
        .zip(&names)
        .map(|(i, name)| Volume {
            name,
            size: Some((i * 7919) % 13),
            attributes: vec![Attribute::new("persistent", "true")],
        })
        .collect();
    let mut expected: Vec<(u64, String)> = volumes
        .iter()
        .map(|v| (v.size.unwrap_or(0), v.name.to_owned()))
        .collect();
    expected.sort();
    sort_volumes(&mut volumes);
    let got: Vec<(u64, String)> = volumes
        .iter()
        .map(|v| (v.size.unwrap_or(0), v.name.to_owned()))
        .collect();
    assert_eq!(got, expected);
}

fn endpoints(c: &Conversion, unit: usize) -> Vec<(i32, u32)> {
    c.groups[0].resources[unit]
        .resource
        .endpoints
        .iter()
        .map(|e| (e.kind, e.sequence_number))
        .collect()
}

#[test]
fn endpoint_kinds_follow_protocol_and_port() {
    let svc = "    expose:
      - port: 80
        to: [{global: true}]
      - port: 8080
        as: 80
        to: [{global: true}]
      - port: 443
        to: [{global: true}]
      - port: 53
        as: 80
        proto: udp
        to: [{global: true}]
      - port: 9000
        to: [{service: other}]
      - port: 9001";
    let c = convert_ok(&sdl_text("2.0", svc, RES_BASIC, ""));
    let http = EndpointKind::SharedHttp as i32;
    let port = EndpointKind::RandomPort as i32;
    // Exposes sorted by port (53, 80, 443, 8080); the non-global ones need no endpoint.
    assert_eq!(
        endpoints(&c, 0),
        [(port, 0), (http, 0), (port, 0), (http, 0)]
    );
    let m = &c.manifest.0[0].services[0];
    let ports: Vec<(u32, &str, bool)> = m
        .expose
        .iter()
        .map(|e| (e.port, e.service.as_str(), e.global))
        .collect();
    assert_eq!(
        ports,
        [
            (53, "", true),
            (80, "", true),
            (443, "", true),
            (8080, "", true),
            // An expose without `to` stays as one non-global entry, as in Go.
            (9001, "", false),
            (9000, "other", false),
        ]
    );
}

#[test]
fn leased_ip_sequence_numbers_follow_go() {
    // Go numbers the sorted list of `ip` names of all `to` entries except global ones
    // without ip; non-global entries add "" first, and a repeated name keeps its last number.
    let text = r#"
version: "2.1"
services:
  api:
    image: api
    expose:
      - port: 3000
        to:
          - global: true
            ip: beta
          - service: web
  web:
    image: web
    expose:
      - port: 80
        to:
          - global: true
            ip: alpha
      - port: 443
        to:
          - global: true
            ip: beta
profiles:
  compute:
    small:
      resources:
        cpu: {units: 1}
        memory: {size: 1Gi}
        storage: {size: 1Gi}
  placement:
    dc:
      pricing:
        small: {denom: uact, amount: 10}
deployment:
  api:
    dc: {profile: small, count: 1}
  web:
    dc: {profile: small, count: 2}
endpoints:
  alpha: {kind: ip}
  beta: {kind: ip}
"#;
    let c = convert_ok(text);
    // Names: ["", "alpha", "beta", "beta"] -> alpha = 2, beta = 4.
    let seq: Vec<(&str, &str, u32)> = c.manifest.0[0]
        .services
        .iter()
        .flat_map(|s| {
            s.expose
                .iter()
                .map(move |e| (s.name.as_str(), e.ip.as_str(), e.endpoint_sequence_number))
        })
        .collect();
    assert_eq!(
        seq,
        [
            ("api", "beta", 4),
            ("api", "", 0),
            ("web", "alpha", 2),
            ("web", "beta", 4)
        ]
    );
    // 2.1 shares one unit between the services of a profile; counts add up.
    let unit = &c.groups[0].resources[0];
    assert_eq!(c.groups[0].resources.len(), 1);
    assert_eq!(unit.count, 3);
    let ip = EndpointKind::LeasedIp as i32;
    let port = EndpointKind::RandomPort as i32;
    let http = EndpointKind::SharedHttp as i32;
    assert_eq!(
        endpoints(&c, 0),
        [(port, 0), (http, 0), (port, 0), (ip, 2), (ip, 4), (ip, 4)]
    );

    // The same SDL as 2.0 gets one unit per service.
    let c = convert_ok(&text.replace("\"2.1\"", "\"2.0\""));
    assert_eq!(c.groups[0].resources.len(), 2);
    assert_eq!(endpoints(&c, 0), [(port, 0), (ip, 4)]);
    assert_eq!(endpoints(&c, 1), [(http, 0), (ip, 2), (port, 0), (ip, 4)]);

    // An IP port used twice is refused; so is an undeclared endpoint.
    let dup = text.replace("port: 443", "port: 3000");
    let msg = refused(&dup);
    assert!(
        msg.contains("ip endpoint \"beta\" already exposes port 3000/TCP for service \"api\""),
        "{msg}"
    );
    let undeclared = text.replace("  alpha: {kind: ip}\n", "");
    let msg = refused(&undeclared);
    assert!(
        msg.contains("services.web.expose[0].to[0].ip: endpoint \"alpha\" is not declared"),
        "{msg}"
    );
}

#[test]
fn http_options_defaults_and_bounds() {
    let c = convert_ok(&sdl_text("2.0", EXPOSE_GLOBAL, RES_BASIC, ""));
    let h = &c.manifest.0[0].services[0].expose[0].http_options;
    assert_eq!(
        (
            h.max_body_size,
            h.read_timeout,
            h.send_timeout,
            h.next_tries,
            h.next_timeout
        ),
        (1_048_576, 60_000, 60_000, 3, 0)
    );
    assert_eq!(h.next_cases, ["error", "timeout"]);
    assert_eq!(h.proxy_buffer_size, 0);
    let json = serde_json::to_value(h).expect("json");
    assert!(
        json.get("proxyBufferSize").is_none(),
        "omitted when 0: {json}"
    );

    let with = |opts: &str| {
        let svc = format!("{EXPOSE_GLOBAL}\n        http_options:\n{opts}");
        sdl_text("2.0", &svc, RES_BASIC, "")
    };
    let c = convert_ok(&with(
        "          max_body_size: 0\n          next_tries: 0\n          next_cases: [off]\n          proxy_buffer_size: 4096\n          next_cases_x: 1".replace("\n          next_cases_x: 1", "").as_str(),
    ));
    let h = &c.manifest.0[0].services[0].expose[0].http_options;
    // Zero means "use the default" for these, as in Go.
    assert_eq!((h.max_body_size, h.next_tries), (1_048_576, 3));
    assert_eq!(h.next_cases, ["off"]);
    assert_eq!(h.proxy_buffer_size, 4096);
    let c = convert_ok(&with("          next_cases: [500, \"502\", error]"));
    let h = &c.manifest.0[0].services[0].expose[0].http_options;
    assert_eq!(h.next_cases, ["500", "502", "error"]);

    for (opts, problem) in [
        (
            "          max_body_size: 104857601",
            "max_body_size: must be between 0 and 104857600",
        ),
        (
            "          read_timeout: 60001",
            "read_timeout: must be between 0 and 60000",
        ),
        (
            "          send_timeout: -1",
            "send_timeout: must be between 0 and 60000",
        ),
        (
            "          proxy_buffer_size: 1048577",
            "proxy_buffer_size: must be between 0 and 1048576",
        ),
        (
            "          next_cases: [off, error]",
            "\"off\" must be the only case",
        ),
        (
            "          next_cases: [\"418\"]",
            "next_cases[0]: unknown case \"418\"",
        ),
        ("          retries: 1", "unknown key \"retries\""),
    ] {
        let msg = refused(&with(opts));
        assert!(msg.contains(problem), "{opts}: {msg}");
    }
}

#[test]
fn gpu_attributes_follow_go() {
    let gpu = |g: &str| format!("{RES_BASIC}\n        gpu:\n{g}");
    let c = convert_ok(&sdl_text(
        "2.0",
        EXPOSE_GLOBAL,
        &gpu("          units: 2\n          attributes:\n            vendor:\n              nvidia:\n                - model: h100\n                  ram: 80Gi\n                  interface: sxm\n                - model: a100\n                  ram: 40960Mi"),
        "",
    ));
    let g = resources_of(&c).gpu.as_ref().expect("gpu");
    assert_eq!(g.units.val, b"2");
    let keys: Vec<&str> = g.attributes.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "vendor/nvidia/model/a100/ram/40Gi",
            "vendor/nvidia/model/h100/ram/80Gi/interface/sxm"
        ]
    );
    let c = convert_ok(&sdl_text(
        "2.0",
        EXPOSE_GLOBAL,
        &gpu(
            "          units: 1\n          attributes:\n            vendor:\n              nvidia:",
        ),
        "",
    ));
    let g = resources_of(&c).gpu.as_ref().expect("gpu");
    assert_eq!(
        g.attributes,
        [Attribute::new("vendor/nvidia/model/*", "true")]
    );
    // No gpu section: units 0, no attributes.
    let c = convert_ok(&sdl_text("2.0", EXPOSE_GLOBAL, RES_BASIC, ""));
    let g = resources_of(&c).gpu.as_ref().expect("gpu");
    assert_eq!((g.units.val.as_slice(), g.attributes.len()), (&b"0"[..], 0));

    for (g, problem) in [
        ("          units: 1", "gpu.attributes: are required when units > 0"),
        ("          units: 0\n          attributes:\n            vendor:\n              nvidia:", "must be greater than zero when attributes are given"),
        ("          units: 1\n          attributes:\n            vendor: {}", "must name at least one vendor"),
        ("          units: 1\n          attributes:\n            vendor:\n              nvidia:\n                - model: a100\n                  interface: nvlink", "unknown gpu interface \"nvlink\""),
        ("          units: 1\n          attributes:\n            vendor:\n              nvidia:\n                - model: a100\n                  ram: 80GB", "gpu.attributes.vendor.nvidia[0].ram"),
        ("          units: 1\n          attributes:\n            vendor:\n              nvidia:\n                - model: a 100", "is not valid"),
        ("          units: 25\n          attributes:\n            vendor:\n              nvidia:", "must be at most 24"),
        ("          units: 1.5\n          attributes:\n            vendor:\n              nvidia:", "not a whole number of GPUs"),
    ] {
        let msg = refused(&sdl_text("2.0", EXPOSE_GLOBAL, &gpu(g), ""));
        assert!(msg.contains(problem), "{g}: {msg}");
    }
}

#[test]
fn credentials_and_tee_follow_the_version() {
    let svc = format!(
        "{EXPOSE_GLOBAL}\n    credentials:\n      host: \" ghcr.io \"\n      email: me@example.com\n      username: me\n      password: secret-token\n    params:\n      tee: cpu"
    );
    let c = convert_ok(&sdl_text("2.0", &svc, RES_BASIC, ""));
    let cred = c.manifest.0[0].services[0]
        .credentials
        .as_ref()
        .expect("credentials");
    // 2.0 copies as written and never the e-mail; 2.1 trims and copies it.
    assert_eq!((cred.host.as_str(), cred.email.as_str()), (" ghcr.io ", ""));
    let c = convert_ok(&sdl_text("2.1", &svc, RES_BASIC, ""));
    let cred = c.manifest.0[0].services[0]
        .credentials
        .as_ref()
        .expect("credentials");
    assert_eq!(
        (cred.host.as_str(), cred.email.as_str()),
        ("ghcr.io", "me@example.com")
    );
    assert!(
        !format!("{cred:?}").contains("secret-token"),
        "debug output hides the password"
    );
    let attrs = &c.groups[0].requirements.attributes;
    assert_eq!(attrs, &[Attribute::new("tee/type", "cpu")]);
    let params = c.manifest.0[0].services[0].params.as_ref().expect("params");
    assert_eq!(
        serde_json::to_value(params).expect("json"),
        json!({"storage": null, "tee": {"type": "cpu", "attestation": true}})
    );
}

#[test]
fn several_problems_are_reported_together() {
    let text = r#"
version: "2.0"
services:
  web:
    image: ""
    expose:
      - port: 0
        proto: sctp
profiles:
  compute:
    web:
      resources:
        cpu: {units: -1}
        memory: {size: lots}
        storage: {size: 1Gi}
  placement:
    dc:
      pricing:
        web: {denom: uatom, amount: 0}
deployment:
  web:
    dc: {profile: web, count: 1}
"#;
    let err = parse(text).expect_err("invalid");
    let paths: Vec<String> = err.issues().into_iter().map(|i| i.path).collect();
    assert_eq!(
        paths,
        [
            "services.web.image",
            "services.web.expose[0].port",
            "services.web.expose[0].proto",
            "profiles.compute.web.resources.cpu.units",
            "profiles.compute.web.resources.memory.size",
            "profiles.placement.dc.pricing.web.denom",
            "profiles.placement.dc.pricing.web.amount",
        ]
    );
    let msg = err.to_string();
    assert!(
        msg.starts_with("invalid sdl: services.web.image: must not be empty; "),
        "{msg}"
    );
    assert!(!msg.ends_with('.'));
}

#[test]
fn cross_references_are_checked() {
    let base = sdl_text("2.0", EXPOSE_GLOBAL, RES_BASIC, "");
    for (from, to, problem) in [
        (
            "    dc:\n      profile: web",
            "    dc:\n      profile: webb",
            "compute profile \"webb\" is not defined under profiles.compute (defined: web)",
        ),
        (
            "deployment:\n  web:\n    dc:",
            "deployment:\n  web:\n    east:",
            "placement \"east\" is not defined under profiles.placement (defined: dc)",
        ),
        (
            "deployment:\n  web:",
            "deployment:\n  api:",
            "service \"api\" is not defined under services (defined: web)",
        ),
        (
            "        web:\n          denom",
            "        other:\n          denom",
            "profiles.placement.dc.pricing: has no price for compute profile \"web\"",
        ),
        (
            "amount: 1000",
            "amount: 10000001",
            "must be at most 10000000 per replica",
        ),
        (
            "to:\n          - global: true",
            "to:\n          - service: db",
            "no deployed service is exposed globally",
        ),
        (
            "services:\n  web:",
            "services:\n  Web_1:\n    image: x\n  web:",
            "service name \"Web_1\" is not valid",
        ),
        (
            "    image: nginx:1.27",
            "    image: nginx:1.27\n    imagee: nginx",
            "unknown key \"imagee\" (did you mean \"image\"?)",
        ),
        (
            "    image: nginx:1.27",
            "    image: nginx:1.27\n    env: [\"1X=2\"]",
            "environment variable name \"1X\" is not valid",
        ),
        (
            "      - port: 80",
            "      - port: 80\n        accept: [Example.com]",
            "\"Example.com\" is not a valid manifest hostname",
        ),
        (
            "count: 1",
            "count: 1\n    east:\n      profile: web\n      count: 1",
            "placement \"east\" is not defined",
        ),
    ] {
        assert!(base.contains(from), "template lacks {from:?}");
        let msg = refused(&base.replacen(from, to, 1));
        assert!(msg.contains(problem), "{to}: {msg}");
    }
    // A hostname repeated in the manifest (two `to` entries copy it) is refused, as Go does.
    let svc = "    expose:\n      - port: 80\n        accept: [a.example.com]\n        to:\n          - global: true\n          - service: db";
    let msg = refused(&sdl_text("2.0", svc, RES_BASIC, ""));
    assert!(
        msg.contains("hostname \"a.example.com\" would appear more than once"),
        "{msg}"
    );
    // Prices in two denominations are refused.
    let text = sdl_text("2.0", EXPOSE_GLOBAL, RES_BASIC, "").replace(
        "deployment:\n  web:\n    dc:\n      profile: web\n      count: 1",
        "deployment:\n  web:\n    dc:\n      profile: web\n      count: 1\n    dc2:\n      profile: web\n      count: 1",
    ).replace("  placement:\n", "  placement:\n    dc2:\n      pricing:\n        web: {denom: uakt, amount: 5}\n");
    let msg = refused(&text);
    assert!(
        msg.contains("all prices must use one denomination"),
        "{msg}"
    );
    // A deployment that runs nothing is refused.
    for empty in ["deployment: {}", "deployment:\n  web: {}"] {
        let text = base.replace(
            "deployment:\n  web:\n    dc:\n      profile: web\n      count: 1",
            empty,
        );
        assert!(refused(&text).contains("deploys nothing"), "{empty}");
    }
}

#[test]
fn prices_and_dec_coins() {
    use super::types::test_support::{to_decimal, to_scaled};
    assert_eq!(
        units::parse_price_amount("1000"),
        Ok(1000 * units::DEC_SCALE)
    );
    assert_eq!(units::parse_price_amount("0.000000000000000001"), Ok(1));
    assert!(units::parse_price_amount("0.0000000000000000001")
        .unwrap_err()
        .contains("18 decimal"));
    assert!(units::parse_price_amount("0")
        .unwrap_err()
        .contains("greater than zero"));
    assert!(units::parse_price_amount("-5")
        .unwrap_err()
        .contains("positive"));
    assert!(units::parse_price_amount("1e3").is_err());
    assert!(units::parse_price_amount("1.").is_err());
    assert!(units::parse_price_amount(&"9".repeat(60))
        .unwrap_err()
        .contains("too large"));

    let c = DecCoin::from_scaled("uact", 1_500_000_000_000_000_000);
    assert_eq!(c.amount, "1500000000000000000");
    assert_eq!(c.amount_decimal(), "1.500000000000000000");
    assert_eq!(
        serde_json::to_value(&c).expect("json"),
        json!({"denom": "uact", "amount": "1.500000000000000000"})
    );
    let back: DecCoin =
        serde_json::from_value(json!({"denom": "uact", "amount": "0.25"})).expect("from json");
    assert_eq!(back.amount, "250000000000000000");
    assert!(serde_json::from_value::<DecCoin>(json!({"denom": "x", "amount": "1.2.3"})).is_err());
    assert_eq!(to_decimal("0"), "0.000000000000000000");
    assert_eq!(to_decimal("-1"), "-0.000000000000000001");
    assert_eq!(
        to_decimal("123456789012345678901234567890123456789012"),
        "123456789012345678901234.567890123456789012"
    );
    assert_eq!(to_decimal("12é"), "12é");
    assert_eq!(to_scaled("000.5").as_deref(), Some("500000000000000000"));
    assert_eq!(to_scaled("0").as_deref(), Some("0"));
    assert_eq!(to_scaled("-2").as_deref(), Some("-2000000000000000000"));
    assert_eq!(to_scaled(".5"), None);

    let sdl =
        sdl_text("2.0", EXPOSE_GLOBAL, RES_BASIC, "").replace("amount: 1000", "amount: 0.000123");
    let c = convert_ok(&sdl);
    assert_eq!(c.groups[0].resources[0].price.amount, "123000000000000");
    assert_eq!(
        c.groups[0].resources[0].price.amount_decimal(),
        "0.000123000000000000"
    );
}

#[test]
fn canonical_json_escapes_like_go() {
    let mut out = String::new();
    write_str(
        &mut out,
        "a<b>&c\"d\\e\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}\u{2028}\u{2029}é😀",
    );
    assert_eq!(
        out,
        r#""a\u003cb\u003e\u0026c\"d\\e\n\r\t\b\f\u0001\u001f"#.to_owned()
            + "\u{7f}\\u2028\\u2029é😀\""
    );
    assert_eq!(canonical_json(&json!("")), r#""""#);
}

#[test]
fn canonical_json_sorts_keys_bytewise_at_every_level() {
    let v = json!({"b": 1, "a": {"z": [3, {"y": 1, "x": 2}], "B": null, "é": true, "a_": false, "a": ""}});
    assert_eq!(
        canonical_json(&v),
        r#"{"a":{"B":null,"a":"","a_":false,"z":[3,{"x":2,"y":1}],"é":true},"b":1}"#
    );
    let mut nested = json!(1);
    for _ in 0..100_000 {
        nested = Value::Array(vec![nested]);
    }
    assert_eq!(
        canonical_json(&nested).len(),
        200_001,
        "deep nesting needs no deep stack"
    );
    // serde_json drops values recursively; take the nest apart by hand.
    while let Value::Array(mut items) = nested {
        nested = items.pop().unwrap_or(Value::Null);
    }
}

#[test]
fn canonical_json_prints_numbers_as_go_float64() {
    let cases: [(Value, &str); 14] = [
        (json!(0), "0"),
        (json!(-7), "-7"),
        (json!(1_048_576), "1048576"),
        (json!(1.5), "1.5"),
        (json!(0.000001), "0.000001"),
        (json!(0.0000001), "1e-7"),
        (json!(1.5e-10), "1.5e-10"),
        (json!(1e20), "100000000000000000000"),
        (json!(1e21), "1e+21"),
        (json!(1.2345e22), "1.2345e+22"),
        (json!(-2.5e-8), "-2.5e-8"),
        // Integers beyond 2^53 go through float64, as in Go.
        (json!(9_007_199_254_740_993u64), "9007199254740992"),
        (json!(u64::MAX), "18446744073709552000"),
        (json!(0.1), "0.1"),
    ];
    for (v, want) in cases {
        assert_eq!(canonical_json(&v), want, "{v}");
    }
    let mut out = String::new();
    write_go_float(&mut out, 1e300);
    assert_eq!(out, "1e+300");
}

#[test]
fn group_spec_protobuf_matches_hand_encoding() {
    let spec = GroupSpec {
        name: "g".to_owned(),
        requirements: PlacementRequirements::default(),
        resources: vec![ResourceUnit {
            resource: Resources {
                id: 1,
                cpu: Some(Cpu {
                    units: ResourceValue::new(100),
                    attributes: vec![],
                }),
                memory: None,
                storage: vec![],
                gpu: Some(Gpu {
                    units: ResourceValue::new(0),
                    attributes: vec![],
                }),
                endpoints: vec![Endpoint {
                    kind: EndpointKind::RandomPort as i32,
                    sequence_number: 0,
                }],
            },
            count: 2,
            price: DecCoin::from_scaled("uact", units::DEC_SCALE),
        }],
    };
    let resources: Vec<u8> = [
        &[0x08, 0x01][..],                                       // id = 1
        &[0x12, 0x07, 0x0a, 0x05, 0x0a, 0x03, b'1', b'0', b'0'], // cpu { units { val "100" } }
        &[0x2a, 0x05, 0x0a, 0x03, 0x0a, 0x01, b'0'],             // gpu { units { val "0" } }
        &[0x32, 0x02, 0x08, 0x01],                               // endpoints { kind RANDOM_PORT }
    ]
    .concat();
    let price: Vec<u8> = [
        &[0x0a, 0x04][..],
        b"uact",
        &[0x12, 0x13],
        b"1000000000000000000",
    ]
    .concat();
    let mut unit = vec![0x0a, resources.len() as u8];
    unit.extend_from_slice(&resources);
    unit.extend_from_slice(&[0x10, 0x02]); // count = 2
    unit.extend_from_slice(&[0x1a, price.len() as u8]);
    unit.extend_from_slice(&price);
    let mut want = vec![0x0a, 0x01, b'g'];
    // requirements { signed_by {} }: non-nullable fields are always written, as gogoproto does.
    want.extend_from_slice(&[0x12, 0x02, 0x0a, 0x00]);
    want.push(0x1a);
    want.push(unit.len() as u8);
    want.extend_from_slice(&unit);
    assert_eq!(spec.encode_to_vec(), want);
    assert_eq!(GroupSpec::decode(want.as_slice()).expect("decode"), spec);

    use prost::Name;
    assert_eq!(GroupSpec::type_url(), "/akash.deployment.v1beta4.GroupSpec");
    assert_eq!(Cpu::full_name(), "akash.base.resources.v1beta4.CPU");
    assert_eq!(DecCoin::full_name(), "cosmos.base.v1beta1.DecCoin");
}

#[test]
fn group_spec_json_is_go_shaped() {
    let c = convert_ok(&sdl_text("2.0", EXPOSE_GLOBAL, RES_BASIC, ""));
    let json = serde_json::to_value(&c.groups[0]).expect("json");
    assert_eq!(
        json["requirements"],
        json!({"signed_by": {"all_of": null, "any_of": null}, "attributes": null})
    );
    assert_eq!(
        json["resources"][0]["resource"]["memory"],
        json!({"size": {"val": "536870912"}})
    );
    assert_eq!(
        json["resources"][0]["resource"]["endpoints"],
        json!([{"sequence_number": 0}])
    );
    assert_eq!(
        json["resources"][0]["price"],
        json!({"denom": "uact", "amount": "1000.000000000000000000"})
    );
    // An attribute with an empty value loses its value, as Go's omitempty does.
    assert_eq!(
        serde_json::to_value(Attribute::new("k", "")).expect("json"),
        json!({"key": "k"})
    );

    let whole = serde_json::to_value(&c).expect("conversion json");
    let keys: Vec<&str> = whole
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["manifest", "groups", "version"]);
    let version = whole["version"].as_str().expect("version string");
    assert_eq!(version.len(), 64);
    assert!(version
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(
        serde_json::from_value::<ManifestVersion>(whole["version"].clone()).expect("back"),
        c.version
    );
}

#[test]
fn manifest_json_keeps_go_nulls() {
    let svc = format!(
        "{EXPOSE_GLOBAL}\n    env: []\n    args: [\"--port\", 0080, 1.10, True]\n    params: {{}}"
    );
    let c = convert_ok(&sdl_text("2.0", &svc, RES_BASIC, ""));
    let s = serde_json::to_value(&c.manifest.0[0].services[0]).expect("json");
    assert_eq!(s["command"], Value::Null);
    assert_eq!(s["env"], json!([]));
    // Scalars keep their source text, as Go's YAML decoder reads them into strings.
    assert_eq!(s["args"], json!(["--port", "0080", "1.10", "True"]));
    assert_eq!(s["params"], json!({"storage": null}));
    assert_eq!(s["expose"][0]["hosts"], Value::Null);
    let c = convert_ok(&sdl_text("2.0", EXPOSE_GLOBAL, RES_BASIC, ""));
    let s = serde_json::to_value(&c.manifest.0[0].services[0]).expect("json");
    assert!(
        s.get("params").is_none(),
        "params omitted when the SDL has none"
    );
}

#[test]
fn version_field_and_reclamation() {
    // `version: 2.0` unquoted is read by its text, as Go does.
    let text =
        sdl_text("2.0", EXPOSE_GLOBAL, RES_BASIC, "").replace("version: \"2.0\"", "version: 2.0");
    assert_eq!(parse(&text).expect("valid").sdl_version(), SdlVersion::V2_0);
    for bad in ["2", "2.10", "2.1.0", "v2.0"] {
        let text = sdl_text(bad, EXPOSE_GLOBAL, RES_BASIC, "");
        assert!(refused(&text).contains("unsupported version"), "{bad}");
    }
    let text = sdl_text(
        "2.1",
        EXPOSE_GLOBAL,
        RES_BASIC,
        "reclamation:\n  min_window: 24h",
    );
    let sdl = parse(&text).expect("valid");
    assert_eq!(
        sdl.reclamation_min_window(),
        Some(std::time::Duration::from_secs(86_400))
    );
    assert_eq!(sdl.sdl_version(), SdlVersion::V2_1);
    assert_eq!(
        units::parse_min_window("90s"),
        Ok(std::time::Duration::from_secs(90))
    );
    assert!(units::parse_min_window("0100m").is_err());
    assert!(units::parse_min_window("9999999999999h")
        .unwrap_err()
        .contains("too long"));
}

#[test]
fn hostile_inputs_do_not_panic() {
    let mut inputs: Vec<String> = vec![
        String::new(),
        "~".into(),
        "[]".into(),
        "42".into(),
        "{".into(),
        "version: \"2.0\"\n---\nversion: \"2.0\"".into(),
        "a: &a [*a]".into(),
        "? [a, b]\n: c".into(),
        "!!binary aGVsbG8=".into(),
        "version: !custom 2.0".into(),
        "version: \"2.0\"\nservices: [1, 2]\nprofiles: 3\ndeployment: \"x\"".into(),
        "version: \"2.0\"\nservices:\n  web: {image: [1], expose: {port: 1}, env: {a: b}}".into(),
        "\u{feff}version: \"2.0\"".into(),
        "version: \"2.0\"\n\0".into(),
        format!("version: \"2.0\"\nservices: {}", "[".repeat(10_000)),
        format!("x: {}", "{a: ".repeat(200) + &"}".repeat(200)),
        format!("version: \"2.0\"\nservices:\n  web:\n    image: {}", "x".repeat(100_000)),
        "a: &a {b: *a}".into(),
        "x: &x [&y [&z [1]]]\ny: [*x, *x, *x, *x, *x, *x, *x, *x, *x]\nz: [*y, *y, *y, *y, *y, *y, *y, *y, *y]\nw: [*z, *z, *z, *z, *z, *z, *z, *z, *z]".into(),
    ];
    // A valid SDL with every scalar replaced in turn by hostile values.
    let valid = sdl_text("2.1", EXPOSE_GLOBAL, RES_BASIC, "endpoints: {}");
    let hostile = [
        "18446744073709551616",
        "-9223372036854775809",
        "340282366920938463463374607431768211456",
        "1e400",
        "-.inf",
        ".nan",
        "~",
        "[]",
        "{}",
        "0x7fffffffffffffff",
        "\"\"",
        "-0",
        "true",
        "\"\\u0000\"",
    ];
    for token in [
        "0.5",
        "512Mi",
        "1Gi",
        "1000",
        "uact",
        "80",
        "true",
        "\"2.1\"",
        "1",
        "web",
        "dc",
        "nginx:1.27",
    ] {
        for h in hostile {
            inputs.push(valid.replace(token, h));
        }
    }
    // Aliases that would expand a small text into a huge tree are refused.
    let laughs = format!(
        "a: &a [{}]\nb: [{}]\n",
        vec!["x"; 2000].join(", "),
        vec!["*a"; 100].join(", ")
    );
    let msg = parse(&laughs).expect_err("laughs").to_string();
    assert!(msg.contains("more than 100000 nodes"), "{msg}");
    // So is a manifest that multiplies modest parts into a huge one.
    let many_to = format!("[{}]", vec!["{service: x}"; 400].join(", "));
    let many_hosts = format!(
        "[{}]",
        (0..300)
            .map(|i| format!("h{i}.example.com"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let svc = format!(
        "{EXPOSE_GLOBAL}\n      - port: 81\n        accept: {many_hosts}\n        to: {many_to}"
    );
    let msg = refused(&sdl_text("2.0", &svc, RES_BASIC, ""));
    assert!(msg.contains("at most 100000 are allowed"), "{msg}");
    assert!(
        parse("version: \"2.0\"\n---\nversion: \"2.0\"\n").is_err(),
        "several documents"
    );

    for input in &inputs {
        if let Err(e) = parse(input) {
            assert!(!e.to_string().is_empty());
        }
    }
    for i in 0..valid.len() {
        if valid.is_char_boundary(i) {
            let _ = parse(&valid[..i]);
        }
    }
}

#[test]
fn yaml_merge_keys_are_applied() {
    let text = r#"
version: "2.0"
x-res: &res
  cpu: {units: 0.5}
  memory: {size: 512Mi}
services:
  web:
    image: nginx
    expose:
      - port: 80.0
        to: [{global: true}]
profiles:
  compute:
    web:
      resources:
        <<: *res
        storage: {size: 1Gi}
        memory: {size: 1Gi}
  placement:
    dc:
      pricing:
        web: {denom: uact, amount: 1}
deployment:
  web:
    dc: {profile: web, count: 1}
"#;
    // The anchor's host key is unknown, as in Go; without it the merge applies and the
    // mapping's own `memory` wins over the merged one.
    assert!(refused(text).contains("unknown key \"x-res\""));
    let text = text
        .replacen(
            "x-res: &res\n  cpu: {units: 0.5}\n  memory: {size: 512Mi}\n",
            "",
            1,
        )
        .replacen(
            "        <<: *res\n",
            "        <<: &res {cpu: {units: 0.5}, memory: {size: 512Mi}}\n",
            1,
        );
    let c = convert(&text).unwrap_or_else(|e| panic!("{e}"));
    let r = resources_of(&c);
    assert_eq!(
        r.cpu.as_ref().map(|c| c.units.val.clone()),
        Some(b"500".to_vec())
    );
    assert_eq!(
        r.memory.as_ref().and_then(|m| m.quantity.value()),
        Some(1 << 30)
    );
    // `port: 80.0` is an integer to Go's decoder.
    assert_eq!(c.manifest.0[0].services[0].expose[0].port, 80);
}

#[test]
fn deployment_scope_follows_go() {
    // A service that no placement runs is ignored (Go), but still checked for shape.
    let svc = format!("{EXPOSE_GLOBAL}\n  worker:\n    image: busybox");
    let c = convert_ok(&sdl_text("2.0", &svc, RES_BASIC, ""));
    assert_eq!(c.manifest.0[0].services.len(), 1);
    let svc = format!("{EXPOSE_GLOBAL}\n  worker:\n    image: busybox\n    expose: [{{port: 0}}]");
    assert!(
        refused(&sdl_text("2.0", &svc, RES_BASIC, "")).contains("services.worker.expose[0].port")
    );

    // An ip endpoint used by a service deployed to two placements is refused, as Go does.
    let svc = "    expose:\n      - port: 80\n        to:\n          - global: true\n            ip: front";
    let text = sdl_text("2.0", svc, RES_BASIC, "endpoints:\n  front: {kind: ip}")
        .replace(
            "      count: 1\n",
            "      count: 1\n    dc2:\n      profile: web\n      count: 1\n",
        )
        .replace(
            "  placement:\n",
            "  placement:\n    dc2:\n      pricing:\n        web: {denom: uact, amount: 5}\n",
        );
    let msg = refused(&text);
    assert!(
        msg.contains("serves port 80/TCP in placements \"dc\" and \"dc2\""),
        "{msg}"
    );
    // Without the ip, the service runs in both placements: two groups, sorted by name.
    let text = text
        .replace("\n            ip: front", "")
        .replace("endpoints:\n  front: {kind: ip}", "");
    let c = convert_ok(&text);
    let names: Vec<&str> = c.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["dc", "dc2"]);
    assert_eq!(
        c.groups[1].resources[0].price.amount_decimal(),
        "5.000000000000000000"
    );
}

/// Every issue of a refusal is placed: a line and column inside the text, and a path
/// (empty only for a problem of the whole document).
fn assert_placed(text: &str, e: &SdlError, what: &str) {
    let lines = text.lines().count().max(1) + 1;
    let issues = e.issues();
    assert!(!issues.is_empty(), "{what}: no issue");
    for i in issues {
        assert!(
            i.line >= 1 && i.line <= lines && i.column >= 1,
            "{what}: issue not placed: {i:?}"
        );
        let document_level = i.message.contains("more than one YAML document")
            || i.message.starts_with("the sdl is empty")
            || i.message.starts_with("expected a mapping")
            || i.message.contains("is required")
            || matches!(e, SdlError::Syntax { .. });
        assert!(
            !i.path.is_empty() || document_level,
            "{what}: issue without a path: {i:?}"
        );
    }
}

#[test]
fn refused_fixtures_name_line_column_and_path() {
    let Some(dir) = fixtures() else { return };
    let base = dir.join("chain-sdk/input");
    for (file, _) in REFUSED {
        let text = read(&base.join(file));
        let e = parse(&text).expect_err(file);
        assert_placed(&text, &e, file);
        for i in e.issues() {
            assert!(!i.path.is_empty(), "{file}: {i:?}");
        }
    }
    // The unknown key of `unknown-field.yaml` is placed where it is written.
    let text = read(&base.join("invalid/unknown-field.yaml"));
    let e = parse(&text).expect_err("unknown field");
    let i = &e.issues()[0];
    let line = text.lines().nth(i.line - 1).expect("line in text");
    let key = i.path.rsplit('.').next().expect("key");
    assert_eq!(line[i.column - 1..].split(':').next(), Some(key), "{i:?}");
}

/// Broken SDLs made from every valid fixture: truncated, re-typed, unknown keys, bad
/// indentation, tags, several documents. Each refusal is placed.
#[test]
fn generated_broken_sdls_name_line_column_and_path() {
    let Some(dir) = fixtures() else { return };
    let mut refused = 0;
    for name in go_fixture_names(&dir) {
        let text = read(&dir.join("chain-sdk/input").join(&name).join("input.yaml"));
        let mut broken = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        for n in 0..lines.len() {
            // Every line in turn: an unknown key beside it, a wrong type, a tab, a tag.
            let edit = |f: &dyn Fn(&str) -> String| {
                let mut l = lines.clone();
                let new = f(l[n]);
                l[n] = &new;
                l.join("\n")
            };
            broken.push(edit(&|l| l.replacen(':', "_x:", 1)));
            broken.push(edit(&|l| format!("{l} [")));
            broken.push(edit(&|l| l.replacen("  ", "\t", 1)));
            broken.push(edit(&|l| l.replacen(": ", ": !custom ", 1)));
            broken.push(edit(&|l| l.replacen(": ", ": {a: [1, {b: }]}\n  # ", 1)));
            broken.push(lines[..n].join("\n"));
        }
        broken.push(format!("{text}\n---\n{text}"));
        for b in &broken {
            if let Err(e) = parse(b) {
                assert_placed(b, &e, &name);
                refused += 1;
            }
        }
    }
    assert!(refused > 1000, "only {refused} refusals");
}

#[test]
fn several_documents_are_refused_at_the_second() {
    let e = parse("version: \"2.0\"\n---\nversion: \"2.0\"\n").expect_err("two documents");
    let i = &e.issues()[0];
    assert_eq!((i.line, i.column), (2, 1), "{i:?}");
    assert!(i.message.contains("more than one YAML document"), "{i:?}");
}

#[test]
fn issues_carry_the_line_and_column_of_their_node() {
    let text = sdl_text(
        "2.0",
        "    expose:\n      - port: 0\n        to: [{global: true}]",
        RES_BASIC,
        "",
    );
    let e = parse(&text).expect_err("port 0");
    let i = e
        .issues()
        .into_iter()
        .find(|i| i.path == "services.web.expose[0].port")
        .expect("port issue");
    assert_eq!((i.line, i.column), (7, 9), "{i:?}");
    // A syntax error names the path being read.
    let e = parse("services:\n  web:\n    image: [a\n").expect_err("syntax");
    let i = &e.issues()[0];
    assert!(i.path.starts_with("services.web.image"), "{i:?}");
    assert!(i.line >= 3, "{i:?}");
    // Local tags are refused where they are.
    let e = parse("version: !two \"2.0\"\n").expect_err("tag");
    let i = &e.issues()[0];
    assert_eq!((i.line, i.path.as_str()), (1, "version"), "{i:?}");
}

/// Deep nesting is refused in milliseconds, whatever the depth (it took seconds, growing
/// with the square of the depth, before the limit).
#[test]
fn deep_nesting_is_refused_quickly_with_a_line() {
    for depth in [200usize, 40_000, 100_000, 1_000_000] {
        for (open, close) in [("[", "]"), ("{a: ", "}")] {
            let text = format!("{}{}", open.repeat(depth), close.repeat(depth));
            let started = std::time::Instant::now();
            let e = parse(&text).expect_err("deep");
            let took = started.elapsed();
            assert!(
                took < std::time::Duration::from_millis(500),
                "{depth}: {took:?}"
            );
            let i = &e.issues()[0];
            assert_eq!(i.line, 1, "{i:?}");
            assert!(
                i.message.contains("nesting deeper than 128 levels"),
                "{i:?}"
            );
        }
        // Block nesting too.
        let text: String = (0..depth.min(5_000))
            .map(|d| format!("{}k:\n", " ".repeat(d)))
            .collect();
        let started = std::time::Instant::now();
        let e = parse(&text).expect_err("deep block");
        assert!(started.elapsed() < std::time::Duration::from_millis(500));
        assert!(e.issues()[0].line >= 128, "{:?}", e.issues());
    }
}

/// Scalars resolve exactly as serde_yaml (the reader this one replaced) resolved them.
#[test]
fn scalars_resolve_as_before() {
    use super::yaml::{Kind, Node};
    let texts = [
        "",
        "~",
        "null",
        "Null",
        "NULL",
        "nul",
        "true",
        "True",
        "TRUE",
        "tRUE",
        "false",
        "FALSE",
        "yes",
        "no",
        "on",
        "0",
        "-0",
        "+0",
        "00",
        "007",
        "-007",
        "+007",
        "12",
        "+12",
        "-12",
        "+-1",
        "-+1",
        "0x1f",
        "0X1f",
        "-0x1f",
        "+0x1f",
        "0x-1",
        "0x",
        "0o17",
        "-0o17",
        "0o8",
        "0b101",
        "-0b101",
        "0b2",
        "1_000",
        "1e3",
        "1E3",
        "-1e3",
        "1.5",
        "-1.5",
        "+1.5",
        "1.",
        ".5",
        "-.5",
        "1.10",
        "1.0e+3",
        ".inf",
        ".Inf",
        ".INF",
        "+.inf",
        "-.inf",
        "-.Inf",
        ".nan",
        ".NaN",
        ".NAN",
        "+.nan",
        "-.nan",
        "inf",
        "nan",
        "infinity",
        "NaN",
        "1e400",
        "-1e400",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "170141183460469231731687303715884105727",
        "170141183460469231731687303715884105728",
        "-170141183460469231731687303715884105728",
        "-170141183460469231731687303715884105729",
        "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211456",
        "0.0000001",
        "5e-324",
        "1e-400",
        "500m",
        "1Gi",
        "2.0",
        "2.1",
        "0.1.2",
        "1 ",
        "abc",
        "'1'",
        "\"1\"",
    ];
    for t in texts {
        let doc = format!("k: {t}\n");
        let ours = match yaml::parse(&doc) {
            Ok(Node::Map(mut e, _)) if e.len() == 1 => e.remove(0).1,
            other => panic!("{t:?}: {other:?}"),
        };
        let theirs: serde_yaml::Value = match serde_yaml::from_str(&doc) {
            Ok(v) => v,
            // serde_yaml's Value has no 128-bit integers; its deserializer gave them as such
            // (as a float beyond i128, which the range checks refuse).
            Err(e) if e.to_string().contains("128") => {
                let v: f64 = t.parse().expect("a number");
                let got = match ours {
                    Node::Scalar(Kind::Int(i), ..) => i.get() as f64,
                    Node::Scalar(Kind::Float(f), ..) => f,
                    other => panic!("{t:?}: {other:?}"),
                };
                assert_eq!(got, v, "{t:?}");
                continue;
            }
            Err(e) => panic!("{t:?}: {e}"),
        };
        let theirs = &theirs["k"];
        let same = match (&ours, theirs) {
            (Node::Scalar(Kind::Null, ..), serde_yaml::Value::Null) => true,
            (Node::Scalar(Kind::Bool(a), ..), serde_yaml::Value::Bool(b)) => a == b,
            (Node::Scalar(Kind::Str, s, _), serde_yaml::Value::String(b)) => s == b,
            (Node::Scalar(Kind::Int(a), ..), serde_yaml::Value::Number(n)) => {
                n.as_i64().map(i128::from) == Some(a.get())
                    || n.as_u64().map(i128::from) == Some(a.get())
                    // serde_yaml's Value keeps beyond-64-bit integers as floats.
                    || n.as_f64() == Some(a.get() as f64)
            }
            (Node::Scalar(Kind::Float(a), ..), serde_yaml::Value::Number(n)) => {
                let b = n.as_f64().expect("float");
                (a.is_nan() && b.is_nan()) || *a == b
            }
            _ => false,
        };
        assert!(same, "{t:?}: ours {ours:?}, serde_yaml {theirs:?}");
        // A scalar keeps its source text, as Go reads it into a string field.
        if let Node::Scalar(kind, text, _) = &ours {
            if !matches!(kind, Kind::Null | Kind::Str) {
                assert_eq!(text, t.trim_end(), "{t:?}");
            }
        }
    }
}

// --- `accept` hostnames: Go's two checks -------------------------------------------------
//
// Go's parser reads every `accept` item as `url.ParseRequestURI("http://" + item)`
// (`go/sdl/expose.go`); `sdl.Read` then runs the manifest's `Validate`, which checks every
// hostname of the manifest with Kubernetes' `IsDNS1123Subdomain` (`go/manifest/v2beta3`).

/// An SDL whose deployed `web` has `accept: [host]`.
fn deployed_accept(host: &str) -> String {
    let svc = format!(
        "    expose:\n      - port: 80\n        accept: [{}]\n        to:\n          - global: true",
        serde_json::to_string(host).unwrap()
    );
    sdl_text("2.0", &svc, RES_BASIC, "")
}

/// An SDL with a second service, `idle`, that no placement deploys, with `accept: [host]`:
/// only Go's URL check applies to it.
fn undeployed_accept(host: &str) -> String {
    let idle = format!(
        "  idle:\n    image: nginx:1.27\n    expose:\n      - port: 80\n        accept: [{}]\n        to:\n          - global: true\n",
        serde_json::to_string(host).unwrap()
    );
    sdl_text("2.0", EXPOSE_GLOBAL, RES_BASIC, "").replacen(
        "profiles:",
        &format!("{idle}profiles:"),
        1,
    )
}

fn url_check_refuses(host: &str, go_error: &str) {
    let msg = refused(&undeployed_accept(host));
    let expected = format!(
        "{host:?} is not a valid accept hostname: parse {:?}: {go_error}",
        format!("http://{host}")
    );
    assert!(
        msg.contains(&expected),
        "{host}: {msg}\nexpected: {expected}"
    );
}

#[test]
fn accept_wildcard_passes_go_url_check() {
    convert_ok(&undeployed_accept("*.example.com"));
}

#[test]
fn accept_uppercase_passes_go_url_check() {
    convert_ok(&undeployed_accept("Example.com"));
}

#[test]
fn accept_port_passes_go_url_check() {
    convert_ok(&undeployed_accept("a.example.com:8080"));
}

#[test]
fn accept_userinfo_path_and_query_pass_go_url_check() {
    convert_ok(&undeployed_accept("user:pw@a.example.com/x%20y?q=%zz#f"));
}

#[test]
fn accept_non_ascii_and_escapes_of_non_ascii_pass_go_url_check() {
    convert_ok(&undeployed_accept("こんにちは.com"));
    convert_ok(&undeployed_accept("caf%C3%A9.com"));
}

#[test]
fn accept_bracketed_ipv6_passes_go_url_check() {
    convert_ok(&undeployed_accept("[::1]:80"));
    convert_ok(&undeployed_accept("[fe80::1%25eth0]"));
}

#[test]
fn accept_empty_item_passes_go_url_check() {
    // "http://" parses, with an empty host.
    convert_ok(&undeployed_accept(""));
}

#[test]
fn accept_space_refused_by_go_url_check() {
    url_check_refuses("a b.com", r#"invalid character " " in host name"#);
}

#[test]
fn accept_hash_refused_by_go_url_check() {
    // ParseRequestURI keeps `#` in the host (no fragment in a request URI).
    url_check_refuses("a.com#top", r##"invalid character "#" in host name"##);
}

#[test]
fn accept_braces_refused_by_go_url_check() {
    url_check_refuses("{a}.com", r#"invalid character "{" in host name"#);
}

#[test]
fn accept_bad_port_refused_by_go_url_check() {
    url_check_refuses("a.com:80x", r#"invalid port ":80x" after host"#);
}

#[test]
fn accept_escaped_ascii_refused_by_go_url_check() {
    url_check_refuses("a%2ecom", r#"invalid URL escape "%2e""#);
}

#[test]
fn accept_malformed_escape_refused_by_go_url_check() {
    url_check_refuses("a%zz.com", r#"invalid URL escape "%zz""#);
    url_check_refuses("a.com/%z", r#"invalid URL escape "%z""#);
}

#[test]
fn accept_control_character_refused_by_go_url_check() {
    url_check_refuses("a\tb.com", "net/url: invalid control character in URL");
}

#[test]
fn accept_bad_userinfo_refused_by_go_url_check() {
    url_check_refuses("us er@a.com", "net/url: invalid userinfo");
}

#[test]
fn accept_unclosed_bracket_refused_by_go_url_check() {
    url_check_refuses("[::1", "missing ']' in host");
}

#[test]
fn accept_bracketed_ipv4_refused_by_go_url_check() {
    url_check_refuses(
        "[10.0.0.1]",
        r#"invalid host: "10.0.0.1" is not an IPv6 address"#,
    );
}

#[test]
fn accept_deployed_wildcard_refused_by_manifest_validation() {
    let msg = refused(&deployed_accept("*.example.com"));
    assert!(
        msg.contains("\"*.example.com\" is not a valid manifest hostname")
            && msg.contains("wildcards"),
        "{msg}"
    );
    assert!(!msg.contains("accept hostname: parse"), "{msg}");
}

#[test]
fn accept_deployed_port_and_empty_refused_by_manifest_validation() {
    let msg = refused(&deployed_accept("a.example.com:8080"));
    assert!(msg.contains("is not a valid manifest hostname"), "{msg}");
    let msg = refused(&deployed_accept(""));
    assert!(
        msg.contains("\"\" is not a valid manifest hostname: it is empty"),
        "{msg}"
    );
}

#[test]
fn accept_deployed_dns1123_hostname_in_manifest() {
    let c = convert_ok(&deployed_accept("api.example-1.com"));
    let m = serde_json::to_value(&c.manifest).unwrap();
    assert_eq!(
        m[0]["services"][0]["expose"][0]["hosts"],
        json!(["api.example-1.com"])
    );
}

/// Repeated keys are refused at the repeat, in a mapping of a few keys (compared with the
/// earlier ones) and in a large one (a hash set), and a repeated name is read once.
#[test]
fn repeated_keys_are_refused_in_small_and_large_mappings() {
    let small = sdl_text("2.0", "    image: nginx:1.28", RES_BASIC, "");
    let err = convert(&small).expect_err("image twice");
    let issues = err.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].path, "services.web.image");
    assert_eq!(issues[0].message, "duplicate key");
    assert_eq!(issues[0].line, 6, "{issues:?}");

    let mut many = String::new();
    for i in 0..20 {
        many.push_str(&format!("  s{i}:\n    image: nginx:1.27\n"));
    }
    many.push_str("  s3:\n    image: nginx:1.27\n");
    let large = sdl_text("2.0", EXPOSE_GLOBAL, RES_BASIC, "").replacen(
        "services:\n",
        &format!("services:\n{many}"),
        1,
    );
    let err = convert(&large).expect_err("s3 twice");
    let dup: Vec<_> = err
        .issues()
        .into_iter()
        .filter(|i| i.message == "duplicate key")
        .collect();
    assert_eq!(dup.len(), 1, "{err}");
    assert_eq!(dup[0].path, "services.s3");
    assert_eq!(dup[0].line, 44, "{dup:?}");
}
