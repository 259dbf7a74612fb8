//! DNS that follows what runs: the [`DnsProvider`] trait (read a zone's rrsets, apply a change
//! set), the pure [`plan`] (desired + current + ownership → changes), the providers, and the
//! DnsZone reconciler.
//!
//! - [`record`]: the domain types: [`Rrset`], [`RecordType`], [`Change`].
//! - [`plan`]: the planner, with external-dns ownership records and octoDNS's delete guard.
//! - [`memory`]: an in-memory provider (the fake of unit tests, and a stand-in).
//! - [`rfc2136`]: dynamic updates with TSIG, zone read by AXFR (BIND, Knot, PowerDNS, …);
//!   [`axfr`]: the transfer read over TCP, each message's TSIG verified.
//! - [`powerdns`], [`cloudflare`], [`google`], [`desec`]: the vendors' HTTP APIs, over
//!   [`http`] (retries with backoff, `Retry-After`).
//! - [`desired`]: the records the running resources want, from their specs and statuses.
//! - [`zone`]: the DnsZone reconciler (per-provider sync, `DnsSynced`, `DnsPlanRefused`).
//! - [`authoritative`]: an authoritative server in-process (hickory-server) with RFC 2136
//!   updates and TSIG: the demo's stand-in for the cloud providers.
//! - [`lookup`]: a DNS query over UDP (what a name resolves to on a server).

pub mod authoritative;
pub mod axfr;
pub mod cloudflare;
pub mod desec;
pub mod desired;
pub mod google;
pub mod http;
pub mod lookup;
pub mod memory;
pub mod plan;
pub mod powerdns;
pub mod record;
pub mod rfc2136;
pub mod zone;

use async_trait::async_trait;

pub use plan::{plan, Plan, PlanPolicy};
pub use record::{Change, RecordType, Rrset};

/// Why a provider call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The provider could not be reached, or answered with a server error or a rate limit.
    #[error("{provider}: {op}: unavailable: {message}")]
    Unavailable {
        /// The provider.
        provider: String,
        /// What was being done.
        op: &'static str,
        /// What happened (never a credential).
        message: String,
    },
    /// The provider refused our credentials.
    #[error("{provider}: {op}: unauthorized: {message}")]
    Unauthorized {
        /// The provider.
        provider: String,
        /// What was being done.
        op: &'static str,
        /// What happened.
        message: String,
    },
    /// The provider refused the request (a zone it does not hold, invalid data).
    #[error("{provider}: {op}: refused: {message}")]
    Refused {
        /// The provider.
        provider: String,
        /// What was being done.
        op: &'static str,
        /// What happened.
        message: String,
    },
    /// The provider's configuration or credentials are unusable.
    #[error("{provider}: configuration: {message}")]
    Config {
        /// The provider.
        provider: String,
        /// What is wrong.
        message: String,
    },
}

impl DnsError {
    /// Whether retrying may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, DnsError::Unavailable { .. })
    }

    /// A short bounded word for conditions and metrics.
    pub fn category(&self) -> &'static str {
        match self {
            DnsError::Unavailable { .. } => "dns-unavailable",
            DnsError::Unauthorized { .. } => "dns-unauthorized",
            DnsError::Refused { .. } => "dns-refused",
            DnsError::Config { .. } => "dns-config",
        }
    }
}

/// A DNS provider holding zones: read a zone's rrsets, apply a change set.
#[async_trait]
pub trait DnsProvider: Send + Sync {
    /// A short label for status and logs, e.g. `rfc2136 127.0.0.1:53` (never a credential).
    fn label(&self) -> String;

    /// Every rrset of `zone` (names fully qualified, lowercase, without the final dot).
    async fn records(&self, zone: &str) -> Result<Vec<Rrset>, DnsError>;

    /// Applies `changes` to `zone`, in order; atomically where the provider's API allows.
    /// An update or create replaces the whole rrset; a delete removes it.
    async fn apply(&self, zone: &str, changes: &[Change]) -> Result<(), DnsError>;
}
