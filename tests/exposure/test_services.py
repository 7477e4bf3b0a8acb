"""Services reached from outside: LoadBalancer, NodePort, externalIPs, and what is not exposure."""

from __future__ import annotations

import pytest

from kaudit.exposure import ExposedPort, Via
from kaudit.model import ObjectRef, Protocol
from tests.exposure.fixtures import (
    WEB,
    admit_cidr,
    entries,
    inventory,
    node_agent,
    service,
    the_entry,
)
from tests.rules.fixtures import DENY_INGRESS, policy

WEB_REF = ObjectRef("Deployment", "shop", "web")
LOCAL = "externalTrafficPolicy: Local"


def test_a_cluster_ip_service_is_not_exposure() -> None:
    inv = inventory(WEB, service())
    assert inv.entries == () and inv.dead_ends == ()


def test_load_balancer_entry_names_its_path_ports_and_address() -> None:
    inv = inventory(
        WEB, service(type_="LoadBalancer", extra="allocateLoadBalancerNodePorts: false")
    )
    entry = the_entry(inv, Via.LOAD_BALANCER)
    assert (entry.namespace, entry.workload_name, entry.entry) == (
        "shop",
        "Deployment/web",
        "pending",
    )
    assert entry.ports == (ExposedPort(80, Protocol.TCP, 8080),)
    assert entry.path == (ObjectRef("Service", "shop", "web"), WEB_REF)
    assert entry.tls is None
    assert entry.admitted_by_policy is True  # no policy isolates the pods
    assert entry.pods == 1
    assert [e.via for e in inv.entries] == [Via.LOAD_BALANCER]


def test_load_balancer_node_ports_are_a_second_way_in() -> None:
    inv = inventory(WEB, service(type_="LoadBalancer"))
    assert [e.via for e in inv.entries] == [Via.LOAD_BALANCER, Via.NODE_PORT]
    assert the_entry(inv, Via.NODE_PORT).entry == "auto"
    assert the_entry(inv, Via.NODE_PORT).ports == (ExposedPort(None, Protocol.TCP, 8080),)


@pytest.mark.parametrize(
    ("admitted_cidr", "expected"),
    [("203.0.113.0/24", True), ("198.51.100.0/24", False), ("203.0.113.0/25", None)],
)
def test_source_ranges_against_the_policy_with_client_addresses_kept(
    admitted_cidr: str, expected: bool | None
) -> None:
    lb = service(
        type_="LoadBalancer",
        extra=f"{LOCAL}\n  loadBalancerSourceRanges: [203.0.113.0/24]",
    )
    entry = the_entry(inventory(WEB, lb, admit_cidr(admitted_cidr)), Via.LOAD_BALANCER)
    assert entry.admitted_by_policy is expected


def test_open_load_balancer_with_client_addresses_kept_needs_every_address() -> None:
    lb = service(type_="LoadBalancer", extra=LOCAL)
    assert the_entry(
        inventory(WEB, lb, admit_cidr("0.0.0.0/0")), Via.LOAD_BALANCER
    ).admitted_by_policy
    partly = the_entry(inventory(WEB, lb, admit_cidr("203.0.113.0/24")), Via.LOAD_BALANCER)
    assert partly.admitted_by_policy is None
    assert "8080/TCP admits 203.0.113.0/24 of 0.0.0.0/0" in partly.notes
    denied = the_entry(inventory(WEB, lb, policy("deny", "shop", DENY_INGRESS)), Via.LOAD_BALANCER)
    assert denied.admitted_by_policy is False


def test_cluster_traffic_policy_source_nats_to_unknown_node_addresses() -> None:
    lb = service(type_="LoadBalancer", extra="loadBalancerSourceRanges: [203.0.113.0/24]")
    # The clients' range is admitted, but the pods see node addresses, which may be anywhere.
    entry = the_entry(inventory(WEB, lb, admit_cidr("203.0.113.0/24")), Via.LOAD_BALANCER)
    assert entry.admitted_by_policy is None
    assert "sources: the node addresses (source NAT; not known)" in entry.notes
    # All or nothing decides even without the addresses.
    everything = the_entry(inventory(WEB, lb, admit_cidr("0.0.0.0/0")), Via.LOAD_BALANCER)
    assert everything.admitted_by_policy is True
    nothing = the_entry(inventory(WEB, lb, policy("deny", "shop", DENY_INGRESS)), Via.LOAD_BALANCER)
    assert nothing.admitted_by_policy is False


@pytest.mark.parametrize(
    ("traffic_policy", "admitted_cidr", "expected"),
    [
        ("Cluster", "10.0.0.0/24", True),  # the node's address is admitted
        ("Local", "10.0.0.0/24", False),  # the clients keep theirs: not admitted
        ("Cluster", "203.0.113.0/24", False),
        ("Local", "203.0.113.0/24", True),
    ],
)
def test_known_node_addresses_decide_source_nated_traffic(
    traffic_policy: str, admitted_cidr: str, expected: bool
) -> None:
    lb = service(
        type_="LoadBalancer",
        extra=f"externalTrafficPolicy: {traffic_policy}\n"
        "  loadBalancerSourceRanges: [203.0.113.0/24]",
    )
    inv = inventory(WEB, lb, admit_cidr(admitted_cidr), node_agent("10.0.0.5"))
    assert inv.node_addresses == ("10.0.0.5",)
    assert the_entry(inv, Via.LOAD_BALANCER).admitted_by_policy is expected


def test_node_port_lists_its_ports_and_asks_about_any_client() -> None:
    np = service(type_="NodePort", node_port=", nodePort: 30080", extra=LOCAL)
    entry = the_entry(inventory(WEB, np, admit_cidr("0.0.0.0/0")), Via.NODE_PORT)
    assert entry.entry == "30080"
    assert entry.ports == (ExposedPort(30080, Protocol.TCP, 8080),)
    assert entry.admitted_by_policy is True
    # loadBalancerSourceRanges do not narrow a NodePort's clients
    closed = the_entry(inventory(WEB, np, admit_cidr("203.0.113.0/24")), Via.NODE_PORT)
    assert closed.admitted_by_policy is None


def test_external_ips_are_an_entry_of_their_own() -> None:
    svc = service(extra="externalIPs: [203.0.113.10]\n  externalTrafficPolicy: Local")
    inv = inventory(WEB, svc, admit_cidr("0.0.0.0/0"))
    entry = the_entry(inv, Via.EXTERNAL_IP)
    assert (entry.entry, entry.admitted_by_policy) == ("203.0.113.10", True)
    assert [e.via for e in inv.entries] == [Via.EXTERNAL_IP]


def test_a_load_balancer_selecting_no_pod_is_a_dead_end_not_an_entry() -> None:
    inv = inventory(WEB, service(type_="LoadBalancer", selector="{app: nobody}"))
    assert inv.entries == ()
    assert [(d.via, d.reason) for d in inv.dead_ends] == [
        (Via.LOAD_BALANCER, "the Service selects no running pod"),
        (Via.NODE_PORT, "the Service selects no running pod"),
    ]
    assert inv.dead_ends[0].path == (ObjectRef("Service", "shop", "web"),)


def test_an_unresolved_named_target_port_is_a_dead_end() -> None:
    lb = service(type_="LoadBalancer", extra="allocateLoadBalancerNodePorts: false").replace(
        "targetPort: http", "targetPort: web"
    )
    inv = inventory(WEB, lb)
    assert entries(inv) == []
    assert [d.path for d in inv.dead_ends] == [(ObjectRef("Service", "shop", "web"), WEB_REF)]


def test_replicas_are_one_entry_per_workload() -> None:
    web = WEB.replace("spec:\n  selector", "spec:\n  replicas: 3\n  selector")
    entry = the_entry(inventory(web, service(type_="NodePort")), Via.NODE_PORT)
    assert entry.pods == 3
