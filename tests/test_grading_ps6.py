"""ps6 (detection and segmentation) graded for real: partial, blank and hostile submissions in one run.

One grading run (``--only ps6``) over submissions built from the release and the source, each of which must
score exactly what its honest part deserves, cell by cell:

    blank          the untouched release
    typical        IoU, NMS and the transposed convolution right; AP with VOC 2007's 11 recall points; a Dice
                   that is the IoU (the factor 2 forgotten)
    nan_iou        an IoU that divides 0 by 0 for two empty boxes (NaN); everything else right
    unsorted_nms   an NMS that visits the boxes in index order, not by score
    duplicate_ap   an AP that counts every detection of a found object as a true positive
    absent_miou    a mean IoU over all classes, counting a class absent from both maps as IoU 0
    flipped_convT  a transposed convolution written as the convolution with the flipped kernel: right at
                   stride 1, wrong at stride 2 and 3
    tf_nms         an NMS that calls tf.image.non_max_suppression (forbidden)
    lookup         every answer a lookup table of the visible tests' calls (recorded here from the source's
                   visible test cells and its solution), with no computation at all

Every honest answer of these submissions prints a fingerprint of its arguments at each call from a test; the
feedback pages show what the functions printed under each test cell, so the pages tell which inputs each
test drew. ``GRADING_SEED`` is drawn again for each submission: every hidden test must have drawn other
inputs for every submission, and every visible test the same ones.

Slow (a real grading run in sandboxes): marked ``grading``.
"""

from __future__ import annotations

import ast
import csv
import json
import re

import numpy as np
import pytest
from test_grading import (
    distinctive,
    feedback_tests,
    html_text,
    load,
    meta,
    points,
    questions,
    released_course,
    run_script,
    save,
    solution_code,
    source,
    student_version,
)

from course_lib.grading.spec import is_import

pytestmark = pytest.mark.grading

PS = "ps6"
# the functions each answer cell defines, and the answer cell of each test cell's question
FUNCTIONS = {"box_iou": ("box_iou",), "nms": ("nms",), "average_precision": ("average_precision",),
             "mean_iou": ("mean_iou", "dice"), "conv_transpose2d": ("conv_transpose2d",)}

# Put before an honest answer: each of its functions prints a fingerprint of the arguments it was called with
# by a test (not of the calls the answers make to each other: nms calls box_iou).
FINGERPRINT = '''
import hashlib

import numpy as np

_DEPTH = [0]


def _fingerprint(value):
    digest = hashlib.sha256()

    def feed(v):
        if isinstance(v, np.ndarray):
            digest.update(repr((v.shape, v.dtype.str)).encode())
            digest.update(np.ascontiguousarray(v).tobytes())
        elif isinstance(v, (list, tuple)):
            digest.update(b"[")
            for item in v:
                feed(item)
            digest.update(b"]")
        elif isinstance(v, dict):
            for k in sorted(v):
                digest.update(k.encode())
                feed(v[k])
        else:
            digest.update(repr(v).encode())

    feed(value)
    return digest.hexdigest()[:16]
'''

WRAPPER = '''

def {name}(*args, **kwargs):
    if _DEPTH[0] == 0:
        print("fp:{name}:" + _fingerprint([args, kwargs]))
    _DEPTH[0] += 1
    try:
        return _honest_{name}(*args, **kwargs)
    finally:
        _DEPTH[0] -= 1
'''

# ------------------------------------------------------------------------------------------ wrong answers

NAN_IOU = '''
def box_iou(boxes_a, boxes_b):
    a = np.asarray(boxes_a, dtype=float).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=float).reshape(-1, 4)
    w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = w * h
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    with np.errstate(invalid="ignore"):
        return inter / (area_a[:, None] + area_b[None, :] - inter)  # 0 / 0 = nan for two empty boxes
'''

UNSORTED_NMS = '''
def nms(boxes, scores, iou_threshold=0.5, max_output=None):
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4)
    overlaps = box_iou(boxes, boxes)
    suppressed = np.zeros(len(boxes), dtype=bool)
    keep = []
    for i in range(len(boxes)):  # the scores are never looked at
        if suppressed[i]:
            continue
        keep.append(i)
        if max_output is not None and len(keep) >= max_output:
            break
        suppressed |= overlaps[i] > iou_threshold
    return np.array(keep, dtype=np.int64)
'''

DUPLICATE_AP = '''
def average_precision(detections, ground_truths, iou_threshold=0.5):
    truths = [np.asarray(g, dtype=float).reshape(-1, 4) for g in ground_truths]
    dets = [np.asarray(d, dtype=float).reshape(-1, 5) for d in detections]
    n_true = sum(len(g) for g in truths)
    if n_true == 0:
        return float("nan")
    pooled = [(d[4], i, d[:4]) for i, rows in enumerate(dets) for d in rows]
    if not pooled:
        return 0.0
    pooled.sort(key=lambda item: -item[0])
    hits = []
    for _, i, box in pooled:
        best = box_iou(box[None], truths[i]).max() if len(truths[i]) else 0.0
        hits.append(best >= iou_threshold)  # a second detection of the same object counts again
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return float(envelope[np.array(hits)].sum() / n_true)
'''

ELEVEN_POINT_AP = '''
def average_precision(detections, ground_truths, iou_threshold=0.5):
    truths = [np.asarray(g, dtype=float).reshape(-1, 4) for g in ground_truths]
    dets = [np.asarray(d, dtype=float).reshape(-1, 5) for d in detections]
    n_true = sum(len(g) for g in truths)
    if n_true == 0:
        return float("nan")
    pooled = [(d[4], i, d[:4]) for i, rows in enumerate(dets) for d in rows]
    if not pooled:
        return 0.0
    pooled.sort(key=lambda item: -item[0])
    claimed, hits = set(), []
    for _, i, box in pooled:
        hit = False
        if len(truths[i]):
            overlaps = box_iou(box[None], truths[i])[0]
            best = int(np.argmax(overlaps))
            hit = overlaps[best] >= iou_threshold and (i, best) not in claimed
            if hit:
                claimed.add((i, best))
        hits.append(hit)
    tp = np.cumsum(hits)
    precision, recall = tp / np.arange(1, len(hits) + 1), tp / n_true
    # VOC 2007: the mean of the interpolated precision at recall 0, 0.1, ..., 1
    return float(np.mean([precision[recall >= r].max() if np.any(recall >= r) else 0.0
                          for r in np.linspace(0, 1, 11)]))
'''

ABSENT_MIOU = '''
def mean_iou(y_true, y_pred, n_classes):
    ious = []
    for c in range(n_classes):
        t, p = np.asarray(y_true) == c, np.asarray(y_pred) == c
        union = np.sum(t | p)
        ious.append(np.sum(t & p) / union if union else 0.0)  # a class in neither map counted as 0
    return float(np.mean(ious))
'''

DICE_IS_IOU = '''
def dice(y_true, y_pred, n_classes):
    t, p = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    out = np.full(n_classes, np.nan)
    for c in range(n_classes):
        inter, union = np.sum((t == c) & (p == c)), np.sum((t == c) | (p == c))
        if union:
            out[c] = inter / union  # the IoU: Dice's factors of 2 forgotten
    return out
'''

FLIPPED_CONV_TRANSPOSE = '''
def conv_transpose2d(y, w, stride=1, pad=0, output_padding=0):
    # a "full" convolution with the flipped kernel: the transpose at stride 1, but the stride is ignored
    y, w = np.asarray(y, dtype=float), np.asarray(w, dtype=float)
    kh, kw = w.shape[:2]
    flipped = w[::-1, ::-1].transpose(0, 1, 3, 2)  # KH, KW, F, C
    yp = np.pad(y, ((0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1), (0, 0)))
    out = np.zeros((yp.shape[0], yp.shape[1] - kh + 1, yp.shape[2] - kw + 1, flipped.shape[3]))
    for u in range(kh):
        for v in range(kw):
            out += yp[:, u:u + out.shape[1], v:v + out.shape[2], :] @ flipped[u, v]
    return out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad, :]
'''

TF_NMS = '''
import tensorflow as tf


def nms(boxes, scores, iou_threshold=0.5, max_output=None):
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    limit = len(boxes) if max_output is None else max_output
    kept = tf.image.non_max_suppression(boxes[:, [1, 0, 3, 2]], np.asarray(scores, dtype=np.float32), limit,
                                        iou_threshold)
    return kept.numpy().astype(np.int64)
'''

# ------------------------------------------------------------------------------------------ the lookup table

# The key of a call, the same here and in the sandbox (where the arguments arrive through the grader's wire).
KEY_CODE = '''
import json as _json

import numpy as _np


def _plain(value):
    if isinstance(value, _np.ndarray):
        return ["nd", list(value.shape), _plain(value.tolist())]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, (bool, _np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, _np.integer, _np.floating)):
        return float(value)
    return repr(value)


def _key(args, kwargs):
    return _json.dumps([_plain(list(args)), _plain(kwargs)], sort_keys=True)


def _replay(table, args, kwargs):
    found = table.get(_key(args, kwargs))
    if found is None:
        return _np.zeros(0)  # a call the table does not know
    if "raise" in found:
        raise ValueError(found["raise"])
    if "nd" in found:
        return _np.array(found["nd"], dtype=found["dtype"]).reshape(found["shape"])
    return found["value"]
'''


def defined_functions(code: str) -> list[str]:
    return [n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef)]


def honest(src: dict, gid: str) -> str:
    """The source's answer, each of its functions wrapped to print a fingerprint of its arguments."""
    code = solution_code(src, gid)
    names = defined_functions(code)
    assert set(names) == set(FUNCTIONS[gid]), names
    for name in names:
        code = code.replace(f"def {name}(", f"def _honest_{name}(")
    return FINGERPRINT + "\n\n" + code + "".join(WRAPPER.format(name=name) for name in names)


def lookup_answers(src: dict) -> dict[str, str]:
    """Answer cells that replay the visible tests' calls: the source's visible test cells are run here with
    the source's solution, every call of an answer's function recorded (arguments -> result)."""
    keys: dict = {}
    exec(KEY_CODE, keys)
    ns: dict = {"__name__": "ps6_visible_tests", "np": np}
    tables: dict[str, dict] = {}

    def recorder(name, fn):
        def call(*args, **kwargs):
            key = keys["_key"](args, kwargs)
            try:
                result = fn(*args, **kwargs)
            except ValueError as exc:
                tables[name][key] = {"raise": str(exc)}
                raise
            if isinstance(result, np.ndarray):
                tables[name][key] = {"nd": result.tolist(), "dtype": result.dtype.str,
                                     "shape": list(result.shape)}
            else:
                tables[name][key] = {"value": float(result)}
            return result
        return call

    for cell in src["cells"]:
        m, text = meta(cell), source(cell)
        if m.get("solution"):
            code = solution_code(src, m["grade_id"])
            exec(compile(code, m["grade_id"], "exec"), ns)
            for name in defined_functions(code):
                tables[name] = {}
                ns[name] = recorder(name, ns[name])
        elif m.get("grade") and "BEGIN HIDDEN TESTS" not in text:
            exec(compile(text, m["grade_id"], "exec"), ns)
    answers = {}
    for gid, names in FUNCTIONS.items():
        parts = [KEY_CODE]
        for name in names:
            assert tables[name], f"no visible call of {name} was recorded"
            parts.append(f"_TABLE_{name} = _json.loads({json.dumps(tables[name])!r})\n\n\n"
                         f"def {name}(*args, **kwargs):\n    return _replay(_TABLE_{name}, args, kwargs)\n")
        answers[gid] = "\n\n".join(parts)
    return answers


# ------------------------------------------------------------------------------------------ the run

@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = released_course(tmp_path_factory, "ps6")
    assert course["release"]["returncode"] == 0, course["release"]["stderr"]
    course["src"] = load(course["repo"] / "notebooks" / "assignments" / "source" / PS / f"{PS}.ipynb")
    course["rel"] = load(course["build"] / "release" / PS / f"{PS}.ipynb")
    return course


def submissions(course) -> dict[str, tuple[dict, set[str]]]:
    """student -> (answers, the test cells it deserves to pass)."""
    src = course["src"]
    every = {gid: honest(src, gid) for gid in FUNCTIONS}
    tests = {gid: questions(src)[gid] for gid in FUNCTIONS}
    all_cells = set(points(src))

    def without(*cells):
        return all_cells - set(cells)

    return {
        "blank": ({}, set()),
        "typical": ({**every, "average_precision": ELEVEN_POINT_AP,
                     "mean_iou": every["mean_iou"] + DICE_IS_IOU},
                    set(tests["box_iou"] + tests["nms"] + tests["conv_transpose2d"])),
        "nan_iou": ({**every, "box_iou": NAN_IOU}, without("hidden_box_iou")),
        "unsorted_nms": ({**every, "nms": UNSORTED_NMS}, without(*tests["nms"])),
        "duplicate_ap": ({**every, "average_precision": DUPLICATE_AP}, without(*tests["average_precision"])),
        "absent_miou": ({**every, "mean_iou": every["mean_iou"] + ABSENT_MIOU}, without("hidden_mean_iou")),
        "flipped_convT": ({**every, "conv_transpose2d": FLIPPED_CONV_TRANSPOSE},
                          without("hidden_conv_transpose2d")),
        "tf_nms": ({**every, "nms": TF_NMS}, without(*tests["nms"])),
        "lookup": (lookup_answers(src), {cell for cell in all_cells if cell.startswith("test_")}),
    }


@pytest.fixture(scope="module")
def graded(course):
    subs = course["root"] / "submissions"
    made = submissions(course)
    for student, (answers, _) in made.items():
        nb = student_version(course["rel"], course["src"], answers) if answers else course["rel"]
        save(nb, subs / student / PS / f"{PS}.ipynb")
    proc = run_script(course, "grade", "--submissions", str(subs), "--only", PS, "--cell-timeout", "60",
                      "--submission-timeout", "240")
    with open(course["build"] / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f) if r["assignment"] == PS}
    cells: dict[str, dict[str, float]] = {}
    with open(course["build"] / "grades_by_question.csv", newline="") as f:
        for r in csv.DictReader(f):
            cells.setdefault(r["student"], {})[r["cell"]] = float(r["score"])
    pages = {s: (course["build"] / "feedback" / s / PS / f"{PS}.html").read_text() for s in made}
    return {"proc": proc, "rows": rows, "cells": cells, "pages": pages, "made": made}


def test_release_shows_no_solution_or_hidden_test(course):
    src, rel = course["src"], course["rel"]
    secret = distinctive(src, "### BEGIN SOLUTION", "### END SOLUTION") | \
        distinctive(src, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
    assert len(secret) >= 40
    shown = {line.strip() for cell in rel["cells"] for line in source(cell).split("\n")}
    assert not secret & shown, sorted(secret & shown)[:5]
    text = json.dumps(rel)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                   "GRADING_SEED"):
        assert marker not in text, marker
    stubs = [c for c in rel["cells"] if meta(c).get("solution")]
    assert [source(c).count("raise NotImplementedError()") for c in stubs] == [1, 1, 1, 2, 1]
    assert sum(points(rel).values()) == sum(points(src).values()) == 18
    assert not any(c.get("outputs") for c in src["cells"] if c["cell_type"] == "code")


def test_every_submission_scores_exactly_its_honest_part(course, graded):
    pts = points(course["src"])
    assert graded["proc"].returncode == 0, graded["proc"].stdout[-3000:]
    for student, (_, deserved) in graded["made"].items():
        row = graded["rows"][student]
        assert row["status"] == "graded" and row["timed_out_cells"] == "", (student, row)
        want = {cell: pts[cell] if cell in deserved else 0.0 for cell in pts}
        assert graded["cells"][student] == want, student
        assert float(row["score"]) == sum(want.values()) and float(row["max_score"]) == 18, (student, row)
    scores = {s: float(r["score"]) for s, r in graded["rows"].items()}
    assert scores == {"blank": 0, "typical": 10, "nan_iou": 16, "unsorted_nms": 15, "duplicate_ap": 13,
                      "absent_miou": 16, "flipped_convT": 16, "tf_nms": 15, "lookup": 7}


def test_the_forbidden_library_is_named(graded):
    assert "forbidden library used (nms: tensorflow" in graded["rows"]["tf_nms"]["note"]
    assert all("forbidden" not in r["note"] for s, r in graded["rows"].items() if s != "tf_nms")
    tests = feedback_tests(graded["pages"]["tf_nms"])
    assert "this question forbids" in tests["test_nms"] and "tensorflow" in tests["hidden_nms"]


def test_failures_are_explained_where_they_happen(graded):
    """The failing test says what went wrong, in the student's terms."""
    expect = {("nan_iou", "hidden_box_iou"): "NaN",
              ("unsorted_nms", "test_nms"): "expected the indices [1, 3, 4]",
              ("duplicate_ap", "test_average_precision"): "AP of the worked example",
              ("absent_miou", "hidden_mean_iou"): "mean IoU",
              ("flipped_convT", "hidden_conv_transpose2d"): "stride 2",
              ("typical", "test_average_precision"): "AP of the worked example",
              ("typical", "test_mean_iou"): "Dice per class"}
    for (student, cell), words in expect.items():
        assert words in feedback_tests(graded["pages"][student])[cell], (student, cell)


def _fingerprints(page: str, names: tuple[str, ...]) -> dict[str, frozenset]:
    found = {}
    for cell, text in feedback_tests(page).items():
        found[cell] = frozenset(m.group(0) for m in re.finditer(r"fp:(\w+):[0-9a-f]{16}", text)
                                if m.group(1) in names)
    return found


def test_hidden_inputs_change_with_the_grading_seed_and_visible_ones_do_not(course, graded):
    every = {gid: honest(course["src"], gid) for gid in FUNCTIONS}
    for gid, tests in questions(course["src"]).items():
        # the submissions whose answer to this question is the honest, printing one; each was graded with a
        # GRADING_SEED of its own
        printing = [s for s, (answers, _) in graded["made"].items() if answers.get(gid) == every[gid]]
        for cell in tests:
            drawn = [_fingerprints(graded["pages"][s], FUNCTIONS[gid])[cell] for s in printing]
            assert all(graded["cells"][s][cell] > 0 for s in printing), cell
            assert len(drawn) >= 3 and all(drawn), (cell, len(drawn))
            if cell.startswith("hidden_"):
                assert len(set(drawn)) == len(drawn), f"{cell}: two submissions got the same inputs"
            else:
                assert len(set(drawn)) == 1, f"{cell}: the visible test's inputs should be fixed"


def test_feedback_shows_no_hidden_test_code(course, graded):
    # imports are left out: they give nothing away (the grader does not redact them either), and the tf_nms
    # student wrote `import tensorflow as tf` in its own answer
    hidden = {line for line in distinctive(course["src"], "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
              if not is_import(line)}
    assert len(hidden) >= 40
    for student in graded["made"]:
        text = html_text(course["build"] / "feedback" / student / PS / f"{PS}.html")
        assert not [line for line in hidden if line in text], student
        assert "BEGIN HIDDEN TESTS" not in text and text.count("hidden tests ran here") == 5
