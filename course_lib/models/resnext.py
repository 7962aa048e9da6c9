"""ResNeXt and SE-ResNet: ResNet's bottleneck with a grouped 3x3 (cardinality), and with a channel gate.

ResNeXt (Xie et al. 2017) splits the bottleneck's 3x3 convolution into ``cardinality`` parallel paths of
``group_width`` channels each; with a grouped convolution (``Conv2D(groups=cardinality)``) the 32 paths of
ResNeXt-50 32x4d are one layer. At equal cost it is wider than ResNet-50's bottleneck (128 channels in the
first stage instead of 64), because a grouped 3x3 costs ``1 / cardinality`` of a dense one. SENet (Hu et
al. 2018) adds a channel gate (``modern_blocks.se_block``) to each residual branch before the addition.
Both keep ResNet-50's stem, stages and head (``resnet.RESNET_SPECS``). A stage's first block strides on its
3x3 convolution in ResNeXt's code and on its first 1x1 in SENet's released models (and the original
ResNet): the parameters do not depend on where the stride sits, the multiply-adds do (``resnext_block``).
"""

from __future__ import annotations

import keras
from keras import layers

from ..validation import check_bool, check_choice, check_int, check_positive_int, value_error
from .blocks import HE_INIT, classifier_head, conv_bn, model_input
from .common import Step, check_common, scaled
from .modern_blocks import se_block
from .registry import register_model
from .resnet import RESNET_SPECS, RESNET_STEM_CONV, RESNET_STEM_POOL, imagenet_stem

__all__ = ["RESNEXT_DEPTHS", "imagenet_stem", "resnext", "resnext_block", "se_resnet"]

RESNEXT_DEPTHS = tuple(d for d, (kind, _) in RESNET_SPECS.items() if kind == "bottleneck")  # 50, 101, 152
BOTTLENECK_OUT = (256, 512, 1024, 2048)  # output widths of conv2_x .. conv5_x (Table 1 of both papers)


def resnext_block(x, width: int, out_channels: int, *, cardinality: int = 32, stride: int = 1,
                  stride_on_3x3: bool = True, se_reduction: int | None = None, name: str):
    """A bottleneck whose 3x3 convolution is split into ``cardinality`` groups, optionally with an SE gate.

    1x1 to ``width`` -> grouped 3x3 (``cardinality`` groups of ``width / cardinality`` channels) -> 1x1 to
    ``out_channels`` -> [SE] -> + shortcut -> ReLU. Each conv has BN and no bias; the shortcut is the
    identity, or a 1x1 projection with BN where the shape changes.

    Args:
        x: tensor ``(batch, h, w, c)``.
        width: channels of the grouped 3x3 (ResNeXt-50 32x4d: 128 in conv2_x; ResNet-50: 64).
        out_channels: channels of the output (256 in conv2_x).
        cardinality: number of groups (1 gives ResNet's bottleneck).
        stride: 2 in the first block of conv3_x .. conv5_x.
        stride_on_3x3: put the stride on the 3x3 (ResNeXt's code, fb.resnet.torch, torchvision) or on the
            first 1x1 (the original ResNet and SENet's released models). Parameters are the same; the
            multiply-adds are not (the 3x3 then runs on the larger map): 4.1 vs 3.9 billion for ResNet-50.
        se_reduction: add a squeeze-and-excitation gate with ``out_channels // se_reduction`` hidden units
            (16 in SENet); None for none.
        name: prefix (``conv2_block1``): ``..._1_conv`` ... ``..._3_bn``, ``..._se_*``, ``..._0_conv``,
            ``..._add``, ``..._out``.

    Returns:
        Tensor ``(batch, ceil(h / stride), ceil(w / stride), out_channels)``.

    Reference: Xie, Girshick, Dollar, Tu and He, "Aggregated Residual Transformations for Deep Neural
    Networks", CVPR 2017, Figure 3(c); Hu, Shen and Sun, "Squeeze-and-Excitation Networks", CVPR 2018, Fig. 3.
    """
    first, second = (1, stride) if stride_on_3x3 else (stride, 1)
    residual = conv_bn(x, width, 1, strides=first, kernel_initializer=HE_INIT, name=f"{name}_1")
    if second > 1:  # pad explicitly so the windows start at the corner, as in the reference code
        residual = layers.ZeroPadding2D(1, name=f"{name}_2_pad")(residual)
    residual = conv_bn(residual, width, 3, strides=second, padding="valid" if second > 1 else "same",
                       groups=cardinality, kernel_initializer=HE_INIT, name=f"{name}_2")
    residual = conv_bn(residual, out_channels, 1, activation=None, kernel_initializer=HE_INIT,
                       name=f"{name}_3")
    if se_reduction is not None:
        residual = se_block(residual, max(1, out_channels // se_reduction), name=f"{name}_se")
    shortcut = x
    if stride != 1 or x.shape[-1] != out_channels:
        shortcut = conv_bn(x, out_channels, 1, strides=stride, activation=None,
                           kernel_initializer=HE_INIT, name=f"{name}_0")
    x = layers.Add(name=f"{name}_add")([shortcut, residual])
    return layers.Activation("relu", name=f"{name}_out")(x)


def downsampling_chain(stages: int = 4) -> list[Step]:
    """The stem's two windows and the padded strided 3x3 that opens every stage after the first."""
    _, kernel, stride, pad = RESNET_STEM_CONV
    return [Step(kernel, stride, pad), Step(*RESNET_STEM_POOL)] + [Step(3, 2, 1)] * (stages - 1)


@register_model
def resnext(
    depth: int = 50,
    *,
    cardinality: int = 32,
    group_width: int = 4,
    se_reduction: int | None = None,
    stride_on_3x3: bool = True,
    input_shape=(224, 224, 3),
    num_classes: int = 1000,
    width_multiplier: float = 1.0,
    classifier_activation="softmax",
) -> keras.Model:
    """ResNeXt-{depth} ({cardinality}x{group_width}d): ResNet's layout with aggregated (grouped) bottlenecks.

    conv1 -> 56 -> conv2_x .. conv5_x with ``RESNET_SPECS[depth]`` blocks, 3x3 widths
    ``cardinality * group_width * (1, 2, 4, 8)`` and outputs 256, 512, 1024, 2048 -> global average pool ->
    predictions. ResNeXt-50 32x4d has 25,028,904 trainable parameters (the paper's Table 1: 25.0 x 10^6);
    ``cardinality=1, group_width=64`` is ResNet-50 with the stride on the 3x3.

    Args:
        depth: 50, 101 or 152.
        cardinality: groups of the 3x3 convolutions (C in the paper).
        group_width: channels per group in conv2_x (d in the paper).
        se_reduction: add SE gates with this reduction ratio (16 in SENet), or None.
        stride_on_3x3: where a stage's first block strides (see ``resnext_block``).
        input_shape: ``(h, w, c)``; any size works (every window is padded).
        num_classes: width of the output layer (``predictions``).
        width_multiplier: scales every width (the number of groups is kept; widths round to a multiple).
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``resnext{depth}_{C}x{d}d`` (``se_`` in front with SE gates).

    Raises:
        TypeError / ValueError: an unsupported depth, a non-positive cardinality, group_width or
            se_reduction, or bad shared arguments.

    Reference: Xie et al., "Aggregated Residual Transformations for Deep Neural Networks", CVPR 2017, Table 1.
    """
    depth = check_choice(check_int(depth, "depth"), "depth", RESNEXT_DEPTHS)
    cardinality = check_positive_int(cardinality, "cardinality")
    group_width = check_positive_int(group_width, "group_width")
    if se_reduction is not None:
        se_reduction = check_positive_int(se_reduction, "se_reduction")
    stride_on_3x3 = check_bool(stride_on_3x3, "stride_on_3x3")
    _, blocks = RESNET_SPECS[depth]
    input_shape, num_classes, wm = check_common(input_shape, num_classes, width_multiplier,
                                                chain=downsampling_chain(len(blocks)),
                                                model_name=f"ResNeXt-{depth}",
                                                classifier_activation=classifier_activation)
    per_group = scaled(group_width, wm)
    if per_group * cardinality < 1:
        raise value_error("width_multiplier", "large enough to keep one channel per group", wm)
    inputs = model_input(input_shape)
    x = imagenet_stem(inputs, wm)
    for s, (count, out) in enumerate(zip(blocks, BOTTLENECK_OUT)):
        width = cardinality * per_group * 2**s
        for b in range(count):
            x = resnext_block(x, width, scaled(out, wm), cardinality=cardinality,
                              stride=2 if s and not b else 1, stride_on_3x3=stride_on_3x3,
                              se_reduction=se_reduction,
                              name=f"conv{s + 2}_block{b + 1}")
    outputs = classifier_head(x, num_classes, pool="avg",  # 7x7x2048 -> 2048 -> classes
                              classifier_activation=classifier_activation)
    prefix = "se_" if se_reduction else ""
    family = f"resnet{depth}" if cardinality == 1 else f"resnext{depth}_{cardinality}x{group_width}d"
    name = prefix + family
    return keras.Model(inputs, outputs, name=name)


@register_model
def se_resnet(depth: int = 50, *, se_reduction: int = 16, **kwargs) -> keras.Model:
    """SE-ResNet-{depth}: ResNet's bottlenecks (one group of 64 in conv2_x), each with an SE gate.

    SE-ResNet-50 has 28,088,024 trainable parameters: ResNet-50's 25,557,032 plus 2,530,992 in the gates
    (the paper's Table 2: 28.1M). The stride sits on the first 1x1, as in SENet's released models (and
    the original ResNet), so the multiply-adds are ResNet-50's 3.86 billion plus the gates'. Other keywords
    as for ``resnext``.

    Reference: Hu, Shen and Sun, "Squeeze-and-Excitation Networks", CVPR 2018, Table 1 and Table 2.
    """
    return resnext(depth, cardinality=1, group_width=64, se_reduction=se_reduction, stride_on_3x3=False,
                   **kwargs)


register_model(resnext, name="resnext50_32x4d", depth=50, cardinality=32, group_width=4)
register_model(se_resnet, name="se_resnet50", depth=50)
