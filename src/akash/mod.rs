//! Akash Network: the protobuf messages the chain speaks ([`proto`]), shared by the chain client and the local devnet.

pub mod proto;
