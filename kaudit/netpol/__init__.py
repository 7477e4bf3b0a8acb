"""The NetworkPolicy engine: who may talk to whom, and why.

`PolicyEngine(snapshot)` evaluates networking.k8s.io/v1 NetworkPolicy exactly
(see docs/netpol-semantics.md). The steps: `compile` (pod classes, the selector
index and the policy rules, ordered into tiers, as one frozen `CompiledPolicies`),
`engine` (the queries over it) and `summary` (the typed reachability summary the
reports draw). `groups` answers the matrix of one port grouped
by class, workload or namespace. `kaudit reach` renders its answers in
`kaudit.cli.reach_render` and `kaudit.cli.reach_groups`.
"""

from kaudit.netpol.compile import Action, CompiledPolicies, Tier, compile_policies
from kaudit.netpol.engine import PROTOCOLS, AddressIngress, NamespaceReach, PolicyEngine
from kaudit.netpol.summary import (
    IsolationCounts,
    PairCount,
    PodClassSummary,
    ReachabilitySummary,
    ReachCount,
)
from kaudit.netpol.verdict import (
    Coverage,
    Direction,
    DnsAccess,
    Isolation,
    PolicyRuleRef,
    Reason,
    SideVerdict,
    Verdict,
)

__all__ = [
    "PROTOCOLS",
    "Action",
    "AddressIngress",
    "CompiledPolicies",
    "Coverage",
    "Direction",
    "DnsAccess",
    "Isolation",
    "IsolationCounts",
    "NamespaceReach",
    "PairCount",
    "PodClassSummary",
    "PolicyEngine",
    "PolicyRuleRef",
    "ReachCount",
    "ReachabilitySummary",
    "Reason",
    "SideVerdict",
    "Tier",
    "Verdict",
    "compile_policies",
]
