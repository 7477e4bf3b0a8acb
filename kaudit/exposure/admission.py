"""Do the pods' ingress policies admit the traffic of an outside path? The engine answers.

Every verdict comes from the policy engine (`PolicyEngine.ingress_from_address` for
outside addresses, `PolicyEngine.check` for an Ingress or Gateway controller's pods);
this module only decides *which* sources a path delivers to the pods:

- Clients of a load balancer, node port, external IP or host port keep their address
  when `externalTrafficPolicy: Local` (and for host ports): the outside world, or the
  Service's `loadBalancerSourceRanges` for its load balancer.
- With `externalTrafficPolicy: Cluster` (the default) the node that receives the
  connection source-NATs it to its own address, so the policies must admit node
  addresses. Snapshots hold no Node objects; the addresses of hostNetwork pods are their
  nodes' addresses, so those are the node addresses asked about. When none is known the
  engine is asked about the whole address space: admitting all of it or none of it
  decides, admitting part of it leaves the answer open (null).
- Through an Ingress or a Gateway the pods see the controller's pods.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kaudit.model import Pod, Protocol, Service
from kaudit.netpol import Coverage, PolicyEngine
from kaudit.rules.service_exposure import source_ranges

EVERY_ADDRESS = {4: "0.0.0.0/0", 6: "::/0"}
PortTarget = tuple[int, Protocol]  # the pod's port number and protocol


@dataclass(frozen=True, slots=True)
class Answer:
    admitted: bool | None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Sources:
    """The source addresses a path delivers to the pods, and how sure kaudit is of them."""

    ranges: tuple[str, ...]
    described: str  # e.g. "any address", "the node addresses"
    # True when the ranges stand for addresses kaudit does not know (node addresses):
    # only "all admitted" and "none admitted" are answers then.
    stand_in: bool = False


def combine(values: Iterable[bool | None]) -> bool | None:
    """True when every answer is True, False when every one is False, else None."""
    found = set(values)
    if found == {True}:
        return True
    if found == {False}:
        return False
    return None


def address_families(service: Service | None, pods: Sequence[Pod]) -> tuple[int, ...]:
    """The IP families outside clients can use: those of the Service's and the pods'
    addresses, IPv4 when none is known (manifests)."""
    addresses = [*(p for pod in pods for p in pod.pod_ips)]
    if service is not None:
        addresses += [*service.external_ips, *service.load_balancer_ingress]
        if service.cluster_ip and service.cluster_ip != "None":
            addresses.append(service.cluster_ip)
    versions = set()
    for text in addresses:
        try:
            versions.add(ipaddress.ip_address(text).version)
        except ValueError:
            continue  # a load balancer's hostname
    return tuple(sorted(versions)) or (4,)


def representatives(pods: Iterable[Pod]) -> list[Pod]:
    """One pod per namespace, label set, port list and network: the policies cannot tell
    such pods apart, so one question answers for all of them."""
    seen: dict[tuple[object, ...], Pod] = {}
    for pod in pods:
        key = (pod.namespace, frozenset(pod.labels.items()), pod.ports, pod.host_network)
        seen.setdefault(key, pod)
    return list(seen.values())


class Admission:
    """Asks the engine, for each kind of path, whether the pods admit its sources."""

    def __init__(self, engine: PolicyEngine, pods: Sequence[Pod]) -> None:
        self.engine = engine
        self.node_addresses = node_addresses(pods)
        self._nodes_by_family: dict[int, tuple[str, ...]] = {
            family: tuple(a for a in self.node_addresses if _version(a) == family)
            for family in (4, 6)
        }
        # Set once source-NATed traffic was asked about without knowing the node addresses.
        self.asked_unknown_nodes = False

    # --- which sources ------------------------------------------------------------------

    def client_sources(self, families: Sequence[int]) -> Sources:
        return Sources(tuple(EVERY_ADDRESS[f] for f in families), "any address")

    def load_balancer_clients(self, service: Service, families: Sequence[int]) -> Sources:
        ranges = source_ranges(service)
        if ranges:
            return Sources(ranges, "its loadBalancerSourceRanges")
        return self.client_sources(families)

    def node_sources(self, families: Sequence[int]) -> Sources:
        known = tuple(a for f in families for a in self._nodes_by_family.get(f, ()))
        if known:
            return Sources(known, "the node addresses (source NAT)")
        ranges = tuple(EVERY_ADDRESS[f] for f in families)
        self.asked_unknown_nodes = True
        return Sources(ranges, "the node addresses (source NAT; not known)", stand_in=True)

    def service_sources(
        self, service: Service, clients: Sources, families: Sequence[int]
    ) -> Sources:
        """The sources the pods see: the clients with externalTrafficPolicy Local, else a
        node address."""
        if service.external_traffic_policy == "Local":
            return clients
        return self.node_sources(families)

    # --- the engine's answers ----------------------------------------------------------

    def from_addresses(
        self, pods: Sequence[Pod], sources: Sources, targets: Sequence[PortTarget]
    ) -> Answer:
        """Do the pods' ingress policies admit every source range on every target port?"""
        if not pods or not targets:
            return Answer(None, ("no pod port to ask about",))
        coverages: list[Coverage] = []
        partial: list[str] = []
        for pod in representatives(pods):
            for number, protocol in targets:
                for source in sources.ranges:
                    answer = self.engine.ingress_from_address(pod, source, number, protocol)
                    coverages.append(answer.coverage)
                    if answer.coverage is Coverage.SOME:
                        partial.append(
                            f"{number}/{protocol} admits {', '.join(answer.allowed_ranges)} "
                            f"of {source}"
                        )
        notes = [f"sources: {sources.described}"]
        notes.extend(dict.fromkeys(partial))
        if all(c is Coverage.ALL for c in coverages):
            return Answer(True, tuple(notes))
        if all(c is Coverage.NONE for c in coverages):
            return Answer(False, tuple(notes))
        if sources.stand_in:
            notes.append(
                "the policies admit part of the address space, and kaudit does not know which part the nodes' addresses are in"
            )
        return Answer(None, tuple(notes))

    def from_pods(
        self, sources: Sequence[Pod], pods: Sequence[Pod], targets: Sequence[PortTarget]
    ) -> Answer:
        """Do the pods' ingress policies admit every source pod on every target port
        (their ingress side of the engine's verdict, whatever the sources' egress says)?"""
        answers = []
        for source in representatives(sources):
            for pod in representatives(pods):
                for number, protocol in targets:
                    verdict = self.engine.check(source, pod, number, protocol)
                    answers.append(verdict.ingress is None or verdict.ingress.allowed)
        return Answer(combine(answers) if answers else None)

    def open_to_all(self, pods: Sequence[Pod]) -> bool:
        """No policy isolates the pods for ingress (or they are on the host network): every
        source is admitted, whoever forwards the traffic."""
        return all(
            i.host_network or not i.ingress_isolated
            for i in (self.engine.isolation(p) for p in representatives(pods))
        )

    def host_network(self, pods: Sequence[Pod]) -> Answer:
        """hostNetwork pods: the engine says whether NetworkPolicy governs them."""
        isolation = [self.engine.isolation(p) for p in representatives(pods)]
        return Answer(
            combine(i.host_network or not i.ingress_isolated for i in isolation),
            ("NetworkPolicy does not apply to pods on the host network",),
        )


def node_addresses(pods: Iterable[Pod]) -> tuple[str, ...]:
    """The node addresses a snapshot reveals: a hostNetwork pod's addresses are its node's."""
    found: dict[str, None] = {}
    for pod in pods:
        if pod.host_network and not pod.terminated:
            for address in pod.pod_ips:
                if _version(address):
                    found.setdefault(address)
    return tuple(sorted(found, key=lambda a: (_version(a), ipaddress.ip_address(a))))


def _version(address: str) -> int:
    try:
        return ipaddress.ip_address(address).version
    except ValueError:
        return 0
