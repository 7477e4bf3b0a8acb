"""The admin-policy rules, and the coverage rules seeing the Admin and Baseline tiers.

Each case has its near miss beside it.
"""

from __future__ import annotations

import pytest

from kaudit.findings import Finding, Severity
from tests.rules.fixtures import DENY_ALL, KUBE_SYSTEM, deployment, namespace, policy
from tests.rules.helpers import fired_on, only, run, snapshot_of

SHOP = [namespace("shop", "{team: shop}"), deployment("web", "shop"), deployment("api", "shop")]
BANK = [namespace("bank", "{team: bank}"), deployment("ledger", "bank")]


def cnp(name: str, tier: str, priority: int, body: str) -> str:
    indented = "\n".join("  " + line for line in body.strip().splitlines())
    return (
        "apiVersion: policy.networking.k8s.io/v1beta1\nkind: ClusterNetworkPolicy\n"
        f"metadata: {{name: {name}}}\nspec:\n  tier: {tier}\n  priority: {priority}\n{indented}\n"
    )


BASELINE_DENY = """
apiVersion: policy.networking.k8s.io/v1alpha1
kind: BaselineAdminNetworkPolicy
metadata: {name: default}
spec:
  subject: {namespaces: {}}
  ingress:
  - {name: no-ingress, action: Deny, from: [{namespaces: {}}]}
  egress:
  - {name: dns, action: Allow, to: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {k8s-app: kube-dns}}}}]}
  - {name: no-egress, action: Deny, to: [{namespaces: {}}]}
"""
BASELINE_INGRESS_ONLY = BASELINE_DENY.split("  egress:")[0]


# --- coverage rules see the tiers ----------------------------------------------------------


def shop_finding(*documents: str) -> Finding:
    (finding,) = [
        f
        for f in run("namespace-without-networkpolicy", snapshot_of(*documents))
        if str(f.resource) == "Namespace/shop"
    ]
    return finding


def test_a_baseline_default_deny_lowers_namespace_without_networkpolicy() -> None:
    finding = shop_finding(*SHOP, KUBE_SYSTEM, BASELINE_DENY)
    assert finding.severity is Severity.LOW
    assert finding.message == (
        "Namespace shop has 2 pods (2 workloads) and no NetworkPolicy; cluster-wide policies "
        "close it instead: other namespaces' traffic to them is refused by "
        "BaselineAdminNetworkPolicy default ingress[0] 'no-ingress' (Baseline tier), and "
        "their traffic to other namespaces by BaselineAdminNetworkPolicy default egress[1] "
        "'no-egress' (Baseline tier). Nothing in the namespace keeps it closed if those "
        "policies change."
    )
    assert finding.evidence["closedBy"] == {
        "ingress": ["BaselineAdminNetworkPolicy default ingress[0] 'no-ingress' (Baseline tier)"],
        "egress": ["BaselineAdminNetworkPolicy default egress[1] 'no-egress' (Baseline tier)"],
    }


def test_one_closed_direction_is_medium_and_no_tier_keeps_high() -> None:
    half = shop_finding(*SHOP, KUBE_SYSTEM, BASELINE_INGRESS_ONLY)
    assert half.severity is Severity.MEDIUM
    assert "they can connect anywhere; other namespaces' traffic to them is refused by" in (
        half.message
    )
    # Near miss: the baseline selects another namespace only.
    elsewhere = BASELINE_DENY.replace(
        "subject: {namespaces: {}}", "subject: {namespaces: {matchLabels: {team: bank}}}"
    )
    kept = run("namespace-without-networkpolicy", snapshot_of(*SHOP, *BANK, KUBE_SYSTEM, elsewhere))
    assert {str(f.resource): f.severity for f in kept if "kube-system" not in str(f.resource)} == {
        "Namespace/bank": Severity.LOW,
        "Namespace/shop": Severity.HIGH,
    }


def test_default_deny_rules_name_the_closing_policy() -> None:
    # shop has a policy for web only: api is not isolated, but the baseline closes it.
    web_only = policy(
        "web", "shop", "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Ingress]"
    )
    finding = only("namespace-without-default-deny-ingress", *SHOP, web_only, BASELINE_DENY)
    assert finding.severity is Severity.LOW
    assert "not isolated for ingress by any NetworkPolicy; cluster-wide policies close it" in (
        finding.message
    )
    assert finding.evidence["closingRules"] == [
        "BaselineAdminNetworkPolicy default ingress[0] 'no-ingress' (Baseline tier)"
    ]
    # Near miss: without the baseline the finding is the usual one.
    usual = only("namespace-without-default-deny-ingress", *SHOP, web_only)
    assert usual.severity is Severity.MEDIUM and "closingRules" not in usual.evidence


def test_dns_blocked_by_a_baseline_ingress_deny_on_kube_system() -> None:
    findings = run("egress-blocks-dns", snapshot_of(*SHOP, KUBE_SYSTEM, BASELINE_INGRESS_ONLY))
    assert [str(f.resource) for f in findings] == ["Deployment/shop/api", "Deployment/shop/web"]
    assert (
        "refused by BaselineAdminNetworkPolicy default ingress[0] 'no-ingress'"
        in findings[0].message
    )
    # Near miss: kube-system left out of the baseline's subject.
    spared = BASELINE_INGRESS_ONLY.replace(
        "subject: {namespaces: {}}",
        "subject: {namespaces: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system]}]}}",
    )
    assert fired_on("egress-blocks-dns", *SHOP, KUBE_SYSTEM, spared) == []


# --- admin-policy-selects-nothing ----------------------------------------------------------

TYPO = cnp(
    "guard",
    "Admin",
    10,
    """
subject: {namespaces: {matchLabels: {team: shop}}}
ingress:
- {action: Deny, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: legder}}}}]}
- {action: Accept, from: [{namespaces: {matchLabels: {team: bank}}}]}
""",
)


def test_selects_nothing_names_the_peer_and_its_action() -> None:
    findings = run("admin-policy-selects-nothing", snapshot_of(*SHOP, *BANK, TYPO))
    assert [f.message for f in findings] == [
        "ClusterNetworkPolicy guard: peer ingress[0].from[0] (pods app=legder in namespaces "
        "{} (everything)) of a Deny rule matches nothing, so the rule does not act on the "
        "traffic it names."
    ]
    assert findings[0].severity is Severity.MEDIUM
    # Near miss: the label spelled right.
    assert (
        fired_on("admin-policy-selects-nothing", *SHOP, *BANK, TYPO.replace("legder", "ledger"))
        == []
    )


def test_selects_nothing_subject_and_manifests_outside_the_input() -> None:
    nobody = TYPO.replace("team: shop}}}", "team: shopp}}}").replace("legder", "ledger")
    # The subject's namespace selector matches no namespace of the input: not judged.
    assert fired_on("admin-policy-selects-nothing", *SHOP, *BANK, nobody) == []
    # A namespace that exists but has no matching pod is judged.
    existing = nobody.replace("team: shopp", "team: empty")
    finding = only(
        "admin-policy-selects-nothing", *SHOP, *BANK, namespace("void", "{team: empty}"), existing
    )
    assert finding.message == (
        "ClusterNetworkPolicy guard: its subject (namespaces team=empty) selects no pod, so "
        "the policy applies to nothing."
    )
    assert str(finding.resource) == "ClusterNetworkPolicy/guard"


# --- admin-policy-rule-shadowed ------------------------------------------------------------

BROAD_FIRST = (
    cnp(
        "deny-all",
        "Admin",
        5,
        """
subject: {namespaces: {matchLabels: {team: shop}}}
ingress:
- {name: everyone, action: Deny, from: [{namespaces: {}}]}
""",
    )
    + "---\n"
    + cnp(
        "allow-bank",
        "Admin",
        10,
        """
subject: {namespaces: {matchLabels: {team: shop}}}
ingress:
- {name: bank, action: Accept, from: [{namespaces: {matchLabels: {team: bank}}}]}
""",
    )
)


def test_a_broad_rule_first_shadows_the_exception() -> None:
    finding = only("admin-policy-rule-shadowed", *SHOP, *BANK, BROAD_FIRST)
    assert finding.message == (
        "ClusterNetworkPolicy allow-bank ingress[0] 'bank' (Admin tier) never decides: every "
        "connection it matches is matched first by ClusterNetworkPolicy deny-all ingress[0] "
        "'everyone' (Admin tier)."
    )
    # Near miss: the exception gets the lower priority value, so it comes first.
    swapped = BROAD_FIRST.replace("priority: 5", "priority: 50")
    assert fired_on("admin-policy-rule-shadowed", *SHOP, *BANK, swapped) == []


def test_a_port_the_broad_rule_leaves_out_keeps_the_rule_alive() -> None:
    narrow = BROAD_FIRST.replace(
        "- {name: everyone, action: Deny, from: [{namespaces: {}}]}",
        "- {name: everyone, action: Deny, from: [{namespaces: {}}], "
        "protocols: [{tcp: {destinationPort: {number: 8080}}}]}",
    )
    assert fired_on("admin-policy-rule-shadowed", *SHOP, *BANK, narrow) == []


# --- pass-to-unpoliced-namespace -----------------------------------------------------------

PASS_SHOP = cnp(
    "delegate",
    "Admin",
    10,
    """
subject: {namespaces: {matchLabels: {team: shop}}}
ingress:
- {name: to-owners, action: Pass, from: [{namespaces: {}}]}
""",
)


def test_pass_to_a_namespace_without_networkpolicy() -> None:
    finding = only("pass-to-unpoliced-namespace", *SHOP, PASS_SHOP)
    assert finding.message == (
        "ClusterNetworkPolicy delegate ingress[0] 'to-owners' (Admin tier) passes traffic to "
        "NetworkPolicy for 2 pods in shop that no NetworkPolicy isolates for ingress: it is "
        "allowed by default."
    )
    with_baseline = only("pass-to-unpoliced-namespace", *SHOP, PASS_SHOP, BASELINE_DENY)
    assert "the Baseline tier (BaselineAdminNetworkPolicy/default) or the default allow" in (
        with_baseline.message
    )
    # Near miss: the namespace owners have a default deny.
    assert (
        fired_on("pass-to-unpoliced-namespace", *SHOP, PASS_SHOP, policy("deny", "shop", DENY_ALL))
        == []
    )


@pytest.mark.parametrize(
    "rule",
    ["admin-policy-selects-nothing", "admin-policy-rule-shadowed", "pass-to-unpoliced-namespace"],
)
def test_no_admin_policy_no_finding(rule: str) -> None:
    assert fired_on(rule, *SHOP, *BANK) == []


def test_an_admin_policy_finding_is_suppressed_by_its_annotation() -> None:
    from kaudit.audit import audit

    annotated = PASS_SHOP.replace(
        "metadata: {name: delegate}",
        "metadata: {name: delegate, annotations: {kaudit.io/ignore: pass-to-unpoliced-namespace}}",
    )
    assert annotated != PASS_SHOP
    report = audit(snapshot_of(*SHOP, annotated))
    assert "KA603" not in {f.rule_id for f in report.findings}
    assert "KA603" in {s.finding.rule_id for s in report.suppressed}
    assert "KA603" in {f.rule_id for f in audit(snapshot_of(*SHOP, PASS_SHOP)).findings}
