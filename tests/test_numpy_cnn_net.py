"""course_lib.numpy_cnn.net: gradients by finite differences, and learning scikit-learn's digits."""

import time

import numpy as np
import pytest
from sklearn.datasets import load_digits

from course_lib.numpy_cnn import TinyCNN, numeric_gradient, rel_error


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


def test_learns_digits_to_90_percent_in_seconds():
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]  # (1797, 8, 8, 1) in [0, 1]
    y = digits.target
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:1400], order[1400:]
    net = TinyCNN(input_shape=(8, 8, 1), num_filters=8, seed=0)
    start = time.perf_counter()
    history = net.fit(x[train], y[train], epochs=8, lr=0.05, batch_size=32, momentum=0.9, seed=0)
    seconds = time.perf_counter() - start
    assert history["loss"][-1] < history["loss"][0]
    assert len(history["accuracy"]) == 8
    accuracy = net.accuracy(x[test], y[test])
    assert accuracy >= 0.90, accuracy
    assert net.predict(x[test]).shape == (len(test),)
    assert seconds < 30, seconds  # a generous bound; about 1 s on a laptop core


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


@pytest.mark.parametrize("kwargs,match", [
    (dict(input_shape=(8, 8)), r"input_shape must be \(H, W, C\), got \(8, 8\)"),
    (dict(num_filters=0), "num_filters must be a positive int, got 0"),
    (dict(kernel_size=2.5), "kernel_size must be a positive int, got 2.5"),
    (dict(pool_size=9), "pool_size 9 is larger than the 8x8 feature map"),
    (dict(reg=-1.0), "reg must be a non-negative number, got -1.0"),
    (dict(dtype=np.int32), "dtype must be float32 or float64"),
])
def test_constructor_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TinyCNN(**kwargs)


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
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), got 1.0"):
        net.fit(np.zeros((2, 8, 8, 1)), np.zeros(2, int), momentum=1.0)
