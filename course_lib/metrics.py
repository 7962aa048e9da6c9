"""Counting metrics shared by the course's modules: the confusion matrix, computed in one place.

:func:`confusion_matrix` counts, for every pair of classes (i, j), the samples (or pixels) of true class i
predicted as class j. A classifier's matrix (:func:`course_lib.plotting.confusion_matrix`, drawn by
``plot_confusion_matrix``) and the scores of a segmentation (:mod:`course_lib.segmentation`: IoU, Dice and
pixel accuracy) are both read from it. NumPy only: importing this module loads neither Matplotlib nor Keras.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .validation import check_array, check_positive_int

__all__ = ["confusion_matrix"]


def _check_labels(a: np.ndarray, name: str, num_classes: int | None) -> None:
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.bool_)):
        raise TypeError(f"{name} must hold integer class labels, got dtype {a.dtype}")
    if a.size and (a.min() < 0 or (num_classes is not None and a.max() >= num_classes)):
        bound = f"[0, {num_classes})" if num_classes is not None else "[0, num_classes)"
        raise ValueError(f"{name} must hold labels in {bound}, got values from {a.min()} to {a.max()}")


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Counts: entry (i, j) is the number of samples (or pixels) of true class i predicted as class j.

    Args:
        y_true: integer class labels of any shape: (N,) for a classifier, (N, H, W) or (H, W) for class maps.
        y_pred: integer labels of ``y_true``'s shape, or scores with one more last axis of size C (the
            ``argmax`` over it is taken).
        num_classes: C >= 1; default the size of the scores' class axis, else the largest label + 1.

    Returns:
        (C, C) int64 counts: rows are the true class, columns the predicted class.

    Raises:
        TypeError: labels that are not integers (or booleans).
        ValueError: shapes that differ, labels outside [0, C).
    """
    t = check_array(y_true, "y_true")
    p = check_array(y_pred, "y_pred")
    c = None if num_classes is None else check_positive_int(num_classes, "num_classes")
    if p.ndim == t.ndim + 1 and p.shape[:-1] == t.shape and (c is None or p.shape[-1] == c):
        c = p.shape[-1] if c is None else c
        p = p.argmax(-1)
    if t.shape != p.shape:
        axis = f" of {c}" if c is not None else ""
        raise ValueError(f"y_pred must have y_true's shape {t.shape} (or that shape plus a class "
                         f"axis{axis}), got {np.shape(y_pred)}")
    _check_labels(t, "y_true", c)
    _check_labels(p, "y_pred", c)
    t, p = t.astype(np.int64).reshape(-1), p.astype(np.int64).reshape(-1)
    if c is None:
        c = int(max(t.max(initial=-1), p.max(initial=-1)) + 1)
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c).astype(np.int64)
