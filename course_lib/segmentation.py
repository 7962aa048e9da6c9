"""Semantic segmentation: per-pixel scores (IoU, Dice, pixel accuracy) and two Keras segmenters.

A segmentation is an integer class map: ``(N, H, W)`` (or ``(H, W)``) of labels in ``[0, C)``, class 0 being
the background in :mod:`course_lib.scenes`. Predictions can also be given as per-pixel scores ``(..., C)``:
they are turned into labels by ``argmax`` first.

Every score comes from one ``C x C`` confusion matrix (rows: true class, columns: predicted class), counted by
:func:`course_lib.metrics.confusion_matrix` (re-exported here) as ``keras.metrics.MeanIoU`` counts it: for
class c, ``TP = M[c, c]``, ``FP`` = the rest of column c, ``FN`` = the rest of row c, and

    IoU_c = TP / (TP + FP + FN)        Dice_c = 2 TP / (2 TP + FP + FN)        accuracy = trace(M) / sum(M)

A class that appears in neither the truth nor the prediction has no IoU or Dice (NaN) and is left out of the
means, as Keras does.

Builders: :func:`fcn` (an encoder and one learned upsampling back to full resolution, no skips: FCN-32s's
idea) and :func:`unet` (the same encoder, a decoder that upsamples step by step and concatenates the encoder's
map of the same resolution at each step). :func:`show_masks`, which paints class maps over images, is drawn by
:mod:`course_lib.plotting` and re-exported here (loaded on first use, so this module stays NumPy-only).

References: J. Long, E. Shelhamer and T. Darrell, *Fully Convolutional Networks for Semantic Segmentation*,
CVPR 2015; O. Ronneberger, P. Fischer and T. Brox, *U-Net: Convolutional Networks for Biomedical Image
Segmentation*, MICCAI 2015.
"""

from __future__ import annotations

import numpy as np

from .lazy import lazy_exports
from .metrics import confusion_matrix
from .validation import check_int, check_positive_int

# Drawn by course_lib.plotting; imported on first use so that the scores stay NumPy-only.
_PLOTTING = ("show_masks",)

__all__ = ["confusion_matrix", "per_class_iou", "mean_iou", "dice", "mean_dice", "pixel_accuracy", "fcn",
           "unet", *_PLOTTING]

__getattr__, __dir__ = lazy_exports(__name__, "course_lib.plotting", _PLOTTING)


def _counts(y_true, y_pred, num_classes: int) -> np.ndarray:
    """The confusion matrix every score is read from; a segmentation has at least two classes."""
    return confusion_matrix(y_true, y_pred, check_int(num_classes, "num_classes", minimum=2))


def _ratio(num, den):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def per_class_iou(y_true, y_pred, num_classes: int) -> np.ndarray:
    """IoU of each class, TP / (TP + FP + FN); NaN for a class in neither map. Shape (C,)."""
    m = _counts(y_true, y_pred, num_classes).astype(np.float64)
    tp = np.diag(m)
    return _ratio(tp, m.sum(0) + m.sum(1) - tp)


def mean_iou(y_true, y_pred, num_classes: int) -> float:
    """Mean of :func:`per_class_iou` over the classes present in either map (``keras.metrics.MeanIoU``).

    Args:
        y_true, y_pred, num_classes: as for :func:`course_lib.metrics.confusion_matrix` (C >= 2).

    Returns:
        A float in [0, 1] (NaN only for empty maps).
    """
    ious = per_class_iou(y_true, y_pred, num_classes)
    return float(np.nanmean(ious)) if np.isfinite(ious).any() else float("nan")


def dice(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Dice coefficient (F1 score) of each class, 2 TP / (2 TP + FP + FN); NaN for absent classes. (C,)."""
    m = _counts(y_true, y_pred, num_classes).astype(np.float64)
    tp = np.diag(m)
    return _ratio(2 * tp, m.sum(0) + m.sum(1))


def mean_dice(y_true, y_pred, num_classes: int) -> float:
    """Mean of :func:`dice` over the classes present in either map."""
    d = dice(y_true, y_pred, num_classes)
    return float(np.nanmean(d)) if np.isfinite(d).any() else float("nan")


def pixel_accuracy(y_true, y_pred, num_classes: int) -> float:
    """Fraction of pixels whose predicted class is the true one."""
    m = _counts(y_true, y_pred, num_classes)
    total = m.sum()
    return float(np.trace(m) / total) if total else float("nan")


# --------------------------------------------------------------------------------------------- models


def _conv_block(x, filters, name):
    from keras import layers

    x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_conv1")(x)
    return layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"{name}_conv2")(x)


def _encoder(x, filters, depth):
    from keras import layers

    skips = []
    for d in range(depth):
        x = _conv_block(x, filters * 2 ** d, f"enc{d + 1}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"enc{d + 1}_pool")(x)
    x = _conv_block(x, filters * 2 ** depth, "bottleneck")
    return x, skips


def _check_builder(input_shape, num_classes, filters, depth):
    h, w = (check_positive_int(v, f"input_shape[{i}]") for i, v in enumerate(input_shape[:2]))
    c = check_int(num_classes, "num_classes", minimum=2)
    f = check_positive_int(filters, "filters")
    d = check_positive_int(depth, "depth")
    if h % 2 ** d or w % 2 ** d:
        raise ValueError(f"input_shape must have sides divisible by 2**depth = {2 ** d}, got {input_shape}")
    return c, f, d


def fcn(*, input_shape=(64, 64, 3), num_classes: int = 5, filters: int = 16, depth: int = 3,
        name: str = "fcn"):
    """A fully convolutional segmenter without skips: encode down by 2**depth, upsample back in one step.

    The encoder is ``depth`` conv-conv-pool blocks and a bottleneck block; a 1x1 convolution scores each class
    at the coarse resolution, and one transposed convolution (kernel 2 * 2**depth, stride 2**depth, as
    FCN-32s) brings the scores back to the input's size. The upsampling sees only C class scores per
    2**depth x 2**depth block, so where in its block an edge lies reaches the output only as far as those few
    scores can carry it (the convolutions' overlapping windows may encode some of it; C numbers cannot hold
    much). Long et al. fix FCN-32s's final upsampling to bilinear; here it is learned.

    Args:
        input_shape: (H, W, channels), H and W divisible by 2**depth.
        num_classes: C, background included.
        filters: width of the first block (doubled at each).
        depth: pooling steps.
        name: the model's name.

    Returns:
        A ``keras.Model`` mapping images to (N, H, W, C) class probabilities (softmax).

    Reference: J. Long, E. Shelhamer and T. Darrell, Fully Convolutional Networks for Semantic Segmentation,
    CVPR 2015.
    """
    import keras
    from keras import layers

    c, f, d = _check_builder(input_shape, num_classes, filters, depth)
    inputs = keras.Input(input_shape, name="image")
    x, _ = _encoder(inputs, f, d)
    x = layers.Conv2D(c, 1, name="score")(x)
    x = layers.Conv2DTranspose(c, 2 * 2 ** d, strides=2 ** d, padding="same", name="upsample")(x)
    outputs = layers.Softmax(name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


def unet(*, input_shape=(64, 64, 3), num_classes: int = 5, filters: int = 16, depth: int = 3,
         name: str = "unet"):
    """A small U-Net: the FCN's encoder, then a decoder that doubles the resolution ``depth`` times.

    Each decoder step is a 2x2 transposed convolution with stride 2, a concatenation with the encoder's
    feature map of the same resolution (the skip connection: the detail from before pooling), and a
    conv-conv block. A 1x1 convolution then scores each class at full resolution.

    Args:
        input_shape, num_classes, filters, depth, name: as for :func:`fcn`.

    Returns:
        A ``keras.Model`` mapping images to (N, H, W, C) class probabilities (softmax).

    Reference: O. Ronneberger, P. Fischer and T. Brox, U-Net, MICCAI 2015 (with "same" padding, so that no
    cropping is needed).
    """
    import keras
    from keras import layers

    c, f, d = _check_builder(input_shape, num_classes, filters, depth)
    inputs = keras.Input(input_shape, name="image")
    x, skips = _encoder(inputs, f, d)
    for step in reversed(range(d)):
        x = layers.Conv2DTranspose(f * 2 ** step, 2, strides=2, name=f"dec{step + 1}_up")(x)
        x = layers.Concatenate(name=f"dec{step + 1}_skip")([x, skips[step]])
        x = _conv_block(x, f * 2 ** step, f"dec{step + 1}")
    x = layers.Conv2D(c, 1, name="score")(x)
    outputs = layers.Softmax(name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)
