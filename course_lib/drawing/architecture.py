"""Diagrams of whole networks drawn from built Keras models, so that a change in a model changes its picture.

Everything drawn is read from the model: the layers and their output shapes come from
:func:`course_lib.graph.layer_table`, the descriptions ("3x3 conv, 64") from each layer's public attributes
(:mod:`~course_lib.drawing.layer_boxes`, which also draws the boxes). Nothing is typed in by hand, so a
diagram cannot disagree with the network it shows. One building block at a time (an Inception module, a
residual or dense block) is :mod:`~course_lib.drawing.blocks`' job.

Functions (each takes an optional ``ax`` and returns the Axes):

- :func:`draw_layer_stack`: one box per layer, its description and output shape; large networks
  (GoogLeNet, ResNet-50) collapse into their blocks or stages (:func:`architecture_boxes` gives the boxes);
- :func:`draw_towers`: AlexNet's grouped convolutions as parallel towers.
"""

from __future__ import annotations

import re
from typing import Any

from .. import graph
from ..validation import check_choice, check_positive_int
from .cells import new_axes
from .colors import window_color
from .layer_boxes import (
    FOLD_AFTER,
    FOLD_BEFORE,
    arrow,
    describe_layer,
    draw_box,
    find_layer,
    layer_kind,
    model_graph,
    output_shape,
    pair_text,
    shape_text,
)

__all__ = ["COLLAPSE_MODES", "architecture_boxes", "draw_layer_stack", "draw_towers"]

COLLAPSE_MODES = ("auto", "none", "blocks", "stages")

# Above this many layers, "auto" draws blocks; above it in blocks, stages.
_AUTO_LIMIT = 40

# Name patterns of the kit's (and keras.applications') blocks and stages; the first group names the box.
_STEM = r"^((?:conv|pool)\d+)_(?:pad|bn|relu|conv|pool)$"
_PATTERNS = {
    "blocks": (
        r"^(conv\d+_block\d+)(?:_|$)",
        r"^(inception\d+[a-z])(?:_|$)",
        r"^(aux\d+)(?:_|$)",
        r"^(block\d+)_",
        _STEM,
    ),
    "stages": (r"^(conv\d+)_block\d+", r"^(inception\d+)[a-z]", r"^(aux\d+)(?:_|$)", r"^(block\d+)_", _STEM),
}


# --------------------------------------------------------------------------------------------------- boxes
def _group_rows(rows: list[dict], mode: str) -> list[tuple[str | None, list[dict]]]:
    """Consecutive rows merged into boxes, each with its block/stage name (None for a plain layer): rows whose
    names match one block pattern go together, padding joins the next box, BN/activation/dropout the one
    before."""
    if mode == "none":
        return [(None, [row]) for row in rows]
    patterns = [re.compile(p) for p in _PATTERNS[mode]]

    def key_of(name: str) -> str | None:
        for pattern in patterns:
            match = pattern.match(name)
            if match:
                return match.group(1)
        return None

    groups: list[tuple[str | None, list[dict]]] = []
    pending: list[dict] = []
    for row in rows:
        key = key_of(row["name"])
        if key is not None and groups and groups[-1][0] == key:
            groups[-1][1].append(row)
            continue
        if key is None and row["type"] in FOLD_AFTER and groups and groups[-1][1][0]["type"] != "InputLayer":
            groups[-1][1].append(row)
            continue
        if key is None and row["type"] in FOLD_BEFORE:
            pending.append(row)
            continue
        groups.append((key, pending + [row]))
        pending = []
    if pending:
        groups.append((None, pending))
    return groups


def _box_of(model: Any, key: str | None, group: list[dict]) -> dict:
    main = next((r for r in group if r["type"] not in FOLD_AFTER + FOLD_BEFORE), group[0])
    last = group[-1]
    names = [r["name"] for r in group]
    params = sum(r["params"] for r in group)
    real = [r for r in group if r["type"] not in FOLD_AFTER + FOLD_BEFORE]
    if len(real) > 1:  # a block or a stage: several layers that do work
        types = [r["type"] for r in group]
        adds, concats = types.count("Add"), types.count("Concatenate")
        n_conv = sum("Conv" in t for t in types)
        if adds > 1:
            what = f"{adds} residual blocks"
        elif adds:
            # the kit's and keras.applications' names: the shortcut branch is "<block>_0_..."
            short = {t for r in group if "_0_" in r["name"] for t in [r["type"]]}
            what = "residual block, " + (
                "projection shortcut"
                if any("Conv" in t for t in short)
                else "zero-pad shortcut"
                if short
                else "identity shortcut"
            )
        elif concats:
            what = f"{concats} inception modules" if concats > 1 else "inception module"
        else:
            what = f"{n_conv} conv" if n_conv else "layers"
        # count what a paper counts, the weight layers, not Keras's BN, activation and merge layers
        size = f"{len(group)} layers" if not n_conv else f"{n_conv} conv"
        return {
            "name": key or main["name"],
            "label": what if what == size else f"{what}, {size}",
            "shape": shape_text(last["output_shape"]),
            "kind": "block",
            "layers": names,
            "params": params,
        }
    try:
        desc = describe_layer(find_layer(model, main["name"]))
    except ValueError:
        desc = main["type"]
    extras = [
        describe_layer(find_layer(model, r["name"]))
        for r in group
        if r is not main and r["type"] in FOLD_AFTER
    ]
    if extras:
        desc += " + " + ", ".join(dict.fromkeys(e.replace("batch norm", "BN") for e in extras))
    return {
        "name": key or main["name"],
        "label": desc,
        "shape": shape_text(last["output_shape"]),
        "kind": layer_kind(main["type"]),
        "layers": names,
        "params": params,
    }


def architecture_boxes(model: Any, *, collapse: str = "auto") -> list[dict]:
    """The boxes :func:`draw_layer_stack` draws, computed from the model's layer table.

    Args:
        model: a built functional or Sequential ``keras.Model``.
        collapse: ``"none"`` (one box per layer), ``"blocks"`` (a residual block, an Inception module, a VGG
            stage, an auxiliary head each become one box; batch norm, activation, dropout and padding layers
            join their neighbour), ``"stages"`` (ResNet's conv2_x..conv5_x and GoogLeNet's inception 3/4/5
            stages each one box) or ``"auto"`` (none up to 40 layers, else blocks, else stages).

    Returns:
        A list of dicts, first layer first: ``name``, ``label`` (what the box does), ``shape`` (output
        shape text, e.g. ``"28x28x20"``), ``kind`` (input, conv, pool, dense, norm, merge, block, other),
        ``layers`` (the layer names inside) and ``params``.

    Raises:
        TypeError: model is not a Keras model; collapse not a str.
        ValueError: an unknown collapse mode, or a model without a layer graph.
    """
    mode = check_choice(collapse, "collapse", COLLAPSE_MODES)
    model_graph(model)
    rows = graph.layer_table(model).rows
    if mode == "auto":
        mode = "none"
        if len(rows) > _AUTO_LIMIT:
            mode = "blocks" if len(_group_rows(rows, "blocks")) <= _AUTO_LIMIT else "stages"
    return [_box_of(model, key, group) for key, group in _group_rows(rows, mode)]


def draw_layer_stack(
    model: Any, *, collapse: str = "auto", max_rows: int = 24, title: str | None = None, ax: Any = None
) -> Any:
    """Draw a model as a stack of boxes, input at the top: each box names a layer (or block), says what it
    does and gives its output shape.

    Boxes are coloured by what they do (convolution, pooling, dense, normalisation, merge, block); a stack
    longer than ``max_rows`` continues in a further column to the right.

    Args:
        model: a built ``keras.Model`` (e.g. ``cl.models.lenet5("modern")``; build big ones inside
            ``cl.models.architecture_only()``, which allocates no weights).
        collapse: as :func:`architecture_boxes` (``"auto"``: one box per layer up to 40 layers).
        max_rows: boxes per column.
        title: the title (default: the model's name, its parameter count and how it was collapsed).
        ax: the Axes to draw on (default: a new figure sized to the stack).

    Returns:
        The Axes, with one ``"layer-box"`` per entry of :func:`architecture_boxes`.

    Raises:
        TypeError / ValueError: as :func:`architecture_boxes`; ``max_rows`` < 1.
    """
    max_rows = check_positive_int(max_rows, "max_rows")
    boxes = architecture_boxes(model, collapse=collapse)
    n = len(boxes)
    ncols = -(-n // max_rows)
    max_rows = rows = -(-n // ncols)  # balance the columns
    w, h, step, col_gap = 7.0, 0.72, 1.0, 1.0
    ax = new_axes(ax, (min(4.6 * ncols + 1.0, 16.0), 0.36 * rows + 1.2))
    for i, box in enumerate(boxes):
        col, r = divmod(i, max_rows)
        x, y = col * (w + col_gap), r * step
        draw_box(ax, x, y, w, h, name=box["name"], desc=box["label"], shape=box["shape"], kind=box["kind"])
        if i + 1 < n:
            if (i + 1) % max_rows:
                arrow(ax, (x + w / 2, y + h), (x + w / 2, y + step))
            else:  # continue at the top of the next column
                arrow(ax, (x + w, y + h / 2), ((col + 1) * (w + col_gap), h / 2), rad=0.0)
    params = model.count_params()
    how = "one box per layer" if all(len(b["layers"]) == 1 for b in boxes) else "collapsed into blocks"
    ax.set_title(title or f"{model.name}: {n} boxes ({how}), {params:,} parameters", fontsize=10)
    ax.set_xlim(-0.2, ncols * (w + col_gap) - col_gap + 0.2)
    ax.set_ylim(rows * step + 0.1, -0.4)
    ax.axis("off")
    return ax


def draw_towers(model: Any, *, title: str | None = None, ax: Any = None) -> Any:
    """Draw a network whose grouped convolutions are drawn as parallel towers (AlexNet's two GPUs).

    A ``Conv2D`` with ``groups=g > 1`` is drawn as ``g`` boxes side by side, each holding ``filters / g``
    kernels that read only ``C_in / g`` of the input maps and write ``filters / g`` maps; every other layer
    reads all maps and spans the full width. This is how ``cl.models.alexnet(groups=2)`` represents the
    paper's two-GPU split (conv2, conv4 and conv5 grouped; conv3 and the dense layers reading both towers).

    Args:
        model: a built ``keras.Model``.
        title: the title (default: the model's name and its grouped layers).
        ax: the Axes to draw on.

    Returns:
        The Axes: one ``"layer-box"`` per layer, except grouped convolutions, which have ``g`` boxes with gid
        ``"tower-box"`` each.

    Raises:
        TypeError / ValueError: as :func:`architecture_boxes`.

    Reference: Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional Neural
        Networks", NIPS 2012, Figure 2.
    """
    boxes = architecture_boxes(model, collapse="none")
    w, h, step, gap = 8.0, 0.72, 1.0, 0.3
    ax = new_axes(ax, (8.0, 0.36 * len(boxes) + 1.3))
    grouped = []
    for i, box in enumerate(boxes):
        layer = find_layer(model, box["name"])
        groups = getattr(layer, "groups", 1) or 1
        y = i * step
        if groups > 1 and hasattr(layer, "filters"):
            grouped.append(box["name"])
            tw = (w - gap * (groups - 1)) / groups
            out = output_shape(layer)
            c_in = int(layer.input.shape[-1])
            for t in range(groups):
                patch = draw_box(
                    ax,
                    t * (tw + gap),
                    y,
                    tw,
                    h,
                    name=f"{box['name']} · tower {t + 1}",
                    desc=f"{pair_text(layer.kernel_size)} conv, {layer.filters // groups} "
                    f"(reads {c_in // groups})",
                    shape=shape_text(out[:-1] + (out[-1] // groups,)),
                    kind="conv",
                    edge=window_color(t),
                    fontsize=7,
                )
                patch.set_gid("tower-box")
                patch.set_linewidth(2.0)
        else:
            draw_box(
                ax, 0, y, w, h, name=box["name"], desc=box["label"], shape=box["shape"], kind=box["kind"]
            )
        if i + 1 < len(boxes):
            arrow(ax, (w / 2, y + h), (w / 2, y + step))
    ax.set_title(
        title
        or (
            f"{model.name}: grouped convolutions ({', '.join(grouped) or 'none'}) drawn as "
            "towers; full-width layers read every map"
        ),
        fontsize=10,
    )
    ax.set_xlim(-0.2, w + 0.2)
    ax.set_ylim(len(boxes) * step + 0.1, -0.4)
    ax.axis("off")
    return ax
