"""nbgrader configuration for the course's graded assignments (nbgrader 0.9.x).

Used by ``scripts/assignments.py`` (``make assignments``, ``make grade``) and by any ``nbgrader`` command run
from the repository root. The code lives in ``course_lib.grading`` (tested in tests/test_grading_unit.py);
this file only sets values. The folder layout under ``build/`` is described in
``course_lib/grading/layout.py``.

The known nbgrader traps it handles:

* per-cell timeout: ``Execute.timeout``; a cell still running is interrupted, scores zero, and grading goes on
  (the bound on a whole submission is enforced by the grader, which kills the process tree).
* stderr: nbgrader scores a test cell zero if it wrote anything to stderr. ``IgnorePattern`` (PR #1904) drops
  TensorFlow's log lines and Python warnings; ``StderrAsText`` turns what is left into ordinary text.
* deleted test cells: ``OverwriteCells.add_missing_cells`` (PR #1770) puts them back from the gradebook, and
  ``RestoreMissingSolutionCells`` puts back deleted answer cells as stubs so that nbgrader does not crash.
* hidden tests in feedback (issues #917, #1363): ``HideHiddenTests``.
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    Execute,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from course_lib.grading import layout, markers
from course_lib.grading.preprocessors import (
    HideHiddenTests,
    RestoreMissingSolutionCells,
    StderrAsText,
)

c = get_config()  # noqa: F821  (injected by traitlets when it loads this file)

# -------------------------------------------------------------------------------------------------- paths
# Read now, not at import: the grader sets $COURSE_BUILD_DIR before it loads this file.
BUILD = layout.BuildLayout(layout.build_dir())
c.CourseDirectory.course_id = layout.COURSE_ID
c.CourseDirectory.root = str(BUILD.build)
for _name, _folder in layout.NBGRADER_DIRECTORIES.items():
    setattr(c.CourseDirectory, _name, _folder)
c.CourseDirectory.db_url = BUILD.db_url
c.CourseDirectory.ignore = list(layout.NBGRADER_IGNORE)

# -------------------------------------------------------------------------------------------------- limits
# A cell may run two minutes (the assignments need a few seconds; a slow machine gets ample margin). A cell
# still running then is interrupted, gets the error below (grading finds it by its name) and scores zero.
c.Execute.timeout = 120  # scripts/assignments.py grade --cell-timeout overrides it
c.Execute.interrupt_on_timeout = True
c.Execute.error_on_timeout = {
    "ename": markers.CELL_TIMEOUT_ENAME,
    "evalue": markers.CELL_TIMEOUT_MESSAGE,
    "traceback": [f"{markers.CELL_TIMEOUT_ENAME}: {markers.CELL_TIMEOUT_MESSAGE}"],
}
c.Execute.startup_timeout = 120
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# -------------------------------------------------------------------------------------------------- stderr
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = markers.TF_NOISE

# ------------------------------------------------------------------------------------------------- pipelines
c.OverwriteCells.add_missing_cells = True
c.Autograde.sanitize_preprocessors = [
    ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreMissingSolutionCells, OverwriteCells,
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    Execute, IgnorePattern, StderrAsText, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
    AssignLatePenalties, CheckCellMetadata,
]
c.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
