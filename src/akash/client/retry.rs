//! Exponential backoff with full jitter, on tokio's clock (so it runs under
//! `tokio::time::pause()`).
//!
//! The n-th wait (from 0) is drawn uniformly from `[0, min(initial × multiplierⁿ, max_interval)]`
//! ("full jitter": retrying clients spread out instead of arriving together). Once
//! `max_elapsed` has passed since [`Backoff::start`], there is no next wait; the last wait is
//! cut so it ends exactly then, so a caller gives up at `max_elapsed` plus the duration of
//! its last attempt.

use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use tokio::time::Instant;

/// A retry schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The ceiling of the first wait.
    pub initial: Duration,
    /// Each ceiling is the previous one times this (≥ 1).
    pub multiplier: f64,
    /// The largest ceiling.
    pub max_interval: Duration,
    /// Give up once this long has passed since the start; `None` never gives up.
    pub max_elapsed: Option<Duration>,
}

impl Default for Backoff {
    /// 100 ms, doubling, up to 2 s, giving up after 30 s.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            multiplier: 2.0,
            max_interval: Duration::from_secs(2),
            max_elapsed: Some(Duration::from_secs(30)),
        }
    }
}

impl Backoff {
    /// The ceiling of wait number `attempt` (from 0): `min(initial × multiplierᵃᵗᵗᵉᵐᵖᵗ,
    /// max_interval)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = self.multiplier.max(1.0).powi(attempt.min(1024) as i32);
        let secs = self.initial.as_secs_f64() * factor;
        if !secs.is_finite() || secs >= self.max_interval.as_secs_f64() {
            self.max_interval
        } else {
            Duration::from_secs_f64(secs)
        }
    }

    /// A schedule starting now, with jitter from the thread's random generator.
    pub fn start(&self) -> Retry {
        self.start_seeded(rand::thread_rng().gen())
    }

    /// A schedule starting now whose jitter is reproducible from `seed` (tests).
    pub fn start_seeded(&self, seed: u64) -> Retry {
        Retry {
            policy: *self,
            started: Instant::now(),
            attempt: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
}

/// One run of a [`Backoff`] schedule.
#[derive(Debug, Clone)]
pub struct Retry {
    policy: Backoff,
    started: Instant,
    attempt: u32,
    rng: ChaCha8Rng,
}

impl Retry {
    /// How many waits were handed out.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The next wait, or `None` when `max_elapsed` has passed (give up).
    pub fn next_wait(&mut self) -> Option<Duration> {
        let ceiling = self.policy.ceiling(self.attempt);
        let jittered = if ceiling.is_zero() {
            Duration::ZERO
        } else {
            let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
            Duration::from_nanos(self.rng.gen_range(0..=nanos))
        };
        let wait = match self.policy.max_elapsed {
            Some(max) => {
                let left = max.checked_sub(self.started.elapsed())?;
                if left.is_zero() {
                    return None;
                }
                jittered.min(left)
            }
            None => jittered,
        };
        self.attempt = self.attempt.saturating_add(1);
        Some(wait)
    }

    /// Sleeps the next wait; `false` (at once) when it is time to give up.
    pub async fn wait(&mut self) -> bool {
        match self.next_wait() {
            Some(d) => {
                tokio::time::sleep(d).await;
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Backoff {
        Backoff {
            initial: Duration::from_millis(100),
            multiplier: 2.0,
            max_interval: Duration::from_secs(1),
            max_elapsed: Some(Duration::from_secs(5)),
        }
    }

    #[test]
    fn ceilings_grow_exponentially_up_to_the_maximum() {
        let p = policy();
        let ms: Vec<u128> = (0..7).map(|n| p.ceiling(n).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(p.ceiling(u32::MAX), Duration::from_secs(1));
        let flat = Backoff {
            multiplier: 0.5,
            ..p
        };
        assert_eq!(flat.ceiling(3), Duration::from_millis(100), "never shrinks");
    }

    #[tokio::test(start_paused = true)]
    async fn waits_are_jittered_below_the_ceiling_and_it_gives_up_at_max_elapsed() {
        let p = policy();
        let start = Instant::now();
        let mut retry = p.start_seeded(7);
        let mut waits = Vec::new();
        while let Some(w) = retry.next_wait() {
            let n = waits.len() as u32;
            assert!(w <= p.ceiling(n), "wait {n}: {w:?} > {:?}", p.ceiling(n));
            waits.push(w);
            tokio::time::sleep(w).await;
        }
        // Paused time advances only by the sleeps: the give-up is exactly max_elapsed.
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert_eq!(retry.elapsed(), Duration::from_secs(5));
        assert_eq!(retry.attempts() as usize, waits.len());
        // Full jitter: the waits are spread, not pinned to the ceiling.
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > waits.len() / 2, "{waits:?}");
        assert!(waits.iter().any(|w| *w < p.ceiling(10) / 2), "{waits:?}");
        // The same seed gives the same schedule.
        let mut again = p.start_seeded(7);
        assert_eq!(again.next_wait(), Some(waits[0]));
        // And once given up, it stays given up.
        assert_eq!(retry.next_wait(), None);
        assert!(!retry.wait().await);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_attempt_counts_against_max_elapsed() {
        let p = policy();
        let start = Instant::now();
        let mut retry = p.start_seeded(1);
        tokio::time::sleep(Duration::from_millis(4900)).await;
        let w = retry.next_wait().expect("100 ms left");
        assert!(w <= Duration::from_millis(100), "{w:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(retry.next_wait(), None);
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn without_max_elapsed_it_never_gives_up() {
        let p = Backoff {
            max_elapsed: None,
            ..policy()
        };
        let mut retry = p.start_seeded(3);
        for _ in 0..100 {
            assert!(retry.wait().await);
        }
        assert!(retry.elapsed() <= Duration::from_secs(100));
    }
}
