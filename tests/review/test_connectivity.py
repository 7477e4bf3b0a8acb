"""The connectivity comparison on small hand-made clusters, every expected value written out."""

from __future__ import annotations

from typing import Any

from kaudit.model import ClusterFacts, Namespace, NetworkPolicy, Pod, Protocol, Snapshot
from kaudit.netpol import PolicyEngine
from kaudit.review import (
    CLUSTER_DNS,
    INTERNET_ADDRESS,
    METADATA_ADDRESS,
    ConnectivityDiff,
    PortRange,
    Scope,
    compare_connectivity,
    group_by_workload,
)

TCP, UDP = Protocol.TCP, Protocol.UDP


def pod(name: str, namespace: str = "a", node: str | None = None, **extra: Any) -> Pod:
    spec: dict[str, Any] = {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]}
    if node:
        spec["nodeName"] = node
    if extra.get("host"):
        spec["hostNetwork"] = True
    labels = {"app": extra.get("app", name)}
    refs = extra.get("owner")
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if refs:
        metadata["ownerReferences"] = [{"kind": refs[0], "name": refs[1], "controller": True}]
    return Pod.from_raw({"metadata": metadata, "spec": spec, "status": {"phase": "Running"}})


def policy(name: str, namespace: str, spec: dict[str, Any]) -> NetworkPolicy:
    return NetworkPolicy.from_raw(
        {"metadata": {"name": name, "namespace": namespace}, "spec": spec}
    )


DENY_INGRESS = {"podSelector": {}, "policyTypes": ["Ingress"]}
DENY_EGRESS = {"podSelector": {}, "policyTypes": ["Egress"]}


def snapshot(pods: list[Pod], policies: list[NetworkPolicy] = ()) -> Snapshot:  # type: ignore[assignment]
    names = sorted({p.namespace for p in pods} | {"a"})
    return Snapshot(
        facts=ClusterFacts(source="manifests"),
        namespaces=tuple(Namespace.implicit(n) for n in names),
        pods=tuple(pods),
        network_policies=tuple(policies),
    )


def compare(before: Snapshot, after: Snapshot, **kwargs: Any) -> ConnectivityDiff:
    return compare_connectivity(PolicyEngine(before), PolicyEngine(after), **kwargs)


def pairs(diff: ConnectivityDiff, which: str, scope: Scope = Scope.PODS) -> set[tuple[str, str]]:
    return {
        pair
        for change in getattr(diff, which)
        if change.scope is scope
        for pair in change.connections()
    }


def test_a_default_deny_closes_every_way_in_on_every_port_and_protocol() -> None:
    pods = [pod("x"), pod("y")]
    diff = compare(snapshot(pods), snapshot(pods, [policy("deny", "a", DENY_INGRESS)]))
    assert diff.opened == ()
    closed = [c for c in diff.closed if c.scope is Scope.PODS]
    assert {(c.sources, c.targets, c.protocol, c.ports) for c in closed} == {
        (("a/x", "a/y"), ("a/x", "a/y"), proto, (PortRange(1, 65535),)) for proto in Protocol
    }
    assert all(c.pairs == 2 for c in closed)
    ingress = [c for c in diff.closed if c.scope is Scope.INGRESS]
    assert {(c.sources, c.targets) for c in ingress} == {((INTERNET_ADDRESS,), ("a/x", "a/y"))}


def test_a_port_rule_opens_exactly_its_range() -> None:
    pods = [pod("x"), pod("y")]
    deny = policy("deny", "a", DENY_INGRESS)
    allow = policy(
        "allow",
        "a",
        {
            "podSelector": {"matchLabels": {"app": "y"}},
            "ingress": [
                {"ports": [{"port": 8000, "endPort": 8080}, {"port": 53, "protocol": "UDP"}]}
            ],
        },
    )
    diff = compare(snapshot(pods, [deny]), snapshot(pods, [deny, allow]))
    found = {(c.scope, c.sources, c.targets, c.protocol, c.ports) for c in diff.opened}
    assert found == {
        (Scope.PODS, ("a/x",), ("a/y",), TCP, (PortRange(8000, 8080),)),
        (Scope.PODS, ("a/x",), ("a/y",), UDP, (PortRange(53, 53),)),
        (Scope.INGRESS, (INTERNET_ADDRESS,), ("a/y",), TCP, (PortRange(8000, 8080),)),
        (Scope.INGRESS, (INTERNET_ADDRESS,), ("a/y",), UDP, (PortRange(53, 53),)),
    }
    assert diff.closed == ()
    restricted = compare(
        snapshot(pods, [deny]),
        snapshot(pods, [deny, allow]),
        ports=PortRange(8080, 9000),
        protocols=(TCP,),
    )
    assert {(c.scope, c.ports) for c in restricted.opened} == {
        (Scope.PODS, (PortRange(8080, 8080),)),
        (Scope.INGRESS, (PortRange(8080, 8080),)),
    }


def test_egress_changes_to_the_internet_the_metadata_endpoint_and_dns() -> None:
    pods = [pod("x"), pod("coredns", "kube-system", app="x")]
    coredns = Pod.from_raw(
        {
            "metadata": {
                "name": "coredns",
                "namespace": "kube-system",
                "labels": {"k8s-app": "kube-dns"},
            },
            "spec": {
                "containers": [{"name": "c", "ports": [{"containerPort": 53, "protocol": "UDP"}]}]
            },
            "status": {"phase": "Running"},
        }
    )
    pods = [pod("x"), coredns]
    deny_egress = policy("deny", "a", DENY_EGRESS)
    diff = compare(snapshot(pods), snapshot(pods, [deny_egress]), ports=PortRange(53, 80))
    by_scope = {(c.scope, c.targets, c.protocol): c for c in diff.closed}
    assert by_scope[(Scope.EGRESS, (METADATA_ADDRESS,), TCP)].ports == (PortRange(80, 80),)
    assert by_scope[(Scope.EGRESS, (INTERNET_ADDRESS,), UDP)].ports == (PortRange(53, 80),)
    assert by_scope[(Scope.DNS, (CLUSTER_DNS,), UDP)].sources == ("a/x",)
    assert by_scope[(Scope.DNS, (CLUSTER_DNS,), TCP)].sources == ("a/x",)
    assert pairs(diff, "closed") == {("a/x", "kube-system/coredns")}
    assert pairs(diff, "opened") == set()


def test_own_node_traffic_of_a_host_network_pod_never_changes() -> None:
    host = pod("h", node="n1", host=True)
    near, far = pod("q", node="n1"), pod("r", node="n2")
    pods = [host, near, far]
    diff = compare(snapshot(pods, [policy("deny", "a", DENY_INGRESS)]), snapshot(pods))
    # h -> q and q -> h are allowed before by the own-node rule; h is never isolated.
    assert pairs(diff, "opened") == {
        ("a/q", "a/r"),
        ("a/r", "a/q"),
        ("a/h", "a/r"),
    }
    assert pairs(diff, "closed") == set()


def test_a_pod_moving_away_from_a_host_network_pod_loses_the_own_node_exception() -> None:
    host = pod("h", node="n1", host=True)
    deny = [policy("deny", "a", DENY_INGRESS)]
    before = snapshot([host, pod("q", node="n1")], deny)
    after = snapshot([host, pod("q", node="n2")], deny)
    diff = compare(before, after, protocols=(TCP,), ports=PortRange(80, 80))
    assert pairs(diff, "closed") == {("a/h", "a/q")}
    assert pairs(diff, "opened") == set()


def test_added_and_removed_pods_open_and_close_their_connections() -> None:
    before = snapshot([pod("x"), pod("old")])
    after = snapshot([pod("x"), pod("new")])
    diff = compare(before, after, protocols=(TCP,), ports=PortRange(80, 80))
    assert diff.added_pods == ("a/new",) and diff.removed_pods == ("a/old",)
    assert pairs(diff, "opened") == {("a/x", "a/new"), ("a/new", "a/x")}
    assert pairs(diff, "closed") == {("a/x", "a/old"), ("a/old", "a/x")}


def test_workload_rows_count_pod_pairs_and_fold_protocols() -> None:
    web = [pod(f"web-{i}", app="web", owner=("ReplicaSet", "web-5d9c")) for i in range(3)]
    db = [pod(f"db-{i}", "b", app="db", owner=("StatefulSet", "db")) for i in range(2)]
    pods = web + db
    deny = policy("deny", "b", DENY_INGRESS)
    diff = compare(snapshot(pods), snapshot(pods, [deny]))
    rows = group_by_workload(diff.closed, diff.workloads)
    pod_rows = [r for r in rows if r.scope is Scope.PODS]
    assert [
        (r.source, r.target, r.protocols, r.pairs, r.source_pods, r.target_pods) for r in pod_rows
    ] == [
        ("a/ReplicaSet/web-5d9c", "b/StatefulSet/db", (Protocol.SCTP, TCP, UDP), 6, 3, 2),
        ("b/StatefulSet/db", "b/StatefulSet/db", (Protocol.SCTP, TCP, UDP), 2, 2, 2),
    ]
