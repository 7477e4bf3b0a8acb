"""Route attachment and backend resolution, as the Gateway API spec defines them.

The spec text each step follows is quoted where it is applied. What is not
evaluated: route matches (paths, headers), filters other than RequestRedirect
(read by the rules), policies attached to Gateways, Service parents (the mesh
profile), and each implementation's own choices (conflict resolution between
listeners, the supported-features set).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kaudit.model import Gateway, ObjectRef, Service, Snapshot
from kaudit.model.gateway import (
    GATEWAY_EXPERIMENTAL_GROUP,
    GATEWAY_GROUP,
    BackendRef,
    Listener,
    ListenerSet,
    NamespaceFilter,
    ParentRef,
    ReferenceGrant,
    Route,
    RouteGroupKind,
    RouteParentStatus,
    SecretRef,
)
from kaudit.model.services import ServicePort
from kaudit.routing.hostnames import effective_hostnames

# Route kinds that carry hostnames; TCPRoute and UDPRoute have none, and the listener
# hostname "is ignored for protocols that don't require hostname based matching".
HOSTNAME_ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute", "TLSRoute"})

# The route kinds a listener admits when allowedRoutes.kinds is empty: "When
# unspecified or empty, the kinds of Routes selected are determined using the
# Listener protocol" (apis/v1 AllowedRoutes.Kinds; the conformance profiles pair
# HTTP/HTTPS with HTTPRoute and GRPCRoute, TLS with TLSRoute and, terminated, TCPRoute).
_KINDS_BY_PROTOCOL: Mapping[str, tuple[str, ...]] = {
    "HTTP": ("HTTPRoute", "GRPCRoute"),
    "HTTPS": ("HTTPRoute", "GRPCRoute"),
    "TLS": ("TLSRoute", "TCPRoute"),
    "TCP": ("TCPRoute",),
    "UDP": ("UDPRoute",),
}

# The reasons of the spec's route condition `Accepted` (apis/v1 RouteConditionReason).
ACCEPTED = "Accepted"
NOT_ALLOWED_BY_LISTENERS = "NotAllowedByListeners"
NO_MATCHING_LISTENER_HOSTNAME = "NoMatchingListenerHostname"
NO_MATCHING_PARENT = "NoMatchingParent"
# Not one of the spec's reasons: the parent object is not in the snapshot at all.
PARENT_NOT_FOUND = "ParentNotFound"


def default_route_kinds(listener: Listener) -> tuple[RouteGroupKind, ...] | None:
    """The route kinds a listener admits; None for an implementation's own protocol."""
    if listener.allowed_kinds:
        return listener.allowed_kinds
    kinds = _KINDS_BY_PROTOCOL.get(listener.protocol)
    if kinds is None:
        return None
    return tuple(RouteGroupKind(GATEWAY_GROUP, kind) for kind in kinds)


@dataclass(frozen=True, slots=True)
class GatewayListener:
    """A listener of a Gateway: its own, or one of a ListenerSet the Gateway accepts."""

    gateway: Gateway
    listener: Listener
    listener_set: ListenerSet | None = None

    @property
    def owner(self) -> ObjectRef:
        """The object that declares the listener (the Gateway or the ListenerSet)."""
        return self.listener_set.ref if self.listener_set else self.gateway.ref

    @property
    def namespace(self) -> str:
        """Where `allowedRoutes: Same` points: the declaring object's namespace."""
        return self.listener_set.namespace if self.listener_set else self.gateway.namespace

    def __str__(self) -> str:
        return f"{self.owner} listener {self.listener.name}"


@dataclass(frozen=True, slots=True)
class ListenerMatch:
    """A listener that accepts a route, and the hostnames the route answers there
    (empty: any hostname)."""

    listener: GatewayListener
    hostnames: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParentAttachment:
    """One parentRef of a route to a Gateway or ListenerSet, resolved."""

    index: int  # in spec.parentRefs
    parent_ref: ParentRef
    accepted: bool
    reason: str  # "Accepted", or why not (the spec's reasons, or ParentNotFound)
    detail: str  # for people: what exactly did not match
    listeners: tuple[ListenerMatch, ...] = ()
    status: RouteParentStatus | None = None  # what the controller reports (live)


@dataclass(frozen=True, slots=True)
class ResolvedBackend:
    """One backendRef of a route: the Service and port it names, and whether it may."""

    ref: BackendRef
    service: Service | None  # None: not a Service backend, or the Service is missing
    service_port: ServicePort | None  # None: no such port (or no Service)
    cross_namespace: bool
    granted: bool  # same namespace, or a ReferenceGrant there allows it
    grant: ReferenceGrant | None = None

    @property
    def missing_service(self) -> bool:
        return self.ref.is_service and self.service is None

    @property
    def port_mismatch(self) -> bool:
        return (
            self.service is not None
            and self.service_port is None
            and not _passes_any_port(self.service)
        )


def _passes_any_port(service: Service) -> bool:
    # An ExternalName Service without ports passes any port on.
    return service.type == "ExternalName" and not service.ports


@dataclass(frozen=True, slots=True)
class RouteResolution:
    route: Route
    attachments: tuple[ParentAttachment, ...]  # parentRefs to Gateways and ListenerSets
    backends: tuple[ResolvedBackend, ...]
    other_parents: tuple[ParentRef, ...] = ()  # parentRefs not evaluated (Services: mesh)

    @property
    def accepted(self) -> bool:
        """Attached to at least one parent."""
        return any(a.accepted for a in self.attachments)

    @property
    def listener_matches(self) -> tuple[ListenerMatch, ...]:
        return tuple(m for a in self.attachments for m in a.listeners)


@dataclass(frozen=True, slots=True)
class AttachedRoute:
    resolution: RouteResolution
    hostnames: tuple[str, ...]  # effective on this listener; empty: any hostname

    @property
    def route(self) -> Route:
        return self.resolution.route


@dataclass(frozen=True, slots=True)
class CertificateGrant:
    """A listener's certificateRef and whether it may be used (same namespace, or a
    ReferenceGrant allows it). Only the reference is read, never the Secret."""

    ref: SecretRef
    granted: bool


@dataclass(frozen=True, slots=True)
class ListenerRoutes:
    listener: GatewayListener
    routes: tuple[AttachedRoute, ...]
    certificates: tuple[CertificateGrant, ...] = ()


@dataclass(frozen=True, slots=True)
class ListenerSetAttachment:
    listener_set: ListenerSet
    gateway: Gateway | None
    accepted: bool
    detail: str


@dataclass(frozen=True, slots=True)
class RoutingTable:
    routes: tuple[RouteResolution, ...]
    listeners: tuple[ListenerRoutes, ...]
    listener_sets: tuple[ListenerSetAttachment, ...] = ()

    def route(self, ref: ObjectRef) -> RouteResolution | None:
        return next((r for r in self.routes if r.route.ref == ref), None)

    def listeners_of(self, gateway: ObjectRef) -> tuple[ListenerRoutes, ...]:
        return tuple(lr for lr in self.listeners if lr.listener.gateway.ref == gateway)


def _namespace_admits(
    rule: NamespaceFilter, own_namespace: str, namespace: str, snapshot: Snapshot
) -> bool:
    """allowedRoutes.namespaces (or allowedListeners.namespaces): "All: Routes in all
    namespaces may be used by this Gateway. Selector: Routes in namespaces selected by
    the selector [...]. Same: Only Routes in the same namespace may be used"."""
    if rule.from_ == "All":
        return True
    if rule.from_ == "Same":
        return namespace == own_namespace
    if rule.from_ == "Selector" and rule.selector is not None:
        return rule.selector.matches(snapshot.namespace(namespace).labels)
    return False  # None (allowedListeners' default)


def _kind_admits(listener: Listener, route: Route) -> bool:
    kinds = default_route_kinds(listener)
    if kinds is None:
        return True  # an implementation-specific protocol: its kinds are unknown here
    return RouteGroupKind(GATEWAY_GROUP, route.kind) in kinds


def _grants(
    grants: Iterable[ReferenceGrant],
    from_kind: str,
    from_namespace: str,
    to_group: str,
    to_kind: str,
    to_name: str,
    from_group: str = GATEWAY_GROUP,
) -> ReferenceGrant | None:
    """The ReferenceGrant (in the target's namespace) that allows the reference.

    ReferenceGrant (apis/v1beta1): "From describes the trusted namespaces and kinds
    that can reference the resources described in To. Each entry in this list MUST be
    considered to be an additional place that references can be valid from"; a To
    entry without a name allows every object of its kind.
    """
    return next(
        (
            g
            for g in grants
            if g.allows(from_group, from_kind, from_namespace, to_group, to_kind, to_name)
        ),
        None,
    )


class _Resolver:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.gateways = {g.ref: g for g in snapshot.gateways}
        self.services = {(s.namespace, s.name): s for s in snapshot.services}
        self.grants_in: dict[str, list[ReferenceGrant]] = {}
        for grant in snapshot.reference_grants:
            self.grants_in.setdefault(grant.namespace, []).append(grant)
        self.listener_sets = tuple(self._listener_set(s) for s in snapshot.listener_sets)
        self.accepted_sets = {
            a.listener_set.ref: a for a in self.listener_sets if a.accepted and a.gateway
        }

    def _listener_set(self, listener_set: ListenerSet) -> ListenerSetAttachment:
        """GEP-1713: "The parent Gateway must explicitly allow ListenerSet attachment
        through its AllowedListeners configuration. By default, Gateways do not allow
        ListenerSet attachment" (allowedListeners.namespaces.from defaults to None)."""
        parent = listener_set.parent
        gateway = self.gateways.get(ObjectRef("Gateway", parent.namespace, parent.name))
        if not parent.is_gateway or gateway is None:
            return ListenerSetAttachment(
                listener_set, None, False, f"its parent {parent} does not exist"
            )
        rule = gateway.allowed_listeners
        if not _namespace_admits(rule, gateway.namespace, listener_set.namespace, self.snapshot):
            return ListenerSetAttachment(
                listener_set,
                gateway,
                False,
                f"Gateway {gateway.namespace}/{gateway.name} allows ListenerSets from "
                f"{rule.from_} namespaces, not from {listener_set.namespace}",
            )
        return ListenerSetAttachment(listener_set, gateway, True, "accepted")

    def listeners_of(self, ref: ParentRef) -> tuple[GatewayListener, ...] | None:
        """The listeners a parentRef's object declares; None when it does not exist."""
        if ref.is_gateway:
            gateway = self.gateways.get(ObjectRef("Gateway", ref.namespace, ref.name))
            if gateway is None:
                return None
            return tuple(GatewayListener(gateway, listener) for listener in gateway.listeners)
        attached = self.accepted_sets.get(ObjectRef(ref.kind, ref.namespace, ref.name))
        if attached is None or attached.gateway is None:
            return None
        return tuple(
            GatewayListener(attached.gateway, listener, attached.listener_set)
            for listener in attached.listener_set.listeners
        )

    def attach(self, route: Route, index: int, ref: ParentRef) -> ParentAttachment:
        status = next((s for s in route.statuses if s.parent == ref), None)
        candidates = self.listeners_of(ref)
        if candidates is None:
            what = "Gateway" if ref.is_gateway else ref.kind
            detail = f"{what} {ref.namespace}/{ref.name} does not exist"
            if ref.is_listener_set and any(
                s.ref == ObjectRef(ref.kind, ref.namespace, ref.name)
                for s in self.snapshot.listener_sets
            ):
                detail = f"{what} {ref.namespace}/{ref.name} is not accepted by its Gateway"
            return ParentAttachment(index, ref, False, PARENT_NOT_FOUND, detail, status=status)
        # ParentReference.SectionName: "Gateway: Listener name. When both Port
        # (experimental) and SectionName are specified, the name and port of the
        # selected listener must match both specified values." Port: "this targets all
        # listeners listening on the specified port".
        selected = [
            c
            for c in candidates
            if (ref.section_name is None or c.listener.name == ref.section_name)
            and (ref.port is None or c.listener.port == ref.port)
        ]
        if not selected:
            wanted = " and ".join(
                part
                for part in (
                    f"listener {ref.section_name!r}" if ref.section_name else "",
                    f"port {ref.port}" if ref.port is not None else "",
                )
                if part
            )
            names = ", ".join(f"{c.listener.name} ({c.listener.port})" for c in candidates)
            return ParentAttachment(
                index,
                ref,
                False,
                NO_MATCHING_PARENT,
                f"{ref.kind} {ref.namespace}/{ref.name} has no {wanted} "
                f"(listeners: {names or 'none'})",
                status=status,
            )
        # "If 1 of 2 Gateway listeners accept attachment from the referencing Route,
        # the Route MUST be considered successfully attached."
        matches: list[ListenerMatch] = []
        refusals: list[tuple[int, str]] = []  # (how far the listener got, why it refused)
        for candidate in selected:
            listener = candidate.listener
            if not _kind_admits(listener, route):
                kinds = default_route_kinds(listener) or ()
                refusals.append(
                    (
                        0,
                        f"listener {listener.name} admits "
                        f"{', '.join(k.kind for k in kinds) or 'no kind'}, not {route.kind}",
                    )
                )
                continue
            rule = listener.allowed_namespaces
            if not _namespace_admits(rule, candidate.namespace, route.namespace, self.snapshot):
                allowed = (
                    f"namespaces matching {rule.selector.describe()}"
                    if rule.from_ == "Selector" and rule.selector is not None
                    else f"namespace {candidate.namespace} only"
                )
                refusals.append(
                    (
                        1,
                        f"listener {listener.name} admits routes from {allowed}, "
                        f"not from {route.namespace}",
                    )
                )
                continue
            if route.kind in HOSTNAME_ROUTE_KINDS:
                hostnames = effective_hostnames(listener.hostname, route.hostnames)
            else:
                hostnames = ()
            if hostnames is None:
                refusals.append(
                    (
                        2,
                        f"listener {listener.name}'s hostname {listener.hostname} matches none "
                        f"of {', '.join(route.hostnames)}",
                    )
                )
                continue
            matches.append(ListenerMatch(candidate, hostnames))
        if matches:
            return ParentAttachment(
                index, ref, True, ACCEPTED, "accepted", tuple(matches), status=status
            )
        furthest = max(stage for stage, _ in refusals)
        reason = NO_MATCHING_LISTENER_HOSTNAME if furthest == 2 else NOT_ALLOWED_BY_LISTENERS
        return ParentAttachment(
            index,
            ref,
            False,
            reason,
            # The listeners that came closest to accepting it say the most.
            "; ".join(why for stage, why in refusals if stage == furthest),
            status=status,
        )

    def backend(self, route: Route, ref: BackendRef) -> ResolvedBackend:
        """BackendObjectReference.Namespace: "Note that when a namespace different than
        the local namespace is specified, a ReferenceGrant object is required in the
        referent namespace to allow that namespace's owner to accept the reference."
        Port: "Port is required when the referent is a Kubernetes Service. In this
        case, the port number is the service port number, not the target port."
        """
        cross = ref.namespace != route.namespace
        grant = (
            _grants(
                self.grants_in.get(ref.namespace, ()),
                route.kind,
                route.namespace,
                ref.group,
                ref.kind,
                ref.name,
            )
            if cross
            else None
        )
        service = self.services.get((ref.namespace, ref.name)) if ref.is_service else None
        port = (
            next((p for p in service.ports if p.port == ref.port), None)
            if service is not None
            else None
        )
        return ResolvedBackend(ref, service, port, cross, not cross or grant is not None, grant)

    def certificates(self, listener: GatewayListener) -> tuple[CertificateGrant, ...]:
        """A certificateRef into another namespace needs a ReferenceGrant there, from the
        Gateway (ListenerTLSConfig.CertificateRefs: "a ReferenceGrant object is required
        in the referent namespace")."""
        owner = listener.owner
        group = GATEWAY_EXPERIMENTAL_GROUP if owner.kind == "XListenerSet" else GATEWAY_GROUP
        return tuple(
            CertificateGrant(
                ref,
                ref.namespace == owner.namespace
                or _grants(
                    self.grants_in.get(ref.namespace, ()),
                    owner.kind,
                    owner.namespace,
                    ref.group,
                    ref.kind,
                    ref.name,
                    from_group=group,
                )
                is not None,
            )
            for ref in listener.listener.certificate_refs
        )


def resolve_routes(snapshot: Snapshot) -> RoutingTable:
    """Every route's attachments and backends, and every listener's routes."""
    resolver = _Resolver(snapshot)
    resolutions: list[RouteResolution] = []
    for route in sorted(snapshot.routes, key=lambda r: (r.namespace, r.kind, r.name)):
        attachments = []
        others = []
        for index, ref in enumerate(route.parent_refs):
            if ref.is_gateway or ref.is_listener_set:
                attachments.append(resolver.attach(route, index, ref))
            else:
                others.append(ref)
        resolutions.append(
            RouteResolution(
                route,
                tuple(attachments),
                tuple(resolver.backend(route, b) for b in route.backend_refs),
                tuple(others),
            )
        )
    listeners: list[GatewayListener] = [
        GatewayListener(gateway, listener)
        for gateway in sorted(snapshot.gateways, key=lambda g: (g.namespace, g.name))
        for listener in gateway.listeners
    ]
    for attached in resolver.listener_sets:
        if attached.accepted and attached.gateway is not None:
            listeners.extend(
                GatewayListener(attached.gateway, listener, attached.listener_set)
                for listener in attached.listener_set.listeners
            )
    routes_of: dict[GatewayListener, list[AttachedRoute]] = {}
    for resolution in resolutions:
        for match in resolution.listener_matches:
            routes_of.setdefault(match.listener, []).append(
                AttachedRoute(resolution, match.hostnames)
            )
    return RoutingTable(
        routes=tuple(resolutions),
        listeners=tuple(
            ListenerRoutes(
                listener,
                tuple(dict.fromkeys(routes_of.get(listener, ()))),
                resolver.certificates(listener),
            )
            for listener in listeners
        ),
        listener_sets=resolver.listener_sets,
    )
