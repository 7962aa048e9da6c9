"""Blocks shared by the architectures after ResNet: squeeze-and-excitation, depthwise conv-BN-activation.

Each family file (``inception_v3``, ``resnext``, ``preact_resnet``, ``mobilenet``, ``efficientnet``,
``densenet``, ``xception``, ``nfnet``) builds its own blocks; the pieces several of them need live here,
once. The convolution-BN-activation block and the classifier head are those of every family,
``blocks.conv_bn`` and ``blocks.classifier_head``. Blocks are functions ``block(x, ..., name=...)`` returning
a tensor, as in ``blocks.py``.
"""

from __future__ import annotations

from keras import layers

from .blocks import BN_EPSILON, activation_layer, batch_norm


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
    x = batch_norm(f"{name}_bn", epsilon=bn_epsilon)(x)
    return activation_layer(x, activation, name=name)
