"""Events against kube-emulator with the official `kubernetes` client (v31): one store behind
core/v1 and events.k8s.io/v1, converted both ways, validated per version as the apiserver does,
and shown by `kubectl describe`, `kubectl get events` and `kubectl events --for`.
"""

import json

import pytest
from kubernetes import client

from kube_emulator_support import api, kube  # noqa: F401 (fixtures)


def new_event(name, regarding_name="cm1", uid=None):
    return client.EventsV1Event(
        metadata=client.V1ObjectMeta(name=name, namespace="default"),
        event_time="2026-01-01T00:00:00.123456Z",
        type="Warning", reason="CreateFailed", action="Create", note="the cloud said no",
        regarding=client.V1ObjectReference(api_version="v1", kind="ConfigMap", name=regarding_name,
                                           namespace="default", uid=uid),
        reporting_controller="modelarts.operator.dev/notebook", reporting_instance="operator-0")


def test_an_events_k8s_io_event_is_read_back_through_core_v1(api):
    client.EventsV1Api(api).create_namespaced_event("default", new_event("py-e1"))
    core = client.CoreV1Api(api).read_namespaced_event("py-e1", "default")
    assert core.message == "the cloud said no"
    assert core.involved_object.name == "cm1"
    assert core.reporting_component == "modelarts.operator.dev/notebook"
    assert core.reporting_instance == "operator-0"
    assert core.type == "Warning" and core.reason == "CreateFailed" and core.action == "Create"


def test_a_core_event_is_read_back_through_events_k8s_io_with_deprecated_fields(api):
    core = client.CoreV1Api(api)
    core.create_namespaced_event("default", client.CoreV1Event(
        metadata=client.V1ObjectMeta(name="py-legacy"), reason="Started", message="hello", type="Normal",
        involved_object=client.V1ObjectReference(kind="ConfigMap", name="cm2", namespace="default"),
        source=client.V1EventSource(component="legacy-ctl"), count=3,
        first_timestamp="2026-01-01T00:00:00Z", last_timestamp="2026-01-01T00:05:00Z",
        # A legacy event has no eventTime; the Python client's EventsV1Event insists on one, so
        # set it to read the legacy event through events.k8s.io without a client-side error.
        event_time="2026-01-01T00:00:00.000000Z", reporting_component="legacy-ctl", reporting_instance="node-1",
        action="Start"))
    view = client.EventsV1Api(api).read_namespaced_event("py-legacy", "default")
    assert view.note == "hello"
    assert view.regarding.name == "cm2"
    assert view.deprecated_source.component == "legacy-ctl"
    assert view.deprecated_count == 3
    assert view.reporting_controller == "legacy-ctl"


def test_both_apis_list_the_same_events_and_select_by_their_own_field_names(api):
    events = client.EventsV1Api(api)
    events.create_namespaced_event("default", new_event("py-sel-a", regarding_name="target"))
    events.create_namespaced_event("default", new_event("py-sel-b", regarding_name="other"))
    core = client.CoreV1Api(api)
    by_core = core.list_namespaced_event("default", field_selector="involvedObject.name=target")
    by_new = events.list_namespaced_event("default", field_selector="regarding.name=target")
    assert [e.metadata.name for e in by_core.items] == ["py-sel-a"]
    assert [e.metadata.name for e in by_new.items] == ["py-sel-a"]
    assert by_core.items[0].metadata.resource_version == by_new.items[0].metadata.resource_version


def test_events_k8s_io_refuses_an_event_without_reporting_controller(api):
    bad = new_event("py-bad")
    bad.reporting_controller = None
    with pytest.raises(client.ApiException) as err:
        client.EventsV1Api(api).create_namespaced_event("default", bad)
    assert err.value.status == 422
    status = json.loads(err.value.body)
    assert status["message"] == 'Event.events.k8s.io "py-bad" is invalid: reportingController: Required value'


def test_a_series_update_is_accepted_and_an_immutable_note_change_is_refused(api):
    events = client.EventsV1Api(api)
    events.create_namespaced_event("default", new_event("py-series"))
    patched = events.patch_namespaced_event("py-series", "default",
                                            {"series": {"count": 2, "lastObservedTime": "2026-01-01T00:01:00.000000Z"}})
    assert patched.series.count == 2
    with pytest.raises(client.ApiException) as err:
        events.patch_namespaced_event("py-series", "default", {"note": "rewritten"})
    assert err.value.status == 422
    assert json.loads(err.value.body)["details"]["causes"][0]["field"] == "message"


def test_kubectl_describe_and_events_for_show_an_events_k8s_io_event(kube, api):
    core = client.CoreV1Api(api)
    cm = core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-described")))
    client.EventsV1Api(api).create_namespaced_event(
        "default", new_event("py-described.1", regarding_name="py-described", uid=cm.metadata.uid))
    described = kube.kubectl("describe", "configmap", "py-described").stdout
    events_part = described.split("Events:")[1]
    assert "CreateFailed" in events_part and "the cloud said no" in events_part, described
    listed = kube.kubectl("get", "events", "--field-selector", "involvedObject.name=py-described").stdout
    assert listed.splitlines()[0].split()[:4] == ["LAST", "SEEN", "TYPE", "REASON"], listed
    assert "configmap/py-described" in listed
    for_cm = kube.kubectl("events", "--for", "configmap/py-described").stdout
    assert "the cloud said no" in for_cm, for_cm
