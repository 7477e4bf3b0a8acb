"""NetworkPolicy coverage and isolation: namespaces without policies or default deny.

Whether a pod is isolated, and what it may reach, is the engine's to say
(`ctx.engine`); these audit rules only read policy structure where the question is
about how a policy is written.
"""

from __future__ import annotations

from collections.abc import Iterator

from kaudit.findings import Severity
from kaudit.jsontypes import JsonObject, json_array
from kaudit.kube import LEGACY_ISOLATION_ANNOTATION
from kaudit.model import Pod, Resource
from kaudit.netpol import Direction
from kaudit.rules.closure import Closure, closure
from kaudit.rules.common import (
    ENGINE_KINDS,
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
    needs=ENGINE_KINDS,
)
def namespace_without_networkpolicy(ctx: AuditContext) -> Iterator[Hit]:
    dns_namespace, dns_labels = dns_target(ctx)
    for namespace in namespaces_with_pods(ctx):
        if ctx.policies_by_namespace.get(namespace):
            continue
        pods = application_pods(ctx, namespace)
        workloads = workload_names(pods)
        inbound = closure(ctx, pods, Direction.INGRESS)
        outbound = closure(ctx, pods, Direction.EGRESS)
        evidence: JsonObject = {
            "podCount": len(pods),
            "workloads": json_array(workloads),
            "policies": [],
        }
        them, they = verb(len(pods), "it", "them"), verb(len(pods), "it", "they")
        head = (
            f"Namespace {namespace} has {plural(len(pods), 'pod')} "
            f"({plural(len(workloads), 'workload')}) and no NetworkPolicy"
        )
        severity: Severity | None = None
        if inbound.open and outbound.open:
            message = (
                f"{head}: every pod of the cluster can reach {them} on any port, and "
                f"{they} can connect anywhere."
            )
        else:
            # Cluster-wide policies close a direction for every pod: the namespace is not
            # open that way, but its own teams cannot refine or keep that closure.
            evidence["closedBy"] = {
                "ingress": [str(r) for r in inbound.closing_rules] if not inbound.open else [],
                "egress": [str(r) for r in outbound.closing_rules] if not outbound.open else [],
            }
            if not inbound.open and not outbound.open:
                severity = Severity.LOW
                message = (
                    f"{head}; cluster-wide policies close it instead: other namespaces' "
                    f"traffic to {them} is refused by {inbound.text}, and {their(pods)} "
                    f"traffic to other namespaces by {outbound.text}. Nothing in the "
                    "namespace keeps it closed if those policies change."
                )
            elif not inbound.open:
                severity = Severity.MEDIUM
                message = (
                    f"{head}: {they} can connect anywhere; other namespaces' traffic to "
                    f"{them} is refused by {inbound.text}."
                )
            else:
                severity = Severity.MEDIUM
                message = (
                    f"{head}: every pod of the cluster can reach {them} on any port; "
                    f"{their(pods)} traffic to other namespaces is refused by {outbound.text}."
                )
        yield Hit(
            ctx.snapshot.namespace(namespace).ref,
            message,
            evidence,
            remediation="Apply a default-deny pair with the DNS exception, then allow what "
            "each workload needs:\n\n"
            + to_yaml(*default_deny_all_with_dns(namespace, dns_namespace, dns_labels)),
            severity=severity,
            origin=ctx.snapshot.namespace(namespace).origin,
        )


def their(pods: list[Pod]) -> str:
    return "its" if len(pods) == 1 else "their"


# --- KA102 / KA103 -------------------------------------------------------------------------


def _unisolated(ctx: AuditContext, direction: str) -> Iterator[tuple[str, list[Pod], Closure]]:
    """Per namespace with policies, the policy-governed pods the engine says are not
    isolated, split by whether admin or baseline policies close them.

    A namespace without any policy is namespace-without-networkpolicy's finding alone:
    one fact, one finding.
    """
    for namespace in namespaces_with_pods(ctx):
        if not ctx.policies_by_namespace.get(namespace):
            continue
        unisolated = []
        for pod in application_pods(ctx, namespace):
            isolation = ctx.engine.isolation(pod)
            isolated = (
                isolation.ingress_isolated if direction == "ingress" else isolation.egress_isolated
            )
            if not isolated:
                unisolated.append(pod)
        if unisolated:
            side = Direction.INGRESS if direction == "ingress" else Direction.EGRESS
            split = closure(ctx, unisolated, side)
            yield namespace, split.open or split.closed, split


def _closed_message(namespace: str, split: Closure, direction: str) -> str:
    pods = split.closed
    many = len(pods) > 1
    traffic = (
        f"other namespaces' traffic to {'them' if many else 'it'}"
        if direction == "ingress"
        else f"{'their' if many else 'its'} traffic to other namespaces"
    )
    return (
        f"In namespace {namespace}, {plural(len(pods), 'pod')} ({', '.join(workload_names(pods)[:5])}) "
        f"{'are' if many else 'is'} not isolated for {direction} by any NetworkPolicy; "
        f"cluster-wide policies close {'them' if many else 'it'}: {traffic} is refused by "
        f"{split.text}. A namespace default deny keeps {'them' if many else 'it'} closed if "
        "those policies change."
    )


def _coverage_evidence(
    ctx: AuditContext, namespace: str, open_pods: list[Pod], split: Closure
) -> JsonObject:
    governed = application_pods(ctx, namespace)
    closed: JsonObject = (
        {
            "closedByClusterPolicies": json_array(workload_names(split.closed)),
            "closingRules": [str(r) for r in split.closing_rules],
        }
        if split.closed
        else {}
    )
    return {
        **closed,
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
    many = len(open_pods) > 1
    why = f"no policy selects {'them' if many else 'it'} with policyTypes {direction.capitalize()}"
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
        Reported for namespaces that have policies; a namespace without any is
        namespace-without-networkpolicy's finding.
    """,
    remediation="""
        Add a default-deny ingress policy (empty podSelector, policyTypes [Ingress],
        no rules) to the namespace, then allow the flows each workload needs.
    """,
    references=(K8S_NETPOL + "#default-deny-all-ingress-traffic",),
    needs=ENGINE_KINDS,
)
def namespace_without_default_deny_ingress(ctx: AuditContext) -> Iterator[Hit]:
    for namespace, open_pods, split in _unisolated(ctx, "ingress"):
        yield Hit(
            ctx.snapshot.namespace(namespace).ref,
            _coverage_message(ctx, namespace, open_pods, "ingress")
            if split.open
            else _closed_message(namespace, split, "ingress"),
            _coverage_evidence(ctx, namespace, open_pods, split),
            severity=None if split.open else Severity.LOW,
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
        Reported for namespaces that have policies; a namespace without any is
        namespace-without-networkpolicy's finding.
    """,
    remediation="""
        Add a default-deny egress policy to the namespace together with an egress
        rule allowing DNS (UDP and TCP 53 to the kube-dns pods), then allow the
        destinations each workload needs.
    """,
    references=(K8S_NETPOL + "#default-deny-all-egress-traffic",),
    needs=ENGINE_KINDS,
)
def namespace_without_default_deny_egress(ctx: AuditContext) -> Iterator[Hit]:
    dns_namespace, dns_labels = dns_target(ctx)
    for namespace, open_pods, split in _unisolated(ctx, "egress"):
        yield Hit(
            ctx.snapshot.namespace(namespace).ref,
            _coverage_message(ctx, namespace, open_pods, "egress")
            if split.open
            else _closed_message(namespace, split, "egress"),
            _coverage_evidence(ctx, namespace, open_pods, split),
            severity=None if split.open else Severity.LOW,
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


# --- KA111 ---------------------------------------------------------------------------------


@rule(
    id="KA111",
    name="namespace-legacy-isolation-annotation",
    title="Namespace relies on the obsolete network-policy isolation annotation",
    severity=Severity.MEDIUM,
    category="policy",
    rationale=f"""
        Before NetworkPolicy became networking.k8s.io/v1 (Kubernetes 1.7), a namespace
        was isolated by the annotation {LEGACY_ISOLATION_ANNOTATION} (for example
        ingress isolation DefaultDeny). The annotation has had no effect since: a
        namespace carrying it is not isolated by it, though it reads as if it were.
        Only NetworkPolicies that select the pods isolate them.
    """,
    remediation=f"""
        Add a default-deny NetworkPolicy to the namespace (empty podSelector) and remove
        the {LEGACY_ISOLATION_ANNOTATION} annotation.
    """,
    references=(K8S_NETPOL + "#default-policies",),
    needs=(Resource.NAMESPACES, *ENGINE_KINDS),
)
def namespace_legacy_isolation_annotation(ctx: AuditContext) -> Iterator[Hit]:
    for namespace in sorted(ctx.snapshot.namespaces, key=lambda n: n.name):
        value = namespace.annotations.get(LEGACY_ISOLATION_ANNOTATION)
        if value is None:
            continue
        pods = application_pods(ctx, namespace.name)
        open_pods = [p for p in pods if not ctx.engine.isolation(p).ingress_isolated]
        if open_pods:
            effect = (
                f"{len(open_pods)} of {plural(len(pods), 'pod')} "
                f"({', '.join(workload_names(open_pods)[:5])}) "
                f"{verb(len(open_pods), 'accepts', 'accept')} connections from any pod"
            )
        elif pods:
            effect = "its pods are isolated by NetworkPolicies, not by the annotation"
        else:
            effect = "pods created there will accept connections from any pod"
        yield Hit(
            namespace.ref,
            f"Namespace {namespace.name} carries the obsolete annotation "
            f"{LEGACY_ISOLATION_ANNOTATION}, which has no effect: {effect}.",
            {
                "annotation": LEGACY_ISOLATION_ANNOTATION,
                "value": value,
                "podCount": len(pods),
                "unisolatedPods": len(open_pods),
                "workloads": json_array(workload_names(open_pods)),
            },
            remediation="Isolate the namespace with a NetworkPolicy, then remove the "
            "annotation:\n\n" + to_yaml(default_deny_ingress(namespace.name)),
            severity=Severity.MEDIUM if open_pods or not pods else Severity.LOW,
            origin=namespace.origin,
        )


RULES: tuple[Rule, ...] = (
    namespace_without_networkpolicy,
    namespace_without_default_deny_ingress,
    namespace_without_default_deny_egress,
    ingress_only_policies,
    namespace_legacy_isolation_annotation,
)
