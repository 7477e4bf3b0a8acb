"""The command line (typer): `app` parses, `main` is the console entry point."""

from kaudit.cli.app import app, main
from kaudit.cli.audit import audit_exit_code

__all__ = ["app", "audit_exit_code", "main"]
