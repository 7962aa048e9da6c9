"""Tests of course_lib.drawing.dilation: the taps drawn are the pixels TensorFlow's dilated convolution reads.

The pixels one output reads come from a gradient through ``tf.nn.convolution(..., dilations=...)`` (all-ones
kernel, so no tap is missed), and output sizes from that op's output shape; the receptive-field drawing must
refuse a dilated stack rather than draw gaps it cannot show.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_lib import drawing  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def cells(ax, gid):
    """(row, col) of every cell patch with ``gid``: its top-left corner, one unit per cell."""
    return {(round(p.get_y()), round(p.get_x())) for p in ax.patches if p.get_gid() == gid}


def tf_taps(hw, kernel, dilation, position):
    """Input pixels that output ``position`` of a dilated convolution reads, and the output size
    (TensorFlow)."""
    x = tf.Variable(tf.ones((1, *hw, 1)))
    with tf.GradientTape() as tape:
        # tf.nn.convolution: TensorFlow's CPU kernels have no gradient for tf.nn.conv2d with dilations
        y = tf.nn.convolution(x, tf.ones((*kernel, 1, 1)), padding="VALID", dilations=dilation)
        unit = y[0, position[0], position[1], 0]
    grad = tape.gradient(unit, x).numpy()[0, :, :, 0]
    return {tuple(int(v) for v in rc) for rc in np.argwhere(grad != 0)}, tuple(y.shape[1:3])


@pytest.mark.parametrize(("hw", "kernel", "dilation", "position"), [
    ((11, 11), (3, 3), (1, 1), (4, 4)),
    ((11, 11), (3, 3), (2, 2), (0, 0)),
    ((11, 11), (3, 3), (4, 4), (2, 1)),
    ((9, 12), (2, 3), (3, 2), (5, 7)),
    ((7, 7), (1, 1), (5, 5), (3, 3)),
])
def test_taps_are_the_pixels_tensorflow_reads(hw, kernel, dilation, position):
    taps, out_hw = tf_taps(hw, kernel, dilation, position)
    ax = drawing.draw_dilated_kernel(hw, kernel, dilation=dilation, position=position)
    assert cells(ax, "tap-cell") == taps
    assert len([t for t in ax.texts if t.get_gid() == "tap-cell-text"]) == kernel[0] * kernel[1]
    span = (dilation[0] * (kernel[0] - 1) + 1, dilation[1] * (kernel[1] - 1) + 1)
    assert len(cells(ax, "gap-cell")) == span[0] * span[1] - kernel[0] * kernel[1]
    assert len(cells(ax, "tap-cell") | cells(ax, "gap-cell") | cells(ax, "input-cell")) == hw[0] * hw[1]
    (frame,) = [p for p in ax.patches if p.get_gid() == "span"]
    assert (round(frame.get_height()), round(frame.get_width())) == span
    title = ax.get_title()
    if hw[0] == hw[1]:
        assert f"= {out_hw[0]}" in title
    else:
        assert f"= {out_hw[0]}, columns" in title and title.endswith(f"= {out_hw[1]}")


def test_default_position_is_the_central_window_and_fonts_are_large():
    ax = drawing.draw_dilated_kernel(11, 3, dilation=2)
    rows = sorted({r for r, _ in cells(ax, "tap-cell")})
    assert rows == [3, 5, 7]  # centred on pixel 5 of 0..10
    assert min(t.get_fontsize() for t in ax.texts) >= 10 and ax.title.get_fontsize() >= 11


def test_dilated_kernel_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"dilated kernel\[0\] 3 at dilation 4 \(span 9\) is larger"):
        drawing.draw_dilated_kernel(7, 3, dilation=4)
    with pytest.raises(ValueError, match="dilation must be a positive int, got 0"):
        drawing.draw_dilated_kernel(9, 3, dilation=0)
    with pytest.raises(TypeError, match="dilation must be a positive int"):
        drawing.draw_dilated_kernel(9, 3, dilation=1.5)
    with pytest.raises(ValueError, match="position must lie inside the 5x5 output"):
        drawing.draw_dilated_kernel(9, 3, dilation=2, position=(5, 0))


def test_receptive_field_drawing_refuses_dilated_layers():
    with pytest.raises(ValueError, match=r"layers\[1\] has dilation 2"):
        drawing.draw_receptive_field([(3, 1), (3, 1, 2)])
    drawing.draw_receptive_field([(3, 1, 1), (3, 1)])  # dilation 1 is an ordinary layer
