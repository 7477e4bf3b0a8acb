"""Suppression: findings the user chose to silence, kept and counted, never dropped.

Two ways to silence a finding:

* the annotation `kaudit.io/ignore: "service-nodeport,KA301"` (rule names or IDs,
  or `*` for every rule) on the object itself or on its namespace, with an
  optional `kaudit.io/ignore-reason`;
* a `suppress:` entry in the configuration file, by rule and `namespace/name` glob.

Findings about a workload (Deployment/web) carry the annotations of its pods'
template, so the annotation goes in `spec.template.metadata.annotations`.
"""

from __future__ import annotations

import fnmatch
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from kaudit.config import IGNORE_ANNOTATION, IGNORE_REASON_ANNOTATION, AuditConfig, Suppression
from kaudit.findings import Finding
from kaudit.model import Labels, ObjectRef, Snapshot
from kaudit.report.model import SuppressedFinding


@dataclass(frozen=True, slots=True)
class IgnoreAnnotation:
    """The parsed `kaudit.io/ignore` annotation of one object."""

    owner: ObjectRef
    rules: frozenset[str]  # upper-cased IDs and lower-cased names, or {"*"}
    reason: str

    def covers(self, finding: Finding) -> bool:
        return (
            "*" in self.rules
            or finding.rule_id.upper() in self.rules
            or finding.rule_name.lower() in self.rules
        )

    def describe(self) -> str:
        where = f"annotation {IGNORE_ANNOTATION} on {self.owner}"
        return f"{where}: {self.reason}" if self.reason else where


def parse_ignore(owner: ObjectRef, annotations: Labels) -> IgnoreAnnotation | None:
    value = annotations.get(IGNORE_ANNOTATION)
    if value is None:
        return None
    rules: set[str] = set()
    for item in value.replace(";", ",").split(","):
        item = item.strip()
        if not item:
            continue
        # IDs compare upper-case, names lower-case: keep both spellings of each entry.
        rules.update({item.upper(), item.lower()} if item != "*" else {"*"})
    if not rules:
        return None
    return IgnoreAnnotation(owner, frozenset(rules), annotations.get(IGNORE_REASON_ANNOTATION, ""))


class AnnotationIndex:
    """The ignore annotations of every object in a snapshot, by the refs findings use."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._by_ref: dict[ObjectRef, IgnoreAnnotation] = {}
        self._namespaces: dict[str, IgnoreAnnotation] = {}
        for ns in snapshot.namespaces:
            parsed = parse_ignore(ns.ref, ns.annotations)
            if parsed:
                self._namespaces[ns.name] = parsed
        objects: Iterable[tuple[ObjectRef, Labels]] = [
            *((o.ref, o.annotations) for o in snapshot.services),
            *((o.ref, o.annotations) for o in snapshot.network_policies),
            *((o.ref, o.annotations) for o in snapshot.ingresses),
            *((o.ref, o.annotations) for o in snapshot.ingress_classes),
            *((o.ref, o.annotations) for o in snapshot.pods),
            *((o.ref, o.annotations) for o in snapshot.admin_policies),
        ]
        for ref, object_annotations in objects:
            parsed = parse_ignore(ref, object_annotations)
            if parsed:
                self._by_ref[ref] = parsed
        # A workload is silenced when every one of its pods carries the annotation.
        members: dict[ObjectRef, list[IgnoreAnnotation | None]] = defaultdict(list)
        for pod in snapshot.pods:
            owner = ObjectRef(pod.owner.kind, pod.namespace, pod.owner.name)
            if owner != pod.ref:
                members[owner].append(self._by_ref.get(pod.ref))
        for owner, annotations_of_members in members.items():
            present = [a for a in annotations_of_members if a is not None]
            if present and len(present) == len(annotations_of_members):
                common = frozenset.intersection(*(a.rules for a in present))
                if common:
                    reason = present[0].reason
                    self._by_ref.setdefault(owner, IgnoreAnnotation(owner, common, reason))

    def match(self, finding: Finding) -> IgnoreAnnotation | None:
        """The annotation that silences `finding`: the object's own, else its namespace's."""
        ref = finding.resource
        own = self._by_ref.get(ref)
        if own and own.covers(finding):
            return own
        namespace = self._namespaces.get(ref.scope)
        if namespace and namespace.covers(finding):
            return namespace
        return None


def suppression_matches(suppression: Suppression, finding: Finding) -> bool:
    """`Suppression.matches`, plus: a namespace-wide target (`shop/*`) covers Namespace/shop."""
    if suppression.matches(finding):
        return True
    ref = finding.resource
    if ref.kind != "Namespace" or suppression.rule not in ("*", finding.rule_id, finding.rule_name):
        return False
    namespace_glob, _, name_glob = suppression.target.partition("/")
    return name_glob in ("*", "") and fnmatch.fnmatchcase(ref.name, namespace_glob)


def split_suppressed(
    findings: Iterable[Finding], snapshot: Snapshot, config: AuditConfig
) -> tuple[list[Finding], list[SuppressedFinding]]:
    """Separate the findings the user silenced (by annotation or config) from the rest.

    Order is preserved in both lists; each suppressed finding says what silenced it.
    """
    annotations = AnnotationIndex(snapshot)
    kept: list[Finding] = []
    suppressed: list[SuppressedFinding] = []
    for finding in findings:
        reason = _suppression_reason(finding, annotations, config.suppressions)
        if reason is None:
            kept.append(finding)
        else:
            suppressed.append(SuppressedFinding(finding, reason))
    return kept, suppressed


def _suppression_reason(
    finding: Finding, annotations: AnnotationIndex, suppressions: Iterable[Suppression]
) -> str | None:
    annotation = annotations.match(finding)
    if annotation is not None:
        return annotation.describe()
    for suppression in suppressions:
        if suppression_matches(suppression, finding):
            where = f"config: {suppression.rule} on {suppression.target}"
            return f"{where}: {suppression.reason}" if suppression.reason else where
    return None
