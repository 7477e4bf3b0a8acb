"""The `--config` file: YAML read, checked and turned into an `AuditConfig`.

Rule keys are checked against the rule registry, so this sits above the rules;
the configuration values themselves (`kaudit/config.py`) sit below them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

from kaudit.config import AuditConfig, Suppression
from kaudit.errors import InputError
from kaudit.findings import Severity
from kaudit.kube import SYSTEM_NAMESPACES
from kaudit.parsing import parse_yaml
from kaudit.rules.registry import find_rule

CONFIG_KEYS = ("severity", "suppress", "includeSystemNamespaces", "systemNamespaces")
SUPPRESS_KEYS = ("rule", "target", "namespace", "name", "reason")


def load_config(path: str) -> AuditConfig:
    """Read a YAML configuration file (format: docs/configuration.md).

    Rule keys may be IDs or names; they are stored as the rule's ID so that
    `KA204`, `ka204` and `service-nodeport` all mean the same rule. Any mistake
    raises InputError naming the file, so the run stops before auditing.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read configuration: {exc}") from None
    data = parse_yaml(text, path)
    try:
        return config_from_mapping(data if data is not None else {})
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None


def config_from_mapping(data: object) -> AuditConfig:
    """Build an AuditConfig from the parsed configuration; ValueError says what is wrong."""
    if not isinstance(data, Mapping):
        raise ValueError("configuration must be a mapping (severity:, suppress:, ...)")
    unknown = sorted(str(k) for k in data if k not in CONFIG_KEYS)
    if unknown:
        raise ValueError(
            f"unknown configuration key(s) {', '.join(unknown)} "
            f"(expected: {', '.join(CONFIG_KEYS)})"
        )
    severity = data.get("severity") or {}
    if not isinstance(severity, Mapping):
        raise ValueError("severity: must map rule names or IDs to severities")
    overrides: dict[str, Severity] = {}
    for key, value in severity.items():
        overrides[_rule_id(key, "severity")] = Severity.parse(str(value))
    entries = data.get("suppress") or []
    if not isinstance(entries, list):
        raise ValueError("suppress: must be a list of {rule, target, reason} entries")
    suppressions = tuple(_suppression(i, entry) for i, entry in enumerate(entries, 1))
    include_system = data.get("includeSystemNamespaces", False)
    if not isinstance(include_system, bool):
        raise ValueError("includeSystemNamespaces: must be true or false")
    extra = data.get("systemNamespaces") or []
    if not isinstance(extra, list) or not all(isinstance(n, str) and n for n in extra):
        raise ValueError("systemNamespaces: must be a list of namespace names")
    return AuditConfig(
        severity_overrides=MappingProxyType(overrides),
        suppressions=suppressions,
        include_system=include_system,
        system_namespaces=SYSTEM_NAMESPACES | frozenset(extra),
    )


def _rule_id(key: object, where: str) -> str:
    text = str(key).strip()
    if text == "*" and where != "severity":
        return text
    found = find_rule(text)
    if found is None:
        raise ValueError(f"{where}: unknown rule {text!r} (see `kaudit rules`)")
    return found.id


def _suppression(index: int, entry: object) -> Suppression:
    where = f"suppress entry {index}"
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: must be a mapping with rule and target")
    unknown = sorted(str(k) for k in entry if k not in SUPPRESS_KEYS)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(unknown)} (expected: {', '.join(SUPPRESS_KEYS)})"
        )
    if "rule" not in entry:
        raise ValueError(f"{where}: rule is required (a rule name, ID or *)")
    if "target" in entry and ("namespace" in entry or "name" in entry):
        raise ValueError(f"{where}: give either target or namespace/name, not both")
    if "target" in entry:
        target = str(entry["target"])
    else:
        # namespace alone means the whole namespace; name alone means that name anywhere.
        target = f"{entry.get('namespace', '*')}/{entry.get('name', '*')}"
    if not target:
        raise ValueError(f"{where}: target must not be empty")
    return Suppression(
        rule=_rule_id(entry["rule"], where),
        target=target,
        reason=str(entry.get("reason") or ""),
    )
