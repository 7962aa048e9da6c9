"""Xception: Inception taken to its limit, every convolution a depthwise separable one, in residual modules.

Chollet (2017) reads an Inception module as "map cross-channel correlations with 1x1 convolutions, then
spatial correlations in each of a few channel groups"; with one group per channel that is a depthwise
separable convolution. Xception is 36 such layers in 14 modules, all but the first and last with a residual
connection: an entry flow that halves the grid three times (1x1 strided projections on the shortcuts), a
middle flow of eight identical 728-channel modules, and an exit flow. The builder equals
``keras.applications.Xception(weights=None)`` (22,910,480 parameters, of which 22,855,952 are trainable:
the number in the paper's Table 3), with the same layer names.
"""

from __future__ import annotations

import keras
from keras import layers

from .blocks import classifier_head, conv_bn, model_input
from .common import Step, check_common, scaled
from .registry import register_model

__all__ = ["XCEPTION_ENTRY", "XCEPTION_MIDDLE_BLOCKS", "xception", "xception_block", "xception_middle_block"]

# Entry flow modules after the two plain convolutions: (name, separable widths); each ends in a 3x3/2 pool.
XCEPTION_ENTRY = (("block2", (128, 128)), ("block3", (256, 256)), ("block4", (728, 728)))
XCEPTION_MIDDLE_BLOCKS = 8
XCEPTION_EXIT = ("block13", (728, 1024))
XCEPTION_TOP = (1536, 2048)
BN_EPSILON_X = 1e-3  # keras.applications' value


def _sep_bn(x, filters, name):
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
    return layers.BatchNormalization(epsilon=BN_EPSILON_X, name=f"{name}_bn")(x)


def xception_block(x, filters, *, relu_first: bool = True, name: str):
    """A downsampling Xception module: [ReLU] sep 3x3 -> BN -> ReLU -> sep 3x3 -> BN -> max-pool 3x3/2, plus a
    1x1/2 projection shortcut with BN.

    Args:
        x: tensor ``(batch, h, w, c)``.
        filters: widths of the two separable convolutions.
        relu_first: start with a ReLU (every module but the first, whose input has just had one).
        name: prefix (``block2``): ``..._sepconv1``, ``..._sepconv1_bn``, ``..._pool``, ``..._shortcut``.

    Returns:
        Tensor ``(batch, ceil(h / 2), ceil(w / 2), filters[1])``.

    Reference: Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017, Figure 5.
    """
    shortcut = conv_bn(x, filters[1], 1, strides=2, activation=None, bn_epsilon=BN_EPSILON_X,
                       name=f"{name}_shortcut")
    for i, width in enumerate(filters, start=1):
        if i > 1 or relu_first:
            x = layers.Activation("relu", name=f"{name}_sepconv{i}_act")(x)
        x = _sep_bn(x, width, f"{name}_sepconv{i}")
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    return layers.Add(name=f"{name}_add")([x, shortcut])


def xception_middle_block(x, *, name: str):
    """A middle-flow module: three times (ReLU, separable 3x3 at the input's width, BN), plus the identity.

    Reference: Chollet, CVPR 2017, Figure 5 (middle flow).
    """
    residual = x
    for i in range(1, 4):
        x = layers.Activation("relu", name=f"{name}_sepconv{i}_act")(x)
        x = _sep_bn(x, x.shape[-1], f"{name}_sepconv{i}")
    return layers.Add(name=f"{name}_add")([x, residual])


@register_model
def xception(*, input_shape=(299, 299, 3), num_classes: int = 1000, width_multiplier: float = 1.0,
             classifier_activation="softmax") -> keras.Model:
    """Xception: entry flow (2 convs, 3 modules), middle flow (8 modules), exit flow, pool, classifier.

    299 -> block1 conv 3x3/2 32, 3x3 64 (valid) -> 147 -> block2 128 -> 74 -> block3 256 -> 37 -> block4 728
    -> 19 -> block5..12 (728) -> block13 728, 1024 -> 10 -> sep 1536, sep 2048 -> pool -> predictions.

    Args:
        input_shape: ``(h, w, c)``, at least 7x7 (the two valid 3x3 convolutions; keras.applications
            insists on 71x71).
        num_classes: width of the output layer (``predictions``).
        width_multiplier: scales every width.
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``xception``.

    Raises:
        TypeError / ValueError: bad shared arguments.

    Reference: Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017, Figure 5.
    """
    chain = [Step(3, 2, 0), Step(3, 1, 0)]
    input_shape, num_classes, wm = check_common(input_shape, num_classes, width_multiplier, chain=chain,
                                                model_name="Xception",
                                                classifier_activation=classifier_activation)

    def w(n):
        return scaled(n, wm)

    inputs = model_input(input_shape)
    x = conv_bn(inputs, w(32), 3, strides=2, padding="valid", bn_epsilon=BN_EPSILON_X,
                name="block1_conv1")  # 149x149x32
    x = conv_bn(x, w(64), 3, padding="valid", bn_epsilon=BN_EPSILON_X, name="block1_conv2")  # 147x147x64
    for i, (name, widths) in enumerate(XCEPTION_ENTRY):
        x = xception_block(x, [w(f) for f in widths], relu_first=i > 0, name=name)  # 74, 37, 19
    for i in range(XCEPTION_MIDDLE_BLOCKS):
        x = xception_middle_block(x, name=f"block{i + 5}")  # 19x19x728
    name, widths = XCEPTION_EXIT
    x = xception_block(x, [w(f) for f in widths], name=name)  # 10x10x1024
    for i, width in enumerate(XCEPTION_TOP, start=1):
        x = _sep_bn(x, w(width), f"block14_sepconv{i}")
        x = layers.Activation("relu", name=f"block14_sepconv{i}_act")(x)
    outputs = classifier_head(x, num_classes, pool="avg", classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name="xception")
