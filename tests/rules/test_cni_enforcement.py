"""cni-without-policy-enforcement with the CNI policy kinds: Cilium's policies are
enforced by Cilium alone, Calico's by Calico alone; Kubernetes NetworkPolicy by any
enforcing plugin."""

from __future__ import annotations

import pytest

from kaudit.findings import Severity
from tests.rules.fixtures import deployment, namespace
from tests.rules.helpers import only, run, snapshot_of


def cni(name: str) -> str:
    return deployment(name, "kube-system", extra_spec="hostNetwork: true", kind="DaemonSet")


CNP = (
    "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"
    "metadata: {name: c, namespace: shop}\nspec: {endpointSelector: {}, ingress: [{}]}"
)
CALICO = (
    "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\n"
    "metadata: {name: k, namespace: shop}\nspec: {ingress: [{action: Deny}]}"
)
STAGED = CALICO.replace("kind: NetworkPolicy", "kind: StagedNetworkPolicy")
KUBE_SYSTEM = namespace("kube-system")

CASES = [
    ("cilium policies on cilium", [KUBE_SYSTEM, cni("cilium"), CNP], None),
    ("cilium policies on calico", [KUBE_SYSTEM, cni("calico-node"), CNP], Severity.HIGH),
    ("calico policies on calico", [KUBE_SYSTEM, cni("calico-node"), CALICO], None),
    ("calico policies on cilium", [KUBE_SYSTEM, cni("cilium"), CALICO], Severity.HIGH),
    ("staged calico policies enforce nothing anyway", [KUBE_SYSTEM, cni("cilium"), STAGED], None),
    ("cilium policies, no CNI recognised", [KUBE_SYSTEM, cni("mystery-net"), CNP], Severity.LOW),
    ("cilium policies, no kube-system", [CNP], Severity.INFO),
]


@pytest.mark.parametrize(
    ("documents", "severity"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_cni_policy_kinds_need_their_own_plugin(
    documents: list[str], severity: Severity | None
) -> None:
    findings = run("cni-without-policy-enforcement", snapshot_of(*documents))
    assert [f.severity for f in findings] == ([severity] if severity is not None else [])


def test_the_message_names_the_plugin_the_policies_need() -> None:
    finding = only("cni-without-policy-enforcement", KUBE_SYSTEM, cni("calico-node"), CNP, CALICO)
    assert str(finding.resource) == "DaemonSet/kube-system/calico-node"
    assert finding.message == (
        "The cluster runs calico, not Cilium: the 1 Cilium policy in the cluster are enforced "
        "by Cilium alone and have no effect here."
    )
    assert finding.evidence["ciliumPolicyCount"] == 1
    assert finding.evidence["calicoPolicyCount"] == 1
    assert finding.evidence["policyCount"] == 0


def test_unknown_cni_counts_every_kind() -> None:
    finding = only("cni-without-policy-enforcement", KUBE_SYSTEM, cni("mystery-net"), CNP, CALICO)
    assert finding.message == (
        "No known CNI plugin was found in the system namespaces, so kaudit cannot tell "
        "whether the 1 Cilium policy and 1 Calico policy are enforced."
    )
