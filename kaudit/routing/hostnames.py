"""Gateway API hostname matching: a listener's hostname against a route's hostnames.

From the Gateway API spec (apis/v1, Listener.Hostname and HTTPRouteSpec.Hostnames):

    Hostnames that are prefixed with a wildcard label (`*.`) are interpreted as a
    suffix match. That means that a match for `*.example.com` would match both
    `test.example.com`, and `foo.test.example.com`, but not `example.com`.

    If a hostname is specified by both the Listener and HTTPRoute, there must be at
    least one intersecting hostname for the HTTPRoute to be attached to the Listener.
    [...] If both the Listener and HTTPRoute have specified hostnames, any HTTPRoute
    hostnames that do not match the Listener hostname MUST be ignored.

A listener without a hostname matches every hostname; a route without hostnames
takes the listener's.
"""

from __future__ import annotations

from collections.abc import Iterable

# The effective hostnames of an attachment that restricts nothing: any Host header.
ANY_HOSTNAME: tuple[str, ...] = ()


def hostname_matches(pattern: str, hostname: str) -> bool:
    """Whether `hostname` (itself possibly a wildcard) falls within `pattern`.

    `*.example.com` covers `a.example.com`, `a.b.example.com` and the narrower
    wildcard `*.a.example.com`, but not `example.com`.
    """
    pattern, hostname = pattern.lower(), hostname.lower()
    if pattern == hostname:
        return True
    if not pattern.startswith("*."):
        return False
    suffix = pattern[1:]  # ".example.com"
    return hostname.endswith(suffix) and len(hostname) > len(suffix)


def intersect(listener_hostname: str | None, route_hostname: str) -> str | None:
    """The hostname both accept (the narrower of the two), or None when they are disjoint."""
    if listener_hostname is None:
        return route_hostname
    if hostname_matches(listener_hostname, route_hostname):
        return route_hostname
    if hostname_matches(route_hostname, listener_hostname):
        return listener_hostname
    return None


def effective_hostnames(
    listener_hostname: str | None, route_hostnames: Iterable[str]
) -> tuple[str, ...] | None:
    """The hostnames a route answers on a listener: `ANY_HOSTNAME` (empty) when neither
    restricts them, None when both do and nothing intersects (the route is not accepted)."""
    routes = tuple(route_hostnames)
    if not routes:
        return (listener_hostname,) if listener_hostname else ANY_HOSTNAME
    found = [h for h in (intersect(listener_hostname, r) for r in routes) if h is not None]
    if not found:
        return None
    return tuple(dict.fromkeys(found))


def covers(outer: str | None, inner: str | None) -> bool:
    """Whether a listener for `outer` (None: every hostname) serves every name `inner` does."""
    if outer is None:
        return True
    if inner is None:
        return False
    return hostname_matches(outer, inner)
