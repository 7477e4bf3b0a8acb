"""Cilium's policies as two tiers around NetworkPolicy (see kaudit.netpol.cni_tiers)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kaudit.model import IPBlock, PolicyPort, Protocol
from kaudit.model.cni import cilium as cil
from kaudit.netpol.cni_tiers import (
    CILIUM_DEFAULT_DENY_TIER,
    CILIUM_TIER,
    CniContext,
    CniRule,
    CniTier,
)
from kaudit.netpol.verdict import Direction, PolicyRuleRef

_ANY = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)


def cilium_tiers(ctx: CniContext, first_policy: int) -> tuple[CniTier, CniTier]:
    """The Cilium tier (deny rules, then allow rules) and the default-deny tier.

    Policy indexes start at `first_policy`, in the snapshot's order of Cilium policies.
    """
    classes = ctx.classes
    count = len(classes.classes)
    labels = [
        cil.endpoint_labels(
            cls.labels, cls.namespace, ctx.ns_labels(cls.namespace), cls.service_account
        )
        for cls in classes.classes
    ]
    policed = set(ctx.policed())
    host_bits = ctx.bits(cls.host_network for cls in classes.classes)

    def selected(selector: cil.EndpointSelector) -> int:
        return ctx.bits(
            i in policed and selector.matches_pod(labels[i], cls.namespace)
            for i, cls in enumerate(classes.classes)
        )

    deny: list[CniRule] = []
    allow: list[CniRule] = []
    policies_of: dict[Direction, list[list[int]]] = {
        d: [[] for _ in range(count)] for d in Direction
    }
    default_deny = dict.fromkeys(Direction, 0)
    default_policies: dict[Direction, list[list[int]]] = {
        d: [[] for _ in range(count)] for d in Direction
    }
    for offset, policy in enumerate(ctx.snapshot.cilium_policies):
        index = first_policy + offset
        for spec in policy.specs:
            if spec.subject is None:
                continue  # host policies: not evaluated (reported)
            subject = selected(spec.subject)
            for direction, rules, isolating in (
                (Direction.INGRESS, spec.ingress, spec.default_deny_ingress),
                (Direction.EGRESS, spec.egress, spec.default_deny_egress),
            ):
                if not rules and not isolating:
                    continue
                for i in _members(subject):
                    if index not in policies_of[direction][i]:
                        policies_of[direction][i].append(index)
                    if isolating and index not in default_policies[direction][i]:
                        default_policies[direction][i].append(index)
                if isolating:
                    default_deny[direction] |= subject
                for rule in rules:
                    compiled = _rule(
                        ctx, policy, spec, rule, index, direction, subject, selected, host_bits
                    )
                    if compiled is not None:
                        (deny if rule.deny else allow).append(compiled)
    rules_tier = CniTier(
        name=CILIUM_TIER,
        rules=(*deny, *allow),
        policies_of={d: tuple(map(tuple, p)) for d, p in policies_of.items()},
        isolated=dict.fromkeys(Direction, 0),
    )
    default_tier = CniTier(
        name=CILIUM_DEFAULT_DENY_TIER,
        rules=(),
        policies_of={d: tuple(map(tuple, p)) for d, p in default_policies.items()},
        isolated=default_deny,
    )
    return rules_tier, default_tier


def _members(bits: int) -> list[int]:
    out = []
    while bits:
        low = bits & -bits
        out.append(low.bit_length() - 1)
        bits ^= low
    return out


def _rule(
    ctx: CniContext,
    policy: cil.CiliumPolicy,
    spec: cil.CiliumSpec,
    rule: cil.CiliumPolicyRule,
    policy_index: int,
    direction: Direction,
    subject: int,
    selected: Callable[[cil.EndpointSelector], int],
    host_bits: int,
) -> CniRule | None:
    if rule.matches_nothing or not subject:
        return None
    ports = _ports(rule.ports)
    if ports is None:
        return None  # only protocols kaudit does not ask about (ICMP, GRE, ...)
    classes = ctx.classes
    block_ids: list[int] = []
    if rule.all_peers:
        bits = classes.everything
        block_ids.extend(ctx.world_ids)
    else:
        bits = 0
        for selector in rule.endpoints or ():
            bits |= selected(selector)
        for entity in rule.entities:
            if entity in (cil.Entity.ALL, cil.Entity.CLUSTER, cil.Entity.CLUSTER_MESH):
                bits |= classes.everything
            elif entity in (cil.Entity.HOST, cil.Entity.REMOTE_NODE):
                bits |= host_bits
            if entity in cil.WORLD_ENTITIES:
                block_ids.extend(ctx.world_ids)
        for service_ref in rule.services:
            bits |= _service_bits(ctx, service_ref)
        for cidr in rule.cidrs:
            # CIDR rules match addresses outside the cluster, never pods (layer3 page).
            block_id = ctx.blocks.ids.get(IPBlock(cidr.cidr, cidr.except_))
            if block_id is not None:
                block_ids.append(block_id)
    section = rule.section
    name = f"{spec.field}.{section}[{rule.index}]"
    return CniRule(
        ref=PolicyRuleRef(policy.ref, direction, rule.index, CILIUM_TIER, name),
        policy_index=policy_index,
        direction=direction,
        action="deny" if rule.deny else "allow",
        ports=ports,
        block_ids=tuple(dict.fromkeys(block_ids)),
        peer_bits=ctx.per_family(bits, (), False),
        applies_to=subject,
    )


def _service_bits(ctx: CniContext, ref: cil.ServiceRef) -> int:
    """toServices: the Service's selector as an endpoint selector in its namespace."""
    bits = 0
    for service in ctx.snapshot.services:
        if service.namespace != ref.namespace or not service.has_selector:
            continue
        if ref.name is not None and service.name != ref.name:
            continue
        if ref.selector is not None and not ref.selector.matches(service.labels):
            continue
        for cls in ctx.classes.classes:
            if (
                not cls.host_network
                and cls.namespace == service.namespace
                and all(cls.labels.get(k) == v for k, v in service.selector.items())
            ):
                bits |= 1 << cls.index
    return bits


def _ports(port_rules: Sequence[cil.PortRule]) -> tuple[PolicyPort, ...] | None:
    """The rule's toPorts as NetworkPolicy ports: () for every port, None for none of
    TCP, UDP and SCTP. ANY (or no protocol) is TCP, UDP and SCTP (layer4 page)."""
    if not port_rules or any(not r.ports for r in port_rules):
        return ()
    ports: list[PolicyPort] = []
    for port_rule in port_rules:
        for entry in port_rule.ports:
            protocols = (
                _ANY
                if entry.protocol == "ANY"
                else (
                    (Protocol(entry.protocol),) if entry.protocol in ("TCP", "UDP", "SCTP") else ()
                )
            )
            ports.extend(
                PolicyPort(protocol=p, port=entry.port, end_port=entry.end_port) for p in protocols
            )
    return tuple(ports) or None
