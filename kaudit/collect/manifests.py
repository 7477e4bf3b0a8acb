"""The manifest source: YAML and JSON files, folders, `kind: List` dumps and stdin.

Workload objects become pods from their pod templates, so a GitOps folder or a
rendered Helm chart can be audited before it is applied; Services with selectors
get EndpointSlices derived from the pods they select when the input carries none.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from frozendict import frozendict

from kaudit.collect.cni import detect_cni
from kaudit.collect.cni_policies import CniPolicyReader
from kaudit.collect.documents import STDIN, Document, read_documents
from kaudit.collect.operators import operator_pods, operator_services, plan
from kaudit.collect.versions import (
    CLUSTER_SCOPED_KINDS,
    ignored_kind_name,
    is_cni_policy_group,
    may_create_pods,
    operator_kind,
    recognised_kind,
    to_current,
)
from kaudit.collect.workloads import pod_count, replicas
from kaudit.errors import InputError
from kaudit.model import (
    ADMIN_POLICY_KINDS,
    AdminPolicy,
    ClusterFacts,
    CollectionWarning,
    Endpoint,
    EndpointPort,
    EndpointSlice,
    Gateway,
    GatewayClass,
    Ingress,
    IngressClass,
    LabelSelector,
    Namespace,
    NetworkPolicy,
    Node,
    Pod,
    ReferenceGrant,
    Route,
    Service,
    Snapshot,
    Workload,
)
from kaudit.model.gateway import LISTENER_SET_KINDS, ROUTE_KINDS, ListenerSet

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

# Where each workload kind keeps its pod template.
TEMPLATE_PATHS: Mapping[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
# Pods expanded from workload templates, at most: a bound on what a replica count in
# hostile input can make kaudit build (a large cluster runs about this many pods).
MAX_TEMPLATE_PODS = 150_000
# A child whose controller is also in the input is already represented by it.
PARENT_KINDS: Mapping[str, str] = {"ReplicaSet": "Deployment", "Job": "CronJob"}


def manifest_files(paths: Iterable[str]) -> list[str]:
    """Expand folders (recursively, sorted) into manifest files; `-` stays stdin."""
    files: list[str] = []
    for entry in paths:
        if entry == STDIN:
            files.append(STDIN)
            continue
        path = Path(entry)
        try:
            if path.is_dir():
                found = _folder_files(path)
                if not found:
                    raise InputError(f"{entry}: folder holds no .yaml, .yml or .json files")
                files.extend(found)
            elif path.is_file():
                files.append(str(path))
            elif path.exists():
                raise InputError(f"{entry}: not a regular file or folder")
            else:
                raise InputError(f"{entry}: no such file or folder")
        except OSError as exc:
            where = exc.filename if isinstance(exc.filename, str) else entry
            raise InputError(f"{where[:200]}: cannot read: {exc.strerror or exc}") from None
    return files


def _folder_files(folder: Path) -> list[str]:
    """Manifest files below `folder`, sorted; symlinked folders are not followed (no loops).

    The walk keeps its own stack, so a folder nested thousands deep is read, or
    refused by the operating system with an error naming the path, never a crash.
    """
    found: list[str] = []
    pending = [str(folder)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.is_file() and Path(entry.name).suffix.lower() in MANIFEST_SUFFIXES:
                    found.append(entry.path)
    return sorted(found)


@dataclass
class _Builder:
    """Accumulates objects by kind, then derives pods and endpoints."""

    namespaces: dict[str, Namespace] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    workloads: list[Document] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    slices: list[EndpointSlice] = field(default_factory=list)
    endpoints: list[EndpointSlice] = field(default_factory=list)
    policies: list[NetworkPolicy] = field(default_factory=list)
    ingresses: list[Ingress] = field(default_factory=list)
    ingress_classes: list[IngressClass] = field(default_factory=list)
    # Gateway API
    gateway_classes: list[GatewayClass] = field(default_factory=list)
    gateways: list[Gateway] = field(default_factory=list)
    listener_sets: list[ListenerSet] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    reference_grants: list[ReferenceGrant] = field(default_factory=list)
    admin_policies: list[AdminPolicy] = field(default_factory=list)
    node_objects: list[Node] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    # Custom resources of operators kaudit knows, expanded into the pods they run.
    operated: list[Document] = field(default_factory=list)
    # namespace -> ignored custom resources that may create pods ("Kind.group/name").
    unexpanded: dict[str, set[str]] = field(default_factory=dict)
    # CNI policy kinds (Cilium, Calico) and ServiceAccounts.
    cni: CniPolicyReader = field(default_factory=CniPolicyReader)
    nodes: set[str] = field(default_factory=set)
    # `--namespace` values: objects without a namespace go into it, as with `kubectl apply -n`.
    target_namespaces: tuple[str, ...] = ()

    def add(self, doc: Document) -> None:
        origin, api_version = doc.origin, doc.api_version
        if not api_version:
            # kubectl refuses such a document too; guessing its group could misread it.
            raise InputError(f"{origin}: {doc.kind} {doc.name or '(unnamed)'} has no apiVersion")
        kind = recognised_kind(api_version, doc.kind)
        if kind is None:
            self.ignored[ignored_kind_name(api_version, doc.kind)] += 1
            if may_create_pods(api_version, doc.kind):
                # An ignored object is no reason to refuse the input: with several
                # --namespace values, one without a namespace stays in `default`.
                one = len(self.target_namespaces) == 1
                placed = self._in_target_namespace(doc.kind, doc.raw, doc) if one else doc.raw
                name = f"{ignored_kind_name(api_version, doc.kind)}/{doc.name or '(unnamed)'}"
                self.unexpanded.setdefault(_namespace_of(placed), set()).add(name)
            return
        current = to_current(api_version, kind, doc.raw)
        raw = self._in_target_namespace(kind, current, doc)
        try:
            if is_cni_policy_group(api_version):
                self.cni.add(kind, raw, origin)
            elif kind == "ServiceAccount":
                self.cni.add_service_account(raw, origin)
            elif kind == "Namespace":
                ns = Namespace.from_raw(raw, origin)
                self.namespaces[ns.name] = ns
            elif kind == "Pod":
                self.pods.append(Pod.from_raw(raw, origin))
            elif kind in TEMPLATE_PATHS:
                self.workloads.append(Document(raw, origin))
            elif kind == "Service":
                self.services.append(Service.from_raw(raw, origin))
            elif kind == "EndpointSlice":
                self.slices.append(EndpointSlice.from_raw(raw, origin))
            elif kind == "Endpoints":
                self.endpoints.append(EndpointSlice.from_endpoints(raw, origin))
            elif kind == "NetworkPolicy":
                self.policies.append(NetworkPolicy.from_raw(raw, origin))
            elif kind == "Ingress":
                self.ingresses.append(Ingress.from_raw(raw, origin))
            elif kind == "IngressClass":
                self.ingress_classes.append(IngressClass.from_raw(raw, origin))
            elif kind == "GatewayClass":
                self.gateway_classes.append(GatewayClass.from_raw(raw, origin))
            elif kind == "Gateway":
                self.gateways.append(Gateway.from_raw(raw, origin))
            elif kind in LISTENER_SET_KINDS:
                self.listener_sets.append(ListenerSet.from_raw(raw, origin, kind=kind))
            elif kind in ROUTE_KINDS:
                self.routes.append(Route.from_raw(raw, origin, kind=kind))
            elif kind == "ReferenceGrant":
                self.reference_grants.append(ReferenceGrant.from_raw(raw, origin))
            elif kind in ADMIN_POLICY_KINDS:
                self.admin_policies.append(AdminPolicy.from_raw(kind, raw, origin))
            elif kind == "Node":
                # How many pods each DaemonSet runs; labels and addresses for `nodes` peers.
                self.nodes.add(doc.name)
                self.node_objects.append(Node.from_raw(raw, origin))
            elif operator_kind(api_version, kind):
                self.operated.append(Document(raw, origin))
            else:
                self.ignored[kind] += 1
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            # Field paths in the reason are those of the current version's shape.
            converted = f" (read from {api_version} as its current version)"
            raise InputError(
                f"{origin}: invalid {kind} {doc.name or '(unnamed)'}: {_reason(exc)}"
                + (converted if current is not doc.raw else "")
            ) from None

    def _in_target_namespace(
        self, kind: str, raw: Mapping[str, Any], doc: Document
    ) -> Mapping[str, Any]:
        """`raw` placed in the one `--namespace` when it is namespaced and names none."""
        meta = raw.get("metadata") or {}
        if (
            not self.target_namespaces
            or kind in CLUSTER_SCOPED_KINDS
            or not isinstance(meta, Mapping)  # the model reports the bad field
            or meta.get("namespace")
        ):
            return raw
        if len(self.target_namespaces) > 1:
            raise InputError(
                f"{doc.origin}: {kind} {doc.name or '(unnamed)'} has no namespace and "
                f"{len(self.target_namespaces)} were given with --namespace: objects without "
                "one go into the namespace given, as with kubectl apply -n, so give a single "
                "--namespace or set metadata.namespace"
            )
        return {**raw, "metadata": {**meta, "namespace": self.target_namespaces[0]}}

    def template_pods(self) -> list[Pod]:
        """The pods each workload's controller would run, unless real pods stand for it."""
        present = {(d.kind, _namespace_of(d.raw), d.name) for d in self.workloads}
        result: list[Pod] = []
        for doc in self.workloads:
            if _owned_by_present_parent(doc, present):
                continue
            namespace = _namespace_of(doc.raw)
            try:
                template = _dig(doc.raw, TEMPLATE_PATHS[doc.kind])
                selector = LabelSelector.from_raw(_dig(doc.raw, ("spec", "selector")))
                live = [
                    p
                    for p in self.pods
                    if p.namespace == namespace
                    and not selector.is_empty
                    and selector.matches(p.labels)
                ]
                if live:
                    continue
                raw_pod = {
                    "metadata": {
                        **_dig(template, ("metadata",)),
                        "name": doc.name,
                        "namespace": namespace,
                    },
                    "spec": _dig(template, ("spec",)),
                }
                pod = Pod.from_raw(
                    raw_pod, doc.origin, workload=Workload(doc.kind, doc.name), from_template=True
                )
                count = pod_count(doc.kind, doc.raw, max(len(self.nodes), 1))
            except (KeyError, ValueError, TypeError, AttributeError) as exc:
                raise InputError(
                    f"{doc.origin}: invalid {doc.kind} {doc.name}: {_reason(exc)}"
                ) from None
            if len(result) + count > MAX_TEMPLATE_PODS:
                raise InputError(
                    f"{doc.origin}: {doc.kind} {doc.name}: the workloads in the input would run "
                    f"more than {MAX_TEMPLATE_PODS:,} pods, more than kaudit expands from manifests"
                )
            result.extend(replicas(doc.kind, pod, count))
        return result

    def operated_pods(self, budget: int) -> list[Pod]:
        """The pods the operators of the custom resources would run, at most `budget`.

        Pods already in the input under the same name (a dump of a live cluster) stand
        for themselves.
        """
        present = {p.key for p in self.pods}
        result: list[Pod] = []
        for doc in self.operated:
            namespace = _namespace_of(doc.raw)
            related = [d.raw for d in self.operated if _namespace_of(d.raw) == namespace]
            try:
                groups = plan(doc.raw, related)
            except (ValueError, TypeError) as exc:
                raise InputError(
                    f"{doc.origin}: invalid {doc.kind} {doc.name or '(unnamed)'}: {_reason(exc)}"
                ) from None
            if len(result) + sum(g.count for g in groups) > budget:
                raise InputError(
                    f"{doc.origin}: {doc.kind} {doc.name}: the workloads in the input would run "
                    f"more than {MAX_TEMPLATE_PODS:,} pods, more than kaudit expands from manifests"
                )
            try:
                pods = operator_pods(doc.raw, namespace, groups, doc.origin)
            except (ValueError, TypeError) as exc:
                raise InputError(
                    f"{doc.origin}: invalid {doc.kind} {doc.name}: {_reason(exc)}"
                ) from None
            result.extend(p for p in pods if p.key not in present)
        return result

    def notes(self) -> tuple[str, ...]:
        daemon_sets = sum(1 for d in self.workloads if d.kind == "DaemonSet")
        if daemon_sets and not self.nodes:
            return ("the input has no Node objects: each DaemonSet stands for one pod (one node)",)
        return ()

    def build(self, inputs: tuple[str, ...]) -> Snapshot:
        pods = self.pods + self.template_pods()
        pods += self.operated_pods(MAX_TEMPLATE_PODS - len(pods))
        declared = {(s.namespace, s.name) for s in self.services}
        services = self.services + [
            s
            for s in operator_services(
                (d.raw, _namespace_of(d.raw), d.origin) for d in self.operated
            )
            if (s.namespace, s.name) not in declared
        ]
        slices = list(self.slices)
        sliced = {(s.namespace, s.service_name) for s in slices}
        slices += [e for e in self.endpoints if (e.namespace, e.service_name) not in sliced]
        covered = {(s.namespace, s.service_name) for s in slices}
        slices += [
            derive_slice(svc, pods)
            for svc in services
            if svc.has_selector and (svc.namespace, svc.name) not in covered
        ]
        namespaces = dict(self.namespaces)
        objects: list[Any] = [*pods, *services, *slices, *self.policies, *self.ingresses]
        objects += [*self.gateways, *self.listener_sets, *self.routes, *self.reference_grants]
        for obj in objects:
            namespaces.setdefault(obj.namespace, Namespace.implicit(obj.namespace))
        return Snapshot(
            facts=ClusterFacts(
                source="manifests",
                inputs=inputs,
                cni=detect_cni(pods),
                cni_checked="kube-system" in namespaces,
                ignored_kinds=frozendict(sorted(self.ignored.items())),
                notes=self.notes(),
                unexpanded_custom_resources=frozendict(
                    (ns, tuple(sorted(names))) for ns, names in sorted(self.unexpanded.items())
                ),
            ),
            namespaces=tuple(sorted(namespaces.values(), key=lambda n: n.name)),
            pods=tuple(pods),
            services=tuple(services),
            endpoint_slices=tuple(slices),
            network_policies=tuple(self.policies),
            ingresses=tuple(self.ingresses),
            ingress_classes=tuple(self.ingress_classes),
            gateway_classes=tuple(self.gateway_classes),
            gateways=tuple(self.gateways),
            listener_sets=tuple(self.listener_sets),
            routes=tuple(self.routes),
            reference_grants=tuple(self.reference_grants),
            **self.cni.snapshot_fields(),
            admin_policies=tuple(self.admin_policies),
            nodes=tuple(self.node_objects),
            warnings=tuple(
                CollectionWarning(f"{policy.origin}: {policy.kind} {policy.name}: {reading}")
                for policy in self.admin_policies
                for reading in policy.lenient
            ),
        )


def derive_slice(service: Service, pods: Iterable[Pod]) -> EndpointSlice:
    """The EndpointSlice the endpointslice controller would publish for `service`."""
    selected = [p for p in pods if service.selects(p) and not p.terminated]
    endpoints = tuple(
        Endpoint(addresses=p.pod_ips[:1], ready=p.ready, serving=p.ready, target_pod=p.name)
        for p in selected
    )
    ports = tuple(
        EndpointPort(
            port=_resolve_target(service, sp.effective_target, selected),
            protocol=sp.protocol,
            name=sp.name,
        )
        for sp in service.ports
    )
    return EndpointSlice(
        namespace=service.namespace,
        name=f"{service.name}-derived",
        service_name=service.name,
        address_type="IPv4",
        endpoints=endpoints,
        ports=ports,
        managed_by="kaudit (derived from manifests)",
        derived=True,
        origin=service.origin,
    )


def _resolve_target(service: Service, target: int | str, pods: list[Pod]) -> int | None:
    if isinstance(target, int):
        return target
    if target.isdigit():
        return int(target)
    for pod in pods:
        for port in pod.ports:
            if port.name == target:
                return port.container_port
    return None


def load_manifests(paths: Iterable[str], namespaces: Iterable[str] = ()) -> Snapshot:
    """Read every object from `paths` (files, folders, `-` for stdin) into a Snapshot.

    Namespaced objects without a namespace go into `namespaces` when it names one
    (what `kubectl apply -n NAME` does); with several, such an object is an error.
    Without any, they are in `default`.
    """
    paths = list(paths)
    if not paths:
        raise InputError("--manifests: no path given")
    builder = _Builder(target_namespaces=tuple(dict.fromkeys(namespaces)))
    files = manifest_files(paths)
    if files.count(STDIN) > 1:
        raise InputError("--manifests: stdin (-) given more than once")
    for file in files:
        for doc in read_documents(file):
            builder.add(doc)
    return builder.build(tuple(paths))


def _dig(raw: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any]:
    """The object at `path` ({} when absent or null); TypeError names a non-object field."""
    value: Any = raw
    for depth, key in enumerate(path):
        value = value.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            field = ".".join(path[: depth + 1])
            raise TypeError(f"{field}: expected an object, found {type(value).__name__}")
    return cast(Mapping[str, Any], value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _namespace_of(raw: Mapping[str, Any]) -> str:
    return str(_mapping(raw.get("metadata")).get("namespace") or "default")


def _owned_by_present_parent(doc: Document, present: set[tuple[str, str, str]]) -> bool:
    parent_kind = PARENT_KINDS.get(doc.kind)
    if parent_kind is None:
        return False
    for ref in _mapping(doc.raw.get("metadata")).get("ownerReferences") or []:
        ref = _mapping(ref)
        if (
            ref.get("kind") == parent_kind
            and (parent_kind, _namespace_of(doc.raw), ref.get("name")) in present
        ):
            return True
    return False


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc) or type(exc).__name__
