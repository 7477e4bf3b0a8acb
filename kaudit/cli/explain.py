"""`kaudit explain`: one rule, what it finds and how to fix it."""

from __future__ import annotations

from typing import Annotated

import typer

from kaudit.errors import InputError
from kaudit.report.output import Output, write_output


def explain_command(
    rule: Annotated[str, typer.Argument(help="Rule ID (KA201) or name (service-no-endpoints).")],
) -> None:
    """Explain one rule: what it finds, why it matters, how to fix it."""
    from kaudit.rules.docs import render_rule
    from kaudit.rules.registry import find_rule

    found = find_rule(rule)
    if found is None:
        raise InputError(f"unknown rule {rule!r} (see 'kaudit rules')")
    write_output(Output("text", None), render_rule(found))
