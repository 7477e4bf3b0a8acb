"""Nodes: read for their labels and addresses, which `nodes` peers of admin policies select."""

from __future__ import annotations

from dataclasses import dataclass

from kaudit.model import wire
from kaudit.model.meta import LIVE, Labels, Meta, ObjectRef, Origin, Raw


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    labels: Labels
    addresses: tuple[str, ...]  # status.addresses that are IPs (InternalIP, ExternalIP)
    origin: Origin = LIVE

    @property
    def ref(self) -> ObjectRef:
        return ObjectRef("Node", "", self.name)

    @classmethod
    def from_wire(cls, node: wire.Node, origin: Origin = LIVE) -> Node:
        meta = Meta.from_wire(node.metadata)
        status = node.status
        addresses = tuple(
            a.address
            for a in (status.addresses if status else None) or ()
            if a.address and a.type in ("InternalIP", "ExternalIP")
        )
        return cls(name=meta.name, labels=meta.labels, addresses=addresses, origin=origin)

    @classmethod
    def from_raw(cls, raw: Raw, origin: Origin = LIVE) -> Node:
        return cls.from_wire(wire.from_mapping(raw, wire.Node), origin)
