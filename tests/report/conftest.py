"""Report fixtures and golden-file support.

Golden files are rewritten only with `pytest --update-golden` (the option lives in
tests/conftest.py); without it every golden test compares.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kaudit.report.model import Report
from tests.report.samples import build_sample_report

GOLDEN_DIR = Path(__file__).parent / "golden"


GoldenCheck = Callable[[str, str], None]


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> GoldenCheck:
    """`golden(name, text)`: compare `text` with tests/report/golden/<name>, or rewrite it."""
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}; rerun with --update-golden"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"{name} differs from its golden file; rerun with --update-golden"

    return check


@pytest.fixture
def sample_report() -> Report:
    return build_sample_report()
