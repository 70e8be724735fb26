//! Client-side token buckets, one per credentials scope, so a burst of thousands of objects
//! never trips the cloud's throttling.
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::time::Instant;

/// A token bucket: `rate` tokens per second, at most `burst` saved up.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            rate: rate.max(0.001),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits until a token is available and takes it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let (tokens, last) = *state;
                let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst);
                if tokens >= 1.0 {
                    *state = (tokens - 1.0, now);
                    return;
                }
                *state = (tokens, now);
                Duration::from_secs_f64((1.0 - tokens) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

impl crate::cloud::gate::RequestGate for TokenBucket {
    fn acquire(&self) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(TokenBucket::acquire(self))
    }
}

/// Buckets by scope key (access key, region, project); all share one rate and burst.
#[derive(Debug)]
pub struct RateLimiters {
    rate: f64,
    burst: u32,
    buckets: Mutex<HashMap<String, Arc<TokenBucket>>>,
}

impl RateLimiters {
    pub fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn for_scope(&self, scope: &str) -> Arc<TokenBucket> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .entry(scope.to_string())
            .or_insert_with(|| Arc::new(TokenBucket::new(self.rate, self.burst)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_served_at_once_and_the_rest_at_the_rate() {
        let bucket = TokenBucket::new(10.0, 5);
        let start = Instant::now();
        for _ in 0..5 {
            bucket.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst needs no waiting");
        for _ in 0..10 {
            bucket.acquire().await;
        }
        let elapsed = start.elapsed();
        assert!(
            elapsed >= Duration::from_millis(990) && elapsed <= Duration::from_millis(1100),
            "{elapsed:?}"
        );
    }

    #[test]
    fn each_scope_gets_its_own_bucket() {
        let limiters = RateLimiters::new(1.0, 1);
        let a = limiters.for_scope("ak1/cn-north-4/p");
        let a2 = limiters.for_scope("ak1/cn-north-4/p");
        let b = limiters.for_scope("ak2/cn-north-4/p");
        assert!(Arc::ptr_eq(&a, &a2));
        assert!(!Arc::ptr_eq(&a, &b));
    }
}
