"""Suppression by annotation and by configuration: counted and explained, never dropped."""

from __future__ import annotations

import pytest

from kaudit.config import AuditConfig, Suppression
from kaudit.findings import Finding, Severity
from kaudit.model import ObjectRef
from kaudit.suppress import split_suppressed
from tests.rules.fixtures import deployment
from tests.rules.helpers import run, snapshot_of


def service(name: str, ns: str = "shop", annotations: str = "{}") -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: {ns}, annotations: {annotations}}}
spec: {{type: NodePort, selector: {{app: web}}, ports: [{{port: 80}}]}}
"""


def namespace(name: str, annotations: str = "{}") -> str:
    return f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {name}, annotations: {annotations}}}
"""


def split(
    documents: list[str], rules: list[str], config: AuditConfig | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    snapshot = snapshot_of(*documents)
    config = config or AuditConfig()
    findings = [f for r in rules for f in run(r, snapshot, config)]
    kept, suppressed = split_suppressed(findings, snapshot, config)
    return (
        [f"{f.rule_name} {f.resource}" for f in kept],
        [(f"{s.finding.rule_name} {s.finding.resource}", s.reason) for s in suppressed],
    )


ANNOTATION_CASES = [
    ("by name", "{kaudit.io/ignore: service-nodeport}", True),
    ("by ID", "{kaudit.io/ignore: KA204}", True),
    ("by ID, lower case, in a list", "{kaudit.io/ignore: 'ka301, ka204'}", True),
    ("every rule", "{kaudit.io/ignore: '*'}", True),
    ("another rule", "{kaudit.io/ignore: service-loadbalancer}", False),
    ("empty", "{kaudit.io/ignore: ''}", False),
]


@pytest.mark.parametrize(
    ("annotations", "silenced"),
    [c[1:] for c in ANNOTATION_CASES],
    ids=[c[0] for c in ANNOTATION_CASES],
)
def test_annotation_on_the_object(annotations: str, silenced: bool) -> None:
    kept, suppressed = split(
        [service("quiet", annotations=annotations), service("loud")], ["service-nodeport"]
    )
    assert kept == (
        ["service-nodeport Service/shop/loud"]
        if silenced
        else ["service-nodeport Service/shop/loud", "service-nodeport Service/shop/quiet"]
    )
    assert [s[0] for s in suppressed] == (
        ["service-nodeport Service/shop/quiet"] if silenced else []
    )


def test_annotation_reason_is_kept() -> None:
    annotations = (
        "{kaudit.io/ignore: service-nodeport, kaudit.io/ignore-reason: 'lab cluster only'}"
    )
    _, suppressed = split([service("quiet", annotations=annotations)], ["service-nodeport"])
    assert suppressed == [
        (
            "service-nodeport Service/shop/quiet",
            "annotation kaudit.io/ignore on Service/shop/quiet: lab cluster only",
        )
    ]


def test_annotation_on_the_namespace_covers_its_objects_and_itself() -> None:
    documents = [
        namespace("lab", "{kaudit.io/ignore: 'service-nodeport,pod-default-ndots'}"),
        service("a", "lab"),
        deployment("web", "lab"),
        service("b"),
    ]
    kept, suppressed = split(documents, ["service-nodeport", "pod-default-ndots"])
    assert kept == ["service-nodeport Service/shop/b"]
    assert [s[0] for s in suppressed] == [
        "service-nodeport Service/lab/a",
        "pod-default-ndots Namespace/lab",
    ]
    assert suppressed[0][1] == "annotation kaudit.io/ignore on Namespace/lab"


def test_annotation_in_the_pod_template_covers_the_workload() -> None:
    annotated = deployment(
        "agent",
        "shop",
        extra_spec="hostNetwork: true",
        kind="DaemonSet",
        annotations="{kaudit.io/ignore: pod-host-network}",
    )
    other = deployment("other", "shop", extra_spec="hostNetwork: true", kind="DaemonSet")
    kept, suppressed = split([annotated, other], ["pod-host-network"])
    assert kept == ["pod-host-network DaemonSet/shop/other"]
    assert suppressed == [
        (
            "pod-host-network DaemonSet/shop/agent",
            "annotation kaudit.io/ignore on DaemonSet/shop/agent",
        )
    ]


CONFIG_CASES = [
    ("exact target", Suppression("KA204", "shop/public"), ["shop/public"]),
    ("glob", Suppression("KA204", "shop/public-*"), ["shop/public-a", "shop/public-b"]),
    (
        "whole namespace",
        Suppression("*", "shop/*"),
        ["shop/public", "shop/public-a", "shop/public-b"],
    ),
    ("another rule", Suppression("KA205", "*"), []),
]


@pytest.mark.parametrize(
    ("suppression", "silenced"), [c[1:] for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES]
)
def test_config_suppressions(suppression: Suppression, silenced: list[str]) -> None:
    documents = [
        service("public"),
        service("public-a"),
        service("public-b"),
        service("web", "other"),
    ]
    _, suppressed = split(documents, ["service-nodeport"], AuditConfig(suppressions=(suppression,)))
    assert [s[0].split("/", 1)[1] for s in suppressed] == silenced


def test_config_reason_and_namespace_targets_cover_namespace_findings() -> None:
    config = AuditConfig(suppressions=(Suppression("pod-default-ndots", "shop/*", "tuned later"),))
    kept, suppressed = split(
        [deployment("web", "shop"), deployment("web", "other")], ["pod-default-ndots"], config
    )
    assert kept == ["pod-default-ndots Namespace/other"]
    assert suppressed == [
        ("pod-default-ndots Namespace/shop", "config: pod-default-ndots on shop/*: tuned later")
    ]


def test_nothing_is_dropped() -> None:
    finding = Finding(
        "KA204", "service-nodeport", Severity.HIGH, ObjectRef("Service", "a", "b"), "m"
    )
    snapshot = snapshot_of(namespace("a"))
    config = AuditConfig(suppressions=(Suppression("*", "*"),))
    kept, suppressed = split_suppressed([finding, finding], snapshot, config)
    assert kept == []
    assert [s.finding for s in suppressed] == [finding, finding]
