"""What `kaudit deploy` may be asked for: the options of the in-cluster set, validated.

Every value is checked before anything is rendered; an `InputError` names the flag.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from kaudit import __version__
from kaudit.errors import InputError
from kaudit.findings import Severity

# The ports the API server is reached on after the `kubernetes` Service's DNAT:
# 443 on managed clusters, 6443 on kubeadm and kind. NetworkPolicy sees the
# endpoint's port, not the Service port.
DEFAULT_API_SERVER_PORTS = (443, 6443)

# File extension of each report format, for file names and ConfigMap keys.
FORMAT_EXTENSIONS: Mapping[str, str] = {
    "table": "txt",
    "json": "json",
    "md": "md",
    "html": "html",
    "sarif": "sarif",
}

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_CRON_MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)


class Sink(enum.StrEnum):
    """Where the CronJob's report goes."""

    STDOUT = "stdout"  # the Job's log
    FILE = "file"  # a PersistentVolumeClaim mounted at /reports, previous run kept
    CONFIGMAP = "configmap"  # a ConfigMap in kaudit's own namespace


@dataclass(frozen=True, slots=True)
class DeployOptions:
    namespace: str = "kaudit"
    schedule: str = "17 3 * * *"
    time_zone: str | None = None
    image: str = f"kaudit:{__version__}"
    image_pull_policy: str = "IfNotPresent"
    sink: Sink = Sink.STDOUT
    # Report formats written to the sink; empty: table for stdout, json otherwise.
    formats: tuple[str, ...] = ()
    fail_on: str = "high"
    # The API server's addresses (IPs or CIDRs) for the egress policy; empty:
    # any address on `api_server_ports` except link-local.
    api_server_cidrs: tuple[str, ...] = ()
    api_server_ports: tuple[int, ...] = DEFAULT_API_SERVER_PORTS
    deadline_seconds: int = 600
    memory_limit: str = "512Mi"
    configmap_name: str = "kaudit-report"
    storage_size: str = "64Mi"
    storage_class: str | None = None
    audit_args: tuple[str, ...] = ()

    @property
    def name_prefix(self) -> str:
        """Prefix of the cluster-scoped and kube-system objects, unique per install."""
        return "kaudit" if self.namespace == "kaudit" else f"kaudit-{self.namespace}"

    @property
    def report_formats(self) -> tuple[str, ...]:
        if self.formats:
            return self.formats
        return ("table",) if self.sink is Sink.STDOUT else ("json",)

    def validate(self) -> DeployOptions:
        """Check every value; InputError names the flag. Returns the options normalised."""
        if not _DNS_LABEL.match(self.namespace) or len(self.namespace) > 63:
            raise InputError(f"--namespace: {self.namespace!r} is not a valid namespace name")
        if len(self.name_prefix) + len("-cni-reader") > 253:
            raise InputError("--namespace: too long for the derived object names")
        _check_schedule(self.schedule)
        if not self.image.strip() or any(c.isspace() for c in self.image):
            raise InputError(f"--image: {self.image!r} is not an image reference")
        if self.image_pull_policy not in ("Always", "IfNotPresent", "Never"):
            raise InputError("--image-pull-policy: expected Always, IfNotPresent or Never")
        if self.fail_on.strip().lower() not in ("never", "none"):
            try:
                Severity.parse(self.fail_on)
            except ValueError as error:
                raise InputError(f"--fail-on: {error}") from None
        for fmt in self.report_formats:
            if fmt not in FORMAT_EXTENSIONS:
                raise InputError(
                    f"--format: unknown format {fmt!r} (expected one of: {', '.join(FORMAT_EXTENSIONS)})"
                )
        if len(set(self.report_formats)) != len(self.report_formats):
            raise InputError("--format: each format once")
        if self.sink is Sink.STDOUT and len(self.report_formats) > 1:
            raise InputError("--format: the stdout sink takes one format (the Job's log)")
        cidrs = tuple(_normalise_cidr(value) for value in self.api_server_cidrs)
        if not self.api_server_ports or any(not 0 < p < 65536 for p in self.api_server_ports):
            raise InputError("--api-server-port: ports are 1-65535")
        if self.deadline_seconds < 60:
            raise InputError("--deadline: at least 60 seconds")
        for flag, quantity in (
            ("--memory-limit", self.memory_limit),
            ("--storage-size", self.storage_size),
        ):
            if not _QUANTITY.match(quantity):
                raise InputError(f"{flag}: {quantity!r} is not a quantity such as 512Mi")
        if not _DNS_SUBDOMAIN.match(self.configmap_name) or len(self.configmap_name) > 253:
            raise InputError(f"--configmap-name: {self.configmap_name!r} is not a valid name")
        if self.storage_class is not None and not _DNS_SUBDOMAIN.match(self.storage_class):
            raise InputError(f"--storage-class: {self.storage_class!r} is not a valid name")
        for arg in self.audit_args:
            if arg.split("=", 1)[0] in _RESERVED_AUDIT_FLAGS:
                raise InputError(f"--audit-arg: {arg} is set by kaudit deploy itself")
        return dataclasses.replace(self, api_server_cidrs=cidrs)


# Flags the CronJob's command line sets from the deploy options, or that make no
# sense in the cluster; --audit-arg may not repeat them.
_RESERVED_AUDIT_FLAGS = frozenset(
    {
        "--in-cluster",
        "--context",
        "--kubeconfig",
        "--manifests",
        "-f",
        "--fail-on",
        "--format",
        "--output",
        "-o",
        "--configmap",
        "--configmap-format",
        "--keep-previous",
    }
)


def _check_schedule(schedule: str) -> None:
    text = schedule.strip()
    if text in _CRON_MACROS or text.startswith("@every "):
        return
    if "TZ=" in text:  # the API server rejects it too
        raise InputError("--schedule: use --time-zone instead of TZ= in the schedule")
    if len(text.split()) != 5:
        raise InputError(
            f"--schedule: {schedule!r} is not a cron schedule "
            "(five fields: minute hour day-of-month month day-of-week, or @daily and the like)"
        )


def _normalise_cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise InputError(f"--api-server: {value!r} is not an IP address or CIDR") from None
