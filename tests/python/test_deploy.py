"""The Helm chart, the kustomize base and the examples, checked with the real tools that
scripts/tools installs: helm lint --strict, kubernetes-validate (v1.31 built-in schemas, strict),
jsonschema against the CRDs' openAPIV3Schema, kubectl kustomize and yamllint."""

import json
import pathlib
import subprocess

import jsonschema
import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "modelarts-operator"
HELM = REPO / ".tools" / "bin" / "helm"
VENV_BIN = REPO / ".venv" / "bin"

PROFILES = {
    "default": [],
    "namespaced": ["--set", "watchNamespaces={team-a,team-b}", "--set", "credentials.existingSecret=hw"],
    "everything": [
        "--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true",
        "--set", "networkPolicy.enabled=true", "--set", "credentials.create=true",
        "--set", "credentials.accessKey=AK", "--set", "credentials.secretKey=SK",
        "--set", "image.digest=sha256:" + "a" * 64, "--set", "imagePullSecrets[0].name=pull",
        "--set", "extraArgs={--rate=10}", "--set", "region=cn-north-4",
    ],
}


def run(*args, check=True):
    result = subprocess.run([str(a) for a in args], cwd=REPO, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def render(profile, *extra):
    out = run(HELM, "template", "modelarts-operator", CHART, "--namespace", "modelarts-system",
              "--kube-version", "1.31.0", *PROFILES[profile], *extra).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_helm_lint_strict_passes(profile):
    out = run(HELM, "lint", "--strict", CHART, *PROFILES[profile]).stdout
    assert "0 chart(s) failed" in out, out


def test_values_schema_rejects_a_bad_value_naming_the_field():
    result = run(HELM, "template", "x", CHART, "--set", "replicaCount=0", check=False)
    assert result.returncode != 0
    assert "replicaCount" in result.stderr, result.stderr


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_rendered_chart_validates_against_the_v1_31_schemas_in_strict_mode(profile, tmp_path):
    out = run(HELM, "template", "modelarts-operator", CHART, "--namespace", "modelarts-system",
              "--kube-version", "1.31.0", "--include-crds", *PROFILES[profile]).stdout
    rendered = tmp_path / f"{profile}.yaml"
    rendered.write_text(out)
    result = run(VENV_BIN / "kubernetes-validate", "-k", "1.31.0", "--strict", rendered, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR" not in result.stdout, result.stdout
    passed = result.stdout.count("passed for resource")
    built_in = [d for d in yaml.safe_load_all(out) if d and d["kind"] not in ("ServiceMonitor", "PrometheusRule")]
    assert passed == len(built_in), result.stdout


def test_the_deployment_meets_the_restricted_pod_security_profile():
    (deploy,) = by_kind(render("default"), "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert sc["runAsUser"] == 65532
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert deploy["spec"]["replicas"] == 2
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    assert "--leader-elect" in container["args"]
    assert by_kind(render("default"), "PodDisruptionBudget")[0]["spec"]["minAvailable"] == 1


# What the operator calls, by resource (src/engine/reconciler.rs, status.rs, events.rs (events.k8s.io only),
# runtime/credentials.rs, runtime/leader.rs via kube-lease-manager, engine/crd_deletion.rs).
EXPECTED_NAMESPACED = {
    ("modelarts.operator.dev", "notebooks"): {"get", "list", "watch", "patch"},
    ("modelarts.operator.dev", "resourcepools"): {"get", "list", "watch", "patch"},
    ("modelarts.operator.dev", "liteservers"): {"get", "list", "watch", "patch"},
    ("modelarts.operator.dev", "notebooks/status"): {"patch"},
    ("modelarts.operator.dev", "resourcepools/status"): {"patch"},
    ("modelarts.operator.dev", "liteservers/status"): {"patch"},
    ("", "secrets"): {"get"},
    ("events.k8s.io", "events"): {"create", "patch"},
}
EXPECTED_CLUSTER = {("apiextensions.k8s.io", "customresourcedefinitions"): {"get"}}
EXPECTED_LEADER = {("coordination.k8s.io", "leases"): {"get", "create", "patch"}, ("", "secrets"): {"get"}}


def grants(role):
    out = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                out.setdefault((group, resource), set()).update(rule["verbs"])
    return out


def test_rbac_grants_exactly_what_the_operator_calls_and_no_wildcard():
    for profile in PROFILES:
        docs = render(profile)
        for role in by_kind(docs, "ClusterRole") + by_kind(docs, "Role"):
            text = json.dumps(role["rules"])
            assert '"*"' not in text, f"{profile}: wildcard in {role['metadata']['name']}"
    docs = render("default")
    (cluster,) = by_kind(docs, "ClusterRole")
    assert grants(cluster) == {**EXPECTED_NAMESPACED, **EXPECTED_CLUSTER}
    (leader,) = by_kind(docs, "Role")
    assert grants(leader) == {("coordination.k8s.io", "leases"): {"get", "create", "patch"}}


def test_the_namespaced_profile_has_a_role_per_watched_namespace_and_passes_the_flag():
    docs = render("namespaced")
    roles = {(r["metadata"]["namespace"], r["metadata"]["name"]): r for r in by_kind(docs, "Role")}
    assert grants(roles[("team-a", "modelarts-operator")]) == EXPECTED_NAMESPACED
    assert grants(roles[("team-b", "modelarts-operator")]) == EXPECTED_NAMESPACED
    leader = roles[("modelarts-system", "modelarts-operator-leader")]
    assert grants(leader) == EXPECTED_LEADER
    assert leader["rules"][1]["resourceNames"] == ["hw"]
    (crds,) = by_kind(docs, "ClusterRole")
    assert grants(crds) == EXPECTED_CLUSTER
    bindings = by_kind(docs, "RoleBinding")
    assert {b["metadata"]["namespace"] for b in bindings} == {"team-a", "team-b", "modelarts-system"}
    (deploy,) = by_kind(docs, "Deployment")
    args = deploy["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--watch-namespaces=team-a,team-b" in args
    assert "--credentials-secret=modelarts-system/hw" in args


def test_the_optional_objects_render_when_enabled():
    docs = render("everything")
    kinds = {d["kind"] for d in docs}
    assert {"ServiceMonitor", "PrometheusRule", "NetworkPolicy", "Secret"} <= kinds
    alerts = {r["alert"] for g in by_kind(docs, "PrometheusRule")[0]["spec"]["groups"] for r in g["rules"]}
    assert alerts == {"ModelArtsOperatorReconcileErrors", "ModelArtsOperatorCloudThrottling",
                      "ModelArtsOperatorNoLeader"}
    (deploy,) = by_kind(docs, "Deployment")
    pod = deploy["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == "ghcr.io/modelarts-operator/modelarts-operator@sha256:" + "a" * 64
    assert pod["imagePullSecrets"] == [{"name": "pull"}]
    assert "--rate=10" in pod["containers"][0]["args"]


def test_notes_warn_when_the_secret_comes_from_values():
    out = run(HELM, "install", "x", CHART, "--dry-run=client", *PROFILES["everything"]).stdout
    assert "WARNING: the credentials Secret was created from chart values" in out


def test_the_kustomize_base_is_rendered_from_the_chart_and_builds():
    run(REPO / "scripts" / "render-manifests", "--check")
    kubectl = "kubectl"
    out = run(kubectl, "kustomize", REPO / "deploy" / "manifests").stdout
    kinds = [d["kind"] for d in yaml.safe_load_all(out) if d]
    assert kinds.count("CustomResourceDefinition") == 3
    assert "Deployment" in kinds and "Namespace" in kinds


def python_patterns(node):
    """Python's re has no \\p{...} classes (the CRDs' patterns are Rust/Go regexes): such a
    pattern is dropped here; tests/schema_validation.rs checks them with the Rust engine."""
    if isinstance(node, dict):
        out = {k: python_patterns(v) for k, v in node.items()}
        if "\\p{" in str(out.get("pattern", "")):
            del out["pattern"]
        return out
    if isinstance(node, list):
        return [python_patterns(v) for v in node]
    return node


def crd_schemas():
    schemas = {}
    for path in (REPO / "crds").glob("*.yaml"):
        for crd in yaml.safe_load_all(path.read_text()):
            if crd:
                for version in crd["spec"]["versions"]:
                    key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
                    schemas[key] = python_patterns(version["schema"]["openAPIV3Schema"])
    return schemas


def test_examples_validate_against_the_crd_schemas_and_the_built_in_ones(tmp_path):
    schemas = crd_schemas()
    custom, built_in = 0, []
    for path in sorted((REPO / "deploy" / "examples").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") == "Kustomization":
                continue
            key = (doc["apiVersion"], doc["kind"])
            if doc["apiVersion"].startswith("modelarts.operator.dev/"):
                jsonschema.Draft7Validator(schemas[key]).validate(doc)
                custom += 1
            else:
                built_in.append(doc)
    assert custom >= 5, f"only {custom} custom resources among the examples"
    if built_in:
        rendered = tmp_path / "built-in.yaml"
        rendered.write_text(yaml.safe_dump_all(built_in))
        result = run(VENV_BIN / "kubernetes-validate", "-k", "1.31.0", "--strict", rendered, check=False)
        assert result.returncode == 0 and "ERROR" not in result.stdout, result.stdout + result.stderr


def test_crd_schema_validation_catches_a_bad_example():
    schemas = crd_schemas()
    doc = yaml.safe_load((REPO / "deploy" / "examples" / "notebook.yaml").read_text())
    doc["spec"]["desiredState"] = 3
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schemas[(doc["apiVersion"], doc["kind"])]).validate(doc)


def test_yamllint_passes():
    run(VENV_BIN / "yamllint", "--strict", "-c", REPO / ".yamllint", "deploy", "crds",
        ".github" if (REPO / ".github").exists() else "deploy")
