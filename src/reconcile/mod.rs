//! The controller runtime and the reconcilers: the loop that makes Akash match the specs.
//!
//! - [`queue`]: a deduplicating delay queue of resource keys on tokio's clock, one key never
//!   reconciled twice at once, spec changes before resyncs; per-key backoff with jitter.
//! - [`controller`]: the runtime: fed by the store's change feed and a periodic resync, a
//!   bounded pool of workers, the orphan sweep.
//! - [`context`]: the [`Context`] every reconcile gets (store, intents, chain, gateways,
//!   renderer, secrets, health probe, metrics, configuration), built once at start-up.
//! - [`plan`]: the pure planner of an Akash-hosted resource (`plan(desired, observed) ->
//!   steps`), exhaustively unit-tested without I/O.
//! - [`lifecycle`]: the I/O around it: render once per generation, observe, execute the steps
//!   through the traits (intent recorded before every broadcast that spends money), write the
//!   typed status, conditions and events.
//! - [`snapshot`]: one paged read of the wallet's deployments and leases per resync sweep.
//! - [`status`]: the typed status (phase, Akash facts, pending intent, attempt), defined in
//!   `spec::akash_status` so the kinds' schemas include it.
//! - [`health`]: HTTP health checks through a lease's URI.
//! - [`metrics`]: Prometheus metrics of the controllers.

pub mod context;
pub mod controller;
pub mod health;
pub mod lifecycle;
pub mod metrics;
pub mod plan;
pub mod queue;
pub mod snapshot;
/// The typed status (kept with the specs, whose schemas include it).
pub use crate::spec::akash_status as status;

#[cfg(test)]
pub(crate) mod tests;

use std::time::Duration;

use crate::akash::client::gateway::GatewayError;
use crate::akash::client::ClientError;
use crate::akash::proto::market::v1::LeaseID;
use crate::store::StoreError;

pub use context::{Context, ControllerConfig};
pub use controller::Controller;

/// What a reconcile asks for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Look again after this long (a wait in progress, or the periodic resync).
    Requeue(Duration),
    /// The resource is gone; nothing more to do.
    Done,
}

/// Why a reconcile failed: whether retrying may help, and a short bounded category for
/// conditions, events and metric labels.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ReconcileError {
    /// One short word (`chain-unavailable`, `secret-missing`, …).
    pub category: &'static str,
    /// Whether a retry may succeed without a change of the spec.
    pub transient: bool,
    /// What failed, with its identifying context (never a secret).
    pub message: String,
    reason: Option<&'static str>,
}

impl ReconcileError {
    /// A failure worth retrying.
    pub fn transient(category: &'static str, message: impl Into<String>) -> Self {
        ReconcileError {
            category,
            transient: true,
            message: message.into(),
            reason: None,
        }
    }

    /// A failure that needs a change (of the spec, a secret, the wallet's funds).
    pub fn permanent(category: &'static str, message: impl Into<String>) -> Self {
        ReconcileError {
            category,
            transient: false,
            message: message.into(),
            reason: None,
        }
    }

    /// Sets the condition reason (one CamelCase word).
    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// The condition reason: the one set, else one derived from the category.
    pub fn reason(&self) -> &'static str {
        self.reason.unwrap_or(match self.category {
            "chain-unavailable" | "timeout" | "pending" | "sequence" | "mempool-full" => {
                "ChainUnavailable"
            }
            "rejected" | "invalid" | "unauthorized" | "expired" => "ChainRefused",
            "insufficient-funds" => "InsufficientFunds",
            "provider-unreachable" => "ProviderUnreachable",
            "manifest-rejected" => "ManifestRejected",
            "database" => "StoreUnavailable",
            "conflict" => "Conflict",
            _ => "ReconcileError",
        })
    }

    /// A chain call that failed, with what it was about.
    pub fn from_client(op: &str, dseq: u64, e: ClientError) -> Self {
        let (category, transient) = (e.category(), e.is_transient());
        let what = if dseq > 0 {
            format!("{op} (dseq {dseq}): {e}")
        } else {
            format!("{op}: {e}")
        };
        ReconcileError {
            category,
            transient,
            message: what,
            reason: None,
        }
    }

    /// A provider gateway call that failed.
    pub fn from_gateway(op: &str, lease: &LeaseID, e: GatewayError) -> Self {
        let (category, transient) = (e.category(), e.is_transient());
        ReconcileError {
            category,
            transient,
            message: format!(
                "{op} (lease {}/{}/{} at {}): {e}",
                lease.dseq, lease.gseq, lease.oseq, lease.provider
            ),
            reason: None,
        }
    }
}

impl From<StoreError> for ReconcileError {
    fn from(e: StoreError) -> Self {
        let transient = e.is_transient();
        ReconcileError {
            category: e.category(),
            transient,
            message: e.to_string(),
            reason: None,
        }
    }
}
