"""Severities, findings and the rule metadata they carry."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kaudit.jsontypes import JsonValue
from kaudit.model import LIVE, ObjectRef, Origin


class Severity(enum.IntEnum):
    """Ordered so that `Severity.CRITICAL > Severity.HIGH`."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in sorted(cls, reverse=True))
            raise ValueError(f"unknown severity {value!r} (expected one of: {names})") from None


def frozen_evidence(evidence: Mapping[str, JsonValue] | None) -> Mapping[str, JsonValue]:
    return MappingProxyType(dict(evidence or {}))


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found on one object (or one group of objects, e.g. a workload).

    `evidence` holds JSON-ready values (strings, numbers, lists, dicts) that explain
    the finding: the labels, ports and policies involved.
    """

    rule_id: str
    rule_name: str
    severity: Severity
    resource: ObjectRef
    message: str
    evidence: Mapping[str, JsonValue] = field(default_factory=lambda: MappingProxyType({}))
    remediation: str = ""
    origin: Origin = field(default=LIVE, compare=False)

    @property
    def sort_key(self) -> tuple[int, str, str, str, str, str]:
        r = self.resource
        return (-self.severity, self.rule_id, r.namespace, r.kind, r.name, self.message)

    @property
    def fingerprint(self) -> str:
        """Identity across runs, for `kaudit diff`: the rule and the object."""
        return f"{self.rule_name}|{self.resource}"


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: f.sort_key)
