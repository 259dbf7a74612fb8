//! The planner, phase by phase, with no I/O.

use super::*;
use crate::akash::proto::market::v1::{BidID, LeaseID};
use crate::reconcile::status::{BiddingStatus, LeaseStatus};
use crate::sdl::GroupSpec;
use crate::store::{DeploymentIntent, IntentState};

const OWNER: &str = "akash1owner";

fn group(name: &str) -> GroupSpec {
    GroupSpec {
        name: name.into(),
        ..GroupSpec::default()
    }
}

fn desired() -> Desired {
    Desired {
        generation: 1,
        groups: vec![group("akash")],
        version: "v1".into(),
        allow: vec![],
        deny: vec![],
        health_checked: true,
        failure_threshold: 3,
        escrow: None,
    }
}

fn intent(dseq: u64, state: IntentState, version: &str) -> DeploymentIntent {
    DeploymentIntent {
        owner: OWNER.into(),
        dseq,
        resource_uid: "uid".into(),
        resource_key: "agent/p/a".into(),
        generation: 1,
        manifest_version: version.into(),
        deposit: "5000000uact".into(),
        state,
        created_at: String::new(),
        updated_at: String::new(),
    }
}

fn dep(version: &str, groups: &[&str]) -> ChainDeployment {
    ChainDeployment {
        active: true,
        hash: version.into(),
        groups: groups
            .iter()
            .enumerate()
            .map(|(i, g)| (i as u32 + 1, group(g), GroupPhase::Open))
            .collect(),
        ..ChainDeployment::default()
    }
}

fn bid(dseq: u64, gseq: u32, provider: &str) -> BidID {
    BidID {
        owner: OWNER.into(),
        dseq,
        gseq,
        oseq: 1,
        provider: provider.into(),
        bseq: 1,
    }
}

fn lease(dseq: u64, gseq: u32, provider: &str) -> LeaseID {
    LeaseID {
        owner: OWNER.into(),
        dseq,
        gseq,
        oseq: 1,
        provider: provider.into(),
        bseq: 1,
    }
}

fn obs() -> Observed {
    Observed {
        now_ms: 100_000,
        has_finalizer: true,
        ..Observed::default()
    }
}

fn t() -> Timing {
    Timing {
        bid_window: Duration::from_secs(2),
        bid_timeout: Duration::from_secs(60),
        poll: Duration::from_secs(1),
        ..Timing::default()
    }
}

fn tracked_lease(l: &LeaseID, version: Option<&str>) -> LeaseStatus {
    LeaseStatus {
        dseq: l.dseq.to_string(),
        gseq: l.gseq,
        oseq: l.oseq,
        provider: l.provider.clone(),
        state: "active".into(),
        manifest_version: version.map(String::from),
        ..LeaseStatus::default()
    }
}

#[test]
fn a_new_resource_gets_its_finalizer_then_a_deployment() {
    let mut o = obs();
    o.has_finalizer = false;
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(p.steps, vec![Step::AddFinalizer, Step::CreateDeployment]);
    assert_eq!(p.phase, Phase::Deploying);
}

#[test]
fn a_pending_intent_not_on_chain_is_sent_again_with_the_same_dseq() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Pending, "v1")];
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(p.steps, vec![Step::ResendCreate { dseq: 7 }]);
}

#[test]
fn a_pending_create_that_may_still_land_is_waited_for_not_sent_again() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Pending, "v1")];
    o.in_flight.insert(7, 120);
    let p = plan(Some(&desired()), &o, &t());
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(p.phase, Phase::Deploying);
    assert_eq!(p.reason, "CreatePending");
    assert!(p.message.contains("120"), "{}", p.message);
    assert_eq!(p.wait, Some(t().poll));
    assert_eq!(p.current, Some(7));
    // Once it provably never lands (no longer in flight), it is sent again.
    o.in_flight.clear();
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(p.steps, vec![Step::ResendCreate { dseq: 7 }]);
}

#[test]
fn a_pending_intent_on_chain_with_its_version_is_adopted_never_repeated() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Pending, "v1")];
    o.chain.insert(7, dep("v1", &["akash"]));
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(p.steps, vec![Step::Adopt { dseq: 7 }]);
}

#[test]
fn a_deployment_with_another_version_is_not_taken_as_ours() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Pending, "v1")];
    o.chain.insert(7, dep("other", &["akash"]));
    let p = plan(Some(&desired()), &o, &t());
    assert!(matches!(p.steps[0], Step::Forget { dseq: 7, .. }));
    assert_eq!(p.steps[1], Step::CreateDeployment);
}

#[test]
fn bids_wait_for_the_window_then_the_cheapest_wins_ties_by_address() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    let mut d = dep("v1", &["akash"]);
    d.bids = vec![
        (bid(7, 1, "akash1c"), 5.0),
        (bid(7, 1, "akash1b"), 3.0),
        (bid(7, 1, "akash1a"), 3.0),
    ];
    o.chain.insert(7, d);
    // First sight of the bids: wait the window.
    let p = plan(Some(&desired()), &o, &t());
    assert!(p.steps.is_empty());
    assert_eq!(p.phase, Phase::Bidding);
    assert_eq!(p.wait, Some(Duration::from_secs(2)), "the whole window");
    // Window over.
    o.status.bidding = vec![BiddingStatus {
        dseq: "7".into(),
        gseq: 1,
        oseq: 1,
        since_ms: 90_000,
        first_bid_ms: Some(97_000),
        bids: 3,
    }];
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(
        p.steps,
        vec![Step::CreateLease {
            bid: bid(7, 1, "akash1a"),
            price: 3.0
        }]
    );
    assert_eq!(p.phase, Phase::Leasing);
}

#[test]
fn the_bid_window_ends_once_every_matching_provider_has_bid() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    let mut d = dep("v1", &["akash"]);
    d.bids = vec![(bid(7, 1, "akash1a"), 3.0), (bid(7, 1, "akash1b"), 5.0)];
    o.chain.insert(7, d);
    o.status.bidding = vec![BiddingStatus {
        dseq: "7".into(),
        gseq: 1,
        oseq: 1,
        since_ms: 99_000,
        first_bid_ms: Some(99_900),
        bids: 2,
    }];
    // A third matching provider has not bid: the window runs.
    o.placement.insert(
        (7, 1),
        PlacementMatch {
            matching: vec!["akash1a".into(), "akash1b".into(), "akash1c".into()],
            total: 4,
        },
    );
    let p = plan(Some(&desired()), &o, &t());
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    // It is excluded after faults (it cannot win): every one that can has bid.
    o.status.excluded = vec![excluded("akash1c", o.now_ms + 1)];
    let p = plan(Some(&desired()), &o, &t());
    assert!(
        matches!(&p.steps[..], [Step::CreateLease { bid, .. }] if bid.provider == "akash1a"),
        "{:?}",
        p.steps
    );
    // Likewise when the spec's allow list leaves it out.
    o.status.excluded.clear();
    let mut want = desired();
    want.allow = vec!["akash1a".into(), "akash1b".into()];
    let p = plan(Some(&want), &o, &t());
    assert!(matches!(&p.steps[..], [Step::CreateLease { .. }]));
}

#[test]
fn denied_providers_never_win_and_allow_lists_restrict() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    let mut d = dep("v1", &["akash"]);
    d.bids = vec![(bid(7, 1, "akash1a"), 1.0), (bid(7, 1, "akash1b"), 2.0)];
    o.chain.insert(7, d);
    o.status.bidding = vec![BiddingStatus {
        dseq: "7".into(),
        gseq: 1,
        oseq: 1,
        since_ms: 0,
        first_bid_ms: Some(0),
        bids: 2,
    }];
    let mut want = desired();
    want.deny = vec!["akash1a".into()];
    let p = plan(Some(&want), &o, &t());
    assert!(matches!(&p.steps[0], Step::CreateLease { bid, .. } if bid.provider == "akash1b"));
    want.deny.clear();
    want.allow = vec!["akash1z".into()];
    let p = plan(Some(&want), &o, &t());
    assert!(p.steps.is_empty());
    assert_eq!(p.phase, Phase::Bidding);
}

#[test]
fn no_bids_after_the_timeout_says_so_and_keeps_waiting() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    o.chain.insert(7, dep("v1", &["akash"]));
    o.status.bidding = vec![BiddingStatus {
        dseq: "7".into(),
        gseq: 1,
        oseq: 1,
        since_ms: 0,
        first_bid_ms: None,
        bids: 0,
    }];
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(p.reason, "NoBids");
    assert!(p.message.contains("maxPrice"), "{}", p.message);
    assert!(p.steps.is_empty());
    // 40 s past the 60 s timeout: looked at again with backoff (a quarter of that), at most 30 s.
    assert_eq!(p.wait, Some(Duration::from_secs(10)));
    o.now_ms = 61_000;
    assert_eq!(
        plan(Some(&desired()), &o, &t()).wait,
        Some(Duration::from_secs(1))
    );
    o.now_ms = 1_000_000;
    assert_eq!(
        plan(Some(&desired()), &o, &t()).wait,
        Some(Duration::from_secs(30))
    );
    o.now_ms = 100_000;
    // With the providers on chain read: which of them match the placement.
    o.status.excluded = vec![excluded("akash1b", o.now_ms + 1)];
    o.placement.insert(
        (7, 1),
        PlacementMatch {
            matching: vec!["akash1a".into(), "akash1b".into()],
            total: 3,
        },
    );
    let p = plan(Some(&desired()), &o, &t());
    assert!(
        p.message
            .contains("2 of the 3 providers on chain match its placement: akash1a, akash1b (excluded after faults)"),
        "{}",
        p.message
    );
    o.placement.insert(
        (7, 1),
        PlacementMatch {
            matching: vec![],
            total: 3,
        },
    );
    let p = plan(Some(&desired()), &o, &t());
    assert!(
        p.message
            .contains("no provider of the 3 on chain matches its placement"),
        "{}",
        p.message
    );
}

#[test]
fn a_lease_gets_the_manifest_then_waits_for_replicas_and_health_then_ready() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    let l = lease(7, 1, "akash1p");
    let mut d = dep("v1", &["akash"]);
    d.leases = vec![l.clone()];
    o.chain.insert(7, d);
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(p.steps, vec![Step::SendManifest { lease: l.clone() }]);
    assert_eq!(p.phase, Phase::Starting);

    o.status.leases = vec![tracked_lease(&l, Some("v1"))];
    let p = plan(Some(&desired()), &o, &t());
    assert!(p.steps.is_empty());
    assert_eq!(p.phase, Phase::Starting);

    o.health.insert(
        lease_key(&l),
        LeaseHealth {
            available: true,
            healthy: true,
            uris: vec![],
            ..LeaseHealth::default()
        },
    );
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(p.phase, Phase::Ready);
    assert!(p.synced);
}

#[test]
fn an_unhealthy_lease_past_the_threshold_is_closed_and_its_provider_excluded() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    let l = lease(7, 1, "akash1p");
    let mut d = dep("v1", &["akash"]);
    d.leases = vec![l.clone()];
    o.chain.insert(7, d);
    let mut tracked = tracked_lease(&l, Some("v1"));
    tracked.health_failures = 3;
    o.status.leases = vec![tracked];
    o.health.insert(
        lease_key(&l),
        LeaseHealth {
            available: true,
            healthy: false,
            uris: vec![],
            ..LeaseHealth::default()
        },
    );
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(p.phase, Phase::Degraded);
    assert_eq!(p.reason, "Unhealthy");
    assert!(
        matches!(&p.steps[..], [Step::CloseLease { lease, reason: "Unhealthy", .. }] if *lease == l),
        "{:?}",
        p.steps
    );
}

#[test]
fn health_failures_below_the_threshold_keep_a_healthy_lease_ready() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    let l = lease(7, 1, "akash1p");
    let mut d = dep("v1", &["akash"]);
    d.leases = vec![l.clone()];
    o.chain.insert(7, d);
    o.health.insert(
        lease_key(&l),
        LeaseHealth {
            available: true,
            healthy: false,
            uris: vec![],
            ..LeaseHealth::default()
        },
    );
    let want = desired(); // failureThreshold 3
    let mut tracked = tracked_lease(&l, Some("v1"));
    tracked.healthy = true;
    for (before, phase) in [(0, Phase::Ready), (1, Phase::Ready)] {
        tracked.health_failures = before;
        o.status.leases = vec![tracked.clone()];
        let p = plan(Some(&want), &o, &t());
        assert_eq!(p.phase, phase, "{before} failures before this one");
        assert_eq!(p.wait, Some(t().poll), "looked at again soon");
        assert!(p.steps.is_empty());
    }
    // The threshold reached: the lease is given up (and re-placed).
    for before in [2, 5] {
        tracked.health_failures = before;
        o.status.leases = vec![tracked.clone()];
        let p = plan(Some(&want), &o, &t());
        assert_eq!(
            p.phase,
            Phase::Degraded,
            "{before} failures before this one"
        );
        assert!(matches!(
            p.steps[..],
            [Step::CloseLease {
                reason: "Unhealthy",
                ..
            }]
        ));
    }
    // A lease that never passed its check is still starting below the threshold.
    tracked.healthy = false;
    tracked.health_failures = 1;
    o.status.leases = vec![tracked];
    assert_eq!(plan(Some(&want), &o, &t()).phase, Phase::Starting);
}

#[test]
fn a_new_manifest_on_the_same_groups_updates_in_place_then_resends() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    let l = lease(7, 1, "akash1p");
    let mut d = dep("v1", &["akash"]);
    d.leases = vec![l.clone()];
    o.chain.insert(7, d.clone());
    o.status.leases = vec![tracked_lease(&l, Some("v1"))];
    let mut want = desired();
    want.generation = 2;
    want.version = "v2".into();
    let p = plan(Some(&want), &o, &t());
    assert_eq!(p.steps, vec![Step::UpdateDeployment { dseq: 7 }]);
    assert!(!p.synced);
    // Once the chain has v2, the manifest goes to the lease.
    d.hash = "v2".into();
    o.chain.insert(7, d);
    let p = plan(Some(&want), &o, &t());
    assert_eq!(p.steps, vec![Step::SendManifest { lease: l }]);
}

#[test]
fn changed_groups_replace_blue_green_and_the_old_closes_only_when_the_new_is_ready() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    let mut old = dep("v1", &["akash"]);
    old.leases = vec![lease(7, 1, "akash1p")];
    o.chain.insert(7, old);
    let mut want = desired();
    want.generation = 2;
    want.version = "v2".into();
    want.groups = vec![group("akash"), group("eu")];
    let p = plan(Some(&want), &o, &t());
    assert_eq!(p.steps, vec![Step::CreateDeployment]);
    assert_eq!(p.phase, Phase::Updating);

    // The new deployment is bidding: the old keeps serving.
    o.intents.push(intent(9, IntentState::Active, "v2"));
    o.chain.insert(9, dep("v2", &["akash", "eu"]));
    let p = plan(Some(&want), &o, &t());
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(p.phase, Phase::Updating);
    assert_eq!(p.current, Some(9));
    assert_eq!(p.previous, Some(7));

    // The new one is Ready: the old one is closed.
    let l1 = lease(9, 1, "akash1p");
    let l2 = lease(9, 2, "akash1q");
    let mut new = dep("v2", &["akash", "eu"]);
    new.leases = vec![l1.clone(), l2.clone()];
    o.chain.insert(9, new);
    o.status.leases = vec![
        tracked_lease(&l1, Some("v2")),
        tracked_lease(&l2, Some("v2")),
    ];
    for l in [&l1, &l2] {
        o.health.insert(
            lease_key(l),
            LeaseHealth {
                available: true,
                healthy: true,
                uris: vec![],
                ..LeaseHealth::default()
            },
        );
    }
    let p = plan(Some(&want), &o, &t());
    assert_eq!(p.phase, Phase::Ready);
    assert!(matches!(
        p.steps[..],
        [Step::CloseDeployment { dseq: 7, .. }]
    ));
}

#[test]
fn a_deployment_closed_out_of_band_is_forgotten_and_replaced() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    let mut d = dep("v1", &["akash"]);
    d.active = false;
    o.chain.insert(7, d);
    let p = plan(Some(&desired()), &o, &t());
    assert!(matches!(p.steps[0], Step::Forget { dseq: 7, .. }));
    assert_eq!(p.steps[1], Step::CreateDeployment);
    assert_eq!(p.reason, "DeploymentLost");
    // Closed by the chain because its escrow ran dry: said so.
    o.chain.get_mut(&7).unwrap().groups[0].2 = GroupPhase::InsufficientFunds;
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(p.reason, "EscrowExhausted");
    assert!(p.message.contains("insufficient funds"), "{}", p.message);
    assert_eq!(p.steps[1], Step::CreateDeployment);
}

#[test]
fn deletion_closes_every_live_deployment_then_removes_the_finalizer() {
    let mut o = obs();
    o.deleting = true;
    o.intents = vec![
        intent(7, IntentState::Active, "v1"),
        intent(9, IntentState::Pending, "v2"),
    ];
    o.chain.insert(7, dep("v1", &["akash"]));
    let p = plan(None, &o, &t());
    assert_eq!(p.phase, Phase::Deleting);
    assert!(matches!(p.steps[0], Step::CloseDeployment { dseq: 7, .. }));
    assert!(matches!(p.steps[1], Step::Forget { dseq: 9, .. }));
    o.intents.clear();
    let p = plan(None, &o, &t());
    assert_eq!(p.steps, vec![Step::RemoveFinalizer]);
}

#[test]
fn a_closing_intent_is_closed_again_until_the_chain_says_closed() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Closing, "v1")];
    o.chain.insert(7, dep("v1", &["akash"]));
    let p = plan(Some(&desired()), &o, &t());
    assert!(matches!(
        p.steps[..],
        [Step::CloseDeployment { dseq: 7, .. }]
    ));
}

#[test]
fn without_a_rendering_nothing_is_done_on_chain() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    o.chain.insert(7, dep("v1", &["akash"]));
    let p = plan(None, &o, &t());
    assert!(p.steps.is_empty());
    assert_eq!(p.phase, Phase::Failed);
}

#[test]
fn a_replacement_that_never_gets_ready_is_degraded_while_the_old_one_serves() {
    let mut o = obs();
    let mut old = intent(7, IntentState::Active, "v1");
    old.created_at = "2026-01-01T00:00:00Z".into();
    let mut new = intent(9, IntentState::Active, "v2");
    new.created_at = chrono::DateTime::from_timestamp_millis(o.now_ms - 5_000)
        .unwrap()
        .to_rfc3339();
    o.intents = vec![old, new.clone()];
    o.chain.insert(7, dep("v1", &["akash"]));
    o.chain.insert(9, dep("v2", &["akash", "eu"]));
    let mut want = desired();
    want.version = "v2".into();
    want.groups = vec![group("akash"), group("eu")];
    let p = plan(Some(&want), &o, &t());
    assert_eq!(p.phase, Phase::Updating, "young: still rolling out");
    // Past the rollout timeout: Degraded, saying why, and the old deployment is not closed.
    new.created_at = chrono::DateTime::from_timestamp_millis(o.now_ms - 700_000)
        .unwrap()
        .to_rfc3339();
    o.intents[1] = new;
    let p = plan(Some(&want), &o, &t());
    assert_eq!(p.phase, Phase::Degraded);
    assert_eq!(p.reason, "RolloutStalled");
    assert!(
        p.message.contains("deployment 7 keeps serving"),
        "{}",
        p.message
    );
    assert!(!p
        .steps
        .iter()
        .any(|s| matches!(s, Step::CloseDeployment { .. })));
}

// ---- day two: faults detected, leases given up, providers excluded, escrow topped up ----

fn serving(o: &mut Observed, l: &LeaseID) {
    o.intents = vec![intent(l.dseq, IntentState::Active, "v1")];
    let mut d = dep("v1", &["akash"]);
    d.leases = vec![l.clone()];
    o.chain.insert(l.dseq, d);
    let mut tracked = tracked_lease(l, Some("v1"));
    tracked.healthy = true;
    tracked.was_available = true;
    o.status.leases = vec![tracked];
}

fn excluded(provider: &str, until_ms: i64) -> crate::reconcile::status::ExcludedProvider {
    crate::reconcile::status::ExcludedProvider {
        provider: provider.into(),
        reason: "Unhealthy".into(),
        until: String::new(),
        until_ms,
    }
}

#[test]
fn a_lease_its_provider_closed_is_noted_its_provider_excluded_and_the_group_started_again() {
    let mut o = obs();
    let l = lease(7, 1, "akash1p");
    serving(&mut o, &l);
    let d = o.chain.get_mut(&7).unwrap();
    d.leases.clear();
    d.groups[0].2 = GroupPhase::Paused;
    d.closed_leases.insert(
        lease_key(&l),
        ClosedLease {
            state: "closed".into(),
            reason: 10001,
        },
    );
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(p.phase, Phase::Degraded);
    assert_eq!(p.reason, "LeaseClosed");
    assert!(p.message.contains("decommission"), "{}", p.message);
    assert!(
        matches!(
            &p.steps[..],
            [
                Step::LeaseLost {
                    reason: "LeaseClosed",
                    exclude: true,
                    ..
                },
                Step::StartGroup { dseq: 7, gseq: 1 }
            ]
        ),
        "{:?}",
        p.steps
    );
}

#[test]
fn a_lease_closed_out_of_band_is_named_and_its_provider_not_blamed() {
    let mut o = obs();
    let l = lease(7, 1, "akash1p");
    serving(&mut o, &l);
    let d = o.chain.get_mut(&7).unwrap();
    d.leases.clear();
    d.closed_leases.insert(
        lease_key(&l),
        ClosedLease {
            state: "closed".into(),
            reason: 1,
        },
    );
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(p.reason, "LeaseClosedOutOfBand");
    assert!(p.message.contains("outside af-operator"), "{}", p.message);
    assert!(
        matches!(&p.steps[..], [Step::LeaseLost { exclude: false, .. }]),
        "{:?}",
        p.steps
    );
}

#[test]
fn excluded_providers_do_not_win_until_their_exclusion_ends() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    let mut d = dep("v1", &["akash"]);
    d.bids = vec![
        (bid(7, 1, "akash1cheap"), 1.0),
        (bid(7, 1, "akash1dear"), 9.0),
    ];
    o.chain.insert(7, d);
    o.status.bidding = vec![BiddingStatus {
        dseq: "7".into(),
        gseq: 1,
        oseq: 1,
        since_ms: 50_000,
        first_bid_ms: Some(50_000),
        bids: 2,
    }];
    o.status.excluded = vec![excluded("akash1cheap", o.now_ms + 1)];
    let p = plan(Some(&desired()), &o, &t());
    assert!(
        matches!(&p.steps[..], [Step::CreateLease { bid, .. }] if bid.provider == "akash1dear")
    );
    // Ended: the cheaper one wins again.
    o.status.excluded = vec![excluded("akash1cheap", o.now_ms)];
    let p = plan(Some(&desired()), &o, &t());
    assert!(
        matches!(&p.steps[..], [Step::CreateLease { bid, .. }] if bid.provider == "akash1cheap")
    );
    // Only excluded bidders: waited for another bid until the bid timeout...
    o.chain.get_mut(&7).unwrap().bids = vec![
        (bid(7, 1, "akash1cheap"), 1.0),
        (bid(7, 1, "akash1dear"), 9.0),
    ];
    o.status.excluded = vec![
        excluded("akash1cheap", i64::MAX),
        excluded("akash1dear", i64::MAX),
    ];
    o.now_ms = 50_000 + t().bid_timeout.as_millis() as i64 - 1;
    let p = plan(Some(&desired()), &o, &t());
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert_eq!(p.phase, Phase::Bidding);
    // ...then one of them beats not running at all (the cheapest, as usual).
    o.now_ms += 1;
    let p = plan(Some(&desired()), &o, &t());
    assert!(
        matches!(&p.steps[..], [Step::CreateLease { bid, .. }] if bid.provider == "akash1cheap"),
        "{:?}",
        p.steps
    );
    // Denied ones never.
    let mut want = desired();
    want.deny = vec!["akash1cheap".into(), "akash1dear".into()];
    let p = plan(Some(&want), &o, &t());
    assert!(p.steps.is_empty());
}

#[test]
fn equal_prices_go_to_the_provider_with_the_better_record() {
    let mut o = obs();
    o.intents = vec![intent(7, IntentState::Active, "v1")];
    let mut d = dep("v1", &["akash"]);
    d.bids = vec![(bid(7, 1, "akash1a"), 3.0), (bid(7, 1, "akash1b"), 3.0)];
    o.chain.insert(7, d);
    o.status.bidding = vec![BiddingStatus {
        dseq: "7".into(),
        gseq: 1,
        oseq: 1,
        since_ms: 50_000,
        first_bid_ms: Some(50_000),
        bids: 2,
    }];
    o.provider_failures.insert("akash1a".into(), 2);
    let p = plan(Some(&desired()), &o, &t());
    assert!(matches!(&p.steps[..], [Step::CreateLease { bid, .. }] if bid.provider == "akash1b"));
}

#[test]
fn an_unreachable_gateway_is_given_up_after_the_threshold_and_a_vanished_provider_at_once() {
    let mut o = obs();
    let l = lease(7, 1, "akash1p");
    serving(&mut o, &l);
    o.health.insert(
        lease_key(&l),
        LeaseHealth {
            unreachable: true,
            ..LeaseHealth::default()
        },
    );
    for before in 0..t().unreachable_threshold - 1 {
        o.status.leases[0].unreachable = before;
        let p = plan(Some(&desired()), &o, &t());
        assert!(p.steps.is_empty(), "{before}: {:?}", p.steps);
        assert_eq!(
            p.phase,
            Phase::Ready,
            "a healthy lease keeps serving meanwhile"
        );
        assert_eq!(p.wait, Some(t().poll));
    }
    o.status.leases[0].unreachable = t().unreachable_threshold - 1;
    let p = plan(Some(&desired()), &o, &t());
    assert!(matches!(
        &p.steps[..],
        [Step::CloseLease {
            reason: "ProviderUnreachable",
            ..
        }]
    ));
    o.status.leases[0].unreachable = 0;
    o.health.get_mut(&lease_key(&l)).unwrap().provider_gone = true;
    let p = plan(Some(&desired()), &o, &t());
    assert!(matches!(
        &p.steps[..],
        [Step::CloseLease {
            reason: "ProviderGone",
            ..
        }]
    ));
}

#[test]
fn lost_replicas_are_given_up_after_the_threshold() {
    let mut o = obs();
    let l = lease(7, 1, "akash1p");
    serving(&mut o, &l);
    o.health.insert(lease_key(&l), LeaseHealth::default());
    o.status.leases[0].unavailable = 1;
    let p = plan(Some(&desired()), &o, &t());
    assert!(p.steps.is_empty());
    o.status.leases[0].unavailable = 2;
    let p = plan(Some(&desired()), &o, &t());
    assert!(matches!(
        &p.steps[..],
        [Step::CloseLease {
            reason: "ReplicasUnavailable",
            ..
        }]
    ));
    // Never available yet: still starting, nothing given up.
    o.status.leases[0].was_available = false;
    o.status.leases[0].unavailable = 0;
    let p = plan(Some(&desired()), &o, &t());
    assert!(p.steps.is_empty());
    assert_eq!(p.phase, Phase::Starting);
}

#[test]
fn a_group_that_cannot_be_ordered_again_gets_a_new_deployment() {
    let mut o = obs();
    let l = lease(7, 1, "akash1p");
    serving(&mut o, &l);
    let d = o.chain.get_mut(&7).unwrap();
    d.leases.clear();
    d.groups[0].2 = GroupPhase::Closed;
    o.status.leases.clear();
    let p = plan(Some(&desired()), &o, &t());
    assert_eq!(p.reason, "GroupClosed");
    assert_eq!(p.steps, vec![Step::CreateDeployment]);
}

#[test]
fn the_escrow_is_topped_up_below_its_runway_once() {
    let mut o = obs();
    let l = lease(7, 1, "akash1p");
    serving(&mut o, &l);
    o.health.insert(
        lease_key(&l),
        LeaseHealth {
            available: true,
            healthy: true,
            ..LeaseHealth::default()
        },
    );
    o.block_time_ms = 1000.0;
    let d = o.chain.get_mut(&7).unwrap();
    d.lease_prices.insert(lease_key(&l), 10.0);
    // 100 s of runway left.
    d.escrow = Some((1000.0, "uact".into()));
    let mut want = desired();
    want.escrow = Some(EscrowPolicy {
        top_up_below: Duration::from_secs(60),
        top_up_to: Duration::from_secs(300),
    });
    let p = plan(Some(&want), &o, &t());
    assert!(p.steps.is_empty(), "above the floor: {:?}", p.steps);
    assert_eq!(p.phase, Phase::Ready);
    // 50 s left: topped up to 300 s (3000uact), i.e. 2500 more.
    o.chain.get_mut(&7).unwrap().escrow = Some((500.0, "uact".into()));
    let p = plan(Some(&want), &o, &t());
    assert_eq!(
        p.steps,
        vec![Step::Deposit {
            dseq: 7,
            amount: 2500,
            denom: "uact".into(),
            runway_secs: 50
        }]
    );
    assert_eq!(
        p.phase,
        Phase::Ready,
        "a top-up does not take a resource out of Ready"
    );
    // Recorded and not settled: never a second one.
    o.deposit_in_flight = true;
    let p = plan(Some(&want), &o, &t());
    assert!(p.steps.is_empty());
}
