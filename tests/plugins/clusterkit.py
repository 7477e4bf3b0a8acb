"""Helpers for tests against the real local control plane (hack.controlplane).

The cluster of a test session is the one in KAUDIT_TEST_KUBECONFIG, else the
harness's (.kaudit/cluster/kubeconfig), which the `cluster` fixture
(tests/plugins/cluster.py) starts when it is not running. The helpers run the
matching kubectl against it. Every test gets its own namespace from the
`namespace` fixture.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hack import controlplane

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Cluster:
    kubeconfig: Path
    kubectl_binary: str
    started_here: bool

    def kubectl(
        self,
        *args: str,
        stdin: str | None = None,
        check: bool = True,
        kubeconfig: Path | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster (or `kubeconfig`); raise with stderr on failure."""
        env = {**os.environ, "KUBECONFIG": str(kubeconfig or self.kubeconfig)}
        proc = subprocess.run(
            [self.kubectl_binary, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}{proc.stdout}"
            )
        return proc

    def kubectl_json(self, *args: str, kubeconfig: Path | None = None) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json", kubeconfig=kubeconfig).stdout)

    # The helpers below as methods too, so tests reach them through the fixture.

    def apply(self, manifest: str | Path, namespace: str | None = None) -> None:
        apply(manifest, namespace)

    def wait_for(
        self, description: str, condition: Callable[[], bool], timeout: float = 60
    ) -> None:
        wait_for(description, condition, timeout)

    def pods_ready(self, namespace: str, expected: int) -> bool:
        return pods_ready(namespace, expected)

    @property
    def server(self) -> str:
        config = _read_kubeconfig(self.kubeconfig)
        current = config.get("current-context")
        context = next(
            (c["context"] for c in config["contexts"] if c["name"] == current),
            config["contexts"][0]["context"],
        )
        cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
        return str(cluster["server"])


def _read_kubeconfig(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def session_cluster(started_here: bool = False) -> Cluster:
    """The cluster of this test session, with the kubectl that matches the control plane."""
    override = os.environ.get("KAUDIT_TEST_KUBECONFIG")
    kubeconfig = Path(override) if override else controlplane.KUBECONFIG_PATH
    kubectl_binary = controlplane.find_binary("kubectl") or shutil.which("kubectl") or ""
    return Cluster(kubeconfig, str(kubectl_binary), started_here)


def kubectl(
    *args: str,
    stdin: str | None = None,
    check: bool = True,
    kubeconfig: Path | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the control plane's kubectl against the test cluster; raise with stderr on failure."""
    return session_cluster().kubectl(
        *args, stdin=stdin, check=check, kubeconfig=kubeconfig, timeout=timeout
    )


def kubectl_json(*args: str, kubeconfig: Path | None = None) -> Any:
    return session_cluster().kubectl_json(*args, kubeconfig=kubeconfig)


# A namespace's default ServiceAccount appears a moment after the namespace; pods
# created in between are rejected by the ServiceAccount admission plugin. Real
# clusters have the same race, so apply retries on exactly that error.
_SERVICE_ACCOUNT_RACE = re.compile(
    r'serviceaccount "default" not found|error looking up service account'
)


def apply(
    manifest: str | Path, namespace: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """kubectl apply a file/folder path or YAML text, retrying the ServiceAccount race."""
    args = ["apply"]
    stdin = None
    if isinstance(manifest, Path):
        args += ["-f", str(manifest)]
        if manifest.is_dir():
            args.append("--recursive")
    else:
        args += ["-f", "-"]
        stdin = manifest
    if namespace:
        args += ["-n", namespace]
    deadline = time.monotonic() + timeout
    while True:
        proc = kubectl(*args, stdin=stdin, check=False)
        if proc.returncode == 0:
            return proc
        if not _SERVICE_ACCOUNT_RACE.search(proc.stderr) or time.monotonic() > deadline:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{proc.stderr}{proc.stdout}")
        time.sleep(0.3)


def wait_for(
    description: str, condition: Callable[[], bool], timeout: float = 60, interval: float = 0.3
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {description}")


def wait_for_default_service_account(namespace: str, timeout: float = 30) -> None:
    wait_for(
        f"ServiceAccount {namespace}/default",
        lambda: (
            kubectl("get", "serviceaccount", "default", "-n", namespace, check=False).returncode
            == 0
        ),
        timeout,
    )


def pods_ready(namespace: str, expected: int) -> bool:
    pods = kubectl_json("get", "pods", "-n", namespace)["items"]
    ready = [
        p
        for p in pods
        if p.get("status", {}).get("podIP")
        and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in p.get("status", {}).get("conditions", [])
        )
    ]
    return len(ready) >= expected


def delete_namespaces(*names: str) -> None:
    """Delete namespaces without waiting; their pods go first, without grace.

    The namespace controller waits out the pods' grace period (30s by default)
    before the namespace is gone; force-deleting the fake pods keeps it to seconds.
    """
    for name in names:
        kubectl("delete", "pods", "--all", "-n", name, "--grace-period=0", "--force", check=False)
    kubectl("delete", "namespace", *names, "--wait=false", "--ignore-not-found", check=False)


def wait_namespaces_gone(*names: str, timeout: float = 180) -> None:
    """Wait while any of `names` is still terminating: it rejects new objects."""

    def none_terminating() -> bool:
        proc = kubectl("get", "namespace", *names, "--ignore-not-found", "-o", "json", check=False)
        if proc.returncode != 0:
            return False
        items = json.loads(proc.stdout).get("items", []) if proc.stdout.strip() else []
        return all(ns.get("status", {}).get("phase") != "Terminating" for ns in items)

    wait_for(f"namespaces {', '.join(names)} to finish terminating", none_terminating, timeout)


def slices_settled(namespaces: list[str]) -> bool:
    """Each selector Service's slices list exactly the ready pods it selects."""
    for ns in namespaces:
        services = kubectl_json("get", "services", "-n", ns)["items"]
        pods = kubectl_json("get", "pods", "-n", ns)["items"]
        slices = kubectl_json("get", "endpointslices", "-n", ns)["items"]
        for svc in services:
            selector = svc["spec"].get("selector")
            if not selector:
                continue
            selected = [
                p
                for p in pods
                if all(p["metadata"].get("labels", {}).get(k) == v for k, v in selector.items())
            ]
            endpoints = [
                e
                for s in slices
                if s["metadata"]["labels"].get("kubernetes.io/service-name")
                == svc["metadata"]["name"]
                for e in s.get("endpoints") or []
            ]
            if len(endpoints) != len(selected):
                return False
    return True


# --- the API server's audit log ------------------------------------------------------------


@dataclass(frozen=True)
class AuditEvent:
    """One request as kube-apiserver's audit log records it (Metadata level)."""

    user: str
    user_agent: str
    verb: str
    uri: str
    code: int | None
    api_group: str | None = None
    resource: str | None = None
    subresource: str | None = None
    namespace: str | None = None
    name: str | None = None

    @classmethod
    def from_json(cls, event: dict[str, Any]) -> AuditEvent:
        ref = event.get("objectRef") or {}
        return cls(
            user=str(event.get("user", {}).get("username", "")),
            user_agent=str(event.get("userAgent", "")),
            verb=str(event.get("verb", "")),
            uri=str(event.get("requestURI", "")),
            code=(event.get("responseStatus") or {}).get("code"),
            api_group=ref.get("apiGroup"),
            resource=ref.get("resource"),
            subresource=ref.get("subresource"),
            namespace=ref.get("namespace"),
            name=ref.get("name"),
        )


class AuditLog:
    """The requests the API server logs from now on (see hack/controlplane audit-policy.yaml)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size

    @classmethod
    def start(cls) -> AuditLog:
        """Mark the log's end; skip the test when the cluster keeps no audit log."""
        import pytest

        path = controlplane.AUDIT_LOG_PATH
        if os.environ.get("KAUDIT_TEST_KUBECONFIG") or not path.exists():
            pytest.skip(
                "the cluster keeps no audit log: needs the harness's control plane, "
                "started by this version of hack/controlplane"
            )
        return cls(path)

    def events(self, user: str | None = None, settle: float = 0.3) -> list[AuditEvent]:
        """The events since `start` (of `user`).

        The log is written in blocking mode, before a request completes; `settle`
        is a margin for the last write. The rest of the cluster keeps logging, so
        waiting for the log to stop growing would not end.
        """
        time.sleep(settle)
        with self.path.open("rb") as log:
            log.seek(self.offset)
            chunk = log.read()
        lines = chunk[: chunk.rfind(b"\n") + 1].splitlines()
        events = [AuditEvent.from_json(json.loads(line)) for line in lines if line.strip()]
        return [e for e in events if user is None or e.user == user]

    def wait_for(
        self, description: str, match: Callable[[AuditEvent], bool], timeout: float = 30
    ) -> None:
        """Until an event since `start` matches (polled every 20 ms, for the fault tests)."""
        deadline = time.monotonic() + timeout
        offset = self.offset
        while time.monotonic() < deadline:
            with self.path.open("rb") as log:
                log.seek(offset)
                chunk = log.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            offset += len(complete)
            for line in complete.splitlines():
                if line.strip() and match(AuditEvent.from_json(json.loads(line))):
                    return
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {description}")
