//! Node unit tests: CheckTx, the check state, delivery, gas and Simulate.

use super::*;
use af_akash::keys::Wallet;
use af_akash::proto::base::coin;
use af_akash::proto::bme::v1 as bme;
use af_akash::tx::{sign_tx, UnsignedTx};

fn wallet(n: u8) -> Wallet {
    Wallet::from_entropy([n; 32]).0
}

fn genesis(w: &[&Wallet]) -> Chain {
    let mut c = Chain::new(crate::chain::Params::default());
    for w in w {
        c.fund(w.address(), &[("uakt", 10_000_000_000)]);
    }
    c
}

fn node(chain: Chain) -> Node {
    Node::start(NodeConfig {
        chain_id: "test-1".into(),
        block_time: Duration::from_secs(3600),
        min_gas_price_uakt: 0.0025,
        genesis: chain,
        genesis_time_unix: 1_700_000_000,
    })
}

fn mint_tx(w: &Wallet, number: u64, seq: u64, gas: u64, fee: u128) -> Vec<u8> {
    let msg = bme::MsgMintACT {
        owner: w.address().to_owned(),
        to: w.address().to_owned(),
        coins_to_burn: coin("uakt", 1000),
    };
    let tx = UnsignedTx {
        messages: vec![af_akash::proto::to_any(&msg)],
        memo: String::new(),
        fee: vec![coin("uakt", fee)],
        gas_limit: gas,
        timeout_height: 0,
    };
    sign_tx(w, "test-1", number, seq, &tx).unwrap()
}

#[tokio::test]
async fn check_state_allows_back_to_back_sequences() {
    let w = wallet(1);
    let n = node(genesis(&[&w]));
    for seq in 0..3 {
        let r = n.submit(mint_tx(&w, 0, seq, 200_000, 500));
        assert_eq!(r.code, 0, "{}", r.log);
    }
    let r = n.submit(mint_tx(&w, 0, 5, 200_000, 500));
    assert_eq!(r.code, 32);
    assert_eq!(
        r.log,
        "account sequence mismatch, expected 3, got 5: incorrect account sequence"
    );
    let b = n.produce_block();
    assert_eq!(b.txs.len(), 3);
    assert!(b.txs.iter().all(|t| t.code == 0), "{:?}", b.txs);
    assert!(b.txs[0].gas_used > 40_000 && b.txs[0].gas_used < 200_000);
    assert_eq!(n.read(|c| c.account(w.address())), Some((0, 3)));
    assert_eq!(
        n.read(|c| c.balance(w.address(), "uakt")),
        10_000_000_000 - 3 * 500 - 3 * 1000
    );
    // after the block, the check state is the committed state again
    assert_eq!(n.submit(mint_tx(&w, 0, 3, 200_000, 500)).code, 0);
    let hash = tx_hash(&mint_tx(&w, 0, 3, 200_000, 500));
    n.produce_block();
    let t = n.wait_tx(hash, Duration::from_secs(1)).await.unwrap();
    assert_eq!(t.height, 2);
    n.shutdown().unwrap();
}

#[tokio::test]
async fn refusals() {
    let w = wallet(1);
    let other = wallet(2);
    let n = node(genesis(&[&w, &other]));
    // wrong account number → signature fails
    let r = n.submit(mint_tx(&w, 9, 0, 200_000, 500));
    assert_eq!(r.code, 4);
    assert_eq!(r.log, "signature verification failed; please verify account number (0), sequence (0) and chain-id (test-1): unauthorized");
    // fee below gas × price
    let r = n.submit(mint_tx(&w, 0, 0, 200_000, 499));
    assert_eq!(
        (r.code, r.log.as_str()),
        (13, "insufficient fee; got: 499uakt required: 500uakt")
    );
    // gas below the ante cost
    let r = n.submit(mint_tx(&w, 0, 0, 100, 500));
    assert_eq!(r.code, 11);
    // unfunded signer
    let poor = wallet(3);
    let r = n.submit(mint_tx(&poor, 0, 0, 200_000, 500));
    assert_eq!(r.code, 9, "{}", r.log);
    // more fee than the balance
    let r = n.submit(mint_tx(&w, 0, 0, 200_000, 20_000_000_000));
    assert_eq!(r.code, 5, "{}", r.log);
    // garbage
    assert_eq!(n.submit(vec![1, 2, 3]).code, 2);
    // a fee in another denomination
    let msg = af_akash::proto::to_any(&bme::MsgMintACT {
        owner: w.address().to_owned(),
        to: w.address().to_owned(),
        coins_to_burn: coin("uakt", 1000),
    });
    let uact_fee = UnsignedTx {
        messages: vec![msg],
        memo: String::new(),
        fee: vec![coin("uakt", 500), coin("uact", 5)],
        gas_limit: 200_000,
        timeout_height: 0,
    };
    let r = n.submit(sign_tx(&w, "test-1", 0, 0, &uact_fee).unwrap());
    assert_eq!(
        (r.code, r.log.as_str()),
        (13, "insufficient fee; fees must be paid in uakt, got uact")
    );
    // duplicate
    let tx = mint_tx(&w, 0, 0, 200_000, 500);
    assert_eq!(n.submit(tx.clone()).code, 0);
    assert_eq!(n.submit(tx).code, 19);
    // gas enough for CheckTx but not for the messages: fails in the block, fee charged
    let r = n.submit(mint_tx(&other, 1, 0, 60_000, 500));
    assert_eq!(r.code, 0, "{}", r.log);
    let b = n.produce_block();
    assert_eq!(b.txs[1].code, 11, "{:?}", b.txs[1]);
    assert_eq!(n.read(|c| c.account(other.address())), Some((1, 1)));
    assert_eq!(
        n.read(|c| c.balance(other.address(), "uakt")),
        10_000_000_000 - 500
    );
    assert!(n.read(|c| c.mints.iter().all(|m| m.owner != other.address())));
}

#[tokio::test]
async fn simulate_skips_signature_checks_sequence() {
    let w = wallet(1);
    let n = node(genesis(&[&w]));
    // wrong account number: the signature would fail, simulate does not check it
    let (wanted, used, events) = n.simulate(&mint_tx(&w, 9, 0, 0, 0)).unwrap();
    assert_eq!(wanted, 0);
    assert!(used > 40_000);
    assert!(events.iter().any(|e| e.kind == "message"));
    let err = n.simulate(&mint_tx(&w, 0, 1, 0, 0)).unwrap_err();
    assert_eq!(err.code, 32);
    // simulate does not change state
    assert_eq!(n.read(|c| c.account(w.address())), Some((0, 0)));
    // the deliver gas equals the simulated gas for the same tx
    let tx = mint_tx(&w, 0, 0, 300_000, 750);
    let (_, sim, _) = n.simulate(&tx).unwrap();
    assert_eq!(n.submit(tx).code, 0);
    let b = n.produce_block();
    assert_eq!(b.txs[0].gas_used, sim);
}

#[tokio::test]
async fn persistence_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let w = wallet(1);
    let cfg = || NodeConfig {
        chain_id: "test-1".into(),
        block_time: Duration::from_secs(3600),
        min_gas_price_uakt: 0.0025,
        genesis: genesis(&[&w]),
        genesis_time_unix: 1_700_000_000,
    };
    let n = Node::start_persistent(cfg(), dir.path()).unwrap();
    let tx = mint_tx(&w, 0, 0, 200_000, 500);
    let hash = tx_hash(&tx);
    assert_eq!(n.submit(tx).code, 0);
    n.produce_block();
    n.produce_block();
    n.shutdown().unwrap();
    let again = Node::start_persistent(cfg(), dir.path()).unwrap();
    assert_eq!(again.height(), 2);
    assert_eq!(again.read(|c| c.account(w.address())), Some((0, 1)));
    assert_eq!(again.tx(&hash).unwrap().height, 1);
    assert_eq!(again.produce_block().height, 3);
    again.shutdown().unwrap();
}

/// cosmjs simulates with `SIGN_MODE_UNSPECIFIED`, an empty signature and no fee.
#[tokio::test]
async fn simulate_accepts_a_cosmjs_style_unsigned_tx() {
    use cosmos_sdk_proto::cosmos::tx::signing::v1beta1::SignMode;
    use cosmos_sdk_proto::cosmos::tx::v1beta1::{
        mode_info, AuthInfo, Fee, ModeInfo, SignerInfo, TxBody, TxRaw,
    };
    let w = wallet(1);
    let n = node(genesis(&[&w]));
    let msg = bme::MsgMintACT {
        owner: w.address().to_owned(),
        to: w.address().to_owned(),
        coins_to_burn: coin("uakt", 1000),
    };
    let body = TxBody {
        messages: vec![af_akash::proto::to_any(&msg)],
        ..Default::default()
    };
    let auth = AuthInfo {
        signer_infos: vec![SignerInfo {
            public_key: Some(af_akash::proto::to_any(
                &cosmos_sdk_proto::cosmos::crypto::secp256k1::PubKey {
                    key: w.public_key().to_vec(),
                },
            )),
            mode_info: Some(ModeInfo {
                sum: Some(mode_info::Sum::Single(mode_info::Single {
                    mode: SignMode::Unspecified as i32,
                })),
            }),
            sequence: 0,
        }],
        fee: Some(Fee::default()),
        ..Default::default()
    };
    let raw = TxRaw {
        body_bytes: body.encode_to_vec(),
        auth_info_bytes: auth.encode_to_vec(),
        signatures: vec![Vec::new()],
    }
    .encode_to_vec();
    let (_, used, _) = n.simulate(&raw).unwrap();
    assert!(used > gas::ANTE_FLAT);
    // the same tx is refused by CheckTx (not SIGN_MODE_DIRECT)
    assert_eq!(n.submit(raw).code, 4);
}

#[tokio::test]
async fn oversized_txs_are_refused() {
    let w = wallet(1);
    let n = node(genesis(&[&w]));
    let msg = bme::MsgMintACT {
        owner: w.address().to_owned(),
        to: w.address().to_owned(),
        coins_to_burn: coin("uakt", 1000),
    };
    let tx = UnsignedTx {
        messages: vec![af_akash::proto::to_any(&msg)],
        memo: "x".repeat(MAX_TX_BYTES),
        fee: vec![coin("uakt", 1_000_000)],
        gas_limit: 200_000,
        timeout_height: 0,
    };
    let raw = sign_tx(&w, "test-1", 0, 0, &tx).unwrap();
    assert_eq!(n.submit(raw).code, 21);
}

fn mint_tx_until(w: &Wallet, seq: u64, timeout_height: u64) -> Vec<u8> {
    let msg = bme::MsgMintACT {
        owner: w.address().to_owned(),
        to: w.address().to_owned(),
        coins_to_burn: coin("uakt", 1000),
    };
    let tx = UnsignedTx {
        messages: vec![af_akash::proto::to_any(&msg)],
        memo: String::new(),
        fee: vec![coin("uakt", 500)],
        gas_limit: 200_000,
        timeout_height,
    };
    sign_tx(w, "test-1", 0, seq, &tx).unwrap()
}

#[tokio::test]
async fn timeout_height_is_enforced_like_the_ante_handler() {
    let w = wallet(9);
    let n = node(genesis(&[&w]));
    for _ in 0..3 {
        n.produce_block();
    }
    assert_eq!(n.height(), 3);
    // Past its timeout at CheckTx (committed height 3 > 2): refused, nothing changes.
    let r = n.submit(mint_tx_until(&w, 0, 2));
    assert_eq!((r.codespace.as_str(), r.code), ("sdk", 30));
    assert_eq!(
        r.log,
        "block height: 3, timeout height: 2: tx timeout height"
    );
    // Simulate refuses it the same way.
    let err = n.simulate(&mint_tx_until(&w, 0, 2)).unwrap_err();
    assert_eq!(err.code, 30);
    // Accepted at height 3 with timeout 3, but block 4 is past it: in the block as code 30,
    // without executing, charging the fee or using the sequence.
    let late = mint_tx_until(&w, 0, 3);
    assert_eq!(n.submit(late.clone()).code, 0);
    let b = n.produce_block();
    assert_eq!(b.txs.len(), 1);
    assert_eq!(b.txs[0].code, 30);
    assert_eq!(
        b.txs[0].log,
        "block height: 4, timeout height: 3: tx timeout height"
    );
    assert!(b.txs[0].events.is_empty());
    assert_eq!(n.read(|c| c.account(w.address())), Some((0, 0)));
    assert_eq!(n.read(|c| c.balance(w.address(), "uakt")), 10_000_000_000);
    // Within its timeout (block 5 ≤ 5), and with none (0), it executes.
    assert_eq!(n.submit(mint_tx_until(&w, 0, 5)).code, 0);
    let b = n.produce_block();
    assert_eq!(b.txs[0].code, 0, "{}", b.txs[0].log);
    assert_eq!(n.submit(mint_tx_until(&w, 1, 0)).code, 0);
    let b = n.produce_block();
    assert_eq!(b.txs[0].code, 0, "{}", b.txs[0].log);
    assert_eq!(n.read(|c| c.account(w.address())), Some((0, 2)));
    n.shutdown().unwrap();
}
