"""Diagrams generated from the course's code: concept pictures and architecture diagrams, matplotlib only.

- :mod:`~course_lib.drawing.colors`: the course's colormaps (diverging for signed values, sequential for
  activations), symmetric limits, and ``heatmap`` (a map with its colorbar);
- :mod:`~course_lib.drawing.concepts`: padding and stride, volumes, im2col, receptive fields, pooling,
  transposed convolution, each drawn from :mod:`course_lib.shapes` and :mod:`course_lib.numpy_cnn`;
- :mod:`~course_lib.drawing.architecture`: diagrams drawn from built Keras models (layer stacks, AlexNet's
  towers, Inception modules, residual and dense blocks), so that a change in a model changes its picture.

Importing this package does not import Keras; the architecture functions import it when called.
"""

from .architecture import (
    architecture_boxes,
    draw_dense_block,
    draw_inception_module,
    draw_layer_stack,
    draw_residual_block,
    draw_towers,
)
from .colors import (
    COUNTS_CMAP,
    DIVERGING_CMAP,
    IMAGE_CMAP,
    LAYER_COLORS,
    SEQUENTIAL_CMAP,
    WINDOW_COLORS,
    heatmap,
    symmetric_limits,
    window_color,
)
from .concepts import (
    draw_conv_volume,
    draw_im2col,
    draw_pooling,
    draw_receptive_field,
    draw_sliding_steps,
    draw_sliding_window,
    draw_transposed_conv,
    im2col_matrix,
    transposed_output_size,
)

__all__ = [
    "COUNTS_CMAP",
    "DIVERGING_CMAP",
    "IMAGE_CMAP",
    "LAYER_COLORS",
    "SEQUENTIAL_CMAP",
    "WINDOW_COLORS",
    "architecture_boxes",
    "draw_conv_volume",
    "draw_dense_block",
    "draw_im2col",
    "draw_inception_module",
    "draw_layer_stack",
    "draw_pooling",
    "draw_receptive_field",
    "draw_residual_block",
    "draw_sliding_steps",
    "draw_sliding_window",
    "draw_towers",
    "draw_transposed_conv",
    "heatmap",
    "im2col_matrix",
    "symmetric_limits",
    "transposed_output_size",
    "window_color",
]
