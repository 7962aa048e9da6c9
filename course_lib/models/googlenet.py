"""GoogLeNet (Inception v1), built from the rows of the paper's Table 1, with optional auxiliary heads."""

from __future__ import annotations

import keras
from keras import layers

from .blocks import InceptionRow, InceptionV3Filters, inception_module, inception_v3_module, model_input
from .common import check_common, check_rate, scaled
from .layers import LocalResponseNormalization

__all__ = [
    "GOOGLENET_TABLE", "GOOGLENET_STAGES", "InceptionRow", "InceptionV3Filters", "aux_loss_weights",
    "compile_googlenet", "googlenet", "inception_aux_head", "inception_module", "inception_v3_module",
]

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

# Stages separated by 3x3 stride-2 max-pools (pool3 after 3b, pool4 after 4e).
GOOGLENET_STAGES = (("3a", "3b"), ("4a", "4b", "4c", "4d", "4e"), ("5a", "5b"))

# Where the auxiliary classifiers branch off.
AUX_AFTER = {"4a": "aux1", "4d": "aux2"}

# Each stride-2 step rounds up ("same"); the auxiliary heads add a 5x5 stride-3 valid average pool on 4a.
_CHAIN = [(7, 2, "same"), (3, 2, "same"), (3, 2, "same"), (3, 2, "same")]
_AUX_CHAIN = _CHAIN + [(5, 3, 0)]


def inception_aux_head(
    x, num_classes: int, *, width_multiplier: float = 1.0, dropout: float = 0.7, name: str
):
    """GoogLeNet's auxiliary classifier: avg-pool 5x5/3, 1x1 conv 128, fc 1024, dropout 0.7, softmax.

    Args:
        x: the inception output it reads, ``(batch, 14, 14, c)`` at 224x224 input.
        num_classes: width of the softmax.
        width_multiplier: scales the 128 filters and 1024 units.
        dropout: rate before the softmax layer.
        name: ``"aux1"`` or ``"aux2"``: layers ``{name}_pool``, ``{name}_conv``, ``{name}_flatten``,
            ``{name}_fc``, ``{name}_dropout`` and the output layer ``{name}``.

    Returns:
        Tensor ``(batch, num_classes)`` of probabilities.

    Reference: Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, Section 5.
    """
    x = layers.AveragePooling2D(5, strides=3, name=f"{name}_pool")(x)  # 4x4xc
    x = layers.Conv2D(scaled(128, width_multiplier), 1, activation="relu", name=f"{name}_conv")(x)  # 4x4x128
    x = layers.Flatten(name=f"{name}_flatten")(x)  # 2048
    x = layers.Dense(scaled(1024, width_multiplier), activation="relu", name=f"{name}_fc")(x)
    x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return layers.Dense(num_classes, activation="softmax", name=name)(x)


def googlenet(
    *,
    aux_logits: bool = False,
    input_shape=(224, 224, 3),
    num_classes: int = 1000,
    width_multiplier: float = 1.0,
    lrn: bool = True,
    dropout: float = 0.4,
    table: dict[str, InceptionRow] | None = None,
) -> keras.Model:
    """GoogLeNet: a stem, nine inception modules from Table 1, global average pooling, dropout, softmax.

    224x224x3 -> conv1 7x7/2 64 -> 112 -> pool1 3x3/2 -> 56 (LRN) -> conv2_reduce 1x1 64 -> conv2 3x3 192
    (LRN) -> pool2 -> 28 -> 3a (256), 3b (480) -> pool3 -> 14 -> 4a (512), 4b (512), 4c (512), 4d (528),
    4e (832) -> pool4 -> 7 -> 5a (832), 5b (1024) -> 7x7 average pool -> dropout 0.4 -> predictions.
    The final pool is a global average (identical to the paper's 7x7 one at 224x224, and valid for any size).

    Args:
        aux_logits: add the two auxiliary classifiers after 4a and 4d; the model then has three outputs,
            named ``predictions``, ``aux1`` and ``aux2`` (train with ``compile_googlenet``, loss weights
            1, 0.3, 0.3; at test time use only ``predictions``).
        input_shape: ``(h, w, c)``; any size >= 1 without the auxiliary heads, >= 65 with them.
        num_classes: width of each softmax.
        width_multiplier: scales every filter and hidden unit count.
        lrn: keep the two LocalResponseNormalization layers of the stem (AlexNet's constants k=2, n=5,
            alpha=1e-4, beta=0.75: the GoogLeNet paper does not give its own).
        dropout: rate before the main classifier.
        table: replace ``GOOGLENET_TABLE`` (same keys) to experiment with other widths.

    Returns:
        A ``keras.Model`` named ``googlenet``: output ``(batch, num_classes)``, or a list of three such
        outputs with ``aux_logits=True``. Layers ``conv1``, ``pool1``, ``lrn1``, ``conv2_reduce``, ``conv2``,
        ``lrn2``, ``pool2``, ``inception3a`` (+ ``inception3a_1x1`` ...), ``pool3``, ..., ``avg_pool``,
        ``dropout``, ``predictions``.

    Raises:
        ValueError: bad shared arguments, dropout, an input too small for the auxiliary heads, or a table
            without the keys 3a..5b.

    Reference: Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, Table 1, Figures 2-3, Section 5.
    """
    if not isinstance(aux_logits, bool):
        raise TypeError(f"aux_logits must be True or False, got {aux_logits!r}")
    dropout = check_rate("dropout", dropout)
    table = GOOGLENET_TABLE if table is None else table
    missing = sorted(set(GOOGLENET_TABLE) - set(table))
    if missing:
        raise ValueError(f"table must have rows {', '.join(GOOGLENET_TABLE)}; missing {', '.join(missing)}")
    input_shape, num_classes, wm = check_common(
        input_shape, num_classes, width_multiplier, chain=_AUX_CHAIN if aux_logits else _CHAIN,
        model_name="GoogLeNet" + (" with auxiliary classifiers" if aux_logits else ""),
    )
    inputs = model_input(input_shape)
    x = layers.Conv2D(scaled(64, wm), 7, strides=2, padding="same", activation="relu", name="conv1")(inputs)
    # 112x112x64
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool1")(x)  # 56x56x64
    if lrn:
        x = LocalResponseNormalization(name="lrn1")(x)
    x = layers.Conv2D(scaled(64, wm), 1, activation="relu", name="conv2_reduce")(x)  # 56x56x64
    x = layers.Conv2D(scaled(192, wm), 3, padding="same", activation="relu", name="conv2")(x)  # 56x56x192
    if lrn:
        x = LocalResponseNormalization(name="lrn2")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="pool2")(x)  # 28x28x192
    aux_outputs = []
    for stage_index, stage in enumerate(GOOGLENET_STAGES):
        if stage_index > 0:  # pool3: 28 -> 14, pool4: 14 -> 7
            x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"pool{stage_index + 2}")(x)
        for key in stage:
            x = inception_module(x, InceptionRow(*table[key]).scaled(wm), name=f"inception{key}")
            if aux_logits and key in AUX_AFTER:
                head = inception_aux_head(x, num_classes, width_multiplier=wm, name=AUX_AFTER[key])
                aux_outputs.append(head)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)  # 1024
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
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


def compile_googlenet(model: keras.Model, *, optimizer="adam", aux_weight: float = 0.3,
                      loss="sparse_categorical_crossentropy", **compile_kwargs) -> keras.Model:
    """Compile a (possibly multi-output) GoogLeNet: the same loss on every output, weighted 1 / 0.3 / 0.3.

    The auxiliary losses only shape training: accuracy is reported for ``predictions`` alone. Fit with the
    same labels for every output (``course_lib.training.fit`` repeats them for you).

    Args:
        model: from ``googlenet(...)``.
        optimizer: anything ``keras.Model.compile`` accepts.
        aux_weight: weight of each auxiliary loss.
        loss: the loss for every output (integer labels by default).
        **compile_kwargs: passed to ``model.compile``.

    Returns:
        The model, compiled.

    Reference: Szegedy et al., CVPR 2015, Section 5 ("weighted by 0.3").
    """
    names = model.output_names
    compile_kwargs.setdefault("metrics", {"predictions": ["accuracy"]} if len(names) > 1 else ["accuracy"])
    if len(names) > 1:
        model.compile(optimizer=optimizer, loss={n: loss for n in names},
                      loss_weights=aux_loss_weights(model, aux_weight), **compile_kwargs)
    else:
        model.compile(optimizer=optimizer, loss=loss, **compile_kwargs)
    return model
