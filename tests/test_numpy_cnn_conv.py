"""course_lib.numpy_cnn.conv against SciPy, TensorFlow, Keras, tf.GradientTape and finite differences."""


import keras
import numpy as np
import pytest
import scipy.signal
import tensorflow as tf

from course_lib.numpy_cnn import (
    conv_backward,
    conv_forward,
    convolve2d,
    correlate2d,
    normwise_error,
    numeric_gradient_array,
    pad2d,
    pool_forward,
    rel_error,
    same_pads,
)

# (x shape NHWC, w shape (KH, KW, C_in, C_out), stride, pad); pads given as ints or TF strings.
CONV_TABLE = [
    ((2, 7, 7, 3), (3, 3, 3, 4), 1, "valid"),
    ((2, 7, 7, 3), (3, 3, 3, 4), 1, "same"),
    ((2, 8, 8, 3), (3, 3, 3, 2), 2, "same"),  # TF pads (0, 1): asymmetric
    ((2, 7, 8, 2), (3, 3, 2, 2), 2, "same"),  # odd H: symmetric; even W: asymmetric
    ((1, 9, 6, 2), (2, 3, 2, 3), 2, "valid"),  # non-square kernel, non-square input
    ((1, 6, 9, 1), (4, 2, 1, 2), 1, "same"),  # even kernel height: TF pads (1, 2)
    ((3, 5, 6, 2), (1, 1, 2, 5), 1, "valid"),  # 1x1 convolution
    ((1, 10, 10, 1), (5, 5, 1, 1), 3, "same"),
    ((2, 6, 5, 3), (3, 2, 3, 2), (2, 1), "valid"),  # different strides per axis
    ((1, 5, 5, 2), (5, 5, 2, 2), 1, "valid"),  # kernel as large as the input: 1x1 output
]
EXPLICIT_PAD_TABLE = [
    ((2, 5, 6, 2), (3, 3, 2, 3), 1, 1),
    ((1, 6, 5, 1), (3, 2, 1, 2), 2, (2, 1)),
    ((1, 6, 6, 2), (3, 3, 2, 2), 2, ((0, 1), (2, 0))),
]
# (x shape, w shape, stride, pad, dilation): Keras takes a dilation > 1 only at stride 1, tf.nn.conv2d any.
DILATED_TABLE = [
    ((2, 9, 9, 3), (3, 3, 3, 4), 1, "valid", 2),
    ((2, 9, 10, 2), (3, 3, 2, 2), 1, "same", 2),
    ((1, 17, 17, 1), (3, 3, 1, 2), 1, "same", 4),
    ((1, 12, 11, 2), (3, 3, 2, 2), 1, "valid", 5),  # span 11: a single column of windows
    ((2, 10, 9, 2), (2, 3, 2, 3), 1, "same", (3, 2)),  # even kernel height: "same" pads the span's split
    ((1, 11, 12, 2), (3, 2, 2, 2), 1, 2, (2, 3)),
    ((2, 11, 10, 3), (3, 3, 3, 2), 2, "valid", 2),
    ((1, 12, 11, 2), (3, 2, 2, 2), 2, "same", (2, 3)),
    ((1, 13, 12, 2), (3, 3, 2, 1), (2, 3), "valid", 2),
    ((1, 13, 12, 2), (3, 3, 2, 1), 2, ((1, 2), (0, 1)), (3, 2)),
    ((2, 8, 8, 2), (1, 1, 2, 3), 2, "valid", 3),  # a 1x1 kernel has no gaps: dilation changes nothing
]


def _random(shape, seed, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def _tf_padding(pad):
    if isinstance(pad, str):
        return pad.upper()
    if isinstance(pad, int):
        pad = ((pad, pad), (pad, pad))
    elif isinstance(pad[0], int):
        pad = ((pad[0], pad[0]), (pad[1], pad[1]))
    return [[0, 0], list(pad[0]), list(pad[1]), [0, 0]]


def _tf_stride(stride):
    return [1, stride, stride, 1] if isinstance(stride, int) else [1, stride[0], stride[1], 1]


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _dilated_kernel(w, dilation):
    """The ordinary (KH', KW') kernel a dilated one stands for, zeros between the taps, built in TensorFlow
    so that the gradient with respect to the taps flows through it (TF's CPU kernels refuse the gradient of
    tf.nn.conv2d with dilations > 1)."""
    dh, dw = _pair(dilation)
    kh, kw = w.shape[:2]
    taps = [[p * dh, q * dw] for p in range(kh) for q in range(kw)]
    return tf.scatter_nd(taps, tf.reshape(w, (kh * kw, *w.shape[2:])), (dh * (kh - 1) + 1, dw * (kw - 1) + 1,
                                                                        *w.shape[2:]))


# ------------------------------------------------------------------------------------------ 2-D ops


@pytest.mark.parametrize("mode", ["valid", "same", "full"])
@pytest.mark.parametrize("x_shape,k_shape", [
    ((6, 6), (3, 3)), ((7, 5), (2, 3)), ((5, 8), (4, 4)), ((4, 4), (1, 2)),
])
def test_correlate_and_convolve_match_scipy(mode, x_shape, k_shape):
    x, k = _random(x_shape, 1), _random(k_shape, 2)
    assert rel_error(correlate2d(x, k, mode), scipy.signal.correlate2d(x, k, mode)) < 1e-12
    assert rel_error(convolve2d(x, k, mode), scipy.signal.convolve2d(x, k, mode)) < 1e-12


def test_lecture_convolution_example_matches_scipy_and_keeps_integers():
    # CS 615's worked example: X holds 1..64 row by row, K holds 1..9; true (flipped) convolution, valid.
    x, k = np.arange(1, 65).reshape(8, 8), np.arange(1, 10).reshape(3, 3)
    got = convolve2d(x, k)
    assert got.dtype.kind == "i"
    np.testing.assert_array_equal(got, scipy.signal.convolve2d(x, k, "valid"))
    assert got[0, 0] == 300 and got[-1, -1] == 2325


def test_convolve_is_correlate_with_flipped_kernel():
    x, k = _random((6, 7), 3), _random((3, 2), 4)
    assert rel_error(convolve2d(x, k), scipy.signal.correlate2d(x, k[::-1, ::-1], "valid")) < 1e-12


@pytest.mark.parametrize("shape", [(4, 5), (4, 5, 2), (2, 4, 5, 3)])
@pytest.mark.parametrize("pad", [1, (2, 0), ((1, 2), (0, 3))])
def test_pad2d_places_input_inside_zeros(shape, pad):
    x = _random(shape, 5)
    (t, b), (left, r) = {1: ((1, 1), (1, 1)), (2, 0): ((2, 2), (0, 0))}.get(pad, pad)
    got = pad2d(x, pad)
    axis = 1 if x.ndim == 4 else 0
    assert got.shape[axis] == shape[axis] + t + b and got.shape[axis + 1] == shape[axis + 1] + left + r
    if x.ndim == 4:
        inner = got[:, t:t + shape[1], left:left + shape[2]]
    else:
        inner = got[t:t + shape[0], left:left + shape[1]]
    np.testing.assert_array_equal(inner, x)
    assert np.abs(got).sum() == pytest.approx(np.abs(x).sum())


@pytest.mark.parametrize("size,kernel,stride,expected", [
    (8, 3, 2, (0, 1)), (7, 3, 2, (1, 1)), (6, 4, 1, (1, 2)),
    (10, 5, 3, (2, 2)), (5, 1, 1, (0, 0)), (4, 2, 4, (0, 0)),
])
def test_same_pads_follow_tensorflow(size, kernel, stride, expected):
    assert same_pads(size, kernel, stride) == expected
    # Independent check of the placement: TF's SAME window sums over 1..size equal sums over an explicit pad.
    x = np.arange(1, size + 1, dtype=np.float64)
    got = tf.nn.conv2d(x.reshape(1, size, 1, 1), np.ones((kernel, 1, 1, 1)), [1, stride, 1, 1], "SAME")
    xp = np.pad(x, expected)
    windows = [xp[i:i + kernel].sum() for i in range(0, len(xp) - kernel + 1, stride)]
    np.testing.assert_array_equal(got.numpy().ravel(), windows)


# ---------------------------------------------------------------------------------------------- forward


@pytest.mark.parametrize("x_shape,w_shape,stride,pad", CONV_TABLE + EXPLICIT_PAD_TABLE)
def test_forward_matches_tf_nn_conv2d_float32(x_shape, w_shape, stride, pad):
    x, w = _random(x_shape, 10, np.float32), _random(w_shape, 11, np.float32)
    b = _random(w_shape[3], 12, np.float32)
    expected = tf.nn.conv2d(x, w, _tf_stride(stride), _tf_padding(pad)).numpy() + b
    got, _ = conv_forward(x, w, b, stride=stride, pad=pad)
    assert got.dtype == np.float32
    assert got.shape == expected.shape
    assert normwise_error(got, expected) < 1e-5


@pytest.mark.parametrize("x_shape,w_shape,stride,pad", CONV_TABLE)
def test_forward_matches_keras_conv2d(x_shape, w_shape, stride, pad):
    x, w = _random(x_shape, 20, np.float32), _random(w_shape, 21, np.float32)
    b = _random(w_shape[3], 22, np.float32)
    layer = keras.layers.Conv2D(w_shape[3], w_shape[:2], strides=stride, padding=pad)
    layer.build(x_shape)
    layer.set_weights([w, b])
    expected = keras.ops.convert_to_numpy(layer(x))
    got, _ = conv_forward(x, w, b, stride=stride, pad=pad)
    assert got.shape == expected.shape
    assert normwise_error(got, expected) < 1e-5


@pytest.mark.parametrize("x_shape,w_shape,stride,pad", CONV_TABLE + EXPLICIT_PAD_TABLE)
def test_loop_and_im2col_agree_float64(x_shape, w_shape, stride, pad):
    x, w, b = _random(x_shape, 30), _random(w_shape, 31), _random(w_shape[3], 32)
    out_fast, cache_fast = conv_forward(x, w, b, stride, pad, method="im2col")
    out_loop, cache_loop = conv_forward(x, w, b, stride, pad, method="loop")
    assert np.max(np.abs(out_fast - out_loop)) < 1e-10
    dout = _random(out_fast.shape, 33)
    for g_fast, g_loop in zip(conv_backward(dout, cache_fast), conv_backward(dout, cache_loop)):
        assert g_fast.shape == g_loop.shape
        assert np.max(np.abs(g_fast - g_loop)) < 1e-10


@pytest.mark.parametrize("method", ["im2col", "loop"])
@pytest.mark.parametrize("x_shape,w_shape,stride,pad,dilation", DILATED_TABLE)
def test_dilated_forward_matches_tf_nn_conv2d_float64(x_shape, w_shape, stride, pad, dilation, method):
    x, w, b = _random(x_shape, 70), _random(w_shape, 71), _random(w_shape[3], 72)
    dilations = [1, *_pair(dilation), 1]
    expected = tf.nn.conv2d(x, w, _tf_stride(stride), _tf_padding(pad), dilations=dilations).numpy() + b
    got, _ = conv_forward(x, w, b, stride=stride, pad=pad, method=method, dilation=dilation)
    assert got.dtype == np.float64
    assert got.shape == expected.shape
    assert rel_error(got, expected) < 1e-10


@pytest.mark.parametrize("x_shape,w_shape,stride,pad,dilation",
                         [case for case in DILATED_TABLE if case[2] == 1 and isinstance(case[3], str)])
def test_dilated_forward_matches_keras_conv2d_dilation_rate(x_shape, w_shape, stride, pad, dilation):
    x, w = _random(x_shape, 73, np.float32), _random(w_shape, 74, np.float32)
    b = _random(w_shape[3], 75, np.float32)
    layer = keras.layers.Conv2D(w_shape[3], w_shape[:2], padding=pad, dilation_rate=dilation)
    layer.build(x_shape)
    layer.set_weights([w, b])
    expected = keras.ops.convert_to_numpy(layer(x))
    got, _ = conv_forward(x, w, b, pad=pad, dilation=dilation)
    assert got.shape == expected.shape
    assert normwise_error(got, expected) < 1e-5


@pytest.mark.parametrize("x_shape,w_shape,stride,pad", CONV_TABLE + EXPLICIT_PAD_TABLE)
def test_dilation_one_changes_nothing(x_shape, w_shape, stride, pad):
    x, w, b = _random(x_shape, 76), _random(w_shape, 77), _random(w_shape[3], 78)
    plain, cache = conv_forward(x, w, b, stride, pad)
    for dilation in (1, (1, 1)):
        out, cache_d = conv_forward(x, w, b, stride, pad, dilation=dilation)
        np.testing.assert_array_equal(out, plain)
        dout = _random(out.shape, 79)
        for g, g_plain in zip(conv_backward(dout, cache_d), conv_backward(dout, cache)):
            np.testing.assert_array_equal(g, g_plain)


def test_dilated_kernel_is_a_kernel_with_zeros_between_its_taps():
    # Same computation two ways in NumPy: dilation d, and the d(k - 1) + 1 kernel with zeros inserted.
    x, w = _random((2, 12, 11, 2), 80), _random((3, 2, 2, 3), 81)
    wide = np.zeros((7, 4, 2, 3))
    wide[::3, ::3] = w
    for pad in ("valid", "same", 1):
        got, _ = conv_forward(x, w, None, 2, pad, dilation=3)
        expected, _ = conv_forward(x, wide, None, 2, pad)
        assert rel_error(got, expected) < 1e-12


def test_bias_none_means_zero_and_int_inputs_compute_in_float64():
    x, w = np.arange(2 * 4 * 4 * 1).reshape(2, 4, 4, 1), np.ones((2, 2, 1, 1), dtype=int)
    out, _ = conv_forward(x, w)
    assert out.dtype == np.float64
    expected = scipy.signal.correlate2d(x[0, :, :, 0], w[:, :, 0, 0], "valid")
    np.testing.assert_array_equal(out[0, :, :, 0], expected)


# --------------------------------------------------------------------------------------------- backward


@pytest.mark.parametrize("method", ["im2col", "loop"])
@pytest.mark.parametrize("x_shape,w_shape,stride,pad", CONV_TABLE[:6] + EXPLICIT_PAD_TABLE)
def test_backward_matches_gradient_tape_float64(x_shape, w_shape, stride, pad, method):
    x, w, b = _random(x_shape, 40), _random(w_shape, 41), _random(w_shape[3], 42)
    out, cache = conv_forward(x, w, b, stride, pad, method=method)
    dout = _random(out.shape, 43)
    tx, tw, tb = tf.constant(x), tf.constant(w), tf.constant(b)
    with tf.GradientTape() as tape:
        tape.watch([tx, tw, tb])
        y = tf.nn.conv2d(tx, tw, _tf_stride(stride), _tf_padding(pad)) + tb
        scalar = tf.reduce_sum(y * dout)
    expected = [g.numpy() for g in tape.gradient(scalar, [tx, tw, tb])]
    for got, ref in zip(conv_backward(dout, cache), expected):
        assert got.shape == ref.shape
        assert rel_error(got, ref) < 1e-6


@pytest.mark.parametrize("x_shape,w_shape,stride,pad", [
    ((2, 5, 5, 2), (3, 3, 2, 2), 1, "same"),
    ((1, 6, 5, 2), (3, 2, 2, 3), 2, "same"),
    ((2, 5, 6, 1), (2, 2, 1, 2), 2, 1),
    ((1, 7, 7, 2), (3, 3, 2, 1), 3, "valid"),
])
def test_backward_matches_numeric_gradient(x_shape, w_shape, stride, pad):
    x, w, b = _random(x_shape, 50), _random(w_shape, 51), _random(w_shape[3], 52)
    out, cache = conv_forward(x, w, b, stride, pad)
    dout = _random(out.shape, 53)
    dx, dw, db = conv_backward(dout, cache)
    def numeric(f, v):
        return numeric_gradient_array(lambda u: f(u)[0], v, dout)

    assert rel_error(dx, numeric(lambda v: conv_forward(v, w, b, stride, pad), x)) < 1e-6
    assert rel_error(dw, numeric(lambda v: conv_forward(x, v, b, stride, pad), w)) < 1e-6
    assert rel_error(db, numeric(lambda v: conv_forward(x, w, v, stride, pad), b)) < 1e-6


@pytest.mark.parametrize("method", ["im2col", "loop"])
@pytest.mark.parametrize("x_shape,w_shape,stride,pad,dilation", DILATED_TABLE)
def test_dilated_backward_matches_gradient_tape_float64(x_shape, w_shape, stride, pad, dilation, method):
    x, w, b = _random(x_shape, 90), _random(w_shape, 91), _random(w_shape[3], 92)
    out, cache = conv_forward(x, w, b, stride, pad, method=method, dilation=dilation)
    dout = _random(out.shape, 93)
    tx, tw, tb = tf.constant(x), tf.constant(w), tf.constant(b)
    with tf.GradientTape() as tape:
        tape.watch([tx, tw, tb])
        y = tf.nn.conv2d(tx, _dilated_kernel(tw, dilation), _tf_stride(stride), _tf_padding(pad)) + tb
        scalar = tf.reduce_sum(y * dout)
    expected = [g.numpy() for g in tape.gradient(scalar, [tx, tw, tb])]
    for got, ref in zip(conv_backward(dout, cache), expected):
        assert got.shape == ref.shape
        assert rel_error(got, ref) < 1e-10


@pytest.mark.parametrize("x_shape,w_shape,stride,pad,dilation",
                         [case for case in DILATED_TABLE if case[2] == 1 and isinstance(case[3], str)])
def test_dilated_backward_matches_tf_nn_convolution(x_shape, w_shape, stride, pad, dilation):
    # TensorFlow's own dilated op (space-to-batch on CPU), where it allows the gradient: stride 1.
    x, w, b = _random(x_shape, 94), _random(w_shape, 95), _random(w_shape[3], 96)
    out, cache = conv_forward(x, w, b, pad=pad, dilation=dilation)
    dout = _random(out.shape, 97)
    tx, tw = tf.constant(x), tf.constant(w)
    with tf.GradientTape() as tape:
        tape.watch([tx, tw])
        y = tf.nn.convolution(tx, tw, padding=pad.upper(), dilations=_pair(dilation))
        scalar = tf.reduce_sum(y * dout)
    np.testing.assert_allclose(y.numpy() + b, out, rtol=1e-10, atol=1e-10)
    dx, dw, _ = conv_backward(dout, cache)
    ref_dx, ref_dw = (g.numpy() for g in tape.gradient(scalar, [tx, tw]))
    assert rel_error(dx, ref_dx) < 1e-10 and rel_error(dw, ref_dw) < 1e-10


@pytest.mark.parametrize("x_shape,w_shape,stride,pad,dilation", [
    ((1, 7, 7, 2), (3, 3, 2, 2), 1, "same", 2),
    ((2, 9, 8, 1), (2, 3, 1, 2), 2, 1, (3, 2)),
    ((1, 9, 9, 2), (3, 3, 2, 1), 3, "valid", 2),
])
def test_dilated_backward_matches_numeric_gradient(x_shape, w_shape, stride, pad, dilation):
    x, w, b = _random(x_shape, 100), _random(w_shape, 101), _random(w_shape[3], 102)
    out, cache = conv_forward(x, w, b, stride, pad, dilation=dilation)
    dout = _random(out.shape, 103)
    dx, dw, db = conv_backward(dout, cache)

    def numeric(f, v):
        return numeric_gradient_array(lambda u: f(u)[0], v, dout)

    assert rel_error(dx, numeric(lambda v: conv_forward(v, w, b, stride, pad, dilation=dilation), x)) < 1e-6
    assert rel_error(dw, numeric(lambda v: conv_forward(x, v, b, stride, pad, dilation=dilation), w)) < 1e-6
    assert rel_error(db, numeric(lambda v: conv_forward(x, w, v, stride, pad, dilation=dilation), b)) < 1e-6


def test_backward_is_full_convolution_and_valid_correlation():
    # The textbook identities for one channel, stride 1, no padding: dx = dout (*) w (full convolution),
    # dw = x (x) dout (valid correlation); computed here by SciPy.
    x, w = _random((1, 7, 6, 1), 60), _random((3, 2, 1, 1), 61)
    out, cache = conv_forward(x, w, np.zeros(1))
    dout = _random(out.shape, 62)
    dx, dw, _ = conv_backward(dout, cache)
    x2, w2, d2 = x[0, :, :, 0], w[:, :, 0, 0], dout[0, :, :, 0]
    assert rel_error(dx[0, :, :, 0], scipy.signal.convolve2d(d2, w2, "full")) < 1e-12
    assert rel_error(dw[:, :, 0, 0], scipy.signal.correlate2d(x2, d2, "valid")) < 1e-12


# ---------------------------------------------------------------------------------------------- errors

X4, W4 = np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2, 4))


# A wrong type is a TypeError, a wrong value a ValueError (course_lib.validation's rule, the same in shapes).
@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(x=np.zeros((5, 5, 2))), ValueError, r"x must be a 4-D array.*\(5, 5, 2\)"),
    (dict(x=np.zeros((1, 0, 5, 2))), ValueError, r"x must hold images of at least 1x1 pixels"),
    (dict(x=np.full((1, 5, 5, 2), "a")), TypeError, r"x must hold numbers"),
    (dict(w=np.zeros((3, 3, 2))), ValueError, r"w must be a 4-D array.*\(3, 3, 2\)"),
    (dict(w=np.zeros((3, 3, 3, 4))), ValueError,
     r"channel mismatch: the layout is NHWC as in Keras, x is \(N, H, W, C\) and w is \(KH, KW, C_in, C_out\)"
     r".*got C=2 \(x.shape=\(1, 5, 5, 2\)\) and C_in=3 \(w.shape=\(3, 3, 3, 4\)\)$"),
    (dict(b=np.zeros(3)), ValueError, r"b must have shape \(C_out,\) = \(4,\), got \(3,\)"),
    (dict(stride=0), ValueError, r"stride must be a positive int, got 0"),
    (dict(stride=-2), ValueError, r"stride must be a positive int, got -2"),
    (dict(stride=(1, 0)), ValueError, r"stride\[1\] must be a positive int, got 0"),
    (dict(stride=(1, 1, 1)), ValueError, r"stride must be an int or 2 ints.*got \(1, 1, 1\)"),
    (dict(stride=1.5), TypeError, r"stride must be a positive int.*got float 1.5"),
    (dict(stride=True), TypeError, r"stride must be a positive int.*got bool True"),
    (dict(pad=-1), ValueError, r"pad must be a non-negative int, got -1"),
    (dict(pad=((0, -1), (0, 0))), ValueError, r"pad\[0\]\[1\] must be a non-negative int, got -1"),
    (dict(pad=1.0), TypeError, r"pad must be a non-negative int, got float 1.0"),
    (dict(pad="full"), ValueError, r"pad must be one of 'same', 'valid', got 'full'"),
    (dict(w=np.zeros((7, 3, 2, 4))), ValueError,
     r"w window \(7, 3\) is larger than the padded input \(5, 5\)"),
    (dict(w=np.zeros((8, 3, 2, 4)), pad=1), ValueError,
     r"w window \(8, 3\) is larger than the padded input \(7, 7\)"),
    (dict(method="fft"), ValueError, r"method must be one of 'im2col', 'loop', got 'fft'"),
    (dict(method=None), TypeError, r"method must be one of 'im2col', 'loop', got NoneType None"),
    (dict(dilation=0), ValueError, r"dilation must be a positive int, got 0"),
    (dict(dilation=(2, 0)), ValueError, r"dilation\[1\] must be a positive int, got 0"),
    (dict(dilation=(1, 2, 3)), ValueError, r"dilation must be an int or 2 ints.*got \(1, 2, 3\)"),
    (dict(dilation=2.0), TypeError, r"dilation must be a positive int.*got float 2.0"),
    (dict(dilation=True), TypeError, r"dilation must be a positive int.*got bool True"),
    (dict(dilation=3), ValueError,
     r"w window \(3, 3\) at dilation \(3, 3\) spans \(7, 7\) and is larger than the padded input \(5, 5\)"),
    (dict(dilation=(1, 4), pad=1), ValueError,
     r"w window \(3, 3\) at dilation \(1, 4\) spans \(3, 9\) and is larger than the padded input \(7, 7\)"),
])
def test_conv_forward_rejects_bad_input(kwargs, exc, match):
    args = dict(x=X4, w=W4, b=np.zeros(4), stride=1, pad=0, method="im2col") | kwargs
    with pytest.raises(exc, match=match):
        conv_forward(**args)


def test_channel_mismatch_names_the_nhwc_layout_and_spots_a_channels_first_input():
    # A PyTorch-style (N, C, H, W) batch of 3-channel 8x8 images against a Keras (KH, KW, C_in, C_out) kernel.
    nchw, w = np.zeros((2, 3, 8, 8)), np.zeros((3, 3, 3, 4))
    hint = r"x looks channels-first \(N, C, H, W\): pass x.transpose\(0, 2, 3, 1\)"
    with pytest.raises(ValueError, match=r"x is \(N, H, W, C\).*got C=8 .*and C_in=3 .*" + hint):
        conv_forward(nchw, w)
    out, _ = conv_forward(nchw.transpose(0, 2, 3, 1), w)  # the fix the message gives works
    assert out.shape == (2, 6, 6, 4)


def test_conv_forward_accepts_numpy_integers_and_case_insensitive_strings():
    out_np, _ = conv_forward(X4 + 1, W4 + 1, None, np.int64(2), np.int32(1), method="LOOP")
    out_py, _ = conv_forward(X4 + 1, W4 + 1, None, 2, 1, method="loop")
    np.testing.assert_array_equal(out_np, out_py)
    # Uppercase "SAME" is TensorFlow's own spelling; it must pad exactly like "same".
    upper, lower = conv_forward(X4 + 1, W4 + 1, pad="SAME")[0], conv_forward(X4 + 1, W4 + 1, pad="same")[0]
    np.testing.assert_array_equal(upper, lower)


def test_conv_backward_rejects_bad_dout_and_cache():
    out, cache = conv_forward(X4, W4, np.zeros(4))
    match = r"dout must have the forward output's shape \(1, 3, 3, 4\), got \(1, 3, 3\)"
    with pytest.raises(ValueError, match=match):
        conv_backward(out[..., 0], cache)
    expected = "cache must be the dict returned by conv_forward, got"
    with pytest.raises(TypeError, match=expected + r" tuple \(1, 2\)"):
        conv_backward(out, (1, 2))
    with pytest.raises(ValueError, match=expected + " a dict without 'w'"):
        conv_backward(out, pool_forward(X4, 2)[1])


@pytest.mark.parametrize("func", [correlate2d, convolve2d])
@pytest.mark.parametrize("x,k,mode,exc,match", [
    (np.zeros((1, 4, 4)), np.zeros((2, 2)), "valid", ValueError, r"x must be a 2-D array.*\(1, 4, 4\)"),
    (np.zeros((4, 4)), np.zeros((2, 2, 1)), "valid", ValueError, r"k must be a 2-D array.*\(2, 2, 1\)"),
    (np.zeros((4, 4)), np.zeros((5, 2)), "valid", ValueError,
     r"k of shape \(5, 2\) is larger than x of shape \(4, 4\)"),
    (np.zeros((4, 4)), np.zeros((2, 2)), "circular", ValueError,
     r"mode must be one of 'valid', 'same', 'full', got 'circular'"),
    (np.zeros((4, 4)), np.zeros((2, 2)), 0, TypeError,
     r"mode must be one of 'valid', 'same', 'full', got int 0"),
])
def test_2d_ops_reject_bad_input(func, x, k, mode, exc, match):
    with pytest.raises(exc, match=match):
        func(x, k, mode)


@pytest.mark.parametrize("x,pad,exc,match", [
    (np.zeros(4), 1, ValueError, r"x must be a 2-D or 3-D or 4-D array.*got shape \(4,\)"),
    (np.zeros((3, 3)), -1, ValueError, r"pad must be a non-negative int, got -1"),
    (np.zeros((3, 3)), (1, 2, 3), ValueError,
     r"pad must be a non-negative int or 2 entries.*got \(1, 2, 3\)"),
    (np.zeros((3, 3)), "same", TypeError, r"pad must be a non-negative int or pairs of them.*got str 'same'"),
    (np.zeros((3, 3)), 0.5, TypeError, r"pad must be a non-negative int, got float 0.5"),
])
def test_pad2d_rejects_bad_input(x, pad, exc, match):
    with pytest.raises(exc, match=match):
        pad2d(x, pad)
