"""Recognise the CNI plugin from what runs in the system namespaces."""

from __future__ import annotations

from collections.abc import Iterable

from kaudit.kube import SYSTEM_NAMESPACES, cni_of_name
from kaudit.model import Pod


def detect_cni(pods: Iterable[Pod], daemonset_names: Iterable[str] = ()) -> tuple[str, ...]:
    """CNI plugins seen among system-namespace pods (or workload templates) and DaemonSets."""
    names: set[str] = set(daemonset_names)
    for pod in pods:
        if pod.namespace in SYSTEM_NAMESPACES:
            names.update(
                {pod.name, pod.owner.name, pod.labels.get("app", ""), pod.labels.get("k8s-app", "")}
            )
    return tuple(sorted({cni for name in names if name and (cni := cni_of_name(name))}))
