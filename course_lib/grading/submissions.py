"""Students' submissions: finding them in either layout, and what is wrong with those that cannot be graded.

Two layouts are accepted, mixed freely:

    <root>/<student_id>/<ps>/<ps>.ipynb    nbgrader's layout; other files in that folder come along
    <root>/<student_id>/<ps>.ipynb         flat

The originals are only ever read. Every (student, assignment) pair of the run gets a row: a pair that
cannot be graded gets one of the statuses ``PROBLEM_STATUSES`` instead of being skipped quietly.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .layout import COPY_IGNORE, BuildLayout
from .markers import STUDENT_ID

PROBLEM_STATUSES = {
    "missing": "no notebook for this assignment",
    "misnamed": "a file or folder that is not a known assignment, or a folder that is not a valid student id",
    "duplicate": "the assignment is there in both layouts: grade one by removing the other",
    "hidden": "a hidden file or folder (its name starts with '.')",
    "refused": "a symbolic link or a file outside the submissions folder",
}


@dataclass
class Submission:
    """One student's notebook for one assignment, and what grading made of it.

    Attributes:
        student, assignment: the ids.
        source: the submission's folder (nbgrader layout) or its notebook (flat layout).
        status: "pending", then one of ``reports.STATUSES``.
        score, max_score: points.
        seconds, cpu_seconds: what grading cost (reported, never asserted): wall-clock seconds, and the CPU
            seconds of the sandbox (everything that ran in it) plus the grader's own (the trusted tests).
        by_question: (test cell id, score, max score) per test cell.
        timed_out_cells: ids of the cells interrupted at the per-cell timeout.
        note: why a submission is not plainly graded, or what went wrong with its feedback.
        sandbox: "bwrap" or "UNSAFE" (no sandbox, asked for with --unsafe-no-sandbox).
    """

    student: str
    assignment: str
    source: Path | None
    status: str = "pending"
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    by_question: list[tuple[str, float, float]] = field(default_factory=list)
    timed_out_cells: list[str] = field(default_factory=list)
    note: str = ""
    sandbox: str = ""


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def has_link(path: Path, root: Path) -> bool:
    """True when ``path`` or anything between ``root`` and it, or anything below it, is a symbolic link."""
    path = Path(path)
    current = path
    while current != root and current != current.parent:
        if current.is_symlink():
            return True
        current = current.parent
    return path.is_dir() and any(p.is_symlink() for p in path.rglob("*"))


def find_submissions(root: Path, assignments: list[str], known: list[str] | None = None
                     ) -> tuple[list[Submission], list[Submission]]:
    """The submissions under a folder, in either layout, and a row for everything that cannot be graded.

    Args:
        root: the folder of student folders.
        assignments: the assignment names graded in this run.
        known: every assignment name of the course (entries naming one of them are not "misnamed"); defaults
            to ``assignments``.

    Returns:
        (submissions to grade, problem rows), each sorted by student then by the order of ``assignments``.
        Problem rows have a status of ``PROBLEM_STATUSES`` and a note. Every valid student folder gets a row
        for every assignment in ``assignments``.
    """
    root = Path(root)
    known = list(known or assignments)
    found, problems = [], []

    def problem(student, assignment, status, where):
        problems.append(Submission(student, assignment, None, status=status,
                                   note=f"{PROBLEM_STATUSES[status]}: {where}"))

    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            problem(entry.name, "", "hidden", entry.name)
            continue
        if entry.is_symlink() or not _inside(entry, root):
            problem(entry.name, "", "refused", entry.name)
            continue
        if not entry.is_dir():
            problem(entry.name, "", "misnamed", entry.name)
            continue
        student = entry.name
        if not STUDENT_ID.match(student):
            problem(student, "", "misnamed", f"{student}/ is not a valid student id")
            continue
        used = set()
        for ps in assignments:
            nested, flat = entry / ps / f"{ps}.ipynb", entry / f"{ps}.ipynb"
            candidates = [(p, kind) for p, kind in ((nested, "nested"), (flat, "flat"))
                          if p.exists() or p.is_symlink()]
            used.update({ps, f"{ps}.ipynb"})
            if not candidates:
                problem(student, ps, "missing", f"{student}/{ps}/{ps}.ipynb or {student}/{ps}.ipynb")
            elif len(candidates) > 1:
                problem(student, ps, "duplicate", f"{student}/{ps}/{ps}.ipynb and {student}/{ps}.ipynb")
            else:
                path, kind = candidates[0]
                if has_link(path, root) or not _inside(path, root) or not path.is_file():
                    problem(student, ps, "refused", str(path.relative_to(root)))
                else:
                    found.append(Submission(student, ps, path.parent if kind == "nested" else path))
        for item in sorted(entry.iterdir()):
            if item.name in used:
                continue
            if item.name.startswith("."):
                problem(student, "", "hidden", f"{student}/{item.name}")
            elif item.name not in known and item.name not in {f"{k}.ipynb" for k in known}:
                problem(student, "", "misnamed", f"{student}/{item.name}")
    order = {ps: i for i, ps in enumerate(assignments)}
    key = (lambda s: (s.student, order.get(s.assignment, -1), s.note))  # noqa: E731
    return sorted(found, key=key), sorted(problems, key=key)


def stage(sub: Submission, layout: BuildLayout) -> Path:
    """Copy a submission into the grader's own folder, replacing an earlier copy (symlinks are left out).

    The sandbox's home is filled from this copy (see ``trusted.prepare_home``); every file is made writable
    so that regrading can replace it.

    Returns:
        The folder ``build/nbgrader/submitted/<student>/<ps>``; the originals are never touched.
    """
    dest = layout.submitted(sub.student, sub.assignment)
    if dest.exists():
        shutil.rmtree(dest)
    if sub.source.is_dir():
        shutil.copytree(sub.source, dest, copy_function=shutil.copyfile, symlinks=True,
                        ignore=shutil.ignore_patterns(*COPY_IGNORE))
        for link in [p for p in dest.rglob("*") if p.is_symlink()]:
            link.unlink()
    else:
        dest.mkdir(parents=True)
        shutil.copyfile(sub.source, dest / sub.source.name)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    return dest
