"""Paths through a controller that routes by hostname: Ingresses, and Gateway API routes.

Both are one path source shape, `RoutedPath`: an entry (a hostname on a port, with or
without TLS), the objects in front (the Ingress; the Gateway and its route), the
backend Service and port, and the controller pods that forward the traffic. `routed_paths`
turns them into entries per backing workload; `ingress_routes` here and
`kaudit.exposure.gateways.gateway_routes` are the two sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from kaudit.exposure.admission import Admission, Answer, PortTarget
from kaudit.exposure.controllers import CLOUD_INGRESS_CONTROLLERS, ingress_controller_pods
from kaudit.exposure.direct import Found, backends, by_workload, target_number
from kaudit.exposure.model import DeadEnd, ExposedPort, ExposureEntry, Via
from kaudit.model import Ingress, IngressClass, ObjectRef, Pod, Protocol, Resource, ServicePort
from kaudit.rules.context import AuditContext

HTTP_PORT, HTTPS_PORT = 80, 443


@dataclass(frozen=True, slots=True)
class RoutedPath:
    """One hostname routed to one Service port by an Ingress or a Gateway route."""

    via: Via  # INGRESS or GATEWAY
    namespace: str  # the backend Service's
    entry: str  # the hostname ("*": any)
    port: int  # the port clients connect to
    protocol: Protocol
    tls: bool | None
    front: tuple[ObjectRef, ...]  # from the entry: the Ingress; the Gateway and the route
    service: str
    service_port: int | str  # a Service port's number or name
    # The pods that forward the traffic to the backends; None when they cannot be
    # identified (then `controller_note` says why).
    controller_pods: tuple[Pod, ...] | None
    controller_note: str = ""
    unserved: str | None = None  # why no controller serves the route: nothing is exposed


def routed_paths(
    ctx: AuditContext, admission: Admission, routes: Iterable[RoutedPath]
) -> Iterator[Found]:
    """Entries per backend workload of each route (merged when several routes of one
    front object send one hostname to one Service), or a dead end."""
    for route in routes:
        dead = _dead_end(ctx, route)
        if isinstance(dead, DeadEnd):
            yield dead
            continue
        service_port, pods = dead
        for ref, group in by_workload(pods).items():
            numbers = sorted({n for p in group if (n := target_number(p, service_port))})
            if not numbers:
                yield _dead(
                    route,
                    f"targetPort {service_port.effective_target} of Service {route.service} "
                    f"is no container port of {ref.kind} {ref.name}",
                    ref,
                )
                continue
            targets: list[PortTarget] = [(n, service_port.protocol) for n in numbers]
            answer = _controller_answer(admission, route, group, targets)
            yield ExposureEntry(
                namespace=route.namespace,
                workload=ref,
                via=route.via,
                entry=route.entry,
                ports=(
                    ExposedPort(
                        route.port, route.protocol, numbers[0] if len(numbers) == 1 else None
                    ),
                ),
                tls=route.tls,
                admitted_by_policy=answer.admitted,
                path=(*route.front, ObjectRef("Service", route.namespace, route.service), ref),
                pods=len(group),
                notes=answer.notes,
            )


def _dead(route: RoutedPath, reason: str, *after: ObjectRef) -> DeadEnd:
    return DeadEnd(
        route.namespace,
        route.via,
        route.entry,
        (ExposedPort(route.port, route.protocol),),
        (*route.front, ObjectRef("Service", route.namespace, route.service), *after),
        reason,
    )


def _dead_end(ctx: AuditContext, route: RoutedPath) -> DeadEnd | tuple[ServicePort, list[Pod]]:
    """Why the route reaches no pod, or the Service port and the pods it reaches."""
    if route.unserved:
        return _dead(route, route.unserved)
    service = ctx.services_by_key.get((route.namespace, route.service))
    if service is None:
        return DeadEnd(
            route.namespace,
            route.via,
            route.entry,
            (ExposedPort(route.port, route.protocol),),
            route.front,
            f"backend Service {route.service} does not exist",
        )
    wanted = route.service_port
    port = next(
        (p for p in service.ports if (p.port if isinstance(wanted, int) else p.name) == wanted),
        None,
    )
    if port is None:
        return _dead(route, f"port {route.service_port} is not a port of Service {service.name}")
    pods = backends(ctx, service)
    if not pods:
        return _dead(route, f"Service {service.name} selects no running pod")
    return port, pods


def _controller_answer(
    admission: Admission, route: RoutedPath, pods: Sequence[Pod], targets: list[PortTarget]
) -> Answer:
    if admission.open_to_all(pods):
        return Answer(True, ("no NetworkPolicy isolates the pods for ingress",))
    if route.controller_pods is None:
        return Answer(None, (route.controller_note,) if route.controller_note else ())
    if not route.controller_pods:
        return Answer(None, (route.controller_note or "no pod of the controller in the input",))
    answer = admission.from_pods(route.controller_pods, pods, targets)
    names = sorted({str(p.owner) for p in route.controller_pods})
    return Answer(answer.admitted, (f"sources: the controller's pods ({', '.join(names)})",))


# --- Ingress ---------------------------------------------------------------------------------


def _ingress_class(ctx: AuditContext, ingress: Ingress) -> tuple[IngressClass | None, str | None]:
    """The class serving the Ingress, or None and why it is not served (None, None: served
    by a class the input does not hold)."""
    if not ctx.collected(Resource.INGRESS_CLASSES):
        return None, None
    classes = {c.name: c for c in ctx.snapshot.ingress_classes}
    known = ctx.snapshot.facts.source == "live" or bool(classes)
    wanted = ingress.ingress_class_name
    if wanted:
        if wanted in classes:
            return classes[wanted], None
        return (
            None,
            f"IngressClass {wanted} does not exist: no controller serves it" if known else None,
        )
    if ingress.legacy_class:
        # The legacy annotation names a controller's class, with or without an object.
        return classes.get(ingress.legacy_class), None
    defaults = sorted(name for name, c in classes.items() if c.is_default)
    if defaults:
        return classes[defaults[0]], None
    return (
        None,
        "no IngressClass named and no default class: no controller serves it" if known else None,
    )


def _tls(ingress: Ingress, host: str | None) -> bool:
    """Does a tls item of the Ingress cover the host (a wildcard covers one label)?"""
    for hosts in ingress.tls_hosts:
        if host is None:
            if not hosts:
                return True
            continue
        for pattern in hosts:
            if pattern == host or (
                pattern.startswith("*.") and host.partition(".")[2] == pattern[2:]
            ):
                return True
    return False


def ingress_routes(ctx: AuditContext) -> Iterator[RoutedPath]:
    """One RoutedPath per Ingress, hostname and backend Service port."""
    pods = [p for ps in ctx.pods_by_namespace.values() for p in ps]
    # Many Ingresses share a few controllers: find each one's pods once.
    by_controller: dict[str, tuple[Pod, ...] | None] = {}
    for ingress in sorted(ctx.snapshot.ingresses, key=lambda i: (i.namespace, i.name)):
        ingress_class, not_served = _ingress_class(ctx, ingress)
        controller_pods: tuple[Pod, ...] | None = None
        note = ""
        if not_served:
            pass
        elif ingress_class is None:
            note = "the Ingress's controller is not in the input (no IngressClass)"
        elif ingress_class.controller in CLOUD_INGRESS_CONTROLLERS:
            note = f"controller {ingress_class.controller} forwards from outside the cluster"
        else:
            controller = ingress_class.controller
            if controller not in by_controller:
                by_controller[controller] = ingress_controller_pods(controller, pods)
            controller_pods = by_controller[controller]
            note = (
                f"kaudit does not know the pods of controller {ingress_class.controller}"
                if controller_pods is None
                else f"no pod of controller {ingress_class.controller} in the input"
            )
        seen: set[tuple[str, str, int | str]] = set()
        for backend in ingress.backends:
            if not backend.service_name:
                continue
            port: int | str | None = (
                backend.port_number if backend.port_number is not None else backend.port_name
            )
            if port is None:
                continue
            host = backend.host
            key = (host or "*", backend.service_name, port)
            if key in seen:
                continue
            seen.add(key)
            tls = _tls(ingress, host)
            yield RoutedPath(
                via=Via.INGRESS,
                namespace=ingress.namespace,
                entry=host or "*",
                port=HTTPS_PORT if tls else HTTP_PORT,
                protocol=Protocol.TCP,
                tls=tls,
                front=(ingress.ref,),
                service=backend.service_name,
                service_port=port,
                controller_pods=controller_pods,
                controller_note=note,
                unserved=not_served,
            )
