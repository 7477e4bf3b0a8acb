"""Questions about the admin policies themselves, answered on the compiled form.

- `empty_selections`: subjects and peers that hold no pod (or no node) of the snapshot;
- `shadowed_rules`: admin-tier rules that earlier rules of their tier always decide
  first, exact for the pod classes and port atoms of the snapshot (and, for networks
  peers, for every address);
- `passes_to_unisolated`: Pass rules of the Admin tier whose subjects no NetworkPolicy
  isolates for the rule's direction, so what they pass falls through to the Baseline
  tier or the default allow.
"""

from __future__ import annotations

from dataclasses import dataclass

from kaudit.model import AdminAction, AdminPolicy, LabelSelector, ObjectRef, Protocol
from kaudit.netpol.addresses import Interval, normalize, subtract
from kaudit.netpol.admin_tiers import AdminCompiler
from kaudit.netpol.bits import has, iter_bits
from kaudit.netpol.classes import CompiledBlocks, SelectorIndex, namespace_labels
from kaudit.netpol.compile import Action, CompiledPolicies, CompiledPolicyRule
from kaudit.netpol.relation import PortCache, port_bits
from kaudit.netpol.verdict import NETWORK_POLICY_TIER, Direction, PolicyRuleRef


@dataclass(frozen=True, slots=True)
class EmptySelection:
    """A subject (`rule` None) or one peer of a rule that holds nothing."""

    policy: AdminPolicy
    what: str  # "subject", or "ingress[0].from[1]"
    description: str  # the selector, described
    action: AdminAction | None  # the rule's action, for a peer
    # False when its namespace selector (other than `{}`) matches no namespace of the
    # snapshot: with manifests, the namespaces it means may not be in the input.
    namespaces_seen: bool = True


@dataclass(frozen=True, slots=True)
class ShadowedRule:
    rule: PolicyRuleRef
    by: tuple[PolicyRuleRef, ...]  # the earlier rules that decide its traffic


@dataclass(frozen=True, slots=True)
class UnpolicedPass:
    rule: PolicyRuleRef
    namespaces: tuple[str, ...]  # of subject pods no NetworkPolicy isolates for the direction
    pods: int
    baseline: tuple[ObjectRef, ...]  # Baseline-tier policies with rules for those pods


def empty_selections(compiled: CompiledPolicies) -> list[EmptySelection]:
    """Subjects and peers of admin policies matching no pod (nodes peers: no node) of the
    snapshot. Networks and domainNames peers are not judged, nor nodes peers without
    Node objects in the snapshot."""
    classes = compiled.classes
    snapshot = compiled.snapshot
    compiler = AdminCompiler(
        classes,
        SelectorIndex(classes, namespace_labels(snapshot)),
        CompiledBlocks({}, (), ()),
        {},
        snapshot.nodes,
    )

    def seen(selector: LabelSelector | None) -> bool:
        return (
            selector is None
            or selector.is_empty
            or any(selector.matches(ns.labels) for ns in snapshot.namespaces)
        )

    found = []
    for policy in compiled.admin_policies:
        subject = compiler.subject(policy.subject)
        if not classes.weighted(subject & classes.active):
            pods = policy.subject.pods
            found.append(
                EmptySelection(
                    policy,
                    "subject",
                    policy.subject.describe(),
                    None,
                    seen(policy.subject.namespaces if pods is None else pods.namespace_selector),
                )
            )
        for direction, field, rules in (
            ("ingress", "from", policy.ingress),
            ("egress", "to", policy.egress),
        ):
            for rule_index, rule in enumerate(rules):
                for peer_index, peer in enumerate(rule.peers):
                    if peer.networks or peer.domain_names:
                        continue
                    if peer.nodes is not None:
                        if not snapshot.nodes or any(
                            peer.nodes.matches(n.labels) for n in snapshot.nodes
                        ):
                            continue
                    elif classes.weighted(compiler.peer_classes(peer) & classes.active):
                        continue
                    found.append(
                        EmptySelection(
                            policy,
                            f"{direction}[{rule_index}].{field}[{peer_index}]",
                            peer.describe(),
                            rule.action,
                            seen(
                                peer.namespaces
                                if peer.pods is None
                                else peer.pods.namespace_selector
                            ),
                        )
                    )
    return found


def shadowed_rules(compiled: CompiledPolicies) -> list[ShadowedRule]:
    """Rules of the Admin and Baseline tiers that match some traffic, all of which an
    earlier rule of the same tier matches first, for every subject class."""
    classes = compiled.classes
    rules = compiled.policy_rules
    points = [(proto, n) for proto, numbers in compiled.atoms.items() for n in numbers]
    caches: dict[tuple[Protocol, int], PortCache] = {}
    found = []
    for tier in compiled.tiers:
        if tier.name == NETWORK_POLICY_TIER:
            continue
        for direction in Direction:
            side = tier.side(direction)
            # Classes with the same rule list are alike: judge each list once.
            lists = {
                side.policy_rules[i] for i in range(len(classes.classes)) if side.policy_rules[i]
            }
            verdicts: dict[int, tuple[bool, bool, set[int]]] = {}  # rule -> (matched, open, by)
            for rule_list in lists:
                subject = _subject_of(side.policy_rules, rule_list)
                for position, rule_id in enumerate(rule_list):
                    matched, uncovered, by = verdicts.get(rule_id, (False, False, set()))
                    if uncovered:
                        continue
                    earlier = rule_list[:position]
                    for proto, number in points:
                        cache = caches.setdefault((proto, number), {})
                        m, u, b = _judge(
                            compiled,
                            rules,
                            rule_id,
                            earlier,
                            subject,
                            direction,
                            proto,
                            number,
                            cache,
                        )
                        matched, uncovered = matched or m, uncovered or u
                        by |= b
                        if uncovered:
                            break
                    verdicts[rule_id] = (matched, uncovered, by)
            for rule_id in sorted(verdicts):
                matched, uncovered, by = verdicts[rule_id]
                if matched and not uncovered:
                    found.append(
                        ShadowedRule(rules[rule_id].ref, tuple(rules[b].ref for b in sorted(by)))
                    )
    return found


def _subject_of(lists: tuple[tuple[int, ...], ...], rule_list: tuple[int, ...]) -> int:
    """A class holding this rule list (all such classes are judged alike)."""
    for index, own in enumerate(lists):
        if own == rule_list:
            return index
    raise ValueError("rule list of no class")


def _judge(
    compiled: CompiledPolicies,
    rules: tuple[CompiledPolicyRule, ...],
    rule_id: int,
    earlier: tuple[int, ...],
    subject: int,
    direction: Direction,
    proto: Protocol,
    number: int,
    cache: PortCache,
) -> tuple[bool, bool, set[int]]:
    """On one port: does the rule match anything for the subject class, is any of it left
    to the rule by the earlier ones, and which earlier ones take a part of it."""
    rule = rules[rule_id]
    ports = port_bits(compiled, rule.ports, proto, number, cache)
    by: set[int] = set()
    matched = uncovered = False
    for family in compiled.classes.families:
        if direction is Direction.INGRESS:
            mine = rule.peer_bits[family] if has(ports, subject) else 0
        else:
            mine = rule.peer_bits[family] & ports
        if not mine:
            continue
        matched = True
        for other_id in earlier:
            other = rules[other_id]
            other_ports = port_bits(compiled, other.ports, proto, number, cache)
            if direction is Direction.INGRESS:
                taken = other.peer_bits[family] if has(other_ports, subject) else 0
            else:
                taken = other.peer_bits[family] & other_ports
            if mine & taken:
                by.add(other_id)
            mine &= ~taken
        if mine:
            uncovered = True
    if direction is Direction.EGRESS and rule.blocks:
        # Addresses outside the cluster: the earlier rules' networks must hold them all.
        matched = matched or bool(ports)
        if ports:
            left: tuple[Interval, ...] = normalize(i for b in rule.blocks for i in b.allowed)
            for other_id in earlier:
                other = rules[other_id]
                if not port_bits(compiled, other.ports, proto, number, cache):
                    continue
                before = left
                left = subtract(left, (i for b in other.blocks for i in b.allowed))
                if left != before:
                    by.add(other_id)
            uncovered = uncovered or bool(left)
    return matched, uncovered, by


def passes_to_unisolated(compiled: CompiledPolicies) -> list[UnpolicedPass]:
    """Admin-tier Pass rules over subject pods that no NetworkPolicy isolates for the
    rule's direction: NetworkPolicy decides nothing for them, so the Baseline tier or the
    default allow does."""
    classes = compiled.classes
    network_policy = compiled.network_policy_tier
    baseline = next((t for t in compiled.tiers if t.name == "Baseline"), None)
    found = []
    for rule in compiled.policy_rules:
        if rule.action is not Action.PASS or rule.ref.tier != "Admin":
            continue
        if not any(rule.peer_bits.values()) and not rule.blocks:
            continue  # passes nothing
        side = network_policy.side(rule.direction)
        unpoliced = rule.selected & classes.active & ~side.isolated
        if not unpoliced:
            continue
        baseline_policies: dict[ObjectRef, None] = {}
        if baseline is not None:
            for index in iter_bits(unpoliced):
                for policy_index in baseline.side(rule.direction).policies[index]:
                    baseline_policies[compiled.policy_refs[policy_index]] = None
        found.append(
            UnpolicedPass(
                rule=rule.ref,
                namespaces=tuple(classes.namespaces_of(unpoliced)),
                pods=classes.weighted(unpoliced),
                baseline=tuple(baseline_policies),
            )
        )
    return found
