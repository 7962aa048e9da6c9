"""Pictures of arrays: image grids, kernels, feature maps and small annotated matrices.

:func:`image_grid` is the layout every grid of pictures in the kit uses (here, in
:mod:`~course_lib.plotting.results` and :mod:`~course_lib.plotting.annotations`); :func:`as_images` and
:func:`label_text` are the checks and captions those grids share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..drawing.colors import COUNTS_CMAP, IMAGE_CMAP, SEQUENTIAL_CMAP
from ..validation import check_array, check_float, check_positive_int

__all__ = ["image_grid", "as_images", "label_text", "show_images", "plot_kernels", "plot_feature_maps",
           "plot_array"]


# --------------------------------------------------------------------------------------------------- layout
def image_grid(n: int, ncols: int, *, cell: float = 1.4,
               extra_height: float = 0.6) -> tuple[Figure, list[Any]]:
    """A figure with exactly ``n`` image axes laid out ``ncols`` wide, ticks off, unused grid cells removed.

    The layout of every grid of pictures in the kit (images, kernels, feature maps, detections, class maps);
    a caller fills the axes and sets the titles.

    Args:
        n: the number of axes (>= 1).
        ncols: axes per row (at most ``n`` are used).
        cell: the side of one axes, in inches.
        extra_height: inches added to the figure's height for the titles.

    Returns:
        ``(fig, axes)``: the Figure and a list of ``n`` Axes in row-major order.

    Raises:
        TypeError / ValueError: ``n`` or ``ncols`` not a positive int.
    """
    n = check_positive_int(n, "n")
    ncols = max(1, min(check_positive_int(ncols, "ncols"), n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows + extra_height), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        fig.delaxes(ax)
    for ax in flat[:n]:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, flat[:n]


def label_text(label: Any, class_names: Sequence[str] | None) -> str:
    """The display name of one label: its class name when one is given, else the label itself."""
    if class_names is not None and isinstance(label, (int, np.integer)):
        if not 0 <= int(label) < len(class_names):
            raise ValueError(f"label {int(label)} is outside class_names ({len(class_names)} names)")
        return str(class_names[int(label)])
    return str(label)


def as_images(images: Any, name: str = "images") -> np.ndarray:
    """Validate an image batch and return it as float in [0, 1], shape (N, H, W) or (N, H, W, 3)."""
    arr = check_array(images, name, ndim=(3, 4), layout="(N, H, W) or (N, H, W, C)")
    if arr.ndim == 4 and arr.shape[-1] not in (1, 3):
        raise ValueError(f"{name} must have 1 or 3 channels in the last axis, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    if arr.dtype == np.uint8:
        arr = arr / 255.0
    arr = arr.astype(np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -1e-4 or hi > 1 + 1e-4:
        raise ValueError(
            f"{name} must lie in [0, 1], got values in [{lo:.3g}, {hi:.3g}]; rescale first, "
            "e.g. (x - x.min()) / (x.max() - x.min())"
        )
    arr = np.clip(arr, 0.0, 1.0)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    return arr


# --------------------------------------------------------------------------------------------------- images
def show_images(
    images: Any,
    labels: Any = None,
    *,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    title: str | None = None,
    cmap: str | None = None,
    fontsize: float | None = None,
) -> Figure:
    """Show a batch of images in a grid, each captioned with its label.

    Args:
        images: (N, H, W) or (N, H, W, C) with C in {1, 3}, floats in [0, 1] (uint8 0..255 also accepted).
        labels: optional (N,) labels (ints, or strings shown as they are).
        class_names: names indexed by integer label, used for the captions.
        ncols: images per row.
        title: figure title (default "N images").
        cmap: colormap for one-channel images (default "gray"; ignored for RGB).
        fontsize: points for the captions and the title (default: captions 8, title Matplotlib's size);
            given, each row of the grid grows by the caption's height so captions never overlap the row
            above. Give 11 or more for figures that are projected.

    Returns:
        The matplotlib Figure, with one axes per image.

    Raises:
        TypeError: images not numeric, or ncols not an int.
        ValueError: wrong shape, values outside [0, 1], len(labels) != N, ncols < 1, or fontsize <= 0.
    """
    arr = as_images(images)
    ncols = check_positive_int(ncols, "ncols")
    if fontsize is not None:
        fontsize = check_float(fontsize, "fontsize", minimum=0, include_minimum=False)
    n = arr.shape[0]
    if labels is not None:
        labels = list(labels) if isinstance(labels, (list, tuple)) else list(np.asarray(labels).reshape(-1))
        if len(labels) != n:
            raise ValueError(f"labels must have one entry per image ({n}), got {len(labels)}")
    if fontsize is None:
        fig, axes = image_grid(n, ncols)
    else:  # room for a caption line above every row and a title line above the grid
        nrows = math.ceil(n / min(ncols, n))
        fig, axes = image_grid(n, ncols, extra_height=0.6 + (nrows + 1) * 1.6 * fontsize / 72)
    for i, ax in enumerate(axes):
        if arr.ndim == 3:
            ax.imshow(arr[i], cmap=cmap or IMAGE_CMAP, vmin=0.0, vmax=1.0, interpolation="nearest")
        else:
            ax.imshow(arr[i], interpolation="nearest")
        if labels is not None:
            ax.set_title(label_text(labels[i], class_names), fontsize=8 if fontsize is None else fontsize)
    if fontsize is None:
        fig.suptitle(title or f"{n} images")
    else:
        fig.suptitle(title or f"{n} images", fontsize=fontsize + 1)
    fig.tight_layout()
    return fig


def plot_kernels(kernels: Any, *, title: str | None = None, max_kernels: int = 64) -> Figure:
    """Show convolution kernels as small images.

    With 3 input channels each output filter is drawn as one RGB patch (min-max scaled per filter, which is
    how first-layer filters of image networks are usually shown). Otherwise each (input, output) pair is a
    grey patch on one shared symmetric scale, so that mid-grey is zero and patches can be compared; when that
    would exceed ``max_kernels`` patches, only the first input channel is shown.

    Args:
        kernels: (KH, KW, C_in, C_out), the layout of a Keras Conv2D kernel (``layer.get_weights()[0]``).
        title: figure title.
        max_kernels: the most patches drawn.

    Returns:
        The Figure: one axes per output filter (RGB case or first-channel case), else C_in * C_out axes laid
        out one row per input channel.

    Raises:
        TypeError: kernels not numeric, or max_kernels not an int.
        ValueError: kernels is not 4-D, or max_kernels < 1.
    """
    w = check_array(kernels, "kernels", ndim=4, layout="(KH, KW, C_in, C_out)").astype(np.float32)
    max_kernels = check_positive_int(max_kernels, "max_kernels")
    kh, kw, c_in, c_out = w.shape
    if c_in == 3:
        n = min(c_out, max_kernels)
        fig, axes = image_grid(n, min(n, 8))
        for j, ax in enumerate(axes):
            patch = w[:, :, :, j]
            span = float(patch.max() - patch.min())
            patch = (patch - patch.min()) / span if span > 0 else np.full_like(patch, 0.5)
            ax.imshow(patch, interpolation="nearest")
            ax.set_title(f"filter {j}", fontsize=7)
        default = f"{c_out} filters of {kh}x{kw}x3, shown as RGB"
    else:
        limit = float(np.abs(w).max()) or 1.0
        if c_in * c_out <= max_kernels:
            # one row per input channel; a single input channel wraps at 8 columns instead of one long row
            fig, axes = image_grid(c_in * c_out, c_out if c_in > 1 else min(c_out, 8))
            pairs = [(i, j) for i in range(c_in) for j in range(c_out)]
            default = f"{c_out} filters of {kh}x{kw}x{c_in} (row = input channel)"
        else:
            n = min(c_out, max_kernels)
            fig, axes = image_grid(n, min(n, 8))
            pairs = [(0, j) for j in range(n)]
            default = f"{c_out} filters of {kh}x{kw}x{c_in}: input channel 0 only"
        for ax, (i, j) in zip(axes, pairs):
            ax.imshow(w[:, :, i, j], cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest")
            ax.set_title(f"in {i} / out {j}" if c_in > 1 else f"filter {j}", fontsize=7)
    fig.suptitle(title or default)
    fig.tight_layout()
    return fig


def plot_feature_maps(maps: Any, *, ncols: int = 8, title: str | None = None, max_maps: int = 64) -> Figure:
    """Show the channels of one activation tensor side by side.

    Args:
        maps: (H, W, C) activations of one image (a leading batch axis of size 1 is dropped).
        ncols: maps per row.
        title: figure title.
        max_maps: the most channels drawn (the first ones).

    Returns:
        The Figure, one axes per channel drawn; each map has its own colour scale (viridis).

    Raises:
        TypeError: ncols or max_maps not an int.
        ValueError: maps is not (H, W, C) or (1, H, W, C); ncols or max_maps < 1.
    """
    a = np.asarray(maps, dtype=np.float32)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 3:
        raise ValueError(f"maps must have shape (H, W, C) for one image, got shape {np.asarray(maps).shape}")
    ncols = check_positive_int(ncols, "ncols")
    max_maps = check_positive_int(max_maps, "max_maps")
    h, w_, c = a.shape
    n = min(c, max_maps)
    fig, axes = image_grid(n, ncols)
    for k, ax in enumerate(axes):
        ax.imshow(a[:, :, k], cmap=SEQUENTIAL_CMAP, interpolation="nearest")
        ax.set_title(f"ch {k}", fontsize=7)
    shown = f", first {n} shown" if n < c else ""
    fig.suptitle(title or f"{c} feature maps of {h}x{w_}{shown}")
    fig.tight_layout()
    return fig



# --------------------------------------------------------------------------------------------------- arrays
def plot_array(a: Any, *, title: str | None = None, annotate: bool = True, fmt: str = ".2f") -> Figure:
    """Draw a small 2-D array as a heat map with its values written in the cells.

    Meant for worked examples: a 4x4 input, a 3x3 kernel, the map they produce.

    Args:
        a: (H, W) array (a (H, W, 1) array is accepted too).
        title: figure title (default "H x W array").
        annotate: write each value in its cell.
        fmt: format spec for the written values, e.g. ".0f" or "d".

    Returns:
        The Figure (one axes).

    Raises:
        ValueError: a is not 2-D.
    """
    arr = np.asarray(a)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 2:
        raise ValueError(f"a must be a 2-D array, got shape {np.asarray(a).shape}")
    if arr.dtype == bool:
        arr = arr.astype(int)
    h, w = arr.shape
    fig, ax = plt.subplots(figsize=(min(1.0 + 0.6 * w, 10.0), min(0.8 + 0.6 * h, 10.0)))
    values = arr.astype(float)
    ax.imshow(values, cmap=COUNTS_CMAP, interpolation="nearest")
    if annotate:
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
        mid = (lo + hi) / 2
        for i in range(h):
            for j in range(w):
                v = arr[i, j]
                text = format(int(v), fmt) if fmt.endswith("d") else format(float(v), fmt)
                ax.text(j, i, text, ha="center", va="center", fontsize=9,
                        color="white" if hi > lo and values[i, j] > mid else "black")
    ax.set_xticks(range(w))
    ax.set_yticks(range(h))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(title or f"{h} x {w} array")
    fig.tight_layout()
    return fig


