"""`kaudit exposure` against the real control plane: a NodePort Service's workload is
listed with the node port the API server allocated, and a default deny closes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.plugins.clusterkit import REPO_ROOT, Cluster, kubectl_json

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: internal}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
"""

DENY_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""


def exposure_json(cluster: Cluster, namespace: str) -> Any:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kaudit",
            "exposure",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "-n",
            namespace,
            "--format",
            "json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_exposure_lists_the_node_port_workload(cluster: Cluster, namespace: str) -> None:
    cluster.apply(WEB, namespace)
    cluster.wait_for("the web pods", lambda: cluster.pods_ready(namespace, 2))
    service = kubectl_json("get", "service", "web", "-n", namespace)
    node_port = service["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767

    data = exposure_json(cluster, namespace)
    assert data["cluster"]["source"] == "live"
    entries = data["exposure"]["entries"]
    assert [(e["workload"], e["via"], e["entry"], e["pods"]) for e in entries] == [
        ("Deployment/web", "NodePort", str(node_port), 2)
    ]
    (entry,) = entries
    assert entry["ports"] == [{"port": node_port, "protocol": "TCP", "targetPort": 8080}]
    assert entry["path"] == [
        {"kind": "Service", "namespace": namespace, "name": "web"},
        {"kind": "Deployment", "namespace": namespace, "name": "web"},
    ]
    assert entry["admittedByPolicy"] is True  # no policy isolates the pods

    cluster.apply(DENY_INGRESS, namespace)
    closed = exposure_json(cluster, namespace)["exposure"]["entries"]
    assert [(e["via"], e["admittedByPolicy"]) for e in closed] == [("NodePort", False)]
