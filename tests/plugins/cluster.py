"""Fixtures for tests against the real local control plane (hack.controlplane).

The session fixture `cluster` reuses a running control plane when
`.kaudit/cluster/kubeconfig` answers (or `KAUDIT_TEST_KUBECONFIG` points at a
cluster), otherwise it builds the binaries if needed, starts the control plane,
and stops it when the session ends. Every test gets its own namespace from the
`namespace` fixture; the helpers live in tests/plugins/clusterkit.py.

Registered for the whole suite by `pytest_plugins` in tests/conftest.py, so any
test directory can use the fixtures.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hack import controlplane
from tests.plugins.clusterkit import (
    Cluster,
    active_cluster,
    delete_namespaces,
    kubectl,
    set_active,
    wait_for_default_service_account,
)


def _kubectl_binary() -> str:
    return str(controlplane.find_binary("kubectl") or shutil.which("kubectl") or "")


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    override = os.environ.get("KAUDIT_TEST_KUBECONFIG")
    if override:
        set_active(Cluster(Path(override), _kubectl_binary(), started_here=False))
        yield active_cluster()
        return
    if controlplane.is_live():
        set_active(Cluster(controlplane.KUBECONFIG_PATH, _kubectl_binary(), started_here=False))
        yield active_cluster()
        return
    if not controlplane.binaries_available() and shutil.which("go") is None:
        pytest.skip(
            "no control-plane binaries and no Go toolchain to build them "
            "(see docs/control-plane.md: KAUDIT_CONTROLPLANE_BIN / KUBEBUILDER_ASSETS)"
        )
    controlplane.build()
    try:
        kubeconfig = controlplane.up()
    except controlplane.ControlPlaneError as error:
        pytest.fail(f"control plane failed to start: {error}", pytrace=False)
    set_active(Cluster(kubeconfig, str(controlplane.binary_path("kubectl")), started_here=True))
    try:
        yield active_cluster()
    finally:
        set_active(None)
        controlplane.down()


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace (with its default ServiceAccount), deleted after the test."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{slug}-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", name)
    wait_for_default_service_account(name)
    yield name
    delete_namespaces(name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need the control plane, so `-m "not cluster"` skips them."""
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)
