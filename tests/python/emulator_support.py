"""Start and stop the modelarts-emulator binary for the SDK conformance suites.

The binary is taken from $MODELARTS_EMULATOR_BIN or target/debug/modelarts-emulator. Each
fixture user gets a fresh emulator on a free port; `Emulator.ctl` drives the unsigned control
API under /_emulator/.
"""

import json
import os
import pathlib
import socket
import subprocess
import time
import urllib.request

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkmodelarts.v1 import ModelArtsClient

REPO = pathlib.Path(__file__).resolve().parents[2]
PROJECT_ID = "0123456789abcdef0123456789abcdef"
OTHER_PROJECT_ID = "fedcba9876543210fedcba9876543210"
AK, SK = "AKEXAMPLE", "SKEXAMPLE"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    def __init__(self):
        binary = os.environ.get("MODELARTS_EMULATOR_BIN") or str(REPO / "target" / "debug" / "modelarts-emulator")
        if not os.path.exists(binary):
            raise RuntimeError(f"{binary} not found: run `cargo build -p modelarts-emulator` first")
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [binary, "--listen", f"127.0.0.1:{port}", "--project-id", PROJECT_ID, "--ak", AK, "--sk", SK,
             "--progression", "immediate", "--auth-token", "test-iam-token"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"emulator did not start: {line!r} {self.proc.stderr.read()}")

    def ctl(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"{self.url}/_emulator{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")

    def client(self, project_id=PROJECT_ID, ak=AK, sk=SK):
        return (ModelArtsClient.new_builder()
                .with_credentials(BasicCredentials(ak, sk, project_id))
                .with_endpoints([self.url])
                .build())

    def stop(self):
        """SIGTERM must shut the emulator down cleanly (exit status 0)."""
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("emulator did not stop within 10 s of SIGTERM")
        assert code == 0, f"emulator exited with {code} on SIGTERM"


@pytest.fixture(scope="module")
def emulator():
    emu = Emulator()
    yield emu
    emu.stop()


@pytest.fixture
def emu(emulator):
    """A clean emulator (reset before each test) with immediate progression."""
    emulator.ctl("POST", "/reset")
    yield emulator


@pytest.fixture
def client(emu):
    return emu.client()


def wait_for(fn, predicate, tries=20):
    """Poll `fn` until `predicate(result)`; immediate progression needs one or two reads."""
    last = None
    for _ in range(tries):
        last = fn()
        if predicate(last):
            return last
        time.sleep(0.01)
    raise AssertionError(f"condition never met; last result: {last}")
