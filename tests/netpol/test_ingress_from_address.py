"""`PolicyEngine.ingress_from_address`: do a pod's ingress policies admit an outside address."""

from __future__ import annotations

import pytest

from kaudit.model import Protocol
from kaudit.netpol import Coverage, Reason
from tests.netpol.helpers import Cluster, pod_doc

POLICIES = """
---
kind: NetworkPolicy
metadata: {name: from-office, namespace: prod}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
    - from:
        - ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}
      ports: [{port: http}]
---
kind: NetworkPolicy
metadata: {name: from-pods, namespace: prod}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
    - from: [{namespaceSelector: {}}]
---
kind: NetworkPolicy
metadata: {name: open-9000, namespace: prod}
spec:
  podSelector: {matchLabels: {app: metrics}}
  ingress:
    - ports: [{port: 9000}]
"""


@pytest.fixture(scope="module")
def prod() -> Cluster:
    return Cluster(
        pod_doc("prod/web", {"app": "web"}, [(8080, "TCP", "http")])
        + pod_doc("prod/api", {"app": "api"}, [(8080, "TCP", None)])
        + pod_doc("prod/metrics", {"app": "metrics"}, [(9000, "TCP", None)])
        + pod_doc("prod/free", {"app": "free"}, [(80, "TCP", None)])
        + pod_doc("prod/host", {"app": "web"}, [(8080, "TCP", "http")], host_network=True)
        + POLICIES
    )


@pytest.mark.parametrize(
    ("pod", "source", "port", "coverage", "ranges"),
    [
        # ipBlock minus except, on the named port resolved against the pod
        ("prod/web", "203.0.113.7", 8080, Coverage.ALL, ()),
        ("prod/web", "203.0.113.200", 8080, Coverage.NONE, ()),
        ("prod/web", "203.0.113.0/24", 8080, Coverage.SOME, ("203.0.113.0/25",)),
        ("prod/web", "203.0.113.7", 8081, Coverage.NONE, ()),
        ("prod/web", "0.0.0.0/0", 8080, Coverage.SOME, ("203.0.113.0/25",)),
        # selectors never match an outside address
        ("prod/api", "203.0.113.7", 8080, Coverage.NONE, ()),
        # a policy rule without `from` admits every address, IPv6 too
        ("prod/metrics", "0.0.0.0/0", 9000, Coverage.ALL, ()),
        ("prod/metrics", "::/0", 9000, Coverage.ALL, ()),
        ("prod/metrics", "0.0.0.0/0", 9001, Coverage.NONE, ()),
        # not isolated, or on the host network: everything
        ("prod/free", "0.0.0.0/0", 80, Coverage.ALL, ()),
        ("prod/host", "198.51.100.1", 1, Coverage.ALL, ()),
    ],
)
def test_coverage_of_outside_sources(
    prod: Cluster, pod: str, source: str, port: int, coverage: Coverage, ranges: tuple[str, ...]
) -> None:
    answer = prod.engine.ingress_from_address(prod[pod], source, port, Protocol.TCP)
    assert answer.coverage is coverage
    assert answer.allowed_ranges == ranges
    assert answer.side.allowed is (coverage is Coverage.ALL)


def test_reasons_name_the_deciding_policy_rules(prod: Cluster) -> None:
    admitted = prod.engine.ingress_from_address(prod["prod/web"], "203.0.113.7", 8080)
    assert admitted.side.reason is Reason.POLICY_RULES
    assert [str(r) for r in admitted.side.allowing_policy_rules] == ["prod/from-office ingress[0]"]
    denied = prod.engine.ingress_from_address(prod["prod/api"], "203.0.113.7", 8080)
    assert denied.side.reason is Reason.NO_POLICY_RULE
    assert [p.name for p in denied.side.isolating_policies] == ["from-pods"]
    host = prod.engine.ingress_from_address(prod["prod/host"], "203.0.113.7", 8080)
    assert host.side.reason is Reason.HOST_NETWORK
    free = prod.engine.ingress_from_address(prod["prod/free"], "203.0.113.7", 80)
    assert free.side.reason is Reason.NOT_ISOLATED


def test_udp_is_not_tcp(prod: Cluster) -> None:
    answer = prod.engine.ingress_from_address(prod["prod/metrics"], "0.0.0.0/0", 9000, Protocol.UDP)
    assert answer.coverage is Coverage.NONE


def test_an_address_that_does_not_parse_raises(prod: Cluster) -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        prod.engine.ingress_from_address(prod["prod/web"], "not-an-address", 80)
