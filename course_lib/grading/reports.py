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
"""

from __future__ import annotations

from pathlib import Path

from .layout import BuildLayout
from .submissions import Submission

GRADES_COLUMNS = ("student", "assignment", "score", "max_score", "status", "sandbox", "timed_out_cells",
                  "note")
BY_QUESTION_COLUMNS = ("student", "assignment", "cell", "score", "max_score")
STATUSES = ("graded", "timeout", "error", "skipped", "incomplete", "missing", "misnamed", "duplicate",
            "hidden",
            "refused")
INCOMPLETE_NOTE = "not graded: the run stopped before this submission (crash or kill); run grade again"


def _atomic_write(path: Path, rows: list[list[str]], header: tuple[str, ...]) -> None:
    import csv
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_reports(subs: list[Submission], layout: BuildLayout) -> tuple[Path, Path]:
    """Write grades.csv and grades_by_question.csv atomically, replacing those of an earlier run.

    A submission still "pending" is written with status ``incomplete`` (see ``INCOMPLETE_NOTE``): the grader
    writes both files before the first submission and after each one, so a crash or a kill leaves a file
    that says how far the run got, never the previous run's.

    Args:
        subs: the submissions of this run, in the order to list them.
        layout: the build layout (the files go to ``layout.grades_csv`` and ``layout.by_question_csv``).

    Returns:
        The two paths written.
    """
    rows = []
    for s in subs:
        status, note = (s.status, s.note) if s.status != "pending" else ("incomplete", INCOMPLETE_NOTE)
        rows.append([s.student, s.assignment, f"{s.score:g}", f"{s.max_score:g}", status, s.sandbox,
                     ";".join(s.timed_out_cells), note])
    _atomic_write(layout.grades_csv, rows, GRADES_COLUMNS)
    rows = [[s.student, s.assignment, name, f"{score:g}", f"{top:g}"]
            for s in subs if s.status != "pending" for name, score, top in s.by_question]
    _atomic_write(layout.by_question_csv, rows, BY_QUESTION_COLUMNS)
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
        The text, ending without a newline.
    """
    lines = [f"{'student':<16}{'assignment':<12}{'score':>12}  {'status':<9}{'seconds':>8}{'cpu s':>8}"]
    for s in subs:
        lines.append(f"{s.student:<16}{s.assignment:<12}{f'{s.score:g}/{s.max_score:g}':>12}  {s.status:<9}"
                     f"{s.seconds:>8.1f}{s.cpu_seconds:>8.1f}")
    total = sum(s.seconds for s in subs)
    lines.append(f"{len(subs)} submission(s), {total:.1f} s of grading; "
                 f"grades in {show_path(layout.grades_csv)}, "
                 f"feedback in {show_path(layout.feedback_root)}/<student>/<ps>/")
    return "\n".join(lines)
