"""Assembling the inventory: every path source, sorted, with what the answers rest on."""

from __future__ import annotations

from kaudit.exposure.admission import Admission
from kaudit.exposure.direct import Found, pod_paths, service_paths
from kaudit.exposure.gateways import gateway_routes
from kaudit.exposure.model import DeadEnd, ExposureEntry, ExposureInventory
from kaudit.exposure.routes import ingress_routes, routed_paths
from kaudit.model import Snapshot
from kaudit.rules.context import AuditContext


def build_inventory(ctx: AuditContext) -> ExposureInventory:
    """Every way in from outside the cluster, per workload, with the engine's verdicts."""
    admission = _admission(ctx)
    found: list[Found] = [
        *service_paths(ctx, admission),
        *pod_paths(ctx, admission),
        *ingress_paths(ctx),
        *gateway_paths(ctx),
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
    elif admission.asked_unknown_nodes:
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


def _admission(ctx: AuditContext) -> Admission:
    found = ctx.derived.get("exposure:admission")
    if not isinstance(found, Admission):
        found = ctx.derived["exposure:admission"] = Admission(ctx.engine, ctx.engine.pods)
    return found


def ingress_paths(ctx: AuditContext) -> list[Found]:
    """The paths through Ingresses alone (read by the Ingress rules: they depend on no
    other way in), built once per context."""
    found = ctx.derived.get("exposure:ingress")
    if not isinstance(found, list):
        found = ctx.derived["exposure:ingress"] = list(
            routed_paths(ctx, _admission(ctx), ingress_routes(ctx))
        )
    return found


def gateway_paths(ctx: AuditContext) -> list[Found]:
    """The paths through Gateway routes alone, built once per context."""
    found = ctx.derived.get("exposure:gateway")
    if not isinstance(found, list):
        found = ctx.derived["exposure:gateway"] = list(
            routed_paths(ctx, _admission(ctx), gateway_routes(ctx))
        )
    return found


def inventory_of(ctx: AuditContext) -> ExposureInventory:
    """The context's inventory, built on first use (rules and the report share it)."""
    found = ctx.derived.get("exposure")
    if not isinstance(found, ExposureInventory):
        found = ctx.derived["exposure"] = build_inventory(ctx)
    return found


def exposure_inventory(snapshot: Snapshot) -> ExposureInventory:
    """The inventory of a snapshot, for library use (`audit` reuses its own context)."""
    return build_inventory(AuditContext(snapshot))
