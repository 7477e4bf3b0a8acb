"""The questions the engine answers: why, who, outside addresses, lateral movement, summary."""

from __future__ import annotations

import json

import pytest

from kaudit.cli.reach_render import reach_report
from kaudit.errors import InputError
from kaudit.kube import METADATA_ADDRESSES
from kaudit.model import Protocol
from kaudit.netpol import Coverage, Direction, IsolationCounts, PairCount, ReachCount, Reason
from kaudit.report.jsonio import reachability_from_dict, reachability_to_dict
from tests.jsondig import dig
from tests.netpol.helpers import Cluster, namespace_doc, pod_doc
from tests.netpol.test_semantics import BASE, netpol

PROD_POLICIES = (
    netpol("prod", "default-deny", "  podSelector: {}\n  policyTypes: [Ingress, Egress]\n")
    + netpol(
        "prod",
        "db",
        "  podSelector: {matchLabels: {app: db}}\n  ingress:\n"
        "  - from: [{podSelector: {matchLabels: {app: web}}}]\n    ports: [{port: 9999}]\n"
        "  - from: [{podSelector: {matchLabels: {app: api}}}]\n    ports: [{port: pg}]\n",
    )
    + netpol(
        "prod",
        "api-out",
        "  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Egress]\n  egress:\n"
        "  - to: [{podSelector: {matchLabels: {app: db}}}]\n"
        "  - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [10.0.0.0/8, 169.254.0.0/16]}}]\n"
        "    ports: [{port: 443}]\n",
    )
)


@pytest.fixture(scope="module")
def prod() -> Cluster:
    return Cluster(BASE + PROD_POLICIES)


def test_an_allowed_verdict_names_the_rules_on_each_side(prod: Cluster) -> None:
    verdict = prod.engine.check(prod["prod/api"], prod["prod/db"], 5432)
    assert verdict.allowed is True
    assert verdict.egress is not None and verdict.ingress is not None
    assert [str(r) for r in verdict.egress.allowing_policy_rules] == ["prod/api-out egress[0]"]
    assert [str(r) for r in verdict.ingress.allowing_policy_rules] == ["prod/db ingress[1]"]
    assert verdict.ingress.allowing_policy_rules[0].direction is Direction.INGRESS
    text = verdict.explain()
    assert "ALLOWED" in text
    assert "prod/db ingress[1]" in text


def test_a_denied_verdict_names_the_isolating_policies(prod: Cluster) -> None:
    verdict = prod.engine.check(prod["prod/web"], prod["prod/db"], 5432)
    assert (verdict.allowed, verdict.reason) == (False, Reason.NO_POLICY_RULE)
    assert verdict.egress is not None and verdict.ingress is not None
    assert [p.qualified_name for p in verdict.egress.isolating_policies] == ["prod/default-deny"]
    assert [p.qualified_name for p in verdict.ingress.isolating_policies] == [
        "prod/default-deny",
        "prod/db",
    ]
    assert verdict.ingress.allowing_policy_rules == ()
    assert dig(verdict.to_dict(), "ingress", "isolating_policies") == [
        "prod/default-deny",
        "prod/db",
    ]


def test_a_port_may_be_given_by_name(prod: Cluster) -> None:
    assert prod.engine.check(prod["prod/api"], prod["prod/db"], "pg").allowed is True
    missing = prod.engine.check(prod["prod/api"], prod["prod/db"], "nope")
    assert missing.allowed is False
    assert any("no container port named 'nope'" in n for n in missing.notes)


@pytest.mark.parametrize(
    ("address", "port", "coverage", "ranges"),
    [
        ("8.8.8.8", 443, Coverage.ALL, ()),
        ("8.8.8.8", 80, Coverage.NONE, ()),
        ("10.1.2.3", 443, Coverage.NONE, ()),
        ("169.254.169.254", 443, Coverage.NONE, ()),
        ("1.0.0.0/8", 443, Coverage.ALL, ()),
        ("10.0.0.0/7", 443, Coverage.SOME, ("11.0.0.0/8",)),
        ("8.0.0.0/7", 443, Coverage.ALL, ()),
        ("169.254.0.0/15", 443, Coverage.SOME, ("169.255.0.0/16",)),
        ("::/0", 443, Coverage.NONE, ()),
    ],
)
def test_outside_addresses_and_ranges(
    prod: Cluster, address: str, port: int, coverage: Coverage, ranges: tuple[str, ...]
) -> None:
    verdict = prod.engine.check_ip(prod["prod/api"], address, port)
    assert (verdict.coverage, verdict.allowed_ranges) == (coverage, ranges)
    assert verdict.allowed is (coverage is Coverage.ALL)
    assert verdict.ingress is None


def test_the_internet_is_partly_reachable_when_private_ranges_are_excepted(prod: Cluster) -> None:
    verdict = prod.engine.check_ip(prod["prod/api"], "0.0.0.0/0", 443)
    assert (verdict.allowed, verdict.coverage) == (False, Coverage.SOME)
    assert "10.0.0.0/8" not in verdict.allowed_ranges
    assert "11.0.0.0/8" in verdict.allowed_ranges
    assert "PARTLY ALLOWED" in verdict.explain()


def test_egress_rules_without_peers_reach_every_address() -> None:
    cluster = Cluster(
        BASE
        + netpol(
            "prod",
            "out",
            "  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{port: 80}]\n"
            "  - to: [{podSelector: {}}]\n    ports: [{port: 81}]\n"
            "  - ports: [{port: http}]\n",
        )
    )
    web = cluster["prod/web"]
    assert cluster.engine.check_ip(web, "::/0", 80).coverage is Coverage.ALL
    # Selector peers and named ports never match an address outside the cluster.
    assert cluster.engine.check_ip(web, "203.0.113.9", 81).coverage is Coverage.NONE
    assert cluster.engine.check_ip(web, "203.0.113.9", 8080).coverage is Coverage.NONE


def test_metadata_endpoints(prod: Cluster) -> None:
    open_pod = prod.engine.metadata_access(prod["dev/web"])
    closed = prod.engine.metadata_access(prod["prod/api"])
    assert [a for a, _, _ in open_pod] == list(METADATA_ADDRESSES)
    assert "169.254.169.254" in METADATA_ADDRESSES and "fd00:ec2::254" in METADATA_ADDRESSES
    assert all(v.allowed for _, port, v in open_pod if port == 80)
    assert [v.allowed for _, _, v in closed] == [False, False, False, False]
    assert [v.reason for _, _, v in open_pod] == [Reason.NOT_ISOLATED] * 4


def test_an_address_of_a_pod_is_pointed_out(prod: Cluster) -> None:
    verdict = prod.engine.check_ip(prod["dev/web"], "10.0.1.12", 5432)
    assert any("prod/db" in note for note in verdict.notes)


def test_bad_addresses_raise_value_error(prod: Cluster) -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6"):
        prod.engine.check_ip(prod["prod/api"], "not-an-ip", 80)


def test_reachable_from_and_reachers_of(prod: Cluster) -> None:
    engine = prod.engine
    assert [p.key for p in engine.reachable_from(prod["prod/api"], 5432)] == ["prod/db"]
    assert [p.key for p in engine.reachable_from(prod["prod/api"], None, None)] == ["prod/db"]
    assert [p.key for p in engine.reachers_of(prod["prod/db"], 5432)] == ["prod/api"]
    # On any port, web's egress is denied, so nobody from prod but api reaches db.
    assert [p.key for p in engine.reachers_of(prod["prod/db"], None, None)] == ["prod/api"]
    everyone = sorted(p.key for p in prod.snapshot.pods if p.namespace != "prod")
    reached = [p.key for p in engine.reachable_from(prod["dev/web"], 53, Protocol.UDP)]
    assert reached == [k for k in everyone if k != "dev/web"]


def test_open_ingress_and_cross_namespace_reachers() -> None:
    cluster = Cluster(
        BASE
        + namespace_doc("other", {"team": "x"})
        + pod_doc("other/client", {"app": "client"})
        + netpol(
            "prod",
            "web",
            "  podSelector: {matchLabels: {app: web}}\n  ingress:\n"
            "  - from: [{namespaceSelector: {}}]\n",
        )
        + netpol(
            "prod",
            "api",
            "  podSelector: {matchLabels: {app: api}}\n  ingress:\n"
            "  - from: [{namespaceSelector: {}}]\n    ports: [{port: 80}]\n",
        )
        + netpol(
            "prod",
            "db",
            "  podSelector: {matchLabels: {app: db}}\n  ingress:\n"
            "  - from: [{namespaceSelector: {matchLabels: {team: x}}}]\n",
        )
        + netpol("dev", "out", "  podSelector: {}\n  policyTypes: [Egress]\n")
    )
    engine = cluster.engine
    assert engine.open_ingress(cluster["prod/web"]) is True
    assert engine.open_ingress(cluster["prod/api"]) is False  # one port only
    assert engine.open_ingress(cluster["prod/db"]) is False  # one namespace only
    assert engine.open_ingress(cluster["monitoring/prom"]) is True  # not isolated
    reachers = [p.key for p in engine.cross_namespace_reachers(cluster["prod/web"], 8080)]
    assert "dev/web" not in reachers  # dev denies its own egress
    assert "other/client" in reachers and "prod/api" not in reachers


def test_summary_counts_the_blast_radius(prod: Cluster) -> None:
    summary = prod.engine.summary()
    assert (summary.pods, summary.namespaces, summary.policies) == (7, 4, 3)
    assert summary.isolation == IsolationCounts(
        ingress_isolated=3, egress_isolated=3, host_network=0
    )
    entries = {f"{e.namespace}/{e.pods[0]}": e for e in summary.pod_classes}
    assert entries["prod/api"].can_reach == ReachCount(pods=1, namespaces=1)
    assert entries["prod/db"].reachable_from == ReachCount(pods=1, namespaces=1)
    # dev/web reaches every pod outside prod: monitoring (2) and kube-system (1).
    assert entries["dev/web"].can_reach == ReachCount(pods=3, namespaces=2)
    assert entries["prod/web"].ingress_policies == ("default-deny",)
    matrix = summary.namespace_matrix
    assert matrix["prod"]["prod"] == PairCount(allowed=1, total=6)
    assert matrix["dev"]["prod"] == PairCount(allowed=0, total=3)
    assert matrix["monitoring"]["kube-system"] == PairCount(allowed=2, total=2)
    # The JSON form reads back into the same summary.
    assert reachability_from_dict(json.loads(json.dumps(reachability_to_dict(summary)))) == summary


def test_reach_report_pair_text_and_json() -> None:
    snapshot = Cluster(BASE + PROD_POLICIES).snapshot
    text = reach_report(
        snapshot,
        src="prod/web",
        dst="prod/db",
        to_ip=None,
        port=5432,
        protocol=Protocol.TCP,
        fmt="text",
    )
    assert text.splitlines()[0] == "prod/web -> prod/db 5432/TCP: DENIED"
    data = json.loads(
        reach_report(
            snapshot,
            src="prod/api",
            dst="prod/db",
            to_ip=None,
            port=5432,
            protocol=Protocol.TCP,
            fmt="json",
        )
    )
    assert (data["allowed"], data["ingress"]["allowing_rules"]) == (
        True,
        [{"policy": "prod/db", "direction": "Ingress", "rule": 1}],
    )
    ip = json.loads(
        reach_report(
            snapshot,
            src="prod/api",
            dst=None,
            to_ip="169.254.169.254",
            port=80,
            protocol=Protocol.TCP,
            fmt="json",
        )
    )
    assert (ip["allowed"], ip["coverage"], ip["ingress"]) == (False, "none", None)


def test_reach_report_lists_neighbours_and_the_matrix() -> None:
    snapshot = Cluster(BASE + PROD_POLICIES).snapshot
    reach = reach_report(
        snapshot, src="prod/api", dst=None, to_ip=None, port=5432, protocol=Protocol.TCP, fmt="json"
    )
    assert json.loads(reach)["pods"] == ["prod/db"]
    text = reach_report(
        snapshot, src=None, dst=None, to_ip=None, port=5432, protocol=Protocol.TCP, fmt="text"
    )
    assert "  prod/api -> prod/db" in text.splitlines()
    matrix = json.loads(
        reach_report(
            snapshot, src=None, dst=None, to_ip=None, port=80, protocol=Protocol.UDP, fmt="json"
        )
    )
    assert matrix["pods"] == sorted(p.key for p in snapshot.pods)
    assert all(len(row) == len(matrix["pods"]) for row in matrix["allowed"].values())


@pytest.mark.parametrize(
    ("src", "dst", "to_ip", "fmt", "message"),
    [
        ("prod/nope", "prod/db", None, "text", "--from: no pod or workload prod/nope in the input"),
        (
            "prod/web",
            "nope",
            None,
            "text",
            "--to: expected NAMESPACE/NAME or NAMESPACE/KIND/NAME, got 'nope'",
        ),
        (
            "prod/web",
            None,
            "300.1.1.1",
            "text",
            "--to-ip: '300.1.1.1' is not an IP address or CIDR",
        ),
        ("prod/web", None, None, "yaml", "--format: unknown format 'yaml'"),
        (None, None, "8.8.8.8", "text", "--to-ip needs --from"),
    ],
)
def test_reach_report_input_errors(
    src: str | None, dst: str | None, to_ip: str | None, fmt: str, message: str
) -> None:
    snapshot = Cluster(BASE).snapshot
    with pytest.raises(InputError) as error:
        reach_report(
            snapshot, src=src, dst=dst, to_ip=to_ip, port=80, protocol=Protocol.TCP, fmt=fmt
        )
    assert str(error.value).startswith(message)


def test_answers_shared_by_a_class_name_each_pod() -> None:
    cluster = Cluster(
        BASE
        + pod_doc(
            "prod/web-2", {"app": "web", "tier": "front"}, [(8080, "TCP", "http")], ["10.0.1.30"]
        )
        + PROD_POLICIES
    )
    engine = cluster.engine
    first = engine.check(cluster["prod/web"], cluster["prod/db"], 5432)
    second = engine.check(cluster["prod/web-2"], cluster["prod/db"], 5432)
    assert second.source.name == "web-2"
    assert second.egress is not None and second.egress.pod.name == "web-2"
    assert (first.allowed, second.allowed) == (False, False)
    ip = engine.check_ip(cluster["prod/web-2"], "8.8.8.8", 443)
    assert ip.egress is not None and ip.egress.pod.name == "web-2"
    assert [
        d.tcp for d in map(engine.dns_access, (cluster["prod/web"], cluster["prod/web-2"]))
    ] == [
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("{cidr: 0.0.0.0/0}", True),  # holds every pod address: every pod is admitted
        ("{cidr: 0.0.0.0/0, except: [10.0.0.0/8]}", False),  # the internet only
        ("{cidr: 10.0.1.0/24}", False),  # one namespace's addresses only
    ],
)
def test_open_ingress_through_an_ip_block(block: str, expected: bool) -> None:
    cluster = Cluster(
        BASE
        + netpol(
            "prod",
            "db",
            f"  podSelector: {{matchLabels: {{app: db}}}}\n  ingress:\n  - from: [{{ipBlock: {block}}}]\n",
        )
    )
    assert cluster.engine.open_ingress(cluster["prod/db"]) is expected
