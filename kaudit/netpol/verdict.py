"""What the policy engine answers: verdicts and the reasons behind them.

Every answer says *why*: the policy rules that allow a connection (policy and
rule index on each side), or the policies that isolate a pod when nothing allows
it. All types are frozen and JSON-ready through `to_dict()`.

A *policy rule* is one entry of a policy's `ingress` or `egress` list, never one
of kaudit's audit rules (`kaudit.rules`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kaudit.jsontypes import JsonObject
from kaudit.model import ObjectRef, Protocol

# The tier of networking.k8s.io/v1 NetworkPolicy's policy rules (see kaudit.netpol.compile).
NETWORK_POLICY_TIER = "NetworkPolicy"


class Direction(enum.StrEnum):
    INGRESS = "Ingress"
    EGRESS = "Egress"


class Reason(enum.StrEnum):
    """Why one side (the source's egress, or the destination's ingress) decided as it did."""

    LOOPBACK = "loopback"  # a pod may always reach itself
    HOST_NETWORK = "host-network"  # the pod uses the node's network: NetworkPolicy does not apply
    OWN_NODE = "own-node"  # traffic from the destination pod's own node is always allowed
    NOT_ISOLATED = "not-isolated"  # no policy selects the pod for this direction
    POLICY_RULES = "rules"  # isolated, and at least one policy rule allows the connection
    NO_POLICY_RULE = "no-rule"  # isolated, and no policy rule allows the connection
    DENIED_BY_POLICY_RULE = "denied-by-rule"  # a deny policy rule of an ordered tier matched first
    TERMINATED = "terminated"  # Succeeded/Failed pods take no part in reachability


class Coverage(enum.StrEnum):
    """How much of a destination address range is allowed.

    A pod or a single address is either ALL or NONE; a CIDR may be SOME.
    """

    ALL = "all"
    SOME = "some"
    NONE = "none"


@dataclass(frozen=True, slots=True, order=True)
class PolicyRuleRef:
    """One policy rule: `spec.ingress[rule_index]` or `spec.egress[rule_index]` of a policy.

    `tier` names the tier the policy belongs to, the one whose policy rule decided a verdict,
    and `name` the rule's own name (admin policies' rules may have one). Text and JSON
    name the kind and tier of policies outside the NetworkPolicy tier only.
    """

    policy: ObjectRef
    direction: Direction
    rule_index: int
    tier: str = NETWORK_POLICY_TIER
    name: str = ""

    def __str__(self) -> str:
        where = f"{self.direction.value.lower()}[{self.rule_index}]"
        if self.tier == NETWORK_POLICY_TIER:
            return f"{self.policy.qualified_name} {where}"
        named = f" {self.name!r}" if self.name else ""
        return f"{self.policy.kind} {self.policy.qualified_name} {where}{named} ({self.tier} tier)"

    def to_dict(self) -> JsonObject:
        data: JsonObject = {
            "policy": self.policy.qualified_name,
            "direction": self.direction.value,
            "rule": self.rule_index,
        }
        if self.tier != NETWORK_POLICY_TIER:
            data["tier"] = self.tier
            data["kind"] = self.policy.kind
        if self.name:
            data["name"] = self.name
        return data


@dataclass(frozen=True, slots=True)
class Isolation:
    """Which policies select a pod, per direction. A pod selected by no NetworkPolicy is
    not isolated (what no policy rule decides is allowed).

    `*_admin_policies` are the admin and baseline policies (ClusterNetworkPolicy,
    AdminNetworkPolicy, BaselineAdminNetworkPolicy) whose subject holds the pod and that
    have rules for the direction, in evaluation order: they decide what their rules
    match, but do not isolate the pod.
    """

    pod: ObjectRef
    host_network: bool
    ingress_policies: tuple[ObjectRef, ...]
    egress_policies: tuple[ObjectRef, ...]
    ingress_admin_policies: tuple[ObjectRef, ...] = ()
    egress_admin_policies: tuple[ObjectRef, ...] = ()

    @property
    def ingress_isolated(self) -> bool:
        return bool(self.ingress_policies)

    @property
    def egress_isolated(self) -> bool:
        return bool(self.egress_policies)

    def to_dict(self) -> JsonObject:
        return {
            "pod": self.pod.qualified_name,
            "host_network": self.host_network,
            "ingress_isolated": self.ingress_isolated,
            "egress_isolated": self.egress_isolated,
            "ingress_policies": [p.qualified_name for p in self.ingress_policies],
            "egress_policies": [p.qualified_name for p in self.egress_policies],
            **(
                {
                    "ingress_admin_policies": [str(p) for p in self.ingress_admin_policies],
                    "egress_admin_policies": [str(p) for p in self.egress_admin_policies],
                }
                if self.ingress_admin_policies or self.egress_admin_policies
                else {}
            ),
        }


@dataclass(frozen=True, slots=True)
class SideVerdict:
    """The decision of one side of a connection.

    `isolating_policies` are the policies selecting the pod for this direction
    (empty when the pod is not isolated); `allowing_policy_rules` the policy rules
    among them that allow this connection; `denying_policy_rules` the deny policy rule
    that decided it (DENIED_BY_POLICY_RULE, from an ordered tier).
    """

    direction: Direction
    pod: ObjectRef
    allowed: bool
    reason: Reason
    isolating_policies: tuple[ObjectRef, ...] = ()
    allowing_policy_rules: tuple[PolicyRuleRef, ...] = ()
    denying_policy_rules: tuple[PolicyRuleRef, ...] = ()

    def explain(self) -> str:
        side = "egress of" if self.direction is Direction.EGRESS else "ingress of"
        who = f"{side} {self.pod.qualified_name}"
        policies = ", ".join(p.qualified_name for p in self.isolating_policies)
        if self.reason is Reason.HOST_NETWORK:
            return f"{who}: allowed (hostNetwork pod: NetworkPolicy does not apply to it)"
        if self.reason is Reason.OWN_NODE:
            return f"{who}: allowed (the source runs on this pod's node, always allowed)"
        if self.reason is Reason.NOT_ISOLATED:
            return f"{who}: allowed (no NetworkPolicy selects it for {self.direction.value})"
        if self.reason is Reason.POLICY_RULES:
            policy_rules = ", ".join(str(r) for r in self.allowing_policy_rules)
            # Not allowed despite allowing policy rules: only part of an address range is.
            word = "allowed" if self.allowed else "partly allowed"
            return f"{who}: {word} by {policy_rules}"
        if self.reason is Reason.DENIED_BY_POLICY_RULE:
            policy_rules = ", ".join(str(r) for r in self.denying_policy_rules)
            return f"{who}: denied by {policy_rules}"
        if self.reason is Reason.TERMINATED:
            return f"{who}: denied (the pod has terminated)"
        return f"{who}: denied (isolated by {policies}; no rule allows this)"

    def to_dict(self) -> JsonObject:
        data: JsonObject = {
            "direction": self.direction.value,
            "pod": self.pod.qualified_name,
            "allowed": self.allowed,
            "reason": self.reason.value,
            "isolating_policies": [p.qualified_name for p in self.isolating_policies],
            "allowing_rules": [r.to_dict() for r in self.allowing_policy_rules],
        }
        if self.denying_policy_rules:  # only ordered tiers deny
            data["denying_rules"] = [r.to_dict() for r in self.denying_policy_rules]
        return data


_ALLOWED_PRECEDENCE = (
    Reason.POLICY_RULES,
    Reason.OWN_NODE,
    Reason.HOST_NETWORK,
    Reason.NOT_ISOLATED,
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """May `source` reach `destination` on `port`/`protocol`, and why.

    For a pod destination both sides are given: the source's egress and the
    destination's ingress, and `allowed` needs both. For an address outside the
    cluster only the source's egress applies (`ingress` is None). For a CIDR,
    `allowed` means *every* address of it is allowed; `coverage` tells ALL, SOME
    or NONE and `allowed_ranges` lists the allowed part of the range.
    """

    allowed: bool
    source: ObjectRef
    destination: str  # "namespace/name" of a pod, or an address or CIDR
    port: int | str
    protocol: Protocol
    egress: SideVerdict | None
    ingress: SideVerdict | None
    coverage: Coverage
    allowed_ranges: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def reason(self) -> Reason:
        """The overall reason: the denying side's when denied; when allowed, the most
        telling of the two (policy rules, then own node, then host network, then no isolation)."""
        sides = [s for s in (self.egress, self.ingress) if s is not None]
        if not sides:
            return Reason.LOOPBACK
        for side in sides:
            if not side.allowed:
                return side.reason
        return min((s.reason for s in sides), key=_ALLOWED_PRECEDENCE.index)

    def explain(self) -> str:
        """Several lines of text: the verdict, each side's decision, then notes."""
        if self.coverage is Coverage.SOME:
            word = "PARTLY ALLOWED"
        else:
            word = "ALLOWED" if self.allowed else "DENIED"
        lines = [
            f"{self.source.qualified_name} -> {self.destination} {self.port}/{self.protocol}: {word}"
        ]
        if self.egress is None and self.ingress is None:
            lines.append("  a pod may always reach itself")
        for side in (self.egress, self.ingress):
            if side is not None:
                lines.append(f"  {side.explain()}")
        if self.coverage is Coverage.SOME:
            lines.append(f"  allowed part of the range: {', '.join(self.allowed_ranges)}")
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)

    def to_dict(self) -> JsonObject:
        return {
            "source": self.source.qualified_name,
            "destination": self.destination,
            "port": self.port,
            "protocol": self.protocol.value,
            "allowed": self.allowed,
            "coverage": self.coverage.value,
            "allowed_ranges": list(self.allowed_ranges),
            "reason": self.reason.value,
            "egress": self.egress.to_dict() if self.egress else None,
            "ingress": self.ingress.to_dict() if self.ingress else None,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class DnsAccess:
    """May a pod reach the cluster DNS pods on UDP 53 and TCP 53.

    `udp`/`tcp` are True when *every* DNS pod considered is reachable (the
    kube-dns Service spreads queries over all of them); `udp_any`/`tcp_any` when
    at least one is. `stand_in` is True when the snapshot had no DNS pods and a
    stand-in kube-system pod labelled k8s-app=kube-dns was used.
    """

    pod: ObjectRef
    dns_pods: tuple[ObjectRef, ...]
    stand_in: bool
    udp_verdicts: tuple[Verdict, ...]
    tcp_verdicts: tuple[Verdict, ...]

    @property
    def udp(self) -> bool:
        return all(v.allowed for v in self.udp_verdicts)

    @property
    def tcp(self) -> bool:
        return all(v.allowed for v in self.tcp_verdicts)

    @property
    def udp_any(self) -> bool:
        return any(v.allowed for v in self.udp_verdicts)

    @property
    def tcp_any(self) -> bool:
        return any(v.allowed for v in self.tcp_verdicts)

    def to_dict(self) -> JsonObject:
        return {
            "pod": self.pod.qualified_name,
            "dns_pods": [p.qualified_name for p in self.dns_pods],
            "stand_in": self.stand_in,
            "udp": self.udp,
            "tcp": self.tcp,
            "udp_any": self.udp_any,
            "tcp_any": self.tcp_any,
        }
