//! Failures stay calm (data-safety issue, item 10): a delete the cloud fails is retried with
//! backoff under one aggregated Warning, a create answered without an ID is resolved by finding
//! what it made, and objects that record no cloud ID of their own are still woken by drift.
//! Every test counts the cloud.
#[path = "support/notebook.rs"]
mod notebook_support;
mod support;

use k8s_openapi::api::events::v1::Event;
use modelarts_emulator::{
    DEFAULT_AK, DEFAULT_PROJECT_ID as PROJECT, DEFAULT_REGION, DEFAULT_SK, FaultAction, FaultRule, Kind,
};
use modelarts_operator::{
    api::notebook::Notebook,
    cloud::{ClientConfig, Credentials, ModelArtsClient},
    resources::notebook::plan::create_request,
};
use notebook_support::{cond, notebook, ready};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::Env;

const T: Duration = Duration::from_secs(30);
const CREATE: &str = "/v1/{project_id}/notebooks";
const ONE: &str = "/v1/{project_id}/notebooks/{id}";

fn cloud_id(nb: &Notebook) -> String {
    nb.status
        .as_ref()
        .and_then(|s| s.cloud.cloud_id.clone())
        .expect("cloud ID")
}

fn state(nb: &Notebook) -> Option<String> {
    nb.status.as_ref().and_then(|s| s.cloud.cloud_state.clone())
}

fn cloud_state(env: &Env, id: &str) -> Option<String> {
    env.cloud
        .list(PROJECT, Kind::Notebook)
        .iter()
        .find(|nb| nb["id"] == id)
        .and_then(|nb| nb["status"].as_str().map(str::to_string))
}

#[tokio::test]
async fn a_delete_the_cloud_fails_is_asked_again_with_backoff_under_one_warning() {
    let env = Env::start().await;
    env.apply(&notebook("nb-stuck", json!({"desiredState": "Stopped"})))
        .await;
    let nb = env
        .wait_for::<Notebook>("nb-stuck", T, "Ready and stopped", |nb| {
            ready(nb) && state(nb).as_deref() == Some("STOPPED")
        })
        .await;
    let id = cloud_id(&nb);
    // The backend cannot finish deletes of this notebook: DELETING ends in DELETE_FAILED.
    env.cloud
        .console_action(PROJECT, Kind::Notebook, &id, "fail-deletes")
        .expect("backend broken");
    env.delete::<Notebook>("nb-stuck").await;
    env.wait_for::<Notebook>("nb-stuck", T, "Synced=False CloudFailed", |nb| {
        cond(nb, "Synced").is_some_and(|(s, r, _)| s == "False" && r == "CloudFailed")
    })
    .await;
    // Watch it for a while: the operator's waiting interval here is 300 ms, so a delete sent on
    // every pass would be ~80 calls; backoff (1 s doubling) allows a handful.
    let window = Instant::now();
    tokio::time::sleep(Duration::from_secs(25)).await;
    let deletes = env.calls("DELETE", ONE);
    assert!(
        (2..=8).contains(&deletes),
        "asked again, with backoff: {deletes} DELETEs in {:?}",
        window.elapsed()
    );
    let events: kube::Api<Event> = env.api();
    let warnings: Vec<Event> = events
        .list(&Default::default())
        .await
        .expect("events listed")
        .items
        .into_iter()
        .filter(|e| e.type_.as_deref() == Some("Warning") && e.reason.as_deref() == Some("CloudFailed"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "repeats fold into one Event series: {warnings:#?}"
    );
    let series = warnings[0].series.as_ref().map_or(1, |s| s.count);
    assert!(series >= 2, "the series counts the repeats: {series}");
    assert_eq!(cloud_state(&env, &id).as_deref(), Some("DELETE_FAILED"));
    // The object holds its finalizer meanwhile: nothing is leaked.
    assert!(
        env.api::<Notebook>()
            .get_opt("nb-stuck")
            .await
            .expect("read")
            .is_some()
    );

    // The backend heals: the next retry deletes it and the object goes.
    env.cloud
        .console_action(PROJECT, Kind::Notebook, &id, "heal-deletes")
        .expect("backend healed");
    // The next ask comes after the current backoff step (up to 64 s by now, doubling from 1 s
    // with half jitter), so the bound is generous; a loaded machine adds to it.
    env.wait_gone::<Notebook>("nb-stuck", Duration::from_secs(180))
        .await;
    assert_eq!(env.cloud.notebook_count(PROJECT), 0, "nothing left behind");
}

#[tokio::test]
async fn a_create_answered_without_an_id_is_resolved_by_finding_what_it_made() {
    let env = Env::start().await;
    // The create happens, but the answer is a 200 whose body names no notebook.
    env.cloud.add_fault(FaultRule {
        method: Some("POST".into()),
        path: CREATE.into(),
        action: FaultAction::CommitThenFail {
            status: Some(200),
            drop: false,
        },
        times: Some(1),
    });
    let applied = env.apply(&notebook("nb-no-id", json!({}))).await;
    let nb = env.wait_for::<Notebook>("nb-no-id", T, "Ready", ready).await;
    let listed = env.cloud.list(PROJECT, Kind::Notebook);
    assert_eq!(listed.len(), 1, "exactly one notebook: {listed:#?}");
    assert_eq!(env.calls("POST", CREATE), 1, "never a second create");
    assert_eq!(
        listed[0]["id"].as_str(),
        Some(cloud_id(&nb).as_str()),
        "the one it made"
    );
    let owner = owner_tag(&listed[0]);
    assert_eq!(owner, applied.metadata.uid, "tagged as this object's");
}

fn owner_tag(nb: &Value) -> Option<String> {
    nb["tags"].as_array()?.iter().find_map(|t| {
        (t["key"] == "modelarts.operator.dev:owner")
            .then(|| t["value"].as_str().unwrap_or_default().to_string())
    })
}

/// A person's notebook, made outside the operator.
async fn persons_notebook(env: &Env, name: &str) -> String {
    let mut config = ClientConfig::new(DEFAULT_REGION, PROJECT);
    config.endpoint = Some(env.cloud.base_url());
    let person = ModelArtsClient::new(config, Credentials::ak_sk(DEFAULT_AK, DEFAULT_SK)).expect("client");
    person
        .create_notebook(&create_request(&notebook(name, json!({})), None))
        .await
        .expect("person's notebook")
        .id
}

const WATCHERS: [&str; 3] = ["nb-watch-a", "nb-watch-b", "nb-watch-c"];

#[tokio::test]
async fn observe_only_objects_sharing_one_notebook_are_all_woken_by_drift() {
    // A resync far away: only the drift poller (every 2 s) can notice a console change.
    let env = Env::start_with(|c| c.engine.resync = Duration::from_secs(3600)).await;
    let id = persons_notebook(&env, "shared-view").await;
    for name in WATCHERS {
        env.apply(&notebook(
            name,
            json!({"resourceId": id, "managementPolicy": "ObserveOnly"}),
        ))
        .await;
        env.wait_for::<Notebook>(name, T, "observing RUNNING", |nb| {
            state(nb).as_deref() == Some("RUNNING")
        })
        .await;
    }
    env.cloud
        .console_action(PROJECT, Kind::Notebook, &id, "stop")
        .expect("console stop");
    for name in WATCHERS {
        env.wait_for::<Notebook>(name, T, "reporting the console stop", |nb| {
            state(nb).as_deref() == Some("STOPPED")
        })
        .await;
    }
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/notebooks/{id}/start"),
        0,
        "observers never act"
    );
    assert_eq!(env.cloud.notebook_count(PROJECT), 1, "the person's notebook only");
}

#[tokio::test]
async fn the_owner_is_woken_by_drift_while_rivals_name_its_notebook() {
    let env = Env::start_with(|c| c.engine.resync = Duration::from_secs(3600)).await;
    env.apply(&notebook("nb-owner", json!({}))).await;
    let id = cloud_id(&env.wait_for::<Notebook>("nb-owner", T, "Ready", ready).await);
    // Rivals naming the same notebook must not hide the owner from the poller.
    for rival in WATCHERS {
        env.apply(&notebook(rival, json!({"resourceId": id}))).await;
        env.wait_for::<Notebook>(rival, T, "ManagementConflict", |nb| {
            cond(nb, "Ready").is_some_and(|(_, r, _)| r == "ManagementConflict")
        })
        .await;
    }
    let start = "/v1/{project_id}/notebooks/{id}/start";
    let starts = env.calls("POST", start);
    env.cloud
        .console_action(PROJECT, Kind::Notebook, &id, "stop")
        .expect("console stop");
    env.wait_for::<Notebook>("nb-owner", T, "stopped in the console, then restarted", |_| {
        env.calls("POST", start) > starts
    })
    .await;
    env.wait_for::<Notebook>("nb-owner", T, "Ready and RUNNING", |nb| {
        ready(nb) && state(nb).as_deref() == Some("RUNNING")
    })
    .await;
    assert_eq!(env.calls("POST", start), starts + 1, "one start, by the owner");
    assert_eq!(
        env.cloud.notebook_count(PROJECT),
        1,
        "one notebook for all of them"
    );
}
