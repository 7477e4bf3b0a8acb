"""Lateral movement: how far one compromised pod gets, and whether datastores are in reach.

Both rules ask the engine; nothing here interprets a policy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from kaudit.findings import Severity
from kaudit.model import Kind, Pod, Protocol
from kaudit.rules.common import (
    default_deny_all_with_dns,
    group_by_workload,
    listed,
    members,
    network_policy,
    plural,
    selector_labels,
    to_yaml,
    verb,
    workload_names,
)
from kaudit.rules.context import AuditContext
from kaudit.rules.policy import dns_target
from kaudit.rules.registry import Hit, rule

K8S_NETPOL = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"

# Ports of datastores that should only be reachable from their own applications.
DATASTORE_PORTS: Mapping[int, str] = {
    5432: "PostgreSQL",
    3306: "MySQL/MariaDB",
    1433: "SQL Server",
    1521: "Oracle",
    6379: "Redis",
    26379: "Redis Sentinel",
    27017: "MongoDB",
    9200: "Elasticsearch/OpenSearch",
    9300: "Elasticsearch transport",
    9042: "Cassandra",
    11211: "Memcached",
    2379: "etcd",
    2380: "etcd peer",
    5984: "CouchDB",
    8086: "InfluxDB",
    8123: "ClickHouse HTTP",
    26257: "CockroachDB",
    7687: "Neo4j Bolt",
    8529: "ArangoDB",
    28015: "RethinkDB",
}


def _policed_pods(ctx: AuditContext) -> list[Pod]:
    """Pods NetworkPolicy can govern (hostNetwork ones are reported by pod-host-network)."""
    return [p for pods in ctx.pods_by_namespace.values() for p in pods if not p.host_network]


# --- KA501 ---------------------------------------------------------------------------------


@rule(
    id="KA501",
    name="lateral-movement-open",
    title="Pods that every other namespace may reach on every port",
    severity=Severity.HIGH,
    category="lateral",
    rationale="""
        A pod whose ingress admits every pod of every other namespace on every port is
        one hop away from any compromise anywhere in the cluster: an attacker in any
        pod can scan it, reach its admin and debug ports, and pivot through it. The
        share of such pods is the cluster's blast radius.
    """,
    remediation="""
        Deny ingress by default in the namespace and allow only the clients each
        workload needs, by namespace AND pod labels in one peer, on the ports it serves.
    """,
    references=(K8S_NETPOL, "https://kubernetes.io/docs/concepts/security/multi-tenancy/"),
    needs=(Kind.PODS, Kind.NETWORK_POLICIES),
)
def lateral_movement_open(ctx: AuditContext) -> Iterator[Hit]:
    policed = _policed_pods(ctx)
    if not policed:
        return
    open_pods = [p for p in policed if ctx.engine.open_ingress(p)]
    cluster_fraction = len(open_pods) / len(policed)
    dns_namespace, dns_labels = dns_target(ctx)
    by_namespace: dict[str, list[Pod]] = {}
    for pod in open_pods:
        by_namespace.setdefault(pod.namespace, []).append(pod)
    for namespace in sorted(by_namespace):
        group = by_namespace[namespace]
        in_namespace = [p for p in policed if p.namespace == namespace]
        outsiders = [p for p in policed if p.namespace != namespace]
        # How many pods elsewhere really reach them, once the sources' egress is applied.
        reachers: set[str] = set()
        for pods in group_by_workload(group).values():
            reachers.update(p.key for p in ctx.engine.cross_namespace_reachers(pods[0], None, None))
        reachers &= {p.key for p in outsiders}
        workloads = workload_names(group)
        share = f"{len(reachers)} of {plural(len(outsiders), 'pod')} in other namespaces"
        yield Hit(
            ctx.snapshot.namespace(namespace).ref,
            f"In namespace {namespace}, {len(group)} of {plural(len(in_namespace), 'pod')} "
            f"({', '.join(workloads[:5])}{' and more' if len(workloads) > 5 else ''}) "
            f"{verb(len(group), 'accepts', 'accept')} connections from every other namespace "
            f"on every port; {share} can reach {verb(len(group), 'it', 'them')} today. "
            f"Cluster-wide, {cluster_fraction:.0%} of pods are open like this.",
            {
                "openPods": len(group),
                "podsInNamespace": len(in_namespace),
                "workloads": workloads,
                "pods": listed(p.name for p in group),
                "reachersInOtherNamespaces": len(reachers),
                "podsInOtherNamespaces": len(outsiders),
                "reachableFraction": round(len(reachers) / len(outsiders), 3) if outsiders else 0.0,
                "clusterOpenFraction": round(cluster_fraction, 3),
            },
            remediation="Deny by default and allow only the needed clients:\n\n"
            + to_yaml(*default_deny_all_with_dns(namespace, dns_namespace, dns_labels)),
            origin=ctx.snapshot.namespace(namespace).origin,
        )


# --- KA502 ---------------------------------------------------------------------------------


def _datastore_ports(ctx: AuditContext, pod: Pod) -> list[int]:
    """Datastore ports the pod serves: declared container ports, or numeric Service targets."""
    ports = {cp.container_port for cp in pod.ports if cp.protocol == Protocol.TCP}
    for service in ctx.snapshot.services:
        if service.namespace == pod.namespace and service.selects(pod):
            for sp in service.ports:
                target = sp.effective_target
                if sp.protocol == Protocol.TCP and isinstance(target, int):
                    ports.add(target)
    return sorted(p for p in ports if p in DATASTORE_PORTS)


@rule(
    id="KA502",
    name="datastore-reachable-cross-namespace",
    title="Datastore port reachable from other namespaces",
    severity=Severity.HIGH,
    category="lateral",
    rationale="""
        Databases, caches and search engines hold the data attackers want, and many
        (Redis, Memcached, Elasticsearch, etcd) accept connections without
        authentication by default. When pods of other namespaces can open their ports,
        a compromise of any of those pods reaches the data directly, around the
        application that should stand in front of it.
    """,
    remediation="""
        Allow the datastore port only from the application pods that use it: one peer
        with namespaceSelector (kubernetes.io/metadata.name) AND podSelector, on that
        port, under a default-deny ingress policy.
    """,
    references=(
        K8S_NETPOL,
        "https://redis.io/docs/latest/operate/oss_and_stack/management/security/",
    ),
    needs=(Kind.PODS, Kind.NETWORK_POLICIES),
)
def datastore_reachable_cross_namespace(ctx: AuditContext) -> Iterator[Hit]:
    policed = _policed_pods(ctx)
    per_namespace: dict[str, set[str]] = {}
    for pod in policed:
        per_namespace.setdefault(pod.namespace, set()).add(str(pod.owner))
    exposed: dict[str, list[tuple[int, list[Pod]]]] = {}
    for pod in policed:
        ports = _datastore_ports(ctx, pod)
        found = []
        for port in ports:
            reachers = [
                p
                for p in ctx.engine.cross_namespace_reachers(pod, port, Protocol.TCP)
                if not p.host_network
            ]
            if reachers:
                found.append((port, reachers))
        if found:
            exposed[pod.key] = found
    for ref, group in group_by_workload(p for p in policed if p.key in exposed).items():
        findings = exposed[group[0].key]
        unisolated = not ctx.engine.isolation(group[0]).ingress_isolated
        details = []
        port_evidence = []
        wide = unisolated
        for port, reachers in findings:
            namespaces = sorted({p.namespace for p in reachers})
            whole = [
                ns
                for ns in namespaces
                if {str(p.owner) for p in reachers if p.namespace == ns} == per_namespace[ns]
                and len(per_namespace[ns]) > 1
            ]
            wide = wide or bool(whole) or len(namespaces) >= 3
            who = (
                f"every workload of {', '.join(whole)}"
                if whole
                else ", ".join(workload_names(reachers)[:4])
            )
            details.append(
                f"{port} ({DATASTORE_PORTS[port]}) from {plural(len(reachers), 'pod')} in "
                f"{', '.join(namespaces)} ({who})"
            )
            port_evidence.append(
                {
                    "port": port,
                    "service": DATASTORE_PORTS[port],
                    "reachers": len(reachers),
                    "namespaces": namespaces,
                    "wholeNamespaces": whole,
                    "workloads": [f"{p.namespace}/{p.owner}" for p in reachers][:25],
                }
            )
        severity = Severity.HIGH if wide else Severity.LOW
        scope = (
            "no policy isolates it for ingress"
            if unisolated
            else (
                "whole namespaces are admitted" if wide else "only specific workloads are admitted"
            )
        )
        first_port = findings[0][0]
        yield Hit(
            ref,
            f"{ref.kind} {ref.namespace}/{ref.name} serves datastore ports reachable from other "
            f"namespaces ({scope}): " + "; ".join(details) + ".",
            {**members(group), "ports": port_evidence, "ingressIsolated": not unisolated},
            remediation="Admit only the application that uses the datastore (replace the "
            "placeholders):\n\n"
            + to_yaml(
                network_policy(
                    f"{ref.name}-allow-clients",
                    ref.namespace,
                    {
                        "policyTypes": ["Ingress"],
                        "ingress": [
                            {
                                "from": [
                                    {
                                        "namespaceSelector": {
                                            "matchLabels": {
                                                "kubernetes.io/metadata.name": "CLIENT-NAMESPACE"
                                            }
                                        },
                                        "podSelector": {"matchLabels": {"app": "CLIENT-APP"}},
                                    }
                                ],
                                "ports": [{"protocol": "TCP", "port": first_port}],
                            }
                        ],
                    },
                    selector_labels(group[0].labels),
                )
            ),
            severity=severity,
            origin=group[0].origin,
        )
