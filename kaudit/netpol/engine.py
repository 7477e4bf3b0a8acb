"""The NetworkPolicy engine: networking.k8s.io/v1 semantics, evaluated on pod classes.

How it stays exact and fast
---------------------------
*Pod classes.* Pods of one namespace that agree on every label key some policy
selector looks at, on the named ports policies mention, on hostNetwork (and, for
hostNetwork pods, on the node), and on which ipBlocks contain their IPs behave
identically under every policy. Each class is evaluated once; sets of classes
are bitsets (`kaudit.netpol.bits`).

*Precomputed selector matches.* Label selectors are evaluated with a
(key, value) -> classes index, so a selector costs a few bitset operations
rather than a pass over pods. Every rule gets the classes its peers match and
the classes its policy selects.

*Port atoms.* Port numbers are split, per protocol, into ranges inside which
every rule behaves the same; "on any port" is the union over one
representative per range, so no port is missed and none is evaluated twice.

*Groups.* Classes with the same egress policies and the same memberships in
ingress peers have the same row of the reachability matrix (and dually for
columns), so rows and columns are computed per group.

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
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kaudit.kube import DNS_NAMESPACE, DNS_POD_LABELS, METADATA_ENDPOINTS, NAMESPACE_NAME_LABEL
from kaudit.model import (
    MATCH_ALL,
    ContainerPort,
    IPBlock,
    Labels,
    LabelSelector,
    Namespace,
    NetworkPolicy,
    Pod,
    PolicyPort,
    Protocol,
    Snapshot,
)
from kaudit.netpol.addresses import (
    AddressRange,
    CompiledBlock,
    Interval,
    compile_block,
    normalize,
    parse_address,
    parse_range,
    size,
)
from kaudit.netpol.bits import bits_of, has, iter_bits
from kaudit.netpol.verdict import (
    Coverage,
    Direction,
    DnsAccess,
    Isolation,
    Reason,
    RuleRef,
    SideVerdict,
    Verdict,
)

PROTOCOLS: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)
PORT_MIN, PORT_MAX = 1, 65535

# Names that are not valid Kubernetes names, so they never clash with real objects.
STAND_IN_DNS_NAME = "(stand-in kube-dns)"
OUTSIDER_NAMESPACE = "(any other namespace)"
OUTSIDER_NAME = "(any pod)"

# One IP family for evaluation: 4 or 6, or 0 when no ipBlock matches any pod IP.
Family = int


@dataclass(eq=False)
class _Class:
    """Pods that every policy treats alike (see the module docstring)."""

    index: int
    namespace: str
    host_network: bool
    node: str | None  # set for hostNetwork classes only
    labels: Labels  # the label values policies look at
    named_ports: dict[tuple[str, Protocol], int | None]
    block_matches: dict[Family, frozenset[int]]
    members: list[Pod] = field(default_factory=list)  # running or pending pods
    inactive: list[Pod] = field(default_factory=list)  # terminated or stand-in pods
    ingress_policies: list[int] = field(default_factory=list)
    egress_policies: list[int] = field(default_factory=list)
    ingress_rules: list[int] = field(default_factory=list)
    egress_rules: list[int] = field(default_factory=list)

    @property
    def weight(self) -> int:
        return len(self.members)


@dataclass(eq=False)
class _Rule:
    id: int
    ref: RuleRef
    policy_index: int
    direction: Direction
    ports: tuple[PolicyPort, ...]
    all_peers: bool  # no from/to: every source or destination, in or outside the cluster
    blocks: tuple[CompiledBlock, ...]  # ipBlock peers that parsed
    peer_bits: dict[Family, int] = field(default_factory=dict)
    selected: int = 0  # classes the rule's policy selects


@dataclass(frozen=True, slots=True)
class _Relation:
    """Class-level reachability: rows[s] = classes s may reach; cols[d] = classes reaching d."""

    rows: tuple[int, ...]
    cols: tuple[int, ...]


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

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.warnings: list[str] = []
        self._namespace_labels = self._collect_namespaces(snapshot)
        self._policies = tuple(snapshot.network_policies)
        self._compile_blocks()
        self._collect_references()
        pods = self._collect_pods(snapshot)
        self._build_classes(pods)
        self._build_selector_index()
        self._build_rules()
        self._build_groups()
        self._atoms = self._port_atoms()
        self._relations: dict[tuple[Protocol | None, int | None], _Relation] = {}
        self._summary: dict[str, Any] | None = None
        self._pods_by_ip: dict[tuple[int, int], Pod] | None = None
        self._pair_cache: dict[tuple[Any, ...], tuple[SideVerdict, SideVerdict]] = {}
        self._address_cache: dict[tuple[Any, ...], tuple[SideVerdict, tuple[Interval, ...]]] = {}

    # --- construction ------------------------------------------------------------------

    @staticmethod
    def _collect_namespaces(snapshot: Snapshot) -> dict[str, Labels]:
        labels = {ns.name: ns.labels for ns in snapshot.namespaces}
        used = [p.namespace for p in snapshot.pods]
        used += [p.namespace for p in snapshot.network_policies]
        for name in used:
            if name not in labels:
                labels[name] = Namespace.implicit(name).labels
        labels.setdefault(DNS_NAMESPACE, Namespace.implicit(DNS_NAMESPACE).labels)
        labels[OUTSIDER_NAMESPACE] = MappingProxyType({NAMESPACE_NAME_LABEL: OUTSIDER_NAMESPACE})
        return labels

    def _compile_blocks(self) -> None:
        """Distinct ipBlocks of all rules, compiled once; a bad CIDR matches nothing."""
        self._intervals_by_version: dict[int, list[tuple[int, tuple[Interval, ...]]]] | None = None
        self._block_ids: dict[IPBlock, int] = {}
        self._blocks: list[CompiledBlock | None] = []
        for policy in self._policies:
            for rule in (*policy.ingress, *policy.egress):
                for peer in rule.peers:
                    block = peer.ip_block
                    if block is None or block in self._block_ids:
                        continue
                    self._block_ids[block] = len(self._blocks)
                    try:
                        self._blocks.append(compile_block(block))
                    except ValueError:
                        self._blocks.append(None)
                        self.warnings.append(
                            f"NetworkPolicy {policy.namespace}/{policy.name}: ipBlock "
                            f"{block.cidr!r} (except {list(block.except_)}) does not parse; "
                            "it matches nothing"
                        )

    @property
    def _block_intervals(self) -> dict[int, list[tuple[int, tuple[Interval, ...]]]]:
        """(block id, allowed intervals) per IP version, for matching pod addresses."""
        if self._intervals_by_version is None:
            by_version: dict[int, list[tuple[int, tuple[Interval, ...]]]] = defaultdict(list)
            for block_id, block in enumerate(self._blocks):
                if block is not None:
                    by_version[block.version].append((block_id, block.allowed))
            self._intervals_by_version = dict(by_version)
        return self._intervals_by_version

    def _collect_references(self) -> None:
        """The label keys and named ports that policies look at: all that tells pods apart."""
        keys: set[str] = set()
        named: set[tuple[str, Protocol]] = set()

        def note(selector: LabelSelector | None) -> None:
            if selector is not None:
                keys.update(selector.match_labels)
                keys.update(req.key for req in selector.match_expressions)

        for policy in self._policies:
            note(policy.pod_selector)
            for rule in (*policy.ingress, *policy.egress):
                for peer in rule.peers:
                    if peer.ip_block is None:
                        note(peer.pod_selector)
                for port in rule.ports:
                    if isinstance(port.port, str):
                        named.add((port.port, port.protocol))
        self._label_keys = frozenset(keys)
        self._named_refs = tuple(sorted(named))

    def _collect_pods(self, snapshot: Snapshot) -> list[tuple[Pod, bool]]:
        """(pod, active) pairs: snapshot pods (deduplicated) plus the stand-ins."""
        seen: set[str] = set()
        pods: list[tuple[Pod, bool]] = []
        for pod in snapshot.pods:
            if pod.key in seen:
                self.warnings.append(f"pod {pod.key} appears more than once; the first is used")
                continue
            seen.add(pod.key)
            pods.append((pod, not pod.terminated))
        self.dns_pods = tuple(
            sorted(
                (
                    pod
                    for pod, active in pods
                    if active
                    and pod.namespace == DNS_NAMESPACE
                    and all(pod.labels.get(k) == v for k, v in DNS_POD_LABELS.items())
                ),
                key=lambda p: p.key,
            )
        )
        self.dns_stand_in = not self.dns_pods
        if self.dns_stand_in:
            stand_in = Pod(
                namespace=DNS_NAMESPACE,
                name=STAND_IN_DNS_NAME,
                labels=MappingProxyType(dict(DNS_POD_LABELS)),
                annotations=MappingProxyType({}),
                ports=(
                    ContainerPort(53, Protocol.UDP, "dns"),
                    ContainerPort(53, Protocol.TCP, "dns-tcp"),
                    ContainerPort(9153, Protocol.TCP, "metrics"),
                ),
                phase="Running",
                ready=True,
            )
            pods.append((stand_in, False))
            self.dns_pods = (stand_in,)
        # A pod with no labels in a namespace no selector can name: "any other pod".
        self._outsider = Pod(
            namespace=OUTSIDER_NAMESPACE,
            name=OUTSIDER_NAME,
            labels=MappingProxyType({}),
            annotations=MappingProxyType({}),
            ports=(),
            phase="Running",
        )
        pods.append((self._outsider, False))
        stand_ins = {self._outsider.key}
        if self.dns_stand_in:
            stand_ins.update(p.key for p in self.dns_pods)
        self._stand_in_keys = frozenset(stand_ins)
        return pods

    def _block_signature(self, pod: Pod) -> dict[Family, frozenset[int]]:
        """Per IP family, the ipBlocks (by id) holding one of the pod's addresses."""
        if not self._blocks or not pod.pod_ips:
            return {}
        matched: dict[Family, set[int]] = defaultdict(set)
        for ip in pod.pod_ips:
            parsed = parse_address(ip)
            if parsed is None:
                continue
            version, value = parsed
            for block_id, intervals in self._block_intervals.get(version, ()):
                for lo, hi in intervals:
                    if lo <= value <= hi:
                        matched[version].add(block_id)
                        break
        return {family: frozenset(ids) for family, ids in matched.items()}

    def _build_classes(self, pods: list[tuple[Pod, bool]]) -> None:
        keys = self._label_keys
        by_key: dict[tuple[Any, ...], _Class] = {}
        self._class_of: dict[str, _Class] = {}
        common_blocks: dict[Family, frozenset[int]] = {}
        for pod, active in pods:
            labels = tuple(sorted((k, v) for k, v in pod.labels.items() if k in keys))
            named: tuple[int | None, ...] = ()
            if self._named_refs:
                own = {(p.name, p.protocol): p.container_port for p in reversed(pod.ports)}
                named = tuple(own.get(ref) for ref in self._named_refs)
            if pod is self._outsider:
                # Taken to be in the ipBlocks holding every pod-network address seen,
                # so `from: [ipBlock: 0.0.0.0/0]` admits it and excepting the pod range
                # does not (it comes last, after every real pod).
                blocks = {f: ids for f, ids in common_blocks.items() if ids}
            else:
                blocks = self._block_signature(pod)
                if active and not pod.host_network:
                    for family in {v for v, _ in filter(None, map(parse_address, pod.pod_ips))}:
                        held = blocks.get(family, frozenset())
                        common_blocks[family] = (
                            held if family not in common_blocks else common_blocks[family] & held
                        )
            node = pod.node_name if pod.host_network else None
            key = (
                pod.namespace,
                labels,
                named,
                pod.host_network,
                node,
                tuple(sorted(blocks.items())),
            )
            cls = by_key.get(key)
            if cls is None:
                cls = _Class(
                    index=-1,
                    namespace=pod.namespace,
                    host_network=pod.host_network,
                    node=node,
                    labels=MappingProxyType(dict(labels)),
                    named_ports=dict(zip(self._named_refs, named, strict=True)),
                    block_matches=blocks,
                )
                by_key[key] = cls
            (cls.members if active else cls.inactive).append(pod)
            self._class_of[pod.key] = cls
        # Ordered by namespace so each namespace is a contiguous run of bits.
        self._classes = sorted(by_key.values(), key=lambda c: c.namespace)
        for index, cls in enumerate(self._classes):
            cls.index = index
        count = len(self._classes)
        self._all = (1 << count) - 1
        self._weights = [c.weight for c in self._classes]
        self._active = bits_of(c.index for c in self._classes if c.weight)
        self._policed = bits_of(c.index for c in self._classes if not c.host_network)
        ns_indexes: dict[str, list[int]] = defaultdict(list)
        for cls in self._classes:
            ns_indexes[cls.namespace].append(cls.index)
        self._ns_bits = {ns: bits_of(indexes) for ns, indexes in ns_indexes.items()}
        self._ns_span = {ns: (indexes[0], indexes[-1] + 1) for ns, indexes in ns_indexes.items()}
        families = sorted({f for c in self._classes for f, ids in c.block_matches.items() if ids})
        self._families: tuple[Family, ...] = tuple(families) or (0,)
        by_weight: dict[int, list[int]] = defaultdict(list)
        for cls in self._classes:
            if cls.weight:
                by_weight[cls.weight].append(cls.index)
        self._weight_masks = [(w, bits_of(ix)) for w, ix in sorted(by_weight.items())]
        self._active_keys = frozenset(p.key for c in self._classes for p in c.members)
        # Pods on each node, for the rule that a pod's own node may always reach it.
        self._pods_on_node: dict[str, list[Pod]] = defaultdict(list)
        self._host_pods_on_node: dict[str, list[Pod]] = defaultdict(list)
        for cls in self._classes:
            for pod in cls.members:
                if pod.node_name:
                    self._pods_on_node[pod.node_name].append(pod)
                    if pod.host_network:
                        self._host_pods_on_node[pod.node_name].append(pod)
        # hostNetwork classes are per node, so a node's are wholly on it.
        self._host_bits_on_node = {
            node: bits_of(self._class_of[p.key].index for p in pods)
            for node, pods in self._host_pods_on_node.items()
        }

    def _build_selector_index(self) -> None:
        by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
        by_key: dict[str, list[int]] = defaultdict(list)
        for cls in self._classes:
            for key, value in cls.labels.items():
                by_pair[(key, value)].append(cls.index)
                by_key[key].append(cls.index)
        self._label_bits = {pair: bits_of(ix) for pair, ix in by_pair.items()}
        # (port name, protocol, number) -> classes where that named port is that number.
        by_named: dict[tuple[str, Protocol, int], list[int]] = defaultdict(list)
        for cls in self._classes:
            for (name, proto), number in cls.named_ports.items():
                if number is not None:
                    by_named[(name, proto, number)].append(cls.index)
        self._named_bits = {ref: bits_of(ix) for ref, ix in by_named.items()}
        self._key_bits = {key: bits_of(ix) for key, ix in by_key.items()}
        self._selector_cache: dict[LabelSelector, int] = {}
        self._ns_selector_cache: dict[LabelSelector, int] = {}

    def _selector_bits(self, selector: LabelSelector) -> int:
        """Policed classes (any namespace) whose labels the selector matches."""
        cached = self._selector_cache.get(selector)
        if cached is not None:
            return cached
        bits = self._policed
        for pair in selector.match_labels.items():
            bits &= self._label_bits.get(pair, 0)
        for req in selector.match_expressions:
            if req.operator in ("In", "NotIn"):
                values = 0
                for value in req.values:
                    values |= self._label_bits.get((req.key, value), 0)
                bits = bits & values if req.operator == "In" else bits & ~values
            elif req.operator == "Exists":
                bits &= self._key_bits.get(req.key, 0)
            else:  # DoesNotExist
                bits &= ~self._key_bits.get(req.key, 0)
        self._selector_cache[selector] = bits
        return bits

    def _namespace_selector_bits(self, selector: LabelSelector) -> int:
        """Classes of every namespace whose labels the selector matches."""
        cached = self._ns_selector_cache.get(selector)
        if cached is not None:
            return cached
        bits = 0
        for name, labels in self._namespace_labels.items():
            if selector.matches(labels):
                bits |= self._ns_bits.get(name, 0)
        self._ns_selector_cache[selector] = bits
        return bits

    def _build_rules(self) -> None:
        self._rules: list[_Rule] = []
        self._policy_selected: list[int] = []
        block_bits: dict[tuple[Family, int], list[int]] = defaultdict(list)
        for cls in self._classes:
            for family, ids in cls.block_matches.items():
                for block_id in ids:
                    block_bits[(family, block_id)].append(cls.index)
        self._block_bits = {key: bits_of(ix) for key, ix in block_bits.items()}

        for index, policy in enumerate(self._policies):
            selected = self._selector_bits(policy.pod_selector) & self._ns_bits.get(
                policy.namespace, 0
            )
            self._policy_selected.append(selected)
            selected_classes = [self._classes[i] for i in iter_bits(selected)]
            for cls in selected_classes:
                if policy.affects_ingress:
                    cls.ingress_policies.append(index)
                if policy.affects_egress:
                    cls.egress_policies.append(index)
            for direction, rules, applies in (
                (Direction.INGRESS, policy.ingress, policy.affects_ingress),
                (Direction.EGRESS, policy.egress, policy.affects_egress),
            ):
                if not applies:
                    continue  # rules of a direction missing from policyTypes are ignored
                for rule_index, rule in enumerate(rules):
                    compiled = self._make_rule(policy, index, direction, rule_index, rule)
                    compiled.selected = selected
                    for cls in selected_classes:
                        target = (
                            cls.ingress_rules
                            if direction is Direction.INGRESS
                            else cls.egress_rules
                        )
                        target.append(compiled.id)

    def _make_rule(
        self,
        policy: NetworkPolicy,
        policy_index: int,
        direction: Direction,
        rule_index: int,
        rule: Any,
    ) -> _Rule:
        ref = RuleRef(policy.ref, direction, rule_index)
        blocks = []
        selector_bits = 0
        block_ids = []
        for peer in rule.peers:
            if peer.ip_block is not None:
                # The API server rejects selectors next to an ipBlock; the ipBlock decides.
                block_id = self._block_ids[peer.ip_block]
                compiled = self._blocks[block_id]
                if compiled is not None:
                    blocks.append(compiled)
                    block_ids.append(block_id)
                continue
            if peer.pod_selector is None and peer.namespace_selector is None:
                continue  # an empty peer is invalid (rejected by the API server): matches nothing
            pods = self._selector_bits(peer.pod_selector or MATCH_ALL)
            if peer.namespace_selector is None:
                pods &= self._ns_bits.get(policy.namespace, 0)
            else:
                pods &= self._namespace_selector_bits(peer.namespace_selector)
            selector_bits |= pods
        compiled_rule = _Rule(
            id=len(self._rules),
            ref=ref,
            policy_index=policy_index,
            direction=direction,
            ports=rule.ports,
            all_peers=not rule.peers,
            blocks=tuple(blocks),
        )
        for family in self._families:
            if compiled_rule.all_peers:
                compiled_rule.peer_bits[family] = self._all
                continue
            bits = selector_bits
            for block_id in block_ids:
                bits |= self._block_bits.get((family, block_id), 0)
            compiled_rule.peer_bits[family] = bits
        self._rules.append(compiled_rule)
        return compiled_rule

    def _build_groups(self) -> None:
        """Group classes whose rows (as sources) or columns (as destinations) must be equal."""
        rules = self._rules
        self._ingress_isolated = bits_of(c.index for c in self._classes if c.ingress_policies)
        self._egress_isolated = bits_of(c.index for c in self._classes if c.egress_policies)
        # Per family: ingress rules whose peers hold each class, egress rules likewise.
        # Rules sharing their peers (every namespace's "egress to 0.0.0.0/0" rule) are
        # walked once: memberships are kept per distinct peer set, then expanded per group.
        member_in: dict[Family, list[list[int]]] = {}
        member_out: dict[Family, list[list[int]]] = {}
        peer_sets: dict[Family, list[list[int]]] = {}
        for family in self._families:
            ins: list[list[int]] = [[] for _ in self._classes]
            outs: list[list[int]] = [[] for _ in self._classes]
            sets: dict[tuple[Direction, int], int] = {}
            rules_of_set: list[list[int]] = []
            for rule in rules:
                if rule.all_peers:
                    continue  # handled once for everyone, not per class
                key = (rule.direction, rule.peer_bits[family])
                set_id = sets.get(key)
                if set_id is None:
                    set_id = sets[key] = len(rules_of_set)
                    rules_of_set.append([])
                    target = ins if rule.direction is Direction.INGRESS else outs
                    for cls_index in iter_bits(rule.peer_bits[family]):
                        target[cls_index].append(set_id)
                rules_of_set[set_id].append(rule.id)
            member_in[family], member_out[family] = ins, outs
            peer_sets[family] = rules_of_set

        def expand(family: Family, set_ids: list[int]) -> tuple[int, ...]:
            return tuple(r for i in set_ids for r in peer_sets[family][i])

        self._all_peer_ingress = [
            r.id for r in rules if r.all_peers and r.direction is Direction.INGRESS
        ]
        self._all_peer_egress = [
            r.id for r in rules if r.all_peers and r.direction is Direction.EGRESS
        ]

        # Source groups: same egress policies, same ingress-peer memberships.
        self._src_groups: dict[Family, list[tuple[tuple[int, ...], tuple[int, ...], int]]] = {}
        self._dst_groups: dict[Family, list[tuple[tuple[int, ...], tuple[int, ...], int]]] = {}
        src_of: dict[Family, list[int]] = {}
        dst_of: dict[Family, list[int]] = {}
        for family in self._families:
            src_index: dict[tuple[Any, ...], int] = {}
            dst_index: dict[tuple[Any, ...], int] = {}
            src_groups: list[tuple[tuple[int, ...], tuple[int, ...], int]] = []
            dst_groups: list[tuple[tuple[int, ...], tuple[int, ...], int]] = []
            src_list, dst_list = [], []
            for cls in self._classes:
                skey = (tuple(cls.egress_policies), tuple(member_in[family][cls.index]))
                if skey not in src_index:
                    src_index[skey] = len(src_groups)
                    src_groups.append(
                        (tuple(cls.egress_rules), expand(family, list(skey[1])), cls.index)
                    )
                src_list.append(src_index[skey])
                dkey = (
                    tuple(cls.ingress_policies),
                    tuple(member_out[family][cls.index]),
                    tuple(cls.named_ports.values()),
                )
                if dkey not in dst_index:
                    dst_index[dkey] = len(dst_groups)
                    dst_groups.append(
                        (tuple(cls.ingress_rules), expand(family, list(dkey[1])), cls.index)
                    )
                dst_list.append(dst_index[dkey])
            self._src_groups[family], self._dst_groups[family] = src_groups, dst_groups
            src_of[family], dst_of[family] = src_list, dst_list
        # Joint groups across families, so results are combined once per group.
        self._joint_src, self._joint_src_of = self._joint(src_of)
        self._joint_dst, self._joint_dst_of = self._joint(dst_of)

    def _joint(self, group_of: dict[Family, list[int]]) -> tuple[list[tuple[int, ...]], list[int]]:
        index: dict[tuple[int, ...], int] = {}
        joint: list[tuple[int, ...]] = []
        joint_of: list[int] = []
        for cls in self._classes:
            key = tuple(group_of[f][cls.index] for f in self._families)
            if key not in index:
                index[key] = len(joint)
                joint.append(key)
            joint_of.append(index[key])
        return joint, joint_of

    def _port_atoms(self) -> dict[Protocol, list[int]]:
        """Per protocol, one representative port per range where all rules agree."""
        spans: dict[Protocol, set[Interval]] = {p: set() for p in PROTOCOLS}
        for rule in self._rules:
            for entry in rule.ports:
                if entry.port is None:
                    continue
                if isinstance(entry.port, int):
                    last = entry.end_port if entry.end_port is not None else entry.port
                    if entry.port <= last:
                        spans[entry.protocol].add((entry.port, last))
                else:
                    for name, proto, number in self._named_bits:
                        if name == entry.port and proto == entry.protocol:
                            spans[proto].add((number, number))
        atoms: dict[Protocol, list[int]] = {}
        for protocol, intervals in spans.items():
            cuts = {PORT_MIN, PORT_MAX + 1}
            for lo, hi in intervals:
                cuts.add(max(lo, PORT_MIN))
                cuts.add(min(hi, PORT_MAX) + 1)
            bounds = sorted(c for c in cuts if PORT_MIN <= c <= PORT_MAX + 1)
            seen: set[frozenset[Interval]] = set()
            representatives = []
            for start in bounds[:-1]:
                inside = frozenset(i for i in intervals if i[0] <= start <= i[1])
                if inside not in seen:
                    seen.add(inside)
                    representatives.append(start)
            atoms[protocol] = representatives
        return atoms

    # --- port matching -----------------------------------------------------------------

    def _ports_match(
        self, ports: Sequence[PolicyPort], cls: _Class | None, protocol: Protocol, port: int
    ) -> bool:
        """Does a rule's port list admit `port`/`protocol` on a destination class?

        `cls` is None for a destination outside the cluster (named ports cannot match).
        """
        if not ports:
            return True
        for entry in ports:
            if entry.protocol != protocol:
                continue
            if entry.port is None:
                return True
            if isinstance(entry.port, int):
                last = entry.end_port if entry.end_port is not None else entry.port
                if entry.port <= port <= last:
                    return True
            elif cls is not None and cls.named_ports.get((entry.port, protocol)) == port:
                return True
        return False

    def _port_bits(
        self, ports: tuple[PolicyPort, ...], protocol: Protocol, port: int, cache: dict[Any, int]
    ) -> int:
        """Destination classes on which a rule's port list admits `port`/`protocol`."""
        cached = cache.get(ports)
        if cached is not None:
            return cached
        bits = 0
        if self._ports_match(ports, None, protocol, port):
            bits = self._all
        else:
            for entry in ports:
                if entry.protocol == protocol and isinstance(entry.port, str):
                    bits |= self._named_bits.get((entry.port, protocol, port), 0)
        cache[ports] = bits
        return bits

    # --- class-level reachability ------------------------------------------------------

    def _relation(self, protocol: Protocol | None, port: int | None) -> _Relation:
        """Reachability between classes on one port, or on any port (None), per protocol
        or any protocol (None). Pairs of pods of one class are the diagonal bits."""
        key = (protocol, port)
        cached = self._relations.get(key)
        if cached is not None:
            return cached
        protocols = PROTOCOLS if protocol is None else (protocol,)
        points = [
            (proto, p)
            for proto in protocols
            for p in (self._atoms[proto] if port is None else [port])
        ]
        joint_rows = [0] * len(self._joint_src)
        joint_cols = [0] * len(self._joint_dst)
        for proto, number in points:
            port_cache: dict[Any, int] = {}
            port_bits = [self._port_bits(r.ports, proto, number, port_cache) for r in self._rules]
            for position, family in enumerate(self._families):
                rows = self._rows(family, port_bits)
                cols = self._cols(family, port_bits)
                for j, groups in enumerate(self._joint_src):
                    joint_rows[j] |= rows[groups[position]]
                for j, groups in enumerate(self._joint_dst):
                    joint_cols[j] |= cols[groups[position]]
        relation = _Relation(
            rows=tuple(joint_rows[j] for j in self._joint_src_of),
            cols=tuple(joint_cols[j] for j in self._joint_dst_of),
        )
        self._relations[key] = relation
        return relation

    def _rows(self, family: Family, port_bits: list[int]) -> list[int]:
        rules = self._rules
        open_ingress = self._all & ~self._ingress_isolated
        for rule_id in self._all_peer_ingress:
            open_ingress |= rules[rule_id].selected & port_bits[rule_id]
        rows = []
        for egress_rules, ingress_memberships, representative in self._src_groups[family]:
            if has(self._egress_isolated, representative):
                reach = 0
                for rule_id in egress_rules:
                    reach |= rules[rule_id].peer_bits[family] & port_bits[rule_id]
            else:
                reach = self._all
            admitted = open_ingress
            for rule_id in ingress_memberships:
                admitted |= rules[rule_id].selected & port_bits[rule_id]
            rows.append(reach & admitted)
        return rows

    def _cols(self, family: Family, port_bits: list[int]) -> list[int]:
        rules = self._rules
        open_egress = self._all & ~self._egress_isolated
        cols = []
        for ingress_rules, egress_memberships, representative in self._dst_groups[family]:
            if has(self._ingress_isolated, representative):
                admitted = 0
                for rule_id in ingress_rules:
                    if has(port_bits[rule_id], representative):
                        admitted |= rules[rule_id].peer_bits[family]
            else:
                admitted = self._all
            senders = open_egress
            for rule_id in (*egress_memberships, *self._all_peer_egress):
                if has(port_bits[rule_id], representative):
                    senders |= rules[rule_id].selected
            cols.append(admitted & senders)
        return cols

    # --- lookups -----------------------------------------------------------------------

    def _class(self, pod: Pod) -> _Class:
        cls = self._class_of.get(pod.key)
        if cls is None:
            raise KeyError(f"pod {pod.key} is not in the snapshot")
        return cls

    @property
    def pods(self) -> tuple[Pod, ...]:
        """The pods taking part in reachability (not terminated), sorted by namespace/name."""
        return tuple(sorted((p for c in self._classes for p in c.members), key=lambda p: p.key))

    def pod(self, key: str) -> Pod | None:
        """A pod by "namespace/name" (terminated pods included), or None."""
        cls = self._class_of.get(key)
        if cls is None:
            return None
        for pod in (*cls.members, *cls.inactive):
            if pod.key == key:
                return pod
        return None

    def _is_active(self, pod: Pod) -> bool:
        """Running or pending pods, and the stand-ins (which no listing shows)."""
        return pod.key in self._active_keys or pod.key in self._stand_in_keys

    def _members(self, bits: int) -> Iterator[Pod]:
        for index in iter_bits(bits & self._active):
            yield from self._classes[index].members

    # --- isolation ---------------------------------------------------------------------

    def isolation(self, pod: Pod) -> Isolation:
        """Which policies select the pod for ingress and for egress (none: not isolated).

        hostNetwork pods are never isolated: NetworkPolicy does not apply to them.
        """
        cls = self._class(pod)
        return Isolation(
            pod=pod.ref,
            host_network=pod.host_network,
            ingress_policies=tuple(self._policies[i].ref for i in cls.ingress_policies),
            egress_policies=tuple(self._policies[i].ref for i in cls.egress_policies),
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
        if not self._is_active(src) or not self._is_active(dst):
            dead = [p.key for p in (src, dst) if not self._is_active(p)]
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
            for family in self._families:
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
        if len(self._families) > 1:
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
        src_cls: _Class,
        dst_cls: _Class,
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
        policy_ids = subject_cls.egress_policies if egress else subject_cls.ingress_policies
        policies = tuple(self._policies[i].ref for i in policy_ids)
        if peer.host_network and _same_node(src, dst):
            return SideVerdict(direction, subject.ref, True, Reason.OWN_NODE, policies)
        if not policies:
            return SideVerdict(direction, subject.ref, True, Reason.NOT_ISOLATED)
        rule_ids = subject_cls.egress_rules if egress else subject_cls.ingress_rules
        allowing = tuple(
            self._rules[r].ref
            for r in rule_ids
            if number is not None
            and has(self._rules[r].peer_bits[family], peer_cls.index)
            and self._ports_match(self._rules[r].ports, dst_cls, protocol, number)
        )
        reason = Reason.RULES if allowing else Reason.NO_RULE
        return SideVerdict(direction, subject.ref, bool(allowing), reason, policies, allowing)

    # --- addresses outside the cluster -------------------------------------------------

    def check_ip(
        self, src: Pod, address: str, port: int, protocol: Protocol = Protocol.TCP
    ) -> Verdict:
        """May `src` reach an address or CIDR outside the cluster on `port`/`protocol`.

        Only the source's egress applies. For a CIDR, `allowed` is True only when
        EVERY address of it is allowed; `coverage` says ALL, SOME or NONE and
        `allowed_ranges` lists the allowed part. Egress rules without `to` allow
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
        if not self._is_active(src):
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
            cached = self._egress_to_range(src, cls, target, port, protocol)
            self._address_cache[key] = cached
        side, reached = cached
        side = _for_pod(side, src)
        return self._ip_verdict(src, address, port, protocol, side, target, reached, notes)

    def _egress_to_range(
        self, src: Pod, cls: _Class, target: AddressRange, port: int, protocol: Protocol
    ) -> tuple[SideVerdict, tuple[Interval, ...]]:
        whole = ((target.first, target.last),)
        policies = tuple(self._policies[i].ref for i in cls.egress_policies)
        if not policies:
            return SideVerdict(Direction.EGRESS, src.ref, True, Reason.NOT_ISOLATED), whole
        allowed: list[Interval] = []
        allowing: list[RuleRef] = []
        for rule_id in cls.egress_rules:
            rule = self._rules[rule_id]
            if not self._ports_match(rule.ports, None, protocol, port):
                continue
            part: tuple[Interval, ...] = (
                whole if rule.all_peers else tuple(i for b in rule.blocks for i in b.within(target))
            )
            if part:
                allowed.extend(part)
                allowing.append(rule.ref)
        reached = normalize(allowed)
        reason = Reason.RULES if reached else Reason.NO_RULE
        side = SideVerdict(
            Direction.EGRESS, src.ref, bool(reached), reason, policies, tuple(allowing)
        )
        return side, reached

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
                side.allowing_rules,
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
            for cls in self._classes:
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
        udp = tuple(self.check(pod, dns, 53, Protocol.UDP) for dns in self.dns_pods)
        tcp = tuple(self.check(pod, dns, 53, Protocol.TCP) for dns in self.dns_pods)
        return DnsAccess(
            pod=pod.ref,
            dns_pods=tuple(d.ref for d in self.dns_pods),
            stand_in=self.dns_stand_in,
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
        if not self._is_active(src):
            return []
        return self._neighbours(src, self._relation(protocol, port).rows[self._class(src).index])

    def reachers_of(
        self, dst: Pod, port: int | None = None, protocol: Protocol | None = Protocol.TCP
    ) -> list[Pod]:
        """The other pods that may reach `dst` on `port`/`protocol`, sorted by namespace/name.

        `port=None` means on at least one port; `protocol=None` on any protocol.
        """
        if not self._is_active(dst):
            return []
        return self._neighbours(dst, self._relation(protocol, port).cols[self._class(dst).index])

    def _neighbours(self, pod: Pod, classes: int) -> list[Pod]:
        """The members of `classes` and `pod`'s own-node partners, less `pod`, sorted by key."""
        found = {p.key: p for p in self._members(classes)}
        for partner in self._node_partners(pod):
            found.setdefault(partner.key, partner)
        found.pop(pod.key, None)
        return [found[k] for k in sorted(found)]

    def _node_partners(self, pod: Pod) -> list[Pod]:
        """Pods that `pod` may reach, and that may reach it, whatever the policies say:
        traffic between a pod and its own node (its hostNetwork pods) is always allowed."""
        if not pod.node_name:
            return []
        if pod.host_network:
            return self._pods_on_node.get(pod.node_name, [])
        return self._host_pods_on_node.get(pod.node_name, [])

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
        if not self._is_active(dst):
            return []
        col = self._relation(protocol, port).cols[self._class(dst).index] & self._policed
        col &= ~self._ns_bits[dst.namespace]
        found = []
        for namespace in self._namespaces_of(col):
            everyone = self._ns_bits[namespace] & self._active & self._policed
            reaching = col & everyone
            found.append(
                NamespaceReach(
                    namespace=namespace,
                    pods=self._weighted(reaching),
                    whole=reaching == everyone,
                    _members=tuple(self._classes[i].members for i in iter_bits(reaching)),
                )
            )
        return found

    def open_ingress(self, dst: Pod) -> bool:
        """Does `dst`'s ingress admit every pod of every other namespace on every port?

        The lateral-movement question: True when `dst` is not isolated for ingress
        (hostNetwork pods included), or when its ingress rules together admit, on
        every port of every protocol, every pod of the snapshot's other namespaces
        and also a pod without labels in a namespace no selector names. The
        sources' own egress policies are not considered (see `cross_namespace_reachers`).
        """
        cls = self._class(dst)
        if not cls.ingress_policies:
            return True
        # Pod-network pods of the other namespaces, and a stand-in for pods not seen yet.
        outsider = 1 << self._class_of[self._outsider.key].index
        needed = (self._active | outsider) & self._policed & ~self._ns_bits[dst.namespace]
        for proto in PROTOCOLS:
            for number in self._atoms[proto]:
                port_cache: dict[Any, int] = {}
                for family in self._families:
                    admitted = 0
                    for rule_id in cls.ingress_rules:
                        rule = self._rules[rule_id]
                        if has(self._port_bits(rule.ports, proto, number, port_cache), cls.index):
                            admitted |= rule.peer_bits[family]
                    if needed & ~admitted:
                        return False
        return True

    def matrix(self, port: int, protocol: Protocol = Protocol.TCP) -> dict[str, dict[str, bool]]:
        """Every pod pair: matrix["ns/src"]["ns/dst"] is True when src may reach dst.

        Pods are keyed "namespace/name", in sorted order; a pod reaches itself.
        """
        pods = self.pods
        relation = self._relation(protocol, port)
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

    def _weighted(self, bits: int) -> int:
        """How many pods the classes in `bits` hold."""
        return sum(w * (bits & mask).bit_count() for w, mask in self._weight_masks)

    def _namespaces_of(self, bits: int) -> Iterator[str]:
        """Namespaces with a pod in `bits` (one jump per namespace, classes being sorted)."""
        bits &= self._active
        while bits:
            index = (bits & -bits).bit_length() - 1
            namespace = self._classes[index].namespace
            yield namespace
            end = self._ns_span[namespace][1]
            bits = bits >> end << end

    def summary(self) -> dict[str, Any]:
        """A JSON-ready reachability summary, on any port and protocol.

        - `pods`, `namespaces`, `policies`, `classes`; `isolation`: how many pods are
          isolated per direction, and how many use the host network.
        - `pod_classes`: per class (pods no policy tells apart): namespace, member
          names, hostNetwork, isolation and the policies behind it, and the blast
          radius: `can_reach` and `reachable_from`, each as counts of *other* pods
          and of namespaces holding them. Both include the pods on a member's own
          node that are always reachable (its hostNetwork pods, or every pod there
          for a hostNetwork class); when members sit on different nodes, the largest
          count is given.
        - `namespace_matrix`: {src_ns: {dst_ns: {"allowed": n, "total": m}}}: of the m
          pod pairs (a pod and itself excluded), n may connect on some port.
        """
        if self._summary is not None:
            return self._summary
        relation = self._relation(None, None)
        namespaces = sorted({c.namespace for c in self._classes if c.weight})
        pairs: dict[str, dict[str, int]] = {a: dict.fromkeys(namespaces, 0) for a in namespaces}
        per_namespace: dict[int, list[tuple[str, int]]] = {}
        seen_cols: dict[int, tuple[int, frozenset[str]]] = {}
        classes_on_node = self._classes_on_node()
        entries = []
        for cls in self._classes:
            if not cls.weight:
                continue
            row, col = relation.rows[cls.index], relation.cols[cls.index]
            counts = per_namespace.get(row)
            if counts is None:
                counts = [
                    (ns, self._weighted(row & self._ns_bits[ns])) for ns in self._namespaces_of(row)
                ]
                per_namespace[row] = counts
            for ns, count in counts:
                pairs[cls.namespace][ns] += cls.weight * count
            if has(row, cls.index):
                pairs[cls.namespace][cls.namespace] -= cls.weight  # each pod and itself
            reach_counted = (sum(n for _, n in counts), frozenset(ns for ns, _ in counts))
            reach = self._blast(cls, row, reach_counted, classes_on_node, pairs)
            reached_counted = seen_cols.get(col)
            if reached_counted is None:
                # Many classes share a column (everyone reaches the DNS pods): count it once.
                reached_counted = (self._weighted(col), frozenset(self._namespaces_of(col)))
                seen_cols[col] = reached_counted
            reached = self._blast(cls, col, reached_counted, classes_on_node, None)
            entries.append(
                {
                    "namespace": cls.namespace,
                    "pods": sorted(p.name for p in cls.members),
                    "host_network": cls.host_network,
                    "ingress_isolated": bool(cls.ingress_policies),
                    "egress_isolated": bool(cls.egress_policies),
                    "ingress_policies": [self._policies[i].name for i in cls.ingress_policies],
                    "egress_policies": [self._policies[i].name for i in cls.egress_policies],
                    "can_reach": {"pods": reach[0], "namespaces": reach[1]},
                    "reachable_from": {"pods": reached[0], "namespaces": reached[1]},
                }
            )
        entries.sort(key=lambda e: (e["namespace"], e["pods"]))
        ns_pods = {ns: self._weighted(self._ns_bits[ns]) for ns in namespaces}
        # Cells with equal counts share one dict: with a thousand namespaces the matrix
        # has a million cells, most of them alike. Treat the summary as read-only.
        cells: dict[tuple[int, int], dict[str, int]] = {}
        matrix: dict[str, dict[str, dict[str, int]]] = {}
        for a in namespaces:
            row_cells = matrix[a] = {}
            for b in namespaces:
                key = (pairs[a][b], ns_pods[a] * ns_pods[b] - (ns_pods[a] if a == b else 0))
                cell = cells.get(key)
                if cell is None:
                    cell = cells[key] = {"allowed": key[0], "total": key[1]}
                row_cells[b] = cell
        notes = [
            "counts are on any port and protocol; a pod is not counted as reaching itself",
            "hostNetwork pods are outside NetworkPolicy",
        ]
        if self.dns_stand_in:
            notes.append("no kube-dns pods in the snapshot: DNS checks use a stand-in pod")
        self._summary = {
            "pods": sum(c.weight for c in self._classes),
            "namespaces": len(namespaces),
            "policies": len(self._policies),
            "classes": len(entries),
            "isolation": {
                "ingress_isolated": sum(c.weight for c in self._classes if c.ingress_policies),
                "egress_isolated": sum(c.weight for c in self._classes if c.egress_policies),
                "host_network": sum(c.weight for c in self._classes if c.host_network),
            },
            "pod_classes": entries,
            "namespace_matrix": matrix,
            "notes": notes + self.warnings,
        }
        return self._summary

    def _classes_on_node(self) -> dict[str, dict[_Class, int]]:
        """node -> {class: members on that node}, for pods on nodes with hostNetwork pods."""
        result: dict[str, dict[_Class, int]] = {}
        for node in self._host_pods_on_node:
            counter: dict[_Class, int] = defaultdict(int)
            for pod in self._pods_on_node[node]:
                counter[self._class_of[pod.key]] += 1
            result[node] = counter
        return result

    def _without_self(
        self,
        cls: _Class,
        bits: int,
        pods: int,
        namespaces: AbstractSet[str],
        extra_namespaces: AbstractSet[str] = frozenset(),
    ) -> tuple[int, int]:
        """Counts of other pods and of their namespaces, the pod itself taken out."""
        count = len(namespaces) + len(extra_namespaces - namespaces)
        if has(bits, cls.index):
            pods -= 1
            others = bits & self._ns_bits[cls.namespace] & self._active & ~(1 << cls.index)
            if cls.weight == 1 and not others and cls.namespace not in extra_namespaces:
                count -= 1
        return pods, count

    def _blast(
        self,
        cls: _Class,
        bits: int,
        counted: tuple[int, frozenset[str]],
        classes_on_node: dict[str, dict[_Class, int]],
        pairs: dict[str, dict[str, int]] | None,
    ) -> tuple[int, int]:
        """Other pods and namespaces in a row or column of `cls`, plus those on a
        member's own node (traffic between a pod and its node's hostNetwork pods is
        always allowed). With members on several nodes, the largest count is given.
        For a row, `pairs` (namespace pod-pair counts) gets the own-node pairs too."""
        pods, namespaces = counted
        best = self._without_self(cls, bits, pods, namespaces)
        if cls.host_network:
            # A hostNetwork class sits on one node, and meets every pod there.
            extra = [
                (other, count)
                for other, count in classes_on_node.get(cls.node or "", {}).items()
                if not has(bits, other.index)
            ]
            if extra:
                best = self._without_self(
                    cls,
                    bits,
                    pods + sum(count for _, count in extra),
                    namespaces,
                    frozenset(other.namespace for other, _ in extra),
                )
                if pairs is not None:
                    for other, count in extra:
                        pairs[cls.namespace][other.namespace] += cls.weight * count
            return best
        on_node: dict[str, int] = defaultdict(int)
        for pod in cls.members:
            if pod.node_name is not None and pod.node_name in self._host_bits_on_node:
                on_node[pod.node_name] += 1
        for node, members_here in on_node.items():
            extra_bits = self._host_bits_on_node[node] & ~bits
            if not extra_bits:
                continue
            with_node = self._without_self(
                cls,
                bits,
                pods + self._weighted(extra_bits),
                namespaces,
                frozenset(self._namespaces_of(extra_bits)),
            )
            best = (max(best[0], with_node[0]), max(best[1], with_node[1]))
            if pairs is not None:
                for index in iter_bits(extra_bits):
                    host = self._classes[index]
                    pairs[cls.namespace][host.namespace] += members_here * host.weight
        return best


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
        side.allowing_rules,
    )


def _same_node(a: Pod, b: Pod) -> bool:
    return a.node_name is not None and a.node_name == b.node_name
