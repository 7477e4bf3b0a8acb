"""Reviewing a change: the connectivity two snapshots differ in.

`compare_connectivity(before, after)` takes two policy engines (one per snapshot)
and gives a `ConnectivityDiff`: the pod-to-pod connections, the connections of pods
to outside addresses and the cluster DNS, and those from outside to pods, that the
later snapshot opens and closes, as exact blocks of pods computed on pod classes.
`group_by_workload` folds them into per-workload rows with pod counts for people.
"""

from kaudit.review.changes import (
    CLUSTER_DNS,
    INTERNET_ADDRESS,
    METADATA_ADDRESS,
    ConnectivityDiff,
    PathChange,
    Scope,
)
from kaudit.review.connectivity import compare_connectivity
from kaudit.review.ports import ALL_PORTS, PortRange, parse_port_range
from kaudit.review.workloads import WorkloadChange, group_by_workload

__all__ = [
    "ALL_PORTS",
    "CLUSTER_DNS",
    "INTERNET_ADDRESS",
    "METADATA_ADDRESS",
    "ConnectivityDiff",
    "PathChange",
    "PortRange",
    "Scope",
    "WorkloadChange",
    "compare_connectivity",
    "group_by_workload",
    "parse_port_range",
]
