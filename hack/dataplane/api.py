"""The control plane as the dataplane sees it: a kubeconfig and the matching kubectl."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A brand-new namespace's default ServiceAccount appears a moment after it; pods
# created in between are refused. Retried on exactly that error.
_SERVICE_ACCOUNT_RACE = re.compile(
    r'serviceaccount "default" not found|error looking up service account'
)


class ApiError(RuntimeError):
    pass


def find_kubectl(kubeconfig: Path) -> str:
    """As the control-plane harness provides it: next to the kubeconfig (bin/kubectl),
    then KAUDIT_CONTROLPLANE_BIN, then PATH."""
    candidates = [kubeconfig.parent / "bin" / "kubectl"]
    explicit = os.environ.get("KAUDIT_CONTROLPLANE_BIN")
    if explicit:
        candidates.append(Path(explicit).expanduser() / "kubectl")
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("kubectl")
    if found is None:
        raise ApiError(f"no kubectl next to {kubeconfig}, in KAUDIT_CONTROLPLANE_BIN or on PATH")
    return found


@dataclass(frozen=True)
class Kube:
    kubeconfig: Path
    kubectl_binary: str

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        proc = subprocess.run(
            [self.kubectl_binary, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
            timeout=120,
            check=False,
        )
        if check and proc.returncode != 0:
            raise ApiError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json"))

    def apply(self, manifest: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.run("apply", "-f", "-", stdin=manifest)
                return
            except ApiError as error:
                if not _SERVICE_ACCOUNT_RACE.search(str(error)) or time.monotonic() > deadline:
                    raise
            time.sleep(0.3)

    def live(self) -> bool:
        proc = subprocess.run(
            [self.kubectl_binary, "get", "--raw", "/readyz"],
            capture_output=True,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
            timeout=20,
            check=False,
        )
        return proc.returncode == 0

    def pods_on(self, node: str, namespaces: list[str] | None = None) -> list[dict[str, Any]]:
        """Running pods bound to `node` that have their own IP (no hostNetwork)."""
        selector = f"spec.nodeName={node},status.phase=Running"
        if namespaces is None:
            items = self.json("get", "pods", "-A", "--field-selector", selector)["items"]
        else:
            items = [
                pod
                for ns in namespaces
                for pod in self.json("get", "pods", "-n", ns, "--field-selector", selector)["items"]
            ]
        return [
            pod
            for pod in items
            if pod.get("status", {}).get("podIP")
            and not pod["spec"].get("hostNetwork")
            and not pod["metadata"].get("deletionTimestamp")
        ]

    def wait_for(self, description: str, condition: Any, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise ApiError(f"timed out after {timeout:.0f}s waiting for {description}")
            time.sleep(0.2)


def pod_key(pod: dict[str, Any]) -> str:
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def container_ports(pod: dict[str, Any]) -> list[tuple[int, str]]:
    return sorted(
        {
            (int(port["containerPort"]), str(port.get("protocol", "TCP")))
            for container in pod["spec"].get("containers", [])
            for port in container.get("ports", []) or []
        }
    )
