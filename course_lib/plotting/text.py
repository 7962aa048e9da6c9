"""Text size of finished figures: raise whatever is written too small to read when projected.

The drawing and plotting functions keep their small default sizes, which fit a figure read on a laptop screen;
a notebook that shows a figure to a room raises every text in it to a floor with :func:`set_min_fontsize`,
after the figure is drawn, instead of each function growing its own size keyword.
"""

from __future__ import annotations

from typing import Any

from matplotlib.artist import Artist
from matplotlib.figure import Figure, SubFigure
from matplotlib.text import Text

from ..validation import check_float

__all__ = ["set_min_fontsize"]


def set_min_fontsize(fig: Any, minimum: float = 10) -> Figure:
    """Raise every non-empty text of a figure (titles, labels, ticks, legends, annotations) to ``minimum``.

    Texts already at or above ``minimum`` points keep their size; nothing is moved, so a box drawn around a
    label does not grow with it: check the figure, and give it more room (``figsize``) where a label
    overflows.

    Args:
        fig: a Matplotlib ``Figure``, ``SubFigure`` or ``Axes`` (its figure is used).
        minimum: the smallest size, in points, left in the figure.

    Returns:
        The top-level Figure.

    Raises:
        TypeError: fig is none of those; minimum not a number.
        ValueError: minimum <= 0.
    """
    minimum = check_float(minimum, "minimum", minimum=0, include_minimum=False)
    if isinstance(fig, (Figure, SubFigure)):
        root = fig
    elif isinstance(fig, Artist) and getattr(fig, "figure", None) is not None:
        root = fig.figure
    else:
        raise TypeError(f"fig must be a Matplotlib Figure, SubFigure or Axes, got {type(fig).__name__}")
    while isinstance(root, SubFigure):
        root = root.figure
    for text in root.findobj(Text):
        if text.get_text() and text.get_fontsize() < minimum:
            text.set_fontsize(minimum)
    return root
