//! Notebook end to end: the real operator against kube-emulator and modelarts-emulator.
mod support;

use modelarts_emulator::{DEFAULT_PROJECT_ID as PROJECT, Kind};
use modelarts_operator::{api::notebook::Notebook, engine::tags::OWNER_TAG};
use serde_json::{Value, json};
use std::time::Duration;
use support::{Env, IMAGE, condition};

const T: Duration = Duration::from_secs(30);

fn notebook(name: &str, extra: Value) -> Notebook {
    let mut base = json!({
        "apiVersion": "modelarts.operator.dev/v1alpha1",
        "kind": "Notebook",
        "metadata": {"name": name, "namespace": support::NS},
        "spec": {
            "flavor": "modelarts.vm.cpu.2u",
            "image": {"id": IMAGE},
            "volume": {"category": "EVS", "ownership": "MANAGED", "capacity": 5},
        }
    });
    merge(&mut base, extra);
    serde_json::from_value(base).expect("valid Notebook")
}

fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e,
    }
}

fn ready(nb: &Notebook) -> bool {
    nb.status
        .as_ref()
        .and_then(|s| condition(&s.cloud.conditions, "Ready"))
        .is_some_and(|c| c.status == "True" && c.observed_generation == nb.metadata.generation)
}

fn reason(nb: &Notebook, type_: &str) -> Option<String> {
    nb.status
        .as_ref()
        .and_then(|s| condition(&s.cloud.conditions, type_))
        .map(|c| c.reason.clone())
}

fn cloud_id(nb: &Notebook) -> String {
    nb.status
        .as_ref()
        .and_then(|s| s.cloud.cloud_id.clone())
        .expect("cloud ID recorded")
}

/// The cloud notebook as ModelArts returns it, read through the emulator's own HTTP API.
async fn cloud_notebook(env: &Env, id: &str) -> Option<Value> {
    let url = format!("{}/v1/{PROJECT}/notebooks/{id}", env.cloud.base_url());
    let resp = reqwest::Client::new()
        .get(url)
        .header("X-Auth-Token", "e2e-token")
        .send()
        .await
        .expect("emulator reachable");
    if resp.status().is_success() {
        Some(resp.json().await.expect("JSON"))
    } else {
        None
    }
}

fn tag(nb: &Value, key: &str) -> Option<String> {
    nb["tags"]
        .as_array()?
        .iter()
        .find(|t| t["key"] == key)
        .map(|t| t["value"].as_str().unwrap_or("").to_string())
}

async fn env() -> Env {
    let env = Env::start().await;
    env.cloud.add_auth_token("e2e-token");
    env
}

#[tokio::test]
async fn a_notebook_is_created_and_becomes_ready_matching_its_spec() {
    let env = env().await;
    env.apply(&notebook(
        "nb1",
        json!({"spec": {"description": "hello", "tags": {"team": "ml"},
        "ssh": {"keyPairNames": ["kp-1"]}}}),
    ))
    .await;
    let nb = env.wait_for::<Notebook>("nb1", T, "Ready", ready).await;
    let id = cloud_id(&nb);
    let cloud = cloud_notebook(&env, &id).await.expect("cloud notebook exists");
    assert_eq!(cloud["status"], "RUNNING");
    assert_eq!(cloud["name"], "nb1");
    assert_eq!(cloud["flavor"], "modelarts.vm.cpu.2u");
    assert_eq!(cloud["image"]["id"], IMAGE);
    assert_eq!(cloud["description"], "hello");
    assert_eq!(tag(&cloud, "team").as_deref(), Some("ml"));
    assert_eq!(tag(&cloud, OWNER_TAG), nb.metadata.uid.clone());
    let status = nb.status.expect("status");
    assert_eq!(status.cloud.cloud_state.as_deref(), Some("RUNNING"));
    assert_eq!(status.cloud.managed_tag_keys, vec!["team".to_string()]);
    assert!(status.cloud.pending_create.is_none());
    assert_eq!(reason_of(&status.cloud.conditions, "Synced"), "Synced");
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/notebooks"),
        1,
        "exactly one create"
    );
}

fn reason_of(conds: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition], t: &str) -> String {
    condition(conds, t).map(|c| c.reason.clone()).unwrap_or_default()
}

#[tokio::test]
async fn tags_follow_the_spec_and_a_foreign_tag_survives() {
    let env = env().await;
    env.apply(&notebook(
        "nb-tags",
        json!({"spec": {"tags": {"team": "ml", "env": "dev"}}}),
    ))
    .await;
    let nb = env.wait_for::<Notebook>("nb-tags", T, "Ready", ready).await;
    let id = cloud_id(&nb);
    env.cloud
        .add_tags(PROJECT, Kind::Notebook, &id, &[("cost-center", "42")])
        .expect("console adds a tag");
    env.merge_patch::<Notebook>(
        "nb-tags",
        json!({"spec": {"tags": {"team": "cv", "env": null, "owner": "ana"}}}),
    )
    .await;
    env.wait_for::<Notebook>("nb-tags", T, "tags converged", |nb| {
        ready(nb)
            && nb
                .status
                .as_ref()
                .is_some_and(|s| s.cloud.managed_tag_keys == vec!["owner", "team"])
    })
    .await;
    let cloud = cloud_notebook(&env, &id).await.expect("exists");
    assert_eq!(tag(&cloud, "team").as_deref(), Some("cv"), "changed");
    assert_eq!(tag(&cloud, "owner").as_deref(), Some("ana"), "added");
    assert_eq!(tag(&cloud, "env"), None, "removed");
    assert_eq!(
        tag(&cloud, "cost-center").as_deref(),
        Some("42"),
        "foreign tag kept"
    );
}

#[tokio::test]
async fn desired_state_stops_and_starts_the_notebook() {
    let env = env().await;
    env.apply(&notebook("nb-life", json!({}))).await;
    let nb = env.wait_for::<Notebook>("nb-life", T, "Ready", ready).await;
    let id = cloud_id(&nb);
    env.merge_patch::<Notebook>("nb-life", json!({"spec": {"desiredState": "Stopped"}}))
        .await;
    env.wait_for::<Notebook>("nb-life", T, "stopped", |nb| {
        ready(nb) && nb.status.as_ref().and_then(|s| s.cloud.cloud_state.as_deref()) == Some("STOPPED")
    })
    .await;
    assert_eq!(
        cloud_notebook(&env, &id).await.expect("exists")["status"],
        "STOPPED"
    );
    env.merge_patch::<Notebook>("nb-life", json!({"spec": {"desiredState": "Running"}}))
        .await;
    env.wait_for::<Notebook>("nb-life", T, "running", |nb| {
        ready(nb) && nb.status.as_ref().and_then(|s| s.cloud.cloud_state.as_deref()) == Some("RUNNING")
    })
    .await;
    assert_eq!(
        cloud_notebook(&env, &id).await.expect("exists")["status"],
        "RUNNING"
    );
}

#[tokio::test]
async fn a_flavor_change_stops_updates_and_restarts_a_running_notebook() {
    let env = env().await;
    env.apply(&notebook("nb-flavor", json!({}))).await;
    let nb = env.wait_for::<Notebook>("nb-flavor", T, "Ready", ready).await;
    let id = cloud_id(&nb);
    env.merge_patch::<Notebook>("nb-flavor", json!({"spec": {"flavor": "modelarts.vm.cpu.8u"}}))
        .await;
    let nb = env
        .wait_for::<Notebook>("nb-flavor", T, "new flavor running", |nb| {
            ready(nb) && nb.status.as_ref().and_then(|s| s.cloud.cloud_state.as_deref()) == Some("RUNNING")
        })
        .await;
    let cloud = cloud_notebook(&env, &id).await.expect("exists");
    assert_eq!(cloud["flavor"], "modelarts.vm.cpu.8u");
    assert_eq!(cloud["status"], "RUNNING");
    assert!(!nb.status.expect("status").stopped_for_update);
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/notebooks/{id}/stop"),
        1,
        "stopped once for the update"
    );
    assert_eq!(
        env.calls("PUT", "/v1/{project_id}/notebooks/{id}"),
        1,
        "one update"
    );
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/notebooks/{id}/start"),
        1,
        "started again once"
    );
}

#[tokio::test]
async fn with_auto_stop_disabled_the_notebook_keeps_running_past_the_lease() {
    let env = env().await;
    env.apply(&notebook(
        "nb-lease",
        json!({"spec": {"autoStop": {"enabled": false}}}),
    ))
    .await;
    let nb = env.wait_for::<Notebook>("nb-lease", T, "Ready", ready).await;
    let id = cloud_id(&nb);
    // Three times 40 hours: far beyond any single lease (72 h at most).
    for round in 1..=3u64 {
        env.cloud.advance_time(Duration::from_secs(40 * 3600));
        env.merge_patch::<Notebook>(
            "nb-lease",
            json!({"metadata": {"annotations": {"e2e/round": round.to_string()}}}),
        )
        .await;
        // The operator keeps at least half the longest lease (36 h) ahead of the cloud's clock.
        let deadline = tokio::time::Instant::now() + T;
        loop {
            let cloud = cloud_notebook(&env, &id).await.expect("exists");
            assert_eq!(cloud["status"], "RUNNING", "round {round}: {cloud}");
            let expires = cloud["lease"]["create_at"].as_i64().unwrap_or(0)
                + cloud["lease"]["duration"].as_i64().unwrap_or(0);
            if expires - env.cloud.now_ms() >= 36 * 3_600_000 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "round {round}: lease not renewed: {}",
                cloud["lease"]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert!(
        env.calls("PATCH", "/v1/{project_id}/notebooks/{id}/lease") >= 2,
        "renewed along the way"
    );
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/notebooks/{id}/start"),
        0,
        "never had to be restarted"
    );
}

#[tokio::test]
async fn delete_policy_delete_removes_the_cloud_notebook() {
    let env = env().await;
    env.apply(&notebook("nb-del", json!({}))).await;
    let nb = env.wait_for::<Notebook>("nb-del", T, "Ready", ready).await;
    let id = cloud_id(&nb);
    env.delete::<Notebook>("nb-del").await;
    env.wait_gone::<Notebook>("nb-del", T).await;
    assert!(
        cloud_notebook(&env, &id).await.is_none(),
        "cloud notebook deleted"
    );
}

#[tokio::test]
async fn delete_policy_retain_keeps_the_cloud_notebook_without_the_owner_tag() {
    let env = env().await;
    env.apply(&notebook(
        "nb-keep",
        json!({"spec": {"deletionPolicy": "Retain", "tags": {"team": "ml"}}}),
    ))
    .await;
    let nb = env.wait_for::<Notebook>("nb-keep", T, "Ready", ready).await;
    let id = cloud_id(&nb);
    env.delete::<Notebook>("nb-keep").await;
    env.wait_gone::<Notebook>("nb-keep", T).await;
    let cloud = cloud_notebook(&env, &id).await.expect("kept");
    assert_eq!(cloud["status"], "RUNNING");
    assert_eq!(tag(&cloud, OWNER_TAG), None, "ownership tag removed");
    assert_eq!(tag(&cloud, "team").as_deref(), Some("ml"), "user tags stay");
}

#[tokio::test]
async fn an_existing_notebook_is_adopted_by_resource_id() {
    let env = env().await;
    env.apply(&notebook(
        "nb-orig",
        json!({"spec": {"deletionPolicy": "Retain"}}),
    ))
    .await;
    let id = cloud_id(&env.wait_for::<Notebook>("nb-orig", T, "Ready", ready).await);
    env.delete::<Notebook>("nb-orig").await;
    env.wait_gone::<Notebook>("nb-orig", T).await;
    let creates = env.calls("POST", "/v1/{project_id}/notebooks");
    env.apply(&notebook(
        "nb-adopt",
        json!({"spec": {"resourceId": id, "name": null, "displayName": "nb-orig",
        "tags": {"adopted": "yes"}}}),
    ))
    .await;
    let nb = env.wait_for::<Notebook>("nb-adopt", T, "Ready", ready).await;
    assert_eq!(cloud_id(&nb), id);
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/notebooks"),
        creates,
        "nothing created"
    );
    let cloud = cloud_notebook(&env, &id).await.expect("exists");
    assert_eq!(tag(&cloud, OWNER_TAG), nb.metadata.uid.clone(), "claimed");
    assert_eq!(tag(&cloud, "adopted").as_deref(), Some("yes"));
}

#[tokio::test]
async fn a_second_object_claiming_the_same_notebook_gets_a_management_conflict() {
    let env = env().await;
    env.apply(&notebook("nb-a", json!({"spec": {"tags": {"team": "a"}}})))
        .await;
    let id = cloud_id(&env.wait_for::<Notebook>("nb-a", T, "Ready", ready).await);
    env.apply(&notebook(
        "nb-b",
        json!({"spec": {"resourceId": id, "tags": {"team": "b"}, "desiredState": "Stopped"}}),
    ))
    .await;
    let nb = env
        .wait_for::<Notebook>("nb-b", T, "conflict", |nb| {
            reason(nb, "Ready").as_deref() == Some("ManagementConflict")
        })
        .await;
    assert_eq!(
        nb.status
            .as_ref()
            .and_then(|s| condition(&s.cloud.conditions, "Ready"))
            .map(|c| c.status.as_str()),
        Some("False")
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cloud = cloud_notebook(&env, &id).await.expect("exists");
    assert_eq!(
        tag(&cloud, "team").as_deref(),
        Some("a"),
        "the second object changed nothing"
    );
    assert_eq!(cloud["status"], "RUNNING", "the second object did not stop it");
}

#[tokio::test]
async fn observe_only_reports_status_and_never_mutates_or_deletes() {
    let env = env().await;
    env.apply(&notebook("nb-src", json!({"spec": {"deletionPolicy": "Retain"}})))
        .await;
    let id = cloud_id(&env.wait_for::<Notebook>("nb-src", T, "Ready", ready).await);
    env.delete::<Notebook>("nb-src").await;
    env.wait_gone::<Notebook>("nb-src", T).await;
    env.cloud.clear_stats();
    env.apply(&notebook(
        "nb-obs",
        json!({"spec": {"resourceId": id, "managementPolicy": "ObserveOnly",
        "flavor": "modelarts.vm.cpu.8u", "desiredState": "Stopped", "tags": {"x": "y"}}}),
    ))
    .await;
    let nb = env
        .wait_for::<Notebook>("nb-obs", T, "observed", |nb| {
            nb.status.as_ref().and_then(|s| s.cloud.cloud_state.as_deref()) == Some("RUNNING")
                && reason(nb, "Synced").as_deref() == Some("ObserveOnly")
        })
        .await;
    assert_eq!(
        nb.status.as_ref().and_then(|s| s.cloud.cloud_id.as_deref()),
        None,
        "an observer records no claim on the notebook"
    );
    env.delete::<Notebook>("nb-obs").await;
    env.wait_gone::<Notebook>("nb-obs", T).await;
    let mutations: u64 = env
        .cloud
        .call_counts()
        .iter()
        .filter(|(route, _)| !route.starts_with("GET "))
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(
        mutations,
        0,
        "no mutating call at all: {:?}",
        env.cloud.call_counts()
    );
    let cloud = cloud_notebook(&env, &id).await.expect("still exists");
    assert_eq!(cloud["flavor"], "modelarts.vm.cpu.2u");
    assert_eq!(cloud["status"], "RUNNING");
}

#[tokio::test]
async fn a_paused_notebook_is_left_alone_until_the_annotation_goes() {
    let env = env().await;
    env.apply(&notebook("nb-pause", json!({}))).await;
    let id = cloud_id(&env.wait_for::<Notebook>("nb-pause", T, "Ready", ready).await);
    env.merge_patch::<Notebook>(
        "nb-pause",
        json!({"metadata": {"annotations": {"modelarts.operator.dev/paused": "true"}}, "spec": {"desiredState": "Stopped"}}),
    )
    .await;
    env.wait_for::<Notebook>("nb-pause", T, "paused", |nb| {
        reason(nb, "Synced").as_deref() == Some("Paused")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        cloud_notebook(&env, &id).await.expect("exists")["status"],
        "RUNNING",
        "not stopped while paused"
    );
    env.merge_patch::<Notebook>(
        "nb-pause",
        json!({"metadata": {"annotations": {"modelarts.operator.dev/paused": null}}}),
    )
    .await;
    env.wait_for::<Notebook>("nb-pause", T, "stopped after unpause", |nb| {
        ready(nb) && nb.status.as_ref().and_then(|s| s.cloud.cloud_state.as_deref()) == Some("STOPPED")
    })
    .await;
}
