"""Cilium's policy kinds: CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy (cilium.io/v2).

Read from the CRDs and Go types of github.com/cilium/cilium v1.20.2
(pkg/k8s/apis/cilium.io/client/crds/v2, pkg/policy/api) and the policy pages of
the Cilium documentation (docs.cilium.io/en/stable/security/policy/: intro,
language/layer3, layer4, deny, kubernetes).

Selectors. Cilium matches endpoint selectors against an endpoint's labels: the
pod's own labels plus `io.kubernetes.pod.namespace`, the namespace's labels as
`io.cilium.k8s.namespace.labels.<key>`, and `io.cilium.k8s.policy.serviceaccount`
(`endpoint_labels`). Keys may carry a source prefix (`k8s:`, `any:`), which is
dropped here; `reserved:` keys name entities, never pods. Scoping
(pkg/k8s/apis/cilium.io/utils, "Using Kubernetes Constructs In Policy"):

- a CiliumNetworkPolicy's endpointSelector selects pods of the policy's own
  namespace only; a clusterwide policy's selects in every namespace;
- in a CiliumNetworkPolicy, a fromEndpoints/toEndpoints selector that names
  neither `io.kubernetes.pod.namespace` nor a namespace label is limited to the
  policy's own namespace; a clusterwide policy's peers match pods of any
  namespace.

Peers. A rule without any peer field (fromEndpoints, fromCIDR, fromEntities, ...)
but with toPorts or icmps applies to every peer; a rule with nothing, `{}`, allows
nothing (it only makes the endpoint default-deny, as the documentation's
"empire-default-deny" example does); an empty list (`fromEndpoints: []`) selects
nothing.

What cannot be decided offline is kept and said (`CiliumPolicy.approximations`):
L7 rules (http, dns, kafka, listeners, TLS, server names) admit at L4, as the
documentation's layer-7 page says the L4 part is enforced first; toFQDNs (DNS
answers are not known offline), fromGroups/toGroups and CIDR groups, node
(host) policies selected by nodeSelector, fromNodes/toNodes, ICMP rules and
mutual authentication are not evaluated.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from frozendict import frozendict

from kaudit.model import wire, wire_cni
from kaudit.model.meta import (
    LIVE,
    Labels,
    LabelSelector,
    Meta,
    ObjectRef,
    Origin,
    Raw,
    Requirement,
    frozen_map,
    port_name,
)

POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace"
NAMESPACE_LABELS_PREFIX = "io.cilium.k8s.namespace.labels."
SERVICE_ACCOUNT_LABEL = "io.cilium.k8s.policy.serviceaccount"
CLUSTER_LABEL = "io.cilium.k8s.policy.cluster"
DEFAULT_CLUSTER = "default"
_SOURCE_PREFIXES = ("k8s:", "any:")
RESERVED_PREFIX = "reserved:"

NAMESPACED_KIND = "CiliumNetworkPolicy"
CLUSTERWIDE_KIND = "CiliumClusterwideNetworkPolicy"


class Entity(enum.StrEnum):
    """The entities of pkg/policy/api/entity.go."""

    ALL = "all"
    WORLD = "world"
    WORLD_IPV4 = "world-ipv4"
    WORLD_IPV6 = "world-ipv6"
    CLUSTER = "cluster"
    CLUSTER_MESH = "cluster-mesh"
    HOST = "host"
    REMOTE_NODE = "remote-node"
    KUBE_APISERVER = "kube-apiserver"
    INGRESS = "ingress"
    INIT = "init"
    HEALTH = "health"
    UNMANAGED = "unmanaged"
    NONE = "none"


# Entities that hold every pod of the cluster ("cluster is the logical group of all
# network endpoints inside of the local cluster", layer3 page; "all" is everything).
POD_ENTITIES = frozenset({Entity.ALL, Entity.CLUSTER, Entity.CLUSTER_MESH})
# Entities that hold addresses outside the cluster.
WORLD_ENTITIES = frozenset({Entity.ALL, Entity.WORLD, Entity.WORLD_IPV4, Entity.WORLD_IPV6})

# Protocols of PortProtocol (the CRD's enum); "" and ANY mean TCP, UDP and SCTP.
PROTOCOLS = frozenset(
    {"TCP", "UDP", "SCTP", "VRRP", "IGMP", "GRE", "IPIP", "IPV6", "ESP", "AH", "ANY"}
)


def endpoint_labels(
    pod_labels: Labels, namespace: str, namespace_labels: Labels, service_account: str
) -> Labels:
    """The labels Cilium gives a pod's endpoint, which its selectors match."""
    labels = dict(pod_labels)
    labels.update({NAMESPACE_LABELS_PREFIX + k: v for k, v in namespace_labels.items()})
    labels[POD_NAMESPACE_LABEL] = namespace
    labels[SERVICE_ACCOUNT_LABEL] = service_account
    labels[CLUSTER_LABEL] = DEFAULT_CLUSTER
    return frozendict(labels)


def _plain_key(key: str) -> str:
    for prefix in _SOURCE_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


@dataclass(frozen=True, slots=True)
class EndpointSelector:
    """A Cilium endpoint selector, with the namespace scope Cilium adds to it.

    `selector` has its keys without source prefix; `namespace` limits it to one
    namespace (None: any); `reserved` lists the `reserved:` labels it names (it then
    selects entities such as the host, never a pod).
    """

    selector: LabelSelector
    namespace: str | None = None
    reserved: tuple[str, ...] = ()

    def matches_pod(self, labels: Labels, namespace: str) -> bool:
        """`labels` are the endpoint's labels (`endpoint_labels`)."""
        if self.reserved:
            return False
        if self.namespace is not None and namespace != self.namespace:
            return False
        return self.selector.matches(labels)

    def describe(self) -> str:
        text = self.selector.describe()
        if self.reserved:
            return "reserved:" + ",".join(self.reserved)
        return f"{text} in {self.namespace}" if self.namespace is not None else text

    @classmethod
    def build(
        cls, raw: wire.LabelSelector | None, field: str, scope: str | None, *, subject: bool
    ) -> EndpointSelector:
        """`scope` is the policy's namespace ('' for a clusterwide policy)."""
        selector = LabelSelector.from_wire(raw) if raw is not None else LabelSelector()
        reserved = tuple(
            sorted(
                k.removeprefix(RESERVED_PREFIX)
                for k in [*selector.match_labels, *(r.key for r in selector.match_expressions)]
                if k.startswith(RESERVED_PREFIX)
            )
        )
        plain = LabelSelector(
            frozen_map({_plain_key(k): v for k, v in selector.match_labels.items()}),
            tuple(
                Requirement(_plain_key(r.key), r.operator, r.values)
                for r in selector.match_expressions
            ),
        )
        for requirement in plain.match_expressions:
            if requirement.operator in ("In", "NotIn") and not requirement.values:
                raise ValueError(f"{field}: {requirement.operator} needs values")
        keys = {*plain.match_labels, *(r.key for r in plain.match_expressions)}
        if not scope:  # clusterwide: any namespace
            return cls(plain, None, reserved)
        if subject:
            # The endpointSelector always applies in the policy's own namespace; a
            # namespace match in it is replaced by Cilium (utils.ParseToCiliumRule).
            kept = LabelSelector(
                frozen_map(
                    {k: v for k, v in plain.match_labels.items() if k != POD_NAMESPACE_LABEL}
                ),
                tuple(r for r in plain.match_expressions if r.key != POD_NAMESPACE_LABEL),
            )
            return cls(kept, scope, reserved)
        names_namespace = POD_NAMESPACE_LABEL in keys or any(
            k.startswith(NAMESPACE_LABELS_PREFIX) for k in keys
        )
        return cls(plain, None if names_namespace else scope, reserved)


@dataclass(frozen=True, slots=True)
class PortProtocol:
    """One toPorts port: `port` None means every port; a string is a named port."""

    port: int | str | None
    end_port: int | None
    protocol: str  # TCP, UDP, SCTP, ANY (TCP, UDP and SCTP) or another IP protocol

    def describe(self) -> str:
        port = "any port" if self.port is None else str(self.port)
        if self.end_port is not None and isinstance(self.port, int):
            port = f"{self.port}-{self.end_port}"
        return f"{port}/{self.protocol}"


@dataclass(frozen=True, slots=True)
class PortRule:
    ports: tuple[PortProtocol, ...]  # empty: every port
    l7: tuple[str, ...] = ()  # the L7 parts present (http, dns, kafka, ...), approximated


@dataclass(frozen=True, slots=True)
class CIDRRule:
    cidr: str
    except_: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceRef:
    """toServices: a Service by name, or Services by label selector, in `namespace`."""

    namespace: str
    name: str | None = None
    selector: LabelSelector | None = None


@dataclass(frozen=True, slots=True)
class CiliumPolicyRule:
    """One entry of ingress, ingressDeny, egress or egressDeny."""

    section: str  # ingress, ingressDeny, egress, egressDeny
    index: int
    endpoints: tuple[EndpointSelector, ...] | None  # None: the field is absent
    entities: tuple[Entity, ...] = ()
    cidrs: tuple[CIDRRule, ...] = ()
    services: tuple[ServiceRef, ...] = ()
    fqdns: tuple[str, ...] = ()
    ports: tuple[PortRule, ...] = ()
    # Parts kept but not evaluated (see the module docstring).
    skipped: tuple[str, ...] = ()
    has_peer_fields: bool = False  # any L3 field given (even one not evaluated)
    has_icmp: bool = False

    @property
    def ingress(self) -> bool:
        return self.section.startswith("ingress")

    @property
    def deny(self) -> bool:
        return self.section.endswith("Deny")

    @property
    def all_peers(self) -> bool:
        """No peer field but ports or ICMP: the rule applies to every peer."""
        return not self.has_peer_fields and bool(self.ports or self.has_icmp)

    @property
    def matches_nothing(self) -> bool:
        """`{}`: no peer and no port field, so no traffic."""
        return not self.has_peer_fields and not self.ports and not self.has_icmp


@dataclass(frozen=True, slots=True)
class CiliumSpec:
    """One rule of the policy (`spec`, or one of `specs`)."""

    field: str  # "spec" or "specs[i]"
    subject: EndpointSelector | None  # None for a host policy (nodeSelector)
    ingress: tuple[CiliumPolicyRule, ...]
    egress: tuple[CiliumPolicyRule, ...]
    default_deny_ingress: bool
    default_deny_egress: bool

    @property
    def rules(self) -> tuple[CiliumPolicyRule, ...]:
        return self.ingress + self.egress


@dataclass(frozen=True, slots=True)
class CiliumPolicy:
    kind: str  # CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy
    namespace: str  # '' for a clusterwide policy
    name: str
    labels: Labels
    specs: tuple[CiliumSpec, ...]
    approximations: tuple[str, ...]  # what could only be approximated or was skipped, and how
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef(self.kind, self.namespace, self.name)

    @property
    def clusterwide(self) -> bool:
        return self.kind == CLUSTERWIDE_KIND

    @classmethod
    def from_wire(
        cls,
        policy: wire_cni.CiliumNetworkPolicy,
        origin: Origin = LIVE,
        default_namespace: str = "default",
        *,
        clusterwide: bool = False,
    ) -> CiliumPolicy:
        meta = Meta.from_wire(policy.metadata, "" if clusterwide else default_namespace)
        scope = "" if clusterwide else meta.namespace
        raw_specs: list[tuple[str, wire_cni.CiliumRule]] = []
        if policy.spec is not None:
            raw_specs.append(("spec", policy.spec))
        raw_specs += [(f"specs[{i}]", s) for i, s in enumerate(policy.specs or ())]
        notes: list[str] = []
        specs = tuple(_spec(field, raw, scope, notes) for field, raw in raw_specs)
        return cls(
            kind=CLUSTERWIDE_KIND if clusterwide else NAMESPACED_KIND,
            namespace=scope,
            name=meta.name,
            labels=meta.labels,
            specs=specs,
            approximations=tuple(notes),
            origin=origin,
        )

    @classmethod
    def from_raw(
        cls,
        raw: Raw,
        origin: Origin = LIVE,
        default_namespace: str = "default",
        *,
        clusterwide: bool = False,
    ) -> CiliumPolicy:
        return cls.from_wire(
            wire.from_mapping(raw, wire_cni.CiliumNetworkPolicy),
            origin,
            default_namespace,
            clusterwide=clusterwide,
        )

    @classmethod
    def clusterwide_from_wire(
        cls, policy: wire_cni.CiliumNetworkPolicy, origin: Origin = LIVE
    ) -> CiliumPolicy:
        return cls.from_wire(policy, origin, clusterwide=True)


def _spec(field: str, raw: wire_cni.CiliumRule, scope: str, notes: list[str]) -> CiliumSpec:
    if raw.endpoint_selector is not None and raw.node_selector is not None:
        raise ValueError(f"{field}: endpointSelector and nodeSelector are mutually exclusive")
    if raw.endpoint_selector is None and raw.node_selector is None:
        raise ValueError(f"{field}: one of endpointSelector and nodeSelector is required")
    subject = None
    if raw.endpoint_selector is not None:
        subject = EndpointSelector.build(
            raw.endpoint_selector, f"{field}.endpointSelector", scope, subject=True
        )
    else:
        notes.append(f"{field}.nodeSelector: a host (node) policy, not evaluated")
    sections = {
        "ingress": raw.ingress,
        "ingressDeny": raw.ingress_deny,
        "egress": raw.egress,
        "egressDeny": raw.egress_deny,
    }
    built = {
        name: tuple(
            _rule(f"{field}.{name}[{i}]", name, i, entry, scope, notes)
            for i, entry in enumerate(entries or ())
        )
        for name, entries in sections.items()
    }
    # enableDefaultDeny: when unset, on for each direction that has rules (rule.go).
    defaults = raw.enable_default_deny or wire_cni.CiliumDefaultDeny()
    has_ingress = raw.ingress is not None or raw.ingress_deny is not None
    has_egress = raw.egress is not None or raw.egress_deny is not None
    return CiliumSpec(
        field=field,
        subject=subject,
        ingress=built["ingressDeny"] + built["ingress"],
        egress=built["egressDeny"] + built["egress"],
        default_deny_ingress=has_ingress if defaults.ingress is None else defaults.ingress,
        default_deny_egress=has_egress if defaults.egress is None else defaults.egress,
    )


def _rule(
    field: str,
    section: str,
    index: int,
    raw: wire_cni.CiliumPolicyRule,
    scope: str,
    notes: list[str],
) -> CiliumPolicyRule:
    ingress = section.startswith("ingress")
    wrong_side = (
        (
            (raw.to_endpoints, "toEndpoints"),
            (raw.to_cidr, "toCIDR"),
            (raw.to_cidr_set, "toCIDRSet"),
            (raw.to_entities, "toEntities"),
            (raw.to_services, "toServices"),
            (raw.to_fqdns, "toFQDNs"),
            (raw.to_nodes, "toNodes"),
            (raw.to_groups, "toGroups"),
        )
        if ingress
        else (
            (raw.from_endpoints, "fromEndpoints"),
            (raw.from_cidr, "fromCIDR"),
            (raw.from_cidr_set, "fromCIDRSet"),
            (raw.from_entities, "fromEntities"),
            (raw.from_nodes, "fromNodes"),
            (raw.from_groups, "fromGroups"),
        )
    )
    for value, name in wrong_side:
        if value is not None:
            raise ValueError(f"{field}: {name} is not a field of {section} rules")
    prefix = "from" if ingress else "to"
    endpoints_raw = raw.from_endpoints if ingress else raw.to_endpoints
    cidr_raw = raw.from_cidr if ingress else raw.to_cidr
    cidr_set_raw = raw.from_cidr_set if ingress else raw.to_cidr_set
    entities_raw = raw.from_entities if ingress else raw.to_entities
    nodes_raw = raw.from_nodes if ingress else raw.to_nodes
    groups_raw = raw.from_groups if ingress else raw.to_groups
    requires_raw = raw.from_requires if ingress else raw.to_requires
    if requires_raw:
        raise ValueError(f"{field}.{prefix}Requires: no longer supported (the CRD allows none)")
    endpoints = (
        tuple(
            EndpointSelector.build(s, f"{field}.{prefix}Endpoints[{i}]", scope, subject=False)
            for i, s in enumerate(endpoints_raw)
        )
        if endpoints_raw is not None
        else None
    )
    entities = []
    for i, name in enumerate(entities_raw or ()):
        try:
            entities.append(Entity(name))
        except ValueError:
            raise ValueError(f"{field}.{prefix}Entities[{i}]: unknown entity {name!r}") from None
    cidrs = [CIDRRule(_cidr(c, f"{field}.{prefix}CIDR[{i}]")) for i, c in enumerate(cidr_raw or ())]
    skipped: list[str] = []
    for i, rule in enumerate(cidr_set_raw or ()):
        where = f"{field}.{prefix}CIDRSet[{i}]"
        if rule.cidr is None:
            if rule.cidr_group_ref is None and rule.cidr_group_selector is None:
                raise ValueError(
                    f"{where}: one of cidr, cidrGroupRef, cidrGroupSelector is required"
                )
            skipped.append(
                f"{where}: CIDR groups are not evaluated (the rule matches none of them)"
            )
            continue
        cidrs.append(
            CIDRRule(
                _cidr(rule.cidr, f"{where}.cidr"),
                tuple(_cidr(e, f"{where}.except[{j}]") for j, e in enumerate(rule.except_ or ())),
            )
        )
    services = tuple(
        _service(s, f"{field}.toServices[{i}]", scope) for i, s in enumerate(raw.to_services or ())
    )
    fqdns = tuple(
        f.match_name or f.match_pattern or "" for f in (raw.to_fqdns or ()) if not ingress
    )
    if fqdns:
        skipped.append(
            f"{field}.toFQDNs: DNS names ({', '.join(fqdns)}) cannot be resolved offline; "
            "the rule matches no address here"
        )
    if nodes_raw is not None:
        skipped.append(f"{field}.{prefix}Nodes: node selectors are not evaluated")
    if groups_raw is not None:
        skipped.append(f"{field}.{prefix}Groups: cloud provider groups are not evaluated")
    if raw.icmps:
        skipped.append(f"{field}.icmps: ICMP rules are not evaluated")
    if raw.authentication:
        skipped.append(
            f"{field}.authentication: mutual authentication is not evaluated "
            "(the rule is taken as allowing without it)"
        )
    ports = tuple(
        _port_rule(p, f"{field}.toPorts[{i}]", skipped) for i, p in enumerate(raw.to_ports or ())
    )
    notes.extend(skipped)
    has_peer_fields = any(
        value is not None
        for value in (
            endpoints_raw,
            cidr_raw,
            cidr_set_raw,
            entities_raw,
            nodes_raw,
            groups_raw,
            None if ingress else raw.to_services,
            None if ingress else raw.to_fqdns,
        )
    )
    return CiliumPolicyRule(
        section=section,
        index=index,
        endpoints=endpoints,
        entities=tuple(entities),
        cidrs=tuple(cidrs),
        services=services,
        fqdns=fqdns,
        ports=ports,
        skipped=tuple(skipped),
        has_peer_fields=has_peer_fields,
        has_icmp=bool(raw.icmps),
    )


def _cidr(value: str, field: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not a CIDR") from None


def _service(raw: wire_cni.CiliumService, field: str, scope: str) -> ServiceRef:
    if raw.k8s_service is not None:
        name = raw.k8s_service.service_name
        if not name:
            raise ValueError(f"{field}.k8sService: serviceName is required")
        return ServiceRef(raw.k8s_service.namespace or scope or "default", name=name)
    if raw.k8s_service_selector is not None:
        return ServiceRef(
            raw.k8s_service_selector.namespace or scope or "default",
            selector=LabelSelector.from_wire(raw.k8s_service_selector.selector),
        )
    raise ValueError(f"{field}: one of k8sService and k8sServiceSelector is required")


def _port_rule(raw: wire_cni.CiliumPortRule, field: str, skipped: list[str]) -> PortRule:
    ports = tuple(_port(p, f"{field}.ports[{i}]") for i, p in enumerate(raw.ports or ()))
    l7: list[str] = []
    rules = raw.rules
    if rules is not None:
        l7 += [
            name
            for name, value in (
                ("http", rules.http),
                ("dns", rules.dns),
                ("kafka", rules.kafka),
                ("l7", rules.l7),
            )
            if value is not None
        ]
        if rules.l7proto:
            l7.append(f"l7proto {rules.l7proto}")
    for name, value in (
        ("listener", raw.listener),
        ("serverNames", raw.server_names),
        ("terminatingTLS", raw.terminating_tls),
        ("originatingTLS", raw.originating_tls),
    ):
        if value is not None:
            l7.append(name)
    if l7:
        skipped.append(
            f"{field}: L7 parts ({', '.join(l7)}) are approximated: the rule admits at L4 "
            "every request its ports allow"
        )
    return PortRule(ports, tuple(l7))


def _port(raw: wire_cni.CiliumPortProtocol, field: str) -> PortProtocol:
    protocol = (raw.protocol or "ANY").upper()
    if protocol not in PROTOCOLS:
        raise ValueError(
            f"{field}.protocol: {raw.protocol!r} is not one of {', '.join(sorted(PROTOCOLS))}"
        )
    value = raw.port or ""
    port: int | str | None
    if value.isdigit():
        number = int(value)
        if number > 65535:
            raise ValueError(f"{field}.port: {value!r} is not a port number (0-65535)")
        port = number or None  # port 0 means every port
    elif value == "":
        port = None
    else:
        port = port_name(value.lower(), f"{field}.port")
    end_port = raw.end_port
    if end_port is not None:
        if not 0 <= end_port <= 65535:
            raise ValueError(f"{field}.endPort: {end_port} is not a port number (0-65535)")
        if not isinstance(port, int) or end_port == 0:
            end_port = None  # ignored with a named port or no port (layer4 page)
        elif end_port < port:
            raise ValueError(f"{field}.endPort: {end_port} is below port {port}")
    return PortProtocol(port, end_port, protocol)


def policy_kinds(policies: Sequence[CiliumPolicy]) -> Mapping[str, int]:
    """How many policies of each kind, for the cluster facts."""
    counts: dict[str, int] = {}
    for policy in policies:
        counts[policy.kind] = counts.get(policy.kind, 0) + 1
    return counts
