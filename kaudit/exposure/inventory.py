"""Assembling the inventory: every path source, sorted, with what the answers rest on."""

from __future__ import annotations

from kaudit.exposure.admission import Admission
from kaudit.exposure.direct import Found, pod_paths, service_paths
from kaudit.exposure.model import DeadEnd, ExposureEntry, ExposureInventory
from kaudit.exposure.routes import gateway_routes, ingress_routes, routed_paths
from kaudit.model import Snapshot
from kaudit.rules.context import AuditContext


def build_inventory(ctx: AuditContext) -> ExposureInventory:
    """Every way in from outside the cluster, per workload, with the engine's verdicts."""
    admission = Admission(ctx.engine, ctx.engine.pods)
    found: list[Found] = [
        *service_paths(ctx, admission),
        *pod_paths(ctx, admission),
        *routed_paths(ctx, admission, ingress_routes(ctx)),
        *routed_paths(ctx, admission, gateway_routes(ctx)),
    ]
    entries = sorted(
        dict.fromkeys(f for f in found if isinstance(f, ExposureEntry)), key=lambda e: e.sort_key
    )
    dead_ends = sorted(
        dict.fromkeys(f for f in found if isinstance(f, DeadEnd)), key=lambda d: d.sort_key
    )
    notes = []
    if admission.node_addresses:
        notes.append(
            "Source-NATed traffic (externalTrafficPolicy: Cluster) was asked about as coming "
            "from the node addresses of the hostNetwork pods: "
            + ", ".join(admission.node_addresses[:10])
            + (" and more" if len(admission.node_addresses) > 10 else "")
            + "."
        )
    elif any(e.notes and "not known" in " ".join(e.notes) for e in entries):
        notes.append(
            "Node addresses are not known (no hostNetwork pod with an address in the input): "
            "source-NATed traffic (externalTrafficPolicy: Cluster) is admitted only where the "
            "policies admit every address, and denied where they admit none."
        )
    return ExposureInventory(
        entries=tuple(entries),
        dead_ends=tuple(dead_ends),
        node_addresses=admission.node_addresses,
        notes=tuple(notes),
    )


def exposure_inventory(snapshot: Snapshot) -> ExposureInventory:
    """The inventory of a snapshot, for library use (`audit` reuses its own context)."""
    return build_inventory(AuditContext(snapshot))
