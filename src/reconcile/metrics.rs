//! The controllers' Prometheus metrics (`/metrics`, text format), with `prometheus-client`.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    kind: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TxLabels {
    msg: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResourceLabels {
    kind: String,
    project: String,
    name: String,
}

/// What this replica's controllers are doing, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// No controllers in this process (`--controllers=false`).
    Off,
    /// Another replica leads; this one stands by.
    Standby,
    /// This replica reconciles.
    Leading,
}

/// Every metric of the controllers.
pub struct Metrics {
    role: std::sync::atomic::AtomicU8,
    chain_ok_ms: std::sync::atomic::AtomicI64,
    registry: Mutex<Registry>,
    reconciles: Family<ResultLabels, Counter>,
    duration: Family<KindLabels, Histogram>,
    retries: Family<KindLabels, Counter>,
    queue_depth: Gauge,
    txs: Family<TxLabels, Counter>,
    gas: Family<TxLabels, Counter>,
    runway: Family<ResourceLabels, Gauge>,
    leader: Gauge,
    unmanaged: Gauge,
    faults: Family<ReasonLabels, Counter>,
    heal: Family<ReasonLabels, Histogram>,
    burn: Family<ResourceLabels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    funding_low: Family<ResourceLabels, Gauge>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("af_operator");
        let reconciles = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles by kind and result (ok or the error category)",
            reconciles.clone(),
        );
        let duration = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 16))
        });
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile took",
            duration.clone(),
        );
        let retries = Family::<KindLabels, Counter>::default();
        registry.register(
            "reconcile_retries",
            "Reconciles retried after a failure",
            retries.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Keys due in the work queue",
            queue_depth.clone(),
        );
        let txs = Family::<TxLabels, Counter>::default();
        registry.register("chain_txs", "Chain writes by message", txs.clone());
        let gas = Family::<TxLabels, Counter>::default();
        registry.register(
            "chain_gas",
            "Gas used by the txs of chain writes (shared within a batch)",
            gas.clone(),
        );
        let runway = Family::<ResourceLabels, Gauge>::default();
        registry.register(
            "escrow_runway_seconds",
            "Seconds until a deployment's escrow runs dry",
            runway.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this replica runs the controllers",
            leader.clone(),
        );
        let unmanaged = Gauge::default();
        registry.register("unmanaged_deployments", "Active deployments of the wallet that af-operator never recorded (reported, never closed)", unmanaged.clone());
        let faults = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "faults",
            "Faults detected on leases, by condition reason",
            faults.clone(),
        );
        let heal = Family::<ReasonLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.5, 2.0, 14))
        });
        registry.register(
            "heal_seconds",
            "Time from a fault's detection to Ready again, by the fault's reason",
            heal.clone(),
        );
        let burn = Family::<ResourceLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "escrow_burn_per_block",
            "What a deployment's leases draw from its escrow per block",
            burn.clone(),
        );
        let funding_low = Family::<ResourceLabels, Gauge>::default();
        registry.register(
            "funding_low",
            "1 while the wallet cannot fund a resource's escrow top-up",
            funding_low.clone(),
        );
        Metrics {
            faults,
            heal,
            burn,
            funding_low,
            role: std::sync::atomic::AtomicU8::new(0),
            chain_ok_ms: std::sync::atomic::AtomicI64::new(0),
            registry: Mutex::new(registry),
            reconciles,
            duration,
            retries,
            queue_depth,
            txs,
            gas,
            runway,
            leader,
            unmanaged,
        }
    }

    /// One reconcile finished.
    pub fn reconciled(&self, kind: &str, result: &str, took: Duration) {
        self.reconciles
            .get_or_create(&ResultLabels {
                kind: kind.to_owned(),
                result: result.to_owned(),
            })
            .inc();
        self.duration
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// A reconcile will be retried.
    pub fn retry(&self, kind: &str) {
        self.retries
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// The queue's depth.
    pub fn queue_depth(&self, n: usize) {
        self.queue_depth.set(n as i64);
    }

    /// A chain write landed.
    pub fn tx(&self, msg: &str, gas: u64) {
        let l = TxLabels {
            msg: msg.to_owned(),
        };
        self.txs.get_or_create(&l).inc();
        self.gas.get_or_create(&l).inc_by(gas);
    }

    /// A deployment's escrow runway.
    pub fn runway(&self, kind: &str, project: &str, name: &str, seconds: i64) {
        self.runway
            .get_or_create(&ResourceLabels {
                kind: kind.to_owned(),
                project: project.to_owned(),
                name: name.to_owned(),
            })
            .set(seconds);
    }

    /// A fault was detected.
    pub fn fault(&self, reason: &str) {
        self.faults
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// A fault was healed after `took`.
    pub fn healed(&self, reason: &str, took: Duration) {
        self.heal
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    /// A deployment's escrow burn per block, and whether its funding is low.
    pub fn escrow(&self, kind: &str, project: &str, name: &str, burn: f64, funding_low: bool) {
        let l = ResourceLabels {
            kind: kind.to_owned(),
            project: project.to_owned(),
            name: name.to_owned(),
        };
        self.burn.get_or_create(&l).set(burn);
        self.funding_low
            .get_or_create(&l)
            .set(i64::from(funding_low));
    }

    /// Whether this replica leads (it stands by otherwise).
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
        let role = if leading { 2 } else { 1 };
        self.role.store(role, std::sync::atomic::Ordering::Relaxed);
    }

    /// What the controllers of this process do.
    pub fn role(&self) -> Role {
        match self.role.load(std::sync::atomic::Ordering::Relaxed) {
            1 => Role::Standby,
            2 => Role::Leading,
            _ => Role::Off,
        }
    }

    /// The chain answered a read (milliseconds since the epoch).
    pub fn chain_answered(&self, now_ms: i64) {
        self.chain_ok_ms
            .store(now_ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// When the chain last answered (milliseconds since the epoch; 0: never).
    pub fn chain_last_answer_ms(&self) -> i64 {
        self.chain_ok_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Active deployments of the wallet that no intent names.
    pub fn set_unmanaged(&self, n: usize) {
        self.unmanaged.set(n as i64);
    }

    /// The text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|e| e.into_inner());
        if prometheus_client::encoding::text::encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_what_was_counted() {
        let m = Metrics::new();
        m.reconciled("Agent", "ok", Duration::from_millis(3));
        m.tx("create-deployment", 100_000);
        m.set_leader(true);
        let text = m.encode();
        assert!(
            text.contains("af_operator_reconciles_total{kind=\"Agent\",result=\"ok\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("af_operator_chain_gas_total{msg=\"create-deployment\"} 100000"),
            "{text}"
        );
        assert!(text.contains("af_operator_leader 1"), "{text}");
        assert!(
            text.contains("af_operator_reconcile_duration_seconds_bucket"),
            "{text}"
        );
    }
}
