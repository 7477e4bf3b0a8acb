"""docs/rules.md is generated from the rule metadata and must be up to date."""

from __future__ import annotations

from pathlib import Path

from kaudit.rules.docs import render_catalogue
from kaudit.rules.registry import all_rules

RULES_MD = Path(__file__).resolve().parents[2] / "docs" / "rules.md"

# The catalogue fixed by the rule-catalogue issue: IDs and names never change.
CATALOGUE = {
    "KA101": "namespace-without-networkpolicy",
    "KA102": "namespace-without-default-deny-ingress",
    "KA103": "namespace-without-default-deny-egress",
    "KA104": "ingress-only-policies",
    "KA105": "egress-blocks-dns",
    "KA106": "policy-peer-or-confusion",
    "KA107": "policy-allows-all-namespaces",
    "KA108": "policy-selects-no-pods",
    "KA109": "cni-without-policy-enforcement",
    "KA110": "policy-peer-selects-nothing",
    "KA111": "namespace-legacy-isolation-annotation",
    "KA201": "service-no-endpoints",
    "KA202": "service-no-ready-endpoints",
    "KA203": "service-target-port-mismatch",
    "KA204": "service-nodeport",
    "KA205": "service-loadbalancer",
    "KA206": "service-externalname",
    "KA207": "service-external-ips",
    "KA208": "workload-unreachable-by-policy",
    "KA301": "ingress-without-class",
    "KA302": "ingress-unknown-class",
    "KA303": "ingress-backend-missing-service",
    "KA304": "ingress-backend-port-mismatch",
    "KA305": "ingress-without-tls",
    "KA401": "pod-host-network",
    "KA402": "pod-host-port",
    "KA403": "pod-metadata-reachable",
    "KA404": "pod-default-ndots",
    "KA501": "lateral-movement-open",
    "KA502": "datastore-reachable-cross-namespace",
    # The network-policy-api's cluster-wide policies.
    "KA601": "admin-policy-selects-nothing",
    "KA602": "admin-policy-rule-shadowed",
    "KA603": "pass-to-unpoliced-namespace",
}


def test_catalogue_ids_and_names_are_fixed() -> None:
    assert {r.id: r.name for r in all_rules()} == CATALOGUE


def test_every_rule_declares_the_kinds_it_reads_and_has_references() -> None:
    for rule in all_rules():
        assert rule.needs, rule.id
        assert rule.references, rule.id
        assert all(ref.startswith("https://") for ref in rule.references), rule.id


def test_rules_md_is_up_to_date() -> None:
    expected = render_catalogue("md")
    assert RULES_MD.read_text(encoding="utf-8") == expected, (
        "docs/rules.md is stale: run `python -m kaudit.rules.docs > docs/rules.md`"
    )
