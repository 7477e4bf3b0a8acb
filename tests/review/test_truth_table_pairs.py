"""The diff of every pair of truth-table cases on one cluster is the difference of their tables.

The upstream e2e cases (tests/netpol/test_e2e_truth_tables.py) share one cluster of
3 namespaces x 3 pods; cases with the same namespace and pod labels are two states
of that cluster. For every ordered pair of such cases and every port and protocol
both tables hold, the pod pairs `compare_connectivity` reports opened (closed)
must be exactly those the later (earlier) table allows and the other denies. The
expected side is computed from the tables alone, never from the engine.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kaudit.cli import app
from kaudit.collect.manifests import load_manifests
from kaudit.model import Protocol
from kaudit.netpol import PolicyEngine
from kaudit.review import PortRange, Scope, compare_connectivity
from kaudit.review.changes import PathChange
from tests.netpol.e2e_model import ALL, write_cluster
from tests.netpol.test_e2e_truth_tables import CASES, Case

Table = dict[str, dict[str, bool]]
Pairs = set[tuple[str, str]]


def _cluster_key(case: Case) -> str:
    return json.dumps([case.namespace_labels, case.pod_labels], sort_keys=True)


def _tables(case: Case) -> dict[tuple[int, Protocol], Table]:
    return {(port, protocol): truth().with_loopback() for port, protocol, truth in case.checks}


def _same_cluster_pairs() -> Iterator[tuple[Case, Case]]:
    for before in CASES:
        for after in CASES:
            if before is not after and _cluster_key(before) == _cluster_key(after):
                yield before, after


PAIRS = list(_same_cluster_pairs())


@cache
def _engine(name: str, root: str) -> PolicyEngine:
    case = next(c for c in CASES if c.name == name)
    directory = write_cluster(
        Path(root) / case.name, case.policies, case.namespace_labels, case.pod_labels
    )
    return PolicyEngine(load_manifests([str(directory)]))


def _pod_pairs(changes: tuple[PathChange, ...]) -> Pairs:
    return {pair for c in changes if c.scope is Scope.PODS for pair in c.connections()}


def _difference(gaining: Table, losing: Table) -> Pairs:
    """Pairs `gaining` allows and `losing` denies."""
    return {(s, d) for s in ALL for d in ALL if gaining[s][d] and not losing[s][d]}


def test_there_are_many_pairs_on_one_cluster() -> None:
    assert len(PAIRS) > 1000


def test_every_pair_of_cases_diffs_as_its_tables(tmp_path_factory: pytest.TempPathFactory) -> None:
    root = str(tmp_path_factory.mktemp("cases"))
    checked = 0
    wrong: list[str] = []
    for before, after in PAIRS:
        before_tables, after_tables = _tables(before), _tables(after)
        for port, protocol in sorted(before_tables.keys() & after_tables.keys()):
            diff = compare_connectivity(
                _engine(before.name, root),
                _engine(after.name, root),
                ports=PortRange(port, port),
                protocols=(protocol,),
            )
            old, new = before_tables[(port, protocol)], after_tables[(port, protocol)]
            opened, closed = _pod_pairs(diff.opened), _pod_pairs(diff.closed)
            if opened != _difference(new, old) or closed != _difference(old, new):
                wrong.append(f"{before.name} -> {after.name} on {port}/{protocol}")
            assert all(c.ports == (PortRange(port, port),) for c in diff.opened + diff.closed)
            checked += 1
    assert wrong == []
    assert checked > 1000


# Held-out style: the command line on a few pairs, reading only the JSON.
CLI_PAIRS = [
    ("default-deny-ingress", "allow-only-from-another-namespace-by-namespaceselector", 80, "TCP"),
    ("podselector-and-namespaceselector", "default-deny-all", 80, "TCP"),
    ("udp-only-policy-does-not-allow-tcp", "ports-udp", 81, "UDP"),
    ("default-deny-ingress", "only-from-a-pod-in-another-namespace-udp", 80, "UDP"),
]


@pytest.mark.parametrize(("before", "after", "port", "protocol"), CLI_PAIRS)
def test_the_command_line_lists_exactly_the_changed_pod_pairs(
    tmp_path: Path, before: str, after: str, port: int, protocol: str
) -> None:
    cases = {c.name: c for c in CASES}
    old_case, new_case = cases[before], cases[after]
    old_dir = write_cluster(tmp_path / "before", old_case.policies)
    new_dir = write_cluster(tmp_path / "after", new_case.policies)
    result = CliRunner().invoke(
        app,
        [
            "diff",
            str(old_dir),
            str(new_dir),
            "--port",
            str(port),
            "--protocol",
            protocol,
            "--format",
            "json",
            "--fail-on",
            "never",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    key = (port, Protocol(protocol))
    old, new = _tables(old_case)[key], _tables(new_case)[key]

    def listed(entries: list[dict[str, object]]) -> Pairs:
        pairs: Pairs = set()
        for entry in entries:
            assert entry["protocol"] == protocol
            assert entry["ports"] == [{"port": port, "endPort": port}]
            if entry["scope"] != "pods":
                continue
            sources, targets = entry["from"], entry["to"]
            assert isinstance(sources, list) and isinstance(targets, list)
            block = {(s, t) for s in sources for t in targets if s != t}
            assert len(block) == entry["connections"]
            pairs |= block
        return pairs

    assert listed(data["connectivity"]["opened"]) == _difference(new, old)
    assert listed(data["connectivity"]["closed"]) == _difference(old, new)
    assert _difference(new, old) | _difference(old, new)  # the pair does change something
