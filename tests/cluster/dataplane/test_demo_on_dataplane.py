"""The insecure demo cluster on real packets.

The demo's manifests (kaudit/demo/insecure) applied with its pods on the dataplane
node, then every container port the demo declares probed between every pair of its
pods and compared with `kaudit reach` on the live cluster. The demo's kube-system
file is left out: it would replace the control plane's own CoreDNS, and kube-system
has no policy. hostNetwork pods share the node's address, so nothing wires them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hack.dataplane.plane import Dataplane
from tests.cluster.dataplane.dataplane_kit import Tally, check_matrix, manifest

# `cluster` too: the control plane is requested inside the `dataplane` fixture.
pytestmark = [pytest.mark.dataplane, pytest.mark.cluster]

DEMO = Path(__file__).resolve().parents[3] / "kaudit" / "demo" / "insecure"
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")


def _documents() -> list[dict[str, Any]]:
    return [
        doc
        for path in sorted(DEMO.glob("*.yaml"))
        # Not the Gateway API file: the dataplane cluster has no Gateway CRDs.
        if path.name not in ("kube-system.yaml", "gateway.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def _pinned(docs: list[dict[str, Any]], node: str) -> list[dict[str, Any]]:
    """Every pod of the demo on `node` (DaemonSets then run one pod, there)."""
    for doc in docs:
        if doc["kind"] in WORKLOADS:
            doc["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.io/hostname": node}
        elif doc["kind"] == "Pod":
            doc["spec"]["nodeName"] = node
    return docs


def _pod_specs(docs: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(how many pods, pod spec) for every workload and bare pod."""
    specs = []
    for doc in docs:
        if doc["kind"] in WORKLOADS:
            replicas = 1 if doc["kind"] == "DaemonSet" else int(doc["spec"].get("replicas", 1))
            specs.append((replicas, doc["spec"]["template"]["spec"]))
        elif doc["kind"] == "Pod":
            specs.append((1, doc["spec"]))
    return specs


DOCS = _documents()
NAMESPACES = sorted(d["metadata"]["name"] for d in DOCS if d["kind"] == "Namespace")
POLICIES = [d for d in DOCS if d["kind"] == "NetworkPolicy"]
WIRED_PODS = sum(n for n, spec in _pod_specs(DOCS) if not spec.get("hostNetwork"))
PORTS = sorted(
    {
        (int(port["containerPort"]), str(port.get("protocol", "TCP")))
        for n, spec in _pod_specs(DOCS)
        if not spec.get("hostNetwork")
        for container in spec["containers"]
        for port in container.get("ports", [])
    }
)


@pytest.fixture(scope="module")
def demo(dataplane: Dataplane) -> Iterator[list[str]]:
    kube = dataplane.kube
    kube.wait_for(
        "the demo's namespaces of an earlier test to be gone",
        lambda: (
            kube.run("get", "namespaces", *NAMESPACES, "--ignore-not-found", "-o", "name") == ""
        ),
        timeout=180,
    )
    kube.apply(manifest(_pinned(_documents(), dataplane.state.node)))
    try:
        wired = dataplane.wire_namespaces(NAMESPACES, expected=WIRED_PODS)
        dataplane.sync()
        yield sorted(wired)
    finally:
        dataplane.unwire_namespaces(NAMESPACES)
        for ns in NAMESPACES:
            kube.run(
                "delete", "pods", "--all", "-n", ns, "--grace-period=0", "--force", check=False
            )
        kube.run("delete", "namespace", *NAMESPACES, "--wait=false", check=False)


@pytest.mark.parametrize(("port", "protocol"), PORTS, ids=[f"{p}-{proto}" for p, proto in PORTS])
def test_demo_port_on_real_packets(
    dataplane: Dataplane, demo: list[str], tally: Tally, port: int, protocol: str
) -> None:
    assert len(demo) == WIRED_PODS
    wrong = check_matrix(tally, dataplane, "demo", demo, port, protocol, POLICIES)
    assert wrong == []
