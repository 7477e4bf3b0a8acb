"""Ingresses and IngressClasses."""

from __future__ import annotations

from dataclasses import dataclass

from kaudit.kube import DEFAULT_INGRESS_CLASS_ANNOTATION, LEGACY_INGRESS_CLASS_ANNOTATION
from kaudit.model import wire
from kaudit.model.meta import EMPTY_LABELS, LIVE, Labels, Meta, ObjectRef, Origin, Raw, optional_int


@dataclass(frozen=True, slots=True)
class IngressBackend:
    service_name: str | None
    port_number: int | None = None
    port_name: str | None = None
    resource: str | None = None  # kind/name of a non-Service backend
    host: str | None = None
    path: str | None = None

    @property
    def port_text(self) -> str:
        if self.port_number is not None:
            return str(self.port_number)
        return self.port_name or "?"

    @classmethod
    def from_wire(
        cls, backend: wire.IngressBackend | None, host: str | None = None, path: str | None = None
    ) -> IngressBackend:
        service = backend.service if backend else None
        port = service.port if service else None
        resource = backend.resource if backend else None
        return cls(
            service_name=(service.name if service else None) or None,
            port_number=optional_int(port.number if port else None),
            port_name=(port.name if port else None) or None,
            # An empty `resource: {}` names nothing.
            resource=f"{resource.kind}/{resource.name}"
            if resource is not None and (resource.kind is not None or resource.name is not None)
            else None,
            host=host,
            path=path,
        )


_NO_INGRESS_SPEC = wire.IngressSpec()


@dataclass(frozen=True, slots=True)
class Ingress:
    namespace: str
    name: str
    labels: Labels
    annotations: Labels
    ingress_class_name: str | None
    backends: tuple[IngressBackend, ...]  # the default backend and every rule path
    tls_hosts: tuple[tuple[str, ...], ...]  # one entry per tls item
    hosts: tuple[str, ...]
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Ingress", self.namespace, self.name)

    @property
    def legacy_class(self) -> str | None:
        return self.annotations.get(LEGACY_INGRESS_CLASS_ANNOTATION)

    @classmethod
    def from_wire(
        cls, ingress: wire.Ingress, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> Ingress:
        meta = Meta.from_wire(ingress.metadata, default_namespace)
        spec = ingress.spec or _NO_INGRESS_SPEC
        backends: list[IngressBackend] = []
        default = spec.default_backend
        # An empty `defaultBackend: {}` names no backend.
        if default is not None and (default.service is not None or default.resource is not None):
            backends.append(IngressBackend.from_wire(default))
        hosts: list[str] = []
        for rule in spec.rules or ():
            host = rule.host or None
            if host:
                hosts.append(host)
            for path in (rule.http.paths if rule.http else None) or ():
                backends.append(IngressBackend.from_wire(path.backend, host, path.path))
        return cls(
            namespace=meta.namespace,
            name=meta.name,
            labels=meta.labels,
            annotations=meta.annotations,
            ingress_class_name=spec.ingress_class_name or None,
            backends=tuple(backends),
            tls_hosts=tuple(tuple(t.hosts or ()) for t in spec.tls or ()),
            hosts=tuple(hosts),
            origin=origin,
        )

    @classmethod
    def from_raw(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> Ingress:
        return cls.from_wire(wire.from_mapping(raw, wire.Ingress), origin, default_namespace)


@dataclass(frozen=True, slots=True)
class IngressClass:
    name: str
    controller: str
    is_default: bool
    annotations: Labels = EMPTY_LABELS
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("IngressClass", "", self.name)

    @classmethod
    def from_wire(cls, ingress_class: wire.IngressClass, origin: Origin = LIVE) -> IngressClass:
        meta = Meta.from_wire(ingress_class.metadata)
        spec = ingress_class.spec
        return cls(
            name=meta.name,
            controller=(spec.controller if spec else None) or "",
            is_default=meta.annotations.get(DEFAULT_INGRESS_CLASS_ANNOTATION) == "true",
            annotations=meta.annotations,
            origin=origin,
        )

    @classmethod
    def from_raw(cls, raw: Raw, origin: Origin = LIVE) -> IngressClass:
        return cls.from_wire(wire.from_mapping(raw, wire.IngressClass), origin)
