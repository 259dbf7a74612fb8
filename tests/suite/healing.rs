//! Day two, end to end: the daemon against the devnet's own faults over real sockets. Each
//! fault of the matrix (README, "Healing") is injected into a Ready Agent and the test waits
//! for it to be named and healed: re-placed on another provider, Ready again, exactly one
//! active deployment, exactly one tx per intent. Each prints its time to heal and its floor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use af_operator::akash::client::AkashChain;
use af_operator::akash::proto::market::v1::LeaseID;
use af_operator::devnet::provider::ProviderFault;
use af_operator::devnet::{Devnet, DevnetConfig};
use af_operator::reconcile::status::{AkashStatus, Phase};
use af_operator::reconcile::ControllerConfig;
use af_operator::spec::{ConditionStatus, Kind, Resource, ResourceKey};
use af_operator::store::{Event, Store};

use crate::common::TestDb;
use crate::reconcile::{active_dseqs, apply, chain_client, dseq_of, fast_controller, start_as};

const BLOCK: Duration = Duration::from_millis(100);
const BID_DELAY: Duration = Duration::from_millis(200);

const AGENT: &str = r#"
apiVersion: alternatefutures.ai/v1alpha1
kind: Agent
metadata: {name: web, project: demo}
spec:
  image: nginx:1.25
  port: 8080
  expose: {hostnames: [web.example.com]}
  resources: {cpu: 0.5, memory: 512Mi, storage: [{size: 1Gi}]}
  healthCheck: {path: /health, timeout: 1s, failureThreshold: THRESHOLD}
  PLACEMENT
"#;

fn agent(threshold: u32, placement: &str) -> String {
    AGENT
        .replace("THRESHOLD", &threshold.to_string())
        .replace("PLACEMENT", placement)
}

async fn devnet(providers: usize, fund: Vec<(String, Vec<(String, u128)>)>) -> Devnet {
    Devnet::start(DevnetConfig {
        providers,
        block_time: BLOCK,
        bid_delay: BID_DELAY,
        fund,
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet")
}

fn controller() -> ControllerConfig {
    let mut c = fast_controller();
    c.timing.bid_timeout = Duration::from_secs(2);
    c
}

fn key() -> ResourceKey {
    ResourceKey::new(Kind::Agent, "demo", "web")
}

/// Waits until `what` holds of the resource (at most `secs`).
async fn until(
    store: &dyn Store,
    secs: u64,
    what: &str,
    ok: impl Fn(&Resource, &AkashStatus) -> bool,
) -> Resource {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let r = store.get(&key()).await.expect("get").expect("exists");
        let s = AkashStatus::from_status(&r.status);
        if ok(&r, &s) {
            return r;
        }
        if tokio::time::Instant::now() > deadline {
            let events = store.list_events(&key(), 50).await.unwrap_or_default();
            panic!(
                "{what}: not in time.\nstatus: {:?}\nevents: {events:#?}",
                r.status
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn ready(r: &Resource, s: &AkashStatus) -> bool {
    s.phase == Phase::Ready
        && r.status
            .condition("Ready")
            .is_some_and(|c| c.status == ConditionStatus::True)
}

fn degraded_with(r: &Resource, reason: &str) -> bool {
    r.status
        .condition("Degraded")
        .is_some_and(|c| c.status == ConditionStatus::True && c.reason == reason)
}

async fn events(store: &dyn Store) -> Vec<Event> {
    store.list_events(&key(), 200).await.expect("events")
}

async fn count(store: &dyn Store, reason: &str) -> usize {
    events(store)
        .await
        .iter()
        .filter(|e| e.reason == reason)
        .count()
}

/// Prints the heal and its floor, and checks the ratio stays sane.
fn report(fault: &str, took: Duration, floor: Duration) {
    let ratio = took.as_secs_f64() / floor.as_secs_f64();
    eprintln!(
        "HEAL {fault}: {:.2}s against a floor of {:.2}s ({ratio:.2}×)",
        took.as_secs_f64(),
        floor.as_secs_f64()
    );
    assert!(
        ratio < 30.0,
        "{fault}: healing took {took:?}, floor {floor:?}"
    );
}

/// The floor of a re-placement on the same deployment: the close (or start) tx's block, the
/// new order's bids (the providers' bid delay, their bid tx's block), the bid window, the
/// lease tx's block, then the manifest and the first health check (no block).
fn replace_floor(detect: Duration, window: Duration) -> Duration {
    detect + BLOCK * 3 + BID_DELAY + window
}

async fn ready_agent(
    dn: &Devnet,
    db: &TestDb,
    yaml: &str,
    controller: ControllerConfig,
    seed: u64,
) -> (
    af_operator::daemon::Daemon,
    tokio::sync::watch::Sender<bool>,
    Resource,
) {
    let (d, stop) = start_as(dn, &db.url, controller, seed).await;
    apply(d.store.as_ref(), yaml).await;
    let r = until(d.store.as_ref(), 45, "first Ready", ready).await;
    (d, stop, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heal_a_lease_its_provider_closes_for_every_reason() {
    let dn = devnet(5, vec![]).await;
    let db = TestDb::sqlite();
    let (d, _stop, mut r) = ready_agent(&dn, &db, &agent(3, ""), controller(), 0).await;
    let store = d.store.as_ref();
    let chain = chain_client(&dn).await;
    let dseq = dseq_of(&r);
    let providers = dn.provider_set().expect("providers");
    let mut gone = Vec::new();
    for (i, reason) in [10000, 10001, 10002, 10003].into_iter().enumerate() {
        let s = AkashStatus::from_status(&r.status);
        let p = s.provider.clone().expect("provider");
        gone.push(p.clone());
        let t = Instant::now();
        providers
            .fault(
                &p,
                ProviderFault::CloseLease {
                    dseq,
                    gseq: None,
                    oseq: None,
                    reason,
                },
            )
            .expect("close lease");
        r = until(
            store,
            30,
            &format!("re-placed after reason {reason}"),
            |r, s| ready(r, s) && s.provider.as_ref().is_some_and(|now| !gone.contains(now)),
        )
        .await;
        report(
            &format!("close_lease {reason}"),
            t.elapsed(),
            replace_floor(BLOCK, controller().timing.bid_window),
        );
        let s = AkashStatus::from_status(&r.status);
        // Same deployment, group ordered again; the provider that closed is kept out.
        assert_eq!(dseq_of(&r), dseq);
        assert_eq!(active_dseqs(&chain).await, vec![dseq]);
        assert!(
            s.excluded
                .iter()
                .any(|e| e.provider == p && e.reason == "LeaseClosed"),
            "{:?}",
            s.excluded
        );
        assert!(s.fault.is_none(), "healed: {:?}", s.fault);
        // The events of a transition are appended just after its status is written.
        let deadline = Instant::now() + Duration::from_secs(5);
        let ev = loop {
            let ev = events(store).await;
            let n = |reason: &str| ev.iter().filter(|e| e.reason == reason).count();
            if (n("LeaseClosed") > i && n("Healed") > i) || Instant::now() > deadline {
                break ev;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        assert!(
            ev.iter().filter(|e| e.reason == "LeaseClosed").count() > i,
            "{ev:?}"
        );
        assert!(
            ev.iter().filter(|e| e.reason == "Healed").count() > i,
            "{ev:?}"
        );
    }
    let texts: Vec<String> = events(store)
        .await
        .into_iter()
        .filter(|e| e.reason == "LeaseClosed")
        .map(|e| e.message)
        .collect();
    for word in [
        "unstable",
        "decommission",
        "unspecified",
        "manifest timeout",
    ] {
        assert!(texts.iter().any(|t| t.contains(word)), "{word}: {texts:?}");
    }
    // Our record of the providers: each of them failed once.
    let records = d
        .context
        .as_ref()
        .expect("controllers")
        .records
        .provider_records(chain.owner())
        .await
        .expect("records");
    for p in &gone {
        let rec = records.iter().find(|r| &r.provider == p).expect("record");
        assert_eq!(rec.failures.get("LeaseClosed"), Some(&1), "{rec:?}");
        assert!(rec.leases >= 1 && rec.median_price.is_some(), "{rec:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heal_a_provider_that_goes_down_or_slow() {
    let dn = devnet(3, vec![]).await;
    let db = TestDb::sqlite();
    let (d, _stop, r) = ready_agent(&dn, &db, &agent(3, ""), controller(), 0).await;
    let store = d.store.as_ref();
    let providers = dn.provider_set().expect("providers");
    let first = AkashStatus::from_status(&r.status).provider.unwrap();

    // Slow under the health check's timeout (1 s): nothing is done.
    providers
        .fault(
            &first,
            ProviderFault::Slow {
                delay_ms: Some(300),
                seconds: None,
            },
        )
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let r = store.get(&key()).await.unwrap().unwrap();
    let s = AkashStatus::from_status(&r.status);
    assert_eq!(s.provider.as_deref(), Some(first.as_str()), "{s:?}");
    assert_eq!(count(store, "ProviderUnreachable").await, 0);

    // Slower than the timeout: given up after three looks, re-placed.
    providers
        .fault(
            &first,
            ProviderFault::Slow {
                delay_ms: Some(2_000),
                seconds: None,
            },
        )
        .unwrap();
    let t = Instant::now();
    let r = until(store, 40, "re-placed off the slow provider", |r, s| {
        ready(r, s) && s.provider.as_deref() != Some(first.as_str())
    })
    .await;
    report(
        "slow 2 s",
        t.elapsed(),
        replace_floor(
            controller().resync + Duration::from_secs(3),
            controller().timing.bid_window,
        ),
    );
    assert_eq!(count(store, "ProviderUnreachable").await, 1);
    let second = AkashStatus::from_status(&r.status).provider.unwrap();

    // Down: unreachable after three looks, re-placed on the third provider.
    let t = Instant::now();
    providers.fault(&second, ProviderFault::Down).unwrap();
    let degraded = until(store, 30, "ProviderUnreachable named", |r, _| {
        degraded_with(r, "ProviderUnreachable")
    })
    .await;
    assert!(
        degraded
            .status
            .condition("Ready")
            .is_some_and(|c| c.status == ConditionStatus::False),
        "not Ready while healing"
    );
    let r = until(
        store,
        30,
        "re-placed off the provider that went down",
        |r, s| {
            ready(r, s)
                && s.provider
                    .as_deref()
                    .is_some_and(|p| p != first && p != second)
        },
    )
    .await;
    report(
        "down",
        t.elapsed(),
        replace_floor(controller().resync, controller().timing.bid_window),
    );
    assert!(!degraded_with(&r, "ProviderUnreachable"));
    let chain = chain_client(&dn).await;
    assert_eq!(active_dseqs(&chain).await, vec![dseq_of(&r)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heal_an_unhealthy_service_only_past_its_threshold() {
    let dn = devnet(3, vec![]).await;
    let db = TestDb::sqlite();
    // 20 failures at the 100 ms poll: two seconds to recover before anything is done.
    let (d, _stop, r) = ready_agent(&dn, &db, &agent(20, ""), controller(), 0).await;
    let store = d.store.as_ref();
    let providers = dn.provider_set().expect("providers");
    let dseq = dseq_of(&r);
    let first = AkashStatus::from_status(&r.status).provider.unwrap();
    let unhealthy = || ProviderFault::Unhealthy {
        dseq: Some(dseq),
        service: None,
    };
    let healthy = || ProviderFault::Healthy {
        dseq: None,
        service: None,
    };
    providers.fault(&first, unhealthy()).unwrap();
    until(store, 10, "a failed health check counted", |_, s| {
        s.leases.iter().any(|l| l.health_failures > 0)
    })
    .await;
    providers.fault(&first, healthy()).unwrap();
    until(store, 10, "the failures forgotten", |_, s| {
        s.leases.iter().all(|l| l.health_failures == 0)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let r = store.get(&key()).await.unwrap().unwrap();
    let s = AkashStatus::from_status(&r.status);
    assert_eq!(s.provider.as_deref(), Some(first.as_str()));
    assert!(ready(&r, &s));
    assert_eq!(count(store, "Unhealthy").await, 0);

    // Past the threshold: Unhealthy, re-placed.
    let t = Instant::now();
    providers.fault(&first, unhealthy()).unwrap();
    let r = until(store, 40, "re-placed off the unhealthy lease", |r, s| {
        ready(r, s) && s.provider.as_deref() != Some(first.as_str())
    })
    .await;
    report(
        "unhealthy (threshold 20)",
        t.elapsed(),
        replace_floor(
            controller().resync + controller().timing.poll * 20,
            controller().timing.bid_window,
        ),
    );
    assert_eq!(count(store, "Unhealthy").await, 1);
    let s = AkashStatus::from_status(&r.status);
    assert!(s
        .excluded
        .iter()
        .any(|e| e.provider == first && e.reason == "Unhealthy"));
    let chain = chain_client(&dn).await;
    assert_eq!(active_dseqs(&chain).await, vec![dseq]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heal_a_refused_manifest_on_the_next_provider() {
    let dn = devnet(3, vec![]).await;
    let providers = dn.provider_set().expect("providers");
    let names: Vec<String> = providers
        .providers()
        .into_iter()
        .map(|p| p.address)
        .collect();
    // The only provider that takes manifests is the dearest: the cheaper ones win first.
    providers
        .fault(
            &names[0],
            ProviderFault::BidPrice {
                multiplier: Some(3.0),
                amount: None,
            },
        )
        .unwrap();
    for p in &names[1..] {
        providers.fault(p, ProviderFault::RejectManifests).unwrap();
    }
    let db = TestDb::sqlite();
    let t = Instant::now();
    let (d, _stop, r) = ready_agent(&dn, &db, &agent(3, ""), controller(), 0).await;
    eprintln!(
        "HEAL reject_manifests ×2: Ready in {:.2}s",
        t.elapsed().as_secs_f64()
    );
    let store = d.store.as_ref();
    let s = AkashStatus::from_status(&r.status);
    assert_eq!(s.provider.as_deref(), Some(names[0].as_str()));
    let rejected: Vec<Event> = events(store)
        .await
        .into_iter()
        .filter(|e| e.reason == "ManifestRejected")
        .collect();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    for p in &names[1..] {
        assert!(
            s.excluded
                .iter()
                .any(|e| &e.provider == p && e.reason == "ManifestRejected"),
            "{:?}",
            s.excluded
        );
    }
    let chain = chain_client(&dn).await;
    assert_eq!(active_dseqs(&chain).await, vec![dseq_of(&r)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_bids_is_named_and_recovers_by_itself() {
    let dn = devnet(2, vec![]).await;
    let providers = dn.provider_set().expect("providers");
    let names: Vec<String> = providers
        .providers()
        .into_iter()
        .map(|p| p.address)
        .collect();
    providers
        .fault(&names[0], ProviderFault::StopBidding)
        .unwrap();
    // Above the order's maximum: the provider does not bid.
    providers
        .fault(
            &names[1],
            ProviderFault::BidPrice {
                multiplier: None,
                amount: Some(1e9),
            },
        )
        .unwrap();
    let db = TestDb::sqlite();
    let (d, _stop) = start_as(&dn, &db.url, controller(), 0).await;
    let store = d.store.as_ref();
    apply(store, &agent(3, "")).await;
    let r = until(store, 20, "NoBids", |r, s| {
        s.phase == Phase::Bidding
            && r.status
                .condition("Ready")
                .is_some_and(|c| c.reason == "NoBids")
    })
    .await;
    let msg = r.status.condition("Ready").unwrap().message.clone();
    assert!(msg.contains("per block"), "{msg}");
    // It names the providers on chain that match the placement (both do: it asks nothing).
    let until_named = until(store, 10, "NoBids names the matching providers", |r, _| {
        r.status.condition("Ready").is_some_and(|c| {
            c.message
                .contains("2 of the 2 providers on chain match its placement")
        })
    })
    .await;
    let msg = until_named
        .status
        .condition("Ready")
        .unwrap()
        .message
        .clone();
    for p in &names {
        assert!(msg.contains(p.as_str()), "{msg}");
    }
    let t = Instant::now();
    for p in &names {
        providers.fault(p, ProviderFault::Clear).unwrap();
    }
    let r = until(store, 30, "Ready once providers bid again", ready).await;
    eprintln!(
        "HEAL no bids cleared: Ready {:.2}s after the providers bid again",
        t.elapsed().as_secs_f64()
    );
    let chain = chain_client(&dn).await;
    assert_eq!(active_dseqs(&chain).await, vec![dseq_of(&r)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lease_closed_out_of_band_is_named_and_replaced() {
    let dn = devnet(3, vec![]).await;
    let db = TestDb::sqlite();
    let (d, _stop, r) = ready_agent(&dn, &db, &agent(3, ""), controller(), 0).await;
    let store = d.store.as_ref();
    let chain = chain_client(&dn).await;
    let s = AkashStatus::from_status(&r.status);
    let l = &s.leases[0];
    let id = LeaseID {
        owner: chain.owner().to_owned(),
        dseq: l.dseq.parse().unwrap(),
        gseq: l.gseq,
        oseq: l.oseq,
        provider: l.provider.clone(),
        bseq: 0,
    };
    let t = Instant::now();
    chain.close_lease(id).await.expect("close by hand");
    let r = until(store, 30, "re-placed after the hand close", |r, s| {
        ready(r, s) && s.leases.iter().all(|x| x.oseq != l.oseq)
    })
    .await;
    report(
        "closed out of band",
        t.elapsed(),
        replace_floor(Duration::ZERO, controller().timing.bid_window),
    );
    let ev = events(store).await;
    let named = ev
        .iter()
        .find(|e| e.reason == "LeaseClosedOutOfBand")
        .expect("named");
    assert!(named.message.contains("outside af-operator"), "{named:?}");
    // The provider did nothing wrong: not excluded.
    let s = AkashStatus::from_status(&r.status);
    assert!(s.excluded.is_empty(), "{:?}", s.excluded);
    assert_eq!(active_dseqs(&chain).await, vec![dseq_of(&r)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_rpc_and_paused_blocks_are_chain_unavailable_then_ready_once() {
    let dn = devnet(2, vec![]).await;
    let db = TestDb::sqlite();
    let mut c = controller();
    c.timing.bid_timeout = Duration::from_secs(30);
    let (d, _stop, r) = ready_agent(&dn, &db, &agent(3, ""), c, 0).await;
    let store = d.store.as_ref();
    let first = dseq_of(&r);

    // The RPC stalls (answers nothing) longer than a request's timeout: the resync's reads
    // fail as transient; the status says ChainUnavailable while the lease keeps serving.
    let t = Instant::now();
    dn.stall().stall_for(Duration::from_secs(30));
    until(store, 30, "ChainUnavailable named", |r, _| {
        degraded_with(r, "ChainUnavailable")
    })
    .await;
    eprintln!(
        "HEAL rpc stall: ChainUnavailable named after {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let r = until(
        store,
        60,
        "Ready and not Degraded after the stall",
        |r, s| ready(r, s) && !degraded_with(r, "ChainUnavailable"),
    )
    .await;
    eprintln!(
        "HEAL rpc stall 30 s: Ready again {:.1}s after it began",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(dseq_of(&r), first);

    // Blocks paused while a replacement is created: its create waits (never sent twice),
    // lands when blocks resume, and the old deployment closes once the new one is Ready.
    dn.node().set_paused(true);
    apply(store, &agent(3, "").replace("cpu: 0.5", "cpu: 0.75")).await;
    let paused = Instant::now();
    tokio::time::sleep(Duration::from_secs(30)).await;
    dn.node().set_paused(false);
    let r = until(
        store,
        60,
        "the replacement Ready after the pause",
        |r, s| ready(r, s) && s.previous_dseq.is_none() && dseq_of(r) != first,
    )
    .await;
    eprintln!(
        "HEAL blocks paused 30 s: the replacement Ready {:.1}s after the pause began",
        paused.elapsed().as_secs_f64()
    );
    let chain = chain_client(&dn).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while active_dseqs(&chain).await != vec![dseq_of(&r)] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old deployment closes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Exactly one tx per intent: two creates (the first and the replacement), two leases.
    assert_eq!(count(store, "DeploymentCreated").await, 2);
    assert_eq!(count(store, "LeaseCreated").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_escrow_is_topped_up_before_it_runs_dry_and_funding_low_is_named() {
    // Account 5 holds little: enough for the first deposit and one top-up, not a second.
    let (wallet, _) = af_operator::devnet::test_account(5);
    let dn = funded_devnet(&wallet, 800_000).await;
    bid_price(&dn, 1_000.0);
    // 500,000 uact at 1,000 per 100 ms block: 50 s of runway, under the 60 s floor.
    let placement = "placement: {maxPrice: 2000uact, escrow: {deposit: 500000uact, topUpBelow: 60s, topUpTo: 75s}}";
    let db = TestDb::sqlite();
    let (d, _stop, _) = ready_agent(&dn, &db, &agent(3, placement), controller(), 5).await;
    let store = d.store.as_ref();
    let r = until(store, 20, "topped up", |_, s| {
        s.escrow_runway_seconds.is_some_and(|r| r >= 60)
    })
    .await;
    let s = AkashStatus::from_status(&r.status);
    assert_eq!(s.escrow_burn_per_block.as_deref(), Some("1000uact"));
    assert!(s.pending_deposit.is_none(), "{:?}", s.pending_deposit);
    assert_eq!(count(store, "EscrowToppedUp").await, 1);
    // The next top-up needs more than the wallet holds: FundingLow, before anything is lost.
    let r = until(store, 40, "FundingLow", |r, _| {
        r.status
            .condition("FundingLow")
            .is_some_and(|c| c.status == ConditionStatus::True)
    })
    .await;
    let s = AkashStatus::from_status(&r.status);
    assert!(s
        .funding_low
        .as_deref()
        .is_some_and(|m| m.contains("holds")));
    assert_eq!(s.phase, Phase::Ready, "still serving");
    assert_eq!(
        count(store, "EscrowToppedUp").await,
        1,
        "never a second one for one need"
    );
    assert_eq!(count(store, "FundingLow").await, 1);
    let _ = Arc::clone(&d.store);
}

/// A client of the chain with test account `seed`'s wallet.
async fn chain_as(dn: &Devnet, seed: u64) -> af_operator::akash::client::RpcChain {
    af_operator::akash::client::RpcChain::connect(
        af_operator::akash::client::RpcConfig {
            endpoints: vec![dn.rpc_url()],
            batching: None,
            ..Default::default()
        },
        af_operator::devnet::test_account(seed).0,
    )
    .await
    .expect("chain")
}

/// Waits until the BME ledger holds an executed mint of `source` (any source when `None`).
async fn until_minted(chain: &dyn AkashChain, source: Option<&str>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mints = chain.act_mints(source, 20).await.expect("ledger");
        if mints.iter().any(|m| m.rate().is_some()) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no mint executed: {mints:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `reason` has been recorded `n` times.
async fn until_count(store: &dyn Store, reason: &str, n: usize, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while count(store, reason).await < n {
        if tokio::time::Instant::now() > deadline {
            panic!(
                "{reason} ×{n}: not in time.\nevents: {:#?}",
                events(store).await
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_top_up_the_wallet_lacks_act_for_mints_it_from_akt_once() {
    // Account 6 holds ACT for the first deposit and one top-up, and plenty of AKT.
    let (wallet, _) = af_operator::devnet::test_account(6);
    let dn = funded_devnet(&wallet, 800_000).await;
    bid_price(&dn, 1_000.0);
    // The ledger's price of ACT: one mint by someone else, executed at its epoch.
    let other = chain_as(&dn, 0).await;
    other
        .mint_act(af_operator::akash::proto::base::coin("uakt", 1_000_000))
        .await
        .expect("mint by hand");
    until_minted(&other, None).await;

    let placement = "placement: {maxPrice: 2000uact, escrow: {deposit: 500000uact, topUpBelow: 60s, topUpTo: 75s}}";
    let db = TestDb::sqlite();
    let (d, _stop, _) = ready_agent(&dn, &db, &agent(3, placement), controller(), 6).await;
    let store = d.store.as_ref();
    // The first top-up from the ACT held; the second needs more: minted from AKT, then paid.
    until_count(store, "EscrowToppedUp", 3, 60).await;
    // At most one mint per need (per top-up), each executed, none refused for want of funds.
    let mints = count(store, "MintingACT").await;
    let ev = events(store).await;
    assert!(mints >= 1, "{ev:#?}");
    assert!(mints <= count(store, "EscrowToppedUp").await, "{ev:#?}");
    assert_eq!(count(store, "FundingLow").await, 0, "{ev:#?}");
    let own = chain_as(&dn, 6).await;
    let ledger = own.act_mints(Some(wallet.address()), 20).await.unwrap();
    let minted = count(store, "ACTMinted").await;
    assert!(minted == mints || minted + 1 == mints, "{ev:#?}");
    assert!(ledger.len() == mints, "{ledger:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = store.get(&key()).await.unwrap().unwrap();
        let s = AkashStatus::from_status(&r.status);
        if s.pending_mint.is_none() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            s.pending_mint
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = store.get(&key()).await.unwrap().unwrap();
    let s = AkashStatus::from_status(&r.status);
    assert_eq!(s.phase, Phase::Ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deployment_lost_to_a_dry_escrow_is_replaced_once_the_wallet_is_funded() {
    // Account 7 holds ACT for one deposit only, and AKT.
    let (wallet, _) = af_operator::devnet::test_account(7);
    let dn = funded_devnet(&wallet, 500_000).await;
    bid_price(&dn, 10_000.0);
    // 500,000 uact at 10,000 per 100 ms block: dry in about 5 s, and no top-up policy.
    let placement = "placement: {maxPrice: 20000uact, escrow: {deposit: 500000uact}}";
    let db = TestDb::sqlite();
    let (d, _stop, r) = ready_agent(&dn, &db, &agent(3, placement), controller(), 7).await;
    let store = d.store.as_ref();
    let first = dseq_of(&r);
    // Closed by the chain (leases 20000); a new deployment needs a deposit the wallet lacks.
    let r = until(store, 40, "FundingLow after the escrow ran dry", |r, _| {
        r.status
            .condition("FundingLow")
            .is_some_and(|c| c.status == ConditionStatus::True)
    })
    .await;
    let s = AkashStatus::from_status(&r.status);
    assert!(
        s.funding_low
            .as_deref()
            .is_some_and(|m| m.contains("new deployment")),
        "{:?}",
        s.funding_low
    );
    assert_eq!(
        count(store, "DeploymentCreated").await,
        1,
        "nothing sent unfunded"
    );
    let lost: Vec<Event> = events(store)
        .await
        .into_iter()
        .filter(|e| e.reason == "EscrowExhausted")
        .collect();
    assert!(
        lost.iter()
            .any(|e| e.message.contains("insufficient funds")),
        "{lost:#?}"
    );
    // Cheaper bids from now on, so the next deployment lasts; then a person funds the wallet
    // (ACT minted from its AKT): re-placed, Ready again.
    bid_price(&dn, 100.0);
    let t = Instant::now();
    let own = chain_as(&dn, 7).await;
    own.mint_act(af_operator::akash::proto::base::coin("uakt", 2_000_000))
        .await
        .expect("mint");
    let r = until(
        store,
        40,
        "Ready on a new deployment once funded",
        |r, s| ready(r, s) && dseq_of(r) != first,
    )
    .await;
    eprintln!(
        "HEAL dry escrow: Ready on a new deployment {:.2}s after the wallet was funded",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(count(store, "DeploymentCreated").await, 2);
    assert_eq!(count(store, "FundingRestored").await, 1);
    assert_eq!(active_dseqs(&own).await, vec![dseq_of(&r)]);
    let _ = wallet;
}

/// The soak (ignored by default, about 3.5 minutes):
/// `cargo test --test suite healing::soak -- --ignored --nocapture`. Fifty Agents on six
/// providers; for three minutes a random fault of the matrix every 1.5 s (a lease closed by its
/// provider for a random reason or by this wallet out of band, a provider down or refusing
/// manifests for a while, a service unhealthy, the RPC stalled); then every fault is cleared,
/// and within five minutes every resource is Ready with exactly one active deployment each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "soak: about 3.5 minutes"]
async fn soak_random_faults_into_50_resources_end_ready_with_one_deployment_each() {
    use rand::{Rng, SeedableRng};
    const N: usize = 50;
    let dn = devnet(6, vec![]).await;
    let db = TestDb::sqlite();
    let (d, _stop) = start_as(&dn, &db.url, controller(), 0).await;
    let store = d.store.as_ref();
    let names: Vec<String> = (0..N).map(|i| format!("web{i}")).collect();
    for n in &names {
        apply(
            store,
            &agent(3, "").replace("name: web,", &format!("name: {n},")),
        )
        .await;
    }
    let t = Instant::now();
    until_all_ready(store, &names, 180, "first Ready").await;
    eprintln!("SOAK {N} Agents Ready in {:.1}s", t.elapsed().as_secs_f64());

    let providers = dn.provider_set().expect("providers");
    let provider_names: Vec<String> = providers
        .providers()
        .into_iter()
        .map(|p| p.address)
        .collect();
    let chain = chain_client(&dn).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut injected = std::collections::BTreeMap::<&str, usize>::new();
    let mut to_clear: Vec<(tokio::time::Instant, String)> = Vec::new();
    let faults_end = tokio::time::Instant::now() + Duration::from_secs(180);
    while tokio::time::Instant::now() < faults_end {
        let now = tokio::time::Instant::now();
        to_clear.retain(|(at, p)| {
            if *at <= now {
                let _ = providers.fault(p, ProviderFault::Clear);
                false
            } else {
                true
            }
        });
        let rs = all_of(store, &names).await;
        let r = &rs[rng.gen_range(0..N)];
        let s = AkashStatus::from_status(&r.status);
        let (Some(p), Some(dseq)) = (s.provider.clone(), s.dseq.clone()) else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let dseq: u64 = dseq.parse().unwrap();
        let kind = rng.gen_range(0..6);
        let name = match kind {
            0 => {
                let reason = rng.gen_range(10000..=10003);
                let _ = providers.fault(
                    &p,
                    ProviderFault::CloseLease {
                        dseq,
                        gseq: None,
                        oseq: None,
                        reason,
                    },
                );
                "close_lease"
            }
            1 => {
                if let Some(l) = s.leases.first() {
                    let _ = chain
                        .close_lease(LeaseID {
                            owner: chain.owner().to_owned(),
                            dseq,
                            gseq: l.gseq,
                            oseq: l.oseq,
                            provider: l.provider.clone(),
                            bseq: 0,
                        })
                        .await;
                }
                "closed out of band"
            }
            2 => {
                let _ = providers.fault(&p, ProviderFault::Down);
                to_clear.push((now + Duration::from_secs(4), p.clone()));
                "down"
            }
            3 => {
                let other = &provider_names[rng.gen_range(0..provider_names.len())];
                let _ = providers.fault(other, ProviderFault::RejectManifests);
                to_clear.push((now + Duration::from_secs(5), other.clone()));
                "reject_manifests"
            }
            4 => {
                let _ = providers.fault(
                    &p,
                    ProviderFault::Unhealthy {
                        dseq: Some(dseq),
                        service: None,
                    },
                );
                to_clear.push((now + Duration::from_secs(6), p.clone()));
                "unhealthy"
            }
            _ => {
                dn.stall().stall_for(Duration::from_secs(3));
                "rpc stall"
            }
        };
        *injected.entry(name).or_default() += 1;
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    for p in &provider_names {
        let _ = providers.fault(p, ProviderFault::Clear);
    }
    eprintln!("SOAK faults injected: {injected:?}");
    let t = Instant::now();
    let rs = until_all_ready(store, &names, 300, "Ready after the faults").await;
    eprintln!(
        "SOAK every resource Ready {:.1}s after the last fault",
        t.elapsed().as_secs_f64()
    );
    // Exactly one active deployment each, and none of anyone else.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut want: Vec<u64> = rs.iter().map(dseq_of).collect();
    want.sort();
    loop {
        let mut active = active_dseqs(&chain).await;
        active.sort();
        if active == want {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "one active deployment each: {} active, {} resources",
            active.len(),
            want.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn all_of(store: &dyn Store, names: &[String]) -> Vec<Resource> {
    let mut out = Vec::new();
    for n in names {
        let k = ResourceKey::new(Kind::Agent, "demo", n);
        out.push(store.get(&k).await.expect("get").expect("exists"));
    }
    out
}

async fn until_all_ready(
    store: &dyn Store,
    names: &[String],
    secs: u64,
    what: &str,
) -> Vec<Resource> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let rs = all_of(store, names).await;
        let waiting: Vec<String> = rs
            .iter()
            .filter(|r| !ready(r, &AkashStatus::from_status(&r.status)))
            .map(|r| {
                let c = r.status.condition("Ready");
                format!(
                    "{}: {}",
                    r.metadata.name,
                    c.map_or(String::new(), |c| format!("{} {}", c.reason, c.message))
                )
            })
            .collect();
        if waiting.is_empty() {
            return rs;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {} not Ready: {waiting:#?}",
            waiting.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Two providers, and `wallet` funded with 10,000 AKT and `uact` ACT.
async fn funded_devnet(wallet: &af_operator::akash::keys::Wallet, uact: u128) -> Devnet {
    let fund = vec![(
        wallet.address().to_owned(),
        vec![
            ("uakt".to_string(), 10_000_000_000u128),
            ("uact".to_string(), uact),
        ],
    )];
    devnet(2, fund).await
}

/// Every provider bids `amount` per block.
fn bid_price(dn: &Devnet, amount: f64) {
    let providers = dn.provider_set().expect("providers");
    for p in providers.providers().into_iter().map(|p| p.address) {
        providers
            .fault(
                &p,
                ProviderFault::BidPrice {
                    multiplier: None,
                    amount: Some(amount),
                },
            )
            .unwrap();
    }
}

/// The daemon dies right after it recorded a mint intent, before the broadcast, and again
/// after the mint was broadcast; the restarted daemon finds the mint in the BME ledger (or
/// re-sends the one that never went out) and never mints twice for one need.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_around_a_mint_never_mints_twice() {
    // Account 8 holds AKT and next to no ACT: the first deposit needs a mint.
    let (wallet, mnemonic) = af_operator::devnet::test_account(8);
    let dn = funded_devnet(&wallet, 1).await;
    let other = chain_as(&dn, 0).await;
    other
        .mint_act(af_operator::akash::proto::base::coin("uakt", 1_000_000))
        .await
        .expect("mint by hand");
    until_minted(&other, None).await;

    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("agent.yaml");
    let placement = "placement: {maxPrice: 2000uact, escrow: {deposit: 500000uact}}";
    std::fs::write(&spec, agent(3, placement)).unwrap();
    let bin = env!("CARGO_BIN_EXE_af-operator");
    let st = std::process::Command::new(bin)
        .args(["apply", "-f"])
        .arg(&spec)
        .env("AF_DATABASE_URL", &db.url)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let own = chain_as(&dn, 8).await;
    for point in ["after-mint-intent", "after-mint-broadcast", ""] {
        let log = dir.path().join(format!("serve-{point}.log"));
        let mut child = std::process::Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--bid-window", "200ms"])
            .args(["--resync", "2s"])
            .arg("--network")
            .arg(dn.rpc_url())
            .arg("--devnet-control")
            .arg(dn.control_url())
            .env("AF_DATABASE_URL", &db.url)
            .env("AF_AKASH_MNEMONIC", mnemonic.as_str())
            .env("AF_CRASH_AT", point)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let store = db.open().await;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                assert!(
                    !point.is_empty() && text.contains(&format!("crash point {point} reached")),
                    "the daemon exited ({status}) without reaching {point:?}:\n{text}"
                );
                break;
            }
            let r = store.get(&key()).await.unwrap().unwrap();
            if point.is_empty() && ready(&r, &AkashStatus::from_status(&r.status)) {
                child.kill().unwrap();
                let _ = child.wait();
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("crash point {point:?} never reached: {:?}", r.status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mints = own.act_mints(Some(wallet.address()), 20).await.unwrap();
        assert!(mints.len() <= 1, "after a crash at {point:?}: {mints:?}");
        store.close().await;
    }
    let mints = own.act_mints(Some(wallet.address()), 20).await.unwrap();
    assert_eq!(mints.len(), 1, "one mint for the one need: {mints:?}");
    assert!(mints[0].rate().is_some(), "executed: {mints:?}");
    assert_eq!(active_dseqs(&own).await.len(), 1, "one deployment");
}
