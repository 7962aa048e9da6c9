"""Concept diagrams of the lectures, drawn from the course's own arithmetic and code.

Each function draws one picture on one matplotlib Axes (a new figure when ``ax`` is None), validates its
arguments with :mod:`course_lib.validation`, takes every size it writes from :mod:`course_lib.shapes` (or
from :mod:`course_lib.numpy_cnn`, whose im2col matrix and pooled values are drawn as computed) and returns
the Axes. Grid cells are square patches in data coordinates, row 0 at the top; every drawn element carries a
``gid`` (``"input-cell"``, ``"pad-cell"``, ``"window"``, ``"output-cell"``, ...) so that a test or a widget
can find what was drawn.

Functions: :func:`draw_sliding_window` (padding, stride, one window position), :func:`draw_sliding_steps`
(several positions in one figure), :func:`draw_conv_volume` (a filter spans the input's depth),
:func:`draw_im2col` (the unrolled matrix beside the patches it came from), :func:`draw_receptive_field`
(growth over layers, a 1-D cross-section), :func:`draw_pooling` (windows and pooled values) and
:func:`draw_transposed_conv` (each input value stamps a kernel-sized window on a larger output).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Polygon, Rectangle

from .. import numpy_cnn, shapes
from ..validation import check_array, check_choice, check_int, check_int_tuple, check_positive_int, type_error
from .colors import heatmap, symmetric_limits, window_color

__all__ = [
    "draw_sliding_window",
    "draw_sliding_steps",
    "draw_conv_volume",
    "draw_im2col",
    "draw_receptive_field",
    "draw_pooling",
    "draw_transposed_conv",
    "im2col_matrix",
    "transposed_output_size",
]

_PAD_FILL = "#e0e0e0"
_DONE_FILL = "#fde0c5"
_CURRENT_FILL = "tab:orange"


# --------------------------------------------------------------------------------------------------- helpers

def _window_outline(ax, corner, size, *, inset, color, gid, linewidth=2.5):
    """Outline one window of a grid, shrunk by ``inset`` on every side so that overlapping windows stay apart.

    Args:
        corner: (x, y) of the window's top-left cell, in cell units.
        size: (width, height) of the window in cells.
    """
    (x, y), (w, h) = corner, size
    ax.add_patch(Rectangle((x + inset, y + inset), w - 2 * inset, h - 2 * inset, fill=False, edgecolor=color,
                           linewidth=linewidth, gid=gid))

def _new_axes(ax: Any, size: tuple[float, float]) -> Any:
    """``ax`` itself, or the axes of a new constrained-layout figure of ``size`` inches."""
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def _frame(ax: Any, title: str, xlim: tuple[float, float], ylim: tuple[float, float]) -> Any:
    """Show ``xlim`` x ``ylim`` (ylim high-to-low puts row 0 at the top) at equal aspect, without a frame."""
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    return ax


def _finish(ax: Any, width: float, height: float, title: str) -> Any:
    """A grid drawing ``[0, width] x [0, height]``, row 0 at the top, framed by :func:`_frame`."""
    return _frame(ax, title, (-0.6, width + 0.6), (height + 0.6, -0.9))


def _cell(
    ax: Any,
    row: float,
    col: float,
    gid: str,
    *,
    fill: str = "white",
    text: str = "",
    size: float = 1.0,
    fontsize: float = 8,
    edge: str = "0.35",
    lw: float = 0.8,
    hatch: str | None = None,
) -> Rectangle:
    rect = Rectangle(
        (col, row), size, size, facecolor=fill, edgecolor=edge, linewidth=lw, hatch=hatch, gid=gid
    )
    ax.add_patch(rect)
    if text:
        ax.text(
            col + size / 2,
            row + size / 2,
            text,
            ha="center",
            va="center",
            fontsize=fontsize,
            gid=gid + "-text",
        )
    return rect


def _fmt(v: float) -> str:
    return f"{v:g}" if float(v).is_integer() else f"{v:.4g}"


def _pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    return check_int_tuple(value, name, 2, minimum=minimum)


def _formula(n: int, k: int, s: int, p: int, out: int) -> str:
    """The output-size formula with numbers, as the lectures write it: ``(7 + 2·1 − 3)/2 + 1 = 4``, or
    ``(7 − 3)/2 + 1 = 3`` without padding."""
    span = n + 2 * p - k
    exact = span % s == 0
    body = f"({n} + 2·{p} − {k})/{s} + 1" if p else f"({n} − {k})/{s} + 1"
    return f"{body} = {out}" if exact else f"⌊{body}⌋ = ⌊{span / s + 1:.3g}⌋ = {out}"


def _position(position: Any, out_hw: tuple[int, int]) -> tuple[int, int]:
    """A window position as (row, col): an int counts row-major from 0, a pair is taken as it is."""
    count = out_hw[0] * out_hw[1]
    if isinstance(position, (tuple, list)):
        i, j = _pair(position, "position", 0)
        if i >= out_hw[0] or j >= out_hw[1]:
            raise ValueError(f"position must lie inside the {out_hw[0]}x{out_hw[1]} output, got {(i, j)}")
        return i, j
    index = check_int(position, "position", minimum=0, maximum=count - 1)
    return divmod(index, out_hw[1])


# ------------------------------------------------------------------------------------------- sliding window
def draw_sliding_window(
    input_size: Any = 7,
    kernel: Any = 3,
    *,
    stride: Any = 1,
    padding: Any = 0,
    position: Any = 0,
    values: Any = None,
    ax: Any = None,
) -> Any:
    """Draw a zero-padded input grid, one window position, the windows' start points and the output grid.

    The padded border is grey with its zeros written in; the window (orange frame) sits at output position
    ``position``; a dot marks the top-left corner of every window, so the stride shows as the spacing of the
    dots; input cells that no window reaches (when ``(n + 2p - k)`` is not a multiple of ``s``) are hatched.
    To the right, the output grid: the cell the window produces is orange, the ones before it pale.

    Args:
        input_size: ``n`` (square) or ``(h, w)``: the input before padding.
        kernel: ``k`` or ``(kh, kw)``.
        stride: ``s`` or ``(sh, sw)``.
        padding: zeros per side, ``p`` or ``(ph, pw)``.
        position: which window: an int counted row-major from 0, or an output ``(row, col)``.
        values: optional ``(h, w)`` array written into the input cells.
        ax: the Axes to draw on (default: a new figure).

    Returns:
        The Axes. Cells have gids ``"input-cell"``, ``"pad-cell"``, ``"output-cell"``; the frame is
        ``"window"``, the start dots ``"window-start"``, unreached cells ``"uncovered"``.

    Raises:
        TypeError: a size that is not an int or pair of ints; values not numeric.
        ValueError: a non-positive size or stride, negative padding, a kernel larger than the padded input,
            a position outside the output, or values of the wrong shape.

    Reference: Dumoulin and Visin, "A guide to convolution arithmetic for deep learning", arXiv:1603.07285.
    """
    h, w = _pair(input_size, "input_size", 1)
    kh, kw = _pair(kernel, "kernel", 1)
    sh, sw = _pair(stride, "stride", 1)
    ph, pw = _pair(padding, "padding", 0)
    oh, ow = shapes.conv_output_size((h, w), (kh, kw), (sh, sw), (ph, pw))
    i, j = _position(position, (oh, ow))
    if values is not None:
        values = check_array(values, "values", ndim=2, layout="(h, w)")
        if values.shape != (h, w):
            raise ValueError(f"values must have the input's shape {(h, w)}, got {values.shape}")
    hp, wp = h + 2 * ph, w + 2 * pw
    reach_r, reach_c = (oh - 1) * sh + kh, (ow - 1) * sw + kw  # padded rows/columns some window covers
    gap = 2.0
    width, height = wp + gap + ow, max(hp, oh)
    ax = _new_axes(ax, (min(0.42 * width + 1.2, 14.0), min(0.42 * height + 1.4, 9.0)))
    small = 7 if max(hp, wp) <= 12 else 5
    for r in range(hp):
        for c in range(wp):
            inside = ph <= r < ph + h and pw <= c < pw + w
            if inside:
                text = _fmt(values[r - ph, c - pw]) if values is not None else ""
                _cell(ax, r, c, "input-cell", text=text, fontsize=small)
            else:
                _cell(ax, r, c, "pad-cell", fill=_PAD_FILL, text="0", fontsize=small)
            if r >= reach_r or c >= reach_c:
                ax.add_patch(
                    Rectangle(
                        (c, r),
                        1,
                        1,
                        fill=False,
                        hatch="///",
                        edgecolor="tab:red",
                        linewidth=0,
                        gid="uncovered",
                    )
                )
    for a in range(oh):
        for b in range(ow):
            ax.plot(b * sw + 0.18, a * sh + 0.18, "o", color="tab:orange", markersize=3, gid="window-start")
    ax.add_patch(
        Rectangle((j * sw, i * sh), kw, kh, fill=False, edgecolor="tab:orange", linewidth=3, gid="window")
    )
    x0 = wp + gap
    current = i * ow + j
    for a in range(oh):
        for b in range(ow):
            index = a * ow + b
            fill = _CURRENT_FILL if index == current else (_DONE_FILL if index < current else "white")
            _cell(ax, a, x0 + b, "output-cell", fill=fill)
    ax.annotate(
        "",
        xy=(x0 + j + 0.5, i + 0.5),
        xytext=(j * sw + kw, i * sh + kh / 2),
        arrowprops={"arrowstyle": "->", "color": "tab:orange", "lw": 1.5, "connectionstyle": "arc3,rad=-0.2"},
    )
    pad_text = f", padding {ph}" if ph == pw else f", padding {ph}x{pw}"
    ax.text(
        wp / 2,
        hp + 0.35,
        f"input {h}x{w}{pad_text if (ph or pw) else ''}"
        + ("\n(hatched: never covered)" if reach_r < hp or reach_c < wp else ""),
        ha="center",
        va="top",
        fontsize=9,
    )
    ax.text(x0 + ow / 2, oh + 0.35, f"output {oh}x{ow}", ha="center", va="top", fontsize=9)
    if sh == sw and kh == kw and h == w and ph == pw:
        title = f"{kh}x{kw} window, stride {sh}: " + _formula(h, kh, sh, ph, oh)
    else:
        title = (
            f"{kh}x{kw} window, stride {(sh, sw)}: rows "
            + _formula(h, kh, sh, ph, oh)
            + "; columns "
            + _formula(w, kw, sw, pw, ow)
        )
    return _finish(ax, width, height + 1.3, title)


def draw_sliding_steps(
    input_size: Any = 7,
    kernel: Any = 3,
    *,
    stride: Any = 1,
    padding: Any = 0,
    positions: Sequence[Any] | None = None,
    ncols: int = 3,
) -> Any:
    """Several window positions of :func:`draw_sliding_window` side by side, one panel each.

    Args:
        input_size, kernel, stride, padding: as :func:`draw_sliding_window`.
        positions: the window positions to draw (ints row-major, or ``(row, col)``); default every position
            when there are at most 9, otherwise the first two and the last.
        ncols: panels per row.

    Returns:
        The Figure (constrained layout), one Axes per position, each titled with its step.

    Raises:
        TypeError / ValueError: as :func:`draw_sliding_window`; an empty ``positions``; ``ncols`` < 1.
    """
    ncols = check_positive_int(ncols, "ncols")
    oh, ow = shapes.conv_output_size(
        _pair(input_size, "input_size", 1),
        _pair(kernel, "kernel", 1),
        _pair(stride, "stride", 1),
        _pair(padding, "padding", 0),
    )
    count = oh * ow
    if positions is None:
        positions = list(range(count)) if count <= 9 else [0, 1, count - 1]
    positions = list(positions)
    if not positions:
        raise ValueError("positions must name at least one window position")
    ncols = min(ncols, len(positions))
    nrows = math.ceil(len(positions) / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.6 * ncols, 3.2 * nrows + 0.4), layout="constrained", squeeze=False
    )
    flat = list(axes.ravel())
    for ax in flat[len(positions) :]:
        fig.delaxes(ax)
    for ax, pos in zip(flat, positions):
        draw_sliding_window(input_size, kernel, stride=stride, padding=padding, position=pos, ax=ax)
        i, j = _position(pos, (oh, ow))
        ax.set_title(f"step {i * ow + j + 1} of {count}: window at output ({i}, {j})", fontsize=9)
    h, w = _pair(input_size, "input_size", 1)
    fig.suptitle(
        f"A {kernel}x{kernel} window sliding over a {h}x{w} input, stride {stride}, padding {padding}: "
        f"{oh}x{ow} output"
        if not isinstance(kernel, (tuple, list))
        else f"{kernel} window over a {h}x{w} input: {oh}x{ow} output"
    )
    return fig


# ------------------------------------------------------------------------------------------------- volumes
def _box(
    ax: Any,
    x: float,
    y: float,
    w: float,
    h: float,
    d: float,
    *,
    fill: str,
    gid: str,
    alpha: float = 1.0,
    lw: float = 1.0,
) -> list[Polygon]:
    """An oblique-projection box: front face ``w x h`` with lower-left corner (x, y), depth ``d`` up-right."""
    dx, dy = d * 0.6, d * 0.45
    front = [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    top = [(x, y + h), (x + w, y + h), (x + w + dx, y + h + dy), (x + dx, y + h + dy)]
    side = [(x + w, y), (x + w + dx, y + dy), (x + w + dx, y + h + dy), (x + w, y + h)]
    faces = []
    for shade, pts in ((1.0, front), (0.85, top), (0.7, side)):
        rgb = np.array(plt.matplotlib.colors.to_rgb(fill)) * shade
        poly = Polygon(pts, closed=True, facecolor=rgb, edgecolor="0.2", linewidth=lw, alpha=alpha, gid=gid)
        ax.add_patch(poly)
        faces.append(poly)
    return faces


def draw_conv_volume(
    input_shape: Any = (32, 32, 3),
    kernel: Any = 5,
    filters: int = 6,
    *,
    stride: Any = 1,
    padding: Any = 0,
    ax: Any = None,
) -> Any:
    """Draw an input volume, one filter spanning its whole depth, and the output volume of ``filters`` maps.

    The filter box is drawn on the input's front corner with the input's depth, because a filter always
    reaches through every input channel; its dot product with that chunk is one number, at one position of one
    output map (the highlighted slice). Each of the ``filters`` filters gives one map of the output, drawn as
    a slice of the output volume. Sizes are drawn to scale within a volume and capped between volumes so
    that a 227x227 input and a 6x6 map both stay visible.

    Args:
        input_shape: ``(H, W, C)`` of the input volume.
        kernel: ``k`` or ``(kh, kw)``.
        filters: number of filters (output channels).
        stride, padding: as in :func:`course_lib.shapes.conv_output_size` (ints or pairs).
        ax: the Axes to draw on (default: a new figure).

    Returns:
        The Axes; faces have gids ``"input-volume"``, ``"filter"``, ``"output-volume"``, and each output map
        is one ``"output-slice"`` (at most 32 are drawn; the label gives the true count).

    Raises:
        TypeError / ValueError: a malformed shape, a non-positive size, or a kernel larger than the padded
            input.
    """
    if not isinstance(input_shape, (tuple, list)):
        raise type_error("input_shape", "an (H, W, C) tuple", input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be an (H, W, C) tuple, got {tuple(input_shape)!r}")
    h, w, c = (check_positive_int(v, f"input_shape[{i}]") for i, v in enumerate(input_shape))
    kh, kw = _pair(kernel, "kernel", 1)
    filters = check_positive_int(filters, "filters")
    sh, sw = _pair(stride, "stride", 1)
    ph, pw = _pair(padding, "padding", 0)
    oh, ow = shapes.conv_output_size((h, w), (kh, kw), (sh, sw), (ph, pw))
    params = shapes.conv_params((kh, kw), c, filters)
    ax = _new_axes(ax, (9.0, 4.2))
    big = max(h, w)

    def side(n: int) -> float:  # drawn length of a spatial side: to scale, but never tiny
        return max(4.0 * n / big, 0.9)

    def depth(n: int) -> float:
        return min(0.4 + 0.55 * math.log2(1 + n), 4.0)

    iw, ih, idp = side(w), side(h), depth(c)
    _box(ax, 0, 0, iw, ih, idp, fill="#c6dbef", gid="input-volume", alpha=0.9)
    fw, fh = max(iw * kw / w, 0.35), max(ih * kh / h, 0.35)
    _box(ax, 0, ih - fh, fw, fh, idp, fill="#fd8d3c", gid="filter", lw=1.2)
    x_out = iw + idp * 0.6 + 2.2
    owd, ohd, odp = side(ow), side(oh), depth(filters)
    _box(ax, x_out, 0, owd, ohd, odp, fill="#c7e9c0", gid="output-volume", alpha=0.9)
    drawn = min(filters, 32)
    for f in range(drawn):  # one slice (one map) per filter, front to back
        t = (f + 0.5) / drawn * odp
        dx, dy = t * 0.6, t * 0.45
        ax.add_patch(
            Polygon(
                [
                    (x_out + dx, dy),
                    (x_out + owd + dx, dy),
                    (x_out + owd + dx, ohd + dy),
                    (x_out + dx, ohd + dy),
                ],
                closed=True,
                fill=False,
                edgecolor="0.45",
                linewidth=0.4,
                gid="output-slice",
            )
        )
    cell_w, cell_h = max(owd / ow, 0.12), max(ohd / oh, 0.12)
    ax.add_patch(
        Rectangle(
            (x_out, ohd - cell_h), cell_w, cell_h, facecolor="#fd8d3c", edgecolor="0.2", gid="output-value"
        )
    )
    ax.annotate(
        "",
        xy=(x_out + cell_w / 2, ohd - cell_h / 2),
        xytext=(fw + idp * 0.6, ih - fh / 2 + idp * 0.45),
        arrowprops={
            "arrowstyle": "->",
            "color": "tab:orange",
            "lw": 1.5,
            "connectionstyle": "arc3,rad=-0.25",
        },
    )
    ax.text(iw / 2, -0.35, f"input {h}x{w}x{c}", ha="center", va="top", fontsize=9)
    ax.text(
        fw / 2 + idp * 0.3,
        ih + idp * 0.45 + 0.25,
        f"filter {kh}x{kw}x{c}\n(spans all {c} channels)",
        ha="center",
        va="bottom",
        fontsize=8,
        color="tab:orange",
    )
    ax.text(
        x_out + owd / 2,
        -0.35,
        f"output {oh}x{ow}x{filters}\n({filters} filters → {filters} maps)",
        ha="center",
        va="top",
        fontsize=9,
    )
    ax.text(
        (iw + idp * 0.6 + x_out) / 2,
        ohd + odp * 0.45 + 0.6,
        f"{kh}·{kw}·{c} = {kh * kw * c} products\n→ one number",
        ha="center",
        va="bottom",
        fontsize=8,
    )
    title = (
        f"{filters} filters of {kh}x{kw}x{c}, stride {sh if sh == sw else (sh, sw)}, padding "
        f"{ph if ph == pw else (ph, pw)}: {_formula(h, kh, sh, ph, oh)}; "
        f"{params:,} parameters = {kh}·{kw}·{c}·{filters} + {filters}"
    )
    top = max(ih + idp * 0.45, ohd + odp * 0.45) + 1.4
    return _frame(ax, title, (-0.5, x_out + owd + odp * 0.6 + 0.5), (-1.3, top))


# --------------------------------------------------------------------------------------------------- im2col
def im2col_matrix(
    image: Any, kernel: Any = 3, *, stride: Any = 1, padding: Any = 0
) -> tuple[np.ndarray, tuple[int, int]]:
    """The matrix ``numpy_cnn.conv_forward`` multiplies by the kernels, for one single-channel image.

    Args:
        image: ``(H, W)`` array.
        kernel, stride, padding: as for ``numpy_cnn.conv_forward`` (ints or pairs; padding also
            "same"/"valid").

    Returns:
        ``(cols, (OH, OW))``: ``cols`` has one row per output position (row-major) and one column per kernel
        tap ``(p, q)``, row-major: shape ``(OH*OW, KH*KW)``.

    Raises:
        TypeError / ValueError: as ``numpy_cnn.conv_forward``, or an image that is not 2-D.

    Reference: Chellapilla, Puri and Simard, "High Performance Convolutional Neural Networks for Document
        Processing", IWFHR 2006.
    """
    img = check_array(image, "image", ndim=2, layout="(H, W)").astype(float)
    kh, kw = _pair(kernel, "kernel", 1)
    # Zero kernels: only the im2col matrix the layer builds on its way is wanted, not the output.
    out, cache = numpy_cnn.conv_forward(
        img[None, :, :, None], np.zeros((kh, kw, 1, 1)), None, stride=stride, pad=padding, method="im2col"
    )
    return np.asarray(cache["cols"]), (out.shape[1], out.shape[2])


def draw_im2col(
    image: Any,
    kernel: Any = 3,
    *,
    stride: Any = 1,
    padding: Any = 0,
    highlight: int | None = None,
    annotate: bool | None = None,
    ax: Any = None,
) -> Any:
    """Draw an image with its patches outlined beside im2col's unrolled matrix, one row per patch.

    The matrix is the one :func:`course_lib.numpy_cnn.conv_forward` builds (``method="im2col"``): row ``r``
    holds the patch under output position ``r`` (row-major), read row by row; the convolution is then this
    matrix times the kernel reshaped to a column (one column per filter). Both panels share one colour scale
    and one colorbar. The first ``highlight`` patches are outlined in distinct colours, and their matrix
    rows are marked in the same colour.

    Args:
        image: ``(H, W)`` array (one channel).
        kernel: ``k`` or ``(kh, kw)``.
        stride: ``s`` or ``(sh, sw)``.
        padding: zeros per side (int or pair), or "same"/"valid".
        highlight: how many patches to outline (default: all of them up to 4).
        annotate: write the values in the cells (default: when the matrix has at most 16x16 entries).
        ax: the Axes to draw on (default: a new figure).

    Returns:
        The Axes. Its images have gids ``"im2col-image"`` (the padded image) and ``"im2col-matrix"``; the
        patch outlines are ``"patch"`` and the row markers ``"patch-row"``.

    Raises:
        TypeError / ValueError: as :func:`im2col_matrix`; ``highlight`` negative.

    Reference: Chellapilla, Puri and Simard, "High Performance Convolutional Neural Networks for Document
        Processing", IWFHR 2006.
    """
    img = check_array(image, "image", ndim=2, layout="(H, W)").astype(float)
    cols, (oh, ow) = im2col_matrix(img, kernel, stride=stride, padding=padding)
    kh, kw = _pair(kernel, "kernel", 1)
    sh, sw = _pair(stride, "stride", 1)
    (top, bottom), (left, right) = numpy_cnn.resolve_padding(padding, img.shape, (kh, kw), (sh, sw))
    padded = np.pad(img, ((top, bottom), (left, right)))
    n_rows, n_cols = cols.shape
    highlight = (
        min(n_rows, 4) if highlight is None else min(check_int(highlight, "highlight", minimum=0), n_rows)
    )
    if annotate is None:
        annotate = max(n_rows, n_cols, *padded.shape) <= 16
    hp, wp = padded.shape
    gap = 3.0
    x0 = wp + gap
    width, height = x0 + n_cols, max(hp, n_rows)
    ax = _new_axes(ax, (min(0.45 * width + 2.0, 15.0), min(0.4 * height + 1.6, 10.0)))
    signed = bool(min(cols.min(), padded.min()) < 0)
    lo, hi = (
        symmetric_limits(padded) if signed else (min(0.0, float(padded.min())), float(padded.max()) or 1.0)
    )
    im_img = heatmap(ax, padded, signed=signed, extent=(0, wp, hp, 0), colorbar=False, vmin=lo, vmax=hi)
    im_img.set_gid("im2col-image")
    im_mat = heatmap(
        ax,
        cols,
        signed=signed,
        extent=(x0, x0 + n_cols, n_rows, 0),
        colorbar=True,
        vmin=lo,
        vmax=hi,
        label="pixel value",
    )
    im_mat.set_gid("im2col-matrix")
    norm = im_mat.norm
    cmap = im_mat.get_cmap()
    if annotate:
        for values, left_x in ((padded, 0.0), (cols, x0)):
            for (r, c), v in np.ndenumerate(values):
                color = "white" if _dark(cmap(norm(v))) else "black"
                ax.text(left_x + c + 0.5, r + 0.5, _fmt(v), ha="center", va="center", fontsize=7, color=color)
    for r in range(hp + 1):
        ax.plot([0, wp], [r, r], color="0.5", lw=0.4)
    for c in range(wp + 1):
        ax.plot([c, c], [0, hp], color="0.5", lw=0.4)
    if top or bottom or left or right:
        ax.add_patch(
            Rectangle(
                (left, top),
                img.shape[1],
                img.shape[0],
                fill=False,
                edgecolor="0.1",
                lw=1.2,
                linestyle="--",
                gid="image-border",
            )
        )
    for r in range(highlight):
        a, b = divmod(r, ow)
        inset = 0.06 * (r % 3)
        color = window_color(r)
        _window_outline(ax, (b * sw, a * sh), (kw, kh), inset=inset, color=color, gid="patch")
        ax.add_patch(
            Rectangle((x0, r), n_cols, 1, fill=False, edgecolor=color, linewidth=2.5, gid="patch-row")
        )
        ax.text(x0 - 0.2, r + 0.5, f"patch {r}", ha="right", va="center", fontsize=7, color=color)
    for c in range(n_cols):
        p_, q_ = divmod(c, kw)
        ax.text(
            x0 + c + 0.5,
            -0.15,
            f"({p_},{q_})",
            ha="center",
            va="bottom",
            fontsize=6,
            rotation=90,
            gid="tap-label",
        )
    ax.text(
        wp / 2,
        hp + 0.3,
        f"image {img.shape[0]}x{img.shape[1]}" + (" (padded)" if hp > img.shape[0] else ""),
        ha="center",
        va="top",
        fontsize=9,
    )
    ax.text(
        x0 + n_cols / 2,
        n_rows + 0.3,
        f"im2col matrix {n_rows}x{n_cols}\n(row = patch, column = tap (p, q))",
        ha="center",
        va="top",
        fontsize=9,
    )
    title = (
        f"im2col: {oh}x{ow} = {n_rows} patches of {kh}x{kw} → a {n_rows}x{n_cols} matrix; "
        f"the convolution is this matrix @ the kernel as a {n_cols}x1 column"
    )
    return _frame(ax, title, (-0.5, width + 0.5), (height + 1.6, -1.4))


def _dark(rgba: Any) -> bool:
    r, g, b = rgba[:3]
    return 0.299 * r + 0.587 * g + 0.114 * b < 0.5


# ------------------------------------------------------------------------------------------ receptive field
def _layer_kind(k: int, s: int, kinds: Sequence[str] | None, index: int) -> str:
    if kinds is not None:
        return str(kinds[index])
    return f"layer {index + 1}"


def draw_receptive_field(
    layers: Any, *, kinds: Sequence[str] | None = None, margin: int | None = None, ax: Any = None
) -> Any:
    """Draw a 1-D cross-section of a layer stack and the input pixels one top unit depends on, layer by layer.

    The input is the bottom row; each row above is a layer's output ("valid" windows). Units are placed over
    the centre of their window, so a layer after a stride-``s`` step has units ``jump`` pixels apart. The top
    unit and every unit it depends on are coloured, and the coloured band widens downwards: the number of
    coloured input pixels is the receptive field, ``r_l = r_{l-1} + (k_l - 1) * jump_{l-1}``
    (:func:`course_lib.shapes.receptive_field_steps`), written at the right of each row.

    Args:
        layers: ``(kernel, stride)`` pairs, first layer first (ints; pooling layers count like convolutions).
        kinds: optional names of the layers for the labels ("conv 3x3", "pool 2x2"), one per layer.
        margin: input pixels drawn on each side of the receptive field (default: the top layer's jump, at
            least 1).
        ax: the Axes to draw on (default: a new figure).

    Returns:
        The Axes. Units have gids ``"layer{l}-unit"`` (l = 0 for the input), and the coloured ones
        ``"layer{l}-unit-rf"``.

    Raises:
        TypeError / ValueError: malformed pairs (as ``shapes.receptive_field_steps``), a ``kinds`` of the
            wrong length, a negative margin, or a stack whose receptive field exceeds 400 pixels (too wide to
            draw).

    Reference: Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks",
        Distill 2019.
    """
    steps = shapes.receptive_field_steps(layers)
    if not steps:
        raise ValueError("layers must hold at least one (kernel, stride) pair")
    if any(isinstance(st["kernel"], tuple) for st in steps):
        raise ValueError("draw_receptive_field draws a 1-D cross-section: give int kernels and strides")
    if kinds is not None and len(kinds) != len(steps):
        raise ValueError(f"kinds must have one entry per layer ({len(steps)}), got {len(kinds)}")
    rf, top_jump = steps[-1]["rf"], steps[-1]["jump"]
    if rf > 400:
        raise ValueError(f"the receptive field is {rf} pixels, too wide to draw (at most 400)")
    margin = max(top_jump, 1) if margin is None else check_int(margin, "margin", minimum=0)
    n_in = rf + 2 * margin
    ks = [st["kernel"] for st in steps]
    ss = [st["stride"] for st in steps]
    # Lengths and unit positions: unit u of layer l sits over input coordinate x0[l] + u * jump[l].
    lengths, x0s, jumps = [n_in], [0.0], [1]
    for k, s in zip(ks, ss):
        n = (lengths[-1] - k) // s + 1
        if n < 1:
            raise ValueError("the stack leaves no output unit; give a larger margin")
        lengths.append(n)
        x0s.append(x0s[-1] + (k - 1) / 2 * jumps[-1])
        jumps.append(jumps[-1] * s)
    # The top unit nearest the middle, and the interval of units it depends on in every layer below.
    top = (lengths[-1] - 1) // 2
    intervals = [(top, top)]
    for k, s in zip(reversed(ks), reversed(ss)):
        lo, hi = intervals[-1]
        intervals.append((lo * s, hi * s + k - 1))
    intervals.reverse()  # intervals[l] for layer l (0 = input)
    n_layers = len(steps)
    row_gap = 1.6
    data_w, data_h = n_in + 10.0, n_layers * row_gap + 1.8
    fig_w = min(0.16 * data_w + 1.0, 14.0)
    ax = _new_axes(ax, (fig_w, min(fig_w * data_h / data_w + 0.9, 9.0)))
    size = 0.8
    for l_idx in range(n_layers + 1):
        y = (n_layers - l_idx) * row_gap
        lo, hi = intervals[l_idx]
        for u in range(lengths[l_idx]):
            x = x0s[l_idx] + u * jumps[l_idx]
            in_rf = lo <= u <= hi
            color = window_color(0) if in_rf else "white"
            gid = f"layer{l_idx}-unit" + ("-rf" if in_rf else "")
            ax.add_patch(
                Rectangle(
                    (x - size / 2 + 0.5, y),
                    size,
                    size,
                    facecolor=color,
                    edgecolor="0.4",
                    linewidth=0.6,
                    gid=gid,
                )
            )
        if l_idx > 0:  # the band between the coloured units of this layer and those of the layer below
            y_low = y + row_gap
            band = [
                (x0s[l_idx] + lo * jumps[l_idx] + 0.1, y + size),
                (x0s[l_idx] + hi * jumps[l_idx] + 0.9, y + size),
                (x0s[l_idx - 1] + intervals[l_idx - 1][1] * jumps[l_idx - 1] + 0.9, y_low),
                (x0s[l_idx - 1] + intervals[l_idx - 1][0] * jumps[l_idx - 1] + 0.1, y_low),
            ]
            ax.add_patch(
                Polygon(
                    band, closed=True, facecolor=window_color(0), alpha=0.15, edgecolor="none", gid="rf-band"
                )
            )
            st = steps[l_idx - 1]
            label = (
                f"{_layer_kind(st['kernel'], st['stride'], kinds, l_idx - 1)} k={st['kernel']}, "
                f"s={st['stride']}: r = {st['rf']}, jump {st['jump']}"
            )
        else:
            label = f"input: {rf} of {n_in} pixels coloured"
        ax.text(n_in + 1.0, y + size / 2, label, ha="left", va="center", fontsize=8)
    title = f"Receptive field after {n_layers} layer{'s' if n_layers > 1 else ''}: {rf} input pixels"
    return _frame(ax, title, (-0.5, n_in + 9.5), (n_layers * row_gap + 1.3, -0.5))


# --------------------------------------------------------------------------------------------------- pooling
def draw_pooling(
    feature_map: Any, *, size: Any = 2, stride: Any = None, mode: str = "max", ax: Any = None
) -> Any:
    """Draw a feature map with its pooling windows outlined, and the pooled map with the values it gets.

    Each window has its own colour, used again for its output cell. With ``mode="max"`` the cell holding
    each window's maximum is filled in the window's colour (the "switch" through which max pooling's
    gradient flows back). Values come from :func:`course_lib.numpy_cnn.pool_forward`.

    Args:
        feature_map: ``(H, W)`` array.
        size: window ``p`` or ``(ph, pw)``.
        stride: ``s`` or ``(sh, sw)``; default the window size (no overlap).
        mode: "max", "avg" or "l2".
        ax: the Axes to draw on (default: a new figure).

    Returns:
        The Axes, with cells ``"fmap-cell"``, outlines ``"pool-window"``, output cells ``"pooled-cell"``
        and, for max pooling, the chosen cells ``"max-cell"``.

    Raises:
        TypeError / ValueError: a map that is not 2-D, a bad size/stride/mode, or a window larger than the
            map.
    """
    fmap = check_array(feature_map, "feature_map", ndim=2, layout="(H, W)").astype(float)
    mode = check_choice(mode, "mode", ("max", "avg", "l2"))
    name = {"max": "max", "avg": "average", "l2": "L2"}[mode]
    ph, pw = _pair(size, "size", 1)
    sh, sw = (ph, pw) if stride is None else _pair(stride, "stride", 1)
    out, _ = numpy_cnn.pool_forward(fmap[None, :, :, None], (ph, pw), (sh, sw), mode=mode)
    pooled = out[0, :, :, 0]
    oh, ow = pooled.shape
    h, w = fmap.shape
    gap = 2.5
    x0 = w + gap
    width, height = x0 + ow, max(h, oh)
    ax = _new_axes(ax, (min(0.55 * width + 1.0, 14.0), min(0.55 * height + 1.4, 9.0)))
    chosen: dict[tuple[int, int], int] = {}
    if mode == "max":
        for a in range(oh):
            for b in range(ow):
                win = fmap[a * sh : a * sh + ph, b * sw : b * sw + pw]
                r, c = np.unravel_index(int(np.argmax(win)), win.shape)
                chosen.setdefault((a * sh + r, b * sw + c), a * ow + b)
    for (r, c), v in np.ndenumerate(fmap):
        _cell(ax, r, c, "fmap-cell", text=_fmt(v), fontsize=9)
        if (r, c) in chosen:
            ax.add_patch(
                Rectangle(
                    (c + 0.08, r + 0.08),
                    0.84,
                    0.84,
                    facecolor=window_color(chosen[(r, c)]),
                    alpha=0.45,
                    edgecolor="none",
                    gid="max-cell",
                )
            )
    for a in range(oh):
        for b in range(ow):
            index = a * ow + b
            inset = 0.05 + 0.06 * (index % 2)
            _window_outline(ax, (b * sw, a * sh), (pw, ph), inset=inset, color=window_color(index),
                            gid="pool-window")
            _cell(
                ax,
                a,
                x0 + b,
                "pooled-cell",
                text=_fmt(round(float(pooled[a, b]), 3)),
                fontsize=10,
                edge=window_color(index),
                lw=2.5,
            )
    ax.annotate(
        "",
        xy=(x0 - 0.2, oh / 2),
        xytext=(w + 0.2, oh / 2),
        arrowprops={"arrowstyle": "->", "lw": 1.5, "color": "0.3"},
    )
    ax.text(w / 2, h + 0.3, f"feature map {h}x{w}", ha="center", va="top", fontsize=9)
    ax.text(x0 + ow / 2, oh + 0.3, f"{name} pooled {oh}x{ow}", ha="center", va="top", fontsize=9)
    if ph == pw and sh == sw and h == w:
        formula = _formula(h, ph, sh, 0, oh)
    else:
        formula = f"rows {_formula(h, ph, sh, 0, oh)}, columns {_formula(w, pw, sw, 0, ow)}"
    title = f"{name} pooling {ph}x{pw}, stride {sh if sh == sw else (sh, sw)}: {formula}"
    return _finish(ax, width, height + 0.7, title)


# ------------------------------------------------------------------------------------------ transposed conv
def transposed_output_size(n: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
    """Output length of a transposed convolution, ``(n - 1) * s + k - 2p``: the input size of the convolution
    (same ``k``, ``s``, ``p``) whose output has ``n`` positions and whose windows tile it exactly.

    Raises:
        TypeError / ValueError: a non-positive size or stride, negative padding, or padding that crops the
            whole output.

    Reference: Dumoulin and Visin, arXiv:1603.07285, Relationship 14.
    """
    n = check_positive_int(n, "n")
    k = check_positive_int(kernel, "kernel")
    s = check_positive_int(stride, "stride")
    p = check_int(padding, "padding", minimum=0)
    out = (n - 1) * s + k - 2 * p
    if out < 1:
        raise ValueError(f"padding {p} crops the whole output ((n - 1)*s + k = {(n - 1) * s + k})")
    return out


def draw_transposed_conv(
    input_size: int = 2, kernel: int = 3, *, stride: int = 2, padding: int = 0, ax: Any = None
) -> Any:
    """Draw a transposed (fractionally strided) convolution: each input value stamps a kernel-sized window.

    Input cell ``(i, j)`` is multiplied by the whole ``k x k`` kernel and added into the output window whose
    top-left corner is ``(i*s, j*s)``: the windows of a stride-``s`` convolution, traversed the other way.
    Where
    windows overlap (``k > s``) output cells receive several contributions; the heat map counts them, with its
    colorbar. ``padding`` crops ``p`` cells from each side of the result (hatched), so that the transposed
    convolution undoes the shape change of ``Conv2D(k, s, padding p)``.

    Args:
        input_size: ``n`` (square input).
        kernel: ``k``.
        stride: ``s``.
        padding: ``p`` cropped per side.
        ax: the Axes to draw on (default: a new figure).

    Returns:
        The Axes: input cells ``"input-cell"``, windows ``"stamp"`` (one per input cell), the contribution
        counts as the image with gid ``"overlap-count"`` (before cropping), cropped cells ``"cropped"``.

    Raises:
        TypeError / ValueError: as :func:`transposed_output_size`; an input larger than 8 (unreadable).

    Reference: Dumoulin and Visin, "A guide to convolution arithmetic for deep learning", arXiv:1603.07285,
        Section 4.
    """
    n = check_positive_int(input_size, "input_size")
    if n > 8:
        raise ValueError(f"input_size must be at most 8 to stay readable, got {n}")
    k = check_positive_int(kernel, "kernel")
    s = check_positive_int(stride, "stride")
    p = check_int(padding, "padding", minimum=0)
    out = transposed_output_size(n, k, s, p)
    full = (n - 1) * s + k
    counts = np.zeros((full, full))
    for i in range(n):
        for j in range(n):
            counts[i * s : i * s + k, j * s : j * s + k] += 1
    gap = 2.5
    x0 = n + gap
    width, height = x0 + full, max(n, full)
    ax = _new_axes(ax, (min(0.5 * width + 2.2, 14.0), min(0.5 * height + 1.6, 9.0)))
    for i in range(n):
        for j in range(n):
            index = i * n + j
            _cell(
                ax,
                i,
                j,
                "input-cell",
                fill=window_color(index),
                text=f"x{i}{j}" if n <= 4 else "",
                fontsize=8,
            )
    image = heatmap(
        ax,
        counts,
        signed=False,
        extent=(x0, x0 + full, full, 0),
        label="contributions per cell",
        vmin=0,
        vmax=float(counts.max()),
        alpha=0.55,
    )
    image.set_gid("overlap-count")
    for (r, c), v in np.ndenumerate(counts):
        ax.text(x0 + c + 0.5, r + 0.5, f"{v:g}", ha="center", va="center", fontsize=8, gid="overlap-text")
    for r in range(full + 1):
        ax.plot([x0, x0 + full], [r, r], color="0.5", lw=0.4)
        ax.plot([x0 + r, x0 + r], [0, full], color="0.5", lw=0.4)
    for i in range(n):
        for j in range(n):
            index = i * n + j
            inset = 0.05 + 0.07 * (index % 3)
            _window_outline(ax, (x0 + j * s, i * s), (k, k), inset=inset, color=window_color(index),
                            gid="stamp", linewidth=2.2)
    for r in range(full):
        for c in range(full):
            if min(r, c) < p or max(r, c) >= full - p:
                ax.add_patch(
                    Rectangle(
                        (x0 + c, r),
                        1,
                        1,
                        fill=False,
                        hatch="..",
                        edgecolor="0.55",
                        linewidth=0,
                        gid="cropped",
                    )
                )
    ax.annotate("", xy=(x0 - 0.2, n / 2), xytext=(n + 0.2, n / 2), arrowprops={"arrowstyle": "->", "lw": 1.5})
    ax.text(n / 2, n + 0.3, f"input {n}x{n}", ha="center", va="top", fontsize=9)
    ax.text(
        x0 + full / 2,
        full + 0.3,
        f"output {out}x{out}" + (f" (after cropping {p})" if p else ""),
        ha="center",
        va="top",
        fontsize=9,
    )
    title = (
        f"Transposed convolution, {k}x{k} kernel, stride {s}, padding {p}: "
        f"({n} − 1)·{s} + {k} − 2·{p} = {out}"
    )
    return _finish(ax, width, height + 0.8, title)
