//! Patch semantics: merge patch, JSON patch with the test-against-null quirk, server-side apply,
//! and 415 for strategic-merge patches on custom resources.

use crate::common::{Api, WIDGETS, widget};
use serde_json::json;

#[tokio::test]
async fn a_merge_patch_merges_maps_and_null_removes_a_field() {
    let api = Api::start().await;
    api.widget_crd().await;
    api.create_widget("a", json!({"size": 1, "zone": "z", "tags": {"a": "1", "b": "2"}}))
        .await;
    let (code, w) = api
        .merge(
            &format!("{WIDGETS}/a"),
            json!({"spec": {"tags": {"a": null, "c": "3"}}}),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(w["spec"]["tags"], json!({"b": "2", "c": "3"}));
}

#[tokio::test]
async fn a_json_patch_test_of_a_missing_field_against_null_passes_as_on_the_apiserver() {
    let api = Api::start().await;
    api.widget_crd().await;
    api.create_widget("a", json!({"size": 1, "zone": "z"})).await;
    let patch = json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]}
    ]);
    let (code, w) = api.json_patch(&format!("{WIDGETS}/a"), patch).await;
    assert_eq!(code, 200, "{w}");
    assert_eq!(w["metadata"]["finalizers"], json!(["x/y"]));
}

#[tokio::test]
async fn a_failing_json_patch_test_is_422_and_changes_nothing() {
    let api = Api::start().await;
    api.widget_crd().await;
    let before = api.create_widget("a", json!({"size": 1, "zone": "z"})).await;
    let patch = json!([{"op": "replace", "path": "/spec/size", "value": 4}, {"op": "test", "path": "/spec/zone", "value": "other"}]);
    let (code, _) = api.json_patch(&format!("{WIDGETS}/a"), patch).await;
    assert_eq!(code, 422);
    assert_eq!(api.get(&format!("{WIDGETS}/a")).await.1, before);
}

#[tokio::test]
async fn a_strategic_merge_patch_on_a_custom_resource_is_415() {
    let api = Api::start().await;
    api.widget_crd().await;
    api.create_widget("a", json!({"size": 1, "zone": "z"})).await;
    let (code, s) = api
        .send(
            "PATCH",
            &format!("{WIDGETS}/a"),
            "application/strategic-merge-patch+json",
            Some(json!({"spec": {"size": 2}})),
        )
        .await;
    assert_eq!(code, 415);
    assert_eq!(s["reason"], "UnsupportedMediaType");
}

#[tokio::test]
async fn a_strategic_merge_patch_on_a_built_in_is_accepted() {
    let api = Api::start().await;
    api.post(
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "c"}, "data": {"a": "1"}}),
    )
    .await;
    let (code, c) = api
        .send(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/c",
            "application/strategic-merge-patch+json",
            Some(json!({"data": {"b": "2"}})),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(c["data"], json!({"a": "1", "b": "2"}));
}

#[tokio::test]
async fn server_side_apply_requires_a_field_manager() {
    let api = Api::start().await;
    api.widget_crd().await;
    let (code, s) = api
        .send(
            "PATCH",
            &format!("{WIDGETS}/a"),
            "application/apply-patch+yaml",
            Some(widget("a", json!({"size": 1, "zone": "z"}))),
        )
        .await;
    assert_eq!(code, 422);
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("fieldManager: Required value")
    );
}

#[tokio::test]
async fn server_side_apply_creates_a_missing_object_then_merges_another_managers_fields() {
    let api = Api::start().await;
    api.widget_crd().await;
    let path = format!("{WIDGETS}/a?fieldManager=tester");
    let (code, w) = api
        .send(
            "PATCH",
            &path,
            "application/apply-patch+yaml",
            Some(widget("a", json!({"size": 1, "zone": "z"}))),
        )
        .await;
    assert_eq!(code, 201, "{w}");
    assert_eq!(w["metadata"]["managedFields"][0]["manager"], "tester");
    let yaml = "apiVersion: test.emulator.dev/v1\nkind: Widget\nmetadata:\n  name: a\nspec:\n  size: 3\n";
    // A second manager changing a field "tester" owns conflicts; with force it takes it over.
    // zone stays because "tester" still owns it.
    let resp = api
        .http
        .patch(format!("{}{WIDGETS}/a?fieldManager=other", api.base))
        .header("content-type", "application/apply-patch+yaml")
        .body(yaml)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    let resp = api
        .http
        .patch(format!("{}{WIDGETS}/a?fieldManager=other&force=true", api.base))
        .header("content-type", "application/apply-patch+yaml")
        .body(yaml)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let w: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(w["spec"]["size"], 3);
    assert_eq!(w["spec"]["zone"], "z");
    assert_eq!(w["metadata"]["generation"], 2);
    let managers: Vec<&str> = w["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, vec!["tester", "other"]);
}

#[tokio::test]
async fn an_unknown_patch_content_type_is_415() {
    let api = Api::start().await;
    api.post(
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "c"}}),
    )
    .await;
    let (code, _) = api
        .send(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/c",
            "text/plain",
            Some(json!({})),
        )
        .await;
    assert_eq!(code, 415);
}

#[tokio::test]
async fn a_malformed_body_is_a_400_status_not_a_crash() {
    let api = Api::start().await;
    let resp = api
        .http
        .post(format!("{}/api/v1/namespaces/default/configmaps", api.base))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let s: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(s["kind"], "Status");
    assert_eq!(s["reason"], "BadRequest");
}

#[tokio::test]
async fn a_patch_that_makes_the_object_a_non_object_is_a_400_not_a_crash() {
    let api = Api::start().await;
    api.post(
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "c"}}),
    )
    .await;
    let path = "/api/v1/namespaces/default/configmaps/c";
    assert_eq!(api.merge(path, json!([1, 2])).await.0, 400);
    assert_eq!(
        api.json_patch(path, json!([{"op": "replace", "path": "", "value": "x"}]))
            .await
            .0,
        400
    );
    assert_eq!(
        api.json_patch(path, json!([{"op": "add", "path": "/metadata", "value": 7}]))
            .await
            .0,
        400
    );
    let (code, _) = api
        .send(
            "PATCH",
            &format!("{path}?fieldManager=m"),
            "application/apply-patch+yaml",
            Some(json!("scalar")),
        )
        .await;
    assert_eq!(code, 400);
    let (code, _) = api
        .send(
            "PATCH",
            "/api/v1/namespaces/default/configmaps/new?fieldManager=m",
            "application/apply-patch+yaml",
            Some(json!({"metadata": "x"})),
        )
        .await;
    assert_eq!(code, 400);
    assert_eq!(api.get(path).await.0, 200, "the server is still serving");
}

#[tokio::test]
async fn wrongly_typed_metadata_is_a_400_decoding_error() {
    let api = Api::start().await;
    let cases = [
        json!({"metadata": {"name": "a", "labels": {"k": 1}}}),
        json!({"metadata": {"name": "a", "labels": "x"}}),
        json!({"metadata": {"name": 5}}),
        json!({"metadata": {"name": "a", "finalizers": [1]}}),
        json!({"metadata": "x"}),
    ];
    for body in cases {
        let (code, s) = api
            .post("/api/v1/namespaces/default/configmaps", body.clone())
            .await;
        assert_eq!(code, 400, "{body} -> {s}");
    }
}

#[tokio::test]
async fn server_side_apply_removes_a_field_its_manager_stops_applying() {
    let api = Api::start().await;
    api.widget_crd().await;
    let apply = |manager: &'static str, spec: serde_json::Value| {
        let path = format!("{WIDGETS}/a?fieldManager={manager}");
        let api = &api;
        async move {
            api.send(
                "PATCH",
                &path,
                "application/apply-patch+yaml",
                Some(widget("a", spec)),
            )
            .await
        }
    };
    apply("one", json!({"size": 1, "zone": "z", "tags": {"a": "1"}})).await;
    let (code, w) = apply("one", json!({"size": 1, "zone": "z"})).await;
    assert_eq!(code, 200, "{w}");
    assert!(
        w["spec"].get("tags").is_none(),
        "tags were only applied by 'one': {w}"
    );
    let fields = &w["metadata"]["managedFields"][0]["fieldsV1"];
    assert_eq!(fields["f:spec"], json!({"f:size": {}, "f:zone": {}}));
    let rv = w["metadata"]["resourceVersion"].clone();
    let (_, again) = apply("one", json!({"size": 1, "zone": "z"})).await;
    assert_eq!(
        again["metadata"]["resourceVersion"], rv,
        "an identical re-apply is a no-op"
    );
}

#[tokio::test]
async fn a_protobuf_body_of_a_kind_other_than_secret_or_config_map_is_refused_with_415() {
    let api = Api::start().await;
    let resp = api
        .http
        .post(format!(
            "{}/apis/coordination.k8s.io/v1/namespaces/default/leases",
            api.base
        ))
        .header("content-type", "application/vnd.kubernetes.protobuf")
        .body(vec![0x6b, 0x38, 0x73, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 415);
    let s: serde_json::Value = resp.json().await.unwrap();
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("protobuf bodies only for Secrets, ConfigMaps and DeleteOptions")
    );
}
