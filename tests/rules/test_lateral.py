"""Lateral movement: open pods and datastores reachable across namespaces."""

from __future__ import annotations

import pytest

from kaudit.findings import Severity
from tests.jsondig import dig
from tests.rules.fixtures import DENY_ALL, DENY_INGRESS, deployment, namespace, policy
from tests.rules.helpers import fired_on, only, run, snapshot_of

CLUSTER = [
    namespace("shop"),
    deployment("web", "shop"),
    deployment("api", "shop"),
    namespace("data"),
    deployment("db", "data", ports="[{containerPort: 5432, name: pg}]"),
]

# --- lateral-movement-open -----------------------------------------------------------------

ONE_PORT_FROM_EVERYWHERE = """
podSelector: {}
policyTypes: [Ingress]
ingress: [{from: [{namespaceSelector: {}}], ports: [{port: 5432}]}]
"""
EVERY_PORT_FROM_EVERYWHERE = """
podSelector: {}
policyTypes: [Ingress]
ingress: [{from: [{namespaceSelector: {}}]}]
"""

LATERAL_CASES = [
    ("no policies", [], ["Namespace/data", "Namespace/shop"]),
    ("data denies ingress", [policy("d", "data", DENY_INGRESS)], ["Namespace/shop"]),
    (
        "one port from everywhere",
        [policy("d", "data", ONE_PORT_FROM_EVERYWHERE)],
        ["Namespace/shop"],
    ),
    (
        "every port from everywhere",
        [policy("d", "data", EVERY_PORT_FROM_EVERYWHERE)],
        ["Namespace/data", "Namespace/shop"],
    ),
    ("both deny", [policy("d", "data", DENY_ALL), policy("s", "shop", DENY_ALL)], []),
]


@pytest.mark.parametrize(
    ("policies", "expected"), [c[1:] for c in LATERAL_CASES], ids=[c[0] for c in LATERAL_CASES]
)
def test_lateral_movement_open(policies: list[str], expected: list[str]) -> None:
    assert fired_on("lateral-movement-open", *CLUSTER, *policies) == expected


def test_lateral_movement_open_reports_the_reachable_fraction() -> None:
    # shop's pods may not leave their namespace, so nobody reaches data/db today.
    shop_egress = "podSelector: {}\npolicyTypes: [Egress]\negress: [{to: [{podSelector: {}}]}]"
    documents = [*CLUSTER, policy("s", "shop", DENY_INGRESS), policy("e", "shop", shop_egress)]
    finding = only("lateral-movement-open", *documents)
    assert str(finding.resource) == "Namespace/data"
    assert finding.evidence["openPods"] == 1
    assert finding.evidence["podsInOtherNamespaces"] == 2
    assert finding.evidence["inboundPairsAllowed"] == 0
    assert finding.evidence["inboundPairsTotal"] == 2
    assert finding.evidence["clusterOpenFraction"] == pytest.approx(1 / 3, abs=0.001)
    assert "today 0% of pod pairs from other namespaces into data are allowed" in finding.message

    open_ = only("lateral-movement-open", *CLUSTER, policy("s", "shop", DENY_INGRESS))
    assert open_.evidence["inboundPairsAllowed"] == 2
    assert open_.evidence["inboundReachableFraction"] == 1.0


# --- datastore-reachable-cross-namespace ---------------------------------------------------

ANDED_API_ONLY = """
podSelector: {matchLabels: {app: db}}
policyTypes: [Ingress]
ingress:
  - from:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}
        podSelector: {matchLabels: {app: api}}
    ports: [{port: 5432}]
"""
WHOLE_SHOP = """
podSelector: {matchLabels: {app: db}}
policyTypes: [Ingress]
ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: shop}}}]
    ports: [{port: 5432}]
"""
SAME_NAMESPACE = """
podSelector: {matchLabels: {app: db}}
policyTypes: [Ingress]
ingress: [{from: [{podSelector: {}}]}]
"""

DATASTORE_CASES = [
    ("no policy", [], Severity.HIGH),
    ("whole namespace admitted", [policy("d", "data", WHOLE_SHOP)], Severity.HIGH),
    ("one workload admitted", [policy("d", "data", ANDED_API_ONLY)], Severity.LOW),
    ("same namespace only", [policy("d", "data", SAME_NAMESPACE)], None),
    ("shop cannot leave", [policy("d", "data", WHOLE_SHOP), policy("s", "shop", DENY_ALL)], None),
]


@pytest.mark.parametrize(
    ("policies", "severity"), [c[1:] for c in DATASTORE_CASES], ids=[c[0] for c in DATASTORE_CASES]
)
def test_datastore_reachable_cross_namespace(
    policies: list[str], severity: Severity | None
) -> None:
    findings = run("datastore-reachable-cross-namespace", snapshot_of(*CLUSTER, *policies))
    assert [(str(f.resource), f.severity) for f in findings] == (
        [("Deployment/data/db", severity)] if severity else []
    )


def test_datastore_evidence_names_the_clients() -> None:
    finding = only(
        "datastore-reachable-cross-namespace", *CLUSTER, policy("d", "data", ANDED_API_ONLY)
    )
    assert finding.evidence["ports"] == [
        {
            "port": 5432,
            "service": "PostgreSQL",
            "reachers": 1,
            "namespaces": ["shop"],
            "wholeNamespaces": [],
            "workloads": ["Deployment/shop/api"],
            "anyOtherNamespace": False,
        }
    ]
    assert "only specific workloads are admitted" in finding.message


def test_datastore_port_found_through_a_service_target() -> None:
    # The container declares no port; the Service says the pods serve 6379.
    cache = deployment("cache", "data", ports="[]")
    service = """
apiVersion: v1
kind: Service
metadata: {name: cache, namespace: data}
spec: {selector: {app: cache}, ports: [{port: 6379}]}
"""
    assert fired_on(
        "datastore-reachable-cross-namespace",
        namespace("shop"),
        deployment("web", "shop"),
        cache,
        service,
    ) == ["Deployment/data/cache"]


def test_non_datastore_ports_are_left_alone() -> None:
    assert (
        fired_on(
            "datastore-reachable-cross-namespace",
            namespace("shop"),
            deployment("web", "shop"),
            deployment("api", "data"),
        )
        == []
    )


# One namespace in the input: reach from namespaces added later is reported, and worded so.
LONE_STORES = [
    (
        "port declared",
        deployment("cart", "boutique", ports="[{containerPort: 6379}]"),
        "6379 (Redis)",
    ),
    ("named by its labels", deployment("redis-cart", "boutique", ports="[]"), "6379 (Redis)"),
    (
        "labels and an odd port",
        deployment("mysql", "bookinfo", ports="[{containerPort: 3307}]"),
        "3307 (MySQL/MariaDB)",
    ),
]


@pytest.mark.parametrize(
    ("store", "port_text"), [c[1:] for c in LONE_STORES], ids=[c[0] for c in LONE_STORES]
)
def test_datastore_open_to_namespaces_not_in_the_input(store: str, port_text: str) -> None:
    finding = only("datastore-reachable-cross-namespace", store)
    assert finding.severity is Severity.HIGH
    assert f"{port_text} from any pod of a namespace not in the input" in finding.message
    assert dig(finding.evidence, "ports", 0, "anyOtherNamespace") is True
    assert dig(finding.evidence, "ports", 0, "reachers") == 0


def test_lone_datastore_admitting_its_own_namespace_only_is_not_reported() -> None:
    store = deployment("redis-cart", "boutique", ports="[{containerPort: 6379}]")
    own = policy("d", "boutique", SAME_NAMESPACE.replace("app: db", "app: redis-cart"))
    assert fired_on("datastore-reachable-cross-namespace", store, own) == []


COMPANIONS = [
    (
        "an exporter beside the database",
        deployment("postgres-exporter", "x", ports="[{containerPort: 9187}]"),
    ),
    ("a web console", deployment("redis-commander", "x", ports="[{containerPort: 8081}]")),
]


@pytest.mark.parametrize("document", [c[1] for c in COMPANIONS], ids=[c[0] for c in COMPANIONS])
def test_datastore_companions_are_not_datastores(document: str) -> None:
    assert fired_on("datastore-reachable-cross-namespace", document) == []


def test_datastore_named_by_its_container() -> None:
    # Labels say "cache"; the container is called redis7 (the model keeps no image).
    cache = deployment("cache", "x", ports="[{containerPort: 7000}]").replace(
        "- name: main", "- name: redis7"
    )
    finding = only("datastore-reachable-cross-namespace", cache)
    assert "7000 (Redis) from any pod of a namespace not in the input" in finding.message


def test_labels_that_name_no_datastore_are_left_alone() -> None:
    # "cartography" holds "cart", not a datastore word; its port is not a datastore's.
    assert fired_on("datastore-reachable-cross-namespace", deployment("cartography", "x")) == []


def test_lateral_movement_open_words_hypothetical_reach_as_such() -> None:
    finding = only("lateral-movement-open", namespace("boutique"), deployment("web", "boutique"))
    assert "today" not in finding.message
    assert "no pod of another namespace is in the input" in finding.message
    assert finding.evidence["inboundPairsTotal"] == 0


# --- datastores recognised by their image --------------------------------------------------


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("public.ecr.aws/docker/library/redis:8.10.1-alpine", "7000 (Redis)"),
        ("bitnami/postgresql@sha256:0123abcd", "7000 (PostgreSQL)"),
        ("mongo", "7000 (MongoDB)"),
        ("registry.example.com:5000/team/mysql:8.4", "7000 (MySQL/MariaDB)"),
    ],
)
def test_datastore_recognised_by_its_image(image: str, expected: str) -> None:
    # Labels and container name say "cache" and the port is no datastore's: only the image tells.
    cache = deployment("cache", "x", ports="[{containerPort: 7000}]").replace(
        "image: example/cache:1", f"image: '{image}'"
    )
    finding = only("datastore-reachable-cross-namespace", cache)
    assert f"{expected} from any pod of a namespace not in the input" in finding.message


@pytest.mark.parametrize(
    "image",
    [
        "oliver006/redis_exporter:v1.62",  # a companion of the datastore
        "redis-team/web:1.0",  # the organisation is not what runs
        "registry.redis.example/app:2",  # nor the registry
    ],
)
def test_images_that_run_no_datastore_are_left_alone(image: str) -> None:
    cache = deployment("cache", "x", ports="[{containerPort: 7000}]").replace(
        "image: example/cache:1", f"image: '{image}'"
    )
    assert fired_on("datastore-reachable-cross-namespace", cache) == []
