"""Pinned versions, the cluster's network layout, and where the running state lives."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# --- pinned versions ------------------------------------------------------------
# Kubernetes 1.36 matches the minor of kind's default node image (v1.36.1); v1.36.3
# is the newest 1.36 patch on the module proxy.
KUBERNETES_VERSION = "v1.36.3"
# Kubernetes 1.36 is tested against etcd 3.6 (build/dependencies.yaml pins 3.6.8);
# the newest 3.6 patch carries the bug fixes of that line.
ETCD_VERSION = "v3.6.16"
# kwok v0.8 refuses to start without an explicit stages config; v0.7 still ships
# built-in node/pod stages, so the controller works with flags alone.
KWOK_VERSION = "v0.7.0"

KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
ALL_BINARIES = ("etcd", *KUBERNETES_COMMANDS, "kwok")
# envtest's KUBEBUILDER_ASSETS directory holds only these three.
KUBEBUILDER_BINARIES = ("etcd", "kube-apiserver", "kubectl")

# --- network layout -------------------------------------------------------------
SERVICE_CIDR = "10.96.0.0/12"
# The first address of SERVICE_CIDR: the `kubernetes` Service, named in the serving certificate.
KUBERNETES_SERVICE_IP = "10.96.0.1"
POD_CIDR = "10.244.0.0/16"  # disjoint from SERVICE_CIDR
DNS_SERVICE_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
FAKE_NODES = ("kwok-node-0", "kwok-node-1")

# --- state on disk --------------------------------------------------------------
REPO_ROOT = Path(__file__).resolve().parents[2]
# KAUDIT_CLUSTER_DIR runs a second, independent control plane (e.g. one per CI job).
STATE_DIR = Path(
    os.environ.get("KAUDIT_CLUSTER_DIR") or REPO_ROOT / ".kaudit" / "cluster"
).resolve()
KUBECONFIG_PATH = STATE_DIR / "kubeconfig"
STATE_FILE = STATE_DIR / "state.json"
PKI_DIR = STATE_DIR / "pki"
LOG_DIR = STATE_DIR / "logs"
PID_DIR = STATE_DIR / "pids"
BIN_DIR = STATE_DIR / "bin"
ETCD_DATA_DIR = STATE_DIR / "etcd"
# kube-apiserver's audit log: one JSON event per request (see manifests/audit-policy.yaml).
AUDIT_LOG_PATH = LOG_DIR / "audit.log"
AUDIT_POLICY_PATH = STATE_DIR / "audit-policy.yaml"


class ControlPlaneError(RuntimeError):
    """A build or startup failure with a message meant for humans."""


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[controlplane {stamp}] {message}", file=sys.stderr, flush=True)
