"""What a change opens and closes: the typed result of the connectivity comparison.

A `PathChange` is a block of connections that all changed the same way: every
source with every target, on the same ports of one protocol. For pod-to-pod
changes (`Scope.PODS`) sources and targets are pods ("namespace/name") and the
block means every pair of a source and a target that are different pods (a pod
always reaches itself, so a pod and itself are never listed as changed). For the
outside cases one side is an address: `EGRESS` (pods to an address outside the
cluster), `DNS` (pods to the cluster DNS pods on port 53) and `INGRESS` (an
address outside the cluster to pods).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from kaudit.model import Protocol
from kaudit.review.ports import PortRange

# The one address that stands for "the internet": public, in no private range.
INTERNET_ADDRESS = "8.8.8.8"
# The instance-metadata endpoint every major cloud serves (see kaudit.kube).
METADATA_ADDRESS = "169.254.169.254"
METADATA_PORT = 80
# The target of the DNS cases: every cluster DNS pod (kube-system, k8s-app=kube-dns).
CLUSTER_DNS = "cluster-dns"
DNS_PORT = 53


class Scope(enum.StrEnum):
    PODS = "pods"  # pod to pod
    EGRESS = "egress"  # pod to an address outside the cluster
    DNS = "dns"  # pod to the cluster DNS pods on port 53
    INGRESS = "ingress"  # an address outside the cluster to a pod

    @property
    def from_outside(self) -> bool:
        return self is Scope.INGRESS


@dataclass(frozen=True, slots=True)
class PathChange:
    """Every source to every target (distinct pods) on `ports` of `protocol`."""

    scope: Scope
    sources: tuple[str, ...]
    targets: tuple[str, ...]
    protocol: Protocol
    ports: tuple[PortRange, ...]

    @property
    def pairs(self) -> int:
        """How many connections (source, target) the block holds."""
        total = len(self.sources) * len(self.targets)
        if self.scope is Scope.PODS:
            total -= len(set(self.sources) & set(self.targets))
        return total

    def connections(self) -> Iterator[tuple[str, str]]:
        """Every (source, target) of the block; a pod never with itself."""
        for source in self.sources:
            for target in self.targets:
                if source != target or self.scope is not Scope.PODS:
                    yield source, target

    @property
    def pods(self) -> tuple[str, ...]:
        """The pods of the block (the targets of an ingress block, else the sources)."""
        return self.targets if self.scope.from_outside else self.sources

    @property
    def sort_key(self) -> tuple[str, str, str, str, tuple[PortRange, ...]]:
        return (
            self.scope.value,
            self.sources[0] if self.sources else "",
            self.targets[0] if self.targets else "",
            self.protocol.value,
            self.ports,
        )


@dataclass(frozen=True, slots=True)
class ConnectivityDiff:
    """The connections a change opens and closes, with what the comparison covered."""

    opened: tuple[PathChange, ...]
    closed: tuple[PathChange, ...]
    protocols: tuple[Protocol, ...]
    ports: PortRange | None  # the ports compared (None: all)
    # Pod key -> its workload "namespace/Kind/name" (from the later side when on both).
    workloads: Mapping[str, str]
    pods_before: int
    pods_after: int
    added_pods: tuple[str, ...]  # on the later side only
    removed_pods: tuple[str, ...]  # on the earlier side only

    @property
    def empty(self) -> bool:
        return not (self.opened or self.closed)

    def mirrored(self) -> ConnectivityDiff:
        """The same comparison the other way round."""
        return ConnectivityDiff(
            opened=self.closed,
            closed=self.opened,
            protocols=self.protocols,
            ports=self.ports,
            workloads=self.workloads,
            pods_before=self.pods_after,
            pods_after=self.pods_before,
            added_pods=self.removed_pods,
            removed_pods=self.added_pods,
        )
