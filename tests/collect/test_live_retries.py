"""Retries, backoff and timeouts of the live collector.

A real API server does not answer 429 or 503 on demand, so these tests talk to a
small loopback HTTP server that plays one: healthy answers for discovery and
lists, and the failures each test scripts.
"""

from __future__ import annotations

import contextlib
import json
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
from kaudit.errors import ClusterError


class FlakyApiServer(BaseHTTPRequestHandler):
    # path -> list of (status, headers, delay) to answer before the healthy answer
    failures: ClassVar[dict[str, list[tuple[int, dict[str, str], float]]]] = {}
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.requests.append(path)
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
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        # The client may have given up already (the timeout test).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def flaky_server(tmp_path: Path) -> Iterator[Path]:
    """A kubeconfig pointing at the stub server."""
    FlakyApiServer.failures = {}
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
