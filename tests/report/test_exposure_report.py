"""The exposure inventory in every report format: JSON (schema version 2, and version 1
read back), the HTML section with its graph, Markdown and the terminal table."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import time
from html.parser import HTMLParser
from typing import Any

import jsonschema
import pytest

from kaudit.exposure import Via
from kaudit.report.exposure_graph import NODE_HEIGHT, exposure_graph
from kaudit.report.exposure_view import MARKDOWN_ROWS
from kaudit.report.jsonio import (
    SCHEMA_VERSION,
    report_from_json,
    report_schema,
    report_to_dict,
    validate_report_dict,
)
from kaudit.report.model import Report
from kaudit.report.render import Format, render
from tests.report.exposure_samples import XSS_HOST, big_inventory, sample_inventory


def data_of(report: Report) -> Any:
    """The report's JSON, parsed (untyped, as readers get it)."""
    return json.loads(json.dumps(report_to_dict(report)))


@pytest.fixture
def exposed(sample_report: Report) -> Report:
    return dataclasses.replace(sample_report, exposure=sample_inventory())


def test_json_carries_the_inventory_and_validates(exposed: Report) -> None:
    data = data_of(exposed)
    validate_report_dict(data)
    assert data["schemaVersion"] == SCHEMA_VERSION == 2
    exposure = data["exposure"]
    assert exposure["summary"] == {
        "entries": 5,
        "workloads": 5,
        "byVia": {
            "LoadBalancer": 1,
            "NodePort": 0,
            "ExternalIP": 0,
            "HostPort": 1,
            "HostNetwork": 0,
            "Ingress": 2,
            "Gateway": 1,
        },
        "deadEnds": 1,
    }
    gateway = exposure["entries"][3]
    assert gateway == {
        "namespace": "shop",
        "workload": "Deployment/web-4",
        "via": "Gateway",
        "entry": "shop.example.com",
        "ports": [{"port": 443, "protocol": "TCP", "targetPort": 8080}],
        "tls": True,
        "admittedByPolicy": True,
        "path": [
            {"kind": "Gateway", "namespace": "infra", "name": "public"},
            {"kind": "HTTPRoute", "namespace": "shop", "name": "r"},
            {"kind": "Service", "namespace": "shop", "name": "web"},
            {"kind": "Deployment", "namespace": "shop", "name": "web-4"},
        ],
        "pods": 2,
        "notes": ["sources: any address"],
    }
    assert exposure["deadEnds"][0]["reason"] == "the Service selects no running pod"


def test_json_reads_back_the_same_inventory(exposed: Report) -> None:
    again = report_from_json(render(exposed, Format.JSON), "saved.json")
    assert again.exposure == exposed.exposure


def test_a_version_1_report_reads_back_without_an_inventory(sample_report: Report) -> None:
    data = data_of(sample_report)
    data["schemaVersion"] = 1
    del data["exposure"]
    old = report_from_json(json.dumps(data), "old.json")
    assert old.exposure is None
    assert old.findings == report_from_json(render(sample_report, Format.JSON), "new").findings
    assert render(old, Format.MARKDOWN).count("The exposure inventory was not computed") == 1


def test_a_version_2_report_needs_its_inventory(exposed: Report) -> None:
    data = data_of(exposed)
    del data["exposure"]
    with pytest.raises(jsonschema.ValidationError, match="'exposure' is a required property"):
        validate_report_dict(data)
    bad = data_of(exposed)
    bad["exposure"]["entries"][0]["via"] = "Carrier pigeon"
    with pytest.raises(jsonschema.ValidationError):
        validate_report_dict(bad)


def test_schema_lists_every_way_in() -> None:
    assert report_schema()["$defs"]["via"]["enum"] == [str(v) for v in Via]


class _Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.svg_texts: list[str] = []
        self._in_svg_text = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "section":
            self.sections.append(dict(attrs).get("id") or "")
        self._in_svg_text = tag == "text"

    def handle_endtag(self, tag: str) -> None:
        self._in_svg_text = False

    def handle_data(self, data: str) -> None:
        if self._in_svg_text:
            self.svg_texts.append(data)


def test_html_opens_with_the_exposure_section(exposed: Report) -> None:
    html = render(exposed, Format.HTML)
    parser = _Sections()
    parser.feed(html)
    assert parser.sections[0] == "exposure"
    assert "<h2>Exposed to the outside</h2>" in html
    assert "5 outside paths to 5 workloads" in html
    # the graph: headings, then one label per node (entry points, fronts, Services, workloads)
    assert parser.svg_texts[:4] == ["Entry point", "Gateway / Ingress", "Service", "Workload"]
    assert "Gateway public" in parser.svg_texts and "Deployment/web-5" in parser.svg_texts
    assert html.count('<path class="edge adm-no"') >= 2
    assert 'class="node tls-no"' in html and 'class="node tls-yes"' in html


def test_html_escapes_every_string_of_the_inventory(exposed: Report) -> None:
    html = render(exposed, Format.HTML)
    assert XSS_HOST not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert html.count("<script>") == 1  # the report's own script only


def test_the_csp_is_unchanged(exposed: Report, sample_report: Report) -> None:
    csp = re.compile(r'<meta http-equiv="Content-Security-Policy" content="[^"]*">')
    with_inventory = csp.findall(render(exposed, Format.HTML))
    without = csp.findall(render(dataclasses.replace(sample_report, exposure=None), Format.HTML))
    assert with_inventory == without and len(without) == 1


def test_the_graph_stays_readable_at_200_entries() -> None:
    inventory = big_inventory(200)
    started = time.perf_counter()
    svg = exposure_graph(inventory.entries)
    elapsed = time.perf_counter() - started
    assert svg is not None
    assert elapsed < 1.0
    # one rectangle per node; no two nodes of a column on the same row
    rects = re.findall(r'<rect x="(\d+)" y="(\d+)"', svg)
    assert len(rects) == len(set(rects))
    columns = {int(x) for x, _ in rects}
    assert len(columns) == 4
    for column in columns:
        rows = sorted(int(y) for x, y in rects if int(x) == column)
        assert all(b - a >= NODE_HEIGHT for a, b in itertools.pairwise(rows))
    assert len(svg) < 400_000


def test_markdown_summarises_and_caps_the_rows(sample_report: Report) -> None:
    report = dataclasses.replace(sample_report, exposure=big_inventory(60))
    text = render(report, Format.MARKDOWN)
    section = text.split("## Exposed to the outside", 1)[1].split("\n## ", 1)[0]
    assert section.count("\n| team-") == MARKDOWN_ROWS
    assert "10 more paths are in the JSON and HTML reports." in section


def test_markdown_escapes_hostnames(exposed: Report) -> None:
    text = render(exposed, Format.MARKDOWN)
    section = text.split("## Exposed to the outside", 1)[1].split("\n## ", 1)[0]
    assert "<script>" not in section
    assert '&lt;script&gt;alert("x")&lt;/script&gt;.example.com' in section


def test_table_ends_with_one_exposure_sentence(exposed: Report) -> None:
    text = render(exposed, Format.TABLE)
    assert (
        "Exposed to the outside: 5 outside paths to 5 workloads (LoadBalancer 1, HostPort 1, "
        "Ingress 2,\nGateway 1): 2 admitted by the pods' policies, 2 denied, 1 unknown; 1 entry "
        "point leads nowhere\n(kaudit exposure lists them).\n\n9 findings"
    ) in text
