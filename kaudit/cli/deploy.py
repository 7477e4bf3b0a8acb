"""`kaudit deploy`: print the manifests that run kaudit in the cluster on a schedule."""

from __future__ import annotations

from typing import Annotated

import typer

from kaudit import __version__
from kaudit.deploy import DEFAULT_API_SERVER_PORTS, DeployOptions, Sink, render_yaml
from kaudit.report.output import Output, write_output


def deploy_command(
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="kaudit's own namespace (created).")
    ] = "kaudit",
    schedule: Annotated[
        str, typer.Option("--schedule", help="Cron schedule of the audit.")
    ] = "17 3 * * *",
    time_zone: Annotated[
        str | None,
        typer.Option(
            "--time-zone", help="IANA time zone of the schedule (default: the controller's)."
        ),
    ] = None,
    image: Annotated[str, typer.Option("--image", help="kaudit container image.")] = (
        f"kaudit:{__version__}"
    ),
    image_pull_policy: Annotated[
        str, typer.Option("--image-pull-policy", help="Always, IfNotPresent or Never.")
    ] = "IfNotPresent",
    sink: Annotated[
        Sink,
        typer.Option(
            "--sink",
            help="stdout: the Job's log; file: a volume at /reports, previous run kept; "
            "configmap: a ConfigMap in kaudit's namespace.",
        ),
    ] = Sink.STDOUT,
    fmt: Annotated[
        list[str] | None,
        typer.Option(
            "--format",
            help="Report format(s) for the sink (default: table for stdout, json otherwise). Repeatable.",
            show_default=False,
        ),
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on", help="The Job fails when a finding is at or above this ('never': never)."
        ),
    ] = "high",
    api_server: Annotated[
        list[str] | None,
        typer.Option(
            "--api-server",
            help="API server address or CIDR for kaudit's egress policy (default: any "
            "non-link-local address on the API server ports). Repeatable.",
            show_default=False,
        ),
    ] = None,
    api_server_port: Annotated[
        list[int] | None,
        typer.Option(
            "--api-server-port",
            help="API server port as the pod sees it after the Service (default: 443 and 6443). Repeatable.",
            show_default=False,
        ),
    ] = None,
    deadline: Annotated[
        int, typer.Option("--deadline", help="Seconds a run may take before it is stopped.")
    ] = 600,
    memory_limit: Annotated[
        str, typer.Option("--memory-limit", help="Memory limit of the audit container.")
    ] = "512Mi",
    configmap_name: Annotated[
        str, typer.Option("--configmap-name", help="ConfigMap written by the configmap sink.")
    ] = "kaudit-report",
    storage_size: Annotated[
        str, typer.Option("--storage-size", help="Size of the file sink's volume claim.")
    ] = "64Mi",
    storage_class: Annotated[
        str | None, typer.Option("--storage-class", help="StorageClass of the file sink's claim.")
    ] = None,
    audit_arg: Annotated[
        list[str] | None,
        typer.Option(
            "--audit-arg",
            help="Extra argument for 'kaudit audit' in the CronJob (e.g. --exclude-namespace=dev). Repeatable.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write the manifests here instead of stdout."),
    ] = None,
) -> None:
    """Print the manifests that run kaudit in the cluster on a schedule (for kubectl apply -f -)."""
    options = DeployOptions(
        namespace=namespace,
        schedule=schedule,
        time_zone=time_zone,
        image=image,
        image_pull_policy=image_pull_policy,
        sink=sink,
        formats=tuple(f.strip().lower() for f in fmt or ()),
        fail_on=fail_on,
        api_server_cidrs=tuple(api_server or ()),
        api_server_ports=tuple(api_server_port or DEFAULT_API_SERVER_PORTS),
        deadline_seconds=deadline,
        memory_limit=memory_limit,
        configmap_name=configmap_name,
        storage_size=storage_size,
        storage_class=storage_class,
        audit_args=tuple(audit_arg or ()),
    )
    write_output(Output("yaml", output), render_yaml(options), what="manifests")
