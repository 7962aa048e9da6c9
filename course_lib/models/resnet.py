"""Residual networks: ImageNet ResNets (18-152) and CIFAR-10 ResNets (6n+2 layers) with their plain twins.

Every convolution is initialised as the paper says ("we adopt the weight initialization in [13]", He et al.
2015): Keras' ``he_normal``, variance 2 / fan_in (``blocks.HE_INIT``, where the one difference, a truncated
normal, is explained). Where the kit departs from the paper, and why:

* the final Dense layer keeps Keras' default Glorot-uniform initialisation: it is one linear layer with no
  ReLU after it, so the variance argument for He initialisation does not apply (torchvision, likewise, leaves
  its final layer at the framework's default);
* batch normalisation uses momentum 0.9 and epsilon 1e-5 (``blocks.BN_MOMENTUM``), the constants of the
  reference code; the paper gives none;
* training recipes (SGD, weight decay, schedule) live in ``course_lib.training``, not in the builders.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import keras
from keras import layers

from ..validation import check_bool, check_choice, check_int, value_error
from .blocks import (
    HE_INIT,
    STRIDED_WINDOW,
    basic_block,
    bottleneck_block,
    classifier_head,
    conv_bn,
    model_input,
)
from .common import Step, check_common, scaled
from .registry import register_model

# Table 1 of He et al. (2016): depth -> (block kind, blocks in conv2_x, conv3_x, conv4_x, conv5_x).
RESNET_SPECS: dict[int, tuple[str, tuple[int, ...]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
RESNET_WIDTHS = (64, 128, 256, 512)  # 3x3 (basic) or bottleneck widths of conv2_x .. conv5_x
PLAIN_DEPTHS = (18, 34)  # the plain baselines of Table 2 and Figure 4

# The stem of Table 1: conv1 as (filters, kernel, stride, zeros per side), the max-pool as (size, stride,
# zeros per side); 224 -> 112 -> 56.
RESNET_STEM_CONV = (64, 7, 2, 3)
RESNET_STEM_POOL = (3, 2, 1)

# Section 4.2: three stages of 2n layers on 32x32, 16x16 and 8x8 maps with 16, 32 and 64 filters.
CIFAR_RESNET_WIDTHS = (16, 32, 64)
CIFAR_RESNET_DEPTHS = (20, 32, 44, 56, 110)  # the paper's Table 6 (any 6n + 2 >= 8 is accepted)

_BLOCKS = {"basic": basic_block, "bottleneck": bottleneck_block}


class ImageNetError(NamedTuple):
    """One row of He et al.'s ImageNet results: single-model error (%) on the validation set, 10-crop testing.

    Attributes:
        top1: top-1 error, or None where the table has none.
        top5: top-5 error, or None where the table has none.
        source: the paper the network comes from (the comparisons of Table 3 cite others' networks).
    """

    top1: float | None
    top5: float | None
    source: str


# He et al. (2016), Table 3, in the table's order: the networks it compares with, then plain-34, ResNet-34
# with shortcuts A (zero-padding), B (projections where the shape changes) and C (projections everywhere),
# and the bottleneck ResNets. Published numbers, which the notebooks print; nothing here computes them.
RESNET_IMAGENET_TABLE3: dict[str, ImageNetError] = {
    "VGG-16": ImageNetError(28.07, 9.33, "Simonyan & Zisserman, ICLR 2015; measured by He et al."),
    "GoogLeNet": ImageNetError(None, 9.15, "Szegedy et al., CVPR 2015"),
    "PReLU-net": ImageNetError(24.27, 7.38, "He et al., ICCV 2015"),
    "plain-34": ImageNetError(28.54, 10.02, "He et al., CVPR 2016"),
    "ResNet-34 A": ImageNetError(25.03, 7.76, "He et al., CVPR 2016"),
    "ResNet-34 B": ImageNetError(24.52, 7.46, "He et al., CVPR 2016"),
    "ResNet-34 C": ImageNetError(24.19, 7.40, "He et al., CVPR 2016"),
    "ResNet-50": ImageNetError(22.85, 6.71, "He et al., CVPR 2016"),
    "ResNet-101": ImageNetError(21.75, 6.05, "He et al., CVPR 2016"),
    "ResNet-152": ImageNetError(21.43, 5.71, "He et al., CVPR 2016"),
}
# He et al. (2016), Table 2: top-1 error (%, 10-crop testing) of the plain networks and their residual twins
# (shortcuts A, so ResNet-34 here is Table 3's "ResNet-34 A").
RESNET_IMAGENET_TABLE2: dict[str, float] = {"plain-18": 27.94, "plain-34": 28.54, "ResNet-18": 27.88,
                                            "ResNet-34": 25.03}


def model_name(depth: int, *, plain: bool = False, cifar: bool = False) -> str:
    """The registry and model name of a residual network: ``resnet50``, ``plain34``, ``cifar_resnet20`` ..."""
    return ("cifar_" if cifar else "") + ("plain" if plain else "resnet") + str(depth)


def downsampling_chain(kind: str, blocks, *, stem: bool) -> list[Step]:
    """The windows that shrink the map: the ImageNet stem (when ``stem``), then the strided convolution that
    opens every stage after the first (``blocks.STRIDED_WINDOW``)."""
    chain = []
    if stem:
        _, kernel, stride, pad = RESNET_STEM_CONV
        chain += [Step(kernel, stride, pad), Step(*RESNET_STEM_POOL)]
    kernel, pad = STRIDED_WINDOW[kind]
    return chain + [Step(kernel, 2, pad)] * (len(blocks) - 1)


def imagenet_stem(inputs, width_multiplier: float = 1.0):
    """ResNet's stem: 7x7/2 conv 64 (BN, ReLU) and a 3x3/2 max-pool, 224 -> 112 -> 56.

    Args:
        inputs: the image tensor ``(batch, h, w, c)``.
        width_multiplier: scales the 64 filters.

    Returns:
        Tensor ``(batch, h / 4, w / 4, 64)``; layers ``conv1_pad``, ``conv1_conv``, ``conv1_bn``,
        ``conv1_relu``, ``pool1_pad``, ``pool1_pool`` (the stem of ``resnet`` and ``resnext``).
    """
    filters, kernel, stride, pad = RESNET_STEM_CONV
    x = layers.ZeroPadding2D(pad, name="conv1_pad")(inputs)
    x = conv_bn(x, scaled(filters, width_multiplier), kernel, strides=stride, padding="valid",
                kernel_initializer=HE_INIT, name="conv1")  # 112x112x64
    size, stride, pad = RESNET_STEM_POOL
    x = layers.ZeroPadding2D(pad, name="pool1_pad")(x)
    return layers.MaxPooling2D(size, strides=stride, name="pool1_pool")(x)  # 56x56x64


def residual_stages(
    x, kind: str, blocks: Sequence[int], widths: Sequence[int], *, shortcut, first_stage: int
):
    """Stack residual stages: stage ``s`` has ``blocks[s]`` blocks of width ``widths[s]``; every stage after
    the first starts with a stride-2 block.

    Args:
        x: tensor ``(batch, h, w, c)``.
        kind: ``"basic"`` or ``"bottleneck"``.
        blocks: blocks per stage.
        widths: block widths per stage (already scaled).
        shortcut: ``"A"``, ``"B"`` or None (plain), see ``blocks.basic_block``.
        first_stage: number used in the first stage's layer names (``conv2_block1_...``).

    Returns:
        Tensor after the last stage.
    """
    block = _BLOCKS[kind]
    for s, (count, width) in enumerate(zip(blocks, widths)):
        for b in range(count):
            stride = 2 if (s > 0 and b == 0) else 1
            x = block(x, width, stride=stride, shortcut=shortcut, name=f"conv{first_stage + s}_block{b + 1}")
    return x


@register_model
def resnet(
    depth: int = 50,
    *,
    input_shape=(224, 224, 3),
    num_classes: int = 1000,
    width_multiplier: float = 1.0,
    plain: bool = False,
    classifier_activation="softmax",
) -> keras.Model:
    """An ImageNet ResNet of depth 18, 34, 50, 101 or 152 (projection shortcuts, "option B").

    conv1 7x7/2 64 (BN, ReLU) -> 112 -> max-pool 3x3/2 -> 56 -> conv2_x (56) -> conv3_x (28) -> conv4_x (14)
    -> conv5_x (7) -> global average pool -> predictions. Identity shortcuts where the shape is kept, 1x1
    projection + BN where it changes; no convolution has a bias (each feeds a BatchNorm). Trainable
    parameters equal the published (torchvision) counts: 11,689,512 / 21,797,672 / 25,557,032 / 44,549,160 /
    60,192,808. Keras also stores the BatchNorm moving mean and variance, which ``count_params()`` includes as
    non-trainable weights; ``keras.applications.ResNet50`` (25,636,712) differs because its convolutions keep
    biases.

    Args:
        depth: a key of ``RESNET_SPECS``.
        input_shape: ``(h, w, c)``; any size >= 1 works (global pooling).
        num_classes: width of the output layer (``predictions``).
        width_multiplier: scales every convolution width.
        plain: drop every shortcut (the paper's "plain" baselines).
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``resnet{depth}`` (``plain{depth}``). Layers follow keras.applications:
        ``conv1_conv``, ``conv1_bn``, ``pool1_pool``, ``conv2_block1_1_conv``, ..., ``conv2_block1_0_conv``
        (projection), ``conv2_block1_out``, ``avg_pool``, ``predictions``.

    Raises:
        TypeError / ValueError: an unsupported depth (the message lists the supported ones), or bad plain or
            shared arguments.

    Reference: He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, Table 1.
    """
    depth = check_choice(check_int(depth, "depth"), "depth", RESNET_SPECS)
    plain = check_bool(plain, "plain")
    kind, blocks = RESNET_SPECS[depth]
    input_shape, num_classes, wm = check_common(
        input_shape, num_classes, width_multiplier, chain=downsampling_chain(kind, blocks, stem=True),
        model_name=f"ResNet-{depth}", classifier_activation=classifier_activation,
    )
    inputs = model_input(input_shape)
    x = imagenet_stem(inputs, wm)  # 56x56x64
    widths = [scaled(w, wm) for w in RESNET_WIDTHS]
    # 56 -> 56 -> 28 -> 14 -> 7; 512 channels (basic) or 2048 (bottleneck) at the end
    x = residual_stages(x, kind, blocks, widths, shortcut=None if plain else "B", first_stage=2)
    outputs = classifier_head(x, num_classes, pool="avg", classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name=model_name(depth, plain=plain))


@register_model
def cifar_resnet(
    depth: int = 20,
    *,
    plain: bool = False,
    input_shape=(32, 32, 3),
    num_classes: int = 10,
    width_multiplier: float = 1.0,
    shortcut: str = "A",
    classifier_activation="softmax",
) -> keras.Model:
    """A CIFAR-10 ResNet with ``depth = 6n + 2`` layers, or its plain counterpart.

    conv1 3x3 16 (BN, ReLU) -> conv2_x: n basic blocks, 16 filters, 32x32 -> conv3_x: n blocks, 32 filters,
    16x16 -> conv4_x: n blocks, 64 filters, 8x8 -> global average pool -> predictions. Shortcuts are
    parameter-free ("option A": where the width doubles, the input is subsampled and zero-padded), so the
    plain network has exactly the same parameters: 0.27M, 0.46M, 0.66M, 0.85M and 1.7M for 20, 32, 44, 56
    and 110 layers as the paper prints them (269,722 / 464,154 / 658,586 / 853,018 / 1,727,962 trainable
    parameters, rounded). Every convolution starts from He initialisation, as in the paper; with
    ``depth=20`` and the defaults this is the paper's ResNet-20 layer for layer (see the module docstring for
    the two places, final-layer initialisation and BN constants, where the kit chooses what the paper leaves
    open).

    Args:
        depth: ``6n + 2`` with ``n >= 1`` (the paper uses 20, 32, 44, 56, 110 and 1202).
        plain: no shortcuts.
        input_shape: ``(h, w, c)``, default 32x32x3.
        num_classes: width of the output layer (``predictions``).
        width_multiplier: scales the 16/32/64 widths.
        shortcut: ``"A"`` (paper, default) or ``"B"`` (1x1 projections where the shape changes).
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``cifar_resnet{depth}`` (``cifar_plain{depth}``).

    Raises:
        TypeError / ValueError: a depth that is not 6n + 2, an unknown shortcut, or bad plain or shared
            arguments.

    Reference: He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
    Section 4.2 and Table 6.
    """
    expected = f"6n + 2 with n >= 1 (the paper's {', '.join(map(str, CIFAR_RESNET_DEPTHS))})"
    depth = check_int(depth, "depth")
    if depth < 8 or (depth - 2) % 6:
        raise value_error("depth", expected, depth)
    check_choice(shortcut, "shortcut", ("A", "B"))
    plain = check_bool(plain, "plain")
    n = (depth - 2) // 6
    blocks = (n,) * len(CIFAR_RESNET_WIDTHS)
    input_shape, num_classes, wm = check_common(
        input_shape, num_classes, width_multiplier, chain=downsampling_chain("basic", blocks, stem=False),
        model_name=f"CIFAR ResNet-{depth}", classifier_activation=classifier_activation,
    )
    inputs = model_input(input_shape)
    x = conv_bn(inputs, scaled(16, wm), 3, kernel_initializer=HE_INIT, name="conv1")  # 32x32x16
    widths = [scaled(w, wm) for w in CIFAR_RESNET_WIDTHS]
    x = residual_stages(x, "basic", blocks, widths, shortcut=None if plain else shortcut,
                        first_stage=2)  # 8x8x64
    outputs = classifier_head(x, num_classes, pool="avg", classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name=model_name(depth, plain=plain, cifar=True))



for _depth in RESNET_SPECS:
    register_model(resnet, name=model_name(_depth), depth=_depth)
for _depth in PLAIN_DEPTHS:
    register_model(resnet, name=model_name(_depth, plain=True), depth=_depth, plain=True)
for _depth in CIFAR_RESNET_DEPTHS:
    register_model(cifar_resnet, name=model_name(_depth, cifar=True), depth=_depth)
    register_model(cifar_resnet, name=model_name(_depth, plain=True, cifar=True), depth=_depth, plain=True)
