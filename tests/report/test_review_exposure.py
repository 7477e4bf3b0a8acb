"""Outside paths a change adds, removes and alters (two exposure inventories compared)."""

from __future__ import annotations

import dataclasses

from kaudit.exposure import ExposedPort, ExposureEntry, ExposureInventory, Via
from kaudit.model import ObjectRef
from kaudit.report.review_exposure import (
    entry_text,
    exposure_changes,
    gated_outside_paths,
    opened_paths,
)
from kaudit.review.gate import parse_gate


def entry(name: str, via: Via = Via.NODE_PORT, admitted: bool | None = True) -> ExposureEntry:
    return ExposureEntry(
        namespace="shop",
        workload=ObjectRef("Deployment", "shop", name),
        via=via,
        entry="30080",
        ports=(ExposedPort(30080, target_port=8080),),
        tls=False,
        admitted_by_policy=admitted,
        path=(ObjectRef("Service", "shop", name),),
        pods=2,
    )


def test_paths_are_matched_by_workload_way_in_entry_and_objects() -> None:
    before = ExposureInventory(entries=(entry("web", admitted=False), entry("old")))
    after = ExposureInventory(entries=(entry("web", admitted=None), entry("new")))
    changes = exposure_changes(before, after)
    assert changes is not None
    assert [e.workload.name for e in changes.added] == ["new"]
    assert [e.workload.name for e in changes.removed] == ["old"]
    assert [(o.admitted_by_policy, n.admitted_by_policy) for o, n in changes.changed] == [
        (False, None)
    ]
    # Wider admission counts as opened, like a new path.
    assert [e.workload.name for e in opened_paths(changes)] == ["new", "web"]
    narrower = exposure_changes(after, before)
    assert narrower is not None
    assert [e.workload.name for e in opened_paths(narrower)] == ["old"]


def test_no_inventory_on_a_side_means_no_comparison() -> None:
    assert exposure_changes(None, ExposureInventory()) is None
    same = exposure_changes(
        ExposureInventory(entries=(entry("a"),)), ExposureInventory(entries=(entry("a"),))
    )
    assert same is not None and same.empty


def test_gates_and_text() -> None:
    path = dataclasses.replace(entry("web"), tls=None)
    assert entry_text(path) == (
        "NodePort 30080 30080→8080/TCP -> shop/Deployment/web (TLS unknown, admitted by policy)"
    )
    labels = {"shop": {"team": "storefront"}}
    assert gated_outside_paths([path], [parse_gate("outside")], labels)
    assert gated_outside_paths([path], [parse_gate("team=storefront")], labels)
    assert not gated_outside_paths([path], [parse_gate("team=payments")], labels)
