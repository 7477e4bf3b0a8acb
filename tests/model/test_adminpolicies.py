"""The network-policy-api kinds read into one shape, and refused as their CRDs refuse them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kaudit.collect.manifests import load_manifests
from kaudit.errors import InputError
from kaudit.model import (
    MATCH_ALL,
    AdminAction,
    AdminPolicy,
    AdminTier,
    LabelSelector,
    Node,
    PolicyPort,
    Protocol,
)
from kaudit.model.adminpolicies import (
    ADMIN_NETWORK_POLICY,
    BASELINE_ADMIN_NETWORK_POLICY,
    CLUSTER_NETWORK_POLICY,
)

CNP = """\
apiVersion: policy.networking.k8s.io/v1beta1
kind: ClusterNetworkPolicy
metadata: {name: guard}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {team: a}}}
  ingress:
  - name: deny-b
    action: Deny
    from: [{namespaces: {matchLabels: {team: b}}}]
    protocols:
    - tcp: {destinationPort: {number: 80}}
    - udp: {destinationPort: {range: {start: 1000, end: 2000}}}
    - destinationNamedPort: web
  egress:
  - action: Pass
    to: [{networks: ["10.0.0.0/8"]}, {domainNames: ["*.example.com"]}]
"""


def spec(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"priority": 1, "subject": {"namespaces": {}}}
    base.update(fields)
    return base


def raw(kind: str, spec_fields: dict[str, Any], name: str = "p") -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": spec_fields}


def test_cluster_network_policy_v1beta1_is_read_whole(tmp_path: Path) -> None:
    (tmp_path / "cnp.yaml").write_text(CNP)
    snapshot = load_manifests([str(tmp_path)])
    (policy,) = snapshot.admin_policies
    assert (policy.kind, policy.name, policy.tier, policy.priority) == (
        CLUSTER_NETWORK_POLICY,
        "guard",
        AdminTier.ADMIN,
        10,
    )
    assert policy.ref.qualified_name == "guard" and policy.ref.namespace == ""
    assert policy.subject.namespaces == LabelSelector.from_raw({"matchLabels": {"team": "a"}})
    (deny,) = policy.ingress
    assert (deny.name, deny.action) == ("deny-b", AdminAction.DENY)
    # A named port carries no protocol: it is listed once per protocol.
    assert deny.ports == (
        PolicyPort(Protocol.TCP, 80),
        PolicyPort(Protocol.UDP, 1000, 2000),
        PolicyPort(Protocol.TCP, "web"),
        PolicyPort(Protocol.UDP, "web"),
        PolicyPort(Protocol.SCTP, "web"),
    )
    (passing,) = policy.egress
    assert passing.action is AdminAction.PASS
    assert [p.networks for p in passing.peers] == [("10.0.0.0/8",), ()]
    assert [p.domain_names for p in passing.peers] == [(), ("*.example.com",)]
    # Cluster-scoped: no namespace is made up for it.
    assert [ns.name for ns in snapshot.namespaces] == []


def test_v1alpha2_reads_as_v1beta1(tmp_path: Path) -> None:
    (tmp_path / "cnp.yaml").write_text(CNP.replace("v1beta1", "v1alpha2"))
    (policy,) = load_manifests([str(tmp_path)]).admin_policies
    assert policy.ingress[0].ports[0] == PolicyPort(Protocol.TCP, 80)


def test_v1alpha1_kinds_map_allow_to_accept() -> None:
    anp = AdminPolicy.from_raw(
        ADMIN_NETWORK_POLICY,
        raw(
            ADMIN_NETWORK_POLICY,
            spec(
                priority=5,
                subject={
                    "pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"a": "b"}}}
                },
                egress=[
                    {
                        "action": "Allow",
                        "to": [{"nodes": {}}],
                        "ports": [
                            {"portNumber": {"port": 22}},
                            {"portRange": {"protocol": "UDP", "start": 5, "end": 9}},
                        ],
                    }
                ],
            ),
        ),
    )
    assert (anp.tier, anp.priority) == (AdminTier.ADMIN, 5)
    assert anp.subject.pods is not None and anp.subject.pods.pod_selector.match_labels == {"a": "b"}
    (rule,) = anp.egress
    assert rule.action is AdminAction.ACCEPT
    assert rule.peers[0].nodes == LabelSelector()
    assert rule.ports == (PolicyPort(Protocol.TCP, 22), PolicyPort(Protocol.UDP, 5, 9))
    banp = AdminPolicy.from_raw(
        BASELINE_ADMIN_NETWORK_POLICY,
        raw(
            BASELINE_ADMIN_NETWORK_POLICY,
            {
                "subject": {"namespaces": {}},
                "ingress": [{"action": "Deny", "from": [{"namespaces": {}}]}],
            },
            name="default",
        ),
    )
    assert (banp.tier, banp.priority, banp.ingress[0].action) == (
        AdminTier.BASELINE,
        None,
        AdminAction.DENY,
    )


def test_nodes_keep_labels_and_ip_addresses() -> None:
    node = Node.from_raw(
        {
            "metadata": {"name": "n1", "labels": {"zone": "a"}},
            "status": {
                "addresses": [
                    {"type": "InternalIP", "address": "10.1.0.5"},
                    {"type": "Hostname", "address": "n1"},
                ]
            },
        }
    )
    assert (node.name, dict(node.labels), node.addresses) == ("n1", {"zone": "a"}, ("10.1.0.5",))


ACCEPT_PEER = {"action": "Accept", "to": [{"namespaces": {}}]}


@pytest.mark.parametrize(
    ("kind", "body", "name", "message"),
    [
        (CLUSTER_NETWORK_POLICY, spec(tier="Middle"), "p", "spec.tier: must be Admin or Baseline"),
        (
            CLUSTER_NETWORK_POLICY,
            spec(tier="Admin", priority=1001),
            "p",
            "spec.priority: must be 0",
        ),
        (CLUSTER_NETWORK_POLICY, spec(tier="Admin", priority="1"), "p", "must be an integer"),
        (ADMIN_NETWORK_POLICY, {"subject": {"namespaces": {}}}, "p", "spec.priority: required"),
        (
            CLUSTER_NETWORK_POLICY,
            spec(tier="Admin", subject={"namespaces": {}, "pods": {"podSelector": {}}}),
            "p",
            "spec.subject: exactly one of namespaces or pods",
        ),
        (
            CLUSTER_NETWORK_POLICY,
            spec(tier="Admin", egress=[{**ACCEPT_PEER, "action": "Allow"}]),
            "p",
            "spec.egress[0].action: must be one of Accept, Deny, Pass, not 'Allow'",
        ),
        (
            BASELINE_ADMIN_NETWORK_POLICY,
            {"subject": {"namespaces": {}}, "egress": [{**ACCEPT_PEER, "action": "Pass"}]},
            "default",
            "must be one of Allow, Deny, not 'Pass'",
        ),
        (
            BASELINE_ADMIN_NETWORK_POLICY,
            {"subject": {"namespaces": {}}},
            "other",
            "must be named 'default'",
        ),
        (
            CLUSTER_NETWORK_POLICY,
            spec(tier="Admin", egress=[{"action": "Deny", "to": []}]),
            "p",
            "spec.egress[0].to: at least one peer",
        ),
        (
            CLUSTER_NETWORK_POLICY,
            spec(
                tier="Admin", egress=[{"action": "Deny", "to": [{"namespaces": {}, "nodes": {}}]}]
            ),
            "p",
            "spec.egress[0].to[0]: exactly one kind of peer",
        ),
        (
            CLUSTER_NETWORK_POLICY,
            spec(
                tier="Admin", ingress=[{"action": "Deny", "from": [{"networks": ["10.0.0.0/8"]}]}]
            ),
            "p",
            "ingress peers are namespaces or pods, not networks",
        ),
        (
            CLUSTER_NETWORK_POLICY,
            spec(
                tier="Admin",
                egress=[
                    {**ACCEPT_PEER, "protocols": [{"tcp": {"destinationPort": {"number": 0}}}]}
                ],
            ),
            "p",
            "destinationPort.number: must be a port number 1-65535, not 0",
        ),
        (
            CLUSTER_NETWORK_POLICY,
            spec(
                tier="Admin",
                egress=[
                    {
                        **ACCEPT_PEER,
                        "protocols": [
                            {"tcp": {"destinationPort": {"range": {"start": 90, "end": 90}}}}
                        ],
                    }
                ],
            ),
            "p",
            "start (90) must be less than end (90)",
        ),
        (
            CLUSTER_NETWORK_POLICY,
            spec(tier="Admin", egress=[{**ACCEPT_PEER, "ports": [{"namedPort": "web"}]}]),
            "p",
            "spec.egress[0].ports: not a field of this kind",
        ),
        (
            BASELINE_ADMIN_NETWORK_POLICY,
            {
                "subject": {"namespaces": {}},
                "egress": [{"action": "Allow", "to": [{"domainNames": ["a.example"]}]}],
            },
            "default",
            "domainNames: not a field of this kind",
        ),
    ],
)
def test_refused_as_the_api_server_refuses(
    kind: str, body: dict[str, Any], name: str, message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        AdminPolicy.from_raw(kind, raw(kind, body, name))


def test_manifest_error_is_one_line_naming_the_object(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(CNP.replace("priority: 10", "priority: -1"))
    with pytest.raises(InputError) as error:
        load_manifests([str(tmp_path)])
    text = str(error.value)
    assert "\n" not in text
    assert text.endswith(
        "bad.yaml:1: invalid ClusterNetworkPolicy guard: spec.priority: must be 0 to 1000, not -1"
    )


@pytest.mark.parametrize(
    ("kind", "body", "reading"),
    [
        (
            CLUSTER_NETWORK_POLICY,
            spec(tier="Admin", subject={"pods": {"namespaceSelector": {}}}),
            "spec.subject.pods.podSelector is missing (the CRD requires it): read as {}",
        ),
        (
            CLUSTER_NETWORK_POLICY,
            spec(tier="Admin", egress=[{"action": "Deny", "to": [{"networks": ["10.0.0.1/8"]}]}]),
            "spec.egress[0].to[0].networks: '10.0.0.1/8' has host bits set (the CRD refuses it): "
            "read as 10.0.0.0/8",
        ),
        (
            ADMIN_NETWORK_POLICY,
            spec(
                egress=[
                    {
                        "action": "Allow",
                        "to": [{"networks": ["10.0.0.0/8"]}],
                        "ports": [{"namedPort": "web"}],
                    }
                ]
            ),
            "spec.egress[0]: named ports with networks/nodes/domainNames peers",
        ),
    ],
)
def test_what_the_crd_refuses_but_reads_one_way_is_read_so_and_said(
    kind: str, body: dict[str, Any], reading: str
) -> None:
    """Manifests written for analyzers that accept these (the API server would not): read
    the one obvious way, and listed so the manifest reader warns about each."""
    policy = AdminPolicy.from_raw(kind, {"metadata": {"name": "p"}, "spec": body})
    assert len(policy.lenient) == 1
    assert policy.lenient[0].startswith(reading)
    if "networks" in str(body) and "10.0.0.1/8" in str(body):
        assert policy.egress[0].peers[0].networks == ("10.0.0.0/8",)
    if "subject" in body and "pods" in body["subject"]:
        assert policy.subject.pods is not None
        assert policy.subject.pods.pod_selector == MATCH_ALL


def test_the_manifest_reader_warns_about_each_lenient_reading(tmp_path: Path) -> None:
    path = tmp_path / "cnp.yaml"
    path.write_text(
        "apiVersion: policy.networking.k8s.io/v1beta1\n"
        "kind: ClusterNetworkPolicy\n"
        "metadata: {name: sloppy}\n"
        "spec:\n"
        "  tier: Admin\n"
        "  priority: 5\n"
        "  subject: {pods: {namespaceSelector: {}}}\n"
        "  egress: [{action: Deny, to: [{networks: [10.0.0.1/8]}]}]\n"
    )
    snapshot = load_manifests([str(path)])
    messages = [w.message for w in snapshot.warnings]
    assert len(messages) == 2
    assert all(m.startswith(f"{path}:1: ClusterNetworkPolicy sloppy: spec.") for m in messages)
