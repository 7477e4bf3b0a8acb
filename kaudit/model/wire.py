"""The wire schema: for each kind, the fields of the API object that kaudit reads.

This is the one declaration of them. The live collector decodes list pages straight
into these types with msgspec (fields not declared here are skipped without being
built, so a 5,000-pod list decodes several times faster than with json.loads), and
manifests convert their parsed documents into the same types; the model's
constructors then read only these. Reading a new field means adding it here and
using it in the model's `from_wire`.

Every field is optional (`None` when absent or null) so that partial objects, as
manifests often are, decode; the model applies the API's defaults. Numbers the
model parses itself (ports, and the IntOrString fields) accept strings too, so
that a bad value is reported as the model reports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import msgspec

ItemT = TypeVar("ItemT")


class WireObject(msgspec.Struct, rename="camel", gc=False):
    """Base of the wire types: camelCase names on the wire, unknown fields skipped.

    No cyclic garbage collection for these: decoded trees hold no cycles.
    """


def from_mapping(raw: Mapping[str, Any], wire_type: type[ItemT]) -> ItemT:
    """A parsed JSON or YAML object as its wire type, with the types the API server requires.

    Strict: a boolean given as a string, or a number given as a string where the API
    takes a number, is refused as the API server refuses it. Raises
    msgspec.ValidationError (a ValueError) naming the field when a type is wrong.
    """
    return msgspec.convert(raw, wire_type, strict=True)


# --- metadata ---------------------------------------------------------------------------------


class OwnerReference(WireObject):
    kind: str | None = None
    name: str | None = None
    controller: bool | None = None


class ObjectMeta(WireObject):
    name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = None


class ListMeta(WireObject):
    continue_: str | None = msgspec.field(default=None, name="continue")


class ObjectList(WireObject, Generic[ItemT]):
    """One page of a list; its metadata carries the continue token."""

    metadata: ListMeta | None = None
    items: list[ItemT] | None = None


class Requirement(WireObject):
    key: str | None = None
    operator: str | None = None
    values: list[str] | None = None


class LabelSelector(WireObject):
    match_labels: dict[str, str] | None = None
    match_expressions: list[Requirement] | None = None


class ObjectReference(WireObject):
    kind: str | None = None
    name: str | None = None


class Named(WireObject):
    """Any object of which only the metadata is read (Namespaces, DaemonSets)."""

    metadata: ObjectMeta | None = None


# --- pods -------------------------------------------------------------------------------------


class ContainerPort(WireObject):
    name: str | None = None
    container_port: int | str | None = None
    protocol: str | None = None
    host_port: int | str | None = None


class Container(WireObject):
    name: str | None = None
    ports: list[ContainerPort] | None = None


class PodDNSConfigOption(WireObject):
    name: str | None = None
    value: str | int | None = None


class PodDNSConfig(WireObject):
    options: list[PodDNSConfigOption] | None = None


class PodSpec(WireObject):
    containers: list[Container] | None = None
    init_containers: list[Container] | None = None
    host_network: bool | None = None
    node_name: str | None = None
    dns_policy: str | None = None
    dns_config: PodDNSConfig | None = None


class PodCondition(WireObject):
    type: str | None = None
    status: str | None = None


class PodIP(WireObject):
    ip: str | None = None


class PodStatus(WireObject):
    phase: str | None = None
    pod_ip: str | None = msgspec.field(default=None, name="podIP")
    pod_ips: list[PodIP] | None = msgspec.field(default=None, name="podIPs")
    conditions: list[PodCondition] | None = None


class Pod(WireObject):
    metadata: ObjectMeta | None = None
    spec: PodSpec | None = None
    status: PodStatus | None = None


# --- services and endpoints -------------------------------------------------------------------


class ServicePort(WireObject):
    name: str | None = None
    port: int | str | None = None
    target_port: int | str | None = None
    protocol: str | None = None
    node_port: int | str | None = None


class ServiceSpec(WireObject):
    type: str | None = None
    selector: dict[str, str] | None = None
    ports: list[ServicePort] | None = None
    cluster_ip: str | None = msgspec.field(default=None, name="clusterIP")
    external_ips: list[str] | None = msgspec.field(default=None, name="externalIPs")
    external_name: str | None = None
    load_balancer_source_ranges: list[str] | None = None
    load_balancer_class: str | None = None
    allocate_load_balancer_node_ports: bool | None = None


class LoadBalancerIngress(WireObject):
    ip: str | None = None
    hostname: str | None = None


class LoadBalancerStatus(WireObject):
    ingress: list[LoadBalancerIngress] | None = None


class ServiceStatus(WireObject):
    load_balancer: LoadBalancerStatus | None = None


class Service(WireObject):
    metadata: ObjectMeta | None = None
    spec: ServiceSpec | None = None
    status: ServiceStatus | None = None


class EndpointConditions(WireObject):
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


class Endpoint(WireObject):
    addresses: list[str] | None = None
    conditions: EndpointConditions | None = None
    target_ref: ObjectReference | None = None


class EndpointPort(WireObject):
    name: str | None = None
    port: int | str | None = None
    protocol: str | None = None


class EndpointSlice(WireObject):
    metadata: ObjectMeta | None = None
    address_type: str | None = None
    endpoints: list[Endpoint] | None = None
    ports: list[EndpointPort] | None = None


class EndpointAddress(WireObject):
    ip: str | None = None
    target_ref: ObjectReference | None = None


class EndpointSubset(WireObject):
    addresses: list[EndpointAddress] | None = None
    not_ready_addresses: list[EndpointAddress] | None = None
    ports: list[EndpointPort] | None = None


class Endpoints(WireObject):
    """core/v1 Endpoints, read on servers without EndpointSlices."""

    metadata: ObjectMeta | None = None
    subsets: list[EndpointSubset] | None = None


# --- network policies -------------------------------------------------------------------------


class IPBlock(WireObject):
    cidr: str | None = None
    except_: list[str] | None = msgspec.field(default=None, name="except")


class PolicyPeer(WireObject):
    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None


class PolicyPort(WireObject):
    protocol: str | None = None
    port: int | str | None = None
    end_port: int | str | None = None


class NetworkPolicyRule(WireObject):
    """An ingress rule (peers under `from`) or an egress rule (peers under `to`)."""

    from_: list[PolicyPeer] | None = msgspec.field(default=None, name="from")
    to: list[PolicyPeer] | None = None
    ports: list[PolicyPort] | None = None


class NetworkPolicySpec(WireObject):
    pod_selector: LabelSelector | None = None
    policy_types: list[str] | None = None
    ingress: list[NetworkPolicyRule] | None = None
    egress: list[NetworkPolicyRule] | None = None


class NetworkPolicy(WireObject):
    metadata: ObjectMeta | None = None
    spec: NetworkPolicySpec | None = None


# --- ingress ----------------------------------------------------------------------------------


class ServiceBackendPort(WireObject):
    name: str | None = None
    number: int | str | None = None


class ServiceBackend(WireObject):
    name: str | None = None
    port: ServiceBackendPort | None = None


class IngressBackend(WireObject):
    service: ServiceBackend | None = None
    resource: ObjectReference | None = None


class HTTPIngressPath(WireObject):
    path: str | None = None
    backend: IngressBackend | None = None


class HTTPIngressRuleValue(WireObject):
    paths: list[HTTPIngressPath] | None = None


class IngressRule(WireObject):
    host: str | None = None
    http: HTTPIngressRuleValue | None = None


class IngressTLS(WireObject):
    hosts: list[str] | None = None


class IngressSpec(WireObject):
    ingress_class_name: str | None = None
    default_backend: IngressBackend | None = None
    rules: list[IngressRule] | None = None
    tls: list[IngressTLS] | None = None


class Ingress(WireObject):
    metadata: ObjectMeta | None = None
    spec: IngressSpec | None = None


class IngressClassSpec(WireObject):
    controller: str | None = None


class IngressClass(WireObject):
    metadata: ObjectMeta | None = None
    spec: IngressClassSpec | None = None


# --- admin network policies (policy.networking.k8s.io) -----------------------------------------
# ClusterNetworkPolicy (v1beta1, v1alpha2), AdminNetworkPolicy and BaselineAdminNetworkPolicy
# (v1alpha1) share these types: the v1alpha1 kinds list `ports`, ClusterNetworkPolicy
# `protocols`; the model says which fields each kind may use.


class NamespacedPods(WireObject):
    namespace_selector: LabelSelector | None = None
    pod_selector: LabelSelector | None = None


class AdminPolicySubject(WireObject):
    namespaces: LabelSelector | None = None
    pods: NamespacedPods | None = None


class AdminPolicyPeer(WireObject):
    namespaces: LabelSelector | None = None
    pods: NamespacedPods | None = None
    nodes: LabelSelector | None = None
    networks: list[str] | None = None
    domain_names: list[str] | None = None


class AdminPortNumber(WireObject):
    """v1alpha1 `portNumber`."""

    protocol: str | None = None
    port: int | str | None = None


class AdminPortRange(WireObject):
    """v1alpha1 `portRange` (with a protocol) and v1beta1 `range` (without)."""

    protocol: str | None = None
    start: int | str | None = None
    end: int | str | None = None


class AdminPolicyPort(WireObject):
    """v1alpha1: exactly one of portNumber, namedPort, portRange."""

    port_number: AdminPortNumber | None = None
    named_port: str | None = None
    port_range: AdminPortRange | None = None


class DestinationPort(WireObject):
    """v1beta1: exactly one of number, range."""

    number: int | str | None = None
    range: AdminPortRange | None = None


class ProtocolPort(WireObject):
    destination_port: DestinationPort | None = None


class AdminPolicyProtocol(WireObject):
    """v1beta1: exactly one of tcp, udp, sctp, destinationNamedPort."""

    tcp: ProtocolPort | None = None
    udp: ProtocolPort | None = None
    sctp: ProtocolPort | None = None
    destination_named_port: str | None = None


class AdminPolicyRule(WireObject):
    name: str | None = None
    action: str | None = None
    from_: list[AdminPolicyPeer] | None = msgspec.field(default=None, name="from")
    to: list[AdminPolicyPeer] | None = None
    ports: list[AdminPolicyPort] | None = None
    protocols: list[AdminPolicyProtocol] | None = None


class AdminPolicySpec(WireObject):
    tier: str | None = None
    priority: int | str | None = None
    subject: AdminPolicySubject | None = None
    ingress: list[AdminPolicyRule] | None = None
    egress: list[AdminPolicyRule] | None = None


class AdminPolicy(WireObject):
    metadata: ObjectMeta | None = None
    spec: AdminPolicySpec | None = None


class NodeAddress(WireObject):
    type: str | None = None
    address: str | None = None


class NodeStatus(WireObject):
    addresses: list[NodeAddress] | None = None


class Node(WireObject):
    """Read for the `nodes` peers of admin policies: labels and addresses."""

    metadata: ObjectMeta | None = None
    status: NodeStatus | None = None
