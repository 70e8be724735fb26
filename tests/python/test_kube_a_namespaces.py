"""Namespace lifecycle against kube-emulator, driven by the official `kubernetes` client (v31).

What a v1.31 apiserver plus kube-controller-manager's namespace controller answer: a deleted
namespace goes Terminating, its content is deleted through its own finalizers, creates inside it
are refused with 403, and it disappears only when empty.
"""

import json

import pytest
from kubernetes import client, watch

from kube_emulator_support import api, ensure_widget_crd, kube  # noqa: F401 (fixtures)

GROUP, VERSION, PLURAL = "test.emulator.dev", "v1", "widgets"


def widget(name, finalizers=None):
    meta = {"name": name}
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": meta, "spec": {"size": 1}}


def make_namespace(core, name):
    return core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))


def test_a_new_namespace_carries_the_name_label_the_finalizer_and_phase_active(api):
    core = client.CoreV1Api(api)
    ns = make_namespace(core, "py-fresh")
    assert ns.metadata.labels == {"kubernetes.io/metadata.name": "py-fresh"}
    assert ns.spec.finalizers == ["kubernetes"]
    assert ns.status.phase == "Active"


def test_an_empty_namespace_is_terminating_in_the_delete_answer_then_gone(api):
    core = client.CoreV1Api(api)
    make_namespace(core, "py-empty")
    # The delete answer is the namespace itself, Terminating (the client would type it V1Status).
    answer = json.loads(core.delete_namespace("py-empty", _preload_content=False).data)
    assert answer["kind"] == "Namespace"
    assert answer["status"]["phase"] == "Terminating"
    assert answer["metadata"]["deletionTimestamp"]
    with pytest.raises(client.ApiException) as err:
        core.read_namespace("py-empty")
    assert err.value.status == 404


def test_a_terminating_namespace_waits_for_its_custom_resources_finalizers(api):
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)
    ensure_widget_crd(api)
    make_namespace(core, "py-team")
    custom.create_namespaced_custom_object(GROUP, VERSION, "py-team", PLURAL, widget("held", ["example.com/cleanup"]))
    core.create_namespaced_config_map("py-team", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c")))

    core.delete_namespace("py-team")
    ns = core.read_namespace("py-team")
    assert ns.status.phase == "Terminating"
    assert ns.metadata.deletion_timestamp is not None
    conditions = {c.type: c for c in ns.status.conditions}
    assert conditions["NamespaceContentRemaining"].status == "True"
    assert conditions["NamespaceContentRemaining"].message == (
        "Some resources are remaining: widgets.test.emulator.dev has 1 resource instances")
    assert conditions["NamespaceFinalizersRemaining"].message == (
        "Some content in the namespace has finalizers remaining: example.com/cleanup in 1 resource instances")
    assert conditions["NamespaceDeletionDiscoveryFailure"].status == "False"

    # The config map (no finalizers) is gone; the widget waits with a deletionTimestamp.
    with pytest.raises(client.ApiException) as err:
        core.read_namespaced_config_map("c", "py-team")
    assert err.value.status == 404
    held = custom.get_namespaced_custom_object(GROUP, VERSION, "py-team", PLURAL, "held")
    assert held["metadata"]["deletionTimestamp"]

    # Creates are refused with the NamespaceLifecycle plugin's message and cause.
    with pytest.raises(client.ApiException) as err:
        core.create_namespaced_config_map("py-team", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="late")))
    assert err.value.status == 403
    status = json.loads(err.value.body)
    assert status["reason"] == "Forbidden"
    assert status["message"] == ('configmaps "late" is forbidden: unable to create new content in namespace '
                                 'py-team because it is being terminated')
    assert status["details"]["causes"] == [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                                           "message": "namespace py-team is being terminated"}]

    # A second delete is a conflict while content remains.
    with pytest.raises(client.ApiException) as err:
        core.delete_namespace("py-team")
    assert err.value.status == 409

    # The operator's cleanup removes its finalizer: the widget and then the namespace go.
    custom.patch_namespaced_custom_object(GROUP, VERSION, "py-team", PLURAL, "held",
                                          {"metadata": {"finalizers": None}})
    with pytest.raises(client.ApiException) as err:
        core.read_namespace("py-team")
    assert err.value.status == 404


def test_a_namespace_watch_sees_terminating_then_deleted(api):
    core = client.CoreV1Api(api)
    make_namespace(core, "py-watched")
    rv = core.list_namespace().metadata.resource_version
    core.delete_namespace("py-watched")
    seen = []
    w = watch.Watch()
    for event in w.stream(core.list_namespace, resource_version=rv, field_selector="metadata.name=py-watched",
                          timeout_seconds=3):
        seen.append((event["type"], event["object"].status.phase))
        if event["type"] == "DELETED":
            w.stop()
    assert seen[0] == ("MODIFIED", "Terminating")
    assert seen[-1][0] == "DELETED"


@pytest.mark.parametrize("name", ["default", "kube-system", "kube-public"])
def test_the_immortal_namespaces_refuse_deletion(api, name):
    with pytest.raises(client.ApiException) as err:
        client.CoreV1Api(api).delete_namespace(name)
    assert err.value.status == 403
    assert json.loads(err.value.body)["message"] == f'namespaces "{name}" is forbidden: this namespace may not be deleted'


def test_kubectl_delete_namespace_waits_until_the_namespace_is_gone(kube, api):
    core = client.CoreV1Api(api)
    make_namespace(core, "py-kubectl")
    out = kube.kubectl("delete", "namespace", "py-kubectl", "--timeout=20s")
    assert 'namespace "py-kubectl" deleted' in out.stdout
    assert "py-kubectl" not in [n.metadata.name for n in core.list_namespace().items]
