"""The components: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
kwok, each with its flags and its health check. Everything binds to loopback."""

from __future__ import annotations

import json
import os
import ssl
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from hack.controlplane.bootstrap import load_manifest
from hack.controlplane.pki import PkiFiles
from hack.controlplane.settings import (
    AUDIT_LOG_PATH,
    AUDIT_POLICY_PATH,
    ETCD_DATA_DIR,
    POD_CIDR,
    SERVICE_CIDR,
    STATE_DIR,
)

# One free loopback port each, picked at every `up`.
PORT_NAMES = (
    "etcd",
    "etcd-peer",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
)

KCM_CONTROLLERS = (
    "endpoints-controller",
    "endpointslice-controller",
    "endpointslice-mirroring-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "garbage-collector-controller",
    "node-lifecycle-controller",
    "replicaset-controller",
    "deployment-controller",
    "statefulset-controller",
    "daemonset-controller",
    "job-controller",
    "cronjob-controller",
    "root-ca-certificate-publisher-controller",
    "clusterrole-aggregation-controller",
    "disruption-controller",
    "pod-garbage-collector-controller",
    "ttl-after-finished-controller",
    # The admission chain puts protection finalizers on claims and volumes; without
    # these controllers a StatefulSet's claim (and so its namespace) never goes away.
    "persistentvolumeclaim-protection-controller",
    "persistentvolume-protection-controller",
)

# Bearer-token identities: (role, user name, uid, group). The admin and kwok, which
# updates the status of every node and pod, are in system:masters; the controllers
# get their real identities and the bootstrap RBAC roles that go with them.
TOKEN_USERS = (
    ("admin", "kaudit-admin", "kaudit-admin", "system:masters"),
    ("kcm", "system:kube-controller-manager", "kcm", ""),
    ("scheduler", "system:kube-scheduler", "scheduler", ""),
    ("kwok", "kwok-controller", "kwok", "system:masters"),
)


@dataclass(frozen=True)
class Launch:
    """One component to start: its name, command line and, if not inherited, environment."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None


def token_file_text(tokens: dict[str, str]) -> str:
    """kube-apiserver's --token-auth-file: token,user,uid[,"group"] per line."""
    lines = []
    for role, user, uid, group in TOKEN_USERS:
        line = f"{tokens[role]},{user},{uid}"
        lines.append(f'{line},"{group}"' if group else line)
    return "\n".join(lines) + "\n"


def etcd_url(ports: dict[str, int]) -> str:
    return f"http://127.0.0.1:{ports['etcd']}"


def etcd(binary: Path, ports: dict[str, int]) -> Launch:
    client_url = etcd_url(ports)
    peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
    return Launch(
        "etcd",
        [
            str(binary),
            "--name=default",
            f"--data-dir={ETCD_DATA_DIR}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=default={peer_url}",
            "--unsafe-no-fsync",  # throwaway data; fsync dominates on slow disks
            "--log-level=warn",
        ],
    )


def kube_apiserver(binary: Path, ports: dict[str, int], pki: PkiFiles, token_file: Path) -> Launch:
    return Launch(
        "kube-apiserver",
        [
            str(binary),
            f"--etcd-servers={etcd_url(ports)}",
            "--bind-address=127.0.0.1",
            # Without it the server fails when the host has no default route.
            "--advertise-address=127.0.0.1",
            f"--secure-port={ports['kube-apiserver']}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            "--authorization-mode=RBAC",
            f"--token-auth-file={token_file}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.service_account_public_key}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            # No kube-apiserver Endpoints reconciliation: 127.0.0.1 is not a
            # valid endpoint address and nothing in-cluster dials it.
            "--endpoint-reconciler-type=none",
            # Tests create privileged and hostNetwork pods on purpose.
            "--allow-privileged=true",
            "--profiling=false",
            # Every request in the audit log, written before the request completes
            # (blocking mode), so a test can read what a client did as soon as it exits.
            f"--audit-policy-file={AUDIT_POLICY_PATH}",
            f"--audit-log-path={AUDIT_LOG_PATH}",
            "--audit-log-format=json",
            "--audit-log-mode=blocking",
            "--audit-log-maxsize=200",  # MB, then rotated
            "--audit-log-maxbackup=1",
            "--v=1",
        ],
    )


def kube_controller_manager(
    binary: Path, ports: dict[str, int], pki: PkiFiles, kubeconfig: Path
) -> Launch:
    return Launch(
        "kube-controller-manager",
        [
            str(binary),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports['kube-controller-manager']}",
            "--leader-elect=false",
            # Each controller acts as its own kube-system ServiceAccount with
            # the bootstrap RBAC roles, as in kubeadm/kind clusters.
            "--use-service-account-credentials=true",
            f"--controllers={','.join(KCM_CONTROLLERS)}",
            f"--service-account-private-key-file={pki.service_account_key}",
            f"--root-ca-file={pki.ca_cert}",
            f"--cluster-cidr={POD_CIDR}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            # kwok renews node leases on time unless the machine is starved
            # (e.g. while a benchmark loads thousands of pods); a longer
            # grace period keeps the nodes and their pods Ready through that.
            "--node-monitor-grace-period=3m",
            "--kube-api-qps=200",
            "--kube-api-burst=400",
            "--v=1",
        ],
    )


def scheduler_config_text(kubeconfig: Path) -> str:
    """manifests/scheduler-config.yaml with the scheduler's kubeconfig filled in."""
    (config,) = load_manifest("scheduler-config.yaml")
    connection = config["clientConnection"]
    assert isinstance(connection, dict)
    connection["kubeconfig"] = str(kubeconfig)
    return json.dumps(config, indent=2) + "\n"


def kube_scheduler(
    binary: Path, ports: dict[str, int], kubeconfig: Path, config_file: Path
) -> Launch:
    return Launch(
        "kube-scheduler",
        [
            str(binary),
            f"--config={config_file}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports['kube-scheduler']}",
            "--v=1",
        ],
    )


def kwok(binary: Path, ports: dict[str, int], kubeconfig: Path) -> Launch:
    return Launch(
        "kwok",
        [
            str(binary),
            f"--kubeconfig={kubeconfig}",
            "--manage-all-nodes=true",
            # Heartbeat through Leases in kube-node-lease, as kubelets do:
            # without them the node-lifecycle controller marks the nodes
            # (and every pod on them) NotReady after its grace period.
            "--node-lease-duration-seconds=40",
            f"--cidr={POD_CIDR}",
            "--node-ip=127.0.0.1",
            f"--server-address=127.0.0.1:{ports['kwok']}",
            "--v=INFO",
        ],
        # kwok reads ~/.kwok/kwok.yaml when it exists: keep a user's config out.
        env={**os.environ, "HOME": str(STATE_DIR)},
    )


def etcd_healthy(port: int) -> bool:
    url = f"http://127.0.0.1:{port}/health"
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(json.loads(response.read()).get("health") == "true")


def component_healthy(port: int) -> bool:
    """/healthz of the controller manager or scheduler (on their always-allowed paths)."""
    context = ssl._create_unverified_context()  # self-signed, loopback-only health probe
    url = f"https://127.0.0.1:{port}/healthz"
    with urllib.request.urlopen(url, context=context, timeout=2) as response:
        return bool(response.status == 200)
