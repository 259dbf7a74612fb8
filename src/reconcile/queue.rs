//! The work queue: keys due at a time, deduplicated (a key scheduled twice keeps the earlier
//! time and the more urgent reason), never handed to two workers at once, spec changes served
//! before periodic resyncs, on tokio's clock (so tests can pause time).
//!
//! A key scheduled while a worker holds it is remembered and scheduled again when the worker
//! calls [`WorkQueue::done`]: a change during a reconcile is never lost, and never handled
//! concurrently with it.

use std::collections::{BTreeMap, HashMap, HashSet};
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

/// A scheduled key's place: its due time and urgency, and its tie-breaking sequence number in
/// whichever index holds it.
#[derive(Debug, Clone, Copy)]
struct Slot {
    due: Due,
    seq: u64,
    /// In `ready` (due, ordered by urgency) rather than `timeline` (not yet due, by time).
    ready: bool,
}

/// The scheduled keys, indexed so that taking the next one and scheduling one are
/// logarithmic in the number of keys (a sweep schedules every resource).
struct Schedule<K> {
    slots: HashMap<K, Slot>,
    /// Keys not yet due, by due time.
    timeline: BTreeMap<(Instant, u64), K>,
    /// Keys due, the most urgent first, then the longest due.
    ready: BTreeMap<(Urgency, Instant, u64), K>,
    next_seq: u64,
}

impl<K: Clone + Eq + Hash> Schedule<K> {
    fn new() -> Self {
        Schedule {
            slots: HashMap::new(),
            timeline: BTreeMap::new(),
            ready: BTreeMap::new(),
            next_seq: 0,
        }
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    #[cfg(test)]
    fn get(&self, key: &K) -> Option<Due> {
        self.slots.get(key).map(|s| s.due)
    }

    fn unindex(&mut self, slot: &Slot) {
        if slot.ready {
            self.ready
                .remove(&(slot.due.urgency, slot.due.at, slot.seq));
        } else {
            self.timeline.remove(&(slot.due.at, slot.seq));
        }
    }

    /// Puts `key` at `due`, replacing its schedule.
    fn set(&mut self, key: K, due: Due) {
        if let Some(old) = self.slots.remove(&key) {
            self.unindex(&old);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.timeline.insert((due.at, seq), key.clone());
        self.slots.insert(
            key,
            Slot {
                due,
                seq,
                ready: false,
            },
        );
    }

    /// Merges `due` into `key`'s schedule (the earlier time, the more urgent reason).
    fn merge(&mut self, key: K, due: Due) {
        let merged = match self.slots.get(&key) {
            Some(s) => s.due.merge(due),
            None => due,
        };
        self.set(key, merged);
    }

    fn remove(&mut self, key: &K) -> Option<Due> {
        let slot = self.slots.remove(key)?;
        self.unindex(&slot);
        Some(slot.due)
    }

    /// Moves every key due by `now` from the timeline to the ready index.
    fn promote(&mut self, now: Instant) {
        while let Some(entry) = self.timeline.first_entry() {
            let (at, seq) = *entry.key();
            if at > now {
                break;
            }
            let key = entry.remove();
            if let Some(slot) = self.slots.get_mut(&key) {
                slot.ready = true;
                self.ready.insert((slot.due.urgency, at, seq), key);
            }
        }
    }

    /// Takes the most urgent key due by `now`.
    fn pop_due(&mut self, now: Instant) -> Option<K> {
        self.promote(now);
        let (_, key) = self.ready.pop_first()?;
        self.slots.remove(&key);
        Some(key)
    }

    /// When the next key not yet due will be.
    fn next_at(&self) -> Option<Instant> {
        self.timeline.keys().next().map(|(at, _)| *at)
    }

    fn due_count(&mut self, now: Instant) -> usize {
        self.promote(now);
        self.ready.len()
    }
}

struct Inner<K> {
    scheduled: Schedule<K>,
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
                scheduled: Schedule::new(),
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
        if inner.active.contains(&key) {
            inner
                .again
                .entry(key)
                .and_modify(|d| *d = d.merge(due))
                .or_insert(due);
        } else {
            inner.scheduled.merge(key, due);
        }
        drop(inner);
        // One waiting worker looks again (a permit is kept if none waits yet); waking every
        // worker for every key would make a sweep of N keys cost N × workers wake-ups.
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
            let notified = self.wake.notified();
            let wait_until = {
                let mut inner = self.lock();
                if inner.closed {
                    return None;
                }
                if let Some(key) = inner.scheduled.pop_due(Instant::now()) {
                    inner.active.insert(key.clone());
                    drop(inner);
                    // Another key may be due too: pass the wake-up on.
                    self.wake.notify_one();
                    return Some(key);
                }
                inner.scheduled.next_at()
            };
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
        let Some(due) = inner.again.remove(key) else {
            return;
        };
        inner.scheduled.merge(key.clone(), due);
        drop(inner);
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

    /// When `key` is due, if scheduled (not counting a schedule kept while it is worked on).
    #[cfg(test)]
    fn due_at(&self, key: &K) -> Option<Instant> {
        self.lock().scheduled.get(key).map(|d| d.at)
    }

    /// Keys due now (the queue's depth as a metric).
    pub fn due_now(&self) -> usize {
        self.lock().scheduled.due_count(Instant::now())
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

    #[tokio::test(start_paused = true)]
    async fn a_due_key_rescheduled_later_keeps_its_earlier_time_and_urgency() {
        let q = WorkQueue::new();
        q.schedule("a", Duration::ZERO, Urgency::Resync);
        q.schedule("b", Duration::ZERO, Urgency::Resync);
        tokio::time::sleep(Duration::from_millis(1)).await;
        // "a" is due (in the ready index) when it is scheduled again, later but urgent.
        assert_eq!(q.due_now(), 2);
        let t0 = q.due_at(&"a").unwrap();
        q.schedule("a", Duration::from_secs(30), Urgency::Change);
        assert_eq!(q.due_at(&"a"), Some(t0));
        assert_eq!(q.len(), 2);
        assert_eq!(q.next().await, Some("a"));
        assert_eq!(q.next().await, Some("b"));
        assert!(q.is_empty());
        assert_eq!(q.due_now(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn many_workers_take_many_keys_each_once() {
        let q = Arc::new(WorkQueue::new());
        let taken = Arc::new(Mutex::new(Vec::new()));
        let mut workers = Vec::new();
        for _ in 0..8 {
            let (q, taken) = (q.clone(), taken.clone());
            workers.push(tokio::spawn(async move {
                while let Some(k) = q.next().await {
                    taken.lock().unwrap().push(k);
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    q.done(&k);
                }
            }));
        }
        for i in 0..500u32 {
            q.schedule(i, Duration::from_millis(u64::from(i % 50)), Urgency::Resync);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        q.close();
        for w in workers {
            w.await.unwrap();
        }
        let mut got = taken.lock().unwrap().clone();
        got.sort();
        assert_eq!(got, (0..500).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn a_sleeping_worker_wakes_for_a_key_due_sooner() {
        let q = Arc::new(WorkQueue::new());
        q.schedule("late", Duration::from_secs(60), Urgency::Resync);
        let q2 = q.clone();
        let t = Instant::now();
        let waiter = tokio::spawn(async move { q2.next().await });
        tokio::time::sleep(Duration::from_secs(1)).await;
        q.schedule("soon", Duration::from_secs(2), Urgency::Change);
        assert_eq!(waiter.await.unwrap(), Some("soon"));
        assert_eq!(t.elapsed(), Duration::from_secs(3));
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
