"""The live collector's fast decoding (msgspec, only the fields the model reads)
must build exactly the objects that full JSON decoding builds."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from kaudit.collect import Source
from kaudit.collect import live as live_module
from kaudit.model import (
    EndpointSlice,
    Ingress,
    IngressClass,
    Namespace,
    NetworkPolicy,
    Pod,
    Service,
)
from tests.plugins.clusterkit import REPO_ROOT, Cluster, slices_settled

BUILDERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "Namespace": ("namespaces", Namespace.from_raw),
    "Pod": ("pods", Pod.from_raw),
    "Service": ("services", Service.from_raw),
    "EndpointSlice": ("endpointslices", EndpointSlice.from_raw),
    "Endpoints": ("endpoints", EndpointSlice.from_endpoints),
    "NetworkPolicy": ("networkpolicies", NetworkPolicy.from_raw),
    "Ingress": ("ingresses", Ingress.from_raw),
    "IngressClass": ("ingressclasses", IngressClass.from_raw),
}
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")


def demo_objects() -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object of the bundled demos, workload templates as pods."""
    for path in sorted((REPO_ROOT / "kaudit" / "demo").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            kind = doc.get("kind")
            if kind in BUILDERS:
                yield kind, doc
            elif kind in WORKLOADS:
                template = doc["spec"]["template"]
                meta = {**template.get("metadata", {}), "name": doc["metadata"]["name"]}
                yield "Pod", {"metadata": meta, "spec": template["spec"]}


OBJECTS = list(demo_objects())


@pytest.mark.parametrize(
    ("kind", "raw"),
    OBJECTS,
    ids=[f"{kind}-{raw['metadata'].get('name')}" for kind, raw in OBJECTS],
)
def test_fast_decoding_builds_the_same_objects(kind: str, raw: dict[str, Any]) -> None:
    plural, build = BUILDERS[kind]
    body = json.dumps({"metadata": {"continue": ""}, "items": [raw]}).encode()
    decoder = live_module._ListDecoder(plural)
    assert decoder._decoder is not None  # msgspec is in use

    fast = decoder.decode(body)["items"][0]
    full = json.loads(body)["items"][0]

    assert build(fast) == build(full)


def test_demos_cover_the_decoded_kinds() -> None:
    assert {kind for kind, _ in OBJECTS} >= {
        "Namespace",
        "Pod",
        "Service",
        "NetworkPolicy",
        "Ingress",
        "IngressClass",
    }


def test_live_snapshot_is_the_same_with_either_decoder(
    cluster: Cluster, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo's shop, moved into this test's namespace.
    docs = list(yaml.safe_load_all((REPO_ROOT / "kaudit/demo/insecure/shop.yaml").read_text()))
    for doc in docs:
        doc["metadata"].pop("namespace", None)
        for port in doc.get("spec", {}).get("ports", []) if doc["kind"] == "Service" else []:
            port.pop("nodePort", None)  # the demo itself may hold it
    cluster.apply(yaml.safe_dump_all(docs), namespace)
    cluster.wait_for("the shop's pods", lambda: cluster.pods_ready(namespace, 7))
    cluster.wait_for("EndpointSlices settled", lambda: slices_settled([namespace]))
    source = Source(kubeconfig=str(cluster.kubeconfig), namespaces=(namespace,))
    fast = live_module.collect_live(source)

    original_init = live_module._ListDecoder.__init__

    def stdlib_only(self: Any, plural: str) -> None:
        original_init(self, plural)
        self._decoder = None

    monkeypatch.setattr(live_module._ListDecoder, "__init__", stdlib_only)
    full = live_module.collect_live(source)

    assert fast.pods  # the comparison is not vacuous
    assert fast == full
