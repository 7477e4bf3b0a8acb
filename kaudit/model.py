"""The immutable snapshot of the objects kaudit audits.

Both sources (the live API server and manifest files) build the same `Snapshot`
from raw API dictionaries, through the `from_raw` constructors below. The
objects keep only what the analysis needs; every object keeps its `origin`
(where it came from) so reports can point at the file and line of a manifest.

Labels and other maps are hashable, read-only `frozendict`s, lists are
tuples, and every class is a frozen dataclass, so a snapshot can be shared
between threads and cached freely.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from frozendict import frozendict

from kaudit.kube import (
    DEFAULT_INGRESS_CLASS_ANNOTATION,
    NAMESPACE_NAME_LABEL,
    POD_TEMPLATE_HASH_LABEL,
    SERVICE_NAME_LABEL,
)

Raw = Mapping[str, Any]
Labels = Mapping[str, str]

EMPTY_LABELS: Labels = frozendict()

LEGACY_INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def frozen_map(value: Mapping[str, Any] | None) -> Labels:
    """A read-only copy of a string map (labels, annotations, selectors)."""
    if not value:
        return EMPTY_LABELS
    return frozendict({str(k): str(v) for k, v in value.items()})


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _map(value: Any) -> Raw:
    return value if isinstance(value, Mapping) else {}


def _int_or_str(value: Any) -> int | str | None:
    """An IntOrString field: ints stay ints, digit strings stay strings (as the API does)."""
    if value is None or isinstance(value, int):
        return value
    return str(value)


class Protocol(enum.StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"

    @classmethod
    def parse(cls, value: Any) -> Protocol:
        if value is None or value == "":
            return cls.TCP
        return cls(str(value).upper())


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object came from: a manifest file and line, or the API server."""

    file: str | None = None
    line: int | None = None  # 1-based line of the document's first line
    document: int | None = None  # 0-based index of the document in its file

    def __str__(self) -> str:
        if self.file is None:
            return "cluster"
        return f"{self.file}:{self.line}" if self.line else self.file


LIVE = Origin()


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """A Kubernetes object's identity. `namespace` is '' for cluster-scoped kinds."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return (
            f"{self.kind}/{self.namespace}/{self.name}"
            if self.namespace
            else f"{self.kind}/{self.name}"
        )

    @property
    def scope(self) -> str:
        """The namespace this object is about: its own, or itself for a Namespace ('' otherwise)."""
        if self.kind == "Namespace":
            return self.name
        return self.namespace

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True)
class Meta:
    name: str
    namespace: str
    labels: Labels
    annotations: Labels
    uid: str = ""

    @classmethod
    def from_raw(cls, raw: Raw, default_namespace: str = "") -> Meta:
        meta = _map(raw.get("metadata"))
        return cls(
            name=str(meta.get("name") or ""),
            namespace=str(meta.get("namespace") or default_namespace),
            labels=frozen_map(meta.get("labels")),
            annotations=frozen_map(meta.get("annotations")),
            uid=str(meta.get("uid") or ""),
        )


# --- label selectors ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Requirement:
    """One matchExpressions entry. Operators: In, NotIn, Exists, DoesNotExist."""

    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: Labels) -> bool:
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            # NotIn matches objects without the key too, as in apimachinery.
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        raise ValueError(f"unknown label selector operator {self.operator!r}")


SELECTOR_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist"})


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """metav1.LabelSelector: matchLabels AND every matchExpressions requirement.

    The empty selector matches everything (as NetworkPolicy podSelector `{}` does).
    """

    match_labels: Labels = EMPTY_LABELS
    match_expressions: tuple[Requirement, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Labels) -> bool:
        for key, value in self.match_labels.items():
            if labels.get(key) != value:
                return False
        return all(req.matches(labels) for req in self.match_expressions)

    def describe(self) -> str:
        if self.is_empty:
            return "{} (everything)"
        parts = [f"{k}={v}" for k, v in sorted(self.match_labels.items())]
        for req in self.match_expressions:
            if req.operator in ("In", "NotIn"):
                values = ",".join(sorted(req.values))
                parts.append(f"{req.key} {req.operator.lower()} ({values})")
            elif req.operator == "Exists":
                parts.append(req.key)
            else:
                parts.append(f"!{req.key}")
        return ",".join(parts)

    @classmethod
    def from_raw(cls, raw: Any) -> LabelSelector:
        raw = _map(raw)
        expressions = []
        for expr in _list(raw.get("matchExpressions")):
            expr = _map(expr)
            operator = str(expr.get("operator", ""))
            if operator not in SELECTOR_OPERATORS:
                raise ValueError(f"unknown label selector operator {operator!r}")
            expressions.append(
                Requirement(
                    key=str(expr.get("key", "")),
                    operator=operator,
                    values=frozenset(str(v) for v in _list(expr.get("values"))),
                )
            )
        return cls(frozen_map(raw.get("matchLabels")), tuple(expressions))


MATCH_ALL = LabelSelector()


# --- namespaces and pods ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Labels
    annotations: Labels = EMPTY_LABELS
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Namespace", "", self.name)

    @classmethod
    def from_raw(cls, raw: Raw, origin: Origin = LIVE) -> Namespace:
        meta = Meta.from_raw(raw)
        labels = dict(meta.labels)
        # The API server sets this label on every namespace; manifests rarely carry it.
        labels.setdefault(NAMESPACE_NAME_LABEL, meta.name)
        return cls(meta.name, frozendict(labels), meta.annotations, origin)

    @classmethod
    def implicit(cls, name: str) -> Namespace:
        """A namespace that objects live in but that the input did not declare."""
        return cls(name, frozendict({NAMESPACE_NAME_LABEL: name}))


@dataclass(frozen=True, slots=True)
class ContainerPort:
    container_port: int
    protocol: Protocol = Protocol.TCP
    name: str | None = None
    host_port: int | None = None
    container: str = ""


@dataclass(frozen=True, slots=True)
class Workload:
    """The controller a pod belongs to, for grouping findings (Deployment/web, or Pod/x)."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True)
class Pod:
    namespace: str
    name: str
    labels: Labels
    annotations: Labels
    ports: tuple[ContainerPort, ...]
    host_network: bool = False
    node_name: str | None = None
    pod_ips: tuple[str, ...] = ()
    phase: str = "Pending"
    ready: bool = False
    dns_policy: str = "ClusterFirst"
    ndots: int | None = None  # from dnsConfig.options; None means the default (5)
    workload: Workload | None = None
    # True for pods derived from a workload template in manifests (not real pods).
    from_template: bool = False
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Pod", self.namespace, self.name)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def owner(self) -> Workload:
        return self.workload or Workload("Pod", self.name)

    @property
    def terminated(self) -> bool:
        return self.phase in ("Succeeded", "Failed")

    def named_port(self, name: str, protocol: Protocol) -> int | None:
        for port in self.ports:
            if port.name == name and port.protocol == protocol:
                return port.container_port
        return None

    @classmethod
    def from_raw(
        cls,
        raw: Raw,
        origin: Origin = LIVE,
        workload: Workload | None = None,
        from_template: bool = False,
        default_namespace: str = "default",
    ) -> Pod:
        meta = Meta.from_raw(raw, default_namespace)
        spec = _map(raw.get("spec"))
        status = _map(raw.get("status"))
        ports: list[ContainerPort] = []
        for container in _list(spec.get("initContainers")) + _list(spec.get("containers")):
            container = _map(container)
            for port in _list(container.get("ports")):
                port = _map(port)
                if "containerPort" not in port:
                    continue
                host_port = port.get("hostPort")
                ports.append(
                    ContainerPort(
                        container_port=int(port["containerPort"]),
                        protocol=Protocol.parse(port.get("protocol")),
                        name=str(port["name"]) if port.get("name") else None,
                        host_port=int(host_port) if host_port else None,
                        container=str(container.get("name", "")),
                    )
                )
        ips = tuple(
            str(_map(ip).get("ip")) for ip in _list(status.get("podIPs")) if _map(ip).get("ip")
        )
        if not ips and status.get("podIP"):
            ips = (str(status["podIP"]),)
        ready = any(
            _map(c).get("type") == "Ready" and _map(c).get("status") == "True"
            for c in _list(status.get("conditions"))
        )
        ndots: int | None = None
        for option in _list(_map(spec.get("dnsConfig")).get("options")):
            option = _map(option)
            if option.get("name") == "ndots" and option.get("value") is not None:
                try:
                    ndots = int(str(option["value"]))
                except ValueError:
                    ndots = None
        if workload is None:
            workload = workload_from_owner(
                meta, _list(_map(raw.get("metadata")).get("ownerReferences"))
            )
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            labels=meta.labels,
            annotations=meta.annotations,
            ports=tuple(ports),
            host_network=bool(spec.get("hostNetwork", False)),
            node_name=spec.get("nodeName") or None,
            pod_ips=ips,
            phase=str(status.get("phase") or ("Running" if from_template else "Pending")),
            ready=ready or from_template,
            dns_policy=str(spec.get("dnsPolicy") or "ClusterFirst"),
            ndots=ndots,
            workload=workload,
            from_template=from_template,
            origin=origin,
        )


def workload_from_owner(meta: Meta, owner_refs: Sequence[Any]) -> Workload | None:
    """The top-level controller of a live pod, read from its ownerReferences.

    A ReplicaSet owned by a Deployment is named `<deployment>-<pod-template-hash>`,
    and its pods carry that hash as a label, so the Deployment is found without
    reading ReplicaSets; likewise a Job named by a CronJob (`<cronjob>-<number>`)
    is left as the Job, since its name alone cannot be trusted.
    """
    for ref in owner_refs:
        ref = _map(ref)
        if not ref.get("controller"):
            continue
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        template_hash = meta.labels.get(POD_TEMPLATE_HASH_LABEL)
        if kind == "ReplicaSet" and template_hash and name.endswith("-" + template_hash):
            return Workload("Deployment", name[: -len(template_hash) - 1])
        return Workload(kind, name)
    return None


# --- services and endpoints ------------------------------------------------------------


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
    def from_raw(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> Service:
        meta = Meta.from_raw(raw, default_namespace)
        spec = _map(raw.get("spec"))
        ports = tuple(
            ServicePort(
                port=int(_map(p)["port"]),
                target_port=_int_or_str(_map(p).get("targetPort")),
                protocol=Protocol.parse(_map(p).get("protocol")),
                name=str(_map(p)["name"]) if _map(p).get("name") else None,
                node_port=int(_map(p)["nodePort"]) if _map(p).get("nodePort") else None,
            )
            for p in _list(spec.get("ports"))
            if "port" in _map(p)
        )
        lb_ingress = tuple(
            str(_map(i).get("ip") or _map(i).get("hostname"))
            for i in _list(_map(_map(raw.get("status")).get("loadBalancer")).get("ingress"))
            if _map(i).get("ip") or _map(i).get("hostname")
        )
        allocate = spec.get("allocateLoadBalancerNodePorts")
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            labels=meta.labels,
            annotations=meta.annotations,
            type=str(spec.get("type") or "ClusterIP"),
            selector=frozen_map(spec.get("selector")),
            ports=ports,
            cluster_ip=spec.get("clusterIP") or None,
            external_ips=tuple(str(ip) for ip in _list(spec.get("externalIPs"))),
            external_name=spec.get("externalName") or None,
            load_balancer_source_ranges=tuple(
                str(r) for r in _list(spec.get("loadBalancerSourceRanges"))
            ),
            load_balancer_class=spec.get("loadBalancerClass") or None,
            allocate_load_balancer_node_ports=True if allocate is None else bool(allocate),
            load_balancer_ingress=lb_ingress,
            origin=origin,
        )


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
    def from_raw(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> EndpointSlice:
        meta = Meta.from_raw(raw, default_namespace)
        endpoints = []
        for ep in _list(raw.get("endpoints")):
            ep = _map(ep)
            conditions = _map(ep.get("conditions"))
            target = _map(ep.get("targetRef"))
            endpoints.append(
                Endpoint(
                    addresses=tuple(str(a) for a in _list(ep.get("addresses"))),
                    ready=conditions.get("ready") is not False,
                    serving=conditions.get("serving") is not False,
                    terminating=conditions.get("terminating") is True,
                    target_pod=str(target["name"]) if target.get("kind") == "Pod" else None,
                )
            )
        ports = tuple(
            EndpointPort(
                port=int(_map(p)["port"]) if _map(p).get("port") is not None else None,
                protocol=Protocol.parse(_map(p).get("protocol")),
                name=str(_map(p)["name"]) if _map(p).get("name") else None,
            )
            for p in _list(raw.get("ports"))
        )
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            service_name=meta.labels.get(SERVICE_NAME_LABEL),
            address_type=str(raw.get("addressType") or "IPv4"),
            endpoints=tuple(endpoints),
            ports=ports,
            managed_by=meta.labels.get("endpointslice.kubernetes.io/managed-by"),
            origin=origin,
        )

    @classmethod
    def from_endpoints(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> EndpointSlice:
        """Convert a core/v1 Endpoints object (for servers without EndpointSlices)."""
        meta = Meta.from_raw(raw, default_namespace)
        endpoints: list[Endpoint] = []
        ports: dict[tuple[int | None, Protocol, str | None], EndpointPort] = {}
        for subset in _list(raw.get("subsets")):
            subset = _map(subset)
            for key, ready in (("addresses", True), ("notReadyAddresses", False)):
                for addr in _list(subset.get(key)):
                    addr = _map(addr)
                    target = _map(addr.get("targetRef"))
                    endpoints.append(
                        Endpoint(
                            addresses=(str(addr.get("ip", "")),),
                            ready=ready,
                            serving=ready,
                            target_pod=str(target["name"]) if target.get("kind") == "Pod" else None,
                        )
                    )
            for p in _list(subset.get("ports")):
                p = _map(p)
                port = EndpointPort(
                    port=int(p["port"]) if p.get("port") is not None else None,
                    protocol=Protocol.parse(p.get("protocol")),
                    name=str(p["name"]) if p.get("name") else None,
                )
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


# --- network policies ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IPBlock:
    cidr: str
    except_: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyPeer:
    """One entry of a rule's `from`/`to` list.

    Inside one peer the selectors are ANDed. A podSelector without a
    namespaceSelector means the policy's own namespace; a namespaceSelector
    without a podSelector means every pod of the selected namespaces.
    """

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None

    @classmethod
    def from_raw(cls, raw: Any) -> PolicyPeer:
        raw = _map(raw)
        ip_block = None
        if raw.get("ipBlock") is not None:
            block = _map(raw["ipBlock"])
            ip_block = IPBlock(
                str(block.get("cidr", "")), tuple(str(c) for c in _list(block.get("except")))
            )
        return cls(
            pod_selector=LabelSelector.from_raw(raw["podSelector"])
            if raw.get("podSelector") is not None
            else None,
            namespace_selector=LabelSelector.from_raw(raw["namespaceSelector"])
            if raw.get("namespaceSelector") is not None
            else None,
            ip_block=ip_block,
        )


@dataclass(frozen=True, slots=True)
class PolicyPort:
    """`port` absent means every port; a string is a named port of the destination pod."""

    protocol: Protocol = Protocol.TCP
    port: int | str | None = None
    end_port: int | None = None

    @classmethod
    def from_raw(cls, raw: Any) -> PolicyPort:
        raw = _map(raw)
        end_port = raw.get("endPort")
        return cls(
            protocol=Protocol.parse(raw.get("protocol")),
            port=_int_or_str(raw.get("port")),
            end_port=int(end_port) if end_port is not None else None,
        )


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One ingress or egress rule. Empty `peers` means every peer; empty `ports` every port."""

    peers: tuple[PolicyPeer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()

    @classmethod
    def from_raw(cls, raw: Any, peer_key: str) -> PolicyRule:
        raw = _map(raw)
        return cls(
            peers=tuple(PolicyPeer.from_raw(p) for p in _list(raw.get(peer_key))),
            ports=tuple(PolicyPort.from_raw(p) for p in _list(raw.get("ports"))),
        )


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    namespace: str
    name: str
    labels: Labels
    annotations: Labels
    pod_selector: LabelSelector
    # Defaulted as the API server does: Ingress always, plus Egress when egress rules exist.
    policy_types: frozenset[str]
    ingress: tuple[PolicyRule, ...]
    egress: tuple[PolicyRule, ...]
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("NetworkPolicy", self.namespace, self.name)

    @property
    def affects_ingress(self) -> bool:
        return "Ingress" in self.policy_types

    @property
    def affects_egress(self) -> bool:
        return "Egress" in self.policy_types

    @classmethod
    def from_raw(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> NetworkPolicy:
        meta = Meta.from_raw(raw, default_namespace)
        spec = _map(raw.get("spec"))
        ingress = tuple(PolicyRule.from_raw(r, "from") for r in _list(spec.get("ingress")))
        egress = tuple(PolicyRule.from_raw(r, "to") for r in _list(spec.get("egress")))
        declared = _list(spec.get("policyTypes"))
        if declared:
            types = frozenset(str(t) for t in declared)
        else:
            types = frozenset({"Ingress", "Egress"} if egress else {"Ingress"})
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            labels=meta.labels,
            annotations=meta.annotations,
            pod_selector=LabelSelector.from_raw(spec.get("podSelector")),
            policy_types=types,
            ingress=ingress,
            egress=egress,
            origin=origin,
        )


# --- ingress ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IngressBackend:
    service_name: str | None
    port_number: int | None = None
    port_name: str | None = None
    resource: str | None = None  # kind/name of a non-Service backend
    host: str | None = None
    path: str | None = None

    @property
    def port_text(self) -> str:
        if self.port_number is not None:
            return str(self.port_number)
        return self.port_name or "?"

    @classmethod
    def from_raw(cls, raw: Any, host: str | None = None, path: str | None = None) -> IngressBackend:
        raw = _map(raw)
        service = _map(raw.get("service"))
        port = _map(service.get("port"))
        resource = _map(raw.get("resource"))
        return cls(
            service_name=str(service["name"]) if service.get("name") else None,
            port_number=int(port["number"]) if port.get("number") is not None else None,
            port_name=str(port["name"]) if port.get("name") else None,
            resource=f"{resource.get('kind')}/{resource.get('name')}" if resource else None,
            host=host,
            path=path,
        )


@dataclass(frozen=True, slots=True)
class Ingress:
    namespace: str
    name: str
    labels: Labels
    annotations: Labels
    ingress_class_name: str | None
    backends: tuple[IngressBackend, ...]  # the default backend and every rule path
    tls_hosts: tuple[tuple[str, ...], ...]  # one entry per tls item
    hosts: tuple[str, ...]
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Ingress", self.namespace, self.name)

    @property
    def legacy_class(self) -> str | None:
        return self.annotations.get(LEGACY_INGRESS_CLASS_ANNOTATION)

    @classmethod
    def from_raw(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> Ingress:
        meta = Meta.from_raw(raw, default_namespace)
        spec = _map(raw.get("spec"))
        backends: list[IngressBackend] = []
        if spec.get("defaultBackend"):
            backends.append(IngressBackend.from_raw(spec["defaultBackend"]))
        hosts: list[str] = []
        for rule in _list(spec.get("rules")):
            rule = _map(rule)
            host = str(rule["host"]) if rule.get("host") else None
            if host:
                hosts.append(host)
            for path in _list(_map(rule.get("http")).get("paths")):
                path = _map(path)
                backends.append(
                    IngressBackend.from_raw(path.get("backend"), host, path.get("path"))
                )
        tls = tuple(
            tuple(str(h) for h in _list(_map(t).get("hosts"))) for t in _list(spec.get("tls"))
        )
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            labels=meta.labels,
            annotations=meta.annotations,
            ingress_class_name=spec.get("ingressClassName") or None,
            backends=tuple(backends),
            tls_hosts=tls,
            hosts=tuple(hosts),
            origin=origin,
        )


@dataclass(frozen=True, slots=True)
class IngressClass:
    name: str
    controller: str
    is_default: bool
    annotations: Labels = EMPTY_LABELS
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("IngressClass", "", self.name)

    @classmethod
    def from_raw(cls, raw: Raw, origin: Origin = LIVE) -> IngressClass:
        meta = Meta.from_raw(raw)
        return cls(
            name=meta.name,
            controller=str(_map(raw.get("spec")).get("controller") or ""),
            is_default=meta.annotations.get(DEFAULT_INGRESS_CLASS_ANNOTATION) == "true",
            annotations=meta.annotations,
            origin=origin,
        )


# --- what the collector learned ----------------------------------------------------------


class Kind(enum.StrEnum):
    """The kinds kaudit collects, named as the API's plural resources."""

    NAMESPACES = "namespaces"
    PODS = "pods"
    SERVICES = "services"
    ENDPOINT_SLICES = "endpointslices"
    NETWORK_POLICIES = "networkpolicies"
    INGRESSES = "ingresses"
    INGRESS_CLASSES = "ingressclasses"


@dataclass(frozen=True, slots=True)
class CollectionWarning:
    """Something the source could not read; `kind` is set when a whole kind is missing."""

    message: str
    kind: Kind | None = None


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
    warnings: tuple[CollectionWarning, ...] = ()

    @property
    def missing_kinds(self) -> frozenset[Kind]:
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

        Cluster-scoped objects (IngressClasses) and the cluster facts always stay.
        """
        wanted = set(include)
        unwanted = set(exclude)

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
            warnings=self.warnings,
        )
