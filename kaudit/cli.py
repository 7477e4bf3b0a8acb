"""The command line: parse, wire, exit code. The work happens in the library."""

from __future__ import annotations

import dataclasses
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from kaudit import __version__
from kaudit.collect import Source
from kaudit.deploy import deploy_command
from kaudit.errors import ExitCode, InputError, KauditError
from kaudit.findings import Severity
from kaudit.model import Protocol
from kaudit.report.model import Report

app = typer.Typer(
    name="kaudit",
    help="Audit the network exposure of a Kubernetes cluster or of manifest files.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

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
    typer.Option("--namespace", "-n", help="Only this namespace. Repeatable.", show_default=False),
]
ExcludeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude-namespace", help="Skip this namespace. Repeatable.", show_default=False
    ),
]
TimeoutOpt = Annotated[
    float, typer.Option("--request-timeout", min=1.0, help="Seconds to wait for each API request.")
]
PageSizeOpt = Annotated[
    int, typer.Option("--page-size", min=1, max=10000, help="Objects per API list page.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages on stderr.")]


def _source(
    manifests: list[str] | None,
    context: str | None,
    kubeconfig: str | None,
    in_cluster: bool,
    namespace: list[str] | None,
    exclude: list[str] | None,
    timeout: float,
    page_size: int,
) -> Source:
    return Source(
        manifests=tuple(manifests or ()),
        context=context,
        kubeconfig=kubeconfig,
        in_cluster=in_cluster,
        namespaces=tuple(namespace or ()),
        exclude_namespaces=tuple(exclude or ()),
        request_timeout=timeout,
        page_size=page_size,
    )


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


# --- output formats ------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    format: str
    path: str | None  # None: stdout


def parse_outputs(
    specs: list[str] | None, output: str | None, allowed: tuple[str, ...], default: str
) -> list[Output]:
    """`--format FMT` or `--format FMT=PATH`, repeatable; `--output` names the path of a lone format."""
    outputs = []
    for spec in specs or [default]:
        name, _, path = spec.partition("=")
        name = name.strip().lower()
        if name not in allowed:
            raise InputError(
                f"--format: unknown format {name!r} (expected one of: {', '.join(allowed)})"
            )
        outputs.append(Output(name, path or None))
    pathless = [o for o in outputs if o.path is None]
    if output is not None:
        if len(pathless) != 1:
            raise InputError(
                "--output: give exactly one --format without '=PATH' to write to --output"
            )
        outputs = [Output(o.format, output) if o.path is None else o for o in outputs]
    elif len(pathless) > 1:
        raise InputError("--format: only one format can go to stdout; give the others '=PATH'")
    return outputs


def write_output(out: Output, text: str, what: str = "report") -> None:
    """Write to stdout (no path, or '-') or to a file, creating its folder."""
    if out.path is None or out.path == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    path = Path(out.path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{out.path}: cannot write {what}: {exc.strerror or exc}") from None


def use_color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def parse_severity(value: str, flag: str) -> Severity:
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise InputError(f"{flag}: {exc}") from None


def parse_fail_on(value: str) -> Severity | None:
    return None if value.strip().lower() in (NEVER, "none") else parse_severity(value, "--fail-on")


# --- commands -------------------------------------------------------------------------------


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


@app.command()
def audit(
    manifests: ManifestsOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    in_cluster: InClusterOpt = False,
    namespace: NamespaceOpt = None,
    exclude_namespace: ExcludeOpt = None,
    fmt: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            help="table, json, md, html or sarif; FMT=PATH writes that format to PATH. Repeatable.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write the report here instead of stdout.")
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a finding is at or above this severity ('never' to disable).",
        ),
    ] = "high",
    min_severity: Annotated[
        str, typer.Option("--min-severity", help="Only show findings at or above this.")
    ] = "info",
    config: Annotated[
        str | None,
        typer.Option("--config", help="YAML file with suppressions and severity overrides."),
    ] = None,
    include_system: Annotated[
        bool,
        typer.Option(
            "--include-system", help="Report system namespaces (kube-system, CNI) like the rest."
        ),
    ] = False,
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            "--allow-incomplete", help="Exit 0, not 4, when some kinds could not be read."
        ),
    ] = False,
    request_timeout: TimeoutOpt = 30.0,
    page_size: PageSizeOpt = 500,
    quiet: QuietOpt = False,
    keep_previous: Annotated[
        bool,
        typer.Option(
            "--keep-previous",
            help="Rename an existing report file to NAME.previous.EXT first (for 'kaudit diff').",
        ),
    ] = False,
    configmap: Annotated[
        str | None,
        typer.Option(
            "--configmap",
            help="Also store the report in this ConfigMap ([NAMESPACE/]NAME, which must exist).",
        ),
    ] = None,
    configmap_format: Annotated[
        list[str] | None,
        typer.Option(
            "--configmap-format",
            help="Format(s) stored by --configmap (default json). Repeatable.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Audit a cluster (kubeconfig context or in-cluster) or manifest files."""
    from kaudit.audit import audit as run_audit
    from kaudit.collect import load_snapshot
    from kaudit.config import AuditConfig
    from kaudit.config_file import load_config
    from kaudit.report.render import Format, render

    outputs = parse_outputs(fmt, output, tuple(f.value for f in Format), Format.TABLE.value)
    threshold = parse_fail_on(fail_on)
    shown = parse_severity(min_severity, "--min-severity")
    audit_config = load_config(config) if config else AuditConfig()
    if include_system:
        audit_config = dataclasses.replace(audit_config, include_system=True)
    source = _source(
        manifests,
        context,
        kubeconfig,
        in_cluster,
        namespace,
        exclude_namespace,
        request_timeout,
        page_size,
    )
    from kaudit import sinks

    cm_target = sinks.parse_configmap_target(configmap, source) if configmap else None
    cm_formats = sinks.parse_configmap_formats(configmap_format)
    progress = Progress(quiet)
    with progress.step("collecting" if source.is_live else "reading manifests"):
        snapshot = load_snapshot(source)
    with progress.step(f"analysing {len(snapshot.pods)} pods"):
        report = run_audit(snapshot, audit_config)
    for out in outputs:
        color = out.path is None and out.format == Format.TABLE and use_color()
        if keep_previous and out.path not in (None, "-"):
            sinks.keep_previous(str(out.path))
        write_output(out, render(report, Format(out.format), color=color, min_severity=shown))
    if cm_target is not None:
        sinks.write_configmap(source, cm_target, report, cm_formats, shown)
    for warning in report.warnings:
        typer.echo(f"kaudit: warning: {warning.message}", err=True)
    raise typer.Exit(audit_exit_code(report, threshold, allow_incomplete))


app.command("deploy")(deploy_command)


def audit_exit_code(report: Report, threshold: Severity | None, allow_incomplete: bool) -> int:
    # System namespaces are reported apart and, unless --include-system, do not fail the run.
    if threshold is not None and any(
        not report.is_system(f) for f in report.at_or_above(threshold)
    ):
        return ExitCode.FINDINGS
    if not report.complete and not allow_incomplete:
        return ExitCode.INCOMPLETE
    return ExitCode.OK


@app.command()
def reach(
    manifests: ManifestsOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    in_cluster: InClusterOpt = False,
    namespace: NamespaceOpt = None,
    exclude_namespace: ExcludeOpt = None,
    src: Annotated[str | None, typer.Option("--from", help="Source pod as NAMESPACE/NAME.")] = None,
    dst: Annotated[
        str | None, typer.Option("--to", help="Destination pod as NAMESPACE/NAME.")
    ] = None,
    to_ip: Annotated[
        str | None, typer.Option("--to-ip", help="Destination address or CIDR outside the cluster.")
    ] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Destination port.")] = 80,
    protocol: Annotated[str, typer.Option("--protocol", help="TCP, UDP or SCTP.")] = "TCP",
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    request_timeout: TimeoutOpt = 30.0,
    page_size: PageSizeOpt = 500,
) -> None:
    """Who may talk to whom: one pod pair, a pod and an address, or the whole matrix for a port."""
    if fmt not in ("text", "json"):
        raise InputError(f"--format: unknown format {fmt!r} (expected text or json)")
    try:
        proto = Protocol.parse(protocol)
    except ValueError:
        raise InputError(
            f"--protocol: unknown protocol {protocol!r} (expected TCP, UDP or SCTP)"
        ) from None
    if dst and to_ip:
        raise InputError("--to and --to-ip cannot be combined")
    if (dst or to_ip) and not src:
        raise InputError("--to and --to-ip need --from")
    source = _source(
        manifests,
        context,
        kubeconfig,
        in_cluster,
        namespace,
        exclude_namespace,
        request_timeout,
        page_size,
    )
    from kaudit.collect import load_snapshot
    from kaudit.netpol.reach import reach_report

    snapshot = load_snapshot(source)
    text = reach_report(snapshot, src=src, dst=dst, to_ip=to_ip, port=port, protocol=proto, fmt=fmt)
    write_output(Output(fmt, None), text)


@app.command()
def rules(
    fmt: Annotated[str, typer.Option("--format", help="table, json or md.")] = "table",
) -> None:
    """List the rule catalogue."""
    from kaudit.rules.docs import render_catalogue

    if fmt not in ("table", "json", "md"):
        raise InputError(f"--format: unknown format {fmt!r} (expected table, json or md)")
    write_output(Output(fmt, None), render_catalogue(fmt))


@app.command()
def explain(
    rule: Annotated[str, typer.Argument(help="Rule ID (KA201) or name (service-no-endpoints).")],
) -> None:
    """Explain one rule: what it finds, why it matters, how to fix it."""
    from kaudit.rules.docs import render_rule
    from kaudit.rules.registry import find_rule

    found = find_rule(rule)
    if found is None:
        raise InputError(f"unknown rule {rule!r} (see 'kaudit rules')")
    write_output(Output("text", None), render_rule(found))


@app.command()
def report(
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
    saved = report_from_json(_read_text(file), file)
    for out in outputs:
        color = out.path is None and out.format == Format.TABLE and use_color()
        write_output(out, render(saved, Format(out.format), color=color, min_severity=shown))


@app.command()
def diff(
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
    if fmt not in allowed:
        raise InputError(
            f"--format: unknown format {fmt!r} (expected one of: {', '.join(allowed)})"
        )
    threshold = parse_fail_on(fail_on)
    changes = diff_reports(
        report_from_json(_read_text(old), old), report_from_json(_read_text(new), new)
    )
    color = output is None and fmt == Format.TABLE and use_color()
    write_output(Output(fmt, output), render_diff(changes, Format(fmt), color=color))
    failing = threshold is not None and any(f.severity >= threshold for f in changes.new)
    raise typer.Exit(ExitCode.FINDINGS if failing else ExitCode.OK)


def _read_text(path: str) -> str:
    try:
        return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None


def main() -> None:
    # --debug is taken wherever it stands, before or after the command's name.
    args = [arg for arg in sys.argv[1:] if arg != "--debug"]
    debug = len(args) < len(sys.argv) - 1 or os.environ.get("KAUDIT_DEBUG", "") not in ("", "0")
    try:
        app(args=args)
    except KauditError as exc:
        typer.echo(f"kaudit: error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        typer.echo("kaudit: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        # A bug, not a finding: its own exit code, one line, the traceback on request.
        if debug:
            traceback.print_exc()
        summary = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        typer.echo(
            f"kaudit: internal error (a bug in kaudit; please report it on kaudit's issue "
            f"tracker with the output of --debug): {summary}",
            err=True,
        )
        sys.exit(int(ExitCode.CRASH))
