"""The two sides of `kaudit diff`: saved audits, manifests, clusters, or a cluster with
manifests applied on top; and the review built from them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kaudit.audit import audit
from kaudit.collect import Source, load_snapshot
from kaudit.collect.overlay import Changes, overlay
from kaudit.model import Labels, Protocol, Snapshot
from kaudit.netpol import PROTOCOLS, PolicyEngine
from kaudit.report.diff import diff_reports
from kaudit.report.jsonio import report_from_json
from kaudit.report.model import Report
from kaudit.report.review import ChangeReview, SideInfo
from kaudit.report.review_exposure import exposure_changes
from kaudit.review import PortRange, compare_connectivity


@dataclass(frozen=True, slots=True)
class Side:
    """One side of the diff: its audit, and its snapshot and engine unless it is a saved
    audit."""

    label: str
    report: Report
    snapshot: Snapshot | None
    engine: PolicyEngine | None = None


def is_saved_audit(path: str) -> bool:
    """A JSON report written by `kaudit audit --format json` (else: manifests).

    Only a file opening with `{` and a top-level `schemaVersion` and `findings`
    is taken for a saved audit; `-` (stdin) is one, as it always was.
    """
    if path == "-":
        return True
    file = Path(path)
    if not file.is_file():
        return False
    try:
        with file.open("rb") as handle:
            head = handle.read(64).lstrip(b"\xef\xbb\xbf \t\r\n")
            if not head.startswith(b"{"):
                return False
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False  # the manifest reader says what is wrong with it
    return isinstance(data, dict) and "schemaVersion" in data and "findings" in data


def saved_side(path: str, text: str) -> Side:
    report = report_from_json(text, path)
    return Side(f"saved audit {path}", report, None)


def snapshot_side(label: str, snapshot: Snapshot, now: dt.datetime) -> Side:
    engine = PolicyEngine(snapshot)  # one engine for the findings and the connectivity
    return Side(label, audit(snapshot, now=now, engine=engine), snapshot, engine)


def manifests_side(path: str, source: Source, now: dt.datetime) -> Side:
    snapshot = load_snapshot(
        Source(
            manifests=(path,),
            namespaces=source.namespaces,
            exclude_namespaces=source.exclude_namespaces,
        )
    )
    return snapshot_side(f"manifests {path}", snapshot, now)


def cluster_snapshot(context: str | None, source: Source) -> Snapshot:
    return load_snapshot(
        Source(
            context=context,
            kubeconfig=source.kubeconfig,
            namespaces=source.namespaces,
            exclude_namespaces=source.exclude_namespaces,
            request_timeout=source.request_timeout,
            timeout=source.timeout,
        )
    )


def cluster_label(context: str | None) -> str:
    return f"cluster {context}" if context else "cluster (current context)"


def applied_side(base: Side, changes: Changes, source: Source, now: dt.datetime) -> Side:
    """The base snapshot with the changes applied on top."""
    assert base.snapshot is not None
    after = overlay(base.snapshot, changes)
    if source.namespaces or source.exclude_namespaces:
        after = after.filtered(source.namespaces, source.exclude_namespaces)
    inputs = ", ".join(changes.inputs) or "nothing"
    return snapshot_side(f"{base.label} with {inputs} applied", after, now)


def build_review(
    before: Side,
    after: Side,
    *,
    ports: PortRange | None = None,
    protocols: Sequence[Protocol] = PROTOCOLS,
) -> ChangeReview:
    """Findings always; connectivity and outside paths when both sides are snapshots."""
    findings = diff_reports(before.report, after.report)
    notes: list[str] = []
    connectivity = None
    exposure = exposure_changes(before.report.exposure, after.report.exposure)
    if exposure is None:
        notes.append("outside paths were not compared: an audit holds no exposure inventory")
    labels: dict[str, Labels] = {}
    if before.engine is not None and after.engine is not None:
        connectivity = compare_connectivity(
            before.engine,
            after.engine,
            ports=ports,
            protocols=protocols,
        )
        for engine in (before.engine, after.engine):
            labels.update({ns.name: ns.labels for ns in engine.snapshot.namespaces})
    for side in (before, after):
        if side.snapshot is not None:
            notes += [f"{side.label}: {w.message}" for w in side.snapshot.warnings]
    return ChangeReview(
        before=SideInfo(before.label, before.report.generated_at),
        after=SideInfo(after.label, after.report.generated_at),
        findings=findings,
        after_report=after.report,
        connectivity=connectivity,
        exposure=exposure,
        namespace_labels=labels,
        notes=tuple(notes),
    )
