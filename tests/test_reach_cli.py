"""`kaudit reach --group` and the dense-matrix limit, as users run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "kaudit" / "demo"


def kaudit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kaudit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "KUBECONFIG": "/nonexistent/kubeconfig"},
    )


def test_grouped_matrix_is_json_for_each_grouping() -> None:
    for group in ("class", "workload", "namespace"):
        result = kaudit(
            "reach", "-f", str(DEMO / "insecure"), "--port", "5432", "--group", group,
            "--format", "json",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        assert answer["group"] == group
        assert [row["from"] for row in answer["allowed"]] == [g["id"] for g in answer["groups"]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group", "pods"], "kaudit: error: --group: unknown grouping 'pods'"),
        (["--group", "class", "--from", "shop/frontend"], "kaudit: error: --group answers"),
        (["--group", "class", "--dense"], "kaudit: error: --group answers"),
    ],
)
def test_grouping_errors_are_one_line(args: list[str], message: str) -> None:
    result = kaudit("reach", "-f", str(DEMO / "insecure"), *args)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


def test_reach_warns_about_what_it_read_leniently(tmp_path: Path) -> None:
    (tmp_path / "cnp.yaml").write_text(
        "apiVersion: policy.networking.k8s.io/v1beta1\n"
        "kind: ClusterNetworkPolicy\n"
        "metadata: {name: sloppy}\n"
        "spec:\n"
        "  tier: Admin\n"
        "  priority: 5\n"
        "  subject: {namespaces: {}}\n"
        "  egress: [{action: Deny, to: [{networks: [10.0.0.1/8]}]}]\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata: {name: web, namespace: shop}\n"
        "spec: {containers: [{name: c, image: nginx}]}\n"
    )
    proc = kaudit(
        "reach", "--manifests", str(tmp_path), "--from", "shop/web", "--to-ip", "10.1.2.3"
    )
    assert proc.returncode == 0, proc.stderr
    assert "DENIED" in proc.stdout
    assert proc.stderr.strip() == (
        f"kaudit: warning: {tmp_path / 'cnp.yaml'}:1: ClusterNetworkPolicy sloppy: "
        "spec.egress[0].to[0].networks: '10.0.0.1/8' has host bits set (the CRD refuses it): "
        "read as 10.0.0.0/8"
    )
