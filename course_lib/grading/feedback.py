"""Feedback pages that are safe to open and to hand back.

The page is written here from the graded cells, not by rendering the student's notebook: every piece of
text a student produced (cell sources, printed output, HTML or JavaScript from ``display``, error messages)
is HTML-escaped and shown as text; only PNG and JPEG images are embedded, and only when their data is plain
base64. Hidden-test code cannot appear: test cells show their visible part with the hidden region replaced by
a placeholder, and any output line that contains a line of hidden-test code (matched by content, whatever
printed it) is replaced by ``REDACTED``. ``check_page`` looks at the finished page once more, and the page is
withheld when it still shows a hidden-test marker or line.
"""

from __future__ import annotations

import html
import re

from .markers import HIDDEN_MARKERS

REDACTED = "(a line that matches hidden-test code is not shown)"
_B64 = re.compile(r"^[A-Za-z0-9+/=\s]{0,5000000}$")


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def redact(text: str, hidden_lines: set[str]) -> tuple[str, int]:
    """``text`` with every line that contains (ignoring spaces) a hidden-test line replaced; and how many."""
    squashed = [_squash(h) for h in hidden_lines if len(_squash(h)) >= 10]
    whole = _squash(text)
    if not any(h in whole for h in squashed) and not any(m in text for m in HIDDEN_MARKERS):
        return text, 0
    out, count = [], 0
    for line in text.splitlines():
        flat = _squash(line)
        if any(m in line for m in HIDDEN_MARKERS) or any(h in flat for h in squashed):
            out.append(REDACTED)
            count += 1
        else:
            out.append(line)
    text = "\n".join(out)
    # a hidden line split over several output lines
    if any(h in _squash(text) for h in squashed):
        return REDACTED, count + 1
    return text, count


def _output_html(output: dict, hidden: set[str]) -> tuple[str, int]:
    if not isinstance(output, dict):
        return "", 0
    if "text" in output:
        text, n = redact(str(output.get("text", "")), hidden)
        kind = "stderr" if output.get("name") == "stderr" else "stdout"
        return f'<pre class="{kind}">{html.escape(text)}</pre>', n
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    for mime in ("image/png", "image/jpeg"):
        value = data.get(mime)
        if isinstance(value, str) and _B64.match(value):
            return f'<img alt="figure" src="data:{mime};base64,{"".join(value.split())}">', 0
    text = data.get("text/plain")
    if not isinstance(text, str):
        kinds = ", ".join(sorted(str(k) for k in data))[:200]
        text = f"(output of type {kinds} not shown)"
    elif any(k in data for k in ("text/html", "application/javascript", "text/markdown")):
        text += "\n(rich output shown as text)"
    text, n = redact(text, hidden)
    return f"<pre>{html.escape(text)}</pre>", n


def render(
    title: str, cells, *, score: float, max_score: float, hidden_lines: set[str], notes: list[str]
) -> tuple[str, int]:
    """The HTML page and how many lines were redacted.

    Args:
        title: e.g. ``"ps1: alice"``.
        cells: ``trusted.CellResult`` objects in order.
        score, max_score: the trusted totals.
        hidden_lines: the hidden-test lines of the assignment.
        notes: remarks for the student (already free of hidden code).
    """
    redacted = 0
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
        "style-src 'unsafe-inline'\">",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}pre{background:#f6f6f6;"
        "padding:.5em;white-space:pre-wrap}.stderr{background:#fee}.test{border-left:4px solid #888;"
        "padding-left:.5em}.pass{color:#060}.fail{color:#a00}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='total'>Score: {score:g} / {max_score:g}</p>",
    ]
    for note in notes:
        text, n = redact(note, hidden_lines)
        redacted += n
        parts.append(f"<p class='note'>{html.escape(text)}</p>")
    for cell in cells:
        if cell.kind == "markdown":
            text, n = redact(cell.source, hidden_lines)
            redacted += n
            parts.append(f"<div class='markdown'><pre>{html.escape(text)}</pre></div>")
            continue
        if cell.kind == "test":
            state = "pass" if cell.score == cell.max_score else "fail"
            parts.append(
                f"<div class='test'><p class='{state}'>Test {html.escape(cell.grade_id)}: "
                f"{cell.score or 0:g} / {cell.max_score or 0:g}</p>"
            )
        source, n = redact(cell.source, hidden_lines) if cell.kind != "test" else (cell.source, 0)
        redacted += n
        parts.append(f"<pre class='source'>{html.escape(source)}</pre>")
        for output in cell.outputs[:60]:
            chunk, n = _output_html(output, hidden_lines)
            redacted += n
            parts.append(chunk)
        if cell.timed_out:
            parts.append(
                "<p class='fail'>This cell ran past the per-cell time limit and was interrupted.</p>"
            )
        if cell.message:
            text, n = redact(cell.message, hidden_lines)
            redacted += n
            parts.append(f"<pre class='fail'>{html.escape(text)}</pre>")
        if cell.kind == "test":
            parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts), redacted


def check_page(page: str, hidden_lines: set[str]) -> str:
    """'' when a finished page is safe to hand back, else why not."""
    if any(m in page for m in HIDDEN_MARKERS):
        return "it shows a hidden-test marker"
    flat = _squash(html.unescape(page))
    for line in hidden_lines:
        if len(_squash(line)) >= 25 and _squash(line) in flat:
            return "it shows a line of hidden-test code"
    if re.search(r"<\s*script", page, re.I):
        return "it holds a script element"
    return ""
