"""The inventory of the demo cluster, pinned: every outside path of the insecure shop, and
the one left in the hardened shop."""

from __future__ import annotations

from pathlib import Path

import pytest

import kaudit
from kaudit.collect import Source, load_snapshot
from kaudit.exposure import ExposureInventory, exposure_inventory

DEMO = Path(kaudit.__file__).parent / "demo"

Row = tuple[str, str, str, str, str, bool | None, bool | None, str]


def rows(inv: ExposureInventory) -> list[Row]:
    return [
        (
            e.namespace,
            e.workload_name,
            str(e.via),
            e.entry,
            " ".join(str(p) for p in e.ports),
            e.tls,
            e.admitted_by_policy,
            " > ".join(str(r) for r in e.path),
        )
        for e in inv.entries
    ]


@pytest.fixture(scope="module")
def insecure() -> ExposureInventory:
    return exposure_inventory(load_snapshot(Source(manifests=(str(DEMO / "insecure"),))))


@pytest.fixture(scope="module")
def hardened() -> ExposureInventory:
    return exposure_inventory(load_snapshot(Source(manifests=(str(DEMO / "hardened"),))))


def test_insecure_demo_inventory(insecure: ExposureInventory) -> None:
    assert rows(insecure) == [
        ("kube-system", "DaemonSet/kindnet", "HostNetwork", "node network", "", None, True,
         "DaemonSet/kube-system/kindnet"),
        ("monitoring", "DaemonSet/node-exporter", "HostNetwork", "node network", "9100/TCP",
         None, True, "DaemonSet/monitoring/node-exporter"),
        # monitoring has no NetworkPolicy: nothing holds the host port back
        ("monitoring", "DaemonSet/statsd-exporter", "HostPort", "9125", "9125/UDP", None, True,
         "DaemonSet/monitoring/statsd-exporter"),
        # api-server admits only the frontend pods: no outside address
        ("shop", "Deployment/api-server", "ExternalIP", "203.0.113.10", "8080/TCP", None, False,
         "Service/shop/api-direct > Deployment/shop/api-server"),
        # allow-frontend admits every source on 8080
        ("shop", "Deployment/frontend", "LoadBalancer", "pending", "80→8080/TCP", None, True,
         "Service/shop/frontend-public > Deployment/shop/frontend"),
        ("shop", "Deployment/frontend", "NodePort", "30080", "30080→8080/TCP", None, True,
         "Service/shop/frontend > Deployment/shop/frontend"),
        ("shop", "Deployment/frontend", "NodePort", "auto", "auto→8080/TCP", None, True,
         "Service/shop/frontend-public > Deployment/shop/frontend"),
        # plain HTTP through the Gateway; its data-plane pods are not in the demo
        ("shop", "Deployment/frontend", "Gateway", "shop.example.com", "80→8080/TCP", False,
         None, "Gateway/shop/public > HTTPRoute/shop/storefront > Service/shop/frontend"
         " > Deployment/shop/frontend"),
    ]  # fmt: skip


def test_insecure_demo_ingresses_lead_nowhere(insecure: ExposureInventory) -> None:
    assert [(d.namespace, str(d.path[0]), d.reason) for d in insecure.dead_ends] == [
        ("monitoring", "Ingress/monitoring/prometheus",
         "targetPort http of Service prometheus is no container port of Deployment prometheus"),
        ("payments", "Ingress/payments/payments-webhooks",
         "backend Service payments-webhook does not exist"),
        ("payments", "Gateway/shop/public",
         "no ReferenceGrant in namespace payments allows HTTPRoute shop/checkout to reach "
         "Service payments"),
        ("shop", "Ingress/shop/legacy-storefront",
         "IngressClass traefik does not exist: no controller serves it"),
        ("shop", "Ingress/shop/storefront",
         "no IngressClass named and no default class: no controller serves it"),
        ("shop", "Ingress/shop/www", "port 8080 is not a port of Service frontend"),
    ]  # fmt: skip


def test_hardened_demo_inventory(hardened: ExposureInventory) -> None:
    assert rows(hardened) == [
        ("kube-system", "DaemonSet/kindnet", "HostNetwork", "node network", "", None, True,
         "DaemonSet/kube-system/kindnet"),
        # HTTPS through the Gateway, into payments with a ReferenceGrant; the HTTP
        # listener only redirects, so it reaches nothing
        ("payments", "Deployment/payments", "Gateway", "shop.example.com", "443→8080/TCP",
         True, None, "Gateway/shop/public > HTTPRoute/shop/checkout > Service/payments/payments"
         " > Deployment/payments/payments"),
        # TLS; the controller's pods are not part of the demo, so admission is unknown
        ("shop", "Deployment/frontend", "Ingress", "shop.example.com", "443→8080/TCP", True,
         None, "Ingress/shop/storefront > Service/shop/frontend > Deployment/shop/frontend"),
        ("shop", "Deployment/frontend", "Gateway", "shop.example.com", "443→8080/TCP", True,
         None, "Gateway/shop/public > HTTPRoute/shop/storefront > Service/shop/frontend"
         " > Deployment/shop/frontend"),
    ]  # fmt: skip
    assert hardened.dead_ends == ()
