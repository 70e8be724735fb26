//! Conformance with the official SDK: every operation the controllers use is sent once by the
//! Python SDK (`huaweicloudsdkmodelarts`) and once by this client, each to its own recording
//! server, and the two requests must agree on method, path, query, Content-Type and JSON body.
//!
//! This checks wire names (snake_case v1, camelCase v2), omitted unset fields, content types and
//! HTTP methods against an independent client rather than against our reading of the reference.
//! The one documented difference, pool PATCH's Content-Type, is compared in the SDK's mode.

mod cloud_support;

use std::collections::BTreeMap;

use cloud_support::{PROJECT, Received, Server, reply, run_sdk_script};
use modelarts_operator::cloud::lite_servers::{
    ChargingInfo, CreateServerRequest, DataVolumeRequest, RootVolume, ScaleDownRequest, ScaleUpRequest,
    ServerFilter, ServerNetwork, ServerOsRequest,
};
use modelarts_operator::cloud::notebooks::{
    CreateNotebookRequest, FlavorFilter, ImageFilter, LeaseRequest, NotebookFilter, StartOptions,
    StorageMountRequest, UpdateNotebookRequest, VolumeMount,
};
use modelarts_operator::cloud::pools::{
    AzCount, CreatePoolRequest, LABEL_NAME, LABEL_WORKSPACE, NetworkRef, PoolFilter, PoolMetadataRequest,
    PoolPatch, PoolResourcePatch, PoolResourceRequest, PoolSpecPatch, PoolSpecRequest,
};
use modelarts_operator::cloud::{
    ClientConfig, Credentials, ModelArtsClient, PageRequest, PatchContentType, RetryPolicy, Tag,
};
use serde_json::{Value, json};

const NB: &str = "nb 1";
const POOL: &str = "pool-abc";
const SRV: &str = "srv-1";
const HYPER: &str = "hyper-1";

fn m(class: &str, mut fields: Value) -> Value {
    fields["__model__"] = json!(class);
    fields
}

fn call(method: &str, request: &str, args: Value) -> Value {
    json!({"method": method, "request": request, "args": args})
}

fn tms_tags() -> Value {
    json!([m("TmsTag", json!({"key": "owner", "value": "uid-1"}))])
}

/// The SDK side, in the same order as [`run_ours`].
fn sdk_calls() -> Vec<Value> {
    let os = m(
        "ServerOsRequest",
        json!({"image_id": "img-2", "key_pair_name": "kp"}),
    );
    vec![
        call(
            "create_notebook",
            "CreateNotebookRequest",
            json!({"body": m("NotebookCreateRequest", json!({
            "name": "nb", "image_id": "img-1", "flavor": "modelarts.vm.cpu.2u", "description": "d", "workspace_id": "0",
            "volume": m("VolumeMountRequest", json!({"category": "EVS", "ownership": "MANAGED", "capacity": 5})),
            "lease": m("LeaseReq", json!({"duration": 3600000, "type": "TIMING"}))}))}),
        ),
        call("show_notebook", "ShowNotebookRequest", json!({"id": NB})),
        call(
            "list_notebooks",
            "ListNotebooksRequest",
            json!({"limit": 10, "offset": 20, "status": "RUNNING", "name": "my nb", "tags": "owner|team a,env|dev", "workspace_id": "0"}),
        ),
        call(
            "update_notebook",
            "UpdateNotebookRequest",
            json!({"id": NB, "body": m("NotebookUpdateRequest", json!({"flavor": "modelarts.vm.cpu.8u", "storage_new_size": 10}))}),
        ),
        call("delete_notebook", "DeleteNotebookRequest", json!({"id": NB})),
        call(
            "start_notebook",
            "StartNotebookRequest",
            json!({"id": NB, "duration": 7200000, "type": "IDLE"}),
        ),
        call("stop_notebook", "StopNotebookRequest", json!({"id": NB})),
        call("show_lease", "ShowLeaseRequest", json!({"id": NB})),
        call(
            "renew_lease",
            "RenewLeaseRequest",
            json!({"id": NB, "duration": 3600000, "body": m("LeaseReq", json!({"duration": 3600000, "type": "TIMING"}))}),
        ),
        call(
            "create_notebook_tags",
            "CreateNotebookTagsRequest",
            json!({"resource_id": NB, "workspace_id": "0", "body": m("CreateTmsTagsRequest", json!({"tags": tms_tags()}))}),
        ),
        call(
            "delete_notebook_tags",
            "DeleteNotebookTagsRequest",
            json!({"resource_id": NB, "workspace_id": "0", "body": m("DeleteTmsTagsRequest", json!({"tags": tms_tags()}))}),
        ),
        call(
            "attach_dynamic_storage",
            "AttachDynamicStorageRequest",
            json!({"instance_id": NB, "body": m("DataVolumesReq", json!({"category": "OBS", "mount_path": "/data/x/", "uri": "obs://b/x/"}))}),
        ),
        call(
            "list_dynamic_storages",
            "ListDynamicStoragesRequest",
            json!({"instance_id": NB}),
        ),
        call(
            "show_dynamic_storage",
            "ShowDynamicStorageRequest",
            json!({"instance_id": NB, "storage_id": "st-1"}),
        ),
        call(
            "detach_dynamic_storage",
            "DetachDynamicStorageRequest",
            json!({"instance_id": NB, "storage_id": "st-1"}),
        ),
        call(
            "list_flavors",
            "ListFlavorsRequest",
            json!({"category": "GPU", "type": "MANAGED", "limit": 50, "offset": 0}),
        ),
        call(
            "show_switchable_flavors",
            "ShowSwitchableFlavorsRequest",
            json!({"id": NB, "limit": 10, "offset": 0}),
        ),
        call(
            "list_image",
            "ListImageRequest",
            json!({"limit": 10, "offset": 0, "name": "pytorch", "name_fuzzy_match": true, "type": "BUILD_IN"}),
        ),
        call(
            "create_pool",
            "CreatePoolRequest",
            json!({"body": m("CreatePoolRequestBody", json!({
            "api_version": "v2", "kind": "Pool",
            "metadata": m("PoolMetadataCreation", json!({
                "labels": m("PoolLabelsCreation", json!({"os_modelarts_name": "my-pool", "os_modelarts_workspace_id": "0"})),
                "annotations": m("PoolAnnotationsCreation", json!({"os_modelarts_description": "d"}))})),
            "spec": m("PoolSpecCreation", json!({
                "type": "Dedicate", "scope": ["Train", "Infer"], "job_flavors": ["jf"],
                "resources": [m("PoolResourceFlavor", json!({"flavor": "f1", "count": 2, "max_count": 2}))],
                "network": m("PoolSpecCreationNetwork", json!({"name": "net-1"}))}))}))}),
        ),
        call("show_pool", "ShowPoolRequest", json!({"pool_name": POOL})),
        call(
            "list_pools",
            "ListPoolsRequest",
            json!({"workspace_id": "0", "label_selector": "os.modelarts/name=my-pool", "status": "created"}),
        ),
        call(
            "patch_pool",
            "PatchPoolRequest",
            json!({"pool_name": POOL, "body": m("PoolUpdateRequest", json!({"spec": m("PoolSpecUpdate", json!({
            "scope": ["Train"],
            "resources": [m("PoolSpecUpdateResources", json!({"flavor": "f1", "count": 3, "azs": [m("PoolNodeAz", json!({"az": "cn-north-4a", "count": 3}))]}))]}))}))}),
        ),
        call("delete_pool", "DeletePoolRequest", json!({"pool_name": POOL})),
        call(
            "show_pool_tags",
            "ShowPoolTagsRequest",
            json!({"pool_name": POOL}),
        ),
        call(
            "batch_create_pool_tags",
            "BatchCreatePoolTagsRequest",
            json!({"pool_name": POOL, "body": m("CreateTagRequest", json!({"tags": [m("Tag", json!({"key": "owner", "value": "uid-1"}))]}))}),
        ),
        call(
            "batch_delete_pool_tags",
            "BatchDeletePoolTagsRequest",
            json!({"pool_name": POOL, "body": m("DeleteTagRequest", json!({"tags": [m("DeleteTagItem", json!({"key": "owner", "value": "uid-1"}))]}))}),
        ),
        call(
            "list_pool_nodes",
            "ListPoolNodesRequest",
            json!({"pool_name": POOL, "limit": 100, "_continue": "tok 1"}),
        ),
        call(
            "batch_delete_pool_nodes",
            "BatchDeletePoolNodesRequest",
            json!({"pool_name": POOL, "body": m("NodesDeletionRequest", json!({"delete_node_names": ["n1", "n2"]}))}),
        ),
        call(
            "list_resource_flavors",
            "ListResourceFlavorsRequest",
            json!({"label_selector": "os.modelarts/scope=Train", "limit": 100, "_continue": "c"}),
        ),
        call("list_networks", "ListNetworksRequest", json!({"limit": 10})),
        call(
            "create_dev_server",
            "CreateDevServerRequest",
            json!({"body": m("ServerCreateRequest", json!({
            "name": "srv", "image_id": "img-1", "flavor": "f", "key_pair_name": "kp", "server_type": "BMS", "arch": "X86",
            "availability_zone": "cn-north-4a",
            "network": m("ServerNetwork", json!({"vpc_id": "v", "subnet_id": "s", "security_group_id": "g"})),
            "charging_info": m("ChargingInfo", json!({"charging_mode": "POST_PAID", "period_num": 1, "period_type": "MONTH"})),
            "root_volume": m("EvsVolume", json!({"size": 100, "type": "SSD"})),
            "data_volume": m("ServerDataVolume", json!({"size": 200, "type": "SSD", "count": 1}))}))}),
        ),
        call("show_dev_server", "ShowDevServerRequest", json!({"id": SRV})),
        call(
            "list_dev_servers",
            "ListDevServersRequest",
            json!({"limit": 10, "offset": 0, "sort_dir": "DESC", "sort_key": "updateTime"}),
        ),
        call(
            "update_dev_server",
            "UpdateDevServerRequest",
            json!({"id": SRV, "body": m("UpdateServerRequest", json!({"name": "new-name"}))}),
        ),
        call("delete_dev_server", "DeleteDevServerRequest", json!({"id": SRV})),
        call("start_dev_server", "StartDevServerRequest", json!({"id": SRV})),
        call("stop_dev_server", "StopDevServerRequest", json!({"id": SRV})),
        call("reboot_dev_server", "RebootDevServerRequest", json!({"id": SRV})),
        call(
            "change_dev_server_os",
            "ChangeDevServerOSRequest",
            json!({"id": SRV, "body": os.clone()}),
        ),
        call(
            "reinstall_dev_server_os",
            "ReinstallDevServerOSRequest",
            json!({"id": SRV, "body": os.clone()}),
        ),
        call(
            "get_hyperinstance",
            "GetHyperinstanceRequest",
            json!({"id": HYPER}),
        ),
        call(
            "list_hyperinstances",
            "ListHyperinstancesRequest",
            json!({"limit": 10, "offset": 0}),
        ),
        call(
            "start_hyperinstance",
            "StartHyperinstanceRequest",
            json!({"id": HYPER}),
        ),
        call(
            "stop_hyperinstance",
            "StopHyperinstanceRequest",
            json!({"id": HYPER}),
        ),
        call(
            "delete_hyperinstance",
            "DeleteHyperinstanceRequest",
            json!({"id": HYPER}),
        ),
        call(
            "query_hyperinstance_tags",
            "QueryHyperinstanceTagsRequest",
            json!({"id": HYPER}),
        ),
        call(
            "create_hyperinstance_tags",
            "CreateHyperinstanceTagsRequest",
            json!({"id": HYPER, "body": m("TagRequest", json!({"tags": tms_tags()}))}),
        ),
        call(
            "delete_hyperinstance_tags",
            "DeleteHyperinstanceTagsRequest",
            json!({"id": HYPER, "body": m("TagRequest", json!({"tags": tms_tags()}))}),
        ),
        call(
            "scale_up_hyperinstance",
            "ScaleUpHyperinstanceRequest",
            json!({"id": HYPER, "body": m("ServerHyperScaleUpRequest", json!({
            "flavor": "f", "image_id": "img-1", "key_pair_name": "kp", "userdata": "ZWNobw==",
            "root_volume": m("EvsVolume", json!({"size": 100, "type": "SSD"}))}))}),
        ),
        call(
            "scale_down_hyperinstance",
            "ScaleDownHyperinstanceRequest",
            json!({"id": HYPER, "body": m("ServerScaleDownRequest", json!({"flavor": "f", "server_ids": ["s1", "s2"]}))}),
        ),
        call(
            "list_hyperinstance_servers",
            "ListHyperinstanceServersRequest",
            json!({"id": HYPER}),
        ),
        call(
            "change_hyperinstance_os",
            "ChangeHyperinstanceOSRequest",
            json!({"id": HYPER, "body": os}),
        ),
    ]
}

/// Our side, in the same order as [`sdk_calls`]. Results are ignored: only requests matter.
async fn run_ours(c: &ModelArtsClient) {
    let tags = [Tag::new("owner", "uid-1")];
    let page = |offset, limit| PageRequest { offset, limit };
    let os = ServerOsRequest {
        image_id: Some("img-2".into()),
        key_pair_name: Some("kp".into()),
        ..ServerOsRequest::default()
    };
    let _ = c
        .create_notebook(&CreateNotebookRequest {
            name: "nb".into(),
            image_id: "img-1".into(),
            flavor: Some("modelarts.vm.cpu.2u".into()),
            description: Some("d".into()),
            workspace_id: Some("0".into()),
            volume: VolumeMount {
                category: "EVS".into(),
                ownership: "MANAGED".into(),
                capacity: Some(5),
                ..VolumeMount::default()
            },
            lease: Some(LeaseRequest {
                duration: Some(3_600_000),
                lease_type: Some("TIMING".into()),
            }),
            ..CreateNotebookRequest::default()
        })
        .await;
    let _ = c.show_notebook(NB).await;
    let filter = NotebookFilter {
        status: Some("RUNNING".into()),
        name: Some("my nb".into()),
        workspace_id: Some("0".into()),
        tags: vec![("owner".into(), "team a".into()), ("env".into(), "dev".into())],
        ..NotebookFilter::default()
    };
    let _ = c.list_notebooks(&filter, page(20, 10)).await;
    let update = UpdateNotebookRequest {
        flavor: Some("modelarts.vm.cpu.8u".into()),
        storage_new_size: Some(10),
        ..UpdateNotebookRequest::default()
    };
    let _ = c.update_notebook(NB, &update).await;
    let _ = c.delete_notebook(NB).await;
    let _ = c
        .start_notebook(
            NB,
            &StartOptions {
                duration_ms: Some(7_200_000),
                auto_stop_type: Some("IDLE".into()),
            },
        )
        .await;
    let _ = c.stop_notebook(NB).await;
    let _ = c.show_notebook_lease(NB).await;
    let lease = LeaseRequest {
        duration: Some(3_600_000),
        lease_type: Some("TIMING".into()),
    };
    let _ = c.renew_notebook_lease(NB, Some(3_600_000), &lease).await;
    let _ = c.create_notebook_tags(NB, &tags, Some("0")).await;
    let _ = c.delete_notebook_tags(NB, &tags, Some("0")).await;
    let mount = StorageMountRequest {
        category: "OBS".into(),
        mount_path: "/data/x/".into(),
        uri: "obs://b/x/".into(),
        efs_id: None,
    };
    let _ = c.mount_notebook_storage(NB, &mount).await;
    let _ = c.list_notebook_storage(NB).await;
    let _ = c.show_notebook_storage(NB, "st-1").await;
    let _ = c.unmount_notebook_storage(NB, "st-1").await;
    let flavors = FlavorFilter {
        category: Some("GPU".into()),
        flavor_class: Some("MANAGED".into()),
        ..FlavorFilter::default()
    };
    let _ = c.list_notebook_flavors(&flavors, Some(page(0, 50))).await;
    let _ = c.list_switchable_notebook_flavors(NB, Some(page(0, 10))).await;
    let images = ImageFilter {
        name: Some("pytorch".into()),
        name_fuzzy_match: Some(true),
        image_type: Some("BUILD_IN".into()),
        ..ImageFilter::default()
    };
    let _ = c.list_images(&images, page(0, 10)).await;

    let pool = CreatePoolRequest::new(
        PoolMetadataRequest {
            labels: BTreeMap::from([
                (LABEL_NAME.to_owned(), "my-pool".to_owned()),
                (LABEL_WORKSPACE.to_owned(), "0".to_owned()),
            ]),
            annotations: BTreeMap::from([("os.modelarts/description".to_owned(), "d".to_owned())]),
        },
        PoolSpecRequest {
            pool_type: "Dedicate".into(),
            scope: vec!["Train".into(), "Infer".into()],
            resources: vec![PoolResourceRequest {
                flavor: "f1".into(),
                count: 2,
                max_count: Some(2),
                ..PoolResourceRequest::default()
            }],
            network: Some(NetworkRef { name: "net-1".into() }),
            job_flavors: vec!["jf".into()],
            driver: None,
        },
    );
    let _ = c.create_pool(&pool).await;
    let _ = c.show_pool(POOL).await;
    let pools = PoolFilter {
        workspace_id: Some("0".into()),
        label_selector: Some("os.modelarts/name=my-pool".into()),
        status: Some("created".into()),
    };
    let _ = c.list_pools(&pools).await;
    let patch = PoolPatch {
        metadata: None,
        spec: Some(PoolSpecPatch {
            scope: Some(vec!["Train".into()]),
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
    };
    let _ = c.patch_pool(POOL, &patch).await;
    let _ = c.delete_pool(POOL).await;
    let _ = c.show_pool_tags(POOL).await;
    let _ = c.create_pool_tags(POOL, &tags).await;
    let _ = c.delete_pool_tags(POOL, &tags).await;
    let _ = c.list_pool_nodes(POOL, Some(100), Some("tok 1")).await;
    let _ = c.delete_pool_nodes(POOL, &["n1".into(), "n2".into()]).await;
    let _ = c
        .list_resource_flavors(Some("os.modelarts/scope=Train"), Some(100), Some("c"))
        .await;
    let _ = c.list_networks(None, Some(10), None).await;

    let server = CreateServerRequest {
        name: "srv".into(),
        image_id: "img-1".into(),
        flavor: Some("f".into()),
        key_pair_name: Some("kp".into()),
        server_type: Some("BMS".into()),
        arch: Some("X86".into()),
        availability_zone: Some("cn-north-4a".into()),
        network: ServerNetwork {
            vpc_id: "v".into(),
            subnet_id: "s".into(),
            security_group_id: "g".into(),
            ..ServerNetwork::default()
        },
        charging_info: Some(ChargingInfo {
            charging_mode: "POST_PAID".into(),
            period_num: Some(1),
            period_type: Some("MONTH".into()),
            ..ChargingInfo::default()
        }),
        root_volume: Some(RootVolume {
            size: Some(100),
            volume_type: Some("SSD".into()),
        }),
        data_volume: Some(DataVolumeRequest {
            size: 200,
            volume_type: "SSD".into(),
            count: 1,
        }),
        ..CreateServerRequest::default()
    };
    let _ = c.create_server(&server).await;
    let _ = c.show_server(SRV).await;
    let servers = ServerFilter {
        sort_dir: Some("DESC".into()),
        sort_key: Some("updateTime".into()),
        owner: None,
    };
    let _ = c.list_servers(&servers, page(0, 10)).await;
    let _ = c.rename_server(SRV, "new-name").await;
    let _ = c.delete_server(SRV).await;
    let _ = c.start_server(SRV, None).await;
    let _ = c.stop_server(SRV).await;
    let _ = c.reboot_server(SRV).await;
    let _ = c.change_server_os(SRV, &os).await;
    let _ = c.reinstall_server_os(SRV, &os).await;

    let _ = c.show_hyperinstance(HYPER).await;
    let _ = c.list_hyperinstances(&ServerFilter::default(), page(0, 10)).await;
    let _ = c.start_hyperinstance(HYPER).await;
    let _ = c.stop_hyperinstance(HYPER).await;
    let _ = c.delete_hyperinstance(HYPER).await;
    let _ = c.list_hyperinstance_tags(HYPER).await;
    let _ = c.create_hyperinstance_tags(HYPER, &tags).await;
    let _ = c.delete_hyperinstance_tags(HYPER, &tags).await;
    let up = ScaleUpRequest {
        flavor: "f".into(),
        image_id: "img-1".into(),
        key_pair_name: Some("kp".into()),
        userdata: Some("ZWNobw==".into()),
        root_volume: Some(RootVolume {
            size: Some(100),
            volume_type: Some("SSD".into()),
        }),
        data_volume: None,
    };
    let _ = c.scale_up_hyperinstance(HYPER, &up).await;
    let down = ScaleDownRequest {
        flavor: Some("f".into()),
        server_ids: vec!["s1".into(), "s2".into()],
        ..ScaleDownRequest::default()
    };
    let _ = c.scale_down_hyperinstance(HYPER, &down).await;
    let _ = c.list_hyperinstance_servers(HYPER).await;
    let _ = c.change_hyperinstance_os(HYPER, &os).await;
}

/// What must agree: method, path and query, Content-Type, JSON body (absent = null).
fn essentials(request: &Received) -> (String, String, Option<String>, Value) {
    let body = if request.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&request.body)
            .unwrap_or_else(|_| json!(String::from_utf8_lossy(&request.body)))
    };
    (
        request.method.clone(),
        request.target.clone(),
        request.header("content-type").map(str::to_owned),
        body,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_sends_the_same_request_as_the_official_sdk() {
    let ok = || reply(200, "{}");
    let sdk_server = Server::start_with_fallback(Vec::new(), ok()).await;
    let our_server = Server::start_with_fallback(Vec::new(), ok()).await;

    let calls = sdk_calls();
    let input = json!({"endpoint": sdk_server.base, "project_id": PROJECT, "ak": "AKTEST", "sk": "SKTEST", "calls": calls});
    // The SDK is blocking; keep it off the runtime threads serving its requests.
    let outcomes = tokio::task::spawn_blocking(move || run_sdk_script(&["requests"], &input))
        .await
        .expect("SDK thread");

    let mut config = ClientConfig::new("cn-north-4", PROJECT).with_endpoint(&our_server.base);
    config.patch_content_type = PatchContentType::Json;
    config.retry = RetryPolicy::none();
    let client = ModelArtsClient::new(config, Credentials::ak_sk("AKTEST", "SKTEST")).expect("client");
    run_ours(&client).await;

    let theirs = sdk_server.requests();
    let ours = our_server.requests();
    assert_eq!(
        theirs.len(),
        calls.len(),
        "the SDK sent one request per call; outcomes: {outcomes}"
    );
    assert_eq!(ours.len(), calls.len(), "we sent one request per call");
    for ((call, sdk), mine) in calls.iter().zip(&theirs).zip(&ours) {
        assert_eq!(essentials(mine), essentials(sdk), "operation {}", call["method"]);
        assert!(
            mine.signature_is_valid("AKTEST", "SKTEST"),
            "operation {}",
            call["method"]
        );
        assert!(
            sdk.signature_is_valid("AKTEST", "SKTEST"),
            "SDK request {} verifies with our verifier",
            call["method"]
        );
    }
}
