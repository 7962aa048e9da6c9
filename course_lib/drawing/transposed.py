"""Transposed (fractionally strided) convolution: each input value stamps a kernel-sized window on a larger
output.

Reference: Dumoulin and Visin, "A guide to convolution arithmetic for deep learning", arXiv:1603.07285.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.patches import Rectangle

from ..validation import check_int, check_positive_int
from .cells import cell, finish, new_axes, window_outline
from .colors import heatmap, window_color

__all__ = ["transposed_output_size", "draw_transposed_conv"]


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
    Where windows overlap (``k > s``) output cells receive several contributions; the heat map counts them,
    with its colorbar (whole-number ticks). ``padding`` crops ``p`` cells from each side of the result
    (hatched), so that the transposed convolution undoes the shape change of ``Conv2D(k, s, padding p)``.
    Texts are 11 points or more, legible when the figure is projected.

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
    ax = new_axes(ax, (min(0.6 * width + 2.6, 14.0), min(0.6 * height + 1.8, 9.0)))
    for i in range(n):
        for j in range(n):
            index = i * n + j
            cell(
                ax,
                i,
                j,
                "input-cell",
                fill=window_color(index),
                text=f"x{i}{j}" if n <= 4 else "",
                fontsize=11,
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
    image.colorbar.set_ticks(range(int(counts.max()) + 1))  # counts are whole numbers
    image.colorbar.ax.tick_params(labelsize=11)
    image.colorbar.set_label("contributions per cell", fontsize=11)
    for (r, c), v in np.ndenumerate(counts):
        ax.text(x0 + c + 0.5, r + 0.5, f"{v:g}", ha="center", va="center", fontsize=11, gid="overlap-text")
    for r in range(full + 1):
        ax.plot([x0, x0 + full], [r, r], color="0.5", lw=0.4)
        ax.plot([x0 + r, x0 + r], [0, full], color="0.5", lw=0.4)
    for i in range(n):
        for j in range(n):
            index = i * n + j
            inset = 0.05 + 0.07 * (index % 3)
            window_outline(ax, (x0 + j * s, i * s), (k, k), inset=inset, color=window_color(index),
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
    ax.text(n / 2, n + 0.3, f"input {n}x{n}", ha="center", va="top", fontsize=11)
    ax.text(
        x0 + full / 2,
        full + 0.3,
        f"output {out}x{out}" + (f" (after cropping {p})" if p else ""),
        ha="center",
        va="top",
        fontsize=11,
    )
    title = (
        f"Transposed convolution, {k}x{k} kernel, stride {s}, padding {p}: "
        f"({n} − 1)·{s} + {k} − 2·{p} = {out}"
    )
    finish(ax, width, height + 0.8, title)
    ax.title.set_fontsize(12)
    return ax
