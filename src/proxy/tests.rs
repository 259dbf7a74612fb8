use super::*;

fn rt(name: &str, domain: &str, nodes: &[&str]) -> RuntimeRoute {
    RuntimeRoute {
        name: name.into(),
        wildcard_domain: domain.into(),
        nodes: nodes.iter().map(|s| s.to_string()).collect(),
    }
}

/// What a Pingap that applied `changes` to `current` holds.
fn apply(current: &Configs, changes: &[Change]) -> Configs {
    let mut c = current.clone();
    for ch in changes {
        match ch {
            Change::Put(cat, n, v) => {
                c.insert((cat.clone(), n.clone()), v.clone());
            }
            Change::Delete(cat, n) => {
                c.remove(&(cat.clone(), n.clone()));
            }
        }
    }
    c
}

#[test]
fn a_runtime_gets_an_upstream_a_location_and_both_servers() {
    let d = desired_config(
        &[rt(
            "edge",
            "*.af-functions.dev",
            &["b.ingress.p2", "a.ingress.p1"],
        )],
        &Configs::new(),
    );
    let up = &d.configs[&("upstream".into(), "af-fr-edge".into())];
    assert_eq!(up["addrs"], json!(["b.ingress.p2:80", "a.ingress.p1:80"]));
    let loc = &d.configs[&("location".into(), "af-fr-edge".into())];
    assert_eq!(loc["upstream"], "af-fr-edge");
    assert_eq!(loc["host"], "~^[a-z0-9-]+\\.af-functions\\.dev$");
    assert_eq!(loc["path"], "/");
    let http = &d.configs[&("server".into(), "af-http".into())];
    assert_eq!(http["addr"], "0.0.0.0:80");
    assert_eq!(http["locations"], json!(["af-fr-edge"]));
    let https = &d.configs[&("server".into(), "af-https".into())];
    assert_eq!(https["global_certificates"], true);
    assert_eq!(d.routes.len(), 1);
    assert_eq!(d.routes[0].source, "functionruntime/edge");
    assert!(!d.routes[0].held);
    // The regex accepts one label under the domain and nothing else.
    let re = regex_of(loc["host"].as_str().unwrap());
    assert!(re.is_match("users.af-functions.dev"));
    assert!(!re.is_match("af-functions.dev"));
    assert!(!re.is_match("a.b.af-functions.dev"));
    assert!(!re.is_match("usersxaf-functions.dev"));
}

fn regex_of(host: &str) -> regex::Regex {
    regex::Regex::new(host.strip_prefix('~').unwrap()).unwrap()
}

#[test]
fn the_plan_creates_in_dependency_order_and_is_idempotent() {
    let d = desired_config(&[rt("edge", "af-functions.dev", &["a"])], &Configs::new());
    let changes = plan(&d, &Configs::new());
    let order: Vec<String> = changes
        .iter()
        .map(|c| match c {
            Change::Put(c, n, _) => format!("put {c}/{n}"),
            Change::Delete(c, n) => format!("delete {c}/{n}"),
        })
        .collect();
    assert_eq!(
        order,
        [
            "put upstream/af-fr-edge",
            "put location/af-fr-edge",
            "put server/af-http",
            "put server/af-https"
        ]
    );
    let after = apply(&Configs::new(), &changes);
    assert!(plan(
        &desired_config(&[rt("edge", "af-functions.dev", &["a"])], &after),
        &after
    )
    .is_empty());
}

#[test]
fn defaults_the_proxy_adds_are_not_a_difference() {
    let d = desired_config(&[rt("edge", "af-functions.dev", &["a"])], &Configs::new());
    let mut current = apply(&Configs::new(), &plan(&d, &Configs::new()));
    for v in current.values_mut() {
        v["weight"] = json!(0);
    }
    assert!(plan(&d, &current).is_empty());
    // A real difference is one.
    current
        .get_mut(&("upstream".into(), "af-fr-edge".into()))
        .unwrap()["addrs"] = json!(["z:80"]);
    assert_eq!(plan(&d, &current).len(), 1);
}

#[test]
fn only_owned_orphans_are_deleted_and_after_the_servers_stop_naming_them() {
    let before = apply(
        &Configs::new(),
        &plan(
            &desired_config(
                &[
                    rt("old", "old.dev", &["o"]),
                    rt("edge", "af-functions.dev", &["a"]),
                ],
                &Configs::new(),
            ),
            &Configs::new(),
        ),
    );
    let mut current = before.clone();
    current.insert(
        ("upstream".into(), "hand-made".into()),
        json!({"addrs": ["x:1"]}),
    );
    current.insert(
        ("location".into(), "hand-made".into()),
        json!({"upstream": "hand-made"}),
    );
    let d = desired_config(&[rt("edge", "af-functions.dev", &["a"])], &current);
    let changes = plan(&d, &current);
    let deletes: Vec<String> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Delete(c, n) => Some(format!("{c}/{n}")),
            _ => None,
        })
        .collect();
    assert_eq!(deletes, ["location/af-fr-old", "upstream/af-fr-old"]);
    // Servers are put (their lists updated) before anything is deleted.
    let first_delete = changes
        .iter()
        .position(|c| matches!(c, Change::Delete(..)))
        .unwrap();
    assert!(changes[..first_delete]
        .iter()
        .any(|c| matches!(c, Change::Put(cat, _, _) if cat == "server")));
    let after = apply(&current, &changes);
    assert!(after.contains_key(&("upstream".into(), "hand-made".into())));
    assert_eq!(
        after[&("server".into(), "af-http".into())]["locations"],
        json!(["af-fr-edge"])
    );
}

#[test]
fn a_runtime_with_no_healthy_node_keeps_what_the_proxy_had() {
    let had = apply(
        &Configs::new(),
        &plan(
            &desired_config(
                &[rt("edge", "af-functions.dev", &["a", "b"])],
                &Configs::new(),
            ),
            &Configs::new(),
        ),
    );
    let d = desired_config(&[rt("edge", "af-functions.dev", &[])], &had);
    assert!(plan(&d, &had).is_empty(), "{:?}", plan(&d, &had));
    assert_eq!(d.routes.len(), 1);
    assert!(d.routes[0].held);
    assert_eq!(d.routes[0].addrs, ["a:80", "b:80"]);
    // With nothing to hold, nothing is routed.
    let none = desired_config(&[rt("edge", "af-functions.dev", &[])], &Configs::new());
    assert!(none.routes.is_empty());
    assert_eq!(
        none.configs[&("server".into(), "af-http".into())]["locations"],
        json!([])
    );
}

#[test]
fn the_authorization_is_pingaps_token() {
    let a = pingap::authorization("pingap", "123123", 1_700_000_000);
    let (token, ts) = a.split_once(':').unwrap();
    assert_eq!(ts, "1700000000");
    assert_eq!(
        token,
        hex::encode(sha2::Sha256::digest(b"pingap:123123:1700000000"))
    );
    let e = AdminEndpoint {
        url: "http://h:1".into(),
        user: "u".into(),
        password: zeroize::Zeroizing::new("hunter2".into()),
    };
    assert!(!format!("{e:?}").contains("hunter2"));
}

use sha2::Digest;
