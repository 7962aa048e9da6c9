"""Walking a built Keras model's layer graph: the per-layer table of shapes, parameters and multiply-adds.

``shapes`` holds the arithmetic of one layer (plain integers, no TensorFlow); this module applies it to a
whole Keras model, layer by layer, following the functional graph (nested models, shared layers, several
inputs and outputs). The graph internals it reads come from :mod:`course_lib.keras_adapter`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from . import keras_adapter, validation

__all__ = ["LayerTable", "layer_table"]

_COLUMNS = ("name", "type", "output_shape", "params", "macs", "activations")


class LayerTable:
    """Rows of :func:`layer_table`, with totals and a plain-text (and HTML) rendering.

    Attributes:
        rows: a list of dicts with keys ``name`` (nested models give ``outer/inner``), ``type`` (class name),
            ``output_shape`` (tuple without the batch axis; a list of tuples for several outputs), ``params``,
            ``macs`` (None when a spatial size is unknown), ``activations`` (values output per example, summed
            over the calls of a shared layer) and ``calls`` (how many times the layer runs in the model).
    """

    def __init__(self, rows: list[dict[str, Any]], title: str = ""):
        self.rows = rows
        self.title = title

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, key: int | str) -> dict[str, Any]:
        """A row by position, or by layer name (``table["block1_conv1"]``)."""
        if isinstance(key, str):
            for row in self.rows:
                if row["name"] == key:
                    return row
            raise KeyError(f"no layer named {key!r}; names: {[r['name'] for r in self.rows]}")
        return self.rows[key]

    def totals(self) -> dict[str, int | None]:
        """Sums of ``params``, ``macs`` and ``activations`` (``macs`` is None if one row's is unknown)."""
        macs = [r["macs"] for r in self.rows]
        return {
            "params": sum(r["params"] for r in self.rows),
            "macs": None if any(m is None for m in macs) else sum(macs),
            "activations": sum(r["activations"] or 0 for r in self.rows),
        }

    @staticmethod
    def _shape_text(shape: Any) -> str:
        if isinstance(shape, list):
            return ", ".join(LayerTable._shape_text(s) for s in shape)
        return "x".join("?" if d is None else str(d) for d in shape) if shape else "scalar"

    @staticmethod
    def _num(value: Any) -> str:
        return "?" if value is None else f"{value:,}"

    def _cells(self) -> tuple[list[str], list[list[str]], list[str]]:
        header = ["layer", "type", "output", "params", "MACs", "activations"]
        body = [
            [
                r["name"] + (f" (x{r['calls']})" if r.get("calls", 1) > 1 else ""),
                r["type"], self._shape_text(r["output_shape"]),
                self._num(r["params"]), self._num(r["macs"]), self._num(r["activations"]),
            ]
            for r in self.rows
        ]
        t = self.totals()
        footer = ["total", "", "", self._num(t["params"]), self._num(t["macs"]), self._num(t["activations"])]
        return header, body, footer

    def to_text(self) -> str:
        """The table as aligned plain text: names left-aligned, numbers right-aligned, a totals line last."""
        header, body, footer = self._cells()
        grid = [header, *body, footer]
        widths = [max(len(row[c]) for row in grid) for c in range(len(header))]

        def line(cells: list[str]) -> str:
            parts = [
                cell.ljust(w) if c < 3 else cell.rjust(w) for c, (cell, w) in enumerate(zip(cells, widths))
            ]
            return "  ".join(parts).rstrip()

        rule = "-" * len(line(header))
        out = [self.title] if self.title else []
        out += [line(header), rule, *(line(r) for r in body), rule, line(footer)]
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        t = self.totals()
        return f"LayerTable({len(self.rows)} rows, params={t['params']:,}, macs={self._num(t['macs'])})"

    def _repr_html_(self) -> str:
        import html

        header, body, footer = self._cells()

        def tr(cells: list[str], tag: str) -> str:
            tds = "".join(
                f'<{tag} style="text-align:{"left" if c < 3 else "right"}">{html.escape(cell)}</{tag}>'
                for c, cell in enumerate(cells)
            )
            return f"<tr>{tds}</tr>"

        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        rows = "".join(tr(r, "td") for r in body)
        return (
            f"<table>{caption}<thead>{tr(header, 'th')}</thead><tbody>{rows}</tbody>"
            f"<tfoot>{tr(footer, 'th')}</tfoot></table>"
        )


def _shape_of(tensor: Any) -> tuple[Any, ...]:
    # Keras tensors carry the batch axis first; the table is per example.
    return tuple(tensor.shape)[1:]


def _numel(shape: Sequence[Any]) -> int | None:
    if any(d is None for d in shape):
        return None
    return math.prod(shape)


def _flatten(outputs: Any) -> list[Any]:
    if isinstance(outputs, (list, tuple)):
        return [t for o in outputs for t in _flatten(o)]
    if isinstance(outputs, dict):
        return [t for o in outputs.values() for t in _flatten(o)]
    return [outputs]


def _layer_macs(layer: Any, in_shapes: list[tuple], out_shapes: list[tuple]) -> int | None:
    """Multiply-adds of one call of ``layer`` from per-example input and output shapes (no bias adds)."""
    import keras

    L = keras.layers
    custom = getattr(layer, "macs_per_example", None)
    if callable(custom):  # a custom layer that knows its own cost (e.g. LeNet-5's partially connected C3)
        return custom(in_shapes, out_shapes)
    out = out_shapes[0] if out_shapes else ()
    out_numel = _numel(out)
    depthwise = tuple(getattr(L, n) for n in ("DepthwiseConv1D", "DepthwiseConv2D") if hasattr(L, n))
    separable = tuple(getattr(L, n) for n in ("SeparableConv1D", "SeparableConv2D") if hasattr(L, n))
    transpose = tuple(getattr(L, n) for n in ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
                      if hasattr(L, n))
    if isinstance(layer, separable):
        kernel = tuple(layer.depthwise_kernel.shape)  # (*k, C_in, depth_multiplier)
        filters = int(layer.pointwise_kernel.shape[-1])
        if out_numel is None:
            return None
        positions = out_numel // filters
        mid = kernel[-2] * kernel[-1]  # channels after the depthwise step
        return positions * (math.prod(kernel[:-2]) * mid + mid * filters)
    if isinstance(layer, depthwise):
        kernel = tuple(layer.kernel.shape)  # (*k, C_in, depth_multiplier): each output sees one channel
        return None if out_numel is None else out_numel * math.prod(kernel[:-2])
    if isinstance(layer, transpose):
        # every input value is multiplied by every weight of its channel's slice: (*k, filters, C_in)
        in_numel = _numel(in_shapes[0]) if in_shapes else None
        kernel = tuple(layer.kernel.shape)
        return None if in_numel is None else in_numel * math.prod(kernel[:-1])
    if isinstance(layer, (L.Conv1D, L.Conv2D, L.Conv3D)):
        kernel = tuple(layer.kernel.shape)  # (*k, C_in / groups, filters)
        return None if out_numel is None else out_numel * math.prod(kernel[:-1])
    if isinstance(layer, L.Dense):
        # Dense acts on the last axis, once per position of the leading axes.
        return None if out_numel is None else out_numel * int(layer.kernel.shape[0])
    return 0


def _own_params(op: Any) -> int:
    try:
        return int(op.count_params())
    except (ValueError, AttributeError):  # an unbuilt layer or a bare operation (x + y) has no weights
        return 0


def _rows_of_graph(model: Any, prefix: str, multiplier: int, seen: set[int], top: bool) -> list[dict]:
    import keras

    graph = keras_adapter.functional_graph(model)
    if graph is None:
        raise ValueError(
            f"layer_table needs a functional or Sequential model that has been built on an input shape; "
            f"{type(model).__name__} {model.name!r} has no layer graph (subclassed, or Sequential without "
            f"Input/build)"
        )
    graph_nodes = keras_adapter.graph_node_ids(graph)
    rows: list[dict] = []
    for op in graph.operations:
        nodes = [nd for nd in keras_adapter.inbound_nodes(op) if id(nd) in graph_nodes]
        calls = max(len(nodes), 1) * multiplier
        name = prefix + op.name
        if isinstance(op, keras.layers.InputLayer):
            if top:
                shape = _shape_of(op.output)
                rows.append({"name": name, "type": "InputLayer", "output_shape": shape, "params": 0,
                             "macs": 0, "activations": _numel(shape), "calls": 1})
            continue
        if isinstance(op, keras.Model):
            if id(op) in seen:  # a sub-model reused under another name: its weights are already counted
                continue
            seen.add(id(op))
            rows.extend(_rows_of_graph(op, name + "/", calls, seen, top=False))
            continue
        first_params = 0 if id(op) in seen else _own_params(op)
        seen.add(id(op))
        macs: int | None = 0
        acts: int | None = 0
        out_shape: Any = None
        for nd in nodes or [None]:
            if nd is None:  # no node in this graph: fall back to the first call
                outs = _flatten(op.output)
                ins = _flatten(op.input) if hasattr(op, "input") else []
            else:
                outs = [t for t in nd.output_tensors]
                ins = [t for t in nd.input_tensors]
            out_shapes = [_shape_of(t) for t in outs]
            in_shapes = [_shape_of(t) for t in ins]
            if out_shape is None:
                out_shape = out_shapes[0] if len(out_shapes) == 1 else out_shapes
            m = _layer_macs(op, in_shapes, out_shapes)
            macs = None if (macs is None or m is None) else macs + m * multiplier
            n = [_numel(s) for s in out_shapes]
            acts = None if (acts is None or any(v is None for v in n)) else acts + sum(n) * multiplier
        rows.append({"name": name, "type": type(op).__name__, "output_shape": out_shape,
                     "params": first_params, "macs": macs, "activations": acts, "calls": calls})
    return rows


def layer_table(model: Any) -> LayerTable:
    """Per-layer output shape, parameters, multiply-adds and activation count of a built Keras model.

    Nested models are expanded (their layers appear as ``outer/inner``); layers with several inputs or outputs
    and models with several inputs/outputs (GoogLeNet with auxiliary heads, say) are handled. A layer used
    several times (shared weights) is listed once: its parameters count once and its MACs and activations
    are summed over the calls, which the ``calls`` field records. Inputs get a row of their own (0
    parameters, their values as activations) so that the activation total includes the image, as memory
    tallies in the lectures do.

    MACs are counted for Conv1D/2D/3D (groups included), their Transpose versions, DepthwiseConv1D/2D,
    SeparableConv1D/2D and Dense; every other layer (pooling, normalisation, activations, merges) counts 0.
    Bias additions are not counted.

    Args:
        model: a functional or Sequential ``keras.Model`` whose input shape is known (built).

    Returns:
        A :class:`LayerTable`: ``.rows`` (list of dicts), ``.totals()``, ``str(table)``/``to_text()`` for an
        aligned plain-text table, and an HTML rendering in notebooks. ``totals()["params"]`` equals
        ``model.count_params()``.

    Raises:
        TypeError: ``model`` is not a Keras model.
        ValueError: the model has no layer graph (not built, or subclassed).
    """
    import keras

    if not isinstance(model, keras.Model):
        raise validation.type_error("model", "a keras.Model", model)
    rows = _rows_of_graph(model, "", 1, set(), top=True)
    return LayerTable(rows, title=f"Model: {model.name}")
