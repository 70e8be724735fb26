use super::*;

fn aimd(rate: f64, burst: u32) -> Aimd {
    Aimd::new(rate, burst)
}

/// Tokens taken in `[from, to)` by a caller that asks every `step` seconds.
fn taken(l: &mut Limiter, from: f64, to: f64, step: f64) -> usize {
    let mut n = 0;
    let mut t = from;
    while t < to {
        while l.try_acquire(t).is_ok() {
            n += 1;
        }
        t += step;
    }
    n
}

#[test]
fn a_fresh_limiter_serves_its_burst_then_the_rate() {
    let mut l = Limiter::new(aimd(10.0, 5), 0.0);
    assert_eq!(taken(&mut l, 0.0, 0.001, 1.0), 5, "the burst needs no waiting");
    let wait = l.try_acquire(0.0).unwrap_err();
    assert!((wait - 0.1).abs() < 1e-9, "{wait}");
    assert_eq!(taken(&mut l, 0.1, 1.1, 0.01), 10, "10/s afterwards");
}

#[test]
fn a_429_halves_the_rate_once_per_retry_after_window() {
    let mut l = Limiter::new(aimd(100.0, 10), 0.0);
    assert_eq!(l.throttled(1.0, Some(2.0)), Some(50.0));
    // The in-flight calls' 429s inside the window count once.
    assert_eq!(l.throttled(1.01, Some(2.0)), None);
    assert_eq!(l.throttled(2.9, Some(2.0)), None);
    assert_eq!(l.rate(), 50.0);
    // After the window, a new 429 is a new throttling.
    assert_eq!(l.throttled(3.5, Some(1.0)), Some(25.0));
}

#[test]
fn no_call_leaves_the_scope_before_retry_after_has_elapsed() {
    let mut l = Limiter::new(aimd(100.0, 100), 0.0);
    l.throttled(1.0, Some(3.0));
    let wait = l.try_acquire(1.5).unwrap_err();
    assert!((wait - 2.5).abs() < 1e-9, "{wait}");
    assert!(l.try_acquire(3.99).is_err(), "still paused");
    // The bucket starts empty after the pause: the first token comes at the new rate (50/s).
    assert!(l.try_acquire(4.0).is_err());
    assert!(l.try_acquire(4.021).is_ok());
}

#[test]
fn a_429_without_retry_after_pauses_one_second_and_a_huge_one_is_capped() {
    let mut l = Limiter::new(aimd(100.0, 100), 0.0);
    l.throttled(0.0, None);
    assert!(l.try_acquire(0.99).is_err());
    assert!(taken(&mut l, 1.0, 1.2, 0.01) > 0);
    let mut l = Limiter::new(aimd(100.0, 100), 0.0);
    l.throttled(0.0, Some(1e9));
    let wait = l.try_acquire(0.0).unwrap_err();
    assert_eq!(wait, 300.0);
}

#[test]
fn the_rate_recovers_additively_up_to_the_ceiling() {
    let mut l = Limiter::new(aimd(1000.0, 1000), 0.0);
    l.throttled(0.0, Some(1.0));
    assert_eq!(l.rate(), 500.0);
    // Paused: no growth during the pause.
    let _ = l.try_acquire(1.0);
    assert_eq!(l.rate(), 500.0);
    // +2 % of 1000 = 20/s per second.
    let _ = l.try_acquire(6.0);
    assert!((l.rate() - 600.0).abs() < 1e-6, "{}", l.rate());
    let _ = l.try_acquire(100.0);
    assert_eq!(l.rate(), 1000.0, "capped at --rate");
}

#[test]
fn repeated_throttling_never_goes_below_the_floor() {
    let mut l = Limiter::new(aimd(20.0, 40), 0.0);
    for i in 0..100 {
        l.throttled(f64::from(i), Some(1.0));
    }
    assert!(l.rate() >= 0.1 - 1e-12 && l.rate() <= 0.2, "{}", l.rate());
}

#[test]
fn the_burst_shrinks_with_the_rate() {
    let mut l = Limiter::new(aimd(1000.0, 1000), 0.0);
    l.throttled(0.0, Some(1.0));
    // A long lull right after: rate grows, but look at the tokens saved just after the pause.
    let saved = taken(&mut l, 2.0, 2.001, 1.0);
    assert!(saved <= 520, "at most about one second at 500/s, got {saved}");
}

/// A server with a token-bucket quota of `q`/s (burst `q`) answering 429 with `Retry-After: 1`,
/// and 64 workers that always have work, each call taking 5 ms: the scope's AIMD keeps most of
/// `q` in use with few 429s.
#[test]
fn against_a_quota_well_below_the_rate_most_of_it_is_used_with_few_429s() {
    let q: f64 = 200.0;
    let (concurrency, latency, step, end) = (64, 0.005, 0.0005, 120.0);
    let mut server_tokens = q;
    let mut l = Limiter::new(aimd(1000.0, 1000), 0.0);
    let (mut ok, mut throttled) = (0u32, 0u32);
    // Calls in flight: (when the answer arrives, throttled?).
    let mut in_flight: Vec<(f64, bool)> = Vec::new();
    let mut t = 0.0;
    while t < end {
        server_tokens = (server_tokens + q * step).min(q);
        in_flight.retain(|&(at, was_throttled)| {
            if at > t {
                return true;
            }
            if was_throttled {
                l.throttled(at, Some(1.0));
            }
            false
        });
        while in_flight.len() < concurrency && l.try_acquire(t).is_ok() {
            let admitted = server_tokens >= 1.0;
            if admitted {
                server_tokens -= 1.0;
                ok += 1;
            } else {
                throttled += 1;
            }
            in_flight.push((t + latency, !admitted));
        }
        t += step;
    }
    let used = f64::from(ok) / (q * end);
    let throttled_fraction = f64::from(throttled) / f64::from(ok + throttled);
    eprintln!("used {used:.3} of the quota, {throttled_fraction:.4} of calls throttled");
    assert!(used >= 0.85, "used {used:.3} of the quota");
    assert!(throttled_fraction <= 0.02, "throttled {throttled_fraction:.4}");
}

#[tokio::test(start_paused = true)]
async fn the_async_bucket_waits_out_a_pause_and_reports_its_rate() {
    let gauge = RateGauge::default();
    let limiters = RateLimiters::new(10.0, 5).with_gauge(gauge.clone());
    let bucket = limiters.for_scope("s");
    let g = gauge.get_or_create(&ScopeLabels { scope: "s".into() }).clone();
    assert_eq!(g.get(), 10.0);
    let start = Instant::now();
    for _ in 0..5 {
        bucket.acquire().await;
    }
    assert_eq!(start.elapsed(), Duration::ZERO, "the burst needs no waiting");
    bucket.throttled(Some(Duration::from_secs(2)));
    assert_eq!(g.get(), 5.0);
    bucket.acquire().await;
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(2190) && elapsed <= Duration::from_millis(2300),
        "{elapsed:?}: the 2 s pause, then 1/5 s for a token"
    );
}

#[test]
fn every_scope_gets_its_own_limiter_and_every_object_of_a_scope_the_same() {
    let limiters = RateLimiters::new(1.0, 1);
    let a = limiters.for_scope("ak1/cn-north-4/p");
    let a2 = limiters.for_scope("ak1/cn-north-4/p");
    let b = limiters.for_scope("ak2/cn-north-4/p");
    assert!(Arc::ptr_eq(&a, &a2));
    assert!(!Arc::ptr_eq(&a, &b));
    a.throttled(None);
    assert_eq!(a2.rate(), 0.5, "one object's 429 slows the whole scope");
    assert_eq!(b.rate(), 1.0, "another scope is untouched");
}
