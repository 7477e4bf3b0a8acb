"""`kaudit reach --group class|workload|namespace`: the matrix of one port, grouped, streamed.

The answer is yielded piece by piece (the groups, then one row per group) so
that a 50,000-pod cluster never holds its matrix in memory. JSON is one
document written incrementally, one group or row per line; the shapes are in
docs/reach.md. Text goes through `terminal_text` line by line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from kaudit.errors import InputError
from kaudit.model import Protocol
from kaudit.netpol.engine import PolicyEngine
from kaudit.netpol.groups import (
    GROUP_KINDS,
    class_groups,
    class_rows,
    group_rows,
    pod_groups,
)
from kaudit.report.textsafe import terminal_text

OWN_NODE_NOTE = "a pod may always reach itself, and hostNetwork pods and the pods on their node"


def grouped_reach(
    engine: PolicyEngine, *, port: int, protocol: Protocol, group: str, fmt: str
) -> Iterator[str]:
    """The grouped matrix for `port`/`protocol`, in pieces that each end with a newline."""
    if group not in GROUP_KINDS:
        raise InputError(f"--group: unknown grouping {group!r} (expected {', '.join(GROUP_KINDS)})")
    if fmt not in ("text", "json"):
        raise InputError(f"--format: unknown format {fmt!r} (expected text or json)")
    if group == "class":
        pieces = _class_json if fmt == "json" else _class_text
    else:
        pieces = _pairs_json if fmt == "json" else _pairs_text
    return pieces(engine, port, protocol, group)


def _head(port: int, protocol: Protocol, group: str) -> str:
    return f'{{"port": {port}, "protocol": {json.dumps(protocol.value)}, "group": "{group}",\n'


def _class_json(engine: PolicyEngine, port: int, protocol: Protocol, group: str) -> Iterator[str]:
    groups = class_groups(engine)
    yield _head(port, protocol, group) + '"groups": [\n'
    for position, cls in enumerate(groups):
        entry = {
            "id": position,
            "namespace": cls.namespace,
            "host_network": cls.host_network,
            "pods": [{"pod": p.key, "node": p.node_name} for p in cls.members],
        }
        yield ("," if position else "") + json.dumps(entry) + "\n"
    yield '],\n"allowed": [\n'
    for row in class_rows(engine, groups, port, protocol):
        entry_row = {"from": row.source, "to": list(row.targets)}
        yield ("," if row.source else "") + json.dumps(entry_row) + "\n"
    yield "]}\n"


def _class_text(engine: PolicyEngine, port: int, protocol: Protocol, group: str) -> Iterator[str]:
    groups = class_groups(engine)
    pods = sum(len(cls.members) for cls in groups)
    yield f"{len(groups)} pod classes of {pods} pods on {port}/{protocol} ({OWN_NODE_NOTE}):\n"
    for position, cls in enumerate(groups):
        where = ""
        if cls.host_network:
            where = f", hostNetwork on node {cls.node}" if cls.node else ", hostNetwork"
        names = ", ".join(terminal_text(p.key) for p in cls.members)
        yield f"  class {position}{terminal_text(where)}: {names}\n"
    yield "classes each class may reach:\n"
    for row in class_rows(engine, groups, port, protocol):
        targets = ", ".join(str(t) for t in row.targets) or "(none)"
        yield f"  {row.source} -> {targets}\n"


def _pairs_json(engine: PolicyEngine, port: int, protocol: Protocol, group: str) -> Iterator[str]:
    groups = pod_groups(engine, group)
    yield _head(port, protocol, group) + '"groups": [\n'
    for position, entry in enumerate(groups):
        item = {"id": position, "name": entry.name, "pods": len(entry.pods)}
        yield ("," if position else "") + json.dumps(item) + "\n"
    yield '],\n"allowed": [\n'
    for row in group_rows(engine, groups, port, protocol):
        item_row = {
            "from": row.source,
            "to": [
                {"id": p.target, "verdict": p.verdict, "allowed": p.allowed, "pairs": p.pairs}
                for p in row.pairs
            ],
        }
        yield ("," if row.source else "") + json.dumps(item_row) + "\n"
    yield "]}\n"


def _pairs_text(engine: PolicyEngine, port: int, protocol: Protocol, group: str) -> Iterator[str]:
    groups = pod_groups(engine, group)
    pods = sum(len(entry.pods) for entry in groups)
    noun = "workloads" if group == "workload" else "namespaces"
    yield (
        f"{len(groups)} {noun} of {pods} pods on {port}/{protocol}"
        " (pod pairs that may connect; pairs not listed are denied):\n"
    )
    names = [terminal_text(entry.name) for entry in groups]
    for row in group_rows(engine, groups, port, protocol):
        for p in row.pairs:
            yield (
                f"  {names[row.source]} -> {names[p.target]}: {p.verdict} "
                f"({p.allowed} of {p.pairs} pod pairs)\n"
            )
