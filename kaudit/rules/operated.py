"""Selectors that match nothing where an unknown operator may create the pods.

Manifests may hold custom resources whose operators kaudit does not know (a
KafkaConnect, a vendor's database): their pods appear only once the operator runs,
so a Service or NetworkPolicy selecting them matches nothing in the input though
it is right. Where such a resource shares the namespace, the selector rules report
at low severity with this caveat, and name no near-miss pods: the closest labels
in the input belong to other workloads.
"""

from __future__ import annotations

from collections.abc import Iterable

from kaudit.rules.common import MAX_LISTED
from kaudit.rules.context import AuditContext


def unexpanded_custom_resources(ctx: AuditContext, namespaces: Iterable[str]) -> list[str]:
    """The custom resources of unknown operators in `namespaces` ("Kind.group/name")."""
    found = ctx.snapshot.facts.unexpanded_custom_resources
    return sorted({r for ns in namespaces for r in found.get(ns, ())})


def operator_caveat(resources: list[str]) -> str:
    """One sentence: the pods may be created by the operator of `resources`."""
    shown = ", ".join(resources[:MAX_LISTED])
    if len(resources) > MAX_LISTED:
        shown += f" and {len(resources) - MAX_LISTED} more"
    return (
        f"The namespace holds custom resources whose operators kaudit does not know ({shown}): "
        "if one of them creates the pods, the selector may be right; check on the cluster"
    )
