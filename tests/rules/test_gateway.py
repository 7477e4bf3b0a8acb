"""Gateway API rules, each with the near miss that must not fire."""

from __future__ import annotations

import dataclasses

from kaudit.findings import Severity
from kaudit.model import ClusterFacts
from tests.jsondig import dig
from tests.rules.fixtures import deployment, namespace
from tests.rules.helpers import fired_on, only, run, snapshot_of

GATEWAY_CLASS = """
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: example}
spec: {controllerName: example.com/gateway}
"""

WEB = deployment("web", "shop")
WEB_SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
"""
API = deployment("api", "backend")
API_SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: api, namespace: backend}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8080, targetPort: 8080}]
"""


def gateway(
    listeners: str,
    class_name: str = "example",
    namespace: str = "shop",
) -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: edge, namespace: {namespace}}}
spec:
  gatewayClassName: {class_name}
  listeners: {listeners}
"""


HTTP = "{name: http, port: 80, protocol: HTTP, hostname: shop.example.com}"
HTTPS = (
    "{name: https, port: 443, protocol: HTTPS, hostname: shop.example.com, "
    "tls: {certificateRefs: [{name: shop-tls}]}}"
)


def route(
    name: str = "web",
    parent: str = "{name: edge}",
    backend: str = "{name: web, port: 80}",
    filters: str = "[]",
    namespace: str = "shop",
    kind: str = "HTTPRoute",
    version: str = "v1",
) -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/{version}
kind: {kind}
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  parentRefs: [{parent}]
  hostnames: [shop.example.com]
  rules:
    - filters: {filters}
      backendRefs: [{backend}]
"""


BASE = [GATEWAY_CLASS, WEB, WEB_SERVICE]
REDIRECT = "[{type: RequestRedirect, requestRedirect: {scheme: https, statusCode: 301}}]"


# --- gateway-unknown-class ---------------------------------------------------------------


def test_unknown_class_fires_when_the_input_holds_classes() -> None:
    finding = only("gateway-unknown-class", *BASE, gateway(f"[{HTTPS}]", class_name="Example"))
    assert str(finding.resource) == "Gateway/shop/edge"
    assert finding.message == (
        "Gateway shop/edge asks for GatewayClass 'Example', which does not exist (did you "
        "mean example? class names are case-sensitive); no controller programs it. Known "
        "classes: example."
    )
    assert finding.severity is Severity.HIGH


def test_known_class_and_manifests_without_classes_are_silent() -> None:
    assert fired_on("gateway-unknown-class", *BASE, gateway(f"[{HTTPS}]")) == []
    # Absence in manifests that hold no GatewayClass is not evidence.
    assert fired_on("gateway-unknown-class", WEB, gateway(f"[{HTTPS}]", class_name="other")) == []


def test_unknown_class_fires_live_without_any_class() -> None:
    snapshot = snapshot_of(WEB, gateway(f"[{HTTPS}]", class_name="other"))
    live = dataclasses.replace(snapshot, facts=ClusterFacts(source="live"))
    assert [str(f.resource) for f in run("gateway-unknown-class", live)] == ["Gateway/shop/edge"]


# --- gateway-listener-plain-http ---------------------------------------------------------


def test_plain_http_listener_with_a_route_fires() -> None:
    finding = only("gateway-listener-plain-http", *BASE, gateway(f"[{HTTP}]"), route())
    assert str(finding.resource) == "Gateway/shop/edge"
    assert finding.message == (
        "Gateway shop/edge listener http (HTTP, port 80) serves 1 route (HTTPRoute/shop/web) "
        "over plain HTTP for shop.example.com, with no HTTPS listener for shop.example.com "
        "and no redirect to https."
    )
    assert dig(finding.evidence, "routes", 0, "hostnames") == ["shop.example.com"]
    assert "kind: HTTPRoute" in finding.remediation
    assert "scheme: https" in finding.remediation


def test_http_listener_that_redirects_to_https_is_silent() -> None:
    redirect = route(name="redirect", parent="{name: edge, sectionName: http}", filters=REDIRECT)
    redirect = redirect.replace("      backendRefs: [{name: web, port: 80}]\n", "")
    secure = route(parent="{name: edge, sectionName: https}")
    docs = [*BASE, gateway(f"[{HTTP}]"), redirect, secure]
    assert fired_on("gateway-listener-plain-http", *docs) == []


def test_http_listener_beside_an_https_listener_for_its_hostname_is_silent() -> None:
    docs = [*BASE, gateway(f"[{HTTP}, {HTTPS}]"), route()]
    assert fired_on("gateway-listener-plain-http", *docs) == []
    # An HTTPS listener for another hostname does not cover it.
    other = HTTPS.replace("hostname: shop.example.com", "hostname: admin.example.com")
    docs = [*BASE, gateway(f"[{HTTP}, {other}]"), route()]
    assert fired_on("gateway-listener-plain-http", *docs) == ["Gateway/shop/edge"]


def test_https_listener_covering_the_routes_hostnames_is_enough() -> None:
    # The HTTP listener takes every hostname, but its route answers only for
    # shop.example.com, which the HTTPS listener serves.
    any_host = "{name: http, port: 80, protocol: HTTP}"
    docs = [*BASE, gateway(f"[{any_host}, {HTTPS}]"), route()]
    assert fired_on("gateway-listener-plain-http", *docs) == []
    wildcard = HTTPS.replace("hostname: shop.example.com", "hostname: '*.example.com'")
    docs = [*BASE, gateway(f"[{any_host}, {wildcard}]"), route()]
    assert fired_on("gateway-listener-plain-http", *docs) == []
    # A TLS passthrough listener does not terminate TLS for the Gateway.
    passthrough = (
        "{name: tls, port: 443, protocol: TLS, hostname: shop.example.com, "
        "tls: {mode: Passthrough}}"
    )
    docs = [*BASE, gateway(f"[{any_host}, {passthrough}]"), route()]
    assert fired_on("gateway-listener-plain-http", *docs) == ["Gateway/shop/edge"]


def test_http_listener_without_routes_is_silent() -> None:
    assert fired_on("gateway-listener-plain-http", *BASE, gateway(f"[{HTTP}]")) == []


# --- gateway-allows-routes-from-all-namespaces -------------------------------------------


def listener_from(from_: str) -> str:
    return "{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: " + from_ + "}}"


def test_allowed_routes_from_all_fires_and_names_foreign_routes() -> None:
    docs = [
        *BASE,
        gateway(f"[{listener_from('{from: All}')}]"),
        route(namespace="other", parent="{name: edge, namespace: shop}"),
    ]
    finding = only("gateway-allows-routes-from-all-namespaces", *docs)
    assert str(finding.resource) == "Gateway/shop/edge"
    assert finding.message == (
        "Gateway shop/edge accepts routes from every namespace on listener http: any "
        "namespace can attach a route and take over its hostnames. Routes from other "
        "namespaces attached now: HTTPRoute/other/web."
    )
    assert "from: Same" in finding.remediation


def test_allowed_routes_same_and_selector_are_silent() -> None:
    for from_ in ("{from: Same}", "{from: Selector, selector: {matchLabels: {team: shop}}}"):
        docs = [*BASE, gateway(f"[{listener_from(from_)}]"), route()]
        assert fired_on("gateway-allows-routes-from-all-namespaces", *docs) == []


# --- route-parent-not-found --------------------------------------------------------------


def test_parent_gateway_missing_fires() -> None:
    finding = only("route-parent-not-found", *BASE, route(parent="{name: nowhere}"))
    assert str(finding.resource) == "HTTPRoute/shop/web"
    assert finding.message == (
        "HTTPRoute shop/web: parentRef Gateway/shop/nowhere: Gateway shop/nowhere does not "
        "exist; the route is attached nowhere and serves no traffic."
    )
    assert dig(finding.evidence, "parents", 0, "reason") == "ParentNotFound"


def test_section_name_that_does_not_exist_fires_and_one_that_exists_is_silent() -> None:
    docs = [*BASE, gateway(f"[{HTTP}, {HTTPS}]")]
    finding = only("route-parent-not-found", *docs, route(parent="{name: edge, sectionName: web}"))
    assert dig(finding.evidence, "parents", 0, "reason") == "NoMatchingParent"
    assert "has no listener 'web' (listeners: http (80), https (443))" in finding.message
    good = route(parent="{name: edge, sectionName: https}")
    assert fired_on("route-parent-not-found", *docs, good) == []


def test_parent_in_a_namespace_outside_the_input_is_not_reported() -> None:
    # Audited with -n shop, say: the Gateways of infra were not read.
    outside = route(parent="{name: edge, namespace: infra}")
    assert fired_on("route-parent-not-found", *BASE, outside) == []
    # The namespace is in the input, and the Gateway is not: reported.
    assert fired_on("route-parent-not-found", *BASE, namespace("infra"), outside) == [
        "HTTPRoute/shop/web"
    ]


def test_route_from_a_namespace_the_listener_does_not_admit_fires() -> None:
    docs = [
        *BASE,
        gateway(f"[{HTTPS}]"),
        route(namespace="other", parent="{name: edge, namespace: shop}"),
    ]
    finding = only("route-parent-not-found", *docs)
    assert dig(finding.evidence, "parents", 0, "reason") == "NotAllowedByListeners"
    assert "admits routes from namespace shop only, not from other" in finding.message


def test_route_kind_the_listener_does_not_admit_fires() -> None:
    tcp = route(kind="TCPRoute", version="v1alpha2").replace(
        "  hostnames: [shop.example.com]\n", ""
    )
    finding = only("route-parent-not-found", *BASE, gateway(f"[{HTTPS}]"), tcp)
    assert str(finding.resource) == "TCPRoute/shop/web"
    assert "listener https admits HTTPRoute, GRPCRoute, not TCPRoute" in finding.message


def test_route_status_conditions_are_evidence() -> None:
    status = """
status:
  parents:
    - parentRef: {name: nowhere}
      controllerName: example.com/gateway
      conditions:
        - {type: Accepted, status: "False", reason: NoMatchingParent, message: no such gateway}
        - {type: ResolvedRefs, status: "True", reason: ResolvedRefs, message: ""}
"""
    finding = only("route-parent-not-found", *BASE, route(parent="{name: nowhere}") + status)
    assert dig(finding.evidence, "status", 0, "conditions", 0) == {
        "type": "Accepted",
        "status": "False",
        "reason": "NoMatchingParent",
        "message": "no such gateway",
    }
    assert finding.message.endswith("The controller reports Accepted=False (NoMatchingParent).")


# --- route-backend-missing-service / route-backend-port-mismatch ------------------------


def test_backend_missing_service_fires() -> None:
    docs = [*BASE, gateway(f"[{HTTPS}]"), route(backend="{name: shop-web, port: 80}")]
    finding = only("route-backend-missing-service", *docs)
    assert finding.message == (
        "HTTPRoute shop/web sends traffic to Service shop/shop-web, which does not exist; "
        "those requests fail."
    )
    assert fired_on("route-backend-missing-service", *BASE, gateway(f"[{HTTPS}]"), route()) == []


def test_backend_port_that_is_the_target_port_fires() -> None:
    docs = [*BASE, gateway(f"[{HTTPS}]"), route(backend="{name: web, port: 8080}")]
    finding = only("route-backend-port-mismatch", *docs)
    assert finding.message == (
        "HTTPRoute shop/web sends traffic to a port its Service does not have: rule 0, "
        "Service/shop/web:8080: port 8080 is not a port of Service web (it is the Service's "
        "targetPort: the backend must name the Service port, not the pod's)."
    )


def test_backend_port_that_is_the_container_port_says_so() -> None:
    service = WEB_SERVICE.replace("targetPort: 8080", "targetPort: http")
    docs = [
        GATEWAY_CLASS,
        WEB,
        service,
        gateway(f"[{HTTPS}]"),
        route(backend="{name: web, port: 8080}"),
    ]
    finding = only("route-backend-port-mismatch", *docs)
    assert (
        "(it is the pods' containerPort: the backend must name the Service port" in finding.message
    )


def test_backend_service_port_whose_target_port_differs_is_silent() -> None:
    # Port 80 is the Service's port; its targetPort 8080 differs, as it should.
    assert fired_on("route-backend-port-mismatch", *BASE, gateway(f"[{HTTPS}]"), route()) == []


# --- route-cross-namespace-without-referencegrant ----------------------------------------

CROSS = "{name: api, namespace: backend, port: 8080}"


def grant(to: str = "{group: '', kind: Service, name: api}", kind: str = "HTTPRoute") -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {{name: from-shop, namespace: backend}}
spec:
  from: [{{group: gateway.networking.k8s.io, kind: {kind}, namespace: shop}}]
  to: [{to}]
"""


def test_cross_namespace_backend_without_grant_fires() -> None:
    docs = [*BASE, API, API_SERVICE, gateway(f"[{HTTPS}]"), route(backend=CROSS)]
    finding = only("route-cross-namespace-without-referencegrant", *docs)
    assert finding.message == (
        "HTTPRoute shop/web refers to Service/backend/api in another namespace, and no "
        "ReferenceGrant there allows it: the reference is refused and its requests fail."
    )
    assert "kind: ReferenceGrant" in finding.remediation
    assert "namespace: backend" in finding.remediation


def test_reference_grant_that_allows_the_backend_is_silent() -> None:
    docs = [*BASE, API, API_SERVICE, gateway(f"[{HTTPS}]"), route(backend=CROSS)]
    assert fired_on("route-cross-namespace-without-referencegrant", *docs, grant()) == []
    # Every Service of the namespace (no name) allows it too.
    every = grant("{group: '', kind: Service}")
    assert fired_on("route-cross-namespace-without-referencegrant", *docs, every) == []
    # A grant for GRPCRoutes, or for another Service, does not.
    for near in (grant(kind="GRPCRoute"), grant("{group: '', kind: Service, name: db}")):
        assert fired_on("route-cross-namespace-without-referencegrant", *docs, near) == [
            "HTTPRoute/shop/web"
        ]


def test_cross_namespace_certificate_without_grant_fires() -> None:
    https = HTTPS.replace("{name: shop-tls}", "{name: shop-tls, namespace: certs}")
    docs = [*BASE, namespace("certs"), gateway(f"[{https}]")]
    finding = only("route-cross-namespace-without-referencegrant", *docs)
    assert str(finding.resource) == "Gateway/shop/edge"
    assert "uses certificate Secret/certs/shop-tls from another namespace" in finding.message
    cert_grant = """
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: gateways, namespace: certs}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: shop}]
  to: [{group: '', kind: Secret}]
"""
    assert fired_on("route-cross-namespace-without-referencegrant", *docs, cert_grant) == []
