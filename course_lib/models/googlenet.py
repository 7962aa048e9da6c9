"""GoogLeNet (Inception v1), built from the rows of the paper's Table 1, with optional auxiliary heads."""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import layers

from ..validation import check_bool, check_probability
from .blocks import (
    InceptionRow,
    InceptionV3Filters,
    classifier_head,
    inception_module,
    inception_v3_module,
    model_input,
)
from .common import Step, check_common, scaled
from .layers import LocalResponseNormalization
from .registry import register_model

__all__ = [
    "AUX_AFTER", "AUX_POOL", "GOOGLENET_STEM", "GOOGLENET_TABLE", "GOOGLENET_STAGES", "InceptionRow",
    "InceptionV3Filters", "StemRow", "aux_loss_weights", "downsampling_chain", "googlenet",
    "inception_aux_head", "inception_module", "inception_v3_module",
]


class StemRow(NamedTuple):
    """One layer of GoogLeNet's stem (Table 1, the rows above inception 3a).

    Attributes:
        name: the layer's name.
        kind: ``"conv"`` (with ReLU), ``"max"`` (max-pool) or ``"lrn"`` (LocalResponseNormalization).
        filters: convolution width before ``width_multiplier`` (None otherwise).
        kernel, stride, padding: the window (unused for LRN).
    """

    name: str
    kind: str
    filters: int | None = None
    kernel: int = 1
    stride: int = 1
    padding: str = "same"


# Table 1 of Szegedy et al. (2015), the stem; every stride-2 step rounds up ("same").
GOOGLENET_STEM = (
    StemRow("conv1", "conv", 64, 7, 2),  # 112x112x64
    StemRow("pool1", "max", None, 3, 2),  # 56x56x64
    StemRow("lrn1", "lrn"),
    StemRow("conv2_reduce", "conv", 64, 1, 1),  # 56x56x64
    StemRow("conv2", "conv", 192, 3, 1),  # 56x56x192
    StemRow("lrn2", "lrn"),
    StemRow("pool2", "max", None, 3, 2),  # 28x28x192
)

# Table 1 of Szegedy et al. (2015): #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
GOOGLENET_TABLE: dict[str, InceptionRow] = {
    "3a": InceptionRow(64, 96, 128, 16, 32, 32),  # 28x28x256
    "3b": InceptionRow(128, 128, 192, 32, 96, 64),  # 28x28x480
    "4a": InceptionRow(192, 96, 208, 16, 48, 64),  # 14x14x512
    "4b": InceptionRow(160, 112, 224, 24, 64, 64),  # 14x14x512
    "4c": InceptionRow(128, 128, 256, 24, 64, 64),  # 14x14x512
    "4d": InceptionRow(112, 144, 288, 32, 64, 64),  # 14x14x528
    "4e": InceptionRow(256, 160, 320, 32, 128, 128),  # 14x14x832
    "5a": InceptionRow(256, 160, 320, 32, 128, 128),  # 7x7x832
    "5b": InceptionRow(384, 192, 384, 48, 128, 128),  # 7x7x1024
}

# Stages separated by max-pools (pool3 after 3b, pool4 after 4e), each ``STAGE_POOL``.
GOOGLENET_STAGES = (("3a", "3b"), ("4a", "4b", "4c", "4d", "4e"), ("5a", "5b"))
STAGE_POOL = Step(3, 2, "same")

# Where the auxiliary classifiers branch off, and the average pool that opens each (Section 5: 5x5/3).
AUX_AFTER = {"4a": "aux1", "4d": "aux2"}
AUX_POOL = Step(5, 3, "valid")


def downsampling_chain(*, aux_logits: bool) -> list[Step]:
    """The windows from the input to the deepest layer that can run out of pixels.

    Without auxiliary heads that is the whole network (all "same", so any input fits); with them it is the
    stem, the stage pools before the first ``AUX_AFTER`` row, and the heads' valid 5x5 average pool.
    """
    chain = [Step(r.kernel, r.stride, r.padding) for r in GOOGLENET_STEM if r.kind != "lrn"]
    for index, stage in enumerate(GOOGLENET_STAGES):
        if index > 0:
            chain.append(STAGE_POOL)
        if aux_logits and set(stage) & set(AUX_AFTER):
            return chain + [AUX_POOL]
    return chain


def inception_aux_head(
    x, num_classes: int, *, width_multiplier: float = 1.0, dropout: float = 0.7,
    classifier_activation="softmax", name: str
):
    """GoogLeNet's auxiliary classifier: avg-pool 5x5/3, 1x1 conv 128, fc 1024, dropout 0.7, softmax.

    Args:
        x: the inception output it reads, ``(batch, 14, 14, c)`` at 224x224 input.
        num_classes: width of the output layer.
        width_multiplier: scales the 128 filters and 1024 units.
        dropout: rate before the output layer.
        classifier_activation: of the output layer (``blocks.classifier_head``): ``"softmax"``, None
            (logits) or another Keras activation.
        name: ``"aux1"`` or ``"aux2"``: layers ``{name}_pool``, ``{name}_conv``, ``{name}_flatten``,
            ``{name}_fc``, ``{name}_dropout`` and the output layer ``{name}``.

    Returns:
        Tensor ``(batch, num_classes)`` of probabilities (logits with ``classifier_activation=None``).

    Reference: Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, Section 5.
    """
    x = layers.AveragePooling2D(AUX_POOL.kernel, strides=AUX_POOL.stride, padding=AUX_POOL.padding,
                                name=f"{name}_pool")(x)  # 4x4xc
    x = layers.Conv2D(scaled(128, width_multiplier), 1, activation="relu", name=f"{name}_conv")(x)  # 4x4x128
    x = layers.Flatten(name=f"{name}_flatten")(x)  # 2048
    x = layers.Dense(scaled(1024, width_multiplier), activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return classifier_head(x, num_classes, classifier_activation=classifier_activation, name=name)


@register_model
def googlenet(
    *,
    aux_logits: bool = False,
    input_shape=(224, 224, 3),
    num_classes: int = 1000,
    width_multiplier: float = 1.0,
    lrn: bool = True,
    dropout: float = 0.4,
    table: dict[str, InceptionRow] | None = None,
    kernel_initializer: str = "glorot_uniform",
    classifier_activation="softmax",
) -> keras.Model:
    """GoogLeNet: a stem, nine inception modules from Table 1, global average pooling, dropout, softmax.

    224x224x3 -> conv1 7x7/2 64 -> 112 -> pool1 3x3/2 -> 56 (LRN) -> conv2_reduce 1x1 64 -> conv2 3x3 192
    (LRN) -> pool2 -> 28 -> 3a (256), 3b (480) -> pool3 -> 14 -> 4a (512), 4b (512), 4c (512), 4d (528),
    4e (832) -> pool4 -> 7 -> 5a (832), 5b (1024) -> 7x7 average pool -> dropout 0.4 -> predictions.
    The final pool is a global average (identical to the paper's 7x7 one at 224x224, and valid for any size).
    The paper does not state how its weights were initialised; the kit keeps Keras' default (Glorot uniform,
    the "xavier" filler of the BVLC Caffe reproduction).

    Args:
        aux_logits: add the two auxiliary classifiers after 4a and 4d; the model then has three outputs,
            named ``predictions``, ``aux1`` and ``aux2`` (``course_lib.training.compile_model`` weights their
            losses 1, 0.3, 0.3; at test time use only ``predictions``).
        input_shape: ``(h, w, c)``; any size >= 1 without the auxiliary heads, >= 65 with them.
        num_classes: width of each output layer.
        width_multiplier: scales every filter and hidden unit count.
        lrn: keep the two LocalResponseNormalization layers of the stem (AlexNet's constants k=2, n=5,
            alpha=1e-4, beta=0.75: the GoogLeNet paper does not give its own).
        dropout: rate before the main classifier.
        table: replace ``GOOGLENET_TABLE`` (same keys) to experiment with other widths.
        kernel_initializer: of every convolution of the stem and the inception modules (a Keras initializer
            name); the default is Keras' own.
        classifier_activation: of ``predictions`` (and of ``aux1``, ``aux2``), as in ``keras.applications``:
            ``"softmax"``, None (the model outputs logits) or another Keras activation.

    Returns:
        A ``keras.Model`` named ``googlenet``: output ``(batch, num_classes)``, or a list of three such
        outputs with ``aux_logits=True``. Layers ``conv1``, ``pool1``, ``lrn1``, ``conv2_reduce``, ``conv2``,
        ``lrn2``, ``pool2``, ``inception3a`` (+ ``inception3a_1x1`` ...), ``pool3``, ..., ``avg_pool``,
        ``dropout``, ``predictions``.

    Raises:
        TypeError / ValueError: bad shared arguments, aux_logits, lrn or dropout, an input too small for the
            auxiliary heads, or a table without the keys 3a..5b.

    Reference: Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, Table 1, Figures 2-3, Section 5.
    """
    aux_logits = check_bool(aux_logits, "aux_logits")
    lrn = check_bool(lrn, "lrn")
    dropout = check_probability(dropout, "dropout")
    table = GOOGLENET_TABLE if table is None else table
    missing = sorted(set(GOOGLENET_TABLE) - set(table))
    if missing:
        raise ValueError(f"table must have rows {', '.join(GOOGLENET_TABLE)}; missing {', '.join(missing)}")
    input_shape, num_classes, wm = check_common(
        input_shape, num_classes, width_multiplier, chain=downsampling_chain(aux_logits=aux_logits),
        model_name="GoogLeNet" + (" with auxiliary classifiers" if aux_logits else ""),
        classifier_activation=classifier_activation,
    )
    inputs = model_input(input_shape)
    x = inputs
    for row in GOOGLENET_STEM:  # 224 -> 112 -> 56 -> 28
        if row.kind == "conv":
            x = layers.Conv2D(scaled(row.filters, wm), row.kernel, strides=row.stride, padding=row.padding,
                              activation="relu", kernel_initializer=kernel_initializer, name=row.name)(x)
        elif row.kind == "max":
            x = layers.MaxPooling2D(row.kernel, strides=row.stride, padding=row.padding, name=row.name)(x)
        elif lrn:
            x = LocalResponseNormalization(name=row.name)(x)
    aux_outputs = []
    for stage_index, stage in enumerate(GOOGLENET_STAGES):
        if stage_index > 0:  # pool3: 28 -> 14, pool4: 14 -> 7
            x = layers.MaxPooling2D(STAGE_POOL.kernel, strides=STAGE_POOL.stride, padding=STAGE_POOL.padding,
                                    name=f"pool{stage_index + 2}")(x)
        for key in stage:
            row = InceptionRow(*table[key]).scaled(wm)
            x = inception_module(x, row, kernel_initializer=kernel_initializer, name=f"inception{key}")
            if aux_logits and key in AUX_AFTER:
                head = inception_aux_head(x, num_classes, width_multiplier=wm,
                                          classifier_activation=classifier_activation, name=AUX_AFTER[key])
                aux_outputs.append(head)
    # 7x7x1024 -> 1024 -> dropout -> predictions
    outputs = classifier_head(x, num_classes, pool="avg", dropout=dropout,
                              classifier_activation=classifier_activation)
    if aux_logits:
        return keras.Model(inputs, [outputs, *aux_outputs], name="googlenet")
    return keras.Model(inputs, outputs, name="googlenet")


def aux_loss_weights(model: keras.Model, aux_weight: float = 0.3) -> dict[str, float]:
    """Loss weights for a model with auxiliary outputs: 1 for ``predictions``, ``aux_weight`` for ``aux*``.

    Args:
        model: a model whose outputs include ``predictions`` (e.g. ``googlenet(aux_logits=True)``).
        aux_weight: weight of each auxiliary loss (0.3 in the paper).

    Returns:
        ``{output name: weight}``, e.g. ``{"predictions": 1.0, "aux1": 0.3, "aux2": 0.3}``.
    """
    return {name: (1.0 if name == "predictions" else float(aux_weight)) for name in model.output_names}

