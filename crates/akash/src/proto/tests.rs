//! Tests: hand-built wire bytes, round trips, type URLs and method paths, ID strings, LegacyDec
//! text, typed events (including a literal event as a chain emits it), and decoders fed noise.

use std::fmt::Debug;

use prost::{Message, Name};
use prost_types::Duration;

use super::audit::v1 as audit;
use super::base::deposit::v1::{Deposit, Source};
use super::base::{coin, from_any, is_account_address, legacy_dec, to_any, AnyError};
use super::bme::v1 as bme;
use super::cert::v1 as cert;
use super::deployment::{v1 as dv1, v1beta4 as dv1beta4};
use super::escrow::{id::v1 as eid, types::v1 as etypes, v1 as escrow};
use super::events::{self, AkashEvent, Event, EventAttribute, EventError};
use super::ids::ParseIdError;
use super::json::{base64_decode, base64_encode};
use super::market::{v1 as mv1, v1beta5 as mv1beta5};
use super::methods::{Query, TxMessage, TxMsg};
use super::provider::v1beta4 as provider;
use super::{PageRequest, PageResponse};
use crate::sdl::{
    Attribute, Cpu, DecCoin, Endpoint, EndpointKind, Gpu, GroupSpec, Memory, PlacementRequirements,
    ResourceUnit, ResourceValue, Resources, SignedBy, Storage,
};

// Real mainnet-style addresses (valid bech32, 44 characters each).
const OWNER: &str = "akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63";
const PROVIDER: &str = "akash18qa2a2ltfyvkyj0ggj3hkvuj6twzyumuaru9s4";
const AUDITOR: &str = "akash1vz375dkt0c60annyp6mkzeejfq0qpyevhseu05";

fn did() -> dv1::DeploymentID {
    dv1::DeploymentID::new(OWNER, 1234)
}

fn gid() -> dv1::GroupID {
    did().group(1)
}

fn oid() -> mv1::OrderID {
    gid().order(1)
}

fn bid_id() -> mv1::BidID {
    oid().bid(PROVIDER, 2)
}

fn lid() -> mv1::LeaseID {
    oid().bid(PROVIDER, 0).lease_id()
}

fn hash() -> Vec<u8> {
    (0u8..32).collect()
}

fn uact(amount: u128) -> super::Coin {
    coin("uact", amount)
}

fn dec(decimal: &str) -> DecCoin {
    legacy_dec::dec_coin("uact", decimal).expect("valid decimal")
}

fn page() -> Option<PageRequest> {
    Some(PageRequest {
        key: vec![1, 2, 3],
        offset: 0,
        limit: 100,
        count_total: true,
        reverse: false,
    })
}

fn page_response() -> Option<PageResponse> {
    Some(PageResponse {
        next_key: vec![9, 9],
        total: 7,
    })
}

fn secs(seconds: i64) -> Duration {
    Duration { seconds, nanos: 0 }
}

/// The small group the hand-built bytes below describe: one unit of 100 millicores, 128 MiB
/// memory, 512 MiB storage, no GPU, one shared-HTTP endpoint, priced 10 uact per block.
fn group_spec() -> GroupSpec {
    GroupSpec {
        name: "web".to_owned(),
        requirements: PlacementRequirements {
            signed_by: SignedBy::default(),
            attributes: vec![Attribute::new("region", "us-west")],
        },
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
                gpu: Some(Gpu {
                    units: ResourceValue::new(0),
                    attributes: vec![],
                }),
                endpoints: vec![Endpoint {
                    kind: EndpointKind::SharedHttp as i32,
                    sequence_number: 0,
                }],
            },
            count: 1,
            price: dec("10"),
        }],
    }
}

fn deposit() -> Deposit {
    Deposit::from_balance(uact(5_000_000))
}

/// Concatenates byte pieces written out by hand.
fn bytes(pieces: &[&[u8]]) -> Vec<u8> {
    pieces.concat()
}

// ---------------------------------------------------------------------------------------
// Hand-built wire bytes. Every tag byte is (field number << 3) | wire type (0 = varint,
// 2 = length-delimited); every length is counted by hand in the comment beside it.
// ---------------------------------------------------------------------------------------

#[test]
fn address_constants_are_44_bytes() {
    // The hand-built lengths below rely on this: 44 = 0x2c.
    assert_eq!(OWNER.len(), 0x2c);
    assert_eq!(PROVIDER.len(), 0x2c);
}

#[test]
fn query_deployment_request_bytes() {
    let msg = dv1beta4::QueryDeploymentRequest { id: did() };
    let expected = bytes(&[
        // field 1 (id), wire 2: 0x0a; DeploymentID is 2 + 44 + 1 + 2 = 49 = 0x31 bytes
        &[0x0a, 0x31],
        // DeploymentID field 1 (owner) 0x0a, length 44
        &[0x0a, 0x2c],
        OWNER.as_bytes(),
        // field 2 (dseq) varint 0x10; 1234 = 0b1001_1010010 -> 0xd2 (0x52 | 0x80), 0x09
        &[0x10, 0xd2, 0x09],
    ]);
    assert_eq!(expected.len(), 51);
    assert_eq!(msg.encode_to_vec(), expected);
    assert_eq!(
        dv1beta4::QueryDeploymentRequest::decode(expected.as_slice()).unwrap(),
        msg
    );
}

#[test]
fn msg_create_lease_bytes() {
    let msg = mv1beta5::MsgCreateLease { bid_id: bid_id() };
    let expected = bytes(&[
        // field 1 (bid_id) 0x0a; BidID is 46 + 3 + 2 + 2 + 46 + 2 = 101 = 0x65 bytes
        &[0x0a, 0x65],
        &[0x0a, 0x2c], // owner, 44 bytes
        OWNER.as_bytes(),
        &[0x10, 0xd2, 0x09], // dseq 1234
        &[0x18, 0x01],       // field 3 (gseq) varint: 1
        &[0x20, 0x01],       // field 4 (oseq) varint: 1
        &[0x2a, 0x2c],       // field 5 (provider), 44 bytes
        PROVIDER.as_bytes(),
        &[0x30, 0x02], // field 6 (bseq) varint: 2
    ]);
    assert_eq!(expected.len(), 103);
    assert_eq!(msg.encode_to_vec(), expected);
    assert_eq!(
        mv1beta5::MsgCreateLease::decode(expected.as_slice()).unwrap(),
        msg
    );
}

#[test]
fn msg_close_lease_bytes() {
    let msg = mv1beta5::MsgCloseLease {
        id: lid(),
        reason: mv1::LeaseClosedReason::ManifestTimeout as i32,
    };
    assert_eq!(msg.reason, 10003);
    let expected = bytes(&[
        // field 1 (id) 0x0a; LeaseID with bseq 0 (not written) is 46 + 3 + 2 + 2 + 46 = 99 = 0x63
        &[0x0a, 0x63],
        &[0x0a, 0x2c],
        OWNER.as_bytes(),
        &[0x10, 0xd2, 0x09],
        &[0x18, 0x01],
        &[0x20, 0x01],
        &[0x2a, 0x2c],
        PROVIDER.as_bytes(),
        // field 2 (reason) varint 0x10; 10003 = 78 * 128 + 19 -> 0x93 (19 | 0x80), 0x4e (78)
        &[0x10, 0x93, 0x4e],
    ]);
    assert_eq!(msg.encode_to_vec(), expected);
    assert_eq!(
        mv1beta5::MsgCloseLease::decode(expected.as_slice()).unwrap(),
        msg
    );
}

/// `Deposit { amount: 5000000uact, sources: [balance] }`, 20 = 0x14 bytes.
const DEPOSIT_BYTES: &[u8] = &[
    // field 1 (amount, Coin) 0x0a; Coin is 6 + 9 = 15 = 0x0f bytes
    0x0a, 0x0f, //
    0x0a, 0x04, b'u', b'a', b'c', b't', // Coin.denom "uact"
    0x12, 0x07, b'5', b'0', b'0', b'0', b'0', b'0', b'0', // Coin.amount "5000000"
    // field 5 (sources), packed repeated enum: 0x2a, 1 byte, balance = 1
    0x2a, 0x01, 0x01,
];

#[test]
fn deposit_bytes() {
    assert_eq!(DEPOSIT_BYTES.len(), 0x14);
    assert_eq!(deposit().encode_to_vec(), DEPOSIT_BYTES);
}

#[test]
fn msg_account_deposit_bytes() {
    let msg = escrow::MsgAccountDeposit {
        signer: OWNER.to_owned(),
        id: did().escrow_account(),
        deposit: deposit(),
    };
    let xid = format!("{OWNER}/1234");
    assert_eq!(xid.len(), 0x31);
    let expected = bytes(&[
        &[0x0a, 0x2c], // field 1 (signer), 44 bytes
        OWNER.as_bytes(),
        // field 2 (id, escrow Account) 0x12; Account is 2 + 2 + 49 = 53 = 0x35 bytes
        &[0x12, 0x35],
        &[0x08, 0x01], // Account field 1 (scope) varint: deployment = 1
        &[0x12, 0x31], // Account field 2 (xid), 49 bytes: "<owner>/1234"
        xid.as_bytes(),
        &[0x1a, 0x14], // field 3 (deposit), 20 bytes
        DEPOSIT_BYTES,
    ]);
    assert_eq!(expected.len(), 123);
    assert_eq!(msg.encode_to_vec(), expected);
    assert_eq!(
        escrow::MsgAccountDeposit::decode(expected.as_slice()).unwrap(),
        msg
    );
}

#[test]
fn msg_create_certificate_bytes() {
    let cert_pem: &[u8] = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let key_pem: &[u8] = b"-----BEGIN EC PUBLIC KEY-----\nMFkw\n-----END EC PUBLIC KEY-----\n";
    // 28 + 5 + 26 = 59 = 0x3b; 30 + 5 + 28 = 63 = 0x3f
    assert_eq!((cert_pem.len(), key_pem.len()), (0x3b, 0x3f));
    let msg = cert::MsgCreateCertificate {
        owner: OWNER.to_owned(),
        cert: cert_pem.to_vec(),
        pubkey: key_pem.to_vec(),
    };
    let expected = bytes(&[
        &[0x0a, 0x2c], // field 1 (owner), 44 bytes
        OWNER.as_bytes(),
        &[0x12, 0x3b], // field 2 (cert), 59 bytes
        cert_pem,
        &[0x1a, 0x3f], // field 3 (pubkey), 63 bytes
        key_pem,
    ]);
    assert_eq!(msg.encode_to_vec(), expected);
    assert_eq!(
        cert::MsgCreateCertificate::decode(expected.as_slice()).unwrap(),
        msg
    );
}

#[test]
fn msg_mint_act_bytes() {
    let msg = bme::MsgMintACT {
        owner: OWNER.to_owned(),
        to: OWNER.to_owned(),
        coins_to_burn: coin("uakt", 1_000_000),
    };
    let expected = bytes(&[
        &[0x0a, 0x2c], // field 1 (owner), 44 bytes
        OWNER.as_bytes(),
        &[0x12, 0x2c], // field 2 (to), 44 bytes
        OWNER.as_bytes(),
        // field 3 (coins_to_burn) 0x1a; Coin is 6 + 9 = 15 = 0x0f bytes
        &[0x1a, 0x0f],
        &[0x0a, 0x04],
        b"uakt",
        &[0x12, 0x07],
        b"1000000",
    ]);
    assert_eq!(msg.encode_to_vec(), expected);
    assert_eq!(bme::MsgMintACT::decode(expected.as_slice()).unwrap(), msg);
}

#[test]
fn msg_create_deployment_bytes() {
    let msg = dv1beta4::MsgCreateDeployment {
        id: did(),
        groups: vec![group_spec()],
        hash: hash(),
        deposit: deposit(),
        reclamation: None,
    };
    let price = "10000000000000000000"; // 10 scaled by 10^18: 20 = 0x14 characters
    assert_eq!(price.len(), 0x14);
    let expected = bytes(&[
        // field 1 (id), DeploymentID of 49 = 0x31 bytes
        &[0x0a, 0x31, 0x0a, 0x2c],
        OWNER.as_bytes(),
        &[0x10, 0xd2, 0x09],
        // field 2 (groups), one GroupSpec of 5 + 23 + 95 = 123 = 0x7b bytes
        &[0x12, 0x7b],
        &[0x0a, 0x03],
        b"web", // GroupSpec.name
        // GroupSpec field 2 (requirements), PlacementRequirements of 2 + 19 = 21 = 0x15 bytes
        &[0x12, 0x15],
        &[0x0a, 0x00], // signed_by: empty, written anyway (non-nullable)
        // attributes[0], Attribute of 8 + 9 = 17 = 0x11 bytes
        &[0x12, 0x11, 0x0a, 0x06],
        b"region",
        &[0x12, 0x07],
        b"us-west",
        // GroupSpec field 3 (resources[0]), ResourceUnit of 61 + 2 + 30 = 93 = 0x5d bytes
        &[0x1a, 0x5d],
        // ResourceUnit field 1 (resource), Resources of 2 + 9 + 15 + 24 + 7 + 2 = 59 = 0x3b
        &[0x0a, 0x3b],
        &[0x08, 0x01], // Resources.id = 1
        // Resources field 2 (cpu): CPU of 7: units = ResourceValue of 5: val "100"
        &[0x12, 0x07, 0x0a, 0x05, 0x0a, 0x03],
        b"100",
        // field 3 (memory): Memory of 13: quantity = ResourceValue of 11: val "134217728"
        &[0x1a, 0x0d, 0x0a, 0x0b, 0x0a, 0x09],
        b"134217728",
        // field 4 (storage[0]): Storage of 9 + 13 = 22 = 0x16: name "default"
        &[0x22, 0x16, 0x0a, 0x07],
        b"default",
        // Storage field 2 (quantity): ResourceValue of 11: val "536870912"
        &[0x12, 0x0b, 0x0a, 0x09],
        b"536870912",
        // field 5 (gpu): GPU of 5: units = ResourceValue of 3: val "0" (zero is written)
        &[0x2a, 0x05, 0x0a, 0x03, 0x0a, 0x01],
        b"0",
        // field 6 (endpoints[0]): Endpoint { kind SHARED_HTTP = 0, sequence 0 } is empty
        &[0x32, 0x00],
        &[0x10, 0x01], // ResourceUnit field 2 (count) = 1
        // ResourceUnit field 3 (price): DecCoin of 6 + 22 = 28 = 0x1c bytes
        &[0x1a, 0x1c, 0x0a, 0x04],
        b"uact",
        &[0x12, 0x14],
        price.as_bytes(),
        // field 3 (hash), 32 bytes
        &[0x1a, 0x20],
        &hash(),
        // field 4 (deposit), 20 bytes; field 5 (reclamation) absent
        &[0x22, 0x14],
        DEPOSIT_BYTES,
    ]);
    assert_eq!(expected.len(), 51 + 125 + 34 + 22);
    assert_eq!(msg.encode_to_vec(), expected);
    assert_eq!(
        dv1beta4::MsgCreateDeployment::decode(expected.as_slice()).unwrap(),
        msg
    );
}

#[test]
fn reclamation_duration_bytes() {
    // DeploymentReclamation { min_window: 1h }: Duration { seconds = 3600 } is 08 90 1c
    // (3600 = 28 * 128 + 16 -> 0x90, 0x1c); wrapped as field 1 of 3 bytes.
    let r = dv1::DeploymentReclamation {
        min_window: secs(3600),
    };
    assert_eq!(r.encode_to_vec(), [0x0a, 0x03, 0x08, 0x90, 0x1c]);
}

// ---------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------

fn round_trip<M: Message + Default + PartialEq + Debug>(msg: M) {
    let bytes = msg.encode_to_vec();
    assert_eq!(bytes.len(), msg.encoded_len());
    let back = M::decode(bytes.as_slice()).expect("decodes");
    assert_eq!(back, msg);
    // A second trip gives the same bytes.
    assert_eq!(back.encode_to_vec(), bytes);
}

fn escrow_account() -> etypes::Account {
    etypes::Account {
        id: did().escrow_account(),
        state: etypes::AccountState {
            owner: OWNER.to_owned(),
            state: etypes::EscrowState::Open as i32,
            transferred: vec![dec("12.5")],
            settled_at: 99,
            funds: vec![etypes::Balance {
                denom: "uact".to_owned(),
                amount: legacy_dec::from_decimal("4987.5").unwrap(),
            }],
            deposits: vec![etypes::Depositor {
                owner: OWNER.to_owned(),
                height: 50,
                source: Source::Balance as i32,
                balance: dec("4987.5"),
            }],
        },
    }
}

fn escrow_payment() -> etypes::Payment {
    etypes::Payment {
        id: lid().escrow_payment(),
        state: etypes::PaymentState {
            owner: PROVIDER.to_owned(),
            state: etypes::EscrowState::Open as i32,
            rate: dec("10"),
            balance: dec("20"),
            unsettled: dec("0"),
            withdrawn: uact(100),
        },
    }
}

fn deployment() -> dv1::Deployment {
    dv1::Deployment {
        id: did(),
        state: dv1::DeploymentState::Active as i32,
        hash: hash(),
        created_at: 1200,
        reclamation: Some(dv1::DeploymentReclamation {
            min_window: secs(600),
        }),
    }
}

fn group() -> dv1beta4::Group {
    dv1beta4::Group {
        id: gid(),
        state: dv1beta4::GroupState::Open as i32,
        group_spec: group_spec(),
        created_at: 1200,
    }
}

fn resource_offer() -> mv1beta5::ResourceOffer {
    mv1beta5::ResourceOffer {
        resources: group_spec().resources[0].resource.clone(),
        count: 1,
        prices: Some(mv1beta5::OfferPrices {
            cpu: Some(dec("1")),
            memory: Some(dec("2")),
            storage: vec![mv1beta5::StorageOfferPrice {
                name: "default".to_owned(),
                price: Some(dec("3")),
            }],
            gpu: None,
            endpoints: vec![mv1beta5::EndpointOfferPrice {
                kind: EndpointKind::RandomPort as i32,
                price: Some(dec("0.5")),
            }],
        }),
    }
}

fn bid() -> mv1beta5::Bid {
    mv1beta5::Bid {
        id: bid_id(),
        state: mv1beta5::BidState::Open as i32,
        price: dec("10"),
        created_at: 1201,
        resources_offer: vec![resource_offer()],
        reclamation_window: Some(secs(3600)),
    }
}

fn order() -> mv1beta5::Order {
    mv1beta5::Order {
        id: oid(),
        state: mv1beta5::OrderState::Open as i32,
        spec: group_spec(),
        created_at: 1200,
        reclamation: None,
    }
}

fn lease() -> mv1::Lease {
    mv1::Lease {
        id: lid(),
        state: mv1::LeaseState::Active as i32,
        price: dec("10"),
        created_at: 1202,
        closed_on: 0,
        reason: 0,
        reclamation: Some(mv1::Reclamation {
            window: secs(3600),
            started_at: 1300,
            deadline: 1900,
            reason: mv1::LeaseClosedReason::Decommission as i32,
        }),
    }
}

fn provider_record() -> provider::Provider {
    provider::Provider {
        owner: PROVIDER.to_owned(),
        host_uri: "https://provider.example.com:8443".to_owned(),
        attributes: vec![Attribute::new("region", "us-west")],
        info: provider::Info {
            email: "ops@example.com".to_owned(),
            website: "https://example.com".to_owned(),
        },
    }
}

fn certificate() -> cert::Certificate {
    cert::Certificate {
        state: cert::CertificateState::Valid as i32,
        cert: b"-----BEGIN CERTIFICATE-----\n".to_vec(),
        pubkey: b"-----BEGIN EC PUBLIC KEY-----\n".to_vec(),
    }
}

fn ledger_id() -> bme::LedgerRecordID {
    bme::LedgerRecordID {
        denom: "uakt".to_owned(),
        to_denom: "uact".to_owned(),
        source: OWNER.to_owned(),
        height: 5000,
        sequence: 3,
    }
}

fn coin_price(amount: u128, price: &str) -> bme::CoinPrice {
    bme::CoinPrice {
        coin: coin("uakt", amount),
        price: legacy_dec::from_decimal(price).unwrap(),
    }
}

fn executed_event() -> bme::EventLedgerRecordExecuted {
    bme::EventLedgerRecordExecuted {
        id: ledger_id(),
        burned_from: OWNER.to_owned(),
        minted_to: OWNER.to_owned(),
        burner: "akash1bme".to_owned(),
        minter: "akash1bme".to_owned(),
        burned: Some(coin_price(1_000_000, "0.85")),
        minted: Some(bme::CoinPrice {
            coin: uact(847_875),
            price: legacy_dec::from_decimal("1").unwrap(),
        }),
        spread: uact(2125),
        remint_credit_issued: None,
        remint_credit_accrued: Some(coin_price(0, "0")),
    }
}

fn canceled_event() -> bme::EventLedgerRecordCanceled {
    bme::EventLedgerRecordCanceled {
        id: ledger_id(),
        cancel_reason: bme::CancelReason::MinimumMint as i32,
        owner: OWNER.to_owned(),
        to: OWNER.to_owned(),
        coins_to_burn: coin("uakt", 10),
        denom_to_mint: "uact".to_owned(),
    }
}

#[test]
fn base_and_deployment_round_trips() {
    round_trip(deposit());
    round_trip(Deposit {
        amount: uact(1),
        sources: vec![Source::Grant as i32, Source::Balance as i32],
    });
    round_trip(did());
    round_trip(gid());
    round_trip(deployment());
    round_trip(dv1::DeploymentReclamation {
        min_window: Duration {
            seconds: 5,
            nanos: 7,
        },
    });
    round_trip(group());
    round_trip(dv1beta4::MsgCreateDeployment {
        id: did(),
        groups: vec![group_spec(), group_spec()],
        hash: hash(),
        deposit: deposit(),
        reclamation: Some(dv1::DeploymentReclamation {
            min_window: secs(600),
        }),
    });
    round_trip(dv1beta4::MsgCreateDeploymentResponse {});
    round_trip(dv1beta4::MsgUpdateDeployment {
        id: did(),
        hash: hash(),
    });
    round_trip(dv1beta4::MsgUpdateDeploymentResponse {});
    round_trip(dv1beta4::MsgCloseDeployment { id: did() });
    round_trip(dv1beta4::MsgCloseDeploymentResponse {});
    round_trip(dv1beta4::MsgCloseGroup { id: gid() });
    round_trip(dv1beta4::MsgCloseGroupResponse {});
    round_trip(dv1beta4::MsgPauseGroup { id: gid() });
    round_trip(dv1beta4::MsgPauseGroupResponse {});
    round_trip(dv1beta4::MsgStartGroup { id: gid() });
    round_trip(dv1beta4::MsgStartGroupResponse {});
    round_trip(dv1beta4::Params {
        min_deposits: vec![uact(500_000), coin("uakt", 500_000)],
    });
    round_trip(dv1beta4::DeploymentFilters {
        owner: OWNER.to_owned(),
        dseq: 1234,
        state: dv1::DeploymentState::Active.as_str_name().to_owned(),
    });
    round_trip(dv1beta4::GroupFilters {
        owner: OWNER.to_owned(),
        dseq: 1234,
        gseq: 1,
        state: "open".to_owned(),
    });
    round_trip(dv1beta4::QueryDeploymentsRequest {
        filters: dv1beta4::DeploymentFilters {
            owner: OWNER.to_owned(),
            ..Default::default()
        },
        pagination: page(),
    });
    let response = dv1beta4::QueryDeploymentResponse {
        deployment: deployment(),
        groups: vec![group()],
        escrow_account: escrow_account(),
    };
    round_trip(response.clone());
    round_trip(dv1beta4::QueryDeploymentsResponse {
        deployments: vec![response.clone(), response],
        pagination: page_response(),
    });
    round_trip(dv1beta4::QueryDeploymentRequest { id: did() });
    round_trip(dv1beta4::QueryGroupRequest { id: gid() });
    round_trip(dv1beta4::QueryGroupResponse { group: group() });
    round_trip(dv1beta4::QueryParamsRequest {});
    round_trip(dv1beta4::QueryParamsResponse {
        params: dv1beta4::Params {
            min_deposits: vec![uact(500_000)],
        },
    });
    round_trip(dv1::EventDeploymentCreated {
        id: did(),
        hash: hash(),
    });
    round_trip(dv1::EventDeploymentUpdated {
        id: did(),
        hash: hash(),
    });
    round_trip(dv1::EventDeploymentClosed { id: did() });
    round_trip(dv1::EventGroupStarted { id: gid() });
    round_trip(dv1::EventGroupPaused { id: gid() });
    round_trip(dv1::EventGroupClosed { id: gid() });
}

#[test]
fn escrow_round_trips() {
    round_trip(did().escrow_account());
    round_trip(lid().escrow_payment());
    round_trip(escrow_account());
    round_trip(escrow_account().state);
    round_trip(escrow_payment());
    round_trip(escrow_payment().state);
    round_trip(etypes::Balance {
        denom: "uact".to_owned(),
        amount: "1".to_owned(),
    });
    round_trip(escrow_account().state.deposits[0].clone());
    round_trip(escrow::MsgAccountDeposit {
        signer: OWNER.to_owned(),
        id: did().escrow_account(),
        deposit: deposit(),
    });
    round_trip(escrow::MsgAccountDepositResponse {});
    round_trip(escrow::QueryAccountsRequest {
        state: "open".to_owned(),
        xid: did().escrow_account().key(),
        pagination: page(),
    });
    round_trip(escrow::QueryAccountsResponse {
        accounts: vec![escrow_account()],
        pagination: page_response(),
    });
    round_trip(escrow::QueryPaymentsRequest {
        state: "open".to_owned(),
        xid: lid().escrow_payment().key(),
        pagination: page(),
    });
    round_trip(escrow::QueryPaymentsResponse {
        payments: vec![escrow_payment()],
        pagination: page_response(),
    });
}

#[test]
fn market_round_trips() {
    round_trip(oid());
    round_trip(bid_id());
    round_trip(lid());
    round_trip(lease());
    round_trip(lease().reclamation.unwrap());
    round_trip(mv1::LeaseFilters {
        owner: OWNER.to_owned(),
        dseq: 1234,
        gseq: 1,
        oseq: 1,
        provider: PROVIDER.to_owned(),
        state: mv1::LeaseState::Active.as_str_name().to_owned(),
        bseq: 0,
    });
    round_trip(mv1::EventOrderCreated { id: oid() });
    round_trip(mv1::EventOrderClosed { id: oid() });
    round_trip(mv1::EventBidCreated {
        id: bid_id(),
        price: dec("10"),
    });
    round_trip(mv1::EventBidClosed { id: bid_id() });
    round_trip(mv1::EventLeaseCreated {
        id: lid(),
        price: dec("10"),
    });
    round_trip(mv1::EventLeaseClosed {
        id: lid(),
        reason: mv1::LeaseClosedReason::Owner as i32,
    });
    round_trip(mv1::EventLeaseReclaimStarted {
        id: lid(),
        reason: mv1::LeaseClosedReason::Decommission as i32,
        deadline: 1900,
    });
    round_trip(order());
    round_trip(bid());
    round_trip(resource_offer());
    round_trip(resource_offer().prices.unwrap());
    round_trip(mv1beta5::BidFilters {
        owner: OWNER.to_owned(),
        dseq: 1234,
        gseq: 1,
        oseq: 1,
        provider: PROVIDER.to_owned(),
        state: "open".to_owned(),
        bseq: 0,
    });
    round_trip(mv1beta5::OrderFilters {
        owner: OWNER.to_owned(),
        dseq: 1234,
        gseq: 1,
        oseq: 2,
        state: "open".to_owned(),
    });
    round_trip(mv1beta5::MsgCreateBid {
        id: bid_id(),
        price: dec("10"),
        deposit: deposit(),
        resources_offer: vec![resource_offer()],
        reclamation_window: Some(secs(3600)),
    });
    round_trip(mv1beta5::MsgCreateBidResponse {});
    round_trip(mv1beta5::MsgCloseBid {
        id: bid_id(),
        reason: mv1::LeaseClosedReason::Unspecified as i32,
    });
    round_trip(mv1beta5::MsgCloseBidResponse {});
    round_trip(mv1beta5::MsgCreateLease { bid_id: bid_id() });
    round_trip(mv1beta5::MsgCreateLeaseResponse {});
    round_trip(mv1beta5::MsgWithdrawLease { id: lid() });
    round_trip(mv1beta5::MsgWithdrawLeaseResponse {});
    round_trip(mv1beta5::MsgCloseLease {
        id: lid(),
        reason: mv1::LeaseClosedReason::Owner as i32,
    });
    round_trip(mv1beta5::MsgCloseLeaseResponse {});
    round_trip(mv1beta5::MsgLeaseStartReclaim {
        id: lid(),
        reason: mv1::LeaseClosedReason::Decommission as i32,
    });
    round_trip(mv1beta5::MsgLeaseStartReclaimResponse {});
    let params = mv1beta5::Params {
        bid_min_deposit: uact(500_000),
        order_max_bids: 20,
        bid_min_deposits: vec![uact(500_000), coin("uakt", 500_000)],
        min_reclamation_window: secs(600),
        max_reclamation_window: secs(86_400),
    };
    round_trip(params.clone());
    round_trip(mv1beta5::QueryParamsRequest {});
    round_trip(mv1beta5::QueryParamsResponse { params });
    round_trip(mv1beta5::QueryOrdersRequest {
        filters: mv1beta5::OrderFilters {
            owner: OWNER.to_owned(),
            state: "open".to_owned(),
            ..Default::default()
        },
        pagination: page(),
    });
    round_trip(mv1beta5::QueryOrdersResponse {
        orders: vec![order()],
        pagination: page_response(),
    });
    round_trip(mv1beta5::QueryOrderRequest { id: oid() });
    round_trip(mv1beta5::QueryOrderResponse { order: order() });
    round_trip(mv1beta5::QueryBidsRequest {
        filters: mv1beta5::BidFilters {
            owner: OWNER.to_owned(),
            dseq: 1234,
            state: "open".to_owned(),
            ..Default::default()
        },
        pagination: None,
    });
    let bid_response = mv1beta5::QueryBidResponse {
        bid: bid(),
        escrow_account: etypes::Account {
            id: bid_id().escrow_account(),
            state: escrow_account().state,
        },
    };
    round_trip(bid_response.clone());
    round_trip(mv1beta5::QueryBidsResponse {
        bids: vec![bid_response],
        pagination: page_response(),
    });
    round_trip(mv1beta5::QueryBidRequest { id: bid_id() });
    round_trip(mv1beta5::QueryLeasesRequest {
        filters: mv1::LeaseFilters {
            owner: OWNER.to_owned(),
            state: "active".to_owned(),
            ..Default::default()
        },
        pagination: page(),
    });
    let lease_response = mv1beta5::QueryLeaseResponse {
        lease: lease(),
        escrow_payment: escrow_payment(),
    };
    round_trip(lease_response.clone());
    round_trip(mv1beta5::QueryLeasesResponse {
        leases: vec![lease_response],
        pagination: page_response(),
    });
    round_trip(mv1beta5::QueryLeaseRequest { id: lid() });
}

#[test]
fn provider_audit_cert_round_trips() {
    round_trip(provider_record());
    round_trip(provider_record().info);
    let p = provider_record();
    round_trip(provider::MsgCreateProvider {
        owner: p.owner.clone(),
        host_uri: p.host_uri.clone(),
        attributes: p.attributes.clone(),
        info: p.info.clone(),
    });
    round_trip(provider::MsgCreateProviderResponse {});
    round_trip(provider::MsgUpdateProvider {
        owner: p.owner.clone(),
        host_uri: p.host_uri.clone(),
        attributes: vec![],
        info: p.info.clone(),
    });
    round_trip(provider::MsgUpdateProviderResponse {});
    round_trip(provider::MsgDeleteProvider {
        owner: p.owner.clone(),
    });
    round_trip(provider::MsgDeleteProviderResponse {});
    round_trip(provider::QueryProvidersRequest { pagination: page() });
    round_trip(provider::QueryProvidersResponse {
        providers: vec![provider_record()],
        pagination: page_response(),
    });
    round_trip(provider::QueryProviderRequest {
        owner: PROVIDER.to_owned(),
    });
    round_trip(provider::QueryProviderResponse {
        provider: provider_record(),
    });
    round_trip(provider::EventProviderCreated {
        owner: PROVIDER.to_owned(),
    });
    round_trip(provider::EventProviderUpdated {
        owner: PROVIDER.to_owned(),
    });
    round_trip(provider::EventProviderDeleted {
        owner: PROVIDER.to_owned(),
    });

    let audited = audit::AuditedProvider {
        owner: PROVIDER.to_owned(),
        auditor: AUDITOR.to_owned(),
        attributes: vec![Attribute::new("tier", "community")],
    };
    round_trip(audited.clone());
    round_trip(audit::AuditedAttributesStore {
        attributes: audited.attributes.clone(),
    });
    round_trip(audit::AttributesFilters {
        auditors: vec![AUDITOR.to_owned()],
        owners: vec![PROVIDER.to_owned()],
    });
    round_trip(audit::MsgSignProviderAttributes {
        owner: PROVIDER.to_owned(),
        auditor: AUDITOR.to_owned(),
        attributes: audited.attributes.clone(),
    });
    round_trip(audit::MsgSignProviderAttributesResponse {});
    round_trip(audit::MsgDeleteProviderAttributes {
        owner: PROVIDER.to_owned(),
        auditor: AUDITOR.to_owned(),
        keys: vec!["tier".to_owned()],
    });
    round_trip(audit::MsgDeleteProviderAttributesResponse {});
    round_trip(audit::QueryProvidersResponse {
        providers: vec![audited],
        pagination: page_response(),
    });
    round_trip(audit::QueryProviderRequest {
        auditor: AUDITOR.to_owned(),
        owner: PROVIDER.to_owned(),
    });
    round_trip(audit::QueryAllProvidersAttributesRequest { pagination: page() });
    round_trip(audit::QueryProviderAttributesRequest {
        owner: PROVIDER.to_owned(),
        pagination: page(),
    });
    round_trip(audit::QueryProviderAuditorRequest {
        auditor: AUDITOR.to_owned(),
        owner: PROVIDER.to_owned(),
    });
    round_trip(audit::QueryAuditorAttributesRequest {
        auditor: AUDITOR.to_owned(),
        pagination: page(),
    });
    round_trip(audit::EventTrustedAuditorCreated {
        owner: PROVIDER.to_owned(),
        auditor: AUDITOR.to_owned(),
    });
    round_trip(audit::EventTrustedAuditorDeleted {
        owner: PROVIDER.to_owned(),
        auditor: AUDITOR.to_owned(),
    });

    let cert_id = cert::CertificateID {
        owner: OWNER.to_owned(),
        serial: "1712345678901234567".to_owned(),
    };
    round_trip(cert_id.clone());
    round_trip(certificate());
    round_trip(cert::CertificateFilter {
        owner: OWNER.to_owned(),
        serial: cert_id.serial.clone(),
        state: cert::CertificateState::Valid.as_str_name().to_owned(),
    });
    round_trip(cert::MsgCreateCertificate {
        owner: OWNER.to_owned(),
        cert: certificate().cert,
        pubkey: certificate().pubkey,
    });
    round_trip(cert::MsgCreateCertificateResponse {});
    round_trip(cert::MsgRevokeCertificate {
        id: cert_id.clone(),
    });
    round_trip(cert::MsgRevokeCertificateResponse {});
    round_trip(cert::CertificateResponse {
        certificate: certificate(),
        serial: cert_id.serial.clone(),
    });
    round_trip(cert::QueryCertificatesRequest {
        filter: cert::CertificateFilter {
            owner: OWNER.to_owned(),
            ..Default::default()
        },
        pagination: page(),
    });
    round_trip(cert::QueryCertificatesResponse {
        certificates: vec![cert::CertificateResponse {
            certificate: certificate(),
            serial: cert_id.serial,
        }],
        pagination: page_response(),
    });
}

#[test]
fn bme_round_trips() {
    round_trip(bme::MsgMintACT {
        owner: OWNER.to_owned(),
        to: OWNER.to_owned(),
        coins_to_burn: coin("uakt", 1_000_000),
    });
    round_trip(bme::MsgMintACTResponse {
        id: ledger_id(),
        status: bme::LedgerRecordStatus::Pending as i32,
    });
    round_trip(bme::MsgBurnACT {
        owner: OWNER.to_owned(),
        to: OWNER.to_owned(),
        coins_to_burn: uact(5),
    });
    round_trip(bme::MsgBurnACTResponse {
        id: ledger_id(),
        status: bme::LedgerRecordStatus::Executed as i32,
    });
    round_trip(ledger_id());
    round_trip(coin_price(1, "0.85"));
    let pending = bme::LedgerPendingRecord {
        owner: OWNER.to_owned(),
        to: OWNER.to_owned(),
        coins_to_burn: coin("uakt", 1_000_000),
        denom_to_mint: "uact".to_owned(),
        attempts: 1,
    };
    round_trip(pending.clone());
    let canceled = bme::LedgerCanceledRecord {
        owner: OWNER.to_owned(),
        cancel_reason: bme::CancelReason::ZeroPrice as i32,
        to: OWNER.to_owned(),
        coins_to_burn: coin("uakt", 1),
        denom_to_mint: "uact".to_owned(),
    };
    round_trip(canceled.clone());
    let executed = bme::LedgerRecord {
        burned_from: OWNER.to_owned(),
        minted_to: OWNER.to_owned(),
        burner: "b".to_owned(),
        minter: "m".to_owned(),
        burned: Some(coin_price(1_000_000, "0.85")),
        minted: None,
        spread: uact(1),
        remint_credit_issued: None,
        remint_credit_accrued: None,
    };
    round_trip(executed.clone());
    round_trip(bme::LedgerRecordFilters {
        source: OWNER.to_owned(),
        denom: "uakt".to_owned(),
        to_denom: "uact".to_owned(),
        status: bme::LedgerRecordStatus::Pending.as_str_name().to_owned(),
    });
    round_trip(bme::QueryLedgerRecordsRequest {
        filters: bme::LedgerRecordFilters {
            source: OWNER.to_owned(),
            ..Default::default()
        },
        pagination: page(),
    });
    let entries = vec![
        bme::QueryLedgerRecordEntry {
            id: ledger_id(),
            status: bme::LedgerRecordStatus::Pending as i32,
            record: Some(bme::LedgerEntryRecord::PendingRecord(pending)),
        },
        bme::QueryLedgerRecordEntry {
            id: ledger_id(),
            status: bme::LedgerRecordStatus::Executed as i32,
            record: Some(bme::LedgerEntryRecord::ExecutedRecord(executed)),
        },
        bme::QueryLedgerRecordEntry {
            id: ledger_id(),
            status: bme::LedgerRecordStatus::Canceled as i32,
            record: Some(bme::LedgerEntryRecord::CanceledRecord(canceled)),
        },
        bme::QueryLedgerRecordEntry {
            id: ledger_id(),
            status: 0,
            record: None,
        },
    ];
    for e in &entries {
        round_trip(e.clone());
    }
    round_trip(bme::QueryLedgerRecordsResponse {
        records: entries,
        pagination: page_response(),
    });
    round_trip(bme::QueryStatusRequest {});
    round_trip(bme::QueryStatusResponse {
        status: bme::MintStatus::Healthy as i32,
        collateral_ratio: legacy_dec::from_decimal("1.2").unwrap(),
        warn_threshold: legacy_dec::from_decimal("0.95").unwrap(),
        halt_threshold: legacy_dec::from_decimal("0.9").unwrap(),
        mints_allowed: true,
        refunds_allowed: true,
    });
    let params = bme::Params {
        circuit_breaker_warn_threshold: 9500,
        circuit_breaker_halt_threshold: 9000,
        min_epoch_blocks: 10,
        epoch_blocks_backoff_percent: 1000,
        mint_spread_bps: 25,
        settle_spread_bps: 0,
        max_endblocker_records: 100,
        min_mint: vec![uact(1_000_000)],
        max_pending_attempts: 5,
    };
    round_trip(params.clone());
    round_trip(bme::QueryParamsRequest {});
    round_trip(bme::QueryParamsResponse { params });
    round_trip(executed_event());
    round_trip(canceled_event());
    round_trip(bme::EventMintStatusChange {
        previous_status: bme::MintStatus::Healthy as i32,
        new_status: bme::MintStatus::Warning as i32,
        collateral_ratio: legacy_dec::from_decimal("0.94").unwrap(),
    });
}

#[test]
fn bme_params_skip_field_5() {
    // mint_spread_bps is field 6 (field 5 is unused): tag 0x30.
    let p = bme::Params {
        mint_spread_bps: 25,
        ..Default::default()
    };
    assert_eq!(p.encode_to_vec(), [0x30, 25]);
}

#[test]
fn audited_provider_attributes_are_field_4() {
    let p = audit::AuditedProvider {
        owner: String::new(),
        auditor: String::new(),
        attributes: vec![Attribute::new("k", "v")],
    };
    // field 4, wire 2 = 0x22; Attribute { key "k", value "v" } = 0a 01 6b 12 01 76
    assert_eq!(
        p.encode_to_vec(),
        [0x22, 0x06, 0x0a, 0x01, b'k', 0x12, 0x01, b'v']
    );
}

#[test]
fn unknown_fields_are_skipped() {
    // A Lease from a future chain with an extra field 15 (varint 1) still decodes.
    let mut bytes = lease().encode_to_vec();
    bytes.extend([0x78, 0x01]);
    assert_eq!(mv1::Lease::decode(bytes.as_slice()).unwrap(), lease());
}

// ---------------------------------------------------------------------------------------
// Type URLs, method paths, Any, signers
// ---------------------------------------------------------------------------------------

#[test]
fn msg_type_urls() {
    let expected = [
        "/akash.deployment.v1beta4.MsgCreateDeployment",
        "/akash.deployment.v1beta4.MsgUpdateDeployment",
        "/akash.deployment.v1beta4.MsgCloseDeployment",
        "/akash.deployment.v1beta4.MsgCloseGroup",
        "/akash.deployment.v1beta4.MsgPauseGroup",
        "/akash.deployment.v1beta4.MsgStartGroup",
        "/akash.market.v1beta5.MsgCreateBid",
        "/akash.market.v1beta5.MsgCloseBid",
        "/akash.market.v1beta5.MsgWithdrawLease",
        "/akash.market.v1beta5.MsgCreateLease",
        "/akash.market.v1beta5.MsgCloseLease",
        "/akash.market.v1beta5.MsgLeaseStartReclaim",
        "/akash.escrow.v1.MsgAccountDeposit",
        "/akash.provider.v1beta4.MsgCreateProvider",
        "/akash.provider.v1beta4.MsgUpdateProvider",
        "/akash.provider.v1beta4.MsgDeleteProvider",
        "/akash.audit.v1.MsgSignProviderAttributes",
        "/akash.audit.v1.MsgDeleteProviderAttributes",
        "/akash.cert.v1.MsgCreateCertificate",
        "/akash.cert.v1.MsgRevokeCertificate",
        "/akash.bme.v1.MsgMintACT",
        "/akash.bme.v1.MsgBurnACT",
    ];
    assert_eq!(TxMessage::type_urls(), expected);
    // The same, through each type's own prost::Name.
    assert_eq!(
        dv1beta4::MsgCreateDeployment::type_url(),
        "/akash.deployment.v1beta4.MsgCreateDeployment"
    );
    assert_eq!(
        escrow::MsgAccountDeposit::type_url(),
        "/akash.escrow.v1.MsgAccountDeposit"
    );
    assert_eq!(
        mv1beta5::MsgCreateLease::type_url(),
        "/akash.market.v1beta5.MsgCreateLease"
    );
    assert_eq!(bme::MsgMintACT::type_url(), "/akash.bme.v1.MsgMintACT");
    assert_eq!(
        cert::MsgRevokeCertificate::type_url(),
        "/akash.cert.v1.MsgRevokeCertificate"
    );
    // Responses, as they appear in TxMsgData.msg_responses.
    assert_eq!(
        bme::MsgMintACTResponse::type_url(),
        "/akash.bme.v1.MsgMintACTResponse"
    );
    assert_eq!(
        dv1beta4::MsgCreateDeploymentResponse::type_url(),
        "/akash.deployment.v1beta4.MsgCreateDeploymentResponse"
    );
}

#[test]
fn other_type_names() {
    let names = [
        (
            dv1::DeploymentID::full_name(),
            "akash.deployment.v1.DeploymentID",
        ),
        (dv1::GroupID::full_name(), "akash.deployment.v1.GroupID"),
        (
            dv1::Deployment::full_name(),
            "akash.deployment.v1.Deployment",
        ),
        (
            dv1beta4::Group::full_name(),
            "akash.deployment.v1beta4.Group",
        ),
        (mv1::LeaseID::full_name(), "akash.market.v1.LeaseID"),
        (mv1::Lease::full_name(), "akash.market.v1.Lease"),
        (mv1beta5::Bid::full_name(), "akash.market.v1beta5.Bid"),
        (mv1beta5::Order::full_name(), "akash.market.v1beta5.Order"),
        (eid::Account::full_name(), "akash.escrow.id.v1.Account"),
        (
            etypes::Account::full_name(),
            "akash.escrow.types.v1.Account",
        ),
        (Deposit::full_name(), "akash.base.deposit.v1.Deposit"),
        (cert::CertificateID::full_name(), "akash.cert.v1.ID"),
        (
            mv1::EventLeaseCreated::full_name(),
            "akash.market.v1.EventLeaseCreated",
        ),
    ];
    for (got, want) in names {
        assert_eq!(got, want);
    }
}

#[test]
fn query_paths() {
    fn path<Q: Query>() -> &'static str {
        Q::PATH
    }
    let expected = [
        (
            path::<dv1beta4::QueryDeploymentsRequest>(),
            "/akash.deployment.v1beta4.Query/Deployments",
        ),
        (
            path::<dv1beta4::QueryDeploymentRequest>(),
            "/akash.deployment.v1beta4.Query/Deployment",
        ),
        (
            path::<dv1beta4::QueryGroupRequest>(),
            "/akash.deployment.v1beta4.Query/Group",
        ),
        (
            path::<dv1beta4::QueryParamsRequest>(),
            "/akash.deployment.v1beta4.Query/Params",
        ),
        (
            path::<mv1beta5::QueryOrdersRequest>(),
            "/akash.market.v1beta5.Query/Orders",
        ),
        (
            path::<mv1beta5::QueryBidsRequest>(),
            "/akash.market.v1beta5.Query/Bids",
        ),
        (
            path::<mv1beta5::QueryLeasesRequest>(),
            "/akash.market.v1beta5.Query/Leases",
        ),
        (
            path::<mv1beta5::QueryLeaseRequest>(),
            "/akash.market.v1beta5.Query/Lease",
        ),
        (
            path::<escrow::QueryAccountsRequest>(),
            "/akash.escrow.v1.Query/Accounts",
        ),
        (
            path::<provider::QueryProviderRequest>(),
            "/akash.provider.v1beta4.Query/Provider",
        ),
        (
            path::<cert::QueryCertificatesRequest>(),
            "/akash.cert.v1.Query/Certificates",
        ),
        (
            path::<audit::QueryProviderAttributesRequest>(),
            "/akash.audit.v1.Query/ProviderAttributes",
        ),
        (
            path::<bme::QueryLedgerRecordsRequest>(),
            "/akash.bme.v1.Query/LedgerRecords",
        ),
    ];
    for (got, want) in expected {
        assert_eq!(got, want);
    }
    assert_eq!(
        super::methods::deployment_v1beta4::QUERY_DEPLOYMENT,
        "/akash.deployment.v1beta4.Query/Deployment"
    );
    assert_eq!(
        <dv1beta4::MsgCreateDeployment as TxMsg>::METHOD,
        "/akash.deployment.v1beta4.Msg/CreateDeployment"
    );
    assert_eq!(
        super::methods::escrow_v1::MSG_ACCOUNT_DEPOSIT,
        "/akash.escrow.v1.Msg/AccountDeposit"
    );
    assert_eq!(
        <bme::MsgMintACT as TxMsg>::METHOD,
        "/akash.bme.v1.Msg/MintACT"
    );
}

#[test]
fn any_packing_and_dispatch() {
    let msg = mv1beta5::MsgCreateLease { bid_id: bid_id() };
    let any = to_any(&msg);
    assert_eq!(any.type_url, "/akash.market.v1beta5.MsgCreateLease");
    assert_eq!(from_any::<mv1beta5::MsgCreateLease>(&any).unwrap(), msg);
    assert!(matches!(
        from_any::<mv1beta5::MsgCloseLease>(&any),
        Err(AnyError::WrongType { .. })
    ));
    let bad = super::Any {
        type_url: any.type_url.clone(),
        value: vec![0x0a, 0x10, 0x01],
    };
    assert!(matches!(
        from_any::<mv1beta5::MsgCreateLease>(&bad),
        Err(AnyError::Decode { .. })
    ));

    let tx = TxMessage::from_any(&any).unwrap().unwrap();
    assert_eq!(tx, TxMessage::CreateLease(msg.clone()));
    assert_eq!(tx.signer(), OWNER);
    assert_eq!(tx.to_any(), any);
    let other = super::Any {
        type_url: "/cosmos.bank.v1beta1.MsgSend".to_owned(),
        value: vec![],
    };
    assert_eq!(TxMessage::from_any(&other).unwrap(), None);
}

#[test]
fn signers_follow_go() {
    let cases: Vec<(TxMessage, &str)> = vec![
        (dv1beta4::MsgCloseDeployment { id: did() }.into(), OWNER),
        (
            mv1beta5::MsgCreateBid {
                id: bid_id(),
                ..Default::default()
            }
            .into(),
            PROVIDER,
        ),
        (
            mv1beta5::MsgCloseBid {
                id: bid_id(),
                reason: 0,
            }
            .into(),
            PROVIDER,
        ),
        (mv1beta5::MsgWithdrawLease { id: lid() }.into(), PROVIDER),
        (
            mv1beta5::MsgCloseLease {
                id: lid(),
                reason: 1,
            }
            .into(),
            OWNER,
        ),
        (
            mv1beta5::MsgLeaseStartReclaim {
                id: lid(),
                reason: 0,
            }
            .into(),
            PROVIDER,
        ),
        (
            escrow::MsgAccountDeposit {
                signer: AUDITOR.to_owned(),
                id: did().escrow_account(),
                deposit: deposit(),
            }
            .into(),
            AUDITOR,
        ),
        (
            audit::MsgSignProviderAttributes {
                owner: PROVIDER.to_owned(),
                auditor: AUDITOR.to_owned(),
                attributes: vec![],
            }
            .into(),
            AUDITOR,
        ),
        (
            cert::MsgRevokeCertificate {
                id: cert::CertificateID {
                    owner: OWNER.to_owned(),
                    serial: "1".to_owned(),
                },
            }
            .into(),
            OWNER,
        ),
    ];
    for (msg, signer) in cases {
        assert_eq!(msg.signer(), signer, "{}", msg.type_url());
    }
}

// ---------------------------------------------------------------------------------------
// IDs and escrow keys
// ---------------------------------------------------------------------------------------

#[test]
fn id_strings_match_go() {
    assert_eq!(did().to_string(), format!("{OWNER}/1234"));
    assert_eq!(gid().to_string(), format!("{OWNER}/1234/1"));
    assert_eq!(oid().to_string(), format!("{OWNER}/1234/1/1"));
    // Go's BidID.String() leaves bseq out.
    assert_eq!(bid_id().to_string(), format!("{OWNER}/1234/1/1/{PROVIDER}"));
    assert_eq!(lid().to_string(), format!("{OWNER}/1234/1/1/{PROVIDER}"));
    assert_eq!(
        bid_id().to_path_with_bseq(),
        format!("{OWNER}/1234/1/1/{PROVIDER}/2")
    );
}

#[test]
fn ids_parse_back() {
    assert_eq!(
        did().to_string().parse::<dv1::DeploymentID>().unwrap(),
        did()
    );
    assert_eq!(gid().to_string().parse::<dv1::GroupID>().unwrap(), gid());
    assert_eq!(oid().to_string().parse::<mv1::OrderID>().unwrap(), oid());
    assert_eq!(lid().to_string().parse::<mv1::LeaseID>().unwrap(), lid());
    // Without the bseq part, bseq is 0; with it, it is kept.
    let parsed: mv1::BidID = bid_id().to_string().parse().unwrap();
    assert_eq!(parsed.bseq, 0);
    assert_eq!(
        bid_id().to_path_with_bseq().parse::<mv1::BidID>().unwrap(),
        bid_id()
    );
    // Navigation between the IDs.
    assert_eq!(lid().bid_id().order_id().group_id().deployment_id(), did());
    assert_eq!(bid_id().lease_id().bid_id(), bid_id());
    assert_eq!(bid_id().group_id(), gid());
}

#[test]
fn bad_ids_are_refused() {
    let bad: [(&str, &str); 8] = [
        ("deployment", "akash1xyz/12"),
        ("deployment", &format!("{OWNER}/")),
        ("deployment", &format!("{OWNER}/+12")),
        ("deployment", &format!("{OWNER}/12/3")),
        ("deployment", &format!("{OWNER}/18446744073709551616")),
        ("group", &format!("{OWNER}/12/4294967296")),
        (
            "bid",
            &format!("{OWNER}/12/1/1/cosmos1zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3pahzj0"),
        ),
        ("bid", &format!("{OWNER}/12/1/1/{PROVIDER}/0/extra")),
    ];
    for (kind, text) in bad {
        let failed = match kind {
            "deployment" => text.parse::<dv1::DeploymentID>().is_err(),
            "group" => text.parse::<dv1::GroupID>().is_err(),
            _ => text.parse::<mv1::BidID>().is_err(),
        };
        assert!(failed, "{kind} {text:?} parsed");
    }
    assert_eq!(
        "x".parse::<dv1::DeploymentID>().unwrap_err(),
        ParseIdError::Shape {
            kind: "deployment ID",
            input: "x".to_owned(),
            expected: "owner/dseq",
        }
    );
    let err = format!("{OWNER}/x")
        .parse::<dv1::DeploymentID>()
        .unwrap_err();
    assert!(err.to_string().contains("dseq \"x\""), "{err}");
}

#[test]
fn escrow_ids() {
    let account = did().escrow_account();
    assert_eq!(account.scope, eid::Scope::Deployment as i32);
    assert_eq!(account.xid, format!("{OWNER}/1234"));
    assert_eq!(account.key(), format!("deployment/{OWNER}/1234"));
    assert_eq!(eid::Account::parse_key(&account.key()).unwrap(), account);
    assert_eq!(
        dv1::DeploymentID::from_escrow_account(&account).unwrap(),
        did()
    );

    let bid_account = bid_id().escrow_account();
    assert_eq!(
        bid_account.key(),
        format!("bid/{OWNER}/1234/1/1/{PROVIDER}")
    );
    assert_eq!(
        eid::Account::parse_key(&bid_account.key()).unwrap(),
        bid_account
    );
    assert!(matches!(
        dv1::DeploymentID::from_escrow_account(&bid_account),
        Err(ParseIdError::Scope { .. })
    ));
    assert!(eid::Account::parse_key(&format!("lease/{OWNER}/1234")).is_err());
    assert!(eid::Account::parse_key(&format!("bid/{OWNER}/1234")).is_err());

    let payment = lid().escrow_payment();
    assert_eq!(payment.aid, account);
    assert_eq!(payment.xid, format!("1/1/{PROVIDER}"));
    assert_eq!(
        payment.key(),
        format!("deployment/{OWNER}/1234/1/1/{PROVIDER}")
    );
    assert_eq!(mv1::LeaseID::from_escrow_payment(&payment).unwrap(), lid());
    assert_eq!(eid::Payment::parse_key(&payment.key()).unwrap(), payment);
    let bid_payment = eid::Payment {
        aid: bid_account.clone(),
        xid: format!("1/1/{PROVIDER}"),
    };
    assert_eq!(
        eid::Payment::parse_key(&bid_payment.key()).unwrap(),
        bid_payment
    );
    for bad in [
        format!("deployment/{OWNER}/1234/1/1"),
        format!("deployment/{OWNER}/1234/x/1/{PROVIDER}"),
        format!("deployment/{OWNER}/1234/1/1/akash1nope"),
        format!("invalid/{OWNER}/1234/1/1/{PROVIDER}"),
    ] {
        assert!(eid::Payment::parse_key(&bad).is_err(), "{bad}");
    }
    let mut wrong = payment.clone();
    wrong.xid = "1/1".to_owned();
    assert!(mv1::LeaseID::from_escrow_payment(&wrong).is_err());
}

// ---------------------------------------------------------------------------------------
// LegacyDec, bech32, base64
// ---------------------------------------------------------------------------------------

#[test]
fn legacy_dec_text() {
    let cases = [
        ("10", "10000000000000000000"),
        ("10.000000000000000000", "10000000000000000000"),
        ("1.5", "1500000000000000000"),
        ("0.000000000000000001", "1"),
        ("0", "0"),
        ("000.0", "0"),
        ("-2.25", "-2250000000000000000"),
    ];
    for (decimal, scaled) in cases {
        assert_eq!(
            legacy_dec::from_decimal(decimal).as_deref(),
            Some(scaled),
            "{decimal}"
        );
    }
    for bad in [
        "",
        "1.",
        ".5",
        "abc",
        "1e5",
        "1.0000000000000000001",
        "--1",
        "+1",
    ] {
        assert_eq!(legacy_dec::from_decimal(bad), None, "{bad:?}");
    }
    assert_eq!(
        legacy_dec::to_decimal("10000000000000000000"),
        "10.000000000000000000"
    );
    assert_eq!(legacy_dec::to_decimal("1"), "0.000000000000000001");
    assert_eq!(
        legacy_dec::to_decimal("-2250000000000000000"),
        "-2.250000000000000000"
    );
    assert_eq!(dec("10").amount_decimal(), "10.000000000000000000");
}

#[test]
fn bech32_addresses() {
    assert!(is_account_address(OWNER));
    assert!(is_account_address(PROVIDER));
    assert!(is_account_address(AUDITOR));
    // One character changed breaks the checksum.
    assert!(!is_account_address(&OWNER.replace("365y", "365z")));
    assert!(!is_account_address(&OWNER.to_uppercase()));
    assert!(!is_account_address(
        "cosmos1zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3pahzj0"
    ));
    assert!(!is_account_address("akash1"));
    assert!(!is_account_address(""));
    // Valid bech32 but no data bytes: Cosmos refuses an empty address.
    assert!(!is_account_address("akash124zpj3"));
}

#[test]
fn base64_vectors() {
    // RFC 4648 §10.
    let cases = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];
    for (plain, encoded) in cases {
        assert_eq!(base64_encode(plain.as_bytes()), encoded);
        assert_eq!(base64_decode(encoded).unwrap(), plain.as_bytes());
        assert_eq!(
            base64_decode(encoded.trim_end_matches('=')).unwrap(),
            plain.as_bytes()
        );
    }
    assert_eq!(
        base64_encode(&hash()),
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    );
    for bad in ["Z", "Zm9v=", "Zg===", "Z-8=", "Zm 8", "===="] {
        assert_eq!(base64_decode(bad), None, "{bad:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Typed events
// ---------------------------------------------------------------------------------------

fn attr(key: &str, value: &str) -> EventAttribute {
    EventAttribute {
        key: key.to_owned(),
        value: value.to_owned(),
        index: true,
    }
}

/// `EventDeploymentCreated` as CometBFT 0.38's `/tx` shows it (PROTOCOL.md §2.6): type = the
/// full proto name, attributes sorted by key with proto-JSON values, then `msg_index`.
const DEPLOYMENT_CREATED_RPC_JSON: &str = r#"{
  "type": "akash.deployment.v1.EventDeploymentCreated",
  "attributes": [
    {"key": "hash", "value": "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"", "index": true},
    {"key": "id", "value": "{\"owner\":\"akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63\",\"dseq\":\"1234\"}", "index": true},
    {"key": "msg_index", "value": "0", "index": true}
  ]
}"#;

#[test]
fn literal_chain_event_decodes() {
    let event: Event = serde_json::from_str(DEPLOYMENT_CREATED_RPC_JSON).unwrap();
    let decoded: dv1::EventDeploymentCreated = events::decode(&event).unwrap();
    assert_eq!(decoded.id, did());
    assert_eq!(decoded.hash, hash());
    assert_eq!(event.msg_index(), Some(0));
    assert_eq!(
        AkashEvent::decode(&event).unwrap(),
        Some(AkashEvent::DeploymentCreated(decoded.clone()))
    );
    // And the encoder writes exactly what the chain wrote.
    assert_eq!(events::encode(&decoded, Some(0)), event);
}

#[test]
fn literal_market_events() {
    let lease_id = format!(
        r#"{{"owner":"{OWNER}","dseq":"1234","gseq":1,"oseq":1,"provider":"{PROVIDER}","bseq":0}}"#
    );
    let created = Event {
        kind: "akash.market.v1.EventLeaseCreated".to_owned(),
        attributes: vec![
            attr("id", &lease_id),
            attr(
                "price",
                r#"{"denom":"uact","amount":"10.000000000000000000"}"#,
            ),
            attr("msg_index", "0"),
        ],
    };
    let expected = mv1::EventLeaseCreated {
        id: lid(),
        price: dec("10"),
    };
    assert_eq!(
        AkashEvent::decode(&created).unwrap(),
        Some(expected.clone().into())
    );
    assert_eq!(events::encode(&expected, Some(0)), created);

    let closed = Event {
        kind: "akash.market.v1.EventLeaseClosed".to_owned(),
        attributes: vec![
            attr("id", &lease_id),
            attr("reason", r#""lease_closed_owner""#),
            attr("msg_index", "1"),
        ],
    };
    let expected = mv1::EventLeaseClosed {
        id: lid(),
        reason: mv1::LeaseClosedReason::Owner as i32,
    };
    assert_eq!(
        AkashEvent::decode(&closed).unwrap(),
        Some(expected.clone().into())
    );
    assert_eq!(events::encode(&expected, Some(1)), closed);
}

#[test]
fn event_json_is_lenient_like_jsonpb() {
    // Numbers where strings are usual, enum by number, missing fields, unknown fields.
    let event = Event {
        kind: "akash.market.v1.EventLeaseClosed".to_owned(),
        attributes: vec![
            attr("id", r#"{"owner":"o","dseq":1234,"gseq":"2","extra":true}"#),
            attr("reason", "10003"),
            attr("future_field", r#"{"a":1}"#),
        ],
    };
    let decoded: mv1::EventLeaseClosed = events::decode(&event).unwrap();
    assert_eq!(decoded.id.dseq, 1234);
    assert_eq!(decoded.id.gseq, 2);
    assert_eq!(decoded.id.oseq, 0);
    assert_eq!(
        decoded.reason,
        mv1::LeaseClosedReason::ManifestTimeout as i32
    );
}

#[test]
fn event_errors_name_the_field() {
    let event = Event {
        kind: "akash.deployment.v1.EventDeploymentClosed".to_owned(),
        attributes: vec![attr("id", r#"{"owner":"o","dseq":"12x"}"#)],
    };
    let err = events::decode::<dv1::EventDeploymentClosed>(&event).unwrap_err();
    assert!(err.to_string().contains("id.dseq"), "{err}");

    let not_json = Event {
        kind: event.kind.clone(),
        attributes: vec![attr("id", "akash1...")],
    };
    assert!(matches!(
        events::decode::<dv1::EventDeploymentClosed>(&not_json),
        Err(EventError::AttributeNotJson { .. })
    ));
    assert!(matches!(
        events::decode::<dv1::EventDeploymentCreated>(&event),
        Err(EventError::WrongType { .. })
    ));
    let big = Event {
        kind: "akash.deployment.v1.EventGroupClosed".to_owned(),
        attributes: vec![attr("id", r#"{"gseq":4294967296}"#)],
    };
    assert!(events::decode::<dv1::EventGroupClosed>(&big).is_err());
    let bad_reason = Event {
        kind: "akash.market.v1.EventLeaseClosed".to_owned(),
        attributes: vec![attr("reason", r#""lease_closed_by_magic""#)],
    };
    assert!(events::decode::<mv1::EventLeaseClosed>(&bad_reason).is_err());
    let bad_price = Event {
        kind: "akash.market.v1.EventBidCreated".to_owned(),
        attributes: vec![attr("price", r#"{"denom":"uact","amount":"1.5.5"}"#)],
    };
    assert!(events::decode::<mv1::EventBidCreated>(&bad_price).is_err());
}

#[test]
fn other_events_are_not_akash_events() {
    let message = Event {
        kind: "message".to_owned(),
        attributes: vec![attr(
            "action",
            "/akash.deployment.v1beta4.MsgCreateDeployment",
        )],
    };
    assert_eq!(AkashEvent::decode(&message).unwrap(), None);
}

#[test]
fn go_json_escaping_in_events() {
    let e = provider::EventProviderCreated {
        owner: "<&>".to_owned(),
    };
    let event = events::encode(&e, None);
    assert_eq!(
        event.attributes,
        vec![attr("owner", r#""\u003c\u0026\u003e""#)]
    );
    assert_eq!(
        events::decode::<provider::EventProviderCreated>(&event).unwrap(),
        e
    );
}

#[test]
fn bme_event_json() {
    let event = events::encode(&executed_event(), Some(0));
    let keys: Vec<&str> = event.attributes.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "burned",
            "burned_from",
            "burner",
            "id",
            "minted",
            "minted_to",
            "minter",
            "remint_credit_accrued",
            "remint_credit_issued",
            "spread",
            "msg_index",
        ]
    );
    assert_eq!(
        event.attribute("burned"),
        Some(r#"{"coin":{"denom":"uakt","amount":"1000000"},"price":"0.850000000000000000"}"#)
    );
    assert_eq!(event.attribute("remint_credit_issued"), Some("null"));
    assert_eq!(
        event.attribute("id"),
        Some(&*format!(
            r#"{{"denom":"uakt","to_denom":"uact","source":"{OWNER}","height":"5000","sequence":"3"}}"#
        ))
    );
    let canceled = events::encode(&canceled_event(), None);
    assert_eq!(
        canceled.attribute("cancel_reason"),
        Some(r#""minimum_mint""#)
    );
}

fn all_events() -> Vec<AkashEvent> {
    vec![
        dv1::EventDeploymentCreated {
            id: did(),
            hash: hash(),
        }
        .into(),
        dv1::EventDeploymentUpdated {
            id: did(),
            hash: hash(),
        }
        .into(),
        dv1::EventDeploymentClosed { id: did() }.into(),
        dv1::EventGroupStarted { id: gid() }.into(),
        dv1::EventGroupPaused { id: gid() }.into(),
        dv1::EventGroupClosed { id: gid() }.into(),
        mv1::EventOrderCreated { id: oid() }.into(),
        mv1::EventOrderClosed { id: oid() }.into(),
        mv1::EventBidCreated {
            id: bid_id(),
            price: dec("0.001"),
        }
        .into(),
        mv1::EventBidClosed { id: bid_id() }.into(),
        mv1::EventLeaseCreated {
            id: lid(),
            price: dec("123.456"),
        }
        .into(),
        mv1::EventLeaseClosed {
            id: lid(),
            reason: mv1::LeaseClosedReason::InsufficientFunds as i32,
        }
        .into(),
        mv1::EventLeaseClosed {
            id: lid(),
            reason: 777, // unknown value: written as a number, read back
        }
        .into(),
        mv1::EventLeaseReclaimStarted {
            id: lid(),
            reason: mv1::LeaseClosedReason::Decommission as i32,
            deadline: -5,
        }
        .into(),
        provider::EventProviderCreated {
            owner: PROVIDER.to_owned(),
        }
        .into(),
        provider::EventProviderUpdated {
            owner: PROVIDER.to_owned(),
        }
        .into(),
        provider::EventProviderDeleted {
            owner: PROVIDER.to_owned(),
        }
        .into(),
        audit::EventTrustedAuditorCreated {
            owner: PROVIDER.to_owned(),
            auditor: AUDITOR.to_owned(),
        }
        .into(),
        audit::EventTrustedAuditorDeleted {
            owner: PROVIDER.to_owned(),
            auditor: AUDITOR.to_owned(),
        }
        .into(),
        executed_event().into(),
        canceled_event().into(),
        bme::EventMintStatusChange {
            previous_status: bme::MintStatus::Warning as i32,
            new_status: bme::MintStatus::HaltCr as i32,
            collateral_ratio: legacy_dec::from_decimal("0.89").unwrap(),
        }
        .into(),
    ]
}

#[test]
fn every_event_round_trips() {
    for event in all_events() {
        let encoded = event.encode(Some(3));
        assert_eq!(encoded.kind, event.type_name());
        assert!(encoded.kind.starts_with("akash."));
        assert_eq!(encoded.msg_index(), Some(3));
        let keys: Vec<&str> = encoded.attributes.iter().map(|a| a.key.as_str()).collect();
        let mut sorted = keys[..keys.len() - 1].to_vec();
        sorted.sort_unstable();
        assert_eq!(
            &keys[..keys.len() - 1],
            sorted.as_slice(),
            "{}",
            encoded.kind
        );
        assert_eq!(
            AkashEvent::decode(&encoded).unwrap(),
            Some(event.clone()),
            "{}",
            encoded.kind
        );
        // Through the RPC JSON form too.
        let json = serde_json::to_string(&encoded).unwrap();
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(AkashEvent::decode(&back).unwrap(), Some(event));
    }
}

// ---------------------------------------------------------------------------------------
// Noise: decoders never panic
// ---------------------------------------------------------------------------------------

/// xorshift64*: a small deterministic generator for noise.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = (self.next() as usize) % (max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Bytes biased towards valid protobuf shapes: small tags and lengths.
    fn protobuf_ish(&mut self, max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        while out.len() < max {
            let field = (self.next() % 12 + 1) as u8;
            match self.next() % 3 {
                0 => out.extend([field << 3, (self.next() % 200) as u8]),
                1 => {
                    let len = (self.next() % 12) as u8;
                    out.extend([(field << 3) | 2, len]);
                    let body = self.bytes(len as usize);
                    out.extend(body);
                }
                _ => out.push(self.next() as u8),
            }
        }
        out
    }
}

fn decode_everything(bytes: &[u8]) {
    macro_rules! decode_all {
        ($($ty:ty),* $(,)?) => {$(
            let _ = <$ty>::decode(bytes);
        )*};
    }
    decode_all!(
        Deposit,
        dv1::Deployment,
        dv1beta4::MsgCreateDeployment,
        dv1beta4::MsgUpdateDeployment,
        dv1beta4::QueryDeploymentsResponse,
        dv1beta4::QueryDeploymentResponse,
        dv1beta4::QueryGroupResponse,
        dv1beta4::QueryParamsResponse,
        etypes::Account,
        etypes::Payment,
        escrow::MsgAccountDeposit,
        escrow::QueryAccountsResponse,
        escrow::QueryPaymentsResponse,
        mv1::Lease,
        mv1::EventLeaseClosed,
        mv1beta5::Bid,
        mv1beta5::Order,
        mv1beta5::MsgCreateBid,
        mv1beta5::MsgCreateLease,
        mv1beta5::MsgCloseLease,
        mv1beta5::QueryBidsResponse,
        mv1beta5::QueryLeasesResponse,
        mv1beta5::QueryOrdersResponse,
        mv1beta5::QueryParamsResponse,
        provider::QueryProvidersResponse,
        provider::QueryProviderResponse,
        audit::QueryProvidersResponse,
        cert::QueryCertificatesResponse,
        cert::MsgCreateCertificate,
        bme::MsgMintACT,
        bme::MsgMintACTResponse,
        bme::QueryLedgerRecordsResponse,
        bme::QueryStatusResponse,
        bme::QueryParamsResponse,
        bme::EventLedgerRecordExecuted,
    );
    let any = super::Any {
        type_url: dv1beta4::MsgCreateDeployment::type_url(),
        value: bytes.to_vec(),
    };
    let _ = TxMessage::from_any(&any);
}

#[test]
fn decoders_survive_noise() {
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        decode_everything(&noise.bytes(96));
        decode_everything(&noise.protobuf_ish(64));
    }
    // Every prefix, and every one-byte corruption, of real messages.
    let valid = [
        dv1beta4::MsgCreateDeployment {
            id: did(),
            groups: vec![group_spec()],
            hash: hash(),
            deposit: deposit(),
            reclamation: Some(dv1::DeploymentReclamation {
                min_window: secs(60),
            }),
        }
        .encode_to_vec(),
        mv1beta5::QueryLeaseResponse {
            lease: lease(),
            escrow_payment: escrow_payment(),
        }
        .encode_to_vec(),
    ];
    for bytes in &valid {
        for end in 0..bytes.len() {
            decode_everything(&bytes[..end]);
        }
        for i in 0..bytes.len() {
            let mut corrupt = bytes.clone();
            corrupt[i] ^= (noise.next() as u8) | 1;
            decode_everything(&corrupt);
        }
    }
}

#[test]
fn text_parsers_survive_noise() {
    let mut noise = Noise(42);
    let alphabet = b"akash1qpzry9x8gf2tvdw0s3jn54khce6mua7l/0123456789.-=+{}\":,[]\\ ";
    let literal: Event = serde_json::from_str(DEPLOYMENT_CREATED_RPC_JSON).unwrap();
    for _ in 0..5000 {
        let len = (noise.next() % 60) as usize;
        let text: String = (0..len)
            .map(|_| alphabet[(noise.next() as usize) % alphabet.len()] as char)
            .collect();
        let _ = text.parse::<dv1::DeploymentID>();
        let _ = text.parse::<mv1::LeaseID>();
        let _ = eid::Account::parse_key(&text);
        let _ = eid::Payment::parse_key(&text);
        let _ = is_account_address(&text);
        let _ = base64_decode(&text);
        let _ = legacy_dec::from_decimal(&text);
        let _ = legacy_dec::to_decimal(&text);
        // Mutated attribute values of a real event.
        let mut event = literal.clone();
        let i = (noise.next() as usize) % event.attributes.len();
        event.attributes[i].value = text.clone();
        let _ = AkashEvent::decode(&event);
        let mut value = literal.attributes[1].value.clone().into_bytes();
        if !value.is_empty() {
            let at = (noise.next() as usize) % value.len();
            value.truncate(at);
        }
        event.attributes[1].value = String::from_utf8_lossy(&value).into_owned();
        let _ = AkashEvent::decode(&event);
    }
    // Deep nesting is refused by serde_json's recursion limit, not a stack overflow.
    let deep = Event {
        kind: literal.kind.clone(),
        attributes: vec![attr(
            "id",
            &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        )],
    };
    assert!(AkashEvent::decode(&deep).is_err());
}
