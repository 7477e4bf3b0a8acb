"""Pod classes and the selector index: the first step of compiling a snapshot's policies.

*Pod classes.* Pods of one namespace that agree on every label key some policy
selector looks at, on the named ports policies mention, on hostNetwork (and, for
hostNetwork pods, on the node), and on which ipBlocks contain their IPs behave
identically under every policy. Each class is evaluated once; sets of classes
are bitsets (`kaudit.netpol.bits`), and classes are numbered by namespace so
each namespace is a contiguous run of bits.

*Selector index.* Label selectors are evaluated with a (key, value) -> classes
index, so a selector costs a few bitset operations rather than a pass over pods.

Besides the snapshot's pods, two stand-ins take part: a kube-dns pod when the
snapshot has none (so DNS questions have an answer), and "any other pod", a pod
without labels in a namespace no selector can name.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from kaudit.kube import DNS_NAMESPACE, DNS_POD_LABELS, NAMESPACE_NAME_LABEL
from kaudit.model import (
    AdminPolicy,
    ContainerPort,
    IPBlock,
    Labels,
    LabelSelector,
    Namespace,
    NetworkPolicy,
    Pod,
    Protocol,
    Snapshot,
)
from kaudit.netpol.addresses import CompiledBlock, Interval, compile_block, parse_address
from kaudit.netpol.bits import bits_of, iter_bits

PROTOCOLS: tuple[Protocol, ...] = (Protocol.TCP, Protocol.UDP, Protocol.SCTP)

# Names that are not valid Kubernetes names, so they never clash with real objects.
STAND_IN_DNS_NAME = "(stand-in kube-dns)"
OUTSIDER_NAMESPACE = "(any other namespace)"
OUTSIDER_NAME = "(any pod)"

# One IP family for evaluation: 4 or 6, or 0 when no ipBlock matches any pod IP.
Family = int
# What makes pods one class: (namespace, the label values policies look at, named port
# numbers, hostNetwork, node of a hostNetwork pod, the ipBlocks holding its addresses).
ClassKey = tuple[
    str,
    tuple[tuple[str, str], ...],
    tuple[int | None, ...],
    bool,
    str | None,
    tuple[tuple[Family, frozenset[int]], ...],
]


@dataclass(frozen=True, slots=True, eq=False)
class PodClass:
    """Pods that every policy treats alike (see the module docstring)."""

    index: int
    namespace: str
    host_network: bool
    node: str | None  # set for hostNetwork classes only
    labels: Labels  # the label values policies look at
    named_ports: Mapping[tuple[str, Protocol], int | None]
    block_matches: Mapping[Family, frozenset[int]]
    members: tuple[Pod, ...]  # running or pending pods
    inactive: tuple[Pod, ...]  # terminated or stand-in pods

    @property
    def weight(self) -> int:
        return len(self.members)


@dataclass(frozen=True, slots=True)
class PodClasses:
    """The classes of a snapshot's pods and the bitsets every later step starts from."""

    classes: tuple[PodClass, ...]
    class_of: Mapping[str, PodClass]  # pod key -> class, terminated and stand-in pods included
    everything: int  # every class
    active: int  # classes with running or pending pods
    policed: int  # classes NetworkPolicy governs (not hostNetwork)
    ns_bits: Mapping[str, int]
    ns_span: Mapping[str, tuple[int, int]]  # namespace -> (first, last + 1) class index
    families: tuple[Family, ...]  # IP families ipBlocks tell apart, or (0,)
    weight_masks: tuple[tuple[int, int], ...]  # (members per class, classes of that size)
    active_keys: frozenset[str]
    stand_in_keys: frozenset[str]
    outsider: Pod  # "any other pod" (see the module docstring)
    dns_pods: tuple[Pod, ...]
    dns_stand_in: bool
    # Pods on each node: a pod's own node may always reach it.
    pods_on_node: Mapping[str, tuple[Pod, ...]]
    host_pods_on_node: Mapping[str, tuple[Pod, ...]]
    host_bits_on_node: Mapping[str, int]
    # Selector index: (label key, value) -> classes; label key -> classes.
    label_bits: Mapping[tuple[str, str], int]
    key_bits: Mapping[str, int]
    # (port name, protocol, number) -> classes where that named port is that number.
    named_bits: Mapping[tuple[str, Protocol, int], int]

    def weighted(self, bits: int) -> int:
        """How many pods the classes in `bits` hold."""
        return sum(w * (bits & mask).bit_count() for w, mask in self.weight_masks)

    def namespaces_of(self, bits: int) -> Iterator[str]:
        """Namespaces with a pod in `bits` (one jump per namespace, classes being sorted)."""
        bits &= self.active
        while bits:
            index = (bits & -bits).bit_length() - 1
            namespace = self.classes[index].namespace
            yield namespace
            end = self.ns_span[namespace][1]
            bits = bits >> end << end

    def members(self, bits: int) -> Iterator[Pod]:
        for index in iter_bits(bits & self.active):
            yield from self.classes[index].members

    def is_active(self, pod: Pod) -> bool:
        """Running or pending pods, and the stand-ins (which no listing shows)."""
        return pod.key in self.active_keys or pod.key in self.stand_in_keys


@dataclass(frozen=True, slots=True)
class CompiledBlocks:
    """The distinct ipBlocks of all policy rules, each compiled once (None: its CIDR does not parse)."""

    ids: Mapping[IPBlock, int]
    blocks: tuple[CompiledBlock | None, ...]
    warnings: tuple[str, ...]

    def intervals_by_version(self) -> dict[int, list[tuple[int, tuple[Interval, ...]]]]:
        """(block id, allowed intervals) per IP version, for matching pod addresses."""
        by_version: dict[int, list[tuple[int, tuple[Interval, ...]]]] = defaultdict(list)
        for block_id, block in enumerate(self.blocks):
            if block is not None:
                by_version[block.version].append((block_id, block.allowed))
        return dict(by_version)


def compile_blocks(
    policies: Iterable[NetworkPolicy], extra: Iterable[tuple[str, IPBlock]] = ()
) -> CompiledBlocks:
    """Distinct ipBlocks of all policy rules, compiled once; a bad CIDR matches nothing.

    `extra`: more address blocks (the networks and node addresses of admin policies'
    peers), each with the name of what it comes from, for the warning."""
    ids: dict[IPBlock, int] = {}
    blocks: list[CompiledBlock | None] = []
    warnings: list[str] = []
    named = [
        (f"NetworkPolicy {policy.namespace}/{policy.name}", peer.ip_block)
        for policy in policies
        for policy_rule in (*policy.ingress, *policy.egress)
        for peer in policy_rule.peers
        if peer.ip_block is not None
    ]
    for owner, block in (*named, *extra):
        if block in ids:
            continue
        ids[block] = len(blocks)
        try:
            blocks.append(compile_block(block))
        except ValueError:
            blocks.append(None)
            warnings.append(
                f"{owner}: ipBlock {block.cidr!r} (except {list(block.except_)}) does not "
                "parse; it matches nothing"
            )
    return CompiledBlocks(ids, tuple(blocks), tuple(warnings))


def namespace_labels(snapshot: Snapshot) -> dict[str, Labels]:
    """Labels of every namespace a pod or policy names (implicit ones included)."""
    labels = {ns.name: ns.labels for ns in snapshot.namespaces}
    used = [p.namespace for p in snapshot.pods]
    used += [p.namespace for p in snapshot.network_policies]
    for name in used:
        if name not in labels:
            labels[name] = Namespace.implicit(name).labels
    labels.setdefault(DNS_NAMESPACE, Namespace.implicit(DNS_NAMESPACE).labels)
    labels[OUTSIDER_NAMESPACE] = MappingProxyType({NAMESPACE_NAME_LABEL: OUTSIDER_NAMESPACE})
    return labels


def build_pod_classes(
    snapshot: Snapshot,
    policies: Iterable[NetworkPolicy],
    blocks: CompiledBlocks,
    admin_policies: Sequence[AdminPolicy] = (),
) -> tuple[PodClasses, tuple[str, ...]]:
    """The pod classes of a snapshot, and warnings about its pods."""
    policies = tuple(policies)
    label_keys, named_refs = _references(policies, admin_policies)
    pods, dns_pods, dns_stand_in, outsider, warnings = _collect_pods(snapshot)
    stand_ins = {outsider.key}
    if dns_stand_in:
        stand_ins.update(p.key for p in dns_pods)
    intervals = blocks.intervals_by_version() if blocks.blocks else {}

    def block_signature(pod: Pod) -> dict[Family, frozenset[int]]:
        """Per IP family, the ipBlocks (by id) holding one of the pod's addresses."""
        if not intervals or not pod.pod_ips:
            return {}
        matched: dict[Family, set[int]] = defaultdict(set)
        for ip in pod.pod_ips:
            parsed = parse_address(ip)
            if parsed is None:
                continue
            version, value = parsed
            for block_id, allowed in intervals.get(version, ()):
                for lo, hi in allowed:
                    if lo <= value <= hi:
                        matched[version].add(block_id)
                        break
        return {family: frozenset(ids) for family, ids in matched.items()}

    # Class key -> (the class without its index and members, members, inactive members).
    by_key: dict[ClassKey, tuple[PodClass, list[Pod], list[Pod]]] = {}
    common_blocks: dict[Family, frozenset[int]] = {}
    for pod, active in pods:
        labels = tuple(sorted((k, v) for k, v in pod.labels.items() if k in label_keys))
        named: tuple[int | None, ...] = ()
        if named_refs:
            own = {(p.name, p.protocol): p.container_port for p in reversed(pod.ports)}
            named = tuple(own.get(ref) for ref in named_refs)
        if pod is outsider:
            # Taken to be in the ipBlocks holding every pod-network address seen,
            # so `from: [ipBlock: 0.0.0.0/0]` admits it and excepting the pod range
            # does not (it comes last, after every real pod).
            signature = {f: ids for f, ids in common_blocks.items() if ids}
        else:
            signature = block_signature(pod)
            if active and not pod.host_network:
                for family in {v for v, _ in filter(None, map(parse_address, pod.pod_ips))}:
                    held = signature.get(family, frozenset())
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
            tuple(sorted(signature.items())),
        )
        entry = by_key.get(key)
        if entry is None:
            draft = PodClass(
                index=-1,
                namespace=pod.namespace,
                host_network=pod.host_network,
                node=node,
                labels=MappingProxyType(dict(labels)),
                named_ports=MappingProxyType(dict(zip(named_refs, named, strict=True))),
                block_matches=MappingProxyType(signature),
                members=(),
                inactive=(),
            )
            entry = by_key[key] = (draft, [], [])
        (entry[1] if active else entry[2]).append(pod)
    # Ordered by namespace so each namespace is a contiguous run of bits.
    ordered = sorted(by_key.values(), key=lambda entry: entry[0].namespace)
    classes = tuple(
        replace(draft, index=index, members=tuple(members), inactive=tuple(inactive))
        for index, (draft, members, inactive) in enumerate(ordered)
    )
    class_of = {pod.key: cls for cls in classes for pod in (*cls.members, *cls.inactive)}
    return (
        _index(
            classes,
            class_of,
            outsider=outsider,
            dns_pods=dns_pods,
            dns_stand_in=dns_stand_in,
            stand_in_keys=frozenset(stand_ins),
        ),
        warnings,
    )


def _references(
    policies: tuple[NetworkPolicy, ...], admin_policies: Sequence[AdminPolicy]
) -> tuple[frozenset[str], tuple[tuple[str, Protocol], ...]]:
    """The label keys and named ports that policies look at: all that tells pods apart."""
    keys: set[str] = set()
    named: set[tuple[str, Protocol]] = set()

    def note(selector: LabelSelector | None) -> None:
        if selector is not None:
            keys.update(selector.match_labels)
            keys.update(req.key for req in selector.match_expressions)

    for policy in policies:
        note(policy.pod_selector)
        for policy_rule in (*policy.ingress, *policy.egress):
            for peer in policy_rule.peers:
                if peer.ip_block is None:
                    note(peer.pod_selector)
            for port in policy_rule.ports:
                if isinstance(port.port, str):
                    named.add((port.port, port.protocol))
    for admin in admin_policies:
        if admin.subject.pods is not None:
            note(admin.subject.pods.pod_selector)
        for admin_rule in (*admin.ingress, *admin.egress):
            for admin_peer in admin_rule.peers:
                if admin_peer.pods is not None:
                    note(admin_peer.pods.pod_selector)
            for port in admin_rule.ports:
                if isinstance(port.port, str):
                    named.add((port.port, port.protocol))
    return frozenset(keys), tuple(sorted(named))


def _collect_pods(
    snapshot: Snapshot,
) -> tuple[list[tuple[Pod, bool]], tuple[Pod, ...], bool, Pod, tuple[str, ...]]:
    """(pod, active) pairs: snapshot pods (deduplicated) plus the stand-ins; the DNS pods,
    whether they are a stand-in, the "any other pod" stand-in, and warnings."""
    seen: set[str] = set()
    warnings: list[str] = []
    pods: list[tuple[Pod, bool]] = []
    for pod in snapshot.pods:
        if pod.key in seen:
            warnings.append(f"pod {pod.key} appears more than once; the first is used")
            continue
        seen.add(pod.key)
        pods.append((pod, not pod.terminated))
    dns_pods = tuple(
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
    dns_stand_in = not dns_pods
    if dns_stand_in:
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
        dns_pods = (stand_in,)
    # A pod with no labels in a namespace no selector can name: "any other pod".
    outsider = Pod(
        namespace=OUTSIDER_NAMESPACE,
        name=OUTSIDER_NAME,
        labels=MappingProxyType({}),
        annotations=MappingProxyType({}),
        ports=(),
        phase="Running",
    )
    pods.append((outsider, False))
    return pods, dns_pods, dns_stand_in, outsider, tuple(warnings)


def _index(
    classes: tuple[PodClass, ...],
    class_of: dict[str, PodClass],
    *,
    outsider: Pod,
    dns_pods: tuple[Pod, ...],
    dns_stand_in: bool,
    stand_in_keys: frozenset[str],
) -> PodClasses:
    """The bitsets and lookups over the classes, the selector index among them."""
    ns_indexes: dict[str, list[int]] = defaultdict(list)
    for cls in classes:
        ns_indexes[cls.namespace].append(cls.index)
    families = sorted({f for c in classes for f, ids in c.block_matches.items() if ids})
    by_weight: dict[int, list[int]] = defaultdict(list)
    for cls in classes:
        if cls.weight:
            by_weight[cls.weight].append(cls.index)
    pods_on_node: dict[str, list[Pod]] = defaultdict(list)
    host_pods_on_node: dict[str, list[Pod]] = defaultdict(list)
    for cls in classes:
        for pod in cls.members:
            if pod.node_name:
                pods_on_node[pod.node_name].append(pod)
                if pod.host_network:
                    host_pods_on_node[pod.node_name].append(pod)
    by_pair: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_label_key: dict[str, list[int]] = defaultdict(list)
    by_named: dict[tuple[str, Protocol, int], list[int]] = defaultdict(list)
    for cls in classes:
        for key, value in cls.labels.items():
            by_pair[(key, value)].append(cls.index)
            by_label_key[key].append(cls.index)
        for (name, proto), number in cls.named_ports.items():
            if number is not None:
                by_named[(name, proto, number)].append(cls.index)
    return PodClasses(
        classes=classes,
        class_of=class_of,
        everything=(1 << len(classes)) - 1,
        active=bits_of(c.index for c in classes if c.weight),
        policed=bits_of(c.index for c in classes if not c.host_network),
        ns_bits={ns: bits_of(indexes) for ns, indexes in ns_indexes.items()},
        ns_span={ns: (indexes[0], indexes[-1] + 1) for ns, indexes in ns_indexes.items()},
        families=tuple(families) or (0,),
        weight_masks=tuple((w, bits_of(ix)) for w, ix in sorted(by_weight.items())),
        active_keys=frozenset(p.key for c in classes for p in c.members),
        stand_in_keys=stand_in_keys,
        outsider=outsider,
        dns_pods=dns_pods,
        dns_stand_in=dns_stand_in,
        pods_on_node={node: tuple(pods) for node, pods in pods_on_node.items()},
        host_pods_on_node={node: tuple(pods) for node, pods in host_pods_on_node.items()},
        # hostNetwork classes are per node, so a node's are wholly on it.
        host_bits_on_node={
            node: bits_of(class_of[p.key].index for p in pods)
            for node, pods in host_pods_on_node.items()
        },
        label_bits={pair: bits_of(ix) for pair, ix in by_pair.items()},
        key_bits={key: bits_of(ix) for key, ix in by_label_key.items()},
        named_bits={ref: bits_of(ix) for ref, ix in by_named.items()},
    )


class SelectorIndex:
    """Label selectors as bitsets of classes, each distinct selector evaluated once.

    Used while compiling only; the caches die with it.
    """

    def __init__(self, classes: PodClasses, namespace_labels: Mapping[str, Labels]) -> None:
        self._classes = classes
        self._namespace_labels = namespace_labels
        self._pods: dict[LabelSelector, int] = {}
        self._namespaces: dict[LabelSelector, int] = {}

    def pods(self, selector: LabelSelector) -> int:
        """Policed classes (any namespace) whose labels the selector matches."""
        cached = self._pods.get(selector)
        if cached is not None:
            return cached
        index = self._classes
        bits = index.policed
        for pair in selector.match_labels.items():
            bits &= index.label_bits.get(pair, 0)
        for req in selector.match_expressions:
            if req.operator in ("In", "NotIn"):
                values = 0
                for value in req.values:
                    values |= index.label_bits.get((req.key, value), 0)
                bits = bits & values if req.operator == "In" else bits & ~values
            elif req.operator == "Exists":
                bits &= index.key_bits.get(req.key, 0)
            else:  # DoesNotExist
                bits &= ~index.key_bits.get(req.key, 0)
        self._pods[selector] = bits
        return bits

    def namespaces(self, selector: LabelSelector) -> int:
        """Classes of every namespace whose labels the selector matches."""
        cached = self._namespaces.get(selector)
        if cached is not None:
            return cached
        bits = 0
        for name, labels in self._namespace_labels.items():
            if selector.matches(labels):
                bits |= self._classes.ns_bits.get(name, 0)
        self._namespaces[selector] = bits
        return bits
