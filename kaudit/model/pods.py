"""Namespaces, pods and the workloads that own them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from frozendict import frozendict

from kaudit.kube import NAMESPACE_NAME_LABEL, POD_TEMPLATE_HASH_LABEL
from kaudit.model import wire
from kaudit.model.meta import (
    EMPTY_LABELS,
    LIVE,
    Labels,
    Meta,
    ObjectRef,
    Origin,
    Protocol,
    Raw,
    port_name,
    port_number,
)


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
    def from_wire(cls, namespace: wire.Named, origin: Origin = LIVE) -> Namespace:
        meta = Meta.from_wire(namespace.metadata)
        labels = dict(meta.labels)
        # The API server sets this label on every namespace; manifests rarely carry it.
        labels.setdefault(NAMESPACE_NAME_LABEL, meta.name)
        return cls(meta.name, frozendict(labels), meta.annotations, origin)

    @classmethod
    def from_raw(cls, raw: Raw, origin: Origin = LIVE) -> Namespace:
        return cls.from_wire(wire.from_mapping(raw, wire.Named), origin)

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


_NO_POD_SPEC = wire.PodSpec()
_NO_POD_STATUS = wire.PodStatus()


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
    # The images of the pod's containers (not its init containers), in container order.
    images: tuple[str, ...] = ()
    # The pod's ServiceAccount ("default" when unset, as the API server defaults it):
    # Cilium and Calico policies select pods by it.
    service_account: str = "default"

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
    def from_wire(
        cls,
        pod: wire.Pod,
        origin: Origin = LIVE,
        workload: Workload | None = None,
        from_template: bool = False,
        default_namespace: str = "default",
    ) -> Pod:
        meta = Meta.from_wire(pod.metadata, default_namespace)
        spec = pod.spec or _NO_POD_SPEC
        status = pod.status or _NO_POD_STATUS
        ports: list[ContainerPort] = []
        for container in [*(spec.init_containers or ()), *(spec.containers or ())]:
            for index, port in enumerate(container.ports or ()):
                if port.container_port is None:
                    continue
                field = f"container {container.name or '(unnamed)'} ports[{index}]"
                ports.append(
                    ContainerPort(
                        container_port=port_number(port.container_port, f"{field}.containerPort"),
                        protocol=Protocol.parse(port.protocol),
                        name=port_name(port.name, f"{field}.name"),
                        host_port=port_number(port.host_port, f"{field}.hostPort")
                        if port.host_port
                        else None,
                        container=container.name or "",
                    )
                )
        ips = tuple(ip.ip for ip in status.pod_ips or () if ip.ip)
        if not ips and status.pod_ip:
            ips = (status.pod_ip,)
        ready = any(c.type == "Ready" and c.status == "True" for c in status.conditions or ())
        ndots: int | None = None
        dns_options = spec.dns_config.options if spec.dns_config else None
        for option in dns_options or ():
            if option.name == "ndots" and option.value is not None:
                try:
                    ndots = int(str(option.value))
                except ValueError:
                    ndots = None
        if workload is None and pod.metadata is not None:
            workload = workload_from_owner(meta, pod.metadata.owner_references or ())
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            labels=meta.labels,
            annotations=meta.annotations,
            ports=tuple(ports),
            host_network=bool(spec.host_network),
            node_name=spec.node_name or None,
            pod_ips=ips,
            phase=status.phase or ("Running" if from_template else "Pending"),
            ready=ready or from_template,
            dns_policy=spec.dns_policy or "ClusterFirst",
            ndots=ndots,
            workload=workload,
            from_template=from_template,
            origin=origin,
            images=tuple(c.image for c in spec.containers or () if c.image),
            service_account=spec.service_account_name or spec.service_account or "default",
        )

    @classmethod
    def from_raw(
        cls,
        raw: Raw,
        origin: Origin = LIVE,
        workload: Workload | None = None,
        from_template: bool = False,
        default_namespace: str = "default",
    ) -> Pod:
        return cls.from_wire(
            wire.from_mapping(raw, wire.Pod), origin, workload, from_template, default_namespace
        )


def workload_from_owner(meta: Meta, owner_refs: Sequence[wire.OwnerReference]) -> Workload | None:
    """The top-level controller of a live pod, read from its ownerReferences.

    A ReplicaSet owned by a Deployment is named `<deployment>-<pod-template-hash>`,
    and its pods carry that hash as a label, so the Deployment is found without
    reading ReplicaSets; likewise a Job named by a CronJob (`<cronjob>-<number>`)
    is left as the Job, since its name alone cannot be trusted.
    """
    for ref in owner_refs:
        if not ref.controller:
            continue
        kind, name = ref.kind or "", ref.name or ""
        template_hash = meta.labels.get(POD_TEMPLATE_HASH_LABEL)
        if kind == "ReplicaSet" and template_hash and name.endswith("-" + template_hash):
            return Workload("Deployment", name[: -len(template_hash) - 1])
        return Workload(kind, name)
    return None
