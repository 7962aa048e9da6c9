"""Fast checks of the pieces that keep grading safe: the wire format, feedback escaping and redaction,
shortcut detection, atomic and partial reports."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from course_lib.grading import feedback, layout, reports, submissions, trusted, wire
from course_lib.grading.cells import cell_source, grading_meta
from course_lib.grading.sources import discover_assignments


def test_wire_round_trips_data_and_refuses_objects():
    value = {"a": [1, 2.5, float("nan"), (3, "x")], "b": np.arange(6.0).reshape(2, 3), "c": np.int64(4)}
    back = wire.decode(wire.encode(value))
    assert back["a"][:2] == [1, 2.5] and np.isnan(back["a"][2]) and back["a"][3] == (3, "x")
    assert np.array_equal(back["b"], value["b"]) and back["c"] == 4 and type(back["c"]) is np.int64

    class Any(int):
        def __eq__(self, other):
            return True

    class A(np.ndarray):
        pass

    for bad in (Any(1), np.zeros(2).view(A), np.array([object()]), object()):
        with pytest.raises(wire.WireError):
            wire.encode(bad)
    with pytest.raises(wire.WireError):
        wire.decode({"__nd__": "not base64!"})


def test_keras_model_crosses_as_config_and_weights_and_lambdas_are_refused():
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((5,)), layers.Dense(3, activation="relu", name="d")], name="m")
    data = wire.decode(wire.encode(wire.KerasModel.of(model)))
    assert type(data) is wire.KerasModel and all(type(w) is np.ndarray for w in data.weights)
    back = wire.rebuild_model(data)
    x = np.random.default_rng(0).standard_normal((2, 5)).astype("float32")
    assert back.get_layer("d").units == 3 and np.allclose(back(x).numpy(), model(x).numpy())

    lam = keras.Sequential([keras.Input((5,)), layers.Lambda(lambda t: t * 0 + 1)])
    unknown = model.to_json().replace('"class_name": "Dense"', '"class_name": "Dense9"')
    foreign = model.to_json().replace('"module": "keras.layers"', '"module": "os"')
    with pytest.raises(wire.WireError, match="Lambda"):
        wire.KerasModel.of(lam)
    with pytest.raises(wire.WireError, match="refused"):
        wire.KerasModel(foreign, [])
    with pytest.raises(wire.WireError, match="could not be rebuilt"):
        wire.rebuild_model(wire.KerasModel(unknown, list(model.get_weights())))
    for config, weights in (("{not json", []), (b"{}", []), (model.to_json(), [np.array([object()])])):
        with pytest.raises(wire.WireError):
            wire.KerasModel(config, weights)
    with pytest.raises(wire.WireError):
        wire.decode({"__keras__": {"config": model.to_json(), "weights": [1.0], "call": False}})


def test_feedback_escapes_html_and_redacts_hidden_lines_by_content():
    hidden = {"want_q2h = tf.nn.conv2d(x_q2h, w_q2h, strides=s_q2h).numpy() + b_q2h"}
    cell = trusted.CellResult(
        "print(1)",
        "code",
        outputs=[
            {"data": {"text/html": "<script>alert(1)</script>", "text/plain": "<script>alert(1)</script>"}},
            {
                "name": "stdout",
                "text": "ok\n    want_q2h = tf.nn.conv2d(x_q2h,  w_q2h, strides=s_q2h).numpy() + b_q2h\n",
            },
        ],
    )
    page, redacted = feedback.render("ps1: x", [cell], score=1, max_score=2, hidden_lines=hidden, notes=[])
    assert "<script" not in page and "&lt;script&gt;" in page
    assert redacted == 1 and feedback.REDACTED in page and "want_q2h" not in page
    assert feedback.check_page(page, hidden) == ""
    assert feedback.check_page("<p>### BEGIN HIDDEN TESTS</p>", hidden)


def test_shortcut_use_names_forbidden_libraries():
    forbid = ("tensorflow", "scipy")
    assert "tf" in trusted.shortcut_use("def f(x):\n    return tf.nn.conv2d(x)\n", forbid)
    assert trusted.shortcut_use("import scipy.signal\n", forbid).startswith("scipy")
    assert "__import__" in trusted.shortcut_use("m = __import__('tensor' + 'flow')\n", forbid)
    assert trusted.shortcut_use("import numpy as np\ndef f(x):\n    return np.sum(x)\n", forbid) == ""


def test_reports_mark_pending_rows_incomplete(tmp_path):
    build = layout.BuildLayout(tmp_path / "build")
    subs = [
        submissions.Submission("ann", "ps1", Path("x"), status="graded", score=3, max_score=14),
        submissions.Submission("bob", "ps1", Path("y"), max_score=14),
    ]
    reports.write_reports(subs, build)
    with open(build.grades_csv) as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["graded", "incomplete"]
    assert rows[1]["note"] == reports.INCOMPLETE_NOTE
    assert not list(build.build.glob(".grades*"))  # no temporary file left


def test_hidden_regions_are_stripped_and_public_lines_are_not_hidden():
    src = Path(__file__).resolve().parents[1] / "notebooks" / "assignments" / "source" / "ps1" / "ps1.ipynb"
    spec = trusted.load_spec(src)
    assert spec.mode == "trusted" and "tensorflow" in spec.forbid and spec.max_score == 14
    assert "from course_lib.checks import assert_close" not in spec.hidden_lines
    for test in spec.tests:
        assert "BEGIN HIDDEN" not in trusted.strip_hidden(test.source)


def _run_in_sandbox(tmp_path, code):
    """Run ``python -c code`` in a sandbox over tmp_path's home/lib/job folders; its output goes to
    tmp_path/log. Returns the finished ``SandboxProcess`` (asserting a zero exit status)."""
    from course_lib.grading import sandbox

    def argv_for(in_fd, out_fd):
        return sandbox.sandbox_argv(home=tmp_path / "home", lib=tmp_path / "lib", job=tmp_path / "job",
                                    command=["python", "-c", code])

    box = sandbox.SandboxProcess(argv_for, log_path=tmp_path / "log", limits=sandbox.Limits())
    box.proc.wait(timeout=120)
    box.close()
    assert box.proc.returncode == 0, (tmp_path / "log").read_text()
    return box


def test_sandbox_counts_the_cpu_time_of_what_ran_inside(tmp_path):
    """bwrap's outer process exits without waiting for the sandbox's init, whose CPU time was then lost: the
    launcher (``reaper``) waits for it, so a busy loop in the sandbox shows up in ``cpu_seconds``."""
    from course_lib.grading import sandbox

    works, why = sandbox.sandbox_works()
    assert works, why
    for name in ("home", "lib", "job"):
        (tmp_path / name).mkdir()
    # busy for 0.3 s of CPU time (process time, not wall-clock time), in a child of the sandboxed command
    busy = ("import subprocess, sys\n"
            "code = 'import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.3: pass'\n"
            "subprocess.run([sys.executable, '-c', code], check=True)\n")

    box = _run_in_sandbox(tmp_path, busy)
    assert box.cpu_seconds >= 0.25, box.cpu_seconds


def test_a_checkout_under_tmp_stays_visible_in_the_sandbox(tmp_path, monkeypatch):
    """The sandbox gets a fresh, empty /tmp. A checkout that lives under /tmp (a CI clone, say) must still be
    visible at its own path: its venv is bound on top of the empty /tmp, not hidden underneath it (mount
    order). tmp_path is itself under /tmp, so a folder there stands in for such a venv."""
    from course_lib.grading import sandbox

    works, why = sandbox.sandbox_works()
    assert works, why
    assert str(tmp_path).startswith("/tmp/"), tmp_path
    for name in ("home", "lib", "job", "venv"):
        (tmp_path / name).mkdir()
    (tmp_path / "venv" / "marker.txt").write_text("venv under /tmp is visible")
    real_roots = sandbox.python_roots()
    monkeypatch.setattr(sandbox, "python_roots", lambda: [*real_roots, tmp_path / "venv"])
    read = f"print(open({str(tmp_path / 'venv' / 'marker.txt')!r}).read())"

    _run_in_sandbox(tmp_path, read)
    assert "venv under /tmp is visible" in (tmp_path / "log").read_text()


def test_redaction_flags_hidden_test_code_not_ordinary_lines():
    """Only hidden-test lines that give something away are redacted: not one that is part of a line the
    student is shown anyway (ps4's hidden ``cl.config.set_seed(0)`` redacted the release's
    ``SEED = cl.config.set_seed(0)``), nor an import."""
    hidden = {"cl.config.set_seed(0)", "import tensorflow as tf",
              "assert conv_output_size(9, 4, stride=3, pad=2) == 4, 'hidden case'"}
    secret = trusted.secret_lines(hidden, ["SEED = cl.config.set_seed(0)", "print('hello')"])
    assert secret == {"assert conv_output_size(9, 4, stride=3, pad=2) == 4, 'hidden case'"}
    ordinary = "SEED = cl.config.set_seed(0)\nimport tensorflow as tf\nseed 0\n"
    assert feedback.redact(ordinary, secret) == (ordinary, 0)
    leak = "ok\n  assert conv_output_size(9, 4, stride=3,pad=2) == 4, 'hidden case'\n"
    text, count = feedback.redact(leak, secret)
    assert count == 1 and "conv_output_size" not in text and text.startswith("ok\n")


PUBLIC_SOURCE = Path(__file__).resolve().parents[1] / "notebooks" / "assignments" / "source"


@pytest.mark.parametrize("ps", discover_assignments(PUBLIC_SOURCE))
def test_honest_solution_feedback_redacts_nothing(ps):
    """The page of a student who submits the instructor's solution: every cell as written, its code also
    echoed as output (as a traceback or a print would), the test cells with their hidden part replaced."""
    src = Path(__file__).resolve().parents[1] / "notebooks" / "assignments" / "source" / ps / f"{ps}.ipynb"
    spec = trusted.load_spec(src)
    assert spec.hidden_lines, "the assignment has hidden-test lines to redact"
    cells = []
    for cell in json.loads(src.read_text())["cells"]:
        text = cell_source(cell)
        m = grading_meta(cell)
        if cell["cell_type"] == "markdown":
            cells.append(trusted.CellResult(text, "markdown"))
        elif m.get("grade"):
            visible = trusted.strip_hidden(text)
            cells.append(trusted.CellResult(visible, "test", grade_id=m["grade_id"], score=1, max_score=1,
                                            outputs=[{"name": "stdout", "text": visible}]))
        else:
            cells.append(trusted.CellResult(text, "code", outputs=[{"name": "stdout", "text": text}]))
    page, redacted = feedback.render(f"{ps}: solution", cells, score=1, max_score=1,
                                     hidden_lines=spec.hidden_lines, notes=[])
    assert redacted == 0
    assert feedback.check_page(page, spec.hidden_lines) == ""


def _cell(kind: str, grade_id: str, text: str) -> dict:
    meta = {"grade": kind == "test", "solution": kind == "answer", "locked": kind == "test",
            "grade_id": grade_id, "schema_version": 3}
    if kind == "test":
        meta["points"] = 1
    return {"cell_type": "code", "metadata": {"nbgrader": meta}, "outputs": [], "execution_count": None,
            "source": text}


@pytest.mark.parametrize("mode", ["trusted", "sandbox"])
def test_deleted_answer_and_edited_tests_cannot_crash_or_change_the_tests(tmp_path, mode):
    """The tests always come from the source: a test cell the student edited or deleted is the source's again,
    and a deleted answer cell leaves its tests in place (in ``sandbox`` mode they run at the end and fail)."""
    src = {"metadata": {"course_grading": {"tests": mode}}, "cells": [
        _cell("answer", "a1", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),
        _cell("test", "t1", "assert x == 1"),
        _cell("answer", "a2", "### BEGIN SOLUTION\ny = 2\n### END SOLUTION"),
        _cell("test", "t2", "assert y == 2\n### BEGIN HIDDEN TESTS\nassert y + 1 == 3, 'hidden y'\n"
                            "### END HIDDEN TESTS"),
    ]}
    (tmp_path / "ps.ipynb").write_text(json.dumps(src))
    spec = trusted.load_spec(tmp_path / "ps.ipynb")
    assert spec.mode == mode and spec.max_score == 2
    # a2 and t2 deleted, t1 edited
    student = {"cells": [_cell("answer", "a1", "x = 1"), _cell("test", "t1", "pass  # edited")]}
    cells = trusted.student_cells(student, spec)
    if mode == "trusted":  # the test cells run in the grader, from spec.tests, never from the submission
        assert [c["grade_id"] for c in cells] == ["a1"]
    else:
        assert [(c["grade_id"], c["kind"]) for c in cells] == [("a1", "code"), ("t1", "test"), ("t2", "test")]
        assert cells[1]["source"] == "assert x == 1" and "hidden y" in cells[2]["source"]
