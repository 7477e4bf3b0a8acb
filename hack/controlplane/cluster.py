"""The control plane's life cycle: `up`, `down`, `status`.

`up` returns only when the control plane is really usable: etcd /health,
kube-apiserver /readyz, the controller manager's and scheduler's /healthz, the fake
nodes Ready, the default ServiceAccounts, and the CoreDNS pods Ready with IPs. When
a component exits or a step times out, it stops everything it started.
"""

from __future__ import annotations

import functools
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hack.controlplane import bootstrap, components
from hack.controlplane.api import Api, is_live, write_kubeconfig
from hack.controlplane.binaries import all_binary_paths, reported_versions
from hack.controlplane.pki import PkiFiles, write_pki
from hack.controlplane.processes import (
    forget_pids,
    free_port,
    pid_alive,
    port_is_open,
    read_state,
    recorded_pids,
    start,
    stop_recorded,
    wait_until,
    write_state,
)
from hack.controlplane.settings import (
    ALL_BINARIES,
    AUDIT_LOG_PATH,
    AUDIT_POLICY_PATH,
    BIN_DIR,
    ETCD_DATA_DIR,
    FAKE_NODES,
    KUBECONFIG_PATH,
    LOG_DIR,
    PID_DIR,
    PKI_DIR,
    STATE_DIR,
    ControlPlaneError,
    log,
)

# The kubeconfig each client component uses, by token role.
COMPONENT_USERS = (
    ("kcm", "system:kube-controller-manager"),
    ("scheduler", "system:kube-scheduler"),
    ("kwok", "kwok-controller"),
)


@dataclass
class Startup:
    """What one `up` has made so far: what a failing step needs to report and undo."""

    binaries: dict[str, Path]
    ports: dict[str, int]
    tokens: dict[str, str]
    pki: PkiFiles
    state: dict[str, object]
    step_timeout: float
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['kube-apiserver']}"

    def launch(self, launch: components.Launch) -> None:
        self.processes.append((launch.name, start(launch.name, launch.argv, launch.env)))

    def wait(self, description: str, check: Callable[[], bool], limit: float) -> None:
        """Wait for one readiness step: `limit` seconds, or less if `up` was given less."""
        wait_until(description, check, min(limit, self.step_timeout), self.processes)


def _prepare(binaries: dict[str, Path], step_timeout: float) -> Startup:
    """A fresh state directory with tokens, key material, ports and state.json."""
    if STATE_DIR.exists():
        shutil.rmtree(STATE_DIR)
    for directory in (ETCD_DATA_DIR, PKI_DIR, LOG_DIR, PID_DIR, BIN_DIR):
        directory.mkdir(parents=True, exist_ok=True)
    (BIN_DIR / "kubectl").symlink_to(binaries["kubectl"])
    shutil.copyfile(bootstrap.MANIFESTS / "audit-policy.yaml", AUDIT_POLICY_PATH)
    tokens = {role: secrets.token_hex(16) for role, *_ in components.TOKEN_USERS}
    (PKI_DIR / "tokens.csv").write_text(components.token_file_text(tokens))
    ports = {name: free_port() for name in components.PORT_NAMES}
    startup = Startup(binaries, ports, tokens, write_pki(PKI_DIR), {}, step_timeout)
    startup.state = {
        "ports": ports,
        "server": startup.server,
        "audit_log": str(AUDIT_LOG_PATH),
        "pids": {},
        "versions": reported_versions(binaries),
        "binaries": {name: str(path) for name, path in binaries.items()},
    }
    write_state(startup.state)
    return startup


def _start_etcd(startup: Startup) -> None:
    startup.launch(components.etcd(startup.binaries["etcd"], startup.ports))
    port = startup.ports["etcd"]
    startup.wait("etcd /health", lambda: components.etcd_healthy(port), 30)
    log(f"etcd healthy on {components.etcd_url(startup.ports)}")


def _start_apiserver(startup: Startup) -> Api:
    """kube-apiserver up and ready; every kubeconfig written. Returns the admin client."""
    launch = components.kube_apiserver(
        startup.binaries["kube-apiserver"], startup.ports, startup.pki, PKI_DIR / "tokens.csv"
    )
    startup.launch(launch)
    # Kept for `restart_apiserver`, which the fault tests use.
    startup.state["apiserver_argv"] = launch.argv
    write_state(startup.state)
    ca_pem = startup.pki.ca_cert.read_bytes()
    admin = Api(startup.server, ca_pem, startup.tokens["admin"])
    startup.wait("kube-apiserver /readyz", lambda: admin.exists("/readyz"), 90)
    log(f"kube-apiserver ready on {startup.server}")
    write_kubeconfig(KUBECONFIG_PATH, startup.server, ca_pem, "kaudit-admin", admin.token)
    for role, user in COMPONENT_USERS:
        write_kubeconfig(
            STATE_DIR / f"{role}.kubeconfig", startup.server, ca_pem, user, startup.tokens[role]
        )
    return admin


def _start_clients(startup: Startup) -> None:
    """The controller manager, the scheduler and kwok: clients of the API server."""
    binaries, ports = startup.binaries, startup.ports
    startup.launch(
        components.kube_controller_manager(
            binaries["kube-controller-manager"], ports, startup.pki, STATE_DIR / "kcm.kubeconfig"
        )
    )
    scheduler_kubeconfig = STATE_DIR / "scheduler.kubeconfig"
    scheduler_config = STATE_DIR / "scheduler.yaml"
    scheduler_config.write_text(components.scheduler_config_text(scheduler_kubeconfig))
    startup.launch(
        components.kube_scheduler(
            binaries["kube-scheduler"], ports, scheduler_kubeconfig, scheduler_config
        )
    )
    startup.launch(components.kwok(binaries["kwok"], ports, STATE_DIR / "kwok.kubeconfig"))
    startup.state["pids"] = {name: process.pid for name, process in startup.processes}
    write_state(startup.state)


def _bootstrap(startup: Startup, admin: Api) -> None:
    """Nodes, then kube-system once the controllers run; wait for each to work."""
    bootstrap.create_all(admin, bootstrap.node_objects())
    for name in ("kube-controller-manager", "kube-scheduler"):
        healthy = functools.partial(components.component_healthy, startup.ports[name])
        startup.wait(f"{name} /healthz", healthy, 60)
    startup.wait("kwok nodes Ready", lambda: bootstrap.nodes_ready(admin), 60)
    log(f"nodes Ready: {', '.join(FAKE_NODES)}")
    for namespace in ("default", "kube-system"):
        account = f"/api/v1/namespaces/{namespace}/serviceaccounts/default"
        startup.wait(
            f"the {namespace} default ServiceAccount", functools.partial(admin.exists, account), 60
        )
    bootstrap.create_all(admin, bootstrap.kube_system_objects())
    startup.wait("CoreDNS-like pods Running and Ready", lambda: bootstrap.dns_ready(admin), 60)


def up(timeout: float = 120.0) -> Path:
    """Start the control plane (no-op if already live); return the kubeconfig path.

    Each readiness step waits at most its own limit (30 to 90 s) or `timeout`, if shorter.
    """
    if is_live():
        log(f"already running; KUBECONFIG={KUBECONFIG_PATH}")
        return KUBECONFIG_PATH
    started_at = time.monotonic()
    binaries = all_binary_paths()
    down(quiet=True)  # clear leftovers of a crashed run
    try:
        startup = _prepare(binaries, timeout)
        _start_etcd(startup)
        admin = _start_apiserver(startup)
        _start_clients(startup)
        _bootstrap(startup, admin)
    except BaseException:
        down(quiet=True)
        raise
    log(f"control plane up in {time.monotonic() - started_at:.1f}s; KUBECONFIG={KUBECONFIG_PATH}")
    return KUBECONFIG_PATH


def _ports_in_use() -> list[str]:
    state = read_state()
    ports = state.get("ports", {}) if state else {}
    assert isinstance(ports, dict)
    return [
        f"{name}:{port}"
        for name, port in ports.items()
        if name != "etcd-peer" and port_is_open(int(port))
    ]


def down(quiet: bool = False, timeout: float = 20.0) -> None:
    """Stop every recorded component (clients first) and verify nothing is left."""
    leftovers = stop_recorded(timeout, quiet)
    busy = _ports_in_use()
    forget_pids()
    if leftovers or busy:
        raise ControlPlaneError(f"still running after down: processes {leftovers}, ports {busy}")
    if not quiet:
        log("control plane stopped; no component process or port left")


def status() -> int:
    """Print each component's state; 0 when all run and the API server is ready."""
    pids = recorded_pids()
    state = read_state() or {}
    if not pids:
        print("control plane: not running")
        return 1
    ports = state.get("ports", {})
    assert isinstance(ports, dict)
    all_alive = True
    for name in ALL_BINARIES:
        if name == "kubectl":
            continue
        pid = pids.get(name)
        alive = pid is not None and pid_alive(pid, name)
        all_alive &= alive
        print(f"{name:<24} {'running' if alive else 'STOPPED':<8} pid={pid} port={ports.get(name)}")
    live = is_live()
    print(f"api server: {state.get('server')} {'ready' if live else 'NOT ready'}")
    print(f"kubeconfig: {KUBECONFIG_PATH}")
    print(f"audit log:  {AUDIT_LOG_PATH}")
    versions = state.get("versions", {})
    if isinstance(versions, dict):
        print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return 0 if all_alive and live else 1


def env_lines() -> list[str]:
    return [
        f"export KUBECONFIG={KUBECONFIG_PATH}",
        f"export PATH={BIN_DIR}:$PATH",
    ]
