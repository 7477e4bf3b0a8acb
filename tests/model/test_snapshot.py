"""Snapshot look-ups and namespace filtering."""

from __future__ import annotations

import dataclasses

from kaudit.model import (
    SNAPSHOT_FIELDS,
    ClusterFacts,
    CollectionWarning,
    EndpointSlice,
    Ingress,
    IngressClass,
    Namespace,
    NetworkPolicy,
    Pod,
    Resource,
    Service,
    Snapshot,
)

NAMESPACES = ("a", "b", "c")


def meta(name: str, namespace: str) -> dict[str, object]:
    return {"metadata": {"name": name, "namespace": namespace}}


def snapshot() -> Snapshot:
    return Snapshot(
        facts=ClusterFacts(source="manifests", inputs=("x.yaml",)),
        namespaces=tuple(Namespace.from_raw({"metadata": {"name": n}}) for n in NAMESPACES),
        pods=tuple(Pod.from_raw(meta(f"pod-{n}", n)) for n in NAMESPACES),
        services=tuple(Service.from_raw(meta(f"svc-{n}", n)) for n in NAMESPACES),
        endpoint_slices=tuple(EndpointSlice.from_raw(meta(f"es-{n}", n)) for n in NAMESPACES),
        network_policies=tuple(NetworkPolicy.from_raw(meta(f"np-{n}", n)) for n in NAMESPACES),
        ingresses=tuple(Ingress.from_raw(meta(f"ing-{n}", n)) for n in NAMESPACES),
        ingress_classes=(IngressClass.from_raw({"metadata": {"name": "nginx"}}),),
        warnings=(CollectionWarning("no ingresses", Resource.INGRESSES), CollectionWarning("note")),
    )


def namespaces_of(snap: Snapshot) -> dict[str, list[str]]:
    return {
        "namespaces": [n.name for n in snap.namespaces],
        "pods": [p.namespace for p in snap.pods],
        "services": [s.namespace for s in snap.services],
        "slices": [e.namespace for e in snap.endpoint_slices],
        "policies": [p.namespace for p in snap.network_policies],
        "ingresses": [i.namespace for i in snap.ingresses],
    }


def test_filtered_keeps_the_included_namespaces() -> None:
    kept = snapshot().filtered(include=["a", "c"])
    assert namespaces_of(kept) == {key: ["a", "c"] for key in namespaces_of(kept)}


def test_filtered_drops_the_excluded_namespaces() -> None:
    kept = snapshot().filtered(exclude=["b"])
    assert namespaces_of(kept) == {key: ["a", "c"] for key in namespaces_of(kept)}


def test_exclude_wins_over_include() -> None:
    kept = snapshot().filtered(include=["a", "b"], exclude=["b"])
    assert namespaces_of(kept) == {key: ["a"] for key in namespaces_of(kept)}


def test_filtered_keeps_cluster_scoped_objects_facts_and_warnings() -> None:
    original = snapshot()
    kept = original.filtered(include=["a"])
    assert kept.ingress_classes == original.ingress_classes
    assert kept.facts == original.facts
    assert kept.warnings == original.warnings


def test_an_included_namespace_nothing_is_in_adds_a_warning() -> None:
    original = snapshot()
    kept = original.filtered(include=["a", "z", "y", "b"], exclude=["b", "y"])
    assert namespaces_of(kept) == {key: ["a"] for key in namespaces_of(kept)}
    assert kept.warnings == (
        *original.warnings,
        CollectionWarning("namespace 'z': nothing in the input is in this namespace"),
    )


def test_no_filter_keeps_everything() -> None:
    original = snapshot()
    assert original.filtered() == original


def test_look_ups() -> None:
    snap = snapshot()
    assert snap.missing_resources == {Resource.INGRESSES}
    assert [p.name for p in snap.pods_in("b")] == ["pod-b"]
    assert [p.name for p in snap.policies_in("c")] == ["np-c"]
    assert snap.namespace("a").labels == {"kubernetes.io/metadata.name": "a"}
    # A namespace the snapshot does not hold is implicit, with its name label only.
    assert snap.namespace("zzz") == Namespace.implicit("zzz")


def test_every_kind_field_of_the_snapshot_names_its_kind() -> None:
    """A field added to Snapshot without its kind would escape the record of the
    kinds each rule reads (kaudit.audit), so a missing kind would go unreported."""
    fields = {f.name for f in dataclasses.fields(Snapshot)} - {"facts", "warnings"}
    assert set(SNAPSHOT_FIELDS) == fields
    kinds = [kind for held in SNAPSHOT_FIELDS.values() for kind in held]
    assert sorted(kinds) == sorted(Resource)
