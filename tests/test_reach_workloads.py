"""`kaudit reach` with workloads (`ns/Kind/name`, `ns/name`) and outside clients (--from-ip)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kaudit.cli.reach_render import reach_report
from kaudit.collect.manifests import load_manifests
from kaudit.errors import InputError
from kaudit.model import Protocol, Snapshot

# web (2 replicas) may reach db-0 only: a policy names db-0 by its pod-name label, and a
# default deny isolates every db pod. web admits 203.0.113.0/24 on 8080 but its upper half.
SHOP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, ports: [{containerPort: 8080, name: http}]}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, ports: [{containerPort: 5432}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: ops}
spec: {hostNetwork: true, containers: [{name: a}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-deny, namespace: shop}
spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-0-from-web, namespace: shop}
spec:
  podSelector: {matchLabels: {statefulset.kubernetes.io/pod-name: db-0}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 5432}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-partners, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{ipBlock: {cidr: 203.0.113.0/24, except: [203.0.113.128/25]}}]
    ports: [{port: http}]
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("reach") / "shop.yaml"
    path.write_text(SHOP)
    return path


def ask(
    path: Path,
    fmt: str = "text",
    *,
    port: int = 5432,
    src: str | None = None,
    dst: str | None = None,
    to_ip: str | None = None,
    from_ip: str | None = None,
) -> str:
    snapshot: Snapshot = load_manifests([str(path)])
    return reach_report(
        snapshot,
        src=src,
        dst=dst,
        to_ip=to_ip,
        from_ip=from_ip,
        port=port,
        protocol=Protocol.TCP,
        fmt=fmt,
    )


def test_a_workload_whose_pods_differ_gets_one_answer_per_class(shop: Path) -> None:
    text = ask(shop, src="shop/Deployment/web", dst="shop/db")
    lines = text.splitlines()
    assert lines[:3] == [
        "--from: Deployment shop/web: 2 pods (shop/web-0, shop/web-1)",
        "--to: StatefulSet shop/db: 3 pods (shop/db-0, shop/db-1, shop/db-2)",
        "The pods do not all get the same answer: 2 answers.",
    ]
    assert lines[3] == "from shop/web-0, shop/web-1 to shop/db-0:"
    assert lines[4] == "  shop/web-0 -> shop/db-0 5432/TCP: ALLOWED"
    assert "  ingress of shop/db-0: allowed by shop/db-0-from-web ingress[0]" in text
    assert "from shop/web-0, shop/web-1 to shop/db-1, shop/db-2:" in lines
    assert "  shop/web-0 -> shop/db-1 5432/TCP: DENIED" in lines


def test_the_json_answer_lists_the_pods_of_each_verdict(shop: Path) -> None:
    data = json.loads(ask(shop, "json", src="shop/web", dst="shop/StatefulSet/db"))
    assert data["from"] == {
        "given": "shop/web",
        "workload": "shop/Deployment/web",
        "pods": ["shop/web-0", "shop/web-1"],
    }
    assert data["allowed"] == "some"
    answers = [(a["verdict"]["allowed"], a["pairs"]) for a in data["answers"]]
    assert answers == [
        (True, [{"from": ["shop/web-0", "shop/web-1"], "to": ["shop/db-0"]}]),
        (
            False,
            [
                {"from": ["shop/web-0", "shop/web-1"], "to": ["shop/db-1"]},
                {"from": ["shop/web-0", "shop/web-1"], "to": ["shop/db-2"]},
            ],
        ),
    ]


def test_pods_that_agree_get_one_verdict_and_a_pod_pair_is_unchanged(shop: Path) -> None:
    text = ask(shop, src="shop/web", dst="shop/db-0")
    assert text.splitlines()[:2] == [
        "--from: Deployment shop/web: 2 pods (shop/web-0, shop/web-1)",
        "shop/web-0 -> shop/db-0 5432/TCP: ALLOWED",
    ]
    pair = json.loads(ask(shop, "json", src="shop/web-1", dst="shop/db-1"))
    assert (pair["source"], pair["destination"], pair["allowed"]) == (
        "shop/web-1",
        "shop/db-1",
        False,
    )


def test_pods_of_one_workload_are_asked_about_each_other(shop: Path) -> None:
    data = json.loads(ask(shop, "json", src="shop/StatefulSet/db", dst="shop/StatefulSet/db"))
    # Only db-0 admits anyone (web): every pair is denied, by two sets of policies.
    assert data["allowed"] == "none"
    pairs = {
        (pair["from"][0], pair["to"][0]): answer["verdict"]["ingress"]["isolating_policies"]
        for answer in data["answers"]
        for pair in answer["pairs"]
    }
    assert sorted(pairs) == [
        ("shop/db-0", "shop/db-1"),
        ("shop/db-0", "shop/db-2"),
        ("shop/db-1", "shop/db-0"),
        ("shop/db-1", "shop/db-2"),
        ("shop/db-2", "shop/db-0"),
        ("shop/db-2", "shop/db-1"),
    ]
    assert pairs[("shop/db-1", "shop/db-0")] == ["shop/db-deny", "shop/db-0-from-web"]
    assert pairs[("shop/db-0", "shop/db-1")] == ["shop/db-deny"]


def test_outside_clients_are_answered_by_the_destinations_ingress(shop: Path) -> None:
    allowed = ask(shop, port=8080, from_ip="203.0.113.7", dst="shop/Deployment/web")
    assert allowed.splitlines() == [
        "--from-ip: 203.0.113.7, a client outside the cluster",
        "--to: Deployment shop/web: 2 pods (shop/web-0, shop/web-1)",
        "203.0.113.7 -> shop/web-0 8080/TCP: ALLOWED",
        "  ingress of shop/web-0: allowed by shop/web-from-partners ingress[0]",
    ]
    excepted = json.loads(ask(shop, "json", port=8080, from_ip="203.0.113.200", dst="shop/web-0"))
    assert excepted["allowed"] == "none"
    verdict = excepted["answers"][0]["verdict"]
    assert (verdict["source"], verdict["ingress"]["reason"]) == ("203.0.113.200", "no-rule")
    assert verdict["ingress"]["isolating_policies"] == ["shop/web-from-partners"]
    other_port = ask(shop, port=9090, from_ip="203.0.113.7", dst="shop/web-0")
    assert "203.0.113.7 -> shop/web-0 9090/TCP: DENIED" in other_port
    # Not isolated, and hostNetwork: NetworkPolicy does not stand in the way.
    assert "ALLOWED" in ask(shop, port=80, from_ip="2001:db8::1", dst="ops/agent")
    assert "hostNetwork pod" in ask(shop, port=80, from_ip="2001:db8::1", dst="ops/agent")


@pytest.mark.parametrize(
    ("sides", "message"),
    [
        (
            {"src": "shop/wbe", "dst": "shop/db"},
            "--from: no pod or workload shop/wbe in the input; did you mean shop/Deployment/web?",
        ),
        (
            {"src": "shop/web", "dst": "shop/Deployment/db"},
            "--to: no pod or workload shop/Deployment/db in the input; "
            "did you mean shop/StatefulSet/db",
        ),
        ({"src": "shop/web", "dst": "shop/a/b/c"}, "--to: expected NAMESPACE/NAME or"),
        ({"from_ip": "203.0.113.0/24", "dst": "shop/web"}, "--from-ip: '203.0.113.0/24' is not"),
        ({"from_ip": "203.0.113.1", "src": "shop/web", "dst": "shop/db"}, "--from-ip needs --to"),
        ({"from_ip": "203.0.113.1"}, "--from-ip needs --to"),
        ({"src": "shop/nothing-like-it", "dst": "shop/db"}, "--from: no pod or workload shop/no"),
    ],
)
def test_misses_are_one_line_with_close_names(
    shop: Path, sides: dict[str, str], message: str
) -> None:
    with pytest.raises(InputError) as error:
        ask(
            shop,
            src=sides.get("src"),
            dst=sides.get("dst"),
            to_ip=sides.get("to_ip"),
            from_ip=sides.get("from_ip"),
        )
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_two_workloads_of_one_name_must_be_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "twice.yaml"
    path.write_text(
        SHOP
        + """
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: web, namespace: shop}
spec: {replicas: 2}
"""
    )
    with pytest.raises(InputError, match=r"names several workloads \(shop/Deployment/web, "):
        ask(path, src="shop/web", dst="shop/db")
    answer = ask(path, src="shop/Prometheus/web", dst="shop/db-1")
    assert (
        "--from: Prometheus shop/web: 2 pods (shop/prometheus-web-0, shop/prometheus-web-1)"
        in answer
    )


def test_neighbours_of_a_workload(shop: Path) -> None:
    data = json.loads(ask(shop, "json", src="shop/StatefulSet/db"))
    assert data["workload"] == "shop/StatefulSet/db"
    assert data["members"] == ["shop/db-0", "shop/db-1", "shop/db-2"]
    # Every db pod may reach the same pods: one answer. No db pod admits another, and web
    # admits outside addresses only: the hostNetwork agent, outside NetworkPolicy, is left.
    assert data["answers"] == [
        {"members": ["shop/db-0", "shop/db-1", "shop/db-2"], "pods": ["ops/agent"]}
    ]
    # A pod is answered as before; the hostNetwork agent's traffic carries its node's
    # address, which no policy here admits.
    agent = ask(shop, port=8080, src="ops/agent")
    assert agent.splitlines() == ["ops/agent may reach on 8080/TCP:", "  (no other pod)"]
    text = ask(shop, dst="shop/StatefulSet/db")
    assert text.splitlines()[:4] == [
        "--to: StatefulSet shop/db: 3 pods (shop/db-0, shop/db-1, shop/db-2)",
        "may reach shop/db-0 on 5432/TCP:",
        "  shop/web-0",
        "  shop/web-1",
    ]
    assert "may reach shop/db-1, shop/db-2 on 5432/TCP:" in text


def test_the_command_line_says_did_you_mean_and_exits_2(shop: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kaudit", "reach", "-f", str(shop), "--from", "shop/db-9",
         "--to", "shop/web", "--port", "8080"],
        capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "KUBECONFIG": "/nonexistent"},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(
        "kaudit: error: --from: no pod or workload shop/db-9 in the input; did you mean "
    )
    assert result.stderr.count("\n") == 1
    outside = subprocess.run(
        [sys.executable, "-m", "kaudit", "reach", "-f", str(shop), "--from-ip", "203.0.113.9",
         "--to", "shop/web", "--port", "8080", "--format", "json"],
        capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "KUBECONFIG": "/nonexistent"},
    )  # fmt: skip
    assert outside.returncode == 0, outside.stderr
    assert json.loads(outside.stdout)["allowed"] == "all"
