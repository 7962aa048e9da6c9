"""course_lib.numpy_cnn.pool against Keras pooling layers, TensorFlow, GradientTape and finite differences."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.numpy_cnn import (
    global_avg_pool_backward,
    global_avg_pool_forward,
    max_pool2d,
    normwise_error,
    numeric_gradient_array,
    pool_backward,
    pool_forward,
    rel_error,
)


def _random(shape, seed, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


# (x shape, size, stride, padding)
POOL_TABLE = [
    ((2, 8, 8, 3), 2, 2, "valid"),
    ((2, 7, 7, 2), 3, 2, "valid"),  # overlapping, AlexNet-style
    ((1, 9, 6, 2), (3, 2), (2, 1), "valid"),  # non-square window and strides
    ((2, 7, 9, 1), 2, 3, "valid"),  # stride larger than the window: gaps
    ((1, 5, 6, 2), 2, 2, "same"),  # odd height: padded row at the bottom
    ((2, 8, 7, 2), 3, 2, "same"),
    ((1, 6, 6, 1), (2, 3), 1, "same"),
]
KERAS_LAYERS = {"max": keras.layers.MaxPooling2D, "avg": keras.layers.AveragePooling2D}
TF_POOL = {"max": tf.nn.max_pool2d, "avg": tf.nn.avg_pool2d}


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("x_shape,size,stride,padding", POOL_TABLE)
def test_forward_matches_keras_pooling_layers(mode, x_shape, size, stride, padding):
    x = _random(x_shape, 1, np.float32)
    layer = KERAS_LAYERS[mode](pool_size=size, strides=stride, padding=padding)
    expected = keras.ops.convert_to_numpy(layer(x))
    got, _ = pool_forward(x, size, stride, mode=mode, padding=padding)
    assert got.shape == expected.shape
    assert normwise_error(got, expected) < 1e-5


@pytest.mark.parametrize("x_shape,size,stride,padding", [c for c in POOL_TABLE if c[3] == "valid"])
def test_l2_pooling_matches_tf_sqrt_of_area_times_mean_square(x_shape, size, stride, padding):
    x = _random(x_shape, 2, np.float32)
    area = np.prod(_pair(size))
    expected = tf.sqrt(tf.nn.avg_pool2d(tf.square(x), _pair(size), _pair(stride), "VALID") * area).numpy()
    got, _ = pool_forward(x, size, stride, mode="l2")
    assert normwise_error(got, expected) < 1e-5


@pytest.mark.parametrize("mode", ["max", "avg", "l2"])
@pytest.mark.parametrize("x_shape,size,stride,padding", POOL_TABLE)
def test_backward_matches_gradient_tape_float64(mode, x_shape, size, stride, padding):
    x = _random(x_shape, 3)
    out, cache = pool_forward(x, size, stride, mode=mode, padding=padding)
    dout = _random(out.shape, 4)
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        if mode == "l2":
            # L2 pooling is sqrt(sum of squares). TF's "same" average pool divides by the count of real
            # pixels, so window sums come from a conv with a ones kernel, one channel at a time.
            ones = tf.ones((*_pair(size), 1, 1), tf.float64)
            per_channel = tf.reshape(tf.transpose(tf.square(tx), (0, 3, 1, 2)), (-1, *x_shape[1:3], 1))
            sums = tf.nn.conv2d(per_channel, ones, _pair(stride), padding.upper())
            sums = tf.reshape(sums, (x_shape[0], x_shape[3], *out.shape[1:3]))
            y = tf.transpose(tf.sqrt(sums), (0, 2, 3, 1))
        else:
            y = TF_POOL[mode](tx, _pair(size), _pair(stride), padding.upper())
        scalar = tf.reduce_sum(y * dout)
    expected = tape.gradient(scalar, tx).numpy()
    np.testing.assert_allclose(y.numpy(), out, rtol=1e-12, atol=1e-12)
    assert rel_error(pool_backward(dout, cache), expected) < 1e-6


@pytest.mark.parametrize("mode", ["max", "avg", "l2"])
@pytest.mark.parametrize("x_shape,size,stride,padding", [POOL_TABLE[1], POOL_TABLE[2], POOL_TABLE[5]])
def test_backward_matches_numeric_gradient(mode, x_shape, size, stride, padding):
    # Magnitudes kept in [0.5, 1.5]: L2 pooling's curvature blows up near all-zero windows, where the centred
    # difference's O(h^2) error would dominate; max pooling needs no near-ties within h.
    rng = np.random.default_rng(5)
    x = rng.uniform(0.5, 1.5, x_shape) * rng.choice([-1.0, 1.0], x_shape)
    out, cache = pool_forward(x, size, stride, mode=mode, padding=padding)
    dout = _random(out.shape, 6)
    expected = numeric_gradient_array(
        lambda v: pool_forward(v, size, stride, mode=mode, padding=padding)[0], x, dout)
    assert rel_error(pool_backward(dout, cache), expected) < 1e-6


def test_max_pool_routes_each_gradient_to_its_window_maximum():
    # The lecture's 4x4 map: each 2x2 window's maximum is unique, so d(sum out)/dx is a 0/1 mask of maxima.
    x = np.array([[4, 3, 1, 5], [1, 3, 4, 8], [4, 5, 4, 3], [6, 5, 9, 4]])
    np.testing.assert_array_equal(max_pool2d(x, 2, 2), [[4, 8], [6, 9]])
    out, cache = pool_forward(x[None, :, :, None], 2, 2, mode="max")
    mask = pool_backward(np.ones_like(out), cache)[0, :, :, 0]
    expected = np.zeros((4, 4))
    expected[0, 0] = expected[1, 3] = expected[3, 0] = expected[3, 2] = 1
    np.testing.assert_array_equal(mask, expected)
    avg, _ = pool_forward(x[None, :, :, None], 2, 2, mode="avg")
    np.testing.assert_allclose(avg[0, :, :, 0], [[11 / 4, 18 / 4], [20 / 4, 20 / 4]])


def test_overlapping_windows_accumulate_gradient():
    # A single large value inside both of two overlapping 3x3 stride-2 windows receives both gradients.
    x = np.zeros((1, 5, 3, 1))
    x[0, 2, 1, 0] = 10.0
    out, cache = pool_forward(x, 3, 2, mode="max")
    assert out.shape == (1, 2, 1, 1)
    dx = pool_backward(np.array([1.0, 2.0]).reshape(out.shape), cache)
    assert dx[0, 2, 1, 0] == 3.0 and dx.sum() == 3.0


def test_max_pool2d_matches_keras_on_a_2d_map():
    x = _random((7, 9), 7, np.float32)
    expected = keras.ops.convert_to_numpy(keras.layers.MaxPooling2D(3, 2)(x[None, :, :, None]))[0, :, :, 0]
    np.testing.assert_array_equal(max_pool2d(x, 3, 2), expected)


def test_global_average_pooling_forward_and_backward():
    x = _random((2, 4, 3, 5), 8)
    out, cache = global_avg_pool_forward(x)
    expected = keras.ops.convert_to_numpy(keras.layers.GlobalAveragePooling2D()(x.astype(np.float32)))
    assert out.shape == (2, 5)
    assert normwise_error(out, expected) < 1e-6
    dout = _random((2, 5), 9)
    expected_dx = numeric_gradient_array(lambda v: global_avg_pool_forward(v)[0], x, dout)
    assert rel_error(global_avg_pool_backward(dout, cache), expected_dx) < 1e-6


X = np.zeros((1, 4, 4, 2))


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(x=np.zeros((4, 4, 2))), ValueError, r"x must be a 4-D array.*\(4, 4, 2\)"),
    (dict(size=0), ValueError, r"size must be a positive int, got 0"),
    (dict(size=(2, -1)), ValueError, r"size\[1\] must be a positive int, got -1"),
    (dict(size=2.0), TypeError, r"size must be a positive int.*got float 2.0"),
    (dict(stride=0), ValueError, r"stride must be a positive int, got 0"),
    (dict(stride=2.0), TypeError, r"stride must be a positive int.*got float 2.0"),
    (dict(mode="min"), ValueError, r"mode must be one of 'max', 'avg', 'l2', got 'min'"),
    (dict(mode=max), TypeError, r"mode must be one of 'max', 'avg', 'l2', got builtin_function_or_method"),
    (dict(padding="full"), ValueError, r"padding must be one of 'valid', 'same', got 'full'"),
    (dict(padding=1), TypeError, r"padding must be one of 'valid', 'same', got int 1"),
    (dict(size=5), ValueError, r"size window \(5, 5\) is larger than the padded input \(4, 4\)"),
])
def test_pool_forward_rejects_bad_input(kwargs, exc, match):
    args = dict(x=X, size=2, stride=2, mode="max", padding="valid") | kwargs
    with pytest.raises(exc, match=match):
        pool_forward(**args)


def test_pool_backward_and_helpers_reject_bad_input():
    out, cache = pool_forward(X, 2, 2)
    match = r"dout must have the forward output's shape \(1, 2, 2, 2\), got \(1, 2, 2\)"
    with pytest.raises(ValueError, match=match):
        pool_backward(out[..., 0], cache)
    with pytest.raises(TypeError, match=r"cache must be the dict returned by pool_forward, got list \[\]"):
        pool_backward(out, [])
    with pytest.raises(ValueError, match=r"x must be a 2-D array \(H, W\), got shape \(1, 4, 4, 2\)"):
        max_pool2d(X, 2, 2)
    with pytest.raises(ValueError, match=r"x must be a 4-D array.*\(4, 2\)"):
        global_avg_pool_forward(np.zeros((4, 2)))
    _, gcache = global_avg_pool_forward(X)
    with pytest.raises(ValueError, match=r"dout must have the forward output's shape \(1, 2\), got \(2,\)"):
        global_avg_pool_backward(np.zeros(2), gcache)
