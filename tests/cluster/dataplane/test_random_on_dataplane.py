"""Random clusters on real packets: kube-router and `kaudit reach` agree.

Hypothesis draws labels for a fixed set of pods and namespaces (the pods stay,
so examples cost no pod start) and a few policies: every selector operator,
policyTypes, pod/namespace/combined/ipBlock peers (the ipBlocks over the live pod
addresses), numeric, named and ranged ports. The budget is small and the draws
derandomized, so a run is repeatable; KAUDIT_DATAPLANE_EXAMPLES raises it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hack.dataplane.plane import Dataplane
from tests.cluster.dataplane.dataplane_kit import Tally, check_matrix, manifest

# `cluster` too: the control plane is requested inside the `dataplane` fixture.
pytestmark = [pytest.mark.dataplane, pytest.mark.cluster]

NAMESPACES = ("dp-r1", "dp-r2")
PODS = ("p0", "p1", "p2")
KEYS = [f"{ns}/{pod}" for ns in NAMESPACES for pod in PODS]
CONTAINER_PORTS = ((80, "TCP", "http"), (8080, "TCP", "alt"), (53, "UDP", "dns"))
CHECKED = ((80, "TCP"), (8080, "TCP"), (53, "UDP"))
POD_LABELS = {"app": ("web", "db"), "tier": ("front", "back")}
NS_LABELS = {"team": ("red", "blue")}
RANDOM_LABEL = "kaudit-dataplane/random"
EXAMPLES = int(os.environ.get("KAUDIT_DATAPLANE_EXAMPLES", "6"))


def _labels(keys: Mapping[str, tuple[str, ...]]) -> st.SearchStrategy[dict[str, str]]:
    return st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in keys.items()})


def _selector(keys: Mapping[str, tuple[str, ...]]) -> st.SearchStrategy[dict[str, Any]]:
    key = st.sampled_from(sorted(keys))
    expression = st.one_of(
        st.builds(
            lambda k, op, vs: {"key": k, "operator": op, "values": vs},
            key,
            st.sampled_from(("In", "NotIn")),
            st.lists(
                st.sampled_from(("web", "db", "front", "back", "red", "blue")),
                min_size=1,
                max_size=2,
                unique=True,
            ),
        ),
        st.builds(
            lambda k, op: {"key": k, "operator": op},
            key,
            st.sampled_from(("Exists", "DoesNotExist")),
        ),
    )
    return st.one_of(
        st.just({}),
        _labels(keys).map(lambda labels: {"matchLabels": labels} if labels else {}),
        st.lists(expression, min_size=1, max_size=2).map(lambda e: {"matchExpressions": e}),
    )


def _peer(ips: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    one_pod = st.sampled_from(ips).map(lambda ip: {"ipBlock": {"cidr": f"{ip}/32"}})
    all_but_one = st.sampled_from(ips).map(
        lambda ip: {
            "ipBlock": {
                "cidr": str(ipaddress.ip_network(f"{ip}/24", strict=False)),
                "except": [f"{ip}/32"],
            }
        }
    )
    return st.one_of(
        _selector(POD_LABELS).map(lambda s: {"podSelector": s}),
        _selector(NS_LABELS).map(lambda s: {"namespaceSelector": s}),
        st.builds(
            lambda p, n: {"podSelector": p, "namespaceSelector": n},
            _selector(POD_LABELS),
            _selector(NS_LABELS),
        ),
        one_pod,
        all_but_one,
    )


PORT = st.sampled_from(
    (
        {"port": 80},
        {"port": 8080, "protocol": "TCP"},
        {"port": 53, "protocol": "UDP"},
        {"port": "http"},
        {"port": "dns", "protocol": "UDP"},
        {"port": 80, "endPort": 8080},
        {"protocol": "UDP"},
    )
)


def _rule(ips: list[str], peers_key: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            peers_key: st.lists(_peer(ips), min_size=1, max_size=2),
            "ports": st.lists(PORT, min_size=1, max_size=2),
        },
    )


@st.composite
def _policy(draw: st.DrawFn, ips: list[str], index: int) -> dict[str, Any]:
    types = draw(st.sampled_from((["Ingress"], ["Egress"], ["Ingress", "Egress"])))
    spec: dict[str, Any] = {"podSelector": draw(_selector(POD_LABELS)), "policyTypes": types}
    if "Ingress" in types:
        spec["ingress"] = draw(st.lists(_rule(ips, "from"), max_size=2))
    if "Egress" in types:
        spec["egress"] = draw(st.lists(_rule(ips, "to"), max_size=2))
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": f"random-{index}",
            "namespace": draw(st.sampled_from(NAMESPACES)),
            "labels": {RANDOM_LABEL: "yes"},
        },
        "spec": spec,
    }


def _world_objects(
    node: str, ns_labels: dict[str, dict[str, str]], pod_labels: dict[str, dict[str, str]]
) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for ns in NAMESPACES:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns, "labels": ns_labels.get(ns, {})},
            }
        )
        for pod in PODS:
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": pod,
                        "namespace": ns,
                        "labels": pod_labels.get(f"{ns}/{pod}", {}),
                    },
                    "spec": {
                        "nodeName": node,
                        "containers": [
                            {
                                "name": "c",
                                "image": "registry.k8s.io/pause:3.10",
                                "ports": [
                                    {"containerPort": port, "protocol": proto, "name": name}
                                    for port, proto, name in CONTAINER_PORTS
                                ],
                            }
                        ],
                    },
                }
            )
    return objects


@pytest.fixture(scope="module")
def random_world(dataplane: Dataplane) -> Iterator[list[str]]:
    kube = dataplane.kube
    kube.wait_for(
        "namespaces of an earlier run to be gone",
        lambda: (
            kube.run("get", "namespaces", *NAMESPACES, "--ignore-not-found", "-o", "name") == ""
        ),
        timeout=180,
    )
    kube.apply(manifest(_world_objects(dataplane.state.node, {}, {})))
    try:
        ips = dataplane.wire_namespaces(list(NAMESPACES), expected=len(KEYS))
        yield [ips[key] for key in KEYS]
    finally:
        dataplane.unwire_namespaces(list(NAMESPACES))
        for ns in NAMESPACES:
            kube.run(
                "delete", "pods", "--all", "-n", ns, "--grace-period=0", "--force", check=False
            )
        kube.run("delete", "namespace", *NAMESPACES, "--wait=false", check=False)


Labels = dict[str, dict[str, str]]


@st.composite
def _clusters(draw: st.DrawFn, ips: list[str]) -> tuple[Labels, Labels, list[dict[str, Any]]]:
    """Namespace labels, pod labels, policies."""
    ns_labels = {ns: draw(_labels(NS_LABELS)) for ns in NAMESPACES}
    pod_labels = {key: draw(_labels(POD_LABELS)) for key in KEYS}
    policies = [draw(_policy(ips, i)) for i in range(draw(st.integers(1, 3)))]
    return ns_labels, pod_labels, policies


def test_random_clusters_on_real_packets(
    dataplane: Dataplane, random_world: list[str], tally: Tally
) -> None:
    node = dataplane.state.node
    failures: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        # Shrinking would replay dozens of clusters on the dataplane; the failing
        # example is reported whole instead.
        phases=(Phase.explicit, Phase.generate),
    )
    @given(_clusters(random_world))
    def example(drawn: tuple[Labels, Labels, list[dict[str, Any]]]) -> None:
        ns_labels, pod_labels, policies = drawn
        dataplane.kube.run("delete", "networkpolicies", "-A", "-l", RANDOM_LABEL)
        dataplane.sync(manifest(_world_objects(node, ns_labels, pod_labels) + policies))
        for port, protocol in CHECKED:
            wrong = check_matrix(tally, dataplane, "random", KEYS, port, protocol, policies)
            if wrong:
                failures.append(
                    f"policies {policies}, labels {ns_labels} {pod_labels}:\n" + "\n".join(wrong)
                )
        assert not failures, failures[-1]

    example()
