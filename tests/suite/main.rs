//! The black-box test suite: one binary for every integration test.

mod akash_client;
mod api;
mod cli;
mod common;
mod examples;
mod render;
mod store;
