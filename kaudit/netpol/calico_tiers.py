"""Calico's tiers as ordered policy rules (see kaudit.netpol.cni_tiers)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kaudit.model import IPBlock, Labels, PolicyPort, Protocol
from kaudit.model.cni import calico as cal
from kaudit.model.cni.calico_selector import Selector
from kaudit.netpol.classes import Family
from kaudit.netpol.cni_tiers import CniContext, CniRule, CniTier
from kaudit.netpol.verdict import Direction, PolicyRuleRef

_ALL_PROTOCOLS = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)
PORT_MIN, PORT_MAX = 1, 65535


@dataclass(frozen=True, slots=True)
class CalicoTiers:
    """The Calico tiers before the default tier, the default tier's Calico part (merged
    with the NetworkPolicies by the compiler), and the tiers after it."""

    before: tuple[CniTier, ...]
    default: CniTier
    default_applies: Mapping[Direction, int]  # classes a default-tier Calico policy applies to
    default_action: cal.Action
    after: tuple[CniTier, ...]


def tier_name(name: str) -> str:
    return f"Calico {name}"


class _Compiler:
    def __init__(self, ctx: CniContext) -> None:
        self.ctx = ctx
        classes = ctx.classes.classes
        accounts = {(a.namespace, a.name): a.labels for a in ctx.snapshot.service_accounts}
        self.pod_labels: list[Labels] = [
            {
                **cls.labels,
                "projectcalico.org/namespace": cls.namespace,
                "projectcalico.org/orchestrator": "k8s",
                "projectcalico.org/serviceaccount": cls.service_account,
            }
            for cls in classes
        ]
        self.account_labels: list[Labels] = [
            {
                **accounts.get((cls.namespace, cls.service_account), {}),
                cal.NAME_LABEL: cls.service_account,
            }
            for cls in classes
        ]
        self.policed = ctx.bits(not cls.host_network for cls in classes)
        self._cache: dict[tuple[str, Selector], int] = {}

    def ns_labels(self, namespace: str) -> Labels:
        return {**self.ctx.ns_labels(namespace), cal.NAME_LABEL: namespace}

    def select(self, what: str, selector: Selector) -> int:
        key = (what, selector)
        cached = self._cache.get(key)
        if cached is None:
            classes = self.ctx.classes.classes
            if what == "pods":
                cached = self.ctx.bits(selector.matches(self.pod_labels[c.index]) for c in classes)
            elif what == "accounts":
                cached = self.ctx.bits(
                    selector.matches(self.account_labels[c.index]) for c in classes
                )
            else:
                cached = self.ctx.bits(
                    selector.matches(self.ns_labels(c.namespace)) for c in classes
                )
            self._cache[key] = cached
        return cached

    def namespace_bits(self, namespace: str) -> int:
        return self.ctx.classes.ns_bits.get(namespace, 0)

    def subject(self, policy: cal.CalicoPolicy) -> int:
        bits = self.policed & self.select("pods", policy.selector)
        bits &= self.select("accounts", policy.service_account_selector)
        if policy.is_global:
            if policy.namespace_selector is not None:
                bits &= self.select("namespaces", policy.namespace_selector)
        else:
            bits &= self.namespace_bits(policy.namespace)
        return bits

    def block_ids(self, blocks: tuple[IPBlock, ...]) -> list[int]:
        ids = self.ctx.blocks.ids
        return [ids[b] for b in blocks if b in ids]

    def in_blocks(self, nets: tuple[str, ...]) -> int:
        """Classes with an address in `nets`."""
        bits = 0
        for block_id in self.block_ids(tuple(IPBlock(n) for n in nets)):
            for family in self.ctx.classes.families:
                bits |= self.ctx.block_bits.get((family, block_id), 0)
        return bits

    def entity(self, policy: cal.CalicoPolicy, entity: cal.EntityRule) -> tuple[int, list[int]]:
        """The classes an entity rule matches (by endpoint criteria and addresses), and the
        address blocks it matches outside the cluster."""
        everything = self.ctx.classes.everything
        if entity.namespace_selector is not None:
            scope = self.select("namespaces", entity.namespace_selector)
        elif policy.is_global:
            scope = everything
        else:
            scope = self.namespace_bits(policy.namespace)
        blocks: list[int] = []
        if entity.selects_endpoints:
            bits = self.policed & scope
            if entity.selector is not None:
                bits &= self.select("pods", entity.selector)
            if entity.service_account_names:
                names = set(entity.service_account_names)
                bits &= self.ctx.bits(c.service_account in names for c in self.ctx.classes.classes)
            if entity.service_account_selector is not None:
                bits &= self.select("accounts", entity.service_account_selector)
            if entity.service is not None:
                bits = 0  # service matches are not evaluated (reported)
            blocks.extend(self._network_sets(policy, entity))
        else:
            bits = everything
            blocks.extend(self.block_ids(cal_world(entity.not_nets)))
        if entity.not_selector is not None:
            bits &= ~(self.policed & scope & self.select("pods", entity.not_selector))
        if entity.nets:
            bits &= self.in_blocks(entity.nets)
            blocks = self.block_ids(tuple(IPBlock(n) for n in entity.nets))
        if entity.not_nets:
            bits &= ~self.in_blocks(entity.not_nets)
        return bits, blocks

    def _network_sets(self, policy: cal.CalicoPolicy, entity: cal.EntityRule) -> list[int]:
        if (
            entity.selector is None
            or entity.service_account_names
            or entity.service_account_selector
        ):
            return []
        found: list[int] = []
        for network_set in self.ctx.snapshot.calico_network_sets:
            if network_set.is_global:
                in_scope = (
                    entity.namespace_selector.matches({}, is_global=True)
                    if entity.namespace_selector is not None
                    else policy.is_global
                )
            elif entity.namespace_selector is not None:
                in_scope = entity.namespace_selector.matches(self.ns_labels(network_set.namespace))
            else:
                in_scope = policy.is_global or network_set.namespace == policy.namespace
            if in_scope and entity.selector.matches(network_set.labels):
                found.extend(self.block_ids(tuple(IPBlock(n) for n in network_set.nets)))
        return found

    def rule(
        self,
        policy: cal.CalicoPolicy,
        policy_index: int,
        rule: cal.CalicoRule,
        subject: int,
        tier: str,
    ) -> CniRule | None:
        if rule.action is cal.Action.LOG:
            return None  # goes on to the next rule
        ports = _ports(rule)
        if ports is None or rule.source.ports or rule.source.not_ports:
            return None  # no TCP, UDP or SCTP; source ports are not asked about (reported)
        ingress = rule.direction == "Ingress"
        own, peer = (rule.destination, rule.source) if ingress else (rule.source, rule.destination)
        own_bits, _ = self.entity(policy, own)
        peer_bits, blocks = self.entity(policy, peer)
        applies = subject & own_bits
        if not applies:
            return None
        per_family: dict[Family, int] = {}
        for family in self.ctx.classes.families:
            wrong_family = rule.ip_version is not None and family and family != rule.ip_version
            per_family[family] = 0 if wrong_family else peer_bits
        order = policy.order if policy.order is not None else float("inf")
        return CniRule(
            ref=PolicyRuleRef(
                policy.ref,
                Direction.INGRESS if ingress else Direction.EGRESS,
                rule.index,
                tier,
            ),
            policy_index=policy_index,
            direction=Direction.INGRESS if ingress else Direction.EGRESS,
            action={cal.Action.ALLOW: "allow", cal.Action.DENY: "deny"}.get(rule.action, "pass"),
            ports=ports,
            block_ids=tuple(dict.fromkeys(blocks)),
            peer_bits=per_family,
            applies_to=applies,
            order_key=(order, policy.name),
        )


def cal_world(not_nets: tuple[str, ...]) -> tuple[IPBlock, ...]:
    if not not_nets:
        return (IPBlock("0.0.0.0/0"), IPBlock("::/0"))
    v4 = tuple(n for n in not_nets if ":" not in n)
    v6 = tuple(n for n in not_nets if ":" in n)
    return (IPBlock("0.0.0.0/0", v4), IPBlock("::/0", v6))


def _ports(rule: cal.CalicoRule) -> tuple[PolicyPort, ...] | None:
    """The destination ports and protocols as NetworkPolicy ports: () for all, None for
    none of TCP, UDP and SCTP."""
    if rule.protocol is not None:
        protocols = tuple(p for p in _ALL_PROTOCOLS if p.value == rule.protocol)
    else:
        protocols = _ALL_PROTOCOLS
    if rule.not_protocol is not None:
        protocols = tuple(p for p in protocols if p.value != rule.not_protocol)
    if not protocols:
        return None
    entity = rule.destination
    if not entity.ports and not entity.not_ports and protocols == _ALL_PROTOCOLS:
        return ()
    spans: list[tuple[int, int]] = [
        (max(m.first, PORT_MIN), m.last)
        for m in entity.ports
        if m.name is None and m.last >= PORT_MIN
    ]
    names = [m.name for m in entity.ports if m.name is not None]
    if not entity.ports:
        spans = [(PORT_MIN, PORT_MAX)]
    for excluded in (m for m in entity.not_ports if m.name is None):
        spans = [
            part
            for lo, hi in spans
            for part in ((lo, min(hi, excluded.first - 1)), (max(lo, excluded.last + 1), hi))
            if part[0] <= part[1]
        ]
    entries: list[tuple[int | str, int | None]] = [
        (lo, hi if hi != lo else None) for lo, hi in spans
    ]
    entries += [(name, None) for name in names]
    if not entries:
        return None
    return tuple(
        PolicyPort(protocol=p, port=port, end_port=end) for p in protocols for port, end in entries
    )


def calico_tiers(ctx: CniContext, first_policy: int) -> CalicoTiers:
    """Calico's tiers; policy indexes start at `first_policy`, in the snapshot's order."""
    compiler = _Compiler(ctx)
    count = len(ctx.classes.classes)
    named = {t.name: t for t in ctx.snapshot.calico_tiers}
    named.setdefault(cal.DEFAULT_TIER, cal.DEFAULT_TIER_OBJECT)
    policies = list(enumerate(ctx.snapshot.calico_policies, start=first_policy))
    for _, policy in policies:
        named.setdefault(policy.tier, cal.Tier(policy.tier, None, cal.Action.DENY))
    built: list[tuple[cal.Tier, CniTier, Mapping[Direction, int]]] = []
    for tier in sorted(named.values(), key=lambda t: t.sort_key):
        members = sorted(
            (
                (p.order if p.order is not None else float("inf"), p.name, index, p)
                for index, p in policies
                if p.tier == tier.name and p.enforced
            ),
            key=lambda m: (m[0], m[1]),
        )
        name = tier_name(tier.name)
        rules: list[CniRule] = []
        applies = dict.fromkeys(Direction, 0)
        policies_of: dict[Direction, list[list[int]]] = {
            d: [[] for _ in range(count)] for d in Direction
        }
        for _, _, index, policy in members:
            subject = compiler.subject(policy)
            for direction, entries in (
                (Direction.INGRESS, policy.ingress),
                (Direction.EGRESS, policy.egress),
            ):
                if direction.value not in policy.types or not subject:
                    continue
                applies[direction] |= subject
                bits = subject
                while bits:
                    low = bits & -bits
                    policies_of[direction][low.bit_length() - 1].append(index)
                    bits ^= low
                for rule in entries:
                    compiled = compiler.rule(policy, index, rule, subject, name)
                    if compiled is not None:
                        rules.append(compiled)
        deny_at_end = tier.default_action is cal.Action.DENY
        built.append(
            (
                tier,
                CniTier(
                    name=name,
                    rules=tuple(rules),
                    policies_of={d: tuple(map(tuple, p)) for d, p in policies_of.items()},
                    isolated={d: applies[d] if deny_at_end else 0 for d in Direction},
                ),
                applies,
            )
        )
    position = next(i for i, (t, _, _) in enumerate(built) if t.name == cal.DEFAULT_TIER)
    default_tier, default, default_applies = built[position]
    return CalicoTiers(
        before=tuple(t for _, t, a in built[:position] if any(a.values())),
        default=default,
        default_applies=default_applies,
        default_action=default_tier.default_action,
        after=tuple(t for _, t, a in built[position + 1 :] if any(a.values())),
    )
