"""The immutable snapshot of the objects kaudit audits.

Both sources (the live API server and manifest files) build the same `Snapshot`.
The fields kaudit reads from each kind are declared once, in `kaudit.model.wire`:
the live collector decodes its lists into those types and manifests convert their
documents into them, and the `from_wire` constructors (`from_raw` for a parsed
mapping) build the model from them. The objects keep only what the analysis
needs; every object keeps its `origin` (where it came from) so reports can point
at the file and line of a manifest.

Labels and other maps are hashable, read-only `frozendict`s, lists are tuples,
and every class is a frozen dataclass, so a snapshot can be shared between
threads and cached freely.

Modules, down the order they import each other: `wire` (the wire schema), `meta`
(labels, origins, identities, selectors), `pods` (namespaces, pods, workloads),
`services` (Services and endpoints), `policies` (NetworkPolicies), `ingress`,
and `snapshot` (the Snapshot and the cluster facts).
"""

from kaudit.kube import LEGACY_INGRESS_CLASS_ANNOTATION
from kaudit.model.adminpolicies import (
    ADMIN_POLICY_KINDS,
    POLICY_API_GROUP,
    AdminAction,
    AdminPeer,
    AdminPolicy,
    AdminPolicyRule,
    AdminSubject,
    AdminTier,
    NamespacedPods,
)
from kaudit.model.ingress import Ingress, IngressBackend, IngressClass
from kaudit.model.meta import (
    EMPTY_LABELS,
    LIVE,
    MATCH_ALL,
    SELECTOR_OPERATORS,
    Labels,
    LabelSelector,
    Meta,
    ObjectRef,
    Origin,
    Protocol,
    Raw,
    Requirement,
    frozen_map,
)
from kaudit.model.nodes import Node
from kaudit.model.pods import ContainerPort, Namespace, Pod, Workload, workload_from_owner
from kaudit.model.policies import IPBlock, NetworkPolicy, PolicyPeer, PolicyPort, PolicyRule
from kaudit.model.services import Endpoint, EndpointPort, EndpointSlice, Service, ServicePort
from kaudit.model.snapshot import ClusterFacts, CollectionWarning, Resource, Snapshot

__all__ = [
    "ADMIN_POLICY_KINDS",
    "EMPTY_LABELS",
    "LEGACY_INGRESS_CLASS_ANNOTATION",
    "LIVE",
    "MATCH_ALL",
    "POLICY_API_GROUP",
    "SELECTOR_OPERATORS",
    "AdminAction",
    "AdminPeer",
    "AdminPolicy",
    "AdminPolicyRule",
    "AdminSubject",
    "AdminTier",
    "ClusterFacts",
    "CollectionWarning",
    "ContainerPort",
    "Endpoint",
    "EndpointPort",
    "EndpointSlice",
    "IPBlock",
    "Ingress",
    "IngressBackend",
    "IngressClass",
    "LabelSelector",
    "Labels",
    "Meta",
    "Namespace",
    "NamespacedPods",
    "NetworkPolicy",
    "Node",
    "ObjectRef",
    "Origin",
    "Pod",
    "PolicyPeer",
    "PolicyPort",
    "PolicyRule",
    "Protocol",
    "Raw",
    "Requirement",
    "Resource",
    "Service",
    "ServicePort",
    "Snapshot",
    "Workload",
    "frozen_map",
    "workload_from_owner",
]
