"""Tests of course_lib.visualize: each result is checked against a computation that does not use the package
(finite differences, separately built sub-models, NumPy formulas from the weights, brute force, gradients,
receptive fields worked out by hand with the Distill recurrence)."""

from __future__ import annotations

import importlib
import importlib.util

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers
from scipy.stats import spearmanr

from course_lib import visualize as viz


# ----------------------------------------------------------------------------------------------------
# small models
# ----------------------------------------------------------------------------------------------------
def small_cnn(seed: int = 0, *, activation: str = "relu", head: str = "dense") -> keras.Model:
    """conv(same) -> pool -> conv(valid) -> GAP -> dense softmax, 12x12x3 input."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((12, 12, 3))
    x = layers.Conv2D(4, 3, padding="same", activation=activation, name="conv1")(inp)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(5, 3, activation=activation, name="conv2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    if head == "dense":
        out = layers.Dense(3, activation="softmax", name="pred")(x)
    else:  # logits, then a separate softmax layer (the NiN style)
        x = layers.Dense(3, name="logits")(x)
        out = layers.Activation("softmax", name="pred")(x)
    return keras.Model(inp, out, name="small_cnn")


def rng_images(n: int, shape=(12, 12, 3), seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).random((n, *shape)).astype(np.float32)


def logits_model(model: keras.Model) -> keras.Model:
    """The same network with a linear copy of the softmax Dense layer (built here, independently)."""
    dense = model.get_layer("pred")
    linear = layers.Dense(dense.units, name="pred_linear", dtype=dense.dtype_policy)
    out = linear(dense.input)
    linear.set_weights(dense.get_weights())
    return keras.Model(model.inputs[0], out)


@pytest.fixture(scope="module")
def cnn() -> keras.Model:
    return small_cnn()


# ----------------------------------------------------------------------------------------------------
# the package
# ----------------------------------------------------------------------------------------------------
# The public names of the former course_lib.inspect module, which notebooks and callers rely on.
PUBLIC_NAMES = {
    "conv_layer_names", "spatial_layer_names", "first_layer_filters", "feature_maps", "class_scores",
    "receptive_field_geometry", "FieldGeometry", "top_activating_patches", "TopPatches",
    "activation_maximization", "saliency_map", "grad_cam", "occlusion_sensitivity", "randomized_copy",
    "rank_correlation", "KernelSnapshots", "neighbour_correlation",
}


def test_package_reexports_each_submodule_name_and_leaves_no_inspect_module():
    submodules = [importlib.import_module(f"course_lib.visualize.{name}")
                  for name in ("layers", "receptive", "attribution", "synthesis", "sanity", "snapshots")]
    homes = {name: module for module in submodules for name in module.__all__}
    assert set(viz.__all__) == PUBLIC_NAMES == set(homes)
    for name, module in homes.items():
        assert getattr(viz, name) is getattr(module, name)
    # the old name shadowed the standard library's inspect module; no alias of it may remain
    assert importlib.util.find_spec("course_lib.inspect") is None


# ----------------------------------------------------------------------------------------------------
# layer lookup and errors
# ----------------------------------------------------------------------------------------------------
def test_conv_layer_names_lists_all_conv_kinds_in_order():
    inp = keras.Input((10, 10, 3))
    x = layers.Conv2D(4, 3, name="a")(inp)
    x = layers.DepthwiseConv2D(3, name="b")(x)
    x = layers.SeparableConv2D(6, 3, name="c")(x)
    x = layers.ReLU(name="relu")(x)
    x = layers.Flatten(name="flat")(x)
    model = keras.Model(inp, layers.Dense(2, name="d")(x))
    assert viz.conv_layer_names(model) == ["a", "b", "c"]
    assert viz.spatial_layer_names(model) == ["a", "b", "c", "relu"]


def test_sequential_models_work():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(2, 3, name="c"), layers.Flatten(),
                              layers.Dense(2, activation="softmax")])
    x = rng_images(1, (8, 8, 1))[0]
    maps = viz.feature_maps(model, x)
    expected = keras.Model(model.inputs[0], model.get_layer("c").output)(x[None])[0]
    np.testing.assert_allclose(maps["c"], expected, atol=1e-6)
    assert viz.receptive_field_geometry(model, "c") == viz.FieldGeometry((3, 3), (1, 1), (0, 0))


CALLS = {
    "feature_maps": lambda m, name: viz.feature_maps(m, rng_images(1)[0], [name]),
    "grad_cam": lambda m, name: viz.grad_cam(m, rng_images(1)[0], name),
    "top_activating_patches": lambda m, name: viz.top_activating_patches(m, rng_images(3), name, 0, k=2),
    "activation_maximization": lambda m, name: viz.activation_maximization(m, name, 0, steps=1),
    "receptive_field_geometry": lambda m, name: viz.receptive_field_geometry(m, name),
    "first_layer_filters": lambda m, name: viz.first_layer_filters(m, name),
}


@pytest.mark.parametrize("call", sorted(CALLS))
def test_unknown_layer_name_raises_with_close_matches(cnn, call):
    with pytest.raises(ValueError, match="'conv3'") as info:
        CALLS[call](cnn, "conv3")
    message = str(info.value)
    assert "conv1" in message and "conv2" in message  # close matches / the conv layers are listed


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("name", ["gap", "pred"])
def test_non_convolutional_layer_raises(cnn, call, name):
    with pytest.raises(ValueError, match=f"'{name}'.*not a"):
        CALLS[call](cnn, name)


IMG = rng_images(1)[0]

# (call, error type, message): a wrong type is a TypeError, a wrong value a ValueError, and the message names
# the argument and what was received, as everywhere in the kit (course_lib.validation).
BAD_ARGUMENTS = [
    (lambda m: viz.top_activating_patches(m, rng_images(2), "conv2", 5), ValueError,
     r"channel must be an int in \[0, 4\], got 5"),
    (lambda m: viz.top_activating_patches(m, rng_images(2), "conv2", [1, -1]), ValueError,
     r"channel\[1\] must be an int in \[0, 4\], got -1"),
    (lambda m: viz.top_activating_patches(m, rng_images(2), "conv2", 1.0), TypeError,
     "channel must be an int in .*got float 1.0"),
    (lambda m: viz.top_activating_patches(m, rng_images(2), "conv2", []), ValueError,
     "channel must be an int or a non-empty sequence"),
    (lambda m: viz.top_activating_patches(m, rng_images(2), "conv2", 0, k=0), ValueError,
     "k must be a positive int, got 0"),
    (lambda m: viz.top_activating_patches(m, rng_images(2), "conv2", 0, k=1.5), TypeError,
     "k must be a positive int, got float 1.5"),
    (lambda m: viz.saliency_map(m, IMG, class_index=3), ValueError, "class_index .* got 3"),
    (lambda m: viz.saliency_map(m, IMG, class_index="cat"), TypeError, "class_index must be an int.*'cat'"),
    (lambda m: viz.grad_cam(m, rng_images(2), class_index=[0, 1, 2]), ValueError,
     r"class_index must give one class per image \(2\), got 3"),
    (lambda m: viz.grad_cam(m, rng_images(2), class_index=[0, 7]), ValueError,
     r"class_index\[1\] must be an int in \[0, 2\], got 7"),
    (lambda m: viz.grad_cam(m, IMG, upsample=1), TypeError, "upsample must be a bool, got int 1"),
    (lambda m: viz.grad_cam(m, IMG, layer_name=3), TypeError, "layer_name must be a str, got int 3"),
    (lambda m: viz.saliency_map(m, np.zeros((10, 12, 3))), ValueError, "image must match the model input"),
    (lambda m: viz.saliency_map(m, np.full((12, 12, 3), "x")), TypeError, "image must hold numbers"),
    (lambda m: viz.occlusion_sensitivity(m, IMG, patch=13), ValueError,
     r"patch must be an int in \[1, 12\], got 13"),
    (lambda m: viz.occlusion_sensitivity(m, IMG, stride=0), ValueError,
     "stride must be a positive int, got 0"),
    (lambda m: viz.occlusion_sensitivity(m, IMG, fill="median"), ValueError,
     "fill must be one of 'mean', got 'median'"),
    (lambda m: viz.occlusion_sensitivity(m, IMG, fill=[0.0, 1.0]), ValueError,
     r"fill must be one number or 3 numbers \(one per channel\), got \[0.0, 1.0\]"),
    (lambda m: viz.activation_maximization(m, "conv1", 0, steps=2.5), TypeError,
     "steps must be a positive int, got float 2.5"),
    (lambda m: viz.activation_maximization(m, "conv1", 0, lr=0), ValueError, "lr must be a float > 0, got 0"),
    (lambda m: viz.activation_maximization(m, "conv1", 0, decay=1.0), ValueError,
     r"decay must be a float in \[0, 1\), got 1.0"),
    (lambda m: viz.activation_maximization(m, "conv1", 0, value_range=(1, 0)), ValueError,
     "value_range must be .*low < high, got \\(1, 0\\)"),
    (lambda m: viz.activation_maximization(m, "conv1", 0, image_shape=12), TypeError,
     "image_shape must be a \\(H, W, C\\) tuple, got int 12"),
    (lambda m: viz.randomized_copy(m, seed=-1), ValueError, "seed must be a non-negative int, got -1"),
    (lambda m: viz.rank_correlation(np.zeros(3), ["a", "b", "c"]), TypeError, "b must hold numbers"),
    (lambda m: viz.KernelSnapshots(3), TypeError, "layer_name must be a str, got int 3"),
    (lambda m: viz.KernelSnapshots("conv1", steps=[2, 0]), ValueError,
     r"steps\[1\] must be a positive int, got 0"),
    (lambda m: viz.conv_layer_names("not a model"), TypeError, "model must be a keras.Model, got str"),
]


@pytest.mark.parametrize("call, error, match", BAD_ARGUMENTS, ids=[m for _, _, m in BAD_ARGUMENTS])
def test_bad_arguments_raise(cnn, call, error, match):
    with pytest.raises(error, match=match):
        call(cnn)


# ----------------------------------------------------------------------------------------------------
# filters, feature maps, scores
# ----------------------------------------------------------------------------------------------------
def test_first_layer_filters_is_the_first_kernel(cnn):
    w = viz.first_layer_filters(cnn)
    np.testing.assert_array_equal(w, cnn.get_layer("conv1").get_weights()[0])
    assert w.shape == (3, 3, 3, 4)


def test_feature_maps_equal_separate_submodels(cnn):
    img = rng_images(1, seed=3)[0]
    maps = viz.feature_maps(cnn, img)
    assert list(maps) == ["conv1", "conv2"]
    for name, got in maps.items():
        layer = cnn.get_layer(name)
        assert got.shape == tuple(layer.output.shape[1:])
        expected = keras.Model(cnn.inputs, layer.output).predict(img[None], verbose=0)[0]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    pooled = viz.feature_maps(cnn, img[None], ["pool1"])["pool1"]
    np.testing.assert_allclose(pooled, maps["conv1"].reshape(6, 2, 6, 2, 4).max(axis=(1, 3)), atol=1e-6)


@pytest.mark.parametrize("head", ["dense", "activation"])
def test_class_scores_are_the_logits(head):
    model = small_cnn(head=head)
    x = rng_images(4)
    z = viz.class_scores(model, x)
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(np.exp(z) / np.exp(z).sum(1, keepdims=True), probs, rtol=1e-5, atol=1e-6)
    if head == "dense":
        np.testing.assert_allclose(z, logits_model(model).predict(x, verbose=0), rtol=1e-5, atol=1e-5)


# The kit's builders take classifier_activation=None (as keras.applications does): their model then outputs
# the logits, and visualize uses that output as it is. The default (softmax) model, whose logits visualize
# recovers, must give the same scores and maps on the same weights. One model per kind of output layer:
# Dense (LeNet-5 modern), Activation (NiN: pooled class maps) and Softmax (LeNet-5 as published).
KIT_MODELS = {
    "lenet5_modern": {"input_shape": (12, 12, 3), "width_multiplier": 0.2, "num_classes": 4},
    "nin": {"input_shape": (12, 12, 3), "width_multiplier": 0.05, "num_classes": 4, "dropout": 0.0},
    "lenet5_published": {},
}


@pytest.mark.parametrize("name", sorted(KIT_MODELS))
def test_a_kit_model_built_for_logits_gives_the_same_scores_and_maps(name):
    from course_lib import models
    from course_lib.visualize.layers import logits_head

    keras.utils.set_random_seed(3)
    default = models.get_model(name, **KIT_MODELS[name])
    logits = models.get_model(name, classifier_activation=None, **KIT_MODELS[name])
    logits.set_weights(default.get_weights())
    head, to_logits, activated = logits_head(logits)
    assert head is logits.outputs[0] and not activated  # the output itself: nothing recomputed
    x = rng_images(3, default.inputs[0].shape[1:], seed=4)
    z = viz.class_scores(logits, x)
    np.testing.assert_allclose(z, logits.predict(x, verbose=0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(viz.class_scores(default, x), z, rtol=1e-5, atol=1e-5)
    classes = [0, 1, 2]
    for method in (viz.saliency_map, viz.grad_cam):
        expected = method(logits, x, class_index=classes)
        np.testing.assert_allclose(method(default, x, class_index=classes), expected, rtol=1e-4, atol=1e-6)
    # occlusion measures probabilities: the softmax of the logits model's output is the default model's output
    drops = [viz.occlusion_sensitivity(m, x[0], patch=4, stride=4) for m in (logits, default)]
    np.testing.assert_allclose(drops[0], drops[1], rtol=1e-4, atol=1e-6)


def test_class_scores_of_a_sigmoid_head_are_its_pre_activation():
    model = small_cnn()
    features = model.get_layer("gap").output
    sigmoid = keras.Model(model.inputs[0], layers.Dense(3, activation="sigmoid", name="multi")(features))
    x = rng_images(2, seed=6)
    p = sigmoid.predict(x, verbose=0)
    np.testing.assert_allclose(viz.class_scores(sigmoid, x), np.log(p / (1 - p)), rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------------------------------
# saliency: finite differences of the logit
# ----------------------------------------------------------------------------------------------------
def smooth_cnn_float64() -> keras.Model:
    """tanh and average pooling (no kinks) in float64, so central differences are accurate."""
    keras.utils.set_random_seed(0)
    f64 = {"dtype": "float64"}
    inp = keras.Input((12, 12, 3), dtype="float64")
    x = layers.Conv2D(4, 3, padding="same", activation="tanh", **f64)(inp)
    x = layers.AveragePooling2D(2, **f64)(x)
    x = layers.Conv2D(5, 3, activation="tanh", **f64)(x)
    x = layers.GlobalAveragePooling2D(**f64)(x)
    return keras.Model(inp, layers.Dense(3, activation="softmax", name="pred", **f64)(x))


def test_saliency_matches_finite_differences_of_the_logit():
    model = smooth_cnn_float64()
    lin = logits_model(model)
    img = rng_images(1, seed=5)[0].astype(np.float64)
    c = 1
    got = viz.saliency_map(model, img, class_index=c)
    assert got.shape == (12, 12)
    h = 1e-4
    # every pixel and channel, perturbed up and down, in one batch
    eye = np.eye(img.size).reshape(img.size, *img.shape) * h
    batch = np.concatenate([img + eye, img - eye])
    # a direct call keeps float64 (predict would cast the batch to float32 and swamp the h = 1e-4 steps)
    z = lin(tf.constant(batch)).numpy()[:, c]
    grad = ((z[: img.size] - z[img.size:]) / (2 * h)).reshape(img.shape)
    expected = np.abs(grad).max(axis=-1)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6 * expected.max())
    # the probability's gradient is a different map: the test would notice if probabilities were used
    p = model(tf.constant(batch)).numpy()[:, c]
    prob_map = np.abs(((p[: img.size] - p[img.size:]) / (2 * h)).reshape(img.shape)).max(axis=-1)
    assert not np.allclose(got / got.max(), prob_map / prob_map.max(), atol=0.05)


# ----------------------------------------------------------------------------------------------------
# Grad-CAM: equals the CAM computed by hand from the weights for conv -> GAP -> dense
# ----------------------------------------------------------------------------------------------------
def cam_model(strides: int, seed: int = 2) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 8, 3))
    a = layers.Conv2D(6, 3, strides=strides, padding="same", activation="relu", name="conv")(inp)
    g = layers.GlobalAveragePooling2D()(a)
    return keras.Model(inp, layers.Dense(4, activation="softmax", name="pred")(g))


@pytest.mark.parametrize("strides", [1, 2])
@pytest.mark.parametrize("class_index", [None, 0, 1, 2, 3])
def test_grad_cam_equals_class_activation_map(strides, class_index):
    model = cam_model(strides)
    img = rng_images(1, (8, 8, 3), seed=7)[0]
    maps = keras.Model(model.inputs, model.get_layer("conv").output).predict(img[None], verbose=0)[0]
    kernel, bias = model.get_layer("pred").get_weights()
    logits = maps.mean(axis=(0, 1)) @ kernel + bias
    c = int(np.argmax(logits)) if class_index is None else class_index
    cam = np.maximum(np.tensordot(maps, kernel[:, c], axes=([2], [0])), 0.0)
    expected = cam / cam.max() if cam.max() > 0 else cam
    got = viz.grad_cam(model, img, class_index=class_index, upsample=False)
    assert got.shape == maps.shape[:2]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    up = viz.grad_cam(model, img, "conv", class_index)
    assert up.shape == (8, 8)
    assert up.min() >= 0.0 and up.max() <= 1.0 + 1e-6
    if strides == 1:  # same size: resizing changes nothing
        np.testing.assert_allclose(up, expected, atol=1e-5)


@pytest.mark.parametrize("method", ["saliency_map", "grad_cam"])
def test_a_batch_gives_the_maps_of_its_images(cnn, method):
    fn = getattr(viz, method)
    images = rng_images(3, seed=21)
    classes = [2, 0, 1]
    batch = fn(cnn, images, class_index=classes)
    assert batch.shape == (3, 12, 12)
    for img, c, got in zip(images, classes, batch):
        np.testing.assert_allclose(got, fn(cnn, img, class_index=c), rtol=1e-5, atol=1e-6)
    predicted = np.argmax(cnn.predict(images, verbose=0), axis=1)
    np.testing.assert_allclose(fn(cnn, images), fn(cnn, images, class_index=predicted), atol=1e-6)
    np.testing.assert_allclose(fn(cnn, images[:1]), fn(cnn, images[0])[None], atol=1e-6)


def test_grad_cam_default_layer_is_the_last_conv(cnn):
    img = rng_images(1)[0]
    np.testing.assert_allclose(viz.grad_cam(cnn, img), viz.grad_cam(cnn, img, "conv2"), atol=1e-7)


# ----------------------------------------------------------------------------------------------------
# occlusion: a model that only sees one corner
# ----------------------------------------------------------------------------------------------------
def corner_model() -> keras.Model:
    """Classifies from the top-left 4x4 pixels of a 12x12 image only."""
    keras.utils.set_random_seed(4)
    inp = keras.Input((12, 12, 1))
    x = layers.Cropping2D(((0, 8), (0, 8)))(inp)
    x = layers.Flatten()(x)
    return keras.Model(inp, layers.Dense(3, activation="softmax", name="pred")(x))


def test_occlusion_drop_is_confined_to_the_region_the_model_sees():
    model = corner_model()
    img = rng_images(1, (12, 12, 1), seed=9)[0]
    patch, stride = 3, 1
    drops = viz.occlusion_sensitivity(model, img, patch=patch, stride=stride, class_index=0, fill=0.0)
    assert drops.shape == (10, 10)
    corners = np.arange(10) * stride
    overlaps = (corners[:, None] < 4) & (corners[None, :] < 4)  # square [r, r+3) meets rows/cols 0..3
    assert np.all(drops[~overlaps] == 0.0)
    assert np.all(np.abs(drops[overlaps]) > 1e-6)
    # one entry by hand: occlude, classify, subtract
    occluded = img.copy()
    occluded[1:4, 2:5] = 0.0
    p = model.predict(np.stack([img, occluded]), verbose=0)[:, 0]
    np.testing.assert_allclose(drops[1, 2], p[0] - p[1], atol=1e-6)


def test_occlusion_batches_and_fill_options_agree(cnn):
    img = rng_images(1, seed=11)[0]
    a = viz.occlusion_sensitivity(cnn, img, patch=4, stride=2, batch_size=3)
    b = viz.occlusion_sensitivity(cnn, img, patch=4, stride=2, batch_size=1000)
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert a.shape == (5, 5)
    mean = viz.occlusion_sensitivity(cnn, img, patch=4, stride=2, fill="mean")
    explicit = viz.occlusion_sensitivity(cnn, img, patch=4, stride=2, fill=img.reshape(-1, 3).mean(0))
    np.testing.assert_allclose(mean, explicit, atol=1e-6)


# ----------------------------------------------------------------------------------------------------
# receptive fields: analytic walk vs the support of an input gradient
# ----------------------------------------------------------------------------------------------------
class Subsample(layers.Layer):
    """``x[:, ::s, ::s]``: a strided subsampling without a window, like the kit's ZeroPadShortcut."""

    def __init__(self, strides: int, **kwargs):
        super().__init__(**kwargs)
        self.strides = strides

    def call(self, x):
        return x[:, :: self.strides, :: self.strides, :]


def field_models():
    ones = {"kernel_initializer": "ones", "use_bias": False}
    inp = keras.Input((20, 20, 1))
    chain = layers.Conv2D(1, 3, **ones)(inp)
    chain = layers.AveragePooling2D(2)(chain)
    chain = layers.Conv2D(1, 3, name="t", **ones)(chain)
    yield "valid chain", keras.Model(inp, chain), ((0, 0), (8, 8), (2, 2))
    inp = keras.Input((20, 20, 1))
    x = layers.Conv2D(1, 5, strides=2, padding="same", **ones)(inp)
    # (dilation with "valid" padding: with "same", the taps that land in the padding leave holes at the
    # field's edge, so the gradient's support would be narrower than the theoretical field)
    x = layers.Conv2D(1, 3, dilation_rate=2, name="t", **ones)(x)
    yield "same, stride, dilation", keras.Model(inp, x), ((-1, -1), (13, 13), (2, 2))
    inp = keras.Input((20, 20, 1))
    x = layers.ZeroPadding2D(((2, 0), (1, 0)))(inp)
    a = layers.Conv2D(1, 3, strides=2, padding="same", **ones)(x)
    b = layers.Conv2D(1, (3, 5), strides=2, padding="same", **ones)(x)  # same rows as a: the union is a box
    x = layers.Add(name="t")([a, b])
    yield "padding and a branch", keras.Model(inp, x), ((-2, -3), (3, 5), (2, 2))
    inp = keras.Input((20, 20, 1))
    x = layers.Conv2D(1, 3, **ones)(inp)  # 18x18: field 3, jump 1
    x = Subsample(2)(x)  # 9x9: every other unit, a window of 1 at stride 2: jump 2
    x = layers.Conv2D(1, 3, name="t", **ones)(x)  # 3 + (3 - 1) * 2 = 7
    yield "subsampling shortcut", keras.Model(inp, x), ((0, 0), (7, 7), (2, 2))


@pytest.mark.parametrize("case", list(field_models()), ids=lambda c: c[0])
def test_receptive_field_matches_gradient_support(case):
    _, model, (start, size, jump) = case
    geo = viz.receptive_field_geometry(model, "t")
    assert geo == viz.FieldGeometry(size=size, jump=jump, start=start)
    # Independent check: with all-ones kernels and linear layers, d unit / d input is positive exactly on
    # the part of the field that lies inside the image.
    x = tf.constant(np.ones((1, 20, 20, 1), np.float32))
    out_h, out_w = model.output.shape[1:3]
    for i, j in [(0, 0), (1, 2), (out_h - 1, out_w - 1)]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            unit = model(x)[0, i, j, 0]
        support = np.argwhere(tape.gradient(unit, x).numpy()[0, :, :, 0] > 0)
        top = geo.start[0] + i * geo.jump[0]
        left = geo.start[1] + j * geo.jump[1]
        assert support[:, 0].min() == max(top, 0) and support[:, 0].max() == min(top + geo.size[0], 20) - 1
        assert support[:, 1].min() == max(left, 0) and support[:, 1].max() == min(left + geo.size[1], 20) - 1


def test_receptive_field_ignores_squeeze_excitation_gates():
    inp = keras.Input((12, 12, 3))
    x = layers.Conv2D(4, 3, strides=2, padding="same", name="conv")(inp)
    gate = layers.Reshape((1, 1, 4), name="gate")(layers.GlobalAveragePooling2D()(x))
    y = layers.Multiply(name="scaled")([x, gate])
    model = keras.Model(inp, y)
    assert viz.receptive_field_geometry(model, "scaled") == viz.receptive_field_geometry(model, "conv")
    with pytest.raises(ValueError, match="'gate'.*whole image"):
        viz.receptive_field_geometry(model, "gate")


def test_receptive_field_of_the_small_cnn_worked_by_hand(cnn):
    # Distill recurrence r += (k - 1) * j, j *= s: conv1 3x3 -> r 3, j 1; pool 2/2 -> r 4, j 2; conv2 3x3 ->
    # r 4 + 2 * 2 = 8. "same" padding puts one zero before conv1's input, so the fields start at -1.
    assert viz.receptive_field_geometry(cnn, "conv2") == viz.FieldGeometry((8, 8), (2, 2), (-1, -1))


# ----------------------------------------------------------------------------------------------------
# top-activating patches: brute force
# ----------------------------------------------------------------------------------------------------
def test_top_activating_patches_are_the_brute_force_argmax():
    keras.utils.set_random_seed(3)
    inp = keras.Input((12, 12, 3))
    x = layers.Conv2D(4, 3, activation="relu", name="c1")(inp)  # 10x10
    x = layers.MaxPooling2D(2)(x)  # 5x5
    x = layers.Conv2D(3, 3, name="c2")(x)  # 3x3, field 8 px, jump 2, start 0 (Distill formulas)
    model = keras.Model(inp, layers.Dense(2)(layers.Flatten()(x)))
    images = rng_images(30, seed=13)
    channel, k = 2, 7
    result = viz.top_activating_patches(model, images, "c2", channel, k=k, batch_size=8)
    acts = keras.Model(inp, x).predict(images, verbose=0)[..., channel]
    maxima = acts.reshape(30, -1).max(axis=1)
    order = sorted(range(30), key=lambda n: -maxima[n])[:k]
    np.testing.assert_array_equal(result.indices, order)
    np.testing.assert_allclose(result.values, maxima[order], rtol=1e-5)
    for n, (i, j), patch, box in zip(result.indices, result.positions, result.patches, result.boxes):
        assert acts[n, i, j] == acts[n].max()
        np.testing.assert_array_equal(patch, images[n, 2 * i: 2 * i + 8, 2 * j: 2 * j + 8])
        np.testing.assert_array_equal(box, [2 * i, 2 * j, 2 * i + 8, 2 * j + 8])


def test_top_patches_for_several_channels_equal_one_call_each(cnn):
    images = rng_images(20, seed=4)
    several = viz.top_activating_patches(cnn, images, "conv2", [3, 0], k=4, batch_size=7)
    for c, got in zip([3, 0], several):
        one = viz.top_activating_patches(cnn, images, "conv2", c, k=4)
        for a, b in zip(got, one):
            np.testing.assert_array_equal(a, b)


def test_top_patches_outside_the_image_are_zero_padded(cnn):
    images = rng_images(5, seed=2)
    result = viz.top_activating_patches(cnn, images, "conv1", 0, k=5)
    assert result.patches.shape == (5, 3, 3, 3)  # 3x3 field of the first conv
    for n, (top, left, _, _), patch in zip(result.indices, result.boxes, result.patches):
        padded = np.pad(images[n], ((1, 1), (1, 1), (0, 0)))
        np.testing.assert_array_equal(patch, padded[top + 1: top + 4, left + 1: left + 4])


# ----------------------------------------------------------------------------------------------------
# activation maximisation
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("layer_name, channel", [("conv1", 1), ("conv2", 3)])
def test_activation_maximization_raises_the_target_activation(cnn, layer_name, channel):
    start = 0.5 + 0.05 * np.random.default_rng(0).standard_normal((12, 12, 3)).astype(np.float32)
    image = viz.activation_maximization(cnn, layer_name, channel, steps=40, lr=0.05, init=start, seed=1)
    assert image.shape == (12, 12, 3)
    assert image.min() >= 0.0 and image.max() <= 1.0
    probe = keras.Model(cnn.inputs, cnn.get_layer(layer_name).output)
    before, after = probe.predict(np.stack([start, image]), verbose=0)[..., channel].mean(axis=(1, 2))
    assert after > before + 0.05


def test_activation_maximization_batches_channels_and_is_seeded(cnn):
    images = viz.activation_maximization(cnn, "conv2", [0, 4], steps=5, seed=3)
    assert images.shape == (2, 12, 12, 3)
    again = viz.activation_maximization(cnn, "conv2", [0, 4], steps=5, seed=3)
    np.testing.assert_array_equal(images, again)
    single = viz.activation_maximization(cnn, "conv2", 4, steps=5, seed=3, init=images[1])
    assert single.shape == (12, 12, 3)


# ----------------------------------------------------------------------------------------------------
# sanity-check helpers and the snapshot callback
# ----------------------------------------------------------------------------------------------------
def test_randomized_copy_reinitialises_only_the_chosen_layers(cnn):
    before = [w.copy() for w in cnn.get_weights()]
    copy = viz.randomized_copy(cnn, ["pred", "conv2"], seed=5)
    def kernel(m, name):
        return m.get_layer(name).get_weights()[0]

    np.testing.assert_array_equal(kernel(copy, "conv1"), kernel(cnn, "conv1"))
    for name in ("conv2", "pred"):
        assert not np.allclose(kernel(copy, name), kernel(cnn, name))
    for a, b in zip(before, cnn.get_weights()):
        np.testing.assert_array_equal(a, b)
    again = viz.randomized_copy(cnn, ["pred", "conv2"], seed=5)
    np.testing.assert_array_equal(kernel(again, "pred"), kernel(copy, "pred"))
    with pytest.raises(ValueError, match="'nope'"):
        viz.randomized_copy(cnn, ["nope"])


def test_rank_correlation_matches_scipy():
    rng = np.random.default_rng(0)
    a = rng.random((6, 6))
    b = a + 0.3 * rng.random((6, 6))
    b[0, :3] = b[0, 0]  # ties
    assert viz.rank_correlation(a, b) == pytest.approx(spearmanr(a.ravel(), b.ravel())[0], abs=1e-12)
    assert viz.rank_correlation(a, a) == pytest.approx(1.0)
    assert viz.rank_correlation(a, -a) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="same shape"):
        viz.rank_correlation(a, a[:3])


def test_kernel_snapshots_record_init_steps_and_epochs():
    model = small_cnn(seed=6)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy")
    initial = model.get_layer("conv1").get_weights()[0].copy()
    snaps = viz.KernelSnapshots("conv1", steps=[1])
    x, y = rng_images(16, seed=8), np.arange(16) % 3
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[snaps], shuffle=False)
    assert snaps.labels == ["init", "step 1", "epoch 1", "epoch 2"]
    np.testing.assert_array_equal(snaps.snapshots[0], initial)
    np.testing.assert_array_equal(snaps.snapshots[-1], model.get_layer("conv1").get_weights()[0])
    assert not np.array_equal(snaps.snapshots[1], initial)


# ----------------------------------------------------------------------------------------------------
# filter smoothness
# ----------------------------------------------------------------------------------------------------
def _neighbour_pairs_by_loop(f: np.ndarray) -> float:
    """Pearson correlation of (weight, right neighbour) and (weight, lower neighbour) pairs, by loops."""
    f = f - f.mean()
    xs, ys = [], []
    kh, kw, cin = f.shape
    for c in range(cin):
        for i in range(kh):
            for j in range(kw):
                if j + 1 < kw:
                    xs.append(f[i, j, c]), ys.append(f[i, j + 1, c])
                if i + 1 < kh:
                    xs.append(f[i, j, c]), ys.append(f[i + 1, j, c])
    return float(np.corrcoef(xs, ys)[0, 1])


def test_neighbour_correlation_matches_a_loop_and_known_patterns():
    rng = np.random.default_rng(0)
    k = rng.standard_normal((5, 7, 3, 4))
    np.testing.assert_allclose(viz.neighbour_correlation(k),
                               [_neighbour_pairs_by_loop(k[..., f]) for f in range(4)], rtol=1e-10)
    ii, jj = np.mgrid[0:7, 0:7].astype(float)
    ramp = np.repeat((ii + jj)[:, :, None, None], 3, axis=2)  # a smooth gradient: neighbours agree exactly
    checker = np.repeat(((-1.0) ** (ii + jj))[:, :, None, None], 3, axis=2)
    flat = np.ones((7, 7, 3, 1))
    got = viz.neighbour_correlation(np.concatenate([ramp, checker, flat], axis=-1))
    # the ramp's horizontal and vertical pairs lie on one line of slope 1 except at the pooled offsets
    assert got[0] == pytest.approx(_neighbour_pairs_by_loop(ramp[..., 0]))
    assert got[0] > 0.9
    assert got[1] == pytest.approx(-1.0)
    assert got[2] == 0.0
    # independent weights (Glorot-like initialisation) are uncorrelated: near 0 over many filters
    assert abs(viz.neighbour_correlation(rng.standard_normal((7, 7, 3, 400))).mean()) < 0.02
    assert viz.neighbour_correlation(100 * k).tolist() == pytest.approx(viz.neighbour_correlation(k).tolist())


def test_neighbour_correlation_rejects_bad_shapes():
    with pytest.raises(ValueError, match="kernels"):
        viz.neighbour_correlation(np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="neighbours"):
        viz.neighbour_correlation(np.zeros((1, 1, 3, 8)))
