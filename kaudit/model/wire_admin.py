"""The network-policy-api kinds and Nodes in the wire schema: the fields kaudit reads of them (see
kaudit.model.wire, whose base types they use)."""

from __future__ import annotations

import msgspec

from kaudit.model.wire import LabelSelector, ObjectMeta, WireObject

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
