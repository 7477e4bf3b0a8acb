"""Lateral movement: how far one compromised pod gets, and whether datastores are in reach.

Both audit rules ask the engine; nothing here interprets a policy.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from kaudit.findings import Severity
from kaudit.jsontypes import JsonArray, json_array
from kaudit.kube import NAMESPACE_NAME_LABEL
from kaudit.model import ObjectRef, Pod, Protocol, Service
from kaudit.netpol import NamespaceReach
from kaudit.rules.common import (
    ENGINE_KINDS,
    IDENTITY_KEYS,
    K8S_NETPOL,
    MAX_LISTED,
    dns_target,
    listed,
    members,
    plural,
    selector_labels,
    verb,
    workload_names,
    workload_ref,
)
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, Rule, rule
from kaudit.rules.remediation import default_deny_all_with_dns, network_policy, to_yaml

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


# Label values (of the identity keys) that name a datastore, with its name and usual port.
DATASTORE_LABELS: Mapping[str, tuple[str, int]] = MappingProxyType(
    {
        "postgres": ("PostgreSQL", 5432),
        "postgresql": ("PostgreSQL", 5432),
        "mysql": ("MySQL/MariaDB", 3306),
        "mariadb": ("MySQL/MariaDB", 3306),
        "redis": ("Redis", 6379),
        "mongo": ("MongoDB", 27017),
        "mongodb": ("MongoDB", 27017),
        "elasticsearch": ("Elasticsearch/OpenSearch", 9200),
        "opensearch": ("Elasticsearch/OpenSearch", 9200),
        "memcached": ("Memcached", 11211),
        "cassandra": ("Cassandra", 9042),
        "etcd": ("etcd", 2379),
        "couchdb": ("CouchDB", 5984),
        "influxdb": ("InfluxDB", 8086),
        "clickhouse": ("ClickHouse HTTP", 8123),
        "cockroachdb": ("CockroachDB", 26257),
        "neo4j": ("Neo4j Bolt", 7687),
    }
)


def _same_template(
    pods: Iterable[Pod],
) -> dict[tuple[ObjectRef, frozenset[tuple[str, str]]], list[Pod]]:
    """Pods grouped by workload and labels: replicas of one template, which policies
    cannot tell apart, so one engine question answers for all of them."""
    groups: dict[tuple[ObjectRef, frozenset[tuple[str, str]]], list[Pod]] = {}
    for pod in pods:
        groups.setdefault((workload_ref(pod), frozenset(pod.labels.items())), []).append(pod)
    return groups


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
    needs=ENGINE_KINDS,
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
    policed_per_namespace = Counter(p.namespace for p in policed)
    matrix = ctx.engine.summary().namespace_matrix
    for namespace in sorted(by_namespace):
        group = by_namespace[namespace]
        in_namespace = policed_per_namespace[namespace]
        outsiders = len(policed) - in_namespace
        # How much of the traffic from other namespaces into this one the sources' egress
        # lets through today: pod pairs, from the engine's namespace matrix.
        allowed, total = 0, 0
        for source, row in matrix.items():
            if source != namespace and namespace in row:
                allowed += row[namespace].allowed
                total += row[namespace].total
        workloads = workload_names(group)
        inbound = allowed / total if total else 0.0
        if total:
            today = (
                f"today {inbound:.0%} of pod pairs from other namespaces into {namespace} "
                "are allowed"
            )
        else:
            # Nothing to count: the reach is what a pod of any other namespace would have.
            today = (
                "no pod of another namespace is in the input: any pod of a namespace added "
                "later could connect"
            )
        yield Hit(
            ctx.snapshot.namespace(namespace).ref,
            f"In namespace {namespace}, {len(group)} of {plural(in_namespace, 'pod')} "
            f"({', '.join(workloads[:5])}{' and more' if len(workloads) > 5 else ''}) "
            f"{verb(len(group), 'accepts', 'accept')} connections from every other namespace "
            f"on every port ({today}). Cluster-wide, {cluster_fraction:.0%} of pods are open "
            f"like this.",
            {
                "openPods": len(group),
                "podsInNamespace": in_namespace,
                "workloads": json_array(workloads),
                "pods": json_array(listed(p.name for p in group)),
                "podsInOtherNamespaces": outsiders,
                "inboundPairsAllowed": allowed,
                "inboundPairsTotal": total,
                "inboundReachableFraction": round(inbound, 3),
                "clusterOpenFraction": round(cluster_fraction, 3),
            },
            remediation="Deny by default and allow only the needed clients:\n\n"
            + to_yaml(*default_deny_all_with_dns(namespace, dns_namespace, dns_labels)),
            origin=ctx.snapshot.namespace(namespace).origin,
        )


# --- KA502 ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ExposedPort:
    """A datastore port that pods of other namespaces may open."""

    port: int
    store: str
    reach: list[NamespaceReach]  # the namespaces of the input whose pods may
    any_namespace: bool  # a pod of a namespace not in the input may too


def first_workloads(reach: Iterable[NamespaceReach], limit: int) -> list[str]:
    """Up to `limit` distinct reaching workloads, without walking every reaching pod.

    Sorted when complete; a cut list keeps the engine's order (by namespace).
    """
    seen: dict[str, None] = {}
    for namespace in reach:
        for pod in namespace.members():
            seen.setdefault(str(workload_ref(pod)), None)
            if len(seen) >= limit:
                return list(seen)
    return sorted(seen)


def some(names: Sequence[str], shown: int = 4) -> str:
    """'a, b, c, d and 7 more': names for a message, cut so that messages stay short."""
    head = ", ".join(names[:shown])
    return f"{head} and {len(names) - shown} more" if len(names) > shown else head


# Words that make a name a datastore's companion, not the datastore (postgres-exporter,
# redis-commander, mongo-express).
COMPANION_WORDS = frozenset(
    {
        "exporter",
        "operator",
        "backup",
        "ui",
        "admin",
        "metrics",
        "dashboard",
        "commander",
        "express",
        "console",
        "proxy",
        "client",
        "sentinel",
    }
)


def _datastore_word(word: str) -> tuple[str, int] | None:
    """The datastore a word names: "redis", "redis7", "mysqldb"."""
    for candidate in (word, word.rstrip("0123456789"), word.removesuffix("db")):
        if candidate in DATASTORE_LABELS:
            return DATASTORE_LABELS[candidate]
    return None


def _labelled_datastore(pod: Pod) -> tuple[str, int] | None:
    """The datastore that the pod's identity labels or container names name, if any.

    The model keeps no images; the container's name usually repeats the image's.
    """
    names = [pod.labels.get(key, "") for key in IDENTITY_KEYS]
    names += sorted({cp.container for cp in pod.ports if cp.container})
    for name in names:
        words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
        if COMPANION_WORDS.intersection(words):
            continue
        for word in words:
            found = _datastore_word(word)
            if found is not None:
                return found
    return None


def _datastore_ports(pod: Pod, services: Iterable[Service]) -> dict[int, str]:
    """Datastore ports the pod serves, with the datastore's name.

    Well-known ports among the declared container ports and numeric Service targets;
    for a pod whose labels or container names name a datastore, its declared TCP ports
    (or, if it declares none, the datastore's usual port).
    """
    ports = {cp.container_port for cp in pod.ports if cp.protocol == Protocol.TCP}
    for service in services:
        if service.selects(pod):
            for sp in service.ports:
                target = sp.effective_target
                if sp.protocol == Protocol.TCP and isinstance(target, int):
                    ports.add(target)
    found = {p: DATASTORE_PORTS[p] for p in sorted(ports) if p in DATASTORE_PORTS}
    labelled = _labelled_datastore(pod)
    if not found and labelled is not None:
        name, usual = labelled
        found = dict.fromkeys(sorted(ports or {usual}), name)
    return found


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
    needs=ENGINE_KINDS,
)
def datastore_reachable_cross_namespace(ctx: AuditContext) -> Iterator[Hit]:
    policed = _policed_pods(ctx)
    per_namespace: dict[str, set[str]] = {}
    for pod in policed:
        per_namespace.setdefault(pod.namespace, set()).add(str(pod.owner))
    services_by_namespace: dict[str, list[Service]] = {}
    for service in ctx.snapshot.services:
        services_by_namespace.setdefault(service.namespace, []).append(service)
    newcomer = ctx.any_other_pod
    exposed: dict[ObjectRef, tuple[list[Pod], list[_ExposedPort]]] = {}
    for (ref, _), pods in sorted(_same_template(policed).items(), key=lambda item: item[0][0]):
        ports = _datastore_ports(pods[0], services_by_namespace.get(ref.namespace, []))
        found = []
        for port, store in ports.items():
            reach = ctx.engine.cross_namespace_reach(pods[0], port, Protocol.TCP)
            # A pod of a namespace not in the input yet: what lateral-movement-open counts too.
            admits_newcomers = ctx.engine.check(newcomer, pods[0], port, Protocol.TCP).allowed
            if reach or admits_newcomers:
                found.append(_ExposedPort(port, store, reach, admits_newcomers))
        if found:
            members_so_far, first_found = exposed.get(ref, ([], found))
            exposed[ref] = (members_so_far + pods, first_found)
    for ref in sorted(exposed):
        group, findings = exposed[ref]
        group = sorted(group, key=lambda p: p.name)
        unisolated = not ctx.engine.isolation(group[0]).ingress_isolated
        details = []
        port_evidence: JsonArray = []
        wide = unisolated
        for exposed_port in findings:
            port, reach = exposed_port.port, exposed_port.reach
            namespaces = [r.namespace for r in reach]
            # A whole namespace (of more than one workload) admitted means no pod selection.
            whole = [r.namespace for r in reach if r.whole and len(per_namespace[r.namespace]) > 1]
            wide = wide or bool(whole) or len(namespaces) >= 3 or exposed_port.any_namespace
            workloads = first_workloads(reach, MAX_LISTED + 1)
            if whole:
                who = f"every workload of {some(whole)}"
            elif len(workloads) > MAX_LISTED:
                who = ", ".join(workloads[:4]) + " and more"
            else:
                who = some(workloads)
            reachers = sum(r.pods for r in reach)
            sources = []
            if reach:
                sources.append(f"{plural(reachers, 'pod')} in {some(namespaces)} ({who})")
            if exposed_port.any_namespace:
                sources.append(
                    "any pod of a namespace not in the input"
                    if not reach
                    else "any namespace added later"
                )
            details.append(f"{port} ({exposed_port.store}) from " + " and ".join(sources))
            port_evidence.append(
                {
                    "port": port,
                    "service": exposed_port.store,
                    "reachers": reachers,
                    "namespaces": json_array(listed(namespaces)),
                    "wholeNamespaces": json_array(listed(whole)),
                    "workloads": json_array(
                        workloads[:MAX_LISTED]
                        + (["... and more"] if len(workloads) > MAX_LISTED else [])
                    ),
                    "anyOtherNamespace": exposed_port.any_namespace,
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
        first_port = findings[0].port
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
                                                NAMESPACE_NAME_LABEL: "CLIENT-NAMESPACE"
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


RULES: tuple[Rule, ...] = (
    lateral_movement_open,
    datastore_reachable_cross_namespace,
)
