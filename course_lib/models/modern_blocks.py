"""Blocks shared by the architectures after ResNet: conv-BN-activation with groups, squeeze-and-excitation.

Each family file (``inception_v3``, ``resnext``, ``preact_resnet``, ``mobilenet``, ``efficientnet``,
``densenet``, ``xception``, ``nfnet``) builds its own blocks; the two pieces several of them need live here,
once. Blocks are functions ``block(x, ..., name=...)`` returning a tensor, as in ``blocks.py``.
"""

from __future__ import annotations

from keras import layers

from .blocks import BN_EPSILON, BN_MOMENTUM


def conv_bn_act(x, filters: int, kernel_size, *, strides=1, padding="same", groups: int = 1,
                activation: str | None = "relu", bn_scale: bool = True, bn_epsilon: float = BN_EPSILON,
                kernel_initializer="glorot_uniform", name: str):
    """Convolution (no bias, optionally grouped) -> BatchNorm -> activation.

    Args:
        x: tensor ``(batch, h, w, c)``; ``c`` divisible by ``groups``.
        filters: output channels (divisible by ``groups``).
        kernel_size: int or ``(kh, kw)``.
        strides, padding: as in ``keras.layers.Conv2D``.
        groups: split input and output channels into this many groups (ResNeXt's cardinality, NFNet's
            grouped 3x3); each output channel then reads only ``c / groups`` input channels.
        activation: a Keras activation name applied after BN ("relu", "relu6", "swish"), or None.
        bn_scale: keep BN's gamma. Inception-v3 drops it (``scale=False``, as in ``keras.applications``):
            a ReLU follows, and the next convolution can absorb a per-channel scale.
        bn_epsilon: BN's epsilon (the kit's 1e-5, or the 1e-3 / 1.001e-5 a reference implementation uses).
        kernel_initializer: of the convolution.
        name: prefix; layers ``{name}_conv``, ``{name}_bn`` and ``{name}_{activation}``.

    Returns:
        Tensor ``(batch, h', w', filters)``.
    """
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, groups=groups, use_bias=False,
                      kernel_initializer=kernel_initializer, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(axis=-1, momentum=BN_MOMENTUM, epsilon=bn_epsilon, scale=bn_scale,
                                  name=f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x


def se_block(x, reduced: int, *, activation: str = "relu", gate_gain: float = 1.0, name: str):
    """Squeeze-and-excitation: reweight the channels by a gate computed from their global averages.

    squeeze (global average pool, ``c`` numbers) -> 1x1 conv to ``reduced`` with ``activation`` -> 1x1 conv
    back to ``c`` with a sigmoid -> multiply the input channel-wise. The 1x1 convolutions on the pooled
    1x1 map are the paper's two fully connected layers (same weights and biases: ``2 c r + r + c``).

    Args:
        x: tensor ``(batch, h, w, c)``.
        reduced: width of the bottleneck (``c / 16`` in SENet, a quarter of the block input in EfficientNet).
        activation: of the bottleneck ("relu" in SENet, "swish" in EfficientNet).
        gate_gain: multiplies the sigmoid gate (NFNet uses 2, so that the gate starts near 1).
        name: prefix; layers ``{name}_squeeze``, ``{name}_reduce``, ``{name}_expand``, ``{name}_excite``.

    Returns:
        Tensor of ``x``'s shape.

    Reference: Hu, Shen and Sun, "Squeeze-and-Excitation Networks", CVPR 2018, Figure 1 and Eq. 2-4.
    """
    channels = x.shape[-1]
    s = layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_squeeze")(x)  # 1x1xc
    s = layers.Conv2D(reduced, 1, activation=activation, name=f"{name}_reduce")(s)
    s = layers.Conv2D(channels, 1, activation="sigmoid", name=f"{name}_expand")(s)
    if gate_gain != 1.0:
        s = layers.Rescaling(gate_gain, name=f"{name}_gain")(s)
    return layers.Multiply(name=f"{name}_excite")([x, s])


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to the nearest multiple of ``divisor``, never losing more than 10%.

    The rule of MobileNetV2's and EfficientNet's reference code (hardware prefers multiples of 8).

    Args:
        value: the scaled width (``32 * alpha``).
        divisor: the multiple.

    Returns:
        ``max(divisor, nearest multiple)``, plus one ``divisor`` if that fell below ``0.9 * value``.
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return int(rounded)


def classifier(x, num_classes: int, *, dropout: float = 0.0):
    """Global average pool (``avg_pool``), optional ``dropout``, then the softmax layer ``predictions``."""
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    return layers.Dense(num_classes, activation="softmax", name="predictions")(x)


def depthwise_bn_act(x, kernel_size, *, strides=1, activation: str | None = "relu",
                     bn_epsilon: float = BN_EPSILON, name: str):
    """Depthwise convolution (one k x k filter per channel, no bias) -> BatchNorm -> activation.

    Args:
        x: tensor ``(batch, h, w, c)``.
        kernel_size: int (3 or 5).
        strides: 2 to halve the map ("same" padding, so any input size works).
        activation: "relu6" (MobileNets), "swish" (EfficientNet), "relu", or None.
        bn_epsilon: BN's epsilon.
        name: prefix; layers ``{name}`` (the depthwise conv), ``{name}_bn``, ``{name}_{activation}``.

    Returns:
        Tensor ``(batch, ceil(h / strides), ceil(w / strides), c)``.

    Reference: Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
    Applications", 2017, Figure 3.
    """
    x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(axis=-1, momentum=BN_MOMENTUM, epsilon=bn_epsilon, name=f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=f"{name}_{activation}")(x)
    return x
