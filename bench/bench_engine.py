"""NetworkPolicy engine benchmark: the full reachability summary on synthetic clusters.

Two series of synthetic clusters, shaped like real ones (Deployments of a few
replicas, a StatefulSet whose pods each carry their own name label, a
hostNetwork DaemonSet on every node, and in every namespace a default deny,
DNS egress, frontend -> backend on a named port, ingress-controller and
Prometheus access and HTTPS egress to the internet):

- proportional: namespaces, workloads and policies grow with the pods;
- fixed classes: 20 namespaces, their policies and 30 nodes stay, replicas grow,
  so the number of pod classes is fixed and time should grow about linearly.

For each size it prints the time to parse the objects from JSON (json.loads and
the model's from_raw), the time to build the engine and compute the full summary,
their ratio, the peak resident memory of a fresh process doing both, and the
peak of the engine's own allocations (tracemalloc, on a second untimed run).

A series named with `+tiers` (`proportional+tiers`) adds the admin policies of
`admin_policies()`: Admin-tier ClusterNetworkPolicies (tenant isolation by team with
Deny and Pass, monitoring Accept, a metadata-address Deny, an AdminNetworkPolicy) and a
Baseline tier (a default deny with its DNS exception, kube-system left out), so the
engine walks three tiers.

    python bench/bench_engine.py [--sizes 1000,10000,50000] [--series proportional,fixed]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from typing import Any

from kaudit.model import (
    ADMIN_POLICY_KINDS,
    AdminPolicy,
    ClusterFacts,
    Namespace,
    NetworkPolicy,
    Pod,
    Snapshot,
)
from kaudit.netpol import PolicyEngine

PODS_PER_NAMESPACE = 50  # proportional series
FIXED_NAMESPACES = 20  # fixed-classes series
PODS_PER_NODE = 30  # proportional series
FIXED_NODES = 30  # fixed-classes series


def namespace(name: str, team: str) -> dict[str, Any]:
    return {
        "kind": "Namespace",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name, "team": team}},
    }


def pod(
    ns: str,
    name: str,
    labels: dict[str, str],
    ports: list[dict[str, Any]],
    ip: str,
    node: str,
    host_network: bool = False,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"nodeName": node, "containers": [{"name": "main", "ports": ports}]}
    if host_network:
        spec["hostNetwork"] = True
    return {
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels, "uid": f"uid-{ns}-{name}"},
        "spec": spec,
        "status": {
            "phase": "Running",
            "podIP": ip,
            "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def policy(ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def namespace_policies(ns: str) -> list[dict[str, Any]]:
    return [
        policy(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        policy(
            ns,
            "allow-dns",
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                                },
                                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                            }
                        ],
                        "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
                    }
                ],
            },
        ),
        policy(
            ns,
            "frontend-to-backend",
            {
                "podSelector": {"matchLabels": {"tier": "backend"}},
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": {"tier": "frontend"}}}],
                        "ports": [{"port": "http"}],
                    }
                ],
            },
        ),
        policy(
            ns,
            "frontend-egress",
            {
                "podSelector": {"matchLabels": {"tier": "frontend"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"podSelector": {"matchLabels": {"tier": "backend"}}}]},
                    {
                        "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}],
                        "ports": [{"port": 443}],
                    },
                ],
            },
        ),
        policy(
            ns,
            "from-ingress-and-monitoring",
            {
                "podSelector": {},
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                                }
                            }
                        ],
                        "ports": [{"port": 8080}],
                    },
                    {
                        "from": [
                            {
                                "namespaceSelector": {"matchLabels": {"team": "platform"}},
                                "podSelector": {"matchLabels": {"app": "prometheus"}},
                            }
                        ],
                        "ports": [{"port": "metrics"}],
                    },
                ],
            },
        ),
    ]


WORKLOAD_PORTS = {
    "frontend": [
        {"containerPort": 8080, "name": "http"},
        {"containerPort": 9090, "name": "metrics"},
    ],
    "backend": [
        {"containerPort": 8081, "name": "http"},
        {"containerPort": 9090, "name": "metrics"},
    ],
    "db": [{"containerPort": 5432, "name": "pg"}],
}


class Addresses:
    def __init__(self) -> None:
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"10.{self.count >> 16 & 255}.{self.count >> 8 & 255}.{self.count & 255}"


def admin_policies() -> list[dict[str, Any]]:
    """Cluster-wide policies of the Admin and Baseline tiers (see the module docstring)."""

    def cnp(name: str, tier: str, priority: int, spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "policy.networking.k8s.io/v1beta1",
            "kind": "ClusterNetworkPolicy",
            "metadata": {"name": name},
            "spec": {"tier": tier, "priority": priority, **spec},
        }

    def team(n: int) -> dict[str, Any]:
        return {"namespaces": {"matchLabels": {"team": f"team{n}"}}}

    everyone: dict[str, Any] = {"namespaces": {}}
    not_system = {
        "matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}
        ]
    }
    dns = {
        "pods": {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    }
    objects = [
        cnp(
            "no-metadata",
            "Admin",
            1,
            {
                "subject": everyone,
                "egress": [{"action": "Deny", "to": [{"networks": ["169.254.169.254/32"]}]}],
            },
        ),
        cnp(
            "monitoring",
            "Admin",
            5,
            {
                "subject": everyone,
                "ingress": [
                    {
                        "action": "Accept",
                        "from": [
                            {
                                "pods": {
                                    "namespaceSelector": {},
                                    "podSelector": {"matchLabels": {"app": "prometheus"}},
                                }
                            }
                        ],
                        "protocols": [
                            {"tcp": {"destinationPort": {"range": {"start": 8000, "end": 9999}}}}
                        ],
                    }
                ],
            },
        ),
        {
            "apiVersion": "policy.networking.k8s.io/v1alpha1",
            "kind": "AdminNetworkPolicy",
            "metadata": {"name": "frontends-to-the-internet"},
            "spec": {
                "priority": 8,
                "subject": {
                    "pods": {
                        "namespaceSelector": {},
                        "podSelector": {"matchLabels": {"tier": "frontend"}},
                    }
                },
                "egress": [
                    {
                        "action": "Allow",
                        "to": [{"networks": ["0.0.0.0/0"]}],
                        "ports": [{"portNumber": {"port": 443}}],
                    }
                ],
            },
        },
        cnp(
            "baseline",
            "Baseline",
            10,
            {
                "subject": {"namespaces": not_system},
                "ingress": [{"action": "Deny", "from": [everyone]}],
                "egress": [
                    {
                        "action": "Accept",
                        "to": [dns],
                        "protocols": [{"udp": {"destinationPort": {"number": 53}}}],
                    },
                    {"action": "Deny", "to": [everyone]},
                ],
            },
        ),
    ]
    for n in range(7):  # tenants: pass within the team, deny from the others
        objects.append(
            cnp(
                f"tenant-{n}",
                "Admin",
                20 + n,
                {
                    "subject": team(n),
                    "ingress": [
                        {"action": "Pass", "from": [team(n)]},
                        {"action": "Deny", "from": [everyone]},
                    ],
                },
            )
        )
    return objects


def cluster(total_pods: int, series: str) -> list[dict[str, Any]]:
    """Raw API objects (as `kubectl get -o json` would list them) for one synthetic cluster."""
    if series.endswith("+tiers"):
        return cluster(total_pods, series.removesuffix("+tiers")) + admin_policies()
    if series == "proportional":
        namespaces = max(1, total_pods // PODS_PER_NAMESPACE)
        replicas = 5
        nodes = max(3, total_pods // PODS_PER_NODE)
    else:
        namespaces = FIXED_NAMESPACES
        replicas = max(1, total_pods // (FIXED_NAMESPACES * 10))
        nodes = FIXED_NODES  # hostNetwork pods form one class per node
    ips = Addresses()
    objects: list[dict[str, Any]] = [
        namespace("kube-system", "platform"),
        namespace("monitoring", "platform"),
        namespace("ingress-nginx", "platform"),
    ]
    objects += [
        pod(
            "kube-system",
            f"coredns-{i}",
            {"k8s-app": "kube-dns", "pod-template-hash": "5d78c9869d"},
            [
                {"containerPort": 53, "protocol": "UDP", "name": "dns"},
                {"containerPort": 53, "name": "dns-tcp"},
            ],
            ips.next(),
            f"node-{i}",
        )
        for i in range(2)
    ]
    objects.append(
        pod("monitoring", "prometheus-0", {"app": "prometheus"}, [], ips.next(), "node-0")
    )
    objects.append(
        pod(
            "ingress-nginx",
            "controller-0",
            {"app": "ingress-nginx"},
            [{"containerPort": 443, "name": "https"}],
            ips.next(),
            "node-1",
        )
    )
    for n in range(nodes):
        objects.append(
            pod(
                "monitoring",
                f"node-exporter-{n}",
                {"app": "node-exporter", "controller-revision-hash": "7f9c"},
                [{"containerPort": 9100, "name": "metrics"}],
                f"192.168.{n >> 8 & 255}.{n & 255}",
                f"node-{n}",
                host_network=True,
            )
        )
    placed = 0
    for i in range(namespaces):
        ns = f"team-{i:04d}"
        objects.append(namespace(ns, f"team{i % 7}"))
        objects += namespace_policies(ns)
        # Ten workloads per namespace: 4 frontends, 5 backends and a StatefulSet.
        for w in range(10):
            tier = "frontend" if w < 4 else "backend" if w < 9 else "db"
            app = f"{tier}-{w}"
            for r in range(replicas):
                labels = {"app": app, "tier": tier, "pod-template-hash": f"{w:04x}{i:04x}"}
                if tier == "db":
                    labels = {
                        "app": app,
                        "tier": tier,
                        "statefulset.kubernetes.io/pod-name": f"{app}-{r}",
                    }
                objects.append(
                    pod(
                        ns,
                        f"{app}-{r}",
                        labels,
                        WORKLOAD_PORTS[tier],
                        ips.next(),
                        f"node-{placed % nodes}",
                    )
                )
                placed += 1
    return objects


def parse(text: str) -> Snapshot:
    """What a source does with a JSON list: json.loads, then the model's from_raw."""
    items = json.loads(text)["items"]
    namespaces, pods, policies, admin = [], [], [], []
    for item in items:
        kind = item["kind"]
        if kind in ADMIN_POLICY_KINDS:
            admin.append(AdminPolicy.from_raw(kind, item))
        elif kind == "Pod":
            pods.append(Pod.from_raw(item))
        elif kind == "NetworkPolicy":
            policies.append(NetworkPolicy.from_raw(item))
        elif kind == "Namespace":
            namespaces.append(Namespace.from_raw(item))
    return Snapshot(
        facts=ClusterFacts(source="manifests"),
        namespaces=tuple(namespaces),
        pods=tuple(pods),
        network_policies=tuple(policies),
        admin_policies=tuple(admin),
    )


def measure(total_pods: int, series: str) -> dict[str, Any]:
    text = json.dumps({"kind": "List", "items": cluster(total_pods, series)})
    start = time.perf_counter()
    snapshot = parse(text)
    parsed = time.perf_counter()
    engine = PolicyEngine(snapshot)
    built = time.perf_counter()
    summary = engine.summary()
    done = time.perf_counter()
    # ru_maxrss is in kilobytes on Linux: the whole process (JSON text, raw dicts, model).
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The engine's own allocations, traced on a second, untimed run.
    sizes = {
        "pods": summary.pods,
        "namespaces": summary.namespaces,
        "policies": summary.policies,
        "classes": summary.classes,
    }
    del engine, summary
    tracemalloc.start()
    PolicyEngine(snapshot).summary()
    engine_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {
        "series": series,
        **sizes,
        "parse_s": parsed - start,
        "build_s": built - parsed,
        "summary_s": done - built,
        "engine_s": done - parsed,
        "peak_mib": peak_mib,
        "engine_mib": engine_mib,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--series", default="proportional,fixed")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # "series:size", run in a child
    args = parser.parse_args()
    if args.one:
        series, size = args.one.split(":")
        print(json.dumps(measure(int(size), series)))
        return
    header = (
        f"{'series':<19}{'pods':>7}{'ns':>6}{'policies':>9}{'classes':>8}"
        f"{'parse s':>9}{'engine s':>9}{'(build':>8}{'+ summary)':>11}{'ratio':>7}{'peak MiB':>10}{'engine MiB':>12}"
    )
    print(header)
    for series in args.series.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            # A fresh process per size, so peak memory belongs to that size alone.
            out = subprocess.run(
                [sys.executable, __file__, "--one", f"{series}:{size}"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            r = json.loads(out)
            print(
                f"{r['series']:<19}{r['pods']:>7}{r['namespaces']:>6}{r['policies']:>9}"
                f"{r['classes']:>8}{r['parse_s']:>9.2f}{r['engine_s']:>9.2f}"
                f"{r['build_s']:>8.2f}{r['summary_s']:>11.2f}"
                f"{r['engine_s'] / r['parse_s']:>7.2f}{r['peak_mib']:>10.0f}{r['engine_mib']:>12.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
