"""The HTML report of the demo in a real headless Chromium (Debian's package).

It checks that the page runs without console errors, that the filters and the search
narrow the findings, that a hostile label in the input shows as text and never runs, and
that the page still reads with JavaScript off. Screenshots go to tests/report/artifacts/.

Without /usr/bin/chromium or the playwright package these tests are skipped, except in CI
(CI=true) or with KAUDIT_REQUIRE_BROWSER=1, where they fail: `make test` installs both.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import kaudit
from kaudit.findings import Severity
from kaudit.report.model import Report
from kaudit.report.render import Format, render
from tests.report.samples import XSS, build_sample_report

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("KAUDIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
DEMO = Path(kaudit.__file__).resolve().parent / "demo" / "insecure"

# A Service whose selector carries a script: its finding quotes the label back.
HOSTILE_MANIFEST = f"""\
apiVersion: v1
kind: Service
metadata:
  name: hostile
  namespace: shop
  labels:
    note: "{XSS}"
spec:
  selector:
    app: "{XSS}"
  ports:
    - port: 80
"""


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true" or os.environ.get("KAUDIT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser test cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page with its console errors, uncaught exceptions and dialogs recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def visible_findings(self) -> list[dict[str, str]]:
        result: list[dict[str, str]] = self.page.eval_on_selector_all(
            "li.finding",
            "items => items.filter(i => !i.hidden && i.offsetParent !== null)"
            ".map(i => ({severity: i.dataset.severity, rule: i.dataset.rule, ns: i.dataset.ns}))",
        )
        return result


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The insecure demo plus one manifest with a script in its labels."""
    folder = tmp_path_factory.mktemp("demo")
    shutil.copytree(DEMO, folder / "insecure")
    (folder / "insecure" / "zz-hostile.yaml").write_text(HOSTILE_MANIFEST)
    return folder / "insecure"


@pytest.fixture(scope="module")
def demo_report(demo_files: Path) -> Report:
    from kaudit.audit import audit
    from kaudit.collect.manifests import load_manifests

    return audit(
        load_manifests([str(demo_files)]), now=dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
    )


def open_report(
    browser: Browser, report: Report, tmp_path: Path, *, javascript: bool = True
) -> Watched:
    html = tmp_path / "report.html"
    html.write_text(render(report, Format.HTML), encoding="utf-8")
    context = browser.new_context(
        java_script_enabled=javascript, viewport={"width": 1280, "height": 900}
    )
    watched = Watched(context.new_page())
    watched.page.goto(html.as_uri())
    watched.page.wait_for_load_state("load")
    return watched


def screenshot(watched: Watched, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    watched.page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_demo_report_opens_without_errors(
    browser: Browser, demo_report: Report, tmp_path: Path
) -> None:
    watched = open_report(browser, demo_report, tmp_path)
    screenshot(watched, "demo.png")
    assert watched.errors == []
    assert watched.dialogs == []
    assert watched.page.is_visible("#filters")
    assert len(watched.visible_findings()) == len(demo_report.findings)
    assert watched.page.inner_text("#filter-count") == f"{len(demo_report.findings)} findings"


def test_hostile_label_shows_as_text_and_never_runs(
    browser: Browser, demo_report: Report, tmp_path: Path
) -> None:
    assert any(XSS in f.message or XSS in str(f.evidence) for f in demo_report.findings), (
        "the hostile Service should produce a finding that quotes its selector"
    )
    watched = open_report(browser, demo_report, tmp_path)
    watched.page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert XSS in watched.page.inner_text("body")
    assert watched.page.locator("script").count() == 1
    assert watched.dialogs == []
    assert watched.errors == []


def test_severity_filter_is_a_minimum(
    browser: Browser, demo_report: Report, tmp_path: Path
) -> None:
    # As --min-severity: "high" shows high and critical.
    watched = open_report(browser, demo_report, tmp_path)
    expected = sum(1 for f in demo_report.findings if f.severity >= Severity.HIGH)
    assert 0 < expected < len(demo_report.findings)
    watched.page.select_option("#filter-severity", "high")
    shown = watched.visible_findings()
    assert len(shown) == expected
    assert {f["severity"] for f in shown} == {"high", "critical"}
    assert watched.page.inner_text("#filter-count") == (
        f"Showing {expected} of {len(demo_report.findings)} findings"
    )
    screenshot(watched, "demo-filter-high.png")
    watched.page.click("#filter-reset")
    assert len(watched.visible_findings()) == len(demo_report.findings)
    assert watched.errors == []


def test_rule_namespace_and_search_filters(
    browser: Browser, demo_report: Report, tmp_path: Path
) -> None:
    watched = open_report(browser, demo_report, tmp_path)
    rule = demo_report.findings[0].rule_id
    watched.page.select_option("#filter-rule", rule)
    assert {f["rule"] for f in watched.visible_findings()} == {rule}
    watched.page.click("#filter-reset")

    watched.page.select_option("#filter-namespace", "payments")
    in_payments = watched.visible_findings()
    assert in_payments
    assert {f["ns"] for f in in_payments} == {"payments"}
    # A namespace section with nothing left to show is hidden as a whole.
    assert not watched.page.is_visible("#ns-shop")
    watched.page.click("#filter-reset")

    watched.page.fill("#filter-search", "externalname")
    from playwright.sync_api import expect

    # The search waits for a pause in typing; the page's CSP forbids string evaluation,
    # so wait through a locator rather than wait_for_function.
    expect(watched.page.locator("#filter-count")).to_contain_text("Showing")
    searched = watched.visible_findings()
    expected = [f for f in demo_report.findings if "externalname" in f.message.lower()]
    assert len(searched) == len(expected) > 0
    assert watched.errors == []


def test_copy_button_and_anchor_links(
    browser: Browser, demo_report: Report, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    watched = open_report(browser, demo_report, tmp_path)
    first_worst = watched.page.locator("ol.worst a").first
    target = (first_worst.get_attribute("href") or "").lstrip("#")
    first_worst.click()
    # Following a link opens the collapsed sections around the finding.
    assert watched.page.is_visible(f"#{target}")
    watched.page.click("#expand-all")
    button = watched.page.locator("button.copy").first
    button.click()
    # Headless Chromium may refuse the clipboard; the button then says to copy by hand.
    expect(button).to_have_text(re.compile(r"^(Copied|Select and copy)$"))
    assert watched.errors == []


def test_reads_without_javascript(browser: Browser, demo_report: Report, tmp_path: Path) -> None:
    watched = open_report(browser, demo_report, tmp_path, javascript=False)
    screenshot(watched, "demo-no-js.png")
    assert not watched.page.is_visible("#filters")
    assert not watched.page.locator("button.copy").first.is_visible()
    assert len(watched.visible_findings()) == len(demo_report.findings)
    assert watched.page.is_visible("table.heat")


def test_thousands_of_findings_stay_usable(browser: Browser, tmp_path: Path) -> None:
    sample = build_sample_report()
    many = tuple(
        dataclasses.replace(
            sample.findings[i % len(sample.findings)],
            resource=dataclasses.replace(
                sample.findings[i % len(sample.findings)].resource, name=f"object-{i}"
            ),
        )
        for i in range(3000)
    )
    report = dataclasses.replace(sample, findings=many)
    watched = open_report(browser, report, tmp_path)
    # Large sections start collapsed: the page opens to an outline, not 3,000 open rows.
    assert watched.page.locator("details.ns[open]").count() == 0
    watched.page.select_option("#filter-severity", "critical")
    critical = sum(1 for f in many if f.severity is Severity.CRITICAL)
    assert watched.page.inner_text("#filter-count") == f"Showing {critical} of 3000 findings"
    assert watched.errors == []
    assert watched.dialogs == []


def test_print_layout_hides_the_controls(
    browser: Browser, demo_report: Report, tmp_path: Path
) -> None:
    watched = open_report(browser, demo_report, tmp_path)
    watched.page.emulate_media(media="print")
    assert not watched.page.is_visible("#filters")
    assert not watched.page.locator("button.copy").first.is_visible()
    assert watched.page.is_visible("table.heat")
    assert watched.errors == []


def test_exposure_section_opens_the_page_and_draws_its_graph(
    browser: Browser, demo_report: Report, tmp_path: Path
) -> None:
    assert demo_report.exposure is not None and demo_report.exposure.entries
    watched = open_report(browser, demo_report, tmp_path)
    # A CSP violation (an inline style or script the policy refuses) is a console error.
    assert watched.errors == []
    first = watched.page.eval_on_selector("main > section", "s => s.id")
    assert first == "exposure"
    assert watched.page.is_visible("#exposure svg.exposure-graph")
    box = watched.page.locator("#exposure svg.exposure-graph").bounding_box()
    assert box is not None and box["width"] > 600 and box["height"] > 100
    # Styled by the page's own stylesheet: edges are stroked, nodes are drawn.
    stroke = watched.page.eval_on_selector("#exposure path.edge", "p => getComputedStyle(p).stroke")
    assert stroke not in ("none", "")
    labels = watched.page.eval_on_selector_all(
        "#exposure svg g.node text", "ts => ts.map(t => t.textContent)"
    )
    assert "Deployment/frontend" in labels
    rows = watched.page.locator("#exposure table.exposure-table tbody tr").count()
    assert rows == len(demo_report.exposure.entries)
    watched.page.locator("#exposure").screenshot(path=str(_artifact("demo-exposure.png")))


def _artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name
