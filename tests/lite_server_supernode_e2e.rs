//! LiteServer end to end for HPS supernodes: tags through the hyperinstance tag API, live
//! scaling, power, and drift.
#[path = "support/lite_server.rs"]
mod lite;
mod support;

use lite::*;
use modelarts_emulator::{DEFAULT_PROJECT_ID as PROJECT, Kind};
use modelarts_operator::{api::lite_server::LiteServer, engine::tags::OWNER_TAG};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn supernode_tags_are_added_changed_and_removed_keeping_foreign_tags() {
    let env = env().await;
    env.apply(&supernode(
        "tagged",
        json!({"tags": {"team": "ml", "stage": "dev"}}),
    ))
    .await;
    let ls = env.wait_for::<LiteServer>("tagged", T, "Ready", ready).await;
    let id = cloud_id(&ls);
    let uid = ls.metadata.uid.clone().expect("uid");
    assert_eq!(
        supernode_tags(&env, &id).await,
        vec![
            (OWNER_TAG.to_string(), uid.clone()),
            ("stage".into(), "dev".into()),
            ("team".into(), "ml".into())
        ]
    );
    env.cloud
        .add_tags(PROJECT, Kind::Hyperinstance, &id, &[("cost-center", "42")])
        .expect("console tag added");
    let patched = env
        .merge_patch::<LiteServer>("tagged", json!({"spec": {"tags": {"team": "cv", "stage": null}}}))
        .await;
    let generation = patched.metadata.generation;
    env.wait_for::<LiteServer>("tagged", T, "tags converged", |ls| {
        ready(ls)
            && ls.metadata.generation == generation
            && ls
                .status
                .as_ref()
                .is_some_and(|s| s.cloud.managed_tag_keys == vec!["team".to_string()])
    })
    .await;
    assert_eq!(
        supernode_tags(&env, &id).await,
        vec![
            ("cost-center".into(), "42".into()),
            (OWNER_TAG.to_string(), uid),
            ("team".into(), "cv".into())
        ]
    );
}

#[tokio::test]
async fn a_supernode_scales_up_and_down_live_removing_its_newest_nodes() {
    let env = env().await;
    env.apply(&supernode(
        "scaler",
        json!({"nodes": [{"flavor": HPS_FLAVOR, "count": 4}]}),
    ))
    .await;
    let ls = env.wait_for::<LiteServer>("scaler", T, "Ready", ready).await;
    let id = cloud_id(&ls);
    assert_eq!(ls.status.as_ref().and_then(|s| s.node_count), Some(4));

    env.merge_patch::<LiteServer>(
        "scaler",
        json!({"spec": {"nodes": [{"flavor": HPS_FLAVOR, "count": 6}]}}),
    )
    .await;
    let ls = env
        .wait_for::<LiteServer>("scaler", T, "six nodes", |ls| {
            ready(ls) && ls.status.as_ref().and_then(|s| s.node_count) == Some(6)
        })
        .await;
    assert_eq!(
        env.calls(
            "POST",
            "/v1/{project_id}/dev-servers/hyperinstance/{id}/live-scale-up"
        ),
        2
    );
    assert_eq!(ls.status.as_ref().expect("status").child_servers.len(), 6);

    // The expected pick: newest first, then by ID.
    let hyper = cloud(
        &env,
        reqwest::Method::GET,
        &format!("dev-servers/hyperinstance/{id}"),
        None,
    )
    .await
    .expect("supernode exists");
    let mut nodes: Vec<(i64, String)> = hyper["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .map(|s| {
            (
                s["create_at"].as_i64().unwrap_or(0),
                s["id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    nodes.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let newest = nodes[0].1.clone();

    env.merge_patch::<LiteServer>(
        "scaler",
        json!({"spec": {"nodes": [{"flavor": HPS_FLAVOR, "count": 5}]}}),
    )
    .await;
    let ls = env
        .wait_for::<LiteServer>("scaler", T, "five nodes", |ls| {
            ready(ls) && ls.status.as_ref().and_then(|s| s.node_count) == Some(5)
        })
        .await;
    let status = ls.status.expect("status");
    let record = status.last_scale_down.expect("scale-down recorded");
    assert_eq!(record.server_ids, vec![newest.clone()]);
    assert_eq!(record.flavor, HPS_FLAVOR);
    assert!(status.child_servers.iter().all(|c| c.id != newest));
    let events: kube::Api<k8s_openapi::api::events::v1::Event> = env.api();
    let listed = events.list(&Default::default()).await.expect("events listed");
    let scaled = listed
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("ScalingDown"))
        .expect("a ScalingDown event");
    assert!(
        scaled.note.as_deref().is_some_and(|n| n.contains(&newest)),
        "the event names the removed node: {:?}",
        scaled.note
    );
    assert_eq!(
        env.calls(
            "POST",
            "/v1/{project_id}/dev-servers/hyperinstance/{id}/live-scale-down"
        ),
        1
    );
}

#[tokio::test]
async fn a_supernode_tag_removed_by_hand_is_restored_by_the_drift_poller() {
    let env = env().await;
    env.apply(&supernode("retagged", json!({"tags": {"team": "ml"}})))
        .await;
    let ls = env.wait_for::<LiteServer>("retagged", T, "Ready", ready).await;
    let id = cloud_id(&ls);
    env.cloud
        .remove_tags(PROJECT, Kind::Hyperinstance, &id, &["team"])
        .expect("console tag removal");
    let deadline = tokio::time::Instant::now() + T;
    while !supernode_tags(&env, &id)
        .await
        .contains(&("team".into(), "ml".into()))
    {
        assert!(tokio::time::Instant::now() < deadline, "tag never restored");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_supernode_is_stopped_and_started_as_a_whole() {
    let env = env().await;
    env.apply(&supernode("sleeper", json!({}))).await;
    env.wait_for::<LiteServer>("sleeper", T, "Ready", ready).await;
    let all_nodes = |status: &'static str| {
        move |ls: &LiteServer| {
            ready(ls)
                && ls.status.as_ref().is_some_and(|s| {
                    !s.child_servers.is_empty()
                        && s.child_servers
                            .iter()
                            .all(|c| c.status.as_deref() == Some(status))
                })
        }
    };
    env.merge_patch::<LiteServer>("sleeper", json!({"spec": {"desiredState": "Stopped"}}))
        .await;
    env.wait_for::<LiteServer>("sleeper", T, "all nodes stopped", all_nodes("STOPPED"))
        .await;
    env.merge_patch::<LiteServer>("sleeper", json!({"spec": {"desiredState": "Running"}}))
        .await;
    env.wait_for::<LiteServer>("sleeper", T, "all nodes running", all_nodes("RUNNING"))
        .await;
    assert_eq!(
        env.calls("PUT", "/v1/{project_id}/dev-servers/hyperinstance/{id}/stop"),
        1
    );
    assert_eq!(
        env.calls("PUT", "/v1/{project_id}/dev-servers/hyperinstance/{id}/start"),
        1
    );
}

#[tokio::test]
async fn a_supernode_create_lost_after_commit_is_found_by_name_and_never_made_twice() {
    let env = env().await;
    env.cloud.add_fault(modelarts_emulator::FaultRule {
        method: Some("POST".into()),
        path: "/v1/{project_id}/dev-servers".into(),
        action: modelarts_emulator::FaultAction::CommitThenFail {
            status: Some(503),
            drop: false,
        },
        times: Some(1),
    });
    env.apply(&supernode("lost-node", json!({"tags": {"team": "ml"}})))
        .await;
    let ls = env.wait_for::<LiteServer>("lost-node", T, "Ready", ready).await;
    let id = cloud_id(&ls);
    assert_eq!(
        env.calls("POST", "/v1/{project_id}/dev-servers"),
        1,
        "never created twice"
    );
    let listed = cloud(
        &env,
        reqwest::Method::GET,
        "dev-servers/hyperinstance?limit=100",
        None,
    )
    .await
    .expect("list");
    let ids: Vec<&str> = listed["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|h| h["id"].as_str())
        .collect();
    assert_eq!(ids, vec![id.as_str()]);
    let uid = ls.metadata.uid.clone().expect("uid");
    assert!(
        supernode_tags(&env, &id)
            .await
            .contains(&(OWNER_TAG.to_string(), uid))
    );
}

/// Issue 9, item 9: a scale-up is recorded before it is sent, so neither reads that do not
/// show the new node yet nor an answer lost after commit send a second one. Before the record
/// (`status.pendingScaleUp`) the lagging reads made the operator scale up again and again.
#[tokio::test]
async fn a_scale_up_whose_node_reads_do_not_show_yet_is_sent_once() {
    let env = env().await;
    env.apply(&supernode(
        "lagging",
        json!({"nodes": [{"flavor": HPS_FLAVOR, "count": 4}]}),
    ))
    .await;
    let ls = env.wait_for::<LiteServer>("lagging", T, "Ready", ready).await;
    let id = cloud_id(&ls);
    let scale_up = "/v1/{project_id}/dev-servers/hyperinstance/{id}/live-scale-up";
    env.cloud
        .set_eventual_consistency(modelarts_emulator::Family::Servers, 8);
    env.cloud.add_fault(modelarts_emulator::FaultRule {
        method: Some("POST".into()),
        path: scale_up.into(),
        action: modelarts_emulator::FaultAction::CommitThenFail {
            status: Some(503),
            drop: false,
        },
        times: Some(1),
    });
    env.merge_patch::<LiteServer>(
        "lagging",
        json!({"spec": {"nodes": [{"flavor": HPS_FLAVOR, "count": 5}]}}),
    )
    .await;
    let ls = env
        .wait_for::<LiteServer>("lagging", T, "five nodes", |ls| {
            ready(ls) && ls.status.as_ref().and_then(|s| s.node_count) == Some(5)
        })
        .await;
    assert_eq!(env.calls("POST", scale_up), 1, "the scale-up was sent once");
    assert_eq!(
        ls.status.as_ref().and_then(|s| s.pending_scale_up.as_ref()),
        None,
        "the record is cleared once the node is visible"
    );
    // The cloud side: exactly five nodes, no sixth from a repeated call.
    let nodes: Vec<_> = env
        .cloud
        .list(PROJECT, Kind::Server)
        .into_iter()
        .filter(|s| s["server_hps"]["id"].as_str() == Some(id.as_str()))
        .collect();
    assert_eq!(nodes.len(), 5, "nodes stored in the cloud: {nodes:#?}");
    let hyper = cloud(
        &env,
        reqwest::Method::GET,
        &format!("dev-servers/hyperinstance/{id}"),
        None,
    )
    .await
    .expect("supernode exists");
    assert_eq!(hyper["servers"].as_array().map(Vec::len), Some(5));
}
