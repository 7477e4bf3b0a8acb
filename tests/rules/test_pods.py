"""Pod rules: hostNetwork, hostPort, the metadata endpoint and ndots."""

from __future__ import annotations

import pytest

from kaudit.findings import Severity
from tests.jsondig import dig
from tests.rules.fixtures import DENY_ALL, KUBE_SYSTEM, deployment, namespace, policy
from tests.rules.helpers import fired_on, only, run, snapshot_of

BARE_POD = """
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop, labels: {run: debug}}
spec:
  containers: [{name: shell, image: busybox}]
"""


# --- pod-host-network ----------------------------------------------------------------------


def test_pod_host_network_one_finding_per_workload() -> None:
    documents = [
        deployment(
            "agent",
            "shop",
            extra_spec="hostNetwork: true",
            kind="DaemonSet",
            ports="[{containerPort: 9100}]",
        ),
        deployment("web", "shop"),
        BARE_POD,
    ]
    assert fired_on("pod-host-network", *documents) == ["DaemonSet/shop/agent"]
    finding = only("pod-host-network", *documents)
    assert finding.evidence["ports"] == ["9100/TCP"]
    assert finding.evidence["podCount"] == 1
    assert "NetworkPolicy does not apply" in finding.message


def test_pod_host_network_groups_live_pods_by_their_deployment() -> None:
    pods = "\n---\n".join(
        f"""
apiVersion: v1
kind: Pod
metadata:
  name: agent-7d9c-{suffix}
  namespace: shop
  labels: {{app: agent, pod-template-hash: 7d9c}}
  ownerReferences: [{{kind: ReplicaSet, name: agent-7d9c, controller: true, apiVersion: apps/v1, uid: u}}]
spec: {{hostNetwork: true, containers: [{{name: a, image: a}}]}}
status: {{phase: Running}}
"""
        for suffix in ("a1", "b2", "c3")
    )
    finding = only("pod-host-network", pods)
    assert str(finding.resource) == "Deployment/shop/agent"
    assert finding.evidence["pods"] == ["agent-7d9c-a1", "agent-7d9c-b2", "agent-7d9c-c3"]
    assert "runs 3 pods" in finding.message


# --- pod-host-port -------------------------------------------------------------------------

HOST_PORT_CASES = [
    (
        "hostPort",
        "[{containerPort: 9125, hostPort: 9125, protocol: UDP}]",
        "",
        ["DaemonSet/shop/statsd"],
    ),
    (
        "hostNetwork with hostPort",
        "[{containerPort: 9100, hostPort: 9100}]",
        "hostNetwork: true",
        ["DaemonSet/shop/statsd"],
    ),
    ("container port only", "[{containerPort: 9125}]", "", []),
]


@pytest.mark.parametrize(
    ("ports", "extra", "expected"),
    [c[1:] for c in HOST_PORT_CASES],
    ids=[c[0] for c in HOST_PORT_CASES],
)
def test_pod_host_port(ports: str, extra: str, expected: list[str]) -> None:
    document = deployment("statsd", "shop", ports=ports, extra_spec=extra, kind="DaemonSet")
    assert fired_on("pod-host-port", document) == expected


def test_pod_host_port_evidence() -> None:
    document = deployment(
        "statsd",
        "shop",
        ports="[{containerPort: 9125, hostPort: 9125, protocol: UDP}]",
        kind="DaemonSet",
    )
    finding = only("pod-host-port", document)
    assert finding.evidence["hostPorts"] == [
        {"hostPort": 9125, "containerPort": 9125, "protocol": "UDP"}
    ]
    assert "9125->9125/UDP" in finding.message


# --- pod-metadata-reachable ----------------------------------------------------------------

ALL_BUT_METADATA = """
podSelector: {}
policyTypes: [Egress]
egress:
  - to:
      - ipBlock: {cidr: 0.0.0.0/0, except: [169.254.169.254/32]}
"""
EVERYTHING = """
podSelector: {matchLabels: {app: web}}
policyTypes: [Egress]
egress:
  - to:
      - ipBlock: {cidr: 0.0.0.0/0}
    ports: [{port: 80}, {port: 443}]
"""
ONLY_INTERNAL = """
podSelector: {}
policyTypes: [Egress]
egress:
  - to: [{namespaceSelector: {}}]
"""

# The hostNetwork DaemonSet is reported whatever the policies say: the node's rules decide.
AGENT = "DaemonSet/shop/agent"
METADATA_CASES = [
    ("open egress", [], [AGENT, "Deployment/shop/web"]),
    ("default deny", [DENY_ALL], [AGENT]),
    ("everything but the metadata address", [ALL_BUT_METADATA], [AGENT]),
    ("0.0.0.0/0 on port 80", [EVERYTHING], [AGENT, "Deployment/shop/web"]),
    ("in-cluster only", [ONLY_INTERNAL], [AGENT]),
]


@pytest.mark.parametrize(
    ("policies", "expected"), [c[1:] for c in METADATA_CASES], ids=[c[0] for c in METADATA_CASES]
)
def test_pod_metadata_reachable(policies: list[str], expected: list[str]) -> None:
    documents = [
        namespace("shop"),
        deployment("web", "shop"),
        deployment("agent", "shop", extra_spec="hostNetwork: true", kind="DaemonSet"),
        *(policy(f"p{i}", "shop", spec) for i, spec in enumerate(policies)),
    ]
    assert fired_on("pod-metadata-reachable", *documents) == expected


def test_pod_metadata_reachable_without_egress_policy_proposes_one() -> None:
    finding = only("pod-metadata-reachable", namespace("shop"), deployment("web", "shop"))
    assert finding.severity is Severity.HIGH
    assert dig(finding.evidence, "reachable", 0) == {
        "address": "169.254.169.254",
        "port": 80,
        "reason": "not-isolated",
    }
    assert "no NetworkPolicy restricts its egress" in finding.message
    assert "169.254.169.254/32" in finding.remediation
    assert "fd00:ec2::254/128" in finding.remediation
    assert "app: web" in finding.remediation


def test_pod_metadata_reachable_patches_the_allowing_rule() -> None:
    finding = only(
        "pod-metadata-reachable",
        namespace("shop"),
        deployment("web", "shop"),
        policy("out", "shop", EVERYTHING),
    )
    assert finding.evidence["allowingRules"] == [
        {"policy": "shop/out", "direction": "Egress", "rule": 0}
    ]
    assert "allowed by shop/out egress[0]" in finding.message
    assert (
        "    - ipBlock:\n        cidr: 0.0.0.0/0\n        except:\n        - 169.254.169.254/32\n"
    ) in finding.remediation
    assert "name: out" in finding.remediation


def test_host_network_pods_reach_metadata_as_the_node_does() -> None:
    agent = deployment("agent", "shop", extra_spec="hostNetwork: true", kind="DaemonSet")
    finding = only(
        "pod-metadata-reachable", namespace("shop"), agent, policy("d", "shop", DENY_ALL)
    )
    assert finding.severity is Severity.MEDIUM
    assert finding.evidence["hostNetwork"] is True
    assert dig(finding.evidence, "reachable", 0, "reason") == "host-network"
    assert "where NetworkPolicy does not apply" in finding.message
    assert "for the node's own rules to decide" in finding.message
    assert "NetworkPolicy cannot help here" in finding.remediation


# --- pod-default-ndots ---------------------------------------------------------------------

NDOTS_CASES = [
    ("default", "", ["Namespace/shop"]),
    ("ndots 2", "dnsConfig: {options: [{name: ndots, value: '2'}]}", []),
    (
        "ndots 5 spelled out",
        "dnsConfig: {options: [{name: ndots, value: '5'}]}",
        ["Namespace/shop"],
    ),
    ("own resolver", "dnsPolicy: Default", []),
    ("host network without cluster DNS", "hostNetwork: true", []),
]


@pytest.mark.parametrize(
    ("extra", "expected"), [c[1:] for c in NDOTS_CASES], ids=[c[0] for c in NDOTS_CASES]
)
def test_pod_default_ndots(extra: str, expected: list[str]) -> None:
    assert fired_on("pod-default-ndots", deployment("web", "shop", extra_spec=extra)) == expected


def test_pod_default_ndots_is_one_info_finding_per_namespace() -> None:
    documents = [deployment("web", "shop"), deployment("api", "shop"), BARE_POD, KUBE_SYSTEM]
    findings = run("pod-default-ndots", snapshot_of(*documents))
    # kindnet runs on the host network with ClusterFirstWithHostNet: it uses the cluster DNS too.
    assert [(str(f.resource), f.severity) for f in findings] == [
        ("Namespace/kube-system", Severity.INFO),
        ("Namespace/shop", Severity.INFO),
    ]
    shop = findings[1]
    assert shop.evidence["workloads"] == ["Deployment/api", "Deployment/web", "Pod/debug"]
    assert shop.evidence["podCount"] == 3
    assert "value: '2'" in shop.remediation
    assert "kind: Deployment\nmetadata:\n  name: api\n  namespace: shop" in shop.remediation
