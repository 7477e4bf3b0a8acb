"""The review of a change in every format: table, JSON, Markdown, HTML and SARIF.

Markdown is made for a pull-request comment: the one-line summary first, then
the details in collapsible sections, every cluster value escaped as the Markdown
report escapes it; long sections are cut at `ROW_LIMIT` rows (the JSON has them
all). HTML is one self-contained page, autoescaped, under the audit report's
Content-Security-Policy. SARIF holds the new findings.
"""

from __future__ import annotations

import dataclasses
import json

from tabulate import tabulate

import kaudit
from kaudit.findings import Severity
from kaudit.report.diff import render_diff
from kaudit.report.render import Format
from kaudit.report.review import (
    NO_SNAPSHOT,
    ChangeReview,
    render_review_json,
    review_summary,
)
from kaudit.report.review_exposure import entry_text, facts_text
from kaudit.report.sarif import report_to_sarif
from kaudit.report.templating import html_environment, markdown_environment
from kaudit.report.textsafe import terminal_text
from kaudit.review import WorkloadChange

REVIEW_FORMATS = (Format.TABLE, Format.JSON, Format.MARKDOWN, Format.HTML, Format.SARIF)
# Rows per section of the Markdown and HTML reviews.
ROW_LIMIT = 200
# A GitHub comment holds 65,536 characters (GitLab allows more): sections are cut
# to fewer rows, in these steps, until the Markdown fits.
COMMENT_MAX = 65_536
MARKDOWN_LIMITS = (ROW_LIMIT, 100, 50, 20, 5)


def render_review(
    review: ChangeReview,
    fmt: Format,
    *,
    color: bool = False,
    min_severity: Severity = Severity.INFO,
) -> str:
    if fmt is Format.JSON:
        return render_review_json(review, min_severity)
    if fmt is Format.TABLE:
        return _table(review, color, min_severity)
    if fmt is Format.SARIF:
        new_only = dataclasses.replace(
            review.after_report, findings=review.findings.new, suppressed=()
        )
        return json.dumps(report_to_sarif(new_only), indent=2, ensure_ascii=False) + "\n"
    shown = (
        review.findings.at_or_above(min_severity)
        if min_severity > Severity.INFO
        else review.findings
    )
    values = {
        "r": review,
        "d": shown,
        "summary": review_summary(review),
        "opened": review.opened_by_workload,
        "closed": review.closed_by_workload,
        "limit": ROW_LIMIT,
        "no_snapshot": NO_SNAPSHOT,
        "min_severity": min_severity.label,
        "connections": _connections,
        "entry_text": entry_text,
        "facts_text": facts_text,
    }
    if fmt is Format.MARKDOWN:
        # Shorter sections until the comment fits (the JSON keeps every row).
        template = markdown_environment().get_template("review.md.j2")
        for limit in MARKDOWN_LIMITS:
            text = template.render(**{**values, "limit": limit})
            if len(text) <= COMMENT_MAX:
                break
        return text
    return (
        html_environment()
        .get_template("review.html.j2")
        .render(version=kaudit.__version__, **values)
    )


def _connections(rows: tuple[WorkloadChange, ...]) -> int:
    return sum(row.pairs for row in rows)


def _table(review: ChangeReview, color: bool, min_severity: Severity) -> str:
    blocks = [
        f"Before: {terminal_text(review.before.label)}\nAfter:  {terminal_text(review.after.label)}"
    ]
    if review.connectivity is None:
        blocks.append(f"Connectivity: not compared ({NO_SNAPSHOT}).")
    else:
        diff = review.connectivity
        protocols = ", ".join(p.value for p in diff.protocols)
        ports = "all ports" if diff.ports is None else f"ports {diff.ports}"
        blocks.append(
            f"Connectivity on {protocols}, {ports}: {diff.pods_before} pods before, "
            f"{diff.pods_after} after ({len(diff.added_pods)} added, "
            f"{len(diff.removed_pods)} removed)."
        )
        for title, rows in (
            ("Opened", review.opened_by_workload),
            ("Closed", review.closed_by_workload),
        ):
            if rows:
                blocks.append(
                    f"{title} ({len(rows)} paths, {_connections(rows)} connections):\n"
                    + _path_table(rows)
                )
        if diff.empty:
            blocks.append("No connection opened or closed.")
    if review.exposure is not None:
        lines = [f"  + {terminal_text(entry_text(e))}" for e in review.exposure.added]
        lines += [f"  - {terminal_text(entry_text(e))}" for e in review.exposure.removed]
        lines += [
            f"  ~ {terminal_text(entry_text(new))} (was: {facts_text(old)})"
            for old, new in review.exposure.changed
        ]
        blocks.append("Outside paths: " + ("\n" + "\n".join(lines) if lines else "no change."))
    for note in review.notes:
        blocks.append(f"Note: {terminal_text(note)}")
    blocks.append(
        render_diff(review.findings, Format.TABLE, color=color, min_severity=min_severity).rstrip(
            "\n"
        )
    )
    blocks.append(review_summary(review))
    return "\n\n".join(blocks) + "\n"


def _path_table(rows: tuple[WorkloadChange, ...]) -> str:
    table = [
        [
            row.scope.value,
            terminal_text(row.source),
            terminal_text(row.target),
            row.protocols_text,
            row.ports_text,
            row.pairs,
            _pods(row),
        ]
        for row in rows
    ]
    return tabulate(
        table,
        headers=["SCOPE", "FROM", "TO", "PROTOCOLS", "PORTS", "CONNECTIONS", "PODS"],
        disable_numparse=True,
    )


def _pods(row: WorkloadChange) -> str:
    if row.source_pods and row.target_pods:
        return f"{row.source_pods} -> {row.target_pods}"
    return str(row.source_pods or row.target_pods)
