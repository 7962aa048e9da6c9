"""AlexNet (2012), CaffeNet and ZFNet (2013): five convolutions, overlapping max-pools, response
normalisation, and a 4096-4096 classifier.

All are built by one generic builder, ``alexnet_family``, from a table of convolution rows and the order of
normalisation and pooling; ``alexnet``, ``caffenet`` and ``zfnet`` only choose those.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import layers

from ..validation import check_bool, check_choice, check_int, check_probability
from .blocks import classifier_head, model_input
from .common import Step, check_common, scaled
from .layers import LocalResponseNormalization
from .registry import register_model


class ConvRow(NamedTuple):
    """One convolutional layer of an AlexNet-style network, and what follows it.

    Attributes:
        filters: number of kernels.
        kernel: kernel side.
        stride: convolution stride.
        padding: zeros on each side (an int).
        grouped: split into ``groups`` towers as in the two-GPU original (each sees half the input maps).
        pool: None, or the padding of the overlapping max-pool after it (``POOL``: 3x3 stride 2), "valid" or
            "same".
        lrn: a LocalResponseNormalization after this layer's ReLU (before or after the pool: see ``ORDERS``).
    """

    filters: int
    kernel: int
    stride: int
    padding: int
    grouped: bool = False
    pool: str | None = None
    lrn: bool = False


# Krizhevsky et al. (2012), Figure 2, with the well-known 227x227 input that makes 11x11/4 give 55x55.
ALEXNET_ROWS = (
    ConvRow(96, 11, 4, 0, grouped=False, pool="valid", lrn=True),  # 55x55x96 -> 27x27x96
    ConvRow(256, 5, 1, 2, grouped=True, pool="valid", lrn=True),  # 27x27x256 -> 13x13x256
    ConvRow(384, 3, 1, 1, grouped=False),  # 13x13x384 (reads both towers)
    ConvRow(384, 3, 1, 1, grouped=True),  # 13x13x384
    ConvRow(256, 3, 1, 1, grouped=True, pool="valid"),  # 13x13x256 -> 6x6x256
)

# Zeiler and Fergus (2013), Figure 3: conv3-5 keep AlexNet's 384/384/256. The figure's 110 -> 55 and
# 26 -> 13 pools round up ("same").
ZFNET_ROWS = (
    ConvRow(96, 7, 2, 1, pool="same", lrn=True),  # 110x110x96 -> 55x55x96
    ConvRow(256, 5, 2, 0, pool="same", lrn=True),  # 26x26x256 -> 13x13x256
    ConvRow(384, 3, 1, 1),  # 13x13x384
    ConvRow(384, 3, 1, 1),  # 13x13x384
    ConvRow(256, 3, 1, 1, pool="valid"),  # 13x13x256 -> 6x6x256
)

# The larger model of their Table 2, "(b)": layers 3, 4 and 5 with 512, 1024 and 512 maps (one member of the
# ensemble; the CS231n slides show this one as "ZFNet").
ZFNET_WIDE_ROWS = ZFNET_ROWS[:2] + (
    ConvRow(512, 3, 1, 1),  # 13x13x512
    ConvRow(1024, 3, 1, 1),  # 13x13x1024
    ConvRow(512, 3, 1, 1, pool="valid"),  # 13x13x512 -> 6x6x512
)

# A 32x32 version (CIFAR-10): 5x5 stride-1 first layer and pools that round up, 32 -> 16 -> 8 -> 4; the rest
# of the network (widths, LRN, grouping, classifier) is unchanged.
ALEXNET_CIFAR_ROWS = (
    ConvRow(96, 5, 1, 2, pool="same", lrn=True),  # 32x32x96 -> 16x16x96
    ConvRow(256, 5, 1, 2, grouped=True, pool="same", lrn=True),  # 16x16x256 -> 8x8x256
    ConvRow(384, 3, 1, 1),  # 8x8x384
    ConvRow(384, 3, 1, 1, grouped=True),  # 8x8x384
    ConvRow(256, 3, 1, 1, grouped=True, pool="same"),  # 8x8x256 -> 4x4x256
)

STEMS = {"imagenet": ALEXNET_ROWS, "cifar": ALEXNET_CIFAR_ROWS}

# Section 3.4 of the AlexNet paper: overlapping pooling, z x z windows at stride s with z = 3, s = 2.
POOL_SIZE, POOL_STRIDE = 3, 2

# Where the normalisation sits relative to the pool. AlexNet, Section 3.5: "Response-normalization layers
# follow the first and second convolutional layers. Max-pooling layers ... follow both response-normalization
# layers": conv -> ReLU -> LRN -> pool. The Caffe reference model (CaffeNet) and ZFNet (Figure 3: "pooled ...
# and contrast normalized") pool first: conv -> ReLU -> pool -> LRN.
ORDERS = ("paper", "caffenet")


def downsampling_chain(rows) -> list[Step]:
    """The windows of a row table in order (each convolution and the pool after it): the minimum input."""
    chain = []
    for row in rows:
        chain.append(Step(row.kernel, row.stride, row.padding))
        if row.pool:
            chain.append(Step(POOL_SIZE, POOL_STRIDE, row.pool))
    return chain


def _width(n: int, wm: float, groups: int) -> int:
    # With towers, every width must split evenly between them.
    if groups == 1:
        return scaled(n, wm)
    return groups * max(1, round(n * wm / groups))


def alexnet_family(
    rows,
    *,
    input_shape,
    num_classes: int,
    groups: int = 1,
    lrn: bool = True,
    dropout: float = 0.5,
    width_multiplier: float = 1.0,
    fc_units: int = 4096,
    order: str = "paper",
    name: str = "alexnet",
    classifier_activation="softmax",
) -> keras.Model:
    """Generic builder: convolution rows (``ConvRow``), then ``fc1``, ``fc2`` (ReLU + dropout) and a softmax.

    Args:
        rows: a sequence of ``ConvRow``.
        input_shape: ``(h, w, c)``.
        num_classes: width of the output layer (``predictions``).
        groups: 1 (one tower) or 2 (the paper's two GPUs: rows marked ``grouped`` use ``Conv2D(groups=2)``,
            so each half of the kernels sees only its half of the input maps).
        lrn: keep the LocalResponseNormalization layers the rows ask for.
        dropout: rate after ``fc1`` and ``fc2``.
        width_multiplier: scales every filter count and ``fc_units``.
        fc_units: width of ``fc1`` and ``fc2`` before scaling.
        order: ``"paper"`` (LRN after the ReLU, before the pool: AlexNet Section 3.5) or ``"caffenet"``
            (pool, then LRN: CaffeNet and ZFNet).
        name: the model's name.
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` with layers ``conv1``..``conv5``, ``pool1``, ``pool2``, ``pool5``, ``lrn1``,
        ``lrn2``, ``flatten``, ``fc1``, ``dropout1``, ``fc2``, ``dropout2``, ``predictions``.

    Raises:
        TypeError / ValueError: bad groups, lrn, dropout or shared arguments, or an input smaller than the
            rows' windows allow.
    """
    groups = check_int(groups, "groups", minimum=1, maximum=2)
    lrn = check_bool(lrn, "lrn")
    dropout = check_probability(dropout, "dropout")
    order = check_choice(order, "order", ORDERS)
    input_shape, num_classes, wm = check_common(
        input_shape, num_classes, width_multiplier, chain=downsampling_chain(rows), model_name=name,
        classifier_activation=classifier_activation,
    )
    inputs = model_input(input_shape)
    x = inputs
    for i, row in enumerate(rows, start=1):
        if row.padding and not (row.stride == 1 and 2 * row.padding == row.kernel - 1):
            x = layers.ZeroPadding2D(row.padding, name=f"conv{i}_pad")(x)
            padding = "valid"
        else:  # stride 1 with (k - 1) / 2 zeros per side is exactly Keras' "same"
            padding = "same" if row.padding else "valid"
        x = layers.Conv2D(
            _width(row.filters, wm, groups), row.kernel, strides=row.stride, padding=padding,
            groups=groups if row.grouped else 1, activation="relu", name=f"conv{i}",
        )(x)
        normalise = row.lrn and lrn
        if normalise and order == "paper":
            x = LocalResponseNormalization(name=f"lrn{i}")(x)  # on the full-size map, before pooling
        if row.pool:
            x = layers.MaxPooling2D(POOL_SIZE, strides=POOL_STRIDE, padding=row.pool, name=f"pool{i}")(x)
        if normalise and order == "caffenet":
            x = LocalResponseNormalization(name=f"lrn{i}")(x)
    units = scaled(fc_units, wm)
    outputs = classifier_head(x, num_classes, pool="flatten", hidden=(units, units), dropout=dropout,
                              classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name=name)


@register_model
def alexnet(
    *,
    input_shape=None,
    num_classes: int = 1000,
    groups: int = 1,
    lrn: bool = True,
    dropout: float = 0.5,
    width_multiplier: float = 1.0,
    stem: str = "imagenet",
    fc_units: int = 4096,
    order: str = "paper",
    classifier_activation="softmax",
) -> keras.Model:
    """AlexNet: 227x227x3 -> 55 -> 27 -> 13 -> 6 spatially, then 4096, 4096 and ``num_classes`` units.

    conv1 96@11x11/4 (valid) -> 55x55x96, LRN, max-pool 3/2 -> 27; conv2 256@5x5 pad 2 -> 27x27x256, LRN,
    pool -> 13; conv3 384, conv4 384, conv5 256 @3x3 pad 1 -> 13x13; pool -> 6x6x256; fc1 4096, fc2 4096
    (dropout 0.5 after each), predictions. One tower has 62,378,344 parameters; ``groups=2`` restores the
    two-GPU split of conv2, conv4 and conv5 (60,965,224, the paper's "60 million").

    Where the kit departs from the paper, and why: the input is 227x227 (the paper says 224 in its text,
    Sections 3.5 and 4.1, and in Figure 2, but an 11x11 window at stride 4 does not tile 224 into 55
    positions; 227 does, as later re-implementations use); one tower by default (``groups=1``: one device
    holds the whole network today); the weights use Keras' initialisation (the paper: Gaussian with
    standard deviation 0.01 and some biases 1). ``order="caffenet"`` (or the registered ``caffenet``) moves
    each LRN after its pool, as the Caffe reference model does.

    ``stem="cifar"`` gives a version for 32x32 images (default input 32x32x3): conv1 becomes 96@5x5 stride 1
    and the pools round up, so the maps go 32 -> 16 -> 8 -> 4 and the classifier sees 4x4x256. Combine it
    with ``width_multiplier`` (0.25 gives 24..96 filters and 1024-unit dense layers) for a CPU-sized model.

    Args:
        input_shape: ``(h, w, c)``; default 227x227x3 (``"imagenet"``), 32x32x3 (``"cifar"``). The ImageNet
            stem needs at least 67x67.
        num_classes: width of the output layer (``predictions``).
        groups: 1 (single tower, default) or 2 (two towers via ``Conv2D(groups=2)``).
        lrn: keep the two LocalResponseNormalization layers (k=2, n=5, alpha=1e-4, beta=0.75).
        dropout: rate after fc1 and fc2.
        width_multiplier: scales all filters and the dense widths.
        stem: ``"imagenet"`` or ``"cifar"``.
        fc_units: width of fc1 and fc2 before scaling.
        order: ``"paper"`` (conv, ReLU, LRN, pool: Section 3.5) or ``"caffenet"`` (conv, ReLU, pool, LRN).
        classifier_activation: of ``predictions``: ``"softmax"``, None (logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``alexnet`` (``alexnet_cifar``; ``caffenet``/``caffenet_cifar`` with
        ``order="caffenet"``), output ``(batch, num_classes)`` softmax.

    Raises:
        TypeError / ValueError: bad groups / stem / dropout / shared arguments, or an input below the minimum
            size.

    Reference: Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional Neural
    Networks", NIPS 2012, Section 3 and Figure 2.
    """
    check_choice(stem, "stem", STEMS)
    if input_shape is None:
        input_shape = (227, 227, 3) if stem == "imagenet" else (32, 32, 3)
    base = "alexnet" if check_choice(order, "order", ORDERS) == "paper" else "caffenet"
    return alexnet_family(
        STEMS[stem], input_shape=input_shape, num_classes=num_classes, groups=groups, lrn=lrn,
        dropout=dropout, width_multiplier=width_multiplier, fc_units=fc_units, order=order,
        name=base if stem == "imagenet" else f"{base}_{stem}", classifier_activation=classifier_activation,
    )


register_model(alexnet, name="alexnet_cifar", stem="cifar")
register_model(alexnet, name="caffenet", order="caffenet")


@register_model
def zfnet(
    *,
    input_shape=(224, 224, 3),
    num_classes: int = 1000,
    lrn: bool = True,
    dropout: float = 0.5,
    width_multiplier: float = 1.0,
    fc_units: int = 4096,
    wide: bool = False,
    classifier_activation="softmax",
) -> keras.Model:
    """ZFNet, Figure 3 of the paper: AlexNet with a 7x7 stride-2 first layer and strided conv2.

    224x224x3 -> conv1 96@7x7/2 (pad 1) 110x110 -> pool 55 -> LRN -> conv2 256@5x5/2 26 -> pool 13 -> LRN
    -> conv3 384, conv4 384, conv5 256 @3x3 -> pool 6x6x256 -> fc1 4096 -> fc2 4096 -> predictions. Smaller
    first-layer filters and stride keep more detail in the first maps, which the paper's visualisations
    motivated. Normalisation follows the pool, as the figure's caption orders it (pool, then contrast
    normalisation). ``wide=True`` gives the larger model of Table 2, conv3-5 with 512/1024/512 maps (the
    version the CS231n slides show; one member of the ensemble that won ILSVRC 2013, not a network that won
    alone).

    Where the kit departs from the paper, and why: one zero of padding on each side of conv1 and pools that
    round up, the choices that reproduce the figure's 110 -> 55 and 26 -> 13 (the paper does not say how it
    pads); the "contrast normalization" is the kit's LocalResponseNormalization with AlexNet's constants
    (the paper gives none).

    Args:
        input_shape: ``(h, w, c)``, default 224x224x3 (at least 53x53).
        num_classes, lrn, dropout, width_multiplier, fc_units, classifier_activation: as for ``alexnet``.
        wide: conv3-5 with 512/1024/512 maps instead of 384/384/256.

    Returns:
        A ``keras.Model`` named ``zfnet`` (``zfnet_wide``).

    Reference: Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014
    (arXiv:1311.2901, 2013), Figure 3 and Table 2.
    """
    wide = check_bool(wide, "wide")
    return alexnet_family(
        ZFNET_WIDE_ROWS if wide else ZFNET_ROWS, input_shape=input_shape, num_classes=num_classes, lrn=lrn,
        dropout=dropout, width_multiplier=width_multiplier, fc_units=fc_units, order="caffenet",
        name="zfnet_wide" if wide else "zfnet", classifier_activation=classifier_activation,
    )
