"""Server-side apply conflicts against kube-emulator with the official `kubernetes` client
(dynamic client, `field_manager` + `force`) and kubectl: 409 with FieldManagerConflict causes,
force moving ownership, and Update operations recorded in managedFields.
"""

import json

import pytest
from kubernetes import client, dynamic

from kube_emulator_support import api, kube  # noqa: F401 (fixtures)


def cm(name, data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}, "data": data}


@pytest.fixture(scope="module")
def cms(api):
    return dynamic.DynamicClient(api).resources.get(api_version="v1", kind="ConfigMap")


def test_a_conflicting_apply_is_a_409_with_field_manager_conflict_causes(cms):
    cms.server_side_apply(body=cm("py-ssa", {"k": "1"}), namespace="default", field_manager="alice")
    with pytest.raises(client.ApiException) as err:
        cms.server_side_apply(body=cm("py-ssa", {"k": "2"}), namespace="default", field_manager="bob")
    assert err.value.status == 409
    status = json.loads(err.value.body)
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "alice": .data.k'
    assert status["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "alice"', "field": ".data.k"}]
    forced = cms.server_side_apply(body=cm("py-ssa", {"k": "2"}), namespace="default", field_manager="bob",
                                   force_conflicts=True)
    assert forced.data.k == "2"
    owners = [e.manager for e in forced.metadata.managedFields]
    assert owners == ["bob"]


def test_updates_are_recorded_with_their_manager(api):
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="py-upd"), data={"a": "1"}), field_manager="creator")
    c = core.patch_namespaced_config_map("py-upd", "default", {"data": {"b": "2"}}, field_manager="editor")
    entries = [(e.manager, e.operation, e.fields_v1) for e in c.metadata.managed_fields]
    assert entries == [("creator", "Update", {"f:data": {"f:a": {}}}), ("editor", "Update", {"f:data": {"f:b": {}}})]


def test_kubectl_apply_server_side_reports_a_conflict_and_force_conflicts_resolves_it(kube):
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: py-kubectl\ndata:\n  k: '{}'\n"
    kube.kubectl("apply", "--server-side", "--field-manager=one", "-f", "-", stdin=doc.format(1))
    out = kube.kubectl("apply", "--server-side", "--field-manager=two", "-f", "-", stdin=doc.format(2), check=False)
    assert out.returncode != 0 and "conflict" in out.stderr, out.stderr
    kube.kubectl("apply", "--server-side", "--field-manager=two", "--force-conflicts", "-f", "-", stdin=doc.format(2))
    got = kube.kubectl("get", "configmap", "py-kubectl", "-o", "jsonpath={.data.k}").stdout
    assert got == "2"
