"""Component processes: start them detached with a log and a pid file, wait on them,
stop them by the pids recorded on disk, and reap them.

Every component runs in its own session, so it outlives the shell that ran
`make cluster-up` and `down` can signal its whole process group from another process.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from hack.controlplane.settings import (
    LOG_DIR,
    PID_DIR,
    STATE_DIR,
    STATE_FILE,
    ControlPlaneError,
    log,
)

# The components started so far: a wait fails early when one of them exits.
Watched = Sequence[tuple[str, subprocess.Popen[bytes]]]
# Clients stop before the servers they talk to.
STOP_ORDER = ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def read_state() -> dict[str, object] | None:
    """state.json: ports, server, pids, versions and binary paths of the last `up`."""
    try:
        state: dict[str, object] = json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return None
    return state


def write_state(state: Mapping[str, object]) -> None:
    STATE_FILE.write_text(json.dumps(state, indent=2) + "\n")


def start(
    name: str, argv: list[str], env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start `argv` detached, its output appended to logs/<name>.log; record its pid."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / f"{name}.log").open("ab") as log_file:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=STATE_DIR,
            env=env,
        )
    PID_DIR.mkdir(parents=True, exist_ok=True)
    (PID_DIR / f"{name}.pid").write_text(f"{process.pid}\n")
    return process


def recorded_pids() -> dict[str, int]:
    pids: dict[str, int] = {}
    if PID_DIR.is_dir():
        for pid_file in PID_DIR.glob("*.pid"):
            try:
                pids[pid_file.stem] = int(pid_file.read_text().strip())
            except ValueError:
                continue
    return pids


def forget_pids() -> None:
    if PID_DIR.is_dir():
        for pid_file in PID_DIR.glob("*.pid"):
            pid_file.unlink()


def pid_alive(pid: int, binary_name: str) -> bool:
    """Alive and still the process we started (guards against pid reuse).

    Every component runs as the binary of its own name, so `binary_name` is the
    component's name.
    """
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if status.split(") ", 1)[-1].startswith("Z"):  # zombie: exited, not yet reaped
        return False
    argv0 = cmdline.split(b"\0", 1)[0].decode(errors="replace")
    return Path(argv0).name == binary_name


def reap(pid: int) -> None:
    """Collect the exit status if we are the parent (when `up` and `down` share a process)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop(name: str, pid: int, timeout: float) -> None:
    """SIGTERM the process group, SIGKILL it after `timeout` seconds."""
    try:
        os.killpg(pid, signal.SIGTERM)  # its own session: pgid == pid
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid, name):
        reap(pid)
        time.sleep(0.05)
    if pid_alive(pid, name):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        time.sleep(0.2)
        reap(pid)


def stop_recorded(timeout: float, quiet: bool) -> list[str]:
    """Stop every recorded component still alive, clients first; return those left alive."""
    pids = recorded_pids()
    alive = {name: pid for name, pid in pids.items() if pid_alive(pid, name)}
    for name in sorted(alive, key=lambda n: STOP_ORDER.index(n) if n in STOP_ORDER else -1):
        stop(name, alive[name], timeout)
        if not quiet:
            log(f"stopped {name} (pid {alive[name]})")
    return [name for name, pid in pids.items() if pid_alive(pid, name)]


def log_tail(name: str, lines: int = 25) -> str:
    path = LOG_DIR / f"{name}.log"
    try:
        content = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return f"--- last {lines} lines of {path} ---\n" + "\n".join(content[-lines:])


def wait_until(
    description: str,
    check: Callable[[], bool],
    timeout: float,
    watched: Watched = (),
) -> None:
    """Poll `check()` until true; fail early, with the log tail, if a component dies."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        for name, process in watched:
            if process.poll() is not None:
                raise ControlPlaneError(
                    f"{name} exited with code {process.returncode} while waiting for "
                    f"{description}\n{log_tail(name)}"
                )
        try:
            if check():
                return
        except (OSError, ValueError, ssl.SSLError) as error:
            last_error = str(error)
        time.sleep(0.2)
    detail = f" (last error: {last_error})" if last_error else ""
    raise ControlPlaneError(f"timed out after {timeout:.0f}s waiting for {description}{detail}")
