"""Tests of course_lib.drawing: what each diagram draws, checked against an independent computation.

Grid sizes come from TensorFlow (the output shape of ``tf.nn.conv2d``, ``tf.image.extract_patches``,
``tf.nn.conv2d_transpose``, a gradient for the cells a window reaches), architecture boxes from
``model.layers`` read here, and layouts from the renderer (no title may overlap another axes). conftest.py
selects nothing graphical, so the Agg backend is chosen here before pyplot is imported.
"""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from course_lib import drawing, models, plotting  # noqa: E402
from course_lib.drawing import colors  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --------------------------------------------------------------------------------------------------- helpers
def patches(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def texts(ax, gid):
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


def tf_conv_output(n, k, s, p):
    """Output side of a conv from TensorFlow itself: zeros padded by hand, then a VALID convolution."""
    x = tf.zeros((1, n + 2 * p, n + 2 * p, 1))
    return int(tf.nn.conv2d(x, tf.zeros((k, k, 1, 1)), strides=s, padding="VALID").shape[1])


def overlap_area(a, b):
    inter = Bbox.intersection(a, b)
    return 0.0 if inter is None else inter.width * inter.height


def assert_no_title_overlap(fig):
    """No axes title (nor the suptitle) overlaps another axes, and each title sits above its own axes."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    boxes = {id(ax): ax.get_window_extent(renderer) for ax in axes}
    titled = [(ax, ax.title) for ax in axes if ax.get_title()]
    for ax, title in titled:
        tb = title.get_window_extent(renderer)
        assert tb.y0 >= boxes[id(ax)].y1 - 2, f"title {title.get_text()!r} runs into its own axes"
        for other in axes:
            if other is not ax:
                assert overlap_area(tb, boxes[id(other)]) < 2, (
                    f"title {title.get_text()!r} overlaps another axes"
                )
    if fig._suptitle is not None and fig._suptitle.get_text():
        sb = fig._suptitle.get_window_extent(renderer)
        for ax in axes:
            assert overlap_area(sb, boxes[id(ax)]) < 2, "the suptitle overlaps an axes"
        for _, title in titled:
            assert overlap_area(sb, title.get_window_extent(renderer)) < 2, "the suptitle overlaps a title"


def has_colorbar(image):
    return image.colorbar is not None and image.colorbar.ax in image.axes.figure.axes


# ---------------------------------------------------------------------------------------------- colormaps
def test_heatmap_uses_the_diverging_map_with_symmetric_limits_for_signed_data():
    fig, ax = plt.subplots()
    image = colors.heatmap(ax, np.array([[-1.0, 3.0], [0.5, 0.0]]), label="weight")
    assert image.get_cmap().name == colors.DIVERGING_CMAP
    assert image.get_clim() == (-3.0, 3.0)
    assert has_colorbar(image) and image.colorbar.ax.get_ylabel() == "weight"


def test_heatmap_uses_the_sequential_map_from_zero_for_non_negative_data():
    fig, ax = plt.subplots()
    image = colors.heatmap(ax, np.array([[1.0, 2.0], [4.0, 3.0]]))
    assert image.get_cmap().name == colors.SEQUENTIAL_CMAP
    assert image.get_clim() == (0.0, 4.0)
    assert has_colorbar(image)


@pytest.mark.parametrize(
    ("data", "kwargs", "error", "match"),
    [
        (np.zeros(3), {}, ValueError, "2-D"),
        (np.array([[np.nan]]), {}, ValueError, "finite"),
        (np.zeros((2, 2)), {"signed": "yes"}, TypeError, "signed must be a bool"),
    ],
)
def test_heatmap_rejects_bad_input(data, kwargs, error, match):
    fig, ax = plt.subplots()
    with pytest.raises(error, match=match):
        colors.heatmap(ax, data, **kwargs)


def test_attribution_grid_uses_one_colormap_and_one_colorbar_per_method():
    rng = np.random.default_rng(0)
    imgs = rng.random((3, 8, 8, 3)).astype(np.float32)
    maps = {"saliency": list(rng.random((3, 8, 8))), "occlusion": list(rng.normal(size=(3, 4, 4)))}
    fig = plotting.plot_attribution_grid(imgs, maps)
    heat_images = [ax.images[1] for ax in fig.axes if ax.get_label() != "<colorbar>" and len(ax.images) == 2]
    assert len(heat_images) == 6
    # occlusion is signed, so the whole figure uses the diverging map, never a second one
    assert {im.get_cmap().name for im in heat_images} == {colors.DIVERGING_CMAP}
    colorbars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(colorbars) == 2
    # one scale per column: the occlusion column's limits are set by its largest |value| over all rows
    limit = max(np.abs(m).max() for m in maps["occlusion"])
    occlusion = [im for im in heat_images if im.get_array().shape == (4, 4)]
    assert all(np.allclose(im.get_clim(), (-limit, limit)) for im in occlusion)
    assert_no_title_overlap(fig)


# -------------------------------------------------------------------------------------------- sliding window
@pytest.mark.parametrize(
    ("n", "k", "s", "p"), [(7, 3, 1, 0), (7, 3, 2, 0), (7, 3, 3, 0), (5, 3, 1, 1), (6, 4, 2, 1)]
)
def test_sliding_window_draws_the_padded_input_and_the_output_grid(n, k, s, p):
    out = tf_conv_output(n, k, s, p)
    ax = drawing.draw_sliding_window(n, k, stride=s, padding=p, position=out * out - 1)
    assert len(patches(ax, "input-cell")) == n * n
    assert len(patches(ax, "pad-cell")) == (n + 2 * p) ** 2 - n * n
    assert len(patches(ax, "output-cell")) == out * out
    assert len(ax.get_lines()) == out * out  # one start dot per window: their spacing is the stride
    (window,) = patches(ax, "window")
    assert window.get_xy() == ((out - 1) * s, (out - 1) * s) and window.get_width() == k
    assert f"= {out}" in ax.get_title()
    # cells no window reaches, from TensorFlow: the gradient of the summed output is 0 exactly there
    x = tf.Variable(tf.ones((1, n + 2 * p, n + 2 * p, 1)))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.nn.conv2d(x, tf.ones((k, k, 1, 1)), strides=s, padding="VALID"))
    unreached = int(np.sum(tape.gradient(y, x).numpy() == 0))
    assert len(patches(ax, "uncovered")) == unreached


def test_sliding_window_position_as_row_and_column():
    ax = drawing.draw_sliding_window(7, 3, stride=2, position=(1, 2))
    (window,) = patches(ax, "window")
    assert window.get_xy() == (4, 2)
    filled = [
        c for c in patches(ax, "output-cell") if c.get_facecolor() != matplotlib.colors.to_rgba("white")
    ]
    assert len(filled) == 1 * 3 + 2 + 1  # the windows before (1, 2) in row-major order, and (1, 2) itself


def test_sliding_window_writes_values_into_the_input_cells():
    values = np.arange(25).reshape(5, 5)
    ax = drawing.draw_sliding_window(5, 3, padding=1, values=values)
    assert sorted(texts(ax, "input-cell-text"), key=int) == [str(v) for v in range(25)]
    assert texts(ax, "pad-cell-text") == ["0"] * (49 - 25)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"position": 9}, ValueError, r"position must be an int in \[0, 8\], got 9"),
        ({"position": (3, 0)}, ValueError, "position must lie inside the 3x3 output"),
        ({"kernel": 0}, ValueError, "kernel must be a positive int"),
        ({"stride": "2"}, TypeError, "stride must be"),
        ({"padding": -1}, ValueError, "padding must be"),
        ({"kernel": 9}, ValueError, "larger than the padded input"),
        ({"values": np.zeros((3, 3))}, ValueError, r"values must have the input's shape \(5, 5\)"),
    ],
)
def test_sliding_window_rejects_bad_arguments(kwargs, error, match):
    args = {"input_size": 5, "kernel": 3, **kwargs}
    with pytest.raises(error, match=match):
        drawing.draw_sliding_window(args.pop("input_size"), args.pop("kernel"), **args)


@pytest.mark.parametrize(("padding", "position"), [(1, 0), (1, 2), (0, 1), ("same", 3)])
def test_a_top_row_window_is_connected_to_its_output_cell_above_the_grid(padding, position):
    """The connector of a window in the top row stays above the padded input: it crosses no cell, no zero."""
    ax = drawing.draw_sliding_window(7, 3, padding=padding, position=position, fontsize=12)
    (connector,) = [t for t in ax.texts if t.get_gid() == "window-connector"]
    ax.figure.canvas.draw()
    path = connector.arrow_patch.get_path().transformed(connector.arrow_patch.get_transform())
    drawn = np.concatenate(path.to_polygons(closed_only=False))  # the curve itself, not its control points
    x, y = ax.transData.inverted().transform(drawn).T  # data units: row 0 at the top, y = 0 its edge
    cells = patches(ax, "input-cell") + patches(ax, "pad-cell")
    right_edge = max(c.get_x() + c.get_width() for c in cells)
    over_the_grid = x <= right_edge
    assert over_the_grid.any() and np.all(y[over_the_grid] <= 1e-6)
    assert y.min() > ax.get_ylim()[1]  # and below the top of the axes: it does not reach the title


@pytest.mark.parametrize(("n", "s"), [(8, 2), (9, 2), (6, 1)])
def test_sliding_window_same_padding_is_tensorflows(n, s):
    k = 3 if n != 6 else 2
    out = int(tf.nn.conv2d(tf.zeros((1, n, n, 1)), tf.zeros((k, k, 1, 1)), s, "SAME").shape[1])
    ax = drawing.draw_sliding_window(n, k, stride=s, padding="same")
    total = max((out - 1) * s + k - n, 0)  # TensorFlow's padding, the odd zero after the input
    assert len(patches(ax, "output-cell")) == out * out
    assert len(patches(ax, "pad-cell")) == (n + total) ** 2 - n * n
    assert min(c.get_xy()[0] for c in patches(ax, "input-cell")) == total // 2
    assert '"same" padding' in ax.get_title() and ax.get_title().endswith(f"= {out}")


def test_sliding_window_with_weights_writes_tensorflows_outputs_so_far():
    rng = np.random.default_rng(4)
    values, weights = rng.integers(-2, 3, (5, 5)), rng.integers(-1, 2, (3, 3))
    x, w = values[None, :, :, None].astype("float32"), weights[:, :, None, None].astype("float32")
    expected = tf.nn.conv2d(x, w, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]).numpy()[0, :, :, 0]  # 3x3
    ax = drawing.draw_sliding_window(5, 3, stride=2, padding=1, position=(1, 1), values=values,
                                     weights=weights)
    assert texts(ax, "output-cell-text") == [f"{v:g}" for v in expected.ravel()[:5]]
    assert ax.get_title().endswith(f"= {expected[1, 1]:g}")
    with pytest.raises(ValueError, match="weights need values"):
        drawing.draw_sliding_window(5, 3, weights=weights)
    with pytest.raises(ValueError, match=r"weights must have the kernel's shape \(3, 3\)"):
        drawing.draw_sliding_window(5, 3, values=values, weights=np.ones((2, 2)))


def test_sliding_steps_has_one_panel_per_position_and_no_overlapping_titles():
    fig = drawing.draw_sliding_steps(7, 3, stride=2)
    assert len(fig.axes) == tf_conv_output(7, 3, 2, 0) ** 2
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == [f"step {i} of 9" for i in range(1, 10)]
    assert_no_title_overlap(fig)
    fig = drawing.draw_sliding_steps(9, 3, positions=[0, 48])
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="at least one"):
        drawing.draw_sliding_steps(7, 3, positions=[])


# --------------------------------------------------------------------------------------------------- volumes
def test_conv_volume_has_one_slice_per_filter_and_the_layers_numbers():
    ax = drawing.draw_conv_volume((32, 32, 3), 5, 10, padding=2)
    assert len(patches(ax, "output-slice")) == 10
    layer = keras.layers.Conv2D(10, 5, padding="same")
    out = layer(keras.Input((32, 32, 3)))
    label = " ".join(t.get_text() for t in ax.texts)
    assert "x".join(map(str, out.shape[1:])) in label  # 32x32x10
    assert f"{layer.count_params():,} parameters" in ax.get_title()  # 760
    assert "filter 5x5x3" in label
    assert_no_title_overlap(ax.figure)


def test_conv_volume_rejects_bad_shapes():
    with pytest.raises(TypeError, match="input_shape must be"):
        drawing.draw_conv_volume(32)
    with pytest.raises(ValueError, match="input_shape must be an"):
        drawing.draw_conv_volume((32, 32))
    with pytest.raises(ValueError, match="filters must be a positive int"):
        drawing.draw_conv_volume((8, 8, 3), 3, 0)


# ---------------------------------------------------------------------------------------------------- im2col
@pytest.mark.parametrize(("n", "k", "s", "p"), [(4, 3, 1, 0), (5, 3, 2, 1), (6, 2, 2, 0)])
def test_im2col_matrix_is_tensorflows_patches_next_to_the_image(n, k, s, p):
    image = np.arange(1, n * n + 1, dtype=float).reshape(n, n)
    ax = drawing.draw_im2col(image, k, stride=s, padding=p)
    (matrix,) = [im for im in ax.images if im.get_gid() == "im2col-matrix"]
    padded = np.pad(image, p)[None, :, :, None].astype("float32")
    expected = tf.image.extract_patches(
        padded, sizes=[1, k, k, 1], strides=[1, s, s, 1], rates=[1, 1, 1, 1], padding="VALID"
    ).numpy()
    out = tf_conv_output(n, k, s, p)
    np.testing.assert_allclose(matrix.get_array(), expected.reshape(out * out, k * k))
    (shown,) = [im for im in ax.images if im.get_gid() == "im2col-image"]
    np.testing.assert_allclose(shown.get_array(), np.pad(image, p))
    assert len(patches(ax, "patch")) == len(patches(ax, "patch-row")) == min(4, out * out)
    assert has_colorbar(matrix) and matrix.get_clim() == shown.get_clim()  # one scale for both panels
    assert f"{out * out}x{k * k} matrix" in ax.get_title()
    assert_no_title_overlap(ax.figure)


def test_im2col_rejects_a_batch():
    with pytest.raises(ValueError, match="image must be a 2-D array"):
        drawing.draw_im2col(np.zeros((1, 4, 4)))


# ------------------------------------------------------------------------------------------- receptive field
def tf_receptive_field(stack, length=120):
    """Input positions that change output unit 0 of a 1-D stack with all-ones kernels (TensorFlow)."""
    x = tf.Variable(tf.ones((1, length, 1)))
    with tf.GradientTape() as tape:
        y = x
        for k, s in stack:
            y = tf.nn.conv1d(y, tf.ones((k, 1, 1)), stride=s, padding="VALID")
        unit = y[0, 0, 0]
    return int(np.count_nonzero(tape.gradient(unit, x).numpy()))


@pytest.mark.parametrize("stack", [[(3, 1)] * 5, [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)], [(5, 2), (3, 2)]])
def test_receptive_field_colours_as_many_input_pixels_as_tensorflow_reaches(stack):
    ax = drawing.draw_receptive_field(stack)
    assert len(patches(ax, "layer0-unit-rf")) == tf_receptive_field(stack)
    assert len(patches(ax, f"layer{len(stack)}-unit-rf")) == 1  # one top unit
    assert f"{tf_receptive_field(stack)} input pixels" in ax.get_title()
    assert_no_title_overlap(ax.figure)


@pytest.mark.parametrize("top_units", [1, 4, 5])
def test_receptive_field_top_units_sets_the_top_row(top_units):
    stack = [(3, 1), (2, 2), (3, 1)]
    ax = drawing.draw_receptive_field(stack, top_units=top_units)
    top = patches(ax, "layer3-unit") + patches(ax, "layer3-unit-rf")
    assert len(top) == top_units
    assert len(patches(ax, "layer0-unit-rf")) == tf_receptive_field(stack)
    with pytest.raises(ValueError, match="margin or top_units"):
        drawing.draw_receptive_field(stack, top_units=3, margin=1)
    with pytest.raises(ValueError, match="max_pixels=8"):
        drawing.draw_receptive_field(stack, max_pixels=8)


def all_font_sizes(ax):
    """Sizes of every text an Axes draws: its texts, its title, and its figure's colorbar labels and ticks."""
    sizes = [t.get_fontsize() for t in ax.texts if t.get_text()]  # arrows are empty texts
    sizes.append(ax.title.get_fontsize())
    for other in ax.figure.axes:
        if other is not ax:  # a colorbar
            labels = other.get_yticklabels() + [other.yaxis.label]
            sizes += [t.get_fontsize() for t in labels if t.get_text()]
    return sizes


def test_projected_sizes_on_request_and_the_controls_sizes_by_default():
    stack = [(3, 1), (2, 2), (3, 1)]
    for draw in (lambda **kw: drawing.draw_receptive_field(stack, **kw),
                 lambda **kw: drawing.draw_sliding_window(7, 3, stride=2, padding=1, **kw),
                 lambda **kw: drawing.draw_conv_volume((32, 32, 3), 5, 10, padding=2, **kw)):
        small = draw()
        assert min(all_font_sizes(small)) < 11  # the lecture controls' panels stay as they were
        large = draw(fontsize=12)
        assert min(all_font_sizes(large)) >= 12 and large.title.get_fontsize() == 13
        with pytest.raises(ValueError, match="fontsize"):
            draw(fontsize=0)


def test_projected_titles_break_before_the_formula():
    small = drawing.draw_sliding_window(7, 3, stride=2, padding="same")
    large = drawing.draw_sliding_window(7, 3, stride=2, padding="same", fontsize=12)
    assert "\n" not in small.get_title()
    assert large.get_title() == small.get_title().replace(": ", ":\n", 1)  # the same words, the formula below
    volume = drawing.draw_conv_volume((56, 56, 64), 1, 32, fontsize=12)
    assert volume.get_title().count("\n") == 1
    assert volume.get_title().endswith(";\n2,080 parameters = 1·1·64·32 + 32")


def test_transposed_conv_is_legible_with_whole_number_ticks():
    ax = drawing.draw_transposed_conv(2, 3, stride=2)
    assert min(all_font_sizes(ax)) >= 11
    (image,) = [im for im in ax.images if im.get_gid() == "overlap-count"]
    ticks = image.colorbar.get_ticks()
    assert list(ticks) == list(range(int(image.get_array().max()) + 1))  # counts: 0, 1, ..., max


def test_receptive_field_rejects_bad_stacks():
    with pytest.raises(ValueError, match="at least one"):
        drawing.draw_receptive_field([])
    with pytest.raises(ValueError, match="kinds must have one entry per layer"):
        drawing.draw_receptive_field([(3, 1)], kinds=["a", "b"])
    with pytest.raises(TypeError, match="layers"):
        drawing.draw_receptive_field("3x3")


# --------------------------------------------------------------------------------------------------- pooling
@pytest.mark.parametrize(("mode", "size", "stride"), [("max", 2, 2), ("avg", 2, 2), ("max", 3, 2)])
def test_pooling_writes_tensorflows_pooled_values(mode, size, stride):
    fmap = np.array(
        [[4, 3, 1, 5, 2], [1, 3, 4, 8, 0], [4, 5, 4, 3, 7], [6, 5, 9, 4, 1], [2, 0, 1, 3, 5]], float
    )
    pool = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
    expected = pool(fmap[None, :, :, None], size, stride, "VALID").numpy()[0, :, :, 0]
    ax = drawing.draw_pooling(fmap, size=size, stride=stride, mode=mode)
    assert len(patches(ax, "fmap-cell")) == 25
    assert len(patches(ax, "pool-window")) == len(patches(ax, "pooled-cell")) == expected.size
    assert [float(t) for t in texts(ax, "pooled-cell-text")] == pytest.approx(
        list(expected.ravel()), abs=1e-3
    )
    if mode == "max":  # one switch per window, unless two overlapping windows pick the same cell
        assert 1 <= len(patches(ax, "max-cell")) <= expected.size
    assert_no_title_overlap(ax.figure)


def test_pooling_one_window_at_a_time():
    fmap = np.arange(16, dtype=float).reshape(4, 4) % 5
    expected = tf.nn.max_pool2d(fmap[None, :, :, None], 2, 2, "VALID").numpy()[0, :, :, 0]
    ax = drawing.draw_pooling(fmap, size=2, position=(1, 0))  # the third window of four
    (window,) = patches(ax, "pool-window")
    assert window.get_xy()[1] == pytest.approx(2 + 0.05)  # rows 2-3, inset as drawn
    assert texts(ax, "pooled-cell-text") == [f"{v:g}" for v in expected.ravel()[:3]]
    assert len(patches(ax, "pooled-cell")) == 4 and len(patches(ax, "max-cell")) == 3
    assert ax.get_title().endswith(f"max = {expected[1, 0]:g}")
    with pytest.raises(ValueError, match="position must lie inside the 2x2 output"):
        drawing.draw_pooling(fmap, size=2, position=(2, 0))


def test_pooling_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of"):
        drawing.draw_pooling(np.zeros((4, 4)), mode="min")
    with pytest.raises(ValueError, match="feature_map must be a 2-D array"):
        drawing.draw_pooling(np.zeros((4,)))


# ------------------------------------------------------------------------------------------ transposed conv
@pytest.mark.parametrize(("n", "k", "s", "p"), [(2, 3, 2, 0), (3, 3, 2, 1), (2, 4, 2, 1), (3, 2, 1, 0)])
def test_transposed_conv_counts_contributions_like_tensorflow(n, k, s, p):
    ax = drawing.draw_transposed_conv(n, k, stride=s, padding=p)
    full = int(
        keras.layers.Conv2DTranspose(1, k, strides=s, padding="valid")(keras.Input((n, n, 1))).shape[1]
    )
    counts = tf.nn.conv2d_transpose(
        tf.ones((1, n, n, 1)), tf.ones((k, k, 1, 1)), (1, full, full, 1), s, padding="VALID"
    ).numpy()[0, :, :, 0]
    (image,) = [im for im in ax.images if im.get_gid() == "overlap-count"]
    np.testing.assert_allclose(image.get_array(), counts)
    assert has_colorbar(image)
    assert len(patches(ax, "stamp")) == len(patches(ax, "input-cell")) == n * n
    out = full - 2 * p
    assert tf_conv_output(out, k, s, p) == n  # the conv with the same k, s, p maps the output back to n
    assert drawing.transposed_output_size(n, k, s, p) == out and ax.get_title().endswith(f"= {out}")
    assert len(patches(ax, "cropped")) == full * full - out * out
    assert_no_title_overlap(ax.figure)


def test_transposed_conv_rejects_bad_arguments():
    with pytest.raises(ValueError, match="input_size must be at most 8"):
        drawing.draw_transposed_conv(9)
    with pytest.raises(ValueError, match="crops the whole output"):
        drawing.transposed_output_size(1, 2, 1, 1)


# ------------------------------------------------------------------------------------------- architectures
@pytest.fixture(scope="module")
def built():
    with models.architecture_only():
        return {
            "lenet": models.lenet5("modern"),
            "vgg16": models.vgg("D"),
            "vgg11": models.vgg("A"),
            "alexnet2": models.alexnet(groups=2),
            "resnet18": models.resnet(18),
            "resnet50": models.resnet(50),
            "googlenet": models.googlenet(),
            "cifar20": models.cifar_resnet(20),
        }


def shape_of(layer):
    return "x".join(str(d) for d in layer.output.shape[1:])


@pytest.mark.parametrize("name", ["lenet", "vgg16", "vgg11"])
def test_layer_stack_has_one_box_per_layer_with_its_output_shape(built, name):
    model = built[name]
    ax = drawing.draw_layer_stack(model)
    assert len(patches(ax, "layer-box")) == len(model.layers)
    assert texts(ax, "layer-name") == [layer.name for layer in model.layers]
    assert texts(ax, "layer-shape") == [shape_of(layer) for layer in model.layers]
    assert f"{model.count_params():,} parameters" in ax.get_title()
    assert_no_title_overlap(ax.figure)


def test_layer_stack_describes_layers_from_their_settings(built):
    ax = drawing.draw_layer_stack(built["lenet"])
    descriptions = dict(zip(texts(ax, "layer-name"), texts(ax, "layer-desc")))
    conv1 = built["lenet"].get_layer("conv1")
    assert descriptions["conv1"].startswith(f"{conv1.kernel_size[0]}x{conv1.kernel_size[1]} conv")
    assert descriptions["conv1"].endswith(str(conv1.filters))


def test_resnet50_collapses_into_one_box_per_residual_block(built):
    model = built["resnet50"]
    adds = [layer.name[: -len("_add")] for layer in model.layers if isinstance(layer, keras.layers.Add)]
    ax = drawing.draw_layer_stack(model)  # 177 layers: "auto" collapses them
    names = texts(ax, "layer-name")
    assert [n for n in names if re.fullmatch(r"conv\d_block\d+", n)] == adds
    shapes_by_name = dict(zip(names, texts(ax, "layer-shape")))
    for block in adds:
        assert shapes_by_name[block] == shape_of(model.get_layer(f"{block}_out"))
    # besides the blocks: input, the stem convolution and pool, the global pool and the classifier
    assert len(names) == len(adds) + 5
    stages = drawing.architecture_boxes(model, collapse="stages")
    assert [b["name"] for b in stages if b["kind"] == "block"] == ["conv2", "conv3", "conv4", "conv5"]
    assert_no_title_overlap(ax.figure)


def test_googlenet_collapses_into_one_box_per_inception_module(built):
    model = built["googlenet"]
    concats = [layer for layer in model.layers if isinstance(layer, keras.layers.Concatenate)]
    boxes = drawing.architecture_boxes(model)
    modules = [b for b in boxes if b["kind"] == "block"]
    assert [b["name"] for b in modules] == [c.name for c in concats]
    assert [b["shape"] for b in modules] == [shape_of(c) for c in concats]
    assert sum(len(b["layers"]) for b in boxes) == len(model.layers)  # every layer is in exactly one box


def test_towers_split_the_grouped_convolutions(built):
    model = built["alexnet2"]
    grouped = [layer for layer in model.layers if getattr(layer, "groups", 1) > 1]
    assert [layer.name for layer in grouped] == ["conv2", "conv4", "conv5"]
    ax = drawing.draw_towers(model)
    towers = patches(ax, "tower-box")
    assert len(towers) == sum(layer.groups for layer in grouped)
    assert len(patches(ax, "layer-box")) == len(model.layers) - len(grouped)
    shapes = texts(ax, "layer-shape")
    for layer in grouped:
        h, w, c = layer.output.shape[1:]
        assert shapes.count(f"{h}x{w}x{c // layer.groups}") >= layer.groups
    assert_no_title_overlap(ax.figure)


def test_inception_module_has_its_branches_and_the_channel_sum(built):
    model = built["googlenet"]
    ax = drawing.draw_inception_module(model, "inception3a")
    inside = [layer for layer in model.layers if layer.name.startswith("inception3a_")]
    assert len(patches(ax, "layer-box")) == len(inside) + 2  # the branches, the input and the concatenation
    shapes = dict(zip(texts(ax, "layer-name"), texts(ax, "layer-shape")))
    for layer in inside:
        assert shapes[layer.name] == shape_of(layer)
    row = models.GOOGLENET_TABLE["3a"]
    total = row.n1x1 + row.n3x3 + row.n5x5 + row.pool_proj
    assert f"{row.n1x1} + {row.n3x3} + {row.n5x5} + {row.pool_proj} = {total}" in " ".join(
        texts(ax, "layer-desc")
    )
    assert_no_title_overlap(ax.figure)
    with pytest.raises(ValueError, match="Concatenate layers: inception3a"):
        drawing.draw_inception_module(model, "inception9z")


@pytest.mark.parametrize(
    ("model_name", "block", "n_conv", "shortcut"),
    [
        ("resnet18", "conv2_block1", 2, "identity"),
        ("resnet18", "conv3_block1", 2, "conv3_block1_0_conv"),
        ("resnet50", "conv3_block2", 3, "identity"),
        ("cifar20", "conv3_block1", 2, "conv3_block1_0_pad"),
    ],
)
def test_residual_block_draws_its_path_and_its_shortcut(built, model_name, block, n_conv, shortcut):
    model = built[model_name]
    convs = [layer.name for layer in model.layers if re.fullmatch(rf"{block}_[1-9]_conv", layer.name)]
    assert len(convs) == n_conv
    ax = drawing.draw_residual_block(model, block)
    names = texts(ax, "layer-name")
    assert [n for n in names if n in convs] == convs
    assert patches(ax, "shortcut") and patches(ax, "add")
    if shortcut == "identity":
        assert any("identity" in t.get_text() for t in ax.texts)
    else:
        assert shortcut in names
    assert names[-1] == f"{block}_out" and texts(ax, "layer-shape")[-1] == shape_of(
        model.get_layer(f"{block}_out")
    )
    assert ("bottleneck" if n_conv == 3 else "basic") in ax.get_title()
    assert_no_title_overlap(ax.figure)


def test_residual_block_refuses_a_plain_network():
    with models.architecture_only():
        plain = models.cifar_resnet(8, plain=True)
    with pytest.raises(ValueError, match="Add layers: none"):
        drawing.draw_residual_block(plain, "conv2_block1")


def small_dense_block(c0=8, k=4, n=3):
    from keras import layers

    inputs = keras.Input((6, 6, c0))
    x = inputs
    for i in range(1, n + 1):
        y = layers.BatchNormalization(name=f"d_block{i}_0_bn")(x)
        y = layers.ReLU(name=f"d_block{i}_0_relu")(y)
        y = layers.Conv2D(4 * k, 1, name=f"d_block{i}_1_conv")(y)
        y = layers.Conv2D(k, 3, padding="same", name=f"d_block{i}_2_conv")(y)
        x = layers.Concatenate(name=f"d_block{i}_concat")([x, y])
    return keras.Model(inputs, x)


def test_dense_block_links_every_layer_to_every_later_one():
    c0, k, n = 8, 4, 3
    ax = drawing.draw_dense_block(small_dense_block(c0, k, n), "d")
    assert len(patches(ax, "layer-box")) == n + 1
    assert len(patches(ax, "dense-link")) == n * (n + 1) // 2
    assert texts(ax, "concat-channels") == [f"concat → {c0 + i * k} ch" for i in range(1, n + 1)]
    assert_no_title_overlap(ax.figure)


def test_architecture_functions_reject_bad_arguments(built):
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        drawing.draw_layer_stack("lenet")
    with pytest.raises(ValueError, match="collapse must be one of"):
        drawing.draw_layer_stack(built["lenet"], collapse="layers")
    with pytest.raises(TypeError, match="name must be a str"):
        drawing.draw_residual_block(built["resnet18"], 3)
    with pytest.raises(ValueError, match="max_rows must be a positive int"):
        drawing.draw_layer_stack(built["lenet"], max_rows=0)
