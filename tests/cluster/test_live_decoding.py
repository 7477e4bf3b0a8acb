"""The live collector's fast decoding (msgspec, straight into the wire schema) must
build exactly the objects that full JSON decoding (json.loads, then the conversion
manifests use) builds."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from kaudit.collect import Source
from kaudit.collect.live import collect_live
from kaudit.collect.live.decoding import ListDecoder
from kaudit.model import (
    EndpointSlice,
    Gateway,
    GatewayClass,
    Ingress,
    IngressClass,
    Namespace,
    NetworkPolicy,
    Pod,
    ReferenceGrant,
    Route,
    Service,
    wire,
)
from tests.plugins.clusterkit import REPO_ROOT, Cluster, slices_settled

# For each kind: its wire type, the model built from it, and from a parsed mapping.
BUILDERS: dict[str, tuple[type[Any], Callable[[Any], Any], Callable[[Any], Any]]] = {
    "Namespace": (wire.Named, Namespace.from_wire, Namespace.from_raw),
    "Pod": (wire.Pod, Pod.from_wire, Pod.from_raw),
    "Service": (wire.Service, Service.from_wire, Service.from_raw),
    "EndpointSlice": (wire.EndpointSlice, EndpointSlice.from_wire, EndpointSlice.from_raw),
    "Endpoints": (wire.Endpoints, EndpointSlice.from_wire_endpoints, EndpointSlice.from_endpoints),
    "NetworkPolicy": (wire.NetworkPolicy, NetworkPolicy.from_wire, NetworkPolicy.from_raw),
    "Ingress": (wire.Ingress, Ingress.from_wire, Ingress.from_raw),
    "IngressClass": (wire.IngressClass, IngressClass.from_wire, IngressClass.from_raw),
    # Gateway API
    "GatewayClass": (wire.GatewayClass, GatewayClass.from_wire, GatewayClass.from_raw),
    "Gateway": (wire.Gateway, Gateway.from_wire, Gateway.from_raw),
    "HTTPRoute": (wire.Route, Route.from_wire, Route.from_raw),
    "ReferenceGrant": (wire.ReferenceGrant, ReferenceGrant.from_wire, ReferenceGrant.from_raw),
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
    wire_type, from_wire, from_raw = BUILDERS[kind]
    body = json.dumps({"metadata": {"continue": ""}, "items": [raw]}).encode()
    page = ListDecoder(wire_type).decode(body)

    assert page.items is not None
    [fast] = page.items
    full = json.loads(body)["items"][0]

    assert isinstance(fast, wire_type)
    assert from_wire(fast) == from_raw(full)


def test_demos_cover_the_decoded_kinds() -> None:
    assert {kind for kind, _ in OBJECTS} >= {
        "Namespace",
        "Pod",
        "Service",
        "NetworkPolicy",
        "Ingress",
        "IngressClass",
        "GatewayClass",
        "Gateway",
        "HTTPRoute",
        "ReferenceGrant",
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
    fast = collect_live(source)

    # Every page through json.loads and the conversion manifests use instead.
    monkeypatch.setattr(ListDecoder, "decode", ListDecoder.decode_parsed)
    full = collect_live(source)

    assert fast.pods  # the comparison is not vacuous
    assert fast == full
