"""ServiceAccount tokens and RBAC against kube-emulator with the official `kubernetes` client:
a TokenRequest token authenticates as the ServiceAccount (the python client sends bearer tokens
over plain HTTP, unlike client-go), RBAC allows exactly what the bindings grant, denials are the
apiserver's 403, and access reviews answer as `kubectl auth can-i` needs.
"""

import json

import pytest
from kubernetes import client

from kube_emulator_support import api, kube  # noqa: F401 (fixtures)

SA = "system:serviceaccount:default:py-op"


@pytest.fixture(scope="module")
def sa_api(api, kube):
    core = client.CoreV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account("default", client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="py-op")))
    rbac.create_namespaced_role("default", client.V1Role(
        metadata=client.V1ObjectMeta(name="py-op"),
        rules=[client.V1PolicyRule(api_groups=[""], resources=["configmaps"], verbs=["get", "list", "create"]),
               client.V1PolicyRule(api_groups=["apps"], resources=["deployments/status"], verbs=["get"])]))
    rbac.create_namespaced_role_binding("default", client.V1RoleBinding(
        metadata=client.V1ObjectMeta(name="py-op"),
        role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="Role", name="py-op"),
        subjects=[client.RbacV1Subject(kind="ServiceAccount", name="py-op", namespace="default")]))
    tr = core.create_namespaced_service_account_token("py-op", "default", client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)))
    assert tr.status.token.count(".") == 2
    cfg = client.Configuration()
    cfg.host = kube.url
    cfg.api_key = {"authorization": "Bearer " + tr.status.token}
    with client.ApiClient(cfg) as sa_client:
        yield sa_client


def test_the_service_account_may_do_what_its_role_grants(sa_api):
    core = client.CoreV1Api(sa_api)
    core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-cm")))
    assert [c.metadata.name for c in core.list_namespaced_config_map("default").items if c.metadata.name == "py-cm"]


def test_anything_else_is_forbidden_with_the_apiservers_message(sa_api):
    core = client.CoreV1Api(sa_api)
    with pytest.raises(client.ApiException) as err:
        core.list_namespaced_secret("default")
    assert err.value.status == 403
    body = json.loads(err.value.body)
    assert body["reason"] == "Forbidden"
    assert body["message"] == (f'secrets is forbidden: User "{SA}" cannot list resource "secrets" in API group "" '
                               'in the namespace "default"')
    with pytest.raises(client.ApiException) as err:
        core.delete_namespaced_config_map("py-cm", "default")
    assert err.value.status == 403
    with pytest.raises(client.ApiException) as err:
        client.CoreV1Api(sa_api).list_namespace()
    assert "at the cluster scope" in json.loads(err.value.body)["message"]
    with pytest.raises(client.ApiException) as err:
        client.AppsV1Api(sa_api).read_namespaced_deployment("x", "default")
    assert err.value.status == 403, "deployments/status does not grant deployments"


def test_a_self_subject_access_review_answers_for_the_token_holder(sa_api):
    authz = client.AuthorizationV1Api(sa_api)
    review = lambda verb, resource: authz.create_self_subject_access_review(client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=client.V1ResourceAttributes(
            namespace="default", verb=verb, resource=resource))))
    assert review("list", "configmaps").status.allowed is True
    assert review("delete", "configmaps").status.allowed is False


def test_a_subject_access_review_from_the_admin_answers_for_anyone(api):
    authz = client.AuthorizationV1Api(api)
    sar = authz.create_subject_access_review(client.V1SubjectAccessReview(spec=client.V1SubjectAccessReviewSpec(
        user=SA, groups=["system:serviceaccounts"],
        resource_attributes=client.V1ResourceAttributes(namespace="default", verb="get", resource="configmaps"))))
    assert sar.status.allowed is True
    assert sar.status.reason.startswith('RBAC: allowed by RoleBinding "py-op/default" of Role "py-op"')


def test_kubectl_auth_can_i_answers_for_the_service_account(kube, sa_api):
    assert kube.kubectl("auth", "can-i", "create", "configmaps", f"--as={SA}").stdout.strip() == "yes"
    out = kube.kubectl("auth", "can-i", "create", "secrets", f"--as={SA}", check=False)
    assert out.returncode == 1 and out.stdout.strip() == "no"


def test_a_bad_token_is_401(kube):
    cfg = client.Configuration()
    cfg.host = kube.url
    cfg.api_key = {"authorization": "Bearer nonsense"}
    with client.ApiClient(cfg) as bad:
        with pytest.raises(client.ApiException) as err:
            client.CoreV1Api(bad).list_namespaced_config_map("default")
    assert err.value.status == 401
