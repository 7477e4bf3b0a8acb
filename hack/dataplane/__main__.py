"""`python -m hack.dataplane up|wire|matrix|status|down|build` (see docs/dataplane.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hack.dataplane import host, netns
from hack.dataplane.api import Kube, find_kubectl
from hack.dataplane.build import build, find_kube_router
from hack.dataplane.plane import DEFAULT_NODE, Dataplane, DataplaneError, state_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_KUBECONFIG = REPO_ROOT / ".kaudit" / "cluster" / "kubeconfig"


def _loaded() -> Dataplane:
    plane = Dataplane.load()
    if plane is None:
        raise DataplaneError(f"no dataplane is up (no {state_dir() / 'state.json'})")
    return plane


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hack.dataplane", description=__doc__)
    parser.add_argument("--kubeconfig", type=Path, default=DEFAULT_KUBECONFIG)
    parser.add_argument("--node", default=DEFAULT_NODE)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("build", help="build kube-router once (cached)")
    commands.add_parser("up", help="start kube-router, wire every pod of the node")
    wire = commands.add_parser("wire", help="wire the pods of these namespaces")
    wire.add_argument("namespaces", nargs="+")
    matrix = commands.add_parser("matrix", help="probe every wired pod pair")
    matrix.add_argument("--port", type=int, default=80)
    matrix.add_argument("--protocol", default="TCP", choices=("TCP", "UDP"))
    commands.add_parser("status", help="what is up")
    commands.add_parser("down", help="remove everything the dataplane created")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            reason = host.unsupported_reason()
            if reason:
                # Nothing could run it here: no reason to spend minutes building it.
                print(f"dataplane: not building kube-router: {reason}")
                return 0
            print(build())
        elif args.command == "up":
            if find_kube_router() is None:
                build()
            kube = Kube(args.kubeconfig, find_kubectl(args.kubeconfig))
            plane = Dataplane.up(kube, args.node)
            namespaces = sorted({p["metadata"]["namespace"] for p in kube.pods_on(args.node)})
            wired = plane.wire_namespaces(namespaces)
            plane.sync()
            print(
                f"dataplane up: kube-router pid {plane.state.router_pid}, {len(wired)} pods wired"
            )
            print(f"  state: {plane.state_file}; log: {plane.router_log}")
        elif args.command == "wire":
            plane = _loaded()
            wired = plane.wire_namespaces(args.namespaces)
            plane.sync()
            for key, ip in sorted(wired.items()):
                print(f"{key}\t{ip}")
        elif args.command == "matrix":
            plane = _loaded()
            keys = sorted(plane.state.pods)
            table = plane.matrix(keys, args.port, args.protocol)
            for src in keys:
                row = " ".join("." if table[src][dst] else "X" for dst in keys)
                print(f"{row}  {src}")
        elif args.command == "status":
            loaded = Dataplane.load()
            if loaded is None:
                reason = host.unsupported_reason()
                print("dataplane: down" + (f" (cannot run here: {reason})" if reason else ""))
                return 0
            print(
                f"dataplane: up on {loaded.state.node}, kube-router pid {loaded.state.router_pid}"
            )
            for key, pod in sorted(loaded.state.pods.items()):
                print(f"  {key}\t{pod.ip}\t{pod.netns}\t{' '.join(pod.ports)}")
        elif args.command == "down":
            loaded = Dataplane.load()
            if loaded is None:
                left = [f"bridge {netns.BRIDGE}"] if netns.bridge_exists() else []
                left += [f"netns {n}" for n in netns.leftover_namespaces()]
            else:
                left = loaded.down()
            if left:
                print("dataplane: left behind: " + ", ".join(left), file=sys.stderr)
                return 1
            print("dataplane: down, nothing left")
    except (DataplaneError, RuntimeError) as error:
        print(f"dataplane: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
