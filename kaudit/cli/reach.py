"""`kaudit reach`: who may talk to whom, asked of the policy engine."""

from __future__ import annotations

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
    build_source,
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
    source = build_source(
        manifests,
        context,
        kubeconfig,
        in_cluster,
        namespace,
        exclude_namespace,
        request_timeout,
        page_size,
    )
    from kaudit.cli.reach_render import reach_report
    from kaudit.collect import load_snapshot

    snapshot = load_snapshot(source)
    text = reach_report(snapshot, src=src, dst=dst, to_ip=to_ip, port=port, protocol=proto, fmt=fmt)
    write_output(Output(fmt, None), text)
