"""Small clusters from YAML text, for table-driven engine tests."""

from __future__ import annotations

from typing import Any

import yaml

from kaudit.model import (
    ADMIN_POLICY_KINDS,
    AdminPolicy,
    ClusterFacts,
    Namespace,
    NetworkPolicy,
    Node,
    Pod,
    Snapshot,
)
from kaudit.netpol import PolicyEngine


def cluster(text: str) -> Snapshot:
    """Namespaces, Pods, NetworkPolicies, admin policies and Nodes from YAML documents,
    through `from_raw`."""
    docs: list[dict[str, Any]] = [d for d in yaml.safe_load_all(text) if d]
    namespaces = {
        ns.name: ns for ns in (Namespace.from_raw(d) for d in docs if d["kind"] == "Namespace")
    }
    pods = [Pod.from_raw(d) for d in docs if d["kind"] == "Pod"]
    policies = [NetworkPolicy.from_raw(d) for d in docs if d["kind"] == "NetworkPolicy"]
    objects: list[Pod | NetworkPolicy] = [*pods, *policies]
    for obj in objects:
        namespaces.setdefault(obj.namespace, Namespace.implicit(obj.namespace))
    return Snapshot(
        facts=ClusterFacts(source="manifests"),
        namespaces=tuple(sorted(namespaces.values(), key=lambda n: n.name)),
        pods=tuple(pods),
        network_policies=tuple(policies),
        admin_policies=tuple(
            AdminPolicy.from_raw(d["kind"], d) for d in docs if d["kind"] in ADMIN_POLICY_KINDS
        ),
        nodes=tuple(Node.from_raw(d) for d in docs if d["kind"] == "Node"),
    )


def pod_doc(
    key: str,
    labels: dict[str, str] | None = None,
    ports: list[tuple[int, str, str | None]] | None = None,
    ips: list[str] | None = None,
    host_network: bool = False,
    node: str | None = None,
    phase: str = "Running",
) -> str:
    """One Pod as a YAML document: `ports` are (number, protocol, name)."""
    namespace, name = key.split("/")
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "main",
                "ports": [
                    {"containerPort": n, "protocol": p, **({"name": nm} if nm else {})}
                    for n, p, nm in ports or []
                ],
            }
        ]
    }
    if host_network:
        spec["hostNetwork"] = True
    if node:
        spec["nodeName"] = node
    status: dict[str, Any] = {"phase": phase}
    if ips:
        status["podIP"] = ips[0]
        status["podIPs"] = [{"ip": ip} for ip in ips]
    doc = {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec,
        "status": status,
    }
    return "---\n" + yaml.safe_dump(doc)


def namespace_doc(name: str, labels: dict[str, str] | None = None) -> str:
    return "---\n" + yaml.safe_dump(
        {"kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}
    )


class Cluster:
    """A snapshot, its engine, and pods by "namespace/name"."""

    def __init__(self, text: str) -> None:
        self.snapshot = cluster(text)
        self.engine = PolicyEngine(self.snapshot)
        self.pods = {p.key: p for p in self.snapshot.pods}

    def allowed(self, src: str, dst: str, port: int | str, protocol: str = "TCP") -> bool:
        from kaudit.model import Protocol

        return self.engine.check(self.pods[src], self.pods[dst], port, Protocol(protocol)).allowed

    def __getitem__(self, key: str) -> Pod:
        return self.pods[key]
