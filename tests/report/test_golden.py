"""Golden files for Markdown, JSON and the table: the hand-built sample and the real demo.

Rewrite them with `pytest tests/report --update-golden` after an intended change, and
review the diff.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import pytest

import kaudit
from kaudit.report.model import Report
from kaudit.report.render import Format, render

GoldenCheck = Callable[[str, str], None]

GOLDEN_FORMATS = [(Format.MARKDOWN, "md"), (Format.JSON, "json"), (Format.TABLE, "txt")]
# Origins in the output name the files as given, so load them by a path relative to the
# directory that holds the package, whatever the working directory of the test run.
PACKAGE_PARENT = Path(kaudit.__file__).resolve().parent.parent
DEMO = "kaudit/demo/insecure"
DEMO_TIME = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)


def _stable(text: str) -> str:
    """The version number changes with every release; the golden files should not."""
    return text.replace(f'"version": "{kaudit.__version__}"', '"version": "VERSION"')


@pytest.mark.parametrize(("fmt", "suffix"), GOLDEN_FORMATS)
def test_sample_report(
    sample_report: Report, golden: GoldenCheck, fmt: Format, suffix: str
) -> None:
    golden(f"sample.{suffix}", _stable(render(sample_report, fmt)))


@pytest.fixture(scope="module")
def demo_report() -> Report:
    from kaudit.audit import audit
    from kaudit.collect.manifests import load_manifests

    here = Path.cwd()
    os.chdir(PACKAGE_PARENT)
    try:
        snapshot = load_manifests([DEMO])
    finally:
        os.chdir(here)
    return audit(snapshot, now=DEMO_TIME)


@pytest.mark.parametrize(("fmt", "suffix"), GOLDEN_FORMATS)
def test_demo_report(demo_report: Report, golden: GoldenCheck, fmt: Format, suffix: str) -> None:
    golden(f"demo.{suffix}", _stable(render(demo_report, fmt)))


def test_a_difference_fails_whatever_the_environment(
    golden: GoldenCheck, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Only the --update-golden flag rewrites: a variable left in the environment does not."""
    if request.config.getoption("--update-golden"):
        pytest.skip("--update-golden rewrites golden files instead of comparing")
    monkeypatch.setenv("KAUDIT_UPDATE_GOLDEN", "1")
    with pytest.raises(AssertionError, match="differs from its golden file"):
        golden("sample.md", "not the sample report\n")
    with pytest.raises(AssertionError, match="missing golden file"):
        golden("no-such-golden-file.md", "")
