"""Faults on the running control plane, for the tests of how clients live through
them: the API server paused (SIGSTOP) and resumed, or killed and started again
with the same flags, state and port (etcd keeps every object)."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

from hack.controlplane.api import is_live
from hack.controlplane.processes import (
    pid_alive,
    port_is_open,
    read_state,
    reap,
    recorded_pids,
    start,
    wait_until,
    write_state,
)
from hack.controlplane.settings import ControlPlaneError, log

APISERVER = "kube-apiserver"


def apiserver_pid() -> int:
    pid = recorded_pids().get(APISERVER)
    if pid is None or not pid_alive(pid, APISERVER):
        raise ControlPlaneError("kube-apiserver is not running")
    return pid


@contextlib.contextmanager
def apiserver_paused() -> Iterator[int]:
    """The API server stopped (SIGSTOP) inside the block, resumed (SIGCONT) after it."""
    pid = apiserver_pid()
    os.kill(pid, signal.SIGSTOP)
    log(f"kube-apiserver paused (pid {pid})")
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)
        log(f"kube-apiserver resumed (pid {pid})")


def kill_apiserver() -> None:
    """SIGKILL, as a crash: no graceful shutdown, connections reset."""
    pid = apiserver_pid()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)  # its own session: pgid == pid
    # A Go process's main thread turns zombie while its other threads still hold the
    # listening socket: wait for the port too, or the restart cannot bind it.
    port = _apiserver_port()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (pid_alive(pid, APISERVER) or port_is_open(port)):
        reap(pid)
        time.sleep(0.05)
    log(f"kube-apiserver killed (pid {pid})")


def _apiserver_port() -> int:
    ports = (read_state() or {}).get("ports")
    if not isinstance(ports, dict) or APISERVER not in ports:
        raise ControlPlaneError("state.json has no kube-apiserver port: run `up` again")
    return int(ports[APISERVER])


def start_apiserver(timeout: float = 90) -> None:
    """Start the API server again with the flags of the last `up`; return once ready."""
    state = read_state() or {}
    argv = state.get("apiserver_argv")
    if not isinstance(argv, list):
        raise ControlPlaneError("state.json has no kube-apiserver command line: run `up` again")
    process = start(APISERVER, [str(arg) for arg in argv])
    pids = state.get("pids")
    if isinstance(pids, dict):
        pids[APISERVER] = process.pid
        write_state(state)
    wait_until("kube-apiserver /readyz after a restart", is_live, timeout, [(APISERVER, process)])
    log(f"kube-apiserver restarted (pid {process.pid})")


def restart_apiserver(timeout: float = 90) -> None:
    kill_apiserver()
    start_apiserver(timeout)
