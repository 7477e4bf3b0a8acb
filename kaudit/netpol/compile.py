"""Compiling a snapshot's policies into one frozen form, `CompiledPolicies`.

Steps: pod classes and the selector index (`kaudit.netpol.classes`), then every
policy rule (one entry of a policy's `ingress` or `egress` list) compiled to a peer
bitset and a port list, then the policy rules ordered into tiers, then the groups
and port atoms that make whole-matrix questions cheap. The queries
(`kaudit.netpol.engine`) and the summary (`kaudit.netpol.summary`) only read the
result.

Evaluation order and tiers
--------------------------
Policies are evaluated as an ordered list of tiers (`CompiledPolicies.tiers`).
Each tier holds, per direction and per pod class, that class's applicable policy
rules as an ordered list; each is an action (allow, deny or pass), a peer bitset
per IP family (`CompiledPolicyRule.peer_bits`) and a port list. For one side of a
connection (the source's egress, the destination's ingress) the tiers are
walked in order, and within a tier the class's policy rules in order:

- the first policy rule whose peers and ports match decides: allow or deny ends
  the evaluation, pass skips the rest of the tier and goes on to the next tier;
- when no policy rule of the tier matches, the tier's isolation decides (`TierSide.isolated`):
  an isolated class is denied, any other falls through to the next tier;
- after the last tier, the connection is allowed.

The NetworkPolicy tier's policy rules are all "allow", so first match and the
union of every matching policy rule agree, and the reasons name every matching
one. A pod is isolated in it when a policy of its namespace selects it for the
direction. The Admin tier (ClusterNetworkPolicy `tier: Admin` and
AdminNetworkPolicy, by priority) comes before it and the Baseline tier
(ClusterNetworkPolicy `tier: Baseline`, BaselineAdminNetworkPolicy) after it, each
present only when the snapshot has such policies (`kaudit.netpol.admin_tiers`);
they isolate nothing. The CNI's own policy tiers (Cilium, Calico) will take their
place in the same list.

*Bitset speed.* For an allow-only tier, the classes a source reaches are the OR,
over its policy rules, of `peer_bits & port_bits`: one integer operation per
policy rule for a whole row of the reachability matrix. With deny and pass in a
tier the row stays one operation per policy rule: `hit = peer_bits & port_bits & undecided`, then `hit` is
added to the allowed (or passed) set and removed from `undecided`; after a tier,
its isolated classes leave `undecided` and the passed ones come back. Pair
verdicts, whole rows and columns (`kaudit.netpol.relation`), outside addresses and
open ingress walk every tier so. The ingress side of a row is walked from the
source's side: the ingress policy rules whose peers hold the source, in the one
global evaluation order (policy rule ids ascend in evaluation order within a tier),
each giving the destinations it decides (`selected & port_bits & undecided`).

*Groups.* Classes with the same egress policies (of every tier) and the same
memberships in ingress peers (of every tier's policy rules) have the same row of the reachability matrix (and dually for
columns), so rows and columns are computed per group (`Groups`).

*Port atoms.* Port numbers are split, per protocol, into ranges inside which
every policy rule behaves the same; "on any port" is the union over one
representative per range, so no port is missed and none is evaluated twice.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from kaudit.model import (
    MATCH_ALL,
    AdminPolicy,
    AdminTier,
    NetworkPolicy,
    ObjectRef,
    PolicyPort,
    PolicyRule,
    Protocol,
    Snapshot,
)
from kaudit.netpol.addresses import CompiledBlock, Interval
from kaudit.netpol.admin_tiers import (
    AdminCompiler,
    CompiledTier,
    address_blocks,
    block_bits_of,
    ordered,
)
from kaudit.netpol.bits import bits_of, iter_bits
from kaudit.netpol.classes import (
    PROTOCOLS,
    CompiledBlocks,
    Family,
    PodClass,
    PodClasses,
    SelectorIndex,
    build_pod_classes,
    compile_blocks,
    namespace_labels,
)
from kaudit.netpol.verdict import NETWORK_POLICY_TIER, Direction, PolicyRuleRef

PORT_MIN, PORT_MAX = 1, 65535


class Action(enum.StrEnum):
    """What a matching policy rule does to a connection."""

    ALLOW = "allow"
    DENY = "deny"
    PASS = "pass"  # leave the decision to the next tier


@dataclass(frozen=True, slots=True, eq=False)
class CompiledPolicyRule:
    """One policy rule: its action, the peers it matches (classes per IP family, ipBlocks for
    addresses outside the cluster) and its ports, for the classes its policy selects."""

    id: int
    ref: PolicyRuleRef
    policy_index: int  # in CompiledPolicies.policy_refs
    direction: Direction
    action: Action
    ports: tuple[PolicyPort, ...]
    all_peers: bool  # no from/to: every source or destination, in or outside the cluster
    blocks: tuple[CompiledBlock, ...]  # ipBlock peers that parsed
    peer_bits: Mapping[Family, int]
    selected: int  # classes its policy selects


@dataclass(frozen=True, slots=True)
class TierSide:
    """One direction of one tier, per class index."""

    policy_rules: tuple[tuple[int, ...], ...]  # policy rule ids, in evaluation order
    policies: tuple[tuple[int, ...], ...]  # the policies selecting the class (policy_refs index)
    isolated: int  # classes denied when no policy rule matches; the others fall through


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    ingress: TierSide
    egress: TierSide
    allow_only: bool  # every policy rule allows: first match is the union of the matching

    def side(self, direction: Direction) -> TierSide:
        return self.ingress if direction is Direction.INGRESS else self.egress


# A group: (per tier, its classes' own policy rule ids; per tier, the policy rule ids whose
# peers hold it, ascending; a representative class).
Group = tuple[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], ...], int]


@dataclass(frozen=True, slots=True)
class Groups:
    """Classes whose rows (as sources) or columns (as destinations) must be equal."""

    src: Mapping[Family, tuple[Group, ...]]
    dst: Mapping[Family, tuple[Group, ...]]
    # Joint groups across families, so results are combined once per group.
    joint_src: tuple[tuple[int, ...], ...]
    joint_src_of: tuple[int, ...]
    joint_dst: tuple[tuple[int, ...], ...]
    joint_dst_of: tuple[int, ...]
    # NetworkPolicy rules without `from`/`to`, handled once for everyone (all allow).
    all_peer_ingress: tuple[int, ...]
    all_peer_egress: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CompiledPolicies:
    """Everything the queries need, computed once per snapshot; read-only."""

    snapshot: Snapshot
    policies: tuple[NetworkPolicy, ...]
    admin_policies: tuple[AdminPolicy, ...]  # in evaluation order: Admin tier, then Baseline
    # Every policy of every tier, by the index policy rules and tiers use (NetworkPolicies
    # first, then `admin_policies`).
    policy_refs: tuple[ObjectRef, ...]
    classes: PodClasses
    policy_rules: tuple[CompiledPolicyRule, ...]
    tiers: tuple[Tier, ...]  # in evaluation order
    groups: Groups
    atoms: Mapping[Protocol, tuple[int, ...]]  # per protocol, one port per range
    warnings: tuple[str, ...]

    @property
    def network_policy_tier(self) -> Tier:
        """The NetworkPolicy tier (always present)."""
        return next(t for t in self.tiers if t.name == NETWORK_POLICY_TIER)


def compile_policies(snapshot: Snapshot) -> CompiledPolicies:
    policies = tuple(snapshot.network_policies)
    admin = ordered(snapshot.admin_policies, AdminTier.ADMIN)
    baseline = ordered(snapshot.admin_policies, AdminTier.BASELINE)
    blocks = compile_blocks(policies, address_blocks((*admin, *baseline), snapshot.nodes))
    classes, pod_warnings = build_pod_classes(snapshot, policies, blocks, (*admin, *baseline))
    selectors = SelectorIndex(classes, namespace_labels(snapshot))
    block_bits = block_bits_of(classes)
    policy_rules, tier = _network_policy_tier(policies, classes, selectors, blocks, block_bits)
    tiers = [tier]
    all_rules = list(policy_rules)
    warnings = [*blocks.warnings, *pod_warnings]
    compiler = AdminCompiler(classes, selectors, blocks, block_bits, snapshot.nodes)
    first_policy = len(policies)
    for name, members in ((AdminTier.ADMIN, admin), (AdminTier.BASELINE, baseline)):
        if not members:
            continue
        compiled_tier = compiler.compile_tier(name.value, members, first_policy)
        first_policy += len(members)
        admin_tier = _admin_tier(name.value, compiled_tier, all_rules, blocks)
        tiers.insert(0 if name is AdminTier.ADMIN else len(tiers), admin_tier)
        warnings.extend(compiled_tier.warnings)
    all_policy_rules = tuple(all_rules)
    return CompiledPolicies(
        snapshot=snapshot,
        policies=policies,
        admin_policies=(*admin, *baseline),
        policy_refs=(*(p.ref for p in policies), *(p.ref for p in (*admin, *baseline))),
        classes=classes,
        policy_rules=all_policy_rules,
        tiers=tuple(tiers),
        groups=_groups(classes, all_policy_rules, tuple(tiers)),
        atoms=_port_atoms(all_policy_rules, classes),
        warnings=tuple(warnings),
    )


def _admin_tier(
    name: str, compiled: CompiledTier, all_rules: list[CompiledPolicyRule], blocks: CompiledBlocks
) -> Tier:
    """An admin tier's rules appended to `all_rules` (ids ascending in evaluation order)."""
    first_id = len(all_rules)
    for offset, rule in enumerate(compiled.rules):
        all_rules.append(
            CompiledPolicyRule(
                id=first_id + offset,
                ref=rule.ref,
                policy_index=rule.policy_index,
                direction=rule.direction,
                action=Action(rule.action),
                ports=rule.ports,
                all_peers=False,
                blocks=tuple(b for b in (blocks.blocks[i] for i in rule.block_ids) if b),
                peer_bits=rule.peer_bits,
                selected=rule.selected,
            )
        )

    def side(direction: Direction) -> TierSide:
        return TierSide(
            policy_rules=tuple(
                tuple(first_id + r for r in rules) for rules in compiled.rules_of[direction]
            ),
            policies=compiled.policies_of[direction],
            isolated=0,  # what no rule of an admin tier matches goes on to the next tier
        )

    return Tier(
        name=name,
        ingress=side(Direction.INGRESS),
        egress=side(Direction.EGRESS),
        allow_only=all(r.action == Action.ALLOW.value for r in compiled.rules),
    )


def _network_policy_tier(
    policies: tuple[NetworkPolicy, ...],
    classes: PodClasses,
    selectors: SelectorIndex,
    blocks: CompiledBlocks,
    block_bits: Mapping[tuple[Family, int], int],
) -> tuple[tuple[CompiledPolicyRule, ...], Tier]:
    """Every NetworkPolicy policy rule (all "allow"), and the tier ordering them per
    class: by policy, then by rule index, as the policies come in the snapshot."""
    count = len(classes.classes)
    policy_rules: list[CompiledPolicyRule] = []
    per_class: dict[Direction, tuple[list[list[int]], list[list[int]]]] = {
        d: ([[] for _ in range(count)], [[] for _ in range(count)]) for d in Direction
    }
    for index, policy in enumerate(policies):
        selected = selectors.pods(policy.pod_selector) & classes.ns_bits.get(policy.namespace, 0)
        selected_classes = list(iter_bits(selected))
        for direction, entries, applies in (
            (Direction.INGRESS, policy.ingress, policy.affects_ingress),
            (Direction.EGRESS, policy.egress, policy.affects_egress),
        ):
            if not applies:
                continue  # policy rules of a direction missing from policyTypes are ignored
            policy_rules_of, policies_of = per_class[direction]
            for cls_index in selected_classes:
                policies_of[cls_index].append(index)
            for rule_index, policy_rule in enumerate(entries):
                compiled = _compile_policy_rule(
                    policy,
                    index,
                    direction,
                    rule_index,
                    policy_rule,
                    policy_rule_id=len(policy_rules),
                    selected=selected,
                    classes=classes,
                    selectors=selectors,
                    blocks=blocks,
                    block_bits=block_bits,
                )
                policy_rules.append(compiled)
                for cls_index in selected_classes:
                    policy_rules_of[cls_index].append(compiled.id)

    def side(direction: Direction) -> TierSide:
        policy_rules_of, policies_of = per_class[direction]
        return TierSide(
            policy_rules=tuple(map(tuple, policy_rules_of)),
            policies=tuple(map(tuple, policies_of)),
            isolated=bits_of(i for i, found in enumerate(policies_of) if found),
        )

    tier = Tier(
        name=NETWORK_POLICY_TIER,
        ingress=side(Direction.INGRESS),
        egress=side(Direction.EGRESS),
        allow_only=True,
    )
    return tuple(policy_rules), tier


def _compile_policy_rule(
    policy: NetworkPolicy,
    policy_index: int,
    direction: Direction,
    rule_index: int,
    policy_rule: PolicyRule,
    *,
    policy_rule_id: int,
    selected: int,
    classes: PodClasses,
    selectors: SelectorIndex,
    blocks: CompiledBlocks,
    block_bits: Mapping[tuple[Family, int], int],
) -> CompiledPolicyRule:
    compiled_blocks = []
    selector_bits = 0
    block_ids = []
    for peer in policy_rule.peers:
        if peer.ip_block is not None:
            # The API server rejects selectors next to an ipBlock; the ipBlock decides.
            block_id = blocks.ids[peer.ip_block]
            compiled = blocks.blocks[block_id]
            if compiled is not None:
                compiled_blocks.append(compiled)
                block_ids.append(block_id)
            continue
        if peer.pod_selector is None and peer.namespace_selector is None:
            continue  # an empty peer is invalid (rejected by the API server): matches nothing
        pods = selectors.pods(peer.pod_selector or MATCH_ALL)
        if peer.namespace_selector is None:
            pods &= classes.ns_bits.get(policy.namespace, 0)
        else:
            pods &= selectors.namespaces(peer.namespace_selector)
        selector_bits |= pods
    all_peers = not policy_rule.peers
    peer_bits: dict[Family, int] = {}
    for family in classes.families:
        if all_peers:
            peer_bits[family] = classes.everything
            continue
        bits = selector_bits
        for block_id in block_ids:
            bits |= block_bits.get((family, block_id), 0)
        peer_bits[family] = bits
    return CompiledPolicyRule(
        id=policy_rule_id,
        ref=PolicyRuleRef(policy.ref, direction, rule_index, NETWORK_POLICY_TIER),
        policy_index=policy_index,
        direction=direction,
        action=Action.ALLOW,
        ports=policy_rule.ports,
        all_peers=all_peers,
        blocks=tuple(compiled_blocks),
        peer_bits=peer_bits,
        selected=selected,
    )


def _groups(
    classes: PodClasses, policy_rules: tuple[CompiledPolicyRule, ...], tiers: tuple[Tier, ...]
) -> Groups:
    """Group classes whose rows (as sources) or columns (as destinations) must be equal."""
    all_classes = classes.classes
    families = classes.families
    tier_of = {t.name: position for position, t in enumerate(tiers)}
    rule_tier = [tier_of[r.ref.tier] for r in policy_rules]
    # Per family: ingress policy rules whose peers hold each class, egress ones likewise.
    # Policy rules sharing their peers (every namespace's "egress to 0.0.0.0/0") are
    # walked once: memberships are kept per distinct peer set, then expanded per group.
    member_in: dict[Family, list[list[int]]] = {}
    member_out: dict[Family, list[list[int]]] = {}
    peer_sets: dict[Family, list[list[int]]] = {}
    for family in families:
        ins: list[list[int]] = [[] for _ in all_classes]
        outs: list[list[int]] = [[] for _ in all_classes]
        sets: dict[tuple[Direction, int], int] = {}
        policy_rules_of_set: list[list[int]] = []
        for policy_rule in policy_rules:
            if policy_rule.all_peers:
                continue  # handled once for everyone, not per class
            key = (policy_rule.direction, policy_rule.peer_bits[family])
            set_id = sets.get(key)
            if set_id is None:
                set_id = sets[key] = len(policy_rules_of_set)
                policy_rules_of_set.append([])
                target = ins if policy_rule.direction is Direction.INGRESS else outs
                for cls_index in iter_bits(policy_rule.peer_bits[family]):
                    target[cls_index].append(set_id)
            policy_rules_of_set[set_id].append(policy_rule.id)
        member_in[family], member_out[family] = ins, outs
        peer_sets[family] = policy_rules_of_set

    def expand(family: Family, set_ids: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
        """The policy rules of the peer sets, per tier, ascending (evaluation order)."""
        ids = sorted(r for i in set_ids for r in peer_sets[family][i])
        if len(tiers) == 1:
            return (tuple(ids),)
        return tuple(tuple(r for r in ids if rule_tier[r] == t) for t in range(len(tiers)))

    def own(direction: Direction, index: int) -> tuple[tuple[int, ...], ...]:
        return tuple(t.side(direction).policy_rules[index] for t in tiers)

    def policies(direction: Direction, index: int) -> tuple[tuple[int, ...], ...]:
        return tuple(t.side(direction).policies[index] for t in tiers)

    # Source groups: same egress policies, same ingress-peer memberships.
    src_groups: dict[Family, tuple[Group, ...]] = {}
    dst_groups: dict[Family, tuple[Group, ...]] = {}
    src_of: dict[Family, list[int]] = {}
    dst_of: dict[Family, list[int]] = {}
    for family in families:
        # (egress policies, ingress peer sets holding the class) -> source group
        src_index: dict[tuple[object, tuple[int, ...]], int] = {}
        # (ingress policies, egress peer sets holding the class, named ports) -> destination group
        dst_index: dict[tuple[object, tuple[int, ...], tuple[int | None, ...]], int] = {}
        srcs: list[Group] = []
        dsts: list[Group] = []
        src_list, dst_list = [], []
        for cls in all_classes:
            i = cls.index
            skey = (policies(Direction.EGRESS, i), tuple(member_in[family][i]))
            if skey not in src_index:
                src_index[skey] = len(srcs)
                srcs.append((own(Direction.EGRESS, i), expand(family, skey[1]), i))
            src_list.append(src_index[skey])
            dkey = (
                policies(Direction.INGRESS, i),
                tuple(member_out[family][i]),
                tuple(cls.named_ports.values()),
            )
            if dkey not in dst_index:
                dst_index[dkey] = len(dsts)
                dsts.append((own(Direction.INGRESS, i), expand(family, dkey[1]), i))
            dst_list.append(dst_index[dkey])
        src_groups[family], dst_groups[family] = tuple(srcs), tuple(dsts)
        src_of[family], dst_of[family] = src_list, dst_list
    joint_src, joint_src_of = _joint(all_classes, families, src_of)
    joint_dst, joint_dst_of = _joint(all_classes, families, dst_of)
    return Groups(
        src=src_groups,
        dst=dst_groups,
        joint_src=joint_src,
        joint_src_of=joint_src_of,
        joint_dst=joint_dst,
        joint_dst_of=joint_dst_of,
        all_peer_ingress=tuple(
            r.id for r in policy_rules if r.all_peers and r.direction is Direction.INGRESS
        ),
        all_peer_egress=tuple(
            r.id for r in policy_rules if r.all_peers and r.direction is Direction.EGRESS
        ),
    )


def _joint(
    classes: tuple[PodClass, ...], families: tuple[Family, ...], group_of: dict[Family, list[int]]
) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    index: dict[tuple[int, ...], int] = {}
    joint: list[tuple[int, ...]] = []
    joint_of: list[int] = []
    for cls in classes:
        key = tuple(group_of[f][cls.index] for f in families)
        if key not in index:
            index[key] = len(joint)
            joint.append(key)
        joint_of.append(index[key])
    return tuple(joint), tuple(joint_of)


def _port_atoms(
    policy_rules: tuple[CompiledPolicyRule, ...], classes: PodClasses
) -> dict[Protocol, tuple[int, ...]]:
    """Per protocol, one representative port per range where all policy rules agree."""
    spans: dict[Protocol, set[Interval]] = {p: set() for p in PROTOCOLS}
    for policy_rule in policy_rules:
        for entry in policy_rule.ports:
            if entry.port is None:
                continue
            if isinstance(entry.port, int):
                last = entry.end_port if entry.end_port is not None else entry.port
                if entry.port <= last:
                    spans[entry.protocol].add((entry.port, last))
            else:
                for name, proto, number in classes.named_bits:
                    if name == entry.port and proto == entry.protocol:
                        spans[proto].add((number, number))
    atoms: dict[Protocol, tuple[int, ...]] = {}
    for protocol, intervals in spans.items():
        cuts = {PORT_MIN, PORT_MAX + 1}
        for lo, hi in intervals:
            cuts.add(max(lo, PORT_MIN))
            cuts.add(min(hi, PORT_MAX) + 1)
        bounds = sorted(c for c in cuts if PORT_MIN <= c <= PORT_MAX + 1)
        seen: set[frozenset[Interval]] = set()
        representatives = []
        for start in bounds[:-1]:
            inside = frozenset(i for i in intervals if i[0] <= start <= i[1])
            if inside not in seen:
                seen.add(inside)
                representatives.append(start)
        atoms[protocol] = tuple(representatives)
    return atoms
