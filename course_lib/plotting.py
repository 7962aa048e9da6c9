"""Figures for the course: image grids, kernels, feature maps, training curves, confusion matrices.

Matplotlib only. Every function builds a new figure, gives it a title, and returns the ``Figure``; none
calls ``plt.show()``, so the module works unchanged under the non-interactive Agg backend (tests, CI) and in
Jupyter, where the inline backend draws every open figure at the end of the cell. In a notebook, write
``fig = cl.plotting.show_images(...)`` (or end the line with ``;``): a bare call as the last line of a cell
would show the figure twice, once as the open figure and once as the returned value.

Arrays follow the kit's single layout, NHWC like Keras: images ``(N, H, W)`` or ``(N, H, W, C)``, kernels
``(KH, KW, C_in, C_out)``, feature maps ``(H, W, C)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .drawing.colors import COUNTS_CMAP, DIVERGING_CMAP, IMAGE_CMAP, SEQUENTIAL_CMAP, symmetric_limits
from .validation import check_array, check_float, check_positive_int

# Past this many classes the numbers written in confusion-matrix cells become unreadable.
_MAX_ANNOTATED_CLASSES = 20


# --------------------------------------------------------------------------------------------------- helpers
def _grid(n: int, ncols: int, *, cell: float = 1.4, extra_height: float = 0.6) -> tuple[Figure, list[Any]]:
    """A figure with exactly ``n`` image axes laid out ``ncols`` wide (unused grid cells are removed)."""
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows + extra_height), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        fig.delaxes(ax)
    for ax in flat[:n]:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, flat[:n]


def _label_text(label: Any, class_names: Sequence[str] | None) -> str:
    """The display name of one label: its class name when one is given, else the label itself."""
    if class_names is not None and isinstance(label, (int, np.integer)):
        if not 0 <= int(label) < len(class_names):
            raise ValueError(f"label {int(label)} is outside class_names ({len(class_names)} names)")
        return str(class_names[int(label)])
    return str(label)


def _as_images(images: Any, name: str = "images") -> np.ndarray:
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


def _labels_1d(y: Any, name: str) -> np.ndarray:
    """Class indices from labels given as ints (N,), a column (N, 1), or scores / one-hot rows (N, K)."""
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    elif arr.ndim == 2:
        arr = arr.argmax(axis=1)
    if arr.ndim != 1:
        shape = np.asarray(y).shape
        raise ValueError(f"{name} must be class indices (N,) or scores (N, K), got shape {shape}")
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must hold non-negative class indices, got {int(arr.min())}")
    return arr.astype(np.int64)


# --------------------------------------------------------------------------------------------------- images
def show_images(
    images: Any,
    labels: Any = None,
    *,
    class_names: Sequence[str] | None = None,
    ncols: int = 8,
    title: str | None = None,
    cmap: str | None = None,
) -> Figure:
    """Show a batch of images in a grid, each captioned with its label.

    Args:
        images: (N, H, W) or (N, H, W, C) with C in {1, 3}, floats in [0, 1] (uint8 0..255 also accepted).
        labels: optional (N,) labels (ints, or strings shown as they are).
        class_names: names indexed by integer label, used for the captions.
        ncols: images per row.
        title: figure title (default "N images").
        cmap: colormap for one-channel images (default "gray"; ignored for RGB).

    Returns:
        The matplotlib Figure, with one axes per image.

    Raises:
        TypeError: images not numeric, or ncols not an int.
        ValueError: wrong shape, values outside [0, 1], len(labels) != N, or ncols < 1.
    """
    arr = _as_images(images)
    ncols = check_positive_int(ncols, "ncols")
    n = arr.shape[0]
    if labels is not None:
        labels = list(labels) if isinstance(labels, (list, tuple)) else list(np.asarray(labels).reshape(-1))
        if len(labels) != n:
            raise ValueError(f"labels must have one entry per image ({n}), got {len(labels)}")
    fig, axes = _grid(n, ncols)
    for i, ax in enumerate(axes):
        if arr.ndim == 3:
            ax.imshow(arr[i], cmap=cmap or IMAGE_CMAP, vmin=0.0, vmax=1.0, interpolation="nearest")
        else:
            ax.imshow(arr[i], interpolation="nearest")
        if labels is not None:
            ax.set_title(_label_text(labels[i], class_names), fontsize=8)
    fig.suptitle(title or f"{n} images")
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
        fig, axes = _grid(n, min(n, 8))
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
            fig, axes = _grid(c_in * c_out, c_out if c_in > 1 else min(c_out, 8))
            pairs = [(i, j) for i in range(c_in) for j in range(c_out)]
            default = f"{c_out} filters of {kh}x{kw}x{c_in} (row = input channel)"
        else:
            n = min(c_out, max_kernels)
            fig, axes = _grid(n, min(n, 8))
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
    fig, axes = _grid(n, ncols)
    for k, ax in enumerate(axes):
        ax.imshow(a[:, :, k], cmap=SEQUENTIAL_CMAP, interpolation="nearest")
        ax.set_title(f"ch {k}", fontsize=7)
    shown = f", first {n} shown" if n < c else ""
    fig.suptitle(title or f"{c} feature maps of {h}x{w_}{shown}")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------------- training
def plot_history(
    history: Any, *, metrics: Sequence[str] = ("loss", "accuracy"), title: str | None = None
) -> Figure:
    """Plot training and validation curves, one panel per metric.

    Args:
        history: a ``keras.callbacks.History`` (what ``model.fit`` returns) or a dict of per-epoch lists
            such as ``{"loss": [...], "val_loss": [...]}``.
        metrics: the metric names to draw; names absent from the history are skipped. ``val_<name>`` is drawn
            next to ``<name>`` when present.
        title: figure title.

    Returns:
        The Figure, one axes per metric found.

    Raises:
        TypeError: history is neither a History nor a mapping.
        ValueError: none of ``metrics`` is in the history (the message lists what is there).
    """
    hist = getattr(history, "history", history)
    if not isinstance(hist, Mapping):
        raise TypeError(f"history must be a keras History or a dict of lists, got {type(history).__name__}")
    if isinstance(metrics, str):
        metrics = (metrics,)
    found = [m for m in metrics if m in hist or f"val_{m}" in hist]
    if not found:
        raise ValueError(f"none of metrics {tuple(metrics)} is in the history; it has {sorted(hist)}")
    fig, axes = plt.subplots(1, len(found), figsize=(4.5 * len(found), 3.4), squeeze=False)
    for ax, m in zip(axes[0], found):
        for key, label, style in ((m, "train", "-o"), (f"val_{m}", "validation", "--s")):
            if key in hist:
                values = np.asarray(hist[key], dtype=float)
                ax.plot(np.arange(1, len(values) + 1), values, style, markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(m)
        ax.set_title(m)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title or "training history")
    fig.tight_layout()
    return fig


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Count matrix ``C[i, j]`` = number of samples of true class i predicted as class j.

    Args:
        y_true: (N,) class indices, or (N, K) one-hot rows.
        y_pred: (N,) class indices, or (N, K) scores (argmax is taken).
        num_classes: K; default max label + 1.

    Returns:
        (K, K) int64 counts.

    Raises:
        ValueError: lengths differ, or a label is >= num_classes.
    """
    t = _labels_1d(y_true, "y_true")
    p = _labels_1d(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.shape[0]} and {p.shape[0]}")
    k = int(max(t.max(initial=-1), p.max(initial=-1)) + 1) if num_classes is None else int(num_classes)
    if t.size and max(int(t.max()), int(p.max())) >= k:
        raise ValueError(f"labels must be < num_classes={k}, got {max(int(t.max()), int(p.max()))}")
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def top_confusions(y_true: Any, y_pred: Any, *, class_names: Sequence[str] | None = None,
                   k: int = 3) -> list[tuple[str, str, int]]:
    """The ``k`` most frequent mistakes as (true class, predicted class, count), largest first.

    Args:
        y_true: (N,) class indices or (N, K) one-hot rows.
        y_pred: (N,) class indices or (N, K) scores.
        class_names: names for the class indices; default the indices as text.
        k: how many pairs at most; pairs that never occur are left out.

    Returns:
        A list of at most ``k`` tuples.

    Raises:
        TypeError: k not an int.
        ValueError: k < 1, or as ``confusion_matrix``.
    """
    k = check_positive_int(k, "k")
    num_classes = len(class_names) if class_names is not None else None
    counts = confusion_matrix(y_true, y_pred, num_classes=num_classes)
    np.fill_diagonal(counts, 0)
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(counts))]
    # stable sort on the negated counts: ties keep row-major order, so the result is reproducible
    order = np.argsort(-counts, axis=None, kind="stable")[:k]
    pairs = [np.unravel_index(flat, counts.shape) for flat in order]
    return [(names[t], names[p], int(counts[t, p])) for t, p in pairs if counts[t, p] > 0]


def plot_confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    normalize: bool = False,
) -> Figure:
    """Draw the confusion matrix of a classifier (rows: true class, columns: predicted class).

    Args:
        y_true: (N,) class indices, or (N, K) one-hot rows.
        y_pred: (N,) class indices, or (N, K) scores.
        class_names: K names for the ticks; K also fixes the matrix size.
        title: figure title (default states the accuracy).
        normalize: divide each row by its count, so the diagonal reads as per-class recall.

    Returns:
        The Figure (the matrix axes plus its colour bar).

    Raises:
        ValueError: see ``confusion_matrix``.
    """
    k = len(class_names) if class_names is not None else None
    cm = confusion_matrix(y_true, y_pred, num_classes=k)
    k = cm.shape[0]
    total = cm.sum()
    accuracy = float(np.trace(cm)) / total if total else float("nan")
    shown = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    size = min(2.0 + 0.55 * k, 12.0)
    fig, ax = plt.subplots(figsize=(size + 1.0, size))
    image = ax.imshow(shown, cmap=COUNTS_CMAP, vmin=0, interpolation="nearest")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of row" if normalize else "count")
    names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]
    ax.set_xticks(range(k), names, rotation=45 if k > 5 else 0, ha="right" if k > 5 else "center")
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= _MAX_ANNOTATED_CLASSES:
        peak = float(shown.max()) or 1.0
        for i in range(k):
            for j in range(k):
                text = f"{shown[i, j]:.2f}" if normalize else str(int(shown[i, j]))
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if shown[i, j] > 0.6 * peak else "black")
    ax.set_title(title or f"confusion matrix (accuracy {accuracy:.3f})")
    fig.tight_layout()
    return fig


def show_misclassified(
    x: Any,
    y_true: Any,
    y_pred: Any,
    *,
    class_names: Sequence[str] | None = None,
    n: int = 16,
    title: str | None = None,
) -> Figure:
    """Show the first ``n`` images whose prediction is wrong, captioned "true -> predicted".

    Args:
        x: (N, H, W) or (N, H, W, C) images in [0, 1].
        y_true: (N,) class indices (or one-hot rows).
        y_pred: (N,) class indices, or (N, K) scores; with scores the caption adds the predicted probability.
        class_names: names for the captions.
        n: the most images shown.
        title: figure title (default gives how many are wrong out of N).

    Returns:
        The Figure: one axes per image shown, or a single axes saying that nothing was misclassified.

    Raises:
        TypeError: n not an int.
        ValueError: shapes disagree, or n < 1.
    """
    imgs = _as_images(x, "x")
    n = check_positive_int(n, "n")
    t = _labels_1d(y_true, "y_true")
    p = _labels_1d(y_pred, "y_pred")
    if not (len(t) == len(p) == imgs.shape[0]):
        raise ValueError(
            f"x, y_true and y_pred must have the same length, got {imgs.shape[0]}, {len(t)} and {len(p)}"
        )
    scores = np.asarray(y_pred)
    wrong = np.flatnonzero(t != p)
    default = f"{len(wrong)} of {len(t)} misclassified"
    if len(wrong) == 0:
        fig, ax = plt.subplots(figsize=(4, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
        fig.suptitle(title or default)
        return fig
    idx = wrong[:n]
    fig, axes = _grid(len(idx), 8, cell=1.5, extra_height=0.8)
    for ax, i in zip(axes, idx):
        img = imgs[i]
        ax.imshow(img, cmap=IMAGE_CMAP if img.ndim == 2 else None, vmin=0.0, vmax=1.0,
                  interpolation="nearest")
        caption = f"{_label_text(int(t[i]), class_names)}\n-> {_label_text(int(p[i]), class_names)}"
        if scores.ndim == 2 and scores.shape[1] > 1:
            caption += f" ({float(scores[i, p[i]]):.2f})"
        ax.set_title(caption, fontsize=7)
    fig.suptitle(title or default + (f" (first {len(idx)} shown)" if len(idx) < len(wrong) else ""))
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


# ----------------------------------------------------------------------------------------------- inspection
# Pictures for course_lib.visualize: heat maps over images, patch grids, filters changing during training.
def _as_heatmap(heatmap: Any, name: str = "heatmap") -> np.ndarray:
    h = np.asarray(heatmap, dtype=np.float32)
    if h.ndim == 3 and h.shape[-1] == 1:
        h = h[..., 0]
    if h.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map (H, W), got shape {np.asarray(heatmap).shape}")
    if not np.all(np.isfinite(h)):
        raise ValueError(f"{name} must hold finite values")
    return h


def _draw_heat(ax: Any, image: np.ndarray, heat: np.ndarray, alpha: float, *,
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
    img = _as_images(np.asarray(image)[None], "image")[0]
    heat = _as_heatmap(heatmap)
    alpha = check_float(alpha, "alpha", minimum=0.0, maximum=1.0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.4, 3.2))
    left.imshow(img, cmap=IMAGE_CMAP if img.ndim == 2 else None, vmin=0.0, vmax=1.0, interpolation="nearest")
    left.set_title("image", fontsize=9)
    shown = _draw_heat(right, img, heat, alpha)
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
    imgs = _as_images(images)
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
    heats = {name: [_as_heatmap(m, f"maps[{name!r}][{i}]") for i, m in enumerate(ms)]
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
            shown = _draw_heat(axes[i, j], imgs[i], hs[i], alpha, signed=signed, limits=limits)
        fig.colorbar(shown, ax=axes[:, j], location="bottom", fraction=0.05, pad=0.02, aspect=12)
    for j, name in enumerate(["image", *maps]):
        axes[0, j].set_title(name, fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title or f"{len(maps)} explanation methods on {n} images")
    return fig


def _mosaic(rows: list[list[np.ndarray]], *, gap: int = 1, fill: float = 1.0) -> tuple[np.ndarray, int, int]:
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


def _rgb(tile: np.ndarray) -> np.ndarray:
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
        rows = [_as_images(patches, "patches")]
    else:
        rows = [_as_images(p, f"patches[{i}]") for i, p in enumerate(patches)]
    if not rows:
        raise ValueError("patches is empty")
    if row_labels is not None and len(row_labels) != len(rows):
        raise ValueError(f"row_labels must have one entry per row ({len(rows)}), got {len(row_labels)}")
    if captions is not None and (len(rows) != 1 or len(captions) != rows[0].shape[0]):
        raise ValueError(
            f"captions must have one entry per patch of a single row ({rows[0].shape[0]}), "
            f"got {len(captions)}"
        )
    mosaic, step_h, step_w = _mosaic([[_rgb(t) for t in row] for row in rows])
    ncols = max(r.shape[0] for r in rows)
    # at least 6 inches wide so that a sentence-long title fits above a short row
    fig, ax = plt.subplots(figsize=(min(max(1.0 * ncols + 1.2, 6.0), 14.0), min(1.0 * len(rows) + 0.9, 14.0)))
    ax.imshow(mosaic, interpolation="nearest")
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
    rows = [[_rgb(scaled[i, :, :, :, j] if colour else scaled[i, :, :, 0, j]) for j in range(n)]
            for i in range(len(ws))]
    mosaic, step_h, step_w = _mosaic(rows)
    fig, ax = plt.subplots(figsize=(min(0.75 * n + 1.4, 14.0), min(0.75 * len(ws) + 1.0, 14.0)))
    ax.imshow(mosaic, interpolation="nearest")
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
