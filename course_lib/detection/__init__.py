"""Object detection from the ground up: box overlap, non-maximum suppression, targets and average precision.

Boxes are ``(x_min, y_min, x_max, y_max)`` in pixels, as :mod:`course_lib.scenes` makes them: a box covers
``[x_min, x_max) x [y_min, y_max)`` and its area is ``(x_max - x_min) * (y_max - y_min)`` (no ``+ 1``).
Arrays of boxes have shape ``(N, 4)``; an empty set is ``(0, 4)``. A box with ``x_max < x_min`` or
``y_max < y_min``, a NaN or an infinity, or an array of the wrong shape is a ``ValueError`` that says which
box.

Modules (every public name is re-exported here, ``cl.detection.iou`` and so on):

- :mod:`~course_lib.detection.boxes`: ``check_boxes``, ``box_area``, ``box_centres``, ``box_corners``,
  ``iou`` (every box of one set with every box of another) and ``nms`` (greedy non-maximum suppression, as
  ``tf.image.non_max_suppression``);
- :mod:`~course_lib.detection.targets`: ``encode_grid``, ``grid_targets``, ``decode_grid`` (YOLO v1's S x S
  grid, one object per cell) and ``make_anchors``, ``encode_anchors``, ``decode_anchors`` (anchor boxes and
  the offsets of Faster R-CNN / SSD);
- :mod:`~course_lib.detection.metrics`: ``precision_recall``, ``voc_ap``, ``average_precision``,
  ``mean_average_precision`` (PASCAL VOC's all-point AP and its mean over classes and IoU thresholds);
- :mod:`~course_lib.detection.model`: ``grid_detector`` (a small single-shot grid detector in Keras) and
  ``grid_loss``.

``draw_boxes`` and ``show_detections`` are drawn by :mod:`course_lib.plotting` (where the other pictures
live) and are re-exported here; they load on first use, so importing this package loads neither Matplotlib
nor Keras.

References: J. Redmon et al., *You Only Look Once: Unified, Real-Time Object Detection*, CVPR 2016;
S. Ren et al., *Faster R-CNN*, NeurIPS 2015; M. Everingham et al., *The PASCAL Visual Object Classes (VOC)
Challenge*, IJCV 2010 (and its 2010+ devkit for the all-point interpolation).
"""

from __future__ import annotations

from ..lazy import lazy_exports
from .boxes import box_area, box_centres, box_corners, check_boxes, iou, nms
from .metrics import average_precision, mean_average_precision, precision_recall, voc_ap
from .model import grid_detector, grid_loss
from .targets import decode_anchors, decode_grid, encode_anchors, encode_grid, grid_targets, make_anchors

# Drawn by course_lib.plotting; imported on first use so that the box arithmetic stays NumPy-only.
_PLOTTING = ("draw_boxes", "show_detections")

__all__ = [
    "check_boxes", "box_area", "box_centres", "box_corners", "iou", "nms", "encode_grid", "decode_grid",
    "grid_targets", "make_anchors", "encode_anchors", "decode_anchors", "precision_recall", "voc_ap",
    "average_precision", "mean_average_precision", "grid_detector", "grid_loss", *_PLOTTING,
]

__getattr__, __dir__ = lazy_exports(__name__, "course_lib.plotting", _PLOTTING)
