"""policy-peer-selects-nothing: from/to peers whose selectors match no pod."""

from __future__ import annotations

import pytest

from kaudit.findings import Severity
from tests.jsondig import dig
from tests.rules.fixtures import deployment, namespace, policy
from tests.rules.helpers import fired_on, only

SOCK_SHOP = [
    namespace("sock-shop"),
    deployment("carts", "sock-shop", labels="{name: carts}"),
    deployment("carts-db", "sock-shop", labels="{name: carts-db}"),
    namespace("monitoring"),
    deployment("prometheus", "monitoring", labels="{app: prometheus}"),
]


def db_access(client: str, extra: str = "") -> str:
    return f"""
podSelector: {{matchLabels: {{name: carts-db}}}}
policyTypes: [Ingress]
ingress:
  - from:
      - podSelector: {{matchLabels: {client}}}
        {extra}
"""


FROM_MONITORING = "namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}"
FROM_ELSEWHERE = "namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: elsewhere}}"

PEER_CASES = [
    ("typo in the client's name", db_access("{name: cart}"), ["NetworkPolicy/sock-shop/p"]),
    ("the client's real name", db_access("{name: carts}"), []),
    (
        "pods of another namespace, none matching",
        db_access("{app: prometheus-k8s}", FROM_MONITORING),
        ["NetworkPolicy/sock-shop/p"],
    ),
    ("pods of another namespace, matching", db_access("{app: prometheus}", FROM_MONITORING), []),
    # A namespace outside the input may hold the pods: not judged from manifests.
    ("a namespace not in the input", db_access("{app: cortex}", FROM_ELSEWHERE), []),
    (
        "egress to nothing",
        "podSelector: {}\npolicyTypes: [Egress]\negress: [{to: [{podSelector: "
        "{matchLabels: {name: carts-dbb}}}]}]",
        ["NetworkPolicy/sock-shop/p"],
    ),
    (
        "egress rules ignored without Egress in policyTypes",
        "podSelector: {}\npolicyTypes: [Ingress]\negress: [{to: [{podSelector: "
        "{matchLabels: {name: nothing}}}]}]",
        [],
    ),
    (
        "ORed peers are policy-peer-or-confusion's",
        db_access("{name: cart}").replace(
            "      - podSelector", f"      - {FROM_MONITORING}\n      - podSelector"
        ),
        [],
    ),
    (
        "ipBlock peers are not pods",
        "podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]",
        [],
    ),
]


@pytest.mark.parametrize(
    ("spec", "expected"), [c[1:] for c in PEER_CASES], ids=[c[0] for c in PEER_CASES]
)
def test_policy_peer_selects_nothing(spec: str, expected: list[str]) -> None:
    assert fired_on("policy-peer-selects-nothing", *SOCK_SHOP, policy("p", "sock-shop", spec)) == (
        expected
    )


def test_peer_typo_names_the_closest_pods_and_the_fix() -> None:
    finding = only(
        "policy-peer-selects-nothing",
        *SOCK_SHOP,
        policy("p", "sock-shop", db_access("{name: cart}")),
    )
    assert finding.severity is Severity.MEDIUM
    assert finding.message.startswith(
        "NetworkPolicy sock-shop/p: ingress[0] names pods name=cart in namespace sock-shop, "
        "which matches no pod (the closest pods (Deployment/carts):"
    )
    assert finding.message.endswith("so the clients it names are refused.")
    assert dig(finding.evidence, "peers", 0, "diagnosis") == ["typo"]
    assert dig(finding.evidence, "peers", 0, "correctedPodSelector") == {
        "matchLabels": {"name": "carts"}
    }
    assert "  - from:\n    - podSelector:\n        matchLabels:\n          name: carts" in (
        finding.remediation
    )


def test_peer_in_a_live_cluster_naming_no_namespace() -> None:
    from dataclasses import replace

    from kaudit.rules.context import AuditContext
    from kaudit.rules.registry import find_rule
    from tests.rules.helpers import snapshot_of

    snapshot = snapshot_of(
        *SOCK_SHOP, policy("p", "sock-shop", db_access("{app: cortex}", FROM_ELSEWHERE))
    )
    live = replace(snapshot, facts=replace(snapshot.facts, source="live"))
    check = find_rule("policy-peer-selects-nothing")
    assert check is not None
    findings = check.run(AuditContext(live))
    assert [str(f.resource) for f in findings] == ["NetworkPolicy/sock-shop/p"]
    assert "and no namespace matches" in findings[0].message
