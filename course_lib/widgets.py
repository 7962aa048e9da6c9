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

Static or live. ``static=None`` (the default of every ``show_*``) asks :func:`static_mode`: the environment
variable ``COURSE_STATIC_FIGURES`` decides when it is set (``1``/``0``); otherwise the control is live only
in an IPython kernel started by a notebook server (JupyterLab, Notebook 7, Voila: they set
``JPY_SESSION_NAME``), by VS Code or by Colab, with ``ipywidgets`` importable. Kernels started by nbval,
nbclient, ``nbconvert --execute`` or ``course_lib.notebooks`` have none of these, so stored notebooks hold
plain PNG figures: no widget-view outputs that nbval cannot compare and GitHub cannot render.

In a notebook, assign the result (``control = cl.widgets.show_conv_arithmetic()``): a bare call on the last
line would show a static figure twice, as Matplotlib's inline backend also draws every open figure.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from . import shapes
from .validation import check_array, check_bool, check_choice, check_int, check_positive_int, check_str

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

STATIC_ENV_VAR = "COURSE_STATIC_FIGURES"
# Environment variables that only an interactive frontend's kernel has (see the module docstring).
_FRONTEND_ENV_VARS = ("JPY_SESSION_NAME", "VSCODE_PID")
# Above this many cells per side the grid drawings become unreadable on a projector.
_MAX_GRID = 24

# The classic hand-designed 3x3 kernels, for the kernel editor's presets.
PRESET_KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
    "box blur": np.full((3, 3), 1 / 9),
    "gaussian blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=float) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=float),
    "sobel x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float),
    "sobel y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=float),
    "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=float),
}

_IN_COLOUR = "tab:orange"  # the window on the input and the output cell it produces, in every control


# ----------------------------------------------------------------------------------------------------
# static or live
# ----------------------------------------------------------------------------------------------------
def _frontend_present() -> bool:
    """True in a kernel that a widget-capable frontend started (see the module docstring)."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or not hasattr(shell, "kernel"):
        return False  # plain Python or a terminal IPython: nothing can show a widget
    return any(os.environ.get(v) for v in _FRONTEND_ENV_VARS) or "google.colab" in sys.modules


def static_mode(static: bool | None = None) -> bool:
    """Whether controls draw static figures (True) or live widgets (False).

    Args:
        static: True or False forces the answer; None decides from ``COURSE_STATIC_FIGURES`` when it is set
            ("1", "true", "yes" or "0", "false", "no"), else from whether a widget frontend is present.

    Returns:
        True for static figures.

    Raises:
        TypeError: static is not None or a bool.
        ValueError: ``COURSE_STATIC_FIGURES`` holds something else.
    """
    if static is not None:
        return check_bool(static, "static")
    env = os.environ.get(STATIC_ENV_VAR, "").strip().lower()
    if env:
        words = ("1", "true", "yes", "0", "false", "no")
        return check_choice(env, STATIC_ENV_VAR, words) in words[:3]
    return not _frontend_present()


def _static_grid(draw: Callable[..., None], settings: Sequence[Mapping[str, Any]], *, ncols: int,
                 panel: tuple[float, float], title: str) -> Figure:
    """One figure with a sub-figure per setting; ``draw(subfig, **setting)`` fills each."""
    if not settings:
        raise ValueError("settings must hold at least one parameter setting, got none")
    ncols = max(1, min(ncols, len(settings)))
    nrows = -(-len(settings) // ncols)
    fig = plt.figure(figsize=(panel[0] * ncols, panel[1] * nrows + 0.4), layout="constrained")
    subfigs = np.atleast_1d(fig.subfigures(nrows, ncols)).ravel()
    for sub, setting in zip(subfigs, settings):
        draw(sub, **dict(setting))
    for sub in subfigs[len(settings):]:
        sub.set_visible(False)
    fig.suptitle(title)
    return fig


def _new_figure(draw: Callable[..., None], figsize: tuple[float, float], **params: Any) -> Figure:
    fig = plt.figure(figsize=figsize, layout="constrained")
    draw(fig, **params)
    return fig


def _live(render: Callable[..., Figure], controls: Mapping[str, Any]) -> Any:
    """Display ``controls`` above an output area that ``render(**values)`` redraws; returns the box."""
    import ipywidgets as widgets
    from IPython.display import display

    def redraw(**values: Any) -> None:
        fig = render(**values)
        display(fig)
        plt.close(fig)  # displayed once; the inline backend would draw it again at the end of the cell

    out = widgets.interactive_output(redraw, dict(controls))
    row = widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap"))
    box = widgets.VBox([row, out])
    display(box)
    return box


# ----------------------------------------------------------------------------------------------------
# drawing helpers
# ----------------------------------------------------------------------------------------------------
def _grid_axes(ax: Any, values: np.ndarray, *, fmt: str | None = "g", cmap: str = "Blues", title: str = "",
               first: int = 0) -> None:
    """A small matrix drawn cell by cell with grid lines; ``fmt`` writes the values into the cells."""
    vals = np.asarray(values, dtype=float)
    lo = min(float(vals.min()), 0.0)
    hi = max(float(vals.max()), lo + 1e-9)
    ax.imshow(vals, cmap=cmap, vmin=lo, vmax=hi)
    if fmt is not None and vals.size <= 144:
        for (i, j), v in np.ndenumerate(vals):
            dark = v > lo + 0.6 * (hi - lo)
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
    ax.set_xticks(np.arange(vals.shape[1] + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(vals.shape[0] + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="0.7", linewidth=0.5)
    ax.tick_params(which="both", length=0, labelsize=7)
    step = max(1, vals.shape[1] // 8)
    ax.set_xticks(range(0, vals.shape[1], step), [str(first + j) for j in range(0, vals.shape[1], step)])
    ax.set_yticks(range(0, vals.shape[0], step), [str(first + i) for i in range(0, vals.shape[0], step)])
    ax.set_title(title, fontsize=9)


def _box(ax: Any, row: float, col: float, h: float, w: float, **style: Any) -> None:
    ax.add_patch(Rectangle((col - 0.5, row - 0.5), w, h, fill=False, edgecolor=style.pop("color", _IN_COLOUR),
                           linewidth=style.pop("linewidth", 2.5), **style))


def _step_position(step: int, out_hw: tuple[int, int]) -> tuple[int, int]:
    n_steps = out_hw[0] * out_hw[1]
    step = check_int(step, "step", minimum=0)
    if step >= n_steps:
        raise ValueError(f"step must be below the number of window positions ({n_steps}), got {step}")
    return divmod(step, out_hw[1])


def _image2d(x: Any, name: str) -> np.ndarray:
    arr = check_array(x, name, ndim=2, layout="(H, W)")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr.astype(float)


# ----------------------------------------------------------------------------------------------------
# padding, stride and kernel: the output-size formula
# ----------------------------------------------------------------------------------------------------
def _pads(n: int, kernel: int, stride: int, padding: Any) -> tuple[int, int]:
    if isinstance(padding, str):
        padding = check_choice(padding, "padding", ("valid", "same"), ignore_case=True)
        return (0, 0) if padding == "valid" else shapes.same_pads(n, kernel, stride)
    p = check_int(padding, "padding", minimum=0)
    return p, p


def _formula(n: int, kernel: int, stride: int, pads: tuple[int, int], padding: Any) -> str:
    before, after = pads
    total = f"2*{before}" if before == after else f"{before} + {after}"
    out = (n + before + after - kernel) // stride + 1
    left = n + before + after - kernel
    text = f"floor(({n} + {total} - {kernel}) / {stride}) + 1 = {out}"
    if left % stride:
        text += f"   ({left % stride} row(s)/col(s) left over)"
    if isinstance(padding, str):
        text = f'"{padding.lower()}": ' + text
    return text


def _draw_conv_arithmetic(fig: Any, *, n: int, kernel: int, stride: int, padding: Any, step: int) -> None:
    n = check_int(n, "n", minimum=1, maximum=_MAX_GRID)
    kernel = check_positive_int(kernel, "kernel")
    stride = check_positive_int(stride, "stride")
    pads = _pads(n, kernel, stride, padding)
    size = n + sum(pads)
    if kernel > size:
        raise ValueError(f"kernel must fit the padded input ({size}), got {kernel}")
    if size > _MAX_GRID + 8:
        raise ValueError(f"padding must leave at most {_MAX_GRID + 8} cells per side to draw, got {size}")
    out = shapes.conv_output_size(n, kernel, stride, pads)
    a, b = _step_position(step, (out, out))
    padded = np.ones((size, size))
    padded[pads[0]:pads[0] + n, pads[0]:pads[0] + n] = 0.0  # 1 marks a padding zero
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[size, max(out, 3)])
    _grid_axes(ax_in, padded, fmt=None, cmap="Greys", first=-pads[0],
               title=f"input {n}x{n}, padding {pads}, kernel {kernel}, stride {stride}")
    ax_in.images[0].set_clim(0, 3)  # padding light grey, the input white
    if size <= 16:
        for i, j in zip(*np.nonzero(padded)):
            ax_in.text(j, i, "0", ha="center", va="center", fontsize=7, color="0.35")
    _box(ax_in, a * stride, b * stride, kernel, kernel)
    reach = (out - 1) * stride + kernel  # cells the windows cover; the rest of the padded input is never read
    if reach < size:
        for lo in range(reach, size):
            ax_in.axhspan(lo - 0.5, lo + 0.5, color="tab:red", alpha=0.25, linewidth=0)
            ax_in.axvspan(lo - 0.5, lo + 0.5, color="tab:red", alpha=0.25, linewidth=0)
    _grid_axes(ax_out, np.arange(out * out).reshape(out, out) == a * out + b, fmt=None, cmap="Oranges",
               title=f"output {out}x{out}")
    _box(ax_out, a, b, 1, 1)
    fig.suptitle(_formula(n, kernel, stride, pads, padding), fontsize=10)


def conv_arithmetic_figure(n: int = 7, kernel: int = 3, stride: int = 1, padding: Any = 0,
                           step: int = 0) -> Figure:
    """The padded input with one window, the output grid, and the output-size formula in the title.

    Padding cells are grey, the window at position ``step`` (row-major over the output) is framed in
    orange, and rows/columns of the padded input that no window reaches (the windows do not tile it) are
    shaded red.

    Args:
        n: input height = width (1 to 24).
        kernel: window size.
        stride: step between windows.
        padding: zeros per side (int), or Keras's "valid" / "same" ("same" may pad lopsidedly).
        step: window position, ``0 <= step < out**2``.

    Returns:
        The Figure: input (left), output (right).

    Raises:
        TypeError: a size that is not an int, padding neither int nor str.
        ValueError: sizes out of range, a kernel larger than the padded input, an unknown padding string, a
            step past the last position.

    Reference: Dumoulin and Visin, "A guide to convolution arithmetic for deep learning", arXiv:1603.07285.
    """
    return _new_figure(_draw_conv_arithmetic, (8, 4.2), n=n, kernel=kernel, stride=stride, padding=padding,
                       step=step)


def show_conv_arithmetic(n: int = 7, kernel: int = 3, stride: int = 1, padding: Any = 0, *,
                         settings: Sequence[Mapping[str, Any]] | None = None,
                         static: bool | None = None) -> Any:
    """Padding/stride/kernel explorer: sliders in Jupyter, else a grid of ``settings`` (static figure).

    Args:
        n, kernel, stride, padding: the starting values (see :func:`conv_arithmetic_figure`).
        settings: parameter dicts for the static grid; default: the starting values, the same with "same"
            padding, stride 2, and a stride that leaves a row over.
        static: see :func:`static_mode`.

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`conv_arithmetic_figure`, for the starting values and every setting.
    """
    plt.close(conv_arithmetic_figure(n, kernel, stride, padding))  # check the arguments in both modes
    if static_mode(static):
        if settings is None:
            settings = [dict(n=n, kernel=kernel, stride=stride, padding=padding),
                        dict(n=n, kernel=kernel, stride=stride, padding="same"),
                        dict(n=n, kernel=kernel, stride=2, padding=padding),
                        dict(n=n, kernel=kernel, stride=kernel + 1 if (n - kernel) % (kernel + 1) else 3,
                             padding=0)]
        settings = [{"step": 0, **s} for s in settings]
        return _static_grid(_draw_conv_arithmetic, settings, ncols=2, panel=(7, 4), title="output size")
    import ipywidgets as w

    controls = {
        "n": w.IntSlider(value=n, min=1, max=_MAX_GRID, description="input n"),
        "kernel": w.IntSlider(value=kernel, min=1, max=11, description="kernel"),
        "stride": w.IntSlider(value=stride, min=1, max=6, description="stride"),
        "padding": w.Dropdown(options=[0, 1, 2, 3, 4, "valid", "same"], value=padding, description="padding"),
        "step": w.IntSlider(value=0, min=0, max=200, description="window"),
    }

    def render(n, kernel, stride, padding, step):
        try:
            pads = _pads(n, kernel, stride, padding)
            out = (n + sum(pads) - kernel) // stride + 1
            return conv_arithmetic_figure(n, kernel, stride, padding, min(step, max(out, 1) ** 2 - 1))
        except ValueError as err:  # a setting that does not fit: say so instead of raising in the callback
            fig = plt.figure(figsize=(6, 1))
            fig.text(0.02, 0.5, str(err), va="center")
            return fig

    return _live(render, controls)


# ----------------------------------------------------------------------------------------------------
# one window at a time (correlation) and pooling
# ----------------------------------------------------------------------------------------------------
def _draw_window_pair(fig: Any, x: np.ndarray, out: np.ndarray, window: tuple[int, int], stride: int,
                      step: int, what: str, products: str) -> None:
    a, b = _step_position(step, out.shape)
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[x.shape[1], max(out.shape[1], 2)])
    _grid_axes(ax_in, x, title=f"input: window at output ({a}, {b})")
    _box(ax_in, a * stride, b * stride, *window)
    partial = np.full(out.shape, np.nan)
    partial.flat[: step + 1] = out.flat[: step + 1]
    _grid_axes(ax_out, np.nan_to_num(partial), fmt=None, cmap="Greens", title=f"{what} = {out[a, b]:g}")
    top = float(np.nanmax(np.abs(partial))) or 1.0
    for (i, j), v in np.ndenumerate(partial):
        if np.isfinite(v):
            ax_out.text(j, i, f"{v:g}", ha="center", va="center", fontsize=9,
                        color="white" if v > 0.6 * top else "black")
    _box(ax_out, a, b, 1, 1)
    fig.suptitle(products, fontsize=8)


def _draw_sliding_window(fig: Any, *, image: Any, kernel: Any, step: int) -> None:
    from .numpy_cnn import correlate2d

    x = _image2d(image, "image")
    k = _image2d(kernel, "kernel")
    if x.shape[0] > _MAX_GRID or x.shape[1] > _MAX_GRID:
        raise ValueError(f"image must be at most {_MAX_GRID}x{_MAX_GRID} to draw, got shape {x.shape}")
    out = correlate2d(x, k, mode="valid")
    a, b = _step_position(step, out.shape)
    terms = [f"{t:g}" for t in (x[a:a + k.shape[0], b:b + k.shape[1]] * k).ravel()]
    shown = " + ".join(terms[:9]) + (" + ..." if len(terms) > 9 else "")  # longer sums overflow the title
    _draw_window_pair(fig, x, out, k.shape, 1, step, "sum", "products: " + shown)


def sliding_window_figure(image: Any, kernel: Any, step: int = 0) -> Figure:
    """One position of a valid 2-D cross-correlation: the window on the image and the output so far.

    Args:
        image: (H, W) array, at most 24x24.
        kernel: (KH, KW) array no larger than the image.
        step: window position, row-major over the output.

    Returns:
        The Figure: input with the window framed (left), output filled up to ``step`` (right); the title
        lists the products that the window adds up.

    Raises:
        TypeError: non-numeric arrays or step.
        ValueError: not 2-D, image too large, kernel larger than the image, step past the last position.
    """
    return _new_figure(_draw_sliding_window, (7, 3.6), image=image, kernel=kernel, step=step)


def show_sliding_window(image: Any, kernel: Any, *, steps: Sequence[int] | None = None,
                        static: bool | None = None) -> Any:
    """A slider over the window positions of :func:`sliding_window_figure`, or a static grid of ``steps``.

    Args:
        image, kernel: as :func:`sliding_window_figure`.
        steps: positions for the static grid; default the first, a middle and the last one.
        static: see :func:`static_mode`.

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`sliding_window_figure`.
    """
    plt.close(sliding_window_figure(image, kernel, 0))
    n_steps = (np.shape(image)[0] - np.shape(kernel)[0] + 1) * (np.shape(image)[1] - np.shape(kernel)[1] + 1)
    if static_mode(static):
        steps = [0, n_steps // 2, n_steps - 1] if steps is None else list(steps)
        settings = [dict(image=image, kernel=kernel, step=s) for s in dict.fromkeys(steps)]
        return _static_grid(_draw_sliding_window, settings, ncols=3, panel=(6, 3.4),
                            title="sliding the kernel: window positions")
    import ipywidgets as w

    controls = {"step": w.IntSlider(value=0, min=0, max=n_steps - 1, description="step")}
    return _live(lambda step: sliding_window_figure(image, kernel, step), controls)


_DEFAULT_MAP = np.array([[1, 1, 2, 4, 0, 1], [5, 6, 7, 8, 2, 3], [3, 2, 1, 0, 9, 1],
                         [1, 2, 3, 4, 4, 2], [0, 8, 1, 5, 6, 7], [2, 1, 3, 0, 2, 5]], dtype=float)


def _draw_pooling(fig: Any, *, x: Any, size: int, stride: int, mode: str, step: int) -> None:
    from .numpy_cnn import pool_forward

    arr = _image2d(_DEFAULT_MAP if x is None else x, "x")
    size = check_positive_int(size, "size")
    stride = check_positive_int(stride, "stride")
    mode = check_choice(mode, "mode", ("max", "avg", "l2"), ignore_case=True)
    if size > min(arr.shape):
        raise ValueError(f"size must fit the map ({arr.shape}), got {size}")
    out = pool_forward(arr[None, :, :, None], size, stride, mode)[0][0, :, :, 0]
    _draw_window_pair(fig, arr, np.round(out, 3), (size, size), stride, step, f"{mode} pool",
                      f"{size}x{size} {mode} pooling, stride {stride}")


def pooling_figure(x: Any = None, size: int = 2, stride: int = 2, mode: str = "max", step: int = 0) -> Figure:
    """One pooling window on a feature map and the pooled output filled in so far.

    Args:
        x: (H, W) map; default a 6x6 example.
        size: window side.
        stride: step between windows (smaller than ``size`` for overlapping pooling).
        mode: "max", "avg" or "l2".
        step: window position, row-major over the output.

    Returns:
        The Figure: map with the window framed (left), output (right).

    Raises:
        TypeError: non-numeric map, sizes not ints, mode not a str.
        ValueError: a window larger than the map, an unknown mode, a step past the last position.
    """
    return _new_figure(_draw_pooling, (7, 3.6), x=x, size=size, stride=stride, mode=mode, step=step)


def show_pooling(x: Any = None, *, settings: Sequence[Mapping[str, Any]] | None = None,
                 static: bool | None = None) -> Any:
    """Pooling explorer (size, stride, mode, window); statically a grid of ``settings``.

    Args:
        x: the (H, W) map; default a 6x6 example.
        settings: dicts of size/stride/mode/step for the static grid; default max 2/2, average 2/2, max 3/2
            (overlapping) and L2 2/2.
        static: see :func:`static_mode`.

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
        return _static_grid(_draw_pooling, settings, ncols=2, panel=(6, 3.4), title="pooling windows")
    import ipywidgets as w

    controls = {
        "size": w.IntSlider(value=2, min=1, max=4, description="size"),
        "stride": w.IntSlider(value=2, min=1, max=4, description="stride"),
        "mode": w.Dropdown(options=["max", "avg", "l2"], value="max", description="mode"),
        "step": w.IntSlider(value=0, min=0, max=35, description="window"),
    }

    def render(size, stride, mode, step):
        h, wd = np.shape(_DEFAULT_MAP if x is None else x)
        n_out = ((h - size) // stride + 1) * ((wd - size) // stride + 1)
        return pooling_figure(x, size, stride, mode, min(step, max(n_out, 1) - 1))

    return _live(render, controls)


# ----------------------------------------------------------------------------------------------------
# a kernel on a photograph
# ----------------------------------------------------------------------------------------------------
def _photo(photo: Any, size: int) -> np.ndarray:
    if isinstance(photo, str):
        from .data import load_photo

        return load_photo(photo, size=size, gray=True)[..., 0]
    arr = np.asarray(photo, dtype=float)
    if arr.ndim == 3 and arr.shape[-1] in (1, 3):
        arr = arr.mean(axis=-1)
    return _image2d(arr, "photo")


def _draw_kernel_response(fig: Any, *, kernel: Any, photo: Any, size: int) -> None:
    from .numpy_cnn import correlate2d

    k = _image2d(kernel, "kernel")
    if k.shape[0] > 15 or k.shape[1] > 15:
        raise ValueError(f"kernel must be at most 15x15, got shape {k.shape}")
    x = _photo(photo, check_int(size, "size", minimum=16, maximum=1024))
    response = correlate2d(x, k, mode="same")
    ax_x, ax_k, ax_r = fig.subplots(1, 3, width_ratios=[3, 2, 3])
    ax_x.imshow(x, cmap="gray", vmin=0, vmax=1)
    ax_x.set_title("photo", fontsize=9)
    limit = float(np.abs(k).max()) or 1.0
    shown = ax_k.imshow(k, cmap="RdBu_r", vmin=-limit, vmax=limit)
    for (i, j), v in np.ndenumerate(k):
        ax_k.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=8)
    fig.colorbar(shown, ax=ax_k, shrink=0.6)
    ax_k.set_title("kernel", fontsize=9)
    # weights summing to 0 (edges, Laplacian) give signed responses: diverging colours centred on 0;
    # weights summing to 1 (blur, sharpen) give an image again: grey on the photo's own 0-1 scale
    if abs(float(k.sum())) < 1e-9:
        spread = float(np.abs(response).max()) or 1.0
        shown = ax_r.imshow(response, cmap="RdBu_r", vmin=-spread, vmax=spread)
    elif abs(float(k.sum()) - 1.0) < 1e-9:
        shown = ax_r.imshow(response, cmap="gray", vmin=0.0, vmax=1.0)
    else:
        shown = ax_r.imshow(response, cmap="gray")
    fig.colorbar(shown, ax=ax_r, shrink=0.6)
    ax_r.set_title("response (correlation, same size)", fontsize=9)
    for ax in (ax_x, ax_k, ax_r):
        ax.set_xticks([])
        ax.set_yticks([])


def kernel_response_figure(kernel: Any, photo: Any = "camera", size: int = 128) -> Figure:
    """A kernel, a grey photograph and the photograph correlated with the kernel ("same" size).

    Args:
        kernel: (KH, KW) array, at most 15x15, or a name of :data:`PRESET_KERNELS`.
        photo: a name from ``course_lib.data.photo_names()`` or an (H, W) / (H, W, C) array in [0, 1].
        size: side the named photo is resized to (16 to 1024).

    Returns:
        The Figure: photo, kernel (diverging colours centred on 0, with a colour bar), response with a colour
        bar: diverging when the weights sum to 0, grey on [0, 1] when they sum to 1, grey otherwise.

    Raises:
        TypeError: non-numeric kernel or photo, size not an int.
        ValueError: unknown preset or photo name, bad shapes, size out of range.
    """
    if isinstance(kernel, str):
        kernel = PRESET_KERNELS[check_choice(kernel, "kernel", tuple(PRESET_KERNELS))]
    return _new_figure(_draw_kernel_response, (9, 3.2), kernel=kernel, photo=photo, size=size)


def show_kernel_editor(kernel: Any = "sobel x", photo: Any = "camera", *, size: int = 128,
                       presets: Sequence[str] = ("gaussian blur", "sharpen", "sobel x", "sobel y"),
                       static: bool | None = None) -> Any:
    """A 3x3 kernel editor (nine number boxes and presets) applied live to a photo; statically, ``presets``.

    Args:
        kernel: the starting 3x3 kernel (array or preset name).
        photo: as :func:`kernel_response_figure`.
        size: photo side.
        presets: preset names drawn in the static figure.
        static: see :func:`static_mode`.

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`kernel_response_figure`; ValueError for a starting kernel that is not 3x3.
    """
    if isinstance(kernel, str):
        kernel = PRESET_KERNELS[check_choice(kernel, "kernel", tuple(PRESET_KERNELS))]
    start = _image2d(kernel, "kernel")
    if start.shape != (3, 3):
        raise ValueError(f"kernel must be 3x3 for the editor, got shape {start.shape}")
    if static_mode(static):
        names = [check_choice(p, "presets", tuple(PRESET_KERNELS)) for p in presets]
        settings = [dict(kernel=PRESET_KERNELS[p], photo=photo, size=size) for p in names]
        fig = _static_grid(_draw_kernel_response, settings, ncols=1, panel=(9, 3), title="kernels on a photo")
        for sub, name in zip(fig.subfigs, names):
            sub.suptitle(name, fontsize=10)
        return fig
    import ipywidgets as w

    cells = {f"k{i}{j}": w.FloatText(value=float(start[i, j]), layout=w.Layout(width="70px"))
             for i in range(3) for j in range(3)}
    preset = w.Dropdown(options=["(custom)", *PRESET_KERNELS], value="(custom)", description="preset")

    def apply_preset(change):
        if change["new"] in PRESET_KERNELS:
            for (i, j), v in np.ndenumerate(PRESET_KERNELS[change["new"]]):
                cells[f"k{i}{j}"].value = float(v)

    preset.observe(apply_preset, names="value")
    grid = w.GridBox(list(cells.values()), layout=w.Layout(grid_template_columns="repeat(3, 75px)"))
    display_box = _live(lambda **v: kernel_response_figure(
        np.array([[v[f"k{i}{j}"] for j in range(3)] for i in range(3)]), photo, size), cells)
    # the number boxes are shown as a 3x3 grid next to the presets, not in one long row
    display_box.children = (w.HBox([grid, preset]), display_box.children[1])
    return display_box


# ----------------------------------------------------------------------------------------------------
# receptive fields
# ----------------------------------------------------------------------------------------------------
def _field_rows(layers: list[tuple[int, int]], top_units: int) -> tuple[list[int], list[tuple[int, int]]]:
    """Row lengths from the input up (valid layers, ``top_units`` at the top) and the field per row."""
    sizes = [top_units]
    for k, s in reversed(layers):
        sizes.append((sizes[-1] - 1) * s + k)
    sizes.reverse()
    centre = top_units // 2
    spans = [(centre, centre)]
    for k, s in reversed(layers):  # the units of the row below that the current span reads
        lo, hi = spans[-1]
        spans.append((lo * s, hi * s + k - 1))
    spans.reverse()
    return sizes, spans


def _draw_receptive_field(fig: Any, *, layers: Any, top_units: int) -> None:
    pairs = [(check_positive_int(k, f"layers[{i}] kernel"), check_positive_int(s, f"layers[{i}] stride"))
             for i, (k, s) in enumerate(_check_layers(layers))]
    top_units = check_int(top_units, "top_units", minimum=1, maximum=9)
    sizes, spans = _field_rows(pairs, top_units)
    if sizes[0] > 80:
        raise ValueError(f"layers must keep the drawn input at most 80 units wide, got {sizes[0]}")
    steps = shapes.receptive_field_steps(pairs)
    jumps = [1] + [st["jump"] for st in steps]
    fields = [1] + [st["rf"] for st in steps]
    ax = fig.subplots()
    for row, (n, (lo, hi)) in enumerate(zip(sizes, spans)):
        # unit i of this row is centred over the middle of the input pixels it sees
        centres = [i * jumps[row] + (fields[row] - 1) / 2 for i in range(n)]
        for i, c in enumerate(centres):
            inside = lo <= i <= hi
            ax.add_patch(Rectangle((c - 0.4, row - 0.3), 0.8, 0.6, facecolor=_IN_COLOUR if inside else "0.9",
                                   edgecolor="0.4", linewidth=0.5))
        label = "input" if row == 0 else f"layer {row}: k={pairs[row - 1][0]}, s={pairs[row - 1][1]}"
        ax.text(-1.5, row, f"{label}\nfield {fields[row]}, jump {jumps[row]}", ha="right", va="center",
                fontsize=8)
        if row:
            below = [i * jumps[row - 1] + (fields[row - 1] - 1) / 2 for i in range(sizes[row - 1])]
            blo, bhi = spans[row - 1]
            for i in range(lo, hi + 1):
                for src in (i * pairs[row - 1][1], i * pairs[row - 1][1] + pairs[row - 1][0] - 1):
                    ax.plot([centres[i], below[src]], [row - 0.3, row - 1 + 0.3], color=_IN_COLOUR,
                            linewidth=0.8, alpha=0.6)
            assert blo <= bhi  # the span below is never empty
    ax.set_xlim(-1.0 - 0.12 * sizes[0] - 4, sizes[0] + 0.5)
    ax.set_ylim(-0.7, len(sizes) - 0.3)
    ax.set_axis_off()
    rf = spans[0][1] - spans[0][0] + 1
    ax.set_title(f"one unit of the top layer sees {rf} input pixels", fontsize=10)


def _check_layers(layers: Any) -> list[tuple[Any, Any]]:
    if not isinstance(layers, (list, tuple)) or not layers:
        raise (TypeError if not isinstance(layers, (list, tuple)) else ValueError)(
            f"layers must be a non-empty list of (kernel, stride) pairs, got {layers!r}")
    for i, pair in enumerate(layers):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise TypeError(f"layers[{i}] must be a (kernel, stride) pair, got {pair!r}")
    return list(layers)


def receptive_field_figure(layers: Any = ((3, 1), (3, 1), (3, 1)), top_units: int = 3) -> Figure:
    """The units that one output unit depends on, row by row from the input up (1-D, valid layers).

    Args:
        layers: (kernel, stride) pairs, first layer first (pooling counts like a convolution).
        top_units: units drawn in the top row; the middle one is traced down (1 to 9).

    Returns:
        The Figure; the highlighted input units are the receptive field, whose size is in the title.

    Raises:
        TypeError: layers not a list of pairs, a size that is not an int.
        ValueError: an empty list, non-positive sizes, a drawing wider than 80 input units.

    Reference: Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks",
        Distill 2019.
    """
    rows = len(layers) if isinstance(layers, (list, tuple)) else 1
    return _new_figure(_draw_receptive_field, (9, 1.2 + 0.9 * rows), layers=layers, top_units=top_units)


def show_receptive_field(layers: Any = ((3, 1), (3, 1), (3, 1)), *,
                         settings: Sequence[Any] | None = None, static: bool | None = None) -> Any:
    """Receptive-field explorer: depth, kernel and stride sliders, or statically a few stacks.

    Args:
        layers: the starting stack (the static default's first panel).
        settings: stacks for the static figure; default ``layers``, three 3x3 with a stride-2 pool
            in the middle, and one 7x7.
        static: see :func:`static_mode`.

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`receptive_field_figure`.
    """
    plt.close(receptive_field_figure(layers))
    if static_mode(static):
        if settings is None:
            settings = [layers, [(3, 1), (2, 2), (3, 1)], [(7, 1)]]
        grid = [dict(layers=s, top_units=3) for s in settings]
        return _static_grid(_draw_receptive_field, grid, ncols=1, panel=(9, 2.6), title="receptive fields")
    import ipywidgets as w

    controls = {
        "depth": w.IntSlider(value=len(layers), min=1, max=5, description="layers"),
        "kernel": w.IntSlider(value=3, min=1, max=7, description="kernel"),
        "stride": w.IntSlider(value=1, min=1, max=3, description="stride"),
    }

    def render(depth, kernel, stride):
        try:
            return receptive_field_figure([(kernel, stride)] * depth)
        except ValueError as err:
            fig = plt.figure(figsize=(6, 1))
            fig.text(0.02, 0.5, str(err), va="center")
            return fig

    return _live(render, controls)


# ----------------------------------------------------------------------------------------------------
# feature maps and attribution for any course model
# ----------------------------------------------------------------------------------------------------
def _model_and_image(model: Any, image: Any,
                     model_kwargs: Mapping[str, Any] | None) -> tuple[Any, np.ndarray]:
    if isinstance(model, str):
        from .models import get_model

        model = get_model(model, **dict(model_kwargs or {}))
    h, w, c = (int(d) for d in model.input_shape[1:4])
    if image is None:
        from .data import load_photo

        image = load_photo("chelsea", size=(h, w), gray=(c == 1))
    arr = np.asarray(image, dtype=np.float32)
    if arr.ndim == 4 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.shape != (h, w, c):
        raise ValueError(f"image must have the model's input shape {(h, w, c)}, got {arr.shape}")
    return model, arr


def _draw_feature_maps(fig: Any, *, model: Any, image: np.ndarray, layer_name: str, first: int,
                       count: int) -> None:
    from .visualize import feature_maps

    maps = feature_maps(model, image, [check_str(layer_name, "layer_name")])[layer_name]
    channels = maps.shape[-1]
    first = check_int(first, "first", minimum=0, maximum=channels - 1)
    count = check_int(count, "count", minimum=1, maximum=64)
    chosen = list(range(first, min(first + count, channels)))
    ncols = min(8, len(chosen))
    axes = np.atleast_1d(fig.subplots(-(-len(chosen) // ncols), ncols, squeeze=False)).ravel()
    page = maps[..., chosen]
    lo, hi = float(page.min()), max(float(page.max()), float(page.min()) + 1e-9)
    shown = None
    for ax, ch in zip(axes, chosen):
        shown = ax.imshow(maps[..., ch], cmap="viridis", vmin=lo, vmax=hi)
        ax.set_title(f"ch {ch}", fontsize=7)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(chosen):]:
        ax.set_visible(False)
    fig.colorbar(shown, ax=list(axes), shrink=0.8, label="activation")
    h, w = maps.shape[:2]
    fig.suptitle(f"{layer_name}: {h}x{w}x{channels}, channels {chosen[0]}-{chosen[-1]}", fontsize=10)


def feature_maps_figure(model: Any, image: Any = None, layer_name: str | None = None, *, first: int = 0,
                        count: int = 16, model_kwargs: Mapping[str, Any] | None = None) -> Figure:
    """A page of one layer's feature maps for an image, on one shared colour scale with a colour bar.

    Args:
        model: a Keras model, or a name for ``course_lib.models.get_model`` (built with ``model_kwargs``).
        image: (H, W, C) in [0, 1] matching the model's input; default a photograph resized to it.
        layer_name: a layer with a spatial output; default the first convolution.
        first: first channel shown.
        count: channels shown (1 to 64), eight per row.
        model_kwargs: keywords for ``get_model`` when ``model`` is a name.

    Returns:
        The Figure.

    Raises:
        TypeError / ValueError: an unknown model or layer (the message lists the candidates), an image of
            the wrong shape, channels out of range.
    """
    from .visualize import conv_layer_names

    model, arr = _model_and_image(model, image, model_kwargs)
    layer_name = conv_layer_names(model)[0] if layer_name is None else layer_name
    fig = plt.figure(figsize=(10, 1.4 * -(-min(count, 64) // 8) + 0.8), layout="constrained")
    _draw_feature_maps(fig, model=model, image=arr, layer_name=layer_name, first=first, count=count)
    return fig


def show_feature_maps(model: Any, image: Any = None, *, layers: Sequence[str] | None = None, count: int = 8,
                      model_kwargs: Mapping[str, Any] | None = None, static: bool | None = None) -> Any:
    """Feature-map browser: a layer menu and a channel slider; statically, ``count`` maps of a few layers.

    Args:
        model, image, model_kwargs: as :func:`feature_maps_figure`.
        layers: layers offered (static: drawn); default the first, a middle and the last convolution.
        count: channels per page.
        static: see :func:`static_mode`.

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`feature_maps_figure`.
    """
    from .visualize import conv_layer_names, spatial_layer_names

    model, arr = _model_and_image(model, image, model_kwargs)
    if layers is None:
        convs = conv_layer_names(model)
        if not convs:
            raise ValueError(f"model {model.name!r} has no convolution layer; pass layers")
        layers = list(dict.fromkeys([convs[0], convs[len(convs) // 2], convs[-1]]))
    layers = [check_str(n, "layers") for n in layers]
    if static_mode(static):
        settings = [dict(model=model, image=arr, layer_name=n, first=0, count=count) for n in layers]
        return _static_grid(_draw_feature_maps, settings, ncols=1, panel=(10, 1.6 * -(-count // 8) + 0.6),
                            title=f"feature maps of {model.name}")
    import ipywidgets as w

    controls = {
        "layer_name": w.Dropdown(options=spatial_layer_names(model), value=layers[0], description="layer"),
        "first": w.IntSlider(value=0, min=0, max=1023, step=count, description="first channel"),
    }

    def render(layer_name, first):
        channels = int(model.get_layer(layer_name).output.shape[-1])
        return feature_maps_figure(model, arr, layer_name, first=min(first, channels - 1), count=count)

    return _live(render, controls)


_METHODS = ("grad_cam", "occlusion")


def _draw_attribution(fig: Any, *, model: Any, image: np.ndarray, method: str, layer_name: str | None,
                      class_index: int | None, patch: int, stride: int) -> None:
    from .visualize import class_scores, conv_layer_names, grad_cam, occlusion_sensitivity

    method = check_choice(method, "method", _METHODS)
    if method == "grad_cam" and layer_name is None:
        layer_name = conv_layer_names(model)[-1]
    scores = class_scores(model, image[None])[0]
    k = int(np.argmax(scores)) if class_index is None else check_int(class_index, "class_index", minimum=0,
                                                                      maximum=len(scores) - 1)
    if method == "grad_cam":
        heat = grad_cam(model, image, layer_name, k)
        label, cmap, lims = "Grad-CAM (0 to 1)", "jet", (0.0, 1.0)
    else:
        heat = occlusion_sensitivity(model, image, patch=patch, stride=stride, class_index=k)
        limit = float(np.abs(heat).max()) or 1.0
        label, cmap, lims = "drop in probability", "RdBu_r", (-limit, limit)
    ax_img, ax_map = fig.subplots(1, 2)
    shown_img = image[..., 0] if image.shape[-1] == 1 else image
    for ax in (ax_img, ax_map):
        ax.imshow(shown_img, cmap="gray" if shown_img.ndim == 2 else None, vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    h, w = image.shape[:2]
    shown = ax_map.imshow(heat, cmap=cmap, vmin=lims[0], vmax=lims[1], alpha=0.5,
                          extent=(-0.5, w - 0.5, h - 0.5, -0.5), interpolation="bilinear")
    fig.colorbar(shown, ax=ax_map, shrink=0.8, label=label)
    ax_img.set_title("image", fontsize=9)
    if method == "grad_cam":
        detail = f"layer {layer_name}"
    else:
        detail = f"{patch}x{patch} squares, step {stride}"
    ax_map.set_title(f"{method.replace('_', '-')}, class {k} ({detail})", fontsize=9)


def attribution_figure(model: Any, image: Any = None, method: str = "grad_cam", *,
                       layer_name: str | None = None, class_index: int | None = None, patch: int = 8,
                       stride: int = 4,
                       model_kwargs: Mapping[str, Any] | None = None) -> Figure:
    """Grad-CAM or occlusion sensitivity over an image, with a colour bar.

    Grad-CAM maps are scaled to [0, 1] (sequential colours); occlusion maps are signed (diverging colours
    centred on 0: red where hiding a square lowers the class probability).

    Args:
        model, image, model_kwargs: as :func:`feature_maps_figure`.
        method: "grad_cam" or "occlusion".
        layer_name: Grad-CAM's layer; default the last convolution.
        class_index: the class explained; default the predicted one.
        patch, stride: occlusion square side and step.

    Returns:
        The Figure: image (left), map over the image (right).

    Raises:
        TypeError / ValueError: as ``course_lib.visualize.grad_cam`` and ``occlusion_sensitivity``, an
            unknown method, an image of the wrong shape.

    Reference: Selvaraju et al., "Grad-CAM", ICCV 2017; Zeiler and Fergus, "Visualizing and Understanding
        Convolutional Networks", ECCV 2014.
    """
    model, arr = _model_and_image(model, image, model_kwargs)
    return _new_figure(_draw_attribution, (7, 3.2), model=model, image=arr, method=method,
                       layer_name=layer_name, class_index=class_index, patch=patch, stride=stride)


def show_attribution(model: Any, image: Any = None, *, layer_name: str | None = None, patch: int = 8,
                     stride: int = 4, model_kwargs: Mapping[str, Any] | None = None,
                     static: bool | None = None) -> Any:
    """Grad-CAM/occlusion explorer: method, layer, class and square size; statically both methods.

    Args:
        model, image, layer_name, patch, stride, model_kwargs: as :func:`attribution_figure`.
        static: see :func:`static_mode`.

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`attribution_figure`.
    """
    from .visualize import conv_layer_names, spatial_layer_names

    model, arr = _model_and_image(model, image, model_kwargs)
    if static_mode(static):
        base = dict(model=model, image=arr, layer_name=layer_name, class_index=None, patch=patch,
                    stride=stride)
        settings = [dict(base, method=m) for m in _METHODS]
        return _static_grid(_draw_attribution, settings, ncols=2, panel=(6.5, 3),
                            title="where the evidence is")
    import ipywidgets as w

    n_classes = int(model.output_shape[-1])
    controls = {
        "method": w.Dropdown(options=list(_METHODS), value="grad_cam", description="method"),
        "layer_name": w.Dropdown(options=spatial_layer_names(model),
                                 value=layer_name or conv_layer_names(model)[-1], description="layer"),
        "class_index": w.Dropdown(options=[("predicted", None)] + [(str(i), i) for i in range(n_classes)],
                                  value=None, description="class"),
        "patch": w.IntSlider(value=patch, min=2, max=min(arr.shape[:2]) // 2, description="square"),
    }
    return _live(lambda method, layer_name, class_index, patch: attribution_figure(
        model, arr, method, layer_name=layer_name, class_index=class_index, patch=patch,
        stride=max(1, patch // 2)), controls)
