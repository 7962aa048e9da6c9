"""What the architecture diagrams share: reading a built Keras model, and drawing its layers as boxes.

Reading: :func:`describe_layer` ("5x5 conv/1, 20") and :func:`shape_text` ("28x28x20") from each layer's
public attributes, :class:`LayerGraph` (who feeds whom, through :mod:`course_lib.keras_adapter`, the kit's
one door to Keras internals), and the layer types that a diagram folds into their neighbour's box
(``FOLD_AFTER``, ``FOLD_BEFORE``). Drawing: :func:`draw_box` (a layer's name, description and output shape in
a rounded box coloured by what the layer does), :func:`input_box` and :func:`arrow`.

:mod:`~course_lib.drawing.architecture` (whole networks) and :mod:`~course_lib.drawing.blocks` (one
Inception module, residual or dense block) draw with these. Boxes carry ``gid="layer-box"`` and their texts
``"layer-name"``, ``"layer-desc"`` and ``"layer-shape"``, so that tests can read back what was drawn.
"""

from __future__ import annotations

from typing import Any

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .. import keras_adapter
from ..validation import type_error
from .colors import LAYER_COLORS

__all__ = [
    "FOLD_AFTER",
    "FOLD_BEFORE",
    "shape_text",
    "pair_text",
    "describe_layer",
    "layer_kind",
    "model_graph",
    "find_layer",
    "LayerGraph",
    "output_shape",
    "draw_box",
    "input_box",
    "arrow",
]

# Layers that only finish the work of the layer before them (normalise, activate, drop): in a collapsed
# diagram they join that layer's box.
FOLD_AFTER = ("BatchNormalization", "Activation", "ReLU", "Dropout")
# Padding prepares the next layer's input: it joins the next box.
FOLD_BEFORE = ("ZeroPadding2D", "ZeroPadding1D")


# --------------------------------------------------------------------------------------------------- reading
def shape_text(shape: Any) -> str:
    """An output shape without the batch axis as the lectures write it: ``(28, 28, 20)`` -> ``"28x28x20"``."""
    if isinstance(shape, list):
        return ", ".join(shape_text(s) for s in shape)
    return "x".join("?" if d is None else str(d) for d in shape) if len(shape) else "scalar"


def pair_text(value: Any) -> str:
    """A kernel, pool or stride size as the lectures write it: ``3`` or ``(3, 3)`` -> ``"3x3"``."""
    value = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    return f"{value[0]}x{value[1]}" if len(value) == 2 else "x".join(map(str, value))


def _stride_text(value: Any) -> str:
    value = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    return "" if all(v == 1 for v in value) else f"/{value[0] if len(set(value)) == 1 else pair_text(value)}"


def describe_layer(layer: Any) -> str:
    """A short description of a Keras layer from its public attributes: ``"5x5 conv/1, 20"``, ``"2x2 max
    pool/2"``, ``"dense 500"``, ``"3x3 conv, 256 (2 groups)"``; the class name for anything else."""
    kind = type(layer).__name__
    if hasattr(layer, "kernel_size") and hasattr(layer, "filters"):
        text = f"{pair_text(layer.kernel_size)} conv{_stride_text(layer.strides)}, {layer.filters}"
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
            f"{pair_text(layer.pool_size)} {what}{_stride_text(getattr(layer, 'strides', layer.pool_size))}"
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


def layer_kind(type_name: str) -> str:
    """What a layer class does, the key of its box colour in ``LAYER_COLORS``: input, conv, pool, dense, norm,
    merge or other."""
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


def model_graph(model: Any) -> Any:
    """The functional graph of ``model`` (see ``keras_adapter.functional_graph``), or a TypeError /
    ValueError saying why there is none to draw."""
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


def find_layer(model: Any, name: str) -> Any:
    """A layer by name, following ``outer/inner`` names into nested models."""
    layer = model
    for part in name.split("/"):
        layer = layer.get_layer(part)
    return layer


class LayerGraph:
    """Who feeds whom among the operations of one functional graph (each layer's call in this graph)."""

    def __init__(self, model: Any):
        self.graph = model_graph(model)
        self.node_ids = keras_adapter.graph_node_ids(self.graph)
        self.ops = list(self.graph.operations)

    def producers(self, op: Any) -> list[Any]:
        nodes = [nd for nd in keras_adapter.inbound_nodes(op) if id(nd) in self.node_ids]
        if not nodes:
            return []
        return [keras_adapter.producing_operation(t) for t in nodes[0].input_tensors]

    def consumers(self, op: Any) -> list[Any]:
        return [other for other in self.ops if any(p is op for p in self.producers(other))]


def output_shape(layer: Any) -> tuple:
    """A layer's output shape without the batch axis."""
    return tuple(layer.output.shape)[1:]


# --------------------------------------------------------------------------------------------------- drawing
def draw_box(
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
            color="0.1",  # dark enough to read on every box colour when projected
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


def input_box(ax: Any, layer: Any, desc: str, rect: tuple[float, float, float, float]) -> FancyBboxPatch:
    """The box of a module's input layer: its name, ``desc`` and its output shape, at ``(x, y, w, h)``."""
    x, y, w, h = rect
    shape = shape_text(output_shape(layer))
    return draw_box(ax, x, y, w, h, name=layer.name, desc=desc, shape=shape, kind="input", layout="stack")


def arrow(
    ax: Any,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    rad: float = 0.0,
    color: str = "0.3",
    gid: str = "edge",
    style: str = "-|>",
    lw: float = 1.0,
    connection: str | None = None,
) -> FancyArrowPatch:
    """An edge of a diagram from ``start`` to ``end`` (curved by ``rad``), tagged ``gid`` for the tests.

    ``connection`` replaces the curve by another Matplotlib connection style (``"angle,angleA=0,angleB=-90"``
    for an edge with one right-angled bend).
    """
    patch = FancyArrowPatch(
        start,
        end,
        arrowstyle=style,
        mutation_scale=9,
        color=color,
        lw=lw,
        connectionstyle=connection or f"arc3,rad={rad}",
        gid=gid,
        shrinkA=0,
        shrinkB=0,
    )
    ax.add_patch(patch)
    return patch
