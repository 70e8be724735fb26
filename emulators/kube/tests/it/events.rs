//! Events: one store behind core/v1 and events.k8s.io/v1, converted both ways, validated per
//! request version as kube-apiserver v1.31 does, with the apiserver's Table columns.

use serde_json::{Value, json};

use crate::common::Api;

const CORE: &str = "/api/v1/namespaces/default/events";
const NEW: &str = "/apis/events.k8s.io/v1/namespaces/default/events";

fn new_event(name: &str) -> Value {
    json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": name},
        "eventTime": "2026-01-01T00:00:00.123456Z",
        "type": "Warning", "reason": "CreateFailed", "action": "Create",
        "note": "cloud said no",
        "regarding": {"apiVersion": "test.emulator.dev/v1", "kind": "Widget", "name": "w1", "namespace": "default", "uid": "u-1"},
        "reportingController": "modelarts.operator.dev/notebook",
        "reportingInstance": "operator-0",
    })
}

#[tokio::test]
async fn an_event_written_through_events_k8s_io_is_read_through_core_v1_converted() {
    let api = Api::start().await;
    let (code, created) = api.post(NEW, new_event("e1")).await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["apiVersion"], "events.k8s.io/v1");
    assert_eq!(created["note"], "cloud said no");
    let (code, core) = api.get(&format!("{CORE}/e1")).await;
    assert_eq!(code, 200, "{core}");
    assert_eq!(core["apiVersion"], "v1");
    assert_eq!(core["message"], "cloud said no");
    assert_eq!(core["involvedObject"]["name"], "w1");
    assert_eq!(core["reportingComponent"], "modelarts.operator.dev/notebook");
    assert_eq!(core["reportingInstance"], "operator-0");
    assert_eq!(core["eventTime"], "2026-01-01T00:00:00.123456Z");
    // The core/v1 type prints its unset timestamps as null and its source as an empty object.
    assert!(
        core["firstTimestamp"].is_null() && core.get("firstTimestamp").is_some(),
        "{core}"
    );
    assert_eq!(core["source"], json!({}));
    assert!(
        core.get("note").is_none() && core.get("regarding").is_none(),
        "{core}"
    );
    assert_eq!(
        core["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
}

#[tokio::test]
async fn a_core_event_is_read_through_events_k8s_io_with_deprecated_fields() {
    let api = Api::start().await;
    let ev = json!({"metadata": {"name": "old"}, "type": "Normal", "reason": "Started", "message": "hello",
                    "involvedObject": {"kind": "Widget", "name": "w1", "namespace": "default"},
                    "source": {"component": "legacy-ctl"}, "count": 3,
                    "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:05:00Z"});
    assert_eq!(api.post(CORE, ev).await.0, 201);
    let (code, view) = api.get(&format!("{NEW}/old")).await;
    assert_eq!(code, 200, "{view}");
    assert_eq!(view["note"], "hello");
    assert_eq!(view["regarding"]["name"], "w1");
    assert_eq!(view["deprecatedSource"], json!({"component": "legacy-ctl"}));
    assert_eq!(view["deprecatedCount"], 3);
    assert_eq!(view["deprecatedFirstTimestamp"], "2026-01-01T00:00:00Z");
    assert_eq!(view["deprecatedLastTimestamp"], "2026-01-01T00:05:00Z");
    assert!(view["eventTime"].is_null() && view.get("eventTime").is_some());
    assert!(
        view.get("message").is_none() && view.get("count").is_none(),
        "{view}"
    );
}

#[tokio::test]
async fn both_lists_and_both_watches_see_every_event_once() {
    let api = Api::start().await;
    let mut core_watch = api.watch(&format!("{CORE}?watch=true&resourceVersion=1")).await;
    let mut new_watch = api.watch(&format!("{NEW}?watch=true&resourceVersion=1")).await;
    api.post(NEW, new_event("e1")).await;
    let legacy = json!({"metadata": {"name": "e2"}, "reason": "R", "involvedObject": {"kind": "Widget", "name": "w2"}});
    api.post(CORE, legacy).await;
    for path in [CORE, NEW] {
        let (_, list) = api.get(path).await;
        let names: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|i| i["metadata"]["name"].as_str())
            .collect();
        assert_eq!(names, vec!["e1", "e2"], "{path}");
    }
    let a = core_watch.next().await;
    assert_eq!(
        (a["type"].as_str(), a["object"]["message"].as_str()),
        (Some("ADDED"), Some("cloud said no"))
    );
    let b = new_watch.next().await;
    assert_eq!(
        (b["object"]["apiVersion"].as_str(), b["object"]["note"].as_str()),
        (Some("events.k8s.io/v1"), Some("cloud said no"))
    );
    assert_eq!(new_watch.next().await["object"]["regarding"]["name"], "w2");
}

#[tokio::test]
async fn field_selectors_of_each_version_select_the_same_events() {
    let api = Api::start().await;
    api.post(NEW, new_event("e1")).await;
    let mut other = new_event("e2");
    other["regarding"]["name"] = json!("w9");
    other["reportingController"] = json!("someone.else/ctl");
    api.post(NEW, other).await;
    let names = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, core) = api
        .get(&format!(
            "{CORE}?fieldSelector=involvedObject.name%3Dw1,involvedObject.kind%3DWidget"
        ))
        .await;
    assert_eq!(names(&core), vec!["e1"]);
    let (_, new) = api.get(&format!("{NEW}?fieldSelector=regarding.name%3Dw1")).await;
    assert_eq!(names(&new), vec!["e1"]);
    let (_, new) = api
        .get(&format!(
            "{NEW}?fieldSelector=reportingController%3Dsomeone.else%2Fctl"
        ))
        .await;
    assert_eq!(names(&new), vec!["e2"]);
    let (code, _) = api
        .get(&format!("{NEW}?fieldSelector=involvedObject.name%3Dw1"))
        .await;
    assert_eq!(code, 400, "events.k8s.io does not know the core field label");
}

#[tokio::test]
async fn events_k8s_io_requires_reporting_controller_instance_action_and_event_time() {
    let api = Api::start().await;
    let bare = json!({"metadata": {"name": "bad"}, "type": "Normal", "reason": "R",
                      "regarding": {"kind": "Widget", "name": "w", "namespace": "default"}});
    let (code, s) = api.post(NEW, bare).await;
    assert_eq!(code, 422, "{s}");
    assert_eq!(s["details"]["kind"], "Event");
    assert_eq!(s["details"]["group"], "events.k8s.io");
    let fields: Vec<&str> = s["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        vec!["eventTime"],
        "a legacy-looking event lacks eventTime first: {s}"
    );
    let mut ev = new_event("bad");
    for key in ["reportingController", "reportingInstance", "action"] {
        ev.as_object_mut().unwrap().remove(key);
    }
    let (code, s) = api.post(NEW, ev).await;
    assert_eq!(code, 422, "{s}");
    assert_eq!(
        s["message"],
        "Event.events.k8s.io \"bad\" is invalid: [reportingController: Required value, reportingInstance: Required value, action: Required value]"
    );
    let mut ev = new_event("bad");
    ev["type"] = json!("Info");
    ev["deprecatedCount"] = json!(2);
    let (code, s) = api.post(NEW, ev).await;
    assert_eq!(code, 422);
    assert_eq!(
        s["message"],
        "Event.events.k8s.io \"bad\" is invalid: [type: Invalid value: \"\": has invalid value: Info, count: Invalid value: \"\": needs to be unset]"
    );
}

#[tokio::test]
async fn core_v1_keeps_the_legacy_rules_only() {
    let api = Api::start().await;
    // No reportingComponent needed without eventTime, but the namespaces must agree.
    let ok = json!({"metadata": {"name": "a"}, "reason": "R", "involvedObject": {"kind": "Widget", "name": "w", "namespace": "default"}});
    assert_eq!(api.post(CORE, ok).await.0, 201);
    let bad = json!({"metadata": {"name": "b"}, "reason": "R", "involvedObject": {"kind": "Widget", "name": "w", "namespace": "kube-system"}});
    let (code, s) = api.post(CORE, bad).await;
    assert_eq!(code, 422);
    assert_eq!(
        s["message"],
        "Event \"b\" is invalid: involvedObject.namespace: Invalid value: \"kube-system\": does not match event.namespace"
    );
}

#[tokio::test]
async fn a_series_update_through_events_k8s_io_may_not_change_the_note() {
    let api = Api::start().await;
    api.post(NEW, new_event("e1")).await;
    let series = json!({"series": {"count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"}});
    let (code, body) = api.merge(&format!("{NEW}/e1"), series).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["series"]["count"], 2);
    let (code, s) = api.merge(&format!("{NEW}/e1"), json!({"note": "changed"})).await;
    assert_eq!(code, 422, "{s}");
    assert_eq!(s["details"]["causes"][0]["field"], "message");
    let (code, s) = api
        .merge(&format!("{NEW}/e1"), json!({"series": {"count": 1}}))
        .await;
    assert_eq!(code, 422, "{s}");
    // core/v1 updates keep the legacy rules only (client-go's recorder bumps count this way).
    let (code, body) = api.merge(&format!("{CORE}/e1"), json!({"count": 5})).await;
    assert_eq!(code, 200, "{body}");
}

#[tokio::test]
async fn event_tables_have_the_apiservers_columns_for_both_versions() {
    let api = Api::start().await;
    api.post(NEW, new_event("e1")).await;
    for path in [CORE, NEW] {
        let resp = api
            .http
            .get(format!("{}{path}", api.base))
            .header("accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
            .send()
            .await
            .unwrap();
        let table: Value = resp.json().await.unwrap();
        let columns: Vec<&str> = table["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(
            columns,
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
        let cells = &table["rows"][0]["cells"];
        assert_eq!(cells[1], "Warning");
        assert_eq!(cells[3], "widget/w1");
        assert_eq!(cells[5], "modelarts.operator.dev/notebook");
        assert_eq!(cells[6], "cloud said no");
        assert_eq!(cells[8], "1");
        assert_eq!(cells[9], "e1");
    }
}
