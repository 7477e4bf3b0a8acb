"""The live source: list the audited kinds from a running cluster's API server.

The official `kubernetes` client resolves the kubeconfig (contexts, exec and
OIDC credential plugins, client certificates, proxies) or the in-cluster service
account, and supplies a configured urllib3 pool. The lists themselves are issued
as raw GETs and parsed from JSON straight into the model: the client's generated
model classes are several times slower on big lists, and raw lists keep the
input identical to what `kubectl get -o json` shows.

Read-only, and never Secrets: only the fixed list paths in `_RESOURCES` (plus
kube-system DaemonSets for the CNI) are ever requested.
"""

from __future__ import annotations

import importlib
import json
import random
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kaudit.collect import Source
from kaudit.collect.cni import detect_cni
from kaudit.errors import ClusterError, InputError
from kaudit.model import (
    ClusterFacts,
    CollectionWarning,
    EndpointSlice,
    Ingress,
    IngressClass,
    Kind,
    Namespace,
    NetworkPolicy,
    Pod,
    Service,
    Snapshot,
)

DEFAULT_RETRY_BUDGET = 30.0  # seconds, per request, spent retrying 429/5xx
MAX_WORKERS = 8

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Resource:
    kind: Kind
    group_path: str  # /api/v1 or /apis/<group>/<version>
    plural: str
    namespaced: bool
    title: str  # for messages: "NetworkPolicies"


_RESOURCES: tuple[_Resource, ...] = (
    _Resource(Kind.NAMESPACES, "/api/v1", "namespaces", False, "Namespaces"),
    _Resource(Kind.PODS, "/api/v1", "pods", True, "Pods"),
    _Resource(Kind.SERVICES, "/api/v1", "services", True, "Services"),
    _Resource(
        Kind.ENDPOINT_SLICES, "/apis/discovery.k8s.io/v1", "endpointslices", True, "EndpointSlices"
    ),
    _Resource(
        Kind.NETWORK_POLICIES,
        "/apis/networking.k8s.io/v1",
        "networkpolicies",
        True,
        "NetworkPolicies",
    ),
    _Resource(Kind.INGRESSES, "/apis/networking.k8s.io/v1", "ingresses", True, "Ingresses"),
    _Resource(
        Kind.INGRESS_CLASSES,
        "/apis/networking.k8s.io/v1",
        "ingressclasses",
        False,
        "IngressClasses",
    ),
)
# Servers without discovery.k8s.io/v1 (before 1.21) only have core/v1 Endpoints,
# which is deprecated from 1.33 on: read it only when slices do not exist.
_LEGACY_ENDPOINTS = _Resource(Kind.ENDPOINT_SLICES, "/api/v1", "endpoints", True, "Endpoints")
_KUBE_SYSTEM = "kube-system"

# What each missing kind leaves unchecked, for the warning text.
_CONSEQUENCES: Mapping[Kind, str] = {
    Kind.NAMESPACES: "namespace labels are unknown, so namespaceSelector matches are incomplete",
    Kind.PODS: "reachability and every pod check are incomplete",
    Kind.SERVICES: "Service exposure checks are incomplete",
    Kind.ENDPOINT_SLICES: "endpoint (ready backends) checks are incomplete",
    Kind.NETWORK_POLICIES: "NetworkPolicy isolation and reachability checks are incomplete",
    Kind.INGRESSES: "Ingress exposure checks are incomplete",
    Kind.INGRESS_CLASSES: "Ingress class checks are incomplete",
}

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class _Forbidden(Exception):
    """403 (or 404 for a missing API) on one kind: recorded as a warning, not fatal."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _Expired(Exception):
    """410 Gone: the continue token outlived etcd's compaction; the list restarts."""


@dataclass
class _Client:
    """Raw JSON GETs through the kubernetes client's configured urllib3 pool."""

    configuration: Any  # kubernetes.client.Configuration
    pool: Any  # urllib3.PoolManager (or ProxyManager) with the kubeconfig's TLS settings
    timeout: float
    retry_budget: float
    requests_made: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def server(self) -> str:
        return str(self.configuration.host)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "kaudit"}
        # auth_settings() runs the refresh hook of exec/OIDC credentials when set.
        for setting in self.configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                headers[setting["key"]] = setting["value"]
        return headers

    def get(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        """GET `path` and return the decoded JSON, retrying 429/5xx within the budget."""
        if "/secrets" in path:  # a promise to users: kaudit never reads Secrets
            raise AssertionError(f"refusing to read Secrets: {path}")
        import urllib3

        url = self.server.rstrip("/") + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        deadline = time.monotonic() + self.retry_budget
        attempt = 0
        while True:
            attempt += 1
            with self._lock:
                self.requests_made += 1
            try:
                response = self.pool.request(
                    "GET",
                    url,
                    headers=self._headers(),
                    timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout),
                    retries=False,
                    preload_content=True,
                )
            except urllib3.exceptions.HTTPError as error:
                retryable = isinstance(
                    error, urllib3.exceptions.ProtocolError | urllib3.exceptions.ReadTimeoutError
                )
                if retryable and self._sleep_before_retry(attempt, deadline, None):
                    continue
                raise ClusterError(self._describe_connection_error(error)) from None
            status = int(response.status)
            if 200 <= status < 300:
                try:
                    return json.loads(response.data)
                except ValueError:
                    raise ClusterError(
                        f"{self.server}{path} did not answer with JSON (is this a Kubernetes API server?)"
                    ) from None
            if status in _RETRY_STATUSES and self._sleep_before_retry(
                attempt, deadline, response.headers.get("Retry-After")
            ):
                continue
            self._raise_for_status(status, path, response.data)

    def _sleep_before_retry(self, attempt: int, deadline: float, retry_after: str | None) -> bool:
        """Exponential backoff with jitter (or the server's Retry-After), inside the budget."""
        delay = min(5.0, 0.2 * 2 ** (attempt - 1)) * random.uniform(0.8, 1.2)
        if retry_after and retry_after.isdigit():
            delay = min(float(retry_after), 10.0)
        if time.monotonic() + delay > deadline:
            return False
        time.sleep(delay)
        return True

    def _raise_for_status(self, status: int, path: str, body: bytes) -> None:
        message = _status_message(body)
        if status == 401:
            raise ClusterError(
                f"{self.server} rejected the credentials (401 Unauthorized): "
                "the token or certificate is invalid or expired"
            )
        if status in (403, 404):
            raise _Forbidden(status, message or ("forbidden" if status == 403 else "not found"))
        if status == 410:
            raise _Expired(message)
        raise ClusterError(f"{self.server}{path}: HTTP {status}: {message or 'no details'}")

    def _describe_connection_error(self, error: Exception) -> str:
        import urllib3

        reason = str(getattr(error, "reason", None) or error)
        if isinstance(error, urllib3.exceptions.SSLError):
            return f"TLS handshake with {self.server} failed: {reason}"
        if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
            return f"cannot reach {self.server}: no answer within {self.timeout:g}s"
        if isinstance(error, urllib3.exceptions.ReadTimeoutError):
            return f"{self.server} did not answer within {self.timeout:g}s (--request-timeout)"
        if isinstance(error, urllib3.exceptions.NewConnectionError):
            cause = reason.split(": ", 1)[-1] if ": " in reason else reason
            return f"cannot reach {self.server}: {cause}"
        return f"cannot reach {self.server}: {reason}"


def _status_message(body: bytes) -> str:
    """The `message` of a metav1.Status body, or the start of a non-JSON body."""
    try:
        decoded = json.loads(body)
    except ValueError:
        return body[:200].decode(errors="replace").strip()
    if isinstance(decoded, dict):
        return str(decoded.get("message") or "")
    return ""


# --- configuration ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Connection:
    client: _Client
    context: str | None


def _connect(
    context: str | None,
    kubeconfig: str | None,
    in_cluster: bool,
    timeout: float,
    retry_budget: float,
) -> _Connection:
    try:
        # Typed as Any: the client's own annotations are partial.
        k8s_client: Any = importlib.import_module("kubernetes.client")
        k8s_config: Any = importlib.import_module("kubernetes.config")
        ConfigException: type[Exception] = k8s_config.config_exception.ConfigException
    except ImportError as error:  # pragma: no cover - a declared dependency
        raise ClusterError(
            f"the `kubernetes` package is required for live audits: {error}"
        ) from None

    configuration = k8s_client.Configuration()
    used_context: str | None = None
    try:
        if in_cluster:
            k8s_config.load_incluster_config(client_configuration=configuration)
            used_context = "in-cluster"
        else:
            used_context = _resolve_context(k8s_config, context, kubeconfig)
            k8s_config.load_kube_config(
                config_file=kubeconfig,
                context=used_context,
                client_configuration=configuration,
                persist_config=False,
            )
    except ConfigException as error:
        where = "in-cluster service account" if in_cluster else (kubeconfig or "kubeconfig")
        raise ClusterError(f"cannot load {where}: {_one_line(str(error))}") from None
    except OSError as error:  # unreadable kubeconfig or certificate file
        raise ClusterError(
            f"cannot read {error.filename or kubeconfig}: {error.strerror}"
        ) from None
    except Exception as error:  # exec plugins and token providers raise their own types
        raise ClusterError(f"cannot load credentials: {_one_line(str(error))}") from None

    if not configuration.verify_ssl:
        # The user chose insecure-skip-tls-verify; one warning per request is noise.
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    configuration.connection_pool_maxsize = MAX_WORKERS
    pool = k8s_client.ApiClient(configuration).rest_client.pool_manager
    return _Connection(_Client(configuration, pool, timeout, retry_budget), used_context)


def _resolve_context(k8s_config: Any, context: str | None, kubeconfig: str | None) -> str | None:
    """Validate the context up front, to name the available ones in the error."""
    contexts, active = k8s_config.list_kube_config_contexts(config_file=kubeconfig)
    names = [str(c.get("name")) for c in contexts or []]
    if context is None:
        return str(active["name"]) if active else None
    if context not in names:
        available = ", ".join(names) if names else "none"
        raise ClusterError(
            f"context {context!r} not found in {kubeconfig or 'the kubeconfig'} (available: {available})"
        )
    return context


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- listing -----------------------------------------------------------------------------


def _list_pages(
    client: _Client, path: str, page_size: int, query: Mapping[str, str]
) -> Iterator[list[dict[str, Any]]]:
    """Yield the items of a list page by page, following `continue` tokens.

    A 410 on a continue token means the snapshot the pages came from was compacted
    away; the list restarts from scratch (the caller discards partial results).
    """
    token = ""
    while True:
        params = dict(query)
        if page_size > 0:
            params["limit"] = str(page_size)
        if token:
            params["continue"] = token
        body = client.get(path, params)
        yield list(body.get("items") or [])
        token = str((body.get("metadata") or {}).get("continue") or "")
        if not token:
            return


def _list_all(client: _Client, path: str, page_size: int, query: Mapping[str, str]) -> list[Any]:
    for _ in range(3):
        items: list[Any] = []
        try:
            for page in _list_pages(client, path, page_size, query):
                items.extend(page)
            return items
        except _Expired:
            continue
    raise ClusterError(f"{client.server}{path}: the list kept expiring (410 Gone) while paging")


@dataclass(frozen=True, slots=True)
class _Scope:
    """Which namespaces to read: all (minus `exclude`), or exactly `include`."""

    include: tuple[str, ...]
    exclude: tuple[str, ...]

    def list_calls(self, resource: _Resource) -> list[tuple[str, dict[str, str]]]:
        if not resource.namespaced:
            return [(f"{resource.group_path}/{resource.plural}", {})]
        if self.include:
            # Namespaced lists: only what the user asked for crosses the wire, and
            # users with namespace-scoped RBAC can still be audited.
            return [
                (f"{resource.group_path}/namespaces/{ns}/{resource.plural}", {})
                for ns in self.include
            ]
        return [
            (f"{resource.group_path}/{resource.plural}", self._field_selector("metadata.namespace"))
        ]

    def _field_selector(self, field_name: str) -> dict[str, str]:
        if not self.exclude:
            return {}
        return {"fieldSelector": ",".join(f"{field_name}!={ns}" for ns in self.exclude)}


def _fetch_kind(
    client: _Client, resource: _Resource, scope: _Scope, page_size: int
) -> list[Any] | _Forbidden:
    try:
        if resource.kind is Kind.NAMESPACES and scope.include:
            return _get_namespaces(client, scope.include)
        if resource.kind is Kind.NAMESPACES:
            path, _ = scope.list_calls(resource)[0]
            return _list_all(client, path, page_size, scope._field_selector("metadata.name"))
        items: list[Any] = []
        for path, query in scope.list_calls(resource):
            items.extend(_list_all(client, path, page_size, query))
        return items
    except _Forbidden as forbidden:
        return forbidden


def _get_namespaces(client: _Client, names: Sequence[str]) -> list[Any]:
    found = []
    for name in names:
        try:
            found.append(client.get(f"/api/v1/namespaces/{urllib.parse.quote(name)}"))
        except _Forbidden as error:
            if error.status == 404:
                continue  # reported by the caller as a missing namespace
            raise
    return found


def _has_endpoint_slices(client: _Client) -> bool:
    try:
        client.get("/apis/discovery.k8s.io/v1")
    except _Forbidden as error:
        # 404: the group is not served. 403: discovery is hidden from us; assume a
        # current server rather than falling back to the deprecated Endpoints.
        return error.status != 404
    return True


def _server_version(client: _Client) -> str | None:
    try:
        version = client.get("/version")
    except _Forbidden:
        return None
    return str(version.get("gitVersion")) if isinstance(version, dict) else None


def _parse(items: Iterable[Any], build: Callable[[Any], T]) -> list[T]:
    return [build(item) for item in items]


def collect_live(source: Source, *, retry_budget: float = DEFAULT_RETRY_BUDGET) -> Snapshot:
    """Read a Snapshot from the cluster `source` names (context, kubeconfig or in-cluster).

    `source.namespaces` (when given) and `source.exclude_namespaces` are applied
    at the API server: namespaced list calls, or a field selector. Connection,
    credential and context problems raise `ClusterError` (exit code 3); a kind we
    may not list becomes a `CollectionWarning` naming the kind and what it leaves
    unchecked. 429 and 5xx answers are retried for up to `retry_budget` seconds
    per request.
    """
    excluded = tuple(dict.fromkeys(source.exclude_namespaces))
    include = tuple(ns for ns in dict.fromkeys(source.namespaces) if ns not in excluded)
    if source.namespaces and not include:
        raise InputError("every namespace given with --namespace is also excluded")
    scope = _Scope(include, excluded)
    page_size = source.page_size
    connection = _connect(
        source.context, source.kubeconfig, source.in_cluster, source.request_timeout, retry_budget
    )
    client = connection.client

    # One cheap request first, so an unreachable server or a bad credential fails
    # with one clear error instead of one per kind.
    version = _server_version(client)
    resources = [
        resource
        if resource.kind is not Kind.ENDPOINT_SLICES or _has_endpoint_slices(client)
        else _LEGACY_ENDPOINTS
        for resource in _RESOURCES
    ]
    # The CNI is recognised by what runs in kube-system, even when it is filtered out.
    want_kube_system_pods = (
        bool(include) and _KUBE_SYSTEM not in include
    ) or _KUBE_SYSTEM in excluded

    with ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="kaudit-list") as pool:
        futures = {
            resource.kind: pool.submit(_fetch_kind, client, resource, scope, page_size)
            for resource in resources
        }
        daemonsets = pool.submit(_cni_daemonset_names, client, page_size)
        system_pods = (
            pool.submit(_kube_system_pods, client, page_size) if want_kube_system_pods else None
        )
        results = {kind: future.result() for kind, future in futures.items()}
        daemonset_names = daemonsets.result()
        extra_system_pods = system_pods.result() if system_pods else None

    warnings: list[CollectionWarning] = []
    by_kind: dict[Kind, list[Any]] = {}
    for resource in resources:
        result = results[resource.kind]
        if isinstance(result, _Forbidden):
            warnings.append(_missing_kind_warning(resource, result, scope))
            by_kind[resource.kind] = []
        else:
            by_kind[resource.kind] = result

    legacy = any(r is _LEGACY_ENDPOINTS for r in resources)
    pods = _parse(by_kind[Kind.PODS], Pod.from_raw)
    slices = _parse(
        by_kind[Kind.ENDPOINT_SLICES],
        EndpointSlice.from_endpoints if legacy else EndpointSlice.from_raw,
    )
    namespace_objects = {ns.name: ns for ns in _parse(by_kind[Kind.NAMESPACES], Namespace.from_raw)}
    services = _parse(by_kind[Kind.SERVICES], Service.from_raw)
    policies = _parse(by_kind[Kind.NETWORK_POLICIES], NetworkPolicy.from_raw)
    ingresses = _parse(by_kind[Kind.INGRESSES], Ingress.from_raw)
    ingress_classes = _parse(by_kind[Kind.INGRESS_CLASSES], IngressClass.from_raw)

    for name in include:
        if name not in namespace_objects and Kind.NAMESPACES not in {w.kind for w in warnings}:
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
        pods if Kind.PODS not in {w.kind for w in warnings} else None,
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
        warnings=tuple(warnings),
    )


def _missing_kind_warning(
    resource: _Resource, error: _Forbidden, scope: _Scope
) -> CollectionWarning:
    if error.status == 404 and resource.kind is not Kind.NAMESPACES:
        reason = f"the server does not serve {resource.group_path.removeprefix('/apis/')}"
    else:
        reason = f"forbidden: {error}" if error.status == 403 else str(error)
    where = f" in {', '.join(scope.include)}" if scope.include and resource.namespaced else ""
    return CollectionWarning(
        f"cannot list {resource.title}{where} ({reason}); {_CONSEQUENCES[resource.kind]}",
        kind=resource.kind,
    )


# --- CNI -------------------------------------------------------------------------------


def _cni_daemonset_names(client: _Client, page_size: int) -> list[str] | None:
    try:
        items = _list_all(
            client, f"/apis/apps/v1/namespaces/{_KUBE_SYSTEM}/daemonsets", page_size, {}
        )
    except _Forbidden:
        return None
    return [str((item.get("metadata") or {}).get("name") or "") for item in items]


def _kube_system_pods(client: _Client, page_size: int) -> list[Pod] | None:
    try:
        items = _list_all(client, f"/api/v1/namespaces/{_KUBE_SYSTEM}/pods", page_size, {})
    except _Forbidden:
        return None
    return _parse(items, Pod.from_raw)


def _detect_cni(
    pods: list[Pod] | None,
    extra_system_pods: list[Pod] | None,
    daemonset_names: list[str] | None,
) -> tuple[tuple[str, ...], bool]:
    """CNI plugins seen in kube-system (and the CNI's own namespaces), and whether we could look."""
    cni = detect_cni([*(pods or []), *(extra_system_pods or [])], daemonset_names or [])
    checked = pods is not None or extra_system_pods is not None or daemonset_names is not None
    return cni, checked
