//! The cloud-side snapshot: every cloud resource of one kind, listed on a jittered interval and
//! indexed by ID, so drift is found without per-object polling and reconciles can skip a GET.
use std::{
    collections::HashMap,
    sync::RwLock,
    time::{Duration, Instant},
};

#[derive(Debug, Clone)]
pub struct Entry<T> {
    pub remote: T,
    /// When the list that produced this entry started.
    pub listed_at: Instant,
}

#[derive(Debug)]
pub struct Snapshot<T> {
    entries: RwLock<HashMap<String, Entry<T>>>,
}

impl<T> Default for Snapshot<T> {
    fn default() -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<T: Clone + PartialEq> Snapshot<T> {
    /// A fresh enough entry listed after the operator last changed the resource.
    pub fn fresh(&self, id: &str, max_age: Duration, touched: Option<Instant>) -> Option<T> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(id)?;
        let fresh = entry.listed_at.elapsed() <= max_age && touched.is_none_or(|t| entry.listed_at > t);
        fresh.then(|| entry.remote.clone())
    }

    /// The entry for `id`, however old (callers compare `listed_at` themselves).
    pub fn entry(&self, id: &str) -> Option<Entry<T>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries.get(id).cloned()
    }

    /// Replaces the entries of one scope's listing; returns the IDs whose cloud object changed,
    /// appeared or disappeared since the previous listing of that scope.
    pub fn replace(
        &self,
        previous_ids: &[String],
        listed: Vec<(String, T)>,
        listed_at: Instant,
    ) -> Vec<String> {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        let mut changed = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (id, remote) in listed {
            seen.insert(id.clone());
            let differs = entries.get(&id).is_none_or(|e| e.remote != remote);
            if differs {
                changed.push(id.clone());
            }
            entries.insert(id, Entry { remote, listed_at });
        }
        for id in previous_ids {
            if !seen.contains(id) && entries.remove(id).is_some() {
                changed.push(id.clone());
            }
        }
        changed
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
    fn an_entry_listed_before_the_last_mutation_is_not_trusted() {
        let snap = Snapshot::default();
        let listed = Instant::now();
        snap.replace(&[], vec![("a".into(), 1)], listed);
        assert_eq!(snap.fresh("a", Duration::from_secs(60), None), Some(1));
        let touched = Instant::now() + Duration::from_millis(1);
        assert_eq!(snap.fresh("a", Duration::from_secs(60), Some(touched)), None);
        assert_eq!(snap.fresh("missing", Duration::from_secs(60), None), None);
    }
}
