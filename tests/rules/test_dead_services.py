"""workload-unreachable-by-policy: Services whose pods' ingress policies admit nobody."""

from __future__ import annotations

import pytest

from kaudit.findings import Severity
from tests.rules.fixtures import DENY_INGRESS, deployment, namespace, policy
from tests.rules.helpers import fired_on, only

SHOP = [
    namespace("shop"),
    deployment("front-end", "shop", labels="{name: front-end}"),
    deployment(
        "carts", "shop", labels="{name: carts}", ports="[{containerPort: 8080, name: http}]"
    ),
    """
apiVersion: v1
kind: Service
metadata: {name: carts, namespace: shop}
spec: {selector: {name: carts}, ports: [{port: 80, targetPort: http}]}
""",
]


def carts_ingress(rule: str) -> str:
    return f"""
podSelector: {{matchLabels: {{name: carts}}}}
policyTypes: [Ingress]
ingress:
  - {rule}
"""


CARTS = ["Deployment/shop/carts"]
DEAD_CASES = [
    ("no policy", [], []),
    ("default deny, nothing allowed", [DENY_INGRESS], CARTS),
    # One fact, one finding: the typo is policy-peer-selects-nothing's (tested below).
    (
        "client by a typo",
        [carts_ingress("from: [{podSelector: {matchLabels: {name: frontend}}}]")],
        [],
    ),
    (
        "client by its name",
        [carts_ingress("from: [{podSelector: {matchLabels: {name: front-end}}}]")],
        [],
    ),
    ("another port only", [carts_ingress("ports: [{port: 9090}]")], CARTS),
    ("the named port", [carts_ingress("ports: [{port: http}]")], []),
    ("a namespace not in the input", [carts_ingress("from: [{namespaceSelector: {}}]")], []),
    (
        "a named namespace not in the input",
        [
            carts_ingress(
                "from: [{namespaceSelector: {matchLabels: "
                "{kubernetes.io/metadata.name: ingress-nginx}}}]"
            )
        ],
        [],
    ),
    (
        "all ingress denied to carts on purpose",
        ["podSelector: {matchLabels: {name: carts}}\npolicyTypes: [Ingress]"],
        [],
    ),
    ("outside addresses", [carts_ingress("from: [{ipBlock: {cidr: 10.0.0.0/8}}]")], []),
]


@pytest.mark.parametrize(
    ("policies", "expected"), [c[1:] for c in DEAD_CASES], ids=[c[0] for c in DEAD_CASES]
)
def test_workload_unreachable_by_policy(policies: list[str], expected: list[str]) -> None:
    documents = [*SHOP, *(policy(f"p{i}", "shop", spec) for i, spec in enumerate(policies))]
    assert fired_on("workload-unreachable-by-policy", *documents) == expected


def test_a_client_held_back_by_its_own_egress_is_another_fact() -> None:
    # carts admits front-end, whose egress is denied: the ingress policies do admit a source.
    documents = [
        *SHOP,
        policy(
            "in", "shop", carts_ingress("from: [{podSelector: {matchLabels: {name: front-end}}}]")
        ),
        policy("out", "shop", "podSelector: {}\npolicyTypes: [Egress]"),
    ]
    assert fired_on("workload-unreachable-by-policy", *documents) == []


def test_dead_service_names_the_route_and_the_policies() -> None:
    ingress = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: shop}
spec:
  ingressClassName: nginx
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: carts, port: {number: 80}}}}]}}]
"""
    finding = only(
        "workload-unreachable-by-policy", *SHOP, ingress, policy("deny", "shop", DENY_INGRESS)
    )
    assert finding.severity is Severity.MEDIUM
    assert finding.message == (
        "Deployment shop/carts (1 pod) receives traffic from Service carts (and Ingress shop) "
        "on 80->8080/TCP, but its ingress policies (shop/deny) admit no source "
        "at all on that port: the Service is dead by policy."
    )
    assert finding.evidence["ports"] == [
        {
            "service": "carts",
            "port": 80,
            "targetPort": 8080,
            "protocol": "TCP",
            "ingresses": ["shop"],
        }
    ]
    assert finding.evidence["ingressPolicies"] == ["shop/deny"]


def test_a_dead_service_caused_by_a_typo_is_reported_once_by_its_cause() -> None:
    documents = [
        *SHOP,
        policy(
            "p", "shop", carts_ingress("from: [{podSelector: {matchLabels: {name: frontend}}}]")
        ),
    ]
    assert fired_on("workload-unreachable-by-policy", *documents) == []
    assert fired_on("policy-peer-selects-nothing", *documents) == ["NetworkPolicy/shop/p"]


def test_pods_alike_in_policies_still_exclude_themselves_as_sources() -> None:
    # a and b are selected by the same ingress policy, which admits a alone. Nobody
    # reaches either (every egress is denied), so the ingress rules decide: b admits a;
    # a admits only itself, which does not count (no second replica stands in).
    def service(name: str) -> str:
        return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: shop}}
spec: {{selector: {{name: {name}}}, ports: [{{port: 80, targetPort: 8080}}]}}
"""

    documents = [
        namespace("shop"),
        deployment("a", "shop", labels="{name: a, tier: db}"),
        deployment("b", "shop", labels="{name: b, tier: db}"),
        service("a"),
        service("b"),
        policy("no-egress", "shop", "podSelector: {}\npolicyTypes: [Egress]"),
        policy(
            "from-a",
            "shop",
            "podSelector: {matchLabels: {tier: db}}\npolicyTypes: [Ingress]\n"
            "ingress: [{from: [{podSelector: {matchLabels: {name: a}}}]}]",
        ),
    ]
    assert fired_on("workload-unreachable-by-policy", *documents) == ["Deployment/shop/a"]
