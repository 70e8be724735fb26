//! Shared emulator state: configuration, the per-project stores, faults and statistics.
//! One mutex guards the stores; every handler does its work under it without awaiting, so
//! each API call is atomic, as a single-region control plane appears to its clients.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, RwLock};
use std::time::Instant;

use serde::Serialize;

use crate::auth::AuthConfig;
use crate::clock::Clock;
use crate::faults::Faults;
use crate::notebooks::Notebooks;
use crate::notebooks::model::LeaseRenewal;
use crate::pools::Pools;
use crate::progression::{Family, Progression, ProgressionSettings};
use crate::quota::{Quota, QuotaSettings};
use crate::servers::Servers;

/// Behaviour knobs that `reset` restores to their configured values.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Settings {
    pub progression: ProgressionSettings,
    /// Eventual consistency: how many show/list calls miss a newly created resource.
    #[serde(default)]
    pub hidden_reads: BTreeMap<Family, u32>,
    #[serde(default)]
    pub lease_renewal: LeaseRenewal,
}

/// What a backend operation needs besides its own collection.
pub struct Ctx<'a> {
    pub now: i64,
    pub settings: &'a Settings,
    pub region: &'a str,
    pub project_id: &'a str,
}

impl Ctx<'_> {
    pub fn progression(&self, f: Family) -> Progression {
        self.settings.progression.get(f)
    }
    pub fn hidden_reads(&self, f: Family) -> u32 {
        self.settings.hidden_reads.get(&f).copied().unwrap_or(0)
    }
    pub fn user_id(&self) -> &'static str {
        "6c1e3a5f0b7d4e2a9f8c7b6a5d4e3f21"
    }
    pub fn domain_id(&self) -> &'static str {
        "0a9b8c7d6e5f40312a3b4c5d6e7f8091"
    }
}

/// Everything that belongs to one project. Another project never sees it.
#[derive(Debug, Default)]
pub struct Project {
    pub notebooks: Notebooks,
    pub pools: Pools,
    pub servers: Servers,
}

#[derive(Debug, Default)]
pub struct Store {
    pub settings: Settings,
    seq: u64,
    projects: HashMap<String, Project>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub at_ms: i64,
    pub request_id: String,
    pub method: String,
    pub path: String,
    pub query: String,
    /// `METHOD /route/{template}` when the path matched an API route.
    pub route: Option<String>,
    pub status: u16,
    /// The access key the request was signed with (`Access=` in Authorization), so a test can
    /// tell apart two clients using different keys; secret keys never appear here.
    pub access_key: Option<String>,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub counters: BTreeMap<String, u64>,
    /// Requests the quota answered 429, by route (they are in `counters` too: the gateway
    /// received them).
    pub throttled: BTreeMap<String, u64>,
    pub log: VecDeque<LogEntry>,
}

pub struct Shared {
    pub region: String,
    pub project_id: String,
    pub clock: Clock,
    pub auth: RwLock<AuthConfig>,
    pub store: Mutex<Store>,
    pub faults: Mutex<Faults>,
    pub stats: Mutex<Stats>,
    pub log_capacity: usize,
    pub initial_settings: Settings,
    pub quota: Mutex<Quota>,
    /// Zero of the quota's clock (real time).
    pub quota_epoch: Instant,
    pub initial_quota: Option<QuotaSettings>,
}

/// A poisoned lock only means another handler panicked; the data is still usable.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(
        region: String,
        project_id: String,
        auth: AuthConfig,
        settings: Settings,
        log_capacity: usize,
        quota: Option<QuotaSettings>,
    ) -> Self {
        Shared {
            region,
            project_id,
            clock: Clock::default(),
            auth: RwLock::new(auth),
            store: Mutex::new(Store {
                settings: settings.clone(),
                ..Store::default()
            }),
            faults: Mutex::new(Faults::default()),
            stats: Mutex::new(Stats::default()),
            log_capacity,
            initial_settings: settings,
            quota: Mutex::new(Quota::new(quota)),
            quota_epoch: Instant::now(),
            initial_quota: quota,
        }
    }

    /// Run `f` on a project's store (created on first use) under the store lock.
    pub fn with_project<T>(
        &self,
        project_id: &str,
        f: impl FnOnce(&mut Project, &Ctx<'_>, &mut u64) -> T,
    ) -> T {
        let now = self.clock.now_ms();
        let mut store = lock(&self.store);
        let Store {
            settings,
            seq,
            projects,
        } = &mut *store;
        // Look up before inserting: the hot path must not allocate the key on every call.
        if !projects.contains_key(project_id) {
            projects.insert(project_id.to_string(), Project::default());
        }
        let project = projects.get_mut(project_id).expect("inserted above");
        let ctx = Ctx {
            now,
            settings,
            region: &self.region,
            project_id,
        };
        f(project, &ctx, seq)
    }

    pub fn record_call(&self, route: &str) {
        let mut stats = lock(&self.stats);
        match stats.counters.get_mut(route) {
            Some(n) => *n += 1,
            None => {
                stats.counters.insert(route.to_string(), 1);
            }
        }
    }

    pub fn record_throttled(&self, route: &str) {
        let mut stats = lock(&self.stats);
        match stats.throttled.get_mut(route) {
            Some(n) => *n += 1,
            None => {
                stats.throttled.insert(route.to_string(), 1);
            }
        }
    }

    pub fn record_log(&self, entry: LogEntry) {
        let mut stats = lock(&self.stats);
        if stats.log.len() >= self.log_capacity {
            stats.log.pop_front();
        }
        stats.log.push_back(entry);
    }

    pub fn reset(&self) {
        let mut store = lock(&self.store);
        *store = Store {
            settings: self.initial_settings.clone(),
            ..Store::default()
        };
        lock(&self.faults).clear();
        lock(&self.quota).set(self.initial_quota);
        *lock(&self.stats) = Stats::default();
        self.clock.reset();
    }
}

/// `seq` handed out by [`Shared::with_project`] is the global creation counter.
pub fn bump(seq: &mut u64) -> u64 {
    *seq += 1;
    *seq
}
