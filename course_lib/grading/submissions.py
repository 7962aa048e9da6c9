"""Students' submissions: finding them in either layout, and copying them where nbgrader grades them.

Two layouts are accepted, mixed freely:

    <root>/<student_id>/<ps>/<ps>.ipynb    nbgrader's own; other files in that folder come along
    <root>/<student_id>/<ps>.ipynb         flat

The originals are only ever read.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .layout import COPY_IGNORE, BuildLayout
from .markers import STUDENT_ID


@dataclass
class Submission:
    """One student's notebook for one assignment, and what grading made of it.

    Attributes:
        student, assignment: the ids.
        source: the submission's folder (nbgrader layout) or its notebook (flat layout).
        status: "pending", then "graded", "timeout", "error" or "skipped" (see ``reports``).
        score, max_score: points.
        seconds, cpu_seconds: what grading cost (reported, never asserted).
        by_question: (test cell id, score, max score) per test cell.
        timed_out_cells: ids of the cells interrupted at the per-cell timeout.
        note: why a submission is not plainly graded, or what went wrong with its feedback.
    """

    student: str
    assignment: str
    source: Path
    status: str = "pending"
    score: float = 0.0
    max_score: float = 0.0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    by_question: list[tuple[str, float, float]] = field(default_factory=list)
    timed_out_cells: list[str] = field(default_factory=list)
    note: str = ""


def find_submissions(root: Path, assignments: list[str]) -> tuple[list[Submission], list[str]]:
    """The submissions under a folder, in either layout.

    Args:
        root: the folder of student folders.
        assignments: the assignment names to look for.

    Returns:
        (submissions sorted by student then by the order of ``assignments``, ignored entries): each ignored
        entry is ``"<path> (<reason>)"``: a folder whose name is not a valid student id, or a file or folder
        that is not a known assignment. Hidden entries (starting with ".") are skipped silently. When both
        layouts hold the same assignment, the nbgrader layout wins and the flat file is listed as ignored.
    """
    found, ignored = [], []
    for student_dir in sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")):
        student = student_dir.name
        if not STUDENT_ID.match(student):
            ignored.append(f"{student_dir} (not a valid student id)")
            continue
        used = set()
        for ps in assignments:
            nested, flat = student_dir / ps / f"{ps}.ipynb", student_dir / f"{ps}.ipynb"
            if nested.is_file():
                found.append(Submission(student, ps, nested.parent))
                used.add(ps)
            elif flat.is_file():
                found.append(Submission(student, ps, flat))
                used.add(f"{ps}.ipynb")
        for entry in sorted(student_dir.iterdir()):
            if entry.name not in used and not entry.name.startswith("."):
                ignored.append(f"{entry} (not a known assignment)")
    return found, ignored


def stage(sub: Submission, layout: BuildLayout) -> Path:
    """Copy a submission into nbgrader's submitted folder, replacing an earlier copy.

    Args:
        sub: the submission.
        layout: the build layout.

    Returns:
        The folder ``build/nbgrader/submitted/<student>/<ps>``. Its files are made writable by their owner,
        because nbgrader must be able to delete them on the next run; the originals are never touched.
    """
    dest = layout.submitted(sub.student, sub.assignment)
    if dest.exists():
        shutil.rmtree(dest)
    if sub.source.is_dir():
        shutil.copytree(sub.source, dest, copy_function=shutil.copyfile,
                        ignore=shutil.ignore_patterns(*COPY_IGNORE))
    else:
        dest.mkdir(parents=True)
        shutil.copyfile(sub.source, dest / sub.source.name)
    for path in [dest, *dest.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
    return dest
