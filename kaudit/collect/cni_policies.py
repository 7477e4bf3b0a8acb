"""Reading the CNI policy kinds (Cilium, Calico) and ServiceAccounts into the snapshot.

Both sources use it: manifests add objects one by one (`CniPolicyReader.add`), the
live collector builds the same model objects from its lists. Calico's
`projectcalico.org/v3` objects and the `crd.projectcalico.org/v1` objects its CRDs
store are the same shape and are read alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kaudit.model import Origin
from kaudit.model.accounts import ServiceAccount
from kaudit.model.cni.calico import POLICY_KINDS, CalicoPolicy, NetworkSet, Tier
from kaudit.model.cni.cilium import CLUSTERWIDE_KIND, NAMESPACED_KIND, CiliumPolicy


@dataclass
class CniPolicyReader:
    """Accumulates the CNI policy objects and ServiceAccounts of an input."""

    cilium: list[CiliumPolicy] = field(default_factory=list)
    calico: list[CalicoPolicy] = field(default_factory=list)
    network_sets: list[NetworkSet] = field(default_factory=list)
    tiers: list[Tier] = field(default_factory=list)
    service_accounts: list[ServiceAccount] = field(default_factory=list)

    def add(self, kind: str, raw: Mapping[str, Any], origin: Origin) -> None:
        """Read one object of a CNI policy group (ValueError and friends name the field)."""
        if kind in (NAMESPACED_KIND, CLUSTERWIDE_KIND):
            self.cilium.append(
                CiliumPolicy.from_raw(raw, origin, clusterwide=kind == CLUSTERWIDE_KIND)
            )
        elif kind in POLICY_KINDS:
            self.calico.append(CalicoPolicy.from_raw(raw, origin, kind=kind))
        elif kind in ("NetworkSet", "GlobalNetworkSet"):
            self.network_sets.append(
                NetworkSet.from_raw(raw, origin, is_global=kind == "GlobalNetworkSet")
            )
        elif kind == "Tier":
            self.tiers.append(Tier.from_raw(raw, origin))
        else:
            raise ValueError(f"{kind} is not a CNI policy kind")

    def add_service_account(self, raw: Mapping[str, Any], origin: Origin) -> None:
        self.service_accounts.append(ServiceAccount.from_raw(raw, origin))

    def snapshot_fields(self) -> dict[str, Any]:
        """The Snapshot fields these objects fill."""
        return {
            "cilium_policies": tuple(self.cilium),
            "calico_policies": tuple(self.calico),
            "calico_network_sets": tuple(self.network_sets),
            "calico_tiers": tuple(self.tiers),
            "service_accounts": tuple(self.service_accounts),
        }
