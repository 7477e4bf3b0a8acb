"""The reachability summary the reports draw: typed, frozen, built once per audit.

`build_summary(compiled, relation)` counts, on any port and protocol (the
`relation` of `kaudit.netpol.relation` for protocol None and port None):

- pods, namespaces, policies and pod classes, and how many pods are isolated
  per direction or use the host network (`IsolationCounts`);
- per pod class (pods no policy tells apart): namespace, member names,
  hostNetwork, isolation and the policies behind it, and the blast radius:
  `can_reach` and `reachable_from`, each as counts of *other* pods and of the
  namespaces holding them. Both include the pods on a member's own node that are
  always reachable (its hostNetwork pods, or every pod there for a hostNetwork
  class); when members sit on different nodes, the largest count is given;
- `namespace_matrix[src][dst]`: of the `total` pod pairs (a pod and itself
  excluded), how many (`allowed`) may connect on some port.

The JSON form is written and read by `kaudit.report.jsonio`.
"""

from __future__ import annotations

import functools
import operator
from collections import defaultdict
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from kaudit.netpol.bits import has, iter_bits
from kaudit.netpol.classes import PodClass, PodClasses
from kaudit.netpol.compile import CompiledPolicies
from kaudit.netpol.relation import Relation
from kaudit.netpol.verdict import Direction


@dataclass(frozen=True, slots=True)
class IsolationCounts:
    ingress_isolated: int  # pods selected by a policy for ingress
    egress_isolated: int
    host_network: int  # pods on the host network, outside NetworkPolicy


@dataclass(frozen=True, slots=True)
class ReachCount:
    """Other pods, and the namespaces holding them."""

    pods: int
    namespaces: int


@dataclass(frozen=True, slots=True)
class PodClassSummary:
    namespace: str
    pods: tuple[str, ...]  # member names, sorted
    host_network: bool
    ingress_isolated: bool
    egress_isolated: bool
    ingress_policies: tuple[str, ...]  # names, in the class's namespace
    egress_policies: tuple[str, ...]
    can_reach: ReachCount
    reachable_from: ReachCount


@dataclass(frozen=True, slots=True)
class PairCount:
    """Pod pairs between two namespaces: how many may connect, of how many."""

    allowed: int
    total: int


@dataclass(frozen=True, slots=True)
class ReachabilitySummary:
    pods: int
    namespaces: int
    policies: int
    classes: int
    isolation: IsolationCounts
    pod_classes: tuple[PodClassSummary, ...]  # by namespace, then member names
    # src namespace -> dst namespace -> pairs; cells with equal counts are shared.
    namespace_matrix: Mapping[str, Mapping[str, PairCount]]
    notes: tuple[str, ...]


# src namespace -> dst namespace -> allowed pod pairs (only the pairs counted so far).
PairCounts = defaultdict[str, defaultdict[str, int]]


def build_summary(compiled: CompiledPolicies, relation: Relation) -> ReachabilitySummary:
    """The summary from the compiled policies and the any-port, any-protocol relation."""
    index = compiled.classes
    classes = index.classes
    # A pod is isolated in a direction when a tier denies it what none of that tier's
    # rules admits: NetworkPolicy, Cilium's default deny, a Calico tier's end-of-tier
    # deny (the Admin and Baseline tiers never isolate).
    isolated = {
        direction: functools.reduce(
            operator.or_, (t.side(direction).isolated for t in compiled.tiers), 0
        )
        for direction in Direction
    }

    def isolating(direction: Direction, class_index: int) -> tuple[int, ...]:
        return tuple(
            i
            for t in compiled.tiers
            if has(t.side(direction).isolated, class_index)
            for i in t.side(direction).policies[class_index]
        )

    refs = compiled.policy_refs
    namespaces = sorted({c.namespace for c in classes if c.weight})
    # Allowed pod pairs per (src, dst) namespace, only where some pair is allowed.
    pairs: PairCounts = defaultdict(lambda: defaultdict(int))
    per_namespace: dict[int, list[tuple[str, int]]] = {}
    seen_cols: dict[int, tuple[int, frozenset[str]]] = {}
    classes_on_node = _classes_on_node(index)
    entries = []
    for cls in classes:
        if not cls.weight:
            continue
        row, col = relation.rows[cls.index], relation.cols[cls.index]
        counts = per_namespace.get(row)
        if counts is None:
            counts = [
                (ns, index.weighted(row & index.ns_bits[ns])) for ns in index.namespaces_of(row)
            ]
            per_namespace[row] = counts
        for ns, count in counts:
            pairs[cls.namespace][ns] += cls.weight * count
        if has(row, cls.index):
            pairs[cls.namespace][cls.namespace] -= cls.weight  # each pod and itself
        reach_counted = (sum(n for _, n in counts), frozenset(ns for ns, _ in counts))
        reach = _blast(index, cls, row, reach_counted, classes_on_node, pairs)
        reached_counted = seen_cols.get(col)
        if reached_counted is None:
            # Many classes share a column (everyone reaches the DNS pods): count it once.
            reached_counted = (index.weighted(col), frozenset(index.namespaces_of(col)))
            seen_cols[col] = reached_counted
        reached = _blast(index, cls, col, reached_counted, classes_on_node, None)
        ingress = isolating(Direction.INGRESS, cls.index)
        egress = isolating(Direction.EGRESS, cls.index)
        entries.append(
            PodClassSummary(
                namespace=cls.namespace,
                pods=tuple(sorted(p.name for p in cls.members)),
                host_network=cls.host_network,
                ingress_isolated=bool(ingress),
                egress_isolated=bool(egress),
                ingress_policies=tuple(refs[i].name for i in ingress),
                egress_policies=tuple(refs[i].name for i in egress),
                can_reach=ReachCount(*reach),
                reachable_from=ReachCount(*reached),
            )
        )
    entries.sort(key=lambda e: (e.namespace, e.pods))
    matrix = _namespace_matrix(index, namespaces, pairs)
    notes = [
        "counts are on any port and protocol; a pod is not counted as reaching itself",
        "hostNetwork pods are outside NetworkPolicy",
    ]
    if index.dns_stand_in:
        notes.append("no kube-dns pods in the snapshot: DNS checks use a stand-in pod")
    if compiled.admin_policies:
        notes.append(
            f"{len(compiled.admin_policies)} cluster-wide policies (ClusterNetworkPolicy, "
            "AdminNetworkPolicy, BaselineAdminNetworkPolicy) are evaluated in the Admin and "
            "Baseline tiers, which decide traffic but isolate no pod"
        )
    return ReachabilitySummary(
        pods=sum(c.weight for c in classes),
        namespaces=len(namespaces),
        policies=len(compiled.policies),
        classes=len(entries),
        isolation=IsolationCounts(
            ingress_isolated=sum(
                c.weight for c in classes if has(isolated[Direction.INGRESS], c.index)
            ),
            egress_isolated=sum(
                c.weight for c in classes if has(isolated[Direction.EGRESS], c.index)
            ),
            host_network=sum(c.weight for c in classes if c.host_network),
        ),
        pod_classes=tuple(entries),
        namespace_matrix=matrix,
        notes=(*notes, *compiled.warnings),
    )


def _namespace_matrix(
    index: PodClasses, namespaces: list[str], pairs: PairCounts
) -> dict[str, dict[str, PairCount]]:
    """Every (src, dst) namespace cell, from the counts of the cells where pairs connect.

    The matrix is namespaces squared (a million cells for a thousand namespaces), so
    the cells where no pair connects, most of them, are laid down per row in one
    `dict(zip(...))` and share one object per total; only the counted cells are
    visited one by one.
    """
    ns_pods = {ns: index.weighted(index.ns_bits[ns]) for ns in namespaces}
    sizes = [ns_pods[ns] for ns in namespaces]
    distinct_sizes = set(sizes)
    cells: dict[tuple[int, int], PairCount] = {}

    def shared(allowed: int, total: int) -> PairCount:
        cell = cells.get((allowed, total))
        if cell is None:
            cell = cells[(allowed, total)] = PairCount(allowed, total)
        return cell

    matrix: dict[str, dict[str, PairCount]] = {}
    for a in namespaces:
        pods_a = ns_pods[a]
        unreached = {size: shared(0, pods_a * size) for size in distinct_sizes}
        row = matrix[a] = dict(zip(namespaces, map(unreached.__getitem__, sizes), strict=True))
        counted: Mapping[str, int] = pairs.get(a) or {}
        row[a] = shared(counted.get(a, 0), pods_a * pods_a - pods_a)
        for b, allowed in counted.items():
            if b != a and b in ns_pods:
                row[b] = shared(allowed, pods_a * ns_pods[b])
    return matrix


def _classes_on_node(index: PodClasses) -> dict[str, dict[PodClass, int]]:
    """node -> {class: members on that node}, for pods on nodes with hostNetwork pods."""
    result: dict[str, dict[PodClass, int]] = {}
    for node in index.host_pods_on_node:
        counter: dict[PodClass, int] = defaultdict(int)
        for pod in index.pods_on_node[node]:
            counter[index.class_of[pod.key]] += 1
        result[node] = counter
    return result


def _without_self(
    index: PodClasses,
    cls: PodClass,
    bits: int,
    pods: int,
    namespaces: AbstractSet[str],
    extra_namespaces: AbstractSet[str] = frozenset(),
) -> tuple[int, int]:
    """Counts of other pods and of their namespaces, the pod itself taken out."""
    count = len(namespaces) + len(extra_namespaces - namespaces)
    if has(bits, cls.index):
        pods -= 1
        others = bits & index.ns_bits[cls.namespace] & index.active & ~(1 << cls.index)
        if cls.weight == 1 and not others and cls.namespace not in extra_namespaces:
            count -= 1
    return pods, count


def _blast(
    index: PodClasses,
    cls: PodClass,
    bits: int,
    counted: tuple[int, frozenset[str]],
    classes_on_node: dict[str, dict[PodClass, int]],
    pairs: PairCounts | None,
) -> tuple[int, int]:
    """Other pods and namespaces in a row or column of `cls`, plus those on a
    member's own node (traffic between a pod and its node's hostNetwork pods is
    always allowed). With members on several nodes, the largest count is given.
    For a row, `pairs` (namespace pod-pair counts) gets the own-node pairs too."""
    pods, namespaces = counted
    best = _without_self(index, cls, bits, pods, namespaces)
    if cls.host_network:
        # A hostNetwork class sits on one node, and meets every pod there.
        extra = [
            (other, count)
            for other, count in classes_on_node.get(cls.node or "", {}).items()
            if not has(bits, other.index)
        ]
        if extra:
            best = _without_self(
                index,
                cls,
                bits,
                pods + sum(count for _, count in extra),
                namespaces,
                frozenset(other.namespace for other, _ in extra),
            )
            if pairs is not None:
                for other, count in extra:
                    pairs[cls.namespace][other.namespace] += cls.weight * count
        return best
    on_node: dict[str, int] = defaultdict(int)
    for pod in cls.members:
        if pod.node_name is not None and pod.node_name in index.host_bits_on_node:
            on_node[pod.node_name] += 1
    for node, members_here in on_node.items():
        extra_bits = index.host_bits_on_node[node] & ~bits
        if not extra_bits:
            continue
        with_node = _without_self(
            index,
            cls,
            bits,
            pods + index.weighted(extra_bits),
            namespaces,
            frozenset(index.namespaces_of(extra_bits)),
        )
        best = (max(best[0], with_node[0]), max(best[1], with_node[1]))
        if pairs is not None:
            for host_index in iter_bits(extra_bits):
                host = index.classes[host_index]
                pairs[cls.namespace][host.namespace] += members_here * host.weight
    return best
