//! Akash Network: the protobuf messages the chain speaks ([`proto`]), keys and signing
//! ([`keys`], [`tx`]), shared by the chain client and the local devnet.

pub mod client;
pub mod keys;
pub mod proto;
pub mod tx;
