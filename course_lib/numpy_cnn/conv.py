"""Convolution from scratch in NumPy: 2-D correlation/convolution and the batched NHWC conv layer.

Layout is Keras's everywhere: images ``(N, H, W, C)``, kernels ``(KH, KW, C_in, C_out)``. Like every deep
learning library, the "convolution" layer computes a cross-correlation (the kernel is not flipped);
``convolve2d`` is the textbook convolution with the flip, for the lectures' hand-worked examples.

Two implementations of the layer, which agree to round-off:
    "loop"    four nested Python loops, written to be read next to the formula (slow).
    "im2col"  every receptive field copied into one row of a matrix, then one matrix product (fast).

Both take a ``dilation`` (Keras's ``dilation_rate``): the kernel's taps are read ``d`` pixels apart, so a
window spans ``d (k - 1) + 1`` pixels with the same ``k`` weights; the backward pass follows the same taps.

Reference: K. Chellapilla, S. Puri, P. Simard, "High Performance Convolutional Neural Networks for Document
Processing", IWFHR 2006 (the unrolling trick now called im2col); F. Yu, V. Koltun, "Multi-Scale Context
Aggregation by Dilated Convolutions", ICLR 2016 (dilation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import shapes
from ..validation import check_array, check_choice, check_int_tuple, type_error

METHODS = ("im2col", "loop")
MODES_2D = ("valid", "same", "full")

Pads = tuple[tuple[int, int], tuple[int, int]]


# --------------------------------------------------------------------------------------------------- checks
# Generic argument checks come from course_lib.validation and the size arithmetic from course_lib.shapes;
# what stays here is specific to arrays in NHWC (shared with pool.py and layers.py).


def _float_dtype(*arrays: np.ndarray) -> np.dtype:
    """float32 stays float32 (fast BLAS, like TF); anything else (ints, float64) computes in float64."""
    dtype = np.result_type(*arrays)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _check_maps(x: Any, name: str, layout: str) -> np.ndarray:
    """A batch of feature maps: a numeric 4-D array whose images are not empty."""
    arr = check_array(x, name, ndim=4, layout=layout)
    if 0 in arr.shape[1:3]:
        raise ValueError(f"{name} must hold images of at least 1x1 pixels, got shape {arr.shape}")
    return arr


def _check_cache(cache: Any, keys: tuple[str, ...], producer: str) -> dict:
    """The cache a backward pass receives must be the dict its forward pass returned."""
    expected = f"the dict returned by {producer}"
    if not isinstance(cache, dict):
        raise type_error("cache", expected, cache)
    missing = [key for key in keys if key not in cache]
    if missing:
        raise ValueError(f"cache must be {expected}, got a dict without {', '.join(map(repr, missing))}")
    return cache


def _check_dout(dout: Any, shape: tuple[int, ...], dtype: Any = None) -> np.ndarray:
    """The upstream gradient, as an array of the forward output's shape (in ``dtype``, default float)."""
    dout = check_array(dout, "dout")
    if dout.shape != tuple(shape):
        raise ValueError(f"dout must have the forward output's shape {tuple(shape)}, got {dout.shape}")
    return dout.astype(_float_dtype(dout) if dtype is None else dtype, copy=False)


def resolve_padding(pad: Any, in_hw: tuple[int, int], kernel_hw: tuple[int, int],
                    stride_hw: tuple[int, int], name: str = "pad") -> Pads:
    """Turn any accepted padding spelling into ``((top, bottom), (left, right))``.

    A 2-D view of :func:`course_lib.shapes.resolve_padding`, where the padding arithmetic lives.

    Args:
        pad: a non-negative int (all four sides), a pair ``(ph, pw)``, a pair of pairs
            ``((top, bottom), (left, right))``, or "valid" (0) / "same" (TensorFlow's rule, ``same_pads``).
        in_hw: input (H, W).
        kernel_hw: window (KH, KW).
        stride_hw: strides (SH, SW).
        name: argument name used in error messages.

    Returns:
        ((top, bottom), (left, right)), all ints >= 0.

    Raises:
        TypeError: padding of the wrong type (a float, None).
        ValueError: negative or malformed padding, or an unknown string.
    """
    return shapes.resolve_padding(pad, tuple(in_hw), tuple(kernel_hw), tuple(stride_hw), name=name)


def output_hw(in_hw: tuple[int, int], kernel_hw: tuple[int, int], stride_hw: tuple[int, int], pads: Pads,
              kernel_name: str = "kernel", dilation_hw: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """Output (OH, OW) of a sliding window (``shapes.conv_output_size``), naming the window in errors.

    Args:
        in_hw: input (H, W); kernel_hw: window (KH, KW); stride_hw: (SH, SW).
        pads: ((top, bottom), (left, right)).
        kernel_name: what the window is called in the error message ("w", "size", ...).
        dilation_hw: spacing of the window's taps (DH, DW).

    Returns:
        (floor((H + top + bottom - DH (KH - 1) - 1) / SH) + 1, same for W).

    Raises:
        ValueError: the (dilated) window is larger than the padded input.
    """
    padded = (in_hw[0] + sum(pads[0]), in_hw[1] + sum(pads[1]))
    span = shapes.effective_kernel_size(tuple(kernel_hw), tuple(dilation_hw))
    if span[0] > padded[0] or span[1] > padded[1]:
        # Checked here rather than left to shapes so that the message names this op's argument (w, size).
        window = f"{kernel_name} window {tuple(kernel_hw)}"
        if tuple(dilation_hw) != (1, 1):
            window += f" at dilation {tuple(dilation_hw)} spans {span} and"
        raise ValueError(f"{window} is larger than the padded input {padded} "
                         f"(input {tuple(in_hw)}, padding {pads})")
    return shapes.conv_output_size(tuple(in_hw), tuple(kernel_hw), tuple(stride_hw), pads,
                                   dilation=tuple(dilation_hw))


def _windows(xp: np.ndarray, out_hw: tuple[int, int], kernel_hw: tuple[int, int],
             stride_hw: tuple[int, int], dilation_hw: tuple[int, int] = (1, 1)) -> np.ndarray:
    """Read-only view (N, OH, OW, KH, KW, C) of every window's taps in the padded NHWC array, without copying.

    Windows start ``stride`` pixels apart; within a window, neighbouring taps are ``dilation`` pixels apart.
    """
    sn, sh, sw, sc = xp.strides
    return as_strided(
        xp,
        shape=(xp.shape[0], out_hw[0], out_hw[1], kernel_hw[0], kernel_hw[1], xp.shape[3]),
        strides=(sn, sh * stride_hw[0], sw * stride_hw[1], sh * dilation_hw[0], sw * dilation_hw[1], sc),
        writeable=False,
    )


def _window_slice(start: int, count: int, step: int) -> slice:
    """Indices start, start + step, ..., (count of them): the inputs one kernel tap touches."""
    return slice(start, start + (count - 1) * step + 1, step)


# ------------------------------------------------------------------------------------------------------ 2-D


def pad2d(x: Any, pad: Any, value: float = 0.0) -> np.ndarray:
    """Pad the two spatial axes of an image or a batch with a constant.

    Args:
        x: ``(H, W)``, ``(H, W, C)`` treated as one image, or ``(N, H, W, C)``; a 3-D array is taken as HWC.
        pad: a non-negative int, a pair ``(ph, pw)`` or ``((top, bottom), (left, right))``.
        value: the fill value (0 for convolution, -inf for max pooling).

    Returns:
        The padded array, spatial axes grown by the padding: ``(H + top + bottom, W + left + right, ...)``.

    Raises:
        TypeError: pad is a string or not made of ints.
        ValueError: x has fewer than 2 or more than 4 axes, or the padding is negative or malformed.
    """
    arr = check_array(x, "x", ndim=(2, 3, 4), layout="(H, W), (H, W, C) or (N, H, W, C)")
    if isinstance(pad, str):
        # "same"/"valid" depend on a kernel and a stride, which pad2d does not have.
        raise type_error("pad", "a non-negative int or pairs of them (pad2d takes no 'same'/'valid')", pad)
    pads = shapes.explicit_padding(pad, 2, name="pad")
    spatial_axis = 1 if arr.ndim == 4 else 0
    widths = [(0, 0)] * arr.ndim
    widths[spatial_axis] = pads[0]
    widths[spatial_axis + 1] = pads[1]
    return np.pad(arr, widths, mode="constant", constant_values=value)


def _check_2d(x: Any, k: Any, mode: Any) -> tuple[np.ndarray, np.ndarray, str]:
    x = check_array(x, "x", ndim=2, layout="(H, W)")
    k = check_array(k, "k", ndim=2, layout="(KH, KW)")
    mode = check_choice(mode, "mode", MODES_2D, ignore_case=True)
    if mode == "valid" and (k.shape[0] > x.shape[0] or k.shape[1] > x.shape[1]):
        raise ValueError(f"k of shape {k.shape} is larger than x of shape {x.shape} for mode 'valid'")
    if 0 in k.shape or 0 in x.shape:
        raise ValueError(f"x and k must be non-empty, got shapes {x.shape} and {k.shape}")
    return x, k, mode


def _mode_pads(kernel_hw: tuple[int, int], mode: str, *, flipped: bool) -> Pads:
    """Zeros around x for the 2-D modes: none ("valid"), ``k - 1`` per side ("full"), or ``k - 1`` split for
    "same": Keras's split (odd zero after, ``shapes.same_padding``) for correlation; convolution mirrors it,
    because flipping an even kernel moves its centre one pixel back (SciPy's convention)."""
    if mode == "valid":
        return (0, 0), (0, 0)
    if mode == "full":
        return (kernel_hw[0] - 1, kernel_hw[0] - 1), (kernel_hw[1] - 1, kernel_hw[1] - 1)
    split = shapes.same_padding(tuple(kernel_hw), asymmetric=True)
    if flipped:
        split = tuple((after, before) for before, after in split)
    return split[0], split[1]


def _correlate_padded(x: np.ndarray, k: np.ndarray, pads: Pads) -> np.ndarray:
    xp = np.pad(x, pads)
    windows = np.lib.stride_tricks.sliding_window_view(xp, k.shape)  # (OH, OW, KH, KW)
    return np.tensordot(windows, k, axes=((2, 3), (0, 1)))


def correlate2d(x: Any, k: Any, mode: str = "valid") -> np.ndarray:
    """2-D cross-correlation, ``out[a, b] = sum_ij x[a + i, b + j] k[i, j]``: what conv layers compute.

    Args:
        x: image ``(H, W)``.
        k: kernel ``(KH, KW)``, any shape, square or not.
        mode: "valid" ``(H-KH+1, W-KW+1)``, "full" ``(H+KH-1, W+KW-1)`` (zero padding KH-1, KW-1 on each
            side), or "same" ``(H, W)``; for even kernels "same" pads one pixel more at the bottom/right,
            which matches both ``scipy.signal.correlate2d`` and TensorFlow's stride-1 "same".

    Returns:
        The correlation, dtype of ``x * k`` (integers stay integers).

    Raises:
        TypeError: x or k not numeric, or mode not a string.
        ValueError: x or k not 2-D, empty, k larger than x in "valid" mode, or an unknown mode.
    """
    x, k, mode = _check_2d(x, k, mode)
    return _correlate_padded(x, k, _mode_pads(k.shape, mode, flipped=False))


def convolve2d(x: Any, k: Any, mode: str = "valid") -> np.ndarray:
    """2-D convolution, ``out[a, b] = sum_ij x[a - i, b - j] k[i, j]``: correlation with the kernel flipped.

    Args:
        x: image ``(H, W)``.
        k: kernel ``(KH, KW)``.
        mode: "valid", "same" or "full", sizes as in ``correlate2d``; "same" keeps the flipped kernel's centre
            on each pixel, as ``scipy.signal.convolve2d`` does.

    Returns:
        The convolution, dtype of ``x * k``.

    Raises:
        ValueError: as ``correlate2d``.
    """
    x, k, mode = _check_2d(x, k, mode)
    return _correlate_padded(x, k[::-1, ::-1], _mode_pads(k.shape, mode, flipped=True))


# ------------------------------------------------------------------------------------------ the conv layer


def _check_conv_inputs(x: Any, w: Any, b: Any, stride: Any, pad: Any, method: Any, dilation: Any = 1):
    x = _check_maps(x, "x", "(N, H, W, C_in)")
    w = check_array(w, "w", ndim=4, layout="(KH, KW, C_in, C_out)")
    if b is None:
        b = np.zeros(w.shape[3], dtype=w.dtype)
    b = check_array(b, "b")
    if x.shape[3] != w.shape[2]:
        # A channels-first array (PyTorch's NCHW) is the usual cause: say which axes are read as channels.
        hint = ""
        if x.shape[1] == w.shape[2]:
            hint = "; x looks channels-first (N, C, H, W): pass x.transpose(0, 2, 3, 1)"
        raise ValueError(
            f"channel mismatch: the layout is NHWC as in Keras, x is (N, H, W, C) and w is "
            f"(KH, KW, C_in, C_out), so C must equal C_in; got C={x.shape[3]} (x.shape={x.shape}) and "
            f"C_in={w.shape[2]} (w.shape={w.shape}){hint}"
        )
    if b.shape != (w.shape[3],):
        raise ValueError(f"b must have shape (C_out,) = ({w.shape[3]},), got {b.shape}")
    if min(w.shape[:2]) < 1:
        raise ValueError(f"w must have a non-empty window, got shape {w.shape}")
    stride_hw = check_int_tuple(stride, "stride", 2, minimum=1)
    dilation_hw = check_int_tuple(dilation, "dilation", 2, minimum=1)
    method = check_choice(method, "method", METHODS, ignore_case=True)
    # "same" pads for the span of the dilated window, as TensorFlow does.
    span_hw = shapes.effective_kernel_size(tuple(w.shape[:2]), dilation_hw)
    pads = resolve_padding(pad, x.shape[1:3], span_hw, stride_hw, "pad")
    out_hw = output_hw(x.shape[1:3], w.shape[:2], stride_hw, pads, "w", dilation_hw)
    return x, w, b, stride_hw, dilation_hw, pads, out_hw, method


def conv_forward(x: Any, w: Any, b: Any = None, stride: Any = 1, pad: Any = 0,
                 method: str = "im2col", *, dilation: Any = 1) -> tuple[np.ndarray, dict]:
    """Forward pass of a 2-D convolution layer (cross-correlation, as in Keras ``Conv2D``).

    ``out[n, i, j, f] = b[f] + sum_{p, q, c} xp[n, i*SH + p*DH, j*SW + q*DW, c] * w[p, q, c, f]`` with ``xp``
    the zero-padded input and ``(DH, DW)`` the dilation (1: the taps are neighbours).

    Args:
        x: input ``(N, H, W, C_in)``.
        w: kernels ``(KH, KW, C_in, C_out)``, Keras's layout; non-square kernels are fine.
        b: biases ``(C_out,)``; None means zeros.
        stride: a positive int or a pair ``(SH, SW)``.
        pad: a non-negative int, ``(ph, pw)``, ``((top, bottom), (left, right))``, "valid" or "same" (TF's
            rule: output ``ceil(H / SH)``, odd padding pixel at the bottom/right).
        method: "im2col" (one matrix product) or "loop" (explicit loops, for reading and checking).
        dilation: spacing of the kernel's taps, a positive int or a pair ``(DH, DW)`` (Keras's
            ``dilation_rate``, ``tf.nn.conv2d``'s ``dilations``); a window then spans ``DH (KH - 1) + 1``
            rows. Unlike Keras's ``Conv2D``, any stride may go with it, as in ``tf.nn.conv2d``.

    Returns:
        ``(out, cache)``: out ``(N, OH, OW, C_out)`` with ``OH = (H + top + bottom - DH (KH - 1) - 1) // SH +
        1`` (``(H + top + bottom - KH) // SH + 1`` without dilation); cache is what ``conv_backward`` needs.

    Raises:
        TypeError: a non-numeric array, a stride, dilation or padding that is not made of ints, a method that
            is not a string.
        ValueError: wrong number of axes, channel mismatch, b of the wrong shape, non-positive stride or
            dilation, bad padding, (dilated) window larger than the padded input, or an unknown method.

    Reference: F. Yu, V. Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions", ICLR 2016.
    """
    x, w, b, stride_hw, dilation_hw, pads, out_hw, method = _check_conv_inputs(x, w, b, stride, pad, method,
                                                                               dilation)
    dtype = _float_dtype(x, w, b)
    x, w, b = x.astype(dtype, copy=False), w.astype(dtype, copy=False), b.astype(dtype, copy=False)
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    n = x.shape[0]
    kh, kw, c_in, c_out = w.shape
    cache = {"x_shape": x.shape, "w": w, "stride": stride_hw, "pads": pads, "out_hw": out_hw,
             "method": method, "dilation": dilation_hw}
    if method == "im2col":
        # (N*OH*OW, KH*KW*C_in): row r holds the receptive field of output pixel r, in w's (KH, KW, C) order,
        # so that the whole layer is one GEMM with w reshaped to (KH*KW*C_in, C_out).
        windows = _windows(xp, out_hw, (kh, kw), stride_hw, dilation_hw)
        cols = windows.reshape(n * out_hw[0] * out_hw[1], kh * kw * c_in)
        out = cols @ w.reshape(kh * kw * c_in, c_out)
        out += b
        cache["cols"] = cols
        return out.reshape(n, out_hw[0], out_hw[1], c_out), cache
    out = np.empty((n, out_hw[0], out_hw[1], c_out), dtype=dtype)
    sh, sw = stride_hw
    dil_h, dil_w = dilation_hw
    span_h, span_w = dil_h * (kh - 1) + 1, dil_w * (kw - 1) + 1
    for i_n in range(n):
        for i in range(out_hw[0]):
            for j in range(out_hw[1]):
                # the KH x KW taps of window (i, j), DH and DW pixels apart
                field = xp[i_n, i * sh:i * sh + span_h:dil_h, j * sw:j * sw + span_w:dil_w, :]
                for f in range(c_out):
                    out[i_n, i, j, f] = np.sum(field * w[:, :, :, f]) + b[f]
    cache["xp"] = xp
    return out, cache


def conv_backward(dout: Any, cache: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of ``conv_forward``.

    Each weight multiplies many inputs, so its gradient sums ``x * dout`` over every place it was used (a
    correlation of x with dout); each input feeds several outputs, so its gradient gathers ``w * dout`` from
    all of them (for stride 1, a full convolution of dout with the kernel, i.e. a correlation with the kernel
    flipped). With dilation the same holds tap by tap: tap ``(p, q)`` read the inputs ``(p*DH, q*DW)`` from
    each window's corner, and its gradient goes back there.

    Args:
        dout: upstream gradient ``(N, OH, OW, C_out)``.
        cache: the cache returned by ``conv_forward``.

    Returns:
        ``(dx, dw, db)`` with shapes ``(N, H, W, C_in)``, ``(KH, KW, C_in, C_out)``, ``(C_out,)``.

    Raises:
        TypeError: cache is not a dict.
        ValueError: dout's shape does not match the forward output, or cache is not a conv cache.
    """
    cache = _check_cache(cache, ("x_shape", "w", "stride", "pads", "out_hw", "method", "dilation"),
                         "conv_forward")
    w = cache["w"]
    kh, kw, c_in, c_out = w.shape
    n, h, wid, _ = cache["x_shape"]
    (top, bottom), (left, right) = cache["pads"]
    sh, sw = cache["stride"]
    dil_h, dil_w = cache["dilation"]
    oh, ow = cache["out_hw"]
    dout = _check_dout(dout, (n, oh, ow, c_out), w.dtype)
    hp, wp = h + top + bottom, wid + left + right
    if cache["method"] == "im2col":
        dout2d = dout.reshape(n * oh * ow, c_out)
        db = np.ones(n * oh * ow, dtype=w.dtype) @ dout2d  # a BLAS matrix-vector product: the sum over rows
        dw = (cache["cols"].T @ dout2d).reshape(w.shape)
        # col2im. dcols[t*C_in + c, :] is what tap t = (p, q) sends back to channel c of every window's input.
        # Scattering into a channel-first buffer keeps each strided add's inner loop OW long rather than C_in
        # (3 for RGB), which makes the KH*KW adds several times faster; no slow np.add.at is needed.
        dcols = w.reshape(kh * kw * c_in, c_out) @ dout2d.T  # (KH*KW*C_in, N*OH*OW)
        dxp_cf = np.zeros((c_in, n, hp, wp), dtype=w.dtype)
        for p in range(kh):
            for q in range(kw):
                tap = (p * kw + q) * c_in
                dxp_cf[:, :, _window_slice(p * dil_h, oh, sh), _window_slice(q * dil_w, ow, sw)] += (
                    dcols[tap:tap + c_in].reshape(c_in, n, oh, ow))
        dx = dxp_cf[:, :, top:top + h, left:left + wid].transpose(1, 2, 3, 0)
        return np.ascontiguousarray(dx), dw, db
    db = dout.sum(axis=(0, 1, 2))
    xp = cache["xp"]
    dxp = np.zeros((n, hp, wp, c_in), dtype=w.dtype)
    dw = np.zeros_like(w)
    span_h, span_w = dil_h * (kh - 1) + 1, dil_w * (kw - 1) + 1
    for i_n in range(n):
        for i in range(oh):
            for j in range(ow):
                rows, cols = slice(i * sh, i * sh + span_h, dil_h), slice(j * sw, j * sw + span_w, dil_w)
                for f in range(c_out):
                    g = dout[i_n, i, j, f]
                    dw[:, :, :, f] += g * xp[i_n, rows, cols, :]
                    dxp[i_n, rows, cols, :] += g * w[:, :, :, f]
    dx = dxp[:, top:top + h, left:left + wid, :]
    return dx, dw, db
