"""Class-level reachability over the compiled form: whole rows and columns of the matrix.

`relation(compiled, protocol, port)` gives, for every class, the classes it may
reach (its row) and the classes that may reach it (its column), on one port or
on any port. Every tier is walked in order (see `kaudit.netpol.compile`). A row is
the destinations the source's egress admits, ANDed with the destinations whose
ingress admits the source, which is found from the other side: the ingress policy
rules whose peers hold the source, in evaluation order, each deciding the
destinations it selects. In a tier whose policy rules all allow (NetworkPolicy),
first match is the union, so a side is the OR of `peer_bits & port_bits`; in an
ordered tier each policy rule decides `peer_bits & port_bits & undecided`. Rows are
computed per group of sources, columns per group of destinations, so no step walks
pods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kaudit.model import PolicyPort, Protocol
from kaudit.netpol.bits import has
from kaudit.netpol.classes import PROTOCOLS, Family, PodClass
from kaudit.netpol.compile import Action, CompiledPolicies
from kaudit.netpol.verdict import NETWORK_POLICY_TIER


@dataclass(frozen=True, slots=True)
class Relation:
    """Class-level reachability: rows[s] = classes s may reach; cols[d] = classes reaching d.

    Pairs of pods of one class are the diagonal bits.
    """

    rows: tuple[int, ...]
    cols: tuple[int, ...]


def ports_match(
    ports: Sequence[PolicyPort], cls: PodClass | None, protocol: Protocol, port: int
) -> bool:
    """Does a policy rule's port list admit `port`/`protocol` on a destination class?

    `cls` is None for a destination outside the cluster (named ports cannot match).
    """
    if not ports:
        return True
    for entry in ports:
        if entry.protocol != protocol:
            continue
        if entry.port is None:
            return True
        if isinstance(entry.port, int):
            last = entry.end_port if entry.end_port is not None else entry.port
            if entry.port <= port <= last:
                return True
        elif cls is not None and cls.named_ports.get((entry.port, protocol)) == port:
            return True
    return False


# Per port list of a policy rule, the destination classes it admits (one port, one protocol).
PortCache = dict[tuple[PolicyPort, ...], int]


def port_bits(
    compiled: CompiledPolicies,
    ports: tuple[PolicyPort, ...],
    protocol: Protocol,
    port: int,
    cache: PortCache,
) -> int:
    """Destination classes on which a policy rule's port list admits `port`/`protocol`."""
    cached = cache.get(ports)
    if cached is not None:
        return cached
    bits = 0
    if ports_match(ports, None, protocol, port):
        bits = compiled.classes.everything
    else:
        named_bits = compiled.classes.named_bits
        for entry in ports:
            if entry.protocol == protocol and isinstance(entry.port, str):
                bits |= named_bits.get((entry.port, protocol, port), 0)
    cache[ports] = bits
    return bits


def relation(compiled: CompiledPolicies, protocol: Protocol | None, port: int | None) -> Relation:
    """Reachability between classes on one port, or on any port (None), per protocol
    or any protocol (None)."""
    groups = compiled.groups
    protocols = PROTOCOLS if protocol is None else (protocol,)
    points = [
        (proto, p)
        for proto in protocols
        for p in (compiled.atoms[proto] if port is None else [port])
    ]
    joint_rows = [0] * len(groups.joint_src)
    joint_cols = [0] * len(groups.joint_dst)
    for proto, number in points:
        port_cache: PortCache = {}
        admits = [
            port_bits(compiled, r.ports, proto, number, port_cache) for r in compiled.policy_rules
        ]
        for position, family in enumerate(compiled.classes.families):
            rows = _rows(compiled, family, admits)
            cols = _cols(compiled, family, admits)
            for j, joint in enumerate(groups.joint_src):
                joint_rows[j] |= rows[joint[position]]
            for j, joint in enumerate(groups.joint_dst):
                joint_cols[j] |= cols[joint[position]]
    return Relation(
        rows=tuple(joint_rows[j] for j in groups.joint_src_of),
        cols=tuple(joint_cols[j] for j in groups.joint_dst_of),
    )


def _rows(compiled: CompiledPolicies, family: Family, admits: list[int]) -> list[int]:
    if len(compiled.tiers) == 1:
        return _rows_allow_only(compiled, family, admits)
    policy_rules = compiled.policy_rules
    everything = compiled.classes.everything
    tiers = compiled.tiers
    # NetworkPolicy ingress rules without `from` admit every source: once for everyone.
    all_peer_admitted = 0
    for policy_rule_id in compiled.groups.all_peer_ingress:
        all_peer_admitted |= policy_rules[policy_rule_id].selected & admits[policy_rule_id]
    rows = []
    for own_by_tier, memberships_by_tier, representative in compiled.groups.src[family]:
        # The source's egress, over destinations.
        reach = 0
        undecided = everything
        for tier, own in zip(tiers, own_by_tier, strict=True):
            isolated = has(tier.egress.isolated, representative)
            if tier.allow_only:
                if own or isolated:
                    hit = 0
                    for policy_rule_id in own:
                        hit |= (
                            policy_rules[policy_rule_id].peer_bits[family] & admits[policy_rule_id]
                        )
                    reach |= hit & undecided
                    undecided &= ~hit
                if isolated:
                    undecided = 0
                    break
                continue
            passed = 0
            for policy_rule_id in own:
                policy_rule = policy_rules[policy_rule_id]
                hit = policy_rule.peer_bits[family] & admits[policy_rule_id] & undecided
                if hit:
                    undecided &= ~hit
                    if policy_rule.action is Action.ALLOW:
                        reach |= hit
                    elif policy_rule.action is Action.PASS:
                        passed |= hit
            undecided = (0 if isolated else undecided) | passed
        reach |= undecided
        # The destinations' ingress, for this source: the rules whose peers hold it.
        admitted = 0
        undecided = everything
        for tier, memberships in zip(tiers, memberships_by_tier, strict=True):
            isolated_set = tier.ingress.isolated
            if tier.allow_only:
                hit = all_peer_admitted if tier.name == NETWORK_POLICY_TIER else 0
                for policy_rule_id in memberships:
                    hit |= policy_rules[policy_rule_id].selected & admits[policy_rule_id]
                admitted |= hit & undecided
                undecided &= ~hit & ~isolated_set
                continue
            passed = 0
            for policy_rule_id in memberships:
                policy_rule = policy_rules[policy_rule_id]
                hit = policy_rule.selected & admits[policy_rule_id] & undecided
                if hit:
                    undecided &= ~hit
                    if policy_rule.action is Action.ALLOW:
                        admitted |= hit
                    elif policy_rule.action is Action.PASS:
                        passed |= hit
            undecided = (undecided & ~isolated_set) | passed
        admitted |= undecided
        rows.append(reach & admitted)
    return rows


def _cols(compiled: CompiledPolicies, family: Family, admits: list[int]) -> list[int]:
    if len(compiled.tiers) == 1:
        return _cols_allow_only(compiled, family, admits)
    policy_rules = compiled.policy_rules
    everything = compiled.classes.everything
    tiers = compiled.tiers
    all_peer_egress = compiled.groups.all_peer_egress
    cols = []
    for own_by_tier, memberships_by_tier, representative in compiled.groups.dst[family]:
        # The destination's ingress, over sources.
        admitted = 0
        undecided = everything
        for tier, own in zip(tiers, own_by_tier, strict=True):
            isolated = has(tier.ingress.isolated, representative)
            if tier.allow_only:
                if own or isolated:
                    hit = 0
                    for policy_rule_id in own:
                        if has(admits[policy_rule_id], representative):
                            hit |= policy_rules[policy_rule_id].peer_bits[family]
                    admitted |= hit & undecided
                    undecided &= ~hit
                if isolated:
                    undecided = 0
                    break
                continue
            passed = 0
            for policy_rule_id in own:
                if not has(admits[policy_rule_id], representative):
                    continue
                policy_rule = policy_rules[policy_rule_id]
                hit = policy_rule.peer_bits[family] & undecided
                if hit:
                    undecided &= ~hit
                    if policy_rule.action is Action.ALLOW:
                        admitted |= hit
                    elif policy_rule.action is Action.PASS:
                        passed |= hit
            undecided = (0 if isolated else undecided) | passed
        admitted |= undecided
        # The sources' egress, towards this destination: the rules whose peers hold it.
        senders = 0
        undecided = everything
        for tier, memberships in zip(tiers, memberships_by_tier, strict=True):
            isolated_set = tier.egress.isolated
            if tier.allow_only:
                hit = 0
                extra = all_peer_egress if tier.name == NETWORK_POLICY_TIER else ()
                for policy_rule_id in (*memberships, *extra):
                    if has(admits[policy_rule_id], representative):
                        hit |= policy_rules[policy_rule_id].selected
                senders |= hit & undecided
                undecided &= ~hit & ~isolated_set
                continue
            passed = 0
            for policy_rule_id in memberships:
                if not has(admits[policy_rule_id], representative):
                    continue
                policy_rule = policy_rules[policy_rule_id]
                hit = policy_rule.selected & undecided
                if hit:
                    undecided &= ~hit
                    if policy_rule.action is Action.ALLOW:
                        senders |= hit
                    elif policy_rule.action is Action.PASS:
                        passed |= hit
            undecided = (undecided & ~isolated_set) | passed
        senders |= undecided
        cols.append(admitted & senders)
    return cols


# NetworkPolicy alone (the one tier, all allow): the same answers as the walks above,
# with fewer operations per group, as most clusters have no other tier.


def _rows_allow_only(compiled: CompiledPolicies, family: Family, admits: list[int]) -> list[int]:
    policy_rules = compiled.policy_rules
    everything = compiled.classes.everything
    (tier,) = compiled.tiers
    ingress_isolated, egress_isolated = tier.ingress.isolated, tier.egress.isolated
    open_ingress = everything & ~ingress_isolated
    for policy_rule_id in compiled.groups.all_peer_ingress:
        open_ingress |= policy_rules[policy_rule_id].selected & admits[policy_rule_id]
    rows = []
    for (egress_policy_rules,), (ingress_memberships,), representative in compiled.groups.src[
        family
    ]:
        if has(egress_isolated, representative):
            reach = 0
            for policy_rule_id in egress_policy_rules:
                reach |= policy_rules[policy_rule_id].peer_bits[family] & admits[policy_rule_id]
        else:
            reach = everything
        admitted = open_ingress
        for policy_rule_id in ingress_memberships:
            admitted |= policy_rules[policy_rule_id].selected & admits[policy_rule_id]
        rows.append(reach & admitted)
    return rows


def _cols_allow_only(compiled: CompiledPolicies, family: Family, admits: list[int]) -> list[int]:
    policy_rules = compiled.policy_rules
    everything = compiled.classes.everything
    (tier,) = compiled.tiers
    ingress_isolated, egress_isolated = tier.ingress.isolated, tier.egress.isolated
    open_egress = everything & ~egress_isolated
    all_peer_egress = compiled.groups.all_peer_egress
    cols = []
    for (ingress_policy_rules,), (egress_memberships,), representative in compiled.groups.dst[
        family
    ]:
        if has(ingress_isolated, representative):
            admitted = 0
            for policy_rule_id in ingress_policy_rules:
                if has(admits[policy_rule_id], representative):
                    admitted |= policy_rules[policy_rule_id].peer_bits[family]
        else:
            admitted = everything
        senders = open_egress
        for policy_rule_id in (*egress_memberships, *all_peer_egress):
            if has(admits[policy_rule_id], representative):
                senders |= policy_rules[policy_rule_id].selected
        cols.append(admitted & senders)
    return cols
