"""The Markdown report, for a pull-request comment or a ticket (GitHub-flavoured)."""

from __future__ import annotations

from kaudit.report.model import Report
from kaudit.report.templating import markdown_environment
from kaudit.report.view import build_view


def render_markdown(report: Report) -> str:
    template = markdown_environment().get_template("report.md.j2")
    return template.render(v=build_view(report))
