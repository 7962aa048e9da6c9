"""Box operations: checks, areas, conversions, overlap (IoU) and non-maximum suppression.

Boxes are ``(x_min, y_min, x_max, y_max)`` in pixels, as :mod:`course_lib.scenes` makes them: a box covers
``[x_min, x_max) x [y_min, y_max)`` and its area is ``(x_max - x_min) * (y_max - y_min)`` (no ``+ 1``).
Arrays of boxes have shape ``(N, 4)``; an empty set is ``(0, 4)``. A box with ``x_max < x_min`` or
``y_max < y_min``, a NaN or an infinity, or an array of the wrong shape is a ``ValueError`` that says which
box. :func:`check_scores` and :func:`check_labels` check what comes with the boxes (one score, one class per
box); the other modules of :mod:`course_lib.detection` check their inputs with these.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_array, check_float, check_optional_positive_int

__all__ = ["check_boxes", "check_scores", "check_labels", "box_area", "box_centres", "box_corners", "iou",
           "nms"]


def check_boxes(boxes, name: str = "boxes") -> np.ndarray:
    """Return ``boxes`` as a float64 ``(N, 4)`` array after checking every box.

    Args:
        boxes: anything array-like of shape (N, 4) holding ``(x_min, y_min, x_max, y_max)``; an empty list or
            any array with no element counts as no boxes.
        name: the argument's name, for the messages.

    Returns:
        (N, 4) float64 array.

    Raises:
        TypeError: not numbers.
        ValueError: wrong shape, a NaN or infinite coordinate, or a box whose max is below its min.
    """
    arr = check_array(boxes, name)
    if arr.size == 0:
        return np.zeros((0, 4), np.float64)
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"{name} must have shape (N, 4) as (x_min, y_min, x_max, y_max), "
                         f"got shape {arr.shape}")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must hold finite coordinates, got {arr[i].tolist()} at row {i}")
    flipped = (arr[:, 2] < arr[:, 0]) | (arr[:, 3] < arr[:, 1])
    if flipped.any():
        i = int(np.flatnonzero(flipped)[0])
        raise ValueError(f"{name} must have x_max >= x_min and y_max >= y_min, "
                         f"got {arr[i].tolist()} at row {i}")
    return arr


def box_area(boxes) -> np.ndarray:
    """Areas of (N, 4) boxes, shape (N,)."""
    b = check_boxes(boxes)
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_centres(boxes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Centres and sizes of (N, 4) boxes: ``(cx, cy, w, h)``, four (N,) arrays (the inverse of
    :func:`box_corners`)."""
    b = check_boxes(boxes)
    return (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]


def box_corners(cx, cy, w, h) -> np.ndarray:
    """Boxes ``(x_min, y_min, x_max, y_max)``, shape ``(..., 4)``, from centres and sizes of one shape."""
    cx, cy, w, h = (np.asarray(v, np.float64) for v in (cx, cy, w, h))
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def iou(a, b) -> np.ndarray:
    """Intersection over union of every box in ``a`` with every box in ``b``.

    Args:
        a: (M, 4) boxes.
        b: (N, 4) boxes.

    Returns:
        (M, N) float64 matrix; entry (i, j) is area(a_i & b_j) / area(a_i | b_j). Two boxes of zero area that
        do not overlap have IoU 0 (not 0 / 0).

    Raises:
        ValueError: bad boxes (see :func:`check_boxes`).
    """
    a, b = check_boxes(a, "a"), check_boxes(b, "b")
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return out


def check_scores(scores, n: int, name: str = "scores") -> np.ndarray:
    s = check_array(scores, name).astype(np.float64).reshape(-1) if np.size(scores) else np.zeros(0)
    if s.shape != (n,):
        raise ValueError(f"{name} must have one score per box ({n}), got shape {np.shape(scores)}")
    if not np.isfinite(s).all():
        raise ValueError(f"{name} must be finite, got {s[~np.isfinite(s)][0]!r}")
    return s


def check_labels(labels, n: int, num_classes: int, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as (n,) int64 after checking there is one int in [0, num_classes) per box."""
    lab = check_array(labels, name).reshape(-1) if np.size(labels) else np.zeros(0, np.int64)
    if lab.shape != (n,):
        raise ValueError(f"{name} must have one label per box ({n}), got shape {np.shape(labels)}")
    if lab.size and (not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0 or lab.max() >= num_classes):
        raise ValueError(f"{name} must be ints in [0, {num_classes}), got {lab.tolist()}")
    return lab.astype(np.int64)



def nms(boxes, scores, iou_threshold: float = 0.5, max_outputs: int | None = None, *,
        score_threshold: float | None = None) -> np.ndarray:
    """Greedy non-maximum suppression: keep the best box, drop those overlapping it, repeat.

    Args:
        boxes: (N, 4) boxes.
        scores: (N,) scores; higher is better. Ties keep the earlier box first.
        iou_threshold: a box is dropped when its IoU with a kept box is above this (in [0, 1]).
        max_outputs: keep at most this many boxes (None: no limit).
        score_threshold: boxes scoring at or below it are dropped first (None: none are).

    Returns:
        (K,) int64 indices into ``boxes`` of the kept boxes, best score first.

    Raises:
        ValueError: bad boxes, scores of the wrong length, a threshold out of range.
    """
    boxes = check_boxes(boxes)
    scores = check_scores(scores, len(boxes))
    iou_threshold = check_float(iou_threshold, "iou_threshold", minimum=0.0, maximum=1.0)
    max_outputs = check_optional_positive_int(max_outputs, "max_outputs")
    order = np.argsort(-scores, kind="stable")
    if score_threshold is not None:
        score_threshold = check_float(score_threshold, "score_threshold")
        order = order[scores[order] > score_threshold]
    overlaps = iou(boxes, boxes)
    keep: list[int] = []
    suppressed = np.zeros(len(boxes), bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        if max_outputs is not None and len(keep) == max_outputs:
            break
        suppressed |= overlaps[i] > iou_threshold
    return np.asarray(keep, np.int64)
