//! LiteServer e2e helpers shared by `lite_server_e2e.rs` and `lite_server_supernode_e2e.rs`:
//! manifest builders, conditions, and ModelArts reads through the emulator's own HTTP API.
#![allow(dead_code)]

use crate::support::{self, Env, condition};
use modelarts_emulator::DEFAULT_PROJECT_ID as PROJECT;
use modelarts_operator::api::lite_server::LiteServer;
use serde_json::{Value, json};
use std::time::Duration;

pub const T: Duration = Duration::from_secs(30);
pub const ECS_IMAGE: &str = "0b9c8d7e-6f5a-4b3c-9d2e-1f0a9b8c7d6e";
pub const ECS_IMAGE_2: &str = "3c7e5a1b-9d2f-4e8a-b6c4-7f1e2d3a5b90";
pub const HPS_IMAGE: &str = "c4d3e2f1-a0b9-4c8d-8e7f-6a5b4c3d2e1f";
pub const HPS_FLAVOR: &str = "modelarts.hps.npu.arm.snt9c.x4";
pub const UUID: &str = "3c1d5f7e-9a2b-4c6d-8e0f-1a2b3c4d5e6f";
pub const PASSWORD: &str = "Dev-Box-2026!";

pub fn network() -> Value {
    json!({"vpcId": UUID, "subnetId": UUID, "securityGroupId": UUID})
}

pub fn lite_server(name: &str, spec: Value) -> LiteServer {
    let mut base = json!({
        "apiVersion": "modelarts.operator.dev/v1alpha1",
        "kind": "LiteServer",
        "metadata": {"name": name, "namespace": support::NS},
        "spec": {
            "serverType": "ECS",
            "flavor": "modelarts.ecs.gpu.t4.8u32g",
            "image": {"id": ECS_IMAGE},
            "network": network(),
            "login": {"keyPairName": "kp-1"},
        }
    });
    for (k, v) in spec.as_object().cloned().unwrap_or_default() {
        base["spec"][k] = v;
    }
    serde_json::from_value(base).expect("valid LiteServer")
}

pub fn supernode(name: &str, spec: Value) -> LiteServer {
    let mut base = json!({
        "serverType": "HPS", "flavor": HPS_FLAVOR, "image": {"id": HPS_IMAGE}, "arch": "ARM",
        "hpsClusterId": UUID,
    });
    for (k, v) in spec.as_object().cloned().unwrap_or_default() {
        base[k] = v;
    }
    lite_server(name, base)
}

pub fn ready(ls: &LiteServer) -> bool {
    ls.status
        .as_ref()
        .and_then(|s| condition(&s.cloud.conditions, "Ready"))
        .is_some_and(|c| c.status == "True" && c.observed_generation == ls.metadata.generation)
}

pub fn cloud_id(ls: &LiteServer) -> String {
    ls.status
        .as_ref()
        .and_then(|s| s.cloud.cloud_id.clone())
        .expect("cloud ID recorded")
}

pub fn state(ls: &LiteServer) -> Option<&str> {
    ls.status.as_ref().and_then(|s| s.cloud.cloud_state.as_deref())
}

pub fn now() -> String {
    jiff::Timestamp::now().to_string()
}

pub async fn env() -> Env {
    let env = Env::start().await;
    env.cloud.add_auth_token("e2e-token");
    env
}

/// A ModelArts call through the emulator's own HTTP API (token auth), as a console or SDK would.
pub async fn cloud(env: &Env, method: reqwest::Method, path: &str, body: Option<Value>) -> Option<Value> {
    let url = format!("{}/v1/{PROJECT}/{path}", env.cloud.base_url());
    let mut request = reqwest::Client::new()
        .request(method, url)
        .header("X-Auth-Token", "e2e-token");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let resp = request.send().await.expect("emulator reachable");
    if resp.status().is_success() {
        Some(resp.json().await.expect("JSON"))
    } else {
        None
    }
}

pub async fn server(env: &Env, id: &str) -> Option<Value> {
    cloud(env, reqwest::Method::GET, &format!("dev-servers/{id}"), None).await
}

pub async fn supernode_tags(env: &Env, id: &str) -> Vec<(String, String)> {
    let tags = cloud(
        env,
        reqwest::Method::GET,
        &format!("dev-servers/hyperinstance/{id}/tags"),
        None,
    )
    .await
    .expect("supernode exists");
    let mut tags: Vec<(String, String)> = tags["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap_or("").into(),
                t["value"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    tags.sort();
    tags
}

/// An ECS server created and Ready; returns its cloud ID.
pub async fn ready_server(env: &Env, name: &str, spec: Value) -> String {
    env.apply(&lite_server(name, spec)).await;
    let ls = env.wait_for::<LiteServer>(name, T, "Ready", ready).await;
    cloud_id(&ls)
}
