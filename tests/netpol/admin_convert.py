"""Rewrite v1alpha1 AdminNetworkPolicy and BaselineAdminNetworkPolicy as ClusterNetworkPolicy v1beta1.

A mechanical field mapping, so that one case can be asked in both forms and must get the
same answers. From sigs.k8s.io/network-policy-api: CHANGELOG.md v0.2.0 ("A single CRD with
`tier` field replaces the two separate resources. The `Allow` action has been renamed to
`Accept`"; "The `ports` field has been replaced with a new `protocols` field"), and the Go
types of both versions (apis/v1alpha1 of v0.1.7, apis/v1beta1 of v0.3.0):
- AdminNetworkPolicy -> tier Admin with its priority; BaselineAdminNetworkPolicy (one
  object, named "default", no priority) -> tier Baseline with BASELINE_PRIORITY;
- action Allow -> Accept (Deny and Pass keep their names);
- subject, from and to peers keep their shape (namespaces, pods with namespaceSelector
  and podSelector, nodes, networks, domainNames);
- ports -> protocols: portNumber {protocol, port} -> {<protocol>: {destinationPort:
  {number}}}, portRange {protocol, start, end} -> {<protocol>: {destinationPort: {range:
  {start, end}}}}, namedPort -> destinationNamedPort; a v1alpha1 protocol left out is TCP
  (its default).
"""

from __future__ import annotations

import copy
from typing import Any

Raw = dict[str, Any]

V1ALPHA1 = "policy.networking.k8s.io/v1alpha1"
V1BETA1 = "policy.networking.k8s.io/v1beta1"
# The only BaselineAdminNetworkPolicy of a cluster has the tier to itself, so any value
# would do; 10 is the one network-policy-api v0.3.0 gave its own rewrites of the
# BaselineAdminNetworkPolicy conformance manifests (conformance/base/baseline_tier).
BASELINE_PRIORITY = 10


def convert_port(entry: Raw) -> Raw:
    if "namedPort" in entry:
        return {"destinationNamedPort": entry["namedPort"]}
    if "portNumber" in entry:
        number = entry["portNumber"]
        protocol = number.get("protocol", "TCP").lower()
        return {protocol: {"destinationPort": {"number": number["port"]}}}
    if "portRange" in entry:
        span = entry["portRange"]
        protocol = span.get("protocol", "TCP").lower()
        return {
            protocol: {"destinationPort": {"range": {"start": span["start"], "end": span["end"]}}}
        }
    raise ValueError(f"unknown v1alpha1 port entry: {entry!r}")


def convert_rule(rule: Raw, peer_key: str) -> Raw:
    result: Raw = {}
    if "name" in rule:
        result["name"] = rule["name"]
    result["action"] = "Accept" if rule["action"] == "Allow" else rule["action"]
    result[peer_key] = copy.deepcopy(rule[peer_key])
    if rule.get("ports") is not None:
        result["protocols"] = [convert_port(entry) for entry in rule["ports"]]
    return result


def to_cluster_network_policy(doc: Raw) -> Raw:
    """One v1alpha1 AdminNetworkPolicy or BaselineAdminNetworkPolicy as ClusterNetworkPolicy."""
    if doc.get("apiVersion") != V1ALPHA1 or doc.get("kind") not in (
        "AdminNetworkPolicy",
        "BaselineAdminNetworkPolicy",
    ):
        raise ValueError(f"not a v1alpha1 admin policy: {doc.get('apiVersion')} {doc.get('kind')}")
    spec = doc["spec"]
    admin = doc["kind"] == "AdminNetworkPolicy"
    new_spec: Raw = {
        "tier": "Admin" if admin else "Baseline",
        "priority": spec["priority"] if admin else BASELINE_PRIORITY,
        "subject": copy.deepcopy(spec["subject"]),
    }
    for key, peer_key in (("ingress", "from"), ("egress", "to")):
        if spec.get(key) is not None:
            new_spec[key] = [convert_rule(rule, peer_key) for rule in spec[key]]
    return {
        "apiVersion": V1BETA1,
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": doc["metadata"]["name"]},
        "spec": new_spec,
    }


def convert_objects(objects: list[Raw]) -> list[Raw]:
    """Every v1alpha1 admin policy of `objects` rewritten; everything else unchanged."""
    result = []
    names: set[str] = set()
    for doc in objects:
        if doc.get("apiVersion") == V1ALPHA1:
            doc = to_cluster_network_policy(doc)
        if doc.get("kind") == "ClusterNetworkPolicy":
            name = doc["metadata"]["name"]
            if name in names:
                raise ValueError(f"two ClusterNetworkPolicies named {name!r} after conversion")
            names.add(name)
        result.append(doc)
    return result
