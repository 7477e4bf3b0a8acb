"""Workloads in manifests expanded into the pods their controllers would create.

How many: `spec.replicas` for Deployments, StatefulSets, ReplicaSets and
ReplicationControllers (1 when absent, none for `replicas: 0`); one pod per node
for a DaemonSet; `parallelism` for a Job (and a CronJob's job template), the pods
that run at once.

Which names: a StatefulSet's pods are `NAME-0` … `NAME-(N-1)` and carry the
pod-name and pod-index labels the controller sets (per-pod Services select them).
Other controllers name pods with random suffixes that manifests cannot predict: a
single pod keeps the workload's name, several are numbered like a StatefulSet's.
Pods of one template share their labels (StatefulSet pods apart), so the policy
engine evaluates them as one class however many there are.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from frozendict import frozendict

from kaudit.kube import POD_INDEX_LABEL, STATEFULSET_POD_NAME_LABEL
from kaudit.model import Pod

# The API server's replica counts are int32.
_INT32_MAX = 2**31 - 1

# Where each controller keeps the number of pods it runs at once (path in the object).
_COUNT_PATHS: Mapping[str, tuple[str, ...]] = {
    "Deployment": ("spec", "replicas"),
    "StatefulSet": ("spec", "replicas"),
    "ReplicaSet": ("spec", "replicas"),
    "ReplicationController": ("spec", "replicas"),
    "Job": ("spec", "parallelism"),
    "CronJob": ("spec", "jobTemplate", "spec", "parallelism"),
}


def pod_count(kind: str, raw: Mapping[str, Any], nodes: int) -> int:
    """How many pods the controller of `raw` runs; `nodes` is the DaemonSet's node count.

    Raises ValueError naming the field when the count is not a whole number >= 0,
    as the API server refuses it.
    """
    if kind == "DaemonSet":
        return nodes
    path = _COUNT_PATHS[kind]
    value: Any = raw
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT32_MAX:
        raise ValueError(f"{'.'.join(path)}: {value!r} is not a number of pods (0 or more)")
    return value


def replicas(kind: str, template_pod: Pod, count: int) -> list[Pod]:
    """`count` pods like `template_pod` (named after its workload), as `kind` names them."""
    if kind == "StatefulSet":
        return [_stateful_pod(template_pod, index) for index in range(count)]
    if count == 1:
        return [template_pod]
    return [
        dataclasses.replace(template_pod, name=f"{template_pod.name}-{index}")
        for index in range(count)
    ]


def _stateful_pod(template_pod: Pod, index: int) -> Pod:
    name = f"{template_pod.name}-{index}"
    labels = frozendict(
        {**template_pod.labels, STATEFULSET_POD_NAME_LABEL: name, POD_INDEX_LABEL: str(index)}
    )
    return dataclasses.replace(template_pod, name=name, labels=labels)
