"""Training targets: which grid cell or anchor answers for each object, and the numbers it must predict.

- :func:`encode_grid`, :func:`grid_targets`, :func:`decode_grid`: YOLO v1's targets, an S x S grid with one
  object per cell (the cell holding the object's centre);
- :func:`make_anchors`, :func:`encode_anchors`, :func:`decode_anchors`: anchor boxes, their matching to the
  objects by IoU, and the offsets of Faster R-CNN / SSD.

References: J. Redmon et al., *You Only Look Once: Unified, Real-Time Object Detection*, CVPR 2016;
S. Ren et al., *Faster R-CNN*, NeurIPS 2015.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..validation import check_array, check_float, check_positive_int
from .boxes import box_centres, box_corners, check_boxes, check_labels, iou

__all__ = ["encode_grid", "grid_targets", "decode_grid", "make_anchors", "encode_anchors", "decode_anchors"]


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
    labels = check_labels(labels, len(boxes), c)
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
    boxes = box_corners(cx, cy, w, h).reshape(-1, 4)
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
    return box_corners(cx, cy, w, h)



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
    ax, ay, aw, ah = box_centres(anchors[positive])
    gx, gy, gw, gh = box_centres(boxes[best_gt[positive]])
    with np.errstate(divide="ignore"):
        offsets[positive] = np.stack([(gx - ax) / aw, (gy - ay) / ah, np.log(gw / aw), np.log(gh / ah)], 1)
    return classes, offsets, matched


def decode_anchors(offsets, anchors) -> np.ndarray:
    """Inverse of the offsets of :func:`encode_anchors`: (A, 4) offsets and anchors -> (A, 4) boxes."""
    anchors = check_boxes(anchors, "anchors")
    t = check_array(offsets, "offsets", ndim=2, layout="(A, 4)").astype(np.float64)
    if t.shape != anchors.shape:
        raise ValueError(f"offsets must have the anchors' shape {anchors.shape}, got {t.shape}")
    ax, ay, aw, ah = box_centres(anchors)
    x, y = ax + t[:, 0] * aw, ay + t[:, 1] * ah
    w, h = aw * np.exp(t[:, 2]), ah * np.exp(t[:, 3])
    return box_corners(x, y, w, h)
