"""What `kaudit reach --from` and `--to` name: a pod or a workload, and the pods it stands for.

`NAMESPACE/NAME` is a pod, or else the workload of that name (a Deployment, a
StatefulSet, an operator's resource such as a Prometheus); `NAMESPACE/KIND/NAME`
is the workload of that kind (`Pod` for a bare pod). A workload stands for its
running pods. A name that matches nothing is refused with the closest names of
the input ("did you mean …").
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from kaudit.errors import InputError
from kaudit.model import Pod
from kaudit.netpol.engine import PolicyEngine

# How many close names a miss suggests, and how close they must be (difflib's ratio).
SUGGESTIONS = 3
CLOSENESS = 0.6


@dataclass(frozen=True, slots=True)
class Target:
    """A `--from` or `--to` value and the pods it stands for (sorted by key)."""

    given: str
    workload: str | None  # "namespace/Kind/name" when a workload was named, else None
    pods: tuple[Pod, ...]

    @property
    def description(self) -> str:
        """'pod shop/web-0', or 'StatefulSet shop/web: 3 pods (shop/web-0, …)'."""
        if self.workload is None:
            return f"pod {self.pods[0].key}"
        namespace, kind, name = self.workload.split("/", 2)
        keys = ", ".join(p.key for p in self.pods[:10])
        more = f" and {len(self.pods) - 10} more" if len(self.pods) > 10 else ""
        count = f"{len(self.pods)} pod{'' if len(self.pods) == 1 else 's'}"
        return f"{kind} {namespace}/{name}: {count} ({keys}{more})"


def _workloads(engine: PolicyEngine) -> dict[str, list[Pod]]:
    """ "namespace/Kind/name" -> its running pods, for every workload with pods."""
    found: dict[str, list[Pod]] = {}
    for pod in engine.pods:
        found.setdefault(f"{pod.namespace}/{pod.owner.kind}/{pod.owner.name}", []).append(pod)
    return found


def resolve(engine: PolicyEngine, given: str, flag: str) -> Target:
    """The pods `given` names; InputError (one line, with suggestions) when it names none."""
    parts = given.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise InputError(f"{flag}: expected NAMESPACE/NAME or NAMESPACE/KIND/NAME, got {given!r}")
    workloads = _workloads(engine)
    if len(parts) == 2:
        pod = engine.pod(given)
        if pod is not None:
            if pod.terminated:
                raise InputError(f"{flag}: pod {given} has terminated ({pod.phase})")
            return Target(given, None, (pod,))
        namespace, name = parts
        named = sorted(
            key
            for key in workloads
            if key.startswith(f"{namespace}/")
            and key.endswith(f"/{name}")
            and key.count("/") == 2
            and key.split("/")[1] != "Pod"
        )
        if len(named) > 1:
            raise InputError(
                f"{flag}: {given} names several workloads ({', '.join(named)}): "
                "give NAMESPACE/KIND/NAME"
            )
        if named:
            return Target(given, named[0], tuple(workloads[named[0]]))
    else:
        namespace, kind, name = parts
        for key, pods in workloads.items():
            key_namespace, key_kind, key_name = key.split("/", 2)
            if (key_namespace, key_kind.lower(), key_name) == (namespace, kind.lower(), name):
                return Target(given, key, tuple(pods))
        pod = engine.pod(f"{namespace}/{name}") if kind.lower() == "pod" else None
        if pod is not None:  # a terminated bare pod
            raise InputError(f"{flag}: pod {namespace}/{name} has terminated ({pod.phase})")
    raise InputError(f"{flag}: no pod or workload {given} in the input" + _suggest(engine, given))


def _suggest(engine: PolicyEngine, given: str) -> str:
    """'; did you mean a or b?' naming the closest pods and workloads, or ''.

    Names of the namespace given are compared by their name alone (the shared namespace
    would make every one of them look close); other namespaces' by the whole string.
    """
    namespace, name = given.split("/")[0], given.split("/")[-1]
    spelled: dict[str, str] = {}  # "namespace/name" (lower-cased) -> how to write it
    for pod in engine.pods:
        if pod.workload is not None:
            workload = f"{pod.namespace}/{pod.owner.kind}/{pod.owner.name}"
            spelled.setdefault(f"{pod.namespace}/{pod.owner.name}".lower(), workload)
            # The pods' common name (a StatefulSet's, as an operator names it) too.
            stem = re.sub(r"-\d+$", "", pod.name)
            spelled.setdefault(f"{pod.namespace}/{stem}".lower(), workload)
        spelled.setdefault(pod.key.lower(), pod.key)
    here = {k.split("/", 1)[1]: v for k, v in spelled.items() if k.startswith(f"{namespace}/")}
    close = difflib.get_close_matches(name.lower(), here, n=SUGGESTIONS, cutoff=CLOSENESS)
    shown = [here[c] for c in close]
    if not shown:
        close = difflib.get_close_matches(given.lower(), spelled, n=SUGGESTIONS, cutoff=CLOSENESS)
        shown = [spelled[c] for c in close]
    return f"; did you mean {' or '.join(dict.fromkeys(shown))}?" if shown else ""
