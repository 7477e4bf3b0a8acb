"""The objects that run kaudit inside the cluster on a schedule (`kaudit deploy`).

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

from collections.abc import Sequence

import yaml

from kaudit import __version__
from kaudit.deploy.options import FORMAT_EXTENSIONS, DeployOptions, Sink
from kaudit.jsontypes import JsonArray, JsonObject, json_array, json_object
from kaudit.kube import DNS_NAMESPACE, DNS_POD_LABELS, LINK_LOCAL_IPV4, NAMESPACE_NAME_LABEL
from kaudit.model.cni import calico

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

# The RBAC permissions (the `rules` of a ClusterRole or Role), as (API group,
# resources) read with READ_VERBS. Cluster-wide: what the live collector lists
# (kaudit/collect/live/), which tests/deploy checks against the collector.
CLUSTER_READ_PERMISSIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("namespaces", "pods", "services")),
    ("discovery.k8s.io", ("endpointslices",)),
    ("networking.k8s.io", ("ingressclasses", "ingresses", "networkpolicies")),
    # Gateway API (read when the cluster serves it)
    (
        "gateway.networking.k8s.io",
        (
            "gatewayclasses",
            "gateways",
            "grpcroutes",
            "httproutes",
            "listenersets",
            "referencegrants",
            "tcproutes",
            "tlsroutes",
            "udproutes",
        ),
    ),
    ("gateway.networking.x-k8s.io", ("xlistenersets",)),
    # CNI policy kinds (Cilium, Calico: its API server's group and its CRDs' group), and
    # the ServiceAccounts (names and labels) Calico's policies select by.
    ("cilium.io", ("ciliumclusterwidenetworkpolicies", "ciliumnetworkpolicies")),
    *(
        (
            group,
            (
                "globalnetworkpolicies",
                "globalnetworksets",
                "networkpolicies",
                "networksets",
                "stagedglobalnetworkpolicies",
                "stagednetworkpolicies",
                "tiers",
            ),
        )
        for group in calico.GROUPS
    ),
    ("", ("serviceaccounts",)),
    # Nodes (labels and addresses, for admin policies' nodes peers) and the network-policy-api.
    ("", ("nodes",)),
    (
        "policy.networking.k8s.io",
        ("adminnetworkpolicies", "baselineadminnetworkpolicies", "clusternetworkpolicies"),
    ),
)
# Read in kube-system only, to recognise the CNI by its DaemonSets.
CNI_READ_PERMISSIONS: tuple[tuple[str, tuple[str, ...]], ...] = (("apps", ("daemonsets",)),)
READ_VERBS = ("get", "list")


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
) -> JsonObject:
    meta: JsonObject = {"name": name}
    if namespace is not None:
        meta["namespace"] = namespace
    meta["labels"] = json_object(_labels(options, component))
    return meta


def _permissions(table: Sequence[tuple[str, Sequence[str]]], verbs: Sequence[str]) -> JsonArray:
    """RBAC policy rules granting `verbs` on each (API group, resources) of `table`."""
    return [
        {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}
        for group, resources in table
    ]


def _service_account_subject(options: DeployOptions) -> JsonObject:
    return {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": options.namespace}


def namespace_object(options: DeployOptions) -> JsonObject:
    meta = _meta(options, options.namespace, None)
    meta["labels"] = {
        **_labels(options),
        # Admission rejects any pod in this namespace that is not "restricted".
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def service_account(options: DeployOptions) -> JsonObject:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(options, SERVICE_ACCOUNT, options.namespace),
        # Pods get a token only where they ask for it (the CronJob's pod does).
        "automountServiceAccountToken": False,
    }


def cluster_reader(options: DeployOptions) -> list[JsonObject]:
    name = f"{options.name_prefix}-reader"
    role: JsonObject = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": _meta(options, name, None),
        "rules": _permissions(CLUSTER_READ_PERMISSIONS, READ_VERBS),
    }
    binding: JsonObject = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": _meta(options, name, None),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [_service_account_subject(options)],
    }
    return [role, binding]


def cni_reader(options: DeployOptions) -> list[JsonObject]:
    name = f"{options.name_prefix}-cni-reader"
    role: JsonObject = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(options, name, "kube-system"),
        "rules": _permissions(CNI_READ_PERMISSIONS, READ_VERBS),
    }
    binding: JsonObject = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(options, name, "kube-system"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [_service_account_subject(options)],
    }
    return [role, binding]


def configmap_sink_objects(options: DeployOptions) -> list[JsonObject]:
    """The report ConfigMap (created here, so kaudit never needs `create`) and its writer Role."""
    meta = _meta(options, options.configmap_name, options.namespace, "report")
    meta["annotations"] = {
        "kaudit.io/description": "Written by the kaudit CronJob after each audit (kaudit audit --configmap)."
    }
    configmap: JsonObject = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
    role: JsonObject = {
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
    binding: JsonObject = {
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


def reports_claim(options: DeployOptions) -> JsonObject:
    spec: JsonObject = {
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


def network_policies(options: DeployOptions) -> list[JsonObject]:
    # Both select every pod of the namespace: only kaudit runs here, and an
    # empty selector keeps applying between runs, when no pod exists.
    default_deny: JsonObject = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(options, DEFAULT_DENY_POLICY, options.namespace),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }
    if options.api_server_cidrs:
        api_peers: JsonArray = [{"ipBlock": {"cidr": cidr}} for cidr in options.api_server_cidrs]
    else:
        api_peers = [
            {"ipBlock": {"cidr": ANY_IPV4, "except": [LINK_LOCAL_IPV4]}},
            {"ipBlock": {"cidr": ANY_IPV6}},
        ]
    egress: JsonObject = {
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


def cronjob(options: DeployOptions) -> JsonObject:
    volumes: JsonArray = [
        # The root filesystem is read-only; the Python runtime and the kubernetes
        # client may still want a scratch directory.
        {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}}
    ]
    mounts: JsonArray = [{"name": "tmp", "mountPath": "/tmp"}]
    pod_security: JsonObject = {
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
    container: JsonObject = {
        "name": CONTAINER,
        "image": options.image,
        "imagePullPolicy": options.image_pull_policy,
        "args": json_array(audit_arguments(options)),
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
    pod_spec: JsonObject = {
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
    job_spec: JsonObject = {
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
            "metadata": {"labels": json_object(_labels(options, "audit"))},
            "spec": pod_spec,
        },
    }
    spec: JsonObject = {"schedule": options.schedule}
    if options.time_zone:
        spec["timeZone"] = options.time_zone
    spec.update(
        {
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": json_object(_labels(options, "audit"))},
                "spec": job_spec,
            },
        }
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _meta(options, CRONJOB, options.namespace, "audit"),
        "spec": spec,
    }


def render_manifests(options: DeployOptions) -> list[JsonObject]:
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
