"""The command line: parse, wire, exit code. The work happens in the library."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Annotated

import typer

from kaudit import __version__
from kaudit.cli.audit import audit_command
from kaudit.cli.deploy import deploy_command
from kaudit.cli.diff import diff_command
from kaudit.cli.explain import explain_command
from kaudit.cli.exposure import exposure_command
from kaudit.cli.reach import reach_command
from kaudit.cli.report import report_command
from kaudit.cli.rules import rules_command
from kaudit.errors import ExitCode, KauditError
from kaudit.report.textsafe import terminal_text

app = typer.Typer(
    name="kaudit",
    help="Audit the network exposure of a Kubernetes cluster or of manifest files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kaudit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="On an internal error, print the traceback (also KAUDIT_DEBUG=1; "
            "accepted after the command's name too).",
        ),
    ] = False,
) -> None:
    """Audit the network exposure of a Kubernetes cluster or of manifest files."""


# The order of registration is the order of `kaudit --help`. Each command imports
# the library modules it needs when it runs, so `kaudit --help` stays quick.
app.command("audit")(audit_command)
app.command("deploy")(deploy_command)
app.command("reach")(reach_command)
app.command("exposure")(exposure_command)
app.command("rules")(rules_command)
app.command("explain")(explain_command)
app.command("report")(report_command)
app.command("diff")(diff_command)


def main() -> None:
    # --debug is taken wherever it stands, before or after the command's name.
    args = [arg for arg in sys.argv[1:] if arg != "--debug"]
    debug = len(args) < len(sys.argv) - 1 or os.environ.get("KAUDIT_DEBUG", "") not in ("", "0")
    if not args:
        args = ["--help"]
    try:
        code = app(args=args, prog_name="kaudit", standalone_mode=False)
    except typer.TyperException as exc:
        # Bad flags: one line, like every other input error (typer would draw a box).
        ctx = getattr(exc, "ctx", None)
        where = f"; see '{ctx.command_path} -h'" if ctx is not None else ""
        message = terminal_text(" ".join(exc.format_message().split()).rstrip("."))
        typer.echo(f"kaudit: error: {message}{where}", err=True)
        sys.exit(int(ExitCode.USAGE))
    except (KeyboardInterrupt, typer.Abort):
        typer.echo("kaudit: interrupted", err=True)
        sys.exit(130)
    except KauditError as exc:
        # Messages quote file and object names: shown as text, never as terminal controls.
        typer.echo(f"kaudit: error: {terminal_text(' '.join(str(exc).splitlines()))}", err=True)
        sys.exit(int(exc.exit_code))
    except Exception as exc:
        # A bug, not a finding: its own exit code, one line, the traceback on request.
        if debug:
            traceback.print_exc()
        summary = terminal_text(" ".join(f"{type(exc).__name__}: {exc}".split()), limit=300)
        typer.echo(
            f"kaudit: internal error (a bug in kaudit; please report it on kaudit's issue "
            f"tracker with the output of --debug): {summary}",
            err=True,
        )
        sys.exit(int(ExitCode.CRASH))
    # Without standalone mode, typer.Exit(code) comes back as the return value.
    sys.exit(code if isinstance(code, int) else 0)
