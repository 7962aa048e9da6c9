"""LeNet-5: the 1998 network (tanh, average pooling, partial C3 table) and the modern 20/50/500 variant."""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import layers

from ..validation import check_choice
from .blocks import model_input
from .common import Step, check_common, scaled
from .layers import ConnectionTableConv2D
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



class LeNetRow(NamedTuple):
    """One layer of a LeNet-5 variant.

    Attributes:
        name: the layer's name (the paper's C1, S2, ... for the classic network).
        kind: ``"conv"``, ``"avg"`` or ``"max"`` (pooling), or ``"dense"`` (the first one flattens).
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
DEFAULT_INPUT = {"classic": (32, 32, 1), "modern": (28, 28, 1)}
DEFAULT_ACTIVATION = {"classic": "tanh", "modern": "relu"}
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
    c3_table="full",
    activation: str | None = None,
) -> keras.Model:
    """LeNet-5, in the 1998 form or in the modern form taught in EECS 498.

    ``"classic"`` (32x32x1 input): C1 6@5x5 -> 28x28x6, S2 2x2 average pool -> 14x14x6, C3 16@5x5 -> 10x10x16,
    S4 -> 5x5x16, C5 120@5x5 -> 1x1x120, F6 84, output ``num_classes``; tanh throughout. Simplifications of
    the paper, stated: S2/S4 are plain average pools (the paper gives each map a trainable coefficient and
    bias, 12 and 32 parameters), tanh is the ordinary one (the paper scales it, 1.7159 tanh(2a/3)), and the
    output is a softmax layer (the paper uses Euclidean RBF units). With these, the fully connected C3 gives
    61,706 parameters; with ``c3_table="paper"`` 60,806.

    ``"modern"`` (28x28x1): conv 20@5x5 same, ReLU, max-pool 2/2 -> 14x14x20, conv 50@5x5 same, ReLU,
    max-pool -> 7x7x50, flatten 2450, dense 500 ReLU, dense ``num_classes`` (1,256,080 parameters).

    Args:
        variant: ``"classic"`` or ``"modern"``.
        input_shape: ``(h, w, c)``; default 32x32x1 (classic) or 28x28x1 (modern). The classic net needs at
            least 32x32, the modern one 4x4.
        num_classes: width of the output layer.
        width_multiplier: scales every filter count and hidden width (a float > 0).
        c3_table: classic only. ``"full"`` connects every C3 map to all six S2 maps (what most re-creations
            do); ``"paper"`` uses Table I of the paper (``LENET5_C3_TABLE``, a ``ConnectionTableConv2D``), or
            pass your own table (see ``ConnectionTableConv2D``). A table needs ``width_multiplier=1``.
        activation: override the hidden activation (default tanh for classic, relu for modern).

    Returns:
        A ``keras.Model`` named ``lenet5_classic`` or ``lenet5_modern``; output ``(batch, num_classes)``
        softmax probabilities. Layers: classic ``c1, s2, c3, s4, c5, flatten, f6, predictions``; modern
        ``conv1, pool1, conv2, pool2, flatten, fc1, predictions``.

    Raises:
        TypeError / ValueError: unknown variant or c3_table, bad input_shape / num_classes /
            width_multiplier, an input smaller than the minimum, or a C3 table with the modern variant or
            width_multiplier != 1.

    Reference: LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document recognition",
    Proc. IEEE 86(11), 1998, Section II.B, Figure 2 and Table I.
    """
    check_choice(variant, "variant", VARIANTS)
    rows = LENET5_ROWS[variant]
    if input_shape is None:
        input_shape = DEFAULT_INPUT[variant]
    input_shape, num_classes, wm = check_common(
        input_shape, num_classes, width_multiplier, chain=downsampling_chain(rows),
        model_name=f"LeNet-5 ({variant})",
    )
    if isinstance(c3_table, str):
        check_choice(c3_table, "c3_table", ("full", "paper"))
    if c3_table != "full" and (variant != "classic" or wm != 1.0):
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
        elif row.kind in _POOLS:
            x = _POOLS[row.kind](row.kernel, strides=row.stride, padding=row.padding, name=row.name)(x)
        else:
            if len(x.shape) > 2:
                x = layers.Flatten(name="flatten")(x)
            x = layers.Dense(scaled(row.width, wm), activation=act, name=row.name)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"lenet5_{variant}")


register_model(lenet5, name="lenet5_modern", variant="modern")
