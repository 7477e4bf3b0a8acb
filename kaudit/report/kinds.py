"""Kinds present in the input but not audited, and the ones among them that change reachability.

`ClusterFacts.ignored_kinds` counts the objects kaudit read past. Some of them are
policies of other engines (Cilium, Calico, Antrea):
the cluster enforces them, kaudit does not evaluate them, so every answer about
who may reach whom leaves them out. Every report format says so in one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# Kinds of policy engines besides networking.k8s.io/v1 NetworkPolicy and the
# network-policy-api (policy.networking.k8s.io: ClusterNetworkPolicy, AdminNetworkPolicy,
# BaselineAdminNetworkPolicy, all evaluated) that allow or deny traffic. An ignored
# "NetworkPolicy" is another group's (Calico's), an ignored "ClusterNetworkPolicy"
# Antrea's (crd.antrea.io): the Kubernetes ones are audited.
REACHABILITY_KINDS = frozenset(
    {
        "CiliumNetworkPolicy",
        "CiliumClusterwideNetworkPolicy",
        "NetworkPolicy",
        "GlobalNetworkPolicy",
        "ClusterNetworkPolicy",
    }
)

# The kind inside a key, however the key names its group ("Kind", "group/Kind",
# "Kind.group", "group/version Kind").
_WORDS = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def changes_reachability(kind_key: str) -> bool:
    """Is this ignored kind a policy that allows or denies traffic?"""
    return any(word in REACHABILITY_KINDS for word in _WORDS.findall(kind_key))


def ignored_kinds_text(ignored: Mapping[str, int]) -> str | None:
    """`ConfigMap (2), CiliumNetworkPolicy (1)`, or None when nothing was left out."""
    if not ignored:
        return None
    return ", ".join(f"{kind} ({n})" for kind, n in sorted(ignored.items()))


def unevaluated_policy_caveat(ignored: Mapping[str, int]) -> str | None:
    """One line saying that policies of other engines were present but not evaluated."""
    kinds = sorted(k for k in ignored if changes_reachability(k))
    if not kinds:
        return None
    listed = ", ".join(kinds)
    return (
        f"Not evaluated: {listed} {'is' if len(kinds) == 1 else 'are'} in the input and "
        f"change{'s' if len(kinds) == 1 else ''} what may reach what, but kaudit evaluates "
        f"only Kubernetes NetworkPolicy and the network-policy-api's ClusterNetworkPolicy, "
        f"AdminNetworkPolicy and BaselineAdminNetworkPolicy: reachability here leaves "
        f"{'it' if len(kinds) == 1 else 'them'} out."
    )
