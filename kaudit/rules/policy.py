"""NetworkPolicy rules: coverage, isolation, DNS, classic selector mistakes, enforcement.

Whether a pod is isolated, and what it may reach, is the engine's to say
(`ctx.engine`); these rules only read policy structure where the question is
about how a policy is written.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from typing import Any

from kaudit.findings import Severity
from kaudit.kube import (
    DNS_NAMESPACE,
    DNS_POD_LABELS,
    ENFORCING_CNIS,
    NAMESPACE_NAME_LABEL,
    cni_of_name,
)
from kaudit.model import (
    Kind,
    LabelSelector,
    NetworkPolicy,
    ObjectRef,
    Pod,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
)
from kaudit.rules.common import (
    default_deny_all_with_dns,
    default_deny_egress_with_dns,
    default_deny_ingress,
    group_by_workload,
    label_text,
    listed,
    network_policy,
    plural,
    policy_refs,
    to_yaml,
    verb,
    workload_names,
)
from kaudit.rules.context import AuditContext
from kaudit.rules.labeldiff import closest_label_sets, selector_fits, summarize
from kaudit.rules.registry import Hit, rule

K8S_NETPOL = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"
RECIPES = "https://github.com/ahmetb/kubernetes-network-policy-recipes"


# --- rendering policy parts back to YAML-ready dicts ----------------------------------------


def selector_raw(selector: LabelSelector) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if selector.match_labels:
        raw["matchLabels"] = dict(sorted(selector.match_labels.items()))
    if selector.match_expressions:
        raw["matchExpressions"] = [
            {
                "key": r.key,
                "operator": r.operator,
                **({"values": sorted(r.values)} if r.values else {}),
            }
            for r in selector.match_expressions
        ]
    return raw


def peer_raw(peer: PolicyPeer) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if peer.namespace_selector is not None:
        raw["namespaceSelector"] = selector_raw(peer.namespace_selector)
    if peer.pod_selector is not None:
        raw["podSelector"] = selector_raw(peer.pod_selector)
    if peer.ip_block is not None:
        block: dict[str, Any] = {"cidr": peer.ip_block.cidr}
        if peer.ip_block.except_:
            block["except"] = list(peer.ip_block.except_)
        raw["ipBlock"] = block
    return raw


def port_raw(port: PolicyPort) -> dict[str, Any]:
    raw: dict[str, Any] = {"protocol": str(port.protocol)}
    if port.port is not None:
        raw["port"] = port.port
    if port.end_port is not None:
        raw["endPort"] = port.end_port
    return raw


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


def _rules(policy: NetworkPolicy) -> Iterator[tuple[str, str, int, PolicyRule]]:
    """(direction, peer key, index, rule) over both directions."""
    for index, policy_rule in enumerate(policy.ingress):
        yield "ingress", "from", index, policy_rule
    for index, policy_rule in enumerate(policy.egress):
        yield "egress", "to", index, policy_rule


def _application_pods(ctx: AuditContext, namespace: str) -> list[Pod]:
    """Pods that NetworkPolicy governs (hostNetwork pods are outside it)."""
    return [p for p in ctx.pods_by_namespace.get(namespace, []) if not p.host_network]


def _namespaces_with_pods(ctx: AuditContext) -> list[str]:
    return sorted(ns for ns in ctx.pods_by_namespace if _application_pods(ctx, ns))


def dns_target(ctx: AuditContext) -> tuple[str, dict[str, str]]:
    """The namespace and labels of the cluster DNS pods, for the DNS egress exception."""
    for pod in ctx.snapshot.pods:
        if all(pod.labels.get(k) == v for k, v in DNS_POD_LABELS.items()):
            return pod.namespace, dict(DNS_POD_LABELS)
    return DNS_NAMESPACE, dict(DNS_POD_LABELS)


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
    needs=(Kind.PODS, Kind.NETWORK_POLICIES),
)
def namespace_without_networkpolicy(ctx: AuditContext) -> Iterator[Hit]:
    dns_namespace, dns_labels = dns_target(ctx)
    for namespace in _namespaces_with_pods(ctx):
        if ctx.policies_by_namespace.get(namespace):
            continue
        pods = _application_pods(ctx, namespace)
        workloads = workload_names(pods)
        yield Hit(
            ctx.snapshot.namespace(namespace).ref,
            f"Namespace {namespace} has {plural(len(pods), 'pod')} "
            f"({plural(len(workloads), 'workload')}) and no NetworkPolicy: every pod of the "
            f"cluster can reach {verb(len(pods), 'it', 'them')} on any port, and "
            f"{verb(len(pods), 'it', 'they')} can connect anywhere.",
            {"podCount": len(pods), "workloads": workloads, "policies": []},
            remediation="Apply a default-deny pair with the DNS exception, then allow what "
            "each workload needs:\n\n"
            + to_yaml(*default_deny_all_with_dns(namespace, dns_namespace, dns_labels)),
            origin=ctx.snapshot.namespace(namespace).origin,
        )


# --- KA102 / KA103 -------------------------------------------------------------------------


def _unisolated(ctx: AuditContext, direction: str) -> Iterator[tuple[str, list[Pod]]]:
    """Per namespace, the policy-governed pods the engine says are not isolated."""
    for namespace in _namespaces_with_pods(ctx):
        open_pods = []
        for pod in _application_pods(ctx, namespace):
            isolation = ctx.engine.isolation(pod)
            isolated = (
                isolation.ingress_isolated if direction == "ingress" else isolation.egress_isolated
            )
            if not isolated:
                open_pods.append(pod)
        if open_pods:
            yield namespace, open_pods


def _coverage_evidence(ctx: AuditContext, namespace: str, open_pods: list[Pod]) -> dict[str, Any]:
    governed = _application_pods(ctx, namespace)
    return {
        "unisolatedPods": len(open_pods),
        "podsInNamespace": len(governed),
        "workloads": workload_names(open_pods),
        "pods": listed(p.name for p in open_pods),
        "policies": policy_refs(ctx.policies_by_namespace.get(namespace, [])),
    }


def _coverage_message(
    ctx: AuditContext, namespace: str, open_pods: list[Pod], direction: str
) -> str:
    governed = _application_pods(ctx, namespace)
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
    needs=(Kind.PODS, Kind.NETWORK_POLICIES),
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
    needs=(Kind.PODS, Kind.NETWORK_POLICIES),
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
    needs=(Kind.NETWORK_POLICIES,),
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
                    {"name": p.name, "policyTypes": sorted(p.policy_types)} for p in policies
                ],
                "podCount": len(_application_pods(ctx, namespace)),
            },
            remediation="Restrict egress too, keeping DNS working:\n\n"
            + to_yaml(*default_deny_egress_with_dns(namespace, dns_namespace, dns_labels)),
            origin=policies[0].origin,
        )


# --- KA105 ---------------------------------------------------------------------------------


@rule(
    id="KA105",
    name="egress-blocks-dns",
    title="Egress policy blocks DNS to the cluster DNS pods",
    severity=Severity.HIGH,
    category="policy",
    rationale="""
        Once a pod is isolated for egress, DNS is denied too unless a rule allows UDP
        and TCP 53 to the kube-dns pods. Every name lookup then fails and the
        application looks broken in ways that do not point at the policy. UDP carries
        almost all queries; TCP is needed for large answers (truncated UDP replies),
        so TCP-only blocking is the lesser problem.
    """,
    remediation="""
        Add an egress rule allowing UDP and TCP port 53 to the DNS pods, selected by
        namespace AND pod labels in one peer.
    """,
    references=(
        K8S_NETPOL,
        "https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/",
    ),
    needs=(Kind.PODS, Kind.NETWORK_POLICIES),
)
def egress_blocks_dns(ctx: AuditContext) -> Iterator[Hit]:
    dns_namespace, dns_labels = dns_target(ctx)
    blocked: list[tuple[Pod, Any]] = []
    for namespace in _namespaces_with_pods(ctx):
        for pod in _application_pods(ctx, namespace):
            if pod.dns_policy not in ("ClusterFirst", "ClusterFirstWithHostNet"):
                continue  # the pod does not use the cluster DNS
            if not ctx.engine.isolation(pod).egress_isolated:
                continue
            access = ctx.engine.dns_access(pod)
            if access.udp and access.tcp:
                continue
            blocked.append((pod, access))
    by_pod = {pod.key: access for pod, access in blocked}
    for ref, group in group_by_workload(pod for pod, _ in blocked).items():
        access = by_pod[group[0].key]
        udp, tcp = access.udp, access.tcp
        if not udp and not tcp:
            what, severity = "UDP and TCP 53: every name lookup fails", Severity.HIGH
        elif not udp:
            what, severity = "UDP 53: ordinary lookups fail", Severity.HIGH
        else:
            what, severity = (
                "TCP 53 (UDP works): large answers that fall back to TCP fail",
                Severity.MEDIUM,
            )
        egress_policies = list(ctx.engine.isolation(group[0]).egress_policies)
        partial = ""
        if (not udp and access.udp_any) or (not tcp and access.tcp_any):
            partial = " (only some of the DNS pods are allowed)"
        stand_in = (
            " (no DNS pods in the input: assumed k8s-app=kube-dns in kube-system)"
            if access.stand_in
            else ""
        )
        # What an ipBlock means for pod IPs is up to the CNI: say so, and grade lower.
        with_blocks = sorted(
            f"{p.namespace}/{p.name}"
            for p in ctx.policies_by_namespace.get(ref.namespace, [])
            if p.ref in egress_policies and _may_cover_pod_ips(p)
        )
        block_note = ""
        if with_blocks:
            severity = min(severity, Severity.MEDIUM)
            block_note = (
                f" Its egress allows ipBlock ranges ({', '.join(with_blocks)}); whether an "
                f"ipBlock also covers the DNS pods' IPs depends on the CNI (Calico: yes, "
                f"Cilium: no), so allow DNS explicitly."
            )
        yield Hit(
            ref,
            f"{ref.kind} {ref.namespace}/{ref.name} is isolated for egress by "
            f"{', '.join(p.qualified_name for p in egress_policies)}, and no rule lets it "
            f"reach the cluster DNS on {what}{partial}{stand_in}.{block_note}",
            {
                "podCount": len(group),
                "pods": listed(p.name for p in group),
                "udp53": udp,
                "tcp53": tcp,
                "dnsPods": [p.qualified_name for p in access.dns_pods],
                "egressPolicies": [p.qualified_name for p in egress_policies],
                "policiesWithIpBlocks": with_blocks,
            },
            remediation="Allow DNS for these pods (or for the whole namespace):\n\n"
            + to_yaml(
                network_policy(
                    "allow-dns-egress",
                    ref.namespace,
                    {
                        "policyTypes": ["Egress"],
                        "egress": [
                            {
                                "to": [
                                    {
                                        "namespaceSelector": {
                                            "matchLabels": {
                                                "kubernetes.io/metadata.name": dns_namespace
                                            }
                                        },
                                        "podSelector": {"matchLabels": dns_labels},
                                    }
                                ],
                                "ports": [
                                    {"protocol": "UDP", "port": 53},
                                    {"protocol": "TCP", "port": 53},
                                ],
                            }
                        ],
                    },
                )
            ),
            severity=severity,
            origin=group[0].origin,
        )


# Address ranges clusters take pod IPs from.
POD_NETWORK_CANDIDATES = tuple(
    ipaddress.ip_network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)


def _opens_port_53(ports: Sequence[PolicyPort]) -> bool:
    return not ports or any(
        p.port is None
        or p.port == 53
        or (isinstance(p.port, int) and p.end_port is not None and p.port <= 53 <= p.end_port)
        for p in ports
    )


def _may_cover_pod_ips(policy: NetworkPolicy) -> bool:
    """An egress rule open to port 53 whose ipBlock overlaps the usual pod address ranges."""
    for policy_rule in policy.egress:
        if not _opens_port_53(policy_rule.ports):
            continue
        for peer in policy_rule.peers:
            if peer.ip_block is None:
                continue
            try:
                network = ipaddress.ip_network(peer.ip_block.cidr, strict=False)
            except ValueError:
                continue
            if any(
                network.version == c.version and network.overlaps(c) for c in POD_NETWORK_CANDIDATES
            ):
                return True
    return False


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
    needs=(Kind.NETWORK_POLICIES,),
)
def policy_peer_or_confusion(ctx: AuditContext) -> Iterator[Hit]:
    for policy in ctx.snapshot.network_policies:
        confused = []
        for direction, key, index, policy_rule in _rules(policy):
            ns_only = [p for p in policy_rule.peers if _namespace_only(p)]
            pod_only = [p for p in policy_rule.peers if _pod_only(p)]
            if ns_only and pod_only:
                confused.append((direction, key, index, policy_rule, ns_only, pod_only))
        if not confused:
            continue
        explanations = []
        fixed_rules: dict[str, list[dict[str, Any]]] = {}
        evidence_rules = []
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
            anded = [
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
            fixed: dict[str, Any] = {key: anded + others}
            if policy_rule.ports:
                fixed["ports"] = [port_raw(p) for p in policy_rule.ports]
            fixed_rules.setdefault(direction, []).append(fixed)
            evidence_rules.append(
                {
                    "direction": direction,
                    "rule": index,
                    "peers": [peer_raw(p) for p in policy_rule.peers],
                    "namespacesAdmittedWhole": admitted_ns,
                    "podsAdmittedWhole": sum(len(_application_pods(ctx, ns)) for ns in admitted_ns),
                    "andedPeers": anded,
                }
            )
        remediation = (
            "Merge the selectors into one peer (shown for the affected rules; keep the "
            "policy's other rules as they are):\n\n"
            + to_yaml(
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "NetworkPolicy",
                    "metadata": {"name": policy.name, "namespace": policy.namespace},
                    "spec": fixed_rules,
                }
            )
        )
        yield Hit(
            policy.ref,
            f"NetworkPolicy {policy.namespace}/{policy.name} lists namespaceSelector and "
            f"podSelector as separate peers, which are ORed: " + "; ".join(explanations) + ".",
            {"rules": evidence_rules},
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
    needs=(Kind.NETWORK_POLICIES,),
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
    rules = []
    for index in sorted(set(indexes)):
        policy_rule = policy.ingress[index]
        fixed: dict[str, Any] = {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "CLIENT-NAMESPACE"}
                    },
                    "podSelector": {"matchLabels": {"app": "CLIENT-APP"}},
                }
            ]
        }
        if policy_rule.ports:
            fixed["ports"] = [port_raw(p) for p in policy_rule.ports]
        rules.append(fixed)
    return "Admit only the clients that need access (replace the placeholders):\n\n" + to_yaml(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": policy.name, "namespace": policy.namespace},
            "spec": {"ingress": rules},
        }
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
    needs=(Kind.PODS, Kind.NETWORK_POLICIES),
)
def policy_selects_no_pods(ctx: AuditContext) -> Iterator[Hit]:
    for policy in ctx.snapshot.network_policies:
        pods = ctx.pods_by_namespace.get(policy.namespace, [])
        if not pods or any(policy.pod_selector.matches(p.labels) for p in pods):
            continue
        selector = policy.pod_selector
        candidates = (
            closest_label_sets(selector.match_labels, pods) if selector.match_labels else []
        )
        evidence: dict[str, Any] = {
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
            evidence["diagnosis"] = sorted({str(e.verdict) for e in best.problems})
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
                    {
                        "apiVersion": "networking.k8s.io/v1",
                        "kind": "NetworkPolicy",
                        "metadata": {"name": policy.name, "namespace": policy.namespace},
                        "spec": {"podSelector": selector_raw(fixed)},
                    }
                )
        else:
            labels = sorted({label_text(p.labels) for p in pods})
            evidence["podLabels"] = labels[:10]
        yield Hit(policy.ref, message, evidence, remediation=remediation, origin=policy.origin)


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
    needs=(Kind.NETWORK_POLICIES,),
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
    evidence: dict[str, Any] = {
        "cni": seen,
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
