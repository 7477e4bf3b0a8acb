"""What the inventory tells the rules: whether a plain-text entry point delivers anything.

A finding about plain HTTP (an Ingress without TLS, a Gateway listener serving HTTP)
assumes the clear text reaches pods, as it usually does. When the inventory shows that no
workload receives it today, through an Ingress or through Gateway routes alike (every
path ends in a dead end, or the pods' policies deny it), the rules lower their severity
on what `closed_in_clear` returns: the problem is latent, not live.
"""

from __future__ import annotations

from collections.abc import Sequence

from kaudit.exposure.direct import Found
from kaudit.exposure.model import DeadEnd, ExposedPort, ExposureEntry
from kaudit.model import ObjectRef


def _on(ports: tuple[ExposedPort, ...], port: int | None) -> bool:
    return port is None or any(p.port == port for p in ports)


def closed_in_clear(
    paths: Sequence[Found], front: ObjectRef, port: int | None = None
) -> str | None:
    """Why no workload receives plain-text traffic through `front` (an Ingress, a Gateway;
    on `port` when given) among `paths` (`inventory.ingress_paths` or `gateway_paths`), or
    None when some workload may, or no path is known.

    The rule reads only the kinds those paths read, so a kind that could not be collected
    leaves the rule incomplete exactly when its answer depended on it.
    """
    entries = [
        p
        for p in paths
        if isinstance(p, ExposureEntry)
        and p.tls is False
        and front in p.path
        and _on(p.ports, port)
    ]
    dead_ends = [
        p for p in paths if isinstance(p, DeadEnd) and front in p.path and _on(p.ports, port)
    ]
    if any(e.admitted_by_policy is not False for e in entries) or not (entries or dead_ends):
        return None
    reasons = [f"the ingress policies of {e.workload_name} deny it" for e in entries]
    reasons += [d.reason for d in dead_ends]
    return "; ".join(dict.fromkeys(reasons))
