"""DNS under egress policy: pods whose egress isolation cuts them off the cluster DNS."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from kaudit.findings import Severity
from kaudit.jsontypes import json_array
from kaudit.model import NetworkPolicy, Pod, PolicyPort
from kaudit.rules.common import (
    ENGINE_KINDS,
    K8S_NETPOL,
    application_pods,
    dns_target,
    group_by_workload,
    listed,
    namespaces_with_pods,
)
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, Rule, rule
from kaudit.rules.remediation import dns_egress_rule, network_policy, to_yaml

if TYPE_CHECKING:
    from kaudit.netpol import DnsAccess, PolicyRuleRef

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
    needs=ENGINE_KINDS,
)
def egress_blocks_dns(ctx: AuditContext) -> Iterator[Hit]:
    dns_namespace, dns_labels = dns_target(ctx)
    blocked: list[tuple[Pod, DnsAccess]] = []
    for namespace in namespaces_with_pods(ctx):
        for pod in application_pods(ctx, namespace):
            if pod.dns_policy not in ("ClusterFirst", "ClusterFirstWithHostNet"):
                continue  # the pod does not use the cluster DNS
            egress_isolated = ctx.engine.isolation(pod).egress_isolated
            if not egress_isolated and not ctx.snapshot.admin_policies:
                continue
            access = ctx.engine.dns_access(pod)
            if access.udp and access.tcp:
                continue
            if not egress_isolated and not _tier_denials(access):
                continue  # refused by the DNS pods' own NetworkPolicies: not this rule's case
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
        denials = _tier_denials(access)
        if denials:  # an admin or baseline policy rule refuses it
            why = (
                f"{ref.kind} {ref.namespace}/{ref.name} may not reach the cluster DNS on "
                f"{what}{partial}{stand_in}: refused by {', '.join(map(str, denials))}."
            )
        else:
            why = (
                f"{ref.kind} {ref.namespace}/{ref.name} is isolated for egress by "
                f"{', '.join(p.qualified_name for p in egress_policies)}, and no rule lets it "
                f"reach the cluster DNS on {what}{partial}{stand_in}."
            )
        yield Hit(
            ref,
            why + block_note,
            {
                "podCount": len(group),
                "pods": json_array(listed(p.name for p in group)),
                "udp53": udp,
                "tcp53": tcp,
                "dnsPods": [p.qualified_name for p in access.dns_pods],
                "egressPolicies": [p.qualified_name for p in egress_policies],
                "policiesWithIpBlocks": json_array(with_blocks),
            },
            remediation="Allow DNS for these pods (or for the whole namespace):\n\n"
            + to_yaml(
                network_policy(
                    "allow-dns-egress",
                    ref.namespace,
                    {
                        "policyTypes": ["Egress"],
                        "egress": [dns_egress_rule(dns_namespace, dns_labels)],
                    },
                )
            ),
            severity=severity,
            origin=group[0].origin,
        )


def _tier_denials(access: DnsAccess) -> list[PolicyRuleRef]:
    """The deny rules (of the admin and baseline tiers) deciding a refused DNS verdict."""
    found: dict[PolicyRuleRef, None] = {}
    for verdict in (*access.udp_verdicts, *access.tcp_verdicts):
        for side in (verdict.egress, verdict.ingress):
            if side is not None and not side.allowed:
                found.update(dict.fromkeys(side.denying_policy_rules))
    return list(found)


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
    """An egress policy rule open to port 53 whose ipBlock overlaps the usual pod address ranges."""
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


RULES: tuple[Rule, ...] = (egress_blocks_dns,)
