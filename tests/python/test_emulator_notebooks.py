"""Notebook conformance: the official SDK (with its own signer) against the emulator."""

import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkmodelarts.v1 import *  # noqa: F403 (the SDK's request and model classes)

from emulator_support import OTHER_PROJECT_ID, PROJECT_ID, client, emu, emulator, wait_for  # noqa: F401

CPU_IMAGE = "e1a07296-22a8-4f05-8bc8-e936c8e54090"


def create(client, name="nb-1", **extra):
    body = NotebookCreateRequest(
        name=name, image_id=CPU_IMAGE, flavor="modelarts.vm.cpu.2u", description="made by pytest",
        volume=VolumeMountRequest(category="EVS", ownership="MANAGED", capacity=10), **extra)
    return client.create_notebook(CreateNotebookRequest(body=body))


def show(client, nb_id):
    return client.show_notebook(ShowNotebookRequest(id=nb_id))


def status_is(client, nb_id, status):
    return wait_for(lambda: show(client, nb_id), lambda r: r.status == status)


def test_create_returns_a_creating_notebook_with_sdk_fields(client):
    r = create(client, lease=LeaseReq(duration=7200000, type="TIMING"))
    assert r.status == "CREATING"
    assert len(r.id) == 36 and r.name == "nb-1" and r.flavor == "modelarts.vm.cpu.2u"
    assert r.lease.duration == 7200000 and r.lease.type == "TIMING" and r.lease.enable is True
    assert r.image.id == CPU_IMAGE and r.image.swr_path.startswith("swr.cn-north-4")
    assert r.volume.category == "EVS" and r.volume.capacity == 10
    assert r.workspace_id == "0" and r.token and r.url
    assert [p.step for p in r.action_progress] == [1, 2, 3, 4]


def test_the_full_lifecycle_walks_the_documented_states(client):
    nb = create(client)
    status_is(client, nb.id, "RUNNING")
    assert client.stop_notebook(StopNotebookRequest(id=nb.id)).status == "STOPPING"
    status_is(client, nb.id, "STOPPED")
    started = client.start_notebook(StartNotebookRequest(id=nb.id, duration=3600000, type="TIMING"))
    assert started.status == "STARTING"
    status_is(client, nb.id, "RUNNING")
    client.stop_notebook(StopNotebookRequest(id=nb.id))
    status_is(client, nb.id, "STOPPED")
    assert client.delete_notebook(DeleteNotebookRequest(id=nb.id)).status == "DELETING"
    with pytest.raises(ClientRequestException) as e:
        wait_for(lambda: show(client, nb.id), lambda r: False, tries=3)
    assert e.value.status_code == 404


def test_preconditions_answer_with_documented_codes(client):
    nb = create(client)
    status_is(client, nb.id, "RUNNING")
    with pytest.raises(ClientRequestException) as e:
        client.delete_notebook(DeleteNotebookRequest(id=nb.id))
    assert (e.value.status_code, e.value.error_code) == (400, "ModelArts.6304")
    with pytest.raises(ClientRequestException) as e:
        client.start_notebook(StartNotebookRequest(id=nb.id))
    assert e.value.error_code == "ModelArts.6305"
    with pytest.raises(ClientRequestException) as e:
        client.update_notebook(UpdateNotebookRequest(id=nb.id, body=NotebookUpdateRequest(flavor="modelarts.vm.cpu.8u")))
    assert e.value.status_code == 400
    with pytest.raises(ClientRequestException) as e:
        show(client, "00000000-0000-4000-8000-000000000000")
    assert (e.value.status_code, e.value.error_code) == (404, "ModelArts.6309")


def test_validation_errors_name_the_field(client):
    with pytest.raises(ClientRequestException) as e:
        client.create_notebook(CreateNotebookRequest(body=NotebookCreateRequest(
            name="bad name", image_id=CPU_IMAGE, flavor="modelarts.vm.cpu.2u",
            volume=VolumeMountRequest(category="EVS", ownership="MANAGED"))))
    assert e.value.error_code == "ModelArts.0104" and "'name'" in e.value.error_msg


def test_update_renames_and_changes_flavor_when_stopped(client):
    nb = create(client)
    status_is(client, nb.id, "RUNNING")
    r = client.update_notebook(UpdateNotebookRequest(id=nb.id, body=NotebookUpdateRequest(name="renamed", description="d2")))
    assert (r.name, r.description) == ("renamed", "d2")
    client.stop_notebook(StopNotebookRequest(id=nb.id))
    status_is(client, nb.id, "STOPPED")
    r = client.update_notebook(UpdateNotebookRequest(id=nb.id, body=NotebookUpdateRequest(flavor="modelarts.vm.cpu.8u")))
    assert r.flavor == "modelarts.vm.cpu.8u"


def test_list_pages_and_filters(client):
    ids = [create(client, name=f"page-{i}").id for i in range(5)]
    create(client, name="other")
    page = client.list_notebooks(ListNotebooksRequest(limit=2, offset=0, name="page"))
    assert (page.total, page.pages, page.size, len(page.data)) == (5, 3, 2, 2)
    assert page.data[0].id == ids[-1], "newest first"
    client.create_notebook_tags(CreateNotebookTagsRequest(resource_id=ids[0], body=CreateTmsTagsRequest(
        tags=[TmsTag(key="owner", value="uid 1/x"), TmsTag(key="env", value="dev")])))
    tagged = client.list_notebooks(ListNotebooksRequest(tags="owner|uid 1/x,env|dev"))
    assert [n.id for n in tagged.data] == [ids[0]]
    running = client.list_all_notebooks(ListAllNotebooksRequest(status="RUNNING", limit=50))
    assert running.total == 6


def test_lease_show_and_renew(client):
    nb = create(client)
    status_is(client, nb.id, "RUNNING")
    lease = client.show_lease(ShowLeaseRequest(id=nb.id))
    assert lease.duration == 3600000 and lease.type == "TIMING"
    renewed = client.renew_lease(RenewLeaseRequest(id=nb.id, duration=3600000, body=LeaseReq(duration=3600000, type="TIMING")))
    assert renewed.duration == 7200000


def test_lease_expiry_in_emulated_time_stops_the_notebook(emu, client):
    nb = create(client)
    status_is(client, nb.id, "RUNNING")
    emu.ctl("POST", "/time/advance", {"seconds": 3601})
    status_is(client, nb.id, "STOPPED")


def test_tags_create_delete_and_aggregate(client):
    nb = create(client)
    client.create_notebook_tags(CreateNotebookTagsRequest(resource_id=nb.id, body=CreateTmsTagsRequest(
        tags=[TmsTag(key="a", value="1"), TmsTag(key="b", value="2")])))
    client.delete_notebook_tags(DeleteNotebookTagsRequest(resource_id=nb.id, body=DeleteTmsTagsRequest(
        tags=[TmsTag(key="b", value="2")])))
    assert [(t.key, t.value) for t in show(client, nb.id).tags] == [("a", "1")]
    agg = client.show_notebook_tags(ShowNotebookTagsRequest())
    assert [(t.key, t.values) for t in agg.tags] == [("a", ["1"])]


def test_dynamic_storage_mount_show_list_unmount(client):
    nb = create(client)
    status_is(client, nb.id, "RUNNING")
    m = client.attach_dynamic_storage(AttachDynamicStorageRequest(instance_id=nb.id, body=DataVolumesReq(
        category="OBS", mount_path="/data/input/", uri="obs://bucket/input/")))
    assert m.status == "MOUNTING" and m.id
    shown = client.show_dynamic_storage(ShowDynamicStorageRequest(instance_id=nb.id, storage_id=m.id))
    assert shown.status == "MOUNTED" and shown.mount_path == "/data/input/"
    listed = client.list_dynamic_storages(ListDynamicStoragesRequest(instance_id=nb.id))
    assert [d.id for d in listed.data] == [m.id]
    gone = client.detach_dynamic_storage(DetachDynamicStorageRequest(instance_id=nb.id, storage_id=m.id))
    assert gone.status == "UNMOUNTING"


def test_flavors_switchable_flavors_and_images(client):
    flavors = client.list_flavors(ListFlavorsRequest(category="CPU"))
    ids = [f.id for f in flavors.flavors]
    assert "modelarts.vm.cpu.2u" in ids and "modelarts.vm.cpu.8u" in ids
    assert flavors.flavors[0].vcpus and flavors.flavors[0].memory
    gpu = client.list_flavors(ListFlavorsRequest(category="GPU"))
    assert "modelarts.vm.gpu.t4" in [f.id for f in gpu.data]
    nb = create(client)
    switchable = client.show_switchable_flavors(ShowSwitchableFlavorsRequest(id=nb.id))
    assert "modelarts.vm.cpu.8u" in [f.id for f in switchable.flavors]
    images = client.list_image(ListImageRequest(limit=10))
    assert CPU_IMAGE in [i.id for i in images.data] and images.data[0].swr_path
    assert client.show_image(ShowImageRequest(id=CPU_IMAGE)).name.startswith("pytorch")


def test_save_as_image_snapshots_and_lists_the_new_image(client):
    nb = create(client)
    status_is(client, nb.id, "RUNNING")
    img = client.create_image(CreateImageRequest(id=nb.id, body=ImageCreateReq(name="saved-img", namespace="team", tag="v1")))
    assert img.status == "CREATING" and img.origin == "IMAGE_SAVE" and img.type == "DEDICATED"
    status_is(client, nb.id, "RUNNING")
    images = client.list_image(ListImageRequest(type="DEDICATED"))
    assert [(i.id, i.status) for i in images.data] == [(img.id, "ACTIVE")]
    assert client.show_image(ShowImageRequest(id=img.id)).swr_path.endswith("/team/saved-img:v1")


def test_a_wrongly_signed_request_is_refused(emu):
    bad = emu.client(sk="WRONG-SECRET")
    with pytest.raises(ClientRequestException) as e:
        bad.list_notebooks(ListNotebooksRequest())
    assert (e.value.status_code, e.value.error_code) == (401, "APIGW.0301")
    assert e.value.request_id


def test_another_projects_notebook_is_not_found(emu, client):
    nb = create(client)
    other = emu.client(project_id=OTHER_PROJECT_ID)
    with pytest.raises(ClientRequestException) as e:
        other.show_notebook(ShowNotebookRequest(id=nb.id))
    assert e.value.status_code == 404
    assert other.list_notebooks(ListNotebooksRequest()).total == 0


def test_injected_throttling_reaches_the_sdk_with_retry_after(emu, client):
    emu.ctl("POST", "/faults", {"method": "GET", "path": "/v1/{project_id}/notebooks", "kind": "status",
                                "status": 429, "retry_after": 2, "times": 1})
    with pytest.raises(ClientRequestException) as e:
        client.list_notebooks(ListNotebooksRequest())
    # The SDK's urllib3 retry layer turns any 429 into error_code "429" (reference 4.6).
    assert e.value.status_code == 429
    assert client.list_notebooks(ListNotebooksRequest()).total == 0, "the rule fired once"
    assert emu.ctl("GET", "/calls")["GET /v1/{project_id}/notebooks"] == 2


def test_eventual_consistency_hides_a_new_notebook_from_the_sdk(emu, client):
    emu.ctl("POST", "/eventual-consistency", {"family": "notebooks", "reads": 1})
    nb = create(client)
    with pytest.raises(ClientRequestException) as e:
        show(client, nb.id)
    assert e.value.status_code == 404
    assert show(client, nb.id).id == nb.id


def test_an_iam_token_from_the_allow_list_is_accepted(emu):
    import json
    import urllib.request
    req = urllib.request.Request(f"{emu.url}/v1/{PROJECT_ID}/notebooks", headers={"X-Auth-Token": "test-iam-token"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200 and resp.headers["X-Request-Id"]
        assert json.loads(resp.read())["total"] == 0
