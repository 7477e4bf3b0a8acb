"""The connectivity two snapshots differ in, computed on pod classes, never pod by pod.

Pods are matched across the two snapshots by namespace/name. Each pod lies in one
class of each side (or of one side only, when the change adds or removes it);
pods that share both classes form a *joint class*, and every pod of one joint
class changes the same way towards every pod of another. So the comparison runs
on joint classes:

1. The ports of each protocol are cut into elementary ranges inside which every
   policy rule of both sides agrees (`kaudit.review.ports`); one port per range
   is asked of the engine's class-level relation (`PolicyEngine.relation`).
2. A side's row (the classes a class reaches) is translated into joint classes,
   once per distinct row; `after & ~before` is what opened, `before & ~after`
   what closed.
3. Per source joint class, the targets are split by the exact set of ranges on
   which they changed, and sources with the same targets and ranges are merged:
   each block is one `PathChange`.

Pairs of a hostNetwork pod and a pod on its node are always allowed, whatever the
policies say; they are taken out of the blocks and decided pair by pair.
The outside cases (`kaudit.review.outside`) run per class too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from kaudit.model import Protocol
from kaudit.netpol import PROTOCOLS, PolicyEngine
from kaudit.netpol.bits import bits_of, has
from kaudit.review.changes import ConnectivityDiff, PathChange, Scope
from kaudit.review.outside import outside_changes
from kaudit.review.ports import ALL_PORTS, PortRange, elementary_ranges, merge_ranges
from kaudit.review.refine import Refinement
from kaudit.review.sides import JointClasses, Side


def compare_connectivity(
    before: PolicyEngine,
    after: PolicyEngine,
    *,
    ports: PortRange | None = None,
    protocols: Sequence[Protocol] = PROTOCOLS,
) -> ConnectivityDiff:
    """What `after` opens and closes compared with `before`, on `ports` (all when None)
    of `protocols`: pod to pod, pods to outside addresses and DNS, outside to pods."""
    old, new = Side.of(before), Side.of(after)
    joints = JointClasses.of(old, new)
    within = ports or ALL_PORTS
    opened: list[PathChange] = []
    closed: list[PathChange] = []
    ranges_of = {
        protocol: elementary_ranges((before.compiled, after.compiled), protocol, within)
        for protocol in protocols
    }
    old_pairs, new_pairs = old.own_node_pairs(), new.own_node_pairs()
    exceptions: dict[str, set[str]] = {}
    for source, target in old_pairs | new_pairs:
        exceptions.setdefault(source, set()).add(target)
    for protocol in protocols:
        found_opened, found_closed = _pod_changes(old, new, joints, protocol, ranges_of[protocol])
        opened += _without(found_opened, exceptions)
        closed += _without(found_closed, exceptions)
    extra_opened, extra_closed = _own_node_changes(
        old, new, old_pairs, new_pairs, ranges_of, protocols
    )
    outside = outside_changes(old, new, joints, ranges_of, within)
    all_opened = _sorted([*opened, *extra_opened, *outside.opened])
    all_closed = _sorted([*closed, *extra_closed, *outside.closed])
    return ConnectivityDiff(
        opened=all_opened,
        closed=all_closed,
        protocols=tuple(protocols),
        ports=ports,
        workloads=_workloads(old, new, (*all_opened, *all_closed)),
        pods_before=len(old.pods),
        pods_after=len(new.pods),
        added_pods=tuple(sorted(new.pods.keys() - old.pods.keys())),
        removed_pods=tuple(sorted(old.pods.keys() - new.pods.keys())),
    )


def _pod_changes(
    old: Side,
    new: Side,
    joints: JointClasses,
    protocol: Protocol,
    ranges: Sequence[PortRange],
) -> tuple[list[PathChange], list[PathChange]]:
    """Pod-to-pod blocks of one protocol (own-node pairs not yet taken out)."""
    count = len(joints.members)
    translate_old = joints.translator(joints.before)
    translate_new = joints.translator(joints.after)
    opened: dict[int, Refinement] = {}
    closed: dict[int, Refinement] = {}
    for position, port_range in enumerate(ranges):
        rows_old = old.engine.relation(protocol, port_range.first).rows
        rows_new = new.engine.relation(protocol, port_range.first).rows
        for joint in range(count):
            b, a = joints.before[joint], joints.after[joint]
            reach_old = translate_old(rows_old[b]) if b >= 0 else 0
            reach_new = translate_new(rows_new[a]) if a >= 0 else 0
            if reach_old != reach_new:
                opened.setdefault(joint, Refinement()).add(position, reach_new & ~reach_old)
                closed.setdefault(joint, Refinement()).add(position, reach_old & ~reach_new)
    return (
        _blocks(joints, opened, ranges, protocol),
        _blocks(joints, closed, ranges, protocol),
    )


def _blocks(
    joints: JointClasses,
    refinements: Mapping[int, Refinement],
    ranges: Sequence[PortRange],
    protocol: Protocol,
) -> list[PathChange]:
    """Sources with the same targets on the same ranges merged into one block."""
    sources_of: dict[tuple[tuple[PortRange, ...], int], list[int]] = {}
    for joint, refinement in sorted(refinements.items()):
        alone = len(joints.members[joint]) == 1
        for signature, found in refinement.parts():
            # A pod and itself always connect: a lone pod is not its own target.
            targets = found & ~(1 << joint) if alone else found
            if not targets:
                continue
            key = (merge_ranges([ranges[i] for i in signature]), targets)
            sources_of.setdefault(key, []).append(joint)
    changes = []
    for (port_ranges, targets), sources in sources_of.items():
        change = PathChange(
            Scope.PODS,
            joints.pods_of(bits_of(sources)),
            joints.pods_of(targets),
            protocol,
            port_ranges,
        )
        if change.pairs:
            changes.append(change)
    return changes


def _without(changes: Iterable[PathChange], taken: Mapping[str, set[str]]) -> list[PathChange]:
    """The blocks less the given pairs (source -> targets), split where they hold one."""
    if not taken:
        return list(changes)
    result: list[PathChange] = []
    for change in changes:
        hit: dict[str, set[str]] = {}
        targets: set[str] | None = None
        for source in change.sources:
            if source in taken:
                targets = set(change.targets) if targets is None else targets
                found = taken[source] & targets
                if found:
                    hit[source] = found
        if not hit:
            result.append(change)
            continue
        rest = tuple(s for s in change.sources if s not in hit)
        parts = [(rest, change.targets)] if rest else []
        parts += [((s,), tuple(t for t in change.targets if t not in hit[s])) for s in hit]
        for sources, kept in parts:
            part = PathChange(change.scope, sources, kept, change.protocol, change.ports)
            if kept and part.pairs:
                result.append(part)
    return result


def _own_node_changes(
    old: Side,
    new: Side,
    old_pairs: set[tuple[str, str]],
    new_pairs: set[tuple[str, str]],
    ranges_of: Mapping[Protocol, Sequence[PortRange]],
    protocols: Sequence[Protocol],
) -> tuple[list[PathChange], list[PathChange]]:
    """Pairs allowed on one side only because of the own-node exception, pair by pair."""
    opened: list[PathChange] = []
    closed: list[PathChange] = []
    for pairs, other, bucket in (
        (new_pairs - old_pairs, old, opened),
        (old_pairs - new_pairs, new, closed),
    ):
        for source, target in sorted(pairs):
            for protocol in protocols:
                denied = [
                    port_range
                    for port_range in ranges_of[protocol]
                    if not _class_allows(other, source, target, protocol, port_range.first)
                ]
                if denied:
                    bucket.append(
                        PathChange(Scope.PODS, (source,), (target,), protocol, merge_ranges(denied))
                    )
    return opened, closed


def _class_allows(side: Side, source: str, target: str, protocol: Protocol, port: int) -> bool:
    if source not in side.class_of or target not in side.class_of:
        return False
    row = side.engine.relation(protocol, port).rows[side.class_of[source]]
    return has(row, side.class_of[target])


def _workloads(old: Side, new: Side, changes: Iterable[PathChange]) -> dict[str, str]:
    """The workload of every pod the changes name (the later side's when on both)."""
    names: dict[str, str] = {}
    for change in changes:
        for key in (*change.sources, *change.targets):
            if key in names:
                continue
            pod = new.pods.get(key) or old.pods.get(key)
            if pod is not None:
                names[key] = f"{pod.namespace}/{pod.owner}"
    return names


def _sorted(changes: Iterable[PathChange]) -> tuple[PathChange, ...]:
    return tuple(sorted(changes, key=lambda change: change.sort_key))
