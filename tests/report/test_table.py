"""The terminal table."""

from __future__ import annotations

import dataclasses
import re

import pytest

from kaudit.findings import Severity
from kaudit.report.model import Report
from kaudit.report.render import Format, render
from kaudit.report.table import WIDTH

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_every_line_fits_in_100_columns(sample_report: Report) -> None:
    text = render(sample_report, Format.TABLE)
    assert max(len(line) for line in text.splitlines()) <= WIDTH


def test_rows_are_sorted_by_severity_then_rule(sample_report: Report) -> None:
    text = render(sample_report, Format.TABLE)
    application = text.split("System namespaces")[0]
    rows = [line.split()[:2] for line in application.splitlines() if line[:1].isalpha()]
    assert rows[0] == ["SEVERITY", "RULE"]
    assert rows[1:] == [
        ["critical", "KA110"],
        ["high", "KA101"],
        ["high", "KA140"],
        ["high", "KA204"],
        ["medium", "KA120"],
        ["low", "KA301"],
    ]


def test_system_namespaces_come_apart(sample_report: Report) -> None:
    text = render(sample_report, Format.TABLE)
    system = text.split("System namespaces (3):")[1]
    assert "Service/kube-" in system
    assert "Namespace/kube-system" in system  # a Namespace finding belongs to that namespace
    assert "metrics-`server`" in system


def test_summary_line(sample_report: Report) -> None:
    last = render(sample_report, Format.TABLE).splitlines()[-1]
    assert last == (
        "9 findings: 1 critical, 3 high, 3 medium, 1 low, 1 info; 1 suppressed;"
        " INCOMPLETE: no ingressclasses"
    )


@pytest.mark.parametrize(
    ("color", "has_escape"),
    [(False, False), (True, True)],
)
def test_colour_only_when_asked(sample_report: Report, color: bool, has_escape: bool) -> None:
    text = render(sample_report, Format.TABLE, color=color)
    assert ("\x1b[" in text) is has_escape
    assert max(len(ANSI.sub("", line)) for line in text.splitlines()) <= WIDTH


def test_min_severity_hides_lower_rows(sample_report: Report) -> None:
    text = render(sample_report, Format.TABLE, min_severity=Severity.HIGH)
    assert "KA120" not in text
    assert "KA110" in text
    assert "below high hidden" in text.splitlines()[-1]


def test_empty_report(sample_report: Report) -> None:
    empty = dataclasses.replace(
        sample_report, findings=(), suppressed=(), warnings=(), incomplete_rules={}
    )
    assert render(empty, Format.TABLE) == (
        "No findings.\n\nKinds not audited: ConfigMap (2).\n\n0 findings\n"
    )
