//! The "done when" test: a kube 5 `Controller` with the `finalizer()` helper and `patch_status`
//! runs against the emulator through create, spec change, stale write, delete and a forced
//! watch close.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::watcher;
use kube::{CustomResource, CustomResourceExt, ResourceExt};
use kube_emulator::KubeEmulator;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "test.emulator.dev",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
pub struct WidgetSpec {
    size: i32,
}

#[derive(Deserialize, Serialize, Clone, Debug, Default, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStatus {
    observed_generation: Option<i64>,
}

const FINALIZER: &str = "widgets.test.emulator.dev/cleanup";

#[derive(Default)]
struct Log {
    applies: Vec<(String, i64)>,
    cleanups: Vec<String>,
}

struct Ctx {
    api: Api<Widget>,
    log: Mutex<Log>,
}

#[derive(Debug, thiserror::Error)]
enum ReconcileError {
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<kube::Error>>),
}

async fn reconcile(widget: Arc<Widget>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let api = ctx.api.clone();
    finalizer(&api, FINALIZER, widget, |event| async {
        match event {
            Event::Apply(w) => {
                let generation = w.metadata.generation.unwrap_or_default();
                ctx.log.lock().unwrap().applies.push((w.name_any(), generation));
                let status = json!({"status": {"observedGeneration": generation}});
                api.patch_status(&w.name_any(), &PatchParams::default(), &Patch::Merge(&status))
                    .await?;
                Ok(Action::await_change())
            }
            Event::Cleanup(w) => {
                ctx.log.lock().unwrap().cleanups.push(w.name_any());
                Ok(Action::await_change())
            }
        }
    })
    .await
    .map_err(|e| ReconcileError::Finalizer(Box::new(e)))
}

fn error_policy(_: Arc<Widget>, _: &ReconcileError, _: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_millis(100))
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn observed(api: &Api<Widget>, name: &str) -> Option<i64> {
    api.get_opt(name)
        .await
        .ok()
        .flatten()?
        .status?
        .observed_generation
}

#[tokio::test]
async fn a_kube_controller_with_finalizer_and_patch_status_runs_its_whole_lifecycle() {
    let server = KubeEmulator::start().await.expect("server starts");
    let client = server.client();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &Widget::crd())
        .await
        .expect("CRD is created");

    let api: Api<Widget> = Api::namespaced(client.clone(), "default");
    let ctx = Arc::new(Ctx {
        api: api.clone(),
        log: Mutex::new(Log::default()),
    });
    let controller = Controller::new(api.clone(), watcher::Config::default().any_semantic())
        .run(reconcile, error_policy, ctx.clone())
        .for_each(|_| async {});
    let controller = tokio::spawn(controller);

    // Create: the finalizer is added, then status records generation 1.
    let w1 = Widget::new("w1", WidgetSpec { size: 1 });
    let created = api
        .create(&PostParams::default(), &w1)
        .await
        .expect("widget is created");
    assert_eq!(created.metadata.generation, Some(1));
    eventually("w1 reconciled at generation 1", || async {
        observed(&api, "w1").await == Some(1)
    })
    .await;
    let first = api.get("w1").await.unwrap();
    assert_eq!(first.finalizers(), [FINALIZER.to_string()]);

    // Spec change: generation 2 reaches the controller through the watch.
    api.patch(
        "w1",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"size": 2}})),
    )
    .await
    .unwrap();
    eventually("w1 reconciled at generation 2", || async {
        observed(&api, "w1").await == Some(2)
    })
    .await;
    assert!(ctx.log.lock().unwrap().applies.contains(&("w1".to_string(), 2)));

    // Status writes that change nothing emit nothing, so the controller settles instead of looping.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled = ctx.log.lock().unwrap().applies.len();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        ctx.log.lock().unwrap().applies.len(),
        settled,
        "the controller keeps reconciling a settled object"
    );

    // Stale write: replacing with the generation-1 copy is refused with 409 Conflict.
    let mut stale = first.clone();
    stale.spec.size = 5;
    match api.replace("w1", &PostParams::default(), &stale).await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 409);
            assert!(
                status.message.contains("the object has been modified"),
                "{}",
                status.message
            );
        }
        other => panic!("expected a 409 Conflict, got {other:?}"),
    }

    // Forced watch close: the controller re-watches and still sees new objects.
    server.faults().close_watches();
    api.create(&PostParams::default(), &Widget::new("w2", WidgetSpec { size: 1 }))
        .await
        .unwrap();
    eventually("w2 reconciled after the watch was closed", || async {
        observed(&api, "w2").await == Some(1)
    })
    .await;

    // Delete: deletionTimestamp first, the cleanup runs, the finalizer goes, the object is gone.
    let deleted = api.delete("w1", &DeleteParams::default()).await.unwrap();
    let pending = deleted
        .left()
        .expect("an object with a finalizer is returned, not a Status");
    assert!(pending.metadata.deletion_timestamp.is_some());
    eventually("w1 is gone", || async {
        matches!(api.get_opt("w1").await, Ok(None))
    })
    .await;
    assert_eq!(ctx.log.lock().unwrap().cleanups, vec!["w1".to_string()]);

    controller.abort();
}

#[tokio::test]
async fn a_controller_relists_after_its_watch_resource_version_expires() {
    let server = KubeEmulator::start().await.expect("server starts");
    let client = server.client();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &Widget::crd()).await.unwrap();
    let api: Api<Widget> = Api::namespaced(client.clone(), "default");
    let ctx = Arc::new(Ctx {
        api: api.clone(),
        log: Mutex::new(Log::default()),
    });
    let controller = tokio::spawn(
        Controller::new(api.clone(), watcher::Config::default())
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|_| async {}),
    );
    api.create(&PostParams::default(), &Widget::new("w1", WidgetSpec { size: 1 }))
        .await
        .unwrap();
    eventually("w1 reconciled", || async {
        observed(&api, "w1").await == Some(1)
    })
    .await;

    // The watch is cut and cannot reconnect while w2 is created and history is compacted, so
    // resuming from the old resourceVersion gets 410 Expired and the watcher must re-list.
    server.faults().fail_next("watch", "widgets", 500, 1000);
    server.faults().close_watches();
    api.create(&PostParams::default(), &Widget::new("w2", WidgetSpec { size: 1 }))
        .await
        .unwrap();
    server.compact_history();
    server.faults().reset();
    eventually("w2 reconciled after a 410 and a re-list", || async {
        observed(&api, "w2").await == Some(1)
    })
    .await;
    controller.abort();
}
