"""`kaudit diff`: what a change opens and closes, and its new and fixed findings.

Each side is a saved JSON audit, manifest files or folders, or a cluster
(`--before-context`/`--after-context`); or the later side is the earlier one with
manifests applied on top (`--apply`, `--delete`, `--delete-file`). Two saved
audits give the findings diff alone, exactly as before.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from kaudit.cli.options import (
    ExcludeOpt,
    KubeconfigOpt,
    NamespaceOpt,
    TimeoutOpt,
    TotalTimeoutOpt,
    build_source,
    parse_fail_on,
    parse_severity,
    read_text,
    use_color,
)
from kaudit.collect.source import DEFAULT_REQUEST_TIMEOUT, DEFAULT_TIMEOUT
from kaudit.errors import ExitCode, InputError
from kaudit.report.output import Output, canonical_format, write_output
from kaudit.report.textsafe import terminal_text

SAVED_FORMATS = ("table", "md", "json", "html", "sarif")


def diff_command(
    sides: Annotated[
        list[str] | None,
        typer.Argument(
            help="BEFORE and AFTER: each a saved JSON audit or a manifest file or folder. "
            "A side given by --before-context/--after-context, or made by --apply, is left out.",
            metavar="[BEFORE] [AFTER]",
            show_default=False,
        ),
    ] = None,
    before_context: Annotated[
        str | None,
        typer.Option("--before-context", help="The earlier side is this kubeconfig context."),
    ] = None,
    after_context: Annotated[
        str | None,
        typer.Option("--after-context", help="The later side is this kubeconfig context."),
    ] = None,
    context: Annotated[
        str | None,
        typer.Option(
            "--context",
            help="With --apply/--delete: the cluster (this context) the change is applied to.",
        ),
    ] = None,
    apply: Annotated[
        list[str] | None,
        typer.Option(
            "--apply",
            help="Manifest file or folder applied on top of the earlier side, as kubectl "
            "apply would (objects replaced by kind, namespace and name). Repeatable.",
            show_default=False,
        ),
    ] = None,
    delete: Annotated[
        list[str] | None,
        typer.Option(
            "--delete",
            help="KIND/NAMESPACE/NAME (KIND/NAME for Namespace, IngressClass) deleted by the "
            "change. Repeatable.",
            show_default=False,
        ),
    ] = None,
    delete_file: Annotated[
        list[str] | None,
        typer.Option(
            "--delete-file",
            help="Manifests of the objects the change deletes. Repeatable.",
            show_default=False,
        ),
    ] = None,
    kubeconfig: KubeconfigOpt = None,
    namespace: NamespaceOpt = None,
    exclude: ExcludeOpt = None,
    port: Annotated[
        str | None,
        typer.Option("--port", help="Compare connectivity on this port or range (80, 8000-8100)."),
    ] = None,
    protocol: Annotated[
        str | None,
        typer.Option("--protocol", help="Compare connectivity on TCP, UDP or SCTP only."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="table, json, md, html or sarif (new findings).")
    ] = "table",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on", help="Exit 1 when a NEW finding is at or above this ('never' to disable)."
        ),
    ] = "high",
    fail_on_opened: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-on-opened",
            help="Exit 1 when the change opens a connection or an outside path into a "
            "namespace matching this label selector, or from outside the cluster ('outside'). "
            "Repeatable.",
            show_default=False,
        ),
    ] = None,
    min_severity: Annotated[
        str, typer.Option("--min-severity", help="Hide findings below this severity.")
    ] = "info",
    timeout: TimeoutOpt = DEFAULT_REQUEST_TIMEOUT,
    total_timeout: TotalTimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """What a change opens and closes, and its new, fixed and unchanged findings."""
    from kaudit.cli.diff_sides import (
        Side,
        applied_side,
        build_review,
        cluster_label,
        cluster_snapshot,
        is_saved_audit,
        manifests_side,
        saved_side,
        snapshot_side,
    )
    from kaudit.collect.overlay import load_changes
    from kaudit.model import Protocol
    from kaudit.netpol import PROTOCOLS
    from kaudit.report.render import Format
    from kaudit.report.review_exposure import entry_text, gated_outside_paths, opened_paths
    from kaudit.report.review_render import render_review
    from kaudit.review import parse_port_range
    from kaudit.review.gate import gated_openings, parse_gate

    fmt = canonical_format(fmt)
    if fmt not in SAVED_FORMATS:
        raise InputError(
            f"--format: unknown format {fmt!r} (expected one of: {', '.join(SAVED_FORMATS)})"
        )
    threshold = parse_fail_on(fail_on)
    shown_from = parse_severity(min_severity, "--min-severity")
    try:
        ports = parse_port_range(port) if port is not None else None
    except ValueError as exc:
        raise InputError(f"--port: {exc}") from None
    try:
        protocols = (Protocol.parse(protocol),) if protocol is not None else None
    except ValueError as exc:
        raise InputError(f"--protocol: {exc}") from None
    try:
        gates = [parse_gate(text) for text in fail_on_opened or ()]
    except ValueError as exc:
        raise InputError(f"--fail-on-opened: {exc}") from None
    source = build_source(
        None, None, kubeconfig, False, namespace, exclude, timeout, 500, total_timeout
    )
    positional = list(sides or ())
    changing = bool(apply or delete or delete_file)
    needed = 2 - (before_context is not None or changing) - (after_context is not None)
    if changing and (after_context is not None or before_context is not None):
        raise InputError(
            "--apply/--delete make the later side from the earlier one: give the cluster "
            "with --context, not --before-context/--after-context"
        )
    if changing and context is not None:
        needed -= 1
    elif context is not None:
        raise InputError(
            "--context names the cluster of --apply/--delete; use "
            "--before-context and --after-context to compare two clusters"
        )
    if len(positional) != max(needed, 0):
        raise InputError(
            f"expected {max(needed, 0)} BEFORE/AFTER argument(s), got {len(positional)}: "
            "each side is a saved audit, manifests, a --before-context/--after-context "
            "cluster, or made by --apply/--delete"
        )
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def from_path(path: str) -> Side:
        if is_saved_audit(path):
            return saved_side(path, read_text(path))
        return manifests_side(path, source, now)

    def from_cluster(name: str | None) -> Side:
        return snapshot_side(cluster_label(name), cluster_snapshot(name, source), now)

    if changing:
        changes = load_changes(apply or (), delete or (), delete_file or ())
        before = from_cluster(context) if context is not None else from_path(positional[0])
        if before.snapshot is None:
            raise InputError(
                "--apply/--delete need manifests or a cluster to apply to, not a saved audit"
            )
        after = applied_side(before, changes, source, now)
    else:
        rest = iter(positional)
        before = (
            from_cluster(before_context) if before_context is not None else from_path(next(rest))
        )
        after = from_cluster(after_context) if after_context is not None else from_path(next(rest))
    color = output is None and fmt == "table" and use_color()
    if before.snapshot is None and after.snapshot is None and fmt in ("table", "md", "json"):
        # Two saved audits: the findings diff, exactly as it always was.
        from kaudit.report.diff import diff_reports, render_diff

        changes_only = diff_reports(before.report, after.report)
        text = render_diff(changes_only, Format(fmt), color=color, min_severity=shown_from)
        write_output(Output(fmt, output), text)
        failing = threshold is not None and any(f.severity >= threshold for f in changes_only.new)
        raise typer.Exit(ExitCode.FINDINGS if failing else ExitCode.OK)
    review = build_review(before, after, ports=ports, protocols=protocols or PROTOCOLS)
    write_output(
        Output(fmt, output),
        render_review(review, Format(fmt), color=color, min_severity=shown_from),
    )
    failing = threshold is not None and any(f.severity >= threshold for f in review.findings.new)
    if gates and review.connectivity is not None:
        hits = gated_openings(review.connectivity.opened, gates, review.namespace_labels)
        for gate, change in hits[:20]:
            ports_text = ",".join(str(r) for r in change.ports)
            path = f"{change.sources[0]} -> {change.targets[0]}"
            typer.echo(
                terminal_text(
                    f"kaudit: --fail-on-opened {gate.text}: opens {change.scope.value} "
                    f"{path} ({change.protocol.value} {ports_text})"
                ),
                err=True,
            )
        failing = failing or bool(hits)
    if gates and review.exposure is not None:
        exposed = gated_outside_paths(opened_paths(review.exposure), gates, review.namespace_labels)
        for gate, entry in exposed[:20]:
            typer.echo(
                terminal_text(f"kaudit: --fail-on-opened {gate.text}: opens {entry_text(entry)}"),
                err=True,
            )
        failing = failing or bool(exposed)
    if failing:
        raise typer.Exit(ExitCode.FINDINGS)
    incomplete = any(
        side.snapshot is not None and side.snapshot.missing_resources for side in (before, after)
    )
    raise typer.Exit(ExitCode.INCOMPLETE if incomplete else ExitCode.OK)
