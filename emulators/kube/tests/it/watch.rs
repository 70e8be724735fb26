//! Watch semantics: NDJSON events, replay from a resourceVersion, synthetic ADDED for ""/"0",
//! selector transitions, timeoutSeconds, bookmarks, 410 Expired after compaction, and CRD deletion.

use std::time::Duration;

use crate::common::{Api, WIDGETS};
use kube_emulator::{KubeEmulator, Options};
use serde_json::json;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn cm(api: &Api, name: &str) -> String {
    let (_, c) = api
        .post(CMS, json!({"metadata": {"name": name, "labels": {"app": "web"}}}))
        .await;
    c["metadata"]["resourceVersion"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_watch_from_zero_starts_with_synthetic_added_events_then_follows_live_changes() {
    let api = Api::start().await;
    cm(&api, "a").await;
    let mut w = api.watch(&format!("{CMS}?watch=true&resourceVersion=0")).await;
    assert_eq!(w.status, 200);
    let first = w.next().await;
    assert_eq!(
        (
            first["type"].as_str(),
            first["object"]["metadata"]["name"].as_str()
        ),
        (Some("ADDED"), Some("a"))
    );
    cm(&api, "b").await;
    let live = w.next().await;
    assert_eq!(
        (live["type"].as_str(), live["object"]["metadata"]["name"].as_str()),
        (Some("ADDED"), Some("b"))
    );
    api.merge(&format!("{CMS}/b"), json!({"data": {"k": "v"}})).await;
    assert_eq!(w.next().await["type"], "MODIFIED");
    api.delete(&format!("{CMS}/b")).await;
    assert_eq!(w.next().await["type"], "DELETED");
}

#[tokio::test]
async fn a_watch_from_a_resource_version_replays_later_history_without_a_gap() {
    let api = Api::start().await;
    let rv = cm(&api, "a").await;
    cm(&api, "b").await;
    cm(&api, "c").await;
    let mut w = api.watch(&format!("{CMS}?watch=true&resourceVersion={rv}")).await;
    assert_eq!(w.next().await["object"]["metadata"]["name"], "b");
    assert_eq!(w.next().await["object"]["metadata"]["name"], "c");
    cm(&api, "d").await;
    assert_eq!(w.next().await["object"]["metadata"]["name"], "d");
}

#[tokio::test]
async fn a_label_selector_watch_turns_objects_leaving_the_selection_into_deleted() {
    let api = Api::start().await;
    let rv = cm(&api, "a").await;
    let mut w = api
        .watch(&format!(
            "{CMS}?watch=true&resourceVersion={rv}&labelSelector=app%3Dweb"
        ))
        .await;
    api.merge(
        &format!("{CMS}/a"),
        json!({"metadata": {"labels": {"app": "db"}}}),
    )
    .await;
    assert_eq!(w.next().await["type"], "DELETED");
    api.merge(
        &format!("{CMS}/a"),
        json!({"metadata": {"labels": {"app": "web"}}}),
    )
    .await;
    assert_eq!(w.next().await["type"], "ADDED");
}

#[tokio::test]
async fn timeout_seconds_ends_the_watch_stream() {
    let api = Api::start().await;
    let mut w = api.watch(&format!("{CMS}?watch=true&timeoutSeconds=1")).await;
    let started = std::time::Instant::now();
    assert!(w.next_within(Duration::from_secs(5)).await.is_none());
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn bookmarks_are_sent_when_allowed_and_carry_the_latest_resource_version() {
    let options = Options {
        bookmark_interval: Duration::from_millis(200),
        ..Options::default()
    };
    let server = KubeEmulator::start_with(options, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let api = Api::with(server);
    let rv = cm(&api, "a").await;
    let mut w = api
        .watch(&format!(
            "{CMS}?watch=true&resourceVersion={rv}&allowWatchBookmarks=true"
        ))
        .await;
    let b = w.next().await;
    assert_eq!(b["type"], "BOOKMARK");
    assert_eq!(b["object"]["kind"], "ConfigMap");
    assert_eq!(b["object"]["metadata"]["resourceVersion"], rv.as_str());
    let mut plain = api.watch(&format!("{CMS}?watch=true&resourceVersion={rv}")).await;
    assert!(
        plain.next_within(Duration::from_millis(600)).await.is_none(),
        "no bookmarks unless asked"
    );
}

#[tokio::test]
async fn send_initial_events_ends_the_initial_list_with_an_annotated_bookmark() {
    let api = Api::start().await;
    cm(&api, "a").await;
    let mut w = api.watch(&format!("{CMS}?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")).await;
    assert_eq!(w.next().await["type"], "ADDED");
    let b = w.next().await;
    assert_eq!(b["type"], "BOOKMARK");
    assert_eq!(
        b["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
}

#[tokio::test]
async fn a_resource_version_older_than_compacted_history_gets_a_410_expired_error_event() {
    let api = Api::start().await;
    let rv = cm(&api, "a").await;
    cm(&api, "b").await;
    api.server.compact_history();
    let mut w = api.watch(&format!("{CMS}?watch=true&resourceVersion={rv}")).await;
    let e = w.next().await;
    assert_eq!(e["type"], "ERROR");
    assert_eq!(e["object"]["code"], 410);
    assert_eq!(e["object"]["reason"], "Expired");
    assert!(
        w.next_within(Duration::from_millis(300)).await.is_none(),
        "the stream ends after the error"
    );
}

#[tokio::test]
async fn a_bounded_history_expires_old_resource_versions_on_its_own() {
    let options = Options {
        history_limit: 3,
        ..Options::default()
    };
    let api = Api::with(
        KubeEmulator::start_with(options, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap(),
    );
    let rv = cm(&api, "a").await;
    for n in ["b", "c", "d", "e"] {
        cm(&api, n).await;
    }
    let mut w = api.watch(&format!("{CMS}?watch=true&resourceVersion={rv}")).await;
    assert_eq!(w.next().await["object"]["code"], 410);
}

#[tokio::test]
async fn deleting_a_crd_deletes_its_objects_with_deleted_events_and_stops_serving_it() {
    let api = Api::start().await;
    api.widget_crd().await;
    api.create_widget("a", json!({"size": 1, "zone": "z"})).await;
    let mut w = api.watch(&format!("{WIDGETS}?watch=true")).await;
    assert_eq!(w.next().await["type"], "ADDED");
    api.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.emulator.dev")
        .await;
    let e = w.next().await;
    assert_eq!(
        (e["type"].as_str(), e["object"]["metadata"]["name"].as_str()),
        (Some("DELETED"), Some("a"))
    );
    assert_eq!(api.get(WIDGETS).await.0, 404);
}

#[tokio::test]
async fn an_all_namespaces_watch_sees_every_namespace() {
    let api = Api::start().await;
    api.post("/api/v1/namespaces", json!({"metadata": {"name": "other"}}))
        .await;
    let mut w = api.watch("/api/v1/configmaps?watch=true&resourceVersion=0").await;
    api.post(
        "/api/v1/namespaces/other/configmaps",
        json!({"metadata": {"name": "x"}}),
    )
    .await;
    let e = w.next().await;
    assert_eq!(e["object"]["metadata"]["namespace"], "other");
}
