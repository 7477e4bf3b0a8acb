"""`kaudit rules`: the rule catalogue."""

from __future__ import annotations

from typing import Annotated

import typer

from kaudit.errors import InputError
from kaudit.report.output import Output, canonical_format, write_output


def rules_command(
    fmt: Annotated[str, typer.Option("--format", help="table, json or md.")] = "table",
) -> None:
    """List the rule catalogue."""
    from kaudit.rules.docs import render_catalogue

    fmt = canonical_format(fmt)
    if fmt not in ("table", "json", "md"):
        raise InputError(f"--format: unknown format {fmt!r} (expected table, json or md)")
    write_output(Output(fmt, None), render_catalogue(fmt))
