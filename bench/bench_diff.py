"""Review benchmark: `compare_connectivity` between a synthetic cluster and a change to it.

The cluster is bench_engine.py's proportional one (namespaces of 50 pods, a
hostNetwork DaemonSet on every node, five policies per namespace). The change, as
a pull request might make it: one namespace loses its default deny (every way in
and out opens), one gains a policy admitting every namespace to its backends on
8080, one workload of another is relabelled out of its tier, and one namespace's
DNS exception goes. Printed: the time to build the two engines, the time to compare
them on every port and protocol and on one port, the blocks and connections found,
and the peak resident memory.

    python bench/bench_diff.py [--sizes 10000,50000]
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import time
from typing import Any

from bench_engine import cluster, parse

from kaudit.model import Protocol
from kaudit.netpol import PolicyEngine
from kaudit.review import PortRange, compare_connectivity, group_by_workload


def changed(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    result = []
    for obj in copy.deepcopy(objects):
        meta = obj["metadata"]
        namespace = meta.get("namespace")
        if (
            obj["kind"] == "NetworkPolicy"
            and namespace == "team-0001"
            and meta["name"] == "default-deny"
        ):
            continue
        if (
            obj["kind"] == "NetworkPolicy"
            and namespace == "team-0003"
            and meta["name"] == "allow-dns"
        ):
            continue
        if (
            obj["kind"] == "Pod"
            and namespace == "team-0002"
            and meta["labels"].get("app") == "backend-4"
        ):
            meta["labels"]["tier"] = "batch"
        result.append(obj)
    result.append(
        {
            "kind": "NetworkPolicy",
            "metadata": {"name": "open-backends", "namespace": "team-0000"},
            "spec": {
                "podSelector": {"matchLabels": {"tier": "backend"}},
                "ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": 8080}]}],
            },
        }
    )
    return result


def measure(pods: int) -> None:
    objects = cluster(pods, "proportional")
    before = parse(json.dumps({"kind": "List", "items": objects}))
    after = parse(json.dumps({"kind": "List", "items": changed(objects)}))
    start = time.perf_counter()
    old, new = PolicyEngine(before), PolicyEngine(after)
    built = time.perf_counter()
    diff = compare_connectivity(old, new)
    compared = time.perf_counter()
    one_port = compare_connectivity(
        PolicyEngine(before),
        PolicyEngine(after),
        ports=PortRange(8080, 8080),
        protocols=(Protocol.TCP,),
    )
    one_port_done = time.perf_counter()
    rows = group_by_workload(diff.opened, diff.workloads)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    classes = len(old.compiled.classes.classes), len(new.compiled.classes.classes)
    print(
        f"{pods:>7} pods, {classes[0]}/{classes[1]} classes: engines {built - start:.2f}s, "
        f"compare all ports {compared - built:.2f}s "
        f"({len(diff.opened)} opened / {len(diff.closed)} closed blocks, "
        f"{sum(c.pairs for c in diff.opened):,} / {sum(c.pairs for c in diff.closed):,} "
        f"connections, {len(rows)} opened workload rows), "
        f"engines + compare on 8080/TCP {one_port_done - compared:.2f}s "
        f"({len(one_port.opened)} / {len(one_port.closed)} blocks), peak RSS {peak:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10000,50000")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        measure(size)


if __name__ == "__main__":
    main()
