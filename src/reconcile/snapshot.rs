//! One paged read of the wallet's active deployments and leases, shared by every reconcile of
//! a resync sweep: the chain queries of a sweep grow with pages, not with resources.
//!
//! A snapshot is used only while it is fresh (younger than its time to live) and no chain
//! write was made by this process since it was taken (a write changes what the snapshot
//! says); otherwise reconciles read the chain per deployment, as they do while they make
//! progress.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::akash::client::{AkashChain, ClientError, DeploymentStateFilter};
use crate::akash::proto::deployment::v1beta4::QueryDeploymentResponse;
use crate::akash::proto::market::v1::LeaseFilters;
use crate::akash::proto::market::v1beta5::QueryLeaseResponse;
use crate::akash::proto::PageRequest;

/// How many items one page asks for.
pub const PAGE: u64 = 500;

/// The wallet's active deployments and leases at one moment.
#[derive(Debug, Default)]
pub struct ChainSnapshot {
    /// When it was taken (milliseconds since the epoch).
    pub taken_ms: i64,
    /// The write counter when it was taken.
    pub writes: u64,
    /// Active deployments by dseq.
    pub deployments: HashMap<u64, QueryDeploymentResponse>,
    /// Active leases by dseq.
    pub leases: HashMap<u64, Vec<QueryLeaseResponse>>,
    /// Pages read to take it.
    pub pages: u64,
}

/// The snapshot slot and the write counter that invalidates it.
#[derive(Debug, Default)]
pub struct Snapshots {
    current: Mutex<Option<Arc<ChainSnapshot>>>,
    writes: AtomicU64,
    last_write_ms: std::sync::atomic::AtomicI64,
    taking: tokio::sync::Mutex<()>,
}

/// After a chain write, reconciles read the chain one by one for this long before a new
/// snapshot may be taken on demand (while writes happen, a snapshot would be stale at once).
pub const QUIET_MS: i64 = 5_000;

impl Snapshots {
    /// A chain write was made: the snapshot no longer tells the truth.
    pub fn wrote(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let now = chrono::Utc::now().timestamp_millis();
        self.last_write_ms.store(now, Ordering::SeqCst);
    }

    /// The fresh snapshot, or a new one read now when none is fresh and no chain write
    /// happened for [`QUIET_MS`] (one reader at a time; the others wait and share it). `None`
    /// while writes happen: reconciles then read the chain one by one.
    pub async fn fresh_or_take(
        &self,
        chain: &dyn AkashChain,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Option<Arc<ChainSnapshot>> {
        if let Some(s) = self.fresh(now_ms, ttl_ms) {
            return Some(s);
        }
        let wall = chrono::Utc::now().timestamp_millis();
        if wall - self.last_write_ms.load(Ordering::SeqCst) < QUIET_MS {
            return None;
        }
        let _one = self.taking.lock().await;
        if let Some(s) = self.fresh(now_ms, ttl_ms) {
            return Some(s);
        }
        self.take(chain, now_ms).await.ok()
    }

    /// The snapshot, if no write happened since and it is younger than `ttl_ms`.
    pub fn fresh(&self, now_ms: i64, ttl_ms: i64) -> Option<Arc<ChainSnapshot>> {
        let cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        cur.as_ref()
            .filter(|s| s.writes == self.writes.load(Ordering::SeqCst))
            .filter(|s| now_ms - s.taken_ms < ttl_ms)
            .cloned()
    }

    /// Reads every page of the wallet's active deployments and leases and keeps them.
    pub async fn take(
        &self,
        chain: &dyn AkashChain,
        now_ms: i64,
    ) -> Result<Arc<ChainSnapshot>, ClientError> {
        let owner = chain.owner().to_owned();
        let writes = self.writes.load(Ordering::SeqCst);
        let mut snap = ChainSnapshot {
            taken_ms: now_ms,
            writes,
            ..ChainSnapshot::default()
        };
        let mut key: Option<Vec<u8>> = None;
        loop {
            let page = chain
                .deployments(
                    &owner,
                    DeploymentStateFilter::Active,
                    Some(page_request(key.take())),
                )
                .await?;
            snap.pages += 1;
            for d in page.items {
                snap.deployments.insert(d.deployment.id.dseq, d);
            }
            match page.next_key {
                Some(k) if !k.is_empty() => key = Some(k),
                _ => break,
            }
        }
        loop {
            let filters = LeaseFilters {
                owner: owner.clone(),
                state: "active".into(),
                ..LeaseFilters::default()
            };
            let page = chain
                .leases(filters, Some(page_request(key.take())))
                .await?;
            snap.pages += 1;
            for l in page.items {
                snap.leases.entry(l.lease.id.dseq).or_default().push(l);
            }
            match page.next_key {
                Some(k) if !k.is_empty() => key = Some(k),
                _ => break,
            }
        }
        let snap = Arc::new(snap);
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(snap.clone());
        Ok(snap)
    }
}

pub(crate) fn page_request(key: Option<Vec<u8>>) -> PageRequest {
    PageRequest {
        key: key.unwrap_or_default(),
        limit: PAGE,
        ..PageRequest::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::akash::client::fake::FakeChain;

    #[tokio::test]
    async fn a_snapshot_serves_until_a_write_or_its_age() {
        let chain = FakeChain::new(1);
        let s = Snapshots::default();
        assert!(s.fresh(0, 1000).is_none(), "none taken yet");
        let snap = s.take(&chain, 10_000).await.unwrap();
        assert_eq!(snap.pages, 2, "one page of deployments, one of leases");
        assert!(snap.deployments.is_empty());
        assert!(s.fresh(10_500, 1000).is_some());
        assert!(s.fresh(11_000, 1000).is_none(), "too old");
        s.wrote();
        assert!(s.fresh(10_500, 1000).is_none(), "a write since");
        s.take(&chain, 20_000).await.unwrap();
        assert!(
            s.fresh(20_001, 1000).is_some(),
            "a new snapshot after the write serves"
        );
    }
}
