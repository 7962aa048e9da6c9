"""Arithmetic of convolution layers: output size, padding, parameters, multiply-adds, memory, receptive field.

Everything here is plain integer arithmetic and imports neither NumPy nor TensorFlow; the per-layer table of a
whole Keras model (``layer_table``) lives in :mod:`course_lib.graph`, which applies this arithmetic. Sizes
follow Keras: inputs are NHWC, a kernel is ``(KH, KW)`` (``(K,)`` in 1-D, ``(KD, KH, KW)`` in 3-D) and padding
is either a number of zeros per side or one of Keras' strings:

- ``"valid"``: no padding, output ``floor((n - k) / s) + 1``;
- ``"same"``: Keras/TensorFlow pad just enough that the output is ``ceil(n / s)``, putting the odd zero, when
  there is one, after the input (bottom/right).

A dilated kernel (``dilation`` ``d``, Keras's ``dilation_rate``) places its ``k`` taps ``d`` positions apart,
so it spans ``d (k - 1) + 1`` input positions (:func:`effective_kernel_size`) with the same ``k`` weights;
every formula here that takes a ``dilation`` uses that span in place of ``k``.

Conventions used for counting:

- parameters include one bias per filter unless ``bias=False``;
- a multiply-add (MAC) is one product of a weight and an input value added to a running sum. A convolution
  makes ``(output values) x (weights per filter)`` of them; products with zeros introduced by padding are
  counted, because the hardware computes them too, and the bias additions are not (the lectures count the
  same way: a 32x32x3 input, ten 5x5 filters, padding 2 -> 10*32*32 outputs x 75 = 768,000);
- activations are the number of values a layer outputs for one example (the batch axis excluded).

Functions accept an int for a square (or cubic) size or a tuple with one entry per spatial dimension; a tuple
input gives a tuple result. Arguments are checked by :mod:`course_lib.validation`, so a mistake gets the same
error here as anywhere in the kit: a non-int size is a ``TypeError``, a non-positive one a ``ValueError``.
``numpy_cnn`` takes its output sizes and padding from here (``conv_output_size``, ``resolve_padding``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

from .validation import (
    check_bool,
    check_choice,
    check_int,
    check_int_tuple,
    check_positive_int,
    type_error,
    value_error,
)

__all__ = [
    "PADDING_MODES",
    "effective_kernel_size",
    "conv_output_size",
    "same_padding",
    "same_pads",
    "explicit_padding",
    "resolve_padding",
    "conv_params",
    "conv_macs",
    "dense_params",
    "dense_macs",
    "activation_memory",
    "receptive_field",
    "receptive_field_steps",
]

PADDING_MODES = ("same", "valid")


# ----------------------------------------------------------------------------------------------------
# how many spatial dimensions
# ----------------------------------------------------------------------------------------------------
def _ndim_of(*values: Any, default: int | None = None) -> int | None:
    """Spatial dimensions implied by the first tuple among ``values`` (``default`` when all are ints)."""
    for v in values:
        if isinstance(v, (tuple, list)):
            if len(v) == 0:
                raise ValueError(f"a size tuple needs at least one entry, got {tuple(v)!r}")
            return len(v)
    return default


def _sizes(ndim: int | None, **sizes: Any) -> list[tuple[int, ...]]:
    """Each named size as a tuple of positive ints; ``ndim=None`` (no tuple anywhere) expects plain ints."""
    if ndim is None:
        return [(check_positive_int(value, name),) for name, value in sizes.items()]
    return [check_int_tuple(value, name, ndim, minimum=1) for name, value in sizes.items()]


# ----------------------------------------------------------------------------------------------------
# padding
# ----------------------------------------------------------------------------------------------------
def _padding_pair(value: Any, name: str) -> tuple[int, int]:
    """One dimension's padding as (before, after): an int p means (p, p)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise value_error(name, "a non-negative int or a (before, after) pair", tuple(value))
        return (check_int(value[0], f"{name}[0]", minimum=0), check_int(value[1], f"{name}[1]", minimum=0))
    p = check_int(value, name, minimum=0)
    return (p, p)


def explicit_padding(padding, ndim, *, name="padding"):
    """Zeros ``(before, after)`` on each spatial dimension, from a padding given as numbers.

    Args:
        padding: a non-negative int (every side), or a tuple with one entry per dimension, each an int or a
            ``(before, after)`` pair (``ZeroPadding2D``'s format: ``(1, 2)``, ``((1, 2), (0, 1))``). With
            ``ndim=1`` a pair of ints is read as ``(before, after)``.
        ndim: number of spatial dimensions (int >= 1).
        name: the argument's name in error messages (``"pad"`` in ``numpy_cnn``).

    Returns:
        A tuple of ``ndim`` pairs ``(before, after)``.

    Raises:
        TypeError: padding (or an entry) is neither an int nor a tuple.
        ValueError: a negative entry, or the wrong number of entries.
    """
    ndim = check_positive_int(ndim, "ndim")
    if isinstance(padding, (tuple, list)):
        if ndim == 1 and len(padding) == 2 and not any(isinstance(p, (tuple, list)) for p in padding):
            return (_padding_pair(padding, name),)
        if len(padding) != ndim:
            expected = (f"a non-negative int or {ndim} entries (one per spatial dimension), each an int or "
                        "a (before, after) pair")
            raise value_error(name, expected, tuple(padding))
        return tuple(_padding_pair(p, f"{name}[{i}]" if ndim > 1 else name) for i, p in enumerate(padding))
    return (_padding_pair(padding, name),) * ndim


def resolve_padding(padding, size, kernel, stride=1, *, dilation=1, name="padding"):
    """Zeros ``(before, after)`` on each spatial dimension, for any spelling of padding.

    Args:
        padding: as :func:`explicit_padding`, or ``"valid"`` (no zeros) or ``"same"`` (TensorFlow's split,
            :func:`same_pads`, one dimension at a time); strings are case-insensitive.
        size: input size, an int or a tuple ``(h, w, ...)``.
        kernel: window size, an int or a tuple.
        stride: step, an int or a tuple.
        dilation: spacing of the kernel's taps, an int or a tuple; "same" pads for the dilated span
            ``d (k - 1) + 1``, as TensorFlow does.
        name: the argument's name in error messages.

    Returns:
        A tuple with one ``(before, after)`` pair per spatial dimension (one pair when every size is an int).

    Raises:
        TypeError / ValueError: a size that is not a positive int, sizes of different lengths, an unknown
            padding string, or malformed padding (see :func:`explicit_padding`).
    """
    ndim = _ndim_of(size, kernel, stride, dilation, default=None)
    ns, ks, ss, ds = _sizes(ndim, size=size, kernel=kernel, stride=stride, dilation=dilation)
    ndim = len(ns)
    if isinstance(padding, str):
        if check_choice(padding, name, PADDING_MODES, ignore_case=True) == "valid":
            return ((0, 0),) * ndim
        return tuple(same_pads(n, d * (k - 1) + 1, s) for n, k, s, d in zip(ns, ks, ss, ds))
    return explicit_padding(padding, ndim, name=name)


def same_pads(size, kernel, stride=1):
    """TensorFlow's "same" padding along one axis, as ``(before, after)`` zeros.

    "same" means the output has ``ceil(size / stride)`` positions. The padding needed for that,
    ``max((out - 1) * stride + kernel - size, 0)``, is split with the odd zero, when there is one, after the
    input (bottom/right); so with stride 2 Keras often pads asymmetrically (n=8, k=3, s=2 gives (0, 1)).

    Args:
        size: input length along the axis (int >= 1).
        kernel: window length, dilation included (int >= 1).
        stride: step (int >= 1).

    Returns:
        ``(pad_before, pad_after)``.

    Raises:
        TypeError / ValueError: an argument that is not a positive int.
    """
    size = check_positive_int(size, "size")
    kernel = check_positive_int(kernel, "kernel")
    stride = check_positive_int(stride, "stride")
    out = -(-size // stride)  # ceil(size / stride), in integers
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


# ----------------------------------------------------------------------------------------------------
# output size
# ----------------------------------------------------------------------------------------------------
def _output_size_1d(n: int, k: int, s: int, pads: tuple[int, int], strict: bool, where: str,
                    d: int = 1) -> int:
    """``floor((n + before + after - d(k - 1) - 1) / s) + 1``: the one place the output-size formula is
    written (``d = 1``: ``floor((n + before + after - k) / s) + 1``)."""
    before, after = pads
    padded = n + before + after
    pad_text = f"2*{before}" if before == after else f"{before} + {after}"
    reach = d * (k - 1) + 1  # input positions one window spans
    if reach > padded:
        what = f"kernel{where} {k}" if d == 1 else f"dilated kernel{where} {k} at dilation {d} (span {reach})"
        raise ValueError(
            f"{what} is larger than the padded input{where} {padded} "
            f"(n + padding = {n} + {pad_text}): no window fits"
        )
    span = padded - reach
    if strict and span % s != 0:
        if d == 1:
            formula = f"(n + 2p - k)/s + 1 = ({n} + {pad_text} - {k})/{s} + 1"
            window = f"a window of {k}"
        else:
            formula = f"(n + 2p - d(k - 1) - 1)/s + 1 = ({n} + {pad_text} - {d}*{k - 1} - 1)/{s} + 1"
            window = f"a window of {k} at dilation {d} (span {reach})"
        raise ValueError(
            f"{window} at stride {s} does not tile the input{where} exactly: "
            f"{formula} = {span}/{s} + 1 = {span / s + 1:.4g}, "
            f"not an integer ({span % s} input position(s) left over at the end). Change the stride, the "
            f"kernel or the padding, or pass strict=False to drop the leftover positions (floor)."
        )
    return span // s + 1


def conv_output_size(n, kernel, stride=1, padding=0, *, dilation=1, strict=False):
    """Size of a convolution's (or pooling's) output along each spatial dimension.

    The general formula is ``floor((n + 2p - k) / s) + 1``. Pooling layers follow the same rule, so this also
    gives the output of ``MaxPooling2D(pool_size=k, strides=s, padding=...)``. A dilated kernel spans
    ``d (k - 1) + 1`` positions, which takes the place of ``k``: ``floor((n + 2p - d(k - 1) - 1) / s) + 1``
    (Keras's ``Conv2D(dilation_rate=d)``; Keras accepts dilation > 1 only at stride 1, ``tf.nn.conv2d`` with
    any stride).

    Args:
        n: input size, an int, or a tuple ``(h, w)`` (any number of spatial dimensions) for a tuple result.
        kernel: window size, an int or a tuple with one entry per dimension.
        stride: step between windows, an int or a tuple.
        padding: zeros added on each side: an int, ``"valid"`` (0), ``"same"`` (Keras: output ``ceil(n/s)``),
            a ``(before, after)`` pair of ints when ``n``, ``kernel`` and ``stride`` are all ints, or else a
            tuple with one entry per dimension, each an int or a ``(before, after)`` pair (``ZeroPadding2D``'s
            format).
        dilation: spacing of the kernel's taps (``d``), an int or a tuple; 1 (the default) is an ordinary
            kernel.
        strict: if True, raise when the windows do not tile the padded input exactly, that is when
            ``(n + 2p - k)`` is not a multiple of ``s`` (a 7x7 input with a 3x3 kernel at stride 3 leaves one
            row and one column unused). With ``"same"`` the padding is chosen to fit, so nothing is raised.

    Returns:
        An int, or a tuple of ints when any of ``n``, ``kernel``, ``stride`` is a tuple.

    Raises:
        TypeError: a size is not an int (or tuple of ints), or padding has the wrong type.
        ValueError: a non-positive size, kernel, stride or dilation, negative padding, an unknown padding
            string, tuples of different lengths, a (dilated) kernel larger than the padded input, or (strict)
            a window that does not fit.

    Reference: Dumoulin and Visin, "A guide to convolution arithmetic for deep learning", arXiv:1603.07285
        (section 5, dilated convolutions); Yu and Koltun, "Multi-Scale Context Aggregation by Dilated
        Convolutions", ICLR 2016.
    """
    # With int sizes, a tuple of two ints is one (before, after) pair; otherwise padding has one entry per
    # dimension.
    scalar_pair = (
        isinstance(padding, (tuple, list))
        and not any(isinstance(v, (tuple, list)) for v in (n, kernel, stride, dilation, *padding))
    )
    ndim = _ndim_of(n, kernel, stride, dilation, None if scalar_pair else padding, default=None)
    dims = ndim or 1  # everything scalar: a 1-D answer, returned as an int
    ns, ks, ss, ds = _sizes(ndim, n=n, kernel=kernel, stride=stride, dilation=dilation)
    pads = resolve_padding(padding, ns, ks, ss, dilation=ds)
    # "same" padding is chosen so that the windows fit: there is nothing for strict to catch.
    strict = strict and not (isinstance(padding, str) and padding.lower() == "same")
    out = tuple(
        _output_size_1d(ns[i], ks[i], ss[i], pads[i], strict, f"[{i}]" if dims > 1 else "", ds[i])
        for i in range(dims)
    )
    return out if ndim else out[0]


def effective_kernel_size(kernel, dilation=1):
    """Input positions a dilated kernel spans: ``d (k - 1) + 1`` (``k`` taps with ``d - 1`` gaps between
    neighbours).

    A 3x3 kernel at dilation 2 spans 5x5 and at dilation 4 spans 9x9, still with 9 weights; this span is what
    replaces ``k`` in the output-size formula and in "same" padding.

    Args:
        kernel: number of taps, an int or a tuple ``(kh, kw, ...)``.
        dilation: spacing of the taps, an int or a tuple; 1 gives ``k`` back.

    Returns:
        An int, or a tuple when either argument is a tuple.

    Raises:
        TypeError: an argument that is not an int (or tuple of ints).
        ValueError: a non-positive entry, or tuples of different lengths.

    Reference: Yu and Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions", ICLR 2016.
    """
    ndim = _ndim_of(kernel, dilation, default=None)
    ks, ds = _sizes(ndim, kernel=kernel, dilation=dilation)
    spans = tuple(d * (k - 1) + 1 for k, d in zip(ks, ds))
    return spans if ndim else spans[0]


def same_padding(kernel, *, asymmetric=False):
    """Zeros per side that keep the size unchanged for a stride-1 convolution: ``(k - 1) / 2``.

    An even kernel cannot be centred: ``k - 1`` zeros must be split unevenly. Keras ("same") puts the extra
    zero after the input; ask for that split with ``asymmetric=True``.

    Args:
        kernel: kernel size, an int or a tuple ``(kh, kw, ...)``.
        asymmetric: if True, return ``(before, after)`` pairs, ``((k - 1) // 2, k // 2)``, which also work for
            even kernels.

    Returns:
        An int per dimension (a tuple for a tuple kernel), or ``(before, after)`` pairs when ``asymmetric``.

    Raises:
        TypeError: kernel is not an int or tuple of ints.
        ValueError: kernel is not positive, or is even and ``asymmetric`` is False.
    """

    def one(k: int, where: str) -> Any:
        if asymmetric:
            return ((k - 1) // 2, k // 2)
        if k % 2 == 0:
            raise ValueError(
                f"kernel{where} {k} is even: no symmetric padding keeps the size at stride 1 "
                f"(it needs {k - 1} zeros in total). Use same_padding(..., asymmetric=True) for Keras' "
                f"split ({(k - 1) // 2} before, {k // 2} after)."
            )
        return (k - 1) // 2

    if isinstance(kernel, (tuple, list)):
        ks = check_int_tuple(kernel, "kernel", len(kernel), minimum=1)
        return tuple(one(k, f"[{i}]") for i, k in enumerate(ks))
    return one(check_positive_int(kernel, "kernel"), "")


# ----------------------------------------------------------------------------------------------------
# parameters, multiply-adds, memory
# ----------------------------------------------------------------------------------------------------
def conv_params(kernel, in_channels, filters, *, bias=True, ndim=2):
    """Learnable parameters of a convolution layer: ``prod(kernel) * in_channels * filters (+ filters)``.

    Args:
        kernel: kernel size, an int (square for ``ndim=2``, cubic for ``ndim=3``) or a tuple ``(kh, kw)``,
            ``(k,)``, ``(kd, kh, kw)``.
        in_channels: channels (depth) of the input; every filter spans all of them.
        filters: number of filters, i.e. output channels.
        bias: count one bias per filter.
        ndim: spatial dimensions an int kernel stands for (ignored for a tuple kernel).

    Returns:
        The number of parameters (int). The layer's weight tensor has shape
        ``(*kernel, in_channels, filters)``.

    Raises:
        TypeError / ValueError: a size that is not a positive int.
    """
    ndim = check_positive_int(ndim, "ndim")
    ks = check_int_tuple(kernel, "kernel", _ndim_of(kernel, default=ndim), minimum=1)
    c_in = check_positive_int(in_channels, "in_channels")
    c_out = check_positive_int(filters, "filters")
    bias = check_bool(bias, "bias")
    return math.prod(ks) * c_in * c_out + (c_out if bias else 0)


def conv_macs(input_hw, kernel, in_channels, filters, stride=1, padding=0, *, dilation=1):
    """Multiply-adds of a convolution on one example: ``prod(out size) * filters * prod(kernel) * C_in``.

    Args:
        input_hw: spatial size of the input, an int (square 2-D) or a tuple ``(h, w)`` (``(n,)`` in 1-D,
            ``(d, h, w)`` in 3-D).
        kernel: kernel size, an int or a tuple.
        in_channels: input channels.
        filters: output channels.
        stride: an int or a tuple.
        padding: as in :func:`conv_output_size` (int, ``"same"``, ``"valid"``, per-dimension tuple).
        dilation: spacing of the kernel's taps, an int or a tuple. It changes the output size only: each
            output still takes ``prod(kernel) * C_in`` products.

    Returns:
        The number of multiply-adds (int). Products with padded zeros are counted; bias additions are not.

    Raises:
        TypeError / ValueError: as :func:`conv_output_size`, and for non-positive channel counts.
    """
    ndim = _ndim_of(input_hw, kernel, stride, dilation, default=2)
    ns = check_int_tuple(input_hw, "input_hw", ndim, minimum=1)
    ks = check_int_tuple(kernel, "kernel", ndim, minimum=1)
    c_in = check_positive_int(in_channels, "in_channels")
    c_out = check_positive_int(filters, "filters")
    out = conv_output_size(ns, ks, stride, padding, dilation=dilation)
    return math.prod(out) * c_out * math.prod(ks) * c_in


def dense_params(in_features, units, *, bias=True):
    """Parameters of a fully connected layer: ``in_features * units (+ units)``.

    Args:
        in_features: length of the (flattened) input vector.
        units: number of output units.
        bias: count one bias per unit.

    Returns:
        The number of parameters (int).

    Raises:
        TypeError / ValueError: a size that is not a positive int.
    """
    n_in = check_positive_int(in_features, "in_features")
    n_out = check_positive_int(units, "units")
    bias = check_bool(bias, "bias")
    return n_in * n_out + (n_out if bias else 0)


def dense_macs(in_features, units):
    """Multiply-adds of a fully connected layer on one example: ``in_features * units``.

    Raises:
        TypeError / ValueError: a size that is not a positive int.
    """
    return check_positive_int(in_features, "in_features") * check_positive_int(units, "units")


def activation_memory(shape, *, bytes_per_value=4):
    """Bytes needed to hold one activation tensor (float32 by default).

    Args:
        shape: the tensor's shape, a tuple of positive ints, e.g. ``(224, 224, 64)`` for one example. Leave
            the batch axis out, or give it as a number; ``None`` entries are rejected.
        bytes_per_value: 4 for float32, 2 for float16/bfloat16, 8 for float64.

    Returns:
        ``prod(shape) * bytes_per_value`` (int).

    Raises:
        TypeError: shape is not a sequence of ints (a ``None`` batch axis included).
        ValueError: a non-positive entry or ``bytes_per_value``.
    """
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)):
        raise type_error("shape", "a tuple of positive ints", shape)
    dims = tuple(check_positive_int(d, f"shape[{i}]") for i, d in enumerate(shape))
    return math.prod(dims) * check_positive_int(bytes_per_value, "bytes_per_value")


# ----------------------------------------------------------------------------------------------------
# receptive field
# ----------------------------------------------------------------------------------------------------
_LAYER = "a (kernel, stride) pair or a (kernel, stride, dilation) triple"


def _layer_triples(layers: Any) -> list[tuple[Any, Any, Any]]:
    """Each layer as ``(kernel, stride, dilation)``; a pair gets dilation 1."""
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Iterable):
        raise type_error("layers", "a sequence of (kernel, stride) pairs or (kernel, stride, dilation) "
                         "triples", layers)
    triples = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, (tuple, list)):
            raise type_error(f"layers[{i}]", _LAYER, layer)
        if len(layer) not in (2, 3):
            raise value_error(f"layers[{i}]", _LAYER, tuple(layer))
        triples.append((layer[0], layer[1], layer[2] if len(layer) == 3 else 1))
    return triples


def receptive_field_steps(layers):
    """Receptive field and jump after each layer of a stack (the working behind :func:`receptive_field`).

    With ``r_0 = 1`` and ``j_0 = 1`` (one input pixel, neighbours one pixel apart), a layer with kernel ``k``
    and stride ``s`` gives ``r_l = r_{l-1} + (k - 1) * j_{l-1}`` and ``j_l = j_{l-1} * s``: each extra tap of
    the kernel reaches one more unit of the previous layer, and those units are ``j_{l-1}`` input pixels
    apart. A dilation ``d`` puts the taps ``d`` units apart, so the layer spans ``d (k - 1) + 1`` units:
    ``r_l = r_{l-1} + d (k - 1) * j_{l-1}`` (the jump is unchanged). The receptive field is the extent (span)
    of the pixels a unit depends on, not their number: with dilated layers the pixels inside the span can
    have holes. The set of pixels does not depend on the order of the layers (each offset is a sum of one tap
    offset per layer); 3x3 layers with dilations 2, 4, 8, say, read only every second pixel in any order,
    and adding a dilation-1 layer fills the holes.

    Args:
        layers: a sequence of ``(kernel, stride)`` pairs or ``(kernel, stride, dilation)`` triples, ints or
            ``(h, w)`` tuples, first layer first. Pooling layers count like convolutions (their window is the
            kernel); padding does not change the size.

    Returns:
        A list with one dict per layer: ``kernel``, ``stride``, ``dilation``, ``rf`` (receptive field in input
        pixels after this layer) and ``jump`` (input pixels between neighbouring outputs of this layer); ints,
        or tuples when any size is a tuple.

    Raises:
        TypeError / ValueError: a malformed pair or triple, a non-positive kernel, stride or dilation.

    Reference: Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks",
        Distill 2019.
    """
    triples = _layer_triples(layers)
    ndim = _ndim_of(*[v for triple in triples for v in triple], default=None)
    dims = ndim or 1
    rf = [1] * dims
    jump = [1] * dims
    steps = []

    def pack(values: list[int]) -> Any:
        return tuple(values) if ndim else values[0]

    for i, (kernel, stride, dilation) in enumerate(triples):
        ks = check_int_tuple(kernel, f"layers[{i}] kernel", dims, minimum=1)
        ss = check_int_tuple(stride, f"layers[{i}] stride", dims, minimum=1)
        ds = check_int_tuple(dilation, f"layers[{i}] dilation", dims, minimum=1)
        rf = [r + d * (k - 1) * j for r, k, d, j in zip(rf, ks, ds, jump)]
        jump = [j * s for j, s in zip(jump, ss)]
        steps.append({"kernel": pack(list(ks)), "stride": pack(list(ss)), "dilation": pack(list(ds)),
                      "rf": pack(rf), "jump": pack(jump)})
    return steps


def receptive_field(layers):
    """Receptive field of one unit at the top of a stack of convolution/pooling layers: the width, in input
    pixels, of the span of input pixels it depends on (with dilated layers that span can have holes; see
    :func:`receptive_field_steps`).

    Without strides it grows by ``k - 1`` per layer (``1 + L(K - 1)`` for ``L`` layers of size ``K``); after a
    stride-``s`` layer every later layer's growth is multiplied by ``s``, which is why downsampling lets a
    network see the whole image with few layers. Dilation does it without downsampling: a layer of dilation
    ``d`` adds ``d (k - 1)``, so 3x3 layers with dilations 1, 2, 4, ..., ``2^(L-1)`` span ``2^(L+1) - 1``
    pixels, without holes, at full resolution.

    Args:
        layers: ``(kernel, stride)`` pairs or ``(kernel, stride, dilation)`` triples, first layer first, as
            for :func:`receptive_field_steps`.

    Returns:
        The receptive field (int, or tuple per dimension when any size is a tuple); 1 for an empty stack.

    Raises:
        TypeError / ValueError: as :func:`receptive_field_steps` (same reference).
    """
    steps = receptive_field_steps(layers)
    if not steps:
        return 1
    return steps[-1]["rf"]
