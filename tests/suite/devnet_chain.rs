//! The devnet's chain, driven over real sockets by independent clients: txs built and signed
//! with cosmrs (keys derived with bip32 directly), sent and read with tendermint-rpc's
//! `HttpClient` (CompatMode V0_38); faults through the control API with reqwest.

use std::time::{Duration, Instant};

use af_operator::akash::proto::base::coin;
use af_operator::akash::proto::base::deposit::v1::Deposit;
use af_operator::akash::proto::deployment::{v1 as dv1, v1beta4 as dv};
use af_operator::akash::proto::escrow::v1 as ev;
use af_operator::akash::proto::market::{v1 as mv1, v1beta5 as mv};
use af_operator::akash::proto::provider::v1beta4 as pv;
use af_operator::akash::proto::{legacy_dec, to_any, Any, Query};
use af_operator::devnet::{Devnet, DevnetConfig};
use cosmos_sdk_proto::cosmos::auth::v1beta1 as auth;
use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
use cosmrs::crypto::secp256k1::SigningKey;
use prost::Message;
use tendermint_rpc::client::CompatMode;
use tendermint_rpc::{Client, HttpClient};

const HD_PATH: &str = "m/44'/118'/0'/0/0";

async fn devnet(block_ms: u64) -> Devnet {
    devnet_with(block_ms, None).await
}

async fn devnet_with(block_ms: u64, state_dir: Option<std::path::PathBuf>) -> Devnet {
    Devnet::start(DevnetConfig {
        block_time: Duration::from_millis(block_ms),
        seed: 7,
        state_dir,
        ..DevnetConfig::default()
    })
    .await
    .expect("devnet starts")
}

fn rpc(d: &Devnet, timeout: Duration) -> HttpClient {
    HttpClient::builder(d.rpc_url().parse().unwrap())
        .compat_mode(CompatMode::V0_38)
        .timeout(timeout)
        .build()
        .unwrap()
}

/// An account with a key, as an independent client holds it.
struct Acct {
    key: SigningKey,
    address: String,
    number: u64,
    sequence: u64,
}

fn key_from_mnemonic(phrase: &str) -> SigningKey {
    let m = bip32::Mnemonic::new(phrase, bip32::Language::English).unwrap();
    let seed = m.to_seed("");
    let xprv = bip32::XPrv::derive_from_path(seed, &HD_PATH.parse().unwrap()).unwrap();
    SigningKey::from_slice(&xprv.private_key().to_bytes()).unwrap()
}

fn address_of(key: &SigningKey) -> String {
    key.public_key().account_id("akash").unwrap().to_string()
}

async fn query<Q: Query>(c: &HttpClient, req: Q) -> Result<Q::Response, (u32, String)> {
    let r = c
        .abci_query(Some(Q::PATH.to_owned()), req.encode_to_vec(), None, false)
        .await
        .expect("abci_query");
    if r.code.is_err() {
        return Err((r.code.value(), r.log));
    }
    Ok(Q::Response::decode(r.value.as_slice()).expect("response decodes"))
}

async fn raw_query<Resp: Message + Default>(
    c: &HttpClient,
    path: &str,
    req: impl Message,
) -> Result<Resp, (u32, String)> {
    let r = c
        .abci_query(Some(path.to_owned()), req.encode_to_vec(), None, false)
        .await
        .expect("abci_query");
    if r.code.is_err() {
        return Err((r.code.value(), r.log));
    }
    Ok(Resp::decode(r.value.as_slice()).expect("response decodes"))
}

async fn load(c: &HttpClient, key: SigningKey) -> Acct {
    let address = address_of(&key);
    let resp: auth::QueryAccountResponse = raw_query(
        c,
        "/cosmos.auth.v1beta1.Query/Account",
        auth::QueryAccountRequest {
            address: address.clone(),
        },
    )
    .await
    .expect("account exists");
    let base = auth::BaseAccount::decode(resp.account.unwrap().value.as_slice()).unwrap();
    Acct {
        key,
        address,
        number: base.account_number,
        sequence: base.sequence,
    }
}

async fn balance(c: &HttpClient, addr: &str, denom: &str) -> u128 {
    let r: bank::QueryBalanceResponse = raw_query(
        c,
        "/cosmos.bank.v1beta1.Query/Balance",
        bank::QueryBalanceRequest {
            address: addr.to_owned(),
            denom: denom.to_owned(),
        },
    )
    .await
    .unwrap();
    r.balance.map_or(0, |b| b.amount.parse().unwrap())
}

/// Signs `msgs` with cosmrs at the account's current sequence (not bumped).
fn sign_with(a: &Acct, chain_id: &str, number: u64, seq: u64, msgs: &[Any], gas: u64) -> Vec<u8> {
    let msgs: Vec<cosmrs::Any> = msgs
        .iter()
        .map(|m| cosmrs::Any {
            type_url: m.type_url.clone(),
            value: m.value.clone(),
        })
        .collect();
    let body = cosmrs::tx::Body::new(msgs, "devnet test", 0u32);
    let fee = cosmrs::tx::Fee::from_amount_and_gas(
        cosmrs::Coin {
            denom: "uakt".parse().unwrap(),
            amount: u128::from(gas) / 100 + 1,
        },
        gas,
    );
    let auth_info =
        cosmrs::tx::SignerInfo::single_direct(Some(a.key.public_key()), seq).auth_info(fee);
    let doc =
        cosmrs::tx::SignDoc::new(&body, &auth_info, &chain_id.parse().unwrap(), number).unwrap();
    doc.sign(&a.key).unwrap().to_bytes().unwrap()
}

fn sign(a: &mut Acct, chain_id: &str, msgs: &[Any]) -> Vec<u8> {
    let raw = sign_with(a, chain_id, a.number, a.sequence, msgs, 400_000);
    a.sequence += 1;
    raw
}

/// The result of a delivered tx.
struct Delivered {
    code: u32,
    log: String,
    events: Vec<(String, Vec<(String, String)>)>,
    height: i64,
    gas_used: i64,
}

impl Delivered {
    fn has_event(&self, kind: &str) -> bool {
        self.events.iter().any(|(k, _)| k == kind)
    }
}

async fn wait_tx(c: &HttpClient, hash: cosmrs::tendermint::Hash) -> Delivered {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(r) = c.tx(hash, false).await {
            let events = r
                .tx_result
                .events
                .iter()
                .map(|e| {
                    (
                        e.kind.clone(),
                        e.attributes
                            .iter()
                            .map(|a| {
                                (
                                    a.key_str().unwrap_or_default().to_owned(),
                                    a.value_str().unwrap_or_default().to_owned(),
                                )
                            })
                            .collect(),
                    )
                })
                .collect();
            return Delivered {
                code: r.tx_result.code.value(),
                log: r.tx_result.log,
                events,
                height: r.height.value() as i64,
                gas_used: r.tx_result.gas_used,
            };
        }
        assert!(Instant::now() < deadline, "tx {hash} not found in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// broadcast_tx_sync, then poll `tx` (what cosmjs and the Go client do).
async fn send(c: &HttpClient, raw: Vec<u8>) -> Delivered {
    let r = c.broadcast_tx_sync(raw).await.expect("broadcast");
    assert_eq!(r.code.value(), 0, "CheckTx refused: {}", r.log);
    wait_tx(c, r.hash).await
}

/// Signs `msgs` as `a`, sends them and asserts the tx was delivered with code 0.
async fn send_ok(c: &HttpClient, a: &mut Acct, chain_id: &str, msgs: &[Any]) -> Delivered {
    let r = send(c, sign(a, chain_id, msgs)).await;
    assert_eq!(r.code, 0, "{}", r.log);
    r
}

async fn control(
    d: &Devnet,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> serde_json::Value {
    let client = reqwest::Client::new();
    let mut req = client.request(method, format!("{}{path}", d.control_url()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("control API");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}

/// A fresh key funded through the faucet.
async fn funded(d: &Devnet, c: &HttpClient, coins: &str) -> Acct {
    let key = SigningKey::random();
    let addr = address_of(&key);
    control(
        d,
        reqwest::Method::POST,
        "/fund",
        Some(serde_json::json!({"address": addr, "coins": coins})),
    )
    .await;
    load(c, key).await
}

fn sdl(price_uact: u64) -> String {
    format!(
        r#"version: "2.0"
services:
  web:
    image: nginx:1.25
    expose:
      - port: 80
        as: 80
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
          amount: {price_uact}
deployment:
  web:
    dc:
      profile: web
      count: 1
"#
    )
}

fn create_deployment(owner: &str, dseq: u64, price: u64, deposit: (&str, u128)) -> Any {
    let conv = af_operator::sdl::convert(&sdl(price)).expect("SDL converts");
    to_any(&dv::MsgCreateDeployment {
        id: dv1::DeploymentID::new(owner, dseq),
        groups: conv.groups,
        hash: conv.version.as_bytes().to_vec(),
        deposit: Deposit::from_balance(coin(deposit.0, deposit.1)),
        reclamation: None,
    })
}

fn create_provider(owner: &str) -> Any {
    to_any(&pv::MsgCreateProvider {
        owner: owner.to_owned(),
        host_uri: "https://127.0.0.1:8443".to_owned(),
        attributes: vec![af_operator::sdl::Attribute::new("region", "devnet")],
        info: pv::Info::default(),
    })
}

fn create_bid(provider: &str, order: &mv1::OrderID, price: &str) -> Any {
    to_any(&mv::MsgCreateBid {
        id: order.bid(provider, 0),
        price: legacy_dec::dec_coin("uact", price).unwrap(),
        deposit: Deposit::from_balance(coin("uakt", 500_000)),
        resources_offer: vec![],
        reclamation_window: None,
    })
}

async fn orders(c: &HttpClient, owner: &str, dseq: u64, state: &str) -> Vec<mv::Order> {
    query(
        c,
        mv::QueryOrdersRequest {
            filters: mv::OrderFilters {
                owner: owner.to_owned(),
                dseq,
                state: state.to_owned(),
                ..Default::default()
            },
            pagination: None,
        },
    )
    .await
    .unwrap()
    .orders
}

async fn leases(c: &HttpClient, owner: &str, dseq: u64) -> Vec<mv::QueryLeaseResponse> {
    query(
        c,
        mv::QueryLeasesRequest {
            filters: mv1::LeaseFilters {
                owner: owner.to_owned(),
                dseq,
                ..Default::default()
            },
            pagination: None,
        },
    )
    .await
    .unwrap()
    .leases
}

async fn deployment(
    c: &HttpClient,
    owner: &str,
    dseq: u64,
) -> Result<dv::QueryDeploymentResponse, (u32, String)> {
    query(
        c,
        dv::QueryDeploymentRequest {
            id: dv1::DeploymentID::new(owner, dseq),
        },
    )
    .await
}

async fn tenant(d: &Devnet, c: &HttpClient) -> Acct {
    load(c, key_from_mnemonic(d.mnemonic().as_str())).await
}

/// A registered provider account.
async fn provider(d: &Devnet, c: &HttpClient) -> Acct {
    let mut p = funded(d, c, "100000000uakt").await;
    let addr = p.address.clone();
    let r = send(c, sign(&mut p, d.chain_id(), &[create_provider(&addr)])).await;
    assert_eq!(r.code, 0, "{}", r.log);
    p
}

#[tokio::test]
async fn devnet_rpc_endpoints_work_with_tendermint_rpc() {
    let d = devnet(100).await;
    let c = rpc(&d, Duration::from_secs(10));
    let status = c.status().await.expect("status");
    assert_eq!(status.node_info.network.as_str(), d.chain_id());
    assert!(status.node_info.version.to_string().starts_with("0.38"));
    // wait for a couple of blocks
    let deadline = Instant::now() + Duration::from_secs(5);
    while c
        .status()
        .await
        .unwrap()
        .sync_info
        .latest_block_height
        .value()
        < 2
    {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let info = c.abci_info().await.expect("abci_info");
    assert!(info.last_block_height.value() >= 2);
    let b1 = c.block(1u32).await.expect("block 1");
    assert_eq!(b1.block.header.height.value(), 1);
    let latest = c.latest_block().await.expect("latest block");
    assert!(latest.block.header.height.value() >= 2);
    assert_eq!(
        latest.block.header.last_block_id.unwrap().hash,
        c.block(latest.block.header.height.value() as u32 - 1)
            .await
            .unwrap()
            .block_id
            .hash
    );
    c.block_results(1u32).await.expect("block_results");
    c.genesis::<serde_json::Value>().await.expect("genesis");
    c.validators(1u32, tendermint_rpc::Paging::Default)
        .await
        .expect("validators");
    c.net_info().await.expect("net_info");
    c.health().await.expect("health");
    c.blockchain(1u32, 2u32).await.expect("blockchain");
    assert!(c.block(100_000u32).await.is_err());

    // balance of the funded test account through abci_query
    let tenant = tenant(&d, &c).await;
    assert_eq!(tenant.address, d.test_address());
    assert_eq!(
        balance(&c, &tenant.address, "uakt").await,
        1_000_000_000_000
    );
    // an unknown path is an error response, not a transport error
    let r = c
        .abci_query(Some("/nope.Query/X".into()), vec![], None, false)
        .await
        .unwrap();
    assert!(r.code.is_err());

    // broadcast_tx_commit delivers and returns the result
    let mut t = tenant;
    let owner = t.address.clone();
    let raw = sign(
        &mut t,
        d.chain_id(),
        &[create_deployment(&owner, 1, 100, ("uact", 500_000))],
    );
    let r = c
        .broadcast_tx_commit(raw)
        .await
        .expect("broadcast_tx_commit");
    assert_eq!(r.check_tx.code.value(), 0, "{}", r.check_tx.log);
    assert_eq!(r.tx_result.code.value(), 0, "{}", r.tx_result.log);
    assert!(r.height.value() > 0);
    assert!(r
        .tx_result
        .events
        .iter()
        .any(|e| e.kind == "akash.deployment.v1.EventDeploymentCreated"));
    // tx by hash, tx_search by hash and height
    let tx = c.tx(r.hash, false).await.expect("tx");
    assert_eq!(tx.height, r.height);
    let found = c
        .tx_search(
            tendermint_rpc::query::Query::eq("tx.hash", r.hash.to_string()),
            false,
            1,
            10,
            tendermint_rpc::Order::Ascending,
        )
        .await
        .expect("tx_search");
    assert_eq!(found.total_count, 1);
    let by_height = c
        .tx_search(
            tendermint_rpc::query::Query::eq("tx.height", r.height.value()),
            false,
            1,
            10,
            tendermint_rpc::Order::Ascending,
        )
        .await
        .unwrap();
    assert_eq!(by_height.txs.len(), 1);
    let missing = c.tx(cosmrs::tendermint::Hash::Sha256([9; 32]), false).await;
    assert!(format!("{:?}", missing.unwrap_err()).contains("not found"));
    let results = c.block_results(r.height).await.unwrap();
    assert_eq!(results.txs_results.unwrap().len(), 1);

    // the URI form
    let http = reqwest::Client::new();
    let v: serde_json::Value = http
        .get(format!("{}/tx?hash=0x{}", d.rpc_url(), r.hash))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"]["hash"], r.hash.to_string());
    let v: serde_json::Value = http
        .get(format!(
            "{}/abci_query?path=%22/cosmos.bank.v1beta1.Query/Balance%22&data=0x{}",
            d.rpc_url(),
            hex::encode(
                bank::QueryBalanceRequest {
                    address: t.address.clone(),
                    denom: "uakt".into()
                }
                .encode_to_vec()
            )
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"]["response"]["code"], 0);
    d.shutdown().unwrap();
}

#[tokio::test]
async fn devnet_tenant_flow_deployment_bid_lease_deposit_close() {
    let d = devnet(100).await;
    let c = rpc(&d, Duration::from_secs(10));
    let mut t = tenant(&d, &c).await;
    let mut p = provider(&d, &c).await;
    let owner = t.address.clone();
    let dseq = 42;

    // Simulate first (what cosmjs does for gas), then send.
    let msg = create_deployment(&owner, dseq, 1000, ("uact", 500_000));
    let sim_raw = sign_with(
        &t,
        d.chain_id(),
        t.number,
        t.sequence,
        std::slice::from_ref(&msg),
        0,
    );
    let sim: cosmos_sdk_proto::cosmos::tx::v1beta1::SimulateResponse = raw_query(
        &c,
        "/cosmos.tx.v1beta1.Service/Simulate",
        cosmos_sdk_proto::cosmos::tx::v1beta1::SimulateRequest {
            tx_bytes: sim_raw,
            ..Default::default()
        },
    )
    .await
    .expect("simulate");
    let sim_gas = sim.gas_info.unwrap().gas_used;
    assert!((60_000..=200_000).contains(&sim_gas), "gas {sim_gas}");
    assert!(sim
        .result
        .unwrap()
        .events
        .iter()
        .any(|e| e.r#type == "akash.deployment.v1.EventDeploymentCreated"));

    let uact_before = balance(&c, &owner, "uact").await;
    let r = send(&c, sign(&mut t, d.chain_id(), &[msg])).await;
    assert_eq!(r.code, 0, "{}", r.log);
    // the simulated tx carried no fee and no gas limit, so it is a few bytes shorter
    assert!(
        (r.gas_used as u64).abs_diff(sim_gas) < 1_000,
        "{} vs {sim_gas}",
        r.gas_used
    );
    assert!(r.has_event("akash.deployment.v1.EventDeploymentCreated"));
    assert!(r.has_event("akash.market.v1.EventOrderCreated"));
    assert_eq!(balance(&c, &owner, "uact").await, uact_before - 500_000);

    let open = orders(&c, &owner, dseq, "open").await;
    assert_eq!(open.len(), 1);
    let order = open[0].id.clone();

    let paddr = p.address.clone();
    let r = send(
        &c,
        sign(&mut p, d.chain_id(), &[create_bid(&paddr, &order, "500")]),
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.log);
    assert!(r.has_event("akash.market.v1.EventBidCreated"));
    let bids = query(
        &c,
        mv::QueryBidsRequest {
            filters: mv::BidFilters {
                owner: owner.clone(),
                dseq,
                state: "open".into(),
                ..Default::default()
            },
            pagination: None,
        },
    )
    .await
    .unwrap()
    .bids;
    assert_eq!(bids.len(), 1);
    let bid_id = bids[0].bid.id.clone();

    let r = send_ok(
        &c,
        &mut t,
        d.chain_id(),
        &[to_any(&mv::MsgCreateLease {
            bid_id: bid_id.clone(),
        })],
    )
    .await;
    assert!(r.has_event("akash.market.v1.EventLeaseCreated"));
    let ls = leases(&c, &owner, dseq).await;
    assert_eq!(ls.len(), 1);
    assert_eq!(ls[0].lease.state, mv1::LeaseState::Active as i32);

    // top up
    let funds = |dep: &dv::QueryDeploymentResponse| {
        dep.escrow_account.state.funds[0]
            .amount
            .parse::<u128>()
            .unwrap()
    };
    let before = funds(&deployment(&c, &owner, dseq).await.unwrap());
    send_ok(
        &c,
        &mut t,
        d.chain_id(),
        &[to_any(&ev::MsgAccountDeposit {
            signer: owner.clone(),
            id: dv1::DeploymentID::new(owner.clone(), dseq).escrow_account(),
            deposit: Deposit::from_balance(coin("uact", 1_000_000)),
        })],
    )
    .await;
    let after = funds(&deployment(&c, &owner, dseq).await.unwrap());
    assert!(after > before, "{after} > {before}");

    // close
    let r = send_ok(
        &c,
        &mut t,
        d.chain_id(),
        &[to_any(&dv::MsgCloseDeployment {
            id: dv1::DeploymentID::new(owner.clone(), dseq),
        })],
    )
    .await;
    assert!(r.has_event("akash.deployment.v1.EventDeploymentClosed"));
    let dep = deployment(&c, &owner, dseq).await.unwrap();
    assert_eq!(dep.deployment.state, dv1::DeploymentState::Closed as i32);
    let ls = leases(&c, &owner, dseq).await;
    assert_eq!(ls[0].lease.state, mv1::LeaseState::Closed as i32);
    d.shutdown().unwrap();
}

#[tokio::test]
async fn devnet_refusals_and_back_to_back_sequences() {
    let d = devnet(200).await;
    let c = rpc(&d, Duration::from_secs(10));
    let mut t = tenant(&d, &c).await;
    let owner = t.address.clone();

    // bad signature: signed for another account number
    let raw = sign_with(
        &t,
        d.chain_id(),
        t.number + 5,
        t.sequence,
        &[create_deployment(&owner, 1, 100, ("uact", 500_000))],
        400_000,
    );
    let r = c.broadcast_tx_sync(raw).await.unwrap();
    assert_eq!(r.code.value(), 4);
    assert_eq!(
        r.log,
        format!(
            "signature verification failed; please verify account number ({}), sequence ({}) and chain-id ({}): unauthorized",
            t.number, t.sequence, d.chain_id()
        )
    );
    // bad signature: signed for another chain
    let raw = sign_with(
        &t,
        "other-chain",
        t.number,
        t.sequence,
        &[create_deployment(&owner, 1, 100, ("uact", 500_000))],
        400_000,
    );
    assert_eq!(c.broadcast_tx_sync(raw).await.unwrap().code.value(), 4);

    // wrong sequence
    let raw = sign_with(
        &t,
        d.chain_id(),
        t.number,
        t.sequence + 3,
        &[create_deployment(&owner, 1, 100, ("uact", 500_000))],
        400_000,
    );
    let r = c.broadcast_tx_sync(raw).await.unwrap();
    assert_eq!(r.code.value(), 32);
    assert_eq!(r.codespace, "sdk");
    assert_eq!(
        r.log,
        format!(
            "account sequence mismatch, expected {}, got {}: incorrect account sequence",
            t.sequence,
            t.sequence + 3
        )
    );

    // three txs back to back with increasing sequences, before a block
    let mut hashes = Vec::new();
    let mut first = None;
    for dseq in [10, 11, 12] {
        let raw = sign(
            &mut t,
            d.chain_id(),
            &[create_deployment(&owner, dseq, 100, ("uact", 500_000))],
        );
        let r = c.broadcast_tx_sync(raw.clone()).await.unwrap();
        assert_eq!(r.code.value(), 0, "{}", r.log);
        hashes.push(r.hash);
        first.get_or_insert(raw);
    }
    // the same bytes again: CometBFT's mempool cache refuses them with an RPC error
    let dup = c.broadcast_tx_sync(first.unwrap()).await;
    assert!(
        format!("{:?}", dup.unwrap_err()).contains("tx already exists in cache"),
        "duplicate tx"
    );
    for h in hashes {
        assert_eq!(wait_tx(&c, h).await.code, 0);
    }

    // duplicate dseq: accepted by CheckTx, fails in the block
    let r = send(
        &c,
        sign(
            &mut t,
            d.chain_id(),
            &[create_deployment(&owner, 10, 100, ("uact", 500_000))],
        ),
    )
    .await;
    assert_ne!(r.code, 0);
    assert!(r.log.contains("exists"), "{}", r.log);
    // uakt deposit on create
    let r = send(
        &c,
        sign(
            &mut t,
            d.chain_id(),
            &[create_deployment(&owner, 20, 100, ("uakt", 500_000))],
        ),
    )
    .await;
    assert_ne!(r.code, 0);
    assert!(
        r.log
            .contains("AKT deposits are only allowed via AccountDeposit")
            || r.log.contains("uakt"),
        "{}",
        r.log
    );
    // too-small deposit
    let r = send(
        &c,
        sign(
            &mut t,
            d.chain_id(),
            &[create_deployment(&owner, 21, 100, ("uact", 499_999))],
        ),
    )
    .await;
    assert_ne!(r.code, 0);
    assert!(deployment(&c, &owner, 20).await.is_err());
    assert!(deployment(&c, &owner, 21).await.is_err());
    // fee below the minimum gas price
    let raw = {
        let msgs = [create_deployment(&owner, 22, 100, ("uact", 500_000))];
        let msgs: Vec<cosmrs::Any> = msgs
            .iter()
            .map(|m| cosmrs::Any {
                type_url: m.type_url.clone(),
                value: m.value.clone(),
            })
            .collect();
        let body = cosmrs::tx::Body::new(msgs, "", 0u32);
        let fee = cosmrs::tx::Fee::from_amount_and_gas(
            cosmrs::Coin {
                denom: "uakt".parse().unwrap(),
                amount: 1,
            },
            400_000u64,
        );
        let ai = cosmrs::tx::SignerInfo::single_direct(Some(t.key.public_key()), t.sequence)
            .auth_info(fee);
        cosmrs::tx::SignDoc::new(&body, &ai, &d.chain_id().parse().unwrap(), t.number)
            .unwrap()
            .sign(&t.key)
            .unwrap()
            .to_bytes()
            .unwrap()
    };
    let r = c.broadcast_tx_sync(raw).await.unwrap();
    assert_eq!(r.code.value(), 13);
    assert_eq!(r.log, "insufficient fee; got: 1uakt required: 1000uakt");
    d.shutdown().unwrap();
}

#[tokio::test]
async fn devnet_escrow_running_out_closes_lease_with_reason_20000() {
    let d = devnet(100).await;
    let c = rpc(&d, Duration::from_secs(10));
    let mut t = tenant(&d, &c).await;
    let mut p = provider(&d, &c).await;
    let owner = t.address.clone();
    send_ok(
        &c,
        &mut t,
        d.chain_id(),
        &[create_deployment(&owner, 5, 200_000, ("uact", 500_000))],
    )
    .await;
    let order = orders(&c, &owner, 5, "open").await[0].id.clone();
    let paddr = p.address.clone();
    send_ok(
        &c,
        &mut p,
        d.chain_id(),
        &[create_bid(&paddr, &order, "200000")],
    )
    .await;
    let bid_id = order.bid(p.address.clone(), 0);
    send_ok(
        &c,
        &mut t,
        d.chain_id(),
        &[to_any(&mv::MsgCreateLease { bid_id })],
    )
    .await;
    // 500000 uact at 200000 per block: gone within a few blocks
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ls = leases(&c, &owner, 5).await;
        // overdrawn: the lease leaves `active` (insufficient_funds, or closed) with reason 20000
        if ls[0].lease.state != mv1::LeaseState::Active as i32 {
            assert!(
                ls[0].lease.state == mv1::LeaseState::InsufficientFunds as i32
                    || ls[0].lease.state == mv1::LeaseState::Closed as i32,
                "{:?}",
                ls[0].lease
            );
            assert_eq!(
                ls[0].lease.reason,
                mv1::LeaseClosedReason::InsufficientFunds as i32
            );
            assert_eq!(ls[0].lease.reason, 20000);
            assert!(ls[0].lease.closed_on > 0);
            let dep = deployment(&c, &owner, 5).await.unwrap();
            assert_eq!(dep.deployment.state, dv1::DeploymentState::Closed as i32);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lease still {:?}",
            ls[0].lease.state
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    d.shutdown().unwrap();
}

#[tokio::test]
async fn devnet_control_pause_resume_and_rpc_stall() {
    let d = devnet(100).await;
    let c = rpc(&d, Duration::from_secs(10));
    let paused = control(&d, reqwest::Method::POST, "/blocks/pause", None).await;
    assert_eq!(paused["paused"], true);
    let h1 = c
        .status()
        .await
        .unwrap()
        .sync_info
        .latest_block_height
        .value();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let h2 = c
        .status()
        .await
        .unwrap()
        .sync_info
        .latest_block_height
        .value();
    assert_eq!(h1, h2, "no blocks while paused");
    // a tx waits in the mempool while paused
    let mut t = tenant(&d, &c).await;
    let owner = t.address.clone();
    let r = c
        .broadcast_tx_sync(sign(
            &mut t,
            d.chain_id(),
            &[create_deployment(&owner, 3, 100, ("uact", 500_000))],
        ))
        .await
        .unwrap();
    assert_eq!(r.code.value(), 0);
    assert!(c.tx(r.hash, false).await.is_err());
    let st = control(&d, reqwest::Method::GET, "/status", None).await;
    assert_eq!(st["mempool_txs"], 1);
    control(&d, reqwest::Method::POST, "/blocks/resume", None).await;
    assert_eq!(wait_tx(&c, r.hash).await.code, 0);
    assert!(
        c.status()
            .await
            .unwrap()
            .sync_info
            .latest_block_height
            .value()
            > h2
    );

    // stall: a client with a short timeout times out; clearing the stall recovers
    let short = rpc(&d, Duration::from_millis(500));
    control(
        &d,
        reqwest::Method::POST,
        "/rpc/stall",
        Some(serde_json::json!({"seconds": 30})),
    )
    .await;
    let started = Instant::now();
    assert!(short.status().await.is_err(), "stalled RPC must not answer");
    assert!(started.elapsed() >= Duration::from_millis(400));
    // a patient client's call is answered once the stall is cleared
    let patient = rpc(&d, Duration::from_secs(20));
    let pending = tokio::spawn(async move {
        patient
            .status()
            .await
            .map(|s| s.sync_info.latest_block_height.value())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!pending.is_finished());
    control(&d, reqwest::Method::DELETE, "/rpc/stall", None).await;
    let h = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(h > 0);
    assert!(short.status().await.is_ok());
    // a timed stall ends by itself
    control(
        &d,
        reqwest::Method::POST,
        "/rpc/stall",
        Some(serde_json::json!({"seconds": 0.3})),
    )
    .await;
    let started = Instant::now();
    rpc(&d, Duration::from_secs(5)).status().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
    d.shutdown().unwrap();
}

#[tokio::test]
async fn devnet_state_dir_restart_keeps_a_deployment() {
    let dir = tempfile::tempdir().unwrap();
    let d = devnet_with(100, Some(dir.path().to_path_buf())).await;
    let c = rpc(&d, Duration::from_secs(10));
    let mut t = tenant(&d, &c).await;
    let owner = t.address.clone();
    let r = send_ok(
        &c,
        &mut t,
        d.chain_id(),
        &[create_deployment(&owner, 77, 100, ("uact", 500_000))],
    )
    .await;
    d.shutdown().unwrap();
    let height_before = r.height;

    let d = devnet_with(100, Some(dir.path().to_path_buf())).await;
    let c = rpc(&d, Duration::from_secs(10));
    assert!(
        c.status()
            .await
            .unwrap()
            .sync_info
            .latest_block_height
            .value() as i64
            >= height_before
    );
    let dep = deployment(&c, &owner, 77)
        .await
        .expect("deployment survives a restart");
    assert_eq!(dep.deployment.state, dv1::DeploymentState::Active as i32);
    // the account's sequence survived too: the next tx at the remembered sequence is accepted
    send_ok(
        &c,
        &mut t,
        d.chain_id(),
        &[create_deployment(&owner, 78, 100, ("uact", 500_000))],
    )
    .await;
    d.shutdown().unwrap();
}

/// Throughput on this machine: `cargo test --release --test suite devnet_throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn devnet_throughput() {
    let d = devnet(200).await;
    let c = rpc(&d, Duration::from_secs(30));
    let accounts: usize = std::env::var("AF_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let per_account: usize = std::env::var("AF_BENCH_TXS_PER_ACCOUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let mut accts = Vec::new();
    for _ in 0..accounts {
        accts.push(funded(&d, &c, "100000000000uakt").await);
    }
    let chain_id = d.chain_id().to_owned();
    // pre-sign: MsgCreateProvider then bids would need orders; use deposits-free messages:
    // each account registers once then updates its provider record repeatedly.
    let mut txs = Vec::new();
    for a in accts.iter_mut() {
        let addr = a.address.clone();
        txs.push(sign(a, &chain_id, &[create_provider(&addr)]));
        for i in 0..per_account - 1 {
            let m = to_any(&pv::MsgUpdateProvider {
                owner: addr.clone(),
                host_uri: format!("https://127.0.0.1:{}", 8000 + i),
                attributes: vec![],
                info: pv::Info::default(),
            });
            txs.push(sign(a, &chain_id, &[m]));
        }
    }
    // send each account's txs in order, accounts concurrently
    let started = Instant::now();
    let mut handles = Vec::new();
    for chunk in txs.chunks(per_account) {
        let chunk = chunk.to_vec();
        let c = c.clone();
        handles.push(tokio::spawn(async move {
            let mut last = None;
            for raw in chunk {
                let r = c.broadcast_tx_sync(raw).await.unwrap();
                assert_eq!(r.code.value(), 0, "{}", r.log);
                last = Some(r.hash);
            }
            last.unwrap()
        }));
    }
    let mut lasts = Vec::new();
    for h in handles {
        lasts.push(h.await.unwrap());
    }
    for h in lasts {
        assert_eq!(wait_tx(&c, h).await.code, 0);
    }
    let secs = started.elapsed().as_secs_f64();
    let n = txs.len();
    println!(
        "devnet throughput: {n} txs from {accounts} accounts committed in {secs:.2}s = {:.0} txs/s",
        n as f64 / secs
    );

    let started = Instant::now();
    let queries = 2000;
    let mut handles = Vec::new();
    for w in 0..8 {
        let c = c.clone();
        let addr = accts[w % accts.len()].address.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..queries / 8 {
                balance(&c, &addr, "uakt").await;
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "devnet abci_query: {queries} balance queries in {secs:.2}s = {:.0} queries/s",
        queries as f64 / secs
    );
    d.shutdown().unwrap();
}

/// `af-operator devnet` prints its URLs, chain id and test account within a second, and
/// `af-operator devnet ctl` drives it.
#[tokio::test]
async fn devnet_cli_starts_fast_and_ctl_controls_it() {
    use std::io::BufRead;
    let exe = env!("CARGO_BIN_EXE_af-operator");
    let started = Instant::now();
    let mut child = std::process::Command::new(exe)
        .args([
            "devnet",
            "--rpc-listen",
            "127.0.0.1:0",
            "--control-listen",
            "127.0.0.1:0",
            "--block-time",
            "100ms",
            "--providers",
            "0",
            "--seed",
            "3",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn af-operator devnet");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let done = line.starts_with("test mnemonic:");
            lines.push(line);
            if done {
                let _ = tx.send(lines.clone());
            }
        }
    });
    let lines = rx.recv_timeout(Duration::from_secs(10));
    let ready = started.elapsed();
    let lines = match lines {
        Ok(l) => l,
        Err(e) => {
            let _ = child.kill();
            panic!("devnet printed no mnemonic: {e}");
        }
    };
    let field = |name: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            .unwrap_or_default()
    };
    let control_url = field("control:");
    let rpc_url = field("rpc:");
    let mnemonic = field("test mnemonic:");
    let address = field("test address:");
    assert_eq!(field("chain id:"), "af-devnet-1");
    assert_eq!(mnemonic.split_whitespace().count(), 24);
    assert_eq!(address_of(&key_from_mnemonic(&mnemonic)), address);
    // same seed, same test account
    assert_eq!(
        address,
        af_operator::devnet::test_account(3).0.address().to_owned()
    );
    let ctl = |args: &[&str]| {
        std::process::Command::new(exe)
            .args(["devnet", "ctl", "--control", &control_url])
            .args(args)
            .output()
            .expect("run ctl")
    };
    let out = ctl(&["pause"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&ctl(&["status"]).stdout).unwrap();
    assert_eq!(status["paused"], true);
    assert!(ctl(&["resume"]).status.success());
    let fresh = address_of(&SigningKey::random());
    let out = ctl(&["fund", &fresh, "123uakt"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!ctl(&["fund", "nobody", "123uakt"]).status.success());
    let c = HttpClient::builder(rpc_url.parse().unwrap())
        .compat_mode(CompatMode::V0_38)
        .build()
        .unwrap();
    assert_eq!(balance(&c, &fresh, "uakt").await, 123);
    let _ = child.kill();
    let _ = child.wait();
    assert!(ready < Duration::from_secs(1), "ready after {ready:?}");
}

/// The raw JSON-RPC forms: batches, positional params, the URI form, CometBFT's error shapes.
#[tokio::test]
async fn devnet_json_rpc_raw_forms_and_errors() {
    let d = devnet(100).await;
    let c = rpc(&d, Duration::from_secs(10));
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value| {
        let http = http.clone();
        let url = d.rpc_url();
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    // batch with named and positional params
    let v = post(serde_json::json!([
        {"jsonrpc": "2.0", "id": 1, "method": "health", "params": {}},
        {"jsonrpc": "2.0", "id": "two", "method": "abci_query",
         "params": ["/cosmos.bank.v1beta1.Query/Balance",
                    hex::encode(bank::QueryBalanceRequest { address: d.test_address().into(), denom: "uakt".into() }.encode_to_vec()),
                    "0", false]},
        {"jsonrpc": "2.0", "id": 3, "method": "no_such_method"},
    ]))
    .await;
    assert_eq!(v[0]["id"], 1);
    assert_eq!(v[0]["result"], serde_json::json!({}));
    assert_eq!(v[1]["id"], "two");
    assert_eq!(v[1]["result"]["response"]["code"], 0);
    let value = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        v[1]["result"]["response"]["value"].as_str().unwrap(),
    )
    .unwrap();
    let bal = bank::QueryBalanceResponse::decode(value.as_slice()).unwrap();
    assert_eq!(bal.balance.unwrap().amount, "1000000000000");
    assert_eq!(v[2]["error"]["code"], -32601);
    // parse error
    let v: serde_json::Value = http
        .post(d.rpc_url())
        .body("{not json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["error"]["code"], -32700);
    // tx not found: CometBFT's internal error with the hash
    let v = post(
        serde_json::json!({"jsonrpc": "2.0", "id": 9, "method": "tx",
        "params": {"hash": "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=", "prove": false}}),
    )
    .await;
    assert_eq!(v["error"]["code"], -32603);
    assert_eq!(
        v["error"]["data"],
        format!("tx ({}) not found", "09".repeat(32))
    );
    // broadcast in the URI form with 0x hex
    let mut t = tenant(&d, &c).await;
    let owner = t.address.clone();
    let raw = sign(
        &mut t,
        d.chain_id(),
        &[create_deployment(&owner, 9, 100, ("uact", 500_000))],
    );
    let v: serde_json::Value = http
        .get(format!(
            "{}/broadcast_tx_sync?tx=0x{}",
            d.rpc_url(),
            hex::encode(&raw)
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"]["code"], 0, "{v}");
    let hash = v["result"]["hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    assert_eq!(wait_tx(&c, hash.parse().unwrap()).await.code, 0);
    // an unquoted string in the URI form is refused, as CometBFT does
    let v: serde_json::Value = http
        .get(format!("{}/abci_query?path=/x&data=0x", d.rpc_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["error"]["code"], -32602);
    // tx_search by an event attribute
    let v = post(
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tx_search",
        "params": {"query": format!("message.sender='{owner}'"), "page": "1", "per_page": "30"}}),
    )
    .await;
    assert_eq!(v["result"]["total_count"], "1", "{v}");
    d.shutdown().unwrap();
}

/// Hostile JSON-RPC batches and bodies are refused at once, small, as CometBFT refuses
/// them (HTTP 400, Invalid Request): a batch beyond 10 calls, a body beyond 1 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_rpc_bounds_batches_bodies_and_responses() {
    use af_operator::devnet::node::rpc::{MAX_BATCH_SIZE, MAX_BODY_BYTES};
    let d = devnet(50).await;
    let http = reqwest::Client::new();
    let call = |id: usize| {
        serde_json::json!({"jsonrpc": "2.0", "id": id, "method": "blockchain",
            "params": {"minHeight": "1", "maxHeight": "20"}})
    };
    let post = |body: Vec<u8>| {
        let http = http.clone();
        let url = d.rpc_url();
        async move {
            let r = tokio::time::timeout(
                Duration::from_secs(5),
                http.post(url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send(),
            )
            .await
            .expect("answered within 5 s")
            .unwrap();
            let status = r.status().as_u16();
            (status, r.bytes().await.unwrap())
        }
    };

    // The amplifying batch of the issue: 5,000 `blockchain` calls (about 540 KB).
    let batch: Vec<_> = (0..5000).map(call).collect();
    let body = serde_json::to_vec(&batch).unwrap();
    assert!(body.len() < MAX_BODY_BYTES);
    let started = Instant::now();
    let (status, reply) = post(body).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, 400);
    assert!(reply.len() < 1024, "{} bytes", reply.len());
    let v: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(v["error"]["code"], -32600);
    assert_eq!(v["error"]["message"], "Invalid Request");
    assert_eq!(
        v["error"]["data"],
        "maximum JSON-RPC batch size exceeded, got: 5000, max: 10"
    );

    // At the limit a batch is answered in full.
    let batch: Vec<_> = (0..MAX_BATCH_SIZE).map(call).collect();
    let (status, reply) = post(serde_json::to_vec(&batch).unwrap()).await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(MAX_BATCH_SIZE));
    assert!(v[0]["result"]["last_height"].is_string(), "{v}");

    // A body beyond CometBFT's max_body_bytes.
    let mut big = br#"{"jsonrpc":"2.0","id":1,"method":"health","params":{"x":""#.to_vec();
    big.resize(MAX_BODY_BYTES + 10, b'a');
    big.extend_from_slice(br#""}}"#);
    let (status, reply) = post(big).await;
    assert_eq!(status, 400);
    let v: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(v["error"]["code"], -32600);
    assert_eq!(
        v["error"]["data"],
        "error reading request body: http: request body too large"
    );

    // The node still answers.
    let (status, _) = post(serde_json::to_vec(&call(1)).unwrap()).await;
    assert_eq!(status, 200);
    d.shutdown().unwrap();
}
