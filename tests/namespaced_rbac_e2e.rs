//! The operator as the chart's namespaced profile runs it: `--watch-namespaces` and a token of
//! a ServiceAccount bound only to a Role in the watched namespace (plus `get` on its CRDs), so
//! any cluster-wide call it makes is refused with 403 by kube-emulator's RBAC.
mod pool_support;
mod support;

use k8s_openapi::api::{
    core::v1::ServiceAccount,
    rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject},
};
use kube::{Api, api::PostParams};
use modelarts_operator::{
    api::{notebook::Notebook, resource_pool::ResourcePool},
    runtime::{
        check::REQUIRED_ACCESS,
        operator::{self, OperatorConfig},
    },
};
use pool_support::{T, cloud_id, cloud_pool, cond, pool, ready};
use serde_json::json;
use support::{Env, NS};

const SA: &str = "modelarts-operator";

fn rule(group: &str, resources: Vec<String>, verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(resources),
        verbs: verbs.iter().map(|v| v.to_string()).collect(),
        ..Default::default()
    }
}

fn subject() -> Option<Vec<Subject>> {
    Some(vec![Subject {
        kind: "ServiceAccount".into(),
        name: SA.into(),
        namespace: Some(NS.into()),
        ..Default::default()
    }])
}

/// The ServiceAccount with REQUIRED_ACCESS in a Role of `NS` only, and a ClusterRole that lets
/// it read the three CRDs by name (what the chart's namespaced profile grants).
async fn namespaced_service_account(env: &Env) -> kube::Client {
    let pp = PostParams::default();
    let mut sa = ServiceAccount::default();
    sa.metadata.name = Some(SA.into());
    Api::<ServiceAccount>::namespaced(env.client.clone(), NS)
        .create(&pp, &sa)
        .await
        .expect("ServiceAccount");
    let mut role = Role::default();
    role.metadata.name = Some(SA.into());
    role.rules = Some(
        REQUIRED_ACCESS
            .iter()
            .map(|(group, resource, sub, verbs)| {
                let name = if sub.is_empty() {
                    resource.to_string()
                } else {
                    format!("{resource}/{sub}")
                };
                rule(group, vec![name], verbs)
            })
            .collect(),
    );
    Api::<Role>::namespaced(env.client.clone(), NS)
        .create(&pp, &role)
        .await
        .expect("Role");
    let mut binding = RoleBinding {
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: SA.into(),
        },
        subjects: subject(),
        ..Default::default()
    };
    binding.metadata.name = Some(SA.into());
    Api::<RoleBinding>::namespaced(env.client.clone(), NS)
        .create(&pp, &binding)
        .await
        .expect("RoleBinding");

    let mut crds = ClusterRole::default();
    crds.metadata.name = Some(format!("{SA}-crds"));
    let mut read_crds = rule(
        "apiextensions.k8s.io",
        vec!["customresourcedefinitions".into()],
        &["get"],
    );
    read_crds.resource_names = Some(
        ["notebooks", "resourcepools", "liteservers"]
            .iter()
            .map(|k| format!("{k}.modelarts.operator.dev"))
            .collect(),
    );
    crds.rules = Some(vec![read_crds]);
    Api::<ClusterRole>::all(env.client.clone())
        .create(&pp, &crds)
        .await
        .expect("ClusterRole");
    let crd_binding = ClusterRoleBinding {
        metadata: kube::api::ObjectMeta {
            name: Some(format!("{SA}-crds")),
            ..Default::default()
        },
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: format!("{SA}-crds"),
        },
        subjects: subject(),
    };
    Api::<ClusterRoleBinding>::all(env.client.clone())
        .create(&pp, &crd_binding)
        .await
        .expect("ClusterRoleBinding");
    env.kube
        .service_account_client(NS, SA)
        .await
        .expect("ServiceAccount client")
}

fn notebook_ready(nb: &Notebook) -> bool {
    nb.status
        .as_ref()
        .and_then(|s| support::condition(&s.cloud.conditions, "Ready"))
        .is_some_and(|c| c.status == "True")
}

#[tokio::test]
async fn a_namespaced_operator_keeps_a_pool_in_use_and_deletes_it_once_free_without_a_403() {
    let mut env = Env::without_operator().await;
    env.cloud.add_auth_token("e2e-token");
    let client = namespaced_service_account(&env).await;
    let mut config = OperatorConfig::for_local(env.cloud.base_url(), support::operator_credentials());
    config.namespaces = vec![NS.into()];
    env.operator = Some(operator::start(client, config, env.metrics.clone()));

    env.apply(&pool("pool-ns", json!({}))).await;
    let pool_id = cloud_id(&env.wait_for::<ResourcePool>("pool-ns", T, "Ready", ready).await);
    env.apply(&pool_support::notebook_on("nb-ns", "pool-ns")).await;
    env.wait_for::<Notebook>("nb-ns", T, "notebook Ready", notebook_ready)
        .await;
    let kinds = |items: Vec<serde_json::Value>| {
        let mut kinds: Vec<String> = items.iter().map(|i| i["kind"].to_string()).collect();
        kinds.sort();
        kinds
    };
    let live = env
        .cloud
        .control()
        .inventory(modelarts_emulator::DEFAULT_PROJECT_ID);
    assert_eq!(
        kinds(live),
        ["\"notebooks\"", "\"pools\""],
        "one of each in the cloud"
    );

    // Deleting the pool lists the Notebooks that use it: in the namespace, as the Role allows.
    env.delete::<ResourcePool>("pool-ns").await;
    let p = env
        .wait_for::<ResourcePool>("pool-ns", T, "InUse", |p| {
            cond(p, "Ready").is_some_and(|(s, r, _)| s == "False" && r == "InUse")
        })
        .await;
    let (_, _, message) = cond(&p, "Ready").expect("Ready");
    assert!(message.contains("e2e/nb-ns"), "names the notebook: {message}");
    assert!(cloud_pool(&env, &pool_id).await.is_some(), "kept while in use");

    env.delete::<Notebook>("nb-ns").await;
    env.wait_gone::<Notebook>("nb-ns", T).await;
    env.wait_gone::<ResourcePool>("pool-ns", T).await;
    assert!(
        cloud_pool(&env, &pool_id).await.is_none(),
        "the pool is deleted once free"
    );
    let left = env
        .cloud
        .control()
        .inventory(modelarts_emulator::DEFAULT_PROJECT_ID);
    assert!(left.is_empty(), "nothing left in the cloud: {left:?}");
    env.stop_operator().await;
}
