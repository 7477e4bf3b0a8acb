"""Parsing --format: names, aliases, paths."""

from __future__ import annotations

import pytest

from kaudit.errors import InputError
from kaudit.report.output import Output, parse_outputs

FORMATS = ("table", "json", "md", "html", "sarif")


@pytest.mark.parametrize("spec", ["md", "markdown", "Markdown", " MARKDOWN "])
def test_markdown_is_an_alias_of_md(spec: str) -> None:
    assert parse_outputs([spec], None, FORMATS, "table") == [Output("md", None)]


def test_the_alias_takes_a_path() -> None:
    assert parse_outputs(["markdown=out/r.md"], None, FORMATS, "table") == [
        Output("md", "out/r.md")
    ]


def test_unknown_formats_are_still_refused() -> None:
    with pytest.raises(InputError, match="unknown format 'mdown'"):
        parse_outputs(["mdown"], None, FORMATS, "table")
