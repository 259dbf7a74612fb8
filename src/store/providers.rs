//! Our record of each provider: leases it held for us, its faults by kind, how long its
//! leases took to become healthy, the prices we paid, when we last dealt with it. It breaks
//! ties between equal bids and feeds `af-operator providers`.
//!
//! The record is an aggregate over append-only rows (`provider_events`), so concurrent
//! reconciles never lose an update and a crash never leaves half a record.

use std::collections::BTreeMap;

use async_trait::async_trait;
use sqlx::Row;

use super::sql::SqlStore;
use super::StoreError;

/// Something that happened with a provider.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderEvent {
    /// It won a lease of ours, at this price per block.
    Lease {
        /// The price per block (in the lease's denomination).
        price: f64,
    },
    /// One of its leases became healthy this long after it was created.
    FirstHealthy {
        /// Milliseconds.
        after_ms: i64,
    },
    /// A fault of one of its leases (a condition reason: `Unhealthy`, `LeaseClosed`, …).
    Failure {
        /// The reason.
        reason: String,
    },
}

/// The record of one provider.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProviderRecord {
    /// The provider's address.
    pub provider: String,
    /// Leases it won.
    pub leases: u64,
    /// Faults by reason.
    pub failures: BTreeMap<String, u64>,
    /// The median time from lease to healthy, in milliseconds.
    pub median_first_healthy_ms: Option<i64>,
    /// The median price per block we paid.
    pub median_price: Option<f64>,
    /// When we last dealt with it (RFC 3339).
    pub last_seen: String,
}

impl ProviderRecord {
    /// Every fault, whatever its kind.
    pub fn failure_total(&self) -> u64 {
        self.failures.values().sum()
    }
}

/// Where provider records live.
#[async_trait]
pub trait ProviderRecords: Send + Sync {
    /// Adds what happened with `provider` (on behalf of wallet `owner`).
    async fn record_provider(
        &self,
        owner: &str,
        provider: &str,
        event: &ProviderEvent,
    ) -> Result<(), StoreError>;

    /// The record of every provider `owner` dealt with (every wallet's when `owner` is
    /// empty), by address.
    async fn provider_records(&self, owner: &str) -> Result<Vec<ProviderRecord>, StoreError>;

    /// Faults per provider (the tie-break of bid selection).
    async fn provider_failures(&self, owner: &str) -> Result<BTreeMap<String, u32>, StoreError> {
        Ok(self
            .provider_records(owner)
            .await?
            .into_iter()
            .map(|r| {
                let n = u32::try_from(r.failure_total()).unwrap_or(u32::MAX);
                (r.provider, n)
            })
            .filter(|(_, n)| *n > 0)
            .collect())
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[async_trait]
impl ProviderRecords for SqlStore {
    async fn record_provider(
        &self,
        owner: &str,
        provider: &str,
        event: &ProviderEvent,
    ) -> Result<(), StoreError> {
        let (kind, value) = match event {
            ProviderEvent::Lease { price } => ("lease".to_string(), *price),
            ProviderEvent::FirstHealthy { after_ms } => ("healthy".to_string(), *after_ms as f64),
            ProviderEvent::Failure { reason } => (format!("failure:{reason}"), 0.0),
        };
        let value = if value.is_finite() { value } else { 0.0 };
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        sqlx::query(
            "INSERT INTO provider_events (owner, provider, kind, value, at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(owner)
        .bind(provider)
        .bind(kind)
        .bind(value)
        .bind(at)
        .execute(self.relaxed_pool())
        .await?;
        Ok(())
    }

    /// Counted by the database: every bid choice asks, and the events grow with every lease.
    async fn provider_failures(&self, owner: &str) -> Result<BTreeMap<String, u32>, StoreError> {
        let rows = sqlx::query(
            "SELECT provider, COUNT(*) AS n FROM provider_events WHERE (owner = $1 OR $1 = '') AND kind LIKE 'failure:%' GROUP BY provider",
        )
        .bind(owner)
        .fetch_all(self.pool())
        .await?;
        let mut out = BTreeMap::new();
        for row in rows {
            let provider: String = row.try_get("provider")?;
            let n: i64 = row.try_get("n")?;
            if n > 0 {
                out.insert(provider, u32::try_from(n).unwrap_or(u32::MAX));
            }
        }
        Ok(out)
    }

    async fn provider_records(&self, owner: &str) -> Result<Vec<ProviderRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT provider, kind, value, at FROM provider_events WHERE owner = $1 OR $1 = '' ORDER BY provider, id",
        )
        .bind(owner)
        .fetch_all(self.pool())
        .await?;
        let mut out: BTreeMap<String, (ProviderRecord, Vec<f64>, Vec<f64>)> = BTreeMap::new();
        for row in rows {
            let provider: String = row.try_get("provider")?;
            let kind: String = row.try_get("kind")?;
            let value: f64 = row.try_get("value")?;
            let at: String = row.try_get("at")?;
            let (rec, prices, healthy) = out.entry(provider.clone()).or_insert_with(|| {
                (
                    ProviderRecord {
                        provider,
                        ..ProviderRecord::default()
                    },
                    Vec::new(),
                    Vec::new(),
                )
            });
            if at > rec.last_seen {
                rec.last_seen = at;
            }
            match kind.as_str() {
                "lease" => {
                    rec.leases += 1;
                    prices.push(value);
                }
                "healthy" => healthy.push(value),
                k => {
                    let reason = k.strip_prefix("failure:").unwrap_or(k);
                    *rec.failures.entry(reason.to_string()).or_default() += 1;
                }
            }
        }
        Ok(out
            .into_values()
            .map(|(mut rec, prices, healthy)| {
                rec.median_price = median(prices);
                rec.median_first_healthy_ms = median(healthy).map(|m| m.round() as i64);
                rec
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_even_and_empty() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
