"""Architecture diagrams drawn from built Keras models, so that a change in a model changes its picture.

Everything drawn is read from the model: the layers and their output shapes come from
:func:`course_lib.graph.layer_table`, the branches of a module from the functional graph (through
:mod:`course_lib.keras_adapter`, the kit's one door to Keras internals), and the descriptions ("3x3 conv,
64") from each layer's public attributes. Nothing is typed in by hand, so a diagram cannot disagree with the
network it shows.

Functions (each takes an optional ``ax`` and returns the Axes):

- :func:`draw_layer_stack`: one box per layer, its description and output shape; large networks
  (GoogLeNet, ResNet-50) collapse into their blocks or stages (:func:`architecture_boxes` gives the boxes);
- :func:`draw_towers`: AlexNet's grouped convolutions as parallel towers;
- :func:`draw_inception_module`: an Inception module's branches side by side, with their concatenation;
- :func:`draw_residual_block`: a basic or bottleneck block with its shortcut (identity or projection);
- :func:`draw_dense_block`: a DenseNet block, every layer connected to every later one by concatenation.

Boxes carry ``gid="layer-box"`` and their texts ``"layer-name"``, ``"layer-desc"`` and ``"layer-shape"``, so
that tests can read back what was drawn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from .. import graph, keras_adapter
from ..validation import check_choice, check_positive_int, check_str, type_error
from .cells import new_axes
from .colors import LAYER_COLORS, window_color

__all__ = [
    "COLLAPSE_MODES",
    "architecture_boxes",
    "draw_layer_stack",
    "draw_towers",
    "draw_inception_module",
    "draw_residual_block",
    "draw_dense_block",
    "shape_text",
    "describe_layer",
]

COLLAPSE_MODES = ("auto", "none", "blocks", "stages")

# Above this many layers, "auto" draws blocks; above it in blocks, stages.
_AUTO_LIMIT = 40

# Layers that only finish the work of the layer before them (normalise, activate, drop): in a collapsed
# diagram they join that layer's box.
_FOLD_AFTER = ("BatchNormalization", "Activation", "ReLU", "Dropout")
# Padding prepares the next layer's input: it joins the next box.
_FOLD_BEFORE = ("ZeroPadding2D", "ZeroPadding1D")

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


# --------------------------------------------------------------------------------------------------- reading
def shape_text(shape: Any) -> str:
    """An output shape without the batch axis as the lectures write it: ``(28, 28, 20)`` -> ``"28x28x20"``."""
    if isinstance(shape, list):
        return ", ".join(shape_text(s) for s in shape)
    return "x".join("?" if d is None else str(d) for d in shape) if len(shape) else "scalar"


def _pair_text(value: Any) -> str:
    value = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    return f"{value[0]}x{value[1]}" if len(value) == 2 else "x".join(map(str, value))


def _stride_text(value: Any) -> str:
    value = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return "" if all(v == 1 for v in value) else f"/{value[0] if len(set(value)) == 1 else _pair_text(value)}"


def describe_layer(layer: Any) -> str:
    """A short description of a Keras layer from its public attributes: ``"5x5 conv/1, 20"``, ``"2x2 max
    pool/2"``, ``"dense 500"``, ``"3x3 conv, 256 (2 groups)"``; the class name for anything else."""
    kind = type(layer).__name__
    if hasattr(layer, "kernel_size") and hasattr(layer, "filters"):
        text = f"{_pair_text(layer.kernel_size)} conv{_stride_text(layer.strides)}, {layer.filters}"
        groups = getattr(layer, "groups", 1)
        if groups and groups > 1:
            text += f" ({groups} groups)"
        if kind != "Conv2D":  # a special convolution (LeNet-5's connection table, a transposed conv...)
            text += f" ({kind})"
        return text
    if hasattr(layer, "pool_size"):
        what = "max pool" if "Max" in kind else "avg pool" if "Average" in kind else "subsampling"
        # LeNet-5's Subsampling2D has no strides attribute: its windows never overlap (stride = size).
        return (
            f"{_pair_text(layer.pool_size)} {what}{_stride_text(getattr(layer, 'strides', layer.pool_size))}"
        )
    if kind.startswith("Global"):
        return "global " + ("avg" if "Average" in kind else "max") + " pool"
    if kind == "Dense":
        activation = getattr(getattr(layer, "activation", None), "__name__", "")
        return f"dense {layer.units}" + (", softmax" if activation == "softmax" else "")
    if hasattr(layer, "units"):  # another layer with units (LeNet-5's EuclideanRBF output)
        return f"{kind}, {layer.units} units"
    if kind == "Dropout":
        return f"dropout {layer.rate:g}"
    if kind in ("ZeroPadding2D", "ZeroPadding1D"):
        return "zero padding"
    if kind == "BatchNormalization":
        return "batch norm"
    if kind in ("Activation", "ReLU"):
        fn = getattr(getattr(layer, "activation", None), "__name__", "relu")
        return fn if kind == "Activation" else "relu"
    if kind == "InputLayer":
        return "input"
    return kind


def _kind(type_name: str) -> str:
    if type_name == "InputLayer":
        return "input"
    if "Conv" in type_name:
        return "conv"
    if "Pool" in type_name or type_name == "Subsampling2D":
        return "pool"
    if type_name in ("Dense", "EuclideanRBF"):
        return "dense"
    if "Normalization" in type_name:
        return "norm"
    if type_name in ("Concatenate", "Add"):
        return "merge"
    return "other"


def _graph(model: Any) -> Any:
    import keras

    if not isinstance(model, keras.Model):
        raise type_error("model", "a keras.Model", model)
    built = keras_adapter.functional_graph(model)
    if built is None:
        raise ValueError(
            f"model {model.name!r} has no layer graph to draw (subclassed, or Sequential that was "
            "never built on an input shape)"
        )
    return built


def _find_layer(model: Any, name: str) -> Any:
    """A layer by name, following ``outer/inner`` names into nested models."""
    layer = model
    for part in name.split("/"):
        layer = layer.get_layer(part)
    return layer


class _Graph:
    """Who feeds whom among the operations of one functional graph (each layer's call in this graph)."""

    def __init__(self, model: Any):
        self.graph = _graph(model)
        self.node_ids = keras_adapter.graph_node_ids(self.graph)
        self.ops = list(self.graph.operations)

    def producers(self, op: Any) -> list[Any]:
        nodes = [nd for nd in keras_adapter.inbound_nodes(op) if id(nd) in self.node_ids]
        if not nodes:
            return []
        return [keras_adapter.producing_operation(t) for t in nodes[0].input_tensors]

    def consumers(self, op: Any) -> list[Any]:
        return [other for other in self.ops if any(p is op for p in self.producers(other))]

    def get(self, name: str) -> Any:
        for op in self.ops:
            if op.name == name:
                return op
        raise ValueError(f"no layer named {name!r} in the model")


def _output_shape(layer: Any) -> tuple:
    return tuple(layer.output.shape)[1:]


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
        if key is None and row["type"] in _FOLD_AFTER and groups and groups[-1][1][0]["type"] != "InputLayer":
            groups[-1][1].append(row)
            continue
        if key is None and row["type"] in _FOLD_BEFORE:
            pending.append(row)
            continue
        groups.append((key, pending + [row]))
        pending = []
    if pending:
        groups.append((None, pending))
    return groups


def _box_of(model: Any, key: str | None, group: list[dict]) -> dict:
    main = next((r for r in group if r["type"] not in _FOLD_AFTER + _FOLD_BEFORE), group[0])
    last = group[-1]
    names = [r["name"] for r in group]
    params = sum(r["params"] for r in group)
    real = [r for r in group if r["type"] not in _FOLD_AFTER + _FOLD_BEFORE]
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
        return {
            "name": key or main["name"],
            "label": f"{what}, {len(group)} layers",
            "shape": shape_text(last["output_shape"]),
            "kind": "block",
            "layers": names,
            "params": params,
        }
    try:
        desc = describe_layer(_find_layer(model, main["name"]))
    except ValueError:
        desc = main["type"]
    extras = [
        describe_layer(_find_layer(model, r["name"]))
        for r in group
        if r is not main and r["type"] in _FOLD_AFTER
    ]
    if extras:
        desc += " + " + ", ".join(dict.fromkeys(e.replace("batch norm", "BN") for e in extras))
    return {
        "name": key or main["name"],
        "label": desc,
        "shape": shape_text(last["output_shape"]),
        "kind": _kind(main["type"]),
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
    _graph(model)
    rows = graph.layer_table(model).rows
    if mode == "auto":
        mode = "none"
        if len(rows) > _AUTO_LIMIT:
            mode = "blocks" if len(_group_rows(rows, "blocks")) <= _AUTO_LIMIT else "stages"
    return [_box_of(model, key, group) for key, group in _group_rows(rows, mode)]


# --------------------------------------------------------------------------------------------------- drawing
def _draw_box(
    ax: Any,
    x: float,
    y: float,
    w: float,
    h: float,
    *,
    name: str,
    desc: str,
    shape: str,
    kind: str,
    fontsize: float = 8,
    layout: str = "row",
    edge: str = "0.25",
) -> FancyBboxPatch:
    """A rounded box with the layer's name, description and output shape (one row, or three stacked lines)."""
    box = FancyBboxPatch(
        (x, y),
        w,
        h,
        boxstyle="round,pad=0.02,rounding_size=0.08",
        facecolor=LAYER_COLORS.get(kind, LAYER_COLORS["other"]),
        edgecolor=edge,
        linewidth=1.0,
        gid="layer-box",
    )
    ax.add_patch(box)
    if layout == "row":
        cy = y + h / 2
        ax.text(
            x + 0.12, cy, name, ha="left", va="center", fontsize=fontsize, fontweight="bold", gid="layer-name"
        )
        ax.text(x + w * 0.36, cy, desc, ha="left", va="center", fontsize=fontsize, gid="layer-desc")
        ax.text(
            x + w - 0.12,
            cy,
            shape,
            ha="right",
            va="center",
            fontsize=fontsize,
            family="monospace",
            gid="layer-shape",
        )
    else:
        cx = x + w / 2
        ax.text(
            cx,
            y + h * 0.80,
            name,
            ha="center",
            va="center",
            fontsize=fontsize - 1,
            color="0.3",
            gid="layer-name",
        )
        ax.text(cx, y + h * 0.50, desc, ha="center", va="center", fontsize=fontsize, gid="layer-desc")
        ax.text(
            cx,
            y + h * 0.20,
            shape,
            ha="center",
            va="center",
            fontsize=fontsize,
            family="monospace",
            gid="layer-shape",
        )
    return box


def _input_box(ax: Any, layer: Any, desc: str, rect: tuple[float, float, float, float]) -> FancyBboxPatch:
    """The box of a module's input layer: its name, ``desc`` and its output shape, at ``(x, y, w, h)``."""
    x, y, w, h = rect
    shape = shape_text(_output_shape(layer))
    return _draw_box(ax, x, y, w, h, name=layer.name, desc=desc, shape=shape, kind="input", layout="stack")


def _arrow(
    ax: Any,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    rad: float = 0.0,
    color: str = "0.3",
    gid: str = "edge",
    style: str = "-|>",
    lw: float = 1.0,
) -> FancyArrowPatch:
    arrow = FancyArrowPatch(
        start,
        end,
        arrowstyle=style,
        mutation_scale=9,
        color=color,
        lw=lw,
        connectionstyle=f"arc3,rad={rad}",
        gid=gid,
        shrinkA=0,
        shrinkB=0,
    )
    ax.add_patch(arrow)
    return arrow


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
        _draw_box(ax, x, y, w, h, name=box["name"], desc=box["label"], shape=box["shape"], kind=box["kind"])
        if i + 1 < n:
            if (i + 1) % max_rows:
                _arrow(ax, (x + w / 2, y + h), (x + w / 2, y + step))
            else:  # continue at the top of the next column
                _arrow(ax, (x + w, y + h / 2), ((col + 1) * (w + col_gap), h / 2), rad=0.0)
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
        layer = _find_layer(model, box["name"])
        groups = getattr(layer, "groups", 1) or 1
        y = i * step
        if groups > 1 and hasattr(layer, "filters"):
            grouped.append(box["name"])
            tw = (w - gap * (groups - 1)) / groups
            out = _output_shape(layer)
            c_in = int(layer.input.shape[-1])
            for t in range(groups):
                patch = _draw_box(
                    ax,
                    t * (tw + gap),
                    y,
                    tw,
                    h,
                    name=f"{box['name']} · tower {t + 1}",
                    desc=f"{_pair_text(layer.kernel_size)} conv, {layer.filters // groups} "
                    f"(reads {c_in // groups})",
                    shape=shape_text(out[:-1] + (out[-1] // groups,)),
                    kind="conv",
                    edge=window_color(t),
                    fontsize=7,
                )
                patch.set_gid("tower-box")
                patch.set_linewidth(2.0)
        else:
            _draw_box(
                ax, 0, y, w, h, name=box["name"], desc=box["label"], shape=box["shape"], kind=box["kind"]
            )
        if i + 1 < len(boxes):
            _arrow(ax, (w / 2, y + h), (w / 2, y + step))
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


# ------------------------------------------------------------------------------------------------- modules
def _chain_back(g: _Graph, start: Any, inside: Any) -> tuple[list[Any], Any]:
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
        if kind in _FOLD_AFTER and groups:
            groups[-1].append(op)
        elif kind in _FOLD_BEFORE:
            pending.append(op)
        else:
            groups.append(pending + [op])
            pending = []
    if pending:
        groups.append(pending)
    return groups


def _group_desc(group: Sequence[Any]) -> tuple[str, str, str, str]:
    """(name, description, shape, kind) of a folded group of layers."""
    main = next((op for op in group if type(op).__name__ not in _FOLD_AFTER + _FOLD_BEFORE), group[0])
    desc = describe_layer(main)
    extras = [
        describe_layer(op).replace("batch norm", "BN")
        for op in group
        if op is not main and type(op).__name__ in _FOLD_AFTER
    ]
    if extras:
        desc += " + " + ", ".join(dict.fromkeys(extras))
    if any(type(op).__name__ in _FOLD_BEFORE for op in group):
        desc = "pad, " + desc
    return main.name, desc, shape_text(_output_shape(group[-1])), _kind(type(main).__name__)


def _group_box(
    ax: Any, group: Sequence[Any], rect: tuple[float, float, float, float], *, edge: str = "0.25"
) -> FancyBboxPatch:
    """The box of a folded group of layers (:func:`_group_desc`) at ``(x, y, w, h)``."""
    name, desc, shape, kind = _group_desc(group)
    x, y, w, h = rect
    return _draw_box(ax, x, y, w, h, name=name, desc=desc, shape=shape, kind=kind, layout="stack", edge=edge)


def _merge_layer(model: Any, g: _Graph, name: str, merge_type: str, what: str) -> Any:
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
    ...); batch norm and activation layers join the convolution before them (Inception-v3 modules).

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
    g = _Graph(model)
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
    _input_box(ax, source, "module input", (in_x, 0, bw, bh))
    top_y = (depth + 1) * rowh
    channels = []
    for b, branch in enumerate(branches):
        x = b * colw + (colw - bw) / 2
        prev = (width / 2, bh)
        offset = depth - len(branch)  # short branches sit at the top, so that no edge crosses a box
        for r, group in enumerate(branch):
            y = (r + 1 + offset) * rowh
            _group_box(ax, group, (x, y, bw, bh), edge=window_color(b))
            _arrow(ax, prev, (x + bw / 2, y), color=window_color(b))
            prev = (x + bw / 2, y + bh)
        _arrow(ax, prev, (width / 2, top_y), color=window_color(b))
        channels.append(int(_output_shape(branch[-1][-1])[-1]) if branch else int(_output_shape(source)[-1]))
    out = _output_shape(concat)
    cw = min(width - 0.4, 6.5)
    _draw_box(
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
    g = _Graph(model)
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
    _input_box(ax, source, "block input x", (0, 0, bw, bh))
    prev = (bw / 2, bh)
    for r, group in enumerate(residual):
        y = (r + 1) * rowh
        _group_box(ax, group, (0, y, bw, bh))
        _arrow(ax, prev, (bw / 2, y))
        prev = (bw / 2, y + bh)
    add_y = (depth + 1) * rowh + 0.45
    ax.add_patch(Circle((bw / 2, add_y), 0.32, facecolor=LAYER_COLORS["merge"], edgecolor="0.2", gid="add"))
    ax.text(bw / 2, add_y, "+", ha="center", va="center", fontsize=14, fontweight="bold")
    _arrow(ax, prev, (bw / 2, add_y - 0.32))
    ax.text(bw / 2 - 0.45, add_y - 0.5, "F(x)", ha="right", va="center", fontsize=9, style="italic")
    side_x = bw + 0.9
    if shortcut:
        sprev = (bw, bh / 2)
        for r, group in enumerate(shortcut):
            y = (depth / 2 + r) * rowh
            _group_box(ax, group, (side_x, y, bw, bh), edge="tab:red")
            _arrow(ax, sprev, (side_x + bw / 2, y), color="tab:red", gid="shortcut")
            sprev = (side_x + bw / 2, y + bh)
        _arrow(ax, sprev, (bw / 2 + 0.32, add_y), color="tab:red", gid="shortcut", rad=0.25)
        short_text = (
            "projection shortcut"
            if any("Conv" in type(op).__name__ for op in short_chain)
            else "zero-padding shortcut (no parameters)"
        )
    else:
        _arrow(ax, (bw, bh / 2), (bw / 2 + 0.32, add_y), color="tab:red", gid="shortcut", rad=0.55, lw=1.6)
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
        _arrow(ax, (bw / 2, add_y + 0.32), (bw / 2, top))
        _draw_box(
            ax,
            0,
            top,
            bw,
            bh,
            name=op.name,
            desc=describe_layer(op) + " of F(x) + x",
            shape=shape_text(_output_shape(op)),
            kind="other",
            layout="stack",
        )
        top += rowh
    out = _output_shape(after[-1] if after else add)
    ax.set_title(f"{prefix[:-1]}: {block_kind}, {short_text}; output {shape_text(out)}", fontsize=9)
    ax.set_aspect("equal")
    ax.set_xlim(-0.3, side_x + bw + 0.6)
    ax.set_ylim(-0.3, top + (0 if after else bh) + 0.2)
    ax.axis("off")
    return ax


def draw_dense_block(model: Any, name: str, *, ax: Any = None) -> Any:
    """Draw a DenseNet block: each layer reads the concatenation of the block input and all earlier layers.

    The block's ``Concatenate`` layers are those whose names start with ``name`` (keras.applications and
    notebook 13 name them ``conv2_block1_concat`` ...). Each concatenation joins the running stack of maps
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
    g = _Graph(model)
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
    _input_box(ax, block_input, "block input", (0, 0, bw, bh))
    for u, (chain, concat) in enumerate(units, start=1):
        x = u * colw
        convs = [op for op in chain if "Conv" in type(op).__name__]
        desc = " → ".join(f"{_pair_text(op.kernel_size)}·{op.filters}" for op in convs) or "layer"
        _draw_box(
            ax,
            x,
            0,
            bw,
            bh,
            name=f"layer {u}",
            desc=desc,
            shape=shape_text(_output_shape(chain[-1])),
            kind="conv",
            layout="stack",
        )
        ax.text(
            x + bw / 2,
            -0.35,
            f"concat → {int(_output_shape(concat)[-1])} ch",
            ha="center",
            va="top",
            fontsize=8,
            gid="concat-channels",
        )
        for s in range(u):
            start = (s * colw + bw * 0.65, bh)
            end = (x + bw * 0.35, bh)
            _arrow(ax, start, end, rad=-0.3, color=window_color(s), gid="dense-link", lw=0.9)
    ax.text(bw / 2, -0.35, f"{int(_output_shape(block_input)[-1])} ch", ha="center", va="top", fontsize=8)
    growth = int(_output_shape(units[0][0][-1])[-1]) if units else 0
    ax.set_title(
        f"Dense block {name}: {n} layers, growth rate {growth}: "
        f"{int(_output_shape(block_input)[-1])} → {int(_output_shape(units[-1][1])[-1])} channels",
        fontsize=10,
    )
    ax.set_xlim(-0.3, n * colw + bw + 0.3)
    ax.set_ylim(-1.0, bh + 0.3 * colw * n / 2 + 0.8)
    ax.axis("off")
    return ax
