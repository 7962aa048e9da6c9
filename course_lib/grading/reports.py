"""What a grading run hands back: build/grades.csv, build/grades_by_question.csv and the printed summary.

``grades.csv`` has one row per submission graded in the run, with the columns ``GRADES_COLUMNS``:

    status           graded   (a cell cut by the per-cell timeout is graded: it scores zero)
                     timeout  (the whole submission overran its limit; its grader and kernel were killed)
                     error    (nbgrader could not grade it: not a notebook, or a cell ignored the interrupt)
                     skipped  (the run's total time budget was used up)
    timed_out_cells  the ids of the cells interrupted at the per-cell timeout, separated by ";"
    note             why a row is not plainly graded, or what went wrong with its feedback page
"""

from __future__ import annotations

from pathlib import Path

from .layout import BuildLayout
from .submissions import Submission

GRADES_COLUMNS = ("student", "assignment", "score", "max_score", "status", "timed_out_cells", "note")
BY_QUESTION_COLUMNS = ("student", "assignment", "cell", "score", "max_score")
STATUSES = ("graded", "timeout", "error", "skipped")


def write_reports(subs: list[Submission], layout: BuildLayout) -> tuple[Path, Path]:
    """Write grades.csv and grades_by_question.csv, replacing those of an earlier run.

    Args:
        subs: the submissions of this run, in the order to list them.
        layout: the build layout (the files go to ``layout.grades_csv`` and ``layout.by_question_csv``).

    Returns:
        The two paths written.
    """
    import csv

    layout.build.mkdir(parents=True, exist_ok=True)
    with open(layout.grades_csv, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(GRADES_COLUMNS)
        for s in subs:
            writer.writerow([s.student, s.assignment, f"{s.score:g}", f"{s.max_score:g}", s.status,
                             ";".join(s.timed_out_cells), s.note])
    with open(layout.by_question_csv, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(BY_QUESTION_COLUMNS)
        for s in subs:
            for name, score, top in s.by_question:
                writer.writerow([s.student, s.assignment, name, f"{score:g}", f"{top:g}"])
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
