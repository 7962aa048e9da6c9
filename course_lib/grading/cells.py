"""Reading notebook cells, and what counts as hidden-test code: rules every part of the grader shares."""

from __future__ import annotations

# A line of hidden-test code is secret (redacted wherever it shows up, and a page that still shows one is
# withheld) when it has at least this many characters once its whitespace is removed: shorter lines (``pass``,
# ``x = 1``) reveal nothing and would redact ordinary text.
SECRET_MIN_CHARS = 12


def cell_source(cell: dict) -> str:
    """A notebook cell's source as one string (nbformat stores it as a string or a list of lines)."""
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    return "".join(source) if isinstance(source, list) else str(source)


def grading_meta(cell: dict) -> dict:
    """A cell's ``nbgrader`` metadata ({} when it has none, or when the notebook is malformed)."""
    meta = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    meta = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return meta if isinstance(meta, dict) else {}


def squash(text: str) -> str:
    """``text`` without any whitespace: hidden-test code is recognised whatever its spacing."""
    return "".join(text.split())


def is_secret(line: str) -> bool:
    """Whether a line of hidden-test code is long enough to count (``SECRET_MIN_CHARS``)."""
    return len(squash(line)) >= SECRET_MIN_CHARS
