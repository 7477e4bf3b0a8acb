"""New and removed outside paths: where the exposure inventory plugs into a review.

The exposure inventory (every way traffic from outside the cluster reaches pods:
LoadBalancer, NodePort, externalIPs, hostPort, hostNetwork, Ingress, Gateway API
routes) is built elsewhere; once it exists, `exposure_changes` compares the
inventories of the two snapshots by path. Until then it answers None, and the
review says that outside paths were not compared.
"""

from __future__ import annotations

from dataclasses import dataclass

from kaudit.model import Snapshot


@dataclass(frozen=True, slots=True)
class ExposureChanges:
    """Outside paths (entry -> workload, as the inventory words them) added and removed."""

    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed)


def exposure_changes(before: Snapshot, after: Snapshot) -> ExposureChanges | None:
    """The outside paths `after` adds and removes; None while no inventory is available."""
    del before, after
    return None
