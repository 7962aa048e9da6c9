"""Convolution from scratch in NumPy: 2-D correlation/convolution and the batched NHWC conv layer.

Layout is Keras's everywhere: images ``(N, H, W, C)``, kernels ``(KH, KW, C_in, C_out)``. Like every deep
learning library, the "convolution" layer computes a cross-correlation (the kernel is not flipped);
``convolve2d`` is the textbook convolution with the flip, for the lectures' hand-worked examples.

Two implementations of the layer, which agree to round-off:
    "loop"    four nested Python loops, written to be read next to the formula (slow).
    "im2col"  every receptive field copied into one row of a matrix, then one matrix product (fast).

Reference: K. Chellapilla, S. Puri, P. Simard, "High Performance Convolutional Neural Networks for Document
Processing", IWFHR 2006 (the unrolling trick now called im2col).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..shapes import same_pads

METHODS = ("im2col", "loop")
MODES_2D = ("valid", "same", "full")

Pads = tuple[tuple[int, int], tuple[int, int]]


# --------------------------------------------------------------------------------------------------- checks
# Shared with pool.py and layers.py: one place that words the error messages.


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _as_array(x: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be array-like, got {type(x).__name__}") from exc
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    return arr


def _check_ndim(arr: np.ndarray, ndim: int, name: str, layout: str) -> None:
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array {layout}, got shape {arr.shape} ({arr.ndim}-D)")


def _float_dtype(*arrays: np.ndarray) -> np.dtype:
    """float32 stays float32 (fast BLAS, like TF); anything else (ints, float64) computes in float64."""
    dtype = np.result_type(*arrays)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _pair(value: Any, name: str, *, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints, each >= minimum, as a pair (rows, columns)."""
    what = "a positive int" if minimum == 1 else f"an int >= {minimum}"
    if _is_int(value):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v) for v in value):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ValueError(f"{name} must be {what} or a pair of them, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be {what} or a pair of them, got {value!r}")
    return pair


def _check_choice(value: Any, choices: tuple[str, ...], name: str) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value.lower()


def resolve_padding(pad: Any, in_hw: tuple[int, int], kernel_hw: tuple[int, int],
                    stride_hw: tuple[int, int], name: str = "pad") -> Pads:
    """Turn any accepted padding spelling into ``((top, bottom), (left, right))``.

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
        ValueError: negative or malformed padding, or an unknown string.
    """
    if isinstance(pad, str):
        mode = _check_choice(pad, ("valid", "same"), name)
        if mode == "valid":
            return (0, 0), (0, 0)
        return (same_pads(in_hw[0], kernel_hw[0], stride_hw[0]),
                same_pads(in_hw[1], kernel_hw[1], stride_hw[1]))
    message = (f"{name} must be a non-negative int, a pair of them, ((top, bottom), (left, right)), "
               f"'same' or 'valid', got {pad!r}")
    if _is_int(pad):
        if pad < 0:
            raise ValueError(message)
        return (int(pad), int(pad)), (int(pad), int(pad))
    if isinstance(pad, (tuple, list)) and len(pad) == 2:
        if all(_is_int(p) for p in pad):
            if min(pad) < 0:
                raise ValueError(message)
            return (int(pad[0]), int(pad[0])), (int(pad[1]), int(pad[1]))
        if all(isinstance(p, (tuple, list)) and len(p) == 2 and all(_is_int(q) for q in p) for p in pad):
            if min(min(p) for p in pad) < 0:
                raise ValueError(message)
            return (int(pad[0][0]), int(pad[0][1])), (int(pad[1][0]), int(pad[1][1]))
    raise ValueError(message)


def output_hw(in_hw: tuple[int, int], kernel_hw: tuple[int, int], stride_hw: tuple[int, int], pads: Pads,
              kernel_name: str = "kernel") -> tuple[int, int]:
    """Output (OH, OW) of a sliding window; raises when the window does not fit in the padded input.

    Args:
        in_hw: input (H, W); kernel_hw: window (KH, KW); stride_hw: (SH, SW).
        pads: ((top, bottom), (left, right)).
        kernel_name: what the window is called in the error message ("w", "size", ...).

    Returns:
        (floor((H + top + bottom - KH) / SH) + 1, same for W).

    Raises:
        ValueError: the window is larger than the padded input.
    """
    padded = (in_hw[0] + sum(pads[0]), in_hw[1] + sum(pads[1]))
    if kernel_hw[0] > padded[0] or kernel_hw[1] > padded[1]:
        raise ValueError(f"{kernel_name} window {kernel_hw} is larger than the padded input {padded} "
                         f"(input {in_hw}, padding {pads})")
    return ((padded[0] - kernel_hw[0]) // stride_hw[0] + 1, (padded[1] - kernel_hw[1]) // stride_hw[1] + 1)


def _windows(xp: np.ndarray, out_hw: tuple[int, int], kernel_hw: tuple[int, int],
             stride_hw: tuple[int, int]) -> np.ndarray:
    """Read-only view (N, OH, OW, KH, KW, C) of every window of the padded NHWC array, without copying."""
    sn, sh, sw, sc = xp.strides
    return as_strided(
        xp,
        shape=(xp.shape[0], out_hw[0], out_hw[1], kernel_hw[0], kernel_hw[1], xp.shape[3]),
        strides=(sn, sh * stride_hw[0], sw * stride_hw[1], sh, sw, sc),
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
        ValueError: x has fewer than 2 or more than 4 axes, or the padding is malformed.
    """
    arr = _as_array(x, "x")
    if arr.ndim not in (2, 3, 4):
        raise ValueError(f"x must be 2-D (H, W), 3-D (H, W, C) or 4-D (N, H, W, C), got shape {arr.shape}")
    if isinstance(pad, str):
        raise ValueError(f"pad must be a non-negative int or pairs of them for pad2d, got {pad!r}")
    pads = resolve_padding(pad, (0, 0), (1, 1), (1, 1), "pad")
    spatial_axis = 1 if arr.ndim == 4 else 0
    widths = [(0, 0)] * arr.ndim
    widths[spatial_axis] = pads[0]
    widths[spatial_axis + 1] = pads[1]
    return np.pad(arr, widths, mode="constant", constant_values=value)


def _check_2d(x: Any, k: Any, mode: Any) -> tuple[np.ndarray, np.ndarray, str]:
    x = _as_array(x, "x")
    k = _as_array(k, "k")
    _check_ndim(x, 2, "x", "(H, W)")
    _check_ndim(k, 2, "k", "(KH, KW)")
    mode = _check_choice(mode, MODES_2D, "mode")
    if mode == "valid" and (k.shape[0] > x.shape[0] or k.shape[1] > x.shape[1]):
        raise ValueError(f"k of shape {k.shape} is larger than x of shape {x.shape} for mode 'valid'")
    if 0 in k.shape or 0 in x.shape:
        raise ValueError(f"x and k must be non-empty, got shapes {x.shape} and {k.shape}")
    return x, k, mode


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
        ValueError: x or k not 2-D, empty, k larger than x in "valid" mode, or an unknown mode.
    """
    x, k, mode = _check_2d(x, k, mode)
    kh, kw = k.shape
    if mode == "valid":
        pads: Pads = ((0, 0), (0, 0))
    elif mode == "full":
        pads = ((kh - 1, kh - 1), (kw - 1, kw - 1))
    else:
        pads = (((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2))
    return _correlate_padded(x, k, pads)


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
    kh, kw = k.shape
    flipped = k[::-1, ::-1]
    if mode == "valid":
        pads: Pads = ((0, 0), (0, 0))
    elif mode == "full":
        pads = ((kh - 1, kh - 1), (kw - 1, kw - 1))
    else:
        pads = ((kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2))
    return _correlate_padded(x, flipped, pads)


# ------------------------------------------------------------------------------------------ the conv layer


def _check_conv_inputs(x: Any, w: Any, b: Any, stride: Any, pad: Any, method: Any):
    x = _as_array(x, "x")
    w = _as_array(w, "w")
    _check_ndim(x, 4, "x", "(N, H, W, C_in)")
    _check_ndim(w, 4, "w", "(KH, KW, C_in, C_out)")
    if b is None:
        b = np.zeros(w.shape[3], dtype=w.dtype)
    b = _as_array(b, "b")
    if x.shape[3] != w.shape[2]:
        raise ValueError(f"channel mismatch: x has {x.shape[3]} channels (x.shape={x.shape}) but w expects "
                         f"{w.shape[2]} (w.shape={w.shape})")
    if b.shape != (w.shape[3],):
        raise ValueError(f"b must have shape (C_out,) = ({w.shape[3]},), got {b.shape}")
    if min(w.shape[:2]) < 1:
        raise ValueError(f"w must have a non-empty window, got shape {w.shape}")
    stride_hw = _pair(stride, "stride")
    method = _check_choice(method, METHODS, "method")
    pads = resolve_padding(pad, x.shape[1:3], w.shape[:2], stride_hw, "pad")
    out_hw = output_hw(x.shape[1:3], w.shape[:2], stride_hw, pads, "w")
    return x, w, b, stride_hw, pads, out_hw, method


def conv_forward(x: Any, w: Any, b: Any = None, stride: Any = 1, pad: Any = 0,
                 method: str = "im2col") -> tuple[np.ndarray, dict]:
    """Forward pass of a 2-D convolution layer (cross-correlation, as in Keras ``Conv2D``).

    ``out[n, i, j, f] = b[f] + sum_{p, q, c} xp[n, i*SH + p, j*SW + q, c] * w[p, q, c, f]`` with ``xp`` the
    zero-padded input.

    Args:
        x: input ``(N, H, W, C_in)``.
        w: kernels ``(KH, KW, C_in, C_out)``, Keras's layout; non-square kernels are fine.
        b: biases ``(C_out,)``; None means zeros.
        stride: a positive int or a pair ``(SH, SW)``.
        pad: a non-negative int, ``(ph, pw)``, ``((top, bottom), (left, right))``, "valid" or "same" (TF's
            rule: output ``ceil(H / SH)``, odd padding pixel at the bottom/right).
        method: "im2col" (one matrix product) or "loop" (explicit loops, for reading and checking).

    Returns:
        ``(out, cache)``: out ``(N, OH, OW, C_out)`` with ``OH = (H + top + bottom - KH) // SH + 1``; cache is
        what ``conv_backward`` needs.

    Raises:
        ValueError: wrong number of axes, channel mismatch, b of the wrong shape, non-positive stride, bad
            padding, window larger than the padded input, or an unknown method.
    """
    x, w, b, stride_hw, pads, out_hw, method = _check_conv_inputs(x, w, b, stride, pad, method)
    dtype = _float_dtype(x, w, b)
    x, w, b = x.astype(dtype, copy=False), w.astype(dtype, copy=False), b.astype(dtype, copy=False)
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    n = x.shape[0]
    kh, kw, c_in, c_out = w.shape
    cache = {"x_shape": x.shape, "w": w, "stride": stride_hw, "pads": pads, "method": method}
    if method == "im2col":
        # (N*OH*OW, KH*KW*C_in): row r holds the receptive field of output pixel r, in w's (KH, KW, C) order,
        # so that the whole layer is one GEMM with w reshaped to (KH*KW*C_in, C_out).
        cols = _windows(xp, out_hw, (kh, kw), stride_hw).reshape(n * out_hw[0] * out_hw[1], kh * kw * c_in)
        out = cols @ w.reshape(kh * kw * c_in, c_out)
        out += b
        cache["cols"] = cols
        return out.reshape(n, out_hw[0], out_hw[1], c_out), cache
    out = np.empty((n, out_hw[0], out_hw[1], c_out), dtype=dtype)
    sh, sw = stride_hw
    for i_n in range(n):
        for i in range(out_hw[0]):
            for j in range(out_hw[1]):
                field = xp[i_n, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
                for f in range(c_out):
                    out[i_n, i, j, f] = np.sum(field * w[:, :, :, f]) + b[f]
    cache["xp"] = xp
    return out, cache


def conv_backward(dout: Any, cache: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of ``conv_forward``.

    Each weight multiplies many inputs, so its gradient sums ``x * dout`` over every place it was used (a
    correlation of x with dout); each input feeds several outputs, so its gradient gathers ``w * dout`` from
    all of them (for stride 1, a full convolution of dout with the kernel, i.e. a correlation with the kernel
    flipped).

    Args:
        dout: upstream gradient ``(N, OH, OW, C_out)``.
        cache: the cache returned by ``conv_forward``.

    Returns:
        ``(dx, dw, db)`` with shapes ``(N, H, W, C_in)``, ``(KH, KW, C_in, C_out)``, ``(C_out,)``.

    Raises:
        ValueError: dout's shape does not match the forward output, or cache is not a conv cache.
    """
    if not isinstance(cache, dict) or "pads" not in cache or "w" not in cache:
        raise ValueError(f"cache must be the dict returned by conv_forward, got {type(cache).__name__}")
    w = cache["w"]
    kh, kw, c_in, c_out = w.shape
    n, h, wid, _ = cache["x_shape"]
    (top, bottom), (left, right) = cache["pads"]
    sh, sw = cache["stride"]
    oh = (h + top + bottom - kh) // sh + 1
    ow = (wid + left + right - kw) // sw + 1
    dout = _as_array(dout, "dout")
    if dout.shape != (n, oh, ow, c_out):
        raise ValueError(f"dout must have the forward output's shape {(n, oh, ow, c_out)}, got {dout.shape}")
    dout = dout.astype(w.dtype, copy=False)
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
                dxp_cf[:, :, _window_slice(p, oh, sh), _window_slice(q, ow, sw)] += (
                    dcols[tap:tap + c_in].reshape(c_in, n, oh, ow))
        dx = dxp_cf[:, :, top:top + h, left:left + wid].transpose(1, 2, 3, 0)
        return np.ascontiguousarray(dx), dw, db
    db = dout.sum(axis=(0, 1, 2))
    xp = cache["xp"]
    dxp = np.zeros((n, hp, wp, c_in), dtype=w.dtype)
    dw = np.zeros_like(w)
    for i_n in range(n):
        for i in range(oh):
            for j in range(ow):
                rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
                for f in range(c_out):
                    g = dout[i_n, i, j, f]
                    dw[:, :, :, f] += g * xp[i_n, rows, cols, :]
                    dxp[i_n, rows, cols, :] += g * w[:, :, :, f]
    dx = dxp[:, top:top + h, left:left + wid, :]
    return dx, dw, db
