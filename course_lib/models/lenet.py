"""LeNet-5: the 1998 network (tanh, average pooling, partial C3 table) and the modern 20/50/500 variant."""

from __future__ import annotations

import keras
from keras import layers

from .blocks import model_input
from .common import check_choice, check_common, scaled
from .layers import ConnectionTableConv2D

# Table I of LeCun et al. (1998): which S2 maps (0-5) feed each of the 16 C3 maps. Maps 0-5 read three
# neighbouring S2 maps, 6-11 four neighbouring maps, 12-14 four non-neighbouring ones, 15 all six.
# 18 + 24 + 12 + 6 = 60 connections, each a 5x5 kernel: 60 * 25 + 16 biases = 1,516 trainable parameters.
LENET5_C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

VARIANTS = ("classic", "modern")
DEFAULT_INPUT = {"classic": (32, 32, 1), "modern": (28, 28, 1)}

# Downsampling chains (kernel, stride, padding), used to report the smallest input each variant accepts.
_CHAINS = {
    "classic": [(5, 1, 0), (2, 2, 0), (5, 1, 0), (2, 2, 0), (5, 1, 0)],
    "modern": [(5, 1, "same"), (2, 2, 0), (5, 1, "same"), (2, 2, 0)],
}


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
        ValueError: unknown variant or c3_table, bad input_shape / num_classes / width_multiplier, an input
            smaller than the minimum, or a C3 table with width_multiplier != 1.

    Reference: LeCun, Bottou, Bengio and Haffner, "Gradient-based learning applied to document recognition",
    Proc. IEEE 86(11), 1998, Section II.B, Figure 2 and Table I.
    """
    check_choice("variant", variant, VARIANTS)
    if input_shape is None:
        input_shape = DEFAULT_INPUT[variant]
    input_shape, num_classes, wm = check_common(
        input_shape, num_classes, width_multiplier, chain=_CHAINS[variant], model_name=f"LeNet-5 ({variant})"
    )
    if variant == "modern":
        act = activation or "relu"
        inputs = model_input(input_shape)
        x = layers.Conv2D(scaled(20, wm), 5, padding="same", activation=act, name="conv1")(inputs)  # 28x28x20
        x = layers.MaxPooling2D(2, strides=2, name="pool1")(x)  # 14x14x20
        x = layers.Conv2D(scaled(50, wm), 5, padding="same", activation=act, name="conv2")(x)  # 14x14x50
        x = layers.MaxPooling2D(2, strides=2, name="pool2")(x)  # 7x7x50
        x = layers.Flatten(name="flatten")(x)  # 2450
        x = layers.Dense(scaled(500, wm), activation=act, name="fc1")(x)  # 500
        outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
        return keras.Model(inputs, outputs, name="lenet5_modern")

    act = activation or "tanh"
    if isinstance(c3_table, str):
        check_choice("c3_table", c3_table, ("full", "paper"))
    if c3_table != "full" and wm != 1.0:
        raise ValueError(
            f"c3_table={c3_table!r} fixes C3 at 6 -> 16 maps, so width_multiplier must be 1.0, got {wm}"
        )
    inputs = model_input(input_shape)
    x = layers.Conv2D(scaled(6, wm), 5, activation=act, name="c1")(inputs)  # 28x28x6
    x = layers.AveragePooling2D(2, strides=2, name="s2")(x)  # 14x14x6
    if c3_table == "full":
        x = layers.Conv2D(scaled(16, wm), 5, activation=act, name="c3")(x)  # 10x10x16
    else:
        table = LENET5_C3_TABLE if c3_table == "paper" else c3_table
        x = ConnectionTableConv2D(16, 5, table, activation=act, name="c3")(x)  # 10x10x16, 1,516 params
    x = layers.AveragePooling2D(2, strides=2, name="s4")(x)  # 5x5x16
    x = layers.Conv2D(scaled(120, wm), 5, activation=act, name="c5")(x)  # 1x1x120
    x = layers.Flatten(name="flatten")(x)  # 120
    x = layers.Dense(scaled(84, wm), activation=act, name="f6")(x)  # 84
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="lenet5_classic")
