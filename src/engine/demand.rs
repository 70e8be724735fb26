//! Reads on demand from the poller's listing instead of one GET per object. After a burst of
//! creates every object needs its cloud state read once more (the create answer says
//! `CREATING`); one paged listing answers 200 of them per call. A reconcile that finds no fresh
//! snapshot entry asks here: when enough objects wait to pay for a listing, it returns without
//! writing anything, the poller lists at once (spaced so listings take at most half the time)
//! and wakes it, and its next pass reads the fresh entry. A listing is as good as a GET for
//! freshness (it starts after the request); a resource the listing does not show is read by
//! GET as before, so nothing is concluded from a listing's silence.
use kube::runtime::reflector::ObjectRef;
use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// How long an object waits for a listing before it reads alone.
const MAX_WAIT: Duration = Duration::from_secs(10);
/// The shortest pause between two listings on demand.
const MIN_SPACING: Duration = Duration::from_millis(250);

struct Waiter<R: kube::Resource<DynamicType = ()>> {
    obj: ObjectRef<R>,
    since: Instant,
    /// Set when a listing that started after `since` finished: the next miss reads by GET.
    served: bool,
}

struct State<R: kube::Resource<DynamicType = ()>> {
    waiting: HashMap<String, Waiter<R>>,
    last_started: Option<Instant>,
    last_took: Duration,
}

pub struct Demand<R: kube::Resource<DynamicType = ()>> {
    state: Mutex<State<R>>,
    wanted: tokio::sync::Notify,
    /// Set by the poller that lists on demand; without one every object reads alone.
    served: AtomicBool,
}

impl<R: kube::Resource<DynamicType = ()>> Default for Demand<R> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                waiting: HashMap::new(),
                last_started: None,
                last_took: Duration::ZERO,
            }),
            wanted: tokio::sync::Notify::new(),
            served: AtomicBool::new(false),
        }
    }
}

impl<R: kube::Resource<DynamicType = ()>> Demand<R> {
    /// True when the object `uid` should wait for the next listing instead of reading alone:
    /// a listing is due anyway, or enough objects wait to pay for its `pages`. False once a
    /// listing after its request did not bring a fresh entry, or after [`MAX_WAIT`].
    pub fn defer(&self, uid: &str, obj: ObjectRef<R>, pages: usize) -> bool {
        if !self.served.load(Ordering::Relaxed) {
            return false;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = state.waiting.get(uid) {
            if w.served || w.since.elapsed() > MAX_WAIT {
                state.waiting.remove(uid);
                return false;
            }
            return true;
        }
        let pending = state.waiting.values().filter(|w| !w.served).count();
        // A listing of `pages` pages is worth it once it answers more objects than it costs.
        if pending + 1 < pages {
            return false;
        }
        state.waiting.insert(
            uid.to_string(),
            Waiter {
                obj,
                since: Instant::now(),
                served: false,
            },
        );
        drop(state);
        self.wanted.notify_one();
        true
    }

    /// Called by the poller that will list when [`Demand::wanted`] resolves.
    pub fn serve(&self) {
        self.served.store(true, Ordering::Relaxed);
    }

    /// Resolves when an object waits for a listing, no sooner than the spacing allows.
    pub async fn wanted(&self) {
        loop {
            self.wanted.notified().await;
            let wait = {
                let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if !state.waiting.values().any(|w| !w.served) {
                    continue;
                }
                let spacing = MIN_SPACING.max(state.last_took);
                state
                    .last_started
                    .map(|t| (t + state.last_took + spacing).saturating_duration_since(Instant::now()))
                    .unwrap_or_default()
            };
            tokio::time::sleep(wait).await;
            return;
        }
    }

    /// A listing starts now.
    pub fn started(&self) -> Instant {
        let now = Instant::now();
        self.state.lock().unwrap_or_else(|e| e.into_inner()).last_started = Some(now);
        now
    }

    /// The listing that started at `started` finished: the objects that asked before it are
    /// marked served and returned to be woken; those served by the previous one are dropped.
    pub fn finished(&self, started: Instant) -> Vec<ObjectRef<R>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.last_took = started.elapsed();
        state.waiting.retain(|_, w| !w.served);
        let mut wake = Vec::new();
        for w in state.waiting.values_mut() {
            if w.since <= started {
                w.served = true;
                wake.push(w.obj.clone());
            }
        }
        // Objects that asked while this listing ran wait for the next one.
        if state.waiting.values().any(|w| !w.served) {
            self.wanted.notify_one();
        }
        wake
    }

    /// Forgets `uid` (its reconcile found what it needed, or it is gone); true when it waited.
    pub fn done(&self, uid: &str) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.waiting.remove(uid).is_some()
    }

    pub fn waiting(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::notebook::Notebook;

    fn obj(name: &str) -> ObjectRef<Notebook> {
        ObjectRef::new(name).within("ns")
    }

    fn served() -> Demand<Notebook> {
        let demand = Demand::<Notebook>::default();
        demand.serve();
        demand
    }

    #[test]
    fn without_a_poller_every_object_reads_alone() {
        let demand = Demand::<Notebook>::default();
        assert!(!demand.defer("a", obj("a"), 1));
    }

    #[test]
    fn one_object_reads_alone_when_a_listing_costs_more_pages_than_objects_wait() {
        let demand = served();
        assert!(!demand.defer("a", obj("a"), 3));
        assert!(!demand.defer("b", obj("b"), 3));
        assert_eq!(demand.waiting(), 0);
        assert!(
            demand.defer("a", obj("a"), 1),
            "a one-page listing serves one object"
        );
    }

    #[test]
    fn a_waiter_is_woken_by_the_next_listing_and_reads_alone_if_it_still_misses() {
        let demand = served();
        assert!(demand.defer("a", obj("a"), 1));
        assert!(demand.defer("a", obj("a"), 1), "still waiting for the listing");
        let started = demand.started();
        assert!(demand.defer("b", obj("b"), 1), "asked after the listing started");
        let woken = demand.finished(started);
        assert_eq!(woken, vec![obj("a")]);
        assert!(
            !demand.defer("a", obj("a"), 1),
            "the listing did not answer it: a GET"
        );
        assert!(demand.defer("b", obj("b"), 1), "b waits for the next listing");
        let next = demand.started();
        assert_eq!(demand.finished(next), vec![obj("b")]);
        assert!(demand.done("b"));
        assert_eq!(demand.waiting(), 0);
    }
}
