"""The specification tables of tests/netpol/test_semantics.py on real packets.

Each case's cluster (namespaces prod, dev, monitoring and kube-system with their
pods, on the dataplane node) and policies go through the API server; every pair
the case lists is probed and compared with the case's expectation and with
`kaudit reach` on the live cluster. The model's pod addresses are replaced by the
live ones.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from hack.dataplane import host
from hack.dataplane.plane import Dataplane
from tests.cluster.dataplane.dataplane_kit import Tally, check_pairs, manifest
from tests.netpol.test_semantics import BASE, CASES

# `cluster` too: the control plane is requested inside the `dataplane` fixture.
pytestmark = [pytest.mark.dataplane, pytest.mark.cluster]

CASE_LABEL = "kaudit-dataplane/case"
BASE_DOCS = [doc for doc in yaml.safe_load_all(BASE) if doc]
NAMESPACES = sorted({d["metadata"]["namespace"] for d in BASE_DOCS if d["kind"] == "Pod"})
MODEL_IPS = {
    f"{d['metadata']['namespace']}/{d['metadata']['name']}": d["status"]["podIP"]
    for d in BASE_DOCS
    if d["kind"] == "Pod"
}
# Cases whose ipBlocks are ranges of the model's addressing (10.0.<ns>.0/24): kwok
# assigns other addresses, and no rewrite keeps their meaning. The e2e and random
# tests check ipBlocks on the live addresses.
ADDRESS_RANGE_CASES = {"ipBlock peers match pod IPs, minus except"}
SCTP = host.sctp_supported()


def _live_objects(node: str) -> list[dict[str, Any]]:
    objects = []
    for doc in BASE_DOCS:
        obj = {"apiVersion": "v1", **doc}
        obj.pop("status", None)
        if obj["kind"] == "Namespace" and obj["metadata"]["name"] == "kube-system":
            continue  # the control plane's own
        if obj["kind"] == "Pod":
            obj["spec"] = {
                "nodeName": node,
                "containers": [
                    {**c, "image": "registry.k8s.io/pause:3.10"} for c in obj["spec"]["containers"]
                ],
            }
        objects.append(obj)
    return objects


@pytest.fixture(scope="module")
def semantics_world(dataplane: Dataplane) -> Iterator[dict[str, str]]:
    kube = dataplane.kube
    created = [ns for ns in NAMESPACES if ns != "kube-system"]
    kube.wait_for(
        "namespaces of an earlier test to be gone",
        lambda: kube.run("get", "namespaces", *created, "--ignore-not-found", "-o", "name") == "",
        timeout=180,
    )
    kube.apply(manifest(_live_objects(dataplane.state.node)))
    try:
        ips = dataplane.wire_namespaces(NAMESPACES, expected=len(MODEL_IPS))
        yield ips
    finally:
        dataplane.unwire_namespaces(NAMESPACES)
        kube.run("delete", "networkpolicies", "-A", "-l", CASE_LABEL, check=False)
        kube.run("delete", "pod", "coredns", "-n", "kube-system", "--force", check=False)
        for ns in created:
            kube.run(
                "delete", "pods", "--all", "-n", ns, "--grace-period=0", "--force", check=False
            )
        kube.run("delete", "namespace", *created, "--wait=false", check=False)


def _live_policies(text: str, ips: dict[str, str]) -> list[dict[str, Any]]:
    for key, model_ip in MODEL_IPS.items():
        text = re.sub(rf"(?<![\d.]){re.escape(model_ip)}(?![\d])", ips[key], text)
    policies = [doc for doc in yaml.safe_load_all(text) if doc]
    for policy in policies:
        policy["apiVersion"] = "networking.k8s.io/v1"
        policy["metadata"].setdefault("labels", {})[CASE_LABEL] = "semantics"
    return policies


@pytest.mark.parametrize(("name", "policies", "expectations"), CASES, ids=[c[0] for c in CASES])
def test_specification_case_on_real_packets(
    dataplane: Dataplane,
    semantics_world: dict[str, str],
    tally: Tally,
    name: str,
    policies: str,
    expectations: list[tuple[str, str, int, str, bool]],
) -> None:
    if name in ADDRESS_RANGE_CASES:
        pytest.skip("its ipBlocks are ranges of the model's addresses")
    dataplane.kube.run("delete", "networkpolicies", "-A", "-l", CASE_LABEL)
    live = _live_policies(policies, semantics_world)
    dataplane.sync(manifest(live))
    groups: dict[tuple[int, str], dict[tuple[str, str], bool]] = defaultdict(dict)
    for src, dst, port, protocol, expected in expectations:
        if protocol == "SCTP" and not SCTP:
            continue  # no SCTP in this kernel
        groups[(port, protocol)][(src, dst)] = expected
    wrong: list[str] = []
    for (port, protocol), expected_pairs in sorted(groups.items()):
        wrong += check_pairs(
            tally,
            dataplane,
            f"semantics/{name}",
            list(expected_pairs),
            port,
            protocol,
            live,
            expected_pairs,
        )
    assert wrong == []
