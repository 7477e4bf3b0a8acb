"""Gateway API paths: a Gateway listener, the routes attached to it, their Services.

The attachment is `kaudit.routing`'s (parentRefs, allowedRoutes, hostnames, ListenerSets,
ReferenceGrants, as the spec resolves them); this module turns each attached route's
backend into a `RoutedPath`, the shape Ingress paths take too, so both reach the
inventory the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

from kaudit.exposure.controllers import gateway_pods
from kaudit.exposure.model import Via
from kaudit.exposure.routes import RoutedPath
from kaudit.model import Pod, Protocol
from kaudit.routing import ListenerRoutes
from kaudit.rules.context import AuditContext

# Listener protocols whose clients speak TLS to the Gateway (terminated or passed through).
TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})


def gateway_routes(ctx: AuditContext) -> Iterator[RoutedPath]:
    """One RoutedPath per listener, hostname and Service backend of an attached route.

    Rules that redirect to HTTPS never reach their backends and are left out. The
    sources the backends see are the Gateway's data-plane pods (`gateway_pods`).
    """
    if not ctx.snapshot.gateways:
        return
    pods = [p for ps in ctx.pods_by_namespace.values() for p in ps]
    classes = frozenset(c.name for c in ctx.snapshot.gateway_classes)
    for listener_routes in ctx.routing.listeners:
        if listener_routes.routes:
            yield from _listener_paths(ctx, listener_routes, pods, classes)


def _listener_paths(
    ctx: AuditContext,
    listener_routes: ListenerRoutes,
    pods: list[Pod],
    classes: frozenset[str],
) -> Iterator[RoutedPath]:
    attached_to = listener_routes.listener
    gateway, listener = attached_to.gateway, attached_to.listener
    unserved = None
    # Absence is evidence only when the input holds GatewayClasses at all (live, it does).
    if classes and gateway.gateway_class_name not in classes:
        unserved = (
            f"GatewayClass {gateway.gateway_class_name} does not exist: no controller serves "
            "the Gateway"
        )
    data_plane = gateway_pods(gateway.namespace, gateway.name, pods)
    note = (
        ""
        if data_plane
        else f"the data-plane pods of Gateway {gateway.namespace}/{gateway.name} are not in the "
        "input (or carry no label kaudit knows)"
    )
    front = (
        gateway.ref,
        *((attached_to.listener_set.ref,) if attached_to.listener_set else ()),
    )
    tls = listener.protocol in TLS_PROTOCOLS
    protocol = Protocol.UDP if listener.protocol == "UDP" else Protocol.TCP
    seen: set[tuple[object, ...]] = set()
    for attached in listener_routes.routes:
        route = attached.route
        for host in attached.hostnames or (listener.hostname or "*",):
            for backend in attached.resolution.backends:
                ref = backend.ref
                if not ref.is_service or ref.rule >= len(route.rules):
                    continue
                if route.rules[ref.rule].redirects_to_https:
                    continue  # answered with a redirect: the backend is never reached
                key = (route.ref, host, ref.namespace, ref.name, ref.port)
                if key in seen:
                    continue
                seen.add(key)
                why_not = unserved
                if why_not is None and not backend.granted:
                    why_not = (
                        f"no ReferenceGrant in namespace {ref.namespace} allows "
                        f"{route.kind} {route.namespace}/{route.name} to reach Service {ref.name}"
                    )
                if why_not is None and ref.port is None:
                    why_not = f"the backendRef to Service {ref.name} names no port"
                yield RoutedPath(
                    via=Via.GATEWAY,
                    namespace=ref.namespace,
                    entry=host,
                    port=listener.port,
                    protocol=protocol,
                    tls=tls,
                    front=(*front, route.ref),
                    service=ref.name,
                    service_port=ref.port or 0,
                    controller_pods=data_plane or None,
                    controller_note=note,
                    unserved=why_not,
                )
