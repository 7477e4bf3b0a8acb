"""Options and plugins shared by the whole suite."""

from __future__ import annotations

import pytest

# The control-plane fixtures (`cluster`, `namespace`), for every test directory.
pytest_plugins = ["tests.plugins.cluster"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the report golden files instead of comparing against them",
    )
