"""Resource pool, network and resource-flavor conformance with the official SDK."""

import json

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkmodelarts.v1 import *  # noqa: F403

from emulator_support import OTHER_PROJECT_ID, PROJECT_ID, client, emu, emulator, wait_for  # noqa: F401

GPU = "modelarts.vm.gpu.tnt004"
DEFAULT_NETWORK = "network-default-0000"


def create_pool(client, name="train-pool", count=1, network=DEFAULT_NETWORK):
    body = CreatePoolRequestBody(
        api_version="v2", kind="Pool",
        metadata=PoolMetadataCreation(labels=PoolLabelsCreation(os_modelarts_name=name, os_modelarts_workspace_id="0"),
                                      annotations=PoolAnnotationsCreation(os_modelarts_description="pytest")),
        spec=PoolSpecCreation(type="Dedicate", scope=["Train", "Infer"],
                              resources=[PoolResourceFlavor(flavor=GPU, count=count, max_count=count)],
                              network=PoolSpecCreationNetwork(name=network)))
    return client.create_pool(CreatePoolRequest(body=body))


def show(client, name):
    return client.show_pool(ShowPoolRequest(pool_name=name))


def test_pool_create_show_list_and_phases(client):
    p = create_pool(client)
    name = p.metadata.name
    assert name.startswith("pool-") and 36 <= len(name) <= 63
    assert p.status.phase == "Creating" and p.kind == "Pool" and p.api_version == "v2"
    assert p.metadata.labels.os_modelarts_name == "train-pool"
    assert p.spec.resources[0].flavor == GPU and p.spec.network.name == DEFAULT_NETWORK
    running = wait_for(lambda: show(client, name), lambda r: r.status.phase == "Running")
    assert running.metadata.creation_timestamp.endswith("Z")
    listed = client.list_pools(ListPoolsRequest(label_selector="os.modelarts/name=train-pool", status="created"))
    assert listed.kind == "PoolList" and [i.metadata.name for i in listed.items] == [name]
    assert client.list_pools(ListPoolsRequest(label_selector="os.modelarts/name=other")).items == []


def test_scaling_through_patch_is_reflected_in_node_lists(client):
    name = create_pool(client, count=1).metadata.name
    wait_for(lambda: show(client, name), lambda r: r.status.phase == "Running")
    patched = client.patch_pool(PatchPoolRequest(pool_name=name, body=PoolUpdateRequest(
        spec=PoolSpecUpdate(resources=[PoolSpecUpdateResources(flavor=GPU, count=3)]))))
    assert patched.spec.resources[0].count == 3
    nodes = wait_for(lambda: client.list_pool_nodes(ListPoolNodesRequest(pool_name=name, limit=2)),
                     lambda r: all(n.status.phase == "Available" for n in r.items))
    assert len(nodes.items) == 2 and nodes.metadata.remaining_item_count == 1
    rest = client.list_pool_nodes(ListPoolNodesRequest(pool_name=name, limit=2, _continue=nodes.metadata._continue))
    assert len(rest.items) == 1 and not rest.metadata._continue
    node = nodes.items[0]
    assert node.spec.flavor == GPU and node.status.private_ip and node.metadata.name
    one = client.show_pool_node(ShowPoolNodeRequest(pool_name=name, node_name=node.metadata.name))
    assert one.metadata.name == node.metadata.name and one.status.phase == "Available"
    client.batch_delete_pool_nodes(BatchDeletePoolNodesRequest(pool_name=name, body=NodesDeletionRequest(
        delete_node_names=[node.metadata.name])))
    remaining = wait_for(lambda: client.list_pool_nodes(ListPoolNodesRequest(pool_name=name)), lambda r: len(r.items) == 2)
    assert node.metadata.name not in [n.metadata.name for n in remaining.items]
    assert show(client, name).spec.resources[0].count == 2


def test_merge_patch_content_type_is_accepted(emu, client):
    name = create_pool(client).metadata.name
    wait_for(lambda: show(client, name), lambda r: r.status.phase == "Running")
    req = PatchPoolRequest(pool_name=name, body=PoolUpdateRequest(
        metadata=PoolMetadataUpdate(annotations=PoolMetadataUpdateAnnotations(os_modelarts_description="merged"))))
    # The SDK sends application/json; the documented type is merge-patch. Send both.
    http_info = client._patch_pool_http_info(req)
    http_info["header_params"]["Content-Type"] = "application/merge-patch+json"
    resp = client._call_api(**http_info)
    assert resp.metadata.annotations.os_modelarts_description == "merged"


def test_patching_a_pool_that_is_not_running_is_refused(emu, client):
    name = create_pool(client).metadata.name
    emu.ctl("POST", f"/projects/{PROJECT_ID}/pools/{name}/status", {"status": "Abnormal"})
    with pytest.raises(ClientRequestException) as e:
        client.patch_pool(PatchPoolRequest(pool_name=name, body=PoolUpdateRequest(
            spec=PoolSpecUpdate(resources=[PoolSpecUpdateResources(flavor=GPU, count=2)]))))
    assert e.value.status_code == 400


def test_delete_goes_through_deleting_to_not_found(client):
    name = create_pool(client).metadata.name
    wait_for(lambda: show(client, name), lambda r: r.status.phase == "Running")
    d = client.delete_pool(DeletePoolRequest(pool_name=name))
    assert d.status.phase == "Deleting"
    with pytest.raises(ClientRequestException) as e:
        wait_for(lambda: show(client, name), lambda r: False, tries=3)
    assert e.value.status_code == 404


def test_pool_tags_show_create_delete_aggregate(client):
    name = create_pool(client).metadata.name
    created = client.batch_create_pool_tags(BatchCreatePoolTagsRequest(pool_name=name, body=CreateTagRequest(
        tags=[Tag(key="env", value="dev"), Tag(key="owner", value="uid-1")])))
    assert sorted(t.key for t in created.tags) == ["env", "owner"]
    client.batch_delete_pool_tags(BatchDeletePoolTagsRequest(pool_name=name, body=DeleteTagRequest(
        tags=[DeleteTagItem(key="env")])))
    shown = client.show_pool_tags(ShowPoolTagsRequest(pool_name=name))
    assert [(t.key, t.values) for t in shown.tags] == [("owner", ["uid-1"])]
    agg = client.list_pool_tags(ListPoolTagsRequest(limit=200, offset=0))
    assert [(t.key, t.values) for t in agg.tags] == [("owner", ["uid-1"])]


def test_the_tag_filter_api_of_the_seed(emu, client):
    name = create_pool(client, name="filtered").metadata.name
    client.batch_create_pool_tags(BatchCreatePoolTagsRequest(pool_name=name, body=CreateTagRequest(
        tags=[Tag(key="team", value="ml")])))
    for path in ("/pools/", "/modelarts-pool/"):
        url = f"/v1/{{project_id}}{path}resource-instances/filter"
        body = {"tags": [{"key": "team", "values": ["ml"]}], "matches": [{"key": "resource_name", "value": "FILT"}]}
        # Not in the SDK: call it through the SDK's signer with a raw request.
        http_info = {"method": "POST", "resource_path": url, "response_type": "BatchDeletePoolNodesResponse", "path_params": {},
                     "query_params": [("limit", 10)], "header_params": {"Content-Type": "application/json"},
                     "body": body, "post_params": {}, "cname": None, "collection_formats": {},
                     "request_type": "object"}
        resp = client._call_api(**http_info)
        data = json.loads(resp.raw_content)  # an empty SDK model keeps the raw body
        assert data["total_count"] == 1 and data["resources"][0]["resource_id"] == name


def test_networks_create_list_show_delete(client):
    net = client.create_network(CreateNetworkRequest(body=NetworkCreationRequest(
        api_version="v1", kind="Network",
        metadata=NetworkMetadataCreation(labels=NetworkMetadataLabels(os_modelarts_name="net-a", os_modelarts_workspace_id="0")),
        spec=NetworkSpec(cidr="172.16.0.0/12"))))
    name = net.metadata.name
    assert net.status.phase == "Creating" and net.spec.cidr == "172.16.0.0/12"
    assert wait_for(lambda: client.show_network(ShowNetworkRequest(network_name=name)),
                    lambda r: r.status.phase == "Active").metadata.labels.os_modelarts_name == "net-a"
    listed = client.list_networks(ListNetworksRequest())
    assert {DEFAULT_NETWORK, name} <= {n.metadata.name for n in listed.items}
    pool = create_pool(client, network=name).metadata.name
    with pytest.raises(ClientRequestException) as e:
        client.delete_network(DeleteNetworkRequest(network_name=name))
    assert e.value.status_code == 400
    wait_for(lambda: show(client, pool), lambda r: r.status.phase == "Running")
    client.delete_pool(DeletePoolRequest(pool_name=pool))
    with pytest.raises(ClientRequestException):
        wait_for(lambda: show(client, pool), lambda r: False, tries=3)
    client.delete_network(DeleteNetworkRequest(network_name=name))
    with pytest.raises(ClientRequestException) as e:
        client.show_network(ShowNetworkRequest(network_name=name))
    assert e.value.status_code == 404


def test_unknown_network_or_flavor_is_refused(client):
    with pytest.raises(ClientRequestException) as e:
        create_pool(client, network="network-nope")
    assert e.value.error_code == "ModelArts.0104" and "spec.network.name" in e.value.error_msg
    body = CreatePoolRequestBody(
        api_version="v2", kind="Pool", metadata=PoolMetadataCreation(labels=PoolLabelsCreation(os_modelarts_name="x")),
        spec=PoolSpecCreation(type="Dedicate", scope=["Train"], resources=[PoolResourceFlavor(flavor="nope", count=1)],
                              network=PoolSpecCreationNetwork(name=DEFAULT_NETWORK)))
    with pytest.raises(ClientRequestException) as e:
        client.create_pool(CreatePoolRequest(body=body))
    assert "spec.resources[0].flavor" in e.value.error_msg


def test_resource_flavors(client):
    flavors = client.list_resource_flavors(ListResourceFlavorsRequest(limit=2))
    assert flavors.kind == "ResourceFlavorList" and len(flavors.items) == 2
    assert flavors.metadata.remaining_item_count > 0
    f = flavors.items[0]
    assert f.metadata.name and f.spec.cpu and f.spec.memory.endswith("Gi") and f.spec.type in ("Dedicate", "Logical")


def test_another_projects_pool_is_not_found(emu, client):
    name = create_pool(client).metadata.name
    with pytest.raises(ClientRequestException) as e:
        emu.client(project_id=OTHER_PROJECT_ID).show_pool(ShowPoolRequest(pool_name=name))
    assert e.value.status_code == 404
