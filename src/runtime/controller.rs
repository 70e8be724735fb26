//! Runs one kind's controller: the kube-runtime `Controller` driving the generic reconcile,
//! plus that kind's drift poller feeding `reconcile_on`.
use crate::engine::{
    cache::Cached,
    context::{CloudResolver, Context, EngineConfig},
    events::Events,
    metrics::Metrics,
    outcome::{Error, Result},
    poller,
    reconciler::{error_policy, reconcile},
    resource::CloudResource,
};
use futures::{Future, StreamExt};
use kube::{
    Api, Client,
    runtime::{Controller, WatchStreamExt, controller, controller::Action, reflector, watcher},
};
use std::{sync::Arc, time::Duration};

/// Per-kind knobs.
#[derive(Clone, Debug)]
pub struct KindSettings {
    /// Reconciles of this kind running at once.
    pub concurrency: u16,
    /// Interval of the cloud-side drift poll (jittered).
    pub poll_interval: Duration,
    /// Watch only this namespace (`--watch-namespaces`); `None` watches the whole cluster.
    pub namespace: Option<String>,
}

/// Everything the controllers of every kind share.
#[derive(Clone)]
pub struct Shared {
    pub client: Client,
    pub clouds: Arc<dyn CloudResolver>,
    pub engine: EngineConfig,
    pub metrics: Metrics,
}

/// Runs until `shutdown` resolves; in-flight reconciles finish first.
pub async fn run<R: CloudResource>(
    shared: Shared,
    settings: KindSettings,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let api = match &settings.namespace {
        Some(ns) => Api::<Cached<R>>::namespaced(shared.client.clone(), ns),
        None => Api::<Cached<R>>::all(shared.client.clone()),
    };
    // What `Controller::new` builds, with a compact entry per object instead of the object
    // itself (`engine::cache`): the cache holds every object of the kind.
    let (store, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default().any_semantic())
        .reflect(writer)
        .applied_objects();
    let controller = Controller::for_stream(stream, store.clone());
    let events = Events::new(shared.client.clone(), "modelarts-operator");
    let mut ctx = Context::<R>::new(
        shared.client,
        shared.clouds,
        shared.engine,
        shared.metrics,
        events,
    );
    ctx.store = Some(store.clone());
    let ctx = Arc::new(ctx);
    let (wake_tx, wake_rx) = futures::channel::mpsc::channel(4096);
    // Aborted on drop too: a replica that loses its lease aborts this task, and a detached
    // poller would go on reading the cloud.
    let _poll = AbortOnDrop(tokio::spawn(poller::run(
        ctx.clone(),
        store,
        wake_tx,
        settings.poll_interval,
    )));
    controller
        .reconcile_on(wake_rx.map(|obj| Cached::key(&obj)))
        .with_config(controller::Config::default().concurrency(settings.concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile_cached, error_policy_cached, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(kind = R::KIND, error = %err, "controller event");
            }
        })
        .await;
}

/// Decodes the cache entry for the engine, which works on the whole object.
async fn reconcile_cached<R: CloudResource>(obj: Arc<Cached<R>>, ctx: Arc<Context<R>>) -> Result<Action> {
    let obj = obj.decode().map_err(kube::Error::SerdeError)?;
    reconcile(Arc::new(obj), ctx).await
}

fn error_policy_cached<R: CloudResource>(obj: Arc<Cached<R>>, err: &Error, ctx: Arc<Context<R>>) -> Action {
    error_policy(&obj.identity(), err, &ctx)
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
