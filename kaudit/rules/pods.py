"""Pod rules: the host's network, host ports, the cloud metadata endpoint, DNS search fan-out."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from kaudit.findings import Severity
from kaudit.jsontypes import JsonArray, JsonObject, json_array
from kaudit.kube import METADATA_ADDRESSES, PRIMARY_METADATA_ADDRESSES
from kaudit.model import ObjectRef, Pod, PolicyRule, Resource
from kaudit.netpol.verdict import NETWORK_POLICY_TIER
from kaudit.rules.common import (
    ENGINE_KINDS,
    K8S_NETPOL,
    group_by_workload,
    listed,
    members,
    plural,
    selector_labels,
    workload_names,
)
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, Rule, rule
from kaudit.rules.remediation import (
    manifest,
    network_policy,
    peer_raw,
    pod_spec_patch,
    port_raw,
    selector_raw,
    to_yaml,
)

if TYPE_CHECKING:
    from kaudit.netpol.verdict import PolicyRuleRef, Verdict

K8S_POD_DNS = "https://kubernetes.io/docs/concepts/services-networking/dns-pod-service/"


def _live_pods(ctx: AuditContext) -> Iterator[Pod]:
    for pods in ctx.pods_by_namespace.values():
        yield from pods


# --- KA401 ---------------------------------------------------------------------------------


@rule(
    id="KA401",
    name="pod-host-network",
    title="Pod uses the node's network namespace (hostNetwork)",
    severity=Severity.HIGH,
    category="pod",
    rationale="""
        A hostNetwork pod shares the node's network stack: NetworkPolicy does not apply
        to it, its ports open on the node's addresses, and it can see and bind every
        interface of the node, including traffic of other pods and the node's own
        services (kubelet, metadata endpoint).
    """,
    remediation="""
        Remove hostNetwork: true unless the pod is node infrastructure (CNI agent,
        kube-proxy, node exporters). Expose the workload through a Service instead;
        where host networking is truly needed, restrict it with Pod Security
        Admission (baseline forbids it) and firewall the node.
    """,
    references=(
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/",
        K8S_NETPOL,
    ),
    needs=(Resource.PODS,),
)
def pod_host_network(ctx: AuditContext) -> Iterator[Hit]:
    pods = [p for p in _live_pods(ctx) if p.host_network]
    for ref, group in group_by_workload(pods).items():
        ports = sorted({f"{cp.container_port}/{cp.protocol}" for p in group for cp in p.ports})
        port_note = f", listening on the node's {', '.join(ports)}" if ports else ""
        yield Hit(
            ref,
            f"{ref.kind} {ref.namespace}/{ref.name} runs {plural(len(group), 'pod')} on the "
            f"node's network (hostNetwork){port_note}: NetworkPolicy does not apply to "
            f"{'it' if len(group) == 1 else 'them'}.",
            {
                **members(group),
                "ports": json_array(ports),
                "nodes": json_array(listed(p.node_name or "" for p in group if p.node_name)),
            },
            origin=group[0].origin,
        )


# --- KA402 ---------------------------------------------------------------------------------


@rule(
    id="KA402",
    name="pod-host-port",
    title="Pod binds a port on the node (hostPort)",
    severity=Severity.MEDIUM,
    category="pod",
    rationale="""
        A hostPort opens the container port on the node's address. Anyone who can reach
        the node reaches the pod, around Services and Ingress; many CNIs apply no
        NetworkPolicy to hostPort traffic, and the port limits scheduling to one such
        pod per node.
    """,
    remediation="""
        Drop hostPort and expose the pod through a Service (ClusterIP behind an Ingress,
        or LoadBalancer where needed).
    """,
    references=("https://kubernetes.io/docs/concepts/configuration/overview/#services",),
    needs=(Resource.PODS,),
)
def pod_host_port(ctx: AuditContext) -> Iterator[Hit]:
    pods = [p for p in _live_pods(ctx) if any(cp.host_port for cp in p.ports)]
    for ref, group in group_by_workload(pods).items():
        bindings = sorted(
            {
                (cp.host_port or 0, cp.container_port, str(cp.protocol))
                for p in group
                for cp in p.ports
                if cp.host_port
            }
        )
        text = ", ".join(f"{host}->{port}/{proto}" for host, port, proto in bindings)
        yield Hit(
            ref,
            f"{ref.kind} {ref.namespace}/{ref.name} binds node port{'s' if len(bindings) > 1 else ''} "
            f"{text} (hostPort{', with hostNetwork' if group[0].host_network else ''}): "
            f"reachable on every node address it runs on, around Services and Ingress.",
            {
                **members(group),
                "hostPorts": [
                    {"hostPort": h, "containerPort": c, "protocol": proto}
                    for h, c, proto in bindings
                ],
                "hostNetwork": group[0].host_network,
            },
            origin=group[0].origin,
        )


# --- KA403 ---------------------------------------------------------------------------------


def _metadata_except(cidr: str) -> list[str]:
    """The metadata addresses inside `cidr`, as /32 or /128 exceptions."""
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return []
    inside = []
    for address in METADATA_ADDRESSES:
        ip = ipaddress.ip_address(address)
        if ip.version == network.version and ip in network:
            inside.append(f"{address}/{32 if ip.version == 4 else 128}")
    return inside


def _everything_but_metadata() -> JsonArray:
    """`to` peers allowing every destination except the metadata addresses.

    The namespaceSelector peer keeps in-cluster traffic allowed on CNIs where
    ipBlock does not match pod IPs (Cilium, for one).
    """
    return [
        {"ipBlock": {"cidr": "0.0.0.0/0", "except": json_array(_metadata_except("0.0.0.0/0"))}},
        {"ipBlock": {"cidr": "::/0", "except": json_array(_metadata_except("::/0"))}},
        {"namespaceSelector": {}},
    ]


def _blocking_egress(namespace: str, labels: Mapping[str, str] | None) -> JsonObject:
    """An egress policy for the pods allowing everything except the metadata addresses."""
    return network_policy(
        "deny-cloud-metadata",
        namespace,
        {"policyTypes": ["Egress"], "egress": [{"to": _everything_but_metadata()}]},
        labels,
    )


def _patched_policy_rules(
    ctx: AuditContext, policy_rule_refs: Iterable[PolicyRuleRef]
) -> list[JsonObject]:
    """The allowing egress policy rules rewritten with the metadata addresses excepted."""
    by_ref = {p.ref: p for p in ctx.snapshot.network_policies}
    patched: dict[ObjectRef, dict[int, JsonObject]] = {}
    for ref in policy_rule_refs:
        policy = by_ref.get(ref.policy)
        if policy is None or ref.rule_index >= len(policy.egress):
            continue
        policy_rule = policy.egress[ref.rule_index]
        peers: JsonArray = []
        if not policy_rule.peers:
            peers = _everything_but_metadata()
        for peer in policy_rule.peers:
            raw = peer_raw(peer)
            if peer.ip_block is not None:
                holes = [
                    h
                    for h in _metadata_except(peer.ip_block.cidr)
                    if h not in peer.ip_block.except_
                ]
                if holes:
                    raw["ipBlock"] = {
                        "cidr": peer.ip_block.cidr,
                        "except": json_array([*peer.ip_block.except_, *holes]),
                    }
            peers.append(raw)
        fixed: JsonObject = {"to": peers}
        if policy_rule.ports:
            fixed["ports"] = [port_raw(p) for p in policy_rule.ports]
        patched.setdefault(policy.ref, {})[ref.rule_index] = fixed
    documents: list[JsonObject] = []
    for policy_ref in sorted(patched):
        policy = by_ref[policy_ref]
        egress = [
            patched[policy_ref].get(index) or _policy_rule_raw(policy_rule)
            for index, policy_rule in enumerate(policy.egress)
        ]
        documents.append(
            manifest(
                "NetworkPolicy",
                policy.name,
                policy.namespace,
                {
                    "podSelector": selector_raw(policy.pod_selector),
                    "policyTypes": json_array(sorted(policy.policy_types)),
                    "egress": json_array(egress),
                },
            )
        )
    return documents


def _policy_rule_raw(policy_rule: PolicyRule) -> JsonObject:
    raw: JsonObject = {}
    if policy_rule.peers:
        raw["to"] = [peer_raw(p) for p in policy_rule.peers]
    if policy_rule.ports:
        raw["ports"] = [port_raw(p) for p in policy_rule.ports]
    return raw


@rule(
    id="KA403",
    name="pod-metadata-reachable",
    title="Pod can reach the cloud metadata endpoint",
    severity=Severity.HIGH,
    category="pod",
    rationale="""
        The cloud instance-metadata service (169.254.169.254, fd00:ec2::254 on AWS IPv6,
        100.100.100.200 on Alibaba) hands out the node's credentials and bootstrap
        secrets. A compromised pod that can reach it can often act as the node in the
        cloud account. Only NetworkPolicy egress rules (or the cloud's metadata
        hardening, such as IMDSv2 with a hop limit of 1) stop it. hostNetwork pods are
        reported too, at medium severity: NetworkPolicy does not apply to them, so the
        node's own rules decide whether they reach it.
    """,
    remediation="""
        Give the pods an egress policy whose ipBlock excludes the metadata addresses
        (below), and remove any egress rule that allows them. Also enable the cloud's
        protection: IMDSv2 with hop limit 1 on AWS, Workload Identity / metadata
        concealment on GKE.
    """,
    references=(
        K8S_NETPOL + "#ipblock",
        "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-service.html",
    ),
    needs=ENGINE_KINDS,
)
def pod_metadata_reachable(ctx: AuditContext) -> Iterator[Hit]:
    reachable: dict[str, list[tuple[str, int, Verdict]]] = {}
    pods = []
    # A pod's egress depends only on its namespace and labels: ask once per label set.
    answers: dict[tuple[str, frozenset[tuple[str, str]]], list[tuple[str, int, Verdict]]] = {}
    host_pods = []
    for pod in _live_pods(ctx):
        if pod.host_network:
            host_pods.append(pod)  # outside NetworkPolicy: reported apart, below
            continue
        key = (pod.namespace, frozenset(pod.labels.items()))
        if key not in answers:
            answers[key] = [a for a in ctx.engine.metadata_access(pod) if a[2].allowed]
        open_endpoints = answers[key]
        # The provider-specific addresses alone (ECS, Alibaba) are listed, not reported.
        if any(address in PRIMARY_METADATA_ADDRESSES for address, _, _ in open_endpoints):
            reachable[pod.key] = open_endpoints
            pods.append(pod)
    for ref, group in group_by_workload(pods).items():
        endpoints = reachable[group[0].key]
        addresses = [f"{address}:{port}" for address, port, _ in endpoints]
        egress = endpoints[0][2].egress
        allowing = sorted(
            {r for _, _, v in endpoints if v.egress for r in v.egress.allowing_policy_rules}
        )
        isolated = bool(egress and egress.isolating_policies)
        by_tiers = [r for r in allowing if r.tier != NETWORK_POLICY_TIER]
        if by_tiers:  # an admin policy's Accept: its owner, not a NetworkPolicy, must change
            why = "allowed by " + ", ".join(str(r) for r in by_tiers)
            remediation = None
        elif isolated:
            why = "allowed by " + ", ".join(str(r) for r in allowing)
            documents = _patched_policy_rules(ctx, allowing)
            remediation = (
                "Except the metadata addresses from the egress rules that allow them:\n\n"
                + to_yaml(*documents)
                if documents
                else None
            )
        else:
            why = "no NetworkPolicy restricts its egress"
            labels = selector_labels(group[0].labels)
            remediation = (
                "Restrict egress for these pods, allowing everything but the metadata "
                "addresses (and keep DNS and in-cluster traffic):\n\n"
                + to_yaml(_blocking_egress(ref.namespace, labels))
            )
        yield Hit(
            ref,
            f"{ref.kind} {ref.namespace}/{ref.name} ({plural(len(group), 'pod')}) can reach the "
            f"cloud metadata endpoint {', '.join(addresses)} ({why}): a compromised pod can "
            f"read the node's cloud credentials.",
            {
                **members(group),
                "reachable": [
                    {"address": a, "port": p, "reason": str(v.reason)} for a, p, v in endpoints
                ],
                "egressPolicies": [p.qualified_name for p in egress.isolating_policies]
                if egress
                else [],
                "allowingRules": [r.to_dict() for r in allowing],
            },
            remediation=remediation,
            origin=group[0].origin,
        )
    yield from _host_network_metadata(ctx, host_pods)


def _host_network_metadata(ctx: AuditContext, host_pods: list[Pod]) -> Iterator[Hit]:
    """hostNetwork pods reach the metadata endpoint as the node does: no NetworkPolicy
    applies to them, so only the node's own rules decide."""
    for ref, group in group_by_workload(host_pods).items():
        endpoints = [a for a in ctx.engine.metadata_access(group[0]) if a[2].allowed]
        if not any(address in PRIMARY_METADATA_ADDRESSES for address, _, _ in endpoints):
            continue
        addresses = [f"{address}:{port}" for address, port, _ in endpoints]
        yield Hit(
            ref,
            f"{ref.kind} {ref.namespace}/{ref.name} ({plural(len(group), 'pod')}) uses the "
            f"node's network, where NetworkPolicy does not apply: whether it reaches the cloud "
            f"metadata endpoint {', '.join(addresses)} is for the node's own rules to decide "
            f"(its firewall, the cloud's metadata settings).",
            {
                **members(group),
                "hostNetwork": True,
                "reachable": [
                    {"address": a, "port": p, "reason": str(v.reason)} for a, p, v in endpoints
                ],
            },
            remediation="NetworkPolicy cannot help here. Block the metadata addresses for "
            "this workload on the node (a host firewall rule), give the node's cloud identity "
            "only what the node needs, and drop hostNetwork if the workload can do without "
            "it. An IMDSv2 hop limit of 1 does not stop processes in the node's network.",
            severity=Severity.MEDIUM,
            origin=group[0].origin,
        )


# --- KA404 ---------------------------------------------------------------------------------

DEFAULT_NDOTS = 5


def _uses_default_ndots(pod: Pod) -> bool:
    cluster_dns = pod.dns_policy == "ClusterFirstWithHostNet" or (
        pod.dns_policy == "ClusterFirst" and not pod.host_network
    )
    return cluster_dns and (pod.ndots is None or pod.ndots >= DEFAULT_NDOTS)


@rule(
    id="KA404",
    name="pod-default-ndots",
    title="Pods resolve names with the default ndots:5",
    severity=Severity.INFO,
    category="pod",
    rationale="""
        With the cluster DNS and the default ndots:5, any name with fewer than five dots
        is first tried with each search domain: api.stripe.com becomes
        api.stripe.com.NAMESPACE.svc.cluster.local, then .svc.cluster.local, then
        .cluster.local, then the real name. Every external lookup costs four or five
        queries (twice that with IPv6 AAAA lookups), loading CoreDNS and adding latency.
    """,
    remediation="""
        Set dnsConfig.options ndots to 2 (in-cluster short names such as `db` or
        `db.other-ns` keep working), or write external names with a trailing dot
        (api.stripe.com.).
    """,
    references=(K8S_POD_DNS + "#pod-dns-config",),
    needs=(Resource.PODS,),
)
def pod_default_ndots(ctx: AuditContext) -> Iterator[Hit]:
    for namespace in sorted(ctx.pods_by_namespace):
        pods = [p for p in ctx.pods_by_namespace[namespace] if _uses_default_ndots(p)]
        if not pods:
            continue
        workloads = workload_names(pods)
        evidence: JsonObject = {
            "podCount": len(pods),
            "workloads": json_array(workloads),
            "ndots": DEFAULT_NDOTS,
        }
        first = next(iter(group_by_workload(pods)))
        example = pod_spec_patch(
            first, {"dnsConfig": {"options": [{"name": "ndots", "value": "2"}]}}
        )
        yield Hit(
            ctx.snapshot.namespace(namespace).ref,
            f"{plural(len(pods), 'pod')} in namespace {namespace} "
            f"({plural(len(workloads), 'workload')}) use the cluster DNS with ndots:5: every "
            f"lookup of an external name with fewer than 5 dots is first tried against "
            f"each search domain (4-5 queries instead of 1).",
            evidence,
            remediation=(
                "Lower ndots in each workload's pod template (or use trailing dots on "
                "external names):\n\n" + to_yaml(example)
            ),
            origin=pods[0].origin,
        )


RULES: tuple[Rule, ...] = (
    pod_host_network,
    pod_host_port,
    pod_metadata_reachable,
    pod_default_ndots,
)
