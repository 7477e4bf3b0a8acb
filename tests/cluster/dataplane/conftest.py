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
from dataplane_kit import TALLY_KEY, Tally

from hack.dataplane import host
from hack.dataplane.api import Kube
from hack.dataplane.build import BuildError, build, find_kube_router
from hack.dataplane.plane import Dataplane, DataplaneError


@pytest.fixture(scope="session")
def dataplane(cluster: Any, request: pytest.FixtureRequest) -> Iterator[Dataplane]:
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
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if tally is not None and reporter is not None:
        reporter.write_line(tally.line())
