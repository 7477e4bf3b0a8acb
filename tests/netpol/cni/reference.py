"""A deliberately simple evaluator of Cilium and Calico policies together with
Kubernetes NetworkPolicy, written from their documentation, pod by pod.

No classes, no bitsets. The Kubernetes NetworkPolicy part is tests/netpol/reference.py;
only the model types (and their selector `matches`) are shared with the engine.

Cilium (docs.cilium.io/en/stable/security/policy/):
- intro, "Endpoint default policy": an endpoint selected by a rule with an ingress
  (egress) section is default-deny for ingress (egress); rules with
  enableDefaultDeny off for a direction do not count;
- deny, "Deny Policies": deny takes precedence over allow, whatever the kind
  (CiliumNetworkPolicy, clusterwide, Kubernetes NetworkPolicy); Kubernetes
  NetworkPolicy is enforced by Cilium too: its allows unite with Cilium's, and a pod
  it selects is default-deny for the direction as well;
- layer3, "Entities based": `all` and `cluster` hold every pod; `world` and the
  CIDR rules hold addresses outside the cluster, never pods ("Only connections
  destined for outside of the cluster ... will be subject to CIDR rules");
- layer3, "Services based": toServices uses the Service's selector as an endpoint
  selector;
- layer4: a port rule with protocol ANY (or none) matches TCP, UDP and SCTP;
  layer7: the L7 rules are enforced after the L4 part admits: at L4 they admit.

Calico (docs.tigera.io, Calico: "Get started with policy tiers", Tier,
NetworkPolicy and GlobalNetworkPolicy references, "Calico automatic labels"):
- tiers in ascending order (no order: last), the default tier at 1,000,000; a tier
  with no policy applying to the endpoint is skipped;
- inside a tier, policies in ascending order (no order: last, then by name); the
  first rule that matches decides: Allow and Deny end it, Pass goes to the next
  tier, Log goes on to the next rule;
- a tier applying to the endpoint that decides nothing ends with its default
  action: Deny (the implicit end-of-tier deny) or Pass;
- after the last tier (or with no tier applying), the endpoint's profiles decide:
  the Kubernetes namespace profile allows;
- Kubernetes NetworkPolicies sit in the default tier with order 1000, named
  `knp.default.<name>`, their rules all Allow;
- pods carry `projectcalico.org/namespace`, `projectcalico.org/orchestrator` and
  `projectcalico.org/serviceaccount`; namespaces and ServiceAccounts carry
  `projectcalico.org/name`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from kaudit.kube import NAMESPACE_NAME_LABEL
from kaudit.model import NetworkPolicy, Pod, Protocol, Snapshot
from kaudit.model.cni import calico as cal
from kaudit.model.cni import cilium as cil
from tests.netpol.reference import Reference

FAMILY = 4
_PORT_PROTOCOLS = {"TCP", "UDP", "SCTP"}


class CniReference:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.kubernetes = Reference(snapshot)
        self.namespace_labels = {ns.name: dict(ns.labels) for ns in snapshot.namespaces}
        self.account_labels = {
            (a.namespace, a.name): dict(a.labels) for a in snapshot.service_accounts
        }
        self.calico_mode = bool(snapshot.calico_policies or snapshot.calico_tiers)

    def pod(self, key: str) -> Pod:
        return next(p for p in self.snapshot.pods if p.key == key)

    def ns_labels(self, namespace: str) -> dict[str, str]:
        return self.namespace_labels.get(namespace, {NAMESPACE_NAME_LABEL: namespace})

    def allowed(self, src: Pod, dst: Pod, port: int, protocol: Protocol) -> bool:
        if src.key == dst.key:
            return True
        if self.calico_mode:
            return self.calico_side(src, dst, port, protocol, egress=True) and self.calico_side(
                dst, src, port, protocol, egress=False
            )
        return self.cilium_side(src, dst, port, protocol, egress=True) and self.cilium_side(
            dst, src, port, protocol, egress=False
        )

    # --- Cilium ---------------------------------------------------------------------------

    def endpoint_labels(self, pod: Pod) -> dict[str, str]:
        return dict(
            cil.endpoint_labels(
                pod.labels, pod.namespace, self.ns_labels(pod.namespace), pod.service_account
            )
        )

    def cilium_side(
        self, subject: Pod, peer: Pod, port: int, protocol: Protocol, *, egress: bool
    ) -> bool:
        direction = "Egress" if egress else "Ingress"
        src, dst = (subject, peer) if egress else (peer, subject)
        kube_isolated = bool(self.kubernetes.selecting(subject, direction))
        kube_allows = kube_isolated and (
            self.kubernetes.egress_allows(src, dst, port, protocol, FAMILY)
            if egress
            else self.kubernetes.ingress_allows(src, dst, port, protocol, FAMILY)
        )
        isolated, allowed, denied = kube_isolated, kube_allows, False
        subject_labels = self.endpoint_labels(subject)
        for policy in self.snapshot.cilium_policies:
            for spec in policy.specs:
                if spec.subject is None or not spec.subject.matches_pod(
                    subject_labels, subject.namespace
                ):
                    continue
                isolated |= spec.default_deny_egress if egress else spec.default_deny_ingress
                for rule in spec.egress if egress else spec.ingress:
                    if self.cilium_rule_matches(rule, peer, dst, port, protocol):
                        if rule.deny:
                            denied = True
                        else:
                            allowed = True
        return not denied and (allowed or not isolated)

    def cilium_rule_matches(
        self, rule: cil.CiliumPolicyRule, peer: Pod, dst: Pod, port: int, protocol: Protocol
    ) -> bool:
        if rule.matches_nothing:
            return False
        if not rule.all_peers and not self.cilium_peer_matches(rule, peer):
            return False
        if not rule.ports:
            return True
        return any(
            not port_rule.ports
            or any(self.cilium_port_matches(p, dst, port, protocol) for p in port_rule.ports)
            for port_rule in rule.ports
        )

    def cilium_peer_matches(self, rule: cil.CiliumPolicyRule, peer: Pod) -> bool:
        labels = self.endpoint_labels(peer)
        if rule.endpoints and any(s.matches_pod(labels, peer.namespace) for s in rule.endpoints):
            return True
        if any(e in cil.POD_ENTITIES for e in rule.entities):
            return True
        for ref in rule.services:
            for service in self.snapshot.services:
                if service.namespace != ref.namespace or not service.has_selector:
                    continue
                if ref.name is not None and service.name != ref.name:
                    continue
                if ref.selector is not None and not ref.selector.matches(service.labels):
                    continue
                if peer.namespace == service.namespace and all(
                    peer.labels.get(k) == v for k, v in service.selector.items()
                ):
                    return True
        return False  # CIDRs, FQDNs, world: never a pod

    @staticmethod
    def cilium_port_matches(
        entry: cil.PortProtocol, dst: Pod, port: int, protocol: Protocol
    ) -> bool:
        if entry.protocol == "ANY":
            if protocol.value not in _PORT_PROTOCOLS:
                return False
        elif entry.protocol != protocol.value:
            return False
        if entry.port is None:
            return True
        if isinstance(entry.port, str):
            return any(
                p.name == entry.port and p.container_port == port and p.protocol == protocol
                for p in dst.ports
            )
        return entry.port <= port <= (entry.end_port or entry.port)

    # --- Calico ---------------------------------------------------------------------------

    def calico_pod_labels(self, pod: Pod) -> dict[str, str]:
        return {
            **pod.labels,
            "projectcalico.org/namespace": pod.namespace,
            "projectcalico.org/orchestrator": "k8s",
            "projectcalico.org/serviceaccount": pod.service_account,
        }

    def calico_ns_labels(self, namespace: str) -> dict[str, str]:
        return {**self.ns_labels(namespace), cal.NAME_LABEL: namespace}

    def calico_account_labels(self, pod: Pod) -> dict[str, str]:
        labels = self.account_labels.get((pod.namespace, pod.service_account), {})
        return {**labels, cal.NAME_LABEL: pod.service_account}

    def tiers(self) -> list[cal.Tier]:
        named = {t.name: t for t in self.snapshot.calico_tiers}
        named.setdefault(cal.DEFAULT_TIER, cal.DEFAULT_TIER_OBJECT)
        for policy in self.snapshot.calico_policies:
            named.setdefault(policy.tier, cal.Tier(policy.tier, None, cal.Action.DENY))
        return sorted(named.values(), key=lambda t: t.sort_key)

    def calico_applies(self, policy: cal.CalicoPolicy, pod: Pod, direction: str) -> bool:
        if not policy.enforced or direction not in policy.types:
            return False
        if policy.is_global:
            if policy.namespace_selector is not None and not policy.namespace_selector.matches(
                self.calico_ns_labels(pod.namespace)
            ):
                return False
        elif policy.namespace != pod.namespace:
            return False
        return policy.selector.matches(
            self.calico_pod_labels(pod)
        ) and policy.service_account_selector.matches(self.calico_account_labels(pod))

    def calico_side(
        self, subject: Pod, peer: Pod, port: int, protocol: Protocol, *, egress: bool
    ) -> bool:
        direction = "Egress" if egress else "Ingress"
        src, dst = (subject, peer) if egress else (peer, subject)
        for tier in self.tiers():
            entries: list[tuple[tuple[float, str], cal.CalicoPolicy | NetworkPolicy]] = []
            for policy in self.snapshot.calico_policies:
                if policy.tier == tier.name and self.calico_applies(policy, subject, direction):
                    order = policy.order if policy.order is not None else float("inf")
                    entries.append(((order, policy.name), policy))
            if tier.name == cal.DEFAULT_TIER:
                for kube in self.kubernetes.selecting(subject, direction):
                    entries.append(
                        ((cal.KUBERNETES_POLICY_ORDER, f"knp.default.{kube.name}"), kube)
                    )
            if not entries:
                continue
            decision = self.calico_tier_decision(
                [e for _, e in sorted(entries, key=lambda e: e[0])],
                src,
                dst,
                port,
                protocol,
                egress=egress,
            )
            if decision is None:
                decision = tier.default_action
            if decision is cal.Action.PASS:
                continue
            return decision is cal.Action.ALLOW
        return True  # the namespace profile allows

    def calico_tier_decision(
        self,
        entries: Iterable[cal.CalicoPolicy | NetworkPolicy],
        src: Pod,
        dst: Pod,
        port: int,
        protocol: Protocol,
        *,
        egress: bool,
    ) -> cal.Action | None:
        for entry in entries:
            if isinstance(entry, cal.CalicoPolicy):
                for rule in entry.egress if egress else entry.ingress:
                    if rule.action is not cal.Action.LOG and self.calico_rule_matches(
                        entry, rule, src, dst, port, protocol
                    ):
                        return rule.action
                continue
            # A Kubernetes NetworkPolicy: its rules all allow.
            rules = entry.egress if egress else entry.ingress
            peer = dst if egress else src
            if any(
                self.kubernetes.policy_rule_allows(entry, r, peer, dst, port, protocol, FAMILY)
                for r in rules
            ):
                return cal.Action.ALLOW
        return None

    def calico_rule_matches(
        self,
        policy: cal.CalicoPolicy,
        rule: cal.CalicoRule,
        src: Pod,
        dst: Pod,
        port: int,
        protocol: Protocol,
    ) -> bool:
        if rule.protocol is not None and rule.protocol != protocol.value:
            return False
        if rule.not_protocol is not None and rule.not_protocol == protocol.value:
            return False
        if rule.ip_version == 6:
            return False  # the pods here are IPv4
        return self.calico_entity_matches(
            policy, rule.source, src, None, protocol
        ) and self.calico_entity_matches(policy, rule.destination, dst, port, protocol)

    def calico_entity_matches(
        self,
        policy: cal.CalicoPolicy,
        entity: cal.EntityRule,
        pod: Pod,
        port: int | None,
        protocol: Protocol,
    ) -> bool:
        ips = [ipaddress.ip_address(ip) for ip in pod.pod_ips]
        if entity.nets and not any(
            ip in ipaddress.ip_network(n) for n in entity.nets for ip in ips
        ):
            return False
        if any(ip in ipaddress.ip_network(n) for n in entity.not_nets for ip in ips):
            return False
        if entity.namespace_selector is not None:
            in_scope = entity.namespace_selector.matches(self.calico_ns_labels(pod.namespace))
        else:
            in_scope = policy.is_global or pod.namespace == policy.namespace
        labels = self.calico_pod_labels(pod)
        restricted = (
            entity.selector is not None
            or entity.namespace_selector is not None
            or entity.service_account_names
            or entity.service_account_selector is not None
        )
        if restricted and not in_scope:
            return False
        if entity.selector is not None and not entity.selector.matches(labels):
            return False
        if entity.not_selector is not None and in_scope and entity.not_selector.matches(labels):
            return False
        if entity.service_account_names and pod.service_account not in entity.service_account_names:
            return False
        if (
            entity.service_account_selector is not None
            and not entity.service_account_selector.matches(self.calico_account_labels(pod))
        ):
            return False
        if port is None:  # source ports are not asked about
            return not entity.ports
        if entity.ports and not any(self.calico_port(m, pod, port, protocol) for m in entity.ports):
            return False
        return not any(self.calico_port(m, pod, port, protocol) for m in entity.not_ports)

    @staticmethod
    def calico_port(match: cal.PortMatch, pod: Pod, port: int, protocol: Protocol) -> bool:
        if match.name is not None:
            return any(
                p.name == match.name and p.container_port == port and p.protocol == protocol
                for p in pod.ports
            )
        return match.first <= port <= match.last
