"""Pre-activation and wide ResNets (CIFAR): BN -> ReLU -> conv inside the branch, nothing after the add.

He et al. (2016b) move batch normalisation and ReLU in front of each convolution, so the shortcut path from
any block to any later one is a pure identity: the signal and its gradient pass the additions unchanged
(their Eq. 4-5), which is what lets a 1001-layer network train. Zagoruyko and Komodakis (2016) use the same
block and go the other way: 28 layers, but 10 times the width (WRN-28-10), with dropout between the two
3x3 convolutions. In both, where the shape changes, the shortcut is a 1x1 convolution reading the
pre-activated input; convolutions have no bias (a BN follows each one, or the final BN does).
"""

from __future__ import annotations

import keras
from keras import layers

from ..validation import check_choice, check_int, check_probability, value_error
from .blocks import HE_INIT, activation_layer, batch_norm, classifier_head, model_input
from .common import Step, check_common, scaled
from .registry import register_model

__all__ = ["PREACT_DEPTHS", "preact_basic_block", "preact_bottleneck_block", "preact_resnet",
           "wide_resnet"]

# The CIFAR networks of He et al. (2016b), Table 2: depth -> block kind (6n + 2 basic, 9n + 2 bottleneck).
PREACT_DEPTHS = {20: "basic", 110: "basic", 164: "bottleneck", 1001: "bottleneck"}
STAGE_WIDTHS = (16, 32, 64)  # widths of the three CIFAR stages (x4 at the output of a bottleneck)


def _bn_relu(x, name):
    return activation_layer(batch_norm(f"{name}_bn")(x), "relu", name=name)


def _conv(x, filters, kernel, name, strides=1):
    return layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False,
                         kernel_initializer=HE_INIT, name=f"{name}_conv")(x)


def _preact_shortcut(x, preact, out_channels, stride, name):
    # Where the shape changes, project the pre-activated input (both branches then start from BN-ReLU(x)).
    if stride == 1 and x.shape[-1] == out_channels:
        return x
    return _conv(preact, out_channels, 1, f"{name}_0", strides=stride)


def preact_basic_block(x, filters: int, *, stride: int = 1, dropout: float = 0.0, name: str):
    """Pre-activation basic block: BN-ReLU-conv3x3-BN-ReLU-[dropout]-conv3x3, plus the shortcut.

    Args:
        x: tensor ``(batch, h, w, c)``.
        filters: width of both convolutions and of the output.
        stride: 2 where the stage halves the map.
        dropout: rate between the two convolutions (WRN's 0.3; 0 for none).
        name: prefix: ``{name}_1_bn``, ``{name}_1_conv``, ``{name}_2_...``, ``{name}_0_conv``, ``{name}_add``.

    Returns:
        Tensor ``(batch, ceil(h / stride), ceil(w / stride), filters)``.

    Reference: He, Zhang, Ren and Sun, "Identity Mappings in Deep Residual Networks", ECCV 2016, Fig. 4(e);
    Zagoruyko and Komodakis, "Wide Residual Networks", BMVC 2016, Figure 1(d).
    """
    preact = _bn_relu(x, f"{name}_1")
    shortcut = _preact_shortcut(x, preact, filters, stride, name)
    y = _conv(preact, filters, 3, f"{name}_1", strides=stride)
    y = _bn_relu(y, f"{name}_2")
    if dropout:
        y = layers.Dropout(dropout, name=f"{name}_dropout")(y)
    y = _conv(y, filters, 3, f"{name}_2")
    return layers.Add(name=f"{name}_add")([shortcut, y])


def preact_bottleneck_block(x, filters: int, *, stride: int = 1, expansion: int = 4, name: str):
    """Pre-activation bottleneck: BN-ReLU-1x1-BN-ReLU-3x3-BN-ReLU-1x1 (x4 wide), plus the shortcut.

    Args:
        x: tensor ``(batch, h, w, c)``.
        filters: width of the 1x1 and 3x3 convolutions; the output has ``expansion * filters``.
        stride: 2 where the stage halves the map (on the 3x3).
        expansion: output width factor.
        name: prefix, as for ``preact_basic_block`` with a third convolution ``{name}_3_...``.

    Returns:
        Tensor ``(batch, ceil(h / stride), ceil(w / stride), expansion * filters)``.

    Reference: He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016, Section 4 and Table 2.
    """
    out_channels = expansion * filters
    preact = _bn_relu(x, f"{name}_1")
    shortcut = _preact_shortcut(x, preact, out_channels, stride, name)
    y = _conv(preact, filters, 1, f"{name}_1")
    y = _conv(_bn_relu(y, f"{name}_2"), filters, 3, f"{name}_2", strides=stride)
    y = _conv(_bn_relu(y, f"{name}_3"), out_channels, 1, f"{name}_3")
    return layers.Add(name=f"{name}_add")([shortcut, y])


def _cifar_preact_network(name, blocks, widths, kind, *, dropout, input_shape, num_classes, width_multiplier,
                          classifier_activation):
    input_shape, num_classes, wm = check_common(input_shape, num_classes, width_multiplier,
                                                chain=[Step(3, 2, 1)] * (len(widths) - 1), model_name=name,
                                                classifier_activation=classifier_activation)
    inputs = model_input(input_shape)
    x = _conv(inputs, scaled(16, wm), 3, "conv1")  # 32x32x16, no BN: the first block starts with one
    for s, width in enumerate(widths):
        for b in range(blocks):
            stride = 2 if s and not b else 1
            block_name = f"conv{s + 2}_block{b + 1}"
            if kind == "basic":
                x = preact_basic_block(x, scaled(width, wm), stride=stride, dropout=dropout, name=block_name)
            else:
                x = preact_bottleneck_block(x, scaled(width, wm), stride=stride, name=block_name)
    x = _bn_relu(x, "post")  # the last addition is not normalised inside any block
    outputs = classifier_head(x, num_classes, pool="avg", classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name=name)


@register_model
def preact_resnet(depth: int = 164, *, input_shape=(32, 32, 3), num_classes: int = 10,
                  width_multiplier: float = 1.0, classifier_activation="softmax") -> keras.Model:
    """A pre-activation CIFAR ResNet: 6n + 2 layers of basic blocks or 9n + 2 of bottlenecks.

    conv1 3x3 16 -> three stages of n blocks (16, 32, 64 wide; x4 at a bottleneck's output) on 32, 16, 8
    -> BN-ReLU -> global average pool -> predictions. The paper's Table 2 gives 1.7M parameters for
    ResNet-110 and ResNet-164 and 10.2M for ResNet-1001.

    Args:
        depth: a key of ``PREACT_DEPTHS`` (20, 110 basic; 164, 1001 bottleneck).
        input_shape: ``(h, w, c)``, at least 4x4 (two stride-2 stages).
        num_classes: width of the output layer (``predictions``).
        width_multiplier: scales every width.
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``preact_resnet{depth}``.

    Raises:
        TypeError / ValueError: an unsupported depth, or bad shared arguments.

    Reference: He, Zhang, Ren and Sun, "Identity Mappings in Deep Residual Networks", ECCV 2016, Table 2.
    """
    depth = check_choice(check_int(depth, "depth"), "depth", PREACT_DEPTHS)
    kind = PREACT_DEPTHS[depth]
    blocks = (depth - 2) // (6 if kind == "basic" else 9)
    return _cifar_preact_network(f"preact_resnet{depth}", blocks, STAGE_WIDTHS, kind, dropout=0.0,
                                 input_shape=input_shape, num_classes=num_classes,
                                 width_multiplier=width_multiplier,
                                 classifier_activation=classifier_activation)


@register_model
def wide_resnet(depth: int = 28, k: int = 10, *, dropout: float = 0.0, input_shape=(32, 32, 3),
                num_classes: int = 10, width_multiplier: float = 1.0,
                classifier_activation="softmax") -> keras.Model:
    """WRN-{depth}-{k}: a pre-activation CIFAR ResNet with basic blocks ``k`` times wider.

    conv1 3x3 16 -> three groups of ``(depth - 4) / 6`` blocks, 16k, 32k, 64k wide, on 32, 16, 8 -> BN-ReLU
    -> global average pool -> predictions. WRN-28-10 has 36,479,194 parameters (the paper's Table: 36.5M).

    Args:
        depth: ``6n + 4`` (the paper counts the first conv, the two per block and the shortcut convs).
        k: the widening factor.
        dropout: between the two convolutions of every block (0.3 in the paper's dropout runs).
        input_shape, num_classes, width_multiplier, classifier_activation: as for ``preact_resnet``.

    Returns:
        A ``keras.Model`` named ``wrn{depth}_{k}``.

    Raises:
        TypeError / ValueError: depth not 6n + 4 with n >= 1, k < 1, a bad dropout, or bad shared arguments.

    Reference: Zagoruyko and Komodakis, "Wide Residual Networks", BMVC 2016, Table 1 and Section 3.
    """
    depth = check_int(depth, "depth")
    if depth < 10 or (depth - 4) % 6:
        raise value_error("depth", "6n + 4 with n >= 1 (the paper's 16, 22, 28, 40)", depth)
    k = check_int(k, "k", minimum=1)
    dropout = check_probability(dropout, "dropout")
    widths = tuple(w * k for w in STAGE_WIDTHS)
    return _cifar_preact_network(f"wrn{depth}_{k}", (depth - 4) // 6, widths, "basic", dropout=dropout,
                                 input_shape=input_shape, num_classes=num_classes,
                                 width_multiplier=width_multiplier,
                                 classifier_activation=classifier_activation)


for _depth in (110, 164):
    register_model(preact_resnet, name=f"preact_resnet{_depth}", depth=_depth)
register_model(wide_resnet, name="wrn28_10", depth=28, k=10)
