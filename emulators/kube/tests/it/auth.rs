//! ServiceAccount tokens, the RBAC authorizer, 403 Forbidden as the apiserver words it,
//! impersonation, and the review APIs `kubectl auth can-i` and `whoami` use.

use serde_json::{Value, json};

use crate::common::Api;

async fn as_token(api: &Api, token: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = api
        .http
        .request(method, format!("{}{path}", api.base))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    (code, resp.json().await.unwrap_or(Value::Null))
}

async fn service_account(api: &Api, name: &str) -> String {
    let (code, _) = api
        .post(
            "/api/v1/namespaces/default/serviceaccounts",
            json!({"metadata": {"name": name}}),
        )
        .await;
    assert_eq!(code, 201);
    let (code, tr) = api
        .post(
            &format!("/api/v1/namespaces/default/serviceaccounts/{name}/token"),
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}}),
        )
        .await;
    assert_eq!(code, 201, "{tr}");
    assert_eq!(tr["kind"], "TokenRequest");
    assert_eq!(tr["spec"]["expirationSeconds"], 3600);
    assert!(tr["status"]["expirationTimestamp"].is_string());
    tr["status"]["token"].as_str().unwrap().to_string()
}

async fn grant(api: &Api, name: &str, rules: Value) {
    let rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/default";
    let (code, body) = api
        .post(
            &format!("{rbac}/roles"),
            json!({"metadata": {"name": name}, "rules": rules}),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    let binding = json!({"metadata": {"name": name}, "roleRef": {"kind": "Role", "name": name},
                         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]});
    let (code, body) = api.post(&format!("{rbac}/rolebindings"), binding).await;
    assert_eq!(code, 201, "{body}");
}

#[tokio::test]
async fn an_unknown_bearer_token_is_401_and_no_credentials_is_the_admin() {
    let api = Api::start().await;
    let (code, status) = as_token(&api, "not-a-token", "GET", "/api/v1/namespaces", None).await;
    assert_eq!(code, 401);
    assert_eq!(status["reason"], "Unauthorized");
    assert_eq!(status["message"], "Unauthorized");
    let (code, _) = api.get("/api/v1/secrets").await;
    assert_eq!(
        code, 200,
        "the admin kubeconfig carries no credentials and keeps full access"
    );
}

#[tokio::test]
async fn a_service_account_without_bindings_is_forbidden_with_the_apiservers_message() {
    let api = Api::start().await;
    let token = service_account(&api, "op").await;
    let (code, status) = as_token(&api, &token, "GET", "/api/v1/namespaces/default/pods", None).await;
    assert_eq!(code, 403);
    assert_eq!(status["reason"], "Forbidden");
    assert_eq!(
        status["message"],
        "pods is forbidden: User \"system:serviceaccount:default:op\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
    );
    assert_eq!(status["details"], json!({"group": "", "kind": "pods"}));
    let (code, status) = as_token(
        &api,
        &token,
        "GET",
        "/apis/apps/v1/namespaces/default/deployments/web",
        None,
    )
    .await;
    assert_eq!(code, 403);
    assert_eq!(
        status["message"],
        "deployments.apps \"web\" is forbidden: User \"system:serviceaccount:default:op\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"default\""
    );
    let (code, status) = as_token(&api, &token, "GET", "/api/v1/namespaces", None).await;
    assert_eq!(code, 403);
    assert_eq!(
        status["message"],
        "namespaces is forbidden: User \"system:serviceaccount:default:op\" cannot list resource \"namespaces\" in API group \"\" at the cluster scope"
    );
    let (code, status) = as_token(&api, &token, "GET", "/metrics", None).await;
    assert_eq!(code, 403);
    assert_eq!(
        status["message"],
        "forbidden: User \"system:serviceaccount:default:op\" cannot get path \"/metrics\""
    );
    // Discovery and health are open to every authenticated user (system:discovery).
    for path in ["/api", "/apis", "/apis/apps/v1", "/version", "/healthz"] {
        let (code, body) = as_token(&api, &token, "GET", path, None).await;
        assert_eq!(code, 200, "{path}: {body}");
    }
}

#[tokio::test]
async fn rbac_matches_verbs_subresources_and_resource_names() {
    let api = Api::start().await;
    let token = service_account(&api, "op").await;
    grant(
        &api,
        "op",
        json!([
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "create"]},
            {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["creds"], "verbs": ["get"]},
            {"apiGroups": ["apps"], "resources": ["deployments/status"], "verbs": ["patch"]}
        ]),
    )
    .await;
    let ns = "/api/v1/namespaces/default";
    let (code, _) = as_token(&api, &token, "GET", &format!("{ns}/configmaps"), None).await;
    assert_eq!(code, 200);
    let (code, cm) = as_token(
        &api,
        &token,
        "POST",
        &format!("{ns}/configmaps"),
        Some(json!({"metadata": {"name": "c"}})),
    )
    .await;
    assert_eq!(code, 201, "{cm}");
    let (code, _) = as_token(&api, &token, "DELETE", &format!("{ns}/configmaps/c"), None).await;
    assert_eq!(code, 403);
    api.post(&format!("{ns}/secrets"), json!({"metadata": {"name": "creds"}}))
        .await;
    api.post(&format!("{ns}/secrets"), json!({"metadata": {"name": "other"}}))
        .await;
    let (code, _) = as_token(&api, &token, "GET", &format!("{ns}/secrets/creds"), None).await;
    assert_eq!(code, 200);
    let (code, _) = as_token(&api, &token, "GET", &format!("{ns}/secrets/other"), None).await;
    assert_eq!(code, 403);
    let (code, _) = as_token(&api, &token, "GET", &format!("{ns}/secrets"), None).await;
    assert_eq!(code, 403, "a rule with resourceNames does not allow list");
    let deploy = "/apis/apps/v1/namespaces/default/deployments/web";
    let (code, status) = as_token(&api, &token, "PATCH", deploy, Some(json!({}))).await;
    assert_eq!(code, 403);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("cannot patch resource \"deployments\"")
    );
    let (code, status) = as_token(&api, &token, "GET", &format!("{deploy}/status"), None).await;
    assert_eq!(code, 403);
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("cannot get resource \"deployments/status\""),
        "{status}"
    );
    // Other namespaces are not covered by a RoleBinding in default.
    let (code, _) = as_token(
        &api,
        &token,
        "GET",
        "/api/v1/namespaces/kube-system/configmaps",
        None,
    )
    .await;
    assert_eq!(code, 403);
}

#[tokio::test]
async fn a_binding_to_a_missing_role_is_reported_in_the_forbidden_reason() {
    let api = Api::start().await;
    let token = service_account(&api, "op").await;
    let binding = json!({"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": "missing"},
                         "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": "default"}]});
    api.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", binding)
        .await;
    let (code, status) = as_token(&api, &token, "GET", "/api/v1/namespaces/default/pods", None).await;
    assert_eq!(code, 403);
    // Unsure: the exact suffix a v1.31 apiserver prints when several authorizers give reasons.
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .ends_with(": RBAC: clusterrole.rbac.authorization.k8s.io \"missing\" not found"),
        "{status}"
    );
}

#[tokio::test]
async fn a_token_stops_working_when_its_service_account_is_deleted() {
    let api = Api::start().await;
    let token = service_account(&api, "op").await;
    let (code, _) = as_token(&api, &token, "GET", "/api", None).await;
    assert_eq!(code, 200);
    api.delete("/api/v1/namespaces/default/serviceaccounts/op").await;
    let (code, _) = as_token(&api, &token, "GET", "/api", None).await;
    assert_eq!(code, 401);
    let (code, _) = api
        .post(
            "/api/v1/namespaces/default/serviceaccounts/ghost/token",
            json!({"spec": {}}),
        )
        .await;
    assert_eq!(code, 404);
    let (code, status) = api
        .post(
            "/api/v1/namespaces/default/serviceaccounts/default/token",
            json!({"spec": {"expirationSeconds": 60}}),
        )
        .await;
    assert_eq!(code, 422, "{status}");
}

#[tokio::test]
async fn a_legacy_token_secret_is_filled_and_authenticates_until_it_is_deleted() {
    let api = Api::start().await;
    api.post(
        "/api/v1/namespaces/default/serviceaccounts",
        json!({"metadata": {"name": "op"}}),
    )
    .await;
    let secret = json!({"metadata": {"name": "op-token", "annotations": {"kubernetes.io/service-account.name": "op"}},
                        "type": "kubernetes.io/service-account-token"});
    let (code, s) = api.post("/api/v1/namespaces/default/secrets", secret).await;
    assert_eq!(code, 201, "{s}");
    assert!(s["metadata"]["annotations"]["kubernetes.io/service-account.uid"].is_string());
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD
        .decode(s["data"]["token"].as_str().unwrap())
        .unwrap();
    let token = String::from_utf8(token).unwrap();
    let (code, review) = api
        .post(
            "/apis/authentication.k8s.io/v1/tokenreviews",
            json!({"spec": {"token": token}}),
        )
        .await;
    assert_eq!(code, 201);
    assert_eq!(review["status"]["authenticated"], true);
    assert_eq!(
        review["status"]["user"]["username"],
        "system:serviceaccount:default:op"
    );
    api.delete("/api/v1/namespaces/default/secrets/op-token").await;
    let (code, _) = as_token(&api, &token, "GET", "/api", None).await;
    assert_eq!(code, 401);
}

#[tokio::test]
async fn access_reviews_answer_for_the_caller_for_an_impersonated_user_and_for_any_subject() {
    let api = Api::start().await;
    service_account(&api, "op").await;
    grant(
        &api,
        "op",
        json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]),
    )
    .await;
    let review = |verb: &str| {
        json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
               "spec": {"resourceAttributes": {"namespace": "default", "verb": verb, "resource": "configmaps"}}})
    };
    let resp = api
        .http
        .post(format!(
            "{}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            api.base
        ))
        .header("Impersonate-User", "system:serviceaccount:default:op")
        .json(&review("get"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"]["allowed"], true);
    assert_eq!(
        body["status"]["reason"],
        "RBAC: allowed by RoleBinding \"op/default\" of Role \"op\" to ServiceAccount \"op/default\""
    );
    let sar = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": "system:serviceaccount:default:op", "groups": ["system:serviceaccounts"],
                 "resourceAttributes": {"namespace": "default", "verb": "delete", "resource": "configmaps"}}});
    let (code, body) = api
        .post("/apis/authorization.k8s.io/v1/subjectaccessreviews", sar)
        .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(body["status"]["allowed"], false);
    let (_, me) = api
        .post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}),
        )
        .await;
    assert_eq!(me["status"]["userInfo"]["username"], "kubernetes-admin");
    let (_, list) = api.get("/apis/authorization.k8s.io/v1").await;
    let ssar = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "selfsubjectaccessreviews")
        .unwrap();
    assert_eq!(ssar["verbs"], json!(["create"]));
}

#[tokio::test]
async fn a_service_account_may_not_impersonate_others() {
    let api = Api::start().await;
    let token = service_account(&api, "op").await;
    let resp = api
        .http
        .get(format!("{}/api/v1/namespaces/default/secrets", api.base))
        .bearer_auth(&token)
        .header("Impersonate-User", "kubernetes-admin")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let status: Value = resp.json().await.unwrap();
    assert_eq!(
        status["message"],
        "users \"kubernetes-admin\" is forbidden: User \"system:serviceaccount:default:op\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );
}

#[tokio::test]
async fn the_service_account_client_helper_runs_with_exactly_the_granted_rbac() {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::{Api as KubeApi, ListParams};
    let api = Api::start().await;
    service_account(&api, "op").await;
    grant(
        &api,
        "op",
        json!([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]),
    )
    .await;
    let client = api
        .server
        .service_account_client("default", "op")
        .await
        .expect("the ServiceAccount exists");
    let cms: KubeApi<ConfigMap> = KubeApi::namespaced(client.clone(), "default");
    cms.list(&ListParams::default()).await.expect("list is granted");
    let err = cms.get("anything").await.unwrap_err();
    match err {
        kube::Error::Api(status) => assert_eq!(status.code, 403),
        other => panic!("expected 403, got {other:?}"),
    }
    assert!(
        api.server
            .service_account_client("default", "ghost")
            .await
            .is_none()
    );
    let yaml = api
        .server
        .service_account_kubeconfig_yaml("default", "op")
        .unwrap();
    assert!(yaml.contains("token: "));
}
