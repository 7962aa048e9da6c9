"""nbgrader configuration for the course's graded assignments (nbgrader 0.9.x).

Used by ``scripts/assignments.py`` (``make assignments``, ``make grade``) and by any ``nbgrader`` command run
from the repository root. Everything nbgrader writes lives under the build directory (``build/`` or
``$COURSE_BUILD_DIR``):

    build/nbgrader/source/<ps>/                copies of notebooks/assignments/source/<ps>/
    build/nbgrader/gradebook.db                the SQLite gradebook
    build/nbgrader/submitted/<student>/<ps>/   copies of the submissions (the originals are never touched)
    build/nbgrader/autograded/<student>/<ps>/  executed, graded submissions
    build/release/<ps>/                        student versions: solutions and hidden tests removed
    build/feedback/<student>/<ps>/             one HTML feedback page per notebook, hidden tests stripped

Besides paths, this file fixes four known nbgrader traps:

* per-cell timeout: ``Execute.timeout``; an endless loop is interrupted, its cell scores zero, grading goes
  on. (The bound on a whole submission is enforced by ``scripts/assignments.py``, which kills the process
  tree.)
* stderr: nbgrader scores a test cell zero if it wrote anything to stderr. ``IgnorePattern`` (nbgrader PR
  #1904) drops TensorFlow's start-up log lines and Python warnings, and ``StderrAsText`` below turns whatever
  stderr is left in a test cell into ordinary text: a test cell passes or fails by raising, never by printing.
* deleted test cells: ``OverwriteCells.add_missing_cells`` (PR #1770) puts them back from the gradebook, and
  ``RestoreMissingSolutionCells`` puts back deleted answer cells as unanswered stubs, so that the restored
  test cells have a place to go (nbgrader crashes otherwise).
* hidden tests in feedback (issues #917, #1363): ``HideHiddenTests`` removes the hidden-test source from the
  feedback pages and the lines of the traceback that would quote it, keeping the error message itself.
"""

import os
import re
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbformat import from_dict
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    Execute,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

c = get_config()  # noqa: F821  (injected by traitlets when it loads this file)

# -------------------------------------------------------------------------------------------------- paths
# The same rule as course_lib.config.BUILD_DIR, written out so that this file needs nothing but nbgrader.
REPO_ROOT = Path(__file__).resolve().parent
BUILD_DIR = Path(os.environ.get("COURSE_BUILD_DIR", REPO_ROOT / "build")).resolve()

c.CourseDirectory.course_id = "cnn-course"
c.CourseDirectory.root = str(BUILD_DIR)
# nbgrader's working folders go under build/nbgrader/; the two things people open (the release for students
# and the feedback pages) sit directly under build/.
c.CourseDirectory.source_directory = "nbgrader/source"
c.CourseDirectory.submitted_directory = "nbgrader/submitted"
c.CourseDirectory.autograded_directory = "nbgrader/autograded"
c.CourseDirectory.solution_directory = "nbgrader/solution"
c.CourseDirectory.source_with_tests_directory = "nbgrader/source_with_tests"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///" + str(BUILD_DIR / "nbgrader" / "gradebook.db")
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]

# -------------------------------------------------------------------------------------------------- limits
# A cell may run two minutes (the assignments need a few seconds; a slow machine gets ample margin). A cell
# still running then is interrupted and scores zero.
c.Execute.timeout = 120  # scripts/assignments.py grade --cell-timeout overrides it
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# -------------------------------------------------------------------------------------------------- stderr
# Start-up noise of TensorFlow's C++ runtime (absl/glog lines such as "I0000 00:00:17.. 123 port.cc:153] ...",
# older "2024-01-01 12:00:00.000: W tensorflow/..." lines, the CPU-instructions notice) and Python warnings.
TF_NOISE = "(?m)" + "|".join([
    r"^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w./-]+:\d+\]",
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] ",
    r"WARNING: All log messages before absl::InitializeLog\(\) is called",
    r"rebuild TensorFlow with the appropriate compiler flags",
    r"^WARNING:(tensorflow|absl):",
    r"^\S.*:\d+: \w*Warning: ",
])
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = TF_NOISE

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _is_grade_cell(cell):
    return bool(cell.metadata.get("nbgrader", {}).get("grade"))


class StderrAsText(NbGraderPreprocessor):
    """In test cells, turn stderr into stdout (marked ``[stderr]``) and cap very long outputs.

    nbgrader counts any stderr output of a test cell as a failure. Python reports errors as error outputs, so
    stderr only carries warnings and debugging prints; they should cost nothing. Runs after IgnorePattern.
    """

    max_chars = 20_000

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.outputs:
            if output.output_type != "stream":
                continue
            if output.name == "stderr" and _is_grade_cell(cell):
                output.name = "stdout"
                output.text = "".join("[stderr] " + line for line in output.text.splitlines(True))
            if len(output.text) > self.max_chars:
                cut = len(output.text) - self.max_chars
                output.text = output.text[: self.max_chars] + f"\n... {cut:,} more characters not shown ...\n"
        return cell, resources


class RestoreMissingSolutionCells(NbGraderPreprocessor):
    """Put back answer cells a student deleted, as unanswered stubs, before nbgrader restores test cells.

    nbgrader's ``add_missing_cells`` re-inserts a deleted test cell after the cell that preceded it in the
    source; if that was an answer cell the student also deleted, it fails with a KeyError and the whole
    submission is lost. A restored stub raises NotImplementedError, so the questions depending on it score
    zero and the rest of the notebook is graded normally.
    """

    stub = "# This answer cell was missing from the submission; it was put back empty when grading.\n" \
           "raise NotImplementedError()"

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        nbg = resources["nbgrader"]
        present = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells}
        with Gradebook(nbg["db_url"]) as gb:
            source_nb = gb.find_notebook(nbg["notebook"], nbg["assignment"])
            source_cells = source_nb.source_cells  # in notebook order
            solution_ids = {cell.name for cell in source_nb.solution_cells}
            grade_ids = {cell.name for cell in source_nb.grade_cells}
            for i, source_cell in enumerate(source_cells):
                name = source_cell.name
                if name in present or name not in solution_ids or name in grade_ids:
                    continue
                # insert after the nearest earlier nbgrader cell that is still in the notebook
                position = 0
                for earlier in reversed(source_cells[:i]):
                    if earlier.name in present:
                        ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in nb.cells]
                        position = 1 + ids.index(earlier.name)
                        break
                cell = from_dict({
                    "cell_type": "code", "execution_count": None, "outputs": [], "id": f"restored-{name}",
                    "metadata": {"nbgrader": {"grade": False, "grade_id": name, "locked": False,
                                              "schema_version": 3, "solution": True, "task": False}},
                    "source": self.stub,
                })
                nb.cells.insert(position, cell)
                present.add(name)
                self.log.warning("Answer cell %s was missing; restored it as an empty stub", name)
        return nb, resources


class HideHiddenTests(NbGraderPreprocessor):
    """Strip hidden-test source, and the traceback lines quoting it, from the pages students receive."""

    begin = "BEGIN HIDDEN TESTS"
    end = "END HIDDEN TESTS"
    placeholder = "# (hidden tests ran here; their code is not shown)"

    def preprocess_cell(self, cell, resources, index):
        if self.begin not in cell.source:
            return cell, resources
        kept, hidden = [], False
        for line in cell.source.split("\n"):
            if self.begin in line:
                hidden = True
                kept.append(self.placeholder)
            elif self.end in line:
                hidden = False
            elif not hidden:
                kept.append(line)
        cell.source = "\n".join(kept)
        if cell.cell_type == "code":
            n = cell.get("execution_count")
            own_frame = re.compile(rf"^\s*(Cell In\[{n}\]|Input In \[{n}\]|<ipython-input-{n}-)")
            for output in cell.outputs:
                if output.output_type != "error":
                    continue
                frames = []
                for entry in output.traceback:
                    if n is not None and own_frame.match(ANSI.sub("", entry)):
                        frames.append("(a line of the hidden tests is not shown)")
                    else:
                        frames.append(entry)
                output.traceback = frames
        return cell, resources


# ------------------------------------------------------------------------------------------------- pipelines
# add_missing_cells: test cells a student deleted are put back from the gradebook and run (nbgrader PR #1770).
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
