"""kube-router, built once from the Go module proxy and cached like the control plane.

The binary lives in ${KAUDIT_CACHE:-~/.cache/kaudit}/dataplane/kube-router/<version>/;
KAUDIT_KUBE_ROUTER names a binary to use instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hack.controlplane.binaries import go_install, kaudit_cache
from hack.controlplane.settings import ControlPlaneError

KUBE_ROUTER_MODULE = "github.com/cloudnativelabs/kube-router/v2"
# The newest version the Go module proxy serves. It has published security
# advisories (docs/dataplane.md): acceptable only because the harness points it at a
# loopback API server with throwaway data, never at a real cluster.
KUBE_ROUTER_VERSION = "v2.1.0"


class BuildError(RuntimeError):
    pass


def cache_root() -> Path:
    return kaudit_cache() / "dataplane"


def cached_kube_router() -> Path:
    return cache_root() / "kube-router" / KUBE_ROUTER_VERSION / "kube-router"


def find_kube_router() -> Path | None:
    """KAUDIT_KUBE_ROUTER first, then the cache."""
    explicit = os.environ.get("KAUDIT_KUBE_ROUTER")
    for candidate in [Path(explicit).expanduser()] if explicit else [cached_kube_router()]:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def build(force: bool = False) -> Path:
    """`go install` kube-router at the pinned version unless a binary is available."""
    found = find_kube_router()
    if found is not None and not force:
        return found
    if shutil.which("go") is None:
        raise BuildError("`go` is not on PATH; Go >= 1.22 is needed to build kube-router")
    work_dir = cache_root() / "src" / f"kube-router-{KUBE_ROUTER_VERSION}"
    target = f"{KUBE_ROUTER_MODULE}/cmd/kube-router@{KUBE_ROUTER_VERSION}"
    try:
        go_install(target, work_dir, cached_kube_router())
    except ControlPlaneError as error:
        raise BuildError(str(error)) from None
    return cached_kube_router()
