//! af-operator keeps the Alternate Futures platform running on the Akash Network: desired
//! state lives in a database as declarative specs, and a reconcile loop makes Akash match it.
//!
//! # Layout
//!
//! - [`spec`]: the resource kinds (Agent, FunctionRuntime, Function, Site, Proxy,
//!   SecretStore, DnsZone) as pure data, with validation that reports file, line, field path
//!   and what would be valid, and the JSON Schemas generated from the types (`crds/`).
//! - [`store`]: the `Store` trait that keeps specs, status, events and a change feed, with
//!   its SQL implementation for SQLite (the embedded default) and PostgreSQL (production),
//!   migrations per dialect; deployment intents, API tokens, the one shared change-feed
//!   watcher, and leader election among replicas.
//! - [`sdl`] (the `af-akash` crate's): Akash SDL, exact: parse and validate SDL 2.0/2.1, build the deployment groups
//!   (the very protobuf types the chain client sends) and the provider manifest, and compute
//!   the manifest version as Akash's Go code does. Pure; imports nothing else from the crate.
//! - [`akash`]: Akash's protobuf messages (deployment v1beta4, market v1beta5, escrow v1,
//!   cert v1, provider v1beta4, audit v1, bme v1), one definition each, shared by the chain
//!   client and the devnet; IDs, escrow keys and typed events.
//! - [`render`]: from a resource spec to SDL through the kind's minijinja template in
//!   `sdl-templates/` (overridable without rebuilding), secrets resolved by the caller.
//! - [`secrets`]: the secret vault: values sealed with XChaCha20-Poly1305 under the
//!   operator's master key (bound to `project/store/key`), kept by the store as ciphertext and
//!   a keyed digest only, and decrypted per project into the resolver rendering uses.
//! - [`api`]: the GraphQL API over HTTP (`af-operator serve`): mutations that enqueue
//!   desired state, queries, live subscriptions, tokens scoped to projects.
//! - [`devnet`] (the `af-devnet` crate): the local Akash network: a pure, deterministic chain state machine with
//!   mainnet's deployment, market, escrow, cert, provider, audit and bme rules, bank and
//!   auth accounts, typed events and gRPC queries by path.
//! - [`reconcile`]: the controller runtime (work queue, backoff, resync, orphan sweep) and
//!   the lifecycle of every Akash-hosted kind: a pure planner and the I/O that executes it.
//! - [`dns`]: DNS that follows what runs: the `DnsProvider` trait, the pure planner with
//!   ownership records and the delete guard, the providers (RFC 2136 + TSIG, PowerDNS,
//!   Cloudflare, Google Cloud DNS, deSEC), the AXFR reader, the DnsZone reconciler, and an
//!   in-process authoritative server (the demo's).
//! - [`daemon`]: the composition root: one configuration, one `start` that builds the
//!   context (store, chain, gateways, secrets, probe, metrics) for `serve`, `demo` and tests.
//! - [`logging`]: `AF_LOG` / `RUST_LOG`, and the floor that keeps dependencies' TRACE
//!   output (WebSocket payloads, headers) out of the log.
//! - [`cli`]: the kubectl-style commands (`apply`, `get`, `describe`, `delete`, `diff`,
//!   `schema`); `main.rs` only parses arguments and calls [`cli::run`].
#![forbid(unsafe_code)]

pub mod akash;
pub use af_akash::sdl;
pub use af_devnet as devnet;
pub mod api;
pub mod cli;
pub mod daemon;
pub mod dns;
pub mod functions;
pub mod logging;
pub mod proxy;
pub mod reconcile;
pub mod render;
pub mod secrets;
pub mod spec;
pub mod store;
