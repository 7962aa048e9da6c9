"""Tests of course_lib.keras_adapter: each wrapped Keras internal against what the public API says it holds.

When a Keras release renames an internal, the test of that adapter function fails here, with its name, instead
of a notebook failing far away. The last test keeps the rest of ``course_lib`` off Keras internals.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers

from course_lib import keras_adapter as ka

COURSE_LIB = Path(__file__).resolve().parents[1] / "course_lib"


def functional_model() -> keras.Model:
    """input -> conv -> shared dense (twice) -> output; the dense layer is called on two tensors."""
    inp = keras.Input((6, 6, 2), name="image")
    x = layers.Conv2D(3, 3, name="conv")(inp)
    x = layers.Flatten(name="flat")(x)
    shared = layers.Dense(48, name="shared")  # 4x4x3 = 48 values in and out
    out = shared(shared(x))
    return keras.Model(inp, out, name="functional")


def sequential_model() -> keras.Sequential:
    return keras.Sequential(
        [keras.Input((5,), name="x"), layers.Dense(4, name="d1"), layers.Dense(2, name="d2")], name="seq"
    )


def nested_model() -> tuple[keras.Model, keras.Model]:
    """(outer, inner): the inner functional model is called as one layer of the outer one."""
    inner_in = keras.Input((5,), name="inner_in")
    inner = keras.Model(inner_in, layers.Dense(3, name="inner_dense")(inner_in), name="inner")
    inp = keras.Input((5,), name="outer_in")
    out = layers.Dense(2, name="head")(inner(inp))
    return keras.Model(inp, out, name="outer"), inner


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__(name="subclassed")
        self.dense = layers.Dense(2)

    def call(self, x):
        return self.dense(x)


# ----------------------------------------------------------------------------------------------------
# producing_operation
# ----------------------------------------------------------------------------------------------------
def test_producing_operation_of_a_layer_output_is_the_layer():
    for model in (functional_model(), sequential_model(), nested_model()[0]):
        for layer in model.layers:
            if isinstance(layer, keras.layers.InputLayer):
                continue
            nodes = ka.inbound_nodes(layer)
            # a layer called twice has one output per call: each comes from the layer
            outputs = [t for node in nodes for t in node.output_tensors] or [layer.output]
            for tensor in outputs:
                assert ka.producing_operation(tensor) is layer, (model.name, layer.name)


def test_producing_operation_of_an_input_is_its_input_layer():
    for model in (functional_model(), sequential_model()):
        (inp,) = model.inputs
        op = ka.producing_operation(inp)
        assert isinstance(op, keras.layers.InputLayer)
        assert op.output is inp


def test_producing_operation_inside_a_nested_model():
    outer, inner = nested_model()
    assert ka.producing_operation(outer.output) is outer.get_layer("head")
    # the inner model's own output belongs to its own dense layer, not to the outer graph
    assert ka.producing_operation(inner.output) is inner.get_layer("inner_dense")
    assert ka.producing_operation(outer.get_layer("head").input) is inner


# ----------------------------------------------------------------------------------------------------
# inbound_nodes
# ----------------------------------------------------------------------------------------------------
def test_inbound_nodes_has_one_node_per_call():
    inp = keras.Input((4,))
    shared = layers.Dense(4, name="shared")
    first = shared(inp)
    second = shared(first)
    nodes = ka.inbound_nodes(shared)
    assert len(nodes) == 2
    assert nodes[0].input_tensors[0] is inp and nodes[0].output_tensors[0] is first
    assert nodes[1].input_tensors[0] is first and nodes[1].output_tensors[0] is second
    assert nodes[1].parent_nodes == [nodes[0]]  # the second call consumes what the first produced
    assert ka.inbound_nodes(layers.Dense(2)) == []  # never called: no node


def test_inbound_nodes_of_a_sequential_layer_and_a_nested_model():
    seq = sequential_model()
    (node,) = ka.inbound_nodes(seq.get_layer("d2"))
    assert node.output_tensors[0] is seq.get_layer("d2").output
    assert node.input_tensors[0] is seq.get_layer("d1").output
    outer, inner = nested_model()
    # the inner model was called once in the outer graph (its own graph's layers have their own nodes)
    outer_nodes = [n for n in ka.inbound_nodes(inner) if n.output_tensors[0] is outer.get_layer("head").input]
    assert len(outer_nodes) == 1


# ----------------------------------------------------------------------------------------------------
# functional_graph and graph_node_ids
# ----------------------------------------------------------------------------------------------------
def test_functional_graph_of_each_kind_of_model():
    model = functional_model()
    assert ka.functional_graph(model) is model
    seq = sequential_model()
    graph = ka.functional_graph(seq)
    assert graph is not None
    # the wrapped graph runs the same layers, input layer first
    assert [op.name for op in graph.operations] == ["x", "d1", "d2"]
    assert all(a is b for a, b in zip(graph.operations[1:], seq.layers))
    outer, inner = nested_model()
    assert ka.functional_graph(outer) is outer and ka.functional_graph(inner) is inner
    sub = Subclassed()
    sub(np.ones((1, 3), np.float32))  # built, and still without a graph
    assert ka.functional_graph(sub) is None
    assert ka.functional_graph(keras.Sequential([layers.Dense(2)])) is None  # no input: not built


def test_graph_node_ids_are_the_calls_of_that_graph():
    model = functional_model()
    ids = ka.graph_node_ids(model)
    # one node per call in the graph: the input, conv, flatten and the shared dense twice
    assert len(ids) == 5
    for layer in model.layers:
        for node in ka.inbound_nodes(layer):
            assert id(node) in ids
    # reusing the model's layer in another graph adds a node that the first graph does not hold
    shared = model.get_layer("shared")
    other_in = keras.Input((48,))
    other = keras.Model(other_in, shared(other_in))
    extra = ka.inbound_nodes(shared)[-1]
    assert id(extra) not in ka.graph_node_ids(model)
    assert id(extra) in ka.graph_node_ids(other)
    assert len(ka.graph_node_ids(ka.functional_graph(sequential_model()))) == 3  # input, d1, d2


# ----------------------------------------------------------------------------------------------------
# discard_uninitialized_variables
# ----------------------------------------------------------------------------------------------------
def test_discard_uninitialized_variables_after_a_stateless_build():
    # The pending list is Keras' own state; reading it here is the point of this test (it watches the one
    # internal that discard_uninitialized_variables clears).
    from keras.src.backend.common import global_state

    def pending() -> list:
        return list(global_state.get_global_attribute("uninitialized_variables", []) or [])

    with keras.StatelessScope(initialize_variables=False):
        ghost = sequential_model()
    waiting = pending()
    assert {id(v) for v in ghost.weights} <= {id(v) for v in waiting}  # the build left them pending
    assert ghost.count_params() == 5 * 4 + 4 + 4 * 2 + 2  # shapes are known without values
    ka.discard_uninitialized_variables()
    assert pending() == []
    # a later ordinary build (its shape inference runs stateless scopes) works and gets real weights
    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 1))
    real = keras.Model(inp, layers.Conv2D(2, 3)(inp))
    out = np.asarray(real(np.ones((1, 6, 6, 1), np.float32)))
    assert out.shape == (1, 4, 4, 2) and np.all(np.isfinite(out))
    kernel = real.layers[1].kernel
    kernel.assign(np.zeros(kernel.shape, np.float32))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(kernel), 0.0)
    assert pending() == []


# ----------------------------------------------------------------------------------------------------
# the rest of course_lib stays off Keras internals
# ----------------------------------------------------------------------------------------------------
PRIVATE = re.compile(r"keras\.src|\._keras_history\b|\._inbound_nodes\b|\._nodes_by_depth\b|\._functional\b")


# reset_global_seed_generator

def test_reset_global_seed_generator_makes_unseeded_draws_repeat():
    # the property set_seed needs on every supported Keras: after Python's seed is set again, the next
    # unseeded draw repeats (without the reset, Keras <= 3.12 kept drawing from the old generator's state)
    import random

    def draw():
        random.seed(5)
        ka.reset_global_seed_generator()
        return keras.ops.convert_to_numpy(keras.random.normal((4,)))

    first = draw()
    keras.random.normal((4,))  # advance the generator in between
    np.testing.assert_array_equal(draw(), first)


def test_only_the_adapter_touches_keras_internals():
    files = sorted(p for p in COURSE_LIB.rglob("*.py") if p.name != "keras_adapter.py")
    assert len(files) > 10  # the search really looked at the package
    found = [
        f"{path.relative_to(COURSE_LIB.parent)}:{number}: {line.strip()}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if PRIVATE.search(line)
    ]
    assert not found, "Keras internals outside course_lib/keras_adapter.py:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line", ["from keras.src.backend import x", "t._keras_history.operation", "layer._inbound_nodes",
             "m._nodes_by_depth.values()", "seq._functional"],
)
def test_the_internals_pattern_catches_each_kind_of_use(line):
    assert PRIVATE.search(line)
    assert not PRIVATE.search("keras_adapter.producing_operation(t)")
