"""Average precision: detections ranked by score, matched to the ground truth, and the area under the
precision-recall curve, per class and averaged (mAP).

PASCAL VOC's rules: a detection is a true positive when it overlaps an unclaimed true box of its image by at
least the IoU threshold; the precision-recall curve is interpolated at all points (the 2010+ devkit).

Reference: M. Everingham et al., *The PASCAL Visual Object Classes (VOC) Challenge*, IJCV 2010.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..validation import check_array, check_float, check_positive_int
from .boxes import check_boxes, check_labels, check_scores, iou

__all__ = ["precision_recall", "voc_ap", "average_precision", "mean_average_precision"]


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
        ps = check_scores(ps, len(pb), f"pred_scores[{i}]")
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
    pl = [check_labels(lab, len(b), c, f"pred_labels[{i}]") for i, (lab, b) in enumerate(zip(pl, pb))]
    tl = [check_labels(lab, len(b), c, f"true_labels[{i}]") for i, (lab, b) in enumerate(zip(tl, tb))]
    ps = [check_scores(s, len(b), f"pred_scores[{i}]") for i, (s, b) in enumerate(zip(ps, pb))]
    table = np.full((len(thresholds), c), np.nan)
    for k in range(c):
        per_pb = [b[lab == k] for b, lab in zip(pb, pl)]
        per_ps = [s[lab == k] for s, lab in zip(ps, pl)]
        per_tb = [b[lab == k] for b, lab in zip(tb, tl)]
        for t, thr in enumerate(thresholds):
            table[t, k] = average_precision(per_pb, per_ps, per_tb, iou_threshold=float(thr))
    value = float(np.nanmean(table)) if np.isfinite(table).any() else float("nan")
    return (value, table) if return_table else value
