//! Fault injection for tests: fail the next N requests of a verb/resource with a status code, add
//! latency to every request, and close every open watch (clients must re-list and resume).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// One armed failure: the next `remaining` requests matching `verb` and `resource` get `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailRule {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, or `*`.
    pub verb: String,
    /// Plural resource name (`configmaps`, `notebooks`), or `*`.
    pub resource: String,
    /// HTTP status to answer with, e.g. 500 or 429.
    pub status: u16,
    /// How many matching requests fail before the rule disarms.
    pub count: u32,
}

#[derive(Debug)]
struct Inner {
    rules: Mutex<Vec<FailRule>>,
    latency: Mutex<Duration>,
    /// Bumped to close every open watch; each watch stream listens for a change.
    watch_epoch: watch::Sender<u64>,
}

/// Cloneable handle shared by the server and tests.
#[derive(Debug, Clone)]
pub struct Faults(Arc<Inner>);

impl Default for Faults {
    fn default() -> Self {
        let (tx, _) = watch::channel(0);
        Self(Arc::new(Inner {
            rules: Mutex::new(Vec::new()),
            latency: Mutex::new(Duration::ZERO),
            watch_epoch: tx,
        }))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking test thread must not poison the fault hooks for every later request.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Faults {
    /// Fails the next `count` requests matching `verb` and `resource` (`*` matches any).
    pub fn fail_next(&self, verb: &str, resource: &str, status: u16, count: u32) {
        lock(&self.0.rules).push(FailRule {
            verb: verb.into(),
            resource: resource.into(),
            status,
            count,
        });
    }

    /// Adds a fixed delay before every API request is handled.
    pub fn set_latency(&self, latency: Duration) {
        *lock(&self.0.latency) = latency;
    }

    pub fn latency(&self) -> Duration {
        *lock(&self.0.latency)
    }

    /// Ends every open watch stream now; later watches work normally.
    pub fn close_watches(&self) {
        self.0.watch_epoch.send_modify(|e| *e += 1);
    }

    /// Disarms all rules and removes latency.
    pub fn reset(&self) {
        lock(&self.0.rules).clear();
        self.set_latency(Duration::ZERO);
    }

    pub fn rules(&self) -> Vec<FailRule> {
        lock(&self.0.rules).clone()
    }

    pub(crate) fn watch_closer(&self) -> watch::Receiver<u64> {
        self.0.watch_epoch.subscribe()
    }

    /// Consumes one matching rule, returning the status to fail with.
    pub(crate) fn take(&self, verb: &str, resource: &str) -> Option<u16> {
        let mut rules = lock(&self.0.rules);
        let pos = rules.iter().position(|r| {
            (r.verb == "*" || r.verb == verb) && (r.resource == "*" || r.resource == resource) && r.count > 0
        })?;
        let status = rules[pos].status;
        rules[pos].count -= 1;
        if rules[pos].count == 0 {
            rules.remove(pos);
        }
        Some(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fail_rule_fires_exactly_count_times_for_matching_requests_only() {
        let f = Faults::default();
        f.fail_next("create", "configmaps", 500, 2);
        assert_eq!(f.take("get", "configmaps"), None);
        assert_eq!(f.take("create", "secrets"), None);
        assert_eq!(f.take("create", "configmaps"), Some(500));
        assert_eq!(f.take("create", "configmaps"), Some(500));
        assert_eq!(f.take("create", "configmaps"), None);
    }

    #[test]
    fn wildcards_match_any_verb_and_resource() {
        let f = Faults::default();
        f.fail_next("*", "*", 503, 1);
        assert_eq!(f.take("watch", "leases"), Some(503));
        assert!(f.rules().is_empty());
    }
}
