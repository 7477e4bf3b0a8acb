"""The compiled form's tiers: NetworkPolicy alone today, and an ordered tier put before it.

The ordered tier is built by hand (no policy kind compiles to one yet) to pin the
evaluation order the compiled form promises: first match decides within a tier,
deny ends the evaluation, pass hands over to the next tier, and a tier's isolation
decides when none of its rules match.
"""

from __future__ import annotations

import dataclasses

import pytest

from kaudit.model import ObjectRef, PolicyPort, Protocol
from kaudit.netpol import Action, PolicyEngine, PolicyRuleRef, Reason, Tier, compile_policies
from kaudit.netpol.bits import bits_of
from kaudit.netpol.compile import (
    CompiledPolicies,
    CompiledPolicyRule,
    TierSide,
    _groups,
    _port_atoms,
)
from kaudit.netpol.verdict import NETWORK_POLICY_TIER, Direction
from tests.netpol.helpers import cluster, pod_doc
from tests.netpol.test_semantics import netpol

PODS = (
    pod_doc("shop/client", {"app": "client"})
    + pod_doc("shop/web", {"app": "web"})
    + pod_doc("shop/db", {"app": "db"})
    # Selects no pod of shop, but makes "app" a label that tells shop's pods apart.
    + netpol("other", "app-label", "  podSelector: {matchLabels: {app: client}}\n")
)
ADMIN = ObjectRef("AdminNetworkPolicy", "", "guard")


def test_network_policy_is_the_one_allow_only_tier() -> None:
    compiled = compile_policies(
        cluster(
            PODS
            + netpol(
                "shop",
                "web",
                "  podSelector: {matchLabels: {app: web}}\n  ingress:\n  - ports: [{port: 80}]\n",
            )
        )
    )
    (tier,) = compiled.tiers
    assert (tier.name, tier.allow_only) == (NETWORK_POLICY_TIER, True)
    assert compiled.network_policy_tier is tier
    assert {policy_rule.action for policy_rule in compiled.policy_rules} == {Action.ALLOW}
    web = compiled.classes.class_of["shop/web"].index
    client = compiled.classes.class_of["shop/client"].index
    assert tier.ingress.isolated == 1 << web  # only web is selected, for ingress only
    assert tier.egress.isolated == 0
    assert tier.ingress.policies[web] == (1,) and tier.ingress.policies[client] == ()
    assert [compiled.policy_rules[r].ref for r in tier.ingress.policy_rules[web]] == [
        PolicyRuleRef(ObjectRef("NetworkPolicy", "shop", "web"), Direction.INGRESS, 0)
    ]


def test_every_rule_names_the_network_policy_tier() -> None:
    engine = PolicyEngine(
        cluster(
            PODS
            + netpol(
                "shop",
                "web",
                "  podSelector: {matchLabels: {app: web}}\n"
                "  ingress:\n  - from: [{podSelector: {matchLabels: {app: client}}}]\n",
            )
        )
    )
    pods = {p.key: p for p in engine.pods}
    verdict = engine.check(pods["shop/client"], pods["shop/web"], 80)
    assert verdict.ingress is not None
    (policy_rule,) = verdict.ingress.allowing_policy_rules
    assert policy_rule.tier == NETWORK_POLICY_TIER
    # Today's text and JSON do not mention the tier.
    assert policy_rule.to_dict() == {"policy": "shop/web", "direction": "Ingress", "rule": 0}
    assert str(policy_rule) == "shop/web ingress[0]"


def with_admin_tier(compiled: CompiledPolicies, isolate_client: bool) -> CompiledPolicies:
    """Put an ordered tier before NetworkPolicy, for the egress of shop/client:
    deny web on TCP 80, then pass web on any port, then allow shop/db on TCP 5432."""
    classes = compiled.classes
    client = classes.class_of["shop/client"].index
    web = classes.class_of["shop/web"].index
    db = classes.class_of["shop/db"].index
    first_id = len(compiled.policy_rules)
    admin_index = len(compiled.policy_refs)

    def policy_rule(
        index: int, action: Action, peer: int, ports: tuple[PolicyPort, ...]
    ) -> CompiledPolicyRule:
        return CompiledPolicyRule(
            id=first_id + index,
            ref=PolicyRuleRef(ADMIN, Direction.EGRESS, index, "Admin"),
            policy_index=admin_index,
            direction=Direction.EGRESS,
            action=action,
            ports=ports,
            all_peers=False,
            blocks=(),
            peer_bits=dict.fromkeys(classes.families, 1 << peer),
            selected=1 << client,
        )

    tcp = Protocol.TCP
    policy_rules = (
        policy_rule(0, Action.DENY, web, (PolicyPort(tcp, 80, None),)),
        policy_rule(1, Action.PASS, web, ()),
        policy_rule(2, Action.ALLOW, db, (PolicyPort(tcp, 5432, None),)),
    )
    nothing: tuple[tuple[int, ...], ...] = tuple(() for _ in classes.classes)

    def for_client(ids: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
        return tuple(ids if i == client else () for i in range(len(classes.classes)))

    admin = Tier(
        name="Admin",
        ingress=TierSide(policy_rules=nothing, policies=nothing, isolated=0),
        egress=TierSide(
            policy_rules=for_client(tuple(r.id for r in policy_rules)),
            policies=for_client((admin_index,)) if isolate_client else nothing,
            isolated=bits_of([client]) if isolate_client else 0,
        ),
        allow_only=False,
    )
    all_rules = compiled.policy_rules + policy_rules
    tiers = (admin, *compiled.tiers)
    return dataclasses.replace(
        compiled,
        policy_refs=(*compiled.policy_refs, ADMIN),
        policy_rules=all_rules,
        tiers=tiers,
        groups=_groups(classes, all_rules, tiers),
        atoms=_port_atoms(all_rules, classes),
    )


@pytest.mark.parametrize(
    ("dst", "port", "allowed", "reason", "tier"),
    [
        ("shop/web", 80, False, Reason.DENIED_BY_POLICY_RULE, "Admin"),  # the deny comes first
        ("shop/web", 8080, True, Reason.NOT_ISOLATED, None),  # passed on to NetworkPolicy
        ("shop/db", 5432, True, Reason.POLICY_RULES, "Admin"),
        ("shop/db", 5433, True, Reason.NOT_ISOLATED, None),  # no match: falls through
    ],
)
def test_an_ordered_tier_before_network_policy(
    dst: str, port: int, allowed: bool, reason: Reason, tier: str | None
) -> None:
    snapshot = cluster(PODS)
    engine = PolicyEngine(snapshot, with_admin_tier(compile_policies(snapshot), False))
    pods = {p.key: p for p in engine.pods}
    verdict = engine.check(pods["shop/client"], pods[dst], port)
    assert verdict.allowed is allowed
    assert verdict.egress is not None
    assert verdict.egress.reason is reason
    deciding = verdict.egress.allowing_policy_rules or verdict.egress.denying_policy_rules
    assert [r.tier for r in deciding] == ([tier] if tier else [])


def test_an_isolating_tier_denies_what_none_of_its_rules_match() -> None:
    snapshot = cluster(PODS)
    engine = PolicyEngine(snapshot, with_admin_tier(compile_policies(snapshot), True))
    pods = {p.key: p for p in engine.pods}
    denied = engine.check(pods["shop/client"], pods["shop/db"], 5433)
    assert denied.egress is not None
    assert (denied.allowed, denied.egress.reason) == (False, Reason.NO_POLICY_RULE)
    assert denied.egress.isolating_policies == (ADMIN,)
    assert engine.isolation(pods["shop/client"]).egress_policies == (ADMIN,)
    # A pass still hands over to NetworkPolicy, whatever the tier's isolation.
    assert engine.check(pods["shop/client"], pods["shop/web"], 8080).allowed
    explained = engine.check(pods["shop/client"], pods["shop/web"], 80).explain()
    assert (
        "egress of shop/client: denied by AdminNetworkPolicy guard egress[0] (Admin tier)"
        in explained
    )
    # Whole-matrix questions walk the same tiers: web on 8080 (passed), nothing on 80.
    assert [p.key for p in engine.reachable_from(pods["shop/client"], 8080)] == ["shop/web"]
    assert engine.reachable_from(pods["shop/client"], 80) == []
    # db by the allow, web by the pass (on any port) to NetworkPolicy, which isolates nothing.
    assert [p.key for p in engine.reachable_from(pods["shop/client"], 5432)] == [
        "shop/db",
        "shop/web",
    ]
