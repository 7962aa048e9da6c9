"""Argument checks shared by the whole kit: one mistake, one error, one message everywhere.

The rule the whole kit follows:

- a value of the wrong *type* raises ``TypeError``;
- a value of the right type but outside what is allowed raises ``ValueError``;
- the message names the argument, says what was expected and shows what was received:
  ``stride must be a positive int, got 0`` / ``stride must be a positive int, got float 1.5``.

Only the standard library is imported at module level, so ``shapes`` and ``numpy_cnn`` can use these checks
without pulling in TensorFlow; the array checks import NumPy when they are called. NumPy's integer and float
scalars count as ints and floats (they register with :mod:`numbers`); ``bool`` never counts as a number,
because ``stride=True`` is always a mistake.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "describe",
    "type_error",
    "value_error",
    "check_int",
    "check_positive_int",
    "check_optional_positive_int",
    "check_float",
    "check_probability",
    "check_bool",
    "check_str",
    "check_choice",
    "check_int_tuple",
    "check_array",
]


def describe(value: Any) -> str:
    """How a received value is shown in messages: its type name and its repr (``float 1.5``)."""
    # NumPy 2 writes its scalars as np.float64(3.0); the type name already says float64, so show 3.0.
    text = repr(value.item() if _is_numpy_scalar(value) else value)
    if len(text) > 80:  # an array or a long list: the type and the start are enough to recognise it
        text = text[:77] + "..."
    return f"{type(value).__name__} {text}"


def type_error(name: str, expected: str, value: Any) -> TypeError:
    """The kit's TypeError: ``"<name> must be <expected>, got <type> <value>"``."""
    return TypeError(f"{name} must be {expected}, got {describe(value)}")


def value_error(name: str, expected: str, value: Any) -> ValueError:
    """The kit's ValueError: ``"<name> must be <expected>, got <value>"``."""
    return ValueError(f"{name} must be {expected}, got {value!r}")


def _is_numpy_scalar(value: Any) -> bool:
    # Duck-typed so that this module never imports NumPy: NumPy's scalar types live in the numpy module.
    return type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0 and hasattr(value, "item")


def _is_int(value: Any) -> bool:
    # NumPy's integers register as Integral; its bool_ does not, so it is refused like bool.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _int_kind(minimum: int | None, maximum: int | None) -> str:
    if maximum is None:
        named = {None: "an int", 0: "a non-negative int", 1: "a positive int"}
        return named.get(minimum, f"an int >= {minimum}")
    if minimum is None:
        return f"an int <= {maximum}"
    return f"an int in [{minimum}, {maximum}]"


def check_int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as a Python int.

    Args:
        value: the argument received.
        name: the argument's name, as the caller wrote it (``"stride"``, ``"kernel[1]"``).
        minimum, maximum: inclusive bounds, or None for no bound.

    Raises:
        TypeError: not an int (bools and floats such as 2.0 are refused).
        ValueError: outside the bounds.
    """
    kind = _int_kind(minimum, maximum)
    if not _is_int(value):
        raise type_error(name, kind, value)
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise value_error(name, kind, value)
    return value


def check_positive_int(value: Any, name: str) -> int:
    """Return ``value`` as an int >= 1 (TypeError for a non-int, ValueError for 0 or less)."""
    return check_int(value, name, minimum=1)


def check_optional_positive_int(value: Any, name: str) -> int | None:
    """Like :func:`check_positive_int`, but None passes through (``limit=None`` means no limit)."""
    if value is None:
        return None
    if not _is_int(value):
        raise type_error(name, "a positive int or None", value)
    if value < 1:
        raise value_error(name, "a positive int or None", int(value))
    return int(value)


def check_float(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    include_minimum: bool = True,
    include_maximum: bool = True,
) -> float:
    """Return a real number as a Python float; ints are accepted, NaN never is.

    Args:
        value: the argument received.
        name: the argument's name.
        minimum, maximum: bounds, or None for no bound.
        include_minimum, include_maximum: whether each bound itself is allowed.

    Raises:
        TypeError: not a real number (bools and strings are refused).
        ValueError: NaN, or outside the bounds.
    """
    lo = "" if minimum is None else ("[" if include_minimum else "(") + f"{minimum:g}"
    hi = "" if maximum is None else f"{maximum:g}" + ("]" if include_maximum else ")")
    if lo and hi:
        kind = f"a float in {lo}, {hi}"
    elif lo:
        kind = f"a float {'>=' if include_minimum else '>'} {minimum:g}"
    elif hi:
        kind = f"a float {'<=' if include_maximum else '<'} {maximum:g}"
    else:
        kind = "a float"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise type_error(name, kind, value)
    value = float(value)
    too_low = minimum is not None and (value < minimum or (value == minimum and not include_minimum))
    too_high = maximum is not None and (value > maximum or (value == maximum and not include_maximum))
    if math.isnan(value) or too_low or too_high:
        raise value_error(name, kind, value)
    return value


def check_probability(value: Any, name: str, *, include_one: bool = False) -> float:
    """A rate in ``[0, 1)`` (dropout, a fraction held out), or ``[0, 1]`` with ``include_one=True``."""
    return check_float(value, name, minimum=0.0, maximum=1.0, include_maximum=include_one)


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` if it is a bool (NumPy's bool included); ``1`` or ``"yes"`` are TypeErrors."""
    # NumPy's bool scalar is named bool_ before NumPy 2 and bool since; both are 0-d numpy scalars.
    if isinstance(value, bool) or (_is_numpy_scalar(value) and type(value).__name__ in ("bool_", "bool")):
        return bool(value)
    raise type_error(name, "a bool", value)


def check_str(value: Any, name: str) -> str:
    """Return ``value`` if it is a str, else raise TypeError."""
    if not isinstance(value, str):
        raise type_error(name, "a str", value)
    return value


def check_choice(value: Any, name: str, choices: Iterable[Any], *, ignore_case: bool = False) -> Any:
    """Return ``value`` if it is one of ``choices`` (lower-cased first when ``ignore_case``).

    Raises:
        TypeError: the choices are strings and ``value`` is not one.
        ValueError: not one of the choices (the message lists them).
    """
    choices = tuple(choices)
    expected = "one of " + ", ".join(repr(c) for c in choices)
    received = value  # the message shows what the caller wrote, not its lower-cased form
    if choices and all(isinstance(c, str) for c in choices):
        if not isinstance(value, str):
            raise type_error(name, expected, value)
        if ignore_case:
            value = value.lower()
    try:
        known = value in choices
    except TypeError:  # an unhashable or incomparable value
        known = False
    if not known:
        raise value_error(name, expected, received)
    return value


def check_int_tuple(value: Any, name: str, length: int, *, minimum: int | None = None) -> tuple[int, ...]:
    """An int broadcast to ``length`` entries, or a tuple/list of exactly ``length`` ints.

    ``check_int_tuple(3, "kernel", 2) == (3, 3)``; ``check_int_tuple((3, 5), "kernel", 2) == (3, 5)``.
    Each entry is checked with :func:`check_int` under the name ``name[i]``.

    Raises:
        TypeError: neither an int nor a tuple/list, or an entry that is not an int.
        ValueError: the wrong number of entries, or an entry below ``minimum``.
    """
    if isinstance(value, (tuple, list)):
        if len(value) != length:
            raise value_error(name, f"an int or {length} ints (one per spatial dimension)", tuple(value))
        return tuple(check_int(v, f"{name}[{i}]", minimum=minimum) for i, v in enumerate(value))
    if not _is_int(value):
        raise type_error(name, f"{_int_kind(minimum, None)} or a tuple of {length}", value)
    return (check_int(value, name, minimum=minimum),) * length


def check_array(
    value: Any,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    layout: str = "",
    numeric: bool = True,
) -> Any:
    """Return ``value`` as a NumPy array with the expected number of dimensions.

    Args:
        value: anything ``np.asarray`` accepts.
        name: the argument's name.
        ndim: the allowed number of dimensions (an int or several), or None for any.
        layout: how the axes are read, shown in the message (``"(N, H, W, C)"``).
        numeric: refuse arrays of strings or objects.

    Raises:
        TypeError: not array-like (ragged lists), or not numbers when ``numeric``.
        ValueError: the wrong number of dimensions.
    """
    import numpy as np

    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise type_error(name, "an array", value) from exc
    if numeric and not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must hold numbers, got an array of dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            dims = " or ".join(f"{d}-D" for d in allowed)
            shown = f" {layout}" if layout else ""
            raise ValueError(f"{name} must be a {dims} array{shown}, got shape {arr.shape} ({arr.ndim}-D)")
    return arr
