"""`kaudit audit`: collect, run the rules, write the report, choose the exit code."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from kaudit.cli.options import (
    ContextOpt,
    ExcludeOpt,
    InClusterOpt,
    KubeconfigOpt,
    ManifestsOpt,
    NamespaceOpt,
    PageSizeOpt,
    Progress,
    QuietOpt,
    TimeoutOpt,
    TotalTimeoutOpt,
    build_source,
    parse_fail_on,
    parse_severity,
    use_color,
    warn,
)
from kaudit.errors import ExitCode
from kaudit.findings import Severity
from kaudit.report.model import Report
from kaudit.report.output import parse_outputs, write_output


def audit_command(
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
    total_timeout: TotalTimeoutOpt = 300.0,
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
    from kaudit.report import sinks
    from kaudit.report.render import Format, render

    outputs = parse_outputs(fmt, output, tuple(f.value for f in Format), Format.TABLE.value)
    threshold = parse_fail_on(fail_on)
    shown = parse_severity(min_severity, "--min-severity")
    audit_config = load_config(config) if config else AuditConfig()
    if include_system:
        audit_config = dataclasses.replace(audit_config, include_system=True)
    source = build_source(
        manifests,
        context,
        kubeconfig,
        in_cluster,
        namespace,
        exclude_namespace,
        request_timeout,
        page_size,
        total_timeout,
    )
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
        warn(warning.message)
    raise typer.Exit(audit_exit_code(report, threshold, allow_incomplete))


def audit_exit_code(report: Report, threshold: Severity | None, allow_incomplete: bool) -> int:
    # System namespaces are reported apart and, unless --include-system, do not fail the run.
    if threshold is not None and any(
        not report.is_system(f) for f in report.at_or_above(threshold)
    ):
        return ExitCode.FINDINGS
    if not report.complete and not allow_incomplete:
        return ExitCode.INCOMPLETE
    return ExitCode.OK
