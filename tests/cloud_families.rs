//! Pool and Lite Server calls against a scripted HTTP server: exact requests per family, and
//! tolerant parsing of the response shapes of the reference.

mod cloud_support;

use std::collections::BTreeMap;

use cloud_support::{PROJECT, Server, reply};
use modelarts_operator::cloud::lite_servers::{
    ChargingInfo, CreateServerRequest, ScaleDownRequest, ServerNetwork, ServerOsRequest,
};
use modelarts_operator::cloud::pools::{
    AzCount, CreatePoolRequest, LABEL_NAME, NetworkRef, Pool, PoolFilter, PoolMetadataRequest, PoolPatch,
    PoolResourcePatch, PoolResourceRequest, PoolSpecPatch, PoolSpecRequest, TagFilter, TagFilterRequest,
    TagMatch,
};
use modelarts_operator::cloud::{ClientConfig, Credentials, ModelArtsClient, PatchContentType, Tag};
use serde_json::{Value, json};

fn ak_sk() -> Credentials {
    Credentials::ak_sk("AKTEST", "SKTEST")
}

/// The pool of reference §2.1 (comments removed), with `status.resources` given as `resources`.
fn pool_json(resources: Value) -> String {
    json!({
        "apiVersion": "v2",
        "kind": "Pool",
        "metadata": {
            "name": "pool-0123456789abcdef0123456789abcdef",
            "creationTimestamp": "2025-11-01T03:49:41Z",
            "labels": {"os.modelarts/name": "my-pool", "os.modelarts/workspace.id": "0"},
            "annotations": {"os.modelarts/description": "d", "os.modelarts/billing.mode": "0"}
        },
        "spec": {
            "type": "Dedicate",
            "scope": ["Train", "Infer", "Notebook"],
            "resources": [{
                "flavor": "modelarts.vm.gpu.tnt004", "count": 2, "maxCount": 2,
                "azs": [{"az": "cn-north-4a", "count": 2}],
                "extendParams": {"dockerBaseSize": "0"},
                "os": {"name": "EulerOS 2.5", "imageId": "i", "imageType": "private"},
                "dataVolumes": {"volumeType": "SSD", "size": "100Gi", "count": "1"},
                "volumeGroupConfigs": {"volumeGroup": "vguser1", "dockerThinPool": 0}
            }],
            "network": {"name": "net-1"},
            "containernetwork": {"mode": "overlay_l2"},
            "jobFlavors": ["f"],
            "driver": {"gpuVersion": "470", "updateStrategy": "idle"},
            "controlMode": 0
        },
        "status": {
            "phase": "Running",
            "message": "",
            "resources": resources,
            "scope": [{"scopeType": "Train", "state": "Enabled"}],
            "driver": {"gpu": {"version": "470", "state": "Running"}},
            "parent": "",
            "root": "",
            "clusters": {"name": "c", "clusterFlavor": "x", "type": "y", "version": "1"},
            "unknownFutureField": [1, 2, 3]
        }
    })
    .to_string()
}

#[test]
fn pool_status_resources_are_read_whether_objects_or_arrays() {
    let one = json!({"flavor": "f1", "count": 1, "maxCount": 1, "azs": [{"az": "a", "count": 1}], "nodePool": "np"});
    let cases = [
        (
            "a single object per state",
            json!({"available": one, "creating": one}),
        ),
        (
            "an array per state",
            json!({"available": [one], "creating": [one], "deleting": []}),
        ),
        (
            "null states",
            json!({"available": [one], "creating": one, "abnormal": null}),
        ),
    ];
    for (why, resources) in cases {
        let pool: Pool = serde_json::from_str(&pool_json(resources)).expect(why);
        assert_eq!(pool.status.resources.available.len(), 1, "{why}");
        assert_eq!(pool.status.resources.available[0].flavor, "f1", "{why}");
        assert_eq!(pool.status.resources.creating.len(), 1, "{why}");
        assert!(pool.status.resources.abnormal.is_empty(), "{why}");
        assert_eq!(
            pool.metadata.labels.get(LABEL_NAME).map(String::as_str),
            Some("my-pool")
        );
        assert_eq!(pool.spec.resources[0].max_count, Some(2));
        assert_eq!(pool.status.phase.as_deref(), Some("Running"));
    }
}

#[test]
fn a_minimal_pool_with_missing_sections_still_parses() {
    let pool: Pool = serde_json::from_str(r#"{"metadata":{"name":"p"}}"#).expect("minimal pool");
    assert_eq!(pool.metadata.name, "p");
    assert!(pool.status.resources.available.is_empty());
}

#[tokio::test]
async fn create_pool_sends_the_k8s_shaped_body_without_unset_fields() {
    let server = Server::start(vec![reply(200, &pool_json(json!({})))]).await;
    let client = server.client(ak_sk());
    let request = CreatePoolRequest::new(
        PoolMetadataRequest {
            labels: BTreeMap::from([(LABEL_NAME.to_owned(), "my-pool".to_owned())]),
            annotations: BTreeMap::new(),
        },
        PoolSpecRequest {
            pool_type: "Dedicate".into(),
            scope: vec!["Train".into()],
            resources: vec![PoolResourceRequest {
                flavor: "modelarts.vm.gpu.tnt004".into(),
                count: 2,
                ..PoolResourceRequest::default()
            }],
            network: Some(NetworkRef { name: "net-1".into() }),
            ..PoolSpecRequest::default()
        },
    );
    let pool = client.create_pool(&request).await.expect("created");
    assert_eq!(pool.metadata.name, "pool-0123456789abcdef0123456789abcdef");
    let sent = &server.requests()[0];
    assert_eq!(
        (sent.method.as_str(), sent.target.as_str()),
        ("POST", format!("/v2/{PROJECT}/pools").as_str())
    );
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(
        sent.body_json(),
        json!({
            "apiVersion": "v2", "kind": "Pool",
            "metadata": {"labels": {"os.modelarts/name": "my-pool"}},
            "spec": {"type": "Dedicate", "scope": ["Train"],
                     "resources": [{"flavor": "modelarts.vm.gpu.tnt004", "count": 2}],
                     "network": {"name": "net-1"}}
        })
    );
}

fn scale_patch() -> PoolPatch {
    PoolPatch {
        spec: Some(PoolSpecPatch {
            resources: Some(vec![PoolResourcePatch {
                flavor: "f1".into(),
                count: 3,
                azs: vec![AzCount {
                    az: "cn-north-4a".into(),
                    count: 3,
                }],
            }]),
            ..PoolSpecPatch::default()
        }),
        ..PoolPatch::default()
    }
}

#[tokio::test]
async fn patch_pool_sends_a_merge_patch_declared_as_unsigned_payload_like_the_sdk() {
    let server = Server::start(vec![reply(200, &pool_json(json!({})))]).await;
    let client = server.client(ak_sk());
    client
        .patch_pool("pool-1", &scale_patch())
        .await
        .expect("patched");
    let sent = &server.requests()[0];
    assert_eq!(sent.method, "PATCH");
    assert_eq!(sent.target, format!("/v2/{PROJECT}/pools/pool-1"));
    assert_eq!(sent.header("content-type"), Some("application/merge-patch+json"));
    assert_eq!(sent.header("x-sdk-content-sha256"), Some("UNSIGNED-PAYLOAD"));
    assert!(sent.signature_is_valid("AKTEST", "SKTEST"));
    assert_eq!(
        sent.body_json(),
        json!({"spec": {"resources": [{"flavor": "f1", "count": 3, "azs": [{"az": "cn-north-4a", "count": 3}]}]}})
    );
}

#[tokio::test]
async fn patch_pool_can_send_plain_json_as_the_sdk_does() {
    let server = Server::start(vec![reply(200, &pool_json(json!({})))]).await;
    let mut config = ClientConfig::new("cn-north-4", PROJECT).with_endpoint(&server.base);
    config.patch_content_type = PatchContentType::Json;
    let client = ModelArtsClient::new(config, ak_sk()).expect("client");
    client
        .patch_pool("pool-1", &scale_patch())
        .await
        .expect("patched");
    let sent = &server.requests()[0];
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert_eq!(sent.header("x-sdk-content-sha256"), None);
    assert!(sent.signature_is_valid("AKTEST", "SKTEST"));
}

#[tokio::test]
async fn list_pools_uses_camel_case_query_keys_and_reads_the_unpaged_list() {
    let body = json!({"apiVersion": "v2", "kind": "PoolList", "items": [{"metadata": {"name": "a"}}, {"metadata": {"name": "b"}}]});
    let server = Server::start(vec![reply(200, &body.to_string())]).await;
    let client = server.client(ak_sk());
    let filter = PoolFilter {
        workspace_id: Some("0".into()),
        label_selector: Some("os.modelarts/name=my-pool".into()),
        status: Some("created".into()),
    };
    let pools = client.list_pools(&filter).await.expect("listed");
    assert_eq!(pools.len(), 2);
    assert_eq!(
        server.requests()[0].target,
        format!(
            "/v2/{PROJECT}/pools?labelSelector=os.modelarts%2Fname%3Dmy-pool&status=created&workspaceId=0"
        )
    );
}

#[tokio::test]
async fn pool_nodes_are_listed_across_continue_pages() {
    let page1 = json!({"kind": "NodeList", "metadata": {"continue": "tok 1", "remainingItemCount": 1},
                       "items": [{"metadata": {"name": "n1"}, "spec": {"flavor": "f"}, "status": {"phase": "Available", "resources": {"cpu": "8"}}}]});
    let page2 =
        json!({"kind": "NodeList", "metadata": {"continue": ""}, "items": [{"metadata": {"name": "n2"}}]});
    let server = Server::start(vec![
        reply(200, &page1.to_string()),
        reply(200, &page2.to_string()),
    ])
    .await;
    let client = server.client(ak_sk());
    let nodes = client
        .list_all_pool_nodes("pool-1", Some(1))
        .await
        .expect("listed");
    let names: Vec<_> = nodes.iter().map(|n| n.metadata.name.as_str()).collect();
    assert_eq!(names, ["n1", "n2"]);
    let targets: Vec<_> = server.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(
        targets,
        [
            format!("/v2/{PROJECT}/pools/pool-1/nodes?limit=1"),
            format!("/v2/{PROJECT}/pools/pool-1/nodes?continue=tok%201&limit=1"),
        ]
    );
}

#[tokio::test]
async fn pool_node_batch_delete_and_tag_calls_send_the_documented_shapes() {
    let server = Server::start(vec![
        reply(200, ""),
        reply(200, "{}"),
        reply(200, r#"{"tags":[{"key":"k","values":["v"]}]}"#),
    ])
    .await;
    let client = server.client(ak_sk());
    client
        .delete_pool_nodes("pool-1", &["n1".into(), "n2".into()])
        .await
        .expect("nodes deleted");
    client
        .delete_pool_tags("pool-1", &[Tag::new("k", "v")])
        .await
        .expect("tags deleted");
    let tags = client.show_pool_tags("pool-1").await.expect("tags shown");
    assert_eq!(tags[0].values, ["v"]);
    let sent = server.requests();
    assert_eq!(
        (sent[0].method.as_str(), sent[0].target.as_str()),
        (
            "POST",
            format!("/v2/{PROJECT}/pools/pool-1/nodes/batch-delete").as_str()
        )
    );
    assert_eq!(sent[0].body_json(), json!({"deleteNodeNames": ["n1", "n2"]}));
    assert_eq!(
        (sent[1].method.as_str(), sent[1].target.as_str()),
        (
            "DELETE",
            format!("/v1/{PROJECT}/pools/pool-1/tags/delete").as_str()
        )
    );
    assert_eq!(sent[1].body_json(), json!({"tags": [{"key": "k", "value": "v"}]}));
}

#[tokio::test]
async fn the_tag_filter_api_posts_tags_and_name_matches() {
    let answer = json!({"total_count": 1, "resources": [{"resource_id": "pool-1", "resource_name": "my-pool", "resource_detail": null, "tags": [{"key": "owner", "value": "uid"}]}]});
    let server = Server::start(vec![reply(200, &answer.to_string())]).await;
    let client = server.client(ak_sk());
    let request = TagFilterRequest {
        tags: vec![TagFilter {
            key: "owner".into(),
            values: vec!["uid".into()],
        }],
        matches: vec![TagMatch {
            key: "resource_name".into(),
            value: "my".into(),
        }],
    };
    let found = client
        .filter_pools_by_tags(&request, Some(100), Some(0))
        .await
        .expect("filtered");
    assert_eq!(found.total_count, Some(1));
    assert_eq!(found.resources[0].resource_id, "pool-1");
    let sent = &server.requests()[0];
    assert_eq!(
        sent.target,
        format!("/v1/{PROJECT}/pools/resource-instances/filter?limit=100&offset=0")
    );
    assert_eq!(
        sent.body_json(),
        json!({"tags": [{"key": "owner", "values": ["uid"]}], "matches": [{"key": "resource_name", "value": "my"}]})
    );
}

const SERVER: &str = r#"{"id":"s-1","name":"srv","status":"CREATING","flavor":"f","charging_mode":"POST_PAID","cloud_server":{"id":"ecs-1","type":"BMS"},"volumes":[{"type":"ROOT","size":100,"evs_type":"SSD"}],"image":{"image_id":"i","arch":"X86"},"brand_new":true}"#;

#[tokio::test]
async fn create_server_sends_utf8_json_without_unset_fields_and_reads_the_server() {
    let server = Server::start(vec![reply(200, SERVER)]).await;
    let client = server.client(ak_sk());
    let request = CreateServerRequest {
        name: "srv".into(),
        image_id: "i".into(),
        network: ServerNetwork {
            vpc_id: "v".into(),
            subnet_id: "s".into(),
            security_group_id: "g".into(),
            ..ServerNetwork::default()
        },
        flavor: Some("f".into()),
        admin_pass: Some("Secret-Passw0rd".into()),
        charging_info: Some(ChargingInfo {
            charging_mode: "POST_PAID".into(),
            ..ChargingInfo::default()
        }),
        ..CreateServerRequest::default()
    };
    assert!(!format!("{request:?}").contains("Secret-Passw0rd"));
    let created = client.create_server(&request).await.expect("created");
    assert_eq!(
        created.cloud_server.and_then(|c| c.server_type).as_deref(),
        Some("BMS")
    );
    let sent = &server.requests()[0];
    assert_eq!(sent.target, format!("/v1/{PROJECT}/dev-servers"));
    assert_eq!(
        sent.header("content-type"),
        Some("application/json;charset=utf-8")
    );
    assert_eq!(
        sent.body_json(),
        json!({"name": "srv", "image_id": "i",
               "network": {"vpc_id": "v", "subnet_id": "s", "security_group_id": "g"},
               "flavor": "f", "admin_pass": "Secret-Passw0rd",
               "charging_info": {"charging_mode": "POST_PAID"}})
    );
}

#[tokio::test]
async fn dev_server_lifecycle_calls_use_the_sdk_methods_and_content_types() {
    let script = (0..5).map(|_| reply(200, SERVER)).collect();
    let server = Server::start(script).await;
    let client = server.client(ak_sk());
    client.start_server("s-1", None).await.expect("start");
    client.stop_server("s-1").await.expect("stop");
    client.reboot_server("s-1").await.expect("reboot");
    client.rename_server("s-1", "new").await.expect("rename");
    let os = ServerOsRequest {
        image_id: Some("img".into()),
        key_pair_name: Some("kp".into()),
        ..ServerOsRequest::default()
    };
    client.change_server_os("s-1", &os).await.expect("changeos");
    let seen: Vec<_> = server
        .requests()
        .iter()
        .map(|r| {
            (
                r.method.clone(),
                r.target.clone(),
                r.header("content-type").unwrap_or_default().to_owned(),
                String::from_utf8_lossy(&r.body).into_owned(),
            )
        })
        .collect();
    let base = format!("/v1/{PROJECT}/dev-servers/s-1");
    let utf8 = "application/json;charset=utf-8";
    let expected: Vec<(String, String, String, String)> = vec![
        ("PUT".into(), format!("{base}/start"), utf8.into(), String::new()),
        (
            "PUT".into(),
            format!("{base}/stop"),
            "application/json".into(),
            String::new(),
        ),
        (
            "PUT".into(),
            format!("{base}/reboot"),
            "application/json".into(),
            String::new(),
        ),
        (
            "PUT".into(),
            base.clone(),
            utf8.into(),
            r#"{"name":"new"}"#.into(),
        ),
        (
            "POST".into(),
            format!("{base}/changeos"),
            utf8.into(),
            r#"{"key_pair_name":"kp","image_id":"img"}"#.into(),
        ),
    ];
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn hyperinstance_calls_send_post_tag_deletes_and_scale_bodies() {
    let hyper = json!({"id": "h-1", "status": "ACTIVE", "servers": [serde_json::from_str::<Value>(SERVER).expect("json")]}).to_string();
    let children = json!({"current": 0, "pages": 1, "size": 1, "total": 1, "data": [serde_json::from_str::<Value>(SERVER).expect("json")]}).to_string();
    let server = Server::start(vec![
        reply(200, r#"{"tags":[{"key":"k","value":"v"}]}"#),
        reply(200, r#"{"tags":[{"key":"k","value":"v"}]}"#),
        reply(200, &hyper),
        reply(200, &children),
    ])
    .await;
    let client = server.client(ak_sk());
    client
        .delete_hyperinstance_tags("h-1", &[Tag::new("k", "v")])
        .await
        .expect("tags deleted");
    let tags = client.list_hyperinstance_tags("h-1").await.expect("tags listed");
    assert_eq!(tags, [Tag::new("k", "v")]);
    let scaled = client
        .scale_down_hyperinstance(
            "h-1",
            &ScaleDownRequest {
                server_ids: vec!["s-1".into()],
                ..ScaleDownRequest::default()
            },
        )
        .await
        .expect("scaled down");
    assert_eq!(scaled.servers.len(), 1);
    let page = client.list_hyperinstance_servers("h-1").await.expect("children");
    assert_eq!(page.data[0].id, "s-1");

    let sent = server.requests();
    let base = format!("/v1/{PROJECT}/dev-servers/hyperinstance/h-1");
    assert_eq!(
        (sent[0].method.as_str(), sent[0].target.clone()),
        ("POST", format!("{base}/tags/delete"))
    );
    assert_eq!(
        sent[0].header("content-type"),
        Some("application/json;charset=utf-8")
    );
    assert_eq!(
        (sent[1].method.as_str(), sent[1].target.clone()),
        ("GET", format!("{base}/tags"))
    );
    assert_eq!(
        (sent[2].method.as_str(), sent[2].target.clone()),
        ("POST", format!("{base}/live-scale-down"))
    );
    assert_eq!(sent[2].body_json(), json!({"server_ids": ["s-1"]}));
    assert_eq!(sent[3].target, format!("{base}/servers"));
}
