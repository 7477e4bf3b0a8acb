"""The upstream NetworkPolicy e2e cases on real packets.

The cases of tests/netpol/test_e2e_truth_tables.py (read as they are) run on the
live cluster: namespaces x, y, z with pods a, b, c on the dataplane node, each
case's labels and policies applied through the API server, and every matrix it
checks probed with real packets and compared with the upstream truth table and
with `kaudit reach` on the live cluster. kwok assigns the pod IPs, so the ipBlock
cases get the live addresses in place of the model's 10.244.<ns>.<pod>.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from hack.dataplane import host
from hack.dataplane.plane import Dataplane
from tests.cluster.dataplane.dataplane_kit import Tally, check_matrix, manifest, reach_live
from tests.netpol.e2e_model import ALL, NAMESPACES, PODS, cluster_objects, pod_ip
from tests.netpol.test_e2e_truth_tables import CASES, Case

# `cluster` too: the control plane is requested inside the `dataplane` fixture.
pytestmark = [pytest.mark.dataplane, pytest.mark.cluster]

CASE_LABEL = "kaudit-dataplane/case"


@dataclass
class World:
    ips: dict[str, str]
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    pod_labels: dict[str, dict[str, str]] = field(default_factory=dict)


def _live_objects(node: str, case: Case) -> list[dict[str, Any]]:
    """The model's namespaces and pods as the API takes them: bound to the node, no status."""
    objects = cluster_objects(case.namespace_labels, case.pod_labels)
    for obj in objects:
        obj.pop("status", None)
        if obj["kind"] == "Pod":
            obj["spec"]["nodeName"] = node
    return objects


def _wait_gone(plane: Dataplane, namespaces: tuple[str, ...]) -> None:
    def gone() -> bool:
        out = plane.kube.run("get", "namespaces", *namespaces, "--ignore-not-found", "-o", "name")
        return out.strip() == ""

    plane.kube.wait_for(f"namespaces {', '.join(namespaces)} to be gone", gone, timeout=180)


@pytest.fixture(scope="module")
def world(dataplane: Dataplane) -> Iterator[World]:
    _wait_gone(dataplane, NAMESPACES)
    dataplane.kube.apply(manifest(_live_objects(dataplane.state.node, CASES[0])))
    try:
        ips = dataplane.wire_namespaces(list(NAMESPACES), expected=len(ALL))
        yield World(ips, dict(CASES[0].namespace_labels), dict(CASES[0].pod_labels))
    finally:
        dataplane.unwire_namespaces(list(NAMESPACES))
        dataplane.kube.run(
            "delete", "namespace", *NAMESPACES, "--ignore-not-found", "--wait=false", check=False
        )


def _live_policies(case: Case, ips: dict[str, str]) -> list[dict[str, Any]]:
    text = case.policies
    for ns in NAMESPACES:
        for pod in PODS:
            text = text.replace(f"{pod_ip(ns, pod)}/", f"{ips[f'{ns}/{pod}']}/")
    policies = [doc for doc in yaml.safe_load_all(text) if doc]
    for policy in policies:
        policy["metadata"].setdefault("labels", {})[CASE_LABEL] = "e2e"
    return policies


def _apply_case(plane: Dataplane, world: World, case: Case) -> list[dict[str, Any]]:
    """Labels as the case has them (earlier cases' extra labels removed: apply drops
    what it applied before and no longer gets), its policies alone, and kube-router
    synced to that state."""
    plane.kube.run("delete", "networkpolicies", "-A", "-l", CASE_LABEL)
    policies = _live_policies(case, world.ips)
    relabelled = [
        obj
        for obj in _live_objects(plane.state.node, case)
        if (
            obj["kind"] == "Namespace"
            and world.namespace_labels.get(obj["metadata"]["name"], {})
            != case.namespace_labels.get(obj["metadata"]["name"], {})
        )
        or (
            obj["kind"] == "Pod"
            and world.pod_labels.get(f"{obj['metadata']['namespace']}/{obj['metadata']['name']}")
            != case.pod_labels.get(f"{obj['metadata']['namespace']}/{obj['metadata']['name']}")
        )
    ]
    plane.sync(manifest(relabelled + policies))
    world.namespace_labels = dict(case.namespace_labels)
    world.pod_labels = dict(case.pod_labels)
    return policies


SCTP = host.sctp_supported()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_upstream_case_on_real_packets(
    dataplane: Dataplane, world: World, tally: Tally, case: Case
) -> None:
    policies = _apply_case(dataplane, world, case)
    wrong: list[str] = []
    checked = 0
    for port, protocol, truth in case.checks:
        if protocol.value == "SCTP" and not SCTP:
            continue  # the kernel has no SCTP: the engine's answer is checked by the unit tests
        checked += 1
        wrong += check_matrix(
            tally,
            dataplane,
            f"e2e/{case.name}",
            list(ALL),
            port,
            protocol.value,
            policies,
            truth().with_loopback(),
        )
    if not checked:
        pytest.skip("only SCTP matrices, and this kernel has no SCTP")
    assert wrong == []


def test_the_installed_command_line_agrees(dataplane: Dataplane, world: World) -> None:
    """`python -m kaudit reach` as a separate process gives the in-process answer."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kaudit",
            "reach",
            "--kubeconfig",
            str(dataplane.kube.kubeconfig),
            "--port",
            "80",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(proc.stdout)["allowed"] == reach_live(dataplane.kube.kubeconfig, 80, "TCP")
