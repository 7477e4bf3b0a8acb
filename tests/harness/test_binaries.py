"""Where the harness looks for its binaries: overrides first, then the cache."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hack.controlplane import binaries
from hack.controlplane.settings import KUBERNETES_VERSION, ControlPlaneError


def executable(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KAUDIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("KAUDIT_CONTROLPLANE_BIN", raising=False)
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    return tmp_path / "cache" / "controlplane" / KUBERNETES_VERSION


def test_cache_is_per_kubernetes_version(cache: Path) -> None:
    assert binaries.cache_dir() == cache
    assert binaries.find_binary("etcd") is None
    assert executable(cache, "etcd") == binaries.find_binary("etcd")


def test_overrides_come_before_the_cache(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    executable(cache, "kube-apiserver")
    assets = executable(tmp_path / "assets", "kube-apiserver")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(assets.parent))
    assert binaries.find_binary("kube-apiserver") == assets
    explicit = executable(tmp_path / "explicit", "kube-apiserver")
    monkeypatch.setenv("KAUDIT_CONTROLPLANE_BIN", str(explicit.parent))
    assert binaries.find_binary("kube-apiserver") == explicit


def test_kubebuilder_assets_supply_only_envtest_binaries(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assets = tmp_path / "assets"
    executable(assets, "kwok")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(assets))
    assert binaries.find_binary("kwok") is None


def test_a_file_that_is_not_executable_does_not_count(cache: Path) -> None:
    cache.mkdir(parents=True)
    (cache / "kubectl").write_text("")
    assert binaries.find_binary("kubectl") is None


def test_missing_binary_names_the_build_command(cache: Path) -> None:
    with pytest.raises(ControlPlaneError, match=re.escape("python -m hack.controlplane build")):
        binaries.binary_path("etcd")
    assert not binaries.binaries_available()
