//! Pools and Lite Servers over real HTTP: content types, DELETE-with-body, the seed's filter
//! path and the out-of-band pool scaling of the control API.

mod common;

use common::Client;
use modelarts_emulator::{EmulatorConfig, Kind, Progression, spawn};
use serde_json::{Value, json};

const PID: &str = modelarts_emulator::DEFAULT_PROJECT_ID;
const GPU: &str = "modelarts.vm.gpu.tnt004";

async fn started() -> (modelarts_emulator::EmulatorHandle, Client) {
    let emu = spawn(EmulatorConfig::default()).await.expect("spawn");
    emu.set_all_progression(Progression::Immediate);
    let c = Client::new(emu.addr(), PID);
    (emu, c)
}

async fn pool(c: &Client) -> String {
    let body = json!({"apiVersion": "v2", "kind": "Pool", "metadata": {"labels": {"os.modelarts/name": "p1"}},
                      "spec": {"type": "Dedicate", "scope": ["Train"], "resources": [{"flavor": GPU, "count": 1}],
                               "network": {"name": "network-default-0000"}}});
    let r = c.call("POST", "/v2/{pid}/pools", Some(body)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let name = r.body["metadata"]["name"].as_str().unwrap().to_string();
    assert_eq!(
        c.call("GET", &format!("/v2/{{pid}}/pools/{name}"), None)
            .await
            .body["status"]["phase"],
        "Running"
    );
    name
}

async fn patch_with(c: &Client, name: &str, content_type: &str, body: Value) -> (u16, Value) {
    let path = format!("/v2/{PID}/pools/{name}");
    let bytes = serde_json::to_vec(&body).unwrap();
    let mut headers = c.signed_headers("PATCH", &path, &bytes);
    // Re-sign with the wanted content type (it is a signed header).
    headers.insert("content-type", content_type.parse().unwrap());
    let mut tmp = headers.clone();
    tmp.remove("authorization");
    tmp.insert("host", c.host.parse().unwrap());
    let parts = modelarts_emulator::auth::RequestParts {
        method: "PATCH",
        path: &path,
        query: None,
        headers: &tmp,
        body: &bytes,
    };
    let auth = modelarts_emulator::auth::sign(&c.ak, &c.sk, &parts).unwrap();
    headers.insert("authorization", auth.parse().unwrap());
    let mut req = c.http.patch(format!("{}{path}", c.base)).body(bytes);
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_bytes());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn pool_patch_accepts_merge_patch_and_plain_json_but_not_other_types() {
    let (_emu, c) = started().await;
    let name = pool(&c).await;
    let scale = json!({"spec": {"resources": [{"flavor": GPU, "count": 2}]}});
    let (status, body) = patch_with(&c, &name, "application/merge-patch+json", scale).await;
    assert_eq!(status, 200, "{body:?}");
    assert_eq!(
        body["status"]["resources"]["creating"],
        json!([{"flavor": GPU, "count": 1, "maxCount": 1}])
    );
    let (status, _) = patch_with(
        &c,
        &name,
        "application/json",
        json!({"spec": {"jobFlavors": ["a"]}}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = patch_with(&c, &name, "text/plain", json!({})).await;
    assert_eq!(
        (
            status,
            body["error_msg"].as_str().map(|m| m.contains("Content-Type"))
        ),
        (400, Some(true))
    );
}

#[tokio::test]
async fn pool_tags_delete_with_a_body_and_the_seed_filter_path_is_served() {
    let (_emu, c) = started().await;
    let name = pool(&c).await;
    let tags = json!({"tags": [{"key": "team", "value": "ml"}, {"key": "env", "value": "dev"}]});
    assert_eq!(
        c.call(
            "POST",
            &format!("/v1/{{pid}}/pools/{name}/tags/create"),
            Some(tags)
        )
        .await
        .status,
        200
    );
    let r = c
        .call(
            "DELETE",
            &format!("/v1/{{pid}}/pools/{name}/tags/delete"),
            Some(json!({"tags": [{"key": "env"}]})),
        )
        .await;
    assert_eq!(r.body, json!({"tags": [{"key": "team", "values": ["ml"]}]}));
    let filter = json!({"tags": [{"key": "team", "values": ["ml"]}], "offset": "0", "limit": "10"});
    for path in [
        "/v1/{pid}/pools/resource-instances/filter",
        "/v1/{pid}/modelarts-pool/resource-instances/filter",
    ] {
        let r = c.call("POST", path, Some(filter.clone())).await;
        assert_eq!(
            (r.status, r.body["total_count"].as_u64()),
            (200, Some(1)),
            "{path}"
        );
    }
}

#[tokio::test]
async fn console_scaling_of_a_pool_shows_up_in_its_node_list() {
    let (emu, c) = started().await;
    let name = pool(&c).await;
    emu.set_pool_node_count(PID, &name, GPU, 3).unwrap();
    let r = c
        .call("GET", &format!("/v2/{{pid}}/pools/{name}/nodes"), None)
        .await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 3);
    emu.set_status(PID, Kind::Pool, &name, "Abnormal").unwrap();
    let r = c
        .call(
            "PATCH",
            &format!("/v2/{{pid}}/pools/{name}"),
            Some(json!({"spec": {"jobFlavors": []}})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error_code"].as_str()),
        (400, Some("ModelArts.50015002"))
    );
    emu.delete_resource(PID, Kind::Pool, &name).unwrap();
    assert_eq!(
        c.call("GET", &format!("/v2/{{pid}}/pools/{name}"), None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn dev_server_actions_are_put_and_control_edits_reach_servers() {
    let (emu, c) = started().await;
    let uuid = "3c1d5f7e-9a2b-4c6d-8e0f-1a2b3c4d5e6f";
    let body = json!({"name": "box", "image_id": "8a1f2e3d-4c5b-4a69-8e7f-1a2b3c4d5e6f", "flavor": "modelarts.bm.gpu.8ant8",
                      "key_pair_name": "kp", "network": {"vpc_id": uuid, "subnet_id": uuid, "security_group_id": uuid}});
    let id = c.call("POST", "/v1/{pid}/dev-servers", Some(body)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/v1/{{pid}}/dev-servers/{id}");
    assert_eq!(c.call("GET", &path, None).await.body["status"], "RUNNING");
    let r = c.call("POST", &format!("{path}/stop"), None).await;
    assert_eq!(
        (r.status, r.body["error_code"].as_str()),
        (404, Some("APIGW.0101")),
        "stop is a PUT"
    );
    assert_eq!(
        c.call("PUT", &format!("{path}/stop"), None).await.body["status"],
        "STOPPING"
    );
    emu.console_action(PID, Kind::Server, &id, "start").unwrap();
    assert_eq!(c.call("GET", &path, None).await.body["status"], "RUNNING");
    assert!(
        emu.console_action(PID, Kind::Server, &id, "start").is_err(),
        "console start of a running server"
    );
    emu.set_status(PID, Kind::Server, &id, "ERROR").unwrap();
    assert_eq!(c.call("GET", &path, None).await.body["status"], "ERROR");
    emu.delete_resource(PID, Kind::Server, &id).unwrap();
    assert_eq!(c.call("GET", &path, None).await.status, 404);
}
