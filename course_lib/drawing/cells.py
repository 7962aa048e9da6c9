"""The building blocks of the concept diagrams: axes, framing, grid cells, window outlines and formulas.

Every concept diagram of :mod:`course_lib.drawing` draws its grids from these, so that cells, windows and the
output-size formula look the same in every picture (and in the lecture controls of :mod:`course_lib.widgets`,
which draw with the same functions). Grid cells are square patches in data coordinates, one unit per cell,
row 0 at the top.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from ..validation import check_int, check_int_tuple

__all__ = [
    "PAD_FILL",
    "DONE_FILL",
    "CURRENT_FILL",
    "new_axes",
    "frame",
    "finish",
    "cell",
    "window_outline",
    "number_text",
    "int_pair",
    "size_formula",
    "window_position",
    "is_dark",
]

PAD_FILL = "#e0e0e0"  # padding zeros
DONE_FILL = "#fde0c5"  # output cells already computed
CURRENT_FILL = "tab:orange"  # the window and the output cell it computes


def new_axes(ax: Any, size: tuple[float, float]) -> Any:
    """``ax`` itself, or the axes of a new constrained-layout figure of ``size`` inches."""
    if ax is None:
        _, ax = plt.subplots(figsize=size, layout="constrained")
    return ax


def frame(ax: Any, title: str, xlim: tuple[float, float], ylim: tuple[float, float]) -> Any:
    """Show ``xlim`` x ``ylim`` (ylim high-to-low puts row 0 at the top) at equal aspect, without a frame."""
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)
    return ax


def finish(ax: Any, width: float, height: float, title: str) -> Any:
    """A grid drawing ``[0, width] x [0, height]``, row 0 at the top, framed by :func:`frame`."""
    return frame(ax, title, (-0.6, width + 0.6), (height + 0.6, -0.9))


def cell(
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
    """One grid cell, top-left corner at (col, row); ``text`` is written in it (gid ``gid + "-text"``)."""
    rect = Rectangle((col, row), size, size, facecolor=fill, edgecolor=edge, linewidth=lw, hatch=hatch,
                     gid=gid)
    ax.add_patch(rect)
    if text:
        ax.text(col + size / 2, row + size / 2, text, ha="center", va="center", fontsize=fontsize,
                gid=gid + "-text")
    return rect


def window_outline(ax: Any, corner: tuple[float, float], size: tuple[float, float], *, inset: float,
                   color: Any, gid: str, linewidth: float = 2.5) -> Rectangle:
    """Outline one window of a grid, shrunk by ``inset`` on every side so that overlapping windows stay apart.

    Args:
        corner: (x, y) of the window's top-left cell, in cell units.
        size: (width, height) of the window in cells.
    """
    (x, y), (w, h) = corner, size
    rect = Rectangle((x + inset, y + inset), w - 2 * inset, h - 2 * inset, fill=False, edgecolor=color,
                     linewidth=linewidth, gid=gid)
    ax.add_patch(rect)
    return rect


def number_text(v: float) -> str:
    """A value as written in a cell: integers without a decimal point, others with 4 significant digits."""
    return f"{v:g}" if float(v).is_integer() else f"{v:.4g}"


def int_pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints as ``(rows, columns)``, each at least ``minimum``."""
    return check_int_tuple(value, name, 2, minimum=minimum)


def size_formula(n: int, k: int, s: int, p: int | tuple[int, int], out: int) -> str:
    """The output-size formula with numbers, as the lectures write it: ``(7 + 2·1 − 3)/2 + 1 = 4``, or
    ``(7 − 3)/2 + 1 = 3`` without padding; lopsided padding ``(before, after)`` reads ``(8 + 0 + 1 − 3)``."""
    before, after = (p, p) if isinstance(p, int) else p
    span = n + before + after - k
    exact = span % s == 0
    if before == after:
        body = f"({n} + 2·{before} − {k})/{s} + 1" if before else f"({n} − {k})/{s} + 1"
    else:
        body = f"({n} + {before} + {after} − {k})/{s} + 1"
    return f"{body} = {out}" if exact else f"⌊{body}⌋ = ⌊{span / s + 1:.3g}⌋ = {out}"


def window_position(position: Any, out_hw: tuple[int, int]) -> tuple[int, int]:
    """A window position as (row, col): an int counts row-major from 0, a pair is taken as it is."""
    count = out_hw[0] * out_hw[1]
    if isinstance(position, (tuple, list)):
        i, j = int_pair(position, "position", 0)
        if i >= out_hw[0] or j >= out_hw[1]:
            raise ValueError(f"position must lie inside the {out_hw[0]}x{out_hw[1]} output, got {(i, j)}")
        return i, j
    index = check_int(position, "position", minimum=0, maximum=count - 1)
    return divmod(index, out_hw[1])


def is_dark(rgba: Any) -> bool:
    """Whether a colour is dark enough that text on it should be white (perceived luminance below 0.5)."""
    r, g, b = rgba[:3]
    return 0.299 * r + 0.587 * g + 0.114 * b < 0.5
