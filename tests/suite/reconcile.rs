//! The reconciler end to end: the daemon (controllers) against the devnet over real sockets,
//! on SQLite and on PostgreSQL: create → Ready, update in place, group change → blue/green,
//! delete → closed on chain with the escrow refunded; and a crash right after the intent is
//! recorded, adopted on restart with exactly one deployment.

use std::sync::Arc;
use std::time::Duration;

use af_operator::akash::client::{AkashChain, RpcChain, RpcConfig};
use af_operator::akash::proto::deployment::v1::{DeploymentID, DeploymentState};
use af_operator::cli::plan::{plan_files, Action, PlanArgs, PlanOutput, ResourcePlan};
use af_operator::daemon::{self, ChainConfig, Daemon, DaemonConfig};
use af_operator::devnet::{Devnet, DevnetConfig};
use af_operator::reconcile::plan::Timing;
use af_operator::reconcile::status::{AkashStatus, Phase};
use af_operator::reconcile::ControllerConfig;
use af_operator::spec::load::load_str;
use af_operator::spec::{Kind, Resource, ResourceKey};
use af_operator::store::sql::SqlStore;
use af_operator::store::{IntentState, IntentStore, Store};
use tokio::sync::watch;

use crate::common::TestDb;

const AGENT: &str = r#"
apiVersion: alternatefutures.ai/v1alpha1
kind: Agent
metadata: {name: web, project: demo, labels: {app: web}}
spec:
  image: nginx:IMAGE
  port: 8080
  replicas: COUNT
  expose: {hostnames: [web.example.com]}
  resources: {cpu: CPU, memory: 512Mi, storage: [{size: 1Gi}]}
  healthCheck: {path: /health}
"#;

fn agent(image: &str, cpu: &str) -> String {
    agent_n(image, cpu, 1)
}

fn agent_n(image: &str, cpu: &str, count: u32) -> String {
    AGENT
        .replace("IMAGE", image)
        .replace("CPU", cpu)
        .replace("COUNT", &count.to_string())
}

/// `af-operator plan` of `yaml` against the daemon's store (with `--prune -l app=web` when
/// `prune`): the one resource's plan.
async fn plan_of(store: &SqlStore, yaml: &str, prune: bool) -> ResourcePlan {
    let args = PlanArgs {
        files: vec!["-".into()],
        recursive: false,
        prune,
        selector: prune.then(|| "app=web".to_string()),
        output: PlanOutput::Json,
        block_time: Duration::from_secs(6),
        sdl_templates: None,
        akt_price: None,
    };
    let mut stdin = yaml.as_bytes();
    let report = plan_files(&args, store, &mut stdin)
        .await
        .expect("plan")
        .expect("valid files");
    assert_eq!(report.resources.len(), 1, "{report:?}");
    report.resources.into_iter().next().unwrap()
}

async fn devnet() -> Devnet {
    Devnet::start(DevnetConfig {
        providers: 2,
        block_time: Duration::from_millis(100),
        bid_delay: Duration::from_millis(200),
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet")
}

/// The test controllers' settings: a fast resync, short bid window and poll.
pub(crate) fn fast_controller() -> ControllerConfig {
    ControllerConfig {
        resync: Duration::from_secs(2),
        timing: Timing {
            bid_window: Duration::from_millis(200),
            bid_timeout: Duration::from_secs(30),
            poll: Duration::from_millis(100),
            ..Timing::default()
        },
        ..ControllerConfig::default()
    }
}

async fn start(dn: &Devnet, url: &str) -> (Daemon, watch::Sender<bool>) {
    start_with(dn, url, fast_controller()).await
}

/// The daemon (controllers, no API) against `dn`, wallet test account 0.
pub(crate) async fn start_with(
    dn: &Devnet,
    url: &str,
    controller: ControllerConfig,
) -> (Daemon, watch::Sender<bool>) {
    start_as(dn, url, controller, 0).await
}

/// The daemon against `dn` with the wallet of test account `seed`.
pub(crate) async fn start_as(
    dn: &Devnet,
    url: &str,
    controller: ControllerConfig,
    seed: u64,
) -> (Daemon, watch::Sender<bool>) {
    let secrets = Arc::new(af_operator::reconcile::context::StaticSecrets(Arc::new(
        af_operator::render::FileSecrets::default(),
    )));
    start_full(dn, url, controller, seed, secrets, None).await
}

/// The daemon against `dn` with the wallet of test account `seed`, its secrets from
/// `secrets`, and the API on `listen` when given.
pub(crate) async fn start_full(
    dn: &Devnet,
    url: &str,
    controller: ControllerConfig,
    seed: u64,
    secrets: Arc<dyn af_operator::reconcile::context::SecretSource>,
    listen: Option<std::net::SocketAddr>,
) -> (Daemon, watch::Sender<bool>) {
    let (tx, rx) = watch::channel(false);
    let d = daemon::start(
        DaemonConfig {
            database_url: url.to_string(),
            listen,
            api: Default::default(),
            chain: Some(ChainConfig {
                endpoints: vec![dn.rpc_url()],
                chain_id: Some(dn.chain_id().to_owned()),
                wallet: af_operator::devnet::test_account(seed).0,
                gas_price_uakt: 0.025,
                gas_adjustment: 1.3,
                tx_poll: Duration::from_millis(30),
                devnet_control: Some(dn.control_url()),
            }),
            controller,
            templates: af_operator::render::TemplateSource::builtin(),
            secrets,
            progress: None,
            leader: Default::default(),
        },
        rx,
    )
    .await
    .expect("daemon");
    (d, tx)
}

pub(crate) async fn apply(store: &dyn Store, yaml: &str) {
    let docs = load_str("test.yaml", yaml).expect("valid");
    let inputs: Vec<_> = docs.into_iter().map(|d| d.input).collect();
    store.apply(&inputs).await.expect("apply");
}

fn key() -> ResourceKey {
    ResourceKey::new(Kind::Agent, "demo", "web")
}

async fn until_ready(store: &dyn Store, generation: i64, what: &str) -> Resource {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    loop {
        let r = store.get(&key()).await.expect("get").expect("exists");
        let s = AkashStatus::from_status(&r.status);
        let ready = r.status.condition("Ready").is_some_and(|c| {
            c.status == af_operator::spec::ConditionStatus::True
                && c.observed_generation >= generation
        });
        if ready && s.phase == Phase::Ready && s.previous_dseq.is_none() {
            return r;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{what}: not Ready in time: {:?}", r.status);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn chain_client(dn: &Devnet) -> RpcChain {
    RpcChain::connect(
        RpcConfig {
            endpoints: vec![dn.rpc_url()],
            batching: None,
            ..RpcConfig::default()
        },
        af_operator::devnet::test_account(0).0,
    )
    .await
    .expect("chain")
}

pub(crate) async fn active_dseqs(chain: &RpcChain) -> Vec<u64> {
    let owner = chain.owner().to_owned();
    let page = chain
        .deployments(
            &owner,
            af_operator::akash::client::DeploymentStateFilter::Active,
            None,
        )
        .await
        .expect("deployments");
    page.items.iter().map(|d| d.deployment.id.dseq).collect()
}

pub(crate) fn dseq_of(r: &Resource) -> u64 {
    AkashStatus::from_status(&r.status)
        .dseq
        .expect("dseq")
        .parse()
        .expect("number")
}

async fn lifecycle(db: TestDb) {
    let dn = devnet().await;
    let (d, stop) = start(&dn, &db.url).await;
    let store: Arc<dyn Store> = d.store.clone();
    let chain = chain_client(&dn).await;

    // Each change is planned first (`af-operator plan`, the daemon's planner), then applied:
    // what the plan says is what the daemon does on chain.
    let p = plan_of(&d.store, &agent("1.25", "0.5"), false).await;
    assert_eq!(p.action, Action::Create, "{p:?}");
    let cost = p.cost.as_ref().expect("a create has a cost");
    assert_eq!((cost.denom.as_str(), cost.deposit), ("uact", 5_000_000.0));
    assert!(
        cost.monthly_max > 0.0 && cost.monthly_recent.is_none(),
        "{cost:?}"
    );
    assert_eq!(p.groups.len(), 1);

    // Create → Ready.
    let t = std::time::Instant::now();
    apply(store.as_ref(), &agent("1.25", "0.5")).await;
    let r = until_ready(store.as_ref(), 1, "create").await;
    eprintln!("apply → Ready: {:?}", t.elapsed());
    let first = dseq_of(&r);
    let s = AkashStatus::from_status(&r.status);
    assert!(r
        .metadata
        .finalizers
        .iter()
        .any(|f| f == "af-operator.io/akash"));
    assert_eq!(s.leases.len(), 1);
    assert!(s.leases[0].price.ends_with("uact"), "{:?}", s.leases[0]);
    assert!(
        s.escrow_balance
            .as_deref()
            .is_some_and(|b| b.ends_with("uact")),
        "{:?}",
        s.escrow_balance
    );
    // 5 ACT at a price well under 1 uact per block lasts for days.
    assert!(
        s.escrow_runway_seconds.is_some_and(|r| r > 86_400),
        "{:?}",
        s.escrow_runway_seconds
    );
    assert!(
        s.uris.iter().any(|u| u.contains(".ingress.provider-")),
        "{:?}",
        s.uris
    );
    assert_eq!(active_dseqs(&chain).await, vec![first]);
    let dep = chain
        .deployment(&DeploymentID::new(chain.owner(), first))
        .await
        .unwrap();
    assert_eq!(Some(hex::encode(&dep.deployment.hash)), s.manifest_version);
    // The events are written after the status that says Ready.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let events = store.list_events(&key(), 50).await.unwrap();
        let missing: Vec<&str> = ["DeploymentCreated", "LeaseCreated", "ManifestSent", "Ready"]
            .into_iter()
            .filter(|reason| !events.iter().any(|e| e.reason == *reason))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {missing:?} event: {events:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let p = plan_of(&d.store, &agent("1.25", "0.5"), false).await;
    assert_eq!(p.action, Action::None, "{p:?}");

    // Update in place: a new image keeps the dseq, the chain and the provider get v2.
    let p = plan_of(&d.store, &agent("1.27", "0.5"), false).await;
    assert_eq!(p.action, Action::UpdateInPlace, "{p:?}");
    assert_eq!(p.dseq, Some(first.to_string()));
    assert_eq!(p.manifests, Some(1));
    assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
    assert_eq!(p.changes[0].path, "spec.image");
    assert!(!p.changes[0].forces_replace);
    apply(store.as_ref(), &agent("1.27", "0.5")).await;
    let r = until_ready(store.as_ref(), 2, "update").await;
    let s2 = AkashStatus::from_status(&r.status);
    assert_eq!(dseq_of(&r), first, "an image change updates in place");
    assert_ne!(s2.manifest_version, s.manifest_version);
    let dep = chain
        .deployment(&DeploymentID::new(chain.owner(), first))
        .await
        .unwrap();
    assert_eq!(Some(hex::encode(&dep.deployment.hash)), s2.manifest_version);
    assert_eq!(s2.leases[0].manifest_version, s2.manifest_version);

    // A group change (CPU) replaces blue/green: a new dseq Ready, the old one closed.
    let p = plan_of(&d.store, &agent("1.27", "1"), false).await;
    assert_eq!(p.action, Action::Replace, "{p:?}");
    let forcing: Vec<&str> = p
        .changes
        .iter()
        .filter(|c| c.forces_replace)
        .map(|c| c.path.as_str())
        .collect();
    assert_eq!(forcing, ["spec.resources.cpu"], "{p:?}");
    // Recent prices come from leases of identical groups: none runs 1 CPU yet.
    assert!(p.cost.as_ref().unwrap().monthly_recent.is_none());
    apply(store.as_ref(), &agent("1.27", "1")).await;
    let r = until_ready(store.as_ref(), 3, "blue/green").await;
    let second = dseq_of(&r);
    assert!(second > first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while active_dseqs(&chain).await != vec![second] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "old deployment not closed: {:?}",
            active_dseqs(&chain).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let old = chain
        .deployment(&DeploymentID::new(chain.owner(), first))
        .await
        .unwrap();
    assert_eq!(old.deployment.state, DeploymentState::Closed as i32);

    // A replica count is in the groups too: replace; the same groups as what runs now
    // price the recent end from the lease in the status.
    let p = plan_of(&d.store, &agent_n("1.27", "1", 2), false).await;
    assert_eq!(p.action, Action::Replace, "{p:?}");
    assert!(p
        .changes
        .iter()
        .any(|c| c.path == "spec.replicas" && c.forces_replace));
    let same = plan_of(
        &d.store,
        &agent_n("1.27", "1", 1).replace("name: web", "name: web2"),
        false,
    )
    .await;
    assert_eq!(same.action, Action::Create);
    assert!(
        same.cost.as_ref().unwrap().monthly_recent.is_some(),
        "identical groups to a running lease: {same:?}"
    );

    // Delete (the files no longer hold it; `--prune -l app=web`): closed on chain.
    let other = agent("1.27", "1")
        .replace("name: web", "name: web2")
        .replace("app: web", "app: other");
    let args_prune = PlanArgs {
        files: vec!["-".into()],
        recursive: false,
        prune: true,
        selector: Some("app=web".into()),
        output: PlanOutput::Text,
        block_time: Duration::from_secs(6),
        sdl_templates: None,
        akt_price: None,
    };
    let mut stdin = other.as_bytes();
    let report = plan_files(&args_prune, &d.store, &mut stdin)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.resources.len(), 2, "{report:?}");
    let web = report
        .resources
        .iter()
        .find(|r| r.name == "web")
        .expect("web is pruned");
    assert_eq!(web.action, Action::Close, "{web:?}");
    assert_eq!(web.dseq, Some(second.to_string()));

    // Delete: closed on chain, escrow refunded, then the resource is gone.
    let before = chain.balances(chain.owner()).await.unwrap();
    store.request_deletion(&key()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store.get(&key()).await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "resource not deleted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(active_dseqs(&chain).await.is_empty());
    let after = chain.balances(chain.owner()).await.unwrap();
    let uact = |c: &[af_operator::akash::proto::Coin]| {
        c.iter()
            .find(|c| c.denom == "uact")
            .map(|c| c.amount.parse::<u128>().unwrap())
            .unwrap_or(0)
    };
    assert!(
        uact(&after) > uact(&before),
        "escrow refunded: {before:?} → {after:?}"
    );
    let intents = d.store.intents(chain.owner(), &[]).await.unwrap();
    assert_eq!(intents.len(), 2);
    assert!(
        intents.iter().all(|i| i.state == IntentState::Closed),
        "{intents:?}"
    );

    let _ = stop.send(true);
    d.wait().await;
    dn.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconcile_lifecycle_on_the_devnet_sqlite() {
    lifecycle(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconcile_lifecycle_on_the_devnet_postgres() {
    if let Some(db) = TestDb::postgres().await {
        lifecycle(db).await;
    }
}

/// The daemon dies (SIGKILL-like abort) at each crash point; after a restart there is exactly
/// one active deployment for the spec and it becomes Ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconcile_crash_at_every_step_leaves_exactly_one_deployment() {
    let dn = devnet().await;
    let chain = chain_client(&dn).await;
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("agent.yaml");
    std::fs::write(&spec, agent("1.25", "0.5")).unwrap();
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
    let mnemonic = dn.mnemonic();
    for point in [
        "after-intent",
        "after-broadcast",
        "after-lease",
        "after-manifest",
        "",
    ] {
        let log = dir.path().join(format!("serve-{point}.log"));
        let mut child = spawn_serve(&dn, &db.url, mnemonic.as_str(), point, &log);
        let store = db.open().await;
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
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
            if point.is_empty() && AkashStatus::from_status(&r.status).phase == Phase::Ready {
                child.kill().unwrap();
                let _ = child.wait();
                break;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(60).collect();
                panic!(
                    "crash point {point:?} never reached; status {:?}\nlast lines of the log:\n{}",
                    r.status,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let active = active_dseqs(&chain).await;
        assert!(active.len() <= 1, "after a crash at {point:?}: {active:?}");
        store.close().await;
    }
    assert_eq!(
        active_dseqs(&chain).await.len(),
        1,
        "exactly one deployment for the spec"
    );
    dn.shutdown().unwrap();
}

/// `af-operator serve` against the devnet (bid window 200 ms, resync 2 s), aborting at crash
/// point `crash_at` (none when empty). Its log goes to a file: a pipe nobody reads would fill
/// up and block it.
fn spawn_serve(
    dn: &Devnet,
    url: &str,
    mnemonic: &str,
    crash_at: &str,
    log: &std::path::Path,
) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_af-operator"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--bid-window",
            "200ms",
            "--resync",
            "2s",
        ])
        .arg("--network")
        .arg(dn.rpc_url())
        .arg("--devnet-control")
        .arg(dn.control_url())
        .env("AF_DATABASE_URL", url)
        .env("AF_AKASH_MNEMONIC", mnemonic)
        .env("AF_CRASH_AT", crash_at)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// The daemon is SIGKILLed at random moments (a seeded choice between 50 ms and 1.5 s after
/// its start) while three Agents are created; after each kill at most one active deployment
/// exists per spec, and a last daemon takes all three to Ready with exactly one each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconcile_sigkill_at_random_moments_leaves_one_deployment_per_spec() {
    let dn = devnet().await;
    let chain = chain_client(&dn).await;
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let names = ["web", "api", "jobs"];
    let yaml: String = names
        .iter()
        .map(|n| agent("1.25", "0.5").replace("name: web", &format!("name: {n}")))
        .collect::<Vec<_>>()
        .join("\n---\n");
    let store = db.open().await;
    apply(&store, &yaml).await;
    let mnemonic = dn.mnemonic();
    // A small deterministic generator: the same moments on every run.
    let mut seed: u64 = 0x5eed_1234;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..8 {
        let log = dir.path().join(format!("serve-kill-{round}.log"));
        let mut child = spawn_serve(&dn, &db.url, mnemonic.as_str(), "", &log);
        let wait = Duration::from_millis(50 + next() % 1450);
        tokio::time::sleep(wait).await;
        child.kill().unwrap();
        let _ = child.wait();
        let active = active_dseqs(&chain).await;
        let intents = store.intents(chain.owner(), &[]).await.unwrap();
        let mut by_spec = std::collections::BTreeMap::new();
        for d in &active {
            let owner = intents
                .iter()
                .find(|i| i.dseq == *d)
                .map(|i| i.resource_uid.clone())
                .unwrap_or_else(|| panic!("active deployment {d} has no intent (round {round})"));
            *by_spec.entry(owner).or_insert(0) += 1;
        }
        assert!(
            by_spec.values().all(|n| *n == 1),
            "after a kill at {wait:?} (round {round}): {by_spec:?}"
        );
    }
    let log = dir.path().join("serve-last.log");
    let mut child = spawn_serve(&dn, &db.url, mnemonic.as_str(), "", &log);
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let mut ready = 0;
        for n in names {
            let r = store
                .get(&ResourceKey::new(Kind::Agent, "demo", n))
                .await
                .unwrap()
                .unwrap();
            if AkashStatus::from_status(&r.status).phase == Phase::Ready {
                ready += 1;
            }
        }
        if ready == names.len() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every spec Ready after the kills:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    let _ = child.wait();
    let active = active_dseqs(&chain).await;
    assert_eq!(
        active.len(),
        names.len(),
        "one deployment per spec: {active:?}"
    );
    let mut dseqs = Vec::new();
    for n in names {
        let r = store
            .get(&ResourceKey::new(Kind::Agent, "demo", n))
            .await
            .unwrap()
            .unwrap();
        dseqs.push(dseq_of(&r));
    }
    dseqs.sort();
    let mut want = active.clone();
    want.sort();
    assert_eq!(
        dseqs, want,
        "each spec's status names its one active deployment"
    );
    store.close().await;
    dn.shutdown().unwrap();
}

/// A `serve` process with controllers against the devnet; its API address read from stderr.
struct Serve {
    child: std::process::Child,
    addr: String,
    /// An admin token (`/metrics` wants one).
    token: String,
}

/// An admin token in the store at `url`.
async fn admin_token(url: &str) -> String {
    let store = af_operator::store::open(url).await.expect("store");
    let (t, _) = af_operator::api::auth::create_token(&store, "ops", true, "metrics")
        .await
        .expect("token");
    let t = t.expose_secret().to_string();
    store.close().await;
    t
}

impl Serve {
    fn start(dn: &Devnet, db: &str, token: &str) -> Serve {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_af-operator"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--bid-window",
                "200ms",
                "--resync",
                "2s",
            ])
            .arg("--network")
            .arg(dn.rpc_url())
            .arg("--devnet-control")
            .arg(dn.control_url())
            .env("AF_DATABASE_URL", db)
            .env("AF_AKASH_MNEMONIC", dn.mnemonic().as_str())
            .env_remove("PORT")
            .env_remove("AF_LISTEN")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("serve exited").expect("stderr");
            if let Some(rest) = line.split("serving GraphQL on http://").nth(1) {
                break rest.split('/').next().unwrap().to_string();
            }
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Serve {
            child,
            addr,
            token: token.to_owned(),
        }
    }

    async fn leading(&self) -> bool {
        let Ok(r) = reqwest::Client::new()
            .get(format!("http://{}/metrics", self.addr))
            .bearer_auth(&self.token)
            .send()
            .await
        else {
            return false;
        };
        r.text()
            .await
            .unwrap_or_default()
            .lines()
            .any(|l| l == "af_operator_leader 1")
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two daemons on one PostgreSQL: exactly one leads; after the leader is SIGKILLed the
/// standby leads within 15 s and takes a new spec to Ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconcile_leader_failover_on_postgres() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dn = devnet().await;
    let token = admin_token(&db.url).await;
    let a = Serve::start(&dn, &db.url, &token);
    let b = Serve::start(&dn, &db.url, &token);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let (la, lb) = loop {
        let (la, lb) = (a.leading().await, b.leading().await);
        if la || lb {
            break (la, lb);
        }
        assert!(std::time::Instant::now() < deadline, "nobody leads");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(la ^ lb, "exactly one leads");
    let (mut leader, standby) = if la { (a, b) } else { (b, a) };
    failover(&mut leader, &standby, &dn, &db).await;
}

async fn failover(leader: &mut Serve, standby: &Serve, dn: &Devnet, db: &TestDb) {
    leader.child.kill().unwrap(); // SIGKILL
    let _ = leader.child.wait();
    let killed = std::time::Instant::now();
    while !standby.leading().await {
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "the standby did not take over within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("standby leads {:?} after the SIGKILL", killed.elapsed());
    let store = db.open().await;
    apply(&store, &agent("1.25", "0.5")).await;
    until_ready(&store, 1, "after failover").await;
    let chain = chain_client(dn).await;
    assert_eq!(active_dseqs(&chain).await.len(), 1);
    store.close().await;
}

/// On SQLite a second reconciling daemon is refused, naming the lock file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_second_daemon_on_sqlite_is_refused() {
    let dn = devnet().await;
    let db = TestDb::sqlite();
    let first = Serve::start(&dn, &db.url, "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_af-operator"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--network")
        .arg(dn.rpc_url())
        .env("AF_DATABASE_URL", &db.url)
        .env("AF_AKASH_MNEMONIC", dn.mnemonic().as_str())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(".lock") && err.contains("pid"), "{err}");
    drop(first);
}
