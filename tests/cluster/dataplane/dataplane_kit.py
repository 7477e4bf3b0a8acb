"""Matrices on real packets, compared with an expected table and with `kaudit reach`.

A Tally (one per session, kept in the pytest config) counts matrices, cells,
disagreements and the cells a listed quirk explains; conftest.py prints it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hack.dataplane.plane import Dataplane
from kaudit.cli import app
from tests.cluster.dataplane.dataplane_quirks import quirks_in

Table = dict[str, dict[str, bool]]


@dataclass
class Tally:
    matrices: int = 0
    cells: int = 0
    disagreements: int = 0
    known_quirks: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"dataplane: {self.matrices} matrices, {self.cells} cells, "
            f"{self.disagreements} disagreements ({self.known_quirks} known quirks)"
        )


TALLY_KEY = pytest.StashKey[Tally]()


def manifest(objects: list[dict[str, Any]]) -> str:
    """JSON documents: quoted strings stay strings (a YAML 1.1 reader such as kubectl's
    turns a bare `y`, a namespace name here, into a boolean)."""
    return "".join(f"---\n{json.dumps(obj)}\n" for obj in objects)


def reach_live(kubeconfig: Path, port: int, protocol: str) -> Table:
    """`kaudit reach --format json` on the live cluster (the command line, in process)."""
    result = CliRunner().invoke(
        app,
        [
            "reach",
            "--kubeconfig",
            str(kubeconfig),
            "--port",
            str(port),
            "--protocol",
            protocol,
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    allowed: Table = data["allowed"]
    return allowed


def check_matrix(
    tally: Tally,
    plane: Dataplane,
    name: str,
    keys: list[str],
    port: int,
    protocol: str,
    policies: list[dict[str, Any]],
    expected: Table | None = None,
) -> list[str]:
    """Probe every pair of `keys`, compare with `kaudit reach` (and `expected`); returns
    the disagreements no listed quirk explains."""
    pairs = [(src, dst) for src in keys for dst in keys]
    wanted = None if expected is None else {(s, d): expected[s][d] for s, d in pairs}
    return check_pairs(tally, plane, name, pairs, port, protocol, policies, wanted)


def check_pairs(
    tally: Tally,
    plane: Dataplane,
    name: str,
    pairs: list[tuple[str, str]],
    port: int,
    protocol: str,
    policies: list[dict[str, Any]],
    expected: dict[tuple[str, str], bool] | None = None,
) -> list[str]:
    """The same for some pairs: one table of `len(pairs)` cells."""
    checks = [(src, dst, port, protocol) for src, dst in pairs]
    probed = plane.probe(checks)
    engine = reach_live(plane.kube.kubeconfig, port, protocol)
    missing = sorted({k for pair in pairs for k in pair if k not in engine})
    assert not missing, f"kaudit reach does not list {missing}"
    # A dropped probe where an answer was expected is confirmed with patient timeouts
    # (a busy machine can delay an answer; no wait makes a dropped packet arrive).
    doubtful = [
        i
        for i, (src, dst) in enumerate(pairs)
        if not probed[i] and (engine[src][dst] or (expected is not None and expected[(src, dst)]))
    ]
    confirmed = plane.confirm([checks[i] for i in doubtful], [False] * len(doubtful))
    for i, ok in zip(doubtful, confirmed, strict=True):
        probed[i] = ok
    quirks = quirks_in(policies)
    wrong = []
    explained = []
    explaining: set[str] = set()
    for i, (src, dst) in enumerate(pairs):
        answers = {"packets": probed[i], "kaudit": engine[src][dst]}
        if expected is not None:
            answers["expected"] = expected[(src, dst)]
        if len(set(answers.values())) > 1:
            shown = ", ".join(f"{k} {'allow' if v else 'deny'}" for k, v in answers.items())
            line = f"{name} {port}/{protocol} {src} -> {dst}: {shown}"
            pair = (answers["packets"], answers["kaudit"])
            by = [q.name for q in quirks if pair in q.explains]
            if by and answers.get("expected", pair[1]) == pair[1]:
                explained.append(line)
                explaining.update(by)
            else:
                wrong.append(line)
    tally.matrices += 1
    tally.cells += len(pairs)
    tally.disagreements += len(wrong)
    tally.known_quirks += len(explained)
    if explained:
        tally.notes.append(
            f"{name} {port}/{protocol}: {len(explained)} cells explained by "
            + " or ".join(sorted(explaining))
        )
    return wrong
