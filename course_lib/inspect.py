"""Look inside a trained CNN: filters, feature maps, top-activating patches, saliency, Grad-CAM, occlusion.

Every function takes a Keras model built with the functional API (or a built ``Sequential``), such as those of
``course_lib.models`` and ``keras.applications``, and finds layers by name. A name that is not in the model,
or names a layer without a spatial ``(batch, height, width, channels)`` output, raises a ``ValueError`` that
quotes the name and lists close matches and the model's convolution layers.

Scores. Gradient methods (saliency, Grad-CAM) differentiate the class *score* before the softmax, as the
papers do: through the softmax, a class's probability can also rise because the others fall, which mixes the
evidence of every class into the picture. :func:`class_scores` finds those logits: when the model ends with
``Dense(..., activation="softmax")`` it recomputes ``input @ kernel + bias`` of that layer from its input;
when it ends with a ``Softmax`` layer or ``Activation("softmax")`` it takes that layer's input; otherwise the
model's output is used as it is (a model that already outputs logits). Occlusion measures the drop of the
class *probability* (Zeiler and Fergus plot probabilities).

Images are NHWC like everything in the kit: one image is ``(H, W, C)`` (a leading batch axis of 1 is
accepted), a batch ``(N, H, W, C)``, in the value range the model was trained on ([0, 1] for the kit's
data).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

__all__ = [
    "conv_layer_names",
    "spatial_layer_names",
    "first_layer_filters",
    "feature_maps",
    "class_scores",
    "receptive_field_geometry",
    "FieldGeometry",
    "top_activating_patches",
    "TopPatches",
    "activation_maximization",
    "saliency_map",
    "grad_cam",
    "occlusion_sensitivity",
    "randomized_copy",
    "rank_correlation",
    "KernelSnapshots",
]

_SOFTMAX_NAMES = ("softmax",)


# ----------------------------------------------------------------------------------------------------
# finding layers
# ----------------------------------------------------------------------------------------------------
def _check_model(model: Any) -> keras.Model:
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError(
            f"model {model.name!r} has no known input: build it with keras.Input (functional API) or give "
            "the Sequential model an Input first"
        )
    if len(inputs) != 1:
        raise ValueError(f"model must have exactly one input, got {len(inputs)}")
    return model


def _output_of(layer: Any) -> Any:
    """The symbolic output of a layer that is called once in the model."""
    try:
        return layer.output
    except (AttributeError, ValueError) as err:
        raise ValueError(
            f"layer {layer.name!r} has no single output in the model graph (a layer used several times, or "
            f"one inside a nested model): {err}"
        ) from err


def _output_shape(layer: Any) -> tuple:
    out = _output_of(layer)
    if isinstance(out, (list, tuple)):
        return tuple(tuple(o.shape) for o in out)
    return tuple(out.shape)


def _is_spatial(layer: Any) -> bool:
    if isinstance(layer, keras.layers.InputLayer):
        return False
    try:
        shape = _output_shape(layer)
    except ValueError:
        return False
    return len(shape) == 4 and not isinstance(shape[0], tuple)


def _is_conv(layer: Any) -> bool:
    # Conv2D, DepthwiseConv2D, SeparableConv2D and the kit's ConnectionTableConv2D all carry a kernel_size;
    # transposed convolutions are left out because they upsample (they are decoders, not feature detectors).
    return (
        hasattr(layer, "kernel_size")
        and not isinstance(layer, keras.layers.Conv2DTranspose)
        and _is_spatial(layer)
    )


def conv_layer_names(model: keras.Model) -> list[str]:
    """Names of the 2-D convolution layers of a model, input side first.

    Args:
        model: a functional or built Sequential ``keras.Model``.

    Returns:
        The names of the top-level layers that convolve (Conv2D, DepthwiseConv2D, SeparableConv2D and
        other layers with a ``kernel_size`` and a ``(batch, H, W, C)`` output), in the model's (topological)
        order. Layers inside nested sub-models are not listed.

    Raises:
        TypeError: model is not a Keras model.
    """
    _check_model(model)
    return [layer.name for layer in model.layers if _is_conv(layer)]


def spatial_layer_names(model: keras.Model) -> list[str]:
    """Names of every top-level layer whose output is a feature map ``(batch, H, W, C)`` (conv, pool, ...).

    Args:
        model: a functional or built Sequential ``keras.Model``.

    Returns:
        Layer names, input side first; the input layer is not included.
    """
    _check_model(model)
    return [layer.name for layer in model.layers if _is_spatial(layer)]


def _short_list(names: Sequence[str], limit: int = 12) -> str:
    if len(names) <= limit:
        return str(list(names))
    return str(list(names[: limit // 2]) + ["..."] + list(names[-limit // 2:]))


def _get_layer(model: keras.Model, name: Any, what: str = "layer_name") -> Any:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a layer name (str), got {type(name).__name__} {name!r}")
    names = [layer.name for layer in model.layers]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.4)
        raise ValueError(
            f"{what} {name!r} is not a layer of model {model.name!r}; close matches: {close}; "
            f"its convolution layers are {_short_list(conv_layer_names(model))}"
        )
    return model.get_layer(name)


def _spatial_layer(model: keras.Model, name: Any, what: str = "layer_name") -> Any:
    """The layer called ``name``, which must output a (batch, H, W, C) feature map."""
    layer = _get_layer(model, name, what)
    if not _is_spatial(layer):
        try:
            shape = _output_shape(layer)
        except ValueError:
            shape = "unknown"
        raise ValueError(
            f"{what} {name!r} is a {type(layer).__name__} layer with output shape {shape}, not a "
            f"convolutional feature map (batch, height, width, channels); pick a convolution layer such as "
            f"{_short_list(conv_layer_names(model))}"
        )
    return layer


def _check_channels(layer, channel) -> tuple[bool, list[int]]:
    """One channel or a non-empty sequence of them -> (was it a single int, the validated channel list)."""
    single = np.ndim(channel) == 0
    channels = [_check_channel(layer, c) for c in ([channel] if single else list(channel))]
    if not channels:
        raise ValueError("channel must be an int or a non-empty sequence of ints, got an empty sequence")
    return single, channels


def _check_channel(layer: Any, channel: Any, what: str = "channel") -> int:
    n = int(_output_shape(layer)[-1])
    if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)) or not 0 <= channel < n:
        raise ValueError(f"{what} must be an int in [0, {n}) for layer {layer.name!r}, got {channel!r}")
    return int(channel)


# ----------------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------------
def _input_hwc(model: keras.Model) -> tuple:
    return tuple(model.inputs[0].shape[1:])


def _as_batch(model: keras.Model, images: Any, name: str, *, single: bool) -> np.ndarray:
    """Check images against the model input and return a float32 batch (N, H, W, C)."""
    x = np.asarray(images)
    if x.dtype == object or not np.issubdtype(x.dtype, np.number):
        raise TypeError(f"{name} must be a numeric array, got dtype {x.dtype}")
    x = x.astype(np.float32)
    expected = _input_hwc(model)
    if single:
        if x.ndim == len(expected) + 1 and x.shape[0] == 1:
            x = x[0]
        if x.ndim == len(expected) - 1 and expected[-1] == 1:  # a grey (H, W) image for a 1-channel model
            x = x[..., None]
        if x.ndim != len(expected):
            raise ValueError(f"{name} must be one image {expected} (or (1, ...)), got shape {x.shape}")
        x = x[None]
    elif x.ndim == len(expected) and expected[-1] == 1 and x.shape[-1] != 1:
        x = x[..., None]
    if x.ndim != len(expected) + 1:
        raise ValueError(f"{name} must have shape (N, *{expected}), got shape {x.shape}")
    for got, want in zip(x.shape[1:], expected):
        if want is not None and got != want:
            raise ValueError(f"{name} must match the model input {expected}, got shape {x.shape[1:]}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {x.shape})")
    return x


def _check_pos_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


# ----------------------------------------------------------------------------------------------------
# filters and feature maps
# ----------------------------------------------------------------------------------------------------
def first_layer_filters(model: keras.Model, layer_name: str | None = None) -> np.ndarray:
    """The kernel of the first convolution layer, ready for a filter grid (``plotting.plot_kernels``).

    Args:
        model: a functional or built Sequential ``keras.Model``.
        layer_name: another convolution layer to read instead of the first one.

    Returns:
        (KH, KW, C_in, C_out) float32 array, a copy of the weights (for the kit's connection-table layer, the
        equivalent dense kernel with zeros where maps are not connected).

    Raises:
        ValueError: the model has no convolution layer, or layer_name is unknown / not a convolution.
    """
    _check_model(model)
    if layer_name is None:
        names = conv_layer_names(model)
        if not names:
            raise ValueError(f"model {model.name!r} has no convolution layer")
        layer_name = names[0]
    layer = _spatial_layer(model, layer_name)
    if not _is_conv(layer):
        raise ValueError(
            f"layer_name {layer_name!r} is a {type(layer).__name__}, not a convolution; pick one of "
            f"{_short_list(conv_layer_names(model))}"
        )
    if hasattr(layer, "dense_kernel"):
        kernel = layer.dense_kernel()
    elif isinstance(layer, keras.layers.SeparableConv2D):
        kernel = layer.depthwise_kernel
    else:
        kernel = layer.kernel
    return np.array(keras.ops.convert_to_numpy(kernel), dtype=np.float32)


def _submodel(model: keras.Model, outputs: list[Any]) -> keras.Model:
    # The single input tensor, not a one-element list: a list makes Keras warn on every call with an array.
    return keras.Model(model.inputs[0], outputs)


def feature_maps(
    model: keras.Model, image: Any, layer_names: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Activations of several layers for one image, from a single forward pass.

    Args:
        model: a functional or built Sequential ``keras.Model``.
        image: (H, W, C) image (or (1, H, W, C)) matching the model input.
        layer_names: layers to read, each with a (batch, H', W', C') output (convolutions, pooling, ReLU
            layers, ...); default: every convolution layer (:func:`conv_layer_names`).

    Returns:
        A dict, in the order asked, mapping each name to its (H', W', C') float32 activations (the layer's
        output, after the activation it applies itself).

    Raises:
        ValueError: an unknown name, a layer without a spatial output, or an image of the wrong shape.
    """
    _check_model(model)
    x = _as_batch(model, image, "image", single=True)
    if layer_names is None:
        layer_names = conv_layer_names(model)
    elif isinstance(layer_names, str):
        layer_names = [layer_names]
    layers_ = [_spatial_layer(model, n, "layer_names entry") for n in layer_names]
    if not layers_:
        return {}
    sub = _submodel(model, [_output_of(layer) for layer in layers_])
    outs = sub(x, training=False)
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    return {layer.name: np.asarray(o)[0] for layer, o in zip(layers_, outs)}


# ----------------------------------------------------------------------------------------------------
# class scores (logits)
# ----------------------------------------------------------------------------------------------------
def _is_softmax(fn: Any) -> bool:
    return fn is keras.activations.softmax or getattr(fn, "__name__", "") in _SOFTMAX_NAMES


def _logits_head(model: keras.Model) -> tuple[Any, Callable[[Any], Any], bool]:
    """(symbolic tensor, function turning its value into logits, whether the model output is a softmax)."""
    outputs = model.outputs
    if len(outputs) != 1:
        raise ValueError(
            f"model must have exactly one output for class scores, got {len(outputs)} "
            f"({[o.name for o in outputs]}); build the model without auxiliary heads"
        )
    last = outputs[0]._keras_history.operation
    activation = getattr(last, "activation", None)
    if isinstance(last, keras.layers.Dense) and _is_softmax(activation):
        kernel, bias = last.kernel, (last.bias if last.use_bias else None)

        def dense_logits(h: Any) -> Any:
            z = tf.matmul(h, kernel)
            return z + bias if bias is not None else z

        return _output_of_input(last), dense_logits, True
    if isinstance(last, keras.layers.Softmax) or (
        isinstance(last, keras.layers.Activation) and _is_softmax(activation)
    ):
        return _output_of_input(last), lambda h: h, True
    return outputs[0], lambda h: h, False


def _output_of_input(layer: Any) -> Any:
    inp = layer.input
    if isinstance(inp, (list, tuple)):
        raise ValueError(f"the output layer {layer.name!r} has several inputs; cannot recover its logits")
    return inp


def class_scores(model: keras.Model, images: Any) -> np.ndarray:
    """Pre-softmax class scores (logits) of a batch, recovered as described in the module docstring.

    Args:
        model: a classifier with one input and one output.
        images: (N, H, W, C) batch matching the model input.

    Returns:
        (N, num_classes) float32 logits; ``softmax`` of them equals ``model(images)`` when the model ends with
        a softmax.
    """
    _check_model(model)
    x = _as_batch(model, images, "images", single=False)
    head, to_logits, _ = _logits_head(model)
    sub = _submodel(model, [head])
    return np.asarray(to_logits(sub(x, training=False)))


# ----------------------------------------------------------------------------------------------------
# receptive fields
# ----------------------------------------------------------------------------------------------------
class FieldGeometry(NamedTuple):
    """Where the units of a layer look in the input image, one entry per axis (rows, columns).

    Output unit ``(i, j)`` depends on input rows ``start[0] + i * jump[0]`` up to (excluding)
    ``start[0] + i * jump[0] + size[0]``, and likewise on columns; a negative start means the field begins in
    the zero padding.
    """

    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[int, int]


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    return int(value[0]), int(value[1])


def _pad_before(n: int, k_eff: int, stride: int, padding: str) -> int:
    # Keras/TensorFlow "same": output ceil(n / s), total padding split with the odd zero after the input.
    if padding == "valid":
        return 0
    out = -(-n // stride)
    return max((out - 1) * stride + k_eff - n, 0) // 2


def _inbound_layers(layer: Any) -> list[Any]:
    inputs = keras.tree.flatten(layer.input)
    return [t._keras_history.operation for t in inputs]


def _layer_geometry(layer: Any, parents: list[tuple[Any, tuple]], out_hw: tuple) -> list[tuple[int, ...]]:
    """Geometry per axis [(jump, size, start), ...] of one layer's output from its inputs' geometries."""
    spatial = [(geo, hw) for geo, hw in parents if geo is not None]
    name = type(layer).__name__
    if len(spatial) > 1:
        # A merge (Add, Concatenate, ...): the union of the fields. Inputs of spatial size 1x1 broadcast over
        # the map (squeeze-and-excitation gates) and are left out.
        big = [(g, hw) for g, hw in spatial if hw != (1, 1) or out_hw == (1, 1)]
        geos = [g for g, _ in big]
        result = []
        for axis in range(2):
            jumps = {g[axis][0] for g in geos}
            if len(jumps) != 1:
                raise ValueError(f"cannot follow the receptive field through {name} {layer.name!r}: its "
                                 f"inputs have different strides {sorted(jumps)}")
            start = min(g[axis][2] for g in geos)
            end = max(g[axis][2] + g[axis][1] for g in geos)
            result.append((jumps.pop(), end - start, start))
        return result
    (geo, in_hw), = spatial
    kernel = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    if kernel is not None and not isinstance(layer, keras.layers.Conv2DTranspose):
        ks = _pair(kernel)
        ss = _pair(getattr(layer, "strides", None) or kernel)
        ds = _pair(getattr(layer, "dilation_rate", 1))
        padding = str(getattr(layer, "padding", "valid")).lower()
        if padding not in ("same", "valid"):
            raise ValueError(f"cannot follow padding={padding!r} of {name} {layer.name!r}")
        result = []
        for axis in range(2):
            jump, size, start = geo[axis]
            k_eff = ds[axis] * (ks[axis] - 1) + 1
            n = in_hw[axis]
            before = _pad_before(n, k_eff, ss[axis], padding)
            expected = -(-n // ss[axis]) if padding == "same" else (n - k_eff) // ss[axis] + 1
            if expected != out_hw[axis]:
                raise ValueError(f"cannot follow the receptive field through {name} {layer.name!r}: expected "
                                 f"output size {expected}, the layer gives {out_hw[axis]}")
            result.append((jump * ss[axis], size + (k_eff - 1) * jump, start - before * jump))
        return result
    if isinstance(layer, (keras.layers.ZeroPadding2D, keras.layers.Cropping2D)):
        amounts = layer.padding if isinstance(layer, keras.layers.ZeroPadding2D) else layer.cropping
        sign = -1 if isinstance(layer, keras.layers.ZeroPadding2D) else 1
        return [(geo[a][0], geo[a][1], geo[a][2] + sign * int(amounts[a][0]) * geo[a][0]) for a in range(2)]
    strides = getattr(layer, "strides", None)
    if strides is not None and out_hw != in_hw:
        # A strided subsampling without a window (the kit's ZeroPadShortcut): a 1x1 "kernel".
        ss = _pair(strides)
        if all(-(-in_hw[a] // ss[a]) == out_hw[a] for a in range(2)):
            return [(geo[a][0] * ss[a], geo[a][1], geo[a][2]) for a in range(2)]
    if out_hw == in_hw:
        return list(geo)  # element-wise layers: activation, normalisation, dropout, ...
    raise ValueError(
        f"cannot follow the receptive field through {name} {layer.name!r} (spatial size {in_hw} -> {out_hw})"
    )


def receptive_field_geometry(model: keras.Model, layer_name: str) -> FieldGeometry:
    """Size, stride ("jump") and offset of the receptive field of a layer's units, in input pixels.

    Walks the graph from the input: a window layer (convolution or pooling, kernel ``k``, stride ``s``,
    dilation ``d``, Keras padding) maps ``(jump, size, start)`` to
    ``(jump * s, size + d (k - 1) jump, start - pad_before * jump)``; element-wise layers keep it; a merge
    (Add, Concatenate) takes the union of its inputs' fields. The result is the theoretical field: every input
    pixel that can influence the unit, whatever the weights.

    Args:
        model: a functional or built Sequential ``keras.Model`` with a known input size.
        layer_name: a layer with a (batch, H, W, C) output.

    Returns:
        A :class:`FieldGeometry` (size, jump, start), each a (rows, columns) pair of ints.

    Raises:
        ValueError: unknown / non-spatial layer, unknown input size, or a layer on the way whose geometry is
            not known (nested model, resizing, transposed convolution).

    Reference: Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks",
        Distill 2019.
    """
    _check_model(model)
    target = _spatial_layer(model, layer_name)
    in_hw = _input_hwc(model)[:2]
    if any(d is None for d in in_hw):
        raise ValueError(f"the model input size must be known to place receptive fields, got {in_hw}")
    base = [(1, 1, 0), (1, 1, 0)]
    geometry: dict[int, Any] = {}  # id(layer) -> geometry per axis, or None for a non-spatial output
    for inp in model.inputs:
        geometry[id(inp._keras_history.operation)] = base
    for layer in model.layers:
        if id(layer) in geometry:
            continue
        if not _is_spatial(layer):
            geometry[id(layer)] = None
            if layer is target:
                break
            continue
        parents = []
        for parent in _inbound_layers(layer):
            geo = geometry.get(id(parent))
            shape = tuple(_output_of(parent).shape) if geo is not None else ()
            parents.append((geo, tuple(shape[1:3]) if geo is not None else None))
        if isinstance(layer, keras.Model):
            raise ValueError(f"cannot follow the receptive field into the nested model {layer.name!r}")
        if all(geo is None for geo, _ in parents):
            # A 1x1 map computed from pooled features (the gate of a squeeze-and-excitation block): every
            # unit sees the whole image, there is no local field to follow.
            geometry[id(layer)] = None
        else:
            geometry[id(layer)] = _layer_geometry(layer, parents, tuple(_output_shape(layer)[1:3]))
        if layer is target:
            break
    geo = geometry[id(target)]
    if geo is None:
        raise ValueError(f"layer_name {layer_name!r} is computed from globally pooled features: each of its "
                         "units sees the whole image, so it has no local receptive field")
    return FieldGeometry(
        size=(geo[0][1], geo[1][1]), jump=(geo[0][0], geo[1][0]), start=(geo[0][2], geo[1][2])
    )


# ----------------------------------------------------------------------------------------------------
# top-activating patches
# ----------------------------------------------------------------------------------------------------
class TopPatches(NamedTuple):
    """Result of :func:`top_activating_patches` (k = number of patches returned).

    Attributes:
        patches: (k, size_h, size_w, C) crops of the images at the receptive field of the strongest unit;
            parts of the field that fall in the padding are zeros.
        indices: (k,) indices of the images in the batch, strongest first.
        positions: (k, 2) row, column of the strongest unit in the layer's map.
        values: (k,) the activation there.
        boxes: (k, 4) top, left, bottom, right (exclusive) of each field in image pixels (may reach past the
            image edges).
    """

    patches: np.ndarray
    indices: np.ndarray
    positions: np.ndarray
    values: np.ndarray
    boxes: np.ndarray


def _crop(image: np.ndarray, top: int, left: int, h: int, w: int) -> np.ndarray:
    """A (h, w, C) crop whose parts outside the image are zero (what a zero-padded convolution sees)."""
    out = np.zeros((h, w, image.shape[-1]), dtype=image.dtype)
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + h, image.shape[0]), min(left + w, image.shape[1])
    if t1 > t0 and l1 > l0:
        out[t0 - top: t1 - top, l0 - left: l1 - left] = image[t0:t1, l0:l1]
    return out


def top_activating_patches(
    model: keras.Model,
    images: Any,
    layer_name: str,
    channel: int | Sequence[int],
    *,
    k: int = 9,
    batch_size: int = 256,
) -> TopPatches | list[TopPatches]:
    """The dataset patches that excite one channel most: Zeiler and Fergus' view of what a unit detects.

    For each image the strongest unit of the channel is found (the maximum over the map); the ``k`` images
    with the largest maxima are kept, one patch per image, and each is cropped at the theoretical receptive
    field of that unit (:func:`receptive_field_geometry`), so all patches have the same size.

    Args:
        model: a functional or built Sequential ``keras.Model``.
        images: (N, H, W, C) batch matching the model input.
        layer_name: a layer with a (batch, H', W', C') output.
        channel: index of the channel in that output, or a sequence of indices (one pass over the images
            serves them all).
        k: how many patches per channel (at most N).
        batch_size: images per forward pass.

    Returns:
        A :class:`TopPatches` (patches, indices, positions, values, boxes), strongest first, or a list of
        them, one per channel, for a sequence of channels. Ties go to the lower image index and, within an
        image, to the first position in row-major order.

    Raises:
        ValueError: unknown / non-spatial layer, channel out of range, k < 1, or images of the wrong shape.

    Reference: Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014.
    """
    _check_model(model)
    layer = _spatial_layer(model, layer_name)
    single, channels = _check_channels(layer, channel)
    k = _check_pos_int(k, "k")
    batch_size = _check_pos_int(batch_size, "batch_size")
    x = _as_batch(model, images, "images", single=False)
    field = receptive_field_geometry(model, layer_name)
    sub = _submodel(model, [_output_of(layer)])
    best_values, best_flat = [], []
    width = None
    for lo in range(0, len(x), batch_size):
        maps = np.asarray(sub(x[lo: lo + batch_size], training=False))[..., channels]  # (b, H', W', n)
        width = maps.shape[2]
        flat = np.moveaxis(maps, -1, 1).reshape(len(maps), len(channels), -1)
        arg = flat.argmax(axis=2)  # (b, n)
        best_flat.append(arg)
        best_values.append(np.take_along_axis(flat, arg[..., None], axis=2)[..., 0])
    all_values = np.concatenate(best_values)  # (N, n)
    all_flat = np.concatenate(best_flat)
    results = []
    for j in range(len(channels)):
        values, flat_pos = all_values[:, j], all_flat[:, j]
        order = np.argsort(-values, kind="stable")[: min(k, len(x))]
        rows, cols = flat_pos[order] // width, flat_pos[order] % width
        tops = field.start[0] + rows * field.jump[0]
        lefts = field.start[1] + cols * field.jump[1]
        patches = np.stack([_crop(x[i], t, left, field.size[0], field.size[1])
                            for i, t, left in zip(order, tops, lefts)])
        boxes = np.stack([tops, lefts, tops + field.size[0], lefts + field.size[1]], axis=1)
        results.append(TopPatches(
            patches=patches,
            indices=order.astype(np.int64),
            positions=np.stack([rows, cols], axis=1).astype(np.int64),
            values=values[order].astype(np.float32),
            boxes=boxes.astype(np.int64),
        ))
    return results[0] if single else results


# ----------------------------------------------------------------------------------------------------
# activation maximisation
# ----------------------------------------------------------------------------------------------------
def _linear_twin(layer: Any) -> Any | None:
    """A copy of ``layer`` with a linear activation and the same weight values; None when not needed."""
    activation = getattr(layer, "activation", None)
    if activation is None or activation is keras.activations.linear:
        return None
    try:
        config = dict(layer.get_config())
        config["activation"] = "linear"
        config["name"] = layer.name + "_preactivation"
        twin = layer.__class__.from_config(config)
        twin.build(tuple(layer.input.shape))
        twin.set_weights(layer.get_weights())
    except Exception:  # a custom layer that cannot be rebuilt: fall back to its activated output
        return None
    return twin


def _blur(x: tf.Tensor) -> tf.Tensor:
    """3x3 binomial blur per channel, with reflected borders so that edges do not darken."""
    k1 = tf.constant([1.0, 2.0, 1.0]) / 4.0
    k2 = tf.tensordot(k1, k1, axes=0)
    c = x.shape[-1]
    kernel = tf.tile(k2[:, :, None, None], [1, 1, c, 1])
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
    return tf.nn.depthwise_conv2d(padded, kernel, strides=[1, 1, 1, 1], padding="VALID")


def activation_maximization(
    model: keras.Model,
    layer_name: str,
    channel: int | Sequence[int],
    *,
    steps: int = 128,
    lr: float = 0.02,
    seed: int = 0,
    image_shape: Sequence[int] | None = None,
    init: Any = None,
    jitter: int = 2,
    decay: float = 0.01,
    blur_every: int = 4,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """Synthesise an input that excites one channel strongly, by gradient ascent on the pixels.

    Objective: the channel's mean over the feature map, taken before the layer's own activation function
    when it has one (a ReLU unit that starts switched off would otherwise give no gradient; ReLU is
    monotonic, so raising the pre-activation raises the activation once it is positive). Each step moves the
    pixels along the gradient normalised to a mean absolute value of 1, so ``lr`` is the average change per
    pixel. Three simple regularisers keep the picture image-like: a random shift of up to ``jitter`` pixels
    before each gradient (the pattern must work at neighbouring positions), a decay of the image towards
    mid-grey by ``decay`` per step (an L2 penalty), and a 3x3 blur every ``blur_every`` steps (suppresses the
    high-frequency patterns that fool the network). Pixels are clipped to ``value_range``.

    Args:
        model: a functional or built Sequential ``keras.Model``.
        layer_name: a layer with a (batch, H', W', C') output.
        channel: a channel index, or a sequence of them (one image per channel, optimised together).
        steps: gradient steps.
        lr: step size, in pixel-value units.
        seed: seeds the starting noise and the jitter.
        image_shape: (H, W, C) of the image; default the model's input shape (needed when it has None sizes).
        init: optional starting image (H, W, C), or (n, H, W, C) with one image per channel; default
            mid-grey plus Gaussian noise of standard deviation 0.05 * (high - low).
        jitter: largest random shift in pixels (0 turns it off).
        decay: fraction of the distance to mid-grey removed after each step (0 turns it off).
        blur_every: blur period in steps (0 turns it off).
        value_range: (low, high) of valid pixel values.

    Returns:
        (H, W, C) float32 image for one channel, (n, H, W, C) for a sequence of n channels.

    Raises:
        ValueError: unknown / non-spatial layer, channel out of range, bad step settings or shapes.

    Reference: Erhan, Bengio, Courville and Vincent, "Visualizing Higher-Layer Features of a Deep Network",
        2009; Yosinski, Clune, Nguyen, Fuchs and Lipson, "Understanding Neural Networks Through Deep
        Visualization", ICML workshop 2015 (decay, blur, jitter).
    """
    _check_model(model)
    layer = _spatial_layer(model, layer_name)
    single, channels = _check_channels(layer, channel)
    steps = _check_pos_int(steps, "steps")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if isinstance(jitter, bool) or not isinstance(jitter, (int, np.integer)) or jitter < 0:
        raise ValueError(f"jitter must be a non-negative int, got {jitter!r}")
    if isinstance(blur_every, bool) or not isinstance(blur_every, (int, np.integer)) or blur_every < 0:
        raise ValueError(f"blur_every must be a non-negative int, got {blur_every!r}")
    if not (isinstance(decay, (int, float)) and 0 <= decay < 1):
        raise ValueError(f"decay must be a number in [0, 1), got {decay!r}")
    low, high = (float(v) for v in value_range)
    if not low < high:
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range!r}")
    shape = tuple(image_shape) if image_shape is not None else _input_hwc(model)
    if len(shape) != 3 or any(d is None or int(d) < 1 for d in shape):
        raise ValueError(f"image_shape must be a known (H, W, C), got {shape}")
    shape = tuple(int(d) for d in shape)

    rng = np.random.default_rng(seed)
    mid = (low + high) / 2
    n = len(channels)
    if init is None:
        start = mid + 0.05 * (high - low) * rng.standard_normal((n, *shape))
    else:
        start = np.asarray(init, dtype=np.float32)
        if start.shape == shape:
            start = np.broadcast_to(start, (n, *shape))
        if start.shape != (n, *shape):
            raise ValueError(f"init must have shape {shape} or {(n, *shape)}, got {np.asarray(init).shape}")
    x = tf.Variable(np.clip(start, low, high).astype(np.float32))

    twin = _linear_twin(layer)
    if twin is not None:
        sub = _submodel(model, [_output_of_input(layer)])

        def response(images: tf.Tensor) -> tf.Tensor:
            return twin(sub(images, training=False))
    else:
        sub = _submodel(model, [_output_of(layer)])

        def response(images: tf.Tensor) -> tf.Tensor:
            return sub(images, training=False)

    select = tf.one_hot(channels, int(_output_shape(layer)[-1]))[:, None, None, :]  # (n, 1, 1, C')
    shifts = rng.integers(-jitter, jitter + 1, size=(steps, 2)) if jitter else np.zeros((steps, 2), int)

    @tf.function  # one graph for all steps: the shift is a tensor argument, so it is traced once
    def gradient(images: tf.Tensor, shift: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(images)
            act = response(tf.roll(images, shift=shift, axis=[1, 2]))
            objective = tf.reduce_sum(tf.reduce_mean(act * select, axis=[1, 2]))
        return tape.gradient(objective, images)

    for step in range(steps):
        grad = gradient(tf.convert_to_tensor(x), tf.constant(shifts[step], dtype=tf.int32))
        scale = tf.reduce_mean(tf.abs(grad), axis=[1, 2, 3], keepdims=True) + 1e-12
        new = x + lr * grad / scale
        if decay:
            new = mid + (1.0 - decay) * (new - mid)
        if blur_every and (step + 1) % blur_every == 0:
            new = _blur(new)
        x.assign(tf.clip_by_value(new, low, high))
    result = x.numpy()
    return result[0] if single else result


# ----------------------------------------------------------------------------------------------------
# attribution: saliency, Grad-CAM, occlusion
# ----------------------------------------------------------------------------------------------------
def _pick_class(logits: np.ndarray, class_index: Any) -> int:
    n = logits.shape[-1]
    if class_index is None:
        return int(np.argmax(logits))
    if isinstance(class_index, bool) or not isinstance(class_index, (int, np.integer)) \
            or not 0 <= class_index < n:
        raise ValueError(f"class_index must be an int in [0, {n}) or None, got {class_index!r}")
    return int(class_index)


def _pick_classes(logits: np.ndarray, class_index: Any) -> np.ndarray:
    """One class per image: the argmax (None), one int for all, or one int per image."""
    if class_index is None or np.ndim(class_index) == 0:
        return np.array([_pick_class(row, class_index) for row in logits], dtype=np.int64)
    chosen = list(class_index)
    if len(chosen) != len(logits):
        raise ValueError(f"class_index must give one class per image ({len(logits)}), got {len(chosen)}")
    return np.array([_pick_class(row, c) for row, c in zip(logits, chosen)], dtype=np.int64)


def _images_and_batch(model: keras.Model, image: Any) -> tuple[np.ndarray, bool]:
    """(batch, single): a 3-D image becomes a batch of one; a 4-D array is a batch."""
    x = np.asarray(image)
    single = x.ndim == len(_input_hwc(model)) or (x.ndim == 2 and _input_hwc(model)[-1] == 1)
    return _as_batch(model, x, "image", single=single), single


def saliency_map(model: keras.Model, image: Any, class_index: Any = None) -> np.ndarray:
    """Gradient saliency: how strongly each pixel can change the class score.

    Computes ``|d score_c / d x|`` for the pre-softmax score of class ``c`` and keeps, at each pixel, the
    largest magnitude over the colour channels. A batch is handled in one forward and backward pass (the
    images do not interact, so the gradient of the summed scores is each image's own gradient).

    Args:
        model: a classifier with one input and one output.
        image: one (H, W, C) image, or a batch (N, H, W, C).
        class_index: the class to explain: None for the predicted class, one int for every image, or one
            int per image.

    Returns:
        (H, W) float32 map for one image, (N, H, W) for a batch; non-negative, in score units per
        pixel-value unit (not normalised).

    Raises:
        ValueError: bad image shape or class index.

    Reference: Simonyan, Vedaldi and Zisserman, "Deep Inside Convolutional Networks: Visualising Image
        Classification Models and Saliency Maps", ICLR workshop 2014.
    """
    _check_model(model)
    batch, single = _images_and_batch(model, image)
    x = tf.constant(batch)
    head, to_logits, _ = _logits_head(model)
    sub = _submodel(model, [head])
    with tf.GradientTape() as tape:
        tape.watch(x)
        logits = to_logits(sub(x, training=False))
        classes = _pick_classes(logits.numpy(), class_index)
        score = tf.reduce_sum(tf.gather(logits, classes, axis=1, batch_dims=1))
    grad = tape.gradient(score, x)
    maps = np.abs(grad.numpy()).max(axis=-1).astype(np.float32)
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
        ValueError: unknown / non-spatial layer, a model without convolutions, bad image or class index.

    Reference: Selvaraju, Cogswell, Das, Vedantam, Parikh and Batra, "Grad-CAM: Visual Explanations from
        Deep Networks via Gradient-based Localization", ICCV 2017.
    """
    _check_model(model)
    if layer_name is None:
        names = conv_layer_names(model)
        if not names:
            raise ValueError(f"model {model.name!r} has no convolution layer; pass layer_name")
        layer_name = names[-1]
    layer = _spatial_layer(model, layer_name)
    batch, single = _images_and_batch(model, image)
    x = tf.constant(batch)
    head, to_logits, _ = _logits_head(model)
    sub = _submodel(model, [_output_of(layer), head])
    with tf.GradientTape() as tape:
        tape.watch(x)  # records every op downstream of the input, so the score is differentiable by the maps
        maps, h = sub(x, training=False)
        logits = to_logits(h)
        classes = _pick_classes(logits.numpy(), class_index)
        score = tf.reduce_sum(tf.gather(logits, classes, axis=1, batch_dims=1))
    grads = tape.gradient(score, maps)
    if grads is None:
        raise ValueError(f"the class score does not depend on layer {layer_name!r}")
    weights = tf.reduce_mean(grads, axis=[1, 2])  # (N, C')
    cam = tf.nn.relu(tf.reduce_sum(maps * weights[:, None, None, :], axis=-1))  # (N, H', W')
    if upsample:
        cam = tf.image.resize(cam[..., None], x.shape[1:3], method="bilinear")[..., 0]
    cam = cam.numpy().astype(np.float32)
    peak = cam.max(axis=(1, 2), keepdims=True)
    cam = np.where(peak > 0, cam / np.where(peak > 0, peak, 1.0), 0.0).astype(np.float32)
    return cam[0] if single else cam


def _probabilities(model: keras.Model, x: np.ndarray, batch_size: int) -> np.ndarray:
    _, _, is_softmax = _logits_head(model)
    out = []
    for lo in range(0, len(x), batch_size):
        p = model(x[lo: lo + batch_size], training=False)
        out.append(np.asarray(p if is_softmax else tf.nn.softmax(p, axis=-1)))
    return np.concatenate(out)


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
    the model's output when it ends with a softmax, else the softmax of its output.

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
        ValueError: bad patch, stride, fill, image shape or class index.

    Reference: Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014,
        Section 4.2.
    """
    _check_model(model)
    x = _as_batch(model, image, "image", single=True)[0]
    h, w, c = x.shape
    patch = _check_pos_int(patch, "patch")
    stride = _check_pos_int(stride, "stride")
    batch_size = _check_pos_int(batch_size, "batch_size")
    if patch > min(h, w):
        raise ValueError(f"patch must be at most the image size {min(h, w)}, got {patch}")
    if isinstance(fill, str):
        if fill != "mean":
            raise ValueError(f"fill must be a number, one number per channel, or 'mean', got {fill!r}")
        value = x.reshape(-1, c).mean(axis=0)
    else:
        value = np.asarray(fill, dtype=np.float32).reshape(-1)
        if value.size not in (1, c):
            raise ValueError(f"fill must be one number or {c} numbers (one per channel), got {fill!r}")
    base = _probabilities(model, x[None], 1)[0]
    k = _pick_class(base, class_index)
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


# ----------------------------------------------------------------------------------------------------
# sanity checks for explanations
# ----------------------------------------------------------------------------------------------------
def randomized_copy(
    model: keras.Model, layer_names: Sequence[str] | None = None, *, seed: int = 0
) -> keras.Model:
    """A copy of the model whose chosen layers get fresh random weights (the others keep the trained ones).

    This is the model-parameter randomisation test: an explanation method that draws the same picture for
    the trained and the randomised network is not explaining what the network learned. Randomising the
    layers from the top down, one more each time, gives the "cascading" version of the test.

    Args:
        model: a functional or Sequential ``keras.Model`` (custom layers must be serialisable).
        layer_names: layers to re-initialise; default all of them.
        seed: seeds Keras' random generators (``keras.utils.set_random_seed``) before the fresh weights are
            drawn, so the copy is reproducible.

    Returns:
        A new model with the same architecture; ``model`` itself is untouched.

    Raises:
        ValueError: an unknown layer name.

    Reference: Adebayo, Gilmer, Muelly, Goodfellow, Hardt and Kim, "Sanity Checks for Saliency Maps",
        NeurIPS 2018.
    """
    _check_model(model)
    chosen = {layer.name for layer in model.layers}
    if layer_names is not None:
        chosen = {_get_layer(model, n, "layer_names entry").name for n in layer_names}
    keras.utils.set_random_seed(int(seed))
    copy = keras.models.clone_model(model)
    for layer in model.layers:
        if layer.name not in chosen and layer.weights:
            copy.get_layer(layer.name).set_weights(layer.get_weights())
    return copy


def rank_correlation(a: Any, b: Any) -> float:
    """Spearman rank correlation of two maps of the same shape (1: same ordering of pixels, 0: unrelated).

    Args:
        a, b: arrays of equal shape (e.g. two (H, W) saliency maps).

    Returns:
        The correlation as a float in [-1, 1]; nan when a map is constant.

    Raises:
        ValueError: the shapes differ.

    Reference: Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018 (their similarity measure).
    """
    from scipy.stats import rankdata

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    ra, rb = rankdata(a.ravel()), rankdata(b.ravel())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(np.sqrt((ra ** 2).sum() * (rb ** 2).sum()))
    return float((ra * rb).sum() / denom) if denom > 0 else float("nan")


# ----------------------------------------------------------------------------------------------------
# watching filters learn
# ----------------------------------------------------------------------------------------------------
class KernelSnapshots(keras.callbacks.Callback):
    """Keras callback that copies one convolution kernel during training, to watch the filters form.

    A snapshot is taken before the first step, after each of the global steps listed in ``steps`` (counted
    from 1 across epochs) and at the end of every epoch.

    Args:
        layer_name: the convolution layer to record (usually the first).
        steps: optional global step numbers at which to record as well (early steps change filters most).

    Attributes:
        snapshots: list of (KH, KW, C_in, C_out) arrays.
        labels: matching list of strings ("init", "step 20", "epoch 1", ...).
    """

    def __init__(self, layer_name: str, *, steps: Sequence[int] = ()):
        super().__init__()
        if not isinstance(layer_name, str):
            raise TypeError(f"layer_name must be a str, got {type(layer_name).__name__}")
        self.layer_name = layer_name
        self.record_steps = {_check_pos_int(s, "steps entry") for s in steps}
        self.snapshots: list[np.ndarray] = []
        self.labels: list[str] = []
        self._step = 0

    def _record(self, label: str) -> None:
        self.snapshots.append(first_layer_filters(self.model, self.layer_name))
        self.labels.append(label)

    def on_train_begin(self, logs: Any = None) -> None:
        _spatial_layer(self.model, self.layer_name)
        self._step = 0
        self._record("init")

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        self._step += 1
        if self._step in self.record_steps:
            self._record(f"step {self._step}")

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self._record(f"epoch {epoch + 1}")
