"""Start and stop the kube-emulator binary for suites driven by the official `kubernetes` client.

The binary is $KUBE_EMULATOR_BIN, else $CARGO_TARGET_DIR/debug/kube-emulator, else
target/debug/kube-emulator. Each test module gets a fresh emulator on a free port and a
kubeconfig for it; `KubeEmulator.api_client()` builds a `kubernetes.client.ApiClient`.
"""

import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest
from kubernetes import client, config

REPO = pathlib.Path(__file__).resolve().parents[2]


def _binary():
    if os.environ.get("KUBE_EMULATOR_BIN"):
        return os.environ["KUBE_EMULATOR_BIN"]
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    return str(target / "debug" / "kube-emulator")


def kubectl_binary():
    return "/usr/bin/kubectl" if os.path.exists("/usr/bin/kubectl") else shutil.which("kubectl")


class KubeEmulator:
    def __init__(self):
        binary = _binary()
        if not os.path.exists(binary):
            raise RuntimeError(f"{binary} not found: run `cargo build -p kube-emulator` first")
        self.dir = tempfile.mkdtemp(prefix="kube-emulator-py-")
        self.kubeconfig = os.path.join(self.dir, "config")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--kubeconfig", self.kubeconfig],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"kube-emulator did not start: {line!r} {self.proc.stderr.read()}")
        self.url = line.strip().split("listening on ")[1]

    def api_client(self):
        return config.new_client_from_config(config_file=self.kubeconfig)

    def kubectl(self, *args, stdin=None, check=True):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig, HOME=self.dir)
        out = subprocess.run([kubectl_binary(), *args], input=stdin, capture_output=True, text=True, env=env,
                             timeout=60)
        if check and out.returncode != 0:
            raise AssertionError(f"kubectl {args} failed: {out.stderr}{out.stdout}")
        return out

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def kube():
    emu = KubeEmulator()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def api(kube):
    with kube.api_client() as api_client:
        yield api_client


WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.test.emulator.dev"},
    "spec": {
        "group": "test.emulator.dev",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "description": "A test resource.",
                "properties": {"spec": {"type": "object", "description": "Desired state.", "properties": {
                    "size": {"type": "integer", "minimum": 1, "description": "How big the widget is."}}}},
            }},
        }],
    },
}


def ensure_widget_crd(api_client):
    ext = client.ApiextensionsV1Api(api_client)
    try:
        ext.create_custom_resource_definition(WIDGET_CRD)
    except client.ApiException as e:
        if e.status != 409:
            raise
