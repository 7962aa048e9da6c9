"""Network in Network: mlpconv blocks (a convolution followed by 1x1 convolutions) and global average pooling.

The last mlpconv block outputs one map per class and global average pooling turns each map into a score, so
there is no fully connected layer at all.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import layers

from ..validation import check_choice, check_probability
from .blocks import classifier_head, mlpconv_block, model_input
from .common import Step, check_common, scaled
from .registry import register_model


class MlpconvRow(NamedTuple):
    """One mlpconv block and the pooling after it.

    Attributes:
        filters: ``(spatial conv, 1x1, 1x1)`` widths; the last block's final width is replaced by num_classes.
        kernel, stride, padding: of the spatial convolution.
        pool: None, or ``(kind, size, stride, padding)`` with kind "max" or "avg" and padding "same" or
            "valid".
    """

    filters: tuple[int, int, int]
    kernel: int
    stride: int
    padding: str
    pool: tuple[str, int, int, str] | None


# CIFAR-10 network of Lin et al. (2013): three mlpconv layers, dropout between them, global average pooling.
# The widths are those of the authors' released configuration (966,986 parameters for 10 classes); its pools
# round up (32 -> 16 -> 8).
NIN_CIFAR_ROWS = (
    MlpconvRow((192, 160, 96), 5, 1, "same", ("max", 3, 2, "same")),  # 32x32 -> 16x16x96
    MlpconvRow((192, 192, 192), 5, 1, "same", ("avg", 3, 2, "same")),  # 16x16 -> 8x8x192
    MlpconvRow((192, 192, 10), 3, 1, "same", None),  # 8x8x10 -> global average
)

# ImageNet network (the authors' released model, also in d2l): AlexNet-like first layers, four mlpconv blocks.
NIN_IMAGENET_ROWS = (
    MlpconvRow((96, 96, 96), 11, 4, "valid", ("max", 3, 2, "valid")),  # 224 -> 54 -> 26
    MlpconvRow((256, 256, 256), 5, 1, "same", ("max", 3, 2, "valid")),  # 26 -> 12
    MlpconvRow((384, 384, 384), 3, 1, "same", ("max", 3, 2, "valid")),  # 12 -> 5
    MlpconvRow((1024, 1024, 1000), 3, 1, "same", None),  # 5x5x1000 -> global average
)

VARIANTS = {"cifar": (NIN_CIFAR_ROWS, (32, 32, 3)), "imagenet": (NIN_IMAGENET_ROWS, (224, 224, 3))}
_POOLS = {"max": layers.MaxPooling2D, "avg": layers.AveragePooling2D}


def downsampling_chain(rows) -> list[Step]:
    """The windows of a row table in order (each block's spatial convolution and its pool)."""
    chain = []
    for row in rows:
        chain.append(Step(row.kernel, row.stride, row.padding))
        if row.pool:
            _, size, stride, padding = row.pool
            chain.append(Step(size, stride, padding))
    return chain


@register_model
def nin(
    *,
    variant: str = "cifar",
    input_shape=None,
    num_classes: int | None = None,
    width_multiplier: float = 1.0,
    dropout: float = 0.5,
    classifier_activation="softmax",
) -> keras.Model:
    """Network in Network with global average pooling instead of fully connected layers.

    ``"cifar"`` (32x32x3): mlpconv 192-160-96 (5x5), max-pool 3/2 -> 16x16, dropout; mlpconv 192-192-192
    (5x5), average pool 3/2 -> 8x8, dropout; mlpconv 192-192-``num_classes`` (3x3); global average pool;
    softmax. ``"imagenet"`` (224x224x3): 96-96-96 (11x11/4), 256-256-256 (5x5), 384-384-384 (3x3) with
    3/2 max-pools and 1024-1024-``num_classes`` (3x3), dropout before the last block.
    The paper does not state its initialisation; the kit keeps Keras' default (Glorot uniform), which trains
    these shallow networks without trouble.

    Args:
        variant: ``"cifar"`` or ``"imagenet"``.
        input_shape: ``(h, w, c)``; default 32x32x3 or 224x224x3.
        num_classes: maps of the last 1x1 layer = classes; default 10 (cifar) or 1000 (imagenet).
        width_multiplier: scales every width except the class maps.
        dropout: rate of the dropout layers between blocks.
        classifier_activation: of the ``predictions`` layer, as in ``keras.applications``: ``"softmax"``,
            None (the pooled class maps are the output: logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``nin_cifar``/``nin_imagenet`` with layers ``mlpconv1_conv``,
        ``mlpconv1_mlp1``, ``mlpconv1_mlp2``, ``pool1``, ``dropout1``, ..., ``avg_pool``, ``predictions``
        (a softmax Activation: the model has no Dense layer).

    Raises:
        TypeError / ValueError: unknown variant, bad shared arguments, or an input below the minimum size.

    Reference: Lin, Chen and Yan, "Network In Network", ICLR 2014, Sections 3-4.
    """
    check_choice(variant, "variant", VARIANTS)
    rows, default_shape = VARIANTS[variant]
    if num_classes is None:
        num_classes = 10 if variant == "cifar" else 1000
    dropout = check_probability(dropout, "dropout")
    input_shape, num_classes, wm = check_common(
        default_shape if input_shape is None else input_shape, num_classes, width_multiplier,
        chain=downsampling_chain(rows), model_name=f"NiN ({variant})",
        classifier_activation=classifier_activation,
    )
    inputs = model_input(input_shape)
    x = inputs
    last = len(rows)
    for i, row in enumerate(rows, start=1):
        widths = [scaled(f, wm) for f in row.filters]
        if i == last:
            widths[-1] = num_classes
            if variant == "imagenet" and dropout:
                x = layers.Dropout(dropout, name=f"dropout{i - 1}")(x)
        x = mlpconv_block(x, widths, kernel_size=row.kernel, strides=row.stride, padding=row.padding,
                          name=f"mlpconv{i}")
        if row.pool:
            kind, size, stride, padding = row.pool
            x = _POOLS[kind](size, strides=stride, padding=padding, name=f"pool{i}")(x)
            if variant == "cifar" and dropout:
                x = layers.Dropout(dropout, name=f"dropout{i}")(x)
    # one map per class, averaged into one score per class: no Dense layer
    outputs = classifier_head(x, None, pool="avg", classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name=f"nin_{variant}")


register_model(nin, name="nin_imagenet", variant="imagenet")
