//! One file per resource kind: the spec type, its documentation and its rules.

pub mod agent;
pub mod dns_zone;
pub mod function;
pub mod function_runtime;
pub mod proxy;
pub mod secret_store;
pub mod site;
