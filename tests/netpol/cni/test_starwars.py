"""Cilium's star wars demo (data/cilium/starwars, from cilium v1.20.2): `kaudit reach`
answers as the Getting Started guide says: with the L3/L4 policy only the empire's
ships land on the deathstar, and no caveat says the policy was left out."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.netpol.cni.cases import DATA

APP = str(DATA / "cilium/starwars/http-sw-app.yaml")
POLICY = str(DATA / "cilium/starwars/sw_l3_l4_policy.yaml")


def reach(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kaudit", "reach", "-f", APP, "-f", POLICY, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "KUBECONFIG": "/nonexistent/kubeconfig"},
    )


@pytest.mark.parametrize(
    ("ship", "allowed"), [("default/xwing", False), ("default/tiefighter", True)]
)
def test_only_the_empire_lands_on_the_deathstar(ship: str, allowed: bool) -> None:
    result = reach(
        "--from", ship, "--to", "default/deathstar-0", "--port", "80", "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # the Cilium policy was evaluated: no caveat
    answer = json.loads(result.stdout)
    assert answer["allowed"] is allowed
    assert answer["ingress"]["isolating_policies"] == ["default/rule1"]


def test_the_text_answer_names_the_policy() -> None:
    result = reach("--from", "default/xwing", "--to", "default/deathstar-1", "--port", "80")
    assert result.stdout.splitlines()[0] == "default/xwing -> default/deathstar-1 80/TCP: DENIED"
    assert "rule1" in result.stdout


def test_the_summary_counts_the_deathstar_isolated_by_the_cilium_policy() -> None:
    from kaudit.collect.manifests import load_manifests
    from kaudit.netpol import PolicyEngine

    summary = PolicyEngine(load_manifests([APP, POLICY])).summary()
    deathstar = [c for c in summary.pod_classes if c.pods[0].startswith("deathstar")]
    assert [(c.ingress_isolated, c.egress_isolated) for c in deathstar] == [(True, False)]
    assert deathstar[0].ingress_policies == ("rule1",)
    # The deathstar's two pods are the only ones Cilium isolates.
    assert (summary.isolation.ingress_isolated, summary.isolation.egress_isolated) == (2, 0)
