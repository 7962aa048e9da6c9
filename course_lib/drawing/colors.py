"""The course's colour conventions, defined once: colormaps, symmetric limits, a heat map with its colorbar.

Every figure of the kit (``course_lib.plotting``, the diagrams of ``course_lib.drawing`` and the notebooks)
takes its colours from here, so a colour means the same thing everywhere:

- ``DIVERGING_CMAP`` for signed quantities (weights, gradients, attributions, edge responses): white is zero,
  red positive, blue negative, and the limits are symmetric (``symmetric_limits``) so that the eye can compare
  the two signs;
- ``SEQUENTIAL_CMAP`` for non-negative quantities (activations, pooled values, counts of overlaps);
- ``IMAGE_CMAP`` for pixel intensities of grey images in [0, 1];
- ``COUNTS_CMAP`` for annotated count tables (confusion matrices), light for small counts.

A heat map is never shown without a colorbar: :func:`heatmap` draws both.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..validation import check_bool, check_str

__all__ = [
    "DIVERGING_CMAP",
    "SEQUENTIAL_CMAP",
    "IMAGE_CMAP",
    "COUNTS_CMAP",
    "WINDOW_COLORS",
    "LAYER_COLORS",
    "symmetric_limits",
    "heatmap",
    "window_color",
]

DIVERGING_CMAP = "RdBu_r"
SEQUENTIAL_CMAP = "viridis"
IMAGE_CMAP = "gray"
COUNTS_CMAP = "Blues"

# Distinct outline colours for windows, patches and branches (matplotlib's tab10 without its grey, which
# reads as "padding" in these diagrams).
WINDOW_COLORS = (
    "tab:orange",
    "tab:blue",
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:olive",
    "tab:cyan",
)

# Fill colours of boxes in architecture diagrams, by what the layer does.
LAYER_COLORS = {
    "input": "#f2f2f2",
    "conv": "#9ecae1",
    "pool": "#fdd0a2",
    "dense": "#a1d99b",
    "norm": "#d9d9d9",
    "merge": "#fee391",
    "block": "#bcbddc",
    "other": "#ffffff",
}


def window_color(index: int) -> str:
    """The outline colour of window (patch, branch) number ``index``; the palette repeats after nine."""
    return WINDOW_COLORS[int(index) % len(WINDOW_COLORS)]


def symmetric_limits(values: Any) -> tuple[float, float]:
    """Limits ``(-m, m)``, ``m`` the largest absolute value (1 for an all-zero array): zero sits mid-scale.

    Raises:
        ValueError: ``values`` is empty or holds NaN/inf.
    """
    arr = np.asarray(values, dtype=float)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError("values must be a non-empty array of finite numbers")
    m = float(np.abs(arr).max()) or 1.0
    return -m, m


def heatmap(
    ax: Any,
    data: Any,
    *,
    signed: bool | None = None,
    extent: Any = None,
    colorbar: bool = True,
    label: str = "",
    vmin: float | None = None,
    vmax: float | None = None,
    alpha: float | None = None,
    interpolation: str = "nearest",
) -> Any:
    """Draw ``data`` on ``ax`` with the course's colormap for its kind of values, and its colorbar.

    Args:
        ax: a matplotlib Axes.
        data: a 2-D array.
        signed: True for the diverging map with symmetric limits, False for the sequential one; None picks
            signed when ``data`` has a negative value.
        extent: passed to ``imshow`` (place the map in data coordinates).
        colorbar: add a colorbar next to ``ax`` (turn off only when another map on the same scale has one).
        label: the colorbar's label (what the colour measures).
        vmin, vmax: override the limits (default: symmetric for signed data, ``[min(0, data.min()),
            data.max()]`` otherwise).
        alpha: opacity.
        interpolation: as in ``imshow``.

    Returns:
        The ``AxesImage``; its colorbar, if drawn, is ``image.colorbar``.

    Raises:
        TypeError: ``signed``/``colorbar`` not a bool, ``label`` not a str.
        ValueError: ``data`` not 2-D, empty, or not finite.
    """
    arr = np.asarray(data, dtype=float)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"data must be a non-empty 2-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("data must hold finite values")
    colorbar = check_bool(colorbar, "colorbar")
    label = check_str(label, "label")
    if signed is None:
        signed = bool(arr.min() < 0)
    signed = check_bool(signed, "signed")
    if signed:
        lo, hi = symmetric_limits(arr)
        cmap = DIVERGING_CMAP
    else:
        lo, hi = min(0.0, float(arr.min())), float(arr.max())
        hi = hi if hi > lo else lo + 1.0
        cmap = SEQUENTIAL_CMAP
    image = ax.imshow(
        arr,
        cmap=cmap,
        vmin=lo if vmin is None else vmin,
        vmax=hi if vmax is None else vmax,
        extent=extent,
        alpha=alpha,
        interpolation=interpolation,
    )
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.03, label=label)
    return image
