"""Lite Server (dev-server) and supernode (hyperinstance) conformance with the official SDK."""

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkmodelarts.v1 import *  # noqa: F403

from emulator_support import OTHER_PROJECT_ID, PROJECT_ID, client, emu, emulator, wait_for  # noqa: F401

UUID = "3c1d5f7e-9a2b-4c6d-8e0f-1a2b3c4d5e6f"
BMS_IMAGE = "8a1f2e3d-4c5b-4a69-8e7f-1a2b3c4d5e6f"
HPS_IMAGE = "c4d3e2f1-a0b9-4c8d-8e7f-6a5b4c3d2e1f"
HPS_FLAVOR = "modelarts.hps.npu.arm.snt9c.x4"
NETWORK = ServerNetwork(vpc_id=UUID, subnet_id=UUID, security_group_id=UUID)


def create(client, name="gpu-box", **extra):
    body = ServerCreateRequest(name=name, image_id=BMS_IMAGE, flavor="modelarts.bm.gpu.8ant8", key_pair_name="kp",
                               network=NETWORK, root_volume=EvsVolume(size=200, type="SSD"), **extra)
    return client.create_dev_server(CreateDevServerRequest(body=body))


def show(client, sid):
    return client.show_dev_server(ShowDevServerRequest(id=sid))


def status_is(client, sid, status):
    return wait_for(lambda: show(client, sid), lambda r: r.status == status)


def test_create_show_list_and_sdk_fields(client):
    s = create(client, charging_info=ChargingInfo(charging_mode="POST_PAID", period_num=1, period_type="MONTH"))
    assert s.status == "CREATING" and s.name == "gpu-box" and s.flavor == "modelarts.bm.gpu.8ant8"
    assert s.cloud_server.type == "BMS" and s.image.image_id == BMS_IMAGE and s.category == "SERVER"
    assert [v.type for v in s.volumes] == ["ROOT"] and s.volumes[0].size == 200
    status_is(client, s.id, "RUNNING")
    listed = client.list_dev_servers(ListDevServersRequest(limit=10, offset=0, sort_key="createTime", sort_dir="ASC"))
    assert listed.total == 1 and listed.data[0].id == s.id
    assert client.list_all_dev_servers(ListAllDevServersRequest()).total == 1
    assert client.sync_dev_servers(SyncDevServersRequest()).data[0].status == "RUNNING"


def test_the_server_state_machine(client):
    s = create(client)
    status_is(client, s.id, "RUNNING")
    with pytest.raises(ClientRequestException) as e:
        client.start_dev_server(StartDevServerRequest(id=s.id, body=ServerStartRequest()))
    assert e.value.status_code == 400
    with pytest.raises(ClientRequestException) as e:
        client.change_dev_server_os(ChangeDevServerOSRequest(id=s.id, body=ServerOsRequest(image_id=BMS_IMAGE)))
    assert e.value.status_code == 400, "OS change needs a stopped server"
    assert client.reboot_dev_server(RebootDevServerRequest(id=s.id)).status == "REBOOTING"
    status_is(client, s.id, "RUNNING")
    assert client.stop_dev_server(StopDevServerRequest(id=s.id)).status == "STOPPING"
    status_is(client, s.id, "STOPPED")
    r = client.change_dev_server_os(ChangeDevServerOSRequest(id=s.id, body=ServerOsRequest(image_id=BMS_IMAGE, key_pair_name="kp")))
    assert r.status == "CHANGINGOS"
    status_is(client, s.id, "RUNNING")
    client.stop_dev_server(StopDevServerRequest(id=s.id))
    status_is(client, s.id, "STOPPED")
    assert client.reinstall_dev_server_os(ReinstallDevServerOSRequest(id=s.id, body=ServerOsRequest())).status == "REINSTALLINGOS"
    status_is(client, s.id, "RUNNING")
    assert client.update_dev_server(UpdateDevServerRequest(id=s.id, body=UpdateServerRequest(name="renamed"))).name == "renamed"
    client.stop_dev_server(StopDevServerRequest(id=s.id))
    status_is(client, s.id, "STOPPED")
    assert client.start_dev_server(StartDevServerRequest(id=s.id, body=ServerStartRequest(arch="X86"))).status == "STARTING"
    status_is(client, s.id, "RUNNING")
    assert client.delete_dev_server(DeleteDevServerRequest(id=s.id)).status == "DELETING"
    with pytest.raises(ClientRequestException) as e:
        wait_for(lambda: show(client, s.id), lambda r: False, tries=3)
    assert e.value.status_code == 404


def test_prepaid_servers_cannot_be_deleted(client):
    s = create(client, charging_info=ChargingInfo(charging_mode="PRE_PAID", period_num=1, period_type="MONTH"))
    assert s.order_id
    status_is(client, s.id, "RUNNING")
    with pytest.raises(ClientRequestException) as e:
        client.delete_dev_server(DeleteDevServerRequest(id=s.id))
    assert (e.value.status_code, e.value.error_code) == (400, "ModelArts.7003")


def test_batch_actions(client):
    a, b = create(client, name="a"), create(client, name="b")
    status_is(client, a.id, "RUNNING")
    status_is(client, b.id, "RUNNING")
    r = client.batch_dev_servers_action(BatchDevServersActionRequest(body=DevServerBatchRequest(
        type="STOP", servers=[BatchActionDevServerIds(id=a.id), BatchActionDevServerIds(id=b.id)])))
    assert [x.status for x in r.data] == ["STOPPING", "STOPPING"]


def test_validation_names_the_field(client):
    with pytest.raises(ClientRequestException) as e:
        create(client, name="bad name")
    assert e.value.error_code == "ModelArts.0104" and "'name'" in e.value.error_msg


def test_flavors_and_images(client):
    flavors = client.list_dev_server_flavors(ListDevServerFlavorsRequest(server_type="BMS"))
    assert flavors.total >= 2 and all(f.server_type == "BMS" for f in flavors.data) and flavors.data[0].specification
    images = client.list_dev_server_images(ListDevServerImagesRequest(server_type="HPS"))
    assert [i.image_id for i in images.data] == [HPS_IMAGE]
    assert client.get_dev_server_image(GetDevServerImageRequest(id=BMS_IMAGE)).arch == "X86"


def create_supernode(client):
    body = ServerCreateRequest(name="super", image_id=HPS_IMAGE, flavor=HPS_FLAVOR, server_type="HPS",
                               key_pair_name="kp", hps_cluster_id=UUID, network=NETWORK)
    first = client.create_dev_server(CreateDevServerRequest(body=body))
    assert first.category == "HPS" and first.server_hps.id
    return first.server_hps.id


def test_supernode_lifecycle_tags_and_scaling(client):
    hid = create_supernode(client)
    h = wait_for(lambda: client.get_hyperinstance(GetHyperinstanceRequest(id=hid)), lambda r: r.status == "ACTIVE")
    assert len(h.servers) == 4 and h.hps_cluster_id == UUID
    assert client.list_hyperinstances(ListHyperinstancesRequest(limit=10)).total == 1
    assert client.list_all_hyperinstances(ListAllHyperinstancesRequest()).total == 1
    wait_for(lambda: client.list_hyperinstance_servers(ListHyperinstanceServersRequest(id=hid)),
             lambda r: all(s.status == "RUNNING" for s in r.data))
    stopped = client.stop_hyperinstance(StopHyperinstanceRequest(id=hid))
    assert all(s.status == "STOPPING" for s in stopped.servers)
    wait_for(lambda: client.get_hyperinstance(GetHyperinstanceRequest(id=hid)),
             lambda r: all(s.status == "STOPPED" for s in r.servers))
    assert client.change_hyperinstance_os(ChangeHyperinstanceOSRequest(id=hid, body=ServerOsRequest(image_id=HPS_IMAGE))).status == "REIMAGING"
    wait_for(lambda: client.get_hyperinstance(GetHyperinstanceRequest(id=hid)), lambda r: r.status == "ACTIVE")
    client.stop_hyperinstance(StopHyperinstanceRequest(id=hid))
    wait_for(lambda: client.get_hyperinstance(GetHyperinstanceRequest(id=hid)),
             lambda r: all(s.status == "STOPPED" for s in r.servers))
    client.start_hyperinstance(StartHyperinstanceRequest(id=hid))

    client.create_hyperinstance_tags(CreateHyperinstanceTagsRequest(id=hid, body=TagRequest(tags=[TmsTag(key="env", value="dev")])))
    assert [(t.key, t.value) for t in client.query_hyperinstance_tags(QueryHyperinstanceTagsRequest(id=hid)).tags] == [("env", "dev")]
    client.delete_hyperinstance_tags(DeleteHyperinstanceTagsRequest(id=hid, body=TagRequest(tags=[TmsTag(key="env")])))
    assert client.query_hyperinstance_tags(QueryHyperinstanceTagsRequest(id=hid)).tags == []

    wait_for(lambda: client.get_hyperinstance(GetHyperinstanceRequest(id=hid)),
             lambda r: all(s.status == "RUNNING" for s in r.servers))
    up = client.scale_up_hyperinstance(ScaleUpHyperinstanceRequest(id=hid, body=ServerHyperScaleUpRequest(
        flavor=HPS_FLAVOR, image_id=HPS_IMAGE, key_pair_name="kp")))
    assert len(up.servers) == 5
    evals = client.get_scale_evaluations_dev_server(GetScaleEvaluationsDevServerRequest(id=hid))
    assert evals is not None
    victim = up.servers[-1].id
    down = client.scale_down_hyperinstance(ScaleDownHyperinstanceRequest(id=hid, body=ServerScaleDownRequest(server_ids=[victim])))
    assert victim not in [s.id for s in down.servers] and len(down.servers) == 4

    assert client.delete_hyperinstance(DeleteHyperinstanceRequest(id=hid)).status == "TERMINATING"
    with pytest.raises(ClientRequestException) as e:
        wait_for(lambda: client.get_hyperinstance(GetHyperinstanceRequest(id=hid)), lambda r: False, tries=3)
    assert e.value.status_code == 404


def test_another_projects_server_is_not_found(emu, client):
    s = create(client)
    with pytest.raises(ClientRequestException) as e:
        emu.client(project_id=OTHER_PROJECT_ID).show_dev_server(ShowDevServerRequest(id=s.id))
    assert e.value.status_code == 404
