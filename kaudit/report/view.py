"""What the Markdown and HTML templates show, prepared once from a Report.

Templates stay free of logic: grouping (namespace, then rule), the verdict, the
remediation split into prose and YAML, and the reachability heat map are computed here.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from kaudit.findings import Finding, Severity
from kaudit.jsontypes import JsonValue
from kaudit.netpol.summary import PairCount, PodClassSummary, ReachabilitySummary, ReachCount
from kaudit.report.exposure_view import ExposureView, build_exposure_view
from kaudit.report.jsonio import format_timestamp, reachability_to_dict, to_plain
from kaudit.report.kinds import ignored_kinds_text, unevaluated_policy_caveat
from kaudit.report.model import NamespaceSummary, Report

# libyaml's parser and emitter when PyYAML was built with it: ten times faster on big reports.
_Loader: type[yaml.CSafeLoader] | type[yaml.SafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
_Dumper: type[yaml.CSafeDumper] | type[yaml.SafeDumper] = getattr(
    yaml, "CSafeDumper", yaml.SafeDumper
)

SEVERITIES = tuple(sorted(Severity, reverse=True))
WORST_SHOWN = 10  # findings listed in the verdict
CLUSTER_SCOPE = ""  # section key of findings on cluster-scoped objects other than Namespaces


@dataclass(frozen=True, slots=True)
class Block:
    """A paragraph of remediation prose, or a YAML snippet to copy."""

    kind: str  # "text" or "yaml"
    text: str


@dataclass(frozen=True, slots=True)
class FindingView:
    anchor: str
    finding: Finding
    severity: str
    section: str  # the namespace whose section shows it
    object: str  # Kind/namespace/name
    evidence_yaml: str
    remediation: tuple[Block, ...]
    origin: str | None  # "file:line" for manifests


@dataclass(frozen=True, slots=True)
class RuleGroup:
    rule_id: str
    rule_name: str
    title: str
    severity: str  # the worst in the group
    findings: tuple[FindingView, ...]
    # When every finding carries the same remediation it is shown once for the group.
    shared_remediation: tuple[Block, ...] | None


@dataclass(frozen=True, slots=True)
class NamespaceView:
    name: str  # "" for cluster-scoped objects
    title: str
    system: bool
    summary: NamespaceSummary | None
    counts: tuple[tuple[str, int], ...]  # (severity label, count), worst first, zeros kept
    total: int
    worst: str | None  # worst severity label, None without findings
    groups: tuple[RuleGroup, ...]

    @property
    def ingress_coverage(self) -> str:
        return _coverage(self.summary, ingress=True)

    @property
    def egress_coverage(self) -> str:
        return _coverage(self.summary, ingress=False)


@dataclass(frozen=True, slots=True)
class HeatCell:
    text: str
    level: int  # 0 (nothing reachable) .. 4 (everything reachable); -1 unknown
    title: str


@dataclass(frozen=True, slots=True)
class HeatMap:
    namespaces: tuple[str, ...]
    rows: tuple[tuple[str, tuple[HeatCell, ...]], ...]
    left_out: int = 0  # namespaces beyond HEAT_MAP_LIMIT, the least connected
    # Per-cell hover titles; a big map goes without them (row and column headers suffice).
    titled: bool = True


# A heat map grows with the square of the namespaces: past this many it shows the most
# connected ones (the JSON report keeps the whole matrix).
HEAT_MAP_LIMIT = 50
TITLED_LIMIT = 30


@dataclass(frozen=True, slots=True)
class BlastRadius:
    """One pod class of the engine's summary: pods that NetworkPolicy cannot tell apart."""

    namespace: str
    pods: str
    can_reach: str
    reachable_from: str
    isolation: str
    host_network: bool


@dataclass(frozen=True, slots=True)
class ReportView:
    report: Report
    generated_at: str
    total: int
    counts: tuple[tuple[str, int], ...]
    verdict: str
    worst: tuple[FindingView, ...]
    facts: tuple[tuple[str, str], ...]
    not_collected: tuple[str, ...]
    incomplete_rules: tuple[tuple[str, str], ...]
    namespaces: tuple[NamespaceView, ...]  # application namespaces and cluster scope
    system_namespaces: tuple[NamespaceView, ...]
    # Application (and cluster-scoped) findings by severity, non-empty severities only.
    by_severity: tuple[tuple[str, tuple[FindingView, ...]], ...]
    system_findings: tuple[FindingView, ...]
    suppressed: tuple[tuple[FindingView, str], ...]
    rules: tuple[tuple[str, str], ...]  # (id, name) of rules with findings
    heat_map: HeatMap | None
    reachability_notes: tuple[str, ...]
    reachability_facts: str | None
    blast_radius: tuple[BlastRadius, ...]  # the widest first
    reachability_json: str | None
    min_severity: str
    policy_caveat: str | None  # other engines' policies present but not evaluated
    exposure: ExposureView
    severities: tuple[str, ...] = field(default=tuple(s.label for s in SEVERITIES))

    @property
    def at_least(self) -> tuple[tuple[str, int], ...]:
        """(severity label, findings at or above it), worst first, for the minimum filter;
        severities no finding has are left out."""
        result = []
        running = 0
        for label, count in self.counts:
            running += count
            if count:
                result.append((label, running))
        return tuple(result)


def build_view(report: Report) -> ReportView:
    findings = sorted(report.findings, key=lambda f: f.sort_key)
    views = [_finding_view(f, f"f{i}") for i, f in enumerate(findings, start=1)]
    sections = _sections(report, views)
    system_sections = {s.name for s in sections if s.system}
    application = [v for v in views if v.section not in system_sections]
    counts = tuple((s.label, n) for s, n in report.counts.items())
    ranked = sorted(application, key=lambda v: impact_key(v.finding))
    serious = [v for v in ranked if v.finding.severity >= Severity.MEDIUM]
    return ReportView(
        report=report,
        generated_at=_display_time(report.generated_at),
        total=len(findings),
        counts=counts,
        verdict=_verdict(report),
        worst=tuple((serious or ranked[:3])[:WORST_SHOWN]),
        facts=_facts(report),
        not_collected=tuple(w.message for w in report.warnings),
        incomplete_rules=tuple(
            (rule, ", ".join(kinds)) for rule, kinds in sorted(report.incomplete_rules.items())
        ),
        namespaces=tuple(s for s in sections if not s.system),
        system_namespaces=tuple(s for s in sections if s.system),
        by_severity=tuple(
            (s.label, group)
            for s in SEVERITIES
            if (group := tuple(v for v in application if v.finding.severity is s))
        ),
        system_findings=tuple(v for v in views if v.section in system_sections),
        suppressed=tuple(
            (_finding_view(s.finding, f"s{i}"), s.reason)
            for i, s in enumerate(
                sorted(report.suppressed, key=lambda s: s.finding.sort_key), start=1
            )
        ),
        rules=tuple(sorted({(v.finding.rule_id, v.finding.rule_name) for v in views})),
        heat_map=heat_map(report.reachability),
        reachability_notes=report.reachability.notes if report.reachability else (),
        reachability_facts=_reachability_facts(report.reachability),
        blast_radius=blast_radius(report.reachability),
        reachability_json=json.dumps(
            reachability_to_dict(report.reachability), indent=2, sort_keys=True
        )
        if report.reachability is not None
        else None,
        min_severity=report.min_severity.label,
        policy_caveat=unevaluated_policy_caveat(report.facts.ignored_kinds),
        exposure=build_exposure_view(report.exposure),
    )


# Rules whose findings are most often mistakes (a typo, a dead Service, a broken rule)
# rather than exposure by design: among findings of equal reach they come first.
LIKELY_BUGS = frozenset(
    {
        "service-no-endpoints",
        "service-target-port-mismatch",
        "workload-unreachable-by-policy",
        "policy-selects-no-pods",
        "policy-peer-selects-nothing",
        "policy-peer-or-confusion",
        "egress-blocks-dns",
        "ingress-backend-missing-service",
        "ingress-backend-port-mismatch",
        "ingress-unknown-class",
    }
)
# Evidence counts of the pods a finding is about, and lists of the namespaces it spans.
_POD_COUNTS = ("podCount", "openPods", "unisolatedPods", "podsAdmittedWhole")
_NAMESPACE_LISTS = ("namespaces", "namespacesAdmittedWhole", "wholeNamespaces")


def _affected(finding: Finding) -> tuple[int, int]:
    """(pods, namespaces) the finding's evidence says it affects; without a count, one
    of each (a Service, a policy, an Ingress: one workload's traffic)."""
    evidence = finding.evidence
    pods = max(
        (v for k in _POD_COUNTS if isinstance(v := evidence.get(k), int)),
        default=1,
    )
    namespaces = max(
        (len(v) for k in _NAMESPACE_LISTS if isinstance(v := evidence.get(k), list | tuple)),
        default=1,
    )
    return pods, max(namespaces, 1)


def impact_key(
    finding: Finding,
) -> tuple[int, int, int, bool, tuple[int, str, str, str, str, str]]:
    """Sort key, most impact first: severity, then pods and namespaces affected, then
    likely mistakes before exposure, then the usual order."""
    pods, namespaces = _affected(finding)
    likely_bug = finding.rule_name in LIKELY_BUGS or "diagnosis" in finding.evidence
    return (-int(finding.severity), -pods, -namespaces, not likely_bug, finding.sort_key)


def _display_time(moment: dt.datetime) -> str:
    return format_timestamp(moment).replace("T", " ").replace("Z", " UTC")


def _verdict(report: Report) -> str:
    total = len(report.findings)
    if total == 0:
        text = "No findings"
    else:
        worst = max(f.severity for f in report.findings)
        text = f"{total} finding{'s' if total != 1 else ''}, the worst {worst.label}"
    if report.min_severity > Severity.INFO:
        text += f" (showing {report.min_severity.label} and above)"
    if not report.complete or report.incomplete_rules:
        text += "; the audit is incomplete"
    return text


def _facts(report: Report) -> tuple[tuple[str, str], ...]:
    facts = report.facts
    rows = [("Source", facts.source)]
    if facts.context:
        rows.append(("Context", facts.context))
    if facts.server:
        rows.append(("Server", facts.server))
    rows.append(("Server version", facts.server_version or "unknown"))
    if facts.cni:
        cni = ", ".join(facts.cni)
    else:
        cni = "none seen" if facts.cni_checked else "not checked (kube-system not inspected)"
    rows.append(("CNI", cni))
    if facts.inputs:
        rows.append(("Inputs", ", ".join(facts.inputs)))
    ignored = ignored_kinds_text(facts.ignored_kinds)
    if ignored:
        rows.append(("Kinds not audited", ignored))
    rows.extend(("Note", note) for note in facts.notes)
    rows.append(("Generated", _display_time(report.generated_at)))
    return tuple(rows)


# --- findings -------------------------------------------------------------------------------


def section_of(finding: Finding) -> str:
    """Namespaced objects go to their namespace, a Namespace to itself, others to cluster scope."""
    return finding.resource.scope or CLUSTER_SCOPE


# Evidence lists longer than this are cut in the HTML and Markdown reports (the JSON
# report keeps them whole): a Service with 50,000 ports stays readable and quick.
EVIDENCE_ITEMS_SHOWN = 50


def shown_evidence(value: JsonValue) -> JsonValue:
    """Evidence as the pages show it: every list cut to EVIDENCE_ITEMS_SHOWN items."""
    if isinstance(value, dict):
        return {key: shown_evidence(item) for key, item in value.items()}
    if isinstance(value, list):
        shown: list[JsonValue] = [shown_evidence(item) for item in value[:EVIDENCE_ITEMS_SHOWN]]
        if len(value) > EVIDENCE_ITEMS_SHOWN:
            shown.append(f"... and {len(value) - EVIDENCE_ITEMS_SHOWN} more (see the JSON report)")
        return shown
    return value


def _finding_view(finding: Finding, anchor: str) -> FindingView:
    ref = finding.resource
    obj = f"{ref.kind}/{ref.qualified_name}"
    evidence = (
        yaml.dump(
            shown_evidence(to_plain(finding.evidence)),
            Dumper=_Dumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
        )
        if finding.evidence
        else ""
    )
    return FindingView(
        anchor=anchor,
        finding=finding,
        severity=finding.severity.label,
        section=section_of(finding),
        object=obj,
        evidence_yaml=evidence,
        remediation=remediation_blocks(finding.remediation),
        origin=str(finding.origin) if finding.origin.file else None,
    )


def _sections(report: Report, views: list[FindingView]) -> list[NamespaceView]:
    by_section: dict[str, list[FindingView]] = {}
    for view in views:
        by_section.setdefault(view.section, []).append(view)
    summaries = {s.name: s for s in report.namespaces}
    names = set(by_section) | set(summaries)
    # Namespaces with the worst findings first, then by name; cluster scope last.
    ordered = sorted(
        names,
        key=lambda n: (
            n == CLUSTER_SCOPE,
            -max((v.finding.severity for v in by_section.get(n, [])), default=-1),
            n,
        ),
    )
    sections = []
    for name in ordered:
        members = by_section.get(name, [])
        summary = summaries.get(name)
        system = summary.system if summary else name in report.system_namespaces
        counts = {s.label: 0 for s in SEVERITIES}
        for view in members:
            counts[view.severity] += 1
        sections.append(
            NamespaceView(
                name=name,
                title=name or "Cluster-scoped objects",
                system=system or name in report.system_namespaces,
                summary=summary,
                counts=tuple(counts.items()),
                total=len(members),
                worst=members[0].severity if members else None,
                groups=_rule_groups(members),
            )
        )
    return sections


def _rule_groups(views: list[FindingView]) -> tuple[RuleGroup, ...]:
    by_rule: dict[str, list[FindingView]] = {}
    for view in views:
        by_rule.setdefault(view.finding.rule_id, []).append(view)
    groups = []
    for rule_id, members in by_rule.items():
        worst = max(members, key=lambda v: v.finding.severity)
        remediations = {v.finding.remediation for v in members}
        shared = members[0].remediation if len(members) > 1 and len(remediations) == 1 else None
        groups.append(
            RuleGroup(
                rule_id=rule_id,
                rule_name=members[0].finding.rule_name,
                title=rule_title(rule_id) or members[0].finding.rule_name,
                severity=worst.severity,
                findings=tuple(members),
                shared_remediation=shared,
            )
        )
    groups.sort(key=lambda g: (-Severity.parse(g.severity), g.rule_id))
    return tuple(groups)


@functools.cache
def _rule_titles() -> dict[str, str]:
    from kaudit.rules.registry import all_rules

    return {r.id: r.title for r in all_rules()}


def rule_title(rule_id: str) -> str | None:
    """The catalogue's title; None for a rule this version does not know (an old report)."""
    return _rule_titles().get(rule_id)


def _coverage(summary: NamespaceSummary | None, *, ingress: bool) -> str:
    if summary is None:
        return "unknown"
    if summary.pods == 0:
        return "no pods"
    isolated = summary.ingress_isolated_pods if ingress else summary.egress_isolated_pods
    return f"{isolated}/{summary.pods} ({round(100 * isolated / summary.pods)}%)"


# --- remediation ----------------------------------------------------------------------------

_YAML_KEY = re.compile(r"^[A-Za-z_][\w.\-/]*$")


@functools.lru_cache(maxsize=1024)  # most findings share their rule's remediation
def remediation_blocks(text: str) -> tuple[Block, ...]:
    """Split remediation into prose paragraphs and YAML snippets (separated by blank lines).

    A paragraph is YAML when it parses to a mapping whose keys look like YAML keys (no
    spaces), or to a list of such mappings; "Add a default-deny policy:" stays prose.
    """
    blocks: list[Block] = []
    for paragraph in re.split(r"\n\s*\n", text.strip("\n")):
        if not paragraph.strip():
            continue
        kind = "yaml" if _looks_like_yaml(paragraph) else "text"
        if blocks and blocks[-1].kind == kind == "yaml":
            blocks[-1] = Block("yaml", blocks[-1].text + "\n\n" + paragraph)
        else:
            blocks.append(Block(kind, paragraph.rstrip() if kind == "yaml" else paragraph.strip()))
    return tuple(blocks)


def _looks_like_yaml(paragraph: str) -> bool:
    # Several documents ("---" between manifests) are one snippet too.
    try:
        documents = list(yaml.load_all(paragraph, Loader=_Loader))
    except yaml.YAMLError:
        return False
    items = [
        item for parsed in documents for item in (parsed if isinstance(parsed, list) else [parsed])
    ]
    return bool(items) and all(
        isinstance(item, dict) and item and all(_YAML_KEY.match(str(k)) for k in item)
        for item in items
    )


# --- reachability ---------------------------------------------------------------------------


def heat_map(reachability: ReachabilitySummary | None) -> HeatMap | None:
    """The namespace-to-namespace matrix of the engine's summary, or None when it has none."""
    if reachability is None or not reachability.namespace_matrix:
        return None
    matrix = reachability.namespace_matrix
    names = sorted(set(matrix) | {dst for row in matrix.values() for dst in row})
    left_out = max(0, len(names) - HEAT_MAP_LIMIT)
    if left_out:
        names = sorted(_most_connected(matrix, names)[:HEAT_MAP_LIMIT])
    rows = []
    for src in names:
        row = matrix.get(src, {})
        rows.append((src, tuple(_cell(src, dst, row.get(dst)) for dst in names)))
    return HeatMap(
        namespaces=tuple(names),
        rows=tuple(rows),
        left_out=left_out,
        titled=len(names) <= TITLED_LIMIT,
    )


def _most_connected(matrix: Mapping[str, Mapping[str, PairCount]], names: list[str]) -> list[str]:
    """Namespaces by how many pod pairs they reach and are reached by."""
    weight = dict.fromkeys(names, 0)
    for src, row in matrix.items():
        for dst, pairs in row.items():
            weight[src] += pairs.allowed
            weight[dst] += pairs.allowed
    return sorted(names, key=lambda n: (-weight[n], n))


def _cell(src: str, dst: str, pairs: PairCount | None) -> HeatCell:
    if pairs is None:
        return HeatCell("?", -1, f"{src} → {dst}: unknown")
    if not pairs.total:
        return HeatCell("-", -1, f"{src} → {dst}: no pod pairs")
    fraction = min(max(pairs.allowed / pairs.total, 0.0), 1.0)
    text = f"{pairs.allowed}/{pairs.total}"
    level = 0 if fraction == 0 else min(4, 1 + int(fraction * 3.999))
    return HeatCell(text, level, f"{src} → {dst}: {text}")


def _reachability_facts(reachability: ReachabilitySummary | None) -> str | None:
    """E.g. "13 pods in 5 namespaces, 10 NetworkPolicies: 8 pods isolated for ingress, ..."."""
    if reachability is None:
        return None
    pods = reachability.pods
    isolation = reachability.isolation
    return (
        f"{pods} pod{'s' if pods != 1 else ''} in {reachability.namespaces} namespaces, "
        f"{reachability.policies} NetworkPolicies: "
        f"{isolation.ingress_isolated} isolated for ingress, "
        f"{isolation.egress_isolated} isolated for egress, "
        f"{isolation.host_network} on the host network (outside NetworkPolicy)"
    )


BLAST_RADIUS_SHOWN = 15


def blast_radius(reachability: ReachabilitySummary | None) -> tuple[BlastRadius, ...]:
    """The pod classes that can reach the most other pods, from the engine's `pod_classes`."""
    if reachability is None:
        return ()
    widest = sorted(
        reachability.pod_classes,
        key=lambda c: (-c.can_reach.pods, -c.reachable_from.pods, c.namespace, _pods_text(c)),
    )
    return tuple(
        BlastRadius(
            namespace=entry.namespace,
            pods=_pods_text(entry),
            can_reach=_reach_text(entry.can_reach),
            reachable_from=_reach_text(entry.reachable_from),
            isolation=" and ".join(
                direction
                for direction, isolated in (
                    ("ingress", entry.ingress_isolated),
                    ("egress", entry.egress_isolated),
                )
                if isolated
            )
            or "none",
            host_network=entry.host_network,
        )
        for entry in widest[:BLAST_RADIUS_SHOWN]
    )


def _pods_text(entry: PodClassSummary) -> str:
    pods = entry.pods
    return ", ".join(pods[:5]) + (f" and {len(pods) - 5} more" if len(pods) > 5 else "")


def _reach_text(counts: ReachCount) -> str:
    pods, namespaces = counts.pods, counts.namespaces
    return (
        f"{pods} pod{'' if pods == 1 else 's'}"
        f" in {namespaces} namespace{'' if namespaces == 1 else 's'}"
    )
