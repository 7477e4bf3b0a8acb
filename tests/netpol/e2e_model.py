"""The cluster of the upstream Kubernetes NetworkPolicy e2e tests, as manifests.

test/e2e/network/netpol builds namespaces x, y, z (labelled ns=<name>, plus the
kubernetes.io/metadata.name label the API server adds), each with pods a, b, c
(labelled pod=<name>). Every pod has one container per port and protocol
(80 and 81 on TCP, UDP and SCTP) whose port is named serve-<port>-<protocol>.
Expectations are truth tables over every pod pair; pods always reach themselves.

`Truth` mirrors the upstream expectation helpers (ExpectPeer, ExpectAllIngress,
ExpectAllEgress, Expect), written here from their documented behaviour.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

NAMESPACES = ("x", "y", "z")
PODS = ("a", "b", "c")
PORTS = (80, 81)
PROTOCOLS = ("TCP", "UDP", "SCTP")


def pod_ip(namespace: str, pod: str) -> str:
    return f"10.244.{NAMESPACES.index(namespace) + 1}.{PODS.index(pod) + 10}"


def cluster_objects(
    namespace_labels: dict[str, dict[str, str]] | None = None,
    pod_labels: dict[str, dict[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Namespaces and pods; `namespace_labels`/`pod_labels` add labels (as the upstream
    tests that update labels do), keyed by namespace and by "ns/pod"."""
    namespace_labels = namespace_labels or {}
    pod_labels = pod_labels or {}
    objects: list[dict[str, Any]] = []
    for ns in NAMESPACES:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"ns": ns, **namespace_labels.get(ns, {})}},
            }
        )
        for pod in PODS:
            containers = [
                {
                    "name": f"cont-{port}-{proto.lower()}",
                    "image": "registry.k8s.io/e2e-test-images/agnhost:2.53",
                    "ports": [
                        {
                            "containerPort": port,
                            "name": f"serve-{port}-{proto.lower()}",
                            "protocol": proto,
                        }
                    ],
                }
                for port in PORTS
                for proto in PROTOCOLS
            ]
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": pod,
                        "namespace": ns,
                        "labels": {"pod": pod, **pod_labels.get(f"{ns}/{pod}", {})},
                    },
                    "spec": {"containers": containers},
                    "status": {
                        "phase": "Running",
                        "podIP": pod_ip(ns, pod),
                        "podIPs": [{"ip": pod_ip(ns, pod)}],
                    },
                }
            )
    return objects


def write_cluster(
    directory: Path,
    policies_yaml: str,
    namespace_labels: dict[str, dict[str, str]] | None = None,
    pod_labels: dict[str, dict[str, str]] | None = None,
) -> Path:
    """The cluster plus the policies (YAML documents, namespace given in each) as files."""
    directory.mkdir(parents=True, exist_ok=True)
    objects = cluster_objects(namespace_labels, pod_labels)
    (directory / "cluster.yaml").write_text(yaml.safe_dump_all(objects, sort_keys=False))
    (directory / "policies.yaml").write_text(policies_yaml)
    return directory


ALL = tuple(f"{ns}/{pod}" for ns in NAMESPACES for pod in PODS)


class Truth:
    """An expected reachability table, every pair allowed until told otherwise."""

    def __init__(self) -> None:
        self.table = {src: dict.fromkeys(ALL, True) for src in ALL}

    @staticmethod
    def _matching(namespace: str | None, pod: str | None) -> list[str]:
        return [
            key
            for key in ALL
            if (namespace is None or key.split("/")[0] == namespace)
            and (pod is None or key.split("/")[1] == pod)
        ]

    def expect_peer(
        self,
        value: bool,
        *,
        from_ns: str | None = None,
        from_pod: str | None = None,
        to_ns: str | None = None,
        to_pod: str | None = None,
    ) -> Truth:
        for src in self._matching(from_ns, from_pod):
            for dst in self._matching(to_ns, to_pod):
                self.table[src][dst] = value
        return self

    def expect_all_ingress(self, dst: str, value: bool) -> Truth:
        for src in ALL:
            self.table[src][dst] = value
        return self

    def expect_all_egress(self, src: str, value: bool) -> Truth:
        for dst in ALL:
            self.table[src][dst] = value
        return self

    def expect(self, src: str, dst: str, value: bool) -> Truth:
        self.table[src][dst] = value
        return self

    def with_loopback(self) -> dict[str, dict[str, bool]]:
        """The table with every pod reaching itself (upstream ignores loopback)."""
        table = {src: dict(row) for src, row in self.table.items()}
        for key in ALL:
            table[key][key] = True
        return table
