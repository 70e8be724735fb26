//! The cloud-side snapshot: every cloud resource of one kind, listed on a jittered interval and
//! indexed by ID, so drift is found without per-object polling and reconciles can skip a GET.
use super::{
    key::Key,
    pack::{Body, Pack, Packer},
};
use std::{
    collections::{HashMap, HashSet},
    sync::{
        RwLock,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

#[derive(Debug, Clone)]
pub struct Entry<T> {
    pub remote: T,
    /// When the list that produced this entry started.
    pub listed_at: Instant,
    /// For an entry a single object's GET produced: that object's version key. Only the same
    /// object, unchanged, may reuse it; any edit to the object earns a fresh read.
    pub read_for: Option<u64>,
    /// The page of the last listing that showed it (0 first), so a listing that seeks it can
    /// tell how far to read; `None` when only a GET has seen it.
    pub page: Option<u32>,
}

/// One listing in progress: pages go in with [`Snapshot::page`], the end with
/// [`Snapshot::finish`] (or, for a listing that ended early, [`Listing::abandon`]).
#[derive(Debug)]
pub struct Listing {
    listed_at: Instant,
    seen: HashSet<Key>,
    changed: Vec<String>,
    /// Pages applied so far.
    pages: u32,
}

impl Listing {
    /// A listing whose first request starts now-ish, at `listed_at`.
    pub fn new(listed_at: Instant) -> Self {
        Self {
            listed_at,
            seen: HashSet::new(),
            changed: Vec::new(),
            pages: 0,
        }
    }

    /// A listing that ended before its last page (it found what it sought, or failed):
    /// nothing is concluded about resources it did not reach. Returns the IDs its pages changed
    /// or added, and the IDs it showed together with those of `previous_ids` it did not reach,
    /// which stay candidates for vanishing (the next listing's `previous_ids`).
    pub fn abandon(self, previous_ids: &[Key]) -> (Vec<String>, Vec<Key>) {
        let Listing {
            mut seen, changed, ..
        } = self;
        seen.extend(previous_ids.iter().cloned());
        (changed, seen.into_iter().collect())
    }
}

/// An entry as held: the remote packed (`engine::pack`), the rest as in [`Entry`].
#[derive(Debug)]
struct Stored<T> {
    body: Body<T>,
    listed_at: Instant,
    read_for: Option<u64>,
    page: Option<u32>,
}

#[derive(Debug)]
pub struct Snapshot<T> {
    entries: RwLock<HashMap<Key, Stored<T>>>,
    /// Packs and unpacks the entries' remotes.
    packer: Packer,
    /// When the operator last changed each cloud resource, whichever object did it: an entry
    /// listed or read earlier is stale for every object (a Retain untag followed by an
    /// adoption must not see the old owner tag).
    mutated: RwLock<HashMap<Key, Instant>>,
    /// When a listing last found each resource gone (kept for a while): a gate held on a
    /// resource's state reopens when the resource disappears, not only when its state moves.
    vanished: RwLock<HashMap<Key, Instant>>,
    /// Whether a complete listing has ended since the operator started: until then an ID the
    /// snapshot lacks may be anywhere in a listing (a restart), not among the newest.
    complete: AtomicBool,
}

/// How long a disappearance is remembered.
const VANISHED_TTL: Duration = Duration::from_secs(600);

impl<T> Default for Snapshot<T> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            packer: Packer::default(),
            mutated: RwLock::new(HashMap::new()),
            vanished: RwLock::new(HashMap::new()),
            complete: AtomicBool::new(false),
        }
    }
}

impl<T: Pack> Snapshot<T> {
    /// A fresh enough entry listed after the operator last changed the resource.
    pub fn fresh(&self, id: &str, max_age: Duration, touched: Option<Instant>, reader: u64) -> Option<T> {
        let id = &Key::new(id);
        let mutated = self
            .mutated
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .copied();
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(id)?;
        let fresh = entry.listed_at.elapsed() <= max_age
            && touched.is_none_or(|t| entry.listed_at > t)
            && mutated.is_none_or(|t| entry.listed_at > t)
            && entry.read_for.is_none_or(|r| r == reader);
        if !fresh {
            return None;
        }
        self.packer.unpack(&entry.body)
    }

    /// The entry for `id`, however old (callers compare `listed_at` themselves).
    pub fn entry(&self, id: &str) -> Option<Entry<T>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let stored = entries.get(&Key::new(id))?;
        Some(Entry {
            remote: self.packer.unpack(&stored.body)?,
            listed_at: stored.listed_at,
            read_for: stored.read_for,
            page: stored.page,
        })
    }

    /// When the listing or read behind `id`'s entry started, without decoding the entry.
    pub fn listed_at(&self, id: &str) -> Option<Instant> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(&Key::new(id)).map(|e| e.listed_at)
    }

    /// When a listing found `id` gone, if it did within the last minutes and it has not
    /// reappeared since.
    pub fn vanished_at(&self, id: &str) -> Option<Instant> {
        let vanished = self.vanished.read().unwrap_or_else(|e| e.into_inner());
        vanished.get(&Key::new(id)).copied()
    }

    /// Records that the operator just changed cloud resource `id`.
    pub fn mutated(&self, id: &str) {
        let mut mutated = self.mutated.write().unwrap_or_else(|e| e.into_inner());
        mutated.insert(Key::new(id), Instant::now());
    }

    /// Replaces the entries of one scope's listing; returns the IDs whose cloud object changed,
    /// appeared or disappeared since the previous listing of that scope.
    pub fn replace(&self, previous_ids: &[Key], listed: Vec<(String, T)>, listed_at: Instant) -> Vec<String> {
        let mut listing = Listing::new(listed_at);
        self.page(&mut listing, listed);
        self.finish(listing, previous_ids).0
    }

    /// Applies one page of a listing started at `listing.listed_at`: its entries are the
    /// snapshot's at once (a page at a time, so a poll never holds a whole listing beside the
    /// snapshot); changed and new IDs are collected in `listing`.
    pub fn page(&self, listing: &mut Listing, page: impl IntoIterator<Item = (String, T)>) {
        let listed_at = listing.listed_at;
        let index = listing.pages;
        listing.pages += 1;
        // Encoded before the lock is taken: readers wait only for the table updates.
        let page: Vec<_> = page
            .into_iter()
            .map(|(text, remote)| {
                let body = self.packer.pack(&remote);
                (Key::new(&text), text, remote, body)
            })
            .collect();
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        for (id, text, remote, body) in page {
            // A GET that started after this list began saw a newer state: keep it.
            if let Some(newer) = entries.get_mut(&id).filter(|e| e.listed_at > listed_at) {
                newer.page = Some(index);
                listing.seen.insert(id);
                continue;
            }
            let differs = entries
                .get(&id)
                .is_none_or(|e| !self.packer.same(&e.body, &body, &remote));
            if differs {
                listing.changed.push(text);
            }
            entries.insert(
                id.clone(),
                Stored {
                    body,
                    listed_at,
                    read_for: None,
                    page: Some(index),
                },
            );
            listing.seen.insert(id);
        }
    }

    /// Ends a complete listing: IDs of `previous_ids` it did not show are gone. Returns the
    /// IDs that changed, appeared or disappeared, and the IDs this listing showed (the next
    /// listing's `previous_ids`).
    pub fn finish(&self, listing: Listing, previous_ids: &[Key]) -> (Vec<String>, Vec<Key>) {
        let Listing {
            listed_at,
            seen,
            mut changed,
            ..
        } = listing;
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        let mut mutated = self.mutated.write().unwrap_or_else(|e| e.into_inner());
        let mut vanished = self.vanished.write().unwrap_or_else(|e| e.into_inner());
        vanished.retain(|id, at| at.elapsed() < VANISHED_TTL && !seen.contains(id));
        for id in previous_ids {
            if !seen.contains(id) && entries.remove(id).is_some() {
                mutated.remove(id);
                vanished.insert(id.clone(), listed_at);
                changed.push(id.to_string());
            }
        }
        self.complete.store(true, Ordering::Relaxed);
        (changed, seen.into_iter().collect())
    }

    /// Records what a GET that started at `read_at` returned: a listing of one. The reconcile
    /// that follows its own status write then reads this instead of issuing the same GET again.
    /// A newer entry (a later list or GET) is kept.
    pub fn observed(&self, id: &str, remote: T, read_at: Instant, reader: u64) {
        let id = Key::new(id);
        let body = self.packer.pack(&remote);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.get(&id).is_none_or(|e| e.listed_at <= read_at) {
            let page = entries.get(&id).and_then(|e| e.page);
            entries.insert(
                id,
                Stored {
                    body,
                    listed_at: read_at,
                    read_for: Some(reader),
                    page,
                },
            );
        }
    }

    /// How many pages of a newest-first listing it takes to show `id`: one for a resource no
    /// listing has shown yet (created since, so among the newest), the page it was last listed
    /// on plus one for creates since, and `full` when only a GET has seen it. Before the first
    /// complete listing an unseen resource may be old (the operator restarted, the snapshot
    /// started empty): `full`, unless the caller knows it was `made_since_start`.
    pub fn pages_to(&self, id: &str, full: usize, made_since_start: bool) -> usize {
        let complete = self.complete.load(Ordering::Relaxed);
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let pages = match entries.get(&Key::new(id)) {
            None if !complete && !made_since_start => full,
            None => 1,
            Some(e) => e.page.map_or(full, |p| p as usize + 2),
        };
        pages.clamp(1, full.max(1))
    }

    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::pack::{from_json, json_text};

    // Packed as text, so these tests take the path notebooks take.
    impl Pack for i32 {
        fn text(&self) -> Option<Vec<u8>> {
            json_text(self)
        }
        fn from_text(text: &[u8]) -> Option<Self> {
            from_json(text)
        }
    }

    #[test]
    fn a_relisting_reports_only_changed_new_and_vanished_ids() {
        let snap = Snapshot::default();
        let t0 = Instant::now();
        let first = snap.replace(&[], vec![("a".into(), 1), ("b".into(), 2)], t0);
        assert_eq!(first, vec!["a".to_string(), "b".to_string()]);
        let second = snap.replace(
            &["a".into(), "b".into()],
            vec![("a".into(), 1), ("c".into(), 3)],
            Instant::now(),
        );
        assert_eq!(second, vec!["c".to_string(), "b".to_string()]);
        assert_eq!(snap.len(), 2);
    }

    #[test]
    fn a_listing_taken_page_by_page_is_the_snapshot_as_each_page_lands() {
        let snap = Snapshot::default();
        snap.replace(
            &[],
            vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 3)],
            Instant::now(),
        );
        let previous: Vec<Key> = vec!["a".into(), "b".into(), "c".into()];
        let mut listing = Listing::new(Instant::now());
        snap.page(&mut listing, vec![("a".into(), 1), ("b".into(), 20)]);
        assert_eq!(
            snap.entry("b").map(|e| e.remote),
            Some(20),
            "in before the listing ends"
        );
        assert_eq!(snap.vanished_at("c"), None, "nothing concluded mid-listing");
        snap.page(&mut listing, vec![("d".into(), 4)]);
        let (changed, mut ids) = snap.finish(listing, &previous);
        assert_eq!(changed, vec!["b".to_string(), "d".into(), "c".into()]);
        ids.sort();
        assert_eq!(ids, vec![Key::from("a"), "b".into(), "d".into()]);
        assert!(snap.entry("c").is_none() && snap.vanished_at("c").is_some());
    }

    #[test]
    fn an_entry_tells_when_it_was_listed_or_read() {
        let snap = Snapshot::default();
        let listed = Instant::now();
        snap.replace(&[], vec![("a".into(), 1)], listed);
        assert_eq!(snap.listed_at("a"), Some(listed));
        let read = Instant::now();
        snap.observed("b", 2, read, 7);
        assert_eq!(snap.listed_at("b"), Some(read));
        assert_eq!(snap.listed_at("c"), None);
        assert_eq!(snap.entry("a").map(|e| e.listed_at), snap.listed_at("a"));
    }

    #[test]
    fn a_resource_is_sought_as_far_as_the_page_it_was_last_listed_on() {
        let snap = Snapshot::default();
        let mut listing = Listing::new(Instant::now());
        snap.page(&mut listing, vec![("a".into(), 1)]);
        snap.page(&mut listing, vec![("b".into(), 2)]);
        snap.page(&mut listing, vec![("c".into(), 3)]);
        snap.finish(listing, &[]);
        snap.observed("d", 4, Instant::now(), 7);
        assert_eq!(
            snap.pages_to("new", 10, true),
            1,
            "never listed: among the newest"
        );
        assert_eq!(
            snap.pages_to("a", 10, true),
            2,
            "first page, and one for creates since"
        );
        assert_eq!(snap.pages_to("c", 10, true), 4);
        assert_eq!(snap.pages_to("c", 3, true), 3, "never past a full listing");
        assert_eq!(snap.pages_to("d", 10, true), 10, "only a GET saw it: anywhere");
        snap.observed("b", 20, Instant::now(), 7);
        assert_eq!(snap.pages_to("b", 10, true), 3, "a GET keeps where it was listed");
    }

    #[test]
    fn before_a_complete_listing_an_unseen_resource_is_sought_through_a_full_listing() {
        // A restarted operator: its objects name resources made before it started, none listed
        // yet. The newest pages need not show them: a waiter counts a full listing.
        let snap = Snapshot::default();
        assert_eq!(
            snap.pages_to("old", 10, false),
            10,
            "nothing listed since the start: anywhere"
        );
        assert_eq!(
            snap.pages_to("new", 10, true),
            1,
            "made since the start: among the newest"
        );
        let mut listing = Listing::new(Instant::now());
        snap.page(&mut listing, vec![("a".into(), 1)]);
        listing.abandon(&[]);
        assert_eq!(
            snap.pages_to("old", 10, false),
            10,
            "a listing that ended early concludes nothing"
        );
        assert_eq!(snap.pages_to("a", 10, false), 2);
        let mut listing = Listing::new(Instant::now());
        snap.page(&mut listing, vec![("a".into(), 1)]);
        snap.finish(listing, &[]);
        assert_eq!(
            snap.pages_to("x", 10, false),
            1,
            "after a complete listing: created since"
        );
    }

    #[test]
    fn a_listing_that_fails_part_way_keeps_its_pages_and_concludes_no_disappearance() {
        let snap = Snapshot::default();
        snap.replace(&[], vec![("a".into(), 1), ("b".into(), 2)], Instant::now());
        let mut listing = Listing::new(Instant::now());
        snap.page(&mut listing, vec![("a".into(), 10)]);
        let (changed, mut ids) = listing.abandon(&["a".into(), "b".into()]);
        ids.sort();
        assert_eq!(changed, vec!["a".to_string()]);
        assert_eq!(ids, vec![Key::from("a"), "b".into()], "b stays a candidate");
        assert_eq!(snap.entry("a").map(|e| e.remote), Some(10));
        assert_eq!(
            snap.entry("b").map(|e| e.remote),
            Some(2),
            "not reached, not gone"
        );
        assert_eq!(snap.vanished_at("b"), None);
    }

    #[test]
    fn a_disappearance_is_remembered_until_the_resource_shows_again() {
        let snap = Snapshot::default();
        snap.replace(&[], vec![("a".into(), 1)], Instant::now());
        assert_eq!(snap.vanished_at("a"), None);
        let gone_at = Instant::now();
        snap.replace(&["a".into()], vec![], gone_at);
        assert_eq!(snap.vanished_at("a"), Some(gone_at));
        snap.replace(&[], vec![("a".into(), 1)], Instant::now());
        assert_eq!(snap.vanished_at("a"), None, "listed again");
    }

    #[test]
    fn a_read_after_the_last_mutation_is_trusted_and_never_replaces_a_newer_listing() {
        let snap = Snapshot::default();
        let touched = Instant::now();
        let read_at = touched + Duration::from_millis(1);
        snap.observed("a", 1, read_at, 7);
        assert_eq!(
            snap.fresh("a", Duration::from_secs(60), Some(touched), 7),
            Some(1)
        );
        assert_eq!(
            snap.fresh("a", Duration::from_secs(60), Some(touched), 8),
            None,
            "another object, or this one edited since, reads again"
        );
        let listed = read_at + Duration::from_millis(1);
        assert_eq!(
            snap.replace(&[], vec![("a".into(), 2)], listed),
            vec!["a".to_string()]
        );
        snap.observed("a", 3, read_at, 7);
        assert_eq!(
            snap.fresh("a", Duration::from_secs(60), Some(touched), 7),
            Some(2)
        );
        let older_listing = snap.replace(&["a".into()], vec![("a".into(), 4)], touched);
        assert!(
            older_listing.is_empty(),
            "an older listing neither wins nor wakes"
        );
        assert_eq!(snap.fresh("a", Duration::from_secs(60), None, 7), Some(2));
    }

    #[test]
    fn an_entry_listed_before_the_last_mutation_is_not_trusted() {
        let snap = Snapshot::default();
        let listed = Instant::now();
        snap.replace(&[], vec![("a".into(), 1)], listed);
        assert_eq!(snap.fresh("a", Duration::from_secs(60), None, 7), Some(1));
        let touched = Instant::now() + Duration::from_millis(1);
        assert_eq!(snap.fresh("a", Duration::from_secs(60), Some(touched), 7), None);
        assert_eq!(snap.fresh("missing", Duration::from_secs(60), None, 7), None);
    }
}
