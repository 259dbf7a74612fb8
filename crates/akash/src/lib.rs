//! The Akash Network protocol, pure and shared by the operator and the devnet.
//!
//! - [`proto`]: Akash's protobuf messages (deployment v1beta4, market v1beta5, escrow v1,
//!   cert v1, provider v1beta4, audit v1, bme v1), one definition each; IDs, escrow keys and
//!   typed events.
//! - [`keys`]: BIP39 mnemonics, secp256k1 keys, `akash1…` addresses.
//! - [`tx`]: `SIGN_MODE_DIRECT` transactions: body, auth info, sign doc, signature.
//! - [`certs`]: the mTLS certificates Akash publishes on chain, made and checked as Go does.
//! - [`jwt`]: the provider gateway's ES256K / ADR-36 JWTs.
//! - [`sdl`]: Akash SDL, exact: parse and validate SDL 2.0/2.1, build the deployment groups
//!   and the provider manifest, and compute the manifest version as Akash's Go code does.
//! - [`routes`]: the function route matcher shared by Function validation and the functions
//!   runtime (exact beats `:param` beats `*`, longer beats shorter).
#![forbid(unsafe_code)]

pub mod certs;
pub mod jwt;
pub mod keys;
pub mod proto;
pub mod routes;
pub mod sdl;
pub mod tx;
