"""Pods that cluster-wide policies close: the Admin and Baseline tiers seen by the coverage rules.

A pod without NetworkPolicy is open only when no admin or baseline policy closes it:
a BaselineAdminNetworkPolicy (or a Baseline ClusterNetworkPolicy) denying every
namespace, or an Admin-tier deny, refuses other namespaces' traffic although no
NetworkPolicy isolates the pod. The engine says which pods stay open
(`open_ingress`, `open_egress`) and which deny rules close the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from kaudit.model import Pod
from kaudit.netpol import Direction, PolicyRuleRef
from kaudit.rules.context import AuditContext

# Closed pods whose closing rules are looked up (the rules of one namespace are alike).
_SAMPLED = 3


@dataclass(frozen=True, slots=True)
class Closure:
    """Pods split by whether their direction is open to every other namespace."""

    open: list[Pod]
    closed: list[Pod]
    closing_rules: tuple[PolicyRuleRef, ...]  # deny rules that close them (a sample's)

    @property
    def text(self) -> str:
        return ", ".join(str(r) for r in self.closing_rules) or "admin policies"


def closure(ctx: AuditContext, pods: list[Pod], direction: Direction) -> Closure:
    """Which of `pods` the Admin and Baseline tiers leave open for `direction`."""
    if not ctx.snapshot.admin_policies:
        return Closure(list(pods), [], ())
    engine = ctx.engine
    is_open = engine.open_ingress if direction is Direction.INGRESS else engine.open_egress
    opened = [p for p in pods if is_open(p)]
    closed = [p for p in pods if not is_open(p)]
    found: dict[PolicyRuleRef, None] = {}
    for pod in closed[:_SAMPLED]:
        found.update(dict.fromkeys(engine.closing_policy_rules(pod, direction)))
    return Closure(opened, closed, tuple(found))
