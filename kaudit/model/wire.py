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
    # Cluster (the default: clients are source-NATed to a node address) or Local.
    external_traffic_policy: str | None = None


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


# --- Gateway API (gateway.networking.k8s.io; one shape for v1, v1beta1, v1alpha2, v1alpha3) ---


class RouteNamespaces(WireObject):
    from_: str | None = msgspec.field(default=None, name="from")
    selector: LabelSelector | None = None


class RouteGroupKind(WireObject):
    group: str | None = None
    kind: str | None = None


class AllowedRoutes(WireObject):
    namespaces: RouteNamespaces | None = None
    kinds: list[RouteGroupKind] | None = None


class SecretObjectReference(WireObject):
    group: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None


class ListenerTLSConfig(WireObject):
    mode: str | None = None
    certificate_refs: list[SecretObjectReference] | None = None


class GatewayListener(WireObject):
    name: str | None = None
    hostname: str | None = None
    port: int | str | None = None
    protocol: str | None = None
    tls: ListenerTLSConfig | None = None
    allowed_routes: AllowedRoutes | None = None


class AllowedListeners(WireObject):
    namespaces: RouteNamespaces | None = None


class GatewayAddress(WireObject):
    type: str | None = None
    value: str | None = None


class GatewaySpec(WireObject):
    gateway_class_name: str | None = None
    listeners: list[GatewayListener] | None = None
    addresses: list[GatewayAddress] | None = None
    allowed_listeners: AllowedListeners | None = None


class GatewayStatus(WireObject):
    addresses: list[GatewayAddress] | None = None


class Gateway(WireObject):
    metadata: ObjectMeta | None = None
    spec: GatewaySpec | None = None
    status: GatewayStatus | None = None


class GatewayClassSpec(WireObject):
    controller_name: str | None = None


class GatewayClass(WireObject):
    metadata: ObjectMeta | None = None
    spec: GatewayClassSpec | None = None


class ParentReference(WireObject):
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    section_name: str | None = None
    port: int | str | None = None


class ListenerSetSpec(WireObject):
    parent_ref: ParentReference | None = None
    listeners: list[GatewayListener] | None = None


class ListenerSet(WireObject):
    """ListenerSet (gateway.networking.k8s.io/v1) and the experimental XListenerSet
    (gateway.networking.x-k8s.io/v1alpha1): one shape."""

    metadata: ObjectMeta | None = None
    spec: ListenerSetSpec | None = None


class BackendRef(WireObject):
    group: str | None = None
    kind: str | None = None
    name: str | None = None
    namespace: str | None = None
    port: int | str | None = None
    weight: int | None = None


class RequestRedirectFilter(WireObject):
    scheme: str | None = None
    port: int | None = None


class RouteFilter(WireObject):
    type: str | None = None
    request_redirect: RequestRedirectFilter | None = None


class RouteRule(WireObject):
    backend_refs: list[BackendRef] | None = None
    filters: list[RouteFilter] | None = None


class RouteSpec(WireObject):
    """The spec of every route kind (HTTP, GRPC, TLS, TCP, UDP): what kaudit reads is shared."""

    parent_refs: list[ParentReference] | None = None
    hostnames: list[str] | None = None
    rules: list[RouteRule] | None = None


class Condition(WireObject):
    type: str | None = None
    status: str | None = None
    reason: str | None = None
    message: str | None = None


class RouteParentStatus(WireObject):
    parent_ref: ParentReference | None = None
    controller_name: str | None = None
    conditions: list[Condition] | None = None


class RouteStatus(WireObject):
    parents: list[RouteParentStatus] | None = None


class Route(WireObject):
    metadata: ObjectMeta | None = None
    spec: RouteSpec | None = None
    status: RouteStatus | None = None


class ReferenceGrantFrom(WireObject):
    group: str | None = None
    kind: str | None = None
    namespace: str | None = None


class ReferenceGrantTo(WireObject):
    group: str | None = None
    kind: str | None = None
    name: str | None = None


class ReferenceGrantSpec(WireObject):
    from_: list[ReferenceGrantFrom] | None = msgspec.field(default=None, name="from")
    to: list[ReferenceGrantTo] | None = None


class ReferenceGrant(WireObject):
    metadata: ObjectMeta | None = None
    spec: ReferenceGrantSpec | None = None
