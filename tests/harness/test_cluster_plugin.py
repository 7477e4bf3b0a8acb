"""Which cluster the fixtures and helpers of tests/plugins use."""

from __future__ import annotations

from pathlib import Path

import pytest

from hack import controlplane
from tests.plugins.clusterkit import session_cluster


def test_the_harness_cluster_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAUDIT_TEST_KUBECONFIG", raising=False)
    cluster = session_cluster()
    assert cluster.kubeconfig == controlplane.KUBECONFIG_PATH
    assert not cluster.started_here


def test_kaudit_test_kubeconfig_points_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    monkeypatch.setenv("KAUDIT_TEST_KUBECONFIG", str(kubeconfig))
    assert session_cluster(started_here=True).kubeconfig == kubeconfig
