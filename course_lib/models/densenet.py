"""DenseNet: each layer of a block reads the concatenation of all earlier maps and adds ``growth_rate`` more.

Huang et al. (2017) replace ResNet's addition with concatenation. A dense layer is BN-ReLU-1x1 conv (to
``4 * growth_rate`` channels, the "B" bottleneck) then BN-ReLU-3x3 conv (to ``growth_rate``), and its output
is appended to its input; after ``L`` layers a block holding ``c0`` channels holds ``c0 + L k``. Between
blocks a transition (BN-ReLU-1x1 conv, 2x2 average pool) halves both the channels ("C", compression 0.5) and
the grid. The builder equals ``keras.applications.DenseNet121`` / ``169`` / ``201`` in parameters, with
the same layer names.
"""

from __future__ import annotations

import keras
from keras import layers

from ..validation import check_choice, check_float, check_int
from .blocks import classifier_head, model_input
from .common import Step, check_common, scaled
from .registry import register_model

__all__ = ["DENSENET_BLOCKS", "dense_block", "dense_layer", "densenet", "transition_block"]

# Table 1 of Huang et al.: depth -> dense layers in each of the four blocks (growth rate 32).
DENSENET_BLOCKS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32), 264: (6, 12, 64, 48)}
BN_EPSILON_DENSE = 1.001e-5  # the reference code's (and keras.applications') value


def _bn_relu(x, name):
    x = layers.BatchNormalization(epsilon=BN_EPSILON_DENSE, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_relu")(x)


def dense_layer(x, growth_rate: int, *, name: str):
    """One DenseNet-B layer: BN-ReLU-1x1 conv (4k) -> BN-ReLU-3x3 conv (k), concatenated to its input.

    Args:
        x: tensor ``(batch, h, w, c)``.
        growth_rate: k, the number of new maps.
        name: prefix (``conv2_block1``): ``..._0_bn``, ``..._1_conv``, ``..._1_bn``, ``..._2_conv``,
            ``..._concat``.

    Returns:
        Tensor ``(batch, h, w, c + growth_rate)``.

    Reference: Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional Networks", CVPR
    2017, Section 3 ("Bottleneck layers").
    """
    y = _bn_relu(x, f"{name}_0")
    y = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(y)
    y = _bn_relu(y, f"{name}_1")
    y = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(y)
    return layers.Concatenate(name=f"{name}_concat")([x, y])


def dense_block(x, num_layers: int, growth_rate: int, *, name: str):
    """``num_layers`` dense layers: the channels grow from ``c`` to ``c + num_layers * growth_rate``."""
    for i in range(1, num_layers + 1):
        x = dense_layer(x, growth_rate, name=f"{name}_block{i}")
    return x


def transition_block(x, reduction: float, *, name: str):
    """BN-ReLU-1x1 conv to ``int(c * reduction)`` channels, then 2x2 average pool of stride 2.

    Reference: Huang et al., CVPR 2017, Section 3 ("Compression").
    """
    x = _bn_relu(x, name)
    x = layers.Conv2D(int(x.shape[-1] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


@register_model
def densenet(depth: int = 121, *, growth_rate: int = 32, reduction: float = 0.5, input_shape=(224, 224, 3),
             num_classes: int = 1000, width_multiplier: float = 1.0,
             classifier_activation="softmax") -> keras.Model:
    """DenseNet-BC for ImageNet: stem, four dense blocks with transitions, BN-ReLU, pool, classifier.

    224 -> conv1 7x7/2 64 -> 112 -> max-pool 3x3/2 -> 56 -> block (56) -> transition -> 28 -> block ->
    14 -> block -> 7 -> block -> BN-ReLU -> global average pool -> predictions. DenseNet-121 has 8,062,504
    parameters (7,978,856 trainable; the paper's Table 1 does not print counts, its Figure 3 says 8.0M).

    Args:
        depth: a key of ``DENSENET_BLOCKS`` (121, 169, 201, 264).
        growth_rate: k (32 for the ImageNet models).
        reduction: the transitions' compression factor (0.5).
        input_shape: ``(h, w, c)``, at least 32x32 (four 2x2 pools after the stride-4 stem).
        num_classes: width of the output layer (``predictions``).
        width_multiplier: scales the stem and the growth rate.
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``densenet{depth}`` with keras.applications' layer names (``conv1_conv``,
        ``conv2_block1_concat``, ``pool2_conv``, ``bn``, ``avg_pool``, ``predictions``).

    Raises:
        TypeError / ValueError: an unsupported depth, a bad growth rate or reduction, or bad shared arguments.

    Reference: Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional Networks", CVPR
    2017, Table 1.
    """
    depth = check_choice(check_int(depth, "depth"), "depth", DENSENET_BLOCKS)
    growth_rate = check_int(growth_rate, "growth_rate", minimum=1)
    chain = [Step(7, 2, 3), Step(3, 2, 1), Step(2, 2, 0), Step(2, 2, 0), Step(2, 2, 0)]
    input_shape, num_classes, wm = check_common(input_shape, num_classes, width_multiplier, chain=chain,
                                                model_name=f"DenseNet-{depth}",
                                                classifier_activation=classifier_activation)
    reduction = check_float(reduction, "reduction", minimum=0.0, maximum=1.0, include_minimum=False)
    k = scaled(growth_rate, wm)
    inputs = model_input(input_shape)
    x = layers.ZeroPadding2D(3, name="zero_padding2d")(inputs)
    x = layers.Conv2D(scaled(2 * growth_rate, wm), 7, strides=2, use_bias=False, name="conv1_conv")(x)  # 112
    x = _bn_relu(x, "conv1")
    x = layers.ZeroPadding2D(1, name="zero_padding2d_1")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)  # 56x56x64
    blocks = DENSENET_BLOCKS[depth]
    for stage, num_layers in enumerate(blocks, start=2):
        x = dense_block(x, num_layers, k, name=f"conv{stage}")
        if stage < len(blocks) + 1:
            x = transition_block(x, reduction, name=f"pool{stage}")  # 28, 14, 7
    x = layers.BatchNormalization(epsilon=BN_EPSILON_DENSE, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    outputs = classifier_head(x, num_classes, pool="avg", classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name=f"densenet{depth}")


for _depth in (121, 169, 201):
    register_model(densenet, name=f"densenet{_depth}", depth=_depth)
