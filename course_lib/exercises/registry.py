"""The table of checked exercises: what each expects, how an answer is judged, and the hints for wrong ones.

Each judge compares the answer with a reference from :mod:`~course_lib.exercises.references` (computed
lazily, once) and, when it is wrong, looks for the usual mistakes to name them: a shape with the channels
first, a count without the biases, a value off by the padding. Messages never contain the reference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import references as ref

Verdict = tuple[bool, str]


@dataclass(frozen=True)
class Exercise:
    """One checked exercise: ``judge(answer)`` returns ``(right, why)``."""

    key: str
    expects: str
    judge: Callable[[Any], Verdict] = field(repr=False)


EXERCISES: dict[str, Exercise] = {}


def _register(key: str, expects: str) -> Callable[[Callable[[Any], Verdict]], Callable[[Any], Verdict]]:
    def wrap(judge: Callable[[Any], Verdict]) -> Callable[[Any], Verdict]:
        EXERCISES[key] = Exercise(key, expects, judge)
        return judge

    return wrap


# ---------------------------------------------------------------------------------------------- helpers
def _as_int(answer: Any, what: str) -> int | None:
    if isinstance(answer, bool):
        return None
    if isinstance(answer, (int, np.integer)):
        return int(answer)
    if isinstance(answer, (float, np.floating)) and float(answer).is_integer():
        return int(answer)
    return None


def _number(answer: Any, expected: float, what: str, *, rtol: float = 1e-6,
            near: Mapping[str, float] | None = None) -> Verdict:
    """Compare one number; ``near`` maps a hint to a value that a typical mistake gives."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False, f"{what} should be a number, got {type(answer).__name__}"
    if np.isclose(value, expected, rtol=rtol, atol=0):
        return True, ""
    for hint, wrong in (near or {}).items():
        if np.isclose(value, wrong, rtol=rtol, atol=0):
            return False, hint
    direction = "too large" if value > expected else "too small"
    factor = value / expected if expected else float("inf")
    more = f" (by a factor of about {factor:.3g})" if expected and (factor > 1.5 or factor < 0.67) else ""
    return False, f"{what} is {direction}{more}"


def _number_or_hint(answer: Any, expected: float, what: str, near: Callable[[], Mapping[str, float]],
                    **kwargs: Any) -> Verdict:
    """:func:`_number` that computes the hints (``near()``, some of them costly) only for a wrong answer."""
    verdict = _number(answer, expected, what, **kwargs)
    return verdict if verdict[0] else _number(answer, expected, what, near=near(), **kwargs)


def _array(answer: Any, expected: np.ndarray, what: str, *, atol: float = 1e-6,
           near: Mapping[str, np.ndarray] | None = None) -> Verdict:
    try:
        got = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return False, f"{what} should be an array of numbers"
    if got.shape != expected.shape:
        if got.ndim == expected.ndim and sorted(got.shape) == sorted(expected.shape):
            return False, f"{what} has shape {got.shape}: the right sizes in the wrong order (the layout?)"
        return False, f"{what} has shape {got.shape}; check how many values each axis should hold"
    if np.allclose(got, expected, atol=atol, rtol=1e-6):
        return True, ""
    for hint, wrong in (near or {}).items():
        if wrong.shape == got.shape and np.allclose(got, wrong, atol=atol, rtol=1e-6):
            return False, hint
    if np.allclose(got, -expected, atol=atol, rtol=1e-6):
        return False, f"{what} has the wrong sign everywhere"
    if np.allclose(got, expected[::-1, ::-1], atol=atol, rtol=1e-6) if got.ndim == 2 else False:
        return False, f"{what} is rotated by 180 degrees (a flipped kernel: convolution vs correlation)"
    wrong = int(np.sum(~np.isclose(got, expected, atol=atol, rtol=1e-6)))
    return False, f"{wrong} of {got.size} entries of {what} differ"


def _fields(answer: Any, names: Sequence[str], what: str) -> tuple[dict[str, Any] | None, str]:
    """An answer given as a dict with ``names`` (or a sequence in that order)."""
    if isinstance(answer, Mapping):
        missing = [n for n in names if n not in answer]
        if missing:
            return None, f"{what} needs the keys {list(names)}; missing {missing}"
        return {n: answer[n] for n in names}, ""
    if isinstance(answer, (list, tuple)) and len(answer) == len(names):
        return dict(zip(names, answer)), ""
    return None, f"{what} should be a dict with keys {list(names)} (or a tuple in that order)"


def _all(verdicts: Sequence[tuple[str, Verdict]]) -> Verdict:
    wrong = [f"{name}: {why}" for name, (ok, why) in verdicts if not ok]
    return (not wrong), "; ".join(wrong)


def _set_of_ints(answer: Any, expected: set[int], what: str) -> Verdict:
    try:
        got = {int(v) for v in answer}
    except (TypeError, ValueError):
        return False, f"{what} should be a collection of ints"
    if got == expected:
        return True, ""
    extra, missing = len(got - expected), len(expected - got)
    parts = ([f"{extra} value(s) that do not belong"] if extra else []) + (
        [f"{missing} value(s) missing"] if missing else [])
    return False, f"{what}: " + " and ".join(parts)


# ------------------------------------------------------------------------------------------------ 00
@_register("00.3", "(same_seed_identical, other_seed_identical): two bools")
def _e00_3(answer: Any) -> Verdict:
    same, other = ref.shapes10_reproducible()
    pair = isinstance(answer, (tuple, list)) and len(answer) == 2
    if not (pair and all(isinstance(a, bool) for a in answer)):
        return False, "give a pair of bools: (same seed identical?, different seed identical?)"
    if tuple(answer) == (same, other):
        return True, "a seed fixes every random choice of the generator"
    return False, "generate the arrays and compare them with np.array_equal before answering"


# ------------------------------------------------------------------------------------------------ 01
@_register("01.1", "dict conv_params, dense_params, conv_macs, dense_macs (ints)")
def _e01_1(answer: Any) -> Verdict:
    got, why = _fields(answer, ("conv_params", "dense_params", "conv_macs", "dense_macs"), "the answer")
    if got is None:
        return False, why
    r = ref.fc_vs_conv_64()
    return _all([
        ("conv_params", _number(got["conv_params"], r["conv_params"], "conv_params",
                                near={"you left out the 32 biases": r["conv_params"] - 32})),
        ("dense_params", _number(got["dense_params"], r["dense_params"], "dense_params",
                                 near={"you left out the biases (one per output unit)":
                                       r["dense_params"] - r["n_out"]})),
        ("conv_macs", _number(got["conv_macs"], r["conv_macs"], "conv_macs",
                              near={"count one multiply-add per kernel weight per output value, "
                                    "for every filter": r["conv_macs"] / 32})),
        ("dense_macs", _number(got["dense_macs"], r["dense_macs"], "dense_macs")),
    ])


@_register("01.2", "the number of rows (int), or the matrix itself (rows x 8)")
def _e01_2(answer: Any) -> Verdict:
    matrix = ref.strided_conv_matrix()
    if np.ndim(answer) == 2:
        return _array(answer, matrix, "the matrix", near={
            "these are the rows of stride 1: keep every other output": ref.strided_conv_matrix(stride=1)})
    n = _as_int(answer, "rows")
    if n is None:
        return False, "give the number of rows as an int, or the matrix"
    if n == matrix.shape[0]:
        return True, "each row is the kernel, moved two columns to the right of the row above"
    if n == 8:
        return False, "that is the stride-1 matrix; stride 2 keeps every other output"
    return False, "count the outputs: (n + 2p - k) // s + 1 with n=8, p=1, k=3, s=2"


@_register("01.4", "widths (top, left, bottom, right) of the bands of differing pixels for a 7x7 kernel")
def _e01_4(answer: Any) -> Verdict:
    got, why = _fields(answer, ("top", "left", "bottom", "right"), "the answer")
    if got is None:
        return False, why
    r = ref.equivariance_band_widths(7)
    hint = "only rows/columns whose window reaches across the edge differ: count the kernel's half-width"
    verdicts = [(side, _number(got[side], r[side], side, near={hint: 2 * r[side]}))
                for side in ("top", "left", "bottom", "right")]
    return _all(verdicts)


@_register("01.5", "a 3x3 kernel (array) whose 90-degree rotation error is zero")
def _e01_5(answer: Any) -> Verdict:
    try:
        k = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return False, "give the kernel as a 3x3 array of numbers"
    if k.shape != (3, 3):
        return False, f"the kernel must be 3x3, got shape {k.shape}"
    if not np.any(k):
        return False, "the zero kernel is trivially equivariant; find a non-zero one"
    scale = np.abs(k).max()
    trivial = [np.eye(3)[[1]].T @ np.eye(3)[[1]], np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16]
    if any(np.allclose(k / scale, t / np.abs(t).max()) for t in trivial):
        return False, "that is the identity or the blur (up to scale); the exercise asks for another one"
    err = ref.rotation_error(k)
    if err < 1e-10:
        return True, "a kernel unchanged by a quarter turn (k == np.rot90(k)) commutes with the rotation"
    return False, (f"the error is {err:.2g}, not zero: the kernel changes when rotated by 90 degrees; "
                   "compare it with np.rot90(k)")


# ------------------------------------------------------------------------------------------------ 02
@_register("02.1", "dict value (the bottom-right entry) and x_entry ((row, col) of X that meets K[0, 0])")
def _e02_1(answer: Any) -> Verdict:
    got, why = _fields(answer, ("value", "x_entry"), "the answer")
    if got is None:
        return False, why
    r = ref.convolution_entry()
    try:
        pos = tuple(int(v) for v in got["x_entry"])
    except (TypeError, ValueError):
        return False, "x_entry should be a (row, col) pair of 0-based indices"
    if pos == r["x_entry"]:
        pos_ok = (True, "")
    elif pos == tuple(v + 1 for v in r["x_entry"]):
        pos_ok = (False, "these look like 1-based indices; the notebook counts from 0")
    elif pos == r["x_entry_correlation"]:
        pos_ok = (False, "that entry meets K[0, 0] in a correlation; convolution flips the kernel")
    else:
        pos_ok = (False, "write out a + 2 - i and b + 2 - j for i = j = 0")
    return _all([("value", _number(got["value"], r["value"], "value", rtol=1e-4,
                                   near={"that is the correlation's value; convolution flips the kernel":
                                         r["correlation_value"]})),
                 ("x_entry", pos_ok)])


@_register("02.4", "the side of the single equivalent kernel (int), or the kernel itself")
def _e02_4(answer: Any) -> Verdict:
    kernel = ref.triple_blur()
    if np.ndim(answer) == 2:
        return _array(answer, kernel, "the kernel", atol=1e-9, near={
            "that is the blur applied twice; three times means convolving once more": ref.triple_blur(2)})
    n = _as_int(answer, "side")
    if n is None:
        return False, "give the side as an int, or the kernel as an array"
    if n == kernel.shape[0]:
        return True, "each full convolution with a 3x3 kernel adds 2 to the side"
    if n == 9:
        return False, "sides do not multiply: a full convolution of sizes a and b has size a + b - 1"
    return False, "each full convolution of an a-wide and a b-wide kernel is (a + b - 1) wide"


@_register("02.5", "the Conv2D kernel, shape (KH, KW, 3, 2), with zero biases")
def _e02_5(answer: Any) -> Verdict:
    try:
        w = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return False, "give the kernel as an array of shape (KH, KW, 3, 2)"
    if w.ndim != 4:
        return False, f"a Conv2D kernel is 4-D (KH, KW, C_in, C_out), got shape {w.shape}"
    if w.shape[2:] == (2, 3):
        return False, "the last two axes are swapped: Keras kernels are (KH, KW, C_in, C_out)"
    if w.shape[2:] != (3, 2):
        return False, f"the kernel needs 3 input channels and 2 filters, got shape {w.shape}"
    maps, target = ref.apply_rgb_kernel(w)
    first = np.allclose(maps[..., 0], target[..., 0], atol=1e-5)
    second = np.allclose(maps[..., 1], target[..., 1], atol=1e-5)
    if first and second:
        return True, ""
    if np.allclose(maps[..., 0], target[..., 1], atol=1e-5) and np.allclose(maps[..., 1], target[..., 0],
                                                                              atol=1e-5):
        return False, "the two filters are swapped: filter 0 should give the brightness"
    if not first and np.allclose(maps[..., 0], 3 * target[..., 0], atol=1e-5):
        return False, "the first map is the sum R + G + B; divide by 3"
    parts = [] if first else ["the first map is not (R + G + B) / 3 at every pixel"]
    parts += [] if second else ["the second map is not the green channel (index 1 of the last axis)"]
    if w.shape[0] > 1 and not (first and second):
        parts.append("(a kernel larger than 1x1 must be zero away from its centre)")
    return False, "; ".join(parts)


# ------------------------------------------------------------------------------------------------ 03
@_register("03.1", "dict sizes (the 5 sizes after each pooling) and receptive_field (int)")
def _e03_1(answer: Any) -> Verdict:
    got, why = _fields(answer, ("sizes", "receptive_field"), "the answer")
    if got is None:
        return False, why
    sizes = ref.vgg16_pool_sizes()
    try:
        given = [int(v) for v in got["sizes"]]
    except (TypeError, ValueError):
        return False, "sizes should be a list of 5 ints"
    sizes_ok = (given == sizes, "" if given == sizes else (
        "the first size is after the first pooling, not the input" if given[:1] == [224]
        else "2x2 pooling with stride 2 halves the size; 3x3 'same' convolutions keep it"))
    rf = ref.vgg16_receptive_field()
    near_rf = {"that is block5_conv3's field; the last pooling adds to it":
               ref.vgg16_receptive_field("block5_conv3")}
    rf_ok = _number(got["receptive_field"], rf, "receptive_field", near=near_rf)
    if not rf_ok[0] and rf_ok[1].startswith("receptive_field is too small"):
        # the two ways a gradient measurement falls short: a unit at the border, whose field the image edge
        # cuts off, and a constant input, on which ReLUs switch off in whole regions at once
        rf_ok = (False, rf_ok[1] + "; if you measured it, take a central unit of block5_pool (a corner "
                 "unit's field is cut off by the image border) and a random input, not a constant one")
    return _all([("sizes", sizes_ok), ("receptive_field", rf_ok)])


@_register("03.2", "the strides from 1 to 8 that tile 227 with an 11-wide window (a list of ints)")
def _e03_2(answer: Any) -> Verdict:
    ok, why = _set_of_ints(answer, ref.fitting_strides(227, 11), "the strides")
    return ok, why if not ok else "they divide 227 - 11 = 216"


@_register("03.3", "dict most_params, most_macs, most_activations (VGG-16 layer names)")
def _e03_3(answer: Any) -> Verdict:
    got, why = _fields(answer, ("most_params", "most_macs", "most_activations"), "the answer")
    if got is None:
        return False, why
    r = ref.vgg16_extremes()
    verdicts = []
    for key, hint in (("most_params", "the dense layers hold most of the weights"),
                      ("most_macs", "multiply-adds count H*W*C_out*K*K*C_in per layer"),
                      ("most_activations", "activations count H*W*C of the output")):
        name = got[key]
        ok = name in r[key]
        verdicts.append((key, (ok, "" if ok else hint)))
    ok, why = _all(verdicts)
    if ok and (len(r["most_macs"]) > 1 or len(r["most_activations"]) > 1):
        why = "several layers tie for the most multiply-adds and for the most activations: any of them counts"
    return ok, why


@_register("03.6", "dict plain and dilated: the fewest stride-1 3x3 'same'-padded layers whose central unit "
                   "sees all 224 pixels of a row, without dilation and with dilations 1, 2, 4, ... (ints)")
def _e03_6(answer: Any) -> Verdict:
    got, why = _fields(answer, ("plain", "dilated"), "the answer")
    if got is None:
        return False, why
    r = ref.layers_to_see(224)
    plain = _number(got["plain"], r["plain"], "plain",
                    near={"one layer short: 1 + 2L must reach 224, so round up": r["plain"] - 1})
    dilated = _number(got["dilated"], r["dilated"], "dilated", near={
        "one layer too many: the first layer (dilation 1) already sees 3 pixels, so after L layers the field "
        "is 2^(L+1) - 1, not 2^L": r["dilated"] + 1})
    return _all([("plain", plain), ("dilated", dilated)])


# ------------------------------------------------------------------------------------------------ 04
@_register("04.2", "the shifts from 0 to 8 at which 4x4/4 max pooling is exactly equivariant (list of ints)")
def _e04_2(answer: Any) -> Verdict:
    ok, why = _set_of_ints(answer, ref.exact_pool_shifts(), "the shifts")
    return ok, why if not ok else "the shift must be a multiple of the stride"


@_register("04.3", "(row, col) in the 2x2 window [[5, 5], [1, 2]] that TensorFlow's gradient goes to")
def _e04_3(answer: Any) -> Verdict:
    try:
        pos = tuple(int(v) for v in answer)
    except (TypeError, ValueError):
        return False, "give a (row, col) pair"
    expected = ref.tf_max_pool_tie()
    if pos == expected:
        return True, "any split of the gradient among tied maxima is a valid subgradient"
    if pos in ((0, 0), (0, 1)):
        return False, "one of the two tied maxima, but not the one TensorFlow picks: run the GradientTape"
    return False, "the gradient goes to a position holding the maximum"


@_register("04.4", "a function grad(x, p) returning d(sum x**p)**(1/p) / dx for positive x")
def _e04_4(answer: Any) -> Verdict:
    if not callable(answer):
        return False, "give the function itself (not its result)"
    for x, p, expected in ref.pnorm_gradients():
        try:
            got = np.asarray(answer(x.copy(), p), dtype=float)
        except Exception as err:  # noqa: BLE001 - a student's function may raise anything; report it
            return False, f"calling grad(x, p={p}) raised {type(err).__name__}: {err}"
        if got.shape != x.shape:
            return False, f"grad(x, p) should have x's shape {x.shape}, got {got.shape}"
        if not np.allclose(got, expected, rtol=1e-5, atol=1e-8):
            if np.allclose(got, p * x ** (p - 1), rtol=1e-5):
                return False, "that is the gradient of sum x**p; apply the chain rule through **(1/p)"
            return False, f"wrong for p={p} (compared with tf.GradientTape)"
    return True, "x_i**(p-1) / norm**(p-1): the largest x_i dominates as p grows"


# ------------------------------------------------------------------------------------------------ 05
_DJDK = "dJ/dK, a 3x3 array"


@_register("05.1", _DJDK + " with row-major flattening")
def _e05_1(answer: Any) -> Verdict:
    return _array(answer, ref.lecture_gradient(flatten="C"), "dJ/dK", near={
        "that is the column-major result of section 1: the order of h decides which theta each max meets":
            ref.lecture_gradient()})


@_register("05.2", _DJDK + " with correlation instead of convolution")
def _e05_2(answer: Any) -> Verdict:
    return _array(answer, ref.lecture_gradient(op="correlate"), "dJ/dK", near={
        "that is the convolution's gradient of section 1": ref.lecture_gradient()})


@_register("05.3", _DJDK + " with a 3x3 average pool")
def _e05_3(answer: Any) -> Verdict:
    return _array(answer, ref.lecture_gradient(pool="avg"), "dJ/dK", near={
        "each of the 9 positions of a window gets 1/9 of its gradient; did you forget the 1/9?":
            9 * ref.lecture_gradient(pool="avg")})


@_register("05.5", "log(1 - y_hat) computed stably (a float)")
def _e05_5(answer: Any) -> Verdict:
    value = ref.lecture_log_one_minus()
    try:
        got = float(answer)
    except (TypeError, ValueError):
        return False, "give a float"
    if np.isinf(got):
        return False, ("that is the naive result: 1 - y_hat is 0 in floating point; "
                       "use log(1 - sigmoid(z)) = -softplus(z)")
    return _number(got, value, "log(1 - y_hat)", rtol=1e-9)


# ------------------------------------------------------------------------------------------------ 06
@_register("06.1", "dict kernel_shape (tuple) and params (int) of Conv2D(128, 5) after conv_b")
def _e06_1(answer: Any) -> Verdict:
    got, why = _fields(answer, ("kernel_shape", "params"), "the answer")
    if got is None:
        return False, why
    shape, params = ref.keras_conv_after_conv_b()
    try:
        given = tuple(int(v) for v in got["kernel_shape"])
    except (TypeError, ValueError):
        return False, "kernel_shape should be a tuple of ints"
    if given == shape:
        shape_ok = (True, "")
    elif given == (shape[3], shape[2], shape[0], shape[1]):
        shape_ok = (False, "that is the channels-first (PyTorch) layout; Keras writes (KH, KW, C_in, C_out)")
    elif sorted(given) == sorted(shape):
        shape_ok = (False, "the right sizes in the wrong order: Keras writes (KH, KW, C_in, C_out)")
    else:
        shape_ok = (False, "each filter spans every channel of conv_b's output")
    return _all([("kernel_shape", shape_ok),
                 ("params", _number(got["params"], params, "params",
                                    near={"you left out the 128 biases": params - 128}))])


@_register("06.5", "the output (array) of the section 7 layer in training mode on one example")
def _e06_5(answer: Any) -> Verdict:
    expected = ref.batchnorm_single_example()
    ok, why = _array(np.reshape(answer, expected.shape) if np.size(answer) == expected.size else answer,
                     expected, "the output", atol=1e-4)
    return ok, why if not ok else "x minus its own batch mean is 0: one example has no spread to normalise"


@_register("06.6", "the number of steps (int) for the moving mean to get within 1% of the batch mean")
def _e06_6(answer: Any) -> Verdict:
    steps = ref.moving_mean_steps(0.9)
    n = _as_int(answer, "steps")
    if n is None:
        return False, "give the number of steps as an int"
    if n == steps:
        return True, "0.9**t falls below 0.01 at that step"
    if n == steps - 1:
        return False, "one short: the gap after t steps is 0.9**t of the mean; round up"
    if n == ref.moving_mean_steps(0.99):
        return False, "that is for momentum 0.99"
    return False, "solve 0.9**t <= 0.01 for the smallest integer t"


# ------------------------------------------------------------------------------------------------ 07
@_register("07.2", "dict layer name -> change in parameter count, for layers whose count changes")
def _e07_2(answer: Any) -> Verdict:
    expected = ref.lenet_modern_input_change()
    if not isinstance(answer, Mapping):
        return False, "give a dict {layer name: change in parameters}"
    got = {str(k): v for k, v in answer.items() if v}
    if set(got) != set(expected):
        extra = sorted(set(got) - set(expected))
        return False, ("convolution and pooling counts do not depend on the input size" if extra
                       else "a layer whose input grows is missing")
    return _all([(k, _number(got[k], expected[k], f"change of {k}")) for k in expected])


@_register("07.4", "dict fc1_50 and gap: parameters saved by each replacement")
def _e07_4(answer: Any) -> Verdict:
    got, why = _fields(answer, ("fc1_50", "gap"), "the answer")
    if got is None:
        return False, why
    r = ref.lenet_head_savings()
    return _all([(k, _number(got[k], r[k], k, near={"the output layer shrinks too: it reads fewer inputs":
                                                      r[k + "_fc1_only"]})) for k in ("fc1_50", "gap")])


# ------------------------------------------------------------------------------------------------ 08
@_register("08.1", "float: the factor inverted dropout with rate 0.2 multiplies kept activations by")
def _e08_1(answer: Any) -> Verdict:
    return _number(answer, ref.dropout_scale(0.2), "the factor", rtol=1e-5,
                   near={"that is the probability of keeping a unit; the scale is its inverse": 0.8,
                         "that is the rate; the scale divides by the probability of keeping": 5.0})


@_register("08.2", "float: the fraction of a weight left after 120 AdamW steps with no gradient")
def _e08_2(answer: Any) -> Verdict:
    return _number(answer, ref.adamw_decay_left(120, 0.003, 0.5), "the fraction", rtol=1e-3,
                   near={"the shrinkage compounds: each step takes a fraction of what is left":
                         1 - 120 * 0.0015,
                         "AdamW multiplies the decay by the learning rate": 0.5 ** 120})


@_register("08.3", "float: the variance of glorot_uniform weights of a 3x3 conv from 16 to 16 channels")
def _e08_3(answer: Any) -> Verdict:
    fans = 2 * 3 * 3 * 16
    return _number(answer, ref.glorot_conv_variance(3, 16, 16), "the variance", rtol=1e-4,
                   near={"that is the limit of the uniform draw, not its variance": (6 / fans) ** 0.5,
                         "the variance of U(-a, a) is a**2 / 3": 6 / fans,
                         "the fans of a convolution include the 3x3 window": 2 / (16 + 16)})


# ------------------------------------------------------------------------------------------------ 09
@_register("09.1", "dict alexnet and zfnet: receptive field of one pool5 unit (ints)")
def _e09_1(answer: Any) -> Verdict:
    got, why = _fields(answer, ("alexnet", "zfnet"), "the answer")
    if got is None:
        return False, why
    r = ref.pool5_receptive_fields()
    return _all([(k, _number(got[k], r[k], k)) for k in ("alexnet", "zfnet")])


@_register("09.5", "parameters (int) the 227x227 AlexNet loses when flatten-fc1-fc2 become global pooling")
def _e09_5(answer: Any) -> Verdict:
    lost, fc_only = ref.alexnet_gap_savings()
    return _number(answer, lost, "the parameters lost",
                   near={"the output layer changes too: it reads 256 values instead of 4096": fc_only})


# ------------------------------------------------------------------------------------------------ 10
@_register("10.2", "dict C and D: receptive field of one block5_conv3 unit (ints)")
def _e10_2(answer: Any) -> Verdict:
    got, why = _fields(answer, ("C", "D"), "the answer")
    if got is None:
        return False, why
    r = ref.vgg_block5_fields()
    near_c = {"a 1x1 convolution does not widen the field": r["D"]}
    return _all([(k, _number(got[k], r[k], f"configuration {k}", near=near_c if k == "C" else None))
                 for k in ("C", "D")])


# ------------------------------------------------------------------------------------------------ 11
@_register("11.1", "dict 3x3_reduce and 5x5_reduce: multiply-adds of module 3a's reduction layers")
def _e11_1(answer: Any) -> Verdict:
    got, why = _fields(answer, ("3x3_reduce", "5x5_reduce"), "the answer")
    if got is None:
        return False, why
    r = ref.inception_3a_reduce_macs()
    return _all([(k, _number(got[k], r[k], k)) for k in r])


@_register("11.2", "the depth (channels, int) of naive module 4e's output on 14x14x528")
def _e11_2(answer: Any) -> Verdict:
    depth = ref.naive_inception_depth()
    return _number(answer, depth, "the depth", near={
        "the pooling branch passes all 528 input channels through": depth - 528 + 128})


@_register("11.3", "parameters (int) of a VGG-style 4096-4096-1000 head on GoogLeNet's 7x7x1024 output")
def _e11_3(answer: Any) -> Verdict:
    return _number(answer, ref.googlenet_vgg_head(), "the head's parameters",
                   near={"you left out the biases": ref.googlenet_vgg_head(bias=False)})


# ------------------------------------------------------------------------------------------------ 13
def _int_pair(value: Any) -> tuple[int, int] | None:
    try:
        pair = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        return None
    return pair if len(pair) == 2 else None


@_register("13.6", "dict rows and cols: (first, last) row and column of the 32x32 input that unit (3, 5) "
                   "of conv3 reads (pixels inside the image)")
def _e13_6(answer: Any) -> Verdict:
    got, why = _fields(answer, ("rows", "cols"), "the answer")
    if got is None:
        return False, why
    r = ref.small_cnn_unit_pixels()
    given = {k: _int_pair(got[k]) for k in ("rows", "cols")}
    if None in given.values():
        return False, "rows and cols should each be a (first, last) pair of ints"
    if given == r:
        return True, "first pixel = start + index x jump, last = first + size - 1, cut at the image's border"
    if (given["rows"], given["cols"]) == (r["cols"], r["rows"]):
        return False, "rows and columns are swapped: unit (3, 5) sits in row 3 and column 5 of conv3's map"
    verdicts = []
    for key, index in (("rows", 3), ("cols", 5)):
        first, last = given[key]
        if given[key] == r[key]:
            verdicts.append((key, (True, "")))
        elif first < 0 or last > 31:
            verdicts.append((key, (False, "the field reaches past the image there; keep only the pixels "
                                          "inside it (0 to 31): beyond the border is padding")))
        elif first > last:
            verdicts.append((key, (False, "give (first, last) with first <= last")))
        else:
            verdicts.append((key, (False, f"the field of unit {index} starts at start + {index} x jump and "
                                          "spans the field's size from there")))
    return _all(verdicts)


@_register("13.8", "the 2x2 Grad-CAM map (array) of exercise 8's maps and score, scaled by its maximum")
def _e13_8(answer: Any) -> Verdict:
    expected = ref.grad_cam_by_hand()
    try:
        got = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return False, "give the map as a 2x2 array of numbers"
    if got.shape == expected.shape and np.allclose(got, expected, atol=1e-6):
        return True, "the evidence sits where the weighted sum of the maps is positive"
    if got.shape == expected.shape and got.max() > 0:
        if got.min() < 0 and np.allclose(np.maximum(got, 0) / got.max(), expected, atol=1e-6):
            return False, "there are negative entries: Grad-CAM keeps only the positive evidence (its ReLU)"
        if np.allclose(got / got.max(), expected, atol=1e-6):
            return False, "right up to its scale: divide the map by its maximum, as vis.grad_cam does"
    return _array(got, expected, "the map", atol=1e-6)


# ------------------------------------------------------------------------------------------------ 14
@_register("14.1", "dict params and macs of VGG-16's 13 convolutions made depthwise separable (biases kept)")
def _e14_1(answer: Any) -> Verdict:
    got, why = _fields(answer, ("params", "macs"), "the answer")
    if got is None:
        return False, why
    r = ref.vgg16_separable()
    return _all([
        ("params", _number(got["params"], r["params"], "params", near={
            "without biases; SeparableConv2D keeps one bias per output channel": r["params_no_bias"]})),
        ("macs", _number(got["macs"], r["macs"], "macs", rtol=1e-6, near={
            "that is the depthwise part only; add the 1x1 pointwise part": r["macs_depthwise"]})),
    ])


def _keyed(answer: Any, keys: Sequence[Any], what: str,
           parse: Callable[[Any], Any]) -> tuple[dict | None, str]:
    """A dict answer whose keys may be written several ways (``parse`` maps a key to its canonical form)."""
    if not isinstance(answer, Mapping):
        return None, f"{what} should be a dict with the keys {list(keys)}"
    got = {}
    for k, v in answer.items():
        try:
            got[parse(k)] = v
        except (TypeError, ValueError):
            return None, f"{what}: cannot read the key {k!r}; use the keys {list(keys)}"
    missing = [k for k in keys if k not in got]
    if missing:
        return None, f"{what} needs the keys {list(keys)}; missing {missing}"
    return got, ""


def _cd_key(key: Any) -> tuple[int, int]:
    if isinstance(key, str):
        c, d = key.lower().replace(" ", "").split("x")
        return int(c), int(d)
    c, d = key
    return int(c), int(d)


@_register("14.2", "dict {(C, d): weights} of one conv2-stage bottleneck's three convolutions (no biases), "
                   "for the five (C, d) of ResNeXt's Table 2")
def _e14_2(answer: Any) -> Verdict:
    r = ref.resnext_block_weights()
    got, why = _keyed(answer, list(r), "the answer", _cd_key)
    if got is None:
        return False, why
    hint = "the 3x3 convolution is grouped: each of its outputs reads only the d channels of its group"
    return _all([(f"{c}x{d}", _number_or_hint(got[c, d], r[c, d], f"C={c}, d={d}", lambda c=c, d=d: {
        hint: ref.resnext_block_weights(grouped=False)[c, d]} if c > 1 else {})) for c, d in r])


def _int_key(key: Any) -> int:
    return int(str(key).lower().lstrip("rk=").strip()) if isinstance(key, str) else int(key)


@_register("14.4", "dict {4: weights, 64: weights} the SE gates add to ResNet-50 with reduction r = 4 and 64")
def _e14_4(answer: Any) -> Verdict:
    got, why = _keyed(answer, [4, 64], "the answer", _int_key)
    if got is None:
        return False, why
    verdicts = []
    for r in (4, 64):
        def near(r=r):
            return {"the gate's two layers have biases too (C/r and C)": ref.se_resnet50_extra(r, bias=False),
                    "every block has its own gate: 3, 4, 6 and 3 blocks per stage":
                        ref.se_resnet50_extra(r, blocks=False),
                    "that is the count for r = 16, printed in section 3": ref.se_resnet50_extra(16)}
        verdicts.append((f"r={r}", _number_or_hint(got[r], ref.se_resnet50_extra(r),
                                                   f"the weights for r = {r}", near)))
    return _all(verdicts)


@_register("14.5", "dict {12: parameters, 48: parameters} of section 7's dense block (c0 = 64, six layers, "
                   "BN included) with growth rate k")
def _e14_5(answer: Any) -> Verdict:
    got, why = _keyed(answer, [12, 48], "the answer", _int_key)
    if got is None:
        return False, why
    verdicts = []
    for k in (12, 48):
        full = ref.dense_block_params(k)

        def near(k=k, full=full):
            return {"count_params counts the BN layers too (4 numbers per channel)": full - 4 * sum(
                        64 + i * k + 4 * k for i in range(6)),
                    "that is the count for k = 32 printed in section 7": ref.dense_block_params(32)}
        verdicts.append((f"k={k}", _number_or_hint(got[k], full, f"the parameters for k = {k}", near)))
    return _all(verdicts)


@_register("14.6", "dict channels (the fewest inputs from which a bottleneck layer holds fewer convolution "
                   "weights, k = 32) and block2_layer (the first layer of DenseNet-121's second block to "
                   "read that many)")
def _e14_6(answer: Any) -> Verdict:
    got, why = _fields(answer, ("channels", "block2_layer"), "the answer")
    if got is None:
        return False, why
    r = ref.bottleneck_break_even()
    channels = _number(got["channels"], r["channels"], "channels", near={
        "one short: at that width the bottleneck is not yet cheaper; round up": r["channels"] - 1})
    given = _as_int(got["channels"], "channels")
    if not channels[0] and given is not None and r["channels"] < given <= r["channels"] + 4:
        channels = (False, "count the convolution weights only (the BN layers move it by a few channels)")
    layer = _number(got["block2_layer"], r["block2_layer"], "block2_layer")
    if not layer[0] and got["block2_layer"] is None:
        layer = (False, "a layer of the second block does reach it; give its number (1-based)")
    return _all([("channels", channels), ("block2_layer", layer)])


# ------------------------------------------------------------------------------------------------ 15
@_register("15.2", "dict everything and last_block: weights fine_tuner trains (BN frozen) when the whole "
                   "base is fine-tuned and when blocks 1-3 are frozen")
def _e15_2(answer: Any) -> Verdict:
    got, why = _fields(answer, ("everything", "last_block"), "the answer")
    if got is None:
        return False, why
    r = ref.course_net_trainable()
    verdicts = []
    for key in ("everything", "last_block"):
        near = {"the BN layers are frozen (freeze_bn=True): their scale and offset are not trained either":
                    r[key + "_bn"],
                "the new Dense head is trained too": r[key] - r["head"]}
        verdicts.append((key, _number(got[key], r[key], key, near=near)))
    return _all(verdicts)


# ------------------------------------------------------------------------------------------------ 16
@_register("16.1", "dict iou (11 values: IoU at shifts d = 0..10) and first_miss (the first shift at which "
                   "the pair no longer counts at IoU 0.5)")
def _e16_1(answer: Any) -> Verdict:
    got, why = _fields(answer, ("iou", "first_miss"), "the answer")
    if got is None:
        return False, why
    r = ref.shifted_box_ious()
    covered = 1 - np.arange(11) / 10
    iou = _array(got["iou"], r["iou"], "iou", atol=1e-4, near={
        "that is the share of one box the other covers; IoU divides the overlap by the union": covered})
    miss = _number(got["first_miss"], r["first_miss"], "first_miss", near={
        "that is where each box covers half of the other; the union grows with the shift, so the IoU "
        "falls below 0.5 sooner": 5,
        "at that shift the IoU is still 0.5 or more: the detection still counts": r["first_miss"] - 1})
    return _all([("iou", iou), ("first_miss", miss)])


@_register("16.3", "a function lost_objects(boxes, grid_size, image_size): objects that lose their cell "
                   "(objects minus occupied cells, image by image), summed over a list of (K, 4) box arrays")
def _e16_3(answer: Any) -> Verdict:
    if not callable(answer):
        return False, "give the function itself (not its result)"
    for what, boxes, grid, size, expected in ref.lost_object_cases():
        try:
            got = answer([b.copy() for b in boxes], grid, size)
        except Exception as err:  # noqa: BLE001 - a student's function may raise anything; report it
            return False, f"on {what}, the function raised {type(err).__name__}: {err}"
        n = _as_int(got, "lost")
        if n is None:
            return False, f"the function should return an int, got {type(got).__name__}"
        if n != expected:
            return False, f"wrong on {what}"
    return True, "one object per cell: in the scenes of notebook 16 that costs few objects at 8x8"


@_register("16.7", "the number of anchors (int) on VGG-16's block5_conv3 map of a 600x1000 image, "
                   "9 per position")
def _e16_7(answer: Any) -> Verdict:
    r = ref.faster_rcnn_anchors()
    if _as_int(answer, "anchors") is None:
        return False, "give the number of anchors as an int"
    return _number(answer, r["anchors"], "the number of anchors", near={
        "that is the number of positions; each holds 3 sizes x 3 ratios": r["positions"],
        "Keras's 2x2 max-pooling drops an odd last row or column (it rounds down)": r["ceil"],
        "block5_conv3 comes before the fifth pooling: its stride is 16, not 32": r["pool5"]})


# ------------------------------------------------------------------------------------------------ 17
@_register("17.1", "dict stride2 and stride1: the transposed convolution's output (arrays) for each stride")
def _e17_1(answer: Any) -> Verdict:
    got, why = _fields(answer, ("stride2", "stride1"), "the answer")
    if got is None:
        return False, why
    verdicts = []
    for key, stride in (("stride2", 2), ("stride1", 1)):
        expected = ref.transposed_by_hand(stride)
        ok, why = _array(got[key], expected, key, near={
            "the kernel is rotated by 180 degrees: a transposed convolution stamps the kernel as it is":
                ref.transposed_by_hand(stride, flip=True)})
        if not ok and np.shape(got[key]) != expected.shape and "shape" in why:
            why += " (a side of n inputs gives (n - 1) x stride + kernel outputs)"
        verdicts.append((key, (ok, why)))
    return _all(verdicts)


@_register("17.7", "dict k8_valid, k8_same (kernel 8, stride 4 on 8x8) and k3_valid, k3_same (kernel 3, "
                   "stride 2 on 16x16): output sides of Conv2DTranspose")
def _e17_7(answer: Any) -> Verdict:
    keys = ("k8_valid", "k8_same", "k3_valid", "k3_same")
    got, why = _fields(answer, keys, "the answer")
    if got is None:
        return False, why
    r = ref.transposed_output_sizes()
    n_s = {"k8": 8 * 4, "k3": 16 * 2}
    verdicts = []
    for key in keys:
        size = key[:2]
        near = ({"'valid' keeps the kernel's overhang past the last stamp: more than n x s": n_s[size]}
                if key.endswith("valid") else
                {"that is the 'valid' size; 'same' makes the output exactly n x s": r[f"{size}_valid"]})
        verdicts.append((key, _number(got[key], r[key], key, near=near)))
    return _all(verdicts)


@_register("17.8", "dict iou (per-class IoU of classes 0, 1, 2), mean_iou and mean_dice of exercise 8's maps")
def _e17_8(answer: Any) -> Verdict:
    got, why = _fields(answer, ("iou", "mean_iou", "mean_dice"), "the answer")
    if got is None:
        return False, why
    r = ref.segmentation_scores_by_hand()
    iou = _array(got["iou"], r["iou"], "iou", atol=1e-4, near={
        "these are the Dice scores; IoU is TP / (TP + FP + FN)": r["dice"]})
    mean_iou = _number(got["mean_iou"], r["mean_iou"], "mean_iou", rtol=1e-4, near={
        "that is the pixel accuracy": r["pixel_accuracy"],
        "mean IoU averages over all three classes, the background included": float(np.mean(r["iou"][1:]))})
    dice_of_mean = 2 * r["mean_iou"] / (1 + r["mean_iou"])
    mean_dice = _number(got["mean_dice"], r["mean_dice"], "mean_dice", rtol=1e-4, near={
        "that is the mean IoU; Dice is 2 TP / (2 TP + FP + FN)": r["mean_iou"],
        "that is the pixel accuracy": r["pixel_accuracy"],
        "convert class by class, then average: Dice of the mean IoU is not the mean Dice": dice_of_mean})
    return _all([("iou", iou), ("mean_iou", mean_iou), ("mean_dice", mean_dice)])


# ------------------------------------------------------------------------------------------------ 18
@_register("18.3", "list slot of 4 ints: lifted map r of the left-right mirrored image is the mirrored "
                   "lifted map slot[r] of the image (filter [[1, 2, 1], [0, 0, 0], [-1, -2, -1]])")
def _e18_3(answer: Any) -> Verdict:
    try:
        slot = [int(v) for v in answer]
    except (TypeError, ValueError):
        return False, "give a list of 4 ints (slot numbers 0 to 3)"
    if len(slot) != 4 or not all(0 <= s < 4 for s in slot):
        return False, "give 4 slot numbers, each from 0 to 3"
    expected = ref.mirror_slots()
    if slot == expected:
        return True, "a mirror turns a quarter turn one way into a quarter turn the other way"
    if slot == [0, 1, 2, 3]:
        return False, "the slots do move: compare map 1 of the mirrored image with the mirrored map 1"
    if slot in ([1, 2, 3, 0], [3, 0, 1, 2]):
        return False, "that is how a quarter turn rolls the slots; a mirror is not a rotation"
    wrong = sum(a != b for a, b in zip(slot, expected))
    return False, f"{wrong} of the 4 slots differ; check them numerically with np.allclose"


def _p4_pair(value: Any) -> tuple[int, tuple[int, int]] | None:
    try:
        r, t = value
        t = tuple(int(v) for v in t)
        return int(r) % 4, t if len(t) == 2 else None
    except (TypeError, ValueError):
        return None


@_register("18.8", "dict gh and g_inv: p4 elements (r, (tx, ty)) for g = (1, (2, 0)) and h = (1, (0, 3))")
def _e18_8(answer: Any) -> Verdict:
    got, why = _fields(answer, ("gh", "g_inv"), "the answer")
    if got is None:
        return False, why
    r = ref.p4_products()
    verdicts = []
    for key in ("gh", "g_inv"):
        pair = _p4_pair(got[key])
        if pair is None or pair[1] is None:
            verdicts.append((key, (False, "write an element as (r, (tx, ty)) with ints")))
            continue
        expected = r[key]
        if pair == expected:
            verdicts.append((key, (True, "")))
        elif key == "gh" and pair == r["hg"]:
            verdicts.append((key, (False, "that is h·g; g·h applies h first, then g")))
        elif pair[0] != expected[0]:
            verdicts.append((key, (False, "the rotation part is wrong: rotations compose by adding quarter "
                                          "turns (mod 4)")))
        else:
            verdicts.append((key, (False, "the rotation is right, the translation not: the second element's "
                                          "translation is turned by the first one's rotation")))
    return _all(verdicts)


@_register("18.9", "dict lift (P4ConvLift2D(16, 5) on RGB) and group (P4Conv2D(16, 5) on p4 maps of 12 "
                   "channels): parameters, biases included")
def _e18_9(answer: Any) -> Verdict:
    got, why = _fields(answer, ("lift", "group"), "the answer")
    if got is None:
        return False, why
    r = ref.p4_layer_params()
    w_lift, w_group = r["lift"] - 16, r["group"] - 16
    lift = _number(got["lift"], r["lift"], "lift", near={
        "the four rotated copies of a filter are the same weights, turned: store them once": 4 * w_lift + 16,
        "one bias per filter, shared by its four rotations": r["lift"] + 3 * 16})
    group = _number(got["group"], r["group"], "group", near={
        "a P4Conv2D filter also spans the 4 rotation slots of each input channel": w_group // 4 + 16,
        "the output rotations reuse the same weights, turned and rolled: store them once": 4 * w_group + 16,
        "one bias per filter, shared by its four rotations": r["group"] + 3 * 16})
    return _all([("lift", lift), ("group", group)])


# ------------------------------------------------------------------------------------------------ 19
@_register("19.1", "int: examples in each replica's batch (2 machines x 4 GPUs, one replica per GPU, "
                   "batch_size=1024 in fit)")
def _e19_1(answer: Any) -> Verdict:
    value = _as_int(answer, "the batch")
    if value is None:
        return False, "give a whole number of examples (an int)"
    r = ref.data_parallel_facts()
    return _number(value, r["per_replica"], "the per-replica batch", near={
        "fit's batch_size is the global batch: every step splits it across the replicas": r["global"],
        "that is one machine's share: each of its GPUs is a replica of its own": r["global"] // r["machines"],
        "divide by every replica of the cluster, not by the GPUs of one machine":
            r["global"] // r["gpus_per_machine"]})


@_register("19.2", "float: the learning rate the linear scaling rule gives for 8,192 images per batch "
                   "(0.1 for 256)")
def _e19_2(answer: Any) -> Verdict:
    r = ref.data_parallel_facts()
    k = r["big_batch"] / r["base_batch"]
    return _number(answer, r["scaled_lr"], "the learning rate", near={
        "that is square-root scaling; the linear rule multiplies the rate by k itself":
            r["base_lr"] * np.sqrt(k),
        "the rate grows with the batch: k times the batch, k times the rate": r["base_lr"] / k,
        "that is where the warm-up starts; the rule gives the rate it climbs to": r["base_lr"]})


@_register("19.3", "int: gradient all-reduces in one epoch of 1,281,167 images at a global batch of 8,192 "
                   "(the last, smaller batch kept)")
def _e19_3(answer: Any) -> Verdict:
    value = _as_int(answer, "the number of all-reduces")
    if value is None:
        return False, "give a whole number of steps (an int)"
    r = ref.data_parallel_facts()
    return _number(value, r["steps"], "the number of all-reduces", near={
        "the last, smaller batch is a step too: round up": r["steps"] - 1,
        "one all-reduce per step serves every GPU at once: do not count it per GPU": r["steps"] * r["gpus"],
        "count steps of the global batch, not of one GPU's share of it": r["replica_steps"]})
