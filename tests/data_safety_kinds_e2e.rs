//! Deletion waits for the truth, for every kind: with eventually consistent reads on, an object
//! deleted right after its create was sent leaves no cloud resource behind.
#[path = "support/lite_server.rs"]
mod lite;
#[path = "pool_support/mod.rs"]
mod pools;
mod support;

use kube::Resource;
use modelarts_emulator::{DEFAULT_PROJECT_ID as PROJECT, Family, Kind};
use modelarts_operator::api::lite_server::LiteServer;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};
use std::{fmt::Debug, time::Duration};
use support::Env;

const T: Duration = Duration::from_secs(40);

/// True unless the resource is deleted or being deleted.
fn live(v: &Value) -> bool {
    let state = v["status"]
        .as_str()
        .or(v["status"]["phase"].as_str())
        .unwrap_or_default()
        .to_ascii_uppercase();
    !matches!(
        state.as_str(),
        "DELETED" | "DELETING" | "TERMINATED" | "TERMINATING"
    ) && v["metadata"]["deletionTimestamp"].is_null()
}

async fn delete_right_after_create<K>(env: &Env, obj: K, create_path: &str, kind: Kind)
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned,
{
    let name = obj.meta().name.clone().expect("name");
    env.apply(&obj).await;
    let deadline = tokio::time::Instant::now() + T;
    while env.calls("POST", create_path) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no create sent");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    env.delete::<K>(&name).await;
    env.wait_gone::<K>(&name, T).await;
    let left: Vec<Value> = env.cloud.list(PROJECT, kind).into_iter().filter(live).collect();
    assert!(left.is_empty(), "leaked: {left:#?}");
    assert_eq!(env.calls("POST", create_path), 1, "one create");
}

#[tokio::test]
async fn a_pool_deleted_right_after_its_create_was_sent_leaves_nothing_behind() {
    let env = pools::env().await;
    env.cloud.set_eventual_consistency(Family::Pools, 6);
    delete_right_after_create(
        &env,
        pools::pool("pool-quick", json!({})),
        "/v2/{project_id}/pools",
        Kind::Pool,
    )
    .await;
}

#[tokio::test]
async fn an_ecs_server_deleted_right_after_its_create_was_sent_leaves_nothing_behind() {
    let env = lite::env().await;
    env.cloud.set_eventual_consistency(Family::Servers, 6);
    delete_right_after_create::<LiteServer>(
        &env,
        lite::lite_server("ecs-quick", json!({})),
        "/v1/{project_id}/dev-servers",
        Kind::Server,
    )
    .await;
}

#[tokio::test]
async fn a_supernode_deleted_right_after_its_create_was_sent_leaves_nothing_behind() {
    let env = lite::env().await;
    env.cloud.set_eventual_consistency(Family::Servers, 6);
    delete_right_after_create::<LiteServer>(
        &env,
        lite::supernode(
            "hps-quick",
            json!({"nodes": [{"flavor": lite::HPS_FLAVOR, "count": 2}]}),
        ),
        "/v1/{project_id}/dev-servers",
        Kind::Hyperinstance,
    )
    .await;
}
