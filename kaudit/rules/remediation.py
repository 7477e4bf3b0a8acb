"""Remediation snippets: the Kubernetes objects a fix shows, and their YAML.

Every rule family builds its remediation documents here: `manifest` for an object
patch (a Service, Ingress or NetworkPolicy with only the fields that change),
`pod_spec_patch` for a workload's pod template, the NetworkPolicy parts rendered
back to their API form, and the default-deny policies with their DNS exception.
"""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from kaudit.jsontypes import JsonObject, JsonValue, json_array
from kaudit.kube import DNS_NAMESPACE, DNS_POD_LABELS, NAMESPACE_NAME_LABEL
from kaudit.model import Labels, LabelSelector, ObjectRef, PolicyPeer, PolicyPort

# libyaml's emitter when PyYAML has it (ten times faster); both write the same text.
_Dumper: type[yaml.CSafeDumper] | type[yaml.SafeDumper] = getattr(
    yaml, "CSafeDumper", yaml.SafeDumper
)


def to_yaml(*documents: Mapping[str, JsonValue]) -> str:
    """Render one or more Kubernetes objects as a multi-document YAML snippet."""
    return "---\n".join(
        yaml.dump(dict(doc), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=100)
        for doc in documents
    ).rstrip()


# The API group of each kind a remediation shows.
API_VERSIONS: Mapping[str, str] = {
    "Service": "v1",
    "Ingress": "networking.k8s.io/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    # Gateway API
    "Gateway": "gateway.networking.k8s.io/v1",
    "ListenerSet": "gateway.networking.k8s.io/v1",
    "XListenerSet": "gateway.networking.x-k8s.io/v1alpha1",
    "HTTPRoute": "gateway.networking.k8s.io/v1",
    "GRPCRoute": "gateway.networking.k8s.io/v1",
    "TLSRoute": "gateway.networking.k8s.io/v1",
    "TCPRoute": "gateway.networking.k8s.io/v1",
    "UDPRoute": "gateway.networking.k8s.io/v1",
    "ReferenceGrant": "gateway.networking.k8s.io/v1beta1",
}


def manifest(
    kind: str,
    name: str,
    namespace: str,
    spec: Mapping[str, JsonValue],
    *,
    annotations: Mapping[str, str] | None = None,
    api_version: str | None = None,
) -> JsonObject:
    """An object of `kind` carrying only the given spec (and annotations): a patch to apply."""
    metadata: JsonObject = {"name": name, "namespace": namespace}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": api_version or API_VERSIONS[kind],
        "kind": kind,
        "metadata": metadata,
        "spec": dict(spec),
    }


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


def pod_spec_patch(workload: ObjectRef, pod_spec: Mapping[str, JsonValue]) -> JsonObject:
    """A manifest fragment setting `pod_spec` fields in the workload's pod template."""
    api_version, path = POD_SPEC_PATHS.get(workload.kind, ("apps/v1", ("spec", "template", "spec")))
    body: JsonObject = dict(pod_spec)
    for key in reversed(path[1:]):
        body = {key: body}
    return manifest(workload.kind, workload.name, workload.namespace, body, api_version=api_version)


# --- NetworkPolicy parts rendered back to their API form ----------------------------------


def selector_raw(selector: LabelSelector) -> JsonObject:
    raw: JsonObject = {}
    if selector.match_labels:
        raw["matchLabels"] = dict(sorted(selector.match_labels.items()))
    if selector.match_expressions:
        raw["matchExpressions"] = [
            {
                "key": r.key,
                "operator": r.operator,
                **({"values": json_array(sorted(r.values))} if r.values else {}),
            }
            for r in selector.match_expressions
        ]
    return raw


def peer_raw(peer: PolicyPeer) -> JsonObject:
    raw: JsonObject = {}
    if peer.namespace_selector is not None:
        raw["namespaceSelector"] = selector_raw(peer.namespace_selector)
    if peer.pod_selector is not None:
        raw["podSelector"] = selector_raw(peer.pod_selector)
    if peer.ip_block is not None:
        block: JsonObject = {"cidr": peer.ip_block.cidr}
        if peer.ip_block.except_:
            block["except"] = list(peer.ip_block.except_)
        raw["ipBlock"] = block
    return raw


def port_raw(port: PolicyPort) -> JsonObject:
    raw: JsonObject = {"protocol": str(port.protocol)}
    if port.port is not None:
        raw["port"] = port.port
    if port.end_port is not None:
        raw["endPort"] = port.end_port
    return raw


# --- default deny, with the DNS exception ---------------------------------------------------


def dns_peer(dns_namespace: str, dns_labels: Labels | Mapping[str, str]) -> JsonObject:
    """The `to` peer that reaches the cluster DNS pods (namespace AND pod labels)."""
    return {
        "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: dns_namespace}},
        "podSelector": {"matchLabels": dict(sorted(dns_labels.items()))},
    }


def dns_egress_rule(dns_namespace: str, dns_labels: Mapping[str, str]) -> JsonObject:
    return {
        "to": [dns_peer(dns_namespace, dns_labels)],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


def network_policy(
    name: str,
    namespace: str,
    spec: Mapping[str, JsonValue],
    pod_labels: Mapping[str, str] | None = None,
) -> JsonObject:
    """A NetworkPolicy manifest; `pod_labels` None selects every pod of the namespace."""
    selector: JsonObject = {"matchLabels": dict(sorted(pod_labels.items()))} if pod_labels else {}
    return manifest("NetworkPolicy", name, namespace, {"podSelector": selector, **spec})


def default_deny_ingress(namespace: str) -> JsonObject:
    return network_policy("default-deny-ingress", namespace, {"policyTypes": ["Ingress"]})


def default_deny_egress_with_dns(
    namespace: str,
    dns_namespace: str = DNS_NAMESPACE,
    dns_labels: Mapping[str, str] = DNS_POD_LABELS,
) -> list[JsonObject]:
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
) -> list[JsonObject]:
    """Deny all ingress and egress in the namespace, with the DNS exception."""
    return [
        network_policy("default-deny-all", namespace, {"policyTypes": ["Ingress", "Egress"]}),
        network_policy(
            "allow-dns-egress",
            namespace,
            {"policyTypes": ["Egress"], "egress": [dns_egress_rule(dns_namespace, dns_labels)]},
        ),
    ]


# --- Gateway API ----------------------------------------------------------------------------


def reference_grant(
    namespace: str,
    name: str,
    from_group: str,
    from_kind: str,
    from_namespace: str,
    to_kind: str,
    to_name: str,
    to_group: str = "",
) -> JsonObject:
    """A ReferenceGrant in `namespace` letting `from_kind`s of `from_namespace` refer to
    the one object `to_kind`/`to_name` there (v1beta1: served by every release since v0.6)."""
    document = manifest(
        "ReferenceGrant",
        name,
        namespace,
        {
            "from": [{"group": from_group, "kind": from_kind, "namespace": from_namespace}],
            "to": [{"group": to_group, "kind": to_kind, "name": to_name}],
        },
    )
    return document


def https_redirect_route(
    name: str,
    namespace: str,
    gateway: str,
    gateway_namespace: str,
    listener: str,
    hostnames: list[str],
) -> JsonObject:
    """An HTTPRoute on the plain-HTTP listener answering every request with a redirect
    to https (a RequestRedirect filter, scheme https, status 301)."""
    spec: JsonObject = {
        "parentRefs": [{"name": gateway, "namespace": gateway_namespace, "sectionName": listener}],
        "rules": [
            {
                "filters": [
                    {
                        "type": "RequestRedirect",
                        "requestRedirect": {"scheme": "https", "statusCode": 301},
                    }
                ]
            }
        ],
    }
    if hostnames:
        spec["hostnames"] = json_array(hostnames)
    return manifest("HTTPRoute", name, namespace, spec)
