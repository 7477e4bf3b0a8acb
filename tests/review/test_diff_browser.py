"""The HTML review in a real headless Chromium: no console errors (a CSP violation is
one), no dialog, and a hostile label in the input shown as text."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from typer.testing import CliRunner

from kaudit.cli import app
from tests.report.samples import XSS
from tests.report.test_browser import DEMO, HOSTILE_MANIFEST, Watched, browser

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["browser"]  # the fixture, shared with the audit report's browser tests

HARDENED = DEMO.parent / "hardened"


def test_the_review_page_opens_cleanly_and_shows_hostile_text_as_text(
    browser: Browser, tmp_path: Path
) -> None:
    head = tmp_path / "head"
    shutil.copytree(DEMO, head)
    (head / "zz-hostile.yaml").write_text(HOSTILE_MANIFEST)
    page_file = tmp_path / "review.html"
    result = CliRunner().invoke(
        app, ["diff", str(HARDENED), str(head), "--format", "html", "--output", str(page_file)]
    )
    assert result.exit_code == 1, result.output  # new high findings
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = Watched(context.new_page())
    watched.page.goto(page_file.as_uri())
    watched.page.wait_for_load_state("load")
    assert watched.errors == []
    assert watched.dialogs == []
    summary = watched.page.inner_text("p.summary")
    assert summary.startswith("This change opens 100 paths, closes 7, ")
    assert watched.page.locator("details").count() >= 5
    assert XSS in watched.page.inner_text("body")
