"""kube-router with only its network-policy controller, for one node.

It reads pods, namespaces and policies through the kubeconfig (a loopback API
server) and keeps iptables chains and ipsets for the pods whose status.hostIP is
its node's address: the pods of the dataplane node.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from hack.dataplane.host import run

# Present once kube-router has installed its hooks: the firewall is in place.
READY_CHAIN = "KUBE-ROUTER-FORWARD"


class RouterError(RuntimeError):
    pass


def arguments(binary: Path, kubeconfig: Path, node: str) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}",
        f"--hostname-override={node}",
        "--run-firewall=true",
        "--run-router=false",
        "--run-service-proxy=false",
        "--run-loadbalancer=false",
        "--enable-cni=false",
        "--health-port=0",
        "--metrics-port=0",
        "--v=1",
    ]


def start(binary: Path, kubeconfig: Path, node: str, log_file: Path) -> int:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        proc = subprocess.Popen(
            arguments(binary, kubeconfig, node),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )
    return proc.pid


def chain_present(chain: str) -> bool:
    return run(["iptables", "-S", chain], check=False) != ""


def wait_ready(pid: int, log_file: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not chain_present(READY_CHAIN):
        if not alive(pid):
            raise RouterError(f"kube-router exited during start:\n{tail(log_file)}")
        if time.monotonic() > deadline:
            raise RouterError(f"kube-router not ready after {timeout:.0f}s:\n{tail(log_file)}")
        time.sleep(0.1)


def alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass  # not our child (a CLI `up` started it): ask the kernel instead
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def is_kube_router(pid: int, binary: str) -> bool:
    """The recorded pid still runs the binary we started (pids are reused)."""
    try:
        return os.readlink(f"/proc/{pid}/exe") == binary
    except OSError:
        return False


def stop(pid: int, binary: str, timeout: float = 15) -> None:
    """SIGTERM its process group, SIGKILL after `timeout` (it takes over a second)."""
    if not is_kube_router(pid, binary):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def tail(log_file: Path, lines: int = 25) -> str:
    try:
        return "\n".join(log_file.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
