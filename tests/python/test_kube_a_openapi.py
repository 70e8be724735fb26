"""OpenAPI and health endpoints against kube-emulator: the official `kubernetes` client reads the
documents, stock kubectl explains fields from them.
"""

from kube_emulator_support import WIDGET_CRD, api, ensure_widget_crd, kube  # noqa: F401 (fixtures)


def get_json(api_client, path):
    data, status, _ = api_client.call_api(path, "GET", response_type="object", _return_http_data_only=False,
                                          auth_settings=["BearerToken"])
    assert status == 200
    return data


def test_the_v3_document_of_a_crd_group_carries_its_schema_and_gvk(api):
    ensure_widget_crd(api)
    root = get_json(api, "/openapi/v3")
    url = root["paths"]["apis/test.emulator.dev/v1"]["serverRelativeURL"]
    doc = get_json(api, url.split("?")[0])
    widget = doc["components"]["schemas"]["dev.emulator.test.v1.Widget"]
    assert widget["x-kubernetes-group-version-kind"] == [{"group": "test.emulator.dev", "version": "v1",
                                                          "kind": "Widget"}]
    assert widget["properties"]["spec"]["properties"]["size"]["description"] == "How big the widget is."
    assert "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" in doc["components"]["schemas"]


def test_the_v2_document_has_definitions_for_built_ins_and_crds(api):
    ensure_widget_crd(api)
    doc = get_json(api, "/openapi/v2")
    assert doc["swagger"] == "2.0"
    assert "io.k8s.api.core.v1.Secret" in doc["definitions"]
    assert "dev.emulator.test.v1.Widget" in doc["definitions"]


def test_kubectl_explain_prints_a_crd_fields_description(kube, api):
    ensure_widget_crd(api)
    out = kube.kubectl("explain", "widget.spec.size").stdout
    assert "How big the widget is." in out, out
    out = kube.kubectl("explain", "secret.type").stdout
    assert "Used to facilitate programmatic handling of secret data." in out, out


def test_readyz_verbose_lists_each_check(kube):
    out = kube.kubectl("get", "--raw", "/readyz?verbose").stdout
    lines = out.strip().splitlines()
    assert "[+]ping ok" in lines and "[+]etcd ok" in lines
    assert lines[-1] == "readyz check passed"
