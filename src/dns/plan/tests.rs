use super::*;

const Z: &str = "example.com";

fn a(name: &str, ips: &[&str]) -> Rrset {
    Rrset::new(name, RecordType::A, 300, ips.iter().map(|s| s.to_string()))
}
fn cname(name: &str, to: &str) -> Rrset {
    Rrset::new(name, RecordType::Cname, 300, [to.to_string()])
}
fn txt(name: &str, v: &str) -> Rrset {
    Rrset::new(name, RecordType::Txt, 300, [v.to_string()])
}
fn owner(name: &str, id: &str, types: &[RecordType]) -> Rrset {
    txt(
        &owner_name(name),
        &owner_value(id, &types.iter().cloned().collect()),
    )
}
fn pol() -> PlanPolicy {
    PlanPolicy::sync("prod")
}
fn upsert() -> PlanPolicy {
    PlanPolicy {
        upsert_only: true,
        ..pol()
    }
}
fn soa_ns() -> Vec<Rrset> {
    vec![
        Rrset::new(
            Z,
            RecordType::Other("SOA".into()),
            60,
            ["ns1 host 1 2 3 4 5".to_string()],
        ),
        Rrset::new(
            Z,
            RecordType::Other("NS".into()),
            60,
            ["ns1.example.com".to_string()],
        ),
    ]
}

/// Applies a plan's changes to `current` as a provider would.
fn applied(current: &[Rrset], p: &Plan) -> Vec<Rrset> {
    let mut m: BTreeMap<_, _> = current.iter().map(|r| (r.key(), r.clone())).collect();
    for c in &p.changes {
        match c {
            Change::Create(r) => assert!(m.insert(r.key(), r.clone()).is_none(), "create over {r}"),
            Change::Update { from, to } => {
                assert_eq!(m.get(&from.key()), Some(from));
                m.insert(to.key(), to.clone());
            }
            Change::Delete(r) => assert!(m.remove(&r.key()).is_some(), "delete of absent {r}"),
        }
    }
    m.into_values().collect()
}

#[test]
fn creates_records_and_their_ownership_on_an_empty_zone() {
    let want = vec![
        a("api.example.com", &["192.0.2.1"]),
        cname("www.example.com", "lb.example.net"),
    ];
    let p = plan(Z, &want, &soa_ns(), &pol());
    assert_eq!(p.counts(), (4, 0, 0));
    // Ownership first, then the records.
    assert_eq!(
        p.changes[0],
        Change::Create(owner("api.example.com", "prod", &[RecordType::A]))
    );
    assert_eq!(
        p.changes[1],
        Change::Create(owner("www.example.com", "prod", &[RecordType::Cname]))
    );
    assert!(p.changes[2..]
        .iter()
        .all(|c| matches!(c, Change::Create(r) if !r.name.starts_with("_af-owner"))));
    assert!(p.conflicts.is_empty() && p.refusal.is_none());
}

#[test]
fn a_zone_in_sync_needs_nothing_and_replanning_after_apply_is_empty() {
    let want = vec![
        a("api.example.com", &["192.0.2.1", "192.0.2.2"]),
        txt("_dnslink.docs.example.com", "dnslink=/ipfs/bafy"),
        a("example.com", &["192.0.2.9"]),
        cname("*.fn.example.com", "proxy.example.net"),
    ];
    let p = plan(Z, &want, &soa_ns(), &pol());
    let after = applied(&soa_ns(), &p);
    let again = plan(Z, &want, &after, &pol());
    assert!(again.is_empty(), "{:?}", again.changes);
    assert!(again.conflicts.is_empty());
}

#[test]
fn updates_owned_records_whose_values_or_ttl_changed() {
    let cur = vec![
        a("api.example.com", &["192.0.2.1"]),
        owner("api.example.com", "prod", &[RecordType::A]),
    ];
    let want = vec![a("api.example.com", &["192.0.2.7"])];
    let p = plan(Z, &want, &cur, &pol());
    assert_eq!(
        p.changes,
        vec![Change::Update {
            from: cur[0].clone(),
            to: want[0].clone()
        }]
    );
    let mut ttl = want[0].clone();
    ttl.values = cur[0].values.clone();
    ttl.ttl = 60;
    let p = plan(Z, std::slice::from_ref(&ttl), &cur, &pol());
    assert_eq!(p.counts(), (0, 1, 0));
}

#[test]
fn hand_edits_of_our_records_are_restored() {
    let want = vec![a("api.example.com", &["192.0.2.1"])];
    let mut cur = applied(&[], &plan(Z, &want, &[], &pol()));
    // Someone edits the value by hand.
    cur.retain(|r| r.rtype != RecordType::A);
    cur.push(a("api.example.com", &["203.0.113.66"]));
    let p = plan(Z, &want, &cur, &pol());
    assert_eq!(p.counts(), (0, 1, 0));
    assert_eq!(
        applied(&cur, &p).iter().find(|r| r.rtype == RecordType::A),
        Some(&want[0])
    );
    // Or deletes it.
    cur.retain(|r| r.rtype != RecordType::A);
    let p = plan(Z, &want, &cur, &pol());
    assert_eq!(p.changes, vec![Change::Create(want[0].clone())]);
}

#[test]
fn sync_deletes_owned_records_no_longer_wanted_and_their_ownership_last() {
    let cur = vec![
        a("old.example.com", &["192.0.2.1"]),
        owner("old.example.com", "prod", &[RecordType::A]),
    ];
    let p = plan(Z, &[], &cur, &pol());
    assert_eq!(
        p.changes,
        vec![
            Change::Delete(cur[0].clone()),
            Change::Delete(cur[1].clone())
        ]
    );
}

#[test]
fn upsert_only_never_deletes_and_keeps_the_ownership() {
    let cur = vec![
        a("old.example.com", &["192.0.2.1"]),
        owner("old.example.com", "prod", &[RecordType::A]),
    ];
    let p = plan(Z, &[], &cur, &upsert());
    assert!(p.is_empty());
    assert_eq!(p.kept, vec![cur[0].clone()]);
    // Creates and updates still happen.
    let want = vec![a("new.example.com", &["192.0.2.2"])];
    let p = plan(Z, &want, &cur, &upsert());
    assert_eq!(p.counts(), (2, 0, 0));
}

#[test]
fn records_without_our_ownership_are_never_touched() {
    // A hand-made record at a name we want: a conflict, not an overwrite.
    let cur = vec![
        a("api.example.com", &["198.51.100.1"]),
        txt("hand.example.com", "keep me"),
    ];
    let want = vec![a("api.example.com", &["192.0.2.1"])];
    let p = plan(Z, &want, &cur, &pol());
    assert!(p.is_empty(), "{:?}", p.changes);
    assert_eq!(p.conflicts.len(), 1);
    assert!(p.conflicts[0].reason.contains("without our ownership"));
    // And nothing unowned is deleted under sync.
    let p = plan(Z, &[], &cur, &pol());
    assert!(p.is_empty());
}

#[test]
fn another_owners_names_are_left_alone() {
    let cur = vec![
        a("api.example.com", &["198.51.100.1"]),
        owner("api.example.com", "staging", &[RecordType::A]),
    ];
    let want = vec![
        a("api.example.com", &["192.0.2.1"]),
        Rrset::new(
            "api.example.com",
            RecordType::Aaaa,
            300,
            ["2001:db8::1".to_string()],
        ),
    ];
    let p = plan(Z, &want, &cur, &pol());
    assert!(p.is_empty());
    assert_eq!(p.conflicts.len(), 2);
    assert!(p
        .conflicts
        .iter()
        .all(|c| c.reason.contains("owned by staging")));
    // Staging's own plan sees prod's nothing, and keeps its record.
    let p = plan(
        Z,
        &[a("api.example.com", &["198.51.100.1"])],
        &cur,
        &PlanPolicy::sync("staging"),
    );
    assert!(p.is_empty() && p.conflicts.is_empty());
}

#[test]
fn two_owners_share_a_zone_without_interfering() {
    let prod = vec![a("api.example.com", &["192.0.2.1"])];
    let staging = vec![a("api.staging.example.com", &["192.0.2.50"])];
    let z0 = soa_ns();
    let z1 = applied(&z0, &plan(Z, &prod, &z0, &pol()));
    let z2 = applied(&z1, &plan(Z, &staging, &z1, &PlanPolicy::sync("staging")));
    assert!(plan(Z, &prod, &z2, &pol()).is_empty());
    assert!(plan(Z, &staging, &z2, &PlanPolicy::sync("staging")).is_empty());
    // Prod dropping everything deletes only its own.
    let z3 = applied(&z2, &plan(Z, &[], &z2, &pol()));
    assert!(z3.iter().any(|r| r.name == "api.staging.example.com"));
    assert!(!z3.iter().any(|r| r.name == "api.example.com"));
}

#[test]
fn an_unreadable_ownership_value_counts_as_someone_elses() {
    let cur = vec![
        a("api.example.com", &["192.0.2.1"]),
        txt("_af-owner.api.example.com", "heritage=other"),
    ];
    let p = plan(Z, &[], &cur, &pol());
    assert!(p.is_empty());
    let p = plan(Z, &[a("api.example.com", &["192.0.2.2"])], &cur, &pol());
    assert!(p.is_empty() && p.conflicts.len() == 1);
}

#[test]
fn ownership_covers_only_the_listed_types() {
    // We own the A at the name; a hand-made MX and TXT stand beside it.
    let mx = Rrset::new(
        "api.example.com",
        RecordType::Other("MX".into()),
        300,
        ["10 mail.example.com".to_string()],
    );
    let hand_txt = txt("api.example.com", "v=spf1 -all");
    let cur = vec![
        a("api.example.com", &["192.0.2.1"]),
        owner("api.example.com", "prod", &[RecordType::A]),
        mx.clone(),
        hand_txt.clone(),
    ];
    let p = plan(Z, &[], &cur, &pol());
    assert_eq!(p.counts(), (0, 0, 2));
    let after = applied(&cur, &p);
    assert!(after.contains(&mx) && after.contains(&hand_txt));
    // Wanting a TXT there too would overwrite the hand-made one: refused.
    let p = plan(
        Z,
        &[
            a("api.example.com", &["192.0.2.1"]),
            txt("api.example.com", "mine"),
        ],
        &cur,
        &pol(),
    );
    assert!(p.is_empty());
    assert_eq!(p.conflicts.len(), 1);
}

#[test]
fn a_new_type_at_an_owned_name_widens_the_ownership_first() {
    let cur = vec![
        a("api.example.com", &["192.0.2.1"]),
        owner("api.example.com", "prod", &[RecordType::A]),
    ];
    let aaaa = Rrset::new(
        "api.example.com",
        RecordType::Aaaa,
        300,
        ["2001:db8::1".to_string()],
    );
    let p = plan(
        Z,
        &[a("api.example.com", &["192.0.2.1"]), aaaa.clone()],
        &cur,
        &pol(),
    );
    assert_eq!(
        p.changes,
        vec![
            Change::Update {
                from: cur[1].clone(),
                to: owner(
                    "api.example.com",
                    "prod",
                    &[RecordType::A, RecordType::Aaaa]
                )
            },
            Change::Create(aaaa)
        ]
    );
    // And dropping a type narrows it.
    let after = applied(&cur, &p);
    let p = plan(Z, &[a("api.example.com", &["192.0.2.1"])], &after, &pol());
    assert_eq!(p.counts(), (0, 1, 1));
    assert!(
        matches!(&p.changes[0], Change::Update { to, .. } if to == &owner("api.example.com", "prod", &[RecordType::A]))
    );
}

#[test]
fn our_a_is_replaced_by_a_cname_deletes_before_creates() {
    let cur = vec![
        a("api.example.com", &["192.0.2.1"]),
        owner("api.example.com", "prod", &[RecordType::A]),
    ];
    let want = vec![cname("api.example.com", "ingress.provider.net")];
    for policy in [pol(), upsert()] {
        let p = plan(Z, &want, &cur, &policy);
        assert_eq!(
            p.changes,
            vec![
                Change::Update {
                    from: cur[1].clone(),
                    to: owner("api.example.com", "prod", &[RecordType::Cname])
                },
                Change::Delete(cur[0].clone()),
                Change::Create(want[0].clone()),
            ]
        );
    }
}

#[test]
fn a_cname_is_not_created_beside_records_we_do_not_own() {
    let cur = vec![txt("api.example.com", "hand made")];
    let p = plan(
        Z,
        &[cname("api.example.com", "x.example.net")],
        &cur,
        &pol(),
    );
    assert!(p.is_empty());
    assert!(p.conflicts[0].reason.contains("TXT record we do not own"));
    // Nor an A beside a CNAME we do not own.
    let cur = vec![cname("api.example.com", "elsewhere.example.net")];
    let p = plan(Z, &[a("api.example.com", &["192.0.2.1"])], &cur, &pol());
    assert!(p.is_empty());
    assert!(p.conflicts[0].reason.contains("CNAME record we do not own"));
}

#[test]
fn a_cname_wanted_beside_other_types_yields_to_them() {
    let want = vec![
        a("api.example.com", &["192.0.2.1"]),
        cname("api.example.com", "x.example.net"),
    ];
    let p = plan(Z, &want, &[], &pol());
    assert_eq!(p.counts(), (2, 0, 0));
    assert_eq!(p.conflicts.len(), 1);
    assert_eq!(p.conflicts[0].rrset.rtype, RecordType::Cname);
}

#[test]
fn desired_records_outside_the_zone_or_on_ownership_names_are_ignored() {
    let want = vec![
        a("api.example.org", &["192.0.2.1"]),
        a("badexample.com", &["192.0.2.1"]),
        txt("_af-owner.x.example.com", "forged"),
    ];
    let p = plan(Z, &want, &[], &pol());
    assert!(p.is_empty());
    assert_eq!(p.outside.len(), 3);
}

#[test]
fn duplicate_desired_rrsets_are_merged() {
    let want = vec![
        a("api.example.com", &["192.0.2.2"]),
        Rrset {
            ttl: 60,
            ..a("API.example.com.", &["192.0.2.1"])
        },
    ];
    let p = plan(Z, &want, &[], &pol());
    assert_eq!(p.counts(), (2, 0, 0));
    let r = p.changes[1].rrset();
    assert_eq!(
        (r.ttl, r.values.clone()),
        (60, vec!["192.0.2.1".to_string(), "192.0.2.2".to_string()])
    );
}

#[test]
fn wildcard_and_apex_names_have_ownership_names_that_round_trip() {
    assert_eq!(
        owner_name("*.fn.example.com"),
        "_af-owner._wildcard.fn.example.com"
    );
    assert_eq!(
        managed_name("_af-owner._wildcard.fn.example.com").as_deref(),
        Some("*.fn.example.com")
    );
    assert_eq!(owner_name("example.com"), "_af-owner.example.com");
    assert_eq!(
        managed_name("_af-owner.example.com").as_deref(),
        Some("example.com")
    );
    assert_eq!(
        managed_name("_af-owner._wildcardx.example.com").as_deref(),
        Some("_wildcardx.example.com")
    );
    assert_eq!(managed_name("api.example.com"), None);
    let types: BTreeSet<_> = [RecordType::Txt, RecordType::A].into_iter().collect();
    let v = owner_value("prod", &types);
    assert_eq!(
        v,
        "heritage=af-operator,af-operator/owner=prod,af-operator/types=A+TXT"
    );
    assert_eq!(parse_owner_value(&v), Some(("prod".to_string(), types)));
    assert_eq!(
        parse_owner_value("heritage=af-operator,af-operator/owner=,af-operator/types=A"),
        None
    );
    assert_eq!(
        parse_owner_value("heritage=external-dns,external-dns/owner=default"),
        None
    );
}

fn owned_zone(n: usize) -> (Vec<Rrset>, Vec<Rrset>) {
    let want: Vec<Rrset> = (0..n)
        .map(|i| a(&format!("h{i}.example.com"), &["192.0.2.1"]))
        .collect();
    let cur = applied(&[], &plan(Z, &want, &[], &pol()));
    (want, cur)
}

#[test]
fn a_plan_deleting_more_than_the_threshold_is_refused() {
    let (want, cur) = owned_zone(10);
    // 3 of 10 is 30%: allowed.
    let p = plan(Z, &want[3..], &cur, &pol());
    assert_eq!(p.counts().2, 6);
    assert!(p.refusal.is_none());
    // 4 of 10 is 40%: refused, and the plan still lists the changes.
    let p = plan(Z, &want[4..], &cur, &pol());
    assert_eq!(
        p.refusal,
        Some(Refusal {
            deletes: 4,
            existing: 10,
            max_percent: 30
        })
    );
    assert_eq!(p.counts().2, 8);
    assert!(p
        .refusal
        .as_ref()
        .is_some_and(|r| r.to_string().contains("4 of the zone's 10")));
    // Unless the zone allows it.
    let allow = PlanPolicy {
        max_delete_percent: 100,
        ..pol()
    };
    assert!(plan(Z, &[], &cur, &allow).refusal.is_none());
    let strict = PlanPolicy {
        max_delete_percent: 0,
        ..pol()
    };
    assert!(plan(Z, &want[1..], &cur, &strict).refusal.is_some());
}

#[test]
fn small_zones_are_not_guarded_and_foreign_records_count_in_the_zone() {
    let (_, cur) = owned_zone(9);
    assert!(plan(Z, &[], &cur, &pol()).refusal.is_none());
    // 3 owned + 7 foreign: deleting our 3 is 30% of 10.
    let (_, mut cur) = owned_zone(3);
    for i in 0..7 {
        cur.push(txt(&format!("hand{i}.example.com"), "x"));
    }
    let p = plan(Z, &[], &cur, &pol());
    assert_eq!(p.counts().2, 6);
    assert!(p.refusal.is_none());
    cur.pop();
    assert!(
        plan(Z, &[], &cur, &pol()).refusal.is_none(),
        "9 rrsets: below the minimum"
    );
}

#[test]
fn replacing_a_type_counts_as_a_delete_for_the_guard() {
    let (_, cur) = owned_zone(10);
    let want: Vec<Rrset> = (0..10)
        .map(|i| cname(&format!("h{i}.example.com"), "lb.example.net"))
        .collect();
    let p = plan(Z, &want, &cur, &pol());
    assert!(p.refusal.is_some());
}

#[test]
fn random_zones_converge_in_one_plan_and_never_lose_foreign_records() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(13);
    for _ in 0..300 {
        let mut cur = soa_ns();
        for i in 0..rng.gen_range(0..6) {
            let n = format!("n{}.example.com", rng.gen_range(0..8));
            cur.push(match i % 3 {
                0 => txt(&n, "foreign"),
                1 => a(&n, &["198.51.100.1"]),
                _ => cname(&n, "foreign.example.net"),
            });
        }
        cur.sort();
        cur.dedup_by(|x, y| x.key() == y.key());
        let foreign = cur.clone();
        let mut state = cur;
        for _round in 0..3 {
            let want: Vec<Rrset> = (0..rng.gen_range(0..6))
                .map(|_| {
                    let n = format!("n{}.example.com", rng.gen_range(0..8));
                    match rng.gen_range(0..3) {
                        0 => a(&n, &[&format!("192.0.2.{}", rng.gen_range(1..4))]),
                        1 => cname(&n, "lb.example.net"),
                        _ => txt(&n, "mine"),
                    }
                })
                .collect();
            let policy = PlanPolicy {
                max_delete_percent: 100,
                upsert_only: rng.gen_bool(0.3),
                ..pol()
            };
            let p = plan(Z, &want, &state, &policy);
            state = applied(&state, &p);
            let again = plan(Z, &want, &state, &policy);
            assert!(again.is_empty(), "not converged: {:?}", again.changes);
            for f in &foreign {
                assert!(state.contains(f), "foreign {f} lost");
            }
        }
    }
}
