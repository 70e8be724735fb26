//! Discovery and the minimal OpenAPI v3 kubectl downloads, plus CRD registration conditions.

use crate::common::{Api, widget_crd};
use serde_json::{Value, json};

#[tokio::test]
async fn version_reports_a_minor_kubectls_dispatcher_accepts() {
    let api = Api::start().await;
    let (code, v) = api.get("/version").await;
    assert_eq!(code, 200);
    let minor: u32 = v["minor"].as_str().unwrap().parse().unwrap();
    assert!((27..=33).contains(&minor));
    assert_eq!(v["major"], "1");
    assert!(
        v["gitVersion"]
            .as_str()
            .unwrap()
            .starts_with(&format!("v1.{minor}."))
    );
}

#[tokio::test]
async fn legacy_and_group_discovery_list_builtins_and_registered_crds() {
    let api = Api::start().await;
    api.widget_crd().await;
    let (_, versions) = api.get("/api").await;
    assert_eq!(versions["versions"], json!(["v1"]));
    let (_, groups) = api.get("/apis").await;
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    for g in [
        "apiextensions.k8s.io",
        "coordination.k8s.io",
        "events.k8s.io",
        "test.emulator.dev",
    ] {
        assert!(names.contains(&g), "{g} missing from {names:?}");
    }
    let (_, core) = api.get("/api/v1").await;
    let core_names: Vec<&str> = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for r in [
        "namespaces",
        "namespaces/status",
        "secrets",
        "configmaps",
        "events",
    ] {
        assert!(core_names.contains(&r), "{r} missing");
    }
}

#[tokio::test]
async fn a_crds_group_version_lists_short_names_categories_and_the_status_subresource() {
    let api = Api::start().await;
    api.widget_crd().await;
    let (code, list) = api.get("/apis/test.emulator.dev/v1").await;
    assert_eq!(code, 200);
    assert_eq!(list["groupVersion"], "test.emulator.dev/v1");
    let widgets = &list["resources"][0];
    assert_eq!(widgets["name"], "widgets");
    assert_eq!(widgets["namespaced"], true);
    assert_eq!(widgets["shortNames"], json!(["wd"]));
    assert_eq!(widgets["categories"], json!(["all", "emulator"]));
    assert_eq!(list["resources"][1]["name"], "widgets/status");
    let (_, group) = api.get("/apis/test.emulator.dev").await;
    assert_eq!(group["preferredVersion"]["version"], "v1");
}

#[tokio::test]
async fn a_created_crd_is_names_accepted_and_established() {
    let api = Api::start().await;
    let (_, crd) = api
        .post(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            widget_crd(),
        )
        .await;
    let conditions = crd["status"]["conditions"].as_array().unwrap();
    for ty in ["NamesAccepted", "Established"] {
        assert!(
            conditions
                .iter()
                .any(|c| c["type"] == ty && c["status"] == "True"),
            "{ty} not True: {conditions:?}"
        );
    }
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget");
}

#[tokio::test]
async fn a_crd_whose_name_is_not_plural_dot_group_is_invalid() {
    let api = Api::start().await;
    let mut crd = widget_crd();
    crd["metadata"]["name"] = json!("wrong.name");
    let (code, s) = api
        .post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        .await;
    assert_eq!(code, 422);
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("must be spec.names.plural+\".\"+spec.group")
    );
}

#[tokio::test]
async fn openapi_v3_lists_each_group_version_and_patch_operations_carry_gvk_and_field_validation() {
    let api = Api::start().await;
    api.widget_crd().await;
    let (_, root) = api.get("/openapi/v3").await;
    let url = root["paths"]["apis/test.emulator.dev/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(root["paths"]["api/v1"].is_object());
    let (code, doc) = api.get(&url).await;
    assert_eq!(code, 200);
    let patch = &doc["paths"]["/apis/test.emulator.dev/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "test.emulator.dev", "version": "v1", "kind": "Widget"})
    );
    let params: Vec<&Value> = patch["parameters"].as_array().unwrap().iter().collect();
    assert!(params.iter().any(|p| p["name"] == "fieldValidation"));
}

#[tokio::test]
async fn an_unknown_path_or_resource_is_a_404_status() {
    let api = Api::start().await;
    let (code, s) = api.get("/apis/nope.dev/v1/things").await;
    assert_eq!(code, 404);
    assert_eq!(s["kind"], "Status");
    assert_eq!(api.get("/not/an/api").await.0, 404);
}

#[tokio::test]
async fn kubes_discovery_client_finds_builtins_and_a_registered_crd() {
    let api = Api::start().await;
    api.widget_crd().await;
    let discovery = kube::discovery::Discovery::new(api.server.client())
        .run()
        .await
        .expect("discovery runs");
    let group = discovery
        .get("test.emulator.dev")
        .expect("the CRD's group is discovered");
    let (resource, caps) = group.recommended_kind("Widget").expect("Widget is discovered");
    assert_eq!(resource.plural, "widgets");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(discovery.get("coordination.k8s.io").is_some());
    let (lease, _) = kube::discovery::pinned_kind(
        &api.server.client(),
        &kube::api::GroupVersionKind::gvk("coordination.k8s.io", "v1", "Lease"),
    )
    .await
    .unwrap();
    assert_eq!(lease.plural, "leases");
}
