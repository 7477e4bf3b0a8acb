"""The Markdown report: escaping of hostile names and labels, structure, filtering."""

from __future__ import annotations

import re

import pytest

from kaudit.findings import Severity
from kaudit.report.model import Report
from kaudit.report.render import Format, render
from kaudit.report.templating import code_fence, markdown_escape


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain-name", "plain-name"),
        ("a|b", r"a\|b"),
        ("metrics-`server`", r"metrics-\`server\`"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("a & b", "a &amp; b"),
        ("*bold* _it_ [link](x)", r"\*bold\* \_it\_ \[link\](x)"),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines", "two lines"),
        ("bare\rreturn", "bare return"),
        ("a\r\nb\r\rc", "a b c"),
        ("ask @platform-team or @acme/sec", "ask @&#8203;platform-team or @&#8203;acme/sec"),
        ("ops@example.com and @@x", "ops@example.com and @@&#8203;x"),
    ],
)
def test_markdown_escape(raw: str, escaped: str) -> None:
    assert markdown_escape(raw) == escaped


@pytest.mark.parametrize(
    ("content", "fence"),
    [("no ticks", "```"), ("a `tick`", "```"), ("a ```fence```", "````"), ("`````", "``````")],
)
def test_code_fence_outgrows_the_content(content: str, fence: str) -> None:
    assert code_fence(content) == fence


def test_script_label_shows_as_text(sample_report: Report) -> None:
    text = render(sample_report, Format.MARKDOWN)
    outside_code = re.sub(r"(?ms)^(`{3,})yaml\n.*?^\1$", "", text)
    assert "<script>" not in outside_code
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in outside_code
    # Inside fenced code blocks it is literal text, which GitHub shows as is.
    assert "note: <script>alert(1)</script>" in text


def test_table_cells_escape_pipes_and_backticks(sample_report: Report) -> None:
    text = render(sample_report, Format.MARKDOWN)
    assert r"| shop | 3 | 2 | 3/3 (100%) | 0/3 (0%) | storefront\|public (NodePort) |" in text
    assert r"metrics-\`server\` (NodePort)" in text
    shop_row = next(line for line in text.splitlines() if line.startswith("| shop |"))
    # Only the column borders are unescaped pipes: 8 of them for 7 columns.
    assert len(re.findall(r"(?<!\\)\|", shop_row)) == 8


def test_findings_are_collapsible_with_fenced_remediation(sample_report: Report) -> None:
    text = render(sample_report, Format.MARKDOWN)
    assert text.count("<details>") == text.count("</details>") == 9
    assert (
        "<summary><b>KA110</b> peer-selector-or-instead-of-and · "
        "NetworkPolicy/data/postgres-allow-api</summary>"
    ) in text
    assert "```yaml\negress:\n  - to:\n" in text
    assert "### Critical (1)" in text
    assert "## System namespaces (3)" in text


def test_incomplete_audit_is_flagged(sample_report: Report) -> None:
    text = render(sample_report, Format.MARKDOWN)
    assert "> [!WARNING]\n> **The audit is incomplete.**" in text
    assert "> - Rule KA230 did not run (missing ingressclasses)" in text


def test_min_severity(sample_report: Report) -> None:
    text = render(sample_report, Format.MARKDOWN, min_severity=Severity.HIGH)
    assert "(showing high and above)" in text
    assert "### Medium" not in text
    assert text.count("<details>") == 4


# --- rendered by a Markdown library ---------------------------------------------------------


def test_remediation_yaml_renders_as_fenced_yaml_blocks() -> None:
    import yaml
    from markdown_it import MarkdownIt

    from kaudit.audit import audit
    from kaudit.collect.manifests import load_manifests
    from tests.report.test_golden import DEMO, PACKAGE_PARENT

    report = audit(load_manifests([str(PACKAGE_PARENT / DEMO)]))
    tokens = MarkdownIt("commonmark").parse(render(report, Format.MARKDOWN))
    fences = [t for t in tokens if t.type == "fence"]
    manifests = [t for t in fences if "apiVersion:" in t.content]
    assert manifests, "no remediation manifest in a code block"
    for fence in fences:
        assert fence.info == "yaml", fence.content[:80]
        assert list(yaml.safe_load_all(fence.content)), fence.content[:80]
    # Two manifests of one remediation (default deny plus the DNS exception) stay one block.
    assert any(f.content.count("kind: NetworkPolicy") == 2 for f in manifests)
    # No YAML is flattened into prose.
    prose = " ".join(t.content for t in tokens if t.type == "inline")
    assert "apiVersion:" not in prose
