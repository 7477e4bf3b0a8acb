"""`kaudit reach`: one pod pair, a pod and an outside address, or the whole matrix for a port."""

from __future__ import annotations

import json

from kaudit.cli.reach_pairs import answers_json, answers_text, pair_answers, pod_groups
from kaudit.cli.reach_targets import Target, resolve
from kaudit.errors import InputError
from kaudit.jsontypes import JsonObject, JsonValue, json_array
from kaudit.model import Pod, Protocol, Snapshot
from kaudit.netpol.engine import PolicyEngine
from kaudit.report.textsafe import terminal_lines

# Above this many pods the dense pod-by-pod matrix is refused without --dense: it
# grows with the square of the pods (hundreds of MB at a few thousand pods).
DENSE_LIMIT = 2000


def reach_report(
    snapshot: Snapshot,
    *,
    src: str | None,
    dst: str | None,
    to_ip: str | None,
    port: int,
    protocol: Protocol,
    fmt: str,
    dense: bool = False,
    from_ip: str | None = None,
) -> str:
    """The answer of `kaudit reach`, as text or JSON (`fmt` "text" or "json").

    `src` and `dst` name a pod ("namespace/name") or a workload ("namespace/name" or
    "namespace/Kind/name", see `kaudit.cli.reach_targets`).

    - `src` and `dst`: may src reach dst, and which policies and rules decide it.
    - `src` and `to_ip` (address or CIDR): may src reach that address outside the cluster.
    - `from_ip` (one address) and `dst`: may a client at that address reach dst.
    - `src` alone: the pods src may reach; `dst` alone: the pods that may reach dst.
    - neither: the whole matrix for the port, in JSON
      `{"port", "protocol", "pods": [...], "allowed": {src: {dst: bool}}}` with every
      pair present (text lists the allowed pairs). Refused above DENSE_LIMIT pods
      unless `dense` (the grouped answers of `kaudit.cli.reach_groups` scale).

    A pair answer between two pods is one verdict (JSON: the verdict itself). With a
    workload or an outside client, the answer says which pods each side stands for,
    and lists the distinct verdicts when the pods do not all get the same one.

    Unknown names (with the closest names of the input) and bad addresses raise
    InputError. Text shows names from the input as text only (terminal controls
    escaped, very long names cut).
    """
    answer = _answer(
        snapshot,
        src=src,
        dst=dst,
        to_ip=to_ip,
        from_ip=from_ip,
        port=port,
        protocol=protocol,
        fmt=fmt,
        dense=dense,
    )
    return terminal_lines(answer) if fmt == "text" else answer


def _answer(
    snapshot: Snapshot,
    *,
    src: str | None,
    dst: str | None,
    to_ip: str | None,
    from_ip: str | None,
    port: int,
    protocol: Protocol,
    fmt: str,
    dense: bool,
) -> str:
    if fmt not in ("text", "json"):
        raise InputError(f"--format: unknown format {fmt!r} (expected text or json)")
    if dst is not None and to_ip is not None:
        raise InputError("--to and --to-ip cannot be combined")
    if to_ip is not None and src is None:
        raise InputError("--to-ip needs --from")
    if from_ip is not None and (src is not None or to_ip is not None or dst is None):
        raise InputError("--from-ip needs --to, without --from or --to-ip")
    engine = PolicyEngine(snapshot)
    if from_ip is not None or (src is not None and (dst is not None or to_ip is not None)):
        return _pair(engine, src, dst, to_ip, from_ip, port, protocol, fmt)
    if src is not None or dst is not None:
        return _neighbours(engine, src, dst, port, protocol, fmt)
    return _matrix(engine, port, protocol, fmt, dense)


def _pair(
    engine: PolicyEngine,
    src: str | None,
    dst: str | None,
    to_ip: str | None,
    from_ip: str | None,
    port: int,
    protocol: Protocol,
    fmt: str,
) -> str:
    source = resolve(engine, src, "--from") if src is not None else None
    target = resolve(engine, dst, "--to") if dst is not None else None
    try:
        answers = pair_answers(
            engine, source, target, from_ip=from_ip, to_ip=to_ip, port=port, protocol=protocol
        )
    except ValueError:
        if from_ip is not None:
            raise InputError(f"--from-ip: {from_ip!r} is not an IP address") from None
        raise InputError(f"--to-ip: {to_ip!r} is not an IP address or CIDR") from None
    named_pods = all(t is None or t.workload is None for t in (source, target))
    if from_ip is None and named_pods and len(answers) == 1:
        # Two pods (or a pod and an address): the verdict as it always was.
        verdict = answers[0].verdict
        return _dump(verdict.to_dict()) if fmt == "json" else verdict.explain() + "\n"
    if fmt == "json":
        sides = answers_json(answers, _side_json(source, from_ip), _side_json(target, to_ip))
        return _dump({"port": port, "protocol": protocol.value, **sides})
    headers = [f"--from: {source.description}"] if source and source.workload else []
    if from_ip is not None:
        headers.append(f"--from-ip: {from_ip}, a client outside the cluster")
    if target is not None and target.workload is not None:
        headers.append(f"--to: {target.description}")
    src_text = from_ip or (source.given if source else "")
    dst_text = to_ip or (target.given if target else "")
    return answers_text(answers, headers, src_text, dst_text)


def _side_json(target: Target | None, address: str | None) -> JsonObject:
    if target is None:
        return {"address": address}
    return {
        "given": target.given,
        "workload": target.workload,
        "pods": [p.key for p in target.pods],
    }


def _neighbours(
    engine: PolicyEngine,
    src: str | None,
    dst: str | None,
    port: int,
    protocol: Protocol,
    fmt: str,
) -> str:
    role = "from" if src is not None else "to"
    given = src if src is not None else dst
    assert given is not None
    target = resolve(engine, given, f"--{role}")
    own = {p.key for p in target.pods}
    # Pods the policies cannot tell apart have the same neighbours (but for themselves).
    answers: dict[frozenset[str], tuple[list[Pod], list[str]]] = {}
    for group in pod_groups(target.pods):
        if role == "from":
            found = engine.reachable_from(group[0], port, protocol)
        else:
            found = engine.reachers_of(group[0], port, protocol)
        keys = [p.key for p in found]
        members, reached = answers.setdefault(frozenset(set(keys) - own), ([], []))
        members.extend(group)
        # Each group's answer leaves out its own pod; the others of the workload list it.
        reached[:] = sorted({*reached, *keys})
    if target.workload is None:
        ((_, keys),) = answers.values()
        pod = target.pods[0].key
        if fmt == "json":
            return _dump({"port": port, "protocol": protocol.value, role: pod, "pods": keys})
        heading = (
            f"{pod} may reach on {port}/{protocol}:"
            if role == "from"
            else f"may reach {pod} on {port}/{protocol}:"
        )
        return "\n".join([heading, *_listed(keys)]) + "\n"
    if fmt == "json":
        entries: list[JsonValue] = [
            {"members": [p.key for p in members], "pods": json_array(keys)}
            for members, keys in answers.values()
        ]
        return _dump(
            {
                "port": port,
                "protocol": protocol.value,
                role: given,
                "workload": target.workload,
                "members": [p.key for p in target.pods],
                "answers": entries,
            }
        )
    lines = [f"--{role}: {target.description}"]
    for members, keys in answers.values():
        who = "its pods" if len(answers) == 1 else ", ".join(p.key for p in members)
        lines.append(
            f"{who} may reach on {port}/{protocol}:"
            if role == "from"
            else f"may reach {who} on {port}/{protocol}:"
        )
        lines.extend(_listed(keys))
    return "\n".join(lines) + "\n"


def _listed(keys: list[str]) -> list[str]:
    return [f"  {key}" for key in keys] or ["  (no other pod)"]


def _matrix(engine: PolicyEngine, port: int, protocol: Protocol, fmt: str, dense: bool) -> str:
    pod_count = len(engine.compiled.classes.active_keys)
    if pod_count > DENSE_LIMIT and not dense:
        raise InputError(
            f"the pod-by-pod matrix of {pod_count} pods is too large (over {DENSE_LIMIT}): "
            "use --group class|workload|namespace, or --dense to build it anyway"
        )
    matrix = engine.matrix(port, protocol)
    pods = sorted(matrix)
    if fmt == "json":
        return _dump({"port": port, "protocol": protocol.value, "pods": pods, "allowed": matrix})
    allowed = [(s, d) for s in pods for d in pods if s != d and matrix[s][d]]
    total = len(pods) * (len(pods) - 1)
    lines = [f"{len(allowed)} of {total} pod pairs may connect on {port}/{protocol}:"]
    lines += [f"  {s} -> {d}" for s, d in allowed]
    return "\n".join(lines) + "\n"


def _dump(data: object) -> str:
    return json.dumps(data, indent=2) + "\n"
