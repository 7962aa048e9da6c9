"""Grading the course's assignments: an importable, tested package behind ``scripts/assignments.py``.

nbgrader is used only to release the student versions (``generate_assignment``, which also writes the
gradebook). Submissions are graded here: each one runs in a bubblewrap sandbox of its own, and the scores
and feedback pages are computed outside it.

Modules, one job each:

    markers        the strings grading looks for: nbgrader's region markers, the hidden-test placeholder,
                   student ids
    layout         where the sources are and what goes where under build/ (``--source``,
                   ``$COURSE_ASSIGNMENTS_SOURCE``, ``--build-dir``, ``$COURSE_BUILD_DIR``)
    sources        finding, checking (``lint_source``) and privately exporting the assignment sources
    submissions    finding students' submissions (two layouts) and staging private copies of them
    sandbox        the bubblewrap command line (what a submission can see) and its limits
    reaper         the launcher in front of each sandbox that waits for it, so its CPU time is counted
    driver         the program inside the sandbox: runs the student's cells, answers the grader's calls
    wire           the data that crosses the sandbox's wall (JSON and NumPy arrays, never pickles)
    trusted        grading one submission: test cells in the grader (``trusted`` mode) or in the sandbox
    feedback       the feedback pages: escaped, redacted by content, withheld when in doubt
    processes      finding and killing a process tree
    reports        grades.csv, grades_by_question.csv (written atomically) and the printed summary
    runner         release, grade, check
    cli            the command line (``main``); ``python -m course_lib.grading`` runs it too

Importing this package imports neither nbgrader nor TensorFlow; the release imports nbgrader, and the
grader imports TensorFlow when it runs trusted tests that need it (ps1, ps2).
"""

from .layout import BuildLayout, build_dir, source_root
from .markers import HIDDEN_MARKERS, SOLUTION_MARKERS
from .reports import BY_QUESTION_COLUMNS, GRADES_COLUMNS, write_reports
from .sources import discover_assignments, export_source, lint_source
from .submissions import Submission, find_submissions, stage


def main(argv: list[str] | None = None) -> int:
    """The command line (see ``course_lib.grading.cli``); returns the exit status."""
    from .cli import main as _main

    return _main(argv)


__all__ = [
    "BY_QUESTION_COLUMNS", "GRADES_COLUMNS", "HIDDEN_MARKERS", "SOLUTION_MARKERS",
    "BuildLayout", "Submission", "build_dir", "discover_assignments", "export_source", "find_submissions",
    "lint_source", "main", "source_root", "stage", "write_reports",
]
