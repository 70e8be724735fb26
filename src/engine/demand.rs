//! Reads on demand, priced: when many objects want their cloud resource's state at once (a
//! burst of creates waiting for a transition, a restart), one listing of every resource (one call
//! per page) is cheaper than a GET each. Objects then wait briefly for the drift poller's next
//! listing instead of reading alone; few objects, or one that waited long enough, still GET.
use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};
use tokio::sync::Notify;

/// A listing is sent at once when waiting objects outnumber its pages this many times over (its
/// cost per object is then 1/FACTOR of a GET); otherwise after `COLLECT`, if it costs no more
/// than the GETs it saves.
pub const FACTOR: usize = 10;
/// Reads defer only while at least this many times a listing's pages are asked for per second:
/// a listing then serves many objects; a few reads go alone, at once.
pub const DEFER_AT: usize = 2;
/// How long a deferred read waits for a listing before it reads alone.
pub const MAX_WAIT: Duration = Duration::from_secs(3);
/// How long the poller collects waiting objects after the first one before it decides.
pub const COLLECT: Duration = Duration::from_secs(1);
/// Reads asked for are counted per window; a busy window defers the next reads.
const WINDOW: Duration = Duration::from_secs(1);

#[derive(Default)]
pub struct ReadDemand {
    /// Set by the drift poller when it runs: without one nobody lists, so nothing defers.
    active: AtomicBool,
    /// Set once the poller's first listing finished (or failed): before it, every read waits.
    first_listed: AtomicBool,
    /// Pages a full listing costs, as the poller last estimated.
    list_cost: AtomicUsize,
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Default)]
struct State {
    /// Object UID → when it first deferred its read.
    waiting: HashMap<String, Instant>,
    window_start: Option<Instant>,
    asks_this_window: usize,
    asks_last_window: usize,
}

impl State {
    fn ask(&mut self, now: Instant) -> usize {
        match self.window_start {
            Some(start) if now.duration_since(start) < WINDOW => {}
            Some(start) if now.duration_since(start) < 2 * WINDOW => {
                self.asks_last_window = self.asks_this_window;
                self.asks_this_window = 0;
                self.window_start = Some(start + WINDOW);
            }
            _ => {
                self.asks_last_window = 0;
                self.asks_this_window = 0;
                self.window_start = Some(now);
            }
        }
        self.asks_this_window += 1;
        self.asks_this_window.max(self.asks_last_window)
    }
}

impl ReadDemand {
    /// True when the object should wait for the next listing instead of a GET now (and it is
    /// then counted as waiting); false when it should read alone.
    pub fn defer(&self, uid: &str) -> bool {
        if !self.active.load(Ordering::Relaxed) {
            return false;
        }
        let first_listed = self.first_listed.load(Ordering::Relaxed);
        let now = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(since) = state.waiting.get(uid).copied() {
            if first_listed && now.duration_since(since) >= MAX_WAIT {
                state.waiting.remove(uid);
                return false;
            }
            return true;
        }
        let asks = state.ask(now);
        let cost = self.list_cost.load(Ordering::Relaxed).max(1);
        if first_listed && asks < DEFER_AT * cost {
            return false;
        }
        state.waiting.insert(uid.to_string(), now);
        let waiting = state.waiting.len();
        drop(state);
        if waiting == 1 || waiting >= FACTOR * cost {
            self.notify.notify_one();
        }
        true
    }

    /// The object got its state (a fresh listing or a GET): it waits no more.
    pub fn done(&self, uid: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.waiting.remove(uid);
    }

    pub fn waiting(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).waiting.len()
    }

    /// The UIDs waiting for a listing, which the poller wakes after it listed.
    pub fn waiting_uids(&self) -> Vec<String> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.waiting.keys().cloned().collect()
    }

    // ---- the poller's side ----

    pub fn activate(&self) {
        self.active.store(true, Ordering::Relaxed);
    }

    pub fn first_listing_done(&self) {
        self.first_listed.store(true, Ordering::Relaxed);
    }

    pub fn set_list_cost(&self, pages: usize) {
        self.list_cost.store(pages.max(1), Ordering::Relaxed);
    }

    pub fn list_cost(&self) -> usize {
        self.list_cost.load(Ordering::Relaxed).max(1)
    }

    /// Resolves when an object starts waiting or enough are waiting for a listing to pay.
    pub async fn asked(&self) {
        self.notify.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_poller_nothing_defers() {
        let d = ReadDemand::default();
        assert!(!d.defer("a"));
        assert_eq!(d.waiting(), 0);
    }

    #[test]
    fn before_the_first_listing_every_read_waits_for_it() {
        let d = ReadDemand::default();
        d.activate();
        assert!(d.defer("a"));
        assert!(d.defer("b"));
        assert_eq!(d.waiting(), 2);
        d.done("a");
        assert_eq!(d.waiting_uids(), vec!["b".to_string()]);
    }

    #[test]
    fn few_reads_go_alone_and_many_wait_for_a_listing() {
        let d = ReadDemand::default();
        d.activate();
        d.first_listing_done();
        d.set_list_cost(2);
        let deferred = (0..100).filter(|i| d.defer(&format!("o{i}"))).count();
        // The first DEFER_AT × cost - 1 reads of the window go alone; every later one waits.
        assert_eq!(deferred, 100 - (DEFER_AT * 2 - 1));
    }
}
