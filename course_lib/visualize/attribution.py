"""Which pixels a class decision rests on: gradient saliency, Grad-CAM and occlusion sensitivity.

Saliency and Grad-CAM differentiate the pre-softmax class score (:func:`course_lib.visualize.class_scores`);
occlusion measures the drop of the class probability, as Zeiler and Fergus plot it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from .. import keras_adapter, validation
from ._inputs import as_batch, check_model, images_and_batch
from .gradients import value_and_gradient
from .layers import conv_layer_names, logits_head, output_of, spatial_layer, submodel

__all__ = ["saliency_map", "grad_cam", "occlusion_sensitivity"]


def _pick_class(scores: np.ndarray, class_index: Any, name: str = "class_index") -> int:
    """The class to explain for one image: the argmax of its scores (None) or a checked index."""
    if class_index is None:
        return int(np.argmax(scores))
    return validation.check_int(class_index, name, minimum=0, maximum=scores.shape[-1] - 1)


def _pick_classes(num_classes: int, count: int, class_index: Any) -> np.ndarray | None:
    """The classes to explain, checked: None (each image's predicted class, picked where the scores are
    computed), or one int per image (one int given for all is repeated)."""
    if class_index is None:
        return None
    if np.ndim(class_index) == 0:
        chosen = [validation.check_int(class_index, "class_index", minimum=0, maximum=num_classes - 1)]
        return np.array(chosen * count, dtype=np.int64)
    chosen = list(class_index)
    if len(chosen) != count:
        raise ValueError(f"class_index must give one class per image ({count}), got {len(chosen)}")
    picked = [validation.check_int(c, f"class_index[{i}]", minimum=0, maximum=num_classes - 1)
              for i, c in enumerate(chosen)]
    return np.array(picked, dtype=np.int64)


def _class_scores_of(logits: Any, classes: np.ndarray | None) -> Any:
    """``(N, 1)`` backend tensor: each image's score for its class (its argmax when ``classes`` is None).

    The argmax is taken here, with ``keras.ops``, rather than in NumPy beforehand: under ``jax.grad`` the
    logits are tracers that cannot become NumPy, and picking here saves a second forward pass. Images do not
    interact, so the gradient of the sum of these scores is each image's own gradient.
    """
    index = ops.argmax(logits, axis=-1) if classes is None else ops.convert_to_tensor(classes)
    return ops.take_along_axis(logits, ops.expand_dims(ops.cast(index, "int32"), -1), axis=1)


def _num_classes(model: keras.Model) -> int:
    return int(model.outputs[0].shape[-1])


def saliency_map(model: keras.Model, image: Any, class_index: Any = None) -> np.ndarray:
    """Gradient saliency: how strongly each pixel can change the class score.

    Computes ``|d score_c / d x|`` for the pre-softmax score of class ``c`` and keeps, at each pixel, the
    largest magnitude over the colour channels. A batch is handled in one forward and backward pass.

    Args:
        model: a classifier with one input and one output.
        image: one (H, W, C) image, or a batch (N, H, W, C).
        class_index: the class to explain: None for the predicted class, one int for every image, or one
            int per image.

    Returns:
        (H, W) float32 map for one image, (N, H, W) for a batch; non-negative, in score units per
        pixel-value unit (not normalised).

    Raises:
        TypeError: model is not a Keras model, a non-int class index, or a non-numeric image.
        ValueError: bad image shape or a class index out of range.

    Reference: Simonyan, Vedaldi and Zisserman, "Deep Inside Convolutional Networks: Visualising Image
        Classification Models and Saliency Maps", ICLR workshop 2014.
    """
    check_model(model)
    batch, single = images_and_batch(model, image)
    classes = _pick_classes(_num_classes(model), len(batch), class_index)
    head, to_logits, _ = logits_head(model)
    sub = submodel(model, [head])

    def class_scores_of(x):  # (N, H, W, C) -> (N, 1)
        return _class_scores_of(to_logits(sub(x, training=False)), classes)

    _, grad = value_and_gradient(class_scores_of, batch)
    maps = np.abs(ops.convert_to_numpy(grad)).max(axis=-1).astype(np.float32)
    return maps[0] if single else maps


def grad_cam(
    model: keras.Model,
    image: Any,
    layer_name: str | None = None,
    class_index: Any = None,
    *,
    upsample: bool = True,
) -> np.ndarray:
    """Grad-CAM: where in the image the evidence for a class sits, at the resolution of a conv layer.

    With ``A^k`` the feature maps of the layer and ``y^c`` the pre-softmax class score, each map gets the
    weight ``alpha_k = mean_ij dy^c / dA^k_ij`` and the map is ``ReLU(sum_k alpha_k A^k)``. For a network
    that ends conv -> global average pooling -> dense, this equals the class activation map (CAM) of Zhou et
    al. 2016, ``ReLU(sum_k w_kc A^k)`` up to the constant factor ``1 / (H' W')``.

    Args:
        model: a classifier with one input and one output.
        image: one (H, W, C) image, or a batch (N, H, W, C) (one forward and backward pass for all).
        layer_name: a layer with a (batch, H', W', C') output; default the last convolution layer. In
            networks with separate BatchNorm/ReLU layers (ResNet) the block output after the ReLU (e.g.
            ``conv5_block3_out``) is the usual choice.
        class_index: None for the predicted class, one int for every image, or one int per image.
        upsample: resize the (H', W') map bilinearly to the image size.

    Returns:
        (H, W) float32 map for one image, (N, H, W) for a batch ((H', W') sizes without upsampling), each
        map scaled to [0, 1] by its own maximum; all zeros when no location has positive evidence.

    Raises:
        TypeError: model is not a Keras model, layer_name not a str, a non-int class index, upsample not a
            bool, or a non-numeric image.
        ValueError: unknown / non-spatial layer, a model without convolutions, bad image or class index.

    Reference: Selvaraju, Cogswell, Das, Vedantam, Parikh and Batra, "Grad-CAM: Visual Explanations from
        Deep Networks via Gradient-based Localization", ICCV 2017.
    """
    check_model(model)
    upsample = validation.check_bool(upsample, "upsample")
    if layer_name is None:
        names = conv_layer_names(model)
        if not names:
            raise ValueError(f"model {model.name!r} has no convolution layer; pass layer_name")
        layer_name = names[-1]
    layer = spatial_layer(model, layer_name)
    batch, single = images_and_batch(model, image)
    classes = _pick_classes(_num_classes(model), len(batch), class_index)
    head, to_logits, _ = logits_head(model)
    if not _depends_on(head, layer):
        raise ValueError(f"the class score does not depend on layer {layer_name!r}")
    # The network split at the layer: its maps A from the image, then the scores from the image and A (the
    # image still feeds the paths that bypass the layer, such as ResNet shortcuts). dy/dA is then the
    # gradient of an ordinary function of A, which every backend computes (JAX cannot differentiate with
    # respect to an intermediate tensor of one forward pass, as GradientTape can).
    x = ops.convert_to_tensor(batch)
    maps = submodel(model, [output_of(layer)])(x, training=False)  # (N, H', W', C')
    rest = keras.Model([model.inputs[0], output_of(layer)], head)

    def class_scores_of(a):  # (N, H', W', C') -> (N, 1)
        return _class_scores_of(to_logits(rest([x, a], training=False)), classes)

    _, grads = value_and_gradient(class_scores_of, maps)
    weights = ops.mean(grads, axis=[1, 2])  # (N, C')
    cam = ops.relu(ops.sum(maps * weights[:, None, None, :], axis=-1))  # (N, H', W')
    if upsample:
        cam = ops.image.resize(cam[..., None], tuple(batch.shape[1:3]), interpolation="bilinear")[..., 0]
    cam = ops.convert_to_numpy(cam).astype(np.float32)
    peak = cam.max(axis=(1, 2), keepdims=True)
    cam = np.where(peak > 0, cam / np.where(peak > 0, peak, 1.0), 0.0).astype(np.float32)
    return cam[0] if single else cam


def _depends_on(tensor: Any, layer: Any) -> bool:
    """Whether the symbolic ``tensor`` is computed from ``layer``'s output (the layer is its ancestor)."""
    seen: set[int] = set()
    pending = [keras_adapter.producing_operation(tensor)]
    while pending:
        operation = pending.pop()
        if operation is layer:
            return True
        if id(operation) in seen:
            continue
        seen.add(id(operation))
        for node in keras_adapter.inbound_nodes(operation):
            pending.extend(keras_adapter.producing_operation(t) for t in node.input_tensors)
    return False


def _probabilities(model: keras.Model, x: np.ndarray, batch_size: int) -> np.ndarray:
    _, _, activated = logits_head(model)  # a model that outputs logits gets their softmax
    out = []
    for lo in range(0, len(x), batch_size):
        p = model(x[lo: lo + batch_size], training=False)
        out.append(ops.convert_to_numpy(p if activated else ops.softmax(p, axis=-1)))
    return np.concatenate(out)


def _fill_value(fill: Any, x: np.ndarray) -> np.ndarray:
    """The occluder's colour: one value per channel, or one value broadcast over the channels."""
    channels = x.shape[-1]
    if isinstance(fill, str):
        validation.check_choice(fill, "fill", ("mean",))
        return x.reshape(-1, channels).mean(axis=0)
    value = validation.check_array(fill, "fill", ndim=(0, 1)).astype(np.float32).reshape(-1)
    if value.size not in (1, channels):
        raise validation.value_error("fill", f"one number or {channels} numbers (one per channel)", fill)
    return value


def occlusion_sensitivity(
    model: keras.Model,
    image: Any,
    *,
    patch: int = 8,
    stride: int = 4,
    class_index: int | None = None,
    fill: float | str | Sequence[float] = 0.5,
    batch_size: int = 128,
) -> np.ndarray:
    """Occlusion map: how much the class probability falls when a square of the image is hidden.

    A ``patch`` x ``patch`` square of value ``fill`` is placed with its top-left corner at
    ``(r * stride, c * stride)`` for every position that fits inside the image; all occluded copies are
    classified in batches, and the map holds ``p_c(image) - p_c(occluded image)``: positive where hiding the
    region removes evidence for the class, negative where it removes evidence against it. Probabilities are
    the model's output when it ends with an activation (a softmax), else the softmax of its output (a model
    built with ``classifier_activation=None``).

    Args:
        model: a classifier with one input and one output.
        image: (H, W, C) image (or (1, H, W, C)).
        patch: side of the occluding square, in pixels (at most min(H, W)).
        stride: step between neighbouring squares.
        class_index: the class to track; default the class predicted for the intact image.
        fill: the occluder's value: a number, one number per channel, or "mean" (the image's mean colour).
        batch_size: occluded images per forward pass.

    Returns:
        (R, C) float32 map with ``R = (H - patch) // stride + 1`` and ``C`` likewise; entry ``(r, c)`` belongs
        to the square covering rows ``r*stride .. r*stride+patch-1`` and the matching columns.

    Raises:
        TypeError: model is not a Keras model, a non-int patch, stride, batch_size or class index, a fill of
            the wrong type, or a non-numeric image.
        ValueError: patch, stride or batch_size below 1, a patch larger than the image, a fill of the wrong
            length or an unknown fill name, a bad image shape or a class index out of range.

    Reference: Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014,
        Section 4.2.
    """
    check_model(model)
    x = as_batch(model, image, "image", single=True)[0]
    h, w, _ = x.shape
    patch = validation.check_int(patch, "patch", minimum=1, maximum=min(h, w))
    stride = validation.check_positive_int(stride, "stride")
    batch_size = validation.check_positive_int(batch_size, "batch_size")
    value = _fill_value(fill, x)
    base = _probabilities(model, x[None], 1)[0]
    k = _pick_class(base, class_index)
    # The squares' corners are the positions of a valid window of size patch at this stride.
    rows = list(range(0, h - patch + 1, stride))
    cols = list(range(0, w - patch + 1, stride))
    corners = [(r, q) for r in rows for q in cols]
    drops = np.empty(len(corners), dtype=np.float32)
    for lo in range(0, len(corners), batch_size):
        chunk = corners[lo: lo + batch_size]
        batch = np.repeat(x[None], len(chunk), axis=0)
        for i, (r, q) in enumerate(chunk):
            batch[i, r: r + patch, q: q + patch, :] = value
        drops[lo: lo + len(chunk)] = base[k] - _probabilities(model, batch, batch_size)[:, k]
    return drops.reshape(len(rows), len(cols))
