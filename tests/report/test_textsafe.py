"""Terminal output shows object strings as text, never as control sequences."""

from __future__ import annotations

import time

import pytest

from kaudit.report.textsafe import terminal_text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("web", "web"),
        ("line one\n\tindented", "line one\n\tindented"),
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),  # clear screen
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),  # window title
        (
            "\x1b]8;;http://x\x1b\\click\x1b]8;;\x1b\\",
            "\\x1b]8;;http://x\\x1b\\click\\x1b]8;;\\x1b\\",
        ),
        ("a\rb", "a\\x0db"),
        ("\x9b31m", "\\x9b31m"),  # C1 CSI
        ("\x7f", "\\x7f"),
        ("admin\u202egnp.exe", "admin\\u202egnp.exe"),
        ("naïve ünïcode ☃", "naïve ünïcode ☃"),
    ],
)
def test_controls_are_shown_escaped(raw: str, shown: str) -> None:
    assert terminal_text(raw) == shown


def test_long_strings_are_cut_quickly() -> None:
    name = "x" * 10_000_000
    started = time.monotonic()
    shown = terminal_text(name)
    assert time.monotonic() - started < 1.0
    assert shown == "x" * 1_000 + "… (+9999000 characters)"


def test_no_limit_keeps_everything() -> None:
    assert terminal_text("y" * 5_000, limit=None) == "y" * 5_000
