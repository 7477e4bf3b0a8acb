"""The live lists of the CNI policy kinds (Cilium, Calico) and of ServiceAccounts.

Cilium's kinds are read from cilium.io/v2. Calico's are read from its API server's
group (projectcalico.org/v3) when served, else from the CRDs that store the same
objects (crd.projectcalico.org/v1); both are listed here, and the collector reads
a kind from the first group the server serves. ServiceAccounts (names and labels)
are read only when the server serves Calico's policies, whose serviceAccountSelector
selects by them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from kaudit.collect.live.discovery import ListedResource, OptionalResource
from kaudit.model import Resource, wire_cni
from kaudit.model.accounts import ServiceAccount
from kaudit.model.cni import calico, cilium

# Calico's API server serves v3; its CRDs, v1.
_CALICO_GROUPS = ((calico.GROUP, "v3"), (calico.CRD_GROUP, "v1"))


def _calico_policies(
    resource: Resource, plural: str, namespaced: bool, kind: str
) -> tuple[OptionalResource[Any, Any], ...]:
    return tuple(
        OptionalResource(
            resource,
            group,
            (version,),
            plural,
            namespaced,
            f"Calico {kind}s",
            wire_cni.CalicoPolicy,
            functools.partial(calico.CalicoPolicy.from_wire, kind=kind),
        )
        for group, version in _CALICO_GROUPS
    )


def _calico_sets(
    resource: Resource, plural: str, is_global: bool
) -> tuple[OptionalResource[Any, Any], ...]:
    build = calico.NetworkSet.global_from_wire if is_global else calico.NetworkSet.from_wire
    title = "Calico GlobalNetworkSets" if is_global else "Calico NetworkSets"
    return tuple(
        OptionalResource(
            resource,
            group,
            (version,),
            plural,
            not is_global,
            title,
            wire_cni.CalicoNetworkSet,
            build,
        )
        for group, version in _CALICO_GROUPS
    )


CNI_OPTIONAL_RESOURCES: tuple[OptionalResource[Any, Any], ...] = (
    OptionalResource(
        Resource.CILIUM_NETWORK_POLICIES,
        "cilium.io",
        ("v2",),
        "ciliumnetworkpolicies",
        True,
        "CiliumNetworkPolicies",
        wire_cni.CiliumNetworkPolicy,
        cilium.CiliumPolicy.from_wire,
    ),
    OptionalResource(
        Resource.CILIUM_CLUSTERWIDE_NETWORK_POLICIES,
        "cilium.io",
        ("v2",),
        "ciliumclusterwidenetworkpolicies",
        False,
        "CiliumClusterwideNetworkPolicies",
        wire_cni.CiliumNetworkPolicy,
        cilium.CiliumPolicy.clusterwide_from_wire,
    ),
    *_calico_policies(
        Resource.CALICO_NETWORK_POLICIES, "networkpolicies", True, calico.NETWORK_POLICY
    ),
    *_calico_policies(
        Resource.CALICO_GLOBAL_NETWORK_POLICIES,
        "globalnetworkpolicies",
        False,
        calico.GLOBAL_NETWORK_POLICY,
    ),
    *_calico_policies(
        Resource.CALICO_STAGED_NETWORK_POLICIES,
        "stagednetworkpolicies",
        True,
        calico.STAGED_NETWORK_POLICY,
    ),
    *_calico_policies(
        Resource.CALICO_STAGED_GLOBAL_NETWORK_POLICIES,
        "stagedglobalnetworkpolicies",
        False,
        calico.STAGED_GLOBAL_NETWORK_POLICY,
    ),
    *_calico_sets(Resource.CALICO_NETWORK_SETS, "networksets", False),
    *_calico_sets(Resource.CALICO_GLOBAL_NETWORK_SETS, "globalnetworksets", True),
    *(
        OptionalResource(
            Resource.CALICO_TIERS,
            group,
            (version,),
            "tiers",
            False,
            "Calico Tiers",
            wire_cni.CalicoTier,
            calico.Tier.from_wire,
        )
        for group, version in _CALICO_GROUPS
    ),
)

CNI_SERVICE_ACCOUNTS: ListedResource[Any, Any] = ListedResource(
    Resource.SERVICE_ACCOUNTS,
    "/api/v1",
    "serviceaccounts",
    True,
    "ServiceAccounts",
    wire_cni.ServiceAccount,
    ServiceAccount.from_wire,
)
CALICO_RESOURCES = frozenset(
    r.kind for r in CNI_OPTIONAL_RESOURCES if r.group.endswith("projectcalico.org")
)

# What each missing kind leaves unchecked, for the warning text.
CNI_CONSEQUENCES: Mapping[Resource, str] = {
    Resource.CILIUM_NETWORK_POLICIES: "Cilium policies are left out of reachability",
    Resource.CILIUM_CLUSTERWIDE_NETWORK_POLICIES: "Cilium policies are left out of reachability",
    Resource.CALICO_NETWORK_POLICIES: "Calico policies are left out of reachability",
    Resource.CALICO_GLOBAL_NETWORK_POLICIES: "Calico policies are left out of reachability",
    Resource.CALICO_STAGED_NETWORK_POLICIES: "staged Calico policies are not reported",
    Resource.CALICO_STAGED_GLOBAL_NETWORK_POLICIES: "staged Calico policies are not reported",
    Resource.CALICO_NETWORK_SETS: "Calico rules selecting network sets match no address",
    Resource.CALICO_GLOBAL_NETWORK_SETS: "Calico rules selecting network sets match no address",
    Resource.CALICO_TIERS: "Calico policies outside the default tier are ordered without their tier",
    Resource.SERVICE_ACCOUNTS: "Calico serviceAccountSelector matches are incomplete",
}


def read_once(listed: Sequence[ListedResource[Any, Any]]) -> tuple[ListedResource[Any, Any], ...]:
    """The lists to read: a kind served by two groups from the first, plus the
    ServiceAccounts when Calico's policies are served."""
    first: dict[Resource, ListedResource[Any, Any]] = {}
    for resource in listed:
        first.setdefault(resource.kind, resource)
    chosen = tuple(first.values())
    if any(r.kind in CALICO_RESOURCES for r in chosen):
        chosen += (CNI_SERVICE_ACCOUNTS,)
    return chosen


def cni_snapshot_fields(by_kind: Mapping[Resource, list[Any]]) -> dict[str, Any]:
    """The Snapshot fields the CNI lists fill (absent kinds give empty fields)."""

    def of(*kinds: Resource) -> tuple[Any, ...]:
        return tuple(item for kind in kinds for item in by_kind.get(kind, ()))

    return {
        "cilium_policies": of(
            Resource.CILIUM_NETWORK_POLICIES, Resource.CILIUM_CLUSTERWIDE_NETWORK_POLICIES
        ),
        "calico_policies": of(
            Resource.CALICO_NETWORK_POLICIES,
            Resource.CALICO_GLOBAL_NETWORK_POLICIES,
            Resource.CALICO_STAGED_NETWORK_POLICIES,
            Resource.CALICO_STAGED_GLOBAL_NETWORK_POLICIES,
        ),
        "calico_network_sets": of(
            Resource.CALICO_NETWORK_SETS, Resource.CALICO_GLOBAL_NETWORK_SETS
        ),
        "calico_tiers": of(Resource.CALICO_TIERS),
        "service_accounts": of(Resource.SERVICE_ACCOUNTS),
    }
