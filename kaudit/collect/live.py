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

import contextlib
import functools
import gc
import importlib
import json
import os
import posixpath
import queue
import random
import re
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import GenericAlias
from typing import Any, TypedDict, TypeVar

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
# Where a pod's service-account token and CA are mounted, and the variable that
# moves it (for sidecar-style mounts, and for tests outside a pod).
SERVICEACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
SERVICEACCOUNT_DIR_ENV = "KAUDIT_SERVICEACCOUNT_DIR"

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
# The kube-system DaemonSets are read to recognise the CNI (see kaudit deploy's RBAC).
CNI_DAEMONSETS_PATH = f"/apis/apps/v1/namespaces/{_KUBE_SYSTEM}/daemonsets"

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
    # Page requests run here while the listing threads decode (one collection's pool).
    prefetch: ThreadPoolExecutor | None = None
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
        """GET `path` and return the decoded JSON."""
        return self.decode(path, self.get_bytes(path, query))

    def decode(self, path: str, body: bytes, decode: Callable[[bytes], Any] = json.loads) -> Any:
        try:
            return decode(body)
        except ValueError:
            raise ClusterError(
                f"{self.server}{path} did not answer with JSON (is this a Kubernetes API server?)"
            ) from None

    def get_bytes(self, path: str, query: Mapping[str, str] | None = None) -> bytes:
        """GET `path` and return the body, retrying 429/5xx within the budget."""
        _refuse_secrets(path)
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
                # A dropped connection is worth another try; a timeout is not: the
                # user's --request-timeout bounds each request.
                retryable = isinstance(error, urllib3.exceptions.ProtocolError)
                if retryable and self._sleep_before_retry(attempt, deadline, None):
                    continue
                raise ClusterError(self._describe_connection_error(error)) from None
            status = int(response.status)
            if 200 <= status < 300:
                return bytes(response.data)
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
        # NewConnectionError subclasses ConnectTimeoutError: test it first.
        if isinstance(error, urllib3.exceptions.NewConnectionError):
            errno_text = re.findall(r"\[Errno -?\d+\] ([^)\]]+)", reason)
            cause = errno_text[-1].strip() if errno_text else reason
            return f"cannot reach {self.server}: {cause}"
        if isinstance(error, urllib3.exceptions.ConnectTimeoutError):
            return f"cannot reach {self.server}: no answer within {self.timeout:g}s"
        if isinstance(error, urllib3.exceptions.ReadTimeoutError):
            return f"{self.server} did not answer within {self.timeout:g}s (--request-timeout)"
        return f"cannot reach {self.server}: {reason}"


def _refuse_secrets(path: str) -> None:
    """A promise to users: kaudit never reads Secrets, whatever the path decodes to.

    The API server percent-decodes and resolves a path before routing it, so the
    check runs on the decoded, normalised form, segment by segment.
    """
    decoded = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
    normalised = posixpath.normpath("/" + decoded)
    if "secrets" in normalised.split("/"):
        raise InputError(f"refusing to request {path[:200]!r}: kaudit never reads Secrets")


def api_path(*segments: str) -> str:
    """A request path from segments, each percent-quoted (no '/', '?', '#' or '%' passes)."""
    return "".join("/" + urllib.parse.quote(segment, safe="") for segment in segments)


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


def serviceaccount_dir() -> Path:
    """Where the in-cluster token, CA and namespace files are (KAUDIT_SERVICEACCOUNT_DIR moves it)."""
    return Path(os.environ.get(SERVICEACCOUNT_DIR_ENV) or SERVICEACCOUNT_DIR)


def client_configuration(
    context: str | None, kubeconfig: str | None, in_cluster: bool
) -> tuple[Any, str | None]:
    """A kubernetes.client.Configuration with credentials loaded, and the context used.

    Raises ClusterError with one line when the credentials cannot be loaded.
    """
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
            account = serviceaccount_dir()
            # The client's own loader, pointed at the (possibly moved) token directory;
            # it re-reads the token as the kubelet rotates it.
            k8s_config.incluster_config.InClusterConfigLoader(
                token_filename=str(account / "token"), cert_filename=str(account / "ca.crt")
            ).load_and_set(client_configuration=configuration)
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
    return configuration, used_context


def _connect(
    context: str | None,
    kubeconfig: str | None,
    in_cluster: bool,
    timeout: float,
    retry_budget: float,
) -> _Connection:
    k8s_client: Any = importlib.import_module("kubernetes.client")
    configuration, used_context = client_configuration(context, kubeconfig, in_cluster)

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


# --- decoding ------------------------------------------------------------------------------
# Decoding dominates a collection: a 5,000-pod list is ~18 MB of JSON, more than
# half of it managedFields and container specs the audit never reads. With msgspec
# the lists are decoded into plain dicts holding only the fields below (the ones
# the model's from_raw constructors read), skipping the rest without building it:
# about six times faster than json.loads, and far less memory. Without msgspec,
# or if a server sends something these types do not expect, json.loads is used.
# tests/cluster/test_live_decoding.py checks that both give the same Snapshot.


class _OwnerReference(TypedDict, total=False):
    kind: str
    name: str
    controller: bool


class _ObjectMeta(TypedDict, total=False):
    name: str
    namespace: str
    uid: str
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[_OwnerReference]


_ListMeta = TypedDict("_ListMeta", {"continue": str}, total=False)


class _ContainerPort(TypedDict, total=False):
    name: str
    containerPort: int
    protocol: str
    hostPort: int


class _Container(TypedDict, total=False):
    name: str
    ports: list[_ContainerPort]


class _PodDNSConfigOption(TypedDict, total=False):
    name: str
    value: str


class _PodDNSConfig(TypedDict, total=False):
    options: list[_PodDNSConfigOption]


class _PodSpec(TypedDict, total=False):
    containers: list[_Container]
    initContainers: list[_Container]
    hostNetwork: bool
    nodeName: str
    dnsPolicy: str
    dnsConfig: _PodDNSConfig


class _Condition(TypedDict, total=False):
    type: str
    status: str


class _PodIP(TypedDict, total=False):
    ip: str


class _PodStatus(TypedDict, total=False):
    phase: str
    podIP: str
    podIPs: list[_PodIP]
    conditions: list[_Condition]


class _Pod(TypedDict, total=False):
    metadata: _ObjectMeta
    spec: _PodSpec
    status: _PodStatus


class _ServicePort(TypedDict, total=False):
    name: str
    port: int
    targetPort: int | str
    protocol: str
    nodePort: int


class _ServiceSpec(TypedDict, total=False):
    type: str
    selector: dict[str, str]
    ports: list[_ServicePort]
    clusterIP: str
    externalIPs: list[str]
    externalName: str
    loadBalancerSourceRanges: list[str]
    loadBalancerClass: str
    allocateLoadBalancerNodePorts: bool


class _LoadBalancerIngress(TypedDict, total=False):
    ip: str
    hostname: str


class _LoadBalancerStatus(TypedDict, total=False):
    ingress: list[_LoadBalancerIngress]


class _ServiceStatus(TypedDict, total=False):
    loadBalancer: _LoadBalancerStatus


class _Service(TypedDict, total=False):
    metadata: _ObjectMeta
    spec: _ServiceSpec
    status: _ServiceStatus


class _ObjectReference(TypedDict, total=False):
    kind: str
    name: str


class _EndpointConditions(TypedDict, total=False):
    ready: bool
    serving: bool
    terminating: bool


class _Endpoint(TypedDict, total=False):
    addresses: list[str]
    conditions: _EndpointConditions
    targetRef: _ObjectReference


class _EndpointPort(TypedDict, total=False):
    name: str
    port: int
    protocol: str


class _EndpointSlice(TypedDict, total=False):
    metadata: _ObjectMeta
    addressType: str
    endpoints: list[_Endpoint]
    ports: list[_EndpointPort]


class _EndpointAddress(TypedDict, total=False):
    ip: str
    targetRef: _ObjectReference


class _EndpointSubset(TypedDict, total=False):
    addresses: list[_EndpointAddress]
    notReadyAddresses: list[_EndpointAddress]
    ports: list[_EndpointPort]


class _Endpoints(TypedDict, total=False):
    metadata: _ObjectMeta
    subsets: list[_EndpointSubset]


class _Requirement(TypedDict, total=False):
    key: str
    operator: str
    values: list[str]


class _LabelSelector(TypedDict, total=False):
    matchLabels: dict[str, str]
    matchExpressions: list[_Requirement]


_IPBlock = TypedDict("_IPBlock", {"cidr": str, "except": list[str]}, total=False)


class _PolicyPeer(TypedDict, total=False):
    podSelector: _LabelSelector
    namespaceSelector: _LabelSelector
    ipBlock: _IPBlock


class _PolicyPort(TypedDict, total=False):
    protocol: str
    port: int | str
    endPort: int


_IngressRule = TypedDict(
    "_IngressRule", {"from": list[_PolicyPeer], "ports": list[_PolicyPort]}, total=False
)


class _EgressRule(TypedDict, total=False):
    to: list[_PolicyPeer]
    ports: list[_PolicyPort]


class _NetworkPolicySpec(TypedDict, total=False):
    podSelector: _LabelSelector
    policyTypes: list[str]
    ingress: list[_IngressRule]
    egress: list[_EgressRule]


class _NetworkPolicy(TypedDict, total=False):
    metadata: _ObjectMeta
    spec: _NetworkPolicySpec


class _ServiceBackendPort(TypedDict, total=False):
    name: str
    number: int


class _ServiceBackend(TypedDict, total=False):
    name: str
    port: _ServiceBackendPort


class _TypedReference(TypedDict, total=False):
    kind: str
    name: str


class _IngressBackend(TypedDict, total=False):
    service: _ServiceBackend
    resource: _TypedReference


class _HTTPPath(TypedDict, total=False):
    path: str
    backend: _IngressBackend


class _HTTPRule(TypedDict, total=False):
    paths: list[_HTTPPath]


class _IngressRuleSpec(TypedDict, total=False):
    host: str
    http: _HTTPRule


class _IngressTLS(TypedDict, total=False):
    hosts: list[str]


class _IngressSpec(TypedDict, total=False):
    ingressClassName: str
    defaultBackend: _IngressBackend
    rules: list[_IngressRuleSpec]
    tls: list[_IngressTLS]


class _Ingress(TypedDict, total=False):
    metadata: _ObjectMeta
    spec: _IngressSpec


class _IngressClassSpec(TypedDict, total=False):
    controller: str


class _IngressClass(TypedDict, total=False):
    metadata: _ObjectMeta
    spec: _IngressClassSpec


class _Named(TypedDict, total=False):
    metadata: _ObjectMeta


_ITEM_TYPES: Mapping[str, type] = {
    "namespaces": _Named,
    "pods": _Pod,
    "services": _Service,
    "endpointslices": _EndpointSlice,
    "endpoints": _Endpoints,
    "networkpolicies": _NetworkPolicy,
    "ingresses": _Ingress,
    "ingressclasses": _IngressClass,
    "daemonsets": _Named,
}


def _list_type(item: type) -> Any:
    """A TypedDict for a list of `item`s (its metadata carries the continue token)."""
    make_typed_dict: Any = TypedDict  # built at run time, one per kind
    fields = {"metadata": _ListMeta, "items": GenericAlias(list, (item,))}
    return make_typed_dict(f"{item.__name__}List", fields, total=False)


class _ListDecoder:
    """Decodes one kind's list pages: msgspec with the schema above, or json.loads."""

    def __init__(self, plural: str) -> None:
        self._decoder: Any = None
        self._errors: tuple[type[Exception], ...] = ()
        try:
            import msgspec
        except ImportError:  # optional speed-up: the stdlib decoder gives the same result
            return
        self._decoder = _msgspec_decoder(plural)
        self._errors = (msgspec.DecodeError,)

    def decode(self, body: bytes) -> Any:
        if self._decoder is not None:
            try:
                return self._decoder.decode(body)
            except self._errors:
                pass  # unexpected shape or invalid JSON: let json.loads decide
        return json.loads(body)


@functools.cache
def _msgspec_decoder(plural: str) -> Any:
    """One decoder per kind (building one inspects the types; decoding is thread-safe)."""
    import msgspec

    return msgspec.json.Decoder(_list_type(_ITEM_TYPES[plural]))


def _plural_of(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


# --- listing -----------------------------------------------------------------------------


# The API server writes a list's metadata (with the continue token) before its items.
_CONTINUE_TOKEN = re.compile(rb'"continue":"([^"]*)"')
_HEAD = 4096


def _peek_continue(body: bytes) -> str:
    match = _CONTINUE_TOKEN.search(body, 0, _HEAD)
    return match.group(1).decode() if match else ""


def _list_all(
    client: _Client,
    path: str,
    page_size: int,
    query: Mapping[str, str],
    build: Callable[[Any], T],
) -> list[T]:
    """Every item of a list, built into model objects page by page.

    The next page is requested while this one is parsed: its continue token is
    read from the head of the body, and checked against the parsed metadata.
    A 410 on a continue token means the list's snapshot was compacted away:
    the list restarts from scratch.
    """
    for _ in range(3):
        try:
            return _list_pipelined(client, path, page_size, query, build)
        except _Expired:
            continue
    raise ClusterError(f"{client.server}{path}: the list kept expiring (410 Gone) while paging")


def _list_pipelined(
    client: _Client,
    path: str,
    page_size: int,
    query: Mapping[str, str],
    build: Callable[[Any], T],
) -> list[T]:
    def params(token: str) -> dict[str, str]:
        result = dict(query)
        if page_size > 0:
            result["limit"] = str(page_size)
        if token:
            result["continue"] = token
        return result

    decoder = _ListDecoder(_plural_of(path))
    built: list[T] = []
    with contextlib.ExitStack() as stack:
        prefetch = client.prefetch or stack.enter_context(
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="kaudit-page")
        )
        fetcher = _PageFetcher(client, path, params)
        stack.callback(fetcher.stop)  # on any exit, so the fetcher never waits forever
        fetcher.future = prefetch.submit(fetcher.run)
        for body, peeked in fetcher.pages():
            page = client.decode(path, body, decoder.decode)
            del body
            built.extend(build(item) for item in page.get("items") or [])
            token = str((page.get("metadata") or {}).get("continue") or "")
            if token != peeked:
                # The token was not where we looked: go on page by page, no prefetch.
                fetcher.stop()
                while token:
                    page = client.get(path, params(token))
                    built.extend(build(item) for item in page.get("items") or [])
                    token = str((page.get("metadata") or {}).get("continue") or "")
                break
    return built


class _PageFetcher:
    """Fetches a list's pages one after the other in its own thread, handing the
    bodies over through a short queue: the next request leaves as soon as a body
    has arrived, without waiting for the listing thread to decode it."""

    _DONE = object()

    def __init__(self, client: _Client, path: str, params: Callable[[str], dict[str, str]]) -> None:
        self._client = client
        self._path = path
        self._params = params
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=3)  # bounds memory
        self._stopped = threading.Event()
        self.future: Future[None] | None = None

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        token = ""
        try:
            while not self._stopped.is_set():
                body = self._client.get_bytes(self._path, self._params(token))
                token = _peek_continue(body)
                self._put((body, token))
                if not token:
                    break
        except BaseException as error:  # handed to the listing thread, raised there
            self._put(error)
            return
        self._put(self._DONE)

    def _put(self, item: Any) -> None:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def pages(self) -> Iterator[tuple[bytes, str]]:
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                # A fetcher cancelled before it ran (the collection is being torn
                # down after an error) would otherwise leave us waiting forever.
                if self.future is None or not self.future.done() or not self._queue.empty():
                    continue
                raise ClusterError(f"{self._client.server}{self._path}: listing stopped") from None
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item


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
    client: _Client,
    resource: _Resource,
    scope: _Scope,
    page_size: int,
    build: Callable[[Any], T],
) -> list[T] | _Forbidden:
    try:
        if resource.kind is Kind.NAMESPACES and scope.include:
            return [build(raw) for raw in _get_namespaces(client, scope.include)]
        if resource.kind is Kind.NAMESPACES:
            path, _ = scope.list_calls(resource)[0]
            return _list_all(client, path, page_size, scope.field_selector("metadata.name"), build)
        items: list[T] = []
        for path, query in scope.list_calls(resource):
            items.extend(_list_all(client, path, page_size, query, build))
        return items
    except _Forbidden as forbidden:
        return forbidden


def _get_namespaces(client: _Client, names: Sequence[str]) -> list[Any]:
    found = []
    for name in names:
        try:
            found.append(client.get(api_path("api", "v1", "namespaces", name)))
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

    # The CNI is recognised by what runs in kube-system, even when it is filtered out.
    want_kube_system_pods = (
        bool(include) and _KUBE_SYSTEM not in include
    ) or _KUBE_SYSTEM in excluded
    builders: dict[Kind, Callable[[Any], Any]] = {
        Kind.NAMESPACES: Namespace.from_raw,
        Kind.PODS: Pod.from_raw,
        Kind.SERVICES: Service.from_raw,
        Kind.ENDPOINT_SLICES: EndpointSlice.from_raw,
        Kind.NETWORK_POLICIES: NetworkPolicy.from_raw,
        Kind.INGRESSES: Ingress.from_raw,
        Kind.INGRESS_CLASSES: IngressClass.from_raw,
    }
    resources = list(_RESOURCES)
    pool = ThreadPoolExecutor(max_workers=MAX_WORKERS + 4, thread_name_prefix="kaudit-list")
    # One page fetcher per list in flight; lists with --namespace run one after the
    # other inside a kind, so this bounds them (threads start on demand).
    pages = ThreadPoolExecutor(max_workers=4 * MAX_WORKERS, thread_name_prefix="kaudit-page")
    client.prefetch = pages

    def fetch(resource: _Resource) -> Future[list[Any] | _Forbidden]:
        build = builders[resource.kind]
        if resource is _LEGACY_ENDPOINTS:
            build = EndpointSlice.from_endpoints
        return pool.submit(_fetch_kind, client, resource, scope, page_size, build)

    try:
        with _tuned_for_lists():
            # Everything starts at once; only the endpoints kind waits for discovery.
            version_probe = pool.submit(_server_version, client)
            slices_probe = pool.submit(_has_endpoint_slices, client)
            futures: dict[Kind, Future[list[Any] | _Forbidden]] = {
                r.kind: fetch(r) for r in resources if r.kind is not Kind.ENDPOINT_SLICES
            }
            daemonsets = pool.submit(_cni_daemonset_names, client, page_size)
            system_pods = (
                pool.submit(_kube_system_pods, client, page_size) if want_kube_system_pods else None
            )
            # An unreachable server or a rejected credential fails every request:
            # report it once, from /version.
            version = version_probe.result()
            if not slices_probe.result():
                resources = [
                    _LEGACY_ENDPOINTS if r.kind is Kind.ENDPOINT_SLICES else r for r in resources
                ]
            endpoints = next(r for r in resources if r.kind is Kind.ENDPOINT_SLICES)
            futures[Kind.ENDPOINT_SLICES] = fetch(endpoints)
            results = {kind: future.result() for kind, future in futures.items()}
            daemonset_names = daemonsets.result()
            extra_system_pods = system_pods.result() if system_pods else None
    finally:
        client.prefetch = None
        # Every result is in (or an error is on its way up): the idle threads end on
        # their own, there is no need to wait for each of them here.
        pool.shutdown(wait=False, cancel_futures=True)
        pages.shutdown(wait=False, cancel_futures=True)

    warnings: list[CollectionWarning] = []
    by_kind: dict[Kind, list[Any]] = {}
    for resource in resources:
        result = results[resource.kind]
        if isinstance(result, _Forbidden):
            warnings.append(_missing_kind_warning(resource, result, scope))
            by_kind[resource.kind] = []
        else:
            by_kind[resource.kind] = result

    pods: list[Pod] = by_kind[Kind.PODS]
    slices: list[EndpointSlice] = by_kind[Kind.ENDPOINT_SLICES]
    namespace_objects: dict[str, Namespace] = {ns.name: ns for ns in by_kind[Kind.NAMESPACES]}
    services: list[Service] = by_kind[Kind.SERVICES]
    policies: list[NetworkPolicy] = by_kind[Kind.NETWORK_POLICIES]
    ingresses: list[Ingress] = by_kind[Kind.INGRESSES]
    ingress_classes: list[IngressClass] = by_kind[Kind.INGRESS_CLASSES]

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
        return _list_all(
            client,
            CNI_DAEMONSETS_PATH,
            page_size,
            {},
            lambda item: str((item.get("metadata") or {}).get("name") or ""),
        )
    except _Forbidden:
        return None


def _kube_system_pods(client: _Client, page_size: int) -> list[Pod] | None:
    try:
        return _list_all(
            client,
            api_path("api", "v1", "namespaces", _KUBE_SYSTEM, "pods"),
            page_size,
            {},
            Pod.from_raw,
        )
    except _Forbidden:
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
