"""`kaudit exposure`: what the outside world can reach, per workload."""

from __future__ import annotations

import datetime as dt
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
    warn,
)
from kaudit.errors import ExitCode
from kaudit.report.output import parse_outputs, write_output


def exposure_command(
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
            help="table, json, md or html; FMT=PATH writes that format to PATH. Repeatable.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
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
) -> None:
    """List every way in from outside the cluster, per workload, with TLS and policy admission."""
    from kaudit.collect import load_snapshot
    from kaudit.exposure import exposure_inventory
    from kaudit.report.exposure_render import ExposureFormat, render_exposure

    outputs = parse_outputs(
        fmt, output, tuple(f.value for f in ExposureFormat), ExposureFormat.TABLE.value
    )
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
    progress = Progress(quiet)
    with progress.step("collecting" if source.is_live else "reading manifests"):
        snapshot = load_snapshot(source)
    with progress.step(f"tracing outside paths to {len(snapshot.pods)} pods"):
        inventory = exposure_inventory(snapshot)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for out in outputs:
        text = render_exposure(inventory, snapshot.facts, now, ExposureFormat(out.format))
        write_output(out, text, "exposure inventory")
    for warning in snapshot.warnings:
        warn(warning.message)
    incomplete = any(w.kind is not None for w in snapshot.warnings)
    raise typer.Exit(ExitCode.INCOMPLETE if incomplete and not allow_incomplete else ExitCode.OK)
