"""policy-not-fully-evaluated: every Cilium or Calico policy with parts approximated
or skipped is named with those parts; fully evaluated policies are not."""

from __future__ import annotations

from kaudit.findings import Severity
from tests.rules.helpers import run, snapshot_of

L7 = """apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: l7, namespace: shop}
spec:
  endpointSelector: {matchLabels: {app: api}}
  ingress:
  - toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET}]}}]
  egress:
  - toFQDNs: [{matchName: api.example.com}]
"""
PLAIN = """apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: plain, namespace: shop}
spec: {endpointSelector: {}, ingress: [{fromEndpoints: [{}]}]}
"""
STAGED = """apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: trial, namespace: shop}
spec: {ingress: [{action: Deny}]}
"""
HOST = """apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: edge}
spec: {preDNAT: true, applyOnForward: true, ingress: [{action: Deny}]}
"""


def test_each_policy_with_approximated_parts_is_named_with_them() -> None:
    findings = run("policy-not-fully-evaluated", snapshot_of(L7, PLAIN, STAGED, HOST))
    assert [(str(f.resource), f.severity) for f in findings] == [
        ("CiliumNetworkPolicy/shop/l7", Severity.INFO),
        ("GlobalNetworkPolicy.projectcalico.org/edge", Severity.INFO),
        ("StagedNetworkPolicy.projectcalico.org/shop/trial", Severity.INFO),
    ]
    l7 = findings[0]
    assert l7.message == (
        "CiliumNetworkPolicy shop/l7 was not fully evaluated: spec.ingress[0].toPorts[0]: L7 "
        "parts (http) are approximated: the rule admits at L4 every request its ports allow; "
        "spec.egress[0].toFQDNs: DNS names (api.example.com) cannot be resolved offline; the "
        "rule matches no address here."
    )
    assert len(l7.evidence["parts"]) == 2  # type: ignore[arg-type]
    assert "preDNAT: applies to host endpoints only, not evaluated" in findings[1].message


def test_nothing_when_everything_was_evaluated() -> None:
    assert run("policy-not-fully-evaluated", snapshot_of(PLAIN)) == []


def test_a_namespace_isolated_by_cilium_is_not_reported_without_networkpolicy() -> None:
    from tests.netpol.cni.cases import DATA

    app = (DATA / "cilium/starwars/http-sw-app.yaml").read_text()
    policy = (DATA / "cilium/starwars/sw_l3_l4_policy.yaml").read_text()
    assert run("namespace-without-networkpolicy", snapshot_of(app)) != []
    assert run("namespace-without-networkpolicy", snapshot_of(app, policy)) == []
