"""Calico's policy kinds: NetworkPolicy, GlobalNetworkPolicy, their staged forms,
NetworkSet, GlobalNetworkSet and Tier (projectcalico.org/v3, and crd.projectcalico.org/v1,
the same objects as the CRDs store them).

Written from the Calico resource reference (docs.tigera.io, Calico, reference,
resources: networkpolicy, globalnetworkpolicy, stagednetworkpolicy, networkset,
globalnetworkset, tier; the Rule, EntityRule, Ports and Selectors sections):

- `order`: lower first; a policy without order comes after those with one;
- `tier`: "default" when unset; the policy's `selector` defaults to `all()`; a
  NetworkPolicy selects in its own namespace, a GlobalNetworkPolicy in the
  namespaces its `namespaceSelector` selects (every one when unset);
- `types`: when unset, Ingress unless only egress rules are present, Egress when only
  egress rules are, both when both are;
- a rule's `action` is Allow, Deny, Pass or Log (Log goes on to the next rule);
- an entity rule matches when all its criteria do: `nets`/`notNets`, `selector`/
  `notSelector` (in the scope `namespaceSelector` sets), `ports`/`notPorts`
  (numbers, "first:last" ranges and named ports), `serviceAccounts`, `services`;
- staged policies are reported, never enforced; `doNotTrack` and `preDNAT`
  policies apply to host endpoints only, and `applyOnForward` adds forwarded host
  traffic: none of that is evaluated (host endpoints are not in the snapshot).
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from kaudit.model import wire, wire_cni
from kaudit.model.cni.calico_selector import Selector, parse_selector
from kaudit.model.meta import EMPTY_LABELS, LIVE, Labels, Meta, ObjectRef, Origin, Raw, is_port_name

GROUP = "projectcalico.org"
# The same kinds as CRDs, when Calico runs without its API server.
CRD_GROUP = "crd.projectcalico.org"
GROUPS = (GROUP, CRD_GROUP)
DEFAULT_TIER = "default"
# The default tier's fixed order ("Get started with policy tiers": 1,000,000).
DEFAULT_TIER_ORDER = 1_000_000.0
# Calico places Kubernetes NetworkPolicies in the default tier with order 1000.
KUBERNETES_POLICY_ORDER = 1000.0
# Calico labels a namespace with its name under this key, and a ServiceAccount too.
NAME_LABEL = "projectcalico.org/name"

NETWORK_POLICY = "NetworkPolicy"
GLOBAL_NETWORK_POLICY = "GlobalNetworkPolicy"
STAGED_NETWORK_POLICY = "StagedNetworkPolicy"
STAGED_GLOBAL_NETWORK_POLICY = "StagedGlobalNetworkPolicy"
POLICY_KINDS = frozenset(
    {NETWORK_POLICY, GLOBAL_NETWORK_POLICY, STAGED_NETWORK_POLICY, STAGED_GLOBAL_NETWORK_POLICY}
)
GLOBAL_KINDS = frozenset({GLOBAL_NETWORK_POLICY, STAGED_GLOBAL_NETWORK_POLICY})
STAGED_KINDS = frozenset({STAGED_NETWORK_POLICY, STAGED_GLOBAL_NETWORK_POLICY})


def policy_ref_kind(kind: str) -> str:
    """How refs name a Calico policy kind: with its group, since a Calico NetworkPolicy is
    not a Kubernetes one."""
    return f"{kind}.{GROUP}"


# Protocols by name (the Rule section); a number 1-255 is accepted too.
_PROTOCOL_NAMES = {p.upper(): p for p in ("TCP", "UDP", "ICMP", "ICMPv6", "SCTP", "UDPLite")}
# Protocols with ports (a rule with ports needs one of them).
PORT_PROTOCOLS = frozenset({"TCP", "UDP", "SCTP", "UDPLite"})


class Action(enum.StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"
    PASS = "Pass"
    LOG = "Log"


@dataclass(frozen=True, slots=True)
class PortMatch:
    """A port number, a range (first <= x <= last), or a named port (`name`)."""

    first: int = 0
    last: int = 0
    name: str | None = None

    def __str__(self) -> str:
        if self.name is not None:
            return self.name
        return str(self.first) if self.first == self.last else f"{self.first}:{self.last}"


@dataclass(frozen=True, slots=True)
class EntityRule:
    """A rule's source or destination. Absent fields match everything."""

    nets: tuple[str, ...] = ()
    not_nets: tuple[str, ...] = ()
    selector: Selector | None = None
    not_selector: Selector | None = None
    namespace_selector: Selector | None = None
    ports: tuple[PortMatch, ...] = ()
    not_ports: tuple[PortMatch, ...] = ()
    service_account_names: tuple[str, ...] = ()
    service_account_selector: Selector | None = None
    service: tuple[str, str] | None = None  # (namespace, name)

    @property
    def selects_endpoints(self) -> bool:
        """Does it restrict which endpoints match (beyond addresses and ports)?"""
        return (
            self.selector is not None
            or self.namespace_selector is not None
            or bool(self.service_account_names)
            or self.service_account_selector is not None
            or self.service is not None
        )


@dataclass(frozen=True, slots=True)
class CalicoRule:
    direction: str  # Ingress or Egress
    index: int
    action: Action
    protocol: str | None = None
    not_protocol: str | None = None
    ip_version: int | None = None
    source: EntityRule = EntityRule()
    destination: EntityRule = EntityRule()
    icmp: bool = False  # icmp / notICMP criteria (not evaluated: ICMP is not asked about)
    http: bool = False  # application layer match (approximated)


@dataclass(frozen=True, slots=True)
class CalicoPolicy:
    kind: str  # NetworkPolicy, GlobalNetworkPolicy, StagedNetworkPolicy, StagedGlobalNetworkPolicy
    namespace: str  # '' for the global kinds
    name: str
    tier: str
    order: float | None
    selector: Selector
    namespace_selector: Selector | None  # GlobalNetworkPolicy only
    service_account_selector: Selector
    types: frozenset[str]
    ingress: tuple[CalicoRule, ...]
    egress: tuple[CalicoRule, ...]
    do_not_track: bool = False
    pre_dnat: bool = False
    apply_on_forward: bool = False
    labels: Labels = EMPTY_LABELS
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(policy_ref_kind(self.kind), self.namespace, self.name)

    @property
    def is_global(self) -> bool:
        return self.kind in GLOBAL_KINDS

    @property
    def staged(self) -> bool:
        return self.kind in STAGED_KINDS

    @property
    def host_only(self) -> bool:
        """doNotTrack and preDNAT policies apply to host endpoints alone."""
        return self.do_not_track or self.pre_dnat

    @property
    def enforced(self) -> bool:
        """Does it act on pod traffic as kaudit evaluates it?"""
        return not self.staged and not self.host_only

    @property
    def approximations(self) -> tuple[str, ...]:
        notes: list[str] = []
        if self.staged:
            notes.append("staged: reported, not enforced (Calico does not enforce staged policies)")
        if self.do_not_track:
            notes.append("doNotTrack: applies to host endpoints only, not evaluated")
        if self.pre_dnat:
            notes.append("preDNAT: applies to host endpoints only, not evaluated")
        if self.apply_on_forward and not self.host_only:
            notes.append("applyOnForward: forwarded host-endpoint traffic is not evaluated")
        for rule in self.ingress + self.egress:
            where = f"spec.{rule.direction.lower()}[{rule.index}]"
            if rule.http:
                notes.append(f"{where}.http: application layer match approximated at L4")
            if rule.icmp:
                notes.append(f"{where}: ICMP criteria are not evaluated")
            if rule.source.ports or rule.source.not_ports:
                notes.append(
                    f"{where}.source: source ports are not evaluated; the rule is left out"
                )
            for side, entity in (("source", rule.source), ("destination", rule.destination)):
                if entity.service is not None:
                    notes.append(
                        f"{where}.{side}.services: Service matches are not evaluated; "
                        "they match nothing here"
                    )
                if any(p.name is not None for p in entity.not_ports):
                    notes.append(f"{where}.{side}.notPorts: named ports there are not evaluated")
        return tuple(notes)

    @classmethod
    def from_wire(
        cls,
        policy: wire_cni.CalicoPolicy,
        origin: Origin = LIVE,
        default_namespace: str = "default",
        *,
        kind: str = NETWORK_POLICY,
    ) -> CalicoPolicy:
        is_global = kind in GLOBAL_KINDS
        meta = Meta.from_wire(policy.metadata, "" if is_global else default_namespace)
        spec = policy.spec or wire_cni.CalicoPolicySpec()
        ingress = tuple(
            _rule(r, "Ingress", i, f"spec.ingress[{i}]") for i, r in enumerate(spec.ingress or ())
        )
        egress = tuple(
            _rule(r, "Egress", i, f"spec.egress[{i}]") for i, r in enumerate(spec.egress or ())
        )
        if spec.types:
            unknown = sorted(set(spec.types) - {"Ingress", "Egress"})
            if unknown:
                raise ValueError(f"spec.types: {unknown[0]!r} is not Ingress or Egress")
            types = frozenset(spec.types)
        elif egress and not ingress:
            types = frozenset({"Egress"})
        elif egress:
            types = frozenset({"Ingress", "Egress"})
        else:
            types = frozenset({"Ingress"})
        if spec.namespace_selector is not None and not is_global:
            raise ValueError("spec.namespaceSelector: only global policies have one")
        if (spec.do_not_track or spec.pre_dnat or spec.apply_on_forward) and not is_global:
            raise ValueError("doNotTrack, preDNAT and applyOnForward are for global policies only")
        return cls(
            kind=kind,
            namespace=meta.namespace if not is_global else "",
            name=meta.name,
            tier=spec.tier or DEFAULT_TIER,
            order=spec.order,
            selector=parse_selector(spec.selector, "spec.selector"),
            namespace_selector=parse_selector(spec.namespace_selector, "spec.namespaceSelector")
            if spec.namespace_selector
            else None,
            service_account_selector=parse_selector(
                spec.service_account_selector, "spec.serviceAccountSelector"
            ),
            types=types,
            ingress=ingress,
            egress=egress,
            do_not_track=bool(spec.do_not_track),
            pre_dnat=bool(spec.pre_dnat),
            apply_on_forward=bool(spec.apply_on_forward),
            labels=meta.labels,
            origin=origin,
        )

    @classmethod
    def from_raw(
        cls,
        raw: Raw,
        origin: Origin = LIVE,
        default_namespace: str = "default",
        *,
        kind: str = NETWORK_POLICY,
    ) -> CalicoPolicy:
        return cls.from_wire(
            wire.from_mapping(raw, wire_cni.CalicoPolicy), origin, default_namespace, kind=kind
        )


@dataclass(frozen=True, slots=True)
class NetworkSet:
    """A NetworkSet (namespaced) or GlobalNetworkSet (`namespace` ''): labelled CIDRs
    that rule selectors select like endpoints."""

    namespace: str
    name: str
    labels: Labels
    nets: tuple[str, ...]
    origin: Origin = LIVE

    @property
    def is_global(self) -> bool:
        return not self.namespace

    @property
    def ref(self) -> ObjectRef:
        kind = "GlobalNetworkSet" if self.is_global else "NetworkSet"
        return ObjectRef(kind, self.namespace, self.name)

    @classmethod
    def from_wire(
        cls,
        network_set: wire_cni.CalicoNetworkSet,
        origin: Origin = LIVE,
        default_namespace: str = "default",
        *,
        is_global: bool = False,
    ) -> NetworkSet:
        meta = Meta.from_wire(network_set.metadata, "" if is_global else default_namespace)
        nets = (network_set.spec.nets if network_set.spec else None) or ()
        return cls(
            namespace="" if is_global else meta.namespace,
            name=meta.name,
            labels=meta.labels,
            nets=tuple(_net(n, f"spec.nets[{i}]") for i, n in enumerate(nets)),
            origin=origin,
        )

    @classmethod
    def from_raw(
        cls,
        raw: Raw,
        origin: Origin = LIVE,
        default_namespace: str = "default",
        *,
        is_global: bool = False,
    ) -> NetworkSet:
        return cls.from_wire(
            wire.from_mapping(raw, wire_cni.CalicoNetworkSet),
            origin,
            default_namespace,
            is_global=is_global,
        )

    @classmethod
    def global_from_wire(
        cls, network_set: wire_cni.CalicoNetworkSet, origin: Origin = LIVE
    ) -> NetworkSet:
        return cls.from_wire(network_set, origin, is_global=True)


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    order: float | None  # None: after every tier with an order
    default_action: Action  # Deny (the end-of-tier deny) or Pass
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Tier", "", self.name)

    @property
    def sort_key(self) -> tuple[float, str]:
        return (self.order if self.order is not None else float("inf"), self.name)

    @classmethod
    def from_wire(cls, tier: wire_cni.CalicoTier, origin: Origin = LIVE) -> Tier:
        meta = Meta.from_wire(tier.metadata)
        spec = tier.spec or wire_cni.CalicoTierSpec()
        action = spec.default_action or "Deny"
        if action not in ("Deny", "Pass"):
            raise ValueError(f"spec.defaultAction: {action!r} is not Deny or Pass")
        order = spec.order
        if meta.name == DEFAULT_TIER:
            order = DEFAULT_TIER_ORDER  # fixed, whatever the object says
        return cls(meta.name, order, Action(action), origin)

    @classmethod
    def from_raw(cls, raw: Raw, origin: Origin = LIVE) -> Tier:
        return cls.from_wire(wire.from_mapping(raw, wire_cni.CalicoTier), origin)


DEFAULT_TIER_OBJECT = Tier(DEFAULT_TIER, DEFAULT_TIER_ORDER, Action.DENY)


def _rule(raw: wire_cni.CalicoRule, direction: str, index: int, field: str) -> CalicoRule:
    if raw.action is None:
        raise ValueError(f"{field}.action: required (Allow, Deny, Pass or Log)")
    try:
        action = Action(raw.action)
    except ValueError:
        raise ValueError(
            f"{field}.action: {raw.action!r} is not Allow, Deny, Pass or Log"
        ) from None
    protocol = _protocol(raw.protocol, f"{field}.protocol")
    not_protocol = _protocol(raw.not_protocol, f"{field}.notProtocol")
    if raw.ip_version is not None and raw.ip_version not in (4, 6):
        raise ValueError(f"{field}.ipVersion: {raw.ip_version} is not 4 or 6")
    source = _entity(raw.source, f"{field}.source")
    destination = _entity(raw.destination, f"{field}.destination")
    for side, entity in (("source", source), ("destination", destination)):
        if (entity.ports or entity.not_ports) and protocol not in PORT_PROTOCOLS:
            raise ValueError(f"{field}.{side}: ports need protocol TCP, UDP, SCTP or UDPLite")
    return CalicoRule(
        direction=direction,
        index=index,
        action=action,
        protocol=protocol,
        not_protocol=not_protocol,
        ip_version=raw.ip_version,
        source=source,
        destination=destination,
        icmp=raw.icmp is not None or raw.not_icmp is not None,
        http=raw.http is not None,
    )


def _protocol(value: int | str | None, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{field}: {value!r} is not a protocol")
    if isinstance(value, int) or value.isdigit():
        number = int(value)
        if not 1 <= number <= 255:
            raise ValueError(f"{field}: {value!r} is not a protocol number (1-255)")
        return {6: "TCP", 17: "UDP", 132: "SCTP", 1: "ICMP", 58: "ICMPv6", 136: "UDPLite"}.get(
            number, str(number)
        )
    name = _PROTOCOL_NAMES.get(value.upper())
    if name is None:
        raise ValueError(
            f"{field}: {value!r} is not TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255"
        )
    return name


def _entity(raw: wire_cni.CalicoEntityRule | None, field: str) -> EntityRule:
    if raw is None:
        return EntityRule()
    accounts = raw.service_accounts
    service = raw.services
    if service is not None and not service.name:
        raise ValueError(f"{field}.services.name: required")
    return EntityRule(
        nets=tuple(_net(n, f"{field}.nets[{i}]") for i, n in enumerate(raw.nets or ())),
        not_nets=tuple(_net(n, f"{field}.notNets[{i}]") for i, n in enumerate(raw.not_nets or ())),
        selector=parse_selector(raw.selector, f"{field}.selector") if raw.selector else None,
        not_selector=parse_selector(raw.not_selector, f"{field}.notSelector")
        if raw.not_selector
        else None,
        namespace_selector=parse_selector(raw.namespace_selector, f"{field}.namespaceSelector")
        if raw.namespace_selector
        else None,
        ports=tuple(_port(p, f"{field}.ports[{i}]") for i, p in enumerate(raw.ports or ())),
        not_ports=tuple(
            _port(p, f"{field}.notPorts[{i}]") for i, p in enumerate(raw.not_ports or ())
        ),
        service_account_names=tuple(accounts.names or ()) if accounts else (),
        service_account_selector=parse_selector(
            accounts.selector, f"{field}.serviceAccounts.selector"
        )
        if accounts and accounts.selector
        else None,
        service=(service.namespace or "", service.name or "") if service else None,
    )


def _net(value: str, field: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not a CIDR") from None


def _port(value: int | str, field: str) -> PortMatch:
    """80, "6040:6050" or "named-port" (the Ports section)."""
    if isinstance(value, bool):
        raise ValueError(f"{field}: {value!r} is not a port")
    if isinstance(value, int):
        return PortMatch(_number(value, field), _number(value, field))
    if ":" in value:
        first, _, last = value.partition(":")
        if not (first.isdigit() and last.isdigit()):
            raise ValueError(f"{field}: {value!r} is not a port range first:last")
        low, high = _number(int(first), field), _number(int(last), field)
        if low > high:
            raise ValueError(f"{field}: {value!r} starts above its end")
        return PortMatch(low, high)
    if value.isdigit():
        number = _number(int(value), field)
        return PortMatch(number, number)
    if not is_port_name(value):
        raise ValueError(f"{field}: {value!r} is not a port, a range or a port name")
    return PortMatch(name=value)


def _number(value: int, field: str) -> int:
    if not 0 <= value <= 65535:
        raise ValueError(f"{field}: {value} is not a port number (0-65535)")
    return value
