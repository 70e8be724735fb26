//! Shared pieces of the ResourcePool end-to-end tests: manifests, cloud reads through the
//! emulator's own HTTP API, and status accessors.
#![allow(dead_code)] // each test binary uses a different subset

use crate::support::{self, Env, IMAGE};
use modelarts_emulator::DEFAULT_PROJECT_ID as PROJECT;
use modelarts_operator::api::{
    notebook::Notebook,
    resource_pool::{ResourcePool, ResourcePoolStatus},
};
use serde_json::{Value, json};
use std::{collections::BTreeMap, time::Duration};

pub const T: Duration = Duration::from_secs(30);
/// A Dedicate flavor the emulator seeds.
pub const CPU_FLAVOR: &str = "modelarts.vm.cpu.16u64g.d";
/// The emulator's Logical flavor.
pub const LOGICAL_FLAVOR: &str = "modelarts.pool.logical.cpu.8u32g";
const TOKEN: &str = "e2e-token";

pub async fn env() -> Env {
    let env = Env::start().await;
    env.cloud.add_auth_token(TOKEN);
    env
}

fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                if v.is_null() {
                    b.remove(&k);
                } else {
                    merge(b.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (b, e) => *b = e,
    }
}

/// A one-node Dedicate pool on the emulator's default network, with `extra` merged in (a null
/// removes a field).
pub fn pool(name: &str, extra: Value) -> ResourcePool {
    let mut base = json!({
        "apiVersion": "modelarts.operator.dev/v1alpha1",
        "kind": "ResourcePool",
        "metadata": {"name": name, "namespace": support::NS},
        "spec": {
            "type": "Dedicate",
            "scope": ["Train", "Notebook"],
            "network": {"name": "network-default-0000"},
            "resources": [{"flavor": CPU_FLAVOR, "count": 1}],
        }
    });
    merge(&mut base, extra);
    serde_json::from_value(base).expect("valid ResourcePool")
}

/// A notebook that runs on the ResourcePool `pool` through `poolRef`.
pub fn notebook_on(name: &str, pool: &str) -> Notebook {
    serde_json::from_value(json!({
        "apiVersion": "modelarts.operator.dev/v1alpha1",
        "kind": "Notebook",
        "metadata": {"name": name, "namespace": support::NS},
        "spec": {
            "flavor": "modelarts.vm.cpu.2u",
            "image": {"id": IMAGE},
            "volume": {"category": "EVS", "ownership": "MANAGED", "capacity": 5},
            "poolRef": {"name": pool},
        }
    }))
    .expect("valid Notebook")
}

/// (status, reason, message) of a condition.
pub fn cond(p: &ResourcePool, t: &str) -> Option<(String, String, String)> {
    p.status
        .as_ref()
        .and_then(|s| support::condition(&s.cloud.conditions, t))
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Ready=True for the current generation.
pub fn ready(p: &ResourcePool) -> bool {
    p.status
        .as_ref()
        .and_then(|s| support::condition(&s.cloud.conditions, "Ready"))
        .is_some_and(|c| c.status == "True" && c.observed_generation == p.metadata.generation)
}

pub fn cloud_id(p: &ResourcePool) -> String {
    p.status
        .as_ref()
        .and_then(|s| s.cloud.cloud_id.clone())
        .expect("cloud ID recorded")
}

/// (available, creating, deleting, abnormal) of one flavor in status.
pub fn counts(status: &ResourcePoolStatus, flavor: &str) -> (i32, i32, i32, i32) {
    status
        .resources
        .iter()
        .find(|r| r.flavor == flavor)
        .map(|r| (r.available, r.creating, r.deleting, r.abnormal))
        .unwrap_or_default()
}

async fn get(env: &Env, path: &str) -> Option<Value> {
    let url = format!("{}{path}", env.cloud.base_url());
    let resp = reqwest::Client::new()
        .get(url)
        .header("X-Auth-Token", TOKEN)
        .send()
        .await
        .expect("emulator reachable");
    if resp.status().is_success() {
        Some(resp.json().await.expect("JSON"))
    } else {
        None
    }
}

/// The pool as ModelArts returns it; `None` once it is gone.
pub async fn cloud_pool(env: &Env, id: &str) -> Option<Value> {
    get(env, &format!("/v2/{PROJECT}/pools/{id}")).await
}

/// The pool's tags from the v1 tag API, key to value.
pub async fn cloud_tags(env: &Env, id: &str) -> BTreeMap<String, String> {
    let body = get(env, &format!("/v1/{PROJECT}/pools/{id}/tags"))
        .await
        .expect("pool tags readable");
    body["tags"]
        .as_array()
        .expect("tags array")
        .iter()
        .map(|t| {
            let key = t["key"].as_str().unwrap_or_default().to_string();
            let value = t["values"][0].as_str().unwrap_or_default().to_string();
            (key, value)
        })
        .collect()
}

pub async fn cloud_notebook(env: &Env, id: &str) -> Option<Value> {
    get(env, &format!("/v1/{PROJECT}/notebooks/{id}")).await
}
