"""`kaudit report`: a saved JSON audit rendered again, in other formats."""

from __future__ import annotations

from typing import Annotated

import typer

from kaudit.cli.options import parse_severity, read_text, use_color
from kaudit.report.output import parse_outputs, write_output


def report_command(
    file: Annotated[
        str, typer.Argument(help="A JSON report written by 'kaudit audit --format json'.")
    ],
    fmt: Annotated[
        list[str] | None,
        typer.Option("--format", help="As for 'kaudit audit'. Repeatable.", show_default=False),
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    min_severity: Annotated[
        str, typer.Option("--min-severity", help="Only show findings at or above this.")
    ] = "info",
) -> None:
    """Re-render a saved JSON audit in other formats, without a cluster."""
    from kaudit.report.jsonio import report_from_json
    from kaudit.report.render import Format, render

    outputs = parse_outputs(fmt, output, tuple(f.value for f in Format), Format.TABLE.value)
    shown = parse_severity(min_severity, "--min-severity")
    saved = report_from_json(read_text(file), file)
    for out in outputs:
        color = out.path is None and out.format == Format.TABLE and use_color()
        write_output(out, render(saved, Format(out.format), color=color, min_severity=shown))
