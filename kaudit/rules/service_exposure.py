"""Service exposure beyond the cluster: NodePorts, load balancers, external names and IPs."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence

from kaudit.findings import Severity
from kaudit.jsontypes import JsonObject
from kaudit.model import Resource, Service
from kaudit.rules.common import K8S_SERVICE_DOCS, service_port_text, service_ports_evidence
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, Rule, rule
from kaudit.rules.remediation import manifest, to_yaml

# --- KA204 ---------------------------------------------------------------------------------


def _cluster_ip_with_ingress(service: Service) -> str:
    port = service.ports[0] if service.ports else None
    host = f"{service.name}.example.com"
    backend_port = port.name if port and port.name else (port.port if port else 80)
    service_port: JsonObject = (
        {"name": backend_port} if isinstance(backend_port, str) else {"number": backend_port}
    )
    return to_yaml(
        manifest("Service", service.name, service.namespace, {"type": "ClusterIP"}),
        manifest(
            "Ingress",
            service.name,
            service.namespace,
            {
                "ingressClassName": "nginx",
                "tls": [{"hosts": [host], "secretName": f"{service.name}-tls"}],
                "rules": [
                    {
                        "host": host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": service.name, "port": service_port}
                                    },
                                }
                            ]
                        },
                    }
                ],
            },
        ),
    )


@rule(
    id="KA204",
    name="service-nodeport",
    title="NodePort Service opens a port on every node",
    severity=Severity.HIGH,
    category="service",
    rationale="""
        A NodePort Service listens on a high port of every node's address. Whoever can
        reach a node reaches the workload directly, without the Ingress controller's TLS,
        authentication or rate limits, and NetworkPolicy often does not see the original
        client (traffic is SNATed through the node).
    """,
    remediation="""
        Make the Service type ClusterIP and expose it through an Ingress (or Gateway)
        that terminates TLS. Keep NodePort only where a component truly needs it, and
        firewall the node port range (30000-32767) from untrusted networks.
    """,
    references=(K8S_SERVICE_DOCS + "#type-nodeport",),
    needs=(Resource.SERVICES,),
)
def service_nodeport(ctx: AuditContext) -> Iterator[Hit]:
    for service in ctx.snapshot.services:
        if service.type != "NodePort":
            continue
        ports = ", ".join(f"{p.node_port or 'auto'}->{p.port}/{p.protocol}" for p in service.ports)
        yield Hit(
            service.ref,
            f"Service {service.namespace}/{service.name} is type NodePort: it listens on "
            f"every node's address ({ports or 'no ports'}), bypassing the Ingress and its TLS.",
            {"type": service.type, "ports": service_ports_evidence(service)},
            remediation="Use a ClusterIP Service behind an Ingress with TLS:\n\n"
            + _cluster_ip_with_ingress(service),
            origin=service.origin,
        )


# --- KA205 ---------------------------------------------------------------------------------

# Annotations by which clouds make a LoadBalancer internal, with the values meaning "internal".
# None: any value except "false" (the in-tree AWS provider reads it that way).
INTERNAL_LB_ANNOTATIONS: dict[str, frozenset[str] | None] = {
    "service.beta.kubernetes.io/aws-load-balancer-internal": None,
    "service.beta.kubernetes.io/aws-load-balancer-scheme": frozenset({"internal"}),
    "networking.gke.io/load-balancer-type": frozenset({"internal"}),
    "cloud.google.com/load-balancer-type": frozenset({"internal"}),
    "service.beta.kubernetes.io/azure-load-balancer-internal": frozenset({"true"}),
    "service.beta.kubernetes.io/oci-load-balancer-internal": frozenset({"true"}),
    "service.beta.kubernetes.io/openstack-internal-load-balancer": frozenset({"true"}),
    "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type": frozenset({"intranet"}),
    "service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type": frozenset({"private"}),
}
SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"
OPEN_RANGES = frozenset({"0.0.0.0/0", "::/0"})


def internal_annotation(service: Service) -> str | None:
    """The annotation that marks this LoadBalancer internal, as `key: value`, if any."""
    for key, values in INTERNAL_LB_ANNOTATIONS.items():
        value = service.annotations.get(key)
        if value is None:
            continue
        normalized = value.strip().lower()
        if (values is None and normalized not in ("", "false")) or (
            values is not None and normalized in values
        ):
            return f"{key}: {value}"
    return None


def source_ranges(service: Service) -> tuple[str, ...]:
    ranges = service.load_balancer_source_ranges
    if not ranges and SOURCE_RANGES_ANNOTATION in service.annotations:
        text = service.annotations[SOURCE_RANGES_ANNOTATION]
        ranges = tuple(r.strip() for r in text.split(",") if r.strip())
    return ranges


def _private_addresses(addresses: Sequence[str]) -> bool:
    """Every assigned address is a private IP (e.g. MetalLB on a LAN)."""
    if not addresses:
        return False
    try:
        return all(ipaddress.ip_address(a).is_private for a in addresses)
    except ValueError:
        return False  # hostnames (AWS ELBs) tell nothing


@rule(
    id="KA205",
    name="service-loadbalancer",
    title="LoadBalancer Service exposes pods beyond the cluster",
    severity=Severity.CRITICAL,
    category="service",
    rationale="""
        A LoadBalancer Service asks the cloud for an address that forwards to the pods;
        unless marked internal or restricted by loadBalancerSourceRanges, that address
        is on the internet, with no TLS or authentication added. It also opens a
        NodePort on every node unless allocateLoadBalancerNodePorts is false.
    """,
    remediation="""
        Prefer a ClusterIP Service behind a shared Ingress controller with TLS. When a
        load balancer is needed, make it internal with the cloud's annotation, or list
        the allowed client networks in spec.loadBalancerSourceRanges, and set
        allocateLoadBalancerNodePorts: false where the cloud supports it.
    """,
    references=(
        K8S_SERVICE_DOCS + "#loadbalancer",
        "https://kubernetes.io/docs/tasks/access-application-cluster/configure-cloud-provider-firewall/",
    ),
    needs=(Resource.SERVICES,),
)
def service_loadbalancer(ctx: AuditContext) -> Iterator[Hit]:
    for service in ctx.snapshot.services:
        if service.type != "LoadBalancer":
            continue
        internal = internal_annotation(service)
        ranges = source_ranges(service)
        restricted = bool(ranges) and not (set(ranges) & OPEN_RANGES)
        name = f"{service.namespace}/{service.name}"
        evidence: JsonObject = {
            "type": service.type,
            "ports": service_ports_evidence(service),
            "internal": internal is not None,
            "loadBalancerSourceRanges": list(ranges),
            "nodePortsAllocated": service.allocate_load_balancer_node_ports,
        }
        if internal:
            evidence["internalAnnotation"] = internal
        if service.load_balancer_ingress:
            evidence["addresses"] = list(service.load_balancer_ingress)
        if internal:
            severity = Severity.LOW
            message = (
                f"Service {name} is an internal LoadBalancer ({internal}): reachable from the "
                f"private network around the cluster, not from the internet."
            )
        elif restricted:
            severity = Severity.MEDIUM
            message = (
                f"Service {name} is a LoadBalancer restricted to {', '.join(ranges)} by "
                f"loadBalancerSourceRanges."
            )
        elif _private_addresses(service.load_balancer_ingress):
            severity = Severity.HIGH
            message = (
                f"Service {name} is a LoadBalancer on private address "
                f"{', '.join(service.load_balancer_ingress)}, open to the whole surrounding "
                f"network (no source ranges)."
            )
        else:
            severity = Severity.CRITICAL
            open_note = " (its source ranges include 0.0.0.0/0)" if ranges else ""
            message = (
                f"Service {name} is an internet-facing LoadBalancer{open_note}: anyone can "
                f"connect to ports {', '.join(service_port_text(p) for p in service.ports) or '(none)'} "
                f"of its pods, with no TLS or authentication added."
            )
        if service.allocate_load_balancer_node_ports and service.ports:
            message += " It also opens a NodePort on every node."
        yield Hit(
            service.ref,
            message,
            evidence,
            remediation=_lb_remediation(service, internal is not None, restricted),
            severity=severity,
            origin=service.origin,
        )


def _lb_remediation(service: Service, internal: bool, restricted: bool) -> str:
    steps = ["Prefer type ClusterIP behind an Ingress with TLS. If the load balancer must stay:"]
    if not internal:
        steps.append(
            "- make it internal with your cloud's annotation (AWS: "
            "service.beta.kubernetes.io/aws-load-balancer-scheme: internal; GKE: "
            "networking.gke.io/load-balancer-type: Internal; AKS: "
            'service.beta.kubernetes.io/azure-load-balancer-internal: "true");'
        )
    spec: JsonObject = {"type": "LoadBalancer"}
    if not restricted:
        steps.append(
            "- or list the client networks allowed to connect (replace the example range);"
        )
        spec["loadBalancerSourceRanges"] = ["203.0.113.0/24"]
    if service.allocate_load_balancer_node_ports:
        steps.append("- and stop it from opening NodePorts on every node.")
        spec["allocateLoadBalancerNodePorts"] = False
    snippet = to_yaml(manifest("Service", service.name, service.namespace, spec))
    return "\n".join(steps) + "\n\n" + snippet


# --- KA206 ---------------------------------------------------------------------------------

INTERNAL_NAME_SUFFIXES = (".svc", ".cluster.local", ".local", ".internal", ".localdomain", ".lan")


def _external_name_risk(target: str) -> tuple[Severity, str] | None:
    """A higher severity and why, when the ExternalName points somewhere sensitive."""
    host = target.rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        if address.is_loopback or address.is_link_local:
            return Severity.HIGH, (
                f"it is the IP literal {host}, a loopback or link-local address (the cloud "
                f"metadata endpoint lives there)"
            )
        return Severity.MEDIUM, (
            f"it is the IP literal {host}: ExternalName expects a DNS name, and clients "
            f"resolving it get unpredictable results"
        )
    if host == "localhost" or "." not in host:
        return Severity.MEDIUM, (
            f"{host!r} is a single-label name, resolved through the pods' search domains "
            f"to something inside the cluster"
        )
    if host.endswith(INTERNAL_NAME_SUFFIXES):
        return Severity.MEDIUM, (
            f"{host} is an in-cluster or internal name: the alias can redirect clients to "
            f"internal services (DNS rebinding)"
        )
    return None


@rule(
    id="KA206",
    name="service-externalname",
    title="ExternalName Service aliases a DNS name",
    severity=Severity.LOW,
    category="service",
    rationale="""
        An ExternalName Service is a DNS CNAME: no proxy, no endpoints, no NetworkPolicy
        peer to select. Anyone who can edit it can redirect every client of the Service
        name, and when it points at an IP literal or an internal name it becomes a tool
        for DNS rebinding and for reaching internal services (CVE-2021-25740 class).
    """,
    remediation="""
        Point ExternalName only at external DNS names you control, restrict who may
        create or edit Services, and prefer a selector-less Service with explicit
        EndpointSlices when the target is an address.
    """,
    references=(
        K8S_SERVICE_DOCS + "#externalname",
        "https://github.com/kubernetes/kubernetes/issues/103675",
    ),
    needs=(Resource.SERVICES,),
)
def service_externalname(ctx: AuditContext) -> Iterator[Hit]:
    for service in ctx.snapshot.services:
        if service.type != "ExternalName":
            continue
        target = service.external_name or ""
        name = f"{service.namespace}/{service.name}"
        risk = _external_name_risk(target) if target else None
        evidence: JsonObject = {"externalName": target}
        if risk is not None:
            severity, why = risk
            evidence["risk"] = why
            message = f"Service {name} is an ExternalName alias for {target}, and {why}."
        else:
            severity = Severity.LOW
            message = (
                f"Service {name} is an ExternalName alias for {target or '(empty)'}: a CNAME "
                f"outside NetworkPolicy control."
            )
        yield Hit(service.ref, message, evidence, severity=severity, origin=service.origin)


# --- KA207 ---------------------------------------------------------------------------------


@rule(
    id="KA207",
    name="service-external-ips",
    title="Service sets externalIPs",
    severity=Severity.HIGH,
    category="service",
    rationale="""
        spec.externalIPs makes every node accept and forward traffic for those
        addresses. Anyone allowed to create a Service can claim any IP, including
        another workload's or an external one, and intercept its traffic
        (CVE-2020-8554, unfixable by design).
    """,
    remediation="""
        Remove spec.externalIPs and use a LoadBalancer or an Ingress instead. Block the
        field cluster-wide with the DenyServiceExternalIPs admission plugin or a policy
        engine (ValidatingAdmissionPolicy, Kyverno, Gatekeeper).
    """,
    references=(
        K8S_SERVICE_DOCS + "#external-ips",
        "https://github.com/kubernetes/kubernetes/issues/97076",
    ),
    needs=(Resource.SERVICES,),
)
def service_external_ips(ctx: AuditContext) -> Iterator[Hit]:
    for service in ctx.snapshot.services:
        if not service.external_ips:
            continue
        yield Hit(
            service.ref,
            f"Service {service.namespace}/{service.name} claims externalIPs "
            f"{', '.join(service.external_ips)}: every node forwards traffic for these "
            f"addresses to it, which can intercept traffic meant for them (CVE-2020-8554).",
            {"externalIPs": list(service.external_ips), "ports": service_ports_evidence(service)},
            origin=service.origin,
        )


RULES: tuple[Rule, ...] = (
    service_nodeport,
    service_loadbalancer,
    service_externalname,
    service_external_ips,
)
