"""Every SDK operation the emulator serves, called through the official SDK: each response
deserializes without an error or a conversion warning, and every field of the raw body has the
type the SDK's model declares (the SDK's own deserializer coerces silently: int("8") passes, a
string where the model says integer would reach a Go or Java client as an error).

Which operations the emulator serves is discovered, not listed: every ModelArtsClient operation is
sent once with placeholder IDs, and the ones whose request the emulator routed to the same path
template (its request log says which route matched) count as served. The sweep must then have
called each of them successfully.
"""

import decimal
import inspect
import json
import re
import warnings

import pytest
import huaweicloudsdkmodelarts.v1 as models
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkmodelarts.v1 import *  # noqa: F403
from huaweicloudsdkmodelarts.v1 import ModelArtsClient

from emulator_support import PROJECT_ID, client, emu, emulator, wait_for  # noqa: F401

CPU_IMAGE = "e1a07296-22a8-4f05-8bc8-e936c8e54090"
UUID = "3c1d5f7e-9a2b-4c6d-8e0f-1a2b3c4d5e6f"
BMS_IMAGE = "8a1f2e3d-4c5b-4a69-8e7f-1a2b3c4d5e6f"
HPS_IMAGE = "c4d3e2f1-a0b9-4c8d-8e7f-6a5b4c3d2e1f"
HPS_FLAVOR = "modelarts.hps.npu.arm.snt9c.x4"
GPU = "modelarts.vm.gpu.tnt004"
NETWORK = ServerNetwork(vpc_id=UUID, subnet_id=UUID, security_group_id=UUID)

# Deliberate, documented deviations from the SDK's models (emulators/modelarts/README.md,
# "Decisions"): (model, JSON key) -> why. Anything else that differs fails.
DEVIATIONS = {
    # §5.2: the SDK models each of these as one object; a pool with several flavors needs one
    # entry per flavor, which the reference believes the real API sends (the SDK then keeps an
    # empty object, and the Rust client accepts both shapes).
    ("PoolStatusResources", "creating"): "reference §5.2",
    ("PoolStatusResources", "available"): "reference §5.2",
    ("PoolStatusResources", "abnormal"): "reference §5.2",
    ("PoolStatusResources", "deleting"): "reference §5.2",
}

# Operations called successfully and type-checked by the sweep, across the tests of this module.
CHECKED = set()

_CLASSES = {name.lower(): getattr(models, name) for name in dir(models)}


def operations():
    """(operation, method, resource path template, request class) of every SDK operation."""
    out = []
    for name, info_fn in inspect.getmembers(ModelArtsClient):
        match = re.match(r"_(.*)_http_info$", name)
        if not match:
            continue
        op = match.group(1)
        request_class = _CLASSES[op.replace("_", "") + "request"]
        info = info_fn(request_class())
        out.append((op, info["method"], info["resource_path"], request_class))
    return out


def template(path):
    return re.sub(r"\{[^}]*\}", "{}", path)


# ----------------------------------------------------------------------------- type checks ----

def problems_in(value, declared, at):
    """Where `value` (raw JSON) does not have the SDK-declared type `declared`."""
    if value is None:
        return []
    if declared.startswith("list["):
        if not isinstance(value, list):
            return [f"{at}: {type(value).__name__} where the SDK declares {declared}"]
        inner = declared[5:-1]
        return [p for i, v in enumerate(value) for p in problems_in(v, inner, f"{at}[{i}]")]
    if declared.startswith("dict("):
        if not isinstance(value, dict):
            return [f"{at}: {type(value).__name__} where the SDK declares {declared}"]
        inner = re.match(r"dict\(([^,]*), (.*)\)", declared).group(2)
        return [p for k, v in value.items() for p in problems_in(v, inner, f"{at}.{k}")]
    primitive = {
        "str": lambda v: isinstance(v, str),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, decimal.Decimal)) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "object": lambda v: True,
        "datetime": lambda v: isinstance(v, str),
        "date": lambda v: isinstance(v, str),
    }
    if declared in primitive:
        ok = primitive[declared](value)
        return [] if ok else [f"{at}: {type(value).__name__} {value!r} where the SDK declares {declared}"]
    klass = getattr(models, declared)
    if not klass.openapi_types:
        # An enum-like model takes a primitive; a model without fields (an empty response) keeps
        # nothing of an object, so any object is fine.
        ok = isinstance(value, (str, int, bool, decimal.Decimal, dict))
        return [] if ok else [f"{at}: {type(value).__name__} where the SDK declares {declared}"]
    if not isinstance(value, dict):
        return [f"{at}: {type(value).__name__} where the SDK declares the object {declared}"]
    out = []
    for attr, attr_type in klass.openapi_types.items():
        key = klass.attribute_map[attr]
        if key in value and (declared, key) not in DEVIATIONS:
            out.extend(problems_in(value[key], attr_type, f"{at}.{key}"))
    return out


def response_problems(response, response_type):
    raw = json.loads(response.raw_content or "null", parse_float=decimal.Decimal)
    klass = getattr(models, response_type)
    if raw is None:
        return []
    body_attrs = [a for a, k in klass.attribute_map.items() if k == "body"]
    if body_attrs:
        return problems_in(raw, klass.openapi_types[body_attrs[0]], "body")
    return problems_in(raw, response_type, "body")


class Checked:
    """The SDK client, with every call's response type-checked and recorded in CHECKED."""

    def __init__(self, sdk):
        self.sdk = sdk

    def __getattr__(self, op):
        method = getattr(self.sdk, op)
        info_fn = getattr(self.sdk, f"_{op}_http_info")

        def call(request):
            response_type = info_fn(request)["response_type"]
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # the SDK's TypeConversionWarning is a failure
                response = method(request)
            problems = response_problems(response, response_type)
            assert not problems, f"{op}: " + "; ".join(problems)
            CHECKED.add(op)
            return response

        return call


@pytest.fixture
def c(client):
    return Checked(client)


# --------------------------------------------------------------------------------- notebooks ----

def nb_status(c, nb_id, status):
    return wait_for(lambda: c.show_notebook(ShowNotebookRequest(id=nb_id)), lambda r: r.status == status)


def test_notebook_operations_answer_in_the_sdks_types(c):
    nb = c.create_notebook(CreateNotebookRequest(body=NotebookCreateRequest(
        name="typed", image_id=CPU_IMAGE, flavor="modelarts.vm.cpu.2u", description="types",
        volume=VolumeMountRequest(category="EVS", ownership="MANAGED", capacity=10),
        lease=LeaseReq(duration=3600000, type="TIMING"))))
    nb_status(c, nb.id, "RUNNING")
    c.list_notebooks(ListNotebooksRequest(limit=10))
    c.list_all_notebooks(ListAllNotebooksRequest(limit=10))
    c.show_lease(ShowLeaseRequest(id=nb.id))
    c.renew_lease(RenewLeaseRequest(id=nb.id, duration=3600000, body=LeaseReq(duration=3600000, type="TIMING")))
    c.list_flavors(ListFlavorsRequest())
    c.show_switchable_flavors(ShowSwitchableFlavorsRequest(id=nb.id))
    c.create_notebook_tags(CreateNotebookTagsRequest(resource_id=nb.id, body=CreateTmsTagsRequest(
        tags=[TmsTag(key="a", value="1"), TmsTag(key="b", value="2")])))
    c.delete_notebook_tags(DeleteNotebookTagsRequest(resource_id=nb.id, body=DeleteTmsTagsRequest(
        tags=[TmsTag(key="b", value="2")])))
    c.show_notebook_tags(ShowNotebookTagsRequest())
    mount = c.attach_dynamic_storage(AttachDynamicStorageRequest(instance_id=nb.id, body=DataVolumesReq(
        category="OBS", mount_path="/data/input/", uri="obs://bucket/input/")))
    c.show_dynamic_storage(ShowDynamicStorageRequest(instance_id=nb.id, storage_id=mount.id))
    c.list_dynamic_storages(ListDynamicStoragesRequest(instance_id=nb.id))
    c.detach_dynamic_storage(DetachDynamicStorageRequest(instance_id=nb.id, storage_id=mount.id))
    image = c.create_image(CreateImageRequest(id=nb.id, body=ImageCreateReq(name="saved", namespace="team", tag="v1")))
    nb_status(c, nb.id, "RUNNING")
    c.list_image(ListImageRequest(limit=50))
    c.show_image(ShowImageRequest(id=image.id))
    c.show_image(ShowImageRequest(id=CPU_IMAGE))
    c.stop_notebook(StopNotebookRequest(id=nb.id))
    nb_status(c, nb.id, "STOPPED")
    c.update_notebook(UpdateNotebookRequest(id=nb.id, body=NotebookUpdateRequest(name="typed-2", flavor="modelarts.vm.cpu.8u")))
    c.start_notebook(StartNotebookRequest(id=nb.id, duration=3600000, type="TIMING"))
    nb_status(c, nb.id, "RUNNING")
    c.stop_notebook(StopNotebookRequest(id=nb.id))
    nb_status(c, nb.id, "STOPPED")
    c.delete_notebook(DeleteNotebookRequest(id=nb.id))


# ------------------------------------------------------------------------------------- pools ----

def test_pool_and_network_operations_answer_in_the_sdks_types(c):
    net = c.create_network(CreateNetworkRequest(body=NetworkCreationRequest(
        api_version="v1", kind="Network",
        metadata=NetworkMetadataCreation(labels=NetworkMetadataLabels(os_modelarts_name="net-t", os_modelarts_workspace_id="0")),
        spec=NetworkSpec(cidr="172.16.0.0/12"))))
    wait_for(lambda: c.show_network(ShowNetworkRequest(network_name=net.metadata.name)), lambda r: r.status.phase == "Active")
    c.list_networks(ListNetworksRequest())
    pool = c.create_pool(CreatePoolRequest(body=CreatePoolRequestBody(
        api_version="v2", kind="Pool",
        metadata=PoolMetadataCreation(labels=PoolLabelsCreation(os_modelarts_name="typed-pool", os_modelarts_workspace_id="0"),
                                      annotations=PoolAnnotationsCreation(os_modelarts_description="types")),
        spec=PoolSpecCreation(type="Dedicate", scope=["Train"],
                              resources=[PoolResourceFlavor(flavor=GPU, count=2, max_count=2)],
                              network=PoolSpecCreationNetwork(name="network-default-0000")))))
    name = pool.metadata.name
    wait_for(lambda: c.show_pool(ShowPoolRequest(pool_name=name)), lambda r: r.status.phase == "Running")
    c.list_pools(ListPoolsRequest())
    c.patch_pool(PatchPoolRequest(pool_name=name, body=PoolUpdateRequest(
        spec=PoolSpecUpdate(resources=[PoolSpecUpdateResources(flavor=GPU, count=3)]))))
    nodes = wait_for(lambda: c.list_pool_nodes(ListPoolNodesRequest(pool_name=name)),
                     lambda r: len(r.items) == 3 and all(n.status.phase == "Available" for n in r.items))
    c.show_pool_node(ShowPoolNodeRequest(pool_name=name, node_name=nodes.items[0].metadata.name))
    c.batch_delete_pool_nodes(BatchDeletePoolNodesRequest(pool_name=name, body=NodesDeletionRequest(
        delete_node_names=[nodes.items[0].metadata.name])))
    c.batch_create_pool_tags(BatchCreatePoolTagsRequest(pool_name=name, body=CreateTagRequest(
        tags=[Tag(key="env", value="dev"), Tag(key="owner", value="uid-1")])))
    c.batch_delete_pool_tags(BatchDeletePoolTagsRequest(pool_name=name, body=DeleteTagRequest(
        tags=[DeleteTagItem(key="env")])))
    c.show_pool_tags(ShowPoolTagsRequest(pool_name=name))
    c.list_pool_tags(ListPoolTagsRequest(limit=200, offset=0))
    c.list_resource_flavors(ListResourceFlavorsRequest())
    c.delete_pool(DeletePoolRequest(pool_name=name))
    with pytest.raises(ClientRequestException):
        wait_for(lambda: c.sdk.show_pool(ShowPoolRequest(pool_name=name)), lambda r: False, tries=5)
    c.delete_network(DeleteNetworkRequest(network_name=net.metadata.name))


# ------------------------------------------------------------------------------ lite servers ----

def server_status(c, sid, status):
    return wait_for(lambda: c.show_dev_server(ShowDevServerRequest(id=sid)), lambda r: r.status == status)


def test_dev_server_operations_answer_in_the_sdks_types(c):
    def create(name):
        return c.create_dev_server(CreateDevServerRequest(body=ServerCreateRequest(
            name=name, image_id=BMS_IMAGE, flavor="modelarts.bm.gpu.8ant8", key_pair_name="kp", network=NETWORK,
            root_volume=EvsVolume(size=200, type="SSD"),
            charging_info=ChargingInfo(charging_mode="POST_PAID", period_num=1, period_type="MONTH"))))
    s, other = create("typed-box"), create("other-box")
    server_status(c, s.id, "RUNNING")
    server_status(c, other.id, "RUNNING")
    c.list_dev_servers(ListDevServersRequest(limit=10))
    c.list_all_dev_servers(ListAllDevServersRequest())
    c.sync_dev_servers(SyncDevServersRequest())
    c.update_dev_server(UpdateDevServerRequest(id=s.id, body=UpdateServerRequest(name="typed-box-2")))
    c.reboot_dev_server(RebootDevServerRequest(id=s.id))
    server_status(c, s.id, "RUNNING")
    c.stop_dev_server(StopDevServerRequest(id=s.id))
    server_status(c, s.id, "STOPPED")
    c.change_dev_server_os(ChangeDevServerOSRequest(id=s.id, body=ServerOsRequest(image_id=BMS_IMAGE, key_pair_name="kp")))
    server_status(c, s.id, "RUNNING")
    c.stop_dev_server(StopDevServerRequest(id=s.id))
    server_status(c, s.id, "STOPPED")
    c.reinstall_dev_server_os(ReinstallDevServerOSRequest(id=s.id, body=ServerOsRequest()))
    server_status(c, s.id, "RUNNING")
    c.batch_dev_servers_action(BatchDevServersActionRequest(body=DevServerBatchRequest(
        type="STOP", servers=[BatchActionDevServerIds(id=s.id), BatchActionDevServerIds(id=other.id)])))
    server_status(c, s.id, "STOPPED")
    c.start_dev_server(StartDevServerRequest(id=s.id, body=ServerStartRequest()))
    server_status(c, s.id, "RUNNING")
    c.list_dev_server_flavors(ListDevServerFlavorsRequest())
    c.list_dev_server_images(ListDevServerImagesRequest())
    c.get_dev_server_image(GetDevServerImageRequest(id=BMS_IMAGE))
    c.delete_dev_server(DeleteDevServerRequest(id=s.id))


def test_supernode_operations_answer_in_the_sdks_types(c):
    first = c.create_dev_server(CreateDevServerRequest(body=ServerCreateRequest(
        name="typed-super", image_id=HPS_IMAGE, flavor=HPS_FLAVOR, server_type="HPS", key_pair_name="kp",
        hps_cluster_id=UUID, network=NETWORK)))
    hid = first.server_hps.id

    def hyper():
        return c.get_hyperinstance(GetHyperinstanceRequest(id=hid))

    def all_servers(status):
        return wait_for(hyper, lambda r: r.status == "ACTIVE" and all(s.status == status for s in r.servers))

    all_servers("RUNNING")
    c.list_hyperinstances(ListHyperinstancesRequest(limit=10))
    c.list_all_hyperinstances(ListAllHyperinstancesRequest())
    c.list_hyperinstance_servers(ListHyperinstanceServersRequest(id=hid))
    c.create_hyperinstance_tags(CreateHyperinstanceTagsRequest(id=hid, body=TagRequest(tags=[TmsTag(key="env", value="dev")])))
    c.query_hyperinstance_tags(QueryHyperinstanceTagsRequest(id=hid))
    c.delete_hyperinstance_tags(DeleteHyperinstanceTagsRequest(id=hid, body=TagRequest(tags=[TmsTag(key="env")])))
    up = c.scale_up_hyperinstance(ScaleUpHyperinstanceRequest(id=hid, body=ServerHyperScaleUpRequest(
        flavor=HPS_FLAVOR, image_id=HPS_IMAGE, key_pair_name="kp")))
    c.get_scale_evaluations_dev_server(GetScaleEvaluationsDevServerRequest(id=hid))
    all_servers("RUNNING")
    c.scale_down_hyperinstance(ScaleDownHyperinstanceRequest(id=hid, body=ServerScaleDownRequest(
        server_ids=[up.servers[-1].id])))
    c.stop_hyperinstance(StopHyperinstanceRequest(id=hid))
    all_servers("STOPPED")
    c.change_hyperinstance_os(ChangeHyperinstanceOSRequest(id=hid, body=ServerOsRequest(image_id=HPS_IMAGE)))
    all_servers("RUNNING")
    c.stop_hyperinstance(StopHyperinstanceRequest(id=hid))
    all_servers("STOPPED")
    c.start_hyperinstance(StartHyperinstanceRequest(id=hid))
    all_servers("RUNNING")
    c.delete_hyperinstance(DeleteHyperinstanceRequest(id=hid))


# ------------------------------------------------------------------------------ completeness ----

def test_the_sweep_called_every_operation_the_emulator_serves(emu, client):
    """Runs last in this module: CHECKED holds what the tests above called."""
    served = []
    for op, method, path, request_class in operations():
        request = request_class()
        for attr, key in request.attribute_map.items():
            if "{%s}" % key in path:
                setattr(request, attr, "x0")
        emu.ctl("DELETE", "/calls")
        code = None
        try:
            getattr(client, op)(request)
        except ClientRequestException as e:
            code = e.error_code
        except Exception:  # noqa: BLE001 (placeholder IDs: errors are expected; only the route matters)
            pass
        # The gateway's "no such API" (a path it knows, another method) is not served either.
        routes = [e["route"] or "" for e in emu.ctl("GET", "/requests")[-1:]]
        if code != "APIGW.0101" and f"{method} {template(path)}" in [template(r) for r in routes]:
            served.append(op)
    assert len(served) >= 60, f"discovery found only {served}"
    missing = sorted(set(served) - CHECKED)
    assert not missing, f"served by the emulator but not swept: {missing}"
