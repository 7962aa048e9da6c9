"""ps5 (training and transfer) graded for real: one grading run (``--only ps5``) of a few submissions, each
in its sandbox, with the tests in the grader.

    recorder_a, recorder_b  every answer right, each function printing a digest of the arguments it was
                            called with (the feedback page shows what a student's functions print under each
                            test): two submissions get two GRADING_SEEDs, so every hidden test must call them
                            on other inputs, and every visible test with fixed inputs on the same ones
    blank                   the untouched release
    partial                 typical mistakes: dropout that multiplies the kept entries by 1 - rate, a warm-up
                            one step ahead, BatchNormalization left trainable (and so updating its statistics
                            in ``fit``); the random shift right
    hostile_a               dropout that returns x unchanged, a shift that rolls (wraps around) instead of
                            filling with zeros, a schedule that is a lookup table of the visible test's
                            values, a model frozen whole, head included
    hostile_b               dropout with one fixed mask, a shift through scipy (forbidden), the schedule
                            through Keras's CosineDecay (forbidden in that answer), the fine-tuning right

Each must score exactly what its honest part deserves, cell by cell. Slow: marked ``grading``.
"""

from __future__ import annotations

import csv
import json
import math
import re

import pytest
from test_grading import (
    distinctive,
    feedback_tests,
    load,
    points,
    questions,
    released_course,
    run_script,
    save,
    solution_code,
    source,
    student_version,
)

pytestmark = pytest.mark.grading

PS = "ps5"

DROPOUT_TIMES_KEEP = '''
def dropout(x, rate, rng, training=True):
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    x = np.asarray(x)
    if not training:
        return x.copy()
    kept = np.random.default_rng(rng).random(x.shape) >= rate
    return np.where(kept, x * (1 - rate), 0)  # the paper's test-time scaling, applied while training
'''

DROPOUT_IDENTITY = '''
def dropout(x, rate, rng, training=True):
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    return np.array(x, copy=True)  # never drops anything
'''

DROPOUT_FIXED_MASK = '''
def dropout(x, rate, rng, training=True):
    if not 0 <= rate < 1:
        raise ValueError(f"rate must be in [0, 1), got {rate}")
    x = np.asarray(x)
    if not training:
        return x.copy()
    kept = np.random.default_rng(0).random(x.shape) >= rate  # the same mask at every call, whatever rng is
    return np.where(kept, x / (1 - rate), 0).astype(x.dtype)
'''

SHIFT_ROLL = '''
def random_shift(images, max_shift, rng):
    rng = np.random.default_rng(rng)
    out = np.empty_like(images)
    for k, (dy, dx) in enumerate(rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))):
        out[k] = np.roll(images[k], (dy, dx), axis=(0, 1))  # what leaves one side comes back on the other
    return out
'''

SHIFT_SCIPY = '''
def random_shift(images, max_shift, rng):
    from scipy import ndimage  # the shortcut: scipy is forbidden in ps5
    rng = np.random.default_rng(rng)
    out = np.empty_like(images)
    for k, (dy, dx) in enumerate(rng.integers(-max_shift, max_shift + 1, size=(len(images), 2))):
        out[k] = ndimage.shift(images[k], (dy, dx, 0), order=0, mode="constant", cval=0)
    return out
'''

SCHEDULE_STEP_AHEAD = '''
def warmup_cosine(step, peak, warmup_steps, total_steps, final=0.0):
    s = np.minimum(np.asarray(step, dtype=np.float64), total_steps)
    progress = (s - warmup_steps) / (total_steps - warmup_steps)
    lr = final + (peak - final) * 0.5 * (1 + np.cos(np.pi * progress))
    if warmup_steps > 0:
        lr = np.where(s < warmup_steps, peak * (s + 1) / warmup_steps, lr)  # the first step is not at 0
    return lr if lr.ndim else float(lr)
'''

SCHEDULE_KERAS = '''
def warmup_cosine(step, peak, warmup_steps, total_steps, final=0.0):
    schedule = keras.optimizers.schedules.CosineDecay(  # the shortcut: Keras is the reference here
        0.0, decay_steps=max(total_steps - warmup_steps, 1), alpha=final / peak, warmup_target=peak,
        warmup_steps=warmup_steps)
    lr = np.vectorize(lambda s: float(schedule(min(s, total_steps))))(np.asarray(step))
    return lr if lr.ndim else float(lr)
'''

FT_BN_TRAINABLE = '''
def prepare_for_fine_tuning(base, n_classes, n_trainable):
    convs = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)]
    for layer in convs[:len(convs) - n_trainable]:
        layer.trainable = False  # the BatchNormalization layers are left trainable
    inputs = keras.Input(base.input.shape[1:])
    features = base(inputs, training=False)  # not enough in Keras 3: fit still updates their statistics
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="head")(features)
    return keras.Model(inputs, outputs)
'''

FT_FREEZE_ALL = '''
def prepare_for_fine_tuning(base, n_classes, n_trainable):
    inputs = keras.Input(base.input.shape[1:])
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="head")(base(inputs))
    model = keras.Model(inputs, outputs)
    model.trainable = False  # frozen: the base, and the new head with it
    return model
'''

# The visible test's fixed schedules (test_warmup_cosine): (peak, warmup, total, final, steps checked).
VISIBLE_SCHEDULES = ((0.1, 5, 20, 0.0, range(25)), (0.05, 0, 10, 0.005, range(13)))


def schedule_value(step, peak, warmup, total, final):
    s = min(step, total)
    if s < warmup:
        return peak * s / warmup
    return final + (peak - final) * 0.5 * (1 + math.cos(math.pi * (s - warmup) / (total - warmup)))


def schedule_lookup() -> str:
    """A warmup_cosine that knows only the visible test's values (computed here), and answers 0 otherwise."""
    table = {(s, peak, warmup, total, final): schedule_value(s, peak, warmup, total, final)
             for peak, warmup, total, final, steps in VISIBLE_SCHEDULES for s in steps}
    return (f"TABLE = {table!r}\n\n\n"
            "def warmup_cosine(step, peak, warmup_steps, total_steps, final=0.0):\n"
            "    if np.ndim(step):\n"
            "        return np.array([warmup_cosine(int(s), peak, warmup_steps, total_steps, final)\n"
            "                         for s in np.ravel(step)]).reshape(np.shape(step))\n"
            "    return TABLE.get((int(step), peak, warmup_steps, total_steps, final), 0.0)\n")


# What each student's functions print: a digest of each call's arguments (arrays by their bytes, a model by
# its weights), so that two submissions' pages show whether the tests called them on the same inputs.
RECORDER = '''
import hashlib

import numpy


def _digest(value, h=None):
    h = h or hashlib.sha256()
    if isinstance(value, numpy.ndarray):
        h.update(repr((value.shape, value.dtype.str)).encode())
        h.update(numpy.ascontiguousarray(value).tobytes())
    elif hasattr(value, "get_weights"):
        for w in value.get_weights():
            _digest(numpy.asarray(w), h)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _digest(item, h)
    elif isinstance(value, dict):
        for key in sorted(value):
            h.update(key.encode())
            _digest(value[key], h)
    else:
        h.update(repr(value).encode())
    return h.hexdigest()[:16]


def _recorded(function):
    def wrapper(*args, **kwargs):
        print(f"CALLED {function.__name__} {_digest([list(args), kwargs])}")
        return function(*args, **kwargs)
    return wrapper
'''


def _cell(text: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": text}


def submissions(src: dict, rel: dict) -> dict[str, tuple[dict, set[str]]]:
    """student -> (notebook, the test cells its honest work passes)."""
    every = dict.fromkeys(questions(src))
    tests = questions(src)
    recorded = {gid: solution_code(src, gid) + f"\n\n{gid} = _recorded({gid})\n" for gid in every}
    recorder = student_version(rel, src, recorded)
    recorder["cells"][1:1] = [_cell(RECORDER)]
    everything = set(points(src))
    return {
        "recorder_a": (recorder, everything),
        "recorder_b": (recorder, everything),
        "blank": (rel, set()),
        "partial": (student_version(rel, src, {
            "dropout": DROPOUT_TIMES_KEEP, "random_shift": None, "warmup_cosine": SCHEDULE_STEP_AHEAD,
            "prepare_for_fine_tuning": FT_BN_TRAINABLE}),
            {*tests["random_shift"], "hidden_fine_tuning_structure"}),
        "hostile_a": (student_version(rel, src, {
            "dropout": DROPOUT_IDENTITY, "random_shift": SHIFT_ROLL, "warmup_cosine": schedule_lookup(),
            "prepare_for_fine_tuning": FT_FREEZE_ALL}),
            {"hidden_fine_tuning_structure"}),
        "hostile_b": (student_version(rel, src, {
            "dropout": DROPOUT_FIXED_MASK, "random_shift": SHIFT_SCIPY, "warmup_cosine": SCHEDULE_KERAS,
            "prepare_for_fine_tuning": None}),
            {*tests["prepare_for_fine_tuning"]}),
    }


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = released_course(tmp_path_factory, "ps5")
    assert course["release"]["returncode"] == 0, course["release"]["stderr"]
    course["src"] = load(course["repo"] / "notebooks" / "assignments" / "source" / PS / f"{PS}.ipynb")
    course["rel"] = load(course["build"] / "release" / PS / f"{PS}.ipynb")
    return course


@pytest.fixture(scope="module")
def graded(course):
    subs = course["root"] / "submissions"
    made = submissions(course["src"], course["rel"])
    for student, (nb, _) in made.items():
        save(nb, subs / student / PS / f"{PS}.ipynb")
    proc = run_script(course, "grade", "--submissions", str(subs), "--only", PS, "--cell-timeout", "120",
                      "--submission-timeout", "300")
    with open(course["build"] / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    cells: dict[str, dict[str, float]] = {}
    with open(course["build"] / "grades_by_question.csv", newline="") as f:
        for r in csv.DictReader(f):
            cells.setdefault(r["student"], {})[r["cell"]] = float(r["score"])
    pages = {s: (course["build"] / "feedback" / s / PS / f"{PS}.html").read_text() for s in made}
    return {"proc": proc, "rows": rows, "cells": cells, "pages": pages,
            "honest": {s: passing for s, (_, passing) in made.items()}}


def test_release_shows_no_solution_or_hidden_code(course):
    src, rel = course["src"], course["rel"]
    secret = distinctive(src, "### BEGIN SOLUTION", "### END SOLUTION") | \
        distinctive(src, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
    assert len(secret) >= 30
    shown = {line.strip() for cell in rel["cells"] for line in source(cell).split("\n")}
    assert not secret & shown, sorted(secret & shown)
    text = json.dumps(rel)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    answers = [c for c in rel["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert len(answers) == 4 and all("raise NotImplementedError()" in source(c) for c in answers)
    assert sum(points(rel).values()) == sum(points(src).values()) == 14
    # the read-only cell that builds the base is handed out whole
    assert any("def pretrained_base(seed=0):" in source(c) for c in rel["cells"])


STUDENTS = ("recorder_a", "recorder_b", "blank", "partial", "hostile_a", "hostile_b")


@pytest.mark.parametrize("student", STUDENTS)
def test_each_submission_scores_exactly_its_honest_part(course, graded, student):
    pts = points(course["src"])
    row = graded["rows"][student]
    assert row["status"] == "graded" and row["timed_out_cells"] == "", row
    want = {cell: (pts[cell] if cell in graded["honest"][student] else 0.0) for cell in pts}
    assert graded["cells"][student] == want, graded["pages"][student][-3000:]
    assert float(row["score"]) == sum(want.values()) and float(row["max_score"]) == 14


def test_scores_are_what_the_questions_are_worth(course, graded):
    """The partial and hostile students get what their right answers are worth, and nothing for the rest."""
    src = course["src"]
    worth = {q: sum(points(src)[t] for t in tests) for q, tests in questions(src).items()}
    assert worth == {"dropout": 3, "random_shift": 3, "warmup_cosine": 3, "prepare_for_fine_tuning": 5}
    scores = {s: float(graded["rows"][s]["score"]) for s in ("blank", "partial", "hostile_a", "hostile_b")}
    assert scores == {"blank": 0, "partial": 3 + 1, "hostile_a": 1, "hostile_b": 5}


def test_failures_are_explained(graded):
    tests = {s: feedback_tests(graded["pages"][s]) for s in ("partial", "hostile_a", "hostile_b")}
    assert "divided by 1 - rate" in tests["partial"]["test_dropout"]
    assert "step 0" in tests["partial"]["test_warmup_cosine"]
    assert "block1_bn" in tests["partial"]["test_prepare_for_fine_tuning"]
    assert "trainable but should be frozen" in tests["partial"]["hidden_fine_tuning_training"]
    assert "kept a fraction 1.0000" in tests["hostile_a"]["test_dropout"]
    assert "zeros coming in" in tests["hostile_a"]["test_random_shift"]
    assert "trainable weights should be" in tests["hostile_a"]["test_prepare_for_fine_tuning"]
    assert "different masks" in tests["hostile_b"]["test_dropout"]
    # the shortcut: named in the feedback and in the note, and only that question costs anything
    assert "forbids scipy, torch, jax, tensorflow, keras; the answer uses scipy" in \
        tests["hostile_b"]["test_random_shift"]
    # Keras is forbidden in the three NumPy answers (forbid_in), not in the fine-tuning one
    assert "forbids scipy, torch, jax, tensorflow, keras; the answer uses keras" in \
        tests["hostile_b"]["test_warmup_cosine"]
    assert graded["rows"]["hostile_b"]["note"] == (
        "forbidden library used (random_shift: scipy (line 3); warmup_cosine: keras (line 3))")
    assert all(graded["rows"][s]["note"] == "" for s in ("recorder_a", "recorder_b", "partial", "hostile_a"))


def test_hidden_inputs_change_with_the_grading_seed(course, graded):
    """Each submission is graded with a GRADING_SEED of its own: every call a hidden test makes gets inputs
    that differ between the two recorders, while the visible tests' fixed inputs are the same for both."""
    calls = {}
    for student in ("recorder_a", "recorder_b"):
        found = feedback_tests(graded["pages"][student])
        calls[student] = {cell: re.findall(r"CALLED (\w+) ([0-9a-f]{16})", text)
                          for cell, text in found.items()}
    a, b = calls["recorder_a"], calls["recorder_b"]
    hidden = [cell for cell in points(course["src"]) if cell.startswith("hidden_")]
    assert len(hidden) == 5
    for cell in hidden:
        assert a[cell] and b[cell], (cell, a[cell], b[cell])
        same = {d for _, d in a[cell]} & {d for _, d in b[cell]}
        assert not same, f"{cell} called the function on the same inputs for two GRADING_SEEDs"
    for cell in ("test_dropout", "test_random_shift", "test_prepare_for_fine_tuning"):
        assert a[cell] and a[cell] == b[cell], cell
    # the schedule's visible test: its fixed schedules first, then one drawn with the seed
    assert a["test_warmup_cosine"][:42] == b["test_warmup_cosine"][:42]
    assert a["test_warmup_cosine"][42:] != b["test_warmup_cosine"][42:]
