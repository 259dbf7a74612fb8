//! The black-box test suite: one binary for every integration test.

mod akash_client;
mod api;
mod cli;
mod common;
mod demo;
mod devnet_chain;
mod devnet_providers;
mod dns;
mod dns_e2e;
mod dns_http;
mod dns_servers;
mod dns_zone;
mod examples;
mod functions;
mod functions_runtime;
mod healing;
mod hostile;
mod ipfs;
mod provider_records;
mod readme;
mod reconcile;
mod render;
mod secrets;
mod store;
