"""Enforcement: NetworkPolicies exist, but the cluster's CNI may not apply them."""

from __future__ import annotations

from collections.abc import Iterator

from kaudit.findings import Severity
from kaudit.jsontypes import JsonObject, json_array
from kaudit.kube import ENFORCING_CNIS, cni_of_name
from kaudit.model import ObjectRef, Resource
from kaudit.rules.common import K8S_NETPOL, plural
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, Rule, rule

# --- KA109 ---------------------------------------------------------------------------------


def _cni_workload(ctx: AuditContext, cni: str) -> ObjectRef | None:
    for pod in ctx.snapshot.pods:
        if ctx.config.is_system_namespace(pod.namespace) and cni in (
            cni_of_name(pod.owner.name),
            cni_of_name(pod.name),
        ):
            return ObjectRef(pod.owner.kind, pod.namespace, pod.owner.name)
    return None


@rule(
    id="KA109",
    name="cni-without-policy-enforcement",
    title="NetworkPolicies exist, but the CNI may not enforce them",
    severity=Severity.HIGH,
    category="policy",
    rationale="""
        NetworkPolicy is only an API object: the CNI plugin enforces it. Flannel alone,
        and other plugins without a policy engine, accept the objects and ignore them,
        so every policy in the cluster is silently without effect.
    """,
    remediation="""
        Run a CNI that enforces NetworkPolicy (Calico, Cilium, Antrea, kube-router,
        Weave Net, kindnet since kind v0.24), or add a policy engine next to flannel
        (Canal: flannel with Calico's policy agent).
    """,
    references=(
        K8S_NETPOL + "#prerequisites",
        "https://kubernetes.io/docs/concepts/extend-kubernetes/compute-storage-net/network-plugins/",
    ),
    needs=(Resource.NETWORK_POLICIES,),
)
def cni_without_policy_enforcement(ctx: AuditContext) -> Iterator[Hit]:
    policies = ctx.snapshot.network_policies
    if not policies:
        return
    facts = ctx.snapshot.facts
    seen = list(facts.cni)
    enforcing = sorted(set(seen) & ENFORCING_CNIS)
    if enforcing:
        return
    evidence: JsonObject = {
        "cni": json_array(seen),
        "cniChecked": facts.cni_checked,
        "policyCount": len(policies),
    }
    count = plural(len(policies), "NetworkPolicy", "NetworkPolicies")
    if seen:
        workload = _cni_workload(ctx, seen[0])
        ref = workload or ObjectRef("Cluster", "", facts.context or "cluster")
        yield Hit(
            ref,
            f"The cluster runs {', '.join(seen)}, which does not enforce NetworkPolicy: the "
            f"{count} in the cluster have no effect and all traffic stays open.",
            evidence,
            severity=Severity.HIGH,
        )
    elif facts.cni_checked:
        yield Hit(
            ObjectRef("Cluster", "", facts.context or "cluster"),
            f"No known CNI plugin was found in the system namespaces, so kaudit cannot tell "
            f"whether the {count} are enforced.",
            evidence,
            severity=Severity.LOW,
        )
    else:
        where = (
            "the input has no kube-system namespace"
            if facts.source != "live"
            else "kube-system could not be inspected"
        )
        yield Hit(
            ObjectRef("Cluster", "", facts.context or "cluster"),
            f"The CNI plugin could not be identified ({where}), so kaudit cannot tell whether "
            f"the {count} are enforced.",
            evidence,
            severity=Severity.INFO,
        )


RULES: tuple[Rule, ...] = (cni_without_policy_enforcement,)
