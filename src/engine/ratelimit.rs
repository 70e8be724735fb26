//! Client-side rate limiting, one limiter per credentials scope (access key, region, project),
//! shared by every object using that scope, so a burst of thousands of objects stays polite and
//! the scope as a whole adapts to the cloud's quota.
//!
//! Each limiter is a token bucket whose rate follows AIMD, as TCP does against congestion:
//! - a 429 (Throttled) **halves** the rate, at most once per `Retry-After` window, so the burst
//!   of 429s from calls already in flight counts once;
//! - the whole scope then sends **nothing until `Retry-After` has elapsed** (1 s without one),
//!   and starts again with an empty bucket;
//! - afterwards the rate **grows additively** by [`Aimd::increase_per_second`] × `--rate` per
//!   second, back up to `--rate`. The burst scales with the rate (`--burst` × rate / `--rate`),
//!   so a lull at a lowered rate does not save up a full `--burst`.
//!
//! The arithmetic is [`Limiter`], pure and driven by an injected clock (seconds); the async
//! [`TokenBucket`] wraps it with tokio's clock, a metric and debug logs.
use prometheus_client::metrics::gauge::Gauge;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex, atomic::AtomicU64},
    time::Duration,
};
use tokio::time::Instant;

/// The current rate of each scope, in requests per second.
pub type RateGauge = prometheus_client::metrics::family::Family<ScopeLabels, Gauge<f64, AtomicU64>>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
pub struct ScopeLabels {
    /// The hashed scope key (never the access key itself).
    pub scope: String,
}

/// How the rate reacts to throttling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aimd {
    /// `--rate`: the ceiling, and where every scope starts.
    pub max_rate: f64,
    /// `--burst` at `max_rate`.
    pub burst: f64,
    /// Factor applied on a 429 (multiplicative decrease).
    pub decrease: f64,
    /// Growth per second as a fraction of `max_rate` (additive increase).
    pub increase_per_second: f64,
    /// The rate never falls below this.
    pub min_rate: f64,
    /// Pause after a 429 that carries no `Retry-After`.
    pub default_pause: f64,
    /// A longer `Retry-After` is capped to this (a bogus header must not stall a scope for days).
    pub max_pause: f64,
}

impl Aimd {
    pub fn new(rate: f64, burst: u32) -> Self {
        let max_rate = if rate.is_finite() { rate.max(0.001) } else { 1.0 };
        Aimd {
            max_rate,
            burst: f64::from(burst.max(1)),
            decrease: 0.5,
            increase_per_second: 0.02,
            min_rate: (max_rate / 100.0).clamp(0.001, 0.1),
            default_pause: 1.0,
            max_pause: 300.0,
        }
    }
}

/// One scope's limiter state. Times are seconds on one monotonic clock, passed in.
#[derive(Debug, Clone, PartialEq)]
pub struct Limiter {
    aimd: Aimd,
    rate: f64,
    tokens: f64,
    /// When `rate` and `tokens` were last brought up to date.
    last: f64,
    /// No request before this (Retry-After).
    paused_until: f64,
    /// A 429 before this is part of the throttling already acted on.
    hold_until: f64,
}

impl Limiter {
    pub fn new(aimd: Aimd, now: f64) -> Self {
        Limiter {
            rate: aimd.max_rate,
            tokens: aimd.burst,
            last: now,
            paused_until: f64::MIN,
            hold_until: f64::MIN,
            aimd,
        }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    fn burst(&self) -> f64 {
        (self.aimd.burst * self.rate / self.aimd.max_rate).max(1.0)
    }

    /// Grows the rate and the tokens for the time since `last`; a pause accrues neither.
    fn advance(&mut self, now: f64) {
        let from = self.last.max(self.paused_until);
        if now > from {
            let dt = now - from;
            let grown =
                (self.rate + self.aimd.increase_per_second * self.aimd.max_rate * dt).min(self.aimd.max_rate);
            // Tokens at the mean rate over the interval (the rate grows linearly in it).
            self.tokens = (self.tokens + dt * (self.rate + grown) / 2.0).min(self.burst());
            self.rate = grown;
        }
        self.last = self.last.max(now);
    }

    /// Takes a token at `now`, or says how long to wait before trying again.
    pub fn try_acquire(&mut self, now: f64) -> Result<(), f64> {
        self.advance(now);
        if now < self.paused_until {
            return Err(self.paused_until - now);
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err((1.0 - self.tokens) / self.rate)
    }

    /// A call of this scope was throttled at `now`. Pauses the scope for `retry_after` (seconds)
    /// and, unless this 429 belongs to a throttling already acted on, halves the rate. Returns
    /// the new rate when it changed.
    pub fn throttled(&mut self, now: f64, retry_after: Option<f64>) -> Option<f64> {
        self.advance(now);
        let pause = retry_after
            .filter(|s| s.is_finite() && *s > 0.0)
            .unwrap_or(self.aimd.default_pause)
            .min(self.aimd.max_pause);
        self.paused_until = self.paused_until.max(now + pause);
        self.tokens = 0.0;
        if now < self.hold_until {
            return None;
        }
        self.hold_until = now + pause;
        let before = self.rate;
        self.rate = (self.rate * self.aimd.decrease).max(self.aimd.min_rate);
        (self.rate != before).then_some(self.rate)
    }
}

/// A scope's limiter on tokio's clock, reporting its rate to a gauge.
pub struct TokenBucket {
    epoch: Instant,
    state: Mutex<Limiter>,
    gauge: Option<Gauge<f64, AtomicU64>>,
    scope: String,
}

impl std::fmt::Debug for TokenBucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBucket")
            .field("scope", &self.scope)
            .field("rate", &self.rate())
            .finish()
    }
}

impl TokenBucket {
    pub fn new(rate: f64, burst: u32) -> Self {
        Self::with_aimd(Aimd::new(rate, burst), String::new(), None)
    }

    fn with_aimd(aimd: Aimd, scope: String, gauge: Option<Gauge<f64, AtomicU64>>) -> Self {
        if let Some(g) = &gauge {
            g.set(aimd.max_rate);
        }
        Self {
            epoch: Instant::now(),
            state: Mutex::new(Limiter::new(aimd, 0.0)),
            gauge,
            scope,
        }
    }

    fn now(&self) -> f64 {
        self.epoch.elapsed().as_secs_f64()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Limiter> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current effective rate (requests per second).
    pub fn rate(&self) -> f64 {
        self.lock().rate()
    }

    /// Waits until a token is available and takes it.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut limiter = self.lock();
                let was = limiter.rate();
                let result = limiter.try_acquire(self.now());
                let rate = limiter.rate();
                drop(limiter);
                if rate != was {
                    self.report(rate, was);
                }
                match result {
                    Ok(()) => return,
                    Err(wait) => Duration::from_secs_f64(wait.max(0.0)),
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// A call of this scope was answered 429.
    pub fn throttled(&self, retry_after: Option<Duration>) {
        let mut limiter = self.lock();
        let was = limiter.rate();
        let changed = limiter.throttled(self.now(), retry_after.map(|d| d.as_secs_f64()));
        drop(limiter);
        if let Some(rate) = changed {
            tracing::debug!(
                scope = %self.scope,
                from = was,
                to = rate,
                retry_after_ms = retry_after.map(|d| d.as_millis() as u64),
                "cloud throttled this credentials scope: request rate lowered"
            );
            self.report(rate, was);
        }
    }

    fn report(&self, rate: f64, was: f64) {
        if let Some(g) = &self.gauge {
            g.set(rate);
        }
        let max = self.lock().aimd.max_rate;
        if rate >= max && was < max {
            tracing::debug!(scope = %self.scope, rate, "request rate of this credentials scope back at --rate");
        }
    }
}

impl crate::cloud::gate::RequestGate for TokenBucket {
    fn acquire(&self) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(TokenBucket::acquire(self))
    }

    fn throttled(&self, retry_after: Option<Duration>) {
        TokenBucket::throttled(self, retry_after)
    }
}

/// Limiters by scope key; all start from one rate and burst.
#[derive(Debug)]
pub struct RateLimiters {
    aimd: Aimd,
    gauge: Option<RateGauge>,
    buckets: Mutex<HashMap<String, Arc<TokenBucket>>>,
}

impl RateLimiters {
    pub fn new(rate: f64, burst: u32) -> Self {
        Self {
            aimd: Aimd::new(rate, burst),
            gauge: None,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Report each scope's effective rate to `gauge` (label `scope`).
    pub fn with_gauge(mut self, gauge: RateGauge) -> Self {
        self.gauge = Some(gauge);
        self
    }

    pub fn for_scope(&self, scope: &str) -> Arc<TokenBucket> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets
            .entry(scope.to_string())
            .or_insert_with(|| {
                let gauge = self.gauge.as_ref().map(|g| {
                    g.get_or_create(&ScopeLabels {
                        scope: scope.to_string(),
                    })
                    .clone()
                });
                Arc::new(TokenBucket::with_aimd(self.aimd, scope.to_string(), gauge))
            })
            .clone()
    }
}

#[cfg(test)]
#[path = "ratelimit_tests.rs"]
mod tests;
