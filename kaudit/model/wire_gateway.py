"""The Gateway API kinds in the wire schema: the fields kaudit reads of them (see
kaudit.model.wire, whose base types they use)."""

from __future__ import annotations

import msgspec

from kaudit.model.wire import LabelSelector, ObjectMeta, WireObject

# --- Gateway API (gateway.networking.k8s.io; one shape for v1, v1beta1, v1alpha2, v1alpha3) ---


class RouteNamespaces(WireObject):
    from_: str | None = msgspec.field(default=None, name="from")
    selector: LabelSelector | None = None


class RouteGroupKind(WireObject):
    group: str | None = None
    kind: str | None = None


class AllowedRoutes(WireObject):
    namespaces: RouteNamespaces | None = None
    kinds: list[RouteGroupKind] | None = None


class SecretObjectReference(WireObject):
    group: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None


class ListenerTLSConfig(WireObject):
    mode: str | None = None
    certificate_refs: list[SecretObjectReference] | None = None


class GatewayListener(WireObject):
    name: str | None = None
    hostname: str | None = None
    port: int | str | None = None
    protocol: str | None = None
    tls: ListenerTLSConfig | None = None
    allowed_routes: AllowedRoutes | None = None


class AllowedListeners(WireObject):
    namespaces: RouteNamespaces | None = None


class GatewayAddress(WireObject):
    type: str | None = None
    value: str | None = None


class GatewaySpec(WireObject):
    gateway_class_name: str | None = None
    listeners: list[GatewayListener] | None = None
    addresses: list[GatewayAddress] | None = None
    allowed_listeners: AllowedListeners | None = None


class GatewayStatus(WireObject):
    addresses: list[GatewayAddress] | None = None


class Gateway(WireObject):
    metadata: ObjectMeta | None = None
    spec: GatewaySpec | None = None
    status: GatewayStatus | None = None


class GatewayClassSpec(WireObject):
    controller_name: str | None = None


class GatewayClass(WireObject):
    metadata: ObjectMeta | None = None
    spec: GatewayClassSpec | None = None


class ParentReference(WireObject):
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    section_name: str | None = None
    port: int | str | None = None


class ListenerSetSpec(WireObject):
    parent_ref: ParentReference | None = None
    listeners: list[GatewayListener] | None = None


class ListenerSet(WireObject):
    """ListenerSet (gateway.networking.k8s.io/v1) and the experimental XListenerSet
    (gateway.networking.x-k8s.io/v1alpha1): one shape."""

    metadata: ObjectMeta | None = None
    spec: ListenerSetSpec | None = None


class BackendRef(WireObject):
    group: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    port: int | str | None = None
    weight: int | None = None


class RequestRedirectFilter(WireObject):
    scheme: str | None = None
    port: int | None = None


class RouteFilter(WireObject):
    type: str | None = None
    request_redirect: RequestRedirectFilter | None = None


class RouteRule(WireObject):
    backend_refs: list[BackendRef] | None = None
    filters: list[RouteFilter] | None = None


class RouteSpec(WireObject):
    """The spec of every route kind (HTTP, GRPC, TLS, TCP, UDP): what kaudit reads is shared."""

    parent_refs: list[ParentReference] | None = None
    hostnames: list[str] | None = None
    rules: list[RouteRule] | None = None


class Condition(WireObject):
    type: str | None = None
    status: str | None = None
    reason: str | None = None
    message: str | None = None


class RouteParentStatus(WireObject):
    parent_ref: ParentReference | None = None
    controller_name: str | None = None
    conditions: list[Condition] | None = None


class RouteStatus(WireObject):
    parents: list[RouteParentStatus] | None = None


class Route(WireObject):
    metadata: ObjectMeta | None = None
    spec: RouteSpec | None = None
    status: RouteStatus | None = None


class ReferenceGrantFrom(WireObject):
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None


class ReferenceGrantTo(WireObject):
    group: str | None = None
    kind: str | None = None
    name: str | None = None


class ReferenceGrantSpec(WireObject):
    from_: list[ReferenceGrantFrom] | None = msgspec.field(default=None, name="from")
    to: list[ReferenceGrantTo] | None = None


class ReferenceGrant(WireObject):
    metadata: ObjectMeta | None = None
    spec: ReferenceGrantSpec | None = None
