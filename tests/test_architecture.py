"""The shape of the package: imports point down the layers, never in a cycle; modules stay small.

Every module under kaudit/ is parsed with `ast`; every import counts, at module
level, inside functions and under `if TYPE_CHECKING:` alike. Only explicit
imports are edges: importing `kaudit.rules.dns` runs `kaudit/rules/__init__.py`
too, but that is Python's package machinery, not a dependency of the importer.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import kaudit

PACKAGE_DIR = Path(kaudit.__file__).resolve().parent
MAX_LINES = 700

# Module (or package) -> layer. A module belongs to the longest entry that is
# its name or a package above it.
LAYER_OF: Mapping[str, str] = {
    "kaudit.__main__": "cli",
    "kaudit.cli": "cli",
    "kaudit.audit": "audit",
    "kaudit.suppress": "audit",
    "kaudit.config_file": "audit",
    "kaudit.deploy": "deploy",
    "kaudit.report": "report",
    "kaudit.report.sinks": "report-sinks",
    "kaudit.collect": "collect",
    "kaudit.rules": "rules",
    "kaudit.config": "config",
    "kaudit.netpol": "netpol",
    "kaudit.findings": "findings",
    "kaudit.model": "model",
    "kaudit.kube": "base",
    "kaudit.parsing": "base",
    "kaudit.errors": "base",
    "kaudit": "base",  # the package itself: __version__
}

# Layer -> the layers it may import (besides its own). Read top-down:
# cli -> (audit, deploy, report, collect) -> rules -> netpol -> model -> base.
ALLOWED: Mapping[str, frozenset[str]] = {
    "cli": frozenset(
        {
            "audit",
            "deploy",
            "report",
            "report-sinks",
            "collect",
            "rules",
            "config",
            "netpol",
            "findings",
            "model",
            "base",
        }
    ),
    # The audit pipeline assembles the report's data types; it renders nothing.
    "audit": frozenset({"report", "rules", "config", "netpol", "findings", "model", "base"}),
    "deploy": frozenset({"rules", "config", "netpol", "findings", "model", "base"}),
    # Renderers read the rule catalogue (SARIF, the rule index) and the engine's summary types.
    "report": frozenset({"rules", "config", "netpol", "findings", "model", "base"}),
    # The ConfigMap sink writes with the credentials the live collector loads.
    "report-sinks": frozenset({"report", "collect", "findings", "model", "base"}),
    "collect": frozenset({"model", "base"}),
    "rules": frozenset({"config", "netpol", "findings", "model", "base"}),
    # Plain configuration values, read by the rules.
    "config": frozenset({"findings", "model", "base"}),
    "netpol": frozenset({"findings", "model", "base"}),
    # A Finding names its object with the model's ObjectRef and Origin.
    "findings": frozenset({"model", "base"}),
    "model": frozenset({"base"}),
    "base": frozenset(),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_paths() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


MODULES = module_paths()


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """(imported kaudit module, line) for every import in the file, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(node, module, path.name == "__init__.py")
            for alias in node.names:
                # `from kaudit.rules import dns` imports the module kaudit.rules.dns.
                submodule = f"{source}.{alias.name}"
                yield (submodule if submodule in MODULES else source), node.lineno


def import_graph() -> dict[str, dict[str, int]]:
    graph: dict[str, dict[str, int]] = {}
    for module, path in MODULES.items():
        edges: dict[str, int] = {}
        for target, line in imports_of(module, path):
            if (target == "kaudit" or target.startswith("kaudit.")) and target != module:
                edges.setdefault(target, line)
        graph[module] = edges
    return graph


def layer_of(module: str) -> str:
    candidates = [
        prefix for prefix in LAYER_OF if module == prefix or module.startswith(prefix + ".")
    ]
    assert candidates, f"{module} has no layer in LAYER_OF"
    return LAYER_OF[max(candidates, key=len)]


def test_every_module_has_a_layer_and_every_layer_a_row() -> None:
    assert set(LAYER_OF.values()) == set(ALLOWED)
    for module in MODULES:
        layer_of(module)


def test_imports_point_down_the_layers() -> None:
    wrong = []
    for module, edges in import_graph().items():
        layer = layer_of(module)
        for target, line in edges.items():
            target_layer = layer_of(target)
            if target_layer != layer and target_layer not in ALLOWED[layer]:
                wrong.append(
                    f"{MODULES[module]}:{line}: {module} ({layer}) imports {target} ({target_layer})"
                )
    assert wrong == []


def test_nothing_imports_the_command_line() -> None:
    importers = [
        module
        for module, edges in import_graph().items()
        if layer_of(module) != "cli" and any(layer_of(t) == "cli" for t in edges)
    ]
    assert importers == []


def test_rules_and_collectors_do_not_know_each_other() -> None:
    graph = import_graph()
    for module, edges in graph.items():
        layers = {layer_of(t) for t in edges}
        if layer_of(module) == "rules":
            assert "collect" not in layers, module
        if layer_of(module) == "collect":
            assert "rules" not in layers, module


# The rule families; each may use the rules' shared modules but no other family.
RULE_FAMILIES = frozenset(
    f"kaudit.rules.{name}"
    for name in (
        "policy",
        "dns",
        "selectors",
        "enforcement",
        "services",
        "service_exposure",
        "ingress",
        "pods",
        "lateral",
        "adminpolicy",
    )
)


def test_rule_families_do_not_import_each_other() -> None:
    graph = import_graph()
    assert RULE_FAMILIES.issubset(graph)
    crossings = {
        (family, target)
        for family in RULE_FAMILIES
        for target in graph[family]
        if target in RULE_FAMILIES
    }
    assert crossings == set()


def find_cycles(graph: Mapping[str, Mapping[str, int]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, {}):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b": 1}, "b": {}}) == []


def test_no_import_cycles() -> None:
    assert find_cycles(import_graph()) == []


@pytest.mark.parametrize(
    "path", sorted(MODULES.values()), ids=lambda p: str(p.relative_to(PACKAGE_DIR.parent))
)
def test_modules_stay_small(path: Path) -> None:
    relative = path.relative_to(PACKAGE_DIR.parent).as_posix()
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{relative}: {lines} lines"
