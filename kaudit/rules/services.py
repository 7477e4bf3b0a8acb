"""Service rules: selectors that select nothing, broken ports, and exposure beyond the cluster."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Sequence
from typing import Any

from kaudit.findings import Severity
from kaudit.model import Kind, Pod, Service, ServicePort
from kaudit.rules.common import label_text, plural, to_yaml
from kaudit.rules.context import AuditContext
from kaudit.rules.labeldiff import closest_label_sets, selector_fits, summarize
from kaudit.rules.registry import Hit, rule

K8S_SERVICE_DOCS = "https://kubernetes.io/docs/concepts/services-networking/service/"


def _port_text(port: ServicePort) -> str:
    name = f" ({port.name})" if port.name else ""
    return f"{port.port}/{port.protocol}{name}"


def _ports_json(service: Service) -> list[dict[str, Any]]:
    result = []
    for port in service.ports:
        entry: dict[str, Any] = {
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


def _selects_endpoints(service: Service) -> bool:
    """Services whose endpoints Kubernetes derives from a selector."""
    return service.has_selector and service.type != "ExternalName"


def _has_manual_endpoints(ctx: AuditContext, service: Service) -> bool:
    """Real (not derived) slices with addresses: someone else keeps this Service's endpoints."""
    return any(
        s.endpoints and not s.derived
        for s in ctx.slices_by_service.get((service.namespace, service.name), [])
    )


# --- KA201 ---------------------------------------------------------------------------------


@rule(
    id="KA201",
    name="service-no-endpoints",
    title="Service selector matches no pod, so the Service has no endpoints",
    severity=Severity.HIGH,
    category="service",
    rationale="""
        A Service whose selector matches no pod gets no endpoints. Nothing reports an
        error: connections to it time out or are refused, and the cause hides in a
        label. The usual culprits are a typo (app: api against app: api-server), a
        letter-case slip (labels are case-sensitive), or a label the pods no longer
        carry with that value, such as a version bumped by the last deploy.
    """,
    remediation="""
        Make the selector match the pods' labels (or relabel the pods), and keep
        release-specific labels such as `version` out of Service selectors. Check the
        result with `kubectl get endpointslices -l kubernetes.io/service-name=NAME`.
    """,
    references=(
        K8S_SERVICE_DOCS,
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/",
    ),
    needs=(Kind.SERVICES, Kind.PODS),
)
def service_no_endpoints(ctx: AuditContext) -> Iterator[Hit]:
    for service in ctx.snapshot.services:
        if not _selects_endpoints(service) or ctx.pods_of(service):
            continue
        if _has_manual_endpoints(ctx, service):
            continue
        yield _diagnose_selector(ctx, service)


def _diagnose_selector(ctx: AuditContext, service: Service) -> Hit:
    selector = dict(service.selector)
    namespace_pods = ctx.pods_by_namespace.get(service.namespace, [])
    candidates = closest_label_sets(selector, namespace_pods)
    # Namespaces whose pods carry every selector label, checked pod by pod only there.
    candidate_namespaces = set.intersection(
        *(ctx.namespaces_by_label.get(item, set()) for item in selector.items())
    ) - {service.namespace}
    elsewhere = sorted(
        ns
        for ns in candidate_namespaces
        if any(
            all(pod.labels.get(k) == v for k, v in selector.items())
            for pod in ctx.pods_by_namespace[ns]
        )
    )
    head = (
        f"Service {service.namespace}/{service.name} selects {label_text(selector)}, "
        f"but no pod in namespace {service.namespace} carries these labels: it has no "
        f"endpoints and traffic to it goes nowhere."
    )
    evidence: dict[str, Any] = {
        "selector": dict(sorted(selector.items())),
        "podsInNamespace": len(namespace_pods),
        "closestPods": [c.as_json() for c in candidates],
    }
    remediation: str | None = None
    if candidates:
        best = candidates[0]
        diagnosis = summarize(best)
        evidence["diagnosis"] = sorted({str(e.verdict) for e in best.problems})
        corrected = best.corrected
        if selector_fits(corrected, best.pods):
            evidence["correctedSelector"] = dict(sorted(corrected.items()))
            remediation = (
                "Point the selector at the pods' actual labels:\n\n"
                + to_yaml(
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "metadata": {"name": service.name, "namespace": service.namespace},
                        "spec": {"selector": dict(sorted(corrected.items()))},
                    }
                )
                + "\n\nOr relabel the pods' template so that they carry "
                + label_text(selector)
                + "."
            )
        message = f"{head} The {diagnosis}."
    elif not namespace_pods:
        message = f"{head} The namespace has no running pods at all."
    else:
        message = (
            f"{head} None of the {plural(len(namespace_pods), 'pod')} there comes close to "
            f"these labels."
        )
    if elsewhere:
        evidence["matchingPodsInOtherNamespaces"] = elsewhere
        message += (
            f" Pods with these labels run in {', '.join(elsewhere)}; a Service only selects "
            f"pods of its own namespace."
        )
    return Hit(service.ref, message, evidence, remediation=remediation, origin=service.origin)


# --- KA202 ---------------------------------------------------------------------------------


def _readiness_known(ctx: AuditContext, pod: Pod) -> bool:
    """A manifest Pod without a status says nothing about readiness."""
    if ctx.snapshot.facts.source == "live" or pod.from_template:
        return True
    return pod.phase != "Pending" or bool(pod.pod_ips)


@rule(
    id="KA202",
    name="service-no-ready-endpoints",
    title="Service selects pods, but none of them is ready",
    severity=Severity.MEDIUM,
    category="service",
    rationale="""
        Only ready pods receive Service traffic. When every selected pod is not ready
        (crash-looping, failing its readiness probe, pending), the Service has no
        usable endpoint and clients see timeouts or refused connections, although
        the selector is right.
    """,
    remediation="""
        Find why the pods are not ready: `kubectl describe pod` (events, probe
        failures) and `kubectl logs`. Check that the readiness probe targets a port
        and path the container really serves.
    """,
    references=(
        K8S_SERVICE_DOCS,
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
    ),
    needs=(Kind.SERVICES, Kind.PODS),
)
def service_no_ready_endpoints(ctx: AuditContext) -> Iterator[Hit]:
    for service in ctx.snapshot.services:
        if not _selects_endpoints(service):
            continue
        pods = ctx.pods_of(service)
        if not pods or any(p.ready for p in pods):
            continue
        if not all(_readiness_known(ctx, p) for p in pods):
            continue
        slices = ctx.slices_by_service.get((service.namespace, service.name), [])
        if any(ep.ready for s in slices if not s.derived for ep in s.endpoints):
            continue
        phases = sorted({p.phase for p in pods})
        yield Hit(
            service.ref,
            f"Service {service.namespace}/{service.name} selects "
            f"{plural(len(pods), 'pod')}, but none is ready (phase: {', '.join(phases)}), "
            f"so it has no endpoint to send traffic to.",
            {
                "selector": dict(sorted(service.selector.items())),
                "pods": [
                    {"name": p.name, "phase": p.phase, "ready": p.ready}
                    for p in sorted(pods, key=lambda p: p.name)[:25]
                ],
                "podCount": len(pods),
            },
            origin=service.origin,
        )


# --- KA203 ---------------------------------------------------------------------------------


def _is_named(target: int | str) -> bool:
    return isinstance(target, str) and not target.isdigit()


def _container_ports_json(pods: Sequence[Pod]) -> list[dict[str, Any]]:
    seen: dict[tuple[int, str, str | None], dict[str, Any]] = {}
    for pod in pods:
        for port in pod.ports:
            key = (port.container_port, str(port.protocol), port.name)
            entry: dict[str, Any] = {"containerPort": port.container_port}
            entry["protocol"] = str(port.protocol)
            if port.name:
                entry["name"] = port.name
            seen.setdefault(key, entry)
    return [seen[k] for k in sorted(seen, key=lambda k: (k[0], k[1], k[2] or ""))]


@rule(
    id="KA203",
    name="service-target-port-mismatch",
    title="Service targetPort matches no container port of the selected pods",
    severity=Severity.HIGH,
    category="service",
    rationale="""
        A Service forwards each port to its targetPort on the selected pods. A named
        targetPort that no container declares gets no endpoint port at all; a numeric
        one that no container declares usually means the Service sends traffic to a
        port nothing listens on (port, targetPort and containerPort are easy to mix up).
    """,
    remediation="""
        Set targetPort to the container's port: its name (preferred, it survives a port
        change) or its number. targetPort defaults to `port` when left out.
    """,
    references=(K8S_SERVICE_DOCS + "#defining-a-service",),
    needs=(Kind.SERVICES, Kind.PODS),
)
def service_target_port_mismatch(ctx: AuditContext) -> Iterator[Hit]:
    for service in ctx.snapshot.services:
        if not _selects_endpoints(service):
            continue
        pods = ctx.pods_of(service)
        if not pods:
            continue  # service-no-endpoints reports these
        declared = [cp for p in pods for cp in p.ports]
        broken: list[tuple[ServicePort, str]] = []
        severity = Severity.MEDIUM
        for port in service.ports:
            target = port.effective_target
            if _is_named(target):
                name = str(target)
                if any(p.named_port(name, port.protocol) is not None for p in pods):
                    continue
                other_protocol = sorted({str(cp.protocol) for cp in declared if cp.name == name})
                why = (
                    f"targetPort {name!r} names a {'/'.join(other_protocol)} port, "
                    f"not {port.protocol}"
                    if other_protocol
                    else f"no container declares a port named {name!r}"
                )
                severity = Severity.HIGH
                broken.append((port, why))
                continue
            number = int(target)
            if not declared:
                continue  # containers need not declare ports: nothing to compare against
            if any(cp.container_port == number and cp.protocol == port.protocol for cp in declared):
                continue
            broken.append((port, f"no container declares {number}/{port.protocol}"))
        if not broken:
            continue
        container_ports = _container_ports_json(pods)
        fix = _target_port_fix(service, [p for p, _ in broken], pods)
        details = "; ".join(f"port {_port_text(p)}: {why}" for p, why in broken)
        available = (
            ", ".join(
                f"{c['containerPort']}/{c['protocol']}" + (f" ({c['name']})" if "name" in c else "")
                for c in container_ports
            )
            or "none declared"
        )
        yield Hit(
            service.ref,
            f"Service {service.namespace}/{service.name} forwards to a port its pods do not "
            f"expose ({details}); the pods declare {available}.",
            {
                "servicePorts": _ports_json(service),
                "mismatched": [
                    {"port": p.port, "targetPort": p.effective_target, "reason": why}
                    for p, why in broken
                ],
                "containerPorts": container_ports,
                "workloads": sorted({str(p.owner) for p in pods}),
            },
            remediation=fix,
            severity=severity,
            origin=service.origin,
        )


def _target_port_fix(service: Service, broken: Sequence[ServicePort], pods: Sequence[Pod]) -> str:
    """A corrected ports list when each broken port has one obvious container port."""
    fixed_ports = []
    for port in service.ports:
        entry: dict[str, Any] = {"port": port.port, "protocol": str(port.protocol)}
        if port.name:
            entry = {"name": port.name, **entry}
        target: int | str = port.effective_target
        if port in broken:
            same_protocol = {
                (cp.container_port, cp.name)
                for p in pods
                for cp in p.ports
                if cp.protocol == port.protocol
            }
            if len(same_protocol) != 1:
                return (
                    "Set each targetPort to a port the pods declare (see containerPorts in the "
                    "evidence), by name or number."
                )
            number, name = next(iter(same_protocol))
            target = name or number
        entry["targetPort"] = target
        fixed_ports.append(entry)
    return "Point targetPort at the container's port:\n\n" + to_yaml(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": service.name, "namespace": service.namespace},
            "spec": {"ports": fixed_ports},
        }
    )


# --- KA204 ---------------------------------------------------------------------------------


def _cluster_ip_with_ingress(service: Service) -> str:
    port = service.ports[0] if service.ports else None
    host = f"{service.name}.example.com"
    backend_port = port.name if port and port.name else (port.port if port else 80)
    service_port: dict[str, Any] = (
        {"name": backend_port} if isinstance(backend_port, str) else {"number": backend_port}
    )
    return to_yaml(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": service.name, "namespace": service.namespace},
            "spec": {"type": "ClusterIP"},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": service.name, "namespace": service.namespace},
            "spec": {
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
        },
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
    needs=(Kind.SERVICES,),
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
            {"type": service.type, "ports": _ports_json(service)},
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
    needs=(Kind.SERVICES,),
)
def service_loadbalancer(ctx: AuditContext) -> Iterator[Hit]:
    for service in ctx.snapshot.services:
        if service.type != "LoadBalancer":
            continue
        internal = internal_annotation(service)
        ranges = source_ranges(service)
        restricted = bool(ranges) and not (set(ranges) & OPEN_RANGES)
        name = f"{service.namespace}/{service.name}"
        evidence: dict[str, Any] = {
            "type": service.type,
            "ports": _ports_json(service),
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
                f"connect to ports {', '.join(_port_text(p) for p in service.ports) or '(none)'} "
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
    spec: dict[str, Any] = {"type": "LoadBalancer"}
    if not restricted:
        steps.append(
            "- or list the client networks allowed to connect (replace the example range);"
        )
        spec["loadBalancerSourceRanges"] = ["203.0.113.0/24"]
    if service.allocate_load_balancer_node_ports:
        steps.append("- and stop it from opening NodePorts on every node.")
        spec["allocateLoadBalancerNodePorts"] = False
    snippet = to_yaml(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": service.name, "namespace": service.namespace},
            "spec": spec,
        }
    )
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
    needs=(Kind.SERVICES,),
)
def service_externalname(ctx: AuditContext) -> Iterator[Hit]:
    for service in ctx.snapshot.services:
        if service.type != "ExternalName":
            continue
        target = service.external_name or ""
        name = f"{service.namespace}/{service.name}"
        risk = _external_name_risk(target) if target else None
        evidence: dict[str, Any] = {"externalName": target}
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
    needs=(Kind.SERVICES,),
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
            {"externalIPs": list(service.external_ips), "ports": _ports_json(service)},
            origin=service.origin,
        )
