"""The chart installed the way users do: `helm install --wait` into kube-emulator (RBAC enforced
for ServiceAccount tokens), then the operator binary run exactly as the chart's Deployment says
(its args and POD_* env) with a TokenRequest token of the chart's ServiceAccount, an example
Notebook becoming Ready, the cloud counted, `helm upgrade`, and `helm uninstall` keeping the CRDs
and the cloud resources.

kube-emulator has no kubelet: no Pod ever runs, and its deployment controller reports every
replica available at once (emulators/kube/src/builtins/deployments.rs). So `--wait` here proves
that the chart's objects are accepted and reach kstatus Current as that controller reports them,
not that the image starts; the operator processes below stand in for the Deployment's pods."""

import json
import os
import pathlib
import re
import subprocess
import tempfile
import time
import urllib.request

import pytest
import yaml

from test_deploy_live import BIN, HELM, free_port, postgres  # noqa: F401 (fixture)

REPO = pathlib.Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "modelarts-operator"
EXAMPLES = REPO / "deploy" / "examples"
PROJECT = "0123456789abcdef0123456789abcdef"
AK, SK = "AKINSTALL", "SKINSTALL"
CRDS = ["notebooks.modelarts.operator.dev", "resourcepools.modelarts.operator.dev",
        "liteservers.modelarts.operator.dev"]


class Cluster:
    def __init__(self, tmp, pg):
        self.tmp = pathlib.Path(tmp)
        self.pg = pg
        self.kubeconfig = self.tmp / "kubeconfig"
        self.procs = []
        self.start("kube", [BIN / "kube-emulator", "--listen", "127.0.0.1:0", "--kubeconfig", self.kubeconfig],
                   wait_for="listening on")
        self.cloud_url = f"http://127.0.0.1:{free_port()}"
        self.start("cloud", [BIN / "modelarts-emulator", "--listen", self.cloud_url.removeprefix("http://"),
                             "--project-id", PROJECT, "--ak", AK, "--sk", SK, "--progression", "millis:1000"],
                   wait_for="listening on")
        self.url = yaml.safe_load(self.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]

    def start(self, name, cmd, wait_for=None, env=None):
        out = open(self.tmp / f"{name}.log", "w")
        proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE if wait_for else out,
                                stderr=out, text=True, env=env)
        self.procs.append(proc)
        if wait_for:
            line = proc.stdout.readline()
            assert wait_for in line, f"{cmd[0]} did not start: {line!r}"
        return proc

    def kubectl(self, *args, input=None, ok=True):
        result = subprocess.run(["kubectl", "--kubeconfig", str(self.kubeconfig), *map(str, args)],
                                input=input, capture_output=True, text=True, timeout=60)
        if ok:
            assert result.returncode == 0, result.stdout + result.stderr
        return result

    def json(self, *args):
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def helm(self, *args):
        home = self.tmp / "helm"
        env = dict(os.environ, HELM_DRIVER="sql", HELM_DRIVER_SQL_CONNECTION_STRING=self.pg,
                   KUBECONFIG=str(self.kubeconfig), HELM_CACHE_HOME=str(home / "cache"),
                   HELM_CONFIG_HOME=str(home / "config"), HELM_DATA_HOME=str(home / "data"))
        result = subprocess.run([str(HELM), *map(str, args)], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def inventory(self):
        with urllib.request.urlopen(f"{self.cloud_url}/_emulator/projects/{PROJECT}/inventory") as r:
            body = json.load(r)
        return body if isinstance(body, list) else body["items"]

    def namespace(self, name):
        # JSON: kubectl create would send protobuf, which kube-emulator decodes only for a few kinds.
        self.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "Namespace",
                                                            "metadata": {"name": name}}))

    def token(self, namespace, service_account):
        """A token from the TokenRequest API (JSON body, as above)."""
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                   "spec": {"audiences": [], "expirationSeconds": 3600}}
        out = self.kubectl("create", "--raw",
                           f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
                           "-f", "-", input=json.dumps(request)).stdout
        return json.loads(out)["status"]["token"]

    def secret(self, namespace, name):
        self.kubectl("create", "secret", "generic", name, "-n", namespace, f"--from-literal=accessKey={AK}",
                     f"--from-literal=secretKey={SK}", f"--from-literal=projectId={PROJECT}",
                     "--from-literal=region=cn-north-4")

    def sa_kubeconfig(self, release, namespace):
        """A kubeconfig with a TokenRequest token of the ServiceAccount the Deployment runs as."""
        pod = self.json("deployment", release, "-n", namespace)["spec"]["template"]["spec"]
        token = self.token(namespace, pod["serviceAccountName"])
        kubeconfig = self.tmp / f"{release}-sa.kubeconfig"
        kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": "sa",
            "clusters": [{"name": "kube", "cluster": {"server": self.url}}],
            "contexts": [{"name": "sa", "context": {"cluster": "kube", "user": "sa", "namespace": namespace}}],
            "users": [{"name": "sa", "user": {"token": token}}]}))
        return kubeconfig

    def operators(self, release, namespace, replicas):
        """The chart's Deployment run as `replicas` processes: its container args (listening on
        loopback instead of 0.0.0.0), its POD_* env, and a kubeconfig holding a TokenRequest
        token of its ServiceAccount."""
        pod = self.json("deployment", release, "-n", namespace)["spec"]["template"]["spec"]
        kubeconfig = self.sa_kubeconfig(release, namespace)
        (container,) = pod["containers"]
        assert [e["name"] for e in container["env"]] == ["POD_NAME", "POD_NAMESPACE"]
        logs = []
        for i in range(replicas):
            args = [re.sub(r"^--listen=.*", f"--listen=127.0.0.1:{free_port()}", a) for a in container["args"]]
            env = dict(os.environ, POD_NAME=f"{release}-{i}", POD_NAMESPACE=namespace)
            for key in ["KUBECONFIG", "HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK"]:
                env.pop(key, None)
            self.start(f"{release}-{i}", [BIN / "modelarts-operator", *args, "--kubeconfig", kubeconfig], env=env)
            logs.append(self.tmp / f"{release}-{i}.log")
        return logs

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def cluster(postgres):  # noqa: F811 (the imported fixture)
    if not (BIN / "modelarts-operator").exists():
        pytest.fail(f"{BIN}/modelarts-operator missing: cargo build --workspace --bins")
    with tempfile.TemporaryDirectory() as tmp:
        c = Cluster(tmp, postgres)
        yield c
        c.stop()


def cond(obj, type_):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c["status"]
    return None


def example_notebook(cluster, namespace):
    """deploy/examples/notebook.yaml in `namespace`, with its credentials Secret."""
    cluster.namespace(namespace)
    cluster.secret(namespace, "hwcloud-credentials")
    doc = yaml.safe_load((EXAMPLES / "notebook.yaml").read_text())
    doc["metadata"]["namespace"] = namespace
    cluster.kubectl("apply", "-f", "-", input=json.dumps(doc))
    return doc["metadata"]["name"]


def wait_ready(cluster, namespace, name, logs, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        obj = cluster.json("notebook", name, "-n", namespace)
        if cond(obj, "Ready") == "True":
            return obj
        time.sleep(0.3)
    tails = "\n".join(log.read_text()[-2000:] for log in logs)
    raise AssertionError(f"{namespace}/{name} not Ready in {timeout} s: {json.dumps(obj.get('status'))}\n{tails}")


def notebooks_in_cloud(cluster):
    return [i for i in cluster.inventory() if i["kind"] == "notebooks"]


def no_forbidden(logs):
    for log in logs:
        text = log.read_text()
        assert text, f"{log.name} is empty: the operator did not run"
        bad = [line for line in text.splitlines() if re.search(r"\b403\b|forbidden", line, re.I)]
        assert not bad, f"{log.name}: " + "\n".join(bad[:5])


def stop_operators(cluster):
    """What deleting the Deployment does to its pods: SIGTERM."""
    for proc in cluster.procs:
        if pathlib.Path(proc.args[0]).name == "modelarts-operator" and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def check_as_service_account(cluster, release, ns, *extra, ok=True):
    """`check` as the chart's ServiceAccount with the Deployment's leader flags: every RBAC row
    (REQUIRED_ACCESS, the CRDs, the Lease) passes against the chart's roles."""
    check = subprocess.run([str(BIN / "modelarts-operator"), "check", "--kubeconfig",
                            cluster.sa_kubeconfig(release, ns), "--credentials-secret", f"{ns}/hw",
                            "--modelarts-endpoint", cluster.cloud_url, "--leader-elect", "--lease-namespace", ns,
                            "--output", "json", *extra], capture_output=True, text=True, timeout=60)
    rows = [r for r in json.loads(check.stdout)["checks"] if r["check"] == "rbac"]
    if not ok:
        assert check.returncode != 0, check.stdout
        return rows
    targets = {r["target"] for r in rows}
    assert {"leases.coordination.k8s.io", "customresourcedefinitions.apiextensions.k8s.io"} <= targets, rows
    assert all(r["result"] == "ok" for r in rows), rows
    assert check.returncode == 0, check.stdout + check.stderr
    return rows


def test_helm_install_default_profile_runs_a_notebook_upgrade_and_uninstall_keep_the_cloud(cluster):
    ns = "modelarts-system"
    cluster.namespace(ns)
    cluster.secret(ns, "hw")
    cluster.helm("install", "modelarts-operator", CHART, "-n", ns, "--wait", "--timeout", "60s",
                 "--set", "credentials.existingSecret=hw", "--set", f"modelartsEndpoint={cluster.cloud_url}",
                 "--set", "region=cn-north-4")
    for crd in CRDS:
        cluster.kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=30s")
    deploy = cluster.json("deployment", "modelarts-operator", "-n", ns)
    assert deploy["status"]["availableReplicas"] == 2, deploy["status"]
    assert "--leader-elect" in deploy["spec"]["template"]["spec"]["containers"][0]["args"]

    check_as_service_account(cluster, "modelarts-operator", ns)

    logs = cluster.operators("modelarts-operator", ns, replicas=2)
    name = example_notebook(cluster, "ml-team")
    nb = wait_ready(cluster, "ml-team", name, logs)
    assert cond(nb, "Reconciling") == "False" and cond(nb, "Stalled") == "False"
    cloud = notebooks_in_cloud(cluster)
    assert len(cloud) == 1 and cloud[0]["id"] == nb["status"]["cloudId"], cloud
    leases = cluster.json("lease", "modelarts-operator", "-n", ns)
    assert leases["spec"]["holderIdentity"] in {"modelarts-operator-0", "modelarts-operator-1"}

    cluster.helm("upgrade", "modelarts-operator", CHART, "-n", ns, "--reuse-values", "--wait", "--timeout", "60s",
                 "--set", "operator.pollSeconds=30")
    upgraded = cluster.json("deployment", "modelarts-operator", "-n", ns)
    args = upgraded["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--poll-seconds=30" in args and "--poll-seconds=45" not in args, args
    assert upgraded["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    time.sleep(1)
    no_forbidden(logs)

    stop_operators(cluster)
    cluster.helm("uninstall", "modelarts-operator", "-n", ns, "--wait", "--timeout", "60s")
    assert cluster.kubectl("get", "deployment", "modelarts-operator", "-n", ns, ok=False).returncode != 0
    assert cluster.kubectl("get", "clusterrole", "modelarts-operator", ok=False).returncode != 0
    for crd in CRDS:
        cluster.kubectl("get", "crd", crd)
    assert cluster.json("notebook", name, "-n", "ml-team")["status"]["cloudId"] == nb["status"]["cloudId"]
    assert len(notebooks_in_cloud(cluster)) == 1, "the cloud notebook is kept"


def wait_for(cluster, kind, namespace, name, pred, what, logs, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json", ok=False)
        obj = json.loads(result.stdout) if result.returncode == 0 else None
        if pred(obj):
            return obj
        time.sleep(0.3)
    tails = "\n".join(log.read_text()[-2000:] for log in logs)
    raise AssertionError(f"{kind} {namespace}/{name}: no {what} in {timeout} s: {json.dumps(obj)[:1500]}\n{tails}")


def reason(obj, type_):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c["status"], c["reason"], c["message"]
    return None


def test_helm_install_namespaced_profile_runs_a_pool_and_its_notebook_with_roles_only_there(cluster):
    """watchNamespaces: Roles only in the watched namespace; deleting a pool in use lists that
    namespace's Notebooks (a cluster-wide list would be a 403)."""
    release, ns, team = "modelarts-operator-ns", "ops", "ml-team-b"
    for namespace in [ns, team]:
        cluster.namespace(namespace)
    cluster.secret(ns, "hw")
    cluster.secret(team, "hwcloud-credentials")
    cluster.helm("install", release, CHART, "-n", ns, "--wait", "--timeout", "60s",
                 "--set", "credentials.existingSecret=hw", "--set", f"modelartsEndpoint={cluster.cloud_url}",
                 "--set", "region=cn-north-4", "--set", f"watchNamespaces={{{team}}}", "--set", "replicaCount=1")
    assert cluster.kubectl("get", "clusterrole", release, ok=False).returncode != 0, "no cluster-wide role"
    cluster.json("role", release, "-n", team)
    rows = check_as_service_account(cluster, release, ns, f"--watch-namespaces={team}")
    assert any(r["detail"] == f"may get, list, watch, patch in namespace {team}" for r in rows), rows
    cluster_wide = check_as_service_account(cluster, release, ns, ok=False)
    assert "not allowed to get, list, watch, patch (in all namespaces)" in {r["detail"] for r in cluster_wide}
    logs = cluster.operators(release, ns, replicas=1)
    before = {i["id"] for i in cluster.inventory()}

    for example in ["resource-pool.yaml", "notebook-on-pool.yaml"]:
        doc = yaml.safe_load((EXAMPLES / example).read_text())
        doc["metadata"]["namespace"] = team
        cluster.kubectl("apply", "-f", "-", input=json.dumps(doc))
    ready = lambda o: o is not None and cond(o, "Ready") == "True"  # noqa: E731
    pool = wait_for(cluster, "resourcepool", team, "gpu-pool", ready, "Ready", logs, timeout=90)
    nb = wait_for(cluster, "notebook", team, "pool-notebook", ready, "Ready", logs, timeout=90)
    ours = [i for i in cluster.inventory() if i["id"] not in before]
    assert sorted(i["kind"] for i in ours) == ["notebooks", "pools"], ours
    assert {i["id"] for i in ours} == {pool["status"]["cloudId"], nb["status"]["cloudId"]}

    cluster.kubectl("delete", "resourcepool", "gpu-pool", "-n", team, "--wait=false")
    busy = wait_for(cluster, "resourcepool", team, "gpu-pool",
                    lambda o: o is not None and (reason(o, "Ready") or ("", ""))[:2] == ("False", "InUse"),
                    "InUse", logs)
    assert f"{team}/pool-notebook" in reason(busy, "Ready")[2]
    assert len([i for i in cluster.inventory() if i["id"] not in before]) == 2, "both kept meanwhile"
    cluster.kubectl("delete", "notebook", "pool-notebook", "-n", team, "--wait=false")
    wait_for(cluster, "resourcepool", team, "gpu-pool", lambda o: o is None, "deletion", logs, timeout=90)
    assert [i for i in cluster.inventory() if i["id"] not in before] == [], "both deleted in the cloud"
    assert {i["id"] for i in cluster.inventory()} == before, "nobody else's resources touched"
    no_forbidden(logs)

    stop_operators(cluster)
    cluster.helm("uninstall", release, "-n", ns, "--wait", "--timeout", "60s")
    assert cluster.kubectl("get", "role", release, "-n", team, ok=False).returncode != 0
    for crd in CRDS:
        cluster.kubectl("get", "crd", crd)
