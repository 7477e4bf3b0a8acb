"""What the commands share: the options that choose a cluster or manifests, and their parsing."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from kaudit.collect import Source
from kaudit.collect.source import DEFAULT_TIMEOUT
from kaudit.errors import InputError
from kaudit.findings import Severity
from kaudit.report.textsafe import terminal_text

NEVER = "never"

# --- options shared by the commands that read a cluster or manifests ---------------------

ManifestsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--manifests",
        "-f",
        help="Manifest file or folder to audit instead of a cluster ('-' reads stdin). Repeatable.",
        show_default=False,
    ),
]
ContextOpt = Annotated[
    str | None,
    typer.Option("--context", help="kubeconfig context to audit (default: the current one)."),
]
KubeconfigOpt = Annotated[
    str | None,
    typer.Option("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)."),
]
InClusterOpt = Annotated[
    bool,
    typer.Option(
        "--in-cluster", help="Use the pod's service account (when running inside the cluster)."
    ),
]
NamespaceOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--namespace",
        "-n",
        help="Only this namespace. Repeatable. With manifests, as 'kubectl apply -n': "
        "objects without a namespace go into it (one -n only).",
        show_default=False,
    ),
]
ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude-namespace", help="Skip this namespace. Repeatable.", show_default=False
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--request-timeout",
        min=1.0,
        help="Seconds for each API request, from connecting to the last byte of the answer.",
    ),
]
TotalTimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        min=1.0,
        help="Seconds for reading the whole cluster, retries included; exit 3 when they pass.",
    ),
]
PageSizeOpt = Annotated[
    int, typer.Option("--page-size", min=1, max=10000, help="Objects per API list page.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages on stderr.")]


def build_source(
    manifests: list[str] | None,
    context: str | None,
    kubeconfig: str | None,
    in_cluster: bool,
    namespace: list[str] | None,
    exclude: list[str] | None,
    timeout: float,
    page_size: int,
    total_timeout: float = DEFAULT_TIMEOUT,
) -> Source:
    """The `Source` the source options describe."""
    return Source(
        manifests=tuple(manifests or ()),
        context=context,
        kubeconfig=kubeconfig,
        in_cluster=in_cluster,
        namespaces=tuple(namespace or ()),
        exclude_namespaces=tuple(exclude or ()),
        request_timeout=timeout,
        page_size=page_size,
        timeout=total_timeout,
    )


# --- values shared by several commands ---------------------------------------------------


def use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def parse_severity(value: str, flag: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise InputError(f"{flag}: {exc}") from None


def parse_fail_on(value: str) -> Severity | None:
    return None if value.strip().lower() in (NEVER, "none") else parse_severity(value, "--fail-on")


def read_text(path: str) -> str:
    """A saved report's text, from a file or stdin ('-')."""
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def warn(message: str) -> None:
    """One warning line on stderr, the object strings in it shown as text."""
    typer.echo(f"kaudit: warning: {terminal_text(message)}", err=True)


class Progress:
    """One updating status line on stderr, only when stderr is a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        if self.enabled:
            sys.stderr.write(f"\r\033[Kkaudit: {text}…")
            sys.stderr.flush()
        try:
            yield
        finally:
            if self.enabled:
                sys.stderr.write("\r\033[K")
                sys.stderr.flush()
