"""The exposure graph of the HTML report: inline SVG drawn here, at render time.

Four columns, left to right: the entry points (an address, a node port, a hostname), the
Gateways and Ingresses, the Services, the workloads. Each inventory entry is a chain of
edges through the columns it passes (a host port goes straight to its workload). Rows are
ordered by the barycentre of their neighbours, column by column from the workloads back
to the entries, which keeps crossings few in a layered drawing. Edges are coloured by
policy admission, entry points by TLS; every text is escaped and cut to fit, with the full
text in the node's <title>. No script is involved, so the page's CSP is unchanged.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

from kaudit.exposure import ExposureEntry, Via
from kaudit.model import ObjectRef

COLUMNS = ("Entry point", "Gateway / Ingress", "Service", "Workload")
FRONT_KINDS = frozenset({"Ingress", "Gateway"})
NODE_WIDTH, NODE_HEIGHT, ROW_GAP = 210, 24, 8
COLUMN_GAP = 90
TOP = 34  # room for the column headings
LABEL_CHARS = 30
# Past this many entries the graph draws the first ones (the table lists every one).
GRAPH_LIMIT = 300

NodeKey = tuple[int, str]  # (column, identity)
PASS_THROUGH = "pass"  # the css of the invisible nodes that carry an edge across a column


@dataclass(slots=True)
class _Node:
    column: int
    label: str
    title: str
    css: str
    order: float = 0.0
    row: int = 0
    neighbours: list[NodeKey] = field(default_factory=list)


def _entry_label(entry: ExposureEntry) -> tuple[str, str]:
    if entry.via in (Via.INGRESS, Via.GATEWAY):
        port = entry.ports[0].port if entry.ports else None
        return f"{entry.entry}:{port}" if port else entry.entry, f"{entry.via} {entry.entry}"
    if entry.via is Via.HOST_NETWORK:
        return "host network", f"{entry.via}: {entry.entry}"
    return f"{entry.via} {entry.entry}", f"{entry.via} {entry.entry}"


def _tls_css(tls: bool | None) -> str:
    return "tls-yes" if tls is True else "tls-no" if tls is False else "tls-unknown"


def _admission_css(admitted: bool | None) -> str:
    return "adm-yes" if admitted is True else "adm-no" if admitted is False else "adm-unknown"


def _ref_text(ref: ObjectRef) -> str:
    return f"{ref.kind} {ref.qualified_name}"


def _chain(entry: ExposureEntry) -> list[tuple[NodeKey, str, str, str]]:
    """(node key, label, title, css) for each column the entry passes, left to right."""
    label, title = _entry_label(entry)
    chain = [((0, f"{entry.via}|{entry.entry}|{label}"), label, title, _tls_css(entry.tls))]
    for ref in entry.path[:-1]:
        if ref.kind in FRONT_KINDS:
            chain.append(((1, str(ref)), f"{ref.kind} {ref.name}", _ref_text(ref), "front"))
        elif ref.kind == "Service":
            chain.append(((2, str(ref)), ref.name, _ref_text(ref), "service"))
    workload = entry.workload
    chain.append(
        (
            (3, str(workload)),
            f"{workload.kind}/{workload.name}",
            f"{workload.kind} {workload.qualified_name}",
            "workload",
        )
    )
    return chain


def _with_pass_throughs(
    chain: list[tuple[NodeKey, str, str, str]],
) -> list[tuple[NodeKey, str, str, str]]:
    """The chain with an invisible node in each column an edge would jump over, so that
    the edge keeps a row of its own there instead of crossing the nodes of that column."""
    result = chain[:1]
    for left, right in itertools.pairwise(chain):
        for column in range(left[0][0] + 1, right[0][0]):
            result.append(((column, f"~{left[0][1]}>{right[0][1]}"), "", "", PASS_THROUGH))
        result.append(right)
    return result


def _cut(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def exposure_graph(entries: Sequence[ExposureEntry]) -> Markup | None:
    """The SVG of the entries' paths (at most GRAPH_LIMIT), or None without entries."""
    if not entries:
        return None
    nodes: dict[NodeKey, _Node] = {}
    edges: dict[tuple[NodeKey, NodeKey], set[str]] = {}
    for entry in entries[:GRAPH_LIMIT]:
        chain = _with_pass_throughs(_chain(entry))
        for key, label, title, css in chain:
            nodes.setdefault(key, _Node(key[0], label, title, css))
        for (left, *_), (right, *_) in itertools.pairwise(chain):
            edges.setdefault((left, right), set()).add(_admission_css(entry.admitted_by_policy))
            nodes[left].neighbours.append(right)
            nodes[right].neighbours.append(left)
    _order(nodes)
    return _draw(nodes, edges)


def _order(nodes: dict[NodeKey, _Node]) -> None:
    """Rows per column: workloads by name, then each column to the left by the mean row
    of its neighbours on the right (the barycentre heuristic)."""
    columns: list[list[NodeKey]] = [sorted(k for k in nodes if k[0] == c) for c in range(4)]
    for rank, key in enumerate(columns[3]):
        nodes[key].row = rank
    for column in (2, 1, 0):
        for key in columns[column]:
            right = [nodes[n].row for n in nodes[key].neighbours if n[0] > column]
            nodes[key].order = sum(right) / len(right) if right else 0.0
        placed = sorted(columns[column], key=lambda k: (nodes[k].order, k))
        for rank, key in enumerate(placed):
            nodes[key].row = rank


def _y(node: _Node) -> int:
    return TOP + node.row * (NODE_HEIGHT + ROW_GAP)


def _x(column: int) -> int:
    return column * (NODE_WIDTH + COLUMN_GAP)


def _draw(nodes: dict[NodeKey, _Node], edges: dict[tuple[NodeKey, NodeKey], set[str]]) -> Markup:
    rows = max((n.row for n in nodes.values()), default=0) + 1
    width = _x(3) + NODE_WIDTH + 2
    height = TOP + rows * (NODE_HEIGHT + ROW_GAP)
    parts = [
        f'<svg class="exposure-graph" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="exposure-graph-title">',
        '<title id="exposure-graph-title">Paths from outside the cluster to workloads</title>',
    ]
    for column, heading in enumerate(COLUMNS):
        parts.append(f'<text class="heading" x="{_x(column)}" y="14">{escape(heading)}</text>')
    for (left, right), kinds in sorted(edges.items()):
        a, b = nodes[left], nodes[right]
        x1, y1 = _x(a.column) + NODE_WIDTH, _y(a) + NODE_HEIGHT // 2
        x2, y2 = _x(b.column), _y(b) + NODE_HEIGHT // 2
        middle = (x1 + x2) // 2
        # One edge may carry several entries: the most open admission colours it.
        css = next(c for c in ("adm-yes", "adm-unknown", "adm-no") if c in kinds)
        parts.append(
            f'<path class="edge {css}" d="M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}"/>'
        )
    for node in sorted(nodes.values(), key=lambda n: (n.column, n.row)):
        x, y = _x(node.column), _y(node)
        if node.css == PASS_THROUGH:
            middle_y = y + NODE_HEIGHT // 2
            kinds = {c for (left, _), cs in edges.items() if nodes[left] is node for c in cs}
            css = next(c for c in ("adm-yes", "adm-unknown", "adm-no") if c in kinds)
            parts.append(f'<path class="edge {css}" d="M{x},{middle_y} H{x + NODE_WIDTH}"/>')
            continue
        parts.append(
            f'<g class="node {node.css}"><title>{escape(node.title)}</title>'
            f'<rect x="{x}" y="{y}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="4"/>'
            f'<text x="{x + 8}" y="{y + 16}">{escape(_cut(node.label))}</text></g>'
        )
    parts.append("</svg>")
    return Markup("\n".join(parts))
