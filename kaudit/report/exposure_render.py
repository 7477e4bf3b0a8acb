"""`kaudit exposure`: the inventory alone, as a table, JSON, Markdown or an HTML page."""

from __future__ import annotations

import datetime as dt
import enum
import json
import textwrap
from dataclasses import dataclass
from importlib import resources

from markupsafe import Markup
from tabulate import tabulate

import kaudit
from kaudit.exposure import ExposureInventory
from kaudit.jsontypes import JsonObject
from kaudit.model import ClusterFacts
from kaudit.report.exposure_io import exposure_to_dict
from kaudit.report.exposure_view import ExposureView, build_exposure_view, summary_text
from kaudit.report.jsonio import SCHEMA_VERSION, facts_to_dict, format_timestamp
from kaudit.report.templating import html_environment, markdown_environment
from kaudit.report.textsafe import terminal_text

WIDTH = 100
TABLE_HEADERS = ("NAMESPACE", "WORKLOAD", "VIA", "ENTRY", "PORTS", "TLS", "POLICY", "PATH")
# Columns wider than these wrap, so the table fits in about WIDTH columns.
TABLE_WIDTHS = (14, 22, 12, 18, 14, 7, 9, 26)


class ExposureFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "md"
    HTML = "html"


@dataclass(frozen=True, slots=True)
class ExposurePage:
    """What the exposure templates read (`v.exposure`), with the audit's context."""

    exposure: ExposureView
    facts: ClusterFacts
    generated_at: str


def render_exposure(
    inventory: ExposureInventory,
    facts: ClusterFacts,
    generated_at: dt.datetime,
    fmt: ExposureFormat,
) -> str:
    if fmt is ExposureFormat.JSON:
        return (
            json.dumps(
                exposure_document(inventory, facts, generated_at), indent=2, ensure_ascii=False
            )
            + "\n"
        )
    if fmt is ExposureFormat.TABLE:
        return exposure_table(inventory)
    page = ExposurePage(build_exposure_view(inventory), facts, format_timestamp(generated_at))
    if fmt is ExposureFormat.MARKDOWN:
        template = markdown_environment().get_template("exposure.md.j2")
        return template.render(v=page)
    template = html_environment().get_template("exposure-page.html.j2")
    css = resources.files("kaudit.report").joinpath("templates", "report.css").read_text("utf-8")
    return template.render(v=page, css=Markup(css), version=kaudit.__version__)


def exposure_document(
    inventory: ExposureInventory, facts: ClusterFacts, generated_at: dt.datetime
) -> JsonObject:
    """The JSON of `kaudit exposure`: the audit report's `exposure` object, with the
    report's schema version, the tool, the time and the cluster facts around it."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "kind": "kaudit-exposure",
        "tool": {"name": "kaudit", "version": kaudit.__version__},
        "generatedAt": format_timestamp(generated_at),
        "cluster": facts_to_dict(facts),
        "exposure": exposure_to_dict(inventory),
    }


def exposure_table(inventory: ExposureInventory) -> str:
    view = build_exposure_view(inventory)
    blocks = []
    if view.rows:
        rows = [
            [terminal_text(value) for value in (
                r.namespace, r.workload, r.via, r.entry, r.ports, r.tls, r.admitted, r.path
            )]
            for r in view.rows
        ]  # fmt: skip
        blocks.append(
            tabulate(
                rows,
                headers=TABLE_HEADERS,
                tablefmt="simple",
                maxcolwidths=list(TABLE_WIDTHS),
                disable_numparse=True,
            )
        )
    if view.dead_ends:
        rows = [
            [terminal_text(value) for value in (d.namespace, d.via, d.entry, d.reason)]
            for d in view.dead_ends
        ]
        blocks.append(
            "Entry points that lead nowhere:\n"
            + tabulate(
                rows,
                headers=("NAMESPACE", "VIA", "ENTRY", "WHY"),
                tablefmt="simple",
                maxcolwidths=[14, 12, 24, 44],
                disable_numparse=True,
            )
        )
    blocks.extend(textwrap.fill(terminal_text(note), WIDTH) for note in inventory.notes)
    blocks.append(textwrap.fill(terminal_text(summary_text(inventory)) + ".", WIDTH))
    return "\n\n".join(blocks) + "\n"
