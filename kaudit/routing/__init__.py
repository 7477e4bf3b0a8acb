"""Gateway API routing: which routes attach to which listeners, and where they send traffic.

Pure functions over a Snapshot, as the Gateway API spec resolves them (see
docs/gateway.md). `resolve_routes(snapshot)` gives a `RoutingTable`:

- per route (`RouteResolution`), one `ParentAttachment` per parentRef to a Gateway or
  ListenerSet (accepted or the spec's reason it is not, the listeners that accept it
  with the effective hostnames, the controller's status when live) and one
  `ResolvedBackend` per backendRef (the Service and its port, and whether a
  ReferenceGrant allows a reference into another namespace);
- per Gateway listener (`ListenerRoutes`, a Gateway's own listeners and those of the
  ListenerSets it accepts), the routes attached with their hostnames, and its
  certificateRefs with whether each is allowed.

Enough for an exposure path: listener protocol, port, hostname and TLS mode -> route
-> Service -> port.
"""

from kaudit.routing.hostnames import (
    ANY_HOSTNAME,
    covers,
    effective_hostnames,
    hostname_matches,
    intersect,
)
from kaudit.routing.resolve import (
    AttachedRoute,
    CertificateGrant,
    GatewayListener,
    ListenerMatch,
    ListenerRoutes,
    ListenerSetAttachment,
    ParentAttachment,
    ResolvedBackend,
    RouteResolution,
    RoutingTable,
    default_route_kinds,
    resolve_routes,
)

__all__ = [
    "ANY_HOSTNAME",
    "AttachedRoute",
    "CertificateGrant",
    "GatewayListener",
    "ListenerMatch",
    "ListenerRoutes",
    "ListenerSetAttachment",
    "ParentAttachment",
    "ResolvedBackend",
    "RouteResolution",
    "RoutingTable",
    "covers",
    "default_route_kinds",
    "effective_hostnames",
    "hostname_matches",
    "intersect",
    "resolve_routes",
]
