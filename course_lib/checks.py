"""Checkers for exercises and graded assignments: numbers, gradients and Keras architectures.

Every checker raises ``AssertionError`` with a message a student can act on (what was expected, what was
received, and where), so a failing test cell in a notebook or in nbgrader's feedback explains itself. The
architecture checkers list *every* difference at once rather than stopping at the first.

Keras 3 removed ``layer.output_shape``; layers are compared through ``layer.output.shape``,
``count_params()`` and the handful of ``get_config()`` keys that define a layer's arithmetic. This module
never imports TensorFlow or Keras itself: it only reads attributes of the models it is given.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .numpy_cnn.gradcheck import elementwise_rel_error, numeric_gradient, rel_error
from .validation import check_float

__all__ = [
    "rel_error", "assert_close", "check_gradient",
    "CONFIG_KEYS", "architecture_rows", "compare_models", "assert_same_architecture",
]

# The get_config() keys that change what a layer computes or its output shape; names, initialisers,
# regularisers and dtypes are deliberately left out (they differ between equivalent builds).
CONFIG_KEYS = ("filters", "kernel_size", "strides", "padding", "pool_size", "units", "activation")


def _worst(err: np.ndarray) -> tuple[int, ...]:
    # NaN compares false everywhere, so look for it first: a NaN is always the worst entry.
    nan = np.argwhere(np.isnan(err))
    if len(nan):
        return tuple(int(i) for i in nan[0])
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(err)), err.shape))


def assert_close(got: Any, expected: Any, *, name: str = "value", tol: float = 1e-6) -> float:
    """Assert that two arrays agree to a relative error ``tol``, naming the worst entry when they do not.

    Args:
        got: the computed array (any shape) or scalar.
        expected: the reference, same shape as ``got``.
        name: what is compared, used in the message (e.g. ``"conv output"``).
        tol: largest allowed elementwise relative error ``|g - e| / max(1e-8, |g| + |e|)``.

    Returns:
        The largest relative error (a float), so a notebook can print it.

    Raises:
        AssertionError: the shapes differ, an entry is NaN or infinite, or the error exceeds ``tol``.
        ValueError: ``tol`` is not positive (or is NaN).
        TypeError: ``tol`` is not a number, or ``got`` or ``expected`` cannot be turned into a numeric array.
    """
    tol = check_float(tol, "tol", minimum=0.0, include_minimum=False)
    try:
        g = np.asarray(got, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: got and expected must be numeric arrays, got {type(got).__name__} "
                        f"and {type(expected).__name__} ({exc})") from None
    if g.shape != e.shape:
        raise AssertionError(f"{name}: expected shape {e.shape}, got shape {g.shape}")
    if g.size == 0:
        return 0.0
    if not np.all(np.isfinite(g)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(g))[0])
        raise AssertionError(f"{name}: entry {idx} is {g[idx]} (expected {e[idx]:.6g})")
    err = elementwise_rel_error(g, e)
    idx = _worst(err)
    worst = float(err[idx])
    if worst > tol:
        n_bad = int(np.sum(err > tol))
        raise AssertionError(
            f"{name}: max relative error {worst:.3g} > tol {tol:g} at index {idx}: got {g[idx]:.6g}, "
            f"expected {e[idx]:.6g} ({n_bad} of {err.size} entries over tol)")
    return worst


# An entry of a centred difference (f(x+h) - f(x-h)) / 2h carries round-off of about eps * |f| / h in
# absolute terms, whatever the entry's size; a gradient entry of 1e-4 beside a loss of 5 is then only good to
# about 1e-6 relative. Differences below ROUNDOFF_FACTOR times that are the check's own noise, not a wrong
# gradient (the factor leaves room for the sums inside f; a real mistake is off by a part of the gradient).
ROUNDOFF_FACTOR = 1000.0


def check_gradient(f: Callable[[np.ndarray], Any], x: np.ndarray, analytic: Any, *, h: float = 1e-5,
                   tol: float = 1e-6) -> float:
    """Compare an analytic gradient with a centred finite-difference gradient of a scalar function.

    An entry fails when its relative error exceeds ``tol`` *and* its absolute error exceeds the finite
    differences' own round-off, ``ROUNDOFF_FACTOR * eps * max(1, |f(x)|) / h``: near-zero entries are
    compared to the precision the numeric gradient actually has there.

    Args:
        f: function of ``x`` returning a scalar; wrap an array-valued function g as
            ``lambda x: np.sum(g(x) * dout)``.
        x: float64 array of any shape at which the gradient is taken; perturbed in place, restored on return.
        analytic: the gradient to check, the shape of ``x``.
        h: finite-difference step, a positive float.
        tol: largest allowed elementwise relative error.

    Returns:
        The largest elementwise relative error ``|a - n| / max(|a| + |n|, roundoff / tol)``: an entry within
        round-off scores at most ``tol``.

    Raises:
        AssertionError: the error exceeds ``tol``; the message gives the error, the index, and both values.
        TypeError: ``x`` is not a float64 NumPy array (float32 differences are too coarse for a check), or
            ``h``/``tol`` is not a number.
        ValueError: ``analytic`` is not shaped like ``x``, or ``h``/``tol`` is not positive.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        got = type(x).__name__ if not isinstance(x, np.ndarray) else f"ndarray of dtype {x.dtype}"
        raise TypeError(f"x must be a float64 NumPy array, got {got}")
    tol = check_float(tol, "tol", minimum=0.0, include_minimum=False)
    a = np.asarray(analytic, dtype=np.float64)
    if a.shape != x.shape:
        raise ValueError(f"analytic must have the shape of x {x.shape}, got {a.shape}")
    numeric = numeric_gradient(f, x, h=h)
    roundoff = ROUNDOFF_FACTOR * np.finfo(np.float64).eps * max(1.0, abs(float(f(x)))) / h
    # relative error with the denominator floored so that err > tol exactly when |a - n| > tol (|a| + |n|)
    # and |a - n| > roundoff
    err = np.abs(a - numeric) / np.maximum(np.abs(a) + np.abs(numeric), max(roundoff / tol, 1e-8))
    idx = _worst(err)
    worst = float(err[idx]) if err.size else 0.0
    if not worst <= tol:  # also catches NaN
        raise AssertionError(
            f"gradient check failed: max relative error {worst:.3g} > tol {tol:g} at index {idx}: "
            f"analytic {a[idx]:.6g}, numeric {numeric[idx]:.6g}")
    return worst


# --------------------------------------------------------------------------------------------- architectures

def _normalise(key: str, value: Any) -> Any:
    """Make config values comparable: tuples not lists, ``2`` == ``(2, 2)``, activations by name."""
    if key == "activation":
        if isinstance(value, Mapping):  # a serialised activation object
            value = value.get("config", {}).get("name", value.get("class_name"))
        if callable(value):
            value = getattr(value, "__name__", str(value))
        return str(value)
    if isinstance(value, list):
        value = tuple(value)
    if key in ("kernel_size", "strides", "pool_size") and isinstance(value, int):
        value = (value, value)
    return value


def _output_shape(layer: Any) -> tuple:
    try:
        out = layer.output
    except (AttributeError, ValueError) as exc:
        raise ValueError(f"layer {layer.name!r} has no output yet: build the model from keras.Input "
                         f"before comparing it ({exc})") from None
    if isinstance(out, (list, tuple)):
        return tuple(tuple(o.shape) for o in out)
    return tuple(out.shape)


def architecture_rows(model: Any) -> list[dict[str, Any]]:
    """Describe a built Keras model layer by layer, in the form the comparisons use.

    Args:
        model: a built ``keras.Model`` (Sequential or functional). Input layers are skipped, so a Sequential
            model and its functional twin give the same rows.

    Returns:
        A list of dicts with keys ``index`` (position in ``model.layers``), ``name``, ``class``,
        ``output_shape`` (tuple with ``None`` for the batch), ``params`` (``count_params()``), plus
        whichever of ``CONFIG_KEYS`` the layer's ``get_config()`` has (after normalising: ``2`` becomes
        ``(2, 2)``; pooling strides of ``None`` become the pool size).

    Raises:
        TypeError: ``model`` has no ``layers``.
        ValueError: a layer has no output (the model was never built on an input).
    """
    if not hasattr(model, "layers"):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}")
    rows = []
    for index, layer in enumerate(model.layers):
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        row: dict[str, Any] = {"index": index, "name": layer.name, "class": cls,
                               "output_shape": _output_shape(layer), "params": int(layer.count_params())}
        config = layer.get_config()
        for key in CONFIG_KEYS:
            if key in config:
                row[key] = _normalise(key, config[key])
        if "pool_size" in row and row.get("strides") is None and "strides" in config:
            row["strides"] = row["pool_size"]
        rows.append(row)
    return rows


def _expected_row(row: Any, position: int) -> dict[str, Any]:
    if isinstance(row, Mapping):
        out = dict(row)
    elif isinstance(row, Sequence) and not isinstance(row, str) and len(row) == 3:
        out = {"class": row[0], "output_shape": row[1], "params": row[2]}
    else:
        raise ValueError(f"expected row {position} must be a dict or a (class, output_shape, params) tuple, "
                         f"got {row!r}")
    if "class" not in out:
        raise ValueError(f"expected row {position} has no 'class' key: {row!r}")
    if out.get("output_shape") is not None:
        out["output_shape"] = tuple(out["output_shape"])
    for key in CONFIG_KEYS:
        if key in out:
            out[key] = _normalise(key, out[key])
    return out


def _label(row: Mapping[str, Any]) -> str:
    return f"layer {row['index']} ({row['name']})"


def _compare_rows(got: Mapping[str, Any], exp: Mapping[str, Any]) -> list[str]:
    diffs = []
    where = _label(got)
    if got["class"] != exp["class"]:
        diffs.append(f"{where}: expected a {exp['class']} layer, got {got['class']}")
    if exp.get("output_shape") is not None:
        want, have = exp["output_shape"], got["output_shape"]
        if len(want) == len(have) - 1:  # the expected shape was written without the batch axis
            have = have[1:]
        if tuple(want) != tuple(have):
            diffs.append(f"{where}: expected output shape {tuple(want)}, got {tuple(have)}")
    if exp.get("params") is not None and int(exp["params"]) != got["params"]:
        diffs.append(f"{where}: expected {int(exp['params']):,} parameters, got {got['params']:,}")
    for key in CONFIG_KEYS:
        if key in exp and exp[key] is not None and key in got and got[key] != exp[key]:
            diffs.append(f"{where}: expected {key} {exp[key]!r}, got {got[key]!r}")
        elif key in exp and exp[key] is not None and key not in got and got["class"] == exp["class"]:
            diffs.append(f"{where}: expected {key} {exp[key]!r}, but the layer has no {key}")
    return diffs


def _describe_expected(exp: Mapping[str, Any]) -> str:
    extras = ", ".join(f"{k} {exp[k]!r}" for k in CONFIG_KEYS if exp.get(k) is not None)
    shape = f" with output shape {tuple(exp['output_shape'])}" if exp.get("output_shape") is not None else ""
    return f"a {exp['class']} layer{shape}" + (f" ({extras})" if extras else "")


def _diff_rows(got_rows: list[dict[str, Any]], expected_rows: list[dict[str, Any]]) -> list[str]:
    diffs: list[str] = []
    if len(got_rows) != len(expected_rows):
        diffs.append(f"expected {len(expected_rows)} layers (not counting the input), got {len(got_rows)}")
    # Align by layer class first, so that one missing or extra layer is reported once instead of making every
    # later layer look wrong.
    matcher = difflib.SequenceMatcher(a=[r["class"] for r in got_rows], b=[r["class"] for r in expected_rows],
                                      autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            for got, exp in zip(got_rows[i1:i2], expected_rows[j1:j2]):
                diffs.extend(_compare_rows(got, exp))
            continue
        for got in got_rows[i1:i2]:
            diffs.append(f"{_label(got)}: unexpected {got['class']} layer (not in the expected architecture)")
        for j, exp in enumerate(expected_rows[j1:j2], start=j1):
            after = f"after {_label(got_rows[i1 - 1])}" if i1 > 0 else "at the start"
            diffs.append(f"missing layer {after}: expected {_describe_expected(exp)} (expected row {j})")
    return diffs


def compare_models(student: Any, reference: Any) -> list[str]:
    """List every architectural difference between two built Keras models, layer by layer.

    Compares, for each non-input layer: class, ``layer.output.shape``, ``count_params()`` and the config
    keys in ``CONFIG_KEYS``; then the total parameter count. Layers are aligned by class, so a missing or
    extra layer is reported as such.

    Args:
        student: the model under test.
        reference: the model it should match.

    Returns:
        A list of messages such as ``"layer 3 (conv2d_1): expected padding 'same', got 'valid'"``; empty
        when the architectures agree.

    Raises:
        TypeError / ValueError: as for ``architecture_rows``.
    """
    got_rows = architecture_rows(student)
    ref_rows = architecture_rows(reference)
    diffs = _diff_rows(got_rows, ref_rows)
    got_total, ref_total = int(student.count_params()), int(reference.count_params())
    if got_total != ref_total:
        diffs.append(f"total: expected {ref_total:,} parameters, got {got_total:,}")
    return diffs


def assert_same_architecture(student: Any, expected_rows: Any) -> None:
    """Assert that a model matches an expected architecture, listing every difference in the message.

    Args:
        student: a built Keras model.
        expected_rows: either a reference Keras model, or a list with one entry per non-input layer: a
            ``(class_name, output_shape, params)`` tuple, or a dict with key ``"class"`` and any of
            ``"output_shape"``, ``"params"`` and ``CONFIG_KEYS`` (keys left out are not checked). Output
            shapes include the batch axis as ``None``; a shape one entry shorter is read as written without
            it.

    Raises:
        AssertionError: the architectures differ; one line per difference.
        TypeError / ValueError: a malformed ``expected_rows`` or an unbuilt model.
    """
    if hasattr(expected_rows, "layers"):
        diffs = compare_models(student, expected_rows)
    else:
        if isinstance(expected_rows, (str, bytes)) or not isinstance(expected_rows, Iterable):
            raise TypeError(f"expected_rows must be a Keras model or a list of rows, got "
                            f"{type(expected_rows).__name__}")
        rows = [_expected_row(r, i) for i, r in enumerate(expected_rows)]
        diffs = _diff_rows(architecture_rows(student), rows)
    if diffs:
        raise AssertionError(f"{len(diffs)} difference(s) from the expected architecture:\n  "
                             + "\n  ".join(diffs))


def exercise(key: str, answer: Any, *, quiet: bool = False) -> bool:
    """Check an answer to a notebook exercise ("03.2" = notebook 03, exercise 2): right or wrong, and why.

    The same as :func:`course_lib.exercises.check` (see there for the answer forms and errors).
    """
    from .exercises import check

    return check(key, answer, quiet=quiet)
