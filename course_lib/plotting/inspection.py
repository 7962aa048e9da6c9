"""Pictures of what a network looks at (for :mod:`course_lib.visualize`): heat maps over images, patch grids,
filters changing during training.

:func:`draw_heat` puts a heat map over an image on one Axes, in the course's colours; :func:`mosaic` tiles
patches into one image (one Matplotlib image draws much faster than one axes per patch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..drawing.colors import DIVERGING_CMAP, IMAGE_CMAP, SEQUENTIAL_CMAP, symmetric_limits
from ..validation import check_float, check_positive_int
from .images import as_images

__all__ = ["as_heatmap", "draw_heat", "plot_heatmap_overlay", "plot_attribution_grid", "mosaic", "rgb",
           "plot_patch_grid", "plot_kernel_evolution"]


# ----------------------------------------------------------------------------------------------- inspection
def as_heatmap(heatmap: Any, name: str = "heatmap") -> np.ndarray:
    h = np.asarray(heatmap, dtype=np.float32)
    if h.ndim == 3 and h.shape[-1] == 1:
        h = h[..., 0]
    if h.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map (H, W), got shape {np.asarray(heatmap).shape}")
    if not np.all(np.isfinite(h)):
        raise ValueError(f"{name} must hold finite values")
    return h


def draw_heat(ax: Any, image: np.ndarray, heat: np.ndarray, alpha: float, *,
               signed: bool | None = None, limits: tuple[float, float] | None = None) -> Any:
    """Image, then the heat map stretched over it, in the course's colours (``course_lib.drawing.colors``):
    signed maps on the diverging scale centred on zero, non-negative ones on the sequential scale from 0.
    ``signed`` and ``limits`` default to what ``heat`` itself needs; a figure with several maps passes shared
    ones so that one colorbar reads them all."""
    hgt, wid = image.shape[:2]
    ax.imshow(image, cmap=IMAGE_CMAP if image.ndim == 2 else None, vmin=0.0, vmax=1.0,
              interpolation="nearest")
    extent = (-0.5, wid - 0.5, hgt - 0.5, -0.5)
    if signed is None:
        signed = float(heat.min()) < 0.0
    if limits is None:
        limits = symmetric_limits(heat) if signed else (0.0, float(heat.max()) or 1.0)
    return ax.imshow(heat, cmap=DIVERGING_CMAP if signed else SEQUENTIAL_CMAP, vmin=limits[0],
                     vmax=limits[1], alpha=alpha, extent=extent, interpolation="bilinear")


def plot_heatmap_overlay(
    image: Any, heatmap: Any, *, title: str | None = None, alpha: float = 0.5, label: str = "relevance"
) -> Figure:
    """Show an image and a heat map (saliency, Grad-CAM, occlusion) drawn over it, side by side.

    The heat map is stretched over the whole image, so a coarse map (a 4x4 Grad-CAM, an occlusion grid) needs
    no resizing. Non-negative maps use a sequential scale from 0 to their maximum; maps with negative values
    (occlusion can make a class *more* likely) use a diverging scale centred on zero.

    Args:
        image: (H, W) or (H, W, C) with C in {1, 3}, values in [0, 1].
        heatmap: (h, w) map, any finite values.
        title: figure title.
        alpha: opacity of the heat map over the image (0: invisible, 1: opaque).
        label: colour-bar label (what the map measures).

    Returns:
        The Figure: the image alone on the left, the overlay with its colour bar on the right.

    Raises:
        TypeError: alpha not a number.
        ValueError: bad image or heat map shape, values outside [0, 1] in the image, alpha outside [0, 1].
    """
    img = as_images(np.asarray(image)[None], "image")[0]
    heat = as_heatmap(heatmap)
    alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.4, 3.2))
    left.imshow(img, cmap=IMAGE_CMAP if img.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
    left.set_title("image", fontsize=9)
    shown = draw_heat(right, img, heat, alpha)
    right.set_title("overlay", fontsize=9)
    for ax in (left, right):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=right, fraction=0.046, pad=0.04, label=label)
    fig.suptitle(title or f"{heat.shape[0]}x{heat.shape[1]} map over a {img.shape[0]}x{img.shape[1]} image")
    fig.tight_layout()
    return fig


def plot_attribution_grid(
    images: Any,
    maps: Mapping[str, Sequence[Any]],
    *,
    row_labels: Sequence[str] | None = None,
    title: str | None = None,
    alpha: float = 0.55,
) -> Figure:
    """Compare explanation methods: one row per image, the image then one overlay per method.

    Args:
        images: (N, H, W) or (N, H, W, C) with C in {1, 3}, values in [0, 1].
        maps: method name -> N heat maps (each (h, w), any resolution), e.g.
            ``{"saliency": [...], "Grad-CAM": [...], "occlusion": [...]}``.
        row_labels: N strings written left of each row (e.g. "cat (p=0.91)").
        title: figure title.
        alpha: heat-map opacity.

    One colormap for the whole figure: the diverging one (centred on zero) if any map has a negative value,
    otherwise the sequential one from 0. Each method keeps one colour scale for all its rows, shown by the
    colorbar under its column, so the rows of a column can be compared (the methods' units differ).

    Returns:
        The Figure, N rows x (1 + number of methods) image axes (constrained layout); column titles name the
        methods; one colorbar per method under its column.

    Raises:
        TypeError: alpha not a number.
        ValueError: a method without exactly N maps, a malformed map, len(row_labels) != N, empty maps, or
            alpha outside [0, 1].
    """
    imgs = as_images(images)
    alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0)
    n = imgs.shape[0]
    if not isinstance(maps, Mapping) or not maps:
        raise ValueError("maps must be a non-empty dict: method name -> one heat map per image")
    for name, ms in maps.items():
        if len(ms) != n:
            raise ValueError(f"maps[{name!r}] must hold one map per image ({n}), got {len(ms)}")
    if row_labels is not None and len(row_labels) != n:
        raise ValueError(f"row_labels must have one entry per image ({n}), got {len(row_labels)}")
    ncols = 1 + len(maps)
    heats = {name: [as_heatmap(m, f"maps[{name!r}][{i}]") for i, m in enumerate(ms)]
             for name, ms in maps.items()}
    signed = any(float(h.min()) < 0.0 for hs in heats.values() for h in hs)
    fig, axes = plt.subplots(n, ncols, figsize=(1.9 * ncols, 1.9 * n + 1.1), squeeze=False,
                             layout="constrained")
    for i in range(n):
        axes[i, 0].imshow(imgs[i], cmap=IMAGE_CMAP if imgs[i].ndim == 2 else None, vmin=0.0, vmax=1.0,
                          interpolation="nearest")
        if row_labels is not None:
            axes[i, 0].set_ylabel(str(row_labels[i]), fontsize=8)
    for j, hs in enumerate(heats.values(), start=1):
        stacked = np.concatenate([h.ravel() for h in hs])
        limits = symmetric_limits(stacked) if signed else (0.0, float(stacked.max()) or 1.0)
        for i in range(n):
            shown = draw_heat(axes[i, j], imgs[i], hs[i], alpha, signed=signed, limits=limits)
        fig.colorbar(shown, ax=axes[:, j], location="bottom", fraction=0.05, pad=0.02, aspect=12)
    for j, name in enumerate(["image", *maps]):
        axes[0, j].set_title(name, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title or f"{len(maps)} explanation methods on {n} images")
    return fig


def mosaic(rows: list[list[np.ndarray]], *, gap: int = 1, fill: float = 1.0) -> tuple[np.ndarray, int, int]:
    """Tile RGB tiles (h, w, 3) into one image, rows top to bottom, each tile centred in an equal cell.

    Drawing one image is much faster than one matplotlib axes per tile (a 9x10 grid of axes takes seconds
    to lay out). Returns the mosaic and the cell height and width (tiles plus ``gap`` pixels of ``fill``).
    """
    cell_h = max(t.shape[0] for row in rows for t in row)
    cell_w = max(t.shape[1] for row in rows for t in row)
    ncols = max(len(row) for row in rows)
    step_h, step_w = cell_h + gap, cell_w + gap
    out = np.full((len(rows) * step_h + gap, ncols * step_w + gap, 3), fill, dtype=np.float32)
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            top = gap + i * step_h + (cell_h - tile.shape[0]) // 2
            left = gap + j * step_w + (cell_w - tile.shape[1]) // 2
            out[top: top + tile.shape[0], left: left + tile.shape[1]] = tile
    return out, step_h, step_w


def rgb(tile: np.ndarray) -> np.ndarray:
    return np.repeat(tile[..., None], 3, axis=-1) if tile.ndim == 2 else tile


def plot_patch_grid(
    patches: Any,
    *,
    title: str | None = None,
    row_labels: Sequence[str] | None = None,
    captions: Sequence[str] | None = None,
) -> Figure:
    """Show image patches in a grid: one batch as one row, or several batches as several rows.

    Meant for top-activating patches (one row per channel) and activation-maximisation images. The grid is
    drawn as a single image with white gaps between the patches; smaller patches are centred in their cell.

    Args:
        patches: (k, h, w[, C]) patches in [0, 1], or a sequence of such arrays (one row each; the rows may
            hold different numbers of patches of different sizes).
        title: figure title.
        row_labels: one label per row, written left of the row.
        captions: one caption per patch of a single row (e.g. the activation values), written below it.

    Returns:
        The Figure, with one axes holding the mosaic.

    Raises:
        ValueError: malformed patches, values outside [0, 1], or label/caption counts that do not match.
    """
    if isinstance(patches, np.ndarray) or not isinstance(patches, Sequence):
        rows = [as_images(patches, "patches")]
    else:
        rows = [as_images(p, f"patches[{i}]") for i, p in enumerate(patches)]
    if not rows:
        raise ValueError("patches is empty")
    if row_labels is not None and len(row_labels) != len(rows):
        raise ValueError(f"row_labels must have one entry per row ({len(rows)}), got {len(row_labels)}")
    if captions is not None and (len(rows) != 1 or len(captions) != rows[0].shape[0]):
        raise ValueError(
            f"captions must have one entry per patch of a single row ({rows[0].shape[0]}), "
            f"got {len(captions)}"
        )
    picture, step_h, step_w = mosaic([[rgb(t) for t in row] for row in rows])
    ncols = max(r.shape[0] for r in rows)
    # at least 6 inches wide so that a sentence-long title fits above a short row
    fig, ax = plt.subplots(figsize=(min(max(1.0 * ncols + 1.2, 6.0), 14.0), min(1.0 * len(rows) + 0.9, 14.0)))
    ax.imshow(picture, interpolation="nearest")
    ax.set_yticks([(i + 0.5) * step_h for i in range(len(rows))],
                  [str(s) for s in row_labels] if row_labels is not None else [""] * len(rows))
    ax.set_xticks([(j + 0.5) * step_w for j in range(ncols)],
                  [str(s) for s in captions] if captions is not None else [""] * ncols, fontsize=8)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(title or f"{sum(r.shape[0] for r in rows)} patches")
    fig.tight_layout()
    return fig


def plot_kernel_evolution(
    snapshots: Sequence[Any],
    labels: Sequence[str] | None = None,
    *,
    max_filters: int = 8,
    title: str | None = None,
) -> Figure:
    """Show how convolution filters change during training: one row per snapshot, one column per filter.

    Each filter keeps one colour scale across all snapshots (mid-grey is zero, the extremes are the
    filter's largest absolute weight over the whole run), so growing weights show up as growing contrast.
    Three-channel kernels are drawn in colour; otherwise the first input channel is drawn in grey. The grid
    is one image with white gaps between the filters.

    Args:
        snapshots: sequence of (KH, KW, C_in, C_out) kernels of the same layer (e.g.
            ``visualize.KernelSnapshots(...).snapshots``).
        labels: one label per snapshot ("init", "epoch 1", ...), written left of each row.
        max_filters: the most filters (columns) drawn, the first ones.
        title: figure title.

    Returns:
        The Figure, with one axes holding the mosaic; columns are labelled with the filter index.

    Raises:
        TypeError: max_filters not an int.
        ValueError: no snapshots, snapshots of different shapes or not 4-D, a label count that does not
            match, or max_filters < 1.
    """
    if len(snapshots) == 0:
        raise ValueError("snapshots is empty")
    ws = [np.asarray(s, dtype=np.float32) for s in snapshots]
    if ws[0].ndim != 4 or any(w.shape != ws[0].shape for w in ws):
        raise ValueError(
            f"snapshots must all have one shape (KH, KW, C_in, C_out), got {sorted({w.shape for w in ws})}"
        )
    if labels is not None and len(labels) != len(ws):
        raise ValueError(f"labels must have one entry per snapshot ({len(ws)}), got {len(labels)}")
    max_filters = check_positive_int(max_filters, "max_filters")
    stack = np.stack(ws)  # (S, KH, KW, C_in, C_out)
    n = min(stack.shape[-1], max_filters)
    colour = stack.shape[3] == 3
    shown = stack[..., :n] if colour else stack[..., :1, :n]  # (S, KH, KW, 3 or 1, n)
    limit = np.abs(shown).max(axis=(0, 1, 2, 3), keepdims=True)  # one scale per filter, over all snapshots
    scaled = np.clip(0.5 + 0.5 * shown / np.where(limit > 0, limit, 1.0), 0.0, 1.0)
    rows = [[rgb(scaled[i, :, :, :, j] if colour else scaled[i, :, :, 0, j]) for j in range(n)]
            for i in range(len(ws))]
    picture, step_h, step_w = mosaic(rows)
    fig, ax = plt.subplots(figsize=(min(0.75 * n + 1.4, 14.0), min(0.75 * len(ws) + 1.0, 14.0)))
    ax.imshow(picture, interpolation="nearest")
    ax.set_yticks([(i + 0.5) * step_h for i in range(len(ws))],
                  [str(s) for s in labels] if labels is not None else [""] * len(ws))
    ax.set_xticks([(j + 0.5) * step_w for j in range(n)], [str(j) for j in range(n)], fontsize=8)
    ax.set_xlabel("filter")
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    kh, kw, c_in, c_out = ws[0].shape
    ax.set_title(title or f"{n} of {c_out} filters ({kh}x{kw}x{c_in}) over {len(ws)} snapshots")
    fig.tight_layout()
    return fig
