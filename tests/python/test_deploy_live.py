"""The Argo CD health check (deploy/helm/modelarts-operator/docs/argocd-health.lua), run with a
Lua 5.1 interpreter (lupa) on CR states the real operator wrote: the `modelarts-operator run`,
`kube-emulator` and `modelarts-emulator` binaries as processes, objects applied with kubectl."""

import json
import os
import pathlib
import socket
import subprocess
import tempfile
import time

import pytest
from lupa import lua51

REPO = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target") / "debug"
LUA = (REPO / "deploy" / "helm" / "modelarts-operator" / "docs" / "argocd-health.lua").read_text()
PROJECT = "0123456789abcdef0123456789abcdef"
GOOD_IMAGE = "e1a07296-22a8-4f05-8bc8-e936c8e54090"
MISSING_IMAGE = "00000000-0000-4000-8000-000000000000"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    def __init__(self, tmp):
        self.tmp = pathlib.Path(tmp)
        self.kubeconfig = self.tmp / "kubeconfig"
        self.procs = []
        kube = self.start([BIN / "kube-emulator", "--listen", "127.0.0.1:0", "--kubeconfig", self.kubeconfig],
                          "kube.log", wait_for="listening on")
        cloud_port = free_port()
        self.cloud_url = f"http://127.0.0.1:{cloud_port}"
        # Creation takes 3 s of emulated progress, so Progressing is observable.
        self.start([BIN / "modelarts-emulator", "--listen", f"127.0.0.1:{cloud_port}", "--project-id", PROJECT,
                    "--ak", "AKLIVE", "--sk", "SKLIVE", "--progression", "millis:3000"],
                   "cloud.log", wait_for="listening on")
        del kube
        self.kubectl("apply", "-f", REPO / "crds")
        self.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=30s")
        self.kubectl("create", "namespace", "live")
        env = dict(os.environ, HUAWEICLOUD_SDK_AK="AKLIVE", HUAWEICLOUD_SDK_SK="SKLIVE")
        self.operator_log = self.tmp / "operator.log"
        self.start([BIN / "modelarts-operator", "run", "--kubeconfig", self.kubeconfig,
                    "--modelarts-endpoint", self.cloud_url, "--region", "cn-north-4", "--project-id", PROJECT,
                    "--listen", f"127.0.0.1:{free_port()}", "--waiting-millis", "300", "--poll-seconds", "2"],
                   "operator.log", env=env)

    def start(self, cmd, log, wait_for=None, env=None):
        out = open(self.tmp / log, "w")
        proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE if wait_for else out,
                                stderr=out, text=True, env=env)
        self.procs.append(proc)
        if wait_for:
            line = proc.stdout.readline()
            assert wait_for in line, f"{cmd[0]} did not start: {line!r}"
        return proc

    def kubectl(self, *args, input=None):
        result = subprocess.run(["kubectl", "--kubeconfig", str(self.kubeconfig), *map(str, args)],
                                input=input, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def notebook(self, name, image):
        doc = {"apiVersion": "modelarts.operator.dev/v1alpha1", "kind": "Notebook",
               "metadata": {"name": name, "namespace": "live"},
               "spec": {"flavor": "modelarts.vm.cpu.2u", "image": {"id": image},
                        "volume": {"category": "EVS", "ownership": "MANAGED"}}}
        self.kubectl("apply", "-f", "-", input=json.dumps(doc))

    def get(self, name):
        return json.loads(self.kubectl("get", "notebook", name, "-n", "live", "-o", "json"))

    def wait(self, name, pred, what, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            obj = self.get(name)
            if pred(obj):
                return obj
            time.sleep(0.2)
        raise AssertionError(f"{name}: no {what} state within {timeout} s; last: {json.dumps(obj)[:2000]}\n"
                             f"{self.operator_log.read_text()[-3000:]}")

    def stop(self):
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def cond(obj, type_):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return c["status"]
    return None


@pytest.fixture(scope="module")
def stack():
    if not (BIN / "modelarts-operator").exists():
        pytest.fail(f"{BIN}/modelarts-operator missing: cargo build --workspace --bins")
    with tempfile.TemporaryDirectory() as tmp:
        s = Stack(tmp)
        yield s
        s.stop()


def health(obj):
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)

    def table(value):
        if isinstance(value, dict):
            return lua.table_from({k: table(v) for k, v in value.items() if v is not None})
        if isinstance(value, list):
            return lua.table_from([table(v) for v in value])
        return value

    lua.globals().obj = table(obj)
    result = lua.execute(LUA)
    return result["status"], result["message"]


def test_argocd_health_follows_the_operators_conditions(stack):
    stack.notebook("nb-good", GOOD_IMAGE)
    creating = stack.wait("nb-good", lambda o: cond(o, "Reconciling") == "True", "Reconciling")
    assert cond(creating, "Ready") == "False"
    assert creating["status"]["observedGeneration"] == creating["metadata"]["generation"]
    assert health(creating)[0] == "Progressing", health(creating)
    ready = stack.wait("nb-good", lambda o: cond(o, "Ready") == "True", "Ready")
    assert cond(ready, "Reconciling") == "False" and cond(ready, "Stalled") == "False"
    assert health(ready)[0] == "Healthy", health(ready)

    stack.notebook("nb-missing-image", MISSING_IMAGE)
    stalled = stack.wait("nb-missing-image", lambda o: cond(o, "Stalled") == "True", "Stalled")
    assert cond(stalled, "Reconciling") == "False"
    status, message = health(stalled)
    assert status == "Degraded", (status, message)

    # A spec change the operator has not seen yet is Progressing, whatever the old conditions say.
    stale = dict(ready, metadata=dict(ready["metadata"], generation=ready["metadata"]["generation"] + 1))
    assert health(stale)[0] == "Progressing"
    assert health({"metadata": {"name": "new", "generation": 1}})[0] == "Progressing"



def test_kubectl_apply_k_installs_the_kustomize_base_into_kube_emulator():
    with tempfile.TemporaryDirectory() as tmp:
        kubeconfig = pathlib.Path(tmp) / "kubeconfig"
        kube = subprocess.Popen([str(BIN / "kube-emulator"), "--listen", "127.0.0.1:0", "--kubeconfig",
                                 str(kubeconfig)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert "listening on" in kube.stdout.readline()

            def kubectl(*args):
                result = subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *map(str, args)],
                                        capture_output=True, text=True, timeout=60)
                assert result.returncode == 0, result.stdout + result.stderr
                return result.stdout

            out = kubectl("apply", "-k", REPO / "deploy" / "manifests")
            for created in ["namespace/modelarts-system", "serviceaccount/modelarts-operator",
                            "clusterrole.rbac.authorization.k8s.io/modelarts-operator",
                            "deployment.apps/modelarts-operator", "poddisruptionbudget.policy/modelarts-operator",
                            "customresourcedefinition.apiextensions.k8s.io/notebooks.modelarts.operator.dev"]:
                assert f"{created} created" in out, out
            again = kubectl("apply", "-k", REPO / "deploy" / "manifests")
            assert "created" not in again, again
            deploy = json.loads(kubectl("get", "deployment", "modelarts-operator", "-n", "modelarts-system",
                                        "-o", "json"))
            assert "--leader-elect" in deploy["spec"]["template"]["spec"]["containers"][0]["args"]
        finally:
            kube.terminate()
            kube.wait(timeout=10)


HELM = REPO / ".tools" / "bin" / "helm"
PG_BIN = pathlib.Path("/usr/lib/postgresql/15/bin")
RELEASE_CHART = REPO / "tests" / "deploy" / "notebook-release"


@pytest.fixture(scope="module")
def postgres():
    """Helm's release storage. kube-emulator cannot hold it yet (Helm stores releases in Secrets
    with protobuf bodies), so the SQL driver on a throwaway loopback PostgreSQL holds it."""
    if not (PG_BIN / "initdb").exists():
        pytest.fail("PostgreSQL 15 (Debian postgresql-15) is needed for Helm's SQL release storage")
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)
        as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        data = pathlib.Path(tmp) / "data"
        subprocess.run([*as_pg, PG_BIN / "initdb", "-D", data, "-A", "trust", "-U", "postgres"],
                       check=True, capture_output=True)
        port = free_port()
        subprocess.run([*as_pg, PG_BIN / "pg_ctl", "-D", data, "-l", pathlib.Path(tmp) / "pg.log", "-w", "-o",
                        f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1", "start"],
                       check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres?sslmode=disable"
        subprocess.run([*as_pg, PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)


def helm(stack, pg, *args, timeout=180):
    home = stack.tmp / "helm"
    env = dict(os.environ, HELM_DRIVER="sql", HELM_DRIVER_SQL_CONNECTION_STRING=pg,
               KUBECONFIG=str(stack.kubeconfig), HELM_CACHE_HOME=str(home / "cache"),
               HELM_CONFIG_HOME=str(home / "config"), HELM_DATA_HOME=str(home / "data"))
    started = time.time()
    result = subprocess.run([str(HELM), *map(str, args)], env=env, capture_output=True, text=True,
                            timeout=timeout)
    return result, time.time() - started


def test_helm4_wait_waits_for_a_notebook_to_become_ready(stack, postgres):
    result, took = helm(stack, postgres, "install", "nb-helm-good", RELEASE_CHART, "-n", "live",
                        "--set", "name=nb-helm-good", "--wait", "--timeout", "90s",
                        "--disable-openapi-validation")
    assert result.returncode == 0, result.stdout + result.stderr
    obj = stack.get("nb-helm-good")
    assert cond(obj, "Ready") == "True", f"helm returned after {took:.1f} s before Ready: {obj.get('status')}"
    assert took >= 2.5, f"the cloud needs 3 s to create the notebook; helm returned after {took:.1f} s"


def test_helm4_wait_fails_fast_on_a_notebook_the_cloud_refuses(stack, postgres):
    result, took = helm(stack, postgres, "install", "nb-helm-bad", RELEASE_CHART, "-n", "live",
                        "--set", "name=nb-helm-bad", "--set", f"image={MISSING_IMAGE}",
                        "--wait", "--timeout", "120s", "--disable-openapi-validation")
    assert result.returncode != 0, result.stdout + result.stderr
    assert took < 60, f"helm waited {took:.1f} s: it should fail on Stalled=True, not at the timeout"
    assert cond(stack.get("nb-helm-bad"), "Stalled") == "True"
