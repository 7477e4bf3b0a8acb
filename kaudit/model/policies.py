"""networking.k8s.io/v1 NetworkPolicies: peers, ports and rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kaudit.model import wire
from kaudit.model.meta import (
    LIVE,
    Labels,
    LabelSelector,
    Meta,
    ObjectRef,
    Origin,
    Protocol,
    Raw,
    port_number,
    port_number_or_name,
)


@dataclass(frozen=True, slots=True)
class IPBlock:
    cidr: str
    except_: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyPeer:
    """One entry of a rule's `from`/`to` list.

    Inside one peer the selectors are ANDed. A podSelector without a
    namespaceSelector means the policy's own namespace; a namespaceSelector
    without a podSelector means every pod of the selected namespaces.
    """

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None

    @classmethod
    def from_wire(cls, peer: wire.PolicyPeer) -> PolicyPeer:
        block = peer.ip_block
        return cls(
            pod_selector=LabelSelector.from_wire(peer.pod_selector)
            if peer.pod_selector is not None
            else None,
            namespace_selector=LabelSelector.from_wire(peer.namespace_selector)
            if peer.namespace_selector is not None
            else None,
            ip_block=IPBlock(block.cidr or "", tuple(block.except_ or ()))
            if block is not None
            else None,
        )


@dataclass(frozen=True, slots=True)
class PolicyPort:
    """`port` absent means every port; a string is a named port of the destination pod."""

    protocol: Protocol = Protocol.TCP
    port: int | str | None = None
    end_port: int | None = None

    @classmethod
    def from_wire(cls, port: wire.PolicyPort) -> PolicyPort:
        return cls(
            protocol=Protocol.parse(port.protocol),
            port=port_number_or_name(port.port, "port"),
            end_port=port_number(port.end_port, "endPort") if port.end_port is not None else None,
        )


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """One ingress or egress rule. Empty `peers` means every peer; empty `ports` every port."""

    peers: tuple[PolicyPeer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()

    @classmethod
    def from_wire(
        cls, rule: wire.NetworkPolicyRule, peers: Sequence[wire.PolicyPeer]
    ) -> PolicyRule:
        """`peers` is the rule's `from` list (ingress) or its `to` list (egress)."""
        return cls(
            peers=tuple(PolicyPeer.from_wire(p) for p in peers),
            ports=tuple(PolicyPort.from_wire(p) for p in rule.ports or ()),
        )


_NO_POLICY_SPEC = wire.NetworkPolicySpec()


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    namespace: str
    name: str
    labels: Labels
    annotations: Labels
    pod_selector: LabelSelector
    # Defaulted as the API server does: Ingress always, plus Egress when egress rules exist.
    policy_types: frozenset[str]
    ingress: tuple[PolicyRule, ...]
    egress: tuple[PolicyRule, ...]
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("NetworkPolicy", self.namespace, self.name)

    @property
    def affects_ingress(self) -> bool:
        return "Ingress" in self.policy_types

    @property
    def affects_egress(self) -> bool:
        return "Egress" in self.policy_types

    @classmethod
    def from_wire(
        cls, policy: wire.NetworkPolicy, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> NetworkPolicy:
        meta = Meta.from_wire(policy.metadata, default_namespace)
        spec = policy.spec or _NO_POLICY_SPEC
        ingress = tuple(PolicyRule.from_wire(r, r.from_ or ()) for r in spec.ingress or ())
        egress = tuple(PolicyRule.from_wire(r, r.to or ()) for r in spec.egress or ())
        if spec.policy_types:
            types = frozenset(spec.policy_types)
        else:
            types = frozenset({"Ingress", "Egress"} if egress else {"Ingress"})
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            labels=meta.labels,
            annotations=meta.annotations,
            pod_selector=LabelSelector.from_wire(spec.pod_selector),
            policy_types=types,
            ingress=ingress,
            egress=egress,
            origin=origin,
        )

    @classmethod
    def from_raw(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> NetworkPolicy:
        return cls.from_wire(wire.from_mapping(raw, wire.NetworkPolicy), origin, default_namespace)
