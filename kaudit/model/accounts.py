"""ServiceAccounts: their names and labels, which Calico's serviceAccountSelector selects.

Read-only and metadata only: kaudit never reads a ServiceAccount's secrets or tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from kaudit.model import wire, wire_cni
from kaudit.model.meta import LIVE, Labels, Meta, ObjectRef, Origin, Raw


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    namespace: str
    name: str
    labels: Labels
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("ServiceAccount", self.namespace, self.name)

    @classmethod
    def from_wire(
        cls,
        account: wire_cni.ServiceAccount,
        origin: Origin = LIVE,
        default_namespace: str = "default",
    ) -> ServiceAccount:
        meta = Meta.from_wire(account.metadata, default_namespace)
        return cls(meta.namespace, meta.name, meta.labels, origin)

    @classmethod
    def from_raw(
        cls, raw: Raw, origin: Origin = LIVE, default_namespace: str = "default"
    ) -> ServiceAccount:
        return cls.from_wire(
            wire.from_mapping(raw, wire_cni.ServiceAccount), origin, default_namespace
        )
