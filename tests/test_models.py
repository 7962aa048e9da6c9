"""course_lib.models: custom layers against NumPy references, argument checks, and a forward pass plus one
training step for every builder at a small size. Paper-table checks of the full-size networks are in
test_models_papers.py."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import graph, keras_adapter, models, training
from course_lib.models.layers import (
    ConnectionTableConv2D,
    EuclideanRBF,
    LocalResponseNormalization,
    Subsampling2D,
    ZeroPadShortcut,
    scaled_tanh,
)


# ----------------------------------------------------------------------------------------------------------
# Local response normalisation
# ----------------------------------------------------------------------------------------------------------
def lrn_reference(a, n=5, k=2.0, alpha=1e-4, beta=0.75):
    """AlexNet Section 3.3, written with the paper's index limits."""
    out = np.empty_like(a, dtype=np.float64)
    channels = a.shape[-1]
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels - 1, i + n // 2)
        s = np.sum(a[..., lo : hi + 1].astype(np.float64) ** 2, axis=-1)
        out[..., i] = a[..., i] / (k + alpha * s) ** beta
    return out


@pytest.mark.parametrize("n, k, alpha, beta", [(5, 2.0, 1e-4, 0.75), (3, 1.0, 0.5, 0.5), (1, 2.0, 1.0, 1.0)])
def test_lrn_matches_the_papers_formula(n, k, alpha, beta):
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((2, 4, 3, 7)) * 30).astype("float32")  # large values so the sum term matters
    got = LocalResponseNormalization(n, k, alpha, beta)(a)
    np.testing.assert_allclose(np.asarray(got), lrn_reference(a, n, k, alpha, beta), rtol=1e-5)


def test_lrn_alpha_convention_is_tensorflows_not_pytorchs():
    # tf.nn.local_response_normalization multiplies the plain sum by alpha, as the paper does; PyTorch and
    # Caffe divide alpha by n. Same input, the three conventions side by side.
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((1, 2, 2, 8)) * 40).astype("float32")
    ours = np.asarray(LocalResponseNormalization()(a))
    tf_version = tf.nn.local_response_normalization(a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)
    tf_version = tf_version.numpy()
    np.testing.assert_allclose(ours, tf_version, rtol=1e-5)
    divided_by_n = lrn_reference(a, alpha=1e-4 / 5)
    assert np.max(np.abs(ours - divided_by_n)) > 1e-2


def test_lrn_rejects_even_size_and_round_trips_config():
    with pytest.raises(ValueError, match="size must be a positive odd int \\(a centred window\\), got 4"):
        LocalResponseNormalization(size=4)
    with pytest.raises(TypeError, match="beta must be a float, got str '0.75'"):
        LocalResponseNormalization(beta="0.75")
    layer = LocalResponseNormalization(3, k=1.0, alpha=0.1, beta=0.5)
    clone = LocalResponseNormalization.from_config(layer.get_config())
    assert (clone.size, clone.k, clone.alpha, clone.beta) == (3, 1.0, 0.1, 0.5)


# ----------------------------------------------------------------------------------------------------------
# LeNet-5's C3 connection table
# ----------------------------------------------------------------------------------------------------------
# Table I of LeCun et al. (1998), copied as printed: rows are S2 maps 0-5, columns C3 maps 0-15.
PAPER_TABLE_I = [
    "X   XXX  XXXX XX",
    "XX   XXX  XXXX X",
    "XXX   XXX  X XXX",
    " XXX  XXXX  X XX",
    "  XXX  XXXX XX X",
    "   XXX  XXXX XXX",
]


def test_c3_table_is_table_one_of_the_paper():
    expected = np.array([[c == "X" for c in row] for row in PAPER_TABLE_I])
    layer = ConnectionTableConv2D(16, 5, models.LENET5_C3_TABLE)
    np.testing.assert_array_equal(layer.connection_matrix(6), expected)
    assert expected.sum() == layer.n_connections == 60


def test_c3_counts_the_papers_1516_parameters():
    model = models.lenet5(c3_table="paper")
    c3 = model.get_layer("c3")
    assert c3.count_params() == 60 * 25 + 16 == 1516
    assert models.lenet5().get_layer("c3").count_params() == 6 * 16 * 25 + 16  # fully connected C3: 2,416


def test_connection_table_conv_matches_a_loop_reference():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 9, 8, 6)).astype("float32")
    layer = ConnectionTableConv2D(16, 5, models.LENET5_C3_TABLE)
    layer.build(x.shape)
    layer.bias.assign(rng.standard_normal(16).astype("float32"))
    got = np.asarray(layer(x))
    kernel, bias = np.asarray(layer.kernel), np.asarray(layer.bias)
    want = np.zeros((2, 5, 4, 16))
    c = 0
    for j, inputs in enumerate(models.LENET5_C3_TABLE):  # connections are stored output by output
        for i in inputs:
            for r in range(5):
                for s in range(4):
                    want[:, r, s, j] += np.sum(x[:, r : r + 5, s : s + 5, i] * kernel[:, :, c], axis=(1, 2))
            c += 1
        want[..., j] += bias[j]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_connection_table_blocks_gradients_of_missing_connections():
    x = tf.constant(np.random.default_rng(3).standard_normal((1, 10, 10, 6)).astype("float32"))
    layer = ConnectionTableConv2D(16, 5, models.LENET5_C3_TABLE)
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(layer(x)[..., 0])  # C3 map 0 reads S2 maps 0, 1, 2
    grad = tape.gradient(total, x).numpy()
    assert np.all(grad[..., 3:] == 0)
    assert np.all(np.abs(grad[..., :3]).sum(axis=(0, 1, 2)) > 0)


# ----------------------------------------------------------------------------------------------------------
# LeNet-5 as published: squashing function, trainable sub-sampling, fixed RBF output
# ----------------------------------------------------------------------------------------------------------
def test_scaled_tanh_is_the_papers_squashing_function():
    # Appendix A: A = 1.7159, S = 2/3, chosen so that f(1) = 1 and f(-1) = -1.
    x = np.array([-1.0, 0.0, 1.0, 3.0], dtype="float32")
    np.testing.assert_allclose(np.asarray(scaled_tanh(x)), 1.7159 * np.tanh(2 * x / 3), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(scaled_tanh(np.float32(1.0))), 1.0, atol=1e-4)


def test_subsampling_is_coefficient_times_block_sum_plus_bias():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 6, 4, 3)).astype("float32")
    layer = Subsampling2D(2, activation="tanh")
    layer.build(x.shape)
    coef, bias = rng.standard_normal(3).astype("float32"), rng.standard_normal(3).astype("float32")
    layer.set_weights([coef, bias])
    sums = x.reshape(2, 3, 2, 2, 2, 3).sum(axis=(2, 4))  # (batch, 3, 2, channels): each 2x2 block added up
    np.testing.assert_allclose(np.asarray(layer(x)), np.tanh(coef * sums + bias), rtol=1e-5, atol=1e-6)
    assert layer.count_params() == 2 * 3


def test_subsampling_gradient_matches_finite_differences():
    x = tf.constant(np.random.default_rng(7).standard_normal((1, 4, 4, 2)).astype("float32"))
    layer = Subsampling2D(2, activation=scaled_tanh)
    layer.build(x.shape)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(layer(x))
    grad = tape.gradient(total, layer.coefficient).numpy()
    base, h = layer.coefficient.numpy().astype(np.float64), 1e-3
    numeric = []
    for c in range(2):
        shifted = [base.copy(), base.copy()]
        shifted[0][c] += h
        shifted[1][c] -= h
        values = []
        for coefficients in shifted:
            layer.coefficient.assign(coefficients.astype("float32"))
            values.append(float(tf.reduce_sum(layer(x))))
        numeric.append((values[0] - values[1]) / (2 * h))
    np.testing.assert_allclose(grad, numeric, rtol=1e-2, atol=1e-3)


def test_euclidean_rbf_is_the_squared_distance_to_each_code():
    rng = np.random.default_rng(8)
    centers = np.sign(rng.standard_normal((84, 10))).astype("float32")
    x = rng.standard_normal((3, 84)).astype("float32")
    got = np.asarray(EuclideanRBF(centers)(x))
    want = ((x[:, :, None] - centers[None]) ** 2).sum(axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-4)
    with pytest.raises(ValueError, match="centers must be a 2-D array"):
        EuclideanRBF(np.zeros(84))


def test_lenet5_published_codes_are_fixed_and_distinct():
    codes = models.rbf_codes()
    assert codes.shape == (84, 10) and set(np.unique(codes)) == {-1.0, 1.0}
    assert len({tuple(c) for c in codes.T}) == 10
    bitmaps = models.LENET5_RBF_BITMAPS.values()
    assert all(len(rows) == 12 and all(len(r) == 7 for r in rows) for rows in bitmaps)
    keras.utils.set_random_seed(0)
    model = models.lenet5("published")
    np.testing.assert_array_equal(np.asarray(model.get_layer("rbf").centers), codes)
    training.compile_model(model, recipe="sgd", run_eagerly=True)
    x = np.random.default_rng(9).random((4, 32, 32, 1), dtype=np.float32)
    model.train_on_batch(x, np.array([0, 1, 2, 3]))
    np.testing.assert_array_equal(np.asarray(model.get_layer("rbf").centers), codes)  # not trained
    # a perfect F6 (equal to digit 3's code) makes class 3 the most probable
    head = keras.Model(model.get_layer("rbf").input, model.output)
    assert int(np.argmax(np.asarray(head(codes[:, 3][None])))) == 3


def test_lenet_c3_table_needs_full_width():
    with pytest.raises(ValueError, match="width_multiplier"):
        models.lenet5(c3_table="paper", width_multiplier=0.5)


# ----------------------------------------------------------------------------------------------------------
# Option-A shortcut and Inception-v3 module
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size, cin, cout, stride", [(8, 16, 32, 2), (7, 3, 8, 2), (6, 4, 4, 1)])
def test_zero_pad_shortcut_is_subsample_and_zero_channels(size, cin, cout, stride):
    x = np.random.default_rng(4).standard_normal((2, size, size, cin)).astype("float32")
    layer = ZeroPadShortcut(cout, stride)
    got = np.asarray(layer(x))
    sub = x[:, ::stride, ::stride, :]
    lo = (cout - cin) // 2
    want = np.zeros(sub.shape[:3] + (cout,), dtype="float32")
    want[..., lo : lo + cin] = sub
    np.testing.assert_array_equal(got, want)
    assert layer.count_params() == 0


def test_custom_layers_report_bad_arguments_like_the_rest_of_the_kit():
    with pytest.raises(ValueError, match="filters must be a positive int, got 0"):
        ZeroPadShortcut(0)
    with pytest.raises(TypeError, match="strides must be a positive int, got float 2.0"):
        ZeroPadShortcut(8, 2.0)
    with pytest.raises(TypeError, match="filters must be a positive int, got float 16.0"):
        ConnectionTableConv2D(16.0, 5, models.LENET5_C3_TABLE)
    with pytest.raises(ValueError, match="kernel_size\\[1\\] must be a positive int, got 0"):
        ConnectionTableConv2D(16, (5, 0), models.LENET5_C3_TABLE)


@pytest.mark.parametrize("asymmetric, n", [(False, 3), (True, 7)])
def test_inception_v3_module_params(asymmetric, n):
    cin, f = 64, models.InceptionV3Filters(8, 6, 10, 4, 12, 5)
    inputs = keras.Input((17, 17, cin))
    model = keras.Model(inputs, models.inception_v3_module(inputs, f, n=n, asymmetric=asymmetric, name="m"))
    assert tuple(model.output.shape) == (None, 17, 17, 8 + 10 + 12 + 5)
    ones = cin * (f.n1x1 + f.nxn_reduce + f.dbl_reduce + f.pool_proj)  # the four 1x1 convolutions
    if asymmetric:  # each n x n is a 1 x n (in -> width) followed by an n x 1 (width -> width)
        nxn = n * f.nxn_reduce * f.nxn + n * f.nxn * f.nxn
        dbl = (n * f.dbl_reduce * f.dbl + n * f.dbl * f.dbl) + (n * f.dbl * f.dbl + n * f.dbl * f.dbl)
    else:
        nxn = n * n * f.nxn_reduce * f.nxn
        dbl = n * n * f.dbl_reduce * f.dbl + n * n * f.dbl * f.dbl
    conv_weights = ones + nxn + dbl
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert not any(c.use_bias for c in convs)
    assert sum(c.count_params() for c in convs) == conv_weights
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(bns) == len(convs)
    bn_params = sum(int(np.prod(w.shape)) for b in bns for w in b.trainable_weights)
    assert bn_params == 2 * sum(c.filters for c in convs)  # gamma and beta per channel


# ----------------------------------------------------------------------------------------------------------
# Every builder, small: one table of (name, kwargs, expected output shape)
# ----------------------------------------------------------------------------------------------------------
TINY = [
    ("lenet5", {}, (10,)),
    ("lenet5", {"c3_table": "paper"}, (10,)),
    ("lenet5_published", {}, (10,)),
    ("caffenet", {"input_shape": (67, 67, 3), "width_multiplier": 0.03, "num_classes": 7}, (7,)),
    ("lenet5_modern", {"width_multiplier": 0.2}, (10,)),
    ("lenet5", {"variant": "modern", "input_shape": (4, 4, 1), "width_multiplier": 0.2}, (10,)),
    ("alexnet", {"input_shape": (67, 67, 3), "width_multiplier": 0.03, "num_classes": 7}, (7,)),
    ("alexnet", {"stem": "cifar", "groups": 2, "width_multiplier": 0.05, "num_classes": 10}, (10,)),
    ("zfnet", {"input_shape": (53, 53, 3), "width_multiplier": 0.02, "num_classes": 5}, (5,)),
    ("zfnet", {"wide": True, "input_shape": (53, 53, 3), "width_multiplier": 0.02, "num_classes": 5}, (5,)),
    ("vgg", {"config": "A-LRN", "input_shape": (32, 32, 3), "width_multiplier": 0.05, "num_classes": 10,
             "fc_units": 64}, (10,)),
    ("vgg", {"config": "C", "input_shape": (32, 32, 3), "width_multiplier": 0.05, "num_classes": 10,
             "head": "gap", "batch_norm": True}, (10,)),
    ("nin", {"width_multiplier": 0.05}, (10,)),
    ("nin", {"variant": "imagenet", "input_shape": (67, 67, 3), "width_multiplier": 0.03, "num_classes": 4},
     (4,)),
    ("googlenet", {"input_shape": (32, 32, 3), "width_multiplier": 0.05, "num_classes": 10}, (10,)),
    ("googlenet", {"aux_logits": True, "input_shape": (65, 65, 3), "width_multiplier": 0.03,
                   "num_classes": 3}, (3,)),
    ("resnet18", {"input_shape": (32, 32, 3), "width_multiplier": 0.1, "num_classes": 10}, (10,)),
    ("resnet50", {"input_shape": (32, 32, 3), "width_multiplier": 0.05, "num_classes": 10}, (10,)),
    ("cifar_resnet", {"depth": 8, "width_multiplier": 0.5}, (10,)),
    ("cifar_resnet", {"depth": 8, "plain": True, "width_multiplier": 0.5}, (10,)),
]


@pytest.mark.parametrize("name, kwargs, out_shape", TINY, ids=[f"{t[0]}-{i}" for i, t in enumerate(TINY)])
def test_every_builder_forward_and_one_training_step(name, kwargs, out_shape):
    keras.utils.set_random_seed(0)
    model = models.get_model(name, **kwargs)
    x = np.random.default_rng(0).random((2, *model.input.shape[1:]), dtype=np.float32)
    y = np.array([0, 1])
    outputs = model(x, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    for out in outputs:
        assert tuple(out.shape) == (2, *out_shape)
        np.testing.assert_allclose(np.asarray(out).sum(axis=1), 1.0, rtol=1e-5)  # softmax probabilities
    # Eager execution: tracing a graph for a single step of a 50-layer model costs more than running it.
    training.compile_model(model, recipe="sgd", run_eagerly=True)
    before = [np.asarray(w).copy() for w in model.trainable_weights]
    targets = {n: y for n in model.output_names} if len(outputs) > 1 else y
    logs = model.train_on_batch(x, targets, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert any(not np.array_equal(b, np.asarray(w)) for b, w in zip(before, model.trainable_weights))


def test_width_multiplier_scales_and_keeps_at_least_one():
    m = models.vgg("A", input_shape=(32, 32, 3), width_multiplier=0.001, head="gap", num_classes=3)
    assert m.get_layer("block1_conv1").filters == 1 and m.get_layer("block5_conv2").filters == 1
    m = models.alexnet(stem="cifar", groups=2, width_multiplier=0.3, num_classes=3)
    assert [m.get_layer(f"conv{i}").filters % 2 for i in range(1, 6)] == [0] * 5  # towers split evenly
    assert m.get_layer("conv2").groups == 2 and m.get_layer("conv3").groups == 1
    assert models.cifar_resnet(20, width_multiplier=2.0).get_layer("conv4_block1_2_conv").filters == 128


def test_layer_names_follow_keras_conventions():
    m = models.cifar_resnet(8, width_multiplier=0.25)
    for name in ("conv1_conv", "conv2_block1_1_conv", "conv3_block1_0_pad", "conv3_block1_add", "avg_pool",
                 "predictions"):
        m.get_layer(name)
    m = models.googlenet(input_shape=(32, 32, 3), width_multiplier=0.05)
    for name in ("inception3a_1x1", "inception3a_3x3_reduce", "inception3a_5x5", "inception3a_pool_proj",
                 "inception5b"):
        m.get_layer(name)


def test_models_with_custom_layers_save_and_load(tmp_path):
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(5).random((2, 32, 32, 1), dtype=np.float32)
    for model in (models.lenet5(c3_table="paper"), models.lenet5("published"),
                  models.cifar_resnet(8, width_multiplier=0.25, input_shape=(32, 32, 1)),
                  models.alexnet(stem="cifar", width_multiplier=0.05, input_shape=(32, 32, 1),
                                 num_classes=4)):
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-6)


def test_architecture_only_discards_the_pending_variables(monkeypatch):
    # The adapter's own behaviour is checked against Keras in test_keras_adapter.py; here: the context calls
    # it once on the way out, also when the body raises.
    calls = []
    original = keras_adapter.discard_uninitialized_variables

    def spy():
        calls.append(1)
        original()

    monkeypatch.setattr(keras_adapter, "discard_uninitialized_variables", spy)
    with models.architecture_only():
        m = models.vgg("D")
        assert calls == []
    assert calls == [1]
    assert m.count_params() == 138_357_544  # keras.applications.VGG16
    with pytest.raises(RuntimeError, match="inside"):
        with models.architecture_only():
            raise RuntimeError("inside")
    assert calls == [1, 1]


# ----------------------------------------------------------------------------------------------------------
# Argument checks
# ----------------------------------------------------------------------------------------------------------
BAD_ARGUMENTS = [
    (models.vgg, {"config": "F"}, ValueError, "config must be one of .*got 'F'"),
    (models.resnet, {"depth": 42}, ValueError, "depth must be one of 18, 34, 50, 101, 152, got 42"),
    (models.resnet, {"depth": 50.0}, TypeError, "depth must be an int, got float 50.0"),
    (models.cifar_resnet, {"depth": 21}, ValueError, "depth must be 6n \\+ 2.*got 21"),
    (models.cifar_resnet, {"shortcut": "C"}, ValueError, "shortcut must be one of 'A', 'B', got 'C'"),
    (models.alexnet, {"input_shape": (66, 66, 3)}, ValueError, "too small for alexnet.*67x67"),
    (models.vgg, {"input_shape": (31, 40, 3)}, ValueError, "too small.*32x32"),
    (models.lenet5, {"input_shape": (28, 28, 1)}, ValueError, "too small.*32x32"),
    (models.googlenet, {"aux_logits": True, "input_shape": (64, 64, 3)}, ValueError, "65x65"),
    (models.zfnet, {"input_shape": (52, 52, 3)}, ValueError, "53x53"),
    (models.nin, {"num_classes": 0}, ValueError, "num_classes must be a positive int, got 0"),
    (models.resnet, {"num_classes": 2.5}, TypeError, "num_classes must be a positive int, got float 2.5"),
    (models.googlenet, {"width_multiplier": 0}, ValueError, "width_multiplier must be a float > 0, got 0.0"),
    (models.googlenet, {"aux_logits": 1}, TypeError, "aux_logits must be a bool, got int 1"),
    (models.vgg, {"lrn": "yes"}, TypeError, "lrn must be a bool, got str 'yes'"),
    (models.cifar_resnet, {"width_multiplier": -1.0}, ValueError, "width_multiplier.*-1.0"),
    (models.lenet5, {"variant": "vintage"}, ValueError, "variant must be one of"),
    (models.alexnet, {"groups": 3}, ValueError, "groups must be an int in \\[1, 2\\], got 3"),
    (models.lenet5, {"variant": "modern", "c3_table": "paper"}, ValueError, "needs variant 'classic'"),
    (models.lenet5, {"variant": "published", "num_classes": 5}, ValueError, "num_classes 10"),
    (models.lenet5, {"variant": "published", "c3_table": "full"}, ValueError, "Table I's C3"),
    (models.alexnet, {"order": "lrn_last"}, ValueError, "order must be one of 'paper', 'caffenet'"),
    (models.zfnet, {"wide": 1}, TypeError, "wide must be a bool, got int 1"),
    (models.vgg, {"head": "mlp"}, ValueError, "head must be one of"),
    (models.alexnet, {"input_shape": (227, 227)}, ValueError,
     "input_shape must be a \\(height, width, channels\\) tuple"),
    (models.alexnet, {"input_shape": 227}, TypeError, "input_shape must be a \\(height, width, channels\\)"),
    (models.vgg, {"input_shape": (224, 224.0, 3)}, TypeError, "input_shape\\[1\\] must be a positive int"),
    (models.nin, {"dropout": 1.0}, ValueError, "dropout must be a float in \\[0, 1\\), got 1.0"),
]


@pytest.mark.parametrize("builder, kwargs, error, message", BAD_ARGUMENTS,
                         ids=[f"{b.__name__}-{list(k)[0]}-{i}" for i, (b, k, *_) in enumerate(BAD_ARGUMENTS)])
def test_bad_arguments_raise_naming_the_argument(builder, kwargs, error, message):
    with pytest.raises(error, match=message):
        builder(**kwargs)


# Smallest inputs, worked backwards by hand from the last valid window (a valid k/s window needs
# (m - 1) s + k inputs for m outputs; "same" layers never run out):
# (builder, kwargs, channels, minimum side, deepest layer).
MINIMUM_INPUTS = [
    # pool5 3/2 needs 3 <- pool2 (3-1)*2+3 = 7 (conv3-5 keep the size) <- conv2 same <- pool1 (7-1)*2+3 = 15
    # <- conv1 11/4 valid: (15-1)*4+11 = 67.
    (models.alexnet, {}, 3, 67, "pool5"),
    # pool5 3/2 valid needs 3 <- pool2 same 5 <- conv2 5/2 valid (5-1)*2+5 = 13 <- pool1 same 25 <- conv1 7/2
    # with one zero per side: (25-1)*2+7-2 = 53.
    (models.zfnet, {}, 3, 53, "pool5"),
    (models.vgg, {}, 3, 32, "block5_pool"),  # five 2x2/2 pools: 2**5
    (models.lenet5, {}, 1, 32, "c5"),  # c5 5 <- s4 10 <- c3 14 <- s2 28 <- c1 32
    (models.lenet5, {"variant": "published"}, 1, 32, "c5"),  # the same windows
    (models.lenet5, {"variant": "modern"}, 1, 4, "pool2"),  # two 2x2/2 pools after "same" convolutions
    (models.nin, {"variant": "imagenet"}, 3, 67, "pool3"),  # the AlexNet chain: 11/4 and three 3/2 pools
    # The heads' 5x5/3 pool needs 5 at the 4a level, after four halvings that round up: 4 * 16 + 1 = 65.
    (models.googlenet, {"aux_logits": True}, 3, 65, "aux1_pool"),
    (models.googlenet, {}, 3, 1, "pool4"),  # all "same"
    (models.resnet, {"depth": 18}, 3, 1, "conv5_block2_out"),  # zero padding everywhere
    (models.cifar_resnet, {}, 3, 1, "conv4_block3_out"),
    (models.nin, {}, 3, 1, "pool2"),
    (models.alexnet, {"stem": "cifar"}, 3, 1, "pool5"),
]


@pytest.mark.parametrize("builder, kwargs, channels, side, layer", MINIMUM_INPUTS,
                         ids=[f"{m[0].__name__}-{i}" for i, m in enumerate(MINIMUM_INPUTS)])
def test_minimum_input_size_comes_from_the_rows(builder, kwargs, channels, side, layer):
    with models.architecture_only():
        model = builder(input_shape=(side, side, channels), **kwargs)
    assert model.get_layer(layer).output.shape[1] >= 1
    if side > 1:
        with pytest.raises(ValueError, match=f"at least {side}x{side} pixels"):
            builder(input_shape=(side - 1, side + 10, channels), **kwargs)


# ----------------------------------------------------------------------------------------------------------
# Registry
# ----------------------------------------------------------------------------------------------------------
def test_registry_lists_the_families_and_rejects_unknown_names():
    names = models.list_models()
    expected_names = ("lenet5", "alexnet", "zfnet", "vgg", "vgg11", "vgg13", "vgg16", "vgg19", "nin",
                      "googlenet",
                      "resnet18", "resnet152", "cifar_resnet20", "cifar_resnet110", "cifar_plain20")
    for expected in expected_names:
        assert expected in names
    with pytest.raises(TypeError, match="name must be a str, got int 16"):
        models.get_model(16)
    assert names == sorted(set(names))


def test_an_unknown_name_gets_the_close_names_not_the_whole_list():
    total = len(models.list_models())
    with pytest.raises(ValueError) as info:
        models.get_model("resnet51")
    message = str(info.value)
    # difflib's close matches, at most three, then a pointer to the full list
    expected = "unknown model 'resnet51'; did you mean resnet50, resnet18, resnet?"
    assert message == f"{expected} (list_models() lists all {total})"
    assert "vgg16" not in message and "densenet121" not in message
    with pytest.raises(ValueError, match=r"^unknown model 'VGG-17'; did you mean vgg19, vgg16, vgg13\?"):
        models.get_model("VGG-17")
    nothing_close = rf"^unknown model 'transformer' \(list_models\(\) lists all {total}\)$"
    with pytest.raises(ValueError, match=nothing_close):
        models.get_model("transformer")
    with pytest.raises(ValueError, match="did you mean mobilenet_v2"):
        models.model_family("mobilenetv2")


# Models defined outside course_lib.models, registered by name: (name, task, module, builder).
OUTSIDE = [
    ("fcn", "segmentation", "course_lib.segmentation", "fcn"),
    ("unet", "segmentation", "course_lib.segmentation", "unet"),
    ("grid_detector", "detection", "course_lib.detection", "grid_detector"),
    ("course_net", "classification", "course_lib.pretrained", "course_net"),
]


@pytest.mark.parametrize("name, task, module, builder", OUTSIDE, ids=[row[0] for row in OUTSIDE])
def test_models_built_outside_the_package_are_registered(name, task, module, builder):
    import importlib

    assert name in models.list_models() and name in models.list_models(task)
    assert models.model_family(name) == name
    kwargs = {"num_classes": 3}
    if task != "classification":
        kwargs["input_shape"] = (32, 32, 3)
    keras.utils.set_random_seed(0)
    ours = models.get_model(name, **kwargs)
    keras.utils.set_random_seed(0)
    theirs = getattr(importlib.import_module(module), builder)(**kwargs)
    assert ours.name == theirs.name
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    assert ours.count_params() == theirs.count_params()
    assert tuple(ours.output.shape) == tuple(theirs.output.shape)
    x = np.random.default_rng(0).random((1, *ours.input.shape[1:]), dtype=np.float32)
    np.testing.assert_allclose(ours(x), theirs(x), rtol=1e-5, atol=1e-6)  # same seed, same network


def test_list_models_by_task():
    everything = models.list_models()
    by_task = {task: models.list_models(task) for task in models.TASKS}
    assert sorted(n for names in by_task.values() for n in names) == everything
    assert by_task["segmentation"] == ["fcn", "unet"] and by_task["detection"] == ["grid_detector"]
    assert {"vgg16", "resnet50", "nfnet_f0", "course_net"} <= set(by_task["classification"])
    with pytest.raises(ValueError, match="task must be one of 'classification', 'segmentation', 'detection'"):
        models.list_models("regression")
    assert [models.model_family(n) for n in ("vgg16", "caffenet", "cifar_plain20", "wrn28_10", "vgg")] == \
        ["vgg", "alexnet", "cifar_resnet", "wide_resnet", "vgg"]


# ----------------------------------------------------------------------------------------------------------
# classifier_activation: one head for every classifier, logits with None (as in keras.applications)
# ----------------------------------------------------------------------------------------------------------
# A small build of every classifier family (and of LeNet-5 as published, whose head has no Dense layer).
SMALL = {
    "lenet5": {},
    "lenet5_published": {},
    "alexnet": {"stem": "cifar", "width_multiplier": 0.05, "fc_units": 64},
    "zfnet": {"input_shape": (53, 53, 3), "width_multiplier": 0.02, "fc_units": 64},
    "vgg": {"config": "A", "input_shape": (32, 32, 3), "width_multiplier": 0.05, "fc_units": 64},
    "nin": {"width_multiplier": 0.05},
    "googlenet": {"aux_logits": True, "input_shape": (65, 65, 3), "width_multiplier": 0.03},
    "resnet": {"depth": 18, "input_shape": (32, 32, 3), "width_multiplier": 0.1},
    "cifar_resnet": {"depth": 8, "width_multiplier": 0.25},
    "inception_v3": {"aux_logits": True, "input_shape": (107, 107, 3), "width_multiplier": 0.05},
    "resnext": {"input_shape": (32, 32, 3), "width_multiplier": 0.25},
    "se_resnet": {"input_shape": (32, 32, 3), "width_multiplier": 0.1},
    "preact_resnet": {"depth": 20, "width_multiplier": 0.25},
    "wide_resnet": {"depth": 10, "k": 1},
    "mobilenet": {"input_shape": (32, 32, 3), "width_multiplier": 0.25},
    "mobilenet_v2": {"input_shape": (32, 32, 3), "width_multiplier": 0.25},
    "efficientnet": {"input_shape": (32, 32, 3), "width_multiplier": 0.25, "depth_coefficient": 0.5},
    "densenet": {"input_shape": (32, 32, 3), "width_multiplier": 0.25},
    "xception": {"input_shape": (32, 32, 3), "width_multiplier": 0.05},
    "nfnet": {"input_shape": (32, 32, 3), "width_multiplier": 0.0625},
    "course_net": {"widths": (4, 4, 4, 4)},
}
CLASSIFIER_FAMILIES = sorted({models.model_family(n) for n in models.list_models("classification")})


def test_every_classifier_family_has_a_small_build():
    assert sorted(set(SMALL) - {"lenet5_published"}) == CLASSIFIER_FAMILIES


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _as_list(outputs):
    return [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_classifier_activation_none_gives_the_logits(name):
    kwargs = {"num_classes": 4, **SMALL[name]} if name != "lenet5_published" else {}
    keras.utils.set_random_seed(0)
    default = models.get_model(name, **kwargs)
    logits = models.get_model(name, classifier_activation=None, **kwargs)
    # the same network: layer names, parameters, weights in the same order
    assert [layer.name for layer in logits.layers] == [layer.name for layer in default.layers]
    assert logits.count_params() == default.count_params()
    heads = [layer for layer in default.layers if layer.name in default.output_names]
    rng = np.random.default_rng(1)
    for head in heads:  # NFNet starts its classifier at zero: give every head weights that separate classes
        head.set_weights([rng.normal(0.0, 0.5, w.shape).astype("float32") for w in head.get_weights()])
    logits.set_weights(default.get_weights())
    x = rng.random((3, *default.inputs[0].shape[1:]), dtype=np.float32)
    probabilities, scores = _as_list(default(x, training=False)), _as_list(logits(x, training=False))
    assert len(scores) == len(default.outputs)  # every output, auxiliary classifiers included
    for p, z in zip(probabilities, scores):
        np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-5)
        assert not np.allclose(z.sum(axis=-1), 1.0)  # not probabilities
        np.testing.assert_allclose(_softmax(z), p, rtol=1e-4, atol=1e-6)
    for layer in logits.layers:
        if layer.name in logits.output_names:
            assert layer.activation is keras.activations.linear


def test_classifier_activation_names_any_keras_activation_and_is_checked_first():
    keras.utils.set_random_seed(0)
    kwargs = {"depth": 8, "width_multiplier": 0.25, "num_classes": 3}
    default = models.cifar_resnet(**kwargs)
    sigmoid = models.cifar_resnet(classifier_activation="sigmoid", **kwargs)
    logits = models.cifar_resnet(classifier_activation=None, **kwargs)
    sigmoid.set_weights(default.get_weights())
    logits.set_weights(default.get_weights())
    x = np.random.default_rng(2).random((2, 32, 32, 3), dtype=np.float32)
    z = np.asarray(logits(x))
    np.testing.assert_allclose(np.asarray(sigmoid(x)), 1 / (1 + np.exp(-z)), rtol=1e-5, atol=1e-6)
    expected = r"classifier_activation must be None \(logits\), 'softmax' or another Keras activation"
    with pytest.raises(ValueError, match=expected + ".*got 'softmx'"):
        models.get_model("vgg16", classifier_activation="softmx")
    with pytest.raises(TypeError, match="classifier_activation must be .*got int 1"):
        models.lenet5(classifier_activation=1)


def test_family_builders_are_registered_under_their_own_names():
    for builder in (models.lenet5, models.alexnet, models.zfnet, models.vgg, models.nin, models.googlenet,
                    models.resnet, models.cifar_resnet):
        assert builder.__name__ in models.list_models()
    with models.architecture_only():
        assert models.get_model("vgg", config="B").name == "vgg13"
        assert models.get_model("cifar_resnet", depth=32, plain=True).name == "cifar_plain32"


def test_registry_refuses_a_second_registration_and_overriding_a_variants_keywords():
    with pytest.raises(ValueError, match="'vgg16' is already registered"):
        models.register_model(models.vgg, name="vgg16", config="D")
    with pytest.raises(ValueError, match="registered lower case"):
        models.register_model(models.vgg, name="VGG-X", config="D")
    with pytest.raises(TypeError, match="model 'vgg16' fixes config='D'"):
        models.get_model("vgg16", config="A")


def test_registry_normalises_names_and_passes_keywords():
    m = models.get_model("ResNet-18", input_shape=(32, 32, 3), num_classes=4, width_multiplier=0.05)
    assert m.name == "resnet18" and tuple(m.output.shape) == (None, 4)
    with models.architecture_only():
        assert models.get_model("vgg11_lrn").get_layer("block1_lrn") is not None
        assert models.get_model("cifar_plain56").name == "cifar_plain56"


def test_lenet_c3_table_costs_what_the_paper_says():
    # LeCun et al. 1998, Section II.B: C3 "has 1,516 trainable parameters and 151,600 connections"; the
    # connections include one bias term per output value (16 maps x 10 x 10), so 150,000 are multiply-adds.
    from course_lib import models

    model = models.lenet5("classic", c3_table="paper")
    row = graph.layer_table(model)["c3"]
    assert row["params"] == 1516
    assert row["macs"] + 16 * 10 * 10 == 151_600
