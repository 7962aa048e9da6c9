"""Pictures of a training run and of a classifier's results: curves, confusion matrices, misclassified images.

The confusion matrix is counted by :func:`course_lib.metrics.confusion_matrix` (the one count that
:mod:`course_lib.segmentation` also uses); :func:`confusion_matrix` here first reads a classifier's labels in
any of the forms Keras gives them (indices, a column, one-hot rows or scores).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..drawing.colors import COUNTS_CMAP, IMAGE_CMAP
from ..metrics import confusion_matrix as count_confusions
from ..validation import check_positive_int
from .images import as_images, image_grid, label_text

__all__ = ["labels_1d", "plot_history", "plot_runs", "confusion_matrix", "top_confusions",
           "plot_confusion_matrix", "show_misclassified"]

# Past this many classes the numbers written in confusion-matrix cells become unreadable.
_MAX_ANNOTATED_CLASSES = 20


def labels_1d(y: Any, name: str) -> np.ndarray:
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


# ------------------------------------------------------------------------------------------------- training
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


def plot_runs(runs: Sequence[Any], metric: str, *, ax: Any = None, title: str | None = None,
              label: str = "{name} ({seeds} seeds)", ylabel: str | None = None, fontsize: float = 11) -> Any:
    """Draw one metric of several configurations, each as its mean over seeds with the min-max band around it.

    Args:
        runs: :class:`course_lib.training.runs.Runs` objects (anything with ``name``, ``curves`` and
            ``passes()``); each is one line, labelled by its name.
        metric: a key of ``curves``, e.g. ``"val_accuracy"`` or ``"loss"``.
        ax: the axes to draw on (default: a new figure).
        title: the axes' title (default: the metric).
        label: each line's legend entry, formatted with the run's ``name`` and number of ``seeds``.
        ylabel: the y axis's label (default: the metric).
        fontsize: points for the labels, ticks and legend (11: legible when projected).

    Returns:
        The axes. The band is the whole range of the seeds (min to max), the spread the notebooks compare.

    Raises:
        ValueError: no runs, or a run without ``metric`` (the message lists what it has).
    """
    runs = list(runs)
    if not runs:
        raise ValueError("runs must hold at least one configuration, got none")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.0))
    for run in runs:
        if metric not in run.curves:
            raise ValueError(f"run {run.name!r} has no metric {metric!r}; it has {sorted(run.curves)}")
        values = np.asarray(run.curves[metric], dtype=float)  # (seeds, points); NaN after an early stop
        x = run.passes()
        kept = ~np.all(np.isnan(values), axis=0)
        line, = ax.plot(x[kept], np.nanmean(values[:, kept], axis=0), "-o", markersize=3,
                        label=label.format(name=run.name, seeds=len(values)))
        ax.fill_between(x[kept], np.nanmin(values[:, kept], axis=0), np.nanmax(values[:, kept], axis=0),
                        color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel("passes over the training set", fontsize=fontsize)
    ax.set_ylabel(ylabel or metric, fontsize=fontsize)
    ax.set_title(title or metric, fontsize=fontsize + 1)
    ax.tick_params(labelsize=fontsize)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=fontsize - 1 if fontsize > 11 else fontsize)
    return ax


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int | None = None) -> np.ndarray:
    """Count matrix ``C[i, j]`` = number of samples of true class i predicted as class j.

    The labels are read as :func:`labels_1d` reads them, then counted by
    :func:`course_lib.metrics.confusion_matrix`.

    Args:
        y_true: (N,) class indices, or (N, K) one-hot rows.
        y_pred: (N,) class indices, or (N, K) scores (argmax is taken).
        num_classes: K; default max label + 1.

    Returns:
        (K, K) int64 counts.

    Raises:
        ValueError: lengths differ, or a label is >= num_classes.
    """
    t = labels_1d(y_true, "y_true")
    p = labels_1d(y_pred, "y_pred")
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.shape[0]} and {p.shape[0]}")
    return count_confusions(t, p, num_classes)


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
    ncols: int = 8,
) -> Figure:
    """Show the first ``n`` images whose prediction is wrong, captioned "true -> predicted".

    Args:
        x: (N, H, W) or (N, H, W, C) images in [0, 1].
        y_true: (N,) class indices (or one-hot rows).
        y_pred: (N,) class indices, or (N, K) scores; with scores the caption adds the predicted probability.
        class_names: names for the captions.
        n: the most images shown.
        title: figure title (default gives how many are wrong out of N).
        ncols: images per row (the figure stays about 10.4 inches wide at the default 8).

    Returns:
        The Figure: one axes per image shown, or a single axes saying that nothing was misclassified.

    Raises:
        TypeError: n not an int.
        ValueError: shapes disagree, or n < 1.
    """
    imgs = as_images(x, "x")
    n = check_positive_int(n, "n")
    t = labels_1d(y_true, "y_true")
    p = labels_1d(y_pred, "y_pred")
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
    ncols = check_positive_int(ncols, "ncols")
    idx = wrong[:n]
    fig, axes = image_grid(len(idx), ncols, cell=1.3, extra_height=0.5)
    # constrained layout reserves each caption's height above its own image, so no caption or title
    # is hidden behind the row above (tight_layout did not, with square images)
    fig.set_layout_engine("constrained")
    for ax, i in zip(axes, idx):
        img = imgs[i]
        ax.imshow(img, cmap=IMAGE_CMAP if img.ndim == 2 else None, vmin=0.0, vmax=1.0,
                  interpolation="nearest")
        caption = f"{label_text(int(t[i]), class_names)} -> {label_text(int(p[i]), class_names)}"
        if scores.ndim == 2 and scores.shape[1] > 1:
            caption += f" ({float(scores[i, p[i]]):.2f})"
        ax.set_title(caption, fontsize=11)
    fig.suptitle(title or default + (f" (first {len(idx)} shown)" if len(idx) < len(wrong) else ""),
                 fontsize=13)
    return fig


