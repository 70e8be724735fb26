"""Built-in kinds a Helm chart installs, against kube-emulator, driven by the official `kubernetes`
client (v31): apiserver defaulting and validation, the deployment controller's status (replicas
are assumed to run elsewhere: no kubelet), `/scale`, strategic merge patch by merge keys, and
Service clusterIP allocation.
"""

import pytest
from kubernetes import client

from kube_emulator_support import api, kube  # noqa: F401 (fixtures)


def deployment(name, image="nginx:1.27", labels=None, selector=None):
    labels = labels or {"app": name}
    container = client.V1Container(name="main", image=image, ports=[client.V1ContainerPort(container_port=8080)])
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels=selector or labels),
            template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels),
                                              spec=client.V1PodSpec(containers=[container]))))


def test_a_deployment_is_defaulted_as_the_apiserver_does(api):
    apps = client.AppsV1Api(api)
    d = apps.create_namespaced_deployment("default", deployment("py-defaults"))
    assert d.spec.replicas == 1
    assert d.spec.revision_history_limit == 10
    assert d.spec.progress_deadline_seconds == 600
    assert d.spec.strategy.type == "RollingUpdate"
    assert d.spec.strategy.rolling_update.max_surge == "25%"
    assert d.spec.strategy.rolling_update.max_unavailable == "25%"
    pod = d.spec.template.spec
    assert (pod.restart_policy, pod.dns_policy, pod.termination_grace_period_seconds) == ("Always", "ClusterFirst", 30)
    assert pod.containers[0].image_pull_policy == "IfNotPresent"
    assert pod.containers[0].ports[0].protocol == "TCP"


def test_a_selector_that_does_not_match_the_template_is_a_422(api):
    apps = client.AppsV1Api(api)
    with pytest.raises(client.ApiException) as err:
        apps.create_namespaced_deployment("default", deployment("py-bad", selector={"app": "other"}))
    assert err.value.status == 422
    assert "`selector` does not match template `labels`" in err.value.body


def test_the_deployment_reports_all_replicas_available_and_scales_through_the_subresource(api):
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", deployment("py-scale"))
    d = apps.read_namespaced_deployment_status("py-scale", "default")
    assert d.status.observed_generation == d.metadata.generation == 1
    assert (d.status.ready_replicas, d.status.available_replicas, d.status.updated_replicas) == (1, 1, 1)
    available = [c for c in d.status.conditions if c.type == "Available"][0]
    assert available.status == "True" and available.reason == "MinimumReplicasAvailable"
    scale = apps.read_namespaced_deployment_scale("py-scale", "default")
    assert scale.spec.replicas == 1 and scale.status.selector == "app=py-scale"
    scale = apps.patch_namespaced_deployment_scale("py-scale", "default", {"spec": {"replicas": 5}})
    assert scale.spec.replicas == 5
    d = apps.read_namespaced_deployment("py-scale", "default")
    assert d.spec.replicas == 5 and d.status.ready_replicas == 5 and d.metadata.generation == 2
    # Nothing runs pods here: the controller creates ReplicaSets, never Pods.
    rs = apps.list_namespaced_replica_set("default", label_selector="app=py-scale").items
    assert len(rs) == 1 and rs[0].metadata.owner_references[0].uid == d.metadata.uid
    assert client.CoreV1Api(api).list_namespaced_pod("default", label_selector="app=py-scale").items == []


def test_a_label_change_does_not_move_the_generation_but_a_template_change_does(api):
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", deployment("py-gen"))
    d = apps.patch_namespaced_deployment("py-gen", "default", {"metadata": {"labels": {"team": "a"}}})
    assert d.metadata.generation == 1
    # The python client sends a list body as a JSON patch and a dict as a strategic merge patch.
    d = apps.patch_namespaced_deployment(
        "py-gen", "default", {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:2"}]}}}})
    assert d.metadata.generation == 2
    assert d.spec.template.spec.containers[0].image == "nginx:2"
    assert d.spec.template.spec.containers[0].ports[0].container_port == 8080, "merged by name, not replaced"


def test_the_selector_of_a_deployment_is_immutable(api):
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", deployment("py-immutable"))
    body = {"spec": {"selector": {"matchLabels": {"app": "py-immutable", "x": "y"}},
                     "template": {"metadata": {"labels": {"app": "py-immutable", "x": "y"}}}}}
    with pytest.raises(client.ApiException) as err:
        apps.patch_namespaced_deployment("py-immutable", "default", body)
    assert err.value.status == 422
    assert "spec.selector" in err.value.body and "field is immutable" in err.value.body


def test_a_service_gets_a_cluster_ip_from_the_service_cidr(api):
    core = client.CoreV1Api(api)
    svc = client.V1Service(metadata=client.V1ObjectMeta(name="py-svc"),
                           spec=client.V1ServiceSpec(selector={"app": "x"}, ports=[client.V1ServicePort(port=80)]))
    s = core.create_namespaced_service("default", svc)
    first, second = (int(p) for p in s.spec.cluster_ip.split(".")[:2])
    assert first == 10 and 96 <= second < 112, s.spec.cluster_ip
    assert s.spec.cluster_i_ps == [s.spec.cluster_ip]
    assert (s.spec.type, s.spec.session_affinity) == ("ClusterIP", "None")
    assert s.spec.ports[0].target_port == 80 and s.spec.ports[0].protocol == "TCP"
    assert core.read_namespaced_service("kubernetes", "default").spec.cluster_ip == "10.96.0.1"


def test_a_pod_stays_pending_and_gets_the_admission_defaults(api):
    core = client.CoreV1Api(api)
    pod = client.V1Pod(metadata=client.V1ObjectMeta(name="py-pod"),
                       spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")]))
    p = core.create_namespaced_pod("default", pod)
    assert p.status.phase == "Pending" and p.status.qos_class == "BestEffort"
    assert p.spec.service_account_name == "default"
    assert p.spec.containers[0].image_pull_policy == "Always"
    assert {t.key for t in p.spec.tolerations} == {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}


def test_a_role_binding_cannot_change_its_role_ref(api):
    rbac = client.RbacAuthorizationV1Api(api)
    rbac.create_namespaced_role("default", client.V1Role(
        metadata=client.V1ObjectMeta(name="py-role"),
        rules=[client.V1PolicyRule(api_groups=[""], resources=["pods"], verbs=["get"])]))
    rbac.create_namespaced_role_binding("default", client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="py-rb"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="py-role"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="default", namespace="default")]))
    with pytest.raises(client.ApiException) as err:
        rbac.patch_namespaced_role_binding("py-rb", "default", {"roleRef": {"name": "other"}})
    assert err.value.status == 422 and "cannot change roleRef" in err.value.body


def test_discovery_lists_the_built_in_kinds_and_their_subresources(api):
    resources = {r.name: r for r in client.AppsV1Api(api).get_api_resources().resources}
    assert "deployments" in resources and "deployments/scale" in resources and "deployments/status" in resources
    assert resources["deployments"].short_names == ["deploy"]
    core = {r.name for r in client.CoreV1Api(api).get_api_resources().resources}
    assert {"pods", "services", "serviceaccounts", "serviceaccounts/token", "endpoints"} <= core
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"rbac.authorization.k8s.io", "policy", "networking.k8s.io", "discovery.k8s.io",
            "authorization.k8s.io", "authentication.k8s.io"} <= groups
