"""The NetworkPolicy engine: who may talk to whom, and why.

`PolicyEngine(snapshot)` evaluates networking.k8s.io/v1 NetworkPolicy exactly
(see `kaudit.netpol.engine` and docs/netpol-semantics.md); `kaudit reach` is
`kaudit.netpol.reach.reach_report`.
"""

from kaudit.netpol.engine import PROTOCOLS, NamespaceReach, PolicyEngine
from kaudit.netpol.verdict import (
    Coverage,
    Direction,
    DnsAccess,
    Isolation,
    Reason,
    RuleRef,
    SideVerdict,
    Verdict,
)

__all__ = [
    "PROTOCOLS",
    "Coverage",
    "Direction",
    "DnsAccess",
    "Isolation",
    "NamespaceReach",
    "PolicyEngine",
    "Reason",
    "RuleRef",
    "SideVerdict",
    "Verdict",
]
