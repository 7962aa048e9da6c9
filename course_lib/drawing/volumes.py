"""Convolution as volumes and as a matrix product: a filter spanning the input's depth, and im2col.

- :func:`draw_conv_volume`: an input volume, one filter reaching through all its channels, and the output
  volume of one map per filter, with the layer's parameter count;
- :func:`im2col_matrix` and :func:`draw_im2col`: the unrolled matrix :func:`course_lib.numpy_cnn.conv_forward`
  builds, beside the image patches its rows come from.

Sizes come from :mod:`course_lib.shapes`, the matrix from :mod:`course_lib.numpy_cnn`; each function draws on
one Axes (a new figure when ``ax`` is None) and returns it.
"""

from __future__ import annotations

import math
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Polygon, Rectangle

from .. import numpy_cnn, shapes
from ..validation import check_array, check_float, check_int, check_positive_int, type_error
from .cells import frame, int_pair, is_dark, new_axes, number_text, size_formula, window_outline
from .colors import heatmap, symmetric_limits, window_color

__all__ = ["draw_conv_volume", "im2col_matrix", "draw_im2col"]


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
    fontsize: float | None = None,
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
        fontsize: points for every label and annotation (the title one point more); default the small sizes
            that fit a 9-inch figure (annotations 8, labels 9, title 10). Give 11 or more for a figure that
            is projected.
        ax: the Axes to draw on (default: a new figure).

    Returns:
        The Axes; faces have gids ``"input-volume"``, ``"filter"``, ``"output-volume"``, and each output map
        is one ``"output-slice"`` (at most 32 are drawn; the label gives the true count).

    Raises:
        TypeError / ValueError: a malformed shape, a non-positive size, a kernel larger than the padded
            input, or a non-positive fontsize.
    """
    if not isinstance(input_shape, (tuple, list)):
        raise type_error("input_shape", "an (H, W, C) tuple", input_shape)
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be an (H, W, C) tuple, got {tuple(input_shape)!r}")
    h, w, c = (check_positive_int(v, f"input_shape[{i}]") for i, v in enumerate(input_shape))
    kh, kw = int_pair(kernel, "kernel", 1)
    filters = check_positive_int(filters, "filters")
    sh, sw = int_pair(stride, "stride", 1)
    ph, pw = int_pair(padding, "padding", 0)
    oh, ow = shapes.conv_output_size((h, w), (kh, kw), (sh, sw), (ph, pw))
    params = shapes.conv_params((kh, kw), c, filters)
    if fontsize is not None:
        fontsize = check_float(fontsize, "fontsize", minimum=0, include_minimum=False)
    note_size, label_size = (8, 9) if fontsize is None else (fontsize, fontsize)
    ax = new_axes(ax, (9.0, 4.2))
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
    ax.text(iw / 2, -0.35, f"input {h}x{w}x{c}", ha="center", va="top", fontsize=label_size)
    ax.text(
        fw / 2 + idp * 0.3,
        ih + idp * 0.45 + 0.25,
        f"filter {kh}x{kw}x{c}\n(spans all {c} channels)",
        ha="center",
        va="bottom",
        fontsize=note_size,
        color="tab:orange",
    )
    ax.text(
        x_out + owd / 2,
        -0.35,
        f"output {oh}x{ow}x{filters}\n({filters} filters → {filters} maps)",
        ha="center",
        va="top",
        fontsize=label_size,
    )
    ax.text(
        (iw + idp * 0.6 + x_out) / 2,
        ohd + odp * 0.45 + 0.6,
        f"{kh}·{kw}·{c} = {kh * kw * c} products\n→ one number",
        ha="center",
        va="bottom",
        fontsize=note_size,
    )
    title = (
        f"{filters} filters of {kh}x{kw}x{c}, stride {sh if sh == sw else (sh, sw)}, padding "
        f"{ph if ph == pw else (ph, pw)}: {size_formula(h, kh, sh, ph, oh)}"
        + (";\n" if fontsize is not None else "; ")  # projected sizes: two lines
        + f"{params:,} parameters = {kh}·{kw}·{c}·{filters} + {filters}"
    )
    top = max(ih + idp * 0.45, ohd + odp * 0.45) + 1.4
    frame(ax, title, (-0.5, x_out + owd + odp * 0.6 + 0.5), (-1.3, top))
    if fontsize is not None:
        ax.title.set_fontsize(fontsize + 1)
    return ax


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
    kh, kw = int_pair(kernel, "kernel", 1)
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
    fontsize: float | None = None,
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
        fontsize: points for every text (values, patch and tap labels, captions); default the small sizes that
            fit the default figure (values 7, tap labels 6, captions 9). Give 11 or more for figures that are
            projected; the figure then grows to keep the cells legible.
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
    if fontsize is not None:
        fontsize = check_float(fontsize, "fontsize", minimum=0, include_minimum=False)
    value_size, tap_size, caption_size = (7, 6, 9) if fontsize is None else (fontsize,) * 3
    cols, (oh, ow) = im2col_matrix(img, kernel, stride=stride, padding=padding)
    kh, kw = int_pair(kernel, "kernel", 1)
    sh, sw = int_pair(stride, "stride", 1)
    (top, bottom), (left, right) = numpy_cnn.resolve_padding(padding, img.shape, (kh, kw), (sh, sw))
    padded = np.pad(img, ((top, bottom), (left, right)))
    n_rows, n_cols = cols.shape
    highlight = (
        min(n_rows, 4) if highlight is None else min(check_int(highlight, "highlight", minimum=0), n_rows)
    )
    if annotate is None:
        annotate = max(n_rows, n_cols, *padded.shape) <= 16
    hp, wp = padded.shape
    scale = 1.0 if fontsize is None else max(1.0, fontsize / 9)
    gap = 3.0 * scale
    x0 = wp + gap
    width, height = x0 + n_cols, max(hp, n_rows)
    max_width = 15.0 if fontsize is None else 11.0  # projected: no wider than a slide
    ax = new_axes(ax, (min(0.45 * scale * width + 2.0, max_width), min(0.4 * scale * height + 1.6, 10.0)))
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
                color = "white" if is_dark(cmap(norm(v))) else "black"
                ax.text(left_x + c + 0.5, r + 0.5, number_text(v), ha="center", va="center",
                        fontsize=value_size,
                        color=color)
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
        window_outline(ax, (b * sw, a * sh), (kw, kh), inset=inset, color=color, gid="patch")
        ax.add_patch(
            Rectangle((x0, r), n_cols, 1, fill=False, edgecolor=color, linewidth=2.5, gid="patch-row")
        )
        ax.text(x0 - 0.2, r + 0.5, f"patch {r}", ha="right", va="center", fontsize=value_size, color=color)
    for c in range(n_cols):
        p_, q_ = divmod(c, kw)
        ax.text(
            x0 + c + 0.5,
            -0.15,
            f"({p_},{q_})",
            ha="center",
            va="bottom",
            fontsize=tap_size,
            rotation=90,
            gid="tap-label",
        )
    ax.text(
        wp / 2,
        hp + 0.3,
        f"image {img.shape[0]}x{img.shape[1]}" + (" (padded)" if hp > img.shape[0] else ""),
        ha="center",
        va="top",
        fontsize=caption_size,
    )
    ax.text(
        x0 + n_cols / 2,
        n_rows + 0.3,
        f"im2col matrix {n_rows}x{n_cols}\n(row = patch, column = tap (p, q))",
        ha="center",
        va="top",
        fontsize=caption_size,
    )
    title = (
        f"im2col: {oh}x{ow} = {n_rows} patches of {kh}x{kw} → a {n_rows}x{n_cols} matrix; "
        f"the convolution is this matrix @ the kernel as a {n_cols}x1 column"
    )
    ax = frame(ax, title, (-0.5, width + 0.5), (height + 1.6, -1.4))
    if fontsize is not None:  # the title on two lines, the colorbar's text at the same size
        ax.set_title(title.replace("; ", ";\n"), fontsize=fontsize)
        colorbar = getattr(im_mat, "colorbar", None)
        if colorbar is not None:
            colorbar.ax.tick_params(labelsize=fontsize)
            colorbar.ax.yaxis.label.set_fontsize(fontsize)
    return ax
