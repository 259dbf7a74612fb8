//! Wire bytes of the tenant messages `src/akash/proto/tests.rs` does not pin yet
//! (MsgUpdateDeployment, MsgCloseDeployment, MsgCloseGroup / PauseGroup / StartGroup,
//! MsgRevokeCertificate), built through the client's [`super::msgs`] builders so the type
//! URL and the bytes the client sends are both checked. Bytes are written by hand from the
//! field numbers in PROTOCOL.md §2.2 and §2.5 (tag = field << 3 | wire type).

use prost::Message;

use super::msgs;
use crate::akash::proto::cert::v1 as cert;
use crate::akash::proto::deployment::{v1 as dv1, v1beta4 as dv1beta4};
use crate::akash::proto::{from_any, Any};

const OWNER: &str = "akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63";

fn cat(pieces: &[&[u8]]) -> Vec<u8> {
    pieces.concat()
}

/// `DeploymentID { owner = 1 (44 bytes), dseq = 2: 1234 }`: 2 + 44 + 3 = 49 = 0x31 bytes.
fn did_bytes() -> Vec<u8> {
    cat(&[
        &[0x0a, 0x2c], // field 1, length-delimited, 44
        OWNER.as_bytes(),
        &[0x10, 0xd2, 0x09], // field 2 varint: 1234 = 0x4d2 -> 0xd2 0x09
    ])
}

fn check<M: Message + Default + PartialEq + std::fmt::Debug + prost::Name>(
    any: &Any,
    type_url: &str,
    expected: &[u8],
) {
    assert_eq!(any.type_url, type_url);
    assert_eq!(any.value, expected, "{type_url}");
    let decoded: M = from_any(any).expect("decodes");
    assert_eq!(decoded.encode_to_vec(), expected);
}

#[test]
fn msg_close_deployment_bytes() {
    let any = msgs::close_deployment(OWNER, 1234);
    let expected = cat(&[&[0x0a, 0x31], &did_bytes()]);
    assert_eq!(expected.len(), 51);
    check::<dv1beta4::MsgCloseDeployment>(
        &any,
        "/akash.deployment.v1beta4.MsgCloseDeployment",
        &expected,
    );
}

#[test]
fn msg_update_deployment_bytes() {
    let hash: Vec<u8> = (0u8..32).collect();
    let any = msgs::update_deployment(OWNER, 1234, hash.clone());
    // id = 1, then hash = 3 (field 2 is reserved): 0x1a, 32 bytes.
    let expected = cat(&[&[0x0a, 0x31], &did_bytes(), &[0x1a, 0x20], &hash]);
    assert_eq!(expected.len(), 85);
    check::<dv1beta4::MsgUpdateDeployment>(
        &any,
        "/akash.deployment.v1beta4.MsgUpdateDeployment",
        &expected,
    );
}

/// `{ id = 1: GroupID { owner, dseq 1234, gseq = 3: 2 } }`: GroupID is 49 + 2 = 51 = 0x33.
fn group_msg_bytes() -> Vec<u8> {
    cat(&[&[0x0a, 0x33], &did_bytes(), &[0x18, 0x02]])
}

#[test]
fn msg_close_pause_start_group_bytes() {
    let expected = group_msg_bytes();
    assert_eq!(expected.len(), 53);
    check::<dv1beta4::MsgCloseGroup>(
        &msgs::close_group(OWNER, 1234, 2),
        "/akash.deployment.v1beta4.MsgCloseGroup",
        &expected,
    );
    check::<dv1beta4::MsgPauseGroup>(
        &msgs::pause_group(OWNER, 1234, 2),
        "/akash.deployment.v1beta4.MsgPauseGroup",
        &expected,
    );
    check::<dv1beta4::MsgStartGroup>(
        &msgs::start_group(OWNER, 1234, 2),
        "/akash.deployment.v1beta4.MsgStartGroup",
        &expected,
    );
}

#[test]
fn msg_revoke_certificate_bytes() {
    let serial = "1700000000000000000"; // 19 digits, a nanosecond timestamp as Go makes it
    let any = msgs::revoke_certificate(OWNER, serial.to_string());
    // id = 1: ID { owner = 1 (44), serial = 2 (19) } = 46 + 21 = 67 = 0x43 bytes.
    let expected = cat(&[
        &[0x0a, 0x43],
        &[0x0a, 0x2c],
        OWNER.as_bytes(),
        &[0x12, 0x13],
        serial.as_bytes(),
    ]);
    assert_eq!(expected.len(), 69);
    check::<cert::MsgRevokeCertificate>(&any, "/akash.cert.v1.MsgRevokeCertificate", &expected);
}

#[test]
fn builders_match_the_pinned_messages() {
    // The builders the client signs with produce the same bytes as the pinned messages in
    // src/akash/proto/tests.rs (MsgCreateLease, MsgCloseLease with reason owner = 1,
    // MsgAccountDeposit from balance, MsgMintACT to self).
    let id = dv1::DeploymentID::new(OWNER, 1234);
    let dep = msgs::deposit(
        OWNER,
        &id,
        crate::akash::proto::base::coin("uact", 5_000_000),
    );
    assert_eq!(dep.type_url, "/akash.escrow.v1.MsgAccountDeposit");
    let xid = format!("{OWNER}/1234");
    let expected = cat(&[
        &[0x0a, 0x2c],
        OWNER.as_bytes(),
        // id = 2: Account { scope = 1: deployment (1), xid = 2 (49) } = 2 + 2 + 49 = 53 = 0x35
        &[0x12, 0x35, 0x08, 0x01, 0x12, 0x31],
        xid.as_bytes(),
        // deposit = 3: 20 bytes (amount 5000000uact, sources [balance])
        &[0x1a, 0x14, 0x0a, 0x0f, 0x0a, 0x04],
        b"uact",
        &[0x12, 0x07],
        b"5000000",
        &[0x2a, 0x01, 0x01],
    ]);
    assert_eq!(dep.value, expected);

    let lease = dv1::DeploymentID::new(OWNER, 1234)
        .group(1)
        .order(1)
        .bid("akash18qa2a2ltfyvkyj0ggj3hkvuj6twzyumuaru9s4", 0)
        .lease_id();
    let close = msgs::close_lease(lease);
    assert_eq!(close.type_url, "/akash.market.v1beta5.MsgCloseLease");
    // ends with field 2 (reason) = 1 (lease_closed_owner)
    assert_eq!(&close.value[close.value.len() - 2..], &[0x10, 0x01]);

    let mint = msgs::mint_act(OWNER, crate::akash::proto::base::coin("uakt", 1000));
    assert_eq!(mint.type_url, "/akash.bme.v1.MsgMintACT");
    let expected = cat(&[
        &[0x0a, 0x2c],
        OWNER.as_bytes(),
        &[0x12, 0x2c],
        OWNER.as_bytes(),
        // coins_to_burn = 3: Coin { "uakt", "1000" } = 6 + 6 = 12
        &[0x1a, 0x0c, 0x0a, 0x04],
        b"uakt",
        &[0x12, 0x04],
        b"1000",
    ]);
    assert_eq!(mint.value, expected);
}
