"""Pods made real: one network namespace per pod, wired to one bridge without uplink.

The pod side of a veth pair carries the pod's IP (/16: every pod of the node CIDR
is on-link) and a MAC derived from that IP; no default route, so nothing inside can
reach anything but the other pods. Every namespace gets permanent neighbour entries
for every other pod: the kernel's neighbour table is shared by all namespaces and
overflows (probes then fail falsely) once a few dozen pods ARP for each other.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from hack.dataplane.host import run

BRIDGE = "kaudit-dp0"
NETNS_PREFIX = "kaudit-dp-"
VETH_PREFIX = "kdp"
PREFIX_LENGTH = 16


@dataclass(frozen=True)
class Wire:
    """One wired pod: `key` is namespace/name."""

    key: str
    ip: str
    netns: str
    veth: str

    @property
    def mac(self) -> str:
        return mac_for(self.ip)


def mac_for(ip: str) -> str:
    """A locally administered MAC holding the IPv4 address: unique per pod."""
    octets = ipaddress.IPv4Address(ip).packed
    return "02:00:" + ":".join(f"{b:02x}" for b in octets)


def bridge_exists() -> bool:
    return run(["ip", "link", "show", BRIDGE], check=False) != ""


def create_bridge() -> None:
    run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    run(["ip", "link", "set", BRIDGE, "up"])


def delete_bridge() -> None:
    if bridge_exists():
        run(["ip", "link", "del", BRIDGE], check=False)


# kube-router REJECTs denied packets with an ICMP error sent by the host to the
# source pod's address. The host has no address on the bridge, so without this
# route that error would follow the host's default route off the machine; with it,
# the error is discarded and a denied probe simply times out.
def add_blackhole(cidr: str) -> None:
    run(["ip", "route", "add", "blackhole", cidr])


def delete_blackhole(cidr: str) -> None:
    run(["ip", "route", "del", "blackhole", cidr], check=False)


def blackhole_present(cidr: str) -> bool:
    return run(["ip", "route", "show", "type", "blackhole", cidr], check=False).strip() != ""


def wire(key: str, ip: str, index: int) -> Wire:
    w = Wire(key=key, ip=ip, netns=f"{NETNS_PREFIX}{index}", veth=f"{VETH_PREFIX}{index}")
    run(["ip", "netns", "add", w.netns])
    run(["ip", "link", "add", w.veth, "type", "veth", "peer", "name", "eth0", "netns", w.netns])
    run(["ip", "link", "set", w.veth, "master", BRIDGE, "up"])
    run(
        ["ip", "-n", w.netns, "-batch", "-"],
        stdin=(
            "link set lo up\n"
            f"link set eth0 address {w.mac}\n"
            f"addr add {ip}/{PREFIX_LENGTH} dev eth0\n"
            "link set eth0 up\n"
        ),
    )
    return w


def add_neighbours(into: Wire, others: Iterable[Wire]) -> None:
    lines = [
        f"neigh replace {o.ip} lladdr {o.mac} dev eth0 nud permanent\n"
        for o in others
        if o.key != into.key
    ]
    if lines:
        run(["ip", "-n", into.netns, "-batch", "-"], stdin="".join(lines))


def remove_neighbour(into: Wire, gone: Wire) -> None:
    run(["ip", "-n", into.netns, "neigh", "del", gone.ip, "dev", "eth0"], check=False)


def unwire(netns: str, veth: str) -> None:
    """Deleting the namespace deletes the pod side, and so the pair; the host side
    is deleted too in case the namespace was already gone."""
    run(["ip", "netns", "del", netns], check=False)
    run(["ip", "link", "del", veth], check=False)


def leftover_namespaces() -> list[str]:
    out = run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in out.splitlines() if line.startswith(NETNS_PREFIX)]
