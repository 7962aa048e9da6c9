"""Tests of the core figures in course_lib.plotting.

Each returns a Figure with the right axes, titles and data, and rejects input of the wrong shape. (The
inspection figures appended later are tested in test_plotting_inspect.py.)
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display in tests; the module itself never calls plt.show()

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_lib import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def rand(*shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def image_axes(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


# ---- show_images -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("shape", "ncols"), [((10, 8, 8), 8), ((3, 8, 8, 3), 8), ((5, 6, 6, 1), 2)])
def test_show_images_one_axes_per_image_with_title(shape, ncols):
    fig = plotting.show_images(rand(*shape), title="a batch", ncols=ncols)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == shape[0]
    assert fig._suptitle.get_text() == "a batch"
    # the grid is ncols wide: the first row's axes share one top edge
    tops = sorted({round(ax.get_position().y1, 6) for ax in fig.axes})
    assert len(tops) == -(-shape[0] // ncols)


def test_show_images_captions_use_class_names_and_draw_the_pixels():
    x = rand(3, 4, 4, 3)
    fig = plotting.show_images(x, labels=np.array([2, 0, 1]), class_names=["cat", "dog", "emu"])
    assert [ax.get_title() for ax in fig.axes] == ["emu", "cat", "dog"]
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), x[1], atol=1e-6)


def test_show_images_accepts_uint8_as_0_to_255():
    x = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    fig = plotting.show_images(x)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), x[0] / 255.0, atol=1e-6)


@pytest.mark.parametrize(("images", "kwargs", "message"), [
    (rand(8, 8), {}, r"images must be a 3-D or 4-D array \(N, H, W\) or \(N, H, W, C\), got shape \(8, 8\)"),
    (rand(2, 8, 8, 2), {}, "1 or 3 channels"),
    (rand(2, 8, 8) * 3, {}, r"must lie in \[0, 1\]"),
    (rand(0, 8, 8), {}, "empty"),
    (rand(2, 8, 8), {"labels": [1, 2, 3]}, "one entry per image"),
    (rand(2, 8, 8), {"ncols": 0}, "ncols must be a positive int, got 0"),
    (rand(2, 8, 8), {"labels": [0, 5], "class_names": ["a", "b"]}, "outside class_names"),
])
def test_show_images_rejects_bad_input(images, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plotting.show_images(images, **kwargs)


# The kit's rule (course_lib.validation): a count that is not an int is a TypeError, one below 1 a ValueError.
@pytest.mark.parametrize("call", [
    lambda v: plotting.show_images(rand(2, 8, 8), ncols=v),
    lambda v: plotting.plot_kernels(rand(3, 3, 1, 4), max_kernels=v),
    lambda v: plotting.plot_feature_maps(rand(4, 4, 3), max_maps=v),
    lambda v: plotting.top_confusions([0, 1], [1, 0], k=v),
    lambda v: plotting.show_misclassified(rand(2, 4, 4), [0, 1], [1, 0], n=v),
    lambda v: plotting.plot_kernel_evolution([rand(3, 3, 1, 2)], max_filters=v),
])
@pytest.mark.parametrize("value,exc,shown", [
    (0, ValueError, "0"), (-3, ValueError, "-3"),
    (2.0, TypeError, "float 2.0"), (True, TypeError, "bool True"),
])
def test_counts_reject_non_positive_and_non_int(call, value, exc, shown):
    with pytest.raises(exc, match=f"must be a positive int, got {shown}"):
        call(value)


def test_counts_accept_numpy_integers():
    assert len(plotting.show_images(rand(3, 8, 8), ncols=np.int64(2)).axes) == 3


@pytest.mark.parametrize("alpha,exc", [(1.5, ValueError), (-0.1, ValueError), (float("nan"), ValueError),
                                       ("0.5", TypeError), (None, TypeError)])
def test_overlays_reject_bad_alpha(alpha, exc):
    img, heat = rand(8, 8, 3), rand(2, 2)
    with pytest.raises(exc, match=r"alpha must be a float in \[0, 1\], got"):
        plotting.plot_heatmap_overlay(img, heat, alpha=alpha)
    with pytest.raises(exc, match=r"alpha must be a float in \[0, 1\], got"):
        plotting.plot_attribution_grid(img[None], {"m": [heat]}, alpha=alpha)


# ---- plot_kernels ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("shape", "n_axes"), [
    ((5, 5, 3, 6), 6),  # RGB: one patch per output filter
    ((3, 3, 2, 4), 8),  # one patch per (input, output) pair
    ((3, 3, 1, 5), 5),
    ((3, 3, 16, 32), 32),  # 512 pairs > max_kernels: first input channel only
])
def test_plot_kernels_axes_count(shape, n_axes):
    w = np.random.default_rng(0).normal(size=shape)
    fig = plotting.plot_kernels(w, title="conv1")
    assert len(fig.axes) == n_axes and fig._suptitle.get_text() == "conv1"


def test_plot_kernels_rgb_patch_is_min_max_scaled():
    w = np.random.default_rng(1).normal(size=(3, 3, 3, 2)).astype(np.float32)
    fig = plotting.plot_kernels(w)
    patch = w[:, :, :, 1]
    expected = (patch - patch.min()) / (patch.max() - patch.min())
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), expected, atol=1e-6)
    assert "RGB" in fig._suptitle.get_text()


def test_plot_kernels_grey_patches_share_a_symmetric_scale():
    w = np.array([[[[1.0, -3.0]]]])  # (1, 1, 1, 2)
    fig = plotting.plot_kernels(w)
    for ax in fig.axes:
        assert ax.images[0].get_clim() == (-3.0, 3.0)


@pytest.mark.parametrize("shape", [(3, 3), (3, 3, 8), (1, 3, 3, 3, 8)])
def test_plot_kernels_rejects_non_4d(shape):
    with pytest.raises(ValueError, match=r"kernels must be a 4-D array \(KH, KW, C_in, C_out\), got shape"):
        plotting.plot_kernels(np.zeros(shape))


# ---- plot_feature_maps -------------------------------------------------------------------------------------


def test_plot_feature_maps_one_axes_per_channel_up_to_max():
    maps = rand(6, 6, 10)
    assert len(plotting.plot_feature_maps(maps).axes) == 10
    fig = plotting.plot_feature_maps(maps[None], max_maps=4)  # a batch of one is accepted
    assert len(fig.axes) == 4 and "first 4" in fig._suptitle.get_text()
    np.testing.assert_allclose(fig.axes[3].images[0].get_array(), maps[:, :, 3])


@pytest.mark.parametrize("shape", [(6, 6), (2, 6, 6, 3)])
def test_plot_feature_maps_rejects_wrong_shape(shape):
    with pytest.raises(ValueError, match=r"maps must have shape \(H, W, C\)"):
        plotting.plot_feature_maps(rand(*shape))


# ---- plot_history ------------------------------------------------------------------------------------------

HISTORY = {"loss": [1.0, 0.6, 0.4], "val_loss": [1.1, 0.8, 0.7], "accuracy": [0.5, 0.7, 0.8],
           "val_accuracy": [0.45, 0.6, 0.65]}


class FakeHistory:
    """What keras.callbacks.History exposes to the plot: a ``history`` dict."""

    history = HISTORY


@pytest.mark.parametrize("history", [HISTORY, FakeHistory()])
def test_plot_history_train_and_validation_curves(history):
    fig = plotting.plot_history(history, title="run 1")
    assert len(fig.axes) == 2 and fig._suptitle.get_text() == "run 1"
    loss_ax = fig.axes[0]
    assert loss_ax.get_xlabel() == "epoch" and loss_ax.get_ylabel() == "loss"
    train, val = loss_ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(train.get_ydata(), HISTORY["loss"])
    np.testing.assert_allclose(val.get_ydata(), HISTORY["val_loss"])


def test_plot_history_skips_missing_metrics_and_rejects_when_none_match():
    fig = plotting.plot_history({"loss": [1.0, 0.5]}, metrics=("loss", "accuracy"))
    assert len(fig.axes) == 1 and len(fig.axes[0].get_lines()) == 1
    with pytest.raises(ValueError, match=r"none of metrics .* it has \['loss'\]"):
        plotting.plot_history({"loss": [1.0]}, metrics=("accuracy",))
    with pytest.raises(TypeError, match="history must be"):
        plotting.plot_history([1.0, 0.5])


# ---- confusion matrix --------------------------------------------------------------------------------------


def test_confusion_matrix_matches_scikit_learn():
    from sklearn.metrics import confusion_matrix as sk_confusion

    rng = np.random.default_rng(3)
    t, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    np.testing.assert_array_equal(plotting.confusion_matrix(t, p), sk_confusion(t, p))
    scores = np.eye(4)[p] * 0.9 + 0.025  # score rows whose argmax is p
    np.testing.assert_array_equal(plotting.confusion_matrix(t, scores, num_classes=4), sk_confusion(t, p))


def test_plot_confusion_matrix_axes_title_and_normalised_rows():
    t = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    p = np.array([0, 1, 1, 1, 2, 0, 2, 2])
    fig = plotting.plot_confusion_matrix(t, p, class_names=["a", "b", "c"], normalize=True)
    assert len(image_axes(fig)) == 1 and len(fig.axes) == 2  # the matrix and its colour bar
    ax = image_axes(fig)[0]
    assert "accuracy 0.750" in ax.get_title()  # 6 of 8 right
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()).sum(axis=1), 1.0)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]


@pytest.mark.parametrize(("y_true", "y_pred", "kwargs", "message"), [
    ([0, 1, 2], [0, 1], {}, "same length"),
    ([0, 1, 3], [0, 1, 2], {"class_names": ["a", "b", "c"]}, r"y_true must hold labels in \[0, 3\)"),
    ([0, -1], [0, 1], {}, "non-negative"),
    ([0.5, 1], [0, 1], {}, "integer class indices"),
])
def test_plot_confusion_matrix_rejects_bad_labels(y_true, y_pred, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plotting.plot_confusion_matrix(y_true, y_pred, **kwargs)


# ---- show_misclassified ------------------------------------------------------------------------------------


def test_show_misclassified_shows_only_the_wrong_ones():
    x = rand(6, 5, 5)
    t = np.array([0, 1, 2, 0, 1, 2])
    p = np.array([0, 2, 2, 1, 1, 0])  # wrong at 1, 3, 5
    fig = plotting.show_misclassified(x, t, p, class_names=["a", "b", "c"])
    assert len(fig.axes) == 3 and fig._suptitle.get_text() == "3 of 6 misclassified"
    assert fig.axes[0].get_title() == "b -> c"
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), x[3])
    assert len(plotting.show_misclassified(x, t, p, n=2).axes) == 2


def test_show_misclassified_with_scores_and_with_no_mistakes():
    scores = np.array([[0.1, 0.9], [0.8, 0.2]])
    fig = plotting.show_misclassified(rand(2, 4, 4, 3), [0, 1], scores)
    assert [ax.get_title() for ax in fig.axes] == ["0 -> 1 (0.90)", "1 -> 0 (0.80)"]
    fig = plotting.show_misclassified(rand(2, 4, 4), [0, 1], [0, 1])
    assert len(fig.axes) == 1 and fig._suptitle.get_text() == "0 of 2 misclassified"


def test_show_misclassified_is_legible_and_no_caption_hides_behind_the_row_above():
    t = np.arange(20) % 10
    fig = plotting.show_misclassified(rand(20, 8, 8), t, (t + 1) % 10, n=16, title="a title")
    assert fig.get_size_inches()[0] <= 11
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    captions = [ax.title for ax in fig.axes]
    assert min(c.get_fontsize() for c in captions) >= 11
    for upper, lower in zip(fig.axes[:8], fig.axes[8:]):  # caption of row 2 below the image of row 1
        assert lower.title.get_window_extent(renderer).y1 <= upper.get_window_extent(renderer).y0
    top_caption = max(c.get_window_extent(renderer).y1 for c in captions)
    assert fig._suptitle.get_window_extent(renderer).y0 >= top_caption
    four_wide = plotting.show_misclassified(rand(20, 8, 8), t, (t + 1) % 10, n=16, ncols=4)
    assert four_wide.axes[0].get_subplotspec().get_geometry()[:2] == (4, 4)


def test_show_misclassified_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same length"):
        plotting.show_misclassified(rand(3, 4, 4), [0, 1], [0, 1])


# ---- plot_array --------------------------------------------------------------------------------------------


def test_plot_array_writes_every_value():
    a = np.array([[1.0, -2.5], [0.125, 4.0], [3.0, 0.0]])
    fig = plotting.plot_array(a, title="input")
    (ax,) = fig.axes
    assert ax.get_title() == "input" and ax.get_xlabel() == "column" and ax.get_ylabel() == "row"
    assert sorted(t.get_text() for t in ax.texts) == sorted(f"{v:.2f}" for v in a.ravel())
    ints = plotting.plot_array(np.arange(4).reshape(2, 2), fmt="d").axes[0]
    assert sorted(t.get_text() for t in ints.texts) == ["0", "1", "2", "3"]
    assert len(plotting.plot_array(a, annotate=False).axes[0].texts) == 0
    assert plotting.plot_array(a).axes[0].get_title() == "3 x 2 array"


@pytest.mark.parametrize("shape", [(4,), (2, 2, 2), (1, 2, 2, 1)])
def test_plot_array_rejects_non_2d(shape):
    with pytest.raises(ValueError, match="a must be a 2-D array"):
        plotting.plot_array(np.zeros(shape))


# ---- set_min_fontsize --------------------------------------------------------------------------------------


def test_set_min_fontsize_raises_small_texts_and_keeps_large_ones():
    fig, (left, right) = plt.subplots(1, 2)
    left.set_title("small", fontsize=6)
    left.text(0.5, 0.5, "tiny", fontsize=5)
    right.set_xlabel("large", fontsize=14)
    right.legend(handles=right.plot([0, 1], label="line"), fontsize=7)
    assert plotting.set_min_fontsize(right, 10) is fig  # an Axes stands for its figure
    sizes = {t.get_text(): t.get_fontsize() for t in fig.findobj(plt.Text) if t.get_text()}
    assert sizes["small"] == sizes["tiny"] == sizes["line"] == 10
    assert sizes["large"] == 14
    sub = plt.figure().subfigures(1, 2)[1]
    sub.suptitle("in a sub-figure", fontsize=6)
    assert plotting.set_min_fontsize(sub) is sub.figure and sub._suptitle.get_fontsize() == 10
    plt.close("all")


@pytest.mark.parametrize(("fig", "minimum", "exc"), [("figure", 10, TypeError), (None, 0, ValueError)])
def test_set_min_fontsize_rejects_bad_arguments(fig, minimum, exc):
    target = plt.figure() if fig is None else fig
    with pytest.raises(exc):
        plotting.set_min_fontsize(target, minimum)
    plt.close("all")
