"""Egress to addresses outside the cluster: which part of an address range a pod may reach;
and whether a class is open to every other namespace (`class_open`).

Tier by tier, as pair verdicts are decided (`kaudit.netpol.compile`): on the
NetworkPolicy tier alone the allowed part is the union of what each matching policy
rule's peers hold (ipBlocks, or everything for a rule without `to`); with admin
tiers each policy rule decides the part of the range still undecided (networks and
nodes peers hold addresses; namespaces and pods peers none).
"""

from __future__ import annotations

from kaudit.model import ObjectRef, Pod, Protocol
from kaudit.netpol.addresses import AddressRange, Interval, intersect, normalize, subtract
from kaudit.netpol.bits import has
from kaudit.netpol.classes import PROTOCOLS, PodClass
from kaudit.netpol.compile import Action, CompiledPolicies
from kaudit.netpol.relation import PortCache, port_bits, ports_match
from kaudit.netpol.verdict import Direction, PolicyRuleRef, Reason, SideVerdict


def isolating_policies(
    compiled: CompiledPolicies, direction: Direction, class_index: int
) -> tuple[ObjectRef, ...]:
    """The policies isolating a class for a direction (NetworkPolicies selecting it),
    tier by tier."""
    refs = compiled.policy_refs
    return tuple(
        refs[i]
        for tier in compiled.tiers
        if has(tier.side(direction).isolated, class_index)
        for i in tier.side(direction).policies[class_index]
    )


def egress_to_range(
    compiled: CompiledPolicies,
    src: Pod,
    cls: PodClass,
    target: AddressRange,
    port: int,
    protocol: Protocol,
) -> tuple[SideVerdict, tuple[Interval, ...]]:
    whole = ((target.first, target.last),)
    if len(compiled.tiers) > 1:
        return _egress_to_range_in_tiers(compiled, src, cls, target, port, protocol)
    # The NetworkPolicy tier alone, whose policy rules all allow: the union of the
    # parts each allows.
    policies = isolating_policies(compiled, Direction.EGRESS, cls.index)
    if not policies:
        return SideVerdict(Direction.EGRESS, src.ref, True, Reason.NOT_ISOLATED), whole
    allowed: list[Interval] = []
    allowing: list[PolicyRuleRef] = []
    for policy_rule_id in compiled.network_policy_tier.egress.policy_rules[cls.index]:
        policy_rule = compiled.policy_rules[policy_rule_id]
        if not ports_match(policy_rule.ports, None, protocol, port):
            continue
        part = _rule_part(compiled, policy_rule_id, target)
        if part:
            allowed.extend(part)
            allowing.append(policy_rule.ref)
    reached = normalize(allowed)
    reason = Reason.POLICY_RULES if reached else Reason.NO_POLICY_RULE
    side = SideVerdict(Direction.EGRESS, src.ref, bool(reached), reason, policies, tuple(allowing))
    return side, reached


def _rule_part(
    compiled: CompiledPolicies, policy_rule_id: int, target: AddressRange
) -> tuple[Interval, ...]:
    """The part of `target` a policy rule's peers hold."""
    policy_rule = compiled.policy_rules[policy_rule_id]
    if policy_rule.all_peers:
        return ((target.first, target.last),)
    return normalize(i for b in policy_rule.blocks for i in b.within(target))


def _egress_to_range_in_tiers(
    compiled: CompiledPolicies,
    src: Pod,
    cls: PodClass,
    target: AddressRange,
    port: int,
    protocol: Protocol,
) -> tuple[SideVerdict, tuple[Interval, ...]]:
    """Tier by tier, each policy rule deciding the part of the range still undecided."""
    policies = isolating_policies(compiled, Direction.EGRESS, cls.index)
    undecided: tuple[Interval, ...] = ((target.first, target.last),)
    allowed: list[Interval] = []
    allowing: list[PolicyRuleRef] = []
    denying: list[PolicyRuleRef] = []
    for tier in compiled.tiers:
        passed: list[Interval] = []
        for policy_rule_id in tier.egress.policy_rules[cls.index]:
            policy_rule = compiled.policy_rules[policy_rule_id]
            if not undecided or not ports_match(policy_rule.ports, None, protocol, port):
                continue
            hit = intersect(_rule_part(compiled, policy_rule_id, target), undecided)
            if not hit:
                continue
            if not tier.allow_only:
                undecided = subtract(undecided, hit)
            if policy_rule.action is Action.ALLOW:
                allowed.extend(hit)
                allowing.append(policy_rule.ref)
            elif policy_rule.action is Action.DENY:
                denying.append(policy_rule.ref)
            else:
                passed.extend(hit)
        if tier.allow_only and allowed:
            undecided = subtract(undecided, allowed)
        if has(tier.egress.isolated, cls.index):
            undecided = ()
        undecided = normalize((*undecided, *passed))
    by_default = bool(undecided)
    reached = normalize((*allowed, *undecided))
    if allowing:
        reason = Reason.POLICY_RULES
    elif by_default:
        reason = Reason.NOT_ISOLATED
    elif denying:
        reason = Reason.DENIED_BY_POLICY_RULE
    else:
        reason = Reason.NO_POLICY_RULE
    side = SideVerdict(
        Direction.EGRESS,
        src.ref,
        bool(reached),
        reason,
        policies,
        tuple(allowing),
        tuple(denying),
    )
    return side, reached


def class_open(compiled: CompiledPolicies, cls: PodClass, direction: Direction) -> bool:
    """Does the class's side admit every pod of every other namespace (and "any other
    pod", a pod without labels in a namespace no selector names) on every port?

    Ingress: the sources its ingress admits; egress: the destinations its egress admits
    (the other side's policies are not considered). Every tier is walked, so a
    baseline or admin deny closes a class that no NetworkPolicy isolates.
    """
    classes = compiled.classes
    tiers = compiled.tiers
    ingress = direction is Direction.INGRESS
    if cls.host_network or all(
        not t.side(direction).policy_rules[cls.index]
        and not has(t.side(direction).isolated, cls.index)
        for t in tiers
    ):
        return True
    outsider = 1 << classes.class_of[classes.outsider.key].index
    needed = (classes.active | outsider) & classes.policed & ~classes.ns_bits[cls.namespace]
    policy_rules = compiled.policy_rules
    for proto in PROTOCOLS:
        for number in compiled.atoms[proto]:
            port_cache: PortCache = {}
            for family in classes.families:
                admitted = 0
                undecided = needed
                for tier in tiers:
                    side = tier.side(direction)
                    passed = 0
                    for policy_rule_id in side.policy_rules[cls.index]:
                        policy_rule = policy_rules[policy_rule_id]
                        ports = port_bits(compiled, policy_rule.ports, proto, number, port_cache)
                        if ingress:  # the destination is the class itself
                            if not has(ports, cls.index):
                                continue
                            hit = policy_rule.peer_bits[family] & undecided
                        else:
                            hit = policy_rule.peer_bits[family] & ports & undecided
                        if policy_rule.action is Action.ALLOW:
                            admitted |= hit
                        elif policy_rule.action is Action.PASS:
                            passed |= hit
                        if not tier.allow_only:
                            undecided &= ~hit
                    if tier.allow_only:
                        undecided &= ~admitted
                    if has(side.isolated, cls.index):
                        undecided = 0
                    undecided |= passed
                if needed & ~(admitted | undecided):
                    return False
    return True
