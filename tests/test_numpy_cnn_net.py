"""course_lib.numpy_cnn.net: gradients by finite differences, and learning scikit-learn's digits."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from course_lib.numpy_cnn import (
    TinyCNN,
    conv_forward,
    dense_forward,
    numeric_gradient,
    pool_forward,
    rel_error,
)


@pytest.mark.parametrize("reg", [0.0, 0.1])
def test_loss_gradients_match_numeric(reg):
    net = TinyCNN(input_shape=(6, 5, 2), num_filters=3, kernel_size=3, pool_size=2, num_classes=4, reg=reg,
                  seed=1, dtype=np.float64)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(3, 6, 5, 2)), np.array([0, 3, 2])
    _, grads = net.loss(x, y)
    for name, param in net.params.items():
        expected = numeric_gradient(lambda _: net.loss(x, y)[0], param)
        assert grads[name].shape == param.shape
        assert rel_error(grads[name], expected) < 1e-6, name


def test_initial_loss_is_near_log_num_classes():
    net = TinyCNN(input_shape=(8, 8, 1), num_classes=10, seed=0)
    x = np.random.default_rng(3).uniform(size=(64, 8, 8, 1))
    loss, _ = net.loss(x, np.arange(64) % 10)
    assert abs(loss - np.log(10)) < 0.5


def test_learns_digits_to_90_percent():
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]  # (1797, 8, 8, 1) in [0, 1]
    y = digits.target
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:1400], order[1400:]
    net = TinyCNN(input_shape=(8, 8, 1), num_filters=8, seed=0)
    untrained_loss, _ = net.loss(x[test], y[test])
    history = net.fit(x[train], y[train], epochs=8, lr=0.05, batch_size=32, momentum=0.9, seed=0)
    assert history["loss"][-1] < history["loss"][0]
    assert len(history["accuracy"]) == 8
    # Training lowers the loss on images it never saw, not only on the ones it fitted.
    trained_loss, _ = net.loss(x[test], y[test])
    assert trained_loss < 0.5 * untrained_loss, (untrained_loss, trained_loss)
    accuracy = net.accuracy(x[test], y[test])
    assert accuracy >= 0.90, accuracy
    assert net.predict(x[test]).shape == (len(test),)


def test_scores_equal_the_ops_composed_by_hand_with_the_loop_convolution():
    # TinyCNN runs the fast im2col convolution; the same network written out with the loop convolution (and a
    # ReLU and a reshape written here, not taken from the library) must give the same scores.
    net = TinyCNN(input_shape=(6, 7, 2), num_filters=3, kernel_size=3, pool_size=2, num_classes=4, seed=2,
                  dtype=np.float64)
    x = np.random.default_rng(3).normal(size=(5, 6, 7, 2))
    p = net.params
    conv, _ = conv_forward(x, p["W1"], p["b1"], stride=1, pad="same", method="loop")  # (5, 6, 7, 3)
    pooled, _ = pool_forward(np.maximum(conv, 0), 2, 2, mode="max")  # (5, 3, 3, 3)
    assert pooled.shape == (5, 3, 3, 3) and p["W2"].shape == (27, 4)
    expected = pooled.reshape(5, -1) @ p["W2"] + p["b2"]
    np.testing.assert_allclose(net.scores(x), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dense_forward(pooled, p["W2"], p["b2"])[0], expected, rtol=1e-12, atol=1e-12)


def test_fit_is_deterministic_for_a_seed():
    rng = np.random.default_rng(4)
    x, y = rng.uniform(size=(40, 6, 6, 1)), rng.integers(0, 3, 40)
    runs = []
    for _ in range(2):
        net = TinyCNN(input_shape=(6, 6, 1), num_filters=2, num_classes=3, seed=5)
        history = net.fit(x, y, epochs=2, lr=0.1, batch_size=8, seed=6, x_val=x[:10], y_val=y[:10])
        runs.append(net.params["W1"].copy())
    assert sorted(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history["val_accuracy"][-1] == net.accuracy(x[:10], y[:10])
    np.testing.assert_array_equal(*runs)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(input_shape=(8, 8)), ValueError, r"input_shape must be a tuple \(H, W, C\), got \(8, 8\)"),
    (dict(input_shape=8), TypeError, r"input_shape must be a tuple \(H, W, C\), got int 8"),
    (dict(input_shape=(8, 0, 1)), ValueError, r"input_shape\[1\] must be a positive int, got 0"),
    (dict(num_filters=0), ValueError, "num_filters must be a positive int, got 0"),
    (dict(kernel_size=2.5), TypeError, "kernel_size must be a positive int, got float 2.5"),
    (dict(pool_size=True), TypeError, "pool_size must be a positive int, got bool True"),
    (dict(pool_size=9), ValueError, "pool_size 9 is larger than the 8x8 feature map"),
    (dict(reg=-1.0), ValueError, "reg must be a float >= 0, got -1.0"),
    (dict(reg=float("nan")), ValueError, "reg must be a float >= 0, got nan"),
    (dict(reg="0.1"), TypeError, "reg must be a float >= 0, got str '0.1'"),
    (dict(dtype=np.int32), ValueError, "dtype must be float32 or float64"),
])
def test_constructor_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        TinyCNN(**kwargs)


def test_constructor_accepts_numpy_integers():
    net = TinyCNN(input_shape=(np.int64(8), 8, np.int32(1)), num_filters=np.int64(3), pool_size=np.int8(2))
    assert net.input_shape == (8, 8, 1) and net.params["W1"].shape == (3, 3, 1, 3)
    assert net.params["W2"].shape == (4 * 4 * 3, 10)


def test_methods_reject_bad_input():
    net = TinyCNN(input_shape=(8, 8, 1))
    with pytest.raises(ValueError, match=r"x must have images of shape \(8, 8, 1\), got \(7, 8, 1\)"):
        net.predict(np.zeros((2, 7, 8, 1)))
    with pytest.raises(ValueError, match=r"x must be a 4-D array.*\(8, 8\)"):
        net.loss(np.zeros((8, 8)), np.zeros(1, int))
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) = \(2,\), got \(3,\)"):
        net.fit(np.zeros((2, 8, 8, 1)), np.zeros(3, int))
    with pytest.raises(ValueError, match="epochs must be a positive int, got 0"):
        net.fit(np.zeros((2, 8, 8, 1)), np.zeros(2, int), epochs=0)
    with pytest.raises(TypeError, match="epochs must be a positive int, got float 2.0"):
        net.fit(np.zeros((2, 8, 8, 1)), np.zeros(2, int), epochs=2.0)
    with pytest.raises(ValueError, match=r"momentum must be a float in \[0, 1\), got 1.0"):
        net.fit(np.zeros((2, 8, 8, 1)), np.zeros(2, int), momentum=1.0)
    with pytest.raises(TypeError, match=r"batch_size must be a positive int, got NoneType None"):
        net.predict(np.zeros((2, 8, 8, 1)), batch_size=None)
