"""A small single-shot grid detector in Keras (YOLO v1's idea) and its loss.

The model's output is what :func:`course_lib.detection.decode_grid` reads and
:func:`course_lib.detection.grid_targets` makes for training: one ``[objectness, x, y, w, h, classes]`` vector
per cell of an S x S grid.

References: J. Redmon et al., *You Only Look Once: Unified, Real-Time Object Detection*, CVPR 2016;
J. Redmon and A. Farhadi, *YOLOv3: An Incremental Improvement*, arXiv:1804.02767 (2018).
"""

from __future__ import annotations

import numpy as np

from ..validation import check_float, check_int, check_positive_int

__all__ = ["grid_detector", "grid_loss"]


def grid_detector(*, input_shape=(64, 64, 3), grid_size: int = 8, num_classes: int = 4, filters: int = 16,
                  convs_per_block: int = 1, name: str = "grid_detector"):
    """A small single-shot grid detector (YOLO v1's idea): convolutions down to S x S, one vector per cell.

    The backbone halves the resolution with each block of 3x3 convolutions and a 2x2 max-pool until the map
    is S x S; a 3x3 convolution mixes the neighbouring cells, and a 1x1
    convolution then predicts, for every cell, ``[objectness logit, x, y, w, h, class logits]`` where x, y
    and w, h pass through a sigmoid (the centre inside the cell, the size as a fraction of the image).
    The model applies the activations itself (objectness and x, y, w, h through a sigmoid, classes through a
    softmax), so its output is what :func:`grid_loss` and :func:`decode_grid` take.

    Args:
        input_shape: (H, W, 3) with H = W = S * 2**k.
        grid_size: S.
        num_classes: C.
        filters: the first block's width (doubled at every block, at most 8x).
        convs_per_block: 3x3 convolutions before each pooling.
        name: the model's name.

    Returns:
        A ``keras.Model`` mapping (N, H, W, 3) images to (N, S, S, 5 + C).

    Reference: J. Redmon et al., You Only Look Once, CVPR 2016.
    """
    import keras
    from keras import layers

    h = check_int(input_shape[0], "input_shape[0]", minimum=1)
    s = check_positive_int(grid_size, "grid_size")
    c = check_positive_int(num_classes, "num_classes")
    width = check_positive_int(filters, "filters")
    convs = check_positive_int(convs_per_block, "convs_per_block")
    blocks = int(round(np.log2(h / s)))
    if h != input_shape[1] or s * 2 ** blocks != h:
        raise ValueError(f"input_shape must be square with side grid_size * 2**k, got {input_shape} and "
                         f"grid_size {s}")
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for b in range(blocks):
        f = width * 2 ** min(b, 3)
        for k in range(convs):
            x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"block{b + 1}_conv{k + 1}")(x)
        x = layers.MaxPooling2D(2, name=f"block{b + 1}_pool")(x)
    x = layers.Conv2D(width * 8, 3, padding="same", activation="relu", name="head_conv")(x)
    raw = layers.Conv2D(5 + c, 1, name="head_predictions")(x)
    box = layers.Activation("sigmoid", name="box")(raw[..., :5])
    classes = layers.Softmax(name="classes")(raw[..., 5:])
    outputs = layers.Concatenate(name="predictions")([box, classes])
    return keras.Model(inputs, outputs, name=name)


def grid_loss(lambda_coord: float = 5.0, lambda_noobj: float = 0.5):
    """A YOLO-style loss on (N, S, S, 5 + C) targets and predictions, as a Keras loss.

    Terms, summed over the cells and averaged over the images: in cells holding an object, the squared error
    of x, y and of sqrt(w), sqrt(h) (YOLO v1's Eq. 3, weighted ``lambda_coord``; the square roots make an
    error count more on a small box than on a large one) and the cross-entropy of the class probabilities;
    in every cell, the binary cross-entropy of the objectness, weighted ``lambda_noobj`` in empty cells since
    most cells are empty. YOLO v1 used squared errors for objectness and classes too; after a sigmoid, that
    error stops pushing once the sigmoid saturates, and in a short run the many empty cells drive every
    objectness there. Cross-entropies (as in YOLO v3) do not saturate.

    Reference: J. Redmon et al., You Only Look Once, CVPR 2016, Eq. (3); J. Redmon and A. Farhadi, YOLOv3:
    An Incremental Improvement, arXiv:1804.02767 (2018).
    """
    import keras
    from keras import ops

    lc = check_float(lambda_coord, "lambda_coord", minimum=0.0)
    ln = check_float(lambda_noobj, "lambda_noobj", minimum=0.0)

    def loss(y_true, y_pred):
        eps = keras.config.epsilon()  # keeps log and sqrt (whose gradient is infinite at 0) finite
        obj = y_true[..., 0]
        p_obj = ops.clip(y_pred[..., 0], eps, 1 - eps)
        xy = ops.sum(ops.square(y_true[..., 1:3] - y_pred[..., 1:3]), axis=-1)
        wh = ops.sum(ops.square(ops.sqrt(y_true[..., 3:5]) - ops.sqrt(y_pred[..., 3:5] + eps)), axis=-1)
        cls = -ops.sum(y_true[..., 5:] * ops.log(ops.clip(y_pred[..., 5:], eps, 1.0)), axis=-1)
        conf = -(obj * ops.log(p_obj) + ln * (1 - obj) * ops.log(1 - p_obj))
        per_cell = obj * (lc * (xy + wh) + cls) + conf
        return ops.sum(per_cell, axis=(1, 2))

    loss.__name__ = "yolo_loss"
    return loss
