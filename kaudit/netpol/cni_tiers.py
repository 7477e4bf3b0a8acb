"""The CNI's own policy tiers: Cilium's and Calico's policies as ordered policy rules.

Cilium (docs.cilium.io/en/stable/security/policy/: intro, deny, language): deny
rules win over every allow, Kubernetes NetworkPolicy's included; allows unite with
NetworkPolicy's; a pod selected by a Cilium rule with a section for a direction (and
enableDefaultDeny not off) is default-deny for it. As ordered tiers: a "Cilium" tier
before NetworkPolicy holds every deny rule, then every allow rule (isolating
nothing), and a "Cilium default deny" tier after NetworkPolicy, without rules,
isolates the default-deny pods NetworkPolicy has not decided.

Calico (docs.tigera.io, Calico: Tier reference and "Get started with policy tiers"):
tiers by ascending order (the default tier at 1,000,000, tiers without order last),
policies by ascending order within a tier (without order last, then by name), the
first matching rule decides (Allow, Deny, Pass to the next tier; Log goes on); a
tier with a policy applying to the pod denies what it leaves undecided unless its
defaultAction is Pass; Kubernetes NetworkPolicies sit in the default tier at order
1000, named `knp.default.<name>`. The default tier takes the NetworkPolicy tier's
place (kaudit.netpol.compile), the others are tiers of their own; after the last,
the namespace profile allows.

Pods are matched as their CNI sees them: Cilium's endpoint labels
(`kaudit.model.cni.cilium.endpoint_labels`), Calico's automatic labels
(projectcalico.org/namespace, orchestrator, serviceaccount; namespaces and
ServiceAccounts carry projectcalico.org/name). hostNetwork pods are host endpoints:
never selected, and matched as peers only by Cilium's host, remote-node, cluster and
all entities (Calico's nets do not match their node addresses here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from kaudit.model import IPBlock, Labels, PolicyPort, Protocol, Snapshot
from kaudit.model.cni import cilium as cil
from kaudit.model.cni.calico_selector import And, Compare, Expression, Has, InSet, Not, Or
from kaudit.netpol.bits import bits_of
from kaudit.netpol.classes import PROTOCOLS, CompiledBlocks, Family, PodClasses
from kaudit.netpol.verdict import Direction, PolicyRuleRef

CILIUM_TIER = "Cilium"
CILIUM_DEFAULT_DENY_TIER = "Cilium default deny"
WORLD = (IPBlock("0.0.0.0/0"), IPBlock("::/0"))
_ANY = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)


@dataclass(frozen=True, slots=True)
class CniRule:
    """One compiled rule of a CNI tier, before it becomes a `CompiledPolicyRule`."""

    ref: PolicyRuleRef
    policy_index: int
    direction: Direction
    action: str  # the compile module's Action value
    ports: tuple[PolicyPort, ...]
    block_ids: tuple[int, ...]
    peer_bits: Mapping[Family, int]
    applies_to: int  # the classes whose side of the tier lists it
    order_key: tuple[float, str] = (0.0, "")  # Calico: the policy's (order, name)


@dataclass(frozen=True, slots=True)
class CniTier:
    name: str
    rules: tuple[CniRule, ...]  # in evaluation order
    policies_of: Mapping[Direction, tuple[tuple[int, ...], ...]]  # per class, policy indexes
    isolated: Mapping[Direction, int]


# --- what the classes must tell apart -----------------------------------------------------


def cni_references(
    snapshot: Snapshot,
) -> tuple[frozenset[str], tuple[tuple[str, Protocol], ...]] | None:
    """The label keys and named ports the CNI policies look at; None without such policies."""
    if not snapshot.cilium_policies and not snapshot.calico_policies:
        return None
    keys: set[str] = set()
    named: set[tuple[str, Protocol]] = set()
    for policy in snapshot.cilium_policies:
        for spec in policy.specs:
            selectors = [spec.subject] if spec.subject else []
            for rule in spec.rules:
                selectors.extend(rule.endpoints or ())
                for port_rule in rule.ports:
                    for entry in port_rule.ports:
                        if isinstance(entry.port, str):
                            named.update((entry.port, p) for p in _protocols(entry.protocol))
            for selector in selectors:
                keys.update(selector.selector.match_labels)
                keys.update(r.key for r in selector.selector.match_expressions)
        for ref_rule in (r for s in policy.specs for r in s.rules):
            for service in ref_rule.services:
                keys.update(_service_selector_keys(snapshot, service))
    for calico_policy in snapshot.calico_policies:
        exprs = [calico_policy.selector.expression]
        for calico_rule in calico_policy.ingress + calico_policy.egress:
            for entity in (calico_rule.source, calico_rule.destination):
                exprs.extend(s.expression for s in (entity.selector, entity.not_selector) if s)
                for port in (*entity.ports, *entity.not_ports):
                    if port.name is not None:
                        named.update((port.name, p) for p in _ANY)
        for expr in exprs:
            keys.update(_keys(expr))
    return frozenset(keys), tuple(sorted(named))


def _service_selector_keys(snapshot: Snapshot, ref: cil.ServiceRef) -> set[str]:
    return {
        key
        for service in snapshot.services
        if service.namespace == ref.namespace
        for key in service.selector
    }


def _keys(expression: Expression) -> set[str]:
    if isinstance(expression, Has | Compare | InSet):
        return {expression.key}
    if isinstance(expression, Not):
        return _keys(expression.operand)
    if isinstance(expression, And | Or):
        return {k for operand in expression.operands for k in _keys(operand)}
    return set()


def _protocols(name: str) -> tuple[Protocol, ...]:
    if name == "ANY":
        return _ANY
    return (Protocol(name),) if name in Protocol.__members__ else ()


def cni_address_blocks(snapshot: Snapshot) -> list[tuple[str, IPBlock]]:
    """The address blocks CNI rules name (compiled with the other policies' ipBlocks)."""
    found: list[tuple[str, IPBlock]] = []
    if snapshot.cilium_policies or snapshot.calico_policies:
        found.extend(("the CNI policies' world", block) for block in WORLD)
    for policy in snapshot.cilium_policies:
        for rule in (r for s in policy.specs for r in s.rules):
            found.extend(
                (f"{policy.kind} {policy.name}", IPBlock(c.cidr, c.except_)) for c in rule.cidrs
            )
    for calico_policy in snapshot.calico_policies:
        name = f"{calico_policy.kind} {calico_policy.name}"
        for calico_rule in calico_policy.ingress + calico_policy.egress:
            for entity in (calico_rule.source, calico_rule.destination):
                found.extend((name, IPBlock(n)) for n in (*entity.nets, *entity.not_nets))
                found.extend((name, block) for block in _not_nets(entity.not_nets))
    # Network sets matter only to Calico's rules (and are read only then).
    for network_set in snapshot.calico_network_sets if snapshot.calico_policies else ():
        found.extend((f"{network_set.ref}", IPBlock(n)) for n in network_set.nets)
    return found


def _not_nets(nets: Sequence[str]) -> tuple[IPBlock, ...]:
    """Every address but `nets`, as one block per IP family."""
    if not nets:
        return ()
    v4 = tuple(n for n in nets if ":" not in n)
    v6 = tuple(n for n in nets if ":" in n)
    return (IPBlock("0.0.0.0/0", v4), IPBlock("::/0", v6))


# --- helpers shared by both -------------------------------------------------------------------


class CniContext:
    def __init__(
        self,
        snapshot: Snapshot,
        classes: PodClasses,
        namespace_labels: Mapping[str, Labels],
        blocks: CompiledBlocks,
        block_bits: Mapping[tuple[Family, int], int],
    ) -> None:
        self.snapshot = snapshot
        self.classes = classes
        self.namespace_labels = namespace_labels
        self.blocks = blocks
        self.block_bits = block_bits
        self.world_ids = tuple(blocks.ids[b] for b in WORLD if b in blocks.ids)

    def ns_labels(self, namespace: str) -> Labels:
        return self.namespace_labels.get(namespace, {})

    def policed(self) -> Iterable[int]:
        """Indexes of the classes policies select (not hostNetwork)."""
        for cls in self.classes.classes:
            if not cls.host_network:
                yield cls.index

    def bits(self, predicate: Iterable[bool]) -> int:
        return bits_of(i for i, ok in enumerate(predicate) if ok)

    def per_family(
        self, bits: int, block_ids: Iterable[int], pods_in_blocks: bool
    ) -> dict[Family, int]:
        result: dict[Family, int] = {}
        ids = tuple(block_ids)
        for family in self.classes.families:
            value = bits
            if pods_in_blocks:
                for block_id in ids:
                    value |= self.block_bits.get((family, block_id), 0)
            result[family] = value
        return result

    def ports(
        self, protocols: Iterable[Protocol], entries: Iterable[tuple[int | str | None, int | None]]
    ) -> tuple[PolicyPort, ...]:
        listed = list(entries)
        return tuple(
            PolicyPort(protocol=p, port=port, end_port=end)
            for p in protocols
            for port, end in listed
        )


def side_lists(
    count: int, rules: Sequence[CniRule], direction: Direction
) -> tuple[tuple[int, ...], ...]:
    """Per class, the indexes (into `rules`) of the direction's rules applying to it."""
    lists: list[list[int]] = [[] for _ in range(count)]
    for position, rule in enumerate(rules):
        if rule.direction is not direction:
            continue
        bits = rule.applies_to
        while bits:
            low = bits & -bits
            lists[low.bit_length() - 1].append(position)
            bits ^= low
    return tuple(map(tuple, lists))


__all__ = [
    "CILIUM_DEFAULT_DENY_TIER",
    "CILIUM_TIER",
    "PROTOCOLS",
    "CniRule",
    "CniTier",
    "cni_address_blocks",
    "cni_references",
    "side_lists",
]
