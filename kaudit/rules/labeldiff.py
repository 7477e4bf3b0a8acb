"""Why a label selector matches nothing: the closest pods and what differs.

A selector that matches no pod fails silently (a Service with no endpoints, a
NetworkPolicy that isolates nobody). The usual causes are a typo, a letter-case
slip (labels are case-sensitive), or a label the pods no longer carry with that
value (a `version` bumped by a deploy). For each distinct label set among the
namespace's pods this module compares every selector entry, scores the set, and
proposes the selector that would match the closest pods.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from kaudit.jsontypes import JsonObject, json_array
from kaudit.model import Pod


class LabelCloseness(enum.StrEnum):
    """How one selector entry compares with the label a pod carries under that key."""

    MATCH = "match"
    CASE_MISMATCH = "case-mismatch"  # same text, different letter case
    TYPO = "typo"  # a small edit distance, or one text cut short of the other
    STALE_VALUE = "stale-value"  # the pods carry a version-like key with another value
    OTHER_VALUE = "other-value"  # the pods carry the key with an unrelated value
    MISSING_LABEL = "missing-label"  # the pods do not carry the key at all


# How close each kind of difference brings a label set to the selector.
WEIGHTS: Mapping[LabelCloseness, float] = {
    LabelCloseness.MATCH: 1.0,
    LabelCloseness.CASE_MISMATCH: 0.9,
    LabelCloseness.TYPO: 0.75,
    LabelCloseness.STALE_VALUE: 0.5,
    LabelCloseness.OTHER_VALUE: 0.2,
    LabelCloseness.MISSING_LABEL: 0.0,
}

# Labels whose values change from one release to the next; a selector on them goes stale.
VERSION_KEYS = re.compile(
    r"(^|[./-])(version|release|revision|rev|build|commit|sha|tag|pod-template-hash|"
    r"controller-revision-hash|canary|track)$",
    re.IGNORECASE,
)
VERSION_VALUE = re.compile(r"^v?\d+([.\-_]\w+)*$|^[0-9a-f]{7,40}$", re.IGNORECASE)


def similar(a: str, b: str) -> bool:
    """A plausible typo: one or two edits apart (a swap of neighbours is one), or one text a
    prefix/suffix of the other."""
    if a == b:
        return True
    distance = OSA.distance(a, b)
    if distance <= 2 and distance < max(len(a), len(b)) / 2:
        return True
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= 3 and (longer.startswith(shorter) or longer.endswith(shorter))


def version_like(key: str, *values: str) -> bool:
    return bool(VERSION_KEYS.search(key)) or all(VERSION_VALUE.match(v) for v in values)


@dataclass(frozen=True, slots=True)
class EntryDiff:
    """How one selector entry compares with one pod label set."""

    key: str
    value: str
    closeness: LabelCloseness
    pod_key: str | None = None
    pod_value: str | None = None

    @property
    def explanation(self) -> str:
        wanted = f"{self.key}={self.value}"
        found = f"{self.pod_key}={self.pod_value}"
        if self.closeness is LabelCloseness.MATCH:
            return f"{wanted} matches"
        if self.closeness is LabelCloseness.CASE_MISMATCH:
            return f"{wanted} differs only in letter case from the pods' {found} (labels are case-sensitive)"
        if self.closeness is LabelCloseness.TYPO:
            return f"{wanted} looks like a typo of the pods' {found}"
        if self.closeness is LabelCloseness.STALE_VALUE:
            return (
                f"{wanted} is stale: the pods now carry {found} "
                f"(a version label in a selector breaks on every release)"
            )
        if self.closeness is LabelCloseness.OTHER_VALUE:
            return f"{wanted} does not match: the pods carry {found}"
        return f"the pods carry no {self.key} label at all"

    def as_json(self) -> JsonObject:
        entry: JsonObject = {
            "selector": f"{self.key}={self.value}",
            "verdict": str(self.closeness),
        }
        if self.pod_key is not None:
            entry["pods"] = f"{self.pod_key}={self.pod_value}"
        entry["explanation"] = self.explanation
        return entry


def compare_entry(key: str, value: str, labels: Mapping[str, str]) -> EntryDiff:
    if key in labels:
        found = labels[key]
        if found == value:
            return EntryDiff(key, value, LabelCloseness.MATCH, key, found)
        if found.lower() == value.lower():
            return EntryDiff(key, value, LabelCloseness.CASE_MISMATCH, key, found)
        if version_like(key, value, found):
            return EntryDiff(key, value, LabelCloseness.STALE_VALUE, key, found)
        if similar(value, found):
            return EntryDiff(key, value, LabelCloseness.TYPO, key, found)
        return EntryDiff(key, value, LabelCloseness.OTHER_VALUE, key, found)
    # The key itself is absent: look for a misspelt or differently-cased key.
    best: EntryDiff | None = None
    for pod_key, found in sorted(labels.items()):
        if pod_key.lower() == key.lower() and found.lower() == value.lower():
            return EntryDiff(key, value, LabelCloseness.CASE_MISMATCH, pod_key, found)
        if similar(key, pod_key) and (found == value or similar(value, found)):
            candidate = EntryDiff(key, value, LabelCloseness.TYPO, pod_key, found)
            if best is None or OSA.distance(key, pod_key) < OSA.distance(key, best.pod_key or ""):
                best = candidate
    return best or EntryDiff(key, value, LabelCloseness.MISSING_LABEL)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A distinct label set among the namespace's pods, and how close it is to the selector."""

    labels: Mapping[str, str]
    pods: tuple[Pod, ...]
    entries: tuple[EntryDiff, ...]

    @property
    def score(self) -> float:
        if not self.entries:
            return 0.0
        return sum(WEIGHTS[e.closeness] for e in self.entries) / len(self.entries)

    @property
    def close(self) -> bool:
        """Some entry is right or nearly right: not merely the same keys with other values."""
        return any(
            WEIGHTS[e.closeness] >= WEIGHTS[LabelCloseness.STALE_VALUE] for e in self.entries
        )

    @property
    def corrected(self) -> dict[str, str]:
        """The selector that matches these pods, keeping the selector's intent.

        Misspelt or mis-cased entries take the pods' spelling; a stale version
        entry is dropped (selectors should not pin versions); an unrelated value is
        replaced by the pods' value; a label the pods lack is dropped.
        """
        fixed: dict[str, str] = {}
        for entry in self.entries:
            if entry.closeness is LabelCloseness.MISSING_LABEL or entry.pod_key is None:
                continue
            if entry.closeness is LabelCloseness.STALE_VALUE:
                continue
            fixed[entry.pod_key] = entry.pod_value or ""
        return fixed

    @property
    def problems(self) -> list[EntryDiff]:
        return [e for e in self.entries if e.closeness is not LabelCloseness.MATCH]

    def as_json(self) -> JsonObject:
        return {
            "labels": dict(sorted(self.labels.items())),
            "podCount": len(self.pods),
            "pods": json_array(sorted(p.name for p in self.pods)[:10]),
            "workloads": json_array(sorted({str(p.owner) for p in self.pods})),
            "score": round(self.score, 2),
            "differences": [e.as_json() for e in self.problems],
        }


def closest_label_sets(
    selector: Mapping[str, str], pods: Iterable[Pod], limit: int = 3
) -> list[Candidate]:
    """The pod label sets nearest to `selector`, best first; sets with nothing close are left out."""
    groups: dict[tuple[tuple[str, str], ...], list[Pod]] = {}
    for pod in pods:
        groups.setdefault(tuple(sorted(pod.labels.items())), []).append(pod)
    candidates = [
        Candidate(
            labels=dict(key),
            pods=tuple(members),
            entries=tuple(compare_entry(k, v, dict(key)) for k, v in sorted(selector.items())),
        )
        for key, members in groups.items()
    ]
    candidates = [c for c in candidates if c.close]
    candidates.sort(key=lambda c: (-c.score, -len(c.pods), sorted(c.labels.items())))
    return candidates[:limit]


def summarize(candidate: Candidate) -> str:
    """One sentence naming what keeps the closest pods out of the selector."""
    owners = sorted({str(p.owner) for p in candidate.pods})
    who = ", ".join(owners[:3]) + (f" and {len(owners) - 3} more" if len(owners) > 3 else "")
    reasons = "; ".join(e.explanation for e in candidate.problems)
    return f"closest pods ({who}): {reasons}"


def selector_fits(selector: Mapping[str, str], pods: Sequence[Pod]) -> bool:
    return bool(selector) and all(
        all(p.labels.get(k) == v for k, v in selector.items()) for p in pods
    )
