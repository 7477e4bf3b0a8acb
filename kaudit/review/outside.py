"""The outside cases of the comparison: pods to outside addresses and DNS, outside to pods.

Each is decided once per pod class of each side (the answer depends on the class
alone), then compared per joint class (see `kaudit.review.connectivity`):

- pods to the internet (`INTERNET_ADDRESS`, one public address standing for every
  address no ipBlock singles out) and to the metadata endpoint, on the source's
  egress policies;
- pods to the cluster DNS pods on UDP and TCP 53, as `PolicyEngine.dns_access`
  decides it (every DNS pod reachable);
- the internet to pods, on the destination's ingress policies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kaudit.model import Protocol
from kaudit.netpol import Direction
from kaudit.netpol.addresses import parse_range
from kaudit.netpol.bits import has
from kaudit.netpol.outside import side_for_range
from kaudit.review.changes import (
    CLUSTER_DNS,
    DNS_PORT,
    INTERNET_ADDRESS,
    METADATA_ADDRESS,
    METADATA_PORT,
    PathChange,
    Scope,
)
from kaudit.review.ports import PortRange, merge_ranges
from kaudit.review.sides import JointClasses, Side


@dataclass(frozen=True, slots=True)
class OutsideChanges:
    opened: tuple[PathChange, ...]
    closed: tuple[PathChange, ...]


@dataclass(frozen=True, slots=True)
class _Question:
    scope: Scope
    address: str
    protocol: Protocol
    ranges: tuple[PortRange, ...]


def _questions(
    ranges_of: Mapping[Protocol, Sequence[PortRange]], within: PortRange
) -> list[_Question]:
    questions = []
    for protocol, ranges in ranges_of.items():
        questions.append(_Question(Scope.EGRESS, INTERNET_ADDRESS, protocol, tuple(ranges)))
        questions.append(_Question(Scope.INGRESS, INTERNET_ADDRESS, protocol, tuple(ranges)))
    metadata = PortRange(METADATA_PORT, METADATA_PORT)
    if Protocol.TCP in ranges_of and within.clipped(metadata):
        questions.append(_Question(Scope.EGRESS, METADATA_ADDRESS, Protocol.TCP, (metadata,)))
    dns = PortRange(DNS_PORT, DNS_PORT)
    for protocol in (Protocol.UDP, Protocol.TCP):
        if protocol in ranges_of and within.clipped(dns):
            questions.append(_Question(Scope.DNS, CLUSTER_DNS, protocol, (dns,)))
    return questions


class _Answers:
    """One side's answers, per question and class, over the question's ranges.

    Classes that every policy rule treats alike for the question (the same policy
    rules of the direction, the same named ports, the same isolation) share one
    computed answer.
    """

    def __init__(self, side: Side) -> None:
        self._side = side
        # Keyed by the question's number in the list of questions.
        self._by_class: dict[tuple[int, int], tuple[bool, ...]] = {}
        self._by_behaviour: dict[tuple[int, int], tuple[bool, ...]] = {}
        self._behaviours: dict[object, int] = {}
        self._behaviour_of: dict[tuple[Direction, int], int] = {}

    def row(self, number: int, question: _Question, class_index: int) -> tuple[bool, ...]:
        """Per range of question `number`, is it allowed for the class."""
        found = self._by_class.get((number, class_index))
        if found is None:
            if question.scope is Scope.DNS:
                found = tuple(self._dns(question, class_index) for _ in question.ranges)
            else:
                key = (number, self._behaviour(question, class_index))
                found = self._by_behaviour.get(key)
                if found is None:
                    found = self._by_behaviour[key] = tuple(
                        self._address(question, class_index, r.first) for r in question.ranges
                    )
            self._by_class[(number, class_index)] = found
        return found

    def _behaviour(self, question: _Question, class_index: int) -> int:
        """A number per distinct way the policies treat a class in one direction."""
        direction = _direction(question)
        found = self._behaviour_of.get((direction, class_index))
        if found is not None:
            return found
        compiled = self._side.engine.compiled
        cls = compiled.classes.classes[class_index]
        behaviour: object
        if cls.host_network:
            behaviour = "host network"
        else:
            # The policy rules of every tier for the class, and where it is isolated.
            tiers = tuple(
                (
                    t.side(direction).policy_rules[class_index],
                    has(t.side(direction).isolated, class_index),
                )
                for t in compiled.tiers
            )
            named = tuple(sorted(cls.named_ports.items())) if direction is Direction.INGRESS else ()
            behaviour = (direction, tiers, named)
        number = self._behaviours.setdefault(behaviour, len(self._behaviours))
        self._behaviour_of[(direction, class_index)] = number
        return number

    def _address(self, question: _Question, class_index: int, port: int) -> bool:
        return admits_address(
            self._side,
            class_index,
            _direction(question),
            question.address,
            question.protocol,
            port,
        )

    def _dns(self, question: _Question, class_index: int) -> bool:
        """Every DNS pod reachable on port 53, from the relation's row of the class (as
        `PolicyEngine.dns_access` decides it for the class's first pod)."""
        engine = self._side.engine
        classes = engine.compiled.classes
        source = classes.classes[class_index].members[0]
        row = engine.relation(question.protocol, DNS_PORT).rows[class_index]
        for dns in classes.dns_pods:
            if dns.key == source.key or has(row, classes.class_of[dns.key].index):
                continue
            own_node = (source.host_network or dns.host_network) and (
                source.node_name is not None and source.node_name == dns.node_name
            )
            if not own_node:
                return False
        return True


def _direction(question: _Question) -> Direction:
    return Direction.INGRESS if question.scope is Scope.INGRESS else Direction.EGRESS


def admits_address(
    side: Side,
    class_index: int,
    direction: Direction,
    address: str,
    protocol: Protocol,
    port: int,
) -> bool:
    """Does a class's egress (ingress) admit `address` as destination (source)?

    As the engine decides it for outside addresses, tier by tier (named ports resolve
    against the destination pod, so they never match an outside destination);
    hostNetwork pods are outside every policy.
    """
    compiled = side.engine.compiled
    cls = compiled.classes.classes[class_index]
    if cls.host_network:
        return True
    target = parse_range(address)
    _, reached = side_for_range(compiled, cls.members[0], cls, target, port, protocol, direction)
    return bool(reached)


def outside_changes(
    old: Side,
    new: Side,
    joints: JointClasses,
    ranges_of: Mapping[Protocol, Sequence[PortRange]],
    within: PortRange,
) -> OutsideChanges:
    answers_old, answers_new = _Answers(old), _Answers(new)
    opened: list[PathChange] = []
    closed: list[PathChange] = []
    for number, question in enumerate(_questions(ranges_of, within)):
        opened_of: dict[tuple[PortRange, ...], list[int]] = {}
        closed_of: dict[tuple[PortRange, ...], list[int]] = {}
        nothing = (False,) * len(question.ranges)
        for joint in range(len(joints.members)):
            b, a = joints.before[joint], joints.after[joint]
            was = answers_old.row(number, question, b) if b >= 0 else nothing
            now = answers_new.row(number, question, a) if a >= 0 else nothing
            if was == now:
                continue
            gained = [r for r, w, n in zip(question.ranges, was, now, strict=True) if n and not w]
            lost = [r for r, w, n in zip(question.ranges, was, now, strict=True) if w and not n]
            if gained:
                opened_of.setdefault(merge_ranges(gained), []).append(joint)
            if lost:
                closed_of.setdefault(merge_ranges(lost), []).append(joint)
        opened += _blocks(question, joints, opened_of)
        closed += _blocks(question, joints, closed_of)
    return OutsideChanges(tuple(opened), tuple(closed))


def _blocks(
    question: _Question, joints: JointClasses, found: Mapping[tuple[PortRange, ...], list[int]]
) -> list[PathChange]:
    changes = []
    for port_ranges, joint_list in found.items():
        pods = tuple(sorted(key for joint in joint_list for key in joints.members[joint]))
        address = (question.address,)
        sources, targets = (address, pods) if question.scope.from_outside else (pods, address)
        changes.append(PathChange(question.scope, sources, targets, question.protocol, port_ranges))
    return changes
