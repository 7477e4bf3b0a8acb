"""The changed connections folded by workload, with pod counts: the view for people."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kaudit.model import Protocol
from kaudit.review.changes import PathChange, Scope
from kaudit.review.ports import PortRange


@dataclass(frozen=True, slots=True)
class WorkloadChange:
    """Connections from one workload (or outside address) to another, on the same ports."""

    scope: Scope
    source: str  # "namespace/Kind/name", or an address
    target: str
    protocols: tuple[Protocol, ...]  # those on which the same pods changed on the same ports
    ports: tuple[PortRange, ...]
    pairs: int  # connections (pod pairs, or pods for the outside cases)
    source_pods: int  # how many pods of the source take part (0 for an address)
    target_pods: int

    @property
    def ports_text(self) -> str:
        return ",".join(str(r) for r in self.ports)

    @property
    def protocols_text(self) -> str:
        return "/".join(p.value for p in self.protocols)


def group_by_workload(
    changes: Iterable[PathChange], workloads: Mapping[str, str]
) -> tuple[WorkloadChange, ...]:
    """Per (scope, source workload, target workload, protocol, ports), the pairs counted."""
    pairs: Counter[tuple[Scope, str, str, Protocol, tuple[PortRange, ...]]] = Counter()
    sources: dict[tuple[Scope, str, str, Protocol, tuple[PortRange, ...]], set[str]] = {}
    targets: dict[tuple[Scope, str, str, Protocol, tuple[PortRange, ...]], set[str]] = {}
    for change in changes:
        by_source = _by_workload(change.sources, workloads)
        by_target = _by_workload(change.targets, workloads)
        for source, source_pods in by_source.items():
            for target, target_pods in by_target.items():
                count = len(source_pods) * len(target_pods)
                if change.scope is Scope.PODS and source == target:
                    count -= len(set(source_pods) & set(target_pods))
                if not count:
                    continue
                key = (change.scope, source, target, change.protocol, change.ports)
                pairs[key] += count
                sources.setdefault(key, set()).update(p for p in source_pods if p in workloads)
                targets.setdefault(key, set()).update(p for p in target_pods if p in workloads)
    # Rows differing only in protocol (same pods, same ports) are one row.
    folded: dict[tuple[Scope, str, str, tuple[PortRange, ...], int, int, int], list[Protocol]] = {}
    for key, count in sorted(pairs.items(), key=lambda item: _order(item[0])):
        scope, source, target, protocol, ports = key
        row_key = (scope, source, target, ports, count, len(sources[key]), len(targets[key]))
        folded.setdefault(row_key, []).append(protocol)
    return tuple(
        WorkloadChange(
            scope=scope,
            source=source,
            target=target,
            protocols=tuple(protocols),
            ports=ports,
            pairs=count,
            source_pods=source_pods,
            target_pods=target_pods,
        )
        for (scope, source, target, ports, count, source_pods, target_pods), protocols in (
            folded.items()
        )
    )


def _by_workload(members: Iterable[str], workloads: Mapping[str, str]) -> dict[str, list[str]]:
    """Pods by their workload; an address stays itself."""
    grouped: dict[str, list[str]] = {}
    for member in members:
        grouped.setdefault(workloads.get(member, member), []).append(member)
    return grouped


def _order(
    key: tuple[Scope, str, str, Protocol, tuple[PortRange, ...]],
) -> tuple[str, str, str, str, tuple[PortRange, ...]]:
    scope, source, target, protocol, ports = key
    return (scope.value, source, target, protocol.value, ports)
