"""Controls over sliding windows: padding and stride, a correlation step by step, pooling, receptive fields.

Each picture is drawn by :mod:`course_lib.drawing` (:func:`~course_lib.drawing.draw_sliding_window`,
:func:`~course_lib.drawing.draw_pooling`, :func:`~course_lib.drawing.draw_receptive_field`); a control only
adds its parameters' limits, its sliders and its static settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .. import drawing, shapes
from ..validation import check_float, check_int, type_error
from .core import MAX_GRID, error_figure, image2d, live, new_figure, static_grid, static_mode

__all__ = [
    "conv_arithmetic_figure",
    "show_conv_arithmetic",
    "sliding_window_figure",
    "show_sliding_window",
    "pooling_figure",
    "show_pooling",
    "receptive_field_figure",
    "show_receptive_field",
]


def _positions(input_size: Any, kernel: Any, stride: Any = 1, padding: Any = 0) -> int:
    """How many windows fit on an (H, W) input: the number of output cells (``shapes.conv_output_size``)."""
    oh, ow = shapes.conv_output_size(input_size, kernel, stride, padding)
    return oh * ow


# ----------------------------------------------------------------------------------------------------
# padding, stride and kernel: the output-size formula
# ----------------------------------------------------------------------------------------------------
def _draw_conv_arithmetic(fig: Any, *, n: int, kernel: int, stride: int, padding: Any, step: int,
                          fontsize: float | None = None) -> None:
    n = check_int(n, "n", minimum=1, maximum=MAX_GRID)
    (top, bottom), _ = shapes.resolve_padding(padding, (n, n), kernel, stride)
    if n + top + bottom > MAX_GRID + 8:
        raise ValueError(f"padding must leave at most {MAX_GRID + 8} cells per side to draw, "
                         f"got {n + top + bottom}")
    drawing.draw_sliding_window(n, kernel, stride=stride, padding=padding, position=step, fontsize=fontsize,
                                ax=fig.subplots())


def conv_arithmetic_figure(n: int = 7, kernel: int = 3, stride: int = 1, padding: Any = 0,
                           step: int = 0, *, fontsize: float | None = None) -> Figure:
    """The padded input with one window, the output grid, and the output-size formula in the title.

    Drawn by :func:`course_lib.drawing.draw_sliding_window`: padding cells are grey, the window at position
    ``step`` (row-major over the output) is framed in orange, a dot marks where each window starts, and
    cells of the padded input that no window reaches (the windows do not tile it) are hatched red.

    Args:
        n: input height = width (1 to 24).
        kernel: window size.
        stride: step between windows.
        padding: zeros per side (int), or Keras's "valid" / "same" ("same" may pad lopsidedly).
        step: window position, ``0 <= step < out**2``.
        fontsize: points for every text (see :func:`course_lib.drawing.draw_sliding_window`); default the
            small sizes of the lecture controls. Give 11 or more for a figure that is projected.

    Returns:
        The Figure: input (left) and output (right) on one Axes.

    Raises:
        TypeError: a size that is not an int, padding neither int nor str.
        ValueError: sizes out of range, a kernel larger than the padded input, an unknown padding string, a
            step past the last position, a non-positive fontsize.

    Reference: Dumoulin and Visin, "A guide to convolution arithmetic for deep learning", arXiv:1603.07285.
    """
    return new_figure(_draw_conv_arithmetic, (8, 4.2), n=n, kernel=kernel, stride=stride, padding=padding,
                      step=step, fontsize=fontsize)


def show_conv_arithmetic(n: int = 7, kernel: int = 3, stride: int = 1, padding: Any = 0, *,
                         settings: Sequence[Mapping[str, Any]] | None = None,
                         static: bool | None = None, fontsize: float | None = None,
                         panel: tuple[float, float] = (7, 4)) -> Any:
    """Padding/stride/kernel explorer: sliders in Jupyter, else a grid of ``settings`` (static figure).

    Args:
        n, kernel, stride, padding: the starting values (see :func:`conv_arithmetic_figure`).
        settings: parameter dicts for the static grid; default: the starting values, the same with "same"
            padding, stride 2, and a stride that leaves a row over.
        static: see :func:`~course_lib.widgets.static_mode`.
        fontsize: points for every text of every panel (see :func:`conv_arithmetic_figure`); default the
            controls' small sizes.
        panel: (width, height) in inches of one panel of the static figure (two panels per row).

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`conv_arithmetic_figure`, for the starting values and every setting.
    """
    plt.close(conv_arithmetic_figure(n, kernel, stride, padding, fontsize=fontsize))  # check in both modes
    if not isinstance(panel, (tuple, list)):
        raise type_error("panel", "a (width, height) pair of inches", panel)
    if len(panel) != 2:
        raise ValueError(f"panel must be a (width, height) pair of inches, got {tuple(panel)!r}")
    panel = tuple(check_float(v, f"panel[{i}]", minimum=0, include_minimum=False)
                  for i, v in enumerate(panel))
    if static_mode(static):
        if settings is None:
            settings = [dict(n=n, kernel=kernel, stride=stride, padding=padding),
                        dict(n=n, kernel=kernel, stride=stride, padding="same"),
                        dict(n=n, kernel=kernel, stride=2, padding=padding),
                        dict(n=n, kernel=kernel, stride=kernel + 1 if (n - kernel) % (kernel + 1) else 3,
                             padding=0)]
        settings = [{"step": 0, "fontsize": fontsize, **s} for s in settings]
        return static_grid(_draw_conv_arithmetic, settings, ncols=2, panel=panel, title="output size")
    import ipywidgets as w

    controls = {
        "n": w.IntSlider(value=n, min=1, max=MAX_GRID, description="input n"),
        "kernel": w.IntSlider(value=kernel, min=1, max=11, description="kernel"),
        "stride": w.IntSlider(value=stride, min=1, max=6, description="stride"),
        "padding": w.Dropdown(options=[0, 1, 2, 3, 4, "valid", "same"], value=padding, description="padding"),
        "step": w.IntSlider(value=0, min=0, max=200, description="window"),
    }

    def render(n, kernel, stride, padding, step):
        try:
            last = _positions((n, n), kernel, stride, padding) - 1
            return conv_arithmetic_figure(n, kernel, stride, padding, min(step, last), fontsize=fontsize)
        except ValueError as err:  # a setting that does not fit: say so instead of raising in the callback
            return error_figure(err)

    return live(render, controls)


# ----------------------------------------------------------------------------------------------------
# one window at a time (correlation) and pooling
# ----------------------------------------------------------------------------------------------------
def _draw_sliding_window(fig: Any, *, image: Any, kernel: Any, step: int,
                         fontsize: float | None = None) -> None:
    x = image2d(image, "image")
    k = image2d(kernel, "kernel")
    if x.shape[0] > MAX_GRID or x.shape[1] > MAX_GRID:
        raise ValueError(f"image must be at most {MAX_GRID}x{MAX_GRID} to draw, got shape {x.shape}")
    drawing.draw_sliding_window(x.shape, k.shape, position=step, values=x, weights=k, fontsize=fontsize,
                                ax=fig.subplots())


def sliding_window_figure(image: Any, kernel: Any, step: int = 0, *, fontsize: float | None = None) -> Figure:
    """One position of a valid 2-D cross-correlation: the window on the image and the output so far.

    Drawn by :func:`course_lib.drawing.draw_sliding_window` with the image's values and the kernel's weights.

    Args:
        image: (H, W) array, at most 24x24.
        kernel: (KH, KW) array no larger than the image.
        step: window position, row-major over the output.
        fontsize: points for every text (see :func:`course_lib.drawing.draw_sliding_window`); default the
            small sizes of the lecture controls. Give 11 or more for figures that are projected.

    Returns:
        The Figure: input with the window framed (left), output filled up to ``step`` (right); the title
        lists the products that the window adds up.

    Raises:
        TypeError: non-numeric arrays or step.
        ValueError: not 2-D, image too large, kernel larger than the image, step past the last position.
    """
    return new_figure(_draw_sliding_window, (7, 3.6), image=image, kernel=kernel, step=step,
                      fontsize=fontsize)


def show_sliding_window(image: Any, kernel: Any, *, steps: Sequence[int] | None = None,
                        static: bool | None = None, fontsize: float | None = None, ncols: int = 3) -> Any:
    """A slider over the window positions of :func:`sliding_window_figure`, or a static grid of ``steps``.

    Args:
        image, kernel: as :func:`sliding_window_figure`.
        steps: positions for the static grid; default the first, a middle and the last one.
        static: see :func:`~course_lib.widgets.static_mode`.
        fontsize: points for every text of every panel (see :func:`sliding_window_figure`); default the small
            sizes of the lecture controls.
        ncols: panels per row of the static grid (default 3: one row for the default three steps).

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`sliding_window_figure`.
    """
    plt.close(sliding_window_figure(image, kernel, 0, fontsize=fontsize))
    n_steps = _positions(np.shape(image), np.shape(kernel))
    if static_mode(static):
        steps = [0, n_steps // 2, n_steps - 1] if steps is None else list(steps)
        settings = [dict(image=image, kernel=kernel, step=s, fontsize=fontsize) for s in dict.fromkeys(steps)]
        return static_grid(_draw_sliding_window, settings, ncols=ncols, panel=(6, 3.4),
                           title="sliding the kernel: window positions")
    import ipywidgets as w

    controls = {"step": w.IntSlider(value=0, min=0, max=n_steps - 1, description="step")}
    return live(lambda step: sliding_window_figure(image, kernel, step, fontsize=fontsize), controls)


_DEFAULT_MAP = np.array([[1, 1, 2, 4, 0, 1], [5, 6, 7, 8, 2, 3], [3, 2, 1, 0, 9, 1],
                         [1, 2, 3, 4, 4, 2], [0, 8, 1, 5, 6, 7], [2, 1, 3, 0, 2, 5]], dtype=float)


def _draw_pooling(fig: Any, *, x: Any, size: int, stride: int, mode: str, step: int) -> None:
    arr = image2d(_DEFAULT_MAP if x is None else x, "x")
    drawing.draw_pooling(arr, size=size, stride=stride, mode=mode, position=step, ax=fig.subplots())


def pooling_figure(x: Any = None, size: int = 2, stride: int = 2, mode: str = "max", step: int = 0) -> Figure:
    """One pooling window on a feature map and the pooled output filled in so far.

    Drawn by :func:`course_lib.drawing.draw_pooling` with ``position=step``: the window is outlined, with
    max pooling the cell each window so far picked is filled, and the pooled cells up to ``step`` hold
    their values.

    Args:
        x: (H, W) map; default a 6x6 example.
        size: window side.
        stride: step between windows (smaller than ``size`` for overlapping pooling).
        mode: "max", "avg" or "l2".
        step: window position, row-major over the output.

    Returns:
        The Figure: map with the window (left), output (right), on one Axes.

    Raises:
        TypeError: non-numeric map, sizes not ints, mode not a str.
        ValueError: a window larger than the map, an unknown mode, a step past the last position.
    """
    return new_figure(_draw_pooling, (7, 3.6), x=x, size=size, stride=stride, mode=mode, step=step)


def show_pooling(x: Any = None, *, settings: Sequence[Mapping[str, Any]] | None = None,
                 static: bool | None = None) -> Any:
    """Pooling explorer (size, stride, mode, window); statically a grid of ``settings``.

    Args:
        x: the (H, W) map; default a 6x6 example.
        settings: dicts of size/stride/mode/step for the static grid; default max 2/2, average 2/2, max 3/2
            (overlapping) and L2 2/2.
        static: see :func:`~course_lib.widgets.static_mode`.

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`pooling_figure`.
    """
    plt.close(pooling_figure(x))
    if static_mode(static):
        if settings is None:
            settings = [dict(size=2, stride=2, mode="max"), dict(size=2, stride=2, mode="avg"),
                        dict(size=3, stride=2, mode="max"), dict(size=2, stride=2, mode="l2")]
        settings = [{"x": x, "step": 0, **s} for s in settings]
        return static_grid(_draw_pooling, settings, ncols=2, panel=(6, 3.4), title="pooling windows")
    import ipywidgets as w

    controls = {
        "size": w.IntSlider(value=2, min=1, max=4, description="size"),
        "stride": w.IntSlider(value=2, min=1, max=4, description="stride"),
        "mode": w.Dropdown(options=["max", "avg", "l2"], value="max", description="mode"),
        "step": w.IntSlider(value=0, min=0, max=35, description="window"),
    }

    def render(size, stride, mode, step):
        try:
            last = _positions(np.shape(_DEFAULT_MAP if x is None else x), size, stride) - 1
            return pooling_figure(x, size, stride, mode, min(step, last))
        except ValueError as err:
            return error_figure(err)

    return live(render, controls)


# ----------------------------------------------------------------------------------------------------
# receptive fields
# ----------------------------------------------------------------------------------------------------
# Past this many input units a receptive-field row is too dense for a projector.
_MAX_FIELD_WIDTH = 80


def _draw_receptive_field(fig: Any, *, layers: Any, top_units: int, fontsize: float | None = None) -> None:
    top_units = check_int(top_units, "top_units", minimum=1, maximum=9)
    drawing.draw_receptive_field(layers, top_units=top_units, max_pixels=_MAX_FIELD_WIDTH, fontsize=fontsize,
                                 ax=fig.subplots())


def receptive_field_figure(layers: Any = ((3, 1), (3, 1), (3, 1)), top_units: int = 3, *,
                           fontsize: float | None = None) -> Figure:
    """The units that one output unit depends on, row by row from the input up (1-D, valid layers).

    Drawn by :func:`course_lib.drawing.draw_receptive_field`.

    Args:
        layers: (kernel, stride) pairs, first layer first (pooling counts like a convolution).
        top_units: units drawn in the top row; the middle one is traced down (1 to 9).
        fontsize: points for the row labels (the title one point more); default the controls' small sizes
            (see :func:`course_lib.drawing.draw_receptive_field`). Give 11 or more for a projected figure.

    Returns:
        The Figure; the coloured input units are the receptive field, whose size is in the title.

    Raises:
        TypeError: layers not a list of pairs, a size that is not an int.
        ValueError: an empty list, non-positive sizes, a drawing wider than 80 input units, a non-positive
            fontsize.

    Reference: Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks",
        Distill 2019.
    """
    rows = len(layers) if isinstance(layers, (list, tuple)) else 1
    return new_figure(_draw_receptive_field, (9, 1.2 + 0.9 * rows), layers=layers, top_units=top_units,
                      fontsize=fontsize)


def show_receptive_field(layers: Any = ((3, 1), (3, 1), (3, 1)), *,
                         settings: Sequence[Any] | None = None, static: bool | None = None,
                         fontsize: float | None = None) -> Any:
    """Receptive-field explorer: depth, kernel and stride sliders, or statically a few stacks.

    Args:
        layers: the starting stack (the static default's first panel).
        settings: stacks for the static figure; default ``layers``, three 3x3 with a stride-2 pool
            in the middle, and one 7x7.
        static: see :func:`~course_lib.widgets.static_mode`.
        fontsize: points for the row labels of every panel (see :func:`receptive_field_figure`).

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`receptive_field_figure`.
    """
    plt.close(receptive_field_figure(layers, fontsize=fontsize))
    if static_mode(static):
        if settings is None:
            settings = [layers, [(3, 1), (2, 2), (3, 1)], [(7, 1)]]
        grid = [dict(layers=s, top_units=3, fontsize=fontsize) for s in settings]
        return static_grid(_draw_receptive_field, grid, ncols=1, panel=(9, 2.6), title="receptive fields")
    import ipywidgets as w

    controls = {
        "depth": w.IntSlider(value=len(layers), min=1, max=5, description="layers"),
        "kernel": w.IntSlider(value=3, min=1, max=7, description="kernel"),
        "stride": w.IntSlider(value=1, min=1, max=3, description="stride"),
    }

    def render(depth, kernel, stride):
        try:
            return receptive_field_figure([(kernel, stride)] * depth, fontsize=fontsize)
        except ValueError as err:
            return error_figure(err)

    return live(render, controls)
