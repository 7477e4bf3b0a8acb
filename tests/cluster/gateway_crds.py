"""The Gateway API v1.7.0 CRDs (tests/cluster/data, see its SOURCE.md) installed for
a test module and removed after it, so the other live tests see a cluster without them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.plugins.clusterkit import Cluster

DATA = Path(__file__).parent / "data" / "gateway-api-v1.7.0"
GROUP = "gateway.networking.k8s.io"
PLURALS = (
    "gatewayclasses",
    "gateways",
    "listenersets",
    "httproutes",
    "grpcroutes",
    "tlsroutes",
    "tcproutes",
    "udproutes",
    "referencegrants",
)


@contextmanager
def gateway_api_installed(cluster: Cluster, channel: str = "standard") -> Iterator[Path]:
    """The CRDs of `channel` (standard or experimental), Established, for the block."""
    crds = DATA / channel
    # `create`, not `apply`: the HTTPRoute CRD is larger than the annotation that
    # client-side apply keeps.
    cluster.kubectl("create", "-f", str(crds), timeout=180)
    try:
        for plural in PLURALS:
            cluster.kubectl(
                "wait", "--for=condition=Established", f"crd/{plural}.{GROUP}", "--timeout=60s"
            )
        yield crds
    finally:
        cluster.kubectl("delete", "-f", str(crds), "--wait=true", "--ignore-not-found", timeout=180)
