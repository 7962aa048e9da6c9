"""The kernel editor: a small kernel (typed in, or a classic preset) correlated with a photograph.

The kernel is drawn on the course's diverging scale with its colorbar
(:func:`course_lib.drawing.colors.heatmap`), as are responses that can take either sign.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from ..drawing.colors import IMAGE_CMAP, heatmap
from ..validation import check_choice, check_int
from .core import image2d, live, new_figure, static_grid, static_mode

__all__ = ["PRESET_KERNELS", "kernel_response_figure", "show_kernel_editor"]

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


def _photo(photo: Any, size: int) -> np.ndarray:
    if isinstance(photo, str):
        from ..data import load_photo

        return load_photo(photo, size=size, gray=True)[..., 0]
    arr = np.asarray(photo, dtype=float)
    if arr.ndim == 3 and arr.shape[-1] in (1, 3):
        arr = arr.mean(axis=-1)
    return image2d(arr, "photo")


def _draw_kernel_response(fig: Any, *, kernel: Any, photo: Any, size: int) -> None:
    from ..numpy_cnn import correlate2d

    k = image2d(kernel, "kernel")
    if k.shape[0] > 15 or k.shape[1] > 15:
        raise ValueError(f"kernel must be at most 15x15, got shape {k.shape}")
    x = _photo(photo, check_int(size, "size", minimum=16, maximum=1024))
    response = correlate2d(x, k, mode="same")
    ax_x, ax_k, ax_r = fig.subplots(1, 3, width_ratios=[3, 2, 3])
    ax_x.imshow(x, cmap=IMAGE_CMAP, vmin=0, vmax=1)
    ax_x.set_title("photo", fontsize=9)
    heatmap(ax_k, k, signed=True, label="weight")
    for (i, j), v in np.ndenumerate(k):
        ax_k.text(j, i, f"{v:.2g}", ha="center", va="center", fontsize=8)
    ax_k.set_title("kernel", fontsize=9)
    # weights summing to 0 (edges, Laplacian) give signed responses: diverging colours centred on 0;
    # weights summing to 1 (blur, sharpen) give an image again: grey on the photo's own 0-1 scale
    if abs(float(k.sum())) < 1e-9:
        heatmap(ax_r, response, signed=True, label="response")
    else:
        limits = (0.0, 1.0) if abs(float(k.sum()) - 1.0) < 1e-9 else (None, None)
        shown = ax_r.imshow(response, cmap=IMAGE_CMAP, vmin=limits[0], vmax=limits[1])
        fig.colorbar(shown, ax=ax_r, fraction=0.046, pad=0.03, label="response")
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
    return new_figure(_draw_kernel_response, (9, 3.2), kernel=kernel, photo=photo, size=size)


def show_kernel_editor(kernel: Any = "sobel x", photo: Any = "camera", *, size: int = 128,
                       presets: Sequence[str] = ("gaussian blur", "sharpen", "sobel x", "sobel y"),
                       static: bool | None = None) -> Any:
    """A 3x3 kernel editor (nine number boxes and presets) applied live to a photo; statically, ``presets``.

    Args:
        kernel: the starting 3x3 kernel (array or preset name).
        photo: as :func:`kernel_response_figure`.
        size: photo side.
        presets: preset names drawn in the static figure.
        static: see :func:`~course_lib.widgets.static_mode`.

    Returns:
        The static Figure, or the displayed ``ipywidgets.VBox``.

    Raises:
        As :func:`kernel_response_figure`; ValueError for a starting kernel that is not 3x3.
    """
    if isinstance(kernel, str):
        kernel = PRESET_KERNELS[check_choice(kernel, "kernel", tuple(PRESET_KERNELS))]
    start = image2d(kernel, "kernel")
    if start.shape != (3, 3):
        raise ValueError(f"kernel must be 3x3 for the editor, got shape {start.shape}")
    if static_mode(static):
        names = [check_choice(p, "presets", tuple(PRESET_KERNELS)) for p in presets]
        settings = [dict(kernel=PRESET_KERNELS[p], photo=photo, size=size) for p in names]
        fig = static_grid(_draw_kernel_response, settings, ncols=1, panel=(9, 3), title="kernels on a photo")
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
    display_box = live(lambda **v: kernel_response_figure(
        np.array([[v[f"k{i}{j}"] for j in range(3)] for i in range(3)]), photo, size), cells)
    # the number boxes are shown as a 3x3 grid next to the presets, not in one long row
    display_box.children = (w.HBox([grid, preset]), display_box.children[1])
    return display_box
