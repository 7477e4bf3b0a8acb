"""Object strings made safe for a terminal: no control sequences, no unbounded length.

Names, annotations, messages and saved reports come from whoever wrote the
manifests. Printed raw, an escape sequence in them could clear the screen, retitle
the window or hide a link (OSC 8), and bidirectional overrides could reorder what
a reader sees. Every C0 control except newline and tab, DEL, every C1 control and
the bidirectional controls are shown as visible escapes instead (`\\x1b`, `\\u202e`).
"""

from __future__ import annotations

import re

# One line of a table or an answer shows at most this much of one string.
DISPLAY_LIMIT = 1_000

_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_lines(text: str, limit: int | None = DISPLAY_LIMIT) -> str:
    """Plain text for a terminal, line by line: each line escaped and cut on its own."""
    return "\n".join(terminal_text(line, limit) for line in text.split("\n"))


def terminal_text(value: object, limit: int | None = DISPLAY_LIMIT) -> str:
    """`value` as text that prints as itself: controls escaped, cut to `limit` characters."""
    text = str(value)
    cut = ""
    if limit is not None and len(text) > limit:
        cut = f"… (+{len(text) - limit} characters)"
        text = text[:limit]
    return _UNSAFE.sub(_visible, text) + cut
