"""The objects `up` creates once the API server answers, and the checks that they work.

The objects are YAML files in manifests/ (`${name}` placeholders filled in here):
the fake nodes kwok runs pods on, and the kind-shaped kube-system (CoreDNS and
kindnet's ServiceAccount). The default RBAC roles come from kube-apiserver's own
bootstrap policy.
"""

from __future__ import annotations

import string
from pathlib import Path

import yaml

from hack.controlplane.api import Api
from hack.controlplane.settings import DNS_SERVICE_IP, FAKE_NODES, KUBERNETES_VERSION

MANIFESTS = Path(__file__).resolve().parent / "manifests"

Manifest = dict[str, object]


def load_manifest(file_name: str, /, **values: object) -> list[Manifest]:
    """The documents of manifests/<file_name>, with `${key}` replaced by `values[key]`."""
    text = string.Template((MANIFESTS / file_name).read_text()).substitute(values)
    documents = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    if not all(isinstance(doc, dict) for doc in documents):
        raise ValueError(f"{file_name}: every document must be a mapping")
    return documents


def node_objects() -> list[Manifest]:
    return [
        load_manifest(
            "node.yaml",
            name=name,
            index=index,
            address_octet=index + 2,  # 172.18.0.2, .3, ... as kind numbers its nodes
            kubelet_version=KUBERNETES_VERSION,
        )[0]
        for index, name in enumerate(FAKE_NODES)
    ]


def kube_system_objects() -> list[Manifest]:
    return load_manifest("kube-system.yaml", dns_service_ip=DNS_SERVICE_IP)


def collection_path(manifest: Manifest) -> str:
    """The API path an object is created at: /api/v1/... or /apis/<group>/<version>/..."""
    api_version = str(manifest["apiVersion"])
    kind = str(manifest["kind"])
    metadata = manifest.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    prefix = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    scope = f"/namespaces/{namespace}" if namespace else ""
    # Every kind created here pluralises by a trailing "s".
    return f"{prefix}{scope}/{kind.lower()}s"


def create_all(api: Api, manifests: list[Manifest]) -> None:
    for manifest in manifests:
        api.create(collection_path(manifest), manifest)


def _mapping(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def is_ready(conditions: object) -> bool:
    return isinstance(conditions, list) and any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True"
        for c in conditions
    )


def _untainted_for_scheduling(node: dict[str, object]) -> bool:
    taints = _mapping(node.get("spec")).get("taints") or []
    return isinstance(taints, list) and not any(
        isinstance(t, dict) and t.get("effect") == "NoSchedule" for t in taints
    )


def nodes_ready(api: Api) -> bool:
    """Every fake node is Ready and carries no NoSchedule taint."""
    nodes = api.list_items("/api/v1/nodes")
    if nodes is None:
        return False
    ready = {
        _mapping(node.get("metadata")).get("name")
        for node in nodes
        if is_ready(_mapping(node.get("status")).get("conditions"))
        and _untainted_for_scheduling(node)
    }
    return set(FAKE_NODES) <= ready


def dns_ready(api: Api) -> bool:
    """Both CoreDNS pods are Ready with a pod IP."""
    pods = api.list_items("/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns")
    if pods is None:
        return False
    return len(pods) >= 2 and all(
        _mapping(pod.get("status")).get("podIP")
        and is_ready(_mapping(pod.get("status")).get("conditions"))
        for pod in pods
    )
