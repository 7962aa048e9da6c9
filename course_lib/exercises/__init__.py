"""Checks for the notebooks' exercises: right or wrong, and why, without giving the answer away.

Every exercise with a computable answer has an entry keyed ``"NN.k"`` (notebook number, exercise number):
``check("03.2", [1, 2, 3])`` prints ``03.2: right`` or ``03.2: not yet: ...`` with a hint about the kind
of mistake (channels first, off by the padding, a missing bias, ...) and returns True or False. Reference
answers are computed when first needed from an independent source (TensorFlow ops, Keras layers and their
``count_params``, SciPy, or the arithmetic written out in :mod:`~course_lib.exercises.references`), never from
the course module the exercise practises, and they are never printed.

``cl.checks.exercise(key, answer)`` is the same function. :func:`available` lists the keys; open-ended
exercises (train and compare, explain) have no entry: their worked answers are in ``notebooks/solutions/``.
"""

from __future__ import annotations

from typing import Any

from ..validation import check_bool, check_str
from .registry import EXERCISES, Exercise

__all__ = ["check", "available", "describe", "Exercise", "EXERCISES"]


def _entry(key: Any) -> Exercise:
    key = check_str(key, "key").strip()
    if key not in EXERCISES:
        raise ValueError(f"key must be one of the checked exercises ({', '.join(available())}), got {key!r}")
    return EXERCISES[key]


def available() -> list[str]:
    """Keys of the exercises that have a check, in notebook order ("01.1", "01.2", ...)."""
    return sorted(EXERCISES, key=lambda k: tuple(int(p) for p in k.split(".")))


def describe(key: str) -> str:
    """What the check of exercise ``key`` expects as the answer (its form, never its value).

    Raises:
        TypeError: key not a str.
        ValueError: no check for that key.
    """
    return _entry(key).expects


def check(key: str, answer: Any, *, quiet: bool = False) -> bool:
    """Check a student's answer to exercise ``key`` and say right or wrong, and why.

    Args:
        key: "NN.k": notebook number and exercise number, as in the notebook's Exercises list.
        answer: the answer, in the form :func:`describe` gives (a number, an array, a dict, a function...).
        quiet: do not print; only return.

    Returns:
        True when the answer is right.

    Raises:
        TypeError: key not a str, quiet not a bool.
        ValueError: no check for that key.
    """
    entry = _entry(key)
    quiet = check_bool(quiet, "quiet")
    ok, why = entry.judge(answer)
    if not quiet:
        print(f"{entry.key}: right" + (f" ({why})" if why else "") if ok else f"{entry.key}: not yet: {why}")
    return ok
