//! The local Akash network behind `af-operator devnet`: today the chain state machine
//! ([`chain`]); the RPC server and provider gateways build on it.

pub mod chain;
pub mod node;
