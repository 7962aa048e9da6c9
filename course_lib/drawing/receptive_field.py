"""Receptive fields: the input pixels that one unit of a layer stack depends on, drawn layer by layer.

Reference: Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks",
Distill 2019.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.patches import Polygon, Rectangle

from .. import shapes
from ..validation import check_float, check_int, check_positive_int
from .cells import frame, new_axes
from .colors import window_color

__all__ = ["draw_receptive_field"]


def _layer_kind(k: int, s: int, kinds: Sequence[str] | None, index: int) -> str:
    if kinds is not None:
        return str(kinds[index])
    return f"layer {index + 1}"


def draw_receptive_field(
    layers: Any,
    *,
    kinds: Sequence[str] | None = None,
    margin: int | None = None,
    top_units: int | None = None,
    max_pixels: int = 400,
    fontsize: float | None = None,
    ax: Any = None,
) -> Any:
    """Draw a 1-D cross-section of a layer stack and the input pixels one top unit depends on, layer by layer.

    The input is the bottom row; each row above is a layer's output ("valid" windows). Units are placed over
    the centre of their window, so a layer after a stride-``s`` step has units ``jump`` pixels apart. The top
    unit and every unit it depends on are coloured, and the coloured band widens downwards: the number of
    coloured input pixels is the receptive field, ``r_l = r_{l-1} + (k_l - 1) * jump_{l-1}``
    (:func:`course_lib.shapes.receptive_field_steps`), written at the right of each row.

    Args:
        layers: ``(kernel, stride)`` pairs, first layer first (ints; pooling layers count like convolutions;
            dilated layers are refused).
        kinds: optional names of the layers for the labels ("conv 3x3", "pool 2x2"), one per layer.
        margin: input pixels drawn on each side of the receptive field (default: the top layer's jump, at
            least 1).
        top_units: instead of ``margin``, how many units the top row has (the middle one, or the left one of
            the two middle ones, is traced); the input gets ``top_units - 1`` jumps more than the field.
        max_pixels: the widest input row drawn, in pixels.
        fontsize: points for the row labels (the title one point more); default 8 (title 10), which fits the
            lecture controls' panels. Give 11 or more for a figure that is projected.
        ax: the Axes to draw on (default: a new figure).

    Returns:
        The Axes. Units have gids ``"layer{l}-unit"`` (l = 0 for the input), and the coloured ones
        ``"layer{l}-unit-rf"``.

    Raises:
        TypeError / ValueError: malformed pairs (as ``shapes.receptive_field_steps``), a dilation other than
            1, a ``kinds`` of the wrong length, a negative margin, both ``margin`` and ``top_units``, an
            input row wider than ``max_pixels``, or a non-positive ``fontsize``.

    Reference: Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks",
        Distill 2019.
    """
    steps = shapes.receptive_field_steps(layers)
    if not steps:
        raise ValueError("layers must hold at least one (kernel, stride) pair")
    if any(isinstance(st["kernel"], tuple) for st in steps):
        raise ValueError("draw_receptive_field draws a 1-D cross-section: give int kernels and strides")
    dilated = [i for i, st in enumerate(steps) if st["dilation"] != 1]
    if dilated:
        # The drawing colours contiguous runs of units; a dilated layer reads units with gaps between them.
        raise ValueError(f"draw_receptive_field draws windows without gaps, but layers[{dilated[0]}] has "
                         f"dilation {steps[dilated[0]]['dilation']} (draw_dilated_kernel draws a dilated "
                         f"kernel's taps)")
    if kinds is not None and len(kinds) != len(steps):
        raise ValueError(f"kinds must have one entry per layer ({len(steps)}), got {len(kinds)}")
    rf, top_jump = steps[-1]["rf"], steps[-1]["jump"]
    label_size = 8.0
    if fontsize is not None:
        label_size = check_float(fontsize, "fontsize", minimum=0, include_minimum=False)
    max_pixels = check_positive_int(max_pixels, "max_pixels")
    if top_units is not None:
        if margin is not None:
            raise ValueError("give margin or top_units, not both")
        units = check_int(top_units, "top_units", minimum=1)
        # the u-th top unit reads input pixels (u - 1) * jump to (u - 1) * jump + rf - 1
        left, right = (units - 1) // 2 * top_jump, units // 2 * top_jump
    else:
        left = right = max(top_jump, 1) if margin is None else check_int(margin, "margin", minimum=0)
    n_in = rf + left + right
    if n_in > max_pixels:
        raise ValueError(f"the drawing would be {n_in} input pixels wide (receptive field {rf}), more than "
                         f"max_pixels={max_pixels}")
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
    ax = new_axes(ax, (fig_w, min(fig_w * data_h / data_w + 0.9, 9.0)))
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
        ax.text(n_in + 1.0, y + size / 2, label, ha="left", va="center", fontsize=label_size)
    title = f"Receptive field after {n_layers} layer{'s' if n_layers > 1 else ''}: {rf} input pixels"
    frame(ax, title, (-0.5, n_in + 9.5), (n_layers * row_gap + 1.3, -0.5))
    if fontsize is not None:
        ax.title.set_fontsize(label_size + 1)
    return ax
