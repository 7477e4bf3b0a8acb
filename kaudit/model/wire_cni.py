"""Cilium's and Calico's policy kinds and ServiceAccounts in the wire schema: the fields kaudit reads of them (see
kaudit.model.wire, whose base types they use)."""

from __future__ import annotations

from typing import Any

import msgspec

from kaudit.model.wire import LabelSelector, ObjectMeta, WireObject

# --- CNI policy kinds: Cilium (cilium.io/v2) and Calico (projectcalico.org/v3, crd.projectcalico.org/v1)
# Field names as in the Cilium CRDs (github.com/cilium/cilium pkg/k8s/apis/cilium.io/client/crds/v2)
# and the Calico resource reference (docs.tigera.io, Calico reference, resources).


class ServiceAccount(WireObject):
    """core/v1 ServiceAccount: only the name, namespace and labels are read."""

    metadata: ObjectMeta | None = None


class CiliumCIDRRule(WireObject):
    cidr: str | None = None
    except_: list[str] | None = msgspec.field(default=None, name="except")
    cidr_group_ref: str | None = msgspec.field(default=None, name="cidrGroupRef")
    cidr_group_selector: LabelSelector | None = msgspec.field(
        default=None, name="cidrGroupSelector"
    )


class CiliumPortProtocol(WireObject):
    port: str | None = None  # a number or a port name, as a string (the CRD's type)
    end_port: int | None = None
    protocol: str | None = None


class CiliumL7Rules(WireObject):
    http: list[dict[str, Any]] | None = None
    dns: list[dict[str, Any]] | None = None
    kafka: list[dict[str, Any]] | None = None
    l7proto: str | None = None
    l7: list[dict[str, Any]] | None = None


class CiliumPortRule(WireObject):
    ports: list[CiliumPortProtocol] | None = None
    rules: CiliumL7Rules | None = None
    listener: dict[str, Any] | None = None
    server_names: list[str] | None = None
    terminating_tls: dict[str, Any] | None = msgspec.field(default=None, name="terminatingTLS")
    originating_tls: dict[str, Any] | None = msgspec.field(default=None, name="originatingTLS")


class CiliumK8sService(WireObject):
    service_name: str | None = None
    namespace: str | None = None


class CiliumK8sServiceSelector(WireObject):
    selector: LabelSelector | None = None
    namespace: str | None = None


class CiliumService(WireObject):
    k8s_service: CiliumK8sService | None = msgspec.field(default=None, name="k8sService")
    k8s_service_selector: CiliumK8sServiceSelector | None = msgspec.field(
        default=None, name="k8sServiceSelector"
    )


class CiliumFQDNSelector(WireObject):
    match_name: str | None = None
    match_pattern: str | None = None


class CiliumPolicyRule(WireObject):
    """An ingress, ingressDeny, egress or egressDeny entry (the fields of all four)."""

    from_endpoints: list[LabelSelector] | None = None
    from_cidr: list[str] | None = msgspec.field(default=None, name="fromCIDR")
    from_cidr_set: list[CiliumCIDRRule] | None = msgspec.field(default=None, name="fromCIDRSet")
    from_entities: list[str] | None = None
    from_nodes: list[LabelSelector] | None = None
    from_groups: list[dict[str, Any]] | None = None
    from_requires: list[str] | None = None
    to_endpoints: list[LabelSelector] | None = None
    to_cidr: list[str] | None = msgspec.field(default=None, name="toCIDR")
    to_cidr_set: list[CiliumCIDRRule] | None = msgspec.field(default=None, name="toCIDRSet")
    to_entities: list[str] | None = None
    to_services: list[CiliumService] | None = None
    to_fqdns: list[CiliumFQDNSelector] | None = msgspec.field(default=None, name="toFQDNs")
    to_nodes: list[LabelSelector] | None = None
    to_groups: list[dict[str, Any]] | None = None
    to_requires: list[str] | None = None
    to_ports: list[CiliumPortRule] | None = None
    icmps: list[dict[str, Any]] | None = None
    authentication: dict[str, Any] | None = None


class CiliumDefaultDeny(WireObject):
    ingress: bool | None = None
    egress: bool | None = None


class CiliumRule(WireObject):
    endpoint_selector: LabelSelector | None = None
    node_selector: LabelSelector | None = None
    ingress: list[CiliumPolicyRule] | None = None
    ingress_deny: list[CiliumPolicyRule] | None = None
    egress: list[CiliumPolicyRule] | None = None
    egress_deny: list[CiliumPolicyRule] | None = None
    enable_default_deny: CiliumDefaultDeny | None = None
    description: str | None = None


class CiliumNetworkPolicy(WireObject):
    """CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy: one `spec`, or several `specs`."""

    metadata: ObjectMeta | None = None
    spec: CiliumRule | None = None
    specs: list[CiliumRule] | None = None


class CalicoServiceAccountMatch(WireObject):
    names: list[str] | None = None
    selector: str | None = None


class CalicoServiceMatch(WireObject):
    name: str | None = None
    namespace: str | None = None


class CalicoEntityRule(WireObject):
    nets: list[str] | None = None
    not_nets: list[str] | None = None
    selector: str | None = None
    not_selector: str | None = None
    namespace_selector: str | None = None
    ports: list[int | str] | None = None
    not_ports: list[int | str] | None = None
    service_accounts: CalicoServiceAccountMatch | None = None
    services: CalicoServiceMatch | None = None


class CalicoRule(WireObject):
    action: str | None = None
    protocol: int | str | None = None
    not_protocol: int | str | None = None
    icmp: dict[str, Any] | None = None
    not_icmp: dict[str, Any] | None = msgspec.field(default=None, name="notICMP")
    ip_version: int | None = None
    source: CalicoEntityRule | None = None
    destination: CalicoEntityRule | None = None
    http: dict[str, Any] | None = None


class CalicoPolicySpec(WireObject):
    order: float | None = None
    tier: str | None = None
    selector: str | None = None
    namespace_selector: str | None = None
    service_account_selector: str | None = None
    types: list[str] | None = None
    ingress: list[CalicoRule] | None = None
    egress: list[CalicoRule] | None = None
    do_not_track: bool | None = None
    pre_dnat: bool | None = msgspec.field(default=None, name="preDNAT")
    apply_on_forward: bool | None = None
    stage_action: str | None = None


class CalicoPolicy(WireObject):
    """Calico NetworkPolicy, GlobalNetworkPolicy and their staged forms."""

    metadata: ObjectMeta | None = None
    spec: CalicoPolicySpec | None = None


class CalicoNetworkSetSpec(WireObject):
    nets: list[str] | None = None


class CalicoNetworkSet(WireObject):
    """Calico NetworkSet and GlobalNetworkSet."""

    metadata: ObjectMeta | None = None
    spec: CalicoNetworkSetSpec | None = None


class CalicoTierSpec(WireObject):
    order: float | None = None
    default_action: str | None = None


class CalicoTier(WireObject):
    metadata: ObjectMeta | None = None
    spec: CalicoTierSpec | None = None
