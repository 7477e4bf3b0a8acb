"""The Admin and Baseline tiers around NetworkPolicy, as the network-policy-api orders them.

Each case states the spec sentence it checks (the ClusterNetworkPolicy v1beta1 and
AdminNetworkPolicy v1alpha1 field docs of sigs.k8s.io/network-policy-api v0.3.0), and
every case is checked again through the whole-matrix questions, which must agree
with the pair verdicts.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest
import yaml

from kaudit.model import Protocol
from kaudit.netpol import Reason, Tier, compile_policies
from kaudit.netpol.compile import TierSide, _groups
from kaudit.netpol.relation import relation
from tests.netpol.helpers import Cluster, namespace_doc, pod_doc
from tests.netpol.test_semantics import BASE, CASES, netpol

PODS = (
    namespace_doc("a", {"team": "a"})
    + namespace_doc("b", {"team": "b"})
    + pod_doc("a/web", {"app": "web"}, [(80, "TCP", "http")], ips=["10.0.1.1"])
    + pod_doc("a/db", {"app": "db"}, [(5432, "TCP", "pg")], ips=["10.0.1.2"])
    + pod_doc("b/client", {"app": "client"}, ips=["10.0.2.1"])
    + pod_doc("b/agent", {"app": "agent"}, host_network=True, node="n1", ips=["192.168.0.1"])
)


def cnp(name: str, tier: str, priority: int, subject: object, **rules: object) -> str:
    spec = {"tier": tier, "priority": priority, "subject": subject, **rules}
    doc = {
        "apiVersion": "policy.networking.k8s.io/v1beta1",
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": name},
        "spec": spec,
    }
    return "---\n" + yaml.safe_dump(doc)


def banp(**rules: object) -> str:
    doc = {
        "apiVersion": "policy.networking.k8s.io/v1alpha1",
        "kind": "BaselineAdminNetworkPolicy",
        "metadata": {"name": "default"},
        "spec": {"subject": {"namespaces": {}}, **rules},
    }
    return "---\n" + yaml.safe_dump(doc)


NS_A = {"namespaces": {"matchLabels": {"team": "a"}}}
NS_B = {"namespaces": {"matchLabels": {"team": "b"}}}
ALL_NS: dict[str, object] = {"namespaces": {}}
TCP80 = [{"tcp": {"destinationPort": {"number": 80}}}]
NP_DENY_ALL_A = netpol("a", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress]\n")
NP_ALLOW_B_TO_A = netpol(
    "a",
    "allow-b",
    "  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {team: b}}}]\n",
)
BASELINE_DENY_ALL = banp(ingress=[{"action": "Deny", "from": [{"namespaces": {}}]}])


def agrees_with_the_matrix(c: Cluster, ports: tuple[int, ...] = (80, 5432, 9999)) -> None:
    """Rows, columns and open ingress computed with bitsets give the pair verdicts' answers."""
    pods = [p for p in c.engine.pods if not p.host_network]
    for port in ports:
        for src, dst in itertools.permutations(pods, 2):
            expected = c.engine.check(src, dst, port).allowed
            assert (dst in c.engine.reachable_from(src, port)) is expected, (src.key, dst.key, port)
            assert (src in c.engine.reachers_of(dst, port)) is expected, (src.key, dst.key, port)
    for src, dst in itertools.permutations(pods, 2):
        on_any_port = any(c.engine.check(src, dst, p).allowed for p in (80, 5432, 1, 65535))
        assert (dst in c.engine.reachable_from(src)) is on_any_port, (src.key, dst.key)


@pytest.mark.parametrize(
    ("policies", "expected", "deciding"),
    [
        # "Deny: Drops the selected traffic. No further ClusterNetworkPolicy or
        # NetworkPolicy rules will be processed."
        (
            cnp("deny-b", "Admin", 10, NS_A, ingress=[{"action": "Deny", "from": [NS_B]}])
            + NP_ALLOW_B_TO_A,
            False,
            "ClusterNetworkPolicy deny-b ingress[0] (Admin tier)",
        ),
        # "Accept: Accepts the selected traffic ... No further ingress ClusterNetworkPolicy
        # or NetworkPolicy rules will be processed."
        (
            cnp("accept-b", "Admin", 10, NS_A, ingress=[{"action": "Accept", "from": [NS_B]}])
            + NP_DENY_ALL_A,
            True,
            "ClusterNetworkPolicy accept-b ingress[0] (Admin tier)",
        ),
        # "Pass: Skips all further ClusterNetworkPolicy rules in the current tier ...
        # and passes evaluation to the next tier": NetworkPolicy denies here.
        (
            cnp("pass-b", "Admin", 10, NS_A, ingress=[{"action": "Pass", "from": [NS_B]}])
            + cnp("accept-all", "Admin", 20, NS_A, ingress=[{"action": "Accept", "from": [ALL_NS]}])
            + NP_DENY_ALL_A,
            False,
            None,
        ),
        # No NetworkPolicy selects the pod: the Baseline tier decides.
        (BASELINE_DENY_ALL, False, "BaselineAdminNetworkPolicy default ingress[0] (Baseline tier)"),
        # "v1.NetworkPolicy always makes a final decision for selected pods."
        (BASELINE_DENY_ALL + NP_ALLOW_B_TO_A, True, "a/allow-b ingress[0]"),
        # Lower priority values are checked first.
        (
            cnp("later", "Admin", 20, NS_A, ingress=[{"action": "Deny", "from": [NS_B]}])
            + cnp("first", "Admin", 5, NS_A, ingress=[{"action": "Accept", "from": [NS_B]}]),
            True,
            "ClusterNetworkPolicy first ingress[0] (Admin tier)",
        ),
        # Near miss: the deny names another port, so it does not match.
        (
            cnp(
                "deny-443",
                "Admin",
                10,
                NS_A,
                ingress=[
                    {
                        "action": "Deny",
                        "from": [NS_B],
                        "protocols": [{"tcp": {"destinationPort": {"number": 443}}}],
                    }
                ],
            ),
            True,
            None,
        ),
        # Named ports resolve against the destination pod.
        (
            cnp(
                "deny-http",
                "Admin",
                10,
                NS_A,
                ingress=[
                    {
                        "action": "Deny",
                        "from": [NS_B],
                        "protocols": [{"destinationNamedPort": "http"}],
                    }
                ],
            ),
            False,
            "ClusterNetworkPolicy deny-http ingress[0] (Admin tier)",
        ),
    ],
)
def test_tier_order(policies: str, expected: bool, deciding: str | None) -> None:
    c = Cluster(PODS + policies)
    verdict = c.engine.check(c["b/client"], c["a/web"], 80)
    assert verdict.allowed is expected
    assert verdict.ingress is not None
    refs = verdict.ingress.allowing_policy_rules or verdict.ingress.denying_policy_rules
    assert (str(refs[0]) if refs else None) == deciding
    agrees_with_the_matrix(c)


def test_pass_with_no_network_policy_falls_to_the_baseline() -> None:
    c = Cluster(
        PODS
        + cnp("pass-b", "Admin", 1, NS_A, ingress=[{"action": "Pass", "from": [NS_B]}])
        + BASELINE_DENY_ALL
    )
    verdict = c.engine.check(c["b/client"], c["a/web"], 80)
    assert verdict.ingress is not None
    assert (verdict.allowed, verdict.ingress.reason) == (False, Reason.DENIED_BY_POLICY_RULE)
    # Inside namespace a the baseline denies too; pods of a isolate nothing by NetworkPolicy.
    assert not c.allowed("a/db", "a/web", 80)
    isolation = c.engine.isolation(c["a/web"])
    assert not isolation.ingress_isolated
    assert [p.name for p in isolation.ingress_admin_policies] == ["pass-b", "default"]
    agrees_with_the_matrix(c)


def test_egress_deny_by_rule_name_and_both_directions_must_admit() -> None:
    c = Cluster(
        PODS
        + cnp(
            "no-db",
            "Admin",
            3,
            NS_B,
            egress=[
                {
                    "name": "block-db",
                    "action": "Deny",
                    "to": [
                        {
                            "pods": {
                                "namespaceSelector": {},
                                "podSelector": {"matchLabels": {"app": "db"}},
                            }
                        }
                    ],
                }
            ],
        )
    )
    verdict = c.engine.check(c["b/client"], c["a/db"], 5432)
    assert verdict.egress is not None and not verdict.allowed
    (ref,) = verdict.egress.denying_policy_rules
    assert (ref.tier, ref.name, ref.to_dict()) == (
        "Admin",
        "block-db",
        {
            "policy": "no-db",
            "direction": "Egress",
            "rule": 0,
            "tier": "Admin",
            "kind": "ClusterNetworkPolicy",
            "name": "block-db",
        },
    )
    assert c.allowed("b/client", "a/web", 5432)  # near miss: another pod
    agrees_with_the_matrix(c)


def test_networks_match_pod_addresses_and_outside_addresses() -> None:
    deny_net = cnp(
        "no-10",
        "Admin",
        1,
        NS_B,
        egress=[
            {"action": "Accept", "to": [{"networks": ["10.0.1.2/32"]}]},
            {"action": "Deny", "to": [{"networks": ["10.0.0.0/8"]}]},
        ],
    )
    c = Cluster(PODS + deny_net)
    assert not c.allowed("b/client", "a/web", 80)  # 10.0.1.1: the deny
    assert c.allowed("b/client", "a/db", 5432)  # 10.0.1.2: the accept before it
    outside = c.engine.check_ip(c["b/client"], "10.0.0.0/16", 443, Protocol.TCP)
    assert (outside.allowed, outside.coverage.value) == (False, "some")
    assert outside.allowed_ranges == ("10.0.1.2/32",)
    assert c.engine.check_ip(c["b/client"], "8.8.8.8", 53, Protocol.UDP).allowed
    agrees_with_the_matrix(c)


def test_nodes_peers_select_host_network_pods_on_matching_nodes() -> None:
    node = (
        "---\nkind: Node\nmetadata: {name: n1, labels: {role: infra}}\n"
        "status: {addresses: [{type: InternalIP, address: 192.168.0.1}]}\n"
    )
    deny_nodes = cnp(
        "no-nodes",
        "Admin",
        1,
        NS_A,
        egress=[{"action": "Deny", "to": [{"nodes": {"matchLabels": {"role": "infra"}}}]}],
    )
    c = Cluster(PODS + node + deny_nodes)
    assert not c.allowed("a/web", "b/agent", 10250)
    assert not c.engine.check_ip(c["a/web"], "192.168.0.1", 10250).allowed
    near_miss = Cluster(PODS + node + deny_nodes.replace("role: infra", "role: edge"))
    assert near_miss.allowed("a/web", "b/agent", 10250)


def test_host_network_pods_are_no_subjects() -> None:
    c = Cluster(
        PODS + cnp("deny-all", "Admin", 1, NS_B, egress=[{"action": "Deny", "to": [ALL_NS]}])
    )
    assert not c.allowed("b/client", "a/web", 80)
    assert c.allowed("b/agent", "a/web", 80)


def test_same_priority_overlap_is_flagged_and_different_priorities_are_not() -> None:
    def pair(priority: int, action: str) -> str:
        return cnp("x", "Admin", 7, NS_A, ingress=[{"action": "Deny", "from": [NS_B]}]) + cnp(
            "y", "Admin", priority, ALL_NS, ingress=[{"action": action, "from": [ALL_NS]}]
        )

    def flagged(text: str) -> list[str]:
        return [w for w in Cluster(PODS + text).engine.warnings if "same priority" in w]

    (warning,) = flagged(pair(7, "Accept"))
    assert warning.startswith("ClusterNetworkPolicy x and ClusterNetworkPolicy y have the same")
    assert "kaudit evaluates x first" in warning
    assert flagged(pair(8, "Accept")) == []  # ordered by priority
    assert flagged(pair(7, "Deny")) == []  # either order gives the same answer


def test_v1alpha1_and_v1beta1_give_the_same_answers() -> None:
    anp = (
        "---\napiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
        "metadata: {name: guard}\nspec:\n  priority: 10\n  subject: {namespaces: {matchLabels: {team: a}}}\n"
        "  ingress:\n  - {action: Allow, from: [{namespaces: {matchLabels: {team: b}}}], "
        "ports: [{portNumber: {protocol: TCP, port: 80}}]}\n"
        "  - {action: Deny, from: [{namespaces: {}}]}\n"
    )
    beta = cnp(
        "guard",
        "Admin",
        10,
        NS_A,
        ingress=[
            {"action": "Accept", "from": [NS_B], "protocols": TCP80},
            {"action": "Deny", "from": [ALL_NS]},
        ],
    )
    old, new = Cluster(PODS + anp + NP_DENY_ALL_A), Cluster(PODS + beta + NP_DENY_ALL_A)
    pods = [p.key for p in old.engine.pods if p.key != "b/agent"]
    for src, dst in itertools.permutations(pods, 2):
        for port in (80, 5432):
            assert old.allowed(src, dst, port) == new.allowed(src, dst, port), (src, dst, port)
    assert old.allowed("b/client", "a/web", 80) and not old.allowed("b/client", "a/web", 81)


def test_domain_names_are_reported_as_not_evaluated() -> None:
    c = Cluster(
        PODS
        + cnp(
            "dns",
            "Admin",
            1,
            NS_A,
            egress=[{"action": "Accept", "to": [{"domainNames": ["*.example.com"]}]}],
        )
    )
    assert any("domainNames peers (*.example.com)" in w for w in c.engine.warnings)


def test_open_ingress_sees_the_baseline() -> None:
    assert Cluster(PODS).engine.open_ingress(Cluster(PODS)["a/web"])
    c = Cluster(PODS + BASELINE_DENY_ALL)
    assert not c.engine.open_ingress(c["a/web"])
    accepted = Cluster(
        PODS
        + BASELINE_DENY_ALL
        + cnp("open", "Admin", 1, NS_A, ingress=[{"action": "Accept", "from": [ALL_NS]}])
    )
    assert accepted.engine.open_ingress(accepted["a/web"])


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_the_tier_walk_gives_network_policy_answers_unchanged(case: str) -> None:
    """An empty Admin tier before NetworkPolicy takes the whole matrix through the ordered
    walk instead of the NetworkPolicy-only shortcut: every row and column must agree."""
    policies = next(c[1] for c in CASES if c[0] == case)
    snapshot = Cluster(BASE + policies).snapshot
    compiled = compile_policies(snapshot)
    nothing: tuple[tuple[int, ...], ...] = tuple(() for _ in compiled.classes.classes)
    empty = TierSide(policy_rules=nothing, policies=nothing, isolated=0)
    tiers = (Tier("Admin", empty, empty, allow_only=False), *compiled.tiers)
    walked = dataclasses.replace(
        compiled, tiers=tiers, groups=_groups(compiled.classes, compiled.policy_rules, tiers)
    )
    for protocol, port in ((None, None), (Protocol.TCP, 8080), (Protocol.UDP, 53)):
        assert relation(walked, protocol, port) == relation(compiled, protocol, port), (
            protocol,
            port,
        )


def test_the_summary_counts_with_the_tiers_and_says_so() -> None:
    plain = Cluster(PODS).engine.summary()
    closed = Cluster(PODS + BASELINE_DENY_ALL).engine.summary()
    assert not [n for n in plain.notes if "cluster-wide policies" in n]
    (note,) = [n for n in closed.notes if "cluster-wide policies" in n]
    assert note.startswith("1 cluster-wide policies")
    # The baseline refuses ingress from every namespace's pods; the hostNetwork agent is no
    # namespaces peer ("host-networked pods are not included"), so its two pairs remain.
    assert closed.namespace_matrix["b"]["a"].allowed == 2
    assert plain.namespace_matrix["b"]["a"].allowed == 4
