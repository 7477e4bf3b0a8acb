"""The reachability matrix of one port, grouped: by pod class, workload or namespace.

The dense matrix is pods x pods; these answers are built row by row from the
class-level relation (`kaudit.netpol.relation`), so no step holds more than one
row of the answer:

- `class_groups` / `class_rows`: one group per pod class with running or pending
  pods. Groups are exact: pods p != q may connect when the row of p's group holds
  q's group, or when one of them is hostNetwork and both run on the same node
  (traffic between a pod and its own node is always allowed).
- `pod_groups` / `group_rows`: one group per workload or per namespace, with,
  for every pair of groups some of whose pods may connect, how many pod pairs
  may connect out of how many (pairs of a pod with itself left out).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kaudit.model import Pod, Protocol
from kaudit.netpol.bits import iter_bits
from kaudit.netpol.classes import PodClass
from kaudit.netpol.engine import PolicyEngine

GROUP_KINDS = ("class", "workload", "namespace")


@dataclass(frozen=True, slots=True)
class ClassRow:
    """The classes (by group id) that every pod of group `source` may reach."""

    source: int
    targets: tuple[int, ...]


def class_groups(engine: PolicyEngine) -> list[PodClass]:
    """The pod classes with running or pending pods, in the engine's class order
    (by namespace); a class's position in this list is its group id."""
    classes = engine.compiled.classes
    return [classes.classes[i] for i in iter_bits(classes.active) if classes.classes[i].members]


def class_rows(
    engine: PolicyEngine, groups: list[PodClass], port: int, protocol: Protocol
) -> Iterator[ClassRow]:
    """Per class group, in order, the class groups its pods may reach on `port`/`protocol`."""
    relation = engine.relation(protocol, port)
    group_of = {cls.index: position for position, cls in enumerate(groups)}
    listed = sum(1 << cls.index for cls in groups)
    for position, cls in enumerate(groups):
        row = relation.rows[cls.index] & listed
        yield ClassRow(position, tuple(group_of[i] for i in iter_bits(row)))


@dataclass(frozen=True, slots=True)
class PodGroup:
    """A workload ("namespace/Kind/name") or a namespace, and its pods."""

    name: str
    pods: tuple[Pod, ...]


@dataclass(frozen=True, slots=True)
class GroupPair:
    """How many pod pairs of two groups may connect, out of how many."""

    target: int
    allowed: int
    pairs: int

    @property
    def verdict(self) -> str:
        if self.allowed == 0:
            return "denied"
        return "allowed" if self.allowed == self.pairs else "partial"


@dataclass(frozen=True, slots=True)
class GroupRow:
    """The groups some of whose pods group `source`'s pods may reach (allowed > 0)."""

    source: int
    pairs: tuple[GroupPair, ...]


def group_name(pod: Pod, kind: str) -> str:
    if kind == "namespace":
        return pod.namespace
    return f"{pod.namespace}/{pod.owner}"


def pod_groups(engine: PolicyEngine, kind: str) -> list[PodGroup]:
    """The pods of the matrix grouped by workload or namespace, sorted by name."""
    members: dict[str, list[Pod]] = {}
    for pod in engine.pods:
        members.setdefault(group_name(pod, kind), []).append(pod)
    return [PodGroup(name, tuple(members[name])) for name in sorted(members)]


def group_rows(
    engine: PolicyEngine, groups: list[PodGroup], port: int, protocol: Protocol
) -> Iterator[GroupRow]:
    """Per group, in order, the pod pairs towards every group it may partly reach."""
    classes = engine.compiled.classes
    relation = engine.relation(protocol, port)
    group_of = {pod.key: position for position, group in enumerate(groups) for pod in group.pods}
    # Per class, how many of its pods each group holds (a class may span workloads),
    # and per group, how many of its pods each class holds.
    split: dict[int, dict[int, int]] = {}
    held_by: list[dict[int, int]] = []
    for position, group in enumerate(groups):
        own: dict[int, int] = {}
        for pod in group.pods:
            own[classes.class_of[pod.key].index] = own.get(classes.class_of[pod.key].index, 0) + 1
        for class_index, count in own.items():
            split.setdefault(class_index, {})[position] = count
        held_by.append(own)
    extra = _own_node_extras(engine, relation.rows, group_of)
    sizes = [len(group.pods) for group in groups]
    for position in range(len(groups)):
        allowed: dict[int, int] = {}
        for class_index, count in held_by[position].items():
            for target_class in iter_bits(relation.rows[class_index] & classes.active):
                for target, held in split.get(target_class, {}).items():
                    pairs = count * held
                    if target_class == class_index and target == position:
                        pairs -= count  # a pod and itself
                    allowed[target] = allowed.get(target, 0) + pairs
        for target, added in extra.get(position, {}).items():
            allowed[target] = allowed.get(target, 0) + added
        yield GroupRow(
            position,
            tuple(
                GroupPair(target, allowed[target], _pairs(sizes, position, target))
                for target in sorted(allowed)
                if allowed[target] > 0
            ),
        )


def _pairs(sizes: list[int], source: int, target: int) -> int:
    if source == target:
        return sizes[source] * (sizes[source] - 1)
    return sizes[source] * sizes[target]


def _own_node_extras(
    engine: PolicyEngine, rows: tuple[int, ...], group_of: dict[str, int]
) -> dict[int, dict[int, int]]:
    """Pod pairs allowed only because one of them is hostNetwork on the other's node,
    counted per source group and target group."""
    classes = engine.compiled.classes
    extra: dict[int, dict[int, int]] = {}

    def note(src: Pod, dst: Pod) -> None:
        if src.key == dst.key or dst.key not in group_of:
            return
        if rows[classes.class_of[src.key].index] >> classes.class_of[dst.key].index & 1:
            return  # the policies allow it already
        counts = extra.setdefault(group_of[src.key], {})
        counts[group_of[dst.key]] = counts.get(group_of[dst.key], 0) + 1

    for node, host_pods in classes.host_pods_on_node.items():
        on_node = classes.pods_on_node.get(node, ())
        for host in host_pods:
            if host.key not in group_of:
                continue
            for other in on_node:
                note(host, other)
                if not other.host_network and other.key in group_of:
                    note(other, host)
    return extra
