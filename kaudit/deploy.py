"""`kaudit deploy`: the manifests that run kaudit inside the cluster on a schedule.

`render_manifests(DeployOptions(...))` returns the objects as plain dicts, in the
order `kubectl apply` should create them; `render_yaml` joins them into one
multi-document YAML stream. Nothing here talks to a cluster.

The set is least privilege by construction:

- a ClusterRole with get/list on exactly the kinds the live collector lists (no
  Secrets, no write verbs), and a Role in kube-system for the DaemonSets it reads
  to recognise the CNI (DaemonSets elsewhere stay unreadable);
- the ServiceAccount does not automount its token; only the CronJob's pod does;
- with the ConfigMap sink, a Role that may patch that one ConfigMap
  (`resourceNames`). `create` cannot be limited by name, so the ConfigMap is part
  of the rendered set and kaudit never needs to create it;
- kaudit's namespace enforces Pod Security "restricted", and its NetworkPolicies
  deny everything except egress to the API server and to cluster DNS.
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import typer
import yaml

from kaudit import __version__
from kaudit.errors import InputError
from kaudit.findings import Severity
from kaudit.kube import DNS_NAMESPACE, DNS_POD_LABELS, LINK_LOCAL_IPV4, NAMESPACE_NAME_LABEL

# The ports the API server is reached on after the `kubernetes` Service's DNAT:
# 443 on managed clusters, 6443 on kubeadm and kind. NetworkPolicy sees the
# endpoint's port, not the Service port.
DEFAULT_API_SERVER_PORTS = (443, 6443)
# Used when the API server address is not given: any address on the API server
# ports, except link-local (169.254.0.0/16 holds the cloud metadata endpoint).
ANY_IPV4 = "0.0.0.0/0"
ANY_IPV6 = "::/0"

RUN_AS_ID = 65532  # the non-root user of the image (see Dockerfile)
REPORTS_MOUNT = "/reports"
REPORT_BASENAME = "kaudit"
SERVICE_ACCOUNT = "kaudit"
CRONJOB = "kaudit"
CONTAINER = "kaudit"
PVC_NAME = "kaudit-reports"
CONFIGMAP_WRITER_ROLE = "kaudit-report-writer"
DEFAULT_DENY_POLICY = "default-deny-all"
EGRESS_POLICY = "kaudit-egress"

# Exit codes that retrying will not change (findings, usage, missing RBAC):
# they fail the Job at once; 3 (API unreachable) is retried within backoffLimit.
NON_RETRYABLE_EXIT_CODES = (1, 2, 4)

# What the live collector lists (kaudit/collect/live.py), as (API group,
# resources). tests/deploy checks this table against the collector.
CLUSTER_READ_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("namespaces", "pods", "services")),
    ("discovery.k8s.io", ("endpointslices",)),
    ("networking.k8s.io", ("ingressclasses", "ingresses", "networkpolicies")),
)
# Read in kube-system only, to recognise the CNI by its DaemonSets.
CNI_READ_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (("apps", ("daemonsets",)),)
READ_VERBS = ("get", "list")

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


# --- the objects ---------------------------------------------------------------------


def _labels(options: DeployOptions, component: str | None = None) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/name": "kaudit",
        "app.kubernetes.io/instance": options.namespace,
        "app.kubernetes.io/version": __version__,
        "app.kubernetes.io/managed-by": "kaudit-deploy",
    }
    if component:
        labels["app.kubernetes.io/component"] = component
    return labels


def _meta(
    options: DeployOptions, name: str, namespace: str | None, component: str | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = _labels(options, component)
    return meta


def _rules(
    table: Sequence[tuple[str, Sequence[str]]], verbs: Sequence[str]
) -> list[dict[str, Any]]:
    return [
        {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}
        for group, resources in table
    ]


def _service_account_subject(options: DeployOptions) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": options.namespace}


def namespace_object(options: DeployOptions) -> dict[str, Any]:
    meta = _meta(options, options.namespace, None)
    meta["labels"].update(
        {
            # Admission rejects any pod in this namespace that is not "restricted".
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
        }
    )
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def service_account(options: DeployOptions) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(options, SERVICE_ACCOUNT, options.namespace),
        # Pods get a token only where they ask for it (the CronJob's pod does).
        "automountServiceAccountToken": False,
    }


def cluster_reader(options: DeployOptions) -> list[dict[str, Any]]:
    name = f"{options.name_prefix}-reader"
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(options, name, None),
        "rules": _rules(CLUSTER_READ_RULES, READ_VERBS),
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": _meta(options, name, None),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [_service_account_subject(options)],
    }
    return [role, binding]


def cni_reader(options: DeployOptions) -> list[dict[str, Any]]:
    name = f"{options.name_prefix}-cni-reader"
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(options, name, "kube-system"),
        "rules": _rules(CNI_READ_RULES, READ_VERBS),
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(options, name, "kube-system"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [_service_account_subject(options)],
    }
    return [role, binding]


def configmap_sink_objects(options: DeployOptions) -> list[dict[str, Any]]:
    """The report ConfigMap (created here, so kaudit never needs `create`) and its writer Role."""
    meta = _meta(options, options.configmap_name, options.namespace, "report")
    meta["annotations"] = {
        "kaudit.io/description": "Written by the kaudit CronJob after each audit (kaudit audit --configmap)."
    }
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(options, CONFIGMAP_WRITER_ROLE, options.namespace),
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": [options.configmap_name],
                # kaudit writes the report with one merge patch; nothing else.
                "verbs": ["patch"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(options, CONFIGMAP_WRITER_ROLE, options.namespace),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": CONFIGMAP_WRITER_ROLE,
        },
        "subjects": [_service_account_subject(options)],
    }
    return [configmap, role, binding]


def reports_claim(options: DeployOptions) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": options.storage_size}},
    }
    if options.storage_class:
        spec["storageClassName"] = options.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _meta(options, PVC_NAME, options.namespace, "report"),
        "spec": spec,
    }


def network_policies(options: DeployOptions) -> list[dict[str, Any]]:
    # Both select every pod of the namespace: only kaudit runs here, and an
    # empty selector keeps applying between runs, when no pod exists.
    default_deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(options, DEFAULT_DENY_POLICY, options.namespace),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }
    if options.api_server_cidrs:
        api_peers: list[dict[str, Any]] = [
            {"ipBlock": {"cidr": cidr}} for cidr in options.api_server_cidrs
        ]
    else:
        api_peers = [
            {"ipBlock": {"cidr": ANY_IPV4, "except": [LINK_LOCAL_IPV4]}},
            {"ipBlock": {"cidr": ANY_IPV6}},
        ]
    egress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(options, EGRESS_POLICY, options.namespace),
        "spec": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": api_peers,
                    "ports": [{"protocol": "TCP", "port": p} for p in options.api_server_ports],
                },
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {NAMESPACE_NAME_LABEL: DNS_NAMESPACE}
                            },
                            "podSelector": {"matchLabels": dict(DNS_POD_LABELS)},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
            ],
        },
    }
    return [default_deny, egress]


def audit_arguments(options: DeployOptions) -> list[str]:
    """The container's arguments: `kaudit audit --in-cluster ...` for the chosen sink."""
    args = ["audit", "--in-cluster", "--quiet", "--fail-on", options.fail_on]
    formats = options.report_formats
    if options.sink is Sink.STDOUT:
        args += ["--format", formats[0]]
    elif options.sink is Sink.FILE:
        # The log keeps a table; each format goes to its file, the last run kept.
        args += ["--format", "table"]
        for fmt in formats:
            path = f"{REPORTS_MOUNT}/{REPORT_BASENAME}.{FORMAT_EXTENSIONS[fmt]}"
            args += ["--format", f"{fmt}={path}"]
        args.append("--keep-previous")
    else:
        args += [
            "--format",
            "table",
            "--configmap",
            f"{options.namespace}/{options.configmap_name}",
        ]
        for fmt in formats:
            args += ["--configmap-format", fmt]
    return [*args, *options.audit_args]


def cronjob(options: DeployOptions) -> dict[str, Any]:
    volumes: list[dict[str, Any]] = [
        # The root filesystem is read-only; the Python runtime and the kubernetes
        # client may still want a scratch directory.
        {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}
    ]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    pod_security: dict[str, Any] = {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_ID,
        "runAsGroup": RUN_AS_ID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    if options.sink is Sink.FILE:
        volumes.append({"name": "reports", "persistentVolumeClaim": {"claimName": PVC_NAME}})
        mounts.append({"name": "reports", "mountPath": REPORTS_MOUNT})
        pod_security["fsGroup"] = RUN_AS_ID  # the volume is writable by the non-root user
        pod_security["fsGroupChangePolicy"] = "OnRootMismatch"
    container = {
        "name": CONTAINER,
        "image": options.image,
        "imagePullPolicy": options.image_pull_policy,
        "args": audit_arguments(options),
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": options.memory_limit},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": mounts,
    }
    pod_spec: dict[str, Any] = {
        "serviceAccountName": SERVICE_ACCOUNT,
        "automountServiceAccountToken": True,  # the one place the token is needed
        "restartPolicy": "Never",
        "enableServiceLinks": False,
        # kaudit reaches the API server by the KUBERNETES_SERVICE_HOST address and
        # resolves no names; a low ndots keeps any lookup from fanning out.
        "dnsConfig": {"options": [{"name": "ndots", "value": "2"}]},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "securityContext": pod_security,
        "containers": [container],
        "volumes": volumes,
    }
    job_spec: dict[str, Any] = {
        "backoffLimit": 2,
        "activeDeadlineSeconds": options.deadline_seconds,
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {
                        "containerName": CONTAINER,
                        "operator": "In",
                        "values": list(NON_RETRYABLE_EXIT_CODES),
                    },
                },
                # An evicted or preempted pod is not the audit's fault.
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
            ]
        },
        "template": {
            "metadata": {"labels": _labels(options, "audit")},
            "spec": pod_spec,
        },
    }
    spec: dict[str, Any] = {"schedule": options.schedule}
    if options.time_zone:
        spec["timeZone"] = options.time_zone
    spec.update(
        {
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": _labels(options, "audit")}, "spec": job_spec},
        }
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(options, CRONJOB, options.namespace, "audit"),
        "spec": spec,
    }


def render_manifests(options: DeployOptions) -> list[dict[str, Any]]:
    """Every object of the in-cluster set, in creation order."""
    options = options.validate()
    objects = [namespace_object(options), service_account(options)]
    objects += cluster_reader(options)
    objects += cni_reader(options)
    if options.sink is Sink.CONFIGMAP:
        objects += configmap_sink_objects(options)
    if options.sink is Sink.FILE:
        objects.append(reports_claim(options))
    objects += network_policies(options)
    objects.append(cronjob(options))
    return objects


def render_yaml(options: DeployOptions) -> str:
    objects = render_manifests(options)
    header = (
        f"# kaudit {__version__}: scheduled audit in namespace {options.namespace!s}, "
        f"sink {options.sink.value}.\n"
        "# Apply with: kubectl apply --server-side -f -   (see docs/in-cluster.md)\n"
    )
    documents = [
        yaml.safe_dump(obj, sort_keys=False, default_flow_style=False, width=100) for obj in objects
    ]
    return header + "---\n" + "---\n".join(documents)


# --- the command -----------------------------------------------------------------------


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
    from kaudit.cli import Output, write_output  # loaded already: this command runs from it

    write_output(Output("yaml", output), render_yaml(options), what="manifests")
