"""A small stdlib HTTPS client for the API server, and the kubeconfigs that reach it."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

from hack.controlplane.settings import KUBECONFIG_PATH, ControlPlaneError


class Api:
    """Readiness checks and bootstrap objects, with a bearer token and the cluster CA."""

    def __init__(self, server: str, ca_pem: bytes, token: str) -> None:
        self.server = server
        self.token = token
        self.context = ssl.create_default_context(cadata=ca_pem.decode())

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

    def exists(self, path: str) -> bool:
        return self.request("GET", path)[0] == 200

    def list_items(self, path: str) -> list[dict[str, object]] | None:
        """The `items` of a list, or None when the request fails."""
        status, body = self.request("GET", path)
        if status != 200 or not isinstance(body, dict):
            return None
        items = body.get("items")
        return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def kubeconfig_text(server: str, ca_pem: bytes, user: str, token: str) -> str:
    """A kubeconfig with one cluster, user and context, all named for kaudit.

    JSON is valid YAML: kubectl and the kubernetes client read it as a kubeconfig.
    """
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


def write_kubeconfig(path: Path, server: str, ca_pem: bytes, user: str, token: str) -> None:
    path.write_text(kubeconfig_text(server, ca_pem, user, token))
    path.chmod(0o600)


def api_from_kubeconfig(kubeconfig: Path) -> Api | None:
    """The client a kubeconfig written by `write_kubeconfig` describes, or None."""
    try:
        config = json.loads(kubeconfig.read_text())
        cluster = config["clusters"][0]["cluster"]
        token = config["users"][0]["user"]["token"]
        ca_pem = base64.b64decode(cluster["certificate-authority-data"])
        return Api(str(cluster["server"]), ca_pem, str(token))
    except (OSError, ValueError, KeyError, IndexError, TypeError, ssl.SSLError):
        return None


def is_live(kubeconfig: Path = KUBECONFIG_PATH) -> bool:
    """True when the kubeconfig's API server answers /readyz with its credentials."""
    api = api_from_kubeconfig(kubeconfig)
    if api is None:
        return False
    try:
        return api.exists("/readyz")
    except (OSError, ssl.SSLError):
        return False
