//! `modelarts-operator check` run as a ServiceAccount under RBAC (kube-emulator authorizes its
//! tokens as the apiserver does): a role granting what `run` needs passes every RBAC row, and a
//! role missing one verb fails that row, naming the verb and the resource.
mod support;

use k8s_openapi::api::{
    core::v1::ServiceAccount,
    rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject},
};
use kube::{Api, api::PostParams};
use modelarts_operator::runtime::check::{LEASE_ACCESS, REQUIRED_ACCESS};
use serde_json::Value;
use std::process::Command;
use support::{Env, NS};

const SA: &str = "modelarts-operator";

/// The operator's ServiceAccount bound to a ClusterRole with `rules`, plus what check itself
/// reads (the CRDs).
async fn service_account_with(env: &Env, mut rules: Vec<PolicyRule>) {
    let sas: Api<ServiceAccount> = Api::namespaced(env.client.clone(), NS);
    let mut sa = ServiceAccount::default();
    sa.metadata.name = Some(SA.into());
    sas.create(&PostParams::default(), &sa)
        .await
        .expect("ServiceAccount");
    rules.push(PolicyRule {
        api_groups: Some(vec!["apiextensions.k8s.io".into()]),
        resources: Some(vec!["customresourcedefinitions".into()]),
        verbs: vec!["get".into()],
        ..Default::default()
    });
    let roles: Api<ClusterRole> = Api::all(env.client.clone());
    let mut role = ClusterRole::default();
    role.metadata.name = Some(SA.into());
    role.rules = Some(rules);
    roles
        .create(&PostParams::default(), &role)
        .await
        .expect("ClusterRole");
    let bindings: Api<ClusterRoleBinding> = Api::all(env.client.clone());
    let binding = ClusterRoleBinding {
        metadata: kube::api::ObjectMeta {
            name: Some(SA.into()),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: SA.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: SA.into(),
            namespace: Some(NS.into()),
            ..Default::default()
        }]),
    };
    bindings
        .create(&PostParams::default(), &binding)
        .await
        .expect("ClusterRoleBinding");
}

/// REQUIRED_ACCESS as RBAC rules, without `drop` (resource, verb).
fn rules_without(drop: Option<(&str, &str)>) -> Vec<PolicyRule> {
    REQUIRED_ACCESS
        .iter()
        .map(|(group, resource, sub, verbs)| {
            let name = if sub.is_empty() {
                resource.to_string()
            } else {
                format!("{resource}/{sub}")
            };
            PolicyRule {
                api_groups: Some(vec![group.to_string()]),
                resources: Some(vec![name.clone()]),
                verbs: verbs
                    .iter()
                    .filter(|v| drop != Some((name.as_str(), **v)))
                    .map(|v| v.to_string())
                    .collect(),
                ..Default::default()
            }
        })
        // A rule left without verbs is invalid: drop it.
        .filter(|rule| !rule.verbs.is_empty())
        .collect()
}

async fn check_as_service_account(env: &Env, name: &str) -> (bool, Value) {
    check_as_service_account_with(env, name, &[]).await
}

async fn check_as_service_account_with(env: &Env, name: &str, extra: &[&str]) -> (bool, Value) {
    let yaml = env
        .kube
        .service_account_kubeconfig_yaml(NS, SA)
        .expect("ServiceAccount token");
    let path = std::env::temp_dir().join(format!(
        "modelarts-check-rbac-{name}-{}.kubeconfig",
        std::process::id()
    ));
    std::fs::write(&path, yaml).expect("kubeconfig written");
    let args: Vec<String> = vec![
        "check".into(),
        "--kubeconfig".into(),
        path.to_string_lossy().into_owned(),
        "--credentials-secret".into(),
        format!("{NS}/hwcloud-credentials"),
        "--modelarts-endpoint".into(),
        env.cloud.base_url(),
        "--output".into(),
        "json".into(),
    ];
    let args: Vec<String> = args
        .into_iter()
        .chain(extra.iter().map(|a| a.to_string()))
        .collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_modelarts-operator"))
            .args(&args)
            .output()
            .expect("check runs")
    })
    .await
    .expect("joined");
    let _ = std::fs::remove_file(&path);
    let json: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    (output.status.success(), json)
}

async fn env_with_secret() -> Env {
    let env = Env::without_operator().await;
    env.put_secret(
        "hwcloud-credentials",
        &[
            ("accessKey", modelarts_emulator::DEFAULT_AK),
            ("secretKey", modelarts_emulator::DEFAULT_SK),
            ("projectId", modelarts_emulator::DEFAULT_PROJECT_ID),
            ("region", modelarts_emulator::DEFAULT_REGION),
        ],
    )
    .await;
    env
}

fn rbac_rows(report: &Value) -> Vec<&Value> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|r| r["check"] == "rbac")
        .collect()
}

#[tokio::test]
async fn a_service_account_with_the_operators_role_passes_every_rbac_row() {
    let env = env_with_secret().await;
    service_account_with(&env, rules_without(None)).await;
    let (success, report) = check_as_service_account(&env, "full").await;
    assert!(success, "{report:#}");
    let rows = rbac_rows(&report);
    // REQUIRED_ACCESS plus the CRDs (no Lease row without --leader-elect).
    assert_eq!(rows.len(), REQUIRED_ACCESS.len() + 1, "{report:#}");
    assert!(rows.iter().all(|r| r["result"] == "ok"), "{report:#}");
    let crds = row(&report, "customresourcedefinitions.apiextensions.k8s.io");
    assert!(
        crds["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("may get on notebooks.modelarts.operator.dev")),
        "{report:#}"
    );
}

#[tokio::test]
async fn a_service_account_missing_one_verb_fails_that_row_and_names_the_grant() {
    let env = env_with_secret().await;
    service_account_with(&env, rules_without(Some(("notebooks/status", "patch")))).await;
    let (success, report) = check_as_service_account(&env, "forbidden").await;
    assert!(!success, "{report:#}");
    let failed: Vec<&Value> = rbac_rows(&report)
        .into_iter()
        .filter(|r| r["result"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    let row = failed[0];
    assert_eq!(row["target"], "notebooks.modelarts.operator.dev/status");
    assert_eq!(row["detail"], "not allowed to patch (in all namespaces)");
    let fix = row["fix"].as_str().expect("fix");
    assert!(
        fix.starts_with("grant patch on notebooks.modelarts.operator.dev/status"),
        "{fix}"
    );
}

fn row<'a>(report: &'a Value, target: &str) -> &'a Value {
    rbac_rows(report)
        .into_iter()
        .find(|r| r["target"] == target)
        .unwrap_or_else(|| panic!("no rbac row for {target}: {report:#}"))
}

#[tokio::test]
async fn with_leader_elect_the_lease_verbs_in_the_lease_namespace_are_checked() {
    let env = env_with_secret().await;
    service_account_with(&env, rules_without(None)).await;
    let leader = ["--leader-elect", "--lease-namespace", NS];
    let (success, report) = check_as_service_account_with(&env, "no-lease", &leader).await;
    assert!(!success, "{report:#}");
    let lease = row(&report, "leases.coordination.k8s.io");
    assert_eq!(lease["result"], "fail", "{report:#}");
    assert_eq!(
        lease["detail"],
        format!("not allowed to get, create, patch (in namespace {NS})")
    );
    let fix = lease["fix"].as_str().expect("fix");
    assert!(fix.contains(&format!("in a Role of namespace {NS}")), "{fix}");

    // The Role the chart creates in the release namespace.
    let (group, resource, verbs) = LEASE_ACCESS;
    let mut role = Role::default();
    role.metadata.name = Some("leader".into());
    role.rules = Some(vec![PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(vec![resource.into()]),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    }]);
    Api::<Role>::namespaced(env.client.clone(), NS)
        .create(&PostParams::default(), &role)
        .await
        .expect("Role");
    let mut binding = RoleBinding {
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "leader".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: SA.into(),
            namespace: Some(NS.into()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    binding.metadata.name = Some("leader".into());
    Api::<RoleBinding>::namespaced(env.client.clone(), NS)
        .create(&PostParams::default(), &binding)
        .await
        .expect("RoleBinding");
    let (success, report) = check_as_service_account_with(&env, "lease", &leader).await;
    assert!(success, "{report:#}");
    assert_eq!(rbac_rows(&report).len(), REQUIRED_ACCESS.len() + 2, "{report:#}");
    assert_eq!(
        row(&report, "leases.coordination.k8s.io")["detail"],
        format!("may get, create, patch in namespace {NS}")
    );
    let (success, report) = check_as_service_account_with(
        &env,
        "other-ns",
        &["--leader-elect", "--lease-namespace", "elsewhere"],
    )
    .await;
    assert!(
        !success,
        "a Role in {NS} does not grant the Lease elsewhere: {report:#}"
    );
}
