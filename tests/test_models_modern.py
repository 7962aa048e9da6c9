"""The architectures after ResNet against keras.applications, their papers' tables and hand arithmetic.

Expected counts come from three independent places, never from course_lib: ``keras.applications`` models
built here with ``weights=None`` (InceptionV3, MobileNet, MobileNetV2, EfficientNetB0/B7, DenseNet, Xception),
the papers' printed tables (with the rounding the paper prints: "25.0M" must round to 25.0; where a table
rounds coarsely or counts a little differently, "within one unit of the last printed digit"), and layer
arithmetic by hand (``conv``/``dense``/``bn`` below). Full-size models are built once each, without allocating
their weights (``models.architecture_only``), and shared by every test through ``functools.cache``; forward
passes run on small inputs with reduced widths. The custom pieces (grouped and factorised convolutions,
squeeze-and-excitation, scaled weight standardisation, scaled activations, adaptive gradient clipping) are
checked numerically against NumPy or TensorFlow.
"""

from __future__ import annotations

import functools
import math
from collections import Counter

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import graph, models
from course_lib.models.efficientnet import EFFICIENTNET_SCALING, compound_scaling
from course_lib.models.inception_v3 import InceptionBRow, ReductionARow, inception_b_block, reduction_a_block
from course_lib.models.modern_blocks import se_block
from course_lib.models.nfnet import (
    NF_GAMMA,
    ResidualGain,
    ScaledActivation,
    WSConv2D,
    adaptive_gradient_clip,
    with_adaptive_gradient_clipping,
)


# ----------------------------------------------------------------------------------------------------------
# Hand arithmetic
# ----------------------------------------------------------------------------------------------------------
def conv(k, cin, cout, *, groups=1, bias=False):
    """Weights of a k x k (or kh x kw) convolution, by hand."""
    kh, kw = (k, k) if isinstance(k, int) else k
    return kh * kw * (cin // groups) * cout + (cout if bias else 0)


def bn(c):
    return 2 * c  # trainable gamma and beta


def dense(nin, nout):
    return nin * nout + nout


def se(c, reduction=16):
    """An SE gate on c channels: two fully connected layers with biases, c -> c / r -> c."""
    r = c // reduction
    return dense(c, r) + dense(r, c)


def bottleneck_resnet_trainable(widths, outs, blocks, *, groups=1, se_reduction=None, classes=1000):
    """Trainable parameters of an ImageNet bottleneck network (ResNet/ResNeXt/SE-ResNet), by hand."""
    total = conv(7, 3, 64) + bn(64)
    cin = 64
    for width, out, count in zip(widths, outs, blocks):
        for b in range(count):
            total += conv(1, cin, width) + bn(width) + conv(3, width, width, groups=groups) + bn(width)
            total += conv(1, width, out) + bn(out)
            if se_reduction:
                total += se(out, se_reduction)
            if b == 0:  # projection shortcut
                total += conv(1, cin, out) + bn(out)
            cin = out
    return total + dense(cin, classes)


def wrn_trainable(depth, k, classes=10):
    """Trainable parameters of WRN-depth-k (pre-activation basic blocks, 1x1 projections), by hand."""
    n = (depth - 4) // 6
    total, cin = conv(3, 3, 16), 16
    for width in (16 * k, 32 * k, 64 * k):
        for _ in range(n):
            total += bn(cin) + conv(3, cin, width) + bn(width) + conv(3, width, width)
            total += conv(1, cin, width) if cin != width else 0
            cin = width
    return total + bn(cin) + dense(cin, classes)


RESNET50_TORCHVISION = 25_557_032  # torchvision's resnet50: checks the hand function above
RESNEXT50 = bottleneck_resnet_trainable((128, 256, 512, 1024), (256, 512, 1024, 2048), (3, 4, 6, 3),
                                        groups=32)
SE_RESNET50 = bottleneck_resnet_trainable((64, 128, 256, 512), (256, 512, 1024, 2048), (3, 4, 6, 3),
                                          se_reduction=16)

# ----------------------------------------------------------------------------------------------------------
# The table: every registered model of the modern families at its paper size
# ----------------------------------------------------------------------------------------------------------
# Checks: ("keras", App): count_params equals keras.applications.App(weights=None)'s;
#   ("keras_trainable", App): trainable parameters equal (EfficientNet: keras adds a Normalization layer);
#   ("trainable", n): trainable parameters equal a hand count;
#   ("params", "25.0"): trainable / 1e6 printed with the paper's decimals equals the paper;
#   ("params~", "9.2"): trainable / 1e6 within one unit of the paper's last printed digit;
#   ("macs", "4.2") / ("macs~", "0.300"): multiply-adds / 1e9 (course_lib.graph) likewise;
#   ("params%", ("3.4", 0.035)): trainable / 1e6 within a stated relative tolerance of the paper.
# Sources: Szegedy et al. 2016; Xie et al. 2017, Table 1 (ResNeXt-50: 25.0M, 4.2 GFLOPs); Hu et al. 2018,
# Table 2 (SE-ResNet-50: 28.1M, 3.87 GFLOPs); He et al. 2016b, Table 2 (pre-act ResNet-110 and -164: 1.7M);
# Zagoruyko & Komodakis 2016 (WRN-28-10: 36.5M); Howard et al. 2017, Table 8 (4.2M, 569M mult-adds);
# Sandler et al. 2018, Table 4 (3.4M, 300M); Tan & Le 2019, Table 2; Chollet 2017, Table 3 (22,855,952);
# Brock et al. 2021, Table 3 (NFNet-F0: 71.5M, 12.38 GFLOPs).
EFFICIENTNET_PAPER = {"b0": ("5.3", "0.39"), "b1": ("7.8", "0.70"), "b2": ("9.2", "1.0"), "b3": ("12", "1.8"),
                      "b4": ("19", "4.2"), "b5": ("30", "9.9"), "b6": ("43", "19"), "b7": ("66", "37")}
INCEPTION = [("keras", "InceptionV3")]
RESNEXT = [("trainable", RESNEXT50), ("params", "25.0"), ("macs", "4.2")]
SE_RESNET = [("trainable", SE_RESNET50), ("params", "28.1"), ("macs~", "3.87")]
PREACT164 = [("params", "1.7")]
WRN = [("trainable", wrn_trainable(28, 10)), ("params", "36.5")]
NFNET = [("params", "71.5"), ("macs", "12.38")]
DENSENET121 = [("keras", "DenseNet121")]

MODERN: dict[str, tuple[tuple, list]] = {
    "inception_v3": ((None, 1000), INCEPTION),
    "resnext": ((None, 1000), RESNEXT),
    "resnext50_32x4d": ((None, 1000), RESNEXT),
    "se_resnet": ((None, 1000), SE_RESNET),
    "se_resnet50": ((None, 1000), SE_RESNET),
    "preact_resnet": ((None, 10), PREACT164),
    "preact_resnet164": ((None, 10), PREACT164),
    "preact_resnet110": ((None, 10), [("params", "1.7")]),
    "wide_resnet": ((None, 10), WRN),
    "wrn28_10": ((None, 10), WRN),
    # The paper prints stride 2 for the 13th depthwise layer (a typo); the count is unaffected.
    "mobilenet": ((None, 1000), [("keras", "MobileNet"), ("params", "4.2"), ("macs~", "0.569")]),
    # The paper prints 3.4M; keras.applications (and this build) count 3.50M trainable: 3.1% more, which
    # the paper's rounding cannot explain, so this row states its tolerance (3.5%) instead.
    "mobilenet_v2": ((None, 1000), [("keras", "MobileNetV2"), ("params%", ("3.4", 0.035)),
                                    ("macs~", "0.300")]),
    "efficientnet": ((None, 1000), [("keras_trainable", "EfficientNetB0")]),
    **{f"efficientnet_{v}": ((None, 1000), [("params~", p)]) for v, (p, _) in EFFICIENTNET_PAPER.items()},
    "densenet": ((None, 1000), DENSENET121),
    "densenet121": ((None, 1000), DENSENET121),
    "densenet169": ((None, 1000), [("keras", "DenseNet169")]),
    "densenet201": ((None, 1000), [("keras", "DenseNet201")]),
    "xception": ((None, 1000), [("keras", "Xception"), ("trainable", 22_855_952)]),
    "nfnet": ((None, 1000), NFNET),
    "nfnet_f0": ((None, 1000), NFNET),
}
MODERN["efficientnet_b0"][1].extend([("params", "5.3"), ("keras_trainable", "EfficientNetB0"),
                                     ("macs", "0.39")])
MODERN["efficientnet_b7"][1].append(("keras_trainable", "EfficientNetB7"))


@functools.cache
def build(name: str, frozen_kwargs: tuple = ()):
    """Each full-size model once per session, its weights never allocated."""
    with models.architecture_only():
        return models.get_model(name, **dict(frozen_kwargs))


@functools.cache
def reference(app: str):
    """``keras.applications.<app>(weights=None)``, built once, weights never allocated."""
    with models.architecture_only():
        return getattr(keras.applications, app)(weights=None)


@functools.cache
def macs(name: str) -> int:
    return graph.layer_table(build(name)).totals()["macs"]


def trainable(model) -> int:
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def within_last_digit(value: float, printed: str) -> bool:
    unit = 10.0 ** -len(printed.split(".")[1]) if "." in printed else 1.0
    return abs(value - float(printed)) <= unit + 1e-12


def check(name, model, how, expected):
    if how == "keras":
        assert model.count_params() == reference(expected).count_params()
    elif how == "keras_trainable":
        assert trainable(model) == trainable(reference(expected))
    elif how == "trainable":
        assert trainable(model) == expected
    elif how in ("params", "macs"):
        value = trainable(model) / 1e6 if how == "params" else macs(name) / 1e9
        places = len(expected.split(".")[1]) if "." in expected else 0
        assert f"{value:.{places}f}" == expected
    elif how == "params%":
        printed, tolerance = expected
        assert abs(trainable(model) / 1e6 / float(printed) - 1) <= tolerance
    else:
        assert how in ("params~", "macs~"), how
        value = trainable(model) / 1e6 if how == "params~" else macs(name) / 1e9
        assert within_last_digit(value, expected), (value, expected)


@pytest.mark.parametrize("name", sorted(MODERN))
def test_every_modern_model_at_paper_size(name):
    out_shape, checks = MODERN[name]
    assert name in models.list_models()
    model = build(name)
    assert tuple(model.output.shape) == out_shape
    for how, expected in checks:
        check(name, model, how, expected)


def test_hand_count_reproduces_resnet50_first():
    # The hand function is itself checked on the network it generalises.
    assert bottleneck_resnet_trainable((64, 128, 256, 512), (256, 512, 1024, 2048), (3, 4, 6, 3)) \
        == RESNET50_TORCHVISION


@pytest.mark.parametrize("name, app", [("inception_v3", "InceptionV3"), ("mobilenet", "MobileNet"),
                                       ("mobilenet_v2", "MobileNetV2"), ("efficientnet_b0", "EfficientNetB0"),
                                       ("densenet121", "DenseNet121"), ("xception", "Xception")])
def test_same_layers_as_keras_applications(name, app):
    """Layer for layer: the multisets of per-layer parameter counts (and output shapes) of weighted layers."""
    ours, ref = build(name), reference(app)
    skip = (keras.layers.Normalization,)  # EfficientNet's in-model input normalisation (7 stored constants)
    mine = Counter(layer.count_params() for layer in ours.layers if layer.weights)
    theirs = Counter(layer.count_params() for layer in ref.layers
                     if layer.weights and not isinstance(layer, skip))
    assert mine == theirs
    if name != "mobilenet":  # keras' MobileNet classifies with a 1x1 conv on a 1x1 map (same weights)
        shapes = Counter(tuple(layer.output.shape[1:]) for layer in ours.layers if layer.weights)
        assert shapes == Counter(tuple(layer.output.shape[1:]) for layer in ref.layers
                                 if layer.weights and not isinstance(layer, skip))
    if name == "efficientnet_b0":
        normalisation = sum(layer.count_params() for layer in ref.layers if isinstance(layer, skip))
        assert normalisation == 3 + 3 + 1  # mean, variance and count of 3 channels
        assert ours.count_params() == ref.count_params() - normalisation


def test_inception_v3_modules_have_keras_shapes():
    ours, ref = build("inception_v3"), reference("InceptionV3")
    for i in range(11):  # keras names its module outputs mixed0 .. mixed10 too
        assert ours.get_layer(f"mixed{i}").output.shape == ref.get_layer(f"mixed{i}").output.shape
    bns = [layer for layer in ours.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert bns and not any(layer.scale for layer in bns)  # BN without gamma, as released


def test_efficientnet_b7_equals_keras_and_table_is_the_released_one():
    ours, ref = build("efficientnet_b7"), reference("EfficientNetB7")
    assert tuple(ours.input.shape[1:]) == tuple(ref.input.shape[1:]) == (600, 600, 3)
    # The depth factor for B7 is 3.1: stage 6 (4 layers in B0) has ceil(4 * 3.1) = 13.
    stage6 = {layer.name[:7] for layer in ours.layers if layer.name.startswith("block6")}
    assert len(stage6) == math.ceil(4 * 3.1)


def test_compound_scaling_formula():
    base = compound_scaling(0)
    assert base == {"depth": 1.0, "width": 1.0, "resolution": 224.0, "flops": 1.0}
    one = compound_scaling(1)
    assert (one["depth"], one["width"]) == pytest.approx((1.2, 1.1))
    assert one["resolution"] == pytest.approx(224 * 1.15)
    assert abs(one["flops"] - 2.0) < 0.1  # the paper's constraint alpha * beta^2 * gamma^2 ~ 2
    assert compound_scaling(3)["flops"] == pytest.approx(one["flops"] ** 3)
    # The released table does not follow the formula exactly: B7 (phi = 7 by the paper's naming) would be
    # 1.1^7 = 1.95 wide and 1.2^7 = 3.58 deep; the released B7 is 2.0 wide and 3.1 deep.
    width, depth, resolution, _ = EFFICIENTNET_SCALING["b7"]
    seven = compound_scaling(7)
    assert abs(seven["width"] - width) < 0.1 and seven["depth"] > depth + 0.4
    with pytest.raises(ValueError, match="phi must be a float >= 0"):
        compound_scaling(-1)


# ----------------------------------------------------------------------------------------------------------
# The ideas, block by block
# ----------------------------------------------------------------------------------------------------------
def test_resnext_grouped_convolution_counts_one_group_in_32():
    model = build("resnext50_32x4d")
    layer = model.get_layer("conv2_block1_2_conv")
    assert layer.groups == 32 and tuple(layer.kernel.shape) == (3, 3, 4, 128)
    assert layer.count_params() == conv(3, 128, 128) // 32
    # The same block with one group would cost 32 times as much.
    assert conv(3, 128, 128) == 32 * layer.count_params()


def test_stride_position_changes_macs_not_parameters():
    a, b = (build("resnext", (("cardinality", 1), ("group_width", 64), ("stride_on_3x3", s)))
            for s in (True, False))
    assert a.count_params() == b.count_params()
    macs_a, macs_b = (graph.layer_table(m).totals()["macs"] for m in (a, b))
    assert macs_a > macs_b
    # The papers' ResNet-50 figures: 4.1 billion in ResNeXt's Table 1 (stride on the 3x3), 3.86 in SENet's.
    assert f"{macs_a / 1e9:.1f}" == "4.1" and f"{macs_b / 1e9:.2f}" == "3.86"


def test_se_block_matches_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 3, 8)).astype("float32")
    inputs = keras.Input((3, 3, 8))
    model = keras.Model(inputs, se_block(inputs, 2, name="se"))
    w1, b1 = model.get_layer("se_reduce").get_weights()
    w2, b2 = model.get_layer("se_expand").get_weights()
    b1, b2 = rng.standard_normal(b1.shape), rng.standard_normal(b2.shape)
    model.get_layer("se_reduce").set_weights([w1, b1])
    model.get_layer("se_expand").set_weights([w2, b2])
    squeeze = x.mean(axis=(1, 2))  # (2, 8)
    hidden = np.maximum(squeeze @ w1[0, 0] + b1, 0)
    gate = 1 / (1 + np.exp(-(hidden @ w2[0, 0] + b2)))
    np.testing.assert_allclose(model(x), x * gate[:, None, None, :], rtol=1e-5, atol=1e-6)
    assert model.count_params() == dense(8, 2) + dense(2, 8)


def test_inception_factorisation_counts():
    inputs = keras.Input((17, 17, 16))
    row = InceptionBRow(8, 6, 10, 4)
    model = keras.Model(inputs, inception_b_block(inputs, row, name="m"))
    assert tuple(model.output.shape) == (None, 17, 17, 8 + 10 + 10 + 4)
    one_by_seven = model.get_layer("m_1x7_conv")
    seven_by_one = model.get_layer("m_7x1_conv")
    assert one_by_seven.kernel_size == (1, 7) and seven_by_one.kernel_size == (7, 1)
    pair = one_by_seven.count_params() + seven_by_one.count_params()
    assert pair == conv((1, 7), 6, 6) + conv((7, 1), 6, 10)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    # 1x1: 4 of them; nxn branch 1x7 + 7x1; double branch 7x1, 1x7, 7x1, 1x7.
    hand = conv(1, 16, 8) + conv(1, 16, 6) + conv(1, 16, 6) + conv(1, 16, 4)  # the four 1x1 convolutions
    hand += conv((1, 7), 6, 6) + conv((7, 1), 6, 10)  # 1x7 then 7x1
    hand += conv((7, 1), 6, 6) + conv((1, 7), 6, 6) + conv((7, 1), 6, 6) + conv((1, 7), 6, 10)  # double
    # A 7x7 in each place would cost 7 / 2 times as much.
    assert conv(7, 6, 6) == 7 * (conv((1, 7), 6, 6) + conv((7, 1), 6, 6)) // 2
    assert sum(c.count_params() for c in convs) == hand


def test_grid_reduction_halves_the_grid_in_parallel():
    inputs = keras.Input((35, 35, 32))
    out = reduction_a_block(inputs, ReductionARow(20, 8, 12), name="r")
    assert tuple(out.shape) == (None, 17, 17, 20 + 12 + 32)  # the pooled branch keeps the 32 channels


def test_mobilenet_v2_bottlenecks_are_linear():
    model = build("mobilenet_v2")
    names = [layer.name for layer in model.layers]
    projection = [n for n in names if n.startswith("block_2_project")]
    assert projection == ["block_2_project_conv", "block_2_project_bn"]  # no activation after it
    assert "block_2_add" in names and "block_1_add" not in names  # stride 2 / 16 -> 24: no shortcut
    assert model.get_layer("block_2_expand_conv").filters == 6 * 24


def test_preact_blocks_leave_the_sum_untouched():
    model = build("preact_resnet164")
    after = model.get_layer("conv2_block2_1_bn")
    assert after.input.name == model.get_layer("conv2_block1_add").output.name  # no ReLU after the addition
    wrn = build("wrn28_10")
    assert [wrn.get_layer(f"conv{s}_block1_1_conv").filters for s in (2, 3, 4)] == [160, 320, 640]


def test_densenet_channels_grow_by_k_and_transitions_halve_them():
    model = build("densenet121")
    block1 = [model.get_layer(f"conv2_block{i}_concat").output.shape[-1] for i in range(1, 7)]
    assert block1 == [64 + 32 * i for i in range(1, 7)]
    assert model.get_layer("pool2_conv").filters == 256 // 2


# ----------------------------------------------------------------------------------------------------------
# NFNet: scaled weight standardisation, scaled activations, residual gain, adaptive gradient clipping
# ----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("groups", [1, 2])
def test_ws_conv_standardises_each_output_channel(groups):
    rng = np.random.default_rng(1)
    layer = WSConv2D(6, 3, padding="same", groups=groups)
    x = rng.standard_normal((2, 5, 5, 4)).astype("float32")
    y = layer(x)
    kernel, bias, gain = (np.asarray(w) for w in (layer.kernel, layer.bias, layer.gain))
    gain = rng.uniform(0.5, 2.0, gain.shape).astype("float32")
    layer.gain.assign(gain)
    fan_in = 3 * 3 * (4 // groups)
    mean = kernel.reshape(fan_in, 6).mean(axis=0)
    std = kernel.reshape(fan_in, 6).std(axis=0)  # population variance, as the paper
    expected_kernel = gain * (kernel - mean) / (std * np.sqrt(fan_in))
    standardized = np.asarray(layer.standardized_kernel())
    np.testing.assert_allclose(standardized, expected_kernel, rtol=1e-4, atol=1e-6)
    rows = standardized.reshape(fan_in, 6)
    np.testing.assert_allclose(rows.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose((rows**2).sum(axis=0), gain**2, rtol=1e-4)  # squared norm = gain^2
    y = layer(x)
    reference_out = tf.nn.conv2d(x, expected_kernel, strides=1, padding="SAME") + bias
    np.testing.assert_allclose(y, reference_out, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_scaled_activation_keeps_unit_variance(activation):
    z = np.random.default_rng(2).standard_normal(400_000).astype("float32")
    out = np.asarray(ScaledActivation(activation)(z))
    assert abs(out.std() - 1.0) < 0.01
    if activation == "relu":  # closed form: Var(relu(z)) = 1/2 - 1/(2 pi)
        assert NF_GAMMA["relu"] == pytest.approx(1 / math.sqrt(0.5 - 0.5 / math.pi))


def test_residual_gain_starts_as_identity():
    a, b = np.ones((1, 2, 2, 3), "float32"), np.full((1, 2, 2, 3), 5.0, "float32")
    layer = ResidualGain(0.2)
    np.testing.assert_array_equal(layer([a, b]), a)
    layer.skip_gain.assign(0.5)
    np.testing.assert_allclose(layer([a, b]), a + 0.2 * 0.5 * b)


def test_nfnet_has_no_batch_norm():
    model = build("nfnet_f0")
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)
             and not layer.name.endswith(("_se_reduce", "_se_expand"))]
    assert convs and all(isinstance(layer, WSConv2D) for layer in convs)
    assert model.get_layer("stage3_block1_conv1").groups == 768 // 128


def test_adaptive_gradient_clipping_by_hand():
    # Dense kernel (2 inputs, 2 units): unit norms 5 and 0.0005 (below eps = 1e-3, so eps is used).
    weight = np.array([[3.0, 0.0], [4.0, 0.0005]], "float32")
    grad = np.array([[0.3, 1.0], [0.4, 0.0]], "float32")  # unit norms 0.5 and 1.0
    clipped = np.asarray(adaptive_gradient_clip(grad, weight, clipping=0.05, eps=1e-3))
    # Unit 0: max norm 0.05 * 5 = 0.25 < 0.5, so the gradient is halved. Unit 1: max norm 0.05 * 1e-3.
    np.testing.assert_allclose(clipped, [[0.15, 5e-5], [0.2, 0.0]], rtol=1e-5)
    # Under the threshold nothing changes.
    small = np.asarray(adaptive_gradient_clip(grad * 1e-3, weight, clipping=0.05))
    np.testing.assert_allclose(small[:, 0], grad[:, 0] * 1e-3)


def test_agc_optimizer_wrapper_clips_before_the_update_except_the_classifier():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4, use_bias=False, name="hidden")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, use_bias=False, name="predictions")(hidden))
    x = np.random.default_rng(3).standard_normal((8, 3)).astype("float32") * 10
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x) ** 2)
    grads = tape.gradient(loss, model.trainable_weights)
    before = [np.asarray(w).copy() for w in model.trainable_weights]
    # NumPy reference: per-unit (column) norms of weight and gradient.
    w0, g0 = before[0], np.asarray(grads[0])
    max_norm = np.maximum(np.linalg.norm(w0, axis=0), 1e-3) * 0.01
    g_norm = np.linalg.norm(g0, axis=0)
    expected0 = np.where(g_norm > max_norm, g0 * max_norm / g_norm, g0)
    assert (g_norm > max_norm).all()  # the test exercises the clipping branch
    optimizer = with_adaptive_gradient_clipping(keras.optimizers.SGD(learning_rate=1.0), clipping=0.01)
    assert isinstance(optimizer, keras.optimizers.SGD) and type(optimizer).__name__ == "AGCSGD"
    optimizer.apply_gradients(zip(grads, model.trainable_weights))
    np.testing.assert_allclose(before[0] - np.asarray(model.trainable_weights[0]), expected0, rtol=1e-4)
    np.testing.assert_allclose(before[1] - np.asarray(model.trainable_weights[1]), grads[1], rtol=1e-5)
    with pytest.raises(TypeError, match="optimizer must be a keras.optimizers.Optimizer"):
        with_adaptive_gradient_clipping("sgd")


def test_agc_optimizer_trains_through_fit():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="hidden"),
                              keras.layers.Dense(2, activation="softmax", name="predictions")])
    model.compile(optimizer=with_adaptive_gradient_clipping(keras.optimizers.SGD(0.5)),
                  loss="sparse_categorical_crossentropy")
    before = np.asarray(model.get_layer("hidden").kernel).copy()
    x, y = np.random.default_rng(4).standard_normal((16, 4)).astype("float32"), np.arange(16) % 2
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    step = np.asarray(model.get_layer("hidden").kernel) - before
    # Each unit moved by at most lr * clipping * max(||W_i||, eps): the clipping ran inside fit.
    limit = 0.5 * 0.01 * np.maximum(np.linalg.norm(before, axis=0), 1e-3)
    assert (np.linalg.norm(step, axis=0) <= limit * (1 + 1e-4)).all() and np.abs(step).sum() > 0


def test_nf_layers_save_and_load(tmp_path):
    inputs = keras.Input((8, 8, 3))
    x = WSConv2D(4, 3, padding="same", groups=1, name="ws")(inputs)
    y = ScaledActivation("gelu", name="act")(x)
    out = ResidualGain(0.2, name="gain")([x, y])
    model = keras.Model(inputs, out)
    model.get_layer("gain").skip_gain.assign(0.7)
    model.get_layer("ws").gain.assign(np.linspace(0.5, 2.0, 4, dtype="float32"))  # the weight Conv2D lacks
    path = tmp_path / "nf.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    sample = np.random.default_rng(5).standard_normal((2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(loaded(sample), model(sample), rtol=1e-6)
    assert loaded.get_layer("act").get_config()["activation"] == "gelu"


# ----------------------------------------------------------------------------------------------------------
# Forward passes on small inputs, and argument errors
# ----------------------------------------------------------------------------------------------------------
TINY = [
    ("inception_v3", {"input_shape": (75, 75, 3), "width_multiplier": 0.1, "num_classes": 5}),
    ("inception_v3", {"aux_logits": True, "input_shape": (107, 107, 3), "width_multiplier": 0.05,
                      "num_classes": 5}),
    ("resnext50_32x4d", {"input_shape": (32, 32, 3), "width_multiplier": 0.25, "num_classes": 5}),
    ("se_resnet50", {"input_shape": (32, 32, 3), "width_multiplier": 0.1, "num_classes": 5}),
    ("preact_resnet", {"depth": 20, "width_multiplier": 0.5, "num_classes": 5}),
    ("wide_resnet", {"depth": 10, "k": 2, "dropout": 0.3, "num_classes": 5}),
    ("mobilenet", {"input_shape": (32, 32, 3), "width_multiplier": 0.25, "num_classes": 5}),
    ("mobilenet_v2", {"input_shape": (32, 32, 3), "width_multiplier": 0.25, "num_classes": 5}),
    ("efficientnet_b0", {"input_shape": (32, 32, 3), "width_multiplier": 0.25, "num_classes": 5}),
    ("densenet121", {"input_shape": (32, 32, 3), "width_multiplier": 0.25, "num_classes": 5}),
    ("xception", {"input_shape": (71, 71, 3), "width_multiplier": 0.1, "num_classes": 5}),
    ("nfnet_f0", {"input_shape": (32, 32, 3), "width_multiplier": 0.0625, "num_classes": 5}),
]


@pytest.mark.parametrize("name, kwargs", TINY, ids=[f"{t[0]}-{i}" for i, t in enumerate(TINY)])
def test_forward_pass_on_a_small_input(name, kwargs):
    keras.utils.set_random_seed(0)
    model = models.get_model(name, **kwargs)
    x = np.random.default_rng(0).random((2, *model.inputs[0].shape[1:]), dtype=np.float32)
    outputs = model(x, training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    for out in outputs:
        out = np.asarray(out)
        assert out.shape == (2, 5) and np.isfinite(out).all()
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


def test_preact_bottleneck_forward():
    # ResNet-164's block (the registered 164-layer net is too long to run in the unit suite).
    from course_lib.models.preact_resnet import preact_bottleneck_block

    inputs = keras.Input((8, 8, 16))
    model = keras.Model(inputs, preact_bottleneck_block(inputs, 4, stride=2, name="b"))
    assert tuple(model.output.shape) == (None, 4, 4, 16)
    assert np.isfinite(np.asarray(model(np.ones((1, 8, 8, 16), "float32")))).all()


@pytest.mark.parametrize("name, kwargs, error, message", [
    ("inception_v3", {"input_shape": (74, 74, 3)}, ValueError, "at least 75x75"),
    ("efficientnet", {"variant": "b8"}, ValueError, "variant must be one of"),
    ("resnext", {"cardinality": 0}, ValueError, "cardinality must be a positive int, got 0"),
    ("wide_resnet", {"depth": 27}, ValueError, "depth must be 6n \\+ 4"),
    ("nfnet", {"variant": "F9"}, ValueError, "variant must be one of"),
    ("preact_resnet", {"depth": 50}, ValueError, "depth must be one of"),
    ("densenet", {"reduction": 0.0}, ValueError, "reduction must be a float in \\(0, 1\\]"),
    ("xception", {"input_shape": (6, 6, 3)}, ValueError, "at least 7x7"),
    ("mobilenet", {"dropout": 1.5}, ValueError, "dropout must be"),
])
def test_bad_arguments_raise_naming_the_argument(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        models.get_model(name, **kwargs)
