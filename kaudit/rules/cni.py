"""CNI policy kinds (Cilium, Calico): what the engine could only approximate or skip."""

from __future__ import annotations

from collections.abc import Iterator

from kaudit.findings import Severity
from kaudit.jsontypes import JsonObject, json_array
from kaudit.model import Resource
from kaudit.model.cni.calico import CalicoPolicy
from kaudit.model.cni.cilium import CiliumPolicy
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, Rule, rule

CILIUM_POLICY_DOCS = "https://docs.cilium.io/en/stable/security/policy/"
CALICO_POLICY_DOCS = "https://docs.tigera.io/calico/latest/reference/resources/networkpolicy"


@rule(
    id="KA120",
    name="policy-not-fully-evaluated",
    title="A Cilium or Calico policy has parts kaudit could only approximate or skip",
    severity=Severity.INFO,
    category="policy",
    rationale="""
        Some parts of Cilium's and Calico's policies cannot be decided from the objects
        alone: DNS names (toFQDNs), layer-7 rules (HTTP, DNS, Kafka), host and node
        policies, ICMP rules, CIDR and cloud groups, and Calico's staged policies and
        host-endpoint options. kaudit approximates them as their documentation states
        (a layer-7 rule admits at layer 4) or leaves them out, so every answer about
        the traffic they govern carries that caveat; this finding names each such part
        so that no verdict is silently wrong.
    """,
    remediation="""
        Nothing to change in the cluster for kaudit's sake. Read the listed parts when
        a verdict about the pods these policies select matters: a layer-7 rule admits
        only some requests on the port kaudit reports open, and a toFQDNs rule admits
        the addresses its names resolve to.
    """,
    references=(CILIUM_POLICY_DOCS, CALICO_POLICY_DOCS),
    needs=(
        Resource.CILIUM_NETWORK_POLICIES,
        Resource.CILIUM_CLUSTERWIDE_NETWORK_POLICIES,
        Resource.CALICO_NETWORK_POLICIES,
        Resource.CALICO_GLOBAL_NETWORK_POLICIES,
        Resource.CALICO_STAGED_NETWORK_POLICIES,
        Resource.CALICO_STAGED_GLOBAL_NETWORK_POLICIES,
    ),
)
def policy_not_fully_evaluated(ctx: AuditContext) -> Iterator[Hit]:
    policies: list[CiliumPolicy | CalicoPolicy] = [
        *ctx.snapshot.cilium_policies,
        *ctx.snapshot.calico_policies,
    ]
    for policy in sorted(policies, key=lambda p: p.ref):
        notes = policy.approximations
        if not notes:
            continue
        evidence: JsonObject = {"parts": json_array(list(notes))}
        yield Hit(
            policy.ref,
            f"{policy.ref.kind} {policy.ref.qualified_name} was not fully evaluated: "
            + "; ".join(notes)
            + ".",
            evidence,
        )


RULES: tuple[Rule, ...] = (policy_not_fully_evaluated,)
