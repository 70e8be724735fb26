//! The single in-memory store: objects per group/resource, one global resourceVersion counter, a
//! bounded history ring for watch replay, and a broadcast channel for live watch events.
//! Everything sits behind one mutex so that a commit, its history entry and its broadcast are
//! atomic: a watcher that subscribes and reads history under the same lock can never miss an event.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use crate::registry::Registry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change, shared by the history ring and every live watcher.
#[derive(Debug)]
pub struct WatchEvent {
    pub rv: u64,
    pub storage_key: String,
    pub namespace: String,
    pub kind: EventType,
    pub object: Arc<Value>,
    /// The object before a MODIFIED change, so selector watches can turn it into ADDED/DELETED.
    pub old: Option<Arc<Value>>,
    /// The plain JSON line for this event, serialized once and shared by every watcher that
    /// needs no rewriting (same apiVersion, no table, no selector transition).
    pub line: std::sync::OnceLock<bytes::Bytes>,
}

pub type ObjectMap = BTreeMap<(String, String), Arc<Value>>;

pub struct State {
    pub rv: u64,
    pub registry: Registry,
    pub objects: HashMap<String, ObjectMap>,
    pub history: VecDeque<Arc<WatchEvent>>,
    pub history_limit: usize,
    pub tx: broadcast::Sender<Arc<WatchEvent>>,
    /// Whether the built-in controllers (deployments, replicasets, disruption budgets) run.
    pub workload_controllers: bool,
    /// Signs the ServiceAccount tokens this server issues.
    pub token_key: Vec<u8>,
}

impl State {
    pub fn new(history_limit: usize) -> Self {
        // Generous capacity: a watcher that still lags this far behind is closed with 410.
        let (tx, _) = broadcast::channel(65_536);
        Self {
            rv: 1,
            registry: Registry::with_builtins(),
            objects: HashMap::new(),
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            tx,
            workload_controllers: true,
            token_key: uuid::Uuid::new_v4().as_bytes().to_vec(),
        }
    }

    pub fn get(&self, key: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.objects
            .get(key)?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// Writes (or removes, for `Deleted`) an object: bumps the global resourceVersion, stamps it
    /// on the object, records history and notifies watchers. Returns the stored object.
    pub fn commit(&mut self, key: &str, kind: EventType, mut object: Value) -> Arc<Value> {
        self.rv += 1;
        let rv = self.rv;
        object["metadata"]["resourceVersion"] = Value::String(rv.to_string());
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let object = Arc::new(object);
        let map = self.objects.entry(key.to_string()).or_default();
        let old = match kind {
            EventType::Deleted => map.remove(&(ns.clone(), name)),
            _ => map.insert((ns.clone(), name), object.clone()),
        };
        let event = Arc::new(WatchEvent {
            rv,
            storage_key: key.to_string(),
            namespace: ns,
            kind,
            object: object.clone(),
            old: if kind == EventType::Modified { old } else { None },
            line: std::sync::OnceLock::new(),
        });
        if self.history.len() >= self.history_limit {
            self.history.pop_front();
        }
        self.history.push_back(event.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(event);
        object
    }

    /// The oldest resourceVersion a watch can resume from without missing events.
    pub fn oldest_resumable_rv(&self) -> u64 {
        match self.history.front() {
            Some(first) => first.rv - 1,
            None => self.rv,
        }
    }

    /// Drops all history, as etcd compaction would: older resourceVersions then get 410 Expired.
    pub fn compact(&mut self) {
        self.history.clear();
    }
}
