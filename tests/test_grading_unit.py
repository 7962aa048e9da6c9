"""Fast tests of course_lib.grading: preprocessors, noise pattern, submissions, reports, sources, CLI.

No nbgrader autograde run here (tests/test_grading.py does those). Notebooks are built by hand with nbformat
and the nbgrader metadata the assignments use; the TensorFlow log lines and the IPython traceback below were
captured from real runs (TF 2.21, IPython 9) so that the patterns are tested against what the tools really
print.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_lib.grading import layout, markers, processes, reports, sources, submissions
from course_lib.grading.preprocessors import (
    HideHiddenTests,
    RestoreMissingSolutionCells,
    StderrAsText,
    hide_hidden_source,
    restore_missing_answers,
)
from course_lib.grading.runner import feedback_leak, stale_assignments, timed_out_cells

REPO = Path(__file__).resolve().parents[1]
PUBLIC_SOURCE = REPO / "notebooks" / "assignments" / "source"
SCRIPT = REPO / "scripts" / "assignments.py"


# ------------------------------------------------------------------------------------------------- helpers

def nbg_cell(kind: str, grade_id: str, text: str, **extra):
    """A cell with nbgrader metadata: kind is "answer", "test" or "readonly" (a locked markdown cell)."""
    meta = {"grade": kind == "test", "solution": kind == "answer", "locked": kind in ("test", "readonly"),
            "grade_id": grade_id, "schema_version": 3, "task": False}
    if kind == "test":
        meta["points"] = 1
    meta.update(extra)
    cell = new_markdown_cell(text) if kind == "readonly" else new_code_cell(text)
    cell.metadata["nbgrader"] = meta
    return cell


def grade_ids(nb) -> list[str]:
    return [cell["metadata"].get("nbgrader", {}).get("grade_id") for cell in nb["cells"]]


def tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(root.rglob("*"))}


def venv_on_path(monkeypatch) -> None:
    # nbgrader's Gradebook runs `alembic` from PATH; the grader puts this environment's bin/ first, so do we.
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    monkeypatch.setenv("PATH", path)


# -------------------------------------------------------------------------------------------- StderrAsText

def test_stderr_of_test_cells_becomes_marked_text_and_answer_cells_keep_theirs():
    test = nbg_cell("test", "t1", "check()")
    test.outputs = [new_output("stream", name="stderr", text="debug 1\ndebug 2\n"),
                    new_output("stream", name="stdout", text="ok\n")]
    answer = nbg_cell("answer", "a1", "f()")
    answer.outputs = [new_output("stream", name="stderr", text="student debug\n")]
    plain = new_code_cell("print(1)")
    plain.outputs = [new_output("stream", name="stderr", text="x\n")]
    nb = new_notebook(cells=[answer, test, plain, new_markdown_cell("text")])
    nb, _ = StderrAsText().preprocess(nb, {})
    assert [o.name for o in nb.cells[1].outputs] == ["stdout", "stdout"]
    assert nb.cells[1].outputs[0].text == "[stderr] debug 1\n[stderr] debug 2\n"
    assert nb.cells[1].outputs[1].text == "ok\n"
    assert nb.cells[0].outputs[0].name == "stderr" and nb.cells[0].outputs[0].text == "student debug\n"
    assert nb.cells[2].outputs[0].name == "stderr"


def test_stderr_as_text_caps_long_outputs_and_says_how_much_was_cut():
    cell = nbg_cell("answer", "a1", "f()")
    cell.outputs = [new_output("stream", name="stdout", text="y" * 25_000)]
    nb, _ = StderrAsText().preprocess(new_notebook(cells=[cell]), {})
    text = nb.cells[0].outputs[0].text
    assert text.startswith("y" * StderrAsText.max_chars) and "y" * (StderrAsText.max_chars + 1) not in text
    assert "5,000 more characters not shown" in text


# ----------------------------------------------------------------------------------------- HideHiddenTests

# The error output of a failed hidden-test cell, as IPython 9 wrote it in an autograded ps1 (shortened).
REAL_TRACEBACK = [
    "\x1b[31m---------------------------------------------------------------------------\x1b[39m",
    "\x1b[31mNameError\x1b[39m                                 Traceback (most recent call last)",
    "\x1b[36mCell\x1b[39m\x1b[36m \x1b[39m\x1b[32mIn[4]\x1b[39m\x1b[32m, line 10\x1b[39m\n"
    "\x1b[32m---> \x1b[39m\x1b[32m10\x1b[39m     "
    "got_q1h = conv_output_size(n_q1h, k_q1h, stride=s_q1h, pad=p_q1h)\n",
    "File \x1b[32m/srv/course_lib/checks.py:40\x1b[39m, in \x1b[36mrel_error\x1b[39m\x1b[34m(a, b)\x1b[39m\n",
    "\x1b[31mNameError\x1b[39m: name 'conv_output_size' is not defined",
]
HIDDEN_SOURCE = (
    "# Hidden tests for question 1 run here when the notebook is graded.\n"
    "### BEGIN HIDDEN TESTS\n"
    "for n_q1h, k_q1h, s_q1h, p_q1h in [(7, 3, 2, 0)]:\n"
    "    got_q1h = conv_output_size(n_q1h, k_q1h, stride=s_q1h, pad=p_q1h)\n"
    "### END HIDDEN TESTS\n"
    "print('visible line after the region')"
)


def test_hidden_tests_are_removed_from_feedback_with_the_traceback_frame_that_quotes_them():
    cell = nbg_cell("test", "hidden_q1", HIDDEN_SOURCE)
    cell.execution_count = 4
    cell.outputs = [new_output("error", ename="NameError", evalue="name 'conv_output_size' is not defined",
                               traceback=list(REAL_TRACEBACK))]
    visible = nbg_cell("test", "test_q1", "assert conv_output_size(5, 3) == 3")
    visible.execution_count = 3
    nb, _ = HideHiddenTests().preprocess(new_notebook(cells=[visible, cell]), {})
    hidden = nb.cells[1]
    assert "got_q1h" not in hidden.source and "BEGIN HIDDEN" not in hidden.source
    assert hidden.source.splitlines() == [
        "# Hidden tests for question 1 run here when the notebook is graded.",
        markers.HIDDEN_PLACEHOLDER,
        "print('visible line after the region')",
    ]
    traceback = hidden.outputs[0].traceback
    assert not any("got_q1h" in entry for entry in traceback)
    assert traceback[2] == markers.HIDDEN_TRACEBACK_LINE
    assert traceback[3] == REAL_TRACEBACK[3], "frames of library code are kept"
    assert traceback[-1] == REAL_TRACEBACK[-1], "the error message is kept"
    assert nb.cells[0].source == "assert conv_output_size(5, 3) == 3", "cells without hidden tests untouched"


def test_hidden_region_left_open_hides_everything_after_it():
    text = "a = 1\n### BEGIN HIDDEN TESTS\nsecret_1 = 2\nsecret_2 = 3"
    assert hide_hidden_source(text) == "a = 1\n" + markers.HIDDEN_PLACEHOLDER


def test_traceback_of_another_cell_number_is_kept():
    # a frame "Cell In[4]" is only this cell's own when the cell ran as execution 4
    cell = nbg_cell("test", "hidden_q1", HIDDEN_SOURCE)
    cell.execution_count = 9
    cell.outputs = [new_output("error", ename="NameError", evalue="x", traceback=list(REAL_TRACEBACK))]
    nb, _ = HideHiddenTests().preprocess(new_notebook(cells=[cell]), {})
    assert nb.cells[0].outputs[0].traceback == REAL_TRACEBACK


# ----------------------------------------------------------------------------------------- missing answers

def source_notebook():
    return new_notebook(cells=[
        nbg_cell("readonly", "intro", "# Problem set"),
        nbg_cell("answer", "a1", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
        nbg_cell("test", "t1", "assert x == 1"),
        nbg_cell("answer", "a2", "### BEGIN SOLUTION\ny = 2\n### END SOLUTION"),
        nbg_cell("test", "t2", "assert y == 2"),
        nbg_cell("test", "t3", "assert y > 0"),
    ])


def test_restore_missing_answers_puts_stubs_after_the_nearest_earlier_cell_present():
    src = source_notebook()
    nb = copy.deepcopy(src)
    nb.cells = [c for c in nb.cells if c.metadata.nbgrader["grade_id"] not in ("intro", "a1", "a2", "t2")]
    names = grade_ids(src)
    restored = restore_missing_answers(nb, names, {"a1", "a2"}, {"t1", "t2", "t3"})
    assert restored == ["a1", "a2"]
    assert grade_ids(nb) == ["a1", "t1", "a2", "t3"]  # a1 first (nothing earlier survives), a2 after t1
    stub = nb.cells[2]
    assert stub.source == markers.RESTORED_ANSWER_STUB and "raise NotImplementedError()" in stub.source
    assert stub.metadata.nbgrader["solution"] and not stub.metadata.nbgrader["grade"]
    nbformat.validate(nb)
    assert restore_missing_answers(nb, names, {"a1", "a2"}, {"t1", "t2", "t3"}) == [], "nothing left to do"


def test_restored_answer_lets_nbgrader_put_back_the_deleted_tests(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import ComputeChecksums, OverwriteCells, SaveCells

    venv_on_path(monkeypatch)
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    resources = {"nbgrader": {"db_url": db_url, "notebook": "ps", "assignment": "ps"}}
    src, _ = ComputeChecksums().preprocess(source_notebook(), {})
    with Gradebook(db_url) as gb:
        gb.add_assignment("ps")
    SaveCells().preprocess(copy.deepcopy(src), copy.deepcopy(resources))  # what generate_assignment records
    student = copy.deepcopy(src)
    student.cells = [c for c in student.cells if c.metadata.nbgrader["grade_id"] not in ("a2", "t2")]

    # the nbgrader trap this preprocessor exists for: t2 is re-inserted after a2, which is gone
    with pytest.raises(KeyError, match="a2"):
        OverwriteCells(add_missing_cells=True).preprocess(copy.deepcopy(student), copy.deepcopy(resources))

    nb, _ = RestoreMissingSolutionCells().preprocess(student, copy.deepcopy(resources))
    nb, _ = OverwriteCells(add_missing_cells=True).preprocess(nb, copy.deepcopy(resources))
    assert grade_ids(nb) == ["intro", "a1", "t1", "a2", "t2", "t3"]
    assert "raise NotImplementedError()" in nb["cells"][3]["source"]
    assert "assert y == 2" in nb["cells"][4]["source"], "the deleted test came back from the gradebook"


# ------------------------------------------------------------------------------------------- noise pattern

# Lines TensorFlow 2.21 and Keras 3 wrote to stderr on this machine (TF_CPP_MIN_LOG_LEVEL=0, oneDNN on),
# plus the older timestamp format and Python logging's.
REAL_NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796031671.242263    6125 port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results due to floating-point round-off errors from different "
    "computation orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.",
    "I0000 00:00:1796031671.242663    6125 cudart_stub.cc:31] Could not find cuda drivers on your "
    "machine, GPU will not be used.",
    "I0000 00:00:1796031671.304873    6125 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other "
    "operations, rebuild TensorFlow with the appropriate compiler flags.",
    "E0000 00:00:1796031674.864491    6125 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "/work/main/.venv/lib/python3.11/site-packages/keras/src/layers/core/dense.py:107: UserWarning: "
    "Do not pass an `input_shape`/`input_dim` argument to a layer.",
    "2023-11-30 09:36:12.345678: W tensorflow/core/framework/op_kernel.cc:1816] OP_REQUIRES failed",
    "WARNING:tensorflow:5 out of the last 5 calls to <function f> triggered tf.function retracing.",
    "This TensorFlow binary is optimized to use available CPU instructions in performance-critical "
    "operations.",
]
# What a student's stderr or a real failure looks like: none of it may be dropped.
NOT_NOISE = [
    "Traceback (most recent call last):",
    '  File "/tmp/ipykernel_4242/123.py", line 3, in conv2d_fast',
    "ValueError: operands could not be broadcast together with shapes (2,3) (4,)",
    "AssertionError: max relative error 0.3 at index (0, 2, 1, 3)",
    "NameError: name 'conv2d_fast' is not defined",
    "tensorflow.python.framework.errors_impl.InvalidArgumentError: Matrix size-incompatible: In[0]: [2,3]",
    "__main__ debug output",
    "x.shape = (1, 5, 5, 3)",
    "Epoch 1/3",
    "loss: 0.1234 - accuracy: 0.9700",
    "E   assert 3 == 4",
    "Warning: my own message",
    "I think 12:30 is late",
]


@pytest.mark.parametrize("line", REAL_NOISE)
def test_noise_pattern_matches_real_tensorflow_noise(line):
    assert markers.is_tf_noise(line)
    assert re.search(markers.TF_NOISE, "student output before\n" + line + "\n"), "found inside an output too"


@pytest.mark.parametrize("line", NOT_NOISE)
def test_noise_pattern_leaves_errors_and_student_output_alone(line):
    assert not markers.is_tf_noise(line)
    assert not re.search(markers.TF_NOISE, line + "\n" + line + "\n")


def test_ignore_pattern_configured_with_the_noise_drops_noise_outputs_only():
    from nbgrader.preprocessors import IgnorePattern

    cell = nbg_cell("test", "t1", "check()")
    cell.outputs = [new_output("stream", name="stderr", text="\n".join(REAL_NOISE[:3]) + "\n"),
                    new_output("stream", name="stderr", text="my debug print\n"),
                    new_output("stream", name="stdout", text=REAL_NOISE[1] + "\n")]
    nb, _ = IgnorePattern(pattern=markers.TF_NOISE).preprocess(new_notebook(cells=[cell]), {})
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [("stderr", "my debug print\n"),
                                                               ("stdout", REAL_NOISE[1] + "\n")]


# --------------------------------------------------------------------------------------------- submissions

def write(path: Path, text: str = "{}") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_both_submission_layouts_are_found_and_bad_entries_reported(tmp_path):
    for rel in ("ann/ps1/ps1.ipynb", "ann/ps1/data.csv", "bob/ps2.ipynb", "bob/notes.txt", "bad id/ps1.ipynb",
                "-dash/ps1.ipynb", ".hidden/ps1.ipynb", "cy/ps1/ps1.ipynb", "cy/ps1.ipynb", "cy/ps2.ipynb",
                "dee/ps3/ps3.ipynb"):
        write(tmp_path / rel)
    write(tmp_path / "stray.ipynb")  # a file at the top level is not a student folder
    (tmp_path / "eve").mkdir()
    (tmp_path / "eve" / "ps1.ipynb").symlink_to(tmp_path / "ann" / "ps1" / "ps1.ipynb")
    found, problems = submissions.find_submissions(tmp_path, ["ps1", "ps2"], ["ps1", "ps2", "ps3"])
    got = [(s.student, s.assignment, s.source.relative_to(tmp_path).as_posix()) for s in found]
    assert got == [("ann", "ps1", "ann/ps1"), ("bob", "ps2", "bob/ps2.ipynb"), ("cy", "ps2", "cy/ps2.ipynb")]
    rows = {(p.student, p.assignment, p.status) for p in problems}
    assert rows == {(".hidden", "", "hidden"), ("-dash", "", "misnamed"), ("bad id", "", "misnamed"),
                    ("stray.ipynb", "", "misnamed"), ("ann", "ps2", "missing"), ("bob", "ps1", "missing"),
                    ("bob", "", "misnamed"), ("cy", "ps1", "duplicate"), ("dee", "ps1", "missing"),
                    ("dee", "ps2", "missing"), ("eve", "ps1", "refused"), ("eve", "ps2", "missing")}
    assert all(p.note for p in problems)


@pytest.mark.parametrize("good", ["ann", "a.b@uni.edu", "s_123", "X-9+y"])
def test_valid_student_ids(good):
    assert markers.STUDENT_ID.match(good)


@pytest.mark.parametrize("bad", ["bad id", "-x", ".x", "a/b", "", "é"])
def test_invalid_student_ids(bad):
    assert not markers.STUDENT_ID.match(bad)


def test_stage_copies_both_layouts_and_leaves_read_only_originals_untouched(tmp_path):
    subs = tmp_path / "subs"
    nested = write(subs / "ann" / "ps1" / "ps1.ipynb", '{"a": 1}')
    write(subs / "ann" / "ps1" / "data.csv", "1,2")
    write(subs / "ann" / "ps1" / ".ipynb_checkpoints" / "ps1-checkpoint.ipynb")
    flat = write(subs / "bob" / "ps1.ipynb", '{"b": 2}')
    for path in (nested, flat):
        path.chmod(0o444)
    before = tree_hashes(subs)
    build = layout.BuildLayout(tmp_path / "build")
    found, _ = submissions.find_submissions(subs, ["ps1"])
    dests = [submissions.stage(sub, build) for sub in found]
    assert dests == [build.submitted("ann", "ps1"), build.submitted("bob", "ps1")]
    assert sorted(p.name for p in dests[0].iterdir()) == ["data.csv", "ps1.ipynb"]
    assert (dests[1] / "ps1.ipynb").read_text() == '{"b": 2}'
    # mode bits, not os.access: these tests may run as root, who may write anything
    assert all(p.stat().st_mode & 0o200 for d in dests for p in [d, *d.rglob("*")]), "nbgrader deletes them"
    submissions.stage(found[0], build)  # staging again replaces the copy
    assert tree_hashes(subs) == before
    assert nested.stat().st_mode & 0o777 == 0o444


# ------------------------------------------------------------------------------------------------- reports

def test_reports_have_the_exact_columns_and_one_row_per_submission(tmp_path):
    build = layout.BuildLayout(tmp_path / "build")
    ann = submissions.Submission("ann", "ps1", Path("x"), status="graded", score=7.5, max_score=14,
                                 by_question=[("test_q1", 2.0, 2.0), ("hidden_q1", 0.0, 3.0)],
                                 timed_out_cells=["conv2d_fast", "pool2d"], sandbox="bwrap")
    bob = submissions.Submission("bob", "ps2", Path("y"), status="timeout", max_score=13, sandbox="bwrap",
                                 note="killed after 20 s; see log, with a comma")
    grades, by_question = reports.write_reports([ann, bob], build)
    assert (grades, by_question) == (build.build / "grades.csv", build.build / "grades_by_question.csv")
    assert build.build == tmp_path / "build"
    with open(grades, newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["student", "assignment", "score", "max_score", "status", "sandbox", "timed_out_cells", "note"],
        ["ann", "ps1", "7.5", "14", "graded", "bwrap", "conv2d_fast;pool2d", ""],
        ["bob", "ps2", "0", "13", "timeout", "bwrap", "", "killed after 20 s; see log, with a comma"],
    ]
    with open(by_question, newline="") as f:
        assert list(csv.reader(f)) == [["student", "assignment", "cell", "score", "max_score"],
                                       ["ann", "ps1", "test_q1", "2", "2"],
                                       ["ann", "ps1", "hidden_q1", "0", "3"]]
    summary = reports.format_summary([ann, bob], build).splitlines()
    assert summary[1].split()[:4] == ["ann", "ps1", "7.5/14", "graded"]
    assert summary[2].split()[:4] == ["bob", "ps2", "0/13", "timeout"]
    assert summary[-1].startswith("2 submission(s)")


def test_timed_out_cells_are_found_by_the_configured_error_name():
    def cell(grade_id, ename):
        out = {"output_type": "error", "ename": ename, "evalue": "", "traceback": []}
        return {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": grade_id}} if grade_id else {},
                "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}, out], "source": ""}
    nb = {"cells": [cell("q1", "NameError"), cell("q2", markers.CELL_TIMEOUT_ENAME),
                    {"cell_type": "markdown", "metadata": {}, "source": "text"},
                    cell(None, markers.CELL_TIMEOUT_ENAME)]}
    assert timed_out_cells(nb) == ["q2", "cell 3"]


def test_feedback_leak_names_the_page_that_shows_a_hidden_marker(tmp_path):
    write(tmp_path / "ps1.html", "<pre># (hidden tests ran here; their code is not shown)</pre>")
    assert feedback_leak(tmp_path) == ""
    write(tmp_path / "ps2.html", "<pre>### BEGIN HIDDEN TESTS\nsecret</pre>")
    assert feedback_leak(tmp_path) == str(tmp_path / "ps2.html")


# ------------------------------------------------------------------------------------------- source linter

def save_nb(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def test_lint_passes_a_sound_source_and_names_every_problem_of_a_broken_one(tmp_path):
    good = save_nb(source_notebook(), tmp_path / "good.ipynb")
    assert sources.lint_source(good) == []
    bad = new_notebook(cells=[
        nbg_cell("answer", "a1", "x = 1"),
        nbg_cell("readonly", "r1", "# instructions"),
        nbg_cell("test", "t1", "assert x == 1", locked=False),
    ])
    bad.cells[0].outputs = [new_output("stream", name="stdout", text="1")]
    problems = sources.lint_source(save_nb(bad, tmp_path / "bad.ipynb"))
    assert problems == [
        "answer cell a1 has no ### BEGIN SOLUTION region: the release would show it",
        "cell a1 has stored outputs: clear them before committing",
        "test cell t1 is not read-only: students could edit it",
        "test cell t1 follows the read-only cell r1: put it right after its answer cell or another test cell",
    ]


@pytest.mark.parametrize("ps", sources.discover_assignments(PUBLIC_SOURCE))
def test_course_sources_lint_clean(ps):
    assert sources.lint_source(PUBLIC_SOURCE / ps / f"{ps}.ipynb") == []


def test_notebook_points_add_up_the_test_cells(tmp_path):
    nb = source_notebook()
    nb.cells[4].metadata.nbgrader["points"] = 2.5
    assert sources.notebook_points(save_nb(nb, tmp_path / "ps.ipynb")) == 4.5


# -------------------------------------------------------------------------------------------------- layout

def test_source_root_prefers_the_option_then_the_environment_then_the_public_folder(tmp_path, monkeypatch):
    monkeypatch.delenv(layout.SOURCE_ENV_VAR, raising=False)
    assert layout.source_root() == PUBLIC_SOURCE.resolve()
    monkeypatch.setenv(layout.SOURCE_ENV_VAR, str(tmp_path / "env"))
    assert layout.source_root() == tmp_path / "env"
    assert layout.source_root(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.setenv(layout.SOURCE_ENV_VAR, "")
    assert layout.source_root() == PUBLIC_SOURCE.resolve()


def test_build_dir_is_read_when_asked_not_at_import(tmp_path, monkeypatch):
    monkeypatch.setenv(layout.BUILD_ENV_VAR, str(tmp_path / "b1"))
    assert layout.build_dir() == tmp_path / "b1"
    monkeypatch.setenv(layout.BUILD_ENV_VAR, str(tmp_path / "b2"))
    assert layout.build_dir() == tmp_path / "b2"
    assert layout.build_dir(tmp_path / "b3") == tmp_path / "b3"
    monkeypatch.delenv(layout.BUILD_ENV_VAR)
    assert layout.build_dir() == (REPO / "build").resolve()


def test_nbgrader_config_uses_the_package(tmp_path, monkeypatch):
    from nbgrader.preprocessors import IgnorePattern, OverwriteCells
    from traitlets.config.loader import PyFileConfigLoader

    monkeypatch.setenv(layout.BUILD_ENV_VAR, str(tmp_path))
    c = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config()
    assert c.CourseDirectory.root == str(tmp_path)
    assert c.CourseDirectory.db_url == f"sqlite:///{tmp_path / 'nbgrader' / 'gradebook.db'}"
    assert c.CourseDirectory.release_directory == "release"
    assert c.IgnorePattern.enabled and c.IgnorePattern.pattern == markers.TF_NOISE
    assert c.Execute.error_on_timeout["ename"] == markers.CELL_TIMEOUT_ENAME
    sanitize = c.Autograde.sanitize_preprocessors
    assert sanitize.index(RestoreMissingSolutionCells) < sanitize.index(OverwriteCells)
    autograde = c.Autograde.autograde_preprocessors
    assert autograde.index(IgnorePattern) < autograde.index(StderrAsText)
    assert c.GenerateFeedback.preprocessors[0] is HideHiddenTests
    assert c.OverwriteCells.add_missing_cells is True


def test_grading_imports_neither_tensorflow_nor_keras():
    code = textwrap.dedent("""
        import sys
        sys.dont_write_bytecode = True
        import course_lib.grading, course_lib.grading.cli, course_lib.grading.runner
        import course_lib.grading.preprocessors
        from traitlets.config.loader import PyFileConfigLoader
        PyFileConfigLoader("nbgrader_config.py", path=sys.argv[1]).load_config()
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        print(heavy)
    """)
    out = subprocess.run([sys.executable, "-c", code, str(REPO)], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------------------------- processes

def test_run_logged_kills_a_grandchild_in_its_own_session(tmp_path):
    # like nbgrader's kernel: started in a new session, so killing the grader's process group would miss it
    pid_file = tmp_path / "grandchild.pid"
    child = textwrap.dedent(f"""
        import subprocess, sys, time
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
        open({str(pid_file)!r}, "w").write(str(p.pid))
        print("started", flush=True)
        time.sleep(600)
    """)
    log = tmp_path / "logs" / "run.log"
    outcome = processes.run_logged([sys.executable, "-c", child], cwd=tmp_path, log_path=log, timeout=3)
    assert outcome.status == "timeout"
    text = log.read_text()
    assert text.startswith("started") and text.rstrip().endswith(processes.KILL_NOTE.format(seconds=3))
    grandchild = int(pid_file.read_text())
    stat = Path(f"/proc/{grandchild}/stat")
    for _ in range(100):  # the orphan is reaped by init soon after the kill; wait for that, up to 10 s
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.1)
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z", "grandchild survived"


@pytest.mark.parametrize(("code", "status"), [("print('hi')", "ok"), ("raise SystemExit(3)", "error")])
def test_run_logged_reports_the_exit_status(tmp_path, code, status):
    log = tmp_path / "run.log"
    outcome = processes.run_logged([sys.executable, "-c", code], cwd=tmp_path, log_path=log, timeout=120)
    assert outcome.status == status
    assert processes.KILL_NOTE.split("{")[0] not in log.read_text()


# ----------------------------------------------------------------------------------------- private sources

def test_export_source_copies_into_a_private_folder_and_leaves_the_public_one_alone(tmp_path):
    before = tree_hashes(PUBLIC_SOURCE)
    dest = tmp_path / "private"
    names = sources.export_source(dest, source=PUBLIC_SOURCE)
    assert names == sources.discover_assignments(PUBLIC_SOURCE) and len(names) >= 1
    for ps in names:
        assert (dest / ps / f"{ps}.ipynb").read_bytes() == (PUBLIC_SOURCE / ps / f"{ps}.ipynb").read_bytes()
    assert layout.SOURCE_ENV_VAR in (dest / "README.md").read_text()
    with pytest.raises(ValueError, match="already holds"):
        sources.export_source(dest, source=PUBLIC_SOURCE, only=names[:1])
    (dest / names[0] / "extra.txt").write_text("stale")
    assert sources.export_source(dest, source=PUBLIC_SOURCE, only=names[:1], force=True) == names[:1]
    assert not (dest / names[0] / "extra.txt").exists(), "force replaces the folder"
    assert tree_hashes(PUBLIC_SOURCE) == before


@pytest.mark.parametrize("where", ["inside_repo", "inside_source"])
def test_export_source_refuses_folders_that_would_be_published_or_overlap(tmp_path, where):
    if where == "inside_repo":
        dest, source = REPO / "build" / "private-sources", PUBLIC_SOURCE
        match = "outside the repository"
    else:
        source = tmp_path / "src"
        write(source / "ps1" / "ps1.ipynb")
        dest, match = source / "copy", "overlap"
    with pytest.raises(ValueError, match=match):
        sources.export_source(dest, source=source)
    assert not dest.exists()


def test_export_source_rejects_unknown_assignments(tmp_path):
    with pytest.raises(ValueError, match="only must name assignments"):
        sources.export_source(tmp_path / "p", source=PUBLIC_SOURCE, only=["nope"])


def run_cli(*args: str, env_extra: dict | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (layout.SOURCE_ENV_VAR, layout.BUILD_ENV_VAR)}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_release_from_a_private_source_folder(tmp_path):
    """export-source, then release from the private copy (named by the environment variable)."""
    before = tree_hashes(PUBLIC_SOURCE)
    private, build = tmp_path / "private", tmp_path / "build"
    proc = run_cli("export-source", str(private), "--only", "ps1")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in private.iterdir()) == ["README.md", "ps1"]
    # an edit only the private copy has, so that the release shows where it came from
    nb = json.loads((private / "ps1" / "ps1.ipynb").read_text())
    intro = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    intro["source"] = "PRIVATE COPY 2024\n\n" + "".join(intro["source"])
    (private / "ps1" / "ps1.ipynb").write_text(json.dumps(nb, indent=1))

    proc = run_cli("--build-dir", str(build), "release", env_extra={layout.SOURCE_ENV_VAR: str(private)})
    assert proc.returncode == 0, proc.stderr
    released = (build / "release" / "ps1" / "ps1.ipynb").read_text()
    assert "PRIVATE COPY 2024" in released
    assert not any(m in released for m in markers.SOLUTION_MARKERS + markers.HIDDEN_MARKERS)
    assert sorted(p.name for p in (build / "release").iterdir()) == ["ps1"], "only what the private copy has"
    assert f"released from {private}" in proc.stdout
    # the record now matches the private copy, so grade would not re-release; the public copy differs
    record = layout.BuildLayout(build)
    assert stale_assignments(["ps1"], record, private) == []
    assert stale_assignments(["ps1"], record, PUBLIC_SOURCE) == ["ps1"]
    assert tree_hashes(PUBLIC_SOURCE) == before


def test_source_option_is_accepted_after_the_command_and_checked(tmp_path):
    proc = run_cli("release", "--source", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "must be a folder of assignment sources" in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = run_cli("--source", str(tmp_path / "empty"), "release")
    assert proc.returncode == 2 and "no assignments under" in proc.stderr
    proc = run_cli("release", "--only", "nope", "--build-dir", str(tmp_path / "b"))
    assert proc.returncode == 2 and "unknown assignment" in proc.stderr
    assert not (tmp_path / "b").exists(), "usage errors write nothing"
