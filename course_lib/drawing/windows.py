"""Sliding windows: a convolution's window over a padded input, and pooling windows over a feature map.

- :func:`draw_sliding_window`: padding, stride and one window position, with the output-size formula (and,
  given the numbers, the output values computed so far);
- :func:`draw_sliding_steps`: several positions of that window, one panel each;
- :func:`draw_pooling`: pooling windows and the pooled values (all at once, or one window at a time).

The lecture controls of :mod:`course_lib.widgets` draw these same pictures. Sizes come from
:mod:`course_lib.shapes`, values from :mod:`course_lib.numpy_cnn`.

Reference: Dumoulin and Visin, "A guide to convolution arithmetic for deep learning", arXiv:1603.07285.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from .. import numpy_cnn, shapes
from ..validation import check_array, check_choice, check_float, check_positive_int
from .cells import (
    CURRENT_FILL,
    DONE_FILL,
    PAD_FILL,
    cell,
    finish,
    int_pair,
    new_axes,
    number_text,
    size_formula,
    window_outline,
    window_position,
)
from .colors import window_color

__all__ = ["draw_sliding_window", "draw_sliding_steps", "draw_pooling"]


def draw_sliding_window(
    input_size: Any = 7,
    kernel: Any = 3,
    *,
    stride: Any = 1,
    padding: Any = 0,
    position: Any = 0,
    values: Any = None,
    weights: Any = None,
    fontsize: float | None = None,
    ax: Any = None,
) -> Any:
    """Draw a zero-padded input grid, one window position, the windows' start points and the output grid.

    The padded border is grey with its zeros written in; the window (orange frame) sits at output position
    ``position``; a dot marks the top-left corner of every window, so the stride shows as the spacing of the
    dots; input cells that no window reaches (when ``(n + 2p - k)`` is not a multiple of ``s``) are hatched.
    To the right, the output grid: the cell the window produces is orange, the ones before it pale. Given the
    input's ``values`` and the kernel's ``weights``, the output cells computed so far show their values (a
    cross-correlation, as Keras computes it) and the title adds the window's products and their sum.

    Args:
        input_size: ``n`` (square) or ``(h, w)``: the input before padding.
        kernel: ``k`` or ``(kh, kw)``.
        stride: ``s`` or ``(sh, sw)``.
        padding: zeros per side, ``p`` or ``(ph, pw)``; ``((top, bottom), (left, right))``; or Keras's
            "valid" / "same" ("same" puts the odd zero after the input, so it may be lopsided).
        position: which window: an int counted row-major from 0, or an output ``(row, col)``.
        values: optional ``(h, w)`` array written into the input cells.
        weights: optional ``(kh, kw)`` kernel; with ``values``, the output values are computed and written.
        fontsize: points for every text (cell values, labels; the title one point more); default the small
            sizes that fit the lecture controls' panels (cells 7 or 5, labels 9, title 10). Give 11 or more
            for a figure that is projected (the title then puts the formula on a line of its own).
        ax: the Axes to draw on (default: a new figure).

    Returns:
        The Axes. Cells have gids ``"input-cell"``, ``"pad-cell"``, ``"output-cell"`` (and their texts
        ``"input-cell-text"``, ``"output-cell-text"``); the frame is ``"window"``, the start dots
        ``"window-start"``, unreached cells ``"uncovered"``, and the arrow from the window to its output cell
        ``"window-connector"`` (for a window in the top row it arches above the grid, crossing no cell).

    Raises:
        TypeError: a size that is not an int or pair of ints; values or weights not numeric.
        ValueError: a non-positive size, stride or fontsize, negative padding or an unknown padding string, a
            kernel larger than the padded input, a position outside the output, values or weights of the wrong
            shape, or weights without values.

    Reference: Dumoulin and Visin, "A guide to convolution arithmetic for deep learning", arXiv:1603.07285.
    """
    h, w = int_pair(input_size, "input_size", 1)
    kh, kw = int_pair(kernel, "kernel", 1)
    sh, sw = int_pair(stride, "stride", 1)
    if fontsize is not None:
        fontsize = check_float(fontsize, "fontsize", minimum=0, include_minimum=False)
    (top, bottom), (left, right) = pads = shapes.resolve_padding(padding, (h, w), (kh, kw), (sh, sw))
    oh, ow = shapes.conv_output_size((h, w), (kh, kw), (sh, sw), pads)
    i, j = window_position(position, (oh, ow))
    if values is not None:
        values = check_array(values, "values", ndim=2, layout="(h, w)").astype(float)
        if values.shape != (h, w):
            raise ValueError(f"values must have the input's shape {(h, w)}, got {values.shape}")
    outputs = None
    if weights is not None:
        if values is None:
            raise ValueError("weights need values: the input the window reads")
        weights = check_array(weights, "weights", ndim=2, layout="(kh, kw)").astype(float)
        if weights.shape != (kh, kw):
            raise ValueError(f"weights must have the kernel's shape {(kh, kw)}, got {weights.shape}")
        out, _ = numpy_cnn.conv_forward(values[None, :, :, None], weights[:, :, None, None], None,
                                        stride=(sh, sw), pad=pads)
        outputs = np.round(out[0, :, :, 0], 6)
    hp, wp = h + top + bottom, w + left + right
    reach_r, reach_c = (oh - 1) * sh + kh, (ow - 1) * sw + kw  # padded rows/columns some window covers
    gap = 2.0
    width, height = wp + gap + ow, max(hp, oh)
    ax = new_axes(ax, (min(0.42 * width + 1.2, 14.0), min(0.42 * height + 1.4, 9.0)))
    small = (7 if max(hp, wp) <= 12 else 5) if fontsize is None else fontsize
    label_size = 9 if fontsize is None else fontsize
    for r in range(hp):
        for c in range(wp):
            if top <= r < top + h and left <= c < left + w:
                text = number_text(values[r - top, c - left]) if values is not None else ""
                cell(ax, r, c, "input-cell", text=text, fontsize=small)
            else:
                cell(ax, r, c, "pad-cell", fill=PAD_FILL, text="0", fontsize=small)
            if r >= reach_r or c >= reach_c:
                ax.add_patch(Rectangle((c, r), 1, 1, fill=False, hatch="///", edgecolor="tab:red",
                                       linewidth=0, gid="uncovered"))
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
            fill = CURRENT_FILL if index == current else (DONE_FILL if index < current else "white")
            text = number_text(outputs[a, b]) if outputs is not None and index <= current else ""
            cell(ax, a, x0 + b, "output-cell", fill=fill, text=text, fontsize=small)
    if i == 0:
        # A window in the top row: the connector runs from the window's top-right corner to the top of its
        # output cell, arching above the grid, so that it crosses no cell (nor the zeros of the padding).
        start, end = (j * sw + kw, 0.0), (x0 + j + 0.5, 0.0)
        rad = -min(0.2, 1.4 / max(end[0] - start[0], 1.0))  # the arch rises at most 0.7 cells above the grid
    else:
        start, end, rad = (j * sw + kw, i * sh + kh / 2), (x0 + j + 0.5, i + 0.5), -0.2
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={"arrowstyle": "->", "color": "tab:orange", "lw": 1.5,
                    "connectionstyle": f"arc3,rad={rad:.3f}"},
        gid="window-connector",
    )
    ax.text(
        wp / 2,
        hp + 0.35,
        f"input {h}x{w}{_padding_text(pads)}"
        + ("\n(hatched: never covered)" if reach_r < hp or reach_c < wp else ""),
        ha="center",
        va="top",
        fontsize=label_size,
    )
    ax.text(x0 + ow / 2, oh + 0.35, f"output {oh}x{ow}", ha="center", va="top", fontsize=label_size)
    named = f', "{padding.lower()}" padding' if isinstance(padding, str) else ""
    gap_text = "\n" if fontsize is not None else " "  # projected sizes: the formula on a line of its own
    if sh == sw and kh == kw and h == w and (top, bottom) == (left, right):
        formula = size_formula(h, kh, sh, (top, bottom), oh)
        title = f"{kh}x{kw} window, stride {sh}{named}:{gap_text}{formula}"
    else:
        title = (
            f"{kh}x{kw} window, stride {(sh, sw)}{named}:{gap_text}rows "
            + size_formula(h, kh, sh, (top, bottom), oh)
            + "; columns "
            + size_formula(w, kw, sw, (left, right), ow)
        )
    if outputs is not None:
        padded = np.pad(values, pads)
        terms = [number_text(t) for t in (padded[i * sh:i * sh + kh, j * sw:j * sw + kw] * weights).ravel()]
        shown = " + ".join(terms[:9]) + (" + …" if len(terms) > 9 else "")  # longer sums overflow the title
        title += f"\nwindow ({i}, {j}): {shown} = {number_text(outputs[i, j])}"
    finish(ax, width, height + 1.3, title)
    if fontsize is not None:
        ax.title.set_fontsize(fontsize + 1)
    return ax


def _padding_text(pads: tuple[tuple[int, int], tuple[int, int]]) -> str:
    """How the input label names the padding: nothing, ", padding 1", ", padding 1x2" or the sides."""
    (top, bottom), (left, right) = pads
    if not (top or bottom or left or right):
        return ""
    if top == bottom and left == right:
        return f", padding {top}" if top == left else f", padding {top}x{left}"
    if (top, bottom) == (left, right):
        return f", padding {top} before, {bottom} after"
    return f", padding rows {top}+{bottom}, columns {left}+{right}"


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
    hw, khw = int_pair(input_size, "input_size", 1), int_pair(kernel, "kernel", 1)
    shw = int_pair(stride, "stride", 1)
    oh, ow = shapes.conv_output_size(hw, khw, shw, shapes.resolve_padding(padding, hw, khw, shw))
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
        i, j = window_position(pos, (oh, ow))
        ax.set_title(f"step {i * ow + j + 1} of {count}: window at output ({i}, {j})", fontsize=9)
    h, w = hw
    fig.suptitle(
        f"A {kernel}x{kernel} window sliding over a {h}x{w} input, stride {stride}, padding {padding}: "
        f"{oh}x{ow} output"
        if not isinstance(kernel, (tuple, list))
        else f"{kernel} window over a {h}x{w} input: {oh}x{ow} output"
    )
    return fig


def draw_pooling(
    feature_map: Any,
    *,
    size: Any = 2,
    stride: Any = None,
    mode: str = "max",
    position: Any = None,
    ax: Any = None,
) -> Any:
    """Draw a feature map with its pooling windows outlined, and the pooled map with the values it gets.

    Each window has its own colour, used again for its output cell. With ``mode="max"`` the cell holding
    each window's maximum is filled in the window's colour (the "switch" through which max pooling's
    gradient flows back). Values come from :func:`course_lib.numpy_cnn.pool_forward`. Given a ``position``,
    only that window is outlined and the pooled map is filled up to it, one window at a time.

    Args:
        feature_map: ``(H, W)`` array.
        size: window ``p`` or ``(ph, pw)``.
        stride: ``s`` or ``(sh, sw)``; default the window size (no overlap).
        mode: "max", "avg" or "l2".
        position: None for every window at once, or one window: an int counted row-major from 0, or an
            output ``(row, col)``; the title then gives that window's value.
        ax: the Axes to draw on (default: a new figure).

    Returns:
        The Axes, with cells ``"fmap-cell"``, outlines ``"pool-window"``, output cells ``"pooled-cell"``
        and, for max pooling, the chosen cells ``"max-cell"``.

    Raises:
        TypeError / ValueError: a map that is not 2-D, a bad size/stride/mode, a window larger than the
            map, or a position outside the pooled map.
    """
    fmap = check_array(feature_map, "feature_map", ndim=2, layout="(H, W)").astype(float)
    mode = check_choice(mode, "mode", ("max", "avg", "l2"), ignore_case=True)
    name = {"max": "max", "avg": "average", "l2": "L2"}[mode]
    ph, pw = int_pair(size, "size", 1)
    sh, sw = (ph, pw) if stride is None else int_pair(stride, "stride", 1)
    out, _ = numpy_cnn.pool_forward(fmap[None, :, :, None], (ph, pw), (sh, sw), mode=mode)
    pooled = out[0, :, :, 0]
    oh, ow = pooled.shape
    h, w = fmap.shape
    if position is None:
        last = oh * ow - 1  # every window
    else:
        a, b = window_position(position, (oh, ow))
        last = a * ow + b
    gap = 2.5
    x0 = w + gap
    width, height = x0 + ow, max(h, oh)
    ax = new_axes(ax, (min(0.55 * width + 1.0, 14.0), min(0.55 * height + 1.4, 9.0)))
    chosen: dict[tuple[int, int], int] = {}
    if mode == "max":
        for a, b in (divmod(index, ow) for index in range(last + 1)):
            win = fmap[a * sh : a * sh + ph, b * sw : b * sw + pw]
            r, c = np.unravel_index(int(np.argmax(win)), win.shape)
            chosen.setdefault((a * sh + r, b * sw + c), a * ow + b)
    for (r, c), v in np.ndenumerate(fmap):
        cell(ax, r, c, "fmap-cell", text=number_text(v), fontsize=9)
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
            if position is None or index == last:
                inset = 0.05 + 0.06 * (index % 2)
                window_outline(ax, (b * sw, a * sh), (pw, ph), inset=inset, color=window_color(index),
                               gid="pool-window")
            done = index <= last
            cell(
                ax,
                a,
                x0 + b,
                "pooled-cell",
                text=number_text(round(float(pooled[a, b]), 3)) if done else "",
                fontsize=10,
                edge=window_color(index) if done else "0.35",
                lw=2.5 if done else 0.8,
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
        formula = size_formula(h, ph, sh, 0, oh)
    else:
        formula = f"rows {size_formula(h, ph, sh, 0, oh)}, columns {size_formula(w, pw, sw, 0, ow)}"
    title = f"{name} pooling {ph}x{pw}, stride {sh if sh == sw else (sh, sw)}: {formula}"
    if position is not None:
        a, b = divmod(last, ow)
        title += f"\nwindow ({a}, {b}): {name} = {number_text(round(float(pooled[a, b]), 3))}"
    return finish(ax, width, height + 0.7, title)
