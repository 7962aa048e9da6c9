"""Checks of the kit on the Keras backend in KERAS_BACKEND (jax or torch; tensorflow works too).

    KERAS_BACKEND=jax /work/venvs/backends/bin/python tests/compat/backends_check.py
    KERAS_BACKEND=torch /work/venvs/backends/bin/python tests/compat/backends_check.py

Each check compares the kit with a computation that does not go through it: NumPy formulas from the weights,
finite differences of the model's outputs, the rotation property of the p4 layers. Weights come from a seeded
NumPy generator, not from the backend's initialisers (those draw different numbers on each backend), so a
check means the same thing everywhere. Prints one line per check and exits with status 1 when any fails
(tests/test_backends.py runs this script once per installed backend).
"""

from __future__ import annotations

import os
import sys
import traceback

# Set before course_lib (and so Keras) is imported; the caller's KERAS_BACKEND wins.
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("COURSE_MODE", "quick")

from course_lib import config  # noqa: E402 - sets TensorFlow's log settings before anything imports it

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


@check
def gpu_check_imports_no_other_backend():
    """config's device listing asks the backend itself: under JAX or PyTorch, TensorFlow stays unimported."""
    devices = config.backend_devices()
    assert any(d.startswith("CPU") or d.startswith("GPU") for d in devices), devices
    assert isinstance(config.gpu_available(), bool)
    if config.keras_backend() != "tensorflow":
        assert "tensorflow" not in sys.modules, "the GPU check imported TensorFlow"
    import keras

    assert keras.backend.backend() == os.environ["KERAS_BACKEND"]


# --------------------------------------------------------------------------------------------------- helpers
def numpy_weights(model, seed=0, scale=0.3):
    """Give every weight of ``model`` values from a NumPy generator (the same on every backend)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    for variable in model.weights:
        variable.assign(scale * rng.standard_normal(tuple(variable.shape)).astype(variable.dtype))
    return model


def smooth_cnn():
    """tanh and average pooling (no kinks): finite differences converge. 10x10x2 input, 3 classes."""
    import keras
    from keras import layers

    inp = keras.Input((10, 10, 2))
    x = layers.Conv2D(4, 3, padding="same", activation="tanh", name="conv1")(inp)
    x = layers.AveragePooling2D(2, name="pool")(x)
    x = layers.Conv2D(5, 3, activation="tanh", name="conv2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return numpy_weights(keras.Model(inp, layers.Dense(3, activation="softmax", name="pred")(x)))


def images(n, shape, seed=1):
    import numpy as np

    return np.random.default_rng(seed).random((n, *shape)).astype("float32")


# -------------------------------------------------------------------------------------------------- checks
@check
def gradient_helper_matches_analytic_gradient():
    import numpy as np
    from keras import ops

    from course_lib.visualize import gradients

    x = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], dtype="float32")
    w = np.array([0.3, -0.2, 0.7], dtype="float32")
    # f(x) = sum(sin(x) * w) + sum(x^3) / 3: df/dx = cos(x) * w + x^2
    got = gradients.input_gradient(lambda t: ops.multiply(ops.sin(t), w) + t ** 3 / 3.0, x)
    np.testing.assert_allclose(got, np.cos(x) * w + x ** 2, rtol=1e-5, atol=1e-6)
    assert isinstance(got, np.ndarray) and got.shape == x.shape
    value, grad = gradients.gradient_function(lambda t, s: ops.sum(t * s), jit=True)(x, 2.0)
    np.testing.assert_allclose(ops.convert_to_numpy(value), 2.0 * x.sum(), rtol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(grad), np.full_like(x, 2.0))


@check
def variable_gradients_match_analytic_gradients():
    import keras
    import numpy as np

    from course_lib.visualize import gradients

    inp = keras.Input((3,))
    dense = keras.layers.Dense(2, activation="tanh")
    model = numpy_weights(keras.Model(inp, dense(inp)), seed=5)
    x = images(4, (3,), seed=9)
    kernel, bias = model.get_weights()
    z = x @ kernel + bias  # d sum(tanh(z)) / dz = 1 - tanh(z)^2
    dz = 1.0 - np.tanh(z) ** 2
    d_kernel, d_bias = gradients.variable_gradients(lambda: model(x), [dense.kernel, dense.bias])
    np.testing.assert_allclose(d_kernel, x.T @ dz, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d_bias, dz.sum(axis=0), rtol=1e-5, atol=1e-6)


@check
def saliency_matches_finite_differences_of_the_logit():
    import keras
    import numpy as np
    from keras import ops

    from course_lib import visualize as viz

    model = smooth_cnn()
    dense = model.get_layer("pred")
    logits = keras.Model(model.inputs[0], dense.input)  # features; the logits are recomputed in NumPy
    kernel, bias = (ops.convert_to_numpy(v) for v in (dense.kernel, dense.bias))
    img = images(1, (10, 10, 2), seed=5)[0]
    c = 2
    got = viz.saliency_map(model, img, class_index=c)
    h = 1e-2
    eye = np.eye(img.size, dtype="float32").reshape(img.size, *img.shape) * h
    batch = np.concatenate([img + eye, img - eye])
    z = ops.convert_to_numpy(logits(batch)).astype("float64") @ kernel[:, c] + bias[c]
    grad = ((z[: img.size] - z[img.size:]) / (2 * h)).reshape(img.shape)
    expected = np.abs(grad).max(axis=-1)
    np.testing.assert_allclose(got, expected, rtol=2e-2, atol=2e-3 * expected.max())
    # the same in one batch, for the predicted classes
    batch_maps = viz.saliency_map(model, images(3, (10, 10, 2), seed=6))
    assert batch_maps.shape == (3, 10, 10) and np.all(batch_maps >= 0)


@check
def grad_cam_equals_the_class_activation_map():
    import keras
    import numpy as np
    from keras import layers

    from course_lib import numpy_cnn
    from course_lib import visualize as viz

    inp = keras.Input((8, 8, 3))
    a = layers.Conv2D(6, 3, padding="same", activation="relu", name="conv")(inp)
    g = layers.GlobalAveragePooling2D()(a)
    model = numpy_weights(keras.Model(inp, layers.Dense(4, activation="softmax", name="pred")(g)), seed=3)
    img = images(1, (8, 8, 3), seed=7)[0]
    w, b = model.get_layer("conv").get_weights()
    maps = np.maximum(numpy_cnn.conv_forward(img[None].astype("float64"), w, b, pad="same")[0][0], 0)
    kernel, bias = model.get_layer("pred").get_weights()
    for class_index in (None, 0, 3):
        logits = maps.mean(axis=(0, 1)) @ kernel + bias
        c = int(np.argmax(logits)) if class_index is None else class_index
        cam = np.maximum(np.tensordot(maps, kernel[:, c], axes=([2], [0])), 0.0)
        expected = cam / cam.max() if cam.max() > 0 else cam
        got = viz.grad_cam(model, img, class_index=class_index, upsample=False)
        np.testing.assert_allclose(got, expected, atol=1e-4)
        up = viz.grad_cam(model, img, "conv", class_index)  # same size: resizing changes nothing
        np.testing.assert_allclose(up, expected, atol=1e-4)


@check
def grad_cam_inside_a_residual_block():
    """The last convolution of ResNet-20 sits before a shortcut joins: the network is split there."""
    import numpy as np

    from course_lib import models
    from course_lib import visualize as viz

    net = models.get_model("cifar_resnet20", input_shape=(16, 16, 3), num_classes=10)
    batch = images(2, (16, 16, 3), seed=8)
    cams = viz.grad_cam(net, batch, class_index=[1, 4])
    assert cams.shape == (2, 16, 16) and cams.min() >= 0.0 and cams.max() <= 1.0 + 1e-6
    single = viz.grad_cam(net, batch[1], class_index=4)
    np.testing.assert_allclose(single, cams[1], atol=1e-5)


@check
def activation_maximization_raises_the_target_activation():
    import keras
    import numpy as np
    from keras import ops

    from course_lib import visualize as viz

    model = smooth_cnn()
    start = 0.5 + 0.05 * np.random.default_rng(0).standard_normal((10, 10, 2)).astype("float32")
    image = viz.activation_maximization(model, "conv2", 3, steps=30, lr=0.05, init=start, seed=1)
    assert image.shape == (10, 10, 2) and image.min() >= 0.0 and image.max() <= 1.0
    probe = keras.Model(model.inputs[0], model.get_layer("conv2").output)
    before, after = ops.convert_to_numpy(probe(np.stack([start, image])))[..., 3].mean(axis=(1, 2))
    assert after > before + 0.05, (before, after)
    again = viz.activation_maximization(model, "conv2", 3, steps=30, lr=0.05, init=start, seed=1)
    np.testing.assert_array_equal(image, again)


@check
def tensors_leave_keras_as_numpy():
    import numpy as np
    from keras import layers, ops

    from course_lib import visualize as viz

    model = smooth_cnn()
    img = images(1, (10, 10, 2), seed=2)[0]
    maps = viz.feature_maps(model, img, ["conv1", "conv2"])
    assert all(isinstance(m, np.ndarray) for m in maps.values())
    scores = viz.class_scores(model, img[None])
    np.testing.assert_allclose(np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True),
                               ops.convert_to_numpy(model(img[None])), rtol=1e-5, atol=1e-6)
    top = viz.top_activating_patches(model, images(4, (10, 10, 2)), "conv1", 0, k=2)
    assert isinstance(top.values, np.ndarray)
    dense = layers.Dense(2)
    out = dense(np.ones((1, 3), "float32"))  # under PyTorch: a tensor that requires grad
    np.testing.assert_allclose(ops.convert_to_numpy(out), ops.convert_to_numpy(dense.kernel).sum(axis=0)[None]
                               + ops.convert_to_numpy(dense.bias), rtol=1e-6)


@check
def p4_layers_are_equivariant_and_lift_matches_numpy():
    import keras
    import numpy as np
    from keras import ops

    from course_lib import numpy_cnn
    from course_lib.models.layers import OrientationPooling, P4Conv2D, P4ConvLift2D

    def rotate(a, r=1):
        return np.ascontiguousarray(np.rot90(a, r, axes=(1, 2)))

    def gap(a, b):
        return float(np.linalg.norm(a - b) / np.linalg.norm(b))

    inp = keras.Input((12, 12, 2))
    lifted = P4ConvLift2D(3, 3, activation="relu", name="lift")(inp)
    grouped = P4Conv2D(4, 3, name="group")(lifted)
    pooled = OrientationPooling("max", name="orient")(grouped)
    probe = numpy_weights(keras.Model(inp, [lifted, grouped, pooled]), seed=4)
    x = images(1, (12, 12, 2), seed=3)
    outs = [ops.convert_to_numpy(t) for t in probe(x)]
    # the lifting layer, from its weights, with NumPy: one correlation per rotated copy of each filter
    kernel, bias = (ops.convert_to_numpy(v) for v in probe.get_layer("lift").weights)
    reference = np.zeros((12, 12, 4, 3))
    for r in range(4):
        for f in range(3):
            for c in range(2):
                reference[:, :, r, f] += numpy_cnn.correlate2d(
                    x[0, :, :, c].astype("float64"), np.rot90(kernel[:, :, c, f], r), mode="same")
    reference = np.maximum(reference + bias, 0.0)
    assert gap(outs[0][0], reference) < 1e-5
    for r in (1, 2, 3):
        moved = [ops.convert_to_numpy(t) for t in probe(rotate(x, r))]
        assert gap(moved[0], np.roll(rotate(outs[0], r), r, axis=3)) < 1e-5
        assert gap(moved[1], np.roll(rotate(outs[1], r), r, axis=3)) < 1e-5
        assert gap(moved[2], rotate(outs[2], r)) < 1e-5
        assert gap(moved[1], rotate(outs[1], r)) > 0.1  # without the roll it does not hold: not vacuous


@check
def build_training_state_and_fit_train_a_tiny_model():
    import keras
    import numpy as np
    from keras import layers, ops

    from course_lib import training
    from course_lib.models.layers import OrientationPooling, P4ConvLift2D

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 96)
    x = (0.5 * rng.random((96, 8, 8, 1)) + 0.5 * y[:, None, None, None] * (np.arange(8) < 4)[:, None, None]
         ).astype("float32")  # class 1: the top half brighter

    def build():
        inp = keras.Input((8, 8, 1))
        h = P4ConvLift2D(4, 3, activation="relu", name="lift")(inp)  # p4 layers train on every backend
        h = OrientationPooling(name="orient")(h)
        h = layers.Conv2D(4, 3, activation="relu", name="conv")(h)
        h = layers.Flatten()(h)
        return keras.Model(inp, layers.Dense(2, activation="softmax", name="predictions")(h))

    model = training.build_and_compile(build, recipe="adam")
    numpy_weights(model, scale=0.2)
    training.build_training_state(model, x, y)
    slots = [v for v in model.optimizer.variables if "momentum" in v.path or "velocity" in v.path]
    assert slots, [v.path for v in model.optimizer.variables]
    history = training.fit(model, (x, y), recipe="adam", epochs=8, batch_size=16, validation=(x[:16], y[:16]))
    losses = history.history["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0] - 0.02, losses
    assert "val_loss" in history.history
    accuracy = training.evaluate_accuracy(model, (x, y))
    assert accuracy > 0.8, (accuracy, losses)
    training.reset_optimizer(model)
    assert all(not np.any(ops.convert_to_numpy(v)) for v in slots)
    # augmentation: eager per batch on this backend (tf.data's graph only runs it under TensorFlow)
    augment = training.augmentation(flip=True, crop_padding=1, seed=0)
    again = training.fit(model, (x, y), recipe="adam", epochs=1, batch_size=32, augment=augment)
    assert np.isfinite(again.history["loss"][0])
    assert training.make_strategy(None).num_replicas_in_sync == 1
    if keras.backend.backend() != "tensorflow":
        try:
            training.make_strategy("mirrored")
        except ValueError as err:
            assert "KERAS_BACKEND=tensorflow" in str(err)
        else:
            raise AssertionError("make_strategy('mirrored') must raise off TensorFlow")


def main() -> int:
    failed = 0
    backend = os.environ["KERAS_BACKEND"]
    for fn in CHECKS:
        try:
            fn()
        except Exception:  # noqa: BLE001 - report every check, then fail
            failed += 1
            print(f"FAILED {fn.__name__} [{backend}]\n{traceback.format_exc()}", flush=True)
        else:
            print(f"ok {fn.__name__} [{backend}]", flush=True)
    print(f"{len(CHECKS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
