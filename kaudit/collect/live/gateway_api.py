"""The Gateway API kinds the live collector reads when the cluster serves them: each
with its group, its versions (most preferred first), its wire type and its model."""

from __future__ import annotations

import functools
from typing import Any

from kaudit.collect.live.discovery import OptionalResource
from kaudit.model import (
    Gateway,
    GatewayClass,
    ListenerSet,
    ReferenceGrant,
    Resource,
    Route,
    wire,
)
from kaudit.model.gateway import GATEWAY_EXPERIMENTAL_GROUP, GATEWAY_GROUP


def _route(kind: Resource, title: str, versions: tuple[str, ...]) -> OptionalResource[Any, Any]:
    """A Gateway API route kind: one wire type for all, the kind kept on the model."""
    return OptionalResource(
        kind,
        GATEWAY_GROUP,
        versions,
        str(kind),
        True,
        title,
        wire.Route,
        functools.partial(Route.from_wire, kind=title.removesuffix("s")),
    )


# Gateway API: v1 since v1.0 (routes v1.1-v1.5); older clusters serve v1beta1, and the
# experimental channel v1alpha2/v1alpha3 (TLS, TCP and UDP routes).
GATEWAY_API_RESOURCES: tuple[OptionalResource[Any, Any], ...] = (
    OptionalResource(
        Resource.GATEWAY_CLASSES,
        GATEWAY_GROUP,
        ("v1", "v1beta1"),
        "gatewayclasses",
        False,
        "GatewayClasses",
        wire.GatewayClass,
        GatewayClass.from_wire,
    ),
    OptionalResource(
        Resource.GATEWAYS,
        GATEWAY_GROUP,
        ("v1", "v1beta1"),
        "gateways",
        True,
        "Gateways",
        wire.Gateway,
        Gateway.from_wire,
    ),
    OptionalResource(
        Resource.LISTENER_SETS,
        GATEWAY_GROUP,
        ("v1",),
        "listenersets",
        True,
        "ListenerSets",
        wire.ListenerSet,
        ListenerSet.from_wire,
    ),
    # The experimental channel's XListenerSet (Gateway API v1.3 and v1.4).
    OptionalResource(
        Resource.X_LISTENER_SETS,
        GATEWAY_EXPERIMENTAL_GROUP,
        ("v1alpha1",),
        "xlistenersets",
        True,
        "XListenerSets",
        wire.ListenerSet,
        functools.partial(ListenerSet.from_wire, kind="XListenerSet"),
    ),
    _route(Resource.HTTP_ROUTES, "HTTPRoutes", ("v1", "v1beta1")),
    _route(Resource.GRPC_ROUTES, "GRPCRoutes", ("v1", "v1alpha2")),
    _route(Resource.TLS_ROUTES, "TLSRoutes", ("v1", "v1alpha3", "v1alpha2")),
    _route(Resource.TCP_ROUTES, "TCPRoutes", ("v1", "v1alpha2")),
    _route(Resource.UDP_ROUTES, "UDPRoutes", ("v1", "v1alpha2")),
    OptionalResource(
        Resource.REFERENCE_GRANTS,
        GATEWAY_GROUP,
        ("v1", "v1beta1", "v1alpha2"),
        "referencegrants",
        True,
        "ReferenceGrants",
        wire.ReferenceGrant,
        ReferenceGrant.from_wire,
    ),
)
