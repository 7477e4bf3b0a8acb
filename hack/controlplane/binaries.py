"""The control-plane binaries: where they are found, and how they are built.

Lookup order per binary: the KAUDIT_CONTROLPLANE_BIN directory, then (for etcd,
kube-apiserver and kubectl) KUBEBUILDER_ASSETS, then the cache under
${KAUDIT_CACHE:-~/.cache/kaudit}/controlplane/<kubernetes version>/. `build`
compiles whatever none of them has from the Go module proxy.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from hack.controlplane.settings import (
    ALL_BINARIES,
    ETCD_VERSION,
    KUBEBUILDER_BINARIES,
    KUBERNETES_COMMANDS,
    KUBERNETES_VERSION,
    KWOK_VERSION,
    ControlPlaneError,
    log,
)


def kaudit_cache() -> Path:
    """Where built binaries are kept: $KAUDIT_CACHE, else ~/.cache/kaudit."""
    base = os.environ.get("KAUDIT_CACHE") or str(Path.home() / ".cache" / "kaudit")
    return Path(base).expanduser()


def cache_root() -> Path:
    return kaudit_cache() / "controlplane"


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
            "(or `python -m hack.controlplane build`)"
        )
    return found


def go_env(work_dir: Path) -> dict[str, str]:
    """The environment of every Go build of the harness: static, module mode, no workspace."""
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
        env=go_env(work_dir),
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
        env=go_env(work_dir),
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


def go_install(package: str, work_dir: Path, dest: Path) -> None:
    """`go install PACKAGE@VERSION` (static, stripped) and move the binary to `dest`."""
    gobin = work_dir / "bin"
    gobin.mkdir(parents=True, exist_ok=True)
    log(f"$ go install {package}   (once; several minutes on 2 cores)")
    proc = subprocess.run(
        ["go", "install", "-trimpath", "-ldflags", "-s -w", package],
        cwd=work_dir,
        env={**go_env(work_dir), "GOBIN": str(gobin)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise ControlPlaneError(f"go install {package} failed:\n{proc.stdout[-6000:]}")
    name = package.rsplit("@", 1)[0].rsplit("/", 1)[-1]
    _install_atomically(gobin / name, dest)


def _build_kwok(out: Path) -> None:
    # kwok has no replace directives, so a plain `go install` works.
    work_dir = cache_root() / "src" / f"kwok-{KWOK_VERSION}"
    go_install(f"sigs.k8s.io/kwok/cmd/kwok@{KWOK_VERSION}", work_dir, out / "kwok")


def _missing_steps(force: bool) -> list[tuple[str, list[str]]]:
    """The build steps (etcd, kubernetes, kwok) still needed, with the binaries of each."""

    def needed(binary: str) -> bool:
        return force or find_binary(binary) is None

    steps: list[tuple[str, list[str]]] = []
    if needed("etcd"):
        steps.append(("etcd", ["etcd"]))
    missing_k8s = [cmd for cmd in KUBERNETES_COMMANDS if needed(cmd)]
    if missing_k8s:
        steps.append(("kubernetes", missing_k8s))
    if needed("kwok"):
        steps.append(("kwok", ["kwok"]))
    return steps


def build(force: bool = False) -> None:
    """Build whatever is neither cached nor supplied by an override directory."""
    if shutil.which("go") is None:
        raise ControlPlaneError(
            "`go` is not on PATH; Go >= 1.26 is needed to build the control plane"
        )
    out = cache_dir()
    out.mkdir(parents=True, exist_ok=True)
    steps = _missing_steps(force)
    if not steps:
        log(f"all binaries present (overrides or cache {out})")
        return
    started = time.monotonic()
    for index, (name, binaries) in enumerate(steps, start=1):
        log(f"[{index}/{len(steps)}] building {name}: {', '.join(binaries)}")
        step_start = time.monotonic()
        if name == "etcd":
            _build_etcd(out)
        elif name == "kubernetes":
            _build_kubernetes(binaries, out)
        else:
            _build_kwok(out)
        log(f"[{index}/{len(steps)}] {name} done in {time.monotonic() - step_start:.0f}s")
    (out / "versions.json").write_text(
        json.dumps(
            {"kubernetes": KUBERNETES_VERSION, "etcd": ETCD_VERSION, "kwok": KWOK_VERSION},
            indent=2,
        )
        + "\n"
    )
    log(f"build finished in {time.monotonic() - started:.0f}s; binaries in {out}")


def all_binary_paths() -> dict[str, Path]:
    """Every binary the control plane runs, or a ControlPlaneError naming the first missing."""
    return {name: binary_path(name) for name in ALL_BINARIES}


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


def reported_versions(binaries: dict[str, Path]) -> dict[str, str]:
    return {
        "kubernetes": binary_version(binaries["kube-apiserver"]),
        "etcd": binary_version(binaries["etcd"]),
        "kwok": binary_version(binaries["kwok"]),
    }


def binaries_available() -> bool:
    """Every binary is in an override directory or the cache: `up` needs no build."""
    return all(find_binary(name) is not None for name in ALL_BINARIES)
