"""The documentation's examples as truth tables (tests/netpol/cni/cases.py): first the
reference evaluator written from the documentation must give every stated answer,
then the engine (through `kaudit reach`'s questions) must give the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaudit.collect.manifests import load_manifests
from kaudit.model import Protocol, Snapshot
from tests.netpol.cni.cases import ALL_CASES, DATA, Case
from tests.netpol.cni.reference import CniReference


def load_case(case: Case, folder: Path) -> Snapshot:
    inline = folder / f"{case.name}.yaml"
    inline.write_text(case.manifests)
    return load_manifests([*(str(DATA / f) for f in case.files), str(inline)])


def answers(case: Case, snapshot: Snapshot) -> list[tuple[str, str, int, str, bool]]:
    reference = CniReference(snapshot)
    return [
        (
            e.src,
            e.dst,
            e.port,
            e.protocol,
            reference.allowed(
                reference.pod(e.src), reference.pod(e.dst), e.port, Protocol(e.protocol)
            ),
        )
        for e in case.expect
    ]


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_the_reference_gives_the_documented_answers(case: Case, tmp_path: Path) -> None:
    snapshot = load_case(case, tmp_path)
    expected = [(e.src, e.dst, e.port, e.protocol, e.allowed) for e in case.expect]
    assert answers(case, snapshot) == expected, case.source


def test_every_case_cites_its_page_and_asks_both_answers() -> None:
    for case in ALL_CASES:
        assert case.source.startswith(("https://", "sw_")), case.name
    assert any(not e.allowed for c in ALL_CASES for e in c.expect)
    assert len({c.name for c in ALL_CASES}) == len(ALL_CASES)


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_the_engine_gives_the_documented_answers(case: Case, tmp_path: Path) -> None:
    from kaudit.netpol import PolicyEngine

    snapshot = load_case(case, tmp_path)
    engine = PolicyEngine(snapshot)
    pods = {p.key: p for p in snapshot.pods}
    got = [
        (
            e.src,
            e.dst,
            e.port,
            e.protocol,
            engine.check(pods[e.src], pods[e.dst], e.port, Protocol(e.protocol)).allowed,
        )
        for e in case.expect
    ]
    assert got == [(e.src, e.dst, e.port, e.protocol, e.allowed) for e in case.expect], case.source
