"""Cluster-wide policies of the network-policy-api (policy.networking.k8s.io).

Three kinds, one shape (`AdminPolicy`):

- ClusterNetworkPolicy (v1beta1 since network-policy-api v0.3.0, v1alpha2 before; the
  same schema): `spec.tier` Admin or Baseline, `spec.priority` 0-1000, actions
  Accept, Deny and Pass, ports under `protocols`.
- AdminNetworkPolicy (v1alpha1): the Admin tier, `spec.priority`, actions Allow,
  Deny and Pass (Allow is read as Accept), ports under `ports`.
- BaselineAdminNetworkPolicy (v1alpha1): the Baseline tier, a single object named
  `default`, no priority, actions Allow and Deny.

Subjects select pods by namespace selector or by namespace and pod selectors; ingress
peers are namespaces or pods; egress peers also nodes, networks (CIDRs) and
domainNames. Validation follows the CRD schema and its CEL rules (one-of fields,
ranges, masked CIDRs, item limits), so a manifest the API server would refuse is
refused here with a line naming the object. Sources: the Go types and CRDs of
sigs.k8s.io/network-policy-api v0.3.0 (apis/v1alpha1, apis/v1beta1,
config/crd/experimental).
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from kaudit.model import wire, wire_admin
from kaudit.model.meta import (
    LIVE,
    Labels,
    LabelSelector,
    Meta,
    ObjectRef,
    Origin,
    Protocol,
    Raw,
    is_port_name,
)
from kaudit.model.policies import PolicyPort

POLICY_API_GROUP = "policy.networking.k8s.io"
CLUSTER_NETWORK_POLICY = "ClusterNetworkPolicy"
ADMIN_NETWORK_POLICY = "AdminNetworkPolicy"
BASELINE_ADMIN_NETWORK_POLICY = "BaselineAdminNetworkPolicy"
ADMIN_POLICY_KINDS = (CLUSTER_NETWORK_POLICY, ADMIN_NETWORK_POLICY, BASELINE_ADMIN_NETWORK_POLICY)
# The one BaselineAdminNetworkPolicy a cluster may hold (a CEL rule of its CRD).
BASELINE_POLICY_NAME = "default"
PRIORITY_MIN, PRIORITY_MAX = 0, 1000
_PROTOCOL_FIELDS = (("tcp", Protocol.TCP), ("udp", Protocol.UDP), ("sctp", Protocol.SCTP))


class AdminTier(enum.StrEnum):
    """Admin policies come before NetworkPolicy, Baseline policies after it."""

    ADMIN = "Admin"
    BASELINE = "Baseline"


class AdminAction(enum.StrEnum):
    ACCEPT = "Accept"  # v1alpha1 "Allow"
    DENY = "Deny"
    PASS = "Pass"  # skip the rest of the tier: the next tier decides


@dataclass(frozen=True, slots=True)
class _KindRules:
    """What one kind may use (its CRD's enums and limits)."""

    actions: dict[str, AdminAction]
    max_rules: int
    max_peers: int
    ports_field: str  # "ports" (v1alpha1) or "protocols" (v1beta1)
    domain_names: bool


_ACTIONS_V1ALPHA1 = {"Allow": AdminAction.ACCEPT, "Deny": AdminAction.DENY}
_KINDS: dict[str, _KindRules] = {
    CLUSTER_NETWORK_POLICY: _KindRules(
        {"Accept": AdminAction.ACCEPT, "Deny": AdminAction.DENY, "Pass": AdminAction.PASS},
        25,
        25,
        "protocols",
        True,
    ),
    ADMIN_NETWORK_POLICY: _KindRules(
        {**_ACTIONS_V1ALPHA1, "Pass": AdminAction.PASS}, 100, 100, "ports", True
    ),
    BASELINE_ADMIN_NETWORK_POLICY: _KindRules(_ACTIONS_V1ALPHA1, 100, 100, "ports", False),
}


@dataclass(frozen=True, slots=True)
class NamespacedPods:
    """Pods matching `pod_selector` in namespaces matching `namespace_selector` (empty: all)."""

    namespace_selector: LabelSelector
    pod_selector: LabelSelector

    @classmethod
    def from_wire(
        cls, pods: wire_admin.NamespacedPods, field: str, lenient: list[str]
    ) -> NamespacedPods:
        for name, selector in (
            ("namespaceSelector", pods.namespace_selector),
            ("podSelector", pods.pod_selector),
        ):
            if selector is None:
                lenient.append(f"{field}.{name} is missing (the CRD requires it): read as {{}}")
        return cls(
            LabelSelector.from_wire(pods.namespace_selector),
            LabelSelector.from_wire(pods.pod_selector),
        )


@dataclass(frozen=True, slots=True)
class AdminSubject:
    """The pods a policy applies to: exactly one of the two is set. hostNetwork pods never."""

    namespaces: LabelSelector | None = None
    pods: NamespacedPods | None = None

    def describe(self) -> str:
        if self.namespaces is not None:
            return f"namespaces {self.namespaces.describe()}"
        assert self.pods is not None
        return (
            f"pods {self.pods.pod_selector.describe()} in namespaces "
            f"{self.pods.namespace_selector.describe()}"
        )


@dataclass(frozen=True, slots=True)
class AdminPeer:
    """One entry of a rule's `from`/`to` list: exactly one kind of peer is set."""

    namespaces: LabelSelector | None = None
    pods: NamespacedPods | None = None
    nodes: LabelSelector | None = None
    networks: tuple[str, ...] = ()
    domain_names: tuple[str, ...] = ()  # matched by DNS name at run time: not evaluated offline

    def describe(self) -> str:
        if self.namespaces is not None:
            return f"namespaces {self.namespaces.describe()}"
        if self.pods is not None:
            return AdminSubject(pods=self.pods).describe()
        if self.nodes is not None:
            return f"nodes {self.nodes.describe()}"
        if self.networks:
            return f"networks {', '.join(self.networks)}"
        return f"domainNames {', '.join(self.domain_names)}"


@dataclass(frozen=True, slots=True)
class AdminPolicyRule:
    """One ingress or egress rule. Empty `ports` means every port and protocol.

    A named port without a protocol (v1alpha1 `namedPort`, v1beta1
    `destinationNamedPort`) is listed once per protocol: the destination's container
    port of that name carries its own protocol.
    """

    name: str
    action: AdminAction
    peers: tuple[AdminPeer, ...]
    ports: tuple[PolicyPort, ...] = ()


@dataclass(frozen=True, slots=True)
class AdminPolicy:
    """A ClusterNetworkPolicy, AdminNetworkPolicy or BaselineAdminNetworkPolicy.

    `priority` is None for a BaselineAdminNetworkPolicy (it has none). Within a
    policy, rules are evaluated in the order written.
    """

    kind: str
    name: str
    labels: Labels
    annotations: Labels
    tier: AdminTier
    priority: int | None
    subject: AdminSubject
    ingress: tuple[AdminPolicyRule, ...]
    egress: tuple[AdminPolicyRule, ...]
    origin: Origin = LIVE
    # What a manifest held that the API server would refuse, and how it was read instead
    # (a missing selector as {}, a CIDR with host bits as its prefix...): reported as
    # warnings by the manifest reader, never silently.
    lenient: tuple[str, ...] = ()

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, "", self.name)

    @classmethod
    def from_wire(
        cls, kind: str, policy: wire_admin.AdminPolicy, origin: Origin = LIVE
    ) -> AdminPolicy:
        """Raises ValueError (naming the field) where the API server would refuse the object
        and no reading of it is sound; what can be read one obvious way is read so and
        listed in `lenient`."""
        rules = _KINDS[kind]
        meta = Meta.from_wire(policy.metadata)
        if not meta.name:
            raise ValueError("metadata.name: required")
        spec = policy.spec
        if spec is None:
            raise ValueError("spec: required")
        if kind == CLUSTER_NETWORK_POLICY:
            if spec.tier not in {t.value for t in AdminTier}:
                raise ValueError(f"spec.tier: must be Admin or Baseline, not {spec.tier!r}")
            tier = AdminTier(spec.tier)
        else:
            tier = AdminTier.ADMIN if kind == ADMIN_NETWORK_POLICY else AdminTier.BASELINE
        priority: int | None = None
        if kind == BASELINE_ADMIN_NETWORK_POLICY:
            if meta.name != BASELINE_POLICY_NAME:
                raise ValueError(
                    f"metadata.name: a {kind} must be named {BASELINE_POLICY_NAME!r}, "
                    f"not {meta.name!r}"
                )
        else:
            priority = _priority(spec.priority)
        if spec.subject is None:
            raise ValueError("spec.subject: required")
        lenient: list[str] = []
        subject = _subject(spec.subject, lenient)
        ingress = _rules(spec.ingress, "spec.ingress", "from", rules, lenient)
        egress = _rules(spec.egress, "spec.egress", "to", rules, lenient)
        return cls(
            kind=kind,
            name=meta.name,
            labels=meta.labels,
            annotations=meta.annotations,
            tier=tier,
            priority=priority,
            subject=subject,
            ingress=ingress,
            egress=egress,
            origin=origin,
            lenient=tuple(lenient),
        )

    @classmethod
    def from_raw(cls, kind: str, raw: Raw, origin: Origin = LIVE) -> AdminPolicy:
        return cls.from_wire(kind, wire.from_mapping(raw, wire_admin.AdminPolicy), origin)

    @classmethod
    def cluster_network_policy(cls, policy: wire_admin.AdminPolicy) -> AdminPolicy:
        return cls.from_wire(CLUSTER_NETWORK_POLICY, policy)

    @classmethod
    def admin_network_policy(cls, policy: wire_admin.AdminPolicy) -> AdminPolicy:
        return cls.from_wire(ADMIN_NETWORK_POLICY, policy)

    @classmethod
    def baseline_admin_network_policy(cls, policy: wire_admin.AdminPolicy) -> AdminPolicy:
        return cls.from_wire(BASELINE_ADMIN_NETWORK_POLICY, policy)


def _priority(value: int | str | None) -> int:
    if value is None:
        raise ValueError("spec.priority: required")
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"spec.priority: must be an integer, not {value!r}")
    if not PRIORITY_MIN <= value <= PRIORITY_MAX:
        raise ValueError(f"spec.priority: must be {PRIORITY_MIN} to {PRIORITY_MAX}, not {value}")
    return value


def _subject(subject: wire_admin.AdminPolicySubject, lenient: list[str]) -> AdminSubject:
    set_fields = [f for f in ("namespaces", "pods") if getattr(subject, f) is not None]
    if len(set_fields) != 1:
        raise ValueError("spec.subject: exactly one of namespaces or pods must be set")
    if subject.namespaces is not None:
        return AdminSubject(namespaces=LabelSelector.from_wire(subject.namespaces))
    assert subject.pods is not None
    return AdminSubject(pods=NamespacedPods.from_wire(subject.pods, "spec.subject.pods", lenient))


def _rules(
    rules: Sequence[wire_admin.AdminPolicyRule] | None,
    field: str,
    peers_field: str,
    kind: _KindRules,
    lenient: list[str],
) -> tuple[AdminPolicyRule, ...]:
    rules = rules or ()
    if len(rules) > kind.max_rules:
        raise ValueError(f"{field}: at most {kind.max_rules} rules, not {len(rules)}")
    return tuple(_rule(r, f"{field}[{i}]", peers_field, kind, lenient) for i, r in enumerate(rules))


def _rule(
    rule: wire_admin.AdminPolicyRule,
    field: str,
    peers_field: str,
    kind: _KindRules,
    lenient: list[str],
) -> AdminPolicyRule:
    name = rule.name or ""
    if len(name) > 100:
        raise ValueError(f"{field}.name: at most 100 characters")
    if rule.action not in kind.actions:
        allowed = ", ".join(kind.actions)
        raise ValueError(f"{field}.action: must be one of {allowed}, not {rule.action!r}")
    action = kind.actions[rule.action]
    raw_peers = rule.from_ if peers_field == "from" else rule.to
    other = rule.to if peers_field == "from" else rule.from_
    if other is not None:
        wrong = "to" if peers_field == "from" else "from"
        raise ValueError(f"{field}.{wrong}: not a field of this rule (it has {peers_field!r})")
    if not raw_peers:
        raise ValueError(f"{field}.{peers_field}: at least one peer is required")
    if len(raw_peers) > kind.max_peers:
        raise ValueError(f"{field}.{peers_field}: at most {kind.max_peers} peers")
    egress = peers_field == "to"
    peers = tuple(
        _peer(p, f"{field}.{peers_field}[{i}]", egress, kind, lenient)
        for i, p in enumerate(raw_peers)
    )
    if kind.ports_field == "ports":
        if rule.protocols is not None:
            raise ValueError(f"{field}.protocols: not a field of this kind (it lists ports)")
        ports = _ports_v1alpha1(rule.ports, f"{field}.ports")
    else:
        if rule.ports is not None:
            raise ValueError(f"{field}.ports: not a field of this kind (it lists protocols)")
        ports = _protocols(rule.protocols, f"{field}.protocols")
    if any(isinstance(p.port, str) for p in ports) and any(
        p.nodes is not None or p.networks or p.domain_names for p in peers
    ):
        lenient.append(
            f"{field}: named ports with networks/nodes/domainNames peers (the CRD refuses "
            "them): a named port matches pods' container ports only, never those peers"
        )
    return AdminPolicyRule(name, action, peers, ports)


def _peer(
    peer: wire_admin.AdminPolicyPeer,
    field: str,
    egress: bool,
    kind: _KindRules,
    lenient: list[str],
) -> AdminPeer:
    set_fields = [
        f
        for f in ("namespaces", "pods", "nodes", "networks", "domain_names")
        if getattr(peer, f) is not None
    ]
    if len(set_fields) != 1:
        raise ValueError(f"{field}: exactly one kind of peer must be set")
    which = set_fields[0]
    if not egress and which not in ("namespaces", "pods"):
        raise ValueError(f"{field}: ingress peers are namespaces or pods, not {which}")
    if which == "domain_names" and not kind.domain_names:
        raise ValueError(f"{field}.domainNames: not a field of this kind")
    if which == "namespaces":
        return AdminPeer(namespaces=LabelSelector.from_wire(peer.namespaces))
    if which == "pods":
        assert peer.pods is not None
        return AdminPeer(pods=NamespacedPods.from_wire(peer.pods, f"{field}.pods", lenient))
    if which == "nodes":
        return AdminPeer(nodes=LabelSelector.from_wire(peer.nodes))
    if which == "networks":
        networks = tuple(peer.networks or ())
        _check_items(networks, f"{field}.networks")
        networks = tuple(_network(cidr, f"{field}.networks", lenient) for cidr in networks)
        return AdminPeer(networks=networks)
    names = tuple(peer.domain_names or ())
    _check_items(names, f"{field}.domainNames")
    return AdminPeer(domain_names=names)


def _check_items(items: tuple[str, ...], field: str) -> None:
    if not items:
        raise ValueError(f"{field}: at least one item is required")
    if len(items) > 25:
        raise ValueError(f"{field}: at most 25 items")


def _network(cidr: str, field: str, lenient: list[str]) -> str:
    """A prefix (`isCIDR(self) && cidr(self) == cidr(self).masked()`); one with host bits
    set is read as its prefix."""
    address, slash, _ = cidr.partition("/")
    try:
        if not slash:
            raise ValueError
        network = ipaddress.ip_network(cidr, strict=False)
        masked = network.network_address != ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"{field}: {cidr!r} is not a CIDR") from None
    prefix = str(network)
    if masked:
        lenient.append(
            f"{field}: {cidr!r} has host bits set (the CRD refuses it): read as {prefix}"
        )
    return prefix


def _port(value: int | str | None, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise ValueError(f"{field}: must be a port number 1-65535, not {value!r}")
    return value


def _range(span: wire_admin.AdminPortRange, protocol: Protocol, field: str) -> PolicyPort:
    start, end = _port(span.start, f"{field}.start"), _port(span.end, f"{field}.end")
    if start >= end:
        raise ValueError(f"{field}: start ({start}) must be less than end ({end})")
    return PolicyPort(protocol, start, end)


def _named(name: str | None, field: str) -> tuple[PolicyPort, ...]:
    if not name or not is_port_name(name):
        raise ValueError(f"{field}: {name!r} is not a valid port name")
    return tuple(PolicyPort(protocol, name) for _, protocol in _PROTOCOL_FIELDS)


def _ports_v1alpha1(
    ports: Sequence[wire_admin.AdminPolicyPort] | None, field: str
) -> tuple[PolicyPort, ...]:
    if ports is None:
        return ()
    if not ports or len(ports) > 100:
        raise ValueError(f"{field}: 1 to 100 entries when set")
    result: list[PolicyPort] = []
    for i, entry in enumerate(ports):
        where = f"{field}[{i}]"
        set_fields = [
            f for f in ("port_number", "named_port", "port_range") if getattr(entry, f) is not None
        ]
        if len(set_fields) != 1:
            raise ValueError(f"{where}: exactly one of portNumber, namedPort, portRange")
        if entry.port_number is not None:
            protocol = Protocol.parse(entry.port_number.protocol)
            number = _port(entry.port_number.port, f"{where}.portNumber.port")
            result.append(PolicyPort(protocol, number))
        elif entry.port_range is not None:
            protocol = Protocol.parse(entry.port_range.protocol)
            result.append(_range(entry.port_range, protocol, f"{where}.portRange"))
        else:
            result.extend(_named(entry.named_port, f"{where}.namedPort"))
    return tuple(result)


def _protocols(
    protocols: Sequence[wire_admin.AdminPolicyProtocol] | None, field: str
) -> tuple[PolicyPort, ...]:
    if protocols is None:
        return ()
    if not protocols or len(protocols) > 25:
        raise ValueError(f"{field}: 1 to 25 entries when set")
    result: list[PolicyPort] = []
    for i, entry in enumerate(protocols):
        where = f"{field}[{i}]"
        set_fields = [
            f
            for f in ("tcp", "udp", "sctp", "destination_named_port")
            if getattr(entry, f) is not None
        ]
        if len(set_fields) != 1:
            raise ValueError(f"{where}: exactly one of tcp, udp, sctp, destinationNamedPort")
        if entry.destination_named_port is not None:
            result.extend(_named(entry.destination_named_port, f"{where}.destinationNamedPort"))
            continue
        name, protocol = next((n, p) for n, p in _PROTOCOL_FIELDS if getattr(entry, n) is not None)
        match = getattr(entry, name)
        destination = match.destination_port
        if destination is None:
            raise ValueError(f"{where}.{name}.destinationPort: required")
        port_field = f"{where}.{name}.destinationPort"
        if (destination.number is None) == (destination.range is None):
            raise ValueError(f"{port_field}: exactly one of number or range")
        if destination.range is not None:
            result.append(_range(destination.range, protocol, f"{port_field}.range"))
        else:
            result.append(PolicyPort(protocol, _port(destination.number, f"{port_field}.number")))
    return tuple(result)
