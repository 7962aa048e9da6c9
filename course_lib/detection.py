"""Object detection from the ground up: box overlap, non-maximum suppression, targets and average precision.

Boxes are ``(x_min, y_min, x_max, y_max)`` in pixels, as :mod:`course_lib.scenes` makes them: a box covers
``[x_min, x_max) x [y_min, y_max)`` and its area is ``(x_max - x_min) * (y_max - y_min)`` (no ``+ 1``).
Arrays of boxes have shape ``(N, 4)``; an empty set is ``(0, 4)``. A box with ``x_max < x_min`` or
``y_max < y_min``, a NaN or an infinity, or an array of the wrong shape is a ``ValueError`` that says which
box.

Contents:
    iou, box_area, check_boxes      overlap of every box of one set with every box of another
    nms                             greedy non-maximum suppression (as ``tf.image.non_max_suppression``)
    encode_grid, decode_grid        YOLO v1's targets: an S x S grid, one object per cell
    make_anchors, encode_anchors, decode_anchors
                                    anchor boxes and the offsets of Faster R-CNN / SSD
    precision_recall, voc_ap, average_precision, mean_average_precision
                                    PASCAL VOC's average precision (all-point interpolation) and its mean over
                                    classes and IoU thresholds
    grid_detector, grid_loss        a small single-shot grid detector in Keras, and its loss
    draw_boxes, show_detections     boxes drawn over images

References: J. Redmon et al., *You Only Look Once: Unified, Real-Time Object Detection*, CVPR 2016;
S. Ren et al., *Faster R-CNN*, NeurIPS 2015; M. Everingham et al., *The PASCAL Visual Object Classes (VOC)
Challenge*, IJCV 2010 (and its 2010+ devkit for the all-point interpolation).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .validation import check_array, check_float, check_int, check_optional_positive_int, check_positive_int

__all__ = [
    "check_boxes", "box_area", "iou", "nms", "encode_grid", "decode_grid", "grid_targets", "make_anchors",
    "encode_anchors", "decode_anchors", "precision_recall", "voc_ap", "average_precision",
    "mean_average_precision", "grid_detector", "grid_loss", "draw_boxes", "show_detections",
]


# ---------------------------------------------------------------------------------------------- boxes


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


def _check_scores(scores, n: int, name: str = "scores") -> np.ndarray:
    s = check_array(scores, name).astype(np.float64).reshape(-1) if np.size(scores) else np.zeros(0)
    if s.shape != (n,):
        raise ValueError(f"{name} must have one score per box ({n}), got shape {np.shape(scores)}")
    if not np.isfinite(s).all():
        raise ValueError(f"{name} must be finite, got {s[~np.isfinite(s)][0]!r}")
    return s


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
    scores = _check_scores(scores, len(boxes))
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


# ---------------------------------------------------------------------------------------- grid targets


def _check_labels(labels, n: int, num_classes: int, name: str = "labels") -> np.ndarray:
    lab = check_array(labels, name).reshape(-1) if np.size(labels) else np.zeros(0, np.int64)
    if lab.shape != (n,):
        raise ValueError(f"{name} must have one label per box ({n}), got shape {np.shape(labels)}")
    if lab.size and (not np.issubdtype(lab.dtype, np.integer) or lab.min() < 0 or lab.max() >= num_classes):
        raise ValueError(f"{name} must be ints in [0, {num_classes}), got {lab.tolist()}")
    return lab.astype(np.int64)


def encode_grid(boxes, labels, *, grid_size: int, image_size: int, num_classes: int) -> np.ndarray:
    """YOLO v1's target for one image: each object is the job of the grid cell holding its centre.

    Each cell's vector is ``[objectness, x, y, w, h, one-hot class]``: objectness 1 where an object's centre
    falls, ``x, y`` the centre's position inside the cell (0 to 1), ``w, h`` the box's size as a fraction of
    the image. One object per cell, as in YOLO v1: when two centres share a cell the larger box is kept.

    Args:
        boxes: (K, 4) boxes in pixels, inside the image.
        labels: (K,) ints in [0, num_classes).
        grid_size: S, the number of cells along each side.
        image_size: the (square) image's side in pixels.
        num_classes: C.

    Returns:
        (S, S, 5 + C) float32; row index is y (cell row), column index x.

    Raises:
        ValueError: bad boxes or labels.
    """
    s = check_positive_int(grid_size, "grid_size")
    size = check_positive_int(image_size, "image_size")
    c = check_positive_int(num_classes, "num_classes")
    boxes = check_boxes(boxes)
    labels = _check_labels(labels, len(boxes), c)
    target = np.zeros((s, s, 5 + c), np.float32)
    cell = size / s
    area = np.zeros((s, s))
    for (x0, y0, x1, y1), label in zip(boxes, labels):
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        col, row = min(int(cx / cell), s - 1), min(int(cy / cell), s - 1)
        a = (x1 - x0) * (y1 - y0)
        if target[row, col, 0] == 1 and a <= area[row, col]:
            continue
        area[row, col] = a
        target[row, col] = 0
        target[row, col, :5] = (1, cx / cell - col, cy / cell - row, (x1 - x0) / size, (y1 - y0) / size)
        target[row, col, 5 + label] = 1
    return target


def grid_targets(boxes: Sequence, labels: Sequence, *, grid_size: int, image_size: int,
                 num_classes: int) -> np.ndarray:
    """:func:`encode_grid` for a list of images: (N, S, S, 5 + C) float32."""
    if len(boxes) != len(labels):
        raise ValueError("boxes and labels must have one entry per image, "
                         f"got {len(boxes)} and {len(labels)}")
    return np.stack([encode_grid(b, lab, grid_size=grid_size, image_size=image_size, num_classes=num_classes)
                     for b, lab in zip(boxes, labels)]) if len(boxes) else np.zeros(
        (0, grid_size, grid_size, 5 + num_classes), np.float32)


def decode_grid(grid, *, image_size: int, score_threshold: float = 0.0):
    """Turn one image's grid output (or target) back into boxes, scores and labels.

    Args:
        grid: (S, S, 5 + C): objectness probability, ``x, y`` in the cell, ``w, h`` as fractions of the
            image, then class probabilities (or one-hot classes).
        image_size: the image's side in pixels.
        score_threshold: keep cells whose score (objectness x best class probability) is above it.

    Returns:
        boxes (K, 4) float64 in pixels (clipped to the image), scores (K,), labels (K,) int64; cells in
        row-major order.

    Raises:
        ValueError: grid is not (S, S, 5 + C) with C >= 1.
    """
    g = check_array(grid, "grid", ndim=3, layout="(S, S, 5 + C)").astype(np.float64)
    if g.shape[0] != g.shape[1] or g.shape[2] < 6:
        raise ValueError(f"grid must have shape (S, S, 5 + C) with C >= 1, got {g.shape}")
    size = check_positive_int(image_size, "image_size")
    threshold = check_float(score_threshold, "score_threshold")
    s = g.shape[0]
    cell = size / s
    rows, cols = np.mgrid[0:s, 0:s]
    cx, cy = (cols + g[..., 1]) * cell, (rows + g[..., 2]) * cell
    w, h = g[..., 3] * size, g[..., 4] * size
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1).reshape(-1, 4)
    boxes = np.clip(boxes, 0, size)
    labels = g[..., 5:].argmax(-1).reshape(-1)
    scores = (g[..., 0] * g[..., 5:].max(-1)).reshape(-1)
    keep = scores > threshold
    return boxes[keep], scores[keep], labels[keep].astype(np.int64)


# --------------------------------------------------------------------------------------------- anchors


def make_anchors(feature_size: int, image_size: int, sizes: Sequence[float],
                 aspect_ratios: Sequence[float] = (1.0,)) -> np.ndarray:
    """Anchor boxes centred on every cell of a feature map, one per (size, aspect ratio).

    Args:
        feature_size: F, the feature map's side (the anchors' centres are the F x F cell centres).
        image_size: the image's side in pixels.
        sizes: anchor sides in pixels (the square root of the area).
        aspect_ratios: width / height ratios.

    Returns:
        (F * F * A, 4) float64 boxes, A = len(sizes) * len(aspect_ratios), ordered cell by cell (row-major),
        then size, then ratio.
    """
    f = check_positive_int(feature_size, "feature_size")
    size = check_positive_int(image_size, "image_size")
    shapes = []
    for s in sizes:
        s = check_float(s, "sizes[i]", minimum=0.0, include_minimum=False)
        for r in aspect_ratios:
            r = check_float(r, "aspect_ratios[i]", minimum=0.0, include_minimum=False)
            shapes.append((s * np.sqrt(r), s / np.sqrt(r)))
    if not shapes:
        raise ValueError("sizes and aspect_ratios must not be empty")
    step = size / f
    centres = (np.arange(f) + 0.5) * step
    cy, cx = np.meshgrid(centres, centres, indexing="ij")
    wh = np.asarray(shapes)
    cx = np.repeat(cx.reshape(-1), len(wh))
    cy = np.repeat(cy.reshape(-1), len(wh))
    w, h = np.tile(wh[:, 0], f * f), np.tile(wh[:, 1], f * f)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def _centre_size(boxes: np.ndarray):
    return ((boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2,
            boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


def encode_anchors(boxes, labels, anchors, *, positive_iou: float = 0.5, negative_iou: float = 0.4):
    """Assign ground-truth boxes to anchors and encode them as offsets (Faster R-CNN's parameterisation).

    An anchor is positive when its best IoU with a ground-truth box is at least ``positive_iou``, and so is
    each ground-truth box's best anchor (so that no object goes unassigned); negative (background) when its
    best IoU is below ``negative_iou``; ignored in between. Offsets: ``tx = (x - xa) / wa``,
    ``ty = (y - ya) / ha``, ``tw = log(w / wa)``, ``th = log(h / ha)`` for centres (x, y) and sizes (w, h).

    Args:
        boxes: (K, 4) ground-truth boxes of one image (K may be 0).
        labels: (K,) ints >= 0.
        anchors: (A, 4) anchors, each of positive width and height.
        positive_iou, negative_iou: the two thresholds, negative_iou <= positive_iou.

    Returns:
        classes (A,) int64: ``label + 1`` for a positive, 0 for background, -1 for ignored; offsets (A, 4)
        float64 (zero except at positives); matched (A,) int64, the ground-truth index (-1 where none).

    Raises:
        ValueError: bad boxes, labels or thresholds; an anchor of zero width or height.
    """
    boxes = check_boxes(boxes)
    anchors = check_boxes(anchors, "anchors")
    lab = check_array(labels, "labels").reshape(-1) if np.size(labels) else np.zeros(0, np.int64)
    integers = np.issubdtype(lab.dtype, np.integer)
    if lab.shape != (len(boxes),) or (lab.size and (not integers or lab.min() < 0)):
        raise ValueError(f"labels must be one int >= 0 per box ({len(boxes)}), "
                         f"got {np.asarray(labels).tolist()}")
    pos_t = check_float(positive_iou, "positive_iou", minimum=0.0, maximum=1.0)
    neg_t = check_float(negative_iou, "negative_iou", minimum=0.0, maximum=pos_t)
    if ((anchors[:, 2] - anchors[:, 0]) <= 0).any() or ((anchors[:, 3] - anchors[:, 1]) <= 0).any():
        raise ValueError("anchors must have positive width and height")
    a_count = len(anchors)
    classes = np.zeros(a_count, np.int64)
    offsets = np.zeros((a_count, 4))
    matched = np.full(a_count, -1, np.int64)
    if len(boxes) == 0:
        return classes, offsets, matched
    overlaps = iou(anchors, boxes)
    best_gt = overlaps.argmax(1)
    best = overlaps.max(1)
    classes[(best >= neg_t) & (best < pos_t)] = -1
    positive = best >= pos_t
    forced = overlaps.argmax(0)  # each object's best anchor
    positive[forced] = True
    best_gt[forced] = np.arange(len(boxes))
    matched[positive] = best_gt[positive]
    classes[positive] = lab[best_gt[positive]] + 1
    ax, ay, aw, ah = _centre_size(anchors[positive])
    gx, gy, gw, gh = _centre_size(boxes[best_gt[positive]])
    with np.errstate(divide="ignore"):
        offsets[positive] = np.stack([(gx - ax) / aw, (gy - ay) / ah, np.log(gw / aw), np.log(gh / ah)], 1)
    return classes, offsets, matched


def decode_anchors(offsets, anchors) -> np.ndarray:
    """Inverse of the offsets of :func:`encode_anchors`: (A, 4) offsets and anchors -> (A, 4) boxes."""
    anchors = check_boxes(anchors, "anchors")
    t = check_array(offsets, "offsets", ndim=2, layout="(A, 4)").astype(np.float64)
    if t.shape != anchors.shape:
        raise ValueError(f"offsets must have the anchors' shape {anchors.shape}, got {t.shape}")
    ax, ay, aw, ah = _centre_size(anchors)
    x, y = ax + t[:, 0] * aw, ay + t[:, 1] * ah
    w, h = aw * np.exp(t[:, 2]), ah * np.exp(t[:, 3])
    return np.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], axis=1)


# ---------------------------------------------------------------------------------- average precision


def _per_image(seq, name: str) -> list:
    if isinstance(seq, np.ndarray) and seq.dtype != object:
        raise TypeError(f"{name} must be a sequence with one entry per image (a list of arrays), "
                        f"got an array of shape {seq.shape}")
    return list(seq)


def precision_recall(pred_boxes: Sequence, pred_scores: Sequence, true_boxes: Sequence, *,
                     iou_threshold: float = 0.5):
    """Rank all detections of one class by score and mark each as true or false positive, as VOC does.

    A detection is a true positive when its best-overlapping ground-truth box in the same image has IoU >=
    ``iou_threshold`` and has not been claimed by a higher-scoring detection; otherwise it is a false
    positive (a duplicate, a miss or a poor box).

    Args:
        pred_boxes: one (k_i, 4) array per image.
        pred_scores: one (k_i,) array per image.
        true_boxes: one (m_i, 4) array per image (the ground truth of this class).
        iou_threshold: in (0, 1].

    Returns:
        recall (D,), precision (D,), scores (D,) sorted by decreasing score (ties keep image order), and
        is_tp (D,) bool; D is the number of detections. Recall is NaN when there is no ground truth.

    Raises:
        ValueError: the three lists differ in length, or bad boxes or scores.
    """
    pred_boxes = _per_image(pred_boxes, "pred_boxes")
    pred_scores = _per_image(pred_scores, "pred_scores")
    true_boxes = _per_image(true_boxes, "true_boxes")
    if not len(pred_boxes) == len(pred_scores) == len(true_boxes):
        raise ValueError("pred_boxes, pred_scores and true_boxes must have one entry per image, got "
                         f"{len(pred_boxes)}, {len(pred_scores)} and {len(true_boxes)}")
    thr = check_float(iou_threshold, "iou_threshold", minimum=0.0, maximum=1.0, include_minimum=False)
    image_of, scores, best_gt, best_iou = [], [], [], []
    n_true = 0
    for i, (pb, ps, tb) in enumerate(zip(pred_boxes, pred_scores, true_boxes)):
        pb, tb = check_boxes(pb, f"pred_boxes[{i}]"), check_boxes(tb, f"true_boxes[{i}]")
        ps = _check_scores(ps, len(pb), f"pred_scores[{i}]")
        n_true += len(tb)
        overlaps = iou(pb, tb)
        image_of += [i] * len(pb)
        scores.append(ps)
        best_gt.append(overlaps.argmax(1) if len(tb) else np.full(len(pb), -1))
        best_iou.append(overlaps.max(1) if len(tb) else np.zeros(len(pb)))
    scores = np.concatenate(scores) if scores else np.zeros(0)
    image_of = np.asarray(image_of, np.int64)
    best_gt = np.concatenate(best_gt).astype(np.int64) if best_gt else np.zeros(0, np.int64)
    best_iou = np.concatenate(best_iou) if best_iou else np.zeros(0)
    order = np.argsort(-scores, kind="stable")
    claimed: set[tuple[int, int]] = set()
    is_tp = np.zeros(len(order), bool)
    for rank, d in enumerate(order):
        key = (int(image_of[d]), int(best_gt[d]))
        if best_gt[d] >= 0 and best_iou[d] >= thr and key not in claimed:
            claimed.add(key)
            is_tp[rank] = True
    tp = np.cumsum(is_tp)
    precision = tp / np.arange(1, len(order) + 1)
    recall = tp / n_true if n_true else np.full(len(order), np.nan)
    return recall, precision, scores[order], is_tp


def voc_ap(recall, precision) -> float:
    """Area under the precision-recall curve with VOC's all-point interpolation.

    Precision is first made non-increasing (each point takes the best precision at any higher recall), then
    the area of the resulting step function is summed where recall changes.

    Args:
        recall, precision: (D,) arrays in rank order (recall non-decreasing).

    Returns:
        AP in [0, 1] (0 for no detections).
    """
    r = check_array(recall, "recall", ndim=1).astype(np.float64)
    p = check_array(precision, "precision", ndim=1).astype(np.float64)
    if r.shape != p.shape:
        raise ValueError(f"recall and precision must have the same length, got {r.shape} and {p.shape}")
    mrec = np.concatenate([[0.0], r, [1.0]])
    mpre = np.concatenate([[0.0], p, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def average_precision(pred_boxes: Sequence, pred_scores: Sequence, true_boxes: Sequence, *,
                      iou_threshold: float = 0.5) -> float:
    """PASCAL VOC average precision of one class over a set of images (all-point interpolation).

    Args:
        pred_boxes: one (k_i, 4) array per image: the detections of this class.
        pred_scores: one (k_i,) array per image.
        true_boxes: one (m_i, 4) array per image: the ground truth of this class.
        iou_threshold: the IoU a detection needs to count (0.5 in VOC).

    Returns:
        AP in [0, 1]; 0.0 when there is ground truth but no detection; NaN when there is no ground truth
        (the class does not count towards a mean).

    Raises:
        ValueError: lists of different lengths, bad boxes or scores.

    Reference: M. Everingham et al., The PASCAL VOC Challenge, IJCV 2010 (all-point AP of the 2010+ devkit).
    """
    recall, precision, _, _ = precision_recall(pred_boxes, pred_scores, true_boxes,
                                               iou_threshold=iou_threshold)
    if sum(len(check_boxes(t, f"true_boxes[{i}]")) for i, t in enumerate(true_boxes)) == 0:
        return float("nan")
    return voc_ap(recall, precision)


def mean_average_precision(pred_boxes: Sequence, pred_scores: Sequence, pred_labels: Sequence,
                           true_boxes: Sequence, true_labels: Sequence, *, num_classes: int,
                           iou_thresholds: float | Sequence[float] = 0.5, return_table: bool = False):
    """Mean of the per-class APs, averaged over one or several IoU thresholds.

    Args:
        pred_boxes, pred_scores, pred_labels: one array per image: (k_i, 4), (k_i,), (k_i,) ints.
        true_boxes, true_labels: one array per image: (m_i, 4), (m_i,) ints.
        num_classes: C; labels are in [0, C).
        iou_thresholds: one threshold (0.5: VOC's mAP@0.5) or several (``np.arange(0.5, 0.96, 0.05)``:
            COCO's thresholds, averaged).
        return_table: also return the (T, C) table of APs (NaN for classes without ground truth).

    Returns:
        mAP, a float (NaN when no class has ground truth); with ``return_table``, (mAP, table).

    Raises:
        ValueError: lists of different lengths, bad boxes, scores or labels.
    """
    c = check_positive_int(num_classes, "num_classes")
    thresholds = np.atleast_1d(np.asarray(iou_thresholds, np.float64))
    lists = [_per_image(x, n) for x, n in ((pred_boxes, "pred_boxes"), (pred_scores, "pred_scores"),
                                           (pred_labels, "pred_labels"), (true_boxes, "true_boxes"),
                                           (true_labels, "true_labels"))]
    if len({len(x) for x in lists}) != 1:
        raise ValueError("predictions and ground truth must have one entry per image, got lengths "
                         f"{[len(x) for x in lists]}")
    pb, ps, pl, tb, tl = lists
    pb = [check_boxes(b, f"pred_boxes[{i}]") for i, b in enumerate(pb)]
    tb = [check_boxes(b, f"true_boxes[{i}]") for i, b in enumerate(tb)]
    pl = [_check_labels(lab, len(b), c, f"pred_labels[{i}]") for i, (lab, b) in enumerate(zip(pl, pb))]
    tl = [_check_labels(lab, len(b), c, f"true_labels[{i}]") for i, (lab, b) in enumerate(zip(tl, tb))]
    ps = [_check_scores(s, len(b), f"pred_scores[{i}]") for i, (s, b) in enumerate(zip(ps, pb))]
    table = np.full((len(thresholds), c), np.nan)
    for k in range(c):
        per_pb = [b[lab == k] for b, lab in zip(pb, pl)]
        per_ps = [s[lab == k] for s, lab in zip(ps, pl)]
        per_tb = [b[lab == k] for b, lab in zip(tb, tl)]
        for t, thr in enumerate(thresholds):
            table[t, k] = average_precision(per_pb, per_ps, per_tb, iou_threshold=float(thr))
    value = float(np.nanmean(table)) if np.isfinite(table).any() else float("nan")
    return (value, table) if return_table else value


# --------------------------------------------------------------------------------------------- model


def grid_detector(*, input_shape=(64, 64, 3), grid_size: int = 8, num_classes: int = 4, filters: int = 16,
                  convs_per_block: int = 1, name: str = "grid_detector"):
    """A small single-shot grid detector (YOLO v1's idea): convolutions down to S x S, one vector per cell.

    The backbone halves the resolution with each block of 3x3 convolutions and a 2x2 max-pool until the map
    is S x S; a 3x3 convolution mixes the neighbouring cells, and a 1x1
    convolution then predicts, for every cell, ``[objectness logit, x, y, w, h, class logits]`` where x, y
    and w, h pass through a sigmoid (the centre inside the cell, the size as a fraction of the image).
    The model applies the activations itself (objectness and x, y, w, h through a sigmoid, classes through a
    softmax), so its output is what :func:`grid_loss` and :func:`decode_grid` take.

    Args:
        input_shape: (H, W, 3) with H = W = S * 2**k.
        grid_size: S.
        num_classes: C.
        filters: the first block's width (doubled at every block, at most 8x).
        convs_per_block: 3x3 convolutions before each pooling.
        name: the model's name.

    Returns:
        A ``keras.Model`` mapping (N, H, W, 3) images to (N, S, S, 5 + C).

    Reference: J. Redmon et al., You Only Look Once, CVPR 2016.
    """
    import keras
    from keras import layers

    h = check_int(input_shape[0], "input_shape[0]", minimum=1)
    s = check_positive_int(grid_size, "grid_size")
    c = check_positive_int(num_classes, "num_classes")
    width = check_positive_int(filters, "filters")
    convs = check_positive_int(convs_per_block, "convs_per_block")
    blocks = int(round(np.log2(h / s)))
    if h != input_shape[1] or s * 2 ** blocks != h:
        raise ValueError(f"input_shape must be square with side grid_size * 2**k, got {input_shape} and "
                         f"grid_size {s}")
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for b in range(blocks):
        f = width * 2 ** min(b, 3)
        for k in range(convs):
            x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"block{b + 1}_conv{k + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"block{b + 1}_pool")(x)
    x = layers.Conv2D(width * 8, 3, padding="same", activation="relu", name="head_conv")(x)
    raw = layers.Conv2D(5 + c, 1, name="head_predictions")(x)
    box = layers.Activation("sigmoid", name="box")(raw[..., :5])
    classes = layers.Softmax(name="classes")(raw[..., 5:])
    outputs = layers.Concatenate(name="predictions")([box, classes])
    return keras.Model(inputs, outputs, name=name)


def grid_loss(lambda_coord: float = 5.0, lambda_noobj: float = 0.5):
    """A YOLO-style loss on (N, S, S, 5 + C) targets and predictions, as a Keras loss.

    Terms, summed over the cells and averaged over the images: in cells holding an object, the squared error
    of x, y and of sqrt(w), sqrt(h) (YOLO v1's Eq. 3, weighted ``lambda_coord``; the square roots make an
    error count more on a small box than on a large one) and the cross-entropy of the class probabilities;
    in every cell, the binary cross-entropy of the objectness, weighted ``lambda_noobj`` in empty cells since
    most cells are empty. YOLO v1 used squared errors for objectness and classes too; after a sigmoid, that
    error stops pushing once the sigmoid saturates, and in a short run the many empty cells drive every
    objectness there. Cross-entropies (as in YOLO v3) do not saturate.

    Reference: J. Redmon et al., You Only Look Once, CVPR 2016, Eq. (3); J. Redmon and A. Farhadi, YOLOv3:
    An Incremental Improvement, arXiv:1804.02767 (2018).
    """
    import keras
    from keras import ops

    lc = check_float(lambda_coord, "lambda_coord", minimum=0.0)
    ln = check_float(lambda_noobj, "lambda_noobj", minimum=0.0)

    def loss(y_true, y_pred):
        eps = keras.config.epsilon()  # keeps log and sqrt (whose gradient is infinite at 0) finite
        obj = y_true[..., 0]
        p_obj = ops.clip(y_pred[..., 0], eps, 1 - eps)
        xy = ops.sum(ops.square(y_true[..., 1:3] - y_pred[..., 1:3]), axis=-1)
        wh = ops.sum(ops.square(ops.sqrt(y_true[..., 3:5]) - ops.sqrt(y_pred[..., 3:5] + eps)), axis=-1)
        cls = -ops.sum(y_true[..., 5:] * ops.log(ops.clip(y_pred[..., 5:], eps, 1.0)), axis=-1)
        conf = -(obj * ops.log(p_obj) + ln * (1 - obj) * ops.log(1 - p_obj))
        per_cell = obj * (lc * (xy + wh) + cls) + conf
        return ops.sum(per_cell, axis=(1, 2))

    loss.__name__ = "yolo_loss"
    return loss


# -------------------------------------------------------------------------------------------- drawing


def draw_boxes(ax, boxes, labels=None, scores=None, *, class_names: Sequence[str] | None = None,
               color=None, linestyle: str = "-", linewidth: float = 1.5):
    """Draw boxes on a Matplotlib axis showing an image (pixel coordinates, as ``imshow`` places them).

    ``imshow`` centres pixel (i, j) on (j, i), so a box covering pixel columns x_min .. x_max - 1 runs from
    x_min - 0.5 to x_max - 0.5 on the axis; that shift is applied here.

    Args:
        ax: a Matplotlib axis.
        boxes: (K, 4) boxes.
        labels: (K,) class indices, or None.
        scores: (K,) scores written after the class name, or None.
        class_names: names for the labels (default: the numbers).
        color: one colour for every box; None colours by class (tab10).
        linestyle, linewidth: of the rectangles.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    boxes = check_boxes(boxes)
    cmap = plt.get_cmap("tab10")
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        label = None if labels is None else int(labels[k])
        edge = color if color is not None else cmap((label or 0) % 10)
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=edge,
                               linestyle=linestyle, linewidth=linewidth))
        text = []
        if label is not None:
            text.append(class_names[label] if class_names is not None else str(label))
        if scores is not None:
            text.append(f"{float(scores[k]):.2f}")
        if text:
            ax.text(x0 - 0.5, y0 - 1, " ".join(text), color="white", fontsize=6, va="bottom",
                    bbox={"facecolor": edge, "alpha": 0.7, "pad": 0.5, "linewidth": 0})


def show_detections(images, pred_boxes, pred_labels=None, pred_scores=None, *, true_boxes=None,
                    class_names: Sequence[str] | None = None, ncols: int = 4, title: str | None = None,
                    linewidth: float = 1.5):
    """A grid of images with predicted boxes (solid, coloured by class) and true boxes (dashed white).

    Args:
        images: (N, H, W, 3) in [0, 1].
        pred_boxes: one (k_i, 4) array per image; pred_labels, pred_scores: one array per image or None.
        true_boxes: one (m_i, 4) array per image, or None.
        class_names: names for the labels.
        ncols: images per row.
        title: the figure's title.
        linewidth: of the predicted boxes.

    Returns:
        The Matplotlib ``Figure``.
    """
    from .plotting import _grid

    images = check_array(images, "images", ndim=4, layout="(N, H, W, 3)")
    fig, axes = _grid(len(images), check_positive_int(ncols, "ncols"), cell=2.0, extra_height=0.4)
    for i, ax in enumerate(axes):
        ax.imshow(np.clip(images[i], 0, 1))
        if true_boxes is not None:
            draw_boxes(ax, true_boxes[i], color="white", linestyle="--", linewidth=1.0)
        draw_boxes(ax, pred_boxes[i], None if pred_labels is None else pred_labels[i],
                   None if pred_scores is None else pred_scores[i], class_names=class_names,
                   linewidth=linewidth)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
