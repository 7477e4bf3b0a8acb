"""Live collection against the raw-transfer floor, on the local control plane.

Loads ~5,000 pods over 100 namespaces (plus Services and NetworkPolicies) into
the control plane from hack.controlplane, then times:

  * kaudit's live collection (`collect_live`: paginated raw GETs, JSON parsing,
    the Snapshot model), and
  * the floor: bare HTTP GETs of the same lists with the same page size and the
    same per-kind concurrency, bodies read but not parsed (the continue token is
    picked out of the first bytes), and, for reference, `kubectl get --raw` of
    the unpaginated lists one after another.

Prints the medians, their ratio (goal: collection within 1.3x of the floor) and
the collector's peak memory. Starts the control plane if none is running (and
stops it again); on a cluster it did not start, it removes its namespaces after.

    python bench/bench_live.py [--pods 5000] [--namespaces 100] [--runs 5] [--keep]
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import urllib3

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from hack import controlplane  # noqa: E402
from kaudit.collect import Source  # noqa: E402
from kaudit.collect.live import collect_live  # noqa: E402

PREFIX = "bench-"
PAGE_SIZE = 500
# The lists collect_live issues for an unfiltered audit.
LISTS = (
    "/api/v1/namespaces",
    "/api/v1/pods",
    "/api/v1/services",
    "/apis/discovery.k8s.io/v1/endpointslices",
    "/apis/networking.k8s.io/v1/networkpolicies",
    "/apis/networking.k8s.io/v1/ingresses",
    "/apis/networking.k8s.io/v1/ingressclasses",
    "/apis/apps/v1/namespaces/kube-system/daemonsets",
)
_CONTINUE = re.compile(rb'"continue":"([^"]*)"')


class Api:
    """A keep-alive urllib3 client with the kubeconfig's token and CA."""

    def __init__(self, kubeconfig: Path) -> None:
        config = json.loads(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        self.server = str(cluster["server"])
        self.headers = {
            "Authorization": f"Bearer {config['users'][0]['user']['token']}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
        self.pool = urllib3.PoolManager(maxsize=32, ca_cert_data=ca, cert_reqs="CERT_REQUIRED")

    def request(self, method: str, path: str, body: Any = None) -> urllib3.BaseHTTPResponse:
        data = None if body is None else json.dumps(body).encode()
        return self.pool.request(
            method, self.server + path, body=data, headers=self.headers, retries=3
        )

    def create(self, path: str, body: dict[str, Any]) -> None:
        for _ in range(20):
            response = self.request("POST", path, body)
            if response.status in (200, 201, 409):
                return
            if response.status in (429, 500, 503) or b"serviceaccount" in response.data:
                time.sleep(0.2)  # throttled, or the namespace's ServiceAccount is not there yet
                continue
            raise RuntimeError(f"POST {path}: {response.status} {response.data[:300]!r}")
        raise RuntimeError(f"POST {path}: gave up")

    def count(self, path: str) -> int:
        """Objects in a list (remainingItemCount is not given for selector lists)."""
        total, token = 0, ""
        separator = "&" if "?" in path else "?"
        while True:
            query = f"{separator}limit=1000" + (f"&continue={token}" if token else "")
            body = json.loads(self.request("GET", path + query).data)
            total += len(body.get("items", []))
            token = body.get("metadata", {}).get("continue") or ""
            if not token:
                return total


# --- load ------------------------------------------------------------------------------


def objects(
    namespaces: int, pods: int, nodes: tuple[str, ...]
) -> Iterator[tuple[str, dict[str, Any]]]:
    per_namespace = max(1, pods // namespaces)
    for n in range(namespaces):
        ns = f"{PREFIX}{n:03d}"
        for i in range(per_namespace):
            app = f"app-{i % 5}"
            yield (
                f"/api/v1/namespaces/{ns}/pods",
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": f"pod-{i:03d}", "labels": {"app": app, "tier": "bench"}},
                    "spec": {
                        # Bound at creation: the scheduler stays out of the load.
                        "nodeName": nodes[(n * per_namespace + i) % len(nodes)],
                        "containers": [
                            {
                                "name": "app",
                                "image": "nginx:1.27",
                                "ports": [{"name": "http", "containerPort": 8080}],
                            }
                        ],
                    },
                },
            )
        for s in range(5):
            yield (
                f"/api/v1/namespaces/{ns}/services",
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": f"svc-{s}"},
                    "spec": {
                        "selector": {"app": f"app-{s}"},
                        "ports": [{"port": 80, "targetPort": "http"}],
                    },
                },
            )
        for p, policy in enumerate(
            [
                {"podSelector": {}, "policyTypes": ["Ingress"]},
                {
                    "podSelector": {"matchLabels": {"app": "app-0"}},
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "app-1"}}}]}],
                },
                {
                    "podSelector": {"matchLabels": {"tier": "bench"}},
                    "egress": [
                        {
                            "to": [{"namespaceSelector": {}}],
                            "ports": [{"port": 53, "protocol": "UDP"}],
                        }
                    ],
                },
            ]
        ):
            yield (
                f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": f"policy-{p}"},
                    "spec": policy,
                },
            )


def load(api: Api, namespaces: int, pods: int, nodes: tuple[str, ...]) -> None:
    existing = api.count("/api/v1/pods?labelSelector=tier%3Dbench")
    if existing >= pods:
        print(f"load: {existing} bench pods already present")
        return
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(
            pool.map(
                lambda n: api.create(
                    "/api/v1/namespaces",
                    {
                        "apiVersion": "v1",
                        "kind": "Namespace",
                        "metadata": {"name": f"{PREFIX}{n:03d}"},
                    },
                ),
                range(namespaces),
            )
        )
        list(pool.map(lambda item: api.create(*item), objects(namespaces, pods, nodes)))
    print(
        f"load: created {pods} pods in {namespaces} namespaces in {time.monotonic() - started:.1f}s"
    )
    wait_running(api, pods)


def wait_running(api: Api, pods: int, timeout: float = 600) -> None:
    """kwok marks the pods Running with IPs; the lists are only realistic after that."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    while time.monotonic() < deadline:
        running = api.count(
            "/api/v1/pods?labelSelector=tier%3Dbench&fieldSelector=status.phase%3DRunning"
        )
        if running >= pods:
            print(f"load: {running} pods Running after {time.monotonic() - started:.1f}s")
            return
        time.sleep(2)
    raise RuntimeError("pods did not become Running in time")


# --- measure ----------------------------------------------------------------------------


def raw_list(api: Api, path: str, page_size: int) -> int:
    """GET every page of one list; return the bytes transferred. No JSON parsing."""
    total, token = 0, b""
    while True:
        query = f"?limit={page_size}" + (f"&continue={token.decode()}" if token else "")
        response = api.pool.request("GET", api.server + path + query, headers=api.headers)
        data = response.data
        total += len(data)
        match = _CONTINUE.search(data, 0, 4096)
        token = match.group(1) if match else b""
        if not token:
            return total


def floor_paginated(kubeconfig: Path) -> int:
    """The lists fetched with the collector's concurrency (one thread per kind).

    A fresh connection pool each time: a collection (one `kaudit audit` run) starts
    without connections too, so both pay the same TLS handshakes.
    """
    api = Api(kubeconfig)
    with ThreadPoolExecutor(max_workers=len(LISTS)) as pool:
        return sum(pool.map(lambda path: raw_list(api, path, PAGE_SIZE), LISTS))


def kubectl_raw(kubectl: str, kubeconfig: Path) -> None:
    for path in LISTS:
        subprocess.run(
            [kubectl, "--kubeconfig", str(kubeconfig), "get", "--raw", path],
            stdout=subprocess.DEVNULL,
            check=True,
        )


def timed_pair(
    first: Callable[[], Any], second: Callable[[], Any], runs: int
) -> tuple[list[float], list[float]]:
    """Alternate the two, so drift in machine load hits both alike; one warm-up each."""
    first()
    second()
    a: list[float] = []
    b: list[float] = []
    for _ in range(runs):
        for function, samples in ((first, a), (second, b)):
            started = time.perf_counter()
            function()
            samples.append(time.perf_counter() - started)
    return a, b


def timed(function: Callable[[], Any], runs: int) -> list[float]:
    function()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=5000)
    parser.add_argument("--namespaces", type=int, default=100)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--keep", action="store_true", help="leave the bench namespaces in place")
    args = parser.parse_args()

    started_here = not controlplane.is_live()
    if started_here:
        controlplane.build()
        controlplane.up()
    kubeconfig = controlplane.KUBECONFIG_PATH
    api = Api(kubeconfig)
    try:
        load(api, args.namespaces, args.pods, controlplane.FAKE_NODES)
        source = Source(kubeconfig=str(kubeconfig), page_size=PAGE_SIZE)

        snapshot = collect_live(source)
        nbytes = floor_paginated(kubeconfig)
        print(
            f"data: {len(snapshot.pods)} pods, {len(snapshot.services)} services, "
            f"{len(snapshot.endpoint_slices)} endpoint slices, "
            f"{len(snapshot.network_policies)} network policies, "
            f"{len(snapshot.namespaces)} namespaces; {nbytes / 1e6:.1f} MB of JSON per collection"
        )
        collect_samples, floor_samples = timed_pair(
            lambda: collect_live(source), lambda: floor_paginated(kubeconfig), args.runs
        )
        collect_median = statistics.median(collect_samples)
        floor_median = statistics.median(floor_samples)
        kubectl = str(controlplane.binary_path("kubectl"))
        kubectl_median = statistics.median(
            timed(lambda: kubectl_raw(kubectl, kubeconfig), max(1, args.runs // 3))
        )

        tracemalloc.start()
        collect_live(source)
        _, peak_python = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

        ratio = collect_median / floor_median
        print(
            f"live collection (collect_live)      median {collect_median:.3f}s  runs {_fmt(collect_samples)}"
        )
        print(
            f"raw floor (same GETs, no parsing)   median {floor_median:.3f}s  runs {_fmt(floor_samples)}"
        )
        print(f"kubectl get --raw, lists in a row   median {kubectl_median:.3f}s")
        print(
            f"ratio collection / raw floor: {ratio:.2f}x (goal <= 1.30x) {'OK' if ratio <= 1.3 else 'OVER'}"
        )
        print(
            f"peak memory: {peak_python / 1e6:.0f} MB Python heap during one collection "
            f"(tracemalloc), {peak_rss / 1e6:.0f} MB process RSS"
        )
    finally:
        if started_here:
            controlplane.down()
        elif not args.keep:
            for n in range(args.namespaces):
                api.request("DELETE", f"/api/v1/namespaces/{PREFIX}{n:03d}")
    return 0


def _fmt(samples: list[float]) -> str:
    return " ".join(f"{s:.3f}" for s in samples)


if __name__ == "__main__":
    sys.exit(main())
