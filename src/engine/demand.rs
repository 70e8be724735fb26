//! Reads on demand from the poller's listing instead of one GET per object. After a burst of
//! creates every object needs its cloud state read once more (the create answer says
//! `CREATING`); one paged listing answers 200 of them per call. A reconcile that finds no fresh
//! snapshot entry asks here and returns without writing anything. A listing for waiters ends
//! once it showed them all, and a newest-first listing shows a resource just created on its
//! first page: it is priced at the pages its farthest waiter needs (`Snapshot::pages_to`), not
//! at the whole listing. The poller lists as soon as [`WAITERS_PER_PAGE`] objects per such page
//! wait (spaced so listings take at most half the time) and wakes them; their next pass reads
//! the fresh entry. After [`GATHER`] it lists for as many waiters as pages; fewer are released
//! to read alone, a listing would cost more than their GETs. A listing is as good as a GET for
//! freshness (it starts after the request); a resource the listing does not show is read by GET
//! as before, so nothing is concluded from a listing's silence.
use kube::runtime::reflector::ObjectRef;
use std::{
    collections::{HashMap, HashSet},
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// How long an object waits for a listing before it reads alone: a safety net for a poller
/// that does not serve (a failed listing serves its waiters too). Against a tight cloud quota
/// a listing's pages queue at the token bucket among the reconciles' calls, a 50-page listing
/// takes tens of seconds, and a waiter that came during one waits for the next as well. Scale
/// bench, 10,000 notebooks, quota 100/s: 5,319 GETs by ID at 10 s, 3,107 at 30 s.
const MAX_WAIT: Duration = Duration::from_secs(30);
/// How long the first waiter waits for others to make a listing worth its pages.
const GATHER: Duration = Duration::from_secs(1);
/// Waiters each page must serve before a listing starts without gathering: the budget
/// is 0.2 reads per object after its create, and a slower machine must not spend more.
const WAITERS_PER_PAGE: usize = 8;
/// The shortest pause between two listings on demand.
const MIN_SPACING: Duration = Duration::from_millis(250);

struct Waiter<R: kube::Resource<DynamicType = ()>> {
    obj: ObjectRef<R>,
    /// The cloud resource it waits to see: a listing for waiters ends once it showed them all.
    id: String,
    /// Pages of a newest-first listing it takes to show it (`Snapshot::pages_to`).
    pages: usize,
    since: Instant,
    /// Set when a listing that started after `since` finished: the next miss reads by GET.
    served: bool,
}

struct State<R: kube::Resource<DynamicType = ()>> {
    waiting: HashMap<String, Waiter<R>>,
    last_started: Option<Instant>,
    last_took: Duration,
}

/// What the poller is asked to do by [`Demand::wanted`].
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    /// List now: enough objects wait to pay for it.
    List,
    /// Too few waited for [`GATHER`]: wake them to read alone ([`Demand::release`]).
    Release,
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
    /// True when the object `uid` should wait for the next listing to show its cloud resource
    /// `id` instead of reading alone (a listing shows it within `pages` pages). False once a
    /// listing after its request, or the release of too few waiters, did not bring a fresh
    /// entry, or after [`MAX_WAIT`].
    pub fn defer(&self, uid: &str, obj: ObjectRef<R>, id: &str, pages: usize) -> bool {
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
        state.waiting.insert(
            uid.to_string(),
            Waiter {
                obj,
                id: id.to_string(),
                pages: pages.max(1),
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

    /// Resolves when objects wait: [`Wanted::List`] once a listing pays for its pages (no
    /// sooner than the spacing allows), [`Wanted::Release`] when fewer than its pages waited
    /// [`GATHER`].
    /// Cancel safe: it decides, the poller acts.
    pub async fn wanted(&self) -> Wanted {
        loop {
            let (decision, wait) = self.decide(Instant::now());
            match (decision, wait) {
                (Some(decision), None) => return decision,
                (Some(decision), Some(wait)) => {
                    tokio::time::sleep(wait).await;
                    return decision;
                }
                (None, Some(wait)) => {
                    tokio::select! {
                        _ = self.wanted.notified() => {}
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                (None, None) => self.wanted.notified().await,
            }
        }
    }

    /// The decision at `now` and how long to wait: before acting (spacing), or before
    /// deciding again (gathering).
    fn decide(&self, now: Instant) -> (Option<Wanted>, Option<Duration>) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let unserved = || state.waiting.values().filter(|w| !w.served);
        let Some(oldest) = unserved().map(|w| w.since).min() else {
            return (None, None);
        };
        let count = unserved().count();
        // A listing for them reads as far as the farthest one.
        let pages = unserved().map(|w| w.pages).max().unwrap_or(1);
        let gathering = (oldest + GATHER)
            .checked_duration_since(now)
            .filter(|l| !l.is_zero());
        if count >= pages * WAITERS_PER_PAGE || (count >= pages && gathering.is_none()) {
            let spacing = MIN_SPACING.max(state.last_took);
            let wait = state
                .last_started
                .map(|t| (t + state.last_took + spacing).saturating_duration_since(now))
                .filter(|w| !w.is_zero());
            return (Some(Wanted::List), wait);
        }
        match gathering {
            Some(left) => (None, Some(left)),
            None => (Some(Wanted::Release), None),
        }
    }

    /// Too few waited for a listing: they are marked served (their next miss reads alone)
    /// and returned to be woken.
    pub fn release(&self) -> Vec<ObjectRef<R>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let mut wake = Vec::new();
        for w in state.waiting.values_mut().filter(|w| !w.served) {
            w.served = true;
            wake.push(w.obj.clone());
        }
        wake
    }

    /// The cloud IDs the objects waiting now want to see, and the pages a newest-first
    /// listing takes to show the farthest: a listing on demand can end once it showed them all
    /// (most were created last, so it shows them first).
    pub fn sought(&self) -> (HashSet<String>, usize) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let unserved = || state.waiting.values().filter(|w| !w.served);
        let pages = unserved().map(|w| w.pages).max().unwrap_or(1);
        (unserved().map(|w| w.id.clone()).collect(), pages)
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

    #[cfg(test)]
    fn waiting(&self) -> usize {
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
        assert!(!demand.defer("a", obj("a"), "a", 1));
    }

    #[test]
    fn too_few_waiters_for_a_listing_are_released_to_read_alone_after_gathering() {
        let demand = served();
        assert_eq!(demand.decide(Instant::now()), (None, None), "nobody waits");
        assert!(demand.defer("a", obj("a"), "a", 3));
        let now = Instant::now();
        assert!(
            matches!(demand.decide(now), (None, Some(left)) if left <= GATHER),
            "one waiter for a three-page listing gathers others first"
        );
        assert_eq!(demand.decide(now + GATHER), (Some(Wanted::Release), None));
        assert_eq!(demand.release(), vec![obj("a")]);
        assert!(!demand.defer("a", obj("a"), "a", 3), "released: it reads alone");
        assert_eq!(demand.decide(Instant::now()), (None, None));
    }

    #[test]
    fn eight_waiters_a_page_are_listed_for_at_once_as_many_as_pages_after_gathering() {
        let demand = served();
        for name in ["a", "b", "c"] {
            assert!(demand.defer(name, obj(name), name, 3));
        }
        let now = Instant::now();
        assert!(
            matches!(demand.decide(now), (None, Some(_))),
            "three waiters for three pages gather others first"
        );
        assert_eq!(demand.decide(now + GATHER), (Some(Wanted::List), None));
        let names: Vec<String> = (0..3 * WAITERS_PER_PAGE).map(|i| format!("w{i}")).collect();
        for name in &names {
            assert!(demand.defer(name, obj(name), name, 3));
        }
        assert!(
            matches!(demand.decide(Instant::now()), (Some(Wanted::List), None)),
            "eight waiters a page pay for a listing at once"
        );
        let started = demand.started();
        assert_eq!(demand.finished(started).len(), names.len() + 3);
        for name in &names {
            assert!(demand.defer(&format!("next-{name}"), obj(name), &format!("next-{name}"), 3));
        }
        assert!(
            matches!(demand.decide(Instant::now()), (Some(Wanted::List), Some(_))),
            "the next listing waits out the spacing"
        );
    }

    #[test]
    fn a_waiter_is_woken_by_the_next_listing_and_reads_alone_if_it_still_misses() {
        let demand = served();
        assert!(demand.defer("a", obj("a"), "a", 1));
        assert!(
            demand.defer("a", obj("a"), "a", 1),
            "still waiting for the listing"
        );
        let started = demand.started();
        assert!(
            demand.defer("b", obj("b"), "b", 1),
            "asked after the listing started"
        );
        let woken = demand.finished(started);
        assert_eq!(woken, vec![obj("a")]);
        assert!(
            !demand.defer("a", obj("a"), "a", 1),
            "the listing did not answer it: a GET"
        );
        assert!(
            demand.defer("b", obj("b"), "b", 1),
            "b waits for the next listing"
        );
        let next = demand.started();
        assert_eq!(demand.finished(next), vec![obj("b")]);
        assert!(demand.done("b"));
        assert_eq!(demand.waiting(), 0);
    }

    #[test]
    fn a_listing_is_priced_at_the_pages_its_farthest_waiter_needs() {
        let demand = served();
        // Just created: a listing shows it on its first page, so one waiter pays for it.
        assert!(demand.defer("new", obj("new"), "id-new", 1));
        let now = Instant::now();
        assert!(matches!(demand.decide(now), (None, Some(_))), "gathering");
        assert_eq!(demand.decide(now + GATHER).0, Some(Wanted::List));
        // One listed far down the last time: two waiters do not pay for ten pages.
        assert!(demand.defer("old", obj("old"), "id-old", 10));
        assert_eq!(demand.sought().1, 10);
        assert_eq!(
            demand.decide(Instant::now() + GATHER),
            (Some(Wanted::Release), None)
        );
    }

    #[test]
    fn a_listing_seeks_the_resources_of_the_objects_still_waiting() {
        let demand = served();
        assert!(demand.defer("uid-a", obj("a"), "id-a", 1));
        let started = demand.started();
        assert!(demand.defer("uid-b", obj("b"), "id-b", 1));
        let both: HashSet<String> = ["id-a".to_string(), "id-b".into()].into();
        assert_eq!(demand.sought(), (both, 1));
        demand.finished(started);
        assert_eq!(demand.sought(), (["id-b".to_string()].into(), 1), "a was served");
    }
}
