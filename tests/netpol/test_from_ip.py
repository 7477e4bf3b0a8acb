"""PolicyEngine.check_from_ip: a client outside the cluster, judged by the destination's ingress."""

from __future__ import annotations

import pytest

from kaudit.model import Pod, Protocol
from kaudit.netpol.engine import PolicyEngine
from kaudit.netpol.verdict import Reason
from tests.rules.helpers import snapshot_of

PODS = """
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: web, namespace: shop, labels: {app: web}}
  spec: {containers: [{name: web, ports: [{containerPort: 8080, name: http}]}]}
  status: {phase: Running, podIP: 10.0.0.5}
- apiVersion: v1
  kind: Pod
  metadata: {name: open, namespace: shop, labels: {app: open}}
  spec: {containers: [{name: c}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: any, namespace: shop, labels: {app: any}}
  spec: {containers: [{name: c}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: done, namespace: shop, labels: {app: web}}
  spec: {containers: [{name: c}]}
  status: {phase: Succeeded}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: web, namespace: shop}
  spec:
    podSelector: {matchLabels: {app: web}}
    ingress:
    - from:
      - ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}
      - ipBlock: {cidr: "2001:db8::/32"}
      - namespaceSelector: {}
      ports: [{port: http}]
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: any, namespace: shop}
  spec:
    podSelector: {matchLabels: {app: any}}
    ingress: [{ports: [{port: 443}]}]
"""


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine(snapshot_of(PODS))


def pod(engine: PolicyEngine, key: str) -> Pod:
    found = engine.pod(key)
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("address", "target", "port", "allowed", "reason"),
    [
        ("203.0.113.7", "shop/web", 8080, True, Reason.POLICY_RULES),  # in the block, named port
        ("203.0.113.200", "shop/web", 8080, False, Reason.NO_POLICY_RULE),  # in `except`
        ("203.0.113.7", "shop/web", 9090, False, Reason.NO_POLICY_RULE),  # another port
        ("2001:db8::9", "shop/web", 8080, True, Reason.POLICY_RULES),  # IPv6
        ("198.51.100.1", "shop/web", 8080, False, Reason.NO_POLICY_RULE),  # selectors never match
        ("198.51.100.1", "shop/any", 443, True, Reason.POLICY_RULES),  # a rule without `from`
        ("198.51.100.1", "shop/any", 80, False, Reason.NO_POLICY_RULE),
        ("198.51.100.1", "shop/open", 80, True, Reason.NOT_ISOLATED),
        ("203.0.113.7", "shop/done", 8080, False, Reason.TERMINATED),
    ],
)
def test_outside_clients(
    engine: PolicyEngine, address: str, target: str, port: int, allowed: bool, reason: Reason
) -> None:
    verdict = engine.check_from_ip(address, pod(engine, target), port, Protocol.TCP)
    assert (verdict.allowed, verdict.reason) == (allowed, reason)
    assert verdict.egress is None
    assert verdict.source.qualified_name == address
    if reason is Reason.POLICY_RULES:
        assert verdict.ingress is not None
        assert [str(r) for r in verdict.ingress.allowing_policy_rules] == [f"{target} ingress[0]"]


def test_the_address_of_a_pod_is_pointed_out(engine: PolicyEngine) -> None:
    verdict = engine.check_from_ip("10.0.0.5", pod(engine, "shop/open"), 80)
    assert verdict.notes == ("10.0.0.5 is the address of pod shop/web",)


@pytest.mark.parametrize("address", ["203.0.113.0/24", "not-an-address", "300.1.1.1"])
def test_anything_but_one_address_is_refused(engine: PolicyEngine, address: str) -> None:
    with pytest.raises(ValueError, match="is not an IP address"):
        engine.check_from_ip(address, pod(engine, "shop/web"), 80)
