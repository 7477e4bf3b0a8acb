"""The terminal table: severity, rule, object, message, sorted, in 100 columns."""

from __future__ import annotations

import textwrap

from tabulate import tabulate

from kaudit.findings import Finding, Severity
from kaudit.model import ObjectRef
from kaudit.report.exposure_view import summary_text
from kaudit.report.kinds import ignored_kinds_text, unevaluated_policy_caveat
from kaudit.report.model import Report
from kaudit.report.textsafe import terminal_text

WIDTH = 100
HEADERS = ("SEVERITY", "RULE", "OBJECT", "MESSAGE")
OBJECT_WIDTH = 34  # wider object names wrap; the message takes what is left of WIDTH
GAP = 2  # tabulate's "simple" format puts two spaces between columns
# tabulate pads every column to at least its header plus this much.
HEADER_PADDING = 2

_RESET = "\x1b[0m"
_COLOURS = {
    Severity.CRITICAL: "\x1b[1;31m",
    Severity.HIGH: "\x1b[31m",
    Severity.MEDIUM: "\x1b[33m",
    Severity.LOW: "\x1b[36m",
    Severity.INFO: "\x1b[2m",
}


def render_table(report: Report, *, color: bool = False) -> str:
    """Application findings first, then those in system namespaces, then a one-line summary."""
    findings = sorted(report.findings, key=lambda f: f.sort_key)
    application = [f for f in findings if not report.is_system(f)]
    system = [f for f in findings if report.is_system(f)]
    blocks: list[str] = []
    if application:
        blocks.append(render_findings_table(application, color))
    if system:
        blocks.append(
            f"System namespaces ({len(system)}):\n" + render_findings_table(system, color)
        )
    if not findings:
        blocks.append(_no_findings_text(report))
    left_out = _left_out(report)
    if left_out:
        blocks.append(left_out)
    if report.exposure is not None:
        blocks.append(textwrap.fill(terminal_text(exposure_line(report)), WIDTH))
    blocks.append(summary_line(report, color=color))
    return "\n\n".join(blocks) + "\n"


def exposure_line(report: Report) -> str:
    """The exposure inventory in one sentence (`kaudit exposure` lists it whole)."""
    return f"Exposed to the outside: {summary_text(report.exposure)} (kaudit exposure lists them)."


def _left_out(report: Report) -> str | None:
    """The kinds present but not audited, and the caveat when some of them are policies."""
    ignored = ignored_kinds_text(report.facts.ignored_kinds)
    if ignored is None:
        return None
    lines = [f"Kinds not audited: {ignored}."]
    caveat = unevaluated_policy_caveat(report.facts.ignored_kinds)
    if caveat:
        lines.append(caveat)
    return "\n".join(textwrap.fill(terminal_text(line), WIDTH) for line in lines)


def _no_findings_text(report: Report) -> str:
    """ "No findings." only when something was audited: an empty audit says so instead."""
    if any(ns.pods or ns.services or ns.policies for ns in report.namespaces):
        return "No findings."
    why = "; ".join(terminal_text(w.message) for w in report.warnings)
    return "Nothing audited: no pod, Service or NetworkPolicy in the namespaces read" + (
        f" ({why})." if why else "."
    )


def render_findings_table(findings: list[Finding], color: bool = False) -> str:
    """Findings (already sorted) as a table that fits in WIDTH columns."""
    severity_width, rule_width, object_header, _ = (len(h) + HEADER_PADDING for h in HEADERS)
    object_width = max(object_header, min(OBJECT_WIDTH, max(len(_object(f)) for f in findings)))
    message_width = WIDTH - severity_width - rule_width - object_width - 3 * GAP
    rows = [
        [severity_text(f.severity, color), f.rule_id, _object(f), terminal_text(f.message)]
        for f in findings
    ]
    return tabulate(
        rows,
        headers=HEADERS,
        tablefmt="simple",
        maxcolwidths=[None, None, object_width, message_width],
        disable_numparse=True,
    )


def _object(finding: Finding) -> str:
    return object_text(finding.resource)


def object_text(ref: ObjectRef) -> str:
    """`Kind/namespace/name` as a terminal shows it (controls escaped, long names cut)."""
    return terminal_text(f"{ref.kind}/{ref.qualified_name}")


def severity_text(severity: Severity, color: bool) -> str:
    return f"{_COLOURS[severity]}{severity.label}{_RESET}" if color else severity.label


def summary_line(report: Report, *, color: bool = False) -> str:
    """E.g. `5 findings: 1 critical, 4 low; 1 suppressed; INCOMPLETE: no ingressclasses`."""
    total = len(report.findings)
    counts = ", ".join(f"{n} {severity_text(s, color)}" for s, n in report.counts.items() if n)
    parts = [f"{total} finding{'s' if total != 1 else ''}" + (f": {counts}" if counts else "")]
    if report.min_severity > Severity.INFO:
        parts.append(f"below {report.min_severity.label} hidden")
    if report.suppressed:
        parts.append(f"{len(report.suppressed)} suppressed")
    if report.warnings or report.incomplete_rules:
        parts.append(_incomplete_text(report))
    return "; ".join(parts)


def _incomplete_text(report: Report) -> str:
    missing = sorted({w.kind.value for w in report.warnings if w.kind is not None})
    if missing:
        return f"INCOMPLETE: no {', '.join(missing)}"
    return f"INCOMPLETE: {len(report.warnings) or len(report.incomplete_rules)} warning(s)"
