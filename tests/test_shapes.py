"""Tests for course_lib.shapes: every formula is checked against what Keras/TensorFlow actually compute.

Expected values come from running layers (output shapes, ``count_params``), from counting the non-zeros of a
layer's equivalent matrix (one multiply-add per input/output pair that a weight links), from gradients
(receptive fields) and from the lecture slides' printed numbers.
"""


import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from layer_matrix import matrix_nnz

from course_lib import config, graph, shapes

keras = pytest.importorskip("keras")  # always installed; keeps the import next to its use
import tensorflow as tf  # noqa: E402

L = keras.layers
FAST = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _seed():
    config.set_seed(0)


def keras_out_shape(layers, in_shape):
    """Run ``layers`` on a zero batch of one example and return the per-example output shape."""
    x = tf.zeros((1, *in_shape))
    for layer in layers:
        x = layer(x)
    return tuple(x.shape[1:])


def assert_keras_has_no_output(layers, in_shape):
    """Keras refuses the layers (a ValueError: "zero or negative" in Keras 3.13+, "would be negative" in
    3.10-3.12) or, where the output would be exactly empty, Keras 3.10-3.12 builds a zero-sized one."""
    try:
        shape = keras_out_shape(layers, in_shape)
    except ValueError as exc:
        assert re.search(r"zero or negative|would be negative", str(exc)), exc
    else:
        assert 0 in shape, shape


# ----------------------------------------------------------------------------------------------------
# conv_output_size against the shapes Keras produces
# ----------------------------------------------------------------------------------------------------
@st.composite
def fitting_windows(draw, n_max, k_max, s_max, pads):
    """``(n, k, s, pad)`` whose window fits in the padded input: ``k <= n + 2p`` (any k with "same")."""
    n = draw(st.integers(1, n_max))
    s = draw(st.integers(1, s_max))
    pad = draw(st.sampled_from(pads))
    if pad == "same":
        room = k_max  # "same" pads as much as the kernel needs
    else:
        room = n + 2 * (0 if pad == "valid" else pad)
    k = draw(st.integers(1, min(k_max, room)))
    return n, k, s, pad


@FAST
@given(fitting_windows(12, 5, 4, ["valid", "same", 0, 1, 2]))
def test_conv2d_output_size_matches_keras(case):
    n, k, s, pad = case
    if isinstance(pad, int):
        layers = [L.ZeroPadding2D(pad), L.Conv2D(1, k, strides=s, padding="valid")]
    else:
        layers = [L.Conv2D(1, k, strides=s, padding=pad)]
    got = keras_out_shape(layers, (n, n + 1, 1))
    assert shapes.conv_output_size((n, n + 1), k, s, pad) == got[:2]
    assert shapes.conv_output_size(n, k, s, pad) == got[0]


@FAST
@given(n=st.integers(1, 8), k_over=st.integers(1, 3), s=st.integers(1, 3),
       pad=st.sampled_from(["valid", 0, 1, 2]))
def test_kernel_larger_than_padded_input_raises_where_keras_refuses(n, k_over, s, pad):
    p = 0 if pad == "valid" else pad
    k = n + 2 * p + k_over  # k_over rows of the kernel hang past the padded input
    with pytest.raises(ValueError, match="larger than the padded input"):
        shapes.conv_output_size(n, k, s, pad)
    # Keras has no output to give either: it refuses the same layer.
    assert_keras_has_no_output([L.ZeroPadding2D(p), L.Conv2D(1, k, strides=s)], (n, n, 1))


@FAST
@given(fitting_windows(12, 4, 4, ["valid", "same"]))
def test_maxpool2d_output_size_matches_keras(case):
    n, k, s, pad = case
    got = keras_out_shape([L.MaxPooling2D(k, strides=s, padding=pad)], (n, n, 1))
    assert shapes.conv_output_size((n, n), k, s, pad) == got[:2]


@FAST
@given(fitting_windows(16, 6, 4, ["valid", "same", 1]))
def test_conv1d_output_size_matches_keras(case):
    n, k, s, pad = case
    if pad == 1:
        layers = [L.ZeroPadding1D(1), L.Conv1D(1, k, strides=s)]
    else:
        layers = [L.Conv1D(1, k, strides=s, padding=pad)]
    assert shapes.conv_output_size(n, k, s, pad) == keras_out_shape(layers, (n, 1))[0]


@FAST
@given(d=st.integers(2, 7), k=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
       s=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
       pad=st.sampled_from(["valid", "same"]))
def test_conv3d_output_size_matches_keras(d, k, s, pad):
    got = keras_out_shape([L.Conv3D(1, k, strides=s, padding=pad)], (d, d + 1, d + 2, 1))
    assert shapes.conv_output_size((d, d + 1, d + 2), k, s, pad) == got[:3]


@FAST
@given(n=st.integers(3, 12), k=st.integers(1, 3), s=st.integers(1, 4), p=st.integers(0, 2))
def test_strict_raises_exactly_when_windows_leave_input_unused(n, k, s, p):
    out = keras_out_shape([L.ZeroPadding1D(p), L.Conv1D(1, k, strides=s)], (n, 1))[0]
    # The last window Keras computes ends at (out - 1) * s + k; anything after it is never read.
    fits = (out - 1) * s + k == n + 2 * p
    if fits:
        assert shapes.conv_output_size(n, k, s, p, strict=True) == out
    else:
        with pytest.raises(ValueError, match="not an integer"):
            shapes.conv_output_size(n, k, s, p, strict=True)


def test_strict_error_shows_the_lecture_arithmetic():
    # 7x7 input, 3x3 filter, stride 3: (7 - 3) / 3 + 1 = 2.33
    with pytest.raises(ValueError) as err:
        shapes.conv_output_size(7, 3, 3, strict=True)
    assert "(7 + 2*0 - 3)/3 + 1" in str(err.value)
    assert "2.333" in str(err.value)
    assert shapes.conv_output_size(7, 3, 3) == 2  # floor, as the frameworks do
    assert shapes.conv_output_size(7, 3, 3, "same", strict=True) == 3


# ----------------------------------------------------------------------------------------------------
# dilation: Keras for stride 1 (its Conv layers refuse a stride > 1 with a dilation > 1), tf.nn for any stride
# ----------------------------------------------------------------------------------------------------
@st.composite
def dilated_windows(draw, n_max, k_max, d_max, s_max, pads):
    """``(n, k, s, d, pad)`` whose dilated window ``d(k - 1) + 1`` fits in the padded input."""
    n = draw(st.integers(1, n_max))
    s = draw(st.integers(1, s_max))
    pad = draw(st.sampled_from(pads))
    room = None if pad == "same" else n + 2 * (0 if pad == "valid" else pad)
    k = draw(st.integers(1, k_max if room is None else min(k_max, room)))
    # the largest dilation whose span still fits (any, up to d_max, for a 1-tap kernel or "same")
    d_fit = d_max if room is None or k == 1 else min(d_max, (room - 1) // (k - 1))
    d = draw(st.integers(1, d_fit))
    return n, k, s, d, pad


@FAST
@given(dilated_windows(14, 4, 4, 1, ["valid", "same", 0, 1, 2]))
def test_dilated_conv2d_output_size_matches_keras(case):
    n, k, _, d, pad = case
    conv = dict(dilation_rate=d)
    if isinstance(pad, int):
        layers = [L.ZeroPadding2D(pad), L.Conv2D(1, k, padding="valid", **conv)]
    else:
        layers = [L.Conv2D(1, k, padding=pad, **conv)]
    got = keras_out_shape(layers, (n, n + 1, 1))
    assert shapes.conv_output_size((n, n + 1), k, 1, pad, dilation=d) == got[:2]
    assert shapes.conv_output_size(n, k, 1, pad, dilation=d) == got[0]
    assert shapes.conv_output_size(n, shapes.effective_kernel_size(k, d), 1, pad) == got[0]


@FAST
@given(n=st.integers(3, 16), k=st.integers(1, 4), d=st.integers(1, 4), pad=st.sampled_from(["valid", "same"]))
def test_dilated_conv1d_output_size_matches_keras(n, k, d, pad):
    if pad == "valid" and d * (k - 1) + 1 > n:
        k = 1
    got = keras_out_shape([L.Conv1D(1, k, dilation_rate=d, padding=pad)], (n, 1))[0]
    assert shapes.conv_output_size(n, k, 1, pad, dilation=d) == got


def test_keras_refuses_stride_with_dilation():
    # Why the strided cases below are checked against tf.nn.conv2d and not against Keras.
    with pytest.raises(ValueError, match="dilation_rate"):
        keras_out_shape([L.Conv2D(1, 3, strides=2, dilation_rate=2)], (9, 9, 1))


@FAST
@given(case=dilated_windows(14, 4, 4, 4, ["valid", "same", 0, 1, 2]), extra=st.integers(0, 3),
       d_w=st.integers(1, 4), s_w=st.integers(1, 3))
def test_dilated_strided_output_size_matches_tf_nn_conv2d(case, extra, d_w, s_w):
    from course_lib import numpy_cnn

    n, k, s, d, pad = case
    w_in, d_w = n + extra, min(d_w, d)  # a wider input and a smaller dilation: the width fits too
    tf_pad = pad.upper() if isinstance(pad, str) else [[0, 0], [pad, pad], [pad, pad], [0, 0]]
    y = tf.nn.conv2d(tf.zeros((1, n, w_in, 1)), tf.zeros((k, k, 1, 1)), [1, s, s_w, 1], tf_pad,
                     dilations=[1, d, d_w, 1])
    got = tuple(y.shape[1:3])
    assert shapes.conv_output_size((n, w_in), k, (s, s_w), pad, dilation=(d, d_w)) == got
    out, _ = numpy_cnn.conv_forward(np.zeros((1, n, w_in, 1)), np.zeros((k, k, 1, 1)), stride=(s, s_w),
                                    pad=pad, dilation=(d, d_w))
    assert out.shape[1:3] == got


@FAST
@given(n=st.integers(1, 8), k=st.integers(2, 4), d=st.integers(2, 4), p=st.integers(0, 2))
def test_dilated_kernel_larger_than_padded_input_raises(n, k, d, p):
    span = d * (k - 1) + 1
    if span <= n + 2 * p:
        n = max(1, span - 2 * p - 1)
        if span <= n + 2 * p:
            return  # with this much padding every input fits the span
    with pytest.raises(ValueError, match=rf"dilated kernel {k} at dilation {d} \(span {span}\) is larger"):
        shapes.conv_output_size(n, k, 1, p, dilation=d)
    # Keras has no output for the same layer either
    assert_keras_has_no_output([L.ZeroPadding2D(p), L.Conv2D(1, k, dilation_rate=d)], (n, n, 1))


@FAST
@given(n=st.integers(5, 16), k=st.integers(2, 3), d=st.integers(1, 3), s=st.integers(1, 4),
       p=st.integers(0, 2))
def test_dilated_strict_raises_exactly_when_windows_leave_input_unused(n, k, d, s, p):
    span = d * (k - 1) + 1
    if span > n + 2 * p:
        return
    x = tf.zeros((1, n, 1, 1))
    out = int(tf.nn.conv2d(x, tf.zeros((k, 1, 1, 1)), [1, s, 1, 1], [[0, 0], [p, p], [0, 0], [0, 0]],
                           dilations=[1, d, 1, 1]).shape[1])
    if (out - 1) * s + span == n + 2 * p:  # the last window ends on the last padded position
        assert shapes.conv_output_size(n, k, s, p, dilation=d, strict=True) == out
    else:
        with pytest.raises(ValueError, match="at dilation" if d > 1 else "not an integer"):
            shapes.conv_output_size(n, k, s, p, dilation=d, strict=True)


def test_effective_kernel_size():
    assert [shapes.effective_kernel_size(3, d) for d in (1, 2, 4, 8)] == [3, 5, 9, 17]
    assert shapes.effective_kernel_size((3, 5), 2) == (5, 9)
    assert shapes.effective_kernel_size(3, (1, 3)) == (3, 7)
    assert shapes.effective_kernel_size(1, 7) == 1


@FAST
@given(case=dilated_windows(8, 3, 3, 1, [0, 1, 2]), c_in=st.integers(1, 2), filters=st.integers(1, 2))
def test_dilated_conv_macs_equals_matrix_nonzeros(case, c_in, filters):
    n, k, _, d, p = case
    conv = L.Conv2D(filters, k, dilation_rate=d, use_bias=False, kernel_initializer="ones")
    nnz = matrix_nnz(conv, (n + 2 * p, n + 2 * p, c_in))
    assert shapes.conv_macs(n, k, c_in, filters, 1, p, dilation=d) == nnz


@pytest.mark.parametrize("padding", [((1, 2), (0, 1)), ((0, 0), (2, 2)), (1, (2, 0))])
def test_asymmetric_padding_matches_zeropadding2d(padding):
    pads = tuple(p if isinstance(p, tuple) else (p, p) for p in padding)
    got = keras_out_shape([L.ZeroPadding2D(pads), L.Conv2D(1, (3, 2))], (6, 5, 1))
    assert shapes.conv_output_size((6, 5), (3, 2), 1, padding) == got[:2]


@pytest.mark.parametrize("pair", [(1, 2), (0, 3), (2, 0)])
def test_before_after_pair_matches_zeropadding1d(pair):
    got = keras_out_shape([L.ZeroPadding1D(pair), L.Conv1D(1, 4, strides=2)], (7, 1))[0]
    assert shapes.conv_output_size(7, 4, 2, pair) == got


# ----------------------------------------------------------------------------------------------------
# same_padding
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 3, 5, 7, 11])
def test_same_padding_odd_preserves_size_in_keras(k):
    p = shapes.same_padding(k)
    assert keras_out_shape([L.ZeroPadding2D(p), L.Conv2D(1, k)], (13, 13, 1))[:2] == (13, 13)


@pytest.mark.parametrize("k", [2, 4, 6])
def test_same_padding_even_kernel(k):
    with pytest.raises(ValueError, match="even"):
        shapes.same_padding(k)
    before, after = shapes.same_padding(k, asymmetric=True)
    x = tf.random.normal((1, 9, 9, 1))
    explicit = L.Conv2D(1, k, kernel_initializer="ones")
    same = L.Conv2D(1, k, padding="same", kernel_initializer="ones")
    y_explicit = explicit(L.ZeroPadding2D(((before, after), (before, after)))(x))
    # Keras' "same" uses exactly this split: the outputs agree value by value, not just in shape.
    np.testing.assert_allclose(np.asarray(same(x)), np.asarray(y_explicit), rtol=1e-5, atol=1e-5)


def test_same_padding_tuple_kernel():
    assert shapes.same_padding((3, 5)) == (1, 2)
    assert shapes.same_padding((3, 4), asymmetric=True) == ((1, 1), (1, 2))


# ----------------------------------------------------------------------------------------------------
# parameters and multiply-adds
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, in_shape, kernel, c_in, filters, bias, ndim",
    [
        (lambda: L.Conv2D(7, 3), (9, 9, 2), 3, 2, 7, True, 2),
        (lambda: L.Conv2D(4, (5, 3), use_bias=False), (9, 9, 3), (5, 3), 3, 4, False, 2),
        (lambda: L.Conv1D(6, 5), (20, 4), 5, 4, 6, True, 1),
        (lambda: L.Conv3D(3, (2, 3, 3)), (5, 6, 6, 2), (2, 3, 3), 2, 3, True, 3),
        (lambda: L.Conv3D(2, 3), (5, 5, 5, 1), 3, 1, 2, True, 3),
        (lambda: L.Conv2D(16, 1), (4, 4, 64), 1, 64, 16, True, 2),
    ],
)
def test_conv_params_matches_keras(make, in_shape, kernel, c_in, filters, bias, ndim):
    layer = make()
    layer.build((None, *in_shape))
    assert shapes.conv_params(kernel, c_in, filters, bias=bias, ndim=ndim) == layer.count_params()


@pytest.mark.parametrize("n_in, units, bias", [(5, 3, True), (12, 1, False), (100, 10, True)])
def test_dense_params_and_macs_match_keras(n_in, units, bias):
    layer = L.Dense(units, use_bias=bias, kernel_initializer="ones")
    layer.build((None, n_in))
    assert shapes.dense_params(n_in, units, bias=bias) == layer.count_params()
    if not bias:
        assert shapes.dense_macs(n_in, units) == matrix_nnz(layer, (n_in,))


@FAST
@given(case=fitting_windows(8, 4, 3, [0, 1, 2]), c_in=st.integers(1, 2), filters=st.integers(1, 3))
def test_conv_macs_equals_matrix_nonzeros(case, c_in, filters):
    n, k, s, p = case
    conv = L.Conv2D(filters, k, strides=s, use_bias=False, kernel_initializer="ones")
    # The matrix acts on the padded input, so products with padded zeros count, as conv_macs counts them.
    nnz = matrix_nnz(conv, (n + 2 * p, n + 1 + 2 * p, c_in))
    assert shapes.conv_macs((n, n + 1), k, c_in, filters, s, p) == nnz


# ----------------------------------------------------------------------------------------------------
# the lectures' counting examples (expected values: Keras, a count of ones, and the slides' printed numbers)
# ----------------------------------------------------------------------------------------------------
def count_products(in_hw_padded, kernel, c_in, filters, stride):
    """Multiply-adds counted by TensorFlow: an all-ones kernel over an all-ones (already padded) input sums,
    at each output, the number of products it makes; add those up."""
    x = tf.ones((1, *in_hw_padded, c_in))
    y = L.Conv2D(filters, kernel, strides=stride, use_bias=False, kernel_initializer="ones")(x)
    return int(round(float(tf.reduce_sum(tf.cast(y, tf.float64)))))


LECTURE_CONVS = [
    # name, input (h, w, c), filters, kernel, stride, padding, output, params, MACs printed on a slide
    ("32x32x3, ten 5x5, pad 2", (32, 32, 3), 10, 5, 1, 2, (32, 32, 10), 760, 768_000),
    ("28x28x3, a hundred 3x3, same", (28, 28, 3), 100, 3, 1, 1, (28, 28, 100), 2_800, None),
    ("AlexNet conv1", (227, 227, 3), 96, 11, 4, 0, (55, 55, 96), 34_944, None),
    ("150x100 RGB, 200 5x5", (150, 100, 3), 200, 5, 1, 2, (150, 100, 200), 15_200, None),
]


@pytest.mark.parametrize("name, in_shape, filters, k, s, p, out, params, slide_macs", LECTURE_CONVS)
def test_lecture_conv_examples(name, in_shape, filters, k, s, p, out, params, slide_macs):
    h, w, c = in_shape
    model = keras.Sequential([keras.Input(in_shape), L.ZeroPadding2D(p), L.Conv2D(filters, k, strides=s)])
    conv = model.layers[-1]
    assert tuple(conv.output.shape[1:]) == out
    assert conv.count_params() == params
    assert shapes.conv_output_size((h, w), k, s, p) == out[:2]
    assert shapes.conv_params(k, c, filters) == conv.count_params()
    macs = shapes.conv_macs((h, w), k, c, filters, s, p)
    assert macs == count_products((h + 2 * p, w + 2 * p), k, c, filters, s)
    if slide_macs is not None:
        assert macs == slide_macs
    assert graph.layer_table(model)[conv.name]["macs"] == macs


def test_lecture_alexnet_weights_without_bias():
    conv = L.Conv2D(96, 11, strides=4, use_bias=False)
    conv.build((None, 227, 227, 3))
    assert shapes.conv_params(11, 3, 96, bias=False) == conv.count_params() == 34_848


def test_lecture_28x28_padding_that_preserves_size():
    p = shapes.same_padding(3)
    assert p == 1
    assert keras_out_shape([L.ZeroPadding2D(p), L.Conv2D(1, 3)], (28, 28, 3))[:2] == (28, 28)


def test_lecture_fully_connected_alternative():
    # 150x100 units, each connected to all 150x100x3 inputs: the slide prints 675,015,000. That layer is too
    # big to build here (2.7 GB), so check the slide's number, and the formula on Keras at a small scale.
    assert shapes.dense_params(150 * 100 * 3, 150 * 100) == 675_015_000
    small = L.Dense(15)
    small.build((None, 45))
    assert shapes.dense_params(45, 15) == small.count_params()


# ----------------------------------------------------------------------------------------------------
# receptive field against gradients
# ----------------------------------------------------------------------------------------------------
def gradient_extent(layers, in_shape):
    """Extent (max - min + 1 per axis) of the input pixels that reach the first output value, found by
    autodiff through layers whose weights are all positive (so no contribution cancels)."""
    x = tf.Variable(tf.ones((1, *in_shape)))
    with tf.GradientTape() as tape:
        y = x
        for layer in layers:
            y = layer(y)
        first = y[(0,) + (0,) * (len(in_shape))]
    g = np.asarray(tape.gradient(first, x))[0, ..., 0]
    nz = np.nonzero(g)
    return tuple(int(idx.max() - idx.min() + 1) for idx in nz)


@FAST
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3)), min_size=1, max_size=4))
def test_receptive_field_matches_gradient_1d(stack):
    layers = [L.Conv1D(1, k, strides=s, use_bias=False, kernel_initializer="ones") for k, s in stack]
    steps = shapes.receptive_field_steps(stack)
    n = steps[-1]["rf"] + 2 * steps[-1]["jump"]
    assert gradient_extent(layers, (n, 1)) == (shapes.receptive_field(stack),)


@pytest.mark.parametrize("L_layers, K", [(1, 3), (2, 3), (3, 3), (5, 3), (2, 5), (4, 7)])
def test_receptive_field_stride1_stack(L_layers, K):
    stack = [(K, 1)] * L_layers
    layers = [L.Conv2D(1, K, use_bias=False, kernel_initializer="ones") for _ in stack]
    rf = shapes.receptive_field(stack)
    n = rf + 2
    assert gradient_extent(layers, (n, n, 1)) == (rf, rf)
    assert rf == 1 + L_layers * (K - 1)


def test_receptive_field_2d_with_pooling_and_tuple_kernels():
    stack = [((3, 5), 1), (2, 2), ((3, 3), (2, 1)), (3, 1)]
    layers = [
        L.Conv2D(1, (3, 5), use_bias=False, kernel_initializer="ones"),
        L.AveragePooling2D(2, 2),  # averaging weights are positive: the gradient marks the whole window
        L.Conv2D(1, 3, strides=(2, 1), use_bias=False, kernel_initializer="ones"),
        L.Conv2D(1, 3, use_bias=False, kernel_initializer="ones"),
    ]
    rf = shapes.receptive_field(stack)
    assert gradient_extent(layers, (rf[0] + 8, rf[1] + 8, 1)) == rf


def test_receptive_field_steps_and_empty_stack():
    assert shapes.receptive_field([]) == 1
    steps = shapes.receptive_field_steps([(7, 2), (3, 2), (3, 1)])
    assert [(st_["rf"], st_["jump"]) for st_ in steps] == [(7, 2), (11, 4), (19, 4)]
    assert [st_["dilation"] for st_ in steps] == [1, 1, 1]


@st.composite
def dilated_stacks(draw):
    """Layers ``(k, s, d)`` that Keras builds: a layer is strided or dilated, never both."""
    stack = []
    for _ in range(draw(st.integers(1, 4))):
        k = draw(st.integers(1, 4))
        if draw(st.booleans()):
            stack.append((k, 1, draw(st.integers(1, 4))))
        else:
            stack.append((k, draw(st.integers(1, 3)), 1))
    return stack


@FAST
@given(dilated_stacks())
def test_dilated_receptive_field_matches_gradient_1d(stack):
    layers = [L.Conv1D(1, k, strides=s, dilation_rate=d, use_bias=False, kernel_initializer="ones")
              for k, s, d in stack]
    steps = shapes.receptive_field_steps(stack)
    n = steps[-1]["rf"] + 2 * steps[-1]["jump"]
    assert gradient_extent(layers, (n, 1)) == (shapes.receptive_field(stack),)
    assert shapes.receptive_field([(shapes.effective_kernel_size(k, d), s) for k, s, d in stack]) == \
        shapes.receptive_field(stack)


@pytest.mark.parametrize("n_layers", [1, 2, 3, 4])
def test_doubling_dilations_grow_the_receptive_field_exponentially(n_layers):
    dilations = [2 ** i for i in range(n_layers)]  # 1, 2, 4, 8
    stack = [(3, 1, d) for d in dilations]
    rf = shapes.receptive_field(stack)
    layers = [L.Conv2D(1, 3, dilation_rate=d, use_bias=False, kernel_initializer="ones") for d in dilations]
    assert gradient_extent(layers, (rf + 2, rf + 3, 1)) == (rf, rf)
    assert rf == 2 ** (n_layers + 1) - 1
    assert shapes.receptive_field([(3, 1)] * n_layers) == 2 * n_layers + 1  # plain 3x3: linear


def test_dilated_receptive_field_2d_tuples():
    stack = [((3, 5), 1, (2, 1)), (2, 2), (3, 1, (1, 3))]
    layers = [
        L.Conv2D(1, (3, 5), dilation_rate=(2, 1), use_bias=False, kernel_initializer="ones"),
        L.AveragePooling2D(2, 2),
        L.Conv2D(1, 3, dilation_rate=(1, 3), use_bias=False, kernel_initializer="ones"),
    ]
    rf = shapes.receptive_field(stack)
    assert rf == (1 + 2 * 2 + 1 + 1 * 2 * 2, 1 + 4 + 1 + 3 * 2 * 2)  # r += d (k - 1) j, rows and columns
    assert gradient_extent(layers, (rf[0] + 6, rf[1] + 6, 1)) == rf


# ----------------------------------------------------------------------------------------------------
# activation memory
# ----------------------------------------------------------------------------------------------------
def test_activation_memory_matches_numpy_nbytes():
    for shape in [(224, 224, 64), (7, 7, 512), (10,)]:
        assert shapes.activation_memory(shape) == np.zeros(shape, dtype="float32").nbytes
        assert shapes.activation_memory(shape, bytes_per_value=2) == np.zeros(shape, dtype="float16").nbytes


# ----------------------------------------------------------------------------------------------------
# input validation
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, exc, message",
    [
        (lambda: shapes.conv_output_size(0, 3), ValueError, "n must be a positive int, got 0"),
        (lambda: shapes.conv_output_size(7, 0), ValueError, "kernel must be a positive int, got 0"),
        (lambda: shapes.conv_output_size(7, 3, 0), ValueError, "stride must be a positive int, got 0"),
        (lambda: shapes.conv_output_size(7, 3, -2), ValueError, "stride must be a positive int, got -2"),
        (lambda: shapes.conv_output_size(7, 3, 1, -1), ValueError,
         "padding must be a non-negative int, got -1"),
        (lambda: shapes.conv_output_size(7, 3, 1, 1.5), TypeError,
         "padding must be a non-negative int, got float"),
        (lambda: shapes.conv_output_size(7, 3, 1, "full"), ValueError,
         "padding must be one of 'same', 'valid', got 'full'"),
        (lambda: shapes.conv_output_size(7, 3, 1, (1, 2, 3)), ValueError,
         r"padding must be .* got \(1, 2, 3\)"),
        (lambda: shapes.conv_output_size((7, 7), 3, 1, ((1, -2), 0)), ValueError,
         r"padding\[0\]\[1\] must be a non-negative int, got -2"),
        (lambda: shapes.conv_output_size(3, 7), ValueError, "kernel 7 is larger than the padded input 3"),
        (lambda: shapes.conv_output_size(7.0, 3), TypeError, "n must be a positive int, got float 7.0"),
        (lambda: shapes.conv_output_size(7, "3"), TypeError, "kernel must be a positive int, got str '3'"),
        (lambda: shapes.conv_output_size(7, True), TypeError, "kernel must be a positive int, got bool True"),
        (lambda: shapes.conv_output_size((7, 7), (3, 3, 3)), ValueError,
         r"kernel must be an int or 2 ints \(one per spatial dimension\), got \(3, 3, 3\)"),
        (lambda: shapes.conv_output_size((7, 7), (3, 3.0)), TypeError, r"kernel\[1\] must be a positive int"),
        (lambda: shapes.conv_output_size((7, 7), 3, (1, 0)), ValueError, r"stride\[1\] must be a positive"),
        (lambda: shapes.same_padding(0), ValueError, "kernel must be a positive int, got 0"),
        (lambda: shapes.same_padding(4), ValueError, "kernel 4 is even"),
        (lambda: shapes.conv_params(3, 0, 8), ValueError, "in_channels must be a positive int, got 0"),
        (lambda: shapes.conv_params(3, 3, 8, bias=1), TypeError, "bias must be a bool, got int 1"),
        (lambda: shapes.same_pads(8, 3, 0), ValueError, "stride must be a positive int, got 0"),
        (lambda: shapes.same_pads(8.0, 3), TypeError, "size must be a positive int, got float 8.0"),
        (lambda: shapes.resolve_padding("full", 8, 3), ValueError, "padding must be one of 'same', 'valid'"),
        (lambda: shapes.resolve_padding(None, 8, 3), TypeError,
         "padding must be a non-negative int, got NoneType"),
        (lambda: shapes.explicit_padding(1, 0), ValueError, "ndim must be a positive int, got 0"),
        (lambda: shapes.conv_macs(32, 5, 3, -1), ValueError, "filters must be a positive int, got -1"),
        (lambda: shapes.dense_params(10, 0), ValueError, "units must be a positive int, got 0"),
        (lambda: shapes.activation_memory((None, 4)), TypeError,
         r"shape\[0\] must be a positive int, got NoneType None"),
        (lambda: shapes.activation_memory("4x4"), TypeError,
         "shape must be a tuple of positive ints, got str"),
        (lambda: shapes.activation_memory((4, 4), bytes_per_value=0), ValueError, "bytes_per_value"),
        (lambda: shapes.receptive_field([(3, 1), 3]), TypeError,
         r"layers\[1\] must be a \(kernel, stride\) pair"),
        (lambda: shapes.receptive_field([(3, 1, 1, 1)]), ValueError,
         r"layers\[0\] must be a \(kernel, stride\) pair or a \(kernel, stride, dilation\) triple, "
         r"got \(3, 1, 1, 1\)"),
        (lambda: shapes.receptive_field([(3, 1, 0)]), ValueError,
         r"layers\[0\] dilation must be a positive int, got 0"),
        (lambda: shapes.receptive_field([(3, 1, 2.0)]), TypeError,
         r"layers\[0\] dilation must be a positive int.*got float 2.0"),
        (lambda: shapes.conv_output_size(7, 3, dilation=0), ValueError,
         "dilation must be a positive int, got 0"),
        (lambda: shapes.conv_output_size(7, 3, dilation=1.5), TypeError,
         "dilation must be a positive int, got float 1.5"),
        (lambda: shapes.conv_output_size((7, 7), 3, dilation=(2, 0)), ValueError,
         r"dilation\[1\] must be a positive int, got 0"),
        (lambda: shapes.conv_output_size((7, 7), 3, dilation=(1, 2, 3)), ValueError,
         r"dilation must be an int or 2 ints \(one per spatial dimension\), got \(1, 2, 3\)"),
        (lambda: shapes.conv_output_size(4, 3, dilation=2), ValueError,
         r"dilated kernel 3 at dilation 2 \(span 5\) is larger than the padded input 4"),
        (lambda: shapes.conv_output_size(8, 3, 2, dilation=2, strict=True), ValueError,
         r"\(8 \+ 2\*0 - 2\*2 - 1\)/2 \+ 1"),
        (lambda: shapes.conv_macs(16, 3, 1, 1, dilation=-1), ValueError, "dilation must be a positive int"),
        (lambda: shapes.effective_kernel_size(3, 0), ValueError, "dilation must be a positive int, got 0"),
        (lambda: shapes.effective_kernel_size("3", 2), TypeError, "kernel must be a positive int, got str"),
        (lambda: shapes.resolve_padding("same", 8, 3, dilation=True), TypeError,
         "dilation must be a positive int, got bool True"),
        (lambda: shapes.receptive_field([(3, 0)]), ValueError, r"layers\[0\] stride must be a positive int"),
        (lambda: shapes.receptive_field(3), TypeError, "layers must be a sequence"),
    ],
)
def test_bad_input_names_argument_and_value(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
