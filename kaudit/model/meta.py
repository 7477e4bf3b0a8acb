"""What every object shares: labels and other string maps, origins, identities,
object metadata, protocols and label selectors."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from frozendict import frozendict

from kaudit.model import wire

Raw = Mapping[str, Any]
Labels = Mapping[str, str]

EMPTY_LABELS: Labels = frozendict()


def frozen_map(value: Mapping[str, Any] | None) -> Labels:
    """A read-only copy of a string map (labels, annotations, selectors)."""
    if not value:
        return EMPTY_LABELS
    return frozendict({str(k): str(v) for k, v in value.items()})


def int_or_str(value: int | str | None) -> int | str | None:
    """An IntOrString field: ints stay ints, digit strings stay strings (as the API does)."""
    if value is None or isinstance(value, int):
        return value
    return str(value)


def optional_int(value: int | str | None) -> int | None:
    """A number field: None when absent, else parsed (a bad value raises ValueError)."""
    return int(value) if value is not None else None


# IANA_SVC_NAME, as the API server validates port names: at most 15 lower-case letters,
# digits and single hyphens inside, at least one letter.
_PORT_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?")


def is_port_name(value: str) -> bool:
    return bool(_PORT_NAME.fullmatch(value)) and "--" not in value and not value.isdigit()


def port_number(value: int | str, field: str) -> int:
    """A port number field (1-65535) as the API server validates it; ValueError names `field`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError(f"{field}: {value!r} is not a port number (1-65535)")
    return value


def port_name(value: str | None, field: str) -> str | None:
    """An optional port name; ValueError names `field` when it is not a valid IANA name."""
    if value is None or value == "":
        return None
    if not is_port_name(value):
        raise ValueError(f"{field}: {value!r} is not a valid port name")
    return value


def port_number_or_name(value: int | str | None, field: str) -> int | str | None:
    """An IntOrString port: a port number, or a port name (a digit string is neither)."""
    if value is None:
        return None
    if isinstance(value, str):
        return port_name(value, field)
    return port_number(value, field)


class Protocol(enum.StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"

    @classmethod
    def parse(cls, value: Any) -> Protocol:
        if value is None or value == "":
            return cls.TCP
        return cls(str(value).upper())


@dataclass(frozen=True, slots=True)
class Origin:
    """Where an object came from: a manifest file and line, or the API server."""

    file: str | None = None
    line: int | None = None  # 1-based line of the document's first line
    document: int | None = None  # 0-based index of the document in its file

    def __str__(self) -> str:
        if self.file is None:
            return "cluster"
        return f"{self.file}:{self.line}" if self.line else self.file


LIVE = Origin()


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """A Kubernetes object's identity. `namespace` is '' for cluster-scoped kinds."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return (
            f"{self.kind}/{self.namespace}/{self.name}"
            if self.namespace
            else f"{self.kind}/{self.name}"
        )

    @property
    def scope(self) -> str:
        """The namespace this object is about: its own, or itself for a Namespace ('' otherwise)."""
        if self.kind == "Namespace":
            return self.name
        return self.namespace

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


_NO_META = wire.ObjectMeta()


@dataclass(frozen=True, slots=True)
class Meta:
    name: str
    namespace: str
    labels: Labels
    annotations: Labels
    uid: str = ""

    @classmethod
    def from_wire(cls, meta: wire.ObjectMeta | None, default_namespace: str = "") -> Meta:
        meta = meta or _NO_META
        return cls(
            name=meta.name or "",
            namespace=meta.namespace or default_namespace,
            labels=frozen_map(meta.labels),
            annotations=frozen_map(meta.annotations),
            uid=meta.uid or "",
        )

    @classmethod
    def from_raw(cls, raw: Raw, default_namespace: str = "") -> Meta:
        return cls.from_wire(wire.from_mapping(raw, wire.Named).metadata, default_namespace)


# --- label selectors ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Requirement:
    """One matchExpressions entry. Operators: In, NotIn, Exists, DoesNotExist."""

    key: str
    operator: str
    values: frozenset[str]

    def matches(self, labels: Labels) -> bool:
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            # NotIn matches objects without the key too, as in apimachinery.
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        raise ValueError(f"unknown label selector operator {self.operator!r}")


SELECTOR_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist"})


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """metav1.LabelSelector: matchLabels AND every matchExpressions requirement.

    The empty selector matches everything (as NetworkPolicy podSelector `{}` does).
    """

    match_labels: Labels = EMPTY_LABELS
    match_expressions: tuple[Requirement, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def matches(self, labels: Labels) -> bool:
        for key, value in self.match_labels.items():
            if labels.get(key) != value:
                return False
        return all(req.matches(labels) for req in self.match_expressions)

    def describe(self) -> str:
        if self.is_empty:
            return "{} (everything)"
        parts = [f"{k}={v}" for k, v in sorted(self.match_labels.items())]
        for req in self.match_expressions:
            if req.operator in ("In", "NotIn"):
                values = ",".join(sorted(req.values))
                parts.append(f"{req.key} {req.operator.lower()} ({values})")
            elif req.operator == "Exists":
                parts.append(req.key)
            else:
                parts.append(f"!{req.key}")
        return ",".join(parts)

    @classmethod
    def from_wire(cls, selector: wire.LabelSelector | None) -> LabelSelector:
        if selector is None:
            return MATCH_ALL
        expressions = []
        for expr in selector.match_expressions or ():
            operator = expr.operator or ""
            if operator not in SELECTOR_OPERATORS:
                raise ValueError(f"unknown label selector operator {operator!r}")
            expressions.append(
                Requirement(
                    key=expr.key or "", operator=operator, values=frozenset(expr.values or ())
                )
            )
        return cls(frozen_map(selector.match_labels), tuple(expressions))

    @classmethod
    def from_raw(cls, raw: Any) -> LabelSelector:
        if not isinstance(raw, Mapping):
            return MATCH_ALL
        return cls.from_wire(wire.from_mapping(raw, wire.LabelSelector))


MATCH_ALL = LabelSelector()
