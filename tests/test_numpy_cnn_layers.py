"""course_lib.numpy_cnn.layers and .gradcheck against TensorFlow, closed forms and finite differences."""

import numpy as np
import pytest
import tensorflow as tf

from course_lib.numpy_cnn import (
    dense_backward,
    dense_forward,
    flatten_backward,
    flatten_forward,
    logistic_loss,
    numeric_gradient,
    numeric_gradient_array,
    rel_error,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_backward,
    softmax_cross_entropy,
    softmax_forward,
)


def _random(shape, seed):
    return np.random.default_rng(seed).normal(size=shape)


# ------------------------------------------------------------------------------------------- gradcheck


def test_numeric_gradient_of_closed_form():
    x = _random((3, 4), 1)
    grad = numeric_gradient(lambda v: np.sum(np.sin(v) * v), x)
    assert rel_error(grad, np.sin(x) + x * np.cos(x)) < 1e-8


def test_numeric_gradient_restores_x_and_handles_array_functions():
    x = _random((2, 3), 2)
    before = x.copy()
    dout = _random((3, 2), 3)
    grad = numeric_gradient_array(lambda v: (v ** 2).T, x, dout)
    np.testing.assert_array_equal(x, before)
    assert rel_error(grad, 2 * x * dout.T) < 1e-8


@pytest.mark.parametrize("a,b,expected", [
    (np.array([1.0, 2.0]), np.array([1.0, 2.0]), 0.0),
    (np.array([1.0, 3.0]), np.array([1.0, 1.0]), 0.5),  # |3-1| / (3+1)
    (np.zeros(3), np.zeros(3), 0.0),
    (np.array([0.0]), np.array([1e-9]), 0.1),  # the 1e-8 floor: 1e-9 / 1e-8
])
def test_rel_error_values(a, b, expected):
    assert rel_error(a, b) == pytest.approx(expected)


def test_gradcheck_rejects_bad_input():
    with pytest.raises(ValueError, match=r"h must be a float > 0, got 0.0"):
        numeric_gradient(np.sum, np.zeros(2), h=0)
    with pytest.raises(ValueError, match=r"h must be a float > 0, got nan"):
        numeric_gradient(np.sum, np.zeros(2), h=float("nan"))
    with pytest.raises(TypeError, match=r"h must be a float > 0, got str '1e-5'"):
        numeric_gradient(np.sum, np.zeros(2), h="1e-5")
    # An int array cannot hold x + h: that is the wrong kind of argument, so a TypeError.
    with pytest.raises(TypeError, match="x must be a float NumPy array.*int64"):
        numeric_gradient(np.sum, np.zeros(2, dtype=np.int64))
    with pytest.raises(ValueError, match=r"f must return a scalar, got an array of shape \(2,\)"):
        numeric_gradient(lambda v: v, np.zeros(2))
    with pytest.raises(ValueError, match=r"f\(x\) has shape \(2,\) but dout has shape \(3,\)"):
        numeric_gradient_array(lambda v: v, np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match=r"a and b must have the same shape, got \(2,\) and \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))


# --------------------------------------------------------------------------------------------- forward


@pytest.mark.parametrize("x_shape", [(4, 6), (3, 2, 3, 2)])
def test_dense_forward_matches_tf_and_backward_matches_tape_and_numeric(x_shape):
    x, w, b = _random(x_shape, 4), _random((int(np.prod(x_shape[1:])), 5), 5), _random(5, 6)
    out, cache = dense_forward(x, w, b)
    tx, tw, tb = tf.constant(x), tf.constant(w), tf.constant(b)
    dout = _random(out.shape, 7)
    with tf.GradientTape() as tape:
        tape.watch([tx, tw, tb])
        y = tf.reshape(tx, (x_shape[0], -1)) @ tw + tb
        scalar = tf.reduce_sum(y * dout)
    assert rel_error(out, y.numpy()) < 1e-12
    dx, dw, db = dense_backward(dout, cache)
    for got, ref in zip((dx, dw, db), tape.gradient(scalar, [tx, tw, tb])):
        assert rel_error(got, ref.numpy()) < 1e-10
    assert rel_error(dx, numeric_gradient_array(lambda v: dense_forward(v, w, b)[0], x, dout)) < 1e-6
    assert rel_error(dw, numeric_gradient_array(lambda v: dense_forward(x, v, b)[0], w, dout)) < 1e-6
    assert rel_error(db, numeric_gradient_array(lambda v: dense_forward(x, w, v)[0], b, dout)) < 1e-6


ACTIVATIONS = [
    (relu_forward, relu_backward, tf.nn.relu),
    (sigmoid_forward, sigmoid_backward, tf.sigmoid),
    (softmax_forward, softmax_backward, tf.nn.softmax),
]


@pytest.mark.parametrize("forward,backward,tf_fn", ACTIVATIONS)
def test_activation_matches_tf_tape_and_numeric(forward, backward, tf_fn):
    x = _random((4, 5), 8) * 3
    x[np.abs(x) < 1e-3] = 0.5  # keep ReLU's kink out of reach of the finite difference
    out, cache = forward(x)
    dout = _random(x.shape, 9)
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        y = tf_fn(tx)
        scalar = tf.reduce_sum(y * dout)
    assert rel_error(out, y.numpy()) < 1e-12
    dx = backward(dout, cache)
    assert rel_error(dx, tape.gradient(scalar, tx).numpy()) < 1e-10
    assert rel_error(dx, numeric_gradient_array(lambda v: forward(v)[0], x, dout)) < 1e-6


def test_sigmoid_and_softmax_survive_huge_inputs():
    out, _ = sigmoid_forward(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(out, [0.0, 0.5, 1.0])
    probs, _ = softmax_forward(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(probs, [[0.5, 0.5, 0.0]])


@pytest.mark.parametrize("order", ["C", "F"])
def test_flatten_orders_and_backward(order):
    x = _random((2, 3, 4, 2), 10)
    out, cache = flatten_forward(x, order=order)
    expected = np.stack([xi.ravel(order=order) for xi in x])  # NumPy's own C / Fortran ravel per example
    np.testing.assert_array_equal(out, expected)
    dout = _random(out.shape, 11)
    assert rel_error(flatten_backward(dout, cache), numeric_gradient_array(
        lambda v: flatten_forward(v, order=order)[0], x, dout)) < 1e-6


# ---------------------------------------------------------------------------------------------- losses


@pytest.mark.parametrize("shape", [(6,), (6, 1)])
def test_logistic_loss_matches_tf_and_numeric(shape):
    scores = _random(shape, 12) * 4
    y = np.array([0, 1, 1, 0, 1, 0])
    loss, dscores = logistic_loss(scores, y)
    tz = tf.constant(scores.reshape(-1))
    with tf.GradientTape() as tape:
        tape.watch(tz)
        ref = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y.astype(np.float64), logits=tz))
    assert loss == pytest.approx(ref.numpy(), rel=1e-12)
    assert dscores.shape == shape
    assert rel_error(dscores.reshape(-1), tape.gradient(ref, tz).numpy()) < 1e-10
    assert rel_error(dscores, numeric_gradient(lambda v: logistic_loss(v, y)[0], scores)) < 1e-6


def test_logistic_loss_is_finite_for_huge_scores():
    # The lecture's example: net input 18525 with target 0; the log-likelihood is -18525, not -inf.
    loss, dscores = logistic_loss(np.array([18525.0]), np.array([0]))
    assert loss == 18525.0 and dscores[0] == 1.0


def test_softmax_cross_entropy_matches_tf_and_numeric():
    scores = _random((5, 4), 13) * 2
    y = np.array([0, 3, 1, 1, 2])
    loss, dscores = softmax_cross_entropy(scores, y)
    ts = tf.constant(scores)
    with tf.GradientTape() as tape:
        tape.watch(ts)
        ref = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=ts))
    assert loss == pytest.approx(ref.numpy(), rel=1e-12)
    assert rel_error(dscores, tape.gradient(ref, ts).numpy()) < 1e-10
    assert rel_error(dscores, numeric_gradient(lambda v: softmax_cross_entropy(v, y)[0], scores)) < 1e-6


# ---------------------------------------------------------------------------------------------- errors


Z = np.zeros


@pytest.mark.parametrize("call,match", [
    (lambda: dense_forward(Z(4), Z((4, 2)), Z(2)), r"x must have a batch axis.*\(4,\)"),
    (lambda: dense_forward(Z((3, 4)), Z((4, 2, 1)), Z(2)), r"w must be a 2-D array.*\(4, 2, 1\)"),
    (lambda: dense_forward(Z((3, 5)), Z((4, 2)), Z(2)), r"x has 5 features.*w expects 4"),
    (lambda: dense_forward(Z((3, 4)), Z((4, 2)), Z(3)), r"b must have shape \(M,\) = \(2,\)"),
    (lambda: dense_backward(Z((3, 3)), dense_forward(Z((3, 4)), Z((4, 2)), Z(2))[1]),
     r"dout must have the forward output's shape \(3, 2\), got \(3, 3\)"),
    (lambda: flatten_forward(Z((2, 3)), order="K"), r"order must be one of 'c', 'f', got 'K'"),
    (lambda: relu_backward(Z(3), relu_forward(Z(4))[1]), r"dout must have .*\(4,\), got \(3,\)"),
    (lambda: logistic_loss(Z((3, 2)), Z(3)), r"scores must have shape \(N,\) or \(N, 1\), got \(3, 2\)"),
    (lambda: logistic_loss(Z(3), np.array([0, 1, 2])), r"y must hold 0/1 targets"),
    (lambda: logistic_loss(Z(3), Z(4)), r"y must have shape \(N,\) = \(3,\), got \(4,\)"),
    (lambda: softmax_cross_entropy(Z(3), Z(3, int)), r"scores must be a 2-D array.*\(3,\)"),
    (lambda: softmax_cross_entropy(Z((2, 3)), np.array([0, 3])),
     r"y must hold labels in \[0, 2\], got range \[0, 3\]"),
    (lambda: softmax_cross_entropy(Z((2, 3)), np.array([0.5, 1])), r"y must hold integer class labels"),
])
def test_layers_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call,match", [
    (lambda: flatten_forward(Z((2, 3)), order=1), r"order must be one of 'c', 'f', got int 1"),
    (lambda: dense_forward(np.array([["a", "b"]]), Z((2, 2)), Z(2)), r"x must hold numbers"),
    (lambda: softmax_cross_entropy(Z((2, 3)), [[0], [1, 2]]), r"y must be an array"),
])
def test_layers_reject_wrong_types(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_normwise_error_is_the_largest_difference_over_the_largest_reference():
    from course_lib.numpy_cnn import normwise_error

    assert normwise_error([1.0, 2.5, -4.0], [1.0, 2.0, -4.0]) == pytest.approx(0.5 / 4.0)
    with pytest.raises(ValueError, match="same shape"):
        normwise_error([1.0], [1.0, 2.0])
