"""The full-size networks against the numbers printed in their papers (and in keras.applications).

Expected values are the papers' figures or parameter counts worked out by hand from the papers' layer sizes
(the ``conv``/``dense`` helpers below), never numbers produced by course_lib. Full-size models are built once
each inside ``models.architecture_only()`` (a ``keras.StatelessScope`` that never initialises the variables):
shapes and parameter counts without drawing ~140 million random numbers per model. No test here runs a
forward pass on a big model; the small trainable versions are exercised in test_models.py.
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import pytest
from test_models_modern import MODERN  # the architectures after ResNet have their table there

from course_lib import models


def conv(k, cin, cout, *, groups=1, bias=True):
    """Parameters of a k x k convolution, by hand."""
    return k * k * (cin // groups) * cout + (cout if bias else 0)


def dense(nin, nout):
    return nin * nout + nout


@functools.cache
def build(name: str, frozen_kwargs: tuple = ()):
    """Build each full-size model once per test session, without materialising its weights."""
    with models.architecture_only():
        return models.get_model(name, **dict(frozen_kwargs))


def trainable(model) -> int:
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))


def cifar_resnet_trainable(depth: int, classes: int = 10) -> int:
    """Trainable parameters of the paper's CIFAR ResNet (Section 4.2) by hand: a 3x3 16-filter conv, then
    three stages of 2n 3x3 convolutions (16, 32, 64 filters), each conv followed by BatchNorm (gamma, beta),
    option-A shortcuts (no parameters), global average pooling and a dense softmax layer."""
    n = (depth - 2) // 6
    total = conv(3, 3, 16, bias=False) + 2 * 16
    cin = 16
    for width in (16, 32, 64):
        for _ in range(2 * n):
            total += conv(3, cin, width, bias=False) + 2 * width
            cin = width
    return total + dense(64, classes)


# The 1x1 projection shortcuts (conv, no bias, + BatchNorm gamma/beta) of an ImageNet ResNet with basic
# blocks: where conv3_x, conv4_x and conv5_x start (64 -> 128 -> 256 -> 512). Plain nets have none.
BASIC_PROJECTIONS = sum(conv(1, cin, cout, bias=False) + 2 * cout
                        for cin, cout in ((64, 128), (128, 256), (256, 512)))

# GoogLeNet, Table 1: (row, input depth, output size, the six widths, output depth, params (K), ops (M)).
GOOGLENET_ROWS = [
    ("3a", 192, 28, (64, 96, 128, 16, 32, 32), 256, 159, 128),
    ("3b", 256, 28, (128, 128, 192, 32, 96, 64), 480, 380, 304),
    ("4a", 480, 14, (192, 96, 208, 16, 48, 64), 512, 364, 73),
    ("4b", 512, 14, (160, 112, 224, 24, 64, 64), 512, 437, 88),
    ("4c", 512, 14, (128, 128, 256, 24, 64, 64), 512, 463, 100),
    ("4d", 512, 14, (112, 144, 288, 32, 64, 64), 528, 580, 119),
    ("4e", 528, 14, (256, 160, 320, 32, 128, 128), 832, 840, 170),
    ("5a", 832, 7, (256, 160, 320, 32, 128, 128), 832, 1072, 54),
    ("5b", 832, 7, (384, 192, 384, 48, 128, 128), 1024, 1388, 71),
]


def _row_weights(cin, widths):
    """Kernel weights of one inception row, by hand from the paper's widths (biases not included)."""
    n1, r3, n3, r5, n5, pp = widths
    return cin * n1 + cin * r3 + 9 * r3 * n3 + cin * r5 + 25 * r5 * n5 + cin * pp


# Table 1's stem (conv1 7x7/2 64, conv2 reduce 1x1 64, conv2 3x3 192), the nine rows (weights plus one bias
# per filter of their six convolutions) and the linear layer.
GOOGLENET_PARAMS = (
    conv(7, 3, 64) + conv(1, 64, 64) + conv(3, 64, 192)
    + sum(_row_weights(cin, w) + sum(w) for _, cin, _, w, _, _, _ in GOOGLENET_ROWS)
    + dense(1024, 1000)
)

# Every registered model at its paper size: name -> (output shape, [(how, expected), ...]).
#   "exact":     model.count_params() equals the expected number
#   "trainable": trainable parameters equal it (Keras also stores BatchNorm moving mean/variance)
#   "millions":  count_params() rounded to millions equals the paper's table
#   "digits":    trainable count formatted like the paper ("0.27" M, "1.7" M) equals it
# Sources: the papers' tables, keras.applications' totals, or layer arithmetic by hand (conv/dense above);
# never a number produced by course_lib. A registered model missing here fails
# test_every_registered_model_at_paper_size.
LENET5 = conv(5, 1, 6) + conv(5, 6, 16) + conv(5, 16, 120) + dense(120, 84) + dense(84, 10)
# LeCun et al. 1998, Section II.B, the trainable parameters the paper prints for each layer (the RBF output
# layer's 84 x 10 bitmap values are "chosen by hand and kept fixed", so they are not among them).
LENET5_PAPER_LAYERS = {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120, "f6": 10_164}
LENET5_PAPER_TRAINABLE = 60_000  # the sum of the above, "about 60,000" in the paper's text
LENET5_RBF_FIXED = 84 * 10
ALEXNET_HEAD = dense(6 * 6 * 256, 4096) + dense(4096, 4096) + dense(4096, 1000)
ALEXNET = (conv(11, 3, 96) + conv(5, 96, 256) + conv(3, 256, 384) + conv(3, 384, 384) + conv(3, 384, 256)
           + ALEXNET_HEAD)
VGG16, VGG19 = 138_357_544, 143_667_240  # keras.applications.VGG16 / VGG19(weights=None)
RESNET = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808}  # torchvision
CIFAR_DIGITS = {20: "0.27", 32: "0.46", 44: "0.66", 56: "0.85", 110: "1.7"}  # He et al., Table 6 "# params"

# The segmenters' encoder: conv-conv blocks of 16, 32 and 64 filters and a 128-filter bottleneck (3x3).
ENCODER = sum(conv(3, cin, f) + conv(3, f, f) for cin, f in ((3, 16), (16, 32), (32, 64), (64, 128)))
COURSE_CONVS = (conv(5, 3, 16, bias=False) + conv(3, 16, 32, bias=False) + conv(3, 32, 64, bias=False)
                + conv(3, 64, 128, bias=False))

EXPECTED: dict[str, tuple[tuple, list[tuple[str, object]]]] = {
    # LeCun et al. 1998 with a fully connected C3 (the common re-creation).
    "lenet5": ((None, 10), [("exact", LENET5)]),
    # LeCun et al. 1998 as published: the paper's trainable total, plus the fixed RBF codes in count_params.
    "lenet5_published": ((None, 10), [("trainable", LENET5_PAPER_TRAINABLE),
                                      ("exact", LENET5_PAPER_TRAINABLE + LENET5_RBF_FIXED)]),
    # EECS 498 (seed 003) weight sizes 20x1x5x5, 50x20x5x5, 2450x500, 500x10, plus biases.
    "lenet5_modern": ((None, 10), [("exact", conv(5, 1, 20) + conv(5, 20, 50) + dense(2450, 500)
                                    + dense(500, 10))]),
    # Krizhevsky et al. 2012, single tower (the two-tower "60 million" is in PAPER_VARIANTS).
    "alexnet": ((None, 1000), [("exact", ALEXNET)]),
    # The Caffe reference model: the same layers, LRN after the pools (no parameters move).
    "caffenet": ((None, 1000), [("exact", ALEXNET)]),
    # The 32x32 stem: conv1 5x5 stride 1, pools rounding up to 4x4x256 before fc1.
    "alexnet_cifar": ((None, 1000), [("exact", conv(5, 3, 96) + conv(5, 96, 256) + conv(3, 256, 384)
                                      + conv(3, 384, 384) + conv(3, 384, 256) + dense(4 * 4 * 256, 4096)
                                      + dense(4096, 4096) + dense(4096, 1000))]),
    # Zeiler & Fergus Fig. 3: 96 7x7/2, 256 5x5/2, then AlexNet's 384, 384, 256 3x3 maps and 6x6x256 -> fc.
    "zfnet": ((None, 1000), [("exact", conv(7, 3, 96) + conv(5, 96, 256) + conv(3, 256, 384)
                              + conv(3, 384, 384) + conv(3, 384, 256) + ALEXNET_HEAD)]),
    # Simonyan & Zisserman, Table 2 ("Number of parameters (in millions)"), and keras.applications.
    "vgg": ((None, 1000), [("millions", 138), ("exact", VGG16)]),
    "vgg11": ((None, 1000), [("millions", 133)]),
    "vgg11_lrn": ((None, 1000), [("millions", 133)]),
    "vgg13": ((None, 1000), [("millions", 133)]),
    "vgg16c": ((None, 1000), [("millions", 134)]),
    "vgg16": ((None, 1000), [("millions", 138), ("exact", VGG16)]),
    "vgg19": ((None, 1000), [("millions", 144), ("exact", VGG19)]),
    # Lin et al. 2013 CIFAR-10 network: 5x5 192-160-96, 5x5 192-192-192, 3x3 192-192-10.
    "nin": ((None, 10), [("exact", conv(5, 3, 192) + conv(1, 192, 160) + conv(1, 160, 96) + conv(5, 96, 192)
                          + 2 * conv(1, 192, 192) + conv(3, 192, 192) + conv(1, 192, 192)
                          + conv(1, 192, 10))]),
    # The released ImageNet NiN: 11x11/4 96-96-96, 5x5 256-256-256, 3x3 384-384-384, 3x3 1024-1024-1000.
    "nin_imagenet": ((None, 1000), [("exact", conv(11, 3, 96) + 2 * conv(1, 96, 96) + conv(5, 96, 256)
                                     + 2 * conv(1, 256, 256) + conv(3, 256, 384) + 2 * conv(1, 384, 384)
                                     + conv(3, 384, 1024) + conv(1, 1024, 1024) + conv(1, 1024, 1000))]),
    "googlenet": ((None, 1000), [("exact", GOOGLENET_PARAMS)]),
    # He et al. 2016, Table 1; published (torchvision) counts, BatchNorm gamma/beta included.
    "resnet": ((None, 1000), [("trainable", RESNET[50])]),
    **{f"resnet{d}": ((None, 1000), [("trainable", count)]) for d, count in RESNET.items()},
    # The plain baselines: the same layers without the projection shortcuts.
    "plain18": ((None, 1000), [("trainable", RESNET[18] - BASIC_PROJECTIONS)]),
    "plain34": ((None, 1000), [("trainable", RESNET[34] - BASIC_PROJECTIONS)]),
    # He et al. 2016, Table 6 (CIFAR-10); plain nets are equal because option-A shortcuts have no parameters.
    "cifar_resnet": ((None, 10), [("digits", CIFAR_DIGITS[20]), ("trainable", cifar_resnet_trainable(20))]),
    **{f"cifar_{kind}{d}": ((None, 10), [("digits", digits), ("trainable", cifar_resnet_trainable(d))])
       for d, digits in CIFAR_DIGITS.items() for kind in ("resnet", "plain")},
    # The kit's own models at their defaults, by hand from their docstrings (no paper table to quote).
    # FCN (64x64x3, 5 classes, 16 filters, depth 3): the encoder, a 1x1 score layer and one 16x16/8
    # transposed convolution back to 64x64.
    "fcn": ((None, 64, 64, 5), [("exact", ENCODER + conv(1, 128, 5) + conv(16, 5, 5))]),
    # U-Net: the same encoder, then three steps of a 2x2/2 transposed convolution, a concatenation with the
    # encoder's map and two 3x3 convolutions, and a 1x1 score layer.
    "unet": ((None, 64, 64, 5), [("exact", ENCODER + sum(conv(2, 2 * f, f) + conv(3, 2 * f, f) + conv(3, f, f)
                                                         for f in (64, 32, 16)) + conv(1, 16, 5))]),
    # The grid detector (64x64x3, an 8x8 grid, 4 classes): 3x3 convolutions of 16, 32, 64 filters, each
    # before a 2x2 pool, a 3x3 head of 128 and a 1x1 layer of 5 + 4 numbers per cell.
    "grid_detector": ((None, 8, 8, 9), [("exact", conv(3, 3, 16) + conv(3, 16, 32) + conv(3, 32, 64)
                                                  + conv(3, 64, 128) + conv(1, 128, 9))]),
    # The course network: 5x5 then three 3x3 convolutions (16, 32, 64, 128, no bias) each with BatchNorm,
    # global average pooling and 100 classes; BN's moving mean and variance are not trainable.
    "course_net": ((None, 100), [("trainable", COURSE_CONVS + 2 * 240 + dense(128, 100)),
                                 ("exact", COURSE_CONVS + 4 * 240 + dense(128, 100))]),
}

# Paper variants chosen by keywords rather than by name: (id, name, kwargs, output shape, checks).
PAPER_VARIANTS = [
    # The two-GPU grouping of conv2/4/5: the paper's "60 million parameters".
    ("alexnet_groups2", "alexnet", (("groups", 2),), (None, 1000),
     [("exact", conv(11, 3, 96) + conv(5, 96, 256, groups=2) + conv(3, 256, 384)
       + conv(3, 384, 384, groups=2) + conv(3, 384, 256, groups=2) + ALEXNET_HEAD), ("millions", 61)]),
    # Table I's 60 connections make C3 1,516 parameters.
    ("lenet5_table", "lenet5", (("c3_table", "paper"),), (None, 10),
     [("exact", LENET5 - conv(5, 6, 16) + 60 * 25 + 16)]),
    ("vggA", "vgg", (("config", "A"),), (None, 1000), [("millions", 133)]),
    # Zeiler & Fergus Table 2, model (b): layers 3, 4, 5 with 512, 1024, 512 maps.
    ("zfnet_wide", "zfnet", (("wide", True),), (None, 1000),
     [("exact", conv(7, 3, 96) + conv(5, 96, 256) + conv(3, 256, 512) + conv(3, 512, 1024)
       + conv(3, 1024, 512) + dense(6 * 6 * 512, 4096) + dense(4096, 4096) + dense(4096, 1000))]),
]


def check_count(model, how, expected):
    if how == "exact":
        assert model.count_params() == expected
    elif how == "trainable":
        assert trainable(model) == expected
    elif how == "millions":
        assert round(model.count_params() / 1e6) == expected
    else:  # the paper prints two significant digits ("0.27M", "1.7M")
        assert how == "digits", how
        places = len(expected.split(".")[1])
        assert f"{trainable(model) / 1e6:.{places}f}" == expected


@pytest.mark.parametrize("name", [n for n in models.list_models() if n not in MODERN])
def test_every_registered_model_at_paper_size(name):
    if name not in EXPECTED:
        pytest.fail(f"registered model {name!r} has no expected output shape and parameter count in EXPECTED")
    out_shape, checks = EXPECTED[name]
    model = build(name)
    assert tuple(model.output.shape) == out_shape
    for how, expected in checks:
        check_count(model, how, expected)


def test_expected_table_names_only_registered_models():
    assert sorted(set(EXPECTED) - set(models.list_models())) == []


@pytest.mark.parametrize("name, kwargs, out_shape, checks", [row[1:] for row in PAPER_VARIANTS],
                         ids=[row[0] for row in PAPER_VARIANTS])
def test_paper_variants(name, kwargs, out_shape, checks):
    model = build(name, kwargs)
    assert tuple(model.output.shape) == out_shape
    for how, expected in checks:
        check_count(model, how, expected)


@pytest.mark.parametrize("name, app", [("vgg16", "VGG16"), ("vgg19", "VGG19")])
def test_vgg_matches_keras_applications_layer_by_layer(name, app):
    ours = build(name)
    with models.architecture_only():
        reference = getattr(keras.applications, app)(weights=None)
    weighted = [layer for layer in reference.layers if layer.weights]
    assert [layer.name for layer in weighted] == [layer.name for layer in ours.layers if layer.weights]
    for layer in weighted:
        mine = ours.get_layer(layer.name)
        assert mine.count_params() == layer.count_params(), layer.name
        assert tuple(mine.output.shape) == tuple(layer.output.shape), layer.name


def test_vgg_configuration_c_has_1x1_convolutions_in_stages_3_to_5():
    model = build("vgg", (("config", "C"),))
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    kernels = {layer.name: layer.kernel_size for layer in convs}
    assert [n for n, k in kernels.items() if k == (1, 1)] == ["block3_conv3", "block4_conv3", "block5_conv3"]
    assert len(kernels) + 3 == 16  # "16 weight layers"


def test_vgg_a_lrn_puts_lrn_after_the_first_convolution():
    names = [layer.name for layer in build("vgg", (("config", "A-LRN"),)).layers]
    assert names[names.index("block1_conv1") + 1] == "block1_lrn"


def test_alexnet_first_layer_and_stage_shapes():
    model = build("alexnet")
    conv1 = model.get_layer("conv1")
    assert int(np.prod(conv1.kernel.shape)) == 34_848  # 11 * 11 * 3 * 96
    assert tuple(conv1.bias.shape) == (96,)
    shapes = [tuple(model.get_layer(n).output.shape[1:]) for n in ("conv1", "pool1", "pool2", "pool5")]
    assert shapes == [(55, 55, 96), (27, 27, 96), (13, 13, 256), (6, 6, 256)]


def test_lenet5_published_layer_by_layer_is_the_papers_section_2b():
    model = build("lenet5_published")
    for name, params in LENET5_PAPER_LAYERS.items():
        layer = model.get_layer(name)
        assert sum(int(np.prod(v.shape)) for v in layer.trainable_weights) == params, name
    assert sum(LENET5_PAPER_LAYERS.values()) == LENET5_PAPER_TRAINABLE
    rbf = model.get_layer("rbf")
    assert rbf.trainable_weights == [] and sum(int(np.prod(v.shape)) for v in rbf.weights) == LENET5_RBF_FIXED
    sizes = [model.get_layer(n).output.shape[1] for n in ("c1", "s2", "c3", "s4", "c5")]
    assert sizes == [28, 14, 10, 5, 1]  # Figure 2


@pytest.mark.parametrize("name, expected", [
    # AlexNet Section 3.5: normalisation follows conv1/conv2 (after the ReLU) and the pools follow it.
    ("alexnet", ["conv1", "lrn1", "pool1", "conv2", "lrn2", "pool2", "conv3", "conv4", "conv5", "pool5"]),
    # The Caffe reference model swaps them: pool, then normalise.
    ("caffenet", ["conv1", "pool1", "lrn1", "conv2", "pool2", "lrn2", "conv3", "conv4", "conv5", "pool5"]),
    # ZFNet, Figure 3's caption: "(ii) pooled ... and (iii) contrast normalized".
    ("zfnet", ["conv1_pad", "conv1", "pool1", "lrn1", "conv2", "pool2", "lrn2", "conv3", "conv4", "conv5",
               "pool5"]),
])
def test_normalisation_and_pooling_order_by_layer_name(name, expected):
    model = build(name)
    names = [layer.name for layer in model.layers if layer.name.startswith(("conv", "pool", "lrn"))]
    assert names == expected


def test_alexnet_memory_with_lrn_before_pooling():
    # LRN on the 55x55x96 and 27x27x256 maps (paper order) instead of the pooled 27x27x96 and 13x13x256.
    paper, caffe = (build(n) for n in ("alexnet", "caffenet"))
    assert tuple(paper.get_layer("lrn1").output.shape[1:]) == (55, 55, 96)
    assert tuple(paper.get_layer("lrn2").output.shape[1:]) == (27, 27, 256)
    assert tuple(caffe.get_layer("lrn1").output.shape[1:]) == (27, 27, 96)
    assert tuple(caffe.get_layer("lrn2").output.shape[1:]) == (13, 13, 256)


def test_zfnet_follows_figure_3_shapes():
    model = build("zfnet")
    names = ("conv1", "pool1", "conv2", "pool2", "conv5", "pool5")
    sizes = [model.get_layer(n).output.shape[1] for n in names]
    assert sizes == [110, 55, 26, 13, 13, 6]
    assert model.get_layer("conv1").kernel_size == (7, 7) and model.get_layer("conv1").strides == (2, 2)
    assert [model.get_layer(f"conv{i}").filters for i in range(1, 6)] == [96, 256, 384, 384, 256]


def test_resnet_convolutions_before_batch_norm_have_no_bias():
    model = build("resnet50")
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 53  # 49 in the residual stages' 3-layer blocks + conv1 ... + 4 projections
    assert not any(layer.use_bias for layer in convs)
    assert model.get_layer("conv2_block1_0_conv").kernel_size == (1, 1)  # projection (option B): 64 -> 256
    with pytest.raises(ValueError):
        model.get_layer("conv2_block2_0_conv")  # identity shortcut: no projection


# Where Table 1's printed columns do not follow from the row's own widths: row -> (printed, computed by hand
# from the widths). Ops (millions): the column is (kernel weights of the row) x (output H x W) (NOTES.md), and
# seven rows agree when rounded. 4a gives 73.6M and is printed 73 (truncated where the others round); 5a gives
# 1,042,432 weights x 49 = 51.1M but is printed 54M, which would need 1.10M weights at 7x7, more than even the
# params column (1072K) allows.
OPS_PRINTED_DIFFERS = {"4a": (73, 74), "5a": (54, 51)}
# Params (thousands): no row reproduces from its widths, with or without biases, while the ops column does
# (3a: 163.3K weights, and 128M ops / 784 positions = 163.3K too): the printed params column is inconsistent
# with the table's own widths and ops, row by row.
PARAMS_PRINTED_DIFFERS = {"3a": (159, 163), "3b": (380, 388), "4a": (364, 376), "4b": (437, 449),
                          "4c": (463, 509), "4d": (580, 605), "4e": (840, 867), "5a": (1072, 1042),
                          "5b": (1388, 1443)}


def test_googlenet_table_is_the_papers_table():
    assert {k: tuple(v) for k, v in models.GOOGLENET_TABLE.items()} == {r[0]: r[3] for r in GOOGLENET_ROWS}


def test_googlenet_stage_shapes():
    model = build("googlenet")
    sizes = [model.get_layer(n).output.shape[1] for n in ("conv1", "pool1", "pool2", "pool3", "pool4")]
    assert sizes == [112, 56, 28, 14, 7]
    assert tuple(model.get_layer("conv2").output.shape[1:]) == (56, 56, 192)


@pytest.mark.parametrize("key, cin, hw, widths, depth, paper_k, paper_m", GOOGLENET_ROWS,
                         ids=[r[0] for r in GOOGLENET_ROWS])
def test_googlenet_rows_params_and_ops(key, cin, hw, widths, depth, paper_k, paper_m):
    model = build("googlenet")
    out = model.get_layer(f"inception{key}").output
    assert tuple(out.shape[1:]) == (hw, hw, depth)
    convs = [layer for layer in model.layers
             if layer.name.startswith(f"inception{key}_") and isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 6
    weights = sum(int(np.prod(c.kernel.shape)) for c in convs)
    ops = sum(int(np.prod(c.kernel.shape)) * c.output.shape[1] * c.output.shape[2] for c in convs)
    # The model's layers against the paper's widths by hand.
    hand_weights = _row_weights(cin, widths)
    assert weights == hand_weights
    assert ops == hand_weights * hw * hw
    # The paper's printed columns against the same hand computation: equal, except the named rows.
    hand_ops_m, hand_params_k = round(hand_weights * hw * hw / 1e6), round(hand_weights / 1e3)
    if key in OPS_PRINTED_DIFFERS:
        printed, computed = OPS_PRINTED_DIFFERS[key]
        assert (paper_m, hand_ops_m) == (printed, computed) and printed != computed
    else:
        assert hand_ops_m == paper_m
    if key in PARAMS_PRINTED_DIFFERS:
        printed, computed = PARAMS_PRINTED_DIFFERS[key]
        assert (paper_k, hand_params_k) == (printed, computed) and printed != computed
    else:
        assert hand_params_k == paper_k


def test_googlenet_aux_heads():
    model = build("googlenet", (("aux_logits", True),))
    assert model.output_names == ["predictions", "aux1", "aux2"]
    assert [tuple(o.shape) for o in model.outputs] == [(None, 1000)] * 3
    for name, source in (("aux1", "inception4a"), ("aux2", "inception4d")):
        pool = model.get_layer(f"{name}_pool")
        assert pool.pool_size == (5, 5) and pool.strides == (3, 3)
        assert tuple(pool.output.shape[1:3]) == (4, 4)
        assert model.get_layer(f"{name}_conv").filters == 128
        assert model.get_layer(f"{name}_fc").units == 1024
        assert model.get_layer(f"{name}_dropout").rate == 0.7
        assert pool.input.name == model.get_layer(source).output.name
    # The heads add 2 x (1x1 conv + fc 1024 + fc 1000) to the plain network.
    extra = conv(1, 512, 128) + conv(1, 528, 128) + 2 * (dense(4 * 4 * 128, 1024) + dense(1024, 1000))
    assert model.count_params() == build("googlenet").count_params() + extra
