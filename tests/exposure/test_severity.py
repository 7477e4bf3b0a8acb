"""The inventory feeds the plain-HTTP rules: when no workload receives the clear text
today (every path a dead end, or denied by the pods' policies), through an Ingress or
through Gateway routes, the finding is low; otherwise it keeps its default."""

from __future__ import annotations

from kaudit.findings import Severity
from tests.exposure.fixtures import WEB, service
from tests.exposure.test_gateways import DATA_PLANE, INFRA, admit_from, gateway, route
from tests.exposure.test_pods_and_ingress import NGINX, admit_namespace, ingress
from tests.rules.helpers import run, snapshot_of


def test_ingress_without_tls_is_low_when_the_policies_deny_the_controller() -> None:
    documents = (WEB, service(), NGINX, ingress(tls=False))
    (denied,) = run("ingress-without-tls", snapshot_of(*documents, admit_namespace("other")))
    assert denied.severity is Severity.LOW
    assert denied.message.endswith(
        "No workload receives it today: the ingress policies of Deployment/web deny it."
    )
    # near miss: the policy admits the controller's namespace, so the clear text arrives
    (admitted,) = run(
        "ingress-without-tls", snapshot_of(*documents, admit_namespace("ingress-nginx"))
    )
    assert admitted.severity is Severity.MEDIUM
    assert "reachesNoWorkload" not in admitted.evidence


def test_ingress_without_tls_to_a_missing_service_is_low() -> None:
    (finding,) = run("ingress-without-tls", snapshot_of(WEB, NGINX, ingress(tls=False)))
    assert finding.severity is Severity.LOW
    assert finding.evidence["reachesNoWorkload"] == "backend Service web does not exist"


def test_gateway_plain_http_is_low_when_routes_deliver_nothing() -> None:
    documents = (INFRA, WEB, service(), gateway(), route(), DATA_PLANE)
    (denied,) = run("gateway-listener-plain-http", snapshot_of(*documents, admit_from("other")))
    assert denied.severity is Severity.LOW
    (admitted,) = run("gateway-listener-plain-http", snapshot_of(*documents, admit_from("infra")))
    assert admitted.severity is Severity.MEDIUM
    # without the data-plane pods admission is unknown: the default severity stays
    (unknown,) = run("gateway-listener-plain-http", snapshot_of(*documents[:-1], admit_from("x")))
    assert unknown.severity is Severity.MEDIUM
    broken = route(backend="{name: web, port: 8080}")
    (dead,) = run(
        "gateway-listener-plain-http", snapshot_of(INFRA, WEB, service(), gateway(), broken)
    )
    assert dead.severity is Severity.LOW
    assert dead.evidence["reachesNoWorkload"] == "port 8080 is not a port of Service web"
