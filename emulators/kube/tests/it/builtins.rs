//! Built-in kinds a Helm chart installs: defaulting, validation, immutable fields, status from the
//! minimal controllers, `/scale`, strategic merge patch by merge keys, and Table columns.

use serde_json::{Value, json};

use crate::common::Api;

const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";

fn deployment(name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "main", "image": image, "ports": [{"containerPort": 8080}]}]}}
        }
    })
}

#[tokio::test]
async fn a_deployment_gets_the_apiservers_defaults() {
    let api = Api::start().await;
    let (code, d) = api.post(DEPLOYS, deployment("web", "nginx:1.27")).await;
    assert_eq!(code, 201, "{d}");
    let spec = &d["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["dnsPolicy"], "ClusterFirst");
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    assert_eq!(pod["schedulerName"], "default-scheduler");
    let c = &pod["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["terminationMessagePath"], "/dev/termination-log");
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(d["metadata"]["generation"], 1);
}

#[tokio::test]
async fn a_deployment_whose_selector_does_not_match_its_template_is_invalid() {
    let api = Api::start().await;
    let mut bad = deployment("web", "nginx");
    bad["spec"]["selector"] = json!({"matchLabels": {"app": "other"}});
    let (code, status) = api.post(DEPLOYS, bad).await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(
        status["message"],
        "Deployment.apps \"web\" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`"
    );
    let mut no_image = deployment("web", "");
    no_image["spec"]["template"]["spec"]["containers"][0]
        .as_object_mut()
        .unwrap()
        .remove("image");
    let (code, status) = api.post(DEPLOYS, no_image).await;
    assert_eq!(code, 422);
    assert_eq!(
        status["details"]["causes"][0]["field"],
        "spec.template.spec.containers[0].image"
    );
    let mut never = deployment("web", "nginx");
    never["spec"]["template"]["spec"]["restartPolicy"] = json!("Never");
    let (code, status) = api.post(DEPLOYS, never).await;
    assert_eq!(code, 422);
    assert!(
        status["message"].as_str().unwrap().contains(
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""
        ),
        "{status}"
    );
}

#[tokio::test]
async fn a_deployments_selector_is_immutable_and_only_spec_changes_move_its_generation() {
    let api = Api::start().await;
    api.post(DEPLOYS, deployment("web", "nginx:1")).await;
    let (code, d) = api
        .merge(
            &format!("{DEPLOYS}/web"),
            json!({"metadata": {"labels": {"team": "a"}}}),
        )
        .await;
    assert_eq!(code, 200, "{d}");
    assert_eq!(
        d["metadata"]["generation"], 1,
        "a label change is not a spec change"
    );
    let (_, d) = api
        .merge(&format!("{DEPLOYS}/web"), json!({"spec": {"replicas": 3}}))
        .await;
    assert_eq!(d["metadata"]["generation"], 2);
    let (code, status) = api
        .merge(
            &format!("{DEPLOYS}/web"),
            json!({"spec": {"selector": {"matchLabels": {"app": "web", "x": "y"}},
                            "template": {"metadata": {"labels": {"app": "web", "x": "y"}}}}}),
        )
        .await;
    assert_eq!(code, 422, "{status}");
    assert_eq!(status["details"]["causes"][0]["field"], "spec.selector");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .ends_with("field is immutable"),
        "{status}"
    );
}

#[tokio::test]
async fn the_deployment_controller_reports_every_replica_available_and_owns_one_replica_set() {
    let api = Api::start().await;
    api.post(DEPLOYS, deployment("web", "nginx:1")).await;
    let (_, d) = api.get(&format!("{DEPLOYS}/web")).await;
    let status = &d["status"];
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(status["replicas"], 1);
    assert_eq!(status["readyReplicas"], 1);
    assert_eq!(status["availableReplicas"], 1);
    assert_eq!(status["updatedReplicas"], 1);
    let conditions = status["conditions"].as_array().unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c["type"] == "Available" && c["status"] == "True")
    );
    assert!(
        conditions
            .iter()
            .any(|c| c["type"] == "Progressing" && c["reason"] == "NewReplicaSetAvailable")
    );
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let (_, rs) = api.get("/apis/apps/v1/namespaces/default/replicasets").await;
    let items = rs["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let first = &items[0];
    assert_eq!(
        first["metadata"]["ownerReferences"][0]["uid"],
        d["metadata"]["uid"]
    );
    let hash = first["metadata"]["labels"]["pod-template-hash"].as_str().unwrap();
    assert_eq!(first["metadata"]["name"], format!("web-{hash}"));
    assert_eq!(first["status"]["readyReplicas"], 1);
    // A new template makes a new ReplicaSet at revision 2 and scales the old one to zero.
    api.send(
        "PATCH",
        &format!("{DEPLOYS}/web"),
        "application/strategic-merge-patch+json",
        Some(json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:2"}]}}}})),
    )
    .await;
    let (_, rs) = api.get("/apis/apps/v1/namespaces/default/replicasets").await;
    let items = rs["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let replicas: Vec<(String, i64)> = items
        .iter()
        .map(|r| {
            (
                r["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                r["spec"]["replicas"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        replicas.contains(&("1".into(), 0)) && replicas.contains(&("2".into(), 1)),
        "{replicas:?}"
    );
    // No kubelet: no Pod is ever created.
    let (_, pods) = api.get("/api/v1/namespaces/default/pods").await;
    assert_eq!(pods["items"], json!([]));
}

#[tokio::test]
async fn without_the_workload_controllers_a_deployment_keeps_an_empty_status() {
    let options = kube_emulator::Options {
        workload_controllers: false,
        ..Default::default()
    };
    let server = kube_emulator::KubeEmulator::start_with(options, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let api = Api::with(server);
    api.post(DEPLOYS, deployment("web", "nginx:1")).await;
    let (_, d) = api.get(&format!("{DEPLOYS}/web")).await;
    assert!(d.get("status").is_none_or(|s| s.get("replicas").is_none()), "{d}");
    let (_, rs) = api.get("/apis/apps/v1/namespaces/default/replicasets").await;
    assert_eq!(rs["items"], json!([]));
}

#[tokio::test]
async fn the_scale_subresource_reads_and_writes_replicas() {
    let api = Api::start().await;
    api.post(DEPLOYS, deployment("web", "nginx:1")).await;
    let (code, scale) = api.get(&format!("{DEPLOYS}/web/scale")).await;
    assert_eq!(code, 200, "{scale}");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["spec"]["replicas"], 1);
    assert_eq!(scale["status"]["selector"], "app=web");
    let (code, scale) = api
        .merge(&format!("{DEPLOYS}/web/scale"), json!({"spec": {"replicas": 4}}))
        .await;
    assert_eq!(code, 200, "{scale}");
    assert_eq!(scale["spec"]["replicas"], 4);
    assert_eq!(scale["status"]["replicas"], 4);
    let (_, d) = api.get(&format!("{DEPLOYS}/web")).await;
    assert_eq!(d["spec"]["replicas"], 4);
    assert_eq!(d["metadata"]["generation"], 2);
    let (code, _) = api
        .merge(&format!("{DEPLOYS}/web/scale"), json!({"spec": {"replicas": -1}}))
        .await;
    assert_eq!(code, 422);
    let (_, list) = api.get("/apis/apps/v1").await;
    let scale = list["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "deployments/scale")
        .cloned()
        .expect("discovery lists deployments/scale");
    assert_eq!(scale["group"], "autoscaling");
    assert_eq!(scale["kind"], "Scale");
}

#[tokio::test]
async fn strategic_merge_patch_merges_containers_by_name_and_env_by_name() {
    let api = Api::start().await;
    let mut d = deployment("web", "nginx:1");
    d["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "main", "image": "nginx:1", "env": [{"name": "A", "value": "1"}]},
        {"name": "sidecar", "image": "envoy:1"}
    ]);
    api.post(DEPLOYS, d).await;
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "sidecar", "image": "envoy:2"},
        {"name": "main", "env": [{"name": "B", "value": "2"}]}
    ]}}}});
    let (code, d) = api
        .send(
            "PATCH",
            &format!("{DEPLOYS}/web"),
            "application/strategic-merge-patch+json",
            Some(patch),
        )
        .await;
    assert_eq!(code, 200, "{d}");
    let containers = &d["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["name"], "main");
    assert_eq!(containers[0]["image"], "nginx:1");
    assert_eq!(
        containers[0]["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    );
    assert_eq!(containers[1]["image"], "envoy:2");
    // On custom resources the same content type is still refused.
    api.widget_crd().await;
    api.create_widget("w", json!({"size": 1, "zone": "a"})).await;
    let (code, _) = api
        .send(
            "PATCH",
            &format!("{}/w", crate::common::WIDGETS),
            "application/strategic-merge-patch+json",
            Some(json!({"spec": {"size": 2}})),
        )
        .await;
    assert_eq!(code, 415);
}

#[tokio::test]
async fn a_service_gets_a_cluster_ip_and_defaults_and_keeps_them_on_update() {
    let api = Api::start().await;
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}});
    let (code, s) = api.post("/api/v1/namespaces/default/services", svc.clone()).await;
    assert_eq!(code, 201, "{s}");
    let ip = s["spec"]["clusterIP"].as_str().unwrap().to_string();
    assert!(
        ip.starts_with("10.9") || ip.starts_with("10.10") || ip.starts_with("10.11"),
        "{ip}"
    );
    assert_eq!(s["spec"]["clusterIPs"], json!([ip]));
    assert_eq!(s["spec"]["type"], "ClusterIP");
    assert_eq!(s["spec"]["sessionAffinity"], "None");
    assert_eq!(
        s["spec"]["ports"][0],
        json!({"port": 80, "protocol": "TCP", "targetPort": 80})
    );
    assert_eq!(s["spec"]["ipFamilies"], json!(["IPv4"]));
    // A PUT without clusterIP keeps the allocated one (helm upgrade relies on this).
    let (code, s) = api.put("/api/v1/namespaces/default/services/web", svc).await;
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["spec"]["clusterIP"], ip.as_str());
    let (code, status) = api
        .merge(
            "/api/v1/namespaces/default/services/web",
            json!({"spec": {"clusterIP": "10.96.0.77", "clusterIPs": ["10.96.0.77"]}}),
        )
        .await;
    assert_eq!(code, 422, "{status}");
    let (_, k) = api.get("/api/v1/namespaces/default/services/kubernetes").await;
    assert_eq!(k["spec"]["clusterIP"], "10.96.0.1");
    let no_ports = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "np"}, "spec": {}});
    let (code, status) = api.post("/api/v1/namespaces/default/services", no_ports).await;
    assert_eq!(code, 422);
    assert_eq!(
        status["message"],
        "Service \"np\" is invalid: spec.ports: Required value"
    );
}

#[tokio::test]
async fn a_pod_is_defaulted_stays_pending_and_only_its_images_may_change() {
    let api = Api::start().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                     "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    let (code, p) = api.post("/api/v1/namespaces/default/pods", pod).await;
    assert_eq!(code, 201, "{p}");
    assert_eq!(p["status"]["phase"], "Pending");
    assert_eq!(p["status"]["qosClass"], "BestEffort");
    assert_eq!(p["spec"]["serviceAccountName"], "default");
    assert_eq!(p["spec"]["containers"][0]["imagePullPolicy"], "Always");
    let (code, _) = api
        .send(
            "PATCH",
            "/api/v1/namespaces/default/pods/p",
            "application/strategic-merge-patch+json",
            Some(json!({"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}})),
        )
        .await;
    assert_eq!(code, 200);
    let (code, status) = api
        .merge(
            "/api/v1/namespaces/default/pods/p",
            json!({"spec": {"hostname": "x"}}),
        )
        .await;
    assert_eq!(code, 422, "{status}");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("spec: Forbidden: pod updates may not change fields")
    );
}

#[tokio::test]
async fn every_namespace_has_a_default_service_account() {
    let api = Api::start().await;
    api.post("/api/v1/namespaces", json!({"metadata": {"name": "team"}}))
        .await;
    let (code, sa) = api.get("/api/v1/namespaces/team/serviceaccounts/default").await;
    assert_eq!(code, 200, "{sa}");
    let (code, _) = api
        .get("/api/v1/namespaces/kube-system/serviceaccounts/default")
        .await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn rbac_objects_are_validated_and_a_bindings_role_ref_is_immutable() {
    let api = Api::start().await;
    let roles = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles";
    let (code, status) = api
        .post(
            roles,
            json!({"metadata": {"name": "r"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]}),
        )
        .await;
    assert_eq!(code, 422);
    assert_eq!(
        status["message"],
        "Role.rbac.authorization.k8s.io \"r\" is invalid: rules[0].verbs: Required value: verbs must contain at least one value"
    );
    let (code, status) = api
        .post(
            roles,
            json!({"metadata": {"name": "r"}, "rules": [{"nonResourceURLs": ["/x"], "verbs": ["get"]}]}),
        )
        .await;
    assert_eq!(code, 422);
    assert!(status["message"].as_str().unwrap().contains(
        "rules[0].nonResourceURLs: Invalid value: []string{\"/x\"}: namespaced rules cannot apply to non-resource URLs"
    ));
    let bindings = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings";
    let binding = json!({"metadata": {"name": "b"},
        "roleRef": {"kind": "Role", "name": "r"},
        "subjects": [{"kind": "ServiceAccount", "name": "op", "namespace": "default"}, {"kind": "User", "name": "alice"}]});
    let (code, b) = api.post(bindings, binding).await;
    assert_eq!(code, 201, "{b}");
    assert_eq!(b["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
    assert_eq!(b["subjects"][0]["apiGroup"], "");
    assert_eq!(b["subjects"][1]["apiGroup"], "rbac.authorization.k8s.io");
    let (code, status) = api
        .merge(&format!("{bindings}/b"), json!({"roleRef": {"name": "other"}}))
        .await;
    assert_eq!(code, 422);
    assert_eq!(
        status["message"],
        "RoleBinding.rbac.authorization.k8s.io \"b\" is invalid: roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"other\"}: cannot change roleRef"
    );
    let (code, status) = api
        .post(
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            json!({"metadata": {"name": "crb"}, "roleRef": {"kind": "Role", "name": "r"},
                   "subjects": [{"kind": "ServiceAccount", "name": "op"}]}),
        )
        .await;
    assert_eq!(code, 422);
    let fields: Vec<&str> = status["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, vec!["roleRef.kind", "subjects[0].namespace"]);
}

#[tokio::test]
async fn a_pod_disruption_budget_counts_the_replicas_assumed_ready() {
    let api = Api::start().await;
    api.post(DEPLOYS, deployment("web", "nginx:1")).await;
    let pdbs = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
    let (code, _) = api
        .post(pdbs, json!({"metadata": {"name": "web"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}))
        .await;
    assert_eq!(code, 201);
    let (_, pdb) = api.get(&format!("{pdbs}/web")).await;
    assert_eq!(pdb["status"]["expectedPods"], 1);
    assert_eq!(pdb["status"]["currentHealthy"], 1);
    assert_eq!(pdb["status"]["desiredHealthy"], 1);
    assert_eq!(pdb["status"]["disruptionsAllowed"], 0);
    let (code, status) = api
        .post(
            pdbs,
            json!({"metadata": {"name": "both"}, "spec": {"minAvailable": 1, "maxUnavailable": 1}}),
        )
        .await;
    assert_eq!(code, 422, "{status}");
    let (code, np) = api
        .post(
            "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
            json!({"metadata": {"name": "deny"}, "spec": {"podSelector": {}, "egress": [{}]}}),
        )
        .await;
    assert_eq!(code, 201, "{np}");
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
}

#[tokio::test]
async fn built_in_tables_have_the_apiservers_columns() {
    let api = Api::start().await;
    api.post(DEPLOYS, deployment("web", "nginx:1")).await;
    let accept = "application/json;as=Table;v=v1;g=meta.k8s.io";
    let resp = api
        .http
        .get(format!("{}{DEPLOYS}", api.base))
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    let table: Value = resp.json().await.unwrap();
    let names: Vec<&str> = table["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    let cells = &table["rows"][0]["cells"];
    assert_eq!(cells[1], "1/1");
    assert_eq!(cells[6], "nginx:1");
    assert_eq!(cells[7], "app=web");
}
