"""The snapshot itself, and what the collector learned about the cluster."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from frozendict import frozendict

from kaudit.model.adminpolicies import AdminPolicy
from kaudit.model.ingress import Ingress, IngressClass
from kaudit.model.nodes import Node
from kaudit.model.pods import Namespace, Pod
from kaudit.model.policies import NetworkPolicy
from kaudit.model.services import EndpointSlice, Service


class Resource(enum.StrEnum):
    """The kinds kaudit collects, named as the API's plural resources."""

    NAMESPACES = "namespaces"
    PODS = "pods"
    SERVICES = "services"
    ENDPOINT_SLICES = "endpointslices"
    NETWORK_POLICIES = "networkpolicies"
    INGRESSES = "ingresses"
    INGRESS_CLASSES = "ingressclasses"
    # The network-policy-api kinds (optional CRDs), and the Nodes their `nodes` peers select.
    CLUSTER_NETWORK_POLICIES = "clusternetworkpolicies"
    ADMIN_NETWORK_POLICIES = "adminnetworkpolicies"
    BASELINE_ADMIN_NETWORK_POLICIES = "baselineadminnetworkpolicies"
    NODES = "nodes"


@dataclass(frozen=True, slots=True)
class CollectionWarning:
    """Something the source could not read; `kind` is set when a whole kind is missing."""

    message: str
    kind: Resource | None = None


@dataclass(frozen=True, slots=True)
class ClusterFacts:
    source: str  # "live" or "manifests"
    context: str | None = None
    server: str | None = None
    server_version: str | None = None
    cni: tuple[str, ...] = ()  # CNI plugins seen in kube-system
    cni_checked: bool = False  # False when kube-system could not be inspected
    inputs: tuple[str, ...] = ()  # manifest paths, when source == "manifests"
    ignored_kinds: Mapping[str, int] = frozendict()
    # How the source read what it could not see, e.g. DaemonSet pods without Node objects.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    facts: ClusterFacts
    namespaces: tuple[Namespace, ...] = ()
    pods: tuple[Pod, ...] = ()
    services: tuple[Service, ...] = ()
    endpoint_slices: tuple[EndpointSlice, ...] = ()
    network_policies: tuple[NetworkPolicy, ...] = ()
    ingresses: tuple[Ingress, ...] = ()
    ingress_classes: tuple[IngressClass, ...] = ()
    # ClusterNetworkPolicies, AdminNetworkPolicies and BaselineAdminNetworkPolicies
    # (cluster-scoped), and the Nodes (cluster-scoped).
    admin_policies: tuple[AdminPolicy, ...] = ()
    nodes: tuple[Node, ...] = ()
    warnings: tuple[CollectionWarning, ...] = ()

    @property
    def missing_resources(self) -> frozenset[Resource]:
        return frozenset(w.kind for w in self.warnings if w.kind is not None)

    def namespace(self, name: str) -> Namespace:
        for ns in self.namespaces:
            if ns.name == name:
                return ns
        return Namespace.implicit(name)

    def pods_in(self, namespace: str) -> tuple[Pod, ...]:
        return tuple(p for p in self.pods if p.namespace == namespace)

    def policies_in(self, namespace: str) -> tuple[NetworkPolicy, ...]:
        return tuple(p for p in self.network_policies if p.namespace == namespace)

    def filtered(self, include: Iterable[str] = (), exclude: Iterable[str] = ()) -> Snapshot:
        """Keep only the given namespaces (all when `include` is empty), minus `exclude`.

        Cluster-scoped objects (IngressClasses, admin policies, Nodes) and the cluster facts always stay.
        A namespace in `include` that nothing is in (and that is not excluded) adds
        a warning, so that an audit of nothing does not read as a clean one.
        """
        wanted = set(include)
        unwanted = set(exclude)
        present = {n.name for n in self.namespaces}
        unmatched = tuple(
            CollectionWarning(f"namespace {name!r}: nothing in the input is in this namespace")
            for name in dict.fromkeys(include)
            if name not in present and name not in unwanted
        )

        def keep(ns: str) -> bool:
            if ns in unwanted:
                return False
            return not wanted or ns in wanted

        return Snapshot(
            facts=self.facts,
            namespaces=tuple(n for n in self.namespaces if keep(n.name)),
            pods=tuple(p for p in self.pods if keep(p.namespace)),
            services=tuple(s for s in self.services if keep(s.namespace)),
            endpoint_slices=tuple(e for e in self.endpoint_slices if keep(e.namespace)),
            network_policies=tuple(n for n in self.network_policies if keep(n.namespace)),
            ingresses=tuple(i for i in self.ingresses if keep(i.namespace)),
            ingress_classes=self.ingress_classes,
            admin_policies=self.admin_policies,
            nodes=self.nodes,
            warnings=self.warnings + unmatched,
        )
