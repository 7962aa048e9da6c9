"""Feedback pages that are safe to open and to hand back.

The page is written here from the graded cells, not by rendering the student's notebook: every piece of
text a student produced (cell sources, printed output, HTML or JavaScript from ``display``, error messages)
is HTML-escaped and shown as text; only PNG and JPEG images are embedded, and only when their data is valid
base64 of an image of that kind within ``MAX_IMAGE_BYTES``. The outputs are bounded by the grader
(``clean_outputs``), and whatever is not shown is said, on the page and in the grades' note
(``dropped_note``).
Hidden-test code cannot appear: test cells show their visible part with the hidden region replaced by
a placeholder, and any output line that contains a line of hidden-test code (matched by content, whatever
printed it) is replaced by ``REDACTED``. ``check_page`` looks at the finished page once more, and the page is
withheld when it still shows a hidden-test marker or line.
"""

from __future__ import annotations

import base64
import binascii
import html
import itertools
import re

from .cells import is_secret, squash
from .markers import HIDDEN_MARKERS
from .text import MAX_TEXT, cut_text

REDACTED = "(a line that matches hidden-test code is not shown)"

# What one cell may show (``clean_outputs``): the grader enforces these on what the sandbox sends, whatever
# the driver beside the student's code did.
MAX_OUTPUTS = 60  # outputs per cell
MAX_IMAGE_BYTES = 1536 * 1024  # one figure, decoded (its base64 is 4/3 of it: 2 MiB)
MAX_IMAGE_CHARS = 4 * -(-MAX_IMAGE_BYTES // 3)
MAX_IMAGES = 10  # figures per cell
MAX_CELL_CHARS = 4 * 1024 * 1024  # characters of text and base64 per cell, all outputs together
IMAGE_MIMES = ("image/png", "image/jpeg")
# Rich outputs are never rendered (no HTML, Markdown or JavaScript of a student's reaches the page): their
# text/plain stands for them.
RICH_MIMES = ("text/html", "text/markdown", "text/latex", "application/javascript", "image/svg+xml")
_MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
_WHITESPACE = re.compile(r"\s+")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class CleanOutput(dict):
    """One output as ``clean_outputs`` made it. Its ``note`` and ``dropped`` entries are the grader's own:
    nothing from the sandbox arrives as this type (JSON makes plain dicts), so a student cannot forge them."""


def redact(text: str, hidden_lines: set[str]) -> tuple[str, int]:
    """``text`` with every line that contains (ignoring spaces) a hidden-test line replaced; and how many."""
    squashed = [squash(h) for h in hidden_lines if is_secret(h)]
    whole = squash(text)
    if not any(h in whole for h in squashed) and not any(m in text for m in HIDDEN_MARKERS):
        return text, 0
    out, count = [], 0
    for line in text.splitlines():
        flat = squash(line)
        if any(m in line for m in HIDDEN_MARKERS) or any(h in flat for h in squashed):
            out.append(REDACTED)
            count += 1
        else:
            out.append(line)
    text = "\n".join(out)
    # a hidden line split over several output lines
    if any(h in squash(text) for h in squashed):
        return REDACTED, count + 1
    return text, count


def _image(mime: str, value) -> tuple[str, str]:
    """(base64 without whitespace, '') for a figure that may be shown, else ('', why not)."""
    # the driver's markers for a figure it did not send (``driver._outputs``)
    if isinstance(value, dict) and value.get("omitted") == "count":
        return "", f"figure not shown: more than {MAX_IMAGES} figures in one cell"
    too_big = f"figure larger than {MAX_IMAGE_BYTES // 1024} KB not shown"
    if isinstance(value, dict) and value.get("omitted") == "size":
        return "", too_big
    if not isinstance(value, str):
        return "", f"figure ({mime}) not shown: its data is not text"
    # base64 as Jupyter writes it may be broken into lines; anything longer is too big whatever it holds
    if len(value) > MAX_IMAGE_CHARS + MAX_IMAGE_CHARS // 50:
        return "", too_big
    data = _WHITESPACE.sub("", value)
    if len(data) > MAX_IMAGE_CHARS:
        return "", too_big
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return "", f"figure ({mime}) not shown: its data is not valid base64"
    if not raw.startswith(_MAGIC[mime]):
        return "", f"figure ({mime}) not shown: its data is not a {mime.split('/')[1].upper()} image"
    return data, ""


def _names(data: dict, known: tuple[str, ...], limit: int = 3) -> str:
    """Up to ``limit`` keys of ``data`` that are not in ``known``, for a message (never the whole dict)."""
    others = (k for k in data if k not in known)
    names = [k[:60] if isinstance(k, str) else type(k).__name__ for k in itertools.islice(others, limit)]
    more = len(data) - sum(k in data for k in known) - len(names)
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def clean_outputs(outputs) -> list[dict]:
    """A bounded, well-typed copy of one cell's outputs as the sandbox sent them (untrusted, any shape).

    Each output of the result is one of

        {"name": "stdout" | "stderr", "text": str}   printed text, cut to ``MAX_TEXT`` characters
        {"data": {mime: str, ...}}                   "text/plain" (cut to ``MAX_TEXT``) and at most one
                                                     figure, "image/png" or "image/jpeg": base64 without
                                                     whitespace that decodes to that kind of image, of at
                                                     most ``MAX_IMAGE_BYTES``

    and may carry ``"note"`` (e.g. rich output shown as its text) and ``"dropped"`` (what was not shown, and
    why: "figure larger than 1536 KB not shown"), never empty when something was left out. HTML, Markdown and
    JavaScript are never kept: their text/plain stands for them, with a note. At most ``MAX_OUTPUTS`` outputs
    and ``MAX_IMAGES`` figures per cell, ``MAX_CELL_CHARS`` characters in all; values that are not strings are
    dropped (with a note), never converted. The work is linear in the input and no string longer than the caps
    is built. Cleaning a cleaned list gives it back unchanged.

    Args:
        outputs: the ``outputs`` of one ``cell`` event (a list of dicts, when the sandbox behaves).

    Returns:
        The list of ``CleanOutput`` dicts.
    """
    if outputs is None:
        return []
    if not isinstance(outputs, list):
        return [CleanOutput(data={}, dropped="this cell's output was not a list of outputs and is not shown")]
    cleaned: list[dict] = []
    budget, figures = MAX_CELL_CHARS, 0
    # one more than the cap: the last place holds the note on the rest (kept when cleaning a cleaned list)
    for index, item in enumerate(itertools.islice(outputs, MAX_OUTPUTS + 1)):
        if type(item) is CleanOutput:  # cleaned already (by the grader): kept as it is
            cleaned.append(item)
            values = [item.get("text", "")] + list(item.get("data", {}).values())
            budget -= sum(len(v) for v in values)
            figures += any(m in item.get("data", {}) for m in IMAGE_MIMES)
            continue
        if index == MAX_OUTPUTS or budget <= 0:
            why = f"more than {MAX_OUTPUTS} outputs" if budget > 0 else f"over {MAX_CELL_CHARS // 1024**2} MB"
            cleaned.append(CleanOutput(data={}, dropped=f"{len(outputs) - index} more output(s) of this cell "
                                                        f"not shown ({why})"))
            break
        if not isinstance(item, dict):
            cleaned.append(CleanOutput(data={}, dropped="an output that is not a display item is not shown"))
            continue
        if "name" in item or "text" in item:
            text = item.get("text")
            if not isinstance(text, str):
                cleaned.append(CleanOutput(data={}, dropped="printed output that is not text is not shown"))
                continue
            text = cut_text(text, min(MAX_TEXT, budget))
            budget -= len(text)
            name = "stderr" if item.get("name") == "stderr" else "stdout"
            cleaned.append(CleanOutput(name=name, text=text))
            continue
        data = item.get("data")
        kept, notes, dropped = {}, [], []
        if not isinstance(data, dict):
            dropped.append("an output without data is not shown")
            data = {}
        for mime in IMAGE_MIMES:
            if mime not in data:
                continue
            if figures >= MAX_IMAGES:
                dropped.append(f"figure not shown: more than {MAX_IMAGES} figures in one cell")
            else:
                value, why = _image(mime, data[mime])
                if not why and len(value) > budget:
                    why = f"figure not shown: this cell's output is over {MAX_CELL_CHARS // 1024**2} MB"
                if why:
                    dropped.append(why)
                else:
                    kept[mime], figures, budget = value, figures + 1, budget - len(value)
            break  # one figure per output: a PNG stands for its JPEG
        text = data.get("text/plain")
        if isinstance(text, str):
            kept["text/plain"] = cut_text(text, min(MAX_TEXT, max(budget, 0)))
            budget -= len(kept["text/plain"])
        elif text is not None:
            dropped.append("text output that is not text is not shown")
        rich = [m for m in RICH_MIMES if m in data]
        if rich and "text/plain" in kept:
            notes.append(f"rich output shown as text: {', '.join(rich)}")
        elif rich:
            dropped.append(f"output of type {', '.join(rich)} not shown")
        if not kept and not dropped:
            kinds = _names(data, IMAGE_MIMES + ("text/plain",))
            dropped.append(f"output of type {kinds} not shown" if kinds else "an empty output")
        out = CleanOutput(data=kept)
        if notes:
            out["note"] = "; ".join(notes)
        if dropped:
            out["dropped"] = "; ".join(dropped)
        cleaned.append(out)
    return cleaned


def _output_html(output: dict, hidden: set[str]) -> tuple[str, int]:
    """The HTML of one output of ``clean_outputs``, and how many lines were redacted."""
    if "text" in output:
        text, n = redact(output["text"], hidden)
        kind = "stderr" if output.get("name") == "stderr" else "stdout"
        return f'<pre class="{kind}">{html.escape(text)}</pre>', n
    data, parts, lines = output.get("data", {}), [], []
    for mime in IMAGE_MIMES:
        value = data.get(mime)
        if isinstance(value, str) and _B64.fullmatch(value):  # clean_outputs checked it: once more, cheaply
            parts.append(f'<img alt="figure" src="data:{mime};base64,{value}">')
            break
    if not parts and isinstance(data.get("text/plain"), str):  # a figure's text/plain only names it
        lines.append(data["text/plain"])
    lines += [f"({output[key]})" for key in ("note", "dropped") if output.get(key)]
    if not lines:
        return "\n".join(parts), 0
    text, redacted = redact("\n".join(lines), hidden)
    parts.append(f"<pre>{html.escape(text)}</pre>")
    return "\n".join(parts), redacted


def render(
    title: str, cells, *, score: float, max_score: float, hidden_lines: set[str], notes: list[str],
    dropped: list[str] | None = None,
) -> tuple[str, int]:
    """The HTML page and how many lines were redacted.

    Every cell's outputs go through ``clean_outputs`` (whether or not they were cleaned on arrival); whatever
    is not shown is said on the page where it would have been, and listed in ``dropped``.

    Args:
        title: e.g. ``"ps1: alice"``.
        cells: ``trusted.CellResult`` objects in order.
        score, max_score: the trusted totals.
        hidden_lines: the hidden-test lines of the assignment.
        notes: remarks for the student (already free of hidden code).
        dropped: when given, one line is appended for each output (or part of one) not shown, and why, e.g.
            ``"figure larger than 1536 KB not shown"`` (see ``dropped_note`` for the grades' note).

    Returns:
        (the page, how many lines were redacted).
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
        for output in clean_outputs(cell.outputs):
            chunk, n = _output_html(output, hidden_lines)
            redacted += n
            parts.append(chunk)
            if dropped is not None and output.get("dropped"):
                dropped.append(output["dropped"])
        if cell.timed_out:
            parts.append(
                "<p class='fail'>This cell ran past the per-cell time limit and was interrupted.</p>"
            )
        message = cell.message
        failed = cell.kind == "test" and (cell.score or 0) < (cell.max_score or 0) and not cell.timed_out
        if failed and not message:
            message = "failed (the test gave no message)"  # a score without a word of why is no feedback
        if message:
            text, n = redact(message, hidden_lines)
            redacted += n
            parts.append(f"<pre class='fail'>{html.escape(text)}</pre>")
        if cell.kind == "test":
            parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts), redacted


def dropped_note(dropped: list[str]) -> str:
    """The remark for the grades' note about what a feedback page does not show ('' when nothing).

    Args:
        dropped: the lines ``render`` collected.

    Returns:
        e.g. ``"feedback: 3 output(s) not shown (figure larger than 1536 KB not shown; ...)"``, its list of
        reasons cut to 300 characters (each reason once).
    """
    if not dropped:
        return ""
    reasons = "; ".join(dict.fromkeys(dropped))
    reasons = reasons if len(reasons) <= 300 else reasons[:300] + "..."
    return f"feedback: {len(dropped)} output(s) not shown ({reasons})"


def check_page(page: str, hidden_lines: set[str]) -> str:
    """'' when a finished page is safe to hand back, else why not (never '' for a page it refuses)."""
    if any(m in page for m in HIDDEN_MARKERS):
        return "it shows a hidden-test marker"
    flat = squash(html.unescape(page))
    for line in hidden_lines:
        if is_secret(line) and squash(line) in flat:
            return "it shows a line of hidden-test code"
    if re.search(r"<\s*script", page, re.I):
        return "it holds a script element"
    return ""
