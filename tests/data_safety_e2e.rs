//! The engine's data-safety rules end to end (issue: exactly one cloud resource per object, none
//! left behind, none taken): stale cache copies, lost creates next to a person's same-name
//! notebook, a status wipe, lost tag answers. Every test counts the cloud.
#[path = "support/notebook.rs"]
mod notebook_support;
mod support;
use notebook_support::{cond, notebook, ready};

use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams},
};
use modelarts_emulator::{
    DEFAULT_AK, DEFAULT_PROJECT_ID as PROJECT, DEFAULT_REGION, DEFAULT_SK, Family, FaultAction, FaultRule,
    Kind,
};
use modelarts_operator::{
    api::notebook::Notebook,
    cloud::{ClientConfig, Credentials, ModelArtsClient},
    engine::{context::Context, events::Events, metrics::Metrics, reconciler::reconcile},
    runtime::{credentials::Resolver, operator::OperatorConfig},
};
use serde_json::json;
use std::{sync::Arc, time::Duration};
use support::Env;

const T: Duration = Duration::from_secs(30);
const CREATE: &str = "/v1/{project_id}/notebooks";

fn cloud_id(nb: &Notebook) -> Option<String> {
    nb.status.as_ref().and_then(|s| s.cloud.cloud_id.clone())
}

/// A client of our own, as a person using the console or the SDK would be.
fn person(env: &Env) -> ModelArtsClient {
    let mut config = ClientConfig::new(DEFAULT_REGION, PROJECT);
    config.endpoint = Some(env.cloud.base_url());
    ModelArtsClient::new(config, Credentials::ak_sk(DEFAULT_AK, DEFAULT_SK)).expect("client")
}

/// Cloud notebooks, with their tags: (id, name, owner tag).
fn cloud_notebooks(env: &Env) -> Vec<(String, String, Option<String>)> {
    let listed = env.cloud.list(PROJECT, Kind::Notebook);
    listed
        .iter()
        .map(|nb| {
            let owner = nb["tags"].as_array().and_then(|tags| {
                tags.iter()
                    .find(|t| t["key"] == "modelarts.operator.dev:owner")
                    .and_then(|t| t["value"].as_str().map(str::to_string))
            });
            (
                nb["id"].as_str().unwrap_or_default().to_string(),
                nb["name"].as_str().unwrap_or_default().to_string(),
                owner,
            )
        })
        .collect()
}

fn context(env: &Env) -> Arc<Context<Notebook>> {
    let config = OperatorConfig::for_local(env.cloud.base_url(), support::operator_credentials());
    let observer = Arc::new(|_: &modelarts_operator::cloud::CallRecord| {});
    let resolver = Resolver::new(env.client.clone(), config.resolver.clone(), observer);
    Arc::new(Context::new(
        env.client.clone(),
        Arc::new(resolver),
        config.engine.clone(),
        Metrics::default(),
        Events::new(env.client.clone(), "data-safety-test"),
    ))
}

#[tokio::test]
async fn a_lagging_cache_copy_never_creates_a_second_notebook() {
    // The controller hands a reconcile its cache's copy of the object; under load that copy can
    // lag the API server by a whole create. Here the same outdated copy is reconciled twice.
    let env = Env::without_operator().await;
    let ctx = context(&env);
    let api: Api<Notebook> = env.api();
    env.apply(&notebook("nb-stale", json!({}))).await;
    let fresh = api.get("nb-stale").await.expect("get");
    reconcile(Arc::new(fresh), ctx.clone())
        .await
        .expect("finalizer added");
    let with_finalizer = Arc::new(api.get("nb-stale").await.expect("get"));
    reconcile(with_finalizer.clone(), ctx.clone())
        .await
        .expect("first create");
    assert_eq!(env.calls("POST", CREATE), 1);
    // The same copy again: it shows neither the marker nor the cloud ID the first pass wrote.
    reconcile(with_finalizer, ctx.clone()).await.expect("stale pass");
    assert_eq!(env.calls("POST", CREATE), 1, "a stale copy must not create again");
    assert_eq!(
        cloud_notebooks(&env).len(),
        1,
        "one cloud notebook for one object"
    );
    let now = api.get("nb-stale").await.expect("get");
    assert!(cloud_id(&now).is_some(), "the first create's cloud ID is kept");
}

#[tokio::test]
async fn a_persons_same_name_notebook_made_before_a_lost_create_is_never_adopted() {
    let env = Env::start().await;
    // A person's notebook with exactly the name the operator will use, started seconds before.
    let theirs = person(&env)
        .create_notebook(&modelarts_operator::resources::notebook::plan::create_request(
            &notebook("nb-shared-name", json!({})),
            None,
        ))
        .await
        .expect("person's notebook")
        .id;
    // Real seconds (the emulated clock never jumps on a real cloud either).
    tokio::time::sleep(Duration::from_secs(5)).await;
    // The operator's create commits, its answer is lost, and reads miss it for a while.
    env.cloud.set_eventual_consistency(Family::Notebooks, 4);
    env.cloud.add_fault(FaultRule {
        method: Some("POST".into()),
        path: CREATE.into(),
        action: FaultAction::CommitThenFail {
            status: None,
            drop: true,
        },
        times: Some(1),
    });
    env.apply(&notebook("nb-shared-name", json!({}))).await;
    let nb = env
        .wait_for::<Notebook>("nb-shared-name", T, "Ready", ready)
        .await;
    assert_ne!(
        cloud_id(&nb).as_deref(),
        Some(theirs.as_str()),
        "the person's notebook was taken"
    );
    let cloud = cloud_notebooks(&env);
    assert_eq!(cloud.len(), 2, "the person's and the object's: {cloud:?}");
    let person_row = cloud
        .iter()
        .find(|(id, _, _)| *id == theirs)
        .expect("person's notebook still exists");
    assert_eq!(person_row.2, None, "the person's notebook carries no owner tag");
    assert_eq!(
        env.calls("POST", CREATE),
        2,
        "the person's create and one operator create"
    );
    // Deleting the object deletes its own notebook only.
    env.delete::<Notebook>("nb-shared-name").await;
    env.wait_gone::<Notebook>("nb-shared-name", T).await;
    let left = cloud_notebooks(&env);
    assert_eq!(left.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), vec![theirs]);
}

#[tokio::test]
async fn an_object_recreated_under_the_same_name_never_takes_its_predecessors_notebook() {
    let env = Env::start().await;
    env.apply(&notebook("nb-again", json!({"deletionPolicy": "Retain"})))
        .await;
    let first = cloud_id(&env.wait_for::<Notebook>("nb-again", T, "Ready", ready).await).expect("id");
    env.delete::<Notebook>("nb-again").await;
    env.wait_gone::<Notebook>("nb-again", T).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    env.cloud.set_eventual_consistency(Family::Notebooks, 4);
    env.cloud.add_fault(FaultRule {
        method: Some("POST".into()),
        path: CREATE.into(),
        action: FaultAction::CommitThenFail {
            status: None,
            drop: true,
        },
        times: Some(1),
    });
    env.apply(&notebook("nb-again", json!({}))).await;
    let second = cloud_id(&env.wait_for::<Notebook>("nb-again", T, "Ready", ready).await).expect("id");
    assert_ne!(first, second, "the retained predecessor must not be adopted");
    assert_eq!(cloud_notebooks(&env).len(), 2);
}

#[tokio::test]
async fn wiping_the_status_of_a_ready_notebook_creates_nothing_new() {
    let env = Env::start().await;
    env.apply(&notebook("nb-wiped", json!({}))).await;
    let id = cloud_id(&env.wait_for::<Notebook>("nb-wiped", T, "Ready", ready).await).expect("id");
    let api: Api<Notebook> = env.api();
    api.patch_status(
        "nb-wiped",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": null})),
    )
    .await
    .expect("status wiped");
    let nb = env
        .wait_for::<Notebook>("nb-wiped", T, "Ready again", |nb| {
            ready(nb) && cloud_id(nb).is_some()
        })
        .await;
    assert_eq!(cloud_id(&nb), Some(id));
    assert_eq!(env.calls("POST", CREATE), 1, "no second create");
    assert_eq!(cloud_notebooks(&env).len(), 1);
}

#[tokio::test]
async fn a_tag_key_removed_after_a_lost_first_tag_write_still_leaves_the_cloud() {
    let env = Env::start().await;
    // A notebook the object adopts, so its first tag write carries the spec's keys.
    let id = person(&env)
        .create_notebook(&modelarts_operator::resources::notebook::plan::create_request(
            &notebook("nb-adopted", json!({})),
            None,
        ))
        .await
        .expect("notebook")
        .id;
    env.cloud.add_fault(FaultRule {
        method: Some("POST".into()),
        path: "/v1/{project_id}/notebooks/{id}/tags/create".into(),
        action: FaultAction::CommitThenFail {
            status: Some(504),
            drop: false,
        },
        times: Some(1),
    });
    env.apply(&notebook(
        "nb-adopted",
        json!({"resourceId": id, "tags": {"team": "ml"}}),
    ))
    .await;
    env.wait_for::<Notebook>("nb-adopted", T, "the tag write to fail", |nb| {
        cond(nb, "Synced").is_some_and(|(s, _, _)| s == "False")
    })
    .await;
    env.merge_patch::<Notebook>("nb-adopted", json!({"spec": {"tags": null}}))
        .await;
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let nb = env.cloud.get(PROJECT, Kind::Notebook, &id).expect("notebook");
        let keys: Vec<String> = nb["tags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|t| t["key"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if !keys.iter().any(|k| k == "team") && keys.iter().any(|k| k == "modelarts.operator.dev:owner") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "tag team never removed: {keys:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cloud_notebooks(&env).len(), 1);
}

#[tokio::test]
async fn a_notebook_deleted_right_after_its_create_was_sent_leaves_nothing_behind() {
    let env = Env::start().await;
    env.cloud.set_eventual_consistency(Family::Notebooks, 6);
    env.apply(&notebook("nb-quick", json!({}))).await;
    // Delete as soon as the create has been sent.
    let deadline = tokio::time::Instant::now() + T;
    while env.calls("POST", CREATE) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no create sent");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    env.delete::<Notebook>("nb-quick").await;
    env.wait_gone::<Notebook>("nb-quick", T).await;
    let nb_left: Vec<_> = cloud_notebooks(&env)
        .into_iter()
        .filter(|(id, _, _)| {
            env.cloud
                .get(PROJECT, Kind::Notebook, id)
                .is_ok_and(|v| !matches!(v["status"].as_str(), Some("DELETING" | "DELETED")))
        })
        .collect();
    assert!(nb_left.is_empty(), "leaked: {nb_left:?}");
}

#[tokio::test]
async fn a_credentials_secret_pointed_at_another_project_changes_and_deletes_nothing() {
    const OTHER: &str = "fedcba9876543210fedcba9876543210";
    let env = Env::start().await;
    let secret = |project: &'static str| {
        [
            ("accessKey", DEFAULT_AK),
            ("secretKey", DEFAULT_SK),
            ("projectId", project),
        ]
    };
    env.put_secret("scoped-creds", &secret(PROJECT)).await;
    env.apply(&notebook(
        "nb-scoped",
        json!({"credentialsSecretRef": {"name": "scoped-creds"}}),
    ))
    .await;
    env.wait_for::<Notebook>("nb-scoped", T, "Ready", ready).await;
    env.put_secret("scoped-creds", &secret(OTHER)).await;
    let scope_changed = |nb: &Notebook| cond(nb, "Ready").is_some_and(|(_, r, _)| r == "ScopeChanged");
    env.wait_for::<Notebook>("nb-scoped", T, "ScopeChanged", scope_changed)
        .await;
    // Deleting meanwhile: the old project's notebook is not declared gone, nor is the object
    // released, while the credentials point elsewhere.
    env.delete::<Notebook>("nb-scoped").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        env.api::<Notebook>()
            .get_opt("nb-scoped")
            .await
            .expect("get")
            .is_some(),
        "released blindly"
    );
    assert_eq!(
        cloud_notebooks(&env).len(),
        1,
        "the notebook in the recorded project is kept"
    );
    assert!(
        env.cloud.list(OTHER, Kind::Notebook).is_empty(),
        "nothing created in the other project"
    );
    env.put_secret("scoped-creds", &secret(PROJECT)).await;
    env.wait_gone::<Notebook>("nb-scoped", T).await;
    let live: Vec<_> = env
        .cloud
        .list(PROJECT, Kind::Notebook)
        .into_iter()
        .filter(|nb| !matches!(nb["status"].as_str(), Some("DELETED" | "DELETING")))
        .collect();
    assert!(live.is_empty(), "deleted once the scope is back: {live:?}");
    assert_eq!(env.calls("POST", CREATE), 1);
}

#[tokio::test]
async fn deleting_a_namespace_with_its_credentials_secret_deletes_every_cloud_resource_and_lets_it_go() {
    use k8s_openapi::api::core::v1::{Namespace, Secret};
    let env = Env::start().await;
    let ns = "teardown";
    let namespaces: Api<Namespace> = Api::all(env.client.clone());
    let mut namespace = Namespace::default();
    namespace.metadata.name = Some(ns.into());
    namespaces
        .create(&Default::default(), &namespace)
        .await
        .expect("namespace");
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), ns);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "team-creds"},
        "stringData": {"accessKey": DEFAULT_AK, "secretKey": DEFAULT_SK},
    }))
    .expect("secret");
    secrets
        .create(&Default::default(), &secret)
        .await
        .expect("secret created");
    let notebooks: Api<Notebook> = Api::namespaced(env.client.clone(), ns);
    for name in ["nb-a", "nb-b"] {
        let mut nb = notebook(name, json!({"credentialsSecretRef": {"name": "team-creds"}}));
        nb.metadata.namespace = Some(ns.into());
        notebooks
            .create(&Default::default(), &nb)
            .await
            .expect("notebook");
    }
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let list = notebooks.list(&Default::default()).await.expect("list");
        if list.items.len() == 2 && list.items.iter().all(ready) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not Ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cloud_notebooks(&env).len(), 2);
    namespaces
        .delete(ns, &Default::default())
        .await
        .expect("namespace deleted");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while namespaces.get_opt(ns).await.expect("get").is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "namespace never went away"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let live: Vec<_> = env
        .cloud
        .list(PROJECT, Kind::Notebook)
        .into_iter()
        .filter(|nb| !matches!(nb["status"].as_str(), Some("DELETED" | "DELETING")))
        .collect();
    assert!(live.is_empty(), "leaked with the namespace: {live:?}");
}

#[tokio::test]
async fn an_object_restored_from_a_backup_without_status_creates_nothing_new() {
    let mut env = Env::start().await;
    env.apply(&notebook("nb-restored", json!({}))).await;
    let nb = env
        .wait_for::<Notebook>("nb-restored", T, "Ready with its annotation", |nb| {
            ready(nb) && nb.annotations().contains_key("modelarts.operator.dev/cloud-id")
        })
        .await;
    let id = cloud_id(&nb).expect("cloud ID");
    // The cluster is lost; a backup of the manifest (metadata and spec, no status) is restored:
    // the same name and annotation, a new UID.
    env.stop_operator().await;
    let api: Api<Notebook> = env.api();
    api.patch(
        "nb-restored",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("finalizer dropped");
    env.delete::<Notebook>("nb-restored").await;
    env.wait_gone::<Notebook>("nb-restored", T).await;
    let mut restored = notebook("nb-restored", json!({}));
    restored.metadata.annotations =
        Some([("modelarts.operator.dev/cloud-id".to_string(), id.clone())].into());
    let restored = env.apply(&restored).await;
    assert_ne!(restored.metadata.uid, nb.metadata.uid, "a new UID");
    let env = env.with_operator(|_| {});
    env.wait_for::<Notebook>("nb-restored", T, "ManagementConflict", |nb| {
        cond(nb, "Ready").is_some_and(|(_, r, _)| r == "ManagementConflict")
    })
    .await;
    // A few more passes: it must neither create a second notebook nor forget which one it names.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(env.calls("POST", CREATE), 1, "no second create");
    assert_eq!(cloud_notebooks(&env).len(), 1);
    let now = api.get("nb-restored").await.expect("get");
    assert_eq!(
        now.annotations().get("modelarts.operator.dev/cloud-id"),
        Some(&id),
        "the restored object still names its notebook"
    );
    let (_, _, message) = cond(&now, "Ready").expect("Ready condition");
    assert!(
        message.contains("restored"),
        "says how to hand it over: {message}"
    );
    // The person removes the stale owner tag in the console: the restored object takes over.
    env.cloud
        .remove_tags(PROJECT, Kind::Notebook, &id, &["modelarts.operator.dev:owner"])
        .expect("tag removed");
    let taken = env
        .wait_for::<Notebook>("nb-restored", T, "Ready on its old notebook", ready)
        .await;
    assert_eq!(cloud_id(&taken).as_deref(), Some(id.as_str()));
    assert_eq!(
        cloud_notebooks(&env),
        vec![(
            id.clone(),
            "nb-restored".to_string(),
            restored.metadata.uid.clone()
        )],
        "one notebook, now tagged for the restored object"
    );
    env.delete::<Notebook>("nb-restored").await;
    env.wait_gone::<Notebook>("nb-restored", T).await;
    assert!(cloud_notebooks(&env).is_empty(), "nothing left behind");
    assert_eq!(env.calls("POST", CREATE), 1, "one create in all");
}
