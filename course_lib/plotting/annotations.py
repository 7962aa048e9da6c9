"""Boxes and class maps drawn over images: what :mod:`course_lib.detection` finds and
:mod:`course_lib.segmentation` paints.

- :func:`draw_boxes`: boxes ``(x_min, y_min, x_max, y_max)`` in pixels on one Axes showing an image;
- :func:`show_detections`: a grid of images with predicted boxes (coloured by class) and true ones (dashed);
- :func:`show_masks`: a grid of images with their class maps painted over them (the background left clear).

Both modules re-export these names (``cl.detection.draw_boxes``, ``cl.segmentation.show_masks``).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch, Rectangle

from ..detection.boxes import check_boxes
from ..validation import check_array, check_int, check_positive_int
from .images import image_grid

__all__ = ["draw_boxes", "show_detections", "show_masks"]


def draw_boxes(ax, boxes, labels=None, scores=None, *, class_names: Sequence[str] | None = None,
               color=None, linestyle: str = "-", linewidth: float = 1.5):
    """Draw boxes on a Matplotlib axis showing an image (pixel coordinates, as ``imshow`` places them).

    ``imshow`` centres pixel (i, j) on (j, i), so a box covering pixel columns x_min .. x_max - 1 runs from
    x_min - 0.5 to x_max - 0.5 on the axis; that shift is applied here.

    Args:
        ax: a Matplotlib axis.
        boxes: (K, 4) boxes.
        labels: (K,) class indices, or None.
        scores: (K,) scores written after the class name, or None.
        class_names: names for the labels (default: the numbers).
        color: one colour for every box; None colours by class (tab10).
        linestyle, linewidth: of the rectangles.
    """
    boxes = check_boxes(boxes)
    cmap = plt.get_cmap("tab10")
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        label = None if labels is None else int(labels[k])
        edge = color if color is not None else cmap((label or 0) % 10)
        ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=edge,
                               linestyle=linestyle, linewidth=linewidth))
        text = []
        if label is not None:
            text.append(class_names[label] if class_names is not None else str(label))
        if scores is not None:
            text.append(f"{float(scores[k]):.2f}")
        if text:
            ax.text(x0 - 0.5, y0 - 1, " ".join(text), color="white", fontsize=6, va="bottom",
                    bbox={"facecolor": edge, "alpha": 0.7, "pad": 0.5, "linewidth": 0})


def show_detections(images, pred_boxes, pred_labels=None, pred_scores=None, *, true_boxes=None,
                    class_names: Sequence[str] | None = None, ncols: int = 4, title: str | None = None,
                    linewidth: float = 1.5):
    """A grid of images with predicted boxes (solid, coloured by class) and true boxes (dashed white).

    Args:
        images: (N, H, W, 3) in [0, 1].
        pred_boxes: one (k_i, 4) array per image; pred_labels, pred_scores: one array per image or None.
        true_boxes: one (m_i, 4) array per image, or None.
        class_names: names for the labels.
        ncols: images per row.
        title: the figure's title.
        linewidth: of the predicted boxes.

    Returns:
        The Matplotlib ``Figure``.
    """
    images = check_array(images, "images", ndim=4, layout="(N, H, W, 3)")
    fig, axes = image_grid(len(images), check_positive_int(ncols, "ncols"), cell=2.0, extra_height=0.4)
    for i, ax in enumerate(axes):
        ax.imshow(np.clip(images[i], 0, 1))
        if true_boxes is not None:
            draw_boxes(ax, true_boxes[i], color="white", linestyle="--", linewidth=1.0)
        draw_boxes(ax, pred_boxes[i], None if pred_labels is None else pred_labels[i],
                   None if pred_scores is None else pred_scores[i], class_names=class_names,
                   linewidth=linewidth)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_masks(images, masks, *, num_classes: int, class_names=None, titles=None, alpha: float = 0.5,
               ncols: int = 4, title: str | None = None):
    """A grid of images with class maps painted over them (class 0, the background, left clear).

    Args:
        images: (N, H, W, 3) in [0, 1].
        masks: (N, H, W) class maps, or (N, H, W, C) scores (argmax taken).
        num_classes: C, background included.
        class_names: C names for a legend (optional).
        titles: one title per image (optional).
        alpha: opacity of the paint.
        ncols: images per row.
        title: the figure's title.

    Returns:
        The Matplotlib ``Figure``.
    """
    images = check_array(images, "images", ndim=4, layout="(N, H, W, 3)")
    masks = check_array(masks, "masks", ndim=(3, 4))
    if masks.ndim == 4:
        masks = masks.argmax(-1)
    c = check_int(num_classes, "num_classes", minimum=2)
    if masks.shape != images.shape[:3]:
        raise ValueError(f"masks must have shape {images.shape[:3]}, got {masks.shape}")
    colours = plt.get_cmap("tab10")(np.arange(c - 1) % 10)[:, :3]
    # 0.3 more per row leaves room for the titles
    fig, axes = image_grid(len(images), check_positive_int(ncols, "ncols"), cell=2.0,
                      extra_height=0.6 + (0.3 * -(-len(images) // ncols) if titles is not None else 0))
    for i, ax in enumerate(axes):
        image = np.clip(images[i], 0, 1).astype(np.float64)
        fg = masks[i] > 0
        paint = colours[np.clip(masks[i] - 1, 0, c - 2)]
        image[fg] = (1 - alpha) * image[fg] + alpha * paint[fg]
        ax.imshow(image)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    if class_names is not None:
        fig.legend(handles=[Patch(color=colours[k - 1], label=class_names[k]) for k in range(1, c)],
                   loc="lower center", ncol=c - 1, fontsize=7, frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06 if class_names is not None else 0, 1, 1))
    return fig
