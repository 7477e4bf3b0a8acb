"""`kaudit diff --context --apply` on the real control plane: the insecure demo runs,
the hardened demo's manifests are applied on top in kaudit's memory only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from hack import controlplane
from kaudit.cli import app
from kaudit.collect.overlay import object_keys
from tests.plugins.clusterkit import (
    REPO_ROOT,
    Cluster,
    delete_namespaces,
    kubectl,
    kubectl_json,
    slices_settled,
    wait_namespaces_gone,
)

INSECURE = REPO_ROOT / "kaudit" / "demo" / "insecure"
HARDENED = REPO_ROOT / "kaudit" / "demo" / "hardened"
# The demos' Gateway API files need the CRDs, which this cluster does not serve.
INSECURE_FILES = tuple(sorted(str(p) for p in INSECURE.glob("*.yaml") if p.name != "gateway.yaml"))
HARDENED_FILES = tuple(sorted(str(p) for p in HARDENED.glob("*.yaml") if p.name != "gateway.yaml"))


def _namespaces() -> list[str]:
    return sorted(
        doc["metadata"]["name"]
        for path in INSECURE_FILES
        for doc in yaml.safe_load_all(Path(path).read_text())
        if doc and doc.get("kind") == "Namespace" and doc["metadata"]["name"] != "kube-system"
    )


def _expected_pods(namespaces: list[str]) -> int:
    total = 0
    for path in INSECURE_FILES:
        for doc in yaml.safe_load_all(Path(path).read_text()):
            if not doc or doc.get("metadata", {}).get("namespace") not in namespaces:
                continue
            kind = doc.get("kind")
            if kind in ("Deployment", "StatefulSet"):
                total += int(doc["spec"].get("replicas", 1))
            elif kind == "DaemonSet":
                total += len(controlplane.FAKE_NODES)
            elif kind == "Pod":
                total += 1
    return total


def _running(namespaces: list[str]) -> int:
    return sum(
        1
        for ns in namespaces
        for pod in kubectl_json("get", "pods", "-n", ns)["items"]
        if pod.get("status", {}).get("phase") == "Running" and pod["metadata"].get("name")
    )


@pytest.fixture(scope="module")
def insecure_demo(cluster: Cluster) -> Iterator[list[str]]:
    namespaces = _namespaces()
    wait_namespaces_gone(*namespaces)
    for path in INSECURE_FILES:
        cluster.apply(Path(path))
    expected = _expected_pods(namespaces)
    cluster.wait_for(f"{expected} demo pods running", lambda: _running(namespaces) >= expected, 120)
    cluster.wait_for("EndpointSlices settled", lambda: slices_settled(namespaces))
    yield namespaces
    delete_namespaces(*namespaces)
    kubectl("delete", "daemonset", "kindnet", "-n", "kube-system", check=False)


def _objects(namespaces: list[str]) -> list[tuple[str, str, str]]:
    """Every policy, Service and pod of the demo, to see that nothing was written."""
    found = []
    for ns in namespaces:
        for kind in ("networkpolicies", "services", "pods", "deployments"):
            for item in kubectl_json("get", kind, "-n", ns)["items"]:
                found.append(
                    (kind, ns, item["metadata"]["name"] + item["metadata"]["resourceVersion"])
                )
    return sorted(found)


def test_applying_the_hardened_demo_on_the_live_insecure_one(
    cluster: Cluster, insecure_demo: list[str]
) -> None:
    context = kubectl("config", "current-context").stdout.strip()
    removed = sorted(object_keys(INSECURE_FILES) - object_keys(HARDENED_FILES))
    deletes = [
        arg
        for kind, ns, name in removed
        for arg in ("--delete", f"{kind}/{ns}/{name}" if ns else f"{kind}/{name}")
    ]
    before = _objects(insecure_demo)
    scope = [arg for ns in (*insecure_demo, "kube-system") for arg in ("-n", ns)]
    result = CliRunner().invoke(
        app,
        [
            "diff",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--context",
            context,
            *(arg for path in HARDENED_FILES for arg in ("--apply", path)),
            *deletes,
            *scope,
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.output)
    assert _objects(insecure_demo) == before  # kaudit wrote nothing
    assert data["before"]["source"] == f"cluster {context}"
    assert data["after"]["source"].startswith(
        f"cluster {context} with {', '.join(HARDENED_FILES)} applied"
    )
    connectivity = data["connectivity"]
    # Live pods keep their names: the Deployments' pods were replaced in place.
    live_frontends = sorted(
        p["metadata"]["name"]
        for p in kubectl_json("get", "pods", "-n", "shop", "-l", "app=frontend")["items"]
    )
    assert len(live_frontends) == 2 and all(n.startswith("frontend-") for n in live_frontends)
    assert connectivity["addedPods"] == []
    assert set(connectivity["removedPods"]) >= {"shop/debug-shell"}
    closed = {
        (row["from"], row["to"], tuple(row["protocols"]), tuple(p["port"] for p in row["ports"]))
        for row in connectivity["byWorkload"]["closed"]
    }
    # The OR-confused policy let the frontend into the database; the metadata endpoint
    # and the internet were open to the shop's pods; the internet reached the frontend.
    assert ("shop/Deployment/frontend", "data/StatefulSet/postgres", ("TCP",), (5432,)) in closed
    assert ("shop/Deployment/frontend", "169.254.169.254", ("TCP",), (80,)) in closed
    assert ("8.8.8.8", "shop/Deployment/frontend", ("TCP",), (8080,)) in closed
    frontend_to_db = [
        entry
        for entry in connectivity["closed"]
        if entry["scope"] == "pods"
        and "data/postgres-0" in entry["to"]
        and any(s.startswith("shop/frontend-") for s in entry["from"])
    ]
    assert frontend_to_db
    assert {s for e in frontend_to_db for s in e["from"] if s.startswith("shop/frontend-")} == {
        f"shop/{n}" for n in live_frontends
    }
    opened = {(row["from"], row["to"]) for row in connectivity["byWorkload"]["opened"]}
    assert ("monitoring/Deployment/prometheus", "payments/Deployment/payments") in opened
    fixed = {f["ruleId"] for f in data["fixed"]}
    assert {"KA101", "KA108", "KA204", "KA301", "KA401", "KA403", "KA501"} <= fixed
    # One new finding, which only the live cluster can tell: the hardened frontend policy
    # admits the ingress controller's namespace, ingress-nginx, which this cluster lacks.
    assert [
        (f["ruleId"], f["resource"]["namespace"], f["resource"]["name"]) for f in data["new"]
    ] == [("KA110", "shop", "frontend")]


def test_a_cluster_compared_with_itself_changes_nothing(
    cluster: Cluster, insecure_demo: list[str]
) -> None:
    context = kubectl("config", "current-context").stdout.strip()
    scope = [arg for ns in (*insecure_demo, "kube-system") for arg in ("-n", ns)]
    result = CliRunner().invoke(
        app,
        [
            "diff",
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--before-context",
            context,
            "--after-context",
            context,
            *scope,
            "--format",
            "json",
            "--fail-on-opened",
            "outside",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["connectivity"]["opened"] == data["connectivity"]["closed"] == []
    assert data["connectivity"]["podsBefore"] == data["connectivity"]["podsAfter"] > 15
    assert data["exposure"] == {"added": [], "removed": [], "changed": []}
    assert (data["summary"]["new"], data["summary"]["fixed"]) == (0, 0)
