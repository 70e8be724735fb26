//! Starts every kind's controller in-process on a kube client; used by `run`, `demo` and tests.
use super::{
    controller::{self, KindSettings, Shared},
    credentials::{OperatorCredentials, Resolver, ResolverConfig},
};
use crate::{
    api::{lite_server::LiteServer, notebook::Notebook, resource_pool::ResourcePool},
    cloud::{CallRecord, gate::Fence},
    engine::resource::CloudResource,
    engine::{context::EngineConfig, metrics::Metrics},
};
use futures::FutureExt;
use std::{sync::Arc, time::Duration};
use tokio::{sync::watch, task::JoinHandle};

/// Kinds whose controllers `start` runs.
/// Keep in step with the controllers spawned in `start`.
pub const KINDS: &[&str] = &[
    <Notebook as CloudResource>::KIND,
    <ResourcePool as CloudResource>::KIND,
    <LiteServer as CloudResource>::KIND,
];

/// Everything configurable about a running operator.
#[derive(Clone)]
pub struct OperatorConfig {
    pub resolver: ResolverConfig,
    pub engine: EngineConfig,
    pub concurrency: u16,
    pub poll_interval: Duration,
    /// Leader election's fence, checked before every mutating cloud request; `None` when this
    /// process is the only one (tests, the demo, `run` without `--leader-elect`).
    pub fence: Option<Arc<dyn Fence>>,
    /// Namespaces to watch (one controller per kind and namespace); empty: the whole cluster.
    pub namespaces: Vec<String>,
}

impl OperatorConfig {
    /// Settings for tests and the demo: fast requeues, a quick drift poll.
    pub fn for_local(endpoint: String, operator: OperatorCredentials) -> Self {
        Self {
            resolver: ResolverConfig {
                operator,
                default_region: None,
                default_project_id: None,
                endpoint: Some(endpoint),
                secret_ttl: Duration::from_secs(2),
                rate: 500.0,
                burst: 1000,
            },
            engine: EngineConfig {
                resync: Duration::from_secs(300),
                waiting: Duration::from_millis(300),
                terminal: Duration::from_secs(300),
                create_grace: Duration::from_secs(20),
                snapshot_max_age: Duration::from_secs(60),
                delete_on_crd_deletion: false,
            },
            concurrency: 16,
            poll_interval: Duration::from_secs(2),
            fence: None,
            namespaces: Vec::new(),
        }
    }
}

/// A running operator; dropping it does not stop it, call `shutdown`.
pub struct OperatorHandle {
    pub metrics: Metrics,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl OperatorHandle {
    /// Stops at once: in-flight reconciles are cancelled at their next await (what a crash does,
    /// which the engine is built to survive). For a replica that lost its lease.
    pub fn abort(self) {
        for task in self.tasks {
            task.abort();
        }
    }

    /// Stops the controllers after in-flight reconciles finish.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

pub fn start(client: kube::Client, config: OperatorConfig, metrics: Metrics) -> OperatorHandle {
    let observer_metrics = metrics.clone();
    let observer = Arc::new(move |record: &CallRecord| {
        let status = record
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| record.outcome.as_str().to_string());
        observer_metrics.cloud_call(record.operation, &status, record.latency);
    });
    let resolver = Resolver::new(client.clone(), config.resolver.clone(), observer)
        .with_fence(config.fence.clone())
        .with_rate_gauge(metrics.cloud_request_rate.clone());
    let shared = Shared {
        client,
        clouds: Arc::new(resolver),
        engine: config.engine.clone(),
        metrics: metrics.clone(),
    };
    let (stop, stopped) = watch::channel(false);
    let shutdown = {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
        .shared()
    };
    let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
        vec![None]
    } else {
        config.namespaces.iter().cloned().map(Some).collect()
    };
    let mut tasks = Vec::new();
    for namespace in scopes {
        let settings = KindSettings {
            concurrency: config.concurrency,
            poll_interval: config.poll_interval,
            namespace,
        };
        tasks.push(tokio::spawn(controller::run::<Notebook>(
            shared.clone(),
            settings.clone(),
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(controller::run::<ResourcePool>(
            shared.clone(),
            settings.clone(),
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(controller::run::<LiteServer>(
            shared.clone(),
            settings,
            shutdown.clone(),
        )));
    }
    OperatorHandle { metrics, stop, tasks }
}
