"""The kit on Keras's other backends: the gradient helper on the backend this test runs under, and
tests/compat/backends_check.py run under JAX and PyTorch in subprocesses when those packages are installed.

In the development environment (TensorFlow only) the subprocess tests are skipped: the compatibility matrix
(tests/compat/matrix.toml: entries jax-py311 and torch-py311) installs JAX or PyTorch and runs this
module there.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops

from course_lib import config
from course_lib.visualize import gradients

CHECK_SCRIPT = Path(__file__).parent / "compat" / "backends_check.py"


def central_differences(f, x: np.ndarray, h: float) -> np.ndarray:
    """d f / d x of a scalar NumPy function, one coordinate at a time (float64)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


def test_input_gradient_matches_an_analytic_gradient():
    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
    w = np.array([0.3, -0.2, 0.7])
    # sum of fn over all entries: d/dx [sin(x) w + x^3 / 3] = cos(x) w + x^2
    got = gradients.input_gradient(lambda t: ops.multiply(ops.sin(t), w) + t ** 3 / 3.0, x)
    assert isinstance(got, np.ndarray) and got.shape == x.shape
    np.testing.assert_allclose(got, np.cos(x) * w + x ** 2, rtol=1e-6)


def test_gradient_of_a_small_network_matches_finite_differences():
    # float32 and h = 1e-2: JAX computes in float32 unless x64 is switched on, and Keras on PyTorch loses
    # float64 precision in the convolution; the truncation error (h^2) and round-off (1e-7 / h) stay < 1e-3
    keras.utils.set_random_seed(0)
    inp = keras.Input((5, 5, 2))
    h = keras.layers.Conv2D(3, 3, activation="tanh")(inp)
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Flatten()(h)))
    x = np.random.default_rng(1).standard_normal((1, 5, 5, 2)).astype("float32")
    got = gradients.input_gradient(lambda t: model(t), x)
    expected = central_differences(lambda a: float(ops.convert_to_numpy(model(a)).astype("float64").sum()),
                                   x.astype("float64"), h=1e-2)
    np.testing.assert_allclose(got, expected, rtol=1e-2, atol=1e-3 * np.abs(expected).max())
    assert np.abs(got).max() > 0.01  # not vacuous


def test_value_and_gradient_with_arguments_held_fixed_and_compiled():
    def fn(t, scale):
        return ops.sum(scale * t ** 2)

    step = gradients.gradient_function(fn, jit=True)
    for x in (np.arange(6.0).reshape(2, 3), -np.ones((2, 3))):  # twice: the traced function is reused
        value, grad = step(x, 3.0)
        np.testing.assert_allclose(ops.convert_to_numpy(value), 3.0 * (x ** 2).sum())
        np.testing.assert_allclose(ops.convert_to_numpy(grad), 6.0 * x)
    value, grad = gradients.value_and_gradient(lambda t: t[0] * 0.0 + 1.0, np.ones((2,)))
    np.testing.assert_array_equal(ops.convert_to_numpy(grad), [0.0, 0.0])  # no dependence: zeros


def test_variable_gradients_of_a_dense_layer():
    dense = keras.layers.Dense(3)
    x = np.random.default_rng(2).standard_normal((4, 2)).astype("float32")
    dense.build(x.shape)
    # sum(x @ W + b): d/dW[i, j] = sum_n x[n, i], d/db[j] = n; the layer's output scaled by 2 to see the chain
    d_kernel, d_bias = gradients.variable_gradients(lambda: 2.0 * dense(x), [dense.kernel, dense.bias])
    np.testing.assert_allclose(d_kernel, 2.0 * np.repeat(x.sum(axis=0)[:, None], 3, axis=1), rtol=1e-6)
    np.testing.assert_allclose(d_bias, np.full(3, 8.0))
    unused = keras.Variable(np.ones((2,), "float32"))
    np.testing.assert_array_equal(gradients.variable_gradients(lambda: dense(x), [unused])[0], [0.0, 0.0])
    with pytest.raises(TypeError, match=r"variables\[0\] must be a keras.Variable, got ndarray"):
        gradients.variable_gradients(lambda: dense(x), [np.ones(2)])


def test_gradient_function_checks_its_arguments():
    with pytest.raises(TypeError, match="fn must be a callable, got int"):
        gradients.gradient_function(3)
    with pytest.raises(TypeError, match="jit must be a bool, got str 'yes'"):
        gradients.gradient_function(lambda t: t, jit="yes")


def test_devices_come_from_the_backend_itself():
    devices = config.backend_devices()
    assert any(d.startswith("CPU") for d in devices) or any(d.startswith("GPU") for d in devices)
    assert config.gpu_available() == any(d.startswith("GPU") for d in devices)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_backend_checks_pass(backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed here; the compatibility matrix ({backend}-py311) runs it")
    current = keras.backend.backend()
    if current != "tensorflow" and current != backend:
        pytest.skip(f"the run under KERAS_BACKEND={backend} checks {backend}; this one runs under {current}")
    env = {**os.environ, "KERAS_BACKEND": backend, "COURSE_MODE": "quick"}
    result = subprocess.run([sys.executable, str(CHECK_SCRIPT)], env=env, capture_output=True, text=True,
                            timeout=900)
    report = result.stdout + "\n" + result.stderr[-4000:]
    assert result.returncode == 0, report
    assert "0 failed" in result.stdout, report
