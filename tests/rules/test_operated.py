"""Selectors matching nothing beside custom resources of operators kaudit does not know."""

from __future__ import annotations

from kaudit.findings import Severity
from tests.rules.helpers import run, snapshot_of

# A KafkaConnect (an operator kaudit does not expand) and a Deployment whose labels are
# one letter away from what the Service and the policies select.
UNKNOWN_OPERATOR = """
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaConnect
metadata: {name: connect, namespace: kafka}
spec: {replicas: 1}
"""
NEIGHBOUR = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: connects, namespace: kafka}
spec:
  selector: {matchLabels: {app: connects}}
  template:
    metadata: {labels: {app: connects}}
    spec: {containers: [{name: c, ports: [{containerPort: 8083}]}]}
"""
SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: connect-api, namespace: kafka}
spec: {selector: {app: connect}, ports: [{port: 8083}]}
"""
POLICY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: connect, namespace: kafka}
spec:
  podSelector: {matchLabels: {app: connect}}
  ingress: [{from: [{podSelector: {matchLabels: {app: connect}}}]}]
"""


def test_a_service_selecting_nothing_beside_an_unknown_operator_is_low_without_typo() -> None:
    (finding,) = run("service-no-endpoints", snapshot_of(UNKNOWN_OPERATOR, NEIGHBOUR, SERVICE))
    assert finding.severity is Severity.LOW
    assert "KafkaConnect.kafka.strimzi.io/connect" in finding.message
    assert "typo" not in finding.message
    assert "connects" not in finding.message
    assert finding.evidence["customResources"] == ["KafkaConnect.kafka.strimzi.io/connect"]


def test_without_the_custom_resource_the_typo_is_diagnosed_at_high() -> None:
    (finding,) = run("service-no-endpoints", snapshot_of(NEIGHBOUR, SERVICE))
    assert finding.severity is Severity.HIGH
    assert "looks like a typo of the pods' app=connects" in finding.message


def test_a_policy_selecting_nothing_and_its_dead_peer_are_low_with_the_caveat() -> None:
    snapshot = snapshot_of(UNKNOWN_OPERATOR, NEIGHBOUR, POLICY)
    (selects,) = run("policy-selects-no-pods", snapshot)
    assert selects.severity is Severity.LOW
    assert "whose operators kaudit does not know" in selects.message
    assert "typo" not in selects.message
    (peer,) = run("policy-peer-selects-nothing", snapshot)
    assert peer.severity is Severity.LOW
    assert "typo" not in peer.message
    assert "the namespace holds custom resources" in peer.message


def test_a_custom_resource_in_another_namespace_or_of_a_podless_kind_is_no_reason() -> None:
    elsewhere = UNKNOWN_OPERATOR.replace("namespace: kafka", "namespace: other")
    podless = """
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: connect, namespace: kafka}
spec: {selector: {}}
"""
    for extra in (elsewhere, podless):
        (finding,) = run("service-no-endpoints", snapshot_of(extra, NEIGHBOUR, SERVICE))
        assert finding.severity is Severity.HIGH, extra
        (peer,) = run("policy-peer-selects-nothing", snapshot_of(extra, NEIGHBOUR, POLICY))
        assert peer.severity is Severity.MEDIUM
        assert "typo" in peer.message


def test_mesh_routing_and_certificates_are_no_reason() -> None:
    for api_version, kind in (
        ("networking.istio.io/v1", "VirtualService"),
        ("cert-manager.io/v1", "Certificate"),
        ("cilium.io/v2", "CiliumNetworkPolicy"),
    ):
        extra = (
            f"apiVersion: {api_version}\nkind: {kind}\nmetadata: {{name: x, namespace: kafka}}\n"
        )
        (finding,) = run("service-no-endpoints", snapshot_of(extra, NEIGHBOUR, SERVICE))
        assert finding.severity is Severity.HIGH, kind
