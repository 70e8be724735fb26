//! Garbage collection by ownerReferences (background, foreground, orphan) and CRD deletion
//! through the custom resources' finalizers, as kube-controller-manager and the
//! apiextensions-apiserver do them.

use serde_json::{Value, json};

use crate::common::{Api, WIDGETS, widget};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn owner(api: &Api, name: &str) -> Value {
    let (code, o) = api.post(CMS, json!({"metadata": {"name": name}})).await;
    assert_eq!(code, 201, "{o}");
    o
}

fn reference(owner: &Value, block: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
           "uid": owner["metadata"]["uid"], "blockOwnerDeletion": block})
}

async fn dependent(api: &Api, name: &str, refs: Vec<Value>, finalizers: &[&str]) {
    let body = json!({"metadata": {"name": name, "ownerReferences": refs, "finalizers": finalizers}});
    let (code, d) = api.post(CMS, body).await;
    assert_eq!(code, 201, "{d}");
}

async fn delete_with(api: &Api, path: &str, options: Value) -> (u16, Value) {
    api.send("DELETE", path, "application/json", Some(options)).await
}

#[tokio::test]
async fn background_deletion_removes_dependents_after_their_owner() {
    let api = Api::start().await;
    let o = owner(&api, "o").await;
    dependent(&api, "d", vec![reference(&o, false)], &[]).await;
    assert_eq!(api.delete(&format!("{CMS}/o")).await.0, 200);
    assert_eq!(api.get(&format!("{CMS}/d")).await.0, 404);
}

#[tokio::test]
async fn a_dependent_with_another_live_owner_only_loses_the_dangling_reference() {
    let api = Api::start().await;
    let a = owner(&api, "a").await;
    let b = owner(&api, "b").await;
    dependent(&api, "d", vec![reference(&a, false), reference(&b, false)], &[]).await;
    api.delete(&format!("{CMS}/a")).await;
    let (code, d) = api.get(&format!("{CMS}/d")).await;
    assert_eq!(code, 200);
    assert_eq!(d["metadata"]["ownerReferences"], json!([reference(&b, false)]));
}

#[tokio::test]
async fn orphan_propagation_keeps_dependents_and_drops_their_owner_reference() {
    let api = Api::start().await;
    let o = owner(&api, "o").await;
    dependent(&api, "d", vec![reference(&o, false)], &[]).await;
    let (code, _) = delete_with(&api, &format!("{CMS}/o"), json!({"propagationPolicy": "Orphan"})).await;
    assert_eq!(code, 200);
    assert_eq!(api.get(&format!("{CMS}/o")).await.0, 404);
    let (code, d) = api.get(&format!("{CMS}/d")).await;
    assert_eq!(code, 200);
    assert!(d["metadata"].get("ownerReferences").is_none(), "{d}");
}

#[tokio::test]
async fn foreground_deletion_waits_for_blocking_dependents() {
    let api = Api::start().await;
    let o = owner(&api, "o").await;
    dependent(&api, "d", vec![reference(&o, true)], &["example.com/hold"]).await;
    let (code, deleting) = delete_with(
        &api,
        &format!("{CMS}/o"),
        json!({"propagationPolicy": "Foreground"}),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(deleting["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    let (_, o_now) = api.get(&format!("{CMS}/o")).await;
    assert!(
        o_now["metadata"]["deletionTimestamp"].is_string(),
        "the owner waits: {o_now}"
    );
    let (_, d) = api.get(&format!("{CMS}/d")).await;
    assert!(d["metadata"]["deletionTimestamp"].is_string(), "{d}");
    api.merge(&format!("{CMS}/d"), json!({"metadata": {"finalizers": null}}))
        .await;
    assert_eq!(api.get(&format!("{CMS}/d")).await.0, 404);
    assert_eq!(api.get(&format!("{CMS}/o")).await.0, 404);
}

#[tokio::test]
async fn foreground_deletion_does_not_wait_for_non_blocking_dependents() {
    let api = Api::start().await;
    let o = owner(&api, "o").await;
    dependent(&api, "d", vec![reference(&o, false)], &["example.com/hold"]).await;
    delete_with(&api, &format!("{CMS}/o?propagationPolicy=Foreground"), json!({})).await;
    assert_eq!(api.get(&format!("{CMS}/o")).await.0, 404);
    let (_, d) = api.get(&format!("{CMS}/d")).await;
    assert!(d["metadata"]["deletionTimestamp"].is_string(), "{d}");
}

#[tokio::test]
async fn an_unknown_propagation_policy_is_invalid() {
    let api = Api::start().await;
    owner(&api, "o").await;
    let (code, s) = delete_with(
        &api,
        &format!("{CMS}/o"),
        json!({"propagationPolicy": "Sideways"}),
    )
    .await;
    assert_eq!(code, 422, "{s}");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("propagationPolicy: Unsupported value: \"Sideways\"")
    );
    assert_eq!(api.get(&format!("{CMS}/o")).await.0, 200);
}

#[tokio::test]
async fn deleting_a_crd_deletes_its_resources_through_their_finalizers() {
    let api = Api::start().await;
    api.widget_crd().await;
    let mut held = widget("held", json!({"size": 1, "zone": "z"}));
    held["metadata"]["finalizers"] = json!(["example.com/cleanup"]);
    assert_eq!(api.post(WIDGETS, held).await.0, 201);
    api.create_widget("free", json!({"size": 1, "zone": "z"})).await;
    let crd = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.test.emulator.dev";
    let (code, deleting) = api.delete(crd).await;
    assert_eq!(code, 200, "{deleting}");
    assert_eq!(
        deleting["metadata"]["finalizers"],
        json!(["customresourcecleanup.apiextensions.k8s.io"])
    );
    let (_, now) = api.get(crd).await;
    let terminating = now["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Terminating")
        .cloned()
        .unwrap_or_default();
    assert_eq!(terminating["status"], "True", "{now}");
    assert_eq!(terminating["reason"], "InstanceDeletionInProgress");
    // Still served while terminating, so the operator can remove its finalizer.
    assert_eq!(api.get(&format!("{WIDGETS}/free")).await.0, 404);
    let (code, w) = api.get(&format!("{WIDGETS}/held")).await;
    assert_eq!(code, 200);
    assert!(w["metadata"]["deletionTimestamp"].is_string());
    let (code, s) = api
        .post(WIDGETS, widget("late", json!({"size": 1, "zone": "z"})))
        .await;
    assert_eq!(code, 405, "{s}");
    assert_eq!(
        s["message"],
        "create not allowed while custom resource definition is terminating"
    );
    api.merge(
        &format!("{WIDGETS}/held"),
        json!({"metadata": {"finalizers": null}}),
    )
    .await;
    assert_eq!(api.get(crd).await.0, 404);
    assert_eq!(api.get(WIDGETS).await.0, 404);
}
