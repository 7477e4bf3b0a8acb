"""Fixtures for tests/deploy.

The control-plane tests here reuse the session fixture `cluster` (and the
per-test `namespace`) of tests/cluster. pytest applies a conftest.py only to the
tests below it, so they are re-exported from tests/cluster/conftest.py; the
helpers come from its clusterkit module, importable once tests/cluster is on
sys.path (as pytest puts it there for its own tests). The `cluster` fixture
reuses a running control plane, so a session that runs both directories starts
it once.
"""

from __future__ import annotations

import sys
from pathlib import Path

CLUSTER_TESTS = Path(__file__).resolve().parents[1] / "cluster"
if str(CLUSTER_TESTS) not in sys.path:
    sys.path.insert(0, str(CLUSTER_TESTS))

from tests.cluster.conftest import cluster, namespace  # noqa: E402

__all__ = ["cluster", "namespace"]
