"""The network-policy-api conformance cases: the reference evaluator, the v1alpha1 to
ClusterNetworkPolicy rewrite, and kaudit's engine must all give the upstream answers.

Cases: tests/netpol/adminpolicy_conformance (README there), one file per upstream
subtest and policy state; each v1alpha1 case is asked twice, as written and rewritten as
ClusterNetworkPolicy v1beta1 (tests/netpol/admin_convert.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import kaudit.model
from kaudit.collect import load_snapshot
from kaudit.collect.source import Source
from kaudit.model import Protocol
from kaudit.netpol import PolicyEngine
from tests.netpol.admin_cases import CASES_DIR, Case, Probe, all_cases, write_manifests
from tests.netpol.admin_convert import (
    BASELINE_PRIORITY,
    V1ALPHA1,
    V1BETA1,
    convert_objects,
    to_cluster_network_policy,
)
from tests.netpol.admin_reference import AdminReference

# What the transcription holds: every PokeServer call of each module's conformance/tests
# (397 in v0.3.0, 289 in v0.1.7), grouped by subtest and by the policy state it probed.
TRANSCRIBED = {
    "sigs.k8s.io/network-policy-api@v0.3.0": (128, 397),
    "sigs.k8s.io/network-policy-api@v0.1.7": (92, 289),
}

# The engine's admin tiers live in the model's AdminPolicy; without it the engine cannot
# be asked about these kinds at all.
ENGINE_HAS_ADMIN_POLICIES = hasattr(kaudit.model, "AdminPolicy")
needs_admin_engine = pytest.mark.skipif(
    not ENGINE_HAS_ADMIN_POLICIES,
    reason="kaudit.model has no AdminPolicy yet: the model and engine tiers for "
    "ClusterNetworkPolicy, AdminNetworkPolicy and BaselineAdminNetworkPolicy are not merged",
)


def forms() -> list[object]:
    """Every case, and every v1alpha1 case once more as ClusterNetworkPolicy v1beta1."""
    params: list[object] = []
    for case in all_cases():
        params.append(pytest.param(case, id=case.name))
        if case.v1alpha1:
            params.append(pytest.param(case.converted(), id=f"{case.name}@v1beta1"))
    return params


# --- the transcription ------------------------------------------------------------


def test_every_probe_of_both_modules_is_transcribed() -> None:
    counts: dict[str, tuple[int, int]] = {}
    for case in all_cases():
        cases, probes = counts.get(case.source["module"], (0, 0))
        counts[case.source["module"]] = (cases + 1, probes + len(case.probes))
    assert counts == TRANSCRIBED


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in all_cases()])
def test_case_cites_its_test_and_names_existing_pods(case: Case) -> None:
    source = case.source
    version = source["module"].rsplit("@", 1)[1]
    assert case.name.startswith(f"{version}/{source['test']}/")
    assert re.fullmatch(r"conformance/tests/[a-z-]+\.go", source["file"])
    assert source["subtest"] and source["manifests"] and source["changes"]
    pods = {
        f"{d['metadata']['namespace']}/{d['metadata']['name']}": d
        for d in case.objects
        if d["kind"] == "Pod"
    }
    for probe in case.probes:
        assert probe.src in pods and probe.dst in pods
        assert probe.address == pods[probe.dst]["status"]["podIP"]
        assert probe.protocol in ("TCP", "UDP", "SCTP")
    # ClusterNetworkPolicy cases are v0.3.0's, AdminNetworkPolicy ones v0.1.7's.
    kinds = {d["apiVersion"] for d in case.objects if "policy.networking" in d["apiVersion"]}
    assert kinds == ({V1BETA1} if version == "v0.3.0" else {V1ALPHA1})


def test_readme_records_source_and_license() -> None:
    text = (CASES_DIR / "README.md").read_text()
    for module in TRANSCRIBED:
        assert module in text
    assert "Apache-2.0" in text or "Apache License, Version 2.0" in text


# --- the reference ----------------------------------------------------------------


def disagreements(case: Case, answer: dict[Probe, bool]) -> list[str]:
    return [
        f"{probe.describe()}, got {'allowed' if answer[probe] else 'denied'}"
        for probe in case.probes
        if answer[probe] is not probe.allowed
    ]


@pytest.mark.parametrize("case", forms())
def test_reference_gives_the_upstream_answers(case: Case) -> None:
    reference = AdminReference(list(case.objects))
    verdicts = {
        p: reference.check(p.src, p.dst, p.port, p.protocol, p.address) for p in case.probes
    }
    assert not any(v.ambiguous for v in verdicts.values())
    assert disagreements(case, {p: v.allowed for p, v in verdicts.items()}) == []


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in all_cases() if c.v1alpha1])
def test_both_forms_decide_alike_for_every_pod_pair(case: Case) -> None:
    """Not only the probes: every pod pair, on each port the case probes, is decided by the
    same tier, policy name and rule in both forms."""
    native = AdminReference(list(case.objects))
    rewritten = AdminReference(convert_objects(list(case.objects)))
    pods = sorted(native.pods)
    ports = sorted({(p.protocol, p.port) for p in case.probes})
    for src in pods:
        for dst in pods:
            if src == dst:
                continue
            for protocol, port in ports:
                a = native.check(src, dst, port, protocol)
                b = rewritten.check(src, dst, port, protocol)
                for side_a, side_b in ((a.egress, b.egress), (a.ingress, b.ingress)):
                    assert (side_a.allowed, side_a.tier, side_a.rule) == (
                        side_b.allowed,
                        side_b.tier,
                        side_b.rule,
                    ), (src, dst, protocol, port)
                    assert policy_name(side_a.policy) == policy_name(side_b.policy)


def policy_name(ref: str | None) -> str | None:
    """ "AdminNetworkPolicy/x" and "ClusterNetworkPolicy/x" name the same policy x."""
    return ref.split("/")[-1] if ref else None


# --- the rewrite ------------------------------------------------------------------


def upstream_title(case: Case) -> str:
    """A subtest title with the kind's names taken out: v0.3.0 renamed its tests' titles
    ("respecting ANP" became "respecting admin CNP") and nothing else."""
    words = r"admin cnp|baseline cnp|baseline cluster network policy|baseline admin network policy"
    return re.sub(rf"\b({words}|anp|banp|cnp)\b", "X", case.source["subtest"].lower())


def test_rewrite_reproduces_upstreams_own_v1beta1_manifests() -> None:
    """v0.3.0 rewrote each v0.1.7 test as a ClusterNetworkPolicy test: the converter must
    produce exactly v0.3.0's objects for the same subtest. Only the node-peer tests differ,
    in their host-network port numbers (fixed in v0.1.7, a configurable range in v0.3.0)."""
    by_title = {
        (
            c.source["test"].replace("CNPAdminTier", "A").replace("CNPBaselineTier", "B"),
            upstream_title(c),
        ): c
        for c in all_cases()
        if not c.v1alpha1
    }
    compared = []
    for case in (c for c in all_cases() if c.v1alpha1):
        test = re.sub(
            "^AdminNetworkPolicy",
            "A",
            re.sub("^BaselineAdminNetworkPolicy", "B", case.source["test"]),
        )
        counterpart = by_title.get((test, upstream_title(case)))
        assert counterpart is not None, case.name
        if test.endswith("NodePeers"):
            continue
        compared.append(case.name)
        assert policies(convert_objects(list(case.objects))) == policies(list(counterpart.objects))
    assert len(compared) == 87


def policies(objects: list[dict[str, object]]) -> dict[str, object]:
    return {
        str(d["metadata"]["name"]): d  # type: ignore[index]
        for d in objects
        if d["kind"] in ("ClusterNetworkPolicy", "NetworkPolicy")
    }


def test_rewrite_maps_every_field() -> None:
    anp = {
        "apiVersion": V1ALPHA1,
        "kind": "AdminNetworkPolicy",
        "metadata": {"name": "guard"},
        "spec": {
            "priority": 7,
            "subject": {
                "pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"a": "b"}}}
            },
            "ingress": [
                {
                    "name": "in",
                    "action": "Allow",
                    "from": [{"namespaces": {}}],
                    "ports": [{"namedPort": "web"}],
                }
            ],
            "egress": [
                {
                    "action": "Pass",
                    "to": [{"nodes": {}}, {"networks": ["10.0.0.0/8"]}],
                    "ports": [
                        {"portNumber": {"port": 80}},
                        {"portNumber": {"protocol": "UDP", "port": 53}},
                        {"portRange": {"protocol": "SCTP", "start": 9000, "end": 9005}},
                    ],
                },
                {"name": "out", "action": "Deny", "to": [{"domainNames": ["*.example.com"]}]},
            ],
        },
    }
    assert to_cluster_network_policy(anp) == {
        "apiVersion": V1BETA1,
        "kind": "ClusterNetworkPolicy",
        "metadata": {"name": "guard"},
        "spec": {
            "tier": "Admin",
            "priority": 7,
            "subject": {
                "pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"a": "b"}}}
            },
            "ingress": [
                {
                    "name": "in",
                    "action": "Accept",
                    "from": [{"namespaces": {}}],
                    "protocols": [{"destinationNamedPort": "web"}],
                }
            ],
            "egress": [
                {
                    "action": "Pass",
                    "to": [{"nodes": {}}, {"networks": ["10.0.0.0/8"]}],
                    "protocols": [
                        {"tcp": {"destinationPort": {"number": 80}}},
                        {"udp": {"destinationPort": {"number": 53}}},
                        {"sctp": {"destinationPort": {"range": {"start": 9000, "end": 9005}}}},
                    ],
                },
                {"name": "out", "action": "Deny", "to": [{"domainNames": ["*.example.com"]}]},
            ],
        },
    }
    banp: dict[str, Any] = {
        "apiVersion": V1ALPHA1,
        "kind": "BaselineAdminNetworkPolicy",
        "metadata": {"name": "default"},
        "spec": {
            "subject": {"namespaces": {}},
            "ingress": [{"action": "Deny", "from": [{"namespaces": {}}]}],
        },
    }
    assert to_cluster_network_policy(banp)["spec"] == {
        "tier": "Baseline",
        "priority": BASELINE_PRIORITY,
        "subject": {"namespaces": {}},
        "ingress": [{"action": "Deny", "from": [{"namespaces": {}}]}],
    }
    with pytest.raises(ValueError, match="two ClusterNetworkPolicies named 'default'"):
        convert_objects(
            [banp, {**banp, "kind": "AdminNetworkPolicy", "spec": {**banp["spec"], "priority": 1}}]
        )
    with pytest.raises(ValueError, match="not a v1alpha1 admin policy"):
        to_cluster_network_policy({"apiVersion": V1BETA1, "kind": "ClusterNetworkPolicy"})


# --- kaudit's engine --------------------------------------------------------------


def engine_for(
    objects: tuple[dict[str, object], ...] | list[dict[str, object]], folder: Path
) -> PolicyEngine:
    """kaudit's engine over the case, loaded the way `--manifests` loads a folder."""
    write_manifests(list(objects), folder)
    return PolicyEngine(load_snapshot(Source(manifests=(str(folder),))))


@needs_admin_engine
@pytest.mark.parametrize("case", forms())
def test_engine_gives_the_upstream_answers(case: Case, tmp_path: Path) -> None:
    engine = engine_for(case.objects, tmp_path)
    answers = {}
    for probe in case.probes:
        src, dst = engine.pod(probe.src), engine.pod(probe.dst)
        assert src is not None and dst is not None, probe.describe()
        answers[probe] = engine.check(src, dst, probe.port, Protocol(probe.protocol)).allowed
    assert disagreements(case, answers) == []


@needs_admin_engine
@pytest.mark.parametrize("case", forms())
def test_engine_names_the_deciding_policy_rule(case: Case, tmp_path: Path) -> None:
    """Where an Admin or Baseline rule decided a direction, the engine's verdict for that
    direction names that policy (kind and name), its tier and the rule's name."""
    engine = engine_for(case.objects, tmp_path)
    reference = AdminReference(list(case.objects))
    for probe in case.probes:
        src, dst = engine.pod(probe.src), engine.pod(probe.dst)
        assert src is not None and dst is not None
        verdict = engine.check(src, dst, probe.port, Protocol(probe.protocol))
        expected = reference.check(probe.src, probe.dst, probe.port, probe.protocol, probe.address)
        for side, decision in (
            (verdict.egress, expected.egress),
            (verdict.ingress, expected.ingress),
        ):
            if decision.tier not in ("Admin", "Baseline") or decision.tied:
                continue
            assert side is not None and side.allowed is decision.allowed, probe.describe()
            named = side.allowing_policy_rules if decision.allowed else side.denying_policy_rules
            assert (decision.tier, decision.policy, decision.rule) in {
                (r.tier, f"{r.policy.kind}/{r.policy.name}", r.name) for r in named
            }, (probe.describe(), side.explain())
