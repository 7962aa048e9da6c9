"""Figures for the course: image grids, kernels, feature maps, training curves, confusion matrices, heat maps,
boxes and class maps over images.

Matplotlib only. Every function builds a new figure, gives it a title, and returns the ``Figure``; none
calls ``plt.show()``, so the package works unchanged under the non-interactive Agg backend (tests, CI) and in
Jupyter, where the inline backend draws every open figure at the end of the cell. In a notebook, write
``fig = cl.plotting.show_images(...)`` (or end the line with ``;``): a bare call as the last line of a cell
would show the figure twice, once as the open figure and once as the returned value.

Arrays follow the kit's single layout, NHWC like Keras: images ``(N, H, W)`` or ``(N, H, W, C)``, kernels
``(KH, KW, C_in, C_out)``, feature maps ``(H, W, C)``.

Modules (every name is re-exported here):

- :mod:`~course_lib.plotting.images`: :func:`image_grid` (the layout of every grid of pictures),
  :func:`show_images`, :func:`plot_kernels`, :func:`plot_feature_maps`, :func:`plot_array`;
- :mod:`~course_lib.plotting.results`: :func:`plot_history`, :func:`plot_runs` (seeds as mean and band),
  :func:`confusion_matrix` (counted by
  :func:`course_lib.metrics.confusion_matrix`), :func:`top_confusions`, :func:`plot_confusion_matrix`,
  :func:`show_misclassified`;
- :mod:`~course_lib.plotting.inspection`: what :mod:`course_lib.visualize` computes, drawn:
  :func:`plot_heatmap_overlay`, :func:`plot_attribution_grid`, :func:`plot_patch_grid`,
  :func:`plot_kernel_evolution`;
- :mod:`~course_lib.plotting.annotations`: :func:`draw_boxes`, :func:`show_detections` (detection) and
  :func:`show_masks` (segmentation);
- :mod:`~course_lib.plotting.text`: :func:`set_min_fontsize` (raise every text of a finished figure to a
  readable floor).
"""

from .annotations import draw_boxes, show_detections, show_masks
from .images import image_grid, plot_array, plot_feature_maps, plot_kernels, show_images
from .inspection import plot_attribution_grid, plot_heatmap_overlay, plot_kernel_evolution, plot_patch_grid
from .results import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_history,
    plot_runs,
    show_misclassified,
    top_confusions,
)
from .text import set_min_fontsize

__all__ = [
    "confusion_matrix",
    "draw_boxes",
    "image_grid",
    "plot_array",
    "plot_attribution_grid",
    "plot_confusion_matrix",
    "plot_feature_maps",
    "plot_heatmap_overlay",
    "plot_history",
    "plot_kernel_evolution",
    "plot_kernels",
    "plot_patch_grid",
    "plot_runs",
    "set_min_fontsize",
    "show_detections",
    "show_images",
    "show_masks",
    "show_misclassified",
    "top_confusions",
]
