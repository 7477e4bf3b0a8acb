"""The dataplane's lifecycle: up, wire pods, await policy sync, probe, down.

Everything created is recorded in state.json as soon as it exists (namespaces,
veths, listener and kube-router pids, the chains and ipsets that were there
before), so `down` (also from another process, after a crash or Ctrl-C) removes
exactly that.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hack.dataplane import host, netns, router
from hack.dataplane.api import Kube, container_ports, pod_key
from hack.dataplane.build import find_kube_router

AGENT = Path(__file__).resolve().parent / "podagent.py"
DEFAULT_NODE = "kwok-node-0"
CANARY_NAMESPACE = "kaudit-dataplane"
CANARY_CLIENT = f"{CANARY_NAMESPACE}/canary-client"
CANARY_SERVER = f"{CANARY_NAMESPACE}/canary-server"
# Denied probes are dropped, so they cost their whole timeout; allowed ones answer
# in well under a millisecond. UDP needs the listener to answer, so it gets longer.
# A probe that timed out where an answer was expected is repeated with the patient
# timeouts (see `confirm`): only a slow machine can turn an allowed path into a
# timeout, never a longer wait a denied one into an answer.
TIMEOUTS = {"TCP": 0.25, "UDP": 0.5}
PATIENT_TIMEOUTS = {"TCP": 2.0, "UDP": 2.0}
SYNC_TIMEOUT = 60.0


class DataplaneError(RuntimeError):
    pass


@dataclass
class WiredPod:
    key: str
    ip: str
    netns: str
    veth: str
    listener_pid: int = 0
    ports: list[str] = field(default_factory=list)


@dataclass
class State:
    kubeconfig: str
    kubectl: str
    node: str
    router_binary: str
    router_pid: int = 0
    chains_before: dict[str, list[str]] = field(default_factory=dict)
    ipsets_before: list[str] = field(default_factory=list)
    bridge_nf_call_before: str = ""
    bridge_created: bool = False
    blackhole: str = ""
    pods: dict[str, WiredPod] = field(default_factory=dict)
    next_index: int = 0
    # Starts open so that the first sync closes it: "denied" can only come from an
    # enforced policy, while "allowed" is also what no sync at all looks like.
    canary_open: bool = True


def state_dir() -> Path:
    explicit = os.environ.get("KAUDIT_DATAPLANE_DIR")
    if explicit:
        return Path(explicit)
    return Path(__file__).resolve().parents[2] / ".kaudit" / "dataplane"


def _canary_objects(node: str) -> str:
    pods = "".join(
        f"""---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {CANARY_NAMESPACE}
  labels: {{role: {name}}}
spec:
  nodeName: {node}
  containers:
  - name: c
    image: registry.k8s.io/pause:3.10
    ports: [{{containerPort: 80, protocol: TCP}}]
"""
        for name in ("canary-client", "canary-server")
    )
    return f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {CANARY_NAMESPACE}\n{pods}"


def _canary_policy(open_: bool) -> str:
    ingress = "[{}]" if open_ else "[]"
    return f"""---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: canary
  namespace: {CANARY_NAMESPACE}
spec:
  podSelector:
    matchLabels: {{role: canary-server}}
  policyTypes: [Ingress]
  ingress: {ingress}
"""


class Dataplane:
    def __init__(self, kube: Kube, state: State, directory: Path) -> None:
        self.kube = kube
        self.state = state
        self.directory = directory
        # The pods' agents started by this process, with their pipes: probes go
        # through them. Agents of another process (a CLI `up`) are probed by a
        # one-off process in the pod's namespace instead.
        self._agents: dict[str, subprocess.Popen[str]] = {}

    # --- state -------------------------------------------------------------------

    @property
    def state_file(self) -> Path:
        return self.directory / "state.json"

    @property
    def router_log(self) -> Path:
        return self.directory / "kube-router.log"

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self.state), indent=1))
        tmp.replace(self.state_file)

    @classmethod
    def load(cls, directory: Path | None = None) -> Dataplane | None:
        directory = directory or state_dir()
        path = directory / "state.json"
        if not path.exists():
            return None
        raw: dict[str, Any] = json.loads(path.read_text())
        pods = {k: WiredPod(**v) for k, v in raw.pop("pods", {}).items()}
        state = State(**raw, pods=pods)
        return cls(Kube(Path(state.kubeconfig), state.kubectl), state, directory)

    # --- up ----------------------------------------------------------------------

    @classmethod
    def up(cls, kube: Kube, node: str = DEFAULT_NODE, directory: Path | None = None) -> Dataplane:
        reason = host.unsupported_reason()
        if reason:
            raise DataplaneError(reason)
        binary = find_kube_router()
        if binary is None:
            raise DataplaneError("kube-router is not built: run `make dataplane-build`")
        directory = directory or state_dir()
        if (directory / "state.json").exists() or netns.bridge_exists():
            raise DataplaneError(
                f"a dataplane is already up (bridge {netns.BRIDGE} or {directory}/state.json):"
                " one per machine; `make dataplane-down` first"
            )
        state = State(
            kubeconfig=str(kube.kubeconfig),
            kubectl=kube.kubectl_binary,
            node=node,
            router_binary=str(binary),
            chains_before=host.chains(),
            ipsets_before=host.ipsets(),
            bridge_nf_call_before=host.read_bridge_nf_call(),
        )
        plane = cls(kube, state, directory)
        plane.save()
        try:
            netns.create_bridge()
            state.bridge_created = True
            plane.save()
            pod_cidr = str(kube.json("get", "node", node)["spec"]["podCIDR"])
            netns.add_blackhole(pod_cidr)
            state.blackhole = pod_cidr
            plane.save()
            host.write_bridge_nf_call("1")
            plane.router_log.unlink(missing_ok=True)
            state.router_pid = router.start(binary, kube.kubeconfig, node, plane.router_log)
            plane.save()
            router.wait_ready(state.router_pid, plane.router_log)
            # The previous run's canary namespace may still be terminating.
            kube.wait_for(
                f"namespace {CANARY_NAMESPACE} of an earlier run to be gone",
                lambda: (
                    kube.run(
                        "get",
                        "namespace",
                        CANARY_NAMESPACE,
                        "--ignore-not-found",
                        "-o",
                        "jsonpath={.status.phase}",
                    ).strip()
                    != "Terminating"
                ),
                timeout=120,
            )
            kube.apply(_canary_objects(node))
            plane.wire_namespaces([CANARY_NAMESPACE], expected=2)
            plane.sync()
        except BaseException:
            plane.down()
            raise
        return plane

    # --- pods --------------------------------------------------------------------

    def wire_namespaces(self, namespaces: list[str], expected: int = 0) -> dict[str, str]:
        """Wire every Running pod of `namespaces` on the node (at least `expected`,
        waited for), unwire their pods that are gone; returns key -> IP."""
        found: list[dict[str, Any]] = []

        def enough() -> bool:
            found[:] = self.kube.pods_on(self.state.node, namespaces)
            return len(found) >= expected

        self.kube.wait_for(f"{expected} running pods in {', '.join(namespaces)}", enough)
        wanted = {pod_key(p): p for p in found}
        stale = [
            k
            for k, w in self.state.pods.items()
            if k.split("/")[0] in namespaces
            and (k not in wanted or wanted[k]["status"]["podIP"] != w.ip)
        ]
        self.unwire(stale)
        new = [key for key in sorted(wanted) if key not in self.state.pods]
        old = [self._wire(w) for w in self.state.pods.values()]
        for key in new:
            self._wire_one(key, wanted[key])
        fresh = [self._wire(self.state.pods[key]) for key in new]
        everyone = old + fresh
        for wire in fresh:
            netns.add_neighbours(wire, everyone)
        for wire in old:
            netns.add_neighbours(wire, fresh)
        return {k: self.state.pods[k].ip for k in wanted}

    def _wire_one(self, key: str, pod: dict[str, Any]) -> None:
        index = self.state.next_index
        self.state.next_index += 1
        ip = str(pod["status"]["podIP"])
        wired = WiredPod(
            key=key, ip=ip, netns=f"{netns.NETNS_PREFIX}{index}", veth=f"{netns.VETH_PREFIX}{index}"
        )
        # Recorded before it exists: a failure half-way is still cleaned up.
        self.state.pods[key] = wired
        self.save()
        netns.wire(key, ip, index)
        sctp = host.sctp_supported()
        wired.ports = [
            f"{port}/{proto}"
            for port, proto in container_ports(pod)
            if proto in ("TCP", "UDP") or (proto == "SCTP" and sctp)
        ]
        wired.listener_pid = self._start_listener(wired)
        self.save()

    @staticmethod
    def _wire(pod: WiredPod) -> netns.Wire:
        return netns.Wire(key=pod.key, ip=pod.ip, netns=pod.netns, veth=pod.veth)

    def _start_listener(self, pod: WiredPod) -> int:
        proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                pod.netns,
                sys.executable,
                str(AGENT),
                "listen",
                pod.key,
                *pod.ports,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            text=True,
            bufsize=1,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise DataplaneError(f"listener of {pod.key} did not start ({proc.wait()})")
        self._agents[pod.key] = proc
        return proc.pid

    def unwire(self, keys: list[str]) -> None:
        for key in keys:
            pod = self.state.pods.get(key)
            if pod is None:
                continue
            self._close_agent(key)
            _kill_listener(pod)
            gone = self._wire(pod)
            for other in self.state.pods.values():
                if other.key != key:
                    netns.remove_neighbour(self._wire(other), gone)
            netns.unwire(pod.netns, pod.veth)
            del self.state.pods[key]
            self.save()

    def unwire_namespaces(self, namespaces: list[str]) -> None:
        self.unwire([k for k in self.state.pods if k.split("/")[0] in namespaces])

    # --- sync and probes -----------------------------------------------------------

    def sync(self, manifest: str = "") -> None:
        """Apply `manifest` (if any) together with a flip of the canary policy, and return
        once the canary probe shows the flip: kube-router then has synced a state at
        least as new as `manifest`, with every pod, namespace and policy change the
        API server had acknowledged before it."""
        self.state.canary_open = not self.state.canary_open
        self.save()
        self.kube.apply(manifest + _canary_policy(self.state.canary_open))
        deadline = time.monotonic() + SYNC_TIMEOUT
        while True:
            reached = self.probe([(CANARY_CLIENT, CANARY_SERVER, 80, "TCP")])
            if reached == [self.state.canary_open]:
                return
            if time.monotonic() > deadline:
                raise DataplaneError(
                    f"kube-router did not enforce the canary policy within {SYNC_TIMEOUT:.0f}s:\n"
                    + router.tail(self.router_log)
                )
            if not router.alive(self.state.router_pid):
                raise DataplaneError("kube-router exited:\n" + router.tail(self.router_log))

    def probe(
        self,
        checks: list[tuple[str, str, int, str]],
        timeouts: dict[str, float] | None = None,
    ) -> list[bool]:
        """Real packets for each (source key, destination key, port, protocol): True when
        the destination's stack got them (its listener answered, or the port was closed),
        False when they were dropped. All sources probe at once."""
        timeouts = timeouts or TIMEOUTS
        by_source: dict[str, list[int]] = defaultdict(list)
        for index, (src, _, _, _) in enumerate(checks):
            by_source[src].append(index)
        pending: list[tuple[list[int], Any]] = []
        for src, indices in by_source.items():
            targets = [
                {
                    "ip": self.state.pods[checks[i][1]].ip,
                    "port": checks[i][2],
                    "proto": checks[i][3],
                    "timeout": timeouts[checks[i][3]],
                }
                for i in indices
            ]
            pending.append((indices, self._send_probe(src, targets)))
        results: list[bool] = [False] * len(checks)
        for indices, receive in pending:
            for index, verdict in zip(indices, receive(), strict=True):
                results[index] = self._verdict(checks[index], verdict)
        return results

    def _send_probe(self, src: str, targets: list[dict[str, Any]]) -> Any:
        """Start probing; returns a function that waits for the verdicts."""
        agent = self._agents.get(src)
        if agent is not None and agent.poll() is None:
            assert agent.stdin is not None and agent.stdout is not None
            agent.stdin.write(json.dumps(targets) + "\n")
            agent.stdin.flush()
            out = agent.stdout

            def from_agent() -> list[str]:
                verdicts: list[str] = json.loads(out.readline())
                return verdicts

            return from_agent
        proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                self.state.pods[src].netns,
                sys.executable,
                str(AGENT),
                "probe",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None
        proc.stdin.write("".join(json.dumps(t) + "\n" for t in targets))
        proc.stdin.close()

        def from_process() -> list[str]:
            out, err = proc.communicate()
            if proc.returncode != 0:
                raise DataplaneError(f"probe from {src} failed: {err.strip()}")
            return out.splitlines()

        return from_process

    def confirm(self, checks: list[tuple[str, str, int, str]], reached: list[bool]) -> list[bool]:
        """Probe again, with patient timeouts, the checks that did not get through."""
        again = [i for i, ok in enumerate(reached) if not ok]
        if not again:
            return reached
        second = self.probe([checks[i] for i in again], PATIENT_TIMEOUTS)
        confirmed = list(reached)
        for index, ok in zip(again, second, strict=True):
            confirmed[index] = ok
        return confirmed

    def _verdict(self, check: tuple[str, str, int, str], verdict: str) -> bool:
        src, dst, port, proto = check
        if verdict == "timeout":
            return False
        if verdict == "refused":
            # Only the destination's own stack can refuse: the firewall's ICMP errors
            # are blackholed (netns.add_blackhole). A refusal on a port the listener
            # holds would mean something else answers.
            if f"{port}/{proto}" in self.state.pods[dst].ports:
                raise DataplaneError(f"{src} -> {dst} {port}/{proto}: refused on a listening port")
            return True
        if verdict == f"answer:{dst}":
            return True
        raise DataplaneError(f"{src} -> {dst} {port}/{proto}: unexpected {verdict!r}")

    def matrix(
        self, keys: list[str], port: int, proto: str, patient: bool = False
    ) -> dict[str, dict[str, bool]]:
        """Every pair of `keys`; `patient` confirms each denied cell with long timeouts."""
        checks = [(src, dst, port, proto) for src in keys for dst in keys]
        reached = self.probe(checks)
        if patient:
            reached = self.confirm(checks, reached)
        verdicts = iter(reached)
        return {src: {dst: next(verdicts) for dst in keys} for src in keys}

    # --- down --------------------------------------------------------------------

    def _close_agent(self, key: str) -> None:
        agent = self._agents.pop(key, None)
        if agent is not None:
            for pipe in (agent.stdin, agent.stdout):
                if pipe is not None:
                    pipe.close()

    def down(self) -> list[str]:
        """Remove everything recorded; returns what is still left (empty when clean)."""
        for pod in list(self.state.pods.values()):
            self._close_agent(pod.key)
            _kill_listener(pod)
        if self.state.router_pid:
            router.stop(self.state.router_pid, self.state.router_binary)
        for pod in list(self.state.pods.values()):
            netns.unwire(pod.netns, pod.veth)
        self.state.pods.clear()
        if self.state.bridge_created:
            netns.delete_bridge()
        if self.state.blackhole:
            netns.delete_blackhole(self.state.blackhole)
        host.remove_new_chains(self.state.chains_before)
        host.remove_new_ipsets(self.state.ipsets_before)
        if self.state.bridge_nf_call_before:
            host.write_bridge_nf_call(self.state.bridge_nf_call_before)
        try:
            if self.kube.live():
                self.kube.run(
                    "delete",
                    "namespace",
                    CANARY_NAMESPACE,
                    "--ignore-not-found",
                    "--wait=false",
                    check=False,
                )
        except (OSError, subprocess.SubprocessError):
            pass  # the control plane may already be gone: nothing of ours lives there
        left = self.leftovers()
        if not left:
            self.state_file.unlink(missing_ok=True)
        return left

    def leftovers(self) -> list[str]:
        left = [f"netns {n}" for n in netns.leftover_namespaces()]
        if netns.bridge_exists():
            left.append(f"bridge {netns.BRIDGE}")
        if self.state.blackhole and netns.blackhole_present(self.state.blackhole):
            left.append(f"route blackhole {self.state.blackhole}")
        for table, chains in host.chains().items():
            before = set(self.state.chains_before.get(table, []))
            left += [f"chain {table}/{c}" for c in chains if c not in before]
        before_sets = set(self.state.ipsets_before)
        left += [f"ipset {s}" for s in host.ipsets() if s not in before_sets]
        if self.state.router_pid and router.is_kube_router(
            self.state.router_pid, self.state.router_binary
        ):
            left.append(f"kube-router pid {self.state.router_pid}")
        return left


def _kill_listener(pod: WiredPod) -> None:
    """Only a pid that still runs this pod's listener (pids are reused)."""
    if not pod.listener_pid:
        return
    try:
        cmdline = Path(f"/proc/{pod.listener_pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if str(AGENT).encode() in cmdline and pod.key.encode() in cmdline:
        try:
            os.killpg(pod.listener_pid, signal.SIGKILL)
            os.waitpid(pod.listener_pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
