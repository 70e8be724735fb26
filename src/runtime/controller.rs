//! Runs one kind's controller: the kube-runtime `Controller` driving the generic reconcile,
//! plus that kind's drift poller feeding `reconcile_on`.
use crate::engine::{
    context::{CloudResolver, Context, EngineConfig},
    events::Events,
    metrics::Metrics,
    poller,
    reconciler::{error_policy, reconcile},
    resource::CloudResource,
};
use futures::{Future, StreamExt};
use kube::{
    Api, Client,
    runtime::{Controller, WatchStreamExt, controller, reflector, watcher},
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
        Some(ns) => Api::<R>::namespaced(shared.client.clone(), ns),
        None => Api::<R>::all(shared.client.clone()),
    };
    // What `Controller::new` builds, plus one step: the cache holds every object of the kind,
    // slimmed before caching as kube.rs' watcher-memory guidance recommends.
    let (store, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default().any_semantic())
        .modify(slim::<R>)
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
        .reconcile_on(wake_rx)
        .with_config(controller::Config::default().concurrency(settings.concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(err) = result {
                tracing::debug!(kind = R::KIND, error = %err, "controller event");
            }
        })
        .await;
}

/// `kubectl apply` records the whole manifest in this annotation; nothing here reads it.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Drops what the operator never reads and what is often the bulk of an object as served: the
/// managedFields and `kubectl apply`'s copy of the manifest. The cache then holds about one
/// copy of what the user wrote, not three.
fn slim<R: kube::Resource>(obj: &mut R) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::notebook::Notebook;
    use crate::engine::identity::CLOUD_ID_ANNOTATION;

    #[test]
    fn the_cached_copy_drops_managed_fields_and_the_last_applied_manifest_and_keeps_the_rest() {
        let mut nb: Notebook = serde_json::from_value(serde_json::json!({
            "apiVersion": "modelarts.operator.dev/v1alpha1", "kind": "Notebook",
            "metadata": {
                "name": "nb", "namespace": "ns",
                "annotations": {LAST_APPLIED: "{\"spec\": {}}", CLOUD_ID_ANNOTATION: "id-1"},
                "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
            },
            "spec": {"flavor": "f", "image": {"id": "i"}, "volume": {"category": "EVS", "ownership": "MANAGED"}},
        }))
        .expect("notebook");
        let spec = nb.spec.clone();
        slim(&mut nb);
        assert!(nb.metadata.managed_fields.is_none());
        let annotations = nb.metadata.annotations.expect("annotations kept");
        assert_eq!(annotations.len(), 1, "{annotations:?}");
        assert_eq!(
            annotations.get(CLOUD_ID_ANNOTATION).map(String::as_str),
            Some("id-1")
        );
        assert_eq!(nb.spec, spec);
    }
}
