"""The Admin and Baseline tiers: admin policies compiled into ordered policy rules.

The network-policy-api evaluates, for each direction of a connection, the Admin tier
(ClusterNetworkPolicy `tier: Admin` and AdminNetworkPolicy, by ascending priority),
then NetworkPolicy, then the Baseline tier (ClusterNetworkPolicy `tier: Baseline` and
the BaselineAdminNetworkPolicy), then the default allow. Within a tier the first
matching rule decides: Accept (v1alpha1 Allow) admits, Deny refuses, Pass skips the
rest of the tier. Rules of one policy keep their written order.
Sources: the `spec.tier`, `spec.priority` and rule `action` field docs of
sigs.k8s.io/network-policy-api v0.3.0 (apis/v1beta1/clusternetworkpolicy_types.go,
apis/v1alpha1) and its site (site-src/api-overview.md).

Order where the spec defines none: policies of one tier and one priority are taken
by name (then kind); a BaselineAdminNetworkPolicy, which has no priority, comes after
every Baseline ClusterNetworkPolicy. When two such policies may match the same
connection with different actions, a compile warning names both (the spec says an
implementation may apply either).

Peers: namespaces and pods never hold hostNetwork pods (nor do subjects); networks
hold every address of their CIDRs, pod addresses included; nodes hold their nodes'
addresses and the hostNetwork pods on them; domainNames cannot be evaluated offline
and match nothing here (with a warning).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kaudit.model import (
    AdminAction,
    AdminPeer,
    AdminPolicy,
    AdminPolicyRule,
    AdminSubject,
    AdminTier,
    IPBlock,
    LabelSelector,
    Node,
    PolicyPort,
)
from kaudit.model.adminpolicies import BASELINE_ADMIN_NETWORK_POLICY, PRIORITY_MAX
from kaudit.netpol.bits import bits_of, iter_bits
from kaudit.netpol.classes import CompiledBlocks, Family, PodClasses, SelectorIndex
from kaudit.netpol.verdict import Direction, PolicyRuleRef

ACTIONS: Mapping[AdminAction, str] = {
    AdminAction.ACCEPT: "allow",
    AdminAction.DENY: "deny",
    AdminAction.PASS: "pass",
}


def ordered(policies: Sequence[AdminPolicy], tier: AdminTier) -> tuple[AdminPolicy, ...]:
    """The policies of one tier in evaluation order (see the module docstring)."""
    return tuple(
        sorted(
            (p for p in policies if p.tier is tier),
            key=lambda p: (
                PRIORITY_MAX + 1 if p.priority is None else p.priority,
                p.kind == BASELINE_ADMIN_NETWORK_POLICY,
                p.name,
                p.kind,
            ),
        )
    )


def address_blocks(
    policies: Sequence[AdminPolicy], nodes: Sequence[Node]
) -> list[tuple[str, IPBlock]]:
    """The address blocks admin peers name: networks, and the addresses of selected nodes."""
    found: list[tuple[str, IPBlock]] = []
    for policy in policies:
        for rule in policy.egress:
            for peer in rule.peers:
                found.extend((f"{policy.kind} {policy.name}", IPBlock(c)) for c in peer.networks)
                if peer.nodes is not None:
                    found.extend(
                        (f"Node {node.name}", IPBlock(_host_cidr(address)))
                        for node in nodes
                        if peer.nodes.matches(node.labels)
                        for address in node.addresses
                    )
    return found


def _host_cidr(address: str) -> str:
    return f"{address}/128" if ":" in address else f"{address}/32"


@dataclass(frozen=True, slots=True)
class AdminRule:
    """One compiled admin policy rule, before it becomes a `CompiledPolicyRule`."""

    ref: PolicyRuleRef
    policy_index: int
    direction: Direction
    action: str  # the compile module's Action value
    ports: tuple[PolicyPort, ...]
    block_ids: tuple[int, ...]
    peer_bits: Mapping[Family, int]
    selected: int


@dataclass(frozen=True, slots=True)
class CompiledTier:
    """One admin tier's rules, in evaluation order, and per class and direction the rule
    indexes (into `rules`) and policies (by policy index) applying to it."""

    rules: tuple[AdminRule, ...]
    rules_of: Mapping[Direction, tuple[tuple[int, ...], ...]]
    policies_of: Mapping[Direction, tuple[tuple[int, ...], ...]]
    warnings: tuple[str, ...]


class AdminCompiler:
    """Compiles the admin policies of one snapshot against its classes and selectors."""

    def __init__(
        self,
        classes: PodClasses,
        selectors: SelectorIndex,
        blocks: CompiledBlocks,
        block_bits: Mapping[tuple[Family, int], int],
        nodes: Sequence[Node],
    ) -> None:
        self._classes = classes
        self._selectors = selectors
        self._blocks = blocks
        self._block_bits = block_bits
        self._nodes = nodes
        self._host = classes.everything & ~classes.policed

    def subject(self, subject: AdminSubject) -> int:
        """The classes a subject selects (never hostNetwork ones)."""
        if subject.namespaces is not None:
            return self._selectors.namespaces(subject.namespaces) & self._classes.policed
        assert subject.pods is not None
        return self._selectors.namespaces(subject.pods.namespace_selector) & self._selectors.pods(
            subject.pods.pod_selector
        )

    def node_classes(self, selector: LabelSelector) -> int:
        """hostNetwork classes on the nodes a selector picks. Without Node objects only
        the empty selector (every node) is known to pick any."""
        if selector.is_empty:
            return self._host
        bits = 0
        for node in self._nodes:
            if selector.matches(node.labels):
                bits |= self._classes.host_bits_on_node.get(node.name, 0)
        return bits

    def compile_tier(
        self, name: str, policies: Sequence[AdminPolicy], first_policy_index: int
    ) -> CompiledTier:
        count = len(self._classes.classes)
        rules: list[AdminRule] = []
        rules_of: dict[Direction, list[list[int]]] = {
            d: [[] for _ in range(count)] for d in Direction
        }
        policies_of: dict[Direction, list[list[int]]] = {
            d: [[] for _ in range(count)] for d in Direction
        }
        warnings: list[str] = []
        selected_of: list[int] = []
        for offset, policy in enumerate(policies):
            index = first_policy_index + offset
            selected = self.subject(policy.subject)
            selected_of.append(selected)
            classes = list(iter_bits(selected))
            for direction, entries in (
                (Direction.INGRESS, policy.ingress),
                (Direction.EGRESS, policy.egress),
            ):
                if not entries:
                    continue  # no rules for a direction: it does not affect that direction
                for cls in classes:
                    policies_of[direction][cls].append(index)
                for rule_index, entry in enumerate(entries):
                    compiled = self._rule(
                        policy, index, direction, rule_index, entry, selected, name, warnings
                    )
                    for cls in classes:
                        rules_of[direction][cls].append(len(rules))
                    rules.append(compiled)
        warnings.extend(_same_priority_overlaps(name, policies, selected_of, rules))
        return CompiledTier(
            rules=tuple(rules),
            rules_of={d: tuple(map(tuple, v)) for d, v in rules_of.items()},
            policies_of={d: tuple(map(tuple, v)) for d, v in policies_of.items()},
            warnings=tuple(warnings),
        )

    def _rule(
        self,
        policy: AdminPolicy,
        policy_index: int,
        direction: Direction,
        rule_index: int,
        entry: AdminPolicyRule,
        selected: int,
        tier: str,
        warnings: list[str],
    ) -> AdminRule:
        where = f"{policy.kind} {policy.name} {direction.value.lower()}[{rule_index}]"
        selector_bits = 0
        block_ids: list[int] = []
        for peer in entry.peers:
            selector_bits |= self.peer_classes(peer, where, warnings)
            for cidr in peer.networks:
                block_ids.append(self._blocks.ids[IPBlock(cidr)])
            if peer.nodes is not None:
                block_ids.extend(
                    self._blocks.ids[IPBlock(_host_cidr(address))]
                    for node in self._nodes
                    if peer.nodes.matches(node.labels)
                    for address in node.addresses
                )
            if peer.domain_names:
                warnings.append(
                    f"{where}: domainNames peers ({', '.join(peer.domain_names)}) match by "
                    "DNS name at run time and are not evaluated offline: the rule is "
                    "evaluated without them"
                )
        block_ids = [b for b in dict.fromkeys(block_ids) if self._blocks.blocks[b] is not None]
        peer_bits: dict[Family, int] = {}
        for family in self._classes.families:
            bits = selector_bits
            for block_id in block_ids:
                bits |= self._block_bits.get((family, block_id), 0)
            peer_bits[family] = bits
        return AdminRule(
            ref=PolicyRuleRef(policy.ref, direction, rule_index, tier, entry.name),
            policy_index=policy_index,
            direction=direction,
            action=ACTIONS[entry.action],
            ports=entry.ports,
            block_ids=tuple(block_ids),
            peer_bits=peer_bits,
            selected=selected,
        )

    def peer_classes(
        self, peer: AdminPeer, where: str = "", warnings: list[str] | None = None
    ) -> int:
        """The classes a namespaces, pods or nodes peer holds (networks and domainNames: 0)."""
        if peer.namespaces is not None:
            return self._selectors.namespaces(peer.namespaces) & self._classes.policed
        if peer.pods is not None:
            return self.subject(AdminSubject(pods=peer.pods))
        if peer.nodes is not None:
            if not self._nodes and not peer.nodes.is_empty and warnings is not None:
                warnings.append(
                    f"{where}: the input has no Node objects, so the nodes peer "
                    f"{peer.nodes.describe()} matches no node"
                )
            return self.node_classes(peer.nodes)
        return 0


def _same_priority_overlaps(
    tier: str,
    policies: Sequence[AdminPolicy],
    selected_of: Sequence[int],
    rules: Sequence[AdminRule],
) -> list[str]:
    """Pairs of policies of one priority that may decide the same connection differently."""
    by_priority: dict[int | None, list[int]] = defaultdict(list)
    for offset, policy in enumerate(policies):
        by_priority[policy.priority].append(offset)
    rules_of_policy: dict[int, list[AdminRule]] = defaultdict(list)
    first = rules[0].policy_index if rules else 0
    for rule in rules:
        rules_of_policy[rule.policy_index - first].append(rule)
    warnings = []
    for priority, offsets in by_priority.items():
        if priority is None:
            continue
        for i, a in enumerate(offsets):
            for b in offsets[i + 1 :]:
                if not selected_of[a] & selected_of[b]:
                    continue
                if _may_conflict(rules_of_policy[a], rules_of_policy[b]):
                    pa, pb = policies[a], policies[b]
                    warnings.append(
                        f"{pa.kind} {pa.name} and {pb.kind} {pb.name} have the same priority "
                        f"{priority} in the {tier} tier, select some of the same pods and may "
                        "match the same connections with different actions: the spec lets an "
                        f"implementation apply either; kaudit evaluates {pa.name} first"
                    )
    return warnings


def _may_conflict(left: Sequence[AdminRule], right: Sequence[AdminRule]) -> bool:
    for a in left:
        for b in right:
            if a.direction is not b.direction or a.action == b.action:
                continue
            if any(a.peer_bits[f] & b.peer_bits[f] for f in a.peer_bits) or (
                a.block_ids and b.block_ids
            ):
                return True
    return False


def block_bits_of(classes: PodClasses) -> dict[tuple[Family, int], int]:
    """(family, block id) -> the classes whose addresses that block holds."""
    block_classes: dict[tuple[Family, int], list[int]] = defaultdict(list)
    for cls in classes.classes:
        for family, ids in cls.block_matches.items():
            for block_id in ids:
                block_classes[(family, block_id)].append(cls.index)
    return {key: bits_of(ix) for key, ix in block_classes.items()}
