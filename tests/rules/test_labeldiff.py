"""The selector diagnosis: closeness per entry, ranking, and the corrected selector."""

from __future__ import annotations

import pytest

from kaudit.model import Pod
from kaudit.rules.labeldiff import LabelCloseness, closest_label_sets, compare_entry, similar

ENTRY_CASES = [
    ("app", "web", {"app": "web"}, LabelCloseness.MATCH, "app", "web"),
    ("app", "Web", {"app": "web"}, LabelCloseness.CASE_MISMATCH, "app", "web"),
    ("App", "web", {"app": "web"}, LabelCloseness.CASE_MISMATCH, "app", "web"),
    ("app", "api", {"app": "api-server"}, LabelCloseness.TYPO, "app", "api-server"),
    ("app", "frontnd", {"app": "frontend"}, LabelCloseness.TYPO, "app", "frontend"),
    ("ap", "web", {"app": "web"}, LabelCloseness.TYPO, "app", "web"),
    ("version", "v1", {"version": "v2"}, LabelCloseness.STALE_VALUE, "version", "v2"),
    (
        "release",
        "2024-01",
        {"release": "2024-02"},
        LabelCloseness.STALE_VALUE,
        "release",
        "2024-02",
    ),
    ("tier", "1.4.0", {"tier": "1.5.0"}, LabelCloseness.STALE_VALUE, "tier", "1.5.0"),
    ("app", "billing", {"app": "web"}, LabelCloseness.OTHER_VALUE, "app", "web"),
    ("team", "red", {"app": "web"}, LabelCloseness.MISSING_LABEL, None, None),
]


@pytest.mark.parametrize(
    ("key", "value", "labels", "closeness", "pod_key", "pod_value"), ENTRY_CASES
)
def test_compare_entry(
    key: str,
    value: str,
    labels: dict[str, str],
    closeness: LabelCloseness,
    pod_key: str | None,
    pod_value: str | None,
) -> None:
    diff = compare_entry(key, value, labels)
    assert (diff.closeness, diff.pod_key, diff.pod_value) == (closeness, pod_key, pod_value)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("api", "api-server", True),
        ("web", "wbe", True),
        ("db", "dc", False),
        ("cart", "payments", False),
        ("x", "y", False),
    ],
)
def test_similar(a: str, b: str, expected: bool) -> None:
    assert similar(a, b) is expected


def pod(name: str, **labels: str) -> Pod:
    return Pod("shop", name, labels, {}, ())


def test_closest_label_sets_rank_and_correct() -> None:
    pods = [
        pod("web-1", app="web", version="v2"),
        pod("web-2", app="web", version="v2"),
        pod("api-1", app="api", version="v2"),
        pod("job-1", batch="nightly"),
    ]
    candidates = closest_label_sets({"app": "web", "version": "v1"}, pods)
    assert [sorted(p.name for p in c.pods) for c in candidates] == [["web-1", "web-2"], ["api-1"]]
    assert candidates[0].corrected == {"app": "web"}  # the stale version is dropped
    assert candidates[0].score == pytest.approx(0.75)
    assert candidates[1].corrected == {"app": "api"}


def test_nothing_close_gives_no_candidate() -> None:
    assert closest_label_sets({"app": "billing"}, [pod("a", app="web"), pod("b", tier="x")]) == []
