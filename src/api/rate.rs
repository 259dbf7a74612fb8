//! A per-token token bucket: `burst` requests at once, refilled at `per_second`.
//!
//! One limiter is keyed by token id (only authenticated tokens reach it); another by client
//! address, charged by requests that fail authentication and checked before authenticating,
//! so that guessing tokens costs the guesser, not the database. Buckets that have refilled
//! are forgotten once many keys are held.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How many requests a token may make.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: f64,
    /// Requests allowed at once after a quiet period.
    pub burst: u32,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets kept before full ones are forgotten (keys may be client addresses, which a
/// client does not choose freely but which are many).
const MAX_KEYS: usize = 100_000;

/// Token buckets keyed by token id (or client address).
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter applying `limit` to every key.
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket, or says how long until one is available.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.take(key, 1, true)
    }

    /// Takes `n` requests at once (a request that holds several operations); more than
    /// the burst counts as the burst, so such a request passes after a quiet period.
    pub fn check_n(&self, key: &str, n: u32) -> Result<(), Duration> {
        self.take(key, n, true)
    }

    /// Whether `key` has a request left, without taking it (see [`Self::charge`]).
    pub fn peek(&self, key: &str) -> Result<(), Duration> {
        self.take(key, 1, false)
    }

    /// Takes one request from `key`'s bucket even when it is empty (it then stays empty
    /// for longer).
    pub fn charge(&self, key: &str) {
        if self.take(key, 1, true).is_ok() {
            return;
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = buckets.get_mut(key) {
            b.tokens = (b.tokens - 1.0).max(-f64::from(self.limit.burst.max(1)));
        }
    }

    fn take(&self, key: &str, n: u32, consume: bool) -> Result<(), Duration> {
        let now = Instant::now();
        let burst = f64::from(self.limit.burst.max(1));
        let need = f64::from(n.max(1)).min(burst);
        let rate = if self.limit.per_second.is_finite() && self.limit.per_second > 0.0 {
            self.limit.per_second
        } else {
            0.0
        };
        // A poisoned lock only means another request panicked mid-update; the map of
        // numbers is still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            // Keys that have refilled completely are the same as absent ones.
            buckets.retain(|_, b| {
                let elapsed = now.saturating_duration_since(b.updated).as_secs_f64();
                b.tokens + elapsed * rate < burst
            });
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        if bucket.tokens >= need {
            if consume {
                bucket.tokens -= need;
            }
            return Ok(());
        }
        if rate == 0.0 {
            return Err(Duration::from_secs(3600));
        }
        Err(Duration::from_secs_f64(
            ((need - bucket.tokens) / rate).min(3600.0),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_refills() {
        let l = RateLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3,
        });
        for _ in 0..3 {
            assert!(l.check("a").is_ok());
        }
        let wait = l.check("a").unwrap_err();
        assert!(
            wait > Duration::from_millis(400) && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        assert!(l.check("b").is_ok(), "buckets are per key");
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_err());
        tokio::time::advance(Duration::from_secs(60)).await;
        for _ in 0..3 {
            assert!(l.check("a").is_ok(), "refills up to the burst only");
        }
        assert!(l.check("a").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn several_at_once_and_charges() {
        let l = RateLimiter::new(RateLimit {
            per_second: 1.0,
            burst: 10,
        });
        assert!(l.check_n("a", 8).is_ok());
        assert!(l.check_n("a", 3).is_err(), "two left");
        assert!(l.check_n("a", 2).is_ok());
        assert!(
            l.check_n("b", 50).is_ok(),
            "more than the burst counts as the burst"
        );
        assert!(l.peek("c").is_ok());
        for _ in 0..10 {
            l.charge("c");
        }
        assert!(l.peek("c").is_err());
        l.charge("c");
        let wait = l.peek("c").unwrap_err();
        assert!(wait >= Duration::from_secs(2), "{wait:?}");
    }
}
