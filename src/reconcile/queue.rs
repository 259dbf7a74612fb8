//! The work queue: keys due at a time, deduplicated (a key scheduled twice keeps the earlier
//! time and the more urgent reason), never handed to two workers at once, spec changes served
//! before periodic resyncs, on tokio's clock (so tests can pause time).
//!
//! A key scheduled while a worker holds it is remembered and scheduled again when the worker
//! calls [`WorkQueue::done`]: a change during a reconcile is never lost, and never handled
//! concurrently with it.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Why a key is due; among keys due now, the more urgent goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Urgency {
    /// The desired state changed (a spec was applied or deleted).
    Change,
    /// A requeue the reconciler asked for (a wait in progress, a retry).
    Requeue,
    /// The periodic resync.
    Resync,
}

#[derive(Debug, Clone, Copy)]
struct Due {
    at: Instant,
    urgency: Urgency,
}

impl Due {
    fn merge(self, other: Due) -> Due {
        Due {
            at: self.at.min(other.at),
            urgency: self.urgency.min(other.urgency),
        }
    }
}

struct Inner<K> {
    scheduled: HashMap<K, Due>,
    active: HashSet<K>,
    again: HashMap<K, Due>,
    closed: bool,
}

/// A deduplicating delay queue of keys.
pub struct WorkQueue<K> {
    inner: Mutex<Inner<K>>,
    wake: Notify,
}

impl<K: Clone + Eq + Hash + std::fmt::Debug> Default for WorkQueue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Clone + Eq + Hash + std::fmt::Debug> WorkQueue<K> {
    /// An empty queue.
    pub fn new() -> Self {
        WorkQueue {
            inner: Mutex::new(Inner {
                scheduled: HashMap::new(),
                active: HashSet::new(),
                again: HashMap::new(),
                closed: false,
            }),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Schedules `key` after `delay`; an earlier or more urgent schedule already there wins.
    pub fn schedule(&self, key: K, delay: Duration, urgency: Urgency) {
        let due = Due {
            at: Instant::now() + delay,
            urgency,
        };
        let mut inner = self.lock();
        let slot = if inner.active.contains(&key) {
            &mut inner.again
        } else {
            &mut inner.scheduled
        };
        slot.entry(key)
            .and_modify(|d| *d = d.merge(due))
            .or_insert(due);
        drop(inner);
        self.wake.notify_waiters();
        self.wake.notify_one();
    }

    /// Forgets a key (its resource is gone); a worker holding it finishes normally.
    pub fn forget(&self, key: &K) {
        let mut inner = self.lock();
        inner.scheduled.remove(key);
        inner.again.remove(key);
    }

    /// The next due key, marked active until [`WorkQueue::done`]; `None` once closed.
    pub async fn next(&self) -> Option<K> {
        loop {
            let wait_until = {
                let mut inner = self.lock();
                if inner.closed {
                    return None;
                }
                let now = Instant::now();
                let best = inner
                    .scheduled
                    .iter()
                    .filter(|(_, d)| d.at <= now)
                    .min_by_key(|(_, d)| (d.urgency, d.at))
                    .map(|(k, _)| k.clone());
                if let Some(key) = best {
                    inner.scheduled.remove(&key);
                    inner.active.insert(key.clone());
                    return Some(key);
                }
                inner.scheduled.values().map(|d| d.at).min()
            };
            let notified = self.wake.notified();
            match wait_until {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Releases a key taken by [`WorkQueue::next`], scheduling it again if that was asked for
    /// meanwhile.
    pub fn done(&self, key: &K) {
        let mut inner = self.lock();
        inner.active.remove(key);
        if let Some(due) = inner.again.remove(key) {
            let merged = match inner.scheduled.get(key) {
                Some(d) => d.merge(due),
                None => due,
            };
            inner.scheduled.insert(key.clone(), merged);
        }
        drop(inner);
        self.wake.notify_waiters();
        self.wake.notify_one();
    }

    /// Keys waiting (not counting those being worked on).
    pub fn len(&self) -> usize {
        let inner = self.lock();
        inner.scheduled.len() + inner.again.len()
    }

    /// Whether no key waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys due now (the queue's depth as a metric).
    pub fn due_now(&self) -> usize {
        let now = Instant::now();
        self.lock()
            .scheduled
            .values()
            .filter(|d| d.at <= now)
            .count()
    }

    /// Stops the queue: [`WorkQueue::next`] returns `None` from now on.
    pub fn close(&self) {
        self.lock().closed = true;
        self.wake.notify_waiters();
        self.wake.notify_one();
    }
}

/// Per-key exponential backoff with jitter: `base · 2^(attempt-1)` up to `max`, then a random
/// factor in `[0.5, 1.0]` so that failures of many keys at once do not retry in lockstep.
pub fn backoff(attempt: u32, base: Duration, max: Duration) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let raw = base.saturating_mul(1u32 << exp).min(max);
    let factor: f64 = rand::thread_rng().gen_range(0.5..=1.0);
    raw.mul_f64(factor)
}

/// The resync period with ±10 % jitter, so resources created together do not resync together.
pub fn jittered(period: Duration) -> Duration {
    let factor: f64 = rand::thread_rng().gen_range(0.9..=1.1);
    period.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn dedups_and_keeps_the_earliest_time() {
        let q = WorkQueue::new();
        q.schedule("a", Duration::from_secs(10), Urgency::Resync);
        q.schedule("a", Duration::from_secs(2), Urgency::Resync);
        q.schedule("a", Duration::from_secs(5), Urgency::Resync);
        assert_eq!(q.len(), 1);
        let t = Instant::now();
        assert_eq!(q.next().await, Some("a"));
        assert_eq!(t.elapsed(), Duration::from_secs(2));
        assert!(q.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn changes_go_before_resyncs_due_at_the_same_time() {
        let q = WorkQueue::new();
        q.schedule("resync", Duration::ZERO, Urgency::Resync);
        q.schedule("requeue", Duration::ZERO, Urgency::Requeue);
        q.schedule("change", Duration::from_millis(1), Urgency::Change);
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert_eq!(q.next().await, Some("change"));
        assert_eq!(q.next().await, Some("requeue"));
        assert_eq!(q.next().await, Some("resync"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_is_never_handed_out_twice_at_once() {
        let q = Arc::new(WorkQueue::new());
        q.schedule("a", Duration::ZERO, Urgency::Change);
        assert_eq!(q.next().await, Some("a"));
        // Scheduled again while held: not handed out until done.
        q.schedule("a", Duration::ZERO, Urgency::Change);
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.next().await });
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!waiter.is_finished());
        q.done(&"a");
        assert_eq!(waiter.await.unwrap(), Some("a"));
    }

    #[tokio::test(start_paused = true)]
    async fn close_ends_waiting_workers() {
        let q = Arc::new(WorkQueue::<&str>::new());
        let q2 = q.clone();
        let waiter = tokio::spawn(async move { q2.next().await });
        tokio::task::yield_now().await;
        q.close();
        assert_eq!(waiter.await.unwrap(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn forget_drops_a_scheduled_key() {
        let q = WorkQueue::new();
        q.schedule("a", Duration::from_secs(1), Urgency::Resync);
        q.forget(&"a");
        assert!(q.is_empty());
    }

    #[test]
    fn backoff_grows_to_its_cap_with_jitter() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(300);
        for attempt in 1..=40 {
            let d = backoff(attempt, base, max);
            let raw = base.saturating_mul(1u32 << (attempt - 1).min(30)).min(max);
            assert!(
                d <= raw && d >= raw / 2,
                "attempt {attempt}: {d:?} vs {raw:?}"
            );
        }
        assert!(backoff(40, base, max) >= max / 2);
    }
}
