"""Properties of the connectivity comparison on random clusters (hypothesis).

- diff(A, A) is empty;
- diff(A, B) mirrors diff(B, A): what one opens the other closes, connection by
  connection and port by port;
- diff(A, B) is exact: on every checked port, the pod pairs and outside addresses it
  lists as opened (closed) are those the simple reference evaluator
  (tests/netpol/reference.py, pair by pair, no classes) allows after and denies
  before (or the other way round); ingress from the internet and DNS as each side's
  engine answers them pod by pod.

The clusters are those of the engine's differential test; B keeps A's pods (one
may be gone, some relabelled) under other policies and namespace labels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from frozendict import frozendict
from hypothesis import given
from hypothesis import strategies as st

from kaudit.model import NetworkPolicy, Pod, Protocol, Snapshot
from kaudit.netpol import Coverage, PolicyEngine
from kaudit.review import (
    CLUSTER_DNS,
    INTERNET_ADDRESS,
    METADATA_ADDRESS,
    ConnectivityDiff,
    PathChange,
    Scope,
    compare_connectivity,
)
from tests.netpol.reference import Reference
from tests.netpol.test_differential import CHECKED_PORTS, FAST, POD_LABELS, clusters, policies

Connection = tuple[Scope, str, str, Protocol]


def _spread(changes: Iterable[PathChange]) -> dict[Connection, set[int]]:
    """Every connection of the blocks, with the checked ports it changed on."""
    found: dict[Connection, set[int]] = {}
    for change in changes:
        ports = {p for p in CHECKED_PORTS for r in change.ports if r.first <= p <= r.last}
        for source, target in change.connections():
            key = (change.scope, source, target, change.protocol)
            assert key not in found or not (found[key] & ports), f"{key} listed twice"
            found.setdefault(key, set()).update(ports)
    return {key: ports for key, ports in found.items() if ports}


def _listed(
    diff: ConnectivityDiff,
) -> tuple[dict[Connection, set[int]], dict[Connection, set[int]]]:
    return _spread(diff.opened), _spread(diff.closed)


@st.composite
def changed(draw: st.DrawFn, before: Snapshot) -> Snapshot:
    """`before` under other policies, some pods relabelled and maybe one gone."""
    count = draw(st.integers(0, 4))
    new_policies = tuple(NetworkPolicy.from_raw(draw(policies(i))) for i in range(count))
    if draw(st.booleans()):
        new_policies = before.network_policies[: draw(st.integers(0, 5))] + new_policies
    pods: list[Pod] = []
    for pod in before.pods:
        action = draw(st.sampled_from(("keep", "keep", "keep", "relabel", "drop")))
        if action == "drop":
            continue
        if action == "relabel":
            key = draw(st.sampled_from(sorted(POD_LABELS)))
            labels = dict(pod.labels)
            labels[key] = draw(st.sampled_from(POD_LABELS[key]))
            pod = dataclasses.replace(pod, labels=frozendict(labels))
        pods.append(pod)
    return dataclasses.replace(before, pods=tuple(pods), network_policies=new_policies)


@st.composite
def two_states(draw: st.DrawFn) -> tuple[Snapshot, Snapshot]:
    before = draw(clusters())
    return before, draw(changed(before))


@FAST
@given(clusters())
def test_a_snapshot_compared_with_itself_changes_nothing(snapshot: Snapshot) -> None:
    diff = compare_connectivity(PolicyEngine(snapshot), PolicyEngine(snapshot))
    assert diff.opened == () and diff.closed == ()
    assert diff.added_pods == () and diff.removed_pods == ()


@FAST
@given(two_states())
def test_the_diff_mirrors_the_diff_the_other_way(states: tuple[Snapshot, Snapshot]) -> None:
    before, after = states
    forward = compare_connectivity(PolicyEngine(before), PolicyEngine(after))
    backward = compare_connectivity(PolicyEngine(after), PolicyEngine(before))
    opened, closed = _listed(forward)
    back_opened, back_closed = _listed(backward)
    assert opened == back_closed
    assert closed == back_opened
    assert forward.added_pods == backward.removed_pods


def _reference_changes(
    before: Snapshot, after: Snapshot
) -> tuple[dict[Connection, set[int]], dict[Connection, set[int]]]:
    """Opened and closed connections on the checked ports, pair by pair."""
    old, new = Reference(before), Reference(after)
    old_pods = {p.key: p for p in old.pods()}
    new_pods = {p.key: p for p in new.pods()}
    opened: dict[Connection, set[int]] = {}
    closed: dict[Connection, set[int]] = {}

    def note(key: Connection, port: int, was: bool, now: bool) -> None:
        if now and not was:
            opened.setdefault(key, set()).add(port)
        elif was and not now:
            closed.setdefault(key, set()).add(port)

    keys = sorted(old_pods.keys() | new_pods.keys())
    for protocol in Protocol:
        for port in CHECKED_PORTS:
            for source in keys:
                for target in keys:
                    if source == target:
                        continue
                    was = (
                        source in old_pods
                        and target in old_pods
                        and old.allowed(old_pods[source], old_pods[target], port, protocol)
                    )
                    now = (
                        source in new_pods
                        and target in new_pods
                        and new.allowed(new_pods[source], new_pods[target], port, protocol)
                    )
                    note((Scope.PODS, source, target, protocol), port, was, now)
                for address in (INTERNET_ADDRESS, METADATA_ADDRESS):
                    if address == METADATA_ADDRESS and (protocol, port) != (Protocol.TCP, 80):
                        continue
                    was = source in old_pods and old.address_allowed(
                        old_pods[source], address, port, protocol
                    )
                    now = source in new_pods and new.address_allowed(
                        new_pods[source], address, port, protocol
                    )
                    note((Scope.EGRESS, source, address, protocol), port, was, now)
    return opened, closed


def _engine_changes(
    before: Snapshot, after: Snapshot
) -> tuple[dict[Connection, set[int]], dict[Connection, set[int]]]:
    """Opened and closed ingress from the internet and DNS on the checked ports, asked of
    each side's engine pod by pod (`ingress_from_address`, `dns_access`)."""
    sides = [(PolicyEngine(s), {p.key: p for p in PolicyEngine(s).pods}) for s in (before, after)]
    opened: dict[Connection, set[int]] = {}
    closed: dict[Connection, set[int]] = {}
    keys = sorted(sides[0][1].keys() | sides[1][1].keys())
    for protocol in Protocol:
        for port in CHECKED_PORTS:
            for key in keys:
                answers = []
                dns = []
                for engine, pods in sides:
                    pod = pods.get(key)
                    answers.append(
                        pod is not None
                        and engine.ingress_from_address(
                            pod, INTERNET_ADDRESS, port, protocol
                        ).coverage
                        is Coverage.ALL
                    )
                    access = engine.dns_access(pod) if pod is not None else None
                    dns.append(
                        access is not None
                        and (access.udp if protocol is Protocol.UDP else access.tcp)
                    )
                for scope, (was, now), source, target in (
                    (Scope.INGRESS, answers, INTERNET_ADDRESS, key),
                    (Scope.DNS, dns, key, CLUSTER_DNS),
                ):
                    if scope is Scope.DNS and (port != 53 or protocol is Protocol.SCTP):
                        continue
                    bucket = opened if now and not was else closed if was and not now else None
                    if bucket is not None:
                        bucket.setdefault((scope, source, target, protocol), set()).add(port)
    return opened, closed


@FAST
@given(two_states())
def test_ingress_from_the_internet_and_dns_match_the_engines_pod_by_pod_answers(
    states: tuple[Snapshot, Snapshot],
) -> None:
    before, after = states
    diff = compare_connectivity(PolicyEngine(before), PolicyEngine(after))
    opened, closed = _listed(diff)
    expected_opened, expected_closed = _engine_changes(before, after)

    def comparable(found: dict[Connection, set[int]]) -> dict[Connection, set[int]]:
        return {k: v for k, v in found.items() if k[0] in (Scope.INGRESS, Scope.DNS)}

    assert comparable(opened) == expected_opened
    assert comparable(closed) == expected_closed


@FAST
@given(two_states())
def test_the_diff_is_the_difference_of_pair_by_pair_answers(
    states: tuple[Snapshot, Snapshot],
) -> None:
    before, after = states
    diff = compare_connectivity(PolicyEngine(before), PolicyEngine(after))
    opened, closed = _listed(diff)
    expected_opened, expected_closed = _reference_changes(before, after)

    def comparable(found: dict[Connection, set[int]]) -> dict[Connection, set[int]]:
        return {k: v for k, v in found.items() if k[0] in (Scope.PODS, Scope.EGRESS)}

    assert comparable(opened) == expected_opened
    assert comparable(closed) == expected_closed
