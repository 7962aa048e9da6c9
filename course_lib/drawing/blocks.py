"""Diagrams of one building block of a built Keras model: an Inception module, a residual or a dense block.

The block is found in the model's functional graph from the merge layer that ends it (a ``Concatenate`` or
an ``Add``, by the kit's layer names) and walked back branch by branch (``layer_boxes.LayerGraph``); batch
norm and activations join the box of the layer before them, padding the box of the layer after. The boxes
are those of the whole-network diagrams (:mod:`~course_lib.drawing.layer_boxes`).

Functions (each takes an optional ``ax`` and returns the Axes):

- :func:`draw_inception_module`: an Inception module's branches side by side, with their concatenation;
- :func:`draw_residual_block`: a basic or bottleneck block with its shortcut (identity or projection);
- :func:`draw_dense_block`: a DenseNet block, every layer connected to every later one by concatenation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.patches import Circle, FancyBboxPatch

from ..validation import check_str
from .cells import new_axes
from .colors import LAYER_COLORS, window_color
from .layer_boxes import (
    FOLD_AFTER,
    FOLD_BEFORE,
    LayerGraph,
    arrow,
    describe_layer,
    draw_box,
    input_box,
    layer_kind,
    output_shape,
    pair_text,
    shape_text,
)

__all__ = ["draw_inception_module", "draw_residual_block", "draw_dense_block"]

_ALONG = [k / 64 for k in range(1, 64)]  # where an edge is tested for passing through a box


def _chain_back(g: LayerGraph, start: Any, inside: Any) -> tuple[list[Any], Any]:
    """Walk producers from ``start`` while ``inside(op)``; returns (ops in forward order, the op outside)."""
    chain = []
    op = start
    while inside(op):
        chain.insert(0, op)
        producers = g.producers(op)
        if len(producers) != 1:
            raise ValueError(f"layer {op.name!r} has {len(producers)} inputs; a branch must be a chain")
        op = producers[0]
    return chain, op


def _fold_chain(chain: Sequence[Any]) -> list[list[Any]]:
    """A branch's layers grouped into boxes: BN and activations join the layer before, padding the next."""
    groups: list[list[Any]] = []
    pending: list[Any] = []
    for op in chain:
        kind = type(op).__name__
        if kind in FOLD_AFTER and groups:
            groups[-1].append(op)
        elif kind in FOLD_BEFORE:
            pending.append(op)
        else:
            groups.append(pending + [op])
            pending = []
    if pending:
        groups.append(pending)
    return groups


def _group_desc(group: Sequence[Any]) -> tuple[str, str, str, str]:
    """(name, description, shape, kind) of a folded group of layers."""
    main = next((op for op in group if type(op).__name__ not in FOLD_AFTER + FOLD_BEFORE), group[0])
    desc = describe_layer(main)
    extras = [
        describe_layer(op).replace("batch norm", "BN")
        for op in group
        if op is not main and type(op).__name__ in FOLD_AFTER
    ]
    if extras:
        desc += " + " + ", ".join(dict.fromkeys(extras))
    if any(type(op).__name__ in FOLD_BEFORE for op in group):
        desc = "pad, " + desc
    return main.name, desc, shape_text(output_shape(group[-1])), layer_kind(type(main).__name__)


def _group_box(
    ax: Any, group: Sequence[Any], rect: tuple[float, float, float, float], *, edge: str = "0.25"
) -> FancyBboxPatch:
    """The box of a folded group of layers (:func:`_group_desc`) at ``(x, y, w, h)``."""
    name, desc, shape, kind = _group_desc(group)
    x, y, w, h = rect
    return draw_box(ax, x, y, w, h, name=name, desc=desc, shape=shape, kind=kind, layout="stack", edge=edge)


def _merge_layer(model: Any, g: LayerGraph, name: str, merge_type: str, what: str) -> Any:
    name = check_str(name, "name")
    merges = [op for op in g.ops if type(op).__name__ == merge_type]
    exact = [op for op in merges if op.name == name]
    candidates = exact or [op for op in merges if op.name.startswith(name)]
    if not candidates:
        listed = ", ".join(op.name for op in merges[:12]) or "none"
        raise ValueError(
            f"name must name {what} of model {model.name!r} (a {merge_type} layer, or a prefix of "
            f"one), got {name!r}; {merge_type} layers: {listed}"
        )
    return candidates[0]


def draw_inception_module(model: Any, name: str, *, ax: Any = None) -> Any:
    """Draw one Inception module of a model: its branches side by side between input and concatenation.

    The branches are found by walking the graph back from the ``Concatenate`` layer called ``name`` while
    layer names start with ``name + "_"`` (the kit's naming: ``inception3a_1x1``, ``inception3a_3x3_reduce``,
    ...); batch norm and activation layers join the convolution before them (Inception-v3 modules). A branch
    shorter than the others sits at the top of its column; where a straight edge from the input to it would
    pass through another branch's box, the edge leaves the input from its side and bends up into the column,
    so that the branch never seems to read that box.

    Args:
        model: a built ``keras.Model`` that contains the module (GoogLeNet, or a model around
            ``cl.models.inception_module``).
        name: the concatenation layer's name (``"inception3a"``).
        ax: the Axes to draw on.

    Returns:
        The Axes: one ``"layer-box"`` per folded layer of every branch, plus one for the module's input and
        one for the concatenation; branch edges carry ``gid="edge"``.

    Raises:
        TypeError: model is not a Keras model, name not a str.
        ValueError: no ``Concatenate`` layer called ``name`` (the message lists those there are).

    Reference: Szegedy et al., "Going Deeper with Convolutions", CVPR 2015, Figure 2(b).
    """
    g = LayerGraph(model)
    concat = _merge_layer(model, g, name, "Concatenate", "an Inception module")
    prefix = concat.name + "_"
    branches, sources = [], []
    for producer in g.producers(concat):
        chain, source = _chain_back(g, producer, lambda op: op.name.startswith(prefix))
        branches.append(_fold_chain(chain))
        sources.append(source)
    depth = max(len(b) for b in branches)
    n_br = len(branches)
    bw, bh, colw, rowh = 2.9, 1.05, 3.3, 1.55
    width = n_br * colw
    ax = new_axes(ax, (max(2.6 * n_br, 6.5), 1.25 * (depth + 2) + 0.8))
    source = sources[0]
    in_x = width / 2 - bw / 2
    input_box(ax, source, "module input", (in_x, 0, bw, bh))
    top_y = (depth + 1) * rowh

    # A short branch sits at the top of its column. Drawn straight from the input's top, its first edge can
    # pass behind the boxes of the branch beside it (GoogLeNet's 1x1 branch behind the 3x3 reduction). Such
    # an edge leaves the input's side instead, below every box, and bends up into its column; the farther the
    # column, the lower the edge leaves, so that these edges never cross.
    def column_x(b: int) -> float:
        return b * colw + (colw - bw) / 2

    def first_y(branch: Sequence[Any]) -> float:
        return (1 + depth - len(branch)) * rowh

    corners = [(column_x(b), first_y(br) + r * rowh) for b, br in enumerate(branches) for r in range(len(br))]

    def hides(start: tuple[float, float], end: tuple[float, float]) -> bool:
        """Whether a straight edge passes through a box (tested at points along it)."""
        points = [(start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])) for t in _ALONG]
        return any(x0 < px < x0 + bw and y0 < py < y0 + bh for px, py in points for x0, y0 in corners)

    from_side = {}
    for side in (-1, 1):
        bent = [
            b
            for b, branch in enumerate(branches)
            if branch
            and side * (column_x(b) + bw / 2 - width / 2) > bw / 2
            and hides((width / 2, bh), (column_x(b) + bw / 2, first_y(branch)))
        ]
        bent.sort(key=lambda b: abs(column_x(b) + bw / 2 - width / 2))
        for k, b in enumerate(bent):
            from_side[b] = (side, (width / 2 + side * bw / 2, bh / (2 * (k + 1))))
    channels = []
    for b, branch in enumerate(branches):
        x = column_x(b)
        prev = (width / 2, bh)
        offset = depth - len(branch)  # short branches sit at the top, so that no edge crosses a box
        for r, group in enumerate(branch):
            y = (r + 1 + offset) * rowh
            _group_box(ax, group, (x, y, bw, bh), edge=window_color(b))
            if r == 0 and b in from_side:
                side, start = from_side[b]
                bend = f"angle,angleA={0 if side > 0 else 180},angleB=-90,rad=0"
                arrow(ax, start, (x + bw / 2, y), color=window_color(b), connection=bend)
            else:
                arrow(ax, prev, (x + bw / 2, y), color=window_color(b))
            prev = (x + bw / 2, y + bh)
        arrow(ax, prev, (width / 2, top_y), color=window_color(b))
        channels.append(int(output_shape(branch[-1][-1])[-1]) if branch else int(output_shape(source)[-1]))
    out = output_shape(concat)
    cw = min(width - 0.4, 6.5)
    draw_box(
        ax,
        width / 2 - cw / 2,
        top_y,
        cw,
        bh,
        name=concat.name,
        desc="concatenate: " + " + ".join(map(str, channels)) + f" = {out[-1]} channels",
        shape=shape_text(out),
        kind="merge",
        layout="stack",
    )
    ax.set_title(f"Inception module {concat.name}: {n_br} branches, output {shape_text(out)}", fontsize=10)
    ax.set_xlim(-0.2, width + 0.2)
    ax.set_ylim(-0.3, top_y + bh + 0.3)
    ax.axis("off")
    return ax


def draw_residual_block(model: Any, name: str, *, ax: Any = None) -> Any:
    """Draw one residual block of a model: the residual path, the shortcut beside it, the addition, the ReLU.

    The block is found from its ``Add`` layer (``name + "_add"``, or the first ``Add`` whose name starts with
    ``name``); each of the addition's two inputs is walked back while layer names start with ``name + "_"``.
    The longer walk is the residual path F(x), drawn as a column of boxes (batch norm and ReLU joined to their
    convolution); the other is the shortcut: "identity" when it is empty, otherwise its layers (a 1x1
    projection with batch norm, or the zero-padding shortcut of option A) in a second column.

    Args:
        model: a built ``keras.Model`` (e.g. a ResNet from ``cl.models``, built under
            ``cl.models.architecture_only()``).
        name: the block's prefix, e.g. ``"conv2_block1"``.
        ax: the Axes to draw on.

    Returns:
        The Axes: ``"layer-box"`` boxes for the input, every residual-path group, every shortcut group and the
        output; the shortcut edge has ``gid="shortcut"``, the addition is a circle with ``gid="add"``.

    Raises:
        TypeError / ValueError: as :func:`draw_inception_module` (no ``Add`` layer called ``name`` or starting
            with it).

    Reference: He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition", CVPR 2016,
        Figures 2 and 5.
    """
    g = LayerGraph(model)
    name = check_str(name, "name")
    add = _merge_layer(
        model,
        g,
        name + "_add" if any(op.name == name + "_add" for op in g.ops) else name,
        "Add",
        "a residual block",
    )
    prefix = add.name[: -len("_add")] + "_" if add.name.endswith("_add") else name + "_"
    paths = []
    for producer in g.producers(add):
        chain, source = _chain_back(g, producer, lambda op: op.name.startswith(prefix))
        paths.append((chain, source))
    paths.sort(key=lambda p: -len(p[0]))
    (res_chain, source), (short_chain, _) = paths[0], paths[-1]
    residual, shortcut = _fold_chain(res_chain), _fold_chain(short_chain)
    n_conv = sum("Conv" in type(op).__name__ for op in res_chain)
    block_kind = {2: "basic block", 3: "bottleneck block"}.get(n_conv, f"{n_conv}-convolution block")
    after = [op for op in g.consumers(add) if op.name.startswith(prefix)]
    bw, bh, rowh = 3.4, 1.05, 1.5
    depth = len(residual)
    ax = new_axes(ax, (7.6, 1.2 * (depth + 3) + 0.6))
    input_box(ax, source, "block input x", (0, 0, bw, bh))
    prev = (bw / 2, bh)
    for r, group in enumerate(residual):
        y = (r + 1) * rowh
        _group_box(ax, group, (0, y, bw, bh))
        arrow(ax, prev, (bw / 2, y))
        prev = (bw / 2, y + bh)
    add_y = (depth + 1) * rowh + 0.45
    ax.add_patch(Circle((bw / 2, add_y), 0.32, facecolor=LAYER_COLORS["merge"], edgecolor="0.2", gid="add"))
    ax.text(bw / 2, add_y, "+", ha="center", va="center", fontsize=14, fontweight="bold")
    arrow(ax, prev, (bw / 2, add_y - 0.32))
    ax.text(bw / 2 - 0.45, add_y - 0.5, "F(x)", ha="right", va="center", fontsize=9, style="italic")
    side_x = bw + 0.9
    if shortcut:
        sprev = (bw, bh / 2)
        for r, group in enumerate(shortcut):
            y = (depth / 2 + r) * rowh
            _group_box(ax, group, (side_x, y, bw, bh), edge="tab:red")
            arrow(ax, sprev, (side_x + bw / 2, y), color="tab:red", gid="shortcut")
            sprev = (side_x + bw / 2, y + bh)
        arrow(ax, sprev, (bw / 2 + 0.32, add_y), color="tab:red", gid="shortcut", rad=0.25)
        short_text = (
            "projection shortcut"
            if any("Conv" in type(op).__name__ for op in short_chain)
            else "zero-padding shortcut (no parameters)"
        )
    else:
        arrow(ax, (bw, bh / 2), (bw / 2 + 0.32, add_y), color="tab:red", gid="shortcut", rad=0.55, lw=1.6)
        ax.text(
            side_x + 0.3,
            add_y / 2,
            "identity\nshortcut x",
            ha="left",
            va="center",
            fontsize=9,
            color="tab:red",
        )
        short_text = "identity shortcut"
    top = add_y + 0.5
    for op in after:
        arrow(ax, (bw / 2, add_y + 0.32), (bw / 2, top))
        draw_box(
            ax,
            0,
            top,
            bw,
            bh,
            name=op.name,
            desc=describe_layer(op) + " of F(x) + x",
            shape=shape_text(output_shape(op)),
            kind="other",
            layout="stack",
        )
        top += rowh
    out = output_shape(after[-1] if after else add)
    ax.set_title(f"{prefix[:-1]}: {block_kind}, {short_text}; output {shape_text(out)}", fontsize=9)
    ax.set_aspect("equal")
    ax.set_xlim(-0.3, side_x + bw + 0.6)
    ax.set_ylim(-0.3, top + (0 if after else bh) + 0.2)
    ax.axis("off")
    return ax


def draw_dense_block(model: Any, name: str, *, ax: Any = None) -> Any:
    """Draw a DenseNet block: each layer reads the concatenation of the block input and all earlier layers.

    The block's ``Concatenate`` layers are those whose names start with ``name`` (keras.applications and
    notebook 14 name them ``conv2_block1_concat`` ...). Each concatenation joins the running stack of maps
    with the few new maps of one layer (the growth rate), found by walking back from the concatenation to the
    stack. Each layer is a box (its convolutions listed); arcs above the boxes show that every layer receives
    the maps of every earlier one; under each box, the channel count of the stack after its concatenation.

    Args:
        model: a built ``keras.Model`` containing the block.
        name: the prefix of the block's concatenation layers, e.g. ``"conv2"``.
        ax: the Axes to draw on.

    Returns:
        The Axes: one ``"layer-box"`` for the input and one per layer; ``L(L+1)/2`` arcs with gid
        ``"dense-link"`` for ``L`` layers; channel counts as texts with gid ``"concat-channels"``.

    Raises:
        TypeError / ValueError: as :func:`draw_inception_module` (no ``Concatenate`` starting with ``name``).

    Reference: Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional Networks",
        CVPR 2017, Figure 1.
    """
    g = LayerGraph(model)
    name = check_str(name, "name")
    _merge_layer(model, g, name, "Concatenate", "a dense block")
    concats = [op for op in g.ops if type(op).__name__ == "Concatenate" and op.name.startswith(name)]
    units = []
    block_input = None
    for concat in concats:
        stack, new = g.producers(concat)[:2]
        if block_input is None:
            block_input = stack
        chain, _ = _chain_back(g, new, lambda op, stop=stack: op is not stop)
        units.append((chain, concat))
    n = len(units)
    bw, bh, colw = 2.5, 1.5, 3.0
    ax = new_axes(ax, (min(2.0 * (n + 1) + 1.0, 16.0), 2.2 + 0.3 * n))
    input_box(ax, block_input, "block input", (0, 0, bw, bh))
    for u, (chain, concat) in enumerate(units, start=1):
        x = u * colw
        convs = [op for op in chain if "Conv" in type(op).__name__]
        desc = " → ".join(f"{pair_text(op.kernel_size)}·{op.filters}" for op in convs) or "layer"
        draw_box(
            ax,
            x,
            0,
            bw,
            bh,
            name=f"layer {u}",
            desc=desc,
            shape=shape_text(output_shape(chain[-1])),
            kind="conv",
            layout="stack",
        )
        ax.text(
            x + bw / 2,
            -0.35,
            f"concat → {int(output_shape(concat)[-1])} ch",
            ha="center",
            va="top",
            fontsize=8,
            gid="concat-channels",
        )
        for s in range(u):
            start = (s * colw + bw * 0.65, bh)
            end = (x + bw * 0.35, bh)
            arrow(ax, start, end, rad=-0.3, color=window_color(s), gid="dense-link", lw=0.9)
    ax.text(bw / 2, -0.35, f"{int(output_shape(block_input)[-1])} ch", ha="center", va="top", fontsize=8)
    growth = int(output_shape(units[0][0][-1])[-1]) if units else 0
    ax.set_title(
        f"Dense block {name}: {n} layers, growth rate {growth}: "
        f"{int(output_shape(block_input)[-1])} → {int(output_shape(units[-1][1])[-1])} channels",
        fontsize=10,
    )
    ax.set_xlim(-0.3, n * colw + bw + 0.3)
    ax.set_ylim(-1.0, bh + 0.3 * colw * n / 2 + 0.8)
    ax.axis("off")
    return ax
