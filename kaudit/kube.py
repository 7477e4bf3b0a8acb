"""Kubernetes facts kaudit relies on, defined once.

Well-known labels and annotations, where cluster DNS lives, which namespaces belong
to the platform, which CNI plugins enforce NetworkPolicy and the cloud metadata
addresses. Every layer (model, collectors, engine, rules, deploy) reads them from
here; this module imports nothing from kaudit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# --- well-known labels and annotations (kubernetes.io/docs/reference/labels-annotations-taints)

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
POD_TEMPLATE_HASH_LABEL = "pod-template-hash"
STATEFULSET_POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
DEFAULT_INGRESS_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
# Obsolete (pre-1.7 beta) namespace isolation switch: it has no effect today.
LEGACY_ISOLATION_ANNOTATION = "net.beta.kubernetes.io/network-policy"

# --- cluster DNS ------------------------------------------------------------------------------

# CoreDNS keeps the kube-dns label in kubeadm, kind, EKS, GKE and AKS.
DNS_NAMESPACE = "kube-system"
DNS_POD_LABELS: Mapping[str, str] = MappingProxyType({"k8s-app": "kube-dns"})
DNS_PORT = 53

# --- platform namespaces ----------------------------------------------------------------------

# Namespaces that belong to the platform rather than to applications: their findings
# are reported apart unless the user asks otherwise.
SYSTEM_NAMESPACES = frozenset(
    {
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "local-path-storage",
        "calico-system",
        "calico-apiserver",
        "tigera-operator",
        "cilium",
        "cilium-system",
        "kube-flannel",
        "antrea-system",
    }
)

# --- CNI plugins ------------------------------------------------------------------------------

# CNI plugins by the name prefixes of their pods, DaemonSets or app labels.
CNI_MARKERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "calico": ("calico-node", "calico"),
        "cilium": ("cilium",),
        "antrea": ("antrea-agent", "antrea"),
        "kindnet": ("kindnet",),
        "flannel": ("kube-flannel", "flannel"),
        "weave": ("weave-net", "weave"),
        "kube-router": ("kube-router",),
    }
)

# Plugins that implement NetworkPolicy on their own. Flannel does not; "canal"
# (flannel with calico) shows up as calico as well.
ENFORCING_CNIS = frozenset({"calico", "cilium", "antrea", "kindnet", "weave", "kube-router"})


def cni_of_name(name: str) -> str | None:
    """The CNI plugin a pod, DaemonSet or app name belongs to, if any."""
    for cni, markers in CNI_MARKERS.items():
        if any(name.startswith(marker) for marker in markers):
            return cni
    return None


# --- cloud instance metadata ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetadataEndpoint:
    """A cloud instance-metadata address that pods should not reach."""

    address: str
    port: int
    provider: str


# Instance metadata services reachable from pods on the usual clouds.
METADATA_ENDPOINTS: tuple[MetadataEndpoint, ...] = (
    MetadataEndpoint("169.254.169.254", 80, "AWS, GCP, Azure, OpenStack, Oracle and others (IPv4)"),
    MetadataEndpoint("fd00:ec2::254", 80, "AWS (IPv6)"),
    MetadataEndpoint("169.254.170.2", 80, "AWS ECS task metadata and credentials"),
    MetadataEndpoint("100.100.100.200", 80, "Alibaba Cloud"),
)
METADATA_ADDRESSES: tuple[str, ...] = tuple(e.address for e in METADATA_ENDPOINTS)
# The instance-metadata addresses every major cloud serves (IPv4, and AWS over IPv6).
PRIMARY_METADATA_ADDRESSES = frozenset({"169.254.169.254", "fd00:ec2::254"})
# 169.254.0.0/16 holds the IPv4 metadata endpoints.
LINK_LOCAL_IPV4 = "169.254.0.0/16"
