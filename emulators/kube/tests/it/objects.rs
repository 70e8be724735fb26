//! Object semantics over raw HTTP: metadata, generation and resourceVersion rules, the status
//! subresource, optimistic concurrency, finalizers, dry run, built-in kinds, paging, selectors.

use crate::common::{Api, WIDGETS, widget};
use serde_json::{Value, json};

fn rv(o: &Value) -> u64 {
    o["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn create_assigns_uid_timestamp_generation_one_and_a_resource_version() {
    let api = Api::start().await;
    api.widget_crd().await;
    let w = api.create_widget("a", json!({"size": 1, "zone": "z1"})).await;
    assert!(!w["metadata"]["uid"].as_str().unwrap().is_empty());
    assert!(
        w["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_eq!(w["metadata"]["generation"], 1);
    assert_eq!(w["metadata"]["namespace"], "default");
    assert!(rv(&w) > 0);
}

#[tokio::test]
async fn resource_versions_increase_globally_across_resources() {
    let api = Api::start().await;
    api.widget_crd().await;
    let a = api.create_widget("a", json!({"size": 1, "zone": "z"})).await;
    let (_, cm) = api
        .post(
            "/api/v1/namespaces/default/configmaps",
            json!({"metadata": {"name": "c"}}),
        )
        .await;
    let b = api.create_widget("b", json!({"size": 1, "zone": "z"})).await;
    assert!(rv(&a) < rv(&cm) && rv(&cm) < rv(&b));
}

#[tokio::test]
async fn generate_name_creates_a_unique_name_with_the_prefix() {
    let api = Api::start().await;
    let body = json!({"metadata": {"generateName": "cfg-"}, "data": {"k": "v"}});
    let (code, a) = api
        .post("/api/v1/namespaces/default/configmaps", body.clone())
        .await;
    let (_, b) = api.post("/api/v1/namespaces/default/configmaps", body).await;
    assert_eq!(code, 201);
    let (na, nb) = (
        a["metadata"]["name"].as_str().unwrap(),
        b["metadata"]["name"].as_str().unwrap(),
    );
    assert!(na.starts_with("cfg-") && na.len() == 9 && na != nb);
}

#[tokio::test]
async fn creating_without_name_or_generate_name_is_invalid() {
    let api = Api::start().await;
    let (code, s) = api
        .post("/api/v1/namespaces/default/configmaps", json!({"metadata": {}}))
        .await;
    assert_eq!(code, 422);
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("name or generateName is required")
    );
}

#[tokio::test]
async fn creating_an_existing_object_is_a_409_already_exists() {
    let api = Api::start().await;
    api.post(
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "c"}}),
    )
    .await;
    let (code, s) = api
        .post(
            "/api/v1/namespaces/default/configmaps",
            json!({"metadata": {"name": "c"}}),
        )
        .await;
    assert_eq!(code, 409);
    assert_eq!(s["reason"], "AlreadyExists");
    assert_eq!(s["message"], "configmaps \"c\" already exists");
}

#[tokio::test]
async fn a_missing_object_is_a_404_status_in_the_apiservers_shape() {
    let api = Api::start().await;
    api.widget_crd().await;
    let (code, s) = api.get(&format!("{WIDGETS}/nope")).await;
    assert_eq!(code, 404);
    assert_eq!(s["kind"], "Status");
    assert_eq!(s["status"], "Failure");
    assert_eq!(s["reason"], "NotFound");
    assert_eq!(s["message"], "widgets.test.emulator.dev \"nope\" not found");
    assert_eq!(
        s["details"],
        json!({"name": "nope", "group": "test.emulator.dev", "kind": "widgets"})
    );
}

#[tokio::test]
async fn creating_in_a_missing_namespace_is_a_404() {
    let api = Api::start().await;
    let (code, s) = api
        .post(
            "/api/v1/namespaces/ghost/configmaps",
            json!({"metadata": {"name": "c"}}),
        )
        .await;
    assert_eq!(code, 404);
    assert_eq!(s["message"], "namespaces \"ghost\" not found");
}

#[tokio::test]
async fn status_is_dropped_on_create_when_status_is_a_subresource() {
    let api = Api::start().await;
    api.widget_crd().await;
    let mut body = widget("a", json!({"size": 1, "zone": "z"}));
    body["status"] = json!({"observedGeneration": 7});
    let (_, w) = api.post(WIDGETS, body).await;
    assert!(w.get("status").is_none(), "{w}");
}

#[tokio::test]
async fn a_spec_change_bumps_generation_but_metadata_and_status_changes_do_not() {
    let api = Api::start().await;
    api.widget_crd().await;
    api.create_widget("a", json!({"size": 1, "zone": "z"})).await;
    let (_, w) = api
        .merge(
            &format!("{WIDGETS}/a"),
            json!({"metadata": {"labels": {"x": "y"}}}),
        )
        .await;
    assert_eq!(w["metadata"]["generation"], 1);
    let (_, w) = api
        .merge(
            &format!("{WIDGETS}/a/status"),
            json!({"status": {"observedGeneration": 1}}),
        )
        .await;
    assert_eq!(w["metadata"]["generation"], 1);
    let (_, w) = api
        .merge(&format!("{WIDGETS}/a"), json!({"spec": {"size": 2}}))
        .await;
    assert_eq!(w["metadata"]["generation"], 2);
}

#[tokio::test]
async fn a_no_op_write_keeps_the_resource_version_and_emits_no_event() {
    let api = Api::start().await;
    api.widget_crd().await;
    let w = api.create_widget("a", json!({"size": 1, "zone": "z"})).await;
    let mut watch = api
        .watch(&format!("{WIDGETS}?watch=true&resourceVersion={}", rv(&w)))
        .await;
    let (_, same) = api
        .merge(&format!("{WIDGETS}/a"), json!({"spec": {"size": 1}}))
        .await;
    assert_eq!(rv(&same), rv(&w));
    let (_, same) = api.put(&format!("{WIDGETS}/a"), w.clone()).await;
    assert_eq!(rv(&same), rv(&w));
    assert!(
        watch
            .next_within(std::time::Duration::from_millis(300))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_main_resource_write_keeps_the_old_status_and_a_status_write_changes_only_status() {
    let api = Api::start().await;
    api.widget_crd().await;
    api.create_widget("a", json!({"size": 1, "zone": "z"})).await;
    api.merge(
        &format!("{WIDGETS}/a/status"),
        json!({"status": {"observedGeneration": 1}}),
    )
    .await;
    let (_, w) = api
        .merge(
            &format!("{WIDGETS}/a"),
            json!({"status": {"observedGeneration": 9}, "spec": {"size": 3}}),
        )
        .await;
    assert_eq!(w["status"]["observedGeneration"], 1);
    assert_eq!(w["spec"]["size"], 3);
    let (_, w) = api
        .merge(&format!("{WIDGETS}/a/status"), json!({"spec": {"size": 9}, "metadata": {"labels": {"l": "v"}}, "status": {"observedGeneration": 2}}))
        .await;
    assert_eq!(w["spec"]["size"], 3);
    assert!(w["metadata"].get("labels").is_none());
    assert_eq!(w["status"]["observedGeneration"], 2);
}

#[tokio::test]
async fn put_without_resource_version_on_a_custom_resource_is_422() {
    let api = Api::start().await;
    api.widget_crd().await;
    api.create_widget("a", json!({"size": 1, "zone": "z"})).await;
    let (code, s) = api
        .put(
            &format!("{WIDGETS}/a"),
            widget("a", json!({"size": 2, "zone": "z"})),
        )
        .await;
    assert_eq!(code, 422);
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("metadata.resourceVersion: Invalid value: 0x0: must be specified for an update")
    );
}

#[tokio::test]
async fn a_stale_resource_version_in_put_or_patch_is_409_with_the_apiservers_wording() {
    let api = Api::start().await;
    api.widget_crd().await;
    let old = api.create_widget("a", json!({"size": 1, "zone": "z"})).await;
    api.merge(&format!("{WIDGETS}/a"), json!({"spec": {"size": 2}}))
        .await;
    let want = "Operation cannot be fulfilled on widgets.test.emulator.dev \"a\": the object has been modified; please apply your changes to the latest version and try again";
    let (code, s) = api.put(&format!("{WIDGETS}/a"), old.clone()).await;
    assert_eq!((code, s["message"].as_str().unwrap()), (409, want));
    let (code, s) = api
        .merge(
            &format!("{WIDGETS}/a"),
            json!({"metadata": {"resourceVersion": old["metadata"]["resourceVersion"]}, "spec": {"size": 3}}),
        )
        .await;
    assert_eq!((code, s["reason"].as_str().unwrap()), (409, "Conflict"));
}

#[tokio::test]
async fn delete_with_finalizers_sets_deletion_timestamp_and_removing_the_last_one_deletes() {
    let api = Api::start().await;
    api.widget_crd().await;
    let mut body = widget("a", json!({"size": 1, "zone": "z"}));
    body["metadata"]["finalizers"] = json!(["test/f"]);
    api.post(WIDGETS, body).await;
    let (code, w) = api.delete(&format!("{WIDGETS}/a")).await;
    assert_eq!(code, 200);
    assert!(w["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(w["metadata"]["generation"], 2);
    let (code, _) = api.get(&format!("{WIDGETS}/a")).await;
    assert_eq!(code, 200, "still there while a finalizer remains");
    let (code, _) = api
        .json_patch(
            &format!("{WIDGETS}/a"),
            json!([{"op": "remove", "path": "/metadata/finalizers"}]),
        )
        .await;
    assert_eq!(code, 200);
    let (code, _) = api.get(&format!("{WIDGETS}/a")).await;
    assert_eq!(code, 404);
}

#[tokio::test]
async fn adding_a_finalizer_to_an_object_being_deleted_is_422() {
    let api = Api::start().await;
    api.widget_crd().await;
    let mut body = widget("a", json!({"size": 1, "zone": "z"}));
    body["metadata"]["finalizers"] = json!(["test/f"]);
    api.post(WIDGETS, body).await;
    api.delete(&format!("{WIDGETS}/a")).await;
    let (code, s) = api
        .merge(
            &format!("{WIDGETS}/a"),
            json!({"metadata": {"finalizers": ["test/f", "test/g"]}}),
        )
        .await;
    assert_eq!(code, 422);
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("no new finalizers can be added if the object is being deleted")
    );
}

#[tokio::test]
async fn dry_run_all_validates_but_stores_nothing() {
    let api = Api::start().await;
    api.widget_crd().await;
    let (code, w) = api
        .post(
            &format!("{WIDGETS}?dryRun=All"),
            widget("a", json!({"size": 1, "zone": "z"})),
        )
        .await;
    assert_eq!(code, 201);
    assert_eq!(w["metadata"]["name"], "a");
    assert_eq!(api.get(&format!("{WIDGETS}/a")).await.0, 404);
    api.create_widget("b", json!({"size": 1, "zone": "z"})).await;
    let (_, w) = api
        .merge(&format!("{WIDGETS}/b?dryRun=All"), json!({"spec": {"size": 5}}))
        .await;
    assert_eq!(w["spec"]["size"], 5);
    assert_eq!(api.get(&format!("{WIDGETS}/b")).await.1["spec"]["size"], 1);
    api.delete(&format!("{WIDGETS}/b?dryRun=All")).await;
    assert_eq!(api.get(&format!("{WIDGETS}/b")).await.0, 200);
}

#[tokio::test]
async fn secret_string_data_is_folded_into_base64_data() {
    let api = Api::start().await;
    let body = json!({"metadata": {"name": "s"}, "data": {"a": "eA=="}, "stringData": {"b": "hello"}});
    let (code, s) = api.post("/api/v1/namespaces/default/secrets", body).await;
    assert_eq!(code, 201);
    assert_eq!(s["data"], json!({"a": "eA==", "b": "aGVsbG8="}));
    assert!(s.get("stringData").is_none());
}

#[tokio::test]
async fn namespaces_are_cluster_scoped_active_and_deleting_one_deletes_its_objects() {
    let api = Api::start().await;
    let (code, ns) = api
        .post("/api/v1/namespaces", json!({"metadata": {"name": "team"}}))
        .await;
    assert_eq!(code, 201);
    assert_eq!(ns["status"]["phase"], "Active");
    api.post(
        "/api/v1/namespaces/team/configmaps",
        json!({"metadata": {"name": "c"}}),
    )
    .await;
    api.delete("/api/v1/namespaces/team").await;
    assert_eq!(api.get("/api/v1/namespaces/team/configmaps/c").await.0, 404);
}

#[tokio::test]
async fn leases_and_both_event_apis_are_served() {
    let api = Api::start().await;
    let lease =
        json!({"metadata": {"name": "leader"}, "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}});
    assert_eq!(
        api.post("/apis/coordination.k8s.io/v1/namespaces/default/leases", lease)
            .await
            .0,
        201
    );
    let ev = json!({"metadata": {"name": "e1"}, "reason": "Created", "involvedObject": {"kind": "Widget", "name": "a"}});
    assert_eq!(api.post("/api/v1/namespaces/default/events", ev).await.0, 201);
    // events.k8s.io/v1 requires type, regarding, reportingController and reportingInstance.
    let ev = json!({"metadata": {"name": "e2"}, "type": "Normal", "reason": "Created", "action": "Reconcile",
                    "eventTime": "2026-01-01T00:00:00.000000Z", "regarding": {"kind": "Widget", "name": "a", "namespace": "default"},
                    "reportingController": "test.dev/ctl", "reportingInstance": "ctl-1"});
    assert_eq!(
        api.post("/apis/events.k8s.io/v1/namespaces/default/events", ev)
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn lists_page_with_limit_and_continue() {
    let api = Api::start().await;
    for i in 0..5 {
        api.post(
            "/api/v1/namespaces/default/configmaps",
            json!({"metadata": {"name": format!("c{i}")}}),
        )
        .await;
    }
    let (_, page1) = api.get("/api/v1/namespaces/default/configmaps?limit=2").await;
    assert_eq!(page1["items"].as_array().unwrap().len(), 2);
    assert_eq!(page1["metadata"]["remainingItemCount"], 3);
    let token = page1["metadata"]["continue"].as_str().unwrap();
    let (_, page2) = api
        .get(&format!(
            "/api/v1/namespaces/default/configmaps?limit=2&continue={token}"
        ))
        .await;
    let token = page2["metadata"]["continue"].as_str().unwrap();
    let (_, page3) = api
        .get(&format!(
            "/api/v1/namespaces/default/configmaps?limit=2&continue={token}"
        ))
        .await;
    assert_eq!(page3["items"].as_array().unwrap().len(), 1);
    assert!(page3["metadata"].get("continue").is_none());
    let names: Vec<Value> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| {
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["metadata"]["name"].clone())
        })
        .collect();
    assert_eq!(names, vec!["c0", "c1", "c2", "c3", "c4"]);
}

#[tokio::test]
async fn lists_filter_by_label_and_field_selectors_across_namespaces() {
    let api = Api::start().await;
    api.post("/api/v1/namespaces", json!({"metadata": {"name": "other"}}))
        .await;
    api.post(
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "a", "labels": {"app": "web"}}}),
    )
    .await;
    api.post(
        "/api/v1/namespaces/other/configmaps",
        json!({"metadata": {"name": "b", "labels": {"app": "db"}}}),
    )
    .await;
    let names = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&api.get("/api/v1/configmaps").await.1), vec!["a", "b"]);
    assert_eq!(
        names(&api.get("/api/v1/configmaps?labelSelector=app%3Dweb").await.1),
        vec!["a"]
    );
    assert_eq!(
        names(
            &api.get("/api/v1/configmaps?labelSelector=app+notin+(web)")
                .await
                .1
        ),
        vec!["b"]
    );
    assert_eq!(
        names(
            &api.get("/api/v1/configmaps?fieldSelector=metadata.namespace%3Dother")
                .await
                .1
        ),
        vec!["b"]
    );
    assert_eq!(
        names(
            &api.get("/api/v1/configmaps?fieldSelector=metadata.name!%3Da")
                .await
                .1
        ),
        vec!["b"]
    );
}

#[tokio::test]
async fn events_can_be_selected_by_involved_object_as_kubectl_describe_does() {
    let api = Api::start().await;
    for (name, target) in [("e1", "a"), ("e2", "b")] {
        let ev = json!({"metadata": {"name": name}, "reason": "Synced", "involvedObject": {"kind": "Widget", "name": target, "namespace": "default"}});
        api.post("/api/v1/namespaces/default/events", ev).await;
    }
    let (code, list) = api.get("/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Da,involvedObject.kind%3DWidget").await;
    assert_eq!(code, 200, "{list}");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["e1"]);
    let (code, _) = api
        .get("/api/v1/namespaces/default/configmaps?fieldSelector=involvedObject.name%3Da")
        .await;
    assert_eq!(
        code, 400,
        "other resources keep the apiserver's narrower field set"
    );
}

#[tokio::test]
async fn a_partial_object_metadata_list_carries_only_metadata() {
    let api = Api::start().await;
    api.post(
        "/api/v1/namespaces/default/configmaps",
        json!({"metadata": {"name": "a"}, "data": {"k": "v"}}),
    )
    .await;
    let accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json";
    let resp = api
        .http
        .get(format!("{}/api/v1/namespaces/default/configmaps", api.base))
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    let list: Value = resp.json().await.unwrap();
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["items"][0]["kind"], "PartialObjectMetadata");
    assert_eq!(list["items"][0]["metadata"]["name"], "a");
    assert!(list["items"][0].get("data").is_none());
}
