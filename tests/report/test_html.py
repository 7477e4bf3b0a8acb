"""The HTML report, read as a document: self-contained, escaped, complete without JavaScript."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import pytest

from kaudit.findings import Severity
from kaudit.netpol.summary import IsolationCounts, ReachabilitySummary
from kaudit.report.html import render_html, script_hash
from kaudit.report.model import Report
from kaudit.report.render import Format, render


class Outline(HTMLParser):
    """Collects what the tests look at: tags with attributes, script bodies, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    def having(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]


def outline(text: str) -> Outline:
    parser = Outline()
    parser.feed(text)
    return parser


@pytest.fixture
def page(sample_report: Report) -> Outline:
    return outline(render(sample_report, Format.HTML))


def test_one_script_and_no_external_resources(page: Outline) -> None:
    assert len(page.scripts) == 1
    for _tag, attrs in page.tags:
        for name in ("src", "href", "action"):
            value = attrs.get(name) or ""
            assert not re.match(r"^(https?:)?//", value), f"external {name}={value}"
    assert not page.having("link")


def test_csp_allows_exactly_the_inline_script(page: Outline) -> None:
    (csp,) = page.having("meta", **{"http-equiv": "Content-Security-Policy"})
    policy = csp["content"] or ""
    assert "default-src 'none'" in policy
    assert f"script-src '{script_hash(page.scripts[0])}'" in policy


def test_hostile_label_is_text_not_markup(sample_report: Report, page: Outline) -> None:
    raw = render(sample_report, Format.HTML)
    assert "<script>alert(1)</script>" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw
    assert any("<script>alert(1)</script>" in chunk for chunk in page.text)


def test_verdict_and_counts_come_first(sample_report: Report) -> None:
    raw = render(sample_report, Format.HTML)
    assert raw.index('class="verdict"') < raw.index('id="namespaces"') < raw.index('id="findings"')
    page = outline(raw)
    assert "9 findings, the worst critical; the audit is incomplete." in page.text
    assert page.having("div", role="alert")


def test_every_finding_is_a_filterable_item(page: Outline) -> None:
    items = page.having("li", **{"class": "finding"})
    assert len(items) == 9
    assert {i["data-severity"] for i in items} == {"critical", "high", "medium", "low", "info"}
    namespaces = {i["data-ns"] for i in items}
    assert namespaces == {"data", "monitoring", "shop", "payments", "kube-system"}


def test_filters_are_hidden_until_javascript_shows_them(page: Outline) -> None:
    (nav,) = page.having("nav", id="filters")
    assert "hidden" in nav
    severities = [
        o["value"]
        for o in page.having("option")
        if o["value"] in {"critical", "high", "medium", "low", "info"}
    ]
    assert severities == ["critical", "high", "medium", "low", "info"]


def test_remediation_yaml_has_a_copy_button(page: Outline) -> None:
    buttons = page.having("button", **{"class": "copy"})
    targets = {b["data-copy"] for b in buttons}
    pres = {a["id"] for a in page.having("pre") if a.get("id")}
    assert targets and targets <= pres


def test_heat_map_cells(page: Outline) -> None:
    cells = [a for t, a in page.tags if t == "td" and (a.get("class") or "").startswith("heat-")]
    assert len(cells) == 16
    titles = {c["title"]: c["class"] for c in cells}
    assert titles["payments → data: 2/4"] == "heat-2"
    assert titles["shop → payments: 0/4"] == "heat-0"
    assert titles["shop → shop: 2/2"] == "heat-4"


# A summary with neither a namespace matrix nor pod classes to draw.
EMPTY_SUMMARY = ReachabilitySummary(
    pods=12,
    namespaces=0,
    policies=0,
    classes=0,
    isolation=IsolationCounts(0, 0, 0),
    pod_classes=(),
    namespace_matrix={},
    notes=(),
)


@pytest.mark.parametrize(
    ("reachability", "expected"),
    [
        (None, "Reachability was not computed for this audit."),
        (EMPTY_SUMMARY, "Reachability summary from the NetworkPolicy engine"),
    ],
)
def test_reachability_without_a_matrix(
    sample_report: Report, reachability: ReachabilitySummary | None, expected: str
) -> None:
    report = dataclasses.replace(sample_report, reachability=reachability)
    page = outline(render_html(report))
    assert expected in page.text
    assert not page.having("table", **{"class": "heat"})


def test_system_namespaces_are_apart(sample_report: Report) -> None:
    raw = render(sample_report, Format.HTML)
    assert raw.index("<h2>System namespaces</h2>") < raw.index('id="ns-kube-system"')
    assert raw.index('id="ns-payments"') < raw.index("<h2>System namespaces</h2>")


def test_min_severity_is_stated(sample_report: Report) -> None:
    page = outline(render(sample_report, Format.HTML, min_severity=Severity.MEDIUM))
    assert len(page.having("li", **{"class": "finding"})) == 7
    assert any("Findings below medium are not shown." in t for t in page.text)


def test_large_reports_start_collapsed(sample_report: Report) -> None:
    policy = next(f for f in sample_report.findings if f.rule_id == "KA110")
    many = tuple(dataclasses.replace(policy, message=f"peer {i}") for i in range(120))
    page = outline(render_html(dataclasses.replace(sample_report, findings=many)))
    (section,) = page.having("details", id="ns-data")
    assert "open" not in section
    group = next(a for t, a in page.tags if t == "details" and a.get("class") == "group")
    assert "open" not in group
