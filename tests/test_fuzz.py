"""Hostile input, generated: mutations of the demo manifests and of a saved report.

Whatever the input, kaudit ends with a code of its own (0 or 1 for an audit, 2 for
bad input), says what is wrong in one line, prints no traceback and stays quick.
The command line runs in-process (the same `main()` as the console script) so that
a few hundred cases fit in well under a minute; the examples are derandomised, so
a failure reproduces.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaudit.cli import main

DEMO = Path(__file__).resolve().parents[1] / "kaudit" / "demo" / "insecure"
SECONDS_PER_CASE = 10.0
EXPECTED_CODES = {0, 1, 2}

FUZZ_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def demo_documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(DEMO.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


DOCUMENTS = demo_documents()

# Values an attacker, or a careless chart, puts where kaudit expects something else.
HOSTILE_VALUES: st.SearchStrategy[Any] = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        65536,
        2**64,
        1.5,
        float("inf"),
        float("nan"),
        "",
        "=",
        "*",
        "garbage",
        "false",
        "80",
        "-1",
        "http",
        "UDP",
        "\x1b[2J\x1b]0;owned\x07",
        "@platform-team",
        "a\rb",
        "In",
        "Bogus",
        "x" * 70_000,
        "kube-system/secre%74s?",
        "../../../api/v1/secrets",
        [],
        [None],
        ["garbage", 1],
        {},
        {"": None},
        {"matchLabels": "x"},
        [[[[]]]],
    ]
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside a parsed document."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, (*prefix, index))


# Fields kaudit reads: most mutations land on one of these, where a wrong value matters.
READ_FIELDS = frozenset(
    {
        "kind",
        "apiVersion",
        "metadata",
        "name",
        "namespace",
        "labels",
        "annotations",
        "spec",
        "selector",
        "podSelector",
        "namespaceSelector",
        "matchLabels",
        "matchExpressions",
        "key",
        "operator",
        "values",
        "policyTypes",
        "ingress",
        "egress",
        "from",
        "to",
        "ports",
        "port",
        "endPort",
        "protocol",
        "ipBlock",
        "cidr",
        "except",
        "containers",
        "containerPort",
        "hostPort",
        "hostNetwork",
        "targetPort",
        "nodePort",
        "type",
        "externalIPs",
        "externalName",
        "rules",
        "backend",
        "service",
        "number",
        "ingressClassName",
        "tls",
        "template",
        "replicas",
        "items",
        "dnsConfig",
        "options",
    }
)


def paths_by_field(value: Any) -> dict[Any, list[tuple[Any, ...]]]:
    """The paths into a document grouped by their last key, fields kaudit reads only
    (every path under one key when the document has none of them)."""
    groups: dict[Any, list[tuple[Any, ...]]] = {}
    for path in paths(value):
        if path and path[-1] in READ_FIELDS:
            groups.setdefault(path[-1], []).append(path)
    return groups or {"": list(paths(value))}


def replaced(document: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    result = copy.deepcopy(document)
    target = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return result


def removed(document: Any, path: tuple[Any, ...]) -> Any:
    if not path:
        return document
    result = copy.deepcopy(document)
    target = result
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return result


@st.composite
def mutated_documents(draw: st.DrawFn, documents: list[Any]) -> list[Any]:
    """The documents with one to three values replaced, removed or duplicated."""
    result = list(documents)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        index = draw(st.integers(min_value=0, max_value=len(result) - 1))
        # A field name first, then one of its places: rare fields (protocol, endPort)
        # are drawn as often as common ones (name, labels).
        groups = paths_by_field(result[index])
        where = draw(st.sampled_from(groups[draw(st.sampled_from(sorted(groups, key=str)))]))
        action = draw(st.sampled_from(["replace", "remove", "duplicate"]))
        if action == "replace":
            result[index] = replaced(result[index], where, draw(HOSTILE_VALUES))
        elif action == "remove":
            result[index] = removed(result[index], where)
        else:
            result.append(copy.deepcopy(result[index]))
    return result


@st.composite
def text_damage(draw: st.DrawFn, text: str) -> str:
    """Raw damage to serialised text: a cut, or a hostile fragment spliced in."""
    position = draw(st.integers(min_value=0, max_value=len(text)))
    fragment = draw(
        st.sampled_from(
            [
                "",
                "\n- *x\n",
                "&x [*x, *x]",
                "\x00",
                "\ufeff",
                "{{{",
                "]]",
                ": : :",
                "\n---\n",
                "\nkind: List\nitems: 3\n",
                '"\\',
                "!!python/object:os.system\n",
                "\n    port: " + "9" * 5000 + "\n",
                "\n    port: .inf\n",
            ]
        )
    )
    return text[:position] + fragment + text[position + draw(st.integers(0, 40)) :]


def run(*args: str) -> tuple[int, str, float]:
    """`kaudit ARGS` in-process: the exit code, stderr and the seconds it took."""
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["kaudit", *args]
    started = time.monotonic()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 0
    finally:
        sys.argv = argv
    return code, err.getvalue(), time.monotonic() - started


def check(code: int, stderr: str, seconds: float, expected: set[int] = EXPECTED_CODES) -> None:
    assert code in expected, stderr
    assert "Traceback" not in stderr
    assert seconds < SECONDS_PER_CASE
    if code == 2:
        assert stderr.startswith("kaudit: error: "), stderr
        assert stderr.count("\n") == 1, stderr


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ_SETTINGS
@given(documents=mutated_documents(DOCUMENTS), as_json=st.booleans())
def test_mutated_manifests(workdir: Path, documents: list[Any], as_json: bool) -> None:
    path = workdir / ("input.json" if as_json else "input.yaml")
    if as_json:
        path.write_text(json.dumps({"kind": "List", "items": documents}, allow_nan=True))
    else:
        path.write_text(yaml.safe_dump_all(documents))
    check(*run("audit", "-f", str(path), "--format", "json"))


@FUZZ_SETTINGS
@given(data=st.data())
def test_damaged_manifest_text(workdir: Path, data: st.DataObject) -> None:
    text = (
        DEMO / data.draw(st.sampled_from(["shop.yaml", "data.yaml", "ingress.yaml"]))
    ).read_text()
    path = workdir / "damaged.yaml"
    path.write_text(data.draw(text_damage(text)))
    fmt = data.draw(st.sampled_from(["table", "md", "sarif"]))
    check(*run("audit", "-f", str(path), "--format", fmt))


@pytest.fixture(scope="module")
def saved_report(workdir: Path) -> dict[str, Any]:
    out = io.StringIO()
    argv = sys.argv
    sys.argv = ["kaudit", "audit", "-f", str(DEMO), "--format", "json", "--fail-on", "never"]
    try:
        with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
            main()
    finally:
        sys.argv = argv
    report: dict[str, Any] = json.loads(out.getvalue())
    return report


@FUZZ_SETTINGS
@given(data=st.data())
def test_mutated_saved_reports(
    workdir: Path, saved_report: dict[str, Any], data: st.DataObject
) -> None:
    where = data.draw(st.sampled_from(list(paths(saved_report))))
    new = data.draw(HOSTILE_VALUES)
    mutated = replaced(saved_report, where, new)
    path = workdir / "saved.json"
    path.write_text(json.dumps(mutated, allow_nan=True))
    original = workdir / "original.json"
    original.write_text(json.dumps(saved_report))
    check(*run("report", str(path), "--format", "table"), expected={0, 2})
    check(*run("diff", str(original), str(path)), expected={0, 1, 2})
