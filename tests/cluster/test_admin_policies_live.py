"""The network-policy-api kinds and Nodes read live from the real API server.

The CRDs here are minimal stand-ins written for this test (the group, kinds, plurals,
scope and served versions of sigs.k8s.io/network-policy-api v0.3.0, with a schema that
keeps every field): the collector must find them by discovery, list them in the most
preferred version served, and the engine must answer with them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kaudit.errors import ExitCode
from kaudit.model import AdminAction, AdminTier
from kaudit.netpol import PolicyEngine
from tests.cluster.request_set import check_request_set, kinds_listed
from tests.cluster.test_live import ADMIN, live, run_cli
from tests.plugins.clusterkit import AuditLog, Cluster

GROUP = "policy.networking.k8s.io"
APPROVAL = "https://github.com/kubernetes-sigs/network-policy-api/pull/347"


def crd(plural: str, kind: str, versions: list[str]) -> str:
    schema = "{openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}"
    listed = "".join(
        f"  - {{name: {v}, served: true, storage: {str(i == 0).lower()}, schema: {schema}}}\n"
        for i, v in enumerate(versions)
    )
    return (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        f"metadata:\n  name: {plural}.{GROUP}\n"
        f"  annotations: {{api-approved.kubernetes.io: '{APPROVAL}'}}\n"
        f"spec:\n  group: {GROUP}\n  scope: Cluster\n"
        f"  names: {{plural: {plural}, singular: {kind.lower()}, kind: {kind}}}\n"
        f"  versions:\n{listed}"
    )


CRDS = [
    ("clusternetworkpolicies", "ClusterNetworkPolicy", ["v1beta1", "v1alpha2"]),
    ("adminnetworkpolicies", "AdminNetworkPolicy", ["v1alpha1"]),
    ("baselineadminnetworkpolicies", "BaselineAdminNetworkPolicy", ["v1alpha1"]),
]

POLICIES = """
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: kaudit-test-guard}
spec:
  tier: Admin
  priority: 7
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: NAMESPACE}}}
  ingress:
  - {name: no-outsiders, action: Deny, from: [{namespaces: {matchLabels: {kaudit-test: outsider}}}]}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: NAMESPACE}}}
  egress:
  - {action: Deny, to: [{nodes: {}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: NAMESPACE, labels: {app: web}}
spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: NAMESPACE, labels: {app: client}}
spec: {containers: [{name: client, image: busybox}]}
"""


@pytest.fixture(scope="module")
def served(cluster: Cluster) -> Iterator[Cluster]:
    for plural, kind, versions in CRDS:
        cluster.apply(crd(plural, kind, versions))
    for plural, _, _ in CRDS:
        cluster.kubectl(
            "wait", "--for=condition=Established", f"crd/{plural}.{GROUP}", "--timeout=60s"
        )
    yield cluster
    for plural, _, _ in CRDS:
        cluster.kubectl("delete", f"crd/{plural}.{GROUP}", "--wait=false")


def test_admin_policies_and_nodes_are_read_and_evaluated(served: Cluster, namespace: str) -> None:
    served.apply(POLICIES.replace("NAMESPACE", namespace))
    try:
        snapshot = live(served)
        by_name = {p.name: p for p in snapshot.admin_policies}
        guard, baseline = by_name["kaudit-test-guard"], by_name["default"]
        assert (guard.kind, guard.tier, guard.priority) == (
            "ClusterNetworkPolicy",
            AdminTier.ADMIN,
            7,
        )
        assert guard.ingress[0].action is AdminAction.DENY
        assert (baseline.kind, baseline.tier) == ("BaselineAdminNetworkPolicy", AdminTier.BASELINE)
        assert snapshot.nodes, "the harness runs nodes: they are listed"
        assert all(n.name for n in snapshot.nodes)
        assert snapshot.missing_resources == frozenset()
        engine = PolicyEngine(snapshot)
        pods = {p.key: p for p in engine.pods}
        web, client = pods[f"{namespace}/web"], pods[f"{namespace}/client"]
        assert engine.check(client, web, 80).allowed  # same namespace: no outsider
        assert [p.name for p in engine.isolation(web).egress_admin_policies] == ["default"]
        # The request set: the optional group's discovery and lists, and the Nodes.
        log = AuditLog.start()
        proc = run_cli(
            "audit", "--kubeconfig", str(served.kubeconfig), "--format", "json", "--quiet"
        )
        assert proc.returncode in (ExitCode.OK, ExitCode.FINDINGS), proc.stderr
        events = log.events(ADMIN)
        check_request_set(events)
        assert {
            "nodes",
            "clusternetworkpolicies",
            "adminnetworkpolicies",
            "baselineadminnetworkpolicies",
        } <= kinds_listed(events)
        assert any(
            e.uri.startswith(f"/apis/{GROUP}/v1beta1/clusternetworkpolicies") for e in events
        )
    finally:
        served.kubectl("delete", "clusternetworkpolicy", "kaudit-test-guard", "--wait=false")
        served.kubectl("delete", "baselineadminnetworkpolicy", "default", "--wait=false")
