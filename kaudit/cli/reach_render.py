"""`kaudit reach`: one pod pair, a pod and an outside address, or the whole matrix for a port."""

from __future__ import annotations

import json

from kaudit.errors import InputError
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
) -> str:
    """The answer of `kaudit reach`, as text or JSON (`fmt` "text" or "json").

    - `src` and `dst` ("namespace/name"): may src reach dst, and which policies and
      rules decide it.
    - `src` and `to_ip` (address or CIDR): may src reach that address outside the cluster.
    - `src` alone: the pods src may reach; `dst` alone: the pods that may reach dst.
    - neither: the whole matrix for the port, in JSON
      `{"port", "protocol", "pods": [...], "allowed": {src: {dst: bool}}}` with every
      pair present (text lists the allowed pairs). Refused above DENSE_LIMIT pods
      unless `dense` (the grouped answers of `kaudit.cli.reach_groups` scale).

    Unknown pod names and bad addresses raise InputError. Text shows names from the
    input as text only (terminal controls escaped, very long names cut).
    """
    answer = _answer(
        snapshot, src=src, dst=dst, to_ip=to_ip, port=port, protocol=protocol, fmt=fmt, dense=dense
    )
    return terminal_lines(answer) if fmt == "text" else answer


def _answer(
    snapshot: Snapshot,
    *,
    src: str | None,
    dst: str | None,
    to_ip: str | None,
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
    engine = PolicyEngine(snapshot)
    if src is not None and (dst is not None or to_ip is not None):
        source = _pod(engine, src, "--from")
        if to_ip is not None:
            try:
                verdict = engine.check_ip(source, to_ip, port, protocol)
            except ValueError:
                raise InputError(f"--to-ip: {to_ip!r} is not an IP address or CIDR") from None
        else:
            assert dst is not None
            verdict = engine.check(source, _pod(engine, dst, "--to"), port, protocol)
        if fmt == "json":
            return _dump(verdict.to_dict())
        return verdict.explain() + "\n"
    if src is not None or dst is not None:
        return _neighbours(engine, src, dst, port, protocol, fmt)
    return _matrix(engine, port, protocol, fmt, dense)


def _pod(engine: PolicyEngine, key: str, flag: str) -> Pod:
    if key.count("/") != 1 or not all(key.split("/")):
        raise InputError(f"{flag}: expected NAMESPACE/NAME, got {key!r}")
    pod = engine.pod(key)
    if pod is None:
        raise InputError(f"{flag}: no pod {key} in the input")
    if pod.terminated:
        raise InputError(f"{flag}: pod {key} has terminated ({pod.phase})")
    return pod


def _neighbours(
    engine: PolicyEngine,
    src: str | None,
    dst: str | None,
    port: int,
    protocol: Protocol,
    fmt: str,
) -> str:
    if src is not None:
        pod = _pod(engine, src, "--from")
        found = engine.reachable_from(pod, port, protocol)
        role, heading = "from", f"{pod.key} may reach on {port}/{protocol}:"
    else:
        assert dst is not None
        pod = _pod(engine, dst, "--to")
        found = engine.reachers_of(pod, port, protocol)
        role, heading = "to", f"may reach {pod.key} on {port}/{protocol}:"
    keys = [p.key for p in found]
    if fmt == "json":
        return _dump({"port": port, "protocol": protocol.value, role: pod.key, "pods": keys})
    lines = [heading] + [f"  {key}" for key in keys]
    if not keys:
        lines.append("  (no other pod)")
    return "\n".join(lines) + "\n"


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
