"""Outside paths a change adds, removes and alters: the exposure inventories of two audits.

A path is the same on both sides when it reaches the same workload the same way
(namespace, workload, way in, entry point and the objects on its way); its ports,
TLS and the policies' admission may change, and then it is listed as changed.
Saved audits carry their inventory (report schema version 2), so this works for
every kind of side; an audit without one gives no comparison (None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kaudit.exposure import ExposureEntry, ExposureInventory
from kaudit.jsontypes import JsonObject
from kaudit.model import Labels
from kaudit.review.gate import OpenedGate

PathKey = tuple[str, str, str, str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class ExposureChanges:
    added: tuple[ExposureEntry, ...]
    removed: tuple[ExposureEntry, ...]
    changed: tuple[tuple[ExposureEntry, ExposureEntry], ...] = ()  # (before, after)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def path_key(entry: ExposureEntry) -> PathKey:
    return (
        entry.namespace,
        entry.workload_name,
        str(entry.via),
        entry.entry,
        tuple(str(ref) for ref in entry.path),
    )


def exposure_changes(
    before: ExposureInventory | None, after: ExposureInventory | None
) -> ExposureChanges | None:
    """None when a side has no inventory (an audit written before kaudit made one)."""
    if before is None or after is None:
        return None
    old = {path_key(e): e for e in before.entries}
    new = {path_key(e): e for e in after.entries}
    changed = tuple(
        (old[key], new[key])
        for key in sorted(old.keys() & new.keys())
        if _facts(old[key]) != _facts(new[key])
    )
    return ExposureChanges(
        added=tuple(new[key] for key in sorted(new.keys() - old.keys())),
        removed=tuple(old[key] for key in sorted(old.keys() - new.keys())),
        changed=changed,
    )


def _facts(entry: ExposureEntry) -> tuple[object, ...]:
    return (entry.ports, entry.tls, entry.admitted_by_policy)


def entry_text(entry: ExposureEntry) -> str:
    """E.g. `LoadBalancer 80/TCP -> shop/Deployment/frontend (no TLS, admitted by policy)`."""
    ports = ", ".join(str(p) for p in entry.ports)
    where = f"{entry.via} {entry.entry}" + (f" {ports}" if ports else "")
    return f"{where} -> {entry.namespace}/{entry.workload_name} ({facts_text(entry)})"


def facts_text(entry: ExposureEntry) -> str:
    tls = {True: "TLS", False: "no TLS", None: "TLS unknown"}[entry.tls]
    admitted = {
        True: "admitted by policy",
        False: "denied by policy",
        None: "partly or unknown by policy",
    }[entry.admitted_by_policy]
    return f"{tls}, {admitted}"


def entry_to_dict(entry: ExposureEntry) -> JsonObject:
    return {
        "namespace": entry.namespace,
        "workload": entry.workload_name,
        "via": str(entry.via),
        "entry": entry.entry,
        "ports": [
            {"port": p.port, "protocol": str(p.protocol), "targetPort": p.target_port}
            for p in entry.ports
        ],
        "tls": entry.tls,
        "admittedByPolicy": entry.admitted_by_policy,
        "path": [str(ref) for ref in entry.path],
        "pods": entry.pods,
        "text": entry_text(entry),
    }


def exposure_changes_to_dict(changes: ExposureChanges) -> JsonObject:
    return {
        "added": [entry_to_dict(e) for e in changes.added],
        "removed": [entry_to_dict(e) for e in changes.removed],
        "changed": [
            {"before": entry_to_dict(old), "after": entry_to_dict(new)}
            for old, new in changes.changed
        ],
    }


_ADMISSION_RANK = {False: 0, None: 1, True: 2}


def opened_paths(changes: ExposureChanges) -> list[ExposureEntry]:
    """New outside paths, and those whose pods' policies now admit more of the traffic."""
    widened = [
        new
        for old, new in changes.changed
        if _ADMISSION_RANK[new.admitted_by_policy] > _ADMISSION_RANK[old.admitted_by_policy]
    ]
    return [*changes.added, *widened]


def gated_outside_paths(
    entries: Iterable[ExposureEntry],
    gates: Iterable[OpenedGate],
    namespace_labels: Mapping[str, Labels],
) -> list[tuple[OpenedGate, ExposureEntry]]:
    """Every (gate, outside path) a `--fail-on-opened` gate refuses: `outside` refuses
    them all, a selector those into a namespace it matches."""
    gates = tuple(gates)
    return [
        (gate, entry)
        for entry in entries
        for gate in gates
        if gate.outside or gate.matches_namespace(namespace_labels.get(entry.namespace, {}))
    ]
