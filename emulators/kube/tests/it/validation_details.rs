//! Issue 10 item 9: names per kind, Secret type defaulting, immutable ConfigMaps/Secrets, no
//! generation on ConfigMaps/Secrets, remainingItemCount on filtered lists, CRD listKind.

use serde_json::json;

use crate::common::{Api, WIDGETS};

const CMS: &str = "/api/v1/namespaces/default/configmaps";
const SECRETS: &str = "/api/v1/namespaces/default/secrets";

#[tokio::test]
async fn object_names_must_be_rfc_1123_subdomains_and_namespace_names_labels() {
    let api = Api::start().await;
    let (code, s) = api.post(CMS, json!({"metadata": {"name": "Bad_Name"}})).await;
    assert_eq!(code, 422, "{s}");
    assert_eq!(
        s["message"],
        "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    );
    assert_eq!(api.post(CMS, json!({"metadata": {"name": "a.b-c"}})).await.0, 201);
    let (code, s) = api
        .post("/api/v1/namespaces", json!({"metadata": {"name": "a.b"}}))
        .await;
    assert_eq!(code, 422, "{s}");
    assert!(
        s["message"]
            .as_str()
            .unwrap()
            .contains("a lowercase RFC 1123 label must consist of")
    );
    api.widget_crd().await;
    let (code, _) = api
        .post(WIDGETS, json!({"apiVersion": "test.emulator.dev/v1", "kind": "Widget", "metadata": {"name": "UPPER"}, "spec": {"size": 1, "zone": "z"}}))
        .await;
    assert_eq!(code, 422);
}

#[tokio::test]
async fn a_secrets_type_defaults_to_opaque_and_is_immutable() {
    let api = Api::start().await;
    let (code, s) = api
        .post(SECRETS, json!({"metadata": {"name": "s"}, "data": {"a": "eA=="}}))
        .await;
    assert_eq!(code, 201);
    assert_eq!(s["type"], "Opaque");
    let (code, s) = api
        .merge(&format!("{SECRETS}/s"), json!({"type": "kubernetes.io/tls"}))
        .await;
    assert_eq!(code, 422, "{s}");
    assert_eq!(s["details"]["causes"][0]["field"], "type");
}

#[tokio::test]
async fn immutable_config_maps_and_secrets_refuse_changes_to_their_data() {
    let api = Api::start().await;
    api.post(
        CMS,
        json!({"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": true}),
    )
    .await;
    let (code, s) = api
        .merge(&format!("{CMS}/frozen"), json!({"data": {"a": "2"}}))
        .await;
    assert_eq!(code, 422, "{s}");
    assert_eq!(
        s["message"],
        "ConfigMap \"frozen\" is invalid: data: Forbidden: field is immutable when `immutable` is set"
    );
    let (code, _) = api
        .merge(&format!("{CMS}/frozen"), json!({"immutable": false}))
        .await;
    assert_eq!(code, 422);
    // Metadata stays writable.
    let (code, _) = api
        .merge(
            &format!("{CMS}/frozen"),
            json!({"metadata": {"labels": {"a": "b"}}}),
        )
        .await;
    assert_eq!(code, 200);
    api.post(
        SECRETS,
        json!({"metadata": {"name": "frozen"}, "data": {"a": "eA=="}, "immutable": true}),
    )
    .await;
    let (code, _) = api
        .merge(&format!("{SECRETS}/frozen"), json!({"data": {"b": "eQ=="}}))
        .await;
    assert_eq!(code, 422);
}

#[tokio::test]
async fn config_maps_and_secrets_carry_no_generation_but_custom_resources_do() {
    let api = Api::start().await;
    let (_, cm) = api
        .post(CMS, json!({"metadata": {"name": "c"}, "data": {"a": "1"}}))
        .await;
    assert!(cm["metadata"].get("generation").is_none(), "{cm}");
    let (_, cm) = api.merge(&format!("{CMS}/c"), json!({"data": {"a": "2"}})).await;
    assert!(cm["metadata"].get("generation").is_none(), "{cm}");
    let (_, s) = api.post(SECRETS, json!({"metadata": {"name": "s"}})).await;
    assert!(s["metadata"].get("generation").is_none(), "{s}");
    api.widget_crd().await;
    let w = api.create_widget("w", json!({"size": 1, "zone": "z"})).await;
    assert_eq!(w["metadata"]["generation"], 1);
}

#[tokio::test]
async fn filtered_lists_omit_remaining_item_count() {
    let api = Api::start().await;
    for i in 0..3 {
        api.post(
            CMS,
            json!({"metadata": {"name": format!("c{i}"), "labels": {"app": "x"}}}),
        )
        .await;
    }
    let (_, page) = api.get(&format!("{CMS}?limit=1")).await;
    assert_eq!(page["metadata"]["remainingItemCount"], 2);
    let (_, page) = api.get(&format!("{CMS}?limit=1&labelSelector=app%3Dx")).await;
    assert!(page["metadata"]["continue"].is_string());
    assert!(page["metadata"].get("remainingItemCount").is_none(), "{page}");
}

#[tokio::test]
async fn a_crds_accepted_names_carry_the_defaulted_list_kind_and_singular() {
    let api = Api::start().await;
    let mut crd = crate::common::widget_crd();
    crd["spec"]["names"] = json!({"plural": "widgets", "kind": "Widget"});
    let (code, created) = api
        .post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["spec"]["names"]["listKind"], "WidgetList");
    assert_eq!(created["spec"]["names"]["singular"], "widget");
    assert_eq!(created["status"]["acceptedNames"]["listKind"], "WidgetList");
    assert_eq!(created["status"]["acceptedNames"]["singular"], "widget");
}
