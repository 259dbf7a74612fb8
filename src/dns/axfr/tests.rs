use std::str::FromStr;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::tsig::{make_tsig_record, TsigAlgorithm, TSIG};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType, TSigResponseContext, TSigner};

use super::*;

const T0: u64 = 1_800_000_000;

fn signer(secret: &[u8]) -> TSigner {
    TSigner::new(
        secret.to_vec(),
        TsigAlgorithm::HmacSha256,
        Name::from_str("akash-key").unwrap(),
        300,
    )
    .unwrap()
}

/// A signed AXFR query: its id and MAC.
fn request(s: &TSigner) -> (u16, Vec<u8>) {
    let mut q = Message::query();
    q.add_query(Query::query(
        Name::from_str("example.test.").unwrap(),
        RecordType::AXFR,
    ));
    q.finalize(s, T0).unwrap();
    (q.metadata.id, q.signature().unwrap().data.mac.clone())
}

fn response(id: u16, first: u8) -> Message {
    let mut m = Message::new(id, MessageType::Response, OpCode::Query);
    for i in 0..3u8 {
        m.add_answer(Record::from_rdata(
            Name::from_str(&format!("h{first}-{i}.example.test.")).unwrap(),
            60,
            RData::A(A::new(192, 0, 2, first + i)),
        ));
    }
    m
}

/// The server's side: message 1 signed over the request MAC, 2 unsigned, 3 signed with
/// timers only over the MAC of 1 and the bytes of 2.
fn chain(s: &TSigner, id: u16, request_mac: &[u8], time: u64) -> Vec<Vec<u8>> {
    let mut m1 = response(id, 1);
    let unsigned1 = m1.to_vec().unwrap();
    let sig1 = TSigResponseContext::new(id, time, s.clone(), request_mac.to_vec(), None)
        .sign(&unsigned1)
        .unwrap();
    let mac1 = sig1.data.mac.clone();
    m1.signature = Some(sig1);
    let b1 = m1.to_vec().unwrap();

    let b2 = response(id, 10).to_vec().unwrap();

    let mut m3 = response(id, 20);
    let unsigned3 = m3.to_vec().unwrap();
    let mut tbs = Vec::new();
    tbs.extend_from_slice(&(mac1.len() as u16).to_be_bytes());
    tbs.extend_from_slice(&mac1);
    tbs.extend_from_slice(&b2);
    tbs.extend_from_slice(&unsigned3);
    tbs.extend_from_slice(&((time >> 32) as u16).to_be_bytes());
    tbs.extend_from_slice(&(time as u32).to_be_bytes());
    tbs.extend_from_slice(&300u16.to_be_bytes());
    let mac3 = s.sign(&tbs).unwrap();
    m3.signature = Some(Box::new(make_tsig_record(
        s.signer_name().clone(),
        TSIG::new(
            TsigAlgorithm::HmacSha256,
            time,
            300,
            mac3,
            id,
            None,
            Vec::new(),
        ),
    )));
    vec![b1, b2, m3.to_vec().unwrap()]
}

fn run(c: &mut TsigChain, msgs: &[Vec<u8>], now: u64) -> Result<(), AxfrError> {
    for b in msgs {
        let m = Message::from_vec(b).unwrap();
        c.verify(b, &m, now)?;
    }
    Ok(())
}

#[test]
fn a_chain_with_an_unsigned_middle_message_verifies() {
    let s = signer(b"0123456789abcdef0123456789abcdef");
    let (id, mac) = request(&s);
    let msgs = chain(&s, id, &mac, T0 + 1);
    let mut c = TsigChain::new(s.clone(), mac.clone());
    run(&mut c, &msgs, T0 + 2).unwrap();
    assert!(c.is_closed());
    // Ending on the unsigned message leaves the chain open.
    let mut c = TsigChain::new(s, mac);
    run(&mut c, &msgs[..2], T0 + 2).unwrap();
    assert!(!c.is_closed());
}

#[test]
fn a_changed_unsigned_message_breaks_the_next_mac() {
    let s = signer(b"0123456789abcdef0123456789abcdef");
    let (id, mac) = request(&s);
    let mut msgs = chain(&s, id, &mac, T0);
    // The unsigned message's last address byte.
    let last = msgs[1].len() - 1;
    msgs[1][last] ^= 1;
    let mut c = TsigChain::new(s, mac);
    let e = run(&mut c, &msgs, T0).unwrap_err();
    assert!(matches!(e, AxfrError::Tsig(_)), "{e}");
}

#[test]
fn another_key_an_unsigned_start_or_a_stale_time_is_refused() {
    let s = signer(b"0123456789abcdef0123456789abcdef");
    let (id, mac) = request(&s);
    let msgs = chain(&s, id, &mac, T0);
    let other = signer(b"fedcba9876543210fedcba9876543210");
    let e = run(&mut TsigChain::new(other, mac.clone()), &msgs, T0).unwrap_err();
    assert!(matches!(e, AxfrError::Tsig(_)), "{e}");
    let e = run(&mut TsigChain::new(s.clone(), mac.clone()), &msgs[1..], T0).unwrap_err();
    assert!(e.to_string().contains("first message"), "{e}");
    let e = run(&mut TsigChain::new(s.clone(), mac.clone()), &msgs, T0 + 301).unwrap_err();
    assert!(e.to_string().contains("outside"), "{e}");
    // The right chain against another request's MAC.
    let (_, mac2) = request(&s);
    let e = run(&mut TsigChain::new(s, mac2), &msgs, T0).unwrap_err();
    assert!(matches!(e, AxfrError::Tsig(_)), "{e}");
}
