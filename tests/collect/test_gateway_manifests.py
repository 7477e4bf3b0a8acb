"""Gateway API objects from manifests: recognised by group and kind in every served
version, validated as the CRDs validate them; Istio's bookinfo Gateway files."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaudit.audit import audit
from kaudit.collect.manifests import load_manifests
from kaudit.errors import InputError
from tests.rules.helpers import snapshot_of

BOOKINFO = Path(__file__).parent / "data" / "istio-bookinfo"


def test_istio_bookinfo_gateway_and_route_are_read_not_ignored() -> None:
    snapshot = load_manifests([str(BOOKINFO)])
    assert dict(snapshot.facts.ignored_kinds) == {"ServiceAccount": 1}
    (gateway,) = snapshot.gateways
    assert (str(gateway.ref), gateway.gateway_class_name) == (
        "Gateway/default/bookinfo-gateway",
        "istio",
    )
    (route,) = snapshot.routes
    assert str(route.ref) == "HTTPRoute/default/bookinfo"
    assert [str(b) for b in route.backend_refs] == ["Service/default/productpage:9080"]
    findings = {(f.rule_name, str(f.resource)) for f in audit(snapshot).findings}
    # The public plain-HTTP listener routing to productpage is reported.
    assert ("gateway-listener-plain-http", "Gateway/default/bookinfo-gateway") in findings
    # Nothing else of the Gateway rules fires: the route attaches, its backend resolves.
    gateway_rules = {
        "gateway-unknown-class",
        "route-parent-not-found",
        "route-backend-missing-service",
        "route-backend-port-mismatch",
        "route-cross-namespace-without-referencegrant",
        "gateway-allows-routes-from-all-namespaces",
    }
    assert {name for name, _ in findings} & gateway_rules == set()


ROUTE_BODY = """
metadata: {name: r, namespace: shop}
spec:
  parentRefs: [{name: edge}]
  rules: [{backendRefs: [{name: web, port: 80}]}]
"""


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("gateway.networking.k8s.io/v1", "HTTPRoute"),
        ("gateway.networking.k8s.io/v1beta1", "HTTPRoute"),
        ("gateway.networking.k8s.io/v1", "GRPCRoute"),
        ("gateway.networking.k8s.io/v1alpha2", "GRPCRoute"),
        ("gateway.networking.k8s.io/v1alpha3", "TLSRoute"),
        ("gateway.networking.k8s.io/v1alpha2", "TLSRoute"),
        ("gateway.networking.k8s.io/v1alpha2", "TCPRoute"),
        ("gateway.networking.k8s.io/v1", "UDPRoute"),
    ],
)
def test_route_kinds_in_every_served_version(api_version: str, kind: str) -> None:
    snapshot = snapshot_of(f"apiVersion: {api_version}\nkind: {kind}\n{ROUTE_BODY}")
    assert [str(r.ref) for r in snapshot.routes] == [f"{kind}/shop/r"]
    assert snapshot.routes[0].parent_refs[0].is_gateway
    assert dict(snapshot.facts.ignored_kinds) == {}


def test_listener_sets_in_both_groups() -> None:
    body = """
metadata: {name: extra, namespace: shop}
spec:
  parentRef: {name: edge}
  listeners: [{name: a, port: 8080, protocol: HTTP}]
"""
    snapshot = snapshot_of(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: ListenerSet\n" + body,
        "apiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: XListenerSet\n" + body,
    )
    assert sorted(str(s.ref) for s in snapshot.listener_sets) == [
        "ListenerSet/shop/extra",
        "XListenerSet/shop/extra",
    ]


def test_a_gateway_kind_of_another_group_is_ignored() -> None:
    other = "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: g}\nspec: {}"
    snapshot = snapshot_of(other)
    assert snapshot.gateways == ()
    assert dict(snapshot.facts.ignored_kinds) == {"Gateway.networking.istio.io": 1}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (
            "kind: Gateway\nmetadata: {name: g}\nspec: {listeners: []}",
            "invalid Gateway g: spec.gatewayClassName: required",
        ),
        (
            "kind: Gateway\nmetadata: {name: g}\nspec:\n  gatewayClassName: x\n"
            "  listeners: [{name: a, port: 70000, protocol: HTTP}]",
            "invalid Gateway g: spec.listeners[0].port: 70000 is not a port number (1-65535)",
        ),
        (
            "kind: Gateway\nmetadata: {name: g}\nspec:\n  gatewayClassName: x\n"
            "  listeners: [{name: a, port: 80, protocol: HTTP, allowedRoutes: "
            "{namespaces: {from: Everywhere}}}]",
            "spec.listeners[0].allowedRoutes.namespaces.from: 'Everywhere' is not one of All, "
            "Same, Selector",
        ),
        (
            "kind: Gateway\nmetadata: {name: g}\nspec:\n  gatewayClassName: x\n"
            "  listeners: [{name: a, port: 80, protocol: HTTP, hostname: 'a.*.com'}]",
            "spec.listeners[0].hostname: 'a.*.com' is not a hostname",
        ),
        (
            "kind: HTTPRoute\nmetadata: {name: r}\nspec:\n  rules: [{backendRefs: [{name: web}]}]",
            "invalid HTTPRoute r: spec.rules[0].backendRefs[0].port: required for a Service backend",
        ),
        (
            "kind: HTTPRoute\nmetadata: {name: r}\nspec:\n  parentRefs: [{name: g, port: '80'}]",
            "invalid HTTPRoute r",
        ),
        (
            "kind: ReferenceGrant\nmetadata: {name: g}\nspec: {from: [], to: []}",
            "spec.from and spec.to: at least one entry each",
        ),
    ],
)
def test_invalid_objects_are_one_line_errors(document: str, reason: str) -> None:
    with pytest.raises(InputError, match=None) as caught:
        snapshot_of("apiVersion: gateway.networking.k8s.io/v1\n" + document)
    message = str(caught.value)
    assert reason in message
    assert "\n" not in message
