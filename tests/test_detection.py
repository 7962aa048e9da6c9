"""course_lib.detection against independent references: IoU by counting pixels, NMS against
tf.image.non_max_suppression, AP against a hand-worked example and a brute-force implementation written
another way (a sum over ground-truth objects), targets by round trips and hand-worked cells."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from course_lib import detection as det


def random_boxes(rng, n, size=20, integer=False):
    xy = rng.uniform(0, size, (n, 2))
    wh = rng.uniform(0.5, size / 2, (n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1)
    return np.floor(boxes) if integer else boxes


# ------------------------------------------------------------------------------------------------ IoU


def test_iou_matches_counting_pixels():
    # Integer boxes cover whole pixels: IoU is |A & B| / |A | B| counted on a pixel grid.
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 7, integer=True), random_boxes(rng, 9, integer=True)
    a[:, 2:] += 1  # at least one pixel wide
    b[:, 2:] += 1

    def raster(box):
        m = np.zeros((40, 40), bool)
        x0, y0, x1, y1 = box.astype(int)
        m[y0:y1, x0:x1] = True
        return m

    expected = np.array([[(raster(p) & raster(q)).sum() / (raster(p) | raster(q)).sum() for q in b]
                         for p in a])
    np.testing.assert_allclose(det.iou(a, b), expected, rtol=1e-12)


def test_iou_hand_worked_and_edge_cases():
    a = np.array([[0, 0, 2, 2]])
    b = np.array([[1, 1, 3, 3], [2, 0, 4, 2], [0, 0, 2, 2], [5, 5, 5, 5]])
    # overlap 1 of union 7; touching edges; identical; a zero-area box far away
    np.testing.assert_allclose(det.iou(a, b), [[1 / 7, 0.0, 1.0, 0.0]])
    assert det.iou(np.zeros((0, 4)), b).shape == (0, 4)
    assert det.iou(a, []).shape == (1, 0)
    # 0/0 counts as no overlap
    np.testing.assert_array_equal(det.iou([[3, 3, 3, 3]], [[3, 3, 3, 3]]), [[0.0]])
    np.testing.assert_allclose(det.iou(b[:3], b[:3]), det.iou(b[:3], b[:3]).T)


@pytest.mark.parametrize(("boxes", "error", "match"), [
    ([[2, 0, 1, 1]], ValueError, r"x_max >= x_min and y_max >= y_min, got \[2.0, 0.0, 1.0, 1.0\] at row 0"),
    ([[0, 0, 1, 1], [0, 3, 1, 2]], ValueError, "at row 1"),
    ([[0, np.nan, 1, 1]], ValueError, "finite coordinates"),
    ([[0, 0, np.inf, 1]], ValueError, "finite coordinates"),
    ([0, 0, 1, 1], ValueError, r"shape \(N, 4\)"),
    ([[0, 0, 1]], ValueError, r"shape \(N, 4\)"),
    ([["a", "b", "c", "d"]], TypeError, "must hold numbers"),
])
def test_bad_boxes_are_refused_clearly(boxes, error, match):
    with pytest.raises(error, match=match):
        det.iou(boxes, [[0, 0, 1, 1]])
    with pytest.raises(error):
        det.nms(boxes, np.ones(np.shape(boxes)[0] if np.ndim(boxes) == 2 else 1))


# ------------------------------------------------------------------------------------------------ NMS


def tf_nms(boxes, scores, iou_threshold, max_outputs, score_threshold=float("-inf")):
    yx = boxes[:, [1, 0, 3, 2]].astype(np.float32)  # TensorFlow wants (y_min, x_min, y_max, x_max)
    return tf.image.non_max_suppression(yx, scores.astype(np.float32), max_outputs,
                                        iou_threshold=iou_threshold, score_threshold=score_threshold).numpy()


@pytest.mark.parametrize("seed", range(6))
def test_nms_matches_tensorflow_on_random_boxes(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    boxes = random_boxes(rng, n, size=30)
    scores = rng.permutation(n) / n + 0.01  # distinct scores: the order is unambiguous
    threshold = float(rng.uniform(0.1, 0.8))
    max_outputs = int(rng.integers(1, n + 1))
    ours = det.nms(boxes, scores, threshold, max_outputs)
    np.testing.assert_array_equal(ours, tf_nms(boxes, scores, threshold, max_outputs))
    full = det.nms(boxes, scores, threshold)
    np.testing.assert_array_equal(full, tf_nms(boxes, scores, threshold, n))
    s_thr = float(np.median(scores))
    np.testing.assert_array_equal(det.nms(boxes, scores, threshold, score_threshold=s_thr),
                                  tf_nms(boxes, scores, threshold, n, s_thr))


def test_nms_edge_cases():
    empty = det.nms(np.zeros((0, 4)), np.zeros(0), 0.5)
    assert empty.shape == (0,) and empty.dtype == np.int64
    # all overlapping: jittered copies of one box, only the best survives, as in TensorFlow
    rng = np.random.default_rng(1)
    boxes = np.array([10, 10, 30, 30]) + rng.uniform(-1, 1, (12, 4))
    scores = rng.uniform(size=12)
    np.testing.assert_array_equal(det.nms(boxes, scores, 0.5), [np.argmax(scores)])
    np.testing.assert_array_equal(det.nms(boxes, scores, 0.5), tf_nms(boxes, scores, 0.5, 12))
    # threshold 1: nothing is suppressed (no IoU is above 1); only the order changes
    np.testing.assert_array_equal(det.nms(boxes, scores, 1.0), np.argsort(-scores))
    with pytest.raises(ValueError, match="one score per box"):
        det.nms(boxes, scores[:3])
    with pytest.raises(ValueError, match="iou_threshold must be a float in"):
        det.nms(boxes, scores, 1.5)
    with pytest.raises(ValueError, match="max_outputs must be a positive int"):
        det.nms(boxes, scores, 0.5, 0)


# ------------------------------------------------------------------------------------------ grid targets


def test_encode_grid_hand_worked():
    # 64 x 64 image, 8 x 8 grid (8-pixel cells). Box (8, 8, 24, 24): centre (16, 16) is the corner of cell
    # (row 2, col 2), offsets 0, size 16/64 = 0.25. Box (40, 4, 60, 12): centre (50, 8) -> col 6, row 1,
    # x = 50/8 - 6 = 0.25, y = 0, w = 20/64, h = 8/64.
    g = det.encode_grid([[8, 8, 24, 24], [40, 4, 60, 12]], [2, 0], grid_size=8, image_size=64, num_classes=3)
    assert g.shape == (8, 8, 8) and g[..., 0].sum() == 2
    np.testing.assert_allclose(g[2, 2], [1, 0, 0, 0.25, 0.25, 0, 0, 1])
    np.testing.assert_allclose(g[1, 6], [1, 0.25, 0, 20 / 64, 8 / 64, 1, 0, 0])


def test_encode_grid_keeps_the_larger_of_two_objects_in_a_cell():
    small, large = [9, 9, 13, 13], [2, 2, 20, 20]  # both centres in cell (1, 1) of an 8-pixel grid
    for order in ([small, large], [large, small]):
        labels = [0, 1] if order[0] is small else [1, 0]
        g = det.encode_grid(order, labels, grid_size=8, image_size=64, num_classes=2)
        assert g[..., 0].sum() == 1 and g[1, 1, 6] == 1
        np.testing.assert_allclose(g[1, 1, 3:5], [18 / 64, 18 / 64])


def test_grid_round_trip_recovers_boxes_and_labels():
    rng = np.random.default_rng(4)
    for _ in range(5):
        # one object per cell: centres in distinct cells
        cells = rng.choice(64, size=5, replace=False)
        cx = (cells % 8 + rng.uniform(0.05, 0.95, 5)) * 8
        cy = (cells // 8 + rng.uniform(0.05, 0.95, 5)) * 8
        half = rng.uniform(2, 6, (5, 2))
        boxes = np.stack([cx - half[:, 0], cy - half[:, 1], cx + half[:, 0], cy + half[:, 1]], 1)
        boxes = np.clip(boxes, 0, 64)
        labels = rng.integers(0, 3, 5)
        g = det.encode_grid(boxes, labels, grid_size=8, image_size=64, num_classes=3)
        out_boxes, scores, out_labels = det.decode_grid(g, image_size=64, score_threshold=0.5)
        order = np.argsort(cells)  # decode_grid returns cells in row-major order
        centres = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], 1)
        np.testing.assert_allclose(np.stack([(out_boxes[:, 0] + out_boxes[:, 2]) / 2,
                                             (out_boxes[:, 1] + out_boxes[:, 3]) / 2], 1), centres[order],
                                   atol=1e-4)
        np.testing.assert_allclose(out_boxes[:, 2] - out_boxes[:, 0], (boxes[:, 2] - boxes[:, 0])[order],
                                   atol=1e-4)
        np.testing.assert_array_equal(out_labels, labels[order])
        np.testing.assert_array_equal(scores, np.ones(5))


def test_grid_targets_batch_and_no_boxes():
    t = det.grid_targets([np.zeros((0, 4)), [[0, 0, 8, 8]]], [[], [1]], grid_size=4, image_size=32,
                         num_classes=2)
    assert t.shape == (2, 4, 4, 7) and t[0].sum() == 0 and t[1, 0, 0, 0] == 1
    boxes, scores, labels = det.decode_grid(t[0], image_size=32, score_threshold=0.1)
    assert boxes.shape == (0, 4) and scores.shape == labels.shape == (0,)
    with pytest.raises(ValueError, match=r"labels must be ints in \[0, 2\)"):
        det.encode_grid([[0, 0, 8, 8]], [2], grid_size=4, image_size=32, num_classes=2)
    with pytest.raises(ValueError, match="one label per box"):
        det.encode_grid([[0, 0, 8, 8]], [0, 1], grid_size=4, image_size=32, num_classes=2)


# --------------------------------------------------------------------------------------------- anchors


def test_make_anchors_centres_and_sizes():
    a = det.make_anchors(2, 16, sizes=[4], aspect_ratios=[1.0, 4.0])
    assert a.shape == (2 * 2 * 2, 4)
    # cell centres at 4 and 12; ratio 4 means width 8, height 2 at area 16
    np.testing.assert_allclose(a[0], [2, 2, 6, 6])
    np.testing.assert_allclose(a[1], [0, 3, 8, 5])
    np.testing.assert_allclose(a[2], [10, 2, 14, 6])  # second cell of the first row (x = 12)


def test_anchor_round_trip_and_assignment():
    rng = np.random.default_rng(7)
    anchors = det.make_anchors(4, 64, sizes=[12, 24], aspect_ratios=[0.5, 1, 2])
    # objects near some anchors (several positives by IoU) and one unlike any anchor (positive only by force)
    boxes = anchors[rng.choice(len(anchors), 3, replace=False)] + rng.uniform(-2, 2, (3, 4))
    boxes = np.concatenate([boxes, [[30, 30, 33, 62]]])
    labels = np.array([0, 2, 1, 2])
    classes, offsets, matched = det.encode_anchors(boxes, labels, anchors)
    positive = classes > 0
    assert set(matched[positive]) == set(range(4))  # every object has at least one anchor
    decoded = det.decode_anchors(offsets, anchors)
    np.testing.assert_allclose(decoded[positive], boxes[matched[positive]], atol=1e-9)
    np.testing.assert_array_equal(classes[positive], labels[matched[positive]] + 1)
    matrix = det.iou(anchors, boxes)
    overlaps = matrix.max(1)
    forced = np.zeros(len(anchors), bool)
    forced[matrix.argmax(0)] = True  # each object's best anchor is positive whatever its IoU
    assert (classes[(overlaps < 0.4) & ~forced] == 0).all() and (classes[(overlaps >= 0.5)] > 0).all()
    ignored = (overlaps >= 0.4) & (overlaps < 0.5) & ~forced
    assert (classes[ignored] == -1).all()
    assert positive.sum() > forced.sum()  # some anchors are positive by their IoU alone


def test_anchor_identical_to_a_box_has_zero_offsets_and_no_boxes_means_background():
    anchors = np.array([[0, 0, 10, 10], [20, 20, 30, 40]], float)
    classes, offsets, matched = det.encode_anchors([[20, 20, 30, 40]], [3], anchors)
    np.testing.assert_array_equal(classes, [0, 4])
    np.testing.assert_allclose(offsets, 0)
    np.testing.assert_array_equal(matched, [-1, 0])
    classes, offsets, matched = det.encode_anchors(np.zeros((0, 4)), [], anchors)
    assert (classes == 0).all() and (matched == -1).all()
    with pytest.raises(ValueError, match="positive width and height"):
        det.encode_anchors([[0, 0, 1, 1]], [0], [[0, 0, 0, 1]])


# --------------------------------------------------------------------------------------- average precision


def brute_force_ap(pred_boxes, pred_scores, true_boxes, thr):
    """AP written another way: the mean, over ground-truth objects, of the best precision reached at a
    recall at least as large as the one that object's detection brings (0 for objects never found)."""
    dets = [(s, i, b) for i, (bs, ss) in enumerate(zip(pred_boxes, pred_scores)) for b, s in zip(bs, ss)]
    dets = sorted(dets, key=lambda d: -d[0])
    used = set()
    tp_flags = []
    for _, i, b in dets:
        best, best_j = 0.0, None
        for j, t in enumerate(true_boxes[i]):
            w = min(b[2], t[2]) - max(b[0], t[0])
            h = min(b[3], t[3]) - max(b[1], t[1])
            inter = max(w, 0) * max(h, 0)
            union = (b[2] - b[0]) * (b[3] - b[1]) + (t[2] - t[0]) * (t[3] - t[1]) - inter
            o = inter / union if union > 0 else 0.0
            if o > best:
                best, best_j = o, j
        hit = best_j is not None and best >= thr and (i, best_j) not in used
        if hit:
            used.add((i, best_j))
        tp_flags.append(hit)
    n_true = sum(len(t) for t in true_boxes)
    precisions, found = [], 0
    for k, hit in enumerate(tp_flags, start=1):
        found += hit
        precisions.append((found, found / k))
    total = 0.0
    for j in range(1, n_true + 1):  # the j-th object found
        reachable = [p for f, p in precisions if f >= j]
        total += max(reachable) if reachable else 0.0
    return total / n_true


def test_average_precision_hand_worked():
    # One image, three objects, five detections ranked TP, FP (duplicate), TP, FP (background), TP.
    # Precision at each rank: 1, 1/2, 2/3, 1/2, 3/5; recall: 1/3, 1/3, 2/3, 2/3, 1.
    # Interpolated: 1 up to recall 1/3, 2/3 up to 2/3, 3/5 up to 1. AP = (1 + 2/3 + 3/5) / 3 = 34/45.
    truth = [np.array([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10]])]
    boxes = [np.array([[0, 0, 10, 10], [1, 0, 10, 10], [20, 0, 30, 11], [60, 60, 70, 70], [40, 1, 50, 10]])]
    scores = [np.array([0.9, 0.8, 0.7, 0.6, 0.5])]
    assert det.average_precision(boxes, scores, truth) == pytest.approx(34 / 45, abs=1e-12)
    recall, precision, ranked, is_tp = det.precision_recall(boxes, scores, truth)
    np.testing.assert_array_equal(is_tp, [True, False, True, False, True])
    np.testing.assert_allclose(precision, [1, 1 / 2, 2 / 3, 1 / 2, 3 / 5])
    np.testing.assert_allclose(recall, [1 / 3, 1 / 3, 2 / 3, 2 / 3, 1])
    # At IoU 0.95 the third and fifth detections (IoU 100/110 and 90/100) no longer count: TP, FP, FP, FP, FP
    # -> precision 1 up to recall 1/3 and nothing after: AP = 1/3
    assert det.average_precision(boxes, scores, truth, iou_threshold=0.95) == pytest.approx(1 / 3)


@pytest.mark.parametrize("seed", range(8))
def test_average_precision_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_images = int(rng.integers(1, 6))
    truth, boxes, scores = [], [], []
    for _ in range(n_images):
        t = random_boxes(rng, int(rng.integers(0, 5)), size=40)
        # detections: jittered copies of some objects (some duplicated) and random false alarms
        near = t[rng.integers(0, len(t), int(rng.integers(0, 6)))] if len(t) else np.zeros((0, 4))
        near = near + rng.normal(0, 1.5, near.shape)
        near[:, 2:] = np.maximum(near[:, 2:], near[:, :2] + 0.1)
        b = np.concatenate([near, random_boxes(rng, int(rng.integers(0, 4)), size=40)])
        truth.append(t)
        boxes.append(b)
        scores.append(rng.uniform(size=len(b)))
    if sum(len(t) for t in truth) == 0:
        truth[0] = random_boxes(rng, 2, size=40)
    for thr in (0.3, 0.5, 0.75):
        assert det.average_precision(boxes, scores, truth, iou_threshold=thr) == pytest.approx(
            brute_force_ap(boxes, scores, truth, thr), abs=1e-12)


def test_average_precision_edge_cases():
    truth = [np.array([[0, 0, 10, 10]]), np.zeros((0, 4))]
    nothing = [np.zeros((0, 4)), np.zeros((0, 4))]
    no_scores = [np.zeros(0), np.zeros(0)]
    assert det.average_precision(nothing, no_scores, truth) == 0.0  # no predictions
    assert np.isnan(det.average_precision(nothing, no_scores, [np.zeros((0, 4))] * 2))  # no ground truth
    perfect = [np.array([[0, 0, 10, 10]]), np.zeros((0, 4))]
    assert det.average_precision(perfect, [np.array([0.3]), np.zeros(0)], truth) == 1.0
    # a false alarm ranked first halves the precision at full recall: AP = 1/2
    worse = [np.array([[0, 0, 10, 10]]), np.array([[50, 50, 60, 60]])]
    assert det.average_precision(worse, [np.array([0.3]), np.array([0.9])], truth) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="one entry per image"):
        det.average_precision(perfect, [np.array([0.3])], truth)
    with pytest.raises(TypeError, match="one entry per image"):
        det.average_precision(np.zeros((2, 4)), [1, 1], truth)
    assert det.voc_ap([], []) == 0.0


def test_mean_average_precision_over_classes_and_thresholds():
    truth_boxes = [np.array([[0, 0, 10, 10], [20, 20, 30, 30]])]
    truth_labels = [np.array([0, 1])]
    # class 0 found exactly; class 1 by the 8x8 box centred in its 10x10 box: IoU 64/100
    pred = [np.array([[0, 0, 10, 10], [21, 21, 29, 29]])]
    overlap = 64 / 100
    value, table = det.mean_average_precision(pred, [np.array([0.9, 0.8])], [np.array([0, 1])], truth_boxes,
                                              truth_labels, num_classes=3, iou_thresholds=[0.5, 0.75],
                                              return_table=True)
    assert overlap < 0.75
    np.testing.assert_array_equal(table[:, :2], [[1.0, 1.0], [1.0, 0.0]])
    assert np.isnan(table[:, 2]).all()  # class 2 has no ground truth and does not count
    assert value == pytest.approx(0.75)
    # a right box with the wrong label is no detection of either class
    wrong = det.mean_average_precision(pred, [np.array([0.9, 0.8])], [np.array([1, 0])], truth_boxes,
                                       truth_labels, num_classes=3)
    assert wrong == 0.0
    no_pred = det.mean_average_precision([np.zeros((0, 4))], [np.zeros(0)], [np.zeros(0, int)], truth_boxes,
                                         truth_labels, num_classes=2)
    assert no_pred == 0.0
    with pytest.raises(ValueError, match=r"pred_labels\[0\] must be ints in \[0, 2\)"):
        det.mean_average_precision(pred, [np.array([0.9, 0.8])], [np.array([0, 5])], truth_boxes,
                                   truth_labels, num_classes=2)
    with pytest.raises(ValueError, match=r"true_boxes\[0\] must have x_max >= x_min"):
        det.mean_average_precision(pred, [np.array([0.9, 0.8])], [np.array([0, 1])],
                                   [np.array([[5, 0, 1, 1]])], [np.array([0])], num_classes=2)


# ----------------------------------------------------------------------------------------------- model


def test_grid_detector_shapes_and_loss():
    model = det.grid_detector(input_shape=(32, 32, 3), grid_size=4, num_classes=3, filters=4)
    out = model(np.zeros((2, 32, 32, 3), np.float32))
    assert tuple(out.shape) == (2, 4, 4, 8)
    out = np.asarray(out)
    assert ((out[..., :5] > 0) & (out[..., :5] < 1)).all()
    np.testing.assert_allclose(out[..., 5:].sum(-1), 1, rtol=1e-5)
    loss = det.grid_loss(lambda_coord=5.0, lambda_noobj=0.5)
    target = np.zeros((1, 2, 2, 6), np.float32)
    target[0, 0, 0] = [1, 0.5, 0.5, 0.25, 0.25, 1]
    pred = target.copy()
    assert float(loss(target, pred)[0]) == pytest.approx(0.0, abs=1e-3)
    # Hand-worked: x off by 0.1 in the object cell (5 * 0.1**2), objectness 0.2 in an empty cell
    # (0.5 * -log 0.8), class probability 0.5 for the right class (-log 0.5) and objectness 0.9 where the
    # object is (-log 0.9)
    pred[0, 0, 0, 1] = 0.6
    pred[0, 1, 1, 0] = 0.2
    assert float(loss(target, pred)[0]) == pytest.approx(5 * 0.01 + 0.5 * -np.log(0.8), abs=1e-3)
    target = np.zeros((1, 1, 1, 7), np.float32)
    target[0, 0, 0] = [1, 0.5, 0.5, 0.25, 0.25, 0, 1]
    pred = target.copy()
    pred[0, 0, 0, [0, 5, 6]] = [0.9, 0.5, 0.5]
    assert float(loss(target, pred)[0]) == pytest.approx(-np.log(0.5) - np.log(0.9), abs=1e-3)
    with pytest.raises(ValueError, match="grid_size"):
        det.grid_detector(input_shape=(48, 48, 3), grid_size=5)


def test_drawing_places_boxes_on_pixel_edges():
    import matplotlib

    matplotlib.use("Agg")
    images = np.zeros((3, 16, 16, 3))
    boxes = [np.array([[2, 3, 6, 9]]), np.zeros((0, 4)), np.array([[0, 0, 16, 16], [1, 1, 2, 2]])]
    fig = det.show_detections(images, boxes, [np.array([1]), np.zeros(0, int), np.array([0, 1])],
                              [np.array([0.5]), np.zeros(0), np.array([0.9, 0.1])], true_boxes=boxes,
                              class_names=["a", "b"], ncols=2)
    axes = fig.axes
    assert len(axes) == 3
    rect = axes[0].patches[-1]  # the prediction, drawn after the dashed truth
    # pixel columns 2..5 span 1.5 to 5.5 on an imshow axis; rows 3..8 span 2.5 to 8.5
    assert (rect.get_x(), rect.get_y(), rect.get_width(), rect.get_height()) == (1.5, 2.5, 4, 6)
    assert len(axes[1].patches) == 0 and len(axes[2].patches) == 4
    assert [t.get_text() for t in axes[2].texts] == ["a 0.90", "b 0.10"]
    import matplotlib.pyplot as plt

    plt.close(fig)
