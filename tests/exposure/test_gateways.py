"""Gateway API paths in the inventory: listener TLS, the data-plane pods as sources,
routes that do not attach, redirects, ReferenceGrants."""

from __future__ import annotations

import pytest

from kaudit.exposure import ExposedPort, ExposureInventory, Via
from kaudit.model import ObjectRef, Protocol
from tests.exposure.fixtures import WEB, inventory, service, the_entry
from tests.rules.fixtures import namespace, policy

INFRA = namespace("infra")


def gateway(
    listeners: str = "[{name: http, port: 80, protocol: HTTP, "
    "allowedRoutes: {namespaces: {from: All}}}]",
    class_name: str = "example",
) -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: edge, namespace: infra}}
spec:
  gatewayClassName: {class_name}
  listeners: {listeners}
"""


HTTPS = (
    "[{name: https, port: 443, protocol: HTTPS, hostname: shop.example.com, "
    "tls: {certificateRefs: [{name: shop-cert}]}, allowedRoutes: {namespaces: {from: All}}}]"
)
GATEWAY_CLASS = """
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: example}
spec: {controllerName: example.com/gateway}
"""
# The data plane of Gateway infra/edge, labelled as GEP-1762 recommends.
DATA_PLANE = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: edge-proxy, namespace: infra}
spec:
  selector: {matchLabels: {gateway.networking.k8s.io/gateway-name: edge}}
  template:
    metadata: {labels: {gateway.networking.k8s.io/gateway-name: edge}}
    spec:
      containers: [{name: proxy, image: envoy, ports: [{containerPort: 8080}]}]
"""


def route(
    backend: str = "{name: web, port: 80}",
    hostnames: str = "[shop.example.com]",
    namespace: str = "shop",
    filters: str = "",
) -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: web, namespace: {namespace}}}
spec:
  parentRefs: [{{name: edge, namespace: infra}}]
  hostnames: {hostnames}
  rules: [{{backendRefs: [{backend}]{filters}}}]
"""


def admit_from(ns: str) -> str:
    return policy(
        "from-gateway",
        "shop",
        f"""
        podSelector: {{}}
        policyTypes: [Ingress]
        ingress:
          - from: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {ns}}}}}}}]
        """,
    )


def gateway_inventory(*documents: str) -> ExposureInventory:
    return inventory(INFRA, WEB, service(), *documents)


def test_plain_http_listener_path_to_the_workload() -> None:
    inv = gateway_inventory(gateway(), route())
    entry = the_entry(inv, Via.GATEWAY)
    assert (entry.workload_name, entry.entry, entry.tls) == (
        "Deployment/web",
        "shop.example.com",
        False,
    )
    assert entry.ports == (ExposedPort(80, Protocol.TCP, 8080),)
    assert entry.path == (
        ObjectRef("Gateway", "infra", "edge"),
        ObjectRef("HTTPRoute", "shop", "web"),
        ObjectRef("Service", "shop", "web"),
        ObjectRef("Deployment", "shop", "web"),
    )
    # No policy isolates the pods: admitted, whatever forwards the traffic.
    assert entry.admitted_by_policy is True
    assert entry.notes == ("no NetworkPolicy isolates the pods for ingress",)


def test_without_the_data_plane_an_isolated_workload_is_unknown() -> None:
    entry = the_entry(gateway_inventory(gateway(), route(), admit_from("infra")), Via.GATEWAY)
    assert entry.admitted_by_policy is None
    assert entry.notes == (
        "the data-plane pods of Gateway infra/edge are not in the input (or carry no label "
        "kaudit knows)",
    )


def test_https_listener_is_tls() -> None:
    entry = the_entry(gateway_inventory(gateway(HTTPS), route()), Via.GATEWAY)
    assert (entry.tls, entry.ports[0].port) == (True, 443)


@pytest.mark.parametrize(("admitted", "expected"), [("infra", True), ("monitoring", False)])
def test_admission_asks_about_the_data_plane_pods(admitted: str, expected: bool) -> None:
    inv = gateway_inventory(gateway(), route(), DATA_PLANE, admit_from(admitted))
    entry = the_entry(inv, Via.GATEWAY)
    assert entry.admitted_by_policy is expected
    assert entry.notes == ("sources: the controller's pods (Deployment/edge-proxy)",)


def test_a_route_the_listener_does_not_admit_is_no_path() -> None:
    same_only = gateway(
        "[{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}}}]"
    )
    inv = gateway_inventory(same_only, route())
    assert inv.entries == () and inv.dead_ends == ()


def test_a_redirect_to_https_reaches_no_backend() -> None:
    redirect = ", filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]"
    inv = gateway_inventory(gateway(), route(filters=redirect))
    assert [e.via for e in inv.entries] == []


def test_cross_namespace_backend_needs_a_reference_grant() -> None:
    backend = "{name: web, namespace: shop, port: 80}"
    inv = gateway_inventory(gateway(), route(backend=backend, namespace="infra"))
    assert inv.entries == ()
    assert [d.reason for d in inv.dead_ends] == [
        "no ReferenceGrant in namespace shop allows HTTPRoute infra/web to reach Service web"
    ]
    grant = """
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: from-infra, namespace: shop}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: infra}]
  to: [{group: "", kind: Service}]
"""
    granted = gateway_inventory(gateway(), route(backend=backend, namespace="infra"), grant)
    assert the_entry(granted, Via.GATEWAY).path[1] == ObjectRef("HTTPRoute", "infra", "web")


def test_unknown_gateway_class_is_a_dead_end_only_when_classes_are_known() -> None:
    unknown = gateway(class_name="missing")
    assert gateway_inventory(unknown, route()).entries != ()
    with_classes = gateway_inventory(unknown, route(), GATEWAY_CLASS)
    assert with_classes.entries == ()
    assert [d.reason for d in with_classes.dead_ends] == [
        "GatewayClass missing does not exist: no controller serves the Gateway"
    ]


def test_backend_port_that_is_not_a_service_port_is_a_dead_end() -> None:
    inv = gateway_inventory(gateway(), route(backend="{name: web, port: 8080}"))
    assert [d.reason for d in inv.dead_ends] == ["port 8080 is not a port of Service web"]
