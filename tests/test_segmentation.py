"""course_lib.segmentation against independent references: keras.metrics.MeanIoU, scikit-learn's confusion
matrix, F1 (Dice) and accuracy, hand-worked maps, edge cases, and the two builders' structure."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn import metrics as skm

from course_lib import segmentation as seg


def keras_mean_iou(y_true, y_pred, num_classes):
    m = keras.metrics.MeanIoU(num_classes=num_classes)
    m.update_state(y_true.reshape(-1), y_pred.reshape(-1))
    return float(m.result())


@pytest.mark.parametrize("seed", range(5))
def test_mean_iou_matches_keras_on_random_maps(seed):
    rng = np.random.default_rng(seed)
    c = int(rng.integers(2, 7))
    y_true = rng.integers(0, c, (3, 9, 11))
    # a noisy copy: mostly right, so the IoUs are spread out
    y_pred = np.where(rng.uniform(size=y_true.shape) < 0.6, y_true, rng.integers(0, c, y_true.shape))
    assert seg.mean_iou(y_true, y_pred, c) == pytest.approx(keras_mean_iou(y_true, y_pred, c), abs=1e-6)


def test_absent_classes_are_left_out_as_keras_does():
    y_true = np.array([[0, 0, 1], [1, 1, 0]])
    y_pred = np.array([[0, 1, 1], [1, 1, 0]])
    # classes 2 and 3 appear nowhere: NaN, and not counted in the mean. Class 0: TP 2, FP 0, FN 1 -> 2/3;
    # class 1: TP 3, FP 1, FN 0 -> 3/4. Mean 17/24.
    ious = seg.per_class_iou(y_true, y_pred, 4)
    np.testing.assert_allclose(ious[:2], [2 / 3, 3 / 4])
    assert np.isnan(ious[2:]).all()
    assert seg.mean_iou(y_true, y_pred, 4) == pytest.approx(17 / 24)
    assert seg.mean_iou(y_true, y_pred, 4) == pytest.approx(keras_mean_iou(y_true, y_pred, 4), abs=1e-6)
    # Dice: 2*2/(2*2+0+1) = 4/5 and 2*3/(2*3+1+0) = 6/7
    np.testing.assert_allclose(seg.dice(y_true, y_pred, 4)[:2], [4 / 5, 6 / 7])
    assert seg.mean_dice(y_true, y_pred, 4) == pytest.approx((4 / 5 + 6 / 7) / 2)
    assert seg.pixel_accuracy(y_true, y_pred, 4) == pytest.approx(5 / 6)


@pytest.mark.parametrize("seed", range(3))
def test_confusion_dice_and_accuracy_match_scikit_learn(seed):
    rng = np.random.default_rng(10 + seed)
    c = 5
    y_true = rng.integers(0, c, (2, 16, 16))
    y_pred = np.where(rng.uniform(size=y_true.shape) < 0.5, y_true, rng.integers(0, c, y_true.shape))
    flat_t, flat_p = y_true.reshape(-1), y_pred.reshape(-1)
    np.testing.assert_array_equal(seg.confusion_matrix(y_true, y_pred, c),
                                  skm.confusion_matrix(flat_t, flat_p, labels=range(c)))
    np.testing.assert_allclose(seg.dice(y_true, y_pred, c), skm.f1_score(flat_t, flat_p, average=None,
                                                                          labels=range(c)))
    np.testing.assert_allclose(seg.per_class_iou(y_true, y_pred, c),
                               skm.jaccard_score(flat_t, flat_p, average=None, labels=range(c)))
    assert seg.pixel_accuracy(y_true, y_pred, c) == pytest.approx(skm.accuracy_score(flat_t, flat_p))


def test_scores_are_taken_by_argmax_and_edge_cases():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, (2, 4, 4))
    probs = rng.uniform(size=(2, 4, 4, 3))
    assert seg.mean_iou(y_true, probs, 3) == seg.mean_iou(y_true, probs.argmax(-1), 3)
    assert seg.mean_iou(y_true, y_true, 3) == 1.0 and seg.pixel_accuracy(y_true, y_true, 3) == 1.0
    everything_wrong = (y_true + 1) % 3
    assert seg.mean_iou(y_true, everything_wrong, 3) == 0.0
    assert seg.mean_dice(y_true, everything_wrong, 3) == 0.0
    all_background = np.zeros((4, 4), int)
    assert seg.mean_iou(all_background, all_background, 2) == 1.0  # only class 0 present, and right
    assert np.isnan(seg.mean_iou(np.zeros((0, 4), int), np.zeros((0, 4), int), 2))


@pytest.mark.parametrize(("y_true", "y_pred", "error", "match"), [
    (np.zeros((2, 3), int), np.zeros((3, 2), int), ValueError, "y_pred must have y_true's shape"),
    (np.zeros((2, 3), float), np.zeros((2, 3), int), TypeError, "y_true must hold integer class labels"),
    (np.zeros((2, 3), int), np.full((2, 3), 4), ValueError, r"y_pred must hold labels in \[0, 3\)"),
    (np.full((2, 3), -1), np.zeros((2, 3), int), ValueError, r"y_true must hold labels in \[0, 3\)"),
])
def test_bad_inputs(y_true, y_pred, error, match):
    with pytest.raises(error, match=match):
        seg.mean_iou(y_true, y_pred, 3)


def test_builders_shapes_and_skips():
    f = seg.fcn(input_shape=(32, 32, 3), num_classes=4, filters=4, depth=2)
    u = seg.unet(input_shape=(32, 32, 3), num_classes=4, filters=4, depth=2)
    x = np.random.default_rng(0).uniform(size=(2, 32, 32, 3)).astype("float32")
    for model in (f, u):
        out = np.asarray(model(x))
        assert out.shape == (2, 32, 32, 4)
        np.testing.assert_allclose(out.sum(-1), 1, rtol=1e-5)
    kinds = lambda m: [type(layer).__name__ for layer in m.layers]  # noqa: E731
    assert "Concatenate" not in kinds(f) and kinds(f).count("Conv2DTranspose") == 1
    assert kinds(u).count("Concatenate") == 2 and kinds(u).count("Conv2DTranspose") == 2
    # the skip joins the encoder's full-resolution map to the decoder's
    assert u.get_layer("dec1_skip").output.shape[1:3] == (32, 32)
    assert f.get_layer("upsample").kernel.shape == (8, 8, 4, 4)  # kernel 2 * 2**depth, stride 2**depth
    with pytest.raises(ValueError, match="divisible by 2\\*\\*depth = 8"):
        seg.unet(input_shape=(36, 36, 3), depth=3)


def test_show_masks_paints_only_the_objects():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    images = np.full((2, 8, 8, 3), 0.2)
    masks = np.zeros((2, 8, 8), int)
    masks[0, 2:4, 2:4] = 1
    masks[1, 5:, 5:] = 2
    fig = seg.show_masks(images, masks, num_classes=3, class_names=["bg", "one", "two"], alpha=1.0,
                         titles=["x", "y"])
    shown = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(shown[0, 0], [0.2, 0.2, 0.2])  # background untouched
    np.testing.assert_allclose(shown[2, 2], plt.get_cmap("tab10")(0)[:3])  # class 1 painted in its colour
    assert fig.axes[1].get_title() == "y"
    with pytest.raises(ValueError, match="masks must have shape"):
        seg.show_masks(images, masks[:, :4], num_classes=3)
    plt.close("all")
