"""Helpers shared by the rule families: grouping, evidence, wording and shared lookups.

Remediation documents and their YAML are `kaudit/rules/remediation.py`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from kaudit.jsontypes import JsonArray, JsonObject, json_array
from kaudit.kube import DNS_NAMESPACE, DNS_POD_LABELS
from kaudit.model import (
    NetworkPolicy,
    ObjectRef,
    Pod,
    PolicyPeer,
    Resource,
    Service,
    ServicePort,
)
from kaudit.rules.context import AuditContext

# Evidence lists longer than this are cut, with the full count kept beside them.
MAX_LISTED = 25

# What the engine's answers depend on: pods, the policies of every tier (NetworkPolicy
# and the network-policy-api kinds) and the Nodes their nodes peers select. A rule
# that asks the engine needs them all.
ENGINE_KINDS: tuple[Resource, ...] = (
    Resource.PODS,
    Resource.NETWORK_POLICIES,
    Resource.CLUSTER_NETWORK_POLICIES,
    Resource.ADMIN_NETWORK_POLICIES,
    Resource.BASELINE_ADMIN_NETWORK_POLICIES,
    Resource.NODES,
)


def workload_ref(pod: Pod) -> ObjectRef:
    """The object a per-workload finding is about: Deployment/ns/web, or the pod itself."""
    return ObjectRef(pod.owner.kind, pod.namespace, pod.owner.name)


def group_by_workload(pods: Iterable[Pod]) -> dict[ObjectRef, list[Pod]]:
    """Pods grouped by their controller, in sorted order for deterministic output."""
    groups: dict[ObjectRef, list[Pod]] = {}
    for pod in pods:
        groups.setdefault(workload_ref(pod), []).append(pod)
    return {ref: sorted(groups[ref], key=lambda p: p.name) for ref in sorted(groups)}


def listed(names: Iterable[str]) -> list[str]:
    """A sorted list, cut to MAX_LISTED entries (evidence carries the full count apart)."""
    values = sorted(set(names))
    if len(values) > MAX_LISTED:
        return [*values[:MAX_LISTED], f"... and {len(values) - MAX_LISTED} more"]
    return values


def members(pods: Sequence[Pod]) -> JsonObject:
    """Evidence naming the pods of a group."""
    return {"podCount": len(pods), "pods": json_array(listed(p.name for p in pods))}


def workload_names(pods: Iterable[Pod]) -> list[str]:
    return listed(str(p.owner) for p in pods)


# Label keys that name an application; selectors should use these when the pods carry them.
IDENTITY_KEYS = (
    "app.kubernetes.io/name",
    "app",
    "k8s-app",
    "name",
    "component",
    "app.kubernetes.io/component",
)
# Label keys that change with every release or are set by controllers: never select on them.
UNSTABLE_KEYS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "batch.kubernetes.io/controller-uid",
        "batch.kubernetes.io/job-name",
        "controller-uid",
        "job-name",
        "version",
        "app.kubernetes.io/version",
        "helm.sh/chart",
    }
)


def selector_labels(labels: Mapping[str, str]) -> dict[str, str] | None:
    """A stable selector for pods with these labels: their identity labels when present."""
    identity = {k: labels[k] for k in IDENTITY_KEYS if k in labels}
    if identity:
        first = next(iter(identity))
        return {first: identity[first]}
    stable = {k: v for k, v in labels.items() if k not in UNSTABLE_KEYS}
    return dict(sorted(stable.items())) or None


def label_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(no labels)"


def plural(count: int, word: str, plural_form: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural_form or word + 's'}"


def verb(count: int, singular: str, plural_form: str) -> str:
    """The verb agreeing with `count` ("is"/"are", "accepts"/"accept")."""
    return singular if count == 1 else plural_form


def policy_refs(policies: Iterable[NetworkPolicy]) -> list[str]:
    return sorted(f"{p.namespace}/{p.name}" for p in policies)


# --- shared by the NetworkPolicy families ---------------------------------------------------

K8S_NETPOL = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"
RECIPES = "https://github.com/ahmetb/kubernetes-network-policy-recipes"


def application_pods(ctx: AuditContext, namespace: str) -> list[Pod]:
    """Pods that NetworkPolicy governs (hostNetwork pods are outside it)."""
    return [p for p in ctx.pods_by_namespace.get(namespace, []) if not p.host_network]


def namespaces_with_pods(ctx: AuditContext) -> list[str]:
    return sorted(ns for ns in ctx.pods_by_namespace if application_pods(ctx, ns))


def peer_outside_input(ctx: AuditContext, peer: PolicyPeer) -> bool:
    """A peer whose namespaceSelector matches no namespace of manifests: its pods may live
    in a namespace the input does not hold, so nothing is concluded about them."""
    if peer.namespace_selector is None or ctx.snapshot.facts.source == "live":
        return False
    selector = peer.namespace_selector
    return not any(selector.matches(ns.labels) for ns in ctx.snapshot.namespaces)


def peer_namespaces(ctx: AuditContext, policy: NetworkPolicy, peer: PolicyPeer) -> list[str] | None:
    """The namespaces a pod peer's pods are looked for in; None when they may lie outside
    the input."""
    if peer.namespace_selector is None:
        return [policy.namespace]
    if peer_outside_input(ctx, peer):
        return None
    selector = peer.namespace_selector
    return sorted(ns.name for ns in ctx.snapshot.namespaces if selector.matches(ns.labels))


def peer_pods(ctx: AuditContext, namespaces: Iterable[str]) -> list[Pod]:
    return [p for ns in namespaces for p in ctx.pods_by_namespace.get(ns, [])]


def peer_selects_no_pod(ctx: AuditContext, policy: NetworkPolicy, peer: PolicyPeer) -> bool:
    """A pod peer (not an ipBlock) whose selectors match no pod of the input.

    Not judged (False) when its pods may lie outside the input: namespaces not in the
    input, or namespaces whose pods the input does not hold.
    """
    if peer.ip_block is not None:
        return False
    namespaces = peer_namespaces(ctx, policy, peer)
    if namespaces is None:
        return False
    pods = peer_pods(ctx, namespaces)
    if namespaces and not pods:
        return False
    selector = peer.pod_selector
    return not (pods and (selector is None or any(selector.matches(p.labels) for p in pods)))


def dns_target(ctx: AuditContext) -> tuple[str, dict[str, str]]:
    """The namespace and labels of the cluster DNS pods, for the DNS egress exception."""
    for pod in ctx.snapshot.pods:
        if all(pod.labels.get(k) == v for k, v in DNS_POD_LABELS.items()):
            return pod.namespace, dict(DNS_POD_LABELS)
    return DNS_NAMESPACE, dict(DNS_POD_LABELS)


# --- shared by the Service families ---------------------------------------------------------

K8S_SERVICE_DOCS = "https://kubernetes.io/docs/concepts/services-networking/service/"


def service_port_text(port: ServicePort) -> str:
    name = f" ({port.name})" if port.name else ""
    return f"{port.port}/{port.protocol}{name}"


def service_ports_evidence(service: Service) -> JsonArray:
    result: JsonArray = []
    for port in service.ports:
        entry: JsonObject = {
            "port": port.port,
            "targetPort": port.effective_target,
            "protocol": str(port.protocol),
        }
        if port.name:
            entry["name"] = port.name
        if port.node_port:
            entry["nodePort"] = port.node_port
        result.append(entry)
    return result
