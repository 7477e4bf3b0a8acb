"""What changed between two audits (`kaudit diff OLD.json NEW.json`): new, fixed, unchanged.

A finding's identity across runs is `Finding.fingerprint` (the rule and the object), so a
reworded message or a changed severity is the same finding, not a fix plus a new one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from tabulate import tabulate

from kaudit.findings import Finding, Severity
from kaudit.jsontypes import JsonObject
from kaudit.report.jsonio import SCHEMA_VERSION, finding_to_dict, format_timestamp
from kaudit.report.model import Report
from kaudit.report.render import Format
from kaudit.report.table import object_text, render_findings_table, severity_text
from kaudit.report.templating import markdown_environment

DIFF_FORMATS = (Format.TABLE, Format.MARKDOWN, Format.JSON)


@dataclass(frozen=True, slots=True)
class ReportDiff:
    old_generated_at: dt.datetime
    new_generated_at: dt.datetime
    new: tuple[Finding, ...]  # in the new audit only
    fixed: tuple[Finding, ...]  # in the old audit only (as the old audit saw them)
    unchanged: tuple[Finding, ...]  # in both (as the new audit sees them)
    # Unchanged findings whose severity moved: (old, new).
    severity_changed: tuple[tuple[Finding, Finding], ...] = ()

    def new_at_or_above(self, threshold: Severity) -> list[Finding]:
        """For `--fail-on`: new findings at or above the threshold."""
        return [f for f in self.new if f.severity >= threshold]

    def at_or_above(self, threshold: Severity) -> ReportDiff:
        """Only findings at or above `threshold` (`--min-severity`)."""
        return dataclasses.replace(
            self,
            new=tuple(f for f in self.new if f.severity >= threshold),
            fixed=tuple(f for f in self.fixed if f.severity >= threshold),
            unchanged=tuple(f for f in self.unchanged if f.severity >= threshold),
            severity_changed=tuple(
                (old, new)
                for old, new in self.severity_changed
                if max(old.severity, new.severity) >= threshold
            ),
        )


def diff_reports(old: Report, new: Report) -> ReportDiff:
    """Match findings by fingerprint; several findings sharing one (e.g. one per port) are
    matched one to one, identical messages first."""
    old_by_key = _by_fingerprint(old.findings)
    new_by_key = _by_fingerprint(new.findings)
    added: list[Finding] = []
    fixed: list[Finding] = []
    unchanged: list[Finding] = []
    moved: list[tuple[Finding, Finding]] = []
    for key in sorted(old_by_key.keys() | new_by_key.keys()):
        before = list(old_by_key.get(key, []))
        for finding in new_by_key.get(key, []):
            match = next((f for f in before if f.message == finding.message), None)
            if match is None and before:
                match = before[0]
            if match is None:
                added.append(finding)
                continue
            before.remove(match)
            unchanged.append(finding)
            if match.severity != finding.severity:
                moved.append((match, finding))
        fixed.extend(before)
    return ReportDiff(
        old_generated_at=old.generated_at,
        new_generated_at=new.generated_at,
        new=_sorted(added),
        fixed=_sorted(fixed),
        unchanged=_sorted(unchanged),
        severity_changed=tuple(sorted(moved, key=lambda pair: pair[1].sort_key)),
    )


def _by_fingerprint(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    grouped: dict[str, list[Finding]] = {}
    for finding in sorted(findings, key=lambda f: f.sort_key):
        grouped.setdefault(finding.fingerprint, []).append(finding)
    return grouped


def _sorted(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    return tuple(sorted(findings, key=lambda f: f.sort_key))


# --- rendering ----------------------------------------------------------------------------------


def render_diff(
    diff: ReportDiff,
    fmt: Format,
    *,
    color: bool = False,
    min_severity: Severity = Severity.INFO,
) -> str:
    shown = diff.at_or_above(min_severity) if min_severity > Severity.INFO else diff
    if fmt is Format.TABLE:
        return _diff_table(shown, color)
    if fmt is Format.JSON:
        return json.dumps(diff_to_dict(shown, min_severity), indent=2, ensure_ascii=False) + "\n"
    if fmt is Format.MARKDOWN:
        template = markdown_environment().get_template("diff.md.j2")
        return template.render(
            d=shown,
            summary=diff_summary(shown),
            counts=_severity_counts(shown.new),
            when_old=format_timestamp(diff.old_generated_at),
            when_new=format_timestamp(diff.new_generated_at),
            min_severity=min_severity.label,
        )
    names = ", ".join(f.value for f in DIFF_FORMATS)
    raise ValueError(f"a diff renders as {names}, not {fmt.value}")


def diff_summary(diff: ReportDiff, *, color: bool = False) -> str:
    """E.g. `2 new (1 high, 1 low), 3 fixed, 10 unchanged`."""
    counts = ", ".join(
        f"{n} {severity_text(s, color)}" for s, n in _severity_counts(diff.new).items() if n
    )
    new = f"{len(diff.new)} new" + (f" ({counts})" if counts else "")
    return f"{new}, {len(diff.fixed)} fixed, {len(diff.unchanged)} unchanged"


def _severity_counts(findings: Iterable[Finding]) -> dict[Severity, int]:
    counts = dict.fromkeys(sorted(Severity, reverse=True), 0)
    for finding in findings:
        counts[finding.severity] += 1
    return counts


def _diff_table(diff: ReportDiff, color: bool) -> str:
    blocks = []
    if diff.new:
        blocks.append(f"New ({len(diff.new)}):\n" + render_findings_table(list(diff.new), color))
    if diff.fixed:
        blocks.append(
            f"Fixed ({len(diff.fixed)}):\n" + render_findings_table(list(diff.fixed), color)
        )
    if diff.severity_changed:
        rows = [
            [
                f"{severity_text(old.severity, color)} -> {severity_text(new.severity, color)}",
                new.rule_id,
                object_text(new.resource),
            ]
            for old, new in diff.severity_changed
        ]
        blocks.append(
            f"Severity changed ({len(rows)}):\n"
            + tabulate(rows, headers=["SEVERITY", "RULE", "OBJECT"], disable_numparse=True)
        )
    if not (diff.new or diff.fixed):
        blocks.append("No new or fixed findings.")
    blocks.append(diff_summary(diff, color=color))
    return "\n\n".join(blocks) + "\n"


def diff_to_dict(diff: ReportDiff, min_severity: Severity = Severity.INFO) -> JsonObject:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "kind": "kaudit-diff",
        "old": {"generatedAt": format_timestamp(diff.old_generated_at)},
        "current": {"generatedAt": format_timestamp(diff.new_generated_at)},
        "minSeverity": min_severity.label,
        "summary": {
            "new": len(diff.new),
            "fixed": len(diff.fixed),
            "unchanged": len(diff.unchanged),
            "newBySeverity": {s.label: n for s, n in _severity_counts(diff.new).items()},
        },
        "new": [finding_to_dict(f) for f in diff.new],
        "fixed": [finding_to_dict(f) for f in diff.fixed],
        "unchanged": [finding_to_dict(f) for f in diff.unchanged],
        "severityChanged": [
            {"fingerprint": new.fingerprint, "old": old.severity.label, "new": new.severity.label}
            for old, new in diff.severity_changed
        ],
    }
