"""The fast engine and the simple reference evaluator agree on random clusters.

Hypothesis draws namespaces, pods (labels, named container ports, IPv4/IPv6
addresses, hostNetwork, nodes, terminated phases) and policies (every selector
operator, policyTypes present or defaulted, absent/empty/filled rule lists,
peers of every shape, ipBlocks with except, numeric/named/ranged ports on every
protocol). Every pod pair on every port checked must get the same answer.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaudit.model import (
    ClusterFacts,
    Namespace,
    NetworkPolicy,
    Pod,
    Protocol,
    Snapshot,
)
from kaudit.netpol import Coverage, PolicyEngine
from tests.netpol.reference import Reference

NAMESPACES = ("a", "b", "c")
POD_LABELS = {"app": ("web", "db"), "tier": ("front", "back")}
NS_LABELS = {"team": ("red", "blue"), "env": ("prod", "dev")}
CONTAINER_PORTS = (
    (80, "TCP", "http"),
    (8080, "TCP", "http"),
    (53, "UDP", "dns"),
    (53, "TCP", "dns-tcp"),
    (81, "SCTP", "sctp"),
    (9000, "TCP", None),
)
# Named policy ports with their protocol (None: defaulted to TCP), matching or not.
NAMED_POLICY_PORTS = (
    ("http", None),
    ("http", "TCP"),
    ("dns", "UDP"),
    ("dns", "TCP"),
    ("dns-tcp", None),
    ("sctp", "SCTP"),
    ("nope", None),
)
CIDRS = ("10.0.0.0/16", "10.0.1.0/24", "0.0.0.0/0", "fd00::/64", "::/0", "10.0.1.5/32")
EXCEPTS = ("10.0.1.0/28", "10.0.0.0/24", "fd00::/120", "10.0.1.5/32")
CHECKED_PORTS = (53, 80, 81, 8080, 9000, 12345)
ADDRESSES = ("10.0.1.5", "10.0.0.7", "8.8.8.8", "fd00::5", "2001:db8::1", "169.254.169.254")


def selector(keys: dict[str, tuple[str, ...]]) -> st.SearchStrategy[dict[str, Any]]:
    """Label selectors over `keys` (values drawn from each key's own values, plus a
    stranger), every operator; often empty, which selects everything."""

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if draw(st.integers(0, 3)) == 0:
            return result
        key = draw(st.sampled_from(sorted(keys)))
        values = (*keys[key], "stranger")
        if draw(st.booleans()):
            result["matchLabels"] = {key: draw(st.sampled_from(keys[key]))}
        if draw(st.booleans()) or not result:
            key = draw(st.sampled_from(sorted(keys)))
            values = (*keys[key], "stranger")
            operator = draw(st.sampled_from(("In", "NotIn", "Exists", "DoesNotExist")))
            expression: dict[str, Any] = {"key": key, "operator": operator}
            if operator in ("In", "NotIn"):
                expression["values"] = draw(
                    st.lists(st.sampled_from(values), min_size=1, max_size=2, unique=True)
                )
            result["matchExpressions"] = [expression]
        return result

    return build()


pod_selector = selector({**POD_LABELS})
namespace_selector = selector({**NS_LABELS, "kubernetes.io/metadata.name": NAMESPACES})


@st.composite
def peers(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(st.sampled_from(("pod", "ns", "both", "ip", "ip", "empty-pod", "empty-ns")))
    if shape == "ip":
        block: dict[str, Any] = {"cidr": draw(st.sampled_from(CIDRS))}
        excepts = draw(st.lists(st.sampled_from(EXCEPTS), max_size=2, unique=True))
        if excepts:
            block["except"] = excepts
        return {"ipBlock": block}
    if shape == "empty-pod":
        return {"podSelector": {}}
    if shape == "empty-ns":
        return {"namespaceSelector": {}}
    peer: dict[str, Any] = {}
    if shape in ("pod", "both"):
        peer["podSelector"] = draw(pod_selector)
    if shape in ("ns", "both"):
        peer["namespaceSelector"] = draw(namespace_selector)
    return peer


@st.composite
def policy_ports(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {}
    kind = draw(st.sampled_from(("none", "number", "name", "name", "range")))
    if kind == "name":
        name, protocol = draw(st.sampled_from(NAMED_POLICY_PORTS))
        entry["port"] = name
        if protocol:
            entry["protocol"] = protocol
        return entry
    protocol = draw(st.sampled_from((None, "TCP", "UDP", "SCTP")))
    if protocol:
        entry["protocol"] = protocol
    if kind == "number":
        entry["port"] = draw(st.sampled_from((53, 80, 81, 8080)))
    elif kind == "range":
        start = draw(st.sampled_from((53, 80, 8000)))
        entry["port"] = start
        entry["endPort"] = start + draw(st.sampled_from((0, 1, 100, 5000)))
    return entry


@st.composite
def policy_rules(draw: st.DrawFn, peer_key: str) -> dict[str, Any]:
    policy_rule: dict[str, Any] = {}
    if draw(st.booleans()):
        policy_rule[peer_key] = draw(st.lists(peers(), min_size=1, max_size=2))
    if draw(st.booleans()):
        policy_rule["ports"] = draw(st.lists(policy_ports(), min_size=1, max_size=2))
    return policy_rule


@st.composite
def policies(draw: st.DrawFn, index: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": draw(pod_selector)}
    types = draw(st.sampled_from((None, ["Ingress"], ["Egress"], ["Ingress", "Egress"])))
    if types:
        spec["policyTypes"] = types
    for key, peer_key in (("ingress", "from"), ("egress", "to")):
        shape = draw(st.sampled_from(("absent", "empty", "rules", "rules")))
        if shape == "empty":
            spec[key] = []
        elif shape == "rules":
            spec[key] = draw(st.lists(policy_rules(peer_key), min_size=1, max_size=2))
    return {
        "kind": "NetworkPolicy",
        "metadata": {
            "name": f"np{index}",
            "namespace": draw(st.sampled_from(("a", "a", "b", "c"))),
        },
        "spec": spec,
    }


@st.composite
def pods(draw: st.DrawFn, index: int) -> dict[str, Any]:
    namespace = draw(st.sampled_from(("a", "a", "b", "c", "undeclared")))
    labels = draw(
        st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in POD_LABELS.items()})
    )
    chosen = draw(
        st.lists(
            st.sampled_from(CONTAINER_PORTS), max_size=4, unique_by=lambda p: p[2] or str(p[0])
        )
    )
    ports = [
        {"containerPort": n, "protocol": proto, **({"name": name} if name else {})}
        for n, proto, name in chosen
    ]
    host_network = draw(st.integers(0, 9)) == 0
    node = draw(st.sampled_from((None, "n1", "n2")))
    family = draw(st.sampled_from(("none", "v4", "v4", "v6", "dual")))
    v4 = f"10.0.{draw(st.sampled_from((0, 1)))}.{index + 2}"
    v6 = f"fd00::{index + 2:x}"
    ips = {"none": [], "v4": [v4], "v6": [v6], "dual": [v4, v6]}[family]
    status: dict[str, Any] = {
        "phase": draw(st.sampled_from(("Running",) * 6 + ("Succeeded", "Pending")))
    }
    if ips:
        status["podIP"] = ips[0]
        status["podIPs"] = [{"ip": ip} for ip in ips]
    spec: dict[str, Any] = {"containers": [{"name": "c", "ports": ports}]}
    if host_network:
        spec["hostNetwork"] = True
    if node:
        spec["nodeName"] = node
    return {
        "kind": "Pod",
        "metadata": {"name": f"p{index}", "namespace": namespace, "labels": labels},
        "spec": spec,
        "status": status,
    }


@st.composite
def clusters(draw: st.DrawFn) -> Snapshot:
    namespaces = [
        Namespace.from_raw(
            {
                "metadata": {
                    "name": name,
                    "labels": draw(
                        st.fixed_dictionaries(
                            {}, optional={k: st.sampled_from(v) for k, v in NS_LABELS.items()}
                        )
                    ),
                }
            }
        )
        for name in NAMESPACES
        if draw(st.integers(0, 4)) > 0
    ]
    pod_count = draw(st.integers(1, 7))
    pod_objects = [Pod.from_raw(draw(pods(i))) for i in range(pod_count)]
    policy_objects = [
        NetworkPolicy.from_raw(draw(policies(i))) for i in range(draw(st.integers(0, 5)))
    ]
    return Snapshot(
        facts=ClusterFacts(source="manifests"),
        namespaces=tuple(namespaces),
        pods=tuple(pod_objects),
        network_policies=tuple(policy_objects),
    )


FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FAST
@given(clusters())
def test_matrix_agrees_with_reference_on_every_pair_and_port(snapshot: Snapshot) -> None:
    engine = PolicyEngine(snapshot)
    reference = Reference(snapshot)
    live = reference.pods()
    assert [p.key for p in engine.pods] == [p.key for p in live]
    for protocol in Protocol:
        for port in CHECKED_PORTS:
            matrix = engine.matrix(port, protocol)
            for src in live:
                for dst in live:
                    expected = reference.allowed(src, dst, port, protocol)
                    assert matrix[src.key][dst.key] is expected, (src.key, dst.key, port, protocol)
                    assert engine.check(src, dst, port, protocol).allowed is expected


@FAST
@given(clusters())
def test_any_port_reachability_and_summary_agree_with_reference(snapshot: Snapshot) -> None:
    engine = PolicyEngine(snapshot)
    reference = Reference(snapshot)
    live = reference.pods()
    reach = {
        src.key: {dst.key for dst in live if dst.key != src.key and reference.allowed_any(src, dst)}
        for src in live
    }
    for src in live:
        assert {p.key for p in engine.reachable_from(src, None, None)} == reach[src.key]
    for dst in live:
        expected = {s for s, targets in reach.items() if dst.key in targets}
        assert {p.key for p in engine.reachers_of(dst, None, None)} == expected

    summary = engine.summary()
    namespace_of = {p.key: p.namespace for p in live}
    reached_by = {p.key: {s for s, targets in reach.items() if p.key in targets} for p in live}
    seen = set()
    for entry in summary.pod_classes:
        members = [f"{entry.namespace}/{name}" for name in entry.pods]
        seen.update(members)
        # Members may differ by what their own node allows; the class shows the largest.
        for field, counted, sets in (
            ("can_reach", entry.can_reach, reach),
            ("reachable_from", entry.reachable_from, reached_by),
        ):
            assert counted.pods == max(len(sets[m]) for m in members), field
            assert counted.namespaces == max(
                len({namespace_of[k] for k in sets[m]}) for m in members
            ), field
    assert seen == set(reach)
    for a, row in summary.namespace_matrix.items():
        for b, cell in row.items():
            pairs = sum(
                1 for s in live if s.namespace == a for d in reach[s.key] if namespace_of[d] == b
            )
            assert cell.allowed == pairs, (a, b)


@FAST
@given(clusters())
def test_outside_addresses_agree_with_reference(snapshot: Snapshot) -> None:
    engine = PolicyEngine(snapshot)
    reference = Reference(snapshot)
    for src in reference.pods():
        for address in ADDRESSES:
            for port in (53, 80):
                for protocol in (Protocol.TCP, Protocol.UDP):
                    verdict = engine.check_ip(src, address, port, protocol)
                    expected = reference.address_allowed(src, address, port, protocol)
                    assert verdict.allowed is expected, (src.key, address, port, protocol)
        # A small range, address by address: ALL, SOME or NONE must be exact.
        network = ipaddress.ip_network("10.0.1.0/27")
        flags = [reference.address_allowed(src, str(ip), 80, Protocol.TCP) for ip in network]
        verdict = engine.check_ip(src, str(network), 80, Protocol.TCP)
        expected_coverage = (
            Coverage.ALL if all(flags) else Coverage.SOME if any(flags) else Coverage.NONE
        )
        assert verdict.coverage is expected_coverage
        allowed_count = sum(ipaddress.ip_network(c).num_addresses for c in verdict.allowed_ranges)
        if expected_coverage is Coverage.SOME:
            assert allowed_count == sum(flags)
