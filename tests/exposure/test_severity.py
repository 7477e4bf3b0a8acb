"""The inventory feeds the plain-HTTP rules: high when the clear text reaches workloads
whose policies admit it, through an Ingress or through Gateway routes."""

from __future__ import annotations

from kaudit.findings import Severity
from tests.exposure.fixtures import WEB, service
from tests.exposure.test_gateways import DATA_PLANE, INFRA, admit_from, gateway, route
from tests.exposure.test_pods_and_ingress import NGINX, admit_namespace, ingress
from tests.rules.helpers import run, snapshot_of


def test_ingress_without_tls_is_high_when_the_pods_admit_the_controller() -> None:
    documents = (WEB, service(), NGINX, ingress(tls=False))
    (admitted,) = run(
        "ingress-without-tls", snapshot_of(*documents, admit_namespace("ingress-nginx"))
    )
    assert admitted.severity is Severity.HIGH
    assert admitted.message.endswith("It reaches Deployment shop/web, whose policies admit it.")
    assert admitted.evidence["reaches"] == ["Deployment/web"]
    # near miss: the policy admits another namespace, so the clear text goes nowhere
    (denied,) = run("ingress-without-tls", snapshot_of(*documents, admit_namespace("other")))
    assert denied.severity is Severity.MEDIUM
    assert "reaches" not in denied.evidence


def test_gateway_plain_http_is_high_when_routes_deliver_it() -> None:
    documents = (INFRA, WEB, service(), gateway(), route(), DATA_PLANE)
    (admitted,) = run("gateway-listener-plain-http", snapshot_of(*documents, admit_from("infra")))
    assert admitted.severity is Severity.HIGH
    assert admitted.evidence["reaches"] == ["Deployment/web"]
    (denied,) = run("gateway-listener-plain-http", snapshot_of(*documents, admit_from("other")))
    assert denied.severity is Severity.MEDIUM
    # without the data-plane pods admission is unknown: the default severity stays
    (unknown,) = run("gateway-listener-plain-http", snapshot_of(*documents[:-1]))
    assert unknown.severity is Severity.MEDIUM
