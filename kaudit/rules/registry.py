"""The rule catalogue, assembled once from the families' rule lists.

Each family module lists its rules in `RULES`; `REGISTRY` is built from those
lists at import time and never changes. A malformed rule, or two rules sharing
an ID or a name, stops the import with RegistryError.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from kaudit.rules import (
    adminpolicy,
    dns,
    enforcement,
    ingress,
    lateral,
    pods,
    policy,
    selectors,
    service_exposure,
    services,
)
from kaudit.rules.definition import Hit, RegistryError, Rule, check_metadata, rule

# Every family, in the order of the catalogue's categories.
FAMILIES: tuple[tuple[Rule, ...], ...] = (
    policy.RULES,
    dns.RULES,
    selectors.RULES,
    enforcement.RULES,
    services.RULES,
    service_exposure.RULES,
    ingress.RULES,
    pods.RULES,
    lateral.RULES,
    adminpolicy.RULES,  # policy coverage: the network-policy-api's cluster-wide policies
)


@dataclass(frozen=True, slots=True)
class Registry:
    """Every rule, in ID order, found by ID or by name."""

    rules: tuple[Rule, ...]
    by_key: Mapping[str, Rule]  # IDs upper-case, names lower-case

    @classmethod
    def build(cls, families: Iterable[Iterable[Rule]]) -> Registry:
        by_key: dict[str, Rule] = {}
        for family in families:
            for member in family:
                check_metadata(member)
                for key in (member.id, member.name):
                    existing = by_key.get(key)
                    if existing is not None:
                        raise RegistryError(
                            f"rule {member.id} {member.name} clashes with "
                            f"{existing.id} {existing.name}"
                        )
                by_key[member.id] = member
                by_key[member.name] = member
        ordered = tuple(sorted({r.id: r for r in by_key.values()}.values(), key=lambda r: r.id))
        return cls(ordered, MappingProxyType(by_key))

    def find(self, key: str) -> Rule | None:
        """A rule by ID (case-insensitive) or by name."""
        key = key.strip()
        return self.by_key.get(key.upper()) or self.by_key.get(key.lower())


REGISTRY = Registry.build(FAMILIES)


def all_rules() -> list[Rule]:
    """Every rule, in ID order."""
    return list(REGISTRY.rules)


def find_rule(key: str) -> Rule | None:
    """A rule by ID (case-insensitive) or by name."""
    return REGISTRY.find(key)


__all__ = [
    "FAMILIES",
    "REGISTRY",
    "Hit",
    "Registry",
    "RegistryError",
    "Rule",
    "all_rules",
    "find_rule",
    "rule",
]
