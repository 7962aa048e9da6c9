"""Receptive fields of a model's units in input pixels, and the dataset patches that excite a channel most.

The arithmetic of one window (output size, TensorFlow's "same" padding, how a field grows) is
:mod:`course_lib.shapes`'; this module only walks the Keras graph and places the fields in the image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import keras
import numpy as np

from .. import keras_adapter, shapes, validation
from ._inputs import as_batch, check_model, input_hwc
from .layers import check_channels, is_spatial, output_of, output_shape, spatial_layer, submodel

__all__ = ["FieldGeometry", "receptive_field_geometry", "TopPatches", "top_activating_patches"]


class FieldGeometry(NamedTuple):
    """Where the units of a layer look in the input image, one entry per axis (rows, columns).

    Output unit ``(i, j)`` depends on input rows ``start[0] + i * jump[0]`` up to (excluding)
    ``start[0] + i * jump[0] + size[0]``, and likewise on columns; a negative start means the field begins in
    the zero padding.
    """

    size: tuple[int, int]
    jump: tuple[int, int]
    start: tuple[int, int]


# Geometry of one axis while walking the graph: (jump, size, start) of the current layer's units.
_Axis = tuple[int, int, int]


def _window_axis(geo: _Axis, n: int, out: int, kernel: int, stride: int, dilation: int, padding: str,
                 where: str) -> _Axis:
    """One axis of a convolution/pooling window: the input's ``(jump, size, start)`` -> the output's."""
    jump, size, start = geo
    span = dilation * (kernel - 1) + 1  # input positions a dilated window covers
    expected = shapes.conv_output_size(n, span, stride, padding)
    if expected != out:
        raise ValueError(f"cannot follow the receptive field through {where}: expected output size "
                         f"{expected}, the layer gives {out}")
    before = shapes.same_pads(n, span, stride)[0] if padding == "same" else 0
    # Seen from the input, the stack so far acts as one window of its field size moving by its jump, so the
    # field after this layer is that of a two-layer stack: shapes' recurrence (Araujo et al.) applies.
    grown = shapes.receptive_field_steps([(size, jump), (span, stride)])[-1]
    return grown["jump"], grown["rf"], start - before * jump


def _merge_geometry(name: str, spatial: list[tuple[list[_Axis], tuple]], out_hw: tuple) -> list[_Axis]:
    """A merge (Add, Concatenate, ...): the union of its inputs' fields, which must share a jump."""
    # Inputs of spatial size 1x1 broadcast over the map (squeeze-and-excitation gates) and are left out.
    geos = [g for g, hw in spatial if hw != (1, 1) or out_hw == (1, 1)]
    result = []
    for axis in range(2):
        jumps = {g[axis][0] for g in geos}
        if len(jumps) != 1:
            raise ValueError(f"cannot follow the receptive field through {name}: its inputs have different "
                             f"strides {sorted(jumps)}")
        start = min(g[axis][2] for g in geos)
        end = max(g[axis][2] + g[axis][1] for g in geos)
        result.append((jumps.pop(), end - start, start))
    return result


def _layer_geometry(layer: Any, parents: list[tuple[Any, Any]], out_hw: tuple) -> list[_Axis]:
    """Geometry per axis ``[(jump, size, start), ...]`` of one layer's output from its inputs' geometries."""
    spatial = [(geo, hw) for geo, hw in parents if geo is not None]
    where = f"{type(layer).__name__} {layer.name!r}"
    if len(spatial) > 1:
        return _merge_geometry(where, spatial, out_hw)
    (geo, in_hw), = spatial
    kernel = getattr(layer, "kernel_size", None) or getattr(layer, "pool_size", None)
    if kernel is not None and not isinstance(layer, keras.layers.Conv2DTranspose):
        ks = validation.check_int_tuple(kernel, "kernel_size", 2, minimum=1)
        ss = validation.check_int_tuple(getattr(layer, "strides", None) or kernel, "strides", 2, minimum=1)
        ds = validation.check_int_tuple(getattr(layer, "dilation_rate", 1), "dilation_rate", 2, minimum=1)
        padding = str(getattr(layer, "padding", "valid")).lower()
        if padding not in shapes.PADDING_MODES:
            raise ValueError(f"cannot follow padding={padding!r} of {where}")
        return [
            _window_axis(geo[a], in_hw[a], out_hw[a], ks[a], ss[a], ds[a], padding, where) for a in range(2)
        ]
    if isinstance(layer, (keras.layers.ZeroPadding2D, keras.layers.Cropping2D)):
        amounts = layer.padding if isinstance(layer, keras.layers.ZeroPadding2D) else layer.cropping
        sign = -1 if isinstance(layer, keras.layers.ZeroPadding2D) else 1
        return [(geo[a][0], geo[a][1], geo[a][2] + sign * int(amounts[a][0]) * geo[a][0]) for a in range(2)]
    strides = getattr(layer, "strides", None)
    if strides is not None and out_hw != in_hw:
        # A strided subsampling without a window (the kit's ZeroPadShortcut): a 1x1 window.
        ss = validation.check_int_tuple(strides, "strides", 2, minimum=1)
        if all(shapes.conv_output_size(in_hw[a], 1, ss[a]) == out_hw[a] for a in range(2)):
            return [_window_axis(geo[a], in_hw[a], out_hw[a], 1, ss[a], 1, "valid", where) for a in range(2)]
    if out_hw == in_hw:
        return list(geo)  # element-wise layers: activation, normalisation, dropout, ...
    raise ValueError(f"cannot follow the receptive field through {where} (spatial size {in_hw} -> {out_hw})")


def receptive_field_geometry(model: keras.Model, layer_name: str) -> FieldGeometry:
    """Size, stride ("jump") and offset of the receptive field of a layer's units, in input pixels.

    Walks the graph from the input: a window layer (convolution or pooling, kernel ``k``, stride ``s``,
    dilation ``d``, Keras padding) maps ``(jump, size, start)`` to
    ``(jump * s, size + d (k - 1) jump, start - pad_before * jump)`` (``shapes.receptive_field_steps`` and
    ``shapes.same_pads``); element-wise layers keep it; a merge (Add, Concatenate) takes the union of its
    inputs' fields. The result is the theoretical field: every input pixel that can influence the unit,
    whatever the weights.

    Args:
        model: a functional or built Sequential ``keras.Model`` with a known input size.
        layer_name: a layer with a (batch, H, W, C) output.

    Returns:
        A :class:`FieldGeometry` (size, jump, start), each a (rows, columns) pair of ints.

    Raises:
        TypeError: model is not a Keras model, or layer_name not a str.
        ValueError: unknown / non-spatial layer, unknown input size, or a layer on the way whose geometry is
            not known (nested model, resizing, transposed convolution).

    Reference: Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks",
        Distill 2019.
    """
    check_model(model)
    target = spatial_layer(model, layer_name)
    in_hw = input_hwc(model)[:2]
    if any(d is None for d in in_hw):
        raise ValueError(f"the model input size must be known to place receptive fields, got {in_hw}")
    geometry: dict[int, Any] = {}  # id(layer) -> geometry per axis, or None for a non-spatial output
    for inp in model.inputs:
        geometry[id(keras_adapter.producing_operation(inp))] = [(1, 1, 0), (1, 1, 0)]
    for layer in model.layers:
        if id(layer) in geometry:
            continue
        if not is_spatial(layer):
            geometry[id(layer)] = None
            if layer is target:
                break
            continue
        parents = []
        for tensor in keras.tree.flatten(layer.input):
            geo = geometry.get(id(keras_adapter.producing_operation(tensor)))
            parents.append((geo, tuple(tensor.shape[1:3]) if geo is not None else None))
        if isinstance(layer, keras.Model):
            raise ValueError(f"cannot follow the receptive field into the nested model {layer.name!r}")
        if all(geo is None for geo, _ in parents):
            # A 1x1 map computed from pooled features (the gate of a squeeze-and-excitation block): every
            # unit sees the whole image, there is no local field to follow.
            geometry[id(layer)] = None
        else:
            geometry[id(layer)] = _layer_geometry(layer, parents, tuple(output_shape(layer)[1:3]))
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
        k: how many patches per channel (at most N are returned).
        batch_size: images per forward pass.

    Returns:
        A :class:`TopPatches` (patches, indices, positions, values, boxes), strongest first, or a list of
        them, one per channel, for a sequence of channels. Ties go to the lower image index and, within an
        image, to the first position in row-major order.

    Raises:
        TypeError: a non-int channel, k or batch_size, or non-numeric images.
        ValueError: unknown / non-spatial layer, channel out of range, k or batch_size < 1, or images of the
            wrong shape.

    Reference: Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014.
    """
    check_model(model)
    layer = spatial_layer(model, layer_name)
    single, channels = check_channels(layer, channel)
    k = validation.check_positive_int(k, "k")
    batch_size = validation.check_positive_int(batch_size, "batch_size")
    x = as_batch(model, images, "images", single=False)
    field = receptive_field_geometry(model, layer_name)
    sub = submodel(model, [output_of(layer)])
    best_values, best_flat = [], []
    width = None
    for lo in range(0, len(x), batch_size):
        out = sub(x[lo: lo + batch_size], training=False)
        maps = keras.ops.convert_to_numpy(out)[..., channels]  # (b, H', W', n)
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
