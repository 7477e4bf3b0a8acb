"""Rule documentation, generated from the rule metadata.

`kaudit rules` and `kaudit explain` print from here, and
`python -m kaudit.rules.docs > docs/rules.md` writes the catalogue page.
"""

from __future__ import annotations

import json

from tabulate import tabulate

from kaudit.rules.registry import Rule, all_rules

CATEGORY_TITLES = {
    "policy": "Policy coverage",
    "service": "Services",
    "ingress": "Ingress",
    "pod": "Pods",
    "lateral": "Lateral movement",
}


def rule_to_dict(rule: Rule) -> dict[str, object]:
    return {
        "id": rule.id,
        "name": rule.name,
        "title": rule.title,
        "severity": rule.severity.label,
        "category": rule.category,
        "rationale": rule.rationale,
        "remediation": rule.remediation,
        "references": list(rule.references),
        "needs": sorted(str(kind) for kind in rule.needs),
    }


def render_rule(rule: Rule) -> str:
    lines = [
        f"{rule.id} {rule.name} ({rule.severity.label}, {CATEGORY_TITLES[rule.category].lower()})",
        rule.title,
        "",
        "Why it matters:",
        _indent(rule.rationale),
        "",
        "How to fix it:",
        _indent(rule.remediation),
    ]
    if rule.references:
        lines += ["", "References:", *(f"  {ref}" for ref in rule.references)]
    return "\n".join(lines) + "\n"


def render_catalogue(fmt: str) -> str:
    rules = all_rules()
    if fmt == "json":
        return json.dumps([rule_to_dict(r) for r in rules], indent=2) + "\n"
    if fmt == "md":
        return render_markdown(rules)
    rows = [(r.id, r.name, r.severity.label, r.category, r.title) for r in rules]
    return (
        tabulate(rows, headers=["ID", "NAME", "SEVERITY", "CATEGORY", "TITLE"], tablefmt="plain")
        + "\n"
    )


def render_markdown(rules: list[Rule]) -> str:
    out = [
        "# kaudit rules",
        "",
        "Generated from the rule metadata by `python -m kaudit.rules.docs`; do not edit by hand.",
        "IDs are stable and never reused. Severities are defaults; a `--config` file can override them.",
        "",
        "| ID | Name | Severity | Title |",
        "| --- | --- | --- | --- |",
    ]
    out += [
        f"| {r.id} | [`{r.name}`](#{r.id.lower()}-{r.name}) | {r.severity.label} | {r.title} |"
        for r in rules
    ]
    for category, title in CATEGORY_TITLES.items():
        members = [r for r in rules if r.category == category]
        if not members:
            continue
        out += ["", f"## {title}"]
        for r in members:
            out += [
                "",
                f"### {r.id} {r.name}",
                "",
                f"**{r.title}** Default severity: {r.severity.label}.",
                "",
            ]
            out += [r.rationale, "", "**Remediation**", "", r.remediation]
            if r.references:
                out += ["", "**References**", ""] + [f"- {ref}" for ref in r.references]
    return "\n".join(out) + "\n"


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())


if __name__ == "__main__":
    print(render_catalogue("md"), end="")
