"""Rendering time and output size of every report format for a large synthetic report.

Builds a report with --findings findings (default 5,000) spread over --namespaces
namespaces, with evidence, remediation YAML and a reachability summary (namespace matrix
and pod classes) shaped like the engine's, then prints for each format the median
rendering time of --runs runs and the size of the output; also reading the JSON back and
diffing two such reports.

    python bench/bench_report.py [--findings 5000] [--namespaces 200] [--runs 3]
    python bench/bench_report.py --cluster 10000   # audit bench_rules' synthetic cluster instead
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import functools
import gzip
import random
import statistics
import time
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from kaudit.findings import Finding, Severity, frozen_evidence
from kaudit.model import ClusterFacts, ObjectRef, Origin
from kaudit.report.diff import diff_reports, render_diff
from kaudit.report.jsonio import reachability_from_dict, report_from_json
from kaudit.report.model import NamespaceSummary, Report
from kaudit.report.render import Format, render

RULES = [
    ("KA101", "namespace-without-policy", "Namespace", Severity.HIGH),
    ("KA120", "egress-deny-without-dns", "NetworkPolicy", Severity.MEDIUM),
    ("KA204", "service-nodeport", "Service", Severity.HIGH),
    ("KA205", "service-loadbalancer-public", "Service", Severity.CRITICAL),
    ("KA401", "pod-host-network", "Deployment", Severity.HIGH),
    ("KA403", "pod-reaches-metadata", "Deployment", Severity.HIGH),
    ("KA404", "pod-default-ndots", "Namespace", Severity.INFO),
    ("KA301", "ingress-without-tls", "Ingress", Severity.LOW),
]
REMEDIATION = """Add a default-deny policy, then allow what the workload needs:

apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
"""


def synthetic_report(findings: int, namespaces: int, seed: int = 7) -> Report:
    rng = random.Random(seed)
    names = [f"team-{i:03d}" for i in range(namespaces)]
    made = []
    for i in range(findings):
        rule_id, rule_name, kind, severity = RULES[i % len(RULES)]
        ns = rng.choice(names)
        obj = ns if kind == "Namespace" else f"workload-{i}"
        made.append(
            Finding(
                rule_id=rule_id,
                rule_name=rule_name,
                severity=severity,
                resource=ObjectRef(kind, "" if kind == "Namespace" else ns, obj),
                message=f"{kind} {ns}/{obj} can be reached from every pod of the cluster on "
                f"ports 80/TCP and 443/TCP: no NetworkPolicy selects its pods ({i}).",
                evidence=frozen_evidence(
                    {
                        "labels": {"app": obj, "team": ns},
                        "ports": ["80/TCP", "443/TCP"],
                        "policies": [],
                    }
                ),
                remediation=REMEDIATION if i % 3 else f"Remove {obj} or make it ClusterIP.",
                origin=Origin(f"deploy/{ns}/{obj}.yaml", 1 + i % 40, 0),
            )
        )
    summaries = tuple(
        NamespaceSummary(
            name=ns,
            system=False,
            pods=40,
            services=8,
            policies=rng.randint(0, 4),
            ingress_isolated_pods=rng.randint(0, 40),
            egress_isolated_pods=rng.randint(0, 40),
            host_network_pods=0,
            exposed_services=(f"web-{ns} (NodePort)",),
            findings=MappingProxyType({}),
        )
        for ns in names
    )
    matrix_names = names[: min(namespaces, 60)]
    reachability = {
        "pods": 40 * namespaces,
        "namespaces": namespaces,
        "policies": 2 * namespaces,
        "classes": 5 * namespaces,
        "isolation": {"ingress_isolated": 10, "egress_isolated": 5, "host_network": 0},
        "pod_classes": [
            {
                "namespace": ns,
                "pods": [f"pod-{ns}-{k}-{j}" for j in range(8)],
                "host_network": False,
                "ingress_isolated": bool(k % 2),
                "egress_isolated": False,
                "ingress_policies": ["allow-web"] if k % 2 else [],
                "egress_policies": [],
                "can_reach": {"pods": rng.randint(0, 40 * namespaces), "namespaces": 3},
                "reachable_from": {"pods": rng.randint(0, 40 * namespaces), "namespaces": 9},
            }
            for ns in names
            for k in range(5)
        ],
        "namespace_matrix": {
            a: {b: {"allowed": rng.randint(0, 1600), "total": 1600} for b in matrix_names}
            for a in matrix_names
        },
        "notes": ["counts are on any port and protocol"],
    }
    return Report(
        facts=ClusterFacts(source="live", context="bench", server_version="v1.31.0"),
        generated_at=dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC),
        findings=tuple(made),
        namespaces=summaries,
        reachability=reachability_from_dict(reachability),
    )


def median_seconds(action: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=5000)
    parser.add_argument("--namespaces", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--cluster", type=int, metavar="PODS", help="audit bench_rules.py's synthetic cluster"
    )
    args = parser.parse_args()

    if args.cluster:
        from bench_rules import synthetic  # beside this file

        from kaudit.audit import audit

        start = time.perf_counter()
        report = audit(synthetic(args.cluster), now=dt.datetime(2026, 1, 15, tzinfo=dt.UTC))
        print(
            f"audit of a synthetic cluster of {args.cluster} pods:"
            f" {len(report.findings)} findings in {time.perf_counter() - start:.1f} s"
        )
        args.findings = len(report.findings)
    else:
        report = synthetic_report(args.findings, args.namespaces)
        print(f"{args.findings} findings in {args.namespaces} namespaces")
    print(f"median of {args.runs} runs")
    print(f"{'format':<8}{'seconds':>10}{'size':>12}{'gzipped':>12}")
    outputs: dict[Format, str] = {}
    for fmt in Format:
        seconds, text = median_seconds(functools.partial(render, report, fmt), args.runs)
        outputs[fmt] = text
        data = text.encode("utf-8")
        print(
            f"{fmt.value:<8}{seconds:>10.3f}{_size(len(data)):>12}{_size(len(gzip.compress(data))):>12}"
        )

    seconds, saved = median_seconds(
        lambda: report_from_json(outputs[Format.JSON], "bench.json"), args.runs
    )
    print(f"{'read json':<12}{seconds:>6.3f} s (with schema validation)")
    changed = dataclasses.replace(saved, findings=saved.findings[: args.findings * 9 // 10])
    seconds, diff = median_seconds(lambda: diff_reports(saved, changed), args.runs)
    print(f"{'diff':<12}{seconds:>6.3f} s ({len(diff.fixed)} fixed)")
    seconds, _ = median_seconds(lambda: render_diff(diff, Format.MARKDOWN), args.runs)
    print(f"{'diff md':<12}{seconds:>6.3f} s")


def _size(count: int) -> str:
    return f"{count / 1_000_000:.2f} MB" if count >= 1_000_000 else f"{count / 1000:.0f} kB"


if __name__ == "__main__":
    main()
