"""Garbage collection and CRD deletion against kube-emulator, driven by the official `kubernetes`
client (v31) and kubectl's `--cascade`, as kube-controller-manager and the apiextensions-apiserver
behave.
"""

import json

import pytest
from kubernetes import client

from kube_emulator_support import WIDGET_CRD, api, ensure_widget_crd, kube  # noqa: F401 (fixtures)


def config_map(core, name, owners=(), finalizers=None, block=False):
    refs = [client.V1OwnerReference(api_version="v1", kind="ConfigMap", name=o.metadata.name, uid=o.metadata.uid,
                                    block_owner_deletion=block) for o in owners]
    meta = client.V1ObjectMeta(name=name, owner_references=refs or None, finalizers=finalizers)
    return core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=meta))


def gone(core, name):
    try:
        core.read_namespaced_config_map(name, "default")
    except client.ApiException as err:
        assert err.status == 404, err
        return True
    return False


def test_background_deletion_takes_the_dependents_along(api):
    core = client.CoreV1Api(api)
    owner = config_map(core, "bg-owner")
    config_map(core, "bg-dep", [owner])
    core.delete_namespaced_config_map("bg-owner", "default")
    assert gone(core, "bg-dep")


def test_orphan_deletion_leaves_dependents_without_the_reference(api):
    core = client.CoreV1Api(api)
    owner = config_map(core, "or-owner")
    config_map(core, "or-dep", [owner])
    core.delete_namespaced_config_map("or-owner", "default", body=client.V1DeleteOptions(propagation_policy="Orphan"))
    assert gone(core, "or-owner")
    assert core.read_namespaced_config_map("or-dep", "default").metadata.owner_references is None


def test_foreground_deletion_waits_for_a_blocking_dependent(api):
    core = client.CoreV1Api(api)
    owner = config_map(core, "fg-owner")
    config_map(core, "fg-dep", [owner], finalizers=["example.com/hold"], block=True)
    core.delete_namespaced_config_map("fg-owner", "default",
                                      body=client.V1DeleteOptions(propagation_policy="Foreground"))
    waiting = core.read_namespaced_config_map("fg-owner", "default")
    assert waiting.metadata.finalizers == ["foregroundDeletion"]
    assert waiting.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("fg-dep", "default", {"metadata": {"finalizers": None}})
    assert gone(core, "fg-dep") and gone(core, "fg-owner")


@pytest.mark.parametrize("cascade,dependent_survives", [("orphan", True), ("background", False), ("foreground", False)])
def test_kubectl_delete_cascade_modes(kube, api, cascade, dependent_survives):
    core = client.CoreV1Api(api)
    owner = config_map(core, f"k-{cascade}-owner")
    config_map(core, f"k-{cascade}-dep", [owner])
    kube.kubectl("delete", "configmap", f"k-{cascade}-owner", f"--cascade={cascade}")
    assert gone(core, f"k-{cascade}-owner")
    assert gone(core, f"k-{cascade}-dep") != dependent_survives


def test_deleting_a_crd_waits_for_its_custom_resources_finalizers(api):
    ensure_widget_crd(api)
    custom = client.CustomObjectsApi(api)
    ext = client.ApiextensionsV1Api(api)
    held = {"apiVersion": "test.emulator.dev/v1", "kind": "Widget",
            "metadata": {"name": "held", "finalizers": ["example.com/cleanup"]}, "spec": {"size": 1}}
    custom.create_namespaced_custom_object("test.emulator.dev", "v1", "default", "widgets", held)
    ext.delete_custom_resource_definition(WIDGET_CRD["metadata"]["name"])
    crd = ext.read_custom_resource_definition(WIDGET_CRD["metadata"]["name"])
    assert "customresourcecleanup.apiextensions.k8s.io" in crd.metadata.finalizers
    assert {c.type: c.status for c in crd.status.conditions}["Terminating"] == "True"
    w = custom.get_namespaced_custom_object("test.emulator.dev", "v1", "default", "widgets", "held")
    assert w["metadata"]["deletionTimestamp"]
    with pytest.raises(client.ApiException) as err:
        custom.create_namespaced_custom_object("test.emulator.dev", "v1", "default", "widgets",
                                               {**held, "metadata": {"name": "late"}})
    assert err.value.status == 405
    assert json.loads(err.value.body)["message"] == "create not allowed while custom resource definition is terminating"
    custom.patch_namespaced_custom_object("test.emulator.dev", "v1", "default", "widgets", "held",
                                          {"metadata": {"finalizers": None}})
    with pytest.raises(client.ApiException) as err:
        ext.read_custom_resource_definition(WIDGET_CRD["metadata"]["name"])
    assert err.value.status == 404
