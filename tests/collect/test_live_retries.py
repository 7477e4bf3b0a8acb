"""Retries, backoff and timeouts of the live collector.

A real API server does not answer 429 or 503 on demand, so these tests talk to a
small loopback HTTP server that plays one: healthy answers for discovery and
lists, and the failures each test scripts.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from kaudit.collect import Source
from kaudit.collect.live import collect_live
from kaudit.collect.live.client import DeadlineExceeded
from kaudit.errors import ClusterError, ExitCode


class FlakyApiServer(BaseHTTPRequestHandler):
    # path -> list of (status, headers, delay) to answer before the healthy answer
    failures: ClassVar[dict[str, list[tuple[int, dict[str, str], float]]]] = {}
    # path -> a raw 200 body, for answers a real API server never sends
    bodies: ClassVar[dict[str, bytes]] = {}
    # path -> seconds between the bytes of its body (a trickling server)
    trickle: ClassVar[dict[str, float]] = {}
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.requests.append(path)
        if path in self.bodies:
            self._send_raw(200, self.bodies[path], {}, self.trickle.get(path, 0.0))
            return
        scripted = self.failures.get(path)
        if scripted:
            status, headers, delay = scripted.pop(0) if len(scripted) > 1 else scripted[0]
            time.sleep(delay)
            if status:
                self._send(status, {"kind": "Status", "message": "scripted"}, headers)
                return
        if path == "/version":
            self._send(200, {"gitVersion": "v1.36.3"})
        elif path.endswith("/apis/discovery.k8s.io/v1"):
            self._send(200, {"kind": "APIResourceList", "resources": []})
        elif path == "/api/v1/pods":
            pod = {
                "metadata": {"name": "p", "namespace": "default"},
                "status": {"phase": "Running"},
            }
            self._send(200, {"metadata": {}, "items": [pod]})
        else:
            self._send(200, {"metadata": {}, "items": []})

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        path = self.path.split("?", 1)[0]
        self._send_raw(status, json.dumps(body).encode(), headers, self.trickle.get(path, 0.0))

    def _send_raw(
        self, status: int, data: bytes, headers: dict[str, str] | None, per_byte: float
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        # The client may have given up already (the timeout tests).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            if not per_byte:
                self.wfile.write(data)
                return
            for index in range(len(data)):
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
                time.sleep(per_byte)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def flaky_server(tmp_path: Path) -> Iterator[Path]:
    """A kubeconfig pointing at the stub server."""
    FlakyApiServer.failures = {}
    FlakyApiServer.bodies = {}
    FlakyApiServer.trickle = {}
    FlakyApiServer.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyApiServer)
    server.block_on_close = False  # do not wait for a handler still sleeping
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "stub", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}
        ],
        "users": [{"name": "stub", "user": {"token": "t"}}],
        "contexts": [{"name": "stub", "context": {"cluster": "stub", "user": "stub"}}],
        "current-context": "stub",
    }
    path = tmp_path / "stub.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    yield path
    server.shutdown()
    server.server_close()


def test_429_and_503_are_retried(flaky_server: Path) -> None:
    FlakyApiServer.failures["/api/v1/pods"] = [
        (429, {"Retry-After": "0"}, 0.0),
        (503, {}, 0.0),
        (0, {}, 0.0),  # then healthy
    ]
    snapshot = collect_live(Source(kubeconfig=str(flaky_server)))
    assert [p.name for p in snapshot.pods] == ["p"]
    assert FlakyApiServer.requests.count("/api/v1/pods") == 3


def test_retries_stop_at_the_budget(flaky_server: Path) -> None:
    FlakyApiServer.failures["/api/v1/services"] = [(503, {}, 0.0)]  # always
    started = time.monotonic()
    with pytest.raises(ClusterError, match="HTTP 503"):
        collect_live(Source(kubeconfig=str(flaky_server)), retry_budget=1.5)
    elapsed = time.monotonic() - started
    assert elapsed < 5
    assert FlakyApiServer.requests.count("/api/v1/services") >= 3  # backed off, retried


def test_request_timeout_is_honoured(flaky_server: Path) -> None:
    FlakyApiServer.failures["/apis/networking.k8s.io/v1/networkpolicies"] = [(200, {}, 3.0)]
    started = time.monotonic()
    with pytest.raises(ClusterError, match=r"did not answer within 1s"):
        collect_live(Source(kubeconfig=str(flaky_server), request_timeout=1))
    assert time.monotonic() - started < 3


def test_forbidden_discovery_still_uses_endpoint_slices(flaky_server: Path) -> None:
    FlakyApiServer.failures["/apis/discovery.k8s.io/v1"] = [(403, {}, 0.0)]
    collect_live(Source(kubeconfig=str(flaky_server)))
    assert "/apis/discovery.k8s.io/v1/endpointslices" in FlakyApiServer.requests
    assert "/api/v1/endpoints" not in FlakyApiServer.requests


def test_old_server_without_slices_falls_back_to_endpoints(flaky_server: Path) -> None:
    FlakyApiServer.failures["/apis/discovery.k8s.io/v1"] = [(404, {}, 0.0)]
    snapshot = collect_live(Source(kubeconfig=str(flaky_server)))
    assert "/api/v1/endpoints" in FlakyApiServer.requests
    assert "/apis/discovery.k8s.io/v1/endpointslices" not in FlakyApiServer.requests
    assert snapshot.warnings == ()


# --- bounded time --------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kaudit", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_request_timeout_bounds_a_trickling_answer(flaky_server: Path) -> None:
    # Each byte arrives well within the timeout; the whole answer would take minutes.
    path = "/apis/networking.k8s.io/v1/networkpolicies"
    FlakyApiServer.bodies[path] = b'{"metadata": {}, "items": []}' + b" " * 1000
    FlakyApiServer.trickle[path] = 0.1
    started = time.monotonic()
    with pytest.raises(ClusterError, match=r"did not answer within 2s \(--request-timeout\)"):
        collect_live(Source(kubeconfig=str(flaky_server), request_timeout=2))
    assert time.monotonic() - started < 3.5


def test_the_total_deadline_ends_a_collection_of_slow_answers(flaky_server: Path) -> None:
    # Every request would end within --request-timeout, but not the collection.
    FlakyApiServer.failures["/api/v1/services"] = [(0, {}, 10.0)]
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"within --timeout 2s"):
        collect_live(Source(kubeconfig=str(flaky_server), request_timeout=30, timeout=2))
    assert time.monotonic() - started < 3


def test_the_deadline_stops_retries(flaky_server: Path) -> None:
    FlakyApiServer.failures["/api/v1/services"] = [(503, {}, 0.0)]  # always
    started = time.monotonic()
    with pytest.raises(ClusterError):
        collect_live(Source(kubeconfig=str(flaky_server), timeout=1.5))
    assert time.monotonic() - started < 2.5


def test_cli_deadline_is_one_line_and_exit_3(flaky_server: Path) -> None:
    path = "/api/v1/pods"
    FlakyApiServer.bodies[path] = b'{"metadata": {}, "items": []}' + b" " * 1000
    FlakyApiServer.trickle[path] = 0.5
    started = time.monotonic()
    proc = run_cli("audit", "--kubeconfig", str(flaky_server), "--timeout", "2", "--quiet")
    assert time.monotonic() - started < 10  # the interpreter's start included
    assert proc.returncode == ExitCode.CLUSTER, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "within --timeout 2s" in proc.stderr


# --- answers that do not match the schema --------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"metadata": {}, "items": "not a list"}',
        b'{"metadata": {}, "items": [42]}',
        b'{"metadata": {}, "items": [{"metadata": {"name": ["p"]}}]}',
        b"[]",
    ],
    ids=["items-a-string", "item-a-number", "name-a-list", "page-a-list"],
)
def test_a_page_that_does_not_match_the_schema_names_the_kind(
    flaky_server: Path, body: bytes
) -> None:
    FlakyApiServer.bodies["/api/v1/pods"] = body
    with pytest.raises(ClusterError, match=r"^cannot read Pods from .*/api/v1/pods: "):
        collect_live(Source(kubeconfig=str(flaky_server)))


def test_cli_malformed_page_is_one_line_and_exit_3(flaky_server: Path) -> None:
    FlakyApiServer.bodies["/apis/networking.k8s.io/v1/ingresses"] = b'{"items": {"a": 1}}'
    proc = run_cli("audit", "--kubeconfig", str(flaky_server), "--quiet")
    assert proc.returncode == ExitCode.CLUSTER, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "Ingresses" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_namespace_that_does_not_match_the_schema_is_exit_3(flaky_server: Path) -> None:
    FlakyApiServer.bodies["/api/v1/namespaces/shop"] = b'{"metadata": ["not", "a", "mapping"]}'
    with pytest.raises(ClusterError, match=r"^cannot read Namespace shop from .*does not match"):
        collect_live(Source(kubeconfig=str(flaky_server), namespaces=("shop",)))
