//! Akash Network: the protobuf messages the chain speaks ([`proto`]), keys and signing
//! ([`keys`], [`tx`]), mTLS certificates ([`certs`]) and gateway JWTs ([`jwt`]), shared by the
//! chain client and the local devnet.

pub mod certs;
pub mod client;
pub mod jwt;
pub mod keys;
pub mod proto;
pub mod tx;
