"""Random clusters with admin and baseline policies: the whole-matrix answers (bitset walks
over classes, the ingress side taken from the source's side) must equal the pair
verdicts (each side walked rule by rule for one pair) on every pair, port and protocol.

The two are independent implementations of the same tier order; the truth of the pair
verdicts against the spec is checked case by case in test_admin_tiers.py.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kaudit.model import AdminPolicy, Protocol, Snapshot
from kaudit.netpol import Coverage, PolicyEngine
from tests.netpol.test_differential import (
    ADDRESSES,
    CHECKED_PORTS,
    FAST,
    NS_LABELS,
    POD_LABELS,
    clusters,
    selector,
)

NAMESPACE_KEYS: dict[str, tuple[str, ...]] = dict(NS_LABELS)
POD_KEYS: dict[str, tuple[str, ...]] = dict(POD_LABELS)
NETWORKS = ("10.0.0.0/16", "10.0.1.0/24", "0.0.0.0/0", "fd00::/64", "::/0", "10.0.1.5/32")


@st.composite
def selections(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"namespaces": draw(selector(NAMESPACE_KEYS))}
    return {
        "pods": {
            "namespaceSelector": draw(selector(NAMESPACE_KEYS)),
            "podSelector": draw(selector(POD_KEYS)),
        }
    }


@st.composite
def protocols(draw: st.DrawFn) -> list[dict[str, Any]]:
    entries = []
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(("number", "range", "named")))
        if kind == "named":
            named: dict[str, Any] = {
                "destinationNamedPort": draw(st.sampled_from(("http", "dns", "nope")))
            }
            entries.append(named)
            continue
        protocol = draw(st.sampled_from(("tcp", "udp", "sctp")))
        if kind == "number":
            port: dict[str, Any] = {"number": draw(st.sampled_from((53, 80, 81, 8080)))}
        else:
            start = draw(st.sampled_from((53, 80, 8000)))
            port = {"range": {"start": start, "end": start + draw(st.sampled_from((1, 100, 5000)))}}
        entries.append({protocol: {"destinationPort": port}})
    return entries


@st.composite
def admin_rules(draw: st.DrawFn, egress: bool, actions: tuple[str, ...]) -> dict[str, Any]:
    peers = []
    for _ in range(draw(st.integers(1, 2))):
        if egress and draw(st.integers(0, 3)) == 0:
            peers.append({"networks": [draw(st.sampled_from(NETWORKS))]})
        else:
            peers.append(draw(selections()))
    rule: dict[str, Any] = {
        "action": draw(st.sampled_from(actions)),
        "to" if egress else "from": peers,
    }
    has_networks = any("networks" in p for p in peers)
    if draw(st.booleans()):
        chosen = draw(protocols())
        if has_networks:
            chosen = [p for p in chosen if "destinationNamedPort" not in p]
        if chosen:
            rule["protocols"] = chosen
    return rule


@st.composite
def cluster_network_policies(draw: st.DrawFn, index: int) -> AdminPolicy:
    tier = draw(st.sampled_from(("Admin", "Admin", "Baseline")))
    spec: dict[str, Any] = {
        "tier": tier,
        "priority": draw(st.sampled_from((1, 2, 3))),  # ties happen
        "subject": draw(selections()),
    }
    actions = ("Accept", "Deny", "Pass")
    for direction, egress in (("ingress", False), ("egress", True)):
        count = draw(st.integers(0, 2))
        if count:
            spec[direction] = [draw(admin_rules(egress, actions)) for _ in range(count)]
    return AdminPolicy.from_raw(
        "ClusterNetworkPolicy", {"metadata": {"name": f"cnp-{index}"}, "spec": spec}
    )


@st.composite
def tiered_clusters(draw: st.DrawFn) -> Snapshot:
    snapshot = draw(clusters())
    admin = [draw(cluster_network_policies(i)) for i in range(draw(st.integers(1, 4)))]
    return dataclasses.replace(snapshot, admin_policies=tuple(admin))


@FAST
@given(tiered_clusters())
def test_whole_matrix_agrees_with_pair_verdicts(snapshot: Snapshot) -> None:
    engine = PolicyEngine(snapshot)
    live = engine.pods
    for protocol in Protocol:
        for port in CHECKED_PORTS:
            matrix = engine.matrix(port, protocol)
            for src in live:
                reached = {p.key for p in engine.reachable_from(src, port, protocol)}
                for dst in live:
                    expected = engine.check(src, dst, port, protocol).allowed
                    assert matrix[src.key][dst.key] is expected, (src.key, dst.key, port, protocol)
                    if src.key != dst.key:
                        assert (dst.key in reached) is expected, (src.key, dst.key, port)
            for dst in live:
                reachers = {p.key for p in engine.reachers_of(dst, port, protocol)}
                for src in live:
                    if src.key != dst.key:
                        assert (src.key in reachers) is engine.check(
                            src, dst, port, protocol
                        ).allowed, (src.key, dst.key, port)


@FAST
@given(tiered_clusters())
def test_open_sides_admit_every_other_namespace(snapshot: Snapshot) -> None:
    """open_ingress / open_egress (one walk per class over port atoms) imply that every
    pod-network pod of another namespace passes that side of the pair verdict."""
    engine = PolicyEngine(snapshot)
    live = [p for p in engine.pods if not p.host_network]
    for pod in live:
        others = [p for p in live if p.namespace != pod.namespace]
        for protocol in Protocol:
            for port in CHECKED_PORTS:
                if engine.open_ingress(pod):
                    for src in others:
                        side = engine.check(src, pod, port, protocol).ingress
                        assert side is not None and side.allowed, (src.key, pod.key, port)
                if engine.open_egress(pod):
                    for dst in others:
                        side = engine.check(pod, dst, port, protocol).egress
                        assert side is not None and side.allowed, (pod.key, dst.key, port)


@FAST
@given(tiered_clusters())
def test_an_address_is_allowed_exactly_when_its_range_part_is(snapshot: Snapshot) -> None:
    """Egress to one address and to the whole address space, walked tier by tier over
    intervals, agree on every address."""
    engine = PolicyEngine(snapshot)
    for src in engine.pods:
        for port in (53, 80, 8080):
            for whole in ("0.0.0.0/0", "::/0"):
                verdict = engine.check_ip(src, whole, port, Protocol.TCP)
                ranges = [ipaddress.ip_network(r) for r in verdict.allowed_ranges]
                for address in ADDRESSES:
                    ip = ipaddress.ip_address(address)
                    if ip.version != ipaddress.ip_network(whole).version:
                        continue
                    inside = verdict.coverage is Coverage.ALL or any(ip in r for r in ranges)
                    single = engine.check_ip(src, address, port, Protocol.TCP).allowed
                    assert single is inside, (src.key, address, port)
