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
//!   migrations per dialect.
//! - [`api`]: the GraphQL API over HTTP (`af-operator serve`): mutations that enqueue
//!   desired state, queries, live subscriptions, tokens scoped to projects.
//! - [`cli`]: the kubectl-style commands (`apply`, `get`, `describe`, `delete`, `diff`,
//!   `schema`); `main.rs` only parses arguments and calls [`cli::run`].
#![forbid(unsafe_code)]

pub mod api;
pub mod cli;
pub mod spec;
pub mod store;
