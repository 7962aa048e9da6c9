"""Diagrams generated from the course's code: concept pictures and architecture diagrams, matplotlib only.

- :mod:`~course_lib.drawing.colors`: the course's colormaps (diverging for signed values, sequential for
  activations), symmetric limits, and ``heatmap`` (a map with its colorbar);
- concept pictures, each drawn from :mod:`course_lib.shapes` and :mod:`course_lib.numpy_cnn` with the cells,
  windows and formulas of :mod:`~course_lib.drawing.cells`:

  - :mod:`~course_lib.drawing.windows`: padding and stride (one window or several steps), pooling windows;
  - :mod:`~course_lib.drawing.receptive_field`: receptive fields growing over a layer stack;
  - :mod:`~course_lib.drawing.dilation`: a dilated kernel's taps spread over the input grid;
  - :mod:`~course_lib.drawing.volumes`: a filter spanning the input's depth, im2col's unrolled matrix;
  - :mod:`~course_lib.drawing.transposed`: transposed convolution, each input value stamping a window;
- diagrams drawn from built Keras models, so that a change in a model changes its picture:

  - :mod:`~course_lib.drawing.architecture`: whole networks (layer stacks, collapsed into blocks or stages
    for the big ones; AlexNet's towers);
  - :mod:`~course_lib.drawing.blocks`: one building block (an Inception module, a residual or dense block);
  - :mod:`~course_lib.drawing.layer_boxes`: what both share: reading a model's layers and graph, the boxes.

The lecture controls of :mod:`course_lib.widgets` draw their pictures with these functions. Importing this
package does not import Keras; the architecture functions import it when called.
"""

from .architecture import architecture_boxes, draw_layer_stack, draw_towers
from .blocks import draw_dense_block, draw_inception_module, draw_residual_block
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
from .dilation import draw_dilated_kernel
from .receptive_field import draw_receptive_field
from .transposed import draw_transposed_conv, transposed_output_size
from .volumes import draw_conv_volume, draw_im2col, im2col_matrix
from .windows import draw_pooling, draw_sliding_steps, draw_sliding_window

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
    "draw_dilated_kernel",
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
