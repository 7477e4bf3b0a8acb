"""Building snapshots from inline YAML and running one rule over them."""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path

from kaudit.collect.manifests import load_manifests
from kaudit.config import AuditConfig
from kaudit.findings import Finding
from kaudit.model import Snapshot
from kaudit.rules.context import AuditContext
from kaudit.rules.registry import find_rule


def snapshot_of(*documents: str) -> Snapshot:
    """A snapshot from YAML documents (each may be a `kind: List`), through the manifest loader."""
    text = "\n---\n".join(textwrap.dedent(doc).strip() for doc in documents)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.yaml"
        path.write_text(text + "\n", encoding="utf-8")
        return load_manifests([str(path)])


def run(rule_key: str, snapshot: Snapshot, config: AuditConfig | None = None) -> list[Finding]:
    found = find_rule(rule_key)
    assert found is not None, f"no rule {rule_key}"
    return sorted(found.run(AuditContext(snapshot, config)), key=lambda f: str(f.resource))


def fired_on(rule_key: str, *documents: str) -> list[str]:
    """The resources (Kind/ns/name) a rule reports on, sorted."""
    return [str(f.resource) for f in run(rule_key, snapshot_of(*documents))]


def only(rule_key: str, *documents: str) -> Finding:
    findings = run(rule_key, snapshot_of(*documents))
    assert len(findings) == 1, [str(f.resource) for f in findings]
    return findings[0]
