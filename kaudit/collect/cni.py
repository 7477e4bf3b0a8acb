"""Recognise the CNI plugin from what runs in the system namespaces."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kaudit.config import SYSTEM_NAMESPACES
from kaudit.model import Pod

# CNI plugins by the name prefixes of their pods, DaemonSets or app labels.
CNI_MARKERS: Mapping[str, tuple[str, ...]] = {
    "calico": ("calico-node", "calico"),
    "cilium": ("cilium",),
    "antrea": ("antrea-agent", "antrea"),
    "kindnet": ("kindnet",),
    "flannel": ("kube-flannel", "flannel"),
    "weave": ("weave-net", "weave"),
    "kube-router": ("kube-router",),
}

# Plugins that implement NetworkPolicy on their own. Flannel does not; "canal"
# (flannel with calico) shows up as calico as well.
ENFORCING_CNIS = frozenset({"calico", "cilium", "antrea", "kindnet", "weave", "kube-router"})


def cni_of_name(name: str) -> str | None:
    for cni, markers in CNI_MARKERS.items():
        if any(name.startswith(marker) for marker in markers):
            return cni
    return None


def detect_cni(pods: Iterable[Pod], daemonset_names: Iterable[str] = ()) -> tuple[str, ...]:
    """CNI plugins seen among system-namespace pods (or workload templates) and DaemonSets."""
    names: set[str] = set(daemonset_names)
    for pod in pods:
        if pod.namespace in SYSTEM_NAMESPACES:
            names.update(
                {pod.name, pod.owner.name, pod.labels.get("app", ""), pod.labels.get("k8s-app", "")}
            )
    return tuple(sorted({cni for name in names if name and (cni := cni_of_name(name))}))
