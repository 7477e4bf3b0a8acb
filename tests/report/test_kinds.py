"""Kinds present but not audited, and policies of other engines, in every format."""

from __future__ import annotations

import dataclasses
import json
from types import MappingProxyType

import pytest

from kaudit.report.kinds import changes_reachability, unevaluated_policy_caveat
from kaudit.report.model import Report
from kaudit.report.render import Format, render


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("CiliumNetworkPolicy", True),
        ("cilium.io/v2 CiliumClusterwideNetworkPolicy", True),
        ("projectcalico.org/NetworkPolicy", True),
        ("GlobalNetworkPolicy.crd.projectcalico.org", True),
        ("AdminNetworkPolicy", False),  # evaluated: policy.networking.k8s.io only
        ("BaselineAdminNetworkPolicy", False),
        ("ClusterNetworkPolicy.crd.antrea.io", True),  # Antrea's, not the network-policy-api's
        ("ConfigMap", False),
        ("StagedNetworkPolicy", False),  # Calico's staged policies enforce nothing
        ("NetworkPolicyReport", False),
    ],
)
def test_kinds_that_change_reachability(key: str, expected: bool) -> None:
    assert changes_reachability(key) is expected


def test_caveat_names_the_policy_kinds_only() -> None:
    assert unevaluated_policy_caveat({"ConfigMap": 3}) is None
    assert unevaluated_policy_caveat({"ConfigMap": 3, "CiliumNetworkPolicy": 1}) == (
        "Not evaluated: CiliumNetworkPolicy is in the input and changes what may reach what, "
        "but kaudit evaluates only Kubernetes NetworkPolicy and the network-policy-api's "
        "ClusterNetworkPolicy, AdminNetworkPolicy and BaselineAdminNetworkPolicy: "
        "reachability here leaves it out."
    )


@pytest.fixture
def with_cilium(sample_report: Report) -> Report:
    facts = dataclasses.replace(
        sample_report.facts,
        ignored_kinds=MappingProxyType({"CiliumNetworkPolicy": 1, "ConfigMap": 2}),
    )
    return dataclasses.replace(sample_report, facts=facts)


CAVEAT = "Not evaluated: CiliumNetworkPolicy is in the input"


@pytest.mark.parametrize("fmt", [Format.TABLE, Format.MARKDOWN, Format.HTML])
def test_every_text_format_lists_the_kinds_and_the_caveat(with_cilium: Report, fmt: Format) -> None:
    text = render(with_cilium, fmt)
    assert "CiliumNetworkPolicy (1), ConfigMap (2)" in text
    assert text.count(CAVEAT) == 1


def test_table_lines_fit_the_terminal(with_cilium: Report) -> None:
    text = render(with_cilium, Format.TABLE)
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("Kinds not audited"))
    assert all(len(line) <= 100 for line in lines[start : start + 4])


def test_json_and_sarif_carry_the_caveat(with_cilium: Report) -> None:
    data = json.loads(render(with_cilium, Format.JSON))
    assert data["cluster"]["ignoredKinds"] == {"CiliumNetworkPolicy": 1, "ConfigMap": 2}
    assert data["cluster"]["policyCaveat"].startswith(CAVEAT)
    sarif = json.loads(render(with_cilium, Format.SARIF))
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert {"level": "warning", "message": {"text": data["cluster"]["policyCaveat"]}} in notes


def test_no_caveat_without_policy_kinds(sample_report: Report) -> None:
    for fmt in (Format.TABLE, Format.MARKDOWN, Format.HTML, Format.JSON, Format.SARIF):
        assert "Not evaluated:" not in render(sample_report, fmt), fmt
