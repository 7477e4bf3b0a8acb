"""Gateway API rules: classes, listeners open to plain HTTP or to every namespace,
routes that attach nowhere, and backends that are missing, on the wrong port or in
another namespace without a ReferenceGrant.

Attachment is resolved once, as the spec says, by `kaudit.routing` (`ctx.routing`).
"""

from __future__ import annotations

from collections.abc import Iterator

from kaudit.exposure.inventory import gateway_paths
from kaudit.exposure.severity import closed_in_clear
from kaudit.findings import Severity
from kaudit.jsontypes import JsonObject, JsonValue, json_array
from kaudit.model import Resource, Route
from kaudit.model.gateway import GATEWAY_EXPERIMENTAL_GROUP, GATEWAY_GROUP, RouteParentStatus
from kaudit.routing import (
    AttachedRoute,
    ListenerRoutes,
    ParentAttachment,
    ResolvedBackend,
    RouteResolution,
)
from kaudit.routing.hostnames import covers
from kaudit.routing.resolve import PARENT_NOT_FOUND
from kaudit.rules.common import service_port_mismatch
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, Rule, rule
from kaudit.rules.remediation import https_redirect_route, manifest, reference_grant, to_yaml

GATEWAY_API_DOCS = "https://gateway-api.sigs.k8s.io"
ROUTE_RESOURCES = (
    Resource.HTTP_ROUTES,
    Resource.GRPC_ROUTES,
    Resource.TLS_ROUTES,
    Resource.TCP_ROUTES,
    Resource.UDP_ROUTES,
)
LISTENER_RESOURCES = (Resource.GATEWAYS, Resource.LISTENER_SETS, Resource.X_LISTENER_SETS)
# Conditions of a route's status.parents[] shown as evidence (live).
STATUS_CONDITIONS = ("Accepted", "ResolvedRefs")


def _status(statuses: tuple[RouteParentStatus, ...]) -> list[JsonValue]:
    """What the controllers report of the route (live): per parent, Accepted and ResolvedRefs."""
    return [
        {
            "parent": str(s.parent),
            "controller": s.controller_name,
            "conditions": [
                {"type": c.type, "status": c.status, "reason": c.reason, "message": c.message}
                for c in s.conditions
                if c.type in STATUS_CONDITIONS
            ],
        }
        for s in statuses
    ]


def _outside_input(ctx: AuditContext, namespace: str) -> bool:
    """A namespace the snapshot holds nothing of (not read with -n, or nothing of the
    input is in it): its Gateways, Services and ReferenceGrants are unknown, and their
    absence is no evidence."""
    return namespace not in {n.name for n in ctx.snapshot.namespaces}


def _route_evidence(route: Route) -> JsonObject:
    evidence: JsonObject = {}
    if route.statuses:
        evidence["status"] = _status(route.statuses)
    return evidence


def _status_note(route: Route) -> str:
    """The controllers' own word, when the route carries status (live)."""
    notes = []
    for status in route.statuses:
        for condition in status.conditions:
            if condition.type in STATUS_CONDITIONS and condition.status != "True":
                notes.append(f"{condition.type}={condition.status} ({condition.reason})")
    return f" The controller reports {', '.join(dict.fromkeys(notes))}." if notes else ""


# --- KA311 ---------------------------------------------------------------------------------


@rule(
    id="KA311",
    name="gateway-unknown-class",
    title="Gateway names a GatewayClass that does not exist",
    severity=Severity.HIGH,
    category="ingress",
    rationale="""
        A Gateway is programmed by the controller of its GatewayClass. A Gateway whose
        gatewayClassName names no GatewayClass is served by nothing: its listeners
        answer nowhere and every route attached to it is dead, without an error
        anywhere but the Gateway's own status.
    """,
    remediation="""
        Set spec.gatewayClassName to an existing GatewayClass (`kubectl get
        gatewayclass`), or install the Gateway controller the class belongs to.
    """,
    references=(
        f"{GATEWAY_API_DOCS}/api-types/gatewayclass/",
        f"{GATEWAY_API_DOCS}/api-types/gateway/",
    ),
    needs=(Resource.GATEWAYS, Resource.GATEWAY_CLASSES),
)
def gateway_unknown_class(ctx: AuditContext) -> Iterator[Hit]:
    classes = ctx.snapshot.gateway_classes
    if ctx.snapshot.facts.source != "live" and not classes:
        return  # manifests without classes: the classes live in the cluster, not the input
    known = sorted(c.name for c in classes)
    for gateway in ctx.snapshot.gateways:
        wanted = gateway.gateway_class_name
        if wanted in known:
            continue
        close = [k for k in known if k.lower() == wanted.lower()]
        hint = f" (did you mean {close[0]}? class names are case-sensitive)" if close else ""
        yield Hit(
            gateway.ref,
            f"Gateway {gateway.namespace}/{gateway.name} asks for GatewayClass {wanted!r}, "
            f"which does not exist{hint}; no controller programs it. Known classes: "
            f"{', '.join(known) or 'none'}.",
            {"gatewayClassName": wanted, "gatewayClasses": json_array(known)},
            remediation="Name an existing class:\n\n"
            + to_yaml(
                manifest(
                    "Gateway",
                    gateway.name,
                    gateway.namespace,
                    {"gatewayClassName": close[0] if close else (known[0] if known else "CLASS")},
                )
            ),
            origin=gateway.origin,
        )


# --- KA312 ---------------------------------------------------------------------------------


def _uncovered(ctx: AuditContext, plain: ListenerRoutes, serving: list[AttachedRoute]) -> bool:
    """Whether a hostname the routes answer on the HTTP listener has no listener of the
    same Gateway that terminates TLS for it (None: every hostname)."""
    tls = [
        other.listener.listener.hostname
        for other in ctx.routing.listeners_of(plain.listener.gateway.ref)
        if other.listener.listener.terminates_tls
    ]
    wanted: set[str | None] = set()
    for attached in serving:
        wanted.update(attached.hostnames or (plain.listener.listener.hostname,))
    return any(not any(covers(outer, name) for outer in tls) for name in wanted)


@rule(
    id="KA312",
    name="gateway-listener-plain-http",
    title="Gateway listener serves routes over plain HTTP",
    severity=Severity.MEDIUM,
    category="ingress",
    rationale="""
        An HTTP listener with routes attached serves them in clear text: credentials,
        cookies and data cross the network readable and alterable on the way. With
        neither an HTTPS listener for the same hostnames nor a redirect to HTTPS, plain
        HTTP is the only way in. Low when the exposure inventory finds that no workload
        receives it today (its routes lead nowhere, or the pods' policies deny them).
    """,
    remediation="""
        Add an HTTPS listener for the hostnames (tls.mode Terminate with a certificate
        Secret; cert-manager can issue it), attach the routes there, and leave on the
        HTTP listener only an HTTPRoute that redirects to https (a RequestRedirect
        filter with scheme https).
    """,
    references=(
        f"{GATEWAY_API_DOCS}/guides/tls/",
        f"{GATEWAY_API_DOCS}/guides/http-redirect-rewrite/",
    ),
    needs=(*LISTENER_RESOURCES, *ROUTE_RESOURCES, Resource.NAMESPACES),
)
def gateway_listener_plain_http(ctx: AuditContext) -> Iterator[Hit]:
    for entry in ctx.routing.listeners:
        listener = entry.listener.listener
        if listener.protocol != "HTTP" or not entry.routes:
            continue
        serving = [a for a in entry.routes if not a.route.redirects_to_https]
        if not serving:
            continue  # every route attached here redirects to https
        if not _uncovered(ctx, entry, serving):
            continue  # an HTTPS listener serves the same hostnames
        gateway = entry.listener.gateway
        owner = entry.listener.owner
        hostnames = sorted({h for a in serving for h in a.hostnames})
        where = ", ".join(hostnames) if hostnames else "every hostname"
        # Latent, not live, when the exposure inventory finds no workload receiving it.
        closed = closed_in_clear(gateway_paths(ctx), gateway.ref, listener.port)
        evidence: JsonObject = {
            "listener": listener.name,
            "port": listener.port,
            "hostname": listener.hostname,
            "routes": [
                {"route": str(a.route.ref), "hostnames": json_array(a.hostnames)} for a in serving
            ],
            "addresses": json_array(gateway.addresses),
        }
        reach_note = ""
        if closed:
            reach_note = f" No workload receives it today: {closed}."
            evidence["reachesNoWorkload"] = closed
        yield Hit(
            owner,
            f"{owner.kind} {owner.qualified_name} listener {listener.name} (HTTP, port "
            f"{listener.port}) serves {len(serving)} route{'s' if len(serving) > 1 else ''} "
            f"({', '.join(str(a.route.ref) for a in serving)}) over plain HTTP for {where}, "
            f"with no HTTPS listener for {listener.hostname or 'every hostname'} and no "
            f"redirect to https.{reach_note}",
            evidence,
            severity=Severity.LOW if closed else None,
            remediation="Serve the hostnames over HTTPS and redirect plain HTTP there:\n\n"
            + to_yaml(
                manifest(
                    owner.kind,
                    owner.name,
                    owner.namespace,
                    {
                        "listeners": [
                            {
                                "name": "https",
                                "port": 443,
                                "protocol": "HTTPS",
                                **({"hostname": listener.hostname} if listener.hostname else {}),
                                "tls": {
                                    "mode": "Terminate",
                                    "certificateRefs": [{"name": f"{gateway.name}-tls"}],
                                },
                            }
                        ]
                    },
                ),
                https_redirect_route(
                    f"{gateway.name}-https-redirect",
                    owner.namespace,
                    gateway.name,
                    gateway.namespace,
                    listener.name,
                    [listener.hostname] if listener.hostname else [],
                ),
            ),
            origin=entry.listener.listener_set.origin
            if entry.listener.listener_set
            else gateway.origin,
        )


# --- KA313 ---------------------------------------------------------------------------------


@rule(
    id="KA313",
    name="gateway-allows-routes-from-all-namespaces",
    title="Gateway listener accepts routes from every namespace",
    severity=Severity.MEDIUM,
    category="ingress",
    rationale="""
        With allowedRoutes.namespaces.from: All, anyone who may create an HTTPRoute in
        any namespace can attach it to the listener and claim its hostnames and paths:
        publish a service to the outside, or take traffic meant for another team. The
        Gateway API's own default (Same) keeps routes in the Gateway's namespace;
        Selector admits only the namespaces the cluster operator labels.
    """,
    remediation="""
        Set allowedRoutes.namespaces.from to Same, or to Selector with a namespace label
        only the operators may set (kubernetes.io/metadata.name cannot be forged).
    """,
    references=(
        f"{GATEWAY_API_DOCS}/guides/multiple-ns/",
        f"{GATEWAY_API_DOCS}/concepts/security-model/",
    ),
    needs=(*LISTENER_RESOURCES, *ROUTE_RESOURCES, Resource.NAMESPACES),
)
def gateway_allows_routes_from_all_namespaces(ctx: AuditContext) -> Iterator[Hit]:
    by_owner: dict[str, list[ListenerRoutes]] = {}
    for entry in ctx.routing.listeners:
        if entry.listener.listener.allowed_namespaces.from_ == "All":
            by_owner.setdefault(str(entry.listener.owner), []).append(entry)
    for entries in by_owner.values():
        owner = entries[0].listener.owner
        names = [e.listener.listener.name for e in entries]
        foreign = sorted(
            {
                str(a.route.ref)
                for e in entries
                for a in e.routes
                if a.route.namespace != e.listener.namespace
            }
        )
        attached = (
            f" Routes from other namespaces attached now: {', '.join(foreign)}." if foreign else ""
        )
        yield Hit(
            owner,
            f"{owner.kind} {owner.qualified_name} accepts routes from every namespace on "
            f"listener{'s' if len(names) > 1 else ''} {', '.join(names)}: any namespace can "
            f"attach a route and take over its hostnames.{attached}",
            {"listeners": json_array(names), "routesFromOtherNamespaces": json_array(foreign)},
            remediation="Admit routes from the Gateway's namespace only (or a labelled set):\n\n"
            + to_yaml(
                manifest(
                    owner.kind,
                    owner.name,
                    owner.namespace,
                    {
                        "listeners": [
                            {"name": name, "allowedRoutes": {"namespaces": {"from": "Same"}}}
                            for name in names
                        ]
                    },
                )
            ),
            origin=entries[0].listener.listener_set.origin
            if entries[0].listener.listener_set
            else entries[0].listener.gateway.origin,
        )


# --- KA314 ---------------------------------------------------------------------------------


def _attachment_evidence(attachment: ParentAttachment) -> JsonObject:
    return {
        "parentRef": str(attachment.parent_ref),
        "reason": attachment.reason,
        "detail": attachment.detail,
    }


@rule(
    id="KA314",
    name="route-parent-not-found",
    title="Route is not attached to a Gateway it names",
    severity=Severity.HIGH,
    category="ingress",
    rationale="""
        A route serves traffic only through the listeners that accept it. A parentRef
        to a Gateway or ListenerSet that does not exist, to a listener (sectionName or
        port) it does not have, or to listeners whose allowedRoutes do not admit the
        route's namespace or kind, or whose hostname matches none of the route's, leaves
        the route detached from that parent: its traffic goes nowhere.
    """,
    remediation="""
        Point the parentRef at an existing Gateway and listener (check sectionName and
        port), and make sure that listener's allowedRoutes admit the route's namespace
        and kind and its hostname intersects the route's hostnames.
    """,
    references=(
        f"{GATEWAY_API_DOCS}/api-types/httproute/#attaching-to-gateways",
        f"{GATEWAY_API_DOCS}/guides/multiple-ns/",
    ),
    needs=(*LISTENER_RESOURCES, *ROUTE_RESOURCES, Resource.NAMESPACES),
)
def route_parent_not_found(ctx: AuditContext) -> Iterator[Hit]:
    for resolution in ctx.routing.routes:
        failed = [
            a
            for a in resolution.attachments
            if not a.accepted
            and not (a.reason == PARENT_NOT_FOUND and _outside_input(ctx, a.parent_ref.namespace))
        ]
        if not failed:
            continue
        route = resolution.route
        attached_elsewhere = resolution.accepted
        consequence = (
            "the route is not attached there (it is through its other parents)"
            if attached_elsewhere
            else "the route is attached nowhere and serves no traffic"
        )
        yield Hit(
            route.ref,
            f"{route.kind} {route.namespace}/{route.name}: "
            + "; ".join(f"parentRef {a.parent_ref}: {a.detail}" for a in failed)
            + f"; {consequence}.{_status_note(route)}",
            {"parents": [_attachment_evidence(a) for a in failed], **_route_evidence(route)},
            severity=Severity.MEDIUM if attached_elsewhere else None,
            origin=route.origin,
        )


# --- KA315 ---------------------------------------------------------------------------------


def _backend_evidence(backend: ResolvedBackend) -> JsonObject:
    return {
        "rule": backend.ref.rule,
        "backendRef": str(backend.ref),
        "service": f"{backend.ref.namespace}/{backend.ref.name}",
        "port": backend.ref.port,
    }


@rule(
    id="KA315",
    name="route-backend-missing-service",
    title="Route backend names a Service that does not exist",
    severity=Severity.HIGH,
    category="ingress",
    rationale="""
        A backendRef to a missing Service cannot be resolved (ResolvedRefs False,
        BackendNotFound): the requests it should take are answered with errors (HTTP
        500 for HTTPRoute) or dropped.
    """,
    remediation="""
        Fix the Service name (and namespace) in the backendRef, or create the Service.
    """,
    references=(f"{GATEWAY_API_DOCS}/api-types/httproute/#backendrefs-optional",),
    needs=(*ROUTE_RESOURCES, Resource.SERVICES),
)
def route_backend_missing_service(ctx: AuditContext) -> Iterator[Hit]:
    for resolution in ctx.routing.routes:
        missing = [
            b
            for b in resolution.backends
            if b.missing_service and not _outside_input(ctx, b.ref.namespace)
        ]
        if not missing:
            continue
        route = resolution.route
        names = sorted({f"{b.ref.namespace}/{b.ref.name}" for b in missing})
        yield Hit(
            route.ref,
            f"{route.kind} {route.namespace}/{route.name} sends traffic to Service"
            f"{'s' if len(names) > 1 else ''} {', '.join(names)}, which "
            f"{'do' if len(names) > 1 else 'does'} not exist; those requests fail."
            + _status_note(route),
            {"backends": [_backend_evidence(b) for b in missing], **_route_evidence(route)},
            origin=route.origin,
        )


# --- KA316 ---------------------------------------------------------------------------------


@rule(
    id="KA316",
    name="route-backend-port-mismatch",
    title="Route backend port is not a port of its Service",
    severity=Severity.HIGH,
    category="ingress",
    rationale="""
        A Service backendRef's port is the Service's port ("the port number is the
        service port number, not the target port"). A port the Service does not have
        leaves the backend unresolved and its requests failing; naming the targetPort
        or the container's port is the usual mistake.
    """,
    remediation="""
        Set the backendRef's port to one of the Service's spec.ports[].port.
    """,
    references=(f"{GATEWAY_API_DOCS}/api-types/httproute/#backendrefs-optional",),
    needs=(*ROUTE_RESOURCES, Resource.SERVICES),
)
def route_backend_port_mismatch(ctx: AuditContext) -> Iterator[Hit]:
    for resolution in ctx.routing.routes:
        problems: list[tuple[ResolvedBackend, str]] = []
        for backend in resolution.backends:
            if not backend.port_mismatch or backend.service is None:
                continue
            why = service_port_mismatch(ctx, backend.service, backend.ref.port, None)
            if why:
                problems.append((backend, why))
        if not problems:
            continue
        route = resolution.route
        yield Hit(
            route.ref,
            f"{route.kind} {route.namespace}/{route.name} sends traffic to a port its Service "
            f"does not have: "
            + "; ".join(f"rule {b.ref.rule}, {b.ref}: {why}" for b, why in problems)
            + "."
            + _status_note(route),
            {
                "backends": [
                    {
                        **_backend_evidence(b),
                        "servicePorts": [
                            {"port": p.port, "name": p.name, "targetPort": p.effective_target}
                            for p in (b.service.ports if b.service else ())
                        ],
                        "reason": why,
                    }
                    for b, why in problems
                ],
                **_route_evidence(route),
            },
            remediation="Point each backendRef at a port of its Service:\n"
            + "\n".join(
                f"- rule {b.ref.rule}, {b.ref}: Service {b.ref.name} has port "
                + (
                    ", ".join(
                        f"{p.port}" + (f" (name {p.name})" if p.name else "")
                        for p in (b.service.ports if b.service else ())
                    )
                    or "none"
                )
                for b, _ in problems
            ),
            origin=route.origin,
        )


# --- KA317 ---------------------------------------------------------------------------------


def _grant_fix(resolution: RouteResolution, backends: list[ResolvedBackend]) -> str:
    route = resolution.route
    grants = [
        reference_grant(
            b.ref.namespace,
            f"allow-{route.namespace}-{route.kind.lower()}s",
            GATEWAY_GROUP,
            route.kind,
            route.namespace,
            b.ref.kind,
            b.ref.name,
            b.ref.group,
        )
        for b in backends
    ]
    return (
        "If the target namespace's owners accept the reference, let them say so with a "
        "ReferenceGrant there (or move the route or the Service):\n\n" + to_yaml(*grants)
    )


@rule(
    id="KA317",
    name="route-cross-namespace-without-referencegrant",
    title="Reference into another namespace without a ReferenceGrant",
    severity=Severity.HIGH,
    category="ingress",
    rationale="""
        A backendRef to a Service in another namespace (or a Gateway's certificateRef to
        a Secret in another namespace) is valid only when a ReferenceGrant in that
        namespace allows it: that namespace's owners must accept the reference.
        Without one the reference is refused (ResolvedRefs False, RefNotPermitted) and
        its requests fail; an implementation that honoured it anyway would let any
        namespace expose any other namespace's Services.
    """,
    remediation="""
        Create a ReferenceGrant in the target namespace allowing the route kind from the
        route's namespace to the Service (name it, rather than every Service), or move
        the route next to the Service.
    """,
    references=(
        f"{GATEWAY_API_DOCS}/api-types/referencegrant/",
        f"{GATEWAY_API_DOCS}/concepts/security-model/",
    ),
    needs=(*LISTENER_RESOURCES, *ROUTE_RESOURCES, Resource.REFERENCE_GRANTS),
)
def route_cross_namespace_without_referencegrant(ctx: AuditContext) -> Iterator[Hit]:
    for resolution in ctx.routing.routes:
        refused = [
            b
            for b in resolution.backends
            if not b.granted and not _outside_input(ctx, b.ref.namespace)
        ]
        if not refused:
            continue
        route = resolution.route
        targets = sorted({f"{b.ref.kind}/{b.ref.namespace}/{b.ref.name}" for b in refused})
        yield Hit(
            route.ref,
            f"{route.kind} {route.namespace}/{route.name} refers to {', '.join(targets)} in "
            f"another namespace, and no ReferenceGrant there allows it: the reference is "
            f"refused and its requests fail." + _status_note(route),
            {"backends": [_backend_evidence(b) for b in refused], **_route_evidence(route)},
            remediation=_grant_fix(resolution, refused),
            origin=route.origin,
        )
    for entry in ctx.routing.listeners:
        denied = [
            c.ref
            for c in entry.certificates
            if not c.granted and not _outside_input(ctx, c.ref.namespace)
        ]
        if not denied:
            continue
        owner = entry.listener.owner
        yield Hit(
            owner,
            f"{owner.kind} {owner.qualified_name} listener {entry.listener.listener.name} uses "
            f"certificate "
            + ", ".join(f"{r.kind}/{r.namespace}/{r.name}" for r in denied)
            + " from another namespace, and no ReferenceGrant there allows it: the listener "
            "has no valid certificate.",
            {
                "listener": entry.listener.listener.name,
                "certificateRefs": [f"{r.kind}/{r.namespace}/{r.name}" for r in denied],
            },
            remediation="Let the Secret's namespace accept the reference:\n\n"
            + to_yaml(
                *(
                    reference_grant(
                        r.namespace,
                        f"allow-{owner.namespace}-gateways",
                        GATEWAY_EXPERIMENTAL_GROUP
                        if owner.kind == "XListenerSet"
                        else GATEWAY_GROUP,
                        owner.kind,
                        owner.namespace,
                        r.kind,
                        r.name,
                        r.group,
                    )
                    for r in denied
                )
            ),
            origin=entry.listener.listener_set.origin
            if entry.listener.listener_set
            else entry.listener.gateway.origin,
        )


RULES: tuple[Rule, ...] = (
    gateway_unknown_class,
    gateway_listener_plain_http,
    gateway_allows_routes_from_all_namespaces,
    route_parent_not_found,
    route_backend_missing_service,
    route_backend_port_mismatch,
    route_cross_namespace_without_referencegrant,
)
