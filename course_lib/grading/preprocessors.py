"""nbgrader preprocessors that fix known nbgrader traps; ``nbgrader_config.py`` puts them in its pipelines.

* ``StderrAsText`` (autograde, after nbgrader's ``IgnorePattern``): nbgrader scores a test cell zero when it
  wrote anything to stderr. Python reports errors as error outputs, so what is left on stderr is warnings and
  debugging prints: they become ordinary text marked ``[stderr]``, and very long outputs are cut.
* ``RestoreMissingSolutionCells`` (sanitize, before nbgrader's ``OverwriteCells``): a deleted answer cell is
  put back as an unanswered stub, so that nbgrader can re-insert the deleted test cells after it (PR #1770's
  ``add_missing_cells`` fails with a KeyError otherwise, and the whole submission is lost).
* ``HideHiddenTests`` (feedback): nbgrader's feedback shows hidden tests (issues #917, #1363); this removes
  their source and the traceback lines that quote it, keeping the error message.
"""

from __future__ import annotations

import re

from nbformat import from_dict
from nbgrader.preprocessors import NbGraderPreprocessor

from .markers import (
    ANSI,
    HIDDEN_BEGIN,
    HIDDEN_END,
    HIDDEN_PLACEHOLDER,
    HIDDEN_TRACEBACK_LINE,
    RESTORED_ANSWER_STUB,
    STDERR_PREFIX,
)


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def is_grade_cell(cell) -> bool:
    """True for a cell that carries points (an autograder test cell, or a manually graded answer)."""
    return bool(_nbgrader(cell).get("grade"))


class StderrAsText(NbGraderPreprocessor):
    """In test cells, turn stderr outputs into stdout marked ``[stderr]``; in all cells, cap long outputs.

    Runs after ``IgnorePattern`` (which has already dropped TensorFlow's log noise). A test cell then passes
    or fails by raising, never by printing.

    Attributes:
        max_chars: the longest text one stream output keeps; the rest is replaced by a note of its length.
    """

    max_chars = 20_000

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.outputs:
            if output.output_type != "stream":
                continue
            if output.name == "stderr" and is_grade_cell(cell):
                output.name = "stdout"
                output.text = "".join(STDERR_PREFIX + line for line in output.text.splitlines(True))
            if len(output.text) > self.max_chars:
                cut = len(output.text) - self.max_chars
                output.text = output.text[: self.max_chars] + f"\n... {cut:,} more characters not shown ...\n"
        return cell, resources


def _stub_cell(grade_id: str) -> object:
    return from_dict({
        "cell_type": "code", "execution_count": None, "outputs": [], "id": f"restored-{grade_id}",
        "metadata": {"nbgrader": {"grade": False, "grade_id": grade_id, "locked": False,
                                  "schema_version": 3, "solution": True, "task": False}},
        "source": RESTORED_ANSWER_STUB,
    })


def restore_missing_answers(nb, source_cells: list[str], solution_ids: set[str],
                            grade_ids: set[str]) -> list[str]:
    """Insert a stub for every answer cell of the source that the notebook lacks.

    Args:
        nb: the submitted notebook (changed in place).
        source_cells: the grade_ids of the source's nbgrader cells, in notebook order.
        solution_ids: the ids among them that are answer cells.
        grade_ids: the ids among them that carry points (an answer that is also graded is left to nbgrader).

    Returns:
        The ids restored, in order. Each stub goes right after the nearest earlier source cell still present,
        or first when there is none.
    """
    present = {_nbgrader(cell).get("grade_id") for cell in nb.cells}
    restored = []
    for i, name in enumerate(source_cells):
        if name in present or name not in solution_ids or name in grade_ids:
            continue
        position = 0
        for earlier in reversed(source_cells[:i]):
            if earlier in present:
                ids = [_nbgrader(cell).get("grade_id") for cell in nb.cells]
                position = 1 + ids.index(earlier)
                break
        nb.cells.insert(position, _stub_cell(name))
        present.add(name)
        restored.append(name)
    return restored


class RestoreMissingSolutionCells(NbGraderPreprocessor):
    """Put back answer cells a student deleted, as unanswered stubs, before nbgrader restores test cells.

    The stub raises NotImplementedError, so the questions depending on it score zero and the rest of the
    notebook is graded normally. Reads the source's cells from the gradebook.
    """

    def preprocess(self, nb, resources):
        from nbgrader.api import Gradebook

        nbg = resources["nbgrader"]
        with Gradebook(nbg["db_url"]) as gb:
            source_nb = gb.find_notebook(nbg["notebook"], nbg["assignment"])
            names = [cell.name for cell in source_nb.source_cells]  # in notebook order
            solution_ids = {cell.name for cell in source_nb.solution_cells}
            grade_ids = {cell.name for cell in source_nb.grade_cells}
        for name in restore_missing_answers(nb, names, solution_ids, grade_ids):
            self.log.warning("Answer cell %s was missing; restored it as an empty stub", name)
        return nb, resources


def hide_hidden_source(text: str) -> str:
    """Replace each hidden-test region of a cell's source (marker lines included) by ``HIDDEN_PLACEHOLDER``.

    Args:
        text: a cell's source.

    Returns:
        The source with the regions replaced; an unterminated region hides everything after its begin line.
    """
    kept, hidden = [], False
    for line in text.split("\n"):
        if HIDDEN_BEGIN in line:
            hidden = True
            kept.append(HIDDEN_PLACEHOLDER)
        elif HIDDEN_END in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept)


class HideHiddenTests(NbGraderPreprocessor):
    """Strip hidden-test source, and the traceback lines quoting it, from the pages students receive.

    A traceback entry that points into the cell itself (IPython's ``Cell In[n]`` frame, which prints the
    failing source lines) is replaced by ``HIDDEN_TRACEBACK_LINE``; the entries of other frames and the final
    error line (``AssertionError: max relative error ...``) are kept.
    """

    def preprocess_cell(self, cell, resources, index):
        if HIDDEN_BEGIN not in cell.source:
            return cell, resources
        cell.source = hide_hidden_source(cell.source)
        if cell.cell_type != "code":
            return cell, resources
        n = cell.get("execution_count")
        if n is None:
            return cell, resources
        own_frame = re.compile(rf"^\s*(Cell In\[{n}\]|Input In \[{n}\]|<ipython-input-{n}-)")
        for output in cell.outputs:
            if output.output_type == "error":
                output.traceback = [HIDDEN_TRACEBACK_LINE if own_frame.match(ANSI.sub("", entry)) else entry
                                    for entry in output.traceback]
        return cell, resources
