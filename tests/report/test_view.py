"""What the templates are given: remediation blocks, heat map cells, sections."""

from __future__ import annotations

import dataclasses

import pytest

from kaudit.findings import Finding, Severity
from kaudit.jsontypes import JsonObject
from kaudit.netpol.summary import (
    IsolationCounts,
    PairCount,
    PodClassSummary,
    ReachabilitySummary,
    ReachCount,
)
from kaudit.report.model import Report
from kaudit.report.view import (
    Block,
    blast_radius,
    build_view,
    heat_map,
    remediation_blocks,
    section_of,
)
from tests.report.samples import DEFAULT_DENY_YAML, finding


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        ("", ()),
        ("Use a ClusterIP Service.", (Block("text", "Use a ClusterIP Service."),)),
        (
            "Add a default-deny policy:\n\n" + DEFAULT_DENY_YAML,
            (
                Block("text", "Add a default-deny policy:"),
                Block("yaml", DEFAULT_DENY_YAML.rstrip()),
            ),
        ),
        (
            "Use `type: ClusterIP` and an Ingress.",
            (Block("text", "Use `type: ClusterIP` and an Ingress."),),
        ),
        (
            "spec:\n  type: ClusterIP\n\nports:\n  - port: 80\n\nThen redeploy.",
            (
                Block("yaml", "spec:\n  type: ClusterIP\n\nports:\n  - port: 80"),
                Block("text", "Then redeploy."),
            ),
        ),
        ("- name: ndots\n  value: '2'", (Block("yaml", "- name: ndots\n  value: '2'"),)),
        ("Step one: do this.", (Block("text", "Step one: do this."),)),
    ],
)
def test_remediation_blocks(text: str, blocks: tuple[Block, ...]) -> None:
    assert remediation_blocks(text) == blocks


def summary(
    matrix: dict[str, dict[str, PairCount]] | None = None,
    pod_classes: tuple[PodClassSummary, ...] = (),
) -> ReachabilitySummary:
    return ReachabilitySummary(
        pods=13,
        namespaces=5,
        policies=10,
        classes=len(pod_classes),
        isolation=IsolationCounts(ingress_isolated=8, egress_isolated=2, host_network=2),
        pod_classes=pod_classes,
        namespace_matrix=matrix or {},
        notes=("hostNetwork pods are outside NetworkPolicy",),
    )


@pytest.mark.parametrize(
    ("matrix", "cells"),
    [
        (None, None),
        ({}, None),
        (
            {
                "a": {"a": PairCount(4, 4), "b": PairCount(0, 4)},
                "b": {"a": PairCount(1, 4), "b": PairCount(4, 4)},
            },
            [("4/4", 4), ("0/4", 0), ("1/4", 1), ("4/4", 4)],
        ),
        (
            {
                "a": {"a": PairCount(3, 4), "b": PairCount(3, 5)},
                "b": {"a": PairCount(0, 0)},
            },
            [("3/4", 3), ("3/5", 3), ("-", -1), ("?", -1)],
        ),
    ],
)
def test_heat_map(
    matrix: dict[str, dict[str, PairCount]] | None, cells: list[tuple[str, int]] | None
) -> None:
    assert heat_map(None) is None
    result = heat_map(summary(matrix))
    if cells is None:
        assert result is None
        return
    assert result is not None
    assert result.namespaces == ("a", "b")
    assert [(c.text, c.level) for _, row in result.rows for c in row] == cells
    assert result.rows[0][1][1].title == f"a → b: {cells[1][0]}"


@pytest.mark.parametrize(
    ("kind", "namespace", "name", "section"),
    [
        ("Service", "shop", "web", "shop"),
        ("Namespace", "", "shop", "shop"),
        ("IngressClass", "", "nginx", ""),
    ],
)
def test_section_of(kind: str, namespace: str, name: str, section: str) -> None:
    one = finding("KA101", "some-rule", Severity.LOW, kind, namespace, name, "m")
    assert section_of(one) == section


def test_sections_worst_first_system_apart(sample_report: Report) -> None:
    view = build_view(sample_report)
    assert [n.name for n in view.namespaces] == ["data", "monitoring", "shop", "payments"]
    assert [n.name for n in view.system_namespaces] == ["kube-system"]
    assert [f.finding.rule_id for f in view.system_findings] == ["KA101", "KA204", "KA501"]
    assert [label for label, _ in view.by_severity] == ["critical", "high", "medium", "low"]
    # Ranked by impact; medium findings fill the list when fewer than ten are high or worse.
    assert [f.finding.rule_id for f in view.worst] == [
        "KA110",
        "KA101",
        "KA140",
        "KA204",
        "KA120",
    ]


def test_shared_remediation_is_shown_once(sample_report: Report) -> None:
    first = finding(
        "KA120",
        "egress-deny-without-dns",
        Severity.MEDIUM,
        "NetworkPolicy",
        "shop",
        "a",
        "m1",
        remediation="Allow DNS.",
    )
    second = finding(
        "KA120",
        "egress-deny-without-dns",
        Severity.MEDIUM,
        "NetworkPolicy",
        "shop",
        "b",
        "m2",
        remediation="Allow DNS.",
    )
    other = finding(
        "KA120",
        "egress-deny-without-dns",
        Severity.MEDIUM,
        "NetworkPolicy",
        "data",
        "c",
        "m3",
        remediation="Allow DNS.",
    )
    lone = finding(
        "KA140",
        "egress-to-metadata-endpoint",
        Severity.HIGH,
        "NetworkPolicy",
        "data",
        "d",
        "m4",
        remediation="Add an except.",
    )
    view = build_view(dataclasses.replace(sample_report, findings=(first, second, other, lone)))
    groups = {(n.name, g.rule_id): g for n in view.namespaces for g in n.groups}
    assert groups["shop", "KA120"].shared_remediation == (Block("text", "Allow DNS."),)
    assert groups["data", "KA120"].shared_remediation is None  # one finding: shown on it
    assert groups["data", "KA140"].shared_remediation is None


def pod_class(
    namespace: str,
    pods: tuple[str, ...],
    *,
    host_network: bool,
    isolated: bool,
    can_reach: ReachCount,
    reachable_from: ReachCount,
) -> PodClassSummary:
    return PodClassSummary(
        namespace=namespace,
        pods=pods,
        host_network=host_network,
        ingress_isolated=isolated,
        egress_isolated=isolated,
        ingress_policies=("default-deny",) if isolated else (),
        egress_policies=("default-deny",) if isolated else (),
        can_reach=can_reach,
        reachable_from=reachable_from,
    )


ENGINE_SUMMARY = summary(
    pod_classes=(
        pod_class(
            "data",
            ("postgres",),
            host_network=False,
            isolated=True,
            can_reach=ReachCount(0, 0),
            reachable_from=ReachCount(5, 1),
        ),
        pod_class(
            "monitoring",
            tuple(f"exporter-{i}" for i in range(7)),
            host_network=True,
            isolated=False,
            can_reach=ReachCount(9, 4),
            reachable_from=ReachCount(10, 4),
        ),
    )
)


def test_blast_radius_widest_first() -> None:
    rows = blast_radius(ENGINE_SUMMARY)
    assert [(r.namespace, r.can_reach, r.isolation, r.host_network) for r in rows] == [
        ("monitoring", "9 pods in 4 namespaces", "none", True),
        ("data", "0 pods in 0 namespaces", "ingress and egress", False),
    ]
    assert rows[0].pods == "exporter-0, exporter-1, exporter-2, exporter-3, exporter-4 and 2 more"
    assert blast_radius(None) == ()
    assert blast_radius(summary()) == ()


def test_reachability_facts_and_notes(sample_report: Report) -> None:
    view = build_view(dataclasses.replace(sample_report, reachability=ENGINE_SUMMARY))
    assert view.reachability_facts == (
        "13 pods in 5 namespaces, 10 NetworkPolicies: 8 isolated for ingress, "
        "2 isolated for egress, 2 on the host network (outside NetworkPolicy)"
    )
    assert view.reachability_notes == ("hostNetwork pods are outside NetworkPolicy",)
    assert view.heat_map is None


def test_a_big_heat_map_keeps_the_most_connected_namespaces() -> None:
    names = [f"ns-{i:03d}" for i in range(60)]
    # ns-000 .. ns-009 reach nothing and nobody reaches them; the rest reach everything.
    matrix = {a: {b: PairCount(0 if min(a, b) < "ns-010" else 4, 4) for b in names} for a in names}
    result = heat_map(summary(matrix))
    assert result is not None
    assert result.namespaces == tuple(names[10:])
    assert result.left_out == 10
    assert not result.titled


# --- worst problems: ranked by impact -------------------------------------------------------


def _finding(rule: str, severity: str, evidence: JsonObject | None = None) -> Finding:
    from kaudit.findings import Severity, frozen_evidence
    from kaudit.model import ObjectRef

    return Finding(
        rule_id="KA999",
        rule_name=rule,
        severity=Severity[severity.upper()],
        resource=ObjectRef("Service", "shop", rule),
        message=rule,
        evidence=frozen_evidence(evidence or {}),
        remediation="",
    )


def test_worst_problems_rank_by_severity_then_reach_then_likely_bugs() -> None:
    from kaudit.report.view import impact_key

    findings = [
        _finding("service-nodeport", "high"),  # exposure, one workload
        _finding("pod-default-ndots", "info", {"podCount": 50}),
        _finding("service-no-endpoints", "high", {"diagnosis": ["typo"]}),  # a typo
        _finding("lateral-movement-open", "high", {"openPods": 5, "namespaces": ["a", "b"]}),
        _finding("namespace-without-networkpolicy", "high", {"podCount": 5}),
        _finding("policy-peer-selects-nothing", "medium"),
        _finding("service-loadbalancer", "critical"),
    ]
    ranked = [f.rule_name for f in sorted(findings, key=impact_key)]
    assert ranked == [
        "service-loadbalancer",
        "lateral-movement-open",  # five pods, two namespaces
        "namespace-without-networkpolicy",  # five pods, one namespace
        "service-no-endpoints",  # a likely bug before exposure of the same reach
        "service-nodeport",
        "policy-peer-selects-nothing",
        "pod-default-ndots",
    ]
