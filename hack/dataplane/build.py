"""kube-router, built once from the Go module proxy and cached like the control plane.

The binary lives in ${KAUDIT_CACHE:-~/.cache/kaudit}/dataplane/kube-router/<version>/;
KAUDIT_KUBE_ROUTER names a binary to use instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from hack.controlplane.binaries import go_env

KUBE_ROUTER_MODULE = "github.com/cloudnativelabs/kube-router/v2"
# The newest version the Go module proxy serves. It has published security
# advisories (docs/dataplane.md): acceptable only because the harness points it at a
# loopback API server with throwaway data, never at a real cluster.
KUBE_ROUTER_VERSION = "v2.1.0"


class BuildError(RuntimeError):
    pass


def log(message: str) -> None:
    print(f"dataplane: {message}", file=sys.stderr, flush=True)


def cache_root() -> Path:
    base = os.environ.get("KAUDIT_CACHE") or str(Path.home() / ".cache" / "kaudit")
    return Path(base).expanduser() / "dataplane"


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
    gobin = work_dir / "bin"
    gobin.mkdir(parents=True, exist_ok=True)
    target = f"{KUBE_ROUTER_MODULE}/cmd/kube-router@{KUBE_ROUTER_VERSION}"
    log(f"$ go install {target}   (once; several minutes on 2 cores)")
    proc = subprocess.run(
        ["go", "install", "-trimpath", "-ldflags", "-s -w", target],
        cwd=work_dir,
        env={**go_env(work_dir), "GOBIN": str(gobin)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise BuildError(f"go install {target} failed:\n{proc.stdout[-6000:]}")
    dest = cached_kube_router()
    dest.parent.mkdir(parents=True, exist_ok=True)
    # A rename into place: an interrupted build never leaves a half-written binary.
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.move(gobin / "kube-router", tmp)
    tmp.chmod(0o755)
    tmp.replace(dest)
    return dest
