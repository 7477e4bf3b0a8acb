"""NetworkPolicy semantics, rule by rule, from the Kubernetes documentation and API reference.

Each table row is one fact of the specification (or one classic mistake) with the
pairs it allows and the pairs it denies, so that each rule is checked both ways.
"""

from __future__ import annotations

import pytest

from kaudit.model import Protocol
from kaudit.netpol import Reason
from tests.netpol.helpers import Cluster, namespace_doc, pod_doc

BASE = (
    namespace_doc("prod", {"env": "prod", "team": "shop"})
    + namespace_doc("dev", {"env": "dev"})
    + namespace_doc("monitoring", {"team": "ops"})
    + namespace_doc("kube-system")
    + pod_doc("prod/web", {"app": "web", "tier": "front"}, [(8080, "TCP", "http")], ["10.0.1.10"])
    + pod_doc(
        "prod/api",
        {"app": "api", "tier": "back"},
        [(80, "TCP", "http"), (9090, "TCP", "metrics"), (5000, "SCTP", "sig")],
        ["10.0.1.11"],
    )
    + pod_doc("prod/db", {"app": "db", "tier": "back"}, [(5432, "TCP", "pg")], ["10.0.1.12"])
    + pod_doc("dev/web", {"app": "web"}, [(8080, "TCP", "http")], ["10.0.2.10"])
    + pod_doc("monitoring/prom", {"app": "prometheus"}, [], ["10.0.3.10"])
    + pod_doc("monitoring/grafana", {"app": "grafana"}, [], ["10.0.3.11"])
    + pod_doc(
        "kube-system/coredns",
        {"k8s-app": "kube-dns"},
        [(53, "UDP", "dns"), (53, "TCP", "dns-tcp"), (9153, "TCP", "metrics")],
        ["10.0.0.10"],
    )
)


def netpol(namespace: str, name: str, spec: str) -> str:
    return (
        f"---\nkind: NetworkPolicy\napiVersion: networking.k8s.io/v1\n"
        f"metadata: {{name: {name}, namespace: {namespace}}}\nspec:\n{spec}"
    )


# (name, policies, [(src, dst, port, protocol, expected)])
CASES = [
    (
        "no policy: every pod reaches every pod on every port",
        "",
        [
            ("prod/web", "prod/db", 5432, "TCP", True),
            ("dev/web", "prod/db", 1, "UDP", True),
            ("monitoring/prom", "kube-system/coredns", 65535, "SCTP", True),
        ],
    ),
    (
        "a policy with only a podSelector isolates ingress, not egress",
        netpol("prod", "deny", "  podSelector: {}\n"),
        [
            ("prod/web", "prod/db", 5432, "TCP", False),
            ("dev/web", "prod/api", 80, "TCP", False),
            ("prod/db", "dev/web", 8080, "TCP", True),
            ("dev/web", "monitoring/prom", 80, "TCP", True),
        ],
    ),
    (
        "ingress: [] denies every source",
        netpol("prod", "deny", "  podSelector: {}\n  policyTypes: [Ingress]\n  ingress: []\n"),
        [("prod/web", "prod/api", 80, "TCP", False), ("dev/web", "prod/db", 5432, "TCP", False)],
    ),
    (
        "ingress: [{}] allows every source on every port",
        netpol("prod", "allow-all", "  podSelector: {}\n  ingress:\n  - {}\n"),
        [
            ("dev/web", "prod/db", 5432, "TCP", True),
            ("monitoring/prom", "prod/api", 9, "UDP", True),
        ],
    ),
    (
        "AND: namespaceSelector and podSelector in one item",
        netpol(
            "prod",
            "metrics",
            "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from:\n"
            "    - namespaceSelector: {matchLabels: {team: ops}}\n"
            "      podSelector: {matchLabels: {app: prometheus}}\n",
        ),
        [
            ("monitoring/prom", "prod/api", 9090, "TCP", True),
            ("monitoring/grafana", "prod/api", 9090, "TCP", False),
            ("prod/web", "prod/api", 9090, "TCP", False),
        ],
    ),
    (
        "OR: the misplaced hyphen admits the whole namespace",
        netpol(
            "prod",
            "metrics",
            "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - from:\n"
            "    - namespaceSelector: {matchLabels: {team: ops}}\n"
            "    - podSelector: {matchLabels: {app: prometheus}}\n",
        ),
        [
            ("monitoring/prom", "prod/api", 9090, "TCP", True),
            ("monitoring/grafana", "prod/api", 9090, "TCP", True),
            ("prod/web", "prod/api", 9090, "TCP", False),
        ],
    ),
    (
        "a podSelector alone means the policy's own namespace",
        netpol(
            "prod",
            "from-web",
            "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n"
            "    - podSelector: {matchLabels: {app: web}}\n",
        ),
        [("prod/web", "prod/db", 5432, "TCP", True), ("dev/web", "prod/db", 5432, "TCP", False)],
    ),
    (
        "namespaceSelector: {} means every namespace",
        netpol(
            "prod",
            "from-anywhere",
            "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n"
            "    - namespaceSelector: {}\n",
        ),
        [
            ("dev/web", "prod/db", 5432, "TCP", True),
            ("kube-system/coredns", "prod/db", 5432, "TCP", True),
            ("prod/web", "prod/db", 5432, "TCP", True),
        ],
    ),
    (
        "namespaceSelector: {} with a podSelector: those pods in every namespace",
        netpol(
            "prod",
            "web-anywhere",
            "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n"
            "    - namespaceSelector: {}\n      podSelector: {matchLabels: {app: web}}\n",
        ),
        [
            ("dev/web", "prod/db", 5432, "TCP", True),
            ("prod/web", "prod/db", 5432, "TCP", True),
            ("monitoring/prom", "prod/db", 5432, "TCP", False),
        ],
    ),
    (
        "the kubernetes.io/metadata.name label names a namespace",
        netpol(
            "prod",
            "from-dev",
            "  podSelector: {}\n  ingress:\n  - from:\n"
            "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: dev}}\n",
        ),
        [
            ("dev/web", "prod/db", 5432, "TCP", True),
            ("monitoring/prom", "prod/db", 5432, "TCP", False),
        ],
    ),
    (
        "matchExpressions: In, NotIn, Exists, DoesNotExist",
        netpol(
            "prod",
            "expressions",
            "  podSelector: {matchExpressions: [{key: tier, operator: In, values: [back]}]}\n"
            "  ingress:\n  - from:\n"
            "    - namespaceSelector: {matchExpressions: [{key: team, operator: Exists}]}\n"
            "      podSelector: {matchExpressions: [{key: app, operator: NotIn, values: [grafana]}]}\n"
            "    - namespaceSelector: {matchExpressions: [{key: team, operator: DoesNotExist}]}\n"
            "      podSelector: {matchExpressions: [{key: k8s-app, operator: Exists}]}\n",
        ),
        [
            ("monitoring/prom", "prod/db", 5432, "TCP", True),
            ("monitoring/grafana", "prod/db", 5432, "TCP", False),
            ("prod/web", "prod/db", 5432, "TCP", True),  # prod has team; web not grafana
            ("kube-system/coredns", "prod/api", 80, "TCP", True),
            ("dev/web", "prod/api", 80, "TCP", False),
            ("dev/web", "prod/web", 8080, "TCP", True),  # web is tier=front: not selected
        ],
    ),
    (
        "policies are additive: the union of their rules",
        netpol(
            "prod",
            "from-web",
            "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n"
            "    - podSelector: {matchLabels: {app: web}}\n",
        )
        + netpol(
            "prod",
            "from-api",
            "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n"
            "    - podSelector: {matchLabels: {app: api}}\n",
        ),
        [
            ("prod/web", "prod/db", 5432, "TCP", True),
            ("prod/api", "prod/db", 5432, "TCP", True),
            ("dev/web", "prod/db", 5432, "TCP", False),
        ],
    ),
    (
        "egress of the source AND ingress of the destination are both required",
        netpol(
            "prod",
            "web-egress",
            "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n"
            "  egress:\n  - to:\n    - podSelector: {matchLabels: {app: db}}\n",
        )
        + netpol(
            "prod",
            "db-ingress",
            "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n"
            "    - podSelector: {matchLabels: {app: api}}\n",
        ),
        [
            ("prod/web", "prod/db", 5432, "TCP", False),  # egress yes, ingress no
            ("prod/api", "prod/db", 5432, "TCP", True),
            ("prod/web", "prod/api", 80, "TCP", False),  # ingress open, egress no
        ],
    ),
    (
        "an egress section without policyTypes isolates both directions",
        netpol(
            "prod",
            "web",
            "  podSelector: {matchLabels: {app: web}}\n"
            "  egress:\n  - to:\n    - podSelector: {matchLabels: {app: api}}\n",
        ),
        [
            ("prod/web", "prod/api", 80, "TCP", True),
            ("prod/web", "prod/db", 5432, "TCP", False),
            ("dev/web", "prod/web", 8080, "TCP", False),
        ],
    ),
    (
        "rules of a direction missing from policyTypes are ignored",
        netpol(
            "prod",
            "egress-only",
            "  podSelector: {matchLabels: {app: db}}\n  policyTypes: [Egress]\n"
            "  ingress: []\n  egress:\n  - {}\n",
        ),
        [("dev/web", "prod/db", 5432, "TCP", True), ("prod/db", "dev/web", 8080, "TCP", True)],
    ),
    (
        "a numeric port; the protocol defaults to TCP",
        netpol(
            "prod",
            "api-80",
            "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - ports:\n    - port: 80\n",
        ),
        [
            ("prod/web", "prod/api", 80, "TCP", True),
            ("prod/web", "prod/api", 9090, "TCP", False),
            ("prod/web", "prod/api", 80, "UDP", False),
        ],
    ),
    (
        "a named port resolves against each destination's own container ports",
        netpol("prod", "http", "  podSelector: {}\n  ingress:\n  - ports:\n    - port: http\n"),
        [
            ("dev/web", "prod/web", 8080, "TCP", True),
            ("dev/web", "prod/api", 80, "TCP", True),
            ("dev/web", "prod/api", 8080, "TCP", False),
            ("dev/web", "prod/web", 80, "TCP", False),
            ("dev/web", "prod/db", 5432, "TCP", False),  # db has no port named http
        ],
    ),
    (
        "a named port must match the protocol too",
        netpol(
            "kube-system",
            "dns",
            "  podSelector: {matchLabels: {k8s-app: kube-dns}}\n  ingress:\n  - ports:\n"
            "    - {port: dns, protocol: TCP}\n",
        ),
        [
            ("prod/web", "kube-system/coredns", 53, "TCP", False),
            ("prod/web", "kube-system/coredns", 53, "UDP", False),
        ],
    ),
    (
        "a named egress port resolves against the destination pod",
        netpol(
            "prod",
            "web-out",
            "  podSelector: {matchLabels: {app: web}}\n  policyTypes: [Egress]\n"
            "  egress:\n  - ports:\n    - port: metrics\n",
        ),
        [
            ("prod/web", "prod/api", 9090, "TCP", True),
            ("prod/web", "kube-system/coredns", 9153, "TCP", True),
            ("prod/web", "prod/api", 9153, "TCP", False),
        ],
    ),
    (
        "endPort makes an inclusive range",
        netpol(
            "prod",
            "range",
            "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - ports:\n"
            "    - {port: 9000, endPort: 9100}\n",
        ),
        [
            ("prod/web", "prod/api", 9000, "TCP", True),
            ("prod/web", "prod/api", 9090, "TCP", True),
            ("prod/web", "prod/api", 9100, "TCP", True),
            ("prod/web", "prod/api", 9101, "TCP", False),
            ("prod/web", "prod/api", 8999, "TCP", False),
        ],
    ),
    (
        "SCTP is its own protocol",
        netpol(
            "prod",
            "sctp",
            "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - ports:\n"
            "    - {port: sig, protocol: SCTP}\n",
        ),
        [
            ("prod/web", "prod/api", 5000, "SCTP", True),
            ("prod/web", "prod/api", 5000, "TCP", False),
        ],
    ),
    (
        "a protocol without a port admits every port of that protocol",
        netpol(
            "prod",
            "udp",
            "  podSelector: {matchLabels: {app: api}}\n  ingress:\n  - ports:\n    - protocol: UDP\n",
        ),
        [("prod/web", "prod/api", 1, "UDP", True), ("prod/web", "prod/api", 80, "TCP", False)],
    ),
    (
        "ports and peers of one rule are ANDed; rules are ORed",
        netpol(
            "prod",
            "two-rules",
            "  podSelector: {matchLabels: {app: api}}\n  ingress:\n"
            "  - from: [{podSelector: {matchLabels: {app: web}}}]\n    ports: [{port: 80}]\n"
            "  - from: [{namespaceSelector: {matchLabels: {team: ops}}}]\n    ports: [{port: 9090}]\n",
        ),
        [
            ("prod/web", "prod/api", 80, "TCP", True),
            ("prod/web", "prod/api", 9090, "TCP", False),
            ("monitoring/prom", "prod/api", 9090, "TCP", True),
            ("monitoring/prom", "prod/api", 80, "TCP", False),
        ],
    ),
    (
        "ipBlock peers match pod IPs, minus except",
        netpol(
            "prod",
            "cidr",
            "  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from:\n"
            "    - ipBlock: {cidr: 10.0.0.0/16, except: [10.0.1.0/24, 10.0.3.11/32]}\n",
        ),
        [
            ("dev/web", "prod/db", 5432, "TCP", True),
            ("monitoring/prom", "prod/db", 5432, "TCP", True),
            ("monitoring/grafana", "prod/db", 5432, "TCP", False),
            ("prod/web", "prod/db", 5432, "TCP", False),
        ],
    ),
    (
        "a pod may always reach itself, even under deny-all",
        netpol(
            "prod",
            "deny-all",
            "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n",
        ),
        [
            ("prod/web", "prod/web", 8080, "TCP", True),
            ("prod/web", "prod/api", 80, "TCP", False),
            ("dev/web", "prod/web", 8080, "TCP", False),
        ],
    ),
]


@pytest.mark.parametrize(("name", "policies", "expectations"), CASES, ids=[c[0] for c in CASES])
def test_semantics(
    name: str, policies: str, expectations: list[tuple[str, str, int, str, bool]]
) -> None:
    cluster = Cluster(BASE + policies)
    got = [
        (src, dst, port, proto, cluster.allowed(src, dst, port, proto))
        for src, dst, port, proto, _ in expectations
    ]
    assert got == expectations
    # The matrix for each port gives the same answers as the pair checks.
    for src, dst, port, proto, expected in expectations:
        assert cluster.engine.matrix(port, Protocol(proto))[src][dst] is expected


def test_dns_egress_deny_without_a_dns_rule_breaks_dns() -> None:
    deny = netpol("prod", "deny-egress", "  podSelector: {}\n  policyTypes: [Egress]\n")
    only_udp = netpol(
        "prod",
        "dns-udp",
        "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n"
        "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n"
        "      podSelector: {matchLabels: {k8s-app: kube-dns}}\n    ports:\n"
        "    - {port: 53, protocol: UDP}\n",
    )
    both = only_udp.replace("dns-udp", "dns-both") + "    - {port: 53, protocol: TCP}\n"
    rows = []
    for policies in ("", deny, deny + only_udp, deny + both):
        cluster = Cluster(BASE + policies)
        access = cluster.engine.dns_access(cluster["prod/web"])
        rows.append((access.udp, access.tcp, access.stand_in))
    assert rows == [
        (True, True, False),
        (False, False, False),
        (True, False, False),
        (True, True, False),
    ]


def test_dns_uses_a_stand_in_pod_when_the_snapshot_has_no_dns_pods() -> None:
    text = pod_doc("app/one", {"app": "one"}) + netpol(
        "app",
        "dns",
        "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n"
        "    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n"
        "      podSelector: {matchLabels: {k8s-app: kube-dns}}\n"
        "    ports: [{port: 53, protocol: UDP}]\n",
    )
    cluster = Cluster(text)
    access = cluster.engine.dns_access(cluster["app/one"])
    assert (access.stand_in, access.udp, access.tcp) == (True, True, False)
    assert [p.namespace for p in access.dns_pods] == ["kube-system"]
    # The stand-in is no pod of the cluster: it appears in no listing.
    assert [p.key for p in cluster.engine.pods] == ["app/one"]
    assert list(cluster.engine.matrix(80)) == ["app/one"]


HOST = (
    BASE
    + pod_doc(
        "kube-system/agent",
        {"app": "agent"},
        [(9100, "TCP", "metrics")],
        ["192.168.0.1"],
        True,
        "n1",
    )
    + pod_doc("prod/cache", {"app": "cache"}, [(6379, "TCP", "redis")], ["10.0.1.20"], node="n1")
    + pod_doc("prod/queue", {"app": "queue"}, [(5672, "TCP", "amqp")], ["10.0.1.21"], node="n2")
)
DENY_PROD = netpol("prod", "deny-all", "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n")


@pytest.mark.parametrize(
    ("policies", "src", "dst", "port", "expected", "reason"),
    [
        # From a hostNetwork pod: its own node is always allowed in.
        (DENY_PROD, "kube-system/agent", "prod/cache", 6379, True, Reason.OWN_NODE),
        (DENY_PROD, "kube-system/agent", "prod/queue", 5672, False, Reason.NO_POLICY_RULE),
        # To its own node a pod may always go, whatever its egress policies say.
        (DENY_PROD, "prod/cache", "kube-system/agent", 9100, True, Reason.OWN_NODE),
        (DENY_PROD, "prod/queue", "kube-system/agent", 9100, False, Reason.NO_POLICY_RULE),
        # From another node, only an ipBlock holding the node address admits it.
        (
            netpol(
                "prod",
                "nodes",
                "  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 192.168.0.0/24}}]\n",
            ),
            "kube-system/agent",
            "prod/queue",
            5672,
            True,
            Reason.POLICY_RULES,
        ),
        (
            netpol(
                "prod",
                "all-pods",
                "  podSelector: {}\n  ingress:\n  - from: [{namespaceSelector: {}}]\n",
            ),
            "kube-system/agent",
            "prod/queue",
            5672,
            False,
            Reason.NO_POLICY_RULE,
        ),
        # To a hostNetwork pod: its ingress is not policed; selectors do not match it.
        (
            netpol(
                "kube-system",
                "deny",
                "  podSelector: {}\n  policyTypes: [Ingress]\n",
            ),
            "prod/web",
            "kube-system/agent",
            9100,
            True,
            Reason.HOST_NETWORK,
        ),
        (
            netpol(
                "prod",
                "web-out",
                "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n"
                "  - to: [{namespaceSelector: {}}]\n",
            ),
            "prod/web",
            "kube-system/agent",
            9100,
            False,
            Reason.NO_POLICY_RULE,
        ),
        (
            netpol(
                "prod",
                "web-out",
                "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n"
                "  - to: [{ipBlock: {cidr: 192.168.0.0/16}}]\n",
            ),
            "prod/web",
            "kube-system/agent",
            9100,
            True,
            Reason.POLICY_RULES,
        ),
    ],
)
def test_host_network_pods(
    policies: str, src: str, dst: str, port: int, expected: bool, reason: Reason
) -> None:
    cluster = Cluster(HOST + policies)
    verdict = cluster.engine.check(cluster[src], cluster[dst], port)
    assert (verdict.allowed, verdict.reason) == (expected, reason)
    assert any("host network" in note for note in verdict.notes)
    assert cluster.engine.matrix(port)[src][dst] is expected


def test_host_network_pods_are_never_isolated() -> None:
    cluster = Cluster(
        HOST + netpol("kube-system", "all", "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n")
    )
    agent = cluster.engine.isolation(cluster["kube-system/agent"])
    dns = cluster.engine.isolation(cluster["kube-system/coredns"])
    assert (agent.host_network, agent.ingress_isolated, agent.egress_isolated) == (
        True,
        False,
        False,
    )
    assert (dns.ingress_isolated, dns.egress_isolated) == (True, True)
    assert [p.qualified_name for p in dns.ingress_policies] == ["kube-system/all"]


def test_terminated_pods_take_no_part() -> None:
    cluster = Cluster(
        BASE + pod_doc("prod/job", {"app": "web"}, [], ["10.0.1.99"], phase="Succeeded")
    )
    engine = cluster.engine
    assert "prod/job" not in engine.matrix(80)
    assert "prod/job" not in [p.key for p in engine.reachable_from(cluster["prod/web"], None, None)]
    verdict = engine.check(cluster["prod/job"], cluster["prod/web"], 8080)
    assert (verdict.allowed, verdict.reason) == (False, Reason.TERMINATED)
    # Isolation still describes it (labels are what policies look at).
    assert engine.isolation(cluster["prod/job"]).ingress_isolated is False


def test_pods_without_addresses_never_match_an_ip_block() -> None:
    text = (
        pod_doc("a/client", {"app": "client"})
        + pod_doc("a/server", {"app": "server"}, [], ["10.0.0.5"])
        + netpol(
            "a",
            "server",
            "  podSelector: {matchLabels: {app: server}}\n"
            "  ingress:\n  - from: [{ipBlock: {cidr: 0.0.0.0/0}}]\n",
        )
    )
    cluster = Cluster(text)
    assert cluster.allowed("a/client", "a/server", 80) is False


def test_ipv6_ip_blocks() -> None:
    text = (
        pod_doc("a/one", {"app": "one"}, [], ["fd00::10"])
        + pod_doc("a/two", {"app": "two"}, [], ["fd00::20"])
        + pod_doc("a/three", {"app": "three"}, [], ["fd00:1::30"])
        + pod_doc("a/server", {"app": "server"}, [], ["fd00::99"])
        + netpol(
            "a",
            "server",
            "  podSelector: {matchLabels: {app: server}}\n"
            "  ingress:\n  - from: [{ipBlock: {cidr: 'fd00::/64', except: ['fd00::20/128']}}]\n",
        )
    )
    cluster = Cluster(text)
    got = [cluster.allowed(src, "a/server", 80) for src in ("a/one", "a/two", "a/three")]
    assert got == [True, False, False]


def test_dual_stack_needs_both_sides_in_one_family() -> None:
    pods = pod_doc("a/client", {"app": "client"}, [], ["10.0.0.1", "fd00::1"]) + pod_doc(
        "a/server", {"app": "server"}, [], ["10.0.0.2", "fd00::2"]
    )
    egress_v6 = netpol(
        "a",
        "client-out",
        "  podSelector: {matchLabels: {app: client}}\n  policyTypes: [Egress]\n"
        "  egress:\n  - to: [{ipBlock: {cidr: 'fd00::/64'}}]\n",
    )
    ingress_v4 = netpol(
        "a",
        "server-in",
        "  podSelector: {matchLabels: {app: server}}\n"
        "  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8}}]\n",
    )
    ingress_v6 = ingress_v4.replace("10.0.0.0/8", "'fd00::/64'")
    assert Cluster(pods + egress_v6 + ingress_v4).allowed("a/client", "a/server", 80) is False
    assert Cluster(pods + egress_v6 + ingress_v6).allowed("a/client", "a/server", 80) is True
