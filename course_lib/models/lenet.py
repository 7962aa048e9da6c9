"""LeNet-5: the 1998 network as published, its common simplification, and the modern 20/50/500 variant."""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
from keras import layers

from ..validation import check_choice
from .blocks import classifier_head, model_input
from .common import Step, check_common, scaled
from .layers import ConnectionTableConv2D, EuclideanRBF, Subsampling2D, scaled_tanh
from .registry import register_model

# Table I of LeCun et al. (1998): which S2 maps (0-5) feed each of the 16 C3 maps. Maps 0-5 read three
# neighbouring S2 maps, 6-11 four neighbouring maps, 12-14 four non-neighbouring ones, 15 all six.
# 18 + 24 + 12 + 6 = 60 connections, each a 5x5 kernel: 60 * 25 + 16 biases = 1,516 trainable parameters.
LENET5_C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

# The output layer's fixed codes: one 7x12 bitmap per digit, +1 ("X") and -1 ("."), flattened row by row into
# the 84 values F6 is pulled towards. The paper's own bitmaps (its Figure 3) are not reproduced here: these
# were drawn for the kit in the same spirit (a stylised digit on a 7-wide, 12-high grid).
LENET5_RBF_BITMAPS: dict[int, tuple[str, ...]] = {
    0: (".......", "..XXX..", ".X...X.", "X.....X", "X.....X", "X.....X",
        "X.....X", "X.....X", ".X...X.", "..XXX..", ".......", "......."),
    1: (".......", "...X...", "..XX...", ".X.X...", "...X...", "...X...",
        "...X...", "...X...", "...X...", ".XXXXX.", ".......", "......."),
    2: (".......", ".XXXX..", "X....X.", ".....X.", "....X..", "...X...",
        "..X....", ".X.....", "X......", "XXXXXXX", ".......", "......."),
    3: (".......", ".XXXXX.", "X.....X", "......X", "......X", "..XXXX.",
        "......X", "......X", "X.....X", ".XXXXX.", ".......", "......."),
    4: (".......", "....XX.", "...X.X.", "..X..X.", ".X...X.", "X....X.",
        "XXXXXXX", ".....X.", ".....X.", ".....X.", ".......", "......."),
    5: (".......", "XXXXXXX", "X......", "X......", "XXXXXX.", "......X",
        "......X", "......X", "X.....X", ".XXXXX.", ".......", "......."),
    6: (".......", "..XXXX.", ".X.....", "X......", "X.XXXX.", "XX....X",
        "X.....X", "X.....X", "X.....X", ".XXXXX.", ".......", "......."),
    7: (".......", "XXXXXXX", "......X", ".....X.", "....X..", "...X...",
        "...X...", "..X....", "..X....", "..X....", ".......", "......."),
    8: (".......", ".XXXXX.", "X.....X", "X.....X", ".XXXXX.", "X.....X",
        "X.....X", "X.....X", "X.....X", ".XXXXX.", ".......", "......."),
    9: (".......", ".XXXXX.", "X.....X", "X.....X", "X.....X", ".XXXXXX",
        "......X", "......X", ".....X.", ".XXXX..", ".......", "......."),
}


def rbf_codes() -> np.ndarray:
    """The output layer's fixed code vectors: ``(84, 10)`` float32 of +1/-1, column ``i`` is digit ``i``."""
    return np.stack([np.array([[1.0 if c == "X" else -1.0 for c in row] for row in LENET5_RBF_BITMAPS[d]],
                              dtype="float32").ravel() for d in range(10)], axis=1)



class LeNetRow(NamedTuple):
    """One layer of a LeNet-5 variant.

    Attributes:
        name: the layer's name (the paper's C1, S2, ... for the classic network).
        kind: ``"conv"``, ``"avg"`` or ``"max"`` (pooling), ``"sub"`` (the paper's trainable sub-sampling),
            or ``"dense"`` (the first one flattens).
        width: filters or units before ``width_multiplier`` (None for a pool).
        kernel, stride, padding: the window (convolutions and pools; unused for dense rows).
    """

    name: str
    kind: str
    width: int | None = None
    kernel: int = 1
    stride: int = 1
    padding: str = "valid"


# Figure 2 of the paper (32x32x1 input) and the EECS 498 variant (28x28x1). The builder makes one layer per
# row, and the rows' windows give the smallest input each variant accepts.
LENET5_ROWS: dict[str, tuple[LeNetRow, ...]] = {
    "published": (
        LeNetRow("c1", "conv", 6, 5),  # 28x28x6
        LeNetRow("s2", "sub", None, 2, 2),  # 14x14x6, 2 parameters per map
        LeNetRow("c3", "conv", 16, 5),  # 10x10x16, Table I
        LeNetRow("s4", "sub", None, 2, 2),  # 5x5x16
        LeNetRow("c5", "conv", 120, 5),  # 1x1x120
        LeNetRow("f6", "dense", 84),  # 84, then the fixed RBF output layer
    ),
    "classic": (
        LeNetRow("c1", "conv", 6, 5),  # 28x28x6
        LeNetRow("s2", "avg", None, 2, 2),  # 14x14x6
        LeNetRow("c3", "conv", 16, 5),  # 10x10x16
        LeNetRow("s4", "avg", None, 2, 2),  # 5x5x16
        LeNetRow("c5", "conv", 120, 5),  # 1x1x120
        LeNetRow("f6", "dense", 84),  # 84
    ),
    "modern": (
        LeNetRow("conv1", "conv", 20, 5, 1, "same"),  # 28x28x20
        LeNetRow("pool1", "max", None, 2, 2),  # 14x14x20
        LeNetRow("conv2", "conv", 50, 5, 1, "same"),  # 14x14x50
        LeNetRow("pool2", "max", None, 2, 2),  # 7x7x50
        LeNetRow("fc1", "dense", 500),  # flatten 2450 -> 500
    ),
}
VARIANTS = tuple(LENET5_ROWS)
DEFAULT_INPUT = {"published": (32, 32, 1), "classic": (32, 32, 1), "modern": (28, 28, 1)}
DEFAULT_ACTIVATION = {"published": scaled_tanh, "classic": "tanh", "modern": "relu"}
_POOLS = {"avg": layers.AveragePooling2D, "max": layers.MaxPooling2D}


def downsampling_chain(rows) -> list[Step]:
    """The windows of a LeNet row table (convolutions and pools), for the minimum input size."""
    return [Step(r.kernel, r.stride, r.padding) for r in rows if r.kind != "dense"]




@register_model
def lenet5(
    variant: str = "classic",
    *,
    input_shape=None,
    num_classes: int = 10,
    width_multiplier: float = 1.0,
    c3_table=None,
    activation=None,
    classifier_activation="softmax",
) -> keras.Model:
    """LeNet-5: the 1998 network as published, its common simplification, or the modern EECS 498 form.

    ``"published"`` (32x32x1 input), Section II.B of the paper: C1 6@5x5 -> 28x28x6 (156 parameters); S2 ->
    14x14x6, each map's 2x2 sum times a trainable coefficient plus a trainable bias (12); C3 16@5x5 with Table
    I's 60 connections -> 10x10x16 (1,516); S4 -> 5x5x16 (32); C5 120@5x5 -> 1x1x120 (48,120); F6 84 (10,164);
    the squashing function ``1.7159 tanh(2a/3)`` after every layer up to F6. Trainable parameters: 60,000. The
    output layer is ten Euclidean RBF units whose 84-value codes (7x12 bitmaps of +1/-1) are fixed, 840
    non-trainable parameters (``count_params()`` = 60,840). Where the kit departs from the paper, and why: the
    bitmaps are the kit's own +1/-1 drawings of the digits (``LENET5_RBF_BITMAPS``), not the paper's Figure 3;
    the penalties ``y_i`` are turned into probabilities ``softmax(-y)`` (layers ``rbf``, ``negate``,
    ``predictions``), so that training with cross-entropy minimises the paper's Eq. 9 without its constant
    ``j`` term; the convolution and F6 weights use Keras' default initialisation (the paper: uniform in
    ``+-2.4 / fan_in``, which the sub-sampling coefficients keep).

    ``"classic"`` (32x32x1): the simplification most re-creations use: S2/S4 plain average pools (no
    parameters), ordinary tanh, a ``num_classes``-way softmax dense output instead of the RBF units, and a
    fully connected C3 by default: 61,706 parameters (60,806 with ``c3_table="paper"``).

    ``"modern"`` (28x28x1): conv 20@5x5 same, ReLU, max-pool 2/2 -> 14x14x20, conv 50@5x5 same, ReLU,
    max-pool -> 7x7x50, flatten 2450, dense 500 ReLU, dense ``num_classes`` (1,256,080 parameters).

    Args:
        variant: ``"published"``, ``"classic"`` or ``"modern"``.
        input_shape: ``(h, w, c)``; default 32x32x1 (published, classic) or 28x28x1 (modern). The 1998
            networks need at least 32x32, the modern one 4x4.
        num_classes: width of the output layer (the published network has ten digit codes: 10 only).
        width_multiplier: scales every filter count and hidden width (a float > 0; 1 for published).
        c3_table: ``"full"`` connects every C3 map to all six S2 maps (classic's default); ``"paper"`` uses
            Table I of the paper (``LENET5_C3_TABLE``, a ``ConnectionTableConv2D``; published always does),
            or pass your own table (see ``ConnectionTableConv2D``). A table needs ``width_multiplier=1``.
        activation: override the hidden activation (default ``scaled_tanh`` for published, tanh for
            classic, relu for modern).
        classifier_activation: of the ``predictions`` layer, as in ``keras.applications``: ``"softmax"``,
            None (the model outputs logits; for published, the negated RBF penalties) or another Keras
            activation.

    Returns:
        A ``keras.Model`` named ``lenet5_published``, ``lenet5_classic`` or ``lenet5_modern``; output
        ``(batch, num_classes)`` softmax probabilities. Layers: published ``c1, s2, c3, s4, c5, flatten, f6,
        rbf, negate, predictions``; classic ``c1, s2, c3, s4, c5, flatten, f6, predictions``; modern
        ``conv1, pool1, conv2, pool2, flatten, fc1, predictions``.

    Raises:
        TypeError / ValueError: unknown variant or c3_table, bad input_shape / num_classes /
            width_multiplier, an input smaller than the minimum, a C3 table with the modern variant or
            width_multiplier != 1, or published with num_classes != 10, width_multiplier != 1 or a C3 table
            other than the paper's.

    Reference: LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document recognition",
    Proc. IEEE 86(11), 1998, Section II.B, Figure 2 and Table I.
    """
    check_choice(variant, "variant", VARIANTS)
    rows = LENET5_ROWS[variant]
    if input_shape is None:
        input_shape = DEFAULT_INPUT[variant]
    input_shape, num_classes, wm = check_common(
        input_shape, num_classes, width_multiplier, chain=downsampling_chain(rows),
        model_name=f"LeNet-5 ({variant})", classifier_activation=classifier_activation,
    )
    if isinstance(c3_table, str):
        check_choice(c3_table, "c3_table", ("full", "paper"))
    if variant == "published":
        if c3_table not in (None, "paper") or wm != 1.0 or num_classes != 10:
            raise ValueError(
                "variant 'published' is the paper's network: Table I's C3, width_multiplier 1.0 and the ten "
                f"digit codes of its output layer (num_classes 10), got c3_table={c3_table!r}, "
                f"width_multiplier={wm}, num_classes={num_classes}"
            )
        c3_table = "paper"
    elif c3_table is None:
        c3_table = "full"
    if c3_table != "full" and (variant == "modern" or wm != 1.0):
        raise ValueError(
            f"c3_table={c3_table!r} fixes the classic C3 at 6 -> 16 maps, so it needs variant 'classic' and "
            f"width_multiplier 1.0, got {variant!r} and {wm}"
        )
    act = activation or DEFAULT_ACTIVATION[variant]
    inputs = model_input(input_shape)
    x = inputs
    for row in rows:
        if row.kind == "conv" and row.name == "c3" and c3_table != "full":
            table = LENET5_C3_TABLE if c3_table == "paper" else c3_table
            x = ConnectionTableConv2D(row.width, row.kernel, table, activation=act, name=row.name)(x)
        elif row.kind == "conv":
            x = layers.Conv2D(scaled(row.width, wm), row.kernel, strides=row.stride, padding=row.padding,
                              activation=act, name=row.name)(x)
        elif row.kind == "sub":
            x = Subsampling2D(row.kernel, activation=act, name=row.name)(x)
        elif row.kind in _POOLS:
            x = _POOLS[row.kind](row.kernel, strides=row.stride, padding=row.padding, name=row.name)(x)
        else:
            if len(x.shape) > 2:
                x = layers.Flatten(name="flatten")(x)
            x = layers.Dense(scaled(row.width, wm), activation=act, name=row.name)(x)
    if variant == "published":
        penalties = EuclideanRBF(rbf_codes(), name="rbf")(x)  # y_i = |f6 - code_i|^2, small = class i
        scores = layers.Rescaling(-1.0, name="negate")(penalties)
        outputs = classifier_head(scores, None, classifier_activation=classifier_activation,
                                  softmax_layer=True)
    else:
        outputs = classifier_head(x, num_classes, classifier_activation=classifier_activation)
    return keras.Model(inputs, outputs, name=f"lenet5_{variant}")


register_model(lenet5, name="lenet5_published", variant="published")
register_model(lenet5, name="lenet5_modern", variant="modern")
