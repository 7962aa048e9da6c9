"""Finite-difference gradients and the relative error used to compare them with backward passes.

A backward pass is trusted only once it matches a numeric gradient: nudge one input by ``+h`` and ``-h``,
difference the function's values, divide by ``2h``. The centred difference is accurate to ``O(h^2)``; in
float64 with ``h = 1e-5`` a correct analytic gradient typically agrees to a relative error of 1e-8 or better.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..validation import check_array, check_float


def _check_x(x: Any) -> np.ndarray:
    # A float array only: x is perturbed in place, and an integer array would silently round x + h to x.
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        got = f"ndarray of dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"x must be a float NumPy array (it is perturbed in place), got {got}")
    return x


def numeric_gradient(f: Callable[[np.ndarray], Any], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of a scalar function: ``(f(x + h e_i) - f(x - h e_i)) / 2h`` for each i.

    Args:
        f: a function of x returning a scalar (it may read x from a closure; x is perturbed in place).
        x: float array of any shape, restored exactly on return; use float64 for checks.
        h: step, a positive float.

    Returns:
        The gradient, shaped like x.

    Raises:
        TypeError: x not a float NumPy array, or h not a number.
        ValueError: h not positive, or f not scalar-valued.
    """
    x = _check_x(x)
    h = check_float(h, "h", minimum=0.0, include_minimum=False)
    grad = np.zeros_like(x)
    for i, plus, minus in _centred_differences(f, x, h):
        if plus.size != 1:
            raise ValueError(f"f must return a scalar, got an array of shape {plus.shape}; "
                             "use numeric_gradient_array for array-valued functions")
        grad[i] = (plus.item() - minus.item()) / (2 * h)
    return grad


def numeric_gradient_array(f: Callable[[np.ndarray], Any], x: np.ndarray, dout: Any,
                           h: float = 1e-5) -> np.ndarray:
    """Numeric gradient of ``sum(f(x) * dout)`` for an array-valued f: what a backward pass returns for dout.

    Args:
        f: a function of x returning an array shaped like dout.
        x: float array, perturbed in place and restored.
        dout: upstream gradient, the shape of f(x).
        h: step, a positive float.

    Returns:
        The vector-Jacobian product ``J^T dout``, shaped like x.

    Raises:
        TypeError: x not a float NumPy array, or h not a number.
        ValueError: h not positive, or f(x) not shaped like dout.
    """
    x = _check_x(x)
    h = check_float(h, "h", minimum=0.0, include_minimum=False)
    dout = check_array(dout, "dout")
    grad = np.zeros_like(x)
    for i, plus, minus in _centred_differences(f, x, h):
        if plus.shape != dout.shape:
            raise ValueError(f"f(x) has shape {plus.shape} but dout has shape {dout.shape}")
        grad[i] = np.sum((plus - minus) * dout) / (2 * h)
    return grad


def _centred_differences(f: Callable[[np.ndarray], Any], x: np.ndarray, h: float):
    """Yield ``(i, f(x + h e_i), f(x - h e_i))`` for every entry i of x, restoring x before each yield."""
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        plus = np.array(f(x), copy=True)  # f may return a view of a buffer it reuses
        x[i] = old - h
        minus = np.array(f(x), copy=True)
        x[i] = old
        yield i, plus, minus


def rel_error(a: Any, b: Any) -> float:
    """Largest elementwise relative error, ``max |a - b| / max(1e-8, |a| + |b|)``.

    Args:
        a, b: arrays of the same shape (or scalars).

    Returns:
        A float; about 1e-7 or less means agreement in float64, anything above 1e-3 a bug.

    Raises:
        ValueError: the shapes differ.
    """
    err = elementwise_rel_error(a, b)
    return float(np.max(err)) if err.size else 0.0


def elementwise_rel_error(a: Any, b: Any) -> np.ndarray:
    """``|a - b| / max(1e-8, |a| + |b|)`` entry by entry (what ``rel_error`` takes the maximum of).

    Args:
        a, b: arrays of the same shape (or scalars).

    Returns:
        A float64 array of that shape, so that the worst entry can be located.

    Raises:
        ValueError: the shapes differ.
    """
    a, b = check_array(a, "a").astype(np.float64), check_array(b, "b").astype(np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    return np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))


def normwise_error(got: Any, ref: Any) -> float:
    """``max |got - ref| / max |ref|``: the error measure for float32 results, whose entries near zero make
    elementwise relative errors meaningless.

    Args:
        got, ref: arrays of the same shape; ref not all zero.
    """
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    if got.shape != ref.shape:
        raise ValueError(f"got and ref must have the same shape, got {got.shape} and {ref.shape}")
    return float(np.max(np.abs(got - ref)) / np.max(np.abs(ref)))
