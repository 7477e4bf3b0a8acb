"""`--fail-on-opened`: which newly opened connections a CI gate refuses.

A selector is a namespace label selector in kubectl's syntax (`team=payments`,
`env in (prod,staging)`, `!sandbox`, `tier!=dev`, terms separated by commas and
all required), matched against the namespace of each newly reachable pod; or
`outside`, matching every connection newly opened from outside the cluster.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from kaudit.model import Labels
from kaudit.review.changes import PathChange, Scope

OUTSIDE = "outside"

_TERM = re.compile(
    r"\s*(?:(?P<not>!)\s*(?P<absent>[\w./-]+)"
    r"|(?P<key>[\w./-]+)\s*(?:(?P<op>==|!=|=)\s*(?P<value>[\w./-]*)"
    r"|\s+(?P<set>in|notin)\s*\((?P<values>[^)]*)\))?)\s*(?:,|$)"
)

Requirement = Callable[[Labels], bool]


@dataclass(frozen=True, slots=True)
class OpenedGate:
    """One `--fail-on-opened` value, parsed."""

    text: str
    outside: bool
    requirements: tuple[Requirement, ...] = ()

    def matches_namespace(self, labels: Labels) -> bool:
        return not self.outside and all(req(labels) for req in self.requirements)


def parse_gate(text: str) -> OpenedGate:
    """Raises ValueError naming the part that is not a selector."""
    if text.strip() == OUTSIDE:
        return OpenedGate(text, outside=True)
    requirements: list[Requirement] = []
    position = 0
    stripped = text.strip()
    if not stripped:
        raise ValueError("an empty selector (use a label selector or 'outside')")
    while position < len(stripped):
        match = _TERM.match(stripped, position)
        if match is None or match.end() == position:
            raise ValueError(f"{text!r} is not a label selector (at {stripped[position:]!r})")
        requirements.append(_requirement(match))
        position = match.end()
    return OpenedGate(text, outside=False, requirements=tuple(requirements))


def _requirement(match: re.Match[str]) -> Requirement:
    if match["absent"]:
        key = match["absent"]
        return lambda labels: key not in labels
    key = match["key"]
    if match["op"]:
        value = match["value"]
        if match["op"] == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if match["set"]:
        values = frozenset(v.strip() for v in match["values"].split(",") if v.strip())
        if match["set"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    return lambda labels: key in labels


def gated_openings(
    opened: Iterable[PathChange],
    gates: Iterable[OpenedGate],
    namespace_labels: Mapping[str, Labels],
) -> list[tuple[OpenedGate, PathChange]]:
    """Every (gate, opened block) the gate refuses."""
    hits: list[tuple[OpenedGate, PathChange]] = []
    gates = tuple(gates)
    for change in opened:
        for gate in gates:
            if gate.outside:
                if change.scope is Scope.INGRESS:
                    hits.append((gate, change))
                continue
            if change.scope not in (Scope.PODS, Scope.INGRESS):
                continue
            namespaces = {target.partition("/")[0] for target in change.targets}
            if any(gate.matches_namespace(namespace_labels.get(ns, {})) for ns in namespaces):
                hits.append((gate, change))
    return hits
