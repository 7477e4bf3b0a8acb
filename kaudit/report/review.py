"""The review of a change (`kaudit diff` on snapshots): connectivity, findings, outside paths.

`ChangeReview` holds what the two sides differ in: the connections opened and
closed (`kaudit.review`), the findings diff (`kaudit.report.diff`) and the
outside paths of the exposure inventory (None until it plugs in). The JSON form
extends the findings diff document with `before`, `after`, `connectivity` and
`exposure` (docs/diff.md).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from kaudit.findings import Finding, Severity
from kaudit.jsontypes import JsonArray, JsonObject
from kaudit.model import Labels
from kaudit.report.diff import ReportDiff, diff_to_dict
from kaudit.report.jsonio import format_timestamp
from kaudit.report.model import Report
from kaudit.report.review_exposure import ExposureChanges, exposure_changes_to_dict
from kaudit.review import ConnectivityDiff, PathChange, WorkloadChange, group_by_workload
from kaudit.review.ports import PortRange

# Why a review has no connectivity: one side is a saved audit.
NO_SNAPSHOT = (
    "connectivity and outside paths are compared only when both sides are manifests or "
    "clusters: a saved audit holds findings, not the pods and policies"
)


@dataclass(frozen=True, slots=True)
class SideInfo:
    """What one side of the review was read from, e.g. `manifests base/` or `cluster prod`."""

    label: str
    generated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ChangeReview:
    before: SideInfo
    after: SideInfo
    findings: ReportDiff
    after_report: Report  # for SARIF: the later audit's facts and rules
    connectivity: ConnectivityDiff | None = None
    exposure: ExposureChanges | None = None
    namespace_labels: Mapping[str, Labels] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what the review could not compare, and warnings

    @property
    def opened_by_workload(self) -> tuple[WorkloadChange, ...]:
        if self.connectivity is None:
            return ()
        return group_by_workload(self.connectivity.opened, self.connectivity.workloads)

    @property
    def closed_by_workload(self) -> tuple[WorkloadChange, ...]:
        if self.connectivity is None:
            return ()
        return group_by_workload(self.connectivity.closed, self.connectivity.workloads)


def review_summary(review: ChangeReview) -> str:
    """One line for the top of a pull-request comment, e.g.
    `opens 3 paths, closes 1, 2 new findings (2 high), 1 fixed`."""
    parts = []
    if review.connectivity is not None:
        opened, closed = len(review.opened_by_workload), len(review.closed_by_workload)
        parts.append(f"opens {opened} {'path' if opened == 1 else 'paths'}, closes {closed}")
    if review.exposure is not None:
        added = len(review.exposure.added)
        parts.append(
            f"{added} new outside {'path' if added == 1 else 'paths'}, "
            f"{len(review.exposure.removed)} removed"
        )
    new = review.findings.new
    counts = [f"{n} {s.label}" for s in sorted(Severity, reverse=True) if (n := _count(new, s)) > 0]
    findings = f"{len(new)} new {'finding' if len(new) == 1 else 'findings'}"
    if counts:
        findings += f" ({', '.join(counts)})"
    parts.append(findings)
    parts.append(f"{len(review.findings.fixed)} fixed")
    return ", ".join(parts)


def _count(findings: tuple[Finding, ...], severity: Severity) -> int:
    return sum(1 for f in findings if f.severity is severity)


# --- JSON -----------------------------------------------------------------------------------


def ports_to_json(ports: tuple[PortRange, ...]) -> JsonArray:
    return [{"port": r.first, "endPort": r.last} for r in ports]


def change_to_dict(change: PathChange) -> JsonObject:
    return {
        "scope": change.scope.value,
        "from": list(change.sources),
        "to": list(change.targets),
        "protocol": change.protocol.value,
        "ports": ports_to_json(change.ports),
        "connections": change.pairs,
    }


def workload_change_to_dict(row: WorkloadChange) -> JsonObject:
    return {
        "scope": row.scope.value,
        "from": row.source,
        "to": row.target,
        "protocols": [p.value for p in row.protocols],
        "ports": ports_to_json(row.ports),
        "connections": row.pairs,
        "fromPods": row.source_pods,
        "toPods": row.target_pods,
    }


def connectivity_to_dict(review: ChangeReview) -> JsonObject | None:
    diff = review.connectivity
    if diff is None:
        return None
    return {
        "protocols": [p.value for p in diff.protocols],
        "ports": None if diff.ports is None else ports_to_json((diff.ports,)),
        "podsBefore": diff.pods_before,
        "podsAfter": diff.pods_after,
        "addedPods": list(diff.added_pods),
        "removedPods": list(diff.removed_pods),
        "opened": [change_to_dict(c) for c in diff.opened],
        "closed": [change_to_dict(c) for c in diff.closed],
        "byWorkload": {
            "opened": [workload_change_to_dict(r) for r in review.opened_by_workload],
            "closed": [workload_change_to_dict(r) for r in review.closed_by_workload],
        },
    }


def review_to_dict(review: ChangeReview, min_severity: Severity = Severity.INFO) -> JsonObject:
    document = diff_to_dict(review.findings, min_severity)
    summary = document["summary"]
    assert isinstance(summary, dict)
    if review.connectivity is not None:
        summary["openedPaths"] = len(review.opened_by_workload)
        summary["closedPaths"] = len(review.closed_by_workload)
        summary["openedConnections"] = sum(c.pairs for c in review.connectivity.opened)
        summary["closedConnections"] = sum(c.pairs for c in review.connectivity.closed)
    summary["text"] = review_summary(review)
    exposure: JsonObject | None = None
    if review.exposure is not None:
        exposure = exposure_changes_to_dict(review.exposure)
        summary["newOutsidePaths"] = len(review.exposure.added)
        summary["removedOutsidePaths"] = len(review.exposure.removed)
    document.update(
        {
            "before": {
                "source": review.before.label,
                "generatedAt": format_timestamp(review.before.generated_at),
            },
            "after": {
                "source": review.after.label,
                "generatedAt": format_timestamp(review.after.generated_at),
            },
            "connectivity": connectivity_to_dict(review),
            "exposure": exposure,
            "notes": list(review.notes),
        }
    )
    return document


def render_review_json(review: ChangeReview, min_severity: Severity = Severity.INFO) -> str:
    return json.dumps(review_to_dict(review, min_severity), indent=2, ensure_ascii=False) + "\n"
