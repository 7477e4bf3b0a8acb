"""Ingress rules: the class that serves it, the backends it points at, and TLS."""

from __future__ import annotations

from collections.abc import Iterator

from kaudit.exposure.inventory import ingress_paths
from kaudit.exposure.severity import closed_in_clear
from kaudit.findings import Severity
from kaudit.jsontypes import JsonObject, json_array
from kaudit.model import Ingress, IngressBackend, Resource, Service
from kaudit.rules.common import service_port_mismatch
from kaudit.rules.context import AuditContext
from kaudit.rules.definition import Hit, Rule, rule
from kaudit.rules.remediation import manifest, to_yaml

K8S_INGRESS_DOCS = "https://kubernetes.io/docs/concepts/services-networking/ingress/"


def _backend_where(backend: IngressBackend) -> str:
    if backend.host is None and backend.path is None:
        return "default backend"
    return f"{backend.host or '*'}{backend.path or '/'}"


def _manifest_without_classes(ctx: AuditContext) -> bool:
    """Manifests rarely carry IngressClasses (the controller's chart installs them)."""
    return ctx.snapshot.facts.source != "live" and not ctx.snapshot.ingress_classes


# --- KA301 ---------------------------------------------------------------------------------


@rule(
    id="KA301",
    name="ingress-without-class",
    title="Ingress names no IngressClass",
    severity=Severity.HIGH,
    category="ingress",
    rationale="""
        An Ingress without spec.ingressClassName (or the legacy kubernetes.io/ingress.class
        annotation) is served only if the cluster has a default IngressClass when it is
        created. Without one, no controller picks it up and every request ends in a
        silent 404; with several controllers, the wrong one may serve it.
    """,
    remediation="""
        Set spec.ingressClassName to the class of the controller that should serve the
        Ingress (`kubectl get ingressclass`).
    """,
    references=(K8S_INGRESS_DOCS + "#ingress-class", K8S_INGRESS_DOCS + "#default-ingress-class"),
    needs=(Resource.INGRESSES,),
)
def ingress_without_class(ctx: AuditContext) -> Iterator[Hit]:
    classes = ctx.snapshot.ingress_classes
    defaults = sorted(c.name for c in classes if c.is_default)
    for ingress in ctx.snapshot.ingresses:
        if ingress.ingress_class_name or ingress.legacy_class:
            continue
        name = f"{ingress.namespace}/{ingress.name}"
        evidence: JsonObject = {
            "ingressClasses": json_array(sorted(c.name for c in classes)),
            "defaultClasses": json_array(defaults),
        }
        if defaults:
            severity = Severity.LOW
            why = (
                f"the default IngressClass {', '.join(defaults)} serves it, as long as it stays "
                f"the default"
            )
            suggestion = defaults[0]
        elif not ctx.collected(Resource.INGRESS_CLASSES):
            severity = Severity.MEDIUM
            why = "IngressClasses could not be read, so whether a default exists is unknown"
            suggestion = "CLASS"
        elif _manifest_without_classes(ctx):
            severity = Severity.MEDIUM
            why = (
                "the input holds no IngressClass, so it depends on the target cluster having a "
                "default class; without one every request gets a 404"
            )
            suggestion = "CLASS"
        else:
            severity = Severity.HIGH
            why = (
                "the cluster has no default IngressClass, so no controller serves it and every "
                "request gets a 404"
            )
            suggestion = sorted(c.name for c in classes)[0] if classes else "CLASS"
        yield Hit(
            ingress.ref,
            f"Ingress {name} names no IngressClass: {why}.",
            evidence,
            remediation="Name the class explicitly:\n\n"
            + to_yaml(
                manifest(
                    "Ingress", ingress.name, ingress.namespace, {"ingressClassName": suggestion}
                )
            ),
            severity=severity,
            origin=ingress.origin,
        )


# --- KA302 ---------------------------------------------------------------------------------


@rule(
    id="KA302",
    name="ingress-unknown-class",
    title="Ingress names an IngressClass that does not exist",
    severity=Severity.HIGH,
    category="ingress",
    rationale="""
        An Ingress whose ingressClassName names no existing IngressClass is ignored by
        every controller: its hosts answer 404 (or whatever the default server shows),
        and nothing reports the error.
    """,
    remediation="""
        Use the name of an existing IngressClass (`kubectl get ingressclass`), or
        install the controller that the class belongs to.
    """,
    references=(K8S_INGRESS_DOCS + "#ingress-class",),
    needs=(Resource.INGRESSES, Resource.INGRESS_CLASSES),
)
def ingress_unknown_class(ctx: AuditContext) -> Iterator[Hit]:
    if _manifest_without_classes(ctx):
        return  # nothing to compare against: the classes live in the cluster
    known = sorted(c.name for c in ctx.snapshot.ingress_classes)
    for ingress in ctx.snapshot.ingresses:
        wanted = ingress.ingress_class_name
        if not wanted or wanted in known:
            continue
        close = [k for k in known if k.lower() == wanted.lower()]
        hint = f" (did you mean {close[0]}? class names are case-sensitive)" if close else ""
        yield Hit(
            ingress.ref,
            f"Ingress {ingress.namespace}/{ingress.name} asks for IngressClass {wanted!r}, "
            f"which does not exist{hint}; no controller serves it. Known classes: "
            f"{', '.join(known) or 'none'}.",
            {"ingressClassName": wanted, "ingressClasses": json_array(known)},
            origin=ingress.origin,
        )


# --- KA303 ---------------------------------------------------------------------------------


@rule(
    id="KA303",
    name="ingress-backend-missing-service",
    title="Ingress backend names a Service that does not exist",
    severity=Severity.HIGH,
    category="ingress",
    rationale="""
        A backend pointing at a missing Service answers 503 (or the controller's default
        backend) for its host and path. A Service can only be referenced from an Ingress
        in the same namespace.
    """,
    remediation="""
        Fix the Service name in the backend, or create the Service in the Ingress's
        namespace (to reach another namespace, add an ExternalName Service or use a
        Gateway with a ReferenceGrant).
    """,
    references=(K8S_INGRESS_DOCS + "#the-ingress-resource",),
    needs=(Resource.INGRESSES, Resource.SERVICES),
)
def ingress_backend_missing_service(ctx: AuditContext) -> Iterator[Hit]:
    for ingress in ctx.snapshot.ingresses:
        missing = [
            b
            for b in ingress.backends
            if b.service_name and (ingress.namespace, b.service_name) not in ctx.services_by_key
        ]
        if not missing:
            continue
        names = sorted({b.service_name or "" for b in missing})
        elsewhere = sorted(
            f"{s.namespace}/{s.name}"
            for s in ctx.snapshot.services
            if s.name in names and s.namespace != ingress.namespace
        )
        message = (
            f"Ingress {ingress.namespace}/{ingress.name} routes to Service"
            f"{'s' if len(names) > 1 else ''} {', '.join(names)}, which "
            f"{'do' if len(names) > 1 else 'does'} not exist in namespace {ingress.namespace}; "
            f"requests there fail."
        )
        if elsewhere:
            message += (
                f" A Service of that name exists in another namespace ({', '.join(elsewhere)}), "
                f"but an Ingress only reaches Services of its own namespace."
            )
        yield Hit(
            ingress.ref,
            message,
            {
                "missingServices": json_array(names),
                "backends": [
                    {
                        "where": _backend_where(b),
                        "service": b.service_name,
                        "port": b.port_number if b.port_number is not None else b.port_name,
                    }
                    for b in missing
                ],
                "sameNameElsewhere": json_array(elsewhere),
            },
            origin=ingress.origin,
        )


# --- KA304 ---------------------------------------------------------------------------------


def _port_mismatch(ctx: AuditContext, service: Service, backend: IngressBackend) -> str | None:
    """Why the backend's port is not a port of the Service, or None when it is."""
    return service_port_mismatch(ctx, service, backend.port_number, backend.port_name)


@rule(
    id="KA304",
    name="ingress-backend-port-mismatch",
    title="Ingress backend port is not a port of its Service",
    severity=Severity.HIGH,
    category="ingress",
    rationale="""
        An Ingress backend's port.number or port.name refers to the Service's port, not
        to the container's port or the targetPort. A port the Service does not have
        gives 503s. Confusing the three ports is one of the most common Ingress
        mistakes.
    """,
    remediation="""
        Set the backend's port.number (or port.name) to one of the Service's
        spec.ports[].port (or .name).
    """,
    references=(K8S_INGRESS_DOCS + "#the-ingress-resource",),
    needs=(Resource.INGRESSES, Resource.SERVICES),
)
def ingress_backend_port_mismatch(ctx: AuditContext) -> Iterator[Hit]:
    for ingress in ctx.snapshot.ingresses:
        problems: list[tuple[IngressBackend, Service, str]] = []
        for backend in ingress.backends:
            if not backend.service_name:
                continue
            service = ctx.services_by_key.get((ingress.namespace, backend.service_name))
            if service is None or (service.type == "ExternalName" and not service.ports):
                continue  # missing: KA303; ExternalName without ports: any port is passed on
            why = _port_mismatch(ctx, service, backend)
            if why:
                problems.append((backend, service, why))
        if not problems:
            continue
        yield Hit(
            ingress.ref,
            f"Ingress {ingress.namespace}/{ingress.name} sends traffic to a port its Service "
            f"does not have: "
            + "; ".join(f"{_backend_where(b)}: {why}" for b, _, why in problems)
            + ".",
            {
                "backends": [
                    {
                        "where": _backend_where(b),
                        "service": s.name,
                        "port": b.port_number if b.port_number is not None else b.port_name,
                        "servicePorts": [
                            {"port": p.port, "name": p.name, "targetPort": p.effective_target}
                            for p in s.ports
                        ],
                        "reason": why,
                    }
                    for b, s, why in problems
                ]
            },
            remediation=_port_fix(ingress, problems),
            origin=ingress.origin,
        )


def _port_fix(ingress: Ingress, problems: list[tuple[IngressBackend, Service, str]]) -> str:
    lines = ["Point each backend at a port of its Service:"]
    for backend, service, _ in problems:
        ports = ", ".join(
            f"{p.port}" + (f" (name {p.name})" if p.name else "") for p in service.ports
        )
        lines.append(
            f"- {_backend_where(backend)}: Service {service.name} has port {ports or 'none'}"
        )
    return "\n".join(lines)


# --- KA305 ---------------------------------------------------------------------------------


@rule(
    id="KA305",
    name="ingress-without-tls",
    title="Ingress serves plain HTTP (no TLS section)",
    severity=Severity.MEDIUM,
    category="ingress",
    rationale="""
        Without a tls section the Ingress serves its hosts over plain HTTP: credentials,
        cookies and data cross the network in clear text and can be read or altered
        on the way. Low when the exposure inventory finds that no workload receives it
        today (its paths lead nowhere, or the pods' policies deny them).
    """,
    remediation="""
        Add a tls section naming the hosts and a Secret holding the certificate
        (cert-manager can issue and renew it), and redirect HTTP to HTTPS.
    """,
    references=(K8S_INGRESS_DOCS + "#tls", "https://cert-manager.io/docs/usage/ingress/"),
    needs=(Resource.INGRESSES,),
)
def ingress_without_tls(ctx: AuditContext) -> Iterator[Hit]:
    for ingress in ctx.snapshot.ingresses:
        if ingress.tls_hosts:
            continue
        hosts = sorted(set(ingress.hosts))
        tls_hosts = hosts or [f"{ingress.name}.example.com"]
        # Latent, not live, when the exposure inventory finds no workload receiving it.
        closed = closed_in_clear(ingress_paths(ctx), ingress.ref)
        evidence: JsonObject = {"hosts": json_array(hosts)}
        message = (
            f"Ingress {ingress.namespace}/{ingress.name} has no TLS section: "
            f"{', '.join(hosts) if hosts else 'every host'} is served over plain HTTP."
        )
        if closed:
            message += f" No workload receives it today: {closed}."
            evidence["reachesNoWorkload"] = closed
        yield Hit(
            ingress.ref,
            message,
            evidence,
            severity=Severity.LOW if closed else None,
            remediation="Add TLS for the Ingress's hosts:\n\n"
            + to_yaml(
                manifest(
                    "Ingress",
                    ingress.name,
                    ingress.namespace,
                    {
                        "tls": [
                            {"hosts": json_array(tls_hosts), "secretName": f"{ingress.name}-tls"}
                        ]
                    },
                    annotations={"cert-manager.io/cluster-issuer": "letsencrypt"},
                )
            ),
            origin=ingress.origin,
        )


RULES: tuple[Rule, ...] = (
    ingress_without_class,
    ingress_unknown_class,
    ingress_backend_missing_service,
    ingress_backend_port_mismatch,
    ingress_without_tls,
)
