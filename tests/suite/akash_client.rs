//! The Akash client against the in-process devnet, over real sockets: the tenant flow (a
//! provider registered and bidding from the test itself), sequence-mismatch recovery, RPC
//! failover, batching 50 deployments with one bad message, and a stalled RPC.

use std::time::{Duration, Instant};

use af_operator::akash::client::batch::BatchConfig;
use af_operator::akash::client::{
    AkashChain, CertificateStateFilter, ClientError, DeploymentStateFilter, RpcChain, RpcConfig,
};
use af_operator::akash::keys::Wallet;
use af_operator::akash::proto::base::coin;
use af_operator::akash::proto::base::deposit::v1::Deposit;
use af_operator::akash::proto::deployment::v1::DeploymentID;
use af_operator::akash::proto::market::{v1 as mv1, v1beta5 as mv1beta5};
use af_operator::akash::proto::provider::v1beta4 as provider;
use af_operator::akash::proto::{legacy_dec, to_any, AkashEvent};
use af_operator::devnet::{Devnet, DevnetConfig};
use af_operator::sdl::{
    Cpu, Endpoint, EndpointKind, GroupSpec, Memory, PlacementRequirements, ResourceUnit,
    ResourceValue, Resources, Storage,
};

const BLOCK: Duration = Duration::from_millis(150);

fn provider_wallet() -> Wallet {
    Wallet::from_entropy([42u8; 32]).0
}

async fn devnet() -> Devnet {
    let cfg = DevnetConfig {
        block_time: BLOCK,
        seed: 7,
        fund: vec![(
            provider_wallet().address().to_string(),
            vec![
                ("uakt".into(), 100_000_000_000),
                ("uact".into(), 100_000_000_000),
            ],
        )],
        ..DevnetConfig::default()
    };
    Devnet::start(cfg).await.expect("devnet starts")
}

fn config(endpoints: Vec<String>, batching: Option<BatchConfig>) -> RpcConfig {
    RpcConfig {
        endpoints,
        chain_id: None,
        request_timeout: Duration::from_secs(3),
        retry_for: Duration::from_secs(6),
        confirm_timeout: Duration::from_secs(20),
        poll_interval: Duration::from_millis(40),
        batching,
        ..RpcConfig::default()
    }
}

async fn tenant(dev: &Devnet, batching: Option<BatchConfig>) -> RpcChain {
    let wallet = Wallet::from_mnemonic(&dev.mnemonic()).expect("devnet mnemonic");
    RpcChain::connect(config(vec![dev.rpc_url()], batching), wallet)
        .await
        .expect("connects")
}

fn group(name: &str) -> GroupSpec {
    GroupSpec {
        name: name.to_owned(),
        requirements: PlacementRequirements::default(),
        resources: vec![ResourceUnit {
            resource: Resources {
                id: 1,
                cpu: Some(Cpu {
                    units: ResourceValue::new(100),
                    attributes: vec![],
                }),
                memory: Some(Memory {
                    quantity: ResourceValue::new(134_217_728),
                    attributes: vec![],
                }),
                storage: vec![Storage {
                    name: "default".to_owned(),
                    quantity: ResourceValue::new(536_870_912),
                    attributes: vec![],
                }],
                gpu: None,
                endpoints: vec![Endpoint {
                    kind: EndpointKind::SharedHttp as i32,
                    sequence_number: 0,
                }],
            },
            count: 1,
            price: legacy_dec::dec_coin("uact", "10").expect("price"),
        }],
    }
}

fn hash(n: u64) -> Vec<u8> {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&n.to_be_bytes());
    h.to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akash_client_tenant_flow() {
    let dev = devnet().await;
    let chain = tenant(&dev, None).await;
    assert_eq!(chain.chain_id(), dev.chain_id());
    let owner = chain.owner().to_string();

    let acct = chain.account(&owner).await.expect("account");
    assert_eq!(acct.address, owner);
    let balances = chain.balances(&owner).await.expect("balances");
    assert!(balances.iter().any(|c| c.denom == "uact"), "{balances:?}");

    // Create.
    let dseq = chain.latest_height().await.expect("height") as u64 + 1000;
    let r = chain
        .create_deployment(dseq, vec![group("web")], hash(1), coin("uact", 5_000_000))
        .await
        .expect("create deployment");
    assert!(r.height > 0 && r.hash.len() == 64);
    assert!(r
        .typed_events
        .iter()
        .any(|e| matches!(e, AkashEvent::DeploymentCreated(c) if c.id.dseq == dseq)));
    let id = DeploymentID::new(&owner, dseq);
    let d = chain.deployment(&id).await.expect("deployment");
    assert_eq!(d.groups.len(), 1);
    assert_eq!(d.deployment.hash, hash(1));
    let list = chain
        .deployments(&owner, DeploymentStateFilter::Active, None)
        .await
        .expect("list");
    assert!(list.items.iter().any(|x| x.deployment.id == id));
    let orders = chain
        .orders(
            mv1beta5::OrderFilters {
                owner: owner.clone(),
                dseq,
                state: "open".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("orders");
    assert_eq!(orders.items.len(), 1);
    let order_id = orders.items[0].id.clone();

    // A provider registers and bids (providers arrive later as a devnet service).
    let pw = provider_wallet();
    let prov = RpcChain::connect(config(vec![dev.rpc_url()], None), pw.clone())
        .await
        .expect("provider client");
    let host_uri = "https://127.0.0.1:8443".to_string();
    prov.send(to_any(&provider::MsgCreateProvider {
        owner: pw.address().to_string(),
        host_uri: host_uri.clone(),
        attributes: vec![],
        info: Default::default(),
    }))
    .await
    .expect("create provider");
    let p = chain.provider(pw.address()).await.expect("provider");
    assert_eq!(p.host_uri, host_uri);
    let offered = d.groups[0].group_spec.resources[0].clone();
    prov.send(to_any(&mv1beta5::MsgCreateBid {
        id: order_id.bid(pw.address(), 0),
        price: legacy_dec::dec_coin("uact", "5").expect("price"),
        deposit: Deposit::from_balance(coin("uakt", 500_000)),
        resources_offer: vec![mv1beta5::ResourceOffer {
            resources: offered.resource,
            count: 1,
            prices: None,
        }],
        reclamation_window: None,
    }))
    .await
    .expect("create bid");

    // Bids → lease.
    let bids = chain
        .bids(
            mv1beta5::BidFilters {
                owner: owner.clone(),
                dseq,
                gseq: order_id.gseq,
                oseq: order_id.oseq,
                state: "open".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("bids");
    assert_eq!(bids.items.len(), 1);
    let bid_id = bids.items[0].bid.id.clone();
    let r = chain.create_lease(bid_id.clone()).await.expect("lease");
    let lease_id: mv1::LeaseID = bid_id.clone().into();
    assert!(r
        .typed_events
        .iter()
        .any(|e| matches!(e, AkashEvent::LeaseCreated(l) if l.id == lease_id)));
    let leases = chain
        .leases(
            mv1::LeaseFilters {
                owner: owner.clone(),
                dseq,
                state: "active".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("leases");
    assert_eq!(leases.items.len(), 1);
    assert_eq!(leases.items[0].lease.id, lease_id);

    // Deposit raises the escrow funds.
    let funds = |d: &af_operator::akash::proto::deployment::v1beta4::QueryDeploymentResponse| {
        d.escrow_account
            .state
            .funds
            .iter()
            .find(|b| b.denom == "uact")
            .and_then(|b| b.amount.parse::<u128>().ok())
            .unwrap_or(0)
    };
    let before = funds(&chain.deployment(&id).await.expect("deployment"));
    chain
        .deposit(id.clone(), coin("uact", 2_000_000))
        .await
        .expect("deposit");
    let after = funds(&chain.deployment(&id).await.expect("deployment"));
    // Funds are LegacyDec (×10^18); the drawdown between reads is a few blocks at 5 uact.
    let scale = 1_000_000_000_000_000_000u128;
    assert!(
        after / scale > before / scale + 1_900_000,
        "funds {before} -> {after}"
    );

    // Close.
    let r = chain.close_deployment(dseq).await.expect("close");
    assert!(r
        .typed_events
        .iter()
        .any(|e| matches!(e, AkashEvent::DeploymentClosed(c) if c.id == id)));
    let active = chain
        .leases(
            mv1::LeaseFilters {
                owner: owner.clone(),
                dseq,
                state: "active".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("leases");
    assert!(active.items.is_empty());

    // Not found is typed.
    let missing = chain
        .deployment(&DeploymentID::new(&owner, 999_999_999))
        .await
        .unwrap_err();
    assert!(matches!(missing, ClientError::NotFound(_)), "{missing}");
    dev.shutdown().expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akash_client_sequence_mismatch_recovery() {
    let dev = devnet().await;
    let a = tenant(&dev, None).await;
    let b = tenant(&dev, None).await;
    let base = a.latest_height().await.expect("height") as u64 + 5000;
    // B learns the sequence, then A moves it on twice: B's cache is stale.
    b.create_deployment(base, vec![group("g")], hash(1), coin("uact", 500_000))
        .await
        .expect("b first");
    a.create_deployment(base + 1, vec![group("g")], hash(2), coin("uact", 500_000))
        .await
        .expect("a first");
    a.create_deployment(base + 2, vec![group("g")], hash(3), coin("uact", 500_000))
        .await
        .expect("a second");
    let r = b
        .create_deployment(base + 3, vec![group("g")], hash(4), coin("uact", 500_000))
        .await
        .expect("b recovers from the stale sequence");
    assert!(r.height > 0);
    assert_eq!(b.sequence_recoveries(), 1);
    assert_eq!(a.sequence_recoveries(), 0, "A read the account fresh");
    dev.shutdown().expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akash_client_rpc_failover() {
    let dev = devnet().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    let wallet = Wallet::from_mnemonic(&dev.mnemonic()).expect("mnemonic");
    let chain = RpcChain::connect(config(vec![closed.clone(), dev.rpc_url()], None), wallet)
        .await
        .expect("connects through the second endpoint");
    assert_eq!(chain.rpc().current_url(), dev.rpc_url());
    // A configured chain id that the node does not serve is refused before anything is signed.
    let wrong = RpcConfig {
        chain_id: Some("akashnet-2".into()),
        ..config(vec![dev.rpc_url()], None)
    };
    let err = RpcChain::connect(
        wrong,
        Wallet::from_mnemonic(&dev.mnemonic()).expect("mnemonic"),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("akashnet-2"), "{err}");
    let dseq = chain.latest_height().await.expect("height") as u64 + 7000;
    chain
        .create_deployment(dseq, vec![group("g")], hash(9), coin("uact", 500_000))
        .await
        .expect("write through the failover endpoint");
    dev.shutdown().expect("shutdown");
}

struct Run {
    blocks: i64,
    elapsed: Duration,
    txs: usize,
}

async fn fifty(
    chain: &RpcChain,
    base: u64,
    bad: Option<(usize, u64)>,
    sequential: bool,
) -> (Run, Vec<Result<u64, ClientError>>) {
    creates(chain, 50, base, bad, sequential).await
}

/// `n` deployments created at once (or one after the other), one of them possibly `bad`.
async fn creates(
    chain: &RpcChain,
    n: u64,
    base: u64,
    bad: Option<(usize, u64)>,
    sequential: bool,
) -> (Run, Vec<Result<u64, ClientError>>) {
    let start_height = chain.latest_height().await.expect("height");
    let started = Instant::now();
    let futs = (0..n).map(|i| {
        let dseq = match bad {
            Some((at, dup)) if at as u64 == i => dup,
            _ => base + i,
        };
        let chain = chain.clone();
        async move {
            chain
                .create_deployment(dseq, vec![group("g")], hash(i + 100), coin("uact", 500_000))
                .await
                .map(|r| (dseq, r))
        }
    });
    let results = if sequential {
        let mut v = Vec::new();
        for f in futs {
            v.push(f.await);
        }
        v
    } else {
        futures::future::join_all(futs).await
    };
    let elapsed = started.elapsed();
    let mut hashes = std::collections::HashSet::new();
    let mut last = start_height;
    let mut out = Vec::new();
    for r in results {
        match r {
            Ok((dseq, receipt)) => {
                assert!(receipt
                    .typed_events
                    .iter()
                    .all(|e| !matches!(e, AkashEvent::DeploymentCreated(c) if c.id.dseq != dseq)));
                hashes.insert(receipt.hash.clone());
                last = last.max(receipt.height);
                out.push(Ok(dseq));
            }
            Err(e) => out.push(Err(e)),
        }
    }
    (
        Run {
            blocks: last - start_height,
            elapsed,
            txs: hashes.len(),
        },
        out,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akash_client_batch_of_50_with_a_bad_message() {
    let dev = devnet().await;
    let batched = tenant(&dev, Some(BatchConfig::default())).await;
    let base = batched.latest_height().await.expect("height") as u64 + 10_000;
    // An existing deployment: creating it again is the bad message.
    batched
        .create_deployment(base - 1, vec![group("g")], hash(1), coin("uact", 500_000))
        .await
        .expect("existing deployment");
    let (run, out) = fifty(&batched, base, Some((17, base - 1)), false).await;
    for (i, r) in out.iter().enumerate() {
        if i == 17 {
            match r {
                Err(ClientError::Chain { log, .. }) => {
                    assert!(log.contains("exist"), "{log}")
                }
                other => panic!("the duplicate must fail alone: {other:?}"),
            }
        } else {
            assert_eq!(r.as_ref().ok(), Some(&(base + i as u64)), "message {i}");
        }
    }
    assert!(run.txs <= 3, "49 messages in {} txs", run.txs);
    assert!(run.blocks <= 6, "49 messages over {} blocks", run.blocks);
    eprintln!(
        "FIGURES batched: 50 deployments (1 bad) in {} tx(s), {} block(s), {:.2}s (block time {}ms)",
        run.txs,
        run.blocks,
        run.elapsed.as_secs_f64(),
        BLOCK.as_millis()
    );

    // The same without batching: one tx per deployment.
    let single = tenant(&dev, None).await;
    let base2 = base + 1000;
    let (run2, out2) = fifty(&single, base2, None, false).await;
    assert!(out2.iter().all(|r| r.is_ok()), "{out2:?}");
    assert_eq!(run2.txs, 50);
    eprintln!(
        "FIGURES unbatched, concurrent (pipelined sequences): 50 deployments in {} txs, {} block(s), {:.2}s (block time {}ms)",
        run2.txs,
        run2.blocks,
        run2.elapsed.as_secs_f64(),
        BLOCK.as_millis()
    );

    // And one after the other, each waiting for its confirmation (a naive reconciler).
    let (run3, out3) = fifty(&single, base + 2000, None, true).await;
    assert!(out3.iter().all(|r| r.is_ok()), "{out3:?}");
    assert_eq!(run3.txs, 50);
    assert!(run3.blocks >= 25, "one tx per block or so: {}", run3.blocks);
    eprintln!(
        "FIGURES unbatched, sequential: 50 deployments in {} txs, {} block(s), {:.2}s (block time {}ms)",
        run3.txs,
        run3.blocks,
        run3.elapsed.as_secs_f64(),
        BLOCK.as_millis()
    );
    // Many more at once: full txs of 50 are pipelined (consecutive sequences), so 400
    // deployments take 8 txs that share a block, not 8 blocks.
    let (run4, out4) = creates(&batched, 400, base + 3000, None, false).await;
    assert!(out4.iter().all(|r| r.is_ok()), "{out4:?}");
    assert_eq!(run4.txs, 8, "400 messages at 50 per tx");
    assert!(
        run4.blocks <= 3,
        "8 pipelined txs over {} blocks",
        run4.blocks
    );
    eprintln!(
        "FIGURES batched, pipelined: 400 deployments in {} txs, {} block(s), {:.2}s (block time {}ms)",
        run4.txs,
        run4.blocks,
        run4.elapsed.as_secs_f64(),
        BLOCK.as_millis()
    );
    let stats = batched.batcher().expect("batching on").stats();
    assert!(stats.peak_in_flight > 1, "{stats:?}");
    eprintln!(
        "FIGURES batcher: {} tx attempts, {} confirmed, {} failed",
        stats.txs, stats.confirmed, stats.failed
    );
    dev.shutdown().expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akash_client_stalled_rpc_hits_its_deadline() {
    let dev = devnet().await;
    let wallet = Wallet::from_mnemonic(&dev.mnemonic()).expect("mnemonic");
    let cfg = RpcConfig {
        request_timeout: Duration::from_millis(400),
        retry_for: Duration::from_millis(1500),
        ..config(vec![dev.rpc_url()], None)
    };
    let chain = RpcChain::connect(cfg, wallet).await.expect("connects");
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/rpc/stall", dev.control_url()))
        .json(&serde_json::json!({"seconds": 30}))
        .send()
        .await
        .expect("control API");
    assert!(resp.status().is_success());
    let started = Instant::now();
    let err = tokio::time::timeout(Duration::from_secs(15), chain.account(chain.owner()))
        .await
        .expect("the client gives up by itself")
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, ClientError::Timeout(_)), "{err}");
    assert!(err.to_string().contains("attempts"), "{err}");
    assert!(took < Duration::from_secs(8), "took {took:?}");
    let _ = http
        .delete(format!("{}/rpc/stall", dev.control_url()))
        .send()
        .await;
    // And it works again once the RPC answers.
    chain.account(chain.owner()).await.expect("after the stall");
    dev.shutdown().expect("shutdown");
}

/// Runs the binary (bounded: killed after 60 s) and returns its exit code and output.
async fn run_cli(args: &[String], env: &[(&str, &str)]) -> (i32, String, String) {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_af-operator"));
    cmd.args(args)
        .env_remove("AF_AKASH_NETWORK")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn af-operator");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the CLI did not finish within 60 s: {args:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    (status.code().unwrap_or(-1), out, err)
}

/// Runs `af-operator akash --network <devnet> ARGS` with the devnet's mnemonic in the
/// environment.
async fn af_akash(dev: &Devnet, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["akash".to_string(), "--network".into(), dev.rpc_url()];
    all.extend(args.iter().map(|a| a.to_string()));
    run_cli(&all, &[("AF_AKASH_MNEMONIC", dev.mnemonic().as_str())]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akash_client_cli() {
    let dev = devnet().await;
    let chain = tenant(&dev, None).await;
    let dseq = chain.latest_height().await.expect("height") as u64 + 20_000;
    chain
        .create_deployment(dseq, vec![group("web")], hash(5), coin("uact", 500_000))
        .await
        .expect("create");

    let (code, out, err) = af_akash(&dev, &["account", "-o", "json"]).await;
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["address"], dev.test_address());
    assert_eq!(v["chain_id"], dev.chain_id());
    assert!(!out.contains(dev.mnemonic().as_str()) && !err.contains(dev.mnemonic().as_str()));

    let (code, out, err) = af_akash(&dev, &["deployments"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&dseq.to_string()), "{out}");
    let (code, out, err) = af_akash(&dev, &["deployments", "--state", "closed"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains(&dseq.to_string()), "{out}");
    let (code, out, err) = af_akash(&dev, &["deployments", "--state", "all", "-o", "json"]).await;
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(v
        .as_array()
        .expect("array")
        .iter()
        .any(|d| d["dseq"].as_str() == Some(dseq.to_string().as_str()) && d["state"] == "active"));
    let (code, _, err) = af_akash(&dev, &["deployments", "--state", "open"]).await;
    assert_ne!(code, 0);
    assert!(err.contains("active, closed, all"), "{err}");

    // Dry run: the tx is shown, nothing is sent.
    let seq_before = chain
        .account(chain.owner())
        .await
        .expect("account")
        .sequence;
    let (code, out, err) = af_akash(
        &dev,
        &["deposit", &dseq.to_string(), "1000000uact", "--dry-run"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        v["messages"][0]["@type"],
        "/akash.escrow.v1.MsgAccountDeposit"
    );
    assert_eq!(
        v["messages"][0]["value"]["deposit"]["amount"]["amount"],
        "1000000"
    );
    assert_eq!(v["signer"], dev.test_address());
    assert_eq!(v["fee"]["amount"][0]["denom"], "uakt");
    assert!(v["memo"].as_str().unwrap_or("").starts_with("af-operator/"));
    tokio::time::sleep(BLOCK * 3).await;
    assert_eq!(
        chain
            .account(chain.owner())
            .await
            .expect("account")
            .sequence,
        seq_before,
        "dry run broadcast nothing"
    );

    let (code, out, err) = af_akash(&dev, &["close", &dseq.to_string()]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("EventDeploymentClosed"), "{out}");
    let (code, _, err) = af_akash(&dev, &["close", &dseq.to_string()]).await;
    assert_eq!(code, 1);
    assert!(err.contains("chain error"), "{err}");

    // Certificate: generated once, published, kept with its key encrypted.
    let dir = tempfile::tempdir().expect("tempdir");
    let dir_arg = dir.path().display().to_string();
    let args: Vec<String> = [
        "akash",
        "--network",
        &dev.rpc_url(),
        "cert",
        "publish",
        "--cert-dir",
        &dir_arg,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (code, _, err) = run_cli(
        &args,
        &[
            ("AF_AKASH_MNEMONIC", dev.mnemonic().as_str()),
            ("AF_AKASH_CERT_PASSPHRASE", "test passphrase"),
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    // The directory from $AF_AKASH_CERT_DIR instead of the flag: the stored certificate is
    // found and reused, nothing new is published.
    let (code, out, err) = run_cli(
        &[
            "akash".into(),
            "--network".into(),
            dev.rpc_url(),
            "cert".into(),
            "publish".into(),
            "-o".into(),
            "json".into(),
        ],
        &[
            ("AF_AKASH_MNEMONIC", dev.mnemonic().as_str()),
            ("AF_AKASH_CERT_PASSPHRASE", "test passphrase"),
            ("AF_AKASH_CERT_DIR", dir_arg.as_str()),
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert!(
        v["file"]
            .as_str()
            .unwrap_or("")
            .starts_with(dir_arg.as_str()),
        "{out}"
    );
    // A keyring made from the mnemonic signs as the same account.
    let kr = dir.path().join("keyring.json").display().to_string();
    let env = [
        ("AF_AKASH_MNEMONIC", dev.mnemonic().to_string()),
        ("AF_AKASH_KEYRING_PASSPHRASE", "kr pass".to_string()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, _, err) = run_cli(
        &[
            "akash".into(),
            "keyring".into(),
            "create".into(),
            kr.clone(),
        ],
        &env,
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(!std::fs::read_to_string(&kr)
        .expect("keyring")
        .contains(dev.mnemonic().as_str()));
    let (code, out, err) = run_cli(
        &[
            "akash".into(),
            "--network".into(),
            dev.rpc_url(),
            "--keyring".into(),
            kr.clone(),
            "account".into(),
            "-o".into(),
            "json".into(),
        ],
        &[("AF_AKASH_KEYRING_PASSPHRASE", "kr pass")],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["address"], dev.test_address());

    let certs = chain
        .certificates(chain.owner(), None, CertificateStateFilter::Valid)
        .await
        .expect("certificates");
    assert_eq!(certs.len(), 1);
    let stored = std::fs::read_to_string(dir.path().join(format!("{}.cert.json", chain.owner())))
        .expect("stored certificate");
    assert!(stored.contains(&certs[0].serial) && !stored.contains("PRIVATE KEY"));
    dev.shutdown().expect("shutdown");
}

const SDL: &str = r#"
version: "2.0"
services:
  web:
    image: nginx:1.25
    expose:
      - port: 80
        accept:
          - www.example.test
        to:
          - global: true
profiles:
  compute:
    web:
      resources:
        cpu:
          units: 0.5
        memory:
          size: 512Mi
        storage:
          size: 1Gi
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
"#;

/// Create → bids → lease → manifest (mTLS, then JWT on a second deployment) → status →
/// deposit → close, against the devnet's simulated providers, through `AkashChain` and the
/// gateway client only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akash_client_full_tenant_flow_with_providers() {
    use af_operator::akash::client::gateway::{
        ClientCertStore, GatewayAuth, GatewayClient, GatewayError, GatewayOptions,
    };
    let dev = Devnet::start(DevnetConfig {
        providers: 2,
        block_time: Duration::from_millis(100),
        seed: 12,
        bid_delay: Duration::from_millis(150),
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet with providers");
    let chain = tenant(&dev, Some(BatchConfig::default())).await;
    let owner = chain.owner().to_string();
    let conv = af_operator::sdl::convert(SDL).expect("sdl");
    let manifest = serde_json::to_vec(&conv.manifest).expect("manifest json");
    let opts = GatewayOptions {
        request_timeout: Duration::from_secs(10),
        not_found_retry_for: Duration::from_secs(10),
        retry_interval: Duration::from_millis(200),
        ..GatewayOptions::default()
    };

    // Publish the client certificate once (kept encrypted in a temp dir).
    let dir = tempfile::tempdir().expect("tempdir");
    let store = ClientCertStore {
        dir: dir.path().to_path_buf(),
    };
    let cert = store
        .ensure_published(&chain, b"pass")
        .await
        .expect("certificate published");
    let again = store
        .ensure_published(&chain, b"pass")
        .await
        .expect("stored certificate reused");
    assert_eq!(cert.serial, again.serial, "generated once");

    let base = chain.latest_height().await.expect("height") as u64 + 100;
    for (dseq, auth) in [
        (base, GatewayAuth::Mtls(cert.clone())),
        (
            base + 1,
            GatewayAuth::Jwt(Wallet::from_mnemonic(&dev.mnemonic()).expect("wallet")),
        ),
    ] {
        chain
            .create_deployment(
                dseq,
                conv.groups.clone(),
                conv.version.0.to_vec(),
                coin("uact", 5_000_000),
            )
            .await
            .expect("create");
        // Bids arrive from the providers.
        let deadline = Instant::now() + Duration::from_secs(20);
        let bid = loop {
            let bids = chain
                .bids(
                    mv1beta5::BidFilters {
                        owner: owner.clone(),
                        dseq,
                        state: "open".into(),
                        ..Default::default()
                    },
                    None,
                )
                .await
                .expect("bids");
            if let Some(b) = bids.items.first() {
                break b.bid.id.clone();
            }
            assert!(Instant::now() < deadline, "no bid for {dseq}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        chain.create_lease(bid.clone()).await.expect("lease");
        let gw = GatewayClient::connect(&chain, &bid.provider, auth.clone(), opts.clone())
            .await
            .expect("gateway client");
        gw.send_manifest(dseq, &manifest)
            .await
            .expect("manifest accepted");
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            match gw.lease_status(dseq, bid.gseq, bid.oseq).await {
                Ok(s)
                    if s.services
                        .get("web")
                        .is_some_and(|w| w.available_replicas >= 1) =>
                {
                    break s
                }
                Ok(_) | Err(GatewayError::Http { status: 404, .. }) => {}
                Err(e) => panic!("status: {e}"),
            }
            assert!(Instant::now() < deadline, "workload never became available");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(status.services["web"].total, 1);
        assert!(!status.services["web"].uris.is_empty(), "{status:?}");

        // A manifest that does not match the deployment is refused for good (422).
        let mut wrong = conv.manifest.clone();
        wrong.0[0].services[0].image = "nginx:1.26".into();
        let err = gw
            .send_manifest(dseq, &serde_json::to_vec(&wrong).expect("json"))
            .await
            .unwrap_err();
        assert!(matches!(err, GatewayError::Rejected(_)), "{err}");
    }

    // 404 (no lease for that dseq at this provider) is retried, but only for so long.
    let provider_addr = chain
        .leases(
            mv1::LeaseFilters {
                owner: owner.clone(),
                dseq: base,
                ..Default::default()
            },
            None,
        )
        .await
        .expect("leases")
        .items[0]
        .lease
        .id
        .provider
        .clone();
    let short = GatewayOptions {
        not_found_retry_for: Duration::from_millis(700),
        retry_interval: Duration::from_millis(200),
        ..opts.clone()
    };
    let gw = GatewayClient::connect(
        &chain,
        &provider_addr,
        GatewayAuth::Mtls(cert.clone()),
        short,
    )
    .await
    .expect("gateway client");
    let started = Instant::now();
    let err = gw.send_manifest(base + 77, &manifest).await.unwrap_err();
    assert!(matches!(err, GatewayError::NotFound(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));

    let id = DeploymentID::new(&owner, base);
    chain
        .deposit(id.clone(), coin("uact", 1_000_000))
        .await
        .expect("deposit");
    chain.close_deployment(base).await.expect("close");
    chain.close_deployment(base + 1).await.expect("close");
    let active = chain
        .leases(
            mv1::LeaseFilters {
                owner: owner.clone(),
                state: "active".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("leases");
    assert!(active
        .items
        .iter()
        .all(|l| l.lease.id.dseq != base && l.lease.id.dseq != base + 1));
    dev.shutdown().expect("shutdown");
}

/// Crash-safety of writes: with blocks paused, a write is broadcast but not confirmed and
/// comes back as `Pending` with its hash; once blocks resume, `tx(hash)` finds it. A signed tx
/// that reaches the chain after its timeout height is refused (code 30) and never lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn akash_client_pending_write_is_found_later_and_expired_tx_never_lands() {
    let dev = devnet().await;
    let wallet = Wallet::from_mnemonic(&dev.mnemonic()).expect("mnemonic");
    let cfg = RpcConfig {
        confirm_timeout: Duration::from_millis(800),
        ..config(vec![dev.rpc_url()], Some(BatchConfig::default()))
    };
    let chain = RpcChain::connect(cfg, wallet).await.expect("connects");
    let owner = chain.owner().to_string();
    let http = reqwest::Client::new();
    let control = |path: &str| format!("{}{path}", dev.control_url());

    let resp = http
        .post(control("/blocks/pause"))
        .send()
        .await
        .expect("pause");
    assert!(resp.status().is_success());
    let paused_at = chain.latest_height().await.expect("height");
    let dseq = paused_at as u64 + 30_000;
    let err = chain
        .create_deployment(dseq, vec![group("g")], hash(1), coin("uact", 500_000))
        .await
        .unwrap_err();
    let (pending_hash, timeout_height) = match &err {
        ClientError::Pending {
            hash,
            msg_index,
            timeout_height,
            ..
        } => {
            assert_eq!(*msg_index, 0);
            (hash.clone(), *timeout_height)
        }
        other => panic!("expected a pending write, got {other:?}"),
    };
    assert!(err.is_transient() && err.category() == "pending", "{err}");
    assert_eq!(timeout_height, paused_at as u64 + 100, "default margin");
    assert_eq!(chain.tx(&pending_hash).await.expect("tx query"), None);

    let resp = http
        .post(control("/blocks/resume"))
        .send()
        .await
        .expect("resume");
    assert!(resp.status().is_success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let receipt = loop {
        if let Some(r) = chain.tx(&pending_hash).await.expect("tx query") {
            break r;
        }
        assert!(Instant::now() < deadline, "the pending tx never landed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(receipt.hash, pending_hash);
    assert!(receipt.height > paused_at);
    let id = DeploymentID::new(&owner, dseq);
    assert!(receipt
        .message(0)
        .typed_events
        .iter()
        .any(|e| matches!(e, AkashEvent::DeploymentCreated(c) if c.id == id)));
    // Lower case works too.
    assert!(chain
        .tx(&pending_hash.to_lowercase())
        .await
        .expect("tx")
        .is_some());
    // The client recovers its sequence after the pending write.
    chain
        .close_deployment(dseq)
        .await
        .expect("next write after a pending one");

    // A tx signed now with a margin of 2 blocks, broadcast after that: refused with the
    // ante handler's code 30, and never in a block.
    let short = RpcChain::connect(
        RpcConfig {
            timeout_height_margin: 2,
            ..config(vec![dev.rpc_url()], None)
        },
        Wallet::from_mnemonic(&dev.mnemonic()).expect("mnemonic"),
    )
    .await
    .expect("connects");
    let signed = short
        .dry_run(&[af_operator::akash::client::msgs::create_deployment(
            &owner,
            dseq + 1,
            vec![group("g")],
            hash(2),
            coin("uact", 500_000),
        )])
        .await
        .expect("signed");
    let latest = short.latest_height().await.expect("height") as u64;
    assert_eq!(signed.timeout_height, latest + 2);
    let decoded = af_operator::akash::tx::decode_tx(&signed.tx_bytes).expect("decodes");
    assert_eq!(decoded.body.timeout_height, signed.timeout_height);
    while (dev.node().height() as u64) <= signed.timeout_height {
        tokio::time::sleep(BLOCK / 2).await;
    }
    let check = dev.node().submit(signed.tx_bytes.clone());
    assert_eq!(
        (check.codespace.as_str(), check.code),
        ("sdk", 30),
        "{check:?}"
    );
    assert!(
        check.log.ends_with(&format!(
            "timeout height: {}: tx timeout height",
            signed.timeout_height
        )),
        "{}",
        check.log
    );
    let expired_hash = hex::encode_upper(check.hash);
    tokio::time::sleep(BLOCK * 3).await;
    assert_eq!(short.tx(&expired_hash).await.expect("tx"), None);
    assert!(short.tx("not hex").await.is_err());
    dev.shutdown().expect("shutdown");
}
