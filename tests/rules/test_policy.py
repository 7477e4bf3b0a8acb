"""NetworkPolicy rules: coverage, DNS, selector mistakes and CNI enforcement."""

from __future__ import annotations

import pytest

from kaudit.findings import Severity
from tests.jsondig import dig
from tests.rules.fixtures import (
    DENY_ALL,
    DENY_EGRESS,
    DENY_INGRESS,
    DNS_BY_NAMESPACE_LABEL,
    KUBE_SYSTEM,
    deployment,
    namespace,
    policy,
)
from tests.rules.helpers import fired_on, only, run, snapshot_of

SHOP = [namespace("shop"), deployment("web", "shop"), deployment("api", "shop")]
HOST_ONLY = [
    namespace("agents"),
    deployment("agent", "agents", extra_spec="hostNetwork: true", kind="DaemonSet"),
]


def app_namespaces(*extra: str) -> list[str]:
    return [*SHOP, *extra]


# --- namespace-without-networkpolicy -------------------------------------------------------

COVERAGE_CASES = [
    ("no policy", [], ["Namespace/shop"]),
    ("default deny", [policy("deny", "shop", DENY_ALL)], []),
    ("any policy at all", [policy("one", "shop", "podSelector: {matchLabels: {app: web}}")], []),
]


@pytest.mark.parametrize(
    ("policies", "expected"), [c[1:] for c in COVERAGE_CASES], ids=[c[0] for c in COVERAGE_CASES]
)
def test_namespace_without_networkpolicy(policies: list[str], expected: list[str]) -> None:
    # The namespace of hostNetwork pods only is left out: no policy could govern them.
    assert fired_on("namespace-without-networkpolicy", *SHOP, *HOST_ONLY, *policies) == expected


def test_namespace_without_networkpolicy_remediation_is_a_default_deny_pair_with_dns() -> None:
    finding = only(
        "namespace-without-networkpolicy", *SHOP, KUBE_SYSTEM, policy("x", "kube-system", DENY_ALL)
    )
    assert finding.severity is Severity.HIGH
    assert finding.evidence["workloads"] == ["Deployment/api", "Deployment/web"]
    assert finding.evidence["podCount"] == 2
    assert "namespace: shop" in finding.remediation
    assert "policyTypes:\n  - Ingress\n  - Egress" in finding.remediation
    assert "k8s-app: kube-dns" in finding.remediation
    assert "port: 53" in finding.remediation


# --- namespace-without-default-deny-ingress / -egress ---------------------------------------

ONLY_WEB = "podSelector: {matchLabels: {app: web}}\npolicyTypes: [Ingress, Egress]"

ISOLATION_CASES = [
    # One fact, one finding: a namespace without any policy is namespace-without-networkpolicy's.
    ("no policy", [], [], []),
    ("deny all", [policy("d", "shop", DENY_ALL)], [], []),
    ("deny ingress only", [policy("d", "shop", DENY_INGRESS)], [], ["Namespace/shop"]),
    ("deny egress only", [policy("d", "shop", DENY_EGRESS)], ["Namespace/shop"], []),
    (
        "one workload covered",
        [policy("w", "shop", ONLY_WEB)],
        ["Namespace/shop"],
        ["Namespace/shop"],
    ),
]


@pytest.mark.parametrize(
    ("policies", "ingress", "egress"),
    [c[1:] for c in ISOLATION_CASES],
    ids=[c[0] for c in ISOLATION_CASES],
)
def test_default_deny_rules(policies: list[str], ingress: list[str], egress: list[str]) -> None:
    documents = [*SHOP, *HOST_ONLY, *policies]
    assert fired_on("namespace-without-default-deny-ingress", *documents) == ingress
    assert fired_on("namespace-without-default-deny-egress", *documents) == egress


def test_default_deny_evidence_lists_the_open_workloads() -> None:
    finding = only("namespace-without-default-deny-ingress", *SHOP, policy("w", "shop", ONLY_WEB))
    assert finding.evidence["workloads"] == ["Deployment/api"]
    assert finding.evidence["unisolatedPods"] == 1
    assert finding.evidence["podsInNamespace"] == 2
    assert finding.evidence["policies"] == ["shop/w"]
    assert "1 of 2 pods (Deployment/api) is not isolated for ingress" in finding.message


def test_default_deny_egress_remediation_keeps_dns() -> None:
    finding = only(
        "namespace-without-default-deny-egress",
        *SHOP,
        KUBE_SYSTEM,
        policy("d", "shop", DENY_INGRESS),
        policy("k", "kube-system", DENY_ALL),
    )
    assert "name: default-deny-egress" in finding.remediation
    assert "name: allow-dns-egress" in finding.remediation
    assert "protocol: UDP" in finding.remediation


# --- ingress-only-policies -----------------------------------------------------------------

INGRESS_ONLY_CASES = [
    (
        "ingress only",
        [policy("a", "shop", DENY_INGRESS), policy("b", "shop", ONLY_WEB.replace(", Egress", ""))],
        ["Namespace/shop"],
    ),
    ("one with egress", [policy("a", "shop", DENY_INGRESS), policy("b", "shop", DENY_EGRESS)], []),
    (
        "egress defaulted from an egress section",
        [policy("a", "shop", "podSelector: {}\negress: [{to: [{podSelector: {}}]}]")],
        [],
    ),
    ("no policies", [], []),
]


@pytest.mark.parametrize(
    ("policies", "expected"),
    [c[1:] for c in INGRESS_ONLY_CASES],
    ids=[c[0] for c in INGRESS_ONLY_CASES],
)
def test_ingress_only_policies(policies: list[str], expected: list[str]) -> None:
    assert fired_on("ingress-only-policies", *SHOP, *policies) == expected


# --- egress-blocks-dns ---------------------------------------------------------------------

DNS_UDP_ONLY = DNS_BY_NAMESPACE_LABEL.replace("      - {protocol: TCP, port: 53}\n", "")
DNS_TCP_ONLY = DNS_BY_NAMESPACE_LABEL.replace("      - {protocol: UDP, port: 53}\n", "")
DNS_WRONG_NAMESPACE = DNS_BY_NAMESPACE_LABEL.replace("name: kube-system", "name: kube-dns")
DNS_ANDED = """
podSelector: {}
policyTypes: [Egress]
egress:
  - to:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
        podSelector: {matchLabels: {k8s-app: kube-dns}}
    ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
"""

DNS_CASES = [
    (
        "deny without dns",
        [],
        {"Deployment/shop/api": Severity.HIGH, "Deployment/shop/web": Severity.HIGH},
    ),
    ("dns by namespace label", [DNS_BY_NAMESPACE_LABEL], {}),
    ("dns by namespace and pod labels", [DNS_ANDED], {}),
    (
        "udp only",
        [DNS_UDP_ONLY],
        {"Deployment/shop/api": Severity.MEDIUM, "Deployment/shop/web": Severity.MEDIUM},
    ),
    (
        "tcp only",
        [DNS_TCP_ONLY],
        {"Deployment/shop/api": Severity.HIGH, "Deployment/shop/web": Severity.HIGH},
    ),
    (
        "wrong namespace",
        [DNS_WRONG_NAMESPACE],
        {"Deployment/shop/api": Severity.HIGH, "Deployment/shop/web": Severity.HIGH},
    ),
]


@pytest.mark.parametrize(
    ("dns_policies", "expected"), [c[1:] for c in DNS_CASES], ids=[c[0] for c in DNS_CASES]
)
def test_egress_blocks_dns(dns_policies: list[str], expected: dict[str, Severity]) -> None:
    documents = [
        *SHOP,
        KUBE_SYSTEM,
        policy("deny", "shop", DENY_ALL),
        *(policy(f"dns{i}", "shop", p) for i, p in enumerate(dns_policies)),
    ]
    findings = run("egress-blocks-dns", snapshot_of(*documents))
    assert {str(f.resource): f.severity for f in findings} == expected


def test_egress_blocks_dns_says_which_protocol() -> None:
    documents = [
        *SHOP,
        KUBE_SYSTEM,
        policy("deny", "shop", DENY_ALL),
        policy("dns", "shop", DNS_UDP_ONLY),
    ]
    finding = run("egress-blocks-dns", snapshot_of(*documents))[0]
    assert finding.evidence["udp53"] is True
    assert finding.evidence["tcp53"] is False
    assert "TCP 53 (UDP works)" in finding.message
    assert finding.evidence["dnsPods"] == ["kube-system/coredns"]


def test_egress_blocks_dns_skips_pods_not_using_cluster_dns() -> None:
    own_dns = deployment("resolver", "shop", extra_spec="dnsPolicy: Default")
    documents = [namespace("shop"), own_dns, KUBE_SYSTEM, policy("deny", "shop", DENY_ALL)]
    assert fired_on("egress-blocks-dns", *documents) == []


def test_egress_blocks_dns_without_dns_pods_in_the_input() -> None:
    # No kube-system in the input: the engine's stand-in kube-dns pod answers.
    allowed = [
        *SHOP,
        policy("deny", "shop", DENY_ALL),
        policy("dns", "shop", DNS_BY_NAMESPACE_LABEL),
    ]
    denied = [*SHOP, policy("deny", "shop", DENY_ALL)]
    assert fired_on("egress-blocks-dns", *allowed) == []
    finding = run("egress-blocks-dns", snapshot_of(*denied))[0]
    assert "assumed k8s-app=kube-dns in kube-system" in finding.message


def test_egress_blocks_dns_notes_broad_ip_blocks() -> None:
    wide = "podSelector: {}\npolicyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 0.0.0.0/0}}]}]"
    narrow = "podSelector: {}\npolicyTypes: [Egress]\negress: [{to: [{ipBlock: {cidr: 203.0.113.0/24}}]}]"
    for spec, severity, noted in ((wide, Severity.MEDIUM, True), (narrow, Severity.HIGH, False)):
        documents = [
            namespace("shop"),
            deployment("web", "shop"),
            KUBE_SYSTEM,
            policy("out", "shop", spec),
        ]
        finding = only("egress-blocks-dns", *documents)
        assert finding.severity is severity
        assert ("depends on the CNI" in finding.message) is noted


# --- policy-peer-or-confusion --------------------------------------------------------------

OR_PEERS = """
podSelector: {matchLabels: {app: db}}
ingress:
  - from:
      - namespaceSelector: {matchLabels: {team: shop}}
      - podSelector: {matchLabels: {app: api}}
    ports: [{port: 5432}]
"""
AND_PEERS = """
podSelector: {matchLabels: {app: db}}
ingress:
  - from:
      - namespaceSelector: {matchLabels: {team: shop}}
        podSelector: {matchLabels: {app: api}}
"""
TWO_POD_PEERS = """
podSelector: {}
ingress:
  - from:
      - podSelector: {matchLabels: {app: api}}
      - podSelector: {matchLabels: {app: web}}
"""
NAMESPACE_AND_IPBLOCK = """
podSelector: {}
ingress:
  - from:
      - namespaceSelector: {matchLabels: {team: shop}}
      - ipBlock: {cidr: 10.0.0.0/8}
"""
EGRESS_OR = """
podSelector: {}
policyTypes: [Egress]
egress:
  - to:
      - namespaceSelector: {matchLabels: {team: shop}}
      - podSelector: {matchLabels: {app: api}}
"""

OR_CASES = [
    ("separate peers", OR_PEERS, ["NetworkPolicy/data/p"]),
    ("egress too", EGRESS_OR, ["NetworkPolicy/data/p"]),
    ("anded peer", AND_PEERS, []),
    ("two pod peers", TWO_POD_PEERS, []),
    ("namespace and ipBlock", NAMESPACE_AND_IPBLOCK, []),
]


@pytest.mark.parametrize(
    ("spec", "expected"), [c[1:] for c in OR_CASES], ids=[c[0] for c in OR_CASES]
)
def test_policy_peer_or_confusion(spec: str, expected: list[str]) -> None:
    assert (
        fired_on("policy-peer-or-confusion", namespace("data"), policy("p", "data", spec))
        == expected
    )


def test_policy_peer_or_confusion_explains_and_shows_the_anded_peer() -> None:
    documents = [
        namespace("data"),
        namespace("shop", "{team: shop}"),
        *SHOP[1:],
        deployment("db", "data"),
        policy("p", "data", OR_PEERS),
    ]
    finding = only("policy-peer-or-confusion", *documents)
    policy_rule = dig(finding.evidence, "rules", 0)
    assert dig(policy_rule, "namespacesAdmittedWhole") == ["shop"]
    assert dig(policy_rule, "podsAdmittedWhole") == 2
    assert dig(policy_rule, "andedPeers") == [
        {
            "namespaceSelector": {"matchLabels": {"team": "shop"}},
            "podSelector": {"matchLabels": {"app": "api"}},
        }
    ]
    assert (
        "every pod in namespaces team=shop (shop), OR pods app=api in namespace data"
        in finding.message
    )
    assert "probably meant: pods app=api in namespaces team=shop" in finding.message
    # One hyphen: both selectors in the same list item.
    assert (
        "    - namespaceSelector:\n"
        "        matchLabels:\n"
        "          team: shop\n"
        "      podSelector:\n"
        "        matchLabels:\n"
        "          app: api\n"
    ) in finding.remediation
    assert "port: 5432" in finding.remediation


# --- policy-allows-all-namespaces ----------------------------------------------------------

ALL_NAMESPACES_CASES = [
    ("namespaceSelector {} alone", "ingress: [{from: [{namespaceSelector: {}}]}]", True),
    (
        "namespaceSelector {} and podSelector {}",
        "ingress: [{from: [{namespaceSelector: {}, podSelector: {}}]}]",
        True,
    ),
    ("every IPv4 address", "ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]", True),
    ("every IPv6 address", "ingress: [{from: [{ipBlock: {cidr: '::/0'}}]}]", True),
    ("no from at all", "ingress: [{ports: [{port: 8080}]}]", True),
    (
        "all namespaces, one app",
        "ingress: [{from: [{namespaceSelector: {}, podSelector: {matchLabels: {app: x}}}]}]",
        False,
    ),
    ("a private range", "ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]", False),
    (
        "a named namespace",
        "ingress: [{from: [{namespaceSelector: {matchLabels: {team: a}}}]}]",
        False,
    ),
    (
        "egress to every namespace",
        "policyTypes: [Egress]\negress: [{to: [{namespaceSelector: {}}]}]",
        False,
    ),
    ("deny all ingress", "ingress: []", False),
]


@pytest.mark.parametrize(
    ("rules", "fires"),
    [c[1:] for c in ALL_NAMESPACES_CASES],
    ids=[c[0] for c in ALL_NAMESPACES_CASES],
)
def test_policy_allows_all_namespaces(rules: str, fires: bool) -> None:
    spec = "podSelector: {matchLabels: {app: redis}}\n" + rules
    expected = ["NetworkPolicy/data/p"] if fires else []
    assert fired_on("policy-allows-all-namespaces", policy("p", "data", spec)) == expected


def test_policy_allows_all_namespaces_message() -> None:
    spec = "podSelector: {matchLabels: {app: redis}}\ningress: [{from: [{namespaceSelector: {}}], ports: [{port: 6379}]}]"
    finding = only("policy-allows-all-namespaces", policy("p", "data", spec))
    assert finding.message == (
        "NetworkPolicy data/p opens pods app=redis in data to everyone: ingress[0] on "
        "6379/TCP allows namespaceSelector {}: every pod of every namespace."
    )
    assert "kubernetes.io/metadata.name: CLIENT-NAMESPACE" in finding.remediation


# --- policy-selects-no-pods ----------------------------------------------------------------

SELECTS_NOTHING_CASES = [
    (
        "typo",
        "{matchLabels: {app: carts}}",
        ["NetworkPolicy/shop/p"],
        {"matchLabels": {"app": "cart"}},
    ),
    (
        "case",
        "{matchLabels: {App: cart}}",
        ["NetworkPolicy/shop/p"],
        {"matchLabels": {"app": "cart"}},
    ),
    ("matches", "{matchLabels: {app: cart}}", [], None),
    ("everything", "{}", [], None),
    (
        "expression excludes",
        "{matchExpressions: [{key: app, operator: NotIn, values: [cart, web]}]}",
        ["NetworkPolicy/shop/p"],
        None,
    ),
]


@pytest.mark.parametrize(
    ("selector", "expected", "corrected"),
    [c[1:] for c in SELECTS_NOTHING_CASES],
    ids=[c[0] for c in SELECTS_NOTHING_CASES],
)
def test_policy_selects_no_pods(
    selector: str, expected: list[str], corrected: dict[str, object] | None
) -> None:
    documents = [
        namespace("shop"),
        deployment("cart", "shop"),
        deployment("web", "shop"),
        policy("p", "shop", f"podSelector: {selector}"),
    ]
    findings = run("policy-selects-no-pods", snapshot_of(*documents))
    assert [str(f.resource) for f in findings] == expected
    if corrected is not None:
        assert findings[0].evidence["correctedSelector"] == corrected
        assert "app: cart" in findings[0].remediation


def test_policy_selects_no_pods_ignores_empty_namespaces() -> None:
    assert (
        fired_on(
            "policy-selects-no-pods", policy("p", "empty", "podSelector: {matchLabels: {app: x}}")
        )
        == []
    )


def test_policy_selects_no_pods_names_the_closest_pods() -> None:
    documents = [
        namespace("shop"),
        deployment("cart", "shop"),
        policy("p", "shop", "podSelector: {matchLabels: {app: carts}}"),
    ]
    finding = only("policy-selects-no-pods", *documents)
    assert "app=carts looks like a typo of the pods' app=cart" in finding.message
    assert dig(finding.evidence, "closestPods", 0, "workloads") == ["Deployment/cart"]


# --- cni-without-policy-enforcement --------------------------------------------------------


def cni(name: str) -> str:
    return deployment(name, "kube-system", extra_spec="hostNetwork: true", kind="DaemonSet")


A_POLICY = policy("p", "shop", DENY_ALL)

CNI_CASES = [
    (
        "flannel alone",
        [namespace("kube-system"), cni("kube-flannel-ds"), A_POLICY],
        "DaemonSet/kube-system/kube-flannel-ds",
        Severity.HIGH,
    ),
    ("calico", [namespace("kube-system"), cni("calico-node"), A_POLICY], None, None),
    (
        "canal: flannel with calico",
        [namespace("kube-system"), cni("calico-node"), cni("kube-flannel-ds"), A_POLICY],
        None,
        None,
    ),
    ("kindnet", [KUBE_SYSTEM, A_POLICY], None, None),
    ("flannel without policies", [namespace("kube-system"), cni("kube-flannel-ds")], None, None),
    (
        "nothing recognisable",
        [namespace("kube-system"), cni("mystery-net"), A_POLICY],
        "Cluster/cluster",
        Severity.LOW,
    ),
    ("no kube-system in the input", [A_POLICY], "Cluster/cluster", Severity.INFO),
]


@pytest.mark.parametrize(
    ("documents", "resource", "severity"), [c[1:] for c in CNI_CASES], ids=[c[0] for c in CNI_CASES]
)
def test_cni_without_policy_enforcement(
    documents: list[str], resource: str | None, severity: Severity | None
) -> None:
    findings = run("cni-without-policy-enforcement", snapshot_of(*documents))
    assert [(str(f.resource), f.severity) for f in findings] == (
        [(resource, severity)] if resource else []
    )


# --- namespace-legacy-isolation-annotation -------------------------------------------------

LEGACY = (
    "{name: shop, annotations: "
    '{net.beta.kubernetes.io/network-policy: \'{"ingress": {"isolation": "DefaultDeny"}}\'}}'
)


def annotated_shop(metadata: str = LEGACY) -> list[str]:
    return [
        f"apiVersion: v1\nkind: Namespace\nmetadata: {metadata}",
        deployment("web", "shop"),
        deployment("api", "shop"),
    ]


LEGACY_CASES = [
    ("annotation, no policy", annotated_shop(), Severity.MEDIUM),
    (
        "annotation, pods isolated by a policy",
        [*annotated_shop(), policy("d", "shop", DENY_INGRESS)],
        Severity.LOW,
    ),
    ("another annotation", annotated_shop("{name: shop, annotations: {team: a}}"), None),
    ("no annotation", SHOP, None),
]


@pytest.mark.parametrize(
    ("documents", "severity"), [c[1:] for c in LEGACY_CASES], ids=[c[0] for c in LEGACY_CASES]
)
def test_namespace_legacy_isolation_annotation(
    documents: list[str], severity: Severity | None
) -> None:
    findings = run("namespace-legacy-isolation-annotation", snapshot_of(*documents))
    assert [(str(f.resource), f.severity) for f in findings] == (
        [("Namespace/shop", severity)] if severity is not None else []
    )


def test_legacy_annotation_says_it_has_no_effect() -> None:
    finding = only("namespace-legacy-isolation-annotation", *annotated_shop())
    assert finding.message == (
        "Namespace shop carries the obsolete annotation net.beta.kubernetes.io/network-policy, "
        "which has no effect: 2 of 2 pods (Deployment/api, Deployment/web) accept connections "
        "from any pod."
    )
    assert finding.evidence["value"] == '{"ingress": {"isolation": "DefaultDeny"}}'
    assert "name: default-deny-ingress" in finding.remediation


def test_egress_blocks_dns_asks_per_node_when_dns_uses_the_host_network() -> None:
    # Traffic to a pod's own node is allowed: of two pods alike but for their node, the
    # one beside a hostNetwork DNS pod reaches it; the other does not.
    def bare_pod(name: str, ns: str, labels: str, node: str, extra: str = "") -> str:
        return f"""
        apiVersion: v1
        kind: Pod
        metadata: {{name: {name}, namespace: {ns}, labels: {labels}}}
        spec:
          nodeName: {node}{extra}
          containers: [{{name: main, ports: [{{containerPort: 53, protocol: UDP}}]}}]
        status: {{phase: Running, podIP: 10.0.0.{len(name)}}}
        """

    host_dns = bare_pod(
        "coredns", "kube-system", "{k8s-app: kube-dns}", "node-a", "\n          hostNetwork: true"
    )
    documents = [
        namespace("shop"),
        namespace("kube-system"),
        host_dns,
        bare_pod("web-a", "shop", "{app: web}", "node-a"),
        bare_pod("web-bb", "shop", "{app: web}", "node-b"),
        policy("deny", "shop", DENY_ALL),
    ]
    assert fired_on("egress-blocks-dns", *documents) == ["Pod/shop/web-bb"]
