"""The HTML report: one self-contained, offline page (inline CSS and JS, no network)."""

from __future__ import annotations

import base64
import functools
import hashlib
from importlib import resources

from markupsafe import Markup

import kaudit
from kaudit.report.model import Report
from kaudit.report.templating import html_environment
from kaudit.report.view import build_view

# A namespace section with more findings than NAMESPACE_OPEN_LIMIT starts collapsed, and
# so does every section of a report with more than REPORT_OPEN_LIMIT, and a rule group
# with more than GROUP_OPEN_LIMIT: a cluster with thousands of findings opens to an outline.
NAMESPACE_OPEN_LIMIT = 50
REPORT_OPEN_LIMIT = 500
GROUP_OPEN_LIMIT = 10


@functools.cache
def _asset(name: str) -> str:
    return resources.files("kaudit.report").joinpath("templates", name).read_text("utf-8")


def script_hash(script: str) -> str:
    """The CSP source for exactly this inline script, as the browser hashes it."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def render_html(report: Report) -> str:
    # The template puts the script between newlines; hash exactly what the browser sees.
    script = "\n" + _asset("report.js") + "\n"
    template = html_environment().get_template("report.html.j2")
    view = build_view(report)
    return template.render(
        v=view,
        version=kaudit.__version__,
        css=Markup(_asset("report.css")),
        js=Markup(_asset("report.js")),
        script_hash=script_hash(script),
        open_limit=NAMESPACE_OPEN_LIMIT if view.total <= REPORT_OPEN_LIMIT else -1,
        group_open_limit=GROUP_OPEN_LIMIT,
    )
