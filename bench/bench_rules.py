"""Time every rule of the catalogue on synthetic clusters (a benchmark, not a test).

    .venv/bin/python bench/bench_rules.py [PODS ...]     # default: 1000 10000
    .venv/bin/python bench/bench_rules.py --profile 50000   # and where the slowest rules spend it

Each cluster has namespaces of 100 pods (10 Deployments of 10 replicas, one
Service each, every fifth one a datastore), and policies in two thirds of the
namespaces: a default deny with DNS in one third, ingress-only allow rules in
another, none in the last. Prints the time to build the snapshot, the engine's
reachability summary, and each rule (including the engine work it triggers
first), slowest first.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from typing import Any

from kaudit.model import (
    ClusterFacts,
    Namespace,
    NetworkPolicy,
    Pod,
    Service,
    Snapshot,
)
from kaudit.rules.context import AuditContext
from kaudit.rules.registry import all_rules

DEPLOYMENTS_PER_NAMESPACE = 10
REPLICAS = 10
DATASTORE_PORTS = (5432, 6379, 27017)


def raw_pod(ns: str, app: str, index: int, port: int) -> dict[str, Any]:
    template_hash = "5d8f7c"
    return {
        "metadata": {
            "name": f"{app}-{template_hash}-{index:05d}",
            "namespace": ns,
            "labels": {
                "app": app,
                "tier": "db" if port != 8080 else "web",
                "pod-template-hash": template_hash,
            },
            "ownerReferences": [
                {"kind": "ReplicaSet", "name": f"{app}-{template_hash}", "controller": True}
            ],
        },
        "spec": {
            "nodeName": f"node-{index % 50}",
            "containers": [{"name": "main", "ports": [{"containerPort": port, "name": "main"}]}],
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}",
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def policies_for(ns: str, kind: int) -> list[dict[str, Any]]:
    def policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
        return {"metadata": {"name": name, "namespace": ns}, "spec": spec}

    if kind == 0:
        return [
            policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
            policy(
                "allow-dns",
                {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {
                                            "kubernetes.io/metadata.name": "kube-system"
                                        }
                                    },
                                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                                }
                            ],
                            "ports": [
                                {"protocol": "UDP", "port": 53},
                                {"protocol": "TCP", "port": 53},
                            ],
                        }
                    ],
                },
            ),
            policy(
                "allow-web",
                {
                    "podSelector": {"matchLabels": {"tier": "db"}},
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": "web"}}}]}],
                },
            ),
        ]
    if kind == 1:
        return [
            policy(
                "allow-db-from-everywhere",
                {
                    "podSelector": {"matchLabels": {"tier": "db"}},
                    "ingress": [{"from": [{"namespaceSelector": {}}]}],
                },
            )
        ]
    return []


def synthetic(pods: int) -> Snapshot:
    namespaces = max(1, pods // (DEPLOYMENTS_PER_NAMESPACE * REPLICAS))
    ns_objects = [Namespace.from_raw({"metadata": {"name": "kube-system"}})]
    pod_objects = [
        Pod.from_raw(
            {
                "metadata": {
                    "name": "coredns-1",
                    "namespace": "kube-system",
                    "labels": {"k8s-app": "kube-dns"},
                },
                "spec": {
                    "dnsPolicy": "Default",
                    "containers": [
                        {
                            "name": "c",
                            "ports": [
                                {"containerPort": 53, "protocol": "UDP"},
                                {"containerPort": 53},
                            ],
                        }
                    ],
                },
                "status": {"phase": "Running", "podIP": "10.255.0.2"},
            }
        )
    ]
    services = []
    policies = []
    counter = 0
    for n in range(namespaces):
        ns = f"team-{n:04d}"
        ns_objects.append(
            Namespace.from_raw({"metadata": {"name": ns, "labels": {"team": str(n)}}})
        )
        for d in range(DEPLOYMENTS_PER_NAMESPACE):
            app = f"app-{d}"
            port = DATASTORE_PORTS[d % len(DATASTORE_PORTS)] if d % 5 == 0 else 8080
            for _ in range(REPLICAS):
                pod_objects.append(Pod.from_raw(raw_pod(ns, app, counter, port)))
                counter += 1
            # Every seventh Service carries a selector typo, for service-no-endpoints.
            selector = {"app": app if (n + d) % 7 else app + "x"}
            services.append(
                Service.from_raw(
                    {
                        "metadata": {"name": app, "namespace": ns},
                        "spec": {
                            "selector": selector,
                            "ports": [{"port": 80, "targetPort": "main"}],
                        },
                    }
                )
            )
        policies += [NetworkPolicy.from_raw(p) for p in policies_for(ns, n % 3)]
    return Snapshot(
        facts=ClusterFacts(source="live", cni=("calico",), cni_checked=True),
        namespaces=tuple(ns_objects),
        pods=tuple(pod_objects),
        services=tuple(services),
        network_policies=tuple(policies),
    )


def hot_spots(profile: cProfile.Profile, lines: int = 12) -> str:
    """The functions a profiled run spent the most time in, with what they called."""
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(lines)
    return "\n".join(line for line in out.getvalue().splitlines() if "/" in line)


def main(sizes: list[int], profile: bool = False) -> None:
    for size in sizes:
        started = time.perf_counter()
        snapshot = synthetic(size)
        built = time.perf_counter() - started
        ctx = AuditContext(snapshot)
        started = time.perf_counter()
        ctx.engine.summary()
        engine = time.perf_counter() - started
        timings = []
        counts = {}
        profiles: dict[str, cProfile.Profile] = {}
        for rule in all_rules():
            profiler = profiles[rule.id] = cProfile.Profile()
            started = time.perf_counter()
            if profile:
                profiler.enable()
            findings = rule.run(ctx)
            profiler.disable()
            timings.append((time.perf_counter() - started, rule))
            counts[rule.id] = len(findings)
        total = sum(t for t, _ in timings)
        print(
            f"\n{len(snapshot.pods)} pods, {len(snapshot.namespaces)} namespaces, "
            f"{len(snapshot.services)} services, {len(snapshot.network_policies)} policies"
        )
        print(
            f"  build snapshot {built:7.2f} s   engine summary {engine:7.2f} s   all rules {total:7.2f} s"
        )
        slowest = sorted(timings, key=lambda t: -t[0])
        for seconds, rule in slowest[: len(slowest) if profile else 8]:
            print(f"  {rule.id} {rule.name:40s} {seconds:7.3f} s  {counts[rule.id]:5d} findings")
        for _, rule in slowest[:4] if profile else ():
            print(f"\n{rule.id} {rule.name} (profiled, cumulative seconds)")
            print(hot_spots(profiles[rule.id]))


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--profile"]
    main([int(a) for a in arguments] or [1000, 10000], profile="--profile" in sys.argv)
