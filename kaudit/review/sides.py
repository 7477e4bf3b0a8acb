"""The two sides of a comparison: each snapshot's engine and pods, and the joint classes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kaudit.model import Pod
from kaudit.netpol import PolicyEngine
from kaudit.netpol.bits import bits_of, iter_bits


@dataclass(frozen=True, slots=True)
class Side:
    """One snapshot's engine and its running or pending pods, by key, with their classes."""

    engine: PolicyEngine
    pods: Mapping[str, Pod]
    class_of: Mapping[str, int]

    @classmethod
    def of(cls, engine: PolicyEngine) -> Side:
        pods: dict[str, Pod] = {}
        class_of: dict[str, int] = {}
        for pod_class in engine.compiled.classes.classes:
            for pod in pod_class.members:
                pods.setdefault(pod.key, pod)
                class_of.setdefault(pod.key, pod_class.index)
        return cls(engine, pods, class_of)

    def own_node_pairs(self) -> set[tuple[str, str]]:
        """(source, target) pairs allowed because one is hostNetwork on the other's node."""
        classes = self.engine.compiled.classes
        pairs: set[tuple[str, str]] = set()
        for node, hosts in classes.host_pods_on_node.items():
            on_node = classes.pods_on_node.get(node, ())
            for host in hosts:
                for other in on_node:
                    if other.key != host.key:
                        pairs.add((host.key, other.key))
                        pairs.add((other.key, host.key))
        return pairs


@dataclass(frozen=True, slots=True)
class JointClasses:
    """Pods grouped by (class before, class after); -1 where the pod is on one side only."""

    members: tuple[tuple[str, ...], ...]
    before: tuple[int, ...]
    after: tuple[int, ...]

    @classmethod
    def of(cls, before: Side, after: Side) -> JointClasses:
        index: dict[tuple[int, int], int] = {}
        members: list[list[str]] = []
        for key in sorted(before.class_of.keys() | after.class_of.keys()):
            joint = (before.class_of.get(key, -1), after.class_of.get(key, -1))
            position = index.get(joint)
            if position is None:
                position = index[joint] = len(members)
                members.append([])
            members[position].append(key)
        ordered = sorted(index, key=lambda joint: members[index[joint]][0])
        return cls(
            members=tuple(tuple(members[index[joint]]) for joint in ordered),
            before=tuple(joint[0] for joint in ordered),
            after=tuple(joint[1] for joint in ordered),
        )

    def translator(self, side_classes: tuple[int, ...]) -> Callable[[int], int]:
        """Turns a side's row (bits over its classes) into bits over joint classes."""
        joints_of: dict[int, list[int]] = {}
        for joint, side_class in enumerate(side_classes):
            if side_class >= 0:
                joints_of.setdefault(side_class, []).append(joint)
        cache: dict[int, int] = {}

        def translate(row: int) -> int:
            found = cache.get(row)
            if found is None:
                found = cache[row] = bits_of(
                    joint for c in iter_bits(row) for joint in joints_of.get(c, ())
                )
            return found

        return translate

    def pods_of(self, bits: int) -> tuple[str, ...]:
        return tuple(sorted(key for joint in iter_bits(bits) for key in self.members[joint]))
