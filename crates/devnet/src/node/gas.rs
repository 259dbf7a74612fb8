//! The devnet's deterministic gas model, in the spirit of the Cosmos SDK's `KVGasConfig` and
//! ante handler costs: a flat ante cost (account reads and writes, fee deduction), a cost per
//! tx byte (`TxSizeCostPerByte` = 10), a secp256k1 verification (1000), and for each message a
//! flat handler cost plus store-write costs proportional to its size and to the events it
//! emits. A `MsgCreateDeployment` with one group costs roughly 90–120k gas.

use af_akash::proto::events::Event;

/// Ante handler: account and params reads, fee deduction, sequence write.
pub const ANTE_FLAT: u64 = 40_000;
/// Per byte of the raw tx (`TxSizeCostPerByte`).
pub const PER_TX_BYTE: u64 = 10;
/// One secp256k1 signature verification (`SigVerifyCostSecp256k1`).
pub const SIG_VERIFY: u64 = 1_000;
/// Flat cost of routing and running one message.
pub const PER_MSG: u64 = 20_000;
/// Store writes, per byte of an encoded message (`WriteCostPerByte` = 30, plus reads).
pub const PER_MSG_BYTE: u64 = 40;
/// Flat cost per emitted event.
pub const PER_EVENT: u64 = 3_000;
/// Per byte of event attribute keys and values.
pub const PER_EVENT_BYTE: u64 = 10;

/// Gas the ante handler uses for a tx of `tx_len` bytes (charged even when messages fail).
pub fn ante_gas(tx_len: usize) -> u64 {
    ANTE_FLAT
        .saturating_add(PER_TX_BYTE.saturating_mul(tx_len as u64))
        .saturating_add(SIG_VERIFY)
}

/// Gas the messages use, given their encoded sizes and the events they emitted.
pub fn message_gas(msg_lens: &[usize], events: &[Event]) -> u64 {
    let mut gas = 0u64;
    for len in msg_lens {
        gas = gas
            .saturating_add(PER_MSG)
            .saturating_add(PER_MSG_BYTE.saturating_mul(*len as u64));
    }
    for e in events {
        let bytes: usize = e
            .attributes
            .iter()
            .map(|a| a.key.len() + a.value.len())
            .sum();
        gas = gas
            .saturating_add(PER_EVENT)
            .saturating_add(PER_EVENT_BYTE.saturating_mul(bytes as u64));
    }
    gas
}

#[cfg(test)]
mod tests {
    use super::*;
    use af_akash::proto::events::EventAttribute;

    #[test]
    fn gas_grows_with_size_and_events() {
        assert_eq!(ante_gas(0), ANTE_FLAT + SIG_VERIFY);
        assert!(ante_gas(100) > ante_gas(10));
        let e = Event {
            kind: "x".into(),
            attributes: vec![EventAttribute {
                key: "k".into(),
                value: "vv".into(),
                index: true,
            }],
        };
        assert_eq!(message_gas(&[], &[]), 0);
        assert_eq!(
            message_gas(&[10], std::slice::from_ref(&e)),
            PER_MSG + 10 * PER_MSG_BYTE + PER_EVENT + 3 * PER_EVENT_BYTE
        );
    }
}
