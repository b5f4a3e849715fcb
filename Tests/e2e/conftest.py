"""Harness for the end-to-end tests: the real `herald` binary on a free loopback port.

Every server a test starts is stopped by its PID when the test ends, pass or fail; its log is kept and shown
when the test fails.
"""
import ctypes
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# HERALD_BIN names the binary under test; the Makefile passes E2E_HERALD_BIN.
E2E_HERALD_BIN = (os.environ.get("HERALD_BIN") or os.environ.get("E2E_HERALD_BIN")
                  or str(REPO / ".build" / "release" / "herald"))
ARTIFACTS = REPO / "test-artifacts"

# A configuration most tests start from: anonymous clients may connect and subscribe to channels without a
# namespace; the API needs a key.
API_KEY = "test-api-key"


def base_config(**sections):
    config = {
        "http_api": {"key": API_KEY},
        "client": {"allow_anonymous_connect_without_token": True},
        "channel": {
            "without_namespace": {"allow_subscribe_for_client": True, "allow_subscribe_for_anonymous": True},
        },
    }
    for name, values in sections.items():
        config.setdefault(name, {}).update(values)
    return config


def die_with_parent():
    """Runs in the child before exec: if pytest itself dies (killed by CI), the kernel kills the server too.
    (The kernel watches the thread that started the server: start servers from the test's own thread.)"""
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Herald:
    """One running server process. `config` is a dict (written to a JSON file), a Path to a configuration
    file, or None for development mode (no --config)."""

    def __init__(self, config, port=None, workdir=None, env=None):
        self.port = port or free_port()
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="herald-e2e-"))
        self.log_path = self.workdir / f"herald-{self.port}.log"
        args = [E2E_HERALD_BIN, "serve", "--port", str(self.port), "--address", "127.0.0.1"]
        if isinstance(config, Path):  # a configuration file as it is
            args += ["--config", str(config)]
        elif config is not None:
            config_path = self.workdir / "config.json"
            config_path.write_text(json.dumps(config))
            args += ["--config", str(config_path)]
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(env or {})}, preexec_fn=die_with_parent)
        try:
            self._wait_healthy()
        except BaseException:
            self.stop(signal.SIGKILL)  # never leave a half-started server behind
            raise

    @property
    def ws_url(self):
        return f"ws://127.0.0.1:{self.port}/connection/websocket"

    @property
    def http_base(self):
        return f"http://127.0.0.1:{self.port}"

    def _wait_healthy(self, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"herald exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                status, _ = self.request("GET", "/health")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"herald did not become healthy in {timeout}s:\n{self.log_text()}")

    def connection(self):
        """A new HTTP connection to the server (HTTPS in the TLS tests)."""
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def request(self, method, path, body=None, headers=None):
        conn = self.connection()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def api(self, method, params, key=API_KEY):
        headers = {"X-API-Key": key} if key else {}
        status, body = self.request("POST", f"/api/{method}", json.dumps(params), headers)
        return status, json.loads(body) if body else None

    def log_text(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stops the process by its PID (SIGKILL after `timeout`); returns its exit status, or the string
        "hung" when it had to be killed, so a test asserting `stop() == 0` fails on a hang."""
        status = self.process.poll()
        if status is None:
            self.process.send_signal(sig)
            try:
                status = self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                status = "hung"
        if not self.log.closed:
            self.log.close()
        return status


@pytest.fixture
def start_herald(request):
    """Factory: start_herald(config) -> Herald (or `server_class`, a subclass). Everything started is stopped
    at teardown."""
    started = []

    def start(config, server_class=Herald, **kwargs):
        server = server_class(config, **kwargs)
        started.append(server)
        return server

    yield start
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    unclean = []
    for server in started:
        running = server.process.poll() is None
        status = server.stop()
        if running and status != 0:
            unclean.append(f"herald on port {server.port}: SIGTERM gave exit status {status}")
        if failed or (running and status != 0):
            print(f"--- herald log (port {server.port}, exit {status}) ---\n"
                  f"{server.log_path.read_text(errors='replace')}")
    # Every server a test leaves running must still shut down cleanly: exit 0 on SIGTERM, within 10 s.
    assert not unclean, "; ".join(unclean)


@pytest.fixture
def herald(start_herald):
    return start_herald(base_config())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
