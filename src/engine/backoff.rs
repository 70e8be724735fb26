//! Requeue timing: per-object exponential backoff with jitter (kube-runtime has none, kube#1916)
//! and jittered steady-state polls so thousands of objects never requeue in lockstep.
use rand::Rng;
use std::{collections::HashMap, sync::Mutex, time::Duration};

/// Per-object failure counters, keyed by object UID; reset on success.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Records one more failure for `key` and returns how long to wait before retrying.
    /// Equal jitter: half the exponential delay is fixed, half random, so retries spread out
    /// but never collapse to zero.
    pub fn next(&self, key: &str) -> Duration {
        let attempt = {
            let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
            let n = failures.entry(key.to_string()).or_insert(0);
            *n = n.saturating_add(1);
            *n
        };
        let exp = self.base.saturating_mul(1u32 << (attempt - 1).min(20));
        let capped = exp.min(self.max);
        let half = capped / 2;
        half + half.mul_f64(rand::rng().random::<f64>())
    }

    /// Number of consecutive failures recorded for `key`.
    pub fn failures(&self, key: &str) -> u32 {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.get(key).copied().unwrap_or(0)
    }

    /// Clears the failure count for `key` after a successful reconcile.
    pub fn reset(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(key);
    }
}

/// Spreads `d` uniformly over [0.75 d, 1.25 d].
pub fn jittered(d: Duration) -> Duration {
    d.mul_f64(0.75 + 0.5 * rand::rng().random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_and_stay_under_the_cap() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        let delays: Vec<_> = (0..10).map(|_| b.next("uid")).collect();
        for (i, d) in delays.iter().enumerate() {
            let full = Duration::from_secs(1 << i.min(6)).min(Duration::from_secs(60));
            assert!(
                *d >= full / 2 && *d <= full,
                "attempt {i}: {d:?} not within [{:?}, {full:?}]",
                full / 2
            );
        }
        assert_eq!(b.failures("uid"), 10);
    }

    #[test]
    fn success_resets_the_counter_for_that_object_only() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        b.next("a");
        b.next("a");
        b.next("b");
        b.reset("a");
        assert_eq!(b.failures("a"), 0);
        assert_eq!(b.failures("b"), 1);
        assert!(b.next("a") <= Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_within_a_quarter_of_the_interval() {
        for _ in 0..1000 {
            let d = jittered(Duration::from_secs(100));
            assert!(d >= Duration::from_secs(75) && d <= Duration::from_secs(125));
        }
    }
}
