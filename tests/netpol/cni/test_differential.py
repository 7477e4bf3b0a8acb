"""Random clusters with Cilium or Calico policies (and Kubernetes NetworkPolicies beside
them): the engine must answer every pod pair, port and protocol as the reference
evaluator written from the documentation (tests/netpol/cni/reference.py) does."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from kaudit.collect.manifests import load_manifests
from kaudit.model import Protocol, Snapshot
from tests.netpol.cni.reference import CniReference

NAMESPACES = ("a", "b")
APPS = ("web", "db", "api")
TIERS = ("x", "y")
PORTS = (80, 443, 5432)
QUESTIONS = ((80, "TCP"), (443, "TCP"), (5432, "TCP"), (80, "UDP"))
SEEDS = range(40)


def _pods(rng: random.Random) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for ns in NAMESPACES:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns, "labels": {"zone": rng.choice("pq")}},
            }
        )
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "robot",
                    "namespace": ns,
                    "labels": {"team": rng.choice("mn")},
                },
            }
        )
        for index in range(3):
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"p{index}",
                        "namespace": ns,
                        "labels": {"app": rng.choice(APPS), "tier": rng.choice(("1", "2"))},
                    },
                    "spec": {
                        "serviceAccountName": rng.choice(("robot", "default")),
                        "containers": [
                            {
                                "name": "c",
                                "ports": [{"containerPort": p, "name": f"p{p}"} for p in PORTS],
                            }
                        ],
                    },
                }
            )
    return objects


def _kubernetes_policy(rng: random.Random) -> dict[str, Any]:
    ns = rng.choice(NAMESPACES)
    rule: dict[str, Any] = {"from": [{"podSelector": {"matchLabels": {"app": rng.choice(APPS)}}}]}
    if rng.random() < 0.5:
        rule["ports"] = [{"port": rng.choice(PORTS)}]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "k", "namespace": ns},
        "spec": {"podSelector": {"matchLabels": {"app": rng.choice(APPS)}}, "ingress": [rule]},
    }


def _cilium_selector(rng: random.Random) -> dict[str, Any]:
    choice = rng.random()
    if choice < 0.2:
        return {}
    if choice < 0.35:
        return {
            "matchLabels": {
                "io.kubernetes.pod.namespace": rng.choice(NAMESPACES),
                "app": rng.choice(APPS),
            }
        }
    if choice < 0.45:
        return {"matchLabels": {"io.cilium.k8s.namespace.labels.zone": rng.choice("pq")}}
    if choice < 0.55:
        return {
            "matchExpressions": [{"key": "app", "operator": "NotIn", "values": [rng.choice(APPS)]}]
        }
    return {"matchLabels": {"app": rng.choice(APPS)}}


def _cilium_rule(rng: random.Random, ingress: bool) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    peer = rng.random()
    key = "from" if ingress else "to"
    if peer < 0.6:
        rule[f"{key}Endpoints"] = [_cilium_selector(rng)]
    elif peer < 0.75:
        rule[f"{key}Entities"] = [rng.choice(("all", "cluster", "world", "host"))]
    elif peer < 0.85:
        rule[f"{key}CIDR"] = ["10.0.0.0/8"]
    if rng.random() < 0.5 or not rule:
        port: dict[str, Any] = {
            "port": str(rng.choice(PORTS)),
            "protocol": rng.choice(("TCP", "UDP", "ANY")),
        }
        if rng.random() < 0.2:
            port = {"port": "80", "endPort": 5000, "protocol": "TCP"}
        if rng.random() < 0.15:
            port = {"port": "p443"}
        rule["toPorts"] = [{"ports": [port]}]
    return rule if rng.random() < 0.9 else {}


def _cilium(rng: random.Random) -> list[dict[str, Any]]:
    objects = []
    for index in range(rng.randint(1, 3)):
        spec: dict[str, Any] = {"endpointSelector": _cilium_selector(rng)}
        for section in ("ingress", "egress", "ingressDeny", "egressDeny"):
            if rng.random() < (0.5 if "Deny" not in section else 0.25):
                spec[section] = [
                    _cilium_rule(rng, section.startswith("ingress"))
                    for _ in range(rng.randint(1, 2))
                ]
        if rng.random() < 0.15:
            spec["enableDefaultDeny"] = {
                "ingress": rng.random() < 0.5,
                "egress": rng.random() < 0.5,
            }
        clusterwide = rng.random() < 0.3
        meta: dict[str, Any] = {"name": f"c{index}"}
        if not clusterwide:
            meta["namespace"] = rng.choice(NAMESPACES)
        objects.append(
            {
                "apiVersion": "cilium.io/v2",
                "kind": "CiliumClusterwideNetworkPolicy" if clusterwide else "CiliumNetworkPolicy",
                "metadata": meta,
                "spec": spec,
            }
        )
    return objects


def _calico_selector(rng: random.Random) -> str:
    return rng.choice(
        (
            f"app == '{rng.choice(APPS)}'",
            f"app != '{rng.choice(APPS)}'",
            f"app in {{'{rng.choice(APPS)}', '{rng.choice(APPS)}'}}",
            "has(tier) && tier == '1'",
            "!has(app) || tier == '2'",
            "all()",
        )
    )


def _calico_entity(rng: random.Random, destination: bool) -> dict[str, Any]:
    entity: dict[str, Any] = {}
    roll = rng.random()
    if roll < 0.4:
        entity["selector"] = _calico_selector(rng)
    elif roll < 0.5:
        entity["namespaceSelector"] = f"zone == '{rng.choice('pq')}'"
    elif roll < 0.6:
        entity["serviceAccounts"] = rng.choice(
            ({"names": ["robot"]}, {"selector": f"team == '{rng.choice('mn')}'"})
        )
    elif roll < 0.65:
        entity["notSelector"] = _calico_selector(rng)
    elif roll < 0.7:
        entity["nets"] = ["10.0.0.0/8"]
    if destination and rng.random() < 0.5:
        entity["ports"] = [rng.choice((80, "400:500", "p5432"))]
        if rng.random() < 0.2:
            entity["notPorts"] = [443]
    return entity


def _calico(rng: random.Random) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    tiers = [t for t in TIERS if rng.random() < 0.5]
    for tier in tiers:
        spec: dict[str, Any] = {"order": rng.choice((100, 200))}
        if rng.random() < 0.4:
            spec["defaultAction"] = "Pass"
        objects.append(
            {
                "apiVersion": "projectcalico.org/v3",
                "kind": "Tier",
                "metadata": {"name": tier},
                "spec": spec,
            }
        )
    for index in range(rng.randint(1, 4)):
        tier = rng.choice([*tiers, "default", "default"])
        spec = {"selector": _calico_selector(rng), "tier": tier}
        if rng.random() < 0.7:
            spec["order"] = rng.choice((10, 500, 1000, 1500))
        for direction in ("ingress", "egress"):
            if rng.random() < 0.6:
                rules = []
                for _ in range(rng.randint(1, 3)):
                    destination = _calico_entity(rng, True)
                    rule: dict[str, Any] = {
                        "action": rng.choice(("Allow", "Allow", "Deny", "Pass", "Log")),
                        "source": _calico_entity(rng, False),
                        "destination": destination,
                    }
                    if "ports" in destination or rng.random() < 0.3:
                        rule["protocol"] = "TCP"
                    rules.append(rule)
                spec[direction] = rules
        is_global = rng.random() < 0.4
        kind = "GlobalNetworkPolicy" if is_global else "NetworkPolicy"
        meta: dict[str, Any] = {"name": f"{tier}.c{index}"}
        if not is_global:
            meta["namespace"] = rng.choice(NAMESPACES)
        elif rng.random() < 0.3:
            spec["namespaceSelector"] = f"zone == '{rng.choice('pq')}'"
        objects.append(
            {"apiVersion": "projectcalico.org/v3", "kind": kind, "metadata": meta, "spec": spec}
        )
    return objects


def scenario(seed: int, folder: Path) -> Snapshot:
    rng = random.Random(seed)
    objects = _pods(rng)
    if rng.random() < 0.5:
        objects.append(_kubernetes_policy(rng))
    objects += _cilium(rng) if seed % 2 == 0 else _calico(rng)
    path = folder / f"scenario-{seed}.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return load_manifests([str(path)])


def reference_matrix(snapshot: Snapshot) -> dict[tuple[str, str, int, str], bool]:
    reference = CniReference(snapshot)
    return {
        (src.key, dst.key, port, protocol): reference.allowed(src, dst, port, Protocol(protocol))
        for src in snapshot.pods
        for dst in snapshot.pods
        for port, protocol in QUESTIONS
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_scenarios_are_valid_and_not_trivial(seed: int, tmp_path: Path) -> None:
    snapshot = scenario(seed, tmp_path)
    assert snapshot.cilium_policies if seed % 2 == 0 else snapshot.calico_policies
    assert len(reference_matrix(snapshot)) == len(snapshot.pods) ** 2 * len(QUESTIONS)


def test_the_scenarios_deny_and_allow() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        answers = [
            v for seed in SEEDS for v in reference_matrix(scenario(seed, Path(folder))).values()
        ]
    assert 0.1 < sum(answers) / len(answers) < 0.95


@pytest.mark.parametrize("seed", SEEDS)
def test_the_engine_agrees_with_the_reference(seed: int, tmp_path: Path) -> None:
    from kaudit.netpol import PolicyEngine

    snapshot = scenario(seed, tmp_path)
    engine = PolicyEngine(snapshot)
    for (src, dst, port, protocol), allowed in reference_matrix(snapshot).items():
        pods = {p.key: p for p in snapshot.pods}
        got = engine.check(pods[src], pods[dst], port, Protocol(protocol)).allowed
        assert got == allowed, (seed, src, dst, port, protocol)


@pytest.mark.parametrize("seed", range(0, 40, 3))
def test_the_whole_matrix_agrees_with_the_pair_answers(seed: int, tmp_path: Path) -> None:
    from kaudit.netpol import PolicyEngine

    snapshot = scenario(seed, tmp_path)
    engine = PolicyEngine(snapshot)
    reference = reference_matrix(snapshot)
    for port, protocol in QUESTIONS:
        matrix = engine.matrix(port, Protocol(protocol))
        got = {(s, d): v for s, row in matrix.items() for d, v in row.items()}
        want = {(s, d): v for (s, d, p, pr), v in reference.items() if (p, pr) == (port, protocol)}
        assert got == want, (seed, port, protocol)
    summary = engine.summary()
    assert summary is not None
