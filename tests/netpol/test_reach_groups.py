"""`kaudit reach --group`: grouped answers equal what the dense pod-by-pod matrix implies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given

from kaudit.cli.reach_groups import grouped_reach
from kaudit.cli.reach_render import DENSE_LIMIT, reach_report
from kaudit.errors import InputError
from kaudit.model import ClusterFacts, Namespace, Pod, Protocol, Snapshot
from kaudit.netpol import PolicyEngine
from kaudit.netpol.groups import group_name
from tests.netpol.helpers import Cluster, namespace_doc, pod_doc
from tests.netpol.test_differential import FAST, clusters

CHECKED = ((80, Protocol.TCP), (53, Protocol.UDP), (9000, Protocol.TCP), (81, Protocol.SCTP))


def grouped(engine: PolicyEngine, port: int, protocol: Protocol, group: str) -> Any:
    pieces = grouped_reach(engine, port=port, protocol=protocol, group=group, fmt="json")
    return json.loads("".join(pieces))


def may_connect_by_class(answer: Any, src: Pod, dst: Pod) -> bool:
    """What the class answer says of one pod pair, by the rule docs/reach.md states."""
    where = {
        p["pod"]: (g["id"], g["host_network"], p["node"])
        for g in answer["groups"]
        for p in g["pods"]
    }
    (src_group, src_host, src_node), (dst_group, dst_host, dst_node) = (
        where[src.key],
        where[dst.key],
    )
    if src.key == dst.key:
        return True
    if (src_host or dst_host) and src_node is not None and src_node == dst_node:
        return True
    rows = {row["from"]: row["to"] for row in answer["allowed"]}
    return dst_group in rows[src_group]


def check_against_dense(engine: PolicyEngine) -> None:
    pods = engine.pods
    for port, protocol in CHECKED:
        matrix = engine.matrix(port, protocol)
        by_class = grouped(engine, port, protocol, "class")
        assert sorted(p["pod"] for g in by_class["groups"] for p in g["pods"]) == sorted(matrix)
        for src in pods:
            for dst in pods:
                assert may_connect_by_class(by_class, src, dst) is matrix[src.key][dst.key]
        for kind in ("workload", "namespace"):
            answer = grouped(engine, port, protocol, kind)
            names = [g["name"] for g in answer["groups"]]
            expected: dict[tuple[str, str], list[int]] = {}
            for src in pods:
                for dst in pods:
                    if src.key != dst.key:
                        key = (group_name(src, kind), group_name(dst, kind))
                        counts = expected.setdefault(key, [0, 0])
                        counts[0] += matrix[src.key][dst.key]
                        counts[1] += 1
            found = {
                (names[row["from"]], names[pair["id"]]): [pair["allowed"], pair["pairs"]]
                for row in answer["allowed"]
                for pair in row["to"]
            }
            assert found == {key: counts for key, counts in expected.items() if counts[0]}
            for row in answer["allowed"]:
                for pair in row["to"]:
                    verdict = "allowed" if pair["allowed"] == pair["pairs"] else "partial"
                    assert pair["verdict"] == verdict


@FAST
@given(clusters())
def test_grouped_answers_equal_the_dense_matrix(snapshot: Snapshot) -> None:
    check_against_dense(PolicyEngine(snapshot))


# Two namespaces; "web" is a Deployment of two replicas on two nodes, a hostNetwork
# agent runs on node-1; "prod" admits web only on 80.
TABLE = (
    namespace_doc("prod")
    + namespace_doc("ops")
    + pod_doc("prod/web-1", {"app": "web"}, node="node-1")
    + pod_doc("prod/web-2", {"app": "web"}, node="node-2")
    + pod_doc("prod/db", {"app": "db"}, node="node-2")
    + pod_doc("ops/agent", {"app": "agent"}, host_network=True, node="node-1")
    + """---
kind: NetworkPolicy
metadata: {name: web-only, namespace: prod}
spec:
  podSelector: {}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 80}]
"""
)


def test_class_groups_table() -> None:
    engine = Cluster(TABLE).engine
    answer = grouped(engine, 80, Protocol.TCP, "class")
    groups = {tuple(p["pod"] for p in g["pods"]): g for g in answer["groups"]}
    assert set(groups) == {("ops/agent",), ("prod/db",), ("prod/web-1", "prod/web-2")}
    assert groups[("ops/agent",)]["host_network"] is True
    ids = {names: g["id"] for names, g in groups.items()}
    rows = {row["from"]: set(row["to"]) for row in answer["allowed"]}
    web, db, agent = ids[("prod/web-1", "prod/web-2")], ids[("prod/db",)], ids[("ops/agent",)]
    assert rows[web] == {web, db, agent}
    assert rows[db] == {agent}
    assert rows[agent] == {agent}
    text = "".join(grouped_reach(engine, port=80, protocol=Protocol.TCP, group="class", fmt="text"))
    assert "  class 0, hostNetwork on node node-1: ops/agent" in text.splitlines()


def test_workload_and_namespace_groups_table() -> None:
    engine = Cluster(TABLE).engine
    answer = grouped(engine, 80, Protocol.TCP, "namespace")
    names = [g["name"] for g in answer["groups"]]
    assert names == ["ops", "prod"]
    rows = {
        names[row["from"]]: {
            names[p["id"]]: (p["verdict"], p["allowed"], p["pairs"]) for p in row["to"]
        }
        for row in answer["allowed"]
    }
    # The agent reaches web-1 on its own node only: 1 of the 3 prod pods.
    assert rows["ops"] == {"prod": ("partial", 1, 3)}
    assert rows["prod"] == {"ops": ("allowed", 3, 3), "prod": ("partial", 4, 6)}
    text = "".join(
        grouped_reach(engine, port=80, protocol=Protocol.TCP, group="workload", fmt="text")
    )
    assert "  prod/Pod/web-1 -> prod/Pod/db: allowed (1 of 1 pod pairs)" in text.splitlines()
    assert "  ops/Pod/agent -> prod/Pod/web-1: allowed (1 of 1 pod pairs)" in text.splitlines()
    assert "ops/Pod/agent -> prod/Pod/db" not in text


def test_grouping_input_errors() -> None:
    engine = Cluster(TABLE).engine
    with pytest.raises(InputError, match="--group: unknown grouping 'pod'"):
        grouped_reach(engine, port=80, protocol=Protocol.TCP, group="pod", fmt="json")


def big_snapshot(pods: int) -> Snapshot:
    return Snapshot(
        facts=ClusterFacts(source="manifests"),
        namespaces=(Namespace.implicit("big"),),
        pods=tuple(
            Pod.from_raw(
                {
                    "metadata": {"name": f"p{i}", "namespace": "big", "labels": {"app": "x"}},
                    "status": {"phase": "Running"},
                }
            )
            for i in range(pods)
        ),
    )


def test_dense_matrix_is_refused_above_the_limit() -> None:
    snapshot = big_snapshot(DENSE_LIMIT + 1)
    with pytest.raises(InputError, match="use --group class\\|workload\\|namespace"):
        reach_report(
            snapshot, src=None, dst=None, to_ip=None, port=80, protocol=Protocol.TCP, fmt="json"
        )
    answer = grouped(PolicyEngine(snapshot), 80, Protocol.TCP, "namespace")
    assert answer["allowed"] == [
        {
            "from": 0,
            "to": [{"id": 0, "verdict": "allowed", "allowed": 2001 * 2000, "pairs": 2001 * 2000}],
        }
    ]


def test_dense_matrix_when_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kaudit.cli.reach_render.DENSE_LIMIT", 2)
    snapshot = big_snapshot(3)
    with pytest.raises(InputError, match="matrix of 3 pods is too large"):
        reach_report(
            snapshot, src=None, dst=None, to_ip=None, port=80, protocol=Protocol.TCP, fmt="text"
        )
    forced = reach_report(
        snapshot,
        src=None,
        dst=None,
        to_ip=None,
        port=80,
        protocol=Protocol.TCP,
        fmt="text",
        dense=True,
    )
    assert forced.startswith("6 of 6 pod pairs")
