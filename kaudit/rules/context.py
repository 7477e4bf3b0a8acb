"""What a rule sees: the snapshot, the configuration, shared indexes and the policy engine."""

from __future__ import annotations

from collections import defaultdict
from functools import cached_property
from typing import TYPE_CHECKING

from kaudit.config import AuditConfig
from kaudit.model import (
    EndpointSlice,
    Labels,
    NetworkPolicy,
    ObjectRef,
    Pod,
    Resource,
    Service,
    Snapshot,
)

# The policies isolating a pod in one direction, tier by tier (none: not isolated).
IsolatingPolicies = tuple[ObjectRef, ...]

if TYPE_CHECKING:
    from kaudit.netpol import Isolation, PolicyEngine
    from kaudit.routing import RoutingTable


class AuditContext:
    def __init__(
        self,
        snapshot: Snapshot,
        config: AuditConfig | None = None,
        engine: PolicyEngine | None = None,
    ) -> None:
        self.snapshot = snapshot
        if engine is not None:  # built by the caller for this snapshot, and used by it too
            self.__dict__["engine"] = engine
        self.config = config or AuditConfig()
        # Several rules ask for each Service's pods: answered once per namespace and selector.
        self._service_pods: dict[tuple[str, Labels], tuple[Pod, ...]] = {}
        self._isolation: dict[tuple[str, Labels, bool], Isolation] = {}
        # Results that modules above the context build from it once per audit, by name
        # (the exposure inventory: kaudit.exposure.inventory_of).
        self.derived: dict[str, object] = {}

    def collected(self, kind: Resource) -> bool:
        return kind not in self.snapshot.missing_resources

    @cached_property
    def engine(self) -> PolicyEngine:
        from kaudit.netpol import PolicyEngine

        return PolicyEngine(self.snapshot)

    @cached_property
    def routing(self) -> RoutingTable:
        """Gateway API route attachment and backends, resolved once."""
        from kaudit.routing import resolve_routes

        return resolve_routes(self.snapshot)

    @property
    def any_other_pod(self) -> Pod:
        """The engine's stand-in for a pod without labels in a namespace not in the input."""
        from kaudit.netpol.classes import OUTSIDER_NAME, OUTSIDER_NAMESPACE

        pod = self.engine.pod(f"{OUTSIDER_NAMESPACE}/{OUTSIDER_NAME}")
        assert pod is not None, "the engine always holds its stand-in"
        return pod

    @cached_property
    def pods_by_namespace(self) -> dict[str, list[Pod]]:
        index: dict[str, list[Pod]] = defaultdict(list)
        for pod in self.snapshot.pods:
            if not pod.terminated:
                index[pod.namespace].append(pod)
        return dict(index)

    @cached_property
    def policies_by_namespace(self) -> dict[str, list[NetworkPolicy]]:
        index: dict[str, list[NetworkPolicy]] = defaultdict(list)
        for policy in self.snapshot.network_policies:
            index[policy.namespace].append(policy)
        return dict(index)

    @cached_property
    def services_by_key(self) -> dict[tuple[str, str], Service]:
        return {(s.namespace, s.name): s for s in self.snapshot.services}

    @cached_property
    def slices_by_service(self) -> dict[tuple[str, str], list[EndpointSlice]]:
        index: dict[tuple[str, str], list[EndpointSlice]] = defaultdict(list)
        for eps in self.snapshot.endpoint_slices:
            if eps.service_name:
                index[(eps.namespace, eps.service_name)].append(eps)
        return dict(index)

    @cached_property
    def namespaces_by_label(self) -> dict[tuple[str, str], set[str]]:
        """(label key, value) -> namespaces with a (non-terminated) pod carrying that label."""
        index: dict[tuple[str, str], set[str]] = defaultdict(set)
        for namespace, pods in self.pods_by_namespace.items():
            for pod in pods:
                for item in pod.labels.items():
                    index[item].add(namespace)
        return dict(index)

    def isolation(self, pod: Pod) -> Isolation:
        """The engine's `isolation` of the pod, asked once per namespace, label set and
        host-network flag: what selects a pod (NetworkPolicies and admin policies' subjects)
        depends on nothing else."""
        key = (pod.namespace, pod.labels, pod.host_network)
        found = self._isolation.get(key)
        if found is None:
            found = self._isolation[key] = self.engine.isolation(pod)
        return found

    def isolating_policies(self, pod: Pod) -> tuple[IsolatingPolicies, IsolatingPolicies]:
        """The NetworkPolicies isolating the pod for ingress and for egress."""
        isolation = self.isolation(pod)
        return isolation.ingress_policies, isolation.egress_policies

    def pods_of(self, service: Service) -> list[Pod]:
        """Pods the Service's selector picks (none for selector-less Services)."""
        if not service.has_selector:
            return []
        key = (service.namespace, service.selector)
        pods = self._service_pods.get(key)
        if pods is None:
            candidates = self.pods_by_namespace.get(service.namespace, [])
            pods = self._service_pods[key] = tuple(p for p in candidates if service.selects(p))
        return list(pods)
