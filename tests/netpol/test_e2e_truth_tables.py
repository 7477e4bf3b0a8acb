"""The upstream Kubernetes NetworkPolicy e2e tests, replayed on manifests.

Each case is one upstream test (test/e2e/network/netpol/network_policy.go) on its
3 namespaces x 3 pods cluster: the policies as YAML, and for each port and
protocol the upstream expected truth table. The whole `kaudit reach --format json`
matrix must equal the table on every pair (pods reach themselves; upstream ignores
loopback). Tests that update a policy or a label upstream appear as one case per
state. Pod IPs are 10.244.<ns>.<pod>, so the ipBlock cases use real addresses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kaudit.cli import app
from kaudit.cli.reach_render import reach_report
from kaudit.collect.manifests import load_manifests
from kaudit.model import Protocol
from tests.netpol.e2e_model import ALL, Truth, pod_ip, write_cluster

TCP, UDP, SCTP = Protocol.TCP, Protocol.UDP, Protocol.SCTP


def policy(name: str, namespace: str, spec: str) -> str:
    """One NetworkPolicy document; `spec` is the YAML body of its spec, indented 2."""
    return (
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        f"metadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n{spec}"
    )


@dataclass(frozen=True)
class Case:
    name: str
    policies: str
    checks: tuple[tuple[int, Protocol, Callable[[], Truth]], ...]
    namespace_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    pod_labels: dict[str, dict[str, str]] = field(default_factory=dict)


DENY_INGRESS_X = policy(
    "deny-ingress",
    "x",
    """  podSelector: {}
  policyTypes: [Ingress]
  ingress: []
""",
)
DENY_ALL_X = policy(
    "deny-all",
    "x",
    """  podSelector: {}
  policyTypes: [Ingress, Egress]
  ingress: []
  egress: []
""",
)


def allow_a_from(peers: str, name: str = "allow-a", ports: str = "") -> str:
    return policy(
        name,
        "x",
        f"""  podSelector:
    matchLabels: {{pod: a}}
  policyTypes: [Ingress]
  ingress:
  - from:
{peers}{ports}""",
    )


NS_Y = """    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: y}
"""
NS_Y_POD_A = """    - namespaceSelector:
        matchLabels: {kubernetes.io/metadata.name: y}
      podSelector:
        matchLabels: {pod: a}
"""


def from_x_z_to_xa_denied() -> Truth:
    return (
        Truth()
        .expect_peer(False, from_ns="x", to_ns="x", to_pod="a")
        .expect_peer(False, from_ns="z", to_ns="x", to_pod="a")
    )


def only_ya_to_xa() -> Truth:
    return Truth().expect_all_ingress("x/a", False).expect("y/a", "x/a", True)


def nothing_to_xa() -> Truth:
    return Truth().expect_all_ingress("x/a", False)


def everything() -> Truth:
    return Truth()


CASES = [
    Case(
        "default-deny-ingress",
        DENY_INGRESS_X,
        tuple(
            (80, proto, lambda: Truth().expect_peer(False, to_ns="x")) for proto in (TCP, UDP, SCTP)
        ),
    ),
    Case(
        "default-deny-all",
        DENY_ALL_X,
        ((80, TCP, lambda: Truth().expect_peer(False, to_ns="x").expect_peer(False, from_ns="x")),),
    ),
    Case(
        "allow-from-pods-within-namespace-by-podselector",
        allow_a_from("    - podSelector:\n        matchLabels: {pod: b}\n"),
        ((80, TCP, lambda: nothing_to_xa().expect("x/b", "x/a", True)),),
    ),
    Case(
        "allow-ingress-for-a-target",
        DENY_INGRESS_X
        + allow_a_from("    - podSelector: {}\n      namespaceSelector: {}\n", "allow-all-to-a"),
        (
            (
                80,
                TCP,
                lambda: (
                    Truth()
                    .expect_all_ingress("x/a", True)
                    .expect_all_ingress("x/b", False)
                    .expect_all_ingress("x/c", False)
                ),
            ),
        ),
    ),
    Case(
        "allow-ingress-from-all-namespaces",
        allow_a_from("    - namespaceSelector: {}\n"),
        ((80, TCP, everything),),
    ),
    Case(
        "allow-only-from-another-namespace-by-namespaceselector",
        allow_a_from(NS_Y),
        ((80, TCP, from_x_z_to_xa_denied),),
    ),
    Case(
        "podselector-matchexpressions",
        allow_a_from(
            "    - podSelector:\n        matchExpressions:\n"
            "        - {key: pod, operator: In, values: [b]}\n"
        ),
        ((80, TCP, lambda: nothing_to_xa().expect("x/b", "x/a", True)),),
    ),
    Case(
        "namespaceselector-matchexpressions",
        allow_a_from(
            "    - namespaceSelector:\n        matchExpressions:\n"
            "        - {key: kubernetes.io/metadata.name, operator: In, values: [y]}\n"
        ),
        ((80, TCP, from_x_z_to_xa_denied),),
    ),
    Case(
        "podselector-or-namespaceselector",
        allow_a_from(
            "    - namespaceSelector:\n        matchExpressions:\n"
            "        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}\n"
            "    - podSelector:\n        matchLabels: {pod: b}\n"
        ),
        ((80, TCP, lambda: Truth().expect("x/c", "x/a", False)),),
    ),
    Case(
        "podselector-and-namespaceselector",
        allow_a_from(
            "    - namespaceSelector:\n        matchExpressions:\n"
            "        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}\n"
            "      podSelector:\n        matchLabels: {pod: b}\n"
        ),
        (
            (
                80,
                TCP,
                lambda: nothing_to_xa().expect("y/b", "x/a", True).expect("z/b", "x/a", True),
            ),
        ),
    ),
    Case(
        "multiple-podselectors-and-namespaceselectors",
        allow_a_from(
            "    - namespaceSelector:\n        matchExpressions:\n"
            "        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [x]}\n"
            "      podSelector:\n        matchExpressions:\n"
            "        - {key: pod, operator: In, values: [b, c]}\n"
        ),
        (
            (
                80,
                TCP,
                lambda: (
                    Truth()
                    .expect_peer(False, from_ns="x", to_ns="x", to_pod="a")
                    .expect("y/a", "x/a", False)
                    .expect("z/a", "x/a", False)
                ),
            ),
        ),
    ),
    Case(
        "any-podselectors",
        allow_a_from(
            "    - podSelector:\n        matchLabels: {pod: b}\n"
            "    - podSelector:\n        matchLabels: {pod: c}\n"
        ),
        (
            (
                80,
                TCP,
                lambda: nothing_to_xa().expect("x/b", "x/a", True).expect("x/c", "x/a", True),
            ),
        ),
    ),
    Case(
        "only-from-a-pod-in-another-namespace",
        allow_a_from(NS_Y_POD_A),
        ((80, TCP, only_ya_to_xa),),
    ),
    Case(
        "only-from-a-pod-in-another-namespace-udp",
        allow_a_from(NS_Y_POD_A),
        ((80, UDP, only_ya_to_xa),),
    ),
    Case(
        "only-from-a-pod-in-another-namespace-sctp",
        allow_a_from(NS_Y_POD_A),
        ((80, SCTP, only_ya_to_xa),),
    ),
    Case(
        "ports",
        allow_a_from(NS_Y, ports="    ports:\n    - {port: 81, protocol: TCP}\n"),
        ((81, TCP, from_x_z_to_xa_denied), (80, TCP, nothing_to_xa)),
    ),
    Case(
        "ports-udp",
        allow_a_from(NS_Y, ports="    ports:\n    - {port: 81, protocol: UDP}\n"),
        ((81, UDP, from_x_z_to_xa_denied), (81, TCP, nothing_to_xa)),
    ),
    Case(
        "ports-sctp",
        allow_a_from(NS_Y, ports="    ports:\n    - {port: 81, protocol: SCTP}\n"),
        ((81, SCTP, from_x_z_to_xa_denied), (81, UDP, nothing_to_xa)),
    ),
    Case(
        "stacked-policies-with-overlapping-podselectors",
        allow_a_from(NS_Y, "allow-81", ports="    ports:\n    - {port: 81, protocol: TCP}\n")
        + allow_a_from(NS_Y, "allow-80", ports="    ports:\n    - {port: 80, protocol: TCP}\n"),
        ((81, TCP, from_x_z_to_xa_denied), (80, TCP, from_x_z_to_xa_denied)),
    ),
    Case(
        "allow-all",
        policy(
            "allow-all", "x", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - {}\n"
        ),
        ((80, TCP, everything), (81, TCP, everything)),
    ),
    Case(
        "ingress-on-one-named-port",
        policy(
            "allow-81",
            "x",
            "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n"
            "  - ports:\n    - port: serve-81-tcp\n",
        ),
        ((81, TCP, everything), (80, TCP, lambda: Truth().expect_peer(False, to_ns="x"))),
    ),
    Case(
        "ingress-from-namespace-on-one-named-port",
        allow_a_from(NS_Y, ports="    ports:\n    - {port: serve-80-tcp, protocol: TCP}\n"),
        ((80, TCP, from_x_z_to_xa_denied), (81, TCP, nothing_to_xa)),
    ),
    Case(
        "egress-on-one-named-port",
        policy(
            "allow-egress",
            "x",
            "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n"
            "  - ports:\n    - port: serve-80-tcp\n",
        ),
        ((80, TCP, everything), (81, TCP, lambda: Truth().expect_peer(False, from_ns="x"))),
    ),
    Case(
        "updated-policy-before",
        policy("mutate", "x", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - {}\n"),
        ((81, TCP, everything),),
    ),
    Case(
        "updated-policy-after",
        policy("mutate", "x", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: []\n"),
        ((81, TCP, lambda: Truth().expect_peer(False, to_ns="x")),),
    ),
    Case(
        "ingress-from-updated-namespace-before",
        allow_a_from("    - namespaceSelector:\n        matchLabels: {ns2: updated}\n"),
        ((80, TCP, nothing_to_xa),),
    ),
    Case(
        "ingress-from-updated-namespace-after",
        allow_a_from("    - namespaceSelector:\n        matchLabels: {ns2: updated}\n"),
        ((80, TCP, lambda: nothing_to_xa().expect_peer(True, from_ns="y")),),
        namespace_labels={"y": {"ns2": "updated"}},
    ),
    Case(
        "ingress-from-updated-pod-before",
        allow_a_from("    - podSelector:\n        matchLabels: {pod: b, pod2: updated}\n"),
        ((80, TCP, nothing_to_xa),),
    ),
    Case(
        "ingress-from-updated-pod-after",
        allow_a_from("    - podSelector:\n        matchLabels: {pod: b, pod2: updated}\n"),
        ((80, TCP, lambda: nothing_to_xa().expect("x/b", "x/a", True)),),
        pod_labels={"x/b": {"pod2": "updated"}},
    ),
    Case(
        "deny-ingress-from-other-namespaces",
        policy(
            "deny-empty-policy",
            "x",
            "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n"
            "  - from:\n    - podSelector: {}\n",
        ),
        (
            (
                80,
                TCP,
                lambda: (
                    Truth()
                    .expect_peer(False, from_ns="y", to_ns="x")
                    .expect_peer(False, from_ns="z", to_ns="x")
                ),
            ),
        ),
    ),
    Case(
        "deny-ingress-to-updated-pod-before",
        policy(
            "deny-ingress-via-label-selector",
            "x",
            "  podSelector:\n    matchLabels: {target: isolated}\n"
            "  policyTypes: [Ingress]\n  ingress: []\n",
        ),
        ((80, TCP, everything),),
    ),
    Case(
        "deny-ingress-to-updated-pod-after",
        policy(
            "deny-ingress-via-label-selector",
            "x",
            "  podSelector:\n    matchLabels: {target: isolated}\n"
            "  policyTypes: [Ingress]\n  ingress: []\n",
        ),
        ((80, TCP, nothing_to_xa),),
        pod_labels={"x/a": {"target": "isolated"}},
    ),
    Case(
        "deny-egress-by-podselector",
        policy(
            "deny-egress-pod-a",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Egress]\n  egress: []\n",
        ),
        ((80, TCP, lambda: Truth().expect_all_egress("x/a", False)),),
    ),
    Case(
        "deny-egress-from-all-pods-in-a-namespace",
        policy(
            "deny-egress-ns-x", "x", "  podSelector: {}\n  policyTypes: [Egress]\n  egress: []\n"
        ),
        ((80, TCP, lambda: Truth().expect_peer(False, from_ns="x")),),
    ),
    Case(
        "ingress-and-egress-together",
        policy(
            "allow-client-a-via-pod-selector",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Egress, Ingress]\n"
            "  ingress:\n  - from:\n    - podSelector:\n        matchLabels: {pod: b}\n"
            "  egress:\n  - ports:\n    - port: 80\n",
        ),
        (
            (80, TCP, lambda: nothing_to_xa().expect("x/b", "x/a", True)),
            (
                81,
                TCP,
                lambda: nothing_to_xa().expect_all_egress("x/a", False).expect("x/b", "x/a", True),
            ),
        ),
    ),
    Case(
        "egress-denied-on-client-side-although-server-allows",
        policy(
            "allow-to-ns-y-pod-a",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Egress]\n"
            "  egress:\n  - to:\n" + NS_Y_POD_A.replace("    -", "    -", 1),
        )
        + policy(
            "allow-from-xa-on-ya",
            "y",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Ingress]\n"
            "  ingress:\n  - from:\n    - namespaceSelector:\n"
            "        matchLabels: {kubernetes.io/metadata.name: x}\n"
            "      podSelector:\n        matchLabels: {pod: a}\n",
        )
        + policy(
            "allow-from-xa-on-yb",
            "y",
            "  podSelector:\n    matchLabels: {pod: b}\n  policyTypes: [Ingress]\n"
            "  ingress:\n  - from:\n    - namespaceSelector:\n"
            "        matchLabels: {kubernetes.io/metadata.name: x}\n"
            "      podSelector:\n        matchLabels: {pod: a}\n",
        ),
        (
            (
                80,
                TCP,
                lambda: (
                    Truth()
                    .expect_peer(False, from_ns="x", from_pod="a")
                    .expect_peer(False, to_ns="y", to_pod="a")
                    .expect("x/a", "y/a", True)
                    .expect_peer(False, to_ns="y", to_pod="b")
                ),
            ),
        ),
    ),
    Case(
        "egress-to-a-server-in-another-namespace",
        policy(
            "allow-to-ns-y-pod-a",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Egress]\n"
            "  egress:\n  - to:\n" + NS_Y_POD_A,
        ),
        ((80, TCP, lambda: Truth().expect_all_egress("x/a", False).expect("x/a", "y/a", True)),),
    ),
    Case(
        "ingress-any-port-on-a-specific-protocol",
        policy(
            "allow-ingress-by-proto",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Ingress]\n"
            "  ingress:\n  - ports:\n    - protocol: TCP\n",
        ),
        ((80, TCP, everything), (80, UDP, nothing_to_xa)),
    ),
    Case(
        "ingress-port-80-only",
        policy(
            "allow-ingress-port-80",
            "x",
            "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - ports:\n    - port: 80\n",
        ),
        ((81, TCP, lambda: Truth().expect_peer(False, to_ns="x")), (80, TCP, everything)),
    ),
    Case(
        "ingress-allow-all-takes-precedence",
        policy(
            "allow-ingress-port-80",
            "x",
            "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - ports:\n    - port: 80\n",
        )
        + policy(
            "allow-ingress",
            "x",
            "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress:\n  - {}\n",
        ),
        ((81, TCP, everything),),
    ),
    Case(
        "egress-port-80-only",
        policy(
            "allow-egress-port-80",
            "x",
            "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - ports:\n    - port: 80\n",
        ),
        ((81, TCP, lambda: Truth().expect_peer(False, from_ns="x")), (80, TCP, everything)),
    ),
    Case(
        "egress-allow-all-takes-precedence",
        policy(
            "allow-egress-port-80",
            "x",
            "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - ports:\n    - port: 80\n",
        )
        + policy(
            "allow-egress", "x", "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - {}\n"
        ),
        ((81, TCP, everything),),
    ),
    Case(
        "policies-deleted",
        "",
        ((80, TCP, everything),),
    ),
    Case(
        "egress-to-server-in-cidr-block",
        policy(
            "allow-client-a-via-cidr-egress-rule",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Egress]\n"
            f"  egress:\n  - to:\n    - ipBlock: {{cidr: {pod_ip('y', 'b')}/32}}\n",
        ),
        ((80, TCP, lambda: Truth().expect_all_egress("x/a", False).expect("x/a", "y/b", True)),),
    ),
    Case(
        "egress-cidr-except-clause",
        policy(
            "allow-client-a-via-cidr-egress-rule",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Egress]\n"
            "  egress:\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/4\n"
            f"        except: [{pod_ip('x', 'b')}/32]\n",
        ),
        ((80, TCP, lambda: Truth().expect("x/a", "x/b", False)),),
    ),
    Case(
        "egress-cidr-except-overlap-allowed-by-another-policy",
        policy(
            "allow-client-a-via-cidr-egress-rule",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Egress]\n"
            "  egress:\n  - to:\n    - ipBlock:\n        cidr: 0.0.0.0/4\n"
            f"        except: [{pod_ip('x', 'b')}/32]\n",
        )
        + policy(
            "allow-x-b",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Egress]\n"
            f"  egress:\n  - to:\n    - ipBlock: {{cidr: {pod_ip('x', 'b')}/32}}\n",
        ),
        ((80, TCP, everything),),
    ),
    Case(
        "egress-cidr-updated-to-the-excepted-address",
        policy(
            "allow-client-a-via-cidr-egress-rule",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Egress]\n"
            f"  egress:\n  - to:\n    - ipBlock: {{cidr: {pod_ip('x', 'b')}/32}}\n",
        ),
        ((80, TCP, lambda: Truth().expect_all_egress("x/a", False).expect("x/a", "x/b", True)),),
    ),
    Case(
        "ingress-and-egress-controlled-independently",
        policy(
            "allow-egress-for-target",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Egress]\n  egress:\n  - {}\n",
        )
        + policy(
            "deny-ingress-via-label-selector",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Ingress]\n  ingress: []\n",
        ),
        ((80, TCP, nothing_to_xa),),
    ),
    Case(
        "sctp-is-not-tcp",
        DENY_INGRESS_X
        + policy(
            "allow-only-sctp-ingress-on-port-81",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Ingress]\n"
            "  ingress:\n  - ports:\n    - {port: 81, protocol: SCTP}\n",
        ),
        (
            (81, TCP, lambda: Truth().expect_peer(False, to_ns="x")),
            (
                81,
                SCTP,
                lambda: Truth().expect_peer(False, to_ns="x").expect_all_ingress("x/a", True),
            ),
        ),
    ),
    Case(
        "sctp-only-policy-isolates",
        policy(
            "allow-only-sctp-ingress-on-port-80",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Ingress]\n"
            "  ingress:\n  - ports:\n    - {port: 80, protocol: SCTP}\n",
        ),
        ((81, TCP, nothing_to_xa), (80, SCTP, everything)),
    ),
    Case(
        "udp-only-policy-does-not-allow-tcp",
        policy(
            "allow-only-udp-ingress-on-port-81",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Ingress]\n"
            "  ingress:\n  - ports:\n    - {port: 81, protocol: UDP}\n",
        ),
        ((81, TCP, nothing_to_xa), (81, UDP, everything)),
    ),
    Case(
        "egress-namespaceselector-notin-default-label",
        policy(
            "allow-ns-y-match-selector-for-immutable-ns-label",
            "x",
            "  podSelector:\n    matchLabels: {pod: a}\n  policyTypes: [Egress]\n"
            "  egress:\n  - to:\n    - namespaceSelector:\n        matchExpressions:\n"
            "        - {key: kubernetes.io/metadata.name, operator: NotIn, values: [y]}\n",
        ),
        ((80, TCP, lambda: Truth().expect_peer(False, from_ns="x", from_pod="a", to_ns="y")),),
    ),
    Case(
        "namespaceselector-by-custom-namespace-label",
        allow_a_from("    - namespaceSelector:\n        matchLabels: {ns: y}\n"),
        ((80, TCP, from_x_z_to_xa_denied),),
    ),
]


def _snapshot_dir(tmp_path: Path, case: Case) -> Path:
    return write_cluster(
        tmp_path / case.name, case.policies, case.namespace_labels, case.pod_labels
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_reach_matrix_matches_the_upstream_truth_table(tmp_path: Path, case: Case) -> None:
    snapshot = load_manifests([str(_snapshot_dir(tmp_path, case))])
    for port, protocol, truth in case.checks:
        output = reach_report(
            snapshot, src=None, dst=None, to_ip=None, port=port, protocol=protocol, fmt="json"
        )
        data = json.loads(output)
        assert data["port"] == port
        assert data["protocol"] == protocol.value
        assert data["pods"] == list(ALL)
        expected = truth().with_loopback()
        wrong = [
            f"{src} -> {dst}: got {data['allowed'][src][dst]}"
            for src in ALL
            for dst in ALL
            if data["allowed"][src][dst] != expected[src][dst]
        ]
        assert wrong == [], f"{port}/{protocol}"


def test_the_command_line_prints_the_same_matrix(tmp_path: Path) -> None:
    case = next(c for c in CASES if c.name == "podselector-and-namespaceselector")
    directory = _snapshot_dir(tmp_path, case)
    result = CliRunner().invoke(
        app, ["reach", "--manifests", str(directory), "--port", "80", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"port", "protocol", "pods", "allowed"}
    assert data["allowed"] == case.checks[0][2]().with_loopback()
