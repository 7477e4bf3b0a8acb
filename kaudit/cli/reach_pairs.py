"""`kaudit reach` pair answers when a side is a workload or an outside address.

A workload stands for its pods. Pods with the same namespace, labels, ports,
hostNetwork flag and node get the same decisions, so one pod of each such group is
asked; groups whose verdicts agree (the same allowed or denied, the same reasons,
policies and policy rules) share one answer. When every pair agrees the answer is
one verdict; otherwise each distinct answer lists the pods it holds for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from kaudit.cli.reach_targets import Target
from kaudit.jsontypes import JsonObject, JsonValue
from kaudit.model import Pod, Protocol
from kaudit.netpol.engine import PolicyEngine
from kaudit.netpol.verdict import Verdict

Group = tuple[Pod, ...]


def pod_groups(pods: Sequence[Pod]) -> list[Group]:
    """The pods split into groups the policies cannot tell apart, in pod order."""
    groups: dict[tuple[object, ...], list[Pod]] = {}
    for pod in pods:
        key = (
            pod.namespace,
            frozenset(pod.labels.items()),
            pod.ports,
            pod.host_network,
            pod.node_name,
        )
        groups.setdefault(key, []).append(pod)
    return [tuple(g) for g in groups.values()]


def _signature(verdict: Verdict) -> str:
    """The verdict without the names of its pods: equal for pods answered alike."""
    data = verdict.to_dict()
    for key in ("source", "destination", "notes"):
        data.pop(key, None)
    for side in ("egress", "ingress"):
        part = data.get(side)
        if isinstance(part, dict):
            part.pop("pod", None)
    return json.dumps(data, sort_keys=True)


@dataclass
class Answer:
    """One distinct verdict and the (sources, destinations) pairs of groups it holds for."""

    verdict: Verdict
    pairs: list[tuple[Group, Group]] = field(default_factory=list)


def pair_answers(
    engine: PolicyEngine,
    src: Target | None,
    dst: Target | None,
    *,
    from_ip: str | None,
    to_ip: str | None,
    port: int,
    protocol: Protocol,
) -> list[Answer]:
    """The distinct answers for every pod of `src` (or `from_ip`) to every pod of `dst`
    (or `to_ip`). Raises ValueError for an address that does not parse."""
    sources: list[Group] = pod_groups(src.pods) if src is not None else [()]
    destinations: list[Group] = pod_groups(dst.pods) if dst is not None else [()]
    answers: dict[str, Answer] = {}
    for source in sources:
        for destination in destinations:
            if from_ip is not None:
                verdict = engine.check_from_ip(from_ip, destination[0], port, protocol)
            elif to_ip is not None:
                verdict = engine.check_ip(source[0], to_ip, port, protocol)
            elif source == destination and len(source) > 1:
                verdict = engine.check(source[0], source[1], port, protocol)
            elif source == destination and len(sources) * len(destinations) > 1:
                continue  # a pod may always reach itself: no answer worth giving
            else:
                verdict = engine.check(source[0], destination[0], port, protocol)
            answer = answers.setdefault(_signature(verdict), Answer(verdict))
            answer.pairs.append((source, destination))
    return list(answers.values())


def _keys(group: Group) -> str:
    shown = ", ".join(p.key for p in group[:10])
    return shown + (f" and {len(group) - 10} more" if len(group) > 10 else "")


def _pairs_text(answer: Answer, src_text: str, dst_text: str) -> list[str]:
    """'from A, B to X' lines, one per source group (its destination groups joined)."""
    by_source: dict[Group, list[Group]] = {}
    for source, destination in answer.pairs:
        by_source.setdefault(source, []).append(destination)
    lines = []
    for source, destinations in by_source.items():
        origin = _keys(source) if source else src_text
        target = ", ".join(_keys(d) for d in destinations) if destinations[0] else dst_text
        lines.append(f"from {origin} to {target}:")
    return lines


def answers_text(answers: list[Answer], headers: list[str], src_text: str, dst_text: str) -> str:
    lines = list(headers)
    if len(answers) == 1:
        lines.append(answers[0].verdict.explain())
        return "\n".join(lines) + "\n"
    lines.append(f"The pods do not all get the same answer: {len(answers)} answers.")
    for answer in answers:
        lines.extend(_pairs_text(answer, src_text, dst_text))
        lines.extend("  " + line for line in answer.verdict.explain().split("\n"))
    return "\n".join(lines) + "\n"


def answers_json(answers: list[Answer], src: JsonObject, dst: JsonObject) -> JsonObject:
    verdicts = {a.verdict.allowed for a in answers}
    entries: list[JsonValue] = [
        {
            "pairs": [
                {"from": [p.key for p in s], "to": [p.key for p in d]} for s, d in answer.pairs
            ],
            "verdict": answer.verdict.to_dict(),
        }
        for answer in answers
    ]
    return {
        "from": src,
        "to": dst,
        "allowed": "all" if verdicts == {True} else "none" if verdicts == {False} else "some",
        "answers": entries,
    }
