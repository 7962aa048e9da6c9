"""Tests of course_lib.graph.layer_table: per-layer counts checked against what Keras computes.

Expected values come from Keras itself (output shapes, ``count_params``), from counting the non-zeros of a
layer's equivalent matrix (one multiply-add per input/output pair that a weight links, see layer_matrix.py)
and from arithmetic written out in the test.
"""

import keras
import pytest
from layer_matrix import matrix_nnz

from course_lib import config, graph

L = keras.layers


@pytest.fixture(autouse=True)
def _seed():
    config.set_seed(0)


def _inception_with_aux():
    """A GoogLeNet-shaped toy: two inputs, a branchy block, a shared layer, a nested model, two outputs."""
    img = keras.Input((16, 16, 3), name="image")
    meta = keras.Input((4,), name="meta")
    x = L.Conv2D(8, 3, padding="same", activation="relu", name="stem")(img)
    b1 = L.Conv2D(4, 1, name="inc_1x1")(x)
    b2 = L.Conv2D(6, 3, padding="same", name="inc_3x3")(L.Conv2D(3, 1, name="inc_3x3_reduce")(x))
    b3 = L.Conv2D(2, 1, name="inc_pool_proj")(L.MaxPooling2D(3, 1, padding="same", name="inc_pool")(x))
    x = L.Concatenate(name="inc_concat")([b1, b2, b3])
    shared = L.Conv2D(12, 3, padding="same", name="shared")
    x = shared(shared(x))
    aux = L.Dense(3, name="aux_fc")(L.Flatten(name="aux_flatten")(L.AveragePooling2D(4, name="aux_pool")(x)))
    head = keras.Sequential([L.GlobalAveragePooling2D(), L.Dense(5, name="fc")], name="head")
    y = L.Concatenate(name="join")([head(x), L.Dense(2, name="meta_fc")(meta)])
    y = L.Dense(3, name="predictions")(y)
    return keras.Model([img, meta], [y, aux], name="toy_googlenet")


def test_layer_table_totals_match_keras():
    model = _inception_with_aux()
    table = graph.layer_table(model)
    assert table.totals()["params"] == model.count_params()
    weighted = [layer for layer in model.layers if layer.count_params()]
    for layer in weighted:
        if not isinstance(layer, keras.Model):
            assert table[layer.name]["params"] == layer.count_params()
    assert table["head/fc"]["params"] == model.get_layer("head").count_params()
    assert table["shared"]["calls"] == 2
    assert table["image"]["output_shape"] == (16, 16, 3)
    assert table["inc_concat"]["output_shape"] == (16, 16, 12)


def test_layer_table_macs_and_shapes_per_layer():
    model = _inception_with_aux()
    table = graph.layer_table(model)
    for row in table.rows:
        if row["type"] in ("InputLayer",):
            continue
        layer = model.get_layer(row["name"].split("/")[0])
        if isinstance(layer, keras.Model):
            continue
        assert row["output_shape"] == tuple(layer.output.shape[1:])
    # the shared 3x3 conv runs twice on 16x16x12: count one call with a unit-weight copy, double it
    probe = L.Conv2D(12, 3, padding="valid", use_bias=False, kernel_initializer="ones")
    assert table["shared"]["macs"] == 2 * matrix_nnz(probe, (18, 18, 12))
    assert table["inc_pool"]["macs"] == 0


@pytest.mark.parametrize(
    "make, in_shape, padded",
    [
        (lambda: L.Conv1D(3, 4, strides=2, use_bias=False, kernel_initializer="ones"), (11, 2), (11, 2)),
        (lambda: L.Conv2D(4, 3, groups=2, use_bias=False, kernel_initializer="ones"), (6, 5, 4), (6, 5, 4)),
        (lambda: L.Conv3D(2, (2, 3, 2), use_bias=False, kernel_initializer="ones"),
         (4, 5, 4, 2), (4, 5, 4, 2)),
        (lambda: L.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False, depthwise_initializer="ones"),
         (6, 6, 3), (6, 6, 3)),
        (lambda: L.Conv2DTranspose(3, 3, strides=2, use_bias=False, kernel_initializer="ones"),
         (3, 4, 2), (3, 4, 2)),
        (lambda: L.Dense(5, use_bias=False, kernel_initializer="ones"), (3, 7), (3, 7)),
    ],
)
def test_layer_table_macs_equal_matrix_nonzeros(make, in_shape, padded):
    layer = make()
    model = keras.Sequential([keras.Input(in_shape), layer])
    assert graph.layer_table(model)[layer.name]["macs"] == matrix_nnz(layer, padded)


def test_layer_table_separable_is_depthwise_plus_pointwise():
    sep = L.SeparableConv2D(5, 3, depth_multiplier=2, use_bias=False)
    model = keras.Sequential([keras.Input((7, 7, 3)), sep])
    dw = L.DepthwiseConv2D(3, depth_multiplier=2, use_bias=False, depthwise_initializer="ones")
    pw = L.Conv2D(5, 1, use_bias=False, kernel_initializer="ones")
    expected = matrix_nnz(dw, (7, 7, 3)) + matrix_nnz(pw, (5, 5, 6))
    assert graph.layer_table(model)[sep.name]["macs"] == expected
    assert graph.layer_table(model).totals()["params"] == model.count_params()


def test_layer_table_text_and_html():
    model = keras.Sequential(
        [keras.Input((8, 8, 1), name="x"), L.Conv2D(2, 3, name="conv"), L.Flatten(name="flat"),
         L.Dense(3, name="fc")], name="tiny")
    table = graph.layer_table(model)
    text = table.to_text()
    assert str(table) == text
    lines = text.splitlines()
    assert lines[0] == "Model: tiny"
    assert lines[-1].split()[:2] == ["total", f"{model.count_params():,}"]
    header, footer = lines[1], lines[-1]
    # numbers are right-aligned under their headings
    assert header.index("params") + len("params") == footer.index("239") + len("239")
    assert header.index("MACs") + len("MACs") == footer.index("864") + len("864")
    assert lines[2] == "-" * len(header)
    assert "<table>" in table._repr_html_() and "conv" in table._repr_html_()
    assert table.totals() == {"params": 239, "macs": 6 * 6 * 2 * 9 + 72 * 3, "activations": 64 + 72 + 72 + 3}
    assert len(table) == 4 and table[1]["name"] == "conv"


def test_layer_table_rejects_unbuilt_and_non_models():
    with pytest.raises(ValueError, match="built"):
        graph.layer_table(keras.Sequential([L.Dense(2)]))
    with pytest.raises(TypeError, match="keras.Model"):
        graph.layer_table(L.Dense(2))
