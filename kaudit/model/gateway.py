"""The Gateway API (gateway.networking.k8s.io): GatewayClasses, Gateways and their
listeners, ListenerSets, the route kinds (HTTP, GRPC, TLS, TCP, UDP) and ReferenceGrants.

Every served version (v1, v1beta1, v1alpha2, v1alpha3, and the experimental
gateway.networking.x-k8s.io/v1alpha1 XListenerSet) has the same shape in the
fields read here, so one class stands for each kind. Defaults are applied as the
CRDs' schemas apply them (a parentRef's group and kind, a listener's
allowedRoutes `from: Same`, a backendRef's kind `Service`), and what the CRDs
validate is validated (port ranges, required names, enum values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kaudit.model import wire
from kaudit.model.meta import (
    LIVE,
    Labels,
    LabelSelector,
    Meta,
    ObjectRef,
    Origin,
    Raw,
    port_number,
)

GATEWAY_GROUP = "gateway.networking.k8s.io"
# The experimental channel's group (XListenerSet in Gateway API v1.3 and v1.4).
GATEWAY_EXPERIMENTAL_GROUP = "gateway.networking.x-k8s.io"
CORE_GROUP = ""

ROUTE_KINDS = ("HTTPRoute", "GRPCRoute", "TLSRoute", "TCPRoute", "UDPRoute")
LISTENER_SET_KINDS = ("ListenerSet", "XListenerSet")

# allowedRoutes.namespaces.from (All, Selector, Same) and allowedListeners'
# (the same, plus None, its default).
FROM_VALUES = frozenset({"All", "Selector", "Same"})
LISTENER_FROM_VALUES = FROM_VALUES | {"None"}
TLS_MODES = frozenset({"Terminate", "Passthrough"})

# RFC 1123 hostnames, optionally with a leading `*.` wildcard label (the CRD's pattern).
_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _hostname(value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    if len(value) > 253 or not _HOSTNAME.fullmatch(value):
        raise ValueError(f"{field}: {value!r} is not a hostname (a wildcard only as `*.` first)")
    return value


def _required(value: str | None, field: str) -> str:
    if not value:
        raise ValueError(f"{field}: required")
    return value


def _one_of(value: str | None, allowed: frozenset[str], default: str, field: str) -> str:
    if value is None or value == "":
        return default
    if value not in allowed:
        raise ValueError(f"{field}: {value!r} is not one of {', '.join(sorted(allowed))}")
    return value


def _optional_port(value: int | str | None, field: str) -> int | None:
    return None if value is None else port_number(value, field)


@dataclass(frozen=True, slots=True)
class RouteGroupKind:
    group: str
    kind: str


@dataclass(frozen=True, slots=True)
class NamespaceFilter:
    """allowedRoutes.namespaces or allowedListeners.namespaces: `from` and its selector."""

    from_: str  # All, Selector, Same (or None for allowedListeners)
    selector: LabelSelector | None = None

    @classmethod
    def from_wire(
        cls, namespaces: wire.RouteNamespaces | None, default: str, allowed: frozenset[str], at: str
    ) -> NamespaceFilter:
        from_ = _one_of(namespaces.from_ if namespaces else None, allowed, default, f"{at}.from")
        selector = namespaces.selector if namespaces else None
        if from_ == "Selector" and selector is None:
            raise ValueError(f"{at}.selector: required when from is Selector")
        return cls(from_, LabelSelector.from_wire(selector) if selector is not None else None)


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A listener's certificateRef (only its identity: kaudit never reads Secrets)."""

    group: str
    kind: str
    namespace: str
    name: str


@dataclass(frozen=True, slots=True)
class Listener:
    name: str
    port: int
    protocol: str  # HTTP, HTTPS, TLS, TCP, UDP, or an implementation's own
    hostname: str | None = None  # None: every hostname
    tls_mode: str | None = None  # Terminate (the default with tls) or Passthrough
    certificate_refs: tuple[SecretRef, ...] = ()
    allowed_namespaces: NamespaceFilter = NamespaceFilter("Same")
    allowed_kinds: tuple[RouteGroupKind, ...] = ()  # empty: by protocol

    @property
    def terminates_tls(self) -> bool:
        """HTTPS, or TLS in Terminate mode: the Gateway decrypts the traffic."""
        return self.protocol == "HTTPS" or (
            self.protocol == "TLS" and self.tls_mode != "Passthrough"
        )

    @classmethod
    def from_wire(cls, listener: wire.GatewayListener, namespace: str, at: str) -> Listener:
        protocol = _required(listener.protocol, f"{at}.protocol")
        tls = listener.tls
        tls_mode = None
        if tls is not None:
            tls_mode = _one_of(tls.mode, TLS_MODES, "Terminate", f"{at}.tls.mode")
        refs = tuple(
            SecretRef(
                group=ref.group or CORE_GROUP,
                kind=ref.kind or "Secret",
                namespace=ref.namespace or namespace,
                name=_required(ref.name, f"{at}.tls.certificateRefs[{index}].name"),
            )
            for index, ref in enumerate((tls.certificate_refs if tls else None) or ())
        )
        allowed = listener.allowed_routes
        kinds = tuple(
            RouteGroupKind(
                group=GATEWAY_GROUP if k.group is None else k.group,
                kind=_required(k.kind, f"{at}.allowedRoutes.kinds[{index}].kind"),
            )
            for index, k in enumerate((allowed.kinds if allowed else None) or ())
        )
        return cls(
            name=_required(listener.name, f"{at}.name"),
            port=port_number(listener.port if listener.port is not None else 0, f"{at}.port"),
            protocol=protocol,
            hostname=_hostname(listener.hostname, f"{at}.hostname"),
            tls_mode=tls_mode,
            certificate_refs=refs,
            allowed_namespaces=NamespaceFilter.from_wire(
                allowed.namespaces if allowed else None,
                "Same",
                FROM_VALUES,
                f"{at}.allowedRoutes.namespaces",
            ),
            allowed_kinds=kinds,
        )


def _listeners(
    listeners: list[wire.GatewayListener] | None, namespace: str
) -> tuple[Listener, ...]:
    built = tuple(
        Listener.from_wire(item, namespace, f"spec.listeners[{index}]")
        for index, item in enumerate(listeners or ())
    )
    names = [listener.name for listener in built]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"spec.listeners: listener name {name!r} is not unique")
    return built


@dataclass(frozen=True, slots=True)
class Gateway:
    namespace: str
    name: str
    labels: Labels
    gateway_class_name: str
    listeners: tuple[Listener, ...]
    addresses: tuple[str, ...] = ()  # spec.addresses and status.addresses values
    allowed_listeners: NamespaceFilter = NamespaceFilter("None")
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Gateway", self.namespace, self.name)

    @classmethod
    def from_wire(
        cls, gateway: wire.Gateway, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> Gateway:
        meta = Meta.from_wire(gateway.metadata, default_namespace)
        spec = gateway.spec or wire.GatewaySpec()
        status = gateway.status
        addresses = [a.value for a in spec.addresses or () if a.value]
        addresses += [a.value for a in (status.addresses if status else None) or () if a.value]
        allowed = spec.allowed_listeners
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            labels=meta.labels,
            gateway_class_name=_required(spec.gateway_class_name, "spec.gatewayClassName"),
            listeners=_listeners(spec.listeners, meta.namespace),
            addresses=tuple(dict.fromkeys(addresses)),
            allowed_listeners=NamespaceFilter.from_wire(
                allowed.namespaces if allowed else None,
                "None",
                LISTENER_FROM_VALUES,
                "spec.allowedListeners.namespaces",
            ),
            origin=origin,
        )

    @classmethod
    def from_raw(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> Gateway:
        return cls.from_wire(wire.from_mapping(raw, wire.Gateway), origin, default_namespace)


@dataclass(frozen=True, slots=True)
class GatewayClass:
    name: str
    controller_name: str
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("GatewayClass", "", self.name)

    @classmethod
    def from_wire(cls, gateway_class: wire.GatewayClass, origin: Origin = LIVE) -> GatewayClass:
        meta = Meta.from_wire(gateway_class.metadata)
        spec = gateway_class.spec
        return cls(
            name=meta.name,
            controller_name=_required(
                spec.controller_name if spec else None, "spec.controllerName"
            ),
            origin=origin,
        )

    @classmethod
    def from_raw(cls, raw: Raw, origin: Origin = LIVE) -> GatewayClass:
        return cls.from_wire(wire.from_mapping(raw, wire.GatewayClass), origin)


@dataclass(frozen=True, slots=True)
class ParentRef:
    """A route's parentRef (or a ListenerSet's parentRef), with the CRD's defaults applied."""

    group: str
    kind: str
    namespace: str
    name: str
    section_name: str | None = None
    port: int | None = None

    def __str__(self) -> str:
        where = f"{self.kind}/{self.namespace}/{self.name}"
        if self.section_name:
            where += f" section {self.section_name}"
        if self.port is not None:
            where += f" port {self.port}"
        return where

    @property
    def is_gateway(self) -> bool:
        return self.group == GATEWAY_GROUP and self.kind == "Gateway"

    @property
    def is_listener_set(self) -> bool:
        return (self.group, self.kind) in (
            (GATEWAY_GROUP, "ListenerSet"),
            (GATEWAY_EXPERIMENTAL_GROUP, "XListenerSet"),
        )

    @classmethod
    def from_wire(cls, ref: wire.ParentReference, namespace: str, at: str) -> ParentRef:
        return cls(
            group=GATEWAY_GROUP if ref.group is None else ref.group,
            kind=ref.kind or "Gateway",
            namespace=ref.namespace or namespace,
            name=_required(ref.name, f"{at}.name"),
            section_name=ref.section_name or None,
            port=_optional_port(ref.port, f"{at}.port"),
        )


@dataclass(frozen=True, slots=True)
class ListenerSet:
    namespace: str
    name: str
    kind: str  # ListenerSet, or XListenerSet in the experimental group
    parent: ParentRef
    listeners: tuple[Listener, ...]
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.namespace, self.name)

    @classmethod
    def from_wire(
        cls,
        listener_set: wire.ListenerSet,
        origin: Origin = LIVE,
        default_namespace: str = "default",
        kind: str = "ListenerSet",
    ) -> ListenerSet:
        meta = Meta.from_wire(listener_set.metadata, default_namespace)
        spec = listener_set.spec or wire.ListenerSetSpec()
        if spec.parent_ref is None:
            raise ValueError("spec.parentRef: required")
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            kind=kind,
            parent=ParentRef.from_wire(spec.parent_ref, meta.namespace, "spec.parentRef"),
            listeners=_listeners(spec.listeners, meta.namespace),
            origin=origin,
        )

    @classmethod
    def from_raw(
        cls,
        raw: Raw,
        origin: Origin = LIVE,
        default_namespace: str = "default",
        kind: str = "ListenerSet",
    ) -> ListenerSet:
        return cls.from_wire(
            wire.from_mapping(raw, wire.ListenerSet), origin, default_namespace, kind
        )


@dataclass(frozen=True, slots=True)
class BackendRef:
    """A route rule's backendRef. `port` is required for Service backends (the API's
    CEL rule), so it is None only for other kinds."""

    group: str
    kind: str
    namespace: str
    name: str
    port: int | None
    rule: int  # index of the rule in spec.rules
    weight: int = 1

    @property
    def is_service(self) -> bool:
        return self.group == CORE_GROUP and self.kind == "Service"

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.kind}/{self.namespace}/{self.name}{port}"


@dataclass(frozen=True, slots=True)
class RouteFilter:
    type: str
    redirect_scheme: str | None = None
    redirect_port: int | None = None


@dataclass(frozen=True, slots=True)
class RouteRule:
    backend_refs: tuple[BackendRef, ...]
    filters: tuple[RouteFilter, ...] = ()

    @property
    def redirects_to_https(self) -> bool:
        """A RequestRedirect filter with scheme https: the rule answers with a redirect."""
        return any(
            f.type == "RequestRedirect" and (f.redirect_scheme or "").lower() == "https"
            for f in self.filters
        )


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str  # True, False, Unknown
    reason: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class RouteParentStatus:
    """status.parents[]: what a controller says of the route's attachment to one parent."""

    parent: ParentRef
    controller_name: str
    conditions: tuple[Condition, ...]

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)


@dataclass(frozen=True, slots=True)
class Route:
    kind: str  # HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute
    namespace: str
    name: str
    labels: Labels
    parent_refs: tuple[ParentRef, ...]
    hostnames: tuple[str, ...]
    rules: tuple[RouteRule, ...]
    statuses: tuple[RouteParentStatus, ...] = ()
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.namespace, self.name)

    @property
    def backend_refs(self) -> tuple[BackendRef, ...]:
        return tuple(b for rule in self.rules for b in rule.backend_refs)

    @property
    def redirects_to_https(self) -> bool:
        """Every rule redirects to https (an HTTPRoute with at least one rule)."""
        return bool(self.rules) and all(rule.redirects_to_https for rule in self.rules)

    @classmethod
    def from_wire(
        cls,
        route: wire.Route,
        origin: Origin = LIVE,
        default_namespace: str = "default",
        kind: str = "HTTPRoute",
    ) -> Route:
        if kind not in ROUTE_KINDS:
            raise ValueError(f"{kind} is not a route kind")
        meta = Meta.from_wire(route.metadata, default_namespace)
        namespace = meta.namespace
        spec = route.spec or wire.RouteSpec()
        rules = []
        for index, item in enumerate(spec.rules or ()):
            backends = []
            for number, ref in enumerate(item.backend_refs or ()):
                at = f"spec.rules[{index}].backendRefs[{number}]"
                backend = BackendRef(
                    group=CORE_GROUP if ref.group is None else ref.group,
                    kind=ref.kind or "Service",
                    namespace=ref.namespace or namespace,
                    name=_required(ref.name, f"{at}.name"),
                    port=_optional_port(ref.port, f"{at}.port"),
                    rule=index,
                    weight=1 if ref.weight is None else ref.weight,
                )
                if backend.is_service and backend.port is None:
                    # The CRD's rule: "Must have port for Service reference".
                    raise ValueError(f"{at}.port: required for a Service backend")
                backends.append(backend)
            filters = tuple(
                RouteFilter(
                    type=_required(f.type, f"spec.rules[{index}].filters[{number}].type"),
                    redirect_scheme=f.request_redirect.scheme if f.request_redirect else None,
                    redirect_port=_optional_port(
                        f.request_redirect.port if f.request_redirect else None,
                        f"spec.rules[{index}].filters[{number}].requestRedirect.port",
                    ),
                )
                for number, f in enumerate(item.filters or ())
            )
            rules.append(RouteRule(tuple(backends), filters))
        statuses = tuple(
            RouteParentStatus(
                parent=ParentRef.from_wire(
                    p.parent_ref or wire.ParentReference(name="?"),
                    namespace,
                    f"status.parents[{index}].parentRef",
                ),
                controller_name=p.controller_name or "",
                conditions=tuple(
                    Condition(c.type or "", c.status or "Unknown", c.reason or "", c.message or "")
                    for c in p.conditions or ()
                ),
            )
            for index, p in enumerate((route.status.parents if route.status else None) or ())
        )
        return cls(
            kind=kind,
            namespace=namespace,
            name=meta.name,
            labels=meta.labels,
            parent_refs=tuple(
                ParentRef.from_wire(ref, namespace, f"spec.parentRefs[{index}]")
                for index, ref in enumerate(spec.parent_refs or ())
            ),
            hostnames=tuple(
                h
                for index, value in enumerate(spec.hostnames or ())
                if (h := _hostname(value, f"spec.hostnames[{index}]")) is not None
            ),
            rules=tuple(rules),
            statuses=statuses,
            origin=origin,
        )

    @classmethod
    def from_raw(
        cls,
        raw: Raw,
        origin: Origin = LIVE,
        default_namespace: str = "default",
        kind: str = "HTTPRoute",
    ) -> Route:
        return cls.from_wire(wire.from_mapping(raw, wire.Route), origin, default_namespace, kind)


@dataclass(frozen=True, slots=True)
class GrantFrom:
    group: str
    kind: str
    namespace: str


@dataclass(frozen=True, slots=True)
class GrantTo:
    group: str
    kind: str
    name: str | None = None  # None: every object of the kind


@dataclass(frozen=True, slots=True)
class ReferenceGrant:
    """Trust, in its own namespace, for references from `from_` to `to` (entries ORed)."""

    namespace: str
    name: str
    from_: tuple[GrantFrom, ...]
    to: tuple[GrantTo, ...]
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("ReferenceGrant", self.namespace, self.name)

    def allows(
        self,
        from_group: str,
        from_kind: str,
        from_namespace: str,
        to_group: str,
        to_kind: str,
        to_name: str,
    ) -> bool:
        return any(
            f.group == from_group and f.kind == from_kind and f.namespace == from_namespace
            for f in self.from_
        ) and any(
            t.group == to_group and t.kind == to_kind and t.name in (None, to_name) for t in self.to
        )

    @classmethod
    def from_wire(
        cls, grant: wire.ReferenceGrant, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> ReferenceGrant:
        meta = Meta.from_wire(grant.metadata, default_namespace)
        spec = grant.spec or wire.ReferenceGrantSpec()
        from_ = tuple(
            GrantFrom(
                group=f.group or CORE_GROUP,
                kind=_required(f.kind, f"spec.from[{index}].kind"),
                namespace=_required(f.namespace, f"spec.from[{index}].namespace"),
            )
            for index, f in enumerate(spec.from_ or ())
        )
        to = tuple(
            GrantTo(
                group=t.group or CORE_GROUP,
                kind=_required(t.kind, f"spec.to[{index}].kind"),
                name=t.name or None,
            )
            for index, t in enumerate(spec.to or ())
        )
        if not from_ or not to:
            raise ValueError("spec.from and spec.to: at least one entry each")
        return cls(meta.namespace, meta.name, from_, to, origin)

    @classmethod
    def from_raw(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> ReferenceGrant:
        return cls.from_wire(wire.from_mapping(raw, wire.ReferenceGrant), origin, default_namespace)
