//! LiteServer end to end for single servers (ECS): the real operator against kube-emulator and
//! modelarts-emulator. Supernodes are in `lite_server_supernode_e2e.rs`.
#[path = "support/lite_server.rs"]
mod lite;
mod support;

use lite::*;
use modelarts_emulator::{DEFAULT_PROJECT_ID as PROJECT, Family, FaultAction, FaultRule, Kind};
use modelarts_operator::api::lite_server::LiteServer;
use serde_json::{Value, json};
use std::time::Duration;
use support::{Env, condition};

#[tokio::test]
async fn an_ecs_server_is_created_with_the_password_from_its_secret_and_becomes_ready() {
    let env = env().await;
    env.put_secret("box-login", &[("password", PASSWORD)]).await;
    env.apply(&lite_server(
        "box",
        json!({"login": {"passwordSecretRef": {"name": "box-login", "key": "password"}},
               "rootVolume": {"size": 200, "type": "GPSSD"}}),
    ))
    .await;
    let ls = env.wait_for::<LiteServer>("box", T, "Ready", ready).await;
    let id = cloud_id(&ls);
    let remote = server(&env, &id).await.expect("cloud server exists");
    assert_eq!(remote["status"], "RUNNING");
    assert_eq!(remote["name"], "box");
    assert_eq!(remote["image"]["image_id"], ECS_IMAGE);
    assert_eq!(remote["charging_mode"], "POST_PAID");
    // The emulator refuses a create with neither a key pair nor a valid admin_pass.
    assert!(remote.get("key_pair_name").is_none());
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/dev-servers"),
        1,
        "exactly one create"
    );
    let status = ls.status.expect("status");
    assert_eq!(status.cloud.cloud_state.as_deref(), Some("RUNNING"));
    assert_eq!(status.image_id.as_deref(), Some(ECS_IMAGE));
    assert!(status.underlying_server_id.is_some());
    assert!(status.cloud.pending_create.is_none());
    let written = serde_json::to_string(&status).expect("status serialises");
    assert!(!written.contains(PASSWORD), "the password never reaches status");
}

#[tokio::test]
async fn a_running_server_is_stopped_when_desired_state_is_stopped() {
    let env = env().await;
    let id = ready_server(&env, "stopper", json!({})).await;
    env.merge_patch::<LiteServer>("stopper", json!({"spec": {"desiredState": "Stopped"}}))
        .await;
    env.wait_for::<LiteServer>("stopper", T, "Stopped and Ready", |ls| {
        ready(ls) && state(ls) == Some("STOPPED")
    })
    .await;
    assert_eq!(server(&env, &id).await.expect("exists")["status"], "STOPPED");
    assert_eq!(env.calls("PUT", "/v1/{project_id}/dev-servers/{id}/stop"), 1);
}

#[tokio::test]
async fn a_stopped_server_is_started_when_desired_state_is_running() {
    let env = env().await;
    let id = ready_server(&env, "starter", json!({"desiredState": "Stopped"})).await;
    assert_eq!(server(&env, &id).await.expect("exists")["status"], "STOPPED");
    env.merge_patch::<LiteServer>("starter", json!({"spec": {"desiredState": "Running"}}))
        .await;
    env.wait_for::<LiteServer>("starter", T, "Running and Ready", |ls| {
        ready(ls) && state(ls) == Some("RUNNING")
    })
    .await;
    assert_eq!(server(&env, &id).await.expect("exists")["status"], "RUNNING");
    assert_eq!(env.calls("PUT", "/v1/{project_id}/dev-servers/{id}/start"), 1);
}

#[tokio::test]
async fn each_new_reboot_trigger_reboots_once_also_across_an_operator_restart() {
    let mut env = env().await;
    ready_server(&env, "rebooter", json!({})).await;
    let reboots = |env: &Env| env.calls("PUT", "/v1/{project_id}/dev-servers/{id}/reboot");
    let handled = |at: String| {
        move |ls: &LiteServer| {
            ready(ls)
                && state(ls) == Some("RUNNING")
                && ls
                    .status
                    .as_ref()
                    .and_then(|s| s.last_reboot_requested_at.clone())
                    == Some(at.clone())
        }
    };
    let first = now();
    env.merge_patch::<LiteServer>("rebooter", json!({"spec": {"rebootRequestedAt": first}}))
        .await;
    env.wait_for::<LiteServer>("rebooter", T, "first reboot handled", handled(first.clone()))
        .await;
    assert_eq!(reboots(&env), 1);

    // A restarted operator reads the handled value from status and does not reboot again.
    env.stop_operator().await;
    let mut env = env.with_operator(|_| {});
    env.merge_patch::<LiteServer>("rebooter", json!({"metadata": {"labels": {"touched": "yes"}}}))
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(reboots(&env), 1, "no second reboot for the same trigger value");

    let second = now();
    env.merge_patch::<LiteServer>("rebooter", json!({"spec": {"rebootRequestedAt": second}}))
        .await;
    env.wait_for::<LiteServer>("rebooter", T, "second reboot handled", handled(second))
        .await;
    assert_eq!(reboots(&env), 2);
    env.stop_operator().await;
}

#[tokio::test]
async fn a_new_name_renames_the_server_in_place() {
    let env = env().await;
    let id = ready_server(&env, "renamer", json!({})).await;
    env.merge_patch::<LiteServer>("renamer", json!({"spec": {"name": "renamed-box"}}))
        .await;
    let ls = env
        .wait_for::<LiteServer>("renamer", T, "Ready after rename", ready)
        .await;
    assert_eq!(cloud_id(&ls), id, "same server, not a new one");
    assert_eq!(server(&env, &id).await.expect("exists")["name"], "renamed-box");
    assert_eq!(env.calls("PUT", "/v1/{project_id}/dev-servers/{id}"), 1);
    assert_eq!(env.calls("POST", "/v1/{project_id}/dev-servers"), 1);
}

#[tokio::test]
async fn a_new_image_stops_the_server_changes_its_os_and_runs_it_again() {
    let env = env().await;
    let id = ready_server(&env, "reimager", json!({})).await;
    env.merge_patch::<LiteServer>("reimager", json!({"spec": {"image": {"id": ECS_IMAGE_2}}}))
        .await;
    let ls = env
        .wait_for::<LiteServer>("reimager", T, "Ready on the new image", |ls| {
            ready(ls) && ls.status.as_ref().and_then(|s| s.image_id.as_deref()) == Some(ECS_IMAGE_2)
        })
        .await;
    let remote = server(&env, &id).await.expect("exists");
    assert_eq!(remote["image"]["image_id"], ECS_IMAGE_2);
    assert_eq!(remote["status"], "RUNNING");
    assert_eq!(env.calls("PUT", "/v1/{project_id}/dev-servers/{id}/stop"), 1);
    assert_eq!(env.calls("POST", "/v1/{project_id}/dev-servers/{id}/changeos"), 1);
    assert!(!ls.status.expect("status").stopped_for_update);
}

#[tokio::test]
async fn deleting_a_prepaid_server_is_refused_with_a_condition_and_never_deletes_it() {
    let env = env().await;
    let created = cloud(
        &env,
        reqwest::Method::POST,
        "dev-servers",
        Some(json!({"name": "yearly-box", "image_id": ECS_IMAGE, "flavor": "modelarts.ecs.gpu.t4.8u32g",
                    "key_pair_name": "kp-1", "network": {"vpc_id": UUID, "subnet_id": UUID, "security_group_id": UUID},
                    "charging_info": {"charging_mode": "PRE_PAID", "period_num": 1, "period_type": "MONTH"}})),
    )
    .await
    .expect("prepaid server created");
    let id = created["id"].as_str().expect("id").to_string();
    env.apply(&lite_server(
        "yearly",
        json!({"name": "yearly-box", "resourceId": id, "chargingMode": "PRE_PAID"}),
    ))
    .await;
    env.wait_for::<LiteServer>("yearly", T, "adopted and Ready", ready)
        .await;

    env.delete::<LiteServer>("yearly").await;
    let ls = env
        .wait_for::<LiteServer>("yearly", T, "delete refused", |ls| {
            ls.status
                .as_ref()
                .and_then(|s| condition(&s.cloud.conditions, "Synced"))
                .is_some_and(|c| c.reason == "InvalidSpec" && c.message.contains("PRE_PAID"))
        })
        .await;
    let message = condition(&ls.status.as_ref().expect("status").cloud.conditions, "Synced")
        .expect("Synced")
        .message
        .clone();
    assert!(message.contains("nsubscribe"), "says what to do: {message}");
    assert!(
        message.contains("spec.deletionPolicy"),
        "names the field: {message}"
    );
    assert!(ls.metadata.deletion_timestamp.is_some());
    assert!(
        ls.metadata.finalizers.as_ref().is_some_and(|f| !f.is_empty()),
        "finalizer kept"
    );
    assert_eq!(env.calls("DELETE", "/v1/{project_id}/dev-servers/{id}"), 0);
    assert_eq!(
        server(&env, &id).await.expect("still exists")["status"],
        "RUNNING"
    );

    // Retain lets the object go and keeps the server.
    env.merge_patch::<LiteServer>("yearly", json!({"spec": {"deletionPolicy": "Retain"}}))
        .await;
    env.wait_gone::<LiteServer>("yearly", T).await;
    assert!(server(&env, &id).await.is_some(), "server kept");
    assert_eq!(env.calls("DELETE", "/v1/{project_id}/dev-servers/{id}"), 0);
}

#[tokio::test]
async fn a_server_stopped_by_hand_is_started_again_by_the_drift_poller() {
    let env = env().await;
    let id = ready_server(&env, "drifter", json!({})).await;
    env.cloud
        .console_action(PROJECT, Kind::Server, &id, "stop")
        .expect("console stop");
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let s = server(&env, &id).await.expect("exists");
        if s["status"] == "RUNNING" && env.calls("PUT", "/v1/{project_id}/dev-servers/{id}/start") == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never restarted: {s}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_create_lost_after_commit_is_found_by_name_and_never_made_twice() {
    let env = env().await;
    env.cloud.set_eventual_consistency(Family::Servers, 2);
    env.cloud.add_fault(FaultRule {
        method: Some("POST".into()),
        path: "/v1/{project_id}/dev-servers".into(),
        action: FaultAction::CommitThenFail {
            status: None,
            drop: true,
        },
        times: Some(1),
    });
    let id = ready_server(&env, "lost", json!({})).await;
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/dev-servers"),
        1,
        "never created twice"
    );
    let all = cloud(&env, reqwest::Method::GET, "dev-servers?limit=100", None)
        .await
        .expect("list");
    let named: Vec<&Value> = all["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|s| s["name"] == "lost")
        .collect();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0]["id"], id.as_str());
}

#[tokio::test]
async fn deleting_a_pay_per_use_server_deletes_it_and_releases_the_object() {
    let env = env().await;
    let id = ready_server(&env, "doomed", json!({})).await;
    env.delete::<LiteServer>("doomed").await;
    env.wait_gone::<LiteServer>("doomed", T).await;
    assert!(server(&env, &id).await.is_none(), "server deleted");
    assert_eq!(env.calls("DELETE", "/v1/{project_id}/dev-servers/{id}"), 1);
}

#[tokio::test]
async fn a_failed_server_surfaces_the_cloud_state_as_the_ready_reason() {
    let env = env().await;
    let id = ready_server(&env, "broken", json!({})).await;
    env.cloud
        .set_status(PROJECT, Kind::Server, &id, "START_FAILED")
        .expect("status forced");
    let ls = env
        .wait_for::<LiteServer>("broken", T, "CloudFailed", |ls| {
            ls.status
                .as_ref()
                .and_then(|s| condition(&s.cloud.conditions, "Ready"))
                .is_some_and(|c| c.status == "False" && c.reason == "CloudFailed")
        })
        .await;
    let ready = condition(&ls.status.as_ref().expect("status").cloud.conditions, "Ready")
        .expect("Ready")
        .message
        .clone();
    assert!(ready.starts_with("START_FAILED"), "{ready}");
    assert_eq!(
        env.calls("PUT", "/v1/{project_id}/dev-servers/{id}/start"),
        0,
        "no blind retry"
    );
}

#[tokio::test]
async fn the_lite_server_examples_converge_against_the_emulator() {
    let env = env().await;
    env.put_secret(
        "hwcloud-credentials",
        &[
            ("accessKey", modelarts_emulator::DEFAULT_AK),
            ("secretKey", modelarts_emulator::DEFAULT_SK),
            ("projectId", PROJECT),
        ],
    )
    .await;
    for file in ["lite-server-ecs.yaml", "lite-server-hps.yaml"] {
        let path = format!("{}/deploy/examples/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("example readable");
        let mut example: LiteServer = serde_yaml::from_str(&text).expect("example parses");
        example.metadata.namespace = Some(support::NS.into());
        let name = env.apply(&example).await.metadata.name.expect("name");
        let ls = env.wait_for::<LiteServer>(&name, T, "example Ready", ready).await;
        assert!(ls.status.is_some_and(|s| s.cloud.cloud_id.is_some()), "{file}");
    }
}

#[tokio::test]
async fn a_missing_password_secret_waits_with_a_condition_naming_the_field_then_creates() {
    let env = env().await;
    env.apply(&lite_server(
        "late-secret",
        json!({"login": {"passwordSecretRef": {"name": "late-login", "key": "password"}}}),
    ))
    .await;
    let ls = env
        .wait_for::<LiteServer>("late-secret", T, "WaitingForSecret", |ls| {
            ls.status
                .as_ref()
                .and_then(|s| condition(&s.cloud.conditions, "Ready"))
                .is_some_and(|c| c.reason == "WaitingForSecret")
        })
        .await;
    let message = condition(&ls.status.as_ref().expect("status").cloud.conditions, "Ready")
        .expect("Ready")
        .message
        .clone();
    assert!(message.contains("spec.login.passwordSecretRef"), "{message}");
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/dev-servers"),
        0,
        "nothing created yet"
    );
    env.put_secret("late-login", &[("password", PASSWORD)]).await;
    env.wait_for::<LiteServer>("late-secret", T, "Ready", ready).await;
    assert_eq!(env.calls("POST", "/v1/{project_id}/dev-servers"), 1);
}

#[tokio::test]
async fn a_server_the_cloud_does_not_show_yet_after_create_is_waited_for_not_reported_missing() {
    let env = env().await;
    env.cloud.set_eventual_consistency(Family::Servers, 3);
    env.apply(&lite_server("shy", json!({}))).await;
    let ls = env.wait_for::<LiteServer>("shy", T, "Ready", ready).await;
    let id = cloud_id(&ls);
    assert!(server(&env, &id).await.is_some());
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/dev-servers"),
        1,
        "never created twice"
    );
}

#[tokio::test]
async fn a_reinstall_trigger_stops_reinstalls_once_and_runs_the_server_again() {
    let env = env().await;
    ready_server(&env, "reinstaller", json!({})).await;
    let at = now();
    env.merge_patch::<LiteServer>("reinstaller", json!({"spec": {"reinstallRequestedAt": at}}))
        .await;
    env.wait_for::<LiteServer>("reinstaller", T, "reinstalled and running", |ls| {
        ready(ls)
            && state(ls) == Some("RUNNING")
            && ls
                .status
                .as_ref()
                .and_then(|s| s.last_reinstall_requested_at.clone())
                == Some(at.clone())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(env.calls("PUT", "/v1/{project_id}/dev-servers/{id}/stop"), 1);
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/dev-servers/{id}/reinstallos"),
        1
    );
    assert_eq!(env.calls("POST", "/v1/{project_id}/dev-servers/{id}/changeos"), 0);
}

#[tokio::test]
async fn a_second_object_claiming_the_same_server_gets_a_management_conflict() {
    let env = env().await;
    let id = ready_server(&env, "first-claim", json!({})).await;
    env.apply(&lite_server(
        "second-claim",
        json!({"name": "first-claim", "resourceId": id, "desiredState": "Stopped"}),
    ))
    .await;
    env.wait_for::<LiteServer>("second-claim", T, "ManagementConflict", |ls| {
        ls.status
            .as_ref()
            .and_then(|s| condition(&s.cloud.conditions, "Synced"))
            .is_some_and(|c| c.reason == "ManagementConflict" && c.message.contains("first-claim"))
    })
    .await;
    assert_eq!(
        env.calls("PUT", "/v1/{project_id}/dev-servers/{id}/stop"),
        0,
        "the rival changed nothing"
    );
    assert_eq!(server(&env, &id).await.expect("exists")["status"], "RUNNING");
    // ECS servers carry no tags: deleting the rival must not delete (or stop) the server the
    // first object manages, although the rival names it in spec.resourceId.
    env.delete::<LiteServer>("second-claim").await;
    env.wait_gone::<LiteServer>("second-claim", T).await;
    assert_eq!(
        env.calls("DELETE", "/v1/{project_id}/dev-servers/{id}"),
        0,
        "the rival deleted nothing"
    );
    assert_eq!(env.calls("PUT", "/v1/{project_id}/dev-servers/{id}/stop"), 0);
    assert_eq!(
        server(&env, &id).await.expect("still exists")["status"],
        "RUNNING"
    );
    // The owner's deletion still deletes it: the rival left no claim behind.
    env.delete::<LiteServer>("first-claim").await;
    env.wait_gone::<LiteServer>("first-claim", T).await;
    assert!(
        server(&env, &id)
            .await
            .is_none_or(|s| matches!(s["status"].as_str(), Some("DELETING" | "DELETED"))),
        "the owner's server is deleted with it"
    );
}

#[tokio::test]
async fn an_observer_of_a_server_never_keeps_its_owner_from_deleting_it() {
    let env = env().await;
    let id = ready_server(&env, "owned", json!({})).await;
    env.apply(&lite_server(
        "watching",
        json!({"name": "owned", "resourceId": id, "managementPolicy": "ObserveOnly"}),
    ))
    .await;
    let watching = env
        .wait_for::<LiteServer>("watching", T, "observing RUNNING", |ls| {
            state(ls) == Some("RUNNING")
        })
        .await;
    let synced = watching
        .status
        .as_ref()
        .and_then(|s| condition(&s.cloud.conditions, "Synced"))
        .map(|c| c.reason.clone());
    assert_eq!(synced.as_deref(), Some("ObserveOnly"), "an observer, not a rival");
    // ECS servers carry no tags: the recorded IDs decide, and an observer records none.
    env.delete::<LiteServer>("owned").await;
    env.wait_gone::<LiteServer>("owned", T).await;
    assert_eq!(
        env.calls("DELETE", "/v1/{project_id}/dev-servers/{id}"),
        1,
        "the owner deleted its server"
    );
    assert!(
        server(&env, &id)
            .await
            .is_none_or(|s| matches!(s["status"].as_str(), Some("DELETING" | "DELETED"))),
        "nothing left behind"
    );
    env.delete::<LiteServer>("watching").await;
    env.wait_gone::<LiteServer>("watching", T).await;
}
