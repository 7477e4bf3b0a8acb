"""Host ports, the host network, and Ingresses with and without TLS or a known controller."""

from __future__ import annotations

import pytest

from kaudit.exposure import ExposedPort, Via
from kaudit.model import ObjectRef, Protocol
from tests.exposure.fixtures import WEB, admit_cidr, inventory, service, the_entry
from tests.rules.fixtures import DENY_INGRESS, deployment, namespace, policy

HOST_PORT = deployment(
    "statsd", "shop", ports="[{containerPort: 9125, hostPort: 9125, protocol: UDP}]"
)


def test_host_port_without_a_policy_is_admitted() -> None:
    entry = the_entry(inventory(namespace("shop"), HOST_PORT), Via.HOST_PORT)
    assert (entry.workload_name, entry.entry) == ("Deployment/statsd", "9125")
    assert entry.ports == (ExposedPort(9125, Protocol.UDP, 9125),)
    assert entry.path == (ObjectRef("Deployment", "shop", "statsd"),)
    assert entry.admitted_by_policy is True


def test_host_port_behind_a_default_deny_is_not_admitted() -> None:
    inv = inventory(namespace("shop"), HOST_PORT, policy("deny", "shop", DENY_INGRESS))
    assert the_entry(inv, Via.HOST_PORT).admitted_by_policy is False


def test_a_container_port_without_host_port_is_not_exposure() -> None:
    assert inventory(WEB).entries == ()


def test_host_network_pods_are_outside_network_policy() -> None:
    agent = deployment(
        "agent", "shop", ports="[{containerPort: 9100}]", extra_spec="hostNetwork: true"
    )
    inv = inventory(namespace("shop"), agent, policy("deny", "shop", DENY_INGRESS))
    entry = the_entry(inv, Via.HOST_NETWORK)
    assert entry.admitted_by_policy is True
    assert entry.ports == (ExposedPort(9100, Protocol.TCP, 9100),)
    assert [e.via for e in inv.entries] == [Via.HOST_NETWORK]


NGINX = """
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Namespace
    metadata: {name: ingress-nginx}
  - apiVersion: networking.k8s.io/v1
    kind: IngressClass
    metadata: {name: nginx}
    spec: {controller: k8s.io/ingress-nginx}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: ingress-nginx-controller, namespace: ingress-nginx}
    spec:
      selector: {matchLabels: {app.kubernetes.io/name: ingress-nginx}}
      template:
        metadata:
          labels: {app.kubernetes.io/name: ingress-nginx, app.kubernetes.io/component: controller}
        spec:
          containers: [{name: controller, image: nginx, ports: [{containerPort: 443}]}]
"""


def ingress(tls: bool = True, class_name: str = "nginx", port: str = "{name: http}") -> str:
    tls_block = "  tls: [{hosts: [shop.example.com], secretName: shop-tls}]" if tls else ""
    return f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: web, namespace: shop}}
spec:
  ingressClassName: {class_name}
{tls_block}
  rules:
    - host: shop.example.com
      http:
        paths:
          - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {port}}}}}}}
"""


def admit_namespace(name: str) -> str:
    return policy(
        "from-controller",
        "shop",
        f"""
        podSelector: {{}}
        policyTypes: [Ingress]
        ingress:
          - from: [{{namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: {name}}}}}}}]
        """,
    )


@pytest.mark.parametrize(("tls", "port"), [(True, 443), (False, 80)])
def test_ingress_tls_and_its_port(tls: bool, port: int) -> None:
    entry = the_entry(inventory(WEB, service(), NGINX, ingress(tls=tls)), Via.INGRESS)
    assert (entry.entry, entry.tls) == ("shop.example.com", tls)
    assert entry.ports == (ExposedPort(port, Protocol.TCP, 8080),)
    assert entry.path == (
        ObjectRef("Ingress", "shop", "web"),
        ObjectRef("Service", "shop", "web"),
        ObjectRef("Deployment", "shop", "web"),
    )


def test_a_cluster_ip_service_behind_an_ingress_is_listed_only_through_it() -> None:
    inv = inventory(WEB, service(), NGINX, ingress())
    assert [e.via for e in inv.entries] == [Via.INGRESS]


@pytest.mark.parametrize(
    ("admitted_namespace", "expected"), [("ingress-nginx", True), ("monitoring", False)]
)
def test_ingress_admission_asks_about_the_controller_pods(
    admitted_namespace: str, expected: bool
) -> None:
    inv = inventory(WEB, service(), NGINX, ingress(), admit_namespace(admitted_namespace))
    entry = the_entry(inv, Via.INGRESS)
    assert entry.admitted_by_policy is expected
    assert entry.notes == ("sources: the controller's pods (Deployment/ingress-nginx-controller)",)


def test_ingress_admission_is_unknown_without_the_controller() -> None:
    no_class = inventory(WEB, service(), ingress(), admit_namespace("ingress-nginx"))
    assert the_entry(no_class, Via.INGRESS).admitted_by_policy is None
    other = NGINX.replace("k8s.io/ingress-nginx", "example.com/unknown")
    unknown = inventory(WEB, service(), other, ingress(), admit_namespace("ingress-nginx"))
    entry = the_entry(unknown, Via.INGRESS)
    assert entry.admitted_by_policy is None
    assert entry.notes == ("kaudit does not know the pods of controller example.com/unknown",)


def test_ingress_dead_ends() -> None:
    missing_class = inventory(WEB, service(), NGINX, ingress(class_name="traefik"))
    assert missing_class.entries == ()
    assert [d.reason for d in missing_class.dead_ends] == [
        "IngressClass traefik does not exist: no controller serves it"
    ]
    wrong_port = inventory(WEB, service(), NGINX, ingress(port="{number: 8080}"))
    assert [d.reason for d in wrong_port.dead_ends] == ["port 8080 is not a port of Service web"]
    no_service = inventory(WEB, NGINX, ingress())
    assert [d.reason for d in no_service.dead_ends] == ["backend Service web does not exist"]


def test_pods_no_policy_isolates_admit_whatever_controller() -> None:
    inv = inventory(WEB, service(), ingress())  # no IngressClass, no controller, no policy
    entry = the_entry(inv, Via.INGRESS)
    assert entry.admitted_by_policy is True
    assert entry.notes == ("no NetworkPolicy isolates the pods for ingress",)


def test_an_ipblock_policy_does_not_admit_the_controller_pods() -> None:
    inv = inventory(WEB, service(), NGINX, ingress(), admit_cidr("0.0.0.0/0"))
    assert the_entry(inv, Via.INGRESS).admitted_by_policy is False
