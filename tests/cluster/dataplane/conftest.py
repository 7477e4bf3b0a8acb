"""The dataplane tier: NetworkPolicies enforced by kube-router on real packets.

The session fixture `dataplane` starts kube-router against the test control plane
(the `cluster` fixture) and tears everything down at the end, also on failure and
Ctrl-C. Without root or kernel support the tier skips with one line. The session
ends with one summary line: matrices, cells, disagreements, known quirks.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from hack.dataplane import host
from hack.dataplane.api import Kube
from hack.dataplane.build import BuildError, build, find_kube_router
from hack.dataplane.plane import Dataplane, DataplaneError
from tests.cluster.dataplane.dataplane_kit import TALLY_KEY, Tally

SKIP_KEY = pytest.StashKey[str]()


@pytest.hookimpl(trylast=True)  # after -m has deselected: only the tier's own items
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On a machine that cannot run the tier, its tests are set aside with one line
    (printed at the end) instead of one skip per test."""
    tier = [item for item in items if item.get_closest_marker("dataplane")]
    if not tier:
        return
    reason = host.unsupported_reason()
    if reason is None:
        return
    config.stash[SKIP_KEY] = reason
    config.hook.pytest_deselected(items=tier)
    items[:] = [item for item in items if not item.get_closest_marker("dataplane")]


@pytest.fixture(scope="session")
def dataplane(request: pytest.FixtureRequest) -> Iterator[Dataplane]:
    reason = host.unsupported_reason()
    if reason:
        pytest.skip(f"dataplane: {reason}")
    if find_kube_router() is None:
        if shutil.which("go") is None:
            pytest.skip("dataplane: no kube-router binary and no Go toolchain to build it")
        try:
            build()
        except BuildError as error:
            pytest.fail(f"dataplane: {error}", pytrace=False)
    # Requested only now: a machine that cannot run the dataplane starts no control
    # plane for it.
    cluster = request.getfixturevalue("cluster")
    kube = Kube(cluster.kubeconfig, cluster.kubectl_binary)
    try:
        plane = Dataplane.up(kube)
    except DataplaneError as error:
        pytest.fail(f"dataplane failed to start: {error}", pytrace=False)
    request.config.stash[TALLY_KEY] = Tally()
    try:
        yield plane
    finally:
        left = plane.down()
        if left:
            pytest.fail("dataplane left behind: " + ", ".join(left), pytrace=False)


@pytest.fixture
def tally(dataplane: Dataplane, request: pytest.FixtureRequest) -> Tally:
    return request.config.stash[TALLY_KEY]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    tally = config.stash.get(TALLY_KEY, None)
    for note in tally.notes if tally else []:
        terminalreporter.write_line(f"dataplane note: {note}")


def pytest_unconfigure(config: pytest.Config) -> None:
    """The summary line, last: after pytest's own counts."""
    tally = config.stash.get(TALLY_KEY, None)
    skipped = config.stash.get(SKIP_KEY, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    if tally is not None:
        reporter.write_line(tally.line())
    elif skipped is not None:
        reporter.write_line(f"dataplane: not run: {skipped}")
