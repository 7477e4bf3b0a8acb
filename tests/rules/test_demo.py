"""The bundled demo: the insecure variant shows every planted problem, the hardened one none
of the high or critical ones (kaudit/demo/README.md lists what is planted where)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaudit.audit import audit
from kaudit.collect.manifests import load_manifests
from kaudit.findings import Finding, Severity
from kaudit.kube import SYSTEM_NAMESPACES
from kaudit.report.model import Report
from tests.jsondig import dig, dig_list

DEMO = Path(__file__).resolve().parents[2] / "kaudit" / "demo"

# (rule name, object) for every row of the README's table of planted problems,
# plus the side effects it lists.
PLANTED = {
    ("namespace-without-networkpolicy", "Namespace/monitoring"),
    ("ingress-only-policies", "Namespace/shop"),
    ("egress-blocks-dns", "Deployment/payments/payments"),
    ("service-no-endpoints", "Service/shop/api"),
    ("service-no-endpoints", "Service/shop/cart"),
    ("service-no-endpoints", "Service/payments/payments"),
    ("service-nodeport", "Service/shop/frontend"),
    ("service-loadbalancer", "Service/shop/frontend-public"),
    ("service-externalname", "Service/payments/ledger"),
    ("service-external-ips", "Service/shop/api-direct"),
    ("service-target-port-mismatch", "Service/monitoring/prometheus"),
    ("ingress-without-class", "Ingress/shop/storefront"),
    ("ingress-backend-port-mismatch", "Ingress/shop/www"),
    ("ingress-without-tls", "Ingress/monitoring/prometheus"),
    ("ingress-unknown-class", "Ingress/shop/legacy-storefront"),
    ("ingress-backend-missing-service", "Ingress/payments/payments-webhooks"),
    ("pod-host-network", "DaemonSet/monitoring/node-exporter"),
    ("pod-host-port", "DaemonSet/monitoring/statsd-exporter"),
    ("policy-peer-or-confusion", "NetworkPolicy/data/postgres-allow-api"),
    ("policy-allows-all-namespaces", "NetworkPolicy/data/redis-allow-clients"),
    ("pod-metadata-reachable", "StatefulSet/data/postgres"),
    ("policy-selects-no-pods", "NetworkPolicy/shop/allow-api-to-cart"),
    ("datastore-reachable-cross-namespace", "StatefulSet/data/postgres"),
    ("datastore-reachable-cross-namespace", "Deployment/data/redis"),
    ("pod-default-ndots", "Namespace/shop"),
    ("pod-default-ndots", "Namespace/data"),
    ("pod-default-ndots", "Namespace/payments"),
    ("pod-default-ndots", "Namespace/monitoring"),
    ("namespace-without-default-deny-egress", "Namespace/shop"),
    ("namespace-without-default-deny-egress", "Namespace/data"),
    ("lateral-movement-open", "Namespace/monitoring"),
    ("gateway-listener-plain-http", "Gateway/shop/public"),
    ("gateway-allows-routes-from-all-namespaces", "Gateway/shop/public"),
    ("route-cross-namespace-without-referencegrant", "HTTPRoute/shop/checkout"),
}


@pytest.fixture(scope="module")
def insecure() -> Report:
    return audit(load_manifests([str(DEMO / "insecure")]))


@pytest.fixture(scope="module")
def hardened() -> Report:
    return audit(load_manifests([str(DEMO / "hardened")]))


def fired(report: Report) -> set[tuple[str, str]]:
    return {(f.rule_name, str(f.resource)) for f in report.findings}


def test_insecure_demo_fires_every_planted_problem(insecure: Report) -> None:
    assert PLANTED - fired(insecure) == set()


def test_insecure_demo_reports_the_namespace_without_policies_once(insecure: Report) -> None:
    # monitoring has no NetworkPolicy: that one fact is namespace-without-networkpolicy's.
    about_monitoring = {name for name, ref in fired(insecure) if ref == "Namespace/monitoring"} & {
        "namespace-without-networkpolicy",
        "namespace-without-default-deny-ingress",
        "namespace-without-default-deny-egress",
    }
    assert about_monitoring == {"namespace-without-networkpolicy"}


def test_insecure_demo_does_not_blame_the_enforcing_cni(insecure: Report) -> None:
    assert not [f for f in insecure.findings if f.rule_name == "cni-without-policy-enforcement"]


def test_insecure_demo_diagnoses_each_broken_selector(insecure: Report) -> None:
    diagnosis = {
        str(f.resource): (f.evidence["diagnosis"], f.evidence["correctedSelector"])
        for f in insecure.findings
        if f.rule_name == "service-no-endpoints"
    }
    assert diagnosis["Service/shop/api"] == (["typo"], {"app": "api-server"})
    assert diagnosis["Service/shop/cart"] == (["case-mismatch"], {"app": "cart"})
    assert diagnosis["Service/payments/payments"][0] == ["stale-value"]
    corrected = diagnosis["Service/payments/payments"][1]
    assert isinstance(corrected, dict) and "version" not in corrected


def test_insecure_demo_internet_facing_loadbalancer_is_critical(insecure: Report) -> None:
    severities = {
        str(f.resource): f.severity
        for f in insecure.findings
        if f.rule_name == "service-loadbalancer"
    }
    assert severities == {"Service/shop/frontend-public": Severity.CRITICAL}


def test_hardened_demo_has_no_high_or_critical_finding_outside_system_namespaces(
    hardened: Report,
) -> None:
    # A Namespace finding's resource is cluster-scoped: its namespace is its name.
    def namespace_of(f: Finding) -> str:
        return f.resource.name if f.resource.kind == "Namespace" else f.resource.namespace

    serious = [
        f"{f.rule_name} {f.resource}"
        for f in hardened.at_or_above(Severity.HIGH)
        if namespace_of(f) not in SYSTEM_NAMESPACES
    ]
    assert serious == []
    # What remains high is kube-system as a fresh kind cluster has it (see the demo README).
    assert {namespace_of(f) for f in hardened.at_or_above(Severity.HIGH)} == {"kube-system"}


def test_hardened_demo_leaves_only_narrow_datastore_access(hardened: Report) -> None:
    datastore = {
        str(f.resource): f
        for f in hardened.findings
        if f.rule_name == "datastore-reachable-cross-namespace"
    }
    # The README's promise: both datastores stay reachable, but only from named workloads.
    assert set(datastore) == {"StatefulSet/data/postgres", "Deployment/data/redis"}
    for finding in datastore.values():
        assert finding.severity == Severity.LOW, finding.resource
        assert [dig(p, "wholeNamespaces") for p in dig_list(finding.evidence, "ports")] == [[]]
    assert dig(datastore["StatefulSet/data/postgres"].evidence, "ports", 0, "workloads") == [
        "Deployment/shop/api-server",
        "Deployment/shop/worker",
    ]
    assert dig(datastore["Deployment/data/redis"].evidence, "ports", 0, "workloads") == [
        "Deployment/shop/api-server",
        "Deployment/shop/cart",
        "Deployment/shop/worker",
    ]


def test_every_finding_is_json_ready_and_explained(insecure: Report) -> None:
    for finding in insecure.findings:
        json.dumps(dict(finding.evidence))  # raises on anything not JSON-ready
        assert finding.message.endswith("."), finding.message
        assert finding.remediation, finding.rule_name
        assert finding.origin.file is not None, finding.rule_name
