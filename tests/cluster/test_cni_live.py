"""Cilium's and Calico's policy kinds read live: their groups discovered on the real API
server (CRDs of the same groups, kinds and scopes, with open schemas), listed, decoded
into the model and evaluated; ServiceAccounts read because Calico's kinds are served."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kaudit.collect import Source, load_snapshot
from kaudit.model import Resource
from kaudit.netpol import PolicyEngine
from tests.plugins.clusterkit import Cluster

# (group, kind, plural, scope) of the CRDs the real projects install.
CRDS = (
    ("cilium.io", "CiliumNetworkPolicy", "ciliumnetworkpolicies", "Namespaced", "v2"),
    (
        "cilium.io",
        "CiliumClusterwideNetworkPolicy",
        "ciliumclusterwidenetworkpolicies",
        "Cluster",
        "v2",
    ),
    ("crd.projectcalico.org", "NetworkPolicy", "networkpolicies", "Namespaced", "v1"),
    ("crd.projectcalico.org", "GlobalNetworkPolicy", "globalnetworkpolicies", "Cluster", "v1"),
    ("crd.projectcalico.org", "Tier", "tiers", "Cluster", "v1"),
)


def crd(group: str, kind: str, plural: str, scope: str, version: str) -> str:
    return f"""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {{name: {plural}.{group}}}
spec:
  group: {group}
  scope: {scope}
  names: {{plural: {plural}, singular: {kind.lower()}, kind: {kind}}}
  versions:
  - name: {version}
    served: true
    storage: true
    schema: {{openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}}}
"""


@pytest.fixture(scope="module")
def cni_crds(cluster: Cluster) -> Iterator[Cluster]:
    for entry in CRDS:
        cluster.apply(crd(*entry))
    for group, _, plural, _, _ in CRDS:
        cluster.kubectl(
            "wait", "--for=condition=Established", f"crd/{plural}.{group}", "--timeout=60s"
        )
    yield cluster
    for group, _, plural, _, _ in CRDS:
        cluster.kubectl("delete", f"crd/{plural}.{group}", "--wait=false")


def test_cilium_and_calico_policies_are_read_and_evaluated_live(
    cni_crds: Cluster, namespace: str
) -> None:
    cni_crds.apply(
        f"""
apiVersion: v1
kind: ServiceAccount
metadata: {{name: robot, namespace: {namespace}, labels: {{team: data}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: {namespace}, labels: {{app: web}}}}
spec: {{containers: [{{name: c, image: nginx, ports: [{{containerPort: 80}}]}}]}}
---
apiVersion: v1
kind: Pod
metadata: {{name: db, namespace: {namespace}, labels: {{app: db}}}}
spec: {{serviceAccountName: robot, containers: [{{name: c, image: pg, ports: [{{containerPort: 5432}}]}}]}}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {{name: web-in, namespace: {namespace}}}
spec: {{endpointSelector: {{matchLabels: {{app: web}}}}, ingress: [{{}}]}}
---
apiVersion: crd.projectcalico.org/v1
kind: NetworkPolicy
metadata: {{name: default.db, namespace: {namespace}}}
spec:
  serviceAccountSelector: "team == 'data'"
  ingress: [{{action: Deny, source: {{selector: "app == 'web'"}}}}]
"""
    )
    snapshot = load_snapshot(Source(kubeconfig=str(cni_crds.kubeconfig), namespaces=(namespace,)))
    assert [w.message for w in snapshot.warnings if w.kind is not None] == []
    assert [(p.kind, p.name) for p in snapshot.cilium_policies] == [
        ("CiliumNetworkPolicy", "web-in")
    ]
    assert [(p.kind, p.name) for p in snapshot.calico_policies] == [("NetworkPolicy", "default.db")]
    assert [(a.name, dict(a.labels)) for a in snapshot.service_accounts if a.name == "robot"] == [
        ("robot", {"team": "data"})
    ]
    pods = {p.name: p for p in snapshot.pods}
    assert pods["db"].service_account == "robot"
    engine = PolicyEngine(snapshot)
    assert not engine.check(pods["db"], pods["web"], 80).allowed  # Cilium: web default-deny
    assert not engine.check(pods["web"], pods["db"], 5432).allowed  # Calico: Deny from web
    assert Resource.SERVICE_ACCOUNTS not in snapshot.missing_resources
