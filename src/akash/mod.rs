//! Akash Network: the protocol ([`proto`], [`keys`], [`tx`], [`certs`], [`jwt`]) lives in
//! the `af-akash` crate, shared with the devnet; [`client`] is the operator's chain and
//! gateway client.

pub use af_akash::{certs, jwt, keys, proto, tx};

pub mod client;
