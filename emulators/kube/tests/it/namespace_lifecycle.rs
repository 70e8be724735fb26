//! Namespace lifecycle (kube-apiserver v1.31 plus the namespace controller): Terminating,
//! content deleted through its own finalizers, creates refused with 403, gone only when empty.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Api, widget};

const TEAM_WIDGETS: &str = "/apis/test.emulator.dev/v1/namespaces/team/widgets";

async fn team(api: &Api) -> Value {
    let (code, ns) = api
        .post("/api/v1/namespaces", json!({"metadata": {"name": "team"}}))
        .await;
    assert_eq!(code, 201, "{ns}");
    ns
}

fn condition<'a>(ns: &'a Value, ty: &str) -> &'a Value {
    ns["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == ty))
        .unwrap_or_else(|| panic!("no condition {ty} in {ns}"))
}

#[tokio::test]
async fn a_new_namespace_is_active_with_the_name_label_and_the_kubernetes_finalizer() {
    let api = Api::start().await;
    let ns = team(&api).await;
    assert_eq!(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], "team");
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(ns["status"]["phase"], "Active");
}

#[tokio::test]
async fn the_name_label_and_spec_finalizers_cannot_be_changed_by_an_update() {
    let api = Api::start().await;
    team(&api).await;
    let (code, ns) = api
        .merge(
            "/api/v1/namespaces/team",
            json!({"metadata": {"labels": {"kubernetes.io/metadata.name": "other", "a": "b"}},
                   "spec": {"finalizers": []}}),
        )
        .await;
    assert_eq!(code, 200, "{ns}");
    assert_eq!(
        ns["metadata"]["labels"],
        json!({"kubernetes.io/metadata.name": "team", "a": "b"})
    );
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
}

#[tokio::test]
async fn deleting_an_empty_namespace_answers_terminating_and_removes_it() {
    let api = Api::start().await;
    team(&api).await;
    let mut watch = api
        .watch("/api/v1/namespaces?watch=true&fieldSelector=metadata.name%3Dteam")
        .await;
    assert_eq!(watch.next().await["type"], "ADDED");
    let (code, ns) = api.delete("/api/v1/namespaces/team").await;
    assert_eq!(code, 200, "{ns}");
    assert_eq!(ns["status"]["phase"], "Terminating");
    assert!(ns["metadata"]["deletionTimestamp"].is_string(), "{ns}");
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(api.get("/api/v1/namespaces/team").await.0, 404);
    let mut types = Vec::new();
    while let Some(event) = watch.next_within(Duration::from_millis(500)).await {
        types.push(event["type"].as_str().unwrap_or_default().to_string());
        if event["type"] == "DELETED" {
            assert!(event["object"]["spec"]["finalizers"].is_null(), "{event}");
            break;
        }
    }
    assert_eq!(types.first().map(String::as_str), Some("MODIFIED"), "{types:?}");
    assert_eq!(types.last().map(String::as_str), Some("DELETED"), "{types:?}");
}

#[tokio::test]
async fn a_terminating_namespace_deletes_its_content_and_waits_for_finalizers() {
    let api = Api::start().await;
    api.widget_crd().await;
    team(&api).await;
    let mut w = widget("keep", json!({"size": 1, "zone": "z"}));
    w["metadata"]["finalizers"] = json!(["example.com/cleanup"]);
    assert_eq!(api.post(TEAM_WIDGETS, w).await.0, 201);
    let cm = json!({"metadata": {"name": "c"}});
    assert_eq!(api.post("/api/v1/namespaces/team/configmaps", cm).await.0, 201);

    let (code, _) = api.delete("/api/v1/namespaces/team").await;
    assert_eq!(code, 200);
    // Content without finalizers is gone; the widget waits for its owner's cleanup.
    assert_eq!(api.get("/api/v1/namespaces/team/configmaps/c").await.0, 404);
    let (code, kept) = api.get(&format!("{TEAM_WIDGETS}/keep")).await;
    assert_eq!(code, 200);
    assert!(kept["metadata"]["deletionTimestamp"].is_string(), "{kept}");

    let (code, ns) = api.get("/api/v1/namespaces/team").await;
    assert_eq!(code, 200);
    assert_eq!(ns["status"]["phase"], "Terminating");
    let remaining = condition(&ns, "NamespaceContentRemaining");
    assert_eq!(remaining["status"], "True");
    assert_eq!(remaining["reason"], "SomeResourcesRemain");
    assert_eq!(
        remaining["message"],
        "Some resources are remaining: widgets.test.emulator.dev has 1 resource instances"
    );
    let finalizers = condition(&ns, "NamespaceFinalizersRemaining");
    assert_eq!(
        finalizers["message"],
        "Some content in the namespace has finalizers remaining: example.com/cleanup in 1 resource instances"
    );
    assert_eq!(
        condition(&ns, "NamespaceDeletionContentFailure")["status"],
        "False"
    );

    // The operator removes its finalizer: the widget goes, then the namespace.
    let (code, body) = api
        .merge(
            &format!("{TEAM_WIDGETS}/keep"),
            json!({"metadata": {"finalizers": null}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(api.get(&format!("{TEAM_WIDGETS}/keep")).await.0, 404);
    assert_eq!(api.get("/api/v1/namespaces/team").await.0, 404);
}

#[tokio::test]
async fn creates_in_a_terminating_namespace_are_forbidden_with_the_apiservers_message() {
    let api = Api::start().await;
    api.widget_crd().await;
    team(&api).await;
    let mut w = widget("keep", json!({"size": 1, "zone": "z"}));
    w["metadata"]["finalizers"] = json!(["example.com/cleanup"]);
    api.post(TEAM_WIDGETS, w).await;
    api.delete("/api/v1/namespaces/team").await;

    let (code, s) = api
        .post(
            "/api/v1/namespaces/team/configmaps",
            json!({"metadata": {"name": "late"}}),
        )
        .await;
    assert_eq!(code, 403, "{s}");
    assert_eq!(s["reason"], "Forbidden");
    assert_eq!(
        s["message"],
        "configmaps \"late\" is forbidden: unable to create new content in namespace team because it is being terminated"
    );
    assert_eq!(
        s["details"]["causes"],
        json!([{"reason": "NamespaceTerminating", "message": "namespace team is being terminated", "field": "metadata.namespace"}])
    );
    let (code, s) = api
        .post(TEAM_WIDGETS, widget("late", json!({"size": 1, "zone": "z"})))
        .await;
    assert_eq!(code, 403);
    assert_eq!(
        s["message"],
        "widgets.test.emulator.dev \"late\" is forbidden: unable to create new content in namespace team because it is being terminated"
    );
    // Updates of existing content stay allowed (the operator must still write status).
    let (code, body) = api
        .merge(
            &format!("{TEAM_WIDGETS}/keep"),
            json!({"metadata": {"labels": {"a": "b"}}}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
}

#[tokio::test]
async fn deleting_a_terminating_namespace_again_is_a_conflict() {
    let api = Api::start().await;
    team(&api).await;
    let cm = json!({"metadata": {"name": "c", "finalizers": ["example.com/hold"]}});
    api.post("/api/v1/namespaces/team/configmaps", cm).await;
    assert_eq!(api.delete("/api/v1/namespaces/team").await.0, 200);
    let (code, s) = api.delete("/api/v1/namespaces/team").await;
    assert_eq!(code, 409, "{s}");
    assert_eq!(
        s["message"],
        "Operation cannot be fulfilled on namespaces \"team\": The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system."
    );
    // A label change on the terminating namespace must not finish it early.
    let (code, ns) = api
        .merge(
            "/api/v1/namespaces/team",
            json!({"metadata": {"labels": {"x": "y"}}}),
        )
        .await;
    assert_eq!(code, 200, "{ns}");
    assert_eq!(api.get("/api/v1/namespaces/team").await.0, 200);
}

#[tokio::test]
async fn the_immortal_namespaces_may_not_be_deleted() {
    let api = Api::start().await;
    for name in ["default", "kube-system", "kube-public"] {
        let (code, s) = api.delete(&format!("/api/v1/namespaces/{name}")).await;
        assert_eq!(code, 403, "{s}");
        assert_eq!(
            s["message"],
            format!("namespaces \"{name}\" is forbidden: this namespace may not be deleted")
        );
    }
}

#[tokio::test]
async fn a_dry_run_delete_of_a_namespace_changes_nothing() {
    let api = Api::start().await;
    team(&api).await;
    let (code, ns) = api.delete("/api/v1/namespaces/team?dryRun=All").await;
    assert_eq!(code, 200);
    assert_eq!(ns["status"]["phase"], "Terminating");
    let (_, ns) = api.get("/api/v1/namespaces/team").await;
    assert_eq!(ns["status"]["phase"], "Active");
    assert!(ns["metadata"].get("deletionTimestamp").is_none());
}

#[tokio::test]
async fn finalize_with_no_spec_finalizers_removes_a_terminating_namespace_at_once() {
    let api = Api::start().await;
    team(&api).await;
    let cm = json!({"metadata": {"name": "c", "finalizers": ["example.com/hold"]}});
    api.post("/api/v1/namespaces/team/configmaps", cm).await;
    api.delete("/api/v1/namespaces/team").await;
    let (_, ns) = api.get("/api/v1/namespaces/team").await;
    let mut body = ns.clone();
    body["spec"]["finalizers"] = json!([]);
    let (code, out) = api.put("/api/v1/namespaces/team/finalize", body).await;
    assert_eq!(code, 200, "{out}");
    assert_eq!(api.get("/api/v1/namespaces/team").await.0, 404);
    // The forced finalize leaves the content behind, as on a cluster.
    assert_eq!(api.get("/api/v1/namespaces/team/configmaps/c").await.0, 200);
}

#[tokio::test]
async fn finalize_changes_only_spec_finalizers_of_an_active_namespace() {
    let api = Api::start().await;
    team(&api).await;
    let body = json!({"metadata": {"name": "team", "labels": {"x": "y"}}, "spec": {"finalizers": ["kubernetes", "example.com/extra"]}});
    let (code, ns) = api.put("/api/v1/namespaces/team/finalize", body).await;
    assert_eq!(code, 200, "{ns}");
    assert_eq!(
        ns["spec"]["finalizers"],
        json!(["kubernetes", "example.com/extra"])
    );
    assert!(ns["metadata"]["labels"].get("x").is_none(), "{ns}");
}
