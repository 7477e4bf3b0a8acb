"""What the reports show of the exposure inventory: rows, counts, a summary sentence."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from kaudit.exposure import DeadEnd, ExposureEntry, ExposureInventory
from kaudit.report.exposure_graph import GRAPH_LIMIT, exposure_graph

# The Markdown report lists this many entries (the JSON report keeps all of them).
MARKDOWN_ROWS = 50


def yes_no(value: bool | None, yes: str = "yes", no: str = "no", unknown: str = "unknown") -> str:
    return yes if value is True else no if value is False else unknown


@dataclass(frozen=True, slots=True)
class ExposureRow:
    namespace: str
    workload: str
    via: str
    entry: str
    ports: str
    tls: str
    admitted: str
    admitted_css: str  # adm-yes, adm-no, adm-unknown
    tls_css: str
    path: str
    notes: str

    @classmethod
    def of(cls, entry: ExposureEntry) -> ExposureRow:
        return cls(
            namespace=entry.namespace,
            workload=entry.workload_name,
            via=str(entry.via),
            entry=entry.entry,
            ports=", ".join(str(p) for p in entry.ports) or "any",
            tls=yes_no(entry.tls),
            admitted=yes_no(entry.admitted_by_policy, "admitted", "denied", "unknown"),
            admitted_css="adm-" + yes_no(entry.admitted_by_policy, "yes", "no", "unknown"),
            tls_css="tls-" + yes_no(entry.tls, "yes", "no", "unknown"),
            path=" → ".join(f"{r.kind}/{r.name}" for r in entry.path),
            notes="; ".join(entry.notes),
        )


@dataclass(frozen=True, slots=True)
class DeadEndRow:
    namespace: str
    via: str
    entry: str
    path: str
    reason: str

    @classmethod
    def of(cls, dead: DeadEnd) -> DeadEndRow:
        return cls(
            dead.namespace,
            str(dead.via),
            dead.entry,
            " → ".join(f"{r.kind}/{r.name}" for r in dead.path),
            dead.reason,
        )


@dataclass(frozen=True, slots=True)
class ExposureView:
    computed: bool
    summary: str
    rows: tuple[ExposureRow, ...]
    dead_ends: tuple[DeadEndRow, ...]
    by_via: tuple[tuple[str, int], ...]  # ways in that have entries
    graph: Markup | None
    graph_left_out: int
    notes: tuple[str, ...]
    markdown_rows: int = MARKDOWN_ROWS


def summary_text(inventory: ExposureInventory | None) -> str:
    """One sentence, e.g. "7 outside paths to 4 workloads (LoadBalancer 1, ...): 5 admitted
    by the pods' policies, 1 denied, 1 unknown; 5 entry points lead nowhere"."""
    if inventory is None:
        return "The exposure inventory was not computed for this report"
    if not inventory.entries:
        text = "Nothing in the input is reachable from outside the cluster"
    else:
        ways = ", ".join(f"{via} {n}" for via, n in inventory.counts().items() if n)
        admitted = [e.admitted_by_policy for e in inventory.entries]
        answers = ", ".join(
            f"{n} {word}"
            for n, word in (
                (admitted.count(True), "admitted by the pods' policies"),
                (admitted.count(False), "denied"),
                (admitted.count(None), "unknown"),
            )
            if n
        )
        paths = len(inventory.entries)
        workloads = inventory.workloads
        text = (
            f"{paths} outside path{'s' if paths != 1 else ''} to {workloads} "
            f"workload{'s' if workloads != 1 else ''} ({ways}): {answers}"
        )
    if inventory.dead_ends:
        n = len(inventory.dead_ends)
        text += f"; {n} entry point{'s lead' if n != 1 else ' leads'} nowhere"
    return text


def build_exposure_view(inventory: ExposureInventory | None) -> ExposureView:
    if inventory is None:
        return ExposureView(False, summary_text(None), (), (), (), None, 0, ())
    return ExposureView(
        computed=True,
        summary=summary_text(inventory),
        rows=tuple(ExposureRow.of(e) for e in inventory.entries),
        dead_ends=tuple(DeadEndRow.of(d) for d in inventory.dead_ends),
        by_via=tuple((str(v), n) for v, n in inventory.counts().items() if n),
        graph=exposure_graph(inventory.entries),
        graph_left_out=max(0, len(inventory.entries) - GRAPH_LIMIT),
        notes=inventory.notes,
    )
