"""How a NetworkPolicy is written: ORed peers, peers open to every namespace, selectors that match nothing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from kaudit.findings import Severity
from kaudit.jsontypes import JsonArray, JsonObject, json_array
from kaudit.kube import NAMESPACE_NAME_LABEL
from kaudit.model import LabelSelector, NetworkPolicy, PolicyPeer, PolicyPort, PolicyRule, Resource
from kaudit.rules.common import (
    K8S_NETPOL,
    application_pods,
    label_text,
    peer_namespaces,
    peer_pods,
    peer_selects_no_pod,
    plural,
)
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, Rule, rule
from kaudit.rules.labeldiff import Candidate, closest_label_sets, selector_fits, summarize
from kaudit.rules.operated import operator_caveat, unexpanded_custom_resources
from kaudit.rules.remediation import manifest, peer_raw, port_raw, selector_raw, to_yaml

# --- rendering policy parts as text ---------------------------------------------------------


def ports_text(ports: Sequence[PolicyPort]) -> str:
    if not ports:
        return "every port"
    parts = []
    for p in ports:
        if p.port is None:
            parts.append(f"every {p.protocol} port")
        elif p.end_port is not None:
            parts.append(f"{p.port}-{p.end_port}/{p.protocol}")
        else:
            parts.append(f"{p.port}/{p.protocol}")
    return ", ".join(parts)


def peer_text(peer: PolicyPeer, namespace: str) -> str:
    if peer.ip_block is not None:
        extra = f" except {', '.join(peer.ip_block.except_)}" if peer.ip_block.except_ else ""
        return f"ipBlock {peer.ip_block.cidr}{extra}"
    pods = (
        "every pod"
        if peer.pod_selector is None or peer.pod_selector.is_empty
        else f"pods {peer.pod_selector.describe()}"
    )
    if peer.namespace_selector is None:
        return f"{pods} in namespace {namespace}"
    return f"{pods} in {namespaces_text(peer.namespace_selector)}"


def namespaces_text(selector: LabelSelector) -> str:
    """'every namespace', 'namespace shop' (by its name label), or 'namespaces team=a'."""
    if selector.is_empty:
        return "every namespace"
    if not selector.match_expressions and list(selector.match_labels) == [NAMESPACE_NAME_LABEL]:
        return f"namespace {selector.match_labels[NAMESPACE_NAME_LABEL]}"
    return f"namespaces {selector.describe()}"


def _policy_rules(policy: NetworkPolicy) -> Iterator[tuple[str, str, int, PolicyRule]]:
    """(direction, peer key, index, policy rule) over both directions."""
    for index, policy_rule in enumerate(policy.ingress):
        yield "ingress", "from", index, policy_rule
    for index, policy_rule in enumerate(policy.egress):
        yield "egress", "to", index, policy_rule


# --- KA106 ---------------------------------------------------------------------------------


def _namespace_only(peer: PolicyPeer) -> bool:
    return (
        peer.namespace_selector is not None and peer.pod_selector is None and peer.ip_block is None
    )


def _pod_only(peer: PolicyPeer) -> bool:
    return (
        peer.pod_selector is not None and peer.namespace_selector is None and peer.ip_block is None
    )


def _namespaces_matching(ctx: AuditContext, selector: LabelSelector) -> list[str]:
    return sorted(ns.name for ns in ctx.snapshot.namespaces if selector.matches(ns.labels))


@rule(
    id="KA106",
    name="policy-peer-or-confusion",
    title="Separate namespaceSelector and podSelector peers: OR where AND was meant",
    severity=Severity.HIGH,
    category="policy",
    rationale="""
        Inside one from/to entry, namespaceSelector and podSelector are ANDed; as two
        entries (each starting with its own `-`) they are ORed. A rule listing
        `- namespaceSelector: X` and `- podSelector: Y` admits every pod of the
        namespaces matching X, plus pods matching Y in the policy's own namespace,
        not pods matching Y in namespaces matching X. One hyphen opens the whole
        namespace.
    """,
    remediation="""
        Put both selectors in one peer (one hyphen): the pod must then be in a
        matching namespace AND carry the matching labels.
    """,
    references=(K8S_NETPOL + "#behavior-of-to-and-from-selectors",),
    needs=(Resource.NETWORK_POLICIES,),
)
def policy_peer_or_confusion(ctx: AuditContext) -> Iterator[Hit]:
    for policy in ctx.snapshot.network_policies:
        confused = []
        for direction, key, index, policy_rule in _policy_rules(policy):
            ns_only = [p for p in policy_rule.peers if _namespace_only(p)]
            pod_only = [p for p in policy_rule.peers if _pod_only(p)]
            if ns_only and pod_only:
                confused.append((direction, key, index, policy_rule, ns_only, pod_only))
        if not confused:
            continue
        explanations = []
        fixed_policy_rules: dict[str, JsonArray] = {}
        evidence_policy_rules: JsonArray = []
        for direction, key, index, policy_rule, ns_only, pod_only in confused:
            admitted_ns = sorted(
                {
                    name
                    for peer in ns_only
                    for name in _namespaces_matching(
                        ctx, peer.namespace_selector or LabelSelector()
                    )
                }
            )
            ns_text = " or ".join(peer_text(p, policy.namespace) for p in ns_only)
            pod_text = " or ".join(peer_text(p, policy.namespace) for p in pod_only)
            anded: list[JsonObject] = [
                {
                    "namespaceSelector": selector_raw(n.namespace_selector or LabelSelector()),
                    "podSelector": selector_raw(p.pod_selector or LabelSelector()),
                }
                for n in ns_only
                for p in pod_only
            ]
            anded_text = " or ".join(
                f"pods {(p.pod_selector or LabelSelector()).describe()} in "
                f"{namespaces_text(n.namespace_selector or LabelSelector())}"
                for n in ns_only
                for p in pod_only
            )
            # Name the namespaces a label selector admits today (a name selector says it).
            by_label = any(
                namespaces_text(p.namespace_selector or LabelSelector()).startswith("namespaces ")
                for p in ns_only
            )
            admitted = f" ({', '.join(admitted_ns) or 'no namespace yet'})" if by_label else ""
            explanations.append(
                f"{direction}[{index}] allows {ns_text}{admitted}, OR {pod_text}; "
                f"probably meant: {anded_text}"
            )
            others = [
                peer_raw(p) for p in policy_rule.peers if p not in ns_only and p not in pod_only
            ]
            fixed: JsonObject = {key: json_array([*anded, *others])}
            if policy_rule.ports:
                fixed["ports"] = [port_raw(p) for p in policy_rule.ports]
            fixed_policy_rules.setdefault(direction, []).append(fixed)
            evidence_policy_rules.append(
                {
                    "direction": direction,
                    "rule": index,
                    "peers": [peer_raw(p) for p in policy_rule.peers],
                    "namespacesAdmittedWhole": json_array(admitted_ns),
                    "podsAdmittedWhole": sum(len(application_pods(ctx, ns)) for ns in admitted_ns),
                    "andedPeers": json_array(anded),
                }
            )
        remediation = (
            "Merge the selectors into one peer (shown for the affected rules; keep the "
            "policy's other rules as they are):\n\n"
            + to_yaml(manifest("NetworkPolicy", policy.name, policy.namespace, fixed_policy_rules))
        )
        yield Hit(
            policy.ref,
            f"NetworkPolicy {policy.namespace}/{policy.name} lists namespaceSelector and "
            f"podSelector as separate peers, which are ORed: " + "; ".join(explanations) + ".",
            {"rules": evidence_policy_rules},
            remediation=remediation,
            origin=policy.origin,
        )


# --- KA107 ---------------------------------------------------------------------------------

EVERY_ADDRESS = frozenset({"0.0.0.0/0", "::/0"})


def _too_wide(peer: PolicyPeer) -> str | None:
    if peer.ip_block is not None:
        if peer.ip_block.cidr.strip() in EVERY_ADDRESS:
            excepted = (
                f" (except {', '.join(peer.ip_block.except_)})" if peer.ip_block.except_ else ""
            )
            return f"ipBlock {peer.ip_block.cidr}{excepted}: every address"
        return None
    if (
        peer.namespace_selector is not None
        and peer.namespace_selector.is_empty
        and (peer.pod_selector is None or peer.pod_selector.is_empty)
    ):
        return "namespaceSelector {}: every pod of every namespace"
    return None


@rule(
    id="KA107",
    name="policy-allows-all-namespaces",
    title="Ingress rule admits every namespace or every address",
    severity=Severity.MEDIUM,
    category="policy",
    rationale="""
        `namespaceSelector: {}` alone selects every pod of every namespace, including
        namespaces created later; an ipBlock of 0.0.0.0/0 or ::/0 admits every address,
        and a rule without any peer admits every source. Such rules often stand where a
        specific namespace (by its kubernetes.io/metadata.name label) and pod selector
        were meant, and they give up the isolation the policy was written for.
    """,
    remediation="""
        Name the allowed clients: a namespaceSelector on kubernetes.io/metadata.name
        ANDed with a podSelector in the same peer, or the specific CIDRs of external
        clients.
    """,
    references=(K8S_NETPOL + "#behavior-of-to-and-from-selectors",),
    needs=(Resource.NETWORK_POLICIES,),
)
def policy_allows_all_namespaces(ctx: AuditContext) -> Iterator[Hit]:
    for policy in ctx.snapshot.network_policies:
        if not policy.affects_ingress:
            continue  # ingress rules of a policy without Ingress in policyTypes do nothing
        wide = []
        for index, policy_rule in enumerate(policy.ingress):
            if not policy_rule.peers:
                wide.append(
                    (index, policy_rule, "no from: every source, in and outside the cluster")
                )
                continue
            for peer in policy_rule.peers:
                why = _too_wide(peer)
                if why:
                    wide.append((index, policy_rule, why))
        if not wide:
            continue
        target = (
            "every pod in the namespace"
            if policy.pod_selector.is_empty
            else f"pods {policy.pod_selector.describe()}"
        )
        details = "; ".join(
            f"ingress[{i}] on {ports_text(r.ports)} allows {why}" for i, r, why in wide
        )
        yield Hit(
            policy.ref,
            f"NetworkPolicy {policy.namespace}/{policy.name} opens {target} in "
            f"{policy.namespace} to everyone: {details}.",
            {
                "rules": [
                    {
                        "rule": i,
                        "why": why,
                        "ports": [port_raw(p) for p in r.ports],
                        "peers": [peer_raw(p) for p in r.peers],
                    }
                    for i, r, why in wide
                ],
                "podSelector": selector_raw(policy.pod_selector),
            },
            remediation=_narrow_peer_fix(policy, [i for i, _, _ in wide]),
            origin=policy.origin,
        )


def _narrow_peer_fix(policy: NetworkPolicy, indexes: list[int]) -> str:
    policy_rules: JsonArray = []
    for index in sorted(set(indexes)):
        policy_rule = policy.ingress[index]
        fixed: JsonObject = {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {NAMESPACE_NAME_LABEL: "CLIENT-NAMESPACE"}
                    },
                    "podSelector": {"matchLabels": {"app": "CLIENT-APP"}},
                }
            ]
        }
        if policy_rule.ports:
            fixed["ports"] = [port_raw(p) for p in policy_rule.ports]
        policy_rules.append(fixed)
    return "Admit only the clients that need access (replace the placeholders):\n\n" + to_yaml(
        manifest("NetworkPolicy", policy.name, policy.namespace, {"ingress": policy_rules})
    )


# --- KA108 ---------------------------------------------------------------------------------


@rule(
    id="KA108",
    name="policy-selects-no-pods",
    title="NetworkPolicy podSelector matches no pod",
    severity=Severity.MEDIUM,
    category="policy",
    rationale="""
        A policy whose podSelector matches no pod in its namespace does nothing: the
        pods it was written for stay unprotected (or unallowed), and nothing warns.
        The cause is usually a label typo or a label that changed.
    """,
    remediation="""
        Make the podSelector match the labels of the pods it is meant for (`kubectl get
        pods --show-labels`), or delete the policy if those pods are gone.
    """,
    references=(K8S_NETPOL + "#networkpolicy-resource",),
    needs=(Resource.PODS, Resource.NETWORK_POLICIES),
)
def policy_selects_no_pods(ctx: AuditContext) -> Iterator[Hit]:
    for policy in ctx.snapshot.network_policies:
        pods = ctx.pods_by_namespace.get(policy.namespace, [])
        if not pods or any(policy.pod_selector.matches(p.labels) for p in pods):
            continue
        selector = policy.pod_selector
        custom = unexpanded_custom_resources(ctx, [policy.namespace])
        if custom:
            yield Hit(
                policy.ref,
                f"NetworkPolicy {policy.namespace}/{policy.name} selects pods "
                f"{selector.describe()}, but no pod in the input matches. "
                f"{operator_caveat(custom)}.",
                {"podSelector": selector_raw(selector), "customResources": json_array(custom)},
                severity=Severity.LOW,
                origin=policy.origin,
            )
            continue
        candidates = (
            closest_label_sets(selector.match_labels, pods) if selector.match_labels else []
        )
        evidence: JsonObject = {
            "podSelector": selector_raw(selector),
            "podsInNamespace": len(pods),
            "closestPods": [c.as_json() for c in candidates],
        }
        message = (
            f"NetworkPolicy {policy.namespace}/{policy.name} selects pods "
            f"{selector.describe()}, but none of the {plural(len(pods), 'pod')} in "
            f"{policy.namespace} matches, so the policy has no effect."
        )
        remediation = None
        if candidates:
            best = candidates[0]
            evidence["diagnosis"] = json_array(sorted({str(e.closeness) for e in best.problems}))
            corrected = best.corrected
            blocked_by_expressions = [
                r.key
                for r in selector.match_expressions
                if not all(r.matches(p.labels) for p in best.pods)
            ]
            if best.problems:
                message += f" The {summarize(best)}."
            if blocked_by_expressions:
                message += (
                    f" Its matchExpressions on {', '.join(blocked_by_expressions)} exclude the "
                    f"closest pods."
                )
            if selector_fits(corrected, best.pods) and not blocked_by_expressions:
                fixed = LabelSelector(corrected, selector.match_expressions)
                evidence["correctedSelector"] = selector_raw(fixed)
                remediation = "Select the pods by their actual labels:\n\n" + to_yaml(
                    manifest(
                        "NetworkPolicy",
                        policy.name,
                        policy.namespace,
                        {"podSelector": selector_raw(fixed)},
                    )
                )
        else:
            labels = sorted({label_text(p.labels) for p in pods})
            evidence["podLabels"] = json_array(labels[:10])
        yield Hit(policy.ref, message, evidence, remediation=remediation, origin=policy.origin)


# --- KA110 ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _DeadPeer:
    direction: str
    index: int
    peer: PolicyPeer
    namespaces: list[str]
    candidates: list[Candidate]
    custom_resources: list[str]  # of unknown operators in those namespaces: may be the pods


def _dead_peers(ctx: AuditContext, policy: NetworkPolicy) -> Iterator[_DeadPeer]:
    """The from/to peers of the policy's effective rules that select no pod."""
    for direction, _, index, policy_rule in _policy_rules(policy):
        if not (policy.affects_ingress if direction == "ingress" else policy.affects_egress):
            continue  # rules of a direction not in policyTypes do nothing anyway
        # A pod-only peer beside a namespace-only one is policy-peer-or-confusion's finding.
        confused = any(_namespace_only(p) for p in policy_rule.peers)
        for peer in policy_rule.peers:
            if (confused and _pod_only(peer)) or not peer_selects_no_pod(ctx, policy, peer):
                continue
            namespaces = peer_namespaces(ctx, policy, peer) or []
            pods = peer_pods(ctx, namespaces)
            selector = peer.pod_selector
            custom = unexpanded_custom_resources(ctx, namespaces)
            candidates = (
                closest_label_sets(selector.match_labels, pods)
                if selector is not None and selector.match_labels and not custom
                else []
            )
            yield _DeadPeer(direction, index, peer, namespaces, candidates, custom)


def _fixed_peers_remediation(
    policy: NetworkPolicy, fixes: dict[tuple[str, int], dict[PolicyPeer, PolicyPeer]]
) -> str:
    """The policy's affected rules with their dead peers replaced by the corrected ones."""
    sections: dict[str, JsonArray] = {}
    for direction, key, index, policy_rule in _policy_rules(policy):
        replaced = fixes.get((direction, index))
        if replaced is None:
            continue
        fixed: JsonObject = {
            key: [peer_raw(replaced.get(peer, peer)) for peer in policy_rule.peers]
        }
        if policy_rule.ports:
            fixed["ports"] = [port_raw(p) for p in policy_rule.ports]
        sections.setdefault(direction, []).append(fixed)
    return (
        "Select the peer pods by their actual labels (shown for the affected rules; keep "
        "the policy's other rules as they are):\n\n"
        + to_yaml(manifest("NetworkPolicy", policy.name, policy.namespace, sections))
    )


@rule(
    id="KA110",
    name="policy-peer-selects-nothing",
    title="NetworkPolicy from/to peer matches no pod",
    severity=Severity.MEDIUM,
    category="policy",
    rationale="""
        A from/to peer whose podSelector (and namespaceSelector) match no pod admits
        nobody: the clients the rule was written for are refused, or the destinations
        it was meant to open stay closed, and nothing warns. The cause is usually a
        label typo (name=cart where the pods say name=carts) or a label that changed.
        Namespaces outside the input are not judged: their pods may exist elsewhere.
    """,
    remediation="""
        Make the peer's selectors match the labels of the pods it is meant for
        (`kubectl get pods -A --show-labels`), or remove the peer if they are gone.
    """,
    references=(K8S_NETPOL + "#behavior-of-to-and-from-selectors",),
    needs=(Resource.PODS, Resource.NETWORK_POLICIES, Resource.NAMESPACES),
)
def policy_peer_selects_nothing(ctx: AuditContext) -> Iterator[Hit]:
    for policy in ctx.snapshot.network_policies:
        dead = list(_dead_peers(ctx, policy))
        if not dead:
            continue
        sentences = []
        evidence_peers: JsonArray = []
        fixes: dict[tuple[str, int], dict[PolicyPeer, PolicyPeer]] = {}
        for item in dead:
            where = f"{item.direction}[{item.index}]"
            what = peer_text(item.peer, policy.namespace)
            sentence = f"{where} names {what}, which matches no pod"
            if not item.namespaces:
                sentence = f"{where} names {what}, and no namespace matches"
            entry: JsonObject = {
                "direction": item.direction,
                "rule": item.index,
                "peer": peer_raw(item.peer),
                "namespaces": json_array(item.namespaces),
                "closestPods": [c.as_json() for c in item.candidates],
            }
            if item.candidates:
                best = item.candidates[0]
                entry["diagnosis"] = json_array(sorted({str(e.closeness) for e in best.problems}))
                if best.problems:
                    sentence += f" (the {summarize(best)})"
                selector = item.peer.pod_selector or LabelSelector()
                if selector_fits(best.corrected, best.pods) and not selector.match_expressions:
                    fixed = LabelSelector(best.corrected)
                    entry["correctedPodSelector"] = selector_raw(fixed)
                    fixes.setdefault((item.direction, item.index), {})[item.peer] = PolicyPeer(
                        fixed, item.peer.namespace_selector
                    )
            if item.custom_resources:
                entry["customResources"] = json_array(item.custom_resources)
                caveat = operator_caveat(item.custom_resources)
                sentence += f" ({caveat[0].lower()}{caveat[1:]})"
            sentences.append(sentence)
            evidence_peers.append(entry)
        effect = {
            "ingress": "the clients it names are refused",
            "egress": "the destinations it names stay closed",
        }
        effects = sorted({effect[item.direction] for item in dead})
        remediation = _fixed_peers_remediation(policy, fixes) if fixes else None
        yield Hit(
            policy.ref,
            f"NetworkPolicy {policy.namespace}/{policy.name}: "
            + "; ".join(sentences)
            + ", so "
            + " and ".join(effects)
            + ".",
            {"peers": evidence_peers},
            remediation=remediation,
            # Every peer may be waiting for an unknown operator's pods: a caveat, not a bug.
            severity=Severity.LOW if all(item.custom_resources for item in dead) else None,
            origin=policy.origin,
        )


RULES: tuple[Rule, ...] = (
    policy_peer_or_confusion,
    policy_allows_all_namespaces,
    policy_selects_no_pods,
    policy_peer_selects_nothing,
)
