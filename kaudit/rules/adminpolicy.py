"""Cluster-wide admin policies: ClusterNetworkPolicy, AdminNetworkPolicy, BaselineAdminNetworkPolicy.

How these policies are written, judged by the engine (`kaudit.netpol.admin_checks`):
selections that hold nothing, rules that earlier rules always decide first, and Pass
rules that hand traffic to namespaces where no NetworkPolicy decides it.
"""

from __future__ import annotations

from collections.abc import Iterator

from kaudit.findings import Severity
from kaudit.model import LIVE, AdminAction, ObjectRef, Origin, Resource
from kaudit.netpol.admin_checks import empty_selections, passes_to_unisolated, shadowed_rules
from kaudit.rules.common import ENGINE_KINDS, listed, plural
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, Rule, rule

NPA_API = "https://network-policy-api.sigs.k8s.io/api-overview/"
NPA_REFERENCE = "https://network-policy-api.sigs.k8s.io/reference/spec/"
ADMIN_KINDS = (
    Resource.CLUSTER_NETWORK_POLICIES,
    Resource.ADMIN_NETWORK_POLICIES,
    Resource.BASELINE_ADMIN_NETWORK_POLICIES,
)


@rule(
    id="KA601",
    name="admin-policy-selects-nothing",
    title="Admin policy subject or peer matches nothing",
    severity=Severity.MEDIUM,
    category="policy",
    rationale="""
        A ClusterNetworkPolicy, AdminNetworkPolicy or BaselineAdminNetworkPolicy whose
        subject selects no pod does nothing; a peer that selects no pod (or a nodes peer
        no node) makes its rule match less than it says. A Deny or Pass meant for
        those pods silently does not happen, usually because of a mistyped label or a
        namespace label that is not set. A peer of an Accept rule is reported at low
        severity: it opens nothing. networks and domainNames peers are not judged, nor
        nodes peers when the input has no Node objects; with manifests, a selector that
        matches no namespace of the input is not judged either (the namespace may exist
        in the cluster).
    """,
    remediation="""
        Compare the selector with the labels of the pods, namespaces or nodes it is meant
        to select (`kubectl get ns --show-labels`), fix the selector or the labels, or
        delete the rule or policy if it is obsolete.
    """,
    references=(NPA_API, NPA_REFERENCE),
    needs=(*ADMIN_KINDS, Resource.PODS, Resource.NAMESPACES, Resource.NODES),
)
def admin_policy_selects_nothing(ctx: AuditContext) -> Iterator[Hit]:
    manifests = ctx.snapshot.facts.source != "live"
    for empty in empty_selections(ctx.engine.compiled):
        if manifests and not empty.namespaces_seen:
            continue  # the namespaces it names may exist in the cluster, not in the input
        policy = empty.policy
        kind_name = f"{policy.kind} {policy.name}"
        if empty.what == "subject":
            message = (
                f"{kind_name}: its subject ({empty.description}) selects no pod, so the "
                "policy applies to nothing."
            )
        else:
            action = empty.action.value if empty.action else ""
            message = (
                f"{kind_name}: peer {empty.what} ({empty.description}) of a {action} rule "
                "matches nothing, so the rule does not act on the traffic it names."
            )
        yield Hit(
            policy.ref,
            message,
            {"selection": empty.what, "selector": empty.description},
            severity=Severity.LOW if empty.action is AdminAction.ACCEPT else None,
            origin=policy.origin,
        )


@rule(
    id="KA602",
    name="admin-policy-rule-shadowed",
    title="Admin policy rule that earlier rules always decide first",
    severity=Severity.MEDIUM,
    category="policy",
    rationale="""
        Within a tier, the first matching rule decides: rules of policies with a lower
        priority value come first, then the rules of one policy in the order written. A
        rule all of whose traffic (every subject pod, peer and port of the input, and
        for networks peers every address) an earlier rule of the same tier already
        matches never decides anything: usually a priority set the wrong way round, or
        a broad rule above a narrow exception.
    """,
    remediation="""
        Give the policy holding the exception a lower priority value than the broad one
        (or move the rule above the broad rule in the same policy), or delete the
        shadowed rule if it is redundant.
    """,
    references=(NPA_API, NPA_REFERENCE),
    needs=(*ADMIN_KINDS, *ENGINE_KINDS),
)
def admin_policy_rule_shadowed(ctx: AuditContext) -> Iterator[Hit]:
    for shadowed in shadowed_rules(ctx.engine.compiled):
        ref = shadowed.rule
        by = ", ".join(str(r) for r in shadowed.by)
        yield Hit(
            ref.policy,
            f"{ref} never decides: every connection it matches is matched first by {by}.",
            {"rule": ref.to_dict(), "shadowedBy": [r.to_dict() for r in shadowed.by]},
            origin=_origin(ctx, ref.policy),
        )


@rule(
    id="KA603",
    name="pass-to-unpoliced-namespace",
    title="Admin Pass rule delegates to pods no NetworkPolicy governs",
    severity=Severity.MEDIUM,
    category="policy",
    rationale="""
        Pass in the Admin tier hands the decision to NetworkPolicy. For pods that no
        NetworkPolicy isolates for the rule's direction, NetworkPolicy decides nothing:
        the traffic falls through to the Baseline tier or, without a matching baseline
        rule, to the default allow. That is rarely what was meant: a Pass usually
        expresses "let the namespace owners decide", and they have not.
    """,
    remediation="""
        Add NetworkPolicies (a default deny plus the flows needed) to the namespaces the
        Pass rule delegates to, or add a Baseline-tier rule that decides the passed
        traffic, or replace the Pass with Accept or Deny if the decision belongs to the
        cluster administrators.
    """,
    references=(NPA_API, NPA_REFERENCE),
    needs=(*ADMIN_KINDS, *ENGINE_KINDS),
)
def pass_to_unpoliced_namespace(ctx: AuditContext) -> Iterator[Hit]:
    for passing in passes_to_unisolated(ctx.engine.compiled):
        ref = passing.rule
        direction = ref.direction.value.lower()
        namespaces = listed(passing.namespaces)
        then = (
            f"the Baseline tier ({', '.join(str(p) for p in passing.baseline)}) or the default "
            "allow decides it"
            if passing.baseline
            else "it is allowed by default"
        )
        yield Hit(
            ref.policy,
            f"{ref} passes traffic to NetworkPolicy for {plural(passing.pods, 'pod')} in "
            f"{', '.join(namespaces)} that no NetworkPolicy isolates for {direction}: "
            f"{then}.",
            {
                "rule": ref.to_dict(),
                "namespaces": list(namespaces),
                "pods": passing.pods,
                "baselinePolicies": [str(p) for p in passing.baseline],
            },
            origin=_origin(ctx, ref.policy),
        )


def _origin(ctx: AuditContext, ref: ObjectRef) -> Origin:
    return next((p.origin for p in ctx.snapshot.admin_policies if p.ref == ref), LIVE)


RULES: tuple[Rule, ...] = (
    admin_policy_selects_nothing,
    admin_policy_rule_shadowed,
    pass_to_unpoliced_namespace,
)
