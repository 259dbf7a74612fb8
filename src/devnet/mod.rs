//! The local Akash network behind `af-operator devnet`: today the chain state machine
//! ([`chain`]) and the simulated providers ([`provider`]); the RPC server builds on them.

pub mod chain;
pub mod provider;
