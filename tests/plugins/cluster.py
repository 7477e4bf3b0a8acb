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

import pytest

from hack import controlplane
from tests.plugins.clusterkit import (
    Cluster,
    delete_namespaces,
    kubectl,
    session_cluster,
    wait_for_default_service_account,
)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The session's cluster: KAUDIT_TEST_KUBECONFIG's, a running one, or one started here."""
    if os.environ.get("KAUDIT_TEST_KUBECONFIG") or controlplane.is_live():
        yield session_cluster()
        return
    if not controlplane.binaries_available() and shutil.which("go") is None:
        pytest.skip(
            "no control-plane binaries and no Go toolchain to build them "
            "(see docs/control-plane.md: KAUDIT_CONTROLPLANE_BIN / KUBEBUILDER_ASSETS)"
        )
    controlplane.build()
    try:
        controlplane.up()
    except controlplane.ControlPlaneError as error:
        pytest.fail(f"control plane failed to start: {error}", pytrace=False)
    try:
        yield session_cluster(started_here=True)
    finally:
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
