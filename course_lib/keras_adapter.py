"""The only place the kit touches Keras internals (attributes and modules that are not public API).

Keras 3 exposes no public way to walk a functional model's graph node by node, to find which operation
produced a symbolic tensor, or to drop the variables a ``StatelessScope`` left waiting for values. The kit
needs all three (``graph.layer_table``, the receptive fields and logits of ``visualize``,
``models.architecture_only``), so they are wrapped here, each in a few lines, and
``tests/test_keras_adapter.py`` checks every one of them against a small model: when a Keras release renames
an internal, that test fails with the name of what moved, instead of a notebook failing somewhere far away.

Nothing else in ``course_lib`` may use ``keras.src`` or a private (underscore) attribute of a Keras object.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "functional_graph",
    "graph_node_ids",
    "inbound_nodes",
    "producing_operation",
    "discard_uninitialized_variables",
    "reset_global_seed_generator",
]


def functional_graph(model: Any) -> Any | None:
    """The Functional graph behind ``model``: itself for a functional model, the wrapped graph for a built
    Sequential, None for a subclassed model (which has no graph to walk)."""
    wrapped = getattr(model, "_functional", None)  # a built Sequential keeps a Functional inside
    if wrapped is not None:
        return wrapped
    if hasattr(model, "_nodes_by_depth") and hasattr(model, "operations"):
        return model
    return None


def graph_node_ids(graph: Any) -> set[int]:
    """``id()`` of every call node that belongs to ``graph`` (a layer reused elsewhere has others too)."""
    return {id(node) for nodes in graph._nodes_by_depth.values() for node in nodes}


def inbound_nodes(operation: Any) -> list[Any]:
    """The call nodes of a layer or operation, one per time it was called on symbolic tensors; each has
    ``input_tensors``, ``output_tensors`` and ``parent_nodes``."""
    return list(getattr(operation, "_inbound_nodes", []))


def producing_operation(tensor: Any) -> Any:
    """The layer or operation whose call produced the symbolic ``tensor`` (an ``InputLayer`` for an input)."""
    return tensor._keras_history.operation


def discard_uninitialized_variables() -> None:
    """Forget the variables that a ``keras.StatelessScope(initialize_variables=False)`` left pending.

    Keras keeps a global list of variables waiting for their initial values; the next symbolic call (any
    later model build) would otherwise allocate and initialise all of them, which is what building "for the
    architecture only" is meant to avoid.
    """
    from keras.src.backend.common import global_state

    global_state.set_global_attribute("uninitialized_variables", [])


def reset_global_seed_generator() -> None:
    """Drop Keras's global ``SeedGenerator`` (behind unseeded ``keras.random`` calls and initialisers), so
    that the next draw makes a new one from the seed just set. Recent Keras does this inside
    ``keras.utils.set_random_seed``; older releases the kit supports (3.12 among them) keep the old generator,
    and unseeded draws would then not repeat after a reseed."""
    from keras.src.backend.common import global_state

    global_state.set_global_attribute("global_seed_generator", None)
