//! Shared state of one kind's controller: clients, caches, backoff, metrics, configuration.
use super::{
    backoff::Backoff, events::Events, key::Key, metrics::Metrics, outcome::Result, resource::CloudResource,
    snapshot::Snapshot,
};
use crate::{api::common::CommonSpec, cloud::ModelArtsClient};
use futures::future::BoxFuture;
use kube::runtime::reflector::Store;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// A cloud client bound to one credentials scope (access key, region, project).
#[derive(Clone, Debug)]
pub struct ScopedClient {
    /// Identifies the scope (never contains a secret).
    pub key: String,
    pub client: ModelArtsClient,
}

/// Resolves the cloud client for an object: its own Secret, else the operator-wide credentials.
pub trait CloudResolver: Send + Sync {
    fn for_object<'a>(
        &'a self,
        namespace: &'a str,
        spec: &'a (dyn CommonSpec + Send + Sync),
    ) -> BoxFuture<'a, Result<Arc<ScopedClient>>>;
    /// As `for_object`, for deleting: a credentials Secret deleted meanwhile (its namespace is
    /// being deleted) may be stood in for by the last credentials read from it.
    fn for_cleanup<'a>(
        &'a self,
        namespace: &'a str,
        spec: &'a (dyn CommonSpec + Send + Sync),
    ) -> BoxFuture<'a, Result<Arc<ScopedClient>>> {
        self.for_object(namespace, spec)
    }
}

/// Tunables of the engine, set from the command line.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Requeue after a steady state (jittered).
    pub resync: Duration,
    /// Requeue while the cloud is in a transitional state.
    pub waiting: Duration,
    /// Safety requeue after a terminal error (jittered).
    pub terminal: Duration,
    /// How long an unconfirmed create is looked up before it is assumed never to have happened.
    pub create_grace: Duration,
    /// Snapshot entries older than this are not trusted instead of a GET.
    pub snapshot_max_age: Duration,
    /// Run the normal cleanup (deletionPolicy) even when the kind's CRD is being deleted;
    /// off: such objects are released and their cloud resources kept (`crd_deletion`).
    pub delete_on_crd_deletion: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            resync: Duration::from_secs(600),
            waiting: Duration::from_secs(5),
            terminal: Duration::from_secs(900),
            create_grace: Duration::from_secs(120),
            snapshot_max_age: Duration::from_secs(300),
            delete_on_crd_deletion: false,
        }
    }
}

/// Until when a failed object is left alone, unless its generation changes or a later cloud
/// listing shows its cloud resource in another state than the one that was refused.
#[derive(Clone, Debug)]
struct Gate {
    closed_at: Instant,
    until: Instant,
    generation: Option<i64>,
    cloud_state: Option<String>,
}

pub struct Context<R: CloudResource> {
    pub kube: kube::Client,
    pub clouds: Arc<dyn CloudResolver>,
    pub config: EngineConfig,
    pub metrics: Metrics,
    pub events: Events,
    pub backoff: Backoff,
    pub snapshot: Arc<Snapshot<R::Remote>>,
    /// The controller's cache of objects of this kind (for conflict checks), once running.
    pub store: Option<Store<super::cache::Cached<R>>>,
    /// Objects waiting for a listing instead of reading alone.
    pub demand: super::demand::Demand<R>,
    gates: Mutex<HashMap<String, Gate>>,
    touched: Mutex<HashMap<Key, Instant>>,
    /// Creates this process saw answered and recorded (see [`Context::created`]).
    created: Mutex<CreatedLog>,
    /// When this controller started (wall clock, ms). It starts once this replica leads, so
    /// an object made later had no earlier operator that could have created for it.
    pub started_ms: i64,
}

/// The creates recorded, by object UID. Pruned of expired records only when it has doubled
/// since the last pruning: a burst of creates would otherwise scan the whole table on each one.
#[derive(Debug)]
struct CreatedLog {
    by_uid: HashMap<Key, Created>,
    prune_at: usize,
}

impl Default for CreatedLog {
    fn default() -> Self {
        Self {
            by_uid: HashMap::new(),
            prune_at: 1024,
        }
    }
}

/// A create this process recorded: its marker's token and the ID it made.
#[derive(Clone, Debug)]
struct Created {
    token: Key,
    id: Key,
    at: Instant,
}

/// How long the record of a create is used to recognise copies of the object from before it.
const CREATED_MEMORY: Duration = Duration::from_secs(60);

impl<R: CloudResource> Context<R> {
    pub fn new(
        kube: kube::Client,
        clouds: Arc<dyn CloudResolver>,
        config: EngineConfig,
        metrics: Metrics,
        events: Events,
    ) -> Self {
        Self {
            kube,
            clouds,
            config,
            metrics,
            events,
            backoff: Backoff::new(Duration::from_secs(1), Duration::from_secs(300)),
            snapshot: Arc::new(Snapshot::default()),
            store: None,
            demand: Default::default(),
            gates: Mutex::new(HashMap::new()),
            touched: Mutex::new(HashMap::new()),
            created: Mutex::new(CreatedLog::default()),
            started_ms: jiff::Timestamp::now().as_millisecond(),
        }
    }

    /// Time left before a gated object may be retried, if its generation is unchanged.
    /// Keeps status writes (which re-trigger the controller) from bypassing backoff.
    /// `cloud_id` lets a snapshot entry listed after the gate closed reopen it when the cloud
    /// state moved on (a pool that refused a scale while Abnormal is Running again).
    pub fn gate_remaining(
        &self,
        uid: &str,
        generation: Option<i64>,
        cloud_id: Option<&str>,
    ) -> Option<Duration> {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        let gate = gates.get(uid)?;
        let now = Instant::now();
        let state_moved = gate.cloud_state.is_some()
            && cloud_id.is_some_and(|id| match self.snapshot.entry(id) {
                Some(e) => {
                    e.listed_at > gate.closed_at && Some(R::cloud_state(&e.remote)) != gate.cloud_state
                }
                // Gone from a listing made after the gate closed (e.g. a retried delete of a
                // DELETE_FAILED resource went through): look now, not after the backoff.
                None => self
                    .snapshot
                    .vanished_at(id)
                    .is_some_and(|at| at > gate.closed_at),
            });
        if state_moved {
            gates.remove(uid);
            return None;
        }
        (gate.generation == generation && gate.until > now).then(|| gate.until - now)
    }

    /// Closes the gate for `wait`; `cloud_state` is the state the cloud resource was in when the
    /// failure happened (if known), so a later change of it reopens the gate early.
    pub fn close_gate(
        &self,
        uid: &str,
        generation: Option<i64>,
        wait: Duration,
        cloud_state: Option<String>,
    ) {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        gates.insert(
            uid.to_string(),
            Gate {
                closed_at: now,
                until: now + wait,
                generation,
                cloud_state,
            },
        );
    }

    pub fn open_gate(&self, uid: &str) {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        gates.remove(uid);
    }

    /// Records that the operator just changed this object's cloud resource, so older
    /// snapshot entries are not trusted for it.
    pub fn touch(&self, uid: &str) {
        let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
        touched.insert(Key::new(uid), Instant::now());
    }

    pub fn last_touched(&self, uid: &str) -> Option<Instant> {
        let touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
        touched.get(&Key::new(uid)).copied()
    }

    /// Records that the create licensed by the marker `token` made `id` and that this is now
    /// stored in the object (its annotation or status was written).
    pub fn created(&self, uid: &str, token: &str, id: &str) {
        let mut log = self.created.lock().unwrap_or_else(|e| e.into_inner());
        if log.by_uid.len() >= log.prune_at {
            log.by_uid.retain(|_, c| c.at.elapsed() < CREATED_MEMORY);
            log.prune_at = (log.by_uid.len() * 2).max(1024);
        }
        log.by_uid.insert(
            Key::new(uid),
            Created {
                token: Key::new(token),
                id: Key::new(id),
                at: Instant::now(),
            },
        );
    }

    /// The ID the create licensed by the marker `token` made, when this process recorded it
    /// in the object within the last minute: a copy still carrying that marker is older than
    /// the object's latest state (the cache lags), not an uncertain create.
    pub fn created_by(&self, uid: &str, token: &str) -> Option<String> {
        let log = self.created.lock().unwrap_or_else(|e| e.into_inner());
        log.by_uid
            .get(&Key::new(uid))
            .filter(|c| c.token == Key::new(token) && c.at.elapsed() < CREATED_MEMORY)
            .map(|c| c.id.to_string())
    }

    /// Forgets per-object state once the object is gone.
    pub fn forget(&self, uid: &str) {
        self.demand.done(uid);
        self.created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_uid
            .remove(&Key::new(uid));
        self.open_gate(uid);
        self.backoff.reset(uid);
        let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
        touched.remove(&Key::new(uid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        api::resource_pool::ResourcePool,
        engine::{events::Events, outcome::Error},
        resources::resource_pool::plan::Remote,
    };

    struct NoClouds;
    impl CloudResolver for NoClouds {
        fn for_object<'a>(
            &'a self,
            _: &'a str,
            _: &'a (dyn CommonSpec + Send + Sync),
        ) -> BoxFuture<'a, Result<Arc<ScopedClient>>> {
            Box::pin(async { Err(Error::Credentials("none in unit tests".into())) })
        }
    }

    fn context() -> Context<ResourcePool> {
        // Never connects: the gate and the snapshot are all these tests touch.
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("URL"));
        let kube = kube::Client::try_from(config).expect("client");
        let events = Events::new(kube.clone(), "test");
        Context::new(
            kube,
            Arc::new(NoClouds),
            EngineConfig::default(),
            Metrics::default(),
            events,
        )
    }

    fn listed(ctx: &Context<ResourcePool>, phase: &str) {
        let mut remote = Remote {
            pool: Default::default(),
            tags: Default::default(),
        };
        remote.pool.metadata.name = "pool-1".into();
        remote.pool.status.phase = Some(phase.into());
        ctx.snapshot.replace(
            &["pool-1".into()],
            vec![("pool-1".into(), remote)],
            Instant::now(),
        );
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[tokio::test]
    async fn a_closed_gate_holds_until_the_generation_changes() {
        let ctx = context();
        ctx.close_gate("u", Some(1), HOUR, Some("Abnormal".into()));
        assert!(ctx.gate_remaining("u", Some(1), Some("pool-1")).is_some());
        assert_eq!(ctx.gate_remaining("u", Some(2), Some("pool-1")), None);
    }

    #[tokio::test]
    async fn a_later_listing_in_another_state_reopens_the_gate() {
        let ctx = context();
        listed(&ctx, "Running");
        ctx.close_gate("u", Some(1), HOUR, Some("Abnormal".into()));
        assert!(
            ctx.gate_remaining("u", Some(1), Some("pool-1")).is_some(),
            "a listing from before the refusal proves nothing"
        );
        listed(&ctx, "Abnormal");
        assert!(
            ctx.gate_remaining("u", Some(1), Some("pool-1")).is_some(),
            "still in the refused state"
        );
        listed(&ctx, "Running");
        assert_eq!(ctx.gate_remaining("u", Some(1), Some("pool-1")), None, "reopened");
        assert_eq!(
            ctx.gate_remaining("u", Some(1), Some("pool-1")),
            None,
            "and stays open"
        );
    }

    #[tokio::test]
    async fn a_gate_closed_without_a_known_cloud_state_ignores_listings() {
        let ctx = context();
        ctx.close_gate("u", Some(1), HOUR, None);
        listed(&ctx, "Running");
        assert!(ctx.gate_remaining("u", Some(1), Some("pool-1")).is_some());
    }
}
