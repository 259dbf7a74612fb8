//! The black-box test suite: one binary for every integration test.

mod cli;
mod common;
mod examples;
mod render;
mod store;
