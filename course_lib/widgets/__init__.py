"""Lecture controls: live demos with sliders in Jupyter, the same pictures as static figures everywhere else.

Each control comes in two layers:

- a pure ``*_figure(...)`` function that takes plain parameter values and returns a Matplotlib ``Figure``
  (tested headlessly under Agg): :func:`conv_arithmetic_figure` (padding, stride, kernel and the
  output-size formula), :func:`sliding_window_figure` (one window position of a correlation, with the output
  filled in so far), :func:`kernel_response_figure` (a 3x3 kernel applied to a photograph),
  :func:`pooling_figure` (one pooling window), :func:`receptive_field_figure` (the units one output sees,
  layer by layer), :func:`feature_maps_figure` (a page of one layer's channels for any course model) and
  :func:`attribution_figure` (Grad-CAM or occlusion over an image);
- a thin ``show_*`` wrapper that builds ``ipywidgets`` controls around it when a widget frontend is there,
  and otherwise draws a *static* figure: a small grid of parameter settings, one panel per setting.

The window pictures are those of :mod:`course_lib.drawing` (``draw_sliding_window``, ``draw_pooling``,
``draw_receptive_field``): a control adds sliders and settings, never a second drawing of the same idea.

Modules (every public name is re-exported here, ``cl.widgets.show_pooling`` and so on):

- :mod:`~course_lib.widgets.core`: :func:`static_mode` and the static grid and live box every control uses;
- :mod:`~course_lib.widgets.windows`: padding and stride, the sliding window, pooling, receptive fields;
- :mod:`~course_lib.widgets.kernels`: the kernel editor and :data:`PRESET_KERNELS`;
- :mod:`~course_lib.widgets.networks`: feature maps and attribution for any course model.

Static or live. ``static=None`` (the default of every ``show_*``) asks :func:`static_mode`: the environment
variable ``COURSE_STATIC_FIGURES`` decides when it is set (``1``/``0``); otherwise the control is live only
in an IPython kernel started by a notebook server (JupyterLab, Notebook 7, Voila: they set
``JPY_SESSION_NAME``), by VS Code or by Colab, with ``ipywidgets`` importable. Kernels started by nbval,
nbclient, ``nbconvert --execute`` or ``course_lib.notebooks`` have none of these, so stored notebooks hold
plain PNG figures: no widget-view outputs that nbval cannot compare and GitHub cannot render.

In a notebook, assign the result (``control = cl.widgets.show_conv_arithmetic()``): a bare call on the last
line would show a static figure twice, as Matplotlib's inline backend also draws every open figure.
"""

from .core import STATIC_ENV_VAR, static_mode
from .kernels import PRESET_KERNELS, kernel_response_figure, show_kernel_editor
from .networks import attribution_figure, feature_maps_figure, show_attribution, show_feature_maps
from .windows import (
    conv_arithmetic_figure,
    pooling_figure,
    receptive_field_figure,
    show_conv_arithmetic,
    show_pooling,
    show_receptive_field,
    show_sliding_window,
    sliding_window_figure,
)

__all__ = [
    "STATIC_ENV_VAR",
    "PRESET_KERNELS",
    "static_mode",
    "conv_arithmetic_figure",
    "sliding_window_figure",
    "kernel_response_figure",
    "pooling_figure",
    "receptive_field_figure",
    "feature_maps_figure",
    "attribution_figure",
    "show_conv_arithmetic",
    "show_sliding_window",
    "show_kernel_editor",
    "show_pooling",
    "show_receptive_field",
    "show_feature_maps",
    "show_attribution",
]
