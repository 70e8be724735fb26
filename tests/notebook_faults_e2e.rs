//! Notebook end to end under faults: drift, lost create responses, throttling, refused specs,
//! bad credentials.
#[path = "support/notebook.rs"]
mod notebook_support;
mod support;
use notebook_support::{cond, notebook, ready};

use modelarts_emulator::{DEFAULT_PROJECT_ID as PROJECT, Family, FaultAction, FaultRule, Kind};
use modelarts_operator::api::notebook::Notebook;
use serde_json::json;
use std::time::Duration;
use support::Env;

const T: Duration = Duration::from_secs(30);

fn cloud_id(nb: &Notebook) -> String {
    nb.status
        .as_ref()
        .and_then(|s| s.cloud.cloud_id.clone())
        .expect("cloud ID")
}

const CREATE: &str = "/v1/{project_id}/notebooks";

#[tokio::test]
async fn a_console_stop_and_a_removed_tag_are_corrected_by_the_drift_poller() {
    let env = Env::start().await;
    env.apply(&notebook("nb-drift", json!({"tags": {"team": "ml"}})))
        .await;
    let id = cloud_id(&env.wait_for::<Notebook>("nb-drift", T, "Ready", ready).await);
    env.cloud
        .console_action(PROJECT, Kind::Notebook, &id, "stop")
        .expect("console stop");
    env.cloud
        .remove_tags(PROJECT, Kind::Notebook, &id, &["team"])
        .expect("console untag");
    // Nothing changes in Kubernetes: only the cloud-side poll can notice.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let starts = env.calls("POST", "/v1/{project_id}/notebooks/{id}/start");
        let tags = env.calls("POST", "/v1/{project_id}/notebooks/{id}/tags/create");
        let nb = env.api::<Notebook>().get("nb-drift").await.expect("get");
        if starts >= 1
            && tags >= 2
            && ready(&nb)
            && nb.status.as_ref().and_then(|s| s.cloud.cloud_state.as_deref()) == Some("RUNNING")
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "drift not corrected: starts {starts}, tag writes {tags}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_create_whose_response_is_lost_yields_exactly_one_cloud_notebook() {
    let env = Env::start().await;
    env.cloud.set_eventual_consistency(Family::Notebooks, 3);
    env.cloud.add_fault(FaultRule {
        method: Some("POST".into()),
        path: CREATE.into(),
        action: FaultAction::CommitThenFail {
            status: None,
            drop: true,
        },
        times: Some(1),
    });
    env.apply(&notebook("nb-lost", json!({}))).await;
    let nb = env.wait_for::<Notebook>("nb-lost", T, "Ready", ready).await;
    assert_eq!(
        env.cloud.notebook_count(PROJECT),
        1,
        "one cloud notebook, not two"
    );
    assert_eq!(env.calls("POST", CREATE), 1, "the create was never repeated");
    assert!(nb.status.expect("status").cloud.pending_create.is_none());
}

#[tokio::test]
async fn a_create_answered_with_a_5xx_after_committing_is_not_repeated() {
    let env = Env::start().await;
    env.cloud.add_fault(FaultRule {
        method: Some("POST".into()),
        path: CREATE.into(),
        action: FaultAction::CommitThenFail {
            status: Some(503),
            drop: false,
        },
        times: Some(1),
    });
    env.apply(&notebook("nb-5xx", json!({}))).await;
    env.wait_for::<Notebook>("nb-5xx", T, "Ready", ready).await;
    assert_eq!(env.cloud.notebook_count(PROJECT), 1);
    assert_eq!(env.calls("POST", CREATE), 1);
}

#[tokio::test]
async fn a_throttling_storm_converges_without_a_hot_loop() {
    let env = Env::start().await;
    let fault = env.cloud.add_fault(FaultRule {
        method: None,
        path: "/v1/*/notebooks*".into(),
        action: FaultAction::Status {
            status: 429,
            error_code: Some("APIGW.0308".into()),
            retry_after: Some(1),
        },
        times: None,
    });
    env.apply(&notebook("nb-429", json!({}))).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let during: u64 = env.cloud.call_counts().values().sum();
    assert!(
        during <= 40,
        "{during} calls in 6 s of throttling: the operator must back off"
    );
    let nb = env.api::<Notebook>().get("nb-429").await.expect("get");
    let (status, reason, _) = cond(&nb, "Synced").expect("Synced condition");
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Throttled"));
    env.cloud.remove_fault(fault);
    env.wait_for::<Notebook>("nb-429", Duration::from_secs(60), "Ready after the storm", ready)
        .await;
    assert_eq!(env.cloud.notebook_count(PROJECT), 1);
}

#[tokio::test]
async fn a_spec_the_cloud_refuses_is_terminal_and_not_retried_until_it_changes() {
    let env = Env::start().await;
    env.apply(&notebook(
        "nb-bad",
        json!({"flavor": "modelarts.vm.does.not.exist"}),
    ))
    .await;
    let nb = env
        .wait_for::<Notebook>("nb-bad", T, "terminal condition", |nb| {
            cond(nb, "Synced").is_some_and(|(s, r, _)| s == "False" && r == "Invalid")
        })
        .await;
    let (_, _, message) = cond(&nb, "Synced").expect("Synced");
    assert!(
        message.contains("modelarts.vm.does.not.exist"),
        "the cloud's message is shown: {message}"
    );
    let attempts = env.calls("POST", CREATE);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        env.calls("POST", CREATE),
        attempts,
        "no retry while the spec is unchanged"
    );
    env.merge_patch::<Notebook>("nb-bad", json!({"spec": {"flavor": "modelarts.vm.cpu.2u"}}))
        .await;
    env.wait_for::<Notebook>("nb-bad", T, "Ready after the fix", ready)
        .await;
    assert_eq!(env.cloud.notebook_count(PROJECT), 1);
}

#[tokio::test]
async fn wrong_credentials_give_a_condition_and_a_fixed_secret_is_picked_up_without_restart() {
    let env = Env::start().await;
    env.put_secret(
        "bad-creds",
        &[
            ("accessKey", modelarts_emulator::DEFAULT_AK),
            ("secretKey", "wrong"),
        ],
    )
    .await;
    env.apply(&notebook(
        "nb-creds",
        json!({"credentialsSecretRef": {"name": "bad-creds"}}),
    ))
    .await;
    env.apply(&notebook("nb-fine", json!({}))).await;
    let nb = env
        .wait_for::<Notebook>("nb-creds", T, "Unauthorized condition", |nb| {
            cond(nb, "Synced").is_some_and(|(s, r, _)| s == "False" && r == "Unauthorized")
        })
        .await;
    assert!(
        nb.status
            .as_ref()
            .and_then(|s| s.cloud.cloud_id.clone())
            .is_none()
    );
    env.wait_for::<Notebook>("nb-fine", T, "the other notebook is unaffected", ready)
        .await;
    env.put_secret(
        "bad-creds",
        &[
            ("accessKey", modelarts_emulator::DEFAULT_AK),
            ("secretKey", modelarts_emulator::DEFAULT_SK),
        ],
    )
    .await;
    env.wait_for::<Notebook>(
        "nb-creds",
        Duration::from_secs(60),
        "Ready with the rotated Secret",
        ready,
    )
    .await;
    assert_eq!(env.cloud.notebook_count(PROJECT), 2);
}
