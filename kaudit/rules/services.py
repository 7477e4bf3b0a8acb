"""Service rules: selectors that select nothing, endpoints that are not ready, broken target
ports, and Services that ingress policies leave dead."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from kaudit.findings import Severity
from kaudit.jsontypes import JsonArray, JsonObject, json_array
from kaudit.model import ObjectRef, Pod, Resource, Service, ServicePort
from kaudit.rules.common import (
    ENGINE_KINDS,
    K8S_NETPOL,
    K8S_SERVICE_DOCS,
    MAX_LISTED,
    group_by_workload,
    label_text,
    members,
    peer_outside_input,
    peer_selects_no_pod,
    plural,
    service_port_text,
    service_ports_evidence,
)
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, Rule, rule
from kaudit.rules.labeldiff import closest_label_sets, selector_fits, summarize
from kaudit.rules.remediation import manifest, to_yaml


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
    needs=(Resource.SERVICES, Resource.PODS),
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
    evidence: JsonObject = {
        "selector": dict(sorted(selector.items())),
        "podsInNamespace": len(namespace_pods),
        "closestPods": [c.as_json() for c in candidates],
    }
    remediation: str | None = None
    if candidates:
        best = candidates[0]
        diagnosis = summarize(best)
        evidence["diagnosis"] = json_array(sorted({str(e.closeness) for e in best.problems}))
        corrected = best.corrected
        if selector_fits(corrected, best.pods):
            evidence["correctedSelector"] = dict(sorted(corrected.items()))
            remediation = (
                "Point the selector at the pods' actual labels:\n\n"
                + to_yaml(
                    manifest(
                        "Service",
                        service.name,
                        service.namespace,
                        {"selector": dict(sorted(corrected.items()))},
                    )
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
        evidence["matchingPodsInOtherNamespaces"] = json_array(elsewhere)
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
    needs=(Resource.SERVICES, Resource.PODS),
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


def _containerservice_ports_evidence(pods: Sequence[Pod]) -> list[JsonObject]:
    seen: dict[tuple[int, str, str | None], JsonObject] = {}
    for pod in pods:
        for port in pod.ports:
            key = (port.container_port, str(port.protocol), port.name)
            entry: JsonObject = {"containerPort": port.container_port}
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
    needs=(Resource.SERVICES, Resource.PODS),
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
        container_ports = _containerservice_ports_evidence(pods)
        fix = _target_port_fix(service, [p for p, _ in broken], pods)
        details = "; ".join(f"port {service_port_text(p)}: {why}" for p, why in broken[:MAX_LISTED])
        if len(broken) > MAX_LISTED:
            details += f"; and {len(broken) - MAX_LISTED} more ports"
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
                "servicePorts": service_ports_evidence(service),
                "mismatched": [
                    {"port": p.port, "targetPort": p.effective_target, "reason": why}
                    for p, why in broken
                ],
                "containerPorts": json_array(container_ports),
                "workloads": json_array(sorted({str(p.owner) for p in pods})),
            },
            remediation=fix,
            severity=severity,
            origin=service.origin,
        )


def _target_port_fix(service: Service, broken: Sequence[ServicePort], pods: Sequence[Pod]) -> str:
    """A corrected ports list when each broken port has one obvious container port."""
    generic = (
        "Set each targetPort to a port the pods declare (see containerPorts in the "
        "evidence), by name or number."
    )
    if len(service.ports) > MAX_LISTED:
        return generic  # a corrected list this long helps nobody read the fix
    fixed_ports: JsonArray = []
    broken_ports = set(broken)
    for port in service.ports:
        entry: JsonObject = {"port": port.port, "protocol": str(port.protocol)}
        if port.name:
            entry = {"name": port.name, **entry}
        target: int | str = port.effective_target
        if port in broken_ports:
            same_protocol = {
                (cp.container_port, cp.name)
                for p in pods
                for cp in p.ports
                if cp.protocol == port.protocol
            }
            if len(same_protocol) != 1:
                return generic
            number, name = next(iter(same_protocol))
            target = name or number
        entry["targetPort"] = target
        fixed_ports.append(entry)
    return "Point targetPort at the container's port:\n\n" + to_yaml(
        manifest("Service", service.name, service.namespace, {"ports": fixed_ports})
    )


# --- KA208 ---------------------------------------------------------------------------------


def _target_number(pod: Pod, port: ServicePort) -> int | None:
    target = port.effective_target
    if isinstance(target, int):
        return target
    return pod.named_port(target, port.protocol)


def _policies_not_judged(ctx: AuditContext) -> frozenset[ObjectRef]:
    """Policies whose pods are not judged dead: those with ingress peers the input cannot
    hold (outside addresses, pods of namespaces not in the input); those with an ingress
    peer that selects no pod (policy-peer-selects-nothing names that cause: one fact, one
    finding); and those that deny all ingress to chosen pods on purpose (a podSelector,
    Ingress, and no ingress rule)."""
    return frozenset(
        policy.ref
        for policy in ctx.snapshot.network_policies
        if any(
            peer.ip_block is not None
            or peer_outside_input(ctx, peer)
            or (policy.affects_ingress and peer_selects_no_pod(ctx, policy, peer))
            for policy_rule in policy.ingress
            for peer in policy_rule.peers
        )
        or (policy.affects_ingress and not policy.ingress and not policy.pod_selector.is_empty)
    )


def _ingress_admits(
    ctx: AuditContext, source: Pod, pod: Pod, number: int, port: ServicePort
) -> bool:
    """The pod's ingress side of the engine's verdict, whatever the source's egress says."""
    verdict = ctx.engine.check(source, pod, number, port.protocol)
    return verdict.ingress is not None and verdict.ingress.allowed


def _source_samples(ctx: AuditContext) -> list[tuple[Pod, Pod | None]]:
    """Per namespace and label set of egress-isolated pods, two pods of the engine (the
    second may be None).

    Pods agreeing on namespace and labels pass the same ingress rules (ipBlock
    peers, which look at addresses, are not judged), so one question answers for
    all of them; the second pod stands in when the first is the destination itself.
    """
    samples: dict[tuple[str, frozenset[tuple[str, str]]], list[Pod]] = {}
    for pod in ctx.engine.pods:
        group = samples.setdefault((pod.namespace, frozenset(pod.labels.items())), [])
        if len(group) < 2:
            group.append(pod)
    # A source free to send anywhere and admitted by the ingress rules would be a reacher:
    # only sources whose own egress policies may hold them back need asking.
    return [
        (group[0], group[1] if len(group) > 1 else None)
        for group in samples.values()
        if _restricted(ctx.engine.isolation(group[0]).egress_isolated, group[0], ctx, "egress")
    ]


def _restricted(isolated: bool, pod: Pod, ctx: AuditContext, direction: str) -> bool:
    """Isolated by a NetworkPolicy, or subject to an admin or baseline policy's rules."""
    if isolated:
        return True
    isolation = ctx.engine.isolation(pod)
    admin = (
        isolation.egress_admin_policies
        if direction == "egress"
        else isolation.ingress_admin_policies
    )
    return bool(admin)


def _admits_no_source(
    ctx: AuditContext,
    pod: Pod,
    number: int,
    port: ServicePort,
    beyond: frozenset[ObjectRef],
    sources: list[tuple[Pod, Pod | None]],
) -> bool:
    """The engine says no pod, of the input or of a namespace not in it, passes the pod's
    ingress policies on this port (whatever the sources' own egress says)."""
    engine = ctx.engine
    isolation = engine.isolation(pod)
    if not _restricted(isolation.ingress_isolated, pod, ctx, "ingress") or beyond.intersection(
        isolation.ingress_policies
    ):
        return False
    if _ingress_admits(ctx, ctx.any_other_pod, pod, number, port):
        return False
    if engine.reachers_of(pod, number, port.protocol):
        return False
    # Nobody reaches it; make sure no source is admitted and only held back by its egress.
    for first, second in sources:
        source = second if first.key == pod.key else first
        if source is not None and _ingress_admits(ctx, source, pod, number, port):
            return False
    return True


def _routes_by_service(ctx: AuditContext) -> dict[tuple[str, str], list[str]]:
    """(namespace, Service) -> the Ingresses that send traffic to it."""
    routes: dict[tuple[str, str], list[str]] = {}
    for ingress in ctx.snapshot.ingresses:
        for backend in ingress.backends:
            if backend.service_name:
                key = (ingress.namespace, backend.service_name)
                if ingress.name not in routes.setdefault(key, []):
                    routes[key].append(ingress.name)
    return routes


@rule(
    id="KA208",
    name="workload-unreachable-by-policy",
    title="Service sends traffic to pods whose ingress policies admit nobody on that port",
    # It breaks traffic but exposes nothing: below the exposure findings.
    severity=Severity.MEDIUM,
    category="service",
    rationale="""
        A Service (and any Ingress routing to it) is dead when the ingress
        NetworkPolicies of its pods admit no source at all on the target port: every
        connection is dropped, though the Service has endpoints and nothing reports an
        error. The cause is usually a policy whose peers match nothing (a typo, or a
        `matchLabels: null` that selects no one) or a port list that forgets the port.
        Policies admitting outside addresses (ipBlock), or pods of namespaces not in
        the input, are not judged (those sources may exist), nor pods that a policy
        of their own denies all ingress on purpose (a podSelector naming them,
        policyTypes Ingress, no ingress rule). Where an ingress peer selects no pod,
        policy-peer-selects-nothing reports that cause instead.
    """,
    remediation="""
        Allow the Service's clients on the target port in an ingress policy that
        selects the pods (check with `kaudit reach --from CLIENT --to POD --port N`),
        or remove the Service if nothing should reach it.
    """,
    references=(K8S_NETPOL, K8S_SERVICE_DOCS),
    needs=(*ENGINE_KINDS, Resource.SERVICES),
)
def workload_unreachable_by_policy(ctx: AuditContext) -> Iterator[Hit]:
    routes = _routes_by_service(ctx)
    beyond = _policies_not_judged(ctx)
    sources = _source_samples(ctx)
    dead: dict[ObjectRef, list[tuple[Service, ServicePort, int, list[Pod]]]] = {}
    for service in sorted(ctx.snapshot.services, key=lambda s: (s.namespace, s.name)):
        if not _selects_endpoints(service):
            continue
        pods = [p for p in ctx.pods_of(service) if not p.host_network]
        for ref, group in group_by_workload(pods).items():
            for port in service.ports:
                numbers = {_target_number(p, port) for p in group}
                if len(numbers) != 1 or None in numbers:
                    continue  # unresolved or mixed targets: service-target-port-mismatch's
                number = numbers.pop()
                assert number is not None
                # Replicas with the same labels answer alike: one engine question per set.
                by_labels = {frozenset(p.labels.items()): p for p in group}
                if all(
                    _admits_no_source(ctx, p, number, port, beyond, sources)
                    for p in by_labels.values()
                ):
                    dead.setdefault(ref, []).append((service, port, number, group))
    for ref, entries in dead.items():
        group = entries[0][3]
        policies = sorted(
            {r.qualified_name for p in group for r in ctx.engine.isolation(p).ingress_policies}
        )
        paths = []
        evidence_ports: JsonArray = []
        for service, port, number, _ in entries:
            ingresses = routes.get((service.namespace, service.name), [])
            via = f" (and Ingress {', '.join(ingresses)})" if ingresses else ""
            paths.append(f"Service {service.name}{via} on {port.port}->{number}/{port.protocol}")
            evidence_ports.append(
                {
                    "service": service.name,
                    "port": port.port,
                    "targetPort": number,
                    "protocol": str(port.protocol),
                    "ingresses": json_array(ingresses),
                }
            )
        services = sorted({service.name for service, _, _, _ in entries})
        yield Hit(
            ref,
            f"{ref.kind} {ref.namespace}/{ref.name} ({plural(len(group), 'pod')}) receives "
            f"traffic from {'; '.join(paths)}, but its ingress policies "
            f"({', '.join(policies)}) admit no source at all on that port: "
            f"{'the Service is' if len(services) == 1 else 'the Services are'} dead by policy.",
            {
                **members(group),
                "ports": evidence_ports,
                "ingressPolicies": json_array(policies),
            },
            origin=entries[0][0].origin,
        )


RULES: tuple[Rule, ...] = (
    service_no_endpoints,
    service_no_ready_endpoints,
    service_target_port_mismatch,
    workload_unreachable_by_policy,
)
