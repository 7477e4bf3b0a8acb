"""Paths straight from outside to pods: Services of type LoadBalancer and NodePort, a
Service's externalIPs, host ports and the host network."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from kaudit.exposure.admission import Admission, Answer, PortTarget, address_families
from kaudit.exposure.model import DeadEnd, ExposedPort, ExposureEntry, Via
from kaudit.model import ObjectRef, Pod, Service, ServicePort
from kaudit.rules.context import AuditContext
from kaudit.rules.service_exposure import internal_annotation

Found = ExposureEntry | DeadEnd


def workload_ref(pod: Pod) -> ObjectRef:
    owner = pod.owner
    return ObjectRef(owner.kind, pod.namespace, owner.name)


def by_workload(pods: Sequence[Pod]) -> dict[ObjectRef, list[Pod]]:
    """Pods grouped by the workload that owns them, in workload order."""
    groups: dict[ObjectRef, list[Pod]] = {}
    for pod in sorted(pods, key=lambda p: (str(workload_ref(p)), p.name)):
        groups.setdefault(workload_ref(pod), []).append(pod)
    return groups


def target_number(pod: Pod, port: ServicePort) -> int | None:
    """The pod's port a Service port forwards to (a named targetPort resolved against the
    pod's container ports), or None when the name matches none."""
    target = port.effective_target
    return target if isinstance(target, int) else pod.named_port(target, port.protocol)


def backends(ctx: AuditContext, service: Service) -> list[Pod]:
    """The pods behind a Service: those its selector picks, or, for a selector-less
    Service, the pods its EndpointSlices name."""
    if service.has_selector:
        return ctx.pods_of(service)
    named = {
        endpoint.target_pod
        for eps in ctx.slices_by_service.get((service.namespace, service.name), [])
        for endpoint in eps.endpoints
        if endpoint.target_pod
    }
    return [p for p in ctx.pods_by_namespace.get(service.namespace, []) if p.name in named]


def _service_targets(
    service: Service, group: Sequence[Pod], entry_port: dict[ServicePort, int | None]
) -> tuple[tuple[ExposedPort, ...], list[PortTarget]]:
    """The entry ports that reach the group's pods, and the pod ports to ask about."""
    ports: list[ExposedPort] = []
    targets: list[PortTarget] = []
    for port in service.ports:
        numbers = {target_number(p, port) for p in group} - {None}
        if not numbers:
            continue  # a named targetPort no pod of the group declares: no endpoint
        # Replicas of one workload share their template: one number (None when mixed).
        shown = next(iter(numbers)) if len(numbers) == 1 else None
        ports.append(ExposedPort(entry_port[port], port.protocol, shown))
        targets.extend((n, port.protocol) for n in sorted(n for n in numbers if n is not None))
    return tuple(ports), targets


def service_paths(ctx: AuditContext, admission: Admission) -> Iterator[Found]:
    """LoadBalancer, NodePort and externalIPs of every Service, per backing workload."""
    for service in sorted(ctx.snapshot.services, key=lambda s: (s.namespace, s.name)):
        if service.type == "ExternalName":
            continue  # a DNS alias: nothing listens for it
        ways = _ways_in(service)
        if not ways:
            continue
        pods = backends(ctx, service)
        families = address_families(service, pods)
        groups = by_workload(pods)
        for via, entry, entry_port in ways:
            if not groups:
                yield DeadEnd(
                    service.namespace,
                    via,
                    entry,
                    tuple(ExposedPort(entry_port[p], p.protocol) for p in service.ports),
                    (service.ref,),
                    "the Service selects no running pod"
                    if service.has_selector
                    else "the Service has no selector and its endpoints name no pod",
                )
                continue
            for ref, group in groups.items():
                ports, targets = _service_targets(service, group, entry_port)
                if not ports:
                    yield DeadEnd(
                        service.namespace,
                        via,
                        entry,
                        tuple(ExposedPort(entry_port[p], p.protocol) for p in service.ports),
                        (service.ref, ref),
                        f"no port of the Service resolves to a container port of {ref.kind} "
                        f"{ref.name}",
                    )
                    continue
                answer = _answer(admission, service, via, group, targets, families)
                notes = list(answer.notes)
                if via is Via.LOAD_BALANCER and (internal := internal_annotation(service)):
                    notes.insert(0, f"internal load balancer ({internal})")
                yield ExposureEntry(
                    namespace=service.namespace,
                    workload=ref,
                    via=via,
                    entry=entry,
                    ports=ports,
                    tls=None,
                    admitted_by_policy=answer.admitted,
                    path=(service.ref, ref),
                    pods=len(group),
                    notes=tuple(notes),
                )


def _ways_in(service: Service) -> list[tuple[Via, str, dict[ServicePort, int | None]]]:
    """(via, entry text, Service port -> port at the entry) for each way the Service opens."""
    ways: list[tuple[Via, str, dict[ServicePort, int | None]]] = []
    own_ports: dict[ServicePort, int | None] = {p: p.port for p in service.ports}
    node_ports: dict[ServicePort, int | None] = {p: p.node_port for p in service.ports}
    if service.type == "LoadBalancer":
        ways.append(
            (Via.LOAD_BALANCER, ", ".join(service.load_balancer_ingress) or "pending", own_ports)
        )
    if service.ports and (
        service.type == "NodePort"
        or (service.type == "LoadBalancer" and service.allocate_load_balancer_node_ports)
    ):
        numbers = [str(p.node_port) for p in service.ports if p.node_port]
        ways.append((Via.NODE_PORT, ", ".join(numbers) or "auto", node_ports))
    if service.external_ips:
        ways.append((Via.EXTERNAL_IP, ", ".join(service.external_ips), own_ports))
    return ways


def _answer(
    admission: Admission,
    service: Service,
    via: Via,
    group: Sequence[Pod],
    targets: list[PortTarget],
    families: tuple[int, ...],
) -> Answer:
    if via is Via.LOAD_BALANCER:
        clients = admission.load_balancer_clients(service, families)
    else:
        clients = admission.client_sources(families)
    sources = admission.service_sources(service, clients, families)
    return admission.from_addresses(group, sources, targets)


def pod_paths(ctx: AuditContext, admission: Admission) -> Iterator[Found]:
    """Host ports and the host network, per workload."""
    pods = [p for p in ctx.snapshot.pods if not p.terminated]
    host_network = [p for p in pods if p.host_network]
    host_ports = [p for p in pods if not p.host_network and any(c.host_port for c in p.ports)]
    for ref, group in by_workload(host_network).items():
        ports = tuple(
            sorted(
                {
                    ExposedPort(c.container_port, c.protocol, c.container_port)
                    for pod in group
                    for c in pod.ports
                }
            )
        )
        answer = admission.host_network(group)
        notes = list(answer.notes)
        if not ports:
            notes.append("declares no port: whatever it listens on is open on its nodes")
        yield ExposureEntry(
            namespace=ref.namespace,
            workload=ref,
            via=Via.HOST_NETWORK,
            entry=_nodes_text(group),
            ports=ports,
            tls=None,
            admitted_by_policy=answer.admitted,
            path=(ref,),
            pods=len(group),
            notes=tuple(notes),
        )
    for ref, group in by_workload(host_ports).items():
        exposed = sorted(
            {
                ExposedPort(c.host_port, c.protocol, c.container_port)
                for pod in group
                for c in pod.ports
                if c.host_port
            }
        )
        # The CNI's portmap plugin forwards host ports without source NAT for remote clients.
        sources = admission.client_sources(address_families(None, group))
        answer = admission.from_addresses(
            group, sources, [(p.target_port or 0, p.protocol) for p in exposed]
        )
        yield ExposureEntry(
            namespace=ref.namespace,
            workload=ref,
            via=Via.HOST_PORT,
            entry=", ".join(str(p.port) for p in exposed),
            ports=tuple(exposed),
            tls=None,
            admitted_by_policy=answer.admitted,
            path=(ref,),
            pods=len(group),
            notes=answer.notes,
        )


def _nodes_text(group: Sequence[Pod]) -> str:
    nodes = sorted({p.node_name for p in group if p.node_name})
    if not nodes:
        return "node network"
    shown = ", ".join(nodes[:3]) + (f" and {len(nodes) - 3} more" if len(nodes) > 3 else "")
    return f"node network ({shown})"
