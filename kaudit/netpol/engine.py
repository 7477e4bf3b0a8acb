"""The NetworkPolicy engine's queries, over the compiled form (`kaudit.netpol.compile`).

`PolicyEngine(snapshot)` compiles the snapshot's policies once, then answers:
pair verdicts with their reasons (`check`), addresses and CIDRs outside the
cluster (`check_ip`, `metadata_access`), DNS (`dns_access`), isolation, the
pods a pod reaches or is reached by, open ingress, per-namespace reach, the
matrix for one port, and the reachability summary (`kaudit.netpol.summary`).

Semantics (see docs/netpol-semantics.md for the sources)
--------------------------------------------------------
- A pod is isolated for ingress (egress) when a policy of its namespace selects
  it and has Ingress (Egress) in policyTypes; policies are additive.
- A connection needs the source's egress AND the destination's ingress.
- A pod may always reach itself. Traffic from a pod's own node is allowed, which
  matters for hostNetwork sources.
- hostNetwork pods are outside NetworkPolicy: never isolated, and never matched
  by podSelector/namespaceSelector peers (the most common implementation, as the
  Kubernetes documentation describes); ipBlock peers match them by their IPs,
  which are their node's IPs.
- ipBlock peers match pods by status.podIP(s); pods without IPs (manifests) are
  never matched by an ipBlock. When pods have IPv4 and IPv6 addresses, a
  connection must be allowed on both sides within one IP family.
- Named ports resolve against the destination pod's container ports (same name
  and protocol); they never match an address outside the cluster.
- Terminated pods (Succeeded/Failed) take no part in reachability.

Every question walks the tiers in the compiled evaluation order (see
`kaudit.netpol.compile`): Admin (ClusterNetworkPolicy, AdminNetworkPolicy), then
NetworkPolicy, then Baseline (ClusterNetworkPolicy, BaselineAdminNetworkPolicy), then
the default allow; a verdict names the tier of its deciding policy rules.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from kaudit.kube import METADATA_ENDPOINTS
from kaudit.model import ObjectRef, Pod, Protocol, Snapshot
from kaudit.netpol.addresses import (
    AddressRange,
    Interval,
    parse_address,
    parse_range,
    size,
)
from kaudit.netpol.bits import has, iter_bits
from kaudit.netpol.classes import PROTOCOLS, Family, PodClass
from kaudit.netpol.compile import Action, CompiledPolicies, compile_policies
from kaudit.netpol.outside import class_open, egress_to_range, isolating_policies
from kaudit.netpol.relation import Relation, ports_match, relation
from kaudit.netpol.summary import ReachabilitySummary, build_summary
from kaudit.netpol.verdict import (
    NETWORK_POLICY_TIER,
    Coverage,
    Direction,
    DnsAccess,
    Isolation,
    PolicyRuleRef,
    Reason,
    SideVerdict,
    Verdict,
)

__all__ = ["PROTOCOLS", "NamespaceReach", "PolicyEngine"]


@dataclass(frozen=True, slots=True)
class NamespaceReach:
    """The pods of one namespace that may reach a given pod, counted without listing them."""

    namespace: str
    pods: int
    whole: bool  # every pod-network pod of the namespace may reach it
    _members: tuple[Sequence[Pod], ...] = field(repr=False, compare=False)

    def members(self) -> Iterator[Pod]:
        """The reaching pods, class by class in the engine's (deterministic) order."""
        for group in self._members:
            yield from group


class PolicyEngine:
    """Evaluates every NetworkPolicy of a snapshot; build once per audit.

    Pods are passed as the snapshot's `Pod` objects (looked up by namespace/name; a
    pod the snapshot does not hold raises KeyError). Terminated pods take part in
    `isolation` but are denied everything else.
    """

    def __init__(self, snapshot: Snapshot, compiled: CompiledPolicies | None = None) -> None:
        """`compiled` is the snapshot's compiled form when the caller has it already."""
        self.snapshot = snapshot
        self._compiled = compiled if compiled is not None else compile_policies(snapshot)
        self._classes = self._compiled.classes
        self.warnings: list[str] = list(self._compiled.warnings)
        self.dns_pods: tuple[Pod, ...] = self._classes.dns_pods
        self.dns_stand_in: bool = self._classes.dns_stand_in
        # Answers are cached per engine: many audit rules ask the same questions.
        self._relations: dict[tuple[Protocol | None, int | None], Relation] = {}
        self._summary: ReachabilitySummary | None = None
        self._open_ingress: dict[int, bool] = {}  # class index -> answer of open_ingress
        self._open_egress: dict[int, bool] = {}
        self._pods_by_ip: dict[tuple[int, int], Pod] | None = None
        # (source class, destination class, own node, protocol, port number)
        self._pair_cache: dict[
            tuple[int, int, bool, Protocol, int | None], tuple[SideVerdict, SideVerdict]
        ] = {}
        # (source class, address range, port, protocol)
        self._address_cache: dict[
            tuple[int, AddressRange, int, Protocol], tuple[SideVerdict, tuple[Interval, ...]]
        ] = {}

    @property
    def compiled(self) -> CompiledPolicies:
        return self._compiled

    def relation(self, protocol: Protocol | None, port: int | None) -> Relation:
        """Class-level reachability on one port, or on any port (None), per protocol or
        any protocol (None); cached."""
        key = (protocol, port)
        cached = self._relations.get(key)
        if cached is None:
            cached = self._relations[key] = relation(self._compiled, protocol, port)
        return cached

    # --- lookups -----------------------------------------------------------------------

    def _class(self, pod: Pod) -> PodClass:
        cls = self._classes.class_of.get(pod.key)
        if cls is None:
            raise KeyError(f"pod {pod.key} is not in the snapshot")
        return cls

    @property
    def pods(self) -> tuple[Pod, ...]:
        """The pods taking part in reachability (not terminated), sorted by namespace/name."""
        return tuple(
            sorted((p for c in self._classes.classes for p in c.members), key=lambda p: p.key)
        )

    def pod(self, key: str) -> Pod | None:
        """A pod by "namespace/name" (terminated pods included), or None."""
        cls = self._classes.class_of.get(key)
        if cls is None:
            return None
        for pod in (*cls.members, *cls.inactive):
            if pod.key == key:
                return pod
        return None

    # --- isolation ---------------------------------------------------------------------

    def isolation(self, pod: Pod) -> Isolation:
        """Which policies select the pod for ingress and for egress (none: not isolated).

        hostNetwork pods are never isolated: NetworkPolicy does not apply to them, and
        admin policies' subjects never hold them.
        """
        index = self._class(pod).index
        return Isolation(
            pod=pod.ref,
            host_network=pod.host_network,
            ingress_policies=self._policy_refs(Direction.INGRESS, index),
            egress_policies=self._policy_refs(Direction.EGRESS, index),
            ingress_admin_policies=self._admin_refs(Direction.INGRESS, index),
            egress_admin_policies=self._admin_refs(Direction.EGRESS, index),
        )

    def _policy_refs(self, direction: Direction, class_index: int) -> tuple[ObjectRef, ...]:
        """The policies isolating a class for a direction, tier by tier."""
        return isolating_policies(self._compiled, direction, class_index)

    def _admin_refs(self, direction: Direction, class_index: int) -> tuple[ObjectRef, ...]:
        """The policies of tiers that decide what their rules match but isolate nothing
        (the admin and baseline policies), with rules for a class and direction, in order."""
        refs = self._compiled.policy_refs
        return tuple(
            refs[i]
            for tier in self._compiled.tiers
            if tier.name != NETWORK_POLICY_TIER
            and not has(tier.side(direction).isolated, class_index)
            for i in tier.side(direction).policies[class_index]
        )

    # --- pairs -------------------------------------------------------------------------

    def check(
        self, src: Pod, dst: Pod, port: int | str, protocol: Protocol = Protocol.TCP
    ) -> Verdict:
        """May `src` open a connection to `dst` on `port`/`protocol`, and why.

        Needs the egress of `src` AND the ingress of `dst`. A pod may always reach
        itself. `port` may be a number or the name of one of `dst`'s container
        ports. Named ports in policies resolve against `dst`'s container ports.
        hostNetwork pods are outside NetworkPolicy (the verdict says so).
        """
        src_cls, dst_cls = self._class(src), self._class(dst)
        notes: list[str] = []
        number: int | None
        if isinstance(port, str):
            number = dst.named_port(port, protocol)
            if number is None:
                notes.append(f"{dst.key} has no container port named {port!r} for {protocol}")
        else:
            number = port
        if src.key == dst.key:
            return Verdict(
                True, src.ref, dst.key, port, protocol, None, None, Coverage.ALL, (), tuple(notes)
            )
        if not self._classes.is_active(src) or not self._classes.is_active(dst):
            dead = [p.key for p in (src, dst) if not self._classes.is_active(p)]
            notes.append(f"terminated pods take no part in reachability: {', '.join(dead)}")
            egress = SideVerdict(Direction.EGRESS, src.ref, False, Reason.TERMINATED)
            ingress = SideVerdict(Direction.INGRESS, dst.ref, False, Reason.TERMINATED)
            return Verdict(
                False,
                src.ref,
                dst.key,
                port,
                protocol,
                egress,
                ingress,
                Coverage.NONE,
                (),
                tuple(notes),
            )
        # Pods of a class get the same decisions: compute them once per class pair
        # (the node matters only for a hostNetwork source, whose class is per node).
        own_node = (src.host_network or dst.host_network) and _same_node(src, dst)
        key = (src_cls.index, dst_cls.index, own_node, protocol, number)
        sides = self._pair_cache.get(key)
        if sides is None:
            for family in self._classes.families:
                pair = (src, dst, src_cls, dst_cls, protocol, number, family)
                egress = self._side(Direction.EGRESS, *pair)
                ingress = self._side(Direction.INGRESS, *pair)
                if sides is None or (egress.allowed and ingress.allowed):
                    sides = (egress, ingress)
                if egress.allowed and ingress.allowed:
                    break
            assert sides is not None
            self._pair_cache[key] = sides
        egress, ingress = sides
        egress, ingress = _for_pod(egress, src), _for_pod(ingress, dst)
        for pod in (src, dst):
            if pod.host_network:
                notes.append(
                    f"{pod.key} uses the host network: NetworkPolicy does not apply to it, and "
                    "policies see its node's address, matched only by ipBlock peers"
                )
        if len(self._classes.families) > 1:
            notes.append("pods have IPv4 and IPv6 addresses: both sides must allow one family")
        # A named port the destination does not have cannot be connected to.
        allowed = egress.allowed and ingress.allowed and number is not None
        return Verdict(
            allowed,
            src.ref,
            dst.key,
            port,
            protocol,
            egress,
            ingress,
            Coverage.ALL if allowed else Coverage.NONE,
            (),
            tuple(notes),
        )

    def _side(
        self,
        direction: Direction,
        src: Pod,
        dst: Pod,
        src_cls: PodClass,
        dst_cls: PodClass,
        protocol: Protocol,
        number: int | None,
        family: Family,
    ) -> SideVerdict:
        """One side of a connection: src's egress, or dst's ingress.

        The subject is the pod whose policies decide this side; the peer is the other
        end. Named ports always resolve against the destination, on both sides.
        """
        egress = direction is Direction.EGRESS
        subject, peer = (src, dst) if egress else (dst, src)
        subject_cls, peer_cls = (src_cls, dst_cls) if egress else (dst_cls, src_cls)
        if subject.host_network:
            return SideVerdict(direction, subject.ref, True, Reason.HOST_NETWORK)
        policies = self._policy_refs(direction, subject_cls.index)
        if peer.host_network and _same_node(src, dst):
            return SideVerdict(direction, subject.ref, True, Reason.OWN_NODE, policies)
        policy_rules = self._compiled.policy_rules
        for tier in self._compiled.tiers:
            tier_side = tier.side(direction)
            matching = [
                policy_rules[r]
                for r in tier_side.policy_rules[subject_cls.index]
                if number is not None
                and has(policy_rules[r].peer_bits[family], peer_cls.index)
                and ports_match(policy_rules[r].ports, dst_cls, protocol, number)
            ]
            if matching:
                # The first match decides; the matching policy rules after it with the same
                # action are named too (in an allow-only tier, every matching one).
                action = matching[0].action
                deciding: list[PolicyRuleRef] = []
                for policy_rule in matching:
                    if policy_rule.action is not action:
                        break
                    deciding.append(policy_rule.ref)
                if action is Action.ALLOW:
                    return SideVerdict(
                        direction, subject.ref, True, Reason.POLICY_RULES, policies, tuple(deciding)
                    )
                if action is Action.DENY:
                    return SideVerdict(
                        direction,
                        subject.ref,
                        False,
                        Reason.DENIED_BY_POLICY_RULE,
                        policies,
                        denying_policy_rules=tuple(deciding),
                    )
                continue  # pass: the next tier decides
            if has(tier_side.isolated, subject_cls.index):
                return SideVerdict(direction, subject.ref, False, Reason.NO_POLICY_RULE, policies)
        return SideVerdict(direction, subject.ref, True, Reason.NOT_ISOLATED)

    # --- addresses outside the cluster -------------------------------------------------

    def check_ip(
        self, src: Pod, address: str, port: int, protocol: Protocol = Protocol.TCP
    ) -> Verdict:
        """May `src` reach an address or CIDR outside the cluster on `port`/`protocol`.

        Only the source's egress applies. For a CIDR, `allowed` is True only when
        EVERY address of it is allowed; `coverage` says ALL, SOME or NONE and
        `allowed_ranges` lists the allowed part. Egress policy rules without `to` allow
        every address; ipBlock peers allow their CIDR minus `except`;
        podSelector/namespaceSelector peers never match outside addresses, nor
        do named ports. Raises ValueError when `address` does not parse.
        """
        target = parse_range(address)
        whole = ((target.first, target.last),)
        cls = self._class(src)
        notes: list[str] = []
        owner = self._pod_with_ip(address) if target.single else None
        if owner is not None:
            notes.append(
                f"{address} is the address of pod {owner.key}; ask about the pod itself "
                "for the destination's ingress"
            )
        if not self._classes.is_active(src):
            side = SideVerdict(Direction.EGRESS, src.ref, False, Reason.TERMINATED)
            notes.append(f"terminated pods take no part in reachability: {src.key}")
            return Verdict(
                False, src.ref, address, port, protocol, side, None, Coverage.NONE, (), tuple(notes)
            )
        if src.host_network:
            side = SideVerdict(Direction.EGRESS, src.ref, True, Reason.HOST_NETWORK)
            notes.append(f"{src.key} uses the host network: NetworkPolicy does not apply to it")
            return self._ip_verdict(src, address, port, protocol, side, target, whole, notes)
        # The decision depends on the class only: compute it once per class.
        key = (cls.index, target, port, protocol)
        cached = self._address_cache.get(key)
        if cached is None:
            cached = egress_to_range(self._compiled, src, cls, target, port, protocol)
            self._address_cache[key] = cached
        side, reached = cached
        side = _for_pod(side, src)
        return self._ip_verdict(src, address, port, protocol, side, target, reached, notes)

    def _ip_verdict(
        self,
        src: Pod,
        address: str,
        port: int,
        protocol: Protocol,
        side: SideVerdict,
        target: AddressRange,
        reached: Sequence[Interval],
        notes: list[str],
    ) -> Verdict:
        total = target.last - target.first + 1
        covered = size(reached)
        coverage = Coverage.ALL if covered == total else Coverage.SOME if covered else Coverage.NONE
        ranges = target.cidrs(reached) if coverage is Coverage.SOME else ()
        if coverage is Coverage.SOME:
            side = SideVerdict(
                side.direction,
                side.pod,
                False,
                side.reason,
                side.isolating_policies,
                side.allowing_policy_rules,
            )
        return Verdict(
            coverage is Coverage.ALL,
            src.ref,
            address,
            port,
            protocol,
            side,
            None,
            coverage,
            ranges,
            tuple(notes),
        )

    def _pod_with_ip(self, address: str) -> Pod | None:
        if self._pods_by_ip is None:
            self._pods_by_ip = {}
            for cls in self._classes.classes:
                for pod in cls.members:
                    for ip in pod.pod_ips:
                        parsed = parse_address(ip)
                        if parsed is not None:
                            self._pods_by_ip.setdefault(parsed, pod)
        parsed = parse_address(address)
        return None if parsed is None else self._pods_by_ip.get(parsed)

    def metadata_access(self, pod: Pod) -> list[tuple[str, int, Verdict]]:
        """(address, port, verdict) for each cloud metadata endpoint (METADATA_ENDPOINTS)."""
        return [
            (e.address, e.port, self.check_ip(pod, e.address, e.port, Protocol.TCP))
            for e in METADATA_ENDPOINTS
        ]

    # --- DNS ---------------------------------------------------------------------------

    def dns_access(self, pod: Pod) -> DnsAccess:
        """May the pod reach the cluster DNS pods on UDP 53 and TCP 53.

        DNS pods are the kube-system pods labelled k8s-app=kube-dns. When the
        snapshot has none, a stand-in pod with those labels (ports 53/UDP and
        53/TCP) in kube-system is used, and `stand_in` says so.
        """
        udp = tuple(self.check(pod, dns, 53, Protocol.UDP) for dns in self._classes.dns_pods)
        tcp = tuple(self.check(pod, dns, 53, Protocol.TCP) for dns in self._classes.dns_pods)
        return DnsAccess(
            pod=pod.ref,
            dns_pods=tuple(d.ref for d in self._classes.dns_pods),
            stand_in=self._classes.dns_stand_in,
            udp_verdicts=udp,
            tcp_verdicts=tcp,
        )

    # --- many pods at once -------------------------------------------------------------

    def reachable_from(
        self, src: Pod, port: int | None = None, protocol: Protocol | None = Protocol.TCP
    ) -> list[Pod]:
        """The other pods `src` may reach on `port`/`protocol`, sorted by namespace/name.

        `port=None` means on at least one port; `protocol=None` on any protocol.
        """
        if not self._classes.is_active(src):
            return []
        return self._neighbours(src, self.relation(protocol, port).rows[self._class(src).index])

    def reachers_of(
        self, dst: Pod, port: int | None = None, protocol: Protocol | None = Protocol.TCP
    ) -> list[Pod]:
        """The other pods that may reach `dst` on `port`/`protocol`, sorted by namespace/name.

        `port=None` means on at least one port; `protocol=None` on any protocol.
        """
        if not self._classes.is_active(dst):
            return []
        return self._neighbours(dst, self.relation(protocol, port).cols[self._class(dst).index])

    def _neighbours(self, pod: Pod, classes: int) -> list[Pod]:
        """The members of `classes` and `pod`'s own-node partners, less `pod`, sorted by key."""
        found = {p.key: p for p in self._classes.members(classes)}
        for partner in self._node_partners(pod):
            found.setdefault(partner.key, partner)
        found.pop(pod.key, None)
        return [found[k] for k in sorted(found)]

    def _node_partners(self, pod: Pod) -> Sequence[Pod]:
        """Pods that `pod` may reach, and that may reach it, whatever the policies say:
        traffic between a pod and its own node (its hostNetwork pods) is always allowed."""
        if not pod.node_name:
            return ()
        if pod.host_network:
            return self._classes.pods_on_node.get(pod.node_name, ())
        return self._classes.host_pods_on_node.get(pod.node_name, ())

    def cross_namespace_reachers(
        self, dst: Pod, port: int | None = None, protocol: Protocol | None = Protocol.TCP
    ) -> list[Pod]:
        """The pods of other namespaces that may reach `dst` (both sides' policies applied)."""
        return [p for p in self.reachers_of(dst, port, protocol) if p.namespace != dst.namespace]

    def cross_namespace_reach(
        self, dst: Pod, port: int | None = None, protocol: Protocol | None = Protocol.TCP
    ) -> list[NamespaceReach]:
        """Per other namespace, how many of its pod-network pods may reach `dst` (both sides'
        policies applied), in namespace order.

        The cheap form of `cross_namespace_reachers` for questions asked once per workload
        over large clusters: it counts classes per namespace with bitset operations instead
        of listing pods. Own-node traffic from hostNetwork pods is not counted.
        """
        if not self._classes.is_active(dst):
            return []
        col = self.relation(protocol, port).cols[self._class(dst).index] & self._classes.policed
        col &= ~self._classes.ns_bits[dst.namespace]
        found = []
        for namespace in self._classes.namespaces_of(col):
            everyone = (
                self._classes.ns_bits[namespace] & self._classes.active & self._classes.policed
            )
            reaching = col & everyone
            found.append(
                NamespaceReach(
                    namespace=namespace,
                    pods=self._classes.weighted(reaching),
                    whole=reaching == everyone,
                    _members=tuple(self._classes.classes[i].members for i in iter_bits(reaching)),
                )
            )
        return found

    def open_ingress(self, dst: Pod) -> bool:
        """Does `dst`'s ingress admit every pod of every other namespace on every port?

        The lateral-movement question: True when `dst` is not isolated for ingress
        (hostNetwork pods included), or when its ingress policy rules together admit, on
        every port of every protocol, every pod of the snapshot's other namespaces
        and also a pod without labels in a namespace no selector names. The
        sources' own egress policies are not considered (see `cross_namespace_reachers`).
        """
        cls = self._class(dst)
        cached = self._open_ingress.get(cls.index)
        if cached is None:
            cached = self._open_ingress[cls.index] = class_open(
                self._compiled, cls, Direction.INGRESS
            )
        return cached

    def open_egress(self, src: Pod) -> bool:
        """Does `src`'s egress admit every pod of every other namespace on every port?

        The mirror of `open_ingress`: True when nothing restricts the pod's egress
        towards the snapshot's other namespaces and a pod without labels in a namespace
        no selector names. The destinations' ingress is not considered.
        """
        cls = self._class(src)
        cached = self._open_egress.get(cls.index)
        if cached is None:
            cached = self._open_egress[cls.index] = class_open(
                self._compiled, cls, Direction.EGRESS
            )
        return cached

    def closing_policy_rules(self, pod: Pod, direction: Direction) -> tuple[PolicyRuleRef, ...]:
        """The deny policy rules of the admin and baseline tiers, in evaluation order, that
        apply to `pod` for `direction` and whose peers hold "any other pod" (a pod without
        labels in a namespace no selector names): what refuses other namespaces' traffic
        when `open_ingress` / `open_egress` say the pod is closed. On some ports only, when
        the rule names ports."""
        index = self._class(pod).index
        outsider = self._classes.class_of[self._classes.outsider.key].index
        policy_rules = self._compiled.policy_rules
        return tuple(
            policy_rules[r].ref
            for tier in self._compiled.tiers
            if tier.name != NETWORK_POLICY_TIER
            for r in tier.side(direction).policy_rules[index]
            if policy_rules[r].action is Action.DENY
            and any(has(bits, outsider) for bits in policy_rules[r].peer_bits.values())
        )

    def matrix(self, port: int, protocol: Protocol = Protocol.TCP) -> dict[str, dict[str, bool]]:
        """Every pod pair: matrix["ns/src"]["ns/dst"] is True when src may reach dst.

        Pods are keyed "namespace/name", in sorted order; a pod reaches itself.
        """
        pods = self.pods
        relation = self.relation(protocol, port)
        indexes = [self._class(p).index for p in pods]
        result: dict[str, dict[str, bool]] = {}
        for src, src_index in zip(pods, indexes, strict=True):
            row = relation.rows[src_index]
            partners = {p.key for p in self._node_partners(src)}
            result[src.key] = {
                dst.key: has(row, dst_index) or dst.key == src.key or dst.key in partners
                for dst, dst_index in zip(pods, indexes, strict=True)
            }
        return result

    # --- summary -----------------------------------------------------------------------

    def summary(self) -> ReachabilitySummary:
        """The reachability summary on any port and protocol (see `kaudit.netpol.summary`)."""
        if self._summary is None:
            self._summary = build_summary(self._compiled, self.relation(None, None))
        return self._summary


def _for_pod(side: SideVerdict, pod: Pod) -> SideVerdict:
    """A decision computed for one pod of a class, told about another pod of it."""
    if side.pod.name == pod.name and side.pod.namespace == pod.namespace:
        return side
    return SideVerdict(
        side.direction,
        pod.ref,
        side.allowed,
        side.reason,
        side.isolating_policies,
        side.allowing_policy_rules,
        side.denying_policy_rules,
    )


def _same_node(a: Pod, b: Pod) -> bool:
    return a.node_name is not None and a.node_name == b.node_name
