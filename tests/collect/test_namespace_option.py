"""`--namespace` on manifests means what `kubectl apply -n` means, and an empty match says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaudit.audit import audit
from kaudit.collect import Source, load_snapshot
from kaudit.errors import InputError
from kaudit.report.render import Format, render

# An install manifest in the style of Argo CD's: namespaced objects without a namespace,
# one cluster-scoped object, and one object that names its namespace.
INSTALL = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: server}
spec:
  selector: {matchLabels: {app: server}}
  template:
    metadata: {labels: {app: server}}
    spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: server}
spec: {selector: {app: server}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: server}
spec: {podSelector: {matchLabels: {app: server}}, ingress: [{}]}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx}
spec: {controller: k8s.io/ingress-nginx}
"""
ELSEWHERE = """\
---
apiVersion: v1
kind: Pod
metadata: {name: tool, namespace: tools}
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "install.yaml"
    path.write_text(text)
    return str(path)


def namespaces_of_objects(tmp_path: Path, text: str, *namespaces: str) -> dict[str, list[str]]:
    snap = load_snapshot(Source(manifests=(write(tmp_path, text),), namespaces=namespaces))
    return {
        "pods": sorted(p.key for p in snap.pods),
        "services": [s.namespace for s in snap.services],
        "policies": [p.namespace for p in snap.network_policies],
        "namespaces": [n.name for n in snap.namespaces],
        "classes": [c.name for c in snap.ingress_classes],
    }


# (case, namespaces, expected)
NAMESPACE_CASES = [
    (
        "one -n: namespace-less objects go into it",
        ("argocd",),
        {
            "pods": ["argocd/server"],
            "services": ["argocd"],
            "policies": ["argocd"],
            "namespaces": ["argocd"],
            "classes": ["nginx"],
        },
    ),
    (
        "no -n: they are in default",
        (),
        {
            "pods": ["default/server", "tools/tool"],
            "services": ["default"],
            "policies": ["default"],
            "namespaces": ["default", "tools"],
            "classes": ["nginx"],
        },
    ),
    (
        "-n of an object's own namespace: the rest go there too",
        ("tools",),
        {
            "pods": ["tools/server", "tools/tool"],
            "services": ["tools"],
            "policies": ["tools"],
            "namespaces": ["tools"],
            "classes": ["nginx"],
        },
    ),
]


@pytest.mark.parametrize(
    ("namespaces", "expected"),
    [c[1:] for c in NAMESPACE_CASES],
    ids=[c[0] for c in NAMESPACE_CASES],
)
def test_namespace_less_objects_go_into_the_one_namespace(
    tmp_path: Path, namespaces: tuple[str, ...], expected: dict[str, list[str]]
) -> None:
    assert namespaces_of_objects(tmp_path, INSTALL + ELSEWHERE, *namespaces) == expected


def test_several_namespaces_with_namespace_less_objects_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, INSTALL)
    with pytest.raises(InputError, match=r"install.yaml:1: Deployment server has no namespace"):
        load_snapshot(Source(manifests=(path,), namespaces=("a", "b")))


def test_several_namespaces_are_fine_when_every_object_names_its_own(tmp_path: Path) -> None:
    path = write(tmp_path, ELSEWHERE.removeprefix("---\n"))
    snap = load_snapshot(Source(manifests=(path,), namespaces=("tools", "other")))
    assert [p.key for p in snap.pods] == ["tools/tool"]


def test_a_namespace_that_nothing_is_in_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, ELSEWHERE.removeprefix("---\n"))
    snap = load_snapshot(Source(manifests=(path,), namespaces=("tools", "argocd")))
    assert [w.message for w in snap.warnings] == [
        "namespace 'argocd': nothing in the input is in this namespace"
    ]
    matched = load_snapshot(Source(manifests=(path,), namespaces=("tools",)))
    assert matched.warnings == ()


def test_every_namespace_excluded_is_an_input_error(tmp_path: Path) -> None:
    path = write(tmp_path, INSTALL)
    with pytest.raises(InputError, match="also excluded"):
        load_snapshot(Source(manifests=(path,), namespaces=("a",), exclude_namespaces=("a",)))


def test_an_audit_of_nothing_never_reads_as_clean(tmp_path: Path) -> None:
    path = write(tmp_path, ELSEWHERE.removeprefix("---\n"))
    report = audit(load_snapshot(Source(manifests=(path,), namespaces=("argocd",))))
    table = render(report, Format.TABLE)
    assert "No findings" not in table
    assert table.startswith(
        "Nothing audited: no pod, Service or NetworkPolicy in the namespaces read "
        "(namespace 'argocd': nothing in the input is in this namespace).\n"
    )
    warning = "namespace 'argocd': nothing in the input is in this namespace"
    assert [w["message"] for w in json.loads(render(report, Format.JSON))["warnings"]] == [warning]
    for fmt in (Format.MARKDOWN, Format.HTML, Format.SARIF):
        assert warning.replace("'", "&#39;" if fmt == Format.HTML else "'") in render(report, fmt)


def test_an_empty_namespace_is_not_a_clean_audit_either(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: v1\nkind: Namespace\nmetadata: {name: argocd}\n")
    report = audit(load_snapshot(Source(manifests=(path,), namespaces=("argocd",))))
    assert report.warnings == ()
    assert render(report, Format.TABLE).startswith(
        "Nothing audited: no pod, Service or NetworkPolicy in the namespaces read.\n"
    )
