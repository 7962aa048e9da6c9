"""Dilated convolution: a kernel's taps spread ``d`` pixels apart on the input grid.

- :func:`draw_dilated_kernel`: one window of a dilated kernel, its taps named after the weights they carry,
  the skipped pixels between them, the span ``d (k - 1) + 1`` outlined, and the output-size formula with it.

Sizes come from :mod:`course_lib.shapes` (``effective_kernel_size``, ``conv_output_size``).

Reference: Yu and Koltun, "Multi-Scale Context Aggregation by Dilated Convolutions", ICLR 2016; Dumoulin and
Visin, "A guide to convolution arithmetic for deep learning", arXiv:1603.07285 (section 5).
"""

from __future__ import annotations

from typing import Any

from .. import shapes
from .cells import (
    CURRENT_FILL,
    cell,
    finish,
    int_pair,
    new_axes,
    size_formula,
    window_outline,
    window_position,
)

__all__ = ["draw_dilated_kernel"]

GAP_FILL = "#f2f2f2"  # pixels inside the span that no tap reads


def _weight_name(p: int, q: int) -> str:
    # Full-size digits: subscript glyphs are too small to read on a projector.
    return f"w{p}{q}" if max(p, q) < 10 else f"w{p},{q}"


def draw_dilated_kernel(
    input_size: Any = 9,
    kernel: Any = 3,
    *,
    dilation: Any = 2,
    position: Any = None,
    fontsize: float = 11,
    ax: Any = None,
) -> Any:
    """Draw the taps of a dilated kernel on the input grid, for one window position.

    The ``kh x kw`` taps (orange, each named after its weight: ``w12`` is ``w[1, 2]``) sit ``d`` pixels apart,
    so one window spans ``d (k - 1) + 1`` pixels per axis (orange frame) while it still holds ``k x k``
    weights; the pixels inside the frame that no tap reads are shaded grey. The title gives the span and the
    output size at stride 1 without padding, ``(n - span)/1 + 1``.

    Args:
        input_size: ``n`` (square) or ``(h, w)``.
        kernel: taps per axis, ``k`` or ``(kh, kw)``.
        dilation: spacing of the taps, ``d`` or ``(dh, dw)``; 1 draws an ordinary kernel.
        position: the window drawn: an output ``(row, col)`` or an int counted row-major from 0; default the
            window nearest the centre of the input.
        fontsize: size of the tap labels and the caption (the title is one point larger); the default reads
            well when projected.
        ax: the Axes to draw on (default: a new figure).

    Returns:
        The Axes. Cells have gids ``"tap-cell"`` (with texts ``"tap-cell-text"``), ``"gap-cell"`` and
        ``"input-cell"``; the frame around the span is ``"span"``.

    Raises:
        TypeError: a size, kernel or dilation that is not an int or pair of ints.
        ValueError: a non-positive size, kernel or dilation, a dilated kernel larger than the input, or a
            position outside the output.
    """
    h, w = int_pair(input_size, "input_size", 1)
    kh, kw = int_pair(kernel, "kernel", 1)
    dh, dw = int_pair(dilation, "dilation", 1)
    span_h, span_w = shapes.effective_kernel_size((kh, kw), (dh, dw))
    oh, ow = shapes.conv_output_size((h, w), (kh, kw), 1, 0, dilation=(dh, dw))
    if position is None:
        position = ((oh - 1) // 2, (ow - 1) // 2)
    i, j = window_position(position, (oh, ow))
    taps = {(i + p * dh, j + q * dw): (p, q) for p in range(kh) for q in range(kw)}
    ax = new_axes(ax, (min(0.55 * w + 1.2, 14.0), min(0.55 * h + 2.0, 9.0)))
    for r in range(h):
        for c in range(w):
            if (r, c) in taps:
                cell(ax, r, c, "tap-cell", fill=CURRENT_FILL, text=_weight_name(*taps[(r, c)]),
                     fontsize=fontsize)
            elif i <= r < i + span_h and j <= c < j + span_w:
                cell(ax, r, c, "gap-cell", fill=GAP_FILL)
            else:
                cell(ax, r, c, "input-cell")
    window_outline(ax, (j, i), (span_w, span_h), inset=-0.06, color=CURRENT_FILL, gid="span", linewidth=3)
    span_text = f"{span_h}x{span_w}"
    ax.text(w / 2, h + 0.3, f"input {h}x{w}; {kh * kw} weights spanning {span_text}", ha="center",
            va="top", fontsize=fontsize)
    if dh == dw and kh == kw and h == w:
        head = f"{kh}x{kw} kernel, dilation {dh}: span {dh}·({kh} − 1) + 1 = {span_h}"
        formula = "output " + size_formula(h, span_h, 1, 0, oh)
    else:
        head = f"{kh}x{kw} kernel, dilation {(dh, dw)}: span {span_text}"
        formula = (f"output rows {size_formula(h, span_h, 1, 0, oh)}, "
                   f"columns {size_formula(w, span_w, 1, 0, ow)}")
    ax = finish(ax, w, h + 1.2, f"{head}\n{formula}")
    ax.title.set_fontsize(fontsize + 1)
    return ax
