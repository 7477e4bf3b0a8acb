"""A deliberately simple NetworkPolicy evaluator: the specification, written out directly.

Pod by pod and policy by policy, no classes, no bitsets, no caches. The fast engine
in kaudit.netpol must agree with it on every pod pair, port and protocol. Only the
label selector type (kaudit.model.LabelSelector.matches) is shared with the engine.

The rules, from the NetworkPolicy documentation and API reference:
- a pod may always reach itself; terminated pods reach nothing and are reached by nothing;
- the source's egress AND the destination's ingress must allow a connection;
- a pod is isolated in a direction when a policy of its namespace selects it and lists
  that direction in policyTypes; then only the union of those policies' rules allows;
- a rule allows when its ports admit the connection (no ports: all) and one of its
  peers matches the other pod (no peers: everyone);
- a peer's podSelector and namespaceSelector are ANDed; a podSelector alone means the
  policy's own namespace; an ipBlock matches the pod's IPs (CIDR minus except);
- hostNetwork pods are not isolated and are matched by ipBlock peers only; traffic
  between a pod and its own node (the hostNetwork pods there) is always allowed;
- named ports resolve against the destination pod's container ports (name and protocol);
- with IPv4 and IPv6 addresses, both sides must allow within one family.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from kaudit.kube import NAMESPACE_NAME_LABEL
from kaudit.model import (
    NetworkPolicy,
    Pod,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
    Protocol,
    Snapshot,
)

FAMILIES = (4, 6)


class Reference:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def namespace_labels(self, name: str) -> dict[str, str]:
        for ns in self.snapshot.namespaces:
            if ns.name == name:
                return dict(ns.labels)
        return {NAMESPACE_NAME_LABEL: name}

    def pods(self) -> list[Pod]:
        return sorted((p for p in self.snapshot.pods if not p.terminated), key=lambda p: p.key)

    def allowed(self, src: Pod, dst: Pod, port: int, protocol: Protocol) -> bool:
        if src.key == dst.key:
            return True
        if src.terminated or dst.terminated:
            return False
        return any(
            self.egress_allows(src, dst, port, protocol, family)
            and self.ingress_allows(src, dst, port, protocol, family)
            for family in FAMILIES
        )

    def selecting(self, pod: Pod, direction: str) -> list[NetworkPolicy]:
        if pod.host_network:
            return []
        return [
            policy
            for policy in self.snapshot.network_policies
            if policy.namespace == pod.namespace
            and direction in policy.policy_types
            and policy.pod_selector.matches(pod.labels)
        ]

    def egress_allows(self, src: Pod, dst: Pod, port: int, protocol: Protocol, family: int) -> bool:
        if dst.host_network and src.node_name and src.node_name == dst.node_name:
            return True
        policies = self.selecting(src, "Egress")
        if not policies:
            return True
        for policy in policies:
            for policy_rule in policy.egress:
                if self.policy_rule_allows(policy, policy_rule, dst, dst, port, protocol, family):
                    return True
        return False

    def ingress_allows(
        self, src: Pod, dst: Pod, port: int, protocol: Protocol, family: int
    ) -> bool:
        if src.host_network and src.node_name and src.node_name == dst.node_name:
            return True
        policies = self.selecting(dst, "Ingress")
        if not policies:
            return True
        for policy in policies:
            for policy_rule in policy.ingress:
                if self.policy_rule_allows(policy, policy_rule, src, dst, port, protocol, family):
                    return True
        return False

    def policy_rule_allows(
        self,
        policy: NetworkPolicy,
        policy_rule: PolicyRule,
        peer_pod: Pod,
        dst: Pod,
        port: int,
        protocol: Protocol,
        family: int,
    ) -> bool:
        if policy_rule.ports and not any(
            self.port_admits(p, dst, port, protocol) for p in policy_rule.ports
        ):
            return False
        if not policy_rule.peers:
            return True
        return any(self.peer_matches(policy, peer, peer_pod, family) for peer in policy_rule.peers)

    @staticmethod
    def port_admits(entry: PolicyPort, dst: Pod | None, port: int, protocol: Protocol) -> bool:
        if entry.protocol != protocol:
            return False
        if entry.port is None:
            return True
        if isinstance(entry.port, str):
            if dst is None:
                return False
            return any(
                c.name == entry.port and c.protocol == protocol and c.container_port == port
                for c in dst.ports
            )
        end = entry.end_port if entry.end_port is not None else entry.port
        return entry.port <= port <= end

    def peer_matches(self, policy: NetworkPolicy, peer: PolicyPeer, pod: Pod, family: int) -> bool:
        if peer.ip_block is not None:
            return any(
                address.version == family
                and in_block(address, peer.ip_block.cidr, peer.ip_block.except_)
                for address in addresses(pod.pod_ips)
            )
        if pod.host_network:
            return False
        if peer.pod_selector is None and peer.namespace_selector is None:
            return False
        if peer.namespace_selector is None:
            namespace_ok = pod.namespace == policy.namespace
        else:
            namespace_ok = peer.namespace_selector.matches(self.namespace_labels(pod.namespace))
        pod_ok = peer.pod_selector is None or peer.pod_selector.matches(pod.labels)
        return namespace_ok and pod_ok

    # --- outside addresses ----------------------------------------------------------

    def address_allowed(self, src: Pod, address: str, port: int, protocol: Protocol) -> bool:
        """May src reach one outside address (only its egress applies)."""
        if src.terminated:
            return False
        policies = self.selecting(src, "Egress")
        if not policies:
            return True
        target = ipaddress.ip_address(address)
        for policy in policies:
            for policy_rule in policy.egress:
                if policy_rule.ports and not any(
                    self.port_admits(p, None, port, protocol) for p in policy_rule.ports
                ):
                    continue
                if not policy_rule.peers:
                    return True
                for peer in policy_rule.peers:
                    block = peer.ip_block
                    if block is not None and in_block(target, block.cidr, block.except_):
                        return True
        return False

    # --- any port -------------------------------------------------------------------

    def candidate_ports(self) -> list[tuple[Protocol, int]]:
        """Ports where some rule may change its answer, and their neighbours: checking
        these is checking every port, since answers only change at these boundaries."""
        numbers = {1, 65535}
        for policy in self.snapshot.network_policies:
            for policy_rule in (*policy.ingress, *policy.egress):
                for entry in policy_rule.ports:
                    if isinstance(entry.port, int):
                        end = entry.end_port if entry.end_port is not None else entry.port
                        numbers.update({entry.port - 1, entry.port, end, end + 1})
        for pod in self.snapshot.pods:
            for c in pod.ports:
                numbers.update({c.container_port - 1, c.container_port, c.container_port + 1})
        valid = sorted(n for n in numbers if 1 <= n <= 65535)
        return [(proto, n) for proto in Protocol for n in valid]

    def allowed_any(self, src: Pod, dst: Pod) -> bool:
        return any(self.allowed(src, dst, n, proto) for proto, n in self.candidate_ports())


def addresses(ips: Iterable[str]) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    result = []
    for ip in ips:
        try:
            result.append(ipaddress.ip_address(ip))
        except ValueError:
            continue
    return result


def in_block(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, cidr: str, excepts: Iterable[str]
) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    if address.version != network.version or address not in network:
        return False
    for hole in excepts:
        hole_net = ipaddress.ip_network(hole, strict=False)
        if hole_net.version == address.version and address in hole_net:
            return False
    return True
