//! The tenant flow and the refusals, at the state-machine level.

use super::*;
use af_akash::proto::base::coin;
use af_akash::proto::base::deposit::v1::{Deposit, Source};
use af_akash::proto::bme::v1 as bv;
use af_akash::proto::cert::v1 as cv;
use af_akash::proto::deployment::{v1 as dv1, v1beta4 as dv};
use af_akash::proto::escrow::{types::v1 as et, v1 as ev};
use af_akash::proto::market::{v1 as mv1, v1beta5 as mv};
use af_akash::proto::methods::{deployment_v1beta4 as dq, market_v1beta5 as mq};
use af_akash::proto::provider::v1beta4 as pv;
use af_akash::proto::{AkashEvent, PageRequest};
use af_akash::sdl::{
    Attribute, Cpu, DecCoin, Memory, PlacementRequirements, ResourceUnit, ResourceValue, Resources,
    Storage,
};
use cosmos_sdk_proto::cosmos::auth::v1beta1 as auth;
use cosmos_sdk_proto::cosmos::bank::v1beta1 as bank;
use prost::Message;

const TENANT: &str = "akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63";
const P1: &str = "akash18qa2a2ltfyvkyj0ggj3hkvuj6twzyumuaru9s4";
const P2: &str = "akash1vz375dkt0c60annyp6mkzeejfq0qpyevhseu05";
const AUDITOR: &str = "akash1qurswpc8qurswpc8qurswpc8qurswpc87g2aem";

fn price(decimal: &str) -> DecCoin {
    af_akash::proto::legacy_dec::dec_coin(UACT, decimal).unwrap()
}

fn group(name: &str, unit_price: &str, count: u32) -> GroupSpec {
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
                    quantity: ResourceValue::new(128 << 20),
                    attributes: vec![],
                }),
                storage: vec![Storage {
                    name: "default".to_owned(),
                    quantity: ResourceValue::new(512 << 20),
                    attributes: vec![],
                }],
                gpu: None,
                endpoints: vec![],
            },
            count,
            price: price(unit_price),
        }],
    }
}

fn create(dseq: u64, denom: &str, amount: u128) -> TxMessage {
    dv::MsgCreateDeployment {
        id: dv1::DeploymentID::new(TENANT, dseq),
        groups: vec![group("web", "10", 1)],
        hash: vec![7; 32],
        deposit: Deposit::from_balance(coin(denom, amount)),
        reclamation: None,
    }
    .into()
}

fn order(dseq: u64, oseq: u32) -> mv1::OrderID {
    dv1::DeploymentID::new(TENANT, dseq).group(1).order(oseq)
}

fn bid(dseq: u64, oseq: u32, provider: &str, amount: &str) -> TxMessage {
    mv::MsgCreateBid {
        id: order(dseq, oseq).bid(provider, 0),
        price: price(amount),
        deposit: Deposit::from_balance(coin(UAKT, 500_000)),
        resources_offer: vec![],
        reclamation_window: None,
    }
    .into()
}

fn provider(owner: &str) -> TxMessage {
    pv::MsgCreateProvider {
        owner: owner.to_owned(),
        host_uri: "https://provider.example.com:8443".to_owned(),
        attributes: vec![Attribute::new("region", "us-west")],
        info: pv::Info::default(),
    }
    .into()
}

/// A chain with a funded tenant and two registered providers, at height 1.
fn setup() -> Chain {
    let mut c = Chain::new(Params::default());
    c.fund(TENANT, &[(UACT, 10_000_000), (UAKT, 10_000_000)]);
    c.fund(P1, &[(UAKT, 5_000_000)]);
    c.fund(P2, &[(UAKT, 5_000_000)]);
    c.deliver(1, 0, P1, &[provider(P1)]).unwrap();
    c.deliver(1, 0, P2, &[provider(P2)]).unwrap();
    c.end_block(1, 0);
    c
}

fn typed(events: &[Event]) -> Vec<AkashEvent> {
    events
        .iter()
        .filter_map(|e| AkashEvent::decode(e).unwrap())
        .collect()
}

fn account_funds(c: &Chain, dseq: u64) -> u128 {
    let key = dv1::DeploymentID::new(TENANT, dseq).escrow_account().key();
    c.escrow_accounts[&key].funds
}

fn query<Q: af_akash::proto::Query>(c: &Chain, req: Q) -> Q::Response {
    let bytes = c.query(Q::PATH, &req.encode_to_vec()).unwrap();
    Q::Response::decode(bytes.as_slice()).unwrap()
}

fn orders(c: &Chain, dseq: u64, state: &str) -> Vec<mv::Order> {
    query(
        c,
        mv::QueryOrdersRequest {
            filters: mv::OrderFilters {
                owner: TENANT.to_owned(),
                dseq,
                state: state.to_owned(),
                ..Default::default()
            },
            pagination: None,
        },
    )
    .orders
}

/// The whole tenant flow: returns the chain at its end.
fn tenant_flow() -> Chain {
    let mut c = setup();
    // Create: funds move to escrow, one open order per group.
    let events = c
        .deliver(2, 0, TENANT, &[create(100, UACT, 1_000_000)])
        .unwrap();
    assert_eq!(events[0].kind, "message");
    assert_eq!(
        events[0].attribute("action"),
        Some("/akash.deployment.v1beta4.MsgCreateDeployment")
    );
    let t = typed(&events);
    assert!(matches!(&t[0], AkashEvent::DeploymentCreated(e) if e.id.dseq == 100));
    assert!(matches!(&t[1], AkashEvent::OrderCreated(e) if e.id == order(100, 1)));
    assert_eq!(c.balance(TENANT, UACT), 9_000_000);
    assert_eq!(account_funds(&c, 100), 1_000_000 * DEC_SCALE);
    assert_eq!(orders(&c, 100, "open").len(), 1);

    // Bids: above the ceiling (10 uact) refused; two valid bids.
    let err = c.deliver(2, 0, P2, &[bid(100, 1, P2, "12")]).unwrap_err();
    assert_eq!((err.codespace.as_str(), err.code), ("market", 22));
    c.deliver(2, 0, P1, &[bid(100, 1, P1, "8")]).unwrap();
    c.deliver(2, 0, P2, &[bid(100, 1, P2, "9.5")]).unwrap();
    assert_eq!(c.balance(P2, UAKT), 4_500_000);
    c.end_block(2, 0);

    // Lease with P1: P2's bid is lost and its deposit refunded; the order is active.
    let lease_msg = mv::MsgCreateLease {
        bid_id: order(100, 1).bid(P1, 0),
    };
    let events = c.deliver(3, 0, TENANT, &[lease_msg.into()]).unwrap();
    assert!(typed(&events)
        .iter()
        .any(|e| matches!(e, AkashEvent::LeaseCreated(l) if l.price == price("8"))));
    let lost = &c.bids[&(TENANT.to_owned(), 100, 1, 1, P2.to_owned(), 0)];
    assert_eq!(lost.state, mv::BidState::Lost as i32);
    assert_eq!(c.balance(P2, UAKT), 5_000_000);
    assert_eq!(orders(&c, 100, "active").len(), 1);
    c.end_block(3, 0);

    // Ten blocks at 8 uact per block.
    for h in 4..=13 {
        c.end_block(h, 0);
    }
    assert_eq!(account_funds(&c, 100), (1_000_000 - 80) * DEC_SCALE);

    // Top up.
    let deposit = ev::MsgAccountDeposit {
        signer: TENANT.to_owned(),
        id: dv1::DeploymentID::new(TENANT, 100).escrow_account(),
        deposit: Deposit::from_balance(coin(UACT, 500_000)),
    };
    c.deliver(14, 0, TENANT, &[deposit.into()]).unwrap();
    assert_eq!(account_funds(&c, 100), (1_500_000 - 88) * DEC_SCALE);
    c.end_block(14, 0);

    // Close the lease: the provider is paid, the group (still open) gets order 2.
    let close = mv::MsgCloseLease {
        id: order(100, 1).bid(P1, 0).lease_id(),
        reason: 0,
    };
    let events = c.deliver(15, 0, TENANT, &[close.into()]).unwrap();
    let t = typed(&events);
    assert!(t.iter().any(|e| matches!(e, AkashEvent::LeaseClosed(l)
        if l.reason == mv1::LeaseClosedReason::Owner as i32)));
    assert!(t
        .iter()
        .any(|e| matches!(e, AkashEvent::OrderCreated(o) if o.id == order(100, 2))));
    assert_eq!(c.balance(P1, UACT), 8 * 12);
    let open = orders(&c, 100, "open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id.oseq, 2);
    assert_eq!(open[0].spec, group("web", "10", 1));
    c.end_block(15, 0);

    // Close the deployment: the remainder comes back.
    let close = dv::MsgCloseDeployment {
        id: dv1::DeploymentID::new(TENANT, 100),
    };
    c.deliver(16, 0, TENANT, &[close.into()]).unwrap();
    assert_eq!(c.balance(TENANT, UACT), 10_000_000 - 8 * 12);
    assert_eq!(
        c.deployments[&(TENANT.to_owned(), 100)].state,
        dv1::DeploymentState::Closed as i32
    );
    assert!(orders(&c, 100, "open").is_empty());
    c.end_block(16, 0);
    c
}

#[test]
fn devnet_tenant_flow() {
    tenant_flow();
}

#[test]
fn devnet_state_round_trips_and_is_deterministic() {
    let a = tenant_flow();
    let b = tenant_flow();
    assert_eq!(a.to_json(), b.to_json());
    let back = Chain::from_json(&a.to_json()).unwrap();
    assert_eq!(back, a);
    assert_eq!(back.to_json(), a.to_json());
}

#[test]
fn devnet_create_refusals() {
    let mut c = setup();
    c.deliver(2, 0, TENANT, &[create(5, UACT, 500_000)])
        .unwrap();
    let before = c.to_json();
    let code = |r: Result<Vec<Event>, TxError>| {
        let e = r.unwrap_err();
        (e.codespace, e.code, e.log)
    };

    let (cs, n, _) = code(c.deliver(3, 0, TENANT, &[create(5, UACT, 500_000)]));
    assert_eq!((cs.as_str(), n), ("deployment", 3));

    // A uakt deposit for uact prices fails ValidateBasic; with uakt prices, the handler's
    // ACT-only rule refuses it.
    let (cs, n, log) = code(c.deliver(3, 0, TENANT, &[create(6, UAKT, 500_000)]));
    assert_eq!((cs.as_str(), n), ("deployment", 20));
    assert!(
        log.contains("Mismatched denominations (uakt != uact)"),
        "{log}"
    );
    let TxMessage::CreateDeployment(mut akt) = create(6, UAKT, 500_000) else {
        unreachable!()
    };
    akt.groups[0].resources[0].price.denom = UAKT.to_owned();
    let (cs, n, log) = code(c.deliver(3, 0, TENANT, &[akt.into()]));
    assert_eq!((cs.as_str(), n), ("deployment", 20));
    assert!(
        log.contains("AKT deposits are only allowed via AccountDeposit"),
        "{log}"
    );

    let (cs, n, log) = code(c.deliver(3, 0, TENANT, &[create(6, UACT, 499_999)]));
    assert_eq!((cs.as_str(), n), ("deployment", 20));
    assert!(log.contains("minimum 500000uact"), "{log}");

    let TxMessage::CreateDeployment(mut m) = create(6, UACT, 500_000) else {
        unreachable!()
    };
    m.hash = vec![1; 31];
    let (cs, n, _) = code(c.deliver(3, 0, TENANT, &[m.clone().into()]));
    assert_eq!((cs.as_str(), n), ("deployment", 10));

    m.hash = vec![1; 32];
    m.groups.push(group("web", "1", 1));
    let (cs, n, log) = code(c.deliver(3, 0, TENANT, &[m.clone().into()]));
    assert_eq!((cs.as_str(), n), ("deployment", 7));
    assert!(log.contains("duplicate group name"), "{log}");

    m.groups = vec![];
    let (cs, n, _) = code(c.deliver(3, 0, TENANT, &[m.clone().into()]));
    assert_eq!((cs.as_str(), n), ("deployment", 7));

    m.groups = vec![group("web", "1", 51)];
    let (_, n, log) = code(c.deliver(3, 0, TENANT, &[m.into()]));
    assert_eq!(n, 7, "{log}");

    // Insufficient funds: more than the tenant holds.
    let (cs, n, _) = code(c.deliver(3, 0, TENANT, &[create(7, UACT, 50_000_000)]));
    assert_eq!((cs.as_str(), n), ("sdk", 5));

    // Someone else's deployment.
    let (cs, n, _) = code(c.deliver(3, 0, P1, &[create(8, UACT, 500_000)]));
    assert_eq!((cs.as_str(), n), ("sdk", 4));

    assert_eq!(c.to_json(), before, "refused txs leave no trace");
}

#[test]
fn devnet_tx_is_atomic() {
    let mut c = setup();
    let before = c.to_json();
    let err = c
        .deliver(
            2,
            0,
            TENANT,
            &[create(9, UACT, 600_000), create(9, UACT, 600_000)],
        )
        .unwrap_err();
    assert_eq!(err.code, 3);
    assert!(err.log.contains("message index: 1"), "{}", err.log);
    assert_eq!(c.to_json(), before);
    assert_eq!(c.balance(TENANT, UACT), 10_000_000);
    assert!(c.deployments.is_empty());
}

#[test]
fn devnet_sequence_and_fees() {
    let mut c = setup();
    assert_eq!(c.account(TENANT), Some((0, 0)));
    c.check_sequence(TENANT, 0).unwrap();
    c.increment_sequence(TENANT);
    let err = c.check_sequence(TENANT, 0).unwrap_err();
    assert_eq!((err.codespace.as_str(), err.code), ("sdk", 32));
    assert_eq!(
        err.log,
        "account sequence mismatch, expected 1, got 0: incorrect account sequence"
    );

    c.deduct_fee(TENANT, &[coin(UAKT, 5_000)]).unwrap();
    assert_eq!(c.balance(TENANT, UAKT), 9_995_000);
    assert_eq!(c.deduct_fee(TENANT, &[coin(UACT, 5)]).unwrap_err().code, 13);
    assert_eq!(
        c.deduct_fee(TENANT, &[coin(UAKT, 99_000_000)])
            .unwrap_err()
            .code,
        5
    );
    assert_eq!(
        c.transfer(TENANT, P1, UACT, 1).unwrap_err().codespace,
        "bank"
    );
    c.transfer(TENANT, P1, UAKT, 1).unwrap();
    assert_eq!(c.balance(P1, UAKT), 5_000_001);
}

#[test]
fn devnet_escrow_runs_out() {
    let mut c = setup();
    // Price ceiling 200000 uact per block; the bid takes 100000 per block.
    let TxMessage::CreateDeployment(mut m) = create(1, UACT, 500_000) else {
        unreachable!()
    };
    m.groups = vec![group("web", "200000", 1)];
    c.deliver(2, 0, TENANT, &[m.into()]).unwrap();
    c.deliver(2, 0, P1, &[bid(1, 1, P1, "100000")]).unwrap();
    let lease = mv::MsgCreateLease {
        bid_id: order(1, 1).bid(P1, 0),
    };
    c.deliver(2, 0, TENANT, &[lease.into()]).unwrap();
    c.end_block(2, 0);
    for h in 3..=7 {
        assert!(c.end_block(h, 0).is_empty(), "height {h}");
    }
    assert_eq!(account_funds(&c, 1), 0);
    let events = c.end_block(8, 0);
    let t = typed(&events);
    assert!(
        t.iter().any(|e| matches!(e, AkashEvent::LeaseClosed(l)
            if l.reason == mv1::LeaseClosedReason::InsufficientFunds as i32)),
        "{events:?}"
    );
    let key = (TENANT.to_owned(), 1, 1, 1, P1.to_owned(), 0);
    let l = &c.leases[&key];
    assert_eq!(l.state, mv1::LeaseState::InsufficientFunds as i32);
    assert_eq!(l.reason, 20000);
    assert_eq!(l.closed_on, 8);
    assert_eq!(
        c.groups[&(TENANT.to_owned(), 1, 1)].state,
        dv::GroupState::InsufficientFunds as i32
    );
    assert_eq!(
        c.deployments[&(TENANT.to_owned(), 1)].state,
        dv1::DeploymentState::Closed as i32
    );
    let akey = dv1::DeploymentID::new(TENANT, 1).escrow_account().key();
    assert_eq!(
        c.escrow_accounts[&akey].state,
        et::EscrowState::Overdrawn as i32
    );
    let pkey = order(1, 1).bid(P1, 0).lease_id().escrow_payment().key();
    assert_eq!(c.escrow_payments[&pkey].unsettled, 100_000 * DEC_SCALE);
    assert_eq!(c.balance(P1, UACT), 500_000);
    // No new order for a group without funds; nothing more happens on later blocks.
    assert!(orders(&c, 1, "open").is_empty());
    assert!(c.end_block(9, 0).is_empty());

    // A deposit pays the debt to the provider, then the account closes and refunds the rest.
    let deposit = ev::MsgAccountDeposit {
        signer: TENANT.to_owned(),
        id: dv1::DeploymentID::new(TENANT, 1).escrow_account(),
        deposit: Deposit::from_balance(coin(UACT, 150_000)),
    };
    let before = c.balance(TENANT, UACT);
    c.deliver(10, 0, TENANT, &[deposit.into()]).unwrap();
    assert_eq!(c.balance(P1, UACT), 600_000);
    assert_eq!(c.balance(TENANT, UACT), before - 100_000);
    assert_eq!(
        c.escrow_accounts[&akey].state,
        et::EscrowState::Closed as i32
    );
}

#[test]
fn devnet_queries_paginate() {
    let mut c = setup();
    for dseq in [30, 10, 20] {
        c.deliver(2, 0, TENANT, &[create(dseq, UACT, 500_000)])
            .unwrap();
    }
    let page = |key: Vec<u8>, offset: u64| dv::QueryDeploymentsRequest {
        filters: dv::DeploymentFilters {
            owner: TENANT.to_owned(),
            ..Default::default()
        },
        pagination: Some(PageRequest {
            key,
            offset,
            limit: 2,
            count_total: true,
            reverse: false,
        }),
    };
    let first = query(&c, page(vec![], 0));
    let dseqs: Vec<u64> = first
        .deployments
        .iter()
        .map(|d| d.deployment.id.dseq)
        .collect();
    assert_eq!(dseqs, vec![10, 20]);
    let p = first.pagination.unwrap();
    assert_eq!(p.total, 3);
    assert!(!p.next_key.is_empty());
    let second = query(&c, page(p.next_key, 0));
    assert_eq!(second.deployments.len(), 1);
    assert_eq!(second.deployments[0].deployment.id.dseq, 30);
    assert!(second.pagination.unwrap().next_key.is_empty());
    let by_offset = query(&c, page(vec![], 2));
    assert_eq!(by_offset.deployments[0].deployment.id.dseq, 30);
    assert!(c
        .query(dq::QUERY_DEPLOYMENTS, &page(vec![1], 1).encode_to_vec())
        .is_err());

    let one = query(
        &c,
        dv::QueryDeploymentRequest {
            id: dv1::DeploymentID::new(TENANT, 20),
        },
    );
    assert_eq!(one.groups.len(), 1);
    assert_eq!(
        one.escrow_account.state.funds[0].amount,
        (500_000 * DEC_SCALE).to_string()
    );
    let missing = c.query(
        dq::QUERY_DEPLOYMENT,
        &dv::QueryDeploymentRequest {
            id: dv1::DeploymentID::new(TENANT, 99),
        }
        .encode_to_vec(),
    );
    assert_eq!(missing.unwrap_err().code, 4);

    let filtered = query(
        &c,
        mv::QueryOrdersRequest {
            filters: mv::OrderFilters {
                dseq: 20,
                ..Default::default()
            },
            pagination: None,
        },
    );
    assert_eq!(filtered.orders.len(), 1);
    assert_eq!(filtered.orders[0].id, order(20, 1));
    assert!(c.query(mq::QUERY_ORDERS, b"\xff").is_err());
    assert!(c.query("/akash.nope.v1.Query/X", &[]).is_err());

    let bal = bank::QueryBalanceResponse::decode(
        c.query(
            "/cosmos.bank.v1beta1.Query/Balance",
            &bank::QueryBalanceRequest {
                address: TENANT.to_owned(),
                denom: UACT.to_owned(),
            }
            .encode_to_vec(),
        )
        .unwrap()
        .as_slice(),
    )
    .unwrap();
    assert_eq!(bal.balance.unwrap().amount, "8500000");
    let all = bank::QueryAllBalancesResponse::decode(
        c.query(
            "/cosmos.bank.v1beta1.Query/AllBalances",
            &bank::QueryAllBalancesRequest {
                address: TENANT.to_owned(),
                pagination: None,
                resolve_denom: false,
            }
            .encode_to_vec(),
        )
        .unwrap()
        .as_slice(),
    )
    .unwrap();
    assert_eq!(all.balances.len(), 2);
    let acct = auth::QueryAccountResponse::decode(
        c.query(
            "/cosmos.auth.v1beta1.Query/Account",
            &auth::QueryAccountRequest {
                address: P2.to_owned(),
            }
            .encode_to_vec(),
        )
        .unwrap()
        .as_slice(),
    )
    .unwrap();
    let any = acct.account.unwrap();
    assert_eq!(any.type_url, "/cosmos.auth.v1beta1.BaseAccount");
    let base = auth::BaseAccount::decode(any.value.as_slice()).unwrap();
    assert_eq!((base.account_number, base.sequence), (2, 0));

    let provider = query(
        &c,
        pv::QueryProviderRequest {
            owner: P1.to_owned(),
        },
    );
    assert_eq!(
        provider.provider.host_uri,
        "https://provider.example.com:8443"
    );
    let all = query(&c, pv::QueryProvidersRequest { pagination: None });
    assert_eq!(all.providers.len(), 2);
    let accounts = query(
        &c,
        ev::QueryAccountsRequest {
            state: "open".to_owned(),
            xid: TENANT.to_owned(),
            pagination: None,
        },
    );
    assert_eq!(accounts.accounts.len(), 3);
}

#[test]
fn devnet_certificates() {
    let mut c = setup();
    let a = af_akash::certs::generate(TENANT, &[]).unwrap();
    let b = af_akash::certs::generate(TENANT, &[]).unwrap();
    let msg = |g: &af_akash::certs::GeneratedCert| cv::MsgCreateCertificate {
        owner: TENANT.to_owned(),
        cert: g.cert_pem.clone(),
        pubkey: g.pubkey_pem.clone(),
    };
    c.deliver(2, 0, TENANT, &[msg(&a).into()]).unwrap();
    assert_eq!(
        c.deliver(2, 0, TENANT, &[msg(&a).into()]).unwrap_err().code,
        3
    );
    let mut empty = msg(&b);
    empty.pubkey.clear();
    assert_eq!(
        c.deliver(2, 0, TENANT, &[empty.into()]).unwrap_err().code,
        7
    );
    // Another certificate's public key, another owner's certificate, garbage.
    let mut mismatched = msg(&b);
    mismatched.pubkey = a.pubkey_pem.clone();
    assert_eq!(
        c.deliver(2, 0, TENANT, &[mismatched.into()])
            .unwrap_err()
            .code,
        7
    );
    let other = af_akash::keys::Wallet::from_entropy([3; 32]).0;
    let foreign = af_akash::certs::generate(other.address(), &[]).unwrap();
    assert_eq!(
        c.deliver(2, 0, TENANT, &[msg(&foreign).into()])
            .unwrap_err()
            .code,
        6
    );
    let mut garbage = msg(&b);
    garbage.cert = b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n".to_vec();
    assert_eq!(
        c.deliver(2, 0, TENANT, &[garbage.into()]).unwrap_err().code,
        6
    );
    c.deliver(2, 0, TENANT, &[msg(&b).into()]).unwrap();
    let revoke = cv::MsgRevokeCertificate {
        id: cv::CertificateID {
            owner: TENANT.to_owned(),
            serial: a.serial.clone(),
        },
    };
    c.deliver(3, 0, TENANT, &[revoke.clone().into()]).unwrap();
    assert_eq!(
        c.deliver(3, 0, TENANT, &[revoke.into()]).unwrap_err().code,
        4
    );
    let valid = query(
        &c,
        cv::QueryCertificatesRequest {
            filter: cv::CertificateFilter {
                owner: TENANT.to_owned(),
                serial: String::new(),
                state: "valid".to_owned(),
            },
            pagination: None,
        },
    );
    assert_eq!(valid.certificates.len(), 1);
    assert_eq!(valid.certificates[0].serial, b.serial);
}

#[test]
fn devnet_bme_mint_settles_at_epoch() {
    let mut c = setup();
    c.params.bme_act_per_akt = 3 * DEC_SCALE / 2;
    let mint = bv::MsgMintACT {
        owner: TENANT.to_owned(),
        to: String::new(),
        coins_to_burn: coin(UAKT, 1_000_000),
    };
    c.deliver(3, 0, TENANT, &[mint.into()]).unwrap();
    assert_eq!(c.balance(TENANT, UAKT), 9_000_000);
    for h in 3..10 {
        c.end_block(h, 0);
    }
    assert_eq!(c.balance(TENANT, UACT), 10_000_000);
    let events = c.end_block(10, 0);
    assert!(typed(&events)
        .iter()
        .any(|e| matches!(e, AkashEvent::LedgerRecordExecuted(_))));
    assert_eq!(c.balance(TENANT, UACT), 11_500_000);
    let records = query(&c, bv::QueryLedgerRecordsRequest::default());
    assert_eq!(records.records.len(), 1);
    assert_eq!(
        records.records[0].status,
        bv::LedgerRecordStatus::Executed as i32
    );
    let bad = bv::MsgMintACT {
        owner: TENANT.to_owned(),
        to: String::new(),
        coins_to_burn: coin(UACT, 1),
    };
    assert!(c.deliver(11, 0, TENANT, &[bad.into()]).is_err());
}

#[test]
fn devnet_deposit_rules() {
    let mut c = setup();
    c.deliver(2, 0, TENANT, &[create(1, UACT, 500_000)])
        .unwrap();
    let id = dv1::DeploymentID::new(TENANT, 1).escrow_account();
    let dep = |sources: Vec<i32>, amount: u128| ev::MsgAccountDeposit {
        signer: TENANT.to_owned(),
        id: id.clone(),
        deposit: Deposit {
            amount: coin(UACT, amount),
            sources,
        },
    };
    let b = Source::Balance as i32;
    assert!(c.deliver(3, 0, TENANT, &[dep(vec![], 5).into()]).is_err());
    assert!(c
        .deliver(3, 0, TENANT, &[dep(vec![b, b], 5).into()])
        .is_err());
    assert!(c.deliver(3, 0, TENANT, &[dep(vec![b], 0).into()]).is_err());
    c.deliver(3, 0, TENANT, &[dep(vec![b], 5).into()]).unwrap();
    assert_eq!(account_funds(&c, 1), 500_005 * DEC_SCALE);

    // uakt is accepted via AccountDeposit, kept aside, and refunded on close.
    let mut akt = dep(vec![b], 700);
    akt.deposit.amount.denom = UAKT.to_owned();
    c.deliver(4, 0, TENANT, &[akt.into()]).unwrap();
    assert_eq!(c.balance(TENANT, UAKT), 10_000_000 - 700);
    let mut other = dep(vec![b], 1);
    other.deposit.amount.denom = "ibc/XYZ".to_owned();
    assert_eq!(
        c.deliver(4, 0, TENANT, &[other.into()]).unwrap_err().code,
        5
    );
    let close = dv::MsgCloseDeployment {
        id: dv1::DeploymentID::new(TENANT, 1),
    };
    c.deliver(5, 0, TENANT, &[close.into()]).unwrap();
    assert_eq!(c.balance(TENANT, UAKT), 10_000_000);
    assert_eq!(c.balance(TENANT, UACT), 10_000_000);
}

#[test]
fn devnet_group_pause_start_and_audit() {
    let mut c = setup();
    c.deliver(2, 0, TENANT, &[create(1, UACT, 500_000)])
        .unwrap();
    let gid = dv1::DeploymentID::new(TENANT, 1).group(1);
    c.deliver(
        3,
        0,
        TENANT,
        &[dv::MsgPauseGroup { id: gid.clone() }.into()],
    )
    .unwrap();
    assert!(orders(&c, 1, "open").is_empty());
    let events = c
        .deliver(
            4,
            0,
            TENANT,
            &[dv::MsgStartGroup { id: gid.clone() }.into()],
        )
        .unwrap();
    assert!(typed(&events)
        .iter()
        .any(|e| matches!(e, AkashEvent::OrderCreated(o) if o.id.oseq == 2)));
    c.deliver(
        5,
        0,
        TENANT,
        &[dv::MsgCloseGroup { id: gid.clone() }.into()],
    )
    .unwrap();
    assert_eq!(
        c.deliver(6, 0, TENANT, &[dv::MsgCloseGroup { id: gid }.into()])
            .unwrap_err()
            .code,
        15
    );

    let sign = af_akash::proto::audit::v1::MsgSignProviderAttributes {
        owner: P1.to_owned(),
        auditor: AUDITOR.to_owned(),
        attributes: vec![Attribute::new("tier", "community")],
    };
    c.deliver(6, 0, AUDITOR, &[sign.into()]).unwrap();
    let audited = query(
        &c,
        af_akash::proto::audit::v1::QueryProviderAttributesRequest {
            owner: P1.to_owned(),
            pagination: None,
        },
    );
    assert_eq!(audited.providers.len(), 1);
    assert_eq!(audited.providers[0].auditor, AUDITOR);
}

#[test]
fn devnet_bid_rules_and_provider_close() {
    let mut c = setup();
    let TxMessage::CreateDeployment(mut m) = create(1, UACT, 500_000) else {
        unreachable!()
    };
    m.groups[0].requirements.attributes = vec![Attribute::new("region", "us-west")];
    m.groups[0].requirements.signed_by.all_of = vec![AUDITOR.to_owned()];
    c.deliver(2, 0, TENANT, &[m.into()]).unwrap();

    // Not yet audited: attribute mismatch.
    let err = c.deliver(2, 0, P1, &[bid(1, 1, P1, "5")]).unwrap_err();
    assert_eq!((err.codespace.as_str(), err.code), ("market", 5));
    let sign = af_akash::proto::audit::v1::MsgSignProviderAttributes {
        owner: P1.to_owned(),
        auditor: AUDITOR.to_owned(),
        attributes: vec![Attribute::new("tier", "community")],
    };
    c.deliver(2, 0, AUDITOR, &[sign.into()]).unwrap();

    // bseq is reserved: must be 0.
    let TxMessage::CreateBid(mut b) = bid(1, 1, P1, "5") else {
        unreachable!()
    };
    b.id.bseq = 3;
    assert_eq!(c.deliver(2, 0, P1, &[b.into()]).unwrap_err().code, 31);
    // A deposit under the minimum, and in an unsupported denom.
    let TxMessage::CreateBid(mut b) = bid(1, 1, P1, "5") else {
        unreachable!()
    };
    b.deposit.amount.amount = "1".to_owned();
    assert_eq!(
        c.deliver(2, 0, P1, &[b.clone().into()]).unwrap_err().code,
        28
    );
    b.deposit.amount = coin("ibc/XYZ", 500_000);
    assert_eq!(c.deliver(2, 0, P1, &[b.into()]).unwrap_err().code, 28);

    c.deliver(2, 0, P1, &[bid(1, 1, P1, "5")]).unwrap();
    assert_eq!(
        c.deliver(2, 0, P1, &[bid(1, 1, P1, "5")]).unwrap_err().code,
        21
    );
    let lease = mv::MsgCreateLease {
        bid_id: order(1, 1).bid(P1, 0),
    };
    c.deliver(2, 0, TENANT, &[lease.into()]).unwrap();
    // Bidding on an active order.
    assert_eq!(
        c.deliver(3, 0, P2, &[bid(1, 1, P2, "5")]).unwrap_err().code,
        23
    );
    for h in 3..=6 {
        c.end_block(h, 0);
    }
    // The provider withdraws what it earned so far (4 blocks at 5).
    let withdraw = mv::MsgWithdrawLease {
        id: order(1, 1).bid(P1, 0).lease_id(),
    };
    c.deliver(7, 0, P1, &[withdraw.into()]).unwrap();
    assert_eq!(c.balance(P1, UACT), 25);

    // The provider closes the active bid: lease closed with its reason, group paused.
    let close = mv::MsgCloseBid {
        id: order(1, 1).bid(P1, 0),
        reason: mv1::LeaseClosedReason::Unstable as i32,
    };
    c.deliver(8, 0, P1, &[close.into()]).unwrap();
    let l = &c.leases[&(TENANT.to_owned(), 1, 1, 1, P1.to_owned(), 0)];
    assert_eq!(l.state, mv1::LeaseState::Closed as i32);
    assert_eq!(l.reason, mv1::LeaseClosedReason::Unstable as i32);
    assert_eq!(
        c.groups[&(TENANT.to_owned(), 1, 1)].state,
        dv::GroupState::Paused as i32
    );
    assert!(orders(&c, 1, "open").is_empty());
    assert_eq!(c.balance(P1, UACT), 30);
    assert_eq!(c.balance(P1, UAKT), 5_000_000, "bid deposit refunded");
}

#[test]
fn devnet_provider_update_and_delete() {
    let mut c = setup();
    let update = pv::MsgUpdateProvider {
        owner: P1.to_owned(),
        host_uri: "https://new.example.com:8443".to_owned(),
        attributes: vec![],
        info: pv::Info::default(),
    };
    c.deliver(2, 0, P1, &[update.into()]).unwrap();
    assert_eq!(c.providers[P1].host_uri, "https://new.example.com:8443");
    assert_eq!(c.deliver(2, 0, P1, &[provider(P1)]).unwrap_err().code, 4);
    let mut bad = provider(AUDITOR);
    if let TxMessage::CreateProvider(p) = &mut bad {
        p.host_uri = "not a uri".to_owned();
    }
    assert_eq!(c.deliver(2, 0, AUDITOR, &[bad]).unwrap_err().code, 1);
    let delete = pv::MsgDeleteProvider {
        owner: P1.to_owned(),
    };
    let err = c.deliver(2, 0, P1, &[delete.into()]).unwrap_err();
    assert_eq!((err.codespace.as_str(), err.code), ("provider", 9));
}

#[test]
fn devnet_events_and_market_queries() {
    let mut c = setup();
    let events = c
        .deliver(2, 0, TENANT, &[create(77, UACT, 500_000)])
        .unwrap();
    let created = events
        .iter()
        .find(|e| e.kind == "akash.deployment.v1.EventDeploymentCreated")
        .unwrap();
    assert_eq!(
        created.attribute("id"),
        Some(format!(r#"{{"owner":"{TENANT}","dseq":"77"}}"#).as_str())
    );
    assert_eq!(created.msg_index(), Some(0));
    let message = &events[0];
    assert_eq!(message.attribute("sender"), Some(TENANT));
    assert_eq!(message.attribute("module"), Some("deployment"));

    c.deliver(2, 0, P1, &[bid(77, 1, P1, "4")]).unwrap();
    c.deliver(2, 0, P2, &[bid(77, 1, P2, "6")]).unwrap();
    let lease = mv::MsgCreateLease {
        bid_id: order(77, 1).bid(P2, 0),
    };
    c.deliver(3, 0, TENANT, &[lease.into()]).unwrap();
    for h in 4..=8 {
        c.end_block(h, 0);
    }
    let bids = query(
        &c,
        mv::QueryBidsRequest {
            filters: mv::BidFilters {
                owner: TENANT.to_owned(),
                state: "lost".to_owned(),
                ..Default::default()
            },
            pagination: None,
        },
    );
    assert_eq!(bids.bids.len(), 1);
    assert_eq!(bids.bids[0].bid.id.provider, P1);
    assert_eq!(
        bids.bids[0].escrow_account.state.state,
        et::EscrowState::Closed as i32
    );
    let leases = query(
        &c,
        mv::QueryLeasesRequest {
            filters: mv1::LeaseFilters {
                provider: P2.to_owned(),
                state: "active".to_owned(),
                ..Default::default()
            },
            pagination: None,
        },
    );
    assert_eq!(leases.leases.len(), 1);
    let l = &leases.leases[0];
    assert_eq!(l.lease.price, price("6"));
    // 5 blocks at 6 uact.
    assert_eq!(l.escrow_payment.state.balance, price("30"));
    assert_eq!(l.escrow_payment.id.xid, format!("1/1/{P2}"));
    let payments = query(
        &c,
        ev::QueryPaymentsRequest {
            state: "open".to_owned(),
            xid: String::new(),
            pagination: None,
        },
    );
    assert_eq!(payments.payments.len(), 1);
    assert!(c
        .query(
            mq::QUERY_LEASES,
            &mv::QueryLeasesRequest {
                filters: mv1::LeaseFilters {
                    state: "bogus".to_owned(),
                    ..Default::default()
                },
                pagination: None,
            }
            .encode_to_vec()
        )
        .is_err());
}

#[test]
fn mul_div_is_exact_beyond_128_bits() {
    use super::handlers::mul_div;
    assert_eq!(mul_div(6, 7, 4), 10);
    let rate = 200_000 * DEC_SCALE;
    assert_eq!(mul_div(rate - 1, rate, rate), rate - 1);
    assert_eq!(mul_div(u128::MAX, u128::MAX, u128::MAX), u128::MAX);
    assert_eq!(mul_div(u128::MAX, 2, 4), u128::MAX / 2);
    assert_eq!(mul_div(1 << 100, 1 << 100, 1 << 120), 1 << 80);
}
