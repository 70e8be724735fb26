//! Server-side printing for `kubectl get` and the fault hooks (library API and HTTP endpoints).

use std::time::{Duration, Instant};

use crate::common::{Api, WIDGETS};
use serde_json::{Value, json};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

async fn table(api: &Api, path: &str) -> Value {
    let resp = api
        .http
        .get(format!("{}{path}", api.base))
        .header("accept", TABLE)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

#[tokio::test]
async fn a_table_request_gets_name_plus_the_crds_printer_columns_with_a_jsonpath_filter() {
    let api = Api::start().await;
    api.widget_crd().await;
    api.create_widget("a", json!({"size": 3, "zone": "z"})).await;
    let status = json!({"status": {"conditions": [{"type": "Synced", "status": "True"}, {"type": "Ready", "status": "False"}]}});
    api.merge(&format!("{WIDGETS}/a/status"), status).await;
    let t = table(&api, WIDGETS).await;
    assert_eq!(t["kind"], "Table");
    let names: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Name", "Size", "Ready", "Age"]);
    let cells = t["rows"][0]["cells"].as_array().unwrap();
    assert_eq!(&cells[..3], &[json!("a"), json!(3), json!("False")]);
    assert!(
        cells[3].as_str().unwrap().ends_with('s'),
        "age like 0s: {}",
        cells[3]
    );
    assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
}

#[tokio::test]
async fn built_ins_get_a_default_name_and_age_table() {
    let api = Api::start().await;
    api.post(
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "c"}}),
    )
    .await;
    let t = table(&api, "/api/v1/namespaces/default/configmaps/c").await;
    let names: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Name", "Age"]);
    assert_eq!(t["rows"][0]["cells"][0], "c");
}

#[tokio::test]
async fn a_table_watch_sends_rows_with_column_definitions_only_first() {
    let api = Api::start().await;
    api.post(
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "a"}}),
    )
    .await;
    let mut reader = api
        .watch_accepting("/api/v1/namespaces/default/configmaps?watch=true", TABLE)
        .await;
    let first = reader.next().await;
    assert_eq!(first["object"]["kind"], "Table");
    assert_eq!(first["object"]["rows"][0]["cells"][0], "a");
    assert!(
        !first["object"]["columnDefinitions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    api.post(
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "b"}}),
    )
    .await;
    let second = reader.next().await;
    assert_eq!(second["object"]["rows"][0]["cells"][0], "b");
    assert!(
        second["object"]["columnDefinitions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn fail_next_fails_exactly_n_matching_requests_with_the_given_status() {
    let api = Api::start().await;
    api.server.faults().fail_next("create", "configmaps", 503, 2);
    let body = json!({"metadata": {"name": "c"}});
    let (code, s) = api
        .post("/api/v1/namespaces/default/configmaps", body.clone())
        .await;
    assert_eq!((code, s["reason"].as_str().unwrap()), (503, "ServiceUnavailable"));
    assert_eq!(
        api.get("/api/v1/namespaces/default/configmaps").await.0,
        200,
        "other verbs are untouched"
    );
    assert_eq!(
        api.post("/api/v1/namespaces/default/configmaps", body.clone())
            .await
            .0,
        503
    );
    assert_eq!(
        api.post("/api/v1/namespaces/default/configmaps", body).await.0,
        201
    );
}

#[tokio::test]
async fn the_http_control_endpoints_arm_failures_and_latency() {
    let api = Api::start().await;
    let (code, _) = api
        .post(
            "/_emulator/faults/fail",
            json!({"verb": "get", "resource": "namespaces", "status": 500, "count": 1}),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(api.get("/_emulator/faults").await.1["rules"][0]["status"], 500);
    assert_eq!(api.get("/api/v1/namespaces/default").await.0, 500);
    assert_eq!(api.get("/api/v1/namespaces/default").await.0, 200);
    api.post("/_emulator/faults/latency", json!({"millis": 300}))
        .await;
    let started = Instant::now();
    api.get("/api/v1/namespaces/default").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    api.post("/_emulator/faults/reset", json!({})).await;
    let started = Instant::now();
    api.get("/api/v1/namespaces/default").await;
    assert!(started.elapsed() < Duration::from_millis(300));
    let (code, s) = api.post("/_emulator/faults/fail", json!({"verb": 1})).await;
    assert_eq!((code, s["reason"].as_str().unwrap()), (400, "BadRequest"));
}

#[tokio::test]
async fn closing_watches_ends_every_open_stream_and_new_watches_still_work() {
    let api = Api::start().await;
    let mut w1 = api
        .watch("/api/v1/namespaces/default/configmaps?watch=true")
        .await;
    let (code, _) = api.post("/_emulator/watches/close", json!({})).await;
    assert_eq!(code, 200);
    assert!(
        w1.next_within(Duration::from_secs(2)).await.is_none(),
        "the stream ended"
    );
    let mut w2 = api
        .watch("/api/v1/namespaces/default/configmaps?watch=true")
        .await;
    api.post(
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "c"}}),
    )
    .await;
    assert_eq!(w2.next().await["type"], "ADDED");
}

#[tokio::test]
async fn core_events_print_the_columns_kubectl_get_events_shows() {
    let api = Api::start().await;
    let ev = json!({"metadata": {"name": "e"}, "type": "Warning", "reason": "Failed", "message": "boom",
                    "involvedObject": {"kind": "Widget", "name": "a"}, "lastTimestamp": "2026-01-01T00:00:00Z"});
    api.post("/api/v1/namespaces/default/events", ev).await;
    let t = table(&api, "/api/v1/namespaces/default/events").await;
    let names: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    // The apiserver's event printer: no leading Name, `kind/name` objects, wide-only columns.
    assert_eq!(
        names,
        vec![
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject",
            "Source",
            "Message",
            "First Seen",
            "Count",
            "Name"
        ]
    );
    assert_eq!(
        &t["rows"][0]["cells"].as_array().unwrap()[1..7],
        &[
            json!("Warning"),
            json!("Failed"),
            json!("widget/a"),
            json!(""),
            json!(""),
            json!("boom")
        ]
    );
    assert_eq!(t["rows"][0]["cells"][8], "1");
    assert_eq!(t["rows"][0]["cells"][9], "e");
}
