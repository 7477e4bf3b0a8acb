"""`kaudit reach`: who may talk to whom, asked of the policy engine."""

from __future__ import annotations

import sys
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
    TimeoutOpt,
    TotalTimeoutOpt,
    build_source,
    warn,
)
from kaudit.errors import InputError
from kaudit.model import Protocol
from kaudit.report.output import Output, write_output


def reach_command(
    manifests: ManifestsOpt = None,
    context: ContextOpt = None,
    kubeconfig: KubeconfigOpt = None,
    in_cluster: InClusterOpt = False,
    namespace: NamespaceOpt = None,
    exclude_namespace: ExcludeOpt = None,
    src: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Source pod or workload: NAMESPACE/NAME or NAMESPACE/KIND/NAME "
            "(shop/web-0, shop/StatefulSet/web).",
        ),
    ] = None,
    dst: Annotated[
        str | None,
        typer.Option(
            "--to", help="Destination pod or workload: NAMESPACE/NAME or NAMESPACE/KIND/NAME."
        ),
    ] = None,
    to_ip: Annotated[
        str | None, typer.Option("--to-ip", help="Destination address or CIDR outside the cluster.")
    ] = None,
    from_ip: Annotated[
        str | None,
        typer.Option("--from-ip", help="Source address outside the cluster (with --to)."),
    ] = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Destination port.")] = 80,
    protocol: Annotated[str, typer.Option("--protocol", help="TCP, UDP or SCTP.")] = "TCP",
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    group: Annotated[
        str | None,
        typer.Option(
            "--group",
            help="The whole matrix for the port grouped by class, workload or namespace "
            "(streamed; scales to large clusters).",
        ),
    ] = None,
    dense: Annotated[
        bool,
        typer.Option(
            "--dense", help="Build the pod-by-pod matrix even above 2,000 pods (memory grows fast)."
        ),
    ] = False,
    request_timeout: TimeoutOpt = 30.0,
    total_timeout: TotalTimeoutOpt = 300.0,
    page_size: PageSizeOpt = 500,
) -> None:
    """Who may talk to whom: pods or workloads, a pod and an outside address (either way), or
    the whole matrix for a port (pod by pod up to 2,000 pods, or grouped with --group)."""
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
    if from_ip and (src or to_ip or not dst):
        raise InputError("--from-ip needs --to, without --from or --to-ip")
    if (dst or to_ip) and not (src or from_ip):
        raise InputError("--to and --to-ip need --from")
    if group is not None and (src or dst or to_ip or from_ip or dense):
        raise InputError("--group answers for the whole matrix: without --from, --to or --dense")
    if group is not None and group not in ("class", "workload", "namespace"):
        raise InputError(
            f"--group: unknown grouping {group!r} (expected class, workload, namespace)"
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
    from kaudit.cli.reach_render import reach_report
    from kaudit.collect import load_snapshot
    from kaudit.report.kinds import unevaluated_policy_caveat

    snapshot = load_snapshot(source)
    # What the source could not read, or read leniently, and policy kinds of other
    # engines the answer leaves out: said on stderr, so that JSON on stdout stays as it is.
    caveat = unevaluated_policy_caveat(snapshot.facts.ignored_kinds)
    for message in (*(w.message for w in snapshot.warnings), caveat):
        if message is not None:
            warn(message)
    if group is not None:
        from kaudit.cli.reach_groups import grouped_reach
        from kaudit.netpol.engine import PolicyEngine

        pieces = grouped_reach(
            PolicyEngine(snapshot), port=port, protocol=proto, group=group, fmt=fmt
        )
        for piece in pieces:
            sys.stdout.write(piece)
        return
    text = reach_report(
        snapshot,
        src=src,
        dst=dst,
        to_ip=to_ip,
        from_ip=from_ip,
        port=port,
        protocol=proto,
        fmt=fmt,
        dense=dense,
    )
    write_output(Output(fmt, None), text)
