//! The cloud's clock, as its responses' `Date` headers tell it. Lease expiry times come in the
//! cloud's time; comparing them with a skewed local clock would renew too late (or too often).
use reqwest::header::{DATE, HeaderMap};
use std::sync::atomic::{AtomicI64, Ordering};

/// Cloud time minus local time, in milliseconds (one value per process: every region of a cloud
/// shares one clock).
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// `Date` has one-second resolution; smaller differences are noise, not skew.
const NOISE_MS: i64 = 2_000;

/// Records the skew a response's `Date` header shows.
pub fn observe(headers: &HeaderMap) {
    let Some(date) = headers.get(DATE).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let Ok(at) = jiff::fmt::rfc2822::parse(date) else {
        return;
    };
    let offset = at.timestamp().as_millisecond() - jiff::Timestamp::now().as_millisecond();
    if (offset - OFFSET_MS.load(Ordering::Relaxed)).abs() > NOISE_MS {
        OFFSET_MS.store(offset, Ordering::Relaxed);
    }
}

/// The cloud's current time in epoch milliseconds.
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond() + OFFSET_MS.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_header_hours_ahead_moves_the_cloud_clock_and_noise_does_not() {
        let ahead = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(40);
        let mut headers = HeaderMap::new();
        let text = jiff::fmt::rfc2822::DateTimePrinter::new()
            .timestamp_to_rfc9110_string(&ahead)
            .expect("printable");
        headers.insert(DATE, text.parse().expect("header value"));
        observe(&headers);
        let skew = now_ms() - jiff::Timestamp::now().as_millisecond();
        assert!((skew - 40 * 3_600_000).abs() < 3_000, "skew {skew}");
        OFFSET_MS.store(0, Ordering::Relaxed);
    }
}
