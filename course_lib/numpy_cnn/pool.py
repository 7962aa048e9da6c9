"""Pooling in NumPy: max, average and L2 pooling over any window and stride, and global average pooling.

Pooling acts on each channel separately and has no weights. Windows may overlap (AlexNet's 3x3 stride 2) or
leave a gap (stride larger than the window). With ``padding="same"`` the rule is TensorFlow's: padded pixels
are never the maximum and are left out of averages.

Reference: Y. Boureau, J. Ponce, Y. LeCun, "A Theoretical Analysis of Feature Pooling in Visual Recognition",
ICML 2010 (max, average and L2 pooling compared).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..validation import check_array, check_choice, check_int_tuple
from .conv import (
    _check_cache,
    _check_dout,
    _check_maps,
    _float_dtype,
    _window_slice,
    _windows,
    output_hw,
    resolve_padding,
)

POOL_MODES = ("max", "avg", "l2")


def pool_forward(x: Any, size: Any = 2, stride: Any = None, mode: str = "max",
                 padding: str = "valid") -> tuple[np.ndarray, dict]:
    """Forward pass of 2-D pooling over NHWC maps.

    Args:
        x: feature maps ``(N, H, W, C)``.
        size: window, a positive int or ``(PH, PW)``.
        stride: a positive int or ``(SH, SW)``; None means equal to ``size`` (non-overlapping windows).
        mode: "max" (largest value), "avg" (mean) or "l2" (square root of the sum of squares in the window).
        padding: "valid" (windows inside the map only) or "same" (output ``ceil(H / SH)``, TF's split).

    Returns:
        ``(out, cache)``: out ``(N, OH, OW, C)`` with ``OH = (H + pads - PH) // SH + 1``; cache for
        ``pool_backward``.

    Raises:
        TypeError: size or stride not made of ints, mode or padding not a string.
        ValueError: x not 4-D, non-positive size or stride, window larger than the padded input, unknown
            mode or padding.
    """
    x = _check_maps(x, "x", "(N, H, W, C)")
    size_hw = check_int_tuple(size, "size", 2, minimum=1)
    stride_hw = size_hw if stride is None else check_int_tuple(stride, "stride", 2, minimum=1)
    mode = check_choice(mode, "mode", POOL_MODES, ignore_case=True)
    # Pooling takes Keras's padding strings only, not a number of zeros (a padded zero could win a max).
    padding = check_choice(padding, "padding", ("valid", "same"), ignore_case=True)
    pads = resolve_padding(padding, x.shape[1:3], size_hw, stride_hw, "padding")
    out_hw = output_hw(x.shape[1:3], size_hw, stride_hw, pads, "size")
    x = x.astype(_float_dtype(x), copy=False)
    n, c = x.shape[0], x.shape[3]
    area = size_hw[0] * size_hw[1]
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)
    windows = _windows(xp, out_hw, size_hw, stride_hw)  # (N, OH, OW, PH, PW, C), a view
    cache: dict[str, Any] = {"x_shape": x.shape, "size": size_hw, "stride": stride_hw, "pads": pads,
                             "out_hw": out_hw, "mode": mode, "dtype": x.dtype}
    if mode == "max":
        flat = windows.reshape(n, out_hw[0], out_hw[1], area, c)
        # The first maximum in row-major window order takes the gradient, as in TensorFlow.
        arg = flat.argmax(axis=3)
        out = np.take_along_axis(flat, arg[:, :, :, None, :], axis=3)[:, :, :, 0, :]
        cache["argmax"] = arg
        return out, cache
    # Count of real (not padded) pixels under each window: the divisor TF uses for "same" average pooling.
    ones = np.pad(np.ones((1, x.shape[1], x.shape[2], 1), dtype=x.dtype), ((0, 0), pads[0], pads[1], (0, 0)))
    counts = _windows(ones, out_hw, size_hw, stride_hw).sum(axis=(3, 4))  # (1, OH, OW, 1)
    cache["counts"] = counts
    if mode == "avg":
        return windows.sum(axis=(3, 4)) / counts, cache
    out = np.sqrt(np.square(windows).sum(axis=(3, 4)))
    cache["xp"], cache["out"] = xp, out
    return out, cache


def pool_backward(dout: Any, cache: dict) -> np.ndarray:
    """Backward pass of ``pool_forward``.

    Max pooling sends each output's gradient to the one input that won its window (a switch); average pooling
    spreads it evenly over the window; L2 pooling gives input ``x`` the share ``x / out``. Where windows
    overlap, an input collects gradient from every window it belongs to.

    Args:
        dout: upstream gradient ``(N, OH, OW, C)``.
        cache: the cache returned by ``pool_forward``.

    Returns:
        dx ``(N, H, W, C)``.

    Raises:
        TypeError: cache is not a dict.
        ValueError: dout's shape differs from the forward output, or cache is not a pooling cache.
    """
    keys = ("x_shape", "size", "stride", "pads", "out_hw", "mode", "dtype")
    cache = _check_cache(cache, keys, "pool_forward")
    n, h, w, c = cache["x_shape"]
    (top, bottom), (left, right) = cache["pads"]
    ph, pw = cache["size"]
    sh, sw = cache["stride"]
    oh, ow = cache["out_hw"]
    dout = _check_dout(dout, (n, oh, ow, c), cache["dtype"])
    mode = cache["mode"]
    dxp = np.zeros((n, h + top + bottom, w + left + right, c), dtype=cache["dtype"])
    if mode == "avg":
        share = dout / cache["counts"]
    elif mode == "l2":
        out = cache["out"]
        # d sqrt(s) / dx = x / sqrt(s); an all-zero window has no direction, so it passes no gradient.
        share = np.divide(dout, out, out=np.zeros_like(dout), where=out > 0)
    # One strided add per window position (PH*PW of them): fast, and no np.add.at needed for overlaps.
    for p in range(ph):
        for q in range(pw):
            rows, cols = _window_slice(p, oh, sh), _window_slice(q, ow, sw)
            if mode == "max":
                dxp[:, rows, cols, :] += np.where(cache["argmax"] == p * pw + q, dout, 0.0)
            elif mode == "avg":
                dxp[:, rows, cols, :] += share
            else:
                dxp[:, rows, cols, :] += share * cache["xp"][:, rows, cols, :]
    return dxp[:, top:top + h, left:left + w, :]


def max_pool2d(x: Any, size: Any = 2, stride: Any = None) -> np.ndarray:
    """Max pooling of a single 2-D map, for hand-worked examples.

    Args:
        x: a map ``(H, W)``.
        size: window, int or ``(PH, PW)``.
        stride: int or pair; None means ``size``.

    Returns:
        The pooled map ``(OH, OW)``, "valid" windows only; integer input gives integer output.

    Raises:
        ValueError: x not 2-D, or as ``pool_forward``.
    """
    arr = check_array(x, "x", ndim=2, layout="(H, W)")
    out, _ = pool_forward(arr[None, :, :, None], size, stride, mode="max")
    # A maximum of integers is an integer: keep the input's dtype so hand-worked examples print as ints.
    return out[0, :, :, 0].astype(arr.dtype) if arr.dtype.kind in "iu" else out[0, :, :, 0]


def global_avg_pool_forward(x: Any) -> tuple[np.ndarray, tuple[int, ...]]:
    """Global average pooling: the mean of each channel over all positions (NiN, GoogLeNet, ResNet heads).

    Args:
        x: feature maps ``(N, H, W, C)``.

    Returns:
        ``(out, cache)``: out ``(N, C)``; cache is the input shape.

    Raises:
        ValueError: x not 4-D.

    Reference: M. Lin, Q. Chen, S. Yan, "Network In Network", ICLR 2014.
    """
    x = _check_maps(x, "x", "(N, H, W, C)")
    x = x.astype(_float_dtype(x), copy=False)
    return x.mean(axis=(1, 2)), x.shape


def global_avg_pool_backward(dout: Any, cache: tuple[int, ...]) -> np.ndarray:
    """Backward pass of ``global_avg_pool_forward``: each position gets ``dout / (H * W)``.

    Args:
        dout: upstream gradient ``(N, C)``.
        cache: the input shape ``(N, H, W, C)`` returned by the forward pass.

    Returns:
        dx ``(N, H, W, C)``.

    Raises:
        ValueError: dout's shape is not ``(N, C)``.
    """
    n, h, w, c = cache
    dout = _check_dout(dout, (n, c))
    return np.broadcast_to(dout[:, None, None, :] / (h * w), (n, h, w, c)).copy()
