"""The --config file: severity overrides, suppressions, system namespaces; errors name the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaudit.config import AuditConfig, Suppression
from kaudit.config_file import load_config
from kaudit.errors import InputError
from kaudit.findings import Severity
from kaudit.kube import SYSTEM_NAMESPACES
from tests.rules.helpers import run, snapshot_of

FULL = """
severity:
  service-nodeport: low
  KA301: critical
  ka404: medium
suppress:
  - rule: service-loadbalancer
    target: "shop/public-*"
    reason: fronted by the WAF
  - rule: KA102
    namespace: legacy
  - rule: "*"
    name: scratch-*
includeSystemNamespaces: true
systemNamespaces: [platform]
"""


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "kaudit.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_load_config_reads_every_section(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL))
    assert dict(config.severity_overrides) == {
        "KA204": Severity.LOW,
        "KA301": Severity.CRITICAL,
        "KA404": Severity.MEDIUM,
    }
    assert config.suppressions == (
        Suppression("KA205", "shop/public-*", "fronted by the WAF"),
        Suppression("KA102", "legacy/*", ""),
        Suppression("*", "*/scratch-*", ""),
    )
    assert config.include_system is True
    assert config.system_namespaces == SYSTEM_NAMESPACES | {"platform"}


def test_empty_file_is_the_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert dict(config.severity_overrides) == {}
    assert config.suppressions == ()
    assert config.include_system is False


def test_severity_overrides_apply_when_rules_run(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "severity: {service-nodeport: info}\n"))
    service = """
apiVersion: v1
kind: Service
metadata: {name: np, namespace: shop}
spec: {type: NodePort, ports: [{port: 80}]}
"""
    findings = run("service-nodeport", snapshot_of(service), config)
    assert [f.severity for f in findings] == [Severity.INFO]


BAD_CONFIGS = [
    ("not yaml", "severity: [unclosed", "kaudit.yaml:2: invalid YAML: did not find expected"),
    ("a list", "- a\n- b\n", "configuration must be a mapping"),
    ("unknown key", "suppressions: []\n", "unknown configuration key(s) suppressions"),
    ("unknown rule", "severity: {service-nodport: low}\n", "unknown rule 'service-nodport'"),
    ("unknown severity", "severity: {KA204: urgent}\n", "unknown severity 'urgent'"),
    ("suppress not a list", "suppress: {rule: KA204}\n", "suppress: must be a list"),
    ("entry without rule", "suppress: [{target: 'a/b'}]\n", "suppress entry 1: rule is required"),
    (
        "entry with both forms",
        "suppress: [{rule: KA204, target: 'a/b', namespace: a}]\n",
        "either target or namespace/name",
    ),
    ("entry with a typo", "suppress: [{rule: KA204, traget: 'a/b'}]\n", "unknown key(s) traget"),
    (
        "bad flag",
        "includeSystemNamespaces: sometimes\n",
        "includeSystemNamespaces: must be true or false",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_config_is_an_input_error_naming_the_file(
    tmp_path: Path, text: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(InputError) as error:
        load_config(path)
    assert str(error.value).startswith(path)
    assert message in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read configuration"):
        load_config(str(tmp_path / "absent.yaml"))


def test_documented_example_loads() -> None:
    docs = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
    text = docs.read_text(encoding="utf-8")
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    config = load_config_text(example)
    assert config.suppressions
    assert config.severity_overrides


def load_config_text(text: str) -> AuditConfig:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "example.yaml"
        path.write_text(text, encoding="utf-8")
        return load_config(str(path))
