"""The Jinja environments for the Markdown and HTML reports, and their escaping filters."""

from __future__ import annotations

import functools
import re

import jinja2

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|#~!{}])")
# `@name` or `@org/team` not inside a word (so e-mail addresses stay as they are).
_MENTION = re.compile(r"(?<!\w)@(?=[A-Za-z0-9])")
# A zero-width space after '@' keeps GitHub and GitLab from notifying anyone.
_MENTION_BREAK = "@&#8203;"


def markdown_escape(value: object) -> str:
    """Text safe inside a GitHub-flavoured Markdown paragraph or table cell.

    HTML is neutralised as entities (so `<script>` shows as text), Markdown syntax and the
    table separator `|` are backslash-escaped, `@mentions` are broken so a pull-request
    comment pings nobody, and line breaks, carriage returns included, become spaces (a
    table row is one line).
    """
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    text = _MENTION.sub(_MENTION_BREAK, text)
    return re.sub(r"\s*[\r\n\v\f\x85\u2028\u2029]\s*", " ", text)


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
