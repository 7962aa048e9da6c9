"""MobileNet v1 and v2: depthwise separable convolutions, and inverted residuals with linear bottlenecks.

MobileNet v1 (Howard et al. 2017) is a plain stack of depthwise 3x3 + pointwise 1x1 pairs, each followed by
BN and a ReLU (the paper's Section 3.2 and Figure 3; like ``keras.applications`` and the released network,
the builder clips it at 6, ReLU6); a width multiplier ``alpha`` thins every layer. MobileNet v2 (Sandler et
al. 2018) turns the residual bottleneck inside out: a thin block input is expanded ``t`` times by a 1x1
convolution, filtered by a depthwise 3x3, and projected back to a thin output with no ReLU after it (a "linear
bottleneck": a ReLU in a low-dimensional space destroys information); the shortcut joins the thin ends. Both
builders equal ``keras.applications.MobileNet`` / ``MobileNetV2`` (``weights=None``) in parameters; the only
layer that differs is the classifier, a Dense layer here and an equivalent 1x1 convolution in v1's keras
model.
"""

from __future__ import annotations

import keras
from keras import layers

from ..validation import check_probability
from .blocks import classifier_head, conv_bn, model_input
from .common import check_common
from .modern_blocks import depthwise_bn_act, make_divisible
from .registry import register_model

__all__ = ["MOBILENET_V1_ROWS", "MOBILENET_V2_ROWS", "depthwise_separable_block", "inverted_residual_block",
           "mobilenet", "mobilenet_v2"]

# Table 1 of Howard et al.: (pointwise filters, stride of the depthwise conv) for the 13 separable layers.
# The paper prints stride 2 for the 13th depthwise layer although its output stays 7x7 (a typo: the released
# model, and keras.applications, use stride 1; it has no effect on the parameter count).
MOBILENET_V1_ROWS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                     *((512, 1),) * 5, (1024, 2), (1024, 1))
# Table 2 of Sandler et al.: (expansion t, output channels c, repeats n, stride s of the first repeat).
MOBILENET_V2_ROWS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                     (6, 160, 3, 2), (6, 320, 1, 1))
V2_BN_EPSILON = 1e-3  # keras.applications' value (the count does not depend on it)


def depthwise_separable_block(x, filters: int, *, stride: int = 1, name: str):
    """Depthwise 3x3 (BN, ReLU6) then pointwise 1x1 to ``filters`` (BN, ReLU6).

    Args:
        x: tensor ``(batch, h, w, c)``.
        filters: output channels of the pointwise convolution.
        stride: of the depthwise convolution.
        name: block number as text (``"1"``): layers ``conv_dw_1``, ``conv_dw_1_bn``, ``conv_pw_1``, ...
            as in keras.applications.

    Returns:
        Tensor ``(batch, ceil(h / stride), ceil(w / stride), filters)``.

    Reference: Howard et al., "MobileNets", 2017, Figure 3 and Table 1.
    """
    x = depthwise_bn_act(x, 3, strides=stride, activation="relu6", name=f"conv_dw_{name}")
    return conv_bn(x, filters, 1, activation="relu6", name=f"conv_pw_{name}")


@register_model
def mobilenet(*, input_shape=(224, 224, 3), num_classes: int = 1000, width_multiplier: float = 1.0,
              dropout: float = 1e-3, classifier_activation="softmax") -> keras.Model:
    """MobileNet v1: a 3x3/2 conv and 13 depthwise separable layers, global average pool, classifier.

    224 -> conv1 3x3/2 32 -> 112 -> ... -> 7x7x1024 -> pool -> predictions. 4,253,864 parameters at
    ``width_multiplier=1`` (the paper's Table 8: 4.2 million), 569 million multiply-adds at 224x224.

    Args:
        input_shape: ``(h, w, c)``; any size works (all "same" padding).
        num_classes: width of the output layer (``predictions``).
        width_multiplier: the paper's alpha (0.25, 0.5, 0.75, 1.0).
        dropout: before the classifier (keras.applications' 1e-3).
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``mobilenet``.

    Raises:
        TypeError / ValueError: bad shared arguments.

    Reference: Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
    Applications", 2017, Table 1 and Section 3.3.
    """
    dropout = check_probability(dropout, "dropout")
    input_shape, num_classes, alpha = check_common(input_shape, num_classes, width_multiplier,
                                                   model_name="MobileNet",
                                                   classifier_activation=classifier_activation)
    inputs = model_input(input_shape)
    x = conv_bn(inputs, int(32 * alpha), 3, strides=2, activation="relu6", name="conv1")  # 112x112x32
    for i, (filters, stride) in enumerate(MOBILENET_V1_ROWS, start=1):
        x = depthwise_separable_block(x, int(filters * alpha), stride=stride, name=str(i))  # ends 7x7x1024
    outputs = classifier_head(x, num_classes, pool="avg", dropout=dropout,
                              classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name="mobilenet")


def inverted_residual_block(x, filters: int, *, expansion: int, stride: int = 1, kernel_size: int = 3,
                            activation: str = "relu6", name: str):
    """MobileNetV2's block: 1x1 expand (x t, ReLU6) -> depthwise 3x3 (ReLU6) -> 1x1 project (linear) [+ x].

    Args:
        x: tensor ``(batch, h, w, c)``.
        filters: output channels (thin).
        expansion: t; 1 skips the expanding convolution.
        stride: of the depthwise convolution; the shortcut is added only at stride 1 with ``c == filters``.
        kernel_size: of the depthwise convolution.
        activation: after the expansion and the depthwise convolution; none after the projection.
        name: prefix: ``{name}_expand_*``, ``{name}_depthwise*``, ``{name}_project_*``, ``{name}_add``.

    Returns:
        Tensor ``(batch, ceil(h / stride), ceil(w / stride), filters)``.

    Reference: Sandler, Howard, Zhu, Zhmoginov and Chen, "MobileNetV2: Inverted Residuals and Linear
    Bottlenecks", CVPR 2018, Table 1 and Figure 3(b).
    """
    inputs, channels = x, x.shape[-1]
    if expansion != 1:
        x = conv_bn(x, expansion * channels, 1, activation=activation, bn_epsilon=V2_BN_EPSILON,
                    name=f"{name}_expand")
    x = depthwise_bn_act(x, kernel_size, strides=stride, activation=activation, bn_epsilon=V2_BN_EPSILON,
                         name=f"{name}_depthwise")
    x = conv_bn(x, filters, 1, activation=None, bn_epsilon=V2_BN_EPSILON, name=f"{name}_project")
    if stride == 1 and channels == filters:
        x = layers.Add(name=f"{name}_add")([inputs, x])
    return x


@register_model
def mobilenet_v2(*, input_shape=(224, 224, 3), num_classes: int = 1000, width_multiplier: float = 1.0,
                 dropout: float = 0.0, classifier_activation="softmax") -> keras.Model:
    """MobileNetV2: a 3x3/2 conv, 17 inverted residual blocks (Table 2), a 1x1 conv to 1280, classifier.

    224 -> Conv1 -> 112x112x32 -> block_0 .. block_16 -> 7x7x320 -> Conv_1 1x1 1280 -> pool -> predictions.
    3,538,984 parameters at ``width_multiplier=1`` (3,504,872 trainable; the paper's Table 4: 3.4M),
    300 million multiply-adds at 224x224. Widths are rounded to multiples of 8 (``make_divisible``); the
    last conv stays 1280 unless ``width_multiplier > 1``.

    Args:
        input_shape: ``(h, w, c)``; any size works.
        num_classes: width of the output layer (``predictions``).
        width_multiplier: the paper's width multiplier.
        dropout: before the classifier (keras.applications has none).
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``mobilenet_v2``.

    Raises:
        TypeError / ValueError: bad shared arguments.

    Reference: Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018, Table 2.
    """
    dropout = check_probability(dropout, "dropout")
    input_shape, num_classes, alpha = check_common(input_shape, num_classes, width_multiplier,
                                                   model_name="MobileNetV2",
                                                   classifier_activation=classifier_activation)
    inputs = model_input(input_shape)
    x = conv_bn(inputs, make_divisible(32 * alpha), 3, strides=2, activation="relu6",
                bn_epsilon=V2_BN_EPSILON, name="Conv1")  # 112x112x32
    block = 0
    for t, c, n, s in MOBILENET_V2_ROWS:
        for i in range(n):
            x = inverted_residual_block(x, make_divisible(int(c * alpha)), expansion=t,
                                        stride=s if i == 0 else 1, name=f"block_{block}")
            block += 1
    last = make_divisible(1280 * alpha) if alpha > 1.0 else 1280
    x = conv_bn(x, last, 1, activation="relu6", bn_epsilon=V2_BN_EPSILON, name="Conv_1")  # 7x7x1280
    outputs = classifier_head(x, num_classes, pool="avg", dropout=dropout,
                              classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name="mobilenet_v2")
