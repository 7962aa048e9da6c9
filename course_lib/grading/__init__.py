"""Grading the course's nbgrader assignments: an importable, tested package behind ``scripts/assignments.py``.

Modules, one job each:

    markers        the strings grading looks for: nbgrader's region markers, TF log noise, student ids
    layout         where the sources are and what goes where under build/ (``--source``,
                   ``$COURSE_ASSIGNMENTS_SOURCE``, ``--build-dir``, ``$COURSE_BUILD_DIR``)
    sources        finding, checking (``lint_source``) and privately exporting the assignment sources
    submissions    finding students' submissions (two layouts) and staging copies for nbgrader
    preprocessors  the nbgrader preprocessors nbgrader_config.py adds (stderr, deleted cells, hidden tests)
    processes      running a grader with a time limit that kills its whole process tree
    reports        grades.csv, grades_by_question.csv and the printed summary
    runner         release, grade, check
    cli            the command line (``main``); ``python -m course_lib.grading`` runs it too

Importing this package imports neither nbgrader nor TensorFlow; ``preprocessors`` and the runner's steps
import nbgrader, and only the kernels nbgrader starts import TensorFlow.
"""

from .layout import BuildLayout, build_dir, source_root
from .markers import HIDDEN_MARKERS, SOLUTION_MARKERS, TF_NOISE, is_tf_noise
from .reports import BY_QUESTION_COLUMNS, GRADES_COLUMNS, write_reports
from .sources import discover_assignments, export_source, lint_source
from .submissions import Submission, find_submissions, stage


def main(argv: list[str] | None = None) -> int:
    """The command line (see ``course_lib.grading.cli``); returns the exit status."""
    from .cli import main as _main

    return _main(argv)


__all__ = [
    "BY_QUESTION_COLUMNS", "GRADES_COLUMNS", "HIDDEN_MARKERS", "SOLUTION_MARKERS", "TF_NOISE",
    "BuildLayout", "Submission", "build_dir", "discover_assignments", "export_source", "find_submissions",
    "is_tf_noise", "lint_source", "main", "source_root", "stage", "write_reports",
]
