"""The exposure inventory's data: one entry per (workload, outside path), and the dead ends."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kaudit.model import ObjectRef, Protocol


class Via(enum.StrEnum):
    """How traffic from outside the cluster gets in, in the order reports list them."""

    LOAD_BALANCER = "LoadBalancer"
    NODE_PORT = "NodePort"
    EXTERNAL_IP = "ExternalIP"
    HOST_PORT = "HostPort"
    HOST_NETWORK = "HostNetwork"
    INGRESS = "Ingress"
    GATEWAY = "Gateway"

    @property
    def order(self) -> int:
        return list(Via).index(self)


@dataclass(frozen=True, slots=True, order=True)
class ExposedPort:
    """A port at the entry (the load balancer's, a node port, a host port, the listener's)
    and the pod port it reaches (None when a named target port does not resolve)."""

    port: int | None  # None: a node port the API server allocates when the Service is created
    protocol: Protocol = Protocol.TCP
    target_port: int | None = None

    def __str__(self) -> str:
        port = "auto" if self.port is None else str(self.port)
        target = f"→{self.target_port}" if self.target_port not in (None, self.port) else ""
        return f"{port}{target}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class ExposureEntry:
    """One way from outside the cluster to one workload.

    `admitted_by_policy` is the engine's answer for the traffic as the pods see it: True
    when their ingress policies admit every outside source of the path on every port,
    False when they admit none, None when only part, or when the sources are unknown (an
    Ingress controller kaudit cannot identify, node addresses it does not know).
    `path` runs from the entry to the workload; `notes` say how the answer was reached.
    """

    namespace: str
    workload: ObjectRef  # Deployment/web: pods grouped by their owner
    via: Via
    entry: str  # address, hostname or node port, as text
    ports: tuple[ExposedPort, ...]
    tls: bool | None
    admitted_by_policy: bool | None
    path: tuple[ObjectRef, ...]
    pods: int = 0
    notes: tuple[str, ...] = ()

    @property
    def workload_name(self) -> str:
        return f"{self.workload.kind}/{self.workload.name}"

    @property
    def sort_key(self) -> tuple[str, str, int, str, tuple[str, ...]]:
        return (
            self.namespace,
            self.workload_name,
            self.via.order,
            self.entry,
            tuple(str(r) for r in self.path),
        )


@dataclass(frozen=True, slots=True)
class DeadEnd:
    """An entry point from outside that reaches no workload: a LoadBalancer selecting no
    pods, an Ingress no controller serves, a backend Service that does not exist. Shown
    apart: it is not exposure today, but becomes exposure the day a pod matches."""

    namespace: str
    via: Via
    entry: str
    ports: tuple[ExposedPort, ...]
    path: tuple[ObjectRef, ...]
    reason: str

    @property
    def sort_key(self) -> tuple[str, int, str, tuple[str, ...]]:
        return (self.namespace, self.via.order, self.entry, tuple(str(r) for r in self.path))


@dataclass(frozen=True, slots=True)
class ExposureInventory:
    """Every outside path of a snapshot. `node_addresses` are the node addresses the
    policies were asked about for source-NATed traffic (empty: kaudit did not know them)."""

    entries: tuple[ExposureEntry, ...] = ()
    dead_ends: tuple[DeadEnd, ...] = ()
    node_addresses: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def counts(self) -> dict[Via, int]:
        """Entries per way in, every way listed (zeros included), in Via order."""
        found = dict.fromkeys(Via, 0)
        for entry in self.entries:
            found[entry.via] += 1
        return found

    @property
    def workloads(self) -> int:
        return len({(e.namespace, e.workload) for e in self.entries})
