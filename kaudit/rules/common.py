"""Helpers shared by the rule families: grouping, evidence and remediation YAML."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from kaudit.kube import DNS_NAMESPACE, DNS_POD_LABELS, NAMESPACE_NAME_LABEL
from kaudit.model import Labels, NetworkPolicy, ObjectRef, Pod

# Evidence lists longer than this are cut, with the full count kept beside them.
MAX_LISTED = 25


# libyaml's emitter when PyYAML has it (ten times faster); both write the same text.
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def to_yaml(*documents: Mapping[str, Any]) -> str:
    """Render one or more Kubernetes objects as a multi-document YAML snippet."""
    return "---\n".join(
        yaml.dump(dict(doc), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
        for doc in documents
    ).rstrip()


# Where each controller keeps its pod spec, and its API group.
POD_SPEC_PATHS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "Pod": ("v1", ("spec",)),
    "Deployment": ("apps/v1", ("spec", "template", "spec")),
    "StatefulSet": ("apps/v1", ("spec", "template", "spec")),
    "DaemonSet": ("apps/v1", ("spec", "template", "spec")),
    "ReplicaSet": ("apps/v1", ("spec", "template", "spec")),
    "ReplicationController": ("v1", ("spec", "template", "spec")),
    "Job": ("batch/v1", ("spec", "template", "spec")),
    "CronJob": ("batch/v1", ("spec", "jobTemplate", "spec", "template", "spec")),
}


def pod_spec_patch(workload: ObjectRef, pod_spec: Mapping[str, Any]) -> dict[str, Any]:
    """A manifest fragment setting `pod_spec` fields in the workload's pod template."""
    api_version, path = POD_SPEC_PATHS.get(workload.kind, ("apps/v1", ("spec", "template", "spec")))
    body: Any = dict(pod_spec)
    for key in reversed(path[1:]):
        body = {key: body}
    return {
        "apiVersion": api_version,
        "kind": workload.kind,
        "metadata": {"name": workload.name, "namespace": workload.namespace},
        "spec": body,
    }


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


def members(pods: Sequence[Pod]) -> dict[str, Any]:
    """Evidence naming the pods of a group."""
    return {"podCount": len(pods), "pods": listed(p.name for p in pods)}


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


def dns_peer(dns_namespace: str, dns_labels: Labels | Mapping[str, str]) -> dict[str, Any]:
    """The `to` peer that reaches the cluster DNS pods (namespace AND pod labels)."""
    return {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: dns_namespace}},
        "podSelector": {"matchLabels": dict(sorted(dns_labels.items()))},
    }


def dns_egress_rule(dns_namespace: str, dns_labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "to": [dns_peer(dns_namespace, dns_labels)],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


def network_policy(
    name: str, namespace: str, spec: Mapping[str, Any], pod_labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A NetworkPolicy manifest; `pod_labels` None selects every pod of the namespace."""
    selector: dict[str, Any] = (
        {"matchLabels": dict(sorted(pod_labels.items()))} if pod_labels else {}
    )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"podSelector": selector, **spec},
    }


def default_deny_ingress(namespace: str) -> dict[str, Any]:
    return network_policy("default-deny-ingress", namespace, {"policyTypes": ["Ingress"]})


def default_deny_egress_with_dns(
    namespace: str,
    dns_namespace: str = DNS_NAMESPACE,
    dns_labels: Mapping[str, str] = DNS_POD_LABELS,
) -> list[dict[str, Any]]:
    """Deny all egress, then allow DNS: the pair that keeps name resolution working."""
    return [
        network_policy("default-deny-egress", namespace, {"policyTypes": ["Egress"]}),
        network_policy(
            "allow-dns-egress",
            namespace,
            {"policyTypes": ["Egress"], "egress": [dns_egress_rule(dns_namespace, dns_labels)]},
        ),
    ]


def default_deny_all_with_dns(
    namespace: str,
    dns_namespace: str = DNS_NAMESPACE,
    dns_labels: Mapping[str, str] = DNS_POD_LABELS,
) -> list[dict[str, Any]]:
    """Deny all ingress and egress in the namespace, with the DNS exception."""
    return [
        network_policy("default-deny-all", namespace, {"policyTypes": ["Ingress", "Egress"]}),
        network_policy(
            "allow-dns-egress",
            namespace,
            {"policyTypes": ["Egress"], "egress": [dns_egress_rule(dns_namespace, dns_labels)]},
        ),
    ]
