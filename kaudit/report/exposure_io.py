"""The exposure inventory in the JSON report (`exposure`), written and read back losslessly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kaudit.exposure import DeadEnd, ExposedPort, ExposureEntry, ExposureInventory, Via
from kaudit.jsontypes import JsonArray, JsonObject, json_array
from kaudit.model import ObjectRef, Protocol


def exposure_to_dict(inventory: ExposureInventory) -> JsonObject:
    return {
        # Derived from the entries, for readers of the JSON; not read back.
        "summary": {
            "entries": len(inventory.entries),
            "workloads": inventory.workloads,
            "byVia": {str(via): n for via, n in inventory.counts().items()},
            "deadEnds": len(inventory.dead_ends),
        },
        "entries": [_entry_to_dict(e) for e in inventory.entries],
        "deadEnds": [
            {
                "namespace": d.namespace,
                "via": str(d.via),
                "entry": d.entry,
                "ports": _ports_to_list(d.ports),
                "path": _refs_to_list(d.path),
                "reason": d.reason,
            }
            for d in inventory.dead_ends
        ],
        "nodeAddresses": json_array(inventory.node_addresses),
        "notes": json_array(inventory.notes),
    }


def _entry_to_dict(entry: ExposureEntry) -> JsonObject:
    return {
        "namespace": entry.namespace,
        "workload": entry.workload_name,
        "via": str(entry.via),
        "entry": entry.entry,
        "ports": _ports_to_list(entry.ports),
        "tls": entry.tls,
        "admittedByPolicy": entry.admitted_by_policy,
        "path": _refs_to_list(entry.path),
        "pods": entry.pods,
        "notes": json_array(entry.notes),
    }


def _ports_to_list(ports: Sequence[ExposedPort]) -> JsonArray:
    return [
        {"port": p.port, "protocol": str(p.protocol), "targetPort": p.target_port} for p in ports
    ]


def _refs_to_list(refs: Sequence[ObjectRef]) -> JsonArray:
    return [{"kind": r.kind, "namespace": r.namespace, "name": r.name} for r in refs]


# --- reading (data that passed the schema) ---------------------------------------------------


def exposure_from_dict(data: Mapping[str, Any]) -> ExposureInventory:
    return ExposureInventory(
        entries=tuple(_entry_from_dict(e) for e in data["entries"]),
        dead_ends=tuple(
            DeadEnd(
                namespace=d["namespace"],
                via=Via(d["via"]),
                entry=d["entry"],
                ports=_ports_from_list(d["ports"]),
                path=_refs_from_list(d["path"]),
                reason=d["reason"],
            )
            for d in data["deadEnds"]
        ),
        node_addresses=tuple(data["nodeAddresses"]),
        notes=tuple(data["notes"]),
    )


def _entry_from_dict(data: Mapping[str, Any]) -> ExposureEntry:
    path = _refs_from_list(data["path"])
    kind, _, name = data["workload"].partition("/")
    return ExposureEntry(
        namespace=data["namespace"],
        workload=ObjectRef(kind, data["namespace"], name),
        via=Via(data["via"]),
        entry=data["entry"],
        ports=_ports_from_list(data["ports"]),
        tls=data["tls"],
        admitted_by_policy=data["admittedByPolicy"],
        path=path,
        pods=data["pods"],
        notes=tuple(data["notes"]),
    )


def _ports_from_list(items: Sequence[Mapping[str, Any]]) -> tuple[ExposedPort, ...]:
    return tuple(
        ExposedPort(p["port"], Protocol.parse(p["protocol"]), p["targetPort"]) for p in items
    )


def _refs_from_list(items: Sequence[Mapping[str, Any]]) -> tuple[ObjectRef, ...]:
    return tuple(ObjectRef(r["kind"], r["namespace"], r["name"]) for r in items)
