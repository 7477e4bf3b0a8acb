"""What the inventory tells the rules: which plain-text paths really deliver traffic.

A finding about plain HTTP (an Ingress without TLS, a Gateway listener serving HTTP) is
worse when the path reaches workloads whose policies admit the traffic, through an
Ingress or through Gateway routes alike: the rules raise their severity on what
`delivered_in_clear` returns.
"""

from __future__ import annotations

from kaudit.exposure.inventory import inventory_of
from kaudit.exposure.model import ExposureEntry
from kaudit.model import ObjectRef
from kaudit.rules.context import AuditContext


def delivered_in_clear(
    ctx: AuditContext, front: ObjectRef, port: int | None = None
) -> list[ExposureEntry]:
    """Entries without TLS through `front` (an Ingress, a Gateway or a ListenerSet; on
    `port` when given) whose workloads' policies admit the traffic.

    Nothing when some kind could not be collected: the inventory reads most kinds, and
    would judge gaps in the data (the rule keeps its default severity then)."""
    if ctx.snapshot.missing_resources:
        return []
    return [
        entry
        for entry in inventory_of(ctx).entries
        if entry.tls is False
        and entry.admitted_by_policy is True
        and front in entry.path
        and (port is None or any(p.port == port for p in entry.ports))
    ]


def reached_text(entries: list[ExposureEntry]) -> str:
    """E.g. "Deployment shop/web, Deployment shop/api"."""
    names = sorted({f"{e.workload.kind} {e.workload.qualified_name}" for e in entries})
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
