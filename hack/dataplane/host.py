"""Host facts and host-global state: what the dataplane needs, and what it leaves.

Chains, ipsets and the bridge are global to the machine, so `up` records what
exists before it starts and `down` removes exactly what appeared since.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

BRIDGE_NF_CALL = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
IPTABLES_TABLES = ("filter", "nat", "mangle", "raw")
COMMANDS = ("ip", "iptables", "iptables-save", "ipset")


class HostError(RuntimeError):
    pass


def run(args: Sequence[str], stdin: str | None = None, check: bool = True) -> str:
    proc = subprocess.run(
        list(args), input=stdin, capture_output=True, text=True, check=False, timeout=60
    )
    if check and proc.returncode != 0:
        raise HostError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def _succeeds(args: Sequence[str]) -> bool:
    try:
        return subprocess.run(list(args), capture_output=True, check=False).returncode == 0
    except OSError:
        return False


def unsupported_reason() -> str | None:
    """Why this machine cannot run the dataplane, in one line; None when it can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, iptables and ipset)"
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if missing:
        return f"missing {', '.join(missing)} (make dataplane-deps installs iptables and ipset)"
    if not BRIDGE_NF_CALL.exists():
        _succeeds(["modprobe", "br_netfilter"])
        if not BRIDGE_NF_CALL.exists():
            return "the kernel has no br_netfilter (bridged packets would bypass iptables)"
    if not _succeeds(["ipset", "list", "-n"]):
        return "the kernel has no ipset support"
    if not _succeeds(["iptables", "-S", "FORWARD"]):
        return "iptables cannot read the filter table"
    probe_ns = f"kaudit-dp-check-{os.getpid()}"
    if not _succeeds(["ip", "netns", "add", probe_ns]):
        return "cannot create network namespaces (ip netns add)"
    _succeeds(["ip", "netns", "del", probe_ns])
    return None


def sctp_supported() -> bool:
    import socket

    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP).close()
    except OSError:
        return False
    return True


def chains() -> dict[str, list[str]]:
    """User-defined chains per iptables table."""
    found: dict[str, list[str]] = {}
    for table in IPTABLES_TABLES:
        out = run(["iptables", "-t", table, "-S"], check=False)
        found[table] = [line.split()[1] for line in out.splitlines() if line.startswith("-N ")]
    return found


def ipsets() -> list[str]:
    return run(["ipset", "list", "-n"], check=False).split()


def remove_new_chains(before: dict[str, list[str]]) -> list[str]:
    """Delete the chains that did not exist in `before`, with every rule jumping to them."""
    removed: list[str] = []
    for table in IPTABLES_TABLES:
        new = set(chains().get(table, [])) - set(before.get(table, []))
        if not new:
            continue
        for line in run(["iptables", "-t", table, "-S"], check=False).splitlines():
            words = shlex.split(line)
            if words[:1] == ["-A"] and words[1] not in new and _jumps_to(words, new):
                run(["iptables", "-t", table, "-D", *words[1:]], check=False)
        for chain in sorted(new):
            run(["iptables", "-t", table, "-F", chain], check=False)
        for chain in sorted(new):
            run(["iptables", "-t", table, "-X", chain], check=False)
            removed.append(f"{table}/{chain}")
    return removed


def _jumps_to(words: list[str], targets: set[str]) -> bool:
    return any(
        word in ("-j", "-g") and index + 1 < len(words) and words[index + 1] in targets
        for index, word in enumerate(words)
    )


def remove_new_ipsets(before: list[str]) -> list[str]:
    new = sorted(set(ipsets()) - set(before))
    for name in new:
        run(["ipset", "destroy", name], check=False)
    return new


def read_bridge_nf_call() -> str:
    return BRIDGE_NF_CALL.read_text().strip()


def write_bridge_nf_call(value: str) -> None:
    BRIDGE_NF_CALL.write_text(value + "\n")
