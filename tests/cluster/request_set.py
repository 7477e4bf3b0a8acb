"""What kaudit may ask the API server for, checked against the API server's audit log.

The documented request set (README, "What kaudit reads"): get and list only, on
namespaces, pods, services, endpointslices (core/v1 endpoints only on servers
without them), networkpolicies, ingresses, ingressclasses, nodes and kube-system's
daemonsets, the optional API groups' kinds (the Gateway API, the admin network
policies) when served, plus /version, the discovery of discovery.k8s.io/v1 and of the
optional groups; and one
patch of kaudit's own report ConfigMap when that sink is chosen. Never secrets.
"""

from __future__ import annotations

from collections.abc import Iterable

from kaudit.collect.live import OPTIONAL_RESOURCES
from tests.plugins.clusterkit import AuditEvent

LISTED = frozenset(
    {
        ("", "namespaces"),
        ("", "pods"),
        ("", "services"),
        ("discovery.k8s.io", "endpointslices"),
        ("", "endpoints"),  # only on servers without discovery.k8s.io/v1
        ("networking.k8s.io", "networkpolicies"),
        ("networking.k8s.io", "ingresses"),
        ("networking.k8s.io", "ingressclasses"),
        ("", "nodes"),  # for the nodes peers of admin policies
        ("apps", "daemonsets"),  # kube-system's only
    }
)
NON_RESOURCE_PATHS = frozenset({"/version", "/apis/discovery.k8s.io/v1"})
# The optional API groups' kinds, and their discovery: the group list, then the
# resources of their versions.
LISTED_OPTIONAL = frozenset((r.group, r.plural) for r in OPTIONAL_RESOURCES)
OPTIONAL_GROUPS = frozenset(r.group for r in OPTIONAL_RESOURCES)


def is_discovery(path: str) -> bool:
    if path in NON_RESOURCE_PATHS or (path == "/apis" and OPTIONAL_GROUPS):
        return True
    parts = path.split("/")
    return len(parts) == 4 and parts[1] == "apis" and parts[2] in OPTIONAL_GROUPS


def group_resource(event: AuditEvent) -> tuple[str, str]:
    return (event.api_group or "", event.resource or "")


def check_request_set(
    events: Iterable[AuditEvent],
    *,
    namespaces: tuple[str, ...] = (),
    configmap: tuple[str, str] | None = None,
) -> None:
    """Assert the events are within the documented request set.

    `namespaces`: the -n values (namespaced lists stay inside them, except
    kube-system's pods and daemonsets for the CNI). `configmap`: the
    (namespace, name) the ConfigMap sink may patch once.
    """
    events = list(events)
    assert events, "no request was logged"
    assert not [e for e in events if e.resource == "secrets" or "secrets" in e.uri]
    patches = [e for e in events if e.verb == "patch"]
    if configmap is None:
        assert patches == []
    else:
        (patch,) = patches
        assert (patch.resource, patch.namespace, patch.name) == ("configmaps", *configmap)
    for event in events:
        if event.verb == "patch":
            continue
        assert event.verb in ("get", "list"), event
        if event.resource is None:
            assert is_discovery(event.uri.split("?")[0]), event
            continue
        assert group_resource(event) in LISTED | LISTED_OPTIONAL, event
        if event.resource == "daemonsets":
            assert event.namespace == "kube-system", event
        if event.verb == "get":  # a namespace by name, with -n
            assert event.resource == "namespaces", event
            assert event.name in namespaces, event
        elif namespaces and event.resource not in ("namespaces", "ingressclasses", "nodes"):
            allowed = (
                (*namespaces, "kube-system")
                if event.resource in ("pods", "daemonsets")
                else namespaces
            )
            assert event.namespace in allowed, event


def kinds_listed(events: Iterable[AuditEvent]) -> set[str]:
    return {e.resource for e in events if e.verb == "list" and e.resource}


EVERY_KIND = {
    "namespaces",
    "pods",
    "services",
    "endpointslices",
    "networkpolicies",
    "ingresses",
    "ingressclasses",
    "nodes",
    "daemonsets",
}
