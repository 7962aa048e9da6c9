"""Tests of the figures at the end of course_lib.plotting that draw course_lib.visualize's results (heat maps,
patches, filter evolution), and of top_confusions. Expected pixels and counts are worked out here, from the
inputs. (conftest.py selects the Agg backend.)"""

from __future__ import annotations

from collections import Counter

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_lib import plotting


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def images(n=3, shape=(8, 8, 3), seed=0):
    return np.random.default_rng(seed).random((n, *shape)).astype(np.float32)


def image_axes(fig):
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def test_heatmap_overlay_stretches_the_map_over_the_image():
    img = images(1)[0]
    heat = np.arange(4.0).reshape(2, 2)
    fig = plotting.plot_heatmap_overlay(img, heat, title="t", alpha=0.3)
    assert fig._suptitle.get_text() == "t"
    overlay = fig.axes[1]
    heat_image = overlay.images[1]
    assert heat_image.get_extent() == [-0.5, 7.5, 7.5, -0.5]  # covers the 8x8 image exactly
    assert heat_image.get_alpha() == 0.3
    assert heat_image.get_clim() == (0.0, 3.0)
    assert len(fig.axes) == 3  # image, overlay, colour bar


def test_signed_heatmap_uses_a_symmetric_diverging_scale():
    fig = plotting.plot_heatmap_overlay(images(1, (6, 6))[0], np.array([[-1.0, 0.5], [0.2, 0.0]]))
    heat_image = fig.axes[1].images[1]
    assert heat_image.get_clim() == (-1.0, 1.0)
    assert heat_image.get_cmap().name == "RdBu_r"


@pytest.mark.parametrize(
    "image, heat, alpha, match",
    [
        (np.zeros((8, 8, 3)), np.zeros((2, 2, 2)), 0.5, "heatmap must be a 2-D map"),
        (np.zeros((8, 8, 3)), np.full((2, 2), np.nan), 0.5, "finite"),
        (np.full((8, 8, 3), 2.0), np.zeros((2, 2)), 0.5, r"\[0, 1\]"),
        (np.zeros((8, 8, 3)), np.zeros((2, 2)), 1.5, r"alpha must be a float in \[0, 1\], got 1.5"),
    ],
)
def test_heatmap_overlay_rejects_bad_input(image, heat, alpha, match):
    with pytest.raises(ValueError, match=match):
        plotting.plot_heatmap_overlay(image, heat, alpha=alpha)


def test_attribution_grid_has_one_row_per_image_and_one_column_per_method():
    imgs = images(3)
    maps = {"saliency": list(np.random.default_rng(1).random((3, 8, 8))),
            "Grad-CAM": list(np.random.default_rng(2).random((3, 2, 2)))}
    fig = plotting.plot_attribution_grid(imgs, maps, row_labels=["a", "b", "c"])
    axes = image_axes(fig)
    assert len(axes) == 9
    assert [ax.get_title() for ax in axes[:3]] == ["image", "saliency", "Grad-CAM"]
    assert [axes[3 * i].get_ylabel() for i in range(3)] == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"maps\['saliency'\] must hold one map per image \(2\), got 3"):
        plotting.plot_attribution_grid(imgs[:2], maps)
    with pytest.raises(ValueError, match="non-empty"):
        plotting.plot_attribution_grid(imgs, {})


def mosaic_of(fig):
    (ax,) = fig.axes
    return ax, np.asarray(ax.images[0].get_array())


def test_patch_grid_tiles_the_patches_with_gaps():
    patches = images(4, (5, 5, 3))
    fig = plotting.plot_patch_grid(patches, captions=["1", "2", "3", "4"], title="top")
    ax, mosaic = mosaic_of(fig)
    assert mosaic.shape == (1 + 6, 1 + 4 * 6, 3)  # 1-pixel white gaps around 5x5 cells
    for j in range(4):
        np.testing.assert_allclose(mosaic[1:6, 1 + 6 * j: 6 + 6 * j], patches[j])
    assert mosaic[0].min() == 1.0 and mosaic[:, 0].min() == 1.0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3", "4"]
    assert ax.get_title() == "top"


def test_patch_grid_rows_of_different_sizes_are_centred():
    small, big = images(3, (5, 5, 3)), images(2, (7, 7, 3), seed=1)
    fig = plotting.plot_patch_grid([small, big[..., :1]], row_labels=["ch 0", "ch 1"])
    ax, mosaic = mosaic_of(fig)
    assert mosaic.shape == (1 + 2 * 8, 1 + 3 * 8, 3)
    np.testing.assert_allclose(mosaic[2:7, 2:7], small[0])  # 5x5 centred in a 7x7 cell
    np.testing.assert_allclose(mosaic[9:16, 9:16, 0], big[1, ..., 0])  # grey patch drawn as grey RGB
    np.testing.assert_allclose(mosaic[9:16, 9:16, 2], big[1, ..., 0])
    assert np.all(mosaic[9:16, 17:24] == 1.0)  # the second row is one patch short
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ch 0", "ch 1"]
    with pytest.raises(ValueError, match="row_labels must have one entry per row"):
        plotting.plot_patch_grid([images(2)], row_labels=["a", "b"])
    with pytest.raises(ValueError, match="captions"):
        plotting.plot_patch_grid(images(2), captions=["x"])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plotting.plot_patch_grid(images(2) * 3)


def test_kernel_evolution_keeps_one_scale_per_filter():
    rng = np.random.default_rng(0)
    first = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
    last = 3 * first  # same pattern, three times the weights: must look stronger, not identical
    fig = plotting.plot_kernel_evolution([first, last], ["init", "epoch 1"], max_filters=2)
    ax, mosaic = mosaic_of(fig)
    assert mosaic.shape == (1 + 2 * 4, 1 + 2 * 4, 3)  # 2 snapshots x 2 filters of 3x3
    assert [t.get_text() for t in ax.get_yticklabels()] == ["init", "epoch 1"]
    for j in range(2):
        limit = np.abs(last[..., j]).max()  # the filter's largest weight over both snapshots
        np.testing.assert_allclose(mosaic[1:4, 1 + 4 * j: 4 + 4 * j], 0.5 + 0.5 * first[..., j] / limit,
                                   atol=1e-6)
        np.testing.assert_allclose(mosaic[5:8, 1 + 4 * j: 4 + 4 * j], 0.5 + 0.5 * last[..., j] / limit,
                                   atol=1e-6)
    grey = plotting.plot_kernel_evolution([first[:, :, :1], last[:, :, :1]], max_filters=1)
    _, g = mosaic_of(grey)
    np.testing.assert_allclose(g[1:4, 1:4, 1], 0.5 + 0.5 * first[:, :, 0, 0] / np.abs(last[:, :, 0, 0]).max(),
                               atol=1e-6)
    with pytest.raises(ValueError, match="one shape"):
        plotting.plot_kernel_evolution([first, first[..., :2]])
    with pytest.raises(ValueError, match="snapshots is empty"):
        plotting.plot_kernel_evolution([])


def test_top_confusions_counts_mistakes_independently():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 4, 300))
    mistakes = Counter((int(t), int(p)) for t, p in zip(y_true, y_pred) if t != p)
    # largest count first, ties in row-major (true, predicted) order, as the docstring promises
    expected = sorted(mistakes.items(), key=lambda item: (-item[1], item[0]))[:3]
    got = plotting.top_confusions(y_true, y_pred, class_names=["a", "b", "c", "d"], k=3)
    assert got == [("abcd"[t], "abcd"[p], c) for (t, p), c in expected]
    # one-hot labels and score rows name the same classes
    one_hot, scores = np.eye(4)[y_true], np.eye(4)[y_pred] * 0.7 + 0.1
    assert plotting.top_confusions(one_hot, scores, class_names=["a", "b", "c", "d"], k=3) == got


def test_top_confusions_worked_example_with_ties():
    # Counted by hand: 0->1 twice, 1->0 twice, 2->1 twice, 2->0 once; the last pair is right.
    y_true = [0, 0, 1, 1, 2, 2, 2, 0]
    y_pred = [1, 1, 0, 0, 0, 1, 1, 0]
    assert plotting.top_confusions(y_true, y_pred, k=3) == [("0", "1", 2), ("1", "0", 2), ("2", "1", 2)]
    # pairs that never occur are left out, so k=10 gives the four mistakes only
    assert plotting.top_confusions(y_true, y_pred, k=10) == [
        ("0", "1", 2), ("1", "0", 2), ("2", "1", 2), ("2", "0", 1)
    ]
    assert plotting.top_confusions([0, 1], [0, 1]) == []
