"""Inception-v3: batch-normalised Inception with factorised convolutions and grid-reduction modules.

"Rethinking the Inception Architecture" (Szegedy et al. 2016) keeps GoogLeNet's parallel branches and makes
them cheaper: every convolution is followed by batch normalisation; a 5x5 is replaced by two stacked 3x3s
(Figure 5, same 5x5 window, 18/25 of the weights); an n x n by a 1 x n then an n x 1 (Figure 6, 2n/n^2);
on the 8x8 grid the 1x3 and 3x1 run side by side to widen the output (Figure 7); and the grid is halved by
a module whose strided convolution and pooling branches run in parallel (Figure 10), so that neither a pool
before the expansion (a representational bottleneck) nor an expansion before the pool (3x the cost) is paid.

The paper calls the network of its Table 1 "Inception-v2" and the same network trained with RMSProp, label
smoothing, a factorised 7x7 stem and a batch-normalised auxiliary classifier "Inception-v3". The builder
follows the released model (TF-slim, which ``keras.applications.InceptionV3`` copies) layer for layer, so the
parameter count is the same (23,851,784). Where the released model differs from the paper's Table 1: its stem
ends 1x1 80 -> 3x3 192 -> max-pool (Table 1: three 3x3 convolutions), its 35x35 modules keep a 5x5 branch
beside the double 3x3 one, and it has four 17x17 modules (Table 1: five). BatchNorm has no gamma
(``scale=False``) and epsilon 1e-3, as in the reference code.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import layers

from ..validation import check_bool, check_probability
from .blocks import classifier_head, conv_bn, model_input
from .common import Step, check_common, scaled
from .registry import register_model

__all__ = [
    "INCEPTION_V3_MODULES", "INCEPTION_V3_STEM", "InceptionARow", "InceptionBRow", "InceptionCRow",
    "ReductionARow", "ReductionBRow", "inception_a_block", "inception_b_block", "inception_c_block",
    "inception_v3", "inception_v3_aux_head", "reduction_a_block", "reduction_b_block",
]

BN_EPSILON_V3 = 1e-3  # the reference code's (and keras.applications') value


class InceptionARow(NamedTuple):
    """35x35 module (Figure 5, as released): 1x1; 1x1 -> 5x5; 1x1 -> 3x3 -> 3x3; avg-pool -> 1x1."""

    n1x1: int
    n5x5_reduce: int
    n5x5: int
    dbl_reduce: int
    dbl: int
    pool_proj: int


class ReductionARow(NamedTuple):
    """35 -> 17 grid reduction (Figure 10): 3x3/2; 1x1 -> 3x3 -> 3x3/2; max-pool 3x3/2."""

    n3x3: int
    dbl_reduce: int
    dbl: int


class InceptionBRow(NamedTuple):
    """17x17 module (Figure 6, n = 7): 1x1; 1x1 -> 1x7 -> 7x1; 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7; pool -> 1x1.

    ``n7x7_reduce`` is also the width inside the factorised branches; they end at ``n7x7``.
    """

    n1x1: int
    n7x7_reduce: int
    n7x7: int
    pool_proj: int


class ReductionBRow(NamedTuple):
    """17 -> 8 grid reduction: 1x1 -> 3x3/2; 1x1 -> 1x7 -> 7x1 -> 3x3/2; max-pool 3x3/2."""

    n3x3_reduce: int
    n3x3: int
    n7x7x3: int


class InceptionCRow(NamedTuple):
    """8x8 module (Figure 7): 1x1; 1x1 -> [1x3, 3x1]; 1x1 -> 3x3 -> [1x3, 3x1]; avg-pool -> 1x1."""

    n1x1: int
    n3x3: int
    dbl_reduce: int
    dbl: int
    pool_proj: int


# The stem: (name, filters, kernel, stride, padding); filters None is a 3x3/2 max-pool. 299 -> 35.
INCEPTION_V3_STEM = (
    ("conv1", 32, 3, 2, "valid"),  # 149x149x32
    ("conv2", 32, 3, 1, "valid"),  # 147x147x32
    ("conv3", 64, 3, 1, "same"),  # 147x147x64
    ("pool1", None, 3, 2, "valid"),  # 73x73x64
    ("conv4", 80, 1, 1, "valid"),  # 73x73x80
    ("conv5", 192, 3, 1, "valid"),  # 71x71x192
    ("pool2", None, 3, 2, "valid"),  # 35x35x192
)

# mixed0 .. mixed10 of the released model, with the output each gives at 299x299.
INCEPTION_V3_MODULES: dict[str, NamedTuple] = {
    "mixed0": InceptionARow(64, 48, 64, 64, 96, 32),  # 35x35x256
    "mixed1": InceptionARow(64, 48, 64, 64, 96, 64),  # 35x35x288
    "mixed2": InceptionARow(64, 48, 64, 64, 96, 64),  # 35x35x288
    "mixed3": ReductionARow(384, 64, 96),  # 17x17x768 (384 + 96 + 288 pooled)
    "mixed4": InceptionBRow(192, 128, 192, 192),  # 17x17x768
    "mixed5": InceptionBRow(192, 160, 192, 192),  # 17x17x768
    "mixed6": InceptionBRow(192, 160, 192, 192),  # 17x17x768
    "mixed7": InceptionBRow(192, 192, 192, 192),  # 17x17x768
    "mixed8": ReductionBRow(192, 320, 192),  # 8x8x1280 (320 + 192 + 768 pooled)
    "mixed9": InceptionCRow(320, 384, 448, 384, 192),  # 8x8x2048
    "mixed10": InceptionCRow(320, 384, 448, 384, 192),  # 8x8x2048
}
AUX_AFTER = "mixed7"  # the auxiliary classifier reads the last 17x17 output


def _cba(x, filters, kernel, name, *, strides=1, padding="same"):
    return conv_bn(x, filters, kernel, strides=strides, padding=padding, bn_scale=False,
                   bn_epsilon=BN_EPSILON_V3, name=name)


def _avg_pool_proj(x, filters, name):
    p = layers.AveragePooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    return _cba(p, filters, 1, f"{name}_pool_proj")


def inception_a_block(x, row: InceptionARow, *, name: str):
    """The 35x35 Inception module of the released Inception-v3 (the paper's Figure 5, plus a 5x5 branch).

    Args:
        x: tensor ``(batch, 35, 35, c)``.
        row: an ``InceptionARow``.
        name: prefix (``mixed0``); the concatenation is the layer ``name``.

    Returns:
        Tensor ``(batch, h, w, n1x1 + n5x5 + dbl + pool_proj)``.

    Reference: Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016, Fig. 5.
    """
    b1 = _cba(x, row.n1x1, 1, f"{name}_1x1")
    b2 = _cba(_cba(x, row.n5x5_reduce, 1, f"{name}_5x5_reduce"), row.n5x5, 5, f"{name}_5x5")
    b3 = _cba(x, row.dbl_reduce, 1, f"{name}_dbl_reduce")
    b3 = _cba(_cba(b3, row.dbl, 3, f"{name}_dbl1"), row.dbl, 3, f"{name}_dbl2")  # two 3x3 = one 5x5 window
    return layers.Concatenate(name=name)([b1, b2, b3, _avg_pool_proj(x, row.pool_proj, name)])


def reduction_a_block(x, row: ReductionARow, *, name: str):
    """Grid reduction 35 -> 17: a strided 3x3 branch, a strided double-3x3 branch and a max-pool in parallel.

    Args:
        x: tensor ``(batch, h, w, c)``.
        row: a ``ReductionARow``.
        name: prefix (``mixed3``).

    Returns:
        Tensor ``(batch, (h - 3) // 2 + 1, ..., n3x3 + dbl + c)``.

    Reference: Szegedy et al., CVPR 2016, Figure 10 and Section 7.
    """
    b1 = _cba(x, row.n3x3, 3, f"{name}_3x3", strides=2, padding="valid")
    b2 = _cba(_cba(x, row.dbl_reduce, 1, f"{name}_dbl_reduce"), row.dbl, 3, f"{name}_dbl1")
    b2 = _cba(b2, row.dbl, 3, f"{name}_dbl2", strides=2, padding="valid")
    b3 = layers.MaxPooling2D(3, strides=2, name=f"{name}_pool")(x)
    return layers.Concatenate(name=name)([b1, b2, b3])


def inception_b_block(x, row: InceptionBRow, *, name: str):
    """The 17x17 module with 7x7 convolutions factorised into 1x7 and 7x1 (Figure 6, n = 7).

    Args:
        x: tensor ``(batch, 17, 17, c)``.
        row: an ``InceptionBRow``.
        name: prefix (``mixed4``).

    Returns:
        Tensor ``(batch, h, w, n1x1 + 2 * n7x7 + pool_proj)``.

    Reference: Szegedy et al., CVPR 2016, Figure 6.
    """
    mid = row.n7x7_reduce
    b1 = _cba(x, row.n1x1, 1, f"{name}_1x1")
    b2 = _cba(x, mid, 1, f"{name}_7x7_reduce")
    b2 = _cba(_cba(b2, mid, (1, 7), f"{name}_1x7"), row.n7x7, (7, 1), f"{name}_7x1")
    b3 = _cba(x, mid, 1, f"{name}_dbl_reduce")
    for i, (kernel, width) in enumerate([((7, 1), mid), ((1, 7), mid), ((7, 1), mid), ((1, 7), row.n7x7)], 1):
        b3 = _cba(b3, width, kernel, f"{name}_dbl{i}")
    return layers.Concatenate(name=name)([b1, b2, b3, _avg_pool_proj(x, row.pool_proj, name)])


def reduction_b_block(x, row: ReductionBRow, *, name: str):
    """Grid reduction 17 -> 8: 1x1 -> 3x3/2; 1x1 -> 1x7 -> 7x1 -> 3x3/2; max-pool 3x3/2; concatenated.

    Args:
        x: tensor ``(batch, h, w, c)``.
        row: a ``ReductionBRow``.
        name: prefix (``mixed8``).

    Returns:
        Tensor ``(batch, (h - 3) // 2 + 1, ..., n3x3 + n7x7x3 + c)``.

    Reference: Szegedy et al., CVPR 2016, Figure 10 (as released).
    """
    b1 = _cba(x, row.n3x3_reduce, 1, f"{name}_3x3_reduce")
    b1 = _cba(b1, row.n3x3, 3, f"{name}_3x3", strides=2, padding="valid")
    b2 = _cba(x, row.n7x7x3, 1, f"{name}_7x7x3_reduce")
    b2 = _cba(_cba(b2, row.n7x7x3, (1, 7), f"{name}_1x7"), row.n7x7x3, (7, 1), f"{name}_7x1")
    b2 = _cba(b2, row.n7x7x3, 3, f"{name}_7x7x3", strides=2, padding="valid")
    b3 = layers.MaxPooling2D(3, strides=2, name=f"{name}_pool")(x)
    return layers.Concatenate(name=name)([b1, b2, b3])


def inception_c_block(x, row: InceptionCRow, *, name: str):
    """The 8x8 module whose 1x3 and 3x1 convolutions run side by side (Figure 7: an expanded filter bank).

    Args:
        x: tensor ``(batch, 8, 8, c)``.
        row: an ``InceptionCRow``.
        name: prefix (``mixed9``).

    Returns:
        Tensor ``(batch, h, w, n1x1 + 2 * n3x3 + 2 * dbl + pool_proj)``.

    Reference: Szegedy et al., CVPR 2016, Figure 7.
    """

    def split(t, width, prefix):
        a = _cba(t, width, (1, 3), f"{prefix}_1x3")
        b = _cba(t, width, (3, 1), f"{prefix}_3x1")
        return layers.Concatenate(name=f"{prefix}_concat")([a, b])

    b1 = _cba(x, row.n1x1, 1, f"{name}_1x1")
    b2 = split(_cba(x, row.n3x3, 1, f"{name}_3x3_reduce"), row.n3x3, f"{name}_3x3")
    b3 = _cba(_cba(x, row.dbl_reduce, 1, f"{name}_dbl_reduce"), row.dbl, 3, f"{name}_dbl1")
    b3 = split(b3, row.dbl, f"{name}_dbl2")
    return layers.Concatenate(name=name)([b1, b2, b3, _avg_pool_proj(x, row.pool_proj, name)])


def inception_v3_aux_head(x, num_classes: int, *, width_multiplier: float = 1.0,
                          classifier_activation="softmax", name: str = "aux"):
    """The batch-normalised auxiliary classifier on the 17x17 grid (what makes v2 into v3 in Table 3).

    avg-pool 5x5/3 -> 5x5 -> 1x1 conv 128 (BN) -> 5x5 conv 768 (BN, valid) -> 1x1 -> softmax.

    Args:
        x: the 17x17 output of ``mixed7``.
        num_classes: width of the output layer.
        width_multiplier: scales 128 and 768.
        classifier_activation: of the output layer (``blocks.classifier_head``): ``"softmax"``, None
            (logits) or another Keras activation.
        name: prefix and the output layer's name.

    Returns:
        Tensor ``(batch, num_classes)``.

    Reference: Szegedy et al., CVPR 2016, Figure 8 and Section 4.
    """
    x = layers.AveragePooling2D(5, strides=3, name=f"{name}_pool")(x)  # 5x5
    x = _cba(x, scaled(128, width_multiplier), 1, f"{name}_conv1")
    x = _cba(x, scaled(768, width_multiplier), x.shape[1], f"{name}_conv2", padding="valid")  # 1x1
    x = layers.Flatten(name=f"{name}_flatten")(x)
    return classifier_head(x, num_classes, classifier_activation=classifier_activation, name=name)


def downsampling_chain(*, aux_logits: bool = False) -> list[Step]:
    """The valid and strided windows from the input to the last grid (or to the auxiliary head)."""
    chain = [Step(k, s, p) for _, _, k, s, p in INCEPTION_V3_STEM]
    chain.append(Step(3, 2, "valid"))  # mixed3
    if aux_logits:
        return chain + [Step(5, 3, "valid")]
    return chain + [Step(3, 2, "valid")]  # mixed8


_BLOCKS = {InceptionARow: inception_a_block, ReductionARow: reduction_a_block,
           InceptionBRow: inception_b_block, ReductionBRow: reduction_b_block,
           InceptionCRow: inception_c_block}


@register_model
def inception_v3(
    *,
    aux_logits: bool = False,
    input_shape=(299, 299, 3),
    num_classes: int = 1000,
    width_multiplier: float = 1.0,
    dropout: float = 0.0,
    classifier_activation="softmax",
) -> keras.Model:
    """Inception-v3 as released: stem, 3 x Inception-A, reduction, 4 x Inception-B, reduction, 2 x Inc.-C.

    299x299x3 -> stem -> 35x35x192 -> mixed0-2 (35x35x288) -> mixed3 (17x17x768) -> mixed4-7 -> mixed8
    (8x8x1280) -> mixed9-10 (8x8x2048) -> global average pool -> predictions. Every convolution is
    conv (no bias) -> BN (no gamma) -> ReLU. With the defaults, ``count_params()`` equals
    ``keras.applications.InceptionV3(weights=None)``: 23,851,784.

    Args:
        aux_logits: add the auxiliary classifier after ``mixed7``; outputs ``predictions`` and ``aux``.
        input_shape: ``(h, w, c)``, at least 75x75 (the valid stem and reductions), 107 with the aux head.
        num_classes: width of the output layer (``predictions``).
        width_multiplier: scales every convolution width.
        dropout: before the final layer (the keras.applications model has none).
        classifier_activation: of ``predictions`` (and ``aux``), as in ``keras.applications``: ``"softmax"``,
            None (the model outputs logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``inception_v3``; layers ``conv1_conv`` ... ``mixed10``, ``avg_pool``,
        ``predictions`` (each module's branches are ``mixed4_1x7_conv`` and so on).

    Raises:
        TypeError / ValueError: bad shared arguments, aux_logits or dropout, or an input below the minimum.

    Reference: Szegedy, Vanhoucke, Ioffe, Shlens and Wojna, "Rethinking the Inception Architecture for
    Computer Vision", CVPR 2016, Table 1 and Figures 5-7, 10.
    """
    aux_logits = check_bool(aux_logits, "aux_logits")
    dropout = check_probability(dropout, "dropout")
    input_shape, num_classes, wm = check_common(
        input_shape, num_classes, width_multiplier, chain=downsampling_chain(aux_logits=aux_logits),
        model_name="Inception-v3" + (" with its auxiliary classifier" if aux_logits else ""),
        classifier_activation=classifier_activation,
    )
    inputs = model_input(input_shape)
    x = inputs
    for name, filters, kernel, stride, padding in INCEPTION_V3_STEM:  # 299 -> 35
        if filters is None:
            x = layers.MaxPooling2D(kernel, strides=stride, padding=padding, name=name)(x)
        else:
            x = _cba(x, scaled(filters, wm), kernel, name, strides=stride, padding=padding)
    aux = None
    for name, row in INCEPTION_V3_MODULES.items():
        x = _BLOCKS[type(row)](x, type(row)(*(scaled(n, wm) for n in row)), name=name)
        if aux_logits and name == AUX_AFTER:
            aux = inception_v3_aux_head(x, num_classes, width_multiplier=wm,
                                        classifier_activation=classifier_activation)
    outputs = classifier_head(x, num_classes, pool="avg", dropout=dropout,
                              classifier_activation=classifier_activation)
    return keras.Model(inputs, [outputs, aux] if aux_logits else outputs, name="inception_v3")
