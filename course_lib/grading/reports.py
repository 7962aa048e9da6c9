"""What a grading run hands back: build/grades.csv, build/grades_by_question.csv and the printed summary.

``grades.csv`` has one row per (student, assignment) pair of the run, with the columns ``GRADES_COLUMNS``:

    status           graded     (a cell cut by the per-cell timeout is graded: it scores zero; when the
                                notebook's process stopped early, or its sandbox failed, the note says so and
                                what had not run scores zero)
                     timeout    (the whole submission overran its limit; its sandbox was killed)
                     error      (the file could not be read as a notebook; see the note)
                     skipped    (the run's total time budget was used up)
                     incomplete (the run was killed or crashed before this submission)
                     missing, misnamed, duplicate, hidden, refused (see ``submissions.PROBLEM_STATUSES``)
    sandbox          "bwrap", or "UNSAFE" when the run was started with --unsafe-no-sandbox
    timed_out_cells  the ids of the cells interrupted at the per-cell timeout, separated by ";"
    note             why a row is not plainly graded, or what went wrong with its feedback page

Names, cell ids and notes come from students (a folder may be called ``=HYPERLINK(...)`` or hold a newline):
every text cell of both files goes through ``csv_text`` (no formula, no control character), and every line
printed about a student through ``printable`` (one line, no terminal escape). Both files are written
atomically; a write that fails (a full disk) raises ``ReportWriteError`` and leaves no temporary file.
"""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from pathlib import Path

from .layout import BuildLayout, BuildWriteError, write_error
from .submissions import Submission

GRADES_COLUMNS = ("student", "assignment", "score", "max_score", "status", "sandbox", "timed_out_cells",
                  "note")
BY_QUESTION_COLUMNS = ("student", "assignment", "cell", "score", "max_score")
STATUSES = ("graded", "timeout", "error", "skipped", "incomplete", "missing", "misnamed", "duplicate",
            "hidden",
            "refused")
INCOMPLETE_NOTE = "not graded: the run stopped before this submission (crash or kill); run grade again"

# Characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection"), and their full-width
# forms, which some spreadsheets read the same way.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Everything outside printable ASCII is looked at one character at a time (``_escape``); plain ASCII text,
# the usual case, passes the regular expression untouched.
_NOT_PLAIN = re.compile(r"[^\x20-\x7e]")
# Control characters (C0, DEL, C1), format characters (bidirectional overrides, zero-width ones), line and
# paragraph separators, and lone surrogates (an undecodable file name; UTF-8 cannot write them).
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


class ReportWriteError(BuildWriteError):
    """grades.csv or grades_by_question.csv could not be written (the message names the file and why)."""


def _escape(match: re.Match) -> str:
    char = match.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    if unicodedata.category(char) not in _UNSAFE_CATEGORIES:
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text, limit: int | None = None) -> str:
    """``text`` as one line that is safe to print: no control character, no line break, no terminal escape.

    Newline, carriage return and tab become ``\\n``, ``\\r`` and ``\\t``; every other control or format
    character (ESC of an ANSI sequence, DEL, C1, bidirectional overrides, line separators, lone surrogates)
    becomes a visible ``\\xNN`` / ``\\uNNNN`` escape. So a student folder named ``"a\\nb ok 14/14"`` prints
    as one line, and ``"\\x1b[31m"`` cannot colour the terminal.

    Args:
        text: anything; not a ``str`` is made one with ``str()``.
        limit: the most characters kept (the rest replaced by ``"..."``); None keeps everything.

    Returns:
        The escaped text.
    """
    text = text if isinstance(text, str) else str(text)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "..."
    return _NOT_PLAIN.sub(_escape, text)


def csv_text(text) -> str:
    """A text cell of a CSV the grader writes, safe to open in a spreadsheet.

    Control characters are escaped as in ``printable``; a cell that then starts (after any spaces) with a
    character that would make it a formula (``FORMULA_START``: ``=``, ``+``, ``-``, ``@``, ...) gets a
    leading single quote, as OWASP advises against CSV injection. Apply it to every cell whose text may come
    from a student (names, cell ids, notes); numbers the grader formats itself are written as they are.

    Args:
        text: the cell's text.

    Returns:
        The text to write.
    """
    text = printable(text)
    return "'" + text if text.lstrip(" ").startswith(FORMULA_START) else text


def write_text_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Write a text file atomically: a temporary file next to it, synced, then renamed over it.

    On any failure the temporary file is removed and the old file (if any) is left as it was. (For the
    feedback pages: ``runner`` writes them with it.)

    Args:
        path: the file to write.
        text: its content (UTF-8).
        mode: the file's permission bits.

    Raises:
        ReportWriteError: the file could not be written (a full disk says so in words).
    """
    _atomic_write(path, lambda f: f.write(text), mode)


def _atomic_write(path: Path, fill, mode: int | None = None) -> None:
    """Write ``path`` by calling ``fill(file)`` on a temporary file, then renaming it; the temporary file is
    removed whatever fails (``mode``: None keeps mkstemp's 0o600, right for the grades)."""
    import tempfile

    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            if mode is not None:
                os.fchmod(fd, mode)
            f = os.fdopen(fd, "w", newline="", encoding="utf-8")
        except BaseException:
            os.close(fd)
            raise
        with f:  # closing flushes: a full disk may only show here
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise write_error(path, exc, shown=show_path(path), cls=ReportWriteError) from exc
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _write_csv(path: Path, rows: list[list[str]], header: tuple[str, ...]) -> None:
    import csv

    def fill(f):
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)

    _atomic_write(path, fill)


def write_reports(subs: list[Submission], layout: BuildLayout) -> tuple[Path, Path]:
    """Write grades.csv and grades_by_question.csv atomically, replacing those of an earlier run.

    A submission still "pending" is written with status ``incomplete`` (see ``INCOMPLETE_NOTE``): the grader
    writes both files before the first submission and after each one, so a crash or a kill leaves a file
    that says how far the run got, never the previous run's.

    Args:
        subs: the submissions of this run, in the order to list them.
        layout: the build layout (the files go to ``layout.grades_csv`` and ``layout.by_question_csv``).

    Every text cell goes through ``csv_text`` (student folder names, cell ids and notes come from students:
    no formula, no control character reaches the spreadsheet); the scores are the grader's own numbers.

    Returns:
        The two paths written.

    Raises:
        ReportWriteError: a file could not be written (a full disk, say); no temporary file is left behind.
    """
    rows = []
    for s in subs:
        status, note = (s.status, s.note) if s.status != "pending" else ("incomplete", INCOMPLETE_NOTE)
        rows.append([csv_text(s.student), csv_text(s.assignment), f"{s.score:g}", f"{s.max_score:g}",
                     csv_text(status), csv_text(s.sandbox), csv_text(";".join(s.timed_out_cells)),
                     csv_text(note)])
    _write_csv(layout.grades_csv, rows, GRADES_COLUMNS)
    rows = [[csv_text(s.student), csv_text(s.assignment), csv_text(name), f"{score:g}", f"{top:g}"]
            for s in subs if s.status != "pending" for name, score, top in s.by_question]
    _write_csv(layout.by_question_csv, rows, BY_QUESTION_COLUMNS)
    return layout.grades_csv, layout.by_question_csv


def show_path(path: Path) -> str:
    """A path relative to the working directory when it lies below it, else absolute (for messages)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def format_summary(subs: list[Submission], layout: BuildLayout) -> str:
    """The table printed at the end of a grading run: one row per submission, then a total line.

    Args:
        subs: the submissions of this run.
        layout: the build layout (for the paths named in the last line).

    Returns:
        The text, ending without a newline. Every row is one line: names go through ``printable``.
    """
    lines = [f"{'student':<16}{'assignment':<12}{'score':>12}  {'status':<9}{'seconds':>8}{'cpu s':>8}"]
    for s in subs:
        lines.append(f"{printable(s.student, 200):<16}{printable(s.assignment, 200):<12}"
                     f"{f'{s.score:g}/{s.max_score:g}':>12}  {printable(s.status):<9}"
                     f"{s.seconds:>8.1f}{s.cpu_seconds:>8.1f}")
    total = sum(s.seconds for s in subs)
    lines.append(printable(f"{len(subs)} submission(s), {total:.1f} s of grading; "
                           f"grades in {show_path(layout.grades_csv)}, "
                           f"feedback in {show_path(layout.feedback_root)}/<student>/<ps>/"))
    return "\n".join(lines)
