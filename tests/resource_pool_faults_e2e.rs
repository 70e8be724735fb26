//! ResourcePool end to end under faults: lost create responses, console edits found by the
//! drift poller, scales the cloud refuses, yearly/monthly billing.
mod pool_support;
mod support;

use modelarts_emulator::{DEFAULT_PROJECT_ID as PROJECT, Family, FaultAction, FaultRule, Kind};
use modelarts_operator::{api::resource_pool::ResourcePool, engine::tags::OWNER_TAG};
use pool_support::{CPU_FLAVOR, T, cloud_id, cloud_pool, cloud_tags, cond, counts, env, pool, ready};
use serde_json::json;
use std::time::Duration;

const CREATE: &str = "/v2/{project_id}/pools";
const PATCH: &str = "/v2/{project_id}/pools/{pool_name}";

#[tokio::test]
async fn a_create_whose_response_is_lost_yields_exactly_one_cloud_pool() {
    let env = env().await;
    // The new pool also stays invisible to the next reads, as an eventually consistent list would.
    env.cloud.set_eventual_consistency(Family::Pools, 3);
    env.cloud.add_fault(FaultRule {
        method: Some("POST".into()),
        path: CREATE.into(),
        action: FaultAction::CommitThenFail {
            status: None,
            drop: true,
        },
        times: Some(1),
    });
    env.apply(&pool("pool-lost", json!({}))).await;
    let p = env.wait_for::<ResourcePool>("pool-lost", T, "Ready", ready).await;
    assert_eq!(env.cloud.pool_count(PROJECT), 1, "one cloud pool, not two");
    assert_eq!(env.calls("POST", CREATE), 1, "the create was never repeated");
    let id = cloud_id(&p);
    assert_eq!(
        cloud_tags(&env, &id).await.get(OWNER_TAG),
        p.metadata.uid.as_ref(),
        "claimed"
    );
    assert!(p.status.expect("status").cloud.pending_create.is_none());
}

#[tokio::test]
async fn a_create_answered_with_a_5xx_after_committing_is_found_and_not_repeated() {
    let env = env().await;
    env.cloud.add_fault(FaultRule {
        method: Some("POST".into()),
        path: CREATE.into(),
        action: FaultAction::CommitThenFail {
            status: Some(503),
            drop: false,
        },
        times: Some(1),
    });
    env.apply(&pool("pool-5xx", json!({}))).await;
    env.wait_for::<ResourcePool>("pool-5xx", T, "Ready", ready).await;
    assert_eq!(env.cloud.pool_count(PROJECT), 1);
    assert_eq!(env.calls("POST", CREATE), 1);
}

#[tokio::test]
async fn a_console_scale_and_a_removed_tag_are_corrected_by_the_drift_poller() {
    let env = env().await;
    env.apply(&pool("pool-drift", json!({"spec": {"tags": {"team": "ml"}}})))
        .await;
    let id = cloud_id(
        &env.wait_for::<ResourcePool>("pool-drift", T, "Ready", ready)
            .await,
    );
    env.cloud
        .set_pool_node_count(PROJECT, &id, CPU_FLAVOR, 3)
        .expect("console scale");
    env.cloud
        .remove_tags(PROJECT, Kind::Pool, &id, &["team"])
        .expect("console untag");
    // Nothing changes in Kubernetes: only the cloud-side poll can notice.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let cloud = cloud_pool(&env, &id).await.expect("exists");
        let tags = cloud_tags(&env, &id).await;
        let p = env.api::<ResourcePool>().get("pool-drift").await.expect("get");
        let settled = p
            .status
            .as_ref()
            .is_some_and(|s| counts(s, CPU_FLAVOR) == (1, 0, 0, 0));
        if cloud["spec"]["resources"][0]["count"] == 1
            && tags.get("team").map(String::as_str) == Some("ml")
            && ready(&p)
            && settled
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "drift not corrected: count {}, tags {tags:?}",
            cloud["spec"]["resources"][0]["count"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(env.calls("PATCH", PATCH) >= 1, "scaled back by a patch");
}

#[tokio::test]
async fn a_scale_refused_while_the_pool_is_abnormal_waits_until_the_pool_is_running_again() {
    let env = env().await;
    env.apply(&pool("pool-refused", json!({}))).await;
    let id = cloud_id(
        &env.wait_for::<ResourcePool>("pool-refused", T, "Ready", ready)
            .await,
    );
    env.cloud
        .set_status(PROJECT, Kind::Pool, &id, "Abnormal")
        .expect("node fault");
    env.wait_for::<ResourcePool>("pool-refused", T, "Abnormal seen", |p| {
        p.status.as_ref().and_then(|s| s.cloud.cloud_state.as_deref()) == Some("Abnormal")
    })
    .await;
    env.merge_patch::<ResourcePool>(
        "pool-refused",
        json!({"spec": {"resources": [{"flavor": CPU_FLAVOR, "count": 2}]}}),
    )
    .await;
    let p = env
        .wait_for::<ResourcePool>("pool-refused", T, "UpdateRefused", |p| {
            cond(p, "Synced").is_some_and(|(s, r, _)| s == "False" && r == "UpdateRefused")
        })
        .await;
    let (_, _, message) = cond(&p, "Synced").expect("Synced");
    assert!(
        message.contains("Abnormal") && message.contains(&id),
        "says what was refused and why: {message}"
    );
    let attempts = env.calls("PATCH", PATCH);
    // Several drift polls (2 s apart) see the pool still Abnormal: no retry.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        env.calls("PATCH", PATCH),
        attempts,
        "not retried while nothing changed"
    );

    env.cloud
        .set_status(PROJECT, Kind::Pool, &id, "Running")
        .expect("fault repaired");
    let p = env
        .wait_for::<ResourcePool>("pool-refused", T, "scaled once Running", |p| {
            ready(p) && p.status.as_ref().is_some_and(|s| s.available_nodes == Some(2))
        })
        .await;
    assert_eq!(
        env.calls("PATCH", PATCH),
        attempts + 1,
        "retried once, and it worked"
    );
    assert_eq!(p.status.expect("status").desired_nodes, Some(2));
}

#[tokio::test]
async fn a_yearly_monthly_pool_is_refused_with_a_terminal_condition_and_never_created() {
    let env = env().await;
    let mut p = pool("pool-prepaid", json!({}));
    p.metadata.annotations = Some([("os.modelarts/billing.mode".to_string(), "1".to_string())].into());
    env.apply(&p).await;
    let p = env
        .wait_for::<ResourcePool>("pool-prepaid", T, "InvalidSpec", |p| {
            cond(p, "Ready").is_some_and(|(s, r, _)| s == "False" && r == "InvalidSpec")
        })
        .await;
    let (_, _, message) = cond(&p, "Ready").expect("Ready");
    assert!(
        message.contains("yearly/monthly") && message.contains("pay-per-use"),
        "says why: {message}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(env.calls("POST", CREATE), 0, "nothing created");
    // Deleting the object is not blocked: nothing was created.
    env.delete::<ResourcePool>("pool-prepaid").await;
    env.wait_gone::<ResourcePool>("pool-prepaid", T).await;
}

#[tokio::test]
async fn an_adopted_yearly_monthly_pool_is_not_claimed_and_its_delete_is_refused() {
    let env = env().await;
    env.apply(&pool("pool-src", json!({"spec": {"deletionPolicy": "Retain"}})))
        .await;
    let id = cloud_id(&env.wait_for::<ResourcePool>("pool-src", T, "Ready", ready).await);
    env.delete::<ResourcePool>("pool-src").await;
    env.wait_gone::<ResourcePool>("pool-src", T).await;
    // Someone converts the pool to yearly/monthly billing in the console.
    let url = format!("{}/v2/{PROJECT}/pools/{id}", env.cloud.base_url());
    let resp = reqwest::Client::new()
        .patch(url)
        .header("X-Auth-Token", "e2e-token")
        .header("Content-Type", "application/merge-patch+json")
        .body(r#"{"metadata":{"annotations":{"os.modelarts/billing.mode":"1"}}}"#)
        .send()
        .await
        .expect("emulator reachable");
    assert!(
        resp.status().is_success(),
        "console conversion: {}",
        resp.status()
    );

    env.apply(&pool("pool-adopt-prepaid", json!({"spec": {"resourceId": id}})))
        .await;
    let p = env
        .wait_for::<ResourcePool>("pool-adopt-prepaid", T, "Unsupported", |p| {
            cond(p, "Ready").is_some_and(|(s, r, _)| s == "False" && r == "Unsupported")
        })
        .await;
    let (_, _, message) = cond(&p, "Ready").expect("Ready");
    assert!(message.contains("ObserveOnly"), "says what to do: {message}");
    assert!(
        !cloud_tags(&env, &id).await.contains_key(OWNER_TAG),
        "not claimed"
    );

    env.delete::<ResourcePool>("pool-adopt-prepaid").await;
    env.wait_for::<ResourcePool>("pool-adopt-prepaid", T, "delete refused", |p| {
        cond(p, "Synced").is_some_and(|(_, r, m)| r == "Unsupported" && m.contains("Retain"))
    })
    .await;
    assert!(cloud_pool(&env, &id).await.is_some(), "the pool is kept");
    assert_eq!(env.calls("DELETE", PATCH), 0, "no delete sent");
    // Switching to Retain lets the object go and keeps the pool.
    env.merge_patch::<ResourcePool>(
        "pool-adopt-prepaid",
        json!({"spec": {"deletionPolicy": "Retain"}}),
    )
    .await;
    env.wait_gone::<ResourcePool>("pool-adopt-prepaid", T).await;
    assert!(cloud_pool(&env, &id).await.is_some(), "still kept");
}
