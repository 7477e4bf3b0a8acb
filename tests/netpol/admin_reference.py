"""A deliberately simple evaluator of the cluster-wide admin policies, from the spec text.

It reads the raw objects of one cluster (dicts as in a manifest): Namespaces, Nodes, Pods,
networking.k8s.io/v1 NetworkPolicies, policy.networking.k8s.io ClusterNetworkPolicies
(v1beta1 and v1alpha2, one schema) and the v1alpha1 AdminNetworkPolicies and
BaselineAdminNetworkPolicy, each kind in its own field names (no conversion between
them), and answers one connection at a time: policy by policy, rule by rule, no classes,
no bitsets, no caches. kaudit's engine must agree with it. Only the label selector type
(kaudit.model.LabelSelector) and the plain NetworkPolicy reference (tests/netpol/reference.py)
are shared.

The rules, each from the field documentation of sigs.k8s.io/network-policy-api (the Go
types the CRD YAML is generated from: apis/v1beta1/clusternetworkpolicy_types.go of v0.3.0,
apis/v1alpha1/adminnetworkpolicy_types.go, baselineadminnetworkpolicy_types.go and
shared_types.go of v0.1.7):
- ClusterNetworkPolicySpec.Tier: "Policy tiers are evaluated in the following order: Admin
  tier, NetworkPolicy tier, Baseline tier"; "If Admin tier has made a final decision (Accept
  or Deny) on a connection, then no further evaluation is done"; "v1.NetworkPolicy always
  makes a final decision for selected pods. Further evaluation only happens for Pods not
  selected by a v1.NetworkPolicy"; "If a given connection wasn't allowed or denied by any of
  the tiers, the default kubernetes policy is applied, which says that all pods can
  communicate with each other". AdminNetworkPolicy is the Admin tier ("All
  AdminNetworkPolicy rules have higher precedence than NetworkPolicy or
  BaselineAdminNetworkPolicy rules"), the BaselineAdminNetworkPolicy the Baseline tier.
- Priority: "Policies with lower priority values have higher precedence"; two policies of
  one tier and one priority that could both match: "the implementation can apply any of
  the matching policies" (reported here as `ambiguous` when their answers differ).
- Ingress/Egress: "The relative precedence of ingress rules within a single CNP object ...
  will be determined by the order in which the rule is written"; "CNPs with no ingress
  rules do not affect ingress traffic" (and egress alike).
- Actions: Accept (v1alpha1 Allow) "No further ingress ClusterNetworkPolicy or
  NetworkPolicy rules will be processed" (egress: "but any ingress rules at the
  destination do apply"); Deny "Drops the selected traffic"; Pass "Skips all further
  ClusterNetworkPolicy rules in the current tier ... and passes evaluation to the next
  tier" (v1alpha1: "pass execution to any NetworkPolicies that select the pod. If the pod
  is not selected by any NetworkPolicies then execution is passed to any
  BaselineAdminNetworkPolicies"). A connection needs its egress and its ingress admitted:
  each direction is evaluated on its own, for the source and for the destination.
- Subject and peers: "host-networked pods are not included in subject selection", nor in
  namespaces and pods peers. NamespacedPod: "NamespaceSelector ... if empty, it selects all
  Namespaces"; "PodSelector ... if empty, it selects all Pods". Nodes: "selects the nodeIPs
  ... by matching on the IPs present in the node.Status.Addresses field of the node"; "if
  present but empty, it selects all Nodes". Networks: "cluster-internal traffic will be
  checked against the rule as well. So if you Accept or Deny traffic to "0.0.0.0/0", that
  will allow or deny all IPv4 pod-to-pod traffic as well". DomainNames cannot be resolved
  offline: they match no address here.
- Ports: Protocols (v1alpha1 Ports) "If unspecified, protocol-specific attributes will not
  be used to match traffic"; Port.Number, PortRange "an inclusive range of ports from the
  assigned Start value to End value"; DestinationNamedPort (v1alpha1 NamedPort) "selects a
  destination port on a pod based on the ContainerPort name"; v1alpha1 Port.Protocol "If
  not specified, this field defaults to TCP".
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from kaudit.model import (
    ClusterFacts,
    LabelSelector,
    Namespace,
    NetworkPolicy,
    Pod,
    Protocol,
    Snapshot,
)
from tests.netpol.reference import FAMILIES, Reference

Raw = dict[str, Any]

ADMIN = "Admin"
NETWORK_POLICY = "NetworkPolicy"
BASELINE = "Baseline"
DEFAULT = "default"
GROUP = "policy.networking.k8s.io"
CNP_VERSIONS = (f"{GROUP}/v1beta1", f"{GROUP}/v1alpha2")
ANP_VERSION = f"{GROUP}/v1alpha1"
# Each kind's actions (its CRD's enum), as ClusterNetworkPolicy names them: v1alpha1 says
# Allow where ClusterNetworkPolicy says Accept, and the baseline kind has no Pass.
CNP_ACTIONS = {"Accept": "Accept", "Deny": "Deny", "Pass": "Pass"}
ANP_ACTIONS = {"Allow": "Accept", "Deny": "Deny", "Pass": "Pass"}
BANP_ACTIONS = {"Allow": "Accept", "Deny": "Deny"}


@dataclass(frozen=True)
class Decision:
    """Who decided one direction: tier, policy (kind/name or namespace/name) and rule."""

    allowed: bool
    tier: str
    policy: str | None = None
    rule: str | None = None
    ambiguous: bool = False  # policies of one priority matched and decided differently
    tied: bool = False  # policies of one priority matched: which one decided is arbitrary


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    egress: Decision
    ingress: Decision

    @property
    def ambiguous(self) -> bool:
        return self.egress.ambiguous or self.ingress.ambiguous


@dataclass(frozen=True)
class AdminRule:
    name: str
    action: str  # Accept, Deny or Pass
    peers: tuple[Raw, ...]
    ports: tuple[Raw, ...] | None  # in the policy's own field shape; None: every port
    v1alpha1: bool


@dataclass(frozen=True)
class AdminPolicy:
    ref: str
    tier: str
    priority: int
    subject: Raw
    ingress: tuple[AdminRule, ...]
    egress: tuple[AdminRule, ...]


def selector(raw: Any) -> LabelSelector:
    return LabelSelector.from_raw(raw if raw is not None else {})


def admin_policies(objects: list[Raw]) -> list[AdminPolicy]:
    """The admin and baseline policies of `objects`, each read in its own kind's fields."""
    result = []
    for doc in objects:
        kind, version = doc.get("kind"), doc.get("apiVersion")
        spec = doc.get("spec") or {}
        name = doc["metadata"]["name"]
        if kind == "ClusterNetworkPolicy" and version in CNP_VERSIONS:
            tier, priority, old, actions = spec["tier"], spec["priority"], False, CNP_ACTIONS
        elif kind == "AdminNetworkPolicy" and version == ANP_VERSION:
            tier, priority, old, actions = ADMIN, spec["priority"], True, ANP_ACTIONS
        elif kind == "BaselineAdminNetworkPolicy" and version == ANP_VERSION:
            # One object cluster-wide (named "default"), so it needs no priority.
            tier, priority, old, actions = BASELINE, 0, True, BANP_ACTIONS
        else:
            continue

        result.append(
            AdminPolicy(
                f"{kind}/{name}",
                tier,
                priority,
                spec["subject"],
                admin_rules(spec, "ingress", "from", old, actions),
                admin_rules(spec, "egress", "to", old, actions),
            )
        )
    return result


def admin_rules(
    spec: Raw, key: str, peer_key: str, v1alpha1: bool, actions: dict[str, str]
) -> tuple[AdminRule, ...]:
    ports_key = "ports" if v1alpha1 else "protocols"
    for r in spec.get(key) or []:
        if r["action"] not in actions:
            raise ValueError(f"action {r['action']!r} is not one of {sorted(actions)}")
    return tuple(
        AdminRule(
            name=r.get("name", ""),
            action=actions[r["action"]],
            peers=tuple(r[peer_key]),
            ports=tuple(r[ports_key]) if r.get(ports_key) is not None else None,
            v1alpha1=v1alpha1,
        )
        for r in spec.get(key) or []
    )


class AdminReference:
    """Answers connections in one cluster given as raw objects."""

    def __init__(self, objects: list[Raw]) -> None:
        self.namespaces = {
            d["metadata"]["name"]: d for d in objects if d.get("kind") == "Namespace"
        }
        self.pods = {
            f"{d['metadata']['namespace']}/{d['metadata']['name']}": d
            for d in objects
            if d.get("kind") == "Pod"
        }
        self.nodes = [d for d in objects if d.get("kind") == "Node"]
        self.policies = admin_policies(objects)
        self.model_pods = {key: Pod.from_raw(doc) for key, doc in self.pods.items()}
        snapshot = Snapshot(
            facts=ClusterFacts(source="manifests"),
            namespaces=tuple(Namespace.from_raw(d) for d in self.namespaces.values()),
            pods=tuple(self.model_pods.values()),
            network_policies=tuple(
                NetworkPolicy.from_raw(d)
                for d in objects
                if d.get("kind") == "NetworkPolicy"
                and d.get("apiVersion", "networking.k8s.io/v1") == "networking.k8s.io/v1"
            ),
        )
        self.network_policy = Reference(snapshot)

    # --- facts about pods ---------------------------------------------------------

    def namespace_labels(self, name: str) -> dict[str, str]:
        doc = self.namespaces.get(name)
        labels = dict((doc or {}).get("metadata", {}).get("labels") or {})
        labels.setdefault("kubernetes.io/metadata.name", name)
        return labels

    def host_network(self, pod: str) -> bool:
        return bool(self.pods[pod].get("spec", {}).get("hostNetwork"))

    def pod_labels(self, pod: str) -> dict[str, str]:
        return dict(self.pods[pod]["metadata"].get("labels") or {})

    def pod_address(self, pod: str) -> str:
        return str(self.pods[pod]["status"]["podIP"])

    def node_addresses(self, node_selector: Any) -> set[str]:
        chosen = selector(node_selector)
        return {
            entry["address"]
            for node in self.nodes
            if chosen.matches(node["metadata"].get("labels") or {})
            for entry in node.get("status", {}).get("addresses") or []
            if is_ip(entry.get("address", ""))
        }

    def in_namespaces(self, pod: str, namespace_selector: Any) -> bool:
        namespace = pod.split("/")[0]
        return selector(namespace_selector).matches(self.namespace_labels(namespace))

    def namespaced_pod(self, pod: str, raw: Raw) -> bool:
        """NamespacedPod: both selectors, each empty (or, in v1beta1, absent) for all."""
        return self.in_namespaces(pod, raw.get("namespaceSelector")) and selector(
            raw.get("podSelector")
        ).matches(self.pod_labels(pod))

    def subject_selects(self, policy: AdminPolicy, pod: str) -> bool:
        if self.host_network(pod):
            return False
        if "namespaces" in policy.subject:
            return self.in_namespaces(pod, policy.subject["namespaces"])
        return self.namespaced_pod(pod, policy.subject["pods"])

    # --- rules ----------------------------------------------------------------------

    def peer_matches(self, peer: Raw, pod: str | None, address: str) -> bool:
        """One peer against the other end: a pod (and the address used) or an address."""
        if "namespaces" in peer or "pods" in peer:
            if pod is None or self.host_network(pod):
                return False
            if "namespaces" in peer:
                return self.in_namespaces(pod, peer["namespaces"])
            return self.namespaced_pod(pod, peer["pods"])
        if "nodes" in peer:
            return address in self.node_addresses(peer["nodes"])
        if "networks" in peer:
            return any(in_cidr(address, cidr) for cidr in peer["networks"])
        # domainNames need DNS; a peer of no known field is an unknown API version.
        return False

    def ports_match(self, rule: AdminRule, dst: str | None, port: int, protocol: str) -> bool:
        if rule.ports is None:
            return True
        return any(self.port_entry_matches(e, rule, dst, port, protocol) for e in rule.ports)

    def port_entry_matches(
        self, entry: Raw, rule: AdminRule, dst: str | None, port: int, protocol: str
    ) -> bool:
        if rule.v1alpha1:
            if "namedPort" in entry:
                return self.named_port(dst, entry["namedPort"], port, protocol)
            if "portNumber" in entry:
                number = entry["portNumber"]
                return number.get("protocol", "TCP") == protocol and int(number["port"]) == port
            span = entry["portRange"]
            return span.get("protocol", "TCP") == protocol and (
                int(span["start"]) <= port <= int(span["end"])
            )
        if "destinationNamedPort" in entry:
            return self.named_port(dst, entry["destinationNamedPort"], port, protocol)
        attributes = entry.get(protocol.lower())
        if attributes is None:
            return False
        destination = attributes.get("destinationPort")
        if destination is None:
            return True
        if "number" in destination:
            return int(destination["number"]) == port
        span = destination["range"]
        return int(span["start"]) <= port <= int(span["end"])

    def named_port(self, dst: str | None, name: str, port: int, protocol: str) -> bool:
        if dst is None:
            return False
        return any(
            p.get("name") == name
            and p.get("protocol", "TCP") == protocol
            and p["containerPort"] == port
            for container in self.pods[dst]["spec"].get("containers") or []
            for p in container.get("ports") or []
        )

    # --- tiers ----------------------------------------------------------------------

    def tier_decision(
        self,
        tier: str,
        subject: str,
        direction: str,
        peer_pod: str | None,
        address: str,
        dst: str | None,
        port: int,
        protocol: str,
    ) -> tuple[str, Decision] | None:
        """The first matching rule's action in `tier`, or None when no rule matches.

        Policies go by ascending priority; within one priority every policy's first
        matching rule is found, and when they differ the spec lets the implementation
        apply any of them: the first by name is taken and the decision marked ambiguous.
        """
        chosen = sorted(
            (p for p in self.policies if p.tier == tier and self.subject_selects(p, subject)),
            key=lambda p: (p.priority, p.ref),
        )
        for priority in sorted({p.priority for p in chosen}):
            matches: list[tuple[AdminPolicy, AdminRule]] = []
            for policy in (p for p in chosen if p.priority == priority):
                for rule in policy.ingress if direction == "ingress" else policy.egress:
                    if self.ports_match(rule, dst, port, protocol) and any(
                        self.peer_matches(peer, peer_pod, address) for peer in rule.peers
                    ):
                        matches.append((policy, rule))
                        break
            if matches:
                policy, rule = matches[0]
                ambiguous = len({r.action for _, r in matches}) > 1
                return rule.action, Decision(
                    rule.action == "Accept",
                    tier,
                    policy.ref,
                    rule.name,
                    ambiguous,
                    len(matches) > 1,
                )
        return None

    def network_policy_decision(
        self, direction: str, src: str, dst: str | None, address: str, port: int, protocol: str
    ) -> Decision | None:
        """The NetworkPolicy tier: None when no NetworkPolicy isolates the pod."""
        reference = self.network_policy
        proto = Protocol(protocol)
        if direction == "egress":
            source = self.model_pods[src]
            if not reference.selecting(source, "Egress"):
                return None
            if dst is None:
                allowed = reference.address_allowed(source, address, port, proto)
            else:
                target = self.model_pods[dst]
                allowed = any(
                    reference.egress_allows(source, target, port, proto, family)
                    for family in FAMILIES
                )
        else:
            assert dst is not None
            target = self.model_pods[dst]
            if not reference.selecting(target, "Ingress"):
                return None
            source = self.model_pods[src]
            allowed = any(
                reference.ingress_allows(source, target, port, proto, family) for family in FAMILIES
            )
        return Decision(allowed, NETWORK_POLICY)

    def direction(
        self,
        direction: str,
        src: str,
        dst: str | None,
        address: str,
        port: int,
        protocol: str,
    ) -> Decision:
        subject, peer_pod = (src, dst) if direction == "egress" else (dst, src)
        assert subject is not None
        tier_args = (subject, direction, peer_pod, address, dst, port, protocol)
        admin = self.tier_decision(ADMIN, *tier_args)
        if admin is not None and admin[0] != "Pass":
            return admin[1]
        network_policy = self.network_policy_decision(direction, src, dst, address, port, protocol)
        if network_policy is not None:
            return network_policy
        baseline = self.tier_decision(BASELINE, *tier_args)
        if baseline is not None and baseline[0] != "Pass":
            return baseline[1]
        ambiguous = any(d is not None and d[1].ambiguous for d in (admin, baseline))
        return Decision(True, DEFAULT, ambiguous=ambiguous)

    # --- questions ------------------------------------------------------------------

    def check(
        self, src: str, dst: str | None, port: int, protocol: str, address: str | None = None
    ) -> Verdict:
        """May pod `src` ("namespace/name") open a connection to pod `dst` (or, with
        `dst` None, to `address` outside any pod) on `port`/`protocol`?"""
        if address is None:
            assert dst is not None
            address = self.pod_address(dst)
        egress = (
            Decision(True, DEFAULT)
            if self.host_network(src)
            else self.direction("egress", src, dst, address, port, protocol)
        )
        if dst is None or self.host_network(dst):
            # Host-networked destinations are no subject of any tier: nothing filters ingress.
            ingress = Decision(True, DEFAULT)
        else:
            ingress = self.direction("ingress", src, dst, address, port, protocol)
        return Verdict(egress.allowed and ingress.allowed, egress, ingress)


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def in_cidr(address: str, cidr: str) -> bool:
    ip = ipaddress.ip_address(address)
    network = ipaddress.ip_network(cidr, strict=False)
    return ip.version == network.version and ip in network
