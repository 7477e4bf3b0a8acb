"""The transcribed network-policy-api conformance cases (tests/netpol/adminpolicy_conformance).

Each case file names its base file (the namespaces, nodes and pods of one module version),
the objects in force when the upstream test probed (policies, and any base object the test
had changed, which replaces the base object of the same kind, namespace and name) and the
probes with their expected outcome. See the README next to the files.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.netpol.admin_convert import V1ALPHA1, convert_objects

CASES_DIR = Path(__file__).parent / "adminpolicy_conformance"

Raw = dict[str, Any]


@dataclass(frozen=True)
class Probe:
    src: str  # "namespace/name"
    dst: str  # "namespace/name" of the pod that owns `address`
    address: str
    protocol: str
    port: int
    allowed: bool

    def describe(self) -> str:
        verdict = "allowed" if self.allowed else "denied"
        return f"{self.src} -> {self.dst} ({self.address}) {self.protocol}/{self.port}: {verdict}"


@dataclass(frozen=True)
class Case:
    name: str  # path below CASES_DIR, without .yaml
    source: Raw
    objects: tuple[Raw, ...]
    probes: tuple[Probe, ...]

    @property
    def v1alpha1(self) -> bool:
        return any(doc.get("apiVersion") == V1ALPHA1 for doc in self.objects)

    def converted(self) -> Case:
        """The same case with its v1alpha1 admin policies as ClusterNetworkPolicy v1beta1."""
        return Case(
            f"{self.name} (as ClusterNetworkPolicy)",
            self.source,
            tuple(convert_objects(list(self.objects))),
            self.probes,
        )


def object_key(doc: Raw) -> tuple[str, str, str]:
    meta = doc["metadata"]
    return (doc["kind"], meta.get("namespace", ""), meta["name"])


@functools.cache
def base_objects(path: Path) -> tuple[Raw, ...]:
    return tuple(d for d in yaml.safe_load_all(path.read_text()) if d)


def load_case(path: Path) -> Case:
    raw = yaml.safe_load(path.read_text())
    merged = {object_key(d): d for d in base_objects((path.parent / raw["base"]).resolve())}
    for doc in raw["objects"]:
        merged[object_key(doc)] = doc
    probes = tuple(
        Probe(p["from"], p["to"], p["address"], p["protocol"], p["port"], p["allowed"])
        for p in raw["expect"]
    )
    name = str(path.relative_to(CASES_DIR).with_suffix(""))
    return Case(name, raw["source"], tuple(merged.values()), probes)


@functools.cache
def all_cases() -> tuple[Case, ...]:
    return tuple(load_case(p) for p in sorted(CASES_DIR.glob("v*/*/*.yaml")))


def write_manifests(objects: tuple[Raw, ...] | list[Raw], folder: Path) -> Path:
    """The objects as one multi-document manifest file in `folder`."""
    path = folder / "cluster.yaml"
    path.write_text(yaml.safe_dump_all(list(objects), sort_keys=False))
    return path
