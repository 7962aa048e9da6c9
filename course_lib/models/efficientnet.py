"""EfficientNet: MBConv blocks with squeeze-and-excitation, and compound scaling of depth, width, resolution.

Tan and Le (2019) search a small baseline (B0: MobileNetV2's inverted residual with SE and swish, "MBConv")
and then scale it up with one knob. For a coefficient phi, depth is multiplied by ``alpha ** phi``, width by
``beta ** phi`` and the image side by ``gamma ** phi``, with ``alpha * beta**2 * gamma**2 ~ 2`` so that each
step of phi roughly doubles the multiply-adds (depth costs linearly, width and resolution quadratically).
The paper's grid search gives alpha = 1.2, beta = 1.1, gamma = 1.15. The released B1-B7, however, use a
table of rounded coefficients (``EFFICIENTNET_SCALING``), which is what ``keras.applications`` builds and
what the registered ``efficientnet_b0`` .. ``efficientnet_b7`` follow; ``compound_scaling(phi)`` gives the
formula's values so the two can be set side by side.

With the defaults the builder equals ``keras.applications.EfficientNetB0`` (and B1-B7) in trainable
parameters (5,288,548 for B0); keras' model stores 7 more non-trainable numbers, the mean, variance and
sample count of the ``Normalization`` layer it puts in front of the network to take raw 0-255 pixels.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import keras
from keras import layers

from ..validation import check_choice, check_float, check_probability
from .blocks import classifier_head, conv_bn, model_input
from .common import check_common
from .modern_blocks import depthwise_bn_act, make_divisible, se_block
from .registry import register_model

__all__ = ["COMPOUND_COEFFICIENTS", "EFFICIENTNET_B0_ROWS", "EFFICIENTNET_SCALING", "MBConvRow",
           "compound_scaling", "efficientnet", "mbconv_block", "round_repeats"]


class MBConvRow(NamedTuple):
    """One stage of Table 1 of the paper: MBConv{expansion}, k x k, ``repeats`` layers, ``filters`` out."""

    expansion: int
    kernel: int
    stride: int
    filters: int
    repeats: int


# Table 1 of Tan and Le (2019), stages 2-8 (stage 1 is the 3x3/2 stem with 32 filters, stage 9 the 1x1 conv
# to 1280, pooling and the classifier).
EFFICIENTNET_B0_ROWS = (
    MBConvRow(1, 3, 1, 16, 1),  # 112x112x16
    MBConvRow(6, 3, 2, 24, 2),  # 56x56x24
    MBConvRow(6, 5, 2, 40, 2),  # 28x28x40
    MBConvRow(6, 3, 2, 80, 3),  # 14x14x80
    MBConvRow(6, 5, 1, 112, 3),  # 14x14x112
    MBConvRow(6, 5, 2, 192, 4),  # 7x7x192
    MBConvRow(6, 3, 1, 320, 1),  # 7x7x320
)
STEM_FILTERS, HEAD_FILTERS, SE_RATIO = 32, 1280, 0.25

# The released models: variant -> (width coefficient, depth coefficient, resolution, dropout rate).
EFFICIENTNET_SCALING = {
    "b0": (1.0, 1.0, 224, 0.2),
    "b1": (1.0, 1.1, 240, 0.2),
    "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3),
    "b4": (1.4, 1.8, 380, 0.4),
    "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5),
    "b7": (2.0, 3.1, 600, 0.5),
}
# Section 3.3 of the paper: depth d = alpha^phi, width w = beta^phi, resolution r = gamma^phi.
COMPOUND_COEFFICIENTS = {"alpha": 1.2, "beta": 1.1, "gamma": 1.15}
BN_EPSILON_EFF = 1e-3  # keras.applications' value


def compound_scaling(phi: float, *, alpha: float = 1.2, beta: float = 1.1, gamma: float = 1.15,
                     base_resolution: int = 224) -> dict[str, float]:
    """The paper's compound scaling: the multipliers for one value of phi.

    Args:
        phi: the compound coefficient (0 for B0).
        alpha, beta, gamma: depth, width and resolution bases (the paper's grid search: 1.2, 1.1, 1.15).
        base_resolution: B0's image side.

    Returns:
        ``{"depth": alpha**phi, "width": beta**phi, "resolution": base_resolution * gamma**phi,
        "flops": (alpha * beta**2 * gamma**2) ** phi}`` (the last is the predicted multiply-add factor).

    Raises:
        TypeError / ValueError: phi not a float >= 0, or a base <= 0.

    Reference: Tan and Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
    ICML 2019, Eq. 3.
    """
    phi = check_float(phi, "phi", minimum=0.0)
    alpha, beta, gamma = (check_float(v, n, minimum=0.0, include_minimum=False)
                          for v, n in ((alpha, "alpha"), (beta, "beta"), (gamma, "gamma")))
    return {"depth": alpha**phi, "width": beta**phi, "resolution": base_resolution * gamma**phi,
            "flops": (alpha * beta**2 * gamma**2) ** phi}


def round_repeats(repeats: int, depth_coefficient: float) -> int:
    """Layers of a stage after depth scaling: ``ceil(depth_coefficient * repeats)`` (the reference code)."""
    return int(math.ceil(depth_coefficient * repeats))


def mbconv_block(x, filters: int, *, expansion: int, kernel_size: int, stride: int = 1,
                 se_ratio: float = SE_RATIO, drop_rate: float = 0.0, name: str):
    """MBConv: 1x1 expand (swish) -> depthwise k x k (swish) -> squeeze-excite -> 1x1 project (linear) [+ x].

    Args:
        x: tensor ``(batch, h, w, c)``.
        filters: output channels.
        expansion: expansion ratio (1 or 6); 1 skips the expanding convolution.
        kernel_size: 3 or 5.
        stride: of the depthwise convolution; the shortcut is added only at stride 1 with ``c == filters``.
        se_ratio: SE bottleneck width as a fraction of the block's *input* channels ``c``.
        drop_rate: stochastic depth rate for the residual branch (per example, training only).
        name: prefix (``block2a``): ``..._expand_*``, ``..._dwconv*``, ``..._se_*``, ``..._project_*``.

    Returns:
        Tensor ``(batch, ceil(h / stride), ceil(w / stride), filters)``.

    Reference: Tan and Le, ICML 2019, Table 1; Sandler et al. 2018 (the inverted residual); Hu et al. 2018
    (the SE gate).
    """
    inputs, channels = x, x.shape[-1]
    if expansion != 1:
        x = conv_bn(x, expansion * channels, 1, activation="swish", bn_epsilon=BN_EPSILON_EFF,
                    name=f"{name}_expand")
    x = depthwise_bn_act(x, kernel_size, strides=stride, activation="swish", bn_epsilon=BN_EPSILON_EFF,
                         name=f"{name}_dwconv")
    x = se_block(x, max(1, int(channels * se_ratio)), activation="swish", name=f"{name}_se")
    x = conv_bn(x, filters, 1, activation=None, bn_epsilon=BN_EPSILON_EFF, name=f"{name}_project")
    if stride == 1 and channels == filters:
        if drop_rate > 0:  # drops the whole branch for some examples: noise_shape broadcasts over h, w, c
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}_drop")(x)
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


@register_model
def efficientnet(
    variant: str = "b0",
    *,
    width_coefficient: float | None = None,
    depth_coefficient: float | None = None,
    input_shape=None,
    num_classes: int = 1000,
    width_multiplier: float = 1.0,
    dropout: float | None = None,
    drop_connect_rate: float = 0.2,
    classifier_activation="softmax",
) -> keras.Model:
    """EfficientNet-B0 .. B7: the B0 rows of Table 1, widths and depths scaled by the variant's coefficients.

    Widths are ``make_divisible(filters * width_coefficient)`` (multiples of 8), each stage has
    ``ceil(repeats * depth_coefficient)`` blocks, and the input side is the variant's resolution (224 for B0,
    600 for B7). Stochastic depth grows linearly from 0 to ``drop_connect_rate`` over the blocks.

    Args:
        variant: a key of ``EFFICIENTNET_SCALING`` (``"b0"`` .. ``"b7"``).
        width_coefficient, depth_coefficient: override the variant's (e.g. with ``compound_scaling``'s).
        input_shape: ``(h, w, c)``; default the variant's resolution, RGB. Any size works.
        num_classes: width of the output layer (``predictions``).
        width_multiplier: a further factor on the width coefficient (small models for a CPU).
        dropout: before the classifier; default the variant's rate.
        drop_connect_rate: the stochastic depth rate of the last block.
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``efficientnet_{variant}``; layers ``stem_conv``, ``block1a_*`` ..
        ``block7a_*`` (stage number, then a letter per repeat, as in keras.applications), ``top_conv``,
        ``avg_pool``, ``predictions``.

    Raises:
        TypeError / ValueError: an unknown variant, non-positive coefficients, bad rates or shared arguments.

    Reference: Tan and Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks",
    ICML 2019, Table 1 and Section 3.3.
    """
    variant = check_choice(variant, "variant", EFFICIENTNET_SCALING)
    width, depth, resolution, default_dropout = EFFICIENTNET_SCALING[variant]
    if width_coefficient is not None:
        width = check_float(width_coefficient, "width_coefficient", minimum=0.0, include_minimum=False)
    if depth_coefficient is not None:
        depth = check_float(depth_coefficient, "depth_coefficient", minimum=0.0, include_minimum=False)
    dropout = default_dropout if dropout is None else check_probability(dropout, "dropout")
    drop_connect_rate = check_probability(drop_connect_rate, "drop_connect_rate")
    input_shape = (resolution, resolution, 3) if input_shape is None else input_shape
    input_shape, num_classes, wm = check_common(input_shape, num_classes, width_multiplier,
                                                model_name=f"EfficientNet-{variant.upper()}",
                                                classifier_activation=classifier_activation)

    def filters(n):
        return make_divisible(n * width * wm)

    inputs = model_input(input_shape)
    x = conv_bn(inputs, filters(STEM_FILTERS), 3, strides=2, activation="swish",
                bn_epsilon=BN_EPSILON_EFF, name="stem")  # 112x112x32 at 224
    total = sum(round_repeats(row.repeats, depth) for row in EFFICIENTNET_B0_ROWS)
    index = 0
    for stage, row in enumerate(EFFICIENTNET_B0_ROWS, start=1):
        for i in range(round_repeats(row.repeats, depth)):
            x = mbconv_block(x, filters(row.filters), expansion=row.expansion, kernel_size=row.kernel,
                             stride=row.stride if i == 0 else 1, drop_rate=drop_connect_rate * index / total,
                             name=f"block{stage}{chr(ord('a') + i)}")
            index += 1
    x = conv_bn(x, filters(HEAD_FILTERS), 1, activation="swish", bn_epsilon=BN_EPSILON_EFF, name="top")
    outputs = classifier_head(x, num_classes, pool="avg", dropout=dropout,
                              classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name=f"efficientnet_{variant}")


for _variant in EFFICIENTNET_SCALING:
    register_model(efficientnet, name=f"efficientnet_{_variant}", variant=_variant)
