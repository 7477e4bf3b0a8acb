"""Findings on public manifests their projects publish (see tests/data/public/README.md).

Each pinned finding was checked by reading the manifests; the comments say why it is right.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kaudit.audit import audit
from kaudit.collect.manifests import load_manifests
from kaudit.findings import Finding
from kaudit.model import Snapshot

PUBLIC = Path(__file__).resolve().parents[1] / "data" / "public"


def load(name: str) -> Snapshot:
    return load_manifests([str(PUBLIC / name)])


def findings(snapshot: Snapshot) -> list[Finding]:
    return list(audit(snapshot).findings)


def pinned(found: list[Finding]) -> set[tuple[str, str, str]]:
    return {(f.rule_name, str(f.resource), f.severity.name.lower()) for f in found}


def by_rule(found: list[Finding], rule_name: str, resource: str) -> Finding:
    (finding,) = [f for f in found if f.rule_name == rule_name and str(f.resource) == resource]
    return finding


ONLINE_BOUTIQUE_SERVICES = (
    "adservice",
    "cartservice",
    "checkoutservice",
    "currencyservice",
    "emailservice",
    "frontend",
    "loadgenerator",
    "paymentservice",
    "productcatalogservice",
    "recommendationservice",
    "redis-cart",
    "shippingservice",
)


def test_online_boutique() -> None:
    found = findings(load("online-boutique"))
    assert pinned(found) == {
        # frontend-external is `type: LoadBalancer`.
        ("service-loadbalancer", "Service/default/frontend-external", "critical"),
        # No NetworkPolicy at all in the release manifests: one finding for the namespace,
        # and its pods open to every namespace on every port.
        ("namespace-without-networkpolicy", "Namespace/default", "high"),
        ("lateral-movement-open", "Namespace/default", "high"),
        # redis-cart (Redis on 6379) is open to any other namespace.
        ("datastore-reachable-cross-namespace", "Deployment/default/redis-cart", "high"),
        ("pod-default-ndots", "Namespace/default", "info"),
        # Nothing restricts egress: every workload reaches the cloud metadata endpoint.
        *(
            ("pod-metadata-reachable", f"Deployment/default/{name}", "high")
            for name in ONLINE_BOUTIQUE_SERVICES
        ),
    }
    redis = by_rule(found, "datastore-reachable-cross-namespace", "Deployment/default/redis-cart")
    assert "6379" in redis.message


def test_sock_shop_with_its_network_policies() -> None:
    found = findings(load("sock-shop"))
    assert pinned(found) == {
        # front-end is `type: NodePort` (30001).
        ("service-nodeport", "Service/sock-shop/front-end", "high"),
        # cart-access selects name=cart; the carts pods are labelled name=carts.
        ("policy-selects-no-pods", "NetworkPolicy/sock-shop/cart-access", "medium"),
        # carts-db-access admits name=cart (nobody) and cortex-access name=cortex (no such pod).
        ("policy-peer-selects-nothing", "NetworkPolicy/sock-shop/carts-db-access", "medium"),
        ("policy-peer-selects-nothing", "NetworkPolicy/sock-shop/cortex-access", "medium"),
        # front-end-access has an ingress rule without `from` on 8079: every source.
        ("policy-allows-all-namespaces", "NetworkPolicy/sock-shop/front-end-access", "medium"),
        # The namespace's obsolete DefaultDeny annotation isolates nothing.
        ("namespace-legacy-isolation-annotation", "Namespace/sock-shop", "low"),
        # The policies are all ingress policies.
        ("namespace-without-default-deny-egress", "Namespace/sock-shop", "medium"),
        ("ingress-only-policies", "Namespace/sock-shop", "medium"),
        # No kube-system in the input: whether the CNI enforces policies is unknown.
        ("cni-without-policy-enforcement", "Cluster/cluster", "info"),
        ("pod-default-ndots", "Namespace/sock-shop", "info"),
        *(
            ("pod-metadata-reachable", f"Deployment/sock-shop/{name}", "high")
            for name in (
                "carts",
                "carts-db",
                "catalogue",
                "catalogue-db",
                "front-end",
                "orders",
                "orders-db",
                "payment",
                "queue-master",
                "rabbitmq",
                "session-db",
                "shipping",
                "user",
                "user-db",
            )
        ),
    }
    cart = by_rule(found, "policy-selects-no-pods", "NetworkPolicy/sock-shop/cart-access")
    assert "name=cart looks like a typo of the pods' name=carts" in cart.message
    cortex = by_rule(found, "policy-peer-selects-nothing", "NetworkPolicy/sock-shop/cortex-access")
    assert "pods name=cortex in namespace sock-shop, which matches no pod" in cortex.message
    carts_db = by_rule(
        found, "policy-peer-selects-nothing", "NetworkPolicy/sock-shop/carts-db-access"
    )
    assert "name=cart looks like a typo of the pods' name=carts" in carts_db.message


def test_argo_cd_redis_ha_per_pod_services_have_their_endpoints() -> None:
    snapshot = load("argo-cd-redis-ha")
    slices = {s.service_name: s for s in snapshot.endpoint_slices}
    for index in range(3):
        endpoints = slices[f"argocd-redis-ha-announce-{index}"].endpoints
        assert [e.target_pod for e in endpoints] == [f"argocd-redis-ha-server-{index}"]
    found = findings(snapshot)
    assert pinned(found) == {
        ("namespace-without-networkpolicy", "Namespace/argocd", "high"),
        ("lateral-movement-open", "Namespace/argocd", "high"),
        # Redis (6379) and its sentinel, and the HAProxy in front of them, open to any namespace.
        (
            "datastore-reachable-cross-namespace",
            "StatefulSet/argocd/argocd-redis-ha-server",
            "high",
        ),
        (
            "datastore-reachable-cross-namespace",
            "Deployment/argocd/argocd-redis-ha-haproxy",
            "high",
        ),
        ("pod-metadata-reachable", "StatefulSet/argocd/argocd-redis-ha-server", "high"),
        ("pod-metadata-reachable", "Deployment/argocd/argocd-redis-ha-haproxy", "high"),
        ("pod-default-ndots", "Namespace/argocd", "info"),
    }
    server = by_rule(found, "pod-metadata-reachable", "StatefulSet/argocd/argocd-redis-ha-server")
    assert "(3 pods)" in server.message


@pytest.mark.parametrize("name", ["online-boutique", "sock-shop", "argo-cd-redis-ha"])
def test_no_service_of_the_public_manifests_is_without_endpoints(name: str) -> None:
    found = findings(load(name))
    assert [f.resource for f in found if f.rule_name == "service-no-endpoints"] == []
