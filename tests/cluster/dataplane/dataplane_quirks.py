"""Where kube-router (the dataplane) knowingly differs from the NetworkPolicy API.

The one list of them. A matrix whose policies show a listed quirk may disagree with
the API's answer on the cells the quirk explains; those cells are counted as known
quirks, not disagreements. A quirk that no longer shows is reported, so the list
stays true.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Quirk:
    name: str
    reason: str
    shows_in: Callable[[list[dict[str, Any]]], bool]
    # The answers it explains: (packets, API) on one cell.
    explains: tuple[tuple[bool, bool], ...]


def _rules(policies: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for policy in policies:
        spec = policy.get("spec") or {}
        for direction, peers_key in (("ingress", "from"), ("egress", "to")):
            for rule in spec.get(direction) or []:
                yield peers_key, rule or {}


def _named_port_to_ip_block(policies: list[dict[str, Any]]) -> bool:
    return any(
        any("ipBlock" in peer for peer in rule.get(peers_key) or [])
        and any(isinstance(p.get("port"), str) for p in rule.get("ports") or [])
        for peers_key, rule in _rules(policies)
    )


def _named_port_without_peers(policies: list[dict[str, Any]]) -> bool:
    return any(
        not rule.get(peers_key)
        and any(isinstance(p.get("port"), str) for p in rule.get("ports") or [])
        for peers_key, rule in _rules(policies)
    )


def _policy_with_ingress_and_egress_rules(policies: list[dict[str, Any]]) -> bool:
    return any(
        {"Ingress", "Egress"} <= set((p.get("spec") or {}).get("policyTypes") or [])
        and (p.get("spec") or {}).get("egress")
        for p in policies
    )


QUIRKS = (
    Quirk(
        "named-port-towards-ip-block",
        "kube-router does not resolve a named port in a rule whose peers include an "
        "ipBlock (it resolves names through the pods its selectors match, and an "
        "ipBlock matches no pod): traffic the API allows to that port is dropped",
        _named_port_to_ip_block,
        explains=((False, True),),
    ),
    Quirk(
        "egress-rule-admits-ingress",
        "kube-router runs a pod's traffic through each whole policy that selects the "
        "pod, without telling its ingress rules from its egress rules: when one policy "
        "with both types selects the source and the destination, an egress rule that "
        "lets the source out also lets the packet into the destination, where the "
        "API still needs an ingress rule admitting it (seen with random clusters)",
        _policy_with_ingress_and_egress_rules,
        explains=((True, False),),
    ),
    Quirk(
        "named-port-without-peers",
        "for a rule with a named port and no peers (every source or destination), "
        "kube-router resolves the name once, on pods of the policy's namespace, and "
        "applies that number to every pod: a pod elsewhere whose same-named port has "
        "another number is denied, and a pod without the name is allowed on that "
        "number, where the API resolves the name on each destination pod",
        _named_port_without_peers,
        explains=((False, True), (True, False)),
    ),
)


def quirks_in(policies: list[dict[str, Any]]) -> list[Quirk]:
    return [quirk for quirk in QUIRKS if quirk.shows_in(policies)]
