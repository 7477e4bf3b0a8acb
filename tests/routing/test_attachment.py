"""Route attachment: parentRefs with sectionName and port, allowedRoutes, hostnames,
ListenerSets, and backend resolution with ReferenceGrants."""

from __future__ import annotations

from kaudit.model import ObjectRef
from kaudit.routing import RoutingTable, resolve_routes
from tests.rules.helpers import snapshot_of

NAMESPACES = """
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Namespace, metadata: {name: infra}}
  - {apiVersion: v1, kind: Namespace, metadata: {name: shop, labels: {exposed: "yes"}}}
  - {apiVersion: v1, kind: Namespace, metadata: {name: other}}
"""


def gateway(allowed: str = "{namespaces: {from: Same}}", hostname: str = "null") -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: edge, namespace: infra}}
spec:
  gatewayClassName: example
  listeners:
    - name: http
      port: 80
      protocol: HTTP
      hostname: {hostname}
      allowedRoutes: {allowed}
    - name: tcp
      port: 5432
      protocol: TCP
      allowedRoutes: {{namespaces: {{from: All}}}}
"""


def route(
    parent: str = "{name: edge, namespace: infra}",
    hostnames: str = "[]",
    namespace: str = "shop",
    kind: str = "HTTPRoute",
    backend: str = "{name: web, port: 80}",
) -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: {kind}
metadata: {{name: web, namespace: {namespace}}}
spec:
  parentRefs: [{parent}]
  hostnames: {hostnames}
  rules: [{{backendRefs: [{backend}]}}]
"""


def table(*documents: str) -> RoutingTable:
    return resolve_routes(snapshot_of(NAMESPACES, *documents))


def attachment(
    tbl: RoutingTable, kind: str = "HTTPRoute", namespace: str = "shop"
) -> tuple[bool, str, str]:
    resolution = tbl.route(ObjectRef(kind, namespace, "web"))
    assert resolution is not None
    (only,) = resolution.attachments
    return only.accepted, only.reason, only.detail


def test_same_namespace_refuses_a_route_of_another_namespace() -> None:
    accepted, reason, detail = attachment(table(gateway(), route()))
    assert (accepted, reason) == (False, "NotAllowedByListeners")
    assert detail == "listener http admits routes from namespace infra only, not from shop"


def test_same_namespace_admits_its_own_routes() -> None:
    tbl = table(gateway(), route(namespace="infra"))
    assert attachment(tbl, namespace="infra")[:2] == (True, "Accepted")
    (listener,) = [lr for lr in tbl.listeners if lr.listener.listener.name == "http"]
    assert [str(a.route.ref) for a in listener.routes] == ["HTTPRoute/infra/web"]
    assert listener.routes[0].hostnames == ()


def test_selector_admits_namespaces_with_the_label_only() -> None:
    allowed = "{namespaces: {from: Selector, selector: {matchLabels: {exposed: 'yes'}}}}"
    assert attachment(table(gateway(allowed), route()))[:2] == (True, "Accepted")
    refused = attachment(table(gateway(allowed), route(namespace="other")), namespace="other")
    assert refused[:2] == (False, "NotAllowedByListeners")
    assert "namespaces matching exposed=yes" in refused[2]


def test_all_admits_every_namespace() -> None:
    allowed = "{namespaces: {from: All}}"
    assert attachment(table(gateway(allowed), route(namespace="other")), namespace="other")[:2] == (
        True,
        "Accepted",
    )


def test_kinds_default_from_the_protocol() -> None:
    # The TCP listener admits every namespace but only TCPRoutes; the HTTP one
    # admits HTTPRoutes of infra only.
    tcp = route(kind="TCPRoute", parent="{name: edge, namespace: infra, sectionName: tcp}")
    assert attachment(table(gateway(), tcp), kind="TCPRoute")[:2] == (True, "Accepted")
    http_on_tcp = route(parent="{name: edge, namespace: infra, sectionName: tcp}")
    accepted, reason, detail = attachment(table(gateway(), http_on_tcp))
    assert (accepted, reason) == (False, "NotAllowedByListeners")
    assert detail == "listener tcp admits TCPRoute, not HTTPRoute"


def test_explicit_kinds_restrict_the_listener() -> None:
    allowed = "{namespaces: {from: All}, kinds: [{kind: GRPCRoute}]}"
    accepted, _, detail = attachment(table(gateway(allowed), route()))
    assert not accepted
    assert "admits GRPCRoute, not HTTPRoute" in detail


def test_section_name_and_port_select_listeners() -> None:
    allowed = "{namespaces: {from: All}}"
    good = route(parent="{name: edge, namespace: infra, sectionName: http, port: 80}")
    assert attachment(table(gateway(allowed), good))[0]
    missing = route(parent="{name: edge, namespace: infra, sectionName: https}")
    accepted, reason, detail = attachment(table(gateway(allowed), missing))
    assert (accepted, reason) == (False, "NoMatchingParent")
    assert detail == "Gateway infra/edge has no listener 'https' (listeners: http (80), tcp (5432))"
    wrong_port = route(parent="{name: edge, namespace: infra, sectionName: http, port: 8080}")
    assert attachment(table(gateway(allowed), wrong_port))[1] == "NoMatchingParent"


def test_missing_gateway() -> None:
    accepted, reason, detail = attachment(table(route(parent="{name: nowhere, namespace: infra}")))
    assert (accepted, reason, detail) == (
        False,
        "ParentNotFound",
        "Gateway infra/nowhere does not exist",
    )


def test_hostnames_must_intersect() -> None:
    allowed = "{namespaces: {from: All}}"
    gw = gateway(allowed, hostname="'*.example.com'")
    accepted, reason, _ = attachment(table(gw, route(hostnames="[example.com, shop.example.net]")))
    assert (accepted, reason) == (False, "NoMatchingListenerHostname")
    tbl = table(gw, route(hostnames="[shop.example.com, shop.example.net]"))
    assert attachment(tbl)[0]
    (http,) = [lr for lr in tbl.listeners if lr.listener.listener.name == "http"]
    assert http.routes[0].hostnames == ("shop.example.com",)


def test_accepted_when_one_of_two_listeners_accepts() -> None:
    # No sectionName: the HTTP listener refuses the namespace, the TCP one the kind;
    # an HTTPRoute of infra is accepted by the HTTP listener only.
    tbl = table(gateway(), route(namespace="infra"))
    resolution = tbl.route(ObjectRef("HTTPRoute", "infra", "web"))
    assert resolution is not None
    assert [m.listener.listener.name for m in resolution.listener_matches] == ["http"]


LISTENER_SET = """
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: extra, namespace: shop}
spec:
  parentRef: {name: edge, namespace: infra}
  listeners:
    - {name: shop, port: 8080, protocol: HTTP}
"""


def test_listener_set_needs_the_gateways_allowed_listeners() -> None:
    via_set = route(parent="{kind: ListenerSet, name: extra}")
    refused = table(gateway(), LISTENER_SET, via_set)
    assert refused.listener_sets[0].accepted is False
    assert attachment(refused)[1] == "ParentNotFound"
    assert attachment(refused)[2] == "ListenerSet shop/extra is not accepted by its Gateway"
    allowing = gateway().replace(
        "  listeners:", "  allowedListeners: {namespaces: {from: All}}\n  listeners:"
    )
    accepted = table(allowing, LISTENER_SET, via_set)
    assert attachment(accepted)[:2] == (True, "Accepted")
    # allowedRoutes Same on a ListenerSet's listener is the ListenerSet's namespace.
    (shop,) = [lr for lr in accepted.listeners if lr.listener.listener.name == "shop"]
    assert str(shop.listener.owner) == "ListenerSet/shop/extra"
    assert [str(a.route.ref) for a in shop.routes] == ["HTTPRoute/shop/web"]


SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: api, namespace: other}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8080, targetPort: 9090}]
"""


def grant(to_name: str = "api", from_namespace: str = "shop") -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {{name: from-shop, namespace: other}}
spec:
  from: [{{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: {from_namespace}}}]
  to: [{{group: "", kind: Service, name: {to_name}}}]
"""


def backend_of(tbl: RoutingTable) -> tuple[bool, bool, bool, bool]:
    resolution = tbl.route(ObjectRef("HTTPRoute", "shop", "web"))
    assert resolution is not None
    (backend,) = resolution.backends
    return backend.cross_namespace, backend.granted, backend.missing_service, backend.port_mismatch


def test_cross_namespace_backend_needs_a_reference_grant() -> None:
    ref = "{name: api, namespace: other, port: 8080}"
    assert backend_of(table(SERVICE, route(backend=ref))) == (True, False, False, False)
    assert backend_of(table(SERVICE, grant(), route(backend=ref))) == (True, True, False, False)
    # A grant for another Service, or from another namespace, does not allow it.
    assert backend_of(table(SERVICE, grant("db"), route(backend=ref)))[1] is False
    assert backend_of(table(SERVICE, grant(from_namespace="infra"), route(backend=ref)))[1] is False


def test_backend_port_is_the_service_port() -> None:
    assert backend_of(
        table(SERVICE, grant(), route(backend="{name: api, namespace: other, port: 9090}"))
    ) == (
        True,
        True,
        False,
        True,
    )
    assert backend_of(table(route(backend="{name: gone, port: 80}"))) == (False, True, True, False)
