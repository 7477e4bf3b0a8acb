"""Incomplete means listed: every kind the source could not collect names the rules
it leaves incomplete, whether a rule declares the kind or only reads it."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import pytest

from kaudit.audit import audit
from kaudit.collect.manifests import load_manifests
from kaudit.findings import Finding
from kaudit.model import CollectionWarning, Resource, Snapshot
from kaudit.rules.registry import all_rules

DEMO = Path(__file__).resolve().parents[1] / "kaudit" / "demo" / "insecure"

FIELDS = {
    Resource.NAMESPACES: "namespaces",
    Resource.PODS: "pods",
    Resource.SERVICES: "services",
    Resource.ENDPOINT_SLICES: "endpoint_slices",
    Resource.NETWORK_POLICIES: "network_policies",
    Resource.INGRESSES: "ingresses",
    Resource.INGRESS_CLASSES: "ingress_classes",
    Resource.CLUSTER_NETWORK_POLICIES: "admin_policies",
    Resource.ADMIN_NETWORK_POLICIES: "admin_policies",
    Resource.BASELINE_ADMIN_NETWORK_POLICIES: "admin_policies",
    Resource.NODES: "nodes",
}


@functools.cache
def demo() -> Snapshot:
    return load_manifests([str(DEMO)])


def without(kind: Resource) -> Snapshot:
    """The demo as a live collection that could not list `kind`."""
    warning = CollectionWarning(f"cannot list {kind} (forbidden)", kind=kind)
    changes: dict[str, Any] = {FIELDS[kind]: (), "warnings": (warning,)}
    return dataclasses.replace(demo(), **changes)


def keys(findings: tuple[Finding, ...]) -> set[tuple[str, str, str]]:
    return {(f.rule_id, str(f.resource), f.message) for f in findings}


def test_every_kind_is_covered() -> None:
    assert set(FIELDS) == set(Resource)


@pytest.mark.parametrize("kind", list(Resource), ids=str)
def test_a_missing_kind_lists_the_rules_it_leaves_incomplete(kind: Resource) -> None:
    report = audit(without(kind))
    assert report.incomplete_rules, f"{kind} is missing but no rule is listed as incomplete"
    assert all(str(kind) in kinds for kinds in report.incomplete_rules.values())
    declared = {rule.name for rule in all_rules() if kind in rule.needs}
    assert declared <= set(report.incomplete_rules)
    assert not report.complete


@pytest.mark.parametrize("kind", list(Resource), ids=str)
def test_rules_that_do_not_read_the_missing_kind_report_as_before(kind: Resource) -> None:
    full = audit(demo())
    partial = audit(without(kind))
    incomplete_ids = {r.id for r in all_rules() if r.name in partial.incomplete_rules}
    assert keys(partial.findings) <= keys(full.findings)
    kept = {k for k in keys(full.findings) if k[0] not in incomplete_ids}
    # Rules that never read the kind find exactly what they find on the whole demo.
    assert kept == keys(partial.findings)


def test_namespaces_leave_the_selector_and_policy_rules_incomplete() -> None:
    report = audit(without(Resource.NAMESPACES))
    # Namespace selectors match namespace labels: the engine reads them.
    assert "namespaces" in report.incomplete_rules["namespace-without-default-deny-ingress"]


def test_endpoint_slices_leave_the_endpoint_rules_incomplete() -> None:
    report = audit(without(Resource.ENDPOINT_SLICES))
    # Manually managed endpoints excuse a selector that matches nothing. A rule whose
    # run never reached the slices (no Service with only unready pods here) did not
    # depend on them, so its findings are complete.
    assert report.incomplete_rules["service-no-endpoints"] == ("endpointslices",)


def test_a_complete_snapshot_lists_no_rule() -> None:
    assert audit(demo()).incomplete_rules == {}
