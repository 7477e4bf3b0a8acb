"""`kaudit diff`: what changed between two saved JSON audits."""

from __future__ import annotations

from typing import Annotated

import typer

from kaudit.cli.options import parse_fail_on, read_text, use_color
from kaudit.errors import ExitCode, InputError
from kaudit.report.output import Output, canonical_format, write_output


def diff_command(
    old: Annotated[str, typer.Argument(help="The earlier JSON report.")],
    new: Annotated[str, typer.Argument(help="The later JSON report.")],
    fmt: Annotated[str, typer.Option("--format", help="table, md or json.")] = "table",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on", help="Exit 1 when a NEW finding is at or above this ('never' to disable)."
        ),
    ] = "high",
) -> None:
    """What is new, fixed and unchanged between two JSON audits."""
    from kaudit.report.diff import diff_reports, render_diff
    from kaudit.report.jsonio import report_from_json
    from kaudit.report.render import Format

    allowed = ("table", "md", "json")
    fmt = canonical_format(fmt)
    if fmt not in allowed:
        raise InputError(
            f"--format: unknown format {fmt!r} (expected one of: {', '.join(allowed)})"
        )
    threshold = parse_fail_on(fail_on)
    changes = diff_reports(
        report_from_json(read_text(old), old), report_from_json(read_text(new), new)
    )
    color = output is None and fmt == Format.TABLE and use_color()
    write_output(Output(fmt, output), render_diff(changes, Format(fmt), color=color))
    failing = threshold is not None and any(f.severity >= threshold for f in changes.new)
    raise typer.Exit(ExitCode.FINDINGS if failing else ExitCode.OK)
