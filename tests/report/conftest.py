"""Report fixtures and golden-file support.

Golden files are rewritten with `pytest --update-golden` (the option lives in
tests/conftest.py) or with the environment variable KAUDIT_UPDATE_GOLDEN=1.
"""

from __future__ import annotations

import os
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
    update = os.environ.get("KAUDIT_UPDATE_GOLDEN") == "1" or bool(
        request.config.getoption("--update-golden", default=False)
    )

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"missing golden file {path}; run with KAUDIT_UPDATE_GOLDEN=1"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"{name} differs from its golden file; rerun with --update-golden"

    return check


@pytest.fixture
def sample_report() -> Report:
    return build_sample_report()
