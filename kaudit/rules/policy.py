"""NetworkPolicy coverage and isolation: namespaces without policies or default deny.

Whether a pod is isolated, and what it may reach, is the engine's to say
(`ctx.engine`); these audit rules only read policy structure where the question is
about how a policy is written.
"""

from __future__ import annotations

from collections.abc import Iterator

from kaudit.findings import Severity
from kaudit.jsontypes import JsonObject, json_array
from kaudit.model import Pod, Resource
from kaudit.rules.common import (
    K8S_NETPOL,
    RECIPES,
    application_pods,
    dns_target,
    listed,
    namespaces_with_pods,
    plural,
    policy_refs,
    verb,
    workload_names,
)
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, Rule, rule
from kaudit.rules.remediation import (
    default_deny_all_with_dns,
    default_deny_egress_with_dns,
    default_deny_ingress,
    to_yaml,
)

# --- KA101 ---------------------------------------------------------------------------------


@rule(
    id="KA101",
    name="namespace-without-networkpolicy",
    title="Namespace has pods but no NetworkPolicy at all",
    severity=Severity.HIGH,
    category="policy",
    rationale="""
        Kubernetes networking is open by default: without any NetworkPolicy in a
        namespace, every pod there accepts connections from every pod of the cluster
        on every port, and may connect anywhere, including databases, other tenants,
        the cloud metadata endpoint and the internet. One compromised pod reaches
        everything.
    """,
    remediation="""
        Start every namespace with a default-deny policy for ingress and egress, plus
        an egress exception for DNS, then allow the flows each workload needs.
    """,
    references=(K8S_NETPOL + "#default-policies", RECIPES),
    needs=(Resource.PODS, Resource.NETWORK_POLICIES),
)
def namespace_without_networkpolicy(ctx: AuditContext) -> Iterator[Hit]:
    dns_namespace, dns_labels = dns_target(ctx)
    for namespace in namespaces_with_pods(ctx):
        if ctx.policies_by_namespace.get(namespace):
            continue
        pods = application_pods(ctx, namespace)
        workloads = workload_names(pods)
        yield Hit(
            ctx.snapshot.namespace(namespace).ref,
            f"Namespace {namespace} has {plural(len(pods), 'pod')} "
            f"({plural(len(workloads), 'workload')}) and no NetworkPolicy: every pod of the "
            f"cluster can reach {verb(len(pods), 'it', 'them')} on any port, and "
            f"{verb(len(pods), 'it', 'they')} can connect anywhere.",
            {"podCount": len(pods), "workloads": json_array(workloads), "policies": []},
            remediation="Apply a default-deny pair with the DNS exception, then allow what "
            "each workload needs:\n\n"
            + to_yaml(*default_deny_all_with_dns(namespace, dns_namespace, dns_labels)),
            origin=ctx.snapshot.namespace(namespace).origin,
        )


# --- KA102 / KA103 -------------------------------------------------------------------------


def _unisolated(ctx: AuditContext, direction: str) -> Iterator[tuple[str, list[Pod]]]:
    """Per namespace, the policy-governed pods the engine says are not isolated."""
    for namespace in namespaces_with_pods(ctx):
        open_pods = []
        for pod in application_pods(ctx, namespace):
            isolation = ctx.engine.isolation(pod)
            isolated = (
                isolation.ingress_isolated if direction == "ingress" else isolation.egress_isolated
            )
            if not isolated:
                open_pods.append(pod)
        if open_pods:
            yield namespace, open_pods


def _coverage_evidence(ctx: AuditContext, namespace: str, open_pods: list[Pod]) -> JsonObject:
    governed = application_pods(ctx, namespace)
    return {
        "unisolatedPods": len(open_pods),
        "podsInNamespace": len(governed),
        "workloads": json_array(workload_names(open_pods)),
        "pods": json_array(listed(p.name for p in open_pods)),
        "policies": json_array(policy_refs(ctx.policies_by_namespace.get(namespace, []))),
    }


def _coverage_message(
    ctx: AuditContext, namespace: str, open_pods: list[Pod], direction: str
) -> str:
    governed = application_pods(ctx, namespace)
    workloads = workload_names(open_pods)
    shown = ", ".join(workloads[:5]) + (
        f" and {len(workloads) - 5} more" if len(workloads) > 5 else ""
    )
    if len(open_pods) == len(governed):
        scope = "its only pod" if len(governed) == 1 else f"all {len(governed)} pods"
    else:
        scope = f"{len(open_pods)} of {plural(len(governed), 'pod')}"
    policies = ctx.policies_by_namespace.get(namespace, [])
    many = len(open_pods) > 1
    why = (
        "the namespace has no NetworkPolicy"
        if not policies
        else f"no policy selects {'them' if many else 'it'} with policyTypes "
        f"{direction.capitalize()}"
    )
    effect = (
        f"any pod of the cluster may connect to {'them' if many else 'it'} on any port"
        if direction == "ingress"
        else f"{'they' if many else 'it'} may connect anywhere, including the internet and "
        f"the cloud metadata endpoint"
    )
    return (
        f"In namespace {namespace}, {scope} ({shown}) {'are' if many else 'is'} not isolated "
        f"for {direction}: {why}, so {effect}."
    )


@rule(
    id="KA102",
    name="namespace-without-default-deny-ingress",
    title="Pods that no NetworkPolicy isolates for ingress",
    severity=Severity.MEDIUM,
    category="policy",
    rationale="""
        A pod accepts connections from everywhere until some NetworkPolicy selects it
        with policyTypes Ingress. Without a namespace-wide default deny, every new
        workload starts open, and so do pods whose labels no allow-policy matches.
    """,
    remediation="""
        Add a default-deny ingress policy (empty podSelector, policyTypes [Ingress],
        no rules) to the namespace, then allow the flows each workload needs.
    """,
    references=(K8S_NETPOL + "#default-deny-all-ingress-traffic",),
    needs=(Resource.PODS, Resource.NETWORK_POLICIES),
)
def namespace_without_default_deny_ingress(ctx: AuditContext) -> Iterator[Hit]:
    for namespace, open_pods in _unisolated(ctx, "ingress"):
        yield Hit(
            ctx.snapshot.namespace(namespace).ref,
            _coverage_message(ctx, namespace, open_pods, "ingress"),
            _coverage_evidence(ctx, namespace, open_pods),
            remediation="Deny ingress by default in the namespace:\n\n"
            + to_yaml(default_deny_ingress(namespace)),
            origin=ctx.snapshot.namespace(namespace).origin,
        )


@rule(
    id="KA103",
    name="namespace-without-default-deny-egress",
    title="Pods that no NetworkPolicy isolates for egress",
    severity=Severity.MEDIUM,
    category="policy",
    rationale="""
        A pod may connect anywhere until some NetworkPolicy selects it with policyTypes
        Egress: other namespaces, the cloud metadata endpoint, the internet. Open
        egress is what lets a compromised pod move laterally and exfiltrate data.
    """,
    remediation="""
        Add a default-deny egress policy to the namespace together with an egress
        rule allowing DNS (UDP and TCP 53 to the kube-dns pods), then allow the
        destinations each workload needs.
    """,
    references=(K8S_NETPOL + "#default-deny-all-egress-traffic",),
    needs=(Resource.PODS, Resource.NETWORK_POLICIES),
)
def namespace_without_default_deny_egress(ctx: AuditContext) -> Iterator[Hit]:
    dns_namespace, dns_labels = dns_target(ctx)
    for namespace, open_pods in _unisolated(ctx, "egress"):
        yield Hit(
            ctx.snapshot.namespace(namespace).ref,
            _coverage_message(ctx, namespace, open_pods, "egress"),
            _coverage_evidence(ctx, namespace, open_pods),
            remediation="Deny egress by default, keeping DNS working:\n\n"
            + to_yaml(*default_deny_egress_with_dns(namespace, dns_namespace, dns_labels)),
            origin=ctx.snapshot.namespace(namespace).origin,
        )


# --- KA104 ---------------------------------------------------------------------------------


@rule(
    id="KA104",
    name="ingress-only-policies",
    title="Namespace has NetworkPolicies, but none restricts egress",
    severity=Severity.MEDIUM,
    category="policy",
    rationale="""
        Policies whose policyTypes lack Egress leave outbound traffic fully open: pods
        still reach every namespace, the cloud metadata endpoint and the internet. A
        namespace that looks protected because it has policies is only half protected.
    """,
    remediation="""
        Add Egress to the policies' policyTypes with explicit egress rules, or add a
        namespace-wide default-deny egress policy with the DNS exception.
    """,
    references=(K8S_NETPOL + "#default-deny-all-egress-traffic",),
    needs=(Resource.NETWORK_POLICIES,),
)
def ingress_only_policies(ctx: AuditContext) -> Iterator[Hit]:
    dns_namespace, dns_labels = dns_target(ctx)
    for namespace in sorted(ctx.policies_by_namespace):
        policies = ctx.policies_by_namespace[namespace]
        if not policies or any(p.affects_egress for p in policies):
            continue
        yield Hit(
            ctx.snapshot.namespace(namespace).ref,
            f"Namespace {namespace} has {plural(len(policies), 'NetworkPolicy', 'NetworkPolicies')} "
            f"({', '.join(sorted(p.name for p in policies))}), all with policyTypes [Ingress] "
            f"only: egress from every pod stays open.",
            {
                "policies": [
                    {"name": p.name, "policyTypes": json_array(sorted(p.policy_types))}
                    for p in policies
                ],
                "podCount": len(application_pods(ctx, namespace)),
            },
            remediation="Restrict egress too, keeping DNS working:\n\n"
            + to_yaml(*default_deny_egress_with_dns(namespace, dns_namespace, dns_labels)),
            origin=policies[0].origin,
        )


RULES: tuple[Rule, ...] = (
    namespace_without_networkpolicy,
    namespace_without_default_deny_ingress,
    namespace_without_default_deny_egress,
    ingress_only_policies,
)
