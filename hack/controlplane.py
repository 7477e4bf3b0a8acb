#!/usr/bin/env python3
"""A real, loopback-only Kubernetes control plane for kaudit's tests.

Subcommands:
  build   build pinned etcd / Kubernetes / kwok binaries from the Go module proxy
          and cache them by version (skips whatever is already cached)
  up      start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
          the kwok controller with fake nodes; write .kaudit/cluster/kubeconfig
  down    stop every component and verify nothing is left listening
  status  print the state of each component
  env     print KUBECONFIG=... for `eval "$(python3 hack/controlplane.py env)"`

Stdlib only, so it runs before any virtualenv exists. Importable: the test
fixture calls `up()` / `down()` / `is_live()` directly.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

# --- pinned versions ------------------------------------------------------------
# Kubernetes 1.36 matches the minor of kind's default node image (v1.36.1); v1.36.3
# is the newest 1.36 patch on the module proxy.
KUBERNETES_VERSION = "v1.36.3"
# Kubernetes 1.36 is tested against etcd 3.6 (build/dependencies.yaml pins 3.6.8);
# the newest 3.6 patch carries the bug fixes of that line.
ETCD_VERSION = "v3.6.16"
# kwok v0.8 refuses to start without an explicit stages config; v0.7 still ships
# built-in node/pod stages, so the controller works with flags alone.
KWOK_VERSION = "v0.7.0"

KUBERNETES_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
ALL_BINARIES = ("etcd", *KUBERNETES_COMMANDS, "kwok")
# envtest's KUBEBUILDER_ASSETS directory holds only these three.
KUBEBUILDER_BINARIES = ("etcd", "kube-apiserver", "kubectl")

REPO_ROOT = Path(__file__).resolve().parent.parent
# KAUDIT_CLUSTER_DIR runs a second, independent control plane (e.g. one per CI job).
STATE_DIR = Path(
    os.environ.get("KAUDIT_CLUSTER_DIR") or REPO_ROOT / ".kaudit" / "cluster"
).resolve()
KUBECONFIG_PATH = STATE_DIR / "kubeconfig"

SERVICE_CIDR = "10.96.0.0/12"
POD_CIDR = "10.244.0.0/16"  # disjoint from SERVICE_CIDR
DNS_SERVICE_IP = "10.96.0.10"
FAKE_NODES = ("kwok-node-0", "kwok-node-1")


class ControlPlaneError(RuntimeError):
    """A build or startup failure with a message meant for humans."""


def log(message: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[controlplane {stamp}] {message}", file=sys.stderr, flush=True)


# --- binaries -------------------------------------------------------------------


def cache_root() -> Path:
    base = os.environ.get("KAUDIT_CACHE") or str(Path.home() / ".cache" / "kaudit")
    return Path(base).expanduser() / "controlplane"


def cache_dir() -> Path:
    return cache_root() / KUBERNETES_VERSION


def _override_dirs(binary: str) -> list[Path]:
    dirs: list[Path] = []
    explicit = os.environ.get("KAUDIT_CONTROLPLANE_BIN")
    if explicit:
        dirs.append(Path(explicit).expanduser())
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets and binary in KUBEBUILDER_BINARIES:
        dirs.append(Path(assets).expanduser())
    return dirs


def find_binary(binary: str) -> Path | None:
    """Overrides first (KAUDIT_CONTROLPLANE_BIN, then KUBEBUILDER_ASSETS), then the cache."""
    for directory in [*_override_dirs(binary), cache_dir()]:
        candidate = directory / binary
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def binary_path(binary: str) -> Path:
    found = find_binary(binary)
    if found is None:
        raise ControlPlaneError(
            f"{binary} not found in overrides or {cache_dir()}; run `make cluster-build` "
            "(or `python3 hack/controlplane.py build`)"
        )
    return found


def _go_env(work_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    goflags = env.get("GOFLAGS", "").split()
    for flag in ("-modcacherw", "-buildvcs=false"):
        if flag not in goflags:
            goflags.append(flag)
    env.update(
        GOFLAGS=" ".join(goflags),
        GOWORK="off",
        CGO_ENABLED="0",
        GOTOOLCHAIN="local",
        GO111MODULE="on",
    )
    # `go` walks up from the working directory looking for a go.mod; the wrapper
    # module dir is self-contained.
    env["PWD"] = str(work_dir)
    return env


def _run_go(args: Sequence[str], work_dir: Path) -> str:
    log(f"$ go {' '.join(args)}   (in {work_dir})")
    proc = subprocess.run(
        ["go", *args],
        cwd=work_dir,
        env=_go_env(work_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ControlPlaneError(f"go {' '.join(args)} failed:\n{proc.stdout[-6000:]}")
    return proc.stdout


def _module_dir(module: str, version: str, work_dir: Path) -> Path:
    out = _run_go(["mod", "download", "-json", f"{module}@{version}"], work_dir)
    return Path(json.loads(out)["Dir"])


def _published_versions(module: str, work_dir: Path) -> set[str]:
    proc = subprocess.run(
        ["go", "list", "-m", "-versions", module],
        cwd=work_dir,
        env=_go_env(work_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    return set(proc.stdout.split()[1:]) if proc.returncode == 0 else set()


def _staging_modules(kubernetes_go_mod: Path) -> list[str]:
    """Modules that k8s.io/kubernetes replaces with ./staging/src/... directories."""
    modules = []
    for line in kubernetes_go_mod.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "=>" and parts[2].startswith("./staging/"):
            modules.append(parts[0])
    return modules


def _write_kubernetes_wrapper(work_dir: Path) -> None:
    """A module requiring k8s.io/kubernetes with its staging replaces made real.

    `go install k8s.io/kubernetes/cmd/...@vX` is refused because the module replaces
    its staging modules with local paths and requires them at v0.0.0. Each staging
    module is published on its own as v0.<minor>.<patch>, so the wrapper points the
    replaces there. Modules never published (the samples) get an empty local stub:
    they are required but never imported by the commands we build.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "go.mod").write_text("module kaudit.local/k8swrapper\n\ngo 1.26\n")
    source = _module_dir("k8s.io/kubernetes", KUBERNETES_VERSION, work_dir)
    staging_version = "v0." + KUBERNETES_VERSION.removeprefix("v1.")
    replaces = []
    for module in _staging_modules(source / "go.mod"):
        if staging_version in _published_versions(module, work_dir):
            replaces.append(f"\t{module} => {module} {staging_version}")
        else:
            stub = work_dir / "stub" / module.replace("/", "_")
            stub.mkdir(parents=True, exist_ok=True)
            (stub / "go.mod").write_text(f"module {module}\n\ngo 1.26\n")
            replaces.append(f"\t{module} => ./stub/{stub.name}")
    go_version = _go_directive(source / "go.mod")
    (work_dir / "go.mod").write_text(
        "module kaudit.local/k8swrapper\n\n"
        f"go {go_version}\n\n"
        f"require k8s.io/kubernetes {KUBERNETES_VERSION}\n\n"
        "replace (\n" + "\n".join(replaces) + "\n)\n"
    )
    # Blank imports keep `go mod tidy` from dropping what the commands need.
    imports = "\n".join(f'\t_ "k8s.io/kubernetes/cmd/{cmd}"' for cmd in KUBERNETES_COMMANDS)
    (work_dir / "tools.go").write_text(
        f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n"
    )


def _go_directive(go_mod: Path) -> str:
    for line in go_mod.read_text().splitlines():
        if line.startswith("go "):
            return line.split()[1]
    return "1.26"


def _kubernetes_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.removeprefix("v").split(".")[:2]
    build_date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    values = {
        "gitVersion": KUBERNETES_VERSION,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": build_date,
    }
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {package}.{key}={value}" for key, value in values.items()]
    return " ".join(flags)


def _install_atomically(built: Path, dest: Path) -> None:
    """Rename into place so an interrupted build never leaves a half-written binary."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.move(built, tmp)  # a move: no second copy of ~100 MB binaries under src/
    tmp.chmod(0o755)
    tmp.replace(dest)


def _build_kubernetes(missing: list[str], out: Path) -> None:
    work_dir = cache_root() / "src" / f"kubernetes-{KUBERNETES_VERSION}"
    _write_kubernetes_wrapper(work_dir)
    _run_go(["mod", "tidy"], work_dir)
    staging_bin = work_dir / "bin"
    staging_bin.mkdir(exist_ok=True)
    # One `go build` for all commands: they share most packages, so the compile
    # is shared instead of repeated per command.
    _run_go(
        [
            "build",
            "-trimpath",
            "-tags",
            "selinux,notest",
            "-ldflags",
            _kubernetes_ldflags(),
            "-o",
            str(staging_bin) + "/",
            *[f"k8s.io/kubernetes/cmd/{cmd}" for cmd in missing],
        ],
        work_dir,
    )
    for cmd in missing:
        _install_atomically(staging_bin / cmd, out / cmd)


def _build_etcd(out: Path) -> None:
    # Its own wrapper module: etcd's dependency versions must not be unified with
    # Kubernetes' (and etcd's own replace directives block `go install`).
    work_dir = cache_root() / "src" / f"etcd-{ETCD_VERSION}"
    work_dir.mkdir(parents=True, exist_ok=True)
    source = _module_dir("go.etcd.io/etcd/server/v3", ETCD_VERSION, work_dir)
    (work_dir / "go.mod").write_text(
        "module kaudit.local/etcdwrapper\n\n"
        f"go {_go_directive(source / 'go.mod')}\n\n"
        f"require go.etcd.io/etcd/server/v3 {ETCD_VERSION}\n"
    )
    (work_dir / "tools.go").write_text(
        '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n'
    )
    _run_go(["mod", "tidy"], work_dir)
    ldflags = f"-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA={ETCD_VERSION}"
    _run_go(
        [
            "build",
            "-trimpath",
            "-ldflags",
            ldflags,
            "-o",
            str(work_dir / "etcd"),
            "go.etcd.io/etcd/server/v3",
        ],
        work_dir,
    )
    _install_atomically(work_dir / "etcd", out / "etcd")


def _build_kwok(out: Path) -> None:
    # kwok has no replace directives, so a plain `go install` works.
    work_dir = cache_root() / "src" / f"kwok-{KWOK_VERSION}"
    work_dir.mkdir(parents=True, exist_ok=True)
    gobin = work_dir / "bin"
    env_dir = work_dir
    log(f"$ go install sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}")
    proc = subprocess.run(
        [
            "go",
            "install",
            "-trimpath",
            "-ldflags",
            "-s -w",
            f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}",
        ],
        cwd=env_dir,
        env={**_go_env(env_dir), "GOBIN": str(gobin)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ControlPlaneError(f"go install kwok failed:\n{proc.stdout[-6000:]}")
    _install_atomically(gobin / "kwok", out / "kwok")


def build(force: bool = False) -> None:
    """Build whatever is neither cached nor supplied by an override directory."""
    if shutil.which("go") is None:
        raise ControlPlaneError(
            "`go` is not on PATH; Go >= 1.26 is needed to build the control plane"
        )
    out = cache_dir()
    out.mkdir(parents=True, exist_ok=True)

    def needed(binary: str) -> bool:
        return force or find_binary(binary) is None

    started = time.monotonic()
    timings: dict[str, float] = {}
    steps: list[tuple[str, list[str]]] = []
    if needed("etcd"):
        steps.append(("etcd", ["etcd"]))
    missing_k8s = [cmd for cmd in KUBERNETES_COMMANDS if needed(cmd)]
    if missing_k8s:
        steps.append(("kubernetes", missing_k8s))
    if needed("kwok"):
        steps.append(("kwok", ["kwok"]))
    if not steps:
        log(f"all binaries present (overrides or cache {out})")
        return
    for index, (name, binaries) in enumerate(steps, start=1):
        log(f"[{index}/{len(steps)}] building {name}: {', '.join(binaries)}")
        step_start = time.monotonic()
        if name == "etcd":
            _build_etcd(out)
        elif name == "kubernetes":
            _build_kubernetes(binaries, out)
        else:
            _build_kwok(out)
        timings[name] = time.monotonic() - step_start
        log(f"[{index}/{len(steps)}] {name} done in {timings[name]:.0f}s")
    (out / "versions.json").write_text(
        json.dumps(
            {"kubernetes": KUBERNETES_VERSION, "etcd": ETCD_VERSION, "kwok": KWOK_VERSION},
            indent=2,
        )
        + "\n"
    )
    log(f"build finished in {time.monotonic() - started:.0f}s; binaries in {out}")


# --- keys ---------------------------------------------------------------------------
# The service-account signing key is the only key material we must create ourselves:
# kube-apiserver self-signs its serving certificate (--cert-dir) and every component
# authenticates with a bearer token. A stdlib RSA key avoids depending on openssl.

_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]


def _is_probable_prime(candidate: int, rounds: int = 40) -> bool:
    import secrets

    if any(candidate % p == 0 for p in _SMALL_PRIMES):
        return candidate in _SMALL_PRIMES
    d, r = candidate - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for _ in range(rounds):
        a = secrets.randbelow(candidate - 3) + 2
        x = pow(a, d, candidate)
        if x in (1, candidate - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, candidate)
            if x == candidate - 1:
                break
        else:
            return False
    return True


def _random_prime(bits: int) -> int:
    import secrets

    while True:
        # Top two bits set so p*q has the full modulus length; odd.
        candidate = secrets.randbits(bits) | (0b11 << (bits - 2)) | 1
        if _is_probable_prime(candidate):
            return candidate


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    encoded = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # leading 0 keeps it positive
    return b"\x02" + _der_length(len(body)) + body


def rsa_private_key_pem(bits: int = 2048) -> str:
    """A PKCS#1 RSA private key in PEM, as kube-apiserver's keyutil reads it."""
    exponent = 65537
    while True:
        p, q = _random_prime(bits // 2), _random_prime(bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and phi % exponent != 0:
            break
    d = pow(exponent, -1, phi)
    fields = [0, p * q, exponent, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p)]
    body = b"".join(_der_integer(value) for value in fields)
    der = b"\x30" + _der_length(len(body)) + body
    b64 = base64.b64encode(der).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return (
        "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----\n"
    )


# --- runtime state --------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    name: str
    argv: list[str]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _state_file() -> Path:
    return STATE_DIR / "state.json"


def read_state() -> dict[str, object] | None:
    try:
        state: dict[str, object] = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return None
    return state


def _pid_alive(pid: int, binary_name: str) -> bool:
    """Alive and still the process we started (guards against pid reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if status.split(") ", 1)[-1].startswith("Z"):  # zombie: exited, not yet reaped
        return False
    argv0 = cmdline.split(b"\0", 1)[0].decode(errors="replace")
    return Path(argv0).name == binary_name


def log_tail(name: str, lines: int = 25) -> str:
    path = STATE_DIR / "logs" / f"{name}.log"
    try:
        content = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return f"--- last {lines} lines of {path} ---\n" + "\n".join(content[-lines:])


def _kubeconfig_yaml(server: str, ca_pem: bytes, user: str, token: str) -> str:
    # JSON is valid YAML, and keeps this stdlib-only.
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "kaudit",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "kaudit", "context": {"cluster": "kaudit", "user": user}}],
        "current-context": "kaudit",
    }
    return json.dumps(config, indent=2) + "\n"


class Api:
    """A tiny stdlib HTTPS client for readiness checks and bootstrap objects."""

    def __init__(self, server: str, ca_file: Path, token: str) -> None:
        self.server = server
        self.token = token
        self.context = ssl.create_default_context(cafile=str(ca_file))

    def request(self, method: str, path: str, body: object | None = None) -> tuple[int, object]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.server + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
                raw = response.read()
                status = int(response.status)
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def create(self, path: str, body: dict[str, object]) -> None:
        status, response = self.request("POST", path, body)
        if status not in (200, 201, 409):  # 409: already exists
            raise ControlPlaneError(f"POST {path} -> {status}: {response}")


def _wait_until(
    description: str,
    check: object,
    timeout: float,
    watched: Iterable[tuple[str, subprocess.Popen[bytes]]] = (),
) -> None:
    """Poll `check()` until true; fail early, with the log tail, if a component dies."""
    assert callable(check)
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


def _etcd_healthy(port: int) -> bool:
    url = f"http://127.0.0.1:{port}/health"
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(json.loads(response.read()).get("health") == "true")


def _component_healthy(port: int) -> bool:
    # /healthz is on the always-allowed path list of the controller-manager and scheduler.
    context = ssl._create_unverified_context()  # self-signed, loopback-only health probe
    url = f"https://127.0.0.1:{port}/healthz"
    with urllib.request.urlopen(url, context=context, timeout=2) as response:
        return bool(response.status == 200)


def is_live(kubeconfig: Path = KUBECONFIG_PATH) -> bool:
    """True when the kubeconfig's API server answers /readyz with its credentials."""
    try:
        config = json.loads(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        token = config["users"][0]["user"]["token"]
        ca_pem = base64.b64decode(cluster["certificate-authority-data"])
    except (OSError, ValueError, KeyError, IndexError):
        return False
    with tempfile.NamedTemporaryFile("wb", suffix=".crt") as ca_file:
        ca_file.write(ca_pem)
        ca_file.flush()
        try:
            status, _ = Api(cluster["server"], Path(ca_file.name), token).request("GET", "/readyz")
        except (OSError, ssl.SSLError):
            return False
    return status == 200


# --- bootstrap objects --------------------------------------------------------------


def _node_manifest(name: str, index: int) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
            # kwok only manages nodes it is told to (here: all, see --manage-all-nodes),
            # the annotation documents the intent for anyone reading the object.
            "annotations": {"kwok.x-k8s.io/node": "fake"},
        },
        "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
        # Nodes (unlike most kinds) accept status on create; kwok keeps these addresses,
        # and hostNetwork pods get the node's InternalIP, as on kind (172.18.0.x).
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": f"172.18.0.{index + 2}"},
                {"type": "Hostname", "address": name},
            ],
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "5000"},
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "5000"},
            "nodeInfo": {
                "kubeletVersion": KUBERNETES_VERSION,
                "operatingSystem": "linux",
                "architecture": "amd64",
            },
        },
    }


def _dns_objects() -> list[tuple[str, dict[str, object]]]:
    """CoreDNS as kubeadm (and so kind) creates it: ServiceAccount, ConfigMap,
    Deployment and the kube-dns Service on 10.96.0.10.

    Same names, labels, selectors and ports as a kind cluster, so manifests written
    for kind (the demo's kube-system.yaml) `kubectl apply` onto them cleanly.
    """
    labels = {"k8s-app": "kube-dns"}
    meta = {"namespace": "kube-system"}
    service_account: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "coredns", **meta},
    }
    # kind's CNI DaemonSet runs as this ServiceAccount; creating it lets manifests
    # written for kind (a kindnet DaemonSet, as in the demo) apply unchanged.
    kindnet_account: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "kindnet", **meta},
    }
    corefile = (
        ".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n"
        "    kubernetes cluster.local in-addr.arpa ip6.arpa {\n"
        "       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n    }\n"
        "    prometheus :9153\n    forward . /etc/resolv.conf\n    cache 30\n    loop\n"
        "    reload\n    loadbalance\n}\n"
    )
    config_map: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "coredns", **meta},
        "data": {"Corefile": corefile},
    }
    container_ports = [
        {"name": "dns", "containerPort": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 9153, "protocol": "TCP"},
        {"name": "liveness-probe", "containerPort": 8080, "protocol": "TCP"},
        {"name": "readiness-probe", "containerPort": 8181, "protocol": "TCP"},
    ]
    deployment: dict[str, object] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "coredns", "labels": labels, **meta},
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "priorityClassName": "system-cluster-critical",
                    "serviceAccountName": "coredns",
                    "tolerations": [
                        {"key": "CriticalAddonsOnly", "operator": "Exists"},
                        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"},
                    ],
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "dnsPolicy": "Default",
                    "containers": [
                        {
                            "name": "coredns",
                            "image": "registry.k8s.io/coredns/coredns:v1.14.2",
                            "imagePullPolicy": "IfNotPresent",
                            "args": ["-conf", "/etc/coredns/Corefile"],
                            "ports": container_ports,
                            "readinessProbe": {
                                "httpGet": {
                                    "path": "/ready",
                                    "port": "readiness-probe",
                                    "scheme": "HTTP",
                                }
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]},
                                "readOnlyRootFilesystem": True,
                            },
                            "volumeMounts": [
                                {
                                    "name": "config-volume",
                                    "mountPath": "/etc/coredns",
                                    "readOnly": True,
                                }
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "config-volume",
                            "configMap": {
                                "name": "coredns",
                                "items": [{"key": "Corefile", "path": "Corefile"}],
                            },
                        }
                    ],
                },
            },
        },
    }
    service: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kube-dns",
            "labels": {
                **labels,
                "kubernetes.io/cluster-service": "true",
                "kubernetes.io/name": "CoreDNS",
            },
            "annotations": {"prometheus.io/port": "9153", "prometheus.io/scrape": "true"},
            **meta,
        },
        "spec": {
            "clusterIP": DNS_SERVICE_IP,
            "selector": labels,
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153},
            ],
        },
    }
    return [
        ("/api/v1/namespaces/kube-system/serviceaccounts", service_account),
        ("/api/v1/namespaces/kube-system/serviceaccounts", kindnet_account),
        ("/api/v1/namespaces/kube-system/configmaps", config_map),
        ("/apis/apps/v1/namespaces/kube-system/deployments", deployment),
        ("/api/v1/namespaces/kube-system/services", service),
    ]


# --- up / down ----------------------------------------------------------------------

KCM_CONTROLLERS = (
    "endpoints-controller",
    "endpointslice-controller",
    "endpointslice-mirroring-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "garbage-collector-controller",
    "node-lifecycle-controller",
    "replicaset-controller",
    "deployment-controller",
    "statefulset-controller",
    "daemonset-controller",
    "job-controller",
    "cronjob-controller",
    "root-ca-certificate-publisher-controller",
    "clusterrole-aggregation-controller",
    "disruption-controller",
    "pod-garbage-collector-controller",
    "ttl-after-finished-controller",
    # The admission chain puts protection finalizers on claims and volumes; without
    # these controllers a StatefulSet's claim (and so its namespace) never goes away.
    "persistentvolumeclaim-protection-controller",
    "persistentvolume-protection-controller",
)


def _start(component: Component, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    logs = STATE_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"{component.name}.log").open("ab") as log_file:
        # A new session: the component survives the shell that ran `make cluster-up`,
        # and `down` can signal its whole process group.
        process = subprocess.Popen(
            component.argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=STATE_DIR,
            env=env,
        )
    pids = STATE_DIR / "pids"
    pids.mkdir(parents=True, exist_ok=True)
    (pids / f"{component.name}.pid").write_text(f"{process.pid}\n")
    return process


def up(timeout: float = 120.0) -> Path:
    """Start the control plane (no-op if already live); return the kubeconfig path."""
    if is_live():
        log(f"already running; KUBECONFIG={KUBECONFIG_PATH}")
        return KUBECONFIG_PATH
    started_at = time.monotonic()
    binaries = {name: binary_path(name) for name in ALL_BINARIES}
    down(quiet=True)  # clear leftovers of a crashed run
    if STATE_DIR.exists():
        shutil.rmtree(STATE_DIR)
    for sub in ("etcd", "pki", "logs", "pids", "bin"):
        (STATE_DIR / sub).mkdir(parents=True, exist_ok=True)
    (STATE_DIR / "bin" / "kubectl").symlink_to(binaries["kubectl"])

    import secrets

    tokens = {role: secrets.token_hex(16) for role in ("admin", "kcm", "scheduler", "kwok")}
    # token,user,uid,"groups": system:masters for the admin and for kwok, which
    # updates status of every node and pod; the controllers get their real identities.
    (STATE_DIR / "pki" / "tokens.csv").write_text(
        f'{tokens["admin"]},kaudit-admin,kaudit-admin,"system:masters"\n'
        f"{tokens['kcm']},system:kube-controller-manager,kcm\n"
        f"{tokens['scheduler']},system:kube-scheduler,scheduler\n"
        f'{tokens["kwok"]},kwok-controller,kwok,"system:masters"\n'
    )
    sa_key = STATE_DIR / "pki" / "sa.key"
    sa_key.write_text(rsa_private_key_pem())
    sa_key.chmod(0o600)

    ports = {
        name: free_port()
        for name in (
            "etcd",
            "etcd-peer",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok",
        )
    }
    server = f"https://127.0.0.1:{ports['kube-apiserver']}"
    state = {
        "ports": ports,
        "server": server,
        "pids": {},
        "versions": _versions(binaries),
        "binaries": {name: str(path) for name, path in binaries.items()},
    }
    _state_file().write_text(json.dumps(state, indent=2) + "\n")

    processes: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        etcd_url = f"http://127.0.0.1:{ports['etcd']}"
        peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
        processes.append(
            (
                "etcd",
                _start(
                    Component(
                        "etcd",
                        [
                            str(binaries["etcd"]),
                            "--name=default",
                            f"--data-dir={STATE_DIR / 'etcd'}",
                            f"--listen-client-urls={etcd_url}",
                            f"--advertise-client-urls={etcd_url}",
                            f"--listen-peer-urls={peer_url}",
                            f"--initial-advertise-peer-urls={peer_url}",
                            f"--initial-cluster=default={peer_url}",
                            "--unsafe-no-fsync",  # throwaway data; fsync dominates on slow disks
                            "--log-level=warn",
                        ],
                    )
                ),
            )
        )
        _wait_until("etcd /health", lambda: _etcd_healthy(ports["etcd"]), 30, processes)
        log(f"etcd healthy on {etcd_url}")

        cert_dir = STATE_DIR / "pki"
        processes.append(
            (
                "kube-apiserver",
                _start(
                    Component(
                        "kube-apiserver",
                        [
                            str(binaries["kube-apiserver"]),
                            f"--etcd-servers={etcd_url}",
                            "--bind-address=127.0.0.1",
                            # Without it the server fails when the host has no default route.
                            "--advertise-address=127.0.0.1",
                            f"--secure-port={ports['kube-apiserver']}",
                            f"--cert-dir={cert_dir}",
                            "--authorization-mode=RBAC",
                            f"--token-auth-file={cert_dir / 'tokens.csv'}",
                            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                            f"--service-account-key-file={sa_key}",
                            f"--service-account-signing-key-file={sa_key}",
                            f"--service-cluster-ip-range={SERVICE_CIDR}",
                            # No kube-apiserver Endpoints reconciliation: 127.0.0.1 is not a
                            # valid endpoint address and nothing in-cluster dials it.
                            "--endpoint-reconciler-type=none",
                            # Tests create privileged and hostNetwork pods on purpose.
                            "--allow-privileged=true",
                            "--profiling=false",
                            "--v=1",
                        ],
                    )
                ),
            )
        )
        ca_file = cert_dir / "apiserver.crt"
        _wait_until("kube-apiserver serving certificate", ca_file.exists, 60, processes)
        admin = Api(server, ca_file, tokens["admin"])
        _wait_until(
            "kube-apiserver /readyz",
            lambda: admin.request("GET", "/readyz")[0] == 200,
            90,
            processes,
        )
        log(f"kube-apiserver ready on {server}")

        ca_pem = ca_file.read_bytes()
        KUBECONFIG_PATH.write_text(
            _kubeconfig_yaml(server, ca_pem, "kaudit-admin", tokens["admin"])
        )
        KUBECONFIG_PATH.chmod(0o600)
        for role, user in (
            ("kcm", "system:kube-controller-manager"),
            ("scheduler", "system:kube-scheduler"),
            ("kwok", "kwok-controller"),
        ):
            path = STATE_DIR / f"{role}.kubeconfig"
            path.write_text(_kubeconfig_yaml(server, ca_pem, user, tokens[role]))
            path.chmod(0o600)

        kcm_kubeconfig = str(STATE_DIR / "kcm.kubeconfig")
        processes.append(
            (
                "kube-controller-manager",
                _start(
                    Component(
                        "kube-controller-manager",
                        [
                            str(binaries["kube-controller-manager"]),
                            f"--kubeconfig={kcm_kubeconfig}",
                            f"--authentication-kubeconfig={kcm_kubeconfig}",
                            f"--authorization-kubeconfig={kcm_kubeconfig}",
                            "--bind-address=127.0.0.1",
                            f"--secure-port={ports['kube-controller-manager']}",
                            "--leader-elect=false",
                            # Each controller acts as its own kube-system ServiceAccount with
                            # the bootstrap RBAC roles, as in kubeadm/kind clusters.
                            "--use-service-account-credentials=true",
                            f"--controllers={','.join(KCM_CONTROLLERS)}",
                            f"--service-account-private-key-file={sa_key}",
                            f"--root-ca-file={ca_file}",
                            f"--cluster-cidr={POD_CIDR}",
                            f"--service-cluster-ip-range={SERVICE_CIDR}",
                            # kwok renews node leases on time unless the machine is starved
                            # (e.g. while a benchmark loads thousands of pods); a longer
                            # grace period keeps the nodes and their pods Ready through that.
                            "--node-monitor-grace-period=3m",
                            "--kube-api-qps=200",
                            "--kube-api-burst=400",
                            "--v=1",
                        ],
                    )
                ),
            )
        )
        sched_kubeconfig = str(STATE_DIR / "scheduler.kubeconfig")
        sched_config = STATE_DIR / "scheduler.yaml"
        sched_config.write_text(_scheduler_config(sched_kubeconfig))
        processes.append(
            (
                "kube-scheduler",
                _start(
                    Component(
                        "kube-scheduler",
                        [
                            str(binaries["kube-scheduler"]),
                            f"--config={sched_config}",
                            f"--authentication-kubeconfig={sched_kubeconfig}",
                            f"--authorization-kubeconfig={sched_kubeconfig}",
                            "--bind-address=127.0.0.1",
                            f"--secure-port={ports['kube-scheduler']}",
                            "--v=1",
                        ],
                    )
                ),
            )
        )
        processes.append(
            (
                "kwok",
                _start(
                    Component(
                        "kwok",
                        [
                            str(binaries["kwok"]),
                            f"--kubeconfig={STATE_DIR / 'kwok.kubeconfig'}",
                            "--manage-all-nodes=true",
                            # Heartbeat through Leases in kube-node-lease, as kubelets do:
                            # without them the node-lifecycle controller marks the nodes
                            # (and every pod on them) NotReady after its grace period.
                            "--node-lease-duration-seconds=40",
                            f"--cidr={POD_CIDR}",
                            "--node-ip=127.0.0.1",
                            f"--server-address=127.0.0.1:{ports['kwok']}",
                            "--v=INFO",
                        ],
                    ),
                    # kwok reads ~/.kwok/kwok.yaml when it exists: keep a user's config out.
                    env={**os.environ, "HOME": str(STATE_DIR)},
                ),
            )
        )
        state["pids"] = {name: process.pid for name, process in processes}
        _state_file().write_text(json.dumps(state, indent=2) + "\n")

        for index, node in enumerate(FAKE_NODES):
            admin.create("/api/v1/nodes", _node_manifest(node, index))
        _wait_until(
            "kube-controller-manager /healthz",
            lambda: _component_healthy(ports["kube-controller-manager"]),
            60,
            processes,
        )
        _wait_until(
            "kube-scheduler /healthz",
            lambda: _component_healthy(ports["kube-scheduler"]),
            60,
            processes,
        )
        _wait_until("kwok nodes Ready", lambda: _nodes_ready(admin), 60, processes)
        log(f"nodes Ready: {', '.join(FAKE_NODES)}")
        _wait_until(
            "the default ServiceAccount",
            lambda: (
                admin.request("GET", "/api/v1/namespaces/default/serviceaccounts/default")[0] == 200
            ),
            60,
            processes,
        )
        _wait_until(
            "the kube-system default ServiceAccount",
            lambda: (
                admin.request("GET", "/api/v1/namespaces/kube-system/serviceaccounts/default")[0]
                == 200
            ),
            60,
            processes,
        )
        for api_path, body in _dns_objects():
            admin.create(api_path, body)
        _wait_until("CoreDNS-like pods Running and Ready", lambda: _dns_ready(admin), 60, processes)
    except BaseException:
        down(quiet=True)
        raise
    log(f"control plane up in {time.monotonic() - started_at:.1f}s; KUBECONFIG={KUBECONFIG_PATH}")
    return KUBECONFIG_PATH


def _scheduler_config(kubeconfig: str) -> str:
    """Scheduler configuration without the volume plugins.

    Nothing here provisions volumes, so a StatefulSet's PersistentVolumeClaims stay
    Pending and the VolumeBinding plugin would keep its pods unschedulable forever.
    kwok runs pods without volumes anyway; the claims simply stay Pending.
    """
    volume_plugins = ("VolumeBinding", "VolumeRestrictions", "VolumeZone", "NodeVolumeLimits")
    config = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": kubeconfig, "qps": 200, "burst": 400},
        "leaderElection": {"leaderElect": False},
        "profiles": [
            {
                "schedulerName": "default-scheduler",
                "plugins": {"multiPoint": {"disabled": [{"name": n} for n in volume_plugins]}},
            }
        ],
    }
    return json.dumps(config, indent=2) + "\n"


def _is_ready(conditions: object) -> bool:
    return isinstance(conditions, list) and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in conditions
    )


def _nodes_ready(admin: Api) -> bool:
    status, body = admin.request("GET", "/api/v1/nodes")
    if status != 200 or not isinstance(body, dict):
        return False
    ready = {
        item["metadata"]["name"]
        for item in body.get("items", [])
        if _is_ready(item.get("status", {}).get("conditions"))
        and not any(
            t.get("effect") == "NoSchedule" for t in item.get("spec", {}).get("taints", []) or []
        )
    }
    return set(FAKE_NODES) <= ready


def _dns_ready(admin: Api) -> bool:
    status, body = admin.request(
        "GET", "/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns"
    )
    if status != 200 or not isinstance(body, dict):
        return False
    pods = body.get("items", [])
    return len(pods) >= 2 and all(
        pod.get("status", {}).get("podIP") and _is_ready(pod.get("status", {}).get("conditions"))
        for pod in pods
    )


def binary_version(path: Path) -> str:
    """The version a binary reports (override directories may hold other versions)."""
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except OSError:
        return "unknown"
    # "Kubernetes v1.36.3", "etcd Version: 3.6.16", "kwok version v0.7.0 go1.26.8 ..."
    for word in out.replace(":", " ").split():
        if (word[:1] == "v" and word[1:2].isdigit()) or (word[:1].isdigit() and "." in word):
            return word if word.startswith("v") else f"v{word}"
    return "unknown"


def _versions(binaries: dict[str, Path]) -> dict[str, str]:
    return {
        "kubernetes": binary_version(binaries["kube-apiserver"]),
        "etcd": binary_version(binaries["etcd"]),
        "kwok": binary_version(binaries["kwok"]),
    }


def _recorded_pids() -> dict[str, int]:
    pids: dict[str, int] = {}
    pid_dir = STATE_DIR / "pids"
    if pid_dir.is_dir():
        for pid_file in pid_dir.glob("*.pid"):
            try:
                pids[pid_file.stem] = int(pid_file.read_text().strip())
            except ValueError:
                continue
    return pids


def _binary_name(component: str) -> str:
    return component  # every component runs as the binary of the same name


def down(quiet: bool = False, timeout: float = 20.0) -> None:
    """Stop every recorded component (newest first) and verify nothing is left."""
    pids = _recorded_pids()
    alive = {name: pid for name, pid in pids.items() if _pid_alive(pid, _binary_name(name))}
    # Stop the clients before the servers they talk to.
    order = ["kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"]
    for name in sorted(alive, key=lambda n: order.index(n) if n in order else -1):
        pid = alive[name]
        try:
            os.killpg(pid, signal.SIGTERM)  # its own session: pgid == pid
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(pid, _binary_name(name)):
            _reap(pid)
            time.sleep(0.05)
        if _pid_alive(pid, _binary_name(name)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            time.sleep(0.2)
            _reap(pid)
        if not quiet:
            log(f"stopped {name} (pid {pid})")
    leftovers = [name for name, pid in pids.items() if _pid_alive(pid, _binary_name(name))]
    state = read_state()
    ports = state.get("ports", {}) if state else {}
    assert isinstance(ports, dict)
    busy = [
        f"{name}:{port}"
        for name, port in ports.items()
        if name != "etcd-peer" and port_is_open(int(port))
    ]
    for pid_file in (STATE_DIR / "pids").glob("*.pid") if (STATE_DIR / "pids").is_dir() else []:
        pid_file.unlink()
    if leftovers or busy:
        raise ControlPlaneError(f"still running after down: processes {leftovers}, ports {busy}")
    if not quiet:
        log("control plane stopped; no component process or port left")


def _reap(pid: int) -> None:
    """Collect the exit status if we are the parent (when `up` and `down` share a process)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def status() -> int:
    pids = _recorded_pids()
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
        alive = pid is not None and _pid_alive(pid, _binary_name(name))
        all_alive &= alive
        print(f"{name:<24} {'running' if alive else 'STOPPED':<8} pid={pid} port={ports.get(name)}")
    live = is_live()
    print(f"api server: {state.get('server')} {'ready' if live else 'NOT ready'}")
    print(f"kubeconfig: {KUBECONFIG_PATH}")
    versions = state.get("versions", {})
    if isinstance(versions, dict):
        print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    return 0 if all_alive and live else 1


def env_lines() -> list[str]:
    return [
        f"export KUBECONFIG={KUBECONFIG_PATH}",
        f"export PATH={STATE_DIR / 'bin'}:$PATH",
    ]


# --- main -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    build_cmd = sub.add_parser("build", help="build and cache the binaries")
    build_cmd.add_argument("--force", action="store_true", help="rebuild even if cached")
    up_cmd = sub.add_parser("up", help="start the control plane")
    up_cmd.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait per readiness step"
    )
    sub.add_parser("down", help="stop the control plane")
    sub.add_parser("status", help="show component state")
    sub.add_parser("env", help="print shell exports for KUBECONFIG and kubectl")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
