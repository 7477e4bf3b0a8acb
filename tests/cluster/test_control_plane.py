"""The local control plane behaves like a real cluster for what kaudit reads."""

from __future__ import annotations

import ipaddress
from typing import Any

from hack import controlplane
from tests.plugins.clusterkit import AuditLog, Cluster

WORKLOADS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports: [{name: http, containerPort: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 1
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: db, image: postgres:17, ports: [{containerPort: 5432}]}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: busybox:1.36}]
---
apiVersion: v1
kind: Pod
metadata: {name: bare, labels: {app: bare}}
spec:
  containers: [{name: bare, image: busybox:1.36}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
"""


def _ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status", {})
    return status.get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", [])
    )


def test_workloads_become_running_ready_pods_with_ips(cluster: Cluster, namespace: str) -> None:
    cluster.apply(WORKLOADS, namespace)
    nodes = len(controlplane.FAKE_NODES)
    expected = 2 + 1 + nodes + 1  # web replicas, db, one agent per node, bare

    cluster.wait_for(f"{expected} ready pods", lambda: cluster.pods_ready(namespace, expected))

    pods = cluster.kubectl_json("get", "pods", "-n", namespace)["items"]
    assert len(pods) == expected
    pod_cidr = ipaddress.ip_network(controlplane.POD_CIDR)
    service_cidr = ipaddress.ip_network(controlplane.SERVICE_CIDR)
    for pod in pods:
        assert _ready(pod), pod["metadata"]["name"]
        assert pod["spec"]["nodeName"] in controlplane.FAKE_NODES  # bound by the scheduler
        ip = ipaddress.ip_address(pod["status"]["podIP"])
        assert ip in pod_cidr
        assert ip not in service_cidr
    agents = [p for p in pods if p["metadata"]["labels"].get("app") == "agent"]
    assert sorted(p["spec"]["nodeName"] for p in agents) == sorted(controlplane.FAKE_NODES)


def test_endpointslice_controller_fills_slices(cluster: Cluster, namespace: str) -> None:
    cluster.apply(WORKLOADS, namespace)

    def slice_endpoints() -> list[dict[str, Any]]:
        slices = cluster.kubectl_json(
            "get", "endpointslices", "-n", namespace, "-l", "kubernetes.io/service-name=web"
        )["items"]
        return [e for s in slices for e in s.get("endpoints") or []]

    cluster.wait_for(
        "two ready endpoints for Service web",
        lambda: (
            len([e for e in slice_endpoints() if e["conditions"].get("ready") is not False]) == 2
        ),
    )
    slices = cluster.kubectl_json(
        "get", "endpointslices", "-n", namespace, "-l", "kubernetes.io/service-name=web"
    )["items"]
    assert slices[0]["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == (
        "endpointslice-controller.k8s.io"
    )
    assert slices[0]["ports"][0]["port"] == 8080  # the named targetPort, resolved


def test_server_reports_its_version(cluster: Cluster) -> None:
    """/version is right (the build's ldflags), and matches the binary that runs."""
    version = cluster.kubectl_json("version")["serverVersion"]
    apiserver = controlplane.find_binary("kube-apiserver")
    expected = controlplane.binary_version(apiserver) if apiserver else None
    assert version["gitVersion"] == (expected or controlplane.KUBERNETES_VERSION)
    assert version["gitVersion"].startswith("v1.")


def test_dns_service_and_pods_exist(cluster: Cluster) -> None:
    service = cluster.kubectl_json("get", "service", "kube-dns", "-n", "kube-system")
    assert {(p["port"], p["protocol"]) for p in service["spec"]["ports"]} >= {
        (53, "UDP"),
        (53, "TCP"),
    }
    assert cluster.pods_ready("kube-system", 2)


def test_pod_security_admission_is_active(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl(
        "label", "namespace", namespace, "pod-security.kubernetes.io/enforce=restricted"
    )
    privileged = """
apiVersion: v1
kind: Pod
metadata: {name: privileged}
spec:
  containers:
    - name: c
      image: busybox:1.36
      securityContext: {privileged: true}
"""
    proc = cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=privileged, check=False)
    assert proc.returncode != 0
    assert "violates PodSecurity" in proc.stderr


def test_the_audit_log_records_every_request(cluster: Cluster, namespace: str) -> None:
    log = AuditLog.start()
    cluster.kubectl("get", "configmaps", "-n", namespace)
    cluster.kubectl("get", "--raw", "/version")
    events = log.events("kaudit-admin")
    assert any(
        (e.verb, e.resource, e.namespace, e.code) == ("list", "configmaps", namespace, 200)
        for e in events
    )
    assert any((e.verb, e.uri, e.resource) == ("get", "/version", None) for e in events)
