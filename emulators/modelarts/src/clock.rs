//! Emulated time: the wall clock plus an offset the control API can move forward, so a test
//! can let a one-hour auto-stop lease expire without waiting an hour.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Emulated now, in epoch milliseconds (the unit of every notebook timestamp).
    pub fn now_ms(&self) -> i64 {
        jiff::Timestamp::now().as_millisecond() + self.offset_ms.load(Ordering::Relaxed)
    }

    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 4);
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }

    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

/// RFC 3339 (`2025-11-01T03:49:41Z`), the timestamp format of the v2 pool API.
pub fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_emulated_time_forward_and_reset_undoes_it() {
        let clock = Clock::default();
        let before = clock.now_ms();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now_ms() - before >= 3_600_000);
        clock.reset();
        assert!(clock.now_ms() - before < 3_600_000);
    }

    #[test]
    fn pool_timestamps_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(1_735_689_600_000), "2025-01-01T00:00:00Z");
    }
}
