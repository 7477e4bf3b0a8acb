"""The Jinja environments for the Markdown and HTML reports, and their escaping filters."""

from __future__ import annotations

import functools
import re

import jinja2

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|#~!{}])")


def markdown_escape(value: object) -> str:
    """Text safe inside a GitHub-flavoured Markdown paragraph or table cell.

    HTML is neutralised as entities (so `<script>` shows as text), Markdown syntax and the
    table separator `|` are backslash-escaped, and line breaks become spaces (a table row is
    one line).
    """
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return re.sub(r"\s*\n\s*", " ", text)


def code_fence(content: str) -> str:
    """A backtick fence longer than any run of backticks in `content`."""
    longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
    return "`" * max(3, longest + 1)


def plural(count: int, word: str, words: str | None = None) -> str:
    """`1 pod`, `2 pods`; `words` for irregular plurals."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kaudit.report", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_escape
    env.filters["fence"] = code_fence
    env.globals["plural"] = plural
    return env


@functools.cache
def markdown_environment() -> jinja2.Environment:
    return _environment(autoescape=False)


@functools.cache
def html_environment() -> jinja2.Environment:
    return _environment(autoescape=True)
