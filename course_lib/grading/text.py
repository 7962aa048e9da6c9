"""Cutting text for the feedback: one rule for the driver (what crosses the wall) and the grader (what it
shows)."""

from __future__ import annotations

MAX_TEXT = 20_000  # characters of one printed stream or one text output kept


def cut_text(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` when it has at most ``limit`` characters, else its head and a line saying how many characters
    were cut, at most ``limit`` characters in all (so a cut text passes a second cut unchanged)."""
    if len(text) <= limit:
        return text
    head = limit
    while True:
        marker = f"\n... ({len(text) - head} more characters cut)"
        if head + len(marker) <= limit:
            return text[:head] + marker
        head = limit - len(marker)
