"""The command line: build, up, down, status, env."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hack.controlplane.binaries import build
from hack.controlplane.cluster import down, env_lines, status, up
from hack.controlplane.settings import ControlPlaneError

DESCRIPTION = """\
A real, loopback-only Kubernetes control plane for kaudit's tests.

Subcommands:
  build   build pinned etcd / Kubernetes / kwok binaries from the Go module proxy
          and cache them by version (skips whatever is already cached)
  up      start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
          the kwok controller with fake nodes; write .kaudit/cluster/kubeconfig
  down    stop every component and verify nothing is left listening
  status  print the state of each component
  env     print shell exports: eval "$(python -m hack.controlplane env)"
"""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m hack.controlplane",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = root.add_subparsers(dest="command", required=True)
    build_cmd = sub.add_parser("build", help="build and cache the binaries")
    build_cmd.add_argument("--force", action="store_true", help="rebuild even if cached")
    up_cmd = sub.add_parser("up", help="build what is missing, then start the control plane")
    up_cmd.add_argument(
        "--timeout", type=float, default=120.0, help="most seconds to wait per readiness step"
    )
    sub.add_parser("down", help="stop the control plane")
    sub.add_parser("status", help="show component state")
    sub.add_parser("env", help="print shell exports for KUBECONFIG and kubectl")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "build":
            build(force=args.force)
        elif args.command == "up":
            build()
            up(timeout=args.timeout)
        elif args.command == "down":
            down()
        elif args.command == "status":
            return status()
        elif args.command == "env":
            print("\n".join(env_lines()))
    except ControlPlaneError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
