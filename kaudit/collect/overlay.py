"""A live snapshot with manifests applied on top, as `kubectl apply` would leave the cluster.

`overlay(live, applied)` replaces every object the manifests hold (by kind,
namespace and name), adds the new ones and removes the deleted ones:

- Objects of the kinds kaudit reads (Namespace, Pod, Service, EndpointSlice,
  NetworkPolicy, Ingress, IngressClass, the Gateway API kinds) replace the live object
  of the same kind, namespace and name. A deleted Namespace takes everything in it along.
- A workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
  Job, CronJob) replaces the pods it runs. Live pods are recognised by their
  owner (`Pod.workload`, read from ownerReferences: a Deployment's pods through
  their ReplicaSet `<deployment>-<pod-template-hash>`, a CronJob's through its Job
  `<cronjob>-<number>`). The new pods take over the names, nodes and addresses of
  the pods they replace, one for one, as a rolling update would keep the workload
  in place; extra replicas keep the names the manifests give them.
- EndpointSlices are derived again (as the manifest source derives them) for the
  Services of every namespace whose pods or Services changed.

Nothing is written to the cluster: this is a function of two snapshots.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from kaudit.collect.documents import STDIN, read_documents
from kaudit.collect.manifests import derive_slice, load_manifests, manifest_files
from kaudit.collect.versions import (
    CLUSTER_SCOPED_KINDS,
    WORKLOAD_KINDS,
    api_group,
    recognised_kind,
)
from kaudit.errors import InputError
from kaudit.model import ClusterFacts, Namespace, ObjectRef, Pod, Snapshot, Workload
from kaudit.model.cni import calico

# (kind, namespace, name); the namespace is "" for cluster-scoped kinds.
ObjectKey = tuple[str, str, str]

# Every Snapshot field the overlay merges (tests/collect/test_overlay.py checks that
# none is missing): the first six by rules of their own, the others by their ref.
MERGED_FIELDS = frozenset(
    {"facts", "namespaces", "pods", "services", "endpoint_slices", "warnings"}
    | {"network_policies", "ingresses", "ingress_classes", "gateway_classes", "gateways"}
    | {"listener_sets", "routes", "reference_grants", "admin_policies", "nodes"}
    | {"cilium_policies", "calico_policies", "calico_network_sets", "calico_tiers"}
    | {"service_accounts"}
)


class _Referenced(Protocol):
    @property
    def ref(self) -> ObjectRef: ...


R = TypeVar("R", bound=_Referenced)


# The controllers whose pods are named after a child object: parent kind -> child kind.
_CHILD_KINDS: Mapping[str, str] = {"Deployment": "ReplicaSet", "CronJob": "Job"}


@dataclass(frozen=True, slots=True)
class Changes:
    """The manifests to apply (as a snapshot, and the keys of every object they hold)
    and the objects to delete."""

    applied: Snapshot
    applied_keys: frozenset[ObjectKey]
    deleted: frozenset[ObjectKey] = frozenset()
    inputs: tuple[str, ...] = ()


def parse_object_key(text: str, flag: str = "--delete") -> ObjectKey:
    """`KIND/NAMESPACE/NAME`, or `KIND/NAME` for cluster-scoped kinds (Namespace, IngressClass)."""
    parts = text.split("/")
    if len(parts) == 2 and parts[0] in CLUSTER_SCOPED_KINDS and parts[1]:
        return parts[0], "", parts[1]
    if len(parts) == 3 and all(parts) and parts[0] not in CLUSTER_SCOPED_KINDS:
        return parts[0], parts[1], parts[2]
    raise InputError(
        f"{flag}: {text[:120]!r} is not KIND/NAMESPACE/NAME (or KIND/NAME for Namespace "
        "and IngressClass), e.g. NetworkPolicy/shop/default-deny"
    )


def object_keys(paths: Iterable[str], namespace: str = "default") -> frozenset[ObjectKey]:
    """The (kind, namespace, name) of every object kaudit reads in the manifests."""
    keys: set[ObjectKey] = set()
    for file in manifest_files(paths):
        if file == STDIN:
            raise InputError("--apply/--delete-file: give files or folders, not stdin (-)")
        for doc in read_documents(file):
            kind = recognised_kind(doc.api_version, doc.kind)
            if kind is None or not doc.name:
                continue
            meta: Any = doc.raw.get("metadata")
            own = meta.get("namespace") if isinstance(meta, Mapping) else None
            where = "" if kind in CLUSTER_SCOPED_KINDS else str(own or namespace)
            keys.add((_ref_kind(doc.api_version, kind), where, doc.name))
    return frozenset(keys)


def _ref_kind(api_version: str, kind: str) -> str:
    """The kind as the model's refs name it: Calico's policy kinds carry their group, so
    that a Calico NetworkPolicy never replaces a Kubernetes one of the same name."""
    if api_group(api_version) in calico.GROUPS and kind in calico.POLICY_KINDS:
        return calico.policy_ref_kind(kind)
    return kind


def load_changes(
    apply: Iterable[str], delete: Iterable[str] = (), delete_files: Iterable[str] = ()
) -> Changes:
    """The manifests of `apply`, the `--delete` keys and the objects of `delete_files`."""
    apply = tuple(apply)
    deleted = {parse_object_key(text) for text in delete}
    delete_files = tuple(delete_files)
    if delete_files:
        deleted |= object_keys(delete_files)
    if apply:
        applied = load_manifests(apply)
        keys = object_keys(apply)
    else:
        applied, keys = Snapshot(facts=ClusterFacts(source="manifests")), frozenset()
    return Changes(applied, keys, frozenset(deleted), apply + delete_files)


def overlay(live: Snapshot, changes: Changes) -> Snapshot:
    """`live` as it would be after applying `changes` (see the module docstring)."""
    gone = changes.applied_keys | changes.deleted
    gone_namespaces = {name for kind, _, name in changes.deleted if kind == "Namespace"}
    replaced_workloads = {(ns, kind, name) for kind, ns, name in gone if kind in WORKLOAD_KINDS}

    def kept(kind: str, namespace: str, name: str) -> bool:
        if namespace in gone_namespaces:
            return False
        return (kind, "" if kind in CLUSTER_SCOPED_KINDS else namespace, name) not in gone

    applied = changes.applied
    pods, touched = _pods(live, applied, replaced_workloads, kept)
    services = [s for s in live.services if kept("Service", s.namespace, s.name)]
    services += applied.services
    touched |= {s.namespace for s in applied.services}
    touched |= {ns for kind, ns, _ in gone if kind == "Service"}
    explicit_slices = {(s.namespace, s.name) for s in applied.endpoint_slices if not s.derived}
    slices = [
        s
        for s in live.endpoint_slices
        if kept("EndpointSlice", s.namespace, s.name)
        and (s.namespace, s.name) not in explicit_slices
        and s.namespace not in touched
    ]
    slices += [s for s in applied.endpoint_slices if not s.derived]
    covered = {(s.namespace, s.service_name) for s in slices}
    slices += [
        derive_slice(service, [p for p in pods if p.namespace == service.namespace])
        for service in services
        if service.namespace in touched
        and service.has_selector
        and (service.namespace, service.name) not in covered
    ]
    declared = {name for kind, _, name in changes.applied_keys if kind == "Namespace"}
    namespaces = {n.name: n for n in live.namespaces if kept("Namespace", "", n.name)}
    namespaces.update({n.name: n for n in applied.namespaces if n.name in declared})

    def merged(live_objects: tuple[R, ...], applied_objects: tuple[R, ...]) -> tuple[R, ...]:
        kept_live = (o for o in live_objects if kept(o.ref.kind, o.ref.namespace, o.ref.name))
        return (*kept_live, *applied_objects)

    # Every other kind (policies, Ingresses, the Gateway API objects) by its ref.
    others = dataclasses.replace(
        live,
        network_policies=merged(live.network_policies, applied.network_policies),
        ingresses=merged(live.ingresses, applied.ingresses),
        ingress_classes=merged(live.ingress_classes, applied.ingress_classes),
        gateway_classes=merged(live.gateway_classes, applied.gateway_classes),
        gateways=merged(live.gateways, applied.gateways),
        listener_sets=merged(live.listener_sets, applied.listener_sets),
        routes=merged(live.routes, applied.routes),
        reference_grants=merged(live.reference_grants, applied.reference_grants),
        admin_policies=merged(live.admin_policies, applied.admin_policies),
        nodes=merged(live.nodes, applied.nodes),
        cilium_policies=merged(live.cilium_policies, applied.cilium_policies),
        calico_policies=merged(live.calico_policies, applied.calico_policies),
        calico_network_sets=merged(live.calico_network_sets, applied.calico_network_sets),
        calico_tiers=merged(live.calico_tiers, applied.calico_tiers),
        service_accounts=merged(live.service_accounts, applied.service_accounts),
    )
    used = [p.namespace for p in pods] + [s.namespace for s in services]
    namespaced: list[tuple[_Referenced, ...]] = [
        others.network_policies,
        others.ingresses,
        others.gateways,
        others.listener_sets,
        others.routes,
        others.reference_grants,
    ]
    used += [o.ref.namespace for objects in namespaced for o in objects]
    for name in used:
        namespaces.setdefault(name, Namespace.implicit(name))
    applied_text = ", ".join(changes.inputs) or "nothing"
    note = (
        f"manifests applied on top of the cluster: {applied_text}"
        f" ({len(changes.applied_keys)} objects applied, {len(changes.deleted)} deleted)"
    )
    return dataclasses.replace(
        others,
        facts=dataclasses.replace(live.facts, notes=(*live.facts.notes, note)),
        namespaces=tuple(sorted(namespaces.values(), key=lambda n: n.name)),
        pods=tuple(pods),
        services=tuple(services),
        endpoint_slices=tuple(slices),
        warnings=live.warnings + applied.warnings,
    )


def _pods(
    live: Snapshot,
    applied: Snapshot,
    replaced_workloads: set[tuple[str, str, str]],
    kept: Callable[[str, str, str], bool],
) -> tuple[list[Pod], set[str]]:
    """The pods after the change, and the namespaces whose pods changed."""
    pods: list[Pod] = []
    replaced: dict[tuple[str, str, str], list[Pod]] = {}
    touched: set[str] = set()
    for pod in live.pods:
        owner = owning_workload(pod, replaced_workloads)
        if owner is not None:
            replaced.setdefault(owner, []).append(pod)
            touched.add(pod.namespace)
        elif kept("Pod", pod.namespace, pod.name):
            pods.append(pod)
        else:
            touched.add(pod.namespace)
    live_by_key = {pod.key: [pod] for pod in live.pods}
    by_workload: dict[tuple[str, str, str], list[Pod]] = {}
    for pod in applied.pods:
        touched.add(pod.namespace)
        if pod.workload is None or not pod.from_template:
            # A Pod object: the live one of its name is gone already; keep its place.
            pods.extend(_take_over([pod], live_by_key.get(pod.key, [])))
        else:
            key = (pod.namespace, pod.workload.kind, pod.workload.name)
            by_workload.setdefault(key, []).append(pod)
    for key, new_pods in by_workload.items():
        old_pods = sorted(replaced.get(key, ()), key=lambda p: p.name)
        pods.extend(_take_over(new_pods, old_pods))
    return pods, touched


def _take_over(new_pods: list[Pod], old_pods: list[Pod]) -> list[Pod]:
    """New pods in the places of the old ones: their names, nodes and addresses.

    A new pod named like an old one (a StatefulSet's `NAME-0`) takes that one's place;
    the others take the remaining places in name order.
    """
    by_name = {pod.name: pod for pod in old_pods}
    same = [pod for pod in new_pods if pod.name in by_name]
    taken = {pod.name for pod in same}
    free = iter(sorted((p for p in old_pods if p.name not in taken), key=lambda p: p.name))
    result = []
    for pod in new_pods:
        old = by_name[pod.name] if pod.name in taken else next(free, None)
        if old is not None:
            pod = dataclasses.replace(
                pod, name=old.name, node_name=old.node_name, pod_ips=old.pod_ips
            )
        result.append(pod)
    return result


def owning_workload(pod: Pod, workloads: set[tuple[str, str, str]]) -> tuple[str, str, str] | None:
    """The (namespace, kind, name) among `workloads` that runs `pod`, if any.

    A pod's own owner counts, and so does its owner's parent when the child is
    named after it: a ReplicaSet `<deployment>-<hash>` or a Job `<cronjob>-<number>`.
    """
    owner: Workload | None = pod.workload
    if owner is None:
        return None
    direct = (pod.namespace, owner.kind, owner.name)
    if direct in workloads:
        return direct
    for parent, child in _CHILD_KINDS.items():
        if owner.kind != child:
            continue
        stem, _, suffix = owner.name.rpartition("-")
        candidate = (pod.namespace, parent, stem)
        if stem and suffix and candidate in workloads:
            if parent == "CronJob" and not suffix.isdigit():
                continue
            return candidate
    return None
