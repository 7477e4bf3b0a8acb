"""Services, and the endpoints behind them (EndpointSlices, or core/v1 Endpoints)."""

from __future__ import annotations

from dataclasses import dataclass

from kaudit.kube import SERVICE_NAME_LABEL
from kaudit.model import wire
from kaudit.model.meta import (
    LIVE,
    Labels,
    Meta,
    ObjectRef,
    Origin,
    Protocol,
    Raw,
    frozen_map,
    optional_int,
    port_number,
    port_number_or_name,
)
from kaudit.model.pods import Pod

_NO_SERVICE_SPEC = wire.ServiceSpec()


@dataclass(frozen=True, slots=True)
class ServicePort:
    port: int
    target_port: int | str | None
    protocol: Protocol = Protocol.TCP
    name: str | None = None
    node_port: int | None = None

    @property
    def effective_target(self) -> int | str:
        """targetPort defaults to port."""
        return self.target_port if self.target_port is not None else self.port


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    labels: Labels
    annotations: Labels
    type: str  # ClusterIP, NodePort, LoadBalancer, ExternalName
    selector: Labels  # empty: selector-less Service
    ports: tuple[ServicePort, ...]
    cluster_ip: str | None = None
    external_ips: tuple[str, ...] = ()
    external_name: str | None = None
    load_balancer_source_ranges: tuple[str, ...] = ()
    load_balancer_class: str | None = None
    allocate_load_balancer_node_ports: bool = True
    load_balancer_ingress: tuple[str, ...] = ()  # status.loadBalancer.ingress ip/hostname
    # How nodes forward outside traffic: Cluster (source-NATed to a node address) or Local.
    external_traffic_policy: str = "Cluster"
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Service", self.namespace, self.name)

    @property
    def headless(self) -> bool:
        return self.cluster_ip == "None"

    @property
    def has_selector(self) -> bool:
        return bool(self.selector)

    def selects(self, pod: Pod) -> bool:
        """Service selectors are equality-based maps: every key must match."""
        return (
            bool(self.selector)
            and pod.namespace == self.namespace
            and all(pod.labels.get(k) == v for k, v in self.selector.items())
        )

    @classmethod
    def from_wire(
        cls, service: wire.Service, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> Service:
        meta = Meta.from_wire(service.metadata, default_namespace)
        spec = service.spec or _NO_SERVICE_SPEC
        ports = tuple(
            ServicePort(
                port=port_number(p.port, f"spec.ports[{index}].port"),
                target_port=port_number_or_name(p.target_port, f"spec.ports[{index}].targetPort"),
                protocol=Protocol.parse(p.protocol),
                name=p.name or None,
                node_port=port_number(p.node_port, f"spec.ports[{index}].nodePort")
                if p.node_port
                else None,
            )
            for index, p in enumerate(spec.ports or ())
            if p.port is not None
        )
        load_balancer = service.status.load_balancer if service.status else None
        lb_ingress = tuple(
            i.ip or i.hostname or ""
            for i in (load_balancer.ingress if load_balancer else None) or ()
            if i.ip or i.hostname
        )
        allocate = spec.allocate_load_balancer_node_ports
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            labels=meta.labels,
            annotations=meta.annotations,
            type=spec.type or "ClusterIP",
            selector=frozen_map(spec.selector),
            ports=ports,
            cluster_ip=spec.cluster_ip or None,
            external_ips=tuple(spec.external_ips or ()),
            external_name=spec.external_name or None,
            load_balancer_source_ranges=tuple(spec.load_balancer_source_ranges or ()),
            load_balancer_class=spec.load_balancer_class or None,
            allocate_load_balancer_node_ports=True if allocate is None else allocate,
            load_balancer_ingress=lb_ingress,
            external_traffic_policy=spec.external_traffic_policy or "Cluster",
            origin=origin,
        )

    @classmethod
    def from_raw(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> Service:
        return cls.from_wire(wire.from_mapping(raw, wire.Service), origin, default_namespace)


@dataclass(frozen=True, slots=True)
class Endpoint:
    addresses: tuple[str, ...]
    ready: bool = True  # an absent `ready` condition means ready
    serving: bool = True
    terminating: bool = False
    target_pod: str | None = None  # name of the Pod in targetRef, if any


@dataclass(frozen=True, slots=True)
class EndpointPort:
    port: int | None
    protocol: Protocol = Protocol.TCP
    name: str | None = None

    @classmethod
    def from_wire(cls, port: wire.EndpointPort) -> EndpointPort:
        return cls(
            port=optional_int(port.port),
            protocol=Protocol.parse(port.protocol),
            name=port.name or None,
        )


def _target_pod(target: wire.ObjectReference | None) -> str | None:
    """The Pod an endpoint's targetRef names, if it names one."""
    if target is None or target.kind != "Pod":
        return None
    if target.name is None:
        raise KeyError("name")
    return target.name


_NO_CONDITIONS = wire.EndpointConditions()


@dataclass(frozen=True, slots=True)
class EndpointSlice:
    """A discovery.k8s.io/v1 EndpointSlice, or a core/v1 Endpoints converted to one.

    `service_name` comes from the kubernetes.io/service-name label; `managed_by`
    from endpointslice.kubernetes.io/managed-by (controller, mirroring, or a
    third party). `derived` marks slices that kaudit computed from manifests.
    """

    namespace: str
    name: str
    service_name: str | None
    address_type: str
    endpoints: tuple[Endpoint, ...]
    ports: tuple[EndpointPort, ...]
    managed_by: str | None = None
    derived: bool = False
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("EndpointSlice", self.namespace, self.name)

    @classmethod
    def from_wire(
        cls, slice_: wire.EndpointSlice, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> EndpointSlice:
        meta = Meta.from_wire(slice_.metadata, default_namespace)
        endpoints = []
        for ep in slice_.endpoints or ():
            conditions = ep.conditions or _NO_CONDITIONS
            endpoints.append(
                Endpoint(
                    addresses=tuple(ep.addresses or ()),
                    ready=conditions.ready is not False,
                    serving=conditions.serving is not False,
                    terminating=conditions.terminating is True,
                    target_pod=_target_pod(ep.target_ref),
                )
            )
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            service_name=meta.labels.get(SERVICE_NAME_LABEL),
            address_type=slice_.address_type or "IPv4",
            endpoints=tuple(endpoints),
            ports=tuple(EndpointPort.from_wire(p) for p in slice_.ports or ()),
            managed_by=meta.labels.get("endpointslice.kubernetes.io/managed-by"),
            origin=origin,
        )

    @classmethod
    def from_raw(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> EndpointSlice:
        return cls.from_wire(wire.from_mapping(raw, wire.EndpointSlice), origin, default_namespace)

    @classmethod
    def from_wire_endpoints(
        cls, endpoints_: wire.Endpoints, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> EndpointSlice:
        """Convert a core/v1 Endpoints object (for servers without EndpointSlices)."""
        meta = Meta.from_wire(endpoints_.metadata, default_namespace)
        endpoints: list[Endpoint] = []
        ports: dict[tuple[int | None, Protocol, str | None], EndpointPort] = {}
        for subset in endpoints_.subsets or ():
            for addresses, ready in ((subset.addresses, True), (subset.not_ready_addresses, False)):
                for addr in addresses or ():
                    endpoints.append(
                        Endpoint(
                            addresses=(addr.ip or "",),
                            ready=ready,
                            serving=ready,
                            target_pod=_target_pod(addr.target_ref),
                        )
                    )
            for p in subset.ports or ():
                port = EndpointPort.from_wire(p)
                ports[(port.port, port.protocol, port.name)] = port
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            service_name=meta.name,
            address_type="IPv4",
            endpoints=tuple(endpoints),
            ports=tuple(ports.values()),
            managed_by="core/v1 Endpoints",
            origin=origin,
        )

    @classmethod
    def from_endpoints(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> EndpointSlice:
        """Convert a core/v1 Endpoints object given as a parsed JSON or YAML mapping."""
        return cls.from_wire_endpoints(
            wire.from_mapping(raw, wire.Endpoints), origin, default_namespace
        )
