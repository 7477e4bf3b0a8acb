"""One entry point for every report format: `render(report, Format.HTML)` returns the text."""

from __future__ import annotations

import dataclasses
import enum
from collections import Counter
from types import MappingProxyType

from kaudit.findings import Severity
from kaudit.report.model import NamespaceSummary, Report


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "md"
    HTML = "html"
    SARIF = "sarif"


def render(
    report: Report,
    fmt: Format,
    *,
    color: bool = False,
    min_severity: Severity = Severity.INFO,
) -> str:
    """The report in `fmt`, showing only findings at or above `min_severity`.

    `color` only affects the terminal table; the caller decides it (a TTY and no NO_COLOR).
    """
    shown = at_or_above(report, min_severity)
    if fmt is Format.TABLE:
        from kaudit.report.table import render_table

        return render_table(shown, color=color)
    if fmt is Format.JSON:
        from kaudit.report.jsonio import report_to_json

        return report_to_json(shown)
    if fmt is Format.MARKDOWN:
        from kaudit.report.markdown import render_markdown

        return render_markdown(shown)
    if fmt is Format.HTML:
        from kaudit.report.html import render_html

        return render_html(shown)
    if fmt is Format.SARIF:
        from kaudit.report.sarif import render_sarif

        return render_sarif(shown)
    raise ValueError(f"unknown report format {fmt!r}")


def at_or_above(report: Report, threshold: Severity) -> Report:
    """The report without findings below `threshold`, its namespace counts kept consistent."""
    if threshold <= report.min_severity:
        return report
    findings = tuple(f for f in report.findings if f.severity >= threshold)
    suppressed = tuple(s for s in report.suppressed if s.finding.severity >= threshold)
    per_namespace: dict[str, Counter[str]] = {}
    for finding in findings:
        per_namespace.setdefault(finding.resource.scope, Counter())[finding.severity.label] += 1
    namespaces = tuple(
        _with_counts(summary, per_namespace.get(summary.name, Counter()))
        for summary in report.namespaces
    )
    return dataclasses.replace(
        report,
        findings=findings,
        suppressed=suppressed,
        namespaces=namespaces,
        min_severity=threshold,
    )


def _with_counts(summary: NamespaceSummary, counts: Counter[str]) -> NamespaceSummary:
    return dataclasses.replace(
        summary, findings=MappingProxyType({s.label: counts[s.label] for s in Severity})
    )
