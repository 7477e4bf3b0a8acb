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
from kaudit.netpol.addresses import parse_address
from kaudit.netpol.bits import has
from kaudit.netpol.relation import ports_match
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
    """One side's answers per class, each computed once."""

    def __init__(self, side: Side) -> None:
        self._side = side
        self._cache: dict[tuple[Scope, str, int, Protocol, int], bool] = {}

    def allows(self, question: _Question, class_index: int, port: int) -> bool:
        key = (question.scope, question.address, class_index, question.protocol, port)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._decide(question, class_index, port)
        return found

    def _decide(self, question: _Question, class_index: int, port: int) -> bool:
        engine = self._side.engine
        if question.scope is Scope.DNS:
            pod = engine.compiled.classes.classes[class_index].members[0]
            access = engine.dns_access(pod)
            return access.udp if question.protocol is Protocol.UDP else access.tcp
        direction = Direction.INGRESS if question.scope is Scope.INGRESS else Direction.EGRESS
        return admits_address(
            self._side, class_index, direction, question.address, question.protocol, port
        )


def admits_address(
    side: Side, class_index: int, direction: Direction, address: str, protocol: Protocol, port: int
) -> bool:
    """Does a class's egress (ingress) admit `address` as destination (source)?

    hostNetwork pods are outside NetworkPolicy; a class not isolated for the
    direction admits everything; otherwise one of its policy rules must hold the
    address (no peers, or an ipBlock holding it) on the port. Named ports resolve
    against the destination pod, so they never match an outside destination.
    """
    compiled = side.engine.compiled
    cls = compiled.classes.classes[class_index]
    if cls.host_network:
        return True
    tier_side = compiled.network_policy.side(direction)
    if not has(tier_side.isolated, class_index):
        return True
    parsed = parse_address(address)
    if parsed is None:
        raise ValueError(f"{address!r} is not an IP address")
    version, value = parsed
    destination = cls if direction is Direction.INGRESS else None
    for policy_rule_id in tier_side.policy_rules[class_index]:
        policy_rule = compiled.policy_rules[policy_rule_id]
        if not ports_match(policy_rule.ports, destination, protocol, port):
            continue
        if policy_rule.all_peers or any(b.contains(version, value) for b in policy_rule.blocks):
            return True
    return False


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
    for question in _questions(ranges_of, within):
        opened_of: dict[tuple[PortRange, ...], list[int]] = {}
        closed_of: dict[tuple[PortRange, ...], list[int]] = {}
        for joint in range(len(joints.members)):
            b, a = joints.before[joint], joints.after[joint]
            gained: list[PortRange] = []
            lost: list[PortRange] = []
            for port_range in question.ranges:
                port = port_range.first
                was = b >= 0 and answers_old.allows(question, b, port)
                now = a >= 0 and answers_new.allows(question, a, port)
                if now and not was:
                    gained.append(port_range)
                elif was and not now:
                    lost.append(port_range)
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
