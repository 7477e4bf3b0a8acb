"""The live collector: which lists to read, in which scope, all at once, and the
Snapshot they make (with what kube-system shows of the CNI).

Read-only, and never Secrets: only the fixed list paths in `LISTED_RESOURCES`
(plus kube-system DaemonSets for the CNI) are ever requested.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from kaudit.collect.cni import detect_cni
from kaudit.collect.live.client import (
    DEFAULT_RETRY_BUDGET,
    MAX_WORKERS,
    DeadlineExceeded,
    Forbidden,
    RawClient,
    api_path,
)
from kaudit.collect.live.credentials import connect
from kaudit.collect.live.decoding import ListDecoder
from kaudit.collect.live.discovery import ListedResource, OptionalResource, discover
from kaudit.collect.live.paging import list_all
from kaudit.collect.source import Source
from kaudit.errors import ClusterError, InputError
from kaudit.model import (
    POLICY_API_GROUP,
    AdminPolicy,
    ClusterFacts,
    CollectionWarning,
    EndpointSlice,
    Ingress,
    IngressClass,
    Namespace,
    NetworkPolicy,
    Node,
    Pod,
    Resource,
    Service,
    Snapshot,
    wire,
)

T = TypeVar("T")
W = TypeVar("W")


_NETWORKING = "/apis/networking.k8s.io/v1"
LISTED_RESOURCES: tuple[ListedResource[Any, Any], ...] = (
    ListedResource(
        Resource.NAMESPACES,
        "/api/v1",
        "namespaces",
        False,
        "Namespaces",
        wire.Named,
        Namespace.from_wire,
    ),
    ListedResource(Resource.PODS, "/api/v1", "pods", True, "Pods", wire.Pod, Pod.from_wire),
    ListedResource(
        Resource.SERVICES, "/api/v1", "services", True, "Services", wire.Service, Service.from_wire
    ),
    ListedResource(
        Resource.ENDPOINT_SLICES,
        "/apis/discovery.k8s.io/v1",
        "endpointslices",
        True,
        "EndpointSlices",
        wire.EndpointSlice,
        EndpointSlice.from_wire,
    ),
    ListedResource(
        Resource.NETWORK_POLICIES,
        _NETWORKING,
        "networkpolicies",
        True,
        "NetworkPolicies",
        wire.NetworkPolicy,
        NetworkPolicy.from_wire,
    ),
    ListedResource(
        Resource.INGRESSES,
        _NETWORKING,
        "ingresses",
        True,
        "Ingresses",
        wire.Ingress,
        Ingress.from_wire,
    ),
    ListedResource(
        Resource.INGRESS_CLASSES,
        _NETWORKING,
        "ingressclasses",
        False,
        "IngressClasses",
        wire.IngressClass,
        IngressClass.from_wire,
    ),
    # Nodes: their labels and addresses are what `nodes` peers of admin policies select.
    ListedResource(Resource.NODES, "/api/v1", "nodes", False, "Nodes", wire.Node, Node.from_wire),
)
# Kinds of optional API groups (CRDs), read in the version the server serves, when it
# serves them (kaudit.collect.live.discovery).
OPTIONAL_RESOURCES: tuple[OptionalResource[Any, Any], ...] = (
    # The network-policy-api (policy.networking.k8s.io), cluster-scoped.
    OptionalResource(
        Resource.CLUSTER_NETWORK_POLICIES,
        POLICY_API_GROUP,
        ("v1beta1", "v1alpha2"),
        "clusternetworkpolicies",
        False,
        "ClusterNetworkPolicies",
        wire.AdminPolicy,
        AdminPolicy.cluster_network_policy,
    ),
    OptionalResource(
        Resource.ADMIN_NETWORK_POLICIES,
        POLICY_API_GROUP,
        ("v1alpha1",),
        "adminnetworkpolicies",
        False,
        "AdminNetworkPolicies",
        wire.AdminPolicy,
        AdminPolicy.admin_network_policy,
    ),
    OptionalResource(
        Resource.BASELINE_ADMIN_NETWORK_POLICIES,
        POLICY_API_GROUP,
        ("v1alpha1",),
        "baselineadminnetworkpolicies",
        False,
        "BaselineAdminNetworkPolicies",
        wire.AdminPolicy,
        AdminPolicy.baseline_admin_network_policy,
    ),
)
# The admin policy kinds, in the order the snapshot lists them.
_ADMIN_POLICY_RESOURCES = (
    Resource.CLUSTER_NETWORK_POLICIES,
    Resource.ADMIN_NETWORK_POLICIES,
    Resource.BASELINE_ADMIN_NETWORK_POLICIES,
)
# Servers without discovery.k8s.io/v1 (before 1.21) only have core/v1 Endpoints,
# which is deprecated from 1.33 on: read it only when slices do not exist.
_LEGACY_ENDPOINTS = ListedResource(
    Resource.ENDPOINT_SLICES,
    "/api/v1",
    "endpoints",
    True,
    "Endpoints",
    wire.Endpoints,
    EndpointSlice.from_wire_endpoints,
)
_KUBE_SYSTEM = "kube-system"
# The kube-system DaemonSets are read to recognise the CNI (see kaudit deploy's RBAC).
CNI_DAEMONSETS_PATH = f"/apis/apps/v1/namespaces/{_KUBE_SYSTEM}/daemonsets"

# What each missing kind leaves unchecked, for the warning text.
_CONSEQUENCES: Mapping[Resource, str] = {
    Resource.NAMESPACES: "namespace labels are unknown, so namespaceSelector matches are incomplete",
    Resource.PODS: "reachability and every pod check are incomplete",
    Resource.SERVICES: "Service exposure checks are incomplete",
    Resource.ENDPOINT_SLICES: "endpoint (ready backends) checks are incomplete",
    Resource.NETWORK_POLICIES: "NetworkPolicy isolation and reachability checks are incomplete",
    Resource.INGRESSES: "Ingress exposure checks are incomplete",
    Resource.INGRESS_CLASSES: "Ingress class checks are incomplete",
    Resource.CLUSTER_NETWORK_POLICIES: (
        "ClusterNetworkPolicies are left out of isolation and reachability"
    ),
    Resource.ADMIN_NETWORK_POLICIES: "AdminNetworkPolicies are left out of isolation and reachability",
    Resource.BASELINE_ADMIN_NETWORK_POLICIES: (
        "the BaselineAdminNetworkPolicy is left out of isolation and reachability"
    ),
    Resource.NODES: "nodes peers of admin policies match no node",
}


@dataclass(frozen=True, slots=True)
class _Scope:
    """Which namespaces to read: all (minus `exclude`), or exactly `include`."""

    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def list_calls(self, resource: ListedResource[Any, Any]) -> list[tuple[str, dict[str, str]]]:
        if not resource.namespaced:
            return [(f"{resource.group_path}/{resource.plural}", {})]
        if self.include:
            # Namespaced lists: only what the user asked for crosses the wire, and
            # users with namespace-scoped RBAC can still be audited.
            return [
                (resource.group_path + api_path("namespaces", ns, resource.plural), {})
                for ns in self.include
            ]
        return [
            (f"{resource.group_path}/{resource.plural}", self.field_selector("metadata.namespace"))
        ]

    def field_selector(self, field_name: str) -> dict[str, str]:
        if not self.exclude:
            return {}
        return {"fieldSelector": ",".join(f"{field_name}!={ns}" for ns in self.exclude)}


def _fetch_kind(
    client: RawClient, resource: ListedResource[W, T], scope: _Scope, page_size: int
) -> list[T] | Forbidden:
    try:
        if resource.kind is Resource.NAMESPACES and scope.include:
            return [resource.build(raw) for raw in _get_namespaces(client, resource, scope.include)]
        decoder = resource.decoder
        if resource.kind is Resource.NAMESPACES:
            path, _ = scope.list_calls(resource)[0]
            query = scope.field_selector("metadata.name")
            return list_all(client, path, page_size, query, decoder, resource.build)
        items: list[T] = []
        for path, query in scope.list_calls(resource):
            items.extend(list_all(client, path, page_size, query, decoder, resource.build))
        return items
    except Forbidden as forbidden:
        return forbidden


def _get_namespaces(
    client: RawClient, resource: ListedResource[W, Any], names: Sequence[str]
) -> list[W]:
    found = []
    for name in names:
        path = api_path("api", "v1", "namespaces", name)
        try:
            answer = client.get(path)
            try:
                found.append(wire.from_mapping(answer, resource.item_type))
            except (ValueError, TypeError, InputError) as error:
                raise ClusterError(
                    f"cannot read Namespace {name} from {client.server}: "
                    f"the answer does not match its schema: {_one_line(str(error))}"
                ) from None
        except Forbidden as error:
            if error.status == 404:
                continue  # reported by the caller as a missing namespace
            raise
    return found


def _has_endpoint_slices(client: RawClient) -> bool:
    try:
        client.get("/apis/discovery.k8s.io/v1")
    except Forbidden as error:
        # 404: the group is not served. 403: discovery is hidden from us; assume a
        # current server rather than falling back to the deprecated Endpoints.
        return error.status != 404
    return True


def _server_version(client: RawClient) -> str | None:
    try:
        version = client.get("/version")
    except Forbidden:
        return None
    return str(version.get("gitVersion")) if isinstance(version, dict) else None


@contextlib.contextmanager
def _tuned_for_lists() -> Iterator[None]:
    """Interpreter settings for the few hundred milliseconds of a collection.

    No cyclic garbage collection: decoding creates hundreds of thousands of dicts
    and strings, none in a cycle, and each burst of allocations would trigger the
    collector to scan them all again (decoding runs about three times faster
    without it; reference counting still frees everything as usual).

    A shorter GIL switch interval: the threads waiting on the network get the
    interpreter back sooner from the threads decoding, so the next request leaves
    earlier and the server is kept busy (about 8% faster on 5,000 pods).
    """
    gc_was_enabled = gc.isenabled()
    switch_interval = sys.getswitchinterval()
    gc.disable()
    sys.setswitchinterval(min(switch_interval, 0.0005))
    try:
        yield
    finally:
        sys.setswitchinterval(switch_interval)
        if gc_was_enabled:
            gc.enable()


def collect_live(source: Source, *, retry_budget: float = DEFAULT_RETRY_BUDGET) -> Snapshot:
    """Read a Snapshot from the cluster `source` names (context, kubeconfig or in-cluster).

    `source.namespaces` (when given) and `source.exclude_namespaces` are applied
    at the API server: namespaced list calls, or a field selector. Connection,
    credential and context problems raise `ClusterError` (exit code 3); a kind we
    may not list becomes a `CollectionWarning` naming the kind and what it leaves
    unchecked. 429 and 5xx answers are retried for up to `retry_budget` seconds
    per request. `source.request_timeout` bounds each whole request and
    `source.timeout` the whole collection (DeadlineExceeded, a ClusterError).
    With `source.namespaces`, what an identity limited to them cannot read
    cluster-wide is one informational warning, not a missing kind, unless a
    check needs it.
    """
    excluded = tuple(dict.fromkeys(source.exclude_namespaces))
    include = tuple(ns for ns in dict.fromkeys(source.namespaces) if ns not in excluded)
    if source.namespaces and not include:
        raise InputError("every namespace given with --namespace is also excluded")
    scope = _Scope(include, excluded)
    page_size = source.page_size
    connection = connect(
        source.context, source.kubeconfig, source.in_cluster, source.request_timeout, retry_budget
    )
    client = connection.client
    client.start_deadline(source.timeout)

    # The CNI is recognised by what runs in kube-system, even when it is filtered out.
    want_kube_system_pods = (
        bool(include) and _KUBE_SYSTEM not in include
    ) or _KUBE_SYSTEM in excluded
    resources = list(LISTED_RESOURCES)
    pool = ThreadPoolExecutor(max_workers=MAX_WORKERS + 4, thread_name_prefix="kaudit-list")
    # One page fetcher per list in flight; lists with --namespace run one after the
    # other inside a kind, so this bounds them (threads start on demand).
    pages = ThreadPoolExecutor(max_workers=4 * MAX_WORKERS, thread_name_prefix="kaudit-page")
    client.prefetch = pages

    def fetch(resource: ListedResource[Any, Any]) -> Future[list[Any] | Forbidden]:
        return pool.submit(_fetch_kind, client, resource, scope, page_size)

    try:
        with _tuned_for_lists():
            # Everything starts at once; only the endpoints kind waits for discovery.
            version_probe = pool.submit(_server_version, client)
            slices_probe = pool.submit(_has_endpoint_slices, client)
            optional_probe = pool.submit(discover, client, OPTIONAL_RESOURCES)
            futures: dict[Resource, Future[list[Any] | Forbidden]] = {
                r.kind: fetch(r) for r in resources if r.kind is not Resource.ENDPOINT_SLICES
            }
            daemonsets = pool.submit(_cni_daemonset_names, client, page_size)
            system_pods = (
                pool.submit(_kube_system_pods, client, page_size) if want_kube_system_pods else None
            )
            # An unreachable server or a rejected credential fails every request:
            # report it once, from /version.
            version = _result(version_probe, client)
            if not _result(slices_probe, client):
                resources = [
                    _LEGACY_ENDPOINTS if r.kind is Resource.ENDPOINT_SLICES else r
                    for r in resources
                ]
            endpoints = next(r for r in resources if r.kind is Resource.ENDPOINT_SLICES)
            futures[Resource.ENDPOINT_SLICES] = fetch(endpoints)
            discovered = _result(optional_probe, client)
            resources.extend(discovered.listed)
            futures.update({r.kind: fetch(r) for r in discovered.listed})
            results = {kind: _result(future, client) for kind, future in futures.items()}
            daemonset_names = _result(daemonsets, client)
            extra_system_pods = _result(system_pods, client) if system_pods else None
    finally:
        client.prefetch = None
        # Every result is in (or an error is on its way up): the idle threads end on
        # their own, there is no need to wait for each of them here.
        pool.shutdown(wait=False, cancel_futures=True)
        pages.shutdown(wait=False, cancel_futures=True)

    warnings: list[CollectionWarning] = [
        _missing_kind_warning(resource.at(resource.versions[0]), refusal, scope)
        for resource, refusal in discovered.refused
    ]
    by_kind: dict[Resource, list[Any]] = {r.kind: [] for r in OPTIONAL_RESOURCES}
    unseen: list[str] = []  # cluster-wide objects an identity with namespaced Roles cannot see
    for resource in resources:
        result = results[resource.kind]
        by_kind[resource.kind] = [] if isinstance(result, Forbidden) else result
    admin_policies: list[AdminPolicy] = [p for k in _ADMIN_POLICY_RESOURCES for p in by_kind[k]]
    for resource in resources:
        result = results[resource.kind]
        if not isinstance(result, Forbidden):
            continue
        if resource.kind is Resource.NODES and not _selects_nodes(admin_policies):
            # Nodes are consulted only for the nodes peers of admin policies: none here.
            continue
        if (
            resource.kind is Resource.INGRESS_CLASSES
            and include
            and result.status == 403
            and results[Resource.INGRESSES] == []
        ):
            # IngressClasses are consulted only for Ingresses, and there is none here.
            unseen.append("IngressClasses (no Ingress here needs them)")
            continue
        warnings.append(_missing_kind_warning(resource, result, scope))
    if want_kube_system_pods and extra_system_pods is None and daemonset_names is None:
        unseen.append(f"{_KUBE_SYSTEM}'s DaemonSets and Pods (the CNI is unknown)")
    if include and unseen:
        warnings.append(
            CollectionWarning(
                f"this identity may read only {', '.join(include)}: "
                f"cannot read {' or '.join(unseen)} cluster-wide (forbidden)"
            )
        )

    pods: list[Pod] = by_kind[Resource.PODS]
    slices: list[EndpointSlice] = by_kind[Resource.ENDPOINT_SLICES]
    namespace_objects: dict[str, Namespace] = {ns.name: ns for ns in by_kind[Resource.NAMESPACES]}
    services: list[Service] = by_kind[Resource.SERVICES]
    policies: list[NetworkPolicy] = by_kind[Resource.NETWORK_POLICIES]
    ingresses: list[Ingress] = by_kind[Resource.INGRESSES]
    ingress_classes: list[IngressClass] = by_kind[Resource.INGRESS_CLASSES]
    nodes: list[Node] = by_kind[Resource.NODES]

    for name in include:
        if name not in namespace_objects and Resource.NAMESPACES not in {w.kind for w in warnings}:
            warnings.append(CollectionWarning(f"namespace {name!r} does not exist"))
    # Objects may live in namespaces we could not read (403 on namespaces): keep
    # them addressable, with the one label the API server always sets.
    namespaced: list[Pod | Service | EndpointSlice | NetworkPolicy | Ingress] = [
        *pods,
        *services,
        *slices,
        *policies,
        *ingresses,
    ]
    for obj in namespaced:
        if obj.namespace not in namespace_objects:
            namespace_objects[obj.namespace] = Namespace.implicit(obj.namespace)
    if include:
        for name in include:
            namespace_objects.setdefault(name, Namespace.implicit(name))

    cni, cni_checked = _detect_cni(
        pods if Resource.PODS not in {w.kind for w in warnings} else None,
        extra_system_pods,
        daemonset_names,
    )
    facts = ClusterFacts(
        source="live",
        context=connection.context,
        server=client.server,
        server_version=version,
        cni=cni,
        cni_checked=cni_checked,
    )
    return Snapshot(
        facts=facts,
        namespaces=tuple(sorted(namespace_objects.values(), key=lambda n: n.name)),
        pods=tuple(pods),
        services=tuple(services),
        endpoint_slices=tuple(slices),
        network_policies=tuple(policies),
        ingresses=tuple(ingresses),
        ingress_classes=tuple(ingress_classes),
        admin_policies=tuple(admin_policies),
        nodes=tuple(nodes),
        warnings=tuple(warnings),
    )


def _selects_nodes(policies: Sequence[AdminPolicy]) -> bool:
    return any(peer.nodes is not None for p in policies for r in p.egress for peer in r.peers)


def _result(future: Future[T], client: RawClient) -> T:
    """The future's result, waiting no longer than the collection's deadline.

    Every request stops at the deadline too; this also bounds the time spent
    decoding and anything blocked in between.
    """
    try:
        return future.result(timeout=client.remaining())
    except TimeoutError:
        raise DeadlineExceeded(client.server, client.total_timeout) from None


def _missing_kind_warning(
    resource: ListedResource[Any, Any], error: Forbidden, scope: _Scope
) -> CollectionWarning:
    if error.status == 404 and resource.kind is not Resource.NAMESPACES:
        reason = f"the server does not serve {resource.group_path.removeprefix('/apis/')}"
    else:
        reason = f"forbidden: {error}" if error.status == 403 else str(error)
    where = f" in {', '.join(scope.include)}" if scope.include and resource.namespaced else ""
    return CollectionWarning(
        f"cannot list {resource.title}{where} ({reason}); {_CONSEQUENCES[resource.kind]}",
        kind=resource.kind,
    )


# --- CNI -------------------------------------------------------------------------------


def _cni_daemonset_names(client: RawClient, page_size: int) -> list[str] | None:
    try:
        return list_all(
            client,
            CNI_DAEMONSETS_PATH,
            page_size,
            {},
            ListDecoder(wire.Named, "DaemonSets"),
            _name_of,
        )
    except Forbidden:
        return None


def _name_of(item: wire.Named) -> str:
    return (item.metadata.name if item.metadata else None) or ""


def _kube_system_pods(client: RawClient, page_size: int) -> list[Pod] | None:
    try:
        return list_all(
            client,
            api_path("api", "v1", "namespaces", _KUBE_SYSTEM, "pods"),
            page_size,
            {},
            ListDecoder(wire.Pod, "Pods"),
            Pod.from_wire,
        )
    except Forbidden:
        return None


def _detect_cni(
    pods: list[Pod] | None,
    extra_system_pods: list[Pod] | None,
    daemonset_names: list[str] | None,
) -> tuple[tuple[str, ...], bool]:
    """CNI plugins seen in kube-system (and the CNI's own namespaces), and whether we could look."""
    cni = detect_cni([*(pods or []), *(extra_system_pods or [])], daemonset_names or [])
    checked = pods is not None or extra_system_pods is not None or daemonset_names is not None
    return cni, checked


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
