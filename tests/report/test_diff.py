"""`kaudit diff`: new, fixed and unchanged findings between two audits."""

from __future__ import annotations

import dataclasses
import json

import pytest

from kaudit.findings import Finding, Severity
from kaudit.report.diff import diff_reports, render_diff
from kaudit.report.jsonio import report_from_json, report_to_json
from kaudit.report.model import Report
from kaudit.report.render import Format
from tests.report.samples import XSS, build_sample_report, finding


def web(name: str, severity: Severity = Severity.HIGH, message: str = "NodePort") -> Finding:
    return finding("KA204", "service-nodeport", severity, "Service", "shop", name, message)


def with_findings(*findings: Finding) -> Report:
    return dataclasses.replace(build_sample_report(), findings=findings)


@pytest.mark.parametrize(
    ("old", "new", "added", "fixed", "unchanged"),
    [
        ((), (), [], [], []),
        ((web("a"),), (web("a"),), [], [], ["a"]),
        ((), (web("a"),), ["a"], [], []),
        ((web("a"),), (), [], ["a"], []),
        ((web("a"), web("b")), (web("b"), web("c")), ["c"], ["a"], ["b"]),
        # A reworded message or a new severity is the same finding.
        ((web("a", message="old words"),), (web("a", message="new words"),), [], [], ["a"]),
        ((web("a", Severity.HIGH),), (web("a", Severity.LOW),), [], [], ["a"]),
        # Two findings on one object by one rule: matched one to one.
        (
            (web("a", message="p1"), web("a", message="p2")),
            (web("a", message="p2"),),
            [],
            ["a"],
            ["a"],
        ),
        (
            (web("a", message="p1"),),
            (web("a", message="p1"), web("a", message="p2")),
            ["a"],
            [],
            ["a"],
        ),
    ],
)
def test_classification(
    old: tuple[Finding, ...],
    new: tuple[Finding, ...],
    added: list[str],
    fixed: list[str],
    unchanged: list[str],
) -> None:
    diff = diff_reports(with_findings(*old), with_findings(*new))
    assert [f.resource.name for f in diff.new] == added
    assert [f.resource.name for f in diff.fixed] == fixed
    assert [f.resource.name for f in diff.unchanged] == unchanged


def test_duplicate_fingerprints_pair_identical_messages_first() -> None:
    old = with_findings(web("a", message="p1"), web("a", message="p2"))
    new = with_findings(web("a", message="p2"))
    diff = diff_reports(old, new)
    assert [f.message for f in diff.fixed] == ["p1"]
    assert [f.message for f in diff.unchanged] == ["p2"]


def test_severity_changes_are_reported() -> None:
    diff = diff_reports(
        with_findings(web("a", Severity.HIGH)), with_findings(web("a", Severity.LOW))
    )
    ((before, after),) = diff.severity_changed
    assert (before.severity, after.severity) == (Severity.HIGH, Severity.LOW)
    assert "high -> low" in render_diff(diff, Format.TABLE)


@pytest.mark.parametrize(
    ("threshold", "failing"),
    [(Severity.CRITICAL, []), (Severity.HIGH, ["b"]), (Severity.LOW, ["b", "c"])],
)
def test_new_at_or_above(threshold: Severity, failing: list[str]) -> None:
    diff = diff_reports(
        with_findings(web("a", Severity.CRITICAL)),
        with_findings(web("a", Severity.CRITICAL), web("b", Severity.HIGH), web("c", Severity.LOW)),
    )
    assert [f.resource.name for f in diff.new_at_or_above(threshold)] == failing


def test_diff_of_saved_reports() -> None:
    old = build_sample_report()
    saved = report_from_json(report_to_json(old), "old.json")
    diff = diff_reports(saved, old)
    assert diff.new == diff.fixed == ()
    assert len(diff.unchanged) == len(old.findings)


@pytest.fixture
def changed() -> tuple[Report, Report]:
    old = with_findings(web("a"), web("gone", Severity.MEDIUM))
    new = with_findings(web("a"), web(f"x|{XSS}", message=f"label {XSS} | `tick`"))
    return old, new


def test_table(changed: tuple[Report, Report]) -> None:
    text = render_diff(diff_reports(*changed), Format.TABLE)
    assert text.startswith("New (1):\n")
    assert "Fixed (1):" in text
    assert text.rstrip().splitlines()[-1] == "1 new (1 high), 1 fixed, 1 unchanged"
    assert max(len(line) for line in text.splitlines()) <= 100


def test_markdown_escapes(changed: tuple[Report, Report]) -> None:
    text = render_diff(diff_reports(*changed), Format.MARKDOWN)
    assert "<script>" not in text
    assert r"label &lt;script&gt;alert(1)&lt;/script&gt; \| \`tick\`" in text
    assert "## New (1)" in text
    assert "## Fixed (1)" in text
    assert "<summary>Unchanged (1)</summary>" in text


def test_json(changed: tuple[Report, Report]) -> None:
    data = json.loads(render_diff(diff_reports(*changed), Format.JSON))
    assert data["kind"] == "kaudit-diff"
    assert data["summary"] == {
        "new": 1,
        "fixed": 1,
        "unchanged": 1,
        "newBySeverity": {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0},
    }
    assert data["fixed"][0]["resource"]["name"] == "gone"


def test_min_severity_hides_lower_changes(changed: tuple[Report, Report]) -> None:
    data = json.loads(render_diff(diff_reports(*changed), Format.JSON, min_severity=Severity.HIGH))
    assert data["fixed"] == []
    assert data["minSeverity"] == "high"


@pytest.mark.parametrize("fmt", [Format.HTML, Format.SARIF])
def test_unsupported_formats(changed: tuple[Report, Report], fmt: Format) -> None:
    with pytest.raises(ValueError, match="a diff renders as table, md, json"):
        render_diff(diff_reports(*changed), fmt)
