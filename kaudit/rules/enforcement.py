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

_CILIUM = frozenset({"cilium"})
_CALICO = frozenset({"calico"})


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
    needs=(
        Resource.NETWORK_POLICIES,
        # CNI policy kinds, enforced by their own plugin alone
        Resource.CILIUM_NETWORK_POLICIES,
        Resource.CILIUM_CLUSTERWIDE_NETWORK_POLICIES,
        Resource.CALICO_NETWORK_POLICIES,
        Resource.CALICO_GLOBAL_NETWORK_POLICIES,
    ),
)
def cni_without_policy_enforcement(ctx: AuditContext) -> Iterator[Hit]:
    snapshot = ctx.snapshot
    facts = snapshot.facts
    seen = list(facts.cni)
    # Each engine's policies and the CNI plugins that enforce them: NetworkPolicy any
    # enforcing plugin, Cilium's and Calico's own kinds only their own plugin.
    groups = [
        (len(snapshot.network_policies), "NetworkPolicy", "NetworkPolicies", ENFORCING_CNIS),
        (len(snapshot.cilium_policies), "Cilium policy", "Cilium policies", _CILIUM),
        (
            sum(1 for p in snapshot.calico_policies if p.enforced),
            "Calico policy",
            "Calico policies",
            _CALICO,
        ),
    ]
    present = [g for g in groups if g[0]]
    unenforced = [g for g in present if not set(seen) & g[3]]
    if not unenforced:
        return
    evidence: JsonObject = {
        "cni": json_array(seen),
        "cniChecked": facts.cni_checked,
        "policyCount": len(snapshot.network_policies),
    }
    for number, singular, _, enforcers in present:
        if enforcers is not ENFORCING_CNIS:  # ciliumPolicyCount, calicoPolicyCount
            evidence[f"{singular.split()[0].lower()}PolicyCount"] = number
    count = " and ".join(plural(g[0], g[1], g[2]) for g in present)
    if seen:
        workload = _cni_workload(ctx, seen[0])
        ref = workload or ObjectRef("Cluster", "", facts.context or "cluster")
        parts = []
        for number, singular, plural_name, enforcers in unenforced:
            counted = plural(number, singular, plural_name)
            if enforcers is ENFORCING_CNIS:
                parts.append(
                    f"The cluster runs {', '.join(seen)}, which does not enforce NetworkPolicy: "
                    f"the {counted} in the cluster have no effect and all traffic stays open."
                )
            else:
                engine = singular.split()[0]
                parts.append(
                    f"The cluster runs {', '.join(seen)}, not {engine}: the {counted} in the "
                    f"cluster are enforced by {engine} alone and have no effect here."
                )
        yield Hit(ref, " ".join(parts), evidence, severity=Severity.HIGH)
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
