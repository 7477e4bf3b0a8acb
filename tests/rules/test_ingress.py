"""Ingress rules: class, backends and TLS."""

from __future__ import annotations

import pytest

from kaudit.findings import Severity
from tests.jsondig import dig
from tests.rules.fixtures import deployment
from tests.rules.helpers import fired_on, only, run, snapshot_of


def ingress_class(name: str, default: bool = False) -> str:
    annotation = "{ingressclass.kubernetes.io/is-default-class: 'true'}" if default else "{}"
    return f"""
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {{name: {name}, annotations: {annotation}}}
spec: {{controller: example.com/{name}}}
"""


def ingress(
    name: str,
    class_line: str = "ingressClassName: nginx",
    service: str = "web",
    port: str = "{number: 80}",
    tls: bool = True,
    annotations: str = "{}",
) -> str:
    tls_block = "  tls: [{hosts: [shop.example.com], secretName: shop-tls}]" if tls else ""
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: {name}, namespace: shop, annotations: {annotations}}}
spec:
  {class_line}
{tls_block}
  rules:
    - host: shop.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend: {{service: {{name: {service}, port: {port}}}}}
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
BASE = [WEB, WEB_SERVICE]


# --- ingress-without-class -----------------------------------------------------------------

CLASS_CASES = [
    ("no class, no default", [ingress_class("nginx")], "", Severity.HIGH),
    ("no class, a default exists", [ingress_class("nginx", default=True)], "", Severity.LOW),
    ("no class, no IngressClass in the input", [], "", Severity.MEDIUM),
    ("legacy annotation", [ingress_class("nginx")], "legacy", None),
    ("class set", [ingress_class("nginx")], "ingressClassName: nginx", None),
]


@pytest.mark.parametrize(
    ("classes", "class_line", "severity"),
    [c[1:] for c in CLASS_CASES],
    ids=[c[0] for c in CLASS_CASES],
)
def test_ingress_without_class(
    classes: list[str], class_line: str, severity: Severity | None
) -> None:
    if class_line == "legacy":
        document = ingress("i", class_line="", annotations="{kubernetes.io/ingress.class: nginx}")
    else:
        document = ingress("i", class_line=class_line)
    findings = run("ingress-without-class", snapshot_of(*BASE, *classes, document))
    assert [(str(f.resource), f.severity) for f in findings] == (
        [("Ingress/shop/i", severity)] if severity else []
    )


def test_ingress_without_class_says_why() -> None:
    finding = only(
        "ingress-without-class", *BASE, ingress_class("nginx"), ingress("i", class_line="")
    )
    assert "no default IngressClass" in finding.message
    assert "404" in finding.message
    assert "ingressClassName: nginx" in finding.remediation


# --- ingress-unknown-class -----------------------------------------------------------------

UNKNOWN_CASES = [
    ("unknown", [ingress_class("nginx")], "traefik", ["Ingress/shop/i"]),
    ("known", [ingress_class("nginx")], "nginx", []),
    ("no classes in the input", [], "traefik", []),
]


@pytest.mark.parametrize(
    ("classes", "name", "expected"),
    [c[1:] for c in UNKNOWN_CASES],
    ids=[c[0] for c in UNKNOWN_CASES],
)
def test_ingress_unknown_class(classes: list[str], name: str, expected: list[str]) -> None:
    document = ingress("i", class_line=f"ingressClassName: {name}")
    assert fired_on("ingress-unknown-class", *BASE, *classes, document) == expected


def test_ingress_unknown_class_hints_at_letter_case() -> None:
    finding = only(
        "ingress-unknown-class",
        *BASE,
        ingress_class("nginx"),
        ingress("i", class_line="ingressClassName: NGINX"),
    )
    assert "did you mean nginx?" in finding.message
    assert finding.evidence == {"ingressClassName": "NGINX", "ingressClasses": ["nginx"]}


# --- ingress-backend-missing-service -------------------------------------------------------

RESOURCE_BACKEND = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: assets, namespace: shop}
spec:
  ingressClassName: nginx
  defaultBackend:
    resource: {apiGroup: k8s.example.com, kind: StorageBucket, name: static}
"""


def test_ingress_backend_missing_service() -> None:
    documents = [*BASE, ingress("ok"), ingress("broken", service="webb"), RESOURCE_BACKEND]
    assert fired_on("ingress-backend-missing-service", *documents) == ["Ingress/shop/broken"]


def test_ingress_backend_missing_service_notices_another_namespace() -> None:
    elsewhere = WEB_SERVICE.replace("namespace: shop", "namespace: web")
    finding = only("ingress-backend-missing-service", WEB, elsewhere, ingress("i"))
    assert finding.evidence["missingServices"] == ["web"]
    assert finding.evidence["sameNameElsewhere"] == ["web/web"]
    assert "only reaches Services of its own namespace" in finding.message


# --- ingress-backend-port-mismatch ---------------------------------------------------------

PORT_CASES = [
    ("service port number", "{number: 80}", None),
    ("service port name", "{name: http}", None),
    ("the targetPort", "{number: 8080}", "it is the Service's targetPort"),
    ("another number", "{number: 9999}", "port 9999 is not a port of Service web"),
    ("the container port name", "{name: web}", "port name 'web' is not a named port"),
]


@pytest.mark.parametrize(
    ("port", "reason"), [c[1:] for c in PORT_CASES], ids=[c[0] for c in PORT_CASES]
)
def test_ingress_backend_port_mismatch(port: str, reason: str | None) -> None:
    web = deployment("web", "shop", ports="[{containerPort: 8080, name: web}]")
    findings = run(
        "ingress-backend-port-mismatch", snapshot_of(web, WEB_SERVICE, ingress("i", port=port))
    )
    if reason is None:
        assert findings == []
    else:
        assert [str(f.resource) for f in findings] == ["Ingress/shop/i"]
        assert reason in findings[0].message
        assert dig(findings[0].evidence, "backends", 0, "servicePorts") == [
            {"port": 80, "name": "http", "targetPort": 8080}
        ]
        assert "Service web has port 80 (name http)" in findings[0].remediation


def test_ingress_backend_port_mismatch_leaves_missing_services_to_its_sibling() -> None:
    assert (
        fired_on(
            "ingress-backend-port-mismatch", *BASE, ingress("i", service="nope", port="{number: 1}")
        )
        == []
    )


# --- ingress-without-tls -------------------------------------------------------------------


def test_ingress_without_tls() -> None:
    documents = [*BASE, ingress("secure"), ingress("plain", tls=False)]
    assert fired_on("ingress-without-tls", *documents) == ["Ingress/shop/plain"]
    finding = only("ingress-without-tls", *BASE, ingress("plain", tls=False))
    assert finding.evidence == {"hosts": ["shop.example.com"]}
    assert "secretName: plain-tls" in finding.remediation
    assert "shop.example.com is served over plain HTTP" in finding.message


# --- older Ingress versions: the same checks on the beta shape --------------------------------

BETA_VERSIONS = ["extensions/v1beta1", "networking.k8s.io/v1beta1"]


def beta_ingress(api_version: str, service_port: str, *, default: bool = False) -> str:
    """A beta Ingress routing to Service web: a rule path, or `spec.backend` if `default`."""
    backend = f"{{serviceName: web, servicePort: {service_port}}}"
    route = (
        f"  backend: {backend}"
        if default
        else "  rules:\n    - host: shop.example.com\n      http:\n        paths:\n"
        f"          - path: /\n            backend: {backend}"
    )
    return f"""
apiVersion: {api_version}
kind: Ingress
metadata:
  name: i
  namespace: shop
  annotations: {{kubernetes.io/ingress.class: nginx}}
spec:
  tls: [{{hosts: [shop.example.com], secretName: shop-tls}}]
{route}
"""


BETA_PORT_CASES = [
    ("service port number", "80", None),
    ("service port name", "http", None),
    ("the targetPort", "8080", "it is the Service's targetPort"),
    ("another number", "9999", "port 9999 is not a port of Service web"),
    ("the container port name", "web", "port name 'web' is not a named port"),
]


@pytest.mark.parametrize("default", [False, True], ids=["rule path", "spec.backend"])
@pytest.mark.parametrize("api_version", BETA_VERSIONS)
@pytest.mark.parametrize(
    ("port", "reason"), [c[1:] for c in BETA_PORT_CASES], ids=[c[0] for c in BETA_PORT_CASES]
)
def test_beta_ingress_backend_port_mismatch(
    api_version: str, default: bool, port: str, reason: str | None
) -> None:
    web = deployment("web", "shop", ports="[{containerPort: 8080, name: web}]")
    document = beta_ingress(api_version, port, default=default)
    findings = run("ingress-backend-port-mismatch", snapshot_of(web, WEB_SERVICE, document))
    if reason is None:
        assert findings == []
    else:
        assert [str(f.resource) for f in findings] == ["Ingress/shop/i"]
        assert reason in findings[0].message


@pytest.mark.parametrize("api_version", BETA_VERSIONS)
def test_beta_ingress_backend_missing_service(api_version: str) -> None:
    good = beta_ingress(api_version, "80")
    broken = good.replace("serviceName: web", "serviceName: webb")
    assert fired_on("ingress-backend-missing-service", *BASE, good) == []
    assert fired_on("ingress-backend-missing-service", *BASE, broken) == ["Ingress/shop/i"]


@pytest.mark.parametrize("api_version", BETA_VERSIONS)
def test_beta_ingress_class_from_the_legacy_annotation(api_version: str) -> None:
    with_class = beta_ingress(api_version, "80")
    without = with_class.replace("annotations: {kubernetes.io/ingress.class: nginx}", "")
    classes = [ingress_class("nginx")]
    assert fired_on("ingress-without-class", *BASE, *classes, with_class) == []
    assert fired_on("ingress-without-class", *BASE, *classes, without) == ["Ingress/shop/i"]
