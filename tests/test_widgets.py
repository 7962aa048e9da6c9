"""Tests of course_lib.widgets: the pure figure functions (headless, Agg), static vs live, argument errors.

Expected numbers come from TensorFlow (output shapes, pooling), SciPy (correlation) or hand-worked stacks,
never from the module's own arithmetic.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # no display in tests

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from scipy import signal  # noqa: E402

from course_lib import widgets  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax, gid):
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


def patches(ax, gid):
    return [p for p in ax.patches if p.get_gid() == gid]


def all_titles(fig):
    found = [fig._suptitle.get_text()] if fig._suptitle else []
    for sub in getattr(fig, "subfigs", []):
        found += all_titles(sub)
    return found + [ax.get_title() for ax in fig.axes]


# ---- padding / stride / kernel -----------------------------------------------------------------------------
# The pictures are course_lib.drawing's (draw_sliding_window, draw_pooling, draw_receptive_field): what they
# draw is read back through the gids that drawing gives every cell, window and text.


@pytest.mark.parametrize(("n", "k", "s", "p"), [(7, 3, 1, 0), (7, 3, 2, 1), (8, 3, 2, "same"),
                                                (8, 3, 2, "valid"), (9, 3, 2, "same"), (6, 2, 1, "same"),
                                                (10, 5, 3, 2)])
def test_conv_arithmetic_output_grid_matches_tensorflow(n, k, s, p):
    x = tf.zeros((1, n, n, 1))
    w = tf.zeros((k, k, 1, 1))
    if isinstance(p, str):
        expected = tf.nn.conv2d(x, w, s, p.upper()).shape[1]
    else:
        expected = tf.nn.conv2d(x, w, s, [[0, 0], [p, p], [p, p], [0, 0]]).shape[1]
    fig = widgets.conv_arithmetic_figure(n, k, s, p)
    (ax,) = fig.axes
    assert len(patches(ax, "output-cell")) == expected * expected
    assert ax.get_title().endswith(f"= {expected}")
    # the padded input grid: n plus what TensorFlow pads ("same": TF's total, split with the odd zero after)
    if p == "same":
        total = max((expected - 1) * s + k - n, 0)
    else:
        total = 0 if p == "valid" else 2 * p
    assert len(patches(ax, "input-cell")) + len(patches(ax, "pad-cell")) == (n + total) ** 2
    if p == "same" and total % 2:  # the odd zero goes after: the first row and column are the input's
        assert min(c.get_xy()[1] for c in patches(ax, "input-cell")) == total // 2


def test_conv_arithmetic_marks_cells_no_window_reaches():
    # 8 inputs, kernel 3, stride 2: windows start at 0, 2, 4 and reach row 6; row and column 7 are never read
    ax = widgets.conv_arithmetic_figure(8, 3, 2, 0).axes[0]
    assert len(patches(ax, "uncovered")) == 8 + 8 - 1
    assert "⌊" in ax.get_title()  # the formula's floor: the windows leave a row over
    assert not patches(widgets.conv_arithmetic_figure(7, 3, 2, 0).axes[0], "uncovered")


def test_conv_arithmetic_window_moves_with_step_and_stride():
    fig = widgets.conv_arithmetic_figure(7, 3, 2, 0, step=4)  # output 3x3: step 4 is output (1, 1)
    (frame,) = patches(fig.axes[0], "window")
    assert frame.get_xy() == (2, 2)  # input (2, 2) = (1 * stride, 1 * stride)
    assert (frame.get_width(), frame.get_height()) == (3, 3)


@pytest.mark.parametrize(("kwargs", "error"), [
    (dict(n=0), ValueError), (dict(n=2.5), TypeError), (dict(kernel=0), ValueError),
    (dict(stride="2"), TypeError), (dict(padding="full"), ValueError), (dict(padding=-1), ValueError),
    (dict(kernel=9), ValueError), (dict(step=25), ValueError), (dict(step=-1), ValueError),
    (dict(padding=20), ValueError),
])
def test_conv_arithmetic_rejects_bad_arguments(kwargs, error):
    with pytest.raises(error):
        widgets.conv_arithmetic_figure(**kwargs)


def figure_font_sizes(fig):
    """Sizes of every visible non-empty text of a figure: (sub-)figure and axes titles, texts, labels."""
    return [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def test_conv_arithmetic_static_figure_at_projected_sizes():
    fig = widgets.show_conv_arithmetic(7, 3, static=True, fontsize=11, panel=(5.5, 4.2))
    assert fig.get_size_inches()[0] == pytest.approx(11)  # two 5.5-inch panels per row: shown unscaled
    assert min(figure_font_sizes(fig)) >= 11
    default = widgets.show_conv_arithmetic(7, 3, static=True)  # unchanged: the controls' small sizes
    assert min(figure_font_sizes(default)) < 11 and default.get_size_inches()[0] == pytest.approx(14)
    live = widgets.conv_arithmetic_figure(7, 3, 2, 1, fontsize=12)
    assert min(figure_font_sizes(live)) >= 12
    with pytest.raises(TypeError, match="panel"):
        widgets.show_conv_arithmetic(static=True, panel=5)
    with pytest.raises(ValueError, match="panel"):
        widgets.show_conv_arithmetic(static=True, panel=(5, 4, 3))
    with pytest.raises(ValueError, match="panel"):
        widgets.show_conv_arithmetic(static=True, panel=(0, 4))
    with pytest.raises(ValueError, match="fontsize"):
        widgets.show_conv_arithmetic(static=True, fontsize=0)


# ---- sliding window, pooling -------------------------------------------------------------------------------


def test_sliding_window_writes_scipy_values_up_to_the_step():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (5, 6))
    k = rng.integers(-1, 2, (3, 3))
    expected = signal.correlate2d(x, k, mode="valid")  # (3, 4)
    ax = widgets.sliding_window_figure(x, k, step=5).axes[0]
    assert texts(ax, "output-cell-text") == [f"{v:g}" for v in expected.ravel()[:6]]
    assert ax.get_title().endswith(f"= {expected[1, 1]:g}")  # window (1, 1): its products and their sum
    assert sorted(texts(ax, "input-cell-text")) == sorted(f"{v:g}" for v in x.ravel())


def test_sliding_window_rejects_bad_input():
    with pytest.raises(ValueError):
        widgets.sliding_window_figure(np.ones((3, 3)), np.ones((4, 4)))
    with pytest.raises(ValueError):
        widgets.sliding_window_figure(np.ones((3, 3, 3)), np.ones((2, 2)))
    with pytest.raises(ValueError):
        widgets.sliding_window_figure(np.ones((30, 30)), np.ones((2, 2)))
    with pytest.raises(TypeError):
        widgets.sliding_window_figure(np.array([["a"]]), np.ones((1, 1)))


@pytest.mark.parametrize(("size", "stride"), [(2, 2), (3, 2), (3, 1)])
def test_pooling_output_matches_tensorflow(size, stride):
    x = np.arange(36, dtype=float).reshape(6, 6) % 7
    expected = tf.nn.max_pool2d(x[None, :, :, None], size, stride, "VALID").numpy()[0, :, :, 0]
    n = expected.size
    ax = widgets.pooling_figure(x, size, stride, "max", step=n - 1).axes[0]
    assert texts(ax, "pooled-cell-text") == [f"{v:g}" for v in expected.ravel()]
    assert len(patches(ax, "pool-window")) == 1  # the window of this step only
    ax = widgets.pooling_figure(x, size, stride, "max", step=1).axes[0]
    assert texts(ax, "pooled-cell-text") == [f"{v:g}" for v in expected.ravel()[:2]]
    with pytest.raises(ValueError):
        widgets.pooling_figure(x, size, stride, "max", step=n)


def test_pooling_rejects_bad_arguments():
    with pytest.raises(ValueError):
        widgets.pooling_figure(mode="median")
    with pytest.raises(ValueError):
        widgets.pooling_figure(size=7)
    with pytest.raises(TypeError):
        widgets.pooling_figure(stride=1.5)


# ---- kernel on a photo -------------------------------------------------------------------------------------


def test_kernel_response_is_scipy_correlation_with_colorbars():
    photo = np.random.default_rng(1).random((20, 24))
    k = widgets.PRESET_KERNELS["sobel x"]
    fig = widgets.kernel_response_figure(k, photo)
    response = [ax for ax in fig.axes if ax.get_title().startswith("response")][0]
    np.testing.assert_allclose(response.images[0].get_array(), signal.correlate2d(photo, k, mode="same"),
                               atol=1e-10)
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 2


def test_kernel_response_named_photo_and_errors():
    fig = widgets.kernel_response_figure("identity", "camera", size=32)
    assert fig.axes[0].images[0].get_array().shape == (32, 32)
    with pytest.raises(ValueError):
        widgets.kernel_response_figure("emboss")
    with pytest.raises(ValueError):
        widgets.kernel_response_figure(np.ones((3, 3)), "no such photo")
    with pytest.raises(ValueError):
        widgets.kernel_response_figure(np.ones(3))
    with pytest.raises(ValueError):
        widgets.show_kernel_editor(np.ones((5, 5)), static=True)


# ---- receptive fields --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("layers", "field"), [
    ([(3, 1)] * 3, 7),                  # 1 + 3 * 2
    ([(3, 1), (2, 2), (3, 1)], 8),      # 3, then 3 + 1 = 4 with jump 2, then 4 + 2 * 2 = 8
    ([(5, 2), (3, 2)], 9),              # 5, then 5 + 2 * 2 = 9
    ([(7, 1)], 7),
])
def test_receptive_field_highlights_the_hand_worked_field(layers, field):
    ax = widgets.receptive_field_figure(layers).axes[0]
    assert ax.get_title().endswith(f": {field} input pixels")
    assert len(patches(ax, "layer0-unit-rf")) == field  # the input row
    top = f"layer{len(layers)}-unit"
    assert len(patches(ax, top)) + len(patches(ax, top + "-rf")) == 3  # top_units=3, the middle one traced


def test_receptive_field_static_figure_at_projected_sizes():
    fig = widgets.show_receptive_field([(3, 1)] * 3, static=True, fontsize=12)
    assert fig.get_size_inches()[0] <= 11 and min(figure_font_sizes(fig)) >= 12
    assert min(figure_font_sizes(widgets.show_receptive_field(static=True))) < 11  # the default is unchanged
    assert min(figure_font_sizes(widgets.receptive_field_figure([(3, 1)], fontsize=12))) >= 12
    with pytest.raises(ValueError, match="fontsize"):
        widgets.receptive_field_figure([(3, 1)], fontsize=-1)


def test_receptive_field_rejects_bad_layers():
    with pytest.raises(ValueError):
        widgets.receptive_field_figure([])
    with pytest.raises(TypeError):
        widgets.receptive_field_figure([3, 3])
    with pytest.raises(ValueError):
        widgets.receptive_field_figure([(3, 0)])
    with pytest.raises(ValueError):
        widgets.receptive_field_figure([(7, 3)] * 4)  # far too wide to draw


# ---- feature maps and attribution on a small model ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(10, 3, activation="relu", name="conv1")(inputs)
    x = keras.layers.Conv2D(6, 3, activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="tiny")


def test_feature_maps_figure_shows_the_layer_output(tiny_model):
    image = np.random.default_rng(2).random((12, 12, 3)).astype(np.float32)
    fig = widgets.feature_maps_figure(tiny_model, image, "conv1", first=2, count=5)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.get_visible()]
    assert [ax.get_title() for ax in panels] == [f"ch {c}" for c in range(2, 7)]
    reference = keras.Model(tiny_model.input, tiny_model.get_layer("conv1").output)(image[None]).numpy()[0]
    np.testing.assert_allclose(panels[0].images[0].get_array(), reference[..., 2], atol=1e-5)
    assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 1
    with pytest.raises(ValueError):
        widgets.feature_maps_figure(tiny_model, image, "predictions")  # not spatial
    with pytest.raises(ValueError):
        widgets.feature_maps_figure(tiny_model, image[:8], "conv1")
    with pytest.raises(ValueError):
        widgets.feature_maps_figure(tiny_model, image, "conv1", first=10)
    large = widgets.feature_maps_figure(tiny_model, image, "conv1", count=3, fontsize=12)
    panels = [ax for ax in large.axes if ax.get_label() != "<colorbar>" and ax.get_visible()]
    assert {ax.title.get_fontsize() for ax in panels} == {12}
    with pytest.raises(ValueError, match="fontsize"):
        widgets.feature_maps_figure(tiny_model, image, "conv1", fontsize=0)


def test_attribution_figure_both_methods(tiny_model):
    image = np.random.default_rng(3).random((12, 12, 3)).astype(np.float32)
    for method in ("grad_cam", "occlusion"):
        fig = widgets.attribution_figure(tiny_model, image, method, patch=4, stride=4)
        assert sum(ax.get_label() == "<colorbar>" for ax in fig.axes) == 1
        heat = fig.axes[1].images[1].get_array()
        assert heat.shape == ((12, 12) if method == "grad_cam" else (3, 3))
    with pytest.raises(ValueError):
        widgets.attribution_figure(tiny_model, image, "lime")


# ---- static or live ----------------------------------------------------------------------------------------


def test_static_mode_environment(monkeypatch):
    monkeypatch.delenv(widgets.STATIC_ENV_VAR, raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", "x.ipynb")  # a server's variable, but no kernel here
    assert widgets.static_mode() is True
    monkeypatch.setenv(widgets.STATIC_ENV_VAR, "0")
    assert widgets.static_mode() is False
    monkeypatch.setenv(widgets.STATIC_ENV_VAR, "yes")
    assert widgets.static_mode() is True
    assert widgets.static_mode(False) is False
    monkeypatch.setenv(widgets.STATIC_ENV_VAR, "maybe")
    with pytest.raises(ValueError):
        widgets.static_mode()
    with pytest.raises(TypeError):
        widgets.static_mode("yes")


@pytest.fixture
def recorded(monkeypatch):
    """Record every ipywidgets widget created and every IPython display call."""
    import IPython.display
    import ipywidgets

    made, shown = [], []
    original = ipywidgets.Widget.__init__

    def init(self, *args, **kwargs):
        made.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ipywidgets.Widget, "__init__", init)
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    return made, shown


def static_calls(model):
    return [
        lambda: widgets.show_conv_arithmetic(static=None),
        lambda: widgets.show_sliding_window(np.eye(4), np.ones((2, 2)), static=None),
        lambda: widgets.show_kernel_editor(photo=np.random.default_rng(0).random((16, 16)), static=None),
        lambda: widgets.show_pooling(static=None),
        lambda: widgets.show_receptive_field(static=None),
        lambda: widgets.show_feature_maps(model, np.zeros((12, 12, 3)), count=4, static=None),
        lambda: widgets.show_attribution(model, np.zeros((12, 12, 3)), patch=4, static=None),
    ]


def test_static_fallback_draws_a_grid_and_no_widget(monkeypatch, recorded, tiny_model):
    monkeypatch.setenv(widgets.STATIC_ENV_VAR, "1")  # what nbval and the notebook runner see
    made, shown = recorded
    for call in static_calls(tiny_model):
        fig = call()
        assert isinstance(fig, Figure)
        assert len(fig.subfigs) >= 2  # one panel per parameter setting
        assert all(title.strip() for title in all_titles(fig)[:1])
    assert made == [] and shown == []


def test_live_mode_builds_widgets_and_displays_once(monkeypatch, recorded):
    made, shown = recorded
    box = widgets.show_conv_arithmetic(static=False)
    assert type(box).__name__ == "VBox" and "IntSlider" in made and "Dropdown" in made
    assert box in shown
    box = widgets.show_sliding_window(np.eye(4), np.ones((2, 2)), static=False)
    assert box.children[0].children[0].max == 8  # 3x3 valid positions
    box = widgets.show_kernel_editor("sharpen", np.random.default_rng(0).random((16, 16)), static=False)
    assert made.count("FloatText") == 9
    for show in (widgets.show_pooling, widgets.show_receptive_field):  # each draws its first picture at once
        box = show(static=False)
        assert shown[-1] is box and isinstance(shown[-2], Figure)  # the figure, drawn before the box shows
